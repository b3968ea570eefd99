"""楽天's 注文確認 (confirmOrder) against the RMS fake over HTTP: a new order goes 100 → 300 on
import (or when staff move it to 発送待ち), its shipment is taken at 300 and moves it on to
500/600/700, and confirming again is harmless whatever RMS answers for a confirmed order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.rakuten_api import CONFIRM, SHIPPING, FakeRakuten
from tests.test_sync_faults_rakuten import RakutenShop, open_rakuten_shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[RakutenShop]:
    with FakeRakuten() as fake:
        yield open_rakuten_shop(fake, tmp_path)


def row(shop: RakutenShop, number: str):
    return next(o for o in shop.tables()["受注"].models() if o.order_number == number)


def manual(shop: RakutenShop) -> None:
    """The channel set to confirm only what staff move to 発送待ち."""
    shop.connector.settings = shop.connector.settings.model_copy(update={"confirm_on_import": False})


def ship(shop: RakutenShop, number: str) -> None:
    shop.staff_edit(
        "受注",
        ("楽天", number),
        {"ステータス": "出荷済", "配送会社": "ヤマト運輸", "追跡番号": "4321-0000-1111"},
    )


def test_the_fake_refuses_shipping_an_unconfirmed_order(shop: RakutenShop) -> None:
    number = shop.order(("TSH-WH-M", 1))
    order = shop.fake.order(number)
    body = {
        "orderNumber": number,
        "BasketidModelList": [
            {
                "basketId": order["PackageModelList"][0]["basketId"],
                "ShippingModelList": [
                    {"deliveryCompany": "1001", "shippingNumber": "1", "shippingDate": "2026-12-01"}
                ],
            }
        ],
    }
    answer = shop.connector._orders_http.session.post(
        shop.fake.base_url + SHIPPING, json=body, headers=dict(shop.connector._orders_http.headers)
    )
    assert answer.status_code == 400
    messages = answer.json()["MessageModelList"]
    assert messages[0]["messageCode"] == "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_002"
    assert shop.fake.order(number)["orderProgress"] == 100


def test_a_new_order_is_confirmed_on_import_shipped_at_300_and_settles(shop: RakutenShop) -> None:
    number = shop.order(("TSH-WH-M", 2))
    report = shop.engine().run_once()
    assert report.created == 1 and report.orders_confirmed == 1
    assert shop.fake.order(number)["orderProgress"] == 300
    assert [c.body for c in shop.fake.calls(CONFIRM)] == [{"orderNumberList": [number]}]
    imported = row(shop, number)
    assert (imported.status, imported.mall_status, imported.review) == ("発送待ち", "発送待ち", "")

    shop.clock.advance(minutes=1)
    assert shop.engine().run_once().orders_confirmed == 0  # a steady cycle confirms nothing
    assert len(shop.fake.calls(CONFIRM)) == 1

    ship(shop, number)
    report = shop.engine().run_once()
    assert report.shipments == 1 and report.notes == []
    assert shop.fake.order(number)["orderProgress"] == 500
    assert row(shop, number).shipment_notice.startswith("済 ")

    # 楽天 then moves the order to 支払手続き中 and 支払手続き済: a recheck keeps it 出荷済.
    for progress in (600, 700):
        shop.fake.set_progress(number, progress, at=shop.clock())
        shop.clock.advance(minutes=11)
        shop.engine().run_once()
        done = row(shop, number)
        assert (done.status, done.mall_status, done.review) == ("出荷済", "出荷済", "")
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}["TSH-WH-M"]
    assert (stock.on_hand, stock.allocated) == (18, 0)


def test_without_confirm_on_import_staff_moving_to_hassou_machi_confirms(shop: RakutenShop) -> None:
    manual(shop)
    number = shop.order(("TSH-NV-M", 1))
    shop.engine().run_once()
    assert shop.fake.order(number)["orderProgress"] == 100 and not shop.fake.calls(CONFIRM)
    assert (row(shop, number).status, row(shop, number).mall_status) == ("新規", "新規")

    shop.staff_edit("受注", ("楽天", number), {"ステータス": "発送待ち"})
    report = shop.engine().run_once(fetch=False)
    assert report.orders_confirmed == 1
    assert shop.fake.order(number)["orderProgress"] == 300
    assert (row(shop, number).status, row(shop, number).mall_status) == ("発送待ち", "発送待ち")


def test_shipping_an_unconfirmed_order_confirms_it_first(shop: RakutenShop) -> None:
    manual(shop)
    number = shop.order(("TSH-WH-M", 1))
    shop.engine().run_once()
    ship(shop, number)  # straight from 新規 to 出荷済
    report = shop.engine().run_once()
    assert report.shipments == 1, report.notes
    assert shop.fake.order(number)["orderProgress"] == 500
    assert len(shop.fake.calls(CONFIRM)) == 1


@pytest.mark.parametrize("answer", ["info", "error"])
def test_a_lost_confirm_answer_is_retried_harmlessly(shop: RakutenShop, answer: str) -> None:
    """RMS confirms but the reply is lost: the retry meets an already confirmed order, which RMS
    may answer with INFO or with an ERROR (not documented); either way the order is recorded."""
    shop.fake.reconfirm_answer = answer
    shop.fake.lose_confirm_answers = 1
    number = shop.order(("TSH-WH-M", 1))
    report = shop.engine().run_once()
    assert shop.fake.order(number)["orderProgress"] == 300
    assert report.orders_confirmed == 1, report.notes
    assert row(shop, number).mall_status == "発送待ち" and row(shop, number).review == ""


@pytest.mark.parametrize("answer", ["info", "error"])
def test_a_run_stopped_between_confirming_and_recording_records_it_next_time(
    shop: RakutenShop, answer: str
) -> None:
    shop.fake.reconfirm_answer = answer
    number = shop.order(("TSH-WH-M", 1))
    shop.engine().run_once(push=False)  # imported, not confirmed yet
    assert row(shop, number).mall_status == "新規"
    shop.fake.set_progress(number, 300, at=shop.clock())  # confirmed, the record never written
    shop.clock.advance(minutes=1)
    report = shop.engine().run_once(fetch=False)  # no import re-reads it first
    assert report.orders_confirmed == 1 and report.notes == []
    assert not shop.fake.calls(CONFIRM)  # read first: nothing left to confirm
    assert (row(shop, number).status, row(shop, number).mall_status) == ("発送待ち", "発送待ち")


def test_a_refused_confirmation_goes_to_youkakunin_once_and_is_retried(shop: RakutenShop) -> None:
    number = shop.order(("TSH-WH-M", 1))
    shop.fake.inject_messages(
        CONFIRM, ("ERROR", "ORDER_EXT_API_CONFIRM_ORDER_ERROR_099", "ただいま注文確認できません。")
    )
    report = shop.engine().run_once()
    assert report.orders_confirmed == 0
    review = row(shop, number).review
    assert "注文確認に失敗" in review and "ORDER_EXT_API_CONFIRM_ORDER_ERROR_099" in review
    shop.clock.advance(minutes=1)
    report = shop.engine().run_once()
    assert report.orders_confirmed == 1
    assert shop.fake.order(number)["orderProgress"] == 300
    assert row(shop, number).review == ""
