"""Shopify: the fake follows the REST 2024-10 contract, and the connector works against it.

Everything talks over real HTTP on loopback; sleeps are injected and recorded, so waiting for
Retry-After or backoff costs nothing.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sheets_schema.cells import JST
from sync.connectors import ChannelConfigError, channel_settings, connector_module
from sync.connectors.shopify import (
    STATUS_TABLE,
    TRACKING_COMPANIES,
    Connector,
    Settings,
    map_order,
    map_status,
    status_note,
    status_row,
)
from sync.errors import MallAuthError, MallPayloadError, MallRejected, MallUnavailable, SyncError
from sync.models import CARRIERS, Shipment, StockLevel
from tests.fakes.shopify_api import (
    DEFAULT_TOKEN,
    INVALID_TOKEN_BODY,
    JAPANESE_BUYERS,
    SHOP_TZ,
    THROTTLED_BODY,
    FakeShopify,
    Variant,
)

API = "/admin/api/2024-10/"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=SHOP_TZ)
T0 = NOW - timedelta(days=2)  # when the fixture orders were placed


class Clock:
    """The shop's clock, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW - timedelta(days=1))


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeShopify]:
    with FakeShopify(clock=clock) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def tea(fake: FakeShopify) -> list[Variant]:
    return fake.add_product("有機ほうじ茶", [("TEA-HOJI-100", "100g", 1080), ("TEA-HOJI-200", "200g", 1980)])


@pytest.fixture
def cup(fake: FakeShopify) -> Variant:
    return fake.add_product("信楽焼 湯呑み", [("CUP-SHIGARAKI", "", 3300)])[0]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(fake: FakeShopify, session: requests.Session, sleeps: list[float]) -> Callable[..., Connector]:
    def make(*, monotonic: Callable[[], float] = time.monotonic, **overrides: Any) -> Connector:
        options = {"type": "shopify", "base_url": fake.base_url, "access_token": DEFAULT_TOKEN, **overrides}
        settings = Settings.model_validate(options)
        return Connector(
            "shopify",
            settings,
            session=session,
            project_root=Path("."),
            sleep=sleeps.append,
            monotonic=monotonic,
        )

    return make


def call(
    session: requests.Session,
    fake: FakeShopify,
    path: str,
    *,
    token: str | None = DEFAULT_TOKEN,
    method: str = "GET",
    json: Any = None,
    **params: Any,
) -> requests.Response:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    url = path if path.startswith("http") else fake.base_url + API + path
    return session.request(method, url, params=params, json=json, headers=headers, timeout=5)


def add_orders(fake: FakeShopify, variants: list[Variant], count: int, *, start: datetime = T0) -> list[dict]:
    return [
        fake.add_order(
            [(variants[i % len(variants)], 1 + i % 3)],
            buyer=JAPANESE_BUYERS[i % 5],
            at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]


def drain(pages: Iterator[Any]) -> list[Any]:
    return list(pages)


def shipment(order: dict, **overrides: Any) -> Shipment:
    values = {
        "mall": "Shopify",
        "order_number": str(order["id"]),
        "carrier": "ヤマト運輸",
        "tracking_number": "4912-3456-7890",
        "shipped_at": NOW,
        **overrides,
    }
    return Shipment(**values)


def level(sku: str, quantity: int, **overrides: Any) -> StockLevel:
    return StockLevel(
        **{"mall": "Shopify", "sku": sku, "mall_item_code": "", "quantity": quantity, **overrides}
    )


# ------------------------------------------------------------- fake contract


def test_fake_refuses_missing_or_wrong_access_token(fake: FakeShopify, session: requests.Session) -> None:
    for token in (None, "shpat_wrong"):
        response = call(session, fake, "orders.json", token=token)
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN_BODY


def test_fake_orders_status_defaults_to_open(
    fake: FakeShopify, session: requests.Session, tea: list[Variant]
) -> None:
    open_order, cancelled, shipped = add_orders(fake, tea, 3)
    fake.cancel_order(cancelled["id"])
    fake.fulfill_in_admin(shipped["id"])

    def ids(**params: Any) -> set[int]:
        return {o["id"] for o in call(session, fake, "orders.json", **params).json()["orders"]}

    assert ids() == {open_order["id"]}
    assert ids(status="any") == {open_order["id"], cancelled["id"], shipped["id"]}
    assert ids(status="cancelled") == {cancelled["id"]}
    assert ids(status="closed") == {cancelled["id"], shipped["id"]}


def test_fake_limit_defaults_to_50_and_refuses_more_than_250(
    fake: FakeShopify, session: requests.Session, tea: list[Variant]
) -> None:
    add_orders(fake, tea, 60)
    first = call(session, fake, "orders.json")
    assert len(first.json()["orders"]) == 50
    assert 'rel="next"' in first.headers["Link"]
    assert call(session, fake, "orders.json", limit=250).status_code == 200
    assert call(session, fake, "orders.json", limit=251).status_code == 400
    assert call(session, fake, "orders.json", limit=0).status_code == 400


def test_fake_pages_with_page_info_links_and_refuses_filters_beside_it(
    fake: FakeShopify, session: requests.Session, tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 5)
    query = {"status": "any", "order": "updated_at asc", "limit": 2}
    first = call(session, fake, "orders.json", **query)
    assert [o["id"] for o in first.json()["orders"]] == [o["id"] for o in orders[:2]]
    assert first.links.keys() == {"next"}
    assert "page_info=" in first.links["next"]["url"] and "limit=2" in first.links["next"]["url"]

    second = call(session, fake, first.links["next"]["url"])
    assert [o["id"] for o in second.json()["orders"]] == [o["id"] for o in orders[2:4]]
    assert second.links.keys() == {"previous", "next"}
    third = call(session, fake, second.links["next"]["url"])
    assert [o["id"] for o in third.json()["orders"]] == [orders[4]["id"]]
    assert third.links.keys() == {"previous"}
    back = call(session, fake, third.links["previous"]["url"])
    assert [o["id"] for o in back.json()["orders"]] == [o["id"] for o in orders[2:4]]

    page_info = first.links["next"]["url"].split("page_info=")[1]
    refused = call(
        session, fake, "orders.json", page_info=page_info, updated_at_min="2026-11-01T00:00:00+09:00"
    )
    assert refused.status_code == 400
    assert refused.json() == {"errors": "updated_at_min cannot be passed when page_info is present"}
    assert call(session, fake, "orders.json", page_info=page_info, limit=2, fields="id").status_code == 200
    single = call(session, fake, "orders.json", status="any", limit=250)
    assert "Link" not in single.headers


def test_fake_filters_updated_at_in_any_offset_and_answers_in_shop_time(
    fake: FakeShopify, session: requests.Session, cup: Variant
) -> None:
    order = fake.add_order([(cup, 1)], at=datetime(2026, 11, 29, 10, 0, tzinfo=SHOP_TZ))

    def found(**params: Any) -> bool:
        return bool(call(session, fake, "orders.json", status="any", **params).json()["orders"])

    assert found(updated_at_min="2026-11-29T01:00:00Z")  # the same moment: inclusive
    assert not found(updated_at_min="2026-11-29T01:00:01Z")
    assert found(updated_at_max="2026-11-28T20:00:00-05:00")
    body = call(session, fake, f"orders/{order['id']}.json", fields="id,updated_at,total_price").json()
    assert body == {
        "order": {"id": order["id"], "updated_at": "2026-11-29T10:00:00+09:00", "total_price": "4100"}
    }


def test_fake_leaky_bucket_answers_429_with_retry_after(session: requests.Session) -> None:
    now = [100.0]
    with FakeShopify(bucket_clock=lambda: now[0]) as fake:
        limits = [
            call(session, fake, "locations.json").headers["X-Shopify-Shop-Api-Call-Limit"] for _ in range(40)
        ]
        assert limits[0] == "1/40" and limits[-1] == "40/40"
        throttled = call(session, fake, "locations.json")
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "2.0"
        assert throttled.json() == THROTTLED_BODY
        now[0] += 1.0  # leaks 2 calls
        again = call(session, fake, "locations.json")
        assert again.status_code == 200
        assert again.headers["X-Shopify-Shop-Api-Call-Limit"] == "39/40"


def test_fake_sets_inventory_and_refuses_unknown_items(
    fake: FakeShopify, session: requests.Session, cup: Variant
) -> None:
    location = fake.primary_location_id
    ok = call(
        session,
        fake,
        "inventory_levels/set.json",
        method="POST",
        json={"location_id": location, "inventory_item_id": cup.inventory_item_id, "available": 7},
    )
    assert ok.status_code == 200
    assert ok.json()["inventory_level"]["available"] == 7
    assert fake.inventory_level(cup.inventory_item_id) == 7
    unknown = call(
        session,
        fake,
        "inventory_levels/set.json",
        method="POST",
        json={"location_id": location, "inventory_item_id": 1, "available": 7},
    )
    assert unknown.status_code == 422
    assert "errors" in unknown.json()
    inactive = fake.locations[0]["id"]
    closed = call(
        session,
        fake,
        "inventory_levels/set.json",
        method="POST",
        json={"location_id": inactive, "inventory_item_id": cup.inventory_item_id, "available": 1},
    )
    assert closed.status_code == 422


def test_fake_fulfillment_fulfils_the_order_and_refuses_a_closed_fulfillment_order(
    fake: FakeShopify, session: requests.Session, clock: Clock, cup: Variant
) -> None:
    order = fake.add_order([(cup, 2)], at=T0)
    (fo,) = call(session, fake, f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"]
    assert fo["status"] == "open" and fo["line_items"][0]["fulfillable_quantity"] == 2
    body = {
        "fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}],
            "tracking_info": {"number": "4912", "company": "Yamato (JA)"},
            "notify_customer": True,
        }
    }
    created = call(session, fake, "fulfillments.json", method="POST", json=body)
    assert created.status_code == 201
    assert created.json()["fulfillment"]["tracking_company"] == "Yamato (JA)"
    stored = fake.order(order["id"])
    assert stored["fulfillment_status"] == "fulfilled"
    assert stored["updated_at"] == clock().isoformat()
    assert stored["closed_at"] is not None
    again = call(session, fake, "fulfillments.json", method="POST", json=body)
    assert again.status_code == 422
    assert again.json() == {"errors": [f"Fulfillment order {fo['id']} has an unfulfillable status= closed."]}


def test_fake_faults_hit_matching_paths_only(fake: FakeShopify, session: requests.Session) -> None:
    fake.inject(503, paths=["orders.json"])
    assert call(session, fake, "locations.json").status_code == 200
    assert call(session, fake, "orders.json").status_code == 503
    assert call(session, fake, "orders.json").status_code == 200
    fake.inject("malformed")
    malformed = call(session, fake, "locations.json")
    assert malformed.status_code == 200 and malformed.text.startswith("<!DOCTYPE html>")
    assert fake.count("orders.json") == 2 and fake.count("locations.json") == 2


def test_fake_order_updated_between_pages_appears_on_two_pages(
    fake: FakeShopify, session: requests.Session, tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 4)
    fake.update_during_paging(orders[0]["id"], after_page=1, note="再配達希望")
    first = call(session, fake, "orders.json", status="any", order="updated_at asc", limit=2)
    seen = [o["id"] for o in first.json()["orders"]]
    page = first
    while "next" in page.links:
        page = call(session, fake, page.links["next"]["url"])
        seen += [o["id"] for o in page.json()["orders"]]
    assert seen.count(orders[0]["id"]) == 2
    assert len(seen) == 5


# ------------------------------------------------------------ fetch_orders


def test_fetch_pages_600_orders_in_3_pages_with_cursors(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 600)
    old = fake.add_order([(tea[0], 1)], at=NOW - timedelta(days=31))  # before the first-run window

    pages = drain(connect().fetch_orders(None, until=NOW))

    assert [len(p.orders) for p in pages] == [250, 250, 100]
    expected = [orders[i]["updated_at"] for i in (249, 499, 599)]
    assert [p.cursor for p in pages] == expected
    numbers = [o.order_number for p in pages for o in p.orders]
    assert numbers == [str(o["id"]) for o in orders]
    assert str(old["id"]) not in numbers
    first, *rest = [r for r in fake.requests if r.path == API + "orders.json"]
    assert first.query["status"] == ["any"]
    assert first.query["order"] == ["updated_at asc"]
    assert first.query["limit"] == ["250"]
    assert first.query["updated_at_min"] == [(NOW - timedelta(days=30)).isoformat()]
    assert first.query["updated_at_max"] == [NOW.isoformat()]
    assert len(rest) == 2
    assert all(set(r.query) == {"limit", "page_info", "fields"} for r in rest)


def test_exact_duplicates_across_pages_are_dropped(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 6)
    fake.page_overlap = 1  # every page repeats the previous page's last order

    pages = drain(connect(page_size=2).fetch_orders(None, until=NOW))

    numbers = [o.order_number for p in pages for o in p.orders]
    assert numbers == [str(o["id"]) for o in orders]
    assert fake.count("orders.json") == 5  # 10 rows served for 6 orders
    assert pages[-1].cursor == orders[-1]["updated_at"]


def test_order_cancelled_while_paging_comes_again_with_its_new_state(
    fake: FakeShopify, connect: Callable[..., Connector], clock: Clock, tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 6)
    first_id = str(orders[0]["id"])
    fake.update_during_paging(orders[0]["id"], after_page=1, cancel=True)

    pages = drain(connect(page_size=2).fetch_orders(None, until=NOW))

    assert pages[0].orders[0].order_number == first_id and pages[0].orders[0].status == "新規"
    latest = {o.order_number: o for p in pages for o in p.orders}
    assert latest[first_id].status == "キャンセル"
    assert len(latest) == 6
    assert pages[-1].cursor == clock().isoformat()


def test_next_fetch_picks_up_cancellation_and_payment(
    fake: FakeShopify, connect: Callable[..., Connector], clock: Clock, cup: Variant
) -> None:
    paid = fake.add_order([(cup, 1)], at=T0)
    waiting = fake.add_order(
        [(cup, 2)], at=T0 + timedelta(minutes=1), financial_status="pending", gateway="銀行振込"
    )
    connector = connect()
    (page,) = drain(connector.fetch_orders(None, until=clock()))
    assert {o.order_number: o.status for o in page.orders} == {
        str(paid["id"]): "新規",
        str(waiting["id"]): "入金待ち",
    }

    fake.cancel_order(paid["id"], at=clock.advance(hours=1))
    fake.set_financial_status(waiting["id"], "paid", at=clock.advance(minutes=5))
    pages = drain(connector.fetch_orders(page.cursor, until=clock.advance(minutes=1)))

    statuses = {o.order_number: o.status for p in pages for o in p.orders}
    assert statuses[str(paid["id"])] == "キャンセル"
    assert statuses[str(waiting["id"])] == "新規"
    assert pages[-1].cursor == fake.order(waiting["id"])["updated_at"]


def test_429_waits_retry_after_then_succeeds(
    fake: FakeShopify, connect: Callable[..., Connector], sleeps: list[float], cup: Variant
) -> None:
    fake.add_order([(cup, 1)], at=T0)
    fake.inject(429, paths=["orders.json"])

    (page,) = drain(connect().fetch_orders(None, until=NOW))

    assert len(page.orders) == 1
    assert sleeps[0] == 2.0
    assert fake.count("orders.json") == 2


def test_persistent_5xx_raises_unavailable_after_bounded_retries(
    fake: FakeShopify, connect: Callable[..., Connector], sleeps: list[float], tea: list[Variant]
) -> None:
    orders = add_orders(fake, tea, 6)
    pages = connect(page_size=3, max_retries=2).fetch_orders(None, until=NOW)
    first = next(pages)
    assert first.cursor == orders[2]["updated_at"]  # the engine can commit this page already
    fake.inject_always(503, paths=["orders.json"])

    with pytest.raises(MallUnavailable, match="HTTP 503"):
        next(pages)

    assert fake.count("orders.json") == 1 + 3  # one good page, then the first try and 2 retries
    assert len(sleeps) == 2


def test_read_timeout_on_a_read_is_retried(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    fake.add_order([(cup, 1)], at=T0)
    fake.timeout_delay = 0.5
    fake.inject("timeout", paths=["orders.json"])

    (page,) = drain(connect(timeout_seconds=0.2).fetch_orders(None, until=NOW))

    assert len(page.orders) == 1
    assert fake.count("orders.json") == 2


def test_malformed_body_raises_payload_error(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    fake.add_order([(cup, 1)], at=T0)
    fake.inject("malformed", paths=["orders.json"])
    with pytest.raises(MallPayloadError, match="JSONではありません"):
        drain(connect().fetch_orders(None, until=NOW))


def test_wrong_token_raises_auth_error_everywhere(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    order = fake.add_order([(cup, 1)], at=T0)
    connector = connect(access_token="shpat_revoked")
    with pytest.raises(MallAuthError, match="認証に失敗"):
        drain(connector.fetch_orders(None, until=NOW))
    with pytest.raises(MallAuthError):
        connector.push_stock([level("CUP-SHIGARAKI", 3)])
    with pytest.raises(MallAuthError):
        connector.confirm_shipment(shipment(order))


def test_unreadable_cursor_is_reported_in_japanese(connect: Callable[..., Connector]) -> None:
    with pytest.raises(SyncError, match="カーソル"):
        drain(connect().fetch_orders("先週", until=NOW))


# -------------------------------------------------------------- push_stock


def test_push_stock_resolves_skus_once_and_uses_the_first_active_location(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant], cup: Variant
) -> None:
    connector = connect()

    first = connector.push_stock([level("TEA-HOJI-100", 12), level("CUP-SHIGARAKI", 3)])
    second = connector.push_stock([level("TEA-HOJI-100", 11), level("TEA-HOJI-200", 0)])

    assert [r.ok for r in first + second] == [True] * 4
    assert fake.inventory_level(tea[0].inventory_item_id, fake.primary_location_id) == 11
    assert fake.inventory_level(tea[1].inventory_item_id) == 0
    assert fake.inventory_level(cup.inventory_item_id) == 3
    assert fake.inventory_level(cup.inventory_item_id, fake.locations[0]["id"]) is None  # inactive
    assert fake.count("products.json") == 1
    assert fake.count("locations.json") == 1
    assert fake.count("inventory_levels/set.json") == 4


def test_configured_location_skips_the_lookup(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    (result,) = connect(location_id=fake.primary_location_id).push_stock([level("CUP-SHIGARAKI", 5)])
    assert result.ok
    assert fake.count("locations.json") == 0


def test_unknown_sku_is_a_failed_result_not_an_exception(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    results = connect().push_stock([level("NO-SUCH-SKU", 4), level("CUP-SHIGARAKI", 2)])

    assert [(r.sku, r.ok) for r in results] == [("NO-SUCH-SKU", False), ("CUP-SHIGARAKI", True)]
    assert "NO-SUCH-SKU" in results[0].error and "ありません" in results[0].error
    assert fake.count("inventory_levels/set.json") == 1


def test_new_sku_is_looked_up_again_only_after_the_refresh_interval(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    now = [1000.0]
    connector = connect(monotonic=lambda: now[0])
    assert connector.push_stock([level("CUP-SHIGARAKI", 1)])[0].ok
    (new,) = fake.add_product("京都 抹茶ラテ", [("MATCHA-LATTE", "", 1620)])

    (soon,) = connector.push_stock([level("MATCHA-LATTE", 8)])
    now[0] += 601  # staff added the product in Shopify; the runner has been up for 10 minutes
    (later,) = connector.push_stock([level("MATCHA-LATTE", 8)])

    assert not soon.ok and later.ok
    assert fake.inventory_level(new.inventory_item_id) == 8
    assert fake.count("products.json") == 2


def test_sku_on_two_products_needs_the_product_id(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    twin = fake.add_product("信楽焼 湯呑み（旧柄）", [("CUP-SHIGARAKI", "", 2800)])[0]
    connector = connect()

    (ambiguous,) = connector.push_stock([level("CUP-SHIGARAKI", 1)])
    (chosen,) = connector.push_stock([level("CUP-SHIGARAKI", 6, mall_item_code=str(twin.product_id))])

    assert not ambiguous.ok and "複数" in ambiguous.error
    assert chosen.ok
    assert fake.inventory_level(twin.inventory_item_id) == 6
    assert fake.inventory_level(cup.inventory_item_id) is None


def test_level_refused_by_shopify_is_a_failed_result_with_its_reason(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant], cup: Variant
) -> None:
    connector = connect()
    connector.push_stock([level("CUP-SHIGARAKI", 1)])  # caches the catalogue
    fake.delete_product(cup.product_id)

    results = connector.push_stock([level("CUP-SHIGARAKI", 2), level("TEA-HOJI-100", 5)])

    assert [r.ok for r in results] == [False, True]
    assert "Inventory item does not exist" in results[0].error


def test_push_stops_and_reports_every_level_when_shopify_is_down(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant]
) -> None:
    fake.inject_always(503, paths=["inventory_levels/set.json"])

    results = connect(max_retries=1).push_stock([level("TEA-HOJI-100", 1), level("TEA-HOJI-200", 2)])

    assert [r.ok for r in results] == [False, False]
    assert all("HTTP 503" in r.error for r in results)
    assert fake.count("inventory_levels/set.json") == 2  # the first level's try and one retry, then stop


# ------------------------------------------------------- confirm_shipment


def test_confirm_shipment_fulfils_with_tracking_info(
    fake: FakeShopify, connect: Callable[..., Connector], clock: Clock, cup: Variant
) -> None:
    order = fake.add_order([(cup, 2)], at=T0)
    (fo,) = fake.fulfillment_orders(order["id"])

    connect().confirm_shipment(shipment(order, carrier="佐川急便", tracking_number="3601-2345-6789"))

    (post,) = [r for r in fake.requests if r.method == "POST"]
    assert post.body == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}],
            "tracking_info": {"number": "3601-2345-6789", "company": "Sagawa (JA)"},
            "notify_customer": True,
        }
    }
    stored = fake.order(order["id"])
    assert stored["fulfillment_status"] == "fulfilled"
    assert stored["fulfillments"][0]["tracking_numbers"] == ["3601-2345-6789"]
    assert stored["updated_at"] == clock().isoformat()


def test_confirm_partial_shipment_by_line_numbers(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant], cup: Variant
) -> None:
    order = fake.add_order([(tea[0], 2), (cup, 1)], at=T0)
    (fo,) = fake.fulfillment_orders(order["id"])

    connect(notify_customer=False).confirm_shipment(shipment(order, lines=((1, 1),), carrier="日本郵便"))

    (post,) = [r for r in fake.requests if r.method == "POST"]
    group = post.body["fulfillment"]["line_items_by_fulfillment_order"][0]
    assert group["fulfillment_order_line_items"] == [{"id": fo["line_items"][0]["id"], "quantity": 1}]
    assert post.body["fulfillment"]["tracking_info"]["company"] == "Japan Post (JA)"
    assert post.body["fulfillment"]["notify_customer"] is False
    stored = fake.order(order["id"])
    assert stored["fulfillment_status"] == "partial"
    assert map_status(stored) == "保留"


def test_confirm_more_than_ordered_raises_rejected_with_shopify_reason(
    fake: FakeShopify, connect: Callable[..., Connector], tea: list[Variant]
) -> None:
    order = fake.add_order([(tea[0], 2)], at=T0)
    with pytest.raises(MallRejected, match="Invalid fulfillment order line item quantity requested"):
        connect().confirm_shipment(shipment(order, lines=((1, 5),)))
    assert fake.order(order["id"])["fulfillment_status"] is None


class StaffFulfilsFirst(requests.Session):
    """Staff mark the order fulfilled in the Shopify admin just before our POST arrives."""

    def __init__(self, fake: FakeShopify, order_id: int) -> None:
        super().__init__()
        self.fake, self.order_id = fake, order_id

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if method == "POST" and url.endswith("/fulfillments.json"):
            self.fake.fulfill_in_admin(self.order_id)
        return super().request(method, url, *args, **kwargs)


def test_confirm_shipment_raised_422_carries_shopify_reason(fake: FakeShopify, cup: Variant) -> None:
    order = fake.add_order([(cup, 1)], at=T0)
    settings = Settings(type="shopify", base_url=fake.base_url, access_token=DEFAULT_TOKEN)
    with StaffFulfilsFirst(fake, order["id"]) as racing:
        connector = Connector(
            "shopify", settings, session=racing, project_root=Path("."), sleep=lambda s: None
        )
        with pytest.raises(MallRejected) as refused:
            connector.confirm_shipment(shipment(order))
    (fo,) = fake.fulfillment_orders(order["id"])
    # Shopify's own sentence, not a JSON excerpt, is what staff read in the 同期ログ.
    assert str(refused.value) == (
        f"Shopifyが受け付けませんでした（HTTP 422）: Fulfillment order {fo['id']} has an unfulfillable status= closed."
    )
    assert fake.count("fulfillments.json") == 1


def test_fulfillment_post_is_not_retried_after_5xx(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    order = fake.add_order([(cup, 1)], at=T0)
    fake.inject(502, paths=["fulfillments.json"])
    with pytest.raises(MallUnavailable):
        connect().confirm_shipment(shipment(order))
    assert fake.count("fulfillments.json") == 1


def test_fulfillment_post_timeout_is_not_retried_and_repeating_it_is_a_no_op(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    order = fake.add_order([(cup, 1)], at=T0)
    fake.timeout_delay = 0.4
    fake.inject("timeout", paths=["fulfillments.json"])
    connector = connect(timeout_seconds=0.15)

    with pytest.raises(MallUnavailable):
        connector.confirm_shipment(shipment(order))
    deadline = time.monotonic() + 3
    while fake.order(order["id"])["fulfillment_status"] != "fulfilled" and time.monotonic() < deadline:
        time.sleep(0.02)  # Shopify finishes the request our client gave up on
    connector.confirm_shipment(shipment(order))  # same tracking number: already done

    assert fake.count("fulfillments.json") == 1
    assert fake.order(order["id"])["fulfillment_status"] == "fulfilled"


def test_confirm_shipment_of_cancelled_order_is_rejected(
    fake: FakeShopify, connect: Callable[..., Connector], cup: Variant
) -> None:
    order = fake.add_order([(cup, 1)], at=T0)
    fake.cancel_order(order["id"])
    with pytest.raises(MallRejected, match="出荷できる明細がありません"):
        connect().confirm_shipment(shipment(order))
    assert fake.count("fulfillments.json") == 0


def test_every_ichigen_carrier_has_a_tracking_company() -> None:
    assert set(TRACKING_COMPANIES) == set(CARRIERS)
    assert TRACKING_COMPANIES["ヤマト運輸"] == "Yamato (JA)"
    assert TRACKING_COMPANIES["佐川急便"] == "Sagawa (JA)"
    assert TRACKING_COMPANIES["日本郵便"] == "Japan Post (JA)"


# ------------------------------------------------------------------ settings


def test_settings_come_from_the_registry(fake: FakeShopify, session: requests.Session) -> None:
    section = {"type": "shopify", "base_url": "https://example.myshopify.com", "access_token": "shpat_x"}
    parsed = channel_settings("shopify", section)
    assert isinstance(parsed, Settings)
    assert (parsed.mall, parsed.api_version, parsed.page_size, parsed.location_id) == (
        "Shopify",
        "2024-10",
        250,
        None,
    )
    assert "shpat_x" not in repr(parsed)
    with pytest.raises(ChannelConfigError, match="page_size"):
        channel_settings("shopify", {**section, "page_size": 251})
    with pytest.raises(ChannelConfigError, match="base_url"):
        channel_settings("shopify", {"type": "shopify", "access_token": "shpat_x"})
    module = connector_module("shopify")
    connector = module.Connector("shop", parsed, session=session, project_root=Path("."), clock=lambda: NOW)
    assert (connector.channel, connector.mall, connector.display_name) == ("shop", "Shopify", "Shopify")


# ------------------------------------------------------------- pure mapping


def order_450789469() -> dict:
    """Shopify's documented example order (REST 2024-10), trimmed to the fields Ichigen reads."""
    line = {
        "product_id": 632910392,
        "price": "199.00",
        "quantity": 1,
        "requires_shipping": True,
        "title": "IPod Nano - 8gb",
        "fulfillable_quantity": 0,
        "fulfillment_status": None,
    }
    address = {
        "first_name": "Bob",
        "last_name": "Norman",
        "name": "Bob Norman",
        "address1": "Chestnut Street 92",
        "address2": "",
        "city": "Louisville",
        "province": "Kentucky",
        "province_code": "KY",
        "zip": "40202",
        "country": "United States",
        "country_code": "US",
        "phone": "+1(502)-459-2181",
        "company": None,
    }
    return {
        "id": 450789469,
        "name": "#1001",
        "created_at": "2008-01-10T11:00:00-05:00",
        "processed_at": "2008-01-10T11:00:00-05:00",
        "updated_at": "2008-01-10T11:00:00-05:00",
        "cancelled_at": None,
        "currency": "USD",
        "taxes_included": False,
        "financial_status": "partially_refunded",
        "fulfillment_status": None,
        "total_price": "598.94",
        "total_price_set": {
            "shop_money": {"amount": "598.94", "currency_code": "USD"},
            "presentment_money": {"amount": "598.94", "currency_code": "USD"},
        },
        "payment_gateway_names": ["bogus"],
        "phone": "+557734881234",
        "note": None,
        "note_attributes": [
            {"name": "custom engraving", "value": "Happy Birthday"},
            {"name": "colour", "value": "green"},
        ],
        "customer": {"id": 207119551, "first_name": "Bob", "last_name": "Norman", "phone": "+16136120707"},
        "billing_address": address,
        "shipping_address": dict(address),
        "shipping_lines": [{"id": 369256396, "title": "Free Shipping", "price": "0.00"}],
        "line_items": [
            {
                **line,
                "id": 466157049,
                "sku": "IPOD2008GREEN",
                "name": "IPod Nano - 8gb - green",
                "current_quantity": 0,
            },
            {
                **line,
                "id": 518995019,
                "sku": "IPOD2008RED",
                "name": "IPod Nano - 8gb - red",
                "current_quantity": 1,
                "fulfillable_quantity": 1,
            },
            {
                **line,
                "id": 703073504,
                "sku": "IPOD2008BLACK",
                "name": "IPod Nano - 8gb - black",
                "current_quantity": 0,
            },
        ],
        "refunds": [
            {
                "id": 509562969,
                "refund_line_items": [
                    {"line_item_id": 703073504, "quantity": 1},
                    {"line_item_id": 466157049, "quantity": 1},
                ],
            }
        ],
    }


def test_order_450789469_from_shopify_docs_maps_a_partially_refunded_usd_order() -> None:
    order = map_order(order_450789469(), "Shopify")

    assert order.order_number == "450789469"
    assert order.status == "新規"
    assert order.ordered_at == datetime(2008, 1, 11, 1, 0, tzinfo=JST)  # 11:00 -05:00 is 01:00 JST
    assert order.ordered_at.utcoffset() == timedelta(hours=9)
    assert (order.total, order.shipping_fee) == (599, 0)  # "598.94" rounded to whole units
    assert [(ln.line_number, ln.seller_sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        (1, "IPOD2008GREEN", 0, 199),
        (2, "IPOD2008RED", 1, 199),
        (3, "IPOD2008BLACK", 0, 199),
    ]
    assert {ln.mall_item_code for ln in order.lines} == {"632910392"}
    assert order.buyer.name == "Norman Bob"
    assert order.delivery.address == "Chestnut Street 92, Louisville, Kentucky, 40202, United States"
    assert order.payment_method == "bogus"
    assert order.note.splitlines() == [
        "Shopify注文 #1001",
        "custom engraving: Happy Birthday",
        "colour: green",
    ]
    reviews = "\n".join(order.review)
    for expected in ("USD", "税抜", "一部返金", "海外"):
        assert expected in reviews


def test_order_450789469_without_current_quantity_subtracts_refunded_lines() -> None:
    raw = order_450789469()
    for line in raw["line_items"]:
        del line["current_quantity"]
    assert [ln.quantity for ln in map_order(raw, "Shopify").lines] == [0, 1, 0]


def test_order_1001_yamada_taro_in_tokyo_maps_japanese_name_address_and_phone() -> None:
    shop = FakeShopify(clock=Clock(NOW))
    cup = shop.add_product("信楽焼 湯呑み", [("CUP-SHIGARAKI", "", 3300)])[0]
    raw = shop.add_order([(cup, 2)], buyer=JAPANESE_BUYERS[0], at=NOW, shipping_fee=800)

    order = map_order(raw, "Shopify")

    assert raw["shipping_address"]["name"] == "太郎 山田"  # Shopify's own composition
    assert order.buyer.name == order.delivery.name == "山田 太郎"
    assert order.delivery.postcode == "150-0041"
    assert order.delivery.address == "東京都渋谷区神南1-2-3 渋谷マンション101"  # from province_code JP-13
    assert order.delivery.phone == "090-1234-5678"  # from +81 90-1234-5678
    assert (order.total, order.shipping_fee) == (7400, 800)
    assert order.lines[0].name == "信楽焼 湯呑み"
    assert order.review == ()
    assert order.updated_at == NOW


def test_order_1001_takahashi_misaki_in_fukuoka_folds_full_width_digits() -> None:
    shop = FakeShopify(clock=Clock(NOW))
    cup = shop.add_product("信楽焼 湯呑み", [("CUP-SHIGARAKI", "", 3300)])[0]
    order = map_order(shop.add_order([(cup, 1)], buyer=JAPANESE_BUYERS[3]), "Shopify")

    assert order.delivery.postcode == "810-0001"
    assert order.delivery.phone == "092-123-4567"
    assert order.delivery.address == "福岡県福岡市中央区天神1-1-1 天神ビル5F"


def test_order_1001_suzuki_ichiro_without_phone_or_skus_needs_review() -> None:
    shop = FakeShopify(clock=Clock(NOW))
    blank = shop.add_product("福袋", [("", "", 5000)])[0]
    custom = shop.custom_item("ギフト包装", 300)  # sku null
    order = map_order(shop.add_order([(blank, 1), (custom, 1)], buyer=JAPANESE_BUYERS[2]), "Shopify")

    assert [(ln.seller_sku, ln.mall_sku, ln.mall_item_code) for ln in order.lines] == [
        ("", "", str(blank.product_id)),
        ("", "", ""),
    ]
    assert any("明細1「福袋」にSKUがありません" in r for r in order.review)
    assert any("明細2「ギフト包装」にSKUがありません" in r for r in order.review)
    assert any("電話番号" in r for r in order.review)


def test_cancelled_order_maps_to_cancel_with_zero_quantities() -> None:
    shop = FakeShopify(clock=Clock(NOW))
    cup = shop.add_product("信楽焼 湯呑み", [("CUP-SHIGARAKI", "", 3300)])[0]
    raw = shop.add_order([(cup, 2)], at=T0)
    order = map_order(shop.cancel_order(raw["id"]), "Shopify")

    assert order.status == "キャンセル"
    assert [ln.quantity for ln in order.lines] == [0]
    assert order.total == 7400  # total_price keeps the order as placed


def test_missing_shipping_address_and_buyer_need_review() -> None:
    raw = order_450789469()
    raw.update(
        shipping_address=None, customer=None, billing_address=None, currency="JPY", taxes_included=True
    )
    order = map_order(raw, "Shopify")
    assert "お届け先住所がありません" in order.review
    assert "購入者名がありません" in order.review


@pytest.mark.parametrize(
    ("raw", "status", "has_note"),
    [
        ({"cancelled_at": "2026-11-30T10:00:00+09:00", "financial_status": "refunded"}, "キャンセル", False),
        ({"fulfillment_status": "fulfilled", "financial_status": "paid"}, "出荷済", False),
        ({"financial_status": "refunded"}, "保留", True),
        ({"financial_status": "voided"}, "保留", True),
        ({"fulfillment_status": "partial", "financial_status": "paid"}, "保留", True),
        ({"financial_status": "pending"}, "入金待ち", False),
        ({"financial_status": "partially_refunded"}, "新規", True),
        ({"financial_status": "authorized"}, "新規", False),
        ({"financial_status": "paid"}, "新規", False),
        ({"financial_status": "partially_paid"}, "新規", False),
        ({"financial_status": "expired"}, "保留", True),
    ],
)
def test_status_table(raw: dict, status: str, has_note: bool) -> None:
    assert map_status(raw) == status
    assert bool(status_note(raw)) is has_note


def test_every_status_table_row_is_reachable() -> None:
    cases = [args[0] for args in test_status_table.pytestmark[0].args[1]]
    assert {status_row(raw) for raw in cases} == set(STATUS_TABLE)
    assert "expired" in status_note({"financial_status": "expired"})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("total_price", "3,300円", "金額"),
        ("updated_at", "2026-11-30 14:00", "時差"),
        ("updated_at", None, "日時"),
        ("id", None, "id"),
    ],
)
def test_unreadable_values_raise_payload_error(field: str, value: Any, message: str) -> None:
    raw = copy.deepcopy(order_450789469())
    raw[field] = value
    with pytest.raises(MallPayloadError, match=message):
        map_order(raw, "Shopify")
