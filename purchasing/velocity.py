"""Units sold per SKU for 発注提案, counted exactly as 分析's 在庫日数 counts them:
non-cancelled lines with a SKU of orders that take stock from the shop's own warehouse
(在庫引当 ON; Amazon FBA orders are left out), ordered in the last ``window_days`` days,
today included. The workbook's lines come from 分析's base (``shop.analytics.Base``), the
archived ones from the archive's per-day line facts in one GROUP BY (never an archived order
one by one); an order in both places (an archive pass stopped between its copy and its delete)
counts once, from the archive, as in 分析."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta

import pandas as pd

from sheets_schema.archive import Archive
from sheets_schema.tabs import ORDERS
from shop import analytics
from sync.sets import Composition


def units_sold(lines: pd.DataFrame, today: date, window_days: int) -> dict[str, int]:
    """{SKU: units} over the window; ``lines`` a line or fact frame (日, SKU, キャンセル,
    在庫引当, 数量) such as ``Base.lines``."""
    first = pd.Timestamp(today - timedelta(days=window_days - 1))
    days = lines["日"]
    live = lines[
        (days >= first)
        & (days <= pd.Timestamp(today))
        & ~lines["キャンセル"]
        & lines["在庫引当"]
        & lines["SKU"].notna()
    ]
    sold = live.groupby("SKU", sort=False)["数量"].sum()
    return {str(sku): int(units) for sku, units in sold.items() if units}


def units_sold_with_archive(
    base: analytics.Base, archive: Archive | None, today: date, window_days: int, after_days: int = 30
) -> dict[str, int]:
    """Units sold of the workbook (``base``: ``analytics.build_base`` of a read, not combined)
    and the archive together."""
    if archive is not None:
        candidates = analytics.archive_candidates(base, today, after_days)
        if candidates:
            base = analytics.without_orders(base, archive.has(ORDERS, candidates))
    sold = Counter(units_sold(base.lines, today, window_days))
    if archive is not None:
        since = (today - timedelta(days=window_days - 1)).isoformat()
        sold.update(archive.sold_units(since, (today + timedelta(days=1)).isoformat()))
    return dict(sold)


def with_set_components(sold: dict[str, int], compositions: Mapping[str, Composition]) -> dict[str, int]:
    """Set sales as demand for their components: a 3足セット sold twice is six pairs of socks to
    buy. Sets themselves are never bought from a supplier, so they leave the count."""
    demand: Counter[str] = Counter()
    for sku, units in sold.items():
        if sku in compositions:
            for part, per_set in compositions[sku]:
                demand[part] += per_set * units
        else:
            demand[sku] += units
    return dict(demand)
