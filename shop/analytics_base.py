"""分析's base frames: every order and line of the workbook as flat pandas frames, built once per
read (``build_base``), with the malls' fixed order and colours. The definitions of 売上, 商品売上,
periods and facts are in ``shop.analytics``'s docstring; the archive's facts join these frames
in ``shop.analytics_facts``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine, Product, Stock
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, STOCK

CANCELLED = "キャンセル"
Grain = Literal["日", "週", "月"]

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

# Malls are recognised by name, so "楽天市場" or "楽天デモ" get the 楽天 colour too. Hues far
# apart (red, orange, purple, teal) so a stacked bar reads at a glance.
_MALL_FAMILIES: tuple[tuple[str, str], ...] = (
    ("楽天", "#BF0000"),
    ("amazon", "#FF9900"),
    ("yahoo", "#7B3FBF"),
    ("shopify", "#00806A"),
)
_OTHER_COLOURS: tuple[str, ...] = ("#1F77B4", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF")

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


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start..end``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up (not to even), in exact integer arithmetic."""
    return (2 * numerator + denominator) // (2 * denominator)


def cancel_rate(cancelled: int, total: int) -> float:
    """Cancelled orders in % of all orders, one decimal, rounded half up; 0.0 without orders."""
    return round_half_up(1000 * cancelled, total) / 10 if total else 0.0


_GRAIN_FREQ = {"日": "D", "週": "W-MON", "月": "MS"}


def period_starts(grain: Grain, start: date, end: date) -> pd.DatetimeIndex:
    """The first day of every 日 / 週 (Monday) / 月 that overlaps ``start..end``."""
    first = pd.Timestamp(start)
    if grain == "週":
        first -= pd.Timedelta(days=first.weekday())
    elif grain == "月":
        first = first.replace(day=1)
    return pd.date_range(first, pd.Timestamp(end), freq=_GRAIN_FREQ[grain], name="期間", unit="us")
