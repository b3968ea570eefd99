"""Stock valuation and return counts as pages read them, cached between reruns and sessions.

The archive's stock facts change only when an archive pass runs: cached under the archive's
stamp (``ui.archive``). The cost histories add the workbook's ledger: built once per workbook
read. Shipped and returned units of a period: once per read, stamp and period.
"""

from __future__ import annotations

import threading
from datetime import date, datetime

import streamlit as st

from purchasing import stock_history
from purchasing.ledger_rows import LedgerRow, ledger_rows
from purchasing.return_rates import Flows, archived_flows, flows_in
from purchasing.valuation import (
    ArchivedStock,
    CostHistory,
    MonthValue,
    StockValue,
    month_end_values,
    stock_value,
)
from sheets_schema import archive_ledger
from sheets_schema.archive import Archive
from sheets_schema.book import LazyTables, Tables
from sheets_schema.cells import JST
from sheets_schema.tabs import PRODUCTS, STOCK, STOCK_MOVEMENTS
from ui import archive, context


@st.cache_resource(max_entries=4, show_spinner="履歴データベースの在庫を集計しています…")
def _archived(url: str, stamp: tuple[int, ...], _archive: Archive) -> ArchivedStock:
    return stock_history.archived_stock(_archive)


def _sources() -> tuple[Archive | None, tuple[int, ...] | None, ArchivedStock | None]:
    found, current = archive.archive(), archive.stamp()
    if found is None or current is None:
        return None, None, None
    return found, current, _archived(context.settings().archive_url(), current, found)


@st.cache_resource(max_entries=4, show_spinner=False)
def _rows(workbook_id: str, read_at: str, _tables: Tables) -> list[LedgerRow]:
    grid = _tables.grid(STOCK_MOVEMENTS.title) if isinstance(_tables, LazyTables) else None
    if grid is None and STOCK_MOVEMENTS.title in _tables:
        grid = _tables[STOCK_MOVEMENTS.title].grid
    return ledger_rows(grid)


def rows() -> list[LedgerRow]:
    """The workbook's ledger rows of the current read (raw cells, not models: see
    ``purchasing.ledger_rows``), once per read."""
    snap = context.snapshot()
    return _rows(context.workbook_id(), snap.read_at.isoformat(), snap.tables)


@st.cache_resource(max_entries=8, show_spinner="在庫金額を計算しています…")
def _histories(
    workbook_id: str,
    read_at: str,
    stamp: tuple[int, ...] | None,
    _tables: Tables,
    _archive: Archive | None,
    _archived: ArchivedStock | None,
) -> dict[str, CostHistory]:
    with _built_lock:  # sessions run in threads of their own
        last = _last_build.get(workbook_id)
    made = stock_history.build(_tables, rows(), _archive, _archived, stamp, last[1] if last else None)
    with _built_lock:
        _last_build[workbook_id] = ((read_at, stamp), made)
    return made.histories


# Per workbook, the newest build and the read it was made for: the next read carries it on over
# the movements appended since instead of folding the whole ledger again
# (``stock_history.build``), and ホーム asks whether the current read's is at hand.
_last_build: dict[str, tuple[tuple[str, tuple[int, ...] | None], stock_history.Built]] = {}
_built_lock = threading.Lock()


def histories() -> dict[str, CostHistory]:
    """Every SKU's moving-average cost over time and stock per month (workbook + archive)."""
    found, current, archived = _sources()
    snap = context.snapshot()
    return _histories(context.workbook_id(), snap.read_at.isoformat(), current, snap.tables, found, archived)


def current_is_ready() -> bool:
    """Whether the current read's histories are built already (``current`` then costs nothing)."""
    last = _last_build.get(context.workbook_id())
    return last is not None and last[0] == (context.snapshot().read_at.isoformat(), archive.stamp())


def current() -> StockValue:
    """在庫金額 now: the 在庫 tab's 実在庫 at each SKU's moving-average cost (原価 fallback)."""
    tables = context.snapshot().tables
    on_hand = {s.sku: s.on_hand for s in tables[STOCK.title].models()}
    fallback = {p.sku: p.cost for p in tables[PRODUCTS.title].models()}
    return stock_value(histories(), on_hand, fallback)


@st.cache_resource(max_entries=16, show_spinner=False)
def _month_ends(
    workbook_id: str, read_at: str, stamp: tuple[int, ...] | None, months: tuple[date, ...], now: datetime
) -> list[MonthValue]:
    return month_end_values(histories(), months, now)


def month_ends(start: date, end: date) -> list[MonthValue]:
    """The closing stock of every month of ``start..end`` (the running month: as of now, to
    the minute, so reruns within a minute share it)."""
    now = datetime.now(JST).replace(second=0, microsecond=0)
    months = tuple(m for m in stock_history.month_starts(start, end) if m <= now.date())
    snap = context.snapshot()
    return _month_ends(context.workbook_id(), snap.read_at.isoformat(), archive.stamp(), months, now)


@st.cache_resource(max_entries=16, show_spinner=False)
def _flows(workbook_id: str, read_at: str, stamp: tuple[int, ...] | None, start: date, end: date) -> Flows:
    found = archive.archive() if stamp is not None else None
    movements = rows()
    flows = Flows()
    if found is not None:
        doubled = stock_history.doubled_ids(found, movements)
        movements = [m for m in movements if m.movement_id not in doubled]
        bounds = (start.isoformat(), date.fromordinal(end.toordinal() + 1).isoformat())
        archived_flows(
            archive_ledger.movement_totals(found, *bounds, ("出荷", "返品入庫", "不良入庫")), flows
        )
    return flows_in(movements, start, end, flows)


def flows(start: date, end: date) -> Flows:
    """Units shipped and returned per (SKU, モール) in ``start..end`` (workbook + archive)."""
    snap = context.snapshot()
    return _flows(context.workbook_id(), snap.read_at.isoformat(), archive.stamp(), start, end)
