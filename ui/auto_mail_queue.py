"""出荷 ④'s 「自動送信」: which templates send by themselves, what the runner will send next
(due, waiting for 送信時間帯, skipped and why) and what it sent, failed or left 要確認 lately.
Order numbers and states only: no customer's name or address."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from shipping import auto_mail
from ui import context

RECENT_DAYS = 7


def auto_mail_queue() -> None:
    snapshot = context.snapshot()
    tables = snapshot.tables
    templates = [t for t in tables["メールテンプレート"].models() if t.enabled and t.auto]
    now = datetime.now(JST)
    if not templates:
        st.caption(
            "自動送信は使っていません。メールテンプレートシートで「自動送信」を ON にすると、"
            "同期が時間帯の間に自動で送ります。"
        )
        return
    found = context.derived("auto_mail_plan", lambda t: auto_mail.plan(t, now, context.settings()))
    recent = [
        r
        for r in tables["メール送信履歴"].models()
        if r.template in {t.name for t in templates}
        and r.at is not None
        and now - r.at <= timedelta(days=RECENT_DAYS)
    ]
    names = "・".join(f"{t.name}（{t.window or '終日'}）" for t in templates)
    label = f"自動送信: {names}　送信予定 {sum(q.state == auto_mail.DUE for q in found.queue)} 件"
    with st.expander(label, icon=":material/schedule_send:"):
        st.caption(
            "同期（python -m sync watch、デモではアプリ）が、ONにした後にその時点になった注文へ、"
            f"送信時間帯の間に {context.settings().sync.auto_mail_minutes} 分ごとに送ります。"
            "Amazon の購入者には送りません（Amazon の規約で、出品者からのメールは決まった種類に限られ、"
            "注文・発送の連絡は Amazon が送るため）。"
        )
        if found.queue:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "テンプレート": q.template,
                            "モール": q.mall,
                            "注文番号": q.order_number,
                            "状態": q.state,
                            "理由": q.reason,
                        }
                        for q in found.queue
                    ]
                ),
                hide_index=True,
                width="stretch",
                height=min(38 + 35 * len(found.queue), 300),
            )
        else:
            st.caption("いま送る予定のメールはありません。")
        if recent:
            st.markdown(f"**最近{RECENT_DAYS}日の送信結果**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "日時": f"{r.at:%m/%d %H:%M}",
                            "テンプレート": r.template,
                            "モール": r.mall,
                            "注文番号": r.order_number,
                            "状態": r.state,
                            "エラー": r.error,
                        }
                        for r in sorted(recent, key=lambda r: r.at, reverse=True)
                    ]
                ),
                hide_index=True,
                width="stretch",
                height=min(38 + 35 * len(recent), 300),
            )
