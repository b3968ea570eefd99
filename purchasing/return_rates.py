"""返品率 per SKU, from the ledger's movements dated in a period (JST dates, both included):

- 返品数 = units of 返品入庫 (back to sellable stock) and 不良入庫 (kept apart as 不良在庫)
  movements that carry an 注文番号, i.e. registered against an order line (a 不良入庫 without
  one is goods found defective on arrival, not a customer's return); うち不良 = the 不良入庫 part;
- 出荷数 = units of 出荷 movements;
- 返品率 = 返品数 ÷ 出荷数 in %, one decimal, rounded half up; unknown (None, shown blank) when
  nothing shipped in the period. A return counts in the period it comes back in, whenever the
  goods were shipped, so a rate can exceed 100 % over a short period.

Counted per (SKU, モール) so the 分析 mall filter applies. Pure; named apart from
``purchasing.returns`` (registering returns) so the two modules merge without clashing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from purchasing.ledger_rows import LedgerRow

SHIPPED = "出荷"
RETURNED = "返品入庫"
DEFECTIVE = "不良入庫"
RETURN_KINDS = (RETURNED, DEFECTIVE)
FLOW_KINDS = (SHIPPED, *RETURN_KINDS)
FlowKey = tuple[str, str]  # (SKU, モール)


@dataclass
class Flows:
    shipped: Counter[FlowKey] = field(default_factory=Counter)
    returned: Counter[FlowKey] = field(default_factory=Counter)
    defective: Counter[FlowKey] = field(default_factory=Counter)  # part of returned

    def add(self, sku: str, mall: str, kind: str, has_order: bool, units: int) -> None:
        key = (sku, mall)
        if kind == SHIPPED:
            self.shipped[key] += units
        elif kind in RETURN_KINDS and has_order:
            self.returned[key] += units
            if kind == DEFECTIVE:
                self.defective[key] += units


def flows_in(movements: Iterable[LedgerRow], start: date, end: date, flows: Flows | None = None) -> Flows:
    """Shipped and returned units of the movements dated ``start..end`` (added to ``flows``)."""
    flows = flows if flows is not None else Flows()
    first, last = start.isoformat(), end.isoformat()
    for m in movements:
        if m.kind in FLOW_KINDS and first <= m.at[:10] <= last:
            flows.add(m.sku, m.mall, m.kind, m.has_order, m.quantity)
    return flows


@dataclass(frozen=True)
class ReturnRate:
    sku: str
    shipped: int
    returned: int
    defective: int
    rate: float | None  # %, one decimal; None when nothing shipped


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return (2000 * part + whole) // (2 * whole) / 10  # half up, in integers


def return_rates(flows: Flows, malls: Sequence[str] | None = None) -> list[ReturnRate]:
    """Per SKU over the chosen malls (None: all): highest 返品率 first, then most returned, SKUs
    with returns but no shipment in the period last; SKUs that neither shipped nor came back
    are left out."""
    chosen = None if malls is None else set(malls)
    shipped: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    defective: Counter[str] = Counter()
    for totals, into in ((flows.shipped, shipped), (flows.returned, returned), (flows.defective, defective)):
        for (sku, mall), units in totals.items():
            if chosen is None or mall in chosen:
                into[sku] += units
    rows = [
        ReturnRate(sku, shipped[sku], returned[sku], defective[sku], _percent(returned[sku], shipped[sku]))
        for sku in set(shipped) | set(returned)
    ]
    return sorted(rows, key=lambda r: (r.rate is None, -(r.rate or 0), -r.returned, r.sku))


def archived_flows(rows: Iterable[tuple[str, str, str, bool, int]], flows: Flows | None = None) -> Flows:
    """Add the archive's totals (``archive_ledger.movement_totals`` rows) to ``flows``."""
    flows = flows if flows is not None else Flows()
    for sku, mall, kind, has_order, units in rows:
        flows.add(sku, mall, kind, has_order, units)
    return flows
