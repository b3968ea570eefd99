"""The picking list as paper: an A4 PDF of ``documents.picking_list``'s lines in shelf order,
a 同梱 group counted once under its group id. Split from ``shipping.documents``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from shipping.documents import NEEDS_CHECK, PickLine
from shipping.pdf_layout import (
    BODY,
    BOTTOM,
    HEADING,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Column,
    Table,
    footer,
    new_canvas,
    paginate,
    stamp,
)

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
            "、".join(line.parcels or [number for _, number in line.orders]),
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
    box_count = len({box for line in lines for box in line.parcels}) or order_count
    grouped = box_count < order_count

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
            # A 同梱 group is one box: counted once, under its group id.
            boxes = (
                f"出荷 {box_count:,} 件（注文 {order_count:,} 件・同梱を含む）"
                if grouped
                else f"注文 {order_count:,} 件"
            )
            canvas.drawString(
                MARGIN, y - 45, f"{boxes}　商品 {len(lines):,} 行　合計 {units:,} 点（棚順: SKU順）"
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
