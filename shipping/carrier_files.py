"""Carrier label files (送り状データ): written from a layout in ``shipping.carrier_layouts``.

Each column of a layout names a ``Field`` (filled here from the order, the shop and the file)
or a fixed value; this module holds no carrier fact. Files are written in CP932 with CRLF.
Rules applied to every cell:

* A character CP932 cannot hold raises ``LabelFileError`` naming the order and the column.
* A cell that would start a formula when opened in Excel (``= + - @``, tab, CR) gets a
  full-width space (U+3000) in front. We chose the full-width space over an apostrophe because
  the label software prints cells as-is: a leading 全角スペース is invisible on a label, an
  apostrophe is not. Tabs and line breaks inside a cell become a half-width space.
* The order's management key (``order_key``) goes into the layout's management-number column,
  so the issued tracking numbers can be matched back (``key_map`` reverses it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shipping.carrier_layouts.schema import (
    ENCODING,
    ITEMS,
    LINE_ENDING,
    RECIPIENT_ADDRESS,
    SENDER_ADDRESS,
    Column,
    Field,
    Layout,
)
from shipping.label_values import clean_cell, cp932_len, cut_to_width, phone, postcode, split_address


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
class Parcel:
    """What a field is filled from, for one order."""

    order: Order
    lines: Sequence[OrderLine]
    sender: Sender
    key: str
    ship_date: date
    address: tuple[str, ...]  # お届け先住所, split over the layout's address columns
    sender_address: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.order.mall}:{self.order.order_number}"

    @property
    def cash_on_delivery(self) -> bool:
        return "代引" in self.order.payment_method or "代金引換" in self.order.payment_method

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


# How each Field is filled.
FILLS: dict[Field, Callable[[Parcel], str]] = {
    Field.MANAGEMENT_KEY: lambda p: p.key,
    Field.ORDER_NUMBER: lambda p: p.order.order_number,
    Field.SHIP_DATE: lambda p: p.ship_date.strftime("%Y/%m/%d"),
    Field.RECIPIENT_NAME: lambda p: p.order.recipient_name or p.order.buyer_name,
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
    Field.COD_AMOUNT: lambda p: str(p.order.total) if p.cash_on_delivery else "",
    **{field: (lambda p, i=i: p.address[i]) for i, field in enumerate(RECIPIENT_ADDRESS)},
    **{field: (lambda p, i=i: p.sender_address[i]) for i, field in enumerate(SENDER_ADDRESS)},
    **{field: (lambda p, i=i: p.item(i)) for i, field in enumerate(ITEMS)},
}


def cell_value(column: Column, parcel: Parcel) -> str:
    """What the column holds for this parcel, cleaned (not yet checked against its limit)."""
    if column.fill is not None:
        return clean_cell(FILLS[column.fill](parcel))
    if column.cod_value is not None and parcel.cash_on_delivery:
        return clean_cell(column.cod_value)
    return clean_cell(column.value) if column.value else ""


# --- order keys ---------------------------------------------------------------------------

MALL_PREFIX = {"楽天": "RT", "Amazon": "AM", "Yahoo!": "YH", "Shopify": "SH"}


def order_key(mall: str, order_number: str, limit: int = 20) -> str:
    """A short 半角英数 key for an order: mall prefix, the order number's last digits/letters,
    and 4 hex of a hash of "{モール}:{注文番号}" so orders cut to the same tail stay apart.
    Stable: the same order always gets the same key, so it can be recomputed from the sheet."""
    if limit < 8:
        raise ValueError("limit must be at least 8")
    prefix = MALL_PREFIX.get(mall) or "M" + hashlib.sha1(mall.encode()).hexdigest()[0].upper()
    digest = hashlib.sha1(f"{mall}:{order_number}".encode()).hexdigest()[:4].upper()
    tail = re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", order_number)).upper()
    room = limit - len(prefix) - len(digest)
    return f"{prefix}{tail[-room:] if tail else ''}{digest}"


def key_map(orders: Iterable[Order], limit: int = 20) -> dict[str, tuple[str, str]]:
    """{order_key: (モール, 注文番号)} for every order: how an imported key finds its order."""
    found: dict[str, tuple[str, str]] = {}
    for order in orders:
        key = order_key(order.mall, order.order_number, limit)
        ident = (order.mall, order.order_number)
        if found.setdefault(key, ident) != ident:
            raise LabelFileError(f"管理番号 {key} が2つの注文で重なりました（{found[key]} と {ident}）")
    return found


# --- building -----------------------------------------------------------------------------


def _encodable(text: str, who: str, what: str) -> None:
    for ch in text:
        try:
            ch.encode(ENCODING)
        except UnicodeEncodeError:
            raise LabelFileError(f"{who} の {what} に Shift_JIS で使えない文字「{ch}」があります") from None


def _check(value: str, *, who: str, column: Column) -> str:
    _encodable(value, who, column.name)
    if column.limit is not None and cp932_len(value) > column.limit:
        if column.truncate:
            return cut_to_width(value, column.limit)
        raise LabelFileError(
            f"{who} の {column.name} が長すぎます（{column.limit}バイト＝全角{column.limit // 2}文字まで）: 「{value}」"
        )
    return value


def _split(address: str, widths: Sequence[int], who: str, what: str) -> tuple[str, ...]:
    if not widths:
        return ()
    _encodable(address, who, what)
    parts = split_address(address, widths)
    if parts is None:
        raise LabelFileError(
            f"{who} の {what} が長すぎて送り状の住所欄（全角{sum(widths) // 2}文字）に入りません: 「{address}」"
        )
    return parts


def build_rows(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
) -> list[list[str]]:
    """The file's rows as text (header first when the layout has one), every cell checked."""
    day = ship_date or datetime.now(JST).date()
    rows: list[list[str]] = [layout.column_names] if layout.header else []
    sender_address = _split(sender.address, layout.sender_address_widths, "ご依頼主", "住所")
    for order, lines in orders_with_lines:
        who = f"注文 {order.mall}:{order.order_number}"
        parcel = Parcel(
            order=order,
            lines=list(lines),
            sender=sender,
            key=order_key(order.mall, order.order_number, layout.key_limit),
            ship_date=day,
            address=_split(order.address, layout.address_widths, who, "お届け先住所"),
            sender_address=sender_address,
        )
        row = []
        for column in layout.columns:
            value = cell_value(column, parcel)
            row.append(_check(value, who=who, column=column))
        rows.append(row)
    return rows


def build_file(
    layout: Layout,
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    sender: Sender,
    ship_date: date | None = None,
) -> bytes:
    """The label file for the carrier's software: CP932, CRLF, one row per order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=LINE_ENDING, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(build_rows(layout, orders_with_lines, sender=sender, ship_date=ship_date))
    return out.getvalue().encode(ENCODING)


__all__ = [
    "FILLS",
    "LabelFileError",
    "Parcel",
    "Sender",
    "build_file",
    "build_rows",
    "cell_value",
    "key_map",
    "order_key",
]
