"""分析's stock sections: 粗利 (per mall, per SKU), 返品率 per SKU, and the 月次サマリー with the
month-end stock valuation and its downloads. Numbers come from ``shop.analytics_margin`` over
``ui.valuation``'s cached cost histories and return counts; this module lays them out."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from purchasing.return_rates import return_rates
from shop import analytics
from shop import analytics_margin as margin
from shop import analytics_view as view
from shop.overview import yen
from ui import analytics_columns as columns
from ui import valuation

ROW_PX = 35  # st.dataframe's row height
_YEN = {"format": "yen"}


def _columns(*yen_columns: str, percent: str = "", count: tuple[str, ...] = ()) -> dict[str, Any]:
    config: dict[str, Any] = {c: st.column_config.NumberColumn(**_YEN) for c in yen_columns}
    config.update({c: st.column_config.NumberColumn(format="localized") for c in count})
    if percent:
        config[percent] = st.column_config.NumberColumn(format="%.1f")
    return config


def gross_margin(selection: analytics.Selection, names: pd.Series, malls: list[str]) -> None:
    st.subheader("粗利")
    costed = margin.costed_lines(selection.lines, valuation.histories())
    if costed.empty:
        st.info("この期間に SKU の分かる明細がありません。", icon=":material/info:")
        return
    by_mall = margin.margin_by_mall(costed, malls)
    total, known = (
        int(by_mall["粗利"].sum()),
        int((by_mall["商品売上"] - by_mall["原価不明の商品売上"]).sum()),
    )
    left, right = st.columns(2)
    left.metric("粗利（期間）", yen(total), border=True)
    right.metric("粗利率", f"{round(100 * total / known, 1) if known else 0:.1f}%", border=True)
    st.dataframe(
        by_mall,
        hide_index=True,
        width="stretch",
        column_config=_columns("商品売上", "売上原価", "粗利", "原価不明の商品売上", percent="粗利率（%）"),
    )
    with st.expander("SKU ごとの粗利"):
        st.dataframe(
            margin.margin_by_sku(costed, names),
            hide_index=True,
            width="stretch",
            height=360,
            column_config=_columns("商品売上", "売上原価", "粗利", percent="粗利率（%）", count=("数量",)),
        )
    unknown = int(by_mall["原価不明の商品売上"].sum())
    st.caption(
        "粗利 = 商品売上 − 売上原価。売上原価 = 数量 × 注文日の移動平均原価（単価のある入荷の前は商品シートの原価）。"
        + (
            f"原価が分からない商品の売上 {yen(unknown)} は粗利に含めていません（空欄の行）。"
            if unknown
            else "送料は含みません。"
        )
    )


def returns(selection: analytics.Selection, names: pd.Series, malls: list[str]) -> None:
    st.subheader("返品率")
    rates = return_rates(valuation.flows(selection.start, selection.end), malls)
    if not any(r.returned for r in rates):
        st.info("この期間に注文に対する返品はありません。", icon=":material/info:")
        return
    st.dataframe(
        margin.return_table(rates, names),
        hide_index=True,
        width="stretch",
        height=320,
        column_config=_columns(percent="返品率（%）", count=("出荷数", "返品数", "うち不良")),
    )
    st.caption(
        "返品率 = 期間内に注文から戻った数（返品入庫・不良入庫）÷ 期間内の出荷数。"
        "前の期間に出荷した商品の返品も、戻った日の期間で数えます（空欄 = 期間内の出荷なし）。"
    )


def monthly_summary(selection: analytics.Selection, names: pd.Series) -> None:
    st.subheader("月次サマリー")
    months = valuation.month_ends(selection.start, selection.end)
    summary = margin.with_valuation(
        analytics.monthly_summary(selection.orders, selection.start, selection.end), months
    )
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        height=ROW_PX * (min(len(summary), 13) + 1) + 3,  # a whole year without scrolling
        column_config={
            **columns.summary_columns(),
            **_columns("月末在庫金額", count=("月末在庫数", "原価不明SKU")),
        },
    )
    st.caption(
        "期間の途中で始まる・終わる月は、期間内の受注だけを数えています。"
        "月末在庫金額 = 月末の実在庫 × その時点の移動平均原価（今月は現時点）。全モール・全商品の合計で、"
        "原価が分からない SKU は含めません（空欄 = 履歴がなく月末の在庫が分からない月）。"
    )
    stem = view.summary_stem(selection.start, selection.end)
    detail = partial(margin.valuation_detail, months, names)
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
        lambda: analytics.summary_xlsx(summary, more={"月末在庫評価": detail()}),  # built when clicked
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",
    )
    buttons.download_button(
        "月末在庫の明細（CSV）",
        lambda: analytics.summary_csv(detail()),
        file_name=f"月末在庫評価_{selection.start:%Y%m%d}-{selection.end:%Y%m%d}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
