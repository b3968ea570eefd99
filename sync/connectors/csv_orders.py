"""How the rows of one order in a downloaded file become a canonical ``Order``: its lines
(prices per unit or per line, cancelled lines), money summed over rows where the file repeats
it, the address from its parts, and review notes for what a person should check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.connectors.csv_cells import fold_key
from sync.connectors.csv_layouts import Layout
from sync.models import Address, Order, OrderLine


@dataclass
class Row:
    """One record of the file, its cells read as typed values by field."""

    number: int
    values: dict[str, Any]
    is_line: bool


def _first(rows: list[Row], name: str) -> Any:
    return next((r.values[name] for r in rows if r.values.get(name) is not None), None)


def _money_of(rows: list[Row], name: str, layout: Layout) -> int:
    if name in layout.summed:
        return sum(r.values.get(name) or 0 for r in rows)
    return _first(rows, name) or 0


def _address(rows: list[Row]) -> str:
    single = _first(rows, "address")
    if single:
        return single
    prefecture = _first(rows, "prefecture") or ""
    city = _first(rows, "city") or ""
    street = _first(rows, "address1") or ""
    if city == "--" or street.startswith(city):
        city = ""  # Amazon JP leaves "--" in ship-city and puts the city in ship-address-1
    head = f"{prefecture}{city}{street}"
    rest = [part for part in (_first(rows, "address2"), _first(rows, "address3")) if part]
    return " ".join([head, *rest]).strip()


def _lines(rows: list[Row], layout: Layout, review: list[str]) -> tuple[list[OrderLine], int]:
    """The order's lines and what the buyer pays for them (cancelled lines excluded)."""
    lines: list[OrderLine] = []
    goods = 0
    for row in (r for r in rows if r.is_line):
        v = row.values
        ordered = v["quantity"]
        cancelled = fold_key(v.get("line_status") or "") in layout.cancelled_items
        price = v.get("line_price") if layout.line_price_is_total else v.get("unit_price")
        if price is None:
            price = 0
            if ordered and not cancelled:
                review.append(f"{row.number}行目の明細に金額がありません（金額未確定）")
        unit = price
        if layout.line_price_is_total:
            # item-price is price x quantity ("aggregates of the quantity, not unit prices").
            unit = price // ordered if ordered else 0
            if ordered and price % ordered:
                review.append(
                    f"{row.number}行目の金額{price}円は数量{ordered}で割り切れません（単価は切り捨て）"
                )
        quantity = 0 if cancelled else ordered  # 0 is the model's "line cancelled at the mall"
        goods += (price if layout.line_price_is_total else unit * quantity) if quantity else 0
        seller_sku = v.get("seller_sku") or ""
        lines.append(
            OrderLine(
                line_number=v.get("line_number") or len(lines) + 1,
                # Amazon listings (and stock pushes) are keyed by the seller SKU.
                mall_item_code=v.get("mall_item_code") or seller_sku,
                seller_sku=seller_sku,
                name=v.get("item_name") or "",
                quantity=quantity,
                unit_price=unit,
            )
        )
    return lines, goods


def _contact_review(delivery: Address, status: str, allocates: bool) -> list[str]:
    notes = []
    if allocates and status not in ("出荷済", "キャンセル") and not (delivery.name and delivery.address):
        notes.append("送付先の氏名か住所がありません")
    digits = delivery.postcode.replace("-", "")
    if digits.isdigit() and len(digits) == 6:
        notes.append("郵便番号が6桁です（Excelで先頭の0が消えた可能性があります）")
    if delivery.phone.isdigit() and not delivery.phone.startswith("0"):
        notes.append("電話番号が0で始まっていません（Excelで先頭の0が消えた可能性があります）")
    return notes


def build_order(rows: list[Row], layout: Layout, mall: str) -> Order:
    review: list[str] = []
    lines, goods = _lines(rows, layout, review)
    status = _first(rows, "status") or layout.default_status
    allocates = _first(rows, "fulfillment")
    allocates = True if allocates is None else allocates
    delivery = Address(
        name=_first(rows, "recipient_name") or "",
        postcode=_first(rows, "postcode") or "",
        address=_address(rows),
        phone=_first(rows, "phone") or "",
    )
    ship_discount = _money_of(rows, "ship_discount", layout)
    shipping = _money_of(rows, "shipping_fee", layout)
    computed = (
        goods
        + shipping
        + _money_of(rows, "gift_wrap", layout)
        - _money_of(rows, "item_discount", layout)
        - ship_discount
    )
    total = _first(rows, "total")
    ordered_at = _first(rows, "ordered_at")
    return Order(
        mall=mall,
        order_number=_first(rows, "order_number"),
        ordered_at=ordered_at,
        updated_at=_first(rows, "updated_at") or _first(rows, "paid_at") or ordered_at,
        status=status,
        payment_method=_first(rows, "payment_method") or "",
        buyer=Address(name=_first(rows, "buyer_name") or "", phone=_first(rows, "buyer_phone") or ""),
        delivery=delivery,
        total=max(0, computed) if total is None else total,
        shipping_fee=max(0, shipping - ship_discount),
        note=_first(rows, "note") or "",
        lines=tuple(lines),
        allocates_stock=allocates,
        review=tuple(review + _contact_review(delivery, status, allocates)),
    )
