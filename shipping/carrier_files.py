"""Carrier label files (送り状データ): written from a layout in ``shipping.carrier_layouts``.

Each column of a layout names a ``Field`` (filled here from the order, the shop and the file)
or a fixed value; this module holds no carrier fact. Files are written in CP932 with CRLF.
Rules applied to every cell:

* Where the layout counts 全角 characters (``Layout.zenkaku``) names, addresses and item names
  are converted to full-width first, as the carriers' software does, then measured.
* An address or name longer than its column continues in the layout's next address/name
  column; what still does not fit (or holds a character CP932 cannot) is a ``LabelProblem``
  naming the order and the column, and that order is left out of the file (``prepare_file``).
  We chose leaving the order out over refusing the whole file because staff ship the rest
  today: the order stays 発送待ち (no tracking number comes back for it) and the page lists it,
  with the reason, above the download button.
* A cell that would start a formula when opened in Excel (``= + - @``, tab, CR) gets a
  full-width space (U+3000) in front. We chose the full-width space over an apostrophe because
  the label software prints cells as-is: a leading 全角スペース is invisible on a label, an
  apostrophe is not. Tabs and line breaks inside a cell become a half-width space.
* The order's management key (``order_key``) goes into the layout's management-number column,
  so the issued tracking numbers can be matched back (``key_map`` reverses it).
* Orders of one 同梱 group (two or more of the given orders with the same 同梱 id) are ONE row,
  one label: the group's address and name (they match, or the group is left out), every
  order's items, the group key (``group_key``, read back to every order of the group) and
  the group id as 注文番号. 代引: the sum of the 代引 orders' totals is collected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shipping.bundles import destination
from shipping.bundles import parcels as boxes
from shipping.carrier_layouts.schema import (
    ENCODING,
    ITEMS,
    LINE_ENDING,
    RECIPIENT_ADDRESS,
    SENDER_ADDRESS,
    TEXT_FIELDS,
    Column,
    Field,
    Layout,
)
from shipping.label_values import (
    clean_cell,
    cp932_len,
    cut_to_width,
    phone,
    postcode,
    split_address,
    to_zenkaku,
)
from shipping.order_keys import (
    KEY_LENGTH,
    KeyMap,
    group_key,
    key_map,
    legacy_order_key,
    normalize_key,
    order_key,
)


class LabelFileError(ValueError):
    """A label file cannot be written; the message is for staff, in Japanese."""


@dataclass(frozen=True)
class Sender:
    """ご依頼主: the shop, printed on every label."""

    name: str
    postcode: str
    address: str
    phone: str


@dataclass(frozen=True)
class YamatoAccount:
    """The shop's B2クラウド billing codes (settings [carriers.yamato])."""

    billing_customer_code: str = ""  # ご請求先顧客コード, 10–12 digits
    billing_class_code: str = ""  # ご請求先分類コード, 3 digits or blank
    freight_number: str = ""  # 運賃管理番号, 2 digits
    cod_tax_rate_percent: int = 10  # コレクト内消費税額等 = 代引金額 × rate / (100 + rate)


@dataclass(frozen=True)
class LabelProblem:
    """Why one order cannot go into the file, for staff."""

    mall: str
    order_number: str
    column: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.mall} の注文 {self.order_number}: {self.column} — {self.reason}"


@dataclass
class LabelFile:
    """The file for the orders that fit, and the orders left out with why."""

    layout: Layout
    data: bytes | None  # None: no order fits
    included: list[tuple[str, str]] = field(default_factory=list)
    problems: list[LabelProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Parcel:
    """What a field is filled from, for one order."""

    order: Order
    lines: Sequence[OrderLine]
    sender: Sender
    key: str
    ship_date: date
    address: tuple[str, ...]  # お届け先住所, split over the layout's address columns
    sender_address: tuple[str, ...]
    name: tuple[str, ...] = ("",)  # お届け先名, split over the layout's name columns
    account: YamatoAccount | None = None
    # A 同梱 group: its id and every order in the box (``order`` is the first of them).
    group: str = ""
    members: tuple[Order, ...] = ()

    @property
    def label(self) -> str:
        return self.group or f"{self.order.mall}:{self.order.order_number}"

    @property
    def orders(self) -> tuple[Order, ...]:
        return self.members or (self.order,)

    @property
    def cash_on_delivery(self) -> bool:
        return any(_is_cod(o) for o in self.orders)

    @property
    def cod_total(self) -> int:
        """What the carrier collects: the totals of the box's 代引 orders (prepaid ones: 0)."""
        return sum(o.total for o in self.orders if _is_cod(o))

    def item(self, index: int) -> str:
        """The index-th line as 品名 (name × quantity)."""
        if index >= len(self.lines):
            return ""
        line = self.lines[index]
        name = line.name or line.sku or ""
        return f"{name} ×{line.quantity}" if line.quantity > 1 else name

    def items_summary(self) -> str:
        if not self.lines:
            return ""
        first = self.item(0)
        return first if len(self.lines) == 1 else f"{first} 他{len(self.lines) - 1}点"


def _is_cod(order: Order) -> bool:
    return "代引" in order.payment_method or "代金引換" in order.payment_method


# How each Field is filled.
FILLS: dict[Field, Callable[[Parcel], str]] = {
    Field.MANAGEMENT_KEY: lambda p: p.key,
    Field.ORDER_NUMBER: lambda p: p.group or p.order.order_number,
    Field.SHIP_DATE: lambda p: p.ship_date.strftime("%Y/%m/%d"),
    Field.RECIPIENT_NAME: lambda p: p.name[0],
    Field.RECIPIENT_NAME_2: lambda p: p.name[1] if len(p.name) > 1 else "",
    Field.RECIPIENT_PHONE: lambda p: phone(p.order.phone),
    Field.RECIPIENT_PHONE_DIGITS: lambda p: phone(p.order.phone, hyphens=False),
    Field.RECIPIENT_POSTCODE: lambda p: postcode(p.order.postcode, hyphen=True),
    Field.RECIPIENT_POSTCODE_DIGITS: lambda p: postcode(p.order.postcode, hyphen=False),
    Field.SENDER_NAME: lambda p: p.sender.name,
    Field.SENDER_PHONE: lambda p: phone(p.sender.phone),
    Field.SENDER_PHONE_DIGITS: lambda p: phone(p.sender.phone, hyphens=False),
    Field.SENDER_POSTCODE: lambda p: postcode(p.sender.postcode, hyphen=True),
    Field.SENDER_POSTCODE_DIGITS: lambda p: postcode(p.sender.postcode, hyphen=False),
    Field.ITEMS_SUMMARY: lambda p: p.items_summary(),
    Field.COD_AMOUNT: lambda p: str(p.cod_total) if p.cash_on_delivery else "",
    Field.COD_TAX: lambda p: _cod_tax(p),
    Field.BILLING_CUSTOMER_CODE: lambda p: p.account.billing_customer_code if p.account else "",
    Field.BILLING_CLASS_CODE: lambda p: p.account.billing_class_code if p.account else "",
    Field.FREIGHT_NUMBER: lambda p: p.account.freight_number if p.account else "",
    **{field: (lambda p, i=i: p.address[i]) for i, field in enumerate(RECIPIENT_ADDRESS)},
    **{field: (lambda p, i=i: p.sender_address[i]) for i, field in enumerate(SENDER_ADDRESS)},
    **{field: (lambda p, i=i: p.item(i)) for i, field in enumerate(ITEMS)},
}


def _cod_tax(parcel: Parcel) -> str:
    """The consumption tax inside a 代引 total (B2 コレクト内消費税額等, required > 0 on コレクト rows
    by labocho/yamato_b2_cloud record.rb). Totals are tax-included yen; cut down like a receipt."""
    if not parcel.cash_on_delivery:
        return ""
    rate = parcel.account.cod_tax_rate_percent if parcel.account else 10
    return str(parcel.cod_total * rate // (100 + rate))


def recipient_name(order: Order) -> str:
    return order.recipient_name or order.buyer_name


def cell_value(column: Column, parcel: Parcel, zenkaku: bool = False) -> str:
    """What the column holds for this parcel, cleaned (not yet checked against its limit);
    text in 全角 when ``zenkaku`` (the layout's software counts 全角 characters)."""
    if column.fill is not None:
        value = FILLS[column.fill](parcel)
        if zenkaku and column.fill in TEXT_FIELDS:
            value = to_zenkaku(value)
        return clean_cell(value)
    if column.cod_value is not None and parcel.cash_on_delivery:
        return clean_cell(column.cod_value)
    return clean_cell(column.value) if column.value else ""


# --- building -----------------------------------------------------------------------------


def _unencodable(text: str) -> str | None:
    for ch in text:
        try:
            ch.encode(ENCODING)
        except UnicodeEncodeError:
            return ch
    return None


def _limit_text(limit: int, zenkaku: bool) -> str:
    return (
        f"全角{limit // 2}文字まで"
        if zenkaku
        else f"{limit}バイト（全角{limit // 2}文字・半角{limit}文字）まで"
    )


class _Refused(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _check(value: str, column: Column, zenkaku: bool) -> str:
    bad = _unencodable(value)
    if bad is not None:
        raise _Refused(
            column.name, f"送り状ソフトで使えない文字「{bad}」があります。受注シートで直してください"
        )
    if column.limit is not None and cp932_len(value) > column.limit:
        if column.truncate:
            return cut_to_width(value, column.limit)
        raise _Refused(column.name, f"長すぎます（{_limit_text(column.limit, zenkaku)}）: 「{value}」")
    return value


def _columns_of(layout: Layout, fields: Sequence[Field]) -> str:
    names = [c.name for c in layout.columns if c.fill in fields]
    return "・".join(names) or "住所"


def _split(
    text: str, widths: Sequence[int], layout: Layout, fields: Sequence[Field], what: str
) -> tuple[str, ...]:
    """``text`` over the columns of ``widths`` (全角 first when the layout counts 全角)."""
    if not widths:
        return (text,)
    if layout.zenkaku:
        text = to_zenkaku(text)
    columns = _columns_of(layout, fields)
    bad = _unencodable(text)
    if bad is not None:
        raise _Refused(columns, f"送り状ソフトで使えない文字「{bad}」があります。受注シートで直してください")
    parts = split_address(text, widths, joiner="\u3000" if layout.zenkaku else " ")
    if parts is None:
        room = sum(widths) // 2
        unit = "全角" if layout.zenkaku else "全角換算"
        raise _Refused(
            columns,
            f"{what}が{len(widths)}欄（{unit}{room}文字）に入りません。受注シートで短くしてください: 「{text}」",
        )
    return parts


def _account_problem(layout: Layout, account: YamatoAccount | None) -> str | None:
    if layout.account != "yamato":
        return None
    missing = []
    if account is None or not re.fullmatch(r"\d{10,12}", account.billing_customer_code):
        missing.append("ご請求先顧客コード（billing_customer_code、数字10〜12桁）")
    if account is None or not re.fullmatch(r"\d{2}", account.freight_number):
        missing.append("運賃管理番号（freight_number、数字2桁）")
    if (
        account is not None
        and account.billing_class_code
        and not re.fullmatch(r"\d{3}", account.billing_class_code)
    ):
        missing.append("ご請求先分類コード（billing_class_code、数字3桁か空欄）")
    if not missing:
        return None
    return (
        f"{layout.name} のファイルを作るには {'と'.join(missing)} が必要です。"
        "B2クラウドの「ご請求先」の値を、設定ファイル .streamlit/secrets.toml の [carriers.yamato] に書いてください"
        '（例: billing_customer_code = "0312345678"、freight_number = "01"。'
        "環境変数なら ICHIGEN_CARRIERS__YAMATO__BILLING_CUSTOMER_CODE など）"
    )


def prepare_file(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
    account: YamatoAccount | None = None,
    other_orders: Iterable[Order] = (),
) -> LabelFile:
    """The label file for the orders that fit and the orders left out, with why.

    Raises ``LabelFileError`` when no file can be made for anyone: the carrier account settings
    the layout needs are missing, or the shop's own address (ご依頼主) does not fit.
    ``other_orders``: every order a tracking file may be matched against (受注), so a key
    shared with any of them leaves the order out instead of mis-matching later."""
    problem = _account_problem(layout, account)
    if problem:
        raise LabelFileError(problem)
    day = ship_date or datetime.now(JST).date()
    try:
        sender_address = _split(
            sender.address, layout.sender_address_widths, layout, SENDER_ADDRESS, "ご依頼主住所"
        )
    except _Refused as exc:
        raise LabelFileError(
            f"ご依頼主（お店）の住所が {layout.name} に入りません: {exc.reason}。設定の [app] shop_address を確認してください"
        ) from None
    orders = list(orders_with_lines)
    lines_of = {(o.mall, o.order_number): list(lines) for o, lines in orders}
    taken: dict[str, tuple[str, str]] = {}
    for other in [*other_orders, *(o for o, _ in orders)]:
        ident = (other.mall, other.order_number)
        keys = [(order_key(*ident), ident)]
        if other.bundle.strip():
            keys.append((group_key(other.bundle.strip()), ("同梱", other.bundle.strip())))
        for key, owner in keys:
            if taken.setdefault(key, owner) != owner:
                taken[key] = ("", "")  # shared
    result = LabelFile(layout, None)
    rows: list[list[str]] = [layout.column_names] if layout.header else []
    for box in boxes([o for o, _ in orders]):
        order = box.orders[0]
        key = group_key(box.group) if box.group else order_key(order.mall, order.order_number)
        try:
            if layout.key_column is not None and taken.get(key) == ("", ""):
                raise _Refused(
                    layout.key_column,
                    f"管理番号 {key} が別の注文と重なりました。この注文は手入力で送り状を作ってください",
                )
            if len({destination(o)[1:] for o in box.orders}) > 1:
                raise _Refused(
                    "同梱",
                    f"同梱「{box.group}」の注文の送付先（氏名・郵便番号・住所）が揃っていません。"
                    "受注シートを確かめ、出荷画面で同梱を解除してください",
                )
            parcel = Parcel(
                order=order,
                lines=[line for k in box.keys for line in lines_of[k]],
                sender=sender,
                key=key,
                group=box.group,
                members=box.orders if box.group else (),
                ship_date=day,
                address=_split(
                    order.address, layout.address_widths, layout, RECIPIENT_ADDRESS, "お届け先住所"
                ),
                sender_address=sender_address,
                name=_split(
                    recipient_name(order),
                    layout.name_widths,
                    layout,
                    (Field.RECIPIENT_NAME, Field.RECIPIENT_NAME_2),
                    "お届け先名",
                ),
                account=account,
            )
            row = [_check(cell_value(c, parcel, layout.zenkaku), c, layout.zenkaku) for c in layout.columns]
        except _Refused as exc:
            # Every order of a refused box is listed: none is forgotten.
            result.problems += [
                LabelProblem(o.mall, o.order_number, exc.column, exc.reason) for o in box.orders
            ]
            continue
        rows.append(row)
        result.included += box.keys
    if result.included:
        out = io.StringIO()
        csv.writer(out, lineterminator=LINE_ENDING, quoting=csv.QUOTE_MINIMAL).writerows(rows)
        result.data = out.getvalue().encode(ENCODING)
    return result


def build_file(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
    account: YamatoAccount | None = None,
) -> bytes:
    """The label file with every order, or ``LabelFileError`` listing every order that does
    not fit (the strict form of ``prepare_file``, for scripts and benches)."""
    made = prepare_file(layout, orders_with_lines, sender=sender, ship_date=ship_date, account=account)
    if made.problems or made.data is None:
        lines = [p.message for p in made.problems] or ["注文がありません"]
        raise LabelFileError("送り状データを作れませんでした:\n" + "\n".join(lines))
    return made.data


__all__ = [
    "FILLS",
    "KEY_LENGTH",
    "KeyMap",
    "LabelFile",
    "LabelFileError",
    "LabelProblem",
    "Parcel",
    "Sender",
    "YamatoAccount",
    "build_file",
    "cell_value",
    "group_key",
    "key_map",
    "legacy_order_key",
    "normalize_key",
    "order_key",
    "prepare_file",
]
