"""The 分析 page's charts as plotly figures, and the labels around them: how the numbers of
``shop.analytics`` are drawn (yen axes, fixed mall colours, Japanese labels). No Streamlit, so
the page only places them."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from shop import analytics
from shop.overview import yen

YEN_AXIS = {"tickprefix": "¥", "tickformat": ",d", "separatethousands": True}
# No plotly mode bar: its button tooltips are English only.
CHART_CONFIG = {"displayModeBar": False, "displaylogo": False}
STATE_COLOURS = {"在庫切れ": "#D93025", "要発注": "#E8710A"}
RED_ROW = "background-color: #FDE2E1"
STYLED_ROWS = 500
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


def label(text: object) -> str:
    """Data (mall names, SKUs, 商品名) as a Plotly label: Plotly renders a subset of HTML in
    names, tick labels and hover text (<a href>, <img>-less but links and styles live), so
    ``<``, ``>`` and ``&`` are escaped; Plotly shows the entities as the characters. A ``%{``
    in a name would be read as a hovertemplate field, so ``%`` goes through an entity too."""
    return html.escape(str(text), quote=False).replace("%", "&#37;")


def short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sales_figure(wide: pd.DataFrame, grain: analytics.Grain, colours: dict[str, str]) -> go.Figure:
    labels = [analytics.period_label(grain, p) for p in wide.index]
    figure = go.Figure(
        [
            go.Bar(
                name=label(mall),
                x=wide.index,
                y=wide[mall],
                marker_color=colours[mall],
                customdata=labels,
                hovertemplate=f"%{{customdata}}<br>{label(mall)}: ¥%{{y:,d}}<extra></extra>",
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
        label(f"{short(n)}（{s}）" if dup else short(n))
        for n, s, dup in zip(top["商品名"], top["SKU"], duplicated, strict=True)
    ]
    skus = [label(s) for s in top["SKU"]]
    values = top[by]
    text = [yen(int(v)) for v in values] if by == "商品売上" else [f"{int(v):,} 点" for v in values]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=skus,
            orientation="h",
            marker_color="#1F4E9E",
            text=text,
            textposition="auto",
            customdata=list(zip(map(label, top["商品名"]), top["数量"], top["商品売上"], strict=True)),
            hovertemplate="%{y}<br>%{customdata[0]}<br>数量: %{customdata[1]:,d} 点<br>"
            "商品売上: ¥%{customdata[2]:,d}<extra></extra>",
        )
    )
    axis = YEN_AXIS if by == "商品売上" else {"tickformat": ",d", "ticksuffix": " 点"}
    return layout(
        figure,
        max(240, 34 * len(top) + 70),
        xaxis={"title": {"text": "商品売上（円）" if by == "商品売上" else "数量（点）"}, **axis},
        yaxis={"title": {"text": None}, "tickvals": skus, "ticktext": ticks, "type": "category"},
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
            customdata=[
                [label(s), label(n), r]
                for s, n, r in zip(part["SKU"], part["商品名"], part["ランク"], strict=True)
            ],
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
        customdata=[label(s) for s in abc["SKU"]],
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


def cover_table(cover: pd.DataFrame, basis: str) -> pd.DataFrame | Styler:
    """The stock cover table as shown: 状態 as coloured labels (cheap for any number of SKUs),
    blank 在庫日数 for "no recent sales", and whole rows tinted red while the table is small
    enough for pandas' Styler (it costs about 1 s per 5,000 rows)."""
    shown = cover[["SKU", "商品名", basis, "販売数", "1日平均", "在庫日数", "リードタイム日数"]].assign(
        在庫日数=cover["在庫日数"].where(cover["在庫日数"] != float("inf"))
    )
    shown.insert(0, "状態", [[state] if state else [] for state in cover["状態"]])
    if len(shown) > STYLED_ROWS:
        return shown
    attention = cover["要注意"]
    return shown.style.apply(lambda row: [RED_ROW if attention.at[row.name] else ""] * len(row), axis=1)
