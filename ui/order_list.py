"""The 受注ボード's order list: the table with its columns, rows selected by clicking."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from shop.orders.frame import ARCHIVED, OrderKey
from shop.table_choices import TableChoice

# 15 rows: the list fills a 768 px laptop screen once the filters are scrolled past.
DEFAULT = TableChoice(rows=15)


def order_table(view: pd.DataFrame, keys: list[OrderKey], choice: TableChoice, *, key: str) -> list[OrderKey]:
    """Draw the list with the person's columns and height; the orders whose rows are selected."""
    event = st.dataframe(
        view,
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        height=choice.height(len(view)),
        row_height=choice.row_height(),
        column_order=choice.columns(list(view.columns)),
        column_config={
            "モール": st.column_config.TextColumn("モール", width=62),
            "注文番号": st.column_config.TextColumn("注文番号", width=176),
            "注文日時": st.column_config.DatetimeColumn("注文日時", format="YYYY-MM-DD HH:mm", width=114),
            "ステータス": st.column_config.TextColumn("ステータス", width=80),
            "購入者名": st.column_config.TextColumn("購入者名", width=86),
            "SKU": st.column_config.TextColumn(
                "SKU", width=150, help="注文のすべての SKU。切れるときは「表示」で折り返せます"
            ),
            "合計金額": st.column_config.NumberColumn("合計金額", format="¥%,d", width=78),
            "送料": st.column_config.NumberColumn("送料", format="¥%,d", width=54),
            "要確認": st.column_config.TextColumn(
                "要確認", width=118, help="要確認タブに載っている理由の種類です。詳しくは注文の詳細で"
            ),
            ARCHIVED: st.column_config.TextColumn(
                ARCHIVED, width=44, help="履歴データベースへ移した注文です（表示のみ）"
            ),
        },
    )
    return [keys[i] for i in event.selection.rows if i < len(keys)]
