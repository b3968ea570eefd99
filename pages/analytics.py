"""分析: sales over time, best sellers, ABC, order times, stock cover and a monthly summary.

The frames are built once per workbook read (``context.derived``); a filter change only filters
and aggregates them. Numbers come from ``shop.analytics``; this file only lays them out.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pandas.io.formats.style import Styler

from sheets_schema.cells import JST
from shop import analytics
from shop.overview import yen
from ui import context

CUSTOM = "期間を指定"
YEN_AXIS = {"tickprefix": "¥", "tickformat": ",d", "separatethousands": True}
# No plotly mode bar: its button tooltips are English only.
CHART_CONFIG = {"displayModeBar": False, "displaylogo": False}
RED_ROW = "background-color: #FDE2E1"
ROW_PX = 35  # st.dataframe's row height
STYLED_ROWS = 500
STATE_COLOURS = {"在庫切れ": "#D93025", "要発注": "#E8710A"}
RANK_COLOURS = {"A": "#1F4E9E", "B": "#6A9BD8", "C": "#C5D3E8"}


def layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 36, "b": 8},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "title": None,
            "traceorder": "normal",
        },
        hoverlabel={"font_size": 13},
        font={"size": 13},
        separators=".,",
        **extra,
    )
    return figure


def short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sales_figure(wide: pd.DataFrame, grain: analytics.Grain, colours: dict[str, str]) -> go.Figure:
    labels = [analytics.period_label(grain, p) for p in wide.index]
    figure = go.Figure(
        [
            go.Bar(
                name=mall,
                x=wide.index,
                y=wide[mall],
                marker_color=colours[mall],
                customdata=labels,
                hovertemplate=f"%{{customdata}}<br>{mall}: ¥%{{y:,d}}<extra></extra>",
                xperiod={"日": 86_400_000, "週": 7 * 86_400_000, "月": "M1"}[grain],
                xperiodalignment="middle",
            )
            for mall in wide.columns
        ]
    )
    ticks: dict[str, object] = {"tickformat": "%-m/%-d"}
    if grain == "月":  # every month labelled while they fit
        ticks = {"tickformat": "%-m月<br>%Y年", "dtick": "M1" if len(wide) <= 18 else "M3"}
    return layout(
        figure,
        340,
        barmode="stack",
        xaxis={"title": {"text": {"日": "日付", "週": "週（月曜始まり）", "月": "月"}[grain]}, **ticks},
        yaxis={"title": {"text": "売上（円）"}, **YEN_AXIS},
    )


def top_figure(top: pd.DataFrame, by: str) -> go.Figure:
    top = top.iloc[::-1]  # best seller at the top
    duplicated = top["商品名"].duplicated(keep=False)
    ticks = [
        f"{short(n)}（{s}）" if dup else short(n)
        for n, s, dup in zip(top["商品名"], top["SKU"], duplicated, strict=True)
    ]
    values = top[by]
    text = [yen(int(v)) for v in values] if by == "商品売上" else [f"{int(v):,} 点" for v in values]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=top["SKU"],
            orientation="h",
            marker_color="#1F4E9E",
            text=text,
            textposition="auto",
            customdata=list(zip(top["商品名"], top["数量"], top["商品売上"], strict=True)),
            hovertemplate="%{y}<br>%{customdata[0]}<br>数量: %{customdata[1]:,d} 点<br>"
            "商品売上: ¥%{customdata[2]:,d}<extra></extra>",
        )
    )
    axis = YEN_AXIS if by == "商品売上" else {"tickformat": ",d", "ticksuffix": " 点"}
    return layout(
        figure,
        max(240, 34 * len(top) + 70),
        xaxis={"title": {"text": "商品売上（円）" if by == "商品売上" else "数量（点）"}, **axis},
        yaxis={"title": {"text": None}, "tickvals": list(top["SKU"]), "ticktext": ticks, "type": "category"},
        showlegend=False,
    )


def pareto_figure(abc: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for rank, colour in RANK_COLOURS.items():
        part = abc[abc["ランク"] == rank]
        figure.add_bar(
            name=f"{rank}ランク",
            x=part["順位"],
            y=part["商品売上"],
            marker_color=colour,
            customdata=part[["SKU", "商品名", "ランク"]].to_numpy(),
            hovertemplate="%{x}位 %{customdata[0]}<br>%{customdata[1]}<br>商品売上: ¥%{y:,d}"
            "（%{customdata[2]}ランク）<extra></extra>",
        )
    figure.add_scatter(
        name="累積構成比",
        x=abc["順位"],
        y=abc["累積構成比"],
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#E8710A", "width": 2},
        marker={"size": 5},
        customdata=abc["SKU"],
        hovertemplate="%{x}位 %{customdata}まで: 累積 %{y:.1%}<extra></extra>",
    )
    for share in (0.7, 0.9):
        figure.add_hline(y=share, yref="y2", line_dash="dot", line_color="#888888", line_width=1)
    return layout(
        figure,
        360,
        xaxis={
            "title": {"text": "順位（商品売上の多い順）"},
            "tickformat": "d",
            "range": [0.4, len(abc) + 0.6],
        },
        yaxis={"title": {"text": "商品売上（円）"}, **YEN_AXIS},
        yaxis2={
            "title": {"text": "累積構成比"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.02],
            "tickformat": ".0%",
            "tickvals": [0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0],
            "showgrid": False,
        },
        bargap=0.15,
    )


def heatmap_figure(counts: pd.DataFrame) -> go.Figure:
    hours = [f"{h}時" for h in counts.columns]
    text = [[f"{v:,}" if v else "" for v in row] for row in counts.to_numpy().tolist()]
    figure = go.Figure(
        go.Heatmap(
            z=counts.to_numpy(),
            x=hours,
            y=list(counts.index),
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "件数"}, "tickformat": ",d"},
            hovertemplate="%{y}曜日 %{x}台: %{z:,d} 件<extra></extra>",
        )
    )
    return layout(
        figure,
        300,
        xaxis={"title": {"text": "注文時刻（日本時間）"}, "side": "bottom", "tickangle": 0},
        yaxis={"title": {"text": "曜日"}, "autorange": "reversed"},
    )


def day_label(day: date) -> str:
    return f"{day:%Y/%m/%d}({analytics.WEEKDAYS[day.weekday()]})"


def share(value: float) -> str:
    return f"{value * 100:.1f}%"


def change(now: int, before: int) -> str | None:
    return None if before <= 0 else f"{(now - before) / before * 100:+.1f}%"


# --- sections, top to bottom -------------------------------------------------------------------


def filters(base: analytics.Base, today: date) -> tuple[list[str], date, date]:
    """モール (multiselect) and 期間 (presets, or two dates), with the chosen dates spelled out."""
    mall_col, period_col = st.columns([5, 4])
    malls = mall_col.multiselect(
        "モール", base.malls, default=base.malls, key="analytics_malls", placeholder="モールを選んでください"
    )
    with period_col:
        preset = st.segmented_control(
            "期間",
            [*analytics.PERIOD_PRESETS, CUSTOM],
            default="直近30日",
            required=True,
            key="analytics_period",
        )
        start, end = analytics.preset_range("直近30日", today)
        if preset == CUSTOM:
            picked = st.date_input(
                "開始日〜終了日",
                value=(start, end),
                min_value=min(base.first_day or today, date(today.year - 5, 1, 1)),
                max_value=max(today, base.last_day or today),
                format="YYYY/MM/DD",
                key="analytics_range",
            )
            if picked:  # while the second date is being picked, the range is one day long
                start, end = picked[0], picked[-1]
        else:
            start, end = analytics.preset_range(preset, today)
        days = (end - start).days + 1
        st.caption(f"{day_label(start)}〜{day_label(end)}（{days}日間）。前期間 = その前の{days}日間")
    return malls, start, end


def kpi_row(now: analytics.Kpis, before: analytics.Kpis) -> None:
    """売上・件数・客単価・キャンセル率, each compared with the same number of days before."""
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
            abc[["順位", "ランク", "SKU", "商品名", "数量", "商品売上"]].assign(
                構成比=abc["構成比"] * 100, 累積構成比=abc["累積構成比"] * 100
            ),
            hide_index=True,
            width="stretch",
            height=320,
            column_config={
                "数量": st.column_config.NumberColumn(format="localized"),
                "商品売上": st.column_config.NumberColumn(format="yen"),
                "構成比": st.column_config.NumberColumn("構成比（%）", format="%.1f"),
                "累積構成比": st.column_config.NumberColumn("累積構成比（%）", format="%.1f"),
            },
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
        (7, 30, 90),
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
    out = int((cover["状態"] == "在庫切れ").sum())
    short = int((cover["状態"] == "要発注").sum())
    if out or short:
        st.warning(
            f"在庫切れ {out} SKU・在庫日数がリードタイム日数より短い {short} SKU があります（表の先頭）。",
            icon=":material/warning:",
        )
    else:
        st.success("在庫日数がリードタイムより短い SKU はありません。", icon=":material/check_circle:")
    # 状態 as coloured labels (cheap for any number of SKUs); whole rows tinted red as well while
    # the table is small enough for pandas' Styler (it costs about 1 s per 5,000 rows).
    shown = cover[["SKU", "商品名", basis, "販売数", "1日平均", "在庫日数", "リードタイム日数"]].assign(
        在庫日数=cover["在庫日数"].where(cover["在庫日数"] != float("inf"))
    )
    shown.insert(0, "状態", [[state] if state else [] for state in cover["状態"]])
    data: pd.DataFrame | Styler = shown
    if len(shown) <= STYLED_ROWS:
        attention = cover["要注意"]
        data = shown.style.apply(lambda row: [RED_ROW if attention.at[row.name] else ""] * len(row), axis=1)
    small = st.column_config.NumberColumn(width="small", format="localized")
    st.dataframe(
        data,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            "状態": st.column_config.MultiselectColumn(
                width="small", options=list(STATE_COLOURS), color=list(STATE_COLOURS.values())
            ),
            basis: small,
            "販売数": st.column_config.NumberColumn(
                width="small", format="localized", help=f"直近{window}日（今日を含む）に売れた数"
            ),
            "1日平均": st.column_config.NumberColumn(width="small", format="%.2f", help="販売数 ÷ 日数"),
            "在庫日数": st.column_config.NumberColumn(
                width="small", format="%.1f", help="空欄 = 直近に販売なし"
            ),
            "リードタイム日数": st.column_config.NumberColumn(
                "リードタイム", format="%d 日", help="商品シートのリードタイム日数"
            ),
        },
    )
    st.caption(
        f"在庫日数 = {basis} ÷ 直近{window}日（今日を含む）の1日平均販売数（空欄 = 販売なし）。"
        "全モールの合計で、上のモール・期間の絞り込みには関係しません"
        "（Amazon FBA など自社倉庫から出荷しない注文は除きます）。"
    )


def monthly_summary(selection: analytics.Selection) -> None:
    st.subheader("月次サマリー")
    summary = analytics.monthly_summary(selection.orders, selection.start, selection.end)
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        height=ROW_PX * (min(len(summary), 13) + 1) + 3,  # a whole year without scrolling
        column_config={
            "売上": st.column_config.NumberColumn(format="yen"),
            "件数": st.column_config.NumberColumn(format="localized"),
            "客単価": st.column_config.NumberColumn(format="yen"),
            "送料": st.column_config.NumberColumn(format="yen", help="売上に含まれる送料"),
            "キャンセル件数": st.column_config.NumberColumn(format="localized"),
            "キャンセル率（%）": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    st.caption("期間の途中で始まる・終わる月は、期間内の受注だけを数えています。")
    stem = f"月次サマリー_{selection.start:%Y%m%d}-{selection.end:%Y%m%d}"
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "CSVをダウンロード",
        analytics.summary_csv(summary),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
    buttons.download_button(
        "Excelファイルをダウンロード",
        analytics.summary_xlsx(summary),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",
    )


# --- the page ------------------------------------------------------------------------------------

st.title("分析")
st.caption(
    "売上 = キャンセル以外の受注の合計金額（税込・送料込み）。件数もキャンセルを除きます。"
    "時刻はすべて日本時間です。"
)
base = context.derived("analytics.base", analytics.build_base)
today = datetime.now(JST).date()
selection: analytics.Selection | None = None

if base.orders.empty:
    st.info(
        "まだ受注がありません。「同期」ページでモールから受注を取り込むと、ここに売上の分析が表示されます。",
        icon=":material/info:",
    )
else:
    malls, start, end = filters(base, today)
    chosen = analytics.select(base, malls, start, end)
    now = analytics.kpis(chosen.orders)
    kpi_row(now, analytics.kpis(analytics.select(base, malls, *analytics.previous_period(start, end)).orders))
    if not malls:
        st.info("モールを1つ以上選んでください。", icon=":material/filter_alt:")
    elif now.orders == 0:
        st.info(
            f"{day_label(start)}〜{day_label(end)} に、選んだモールの受注はありません"
            + (f"（キャンセル {now.cancelled:,} 件のみ）" if now.cancelled else "")
            + "。期間を「直近90日」や「今年」に広げるか、モールの選び方を変えてみてください。",
            icon=":material/search_off:",
        )
    else:
        selection = chosen
        sales_trend(selection, malls, analytics.mall_colours(base.malls))
        best_sellers(selection, base.names)
        abc_section(selection, base.names)
        order_times(selection)

if not base.stock.empty:
    stock_cover(base, today)
if selection is not None:
    monthly_summary(selection)
