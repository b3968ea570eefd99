"""Column configs of the 分析 page's tables (ABC list, 在庫日数, 月次サマリー)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

from shop.analytics_charts import STATE_COLOURS


def abc_columns() -> dict[str, Any]:
    return {
        "数量": st.column_config.NumberColumn(format="localized"),
        "商品売上": st.column_config.NumberColumn(format="yen"),
        "構成比": st.column_config.NumberColumn("構成比（%）", format="%.1f"),
        "累積構成比": st.column_config.NumberColumn("累積構成比（%）", format="%.1f"),
    }


def cover_columns(basis: str, window: int) -> dict[str, Any]:
    small = st.column_config.NumberColumn(width="small", format="localized")
    return {
        "状態": st.column_config.MultiselectColumn(
            width="small", options=list(STATE_COLOURS), color=list(STATE_COLOURS.values())
        ),
        basis: small,
        "販売数": st.column_config.NumberColumn(
            width="small", format="localized", help=f"直近{window}日（今日を含む）に売れた数"
        ),
        "1日平均": st.column_config.NumberColumn(width="small", format="%.2f", help="販売数 ÷ 日数"),
        "在庫日数": st.column_config.NumberColumn(width="small", format="%.1f", help="空欄 = 直近に販売なし"),
        "リードタイム日数": st.column_config.NumberColumn(
            "リードタイム", format="%d 日", help="商品シートのリードタイム日数"
        ),
    }


def summary_columns() -> dict[str, Any]:
    return {
        "売上": st.column_config.NumberColumn(format="yen"),
        "件数": st.column_config.NumberColumn(format="localized"),
        "客単価": st.column_config.NumberColumn(format="yen"),
        "送料": st.column_config.NumberColumn(format="yen", help="売上に含まれる送料"),
        "キャンセル件数": st.column_config.NumberColumn(format="localized"),
        "キャンセル率（%）": st.column_config.NumberColumn(format="%.1f"),
    }


def yen_columns(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, Any]:
    """Column config that shows the named columns (those present) as yen: ¥3,032,700."""
    return {name: st.column_config.NumberColumn(format="yen") for name in names if name in frame.columns}
