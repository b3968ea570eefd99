"""同期: how each mall's sync is doing, 今すぐ同期, the push preview, auto-sync while open, the log.

Top to bottom: a red banner per mall whose orders have not come in for too long; the actions
(今すぐ同期 for 管理, auto-sync while this page is open); one bordered card per mall (last
import and push, their counts, 取得位置, waiting after failures, key expiry, latest error); the
stock the next sync would send (dry run); the latest 同期ログ rows.
"""

import time
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import WorkbookError
from sheets_schema.tabs import STOCK_PUSHES, SYSTEM_STATE
from shop import sync_health as health
from sync import state
from sync.connectors import ChannelConfigError
from sync.engine import Progress
from sync.errors import LeaseHeld, SyncError
from ui import auth, autosync, context
from vocabulary.text import escape_markdown

_AUTO_LAST = "sync_page_auto_last"
_REQUEST = "sync_page_request"  # a 今すぐ同期 handed to the running `sync watch`
_ANSWERED = "sync_page_request_answered"

settings = context.settings()
role = context.role()
is_admin = auth.can(role, "管理")
interval = settings.sync.interval_seconds
channels, problems = health.configured_channels(settings)


def _unexpected(exc: Exception) -> str:
    return (
        f"同期中に予期しないエラーが起きました（{exc.__class__.__name__}）。"
        "もう一度お試しください。続く場合は管理者に連絡してください。"
    )


def run_now() -> None:
    """One cycle, with each step shown as it happens, then what it did."""
    with st.status("同期を始めています…", expanded=True) as status:
        steps: dict[tuple[str, str], str] = {}
        shown = st.empty()

        def progress(p: Progress) -> None:
            # One line per mall and step, updated in place (a big import reports every page).
            if p.stage == "完了":
                return
            steps[(p.stage, p.channel)] = p.message
            shown.markdown("  \n".join(steps.values()))
            status.update(label=p.message)

        try:
            report = context.sync_engine(progress).run_once()
        except LeaseHeld as exc:
            if ask_the_runner():
                status.update(label="同期を依頼しました", state="complete")
                return
            status.update(label="ほかの同期が実行中のため、今回は同期しませんでした", state="complete")
            st.info(
                f"{str(exc).rstrip('。')}。少し待ってから、もう一度「今すぐ同期」を押してください。",
                icon=":material/hourglass_top:",
            )
            return
        except (SyncError, WorkbookError, ChannelConfigError) as exc:
            status.update(label="同期できませんでした", state="error")
            st.error(str(exc), icon=":material/error:")
            return
        except Exception as exc:  # staff never see a traceback
            status.update(label="同期できませんでした", state="error")
            st.error(_unexpected(exc), icon=":material/error:")
            return
        finally:
            context.after_write()  # whatever was written shows below
        summary = health.cycle_summary(report, channels)
        st.markdown("**結果**  \n" + "  \n".join(summary.lines))
        for error in summary.errors:
            st.warning(error, icon=":material/warning:")
        label = f"同期が終わりました（新規の注文 {summary.created} 件）"
        if summary.errors:
            label += "。エラーがあります"
        status.update(label=label, state="error" if summary.errors else "complete", expanded=True)


def _system_now() -> dict[str, str]:
    """_システム as it is now (one small read, not the cached snapshot)."""
    return state.values(read_tables(context.workbook(), [SYSTEM_STATE])[SYSTEM_STATE.title])


def ask_the_runner() -> bool:
    """The lease is held by another runner (normally `python -m sync watch`, which keeps it
    between cycles): leave it a request in _システム, which it answers within seconds."""
    system = read_tables(context.workbook(), [SYSTEM_STATE])[SYSTEM_STATE.title]
    now = datetime.now(JST)
    lease = state.Lease.decode(state.values(system).get(state.LEASE_KEY, ""))
    if lease is None or lease.expires_at <= now:
        return False  # it has just ended: pressing again runs the cycle here
    who = getattr(st.user, "email", None) or "管理画面"
    request = state.request_text(now, who)
    job = WriteJob()
    state.put(job, system, state.REQUEST_KEY, request, now)
    context.write(job)
    st.session_state[_REQUEST] = {"request": request, "host": state.holder_host(lease.holder)}
    st.session_state.pop(_ANSWERED, None)
    return True


@st.fragment(run_every="2s")
def request_status() -> None:
    """Until the runner answers the request: what staff wait for; then the page shows it."""
    pending = st.session_state.get(_REQUEST)
    if pending is None:
        return
    answered = state.answered_at(_system_now(), pending["request"])
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
    st.session_state[_ANSWERED] = {**pending, "at": answered}
    del st.session_state[_REQUEST]
    context.after_write()
    st.rerun(scope="app")  # the cards and the log show that cycle


def request_answered(answered: dict, runs: list[health.LoggedRun]) -> None:
    asked = state.requested_at(answered["request"])
    created = sum(
        r.created for r in runs if r.job == health.PULL and asked is not None and r.started_at >= asked
    )
    errors = [r for r in runs if not r.succeeded and asked is not None and r.started_at >= asked]
    message = (
        f"自動同期（{answered['host']}）が依頼どおり同期しました（{answered['at']:%H:%M:%S}、"
        f"新規の注文 {created} 件）。"
    )
    if errors:
        st.warning(
            message + "エラーがあります。下の各モールの状況を確認してください。", icon=":material/warning:"
        )
    else:
        st.success(message, icon=":material/check_circle:")


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
            message = f"{datetime.now(JST):%H:%M:%S} の自動同期でエラー: {_unexpected(exc)}"
        st.session_state[_AUTO_LAST] = {"tick": time.monotonic(), "message": message}
        context.after_write()
        st.rerun(scope="app")  # the cards and the log show this cycle
    st.caption(last["message"])


def _result(run: health.LoggedRun) -> str:
    return "" if run.succeeded else f"（{run.result}）"


def card(item: health.ChannelHealth, now: datetime) -> None:
    channel = item.channel
    with st.container(border=True, key=f"sync_card_{channel.channel}"):
        label, colour = item.status
        mall = f"　:gray[{escape_markdown(channel.mall)}]" if channel.mall != channel.display_name else ""
        st.markdown(f"**{escape_markdown(channel.display_name)}**{mall}　:{colour}-badge[{label}]")
        if item.never_synced:
            st.caption("まだ同期していません。")
        facts = [f"**受注取込**　最終成功 {health.when(item.last_pull_success, now)}"]
        if item.last_pull is not None:
            facts.append(f":small[前回の件数{_result(item.last_pull)}: {health.pull_counts(item.last_pull)}]")
        facts.append(f"**在庫送信**　最終成功 {health.when(item.last_push_success, now)}")
        if item.last_push is not None:
            facts.append(f":small[前回の件数{_result(item.last_push)}: {health.push_counts(item.last_push)}]")
        cursor = escape_markdown(item.cursor_text)  # a file name must not end :small[…]
        facts.append(f":small[取得位置: {cursor}]")
        st.markdown("  \n".join(facts))
        if not channel.enabled:
            st.caption("設定で一時停止中です（enabled = false）。")
        if item.backoff_text:
            st.warning(escape_markdown(item.backoff_text), icon=":material/hourglass_top:")
        if item.credential is not None:
            show = st.error if item.credential.level == "error" else st.warning
            show(escape_markdown(item.credential.message), icon=":material/key:")
        current = item.current_errors
        for error in current:
            st.error(f"最新のエラー: {escape_markdown(error)}", icon=":material/error:")
        earlier = [e for e in item.errors if e.error not in current]
        if earlier:
            note = "それ以前のエラー" if current else "最近のエラー（その後は成功しています）"
            st.caption(
                f"{note}:  \n"
                + "  \n".join(
                    f"{health.day_and_time(e.at, now)} {escape_markdown(e.job)}: {escape_markdown(e.error)}"
                    for e in earlier
                )
            )


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
            run_now()
        request_status()
        answer = st.container()  # filled below, once the log after the answered request is read
    else:
        auth.require(role, "管理", "今すぐ同期")
if auto_on:
    auto_sync()
elif _AUTO_LAST in st.session_state:
    del st.session_state[_AUTO_LAST]  # turning it on again syncs at once

snapshot = context.snapshot()
# 同期ログ from its tail only (its end is kept in _システム), once per snapshot.
runs = context.derived(
    "sync_page_runs", lambda tables: health.recent_runs(context.workbook(), tables[SYSTEM_STATE.title])
)
now = datetime.now(JST)
healths = health.channel_health(
    channels,
    runs,
    snapshot.tables[SYSTEM_STATE.title],
    snapshot.tables[STOCK_PUSHES.title],
    now,
    settings.sync.stale_after_minutes,
)

if is_admin and channels and _ANSWERED in st.session_state:
    with answer:
        request_answered(st.session_state[_ANSWERED], runs)

with banners:
    for item in healths:
        if item.stale is not None:
            st.error(item.stale.message, icon=":material/sync_problem:")
    for item in healths:
        if item.credential is not None and item.credential.level == "error":
            st.error(item.credential.message, icon=":material/key_off:")

if channels and not runs:
    if is_admin:
        hint = "「今すぐ同期」を押すと、各モールから受注を取り込み、在庫数を送信します。"
    else:
        hint = "管理者が同期すると、ここに各モールの状況が表示されます。"
    if background:
        hint = "デモショップの自動同期が始まると、ここに各モールの状況が表示されます。" + hint
    st.info(f"まだ一度も同期していません。{hint}", icon=":material/info:")

for start in range(0, len(healths), 2):
    for column, item in zip(st.columns(2), healths[start : start + 2], strict=False):
        with column:
            card(item, now)

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
            rows = health.plan_rows(plan)
            if rows:
                st.caption(
                    f"{len(rows)} 件。販売可能数が前回送った数と違う商品、前回の送信に失敗した商品、"
                    "まだ送ったことのない商品です。"
                )
                frame = pd.DataFrame(rows)
                frame["前回送信数"] = frame["前回送信数"].astype("Int64")
                st.dataframe(frame, hide_index=True, width="stretch", height=min(36 + 35 * len(rows), 300))
            else:
                st.success("送る必要のある在庫数はありません。すべてのモールに最新の数を送信済みです。")

st.subheader("同期ログ（最新50件）")
if runs:
    st.dataframe(
        pd.DataFrame(health.log_rows(runs, channels)),
        hide_index=True,
        width="stretch",
        height=320,
        column_config={"エラー内容": st.column_config.TextColumn(width="large")},
    )
else:
    st.caption("同期ログはまだありません。同期するたびに、モールごとに1行ずつ記録されます。")
