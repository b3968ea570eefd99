"""A loopback fake of the Shopify Admin REST API 2024-10: the calls Ichigen's connector makes.

Written from Shopify's REST reference and its published 2024-10 example bodies (order 450789469,
fulfillment orders, fulfillments, inventory_levels/set) so that the connector talks to it over
real HTTP exactly as it would to ``https://{shop}.myshopify.com``. ``base_url`` stands in for
that origin. Timestamps carry the shop's offset (+09:00), money is a string ("3300": JPY has no
minor unit), every response has ``X-Shopify-Shop-Api-Call-Limit: used/40``.

Endpoints (all under ``/admin/api/2024-10/``): ``orders.json`` (status default ``open``,
updated/created/processed_at min/max with any offset, ids, since_id, financial_status,
fulfillment_status, order, fields, limit, Link-header pagination with opaque ``page_info``),
``orders/{id}.json``, ``orders/{id}/fulfillment_orders.json``, ``fulfillments.json`` (POST),
``locations.json``, ``products.json`` (fields, ids, paginated the same way),
``inventory_levels.json`` and ``inventory_levels/set.json`` (POST).

Guesses, kept easy to change (UNVERIFIED: no vendor statement found):

* The exact bodies of 400s (bad limit, bad date, bad page_info) and of the 422s from
  ``inventory_levels/set`` and ``fulfillments``; the fulfillment texts follow public fakes of the
  GraphQL equivalents ("Fulfillment order … has an unfulfillable status= closed.").
* The default ``order`` when none is given (``id desc`` here).
* Province names: JP addresses carry an ISO 3166-2 ``province_code`` ("JP-13") and a romanized
  ``province`` ("Tōkyō"), which is what Japanese merchants report seeing in exports.
* Fulfilled and cancelled orders are archived (``closed_at`` set), as with Shopify's default
  "automatically archive" setting; ``auto_archive = False`` turns that off.
* ``page_overlap`` is a fault knob, not Shopify behaviour: it repeats rows across pages so a
  client's duplicate handling can be tested without an update in between.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from tests.fakes.toolkit.clock import wall_clock
from tests.fakes.toolkit.faults import FaultInjection, Faults
from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.requests_log import Recorded, RequestLog, json_body
from tests.fakes.toolkit.routes import Routes
from tests.fakes.toolkit.server import LoopbackServer

API_VERSION = "2024-10"
API_ROOT = f"/admin/api/{API_VERSION}/"
SHOP_TZ = timezone(timedelta(hours=9), "JST")
DEFAULT_TOKEN = "shpat_ichigen_fake_0123456789abcdef"
SHOP_ID = 548380009
BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
RETRY_AFTER = "2.0"

INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
THROTTLED_BODY = {
    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
}
NOT_FOUND_BODY = {"errors": "Not Found"}
_FAULT_BODIES = {
    500: {"errors": "Internal Server Error"},
    502: {"errors": "Bad Gateway"},
    503: {"errors": "Service Unavailable"},
    504: {"errors": "Gateway Timeout"},
}
_MALFORMED_BODY = (
    b"<!DOCTYPE html><html><head><title>Shopify</title></head>"
    b"<body><h1>There was a problem loading this website</h1></body></html>"
)
# With page_info, only these may accompany it (shopify.dev …/admin-rest/usage/pagination).
_PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
_ORDER_STATUSES = frozenset({"open", "closed", "cancelled", "any"})
_SORTABLE = frozenset({"id", "updated_at", "created_at", "processed_at"})
_DESTINATION_FIELDS = (
    "first_name",
    "last_name",
    "address1",
    "address2",
    "city",
    "province",
    "zip",
    "phone",
    "company",
)


# ------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Buyer:
    """A Japanese customer and their address, as a Japanese checkout stores it."""

    last_name: str  # 姓
    first_name: str  # 名
    zip: str
    province: str  # romanized, see the module docstring
    province_code: str  # ISO 3166-2:JP
    city: str
    address1: str
    address2: str = ""
    phone: str | None = None
    email: str = "buyer@example.jp"


JAPANESE_BUYERS: tuple[Buyer, ...] = (
    Buyer("山田", "太郎", "150-0041", "Tōkyō", "JP-13", "渋谷区", "神南1-2-3", "渋谷マンション101",
          "+81 90-1234-5678", "taro.yamada@example.jp"),
    Buyer("佐藤", "花子", "530-0001", "Ōsaka", "JP-27", "大阪市北区", "梅田2-4-9", "", "06-1234-5678",
          "hanako.sato@example.jp"),
    Buyer("鈴木", "一郎", "060-0001", "Hokkaidō", "JP-01", "札幌市中央区", "北一条西4-1", "", None,
          "ichiro.suzuki@example.jp"),
    Buyer("高橋", "美咲", "８１０－０００１", "Fukuoka", "JP-40", "福岡市中央区", "天神1-1-1", "天神ビル5F",
          "０９２－１２３－４５６７", "misaki.takahashi@example.jp"),
    Buyer("伊藤", "健", "604-8005", "Kyōto", "JP-26", "京都市中京区", "河原町通三条上る恵比須町427", "",
          "075-123-4567", "ken.ito@example.jp"),
)  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """A product variant; ``product_id`` None stands for a custom (non-catalogue) line item."""

    product_id: int | None
    variant_id: int | None
    inventory_item_id: int | None
    sku: str | None
    title: str  # product title
    variant_title: str | None
    price: int  # yen


def money(yen: int) -> str:
    # JPY has no minor unit, so Shopify writes "3300", not "3300.00".
    return str(yen)


def money_set(amount: str, currency: str = "JPY") -> dict:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def shop_time(at: datetime) -> str:
    """A timestamp as REST writes it, in the shop's own offset: "2026-11-30T14:05:00+09:00"."""
    return at.astimezone(SHOP_TZ).replace(microsecond=0).isoformat()


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.strip().replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHOP_TZ)


def _address(buyer: Buyer) -> dict:
    return {
        "first_name": buyer.first_name,
        "last_name": buyer.last_name,
        # Shopify composes `name` first-name first, which reads wrong for Japanese names.
        "name": f"{buyer.first_name} {buyer.last_name}",
        "address1": buyer.address1,
        "address2": buyer.address2,
        "city": buyer.city,
        "province": buyer.province,
        "province_code": buyer.province_code,
        "zip": buyer.zip,
        "country": "Japan",
        "country_code": "JP",
        "phone": buyer.phone,
        "company": None,
        "latitude": None,
        "longitude": None,
    }


# ----------------------------------------------------------------- bookkeeping


class RecordedRequest(Recorded):
    token_header = "X-Shopify-Access-Token"


class _ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def _bad_request(message: Any) -> _ApiError:
    return _ApiError(400, {"errors": message})


def _unprocessable(*messages: str) -> _ApiError:
    return _ApiError(422, {"errors": list(messages)})


def _not_found() -> _ApiError:
    return _ApiError(404, NOT_FOUND_BODY)


class LeakyBucket:
    """Shopify's REST limit: a bucket of 40 calls that leaks 2 per second (Standard plan)."""

    def __init__(self, size: int, leak_per_second: float, clock: Callable[[], float]) -> None:
        self.size = size
        self.leak_per_second = leak_per_second
        self.clock = clock
        self.level = 0.0
        self._at = clock()

    def _leak(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self._at) * self.leak_per_second)
        self._at = now

    def admit(self) -> bool:
        self._leak()
        if self.level + 1 > self.size:
            return False
        self.level += 1
        return True

    def used(self) -> int:
        self._leak()
        return math.ceil(self.level - 1e-9)


# ---------------------------------------------------------------------- server


class FakeShopify(FaultInjection, LoopbackServer):
    """In-memory Shopify shop on 127.0.0.1; see the module docstring for what it covers.

    Faults (``inject``, after the access-token check): 429 comes with Shopify's throttle body
    and ``Retry-After``, 5xx with a short ``{"errors": …}``, "malformed" with an HTML page.
    `paths` are prefixes such as "orders.json" (under the API root) or absolute paths.
    """

    fault_root = API_ROOT
    malformed_page = _MALFORMED_BODY
    thread_name = "fake-shopify"

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        clock: Callable[[], datetime] | None = None,
        bucket_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.access_token = access_token
        # Shop time for updated_at bumps; tests pin it to make timestamps predictable.
        self.clock: Callable[[], datetime] = clock or wall_clock(SHOP_TZ)
        self.bucket = LeakyBucket(BUCKET_SIZE, LEAK_PER_SECOND, bucket_clock)
        self.timeout_delay = 2.0
        self.auto_archive = True
        self.page_overlap = 0
        self.requests = RequestLog()
        self.faults = Faults()
        self._orders: dict[int, dict] = {}
        self._fulfillment_orders: dict[int, dict] = {}
        self._products: dict[int, dict] = {}
        self._inventory_items: dict[int, dict] = {}
        self._levels: dict[tuple[int, int], int] = {}
        self._paging_updates: list[tuple[int, Callable[[], None]]] = []
        self._pages_served = 0
        self._ids: dict[str, int] = {}
        self._next_number = 1001
        self.locations: list[dict] = [
            self._location(61_100_000_001, "旧倉庫（閉鎖）", active=False),
            self._location(61_100_000_002, "本店倉庫", active=True),
        ]
        self._routes = Routes(
            {
                ("GET", "orders.json"): self._list_orders,
                ("GET", "orders/{order_id}.json"): self._get_order,
                ("GET", "orders/{order_id}/fulfillment_orders.json"): self._get_fulfillment_orders,
                ("POST", "fulfillments.json"): self._post_fulfillment,
                ("GET", "locations.json"): self._list_locations,
                ("GET", "products.json"): self._list_products,
                ("GET", "inventory_levels.json"): self._list_levels,
                ("POST", "inventory_levels/set.json"): self._set_level,
            },
            root=API_ROOT,
        )

    # -- catalogue and stock

    @property
    def primary_location_id(self) -> int:
        return next(loc["id"] for loc in self.locations if loc["active"])

    def add_product(self, title: str, variants: Sequence[tuple[str | None, str, int]]) -> list[Variant]:
        """A product with (sku, variant title, price in yen) variants, each with an inventory item.

        A variant title of "" is a single-variant product ("Default Title" in Shopify).
        """
        with self._lock:
            product_id = self._new_id("product", 8_000_000_000_000)
            now = shop_time(self.clock())
            made: list[Variant] = []
            raw_variants = []
            for position, (sku, variant_title, price) in enumerate(variants, start=1):
                variant_id = self._new_id("variant", 44_000_000_000_000)
                item_id = self._new_id("inventory_item", 46_000_000_000_000)
                self._inventory_items[item_id] = {
                    "id": item_id,
                    "sku": sku,
                    "tracked": True,
                    "variant_id": variant_id,
                }
                raw_variants.append(
                    {
                        "id": variant_id,
                        "product_id": product_id,
                        "title": variant_title or "Default Title",
                        "price": money(price),
                        "sku": sku,
                        "position": position,
                        "inventory_policy": "deny",
                        "inventory_management": "shopify",
                        "inventory_item_id": item_id,
                        "inventory_quantity": 0,
                        "option1": variant_title or "Default Title",
                        "requires_shipping": True,
                        "taxable": True,
                        "created_at": now,
                        "updated_at": now,
                        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
                    }
                )
                made.append(
                    Variant(product_id, variant_id, item_id, sku, title, variant_title or None, price)
                )
            self._products[product_id] = {
                "id": product_id,
                "title": title,
                "vendor": "Ichigen テスト商店",
                "product_type": "",
                "status": "active",
                "handle": f"product-{product_id}",
                "created_at": now,
                "updated_at": now,
                "published_at": now,
                "tags": "",
                "variants": raw_variants,
                "options": [
                    {"name": "Title", "position": 1, "values": [v[1] or "Default Title" for v in variants]}
                ],
                "images": [],
                "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
            }
            return made

    @staticmethod
    def custom_item(title: str, price: int, sku: str | None = None) -> Variant:
        """A line item added by hand at checkout or in an order edit: no product, maybe no SKU."""
        return Variant(None, None, None, sku, title, None, price)

    def delete_product(self, product_id: int) -> None:
        with self._lock:
            product = self._products.pop(product_id)
            for variant in product["variants"]:
                self._inventory_items.pop(variant["inventory_item_id"], None)

    def inventory_level(self, inventory_item_id: int, location_id: int | None = None) -> int | None:
        with self._lock:
            return self._levels.get((inventory_item_id, location_id or self.primary_location_id))

    # -- orders

    def add_order(
        self,
        lines: Sequence[tuple[Variant, int]],
        *,
        buyer: Buyer = JAPANESE_BUYERS[0],
        at: datetime | None = None,
        financial_status: str = "paid",
        shipping_fee: int = 800,
        gateway: str = "shopify_payments",
        note: str | None = None,
        note_attributes: Sequence[tuple[str, str]] = (),
    ) -> dict:
        """A web order placed at `at` (default: the clock), with one open fulfillment order."""
        with self._lock:
            at = at or self.clock()
            order_id = self._new_id("order", 5_800_000_000_000)
            number = self._next_number
            self._next_number += 1
            line_items = [self._line_item(variant, quantity) for variant, quantity in lines]
            subtotal = sum(v.price * q for v, q in lines)
            total = subtotal + shipping_fee
            stamp = shop_time(at)
            order = {
                "id": order_id,
                "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
                "name": f"#{number}",
                "number": number - 1000,
                "order_number": number,
                "created_at": stamp,
                "processed_at": stamp,
                "updated_at": stamp,
                "cancelled_at": None,
                "cancel_reason": None,
                "closed_at": None,
                "confirmed": True,
                "test": False,
                "currency": "JPY",
                "presentment_currency": "JPY",
                "customer_locale": "ja",
                "source_name": "web",
                "email": buyer.email,
                "contact_email": buyer.email,
                "phone": None,
                "financial_status": financial_status,
                "fulfillment_status": None,
                "taxes_included": True,
                "subtotal_price": money(subtotal),
                "subtotal_price_set": money_set(money(subtotal)),
                "total_line_items_price": money(subtotal),
                "total_line_items_price_set": money_set(money(subtotal)),
                "total_price": money(total),
                "total_price_set": money_set(money(total)),
                "current_total_price": money(total),
                "current_total_price_set": money_set(money(total)),
                "current_subtotal_price": money(subtotal),
                "current_subtotal_price_set": money_set(money(subtotal)),
                "total_tax": money(total * 10 // 110),  # 消費税10%, included in prices
                "total_tax_set": money_set(money(total * 10 // 110)),
                "total_discounts": "0",
                "total_discounts_set": money_set("0"),
                "total_shipping_price_set": money_set(money(shipping_fee)),
                "total_outstanding": "0" if financial_status == "paid" else money(total),
                "payment_gateway_names": [gateway],
                "note": note,
                "note_attributes": [{"name": k, "value": v} for k, v in note_attributes],
                "tags": "",
                "discount_codes": [],
                "tax_lines": [],
                "customer": self._customer(buyer, at),
                "billing_address": _address(buyer),
                "shipping_address": _address(buyer),
                "line_items": line_items,
                "shipping_lines": self._shipping_lines(shipping_fee),
                "fulfillments": [],
                "refunds": [],
            }
            self._orders[order_id] = order
            self._open_fulfillment_order(order)
            return copy.deepcopy(order)

    def order(self, order_id: int) -> dict:
        with self._lock:
            return copy.deepcopy(self._orders[order_id])

    def order_ids(self) -> list[int]:
        with self._lock:
            return list(self._orders)

    def modify_order(self, order_id: int, *, at: datetime | None = None, **fields: Any) -> dict:
        """Change top-level fields as staff or Shopify would; bumps updated_at."""
        with self._lock:
            order = self._orders[order_id]
            order.update(copy.deepcopy(fields))
            self._touch(order, at)
            return copy.deepcopy(order)

    def set_financial_status(self, order_id: int, status: str, *, at: datetime | None = None) -> dict:
        with self._lock:
            order = self._orders[order_id]
            order["financial_status"] = status
            if status == "paid":
                order["total_outstanding"] = "0"
            self._touch(order, at)
            return copy.deepcopy(order)

    def cancel_order(self, order_id: int, *, reason: str = "customer", at: datetime | None = None) -> dict:
        """Cancel with a full refund (or a voided authorization), restocking every line."""
        with self._lock:
            order = self._orders[order_id]
            now = shop_time(at or self.clock())
            captured = order["financial_status"] in ("paid", "partially_paid", "partially_refunded")
            refund_lines = [
                {"line_item_id": li["id"], "quantity": li["current_quantity"], "restock_type": "cancel"}
                for li in order["line_items"]
                if li["current_quantity"] > 0
            ]
            if captured:
                order["refunds"].append(self._refund(order, refund_lines, now, "注文キャンセル"))
            order["financial_status"] = "refunded" if captured else "voided"
            for line in order["line_items"]:
                line["current_quantity"] = 0
                line["fulfillable_quantity"] = 0
            order["current_total_price"] = "0"
            order["current_total_price_set"] = money_set("0")
            order["cancelled_at"] = now
            order["cancel_reason"] = reason
            order["closed_at"] = now
            for fo in self._order_fulfillment_orders(order_id):
                fo["status"] = "closed"
                fo["updated_at"] = now
                for item in fo["line_items"]:
                    item["fulfillable_quantity"] = 0
            self._touch(order, at)
            return copy.deepcopy(order)

    def refund_line(
        self, order_id: int, line_index: int, quantity: int, *, at: datetime | None = None
    ) -> dict:
        """Refund part of one line (0-based index): current_quantity and fulfillable drop."""
        with self._lock:
            order = self._orders[order_id]
            line = order["line_items"][line_index]
            now = shop_time(at or self.clock())
            refund_line = {"line_item_id": line["id"], "quantity": quantity, "restock_type": "return"}
            order["refunds"].append(self._refund(order, [refund_line], now, "一部返金"))
            line["current_quantity"] -= quantity
            line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - quantity)
            for fo in self._order_fulfillment_orders(order_id):
                for item in fo["line_items"]:
                    if item["line_item_id"] == line["id"]:
                        item["fulfillable_quantity"] = max(0, item["fulfillable_quantity"] - quantity)
            order["financial_status"] = "partially_refunded"
            current = int(order["current_total_price"]) - int(line["price"]) * quantity
            order["current_total_price"] = money(current)
            order["current_total_price_set"] = money_set(money(current))
            self._touch(order, at)
            return copy.deepcopy(order)

    def fulfill_in_admin(self, order_id: int, *, at: datetime | None = None) -> None:
        """Staff mark every open fulfillment order fulfilled in the Shopify admin, no tracking."""
        with self._lock:
            order = self._orders[order_id]
            requests = [
                {"fulfillment_order_id": fo["id"]}
                for fo in self._order_fulfillment_orders(order_id)
                if fo["status"] in ("open", "in_progress")
            ]
            if requests:
                self._create_fulfillment(order, requests, {}, at)

    def fulfillment_orders(self, order_id: int) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._order_fulfillment_orders(order_id))

    def update_during_paging(
        self, order_id: int, *, after_page: int = 1, cancel: bool = False, **fields: Any
    ) -> None:
        """Change an order right after the `after_page`-th orders.json page is served.

        Shopify pages by a keyset over the sort key, so an order updated while a client pages
        by ``updated_at`` comes round again on a later page with its new timestamp (the
        contract's "orders can appear twice across pages" gotcha).
        """

        def change() -> None:
            if cancel:
                self.cancel_order(order_id)
            else:
                self.modify_order(order_id, **fields)

        self.after_pages(after_page, change)

    def after_pages(self, pages: int, action: Callable[[], None]) -> None:
        """Run `action` right after `pages` more orders.json pages are served (e.g. a fault)."""
        with self._lock:
            self._paging_updates.append((self._pages_served + pages, action))

    # -- request accounting

    def count(self, path_prefix: str | None = None, *, method: str | None = None) -> int:
        """Requests seen whose path starts with `path_prefix` (relative to the API root or absolute)."""
        prefix = _absolute(path_prefix) if path_prefix else ""
        return len(self.requests.where(prefix=prefix, method=method))

    def reset_counts(self) -> None:
        self.requests.reset()

    # -- dispatch (called from handler threads)

    def _serve(self, method: str, raw_target: str, headers: Any, raw_body: bytes) -> Reply:
        body, body_error = json_body(raw_body)
        call = self.requests.record(RecordedRequest.of(method, raw_target, headers, body))
        reply = self._answer(call, body_error)
        with self._lock:
            call.status = reply.status
            reply.headers.setdefault("X-Shopify-Shop-Api-Call-Limit", f"{self.bucket.used()}/{BUCKET_SIZE}")
        reply.headers.setdefault("X-Shopify-API-Version", API_VERSION)
        return reply

    def _answer(self, call: RecordedRequest, body_error: str | None) -> Reply:
        if call.token != self.access_token:
            return Reply(401, INVALID_TOKEN_BODY)
        faulted = self._faulted(call.path)
        if faulted is not None:
            return faulted
        with self._lock:
            if not self.bucket.admit():
                return self._throttled()
        if body_error is not None:
            return Reply(400, {"errors": f"Invalid JSON in request body: {body_error}"})
        route = self._routes.match(call.method, call.path)
        try:
            if route is None:
                raise _not_found()
            handler, params = route
            with self._lock:
                return handler(call, **params)
        except _ApiError as err:
            return Reply(err.status, err.body)

    def _fault_reply(self, status: int, key: str) -> Reply:
        if status == 429:
            return self._throttled()
        return Reply(status, _FAULT_BODIES.get(status, {"errors": "Error"}))

    def _bug_reply(self, error: Exception) -> Reply:
        return Reply(500, {"errors": f"fake Shopify bug: {error!r}"})

    @staticmethod
    def _throttled() -> Reply:
        return Reply(
            429,
            THROTTLED_BODY,
            {"Retry-After": RETRY_AFTER, "X-Shopify-Shop-Api-Call-Limit": f"{BUCKET_SIZE}/{BUCKET_SIZE}"},
        )

    # -- listing and pagination

    def _list_orders(self, call: RecordedRequest) -> Reply:
        orders = list(self._orders.values())
        page, link = self._paginate(call.path, call.query, orders, _order_filter, "id desc")
        fields = _fields(call.query)
        reply = Reply(200, {"orders": [_select(o, fields) for o in page]}, _link_headers(link))
        self._pages_served += 1
        self._run_paging_updates()
        return reply

    def _list_products(self, call: RecordedRequest) -> Reply:
        products = list(self._products.values())
        page, link = self._paginate(call.path, call.query, products, _product_filter, "id asc")
        fields = _fields(call.query)
        return Reply(200, {"products": [_select(p, fields) for p in page]}, _link_headers(link))

    def _run_paging_updates(self) -> None:
        due = [change for at, change in self._paging_updates if at <= self._pages_served]
        self._paging_updates = [(at, c) for at, c in self._paging_updates if at > self._pages_served]
        for change in due:
            change()

    def _paginate(
        self,
        path: str,
        query: dict,
        items: list[dict],
        make_filter: Callable[[dict[str, str]], Callable[[dict], bool]],
        default_order: str,
    ) -> tuple[list[dict], str | None]:
        params = {k: v[-1] for k, v in query.items()}
        limit = _limit(params.get("limit"))
        cursor: dict | None = None
        if "page_info" in params:
            extra = sorted(k for k in params if k not in _PAGE_INFO_COMPANIONS)
            if extra:
                raise _bad_request(f"{extra[0]} cannot be passed when page_info is present")
            cursor = _decode_page_info(params["page_info"])
            filters, order = cursor["filters"], cursor["order"]
        else:
            filters = {k: v for k, v in params.items() if k not in ("limit", "fields")}
            order = filters.pop("order", default_order)
        sort_field, descending = _sort_spec(order)
        keep = make_filter(filters)

        def key(item: dict) -> tuple:
            return (_sort_value(item, sort_field), item["id"])

        rows = sorted((i for i in items if keep(i)), key=key, reverse=descending)
        start, end = 0, limit
        if cursor is not None:
            edge = (_sort_value({sort_field: cursor["value"]}, sort_field), cursor["id"])
            # Keyset paging: count the rows that sort before the edge (or at it, going forward).
            if cursor["direction"] == "next":
                seen = sum(1 for r in rows if (key(r) >= edge if descending else key(r) <= edge))
                start = max(0, seen - self.page_overlap)
                end = start + limit
            else:
                end = sum(1 for r in rows if (key(r) > edge if descending else key(r) < edge))
                start = max(0, end - limit)
        page = rows[start:end]
        has_next = end < len(rows)
        has_previous = start > 0
        links = []
        base = {"filters": filters, "order": order}
        extras = {"fields": params["fields"]} if "fields" in params else {}
        if has_previous and page:
            token = _encode_page_info({**base, "direction": "prev", **_edge(page[0], sort_field)})
            links.append(self._link(path, limit, token, extras, "previous"))
        if has_next and page:
            token = _encode_page_info({**base, "direction": "next", **_edge(page[-1], sort_field)})
            links.append(self._link(path, limit, token, extras, "next"))
        return copy.deepcopy(page), ", ".join(links) or None

    def _link(self, path: str, limit: int, token: str, extras: dict, rel: str) -> str:
        query = urlencode({"limit": limit, "page_info": token, **extras})
        return f'<{self.base_url}{path}?{query}>; rel="{rel}"'

    # -- single resources

    def _get_order(self, call: RecordedRequest, order_id: str) -> Reply:
        return Reply(200, {"order": _select(self._find_order(order_id), _fields(call.query))})

    def _get_fulfillment_orders(self, call: RecordedRequest, order_id: str) -> Reply:
        order = self._find_order(order_id)
        return Reply(200, {"fulfillment_orders": copy.deepcopy(self._order_fulfillment_orders(order["id"]))})

    def _list_locations(self, call: RecordedRequest) -> Reply:
        return Reply(200, {"locations": copy.deepcopy(self.locations)})

    def _find_order(self, raw_id: str) -> dict:
        try:
            return self._orders[int(raw_id)]
        except (KeyError, ValueError):
            raise _not_found() from None

    def _list_levels(self, call: RecordedRequest) -> Reply:
        items = _id_list(call.query, "inventory_item_ids")
        locations = _id_list(call.query, "location_ids")
        if not items and not locations:
            raise _bad_request("inventory_item_ids or location_ids must be present")
        if len(items) > 50 or len(locations) > 50:  # each id list holds at most 50 (contract §9)
            raise _bad_request("inventory_item_ids and location_ids accept at most 50 ids")
        levels = [
            self._level_json(item, location, available)
            for (item, location), available in self._levels.items()
            if (not items or item in items) and (not locations or location in locations)
        ]
        return Reply(200, {"inventory_levels": levels})

    def _set_level(self, call: RecordedRequest) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        for name in ("location_id", "inventory_item_id", "available"):
            if not isinstance(body.get(name), int) or isinstance(body.get(name), bool):
                raise _bad_request({name: "Required parameter missing or invalid"})
        item_id, location_id, available = body["inventory_item_id"], body["location_id"], body["available"]
        if item_id not in self._inventory_items:
            raise _unprocessable("Inventory item does not exist")
        if not any(loc["id"] == location_id and loc["active"] for loc in self.locations):
            raise _unprocessable("Location does not exist or is not active")
        self._levels[(item_id, location_id)] = available
        self._sync_variant_quantity(item_id)
        return Reply(200, {"inventory_level": self._level_json(item_id, location_id, available)})

    def _level_json(self, item_id: int, location_id: int, available: int) -> dict:
        return {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": available,
            "updated_at": shop_time(self.clock()),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
        }

    def _sync_variant_quantity(self, item_id: int) -> None:
        total = sum(v for (item, _), v in self._levels.items() if item == item_id)
        for product in self._products.values():
            for variant in product["variants"]:
                if variant["inventory_item_id"] == item_id:
                    variant["inventory_quantity"] = total

    # -- fulfillment

    def _post_fulfillment(self, call: RecordedRequest) -> Reply:
        request = call.body.get("fulfillment") if isinstance(call.body, dict) else None
        if not isinstance(request, dict):
            raise _bad_request({"fulfillment": "Required parameter missing or invalid"})
        groups = request.get("line_items_by_fulfillment_order")
        if not isinstance(groups, list) or not groups:
            raise _bad_request({"line_items_by_fulfillment_order": "Required parameter missing or invalid"})
        fos = []
        for group in groups:
            fo = self._fulfillment_orders.get(
                group.get("fulfillment_order_id") if isinstance(group, dict) else None
            )
            if fo is None:
                raise _not_found()
            fos.append(fo)
        if len({fo["order_id"] for fo in fos}) > 1:
            raise _unprocessable("All fulfillment orders must belong to the same order.")
        if len({fo["assigned_location_id"] for fo in fos}) > 1:
            raise _unprocessable("All fulfillment orders must be assigned to the same location.")
        order = self._orders[fos[0]["order_id"]]
        fulfillment = self._create_fulfillment(order, groups, request, None)
        return Reply(201, {"fulfillment": fulfillment})

    def _create_fulfillment(
        self, order: dict, groups: list[dict], request: dict, at: datetime | None
    ) -> dict:
        plan = [self._plan_group(group) for group in groups]  # validate everything before changing anything
        now = shop_time(at or self.clock())
        shipped: dict[int, int] = {}
        for fo, quantities in plan:
            for item in fo["line_items"]:
                take = quantities.get(item["id"], 0)
                item["fulfillable_quantity"] -= take
                shipped[item["line_item_id"]] = shipped.get(item["line_item_id"], 0) + take
            fo["status"] = (
                "closed" if all(i["fulfillable_quantity"] == 0 for i in fo["line_items"]) else "in_progress"
            )
            fo["updated_at"] = now
        for line in order["line_items"]:
            if line["id"] in shipped:
                line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - shipped[line["id"]])
                line["fulfillment_status"] = "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
        tracking = request.get("tracking_info") or {}
        fulfillment_id = self._new_id("fulfillment", 5_200_000_000_000)
        number, url = tracking.get("number"), tracking.get("url")
        fulfillment = {
            "id": fulfillment_id,
            "order_id": order["id"],
            "status": "success",
            "created_at": now,
            "updated_at": now,
            "service": "manual",
            "location_id": plan[0][0]["assigned_location_id"],
            "tracking_company": tracking.get("company"),
            "tracking_number": number,
            "tracking_numbers": [number] if number else [],
            "tracking_url": url,
            "tracking_urls": [url] if url else [],
            "shipment_status": None,
            "line_items": [copy.deepcopy(li) for li in order["line_items"] if li["id"] in shipped],
            "receipt": {},
            "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        }
        order["fulfillments"].append(fulfillment)
        remaining = [fo for fo in self._order_fulfillment_orders(order["id"]) if fo["status"] != "closed"]
        order["fulfillment_status"] = "partial" if remaining else "fulfilled"
        if not remaining and self.auto_archive:
            order["closed_at"] = now
        self._touch(order, at)
        return copy.deepcopy(fulfillment)

    def _plan_group(self, group: dict) -> tuple[dict, dict[int, int]]:
        fo = self._fulfillment_orders[group["fulfillment_order_id"]]
        if fo["status"] not in ("open", "in_progress"):
            raise _unprocessable(f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status']}.")
        wanted = group.get("fulfillment_order_line_items")
        if not wanted:  # no line items: everything still fulfillable on this fulfillment order
            return fo, {i["id"]: i["fulfillable_quantity"] for i in fo["line_items"]}
        by_id = {i["id"]: i for i in fo["line_items"]}
        quantities: dict[int, int] = {}
        for entry in wanted:
            item = by_id.get(entry.get("id")) if isinstance(entry, dict) else None
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            if (
                item is None
                or not isinstance(quantity, int)
                or not 0 < quantity <= item["fulfillable_quantity"]
            ):
                raise _unprocessable("Invalid fulfillment order line item quantity requested.")
            quantities[item["id"]] = quantities.get(item["id"], 0) + quantity
        return fo, quantities

    # -- builders

    def _new_id(self, kind: str, base: int) -> int:
        self._ids[kind] = self._ids.get(kind, base) + 1
        return self._ids[kind]

    def _touch(self, order: dict, at: datetime | None) -> None:
        order["updated_at"] = shop_time(at or self.clock())

    def _order_fulfillment_orders(self, order_id: int) -> list[dict]:
        return [fo for fo in self._fulfillment_orders.values() if fo["order_id"] == order_id]

    @staticmethod
    def _location(location_id: int, name: str, *, active: bool) -> dict:
        return {
            "id": location_id,
            "name": name,
            "address1": "神南1-19-11",
            "address2": "",
            "city": "渋谷区",
            "zip": "150-0041",
            "province": "Tōkyō",
            "province_code": "JP-13",
            "country": "JP",
            "country_code": "JP",
            "country_name": "Japan",
            "phone": "03-0000-0000",
            "active": active,
            "legacy": False,
            "created_at": "2024-04-01T09:00:00+09:00",
            "updated_at": "2024-04-01T09:00:00+09:00",
            "admin_graphql_api_id": f"gid://shopify/Location/{location_id}",
        }

    def _customer(self, buyer: Buyer, at: datetime) -> dict:
        customer_id = self._new_id("customer", 7_000_000_000_000)
        return {
            "id": customer_id,
            "email": buyer.email,
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "phone": None,
            "state": "enabled",
            "currency": "JPY",
            "tax_exempt": False,
            "created_at": shop_time(at),
            "updated_at": shop_time(at),
            "default_address": {**_address(buyer), "id": customer_id, "default": True},
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        }

    def _line_item(self, variant: Variant, quantity: int) -> dict:
        line_id = self._new_id("line_item", 13_000_000_000_000)
        name = f"{variant.title} - {variant.variant_title}" if variant.variant_title else variant.title
        return {
            "id": line_id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
            "product_id": variant.product_id,
            "variant_id": variant.variant_id,
            "sku": variant.sku,
            "title": variant.title,
            "variant_title": variant.variant_title,
            "name": name,
            "quantity": quantity,
            "current_quantity": quantity,
            "fulfillable_quantity": quantity,
            "fulfillment_status": None,
            "fulfillment_service": "manual",
            "price": money(variant.price),
            "price_set": money_set(money(variant.price)),
            "total_discount": "0",
            "total_discount_set": money_set("0"),
            "requires_shipping": True,
            "taxable": True,
            "gift_card": False,
            "grams": 200,
            "product_exists": variant.product_id is not None,
            "vendor": "Ichigen テスト商店",
            "properties": [],
            "tax_lines": [],
            "discount_allocations": [],
            "duties": [],
        }

    def _shipping_lines(self, fee: int) -> list[dict]:
        title = "送料無料" if fee == 0 else "通常配送"
        return [
            {
                "id": self._new_id("shipping_line", 3_900_000_000_000),
                "title": title,
                "code": title,
                "source": "shopify",
                "price": money(fee),
                "price_set": money_set(money(fee)),
                "discounted_price": money(fee),
                "discounted_price_set": money_set(money(fee)),
                "carrier_identifier": None,
                "phone": None,
                "tax_lines": [],
                "discount_allocations": [],
            }
        ]

    def _refund(self, order: dict, refund_lines: list[dict], now: str, note: str) -> dict:
        refund_id = self._new_id("refund", 9_100_000_000_000)
        items = []
        for entry in refund_lines:
            line = next(li for li in order["line_items"] if li["id"] == entry["line_item_id"])
            subtotal = money(int(line["price"]) * entry["quantity"])
            items.append(
                {
                    "id": self._new_id("refund_line", 9_200_000_000_000),
                    "line_item_id": line["id"],
                    "quantity": entry["quantity"],
                    "restock_type": entry["restock_type"],
                    "location_id": self.primary_location_id,
                    "subtotal": int(subtotal),
                    "subtotal_set": money_set(subtotal),
                    "line_item": copy.deepcopy(line),
                }
            )
        return {
            "id": refund_id,
            "order_id": order["id"],
            "created_at": now,
            "processed_at": now,
            "note": note,
            "restock": True,
            "refund_line_items": items,
            "transactions": [],
            "order_adjustments": [],
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        }

    def _open_fulfillment_order(self, order: dict) -> None:
        fo_id = self._new_id("fulfillment_order", 6_100_000_000_000)
        location = next(loc for loc in self.locations if loc["id"] == self.primary_location_id)
        items = [
            {
                "id": self._new_id("fulfillment_order_line", 6_200_000_000_000),
                "shop_id": SHOP_ID,
                "fulfillment_order_id": fo_id,
                "quantity": li["quantity"],
                "line_item_id": li["id"],
                "inventory_item_id": self._inventory_item_for(li["variant_id"]),
                "fulfillable_quantity": li["quantity"],
                "variant_id": li["variant_id"],
            }
            for li in order["line_items"]
            if li["requires_shipping"]
        ]
        shipping = order["shipping_address"]
        destination = {k: shipping.get(k) for k in _DESTINATION_FIELDS}
        destination.update(id=fo_id, country="Japan", email=order["email"])
        self._fulfillment_orders[fo_id] = {
            "id": fo_id,
            "shop_id": SHOP_ID,
            "order_id": order["id"],
            "assigned_location_id": location["id"],
            "request_status": "unsubmitted",
            "status": "open",
            "supported_actions": ["create_fulfillment", "hold", "move"],
            "destination": destination,
            "line_items": items,
            "fulfill_at": None,
            "fulfill_by": None,
            "international_duties": None,
            "fulfillment_holds": [],
            "delivery_method": {"method_type": "shipping"},
            "created_at": order["created_at"],
            "updated_at": order["created_at"],
            "assigned_location": {
                "location_id": location["id"],
                "name": location["name"],
                "address1": location["address1"],
                "address2": None,
                "city": location["city"],
                "province": location["province"],
                "zip": location["zip"],
                "country_code": "JP",
                "phone": location["phone"],
            },
            "merchant_requests": [],
        }

    def _inventory_item_for(self, variant_id: int | None) -> int | None:
        for item in self._inventory_items.values():
            if item["variant_id"] == variant_id and variant_id is not None:
                return item["id"]
        return None


# -------------------------------------------------------------------- helpers


def _absolute(path: str) -> str:
    return path if path.startswith("/") else API_ROOT + path


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _bad_request({"limit": "Expected Integer"}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad_request({"limit": f"must be between 1 and {MAX_LIMIT}"})
    return limit


def _fields(query: dict) -> list[str] | None:
    raw = query.get("fields", [""])[-1]
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return names or None


def _select(item: dict, fields: list[str] | None) -> dict:
    if fields is None:
        return copy.deepcopy(item)
    return {k: copy.deepcopy(item[k]) for k in fields if k in item}


def _sort_spec(order: str) -> tuple[str, bool]:
    name, _, direction = order.strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    if name not in _SORTABLE or direction not in ("asc", "desc"):
        raise _bad_request({"order": f"Invalid value: {order}"})
    return name, direction == "desc"


def _sort_value(item: dict, name: str) -> Any:
    value = item.get(name)
    return value if name == "id" else _parse_time(value)


def _edge(item: dict, sort_field: str) -> dict:
    return {"id": item["id"], "value": item[sort_field]}


def _encode_page_info(state: dict) -> str:
    # Opaque to clients, like Shopify's (which is base64 JSON with direction and last_id too).
    raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_info(token: str) -> dict:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not {"direction", "id", "value", "filters", "order"} <= state.keys():
            raise ValueError(token)
    except ValueError:
        raise _bad_request({"page_info": "Invalid value."}) from None
    return state


def _link_headers(link: str | None) -> dict[str, str]:
    return {"Link": link} if link else {}


def _id_list(query: dict, name: str) -> set[int]:
    raw = query.get(name, [""])[-1]
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise _bad_request({name: "Expected a comma-separated list of integers"}) from None


def _time_param(filters: dict[str, str], name: str) -> datetime | None:
    raw = filters.get(name)
    if raw is None or raw == "":
        return None
    try:
        return _parse_time(raw)
    except ValueError:
        raise _bad_request({name: f"Invalid date: {raw}"}) from None


def _between(value: str | None, low: datetime | None, high: datetime | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    at = _parse_time(value)
    return (low is None or at >= low) and (high is None or at <= high)


def _order_filter(filters: dict[str, str]) -> Callable[[dict], bool]:
    status = filters.get("status", "open")  # Shopify's default: closed and cancelled are hidden
    if status not in _ORDER_STATUSES:
        raise _bad_request({"status": f"Invalid value: {status}"})
    windows = {
        name: (_time_param(filters, f"{name}_min"), _time_param(filters, f"{name}_max"))
        for name in ("updated_at", "created_at", "processed_at")
    }
    ids = _id_list({"ids": [filters.get("ids", "")]}, "ids")
    since_id = int(filters["since_id"]) if filters.get("since_id", "").isdigit() else None
    financial = filters.get("financial_status", "any")
    fulfillment = filters.get("fulfillment_status", "any")

    def keep(order: dict) -> bool:
        if status == "open" and (order["closed_at"] or order["cancelled_at"]):
            return False
        if status == "closed" and not order["closed_at"]:
            return False
        if status == "cancelled" and not order["cancelled_at"]:
            return False
        if ids and order["id"] not in ids:
            return False
        if since_id is not None and order["id"] <= since_id:
            return False
        if financial != "any" and order["financial_status"] != financial:
            return False
        if not _fulfillment_matches(fulfillment, order["fulfillment_status"]):
            return False
        return all(_between(order.get(name), low, high) for name, (low, high) in windows.items())

    return keep


def _fulfillment_matches(wanted: str, actual: str | None) -> bool:
    return {
        "any": True,
        "shipped": actual == "fulfilled",
        "partial": actual == "partial",
        "unshipped": actual is None,
        "unfulfilled": actual in (None, "partial"),
    }.get(wanted, True)


def _product_filter(filters: dict[str, str]) -> Callable[[dict], bool]:
    ids = _id_list({"ids": [filters.get("ids", "")]}, "ids")
    return lambda product: not ids or product["id"] in ids
