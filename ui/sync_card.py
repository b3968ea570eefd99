"""One mall's bordered card on 同期: status, last import and push, 取得位置, waiting after
failures, key expiry, latest and earlier errors (mall text escaped for markdown)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from shop import sync_health as health
from shop import sync_tables
from shop.sync_page import card_facts, card_heading, earlier_errors
from vocabulary.text import escape_markdown


def card(item: health.ChannelHealth, now: datetime) -> None:
    channel = item.channel
    with st.container(border=True, key=f"sync_card_{channel.channel}"):
        st.markdown(card_heading(item))
        if item.never_synced:
            st.caption("まだ同期していません。")
        st.markdown(card_facts(item, now), help=sync_tables.CARD_HELP)
        if not channel.enabled:
            st.caption("このモールの同期は設定で止めています（設定ファイルの enabled = false）。")
        if item.backoff_text:
            st.warning(escape_markdown(item.backoff_text), icon=":material/hourglass_top:")
        if item.credential is not None:
            show = st.error if item.credential.level == "error" else st.warning
            show(escape_markdown(item.credential.message), icon=":material/key:")
        for error in item.current_errors:
            st.error(f"最新のエラー: {escape_markdown(error)}", icon=":material/error:")
        earlier = earlier_errors(item, now)
        if earlier:
            st.caption(earlier)
