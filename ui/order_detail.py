"""One order's detail on the 受注ボード: which of the selected orders, whether to load the
ledger and 同期ログ, whether to reveal personal data (編集 only), then the facts, amounts,
lines, review notes, 備考 and history. An archived order's rows come from the archive."""

from __future__ import annotations

import streamlit as st

from shop.orders import detail as order_details
from shop.orders import page_text
from shop.orders.board import Board, History, build_history
from shop.orders.frame import OrderKey
from ui import archive, context, order_rules
from vocabulary.text import escape_markdown

# Up to this many orders, an order's detail loads the ledger (在庫移動) and 同期ログ at once;
# above it, on request: parsing a large ledger takes seconds after each workbook read.
AUTO_HISTORY_ORDERS = 5_000


def order_detail(
    board: Board,
    selected: list[OrderKey],
    archived: set[OrderKey],
    found: Board | None,
    *,
    can_edit: bool,
    masked: bool,
) -> None:
    target = selected[0]
    if len(selected) > 1:
        target = st.selectbox(
            "詳細を表示する注文",
            selected,
            format_func=lambda k: f"{k[1]}（{k[0]}）",
            key=f"orders_detail_{page_text.key(selected)}",
        )
    reveal = False
    detail_head, ledger_col, toggle_col = st.columns([5, 2, 2], vertical_alignment="bottom")
    with_ledger = ledger_col.toggle(
        "在庫の記録も表示",
        value=len(board.frame) <= AUTO_HISTORY_ORDERS,
        key="orders_ledger",
        help="在庫移動と同期ログから、引当・出荷の記録を履歴に加えます（大きなワークブックでは数秒かかります）",
    )
    if can_edit:
        reveal = toggle_col.toggle("個人情報を表示", key="orders_reveal")
    history: History | None = None
    source = board
    if target in archived and found is not None:
        # One archived order: its rows, movements and sync runs come from the archive.
        source, history = found, archive.order_history(target)
    elif with_ledger:
        with st.spinner("在庫移動と同期ログを読み込んでいます…"):
            history = context.derived("orders_history", build_history)
    detail = order_details.order_detail(source, target, history=history, reveal=reveal, mask_names=masked)
    if detail is not None:
        detail_head.subheader(page_text.detail_heading(detail, source.archived))
        _draw(detail, archived=source.archived)
        order = source.orders.get(target)
        if order is not None and not source.archived and can_edit:
            order_rules.undo_button(target, order.rules_applied)


def _draw(detail: order_details.OrderDetail, *, archived: bool) -> None:
    if archived:
        st.info("履歴データベースへ移した注文です（表示のみ）。", icon=":material/inventory_2:")
    if detail.blocked:
        st.error(
            "この注文の受注明細に入力エラーがあります。シートを直すまで同期でも在庫でも扱われません。",
            icon=":material/error:",
        )
    info_col, amount_col = st.columns([3, 2])
    info_col.markdown(page_text.detail_facts(detail))
    amount_col.markdown(page_text.detail_amounts(detail))
    if detail.difference:
        amount_col.caption(page_text.difference_caption(detail.difference))
    st.dataframe(
        detail.lines,
        hide_index=True,
        column_config={
            "明細": st.column_config.NumberColumn("明細", width=50),
            "数量": st.column_config.NumberColumn("数量", width=50),
            "単価": st.column_config.NumberColumn("単価", format="¥%,d", width=80),
            "小計": st.column_config.NumberColumn("小計", format="¥%,d", width=90),
        },
    )
    for note in detail.review:
        st.warning(escape_markdown(note), icon=":material/report:")
    if detail.notes:
        st.info(page_text.notes_markdown(detail.notes), icon=":material/sticky_note_2:")
    with st.expander(f"履歴（{len(detail.history)} 件）", icon=":material/history:"):
        st.dataframe(
            detail.history,
            hide_index=True,
            column_config={"日時": st.column_config.TextColumn("日時", width=130)},
        )
