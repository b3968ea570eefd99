"""今すぐ同期 on the 同期 page: one cycle here with each step shown, or, when another runner
holds the lease (normally ``python -m sync watch``), a request left for it in _システム."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import WorkbookError
from sheets_schema.tabs import SYSTEM_STATE
from shop import sync_health as health
from shop import sync_tables
from shop.sync_page import unexpected_message
from sync import state
from sync.connectors import ChannelConfigError
from sync.engine import Progress
from sync.errors import LeaseHeld, SyncError
from ui import context

REQUEST = "sync_page_request"  # a 今すぐ同期 handed to the running `sync watch`
ANSWERED = "sync_page_request_answered"


def run_now(channels: Sequence[health.Channel]) -> None:
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
            st.error(unexpected_message(exc), icon=":material/error:")
            return
        finally:
            context.after_write()  # whatever was written shows below
        summary = sync_tables.cycle_summary(report, channels)
        shown.empty()  # the steps (「ワークブックに書き込んでいます…」…) give way to what was done
        st.markdown("**結果**  \n" + "  \n".join(summary.lines))
        for error in summary.errors:
            st.warning(error, icon=":material/warning:")
        label = f"同期が終わりました（新規の注文 {summary.created} 件）"
        if summary.errors:
            label += "。エラーがあります"
        status.update(label=label, state="error" if summary.errors else "complete", expanded=True)


def system_now() -> dict[str, str]:
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
    st.session_state[REQUEST] = {"request": request, "host": state.holder_host(lease.holder)}
    st.session_state.pop(ANSWERED, None)
    return True
