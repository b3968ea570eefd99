"""Shipments reach the malls exactly once: staff mark an order 出荷済 with a carrier and a
tracking number, the next sync tells its mall; a refusal lands in 要確認 with the mall's reason;
an interrupted confirmation is never resent blindly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shop_fixtures import Shop, ledger_problems, open_shop

# The Sheets- and PostgreSQL-only workbooks, and the hybrid of Sheets (staff tabs) and PostgreSQL.
HARNESS_BACKENDS = ("sql", "google", "hybrid")


@pytest.fixture
def shop(harness, tmp_path: Path) -> Shop:
    made = open_shop(harness.workbook, tmp_path / "malls")
    made.engine().run_once()
    return made


def mall_order(shop: Shop, mall: str = "楽天"):
    demo = {m.mall: m for m in shop.malls}[mall]
    numbers = {o.order_number for page in demo.fetch_orders(None, until=shop.clock()) for o in page.orders}
    return next(o for o in shop.tables()["受注"].models() if o.order_number in numbers and o.status == "新規")


def test_a_shipped_order_is_confirmed_to_its_mall_once(shop: Shop) -> None:
    order = mall_order(shop)
    shop.staff_edit(
        "受注",
        (order.mall, order.order_number),
        {"ステータス": "出荷済", "配送会社": "ヤマト運輸", "追跡番号": "1234-5678-9012"},
    )
    report = shop.engine().run_once()
    assert report.shipments == 1
    rakuten = next(m for m in shop.malls if m.mall == "楽天")
    sent = rakuten.shipments()[order.order_number]
    assert sent["tracking_number"] == "1234-5678-9012" and sent["carrier"] == "ヤマト運輸"
    row = next(o for o in shop.tables()["受注"].models() if o.order_number == order.order_number)
    assert row.shipment_notice.startswith("済 ")
    assert ledger_problems(shop.tables()) == []  # and its stock left the shelf
    again = shop.engine().run_once()
    assert again.shipments == 0 and rakuten.shipments()[order.order_number] == sent


def test_an_order_without_a_tracking_number_waits(shop: Shop) -> None:
    order = mall_order(shop)
    shop.staff_edit(
        "受注", (order.mall, order.order_number), {"ステータス": "出荷済", "配送会社": "佐川急便"}
    )
    assert shop.engine().run_once().shipments == 0
    row = next(o for o in shop.tables()["受注"].models() if o.order_number == order.order_number)
    assert row.shipment_notice == ""


def test_a_refusal_goes_to_the_review_queue_with_the_malls_reason(shop: Shop) -> None:
    # A seeded order predates the demo mall, which refuses it as unknown.
    seeded = next(o for o in shop.tables()["受注"].models() if o.mall == "楽天" and o.status == "発送待ち")
    shop.staff_edit(
        "受注",
        (seeded.mall, seeded.order_number),
        {"ステータス": "出荷済", "配送会社": "日本郵便", "追跡番号": "EJ123456789JP"},
    )
    report = shop.engine().run_once()
    assert report.shipments == 0 and any(seeded.order_number in n for n in report.notes)
    row = next(o for o in shop.tables()["受注"].models() if o.order_number == seeded.order_number)
    assert row.shipment_notice.startswith("失敗: ") and "出荷連絡に失敗" in row.review
    assert shop.engine().run_once().shipments == 0  # not resent until a person clears 出荷連絡


def test_a_confirmation_interrupted_midway_is_flagged_not_resent(shop: Shop) -> None:
    order = mall_order(shop)
    shop.staff_edit(
        "受注",
        (order.mall, order.order_number),
        {
            "ステータス": "出荷済",
            "配送会社": "ヤマト運輸",
            "追跡番号": "1111-2222-3333",
            "出荷連絡": "送信中 2026-11-30 10:00:00",
        },
    )
    report = shop.engine().run_once()
    assert report.shipments == 0
    rakuten = next(m for m in shop.malls if m.mall == "楽天")
    assert order.order_number not in rakuten.shipments()
    row = next(o for o in shop.tables()["受注"].models() if o.order_number == order.order_number)
    assert row.shipment_notice == "失敗: 結果不明" and "モールの画面で出荷登録を確認" in row.review
