"""ファイルで一括更新 on 商品・在庫: the download buttons, and the plan for an uploaded file with
its 「反映」 (written only if every cell it overwrites still reads as previewed)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from sheets_schema.importing import ImportPlan
from sheets_schema.parsing import Table
from sheets_schema.tabs import PRODUCTS, STOCK
from shop import bulk_upload
from shop.products_page import error_list
from ui.product_editor import PREVIEW_HEIGHT, UPLOAD_PINNED, UPLOAD_VERSION, flash, settle, write
from vocabulary.text import escape_markdown


def downloads(tables: dict[str, Table[Any]]) -> None:
    down = st.columns(3)
    for column, spec in zip(down[:2], (PRODUCTS, STOCK), strict=True):
        column.download_button(
            f"{spec.title}を CSV でダウンロード",
            data=lambda t=tables[spec.title]: bulk_upload.table_csv(t),
            file_name=f"{spec.title}.csv",
            mime="text/csv",
            icon=":material/download:",
            width="stretch",
            on_click="ignore",
        )
    down[2].download_button(
        "商品・在庫を Excel でダウンロード",
        data=lambda: bulk_upload.tables_xlsx([tables[PRODUCTS.title], tables[STOCK.title]]),
        file_name="商品・在庫.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )


def show_plan(plan: ImportPlan, tables: dict[str, Table[Any]]) -> None:
    for notice in plan.notices:
        st.caption(f"お知らせ: {escape_markdown(notice)}")
    if plan.errors:
        st.error(
            f"{len(plan.errors)} 件のエラーがあるため取り込みません（何も書き込んでいません）。"
            f"ファイルを直してからもう一度アップロードしてください。\n\n{error_list(plan.errors, escape_markdown)}",
            icon=":material/error:",
        )
        return
    if not plan.changes and not plan.additions:
        st.info("ファイルの内容はシートと同じです。変更はありません。", icon=":material/info:")
        return
    summary = f"変更 {len(plan.changes)} セル・追加 {plan.addition_count} 行"
    st.markdown(f"**取り込む内容**（{summary}）")
    preview = bulk_upload.upload_preview(plan)
    st.dataframe(
        preview, hide_index=True, width="stretch", height=min(38 + 35 * len(preview), PREVIEW_HEIGHT)
    )
    if st.button("ファイルの内容を反映", type="primary", key="upload_apply", icon=":material/save:"):
        st.session_state.pop(UPLOAD_PINNED, None)  # written or refused: the next view plans afresh
        if not write(
            plan.job(tables),
            "ファイルの取り込み内容を表示した",
            "もう一度画面を操作すると最新の状態で取り込み内容を計算し直します。確かめてから反映してください。",
        ):
            return
        st.session_state[UPLOAD_VERSION] = st.session_state.get(UPLOAD_VERSION, 0) + 1
        flash(f"ファイルから{summary}を反映しました。")
        stock = bulk_upload.upload_touches_stock(plan)
        if stock or plan.additions:
            with st.spinner("在庫を台帳に記録しています…"):
                settle(bulk_upload.upload_changed_keys(plan, STOCK.title) if stock else [])
        st.rerun()
