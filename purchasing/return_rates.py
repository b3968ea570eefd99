"""Return rates per SKU for 分析: units that came back over units shipped, in one period.

Both come from the ledger: 出荷 movements are what left stock, 返品入庫 / 不良入庫 what came
back (its 日時 is when the return was registered, so a return counts in the period it arrived,
not the one its order shipped in: a month's rate is that month's returns over that month's
shipments). The caller passes the movements it has (the workbook's 在庫移動 and, for older
periods, the archive's); this module only counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from purchasing.returns import KIND_FOR
from sheets_schema.models import StockMovement


@dataclass(frozen=True)
class ReturnRate:
    sku: str
    shipped: int
    returned_good: int  # 返品入庫
    returned_defective: int  # 不良入庫

    @property
    def returned(self) -> int:
        return self.returned_good + self.returned_defective

    @property
    def rate(self) -> float | None:
        """Returned / shipped; None when nothing shipped in the period (no rate to speak of)."""
        return self.returned / self.shipped if self.shipped else None


def return_rates(movements: Iterable[StockMovement], start: datetime, end: datetime) -> list[ReturnRate]:
    """Per SKU with a shipment or a return in [start, end), highest rate first (SKUs with
    returns but no shipment in the period last), then by SKU."""
    if end <= start:
        raise ValueError("集計期間の終わりは始まりより後にしてください")
    good_kind, defective_kind = KIND_FOR["良品"], KIND_FOR["不良"]
    shipped: Counter[str] = Counter()
    good: Counter[str] = Counter()
    defective: Counter[str] = Counter()
    for m in movements:
        if not start <= m.at < end:
            continue
        if m.kind == "出荷":
            shipped[m.sku] += m.quantity
        elif m.kind == good_kind:
            good[m.sku] += m.quantity
        elif m.kind == defective_kind:
            defective[m.sku] += m.quantity
    rates = [
        ReturnRate(s, shipped[s], good[s], defective[s]) for s in set(shipped) | set(good) | set(defective)
    ]
    return sorted(rates, key=lambda r: (r.rate is None, -(r.rate or 0.0), r.sku))
