"""The panel that follows a stock change on 商品・在庫: what each mall will be sent, a button to
send it now (with progress), then what was sent."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sheets_schema.errors import WorkbookError
from shop.products_page import PUSH_COLUMNS, push_outcome, push_preview
from sync.engine import Progress
from sync.errors import SyncError
from ui import context
from ui.product_editor import PUSH


def push_panel(editable: bool) -> None:
    pending = st.session_state.get(PUSH)
    if not pending:
        return
    with st.container(border=True):
        result = pending.get("result")
        head, send_col, later_col = st.columns([5, 2, 1.2], vertical_alignment="center")
        head.markdown("**在庫の送信結果**" if result else "**在庫の変更をモールへ送信**")
        if later_col.button("閉じる", key="stock_push_close", width="stretch"):
            st.session_state.pop(PUSH, None)
            st.rerun()
        if result:
            for kind, text in result:
                (st.success if kind == "ok" else st.warning)(text)
            return
        plan = pd.DataFrame(pending["plan"], columns=PUSH_COLUMNS)
        send = send_col.button(
            "在庫をモールへ送信",
            type="primary",
            icon=":material/cloud_upload:",
            key="stock_push_send",
            disabled=not editable or plan.empty,
            width="stretch",
        )
        if pending["note"]:
            st.warning(pending["note"], icon=":material/info:")
        if send:
            outcome = send_stock(sorted(set(plan["モール"])))
            if outcome is not None:
                st.session_state[PUSH] = {"result": outcome}
                st.rerun()
            return
        if plan.empty:
            st.info(
                "モールへ送る在庫数の変更はありません（在庫連携 ON のモール商品がないか、送信済みです）。",
                icon=":material/check_circle:",
            )
            return
        shown, caption = push_preview(plan, pending["keys"])
        st.caption(caption)
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(shown), 180),
            column_config={
                "SKU": st.column_config.TextColumn("SKU", width=140),
                "モール": st.column_config.TextColumn("モール", width=90),
                "前回送信数": st.column_config.TextColumn("前回送信数", width=90),
                "今回送信数": st.column_config.NumberColumn("今回送信数", format="%d", width=90),
                "理由": st.column_config.TextColumn("理由", width=160),
            },
        )


def send_stock(malls: list[str]) -> list[tuple[str, str]] | None:
    """Settle and push now, showing progress; the outcome as (kind, message) lines, None on failure."""
    total = max(len(malls), 1)
    with st.status("在庫をモールへ送信しています…", expanded=True) as status:
        bar = st.progress(0.0, text="ワークブックを確認しています…")
        sent: list[str] = []

        def progress(step: Progress) -> None:
            if step.stage == "送信":
                sent.append(step.channel)
                st.write(step.message)
            done = 1.0 if step.stage == "完了" else min(len(sent) / total, 0.95)
            bar.progress(done, text=step.message)

        try:
            report = context.sync_engine(progress).run_once(fetch=False)
        except (SyncError, WorkbookError) as exc:
            status.update(label="在庫を送信できませんでした", state="error")
            st.error(str(exc), icon=":material/error:")
            return None
        except Exception as exc:  # a page must never show a traceback to shop staff
            status.update(label="在庫を送信できませんでした", state="error")
            st.error(
                f"予期しないエラーが起きました（{exc.__class__.__name__}）。同期ログを確認してください。"
            )
            return None
        finally:
            context.after_write()
        status.update(label="送信が終わりました", state="complete")
    return push_outcome(report.pushes)
