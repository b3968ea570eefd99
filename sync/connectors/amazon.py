"""Amazon through the Selling Partner API (Japan, Far East endpoint): orders in, stock and
shipments out.

Vendor facts this module relies on (the official models ordersV0.json and
listingsItems_2021-08-01.json, amzn/selling-partner-api-models; see
../shared/contracts/README.md §2 in the development workspace):

- Auth is Login with Amazon only: ``POST https://api.amazon.com/auth/o2/token`` (form)
  ``grant_type=refresh_token`` with the app's client_id/client_secret gives an access token valid
  for ``expires_in`` (3600) seconds, sent as ``x-amz-access-token``. No SigV4 since 2023-10-02.
- Japan is ``https://sellingpartnerapi-fe.amazon.com``, marketplace ``A1VC38T7YXB528``.
- getOrders: ``MarketplaceIds`` is required; exactly one of CreatedAfter/LastUpdatedAfter;
  ``LastUpdatedBefore`` must be at least 2 minutes before now; ``payload.NextToken`` pages.
- getOrderItems pages the same way with its own NextToken.
- Each operation has its own token bucket (getOrders 0.0167/s burst 20, getOrderItems 0.5/30,
  getListingsItem 5/10, patchListingsItem 5/5, confirmShipment 2/10). Over it: 429 with
  ``{"errors":[{"code":"QuotaExceeded",…}]}`` and no Retry-After.
- Money is ``{"CurrencyCode","Amount"}`` with Amount a decimal string.
- ``BuyerInfo`` and most of ``ShippingAddress`` are restricted data: they need a Restricted Data
  Token (RDT), which this connector does not request.
- patchListingsItem answers ``ACCEPTED`` and applies the change later (asynchronously).
  getListingsItem with ``includedData=fulfillmentAvailability,issues`` shows the quantity as
  applied (``fulfillmentAvailability[{fulfillmentChannelCode, quantity}]``, camelCase) and the
  listing's ``issues`` (``severity`` ERROR prevents the submission from processing); 5 req/s,
  burst 10, a bucket separate from patchListingsItem's 5/5 (listingsItems_2021-08-01.json).
  How long ACCEPTED takes to show is not documented.
- confirmShipment answers 204 with an empty body.
- Live stock (reconciliation): the seller-fulfilled quantity is only on the listing
  (getListingsItem ``includedData=fulfillmentAvailability``: the ``DEFAULT`` channel's
  ``quantity``), one SKU a call at 5/s burst 10, so 5,000 listings take about 17 minutes: the
  slow path's pace, within the published limit. A listing whose availability names another
  channel (Amazon's own network, ``AMAZON_JP``: the code is UNVERIFIED, any non-DEFAULT code
  counts) is FBA: its quantity is read from the FBA Inventory API, ``GET
  /fba/inventory/v1/summaries?details=true&granularityType=Marketplace&granularityId=<mp>
  &marketplaceIds=<mp>&sellerSkus=…`` (≤ 50 SKUs a call, 2/s burst 2; ``inventoryDetails.
  fulfillableQuantity`` is what buyers can order; fbaInventory.json, contract §8). A listing
  with no availability at all shows nothing for sale: 0. (The merchant listings report of the
  Reports API would read every listing in a few calls, asynchronously: not used here.)

Ichigen's 注文番号 for an Amazon order is its AmazonOrderId (``503-1234567-1234567``).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import requests
from pydantic import Field, SecretStr

from sync.connectors import live as live_read
from sync.connectors.base import ORDER_PROBLEMS, ChannelSettings, OrderPage, held_cursor, skipped_order
from sync.connectors.http import MallHttp, TokenBucket, json_body
from sync.connectors.values import decimal_yen
from sync.errors import MallAuthError, MallPayloadError, MallRejected, SyncError
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

JAPAN_MARKETPLACE_ID = "A1VC38T7YXB528"
# A first run (no cursor yet) looks this far back from `until`.
FIRST_RUN_LOOKBACK = timedelta(days=30)
# getOrders refuses a LastUpdatedBefore later than 2 minutes before now; keep a margin for skew.
LAST_UPDATED_BEFORE_MARGIN = timedelta(minutes=2, seconds=30)
# Refresh the LWA access token this long before it expires.
TOKEN_EARLY_REFRESH_SECONDS = 60.0
LISTINGS_API = "/listings/2021-08-01/items"
FBA_SUMMARIES_API = "/fba/inventory/v1/summaries"
FBA_SUMMARIES_LIMIT = (2.0, 2)  # getInventorySummaries rate, burst (fbaInventory.json)
FBA_SKUS_MAX = 50
ORDERS_API = "/orders/v0/orders"

# Per-operation token buckets (rate per second, burst), from each operation's model description.
OPERATION_LIMITS: Mapping[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "getListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "confirmShipment": (2.0, 10),
    "lwaToken": (1.0, 5),  # LWA documents no limit; be gentle
}

# Amazon carrier codes for Ichigen carriers (sent as packageDetail.carrierCode). The three names
# come from Amazon's carrier list as quoted by sellers; the list itself is not in the models:
# UNVERIFIED. 西濃運輸/福山通運 were not found on it and go as "Other" + carrierName.
CARRIER_CODES: Mapping[str, str] = {
    "ヤマト運輸": "Yamato Transport",
    "佐川急便": "Sagawa Express",
    "日本郵便": "Japan Post",
    "西濃運輸": "Other",
    "福山通運": "Other",
    "その他": "Other",
}

# PaymentMethod is "limited to COD and CVS payment methods" (ordersV0 Order.PaymentMethod).
PAYMENT_METHODS: Mapping[str, str] = {"COD": "代金引換", "CVS": "コンビニ決済", "Other": "Amazon決済"}

# How an Amazon OrderStatus becomes an Ichigen ステータス. First matching row wins; the note, when
# not empty, goes to the order's 要確認 reasons. Values from the Order.OrderStatus enum.
STATUS_TABLE: tuple[tuple[str, OrderStatus, str], ...] = (
    ("Pending", "入金待ち", ""),  # placed, payment not authorized yet
    ("PendingAvailability", "入金待ち", "Amazonの予約注文です（発売前で、まだ支払いが確定していません）"),
    ("Unshipped", "新規", ""),
    ("PartiallyShipped", "新規", "Amazonで一部の商品だけ出荷済みです。残りの出荷を確認してください"),
    ("Shipped", "出荷済", ""),
    ("InvoiceUnconfirmed", "出荷済", ""),  # shipped; the buyer's invoice is not confirmed
    ("Canceled", "キャンセル", ""),
    (
        "Unfulfillable",
        "保留",
        "Amazonでこの注文は出荷できない状態です（マルチチャネル注文など）。セラーセントラルで確認してください",
    ),
    (
        "otherwise",
        "保留",
        "Amazonの注文ステータス「{status}」は対応表にありません。セラーセントラルで確認してください",
    ),
)

FBA_NOTE = "AmazonのFBA（Amazonの倉庫から出荷）の注文です。自社の在庫は引き当てていません"
RDT_NOTE = (
    "購入者名・お届け先はAmazonの制限付きデータ（RDT: Restricted Data Token）が必要なため"
    "取得していません。セラーセントラルで確認してください"
)


class Settings(ChannelSettings):
    """``[malls.<channel>]`` with ``type = "amazon"``."""

    type: Literal["amazon"]
    mall: str = "Amazon"
    # The SP-API regional endpoint; Japan is served by the Far East one.
    base_url: str = Field("https://sellingpartnerapi-fe.amazon.com", pattern=r"^https?://\S+$")
    # Login with Amazon token endpoint (refresh token -> access token).
    lwa_token_url: str = Field("https://api.amazon.com/auth/o2/token", pattern=r"^https?://\S+$")
    # The SP-API app's LWA client identifier ("amzn1.application-oa2-client.…").
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    # The seller's authorization of the app ("Atzr|…").
    refresh_token: SecretStr
    # The merchant token (セラーID) used in listings paths.
    seller_id: str = Field(min_length=1)
    marketplace_id: str = JAPAN_MARKETPLACE_ID
    page_size: int = Field(100, ge=1, le=100)
    # A quantity Amazon ACCEPTED is checked on the listing (getListingsItem) in later cycles
    # instead of being sent again; when the listing still shows another quantity this many
    # minutes after the push, it is sent again. Amazon documents no processing time: a guess.
    resend_unconfirmed_after_minutes: int = Field(30, ge=1, le=24 * 60)
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0)


# --------------------------------------------------------------------- mapping


def map_status(raw: Mapping[str, Any]) -> OrderStatus:
    """The Ichigen ステータス of an Amazon order, by ``STATUS_TABLE``."""
    return status_row(raw)[1]


def status_row(raw: Mapping[str, Any]) -> tuple[str, OrderStatus, str]:
    status = str(raw.get("OrderStatus") or "")
    return next(row for row in STATUS_TABLE if row[0] in (status, "otherwise"))


def status_note(raw: Mapping[str, Any]) -> str:
    return status_row(raw)[2].format(status=raw.get("OrderStatus") or "")


def is_fba(raw: Mapping[str, Any]) -> bool:
    # FulfillmentChannel: AFN = fulfilled by Amazon (FBA), MFN = by the seller.
    return raw.get("FulfillmentChannel") == "AFN"


def map_order(raw: Mapping[str, Any], items: Sequence[Mapping[str, Any]], mall: str = "Amazon") -> Order:
    """A getOrders ``Order`` plus its getOrderItems ``OrderItem``s as Ichigen's Order. Pure."""
    order_id = raw.get("AmazonOrderId")
    if not isinstance(order_id, str) or not order_id:
        raise MallPayloadError(f"{mall}の注文データに AmazonOrderId がありません")
    review: list[str] = []
    fba = is_fba(raw)
    if fba:
        review.append(FBA_NOTE)
    note = status_note(raw)
    if note:
        review.append(note)
    currency = _currency(raw.get("OrderTotal")) or next(
        (c for c in (_currency(i.get("ItemPrice")) for i in items) if c), "JPY"
    )
    if currency != "JPY":
        review.append(f"通貨が{currency}の注文です（円に換算していません）")
    status = map_status(raw)
    buyer, delivery = _buyer(raw, mall), _delivery(raw)
    # Orders Amazon ships (FBA), and closed ones, need no address from us.
    if not fba and status not in ("キャンセル", "出荷済") and not (delivery.name and delivery.address):
        review.append(RDT_NOTE)
    lines = _lines(items, review, mall)
    shipping = sum(_yen(i.get("ShippingPrice"), "ShippingPrice", mall) for i in items) - sum(
        _yen(i.get("ShippingDiscount"), "ShippingDiscount", mall) for i in items
    )
    if raw.get("OrderTotal"):
        # OrderTotal: "The total charge for this order" (tax included in Japan).
        total = _yen(raw["OrderTotal"], "OrderTotal", mall)
    else:
        # Pending orders may come without OrderTotal: rebuild it from the items.
        total = sum(
            _yen(i.get("ItemPrice"), "ItemPrice", mall) - _yen(i.get("PromotionDiscount"), "", mall)
            for i in items
        ) + max(0, shipping)
    return Order(
        mall=mall,
        order_number=order_id,
        ordered_at=_time(raw.get("PurchaseDate"), "PurchaseDate", mall),
        updated_at=_time(raw.get("LastUpdateDate"), "LastUpdateDate", mall),
        status=status,
        payment_method=PAYMENT_METHODS.get(str(raw.get("PaymentMethod") or ""), "")
        or _text(raw.get("PaymentMethod")),
        buyer=buyer,
        delivery=delivery,
        total=max(0, total),
        shipping_fee=max(0, shipping),
        note=_note(raw),
        lines=lines,
        allocates_stock=not fba,
        review=tuple(dict.fromkeys(review)),
    )


def _currency(money: Any) -> str:
    return _text(money.get("CurrencyCode")) if isinstance(money, Mapping) else ""


def _yen(money: Any, what: str, mall: str = "Amazon") -> int:
    """Money is {"CurrencyCode":"JPY","Amount":"2980.00"}: Amount is a string; Ichigen keeps yen."""
    if not money:
        return 0
    return decimal_yen(money.get("Amount") if isinstance(money, Mapping) else money, what, mall)


def _time(value: Any, what: str, mall: str = "Amazon") -> datetime:
    """SP-API times are ISO 8601 in UTC ("2026-11-30T01:00:00Z"); Ichigen works in JST."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise MallPayloadError(f"{mall}の日時「{value}」（{what}）を読めません") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(JST)


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _domestic_phone(value: Any) -> str:
    text = unicodedata.normalize("NFKC", _text(value))
    if text.startswith("+81"):
        text = "0" + text.removeprefix("+81").lstrip(" -")
    return text


def _address_text(address: Mapping[str, Any]) -> str:
    # JP addresses: StateOrRegion is the 都道府県, then City and the AddressLines in order.
    head = "".join(_text(address.get(k)) for k in ("StateOrRegion", "City", "AddressLine1"))
    tail = [_text(address.get(k)) for k in ("AddressLine2", "AddressLine3", "CompanyName")]
    return " ".join([head, *(t for t in tail if t)]).strip()


def _buyer(raw: Mapping[str, Any], mall: str) -> Address:
    # BuyerInfo is restricted data: present only when fetched with an RDT.
    info = raw.get("BuyerInfo") or {}
    # BuyerEmail is Amazon's relay address (…@marketplace.amazon.co.jp), also restricted.
    return Address(name=_text(info.get("BuyerName")), email=_text(info.get("BuyerEmail")))


def _delivery(raw: Mapping[str, Any]) -> Address:
    # Without an RDT ShippingAddress keeps only non-PII parts (StateOrRegion, City, PostalCode).
    address = raw.get("ShippingAddress") or {}
    if not isinstance(address, Mapping):
        return Address()
    return Address(
        name=_text(address.get("Name")),
        postcode=unicodedata.normalize("NFKC", _text(address.get("PostalCode"))),
        address=_address_text(address) if address.get("AddressLine1") else "",
        phone=_domestic_phone(address.get("Phone")),
    )


def _lines(items: Sequence[Mapping[str, Any]], review: list[str], mall: str) -> tuple[OrderLine, ...]:
    lines = []
    for number, item in enumerate(items, start=1):
        quantity = item.get("QuantityOrdered")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise MallPayloadError(f"{mall}の注文明細に QuantityOrdered がありません")
        sku = _text(item.get("SellerSKU"))
        name = _text(item.get("Title"))
        if not sku and quantity > 0:
            review.append(f"明細{number}「{name}」にSellerSKUがありません。商品の対応を確認してください")
        # ItemPrice is the selling price times the quantity ordered (OrderItem.ItemPrice).
        line_total = _yen(item.get("ItemPrice"), "ItemPrice", mall)
        unit = int((Decimal(line_total) / quantity).quantize(Decimal(1), ROUND_HALF_UP)) if quantity else 0
        lines.append(
            OrderLine(
                line_number=number,
                mall_item_code=_text(item.get("ASIN")),
                mall_sku=sku,
                seller_sku=sku,
                name=name,
                quantity=quantity,
                unit_price=unit,
            )
        )
    return tuple(lines)


def _note(raw: Mapping[str, Any]) -> str:
    parts = [f"Amazon注文 {raw['AmazonOrderId']}"]
    if raw.get("IsPrime") is True:
        parts.append("プライム注文")
    if raw.get("LatestShipDate") and not is_fba(raw):
        parts.append(f"出荷期限: {_time(raw['LatestShipDate'], 'LatestShipDate').strftime('%Y-%m-%d %H:%M')}")
    return "\n".join(parts)


def carrier_code(carrier: Carrier | str) -> tuple[str, str | None]:
    """(carrierCode, carrierName) for an Ichigen carrier; carrierName only with "Other"."""
    code = CARRIER_CODES.get(carrier, "Other")
    return code, (carrier if code == "Other" else None)


# ------------------------------------------------------------------- connector


class Connector:
    """Amazon SP-API; one instance per ``[malls.<channel>]`` section."""

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: requests.Session,
        project_root: Path,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.mall = settings.mall
        self.display_name = settings.display_name or settings.mall
        self.settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        self._product_types: dict[str, str] = {}
        self._http = {
            operation: MallHttp(
                mall=settings.mall,
                base_url=settings.base_url.rstrip("/"),
                session=session,
                bucket=TokenBucket(rate, burst, clock=monotonic, sleep=sleep),
                policy=RetryPolicy(max_retries=settings.max_retries),
                timeout=settings.timeout_seconds,
                sleep=sleep,
                headers={"Accept": "application/json"},
            )
            for operation, (rate, burst) in OPERATION_LIMITS.items()
        }

    # -- auth

    def _access_token(self) -> str:
        if self._token and self._monotonic() < self._token_expires - TOKEN_EARLY_REFRESH_SECONDS:
            return self._token
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.settings.refresh_token.get_secret_value(),
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
        }
        started = self._monotonic()
        try:
            response = self._http["lwaToken"].request("POST", self.settings.lwa_token_url, data=form)
        except MallRejected as exc:  # 400 invalid_grant / invalid_client
            raise MallAuthError(
                f"{self.mall}（Login with Amazon）の認証に失敗しました。リフレッシュトークンと"
                f"クライアントID・シークレットを確認してください（{exc}）"
            ) from None
        body = json_body(self.mall, response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise MallPayloadError(f"{self.mall}のトークン応答に access_token がありません")
        self._token = token
        self._token_expires = started + float(body.get("expires_in") or 3600)
        return token

    # -- HTTP

    def _request(
        self, operation: str, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        for attempt in range(2):
            headers = {"x-amz-access-token": self._access_token()}
            try:
                return self._http[operation].request(
                    method,
                    path,
                    idempotent=idempotent,
                    headers=headers,
                    hooks={"response": [self._reject_with_reason]},
                    **kwargs,
                )
            except MallAuthError:
                if attempt:
                    raise
                self._token = None  # revoked or expired early: one fresh token, then give up
        raise AssertionError("unreachable")

    def _reject_with_reason(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            raise MallRejected(
                f"{self.mall}が受け付けませんでした（HTTP {response.status_code}）: {_error_reason(response)}"
            )

    # -- orders

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """Orders updated in [since, until] (capped 2½ minutes before now), one page per getOrders.

        The window's end becomes the cursor once its last page is done; pages before it keep
        the stored cursor, as Amazon does not promise an order within the pages.
        """
        until = until if until.tzinfo else until.replace(tzinfo=JST)
        before = min(until, self._clock() - LAST_UPDATED_BEFORE_MARGIN)
        start = self._parse_cursor(since) if since else before - FIRST_RUN_LOOKBACK
        if start >= before:
            return
        first = {
            "MarketplaceIds": self.settings.marketplace_id,
            "LastUpdatedAfter": _utc(start),
            "LastUpdatedBefore": _utc(before),
            "MaxResultsPerPage": self.settings.page_size,
        }
        params: dict[str, Any] = first
        seen: dict[str, datetime] = {}
        # The earliest update time of an order skipped (base.py): the cursor stays there so it
        # is fetched (and reported) again next run; `start` when its own time cannot be read.
        hold: datetime | None = None
        while True:
            response = self._request("getOrders", "GET", ORDERS_API, params=params)
            payload = _payload(self.mall, json_body(self.mall, response))
            raw_orders = _list(self.mall, payload, "Orders")
            orders = []
            errors = []
            for raw in raw_orders:
                items = self._order_items(str(raw.get("AmazonOrderId") or ""))
                try:
                    order = map_order(raw, items, self.mall)
                except ORDER_PROBLEMS as exc:
                    errors.append(skipped_order(self.mall, raw.get("AmazonOrderId"), exc))
                    skipped_at = _skipped_time(raw.get("LastUpdateDate"), start)
                    hold = min(hold, skipped_at) if hold else skipped_at
                    continue
                if order.order_number in seen and order.updated_at <= seen[order.order_number]:
                    continue
                seen[order.order_number] = order.updated_at
                orders.append(order)
            token = payload.get("NextToken")
            if not token:
                yield OrderPage(orders, _iso(held_cursor(before, hold)), tuple(errors))
                return
            yield OrderPage(orders, None, tuple(errors))
            # NextToken carries the filters; MarketplaceIds stays required.
            params = {"MarketplaceIds": self.settings.marketplace_id, "NextToken": token}

    def _order_items(self, order_id: str) -> list[dict]:
        if not order_id:
            raise MallPayloadError(f"{self.mall}の注文データに AmazonOrderId がありません")
        items: list[dict] = []
        params: dict[str, Any] = {}
        while True:
            path = f"{ORDERS_API}/{quote(order_id, safe='')}/orderItems"
            response = self._request("getOrderItems", "GET", path, params=params)
            payload = _payload(self.mall, json_body(self.mall, response))
            items.extend(_list(self.mall, payload, "OrderItems"))
            token = payload.get("NextToken")
            if not token:
                return items
            params = {"NextToken": token}

    def _parse_cursor(self, cursor: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(cursor)
        except ValueError:
            raise SyncError(f"{self.display_name}の保存済みカーソル「{cursor}」を読めません") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)

    # -- stock

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """patchListingsItem per SKU; ACCEPTED is applied later by Amazon, so unconfirmed. A
        level already sent and waiting (``pending_since``) is checked on the listing instead."""
        results: list[PushResult] = []
        for index, level in enumerate(levels):
            sku = level.mall_sku or level.sku
            try:
                if level.pending_since is not None:  # sent before, ACCEPTED: read, don't resend
                    checked = self._check_listing(level, sku)
                    if checked is not None:
                        results.append(checked)
                        continue
                status, issues = self._patch_quantity(sku, level.quantity)
            except MallRejected as exc:
                results.append(self._failed(level, str(exc)))
                continue
            except MallAuthError:
                raise
            except SyncError as exc:  # down or throttling: stop, report the rest
                results.extend(self._failed(rest, str(exc)) for rest in levels[index:])
                break
            if status == "ACCEPTED":
                results.append(
                    PushResult(
                        mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True, confirmed=False
                    )
                )
            else:
                reason = issues or f"状態 {status}"
                results.append(self._failed(level, f"{self.mall}が在庫数を受け付けませんでした: {reason}"))
        return results

    def _check_listing(self, level: StockLevel, sku: str) -> PushResult | None:
        """What the listing shows for a quantity sent earlier: confirmed when it shows it, failed
        with Amazon's words when it has ERROR issues, None (send again) when it still shows
        another quantity ``resend_unconfirmed_after_minutes`` after the push, else waiting."""
        params = {
            "marketplaceIds": self.settings.marketplace_id,
            "includedData": "fulfillmentAvailability,issues",
        }
        try:
            response = self._request("getListingsItem", "GET", self._listing_path(sku), params=params)
        except MallRejected as exc:
            raise MallRejected(f"AmazonにSKU「{sku}」の出品が見つかりません（{exc}）") from None
        item = json_body(self.mall, response)
        if not isinstance(item, dict):
            raise MallPayloadError(f"{self.mall}の出品「{sku}」の応答を読めません")
        errors = [
            f"{_text(i.get('message'))}（{_text(i.get('code'))}）"
            for i in item.get("issues") or ()
            if isinstance(i, dict)
            and i.get("severity") == "ERROR"
            and self.settings.marketplace_id in (i.get("marketplaceIds") or [self.settings.marketplace_id])
        ]
        if errors:
            return self._failed(
                level, f"{self.mall}の出品に問題があり在庫数が反映されません: {' / '.join(errors)}"
            )
        shown = next(
            (
                a.get("quantity")
                for a in item.get("fulfillmentAvailability") or ()
                if isinstance(a, dict) and a.get("fulfillmentChannelCode") == "DEFAULT"
            ),
            None,
        )
        if shown == level.quantity:
            return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True, sent=False)
        assert level.pending_since is not None
        waited = self._clock() - level.pending_since
        if waited >= timedelta(minutes=self.settings.resend_unconfirmed_after_minutes):
            return None
        return PushResult(
            mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True, confirmed=False, sent=False
        )

    def _failed(self, level: StockLevel, error: str) -> PushResult:
        return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=False, error=error)

    def _listing_path(self, sku: str) -> str:
        return f"{LISTINGS_API}/{quote(self.settings.seller_id, safe='')}/{quote(sku, safe='')}"

    def _product_type(self, sku: str) -> str:
        """The listing's productType (needed by patchListingsItem), looked up once per SKU."""
        if sku not in self._product_types:
            params = {"marketplaceIds": self.settings.marketplace_id, "includedData": "summaries"}
            try:
                response = self._request("getListingsItem", "GET", self._listing_path(sku), params=params)
            except MallRejected as exc:
                raise MallRejected(f"AmazonにSKU「{sku}」の出品が見つかりません（{exc}）") from None
            item = json_body(self.mall, response)
            summaries = item.get("summaries") if isinstance(item, dict) else None
            types = [
                s.get("productType")
                for s in summaries or ()
                if isinstance(s, dict) and s.get("marketplaceId") == self.settings.marketplace_id
            ]
            if not types or not isinstance(types[0], str):
                raise MallPayloadError(f"{self.mall}の出品「{sku}」に productType がありません")
            self._product_types[sku] = types[0]
        return self._product_types[sku]

    def _patch_quantity(self, sku: str, quantity: int) -> tuple[str, str]:
        body = {
            "productType": self._product_type(sku),
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                }
            ],
        }
        # An absolute quantity is safe to send again, so 5xx and timeouts are retried.
        response = self._request(
            "patchListingsItem",
            "PATCH",
            self._listing_path(sku),
            params={"marketplaceIds": self.settings.marketplace_id},
            json=body,
        )
        answer = json_body(self.mall, response)
        if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
            raise MallPayloadError(f"{self.mall}から在庫数の応答がありませんでした")
        issues = " / ".join(
            _text(i.get("message")) for i in answer.get("issues") or () if isinstance(i, dict)
        )
        return answer["status"], issues

    # -- live stock (reconciliation)

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]:
        """Each listing's DEFAULT quantity (getListingsItem); FBA listings' fulfillable quantity
        from the FBA inventory summaries, 50 SKUs a call."""
        answers: dict[int, LiveQuantity] = {}
        fba: list[int] = []
        params = {"marketplaceIds": self.settings.marketplace_id, "includedData": "fulfillmentAvailability"}

        def read_listing(batch: list[int]) -> dict[int, LiveQuantity]:
            (index,) = batch
            ref = listings[index]
            sku = ref.mall_sku or ref.sku
            try:
                response = self._request("getListingsItem", "GET", self._listing_path(sku), params=params)
            except MallRejected as exc:  # 404: this listing only, never counted as the mall down
                return {index: live_read.failed(ref, f"AmazonにSKU「{sku}」の出品が見つかりません（{exc}）")}
            item = json_body(self.mall, response)
            channels = {
                a.get("fulfillmentChannelCode"): a.get("quantity")
                for a in (item.get("fulfillmentAvailability") or () if isinstance(item, dict) else ())
                if isinstance(a, dict)
            }
            if "DEFAULT" in channels:
                return {index: live_read.shown(ref, channels["DEFAULT"])}
            if channels:  # Amazon's own network: its quantity comes from the FBA summaries
                fba.append(index)
                return {index: live_read.failed(ref, "FBAの在庫数を読めませんでした")}
            return {index: live_read.shown(ref, 0)}  # no availability: nothing for sale

        live_read.in_batches(listings, range(len(listings)), 1, read_listing, answers)
        live_read.in_batches(listings, fba, FBA_SKUS_MAX, self._fba_quantities(listings), answers)
        return live_read.ordered(listings, answers)

    def _fba_quantities(
        self, listings: Sequence[ListingRef]
    ) -> Callable[[list[int]], dict[int, LiveQuantity]]:
        if "getInventorySummaries" not in self._http:  # its own bucket, made on first use
            base = self._http["getListingsItem"]
            rate, burst = FBA_SUMMARIES_LIMIT
            self._http["getInventorySummaries"] = base.with_rate(rate, burst)
        marketplace = self.settings.marketplace_id

        def read(batch: list[int]) -> dict[int, LiveQuantity]:
            skus = {listings[i].mall_sku or listings[i].sku: i for i in batch}
            params = {
                "details": "true",
                "granularityType": "Marketplace",
                "granularityId": marketplace,
                "marketplaceIds": marketplace,
                "sellerSkus": ",".join(skus),
            }
            response = self._request("getInventorySummaries", "GET", FBA_SUMMARIES_API, params=params)
            summaries = _list(
                self.mall, _payload(self.mall, json_body(self.mall, response)), "inventorySummaries"
            )
            fulfillable = {
                s.get("sellerSku"): (s.get("inventoryDetails") or {}).get("fulfillableQuantity")
                for s in summaries
            }
            missing = "AmazonのFBA在庫に、このSKUがありません"
            return {
                i: live_read.shown(listings[i], fulfillable.get(sku), fba=True, missing=missing)
                for sku, i in skus.items()
            }

        return read

    # -- shipments

    def confirm_shipment(self, shipment: Shipment) -> None:
        """confirmShipment for the shipped lines (all unshipped ones when none are given)."""
        order_id = shipment.order_number
        items = self._order_items(order_id)
        shipped_so_far = sum(int(i.get("QuantityShipped") or 0) for i in items)
        if shipment.lines:
            wanted = []
            for number, quantity in shipment.lines:
                if not 1 <= number <= len(items):
                    raise MallRejected(f"明細番号 {number} は{self.mall}の注文 {order_id} にありません")
                wanted.append({"orderItemId": str(items[number - 1]["OrderItemId"]), "quantity": quantity})
        else:
            wanted = [
                {"orderItemId": str(i["OrderItemId"]), "quantity": left}
                for i in items
                if (left := int(i.get("QuantityOrdered") or 0) - int(i.get("QuantityShipped") or 0)) > 0
            ]
            if not wanted:
                if shipped_so_far:
                    return  # already confirmed (a retry after a lost answer)
                raise MallRejected(f"{self.mall}の注文 {order_id} には出荷できる明細がありません")
        code, name = carrier_code(shipment.carrier)
        package: dict[str, Any] = {
            # A positive number unique within the order: one more than the units shipped so far.
            "packageReferenceId": str(shipped_so_far + 1),
            "carrierCode": code,
            "trackingNumber": shipment.tracking_number,
            "shipDate": _utc(shipment.shipped_at),
            "orderItems": wanted,
        }
        if name:
            package["carrierName"] = name
        body = {"marketplaceId": self.settings.marketplace_id, "packageDetail": package}
        # Not idempotent: a 5xx may have gone through; the next call finds the items shipped.
        path = f"{ORDERS_API}/{quote(order_id, safe='')}/shipmentConfirmation"
        self._request("confirmShipment", "POST", path, json=body, idempotent=False)


def _error_reason(response: requests.Response) -> str:
    """SP-API errors: {"errors":[{"code","message","details"}]}."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return response.text[:200]
    if isinstance(errors, list) and errors:
        return " / ".join(
            f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)
        )
    return response.text[:200]


def _payload(mall: str, body: Any) -> dict:
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise MallPayloadError(f"{mall}の応答に payload がありません")
    return payload


def _list(mall: str, body: Mapping[str, Any], key: str) -> list[dict]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MallPayloadError(f"{mall}の応答に {key} の一覧がありません")
    return value


def _utc(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=JST)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(moment: datetime) -> str:
    return moment.astimezone(JST).isoformat(timespec="seconds")


def _skipped_time(value: Any, fallback: datetime) -> datetime:
    """A skipped order's LastUpdateDate (ISO 8601, UTC "Z"), or `fallback` when unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed.astimezone(JST) if parsed.tzinfo else fallback
