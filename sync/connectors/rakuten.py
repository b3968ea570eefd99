"""楽天 through RMS WEB SERVICE: RakutenPayOrderAPI (orders, shipments) and Inventory API 2.0.

Vendor facts this module relies on (official RMS pages as reproduced and cross-checked in
../shared/contracts/README.md §3 of the development workspace):

- Every call carries ``Authorization: ESA Base64(serviceSecret:licenseKey)``; the licenseKey
  expires every 90 days and each API must be enabled per shop in RMS (else ``ES04-01``).
- Order calls are all ``POST`` with JSON, paths end with a slash (``…/order/searchOrder/``).
- searchOrder: ``dateType`` required (1 = 注文日); ``startDatetime``/``endDatetime`` exactly
  ``yyyy-MM-ddTHH:mm:ss+0900`` (no colon; any other form fails with ``…_ERROR_011``); the end at
  most 63 days after the start; ``PaginationRequestModel.requestRecordsAmount`` ≤ 1000; at most
  15,000 results are returnable; only ``sortColumn`` 1 (注文日時) is sortable.
- getOrder: ≤ 100 order numbers per call; ``version`` required, SKU fields need ≥ 7.
- Errors are ``MessageModelList`` entries with ``messageType: "ERROR"``, on 400 *and* on 200.
- There is no "changed since" search. searchOrder's ``dateType`` is one of 1 注文日, 2 注文確認日,
  3 注文確定日, 4 発送日, 5 発送完了報告日, 6 決済確定日 (contract §3, official page reproduction):
  none is an update time, and a cancellation or change request (``ChangeReasonModelList``,
  orderProgress 400/800/900) stamps none of them. So ``fetch_orders`` searches 注文日 from the
  cursor for NEW orders only, and changes to older orders are found by ``recheck_orders``,
  which re-reads given order numbers with getOrder.
- getOrder answers HTTP 200 with an ERROR ``MessageModelList`` entry carrying ``orderNumber`` for
  a number it does not know (contract §3: "getOrder can return 200 with WARNING/ERROR messages
  per order"); the other orders of the call are still in ``OrderModelList``.
- Money is whole yen; ``-9999`` means "not fixed yet".
- updateOrderShipping: per ``basketId``; ``deliveryCompany`` is a code ("1001"), not a name;
  ``shippingNumber`` ≤ 120 characters; ``shippingDate`` ``yyyy-MM-dd``.
- confirmOrder (注文確認): ``{"orderNumberList": [≤ 100]}``; each confirmed order gets an INFO
  ``ORDER_EXT_API_CONFIRM_ORDER_INFO_101`` entry naming it and moves from orderProgress 100
  注文確認待ち to 300 発送待ち (contract §3, response shape from a public client test). What it
  answers for an order that is no longer at 100 is not documented (contract §6), so the
  progress is always read back with getOrder: an order past 100 counts as confirmed, whatever
  confirmOrder said. RMS refuses updateOrderShipping for an order still at 100 (Ichigen got
  ``ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_002``; clients only ship after confirmOrder).
- Inventory API 2.0 ``inventories/bulk-upsert``: ≤ 400 items, 1 request/s, ``mode`` ABSOLUTE,
  204 on success, 400 ``{"errors":[{code, message, metadata.propertyPath}]}``; an unknown
  manageNumber/variantId is not an error; both are ≤ 32 bytes of ``[A-Za-z0-9_-]``.
- Live stock (reconciliation): ``POST /es/2.0/inventories/bulk-get``
  ``{"inventories": [{manageNumber, variantId} ≤ 1000]}`` answers
  ``{"inventories": [{manageNumber, variantId, quantity, created, updated}]}``; pairs RMS does
  not have are simply absent (no error); 5 requests/s for bulk-get, a limit of its own (RMS
  inventories.bulk.get 2.0/2.1 pages as reproduced in contract §3 and §6). manageNumber is
  lower-cased by RMS, variantId is case-sensitive.

Ichigen's 注文番号 for a 楽天 order is RMS's ``orderNumber`` ("123456-20180101-00068801").
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import requests
from pydantic import Field, SecretStr

from sync.connectors import live as live_read
from sync.connectors.base import (
    ORDER_PROBLEMS,
    ChannelSettings,
    Confirmations,
    OrderPage,
    held_cursor,
    order_problem,
    skipped_order,
)
from sync.connectors.http import MallHttp, TokenBucket, json_body
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

ORDER_API = "/es/2.0/order"
BULK_UPSERT = "/es/2.0/inventories/bulk-upsert"
BULK_GET = "/es/2.0/inventories/bulk-get"
BULK_GET_MAX = 1000
BULK_GET_CALLS_PER_SECOND = 5.0  # its own limit, beside bulk-upsert's 1/s
# A first run (no cursor yet) looks this far back from `until`.
FIRST_RUN_LOOKBACK = timedelta(days=30)
# searchOrder: endDatetime at most 63 days after startDatetime.
MAX_WINDOW = timedelta(days=63)
# searchOrder: results beyond this many are not returnable; the window is split instead.
SEARCH_RESULT_CAP = 15_000
# searchOrder: requestRecordsAmount 1…1000.
MAX_PAGE_SIZE = 1000
# getOrder (and confirmOrder): at most 100 order numbers a call.
GET_ORDER_CHUNK = 100
# getOrder `version`: SKU fields (SkuModelList) need ≥ 7; 10 is the newest documented.
GET_ORDER_VERSION = 7
# orderProgress 100: 注文確認待ち, the only progress confirmOrder moves (to 300 発送待ち).
AWAITING_CONFIRMATION = 100
# Inventory API 2.0 bulk-upsert: at most 400 items a call; quantities 0…99999.
BULK_UPSERT_MAX = 400
MAX_QUANTITY = 99_999
# manageNumber / variantId: ≤ 32 bytes of [A-Za-z0-9_-].
_INVENTORY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Order API time format: JST, no colon in the offset.
RMS_TIME = "%Y-%m-%dT%H:%M:%S+0900"
# -9999 in money fields: "not yet fixed".
UNFIXED = -9999

# updateOrderShipping deliveryCompany codes. 1001–1003 are in the contract's examples and tables;
# 1000 (その他), 1004 (西濃運輸) and 1006 (福山通運) are from RMS's code list as remembered and as
# used by Yahoo! clients for the same carriers: UNVERIFIED against a vendor page here.
DELIVERY_COMPANIES: Mapping[str, str] = {
    "ヤマト運輸": "1001",
    "佐川急便": "1002",
    "日本郵便": "1003",
    "西濃運輸": "1004",
    "福山通運": "1006",
    "その他": "1000",
}

# How a 楽天 order becomes an Ichigen ステータス, by ``orderProgress`` (RMS's 注文ステータス).
# Rows: (orderProgress, RMS's name for it, Ichigen ステータス, 要確認 reason or "").
STATUS_TABLE: tuple[tuple[int | None, str, OrderStatus, str], ...] = (
    (100, "注文確認待ち", "新規", ""),
    (200, "楽天処理中", "入金待ち", ""),
    (300, "発送待ち", "発送待ち", ""),
    (
        400,
        "変更確定待ち",
        "保留",
        "楽天で注文内容の変更が確定待ちです。RMSで変更を確定してから出荷してください",
    ),
    (500, "発送済", "出荷済", ""),
    (600, "支払手続き中", "出荷済", ""),
    (700, "支払手続き済", "出荷済", ""),
    (
        800,
        "キャンセル確定待ち",
        "保留",
        "楽天でキャンセル確定待ちです。出荷せず、RMSでキャンセルを確定してください",
    ),
    (900, "キャンセル確定", "キャンセル", ""),
    (
        None,
        "（その他）",
        "保留",
        "楽天の注文ステータス「{progress}」は対応表にありません。RMSで確認してください",
    ),
)


class Settings(ChannelSettings):
    """``[malls.<channel>]`` with ``type = "rakuten"``."""

    type: Literal["rakuten"]
    mall: str = "楽天"
    base_url: str = Field("https://api.rms.rakuten.co.jp", pattern=r"^https?://\S+$")
    # RMS → 拡張サービス → WEB APIサービス: the serviceSecret and the licenseKey (90 days).
    service_secret: SecretStr
    license_key: SecretStr
    # No longer used; kept so existing settings files still load. It was how far before the
    # cursor every fetch searched 注文日 again to find changes; changes are now found by
    # ``recheck_orders`` on the open orders, every ``recheck_minutes``.
    recheck_days: int = Field(30, ge=1, le=700)
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    # 注文確認 (confirmOrder, 100 注文確認待ち → 300 発送待ち). True: every new order is confirmed
    # right after it is imported, as a shop that ships whatever it sells wants (RMS refuses
    # shipping information for an unconfirmed order). False: an order is confirmed when staff
    # move it to 発送待ち in Ichigen, or at the latest when its shipment is sent to 楽天.
    confirm_on_import: bool = True
    # RakutenPayOrderAPI limit not published; third-party guidance is ≤ 1 request/s.
    order_calls_per_second: float = Field(1.0, gt=0)
    # Inventory API 2.0: 1 request/s for bulk-upsert.
    inventory_calls_per_second: float = Field(1.0, gt=0, le=1.0)
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0)


# --------------------------------------------------------------------- mapping


def status_row(raw: Mapping[str, Any]) -> tuple[int | None, str, OrderStatus, str]:
    """The ``STATUS_TABLE`` row for this order's ``orderProgress`` (the last row otherwise)."""
    progress = raw.get("orderProgress")
    return next(row for row in STATUS_TABLE if row[0] is None or row[0] == progress)


def map_status(raw: Mapping[str, Any]) -> OrderStatus:
    """The Ichigen ステータス of a 楽天 order, by ``STATUS_TABLE``."""
    return status_row(raw)[2]


def status_note(raw: Mapping[str, Any]) -> str:
    return status_row(raw)[3].format(progress=raw.get("orderProgress"))


def rms_time(moment: datetime) -> str:
    """A time as the order API wants it: ``2026-11-30T10:00:00+0900`` (no colon)."""
    return moment.astimezone(JST).strftime(RMS_TIME)


def parse_rms_time(value: Any, what: str, mall: str = "楽天") -> datetime:
    # Order API responses use the same colon-less "+0900" form as requests.
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z").astimezone(JST)
    except ValueError:
        raise MallPayloadError(f"{mall}の日時「{value}」（{what}）を読めません") from None


# Order datetimes that move when RMS records a step; the newest is the order's last change.
_STEP_TIMES = (
    "orderDatetime",
    "shopOrderCfmDatetime",
    "orderFixDatetime",
    "shippingInstDatetime",
    "shippingCmplRptDatetime",
)
# ChangeReasonModel: a cancellation or change request, applied, fixed and completed.
_CHANGE_TIMES = ("changeApplyDatetime", "changeFixDatetime", "changeCmplDatetime")


def changed_at(raw: Mapping[str, Any], mall: str = "楽天") -> datetime:
    """The newest datetime RMS recorded on the order (OrderModel has no "updated" field)."""
    times = [parse_rms_time(raw[k], k, mall) for k in _STEP_TIMES if raw.get(k)]
    for change in raw.get("ChangeReasonModelList") or ():
        times.extend(parse_rms_time(change[k], k, mall) for k in _CHANGE_TIMES if change.get(k))
    if not times:
        raise MallPayloadError(f"{mall}の注文 {raw.get('orderNumber')} に日時がありません")
    return max(times)


def map_order(raw: Mapping[str, Any], mall: str = "楽天") -> Order:
    """A getOrder OrderModel (version ≥ 7) as Ichigen's canonical Order. Pure."""
    number = raw.get("orderNumber")
    if not isinstance(number, str) or not number:
        raise MallPayloadError(f"{mall}の注文データに orderNumber がありません")
    review: list[str] = []
    note = status_note(raw)
    if note:
        review.append(note)
    packages = [p for p in raw.get("PackageModelList") or () if isinstance(p, Mapping)]
    live = [p for p in packages if not p.get("packageDeleteFlag")] or packages
    if not live:
        review.append("送付先（PackageModelList）がありません")
    senders = {_address_text(p.get("SenderModel") or {}) for p in live}
    if len(senders) > 1:
        review.append("送付先が複数ある注文です。送付先ごとに出荷してください")
    total = _yen(raw.get("totalPrice"), "totalPrice", mall, review)
    return Order(
        mall=mall,
        order_number=number,
        ordered_at=parse_rms_time(raw.get("orderDatetime"), "orderDatetime", mall),
        updated_at=changed_at(raw, mall),
        status=map_status(raw),
        payment_method=_text((raw.get("SettlementModel") or {}).get("settlementMethod")),
        buyer=_person(raw.get("OrdererModel") or {}),
        delivery=_person(live[0].get("SenderModel") or {}) if live else Address(),
        # totalPrice: 合計金額 (商品 + 送料 + 代引料, tax included), before coupons and points.
        total=total,
        # postagePrice: 送料 for the whole order.
        shipping_fee=_yen(raw.get("postagePrice"), "postagePrice", mall, review),
        note=_note(raw),
        lines=_lines(packages, review),
        review=tuple(dict.fromkeys(review)),
    )


def _yen(value: Any, what: str, mall: str, review: list[str]) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MallPayloadError(f"{mall}の金額「{value}」（{what}）を読めません")
    if int(value) == UNFIXED:
        review.append(f"楽天で金額（{what}）がまだ確定していません。確定後に金額を確認してください")
        return 0
    return max(0, int(value))


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _address_text(person: Mapping[str, Any]) -> str:
    # Japanese order: 都道府県, 市区町村, then the rest (番地・建物) as typed.
    return "".join(_text(person.get(k)) for k in ("prefecture", "city", "subAddress"))


def _person(person: Mapping[str, Any]) -> Address:
    """OrdererModel (購入者) or SenderModel (送付先: RMS's name for the delivery address)."""
    name = " ".join(t for t in (_text(person.get("familyName")), _text(person.get("firstName"))) if t)
    zips = [_text(person.get("zipCode1")), _text(person.get("zipCode2"))]
    phones = [_text(person.get(f"phoneNumber{i}")) for i in (1, 2, 3)]
    return Address(
        name=name,
        postcode="-".join(z for z in zips if z),
        address=_address_text(person),
        phone="-".join(p for p in phones if p),
        # RMS gives a relay address (…@pc.fw.rakuten.ne.jp) in OrdererModel.emailAddress.
        email=_text(person.get("emailAddress")),
    )


def _lines(packages: list[Mapping[str, Any]], review: list[str]) -> tuple[OrderLine, ...]:
    lines = []
    number = 0
    for package in packages:
        for item in package.get("ItemModelList") or ():
            number += 1
            lines.append(
                map_line(number, item, deleted=bool(package.get("packageDeleteFlag")), review=review)
            )
    return tuple(lines)


def map_line(
    number: int, item: Mapping[str, Any], *, deleted: bool = False, review: list[str] | None = None
) -> OrderLine:
    """One ItemModel. SKU = manageNumber + SkuModelList[].variantId (getOrder version ≥ 7);
    orders from before the SKU migration have no SkuModelList, only itemNumber (商品番号 +
    選択肢ID) and manageNumber."""
    review = review if review is not None else []
    name = _text(item.get("itemName"))
    manage = _text(item.get("manageNumber"))
    item_number = _text(item.get("itemNumber"))
    skus = [s for s in item.get("SkuModelList") or () if isinstance(s, Mapping)]
    if len(skus) > 1:
        review.append(f"明細{number}「{name}」に楽天のSKUが複数あります。明細を確認してください")
    if skus:
        variant = _text(skus[0].get("variantId"))
        seller = _text(skus[0].get("merchantDefinedSkuId"))
    else:
        variant, seller = "", item_number
    # deleteItemFlag 1 (or a deleted package): the line was removed from the order.
    quantity = 0 if deleted or item.get("deleteItemFlag") else max(0, int(item.get("units") or 0))
    # priceTaxIncl: unit price with tax; older payloads only have price (includeTaxFlag says which).
    price = item.get("priceTaxIncl")
    if not isinstance(price, int) or isinstance(price, bool) or price == UNFIXED:
        price = item.get("price")
        if not item.get("includeTaxFlag") and isinstance(price, int) and price >= 0:
            review.append(f"明細{number}「{name}」の単価が税抜です")
    unit_price = price if isinstance(price, int) and not isinstance(price, bool) and price >= 0 else 0
    return OrderLine(
        line_number=number,
        mall_item_code=manage or item_number,
        mall_sku=variant,
        seller_sku=seller,
        name=name,
        quantity=quantity,
        unit_price=unit_price,
    )


def _note(raw: Mapping[str, Any]) -> str:
    # remarks: the buyer's 備考 incl. "[配送日時指定:]"; memo: the shop's ひとことメモ.
    parts = [_text(raw.get("remarks")), _text(raw.get("memo"))]
    return "\n".join(p for p in parts if p)


def delivery_company(carrier: Carrier | str) -> str:
    """RMS's deliveryCompany code for an Ichigen carrier."""
    return DELIVERY_COMPANIES.get(carrier, "")


def message_errors(body: Any) -> list[Mapping[str, Any]]:
    """The ERROR entries of a MessageModelList (present on 200 answers too)."""
    messages = body.get("MessageModelList") if isinstance(body, Mapping) else None
    return [m for m in messages or () if isinstance(m, Mapping) and m.get("messageType") == "ERROR"]


def describe_messages(messages: Sequence[Mapping[str, Any]]) -> str:
    return " / ".join(
        f"{_text(m.get('message'))}（{_text(m.get('messageCode'))}"
        + (f"、{m['orderNumber']}" if m.get("orderNumber") else "")
        + "）"
        for m in messages
    )


def windows(start: datetime, end: datetime, size: timedelta = MAX_WINDOW) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows of at most `size` (whole seconds)."""
    cuts = []
    while start < end:
        stop = min(end, start + size)
        cuts.append((start, stop))
        start = stop
    return cuts


# ------------------------------------------------------------------- connector


class _Refused(Exception):
    """Inventory API 400: the call was refused, maybe because of some entries only."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Unsendable(Exception):
    """A stock level RMS would refuse; reported without a request."""


class _RmsMessages(MallRejected):
    """RMS answered with ERROR ``MessageModelList`` entries (on HTTP 200 or 400). Keeps the
    entries and the whole answer, so a getOrder whose only errors name single orders can go on
    with the rest."""

    def __init__(self, text: str, messages: Sequence[Mapping[str, Any]], body: Any) -> None:
        super().__init__(text)
        self.messages = list(messages)
        self.body = body


class Connector:
    """楽天 RMS; one instance per ``[malls.<channel>]`` section."""

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
        self._clock = clock or (lambda: datetime.now(JST))
        secret = f"{settings.service_secret.get_secret_value()}:{settings.license_key.get_secret_value()}"
        headers = {
            "Authorization": "ESA " + base64.b64encode(secret.encode("utf-8")).decode("ascii"),
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
        }

        def http(rate: float) -> MallHttp:
            return MallHttp(
                mall=settings.mall,
                base_url=settings.base_url.rstrip("/"),
                session=session,
                bucket=TokenBucket(rate, 1, clock=monotonic, sleep=sleep),
                policy=RetryPolicy(max_retries=settings.max_retries),
                timeout=settings.timeout_seconds,
                sleep=sleep,
                headers=headers,
            )

        self._orders_http = http(settings.order_calls_per_second)
        self._inventory_http = http(settings.inventory_calls_per_second)
        self._read_http: MallHttp | None = None  # bulk-get's own limit, made on first read

    # -- credentials

    def _check_key(self, today: date) -> None:
        expires = self.settings.credential_expires_on
        if expires is not None and today > expires:
            raise MallAuthError(
                f"{self.display_name}のライセンスキー（licenseKey）は{expires:%Y-%m-%d}で有効期限が切れています。"
                "RMSの「WEB APIサービス」で新しいライセンスキーを発行し、設定の license_key と"
                " credential_expires_on を更新してください"
            )

    # -- orders

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """New orders: ordered in [cursor, until] (the last FIRST_RUN_LOOKBACK on a first run),
        searched by 注文日 in windows of at most 63 days, then read with getOrder 100 at a time;
        one OrderPage per getOrder call.

        The cursor is the newest change (``changed_at``) committed so far, ISO with +09:00; the
        engine already starts a little before it, so orders RMS lists late are not missed. A
        steady cycle with no new orders costs one searchOrder call. RMS cannot search by change
        time (see the module docstring), so changes to older orders are not looked for here:
        ``recheck_orders`` re-reads the open ones.
        """
        until = until if until.tzinfo else until.replace(tzinfo=JST)
        self._check_key(until.astimezone(JST).date())
        start = self._parse_cursor(since) if since else until - FIRST_RUN_LOOKBACK
        # searchOrder works in whole seconds; the end is inclusive there.
        start = start.astimezone(JST).replace(microsecond=0)
        until = until.astimezone(JST).replace(microsecond=0)
        newest: datetime | None = None
        # The 注文日 of the first order skipped (base.py): searchOrder lists by 注文日, so a
        # cursor kept there finds it (and reports it) again next run; `start` when its own
        # 注文日 cannot be read.
        hold: datetime | None = None
        seen: set[str] = set()
        for window_start, window_end in windows(start, until):
            for numbers in self._search(window_start, window_end):
                fresh = [n for n in numbers if n not in seen]
                seen.update(fresh)
                for chunk_start in range(0, len(fresh), GET_ORDER_CHUNK):
                    orders, errors, skipped_at = self._get_orders(
                        fresh[chunk_start : chunk_start + GET_ORDER_CHUNK], start
                    )
                    if skipped_at is not None:
                        hold = min(hold, skipped_at) if hold else skipped_at
                    for order in orders:
                        newest = max(newest, order.updated_at) if newest else order.updated_at
                    cursor = held_cursor(newest, hold)
                    yield OrderPage(orders, cursor.isoformat() if cursor else None, tuple(errors))

    def recheck_orders(self, order_numbers: Sequence[str], *, until: datetime) -> Iterator[OrderPage]:
        """The current versions of exactly these orders (``Rechecks`` in base.py): getOrder with
        at most 100 numbers a call, one OrderPage per call, ``cursor`` always None.

        A number RMS does not know (its ERROR message names the order) or an order that cannot
        be read is skipped and described in the page's ``errors``; the rest of the call is used.
        ERROR messages that name no order, refused credentials and an RMS that stays down raise
        as in ``fetch_orders``.
        """
        until = until if until.tzinfo else until.replace(tzinfo=JST)
        numbers = list(dict.fromkeys(n.strip() for n in order_numbers if n and n.strip()))
        if not numbers:
            return
        self._check_key(until.astimezone(JST).date())
        for chunk_start in range(0, len(numbers), GET_ORDER_CHUNK):
            orders, errors = self._reread(numbers[chunk_start : chunk_start + GET_ORDER_CHUNK])
            yield OrderPage(orders, None, tuple(errors))

    def _reread(self, numbers: list[str]) -> tuple[list[Order], list[str]]:
        """getOrder for a recheck: (orders in the order asked, per-order problems)."""
        found: dict[str, Order] = {}
        errors: dict[str, str] = {}
        pending = numbers
        while pending:
            refused = self._reread_call(pending, found, errors)
            left = [n for n in pending if n not in found and n not in errors]
            # Whether RMS refuses the whole call (HTTP 400) when some numbers are unknown is
            # UNVERIFIED: if it did, the numbers it did not name are asked again without them.
            if not (refused and left and len(left) < len(pending)):
                for number in left:
                    errors[number] = f"{self.mall}の受注情報に注文 {number} がありませんでした"
                break
            pending = left
        orders = [found[n] for n in numbers if n in found]
        return orders, [errors[n] for n in numbers if n in errors]

    def _reread_call(self, numbers: list[str], found: dict[str, Order], errors: dict[str, str]) -> bool:
        """One getOrder call, filling `found` and `errors`; True when RMS refused the call."""
        asked = set(numbers)
        refused = False
        try:
            body: Any = self._order_call(
                "getOrder", {"orderNumberList": numbers, "version": GET_ORDER_VERSION}
            )
        except _RmsMessages as exc:
            # Only ERRORs that each name an asked order are per-order; anything else is the call's.
            if not all(_text(m.get("orderNumber")) in asked for m in exc.messages):
                raise
            body = exc.body if isinstance(exc.body, Mapping) else {}
            refused = body.get("OrderModelList") is None
        for message in message_errors(body):
            number = _text(message.get("orderNumber"))
            if number in asked and number not in errors:
                errors[number] = (
                    f"{self.mall}の注文 {number} を読み直せませんでした: {describe_messages([message])}"
                )
        raws = body.get("OrderModelList") or []
        if not isinstance(raws, list):
            raise MallPayloadError(f"{self.mall}の受注情報の応答に OrderModelList がありません")
        for raw in raws:
            number = _text(raw.get("orderNumber")) if isinstance(raw, Mapping) else ""
            if number not in asked or number in found or number in errors:
                continue
            try:
                found[number] = map_order(raw, self.mall)
            except ORDER_PROBLEMS as exc:  # one unreadable order must not hide the others
                errors[number] = f"{self.mall}の注文 {number} を読み直せませんでした: {order_problem(exc)}"
        return refused

    def _parse_cursor(self, cursor: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(cursor)
        except ValueError:
            raise SyncError(f"{self.display_name}の保存済みカーソル「{cursor}」を読めません") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)

    def _search(self, start: datetime, end: datetime) -> Iterator[list[str]]:
        """Order numbers in [start, end] page by page; a window over 15,000 results is halved."""
        page = 1
        while True:
            body = self._search_page(start, end, page)
            pagination = body.get("PaginationResponseModel") or {}
            total = pagination.get("totalRecordsAmount") or 0
            if total > SEARCH_RESULT_CAP:
                middle = start + (end - start) / 2
                middle = middle.replace(microsecond=0)
                if middle <= start:
                    raise MallRejected(
                        f"{self.mall}の注文が{rms_time(start)}の1秒間に{total}件あり、取得できません"
                    )
                yield from self._search(start, middle)
                # The first half included `middle` (the end is inclusive): start a second later.
                yield from self._search(middle + timedelta(seconds=1), end)
                return
            numbers = body.get("orderNumberList") or []
            if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
                raise MallPayloadError(f"{self.mall}の注文検索の応答に orderNumberList がありません")
            if numbers:
                yield numbers
            pages = pagination.get("totalPages") or 0
            if page >= pages or not numbers:
                return
            page += 1

    def _search_page(self, start: datetime, end: datetime, page: int) -> dict:
        body = {
            "dateType": 1,  # 注文日
            "startDatetime": rms_time(start),
            "endDatetime": rms_time(end),
            "PaginationRequestModel": {
                "requestRecordsAmount": self.settings.page_size,
                "requestPage": page,
                "SortModelList": [{"sortColumn": 1, "sortDirection": 1}],  # 注文日時, ascending
            },
        }
        return self._order_call("searchOrder", body)

    def _get_orders(
        self, numbers: list[str], start: datetime
    ) -> tuple[list[Order], list[str], datetime | None]:
        """getOrder for new orders: (the orders by 注文日, the orders skipped described, the
        earliest 注文日 of those skipped). An order that does not map (an amount beyond
        vocabulary/limits.py, a field RMS left out) is skipped, never the call."""
        body = self._order_call("getOrder", {"orderNumberList": numbers, "version": GET_ORDER_VERSION})
        raws = body.get("OrderModelList")
        if not isinstance(raws, list) or not all(isinstance(r, dict) for r in raws):
            raise MallPayloadError(f"{self.mall}の受注情報の応答に OrderModelList がありません")
        orders: list[Order] = []
        errors: list[str] = []
        hold: datetime | None = None
        got: set[str] = set()
        for raw in raws:
            got.add(_text(raw.get("orderNumber")))
            try:
                orders.append(map_order(raw, self.mall))
            except ORDER_PROBLEMS as exc:
                errors.append(skipped_order(self.mall, raw.get("orderNumber"), exc))
                try:
                    skipped_at = parse_rms_time(raw.get("orderDatetime"), "orderDatetime", self.mall)
                except MallPayloadError:
                    skipped_at = start
                hold = min(hold, skipped_at) if hold else skipped_at
        missing = [n for n in numbers if n not in got]
        if missing:
            raise MallPayloadError(f"{self.mall}の受注情報に注文 {'、'.join(missing[:5])} がありませんでした")
        return sorted(orders, key=lambda o: (o.ordered_at, o.order_number)), errors, hold

    def _order_call(self, name: str, body: Mapping[str, Any], *, idempotent: bool = True) -> dict:
        response = self._orders_http.request(
            "POST",
            f"{ORDER_API}/{name}/",
            json=body,
            idempotent=idempotent,
            hooks={"response": [self._explain]},
        )
        answer = json_body(self.mall, response)
        if not isinstance(answer, dict):
            raise MallPayloadError(f"{self.mall}から想定外の応答がありました（{name}）")
        errors = message_errors(answer)
        if errors:  # RMS reports some failures with HTTP 200 and an ERROR message
            raise self._message_error(errors, answer)
        return answer

    def _message_error(self, errors: Sequence[Mapping[str, Any]], body: Any = None) -> SyncError:
        text = describe_messages(errors)
        if any(_text(m.get("messageCode")).startswith("ES04") for m in errors):
            return MallAuthError(self._auth_text(text))
        return _RmsMessages(f"{self.mall}がエラーを返しました: {text}", errors, body)

    def _auth_text(self, detail: str) -> str:
        return (
            f"{self.display_name}の認証に失敗しました（{detail}）。ライセンスキー（licenseKey）は90日で期限が切れます。"
            "RMSの「WEB APIサービス」で有効期限と利用機能の設定を確認し、新しいキーを設定してください"
        )

    def _explain(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A response hook: RMS's own reason reaches staff rather than a raw JSON excerpt."""
        code = response.status_code
        if code in (401, 403):
            raise MallAuthError(self._auth_text(f"HTTP {code} {_auth_code(response)}".strip()))
        if 400 <= code < 500 and code != 429:
            try:
                body = response.json()
            except ValueError:
                body = None
            errors = message_errors(body)
            if errors:
                raise self._message_error(errors, body)
            reason = _inventory_errors_text(body) or response.text[:200]
            raise MallRejected(f"{self.mall}が受け付けませんでした（HTTP {code}）: {reason}")

    # -- order confirmation (注文確認)

    @property
    def confirm_on_import(self) -> bool:
        return self.settings.confirm_on_import

    def confirm_orders(self, order_numbers: Sequence[str]) -> Confirmations:
        """注文確認 for these orders, safe to repeat: the orders are read first and only those
        still at 100 are sent to confirmOrder (≤ 100 a call), then read again. Every order RMS
        now shows past 100 is in ``orders`` (its current version), whatever confirmOrder
        answered (an already confirmed order, a lost answer); the rest are in ``errors`` with
        RMS's reason. Refused credentials raise; an RMS that stays down is an error per order.
        """
        numbers = list(dict.fromkeys(n.strip() for n in order_numbers if n and n.strip()))
        outcome = Confirmations()
        if not numbers:
            return outcome
        self._check_key(self._clock().astimezone(JST).date())
        for start in range(0, len(numbers), GET_ORDER_CHUNK):
            chunk = numbers[start : start + GET_ORDER_CHUNK]
            try:
                self._confirm_chunk(chunk, outcome)
            except MallAuthError:
                raise
            except SyncError as exc:
                for number in chunk:
                    if number not in outcome.orders:
                        outcome.errors.setdefault(number, f"{self.mall}の注文確認ができませんでした: {exc}")
        return outcome

    def _confirm_chunk(self, numbers: list[str], outcome: Confirmations) -> None:
        before, problems = self._progress(numbers)
        waiting = [n for n in numbers if before.get(n) == AWAITING_CONFIRMATION]
        said: dict[str, str] = {}
        if waiting:
            try:
                # Not idempotent as far as anyone documents: never retried blindly; the read
                # below tells what happened.
                answer = self._order_call("confirmOrder", {"orderNumberList": waiting}, idempotent=False)
            except MallAuthError:
                raise
            except _RmsMessages as exc:
                answer = exc.body if isinstance(exc.body, Mapping) else {}
                general = [m for m in exc.messages if not _text(m.get("orderNumber"))]
                for number in waiting:
                    said[number] = describe_messages(general)
            except (MallPayloadError, MallRejected) as exc:
                answer = {}
                said = dict.fromkeys(waiting, str(exc))
            except SyncError as exc:  # down: the order may or may not be confirmed
                answer = {}
                said = dict.fromkeys(waiting, str(exc))
            for message in message_errors(answer):
                number = _text(message.get("orderNumber"))
                if number:
                    said[number] = describe_messages([message])
            after, problems = self._progress(numbers)
        else:
            after = before
        for number in numbers:
            progress = after.get(number)
            if isinstance(progress, Order):
                outcome.orders[number] = progress
            elif number in problems:
                outcome.errors[number] = problems[number]
            else:
                reason = said.get(number) or "注文確認待ち（100）のままです"
                outcome.errors[number] = f"{self.mall}の注文 {number} を注文確認できませんでした: {reason}"

    def _progress(self, numbers: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
        """orderProgress per order: 100 (still to confirm) or the mapped Order once past it;
        and the orders that could not be read."""
        found: dict[str, Order] = {}
        errors: dict[str, str] = {}
        raws: dict[str, Mapping[str, Any]] = {}
        body = self._order_call("getOrder", {"orderNumberList": numbers, "version": GET_ORDER_VERSION})
        for raw in body.get("OrderModelList") or ():
            if isinstance(raw, Mapping) and _text(raw.get("orderNumber")) in numbers:
                raws[_text(raw.get("orderNumber"))] = raw
        progress: dict[str, Any] = {}
        for number in numbers:
            raw = raws.get(number)
            if raw is None:
                errors[number] = f"{self.mall}の受注情報に注文 {number} がありませんでした"
            elif raw.get("orderProgress") == AWAITING_CONFIRMATION:
                progress[number] = AWAITING_CONFIRMATION
            else:
                try:
                    found[number] = progress[number] = map_order(raw, self.mall)
                except ORDER_PROBLEMS as exc:
                    errors[number] = order_problem(exc)
        return progress, errors

    # -- stock

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Set absolute quantities with bulk-upsert, 400 a call, at most one call a second."""
        if not levels:
            return []
        self._check_key(self._clock().astimezone(JST).date())
        results: dict[int, PushResult] = {}
        sendable: list[int] = []
        for index, level in enumerate(levels):
            try:
                _check_sendable(level)
            except _Unsendable as exc:
                results[index] = self._failed(level, str(exc))
                continue
            sendable.append(index)
        for batch_start in range(0, len(sendable), BULK_UPSERT_MAX):
            batch = sendable[batch_start : batch_start + BULK_UPSERT_MAX]
            try:
                results.update(self._upsert(levels, batch))
            except MallAuthError:
                raise
            except SyncError as exc:  # down or throttling: stop, report the rest
                for index in sendable[batch_start:]:
                    results[index] = self._failed(levels[index], str(exc))
                break
        return [results[i] for i in range(len(levels))]

    def _upsert(self, levels: Sequence[StockLevel], batch: list[int]) -> dict[int, PushResult]:
        results: dict[int, PushResult] = {}
        while batch:
            body = {
                "inventories": [
                    {
                        "manageNumber": levels[i].mall_item_code,
                        "variantId": levels[i].mall_sku,
                        "mode": "ABSOLUTE",  # absolute is safe to repeat; first registration needs it
                        "quantity": levels[i].quantity,
                    }
                    for i in batch
                ]
            }
            try:
                self._inventory_http.request(
                    "POST", BULK_UPSERT, json=body, hooks={"response": [self._inventory_refusal]}
                )
            except _Refused as refused:
                response = refused.response
            else:  # 204 No Content
                return results | {i: self._ok(levels[i]) for i in batch}
            # 400: the whole call is refused; the entries RMS names are reported, the rest resent.
            item_errors = _per_item_errors(response, len(batch))
            if not item_errors:
                reason = _inventory_errors_text(_safe_json(response)) or response.text[:200]
                raise MallRejected(f"{self.mall}が在庫数を受け付けませんでした: {reason}")
            for position, message in item_errors.items():
                index = batch[position]
                results[index] = self._failed(
                    levels[index], f"{self.mall}が在庫数を受け付けませんでした: {message}"
                )
            batch = [i for pos, i in enumerate(batch) if pos not in item_errors]
        return results

    def _inventory_refusal(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code in (401, 403):
            raise MallAuthError(
                self._auth_text(f"HTTP {response.status_code} {_auth_code(response)}".strip())
            )
        if response.status_code == 400:
            raise _Refused(response)

    def _ok(self, level: StockLevel) -> PushResult:
        return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True)

    def _failed(self, level: StockLevel, error: str) -> PushResult:
        return PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=False, error=error)

    # -- live stock (reconciliation)

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]:
        """Quantities RMS shows, 1,000 listings a bulk-get call at most 5 calls a second."""
        if not listings:
            return []
        self._check_key(self._clock().astimezone(JST).date())
        if self._read_http is None:  # its own bucket: reading never slows the pushes' 1/s
            self._read_http = self._inventory_http.with_rate(BULK_GET_CALLS_PER_SECOND, 1)
        http = self._read_http
        answers: dict[int, LiveQuantity] = {}
        readable = []
        for index, ref in enumerate(listings):
            try:
                _check_sendable(StockLevel(**ref.model_dump(), quantity=0))
            except _Unsendable as exc:
                answers[index] = live_read.failed(ref, str(exc))
            else:
                readable.append(index)

        def read(batch: list[int]) -> dict[int, LiveQuantity]:
            pairs = [
                {"manageNumber": listings[i].mall_item_code, "variantId": listings[i].mall_sku} for i in batch
            ]
            try:
                response = http.request(
                    "POST",
                    BULK_GET,
                    json={"inventories": pairs},
                    hooks={"response": [self._inventory_refusal]},
                )
            except _Refused as refused:  # 400 for the whole call: this batch only, in RMS's words
                reason = _inventory_errors_text(_safe_json(refused.response)) or refused.response.text[:200]
                raise MallRejected(f"{self.mall}が在庫数の照会を受け付けませんでした: {reason}") from None
            body = json_body(self.mall, response)
            found = body.get("inventories") if isinstance(body, dict) else None
            if not isinstance(found, list):
                raise MallPayloadError(f"{self.mall}の在庫数の応答に inventories がありません")
            quantities = {
                (_text(f.get("manageNumber")).lower(), _text(f.get("variantId"))): f.get("quantity")
                for f in found
                if isinstance(f, dict)
            }
            missing = f"{self.mall}に在庫の登録がありません（商品管理番号・SKU管理番号を確認してください）"
            return {
                i: live_read.shown(
                    listings[i],
                    quantities.get((listings[i].mall_item_code.lower(), listings[i].mall_sku)),
                    missing=missing,
                )
                for i in batch
            }

        live_read.in_batches(listings, readable, BULK_GET_MAX, read, answers)
        return live_read.ordered(listings, answers)

    # -- shipments

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Register the shipping (carrier code, number, date) on the order's baskets.

        Blank fields are refused before anything is sent. A number already on the basket is
        not sent again, so a retry after a lost answer is safe.
        """
        company = delivery_company(shipment.carrier)
        number = shipment.tracking_number.strip()
        if not number:
            raise MallRejected(
                f"{self.mall}の注文 {shipment.order_number}: お問い合わせ番号（追跡番号）が空です。入力してから出荷登録してください"
            )
        if not company:
            raise MallRejected(f"{self.mall}の配送会社コードがない配送会社です（{shipment.carrier}）")
        if len(number) > 120:
            raise MallRejected(f"{self.mall}のお問い合わせ番号は120文字までです（{len(number)}文字）")
        if not shipment.order_number.strip():
            raise MallRejected(f"{self.mall}の出荷登録に注文番号がありません")
        self._check_key(self._clock().astimezone(JST).date())
        raw = self._raw_order(shipment.order_number)
        if raw.get("orderProgress") == AWAITING_CONFIRMATION:
            # RMS takes shipping information only for a confirmed order (see the docstring).
            confirmed = self.confirm_orders([shipment.order_number])
            if shipment.order_number in confirmed.errors:
                raise MallRejected(confirmed.errors[shipment.order_number])
            raw = self._raw_order(shipment.order_number)
        baskets = _baskets_for(raw, shipment, self.mall)
        shipped_on = shipment.shipped_at.astimezone(JST).strftime("%Y-%m-%d")
        entries = []
        for package in baskets:
            existing = {
                _text(s.get("shippingNumber"))
                for s in package.get("ShippingModelList") or ()
                if isinstance(s, Mapping)
            }
            if number in existing:
                continue
            entry = {"deliveryCompany": company, "shippingNumber": number, "shippingDate": shipped_on}
            if any(not v for v in entry.values()):  # never a blank field
                raise MallRejected(f"{self.mall}の出荷情報に空の項目があります: {entry}")
            entries.append({"basketId": package["basketId"], "ShippingModelList": [entry]})
        if not entries:
            return
        # Not idempotent (a resend adds a second entry): no retry after it may have gone through.
        self._order_call(
            "updateOrderShipping",
            {"orderNumber": shipment.order_number, "BasketidModelList": entries},
            idempotent=False,
        )

    def _raw_order(self, number: str) -> Mapping[str, Any]:
        body = self._order_call("getOrder", {"orderNumberList": [number], "version": GET_ORDER_VERSION})
        for raw in body.get("OrderModelList") or ():
            if isinstance(raw, Mapping) and raw.get("orderNumber") == number:
                return raw
        raise MallRejected(f"{self.mall}に注文 {number} が見つかりません")


def _baskets_for(raw: Mapping[str, Any], shipment: Shipment, mall: str) -> list[Mapping[str, Any]]:
    """The baskets (送付先) holding the shipped lines; every live basket when none are named."""
    packages = [p for p in raw.get("PackageModelList") or () if isinstance(p, Mapping)]
    by_line: dict[int, Mapping[str, Any]] = {}
    number = 0
    for package in packages:
        for _item in package.get("ItemModelList") or ():
            number += 1
            by_line[number] = package
    if shipment.lines:
        chosen: list[Mapping[str, Any]] = []
        for line, _quantity in shipment.lines:
            if line not in by_line:
                raise MallRejected(f"明細番号 {line} は{mall}の注文 {shipment.order_number} にありません")
            if all(by_line[line] is not c for c in chosen):
                chosen.append(by_line[line])
    else:
        chosen = [p for p in packages if not p.get("packageDeleteFlag")]
    if not chosen or any(not isinstance(p.get("basketId"), int) for p in chosen):
        raise MallRejected(f"{mall}の注文 {shipment.order_number} に出荷できる送付先（basketId）がありません")
    return chosen


def _check_sendable(level: StockLevel) -> None:
    for what, value in (("商品管理番号", level.mall_item_code), ("SKU管理番号（variantId）", level.mall_sku)):
        if not _INVENTORY_KEY.match(value or ""):
            raise _Unsendable(
                f"楽天の{what}「{value}」は在庫を送れません（英数字・_・- で32文字まで）。モール商品の設定を確認してください"
            )
    if level.quantity > MAX_QUANTITY:
        raise _Unsendable(f"楽天の在庫数は{MAX_QUANTITY}までです（{level.quantity}）")


_PROPERTY_INDEX = re.compile(r"^inventories\[(\d+)\]")


def _safe_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _per_item_errors(response: requests.Response, size: int) -> dict[int, str]:
    """Inventory API 400: ``metadata.propertyPath`` "inventories[3].quantity" names the entry."""
    errors: dict[int, str] = {}
    body = _safe_json(response)
    for error in (body or {}).get("errors") or () if isinstance(body, dict) else ():
        path = _text(((error or {}).get("metadata") or {}).get("propertyPath"))
        found = _PROPERTY_INDEX.match(path)
        if found and int(found.group(1)) < size:
            position = int(found.group(1))
            text = f"{_text(error.get('message'))}（{_text(error.get('code'))}）"
            errors[position] = f"{errors[position]} / {text}" if position in errors else text
    return errors


def _inventory_errors_text(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    return " / ".join(
        f"{_text(e.get('message'))}（{_text(e.get('code'))}）" for e in errors if isinstance(e, dict)
    )


def _auth_code(response: requests.Response) -> str:
    # UNVERIFIED body: third-party clients read {"Results": {"errorCode": "ES04-01", …}}.
    body = _safe_json(response)
    results = body.get("Results") if isinstance(body, dict) else None
    return _text(results.get("errorCode")) if isinstance(results, dict) else ""
