"""What a carrier label row is filled from: the shop (``Sender``, ``YamatoAccount``), one box
(``Parcel``: an order, or the orders of a 同梱 group) and how each ``Field`` of a layout is
filled (``FILLS``, ``cell_value``). Split from ``shipping.carrier_files``, which builds files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sheets_schema.models import Order, OrderLine
from shipping.carrier_layouts.schema import (
    ITEMS,
    RECIPIENT_ADDRESS,
    SENDER_ADDRESS,
    TEXT_FIELDS,
    Column,
    Field,
)
from shipping.label_values import clean_cell, phone, postcode, to_zenkaku


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
