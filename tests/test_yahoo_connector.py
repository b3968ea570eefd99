"""The Yahoo!ショッピング connector: pure mapping of the Store API's XML, then the connector over
real HTTP against the loopback fake (token, 公開鍵認証, paging, setStock, shipments, faults)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import padding

from sheets_schema.cells import JST
from sync.connectors import yahoo
from sync.connectors.base import rechecks
from sync.connectors.yahoo import (
    SHIP_COMPANY_CODES,
    STATUS_TABLE,
    Connector,
    Settings,
    map_order_info,
    map_order_list,
    map_status,
    order_list_request,
    parse_xml,
    ship_company_code,
    yahoo_time,
)
from sync.errors import MallAuthError, MallPayloadError, MallRejected, MallUnavailable
from sync.models import CARRIERS, Shipment, StockLevel
from tests.fakes.yahoo_api import FakeYahoo, Item, store_key

NOW = datetime(2024, 10, 2, 9, 0, tzinfo=JST)

# An orderInfo answer in the shape public clients parse (ResultSet/Result/OrderInfo, groups).
ORDER_10000001 = """<?xml version="1.0" encoding="UTF-8"?>
<ResultSet totalResultsAvailable="1" totalResultsReturned="1" firstResultPosition="1">
 <Result><Status>OK</Status>
  <OrderInfo>
   <OrderId>snbx-shop-10000001</OrderId><Version>3</Version>
   <OrderTime>2024-10-01T10:15:30+09:00</OrderTime><LastUpdateTime>2024-10-01T11:00:00+09:00</LastUpdateTime>
   <OrderStatus>{order_status}</OrderStatus>
   <Pay><PayStatus>{pay_status}</PayStatus><PayMethod>payment_a1</PayMethod>
    <PayMethodName>クレジットカード決済</PayMethodName><BillLastName>佐藤</BillLastName>
    <BillFirstName>花子</BillFirstName><BillZipCode>5300001</BillZipCode><BillPrefecture>大阪府</BillPrefecture>
    <BillCity>大阪市北区</BillCity><BillAddress1>梅田2-4-9</BillAddress1><BillAddress2>梅田ビル3F</BillAddress2>
    <BillPhoneNumber>０６１２３４５６７８</BillPhoneNumber></Pay>
   <Ship><ShipStatus>{ship_status}</ShipStatus><ShipMethodName>宅配便</ShipMethodName>
    <ShipLastName>佐藤</ShipLastName><ShipFirstName>一郎</ShipFirstName><ShipZipCode>1500041</ShipZipCode>
    <ShipPrefecture>東京都</ShipPrefecture><ShipCity>渋谷区</ShipCity><ShipAddress1>神南1-2-3</ShipAddress1>
    <ShipAddress2></ShipAddress2><ShipPhoneNumber>0312345678</ShipPhoneNumber></Ship>
   <Detail><PayCharge>0</PayCharge><ShipCharge>600</ShipCharge><Discount>0</Discount><UsePoint>100</UsePoint>
    <TotalPrice>3300</TotalPrice><SettleAmount>3200</SettleAmount></Detail>
   {items}
   <Seller><SellerId>snbx-shop</SellerId></Seller>
  </OrderInfo>
 </Result>
</ResultSet>"""
TSHIRT = (
    "<Item><LineId>1</LineId><ItemId>tshirt-001</ItemId><Title>Tシャツ</Title><SubCode>tshirt-001-red-m</SubCode>"
    "<SubCodeOption>カラー:レッド;サイズ:M</SubCodeOption><UnitPrice>1350</UnitPrice><Quantity>2</Quantity></Item>"
)
MUG = "<Item><LineId>2</LineId><ItemId>mug-01</ItemId><Title>マグ</Title><SubCode></SubCode><UnitPrice>0</UnitPrice><Quantity>1</Quantity></Item>"


def order_10000001(
    order_status: str = "2", pay_status: str = "1", ship_status: str = "1", items: str = TSHIRT
):
    text = ORDER_10000001.format(
        order_status=order_status, pay_status=pay_status, ship_status=ship_status, items=items
    )
    return parse_xml("Yahoo!", text.encode("utf-8"))


def info(**fields: str) -> ET.Element:
    return order_10000001(**fields).find("Result/OrderInfo")


# ------------------------------------------------------------------ pure mapping


def test_order_10000001_sato_hanako_maps_names_addresses_money_and_lines() -> None:
    order = map_order_info(order_10000001())
    assert order.order_number == "snbx-shop-10000001"
    assert order.ordered_at == datetime(2024, 10, 1, 10, 15, 30, tzinfo=JST)
    assert order.updated_at == datetime(2024, 10, 1, 11, 0, tzinfo=JST)
    assert order.status == "新規" and order.payment_method == "クレジットカード決済"
    assert order.buyer.name == "佐藤 花子" and order.buyer.postcode == "530-0001"
    assert order.buyer.address == "大阪府大阪市北区梅田2-4-9 梅田ビル3F"
    assert order.buyer.phone == "0612345678"  # full-width digits folded
    assert order.delivery.name == "佐藤 一郎" and order.delivery.address == "東京都渋谷区神南1-2-3"
    assert (order.total, order.shipping_fee) == (3300, 600)
    assert "ポイント利用: 100" in order.note
    (line,) = order.lines
    assert (line.mall_item_code, line.mall_sku, line.quantity, line.unit_price) == (
        "tshirt-001",
        "tshirt-001-red-m",
        2,
        1350,
    )
    assert line.name == "Tシャツ（カラー:レッド;サイズ:M）" and order.review == ()


def test_order_10000001_with_one_item_and_with_two_items_map_alike() -> None:
    one = map_order_info(order_10000001(items=TSHIRT))
    two = map_order_info(order_10000001(items=TSHIRT + MUG))
    assert len(one.lines) == 1 and len(two.lines) == 2
    assert two.lines[0] == one.lines[0]
    assert (two.lines[1].line_number, two.lines[1].mall_item_code, two.lines[1].mall_sku) == (2, "mug-01", "")


def order_list(count: int) -> ET.Element:
    rows = "".join(
        f"<OrderInfo><Index>{n}</Index><OrderId>snbx-shop-1000000{n}</OrderId>"
        f"<LastUpdateTime>2024-10-01T1{n}:00:00+09:00</LastUpdateTime></OrderInfo>"
        for n in range(1, count + 1)
    )
    text = f"<Result><Status>OK</Status><Search><TotalCount>{count}</TotalCount>{rows}</Search></Result>"
    return parse_xml("Yahoo!", text)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_order_list_with_none_one_or_many_results_is_a_list(count: int) -> None:
    total, found = map_order_list(order_list(count))
    assert total == count and [o for o, _ in found] == [f"snbx-shop-1000000{n}" for n in range(1, count + 1)]
    assert all(t.tzinfo is not None for _, t in found)


def test_order_list_request_dates_are_jst_yyyymmddhhmmss() -> None:
    req = ET.fromstring(order_list_request("snbx-shop", 3, 100, NOW - timedelta(days=1), NOW))
    assert req.findtext("Search/Condition/OrderTimeFrom") == "20241001090000"
    assert req.findtext("Search/Condition/OrderTimeTo") == "20241002090000"
    assert (req.findtext("Search/Start"), req.findtext("Search/Result")) == ("3", "100")
    assert yahoo_time(datetime(2024, 10, 1, 6, 0, tzinfo=UTC)) == "20241001150000"  # JST, not UTC


@pytest.mark.parametrize(
    ("order_status", "pay_status", "ship_status", "status"),
    [
        ("4", "1", "1", "キャンセル"),
        ("2", "1", "3", "出荷済"),
        ("5", "1", "4", "出荷済"),
        ("3", "1", "1", "保留"),
        ("1", "1", "0", "保留"),
        ("2", "0", "0", "入金待ち"),
        ("2", "1", "2", "発送待ち"),
        ("2", "1", "1", "新規"),
        ("9", "1", "1", "保留"),
    ],
)
def test_status_table(order_status: str, pay_status: str, ship_status: str, status: str) -> None:
    element = info(order_status=order_status, pay_status=pay_status, ship_status=ship_status)
    assert map_status(element) == status


def test_every_status_table_row_is_reachable_and_unknown_codes_need_review() -> None:
    assert {row[1] for row in STATUS_TABLE} == {
        "新規",
        "入金待ち",
        "発送待ち",
        "保留",
        "出荷済",
        "キャンセル",
    }
    order = map_order_info(order_10000001(order_status="9"))
    assert any("「9」" in reason for reason in order.review)


def test_missing_item_code_and_unreadable_payloads() -> None:
    order = map_order_info(order_10000001(items=TSHIRT.replace("tshirt-001</ItemId>", "</ItemId>")))
    assert any("商品コードがありません" in r for r in order.review)
    with pytest.raises(MallPayloadError):
        parse_xml("Yahoo!", b"<html><body>maintenance")
    with pytest.raises(MallPayloadError):
        map_order_info(parse_xml("Yahoo!", b"<ResultSet><Result><Status>OK</Status></Result></ResultSet>"))
    with pytest.raises(MallRejected):
        map_order_list(parse_xml("Yahoo!", b"<Result><Status>NG</Status></Result>"))


def test_every_ichigen_carrier_has_a_decision_and_overrides_win() -> None:
    assert set(SHIP_COMPANY_CODES) == set(CARRIERS)
    assert ship_company_code("ヤマト運輸") == "1001" and ship_company_code("西濃運輸") is None
    assert ship_company_code("西濃運輸", {"西濃運輸": "1004"}) == "1004"


# ------------------------------------------------------------- over real HTTP


class Ticker:
    """A monotonic clock the connector's sleep moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class WallClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeYahoo]:
    with FakeYahoo() as server:
        yield server


@pytest.fixture
def wall(fake: FakeYahoo) -> WallClock:
    clock = WallClock()
    fake.clock = clock
    return clock


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


def settings_for(fake: FakeYahoo, **overrides: Any) -> Settings:
    return Settings.model_validate(fake.mall_section(**{"max_retries": 2, "timeout_seconds": 5, **overrides}))


@pytest.fixture
def connect(fake: FakeYahoo, wall: WallClock, ticker: Ticker) -> Callable[..., Connector]:
    def make(**overrides: Any) -> Connector:
        return Connector(
            "yahoo",
            settings_for(fake, **overrides),
            session=requests.Session(),
            project_root=Path("."),
            sleep=ticker.sleep,
            clock=wall,
            monotonic=ticker,
        )

    return make


def place(fake: FakeYahoo, at: datetime, *items: Item) -> str:
    return fake.add_order(items or [Item("tshirt-001", "tshirt-001-red-m", "Tシャツ", 1350, 1)], at=at)[
        "OrderId"
    ]


def fetch(connector: Connector, since: str | None = None, until: datetime = NOW) -> list:
    return list(connector.fetch_orders(since, until=until))


def test_token_is_fetched_once_with_basic_auth_and_cached_until_expiry(
    fake: FakeYahoo, connect: Callable[..., Connector], ticker: Ticker, wall: WallClock
) -> None:
    place(fake, NOW - timedelta(hours=1))
    connector = connect()
    fetch(connector)
    fetch(connector)
    (token_call,) = fake.of("/yconnect/v2/token")
    assert token_call.form["grant_type"] == ["refresh_token"]
    assert token_call.headers["Authorization"].startswith("Basic ")
    assert all(r.headers["Authorization"] == "Bearer yahoo-access-1" for r in fake.of("orderList"))
    ticker.now += 3600  # past expires_in (less the margin): refreshed before the next call
    wall.now += timedelta(hours=1)
    fetch(connector, until=wall.now)
    assert fake.count("/yconnect/v2/token") == 2
    assert fake.of("orderList")[-1].headers["Authorization"] == "Bearer yahoo-access-2"


def test_a_token_revoked_early_is_refreshed_once(
    fake: FakeYahoo, connect: Callable[..., Connector], wall: WallClock
) -> None:
    place(fake, NOW - timedelta(hours=1))
    connector = connect()
    fetch(connector)
    fake._tokens.clear()  # Yahoo! no longer knows the cached token
    (page,) = fetch(connector)
    assert len(page.orders) == 1 and fake.count("/yconnect/v2/token") == 2


def test_expired_refresh_token_is_an_auth_error(fake: FakeYahoo, connect: Callable[..., Connector]) -> None:
    connector = connect()
    fake.refresh_token = "rotated"  # expired after about 4 weeks, or revoked
    with pytest.raises(MallAuthError, match="リフレッシュトークン"):
        fetch(connector)


def test_order_calls_carry_a_valid_signature_and_stock_calls_none(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    place(fake, NOW - timedelta(hours=1))
    connector = connect()
    fetch(connector)
    connector.push_stock([StockLevel(mall="Yahoo!", sku="A", mall_item_code="mug-01", quantity=3)])
    for call in fake.of("orderList") + fake.of("orderInfo"):
        plain = store_key().decrypt(base64.b64decode(call.headers["X-sws-signature"]), padding.PKCS1v15())
        assert plain.decode() == f"{fake.seller_id}:{int(NOW.timestamp())}"
        assert call.headers["X-sws-signature-version"] == "1"
    assert "X-sws-signature" not in fake.of("setStock")[0].headers


def test_a_refused_signature_is_explained(fake: FakeYahoo, connect: Callable[..., Connector]) -> None:
    connector = connect()
    fake.key_version = "2"  # the store re-issued its key
    with pytest.raises(MallAuthError, match="公開鍵認証に失敗しました"):
        fetch(connector)


def test_fetch_pages_with_start_and_result_and_reads_each_order(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    ids = [place(fake, NOW - timedelta(hours=5 - n)) for n in range(5)]
    pages = fetch(connect(page_size=2))
    assert [len(p.orders) for p in pages] == [2, 2, 1]
    assert [o.order_number for p in pages for o in p.orders] == ids
    assert [p.cursor for p in pages[:-1]] == [None, None]  # only the last page moves the cursor
    assert pages[-1].cursor == (NOW - timedelta(hours=1)).isoformat()
    starts = [r.xml.findtext("Search/Start") for r in fake.of("orderList")]
    assert starts == ["1", "3", "5"]
    assert fake.count("orderInfo") == 5


def test_next_fetch_lists_only_new_orders_and_leaves_updates_to_recheck(
    fake: FakeYahoo, connect: Callable[..., Connector], wall: WallClock
) -> None:
    place(fake, NOW - timedelta(days=5))
    old = place(fake, NOW - timedelta(days=3))
    newest = place(fake, NOW - timedelta(days=2))
    connector = connect()
    cursor = fetch(connector)[-1].cursor
    wall.now = NOW + timedelta(hours=1)
    fake.cancel_order(old, at=wall.now)
    fresh = place(fake, wall.now)
    before = fake.count("orderInfo")
    (page,) = fetch(connector, cursor, until=wall.now + timedelta(minutes=1))
    # The cursor's own moment is included (newest again); the cancelled older order is not
    # listed: orderList cannot filter by LastUpdateTime, so recheck_orders finds it.
    assert [o.order_number for o in page.orders] == [newest, fresh]
    assert fake.count("orderInfo") == before + 2
    condition = fake.of("orderList")[-1].xml.find("Search/Condition")
    assert condition.findtext("OrderTimeFrom") == yahoo_time(datetime.fromisoformat(cursor))
    (rechecked,) = connector.recheck_orders([old], until=wall.now)
    assert [(o.order_number, o.status) for o in rechecked.orders] == [(old, "キャンセル")]
    assert rechecked.cursor is None and rechecked.errors == ()


def test_long_ranges_are_split_into_windows(fake: FakeYahoo, connect: Callable[..., Connector]) -> None:
    fetch(connect(window_days=10))
    froms = [r.xml.findtext("Search/Condition/OrderTimeFrom") for r in fake.of("orderList")]
    assert len(froms) == 3 and froms[0] == yahoo_time(NOW - timedelta(days=30))


def test_429_and_5xx_are_retried_with_backoff(
    fake: FakeYahoo, connect: Callable[..., Connector], ticker: Ticker
) -> None:
    place(fake, NOW - timedelta(hours=1))
    fake.inject(429, 503, paths=["orderList"])
    (page,) = fetch(connect())
    assert len(page.orders) == 1 and fake.count("orderList") == 3 and len(ticker.sleeps) >= 2


def test_persistent_5xx_raises_unavailable_after_bounded_retries(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    fake.inject_always(500, paths=["orderList"])
    with pytest.raises(MallUnavailable):
        fetch(connect())
    assert fake.count("orderList") == 3


def test_timeout_is_retried_and_malformed_body_is_a_payload_error(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    place(fake, NOW - timedelta(hours=1))
    fake.timeout_delay = 0.4
    fake.inject("timeout", paths=["orderInfo"])
    (page,) = fetch(connect(timeout_seconds=0.1))
    assert len(page.orders) == 1 and fake.count("orderInfo") == 2
    fake.inject("malformed", paths=["orderList"])
    with pytest.raises(MallPayloadError):
        fetch(connect())


def test_the_fakes_rate_limit_is_respected_without_real_waiting(
    fake: FakeYahoo, connect: Callable[..., Connector], ticker: Ticker
) -> None:
    for n in range(3):
        place(fake, NOW - timedelta(hours=n + 1))
    fake.calls_per_second, fake.bucket_clock = 1.0, ticker
    fetch(connect())
    assert all(r.status == 200 for r in fake.requests if r.path != "/yconnect/v2/token")
    assert sum(ticker.sleeps) >= 3  # one call a second, on the injected clock


def test_push_stock_sends_absolute_quantities_in_batches_of_at_most_1000(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    levels = [
        StockLevel(
            mall="Yahoo!",
            sku=f"S{n}",
            mall_item_code=f"item-{n}",
            mall_sku=f"item-{n}-m" if n % 2 else "",
            quantity=n,
        )
        for n in range(1, 2502)
    ]
    results = connect().push_stock(levels)
    batches = [call.form["item_code"][0].split(",") for call in fake.of("setStock")]
    assert [len(b) for b in batches] == [1000, 1000, 501]
    assert batches[0][:2] == ["item-1:item-1-m", "item-2"]
    assert fake.of("setStock")[0].form["quantity"][0].split(",")[:2] == ["1", "2"]
    assert [r.sku for r in results] == [lv.sku for lv in levels] and all(r.ok for r in results)
    assert fake.stock["item-1:item-1-m"] == 1 and fake.stock["item-2500"] == 2500


def test_push_stock_reports_per_item_errors_in_order(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    fake.stock_errors["mug-01"] = "st-02104"
    levels = [
        StockLevel(
            mall="Yahoo!", sku="TSH", mall_item_code="tshirt-001", mall_sku="tshirt-001-red-m", quantity=15
        ),
        StockLevel(mall="Yahoo!", sku="MUG", mall_item_code="mug-01", quantity=4),
        StockLevel(mall="Yahoo!", sku="BAD", mall_item_code="a,b", quantity=1),
        StockLevel(mall="Yahoo!", sku="CUP", mall_item_code="cup-02", quantity=0),
    ]
    results = connect().push_stock(levels)
    assert [(r.sku, r.ok) for r in results] == [("TSH", True), ("MUG", False), ("BAD", False), ("CUP", True)]
    assert "st-02104" in results[1].error and results[2].error
    assert fake.stock == {"tshirt-001:tshirt-001-red-m": 15, "cup-02": 0}


def test_push_stops_and_reports_every_level_when_yahoo_is_down(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    fake.inject_always(503, paths=["setStock"])
    levels = [StockLevel(mall="Yahoo!", sku=f"S{n}", mall_item_code=f"i{n}", quantity=1) for n in range(3)]
    results = connect(stock_batch_size=1).push_stock(levels)
    assert [r.ok for r in results] == [False] * 3 and fake.count("setStock") == 3  # first batch, retried


def shipment(order_id: str, carrier: str = "ヤマト運輸") -> Shipment:
    return Shipment(
        mall="Yahoo!", order_number=order_id, carrier=carrier, tracking_number="123456789012", shipped_at=NOW
    )


def test_confirm_shipment_sends_carrier_code_tracking_and_date(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    order_id = place(fake, NOW - timedelta(hours=1))
    connect().confirm_shipment(shipment(order_id, "佐川急便"))
    (call,) = fake.of("orderShipStatusChange")
    assert call.xml.findtext("Target/IsPointFix") == "true"
    assert call.xml.findtext("Order/Ship/ShipStatus") == "3"
    assert call.xml.findtext("Order/Ship/ShipDate") == "20241002"
    assert "X-sws-signature" in call.headers
    order = fake.order(order_id)
    assert (order["ShipStatus"], order["ShipCompanyCode"], order["ShipInvoiceNumber1"]) == (
        "3",
        "1002",
        "123456789012",
    )
    connect().confirm_shipment(shipment(order_id, "西濃運輸"))  # no known code: none sent
    assert fake.of("orderShipStatusChange")[-1].xml.find("Order/Ship/ShipCompanyCode") is None


def test_confirm_shipment_error_body_becomes_rejected_with_the_message(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    order_id = place(fake, NOW - timedelta(hours=1))
    fake.cancel_order(order_id)
    with pytest.raises(MallRejected, match=r"Invalid Status: the order is cancelled（od00005）"):
        connect().confirm_shipment(shipment(order_id))
    with pytest.raises(MallRejected, match="ShipCompanyCode"):
        connect(carrier_codes={"その他": "9999"}).confirm_shipment(shipment(place(fake, NOW), "その他"))


def test_settings_defaults_follow_the_contract(fake: FakeYahoo) -> None:
    settings = Settings.model_validate(
        {
            "type": "yahoo",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": "r",
            "seller_id": "snbx-x",
            "public_key": "pem",
        }
    )
    assert settings.mall == "Yahoo!" and settings.stock_batch_size == 1000
    assert settings.base_url == "https://circus.shopping.yahooapis.jp/ShoppingWebService/V1"
    assert settings.token_url == "https://auth.login.yahoo.co.jp/yconnect/v2/token"
    assert "s" not in repr(settings.client_secret)
    with pytest.raises(ValueError):
        Settings.model_validate({**settings.model_dump(), "stock_batch_size": 1001})


# ------------------------------------------------- new orders every cycle, rechecks apart


def engine_since(cursor: str | None) -> str:
    """What the engine passes as `since`: the stored cursor less its overlap (10 minutes)."""
    assert cursor
    return (datetime.fromisoformat(cursor) - timedelta(minutes=10)).isoformat()


def order_calls(fake: FakeYahoo) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in fake.requests if "/yconnect/" not in r.path]


def test_a_steady_fetch_reads_no_older_order_again_after_shipments(
    fake: FakeYahoo, connect: Callable[..., Connector], wall: WallClock
) -> None:
    step = (timedelta(days=14) - timedelta(hours=1)) / 124
    ids = [place(fake, NOW - timedelta(days=14) + i * step) for i in range(125)]  # the scale issue
    connector = connect()
    first = fetch(connector)
    assert sum(len(p.orders) for p in first) == 125
    wall.now = NOW + timedelta(minutes=5)
    for order_id in ids[:40]:  # Ichigen confirmed 40 shipments: their LastUpdateTime moved
        connector.confirm_shipment(shipment(order_id))
    before = len(order_calls(fake))
    pages = fetch(connector, engine_since(first[-1].cursor), until=wall.now + timedelta(minutes=5))
    # Before: orders from 14 days before the cursor were listed and the 40 shipped ones read
    # again with orderInfo (41 calls). Now: one orderList from the cursor, and only the order
    # placed within the engine's overlap is read again.
    assert order_calls(fake)[before:] == ["orderList", "orderInfo"]
    assert [o.order_number for p in pages for o in p.orders] == [ids[-1]]


def test_recheck_orders_reads_exactly_the_given_orders_with_order_info(
    fake: FakeYahoo, connect: Callable[..., Connector], wall: WallClock, ticker: Ticker
) -> None:
    ids = [place(fake, NOW - timedelta(days=20) + timedelta(hours=n)) for n in range(45)]
    wall.now = NOW + timedelta(hours=1)
    fake.cancel_order(ids[3], at=wall.now)
    fake.update_order(ids[30], at=wall.now, ShipStatus="3")
    fake.calls_per_second, fake.bucket_clock = 1.0, ticker
    asked = list(reversed(ids))
    connector = connect()
    assert rechecks(connector)  # the engine's test for the optional method
    pages = list(connector.recheck_orders(asked, until=wall.now))
    assert [len(p.orders) for p in pages] == [20, 20, 5]
    assert all(p.cursor is None and p.errors == () for p in pages)
    assert [o.order_number for p in pages for o in p.orders] == asked
    orders = {o.order_number: o for p in pages for o in p.orders}
    assert orders[ids[3]].status == "キャンセル" and orders[ids[3]].updated_at == wall.now
    assert orders[ids[30]].status == "出荷済" and orders[ids[0]].status == "新規"
    assert [r.xml.findtext("Target/OrderId") for r in fake.of("orderInfo")] == asked
    assert not fake.of("orderList")
    # Under the rate limiter: every call answered, one a second on the injected clock.
    assert all(r.status == 200 for r in fake.requests) and sum(ticker.sleeps) >= 44


@pytest.mark.parametrize("unknown_status", [400, 404, 200])
def test_recheck_skips_an_unknown_order_id_reports_it_and_keeps_the_rest(
    fake: FakeYahoo, connect: Callable[..., Connector], unknown_status: int
) -> None:
    fake.unknown_order_status = unknown_status  # UNVERIFIED what Yahoo! answers
    known = [place(fake, NOW - timedelta(hours=h)) for h in (3, 2)]
    gone = f"{fake.seller_id}-99999999"
    (page,) = connect().recheck_orders([known[0], gone, known[1], known[0]], until=NOW)
    assert [o.order_number for o in page.orders] == known
    (error,) = page.errors
    assert gone in error and "読み直せませんでした" in error
    assert fake.count("orderInfo") == 3  # a repeated number is read once


def test_recheck_raises_for_auth_and_maintenance_pages_and_makes_no_call_for_nothing(
    fake: FakeYahoo, connect: Callable[..., Connector]
) -> None:
    order_id = place(fake, NOW - timedelta(hours=1))
    connector = connect()
    assert list(connector.recheck_orders([], until=NOW)) == [] and fake.requests == []
    fake.inject("malformed", paths=["orderInfo"])
    with pytest.raises(MallPayloadError):
        list(connector.recheck_orders([order_id], until=NOW))
    fake.key_version = "2"
    with pytest.raises(MallAuthError, match="公開鍵認証に失敗しました"):
        list(connector.recheck_orders([order_id], until=NOW))


def test_an_absurd_order_is_skipped_and_reported_and_the_cursor_held_at_the_fetch_start(
    fake: FakeYahoo, connect: Callable[..., Connector], wall: WallClock
) -> None:
    before = place(fake, NOW - timedelta(hours=3))
    absurd = place(
        fake, NOW - timedelta(hours=2), Item("tshirt-001", "tshirt-001-red-m", "Tシャツ", 1350, 10**8)
    )
    after = place(fake, NOW - timedelta(hours=1))
    connector = connect(page_size=2)
    pages = fetch(connector)  # a first run; does not raise
    assert [o.order_number for p in pages for o in p.orders] == [before, after]
    (error,) = [e for p in pages for e in p.errors]
    assert f"Yahoo!の注文 {absurd} を取り込めませんでした" in error
    assert "数量は9,999,999以下にしてください" in error
    # The cursor stays at this first fetch's start (the orders it listed are listed again) ...
    cursor = pages[-1].cursor
    assert cursor == (NOW - yahoo.FIRST_RUN_LOOKBACK).isoformat()
    again = fetch(connector, cursor)
    assert [e for p in again for e in p.errors] == [error]
    # ... and a later fetch gives no cursor, so the stored one stays where it was.
    assert [p.cursor for p in again] == [None] * len(again)

    wall.now = NOW + timedelta(hours=1)
    fixed_item = Item("tshirt-001", "tshirt-001-red-m", "Tシャツ", 1350, 1)
    fake.update_order(absurd, at=wall.now, Items=[fixed_item], TotalPrice=1950)
    fixed = fetch(connector, cursor, until=wall.now + timedelta(minutes=1))
    assert not [e for p in fixed for e in p.errors]
    assert absurd in {o.order_number for p in fixed for o in p.orders}
    assert fixed[-1].cursor == wall.now.isoformat()
