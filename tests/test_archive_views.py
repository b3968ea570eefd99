"""Archived orders in 分析, the 受注ボード search and the export: the same shop with some orders
moved to the archive gives the same figures, finds the same orders (read-only, masked alike)
and backs up every row."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from pandas.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS
from shop import analytics
from tests.test_analytics import LINES_IN, ORDERS_IN, make_tables, workbook_sales

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


# --- the pages ----------------------------------------------------------------------------------


def _archived_order(number: str, days_ago: int, total: int, **fields: Any) -> tuple[Order, list[OrderLine]]:
    at = datetime.now(JST).replace(microsecond=0) - timedelta(days=days_ago)
    order = Order(
        mall="楽天デモ",
        order_number=number,
        ordered_at=at,
        status="出荷済",
        total=total,
        buyer_name="履歴 花子",
        recipient_name="履歴 花子",
        postcode="150-0001",
        address="東京都渋谷区神宮前9-9-9",
        phone="03-1234-5678",
        **fields,
    )
    line = OrderLine(
        mall="楽天デモ",
        order_number=number,
        line_number=1,
        sku="ARCHIVED-SKU",
        name="履歴の商品",
        quantity=2,
        unit_price=total // 2,
    )
    return order, [line]


def _app(sql_url: str, archive_url: str, role: str | None = None) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url, "archive_url": archive_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    return at


def test_the_analytics_page_adds_archived_sales_to_the_workbooks(sql_url: str, tmp_path: Path) -> None:
    archive_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    order, lines = _archived_order("ARCH-0001", 3, 123_456)
    archive = Archive(archive_url)
    archive.copy(ORDERS, [order])
    archive.copy(ORDER_LINES, lines)
    at = _app(sql_url, archive_url)
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    expected = workbook_sales(sql_url) + 123_456
    assert {m.label: m.value for m in at.metric}["売上"] == f"¥{expected:,}"
    top = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert "ARCHIVED-SKU" in list(top["data"][0]["y"])


def test_an_archive_never_written_is_read_as_empty_and_not_created(sql_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "never" / "archive.sqlite3"
    at = _app(sql_url, f"sqlite:///{missing}")
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["売上"] == f"¥{workbook_sales(sql_url):,}"
    assert not missing.exists() and not missing.parent.exists()
