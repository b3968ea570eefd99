"""同期's 在庫照合 section: when the malls were last read back, the open differences with their
likely cause, and for 管理 「在庫照合を今すぐ実行」 and the one-click fixes (shop/drift_fix.py)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from purchasing.reading import read_purchasing
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.tabs import (
    MALL_LISTINGS,
    SALE_TALLIES,
    SALES,
    SET_COMPONENTS,
    STOCK,
    STOCK_DRIFTS,
    STOCK_PUSHES,
)
from shop import drift_fix, drift_view
from sync import reconcile, state
from sync.errors import LeaseHeld, SyncError
from ui import context
from ui.purchasing_actions import Flash, settle, write

FLASH = Flash("drift_flash")


def drift_panel(is_admin: bool, enabled: bool) -> None:
    snapshot = context.snapshot()
    st.subheader("在庫照合（モールに表示されている在庫数）")
    FLASH.show()
    now = datetime.now(JST)
    done = reconcile.last_done(state.values(snapshot.tables["_システム"]))
    st.caption(drift_view.last_text(done, now, context.settings().sync.reconcile_minutes))
    if (
        is_admin
        and enabled
        and st.button("在庫照合を今すぐ実行", icon=":material/fact_check:", key="drift_reconcile")
    ):
        _run()
    rows = drift_view.drifts(snapshot.tables[STOCK_DRIFTS.title].models())
    if not rows:
        if done is not None:
            st.success("モールに表示されている在庫数は、すべて Ichigen の数と一致しています。")
        return
    problems, failed = drift_view.counts(rows)
    st.caption(f"差異 {problems} 件・読み取り失敗 {failed} 件（未連携・FBA は参考です）。")
    st.dataframe(
        drift_view.frame(rows), hide_index=True, width="stretch", height=min(36 + 35 * len(rows), 400)
    )
    choices = [r for r in rows if drift_view.fixable(r)]
    if not choices:
        return
    if not is_admin:
        st.caption(
            "差異を直す操作（こちらの数を送る・モールの数を受け入れる）は「管理」の権限の人が行えます。"
        )
        return
    with st.container(border=True):
        picked = st.selectbox(
            "直す出品",
            range(len(choices)),
            format_func=lambda i: drift_view.label(choices[i]),
            key="drift_pick",
        )
        action = st.radio("対応", [drift_fix.SEND, drift_fix.ACCEPT], key="drift_action", horizontal=True)
        reason = ""
        if action == drift_fix.ACCEPT:
            reason = st.text_input(
                "理由（必須。在庫移動の備考に残ります）", key="drift_reason", max_chars=drift_fix.MAX_REASON
            )
        if st.button("実行", type="primary", key="drift_fix"):
            _fix(drift_fix.Seen.of(choices[picked]), action, reason)


def _run() -> None:
    try:
        with st.spinner("各モールの在庫数を読んでいます…"):
            report = reconcile.reconcile(context.sync_engine())
        FLASH.add("success" if not report.drifts() else "warning", report.summary())
    except LeaseHeld:
        FLASH.add("warning", "ちょうど別の同期が実行中です。少し待ってからもう一度押してください。")
    except SyncError as exc:
        FLASH.add("error", f"在庫照合ができませんでした: {exc}")
    context.after_write()
    st.rerun()


def _fix(seen: drift_fix.Seen, action: str, reason: str) -> None:
    """Read fresh, build the one job (it expects what the table showed), write, then sync."""
    workbook = context.workbook()
    titles = (STOCK_DRIFTS, STOCK, STOCK_PUSHES, SET_COMPONENTS, MALL_LISTINGS, SALES, SALE_TALLIES)
    tables = read_tables(workbook, titles)
    who = getattr(st.user, "email", None) or "管理画面"
    now = datetime.now(JST)
    if action == drift_fix.SEND:
        fix = drift_fix.send_ours(
            tables[STOCK_DRIFTS.title],
            tables[STOCK.title],
            tables[STOCK_PUSHES.title],
            seen,
            who=who,
            now=now,
        )
    else:
        ledger = read_purchasing(workbook).ledger  # from its mark: where movements append
        sale = context.sync_engine().sale_policy(tables, now) is not None
        fix = drift_fix.accept_mall(
            tables[STOCK_DRIFTS.title],
            tables[STOCK.title],
            tables[STOCK_PUSHES.title],
            ledger,
            tables[SET_COMPONENTS.title],
            seen,
            reason,
            who=who,
            now=now,
            sale_active=sale,
        )
    if fix.refused:
        for problem in fix.refused:
            FLASH.add("error", problem)
        st.rerun()
    if write(fix.job, FLASH, "この対応"):
        FLASH.add("success", f"{seen.mall}の「{seen.sku}」: {fix.done}。続けて同期します。")
        settle(FLASH)
    st.rerun()
