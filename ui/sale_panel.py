"""The 同期 page's セール section: the rules in force, the cadence, and what each mall is being
sent and why (shop/sale_status.py works it out)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from shop.sale_status import MAX_ROWS, sale_status
from ui import context


def sale_panel(now: datetime) -> None:
    settings = context.settings()
    status = context.derived(
        f"sale_status_{now:%Y%m%d%H%M}", lambda tables: sale_status(tables, now, settings.sync)
    )
    for error in status.errors:
        st.warning(f"{error}（この行は直すまで使いません）", icon=":material/error:")
    if not status.rules:
        if status.upcoming:
            st.caption("予定のセール（「セール」シート）")
            st.dataframe(pd.DataFrame(status.upcoming), hide_index=True, width="stretch")
        return
    with st.container(border=True):
        st.markdown(
            f"**セール中**: {len(status.rules)} 件のルール。同期は {status.interval_seconds} 秒ごと"
            "（「同期間隔秒」か設定の sync.sale_interval_seconds）。"
        )
        st.dataframe(pd.DataFrame(status.rules), hide_index=True, width="stretch")
        if status.sending:
            st.caption(
                "各モールへ送る数: 配分は販売可能数をモールごとに分けた数（売れたモールに多く）、"
                "しきい値未満は一番売れているモールだけ、売れ行きに余裕のある商品はほかのモールにも出します。"
            )
            frame = pd.DataFrame(status.sending)
            frame["前回送信数"] = frame["前回送信数"].astype("Int64")
            st.dataframe(frame, hide_index=True, width="stretch", height=min(36 + 35 * len(frame), 400))
        if status.more:
            st.caption(f"ほかに {status.more} 件（最初の {MAX_ROWS} 件を表示）")
