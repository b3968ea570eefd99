"""Yahoo!ショッピング through the ストアAPI (ShoppingWebService V1): orders in, stock and shipments out.

Vendor facts this module relies on (collected from public clients and the vendor's setStock page;
see ../shared/contracts/README.md §4 in the development workspace). Confidence is medium for
request shapes and low for response XML, so parsing is lenient about where a field sits:

- Auth is YConnect v2: ``POST …/yconnect/v2/token`` with ``grant_type=refresh_token`` and HTTP
  Basic ``client_id:client_secret`` gives ``{"access_token", "expires_in": 3600, …}``; every
  call then sends ``Authorization: Bearer <access_token>``.
- Order APIs (personal data) also need 公開鍵認証: ``X-sws-signature`` is
  base64(RSA-PKCS#1-v1.5-encrypt(store public key, "<sellerId>:<unixSeconds>")) and
  ``X-sws-signature-version`` the key's version; the answer's ``X-SWS-Authorize-Status`` says
  ``authorized`` when it was accepted.
- ``orderList`` takes an XML ``<Req><Search>`` with ``Start`` (1-based) / ``Result`` paging and
  a ``Condition`` on ``OrderTimeFrom``/``OrderTimeTo`` (``YYYYMMDDhhmmss`` JST). It cannot filter
  by update time: the Condition vocabulary (vendor page orderList.html#condition as copied by
  public clients, e.g. ssApp's YahooOrderListCondition) is OrderId, Version, OriginalOrderId,
  ParentOrderId, DeviceType, IsActive, IsSeen, OrderTimeFrom/To, OrderStatus, PayMethod,
  PayStatus, Bill/Ship name kana, ShipStatus, ShipCompanyCode, ShipInvoiceNumber1/2,
  ShipDateFrom/To, ItemId, SubCode; ``LastUpdateTime`` is an output Field only. So
  ``fetch_orders`` lists NEW orders (OrderTime from the cursor on), and changes to older orders
  are found by ``recheck_orders`` (orderInfo per open order). ``orderInfo`` returns one order
  with ``Pay``/``Ship``/``Detail`` groups and repeated ``Item``s. A single element and many
  parse alike here (findall, never a dict).
- orderInfo for an OrderId Yahoo! does not know: the status and error code are UNVERIFIED (no
  vendor sample); any 4xx or a ``Status`` other than OK is taken as "this order, not the call".
- ``setStock`` is form-encoded: ``item_code=code[:subcode],…`` and ``quantity=n,…`` (≤1,000
  codes; a plain number is absolute); per-item failures carry ``<ErrorCode>``.
- Live stock (reconciliation): ``getStock`` is a form POST like setStock (``seller_id``,
  ``item_code=code[:subcode],…`` ≤ 1,000 codes), answering one ``<Result>`` per code with
  ``ItemCode``, ``SubCode`` and ``Quantity`` (request: developer.yahoo.co.jp/webapi/shopping/
  getStock.html; response elements as read by JSPSystem/yahoo-shopping-api-client, contract §7:
  response XML is assembled, low confidence, so a code without a Result is reported, not
  guessed). No rate limit is published; the connector's one bucket (1 call/s) serves it too.
- ``orderShipStatusChange`` sets ``ShipStatus`` 3 (出荷済み) with ``ShipCompanyCode``,
  ``ShipInvoiceNumber1`` and ``ShipDate`` (``YYYYMMDD``).
- Errors are ``<Error><Message>…</Message><Code>…</Code></Error>``.

Ichigen's 注文番号 for a Yahoo! order is its OrderId (``<sellerId>-10000001``).
"""

from __future__ import annotations

import base64
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import Field, SecretStr

from sync.connectors import live as live_read
from sync.connectors.base import ORDER_PROBLEMS, ChannelSettings, OrderPage, order_problem, skipped_order
from sync.connectors.http import MallHttp, TokenBucket
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

DEFAULT_BASE_URL = "https://circus.shopping.yahooapis.jp/ShoppingWebService/V1"
DEFAULT_TOKEN_URL = "https://auth.login.yahoo.co.jp/yconnect/v2/token"
# A first run (no cursor yet) looks this far back from `until`.
FIRST_RUN_LOOKBACK = timedelta(days=30)
# Refresh the access token this long before YConnect says it expires.
TOKEN_MARGIN_SECONDS = 60.0
# setStock takes at most 1,000 item codes per call (vendor page).
MAX_STOCK_CODES = 1000
# recheck_orders yields a page after this many orderInfo calls (one call per order).
RECHECK_PAGE_SIZE = 20

LIST_FIELDS = "OrderId,Version,OrderTime,LastUpdateTime,OrderStatus,PayStatus,ShipStatus"
INFO_FIELDS = (
    "OrderId,Version,OrderTime,LastUpdateTime,OrderStatus,StoreStatus,PayStatus,PayMethod,PayMethodName,"
    "BillLastName,BillFirstName,BillZipCode,BillPrefecture,BillCity,BillAddress1,BillAddress2,"
    "BillPhoneNumber,ShipStatus,ShipMethodName,ShipCompanyCode,ShipInvoiceNumber1,ShipDate,"
    "ShipLastName,ShipFirstName,ShipZipCode,ShipPrefecture,ShipCity,ShipAddress1,ShipAddress2,"
    "ShipPhoneNumber,PayCharge,ShipCharge,GiftWrapCharge,Discount,UsePoint,TotalPrice,SettleAmount,"
    "LineId,ItemId,Title,SubCode,SubCodeOption,UnitPrice,Quantity"
)

# Yahoo!'s ShipCompanyCode per Ichigen carrier. 1001/1002/1003/1006 come from public clients'
# mappings, not a vendor list: UNVERIFIED. 西濃運輸 was found in no client; その他 has no code.
# Without a code the order is still marked shipped with its tracking number. ``carrier_codes``
# in the settings overrides or completes this table.
SHIP_COMPANY_CODES: Mapping[str, str | None] = {
    "ヤマト運輸": "1001",
    "佐川急便": "1002",
    "日本郵便": "1003",
    "福山通運": "1006",
    "西濃運輸": None,
    "その他": None,
}

# How a Yahoo! order becomes an Ichigen ステータス. First matching row wins; a condition is
# "<field> = <value>[ | <value>…]" on orderInfo fields, or "otherwise". The note, when not empty,
# goes to the order's 要確認 reasons. OrderStatus 2 処理中 / 5 完了 and ShipStatus 0–4 are from
# public clients; OrderStatus 1 予約中 / 3 保留 / 4 キャンセル and PayStatus 0 未入金 / 1 入金済
# are UNVERIFIED (no vendor page reached).
STATUS_TABLE: tuple[tuple[str, OrderStatus, str], ...] = (
    ("OrderStatus = 4", "キャンセル", ""),
    ("ShipStatus = 3 | 4", "出荷済", ""),
    ("OrderStatus = 5", "出荷済", ""),
    ("OrderStatus = 3", "保留", "Yahoo!で保留中の注文です。ストアクリエイターProで理由を確認してください"),
    ("OrderStatus = 1", "保留", "Yahoo!の予約注文です。発送可能日を確認してください"),
    ("PayStatus = 0", "入金待ち", ""),
    ("ShipStatus = 2", "発送待ち", ""),
    ("OrderStatus = 2", "新規", ""),
    (
        "otherwise",
        "保留",
        "Yahoo!の注文ステータス「{OrderStatus}」は対応表にありません。ストアクリエイターProで確認してください",
    ),
)


class Settings(ChannelSettings):
    """``[malls.<channel>]`` with ``type = "yahoo"``."""

    type: Literal["yahoo"]
    mall: str = "Yahoo!"
    # The Store API base; the sandbox is https://test.circus.shopping.yahooapis.jp/ShoppingWebService/V1.
    base_url: str = Field(DEFAULT_BASE_URL, pattern=r"^https?://\S+$")
    # YConnect v2 token endpoint (refresh-token grant).
    token_url: str = Field(DEFAULT_TOKEN_URL, pattern=r"^https?://\S+$")
    # The YConnect application's Client ID and secret (HTTP Basic on the token endpoint).
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    # YConnect refresh token from the store's authorisation (expires after about 4 weeks).
    refresh_token: SecretStr
    # ストアアカウント (seller ID); sandbox IDs start with "snbx-".
    seller_id: str = Field(min_length=1)
    # The 公開鍵 issued in ストアクリエイターPro for 公開鍵認証 (PEM text) and its version.
    public_key: SecretStr
    public_key_version: str = Field("1", min_length=1)
    # orderList page size ("Result"); public clients use up to 2000.
    page_size: int = Field(500, ge=1, le=2000)
    # No longer used; kept so existing settings files still load. It was how far before the
    # cursor every fetch listed orders again to find updates; updates are now found by
    # ``recheck_orders`` on the open orders, every ``recheck_minutes``.
    revisit_days: int = Field(14, ge=0, le=90)
    # One orderList call spans at most this many days of OrderTime (vendor limit unknown).
    window_days: int = Field(30, ge=1, le=62)
    stock_batch_size: int = Field(MAX_STOCK_CODES, ge=1, le=MAX_STOCK_CODES)
    calls_per_second: float = Field(1.0, gt=0)
    bucket_size: int = Field(1, ge=1)
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0)
    # Extra or corrected ShipCompanyCode per Ichigen carrier, e.g. {"西濃運輸" = "…"}.
    carrier_codes: dict[str, str] = Field(default_factory=dict)


# --------------------------------------------------------------------- mapping


def map_status(info: ET.Element) -> OrderStatus:
    """The Ichigen ステータス of a Yahoo! orderInfo ``<OrderInfo>``, by ``STATUS_TABLE``."""
    return status_row(info)[1]


def status_note(info: ET.Element) -> str:
    return status_row(info)[2].format(OrderStatus=_field(info, "OrderStatus"))


def status_row(info: ET.Element) -> tuple[str, OrderStatus, str]:
    return next(row for row in STATUS_TABLE if _condition_holds(row[0], info))


def _condition_holds(condition: str, info: ET.Element) -> bool:
    if condition == "otherwise":
        return True
    name, _, values = condition.partition(" = ")
    return _field(info, name) in {v.strip() for v in values.split("|")}


def parse_xml(mall: str, text: str | bytes) -> ET.Element:
    """The root element; anything not XML is the mall breaking its own contract."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise MallPayloadError(f"{mall}から想定外の応答がありました（XMLではありません）") from exc


def map_order_list(root: ET.Element, mall: str = "Yahoo!") -> tuple[int, list[tuple[str, datetime]]]:
    """An orderList answer: (TotalCount, [(OrderId, LastUpdateTime)…]). One OrderInfo or many alike."""
    # The root is <Result> (not <ResultSet>) with <Status> and <Search>.
    _check_status(root, mall)
    search = root.find("Search") if root.tag != "Search" else root
    if search is None:
        raise MallPayloadError(f"{mall}の注文検索の応答に Search がありません")
    total = _int(_text(search.findtext("TotalCount")) or "0", "TotalCount", mall)
    found = []
    for info in search.findall("OrderInfo"):
        order_id = _text(info.findtext("OrderId"))
        if not order_id:
            raise MallPayloadError(f"{mall}の注文検索の応答に OrderId のない注文があります")
        found.append((order_id, _time(info.findtext("LastUpdateTime"), "LastUpdateTime", mall)))
    return total, found


def map_order_info(root: ET.Element, mall: str = "Yahoo!") -> Order:
    """An orderInfo answer (``<ResultSet><Result><OrderInfo>``) as an Order. Pure."""
    _check_status(root.find("Result") if root.find("Result") is not None else root, mall)
    infos = root.findall(".//OrderInfo")
    if len(infos) != 1:
        raise MallPayloadError(f"{mall}の注文詳細の応答に注文が{len(infos)}件あります（1件のはずです）")
    return map_order(infos[0], mall)


def map_order(info: ET.Element, mall: str = "Yahoo!") -> Order:
    """One ``<OrderInfo>`` from orderInfo as Ichigen's canonical Order. Pure."""
    order_id = _field(info, "OrderId")
    if not order_id:
        raise MallPayloadError(f"{mall}の注文データに OrderId がありません")
    review: list[str] = []
    note = status_note(info)
    if note:
        review.append(note)
    buyer = _address(info, "Bill")
    if not buyer.name:
        review.append("購入者名がありません")
    delivery = _address(info, "Ship")
    if not (delivery.address and delivery.postcode):
        review.append("お届け先の住所または郵便番号が空です")
    if not delivery.phone:
        review.append("お届け先の電話番号がありません（送り状に必要です）")
    lines = _lines(info, review, mall)
    return Order(
        mall=mall,
        order_number=order_id,
        ordered_at=_time(_field(info, "OrderTime"), "OrderTime", mall),
        updated_at=_time(_field(info, "LastUpdateTime") or _field(info, "OrderTime"), "LastUpdateTime", mall),
        status=map_status(info),
        # PayMethod is a store-specific code ("payment_a1"); PayMethodName is what staff know.
        payment_method=_field(info, "PayMethodName") or _field(info, "PayMethod"),
        buyer=buyer,
        delivery=delivery,
        # Detail/TotalPrice: the order total, 送料 and 手数料 included, before points are used.
        total=_yen(_field(info, "TotalPrice"), "TotalPrice", mall),
        shipping_fee=_yen(_field(info, "ShipCharge"), "ShipCharge", mall),
        note=_note(info),
        lines=lines,
        review=tuple(dict.fromkeys(review)),
    )


def _lines(info: ET.Element, review: list[str], mall: str) -> tuple[OrderLine, ...]:
    lines = []
    for number, item in enumerate(info.findall(".//Item"), start=1):
        # ItemId is the store's 商品コード; SubCode the 個別商品コード of a variation (may be empty).
        item_id = _text(item.findtext("ItemId"))
        sub_code = _text(item.findtext("SubCode"))
        title = _text(item.findtext("Title"))
        option = _text(item.findtext("SubCodeOption"))
        line_id = _text(item.findtext("LineId"))
        quantity = _int(_text(item.findtext("Quantity")) or "0", "Quantity", mall)
        if not item_id and quantity > 0:
            review.append(f"明細{number}「{title}」に商品コードがありません。商品の対応を確認してください")
        lines.append(
            OrderLine(
                line_number=int(line_id) if line_id.isdigit() and int(line_id) >= 1 else number,
                mall_item_code=item_id,
                mall_sku=sub_code,
                name=f"{title}（{option}）" if option else title,
                quantity=max(0, quantity),
                # UnitPrice is tax-included, like every price shown to Japanese buyers (UNVERIFIED).
                unit_price=_yen(item.findtext("UnitPrice"), "UnitPrice", mall),
            )
        )
    return tuple(lines)


def _address(info: ET.Element, prefix: str) -> Address:
    # Yahoo! splits 姓 (LastName) and 名 (FirstName) and the address into 都道府県/市区町村/番地/建物.
    name = " ".join(p for p in (_field(info, f"{prefix}LastName"), _field(info, f"{prefix}FirstName")) if p)
    head = "".join(_field(info, f"{prefix}{part}") for part in ("Prefecture", "City", "Address1"))
    address = " ".join(p for p in (head, _field(info, f"{prefix}Address2")) if p)
    return Address(
        name=name,
        postcode=_postcode(_field(info, f"{prefix}ZipCode")),
        address=address,
        phone=unicodedata.normalize("NFKC", _field(info, f"{prefix}PhoneNumber")),
        email=_field(info, f"{prefix}MailAddress"),  # BillMailAddress for the buyer
    )


def _postcode(value: str) -> str:
    # ZipCode comes as seven digits ("1020094"); labels want 102-0094.
    digits = unicodedata.normalize("NFKC", value).replace("-", "")
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 and digits.isdigit() else digits


def _note(info: ET.Element) -> str:
    parts = []
    for label, name in (("配送方法", "ShipMethodName"), ("ポイント利用", "UsePoint"), ("値引き", "Discount")):
        value = _field(info, name)
        if value and value != "0":
            parts.append(f"{label}: {value}")
    return "\n".join(parts)


def _field(info: ET.Element, name: str) -> str:
    # Group placement (Pay/Ship/Detail) is partly inferred in every public source, so an
    # order-level field is looked up anywhere under <OrderInfo> except inside <Item>.
    direct = info.find(name)
    if direct is not None:
        return _text(direct.text)
    for group in info:
        if group.tag != "Item":
            found = group.find(f".//{name}")
            if found is not None:
                return _text(found.text)
    return ""


def _check_status(element: ET.Element | None, mall: str) -> None:
    status = _text(element.findtext("Status")) if element is not None else ""
    if status and status != "OK":
        raise MallRejected(f"{mall}が処理できませんでした（Status: {status}）")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _int(value: str, what: str, mall: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise MallPayloadError(f"{mall}の数値「{value}」（{what}）を読めません") from None


def _yen(value: Any, what: str, mall: str = "Yahoo!") -> int:
    text = _text(value)
    if not text:
        return 0
    try:
        return max(0, round(float(text)))
    except ValueError:
        raise MallPayloadError(f"{mall}の金額「{text}」（{what}）を読めません") from None


def _time(value: Any, what: str, mall: str = "Yahoo!") -> datetime:
    """Responses carry ISO-8601 with +09:00 (fixtures); the request form YYYYMMDDhhmmss is JST."""
    text = _text(value)
    try:
        if len(text) == 14 and text.isdigit():
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=JST)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MallPayloadError(f"{mall}の日時「{text}」（{what}）を読めません") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)).astimezone(JST)


def yahoo_time(moment: datetime) -> str:
    """YYYYMMDDhhmmss in JST, as orderList conditions want."""
    return moment.astimezone(JST).strftime("%Y%m%d%H%M%S")


def ship_company_code(carrier: Carrier | str, overrides: Mapping[str, str] | None = None) -> str | None:
    """Yahoo!'s ShipCompanyCode for an Ichigen carrier (None: send none)."""
    if overrides and carrier in overrides:
        return overrides[carrier]
    return SHIP_COMPANY_CODES.get(carrier)


def signature(public_key_pem: str, seller_id: str, unixtime: int) -> str:
    """X-sws-signature: base64(RSA PKCS#1 v1.5 encryption of "<sellerId>:<unixtime>")."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("utf-8"))
    except ValueError as exc:
        raise MallAuthError("Yahoo!の公開鍵（public_key）を読めません。PEM形式で設定してください") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise MallAuthError("Yahoo!の公開鍵（public_key）がRSA鍵ではありません")
    encrypted = key.encrypt(f"{seller_id}:{unixtime}".encode(), padding.PKCS1v15())
    return base64.b64encode(encrypted).decode("ascii")


def order_list_request(
    seller_id: str, start: int, result: int, time_from: datetime, time_to: datetime
) -> str:
    return (
        "<Req><Search>"
        f"<Result>{result}</Result><Start>{start}</Start><Sort>+order_time</Sort>"
        f"<Condition><OrderTimeFrom>{yahoo_time(time_from)}</OrderTimeFrom>"
        f"<OrderTimeTo>{yahoo_time(time_to)}</OrderTimeTo></Condition>"
        f"<Field>{LIST_FIELDS}</Field>"
        f"</Search><SellerId>{escape(seller_id)}</SellerId></Req>"
    )


def order_info_request(seller_id: str, order_id: str) -> str:
    return (
        f"<Req><Target><OrderId>{escape(order_id)}</OrderId><Field>{INFO_FIELDS}</Field></Target>"
        f"<SellerId>{escape(seller_id)}</SellerId></Req>"
    )


def ship_request(seller_id: str, shipment: Shipment, company_code: str | None) -> str:
    code = f"<ShipCompanyCode>{company_code}</ShipCompanyCode>" if company_code else ""
    return (
        f"<Req><Target><OrderId>{escape(shipment.order_number)}</OrderId>"
        # Every observed client sends IsPointFix=true when marking an order shipped.
        "<IsPointFix>true</IsPointFix></Target>"
        f"<Order><Ship><ShipStatus>3</ShipStatus>{code}"
        f"<ShipInvoiceNumber1>{escape(shipment.tracking_number)}</ShipInvoiceNumber1>"
        f"<ShipDate>{shipment.shipped_at.astimezone(JST):%Y%m%d}</ShipDate></Ship></Order>"
        f"<SellerId>{escape(seller_id)}</SellerId></Req>"
    )


def error_reason(text: str) -> str:
    """``<Error><Message>…</Message><Code>…</Code></Error>`` as "message（code）"."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return text[:200]
    error = root if root.tag == "Error" else root.find(".//Error")
    if error is None:
        return text[:200]
    message, code = _text(error.findtext("Message")), _text(error.findtext("Code"))
    return f"{message}（{code}）" if code else message or text[:200]


# ------------------------------------------------------------------- connector


class Connector:
    """Yahoo!ショッピング over the Store API; one instance per ``[malls.<channel>]`` section."""

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: requests.Session,
        project_root: Path,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,  # the signature's unixtime
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.mall = settings.mall
        self.display_name = settings.display_name or settings.mall
        self.settings = settings
        self._clock = clock or (lambda: datetime.now(JST))
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        bucket = TokenBucket(settings.calls_per_second, settings.bucket_size, clock=monotonic, sleep=sleep)
        policy = RetryPolicy(max_retries=settings.max_retries)
        self._http = MallHttp(
            mall=settings.mall,
            base_url=settings.base_url.rstrip("/"),
            session=session,
            bucket=bucket,
            policy=policy,
            timeout=settings.timeout_seconds,
            sleep=sleep,
        )

    # -- orders

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """New orders: placed in [since, until] (the last FIRST_RUN_LOOKBACK on a first run),
        listed with orderList and read with orderInfo; one OrderPage per orderList page.

        orderList cannot filter by LastUpdateTime (module docstring), so older orders are not
        listed again here: ``recheck_orders`` re-reads the open ones. The engine already starts
        a little before the stored cursor. Listed orders whose LastUpdateTime is after `until`
        wait for the next run. The cursor (newest LastUpdateTime) is given with the last page
        only: pages come in order time, so an earlier cursor could pass over a later page.

        An order whose orderInfo does not map (a quantity or amount beyond vocabulary/limits.py,
        a field missing) is skipped and described in its page's ``errors`` (base.py); the other
        orders go in. The cursor then stays at this fetch's start: the last page gives none (the
        stored cursor stays, so the next run lists the same order times again) or, on a first
        run, the start itself. The cursor is a LastUpdateTime while orderList filters by
        OrderTime, so a cursor held at the skipped order's own time could pass over orders
        listed before it that wait for the next run (updated after `until`); the fetch start
        cannot, as the next run lists everything this one listed.
        """
        until = until if until.tzinfo else until.replace(tzinfo=JST)
        changed_since = self._parse_cursor(since) if since else None
        start = changed_since if changed_since else until - FIRST_RUN_LOOKBACK
        first_start = start
        windows = []
        while start < until:
            end = min(until, start + timedelta(days=self.settings.window_days))
            windows.append((start, end))
            start = end + timedelta(seconds=1)  # OrderTimeTo is inclusive to the second
        newest: datetime | None = None
        skipped = False
        pages: list[list[str]] = []
        for time_from, time_to in windows:
            for found in self._list_window(time_from, time_to):
                wanted = []
                for order_id, updated in found:
                    if (changed_since is None or updated >= changed_since) and updated <= until:
                        wanted.append(order_id)
                        newest = max(newest, updated) if newest else updated
                pages.append(wanted)
                if len(pages) > 1:
                    orders, errors = self._read_new(pages.pop(0))
                    skipped = skipped or bool(errors)
                    yield OrderPage(orders, None, errors)
        orders, errors = self._read_new(pages.pop() if pages else [])
        skipped = skipped or bool(errors)
        if skipped:
            cursor = None if changed_since else _iso(first_start)
        else:
            cursor = _iso(newest) if newest else None
        yield OrderPage(orders, cursor, errors)

    def _read_new(self, order_ids: list[str]) -> tuple[list[Order], tuple[str, ...]]:
        """orderInfo for listed orders: those that map, and the others described (skipped)."""
        orders: list[Order] = []
        errors: list[str] = []
        for order_id in order_ids:
            root = self._xml("orderInfo", order_info_request(self.settings.seller_id, order_id), signed=True)
            try:
                orders.append(map_order_info(root, self.mall))
            except ORDER_PROBLEMS as exc:
                errors.append(skipped_order(self.mall, order_id, exc))
        return orders, tuple(errors)

    def recheck_orders(self, order_numbers: Sequence[str], *, until: datetime) -> Iterator[OrderPage]:
        """The current versions of exactly these orders (``Rechecks`` in base.py): one orderInfo
        call each under the connector's rate limiter, a page every RECHECK_PAGE_SIZE orders,
        ``cursor`` always None.

        An order Yahoo! refuses to show (unknown OrderId: a 4xx or a Status other than OK) or
        whose answer cannot be mapped is skipped and described in the page's ``errors``.
        Refused credentials or signatures, an answer that is not XML and a Yahoo! that stays
        down raise as in ``fetch_orders``.
        """
        numbers = list(dict.fromkeys(n.strip() for n in order_numbers if n and n.strip()))
        for page_start in range(0, len(numbers), RECHECK_PAGE_SIZE):
            orders: list[Order] = []
            errors: list[str] = []
            for order_id in numbers[page_start : page_start + RECHECK_PAGE_SIZE]:
                body = order_info_request(self.settings.seller_id, order_id)
                try:
                    root = self._xml("orderInfo", body, signed=True)
                except MallAuthError:
                    raise
                except MallRejected as exc:  # e.g. an OrderId Yahoo! does not know
                    errors.append(f"{self.mall}の注文 {order_id} を読み直せませんでした: {exc}")
                    continue
                if root.tag not in ("ResultSet", "Result"):  # e.g. a maintenance page: the service
                    raise MallPayloadError(f"{self.mall}から想定外の応答がありました（{root.tag}）")
                try:
                    order = map_order_info(root, self.mall)
                except (MallRejected, *ORDER_PROBLEMS) as exc:  # Status NG, or this order unreadable
                    errors.append(
                        f"{self.mall}の注文 {order_id} を読み直せませんでした: {order_problem(exc)}"
                    )
                    continue
                if order.order_number != order_id:
                    errors.append(
                        f"{self.mall}の注文 {order_id} を読み直せませんでした: 別の注文（{order.order_number}）が返されました"
                    )
                    continue
                orders.append(order)
            yield OrderPage(orders, None, tuple(errors))

    def _list_window(self, time_from: datetime, time_to: datetime) -> Iterator[list[tuple[str, datetime]]]:
        start, size = 1, self.settings.page_size
        while True:
            body = order_list_request(self.settings.seller_id, start, size, time_from, time_to)
            root = self._xml("orderList", body, signed=True)
            total, found = map_order_list(root, self.mall)
            yield found
            start += size
            if not found or start > total:
                return

    def _parse_cursor(self, cursor: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(cursor)
        except ValueError:
            raise SyncError(f"{self.display_name}の保存済みカーソル「{cursor}」を読めません") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)

    # -- stock

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Absolute quantities through setStock, up to ``stock_batch_size`` item codes a call."""
        results: list[PushResult | None] = [None] * len(levels)
        sendable: list[tuple[int, str]] = []
        for index, level in enumerate(levels):
            code = _stock_code(level)
            if code is None:
                results[index] = self._failed(
                    level, f"商品コード「{level.mall_item_code}」は{self.mall}の商品コードとして送れません"
                )
            else:
                sendable.append((index, code))
        size = self.settings.stock_batch_size
        for offset in range(0, len(sendable), size):
            batch = sendable[offset : offset + size]
            try:
                outcome = self._set_stock([(code, levels[i].quantity) for i, code in batch])
            except MallAuthError:
                raise
            except MallRejected as exc:
                for i, _ in batch:
                    results[i] = self._failed(levels[i], str(exc))
                continue
            except SyncError as exc:  # down or throttling: stop and report this batch and the rest
                for i, _ in sendable[offset:]:
                    results[i] = self._failed(levels[i], str(exc))
                break
            for i, code in batch:
                error = outcome.get(code, "")
                results[i] = (
                    self._failed(levels[i], error)
                    if error
                    else PushResult(mall=self.mall, sku=levels[i].sku, quantity=levels[i].quantity, ok=True)
                )
        return [r for r in results if r is not None]

    def _failed(self, level: StockLevel, error: str) -> PushResult:
        return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=False, error=error)

    def _set_stock(self, items: list[tuple[str, int]]) -> dict[str, str]:
        """Send one batch; returns item_code -> error text for the items Yahoo! refused."""
        form = {
            "seller_id": self.settings.seller_id,
            "item_code": ",".join(code for code, _ in items),
            # A plain number is absolute ("+N"/"-N" would be relative).
            "quantity": ",".join(str(q) for _, q in items),
        }
        # An absolute set is safe to repeat, so 5xx and timeouts are retried.
        root = self._call("setStock", data=form, signed=False)
        errors: dict[str, str] = {}
        for result in root.findall(".//Result"):
            code = _text(result.findtext("ItemCode"))
            sub_code = _text(result.findtext("SubCode"))
            key = f"{code}:{sub_code}" if sub_code else code
            error_code = _text(result.findtext("ErrorCode"))
            if error_code:
                message = _text(result.findtext("ErrorMessage"))
                errors[key] = f"{self.mall}が在庫数を受け付けませんでした（{error_code}）" + (
                    f": {message}" if message else ""
                )
        return errors

    # -- live stock (reconciliation)

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]:
        """Quantities Yahoo! shows, ``stock_batch_size`` item codes a getStock call."""
        answers: dict[int, LiveQuantity] = {}
        codes: dict[int, str] = {}
        for index, ref in enumerate(listings):
            code = _stock_code(ref)  # type: ignore[arg-type]  # the same two attributes
            if code is None:
                answers[index] = live_read.failed(
                    ref, f"商品コード「{ref.mall_item_code}」は{self.mall}の商品コードとして読めません"
                )
            else:
                codes[index] = code

        def read(batch: list[int]) -> dict[int, LiveQuantity]:
            form = {"seller_id": self.settings.seller_id, "item_code": ",".join(codes[i] for i in batch)}
            root = self._call("getStock", data=form, signed=False)
            shown: dict[str, str] = {}
            for result in root.findall(".//Result"):
                code, sub = _text(result.findtext("ItemCode")), _text(result.findtext("SubCode"))
                shown[f"{code}:{sub}" if sub else code] = _text(result.findtext("Quantity"))
            missing = f"{self.mall}に商品コード「{{}}」の在庫がありません（商品コード・個別商品コードを確認してください）"
            return {
                i: live_read.shown(
                    listings[i],
                    int(shown[codes[i]]) if shown.get(codes[i], "").isdigit() else shown.get(codes[i]),
                    missing=missing.format(codes[i]),
                )
                for i in batch
            }

        live_read.in_batches(listings, list(codes), self.settings.stock_batch_size, read, answers)
        return live_read.ordered(listings, answers)

    # -- shipments

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Mark the whole order 出荷済み with carrier code, tracking number and ship date.

        The Store API ships whole orders; ``shipment.lines`` is not sent. Setting the same
        status and tracking number again is accepted, so a retry after a lost answer is safe.
        """
        code = ship_company_code(shipment.carrier, self.settings.carrier_codes)
        body = ship_request(self.settings.seller_id, shipment, code)
        self._xml("orderShipStatusChange", body, signed=True)

    # -- HTTP

    def _xml(self, api: str, body: str, *, signed: bool) -> ET.Element:
        return self._call(
            api,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/xml; charset=utf-8"},
            signed=signed,
        )

    def _call(
        self, api: str, *, signed: bool, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> ET.Element:
        for attempt in (1, 2):
            all_headers = {"Authorization": f"Bearer {self._access_token()}", **(headers or {})}
            if signed:
                all_headers.update(self._signature_headers())
            try:
                response = self._http.request(
                    "POST",
                    f"/{api}",
                    headers=all_headers,
                    hooks={"response": [self._reject_with_reason]},
                    **kwargs,
                )
            except _TokenRejected:
                if attempt == 2:
                    raise MallAuthError(
                        f"{self.mall}がアクセストークンを受け付けませんでした。YConnectの設定を確認してください"
                    ) from None
                self._token = None  # revoked or expired early: refresh once and try again
                continue
            status = response.headers.get("X-SWS-Authorize-Status")
            if signed and status is not None and status != "authorized":
                raise MallAuthError(_SIGNATURE_MESSAGE.format(mall=self.mall, status=status))
            return parse_xml(self.mall, response.content)
        raise AssertionError("unreachable")

    def _reject_with_reason(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        code = response.status_code
        if code in (401, 403):
            challenge = response.headers.get("WWW-Authenticate", "")
            sws = response.headers.get("X-SWS-Authorize-Status")
            if sws is not None and sws != "authorized":
                raise MallAuthError(_SIGNATURE_MESSAGE.format(mall=self.mall, status=sws))
            if "invalid_token" in challenge:
                raise _TokenRejected(challenge)
            raise MallAuthError(
                f"{self.mall}の認証に失敗しました（HTTP {code}）: {error_reason(response.text) or challenge}"
            )
        if 400 <= code < 500 and code != 429:
            raise MallRejected(
                f"{self.mall}が受け付けませんでした（HTTP {code}）: {error_reason(response.text)}"
            )

    def _signature_headers(self) -> dict[str, str]:
        unixtime = int(self._clock().timestamp())
        pem = self.settings.public_key.get_secret_value()
        return {
            "X-sws-signature": signature(pem, self.settings.seller_id, unixtime),
            "X-sws-signature-version": self.settings.public_key_version,
        }

    def _access_token(self) -> str:
        if self._token is not None and self._monotonic() < self._token_expires:
            return self._token
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.settings.refresh_token.get_secret_value(),
        }
        auth = (self.settings.client_id, self.settings.client_secret.get_secret_value())
        try:
            response = self._http.request("POST", self.settings.token_url, data=form, auth=auth)
            body = response.json()
        except MallRejected as exc:  # 400 invalid_grant: the refresh token expired or was revoked
            raise MallAuthError(
                f"{self.mall}のリフレッシュトークンが使えません（有効期限は約4週間です）。"
                f"再認可して設定を更新してください: {exc}"
            ) from exc
        except ValueError as exc:
            raise MallPayloadError(f"{self.mall}のトークン応答がJSONではありません") from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise MallPayloadError(f"{self.mall}のトークン応答に access_token がありません")
        expires_in = body.get("expires_in", 3600)
        lifetime = float(expires_in) if str(expires_in).isdigit() else 3600.0
        self._token = token
        self._token_expires = self._monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        return token


_SIGNATURE_MESSAGE = "{mall}の公開鍵認証に失敗しました（{status}）。ストアクリエイターProの公開鍵と鍵バージョンを確認してください"


class _TokenRejected(MallAuthError):
    """The Bearer token was refused (expired or revoked): refresh and try once more."""


def _stock_code(level: StockLevel) -> str | None:
    # item_code is "itemcode" or "itemcode:subcode"; both lists are comma-separated.
    code, sub = level.mall_item_code.strip(), level.mall_sku.strip()
    if not code or any(c in code + sub for c in ",:"):
        return None
    return f"{code}:{sub}" if sub and sub != code else code


def _iso(moment: datetime) -> str:
    return moment.astimezone(JST).isoformat(timespec="seconds")
