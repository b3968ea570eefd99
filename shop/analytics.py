"""What the 分析 page shows: sales, best sellers, ABC, order times, stock cover, monthly summary.

Pure pandas, no Streamlit. ``build_base`` turns the parsed tabs into flat frames once per read
(the page caches it with ``context.derived``); everything else filters and aggregates those
frames with vectorised operations, so a rerun after a filter change stays cheap even for
50,000 orders.

Definitions (the page repeats them in its captions):

- **売上** is the 受注 tab's 合計金額 of every order whose ステータス is not キャンセル, so it
  *includes* 送料 (it is what the buyer paid, tax and shipping included). The monthly summary
  shows the 送料 part separately. 件数 counts the same non-cancelled orders; 客単価 = 売上 ÷ 件数,
  rounded half up to whole yen; キャンセル率 = cancelled orders ÷ all orders of the period, in %.
- **商品売上** (SKU rankings, ABC analysis) is 数量 × 単価 of the 受注明細 lines of non-cancelled
  orders: 送料 belongs to no SKU, so these sums are smaller than 売上 by the shipping fees (and by
  any discount the mall folded into 合計金額). Lines without a SKU are left out.
- Times are JST wall-clock times; a period ``start..end`` holds the orders whose JST date lies
  between the two dates, both included. Weeks start on Monday.

Archived orders (moved out of the workbook once closed, ``sheets_schema.archive``) count exactly
as if they were still in the workbook. They are never loaded one by one: the archive answers
with GROUP BY aggregates (``load_archived``), the workbook's orders are aggregated the same way
(``order_facts``, ``line_facts``) and ``combine`` stacks both. Every analysis below therefore
takes *fact* frames, where a row stands for ``件数`` orders (1 for a workbook order) and sums are
sums; a frame of single orders is just the finest case.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from sheets_schema.archive import LINE_FACT_COLUMNS, ORDER_FACT_COLUMNS, Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine, Product, Stock
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, STOCK
from vocabulary.text import neutralise_formula

CANCELLED = "キャンセル"
WEEKDAYS: tuple[str, ...] = ("月", "火", "水", "木", "金", "土", "日")
Grain = Literal["日", "週", "月"]
GRAINS: tuple[Grain, ...] = ("日", "週", "月")
StockBasis = Literal["販売可能数", "実在庫"]
PERIOD_PRESETS: tuple[str, ...] = ("直近30日", "直近90日", "今年")

# Malls are recognised by name, so "楽天市場" or "楽天デモ" get the 楽天 colour too. Hues far
# apart (red, orange, purple, teal) so a stacked bar reads at a glance.
_MALL_FAMILIES: tuple[tuple[str, str], ...] = (
    ("楽天", "#BF0000"),
    ("amazon", "#FF9900"),
    ("yahoo", "#7B3FBF"),
    ("shopify", "#00806A"),
)
_OTHER_COLOURS: tuple[str, ...] = ("#1F77B4", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF")

SUMMARY_COLUMNS: tuple[str, ...] = (
    "月",
    "売上",
    "件数",
    "客単価",
    "送料",
    "キャンセル件数",
    "キャンセル率（%）",
)
SUMMARY_YEN_COLUMNS: tuple[str, ...] = ("売上", "客単価", "送料")

_ORDER_COLUMNS = ("モール", "注文番号", "注文日時", "ステータス", "合計金額", "送料", "在庫引当")
_LINE_COLUMNS = ("モール", "注文番号", "SKU", "商品名", "数量", "単価")
# What the facts are grouped by: enough for every analysis (periods, weekday × hour, malls,
# cancellations; SKUs, own-warehouse stock), nothing finer.
ORDER_FACT_KEYS = ("日", "時", "モール", "キャンセル")
ORDER_FACT_SUMS = ("件数", "合計金額", "送料", "売上", "計上送料")
LINE_FACT_KEYS = ("日", "モール", "SKU", "キャンセル", "在庫引当")
LINE_FACT_SUMS = ("数量", "商品売上")
NOT_ON_PRODUCTS = "（商品シートにありません）"


# --- base frames ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """Every order and line of the workbook as flat frames, built once per read.

    ``orders``: モール, 注文番号, 注文日時 (JST wall time, naive), ステータス, 合計金額, 送料,
    在庫引当, キャンセル, 件数 (1), 売上 (合計金額, 0 when cancelled), 計上送料 (likewise), 日,
    週 (its Monday), 月 (its 1st), 曜日 (0 = 月), 時. ``lines``: the lines of those orders with
    モール, 注文番号, SKU (None when unknown), 商品名, 数量, 単価, 商品売上 (数量 × 単価), and the
    order's 日, キャンセル, 在庫引当. ``stock``: SKU, 商品名, 実在庫, 引当数, 販売可能数, 発注点,
    リードタイム日数. ``names``: 商品名 by SKU (商品 tab first, else the name on the order lines).

    After ``combine`` the frames hold facts (``ORDER_FACT_KEYS`` / ``LINE_FACT_KEYS`` plus the
    sums) of the workbook and of the archive, and ``span`` the first and last day of both.
    """

    orders: pd.DataFrame
    lines: pd.DataFrame
    stock: pd.DataFrame
    names: pd.Series
    malls: tuple[str, ...]
    span: tuple[date, date] | None = None

    @property
    def first_day(self) -> date | None:
        if self.span is not None:
            return self.span[0]
        return None if self.orders.empty else self.orders["日"].min().date()

    @property
    def last_day(self) -> date | None:
        if self.span is not None:
            return self.span[1]
        return None if self.orders.empty else self.orders["日"].max().date()


def _naive_jst(values: Iterable[Any]) -> pd.Series:
    stamps = pd.to_datetime(list(values), utc=True)
    return pd.Series(stamps.tz_convert(JST).tz_localize(None), dtype="datetime64[us]")


def orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "モール": pd.Series([o.mall for o in orders], dtype="str"),
            "注文番号": pd.Series([o.order_number for o in orders], dtype="str"),
            "注文日時": _naive_jst(o.ordered_at for o in orders),
            "ステータス": pd.Series([o.status for o in orders], dtype="str"),
            "合計金額": pd.Series([o.total for o in orders], dtype="int64"),
            "送料": pd.Series([o.shipping_fee for o in orders], dtype="int64"),
            "在庫引当": pd.Series([o.allocates_stock for o in orders], dtype="bool"),
        },
        columns=list(_ORDER_COLUMNS),
    )
    frame["キャンセル"] = frame["ステータス"].eq(CANCELLED)
    frame["件数"] = np.ones(len(frame), dtype="int64")
    _booked(frame)
    at = frame["注文日時"]
    frame["日"] = at.dt.normalize()
    frame["時"] = at.dt.hour.astype("int64")
    return _calendar(frame)


def _booked(frame: pd.DataFrame) -> None:
    """売上 and 計上送料: what a row adds to sales, nothing when cancelled."""
    frame["売上"] = frame["合計金額"].where(~frame["キャンセル"], 0)
    frame["計上送料"] = frame["送料"].where(~frame["キャンセル"], 0)


def _calendar(frame: pd.DataFrame) -> pd.DataFrame:
    """週 (its Monday), 月 (its 1st) and 曜日 (0 = 月) from 日."""
    day = frame["日"]
    frame["週"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    frame["月"] = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    frame["曜日"] = day.dt.day_of_week.astype("int64")
    return frame


def lines_frame(lines: Sequence[OrderLine], orders: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "モール": pd.Series([ln.mall for ln in lines], dtype="str"),
            "注文番号": pd.Series([ln.order_number for ln in lines], dtype="str"),
            "SKU": pd.Series([ln.sku for ln in lines], dtype="object"),
            "商品名": pd.Series([ln.name for ln in lines], dtype="str"),
            "数量": pd.Series([ln.quantity for ln in lines], dtype="int64"),
            "単価": pd.Series([ln.unit_price for ln in lines], dtype="int64"),
        },
        columns=list(_LINE_COLUMNS),
    )
    frame["商品売上"] = frame["数量"] * frame["単価"]
    # Lines of an order that did not parse (a row error in 受注) have no date: left out.
    keys = orders[["モール", "注文番号", "日", "キャンセル", "在庫引当"]]
    # (モール, 注文番号) is the 受注 tab's key, unique after parsing: no need to validate the join.
    return frame.merge(keys, on=["モール", "注文番号"], how="inner")


def mall_order(malls: Iterable[str]) -> tuple[str, ...]:
    """Known malls first in a fixed order (楽天, Amazon, Yahoo!, Shopify), others by name."""

    def rank(mall: str) -> tuple[int, str]:
        lowered = mall.lower()
        for i, (needle, _) in enumerate(_MALL_FAMILIES):
            if needle in lowered:
                return i, mall
        return len(_MALL_FAMILIES), mall

    return tuple(sorted(set(malls), key=rank))


def mall_colours(malls: Iterable[str]) -> dict[str, str]:
    """One fixed colour per mall, the same on every chart and every rerun."""
    colours: dict[str, str] = {}
    used: set[str] = set()
    others = iter(_OTHER_COLOURS * 4)
    for mall in mall_order(malls):
        lowered = mall.lower()
        family = next((c for needle, c in _MALL_FAMILIES if needle in lowered), None)
        if family is None or family in used:
            family = next(others, "#7F7F7F")
        used.add(family)
        colours[mall] = family
    return colours


def build_base(tables: Mapping[str, Any]) -> Base:
    """The frames every chart starts from; cheap to filter, expensive (once) to build."""
    orders = orders_frame(tables[ORDERS.title].models())
    lines = lines_frame(tables[ORDER_LINES.title].models(), orders)
    products: list[Product] = tables[PRODUCTS.title].models()
    stocks: list[Stock] = tables[STOCK.title].models()
    product_names = pd.Series({p.sku: p.name for p in products}, dtype="str")
    known = lines.dropna(subset=["SKU"])
    line_names = known.drop_duplicates("SKU", keep="last").set_index("SKU")["商品名"]
    names = pd.concat([product_names, line_names[~line_names.index.isin(product_names.index)]])
    lead = {p.sku: p.lead_time_days for p in products}
    reorder = {p.sku: p.reorder_point for p in products}
    stock = pd.DataFrame(
        {
            "SKU": pd.Series([s.sku for s in stocks], dtype="str"),
            "実在庫": pd.Series([s.on_hand for s in stocks], dtype="int64"),
            "引当数": pd.Series([s.allocated for s in stocks], dtype="int64"),
            "販売可能数": pd.Series([s.available for s in stocks], dtype="int64"),
            "発注点": pd.Series([reorder.get(s.sku) for s in stocks], dtype="Int64"),
            "リードタイム日数": pd.Series([lead.get(s.sku) for s in stocks], dtype="Int64"),
        }
    )
    stock.insert(1, "商品名", stock["SKU"].map(names).fillna(NOT_ON_PRODUCTS))
    return Base(orders, lines, stock, names, mall_order(orders["モール"].unique()))


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


def archived_order_facts(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``Archive.order_facts`` rows (tuples in ``ORDER_FACT_COLUMNS`` order) as a fact frame."""
    frame = pd.DataFrame(list(rows), columns=list(ORDER_FACT_COLUMNS))
    frame = frame.astype(
        {
            "時": "int64",
            "モール": "str",
            "キャンセル": "bool",
            "件数": "int64",
            "合計金額": "int64",
            "送料": "int64",
        }
    )
    frame["日"] = _days(frame["日"])
    _booked(frame)
    return _calendar(frame[[*ORDER_FACT_KEYS, *ORDER_FACT_SUMS]])


def archived_line_facts(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``Archive.line_facts`` rows (tuples in ``LINE_FACT_COLUMNS`` order) as a fact frame."""
    frame = pd.DataFrame(list(rows), columns=list(LINE_FACT_COLUMNS))
    frame = frame.astype(
        {
            "モール": "str",
            "SKU": "object",
            "キャンセル": "bool",
            "在庫引当": "bool",
            "数量": "int64",
            "商品売上": "int64",
        }
    )
    frame["日"] = _days(frame["日"])
    return frame


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


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The orders and lines of some malls in a period (both dates included)."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    start: date
    end: date

    @property
    def empty(self) -> bool:
        return self.orders.empty


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "直近30日":
        return today - timedelta(days=29), today
    if preset == "直近90日":
        return today - timedelta(days=89), today
    if preset == "今年":
        return date(today.year, 1, 1), today
    raise ValueError(f"unknown period preset: {preset}")


def _day_mask(days: pd.Series, start: date, end: date) -> pd.Series:
    return (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))


def select(base: Base, malls: Sequence[str] | None, start: date, end: date) -> Selection:
    """Filter by mall (None = every mall) and by JST order date, ``start`` and ``end`` included."""
    if end < start:
        start, end = end, start
    order_mask = _day_mask(base.orders["日"], start, end)
    line_mask = _day_mask(base.lines["日"], start, end)
    if malls is not None:
        order_mask &= base.orders["モール"].isin(list(malls))
        line_mask &= base.lines["モール"].isin(list(malls))
    return Selection(base.orders[order_mask], base.lines[line_mask], start, end)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start..end``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


# --- KPIs -----------------------------------------------------------------------------------


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up (not to even), in exact integer arithmetic."""
    return (2 * numerator + denominator) // (2 * denominator)


def cancel_rate(cancelled: int, total: int) -> float:
    """Cancelled orders in % of all orders, one decimal, rounded half up; 0.0 without orders."""
    return round_half_up(1000 * cancelled, total) / 10 if total else 0.0


@dataclass(frozen=True)
class Kpis:
    sales: int  # yen, 送料 included
    orders: int  # non-cancelled
    average: int  # 客単価, yen, rounded half up; 0 without orders
    cancelled: int
    cancel_rate: float  # % of all orders, one decimal


def kpis(orders: pd.DataFrame) -> Kpis:
    count = orders["件数"]
    total = int(count.sum())
    cancelled = int(count[orders["キャンセル"]].sum())
    live = total - cancelled
    sales = int(orders["売上"].sum())
    return Kpis(
        sales=sales,
        orders=live,
        average=round_half_up(sales, live) if live else 0,
        cancelled=cancelled,
        cancel_rate=cancel_rate(cancelled, total),
    )


# --- sales over time ------------------------------------------------------------------------

_GRAIN_FREQ = {"日": "D", "週": "W-MON", "月": "MS"}


def period_starts(grain: Grain, start: date, end: date) -> pd.DatetimeIndex:
    """The first day of every 日 / 週 (Monday) / 月 that overlaps ``start..end``."""
    first = pd.Timestamp(start)
    if grain == "週":
        first -= pd.Timedelta(days=first.weekday())
    elif grain == "月":
        first = first.replace(day=1)
    return pd.date_range(first, pd.Timestamp(end), freq=_GRAIN_FREQ[grain], name="期間", unit="us")


def sales_by_period(
    orders: pd.DataFrame, grain: Grain, start: date, end: date, malls: Sequence[str] | None = None
) -> pd.DataFrame:
    """売上 per period (rows, every period of the range, empty ones 0) and mall (columns).

    Cancelled orders are left out. Columns are ``malls`` (default: the malls present) in
    mall order, so colours and stacking stay put when a filter changes.
    """
    live = orders[~orders["キャンセル"]]
    sums = live.groupby([grain, "モール"])["合計金額"].sum()
    columns = list(mall_order(malls if malls is not None else orders["モール"].unique()))
    wide = sums.unstack("モール", fill_value=0) if not sums.empty else pd.DataFrame()
    wide = wide.reindex(index=period_starts(grain, start, end), columns=columns, fill_value=0)
    wide.columns.name = "モール"
    return wide.astype("int64")


def period_label(grain: Grain, start: pd.Timestamp) -> str:
    """How staff read a period: 2026/11/30(日), 2026/11/24〜11/30, 2026年11月."""
    if grain == "日":
        return f"{start:%Y/%m/%d}({WEEKDAYS[start.weekday()]})"
    if grain == "週":
        last = start + pd.Timedelta(days=6)
        return f"{start:%Y/%m/%d}〜{last:%m/%d}"
    return f"{start.year}年{start.month}月"


# --- SKUs -----------------------------------------------------------------------------------


def sku_sales(lines: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """数量 and 商品売上 per SKU over non-cancelled lines, best sellers (by 商品売上) first."""
    live = lines[~lines["キャンセル"] & lines["SKU"].notna()]
    sums = live.groupby("SKU", sort=False)[["数量", "商品売上"]].sum()
    if (names is None or names.empty) and "商品名" in live:
        names = live.drop_duplicates("SKU", keep="last").set_index("SKU")["商品名"]
    if names is None:
        names = pd.Series(dtype="str")
    frame = sums.reset_index()
    frame.insert(1, "商品名", frame["SKU"].map(names).fillna(""))
    frame = frame.astype({"SKU": "str", "商品名": "str", "数量": "int64", "商品売上": "int64"})
    return frame.sort_values(["商品売上", "数量", "SKU"], ascending=[False, False, True], ignore_index=True)


def top_skus(
    lines: pd.DataFrame,
    by: Literal["商品売上", "数量"] = "商品売上",
    n: int = 10,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """The ``n`` best-selling SKUs by 商品売上 or by 数量 (ties: the other measure, then SKU)."""
    other = "数量" if by == "商品売上" else "商品売上"
    frame = sku_sales(lines, names)
    frame = frame.sort_values([by, other, "SKU"], ascending=[False, False, True], ignore_index=True)
    return frame.head(n)


ABC_LIMITS = (("A", 7, 10), ("B", 9, 10))  # A until 70 %, B until 90 %, the rest C


def abc_analysis(lines: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """SKUs by 商品売上, highest first, with 構成比, 累積構成比 (fractions) and ランク.

    A = the top SKUs that together make up the first 70 % of 商品売上 (the SKU that crosses
    70 % is still A), B = the next ones up to 90 %, C = the rest. Decided in exact integer
    arithmetic on the cumulative sales *before* each SKU, so boundaries do not wobble with
    floating point. SKUs that sold nothing are not listed.
    """
    frame = sku_sales(lines, names)
    frame = frame[frame["商品売上"] > 0].reset_index(drop=True)
    total = int(frame["商品売上"].sum())
    cumulative = frame["商品売上"].cumsum()
    before = cumulative - frame["商品売上"]
    rank = np.full(len(frame), "C", dtype=object)
    for label, num, den in reversed(ABC_LIMITS):
        rank[(before * den < total * num).to_numpy()] = label
    frame.insert(0, "順位", np.arange(1, len(frame) + 1, dtype="int64"))
    frame["構成比"] = frame["商品売上"] / total if total else 0.0
    frame["累積構成比"] = cumulative / total if total else 0.0
    frame["ランク"] = pd.Series(rank, dtype="str")
    return frame


def abc_summary(abc: pd.DataFrame) -> pd.DataFrame:
    """Per ランク: SKU数, 商品売上 and its share."""
    grouped = abc.groupby("ランク")["商品売上"].agg(["size", "sum"]).reindex(["A", "B", "C"], fill_value=0)
    total = grouped["sum"].sum()
    return pd.DataFrame(
        {
            "SKU数": grouped["size"].astype("int64"),
            "商品売上": grouped["sum"].astype("int64"),
            "構成比": grouped["sum"] / total if total else 0.0,
        }
    )


# --- order times ----------------------------------------------------------------------------


def weekday_hour_counts(orders: pd.DataFrame) -> pd.DataFrame:
    """Non-cancelled orders per JST weekday (rows 月..日) and hour (columns 0..23)."""
    live = orders[~orders["キャンセル"]]
    cells = (live["曜日"] * 24 + live["時"]).to_numpy(dtype="int64")
    weights = live["件数"].to_numpy(dtype="int64")
    counts = np.bincount(cells, weights=weights, minlength=7 * 24).astype("int64").reshape(7, 24)
    return pd.DataFrame(
        counts,
        index=pd.Index(WEEKDAYS, name="曜日"),
        columns=pd.Index(range(24), name="時"),
    )


# --- stock cover ----------------------------------------------------------------------------


def stock_cover(base: Base, today: date, days: int = 30, basis: StockBasis = "販売可能数") -> pd.DataFrame:
    """Days the stock lasts at the average daily sales of the last ``days`` days (today included).

    Sales are the units of non-cancelled orders of every mall that take stock from the shop's
    own warehouse (在庫引当 ON: Amazon FBA orders are left out). 在庫日数 = ``basis`` ÷ 1日平均;
    ``inf`` when nothing sold and stock is left, 0 when the stock is 0. 状態 is 在庫切れ (stock
    0), 要発注 (在庫日数 below リードタイム日数) or blank. Rows needing attention come first.
    """
    window = _day_mask(base.lines["日"], today - timedelta(days=days - 1), today)
    live = base.lines[window & ~base.lines["キャンセル"] & base.lines["在庫引当"] & base.lines["SKU"].notna()]
    sold = live.groupby("SKU")["数量"].sum()
    frame = base.stock[["SKU", "商品名", basis, "リードタイム日数"]].copy()
    frame.insert(3, "販売数", frame["SKU"].map(sold).fillna(0).astype("int64"))
    frame.insert(4, "1日平均", frame["販売数"] / days)
    stock = frame[basis].to_numpy(dtype="float64")
    per_day = frame["1日平均"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(stock <= 0, 0.0, np.where(per_day > 0, stock / per_day, np.inf))
    frame.insert(5, "在庫日数", cover)
    lead = frame["リードタイム日数"].astype("float64")  # NA -> NaN: never below
    short = (frame["在庫日数"] < lead).fillna(False).to_numpy(dtype=bool)
    out = (frame[basis] <= 0).to_numpy(dtype=bool)
    frame["状態"] = np.where(out, "在庫切れ", np.where(short, "要発注", ""))
    frame["要注意"] = out | short
    return frame.sort_values(
        ["要注意", "在庫日数", "SKU"], ascending=[False, True, True], ignore_index=True, kind="stable"
    )


# --- monthly summary ------------------------------------------------------------------------


def month_label(month_start: pd.Timestamp) -> str:
    return f"{month_start.year}年{month_start.month}月"


def monthly_summary(orders: pd.DataFrame, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """One row per month (every month of ``start..end`` when given): 月, 売上, 件数, 客単価, 送料,
    キャンセル件数, キャンセル率（%）. 売上, 件数 and 送料 count non-cancelled orders only."""
    grouped = (
        orders.assign(_cancelled=orders["件数"].where(orders["キャンセル"], 0))
        .groupby("月")
        .agg(
            売上=("売上", "sum"),
            全件数=("件数", "sum"),
            キャンセル件数=("_cancelled", "sum"),
            送料=("計上送料", "sum"),
        )
    )
    if start is not None and end is not None:
        grouped = grouped.reindex(period_starts("月", start, end), fill_value=0)
    grouped = grouped.astype("int64")
    count = grouped["全件数"] - grouped["キャンセル件数"]
    summary = pd.DataFrame(
        {
            "月": [month_label(m) for m in grouped.index],
            "売上": grouped["売上"].to_numpy(),
            "件数": count.to_numpy(),
            "客単価": [round_half_up(s, n) if n else 0 for s, n in zip(grouped["売上"], count, strict=True)],
            "送料": grouped["送料"].to_numpy(),
            "キャンセル件数": grouped["キャンセル件数"].to_numpy(),
            "キャンセル率（%）": [
                cancel_rate(c, t) for c, t in zip(grouped["キャンセル件数"], grouped["全件数"], strict=True)
            ],
        },
        columns=list(SUMMARY_COLUMNS),
    )
    return summary.astype(
        {"売上": "int64", "件数": "int64", "客単価": "int64", "送料": "int64", "キャンセル件数": "int64"}
    )


def summary_csv(summary: pd.DataFrame) -> bytes:
    """CSV that Excel opens with Japanese intact: UTF-8 with a BOM, CRLF line ends; a text cell
    Excel would run as a formula gets a 全角スペース in front (numbers stay numbers)."""
    safe = summary.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def summary_xlsx(
    summary: pd.DataFrame, title: str = "月次サマリー", more: Mapping[str, pd.DataFrame] | None = None
) -> bytes:
    """The same table as an .xlsx file: numbers stay numbers, yen shown as ¥12,345; ``more``:
    further sheets by title (the month-end stock valuation's detail)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    _fill_sheet(sheet, summary)
    for name, frame in (more or {}).items():
        _fill_sheet(book.create_sheet(name), frame)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Yen columns of the downloads besides the summary's own (the stock valuation's).
XLSX_YEN_COLUMNS = frozenset({*SUMMARY_YEN_COLUMNS, "月末在庫金額", "在庫金額", "単価"})


def _cell(value: Any) -> Any:
    if value is pd.NA or value is None or (isinstance(value, float) and np.isnan(value)):
        return None  # unknown stays an empty cell, never 0
    return value.item() if isinstance(value, np.generic) else value


def _fill_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Font

    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([_cell(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=…" as a formula Excel runs
    for index, column in enumerate(frame.columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 16 if index > 1 else 12
        if column in XLSX_YEN_COLUMNS:
            fmt = '"¥"#,##0' if column != "単価" else '"¥"#,##0.00'
        elif column == "キャンセル率（%）":
            fmt = "0.0"
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            fmt = "@"
        else:
            fmt = "#,##0"
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = fmt
    sheet.freeze_panes = "A2"
