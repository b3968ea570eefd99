"""納品書 for a batch in which some orders are 同梱: one slip per box. A single order gets the
usual slip (``documents``); a group gets ONE slip to its recipient listing every order with
its own number, mall, order date, lines, 送料 and total (each mall order keeps its amounts),
then the sum of the group. Pure PDF rendering, no Streamlit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from reportlab.pdfgen.canvas import Canvas

from sheets_schema.models import Order, OrderLine
from shipping import documents
from shipping.bundles import Parcel, parcels
from shipping.pdf_layout import (
    BODY,
    HEADING,
    MARGIN,
    PAGE_WIDTH,
    Paged,
    ShopInfo,
    date_text,
    draw_notes,
    paged_pdf,
    yen,
)


def _order_rows(order: Order, lines: Sequence[OrderLine]) -> list[tuple[str, ...]]:
    """One order's part of the group's table: its heading row, its lines, its 送料 and total."""
    rows: list[tuple[str, ...]] = [
        (
            f"■ 注文番号 {order.order_number}（{order.mall}）注文日 {date_text(order.ordered_at)}",
            "",
            "",
            "",
            "",
        )
    ]
    rows += documents.slip_rows(lines)
    subtotal = sum(line.quantity * line.unit_price for line in lines)
    adjustment = order.total - subtotal - order.shipping_fee
    rows.append(("　送料", "", "", "", yen(order.shipping_fee)))
    if adjustment:
        rows.append(
            ("　値引き・調整", "", "", "", f"-{yen(-adjustment)}" if adjustment < 0 else yen(adjustment))
        )
    rows.append(("　この注文の合計（税込）", "", "", "", yen(order.total)))
    return rows


def _head(canvas: Canvas, box: Parcel, shop: ShopInfo, printed_at: datetime) -> None:
    documents.draw_slip_top(canvas, box.orders[0], shop)
    y = documents.SLIP_TOP_FIRST + 38
    canvas.setFont(BODY, 9.5)
    canvas.drawString(MARGIN, y, f"同梱番号：{box.group}（ご注文 {len(box.orders)} 件）")
    canvas.drawRightString(PAGE_WIDTH - MARGIN, y - 14, f"発行日：{date_text(printed_at)}")
    canvas.setFont(BODY, 9)
    canvas.drawString(
        MARGIN,
        y - 30,
        "このたびはご注文いただき、誠にありがとうございます。下記のご注文をまとめて納品いたします。",
    )


def _totals(canvas: Canvas, box: Parcel, notes: list[str], y: float) -> None:
    total = sum(o.total for o in box.orders)
    tax = sum(documents.included_tax(o.total) for o in box.orders)
    label_x = PAGE_WIDTH - MARGIN - 220
    y -= 22
    canvas.setFont(HEADING, 11)
    canvas.drawString(label_x, y, f"ご注文 {len(box.orders)} 件の合計（税込）")
    canvas.drawRightString(PAGE_WIDTH - MARGIN - 3, y, yen(total))
    canvas.setLineWidth(0.8)
    canvas.line(label_x, y - 4, PAGE_WIDTH - MARGIN, y - 4)
    y -= 16
    canvas.setFont(BODY, 8.5)
    canvas.drawRightString(
        PAGE_WIDTH - MARGIN - 3,
        y,
        f"（内消費税 {documents.TAX_RATE_PERCENT}%：{yen(tax)}）金額はすべて税込・お支払いはご注文ごとです",
    )
    draw_notes(canvas, y, notes)


def group_slip(box: Parcel, lines: dict, shop: ShopInfo, printed_at: datetime) -> Paged:
    """The one 納品書 of a 同梱 group."""
    rows = [
        row for order, key in zip(box.orders, box.keys, strict=True) for row in _order_rows(order, lines[key])
    ]
    notes = [text for order in box.orders for text in documents.note_lines(order)]
    first = box.orders[0]
    return Paged(
        table=documents.SLIP_TABLE,
        rows=rows,
        top_first=documents.SLIP_TOP_FIRST,
        top_rest=documents.SLIP_TOP_REST,
        tail=80 + 12 * len(notes),
        head=lambda canvas: _head(canvas, box, shop, printed_at),
        continued=("納品書（続き）", f"同梱番号：{box.group}　{first.recipient_name or first.buyer_name} 様"),
        totals=lambda canvas, y: _totals(canvas, box, notes, y),
        footer=f"{shop.name}　納品書　同梱番号 {box.group}",
    )


def slip_count(orders: Iterable[Order]) -> int:
    """How many 納品書 the batch prints: one per box."""
    return len(parcels(list(orders)))


def delivery_slips_pdf(
    orders_with_lines: Iterable[tuple[Order, Sequence[OrderLine]]], *, shop: ShopInfo, printed_at: datetime
) -> bytes:
    """One 納品書 per box, in the given order: an order alone gets its own, a 同梱 group one for
    all its orders (where the first of them stands)."""
    pairs = list(orders_with_lines)
    lines = {(o.mall, o.order_number): list(ls) for o, ls in pairs}
    docs = [
        group_slip(box, lines, shop, printed_at)
        if box.group
        else documents.slip(box.orders[0], lines[box.keys[0]], shop, printed_at)
        for box in parcels([o for o, _ in pairs])
    ]
    return paged_pdf("納品書", shop.name, docs, "納品書を作成する注文がありません。")
