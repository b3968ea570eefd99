"""The archive as pages read it, cached between reruns and sessions.

The archive only changes when an archive pass runs, and a pass only adds rows, so everything
read from it is cached under its *stamp* (row counts of the order tabs). The stamp itself is
re-read at most every ``STAMP_SECONDS``: a rerun costs no query at all, and a pass shows up on
the pages within that time (or at once after a workbook write, which clears the caches).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from sheets_schema import archive_buyers
from sheets_schema.archive import Archive
from sheets_schema.tabs import ORDERS
from shop import analytics
from shop.archive_access import open_archive
from shop.orders.archived import archived_history, search_archive
from shop.orders.board import Board, History
from shop.orders.frame import OrderKey
from sync.rules import EarlierOrders
from ui import context

STAMP_SECONDS = 60


def archive() -> Archive | None:
    """The archive database, or None while nothing has been archived."""
    return open_archive(context.settings().archive_url())


def earlier_orders() -> EarlierOrders | None:
    """For 初回購入: when buyers first ordered among the archived orders (None: no archive)."""
    found = archive()
    return None if found is None else archive_buyers.lookup(found)


@st.cache_resource(ttl=STAMP_SECONDS, show_spinner=False)
def _stamp(url: str, _archive: Archive) -> tuple[int, ...]:
    return _archive.stamp()


def stamp() -> tuple[int, ...] | None:
    found = archive()
    return None if found is None else _stamp(context.settings().archive_url(), found)


@st.cache_resource(max_entries=16, show_spinner="履歴データベースを集計しています…")
def _archived(
    url: str,
    stamp: tuple[int, ...],
    start: date,
    end: date,
    today: date,
    known: frozenset[str],
    _archive: Archive,
) -> analytics.Archived:
    return analytics.load_archived(_archive, start, end, today, known)


@st.cache_resource(max_entries=16, show_spinner=False)
def _combined(
    read_at: str,
    url: str,
    stamp: tuple[int, ...] | None,
    start: date,
    end: date,
    today: date,
    _base: analytics.Base,
) -> analytics.Base:
    found = archive() if stamp is not None else None
    archived = None
    if found is not None and stamp is not None:
        archived = _archived(url, stamp, start, end, today, frozenset(_base.names.index), found)
        # An order in both places (an archive pass interrupted between its copy and its
        # delete, until it runs again) counts once: from the archive, like its neighbours.
        after_days = context.settings().workbook.archive_after_days
        candidates = analytics.archive_candidates(_base, archived.until, after_days)
        if candidates:
            _base = analytics.without_orders(_base, found.has(ORDERS, candidates))
    return analytics.combine(_base, archived)


def analytics_base(start: date, end: date, today: date) -> analytics.Base:
    """分析's facts of the workbook and the archive for the view of ``start..end`` on ``today``
    (with the period before it and the stock cover windows), built once per workbook read,
    archive stamp and view."""
    base = context.derived("analytics.base", analytics.build_base)
    read_at = context.snapshot().read_at.isoformat()
    return _combined(read_at, context.settings().archive_url(), stamp(), start, end, today, base)


@st.cache_resource(max_entries=4, show_spinner=False)
def _reach(
    url: str, stamp: tuple[int, ...], _archive: Archive
) -> tuple[tuple[str, ...], tuple[date, date] | None]:
    return analytics.archive_reach(_archive)


def analytics_reach() -> tuple[tuple[str, ...], date | None, date | None]:
    """Malls and first/last order day of the workbook and the archive, for the filters."""
    base = context.derived("analytics.base", analytics.build_base)
    found, current = archive(), stamp()
    if found is None or current is None:
        return analytics.reach(base, None)
    return analytics.reach(base, _reach(context.settings().archive_url(), current, found))


@st.cache_resource(max_entries=32, show_spinner="履歴データベースを検索しています…")
def _search(
    url: str, stamp: tuple[int, ...], read_at: str, text: str, _archive: Archive, _products: dict[str, str]
) -> Board:
    return search_archive(_archive, text, _products)


def search_orders(text: str, products: dict[str, str]) -> Board | None:
    """Archived orders a 受注ボード search finds (None without an archive or a search text),
    cached per archive stamp and text: typing the same search again costs nothing."""
    found, current = archive(), stamp()
    if found is None or current is None or not text.split():
        return None
    read_at = context.snapshot().read_at.isoformat()
    return _search(
        context.settings().archive_url(), current, read_at, " ".join(text.split()), found, products
    )


def order_history(key: OrderKey) -> History:
    """An archived order's ledger movements and sync runs (one order: not cached)."""
    found = archive()
    return archived_history(found, key) if found is not None else History({}, {})
