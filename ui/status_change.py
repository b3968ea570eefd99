"""The 受注ボード's selection box: which orders are chosen and, for 編集, the bulk status change
(保留 asks for a reason). Archived orders are shown but never changed."""

from __future__ import annotations

import streamlit as st

from sheets_schema.models import ORDER_STATUSES
from shop.orders import page_text
from shop.orders.board import Board
from shop.orders.frame import ARCHIVED, OrderKey
from ui import auth, order_actions
from ui.auth import Role
from vocabulary.text import escape_markdown


def selection_box(board: Board, role: Role, selected: list[OrderKey], archived: set[OrderKey]) -> None:
    with st.container(border=True):
        numbers = page_text.selection_numbers(selected)
        st.markdown(f"**選択中の注文 {len(selected)} 件**: {escape_markdown(numbers)}")
        changeable = [k for k in selected if k not in archived]
        if len(changeable) < len(selected):
            st.caption(
                f"「{ARCHIVED}」の注文 {len(selected) - len(changeable)} 件は履歴データベースの記録のため、"
                "ステータスは変えられません。"
            )
        if changeable and auth.require(role, "編集", "ステータスの変更"):
            _status_form(board, changeable)
        # What this run drew: the statuses a click on the next run was made against.
        st.session_state[order_actions.SHOWN] = {
            k: board.orders[k].status for k in selected if k in board.orders
        }


def _status_form(board: Board, changeable: list[OrderKey]) -> None:
    new_col, reason_col, button_col = st.columns([2, 3, 2], vertical_alignment="bottom")
    new_status = new_col.selectbox(
        "新しいステータス",
        ORDER_STATUSES,
        index=None,
        placeholder="選んでください",
        key="bulk_status",
    )
    reason = ""
    if new_status == "保留":
        reason = reason_col.text_input(
            "保留の理由（必須）", placeholder="例: 住所の番地を購入者に確認中", key="bulk_reason"
        )
    if button_col.button(
        "ステータスを変更する",
        type="primary",
        icon=":material/published_with_changes:",
        disabled=new_status is None,
        key="bulk_apply",
        width="stretch",
    ):
        if new_status == "保留" and not reason.strip():
            st.warning("保留にする理由を入力してください（備考に記録されます）。")
        else:
            shown = order_actions.shown_statuses(board, changeable)
            order_actions.change_status(board, changeable, str(new_status), reason, shown)
            st.session_state.pop(order_actions.SHOWN, None)
            st.rerun()
