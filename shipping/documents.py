"""Paper for the packing table: a picking list for a batch of orders and one 納品書 per order.

Pure logic over the parsed workbook plus PDF rendering with reportlab, no Streamlit.

``picking_list(tables, keys)`` sums the batch's order lines per SKU. The list is sorted for one
walk along the shelves: the shop shelves goods in SKU order (the demo's SKUs encode the shelf:
product family first, then colour and size), so lines are sorted by SKU, compared case- and
width-insensitively with digit runs as numbers ("X-2" before "X-10"). Lines without a SKU cannot
be found on a shelf: they come last, one per item name, marked 要確認.

The PDFs are drawn with the shared paper stack of shipping/pdf_layout.py (Japanese CID fonts, a
table that paginates). Amounts are tax-included yen, printed ¥12,345.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, SET_COMPONENTS
from shipping.bundles import parcels
from shipping.pdf_layout import (
    BODY,
    CONTENT_WIDTH,
    HEADING,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Column,
    Paged,
    ShopInfo,
    Table,
    date_text,
    draw_notes,
    draw_shop,
    paged_pdf,
    wrap,
    yen,
)
from sync.sets import read_sets

OrderKey = tuple[str, str]  # (モール, 注文番号)

TAX_RATE_PERCENT = 10
NEEDS_CHECK = "要確認"
# 備考 lines Ichigen writes for staff (保留の理由) stay off the customer's 納品書.
_STAFF_NOTE = re.compile(r"^\s*【保留】")


def included_tax(total: int, rate_percent: int = TAX_RATE_PERCENT) -> int:
    """The consumption tax inside a tax-included amount, rounded down (内税, 円未満切り捨て)."""
    return total * rate_percent // (100 + rate_percent)


# -- the picking list


@dataclass(frozen=True)
class PickLine:
    sku: str | None  # None: the line has no SKU (要確認)
    name: str
    quantity: int  # 合計数量
    order_count: int  # 注文件数
    orders: tuple[OrderKey, ...]
    sets: tuple[str, ...] = ()  # set products this SKU is picked for (a set is packed from parts)
    # The boxes it goes into, as on paper: an order number, or a 同梱 group's id (its orders
    # are one box for the packer). ``order_count`` counts these.
    parcels: tuple[str, ...] = ()

    @property
    def needs_check(self) -> bool:
        return self.sku is None

    @property
    def label(self) -> str:
        """商品名, with the sets it is packed into: 「…（セット SOX-RIB-3P 用を含む）」."""
        return f"{self.name}（セット {'・'.join(self.sets)} 用を含む）" if self.sets else self.name


def shelf_key(sku: str) -> tuple[Any, ...]:
    """Sort key for walking the shelves: SKU order, ignoring case and full/half width, with digit
    runs compared as numbers."""
    text = unicodedata.normalize("NFKC", sku).upper()
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", text)
    )


@dataclass
class _Pick:
    name: str
    quantity: int = 0
    orders: dict[OrderKey, None] = field(default_factory=dict)
    sets: dict[str, None] = field(default_factory=dict)
    parcels: dict[str, None] = field(default_factory=dict)


def _lines_by_order(tables: Mapping[str, Any], keys: Sequence[OrderKey]) -> dict[OrderKey, list[OrderLine]]:
    wanted = {(m, n): [] for m, n in keys}
    for line in tables[ORDER_LINES.title].models():
        key = (line.mall, line.order_number)
        if key in wanted:
            wanted[key].append(line)
    for lines in wanted.values():
        lines.sort(key=lambda line: line.line_number)
    return wanted


def lines_by_order(tables: Mapping[str, Any]) -> dict[OrderKey, list[OrderLine]]:
    """Every order's lines, by (モール, 注文番号), in 明細番号 order."""
    grouped: dict[OrderKey, list[OrderLine]] = {}
    for line in tables[ORDER_LINES.title].models():
        grouped.setdefault((line.mall, line.order_number), []).append(line)
    for lines in grouped.values():
        lines.sort(key=lambda line: line.line_number)
    return grouped


def _orders(tables: Mapping[str, Any], keys: Sequence[OrderKey]) -> dict[OrderKey, Order]:
    found = {(o.mall, o.order_number): o for o in tables[ORDERS.title].models()}
    missing = [f"{n}（{m}）" for m, n in keys if (m, n) not in found]
    if missing:
        raise KeyError(f"受注シートに見つからない注文があります: {'、'.join(missing)}")
    return {key: found[key] for key in keys}


def picking_list(tables: Mapping[str, Any], orders: Iterable[OrderKey]) -> list[PickLine]:
    """Units to pick for the given orders, one line per SKU, in shelf order (see the module doc).

    Lines with 数量 0 have nothing to pick and are skipped. 商品名 comes from 商品 when the SKU is
    there, else from the order line. Raises ``KeyError`` for an order not in 受注."""
    keys = list(dict.fromkeys((str(m), str(n)) for m, n in orders))
    found = _orders(tables, keys)
    # Orders of one 同梱 group among them are one box: picked for, and counted, once.
    box_of = {key: box.label for box in parcels(list(found.values())) for key in box.keys}
    catalogue = {p.sku: p.name for p in tables[PRODUCTS.title].models()}
    set_tab = tables.get(SET_COMPONENTS.title)
    compositions = read_sets(set_tab, catalogue).compositions if set_tab is not None else {}
    by_sku: dict[str, _Pick] = {}
    unknown: dict[str, _Pick] = {}
    for key, lines in _lines_by_order(tables, keys).items():
        for line in lines:
            if line.quantity <= 0:
                continue
            if line.sku in compositions:
                # A set is packed from its components: the picker fetches those, not the set.
                for part, per_set in compositions[line.sku]:
                    pick = by_sku.setdefault(part, _Pick(catalogue.get(part) or part))
                    pick.quantity += per_set * line.quantity
                    pick.orders[key] = None
                    pick.parcels[box_of[key]] = None
                    pick.sets[line.sku] = None
                continue
            if line.sku:
                pick = by_sku.setdefault(line.sku, _Pick(catalogue.get(line.sku) or line.name))
            else:
                name = line.name.strip() or line.mall_item_code.strip() or "（商品名なし）"
                pick = unknown.setdefault(name, _Pick(name))
            pick.quantity += line.quantity
            pick.orders[key] = None
            pick.parcels[box_of[key]] = None
    result = [
        PickLine(sku, p.name, p.quantity, len(p.parcels), tuple(p.orders), tuple(p.sets), tuple(p.parcels))
        for sku, p in sorted(by_sku.items(), key=lambda item: shelf_key(item[0]))
    ]
    result += [
        PickLine(None, p.name, p.quantity, len(p.parcels), tuple(p.orders), parcels=tuple(p.parcels))
        for _, p in sorted(unknown.items(), key=lambda item: item[0])
    ]
    return result


def orders_with_lines(
    tables: Mapping[str, Any], orders: Iterable[OrderKey]
) -> list[tuple[Order, list[OrderLine]]]:
    """The given orders, in the given order, each with its lines by 明細番号 (for 納品書)."""
    keys = list(dict.fromkeys((str(m), str(n)) for m, n in orders))
    found = _orders(tables, keys)
    lines = _lines_by_order(tables, keys)
    return [(found[key], lines[key]) for key in keys]


# -- 納品書

SLIP_TABLE = Table(
    (
        Column("商品名", 235, wrap=True),
        Column("SKU", 105),
        Column("数量", 45, "right"),
        Column("単価", 65, "right"),
        Column("金額", 65, "right"),
    ),
    size=9.5,
)
TOTALS_HEIGHT = 130.0  # 小計 … 内消費税, plus room for a one-line 備考
SLIP_TOP_FIRST = PAGE_HEIGHT - MARGIN - 200
SLIP_TOP_REST = PAGE_HEIGHT - MARGIN - 50


def note_lines(order: Order) -> list[str]:
    kept = "\n".join(line for line in order.note.splitlines() if line.strip() and not _STAFF_NOTE.match(line))
    return wrap(kept, BODY, 9, CONTENT_WIDTH - 50) if kept else []


def slip_rows(lines: Sequence[OrderLine]) -> list[tuple[str, ...]]:
    return [
        (
            line.name or "（商品名なし）",
            line.sku or "—",
            f"{line.quantity:,}",
            yen(line.unit_price),
            yen(line.quantity * line.unit_price),
        )
        for line in lines
    ]


def _draw_slip_head(canvas: Canvas, order: Order, shop: ShopInfo, printed_at: datetime) -> None:
    draw_slip_top(canvas, order, shop)
    right = PAGE_WIDTH - MARGIN
    # The order.
    y = SLIP_TOP_FIRST + 38
    canvas.setFont(BODY, 9.5)
    canvas.drawString(MARGIN, y, f"注文番号：{order.order_number}（{order.mall}）")
    canvas.drawString(MARGIN, y - 14, f"注文日：{date_text(order.ordered_at)}")
    canvas.drawRightString(right, y - 14, f"発行日：{date_text(printed_at)}")
    canvas.setFont(BODY, 9)
    canvas.drawString(
        MARGIN, y - 30, "このたびはご注文いただき、誠にありがとうございます。下記の通り納品いたします。"
    )


def draw_slip_top(canvas: Canvas, order: Order, shop: ShopInfo) -> None:
    """納品書's title, the shop (top right) and the recipient of ``order`` (top left)."""
    top = PAGE_HEIGHT - MARGIN
    canvas.setFont(HEADING, 20)
    canvas.drawCentredString(PAGE_WIDTH / 2, top - 20, "納品書")

    # The sender, top right.
    draw_shop(canvas, shop, top - 50)

    # The recipient, top left.
    y = top - 50
    canvas.setFont(HEADING, 9)
    canvas.drawString(MARGIN, y, "お届け先")
    canvas.setFont(BODY, 10)
    if order.postcode:
        y -= 14
        canvas.drawString(MARGIN, y, f"〒{order.postcode}")
    for text in wrap(order.address, BODY, 10, 280)[:3]:
        y -= 14
        canvas.drawString(MARGIN, y, text)
    y -= 20
    canvas.setFont(HEADING, 13)
    name = order.recipient_name or order.buyer_name
    canvas.drawString(MARGIN, y, f"{name} 様")
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, y - 4, MARGIN + 280, y - 4)


def _draw_totals(canvas: Canvas, order: Order, lines: Sequence[OrderLine], y: float) -> None:
    subtotal = sum(line.quantity * line.unit_price for line in lines)
    adjustment = order.total - subtotal - order.shipping_fee
    rows: list[tuple[str, str, str]] = [
        ("小計", yen(subtotal), BODY),
        ("送料", yen(order.shipping_fee), BODY),
    ]
    if adjustment:
        # Coupons, points or fees the mall applied: printed so the figures add up.
        rows.append(("値引き・調整", f"-{yen(-adjustment)}" if adjustment < 0 else yen(adjustment), BODY))
    rows.append(("合計（税込）", yen(order.total), HEADING))
    label_x = PAGE_WIDTH - MARGIN - 170
    y -= 6
    for label, amount, font in rows:
        y -= 16
        size = 11 if font == HEADING else 9.5
        canvas.setFont(font, size)
        canvas.drawString(label_x, y, label)
        canvas.drawRightString(PAGE_WIDTH - MARGIN - 3, y, amount)
    canvas.setLineWidth(0.8)
    canvas.line(label_x, y - 4, PAGE_WIDTH - MARGIN, y - 4)
    y -= 16
    canvas.setFont(BODY, 8.5)
    tax = included_tax(order.total)
    canvas.drawRightString(
        PAGE_WIDTH - MARGIN - 3, y, f"（内消費税 {TAX_RATE_PERCENT}%：{yen(tax)}）金額はすべて税込です"
    )
    draw_notes(canvas, y, note_lines(order))


def slip(order: Order, lines: Sequence[OrderLine], shop: ShopInfo, printed_at: datetime) -> Paged:
    return Paged(
        table=SLIP_TABLE,
        rows=slip_rows(lines),
        top_first=SLIP_TOP_FIRST,
        top_rest=SLIP_TOP_REST,
        tail=TOTALS_HEIGHT + 12 * max(0, len(note_lines(order)) - 1),
        head=lambda canvas: _draw_slip_head(canvas, order, shop, printed_at),
        continued=(
            "納品書（続き）",
            f"注文番号：{order.order_number}　{order.recipient_name or order.buyer_name} 様",
        ),
        totals=lambda canvas, y: _draw_totals(canvas, order, lines, y),
        footer=f"{shop.name}　納品書　注文番号 {order.order_number}",
    )


def delivery_slips_pdf(
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]],
    *,
    shop: ShopInfo,
    printed_at: datetime,
) -> bytes:
    """One 納品書 per order, each starting on its own A4 page; a long order continues on the
    next pages (「納品書（続き）」) with the totals on its last page. 備考 lines Ichigen wrote for
    staff (【保留】…) are left out."""
    slips = (slip(order, lines, shop, printed_at) for order, lines in orders_with_lines)
    return paged_pdf("納品書", shop.name, slips, "納品書を作成する注文がありません。")


__all__ = [
    "BODY",
    "NEEDS_CHECK",
    "PickLine",
    "ShopInfo",
    "delivery_slips_pdf",
    "included_tax",
    "orders_with_lines",
    "picking_list",
    "shelf_key",
    "wrap",
    "yen",
]
