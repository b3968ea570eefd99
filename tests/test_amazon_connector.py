"""The Amazon SP-API connector: pure mapping from the documented shapes, then over real HTTP
against the loopback fake (LWA, orders, listings, shipment confirmation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sheets_schema.cells import JST
from sync.connectors.amazon import (
    FBA_NOTE,
    RDT_NOTE,
    STATUS_TABLE,
    Connector,
    Settings,
    carrier_code,
    map_order,
)
from sync.errors import MallAuthError, MallRejected
from sync.models import Shipment, StockLevel
from tests.fakes import amazon_api
from tests.fakes.amazon_api import FakeAmazon, FakeClock

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contracts" / "amazon" / "ordersV0.json"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=JST)


# ------------------------------------------------------------------ pure mapping

# Shaped like the ordersV0 sandbox order 902-1845936-5435065 and its one item, moved to Japan.
ORDER_902 = {
    "AmazonOrderId": "902-1845936-5435065",
    "PurchaseDate": "2026-11-30T00:58:30Z",
    "LastUpdateDate": "2026-11-30T00:58:32Z",
    "OrderStatus": "Unshipped",
    "FulfillmentChannel": "MFN",
    "OrderTotal": {"CurrencyCode": "JPY", "Amount": "3300.00"},
    "PaymentMethod": "Other",
    "MarketplaceId": "A1VC38T7YXB528",
    "LatestShipDate": "2026-12-01T14:59:59Z",
    "IsPrime": False,
}
ITEMS_902 = [
    {
        "ASIN": "B00551Q3CS",
        "OrderItemId": "05015851154158",
        "SellerSKU": "TSH-WH-M",
        "Title": "Tシャツ 白 M",
        "QuantityOrdered": 2,
        "QuantityShipped": 0,
        "ItemPrice": {"CurrencyCode": "JPY", "Amount": "2980.00"},
        "ShippingPrice": {"CurrencyCode": "JPY", "Amount": "320.00"},
        "IsGift": "false",
    }
]


def test_order_902_maps_ids_money_and_per_unit_price() -> None:
    order = map_order(ORDER_902, ITEMS_902)
    assert order.order_number == "902-1845936-5435065"
    assert order.ordered_at == datetime(2026, 11, 30, 9, 58, 30, tzinfo=JST)
    assert order.status == "新規" and order.total == 3300 and order.shipping_fee == 320
    (line,) = order.lines
    # ItemPrice is the price times QuantityOrdered: 2980 for two is 1490 each.
    assert (line.mall_item_code, line.mall_sku, line.seller_sku) == ("B00551Q3CS", "TSH-WH-M", "TSH-WH-M")
    assert (line.quantity, line.unit_price) == (2, 1490)
    assert order.allocates_stock and order.payment_method == "Amazon決済"


def test_order_902_without_restricted_data_asks_for_a_look() -> None:
    order = map_order(ORDER_902, ITEMS_902)
    assert RDT_NOTE in order.review and order.buyer.name == "" and order.delivery.address == ""


def test_order_902_with_restricted_data_uses_the_buyer_and_address() -> None:
    raw = {
        **ORDER_902,
        "BuyerInfo": {"BuyerEmail": "x@marketplace.amazon.co.jp", "BuyerName": "山田 太郎"},
        "ShippingAddress": {
            "Name": "山田 太郎",
            "AddressLine1": "神南1-2-3",
            "AddressLine2": "渋谷マンション101",
            "City": "渋谷区",
            "StateOrRegion": "東京都",
            "PostalCode": "１５０-0041",
            "CountryCode": "JP",
            "Phone": "+81 90-1234-5678",
        },
    }
    order = map_order(raw, ITEMS_902)
    assert order.buyer.name == "山田 太郎"
    assert order.delivery.address == "東京都渋谷区神南1-2-3 渋谷マンション101"
    assert (order.delivery.postcode, order.delivery.phone) == ("150-0041", "090-1234-5678")
    assert RDT_NOTE not in order.review


def test_order_902_fulfilled_by_amazon_is_recorded_without_allocating() -> None:
    order = map_order({**ORDER_902, "FulfillmentChannel": "AFN"}, ITEMS_902)
    assert not order.allocates_stock and FBA_NOTE in order.review and RDT_NOTE not in order.review


@pytest.mark.parametrize(
    ("amazon", "ichigen"),
    [
        ("Pending", "入金待ち"),
        ("Unshipped", "新規"),
        ("PartiallyShipped", "新規"),
        ("Shipped", "出荷済"),
        ("Canceled", "キャンセル"),
        ("Unfulfillable", "保留"),
        ("SomethingNew", "保留"),
    ],
)
def test_order_902_status_table(amazon: str, ichigen: str) -> None:
    order = map_order({**ORDER_902, "OrderStatus": amazon}, ITEMS_902)
    assert order.status == ichigen
    if amazon == "SomethingNew":
        assert any("SomethingNew" in r for r in order.review)
    assert STATUS_TABLE[-1][0] == "otherwise"


def test_carriers_map_to_amazon_codes() -> None:
    assert carrier_code("ヤマト運輸") == ("Yamato Transport", None)
    assert carrier_code("佐川急便") == ("Sagawa Express", None)
    assert carrier_code("日本郵便") == ("Japan Post", None)
    assert carrier_code("西濃運輸") == ("Other", "西濃運輸")


# ------------------------------------------------------------------ over HTTP


class Harness:
    def __init__(self, fake: FakeAmazon, clock: list[datetime], ticks: FakeClock) -> None:
        self.fake, self.clock, self.ticks = fake, clock, ticks
        self.sleeps: list[float] = []
        self.connector = self.connect()

    def now(self) -> datetime:
        return self.clock[0]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.ticks.sleep(seconds)

    def connect(self, **overrides: Any) -> Connector:
        settings = Settings.model_validate(
            {
                "type": "amazon",
                "base_url": self.fake.base_url,
                "lwa_token_url": self.fake.token_url,
                "client_id": amazon_api.CLIENT_ID,
                "client_secret": amazon_api.CLIENT_SECRET,
                "refresh_token": amazon_api.REFRESH_TOKEN,
                "seller_id": amazon_api.SELLER_ID,
                "max_retries": 3,
                "timeout_seconds": 0.3,
                **overrides,
            }
        )
        return Connector(
            "amazon",
            settings,
            session=requests.Session(),
            project_root=Path("."),
            sleep=self.sleep,
            clock=self.now,
            monotonic=self.ticks,
        )

    def fetch(self, since: str | None = None) -> list:
        return list(self.connector.fetch_orders(since, until=self.now()))


@pytest.fixture
def h() -> Iterator[Harness]:
    clock = [NOW]
    ticks = FakeClock()
    with FakeAmazon(clock=lambda: clock[0], bucket_clock=ticks) as fake:
        fake.timeout_delay = 0.5
        fake.add_listing("TSH-WH-M", "B0ICHIGEN1", "Tシャツ 白 M", 2980)
        fake.add_listing("TSH-NV-M", "B0ICHIGEN2", "Tシャツ 紺 M", 2980, product_type="APPAREL")
        yield Harness(fake, clock, ticks)


def test_settings_defaults_are_japan() -> None:
    settings = Settings.model_validate(
        {"type": "amazon", "client_id": "c", "client_secret": "s", "refresh_token": "r", "seller_id": "A1"}
    )
    assert settings.base_url == "https://sellingpartnerapi-fe.amazon.com"
    assert settings.lwa_token_url == "https://api.amazon.com/auth/o2/token"
    assert (settings.marketplace_id, settings.mall) == ("A1VC38T7YXB528", "Amazon")


def test_the_access_token_is_fetched_once_and_sent_until_it_expires(h: Harness) -> None:
    h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(hours=1))
    h.fetch()
    h.fetch()
    assert h.fake.count(amazon_api.TOKEN_PATH) == 1
    (token_call,) = [r for r in h.fake.requests if r.path == amazon_api.TOKEN_PATH]
    assert token_call.body["grant_type"] == "refresh_token"
    tokens = {r.token for r in h.fake.requests if r.path != amazon_api.TOKEN_PATH}
    assert len(tokens) == 1 and next(iter(tokens)).startswith("Atza|")
    h.ticks.sleep(3600)  # the hour is over
    h.fetch()
    assert h.fake.count(amazon_api.TOKEN_PATH) == 2


def test_a_revoked_token_is_replaced_once_and_a_bad_refresh_token_is_explained(h: Harness) -> None:
    h.fetch()
    h.fake.expire_tokens()
    h.fetch()
    assert h.fake.count(amazon_api.TOKEN_PATH) == 2
    h.fake.refresh_token = "Atzr|rotated"
    h.fake.expire_tokens()
    with pytest.raises(MallAuthError, match="認証に失敗しました"):
        h.fetch()


def test_orders_page_by_next_token_with_a_window_ending_two_minutes_before_now(h: Harness) -> None:
    made = [h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=50 - i)) for i in range(5)]
    h.fake.item_page_size = 1
    two_lines = h.fake.add_order([("TSH-WH-M", 1), ("TSH-NV-M", 2)], at=NOW - timedelta(minutes=10))
    h.connector = h.connect(page_size=2)
    pages = h.fetch()
    assert [len(p.orders) for p in pages] == [2, 2, 2]
    assert [p.cursor for p in pages[:-1]] == [None, None] and pages[-1].cursor
    numbers = [o.order_number for p in pages for o in p.orders]
    assert numbers == [o["AmazonOrderId"] for o in made] + [two_lines["AmazonOrderId"]]
    assert len(pages[-1].orders[-1].lines) == 2  # items paged by their own NextToken
    first = next(r for r in h.fake.requests if r.path == amazon_api.ORDERS_PATH)
    before = datetime.fromisoformat(first.query["LastUpdatedBefore"][0].replace("Z", "+00:00"))
    assert before <= NOW - timedelta(minutes=2)
    assert first.query["MarketplaceIds"] == ["A1VC38T7YXB528"] and "LastUpdatedAfter" in first.query
    later = [r for r in h.fake.requests if r.path == amazon_api.ORDERS_PATH][1:]
    assert all("NextToken" in r.query and "LastUpdatedAfter" not in r.query for r in later)
    assert all(r.status == 200 for r in h.fake.requests)


def test_an_order_updated_within_two_minutes_waits_for_the_next_run(h: Harness) -> None:
    h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=1))
    assert [o for p in h.fetch() for o in p.orders] == []
    h.clock[0] = NOW + timedelta(minutes=5)
    assert len([o for p in h.fetch() for o in p.orders]) == 1


def test_quota_exceeded_backs_off_and_keeps_the_page(h: Harness) -> None:
    for i in range(3):
        h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30 - i))
    h.connector = h.connect(page_size=1)
    pages = h.connector.fetch_orders(None, until=NOW)
    first = next(pages)
    # Other apps of the seller used up getOrders' burst (20 at 0.0167/s): Amazon says QuotaExceeded.
    h.fake.buckets["getOrders"].tokens = 0
    rest = list(pages)
    assert len(first.orders) + sum(len(p.orders) for p in rest) == 3
    quota = [r for r in h.fake.requests if r.status == 429]
    assert quota and all(r.path == amazon_api.ORDERS_PATH for r in quota)
    calls = [r for r in h.fake.requests if r.path == amazon_api.ORDERS_PATH]
    assert calls[1].status == 429 and calls[2].query["NextToken"] == calls[1].query["NextToken"]
    assert any(s >= 50 for s in h.sleeps)  # waited about a minute for a getOrders token


def test_a_429_on_the_second_page_retries_the_same_next_token(h: Harness) -> None:
    for i in range(3):
        h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30 - i))
    h.connector = h.connect(page_size=1)
    pages = h.connector.fetch_orders(None, until=NOW)
    first = next(pages)
    h.fake.inject(429, 429, paths=[amazon_api.ORDERS_PATH])
    rest = list(pages)
    assert len(first.orders) + sum(len(p.orders) for p in rest) == 3
    calls = [r for r in h.fake.requests if r.path == amazon_api.ORDERS_PATH]
    assert [r.status for r in calls][1:4] == [429, 429, 200]
    assert calls[1].query["NextToken"] == calls[3].query["NextToken"]


@pytest.mark.parametrize("fault", [500, 503, "timeout"])
def test_transient_faults_are_retried(h: Harness, fault: int | str) -> None:
    h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30))
    h.fake.inject(fault, paths=[amazon_api.ORDERS_PATH])
    assert sum(len(p.orders) for p in h.fetch()) == 1


def test_fba_orders_do_not_allocate(h: Harness) -> None:
    h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30), fba=True)
    (order,) = [o for p in h.fetch() for o in p.orders]
    assert not order.allocates_stock and FBA_NOTE in order.review


def test_without_an_rdt_the_fake_leaves_pii_out_and_the_order_is_flagged(h: Harness) -> None:
    made = h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30))
    (order,) = [o for p in h.fetch() for o in p.orders]
    assert RDT_NOTE in order.review and order.delivery.postcode == "150-0041"
    raw = h.fake._order_json(made["AmazonOrderId"], pii=False)
    assert "BuyerInfo" not in raw and "Name" not in raw["ShippingAddress"]
    assert h.fake._order_json(made["AmazonOrderId"], pii=True)["BuyerInfo"]["BuyerName"] == "山田 太郎"


def test_stock_push_looks_up_the_product_type_once_and_is_unconfirmed_until_seen(h: Harness) -> None:
    levels = [
        StockLevel(
            mall="Amazon", sku="TSH-WH-M", mall_item_code="B0ICHIGEN1", mall_sku="TSH-WH-M", quantity=7
        ),
        StockLevel(
            mall="Amazon", sku="TSH-NV-M", mall_item_code="B0ICHIGEN2", mall_sku="TSH-NV-M", quantity=3
        ),
    ]
    results = h.connector.push_stock(levels)
    assert [(r.ok, r.confirmed) for r in results] == [(True, False), (True, False)]
    h.connector.push_stock(levels)
    gets = [r for r in h.fake.requests if r.method == "GET" and r.path.startswith(amazon_api.LISTINGS_PATH)]
    assert len(gets) == 2 and all(r.query["includedData"] == ["summaries"] for r in gets)
    patches = [r for r in h.fake.requests if r.method == "PATCH"]
    assert len(patches) == 4 and patches[1].body["productType"] == "APPAREL"
    assert patches[0].body["patches"] == [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
        }
    ]
    assert patches[0].query["marketplaceIds"] == ["A1VC38T7YXB528"]
    assert h.fake.listing_quantity("TSH-WH-M") == 7


def test_an_unknown_listing_fails_alone(h: Harness) -> None:
    levels = [
        StockLevel(mall="Amazon", sku="NOPE", mall_item_code="B0X", mall_sku="NOPE", quantity=1),
        StockLevel(mall="Amazon", sku="TSH-WH-M", mall_item_code="B0ICHIGEN1", quantity=2),
    ]
    bad, good = h.connector.push_stock(levels)
    assert not bad.ok and "NOPE" in bad.error and good.ok


def test_shipment_confirmation_sends_the_documented_package(h: Harness) -> None:
    made = h.fake.add_order([("TSH-WH-M", 2), ("TSH-NV-M", 1)], at=NOW - timedelta(minutes=30))
    shipped_at = datetime(2026, 11, 30, 15, 0, tzinfo=JST)
    h.connector.confirm_shipment(
        Shipment(
            mall="Amazon",
            order_number=made["AmazonOrderId"],
            carrier="ヤマト運輸",
            tracking_number="123456789012",
            shipped_at=shipped_at,
        )
    )
    (body,) = h.fake.shipments
    assert body["marketplaceId"] == "A1VC38T7YXB528"
    package = body["packageDetail"]
    assert package["carrierCode"] == "Yamato Transport" and "carrierName" not in package
    assert package["shipDate"] == "2026-11-30T06:00:00Z" and package["packageReferenceId"] == "1"
    assert [i["quantity"] for i in package["orderItems"]] == [2, 1]
    assert h.fake.order(made["AmazonOrderId"])["OrderStatus"] == "Shipped"
    # A retry after a lost answer changes nothing.
    h.connector.confirm_shipment(
        Shipment(
            mall="Amazon",
            order_number=made["AmazonOrderId"],
            carrier="ヤマト運輸",
            tracking_number="123456789012",
            shipped_at=shipped_at,
        )
    )
    assert len(h.fake.shipments) == 1


def test_a_cancelled_order_cannot_be_shipped(h: Harness) -> None:
    made = h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30))
    h.fake.set_status(made["AmazonOrderId"], "Canceled")
    shipment = Shipment(
        mall="Amazon",
        order_number=made["AmazonOrderId"],
        carrier="西濃運輸",
        tracking_number="1",
        shipped_at=NOW,
        lines=((1, 1),),
    )
    with pytest.raises(MallRejected):
        h.connector.confirm_shipment(shipment)


# ------------------------------------------------------- the fake against the model


def validate(schema: dict, value: Any, definitions: dict, where: str = "$") -> list[str]:
    """The JSON-schema subset ordersV0.json uses: type, required, properties, items, enum, $ref."""
    if "$ref" in schema:
        return validate(definitions[schema["$ref"].removeprefix("#/definitions/")], value, definitions, where)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float)}
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: not an integer"]
    elif kind in kinds and (
        not isinstance(value, kinds[kind]) or (kind == "number" and isinstance(value, bool))
    ):
        return [f"{where}: not {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in enum")
    if isinstance(value, dict):
        problems += [f"{where}: {k} missing" for k in schema.get("required", ()) if k not in value]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems += validate(properties[key], item, definitions, f"{where}.{key}")
            elif properties:
                problems.append(f"{where}: {key} not in the model")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += validate(schema["items"], item, definitions, f"{where}[{i}]")
    return problems


def test_the_validator_catches_what_it_claims() -> None:
    definitions = {
        "Money": {"type": "object", "required": ["Amount"], "properties": {"Amount": {"type": "string"}}}
    }
    schema = {"type": "array", "items": {"$ref": "#/definitions/Money"}}
    assert validate(schema, [{"Amount": "1"}], definitions) == []
    assert validate(schema, [{"Amount": 1}, {}], definitions) == [
        "$[0].Amount: not string",
        "$[1]: Amount missing",
    ]
    assert validate({"enum": ["A"]}, "B", {}) == ["$: 'B' not in enum"]


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared contracts folder is not here")
def test_the_fake_answers_follow_the_official_orders_model(h: Harness) -> None:
    definitions = json.loads(CONTRACT.read_text(encoding="utf-8"))["definitions"]
    h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=30))
    h.fake.add_order([("TSH-NV-M", 2), ("TSH-WH-M", 1)], at=NOW - timedelta(minutes=20), fba=True)
    made = h.fake.add_order([("TSH-WH-M", 3)], at=NOW - timedelta(minutes=10))
    h.fake.set_status(made["AmazonOrderId"], "Canceled", at=NOW - timedelta(minutes=9))
    token = h.fake.issue_rdt()
    checked = 0
    for headers in ({"x-amz-access-token": token}, {}):
        if not headers:
            h.connector._access_token()
            headers = {"x-amz-access-token": h.connector._token}
        orders = requests.get(
            h.fake.base_url + amazon_api.ORDERS_PATH,
            params={"MarketplaceIds": "A1VC38T7YXB528", "LastUpdatedAfter": "2026-11-29T00:00:00Z"},
            headers=headers,
            timeout=5,
        ).json()
        assert validate(definitions["GetOrdersResponse"], orders, definitions) == []
        for order in orders["payload"]["Orders"]:
            url = f"{h.fake.base_url}{amazon_api.ORDERS_PATH}/{order['AmazonOrderId']}/orderItems"
            items = requests.get(url, headers=headers, timeout=5).json()
            assert validate(definitions["GetOrderItemsResponse"], items, definitions) == []
            checked += 1
    assert checked == 6
    quota = amazon_api.QUOTA_BODY
    assert validate(definitions["ErrorList"], quota["errors"], definitions) == []


def test_an_absurd_order_is_skipped_and_reported_and_the_cursor_stays_before_it(h: Harness) -> None:
    """An order whose quantity is beyond vocabulary/limits.py does not stop the fetch: the other
    orders come back, the bad one is described in the page's errors, and the window's cursor is
    kept at its update time, so the next run reads it (and reports it) again until it is fixed."""
    good = h.fake.add_order([("TSH-WH-M", 1)], at=NOW - timedelta(minutes=50))
    absurd = h.fake.add_order([("TSH-NV-M", 10**20)], at=NOW - timedelta(minutes=40))
    later = h.fake.add_order([("TSH-WH-M", 2)], at=NOW - timedelta(minutes=30))
    pages = h.fetch()
    assert [o.order_number for p in pages for o in p.orders] == [
        good["AmazonOrderId"],
        later["AmazonOrderId"],
    ]
    (error,) = [e for p in pages for e in p.errors]
    assert f"Amazonの注文 {absurd['AmazonOrderId']} を取り込めませんでした" in error
    assert "数量は9,999,999以下にしてください" in error
    cursor = datetime.fromisoformat(pages[-1].cursor)
    absurd_at = datetime.fromisoformat(absurd["LastUpdateDate"].replace("Z", "+00:00"))
    assert cursor <= absurd_at < NOW - timedelta(minutes=2)  # not the window's end
    again = h.fetch(pages[-1].cursor)
    assert [e for p in again for e in p.errors] == [error]  # reported again, until fixed
    assert later["AmazonOrderId"] in {o.order_number for p in again for o in p.orders}
