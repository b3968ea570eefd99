"""The 受注ボード's 要確認 tab: a card per unknown SKU (mapped in one click by 編集) and the
orders needing attention, grouped by kind."""

from __future__ import annotations

import streamlit as st

from shop.orders import page_text
from shop.orders.board import Board
from shop.orders.review import queue_frame
from shop.orders.unknown_skus import UnknownItem, suggest_skus
from ui import auth, order_actions
from ui.auth import Role

QUEUE_LIMIT = 500
UNKNOWN_LIMIT = 20


def unknown_skus(board: Board, role: Role) -> None:
    st.subheader("SKUが分からない商品")
    st.caption(
        "モールの商品コードが「モール商品」シートのどのSKUにも対応付けられていません。"
        "SKUを選んで対応付けると、その商品を含む注文すべてに在庫が引き当てられます。"
    )
    editable = auth.require(role, "編集", "SKUの対応付け")
    product_skus = sorted(board.products)
    for item in board.unknown_items[:UNKNOWN_LIMIT]:
        with st.container(border=True):
            _unknown_card(board, item, product_skus, editable=editable)
    if len(board.unknown_items) > UNKNOWN_LIMIT:
        st.caption(
            f"ほかに {len(board.unknown_items) - UNKNOWN_LIMIT} 件あります。上から順に対応付けてください。"
        )


def _unknown_card(board: Board, item: UnknownItem, product_skus: list[str], *, editable: bool) -> None:
    ident = page_text.key(item.mall, item.mall_item_code, item.mall_sku)
    about_col, pick_col, button_col = st.columns([4, 3, 2], vertical_alignment="center")
    about_col.markdown(page_text.unknown_item_markdown(item))
    if not editable:
        return
    suggested = suggest_skus(item.name, board.products)
    options = suggested + [s for s in product_skus if s not in suggested]
    sku = pick_col.selectbox(
        "対応付けるSKU",
        options,
        index=None,
        placeholder="SKUを選んでください",
        format_func=lambda s, hint=tuple(suggested): (
            f"{'★ ' if s in hint else ''}{s}　{board.products.get(s, '')}"
        ),
        help="★ は商品名が近い候補です",
        key=f"map_sku_{ident}",
    )
    if button_col.button(
        "このSKUに対応付ける",
        type="primary",
        disabled=sku is None,
        key=f"map_apply_{ident}",
        width="stretch",
    ):
        order_actions.map_sku(item, str(sku))
        st.rerun()


def review_queue(board: Board) -> None:
    if not board.queue:
        st.success("確認が必要な注文はありません。", icon=":material/task_alt:")
        return
    st.subheader("確認が必要な注文")
    st.caption(
        f"{board.queue_orders:,} 件の注文に {len(board.queue):,} 件の確認事項があります。"
        "注文番号で受注一覧を検索すると、詳細の確認とステータスの変更ができます。"
    )
    groups = page_text.queue_groups(board.queue)
    for kind, entries in groups.items():
        urgent = kind in page_text.URGENT_KINDS
        with st.expander(f"{kind}（{len(entries):,} 件）", expanded=urgent and len(groups) <= 4):
            st.markdown(page_text.actions_markdown(entries))
            shown = queue_frame(entries, QUEUE_LIMIT)
            if len(entries) > QUEUE_LIMIT:
                st.caption(f"新しい順に {QUEUE_LIMIT:,} 件を表示しています。")
            st.dataframe(
                shown,
                hide_index=True,
                height=min(400, 38 + 35 * len(shown)),
                column_order=("モール", "注文番号", "注文日時", "ステータス", "理由"),
                column_config={
                    "モール": st.column_config.TextColumn("モール", width=62),
                    "注文番号": st.column_config.TextColumn("注文番号", width=172),
                    "注文日時": st.column_config.TextColumn("注文日時", width=112),
                    "ステータス": st.column_config.TextColumn("ステータス", width=80),
                    "理由": st.column_config.TextColumn("理由", width="large"),
                },
            )
