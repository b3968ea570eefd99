"""Rows of the 発注・入荷 page's tables, as plain dicts with the headers staff see (no
Streamlit here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from purchasing.suggestions import Suggestion
from sheets_schema.models import PurchaseOrder, PurchaseOrderLine

ORDER = "発注する"


def suggestion_rows(suggestions: Sequence[Suggestion]) -> list[dict[str, Any]]:
    return [
        {
            # What staff decide on first, so it stays in view on a laptop screen.
            ORDER: s.quantity > 0,
            "SKU": s.sku,
            "商品名": s.name,
            "提案数": s.quantity,
            "在庫切れ予定日": s.runs_out_on.isoformat() if s.runs_out_on else "",
            "1日平均": round(s.per_day, 2),
            "手元": s.free,
            "発注残": s.on_order,
            "仕入先": s.supplier,
            "理由": s.why,
        }
        for s in suggestions
    ]


def order_rows(orders: Iterable[PurchaseOrder], lines: Iterable[PurchaseOrderLine]) -> list[dict[str, Any]]:
    units: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    amount: dict[str, int] = defaultdict(int)
    costed: dict[str, bool] = defaultdict(lambda: True)
    for line in lines:
        units[line.number] += line.quantity
        received[line.number] += line.received
        if line.unit_cost is None:
            costed[line.number] = False
        else:
            amount[line.number] += line.quantity * line.unit_cost
    return [
        {
            "発注番号": o.number,
            "仕入先": o.supplier,
            "ステータス": o.status,
            "発注日": o.ordered_on.isoformat() if o.ordered_on else "",
            "入荷予定日": o.expected_on.isoformat() if o.expected_on else "",
            "数量": units[o.number],
            "入荷数": received[o.number],
            "金額": amount[o.number] if costed[o.number] else None,
            "送信日時": f"{o.sent_at:%Y-%m-%d %H:%M}" if o.sent_at else "",
        }
        for o in sorted(orders, key=lambda o: o.number, reverse=True)
    ]


def receiving_rows(lines: Iterable[PurchaseOrderLine], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per line of a 発注; 今回の入荷 starts at what is still outstanding."""
    return [
        {
            "明細番号": line.line_number,
            "SKU": line.sku,
            "商品名": names.get(line.sku, ""),
            "発注数": line.quantity,
            "入荷済": line.received,
            "今回の入荷": line.outstanding,
        }
        for line in sorted(lines, key=lambda x: x.line_number)
    ]
