"""The 同期 page's pure parts: a mall card's heading, facts and earlier errors as markdown, the
sentence for a sync handed to the running runner, the hint before any sync, the push preview
frame. No Streamlit here; ``ui.sync_card`` and ``ui.sync_actions`` draw with these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from shop import sync_health as health
from sync import state
from vocabulary.text import escape_markdown


def unexpected_message(exc: Exception) -> str:
    """What staff read instead of a traceback: the exception's class name only."""
    return (
        f"同期中に予期しないエラーが起きました（{exc.__class__.__name__}）。"
        "もう一度お試しください。続く場合は管理者に連絡してください。"
    )


def _result(run: health.LoggedRun) -> str:
    return "" if run.succeeded else f"（{run.result}）"


def card_heading(item: health.ChannelHealth) -> str:
    """The shop's name for the mall (the mall too when it differs) and the status badge."""
    channel = item.channel
    label, colour = item.status
    mall = f"　:gray[{escape_markdown(channel.mall)}]" if channel.mall != channel.display_name else ""
    return f"**{escape_markdown(channel.display_name)}**{mall}　:{colour}-badge[{label}]"


def card_facts(item: health.ChannelHealth, now: datetime) -> str:
    """Last import and push, their counts and how far imports have got (取り込んだ範囲), one line each."""
    facts = [f"**受注取込**　最終成功 {health.when(item.last_pull_success, now)}"]
    if item.last_pull is not None:
        facts.append(f":small[前回の件数{_result(item.last_pull)}: {health.pull_counts(item.last_pull)}]")
    facts.append(f"**在庫送信**　最終成功 {health.when(item.last_push_success, now)}")
    if item.last_push is not None:
        facts.append(f":small[前回の件数{_result(item.last_push)}: {health.push_counts(item.last_push)}]")
    cursor = escape_markdown(item.cursor_text)  # a file name must not end :small[…]
    facts.append(f":small[取り込んだ範囲: {cursor}]")
    return "  \n".join(facts)


def earlier_errors(item: health.ChannelHealth, now: datetime) -> str | None:
    """The errors before the current ones (or since fixed), as a caption; None when there are none."""
    current = item.current_errors
    earlier = [e for e in item.errors if e.error not in current]
    if not earlier:
        return None
    note = "それ以前のエラー" if current else "最近のエラー（その後は成功しています）"
    return f"{note}:  \n" + "  \n".join(
        f"{health.day_and_time(e.at, now)} {escape_markdown(e.job)}: {escape_markdown(e.error)}"
        for e in earlier
    )


def answered_message(answered: dict[str, Any], runs: Sequence[health.LoggedRun]) -> tuple[str, bool]:
    """What the runner did for a 今すぐ同期 handed to it, and whether any of its runs failed."""
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
        return message + "エラーがあります。下の各モールの状況を確認してください。", True
    return message, False


def never_synced_hint(is_admin: bool, background: bool) -> str:
    if is_admin:
        hint = "「今すぐ同期」を押すと、各モールから受注を取り込み、在庫数を送信します。"
    else:
        hint = "管理者が同期すると、ここに各モールの状況が表示されます。"
    if background:
        hint = "デモショップの自動同期が始まると、ここに各モールの状況が表示されます。" + hint
    return f"まだ一度も同期していません。{hint}"


def push_plan_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The dry-run push rows with 前回送信数 as a nullable integer (blank when never sent)."""
    frame = pd.DataFrame(rows)
    frame["前回送信数"] = frame["前回送信数"].astype("Int64")
    return frame
