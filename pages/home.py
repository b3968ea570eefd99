"""ホーム: the shop at a glance, and the workbook's input errors as a fix-it list."""

import pandas as pd
import streamlit as st

from sheets_schema.book import header_problems, row_errors
from sheets_schema.tabs import TABS
from shop.cell_budget import cell_budget
from shop.overview import overview, status_rows
from sync.sets import set_problems
from ui import context, valuation
from ui.oversold import oversold_notice
from ui.stock_value_card import show_stock_value
from ui.today import today_cards

snapshot = context.snapshot()
summary = context.derived("overview", overview)

st.title("ホーム")
if snapshot.demo_since:
    st.caption("デモショップのデータです。自由に操作して試せます。")

today_cards()

sku, units, value = st.columns(3)
sku.metric("SKU数", f"{summary.sku_count:,}")
units.metric("在庫数（実在庫の合計）", f"{summary.stock_units:,} 点")
value_slot, value_note = value.empty(), st.empty()
# 在庫金額 folds every SKU's whole stock history, the archive's too: when this server has not
# yet done it for the current read (its first start, or a new read at a big shop) that takes
# a second or more, so the rest of ホーム is drawn first and this figure last.
later = not valuation.current_is_ready()
if later:
    value_slot.metric("在庫金額（原価）", "計算中…")
else:
    show_stock_value(value_slot, value_note)

oversold_notice()

budget = cell_budget(context.cells_used(), snapshot.tables, snapshot.read_at)
usage = "。".join(t for t in (budget.usage_text(), budget.pace_text()) if t)
if budget.warn:
    st.warning(
        f"{usage}。上限に達すると書き込めなくなります。古い受注を別のファイルに移すか、"
        "`python -m sheets_schema check --fix` で空白の行と列を削ってください。",
        icon=":material/warning:",
    )
else:
    st.caption(usage)

st.subheader("受注ステータス")
for row in status_rows(summary.orders_by_status):
    for column, (status, text) in zip(st.columns(len(row)), row, strict=True):
        column.metric(status, text)

st.subheader("在庫が少ない商品")
if summary.low_stock:
    st.caption("引当後の在庫が発注点以下（発注点がなければ販売可能数が0）のSKUです。")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "SKU": item.sku,
                    "商品名": item.name,
                    "実在庫": item.on_hand,
                    "引当数": item.allocated,
                    "販売可能数": item.available,
                    "発注点": item.reorder_point,
                    "発注ロット": item.reorder_lot,
                }
                for item in summary.low_stock
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.success("在庫が少ない商品はありません。")

st.subheader("入力エラー（要修正）")
# The tabs people type into are checked on every view; the tabs Ichigen writes (ledger, logs)
# on request, as they are large and rarely touched by hand.
typed = {t: snapshot.tables[t] for t in (s.title for s in TABS if s.typed_by_people)}
everything = st.toggle("Ichigenが書くシート（受注明細・在庫移動など）も検査する", value=False)
checked = snapshot.tables if everything else typed
# セット構成 against 商品 (a component or set not in 商品, a set inside itself): found across tabs.
problems = header_problems(checked) + set_problems(snapshot.tables)
errors = row_errors(checked)
for problem in problems:
    st.error(problem, icon=":material/error:")
if errors:
    st.warning(
        f"{len(errors)} 件の入力エラーがあります。エラーのある行は同期で読み込まれず、上書きもされません。"
        "シートの該当セルを直すと次の読み込みで消えます。",
        icon=":material/warning:",
    )
    st.dataframe(
        pd.DataFrame(
            [
                {"シート": e.tab, "行": e.row, "列": e.column, "入力値": e.value, "内容": e.message}
                for e in errors
            ]
        ),
        hide_index=True,
        width="stretch",
    )
elif not problems:
    st.success("入力エラーはありません。")

with st.expander("シートの説明"):
    for spec in TABS:
        if not spec.hidden:
            st.markdown(f"**{spec.title}**: {spec.help}")

if later:
    show_stock_value(value_slot, value_note)
