"""分析's 顧客 section: new and repeat buyers across malls, repeat rate, cohorts, RFM and repeat
SKUs. Only counts and sums are shown, to every role: no name, no buyer key, no list of people
(``shop.customers``). The buyer keys are built once per workbook read and archive change."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDER_LINES, ORDERS, SYSTEM_STATE
from shop import customer_archive, customers
from shop.customer_identity import SALT_KEY, new_salt, salt_fingerprint, stored_salt
from sync import state
from ui import archive as archive_ui
from ui import context
from ui.analytics_columns import yen_columns


def salt() -> str:
    """The installation's salt; made and kept in _システム the first time it is needed."""
    configured = context.settings().customers.salt.get_secret_value()
    system = context.snapshot().tables[SYSTEM_STATE.title]
    found = stored_salt(configured, state.values(system))
    if found:
        return found
    made = new_salt()
    job = WriteJob()
    state.put(job, system, SALT_KEY, made, datetime.now(JST))
    context.write(job)
    return made


@st.cache_resource(max_entries=4, show_spinner="購入者ごとの集計を作っています…")
def _customers(
    workbook_id: str, read_at: str, stamp: tuple[int, ...] | None, fingerprint: str, _salt: str
) -> customers.Customers:
    tables = context.snapshot().tables
    orders = tables[ORDERS.title].models()
    lines = tables[ORDER_LINES.title].models()
    found = archive_ui.archive() if stamp is not None else None
    if found is not None:
        closed = [(o.mall, o.order_number) for o in orders if o.status in ("出荷済", "キャンセル")]
        both = found.has(ORDERS, closed) if closed else set()
        orders = [o for o in orders if (o.mall, o.order_number) not in both]  # counted from the archive
    keyed = customers.workbook_orders(orders, _salt)
    pairs = customers.workbook_pairs(keyed, lines)
    if found is None:
        return customers.combine(keyed, pairs)
    buyers, archived, repeats = _archived_buyers(
        context.settings().archive_url(), stamp, fingerprint, _salt, found
    )
    known = customer_archive.pair_orders(buyers, list(zip(pairs["購入者"], pairs["SKU"], strict=True)))
    return customers.combine(keyed, pairs, archived, repeats, known)


@st.cache_resource(max_entries=2, show_spinner=False)
def _archived_buyers(
    url: str, stamp: tuple[int, ...], fingerprint: str, _salt: str, _archive: Archive
) -> tuple[customer_archive.BuyerArchive, customer_archive.KeyedOrders, list[tuple[str, int, int, int]]]:
    """The archive's buyer tables (keyed for this salt), keyed orders and repeat SKUs: they
    change only when an archive pass adds orders (the stamp), so a new workbook read reuses
    them (a million rows at a big shop). Read-only for callers: ``customers.combine`` copies
    what it joins."""
    buyers = customer_archive.open_buyers(_archive)
    customer_archive.ensure(buyers, _salt)  # keys archived orders not yet keyed with this salt
    return buyers, customer_archive.keyed_orders(buyers), customer_archive.repeat_skus(buyers)


def current() -> customers.Customers:
    key = salt()
    snap = context.snapshot()
    return _customers(
        context.workbook_id(), snap.read_at.isoformat(), archive_ui.stamp(), salt_fingerprint(key), key
    )


OPEN_KEY = "analytics_customers_open"


def section(start: date, end: date, malls: list[str], today: date, names: pd.Series) -> None:
    st.subheader("顧客（モール横断）")
    # Worked out only while open: keying every order of the shop's history (seconds on years of
    # orders) would otherwise hold up every first look at 分析 (a lazy expander).
    box = st.expander(
        "新規・リピート・コホート・RFM・リピートされる商品",
        icon=":material/group:",
        expanded=False,
        key=OPEN_KEY,
        on_change="rerun",
    )
    if not box.open:
        st.caption("開くと、モールをまたいだ購入者ごとの集計を表示します（注文が多いと数秒かかります）。")
        return
    with box:
        _body(start, end, malls, today, names)


def _body(start: date, end: date, malls: list[str], today: date, names: pd.Series) -> None:
    found = current()
    summary = customers.repeat_summary(found, start, end)
    unknown, unknown_sales = customers.unknown_total(found, start, end)
    buyers_col, rate_col, days_col, unknown_col = st.columns(4)
    buyers_col.metric("期間に初めて買った人", f"{summary.buyers:,} 人", border=True)
    rate_col.metric(
        "リピート率",
        f"{summary.repeat_rate:.1f}%",
        help=f"そのうち2回以上買った人 {summary.repeat_buyers:,} 人（今日までのすべての注文で数えます）",
        border=True,
    )
    days = summary.median_days_to_second
    days_col.metric(
        "2回目までの日数",
        "—" if days is None else f"{days:.0f} 日",
        help=f"中央値。90日以内に2回目を買った人 {summary.second_within_90:,} 人",
        border=True,
    )
    unknown_col.metric(
        "購入者不明の注文",
        f"{unknown:,} 件",
        help=f"売上 ¥{unknown_sales:,}。Amazon の制限データなど、誰か分からない注文は推測せずここに数えます",
        border=True,
    )
    st.markdown("**新規・リピート（月・モール別）**")
    monthly = customers.new_and_repeat(found, start, end, malls)
    st.dataframe(
        monthly, hide_index=True, width="stretch", column_config=yen_columns(monthly, ("購入者不明の売上",))
    )
    counts, rates = customers.cohorts(found, end.replace(day=1))
    started = counts["初月"].fillna(0) > 0  # months before anyone's first order: no row
    counts, rates = counts[started], rates[started]
    st.markdown("**コホート（初めて買った月ごとの、その後も買った人の割合 %）**")
    st.dataframe(
        rates,
        width="stretch",
        placeholder="",  # months not reached yet stay blank
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in rates.columns},
    )
    if st.toggle("コホートの人数も表示する", key="analytics_cohort_counts"):  # no expander inside one
        st.dataframe(counts, width="stretch", placeholder="")
    st.markdown(f"**RFM（{today:%Y/%m/%d} 時点）**")
    segments = customers.rfm(found, today)
    st.dataframe(
        segments,
        hide_index=True,
        width="stretch",
        column_config=yen_columns(segments, ("売上", "1人あたり売上")),
    )
    st.markdown("**リピートされる SKU（上位10）**")
    top = customers.top_repeat_skus(found, names)
    if top.empty:
        st.info("2回以上買われた SKU はまだありません。", icon=":material/info:")
    else:
        st.dataframe(top, hide_index=True, width="stretch", column_config=yen_columns(top, ("売上",)))
    st.caption(
        "購入者は、氏名＋電話番号、氏名＋郵便番号、本人のメールアドレスの順に、モールをまたいで同じ人とみなします。"
        "モールの中継メール（楽天・Amazon）はそのモールの中だけで使います。どれもない注文は「購入者不明」です。"
        "個人情報は保存せず、元に戻せない番号（ソルト付きハッシュ）だけを使い、画面には人数と金額だけを出します。"
        "キャンセルは数えません。新規・リピートはモールをまたいだ最初の注文で決めます。"
    )
