"""発注書 as an A4 PDF, on the same paper stack as the 納品書 (shipping/pdf_layout.py).

Each 発注 starts on its own page: the title; the supplier 御中 (and 担当者 様) top left; 発注番号,
発注日 (the print date when the sheet has none) and the shop as orderer top right; 入荷予定日
and the total in a box; one row per line (No., SKU, JAN, 商品名 with the line's 備考, 数量, 単価,
金額); the totals and 備考 on its last page. A long 発注 continues on 「発注書（続き）」 pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from purchasing.po_documents import UNPRICED, DocumentLine, PurchaseOrderDocument
from sheets_schema.cells import JST
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
    draw_notes,
    draw_shop,
    paged_pdf,
    wrap,
    yen,
)

TABLE = Table(
    (
        Column("No.", 25, "right"),
        Column("SKU", 90),
        Column("JANコード", 80),
        Column("商品名", 160, wrap=True),
        Column("数量", 40, "right"),
        Column("単価", 55, "right"),
        Column("金額", 65, "right"),
    ),
    size=9.0,
)
TOP_FIRST = PAGE_HEIGHT - MARGIN - 235
TOP_REST = PAGE_HEIGHT - MARGIN - 50
NO_JAN = "なし"
TOTALS_HEIGHT = 70.0  # 合計数量・合計金額 and a one-line 備考


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def row_cells(line: DocumentLine) -> tuple[str, ...]:
    name = f"{line.name}\n（{line.note}）" if line.note else line.name
    return (
        str(line.line_number),
        line.sku,
        line.jan or NO_JAN,
        name,
        f"{line.quantity:,}",
        UNPRICED if line.unit_cost is None else yen(line.unit_cost),
        UNPRICED if line.amount is None else yen(line.amount),
    )


def _note_lines(doc: PurchaseOrderDocument) -> list[str]:
    return wrap(doc.note, BODY, 9, CONTENT_WIDTH - 50) if doc.note else []


def _total_text(doc: PurchaseOrderDocument) -> str:
    return yen(doc.total) + (f"（単価{UNPRICED} {doc.unpriced} 行を除く）" if doc.unpriced else "")


def _draw_head(canvas: Canvas, doc: PurchaseOrderDocument, shop: ShopInfo, printed_on: date) -> None:
    top = PAGE_HEIGHT - MARGIN
    right = PAGE_WIDTH - MARGIN
    canvas.setFont(HEADING, 20)
    canvas.drawCentredString(PAGE_WIDTH / 2, top - 20, "発注書")

    canvas.setFont(BODY, 9.5)
    canvas.drawRightString(right, top - 48, f"発注番号：{doc.number}")
    canvas.drawRightString(right, top - 62, f"発注日：{_day(doc.ordered_on(printed_on))}")
    draw_shop(canvas, shop, top - 86)

    # The supplier, top left.
    supplier = doc.supplier
    y = top - 60
    name = f"{supplier.name} 御中"
    # A long company name shrinks rather than run into the shop's block on the right.
    size = min(14.0, 14.0 * 280 / max(1.0, pdfmetrics.stringWidth(name, HEADING, 14)))
    canvas.setFont(HEADING, size)
    canvas.drawString(MARGIN, y, name)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, y - 4, MARGIN + 280, y - 4)
    canvas.setFont(BODY, 10)
    if supplier.contact:
        y -= 20
        canvas.drawString(MARGIN, y, f"{supplier.contact} 様")
    canvas.setFont(BODY, 8.5)
    for text in (f"TEL {supplier.phone}" if supplier.phone else "", supplier.email):
        if text:
            y -= 13
            canvas.drawString(MARGIN, y, text)

    y = TOP_FIRST + 75
    canvas.setFont(BODY, 9.5)
    canvas.drawString(MARGIN, y, "下記の通り発注いたします。ご確認のほど、よろしくお願いいたします。")
    # 入荷予定日 and the total, boxed: what the supplier must read first.
    box_top = y - 12
    canvas.setLineWidth(0.8)
    canvas.rect(MARGIN, box_top - 44, 300, 44, 1, 0)
    canvas.setFont(HEADING, 10)
    expected = _day(doc.order.expected_on) if doc.order.expected_on else "ご相談"
    canvas.drawString(MARGIN + 8, box_top - 17, f"納期（入荷予定日）：{expected}")
    canvas.setFont(HEADING, 12)
    canvas.drawString(MARGIN + 8, box_top - 36, f"合計金額：{_total_text(doc)}")


def _draw_totals(canvas: Canvas, doc: PurchaseOrderDocument, y: float) -> None:
    label_x = PAGE_WIDTH - MARGIN - 200
    right = PAGE_WIDTH - MARGIN - 3
    y -= 18
    canvas.setFont(BODY, 9.5)
    canvas.drawString(label_x, y, "合計数量")
    canvas.drawRightString(right, y, f"{doc.units:,}")
    y -= 18
    canvas.setFont(HEADING, 11)
    canvas.drawString(label_x, y, "合計金額")
    canvas.drawRightString(right, y, yen(doc.total))
    canvas.setLineWidth(0.8)
    canvas.line(label_x, y - 4, PAGE_WIDTH - MARGIN, y - 4)
    if doc.unpriced:
        y -= 16
        canvas.setFont(BODY, 8.5)
        canvas.drawRightString(right, y, f"単価{UNPRICED}の {doc.unpriced} 行は合計金額に含みません")
    draw_notes(canvas, y, _note_lines(doc))


def _paged(doc: PurchaseOrderDocument, shop: ShopInfo, printed_on: date) -> Paged:
    return Paged(
        table=TABLE,
        rows=[row_cells(line) for line in doc.lines],
        top_first=TOP_FIRST,
        top_rest=TOP_REST,
        tail=TOTALS_HEIGHT + 16 * bool(doc.unpriced) + 12 * max(0, len(_note_lines(doc)) - 1),
        head=lambda canvas: _draw_head(canvas, doc, shop, printed_on),
        continued=("発注書（続き）", f"発注番号：{doc.number}　{doc.supplier.name} 御中"),
        totals=lambda canvas, y: _draw_totals(canvas, doc, y),
        footer=f"{shop.name}　発注書　発注番号 {doc.number}",
    )


def purchase_orders_pdf(
    docs: Iterable[PurchaseOrderDocument], *, shop: ShopInfo, printed_at: datetime
) -> bytes:
    """One 発注書 per 発注, each starting on its own A4 page."""
    printed_on = printed_at.astimezone(JST).date()
    pages = (_paged(doc, shop, printed_on) for doc in docs)
    return paged_pdf("発注書", shop.name, pages, "発注書を作成する発注がありません。")
