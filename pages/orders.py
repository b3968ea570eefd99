"""受注ボード: counts per status, the order list with filters, a bulk status change, one order's
detail, and the 要確認 queue where an unknown SKU is mapped in one click.

The board (a DataFrame of every order plus indexes) is built once per workbook read through
``context.derived``; a rerun only filters it. Writes (``ui.order_actions``) go through
``context.write`` and are then settled into the stock ledger with ``run_once(fetch=False)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from sheets_schema.cells import JST
from sheets_schema.models import ORDER_STATUSES
from shop.orders import page_text
from shop.orders.archived import ARCHIVE_SEARCH_LIMIT
from shop.orders.board import Board, build_board
from shop.orders.filters import PERIODS, filter_orders, period_range, status_counts
from shop.orders.frame import ARCHIVED, OrderKey, archived_keys, keys_of, list_view, with_archived
from ui import (
    archive,
    auth,
    context,
    order_actions,
    order_detail,
    order_list,
    order_queue,
    order_rules,
    status_change,
)
from ui.table_choices import table_choice

LIST_LIMIT = 1_000  # rows sent to the browser; filters find the rest

snapshot = context.snapshot()
board: Board = context.derived("orders_board", build_board)
role = context.role()
can_edit = auth.can(role, "編集")
masked = not can_edit  # 閲覧: names are masked everywhere on this page

# -- header and the board of counts

st.title("受注ボード")
if masked:
    st.caption("閲覧権限のため、お客様の氏名は一部を伏せて表示しています。")
order_actions.show_flash()

if board.frame.empty and not board.input_errors:
    st.info(
        "まだ注文がありません。「同期」ページで「今すぐ同期」を押すと、各モールの注文を取り込みます。",
        icon=":material/inbox:",
    )
    st.page_link("pages/sync.py", label="同期ページを開く", icon=":material/sync:")
    st.stop()

counts = status_counts(board.frame)
for column, (status, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
    column.metric(status, f"{count:,}", border=True, help=f"ステータスが「{status}」の注文の件数")

review_label = f"要確認（{board.queue_orders:,} 件）"
# The ルール tab runs only while it is open (its dry run goes over every order): tabs rerun
# on change, and each knows whether it is the one shown.
list_tab, queue_tab, rules_tab = st.tabs(
    ["受注一覧", f"**{review_label}**" if board.queue_orders else review_label, "ルール"],
    key="orders_tabs",
    on_change="rerun",
)

# -- the order list

with list_tab:
    statuses = st.pills(
        "ステータスで絞り込み（複数選べます）",
        ORDER_STATUSES,
        selection_mode="multi",
        format_func=lambda s: f"{s} {counts[s]:,}",
        key="orders_status",
    )
    mall_col, period_col, search_col = st.columns([3, 2, 4])
    malls = mall_col.multiselect("モール", board.malls, placeholder="すべてのモール", key="orders_malls")
    period = period_col.selectbox("注文日", PERIODS, key="orders_period")
    today = datetime.now(JST).date()
    custom: Any = ()
    if period == "期間を指定":
        custom = period_col.date_input(
            "期間", value=(today.replace(day=1), today), format="YYYY/MM/DD", key="orders_dates"
        )
    start, end = period_range(period, today, custom if isinstance(custom, (tuple, list)) else (custom,))
    text = search_col.text_input(
        "検索", placeholder="注文番号・購入者名・SKU で検索", key="orders_search", icon=":material/search:"
    )

    filters = {
        "statuses": statuses,
        "malls": malls,
        "start": start,
        "end": end,
        "text": text,
        "masked": masked,
    }
    filtered = filter_orders(board.frame, **filters)
    # A search also looks in the archive (closed orders moved out of the workbook): the same
    # filters and masking, read-only, marked 履歴.
    found = archive.search_orders(text, board.products)
    from_archive = filter_orders(found.frame, **filters) if found is not None else filtered.iloc[:0]
    listed = with_archived(filtered, from_archive)
    view = list_view(listed, masked=masked, limit=LIST_LIMIT)
    keys = keys_of(view)
    archived = archived_keys(listed.head(LIST_LIMIT))
    count_col, choice_col = st.columns([6, 1], vertical_alignment="bottom")
    with choice_col:
        choice = table_choice("受注一覧", list(view.columns), order_list.DEFAULT)
    if len(listed) > LIST_LIMIT:
        count_col.caption(
            f"条件に合う注文 {len(listed):,} 件のうち、新しい順に {LIST_LIMIT:,} 件を表示しています。"
            "期間や検索で絞り込んでください。"
        )
    else:
        count_col.caption(
            f"{len(filtered):,} 件（全 {len(board.frame):,} 件）。行の左端をクリックすると選べます。"
        )
    if len(from_archive):
        more = "（新しい順に最大 " + f"{ARCHIVE_SEARCH_LIMIT:,} 件）" if found is not None else ""
        st.caption(
            f"ほかに履歴データベースの注文 {len(from_archive):,} 件{more}が見つかりました（「{ARCHIVED}」の印。"
            "表示のみで、ステータスは変えられません）。"
        )
    elif archive.archive() is not None and not text.strip():
        st.caption("出荷・キャンセルから日がたった注文は履歴データベースにあり、検索すると見つかります。")

    selected: list[OrderKey] = []
    if view.empty:
        st.info("条件に合う注文がありません。絞り込みを外すか、検索する言葉を変えてください。")
    else:
        # The key follows the read and the filters: a selection never points at other rows.
        signature = page_text.key(snapshot.read_at.isoformat(), statuses, malls, start, end, text, masked)
        selected = order_list.order_table(view, keys, choice, key=f"orders_table_{signature}")

    if not selected and not view.empty:
        st.caption("注文を選ぶと、ここに詳細と（編集権限があれば）ステータスの一括変更が表示されます。")

    if selected:
        status_change.selection_box(board, role, selected, archived)
        order_detail.order_detail(board, selected, archived, found, can_edit=can_edit, masked=masked)

# -- the 要確認 queue

with queue_tab:
    if board.unknown_items:
        order_queue.unknown_skus(board, role)
    order_queue.review_queue(board)

# -- 受注ルール: the dry run and applying them now

with rules_tab:
    if rules_tab.open:
        order_rules.rules_tab(role)
