"""The shape of a carrier file layout, as plain data: columns in order with their byte limits
and what fills them (a ``Field`` of the order or the shop, or a fixed value), code tables with
their sources, and the tracking files the carriers' software exports back.

Nothing here runs: ``shipping/carrier_files.py`` writes files from a ``Layout`` and
``shipping/tracking_import.py`` reads a ``TrackingFormat``. Changing a carrier's layout (a
column, a width, a fixed code) is an edit of the carrier's module in this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# Every carrier's import tool reads Shift_JIS (CP932: 全角 = 2 bytes) with CRLF line endings
# (../shared/carriers.md, "General rules"); column limits below count CP932 bytes.
ENCODING = "cp932"
LINE_ENDING = "\r\n"


class Field(StrEnum):
    """What a column holds, taken from the order, the shop (ご依頼主) or the file being made."""

    MANAGEMENT_KEY = "管理番号（order_key: 追跡番号を注文に戻す鍵）"
    ORDER_NUMBER = "注文番号"
    SHIP_DATE = "出荷予定日（YYYY/MM/DD）"
    RECIPIENT_NAME = "お届け先名（送付先氏名、なければ購入者名）"
    RECIPIENT_NAME_2 = "お届け先名の続き（1欄目に入りきらない分）"
    RECIPIENT_PHONE = "お届け先電話番号（ハイフンあり）"
    RECIPIENT_PHONE_DIGITS = "お届け先電話番号（数字のみ）"
    RECIPIENT_POSTCODE = "お届け先郵便番号（123-4567）"
    RECIPIENT_POSTCODE_DIGITS = "お届け先郵便番号（7桁）"
    RECIPIENT_ADDRESS_1 = "お届け先住所（1欄目）"
    RECIPIENT_ADDRESS_2 = "お届け先住所（2欄目）"
    RECIPIENT_ADDRESS_3 = "お届け先住所（3欄目）"
    RECIPIENT_ADDRESS_4 = "お届け先住所（4欄目）"
    SENDER_NAME = "ご依頼主名"
    SENDER_PHONE = "ご依頼主電話番号（ハイフンあり）"
    SENDER_PHONE_DIGITS = "ご依頼主電話番号（数字のみ）"
    SENDER_POSTCODE = "ご依頼主郵便番号（123-4567）"
    SENDER_POSTCODE_DIGITS = "ご依頼主郵便番号（7桁）"
    SENDER_ADDRESS_1 = "ご依頼主住所（1欄目）"
    SENDER_ADDRESS_2 = "ご依頼主住所（2欄目）"
    SENDER_ADDRESS_3 = "ご依頼主住所（3欄目）"
    ITEMS_SUMMARY = "品名（1点目の商品名、2点以上は「他N点」）"
    ITEM_1 = "明細1の商品名（×数量）"
    ITEM_2 = "明細2の商品名（×数量）"
    ITEM_3 = "明細3の商品名（×数量）"
    ITEM_4 = "明細4の商品名（×数量）"
    ITEM_5 = "明細5の商品名（×数量）"
    COD_AMOUNT = "代引金額（代金引換の注文のみ、合計金額）"
    COD_TAX = "代引金額のうち消費税（代金引換の注文のみ、[carriers.yamato] cod_tax_rate_percent で計算）"
    BILLING_CUSTOMER_CODE = "ご請求先顧客コード（[carriers.yamato] billing_customer_code）"
    BILLING_CLASS_CODE = "ご請求先分類コード（[carriers.yamato] billing_class_code）"
    FREIGHT_NUMBER = "運賃管理番号（[carriers.yamato] freight_number）"


# What is text a person reads (converted to 全角 where a layout counts 全角 characters);
# every other field is a number or a code and is written as it is.
TEXT_FIELDS = frozenset(
    {
        Field.RECIPIENT_NAME,
        Field.RECIPIENT_NAME_2,
        Field.RECIPIENT_ADDRESS_1,
        Field.RECIPIENT_ADDRESS_2,
        Field.RECIPIENT_ADDRESS_3,
        Field.RECIPIENT_ADDRESS_4,
        Field.SENDER_NAME,
        Field.SENDER_ADDRESS_1,
        Field.SENDER_ADDRESS_2,
        Field.SENDER_ADDRESS_3,
        Field.ITEMS_SUMMARY,
        Field.ITEM_1,
        Field.ITEM_2,
        Field.ITEM_3,
        Field.ITEM_4,
        Field.ITEM_5,
    }
)


# The address columns a layout's address is split over, in order.
RECIPIENT_ADDRESS = (
    Field.RECIPIENT_ADDRESS_1,
    Field.RECIPIENT_ADDRESS_2,
    Field.RECIPIENT_ADDRESS_3,
    Field.RECIPIENT_ADDRESS_4,
)
SENDER_ADDRESS = (Field.SENDER_ADDRESS_1, Field.SENDER_ADDRESS_2, Field.SENDER_ADDRESS_3)
ITEMS = (Field.ITEM_1, Field.ITEM_2, Field.ITEM_3, Field.ITEM_4, Field.ITEM_5)


@dataclass(frozen=True)
class Column:
    name: str
    limit: int | None = None  # CP932 bytes; None: no limit known
    fill: Field | None = None  # None: the fixed value below
    value: str = ""  # the fixed value when ``fill`` is None ("": left blank)
    cod_value: str | None = None  # the fixed value for 代引 orders, when it differs from ``value``
    truncate: bool = False  # cut to the limit (品名, 記事) instead of refusing the order


@dataclass(frozen=True)
class Methods:
    """The 配送方法 (受注's column) a file can carry and what it writes for each: B2's
    送り状種類 code, or nothing for a file that has one kind of parcel. An order whose 配送方法 is
    blank goes as ``default``; one this file cannot carry, or 代金引換 with a method missing from
    ``cod_codes`` (post-box services collect no cash), is left out of the file with why."""

    default: str
    codes: Mapping[str, str]  # 配送方法 -> code in ``column``
    cod_codes: Mapping[str, str]  # 配送方法 -> code for 代金引換 orders
    column: str | None = None  # None: nothing written (the file has one kind of parcel)


@dataclass(frozen=True)
class CodeTable:
    column: str
    codes: Mapping[str, str]
    source: str
    unverified: str = ""  # "" when confirmed; otherwise what is doubtful (⚠)


@dataclass(frozen=True)
class Layout:
    key: str
    name: str
    carrier: str  # sheets_schema.models.Carrier
    header: bool  # True: first row is the column names; False: positional
    columns: tuple[Column, ...]
    codes: tuple[CodeTable, ...] = ()
    key_column: str | None = None  # where order_key goes; None: the layout has none
    key_limit: int = 20
    address_widths: tuple[int, ...] = ()  # byte widths of the お届け先住所 columns, in order
    sender_address_widths: tuple[int, ...] = ()
    # Byte widths of the お届け先名 columns (名称1, 名称2): a long name continues on the second;
    # () when the layout has one name column (its own limit applies).
    name_widths: tuple[int, ...] = ()
    # True: the carrier's software counts 全角 characters (half-width is converted to full-width
    # before the cut), so TEXT_FIELDS are written in 全角 and a limit of 2N bytes = N characters.
    zenkaku: bool = False
    # The shop's account with this carrier that the file needs (settings [carriers.<account>]).
    account: Literal["yamato"] | None = None
    methods: Methods | None = None  # None: 配送方法 is not looked at
    source: str = ""
    notes: tuple[str, ...] = ()  # ⚠ and setup hints to show staff

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def code(self, column: str) -> CodeTable:
        return next(c for c in self.codes if c.column == column)

    @property
    def unverified(self) -> list[str]:
        return [f"{c.column}: {c.unverified}" for c in self.codes if c.unverified] + [
            n for n in self.notes if n.startswith("⚠")
        ]


FormatKey = Literal["b2_issued", "ehiden2_history", "ehiden3_export", "yupri_history", "simple"]


@dataclass(frozen=True)
class TrackingFormat:
    """A file of issued tracking numbers, as the carrier's software exports it.

    With a header row the columns are found by name (``key_names``/``tracking_names``, any of
    them): the carriers let each account choose and order its export columns. Without one, by
    position (``key_column``/``tracking_column``, 0-based) in the layout the references read."""

    key: FormatKey
    name: str
    carrier: str | None  # the carrier the file implies; None for the simple file
    key_column: int  # 0-based, for a file without a header row
    tracking_column: int
    key_names: tuple[str, ...] = ()  # header names of the management-number column
    tracking_names: tuple[str, ...] = ()  # header names of the tracking-number column
    has_header: bool = False
    note: str = ""
    # Column count of the headerless standard export; None: any width that reaches both columns.
    width: int | None = None
