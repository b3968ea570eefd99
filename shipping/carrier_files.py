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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shipping.bundles import destination
from shipping.bundles import parcels as boxes
from shipping.carrier_layouts.schema import (
    ENCODING,
    LINE_ENDING,
    RECIPIENT_ADDRESS,
    SENDER_ADDRESS,
    Column,
    Field,
    Layout,
)
from shipping.label_parcel import (
    FILLS,
    Parcel,
    Sender,
    YamatoAccount,
    cell_value,
    recipient_name,
)
from shipping.label_values import (
    cp932_len,
    cut_to_width,
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
from vocabulary.statuses import METHOD_CARRIER


class LabelFileError(ValueError):
    """A label file cannot be written; the message is for staff, in Japanese."""


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


def _method_code(layout: Layout, orders: Sequence[Order], cash_on_delivery: bool) -> str:
    """What the box's 配送方法 writes in this file (B2's 送り状種類), or why it cannot go in it."""
    methods = layout.methods
    assert methods is not None
    chosen = {o.delivery_method or methods.default for o in orders}
    if len(chosen) > 1:
        raise _Refused("配送方法", f"同梱の注文の配送方法が揃っていません（{'・'.join(sorted(chosen))}）")
    (method,) = chosen
    if method not in methods.codes:
        carrier = METHOD_CARRIER.get(method, "")
        raise _Refused(
            "配送方法",
            f"「{method}」は{layout.name}では送れません（{carrier}の配送方法です）。"
            f"{carrier}のファイルを作るか、受注シートの配送方法を直してください",
        )
    if cash_on_delivery:
        if method not in methods.cod_codes:
            raise _Refused("配送方法", f"{method}は代金引換で送れません。配送方法を変えてください")
        return methods.cod_codes[method]
    return methods.codes[method]


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
            if layout.methods is not None:
                code = _method_code(layout, box.orders, parcel.cash_on_delivery)
                if layout.methods.column is not None:
                    row[layout.column_names.index(layout.methods.column)] = code
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
