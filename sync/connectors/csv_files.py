"""Orders from files downloaded from a mall: Amazon's order report, or Ichigen's generic CSV.

Two halves:

- ``parse_order_file`` (pure): bytes of one file + a ``Layout`` -> canonical ``Order`` objects and
  a Japanese error per bad row. The UI's upload calls it too.
- ``Connector``: reads the files staff drop into an inbox folder, oldest arrival first, one page
  per file (or per ``page_size`` orders), with a cursor that can resume inside a file.

Amazon columns, and which report they come from (checked 2026 against the sources named):

- Order Report / Unshipped Orders report (``GET_FLAT_FILE_ORDERS_DATA``, Seller Central
  "注文レポート", tab-separated, one row per order item): ``order-id``, ``order-item-id``,
  ``purchase-date``, ``payments-date``, ``buyer-email``, ``buyer-name``, ``buyer-phone-number``,
  ``sku``, ``product-name``, ``quantity-purchased``, ``currency``, ``item-price``, ``item-tax``,
  ``shipping-price``, ``shipping-tax``, ``ship-service-level``, ``recipient-name``,
  ``ship-address-1..3``, ``ship-city``, ``ship-state``, ``ship-postal-code``, ``ship-country``,
  ``ship-phone-number``, ``delivery-Instructions`` …  Source: sellercentral.amazon.co.jp help
  itemID=201648780 (en_JP): "All amounts are aggregates of the quantity, not unit prices", dates
  "Time zone shown in GMT", item-tax "Not used in Amazon.co.jp" (prices include tax); header
  order cross-checked with Next Engine manual ID:6279 and 速販C2's 受注データ対応表.
- All Orders report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` / ``…_BY_LAST_UPDATE…``):
  ``amazon-order-id``, ``merchant-order-id``, ``purchase-date``, ``last-updated-date``,
  ``order-status``, ``fulfillment-channel`` (``Amazon``/``Merchant`` in real files, AFN/MFN in the
  help text), ``product-name``, ``sku``, ``asin``, ``item-status``, ``quantity``, ``currency``,
  ``item-price`` (also a quantity aggregate), ``shipping-price``, ``ship-city``, ``ship-state``,
  ``ship-postal-code`` … and no buyer name or street address. Source: SP-API docs "Order
  Tracking reports attributes"; Seller Central help 200547170; real headers in
  CaponicaAmazonMwsComplete ``ReportTrackingByOrderDateFlatFile.php``.
- Real JP rows (an FBA shipments report of the same family) show ``ship-state`` = prefecture,
  ``ship-city`` = ``--``, street in ``ship-address-1``, prices like ``24732.00``, ``+09:00`` offsets.

So one ``amazon_order_report`` layout reads both reports through header aliases. UNVERIFIED: the
full set of ``order-status`` strings in the All Orders report (``Shipping``, ``Complete`` and
suffixed values such as ``Shipped - Delivered to Buyer`` are mapped from third-party reports),
and the sign of ``*-promotion-discount`` (seen negative; we use the absolute value).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from sync.connectors.base import ChannelSettings, OrderPage
from sync.errors import MallRejected, MallUnavailable
from sync.models import Address, Order, OrderLine, PushResult, Shipment, StockLevel
from vocabulary.jst import JST
from vocabulary.statuses import OrderStatus
from vocabulary.text import normalise_text

# --------------------------------------------------------------------------- layouts (data)


@dataclass(frozen=True)
class Layout:
    """How one kind of file maps onto canonical fields. Keys of ``columns`` are field names below."""

    name: str
    title: str  # for staff, in error messages
    delimiter: str
    # canonical field -> accepted headers (matched ignoring case/width); the first present wins
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]  # fields whose column must be in the header
    statuses: Mapping[str, OrderStatus]  # the file's status text (case-folded) -> Ichigen status
    default_status: OrderStatus  # when the file has no status column or the cell is blank
    date_example: str
    date_formats: tuple[str, ...] = ()  # tried after ISO 8601
    naive_timezone: tzinfo = JST  # for times written without an offset
    quoted: bool = True  # False: quotes are plain text (Amazon writes flat files unquoted)
    row_is_line: bool = True  # False: one row is one whole order
    order_key: tuple[str, ...] = ("order_number",)  # fields whose values group rows into an order
    line_price_is_total: bool = False  # the price column holds price x quantity
    summed: frozenset[str] = frozenset()  # order money repeated per item row: add the rows up
    fulfillment: Mapping[str, bool] = field(default_factory=dict)  # channel value -> allocates stock
    cancelled_items: frozenset[str] = frozenset()  # item status values meaning "line cancelled"


# Fields a row may carry; the kind decides how the cell is read.
_DATETIME_FIELDS = frozenset({"ordered_at", "updated_at", "paid_at"})
_MONEY_FIELDS = frozenset({"total", "shipping_fee", "gift_wrap", "unit_price", "line_price"})
_DISCOUNT_FIELDS = frozenset({"item_discount", "ship_discount"})
_COUNT_FIELDS = {"quantity": 0, "line_number": 1}  # field -> smallest allowed
_CODE_FIELDS = frozenset({"order_number", "seller_sku", "mall_item_code", "line_id"})
_DIGIT_FIELDS = frozenset({"postcode", "phone", "buyer_phone"})  # full-width digits folded
# A row with any of these filled is an order line; without, it only adds order-level values.
_LINE_FIELDS = ("mall_item_code", "seller_sku", "item_name", "quantity", "unit_price", "line_price")

AMAZON_ORDER_REPORT = Layout(
    name="amazon_order_report",
    title="Amazonの注文レポート",
    delimiter="\t",
    columns={
        "order_number": ("order-id", "amazon-order-id"),
        "line_id": ("order-item-id", "amazon-order-item-id"),
        "ordered_at": ("purchase-date",),
        "paid_at": ("payments-date",),
        "updated_at": ("last-updated-date",),
        "status": ("order-status",),
        "fulfillment": ("fulfillment-channel",),
        "buyer_name": ("buyer-name",),
        "buyer_phone": ("buyer-phone-number",),
        "recipient_name": ("recipient-name",),
        "postcode": ("ship-postal-code",),
        "prefecture": ("ship-state",),
        "city": ("ship-city",),
        "address1": ("ship-address-1",),
        "address2": ("ship-address-2",),
        "address3": ("ship-address-3",),
        "phone": ("ship-phone-number",),
        "note": ("delivery-instructions",),
        "currency": ("currency",),
        "seller_sku": ("sku",),
        "item_name": ("product-name", "item-name"),
        "quantity": ("quantity-purchased", "quantity"),
        "line_status": ("item-status",),
        "line_price": ("item-price",),
        "shipping_fee": ("shipping-price",),
        "gift_wrap": ("gift-wrap-price",),
        "item_discount": ("item-promotion-discount",),
        "ship_discount": ("ship-promotion-discount",),
    },
    required=("order_number", "ordered_at", "seller_sku", "quantity", "line_price"),
    statuses={
        "pending": "入金待ち",
        "pendingavailability": "入金待ち",  # pre-order, not yet payable
        "unshipped": "新規",
        "partiallyshipped": "新規",  # some items still to ship: keeps its stock allocated
        "shipping": "新規",  # All Orders report wording (unverified)
        "shipped": "出荷済",
        "complete": "出荷済",  # help-page example value
        "invoiceunconfirmed": "出荷済",  # shipped, invoice not yet confirmed
        "canceled": "キャンセル",
        "cancelled": "キャンセル",  # the report spells it the British way
        "unfulfillable": "保留",  # Amazon cannot fulfil it: a person decides
    },
    # The Order Report has no status column: it lists seller-fulfilled orders to ship.
    default_status="新規",
    date_example="2026-11-30T14:05:00+09:00",
    date_formats=("%Y-%m-%dT%H:%M:%S%z", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"),
    naive_timezone=UTC,  # "Time zone shown in GMT" (help 201648780)
    # Amazon writes flat files unquoted; a product name starting with " must not swallow tabs.
    quoted=False,
    line_price_is_total=True,
    summed=frozenset({"shipping_fee", "gift_wrap", "item_discount", "ship_discount"}),
    fulfillment={"amazon": False, "afn": False, "merchant": True, "mfn": True},
    cancelled_items=frozenset({"cancelled", "canceled"}),
)

GENERIC = Layout(
    name="generic",
    title="汎用CSV",
    delimiter=",",
    columns={
        "mall": ("モール",),
        "order_number": ("注文番号",),
        "ordered_at": ("注文日時",),
        "updated_at": ("更新日時",),
        "status": ("ステータス",),
        "payment_method": ("支払方法",),
        "buyer_name": ("購入者名",),
        "recipient_name": ("送付先氏名",),
        "postcode": ("郵便番号",),
        "address": ("住所",),
        "phone": ("電話番号",),
        "total": ("合計金額",),
        "shipping_fee": ("送料",),
        "note": ("備考",),
        "line_number": ("明細番号",),
        "mall_item_code": ("商品コード",),
        "seller_sku": ("SKU",),
        "item_name": ("商品名",),
        "quantity": ("数量",),
        "unit_price": ("単価",),
    },
    required=("order_number", "ordered_at", "quantity", "unit_price"),
    statuses={
        "新規": "新規",
        "入金待ち": "入金待ち",
        "発送待ち": "発送待ち",
        "保留": "保留",
        "出荷済": "出荷済",
        "出荷済み": "出荷済",
        "発送済": "出荷済",
        "発送済み": "出荷済",
        "キャンセル": "キャンセル",
    },
    default_status="新規",
    date_example="2026-11-30 14:05:00",
    # Excel shows and saves times without zero padding, e.g. 2026/1/5 9:05.
    date_formats=("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M"),
)

PRESETS: dict[str, Layout] = {layout.name: layout for layout in (AMAZON_ORDER_REPORT, GENERIC)}

# --------------------------------------------------------------------------- parsing results


@dataclass(frozen=True)
class FileRowError:
    file: str
    row: int  # line in the file as an editor shows it: the header is line 1; 0 = whole file
    column: str  # the header as written in the file
    value: str
    message: str

    def __str__(self) -> str:
        where = f"「{self.file}」" + (f" {self.row}行目" if self.row else "")
        if self.column:
            where += f" 「{self.column}」列"
        shown = f"（入力値: 「{self.value}」）" if self.value else ""
        return f"{where}: {self.message}{shown}"


@dataclass(frozen=True)
class ParseOutcome:
    orders: list[Order]  # in order of first appearance in the file
    errors: list[FileRowError]

    @property
    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]


class _CellError(Exception):
    pass


class _FileError(Exception):
    pass


# --------------------------------------------------------------------------- decoding


def decode_file(data: bytes) -> str:
    """Text of a UTF-8 (BOM or not), UTF-16 (Excel "Unicode text") or CP932 file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # CP932, not shift_jis: Excel and Seller Central write ①, ～ and NEC/IBM extensions.
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise _FileError("文字コードを読み取れません。UTF-8かShift_JIS（CP932）で保存してください") from None


# --------------------------------------------------------------------------- cells


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip('"').casefold()


_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?[eE]\+\d+$")
_MONEY = re.compile(r"^-?\d+(\.\d+)?$")
_COUNT = re.compile(r"^-?\d+(\.0+)?$")


def _code(text: str) -> str:
    # Identifiers stay text as written (leading zeros kept), as in the workbook's cells.
    if _EXCEL_NUMBER.match(text):
        raise _CellError("Excelで数値に変換されて桁が失われています。元のファイルから取り込んでください")
    return text


def _money(text: str) -> int:
    cleaned = normalise_text(text).replace(",", "").replace("¥", "").replace("\\", "")
    cleaned = cleaned.removesuffix("円").replace("−", "-").strip()
    if not _MONEY.match(cleaned):
        raise _CellError("金額は整数（円）で入力してください")
    whole, _, fraction = cleaned.partition(".")
    if fraction.strip("0"):
        raise _CellError("円未満の端数がある金額は取り込めません")
    return int(whole)


def _count(text: str, minimum: int) -> int:
    cleaned = normalise_text(text).replace(",", "")
    if not _COUNT.match(cleaned):
        raise _CellError("整数で入力してください")
    value = int(cleaned.partition(".")[0])
    if value < minimum:
        raise _CellError(f"{minimum}以上の整数で入力してください")
    return value


def _datetime(text: str, layout: Layout) -> datetime:
    cleaned = normalise_text(text)
    parsed: datetime | None = None
    for candidate in (cleaned, cleaned.replace("/", "-")):
        try:
            parsed = datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    for pattern in layout.date_formats if parsed is None else ():
        try:
            parsed = datetime.strptime(cleaned, pattern)
            break
        except ValueError:
            continue
    if parsed is None:
        raise _CellError(f"日時は「{layout.date_example}」の形で入力してください")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=layout.naive_timezone)
    return parsed.astimezone(JST)


def _status(text: str, layout: Layout) -> OrderStatus:
    # All Orders reports may add detail after " - ", e.g. "Shipped - Delivered to Buyer".
    key = _key(text).split(" - ")[0].replace(" ", "")
    if key not in layout.statuses:
        known = "".join(f"「{s}」" for s in dict.fromkeys(layout.statuses))
        raise _CellError(f"取り込めないステータスです（使えるのは {known}）")
    return layout.statuses[key]


def _fulfillment(text: str, layout: Layout) -> bool:
    key = _key(text)
    if key not in layout.fulfillment:
        known = "".join(f"「{s}」" for s in layout.fulfillment)
        raise _CellError(f"出荷方法が分かりません（使えるのは {known}）")
    return layout.fulfillment[key]


def _convert(name: str, text: str, layout: Layout, mall: str) -> Any:
    """One cell as a typed value; None for a blank cell."""
    text = text.strip()
    if not text:
        return None
    if name in _DATETIME_FIELDS:
        return _datetime(text, layout)
    if name in _MONEY_FIELDS:
        value = _money(text)
        if value < 0:
            raise _CellError("0以上の金額を入力してください")
        return value
    if name in _DISCOUNT_FIELDS:
        return abs(_money(text))  # the sign differs between reports; a discount only lowers
    if name in _COUNT_FIELDS:
        return _count(text, _COUNT_FIELDS[name])
    if name in _CODE_FIELDS:
        return _code(text)
    if name in _DIGIT_FIELDS:
        return _code(unicodedata.normalize("NFKC", text))
    if name == "status":
        return _status(text, layout)
    if name == "fulfillment":
        return _fulfillment(text, layout)
    if name == "currency" and _key(text) != "jpy":
        raise _CellError("日本円（JPY）以外の注文は取り込めません")
    if name == "mall" and text != mall:
        raise _CellError(f"このファイルは「{mall}」の注文として取り込みます。別のモールの行です")
    return text


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]  # field -> column position
    header: dict[str, str]  # field -> header text as written in the file

    def cell(self, cells: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return cells[i] if i is not None and i < len(cells) else ""


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    is_line: bool


def _resolve_header(header: list[str], layout: Layout) -> _Columns:
    positions: dict[str, int] = {}
    for i, text in enumerate(header):
        positions.setdefault(_key(text), i)
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for name, aliases in layout.columns.items():
        for alias in aliases:
            if _key(alias) in positions:
                index[name] = positions[_key(alias)]
                written[name] = header[index[name]].strip()
                break
    return _Columns(index, written)


def _missing_header_error(header: list[str], columns: _Columns, layout: Layout) -> str:
    missing = [layout.columns[name] for name in layout.required if name not in columns.index]
    names = "".join(f"「{aliases[0]}」" for aliases in missing)
    message = f"{names}列がありません。{layout.title}の見出し（1行目）と合いません"
    other = "," if layout.delimiter == "\t" else "\t"
    if len(header) == 1 and other in header[0]:
        label = "タブ" if layout.delimiter == "\t" else "カンマ"
        message += f"。{label}区切りのファイルではないようです"
    return message


def _read_row(
    number: int, cells: list[str], columns: _Columns, layout: Layout, mall: str, file_name: str
) -> tuple[_Row, list[FileRowError]]:
    values: dict[str, Any] = {}
    errors: list[FileRowError] = []

    def problem(name: str, message: str) -> None:
        raw = columns.cell(cells, name).strip()
        errors.append(FileRowError(file_name, number, columns.header.get(name, ""), raw, message))

    for name in columns.index:
        try:
            values[name] = _convert(name, columns.cell(cells, name), layout, mall)
        except _CellError as exc:
            problem(name, str(exc))
    failed = {e.column for e in errors}

    def require(name: str) -> None:
        if name in columns.index and values.get(name) is None and columns.header[name] not in failed:
            problem(name, "空欄にはできません")

    require("order_number")
    require("ordered_at")
    is_line = any(columns.cell(cells, name).strip() for name in _LINE_FIELDS)
    if is_line:
        require("quantity")
        require("line_number")  # when the file numbers its lines, every line needs one
        code_fields = [n for n in ("mall_item_code", "seller_sku") if n in columns.index]
        blank = not any(values.get(n) for n in code_fields)
        if code_fields and blank and not any(columns.header[n] in failed for n in code_fields):
            either = "か".join(f"「{columns.header[n]}」" for n in code_fields)
            problem(code_fields[-1], f"{either}を入力してください")
    return _Row(number, values, is_line), errors


def _records(text: str, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every record, blank lines skipped."""
    options: dict[str, Any] = {"delimiter": layout.delimiter}
    if not layout.quoted:
        options["quoting"] = csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    previous = 0
    for cells in reader:
        start = previous + 1
        previous = reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


# --------------------------------------------------------------------------- orders


def _first(rows: list[_Row], name: str) -> Any:
    return next((r.values[name] for r in rows if r.values.get(name) is not None), None)


def _money_of(rows: list[_Row], name: str, layout: Layout) -> int:
    if name in layout.summed:
        return sum(r.values.get(name) or 0 for r in rows)
    return _first(rows, name) or 0


def _address(rows: list[_Row]) -> str:
    single = _first(rows, "address")
    if single:
        return single
    prefecture = _first(rows, "prefecture") or ""
    city = _first(rows, "city") or ""
    street = _first(rows, "address1") or ""
    if city == "--" or street.startswith(city):
        city = ""  # Amazon JP leaves "--" in ship-city and puts the city in ship-address-1
    head = f"{prefecture}{city}{street}"
    rest = [part for part in (_first(rows, "address2"), _first(rows, "address3")) if part]
    return " ".join([head, *rest]).strip()


def _lines(rows: list[_Row], layout: Layout, review: list[str]) -> tuple[list[OrderLine], int]:
    """The order's lines and what the buyer pays for them (cancelled lines excluded)."""
    lines: list[OrderLine] = []
    goods = 0
    for row in (r for r in rows if r.is_line):
        v = row.values
        ordered = v["quantity"]
        cancelled = _key(v.get("line_status") or "") in layout.cancelled_items
        price = v.get("line_price") if layout.line_price_is_total else v.get("unit_price")
        if price is None:
            price = 0
            if ordered and not cancelled:
                review.append(f"{row.number}行目の明細に金額がありません（金額未確定）")
        unit = price
        if layout.line_price_is_total:
            # item-price is price x quantity ("aggregates of the quantity, not unit prices").
            unit = price // ordered if ordered else 0
            if ordered and price % ordered:
                review.append(
                    f"{row.number}行目の金額{price}円は数量{ordered}で割り切れません（単価は切り捨て）"
                )
        quantity = 0 if cancelled else ordered  # 0 is the model's "line cancelled at the mall"
        goods += (price if layout.line_price_is_total else unit * quantity) if quantity else 0
        seller_sku = v.get("seller_sku") or ""
        lines.append(
            OrderLine(
                line_number=v.get("line_number") or len(lines) + 1,
                # Amazon listings (and stock pushes) are keyed by the seller SKU.
                mall_item_code=v.get("mall_item_code") or seller_sku,
                seller_sku=seller_sku,
                name=v.get("item_name") or "",
                quantity=quantity,
                unit_price=unit,
            )
        )
    return lines, goods


def _contact_review(delivery: Address, status: str, allocates: bool) -> list[str]:
    notes = []
    if allocates and status not in ("出荷済", "キャンセル") and not (delivery.name and delivery.address):
        notes.append("送付先の氏名か住所がありません")
    digits = delivery.postcode.replace("-", "")
    if digits.isdigit() and len(digits) == 6:
        notes.append("郵便番号が6桁です（Excelで先頭の0が消えた可能性があります）")
    if delivery.phone.isdigit() and not delivery.phone.startswith("0"):
        notes.append("電話番号が0で始まっていません（Excelで先頭の0が消えた可能性があります）")
    return notes


def _build_order(rows: list[_Row], layout: Layout, mall: str) -> Order:
    review: list[str] = []
    lines, goods = _lines(rows, layout, review)
    status = _first(rows, "status") or layout.default_status
    allocates = _first(rows, "fulfillment")
    allocates = True if allocates is None else allocates
    delivery = Address(
        name=_first(rows, "recipient_name") or "",
        postcode=_first(rows, "postcode") or "",
        address=_address(rows),
        phone=_first(rows, "phone") or "",
    )
    ship_discount = _money_of(rows, "ship_discount", layout)
    shipping = _money_of(rows, "shipping_fee", layout)
    computed = (
        goods
        + shipping
        + _money_of(rows, "gift_wrap", layout)
        - _money_of(rows, "item_discount", layout)
        - ship_discount
    )
    total = _first(rows, "total")
    ordered_at = _first(rows, "ordered_at")
    return Order(
        mall=mall,
        order_number=_first(rows, "order_number"),
        ordered_at=ordered_at,
        updated_at=_first(rows, "updated_at") or _first(rows, "paid_at") or ordered_at,
        status=status,
        payment_method=_first(rows, "payment_method") or "",
        buyer=Address(name=_first(rows, "buyer_name") or "", phone=_first(rows, "buyer_phone") or ""),
        delivery=delivery,
        total=max(0, computed) if total is None else total,
        shipping_fee=max(0, shipping - ship_discount),
        note=_first(rows, "note") or "",
        lines=tuple(lines),
        allocates_stock=allocates,
        review=tuple(review + _contact_review(delivery, status, allocates)),
    )


def _duplicate_line(row: _Row, seen: dict[Any, int]) -> tuple[str, str] | None:
    """(field, message) when this line repeats an earlier line of the same order."""
    for name in ("line_number", "line_id"):
        value = row.values.get(name)
        if value is None:
            continue
        if (name, value) in seen:
            return name, f"{seen[(name, value)]}行目と同じ明細です"
        seen[(name, value)] = row.number
    return None


def parse_order_file(data: bytes, layout: Layout, *, mall: str, file_name: str) -> ParseOutcome:
    """Canonical orders of one downloaded file, and every problem as a Japanese error.

    An order any of whose rows is wrong is held back as a whole (with a note saying so): a
    partly imported order would allocate the wrong stock. Other orders are unaffected.
    """
    try:
        text = decode_file(data)
    except _FileError as exc:
        return ParseOutcome([], [FileRowError(file_name, 0, "", "", str(exc))])
    records = _records(text, layout)
    first = next(records, None)
    if first is None:
        return ParseOutcome([], [FileRowError(file_name, 0, "", "", "ファイルが空です")])
    header_line, header = first
    columns = _resolve_header(header, layout)
    if any(name not in columns.index for name in layout.required):
        message = _missing_header_error(header, columns, layout)
        return ParseOutcome([], [FileRowError(file_name, header_line, "", "", message)])

    errors: list[FileRowError] = []
    groups: dict[tuple[Any, ...], list[_Row]] = {}
    bad: set[tuple[Any, ...]] = set()
    seen_lines: dict[tuple[Any, ...], dict[Any, int]] = {}
    for number, cells in records:
        row, row_errors = _read_row(number, cells, columns, layout, mall, file_name)
        key = tuple(row.values.get(name) for name in layout.order_key)
        if None in key:
            errors.extend(row_errors)  # cannot tell which order it belongs to
            continue
        if key in groups and not layout.row_is_line:
            first_row = groups[key][0].number
            column = columns.header["order_number"]
            message = f"{first_row}行目と同じ注文番号です（1行1注文のファイルです）"
            row_errors.append(FileRowError(file_name, number, column, str(key[-1]), message))
        elif row.is_line and (dup := _duplicate_line(row, seen_lines.setdefault(key, {}))):
            name, message = dup
            value = str(row.values[name])
            row_errors.append(FileRowError(file_name, number, columns.header[name], value, message))
        groups.setdefault(key, []).append(row)
        if row_errors:
            errors.extend(row_errors)
            bad.add(key)

    orders: list[Order] = []
    error_rows = {e.row for e in errors}
    for key, rows in groups.items():
        number = str(key[-1])
        if key in bad:
            if any(r.number not in error_rows for r in rows):
                message = f"注文番号「{number}」は誤りのある行を含むため、注文ごと取り込んでいません"
                errors.append(FileRowError(file_name, rows[0].number, "", "", message))
            continue
        try:
            orders.append(_build_order(rows, layout, mall))
        except ValidationError as exc:
            detail = "、".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            message = f"注文番号「{number}」を組み立てられません（{detail}）"
            errors.append(FileRowError(file_name, rows[0].number, "", "", message))
    errors.sort(key=lambda e: e.row)
    return ParseOutcome(orders, errors)


# --------------------------------------------------------------------------- connector


class Settings(ChannelSettings):
    type: Literal["csv"]
    layout: str  # a name in PRESETS
    inbox_dir: Path  # relative to the project root, e.g. data/inbox/amazon
    file_glob: str = "*"
    page_size: int = Field(500, ge=1)  # orders per page of a large file

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, value: str) -> str:
        if value not in PRESETS:
            known = "、".join(PRESETS)
            raise ValueError(f"「{value}」という取込形式はありません（使えるのは {known}）")
        return value


@dataclass(frozen=True)
class CsvOrderPage(OrderPage):
    # Row errors of this page's file (on its first page only), for the 同期ログ.
    errors: tuple[str, ...] = ()
    file_name: str = ""
    # The file was read from its start (its errors are all in ``errors``, none = a clean read):
    # the engine then replaces that file's problems in the 要確認 queue (state.Problems).
    whole_file: bool = False


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Partial downloads, Excel lock files and hidden files are never orders.
_IGNORED_SUFFIXES = (".part", ".crdownload", ".download", ".tmp")


@dataclass(frozen=True, order=True)
class _Entry:
    arrival_ns: int
    name: str
    path: Path = field(compare=False)

    @property
    def key(self) -> tuple[int, str]:
        return self.arrival_ns, self.name


@dataclass(frozen=True)
class InboxCursor:
    """Where reading stopped: a file (arrival time, name, content digest) and how far into it.

    Text form ``"{arrival_ns}:{digest}:{done}:{name}"``; ``done`` is ``end`` once every order of
    the file was handed out, else the number of orders already handed out. Rule (start
    included): files sorted before the cursor's file are skipped; the cursor's own file is
    skipped when finished, resumed after ``done`` orders when not, and read again from the
    start when its content digest changed (rewritten within the same timestamp); files after
    it are read.
    """

    arrival_ns: int
    name: str
    digest: str
    done: int | None  # None: the whole file

    @property
    def key(self) -> tuple[int, str]:
        return self.arrival_ns, self.name

    def __str__(self) -> str:
        done = "end" if self.done is None else str(self.done)
        return f"{self.arrival_ns}:{self.digest}:{done}:{self.name}"

    @classmethod
    def parse(cls, text: str | None) -> InboxCursor | None:
        if not text:
            return None
        parts = text.split(":", 3)
        # A cursor from another connector type reads everything again; (モール, 注文番号)
        # duplicates are removed by the engine, so nothing is imported twice.
        if len(parts) != 4 or not parts[0].isdigit() or not (parts[2] == "end" or parts[2].isdigit()):
            return None
        arrival, digest, done, name = parts
        return cls(int(arrival), name, digest, None if done == "end" else int(done))


def _arrival_ns(path: Path) -> int:
    # Copying a download keeps its modification time (Explorer, cp -p), so a report copied in
    # late could sort before files already read and be skipped. ctime is when the file arrived
    # (Windows: creation; POSIX: last metadata change, which a copy or move sets), so the later
    # of the two is used. A touched file is read again; the engine removes duplicates.
    info = path.stat()
    return max(info.st_mtime_ns, info.st_ctime_ns)


class Connector:
    # A downloaded file is read only: stock and shipments go through the mall's own screens.
    pushes_stock = False
    confirms_shipments = False

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: Any = None,
        project_root: Path | str,
        clock: Any = None,
        sleep: Any = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.mall = settings.mall
        self.display_name = settings.display_name or settings.mall
        self.layout = PRESETS[settings.layout]
        self.inbox = Path(project_root) / settings.inbox_dir
        self.row_errors: list[str] = []

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[CsvOrderPage]:
        """Orders of files that arrived before ``until``, one page per file (or page_size orders)."""
        self.row_errors = []
        return self._pages(InboxCursor.parse(since), until)

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        return [
            PushResult(
                mall=self.mall,
                sku=level.sku,
                quantity=level.quantity,
                ok=False,
                error="CSV連携のモールには在庫を送信できません",
            )
            for level in levels
        ]

    def confirm_shipment(self, shipment: Shipment) -> None:
        raise MallRejected(
            f"「{self.display_name}」はファイル取込で連携しているため、出荷をモールへ送れません。"
            f"注文番号「{shipment.order_number}」の出荷は{self.mall}の管理画面で登録してください"
        )

    def _files(self, until: datetime) -> list[_Entry]:
        if not self.inbox.is_dir():
            raise MallUnavailable(
                f"「{self.display_name}」の取込フォルダ「{self.inbox}」が見つかりません。"
                "フォルダを作るか、設定の inbox_dir を直してください"
            )
        aware = until if until.tzinfo else until.replace(tzinfo=JST)
        until_ns = (aware - _EPOCH) // timedelta(microseconds=1) * 1000
        entries = []
        for path in self.inbox.glob(self.settings.file_glob):
            base = path.name
            if not path.is_file() or base.startswith((".", "~$")) or base.endswith(_IGNORED_SUFFIXES):
                continue
            arrival = _arrival_ns(path)
            if arrival < until_ns:  # later arrivals (maybe still being written) wait for next run
                # Relative to the inbox, so a "**/*.txt" glob cannot confuse same-named files.
                entries.append(_Entry(arrival, path.relative_to(self.inbox).as_posix(), path))
        return sorted(entries)

    def _pages(self, cursor: InboxCursor | None, until: datetime) -> Iterator[CsvOrderPage]:
        for entry in self._files(until):
            if cursor is not None and entry.key < cursor.key:
                continue
            try:
                data = entry.path.read_bytes()
            except OSError as exc:
                # Stop here rather than skip: the cursor must never move past an unread file.
                raise MallUnavailable(
                    f"「{entry.name}」を開けません。Excelなどで開いていれば閉じてください（{exc.strerror}）"
                ) from exc
            digest = hashlib.sha256(data).hexdigest()[:16]
            skip = 0
            if cursor is not None and entry.key == cursor.key and digest == cursor.digest:
                if cursor.done is None:
                    continue
                skip = cursor.done
            outcome = parse_order_file(data, self.layout, mall=self.mall, file_name=entry.name)
            errors = tuple(outcome.messages) if skip == 0 else ()  # reported once per file
            self.row_errors.extend(errors)
            yield from self._file_pages(entry, digest, outcome.orders, skip, errors)

    def _file_pages(
        self, entry: _Entry, digest: str, orders: list[Order], skip: int, errors: tuple[str, ...]
    ) -> Iterator[CsvOrderPage]:
        size = self.settings.page_size
        starts = range(skip, len(orders), size) or range(skip, skip + 1)  # an empty file: one page
        for start in starts:
            end = start + size
            done = end if end < len(orders) else None
            cursor = InboxCursor(entry.arrival_ns, entry.name, digest, done)
            page_errors = errors if start == skip else ()
            yield CsvOrderPage(
                orders[start:end], str(cursor), page_errors, entry.name, whole_file=start == skip == 0
            )
