"""Units sold per SKU over the last days, from 分析's facts (the workbook's orders and the
archive's): the sales velocity 発注提案 starts from."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from shop.analytics import Base


def units_sold(base: Base, today: date, days: int) -> dict[str, int]:
    """Units of non-cancelled orders of every mall that take stock from the shop's own
    warehouse (在庫引当 ON: FBA orders left out), placed in the ``days`` days up to today,
    per SKU: the same sales 分析's 在庫日数 counts."""
    lines = base.lines
    if lines.empty:
        return {}
    start = pd.Timestamp(today - timedelta(days=days - 1))
    window = (lines["日"] >= start) & (lines["日"] <= pd.Timestamp(today))
    live = lines[window & ~lines["キャンセル"] & lines["在庫引当"] & lines["SKU"].notna()]
    sold = live.groupby("SKU")["数量"].sum()
    return {str(sku): int(units) for sku, units in sold.items()}
