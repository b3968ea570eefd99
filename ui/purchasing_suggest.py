"""発注提案 on the 発注・入荷 page: the suggestion table staff adjust, and turning the rows they
keep into 下書き 発注 (one per supplier)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from purchasing import purchase_orders as po
from purchasing import screen
from purchasing.reading import PurchasingTables, read_purchasing
from purchasing.suggestions import suggest
from purchasing.velocity import units_sold_with_archive, with_set_components
from sheets_schema.cells import JST
from sheets_schema.errors import WorkbookError
from sheets_schema.tabs import SET_COMPONENTS
from shop import analytics
from sync.sets import read_sets
from ui import archive, auth, context
from ui.order_actions import flash

WINDOWS = {"過去30日": 30, "過去60日": 60, "過去90日": 90}


def suggestions_tab(tables: PurchasingTables, today: date) -> None:
    left, right, _ = st.columns([1, 1, 2])
    window = WINDOWS[left.selectbox("売れ行きの集計期間", list(WINDOWS), key="po_window")]
    cover = int(right.number_input("発注間隔（日）", min_value=0, max_value=180, value=14, key="po_cover"))
    st.caption(
        "提案数 =（1日平均 ×（リードタイム＋発注間隔）＋安全在庫）−（手元＋発注残）を発注ロット単位に切り上げたもの。"
        "行ごとの「理由」に計算の内訳があります。"
    )
    # The workbook's lines from 分析's base (built once per read) and the archive's in one GROUP
    # BY: the path bench/purchasing_bench.py measures.
    base = context.derived("analytics.base", analytics.build_base)
    after_days = context.settings().workbook.archive_after_days
    snapshot_tables = context.snapshot().tables
    sets = read_sets(snapshot_tables[SET_COMPONENTS.title], (p.sku for p in tables.products.models()))
    found = suggest(
        [p for p in tables.products.models() if not sets.is_set(p.sku)],  # sets are packed, not bought
        {s.sku: s for s in tables.stock.models()},
        with_set_components(
            units_sold_with_archive(base, archive.archive(), today, window, after_days), sets.compositions
        ),
        po.on_order(tables.orders, tables.lines),
        {s.name: s for s in tables.suppliers.models()},
        today=today,
        window_days=window,
        cover_days=cover,
    )
    frame = pd.DataFrame(screen.suggestion_rows(found))
    needed = int((frame["提案数"] > 0).sum()) if not frame.empty else 0
    st.subheader(f"発注が必要な商品 {needed} 件（全 {len(frame)} 件）")
    if frame.empty:
        st.info("商品シートに商品がありません。", icon=":material/info:")
        return
    edited = st.data_editor(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(frame), 560),
        key="po_suggestions",
        disabled=[c for c in frame.columns if c not in (screen.ORDER, "提案数")],
        column_config={
            screen.ORDER: st.column_config.CheckboxColumn(screen.ORDER, width="small"),
            "提案数": st.column_config.NumberColumn("提案数", min_value=0, step=1, format="%d"),
            "理由": st.column_config.TextColumn("理由", width="large"),
        },
    )
    chosen = edited[edited[screen.ORDER] & (edited["提案数"] > 0)]
    if not auth.require(context.role(), "編集", "発注書の作成"):
        return
    if st.button(
        f"選んだ {len(chosen)} 商品で下書きの発注を作る",
        type="primary",
        disabled=chosen.empty,
        key="po_draft",
    ):
        _draft(chosen, {s.sku: s.lead_days for s in found})


def _draft(chosen: pd.DataFrame, lead_days: dict[str, int]) -> None:
    try:
        fresh = read_purchasing(context.workbook())
        drafts = po.draft(
            fresh.orders,
            fresh.lines,
            {p.sku: p for p in fresh.products.models()},
            lead_days,
            [po.DraftLine(str(r["SKU"]), int(r["提案数"])) for _, r in chosen.iterrows()],
            now=datetime.now(JST),
        )
        if drafts.refused:
            for problem in drafts.refused:
                flash("error", problem)
        else:
            context.write(drafts.job)
            made = "、".join(f"{n}（{s}）" for s, n in drafts.numbers.items())
            flash(
                "success",
                f"下書きの発注を作りました: {made}。「発注一覧」で確かめてから「発注済」にしてください。",
            )
    except WorkbookError as exc:
        flash("error", f"発注を作れませんでした（{exc}）。もう一度お試しください。")
    st.rerun()
