"""Paper for the packing table: a picking list for a batch of orders and one 納品書 per order.

Pure logic over the parsed workbook plus PDF rendering with reportlab, no Streamlit.

``picking_list(tables, keys)`` (shipping/picking.py) sums the batch's order lines per SKU in
shelf order; this module draws it and the 納品書.

The PDFs are drawn with the shared paper stack of shipping/pdf_layout.py (the embedded IPAexGothic, a
table that paginates). Amounts are tax-included yen, printed ¥12,345.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from sheets_schema.models import Order, OrderLine
from shipping.pdf_layout import (
    BODY,
    BOTTOM,
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
    footer,
    new_canvas,
    paged_pdf,
    paginate,
    stamp,
    wrap,
    yen,
)
from shipping.picking import (  # noqa: F401  (re-exported: the 出荷 page and tests use them from here)
    NEEDS_CHECK,
    OrderKey,
    PickLine,
    _lines_by_order,
    _orders,
    lines_by_order,
    picking_list,
    shelf_key,
)

TAX_RATE_PERCENT = 10
# 備考 lines Ichigen writes for staff (保留の理由) stay off the customer's 納品書.
_STAFF_NOTE = re.compile(r"^\s*【保留】")


def included_tax(total: int, rate_percent: int = TAX_RATE_PERCENT) -> int:
    """The consumption tax inside a tax-included amount, rounded down (内税, 円未満切り捨て)."""
    return total * rate_percent // (100 + rate_percent)


def orders_with_lines(
    tables: Mapping[str, Any], orders: Iterable[OrderKey]
) -> list[tuple[Order, list[OrderLine]]]:
    """The given orders, in the given order, each with its lines by 明細番号 (for 納品書)."""
    keys = list(dict.fromkeys((str(m), str(n)) for m, n in orders))
    found = _orders(tables, keys)
    lines = _lines_by_order(tables, keys)
    return [(found[key], lines[key]) for key in keys]


# -- the picking list PDF

# 注文番号 is wide enough for the longest mall number on one line (楽天's
# 338112-20261207-93753136 is 131 pt at 9 pt) and breaks only between numbers.
_PICK_TABLE = Table(
    (
        Column("No.", 24, "right"),
        Column("SKU", 86),
        Column("商品名", 186, wrap=True),
        Column("数量", 36, "right"),
        Column("注文件数", 44, "right"),
        Column("注文番号", 139, items=True),
    )
)


def picking_pdf(lines: Sequence[PickLine], *, shop_name: str, printed_at: datetime) -> bytes:
    """The picking list as an A4 PDF: one row per ``PickLine`` in the given (shelf) order,
    the header repeated on every page."""
    rows = [
        (
            str(i),
            line.sku or NEEDS_CHECK,
            line.label if line.sku else f"【{NEEDS_CHECK}: SKUなし】{line.name}",
            f"{line.quantity:,}",
            f"{line.order_count:,}",
            "、".join(number for _, number in line.orders),
        )
        for i, line in enumerate(lines, start=1)
    ]
    table = _PICK_TABLE
    heights = [table.row_height(r) for r in rows]
    top_first = PAGE_HEIGHT - MARGIN - 70
    top_rest = PAGE_HEIGHT - MARGIN - 30
    pages = paginate(
        heights, top_first - table.header_height - BOTTOM, top_rest - table.header_height - BOTTOM, 20
    )
    units = sum(line.quantity for line in lines)
    order_count = len({key for line in lines for key in line.orders})

    buffer = io.BytesIO()
    canvas = new_canvas(buffer, "ピッキングリスト", shop_name)
    for page_number, indices in enumerate(pages, start=1):
        y = PAGE_HEIGHT - MARGIN
        if page_number == 1:
            canvas.setFont(HEADING, 16)
            canvas.drawString(MARGIN, y - 16, "ピッキングリスト")
            canvas.setFont(BODY, 9)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, y - 10, shop_name)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, y - 22, f"印刷日時 {stamp(printed_at)}")
            canvas.setFont(HEADING, 10)
            canvas.drawString(
                MARGIN,
                y - 45,
                f"注文 {order_count:,} 件　商品 {len(lines):,} 行　合計 {units:,} 点（棚順: SKU順）",
            )
            y = top_first
        else:
            canvas.setFont(HEADING, 11)
            canvas.drawString(MARGIN, y - 12, "ピッキングリスト（続き）")
            y = top_rest
        y = table.draw_header(canvas, MARGIN, y)
        for i in indices:
            y = table.draw_row(canvas, MARGIN, y, rows[i])
        if page_number == len(pages) and not rows:
            canvas.setFont(BODY, 10)
            canvas.drawString(MARGIN, y - 16, "ピッキングする商品はありません。")
        footer(canvas, f"{shop_name}　ピッキングリスト　{stamp(printed_at)}", page_number, len(pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# -- 納品書

_SLIP_TABLE = Table(
    (
        Column("商品名", 235, wrap=True),
        Column("SKU", 105),
        Column("数量", 45, "right"),
        Column("単価", 65, "right"),
        Column("金額", 65, "right"),
    ),
    size=9.5,
)
_TOTALS_HEIGHT = 130.0  # 小計 … 内消費税, plus room for a one-line 備考
_SLIP_TOP_FIRST = PAGE_HEIGHT - MARGIN - 200
_SLIP_TOP_REST = PAGE_HEIGHT - MARGIN - 50


def _note_lines(order: Order) -> list[str]:
    kept = "\n".join(line for line in order.note.splitlines() if line.strip() and not _STAFF_NOTE.match(line))
    return wrap(kept, BODY, 9, CONTENT_WIDTH - 50) if kept else []


def _slip_rows(lines: Sequence[OrderLine]) -> list[tuple[str, ...]]:
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
    top = PAGE_HEIGHT - MARGIN
    canvas.setFont(HEADING, 20)
    canvas.drawCentredString(PAGE_WIDTH / 2, top - 20, "納品書")

    # The sender, top right.
    right = PAGE_WIDTH - MARGIN
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

    # The order.
    y = _SLIP_TOP_FIRST + 38
    canvas.setFont(BODY, 9.5)
    canvas.drawString(MARGIN, y, f"注文番号：{order.order_number}（{order.mall}）")
    canvas.drawString(MARGIN, y - 14, f"注文日：{date_text(order.ordered_at)}")
    canvas.drawRightString(right, y - 14, f"発行日：{date_text(printed_at)}")
    canvas.setFont(BODY, 9)
    canvas.drawString(
        MARGIN, y - 30, "このたびはご注文いただき、誠にありがとうございます。下記の通り納品いたします。"
    )


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
    draw_notes(canvas, y, _note_lines(order))


def _slip(order: Order, lines: Sequence[OrderLine], shop: ShopInfo, printed_at: datetime) -> Paged:
    return Paged(
        table=_SLIP_TABLE,
        rows=_slip_rows(lines),
        top_first=_SLIP_TOP_FIRST,
        top_rest=_SLIP_TOP_REST,
        tail=_TOTALS_HEIGHT + 12 * max(0, len(_note_lines(order)) - 1),
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
    slips = (_slip(order, lines, shop, printed_at) for order, lines in orders_with_lines)
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
    "picking_pdf",
    "shelf_key",
    "wrap",
    "yen",
]
