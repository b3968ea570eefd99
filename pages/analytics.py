"""分析: sales over time, best sellers, ABC, order times, stock cover, 粗利, 返品率 and a monthly
summary with the month-end stock valuation.

Archived orders count as if they were in the workbook. The facts (orders and lines summed per
day, hour, mall, SKU) of the workbook and of the archive are built once per workbook read and
archive change (``ui.archive``); a filter change only filters and sums them. Numbers come from
``shop.analytics``, charts from ``shop.analytics_charts``, sentences and table shaping from
``shop.analytics_view``, the filters and column configs from ``ui.analytics_filters`` and
``ui.analytics_columns``, the stock sections (粗利, 返品率, 月次サマリー) from
``ui.analytics_stock``; this file only lays them out.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from shop import analytics
from shop import analytics_view as view
from shop.analytics_charts import (
    CHART_CONFIG,
    change,
    cover_table,
    heatmap_figure,
    pareto_figure,
    sales_figure,
    share,
    top_figure,
)
from shop.overview import yen
from ui import analytics_columns as columns
from ui import analytics_customers, analytics_filters, analytics_journal, analytics_stock, archive, context

# --- sections, top to bottom -------------------------------------------------------------------


def kpi_row(now: analytics.Kpis, before: analytics.Kpis | None) -> None:
    """売上・件数・客単価・キャンセル率, each compared with the same number of days before —
    only when that period is wholly within the shop's records (``before`` None otherwise): a
    period half before the first order would show growth that never happened."""
    if before is None or not before.orders:
        before = analytics.Kpis(0, 0, 0, 0, 0.0) if before is None else before
    compare = "前期間比" if before.orders else None
    common = {"delta_description": compare, "border": True, "height": "stretch"}
    # 売上 gets the widest card: ¥123,456,789 must not be cut off on a 1366 px screen.
    sales_col, count_col, average_col, cancel_col = st.columns([1.5, 1, 1, 1])
    sales_col.metric("売上", yen(now.sales), change(now.sales, before.sales), **common)
    count_col.metric("件数", f"{now.orders:,} 件", change(now.orders, before.orders), **common)
    average_col.metric(
        "客単価",
        yen(now.average),
        change(now.average, before.average),
        help="売上 ÷ 件数（円未満は四捨五入）",
        **common,
    )
    cancel_col.metric(
        "キャンセル率",
        f"{now.cancel_rate:.1f}%",
        f"{now.cancel_rate - before.cancel_rate:+.1f}pt" if before.orders else None,
        delta_color="inverse",
        help=f"キャンセル {now.cancelled:,} 件 ÷ 期間内のすべての受注",
        **common,
    )


def sales_trend(selection: analytics.Selection, malls: list[str], colours: dict[str, str]) -> None:
    head, control = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader("売上推移")
    grain = control.segmented_control(
        "集計単位", analytics.GRAINS, default="日", required=True, key="analytics_grain", width="stretch"
    )
    wide = analytics.sales_by_period(selection.orders, grain, selection.start, selection.end, malls)
    st.plotly_chart(sales_figure(wide, grain, colours), config=CHART_CONFIG, key="analytics_sales_chart")
    st.caption("モール別の積み上げ。棒にマウスを重ねると金額が出ます。")


def best_sellers(selection: analytics.Selection, names: pd.Series) -> None:
    head, control = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader("売れ筋SKU（上位10）")
    by = control.segmented_control(
        "並べ替え",
        ("商品売上", "数量"),
        default="商品売上",
        required=True,
        key="analytics_top_by",
        width="stretch",
    )
    top = analytics.top_skus(selection.lines, by, 10, names)
    if top.empty:
        st.info("この期間に SKU の分かる明細がありません。", icon=":material/info:")
        return
    st.plotly_chart(top_figure(top, by), config=CHART_CONFIG, key="analytics_top_chart")
    st.caption("商品売上 = 明細の数量 × 単価（送料を含まないため、上の売上より小さくなります）。")


def abc_section(selection: analytics.Selection, names: pd.Series) -> None:
    st.subheader("ABC分析")
    abc = analytics.abc_analysis(selection.lines, names)
    if abc.empty:
        st.info("この期間に SKU の分かる明細がありません。", icon=":material/info:")
        return
    for column, (rank, row) in zip(st.columns(3), analytics.abc_summary(abc).iterrows(), strict=True):
        column.metric(
            f"{rank}ランク",
            f"{int(row['SKU数']):,} SKU",
            f"商品売上の {share(row['構成比'])}",
            delta_color="off",
            delta_arrow="off",
        )
    st.plotly_chart(pareto_figure(abc), config=CHART_CONFIG, key="analytics_abc_chart")
    st.caption(
        "A = 商品売上の多い順に累積70%に達するまで、B = 90%まで、C = 残り。"
        "点線は70%と90%。売れなかった SKU は含みません。"
    )
    with st.expander("ランク別の SKU 一覧"):
        st.dataframe(
            view.abc_list(abc),
            hide_index=True,
            width="stretch",
            height=320,
            column_config=columns.abc_columns(),
        )


def order_times(selection: analytics.Selection) -> None:
    st.subheader("曜日×時間帯の注文件数")
    st.plotly_chart(
        heatmap_figure(analytics.weekday_hour_counts(selection.orders)),
        config=CHART_CONFIG,
        key="analytics_heatmap",
    )
    st.caption("キャンセルを除く注文の件数。色が濃いほど注文が多い時間帯です。")


def stock_cover(base: analytics.Base, today: date) -> None:
    """Days of stock per SKU; rows below lead time (or out of stock) in red, first."""
    head, window_col, basis_col = st.columns([1.6, 1.4, 1.3], vertical_alignment="bottom")
    head.subheader("在庫日数")
    window = window_col.segmented_control(
        "販売ペース（直近）",
        analytics.COVER_WINDOWS,
        default=30,
        required=True,
        format_func=lambda d: f"{d}日",
        key="analytics_cover_days",
        width="stretch",
    )
    basis = basis_col.segmented_control(
        "在庫の数え方",
        ("販売可能数", "実在庫"),
        default="販売可能数",
        required=True,
        key="analytics_cover_basis",
        width="stretch",
    )
    cover = analytics.stock_cover(base, today, window, basis)
    warn, alert = view.cover_alert(cover)
    if warn:
        st.warning(alert, icon=":material/warning:")
    else:
        st.success(alert, icon=":material/check_circle:")
    st.dataframe(
        cover_table(cover, basis),
        hide_index=True,
        width="stretch",
        height=360,
        column_config=columns.cover_columns(basis, window),
    )
    st.caption(view.cover_caption(basis, window))


# --- the page ------------------------------------------------------------------------------------

st.title("分析")
st.caption(
    "売上 = キャンセル以外の受注の合計金額（税込・送料込み）。件数もキャンセルを除きます。"
    "時刻はすべて日本時間です。履歴データベースへ移した受注も含みます。"
)
today = datetime.now(JST).date()
all_malls, first_day, last_day = archive.analytics_reach()
base: analytics.Base = context.derived("analytics.base", analytics.build_base)
selection: analytics.Selection | None = None

if first_day is None or last_day is None:
    st.info(
        "まだ受注がありません。「同期」ページでモールから受注を取り込むと、ここに売上の分析が表示されます。",
        icon=":material/info:",
    )
else:
    malls, start, end = analytics_filters.filters(all_malls, first_day, last_day, today)
    base = archive.analytics_base(start, end, today)
    chosen = analytics.select(base, malls, start, end)
    now = analytics.kpis(chosen.orders)
    before_start, before_end = analytics.previous_period(start, end)
    if before_start >= first_day:
        kpi_row(now, analytics.kpis(analytics.select(base, malls, before_start, before_end).orders))
    else:
        kpi_row(now, None)
        st.caption(
            f"前期間（{before_start:%Y/%m/%d}〜{before_end:%Y/%m/%d}）は、受注の記録がある"
            f" {first_day:%Y/%m/%d} より前を含むため、前期間比を出していません。"
        )
    if not malls:
        st.info("モールを1つ以上選んでください。", icon=":material/filter_alt:")
    elif now.orders == 0:
        st.info(view.no_orders_message(start, end, now.cancelled), icon=":material/search_off:")
    else:
        selection = chosen
        sales_trend(selection, malls, analytics.mall_colours(all_malls))
        best_sellers(selection, base.names)
        abc_section(selection, base.names)
        order_times(selection)

if not base.stock.empty:
    stock_cover(base, today)
if selection is not None:
    analytics_stock.gross_margin(selection, base.names, malls)
    analytics_stock.returns(selection, base.names, malls)
    analytics_stock.monthly_summary(selection, base.names)
    analytics_customers.section(selection.start, selection.end, malls, today, base.names)
if first_day is not None and last_day is not None:
    analytics_journal.section(first_day, last_day)
