"""Archived orders in 分析, the 受注ボード search and the export: the same shop with some orders
moved to the archive gives the same figures, finds the same orders (read-only, masked alike)
and backs up every row."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sheets_schema.archive import Archive
from sheets_schema.tabs import ORDER_LINES, ORDERS
from shop import analytics
from tests.test_analytics import LINES_IN, ORDERS_IN, make_tables

# Closed orders of every kind move: shipped, cancelled, an FBA order, one whose UTC time is the
# previous JST day, and one sharing its day with an order that stays.
MOVED = {"R1", "R3", "A1", "A3", "S1", "R4"}
TODAY = date(2026, 2, 1)


def _split_shop(tmp_path: Path) -> tuple[analytics.Base, Archive]:
    hot = make_tables(
        [o for o in ORDERS_IN if o[1] not in MOVED], [ln for ln in LINES_IN if ln[1] not in MOVED]
    )
    whole = make_tables()
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    archive.copy(ORDERS, [o for o in whole[ORDERS.title].models() if o.order_number in MOVED])
    archive.copy(ORDER_LINES, [ln for ln in whole[ORDER_LINES.title].models() if ln.order_number in MOVED])
    return analytics.build_base(hot), archive


def _figures(base: analytics.Base, malls: list[str] | None, start: date, end: date) -> dict[str, Any]:
    chosen = analytics.select(base, malls, start, end)
    figures: dict[str, Any] = {
        "kpis": analytics.kpis(chosen.orders),
        "heatmap": analytics.weekday_hour_counts(chosen.orders),
        "summary": analytics.monthly_summary(chosen.orders, start, end),
        "csv": analytics.summary_csv(analytics.monthly_summary(chosen.orders)),
        "abc": analytics.abc_analysis(chosen.lines, base.names),
        "abc_summary": analytics.abc_summary(analytics.abc_analysis(chosen.lines, base.names)),
        "malls": base.malls,
        "days": (base.first_day, base.last_day),
    }
    for grain in analytics.GRAINS:
        figures[f"sales {grain}"] = analytics.sales_by_period(chosen.orders, grain, start, end, malls)
    for by in ("商品売上", "数量"):
        figures[f"top {by}"] = analytics.top_skus(chosen.lines, by, 10, base.names)  # type: ignore[arg-type]
    for days in (7, 30, 90):
        for basis in ("販売可能数", "実在庫"):
            figures[f"cover {days} {basis}"] = analytics.stock_cover(base, TODAY, days, basis)  # type: ignore[arg-type]
    return figures


def _assert_same(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert left.keys() == right.keys()
    for name, value in left.items():
        if isinstance(value, pd.DataFrame):
            assert_frame_equal(value, right[name], obj=name)
        else:
            assert value == right[name], name


PERIODS = [
    (None, date(2026, 1, 1), date(2026, 2, 28)),
    (None, date(2026, 2, 1), date(2026, 2, 1)),
    (["楽天"], date(2026, 1, 1), date(2026, 2, 28)),
    (["Amazon", "Shopify"], date(2026, 1, 11), date(2026, 1, 31)),
    ([], date(2026, 1, 1), date(2026, 2, 28)),
]


@pytest.mark.parametrize(("malls", "start", "end"), PERIODS)
def test_every_analysis_gives_the_same_figures_whether_an_order_is_in_the_workbook_or_archived(
    tmp_path: Path, malls: list[str] | None, start: date, end: date
) -> None:
    whole = analytics.build_base(make_tables())  # one row per order, as before archiving
    hot, archive = _split_shop(tmp_path)
    since, until = analytics.covered_days(start, end, TODAY)
    archived = analytics.load_archived(archive, since, until, known=hot.names.index)
    assert archived.orders["件数"].sum() == len(MOVED) and not hot.orders["注文番号"].isin(list(MOVED)).any()
    assert archived.lines["数量"].sum() == sum(ln[4] for ln in LINES_IN if ln[1] in MOVED)
    combined = analytics.combine(hot, archived)
    _assert_same(_figures(whole, malls, start, end), _figures(combined, malls, start, end))
    # And the facts of a workbook without an archive are the orders themselves, summed.
    _assert_same(
        _figures(whole, malls, start, end), _figures(analytics.combine(whole, None), malls, start, end)
    )


def test_a_sku_only_archived_lines_name_keeps_that_name(tmp_path: Path) -> None:
    hot, archive = _split_shop(tmp_path)
    hot = replace(hot, names=hot.names.drop("TOTE"), stock=hot.stock)
    archived = analytics.load_archived(archive, date(2026, 1, 1), TODAY, known=hot.names.index)
    combined = analytics.combine(hot, archived)
    assert combined.names["TOTE"] == "TOTEの明細"  # the line's name, as the workbook would give
    assert combined.stock.set_index("SKU").loc["TOTE", "商品名"] == "TOTEの明細"


def test_an_empty_archive_and_an_empty_workbook_give_empty_figures(tmp_path: Path) -> None:
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    empty = analytics.build_base(make_tables([], []))
    combined = analytics.combine(empty, analytics.load_archived(archive, date(2026, 1, 1), TODAY))
    chosen = analytics.select(combined, None, date(2026, 1, 1), TODAY)
    assert chosen.empty and combined.first_day is None and combined.malls == ()
    assert analytics.kpis(chosen.orders) == analytics.Kpis(0, 0, 0, 0, 0.0)
    assert analytics.monthly_summary(chosen.orders)["月"].tolist() == []
