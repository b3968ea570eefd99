"""The 楽天 RMS connector: pure mapping of getOrder payloads, then the connector against the
contract-following fake over real HTTP (windows, the 15,000 cap, getOrder chunks, messages on
200, expired keys, bulk-upsert batches at 1 request/s, shipments)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sheets_schema.cells import JST
from sync.connectors import rakuten
from sync.connectors.base import rechecks
from sync.connectors.rakuten import (
    STATUS_TABLE,
    Connector,
    Settings,
    changed_at,
    delivery_company,
    map_order,
    map_status,
    rms_time,
    windows,
)
from sync.errors import MallAuthError, MallPayloadError, MallRejected, MallUnavailable
from sync.models import Shipment, StockLevel
from tests.fakes.rakuten_api import (
    BULK_UPSERT,
    DEFAULT_LICENSE,
    DEFAULT_SECRET,
    GET,
    SEARCH,
    SHIPPING,
    FakeRakuten,
    Item,
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=JST)
RMS_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0900$")
MIKAN = Item("mikan", "17095519", "みかん 5kg", 3980, merchant_sku="MIKAN-5K")
TENUGUI = Item("tenugui", "navy", "手ぬぐい 紺", 1100)


# ---------------------------------------------------------------- pure mapping


def order_model(**overrides: Any) -> dict:
    """An OrderModel as getOrder version 7 returns it (field names from the RMS tables)."""
    person = {
        "zipCode1": "158",
        "zipCode2": "0094",
        "prefecture": "東京都",
        "city": "世田谷区",
        "subAddress": "玉川1-14-1",
        "familyName": "楽天",
        "firstName": "太郎",
        "phoneNumber1": "090",
        "phoneNumber2": "1111",
        "phoneNumber3": "2222",
    }
    model = {
        "orderNumber": "502763-20261101-00006701",
        "orderProgress": 300,
        "orderDatetime": "2026-11-01T20:03:43+0900",
        "shopOrderCfmDatetime": "2026-11-01T20:10:00+0900",
        "orderFixDatetime": "2026-11-01T20:36:07+0900",
        "shippingInstDatetime": "2026-11-01T20:36:07+0900",
        "shippingCmplRptDatetime": None,
        "remarks": "[配送日時指定:]\n2026-11-03(火)",
        "memo": "ひとことメモ",
        "goodsPrice": 1000,
        "goodsTax": -9999,
        "postagePrice": 100,
        "totalPrice": 1100,
        "OrdererModel": person,
        "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード"},
        "PackageModelList": [
            {
                "basketId": 10631675,
                "packageDeleteFlag": 0,
                "SenderModel": {**person, "familyName": "山田", "firstName": "花子"},
                "ItemModelList": [
                    {
                        "itemDetailId": 1,
                        "itemName": "みかん 5kg",
                        "itemNumber": "mikan-5k",
                        "manageNumber": "mikan",
                        "price": 1000,
                        "units": 1,
                        "includeTaxFlag": 1,
                        "deleteItemFlag": 0,
                        "priceTaxIncl": 1000,
                        "SkuModelList": [
                            {
                                "variantId": "17095519",
                                "merchantDefinedSkuId": "MIKAN-5K",
                                "skuInfo": "容量:5kg",
                            }
                        ],
                    }
                ],
                "ShippingModelList": [],
            }
        ],
        "ChangeReasonModelList": [],
    }
    model.update(overrides)
    return model


def test_map_order_502763_20261101_00006701_a_paid_order_waiting_to_ship() -> None:
    order = map_order(order_model())
    assert order.order_number == "502763-20261101-00006701"
    assert order.status == "発送待ち" and order.review == ()
    assert order.ordered_at == datetime(2026, 11, 1, 20, 3, 43, tzinfo=JST)
    assert order.updated_at == datetime(2026, 11, 1, 20, 36, 7, tzinfo=JST)  # the newest step
    assert (order.total, order.shipping_fee) == (1100, 100)
    assert order.buyer.name == "楽天 太郎" and order.delivery.name == "山田 花子"
    assert order.buyer.postcode == "158-0094" and order.buyer.phone == "090-1111-2222"
    assert order.delivery.address == "東京都世田谷区玉川1-14-1"
    assert order.payment_method == "クレジットカード"
    assert "配送日時指定" in order.note and "ひとことメモ" in order.note
    (line,) = order.lines
    assert (line.mall_item_code, line.mall_sku, line.seller_sku) == ("mikan", "17095519", "MIKAN-5K")
    assert (line.quantity, line.unit_price) == (1, 1000)


def test_map_order_from_before_the_sku_migration_falls_back_to_item_number() -> None:
    raw = order_model()
    item = raw["PackageModelList"][0]["ItemModelList"][0]
    item["SkuModelList"] = []
    item["itemNumber"] = "tenugui-navy"
    (line,) = map_order(raw).lines
    assert (line.mall_item_code, line.mall_sku, line.seller_sku) == ("mikan", "", "tenugui-navy")
    item["manageNumber"] = None
    (line,) = map_order(raw).lines
    assert line.mall_item_code == "tenugui-navy"


def test_map_order_cancelled_after_import_changes_at_the_cancellation() -> None:
    change = {
        "changeId": 9,
        "changeType": 0,
        "changeApplyDatetime": "2026-11-02T09:00:00+0900",
        "changeFixDatetime": "2026-11-02T09:30:00+0900",
        "changeCmplDatetime": None,
    }
    raw = order_model(orderProgress=900, ChangeReasonModelList=[change])
    order = map_order(raw)
    assert order.status == "キャンセル"
    assert changed_at(raw) == order.updated_at == datetime(2026, 11, 2, 9, 30, tzinfo=JST)


def test_map_order_with_unfixed_money_and_a_removed_line_asks_for_review() -> None:
    raw = order_model(totalPrice=-9999)
    raw["PackageModelList"][0]["ItemModelList"][0]["deleteItemFlag"] = 1
    order = map_order(raw)
    assert order.total == 0 and any("まだ確定していません" in r for r in order.review)
    assert order.lines[0].quantity == 0


def test_map_order_without_an_order_number_is_a_payload_error() -> None:
    with pytest.raises(MallPayloadError):
        map_order(order_model(orderNumber=None))


@pytest.mark.parametrize(
    ("progress", "status"),
    [(100, "新規"), (200, "入金待ち"), (300, "発送待ち"), (400, "保留"), (500, "出荷済"),
     (600, "出荷済"), (700, "出荷済"), (800, "保留"), (900, "キャンセル"), (950, "保留")],
)  # fmt: skip
def test_status_table_maps_every_order_progress(progress: int, status: str) -> None:
    raw = order_model(orderProgress=progress)
    assert map_status(raw) == status
    order = map_order(raw)
    assert bool(order.review) == (status == "保留")
    if progress == 950:
        assert "950" in order.review[0]


def test_status_table_documents_every_rms_code_once() -> None:
    codes = [row[0] for row in STATUS_TABLE]
    assert codes[:-1] == [100, 200, 300, 400, 500, 600, 700, 800, 900] and codes[-1] is None


def test_times_use_rms_form_and_windows_never_exceed_63_days() -> None:
    assert rms_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=JST)) == "2026-01-02T03:04:05+0900"
    start = NOW - timedelta(days=150)
    cuts = windows(start, NOW)
    assert len(cuts) == 3 and cuts[0][0] == start and cuts[-1][1] == NOW
    assert all(b - a <= timedelta(days=63) for a, b in cuts)
    assert all(cuts[i][1] == cuts[i + 1][0] for i in range(len(cuts) - 1))


def test_carrier_codes() -> None:
    assert [delivery_company(c) for c in ("ヤマト運輸", "佐川急便", "日本郵便")] == ["1001", "1002", "1003"]


# ------------------------------------------------------------ against the fake


@dataclass
class Mono:
    """A monotonic clock that only moves when the connector sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def mono() -> Mono:
    return Mono()


@pytest.fixture
def fake(mono: Mono) -> Iterator[FakeRakuten]:
    with FakeRakuten(clock=lambda: NOW, bucket_clock=mono) as server:
        server.timeout_delay = 0.3
        yield server


def connect(fake: FakeRakuten, mono: Mono, **overrides: Any) -> Connector:
    settings = Settings.model_validate(
        {
            "type": "rakuten",
            "base_url": fake.base_url,
            "service_secret": DEFAULT_SECRET,
            "license_key": DEFAULT_LICENSE,
            "max_retries": 2,
            **overrides,
        }
    )
    return Connector(
        "rakuten",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=mono.sleep,
        clock=lambda: NOW,
        monotonic=mono,
    )


def fetch(connector: Connector, since: str | None = None) -> list[Any]:
    return list(connector.fetch_orders(since, until=NOW))


def test_settings_defaults() -> None:
    settings = Settings(type="rakuten", service_secret="s", license_key="k")
    assert settings.base_url == "https://api.rms.rakuten.co.jp" and settings.mall == "楽天"
    assert settings.page_size == 1000 and settings.credential_expires_on is None


def test_fetch_orders_searches_by_order_date_and_reads_them_with_get_order(
    fake: FakeRakuten, mono: Mono
) -> None:
    made = [fake.add_order([(MIKAN, 2)], at=NOW - timedelta(hours=h)) for h in (3, 2, 1)]
    pages = fetch(connect(fake, mono))
    orders = [o for p in pages for o in p.orders]
    assert [o.order_number for o in orders] == [m["orderNumber"] for m in made]
    assert pages[-1].cursor == (NOW - timedelta(hours=1)).isoformat()
    (search,) = fake.calls(SEARCH)
    assert (
        search.authorization
        == "ESA " + base64.b64encode(f"{DEFAULT_SECRET}:{DEFAULT_LICENSE}".encode()).decode()
    )
    assert search.body["dateType"] == 1
    assert RMS_FORMAT.match(search.body["startDatetime"]) and RMS_FORMAT.match(search.body["endDatetime"])
    assert search.body["PaginationRequestModel"]["requestRecordsAmount"] == 1000
    (get,) = fake.calls(GET)
    assert get.body["version"] >= 7 and len(get.body["orderNumberList"]) == 3
    assert orders[0].lines[0].mall_sku == "17095519"


def test_a_range_over_63_days_is_split_into_windows(fake: FakeRakuten, mono: Mono) -> None:
    old = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(days=100))
    new = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(days=5))
    stale_cursor = (NOW - timedelta(days=110)).isoformat()  # e.g. a shop that paused syncing
    orders = [o.order_number for p in fetch(connect(fake, mono), stale_cursor) for o in p.orders]
    assert orders == [old["orderNumber"], new["orderNumber"]]
    searches = fake.calls(SEARCH)
    assert len(searches) == 2 and all(s.status == 200 for s in searches)
    spans = [
        datetime.strptime(s.body["endDatetime"], "%Y-%m-%dT%H:%M:%S%z")
        - datetime.strptime(s.body["startDatetime"], "%Y-%m-%dT%H:%M:%S%z")
        for s in searches
    ]
    assert all(span <= timedelta(days=63) for span in spans)


def test_pages_of_search_results_are_followed(fake: FakeRakuten, mono: Mono) -> None:
    for h in range(5):
        fake.add_order([(TENUGUI, 1)], at=NOW - timedelta(hours=5 - h))
    orders = [o for p in fetch(connect(fake, mono, page_size=2)) for o in p.orders]
    assert len({o.order_number for o in orders}) == 5
    assert [s.body["PaginationRequestModel"]["requestPage"] for s in fake.calls(SEARCH)] == [1, 2, 3]


def test_the_15000_result_cap_is_handled_by_splitting_the_window(
    fake: FakeRakuten, mono: Mono, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cap is lowered on both sides (15,000 real orders take too long to build); the
    # connector reads the same module constant, so the logic under test is unchanged.
    assert rakuten.SEARCH_RESULT_CAP == fake.result_cap == 15_000
    monkeypatch.setattr(rakuten, "SEARCH_RESULT_CAP", 40)
    fake.result_cap = 40
    start = NOW - timedelta(days=2)
    for i in range(121):
        fake.add_order([(TENUGUI, 1)], at=start + timedelta(minutes=10 * i))
    orders = [o.order_number for p in fetch(connect(fake, mono)) for o in p.orders]
    assert len(orders) == len(set(orders)) == 121
    searches = fake.calls(SEARCH)
    assert len(searches) > 3 and all(s.status == 200 for s in searches)
    gets = fake.calls(GET)
    assert all(len(g.body["orderNumberList"]) <= 100 for g in gets)


def test_get_order_is_called_with_at_most_100_numbers(fake: FakeRakuten, mono: Mono) -> None:
    for i in range(250):
        fake.add_order([(MIKAN, 1)], at=NOW - timedelta(minutes=300 - i))
    pages = fetch(connect(fake, mono))
    assert [len(g.body["orderNumberList"]) for g in fake.calls(GET)] == [100, 100, 50]
    assert [len(p.orders) for p in pages] == [100, 100, 50]
    cursors = [p.cursor for p in pages]
    assert cursors == sorted(cursors)


def test_an_error_in_message_model_list_on_http_200_is_raised(fake: FakeRakuten, mono: Mono) -> None:
    fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))
    fake.inject_messages(
        SEARCH, ("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_099", "システムエラーが発生しました。")
    )
    with pytest.raises(MallRejected, match=r"システムエラーが発生しました。.*ERROR_099"):
        fetch(connect(fake, mono))
    assert fake.calls(SEARCH)[0].status == 200 and not fake.calls(GET)


def test_an_expired_license_key_by_date_is_refused_before_calling(fake: FakeRakuten, mono: Mono) -> None:
    connector = connect(fake, mono, credential_expires_on=date(2026, 11, 29))
    with pytest.raises(MallAuthError, match=r"ライセンスキー.*2026-11-29.*有効期限が切れています"):
        fetch(connector)
    with pytest.raises(MallAuthError):
        connector.push_stock(
            [StockLevel(mall="楽天", sku="A", mall_item_code="mikan", mall_sku="x", quantity=1)]
        )
    assert fake.requests == []
    assert fetch(connect(fake, mono, credential_expires_on=date(2026, 11, 30))) == []  # still valid that day


def test_a_license_key_rms_refuses_is_an_auth_error(fake: FakeRakuten, mono: Mono) -> None:
    fake.license_expired = True
    with pytest.raises(MallAuthError, match=r"認証に失敗しました.*ES04-01.*90日"):
        fetch(connect(fake, mono))


@pytest.mark.parametrize("fault", [500, 503, 429, "timeout"])
def test_a_passing_fault_is_retried(fake: FakeRakuten, mono: Mono, fault: int | str) -> None:
    fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))
    fake.inject(fault, paths=[GET])
    orders = [o for p in fetch(connect(fake, mono, timeout_seconds=0.1)) for o in p.orders]
    assert len(orders) == 1 and len(fake.calls(GET)) == 2


def test_lasting_faults_and_malformed_bodies_are_typed(fake: FakeRakuten, mono: Mono) -> None:
    fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))
    fake.inject_always(503, paths=[SEARCH])
    with pytest.raises(MallUnavailable):
        fetch(connect(fake, mono))
    fake.clear_faults()
    fake.inject("malformed", paths=[GET])
    with pytest.raises(MallPayloadError):
        fetch(connect(fake, mono))


def levels(count: int) -> list[StockLevel]:
    return [
        StockLevel(
            mall="楽天", sku=f"SKU-{i}", mall_item_code=f"item{i // 10}", mall_sku=f"v{i}", quantity=i % 50
        )
        for i in range(count)
    ]


def test_bulk_upsert_sends_400_at_a_time_at_one_request_a_second(fake: FakeRakuten, mono: Mono) -> None:
    wanted = levels(850)
    results = connect(fake, mono).push_stock(wanted)
    assert [r.sku for r in results] == [lv.sku for lv in wanted] and all(r.ok for r in results)
    calls = fake.calls(BULK_UPSERT)
    assert [len(c.body["inventories"]) for c in calls] == [400, 400, 50]
    assert all(c.status == 204 for c in calls)  # the fake's 1 request/s limit was never hit
    assert {e["mode"] for c in calls for e in c.body["inventories"]} == {"ABSOLUTE"}
    assert sum(mono.sleeps) >= 2.0 - 1e-9
    assert fake.inventory[("item84", "v849")] == 849 % 50


def test_per_item_errors_are_reported_and_the_rest_is_sent(
    fake: FakeRakuten, mono: Mono, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = levels(3)
    bad = StockLevel(mall="楽天", sku="BAD", mall_item_code="x" * 40, mall_sku="v", quantity=1)
    results = connect(fake, mono).push_stock([wanted[0], bad, wanted[1]])
    assert [r.ok for r in results] == [True, False, True] and "32文字" in results[1].error
    assert len(fake.calls(BULK_UPSERT)) == 1  # refused locally, nothing sent for it
    monkeypatch.setattr(rakuten, "_check_sendable", lambda level: None)
    mono.now += 1  # a new connector starts with a full bucket
    results = connect(fake, mono).push_stock([wanted[0], bad, wanted[2]])
    assert [r.ok for r in results] == [True, False, True] and "IE0004" in results[1].error
    assert [c.status for c in fake.calls(BULK_UPSERT)][1:] == [400, 204]


def test_a_push_while_rms_is_down_reports_every_level(fake: FakeRakuten, mono: Mono) -> None:
    fake.inject_always(503, paths=[BULK_UPSERT])
    results = connect(fake, mono).push_stock(levels(5))
    assert (
        len(results) == 5 and not any(r.ok for r in results) and all("HTTP 503" in r.error for r in results)
    )


def shipment(number: str, tracking: str = "123456789012", carrier: str = "佐川急便") -> Shipment:
    return Shipment(
        mall="楽天", order_number=number, carrier=carrier, tracking_number=tracking, shipped_at=NOW
    )


def test_a_shipment_is_sent_with_the_carrier_code_once(fake: FakeRakuten, mono: Mono) -> None:
    order = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1), progress=300)
    connector = connect(fake, mono)
    connector.confirm_shipment(shipment(order["orderNumber"]))
    (call,) = fake.calls(SHIPPING)
    (basket,) = call.body["BasketidModelList"]
    assert basket["basketId"] == order["PackageModelList"][0]["basketId"]
    assert basket["ShippingModelList"] == [
        {"deliveryCompany": "1002", "shippingNumber": "123456789012", "shippingDate": "2026-11-30"}
    ]
    assert fake.order(order["orderNumber"])["orderProgress"] == 500
    connector.confirm_shipment(shipment(order["orderNumber"]))  # a retry: already there
    assert len(fake.calls(SHIPPING)) == 1


@pytest.mark.parametrize("tracking", ["", "   "])
def test_a_blank_tracking_number_is_refused_before_sending(
    fake: FakeRakuten, mono: Mono, tracking: str
) -> None:
    order = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1), progress=300)
    with pytest.raises(MallRejected, match=r"お問い合わせ番号.*空です"):
        connect(fake, mono).confirm_shipment(shipment(order["orderNumber"], tracking))
    assert fake.requests == []


def test_a_shipment_rms_refuses_carries_its_message(fake: FakeRakuten, mono: Mono) -> None:
    order = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1), progress=300)
    fake.inject_messages(
        SHIPPING, ("ERROR", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_011", "shippingDateの書式が不正です。")
    )
    with pytest.raises(MallRejected, match="shippingDateの書式が不正です"):
        connect(fake, mono).confirm_shipment(shipment(order["orderNumber"]))
    with pytest.raises(MallRejected, match=r"見つかりません|存在しません"):
        connect(fake, mono).confirm_shipment(shipment("123456-20261130-99999999"))


# ------------------------------------------------- new orders every cycle, rechecks apart


def spread_orders(fake: FakeRakuten, count: int = 125, days: int = 30) -> list[str]:
    """`count` orders over the last `days` days, the newest an hour before NOW (the scale issue:
    125 orders per mall)."""
    step = (timedelta(days=days) - timedelta(hours=1)) / (count - 1)
    first = NOW - timedelta(days=days)
    return [fake.add_order([(MIKAN, 1)], at=first + i * step)["orderNumber"] for i in range(count)]


def engine_since(cursor: str | None) -> str:
    """What the engine passes as `since`: the stored cursor less its overlap (10 minutes)."""
    assert cursor
    return (datetime.fromisoformat(cursor) - timedelta(minutes=10)).isoformat()


def test_a_steady_fetch_with_no_new_orders_reads_no_old_order_again(fake: FakeRakuten, mono: Mono) -> None:
    spread_orders(fake)
    connector = connect(fake, mono)
    first = fetch(connector)
    assert sum(len(p.orders) for p in first) == 125
    before = len(fake.requests)
    steady = fetch(connector, engine_since(first[-1].cursor))
    calls = fake.requests[before:]
    # Before: every cycle searched 30 days before the cursor and read all 125 orders again
    # (1 searchOrder + 2 getOrder). Now: one search from the cursor, and only the order placed
    # within the engine's overlap is read again.
    assert [c.path for c in calls] == [SEARCH, GET]
    assert sum(len(c.body["orderNumberList"]) for c in calls if c.path == GET) == 1
    assert calls[0].body["startDatetime"] == rms_time(datetime.fromisoformat(engine_since(first[-1].cursor)))
    assert [o.order_number for p in steady for o in p.orders] == [first[-1].orders[-1].order_number]


def test_a_fetch_with_a_cursor_finds_new_orders_and_leaves_changes_to_recheck(
    fake: FakeRakuten, mono: Mono
) -> None:
    numbers = spread_orders(fake, count=10, days=3)
    connector = connect(fake, mono)
    cursor = fetch(connector)[-1].cursor
    fake.cancel_order(numbers[2], at=NOW)
    fresh = fake.add_order([(TENUGUI, 1)], at=NOW - timedelta(minutes=1))["orderNumber"]
    before = len(fake.requests)
    pages = fetch(connector, engine_since(cursor))
    assert fresh in [o.order_number for p in pages for o in p.orders]
    assert numbers[2] not in [o.order_number for p in pages for o in p.orders]
    assert len(fake.requests) - before == 2  # one search, one getOrder
    (page,) = connector.recheck_orders([numbers[2]], until=NOW)
    assert [(o.order_number, o.status) for o in page.orders] == [(numbers[2], "キャンセル")]


def test_recheck_orders_reads_exactly_the_given_orders_100_at_a_time(fake: FakeRakuten, mono: Mono) -> None:
    numbers = [
        fake.add_order([(MIKAN, 1)], at=NOW - timedelta(days=40) + timedelta(minutes=i))["orderNumber"]
        for i in range(250)
    ]
    fake.cancel_order(numbers[7], at=NOW - timedelta(hours=2))
    fake.set_progress(numbers[180], 500, at=NOW - timedelta(hours=1))
    asked = list(reversed(numbers))
    connector = connect(fake, mono)
    assert rechecks(connector)  # the engine's test for the optional method
    pages = list(connector.recheck_orders(asked, until=NOW))
    assert not fake.calls(SEARCH)
    assert [g.body["orderNumberList"] for g in fake.calls(GET)] == [asked[:100], asked[100:200], asked[200:]]
    assert [len(p.orders) for p in pages] == [100, 100, 50]
    assert all(p.cursor is None and p.errors == () for p in pages)
    orders = {o.order_number: o for p in pages for o in p.orders}
    assert [o.order_number for p in pages for o in p.orders] == asked
    assert orders[numbers[7]].status == "キャンセル"
    assert orders[numbers[7]].updated_at == NOW - timedelta(hours=2)
    assert orders[numbers[180]].status == "出荷済" and orders[numbers[0]].status == "新規"


@pytest.mark.parametrize("unknown_status", [200, 400])
def test_recheck_skips_unknown_numbers_reports_them_and_keeps_the_rest(
    fake: FakeRakuten, mono: Mono, unknown_status: int
) -> None:
    fake.unknown_order_status = unknown_status  # UNVERIFIED which one RMS does
    known = [fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=h))["orderNumber"] for h in (3, 2)]
    gone = "123456-20240101-00000001"
    (page,) = connect(fake, mono).recheck_orders([known[0], gone, known[1]], until=NOW)
    assert [o.order_number for o in page.orders] == known
    assert page.cursor is None
    (error,) = page.errors
    assert gone in error and "注文が存在しません" in error and "ORDER_EXT_API_GET_ORDER_ERROR_003" in error
    # A refused call is asked again without the numbers RMS named.
    assert [g.body["orderNumberList"] for g in fake.calls(GET)] == (
        [[known[0], gone, known[1]]] if unknown_status == 200 else [[known[0], gone, known[1]], known]
    )


def test_recheck_of_only_unknown_numbers_yields_errors_not_an_exception(
    fake: FakeRakuten, mono: Mono
) -> None:
    gone = ["123456-20240101-00000001", "123456-20240101-00000002"]
    (page,) = connect(fake, mono).recheck_orders(gone, until=NOW)
    assert page.orders == [] and len(page.errors) == 2
    assert all(n in e for n, e in zip(gone, page.errors, strict=True))


def test_recheck_raises_for_errors_that_name_no_order_and_for_expired_keys(
    fake: FakeRakuten, mono: Mono
) -> None:
    number = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))["orderNumber"]
    fake.inject_messages(
        GET, ("ERROR", "ORDER_EXT_API_GET_ORDER_ERROR_099", "システムエラーが発生しました。")
    )
    with pytest.raises(MallRejected, match="ERROR_099"):
        list(connect(fake, mono).recheck_orders([number], until=NOW))
    expired = connect(fake, mono, credential_expires_on=date(2026, 11, 29))
    calls = len(fake.requests)
    with pytest.raises(MallAuthError):
        list(expired.recheck_orders([number], until=NOW))
    assert len(fake.requests) == calls


def test_recheck_with_no_numbers_makes_no_call_and_repeats_are_read_once(
    fake: FakeRakuten, mono: Mono
) -> None:
    number = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))["orderNumber"]
    connector = connect(fake, mono)
    assert list(connector.recheck_orders([], until=NOW)) == []
    assert fake.requests == []
    (page,) = connector.recheck_orders([number, number], until=NOW)
    assert [o.order_number for o in page.orders] == [number]
    assert [g.body["orderNumberList"] for g in fake.calls(GET)] == [[number]]


# ------------------------------------------------- one absurd order (vocabulary/limits.py)


def _make_absurd(fake: FakeRakuten, number: str, units: int) -> None:
    """Set the order's one line to `units` at 楽天, as a fix (or a broken payload) would."""
    with fake._lock:
        order = fake._orders[number]
        item = order["PackageModelList"][0]["ItemModelList"][0]
        item["units"] = units
        order["goodsPrice"] = order["totalPrice"] = order["requestPrice"] = item["price"] * units


def test_an_absurd_order_is_skipped_and_reported_and_the_cursor_held_until_it_is_fixed(
    fake: FakeRakuten, mono: Mono
) -> None:
    before = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=3))
    absurd = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=2))
    after = fake.add_order([(TENUGUI, 2)], at=NOW - timedelta(hours=1))
    _make_absurd(fake, absurd["orderNumber"], 10**8)
    connector = connect(fake, mono)
    pages = fetch(connector)  # does not raise
    orders = [o.order_number for p in pages for o in p.orders]
    assert orders == [before["orderNumber"], after["orderNumber"]]
    errors = [e for p in pages for e in p.errors]
    assert len(errors) == 1
    assert f"楽天の注文 {absurd['orderNumber']} を取り込めませんでした" in errors[0]
    assert "数量は9,999,999以下にしてください" in errors[0]
    # searchOrder lists by 注文日: the cursor stays at the skipped order's, so it comes again
    cursor = pages[-1].cursor
    assert cursor is not None and datetime.fromisoformat(cursor) <= NOW - timedelta(hours=2)
    again = fetch(connector, cursor)
    assert [e for p in again for e in p.errors] == errors
    assert after["orderNumber"] in {o.order_number for p in again for o in p.orders}

    _make_absurd(fake, absurd["orderNumber"], 1)  # fixed at 楽天
    fixed = fetch(connector, cursor)
    assert not [e for p in fixed for e in p.errors]
    assert [o.order_number for p in fixed for o in p.orders] == [absurd["orderNumber"], after["orderNumber"]]
    assert fixed[-1].cursor == (NOW - timedelta(hours=1)).isoformat()


def test_a_recheck_skips_an_order_that_became_absurd_and_reads_the_others(
    fake: FakeRakuten, mono: Mono
) -> None:
    good = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=2))
    bad = fake.add_order([(MIKAN, 1)], at=NOW - timedelta(hours=1))
    _make_absurd(fake, bad["orderNumber"], 10**8)
    (page,) = connect(fake, mono).recheck_orders([good["orderNumber"], bad["orderNumber"]], until=NOW)
    assert [o.order_number for o in page.orders] == [good["orderNumber"]]
    (error,) = page.errors
    assert f"楽天の注文 {bad['orderNumber']} を読み直せませんでした" in error
    assert "数量は9,999,999以下にしてください" in error and page.cursor is None
