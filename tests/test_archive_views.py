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
from openpyxl import load_workbook
from pandas.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT
from sheets_schema.__main__ import main
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS
from sheets_schema.xlsx import ArchivedRows, write_xlsx
from shop import analytics
from shop.orders.archived import archived_history, search_archive
from shop.orders.board import build_board
from shop.orders.detail import order_detail
from shop.orders.filters import filter_orders
from shop.orders.frame import ARCHIVED, list_view, with_archived
from tests.test_analytics import LINES_IN, ORDERS_IN, make_tables, workbook_sales
from tests.test_auth import sign_in

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
        "kpis before": analytics.kpis(
            analytics.select(base, malls, *analytics.previous_period(start, end)).orders
        ),
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
    (None, date(2025, 2, 1), date(2026, 1, 31)),  # 12 months: lines summed per segment
    (["楽天", "Shopify"], date(2026, 1, 31), date(2026, 2, 1)),  # the day before: 2 orders
]


@pytest.mark.parametrize(("malls", "start", "end"), PERIODS)
def test_every_analysis_gives_the_same_figures_whether_an_order_is_in_the_workbook_or_archived(
    tmp_path: Path, malls: list[str] | None, start: date, end: date
) -> None:
    whole = analytics.build_base(make_tables())  # one row per order, as before archiving
    hot, archive = _split_shop(tmp_path)
    archived = analytics.load_archived(archive, start, end, TODAY, known=hot.names.index)
    # The orders of the period and of the one before (those summed per mall), every line
    # (the 90-day stock cover window holds them all), aggregated by the database.
    first, _ = analytics.previous_period(start, end)
    read = whole.orders[whole.orders["注文番号"].isin(list(MOVED))]
    read = read[(read["日"] >= pd.Timestamp(first)) & (read["日"] <= pd.Timestamp(end))]
    assert archived.orders["件数"].sum() == len(read) and not hot.orders["注文番号"].isin(list(MOVED)).any()
    assert archived.lines["数量"].sum() == sum(ln[4] for ln in LINES_IN if ln[1] in MOVED and ln[3])
    assert len(archived.lines) < len(whole.lines)
    combined = analytics.combine(hot, archived)
    _assert_same(_figures(whole, malls, start, end), _figures(combined, malls, start, end))
    # And the facts of a workbook without an archive are the orders themselves, summed.
    _assert_same(
        _figures(whole, malls, start, end), _figures(analytics.combine(whole, None), malls, start, end)
    )


def test_a_sku_only_archived_lines_name_keeps_that_name(tmp_path: Path) -> None:
    hot, archive = _split_shop(tmp_path)
    hot = replace(hot, names=hot.names.drop("TOTE"), stock=hot.stock)
    archived = analytics.load_archived(archive, date(2026, 1, 1), TODAY, TODAY, known=hot.names.index)
    combined = analytics.combine(hot, archived)
    assert combined.names["TOTE"] == "TOTEの明細"  # the line's name, as the workbook would give
    assert combined.stock.set_index("SKU").loc["TOTE", "商品名"] == "TOTEの明細"


def test_an_empty_archive_and_an_empty_workbook_give_empty_figures(tmp_path: Path) -> None:
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    empty = analytics.build_base(make_tables([], []))
    combined = analytics.combine(empty, analytics.load_archived(archive, date(2026, 1, 1), TODAY, TODAY))
    chosen = analytics.select(combined, None, date(2026, 1, 1), TODAY)
    assert chosen.empty and combined.first_day is None and combined.malls == ()
    assert analytics.kpis(chosen.orders) == analytics.Kpis(0, 0, 0, 0, 0.0)
    assert analytics.monthly_summary(chosen.orders)["月"].tolist() == []


# --- the pages ----------------------------------------------------------------------------------


def _archived_order(number: str, days_ago: int, total: int, **fields: Any) -> tuple[Order, list[OrderLine]]:
    at = datetime.now(JST).replace(microsecond=0) - timedelta(days=days_ago)
    person = {"buyer_name": "履歴 花子", "recipient_name": "履歴 花子"}
    order = Order(
        mall="楽天デモ",
        order_number=number,
        ordered_at=at,
        status="出荷済",
        total=total,
        postcode="150-0001",
        address="東京都渋谷区神宮前9-9-9",
        phone="03-1234-5678",
        **{**person, **fields},
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


# --- 受注ボード search ------------------------------------------------------------------------------


def _archive_with(tmp_path: Path, *orders: tuple[Order, list[OrderLine]]) -> Archive:
    archive = Archive(f"sqlite:///{tmp_path / 'search-archive.sqlite3'}")
    archive.copy(ORDERS, [o for o, _ in orders])
    archive.copy(ORDER_LINES, [ln for _, lines in orders for ln in lines])
    return archive


def test_a_search_finds_an_archived_order_by_number_name_or_sku_and_only_matching_ones(
    tmp_path: Path,
) -> None:
    archive = _archive_with(
        tmp_path,
        _archived_order("ARCH-0001", 700, 5000),
        _archived_order("ARCH-0002", 400, 3000, buyer_name="佐藤 一郎"),
    )
    numbers = lambda text, **kw: sorted(  # noqa: E731
        filter_orders(search_archive(archive, text, {}).frame, text=text, **kw)["注文番号"]
    )
    assert numbers("ARCH-0001") == ["ARCH-0001"]  # two years old, found by its number
    assert numbers("arch-000") == ["ARCH-0001", "ARCH-0002"]  # ASCII case ignored, as in the workbook
    assert numbers("履歴花子") == ["ARCH-0001"]  # the name without its space
    assert numbers("archived-sku") == ["ARCH-0001", "ARCH-0002"]  # a line's SKU
    assert numbers("ARCH 佐藤") == ["ARCH-0002"]  # every word must match
    assert numbers("NOPE") == []
    assert numbers("花子", masked=True) == []  # 閲覧 cannot search the hidden given name
    assert numbers("履歴", masked=True) == ["ARCH-0001"]
    board = search_archive(archive, "ARCH", {}, limit=1)
    assert list(board.frame["注文番号"]) == ["ARCH-0002"]  # newest first, at most the limit
    assert board.archived and board.lines[("楽天デモ", "ARCH-0002")][0].sku == "ARCHIVED-SKU"


def test_archived_orders_are_masked_exactly_like_workbook_orders(tmp_path: Path) -> None:
    archive = _archive_with(tmp_path, _archived_order("ARCH-0001", 700, 5000))
    board = search_archive(archive, "ARCH-0001", {"ARCHIVED-SKU": "商品シートの名前"})
    key = ("楽天デモ", "ARCH-0001")
    listed = list_view(with_archived(board.frame.iloc[:0], board.frame), masked=True)
    assert list(listed["購入者名"]) == ["履歴 ＊＊"] and list(listed[ARCHIVED]) == [ARCHIVED]
    viewer = order_detail(board, key, history=archived_history(archive, key), mask_names=True, reveal=True)
    assert viewer is not None
    assert (viewer.buyer_name, viewer.recipient_name) == ("履歴 ＊＊", "履歴 ＊＊")
    assert (viewer.postcode, viewer.address, viewer.phone) == ("150-****", "東京都 ＊＊＊", "031-****-5678")
    staff = order_detail(board, key, reveal=False)
    assert staff is not None and staff.buyer_name == "履歴 花子" and staff.address == "東京都 ＊＊＊"
    shown = order_detail(board, key, reveal=True)
    assert shown is not None and shown.address == "東京都渋谷区神宮前9-9-9"
    assert list(shown.lines["SKU"]) == ["ARCHIVED-SKU"] and shown.items_total == 5000


def _open_orders(sql_url: str, archive_url: str, viewer: bool = False) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url, "archive_url": archive_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    if viewer:
        sign_in(at, "viewer@example.com", "閲覧")
    at.run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _order_list(at: AppTest) -> Any:
    return next(d for d in at.dataframe if (d.key or "").startswith("orders_table_"))


@pytest.mark.parametrize("viewer", [False, True])
def test_the_board_finds_an_archived_order_shows_it_read_only_and_masks_it_for_a_viewer(
    sql_url: str, tmp_path: Path, viewer: bool
) -> None:
    archive_url = str(_archive_with(tmp_path, _archived_order("ARCH-0001", 700, 5000)).engine.url)
    at = _open_orders(sql_url, archive_url, viewer)
    assert any("履歴データベースにあり" in c.value for c in at.caption)
    at.text_input(key="orders_search").set_value("ARCH-0001").run()
    assert not at.exception, [e.message for e in at.exception]
    listed = _order_list(at).value
    assert list(listed["注文番号"]) == ["ARCH-0001"] and list(listed[ARCHIVED]) == [ARCHIVED]
    assert list(listed["購入者名"]) == (["履歴 ＊＊"] if viewer else ["履歴 花子"])
    at.session_state[_order_list(at).key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("ARCH-0001" in h.value and ARCHIVED in h.value for h in at.subheader)
    assert not [b for b in at.button if b.key == "bulk_apply"]  # read-only for every role
    assert any("ステータスは変えられません" in c.value for c in at.caption)
    details = " ".join(m.value for m in at.markdown)
    assert "神宮前9" not in details and "1234-5678" not in details  # masked until revealed
    assert ("花子" in details) is not viewer
    lines = next(d for d in at.dataframe if "小計" in d.value.columns).value
    assert list(lines["SKU"]) == ["ARCHIVED-SKU"]


# --- export -------------------------------------------------------------------------------------


def test_export_writes_archived_rows_on_their_own_sheets_which_an_import_leaves_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _archive_with(
        tmp_path, _archived_order("ARCH-0001", 700, 5000), _archived_order("=ARCH-0002", 400, 3000)
    )
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\narchive_url = "{archive.engine.url}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "backup.xlsx"
    assert main(["--secrets", str(secrets), "export", str(out)]) == 0
    assert "履歴データベースの 4 行" in capsys.readouterr().out
    book = load_workbook(out, read_only=True)
    assert "受注（履歴）" in book.sheetnames and "受注明細（履歴）" in book.sheetnames
    assert "在庫移動（履歴）" not in book.sheetnames  # nothing archived there
    rows = [list(r) for r in book["受注（履歴）"].iter_rows(values_only=True)]
    assert tuple(rows[0]) == ORDERS.headers
    # Read-only openpyxl drops a row's trailing blank cells, hence strict=False.
    by_number = {r[1]: dict(zip(ORDERS.headers, r, strict=False)) for r in rows[1:]}
    assert set(by_number) == {"ARCH-0001", "=ARCH-0002"}  # a leading "=" stays text
    assert by_number["ARCH-0001"]["合計金額"] == 5000 and by_number["ARCH-0001"]["購入者名"] == "履歴 花子"
    book.close()
    assert main(["--secrets", str(secrets), "import", str(out)]) == 0
    assert "「受注（履歴）」シートは Ichigen のシートではないため取り込みません" in capsys.readouterr().out


def test_a_history_longer_than_a_sheet_continues_on_the_next(tmp_path: Path) -> None:
    archive = _archive_with(tmp_path, *(_archived_order(f"ARCH-{n:04}", 40 + n, 1000) for n in range(5)))
    out = tmp_path / "split.xlsx"
    written = write_xlsx(out, [], archived=[ArchivedRows(ORDERS, archive.iter_rows(ORDERS))], max_rows=3)
    assert written == 5
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["受注（履歴）", "受注（履歴2）", "受注（履歴3）"]
    numbers = [r[1] for name in book.sheetnames for r in list(book[name].iter_rows(values_only=True))[1:]]
    assert sorted(numbers) == [f"ARCH-{n:04}" for n in range(5)]  # every row once, a header on each sheet
    book.close()


def test_an_order_copied_by_an_interrupted_pass_but_still_in_the_workbook_counts_once(tmp_path: Path) -> None:
    """A pass killed between its copy and its delete leaves orders in both places until it runs
    again: 分析 and the search show each of them once."""
    whole_tables = make_tables()
    whole = analytics.build_base(whole_tables)
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    archive.copy(ORDERS, [o for o in whole_tables[ORDERS.title].models() if o.order_number in MOVED])
    archive.copy(
        ORDER_LINES, [ln for ln in whole_tables[ORDER_LINES.title].models() if ln.order_number in MOVED]
    )
    start, end = date(2026, 1, 1), date(2026, 2, 28)
    _, until = analytics.covered_days(start, end, TODAY)

    candidates = analytics.archive_candidates(whole, until, after_days=0)
    in_both = archive.has(ORDERS, candidates)
    assert {number for _, number in in_both} == MOVED
    combined = analytics.combine(
        analytics.without_orders(whole, in_both),
        analytics.load_archived(archive, start, end, TODAY, whole.names.index),
    )
    _assert_same(_figures(whole, None, start, end), _figures(combined, None, start, end))

    board = build_board(whole_tables)
    found = search_archive(archive, "R1", board.products)
    listed = with_archived(filter_orders(board.frame, text="R1"), found.frame)
    assert list(listed["注文番号"]) == ["R1"] and not listed["_archived"].any()
