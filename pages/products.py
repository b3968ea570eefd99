"""商品・在庫: edit products and stock in a grid or from a file, check, then write in one batch.

Three tabs: 商品 and 在庫 are st.data_editor grids (system and key columns locked, yen and
quantities typed); 「変更を確認」 re-validates every edited row on the server and shows before →
after, 「変更を反映」 writes the whole batch as one job (nothing at all when a row has an error).
ファイルで一括更新 takes a CSV or XLSX through the same planner as ``python -m sheets_schema
import``. After a stock change the edit is settled into the ledger (手動調整) and the page shows
what each mall will be sent, with a button to send it now. 閲覧 users see read-only tables.
The grids' session state and writes are in ``ui.product_editor``, the push panel in
``ui.stock_push``, the pure parts in ``shop.products_page``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from purchasing.reading import from_tables
from sheets_schema.parsing import Table
from sheets_schema.tabs import PRODUCTS, STOCK, TabSpec
from shop import bulk_edit
from shop.products_page import error_list, fingerprint
from shop.table_choices import TableChoice
from ui import auth, context
from ui import product_editor as editor
from ui import product_upload as upload
from ui.oversold import oversold_notice
from ui.purchasing_orders import expected_arrivals
from ui.stock_push import push_panel
from ui.table_choices import table_choice
from vocabulary.text import escape_markdown

# 8 rows fit a 1366×768 laptop under the title and tabs with the buttons still in view;
# each person can choose more (and which columns) from 「表示」.
DEFAULT_GRID = TableChoice(rows=8)


# -- the grids


def _editor_tab(
    spec: TabSpec,
    slug: str,
    table: Table[Any],
    build: Callable[[Any], pd.DataFrame],
    *,
    editable: bool,
    adds_rows: bool,
    empty_hint: str,
) -> None:
    for problem in table.header_problems:
        st.error(problem, icon=":material/error:")
    if not table.writable:
        st.info("シートの見出しを直すと、ここで編集できるようになります。", icon=":material/info:")
        return
    if table.errors:
        with st.expander(f"⚠ 「{spec.title}」シートに入力エラーが {len(table.errors)} 件あります"):
            st.caption("エラーのある行は同期で読み込まれません。表で正しい値に直して反映すると解消します。")
            for error in table.errors[:50]:
                st.markdown(f"- {escape_markdown(error)}")
    key = editor.editor_key(slug)
    table, frame = editor.loaded(key, table, lambda: context.derived(f"bulk_edit:{slug}", build))
    if frame.empty:
        st.info(empty_hint, icon=":material/lightbulb:")
    locked = {*spec.key} if not adds_rows else set()
    config = editor.column_config(spec, frame, editable, locked)
    # The key column stays (rows are matched on it); the rest is the person's choice.
    choosable = [c for c in frame.columns if c not in spec.key]
    with st.columns([6, 1])[1]:
        choice = table_choice(spec.title, choosable, DEFAULT_GRID)
    shown = [*spec.key, *choice.columns(choosable)] if choosable else None
    sizing = {
        "height": choice.height(len(frame) + 1),
        "row_height": choice.row_height(),
        "column_order": shown,
    }
    if not editable:
        st.dataframe(frame, column_config=config, width="stretch", **sizing)
        return
    st.data_editor(
        frame,
        key=key,
        column_config=config,
        num_rows="add" if adds_rows else "fixed",
        width="stretch",
        **sizing,
    )
    diff, pending = editor.pending_diff(key)
    check_col, undo_col, note_col = st.columns([1.3, 1.3, 4], vertical_alignment="center")
    if check_col.button(
        "変更を確認", key=f"{slug}_check", icon=":material/fact_check:", disabled=not pending, width="stretch"
    ):
        st.session_state[editor.REVIEW] = {"slug": slug, "diff": fingerprint(diff)}
    if undo_col.button("変更を取り消す", key=f"{slug}_undo", disabled=not pending, width="stretch"):
        editor.reset_editor(slug)
        st.rerun()
    if not pending:
        note_col.caption("セルをダブルクリックして編集し、「変更を確認」を押してください。")
        return
    note_col.caption(f"{pending} 行に未反映の変更があります。「変更を確認」で内容を確かめてから反映します。")
    if st.session_state.get(editor.REVIEW) == {"slug": slug, "diff": fingerprint(diff)}:
        _review(table, frame, diff, slug)


@st.dialog("変更の確認", width="large", on_dismiss=editor.close_review)
def _review(table: Table[Any], frame: pd.DataFrame, diff: dict[str, Any], slug: str) -> None:
    """Before → after (or the errors) in a dialog, so it fits a 768 px screen over the grid."""
    plan = bulk_edit.plan_edits(table, frame, diff)
    st.markdown(f"**「{plan.tab}」シート**")
    for notice in plan.notices:
        st.caption(notice)
    if plan.errors:
        st.error(
            f"{len(plan.errors)} 件のエラーがあるため、何も書き込んでいません。"
            f"表を直してからもう一度「変更を確認」を押してください。\n\n{error_list(plan.errors)}",
            icon=":material/error:",
        )
        if st.button("閉じて表を直す", key=f"{slug}_fix"):
            editor.close_review()
            st.rerun()
        return
    if plan.empty:
        st.info("シートの内容と同じため、変更はありません。", icon=":material/info:")
        if st.button("閉じる", key=f"{slug}_nothing"):
            editor.reset_editor(slug)
            editor.close_review()
            st.rerun()
        return
    st.markdown(f"反映する内容: {plan.summary()}")
    st.dataframe(
        plan.preview(),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * (len(plan.changes) + len(plan.additions)), editor.PREVIEW_HEIGHT),
        column_config={
            "行": st.column_config.TextColumn("行", width=50),
            "キー": st.column_config.TextColumn("SKU", width=140),
            "列": st.column_config.TextColumn("列", width=110),
        },
    )
    if plan.stock_changed:
        st.caption("反映すると、差が「手動調整」として在庫移動に記録され、モールへの送信予定が表示されます。")
    apply_col, cancel_col = st.columns(2)
    if cancel_col.button("戻って編集を続ける", key=f"{slug}_back", width="stretch"):
        editor.close_review()
        st.rerun()
    if apply_col.button(
        "変更を反映", type="primary", key=f"{slug}_apply", icon=":material/save:", width="stretch"
    ):
        if not editor.write(plan.job(table)):
            return
        editor.reset_editor(slug)
        editor.close_review()
        editor.flash(f"「{plan.tab}」に{plan.summary()}を反映しました。")
        if plan.stock_changed or plan.additions:
            with st.spinner("在庫を台帳に記録しています…"):
                editor.settle(plan.changed_keys if plan.stock_changed else [])
        st.rerun()


# -- the upload


def _upload_tab(tables: dict[str, Table[Any]], editable: bool) -> None:
    st.caption(
        "「商品」か「在庫」の CSV（UTF-8 または Shift_JIS、1行目は列名）か Excel ファイルで、まとめて更新できます。"
        "SKU で行を照合し、ファイルにない行は削除しません。SKU が 0 で始まる場合は Excel 形式をおすすめします。"
    )
    upload.downloads(tables)
    if not editable:
        auth.require(context.role(), "編集", "ファイルでの更新")
        return
    version = st.session_state.get(editor.UPLOAD_VERSION, 0)
    choice_col, file_col = st.columns([1, 3])
    choice = choice_col.radio(
        "取り込むシート",
        ["自動で判定", PRODUCTS.title, STOCK.title],
        key="upload_tab_choice",
        help="CSV や1シートだけの Excel は列名からシートを判定します。判定できないときは選んでください。",
    )
    uploaded = file_col.file_uploader(
        "CSV または Excel ファイル", type=["csv", "xlsx"], key=f"upload_{version}"
    )
    if uploaded is None:
        file_col.caption("ダウンロードしたファイルを編集して、ここにドラッグ＆ドロップしてください。")
        return
    chosen = None if choice == "自動で判定" else choice
    plan, planned_on = editor.upload_plan(tables, uploaded.name, uploaded.getvalue(), chosen)
    upload.show_plan(plan, planned_on)


# -- the page

snapshot = context.snapshot()
tables = snapshot.tables
editable = auth.can(context.role(), "編集")

st.title("商品・在庫")
if editable:
    st.caption(
        "表のセルを書き換えて「変更を確認」→「変更を反映」で保存します。"
        "灰色の列（引当数・販売可能数など）は Ichigen が計算します。"
    )
else:
    auth.require(context.role(), "編集", "商品・在庫の編集")
for message in editor.take_flashes():
    st.success(message, icon=":material/check_circle:")
push_panel(editable)

products_tab, stock_tab, upload_tab = st.tabs(
    ["商品", "在庫", "ファイルで一括更新"], key="products_tab", on_change="rerun"
)
# Every tab is drawn on every run, so unsaved edits in a hidden grid are kept; the tabs keep
# their selection through reruns (key + on_change) even when a message appears above them.
with products_tab:
    _editor_tab(
        PRODUCTS,
        "products",
        tables[PRODUCTS.title],
        lambda t: bulk_edit.editor_frame(t[PRODUCTS.title]),
        editable=editable,
        adds_rows=True,
        empty_hint="商品がまだありません。表の一番下の行に入力して追加するか、「ファイルで一括更新」から取り込めます。",
    )
with stock_tab:
    _editor_tab(
        STOCK,
        "stock",
        tables[STOCK.title],
        lambda t: bulk_edit.editor_frame(t[STOCK.title], bulk_edit.stock_labels(t[PRODUCTS.title])),
        editable=editable,
        adds_rows=False,
        empty_hint="在庫の行はまだありません。「商品」に商品を追加すると、次の同期で在庫の行が作られます。",
    )
    oversold_notice()
    expected_arrivals(from_tables(tables))
with upload_tab:
    _upload_tab(tables, editable)
