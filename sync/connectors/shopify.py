"""Shopify through the Admin REST API (2024-10): orders in, stock levels and shipments out.

Vendor facts this module relies on (Shopify's REST reference, usage pages and published 2024-10
example bodies; see ../shared/contracts/README.md §1 in the development workspace):

- Every call carries ``X-Shopify-Access-Token``; a custom app's token works for REST.
- ``GET orders.json`` shows only *open* orders unless ``status=any`` is sent.
- Pagination is by ``Link`` header with an opaque ``page_info``; a page_info request may carry
  only ``page_info``, ``limit`` and ``fields`` (filters alongside it are refused with a 400).
- Rate limit: a leaky bucket of 40 calls leaking 2/s (Standard plan); every answer says
  ``X-Shopify-Shop-Api-Call-Limit: used/40``; over the limit: 429 with ``Retry-After: 2.0``.
- Orders updated while a client pages by ``updated_at`` can come round again on a later page.
- Shipping goes through fulfillment orders: ``orders/{id}/fulfillment_orders.json`` then
  ``POST fulfillments.json`` with ``line_items_by_fulfillment_order``.
- Stock is set per inventory item and location (``inventory_levels/set.json``); SKUs live on
  variants, which name their ``inventory_item_id``.
- Live stock (reconciliation): ``GET inventory_levels.json?inventory_item_ids=…&location_ids=…``
  answers ``{"inventory_levels": [{inventory_item_id, location_id, available, updated_at}]}``;
  at least one of the two id lists is required and each holds at most 50 ids (Shopify's
  InventoryLevel REST reference and the shopify-api-ruby 2024-10 test bodies, contract §9). An
  item not stocked at the location has no level there. Same leaky bucket as every REST call.

Ichigen's 注文番号 for a Shopify order is its numeric REST id (``450789469``), which every
endpoint addresses directly; the ``#1001`` name staff see in the admin is kept in 備考.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests
from pydantic import Field, SecretStr

from sync.connectors import live as live_read
from sync.connectors.base import ORDER_PROBLEMS, ChannelSettings, OrderPage, held_cursor, skipped_order
from sync.connectors.http import MallHttp, TokenBucket, json_body
from sync.connectors.values import decimal_yen
from sync.errors import (
    MallAuthError,
    MallPayloadError,
    MallRejected,
    SyncError,
)
from sync.models import (
    Address,
    Carrier,
    ListingRef,
    LiveQuantity,
    Order,
    OrderLine,
    PushResult,
    Shipment,
    StockLevel,
)
from vocabulary.jst import JST
from vocabulary.retry import RetryPolicy
from vocabulary.statuses import OrderStatus

# A first run (no cursor yet) looks this far back from `until`.
FIRST_RUN_LOOKBACK = timedelta(days=30)
# inventory_levels.json takes at most 50 inventory_item_ids a call (contract §9).
LEVEL_IDS_MAX = 50
# Re-read the catalogue for an unknown SKU at most this often (staff may have just added it).
CATALOGUE_REFRESH_SECONDS = 600.0

# Only what map_order reads: a 250-order page of full orders runs to megabytes.
ORDER_FIELDS = ",".join(
    (
        "id",
        "name",
        "created_at",
        "processed_at",
        "updated_at",
        "cancelled_at",
        "financial_status",
        "fulfillment_status",
        "currency",
        "taxes_included",
        "total_price",
        "shipping_lines",
        "line_items",
        "refunds",
        "customer",
        "billing_address",
        "shipping_address",
        "phone",
        "note",
        "note_attributes",
        "payment_gateway_names",
    )
)

# Shopify's tracking-company names (capitalisation matters): for these it builds the tracking
# URL itself. The "(JA)" names were seen in third-party copies of Shopify's carrier list and in
# Japanese apps' code, not read on shopify.dev's own list: UNVERIFIED against the vendor page.
# 西濃運輸 and 福山通運 were not found on the list; Shopify accepts any company text, so staff and
# buyers see the Japanese name, without a link.
TRACKING_COMPANIES: Mapping[str, str | None] = {
    "ヤマト運輸": "Yamato (JA)",
    "佐川急便": "Sagawa (JA)",
    "日本郵便": "Japan Post (JA)",
    "西濃運輸": "西濃運輸",
    "福山通運": "福山通運",
    "その他": None,
}

# How a Shopify order becomes an Ichigen ステータス. First matching row wins. A condition is
# "<field> is set" or "<field> = <value>[ | <value>…]" on the order JSON; "otherwise" always
# matches. The note, when not empty, goes to the order's 要確認 reasons.
STATUS_TABLE: tuple[tuple[str, OrderStatus, str], ...] = (
    ("cancelled_at is set", "キャンセル", ""),
    ("fulfillment_status = fulfilled", "出荷済", ""),
    (
        "financial_status = refunded",
        "保留",
        "Shopifyで全額返金されていますが、注文はキャンセルされていません。出荷してよいか確認してください",
    ),
    (
        "financial_status = voided",
        "保留",
        "Shopifyで決済が取り消されていますが、注文はキャンセルされていません。出荷してよいか確認してください",
    ),
    (
        "fulfillment_status = partial",
        "保留",
        "Shopifyで一部の明細だけ出荷済みです。残りの出荷と在庫の引当を確認してください",
    ),
    ("financial_status = pending", "入金待ち", ""),
    (
        "financial_status = partially_refunded",
        "新規",
        "Shopifyで一部返金されています。明細の数量と金額を確認してください",
    ),
    ("financial_status = authorized | paid | partially_paid", "新規", ""),
    (
        "otherwise",
        "保留",
        "Shopifyの支払状況「{financial_status}」は対応表にありません。Shopifyの管理画面で確認してください",
    ),
)

# ISO 3166-2:JP codes in their official order, 01 北海道 … 47 沖縄県.
_PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県",
    "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
PREFECTURE_BY_CODE: Mapping[str, str] = {f"JP-{i:02d}": name for i, name in enumerate(_PREFECTURES, start=1)}


class Settings(ChannelSettings):
    """``[malls.<channel>]`` with ``type = "shopify"``."""

    type: Literal["shopify"]
    mall: str = "Shopify"
    # The shop's admin origin, e.g. "https://example.myshopify.com".
    base_url: str = Field(pattern=r"^https?://\S+$")
    # A custom app's Admin API access token ("shpat_…"): read_orders, write_inventory,
    # write_merchant_managed_fulfillment_orders (+ read_all_orders for orders over 60 days).
    access_token: SecretStr
    api_version: str = "2024-10"
    # Where stock is set; empty means the first active location from /locations.json.
    location_id: int | None = None
    page_size: int = Field(250, ge=1, le=250)
    calls_per_second: float = Field(2.0, gt=0)
    bucket_size: int = Field(40, ge=1)
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0)
    # Shopify emails the buyer its shipping confirmation (発送通知) with the tracking number.
    notify_customer: bool = True


# --------------------------------------------------------------------- mapping


def map_status(raw: Mapping[str, Any]) -> OrderStatus:
    """The Ichigen ステータス of a Shopify order, by ``STATUS_TABLE``."""
    return status_row(raw)[1]


def status_note(raw: Mapping[str, Any]) -> str:
    """The 要確認 reason ``STATUS_TABLE`` attaches to this order, or ""."""
    note = status_row(raw)[2]
    return note.format(financial_status=raw.get("financial_status") or "")


def status_row(raw: Mapping[str, Any]) -> tuple[str, OrderStatus, str]:
    """The first ``STATUS_TABLE`` row whose condition holds for this order."""
    return next(row for row in STATUS_TABLE if _condition_holds(row[0], raw))


def _condition_holds(condition: str, raw: Mapping[str, Any]) -> bool:
    if condition == "otherwise":
        return True
    if condition.endswith(" is set"):
        return bool(raw.get(condition.removesuffix(" is set")))
    name, _, values = condition.partition(" = ")
    return str(raw.get(name) or "") in {v.strip() for v in values.split("|")}


def map_order(raw: Mapping[str, Any], mall: str) -> Order:
    """A Shopify REST order (2024-10 shape) as Ichigen's canonical Order. Pure."""
    order_id = raw.get("id")
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise MallPayloadError(f"{mall}の注文データに id がありません")
    review: list[str] = []
    currency = raw.get("currency") or "JPY"
    if currency != "JPY":
        # Ichigen keeps whole yen; a shop in another currency needs a person to convert.
        review.append(f"通貨が{currency}の注文です（円に換算していません）")
    if raw.get("taxes_included") is False:
        review.append("商品価格が税抜の注文です（Shopifyの税設定を確認してください）")
    note = status_note(raw)
    if note:
        review.append(note)
    buyer = _buyer(raw, review)
    delivery = _delivery(raw, review)
    lines = _lines(raw, review)
    return Order(
        mall=mall,
        order_number=str(order_id),
        # processed_at is the order date the admin shows (differs from created_at for imports).
        ordered_at=_time(raw.get("processed_at") or raw.get("created_at"), "processed_at", mall),
        updated_at=_time(raw.get("updated_at"), "updated_at", mall),
        status=map_status(raw),
        payment_method="、".join(str(g) for g in raw.get("payment_gateway_names") or () if g),
        buyer=buyer,
        delivery=delivery,
        # total_price: the order total as placed, 送料 and tax included (money is a string).
        total=_yen(raw.get("total_price"), "total_price", mall),
        # shipping_lines[].price: what the buyer was charged per shipping line, before discounts.
        shipping_fee=sum(
            _yen(s.get("price"), "shipping_lines.price", mall) for s in raw.get("shipping_lines") or ()
        ),
        note=_note(raw),
        lines=lines,
        review=tuple(dict.fromkeys(review)),
    )


def _yen(value: Any, what: str, mall: str = "Shopify") -> int:
    """Shopify money is a decimal string ("3300", "598.94"); Ichigen keeps whole yen."""
    return decimal_yen(value, what, mall)


def _time(value: Any, what: str, mall: str = "Shopify") -> datetime:
    """REST timestamps carry the shop's offset ("…-05:00", "…+09:00"); Ichigen works in JST."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise MallPayloadError(f"{mall}の日時「{value}」（{what}）を読めません") from None
    if parsed.tzinfo is None:
        raise MallPayloadError(f"{mall}の日時「{value}」（{what}）に時差がありません")
    return parsed.astimezone(JST)


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _japanese_name(first: Any, last: Any, fallback: Any = "") -> str:
    # Shopify splits names into first/last and composes "first last"; Japanese reads 姓 名.
    parts = [p for p in (_text(last), _text(first)) if p]
    return " ".join(parts) or _text(fallback)


def _domestic_phone(value: Any) -> str:
    """Phones may be typed in full width or stored as +81…; labels want 0X0-…"""
    text = unicodedata.normalize("NFKC", _text(value))
    if text.startswith("+81"):
        text = "0" + text.removeprefix("+81").lstrip(" -")
    return text


def _prefecture(address: Mapping[str, Any]) -> str:
    # JP addresses carry an ISO province_code ("JP-13"); `province` may be romanized ("Tōkyō").
    return PREFECTURE_BY_CODE.get(_text(address.get("province_code"))) or _text(address.get("province"))


def _address_text(address: Mapping[str, Any]) -> str:
    country = _text(address.get("country_code")) or "JP"
    if country != "JP":
        parts = (address.get(k) for k in ("address1", "address2", "city", "province", "zip", "country"))
        return ", ".join(t for t in map(_text, parts) if t)
    # Japanese order: 都道府県, 市区町村, 番地, then building and company after a space.
    head = _prefecture(address) + _text(address.get("city")) + _text(address.get("address1"))
    tail = [t for t in (_text(address.get("address2")), _text(address.get("company"))) if t]
    return " ".join([head, *tail]).strip()


def _postcode(address: Mapping[str, Any]) -> str:
    return unicodedata.normalize("NFKC", _text(address.get("zip")))


def _buyer(raw: Mapping[str, Any], review: list[str]) -> Address:
    customer = raw.get("customer") or {}
    billing = raw.get("billing_address") or {}
    name = _japanese_name(customer.get("first_name"), customer.get("last_name")) or _japanese_name(
        billing.get("first_name"), billing.get("last_name"), billing.get("name")
    )
    if not name:
        review.append("購入者名がありません")
    phone = billing.get("phone") or raw.get("phone") or customer.get("phone")
    return Address(
        name=name,
        postcode=_postcode(billing),
        address=_address_text(billing) if billing else "",
        phone=_domestic_phone(phone),
        # Shopify puts the buyer's address on the order itself (and on its customer).
        email=str(raw.get("email") or raw.get("contact_email") or customer.get("email") or ""),
    )


def _delivery(raw: Mapping[str, Any], review: list[str]) -> Address:
    shipping = raw.get("shipping_address")
    needs_shipping = any(li.get("requires_shipping", True) for li in raw.get("line_items") or ())
    if not shipping:
        if needs_shipping:
            review.append("お届け先住所がありません")
        return Address()
    address = _address_text(shipping)
    if needs_shipping and not (_text(shipping.get("address1")) and _text(shipping.get("zip"))):
        review.append("お届け先の住所または郵便番号が空です")
    country = _text(shipping.get("country_code")) or "JP"
    if country != "JP":
        review.append(f"海外のお届け先です（{_text(shipping.get('country')) or country}）")
    # The shipping address phone may be null; the order's own phone is the next best.
    phone = _domestic_phone(shipping.get("phone") or raw.get("phone"))
    if needs_shipping and not phone:
        review.append("お届け先の電話番号がありません（送り状に必要です）")
    return Address(
        name=_japanese_name(shipping.get("first_name"), shipping.get("last_name"), shipping.get("name")),
        postcode=_postcode(shipping),
        address=address,
        phone=phone,
    )


def _refunded_quantities(raw: Mapping[str, Any]) -> dict[Any, int]:
    refunded: dict[Any, int] = {}
    for refund in raw.get("refunds") or ():
        for item in refund.get("refund_line_items") or ():
            key = item.get("line_item_id")
            refunded[key] = refunded.get(key, 0) + int(item.get("quantity") or 0)
    return refunded


def _line_quantity(line: Mapping[str, Any], refunded: Mapping[Any, int]) -> int:
    # fulfillable_quantity also drops to 0 once shipped, so it cannot say what was bought;
    # current_quantity is quantity after removals and refunds (older payloads lack it).
    current = line.get("current_quantity")
    if isinstance(current, int) and not isinstance(current, bool):
        return max(0, current)
    return max(0, int(line.get("quantity") or 0) - refunded.get(line.get("id"), 0))


def _lines(raw: Mapping[str, Any], review: list[str]) -> tuple[OrderLine, ...]:
    refunded = _refunded_quantities(raw)
    lines = []
    for number, line in enumerate(raw.get("line_items") or (), start=1):
        # sku may be null (custom items) or "" (variant without a SKU).
        sku = _text(line.get("sku"))
        name = _text(line.get("name")) or _text(line.get("title"))
        quantity = _line_quantity(line, refunded)
        if not sku and quantity > 0:
            review.append(f"明細{number}「{name}」にSKUがありません。商品の対応を確認してください")
        product_id = line.get("product_id")
        lines.append(
            OrderLine(
                line_number=number,
                mall_item_code=str(product_id) if product_id is not None else "",
                mall_sku=sku,
                seller_sku=sku,
                name=name,
                quantity=quantity,
                unit_price=_yen(line.get("price"), "line_items.price"),
            )
        )
    return tuple(lines)


def _note(raw: Mapping[str, Any]) -> str:
    # Delivery-date apps for Japanese shops put 配送希望日時 in note_attributes.
    attributes = [
        f"{_text(a.get('name'))}: {_text(a.get('value'))}"
        for a in raw.get("note_attributes") or ()
        if isinstance(a, Mapping) and _text(a.get("name"))
    ]
    parts = [f"Shopify注文 {raw['name']}" if raw.get("name") else "", _text(raw.get("note")), *attributes]
    return "\n".join(p for p in parts if p)


# ------------------------------------------------------------------- connector


class _Unresolved(Exception):
    """A stock level whose SKU cannot be matched to exactly one Shopify inventory item."""


@dataclass(frozen=True)
class _CatalogueEntry:
    product_id: int
    inventory_item_id: int


class Connector:
    """Shopify over REST; one instance per ``[malls.<channel>]`` section."""

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: requests.Session,
        project_root: Path,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,  # accepted for the registry; `until` is enough
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.mall = settings.mall
        self.display_name = settings.display_name or settings.mall
        self.settings = settings
        self._api = f"/admin/api/{settings.api_version}"
        self._monotonic = monotonic
        self._location_id = settings.location_id
        self._catalogue: dict[str, list[_CatalogueEntry]] | None = None
        self._catalogue_read_at = 0.0
        self._http = MallHttp(
            mall=settings.mall,
            base_url=settings.base_url.rstrip("/"),
            session=session,
            bucket=TokenBucket(settings.calls_per_second, settings.bucket_size, clock=monotonic, sleep=sleep),
            policy=RetryPolicy(max_retries=settings.max_retries),
            timeout=settings.timeout_seconds,
            sleep=sleep,
            headers={
                "X-Shopify-Access-Token": settings.access_token.get_secret_value(),
                "Accept": "application/json",
            },
        )

    # -- orders

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """Orders updated in [since, until], oldest change first, one OrderPage per REST page.

        The cursor is the newest ``updated_at`` seen so far (ISO, JST). An order seen again
        later in the same run is yielded again only if Shopify has a newer version (it was
        updated while we paged); an identical repeat is dropped.
        """
        until = until if until.tzinfo else until.replace(tzinfo=JST)
        start = self._parse_cursor(since) if since else until - FIRST_RUN_LOOKBACK
        params: dict[str, Any] = {
            "status": "any",  # the default, "open", hides cancelled and archived orders
            "updated_at_min": _iso(start),
            "updated_at_max": _iso(until),
            "order": "updated_at asc",
            "limit": self.settings.page_size,
            "fields": ORDER_FIELDS,
        }
        seen: dict[int, datetime] = {}
        newest: datetime | None = None
        # The update time of the first order skipped (base.py): the cursor stays there, so it is
        # fetched (and reported) again next run; `start` when its own time cannot be read.
        hold: datetime | None = None
        while True:
            response = self._request("GET", f"{self._api}/orders.json", params=params)
            orders = []
            errors = []
            for raw in _list(self.mall, json_body(self.mall, response), "orders"):
                try:
                    order = map_order(raw, self.mall)
                except ORDER_PROBLEMS as exc:
                    errors.append(skipped_order(self.mall, raw.get("id"), exc))
                    try:
                        skipped_at = _time(raw.get("updated_at"), "updated_at", self.mall)
                    except MallPayloadError:
                        skipped_at = start
                    hold = min(hold, skipped_at) if hold else skipped_at
                    continue
                newest = max(newest, order.updated_at) if newest else order.updated_at
                if raw["id"] in seen and order.updated_at <= seen[raw["id"]]:
                    continue
                seen[raw["id"]] = order.updated_at
                orders.append(order)
            cursor = held_cursor(newest, hold) if newest else None
            yield OrderPage(orders, _iso(cursor) if cursor else None, tuple(errors))
            page_info = self._next_page_info(response)
            if page_info is None:
                return
            params = {"limit": self.settings.page_size, "page_info": page_info, "fields": ORDER_FIELDS}

    def _parse_cursor(self, cursor: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(cursor)
        except ValueError:
            raise SyncError(f"{self.display_name}の保存済みカーソル「{cursor}」を読めません") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)

    def _next_page_info(self, response: requests.Response) -> str | None:
        link = response.links.get("next")
        if not link:
            return None
        values = parse_qs(urlsplit(link.get("url", "")).query).get("page_info")
        if not values:
            raise MallPayloadError(f"{self.mall}の次ページのリンクに page_info がありません")
        return values[0]

    # -- stock

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Set each level's available quantity at the configured (or first active) location."""
        if not levels:
            return []
        try:
            location_id = self._location()
            catalogue = self._catalogue_for(levels)
        except MallAuthError:
            raise
        except SyncError as exc:
            return [self._failed(level, str(exc)) for level in levels]
        results: list[PushResult] = []
        for index, level in enumerate(levels):
            try:
                item_id = _resolve(catalogue, level)
            except _Unresolved as exc:
                results.append(self._failed(level, str(exc)))
                continue
            try:
                self._set_available(location_id, item_id, level.quantity)
            except MallRejected as exc:
                results.append(self._failed(level, str(exc)))
                continue
            except MallAuthError:
                raise
            except SyncError as exc:  # the mall is down or throttling us: stop, report the rest
                results.extend(self._failed(rest, str(exc)) for rest in levels[index:])
                break
            results.append(PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True))
        return results

    def _failed(self, level: StockLevel, error: str) -> PushResult:
        return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=False, error=error)

    def _location(self) -> int:
        if self._location_id is None:
            response = self._request("GET", f"{self._api}/locations.json")
            locations = _list(self.mall, json_body(self.mall, response), "locations")
            active = [loc["id"] for loc in locations if loc.get("active") and isinstance(loc.get("id"), int)]
            if not active:
                raise MallRejected(f"{self.mall}に有効なロケーション（在庫の拠点）がありません")
            self._location_id = active[0]
        return self._location_id

    def _catalogue_for(self, levels: Sequence[StockLevel]) -> dict[str, list[_CatalogueEntry]]:
        """SKU -> inventory items, read once and kept; re-read for a new SKU after a while."""
        stale = self._monotonic() - self._catalogue_read_at > CATALOGUE_REFRESH_SECONDS
        unknown = self._catalogue is not None and any(_sku_key(lv) not in self._catalogue for lv in levels)
        if self._catalogue is None or (unknown and stale):
            self._catalogue = self._read_catalogue()
            self._catalogue_read_at = self._monotonic()
        return self._catalogue

    def _read_catalogue(self) -> dict[str, list[_CatalogueEntry]]:
        catalogue: dict[str, list[_CatalogueEntry]] = {}
        params: dict[str, Any] = {"limit": 250, "fields": "id,variants"}
        while True:
            response = self._request("GET", f"{self._api}/products.json", params=params)
            for product in _list(self.mall, json_body(self.mall, response), "products"):
                for variant in product.get("variants") or ():
                    sku, item_id = _text(variant.get("sku")), variant.get("inventory_item_id")
                    if sku and isinstance(item_id, int):
                        catalogue.setdefault(sku, []).append(_CatalogueEntry(product.get("id"), item_id))
            page_info = self._next_page_info(response)
            if page_info is None:
                return catalogue
            params = {"limit": 250, "page_info": page_info, "fields": "id,variants"}

    def _set_available(self, location_id: int, item_id: int, quantity: int) -> None:
        body = {"location_id": location_id, "inventory_item_id": item_id, "available": quantity}
        # An absolute set is safe to repeat, so 5xx and timeouts are retried.
        response = self._request("POST", f"{self._api}/inventory_levels/set.json", json=body)
        level = json_body(self.mall, response)
        if not isinstance(level, dict) or not isinstance(level.get("inventory_level"), dict):
            raise MallPayloadError(f"{self.mall}から在庫数の応答がありませんでした")

    # -- live stock (reconciliation)

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]:
        """``available`` at the location stock is pushed to, 50 inventory items a call."""
        if not listings:
            return []
        try:
            location_id = self._location()
            catalogue = self._catalogue_for(listings)  # type: ignore[arg-type]  # same attributes
        except MallAuthError:
            raise
        except SyncError as exc:
            return [live_read.failed(ref, str(exc)) for ref in listings]
        answers: dict[int, LiveQuantity] = {}
        items: dict[int, list[int]] = {}  # inventory item -> positions asking for it
        for index, ref in enumerate(listings):
            try:
                items.setdefault(_resolve(catalogue, ref), []).append(index)  # type: ignore[arg-type]
            except _Unresolved as exc:
                answers[index] = live_read.failed(ref, str(exc))
        ids = list(items)
        refs = [listings[items[item][0]] for item in ids]  # batches run over distinct items
        missing = f"{self.mall}のロケーション（{location_id}）にこの商品の在庫がありません"

        def read(batch: list[int]) -> dict[int, LiveQuantity]:
            wanted = ",".join(str(ids[b]) for b in batch)
            params = {"inventory_item_ids": wanted, "location_ids": str(location_id)}
            response = self._request("GET", f"{self._api}/inventory_levels.json", params=params)
            levels = _list(self.mall, json_body(self.mall, response), "inventory_levels")
            available = {
                lv.get("inventory_item_id"): lv.get("available")
                for lv in levels
                if lv.get("location_id") == location_id
            }
            return {b: live_read.shown(refs[b], available.get(ids[b]), missing=missing) for b in batch}

        item_answers: dict[int, LiveQuantity] = {}
        live_read.in_batches(refs, range(len(ids)), LEVEL_IDS_MAX, read, item_answers)
        for position, item in enumerate(ids):
            for index in items[item]:  # one inventory item may back several listings
                answers[index] = item_answers[position].model_copy(update={"listing": listings[index]})
        return live_read.ordered(listings, answers)

    # -- shipments

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Fulfil the order's open fulfillment orders with the tracking number.

        Repeating a confirmation that already went through (same tracking number) is a no-op,
        so a retry after a lost answer is safe.
        """
        order_id = self._order_id(shipment.order_number)
        fulfillment_orders = self._open_fulfillment_orders(order_id)
        if shipment.lines:
            plan = self._plan_lines(order_id, shipment, fulfillment_orders)
        else:
            plan = {fo["id"]: [] for fo in fulfillment_orders if _fulfillable(fo)}
        if not plan:
            if self._already_shipped(order_id, shipment.tracking_number):
                return
            raise MallRejected(
                f"{self.mall}の注文 {shipment.order_number} には出荷できる明細がありません（出荷済みかキャンセル済みです）"
            )
        by_location: dict[Any, list[dict]] = {}
        for fo in fulfillment_orders:
            if fo["id"] in plan:
                group = {"fulfillment_order_id": fo["id"]}
                if plan[fo["id"]]:
                    group["fulfillment_order_line_items"] = plan[fo["id"]]
                by_location.setdefault(fo.get("assigned_location_id"), []).append(group)
        # One fulfillment per location: Shopify refuses fulfillment orders from several at once.
        for groups in by_location.values():
            self._create_fulfillment(shipment, groups)

    def _order_id(self, order_number: str) -> int:
        if not order_number.isdigit():
            raise MallRejected(f"注文番号「{order_number}」は{self.mall}の注文IDではありません")
        return int(order_number)

    def _open_fulfillment_orders(self, order_id: int) -> list[dict]:
        path = f"{self._api}/orders/{order_id}/fulfillment_orders.json"
        response = self._request("GET", path)
        fulfillment_orders = _list(self.mall, json_body(self.mall, response), "fulfillment_orders")
        return [fo for fo in fulfillment_orders if fo.get("status") in ("open", "in_progress")]

    def _plan_lines(
        self, order_id: int, shipment: Shipment, fulfillment_orders: list[dict]
    ) -> dict[int, list]:
        """Ichigen's (明細番号, 数量) -> fulfillment order line items, spread over open FOs."""
        line_items = self._order_line_items(order_id)
        plan: dict[int, list] = {}
        for number, quantity in shipment.lines:
            if not 1 <= number <= len(line_items):
                raise MallRejected(
                    f"明細番号 {number} は{self.mall}の注文 {shipment.order_number} にありません"
                )
            line_id = line_items[number - 1].get("id")
            targets = [
                (fo["id"], item)
                for fo in fulfillment_orders
                for item in fo.get("line_items") or ()
                if item.get("line_item_id") == line_id and item.get("fulfillable_quantity", 0) > 0
            ]
            if not targets:
                raise MallRejected(f"明細番号 {number} は{self.mall}で出荷済みか、出荷できない明細です")
            remaining = quantity
            for fo_id, item in targets:
                take = min(remaining, item["fulfillable_quantity"])
                if item is targets[-1][1]:
                    take = remaining  # more than Shopify holds: let Shopify refuse it with its reason
                if take > 0:
                    plan.setdefault(fo_id, []).append({"id": item["id"], "quantity": take})
                    remaining -= take
        return plan

    def _order_line_items(self, order_id: int) -> list[dict]:
        response = self._request(
            "GET", f"{self._api}/orders/{order_id}.json", params={"fields": "id,line_items"}
        )
        order = json_body(self.mall, response)
        if not isinstance(order, dict) or not isinstance(order.get("order"), dict):
            raise MallPayloadError(f"{self.mall}の注文データが読めません")
        return _list(self.mall, order["order"], "line_items")

    def _already_shipped(self, order_id: int, tracking_number: str) -> bool:
        response = self._request(
            "GET", f"{self._api}/orders/{order_id}.json", params={"fields": "id,fulfillments"}
        )
        order = json_body(self.mall, response)
        fulfillments = (order.get("order") or {}).get("fulfillments") if isinstance(order, dict) else None
        return any(
            tracking_number in (f.get("tracking_numbers") or [f.get("tracking_number")])
            for f in fulfillments or ()
            if isinstance(f, dict) and f.get("status") == "success"
        )

    def _create_fulfillment(self, shipment: Shipment, groups: list[dict]) -> None:
        tracking: dict[str, str] = {"number": shipment.tracking_number}
        company = tracking_company(shipment.carrier)
        if company:
            tracking["company"] = company
        body = {
            "fulfillment": {
                "line_items_by_fulfillment_order": groups,
                "tracking_info": tracking,
                "notify_customer": self.settings.notify_customer,
            }
        }
        # Not idempotent: after a 5xx or a read timeout it may have gone through, so no retry;
        # the next confirm_shipment finds it (see _already_shipped).
        response = self._request("POST", f"{self._api}/fulfillments.json", json=body, idempotent=False)
        created = json_body(self.mall, response)
        fulfillment = created.get("fulfillment") if isinstance(created, dict) else None
        if not isinstance(fulfillment, dict):
            raise MallPayloadError(f"{self.mall}から出荷登録の応答がありませんでした")
        if fulfillment.get("status") not in (None, "success", "pending", "open"):
            raise MallRejected(
                f"{self.mall}が出荷登録を受け付けませんでした（状態: {fulfillment.get('status')}）"
            )

    # -- HTTP

    def _request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        response = self._http.request(
            method,
            path,
            idempotent=idempotent,
            retry_after=_retry_after,
            hooks={"response": [self._reject_with_reason]},
            **kwargs,
        )
        self._respect_call_limit(response)
        return response

    def _reject_with_reason(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # A response hook, so Shopify's own reason reaches staff rather than a raw JSON excerpt.
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            reason = _error_reason(response)
            raise MallRejected(f"{self.mall}が受け付けませんでした（HTTP {response.status_code}）: {reason}")

    def _respect_call_limit(self, response: requests.Response) -> None:
        # Other apps or runners may share the shop's bucket: when Shopify says it is (nearly)
        # full, let it leak before the next call instead of running into a 429.
        used, _, size = response.headers.get("X-Shopify-Shop-Api-Call-Limit", "").partition("/")
        if used.isdigit() and size.isdigit() and int(used) >= int(size) - 1:
            self._http.bucket.drain()


def tracking_company(carrier: Carrier | str) -> str | None:
    """Shopify's tracking-company name for an Ichigen carrier (None: send no company)."""
    return TRACKING_COMPANIES.get(carrier)


def _fulfillable(fulfillment_order: Mapping[str, Any]) -> bool:
    return any(item.get("fulfillable_quantity", 0) > 0 for item in fulfillment_order.get("line_items") or ())


def _sku_key(level: StockLevel) -> str:
    return level.mall_sku or level.sku


def _resolve(catalogue: Mapping[str, list[_CatalogueEntry]], level: StockLevel) -> int:
    sku = _sku_key(level)
    entries = catalogue.get(sku, [])
    if len(entries) > 1 and level.mall_item_code:
        entries = [e for e in entries if str(e.product_id) == level.mall_item_code] or entries
    if not entries:
        raise _Unresolved(
            f"ShopifyにSKU「{sku}」の商品がありません。Shopifyの商品バリエーションのSKUを確認してください"
        )
    if len(entries) > 1:
        raise _Unresolved(
            f"SKU「{sku}」がShopifyの複数の商品にあります。モール商品コード（商品ID）で送り先を指定してください"
        )
    return entries[0].inventory_item_id


def _retry_after(response: requests.Response) -> float | None:
    if response.status_code != 429:
        return None
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _error_reason(response: requests.Response) -> str:
    """Shopify's ``errors`` is a string, a list or a {field: [messages]} map."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return response.text[:200]
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return " / ".join(str(e) for e in errors)
    if isinstance(errors, dict):
        return " / ".join(
            f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in errors.items()
        )
    return response.text[:200]


def _list(mall: str, body: Any, key: str) -> list[dict]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MallPayloadError(f"{mall}の応答に {key} の一覧がありません")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(JST).isoformat(timespec="seconds")
