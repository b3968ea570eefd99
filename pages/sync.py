"""同期: how each mall's sync is doing, 今すぐ同期, the push preview, auto-sync while open, the log.

Top to bottom: a red banner per mall whose orders have not come in for too long; the actions
(今すぐ同期 for 管理, auto-sync while this page is open); one bordered card per mall (last
import and push, their counts, how far imports got (取り込んだ範囲), waiting after failures, key expiry, latest error); the
stock the next sync would send (dry run); the latest 同期ログ rows.
"""

import time
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from sheets_schema.errors import WorkbookError
from shop import sync_health as health
from shop import sync_tables
from shop.sync_page import answered_message, never_synced_hint, push_plan_frame, unexpected_message
from shop.table_choices import TableChoice
from sync import state
from sync.connectors import ChannelConfigError
from sync.errors import LeaseHeld, SyncError
from ui import auth, autosync, context, sync_actions, sync_status
from ui.drift_table import drift_panel
from ui.sale_panel import sale_panel
from ui.sync_card import card
from ui.table_choices import table_choice
from vocabulary.text import escape_markdown

_AUTO_LAST = "sync_page_auto_last"

settings = context.settings()
role = context.role()
is_admin = auth.can(role, "管理")
interval = settings.sync.interval_seconds
channels, problems = health.configured_channels(settings)


@st.fragment(run_every="2s")
def request_status() -> None:
    """Until the runner answers the request: what staff wait for; then the page shows it."""
    pending = st.session_state.get(sync_actions.REQUEST)
    if pending is None:
        return
    answered = state.answered_at(sync_actions.system_now(), pending["request"])
    if answered is None:
        asked = state.requested_at(pending["request"])
        late = asked is not None and datetime.now(JST) - asked > timedelta(seconds=interval * 2 + 30)
        if late:
            st.warning(
                f"同期を依頼しましたが、実行中の自動同期（{pending['host']}）がまだ処理していません。"
                "自動同期が止まっていないか確認してください。",
                icon=":material/hourglass_top:",
            )
        else:
            st.info(
                f"同期を依頼しました。実行中の自動同期（{pending['host']}）が数秒以内に処理します",
                icon=":material/hourglass_top:",
            )
        return
    st.session_state[sync_actions.ANSWERED] = {**pending, "at": answered}
    del st.session_state[sync_actions.REQUEST]
    context.after_write()
    st.rerun(scope="app")  # the cards and the log show that cycle


@st.fragment(run_every=f"{interval}s")
def auto_sync() -> None:
    """While this page is open (and the toggle is on): one cycle per tick, then a fresh page."""
    last = st.session_state.get(_AUTO_LAST)
    if last is None or time.monotonic() - last["tick"] >= interval - 1:
        try:
            report = context.sync_engine().run_once()
            message = f"最終の自動同期: {datetime.now(JST):%H:%M:%S}（新規の注文 {report.created} 件）"
        except LeaseHeld:
            message = f"{datetime.now(JST):%H:%M:%S} はほかの同期が実行中だったため、自動同期を見送りました"
        except (SyncError, WorkbookError, ChannelConfigError) as exc:
            message = f"{datetime.now(JST):%H:%M:%S} の自動同期でエラー: {exc}"
        except Exception as exc:  # the timer keeps going; staff see a sentence, not a trace
            message = f"{datetime.now(JST):%H:%M:%S} の自動同期でエラー: {unexpected_message(exc)}"
        st.session_state[_AUTO_LAST] = {"tick": time.monotonic(), "message": message}
        context.after_write()
        st.rerun(scope="app")  # the cards and the log show this cycle
    st.caption(last["message"])


# -- the page

st.title("同期")
st.caption("モールからの受注の取り込みと、モールへの在庫数の送信の状況です。時刻はすべて日本時間です。")
banners = st.container()  # filled below, once the state after a sync is known

for problem in problems:
    st.error(escape_markdown(problem), icon=":material/error:")
if not channels and not problems:
    st.info(
        "連携するモールが設定されていません。.streamlit/secrets.toml に [malls.<名前>] を追加してください"
        "（書き方は .streamlit/secrets.example.toml にあります）。",
        icon=":material/info:",
    )

background = autosync.wants_auto_sync(settings)
auto_on = False
if channels:
    if is_admin:
        now_column, auto_column = st.columns([1, 3], vertical_alignment="center")
        clicked = now_column.button(
            "今すぐ同期", type="primary", icon=":material/sync:", key="sync_now", disabled=bool(problems)
        )
        with auto_column:
            if background:
                st.caption(
                    f"デモショップでは、アプリが{interval}秒ごとに自動で同期しています"
                    "（このページの自動同期は使いません）。"
                )
            else:
                auto_on = st.toggle(
                    f"このページを開いている間、{interval}秒ごとに自動で同期する",
                    key="sync_auto",
                    disabled=bool(problems),
                    help="ほかのページに移ると止まります。常に同期するには python -m sync watch を使います。",
                )
        if clicked:
            sync_actions.run_now(channels)
        request_status()
        answer = st.container()  # filled below, once the log after the answered request is read
    else:
        auth.require(role, "管理", "今すぐ同期")
if auto_on:
    auto_sync()
elif _AUTO_LAST in st.session_state:
    del st.session_state[_AUTO_LAST]  # turning it on again syncs at once

snapshot = context.snapshot()
runs = sync_status.recent_runs()
now = datetime.now(JST)
healths = sync_status.channel_healths(channels, now)

if is_admin and channels and sync_actions.ANSWERED in st.session_state:
    with answer:
        message, failed = answered_message(st.session_state[sync_actions.ANSWERED], runs)
        if failed:
            st.warning(message, icon=":material/warning:")
        else:
            st.success(message, icon=":material/check_circle:")

with banners:
    for item in healths:
        if item.stale is not None:
            st.error(item.stale.message, icon=":material/sync_problem:")
    for item in healths:
        if item.credential is not None and item.credential.level == "error":
            st.error(item.credential.message, icon=":material/key_off:")

if channels and not runs:
    st.info(never_synced_hint(is_admin, background), icon=":material/info:")

for start in range(0, len(healths), 2):
    for column, item in zip(st.columns(2), healths[start : start + 2], strict=False):
        with column:
            card(item, now)

sale_panel(datetime.now(JST))
drift_panel(is_admin, bool(channels) and not problems)

if channels and not problems:
    # Worked out only while open (the plan reads the 在庫, 出品 and 送信 tabs): a lazy expander.
    preview = st.expander(
        "次の同期で送る在庫数（試算・まだ送信しません）",
        icon=":material/preview:",
        key="sync_push_preview",
        on_change="rerun",
    )
    if preview.open:
        with preview:
            plan = context.derived("sync_page_push_plan", lambda _tables: context.sync_engine().plan_push())
            rows = sync_tables.plan_rows(plan)
            if rows:
                st.caption(
                    f"{len(rows)} 件。販売可能数が前回送った数と違う商品、前回の送信に失敗した商品、"
                    "まだ送ったことのない商品です。"
                )
                st.dataframe(
                    push_plan_frame(rows),
                    hide_index=True,
                    width="stretch",
                    height=min(36 + 35 * len(rows), 300),
                )
            else:
                st.success("送る必要のある在庫数はありません。すべてのモールに最新の数を送信済みです。")

title_col, choice_col = st.columns([6, 1], vertical_alignment="bottom")
title_col.subheader("同期ログ（最新50件）")
if runs:
    log = pd.DataFrame(sync_tables.log_rows(runs, channels))
    with choice_col:
        choice = table_choice("同期ログ", list(log.columns), TableChoice(rows=15))
    st.dataframe(
        log,
        hide_index=True,
        width="stretch",
        height=choice.height(len(log)),
        row_height=choice.row_height(),
        column_order=choice.columns(list(log.columns)),
        column_config={
            "エラー内容": st.column_config.TextColumn(width="large"),
            **{
                name: st.column_config.NumberColumn(name, help=text)
                for name, text in sync_tables.COUNT_HELP.items()
            },
        },
    )
    st.caption("列の見出しにマウスを乗せると、各列の意味が表示されます。")
else:
    st.caption("同期ログはまだありません。同期するたびに、モールごとに1行ずつ記録されます。")
