"""分析: the pure logic on a small hand-built shop (every expected number worked out by hand),
a timing check on 50,000 orders, and the page through AppTest on a temporary demo workbook."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.grid import Grid
from sheets_schema.models import Order, OrderLine, Product, Stock
from sheets_schema.parsing import Record, Table
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, STOCK
from shop import analytics

# --- a small shop -------------------------------------------------------------------------------
#
# 2026-01-05 is a Monday. S1 arrives as a UTC time that is still January in UTC but already
# Sunday 2026-02-01 00:30 in Japan. A3 is an Amazon FBA order (no stock of ours); R3 and R4 are
# cancelled. Y1 has a line whose SKU is unknown.

ORDERS_IN = [
    # mall, number, ordered at, status, 合計金額, 送料, 在庫引当
    ("楽天", "R1", datetime(2026, 1, 5, 10, 15, tzinfo=JST), "出荷済", 3300, 550, True),
    ("楽天", "R2", datetime(2026, 1, 5, 23, 59, 59, tzinfo=JST), "新規", 1200, 0, True),
    ("楽天", "R3", datetime(2026, 1, 6, 0, 0, tzinfo=JST), "キャンセル", 10000, 550, True),
    ("Amazon", "A1", datetime(2026, 1, 11, 9, 0, tzinfo=JST), "出荷済", 5000, 0, True),
    ("Amazon", "A2", datetime(2026, 1, 12, 8, 30, tzinfo=JST), "出荷済", 2000, 550, True),
    ("Amazon", "A3", datetime(2026, 1, 30, 13, 0, tzinfo=JST), "出荷済", 6000, 0, False),
    ("楽天", "R4", datetime(2026, 1, 31, 20, 0, tzinfo=JST), "キャンセル", 2200, 550, True),
    ("Yahoo!", "Y1", datetime(2026, 2, 1, 12, 0, tzinfo=JST), "保留", 4500, 550, True),
    ("Shopify", "S1", datetime(2026, 1, 31, 15, 30, tzinfo=UTC), "出荷済", 2750, 0, True),
]
LINES_IN = [
    # mall, number, line, SKU, 数量, 単価
    ("楽天", "R1", 1, "00123", 2, 1375),
    ("楽天", "R2", 1, "SOX", 1, 1200),
    ("楽天", "R3", 1, "TOTE", 3, 3150),
    ("Amazon", "A1", 1, "TOTE", 1, 5000),
    ("Amazon", "A2", 1, "SOX", 1, 1450),
    ("Amazon", "A3", 1, "00123", 5, 1200),
    ("楽天", "R4", 1, "TOTE", 1, 1650),
    ("Yahoo!", "Y1", 1, "BATH", 1, 3850),
    ("Yahoo!", "Y1", 2, None, 1, 100),
    ("Shopify", "S1", 1, "00123", 2, 1375),
]
PRODUCTS_IN = [
    ("00123", "注染手ぬぐい", 30),
    ("TOTE", "帆布トート", 21),
    ("BATH", "バスタオル", 14),
    ("SOX", "ソックス", 10),
]
STOCK_IN = [  # SKU, 実在庫, 販売可能数
    ("00123", 9, 7),
    ("BATH", 2, 2),
    ("SOX", 5, 5),
    ("TOTE", 1, 0),
    ("MUG", 1, 1),  # not on the 商品 tab
]


def _table(spec: Any, models: list[Any]) -> Table[Any]:
    return Table(
        spec=spec, grid=Grid(spec.title, []), records=[Record(i + 2, m) for i, m in enumerate(models)]
    )


def make_tables(orders: list[tuple] = ORDERS_IN, lines: list[tuple] = LINES_IN) -> dict[str, Table[Any]]:
    return {
        ORDERS.title: _table(
            ORDERS,
            [
                Order(
                    mall=m,
                    order_number=n,
                    ordered_at=at,
                    status=s,
                    total=t,
                    shipping_fee=f,
                    allocates_stock=a,
                )
                for m, n, at, s, t, f, a in orders
            ],
        ),
        ORDER_LINES.title: _table(
            ORDER_LINES,
            [
                OrderLine(
                    mall=m,
                    order_number=n,
                    line_number=i,
                    sku=sku,
                    name=f"{sku}の明細",
                    quantity=q,
                    unit_price=p,
                )
                for m, n, i, sku, q, p in lines
            ],
        ),
        PRODUCTS.title: _table(
            PRODUCTS,
            [Product(sku=s, name=name, price=1000, lead_time_days=lt) for s, name, lt in PRODUCTS_IN],
        ),
        STOCK.title: _table(STOCK, [Stock(sku=s, on_hand=h, available=a) for s, h, a in STOCK_IN]),
    }


@pytest.fixture(scope="module")
def base() -> analytics.Base:
    return analytics.build_base(make_tables())


def everything(base: analytics.Base, malls: list[str] | None = None) -> analytics.Selection:
    return analytics.select(base, malls, date(2026, 1, 1), date(2026, 2, 28))


# --- base and filters ---------------------------------------------------------------------------


def test_times_are_japan_wall_clock_and_malls_come_in_a_fixed_order(base: analytics.Base) -> None:
    s1 = base.orders.set_index("注文番号").loc["S1"]
    assert s1["注文日時"] == pd.Timestamp("2026-02-01 00:30")
    assert (s1["曜日"], s1["時"]) == (6, 0)
    assert base.malls == ("楽天", "Amazon", "Yahoo!", "Shopify")
    assert (base.first_day, base.last_day) == (date(2026, 1, 5), date(2026, 2, 1))


def test_a_period_holds_both_of_its_dates_in_jst_and_a_mall_filter_keeps_only_that_mall(
    base: analytics.Base,
) -> None:
    first_of_feb = analytics.select(base, None, date(2026, 2, 1), date(2026, 2, 1))
    assert sorted(first_of_feb.orders["注文番号"]) == ["S1", "Y1"]  # S1 is still 1/31 in UTC
    assert sorted(first_of_feb.lines["注文番号"]) == ["S1", "Y1", "Y1"]
    fifth = analytics.select(base, None, date(2026, 1, 5), date(2026, 1, 5))
    assert sorted(fifth.orders["注文番号"]) == ["R1", "R2"]  # 23:59:59 is still the 5th
    rakuten = everything(base, ["楽天"])
    assert set(rakuten.orders["モール"]) == {"楽天"} and set(rakuten.lines["モール"]) == {"楽天"}
    assert len(rakuten.orders) == 4
    assert analytics.select(base, [], date(2026, 1, 1), date(2026, 2, 28)).empty


def test_presets_end_today_and_the_previous_period_is_as_long() -> None:
    today = date(2026, 3, 15)
    assert analytics.preset_range("直近30日", today) == (date(2026, 2, 14), today)
    assert analytics.preset_range("直近90日", today) == (date(2025, 12, 16), today)
    assert analytics.preset_range("今年", today) == (date(2026, 1, 1), today)
    assert analytics.previous_period(date(2026, 2, 14), today) == (date(2026, 1, 15), date(2026, 2, 13))


# --- KPIs and sales over time -------------------------------------------------------------------


def test_kpis_leave_cancelled_orders_out_of_sales_but_count_them_in_the_rate(base: analytics.Base) -> None:
    kpis = analytics.kpis(everything(base).orders)
    assert kpis.sales == 3300 + 1200 + 5000 + 2000 + 6000 + 4500 + 2750 == 24750
    assert kpis.orders == 7 and kpis.cancelled == 2
    assert kpis.average == 3536  # 24750 / 7 = 3535.71…
    assert kpis.cancel_rate == 22.2  # 2 of 9


def test_daily_sales_per_mall_with_empty_days_as_zero(base: analytics.Base) -> None:
    daily = analytics.sales_by_period(everything(base).orders, "日", date(2026, 1, 5), date(2026, 2, 1))
    assert list(daily.columns) == ["楽天", "Amazon", "Yahoo!", "Shopify"]
    assert len(daily) == 28  # 1/5..2/1, every day
    assert daily.loc["2026-01-05", "楽天"] == 4500
    assert daily.loc["2026-01-06", "楽天"] == 0  # only a cancelled order
    assert daily.loc["2026-01-31", "楽天"] == 0
    assert daily.loc["2026-01-31", "Shopify"] == 0 and daily.loc["2026-02-01", "Shopify"] == 2750
    assert daily.loc["2026-01-30", "Amazon"] == 6000
    assert daily.to_numpy().sum() == 24750


def test_weekly_sales_start_on_monday(base: analytics.Base) -> None:
    weekly = analytics.sales_by_period(everything(base).orders, "週", date(2026, 1, 5), date(2026, 2, 1))
    assert list(weekly.index) == list(
        pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"])
    )
    assert weekly.loc["2026-01-05"].to_dict() == {"楽天": 4500, "Amazon": 5000, "Yahoo!": 0, "Shopify": 0}
    assert weekly.loc["2026-01-12"].to_dict() == {"楽天": 0, "Amazon": 2000, "Yahoo!": 0, "Shopify": 0}
    assert weekly.loc["2026-01-26"].to_dict() == {"楽天": 0, "Amazon": 6000, "Yahoo!": 4500, "Shopify": 2750}


def test_monthly_sales_and_a_mall_filter(base: analytics.Base) -> None:
    monthly = analytics.sales_by_period(everything(base).orders, "月", date(2026, 1, 1), date(2026, 2, 28))
    assert monthly.loc["2026-01-01"].to_dict() == {"楽天": 4500, "Amazon": 13000, "Yahoo!": 0, "Shopify": 0}
    assert monthly.loc["2026-02-01"].to_dict() == {"楽天": 0, "Amazon": 0, "Yahoo!": 4500, "Shopify": 2750}
    only = analytics.sales_by_period(
        everything(base, ["Amazon"]).orders, "月", date(2026, 1, 1), date(2026, 2, 28), ["Amazon"]
    )
    assert list(only.columns) == ["Amazon"] and list(only["Amazon"]) == [13000, 0]
    assert analytics.period_label("週", pd.Timestamp("2026-01-26")) == "2026/01/26〜02/01"
    assert analytics.period_label("日", pd.Timestamp("2026-02-01")) == "2026/02/01(日)"
    assert analytics.period_label("月", pd.Timestamp("2026-02-01")) == "2026年2月"


# --- SKUs ---------------------------------------------------------------------------------------


def test_top_skus_by_sales_and_by_units(base: analytics.Base) -> None:
    lines = everything(base).lines
    by_sales = analytics.top_skus(lines, "商品売上", 10, base.names)
    assert list(by_sales["SKU"]) == ["00123", "TOTE", "BATH", "SOX"]  # the unknown-SKU line is left out
    assert by_sales.set_index("SKU")["商品売上"].to_dict() == {
        "00123": 11500,
        "TOTE": 5000,
        "BATH": 3850,
        "SOX": 2650,
    }
    assert by_sales.iloc[0]["商品名"] == "注染手ぬぐい"  # the 商品 tab's name
    by_units = analytics.top_skus(lines, "数量", 3, base.names)
    assert list(by_units["SKU"]) == ["00123", "SOX", "TOTE"]  # TOTE beats BATH on sales at 1 unit each
    assert list(by_units["数量"]) == [9, 2, 1]  # TOTE's cancelled units are not counted


def _lines(sales: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SKU": list(sales),
            "商品名": list(sales),
            "数量": [1] * len(sales),
            "商品売上": list(sales.values()),
            "キャンセル": [False] * len(sales),
        }
    )


def test_abc_boundaries_the_sku_that_reaches_a_limit_belongs_to_the_higher_class() -> None:
    exact = analytics.abc_analysis(_lines({"a": 500, "b": 200, "c": 200, "d": 100}))
    assert list(exact["ランク"]) == ["A", "A", "B", "C"]  # cumulative 50, 70 | 90 | 100 %
    assert list(exact["累積構成比"]) == pytest.approx([0.5, 0.7, 0.9, 1.0])
    crossing = analytics.abc_analysis(_lines({"a": 600, "b": 300, "c": 100}))
    assert list(crossing["ランク"]) == ["A", "A", "C"]  # b crosses 70 % and 90 %: still A
    dominant = analytics.abc_analysis(_lines({"a": 800, "b": 150, "c": 50, "zero": 0}))
    assert list(dominant["SKU"]) == ["a", "b", "c"]  # nothing sold: not ranked
    assert list(dominant["ランク"]) == ["A", "B", "C"]
    summary = analytics.abc_summary(exact)
    assert summary["SKU数"].to_dict() == {"A": 2, "B": 1, "C": 1}
    assert summary["商品売上"].to_dict() == {"A": 700, "B": 200, "C": 100}


def test_abc_on_the_shop(base: analytics.Base) -> None:
    abc = analytics.abc_analysis(everything(base).lines, base.names)
    assert list(abc["SKU"]) == ["00123", "TOTE", "BATH", "SOX"]
    assert list(abc["ランク"]) == ["A", "A", "B", "B"]  # before BATH: 16500 / 23000 = 71.7 %
    assert list(abc["順位"]) == [1, 2, 3, 4]
    assert abc["累積構成比"].iloc[-1] == pytest.approx(1.0)


# --- order times --------------------------------------------------------------------------------


def test_heatmap_counts_orders_per_jst_weekday_and_hour(base: analytics.Base) -> None:
    heat = analytics.weekday_hour_counts(everything(base).orders)
    assert heat.shape == (7, 24)
    assert list(heat.index) == ["月", "火", "水", "木", "金", "土", "日"]
    assert heat.loc["月", 10] == 1 and heat.loc["月", 23] == 1 and heat.loc["月", 8] == 1
    assert heat.loc["日", 9] == 1 and heat.loc["日", 12] == 1 and heat.loc["金", 13] == 1
    assert heat.loc["日", 0] == 1 and heat.loc["土", 15] == 0  # S1 in JST, not in UTC
    assert heat.loc["火", 0] == 0 and heat.loc["土", 20] == 0  # cancelled
    assert heat.to_numpy().sum() == 7


# --- stock cover --------------------------------------------------------------------------------


def test_stock_cover_uses_recent_own_warehouse_sales_and_flags_short_cover(base: analytics.Base) -> None:
    cover = analytics.stock_cover(base, date(2026, 2, 1), days=7)
    rows = cover.set_index("SKU")
    assert list(cover["SKU"]) == ["TOTE", "00123", "BATH", "MUG", "SOX"]  # attention first
    # 00123: the FBA order's 5 units are not ours; S1's 2 in the last 7 days -> 7 / (2/7) days
    assert rows.loc["00123", "販売数"] == 2
    assert rows.loc["00123", "在庫日数"] == pytest.approx(24.5)
    assert rows.loc["00123", "状態"] == "要発注"  # 24.5 < 30
    assert rows.loc["BATH", "在庫日数"] == pytest.approx(14.0)
    assert rows.loc["BATH", "状態"] == ""  # exactly the lead time is not below it
    assert rows.loc["TOTE", "販売数"] == 0  # R4 was cancelled
    assert rows.loc["TOTE", "在庫日数"] == 0.0 and rows.loc["TOTE", "状態"] == "在庫切れ"
    assert rows.loc["SOX", "在庫日数"] == np.inf and not rows.loc["SOX", "要注意"]  # sold only long ago
    assert rows.loc["MUG", "在庫日数"] == np.inf and pd.isna(rows.loc["MUG", "リードタイム日数"])
    assert rows.loc["MUG", "商品名"] == "（商品シートにありません）"
    on_hand = analytics.stock_cover(base, date(2026, 2, 1), days=7, basis="実在庫").set_index("SKU")
    assert on_hand.loc["00123", "在庫日数"] == pytest.approx(31.5) and on_hand.loc["00123", "状態"] == ""
    assert on_hand.loc["TOTE", "在庫日数"] == np.inf and on_hand.loc["TOTE", "状態"] == ""


# --- monthly summary and its files --------------------------------------------------------------

JANUARY = ["2026年1月", 17500, 5, 3500, 1100, 2, 28.6]
FEBRUARY = ["2026年2月", 7250, 2, 3625, 550, 0, 0.0]


def test_monthly_summary_numbers(base: analytics.Base) -> None:
    summary = analytics.monthly_summary(everything(base).orders)
    assert list(summary.columns) == [
        "月",
        "売上",
        "件数",
        "客単価",
        "送料",
        "キャンセル件数",
        "キャンセル率（%）",
    ]
    assert summary.to_numpy().tolist() == [JANUARY, FEBRUARY]
    padded = analytics.monthly_summary(everything(base).orders, date(2025, 12, 15), date(2026, 2, 1))
    assert padded["月"].tolist() == ["2025年12月", "2026年1月", "2026年2月"]
    assert padded.iloc[0, 1:].tolist() == [0, 0, 0, 0, 0, 0.0]


def test_rounding_is_half_up_for_average_and_cancel_rate() -> None:
    assert analytics.round_half_up(1001, 2) == 501 and analytics.round_half_up(2501, 2) == 1251
    assert analytics.round_half_up(10000, 3) == 3333
    assert analytics.cancel_rate(1, 16) == 6.3  # 6.25: round() would give 6.2
    assert (analytics.cancel_rate(1, 3), analytics.cancel_rate(2, 3), analytics.cancel_rate(0, 0)) == (
        33.3,
        66.7,
        0.0,
    )
    at = datetime(2026, 3, 2, 12, tzinfo=JST)
    orders = [("楽天", f"N{i}", at, "出荷済", 1000 + i, 0, True) for i in range(2)]
    orders += [("楽天", f"C{i}", at, "キャンセル", 500, 0, True) for i in range(1)]
    orders += [("楽天", f"M{i}", at, "出荷済", 0, 0, True) for i in range(13)]
    summary = analytics.monthly_summary(analytics.build_base(make_tables(orders, [])).orders)
    # 2001 yen over 15 orders = 133.4 -> 133; 1 of 16 cancelled = 6.25 % -> 6.3
    assert summary.iloc[0][["売上", "件数", "客単価", "キャンセル率（%）"]].tolist() == [2001, 15, 133, 6.3]
    two = analytics.monthly_summary(analytics.build_base(make_tables(orders[:2], [])).orders)
    assert two.iloc[0]["客単価"] == 1001  # 1000.5 rounds up


def test_csv_has_a_bom_japanese_headers_and_the_numbers(base: analytics.Base) -> None:
    data = analytics.summary_csv(analytics.monthly_summary(everything(base).orders))
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "月,売上,件数,客単価,送料,キャンセル件数,キャンセル率（%）"
    assert lines[1:] == ["2026年1月,17500,5,3500,1100,2,28.6", "2026年2月,7250,2,3625,550,0,0.0"]


def test_xlsx_opens_with_openpyxl_and_holds_the_same_numbers(base: analytics.Base) -> None:
    data = analytics.summary_xlsx(analytics.monthly_summary(everything(base).orders))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert sheet.title == "月次サマリー"
    assert rows == [
        ["月", "売上", "件数", "客単価", "送料", "キャンセル件数", "キャンセル率（%）"],
        JANUARY,
        FEBRUARY,
    ]
    assert "¥" in sheet["B2"].number_format and "#,##0" in sheet["B2"].number_format


def test_an_empty_workbook_gives_empty_frames_not_errors() -> None:
    empty = analytics.build_base(make_tables([], []))
    selection = analytics.select(empty, None, date(2026, 1, 1), date(2026, 1, 31))
    assert selection.empty and empty.malls == () and empty.first_day is None
    assert analytics.kpis(selection.orders) == analytics.Kpis(0, 0, 0, 0, 0.0)
    assert analytics.sales_by_period(selection.orders, "週", date(2026, 1, 1), date(2026, 1, 31)).empty
    assert analytics.weekday_hour_counts(selection.orders).to_numpy().sum() == 0
    assert analytics.abc_analysis(selection.lines).empty
    assert analytics.monthly_summary(selection.orders)["月"].tolist() == []


def test_mall_colours_are_fixed_and_distinct() -> None:
    colours = analytics.mall_colours(
        ["Shopify", "自社サイト", "楽天市場", "Amazon", "楽天デモ", "Yahoo!ショッピング"]
    )
    assert colours["楽天デモ"] == analytics.mall_colours(["楽天市場"])["楽天市場"] == "#BF0000"
    assert colours["Amazon"] == "#FF9900" and colours["楽天市場"] not in ("#BF0000", "#FF9900")
    assert len(set(colours.values())) == len(colours)
    assert list(colours)[:4] == ["楽天デモ", "楽天市場", "Amazon", "Yahoo!ショッピング"]


# Speed on 50,000 orders is measured by bench/pages_bench.py, not asserted here.


# --- the page -----------------------------------------------------------------------------------

APP = str(PROJECT_ROOT / "app.py")


def open_page(sql_url: str) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def numbers(values: Any) -> np.ndarray:
    """Plotly writes numeric arrays either as lists or as typed arrays ({dtype, bdata})."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values)


def figure(at: AppTest, index: int = 0) -> dict[str, Any]:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def workbook_sales(sql_url: str, malls: set[str] | None = None) -> int:
    """売上 of the last 30 days (today included) read straight from the workbook."""
    orders = read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))["受注"].models()
    start, end = analytics.preset_range("直近30日", datetime.now(JST).date())
    return sum(
        o.total
        for o in orders
        if o.status != "キャンセル"
        and start <= o.ordered_at.date() <= end
        and (malls is None or o.mall in malls)
    )


def test_the_page_shows_the_workbooks_sales_in_yen_and_a_mall_filter_changes_the_chart(sql_url: str) -> None:
    at = open_page(sql_url)
    assert at.title[0].value == "分析"
    expected = workbook_sales(sql_url)
    assert expected > 0
    shown = {m.label: m.value for m in at.metric}
    assert shown["売上"] == f"¥{expected:,}"
    assert (
        shown["客単価"].startswith("¥")
        and shown["件数"].endswith(" 件")
        and shown["キャンセル率"].endswith("%")
    )

    sales = figure(at)
    assert [t["name"] for t in sales["data"]] == ["楽天", "Amazon", "Yahoo!", "Shopify"]
    assert sum(int(numbers(t["y"]).sum()) for t in sales["data"]) == expected
    assert sales["layout"]["yaxis"]["tickprefix"] == "¥"
    assert sales["layout"]["xaxis"]["title"]["text"] == "日付"
    assert len(at.get("plotly_chart")) == 4  # 売上推移, 売れ筋SKU, ABC分析, 曜日×時間帯
    assert [b.label for b in at.download_button] == [
        "CSVをダウンロード",
        "Excelファイルをダウンロード",
        "月末在庫の明細（CSV）",
        "freee 会計（仕訳） 用の CSV をダウンロード",  # 会計ソフト用の仕訳 (管理), after the summary
    ]
    assert shown["粗利（期間）"].startswith("¥")
    summary = next(d.value for d in reversed(at.dataframe) if "月末在庫金額" in d.value.columns)
    assert list(summary.columns)[-3:] == ["月末在庫数", "月末在庫金額", "原価不明SKU"]
    assert summary["月末在庫金額"].iloc[-1] > 0

    at.multiselect(key="analytics_malls").set_value(["楽天"]).run()
    assert not at.exception
    only = figure(at)
    assert [t["name"] for t in only["data"]] == ["楽天"]
    rakuten = workbook_sales(sql_url, {"楽天"})
    assert 0 < rakuten < expected
    assert int(numbers(only["data"][0]["y"]).sum()) == rakuten
    assert {m.label: m.value for m in at.metric}["売上"] == f"¥{rakuten:,}"

    at.segmented_control(key="analytics_grain").set_value("月").run()
    months = figure(at)
    assert months["layout"]["xaxis"]["title"]["text"] == "月"
    assert len(months["data"][0]["x"]) <= 2 and int(numbers(months["data"][0]["y"]).sum()) == rakuten


def test_a_period_without_orders_shows_a_hint_instead_of_charts(sql_url: str) -> None:
    at = open_page(sql_url)
    at.segmented_control(key="analytics_period").set_value("期間を指定").run()
    picker = at.date_input(key="analytics_range")
    quiet = date(picker.min.year, 1, 1)
    picker.set_value((quiet, date(quiet.year, 1, 31))).run()
    assert not at.exception
    assert any("受注はありません" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    # Only the journal's: its month is chosen on its own, not by the period.
    assert [b.label for b in at.download_button] == ["freee 会計（仕訳） 用の CSV をダウンロード"]
    assert {m.label: m.value for m in at.metric}["売上"] == "¥0"
    assert at.dataframe, "the stock cover table does not depend on the period"


def test_a_return_against_an_order_shows_in_the_return_rates(sql_url: str) -> None:
    open_page(sql_url)  # the demo shop, its ledger written by the first run
    from sheets_schema.changes import WriteJob

    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    tables = read_tables(workbook)
    today = datetime.now(JST).date()
    shipped = [
        m
        for m in tables["在庫移動"].models()
        if m.kind == "出荷" and m.order_number and (today - m.at.date()).days < 20
    ]
    assert shipped, "the demo shop ships in the last 20 days"
    first = shipped[0]
    job = WriteJob()
    job.append(
        tables["在庫移動"],
        [
            {
                "移動ID": "返品:テスト:1",
                "日時": datetime.now(JST).replace(microsecond=0),
                "SKU": first.sku,
                "区分": "返品入庫",
                "数量": 1,
                "モール": first.mall,
                "注文番号": first.order_number,
                "明細番号": first.line_number,
            }
        ],
    )
    workbook.write(job)
    at = open_page(sql_url)
    returns = next(d.value for d in at.dataframe if "返品率（%）" in d.value.columns)
    row = returns.set_index("SKU").loc[first.sku]
    sent = sum(  # 直近30日, today included
        m.quantity
        for m in tables["在庫移動"].models()
        if m.kind == "出荷" and m.sku == first.sku and (today - m.at.date()).days < 30
    )
    assert (row["返品数"], row["出荷数"]) == (1, sent)
    # One decimal, rounded half up (6.25 % shows 6.3 %), whatever the day's figures are.
    half_up = Decimal(100) / Decimal(sent)
    assert row["返品率（%）"] == pytest.approx(
        float(half_up.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    )


def test_the_demo_compares_like_with_like_and_never_with_days_before_its_records(sql_url: str) -> None:
    """The demo's history sells at its live rate, so 直近30日 against the 30 days before is
    ordinary noise, not +470 %; a period whose previous period starts before the first order
    gets no 前期間比 (and says why) rather than growth that never happened."""
    at = open_page(sql_url)
    sales = next(m for m in at.metric if m.label == "売上")
    assert sales.proto.delta_description == "前期間比"
    change_percent = float(sales.proto.delta.replace("%", "").replace("+", ""))
    assert -40 < change_percent < 40
    at.segmented_control(key="analytics_period").set_value("直近90日").run()
    assert not at.exception
    kpis = [m for m in at.metric if m.label in ("売上", "件数", "客単価", "キャンセル率")]
    assert len(kpis) == 4 and all(not m.proto.delta for m in kpis)
    assert any("前期間比を出していません" in c.value for c in at.caption)
