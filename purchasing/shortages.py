"""Orders the stock on hand cannot fill (在庫不足), and when goods for them are expected.

Ichigen allocates every open order (引当) as it comes in, so a SKU can be promised beyond what
is on the shelf: 引当数 above 実在庫 (売り越し). Which orders are short is decided first come,
first served: open, allocating order lines in 注文日時 order take 実在庫 until it runs out; the
lines after that are short. When goods arrive (入荷), 実在庫 rises and those orders are no
longer short — they were allocated all along; nothing else has to happen.

A set (セット商品) holds no stock of its own (its 在庫 row shows 実在庫 0): a line of a set
wants its components (数量 × the set's units of each), as the ledger allocates it, and a
shortage names the component, with the set it was ordered as.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from purchasing.purchase_orders import expected_arrivals
from sheets_schema.models import Order, OrderLine, Stock
from sync.sets import Composition, read_sets
from vocabulary.statuses import OPEN_ORDER_STATUSES

OrderKey = tuple[str, str]


@dataclass(frozen=True)
class Shortage:
    order: OrderKey
    ordered_at: datetime
    sku: str
    short: int  # units of this line the shelf cannot fill
    expected_on: date | None  # the soonest open 発注 that brings enough, if any
    purchase_order: str
    set_sku: str = ""  # the set the order line is, when the short SKU is its component

    def reason(self) -> str:
        of_set = f"セット「{self.set_sku}」の構成品、" if self.set_sku else ""
        return f"SKU「{self.sku}」が {self.short} 個足りません（{of_set}先に入った注文に引き当て済み）"

    def action(self) -> str:
        if self.purchase_order:
            when = f"{self.expected_on:%Y-%m-%d}" if self.expected_on else "入荷予定日未定"
            return f"発注 {self.purchase_order} の入荷（{when}）を待って発送してください。入荷を登録すると自動で発送できる状態になります"
        return "入荷の予定がありません。「発注・入荷」で発注するか、購入者に納期を連絡してください"


def shortages(
    stock: Iterable[Stock],
    orders: Mapping[OrderKey, Order],
    lines: Iterable[OrderLine],
    arrivals: Mapping[str, list[tuple[date | None, int, str]]],
    sets: Mapping[str, Composition] | None = None,
) -> list[Shortage]:
    """``sets``: each valid set's flattened composition (``sync.sets.read_sets``)."""
    on_hand = {s.sku: s.on_hand for s in stock}
    sets = sets or {}
    wanted: dict[str, list[tuple[datetime, OrderKey, int, str]]] = defaultdict(list)
    for line in lines:
        order = orders.get((line.mall, line.order_number))
        if order is None or not line.sku:
            continue
        if not (order.status in OPEN_ORDER_STATUSES and order.allocates_stock):
            continue
        key = (line.mall, line.order_number)
        parts = [(c, q * line.quantity, line.sku) for c, q in sets[line.sku]] if line.sku in sets else []
        for sku, units, set_sku in parts or [(line.sku, line.quantity, "")]:
            if sku in on_hand:
                wanted[sku].append((order.ordered_at, key, units, set_sku))
    found = []
    for sku, demand in wanted.items():
        left = max(0, on_hand[sku])
        waiting = 0  # units short so far: an arrival must cover them in order
        for ordered_at, key, units, set_sku in sorted(demand):
            taken = min(left, units)
            left -= taken
            short = units - taken
            if not short:
                continue
            waiting += short
            expected, number = _arrival(arrivals.get(sku, []), waiting)
            found.append(Shortage(key, ordered_at, sku, short, expected, number, set_sku))
    return sorted(found, key=lambda s: (s.ordered_at, s.order, s.sku))


def shortages_in(tables: Mapping[str, Any], orders: Mapping[OrderKey, Order] | None = None) -> list[Shortage]:
    """``shortages`` of one read of the workbook (在庫, 受注 unless ``orders`` are given, 受注明細,
    発注, 発注明細, セット構成)."""
    if orders is None:
        orders = {(o.mall, o.order_number): o for o in tables["受注"].models()}
    return shortages(
        tables["在庫"].models(),
        orders,
        tables["受注明細"].models(),
        expected_arrivals(tables["発注"], tables["発注明細"]),
        set_compositions(tables),
    )


def set_compositions(tables: Mapping[str, Any]) -> dict[str, Composition]:
    """The valid sets of a read of the workbook (none when the tab is missing or unreadable:
    a broken set's lines are not allocated, so they are nobody's shortage)."""
    if "セット構成" not in tables or "商品" not in tables:
        return {}
    return read_sets(tables["セット構成"], (p.sku for p in tables["商品"].models())).compositions


def _arrival(arrivals: list[tuple[date | None, int, str]], units: int) -> tuple[date | None, str]:
    """The first open 発注 by which ``units`` short units will have come in."""
    total = 0
    for expected, outstanding, number in arrivals:
        total += outstanding
        if total >= units:
            return expected, number
    return None, ""
