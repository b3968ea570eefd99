"""ホーム's 「今日やること」 cards: a count per question and a button to the page that answers it."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from sheets_schema.cells import JST
from sheets_schema.tabs import STOCK_DRIFTS
from shop import drift_view
from shop import sync_health as health
from shop.orders.board import build_board
from shop.today import today_tasks
from ui import context, sync_status
from ui.oversold import oversold_skus


def today_cards() -> None:
    settings = context.settings()
    board = context.derived("orders_board", build_board)  # shared with 受注ボード
    channels, _ = health.configured_channels(settings)
    now = datetime.now(JST)
    healths = sync_status.channel_healths(channels, now)  # shared with the 同期 page
    to_ship = sum(1 for status in board.frame["ステータス"] if status == "発送待ち")
    tasks = today_tasks(
        needs_check=board.queue_orders,
        to_ship=to_ship,
        oversold_skus=oversold_skus(),
        healths=healths,
        now=now,
        drifts=drift_view.counts(context.snapshot().tables[STOCK_DRIFTS.title].models())[0],
    )
    st.subheader("今日やること")
    for column, task in zip(st.columns(len(tasks)), tasks, strict=True):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{task.title}**")
            colour = "red" if task.urgent else "gray"
            st.markdown(f":{colour}[{task.count_text}]" if task.urgent else task.count_text)
            st.caption(task.detail)
            st.page_link(task.page, label=task.button, icon=":material/arrow_forward:")
