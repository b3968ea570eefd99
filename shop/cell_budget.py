"""ホーム's cell budget: how much of Google's 10-million-cell limit the workbook takes, and when
it would run out at the current order pace."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sheets_schema.parsing import Table
from sheets_schema.tabs import ORDER_LINES, ORDERS, STOCK_MOVEMENTS

CELL_LIMIT = 10_000_000  # Google Sheets: cells per spreadsheet, blank ones included
WARN_RATIO = 0.7
RATE_WINDOW = timedelta(days=30)
MIN_HISTORY = timedelta(days=7)  # less than a week of orders says little about the pace
# The tabs that grow with every order; the rest (商品, 在庫, settings) stay about the same size.
GROWING_TABS = (ORDERS.title, ORDER_LINES.title, STOCK_MOVEMENTS.title)


@dataclass(frozen=True)
class CellBudget:
    used: int
    limit: int = CELL_LIMIT
    cells_per_day: float | None = None  # None: too little order history to estimate

    @property
    def ratio(self) -> float:
        return self.used / self.limit

    @property
    def warn(self) -> bool:
        return self.ratio >= WARN_RATIO

    @property
    def days_left(self) -> int | None:
        if not self.cells_per_day:
            return None
        return max(0, math.floor((self.limit - self.used) / self.cells_per_day))

    def usage_text(self) -> str:
        return f"セル使用量: {self.used:,} / {self.limit:,}（{math.floor(self.ratio * 100)}%）"

    def pace_text(self) -> str | None:
        days = self.days_left
        if days is None:
            return None
        if days > 365:  # a count of thousands of days tells staff nothing more than this
            return "このペースなら1年以上は上限に達しません"
        return f"このペースだと約{days:,}日で上限に達します"


def cells_per_order(tables: Mapping[str, Table[Any]]) -> float | None:
    """Cells the growing tabs hold per 受注 row: order, its lines, its stock movements."""
    sizes = {t: _size(tables, t) for t in GROWING_TABS if t in tables}
    orders = sizes.get(ORDERS.title)
    if orders is None or not orders[0]:
        return None
    cells = sum(rows * width for rows, width in (s for s in sizes.values() if s is not None))
    return cells / orders[0]


def _size(tables: Mapping[str, Table[Any]], title: str) -> tuple[int, int] | None:
    """A tab's (rows, header width); from a snapshot's lazy tables without parsing the tab
    (nor reading it, where the backend counts: the ledger's rows are only counted here)."""
    size = getattr(tables, "size", None)
    if callable(size):
        return size(title)
    grid = tables[title].grid
    return len(grid.rows), len(grid.header)


def orders_per_day(ordered_at: list[datetime], now: datetime) -> float | None:
    """Orders a day over the last 30 days, or None with less than 7 days of orders."""
    recent = [t for t in ordered_at if now - RATE_WINDOW <= t <= now]
    if not ordered_at:
        return None
    # A shop younger than the window is measured over its own age, not over 30 days.
    span = min(RATE_WINDOW, now - min(ordered_at))
    if span < MIN_HISTORY:
        return None
    return len(recent) / (span / timedelta(days=1))


def cell_budget(used: int, tables: Mapping[str, Table[Any]], now: datetime) -> CellBudget:
    per_order = cells_per_order(tables)
    per_day = orders_per_day([o.ordered_at for o in tables[ORDERS.title].models()], now)
    rate = None if per_order is None or per_day is None else per_order * per_day
    return CellBudget(used, cells_per_day=rate)
