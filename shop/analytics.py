"""What the 分析 page shows: sales, best sellers, ABC, order times, stock cover, monthly summary.
The base frames (``shop.analytics_base``), the workbook-and-archive facts
(``shop.analytics_facts``) and the monthly summary with its files (``shop.analytics_summary``)
are modules of their own, reached through this one as ``analytics.<name>``.

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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

# The base frames and the facts live in their own modules; the page and the rest of Ichigen
# keep reaching them as ``analytics.<name>``.
from shop.analytics_base import CANCELLED as CANCELLED
from shop.analytics_base import LINE_FACT_KEYS as LINE_FACT_KEYS
from shop.analytics_base import LINE_FACT_SUMS as LINE_FACT_SUMS
from shop.analytics_base import NOT_ON_PRODUCTS as NOT_ON_PRODUCTS
from shop.analytics_base import ORDER_FACT_KEYS as ORDER_FACT_KEYS
from shop.analytics_base import ORDER_FACT_SUMS as ORDER_FACT_SUMS
from shop.analytics_base import SUMMARY_COLUMNS as SUMMARY_COLUMNS
from shop.analytics_base import SUMMARY_YEN_COLUMNS as SUMMARY_YEN_COLUMNS
from shop.analytics_base import Base as Base
from shop.analytics_base import Grain as Grain
from shop.analytics_base import build_base as build_base
from shop.analytics_base import cancel_rate as cancel_rate
from shop.analytics_base import lines_frame as lines_frame
from shop.analytics_base import mall_colours as mall_colours
from shop.analytics_base import mall_order as mall_order
from shop.analytics_base import orders_frame as orders_frame
from shop.analytics_base import period_starts as period_starts
from shop.analytics_base import previous_period as previous_period
from shop.analytics_base import round_half_up as round_half_up
from shop.analytics_facts import COVER_WINDOWS as COVER_WINDOWS
from shop.analytics_facts import Archived as Archived
from shop.analytics_facts import archive_candidates as archive_candidates
from shop.analytics_facts import archive_reach as archive_reach
from shop.analytics_facts import archived_line_facts as archived_line_facts
from shop.analytics_facts import archived_order_facts as archived_order_facts
from shop.analytics_facts import combine as combine
from shop.analytics_facts import covered_days as covered_days
from shop.analytics_facts import line_facts as line_facts
from shop.analytics_facts import line_segments as line_segments
from shop.analytics_facts import load_archived as load_archived
from shop.analytics_facts import order_facts as order_facts
from shop.analytics_facts import reach as reach
from shop.analytics_facts import without_orders as without_orders
from shop.analytics_summary import XLSX_YEN_COLUMNS as XLSX_YEN_COLUMNS
from shop.analytics_summary import month_label as month_label
from shop.analytics_summary import monthly_summary as monthly_summary
from shop.analytics_summary import summary_csv as summary_csv
from shop.analytics_summary import summary_xlsx as summary_xlsx

WEEKDAYS: tuple[str, ...] = ("月", "火", "水", "木", "金", "土", "日")
GRAINS: tuple[Grain, ...] = ("日", "週", "月")
StockBasis = Literal["販売可能数", "実在庫"]
PERIOD_PRESETS: tuple[str, ...] = ("直近30日", "直近90日", "今年")


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


# --- KPIs -----------------------------------------------------------------------------------


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
