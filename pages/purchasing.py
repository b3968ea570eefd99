"""発注・入荷: what to order (発注提案), the 発注 themselves, goods received, returns and
defective goods, and stocktakes. The logic is in ``purchasing``; the sections are drawn by
``ui.purchasing_*``."""

from datetime import datetime

import streamlit as st

from purchasing import purchase_orders as po
from purchasing.reading import from_tables
from sheets_schema.cells import JST
from ui import auth, context
from ui.order_actions import show_flash
from ui.purchasing_documents import order_documents
from ui.purchasing_orders import orders_tab
from ui.purchasing_receive import receive_tab
from ui.purchasing_returns import returns_tab
from ui.purchasing_stocktake import stocktake_tab
from ui.purchasing_suggest import suggestions_tab

snapshot = context.snapshot()
tables = from_tables(snapshot.tables)
today = datetime.now(JST).date()

st.title("発注・入荷")
st.caption("売れ行きと在庫から発注数を提案し、仕入先への発注、入荷、返品・不良品、棚卸までをここで行います。")
show_flash()

problems = po.problems(tables.orders, tables.lines, tables.suppliers, tables.products)
if problems:
    with st.expander(
        f"発注シートに直すところが {len(problems)} 件あります", expanded=True, icon=":material/warning:"
    ):
        for problem in problems[:20]:
            st.text(problem)

suggest_tab, list_tab, receiving_tab, return_tab, count_tab = st.tabs(
    ["発注提案", "発注一覧", "入荷", "返品・不良", "棚卸"]
)
with suggest_tab:
    suggestions_tab(tables, today)
with list_tab:
    chosen = orders_tab(tables)
    if chosen is not None:
        order_documents(chosen, snapshot.tables)
with receiving_tab:
    if auth.require(context.role(), "編集", "入荷の登録"):
        receive_tab(tables)
with return_tab:
    returns_tab()
with count_tab:
    stocktake_tab()
