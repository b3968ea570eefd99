"""分析 over the workbook and the archive alike: the workbook's orders and lines summed into the
same *facts* the archive's GROUP BY returns (``order_facts``, ``line_facts``), the archive's facts
for the days a view reads (``load_archived``), and ``combine``, which stacks both into one
``Base`` (see ``shop.analytics`` for what a fact row stands for)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from sheets_schema.archive import LINE_FACT_COLUMNS, ORDER_FACT_COLUMNS, Archive
from shop.analytics_base import (
    LINE_FACT_KEYS,
    LINE_FACT_SUMS,
    NOT_ON_PRODUCTS,
    ORDER_FACT_KEYS,
    ORDER_FACT_SUMS,
    Base,
    _booked,
    _calendar,
    mall_order,
    previous_period,
)

# --- facts: the workbook and the archive aggregated alike -----------------------------------


def order_facts(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders (or facts) summed per ``ORDER_FACT_KEYS``: what the archive's GROUP BY returns."""
    grouped = orders.groupby(list(ORDER_FACT_KEYS), sort=False, observed=True)[list(ORDER_FACT_SUMS)].sum()
    return _calendar(grouped.reset_index().astype({k: "int64" for k in ORDER_FACT_SUMS}))


def line_facts(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with a SKU summed per ``LINE_FACT_KEYS``. Lines without a SKU are dropped: every
    analysis of lines (SKU sales, ABC, stock cover) leaves them out anyway."""
    known = lines[lines["SKU"].notna()]
    grouped = known.groupby(list(LINE_FACT_KEYS), sort=False, observed=True)[list(LINE_FACT_SUMS)].sum()
    return grouped.reset_index().astype({k: "int64" for k in LINE_FACT_SUMS})


@dataclass(frozen=True)
class Archived:
    """What 分析 needs from the archive for one view (``load_archived``): order and line facts,
    the first and last archived day, the malls, and 商品名 of SKUs that only archived lines
    name. ``since..until``: the days it was read for (``covered_days``)."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    span: tuple[date, date] | None
    malls: tuple[str, ...]
    names: pd.Series
    since: date
    until: date


def _days(texts: pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(texts, format="%Y-%m-%d"), dtype="datetime64[us]", index=texts.index)


_ORDER_FACT_TYPES = {
    "時": "int64",
    "モール": "str",
    "キャンセル": "bool",
    "件数": "int64",
    "合計金額": "int64",
    "送料": "int64",
}
_LINE_FACT_TYPES = {
    "モール": "str",
    "SKU": "object",
    "キャンセル": "bool",
    "在庫引当": "bool",
    "数量": "int64",
    "商品売上": "int64",
}


def _fact_frame(rows: Sequence[Sequence[Any]], columns: Sequence[str], types: dict[str, str]) -> pd.DataFrame:
    """The archive's fact rows as a typed frame, 日 as a day."""
    frame = pd.DataFrame(list(rows), columns=list(columns)).astype(types)
    frame["日"] = _days(frame["日"])
    return frame


def archived_order_facts(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``Archive.order_facts`` rows (tuples in ``ORDER_FACT_COLUMNS`` order) as a fact frame."""
    frame = _fact_frame(rows, ORDER_FACT_COLUMNS, _ORDER_FACT_TYPES)
    _booked(frame)
    return _calendar(frame[[*ORDER_FACT_KEYS, *ORDER_FACT_SUMS]])


def archived_line_facts(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``Archive.line_facts`` rows (tuples in ``LINE_FACT_COLUMNS`` order) as a fact frame."""
    return _fact_frame(rows, LINE_FACT_COLUMNS, _LINE_FACT_TYPES)


# The stock cover windows 分析 offers (days up to today).
COVER_WINDOWS = (7, 30, 90)


def covered_days(
    start: date, end: date, today: date, cover_days: int = max(COVER_WINDOWS)
) -> tuple[date, date]:
    """The days a 分析 view reads: the period, the one before it (KPI comparison) and the
    longest stock cover window up to today."""
    before, _ = previous_period(min(start, end), max(start, end))
    return min(before, today - timedelta(days=cover_days - 1)), max(start, end, today)


def line_segments(start: date, end: date, today: date) -> list[tuple[date, date]]:
    """The days whose lines a 分析 view reads (the period, and each stock cover window up to
    ``today``), cut at every edge of those ranges: (first, last) days, both included. Each of
    the ranges is then a union of whole segments, so lines summed per segment give exact sums
    for any of them."""
    start, end = min(start, end), max(start, end)
    ranges = [(start, end), *((today - timedelta(days=d - 1), today) for d in COVER_WINDOWS)]
    edges = sorted({a for a, _ in ranges} | {b + timedelta(days=1) for _, b in ranges})
    segments = []
    for first, after in itertools.pairwise(edges):
        last = after - timedelta(days=1)
        if any(a <= first and last <= b for a, b in ranges):
            segments.append((first, last))
    return segments


def load_archived(
    archive: Archive, start: date, end: date, today: date, known: Iterable[str] = ()
) -> Archived:
    """The archive's share of the 分析 view of ``start..end`` seen on ``today``, aggregated by
    the database (GROUP BY on the fact tables' day index), never an archived order one by one:

    - orders: the period's order facts (per day, hour, mall, cancelled: the sales chart, the
      heatmap and the monthly summary need them), and the previous period's summed per mall
      and cancelled, dated at its first day (the KPI comparison sums them, nothing else);
    - lines: summed per mall, SKU, cancelled and 在庫引当 over each ``line_segments`` segment,
      dated at its first day. ``select`` of the period and ``stock_cover`` of each window take
      whole segments, so every figure is exact, from a few rows per SKU instead of one per day.

    A view of other days (another period, another today) needs another load. ``known``: SKUs
    already named (商品 tab, workbook lines), so only the others are looked up."""
    start, end = min(start, end), max(start, end)
    before_start, before_end = previous_period(start, end)

    def bounds(first: date, last: date) -> tuple[str, str]:
        return first.isoformat(), (last + timedelta(days=1)).isoformat()

    orders = archived_order_facts(
        archive.order_facts(*bounds(start, end)) + archive.order_sums(*bounds(before_start, before_end))
    )
    lines = archived_line_facts(
        archive.line_sums([bounds(a, b) for a, b in line_segments(start, end, today)])
    )
    since, until = covered_days(start, end, today)
    known = set(known)
    unnamed = sorted(set(lines["SKU"]) - known)
    names = pd.Series(archive.line_names(unnamed, *bounds(since, until)) if unnamed else {}, dtype="str")
    malls, span = archive_reach(archive)
    return Archived(orders, lines, span, malls, names, since, until)


def archive_reach(archive: Archive) -> tuple[tuple[str, ...], tuple[date, date] | None]:
    """The archive's malls and its first and last order day (index lookups, no order read)."""
    span = archive.order_span()
    days = None if span is None else (date.fromisoformat(span[0][:10]), date.fromisoformat(span[1][:10]))
    return tuple(archive.malls()), days


def reach(
    base: Base, archived: tuple[tuple[str, ...], tuple[date, date] | None] | None
) -> tuple[tuple[str, ...], date | None, date | None]:
    """Malls (in mall order) and the first and last order day of the workbook and the archive:
    what the filters offer before any archived order is aggregated."""
    if archived is None:
        return base.malls, base.first_day, base.last_day
    malls, span = archived
    days = [d for d in (base.first_day, base.last_day, *(span or ())) if d is not None]
    return mall_order([*base.malls, *malls]), min(days, default=None), max(days, default=None)


def archive_candidates(base: Base, today: date, after_days: int) -> list[tuple[str, str]]:
    """Workbook orders that could also be in the archive: closed and ordered before the archive
    cutoff. After a finished pass these are the few it kept (a 要確認 left, say); after one
    that was interrupted between its copy and its delete, the orders it copied too."""
    orders = base.orders
    if orders.empty:
        return []
    cutoff = pd.Timestamp(today - timedelta(days=after_days))
    closed = orders[orders["ステータス"].isin(("出荷済", "キャンセル")) & (orders["注文日時"] < cutoff)]
    return list(zip(closed["モール"].astype(str), closed["注文番号"].astype(str), strict=True))


def without_orders(base: Base, keys: Iterable[tuple[str, str]]) -> Base:
    """The workbook's frames without these orders (counted from the archive instead)."""
    keys = set(keys)
    if not keys:
        return base

    def keep(frame: pd.DataFrame) -> pd.Series:
        pairs = zip(frame["モール"].astype(str), frame["注文番号"].astype(str), strict=True)
        return pd.Series([pair not in keys for pair in pairs], index=frame.index, dtype=bool)

    return replace(base, orders=base.orders[keep(base.orders)], lines=base.lines[keep(base.lines)])


def combine(base: Base, archived: Archived | None) -> Base:
    """The workbook's orders and the archive's as one Base of facts: every analysis gives the
    same figures as if the archived orders were still in the workbook, for the view the
    archive was read for (``load_archived``: its period, the one before for the KPIs, its
    stock cover windows)."""
    orders = order_facts(base.orders)
    lines = line_facts(base.lines)
    if archived is None:
        return Base(orders, lines, base.stock, base.names, base.malls)
    if not archived.orders.empty:
        orders = pd.concat([orders, archived.orders], ignore_index=True)
    if not archived.lines.empty:
        lines = pd.concat([lines, archived.lines], ignore_index=True)
    # The workbook's names first (商品 tab, then the newest lines); archived lines name the rest.
    names = pd.concat([base.names, archived.names[~archived.names.index.isin(base.names.index)]])
    stock = base.stock.assign(商品名=base.stock["SKU"].map(names).fillna(NOT_ON_PRODUCTS))
    days = [d for d in (base.first_day, base.last_day) if d is not None]
    if archived.span is not None:
        days.extend(archived.span)
    span = (min(days), max(days)) if days else None
    return Base(orders, lines, stock, names, mall_order([*base.malls, *archived.malls]), span)
