"""The 分析 page's filters: モール (multiselect) and 期間 (presets, or two dates)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from shop import analytics
from shop.analytics_view import period_caption

CUSTOM = "期間を指定"


def filters(
    all_malls: tuple[str, ...], first_day: date, last_day: date, today: date
) -> tuple[list[str], date, date]:
    """モール (multiselect) and 期間 (presets, or two dates), with the chosen dates spelled out."""
    mall_col, period_col = st.columns([5, 4])
    malls = mall_col.multiselect(
        "モール", all_malls, default=all_malls, key="analytics_malls", placeholder="モールを選んでください"
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
                min_value=min(first_day, date(today.year - 5, 1, 1)),
                max_value=max(today, last_day),
                format="YYYY/MM/DD",
                key="analytics_range",
            )
            if picked:  # while the second date is being picked, the range is one day long
                start, end = picked[0], picked[-1]
        else:
            start, end = analytics.preset_range(preset, today)
        st.caption(period_caption(start, end))
    return malls, start, end
