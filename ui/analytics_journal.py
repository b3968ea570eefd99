"""分析's 会計ソフト用の仕訳 section (管理 only): a month's journal as freee or マネーフォワード
import files, with the mark that says the month was exported (``shop.journal``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import get_args

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDER_LINES, ORDERS, SYSTEM_STATE
from shop import journal
from sync import state
from ui import archive as archive_ui
from ui import context
from ui.analytics_columns import yen_columns


def _months(first: date, last: date) -> list[date]:
    months, current = [], last.replace(day=1)
    while current >= first.replace(day=1) and len(months) < 36:
        months.append(current)
        current = (current - pd.Timedelta(days=1).to_pytimedelta()).replace(day=1)
    return months


def figures(month: date) -> pd.DataFrame:
    """The month's figures from the workbook and the archive (an order in both counts once)."""
    accounts = context.settings().accounting
    tables = context.snapshot().tables
    orders, lines = tables[ORDERS.title].models(), tables[ORDER_LINES.title].models()
    found = archive_ui.archive() if archive_ui.stamp() is not None else None
    if found is None:
        return journal.workbook_figures(orders, lines, month, accounts.reduced_rate_skus)
    first, last = journal.month_range(month)
    closed = [
        (o.mall, o.order_number)
        for o in orders
        if o.status in ("出荷済", "キャンセル") and first <= o.ordered_at.astimezone(JST).date() <= last
    ]
    both = found.has(ORDERS, closed) if closed else set()
    return journal.combine_figures(
        journal.workbook_figures(orders, lines, month, accounts.reduced_rate_skus, both),
        journal.archived_figures(found, month, accounts.reduced_rate_skus),
    )


def _mark(month: date, software: journal.Software, net: int) -> None:
    system = context.snapshot().tables[SYSTEM_STATE.title]
    now = datetime.now(JST)
    who = getattr(st.user, "email", None) or ""
    job = WriteJob()
    state.put(
        job,
        system,
        journal.mark_key(month),
        journal.mark_value(software, f"{now:%Y-%m-%d %H:%M}", who, net),
        now,
    )
    context.write(job)


def section(first_day: date, last_day: date) -> None:
    st.subheader("会計ソフト用の仕訳")
    if context.role() != "管理":
        st.info("仕訳ファイルは「管理」の権限で出力できます。", icon=":material/lock:")
        return
    head, pick = st.columns([1, 1], vertical_alignment="bottom")
    month = head.selectbox(
        "月",
        _months(first_day, last_day),
        format_func=lambda m: f"{m.year}年{m.month}月",
        key="journal_month",
    )
    software = pick.segmented_control(
        "会計ソフト",
        get_args(journal.Software),
        default="freee",
        required=True,
        format_func=journal.SOFTWARE_NAMES.get,
        key="journal_software",
    )
    # Once per read of the workbook (and state of the archive), not on every rerun of 分析.
    found = context.derived(f"journal_figures:{month:%Y-%m}:{archive_ui.stamp()}", lambda _t: figures(month))
    accounts = context.settings().accounting
    lines = journal.entries(found, month, accounts)
    live = found[~found["キャンセル"]]
    net = int(live["合計金額"].sum())
    shown = found.assign(キャンセル=found["キャンセル"].map({True: "キャンセル", False: ""}))
    money = [c for c in shown.columns if c not in ("モール", "支払方法", "キャンセル", "件数")]
    st.dataframe(shown, hide_index=True, width="stretch", column_config=yen_columns(shown, money))
    st.caption(
        f"売上 ¥{net:,}（うち送料 ¥{int(live['送料'].sum()):,}）= 月次サマリーのこの月の売上と同じ数え方です。"
        "モールの手数料は、受注データに含まれていないため仕訳に入れていません。返品は売上から引いていません（月次サマリーと同じ）。"
    )
    done = state.values(context.snapshot().tables[SYSTEM_STATE.title]).get(journal.mark_key(month))
    if done:
        st.warning(
            f"この月は {journal.describe_mark(done)}。二重に取り込まないよう注意してください。",
            icon=":material/warning:",
        )
    st.download_button(
        f"{journal.SOFTWARE_NAMES[software]} 用の CSV をダウンロード",
        journal.journal_csv(software, lines, month, accounts),
        file_name=f"仕訳_{software}_{month:%Y%m}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click=_mark,
        args=(month, software, net),
        disabled=not lines,
    )
