"""What the 同期 page shows about each mall, from 同期ログ, _システム and _在庫送信.

Pure functions, no Streamlit: the page passes the parsed tables and the current time, so every
message (stale mall, backoff, credential expiry, cursor) can be tested with a fixed clock. The
sentences themselves are in ``shop.sync_words``, the page's tables in ``shop.sync_tables``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from settings import Settings
from sheets_schema.cells import JST
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.models import StockPush, SyncLog
from sheets_schema.parsing import Table, missing_table, parse_grid
from sheets_schema.tabs import STOCK_PUSHES, SYNC_LOG, SYSTEM_STATE
from sheets_schema.workbook import Workbook

# The sentences about times and trouble live in shop/sync_words.py; the 同期 page's tables in
# shop/sync_tables.py. These names stay reachable here for the card and the tests.
from shop.sync_words import (  # noqa: F401
    Notice,
    ago,
    backoff_text,
    credential_notice,
    day_and_time,
    describe_cursor,
    duration_text,
    format_jst,
    stale_notice,
    when,
)
from sync import state
from sync.connectors import ChannelConfigError, channel_sections, channel_settings
from sync.settlement import LOG_MARK

PULL = "受注取込"
# The 同期 page reads this many rows from the end of 同期ログ (about a day of a busy shop).
LOG_TAIL_ROWS = 200
PUSH = "在庫送信"
LATEST_ERRORS = 3

_JOB = re.compile(r"^(受注取込|在庫送信)（(.+)）$")
# What the engine logs for a channel that is waiting after failures (state.describe_backoff).
_WAITING = re.compile(r"^\d+回続けて失敗したため")


@dataclass(frozen=True)
class Channel:
    """One configured sales channel, as staff know it."""

    channel: str  # the [malls.<channel>] key, also in 同期ログ's 処理: "受注取込（rakuten_demo）"
    mall: str
    display_name: str
    enabled: bool = True
    credential_expires_on: date | None = None


def configured_channels(settings: Settings) -> tuple[list[Channel], list[str]]:
    """Every [malls.*] section (or the demo malls), and a Japanese message per broken section."""
    channels: list[Channel] = []
    problems: list[str] = []
    for name, section in channel_sections(settings).items():
        try:
            parsed = channel_settings(name, section)
        except ChannelConfigError as exc:
            problems.append(str(exc))
            continue
        channels.append(
            Channel(
                channel=name,
                mall=parsed.mall,
                display_name=parsed.display_name or parsed.mall,
                enabled=parsed.enabled,
                credential_expires_on=parsed.credential_expires_on,
            )
        )
    return channels, problems


@dataclass(frozen=True)
class LoggedRun:
    """One 同期ログ row: one channel's import or push in one sync run."""

    job: str  # 受注取込 | 在庫送信
    channel: str
    mall: str
    started_at: datetime
    finished_at: datetime | None
    fetched: int
    created: int
    updated: int
    duplicates_skipped: int
    failed: int
    result: str  # 成功 | 一部失敗 | 失敗
    error: str

    @property
    def at(self) -> datetime:
        return self.finished_at or self.started_at

    @property
    def succeeded(self) -> bool:
        return self.result == "成功"


def split_job(text: str) -> tuple[str, str] | None:
    """「受注取込（rakuten_demo）」 -> ("受注取込", "rakuten_demo")."""
    match = _JOB.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


def logged_runs(log: Table[Any]) -> list[LoggedRun]:
    """Every readable 同期ログ row, oldest first (the tab is append-only)."""
    runs = []
    for record in log:
        row: SyncLog = record.value
        job = split_job(row.job)
        if job is None:
            continue
        runs.append(
            LoggedRun(
                job=job[0],
                channel=job[1],
                mall=row.mall,
                started_at=row.started_at,
                finished_at=row.finished_at,
                fetched=row.fetched,
                created=row.created,
                updated=row.updated,
                duplicates_skipped=row.duplicates_skipped,
                failed=row.failed,
                result=row.result,
                error=row.error,
            )
        )
    return runs


def recent_runs(
    workbook: Workbook, system: Table[Any] | Mapping[str, str], rows: int = LOG_TAIL_ROWS
) -> list[LoggedRun]:
    """The runs in the last ``rows`` rows of 同期ログ, read from the tail only: the sync keeps
    where the log ends in _システム (``末尾:同期ログ``), so one small read gets them however long
    the log has grown. Without that mark (no sync has run yet) the tab is read whole."""
    stored = system if isinstance(system, Mapping) else state.values(system)
    try:
        start = max(FIRST_DATA_ROW, int(stored.get(LOG_MARK, "")) - rows)
    except ValueError:
        start = FIRST_DATA_ROW
    grid = workbook.read([SYNC_LOG.title], start_rows={SYNC_LOG.title: start}).get(SYNC_LOG.title)
    return logged_runs(parse_grid(SYNC_LOG, grid) if grid is not None else missing_table(SYNC_LOG))


# -- per channel


@dataclass(frozen=True)
class ChannelHealth:
    channel: Channel
    last_pull: LoggedRun | None  # the latest import, whatever its result
    last_pull_success: datetime | None
    last_push: LoggedRun | None  # the latest push (only runs with something to send log one)
    last_push_success: datetime | None
    errors: list[LoggedRun]  # newest first, up to LATEST_ERRORS
    cursor: str
    cursor_text: str
    backoff_text: str
    stale: Notice | None
    credential: Notice | None
    listings: dict[str, int] = field(default_factory=dict)  # _在庫送信 rows of the mall by 状態

    @property
    def never_synced(self) -> bool:
        return self.last_pull is None and self.last_push is None

    @property
    def status(self) -> tuple[str, str]:
        """(label, colour) for the card's badge."""
        if not self.channel.enabled:
            return "停止中", "gray"
        if self.never_synced:
            return "未同期", "gray"
        if self.stale is not None or (self.credential and self.credential.level == "error"):
            return "要対応", "red"
        latest = [r for r in (self.last_pull, self.last_push) if r is not None]
        if any(r.result == "失敗" for r in latest) or self.backoff_text:
            return "エラー", "red"
        if any(r.result == "一部失敗" for r in latest):
            return "一部失敗", "orange"
        return "正常", "green"

    @property
    def current_errors(self) -> list[str]:
        """The errors behind the latest import and the latest push, where those did not succeed.

        While the channel waits after failures, its log says only that it is waiting; the
        cause is the newest real error of that job before."""
        current = []
        for run in (self.last_pull, self.last_push):
            if run is None or run.succeeded or not run.error:
                continue
            error = run.error
            if _WAITING.match(error):
                error = next((e.error for e in self.errors if e.job == run.job), "")
            if error and error not in current:
                current.append(error)
        return current


def channel_health(
    channels: Sequence[Channel],
    runs: Iterable[LoggedRun],
    system: Table[Any] | Mapping[str, str],
    pushes: Table[Any] | None,
    now: datetime,
    stale_after_minutes: int,
) -> list[ChannelHealth]:
    """One ChannelHealth per configured channel, in settings order."""
    wanted = {c.channel for c in channels}
    last: dict[tuple[str, str], LoggedRun] = {}
    last_success: dict[tuple[str, str], datetime] = {}
    first_pull: dict[str, datetime] = {}
    errors: dict[str, list[LoggedRun]] = {c: [] for c in wanted}
    for run in runs:
        if run.channel not in wanted:
            continue
        key = (run.channel, run.job)
        if key not in last or run.at >= last[key].at:
            last[key] = run
        if run.succeeded and (key not in last_success or run.at > last_success[key]):
            last_success[key] = run.at
        if run.job == PULL and (run.channel not in first_pull or run.started_at < first_pull[run.channel]):
            first_pull[run.channel] = run.started_at
        if run.error and not _WAITING.match(run.error):  # waiting is shown as backoff_text
            errors[run.channel].append(run)
    values = state.values(system) if isinstance(system, Table) else dict(system)
    by_mall: dict[str, Counter[str]] = {}
    for record in pushes or ():
        push: StockPush = record.value
        by_mall.setdefault(push.mall, Counter())[push.state] += 1

    healths = []
    for channel in channels:
        name = channel.display_name
        recent = sorted(errors[channel.channel], key=lambda r: r.at, reverse=True)
        latest_errors: list[LoggedRun] = []
        for run in recent:  # the same message every minute is shown once
            if run.error not in {e.error for e in latest_errors}:
                latest_errors.append(run)
            if len(latest_errors) == LATEST_ERRORS:
                break
        cursor = values.get(state.cursor_key(channel.channel), "")
        last_pull = last.get((channel.channel, PULL))
        quiet = _quiet_pull(channel, values.get(state.heartbeat_key(channel.channel), ""))
        if quiet is not None and (last_pull is None or quiet.at > last_pull.at):
            last_pull = quiet  # the latest import found nothing new, so it logged no row
        pull_success = last_success.get((channel.channel, PULL))
        if quiet is not None and (pull_success is None or quiet.at > pull_success):
            pull_success = quiet.at
        healths.append(
            ChannelHealth(
                channel=channel,
                last_pull=last_pull,
                last_pull_success=pull_success,
                last_push=last.get((channel.channel, PUSH)),
                last_push_success=last_success.get((channel.channel, PUSH)),
                errors=latest_errors,
                cursor=cursor,
                cursor_text=describe_cursor(cursor, now),
                backoff_text=backoff_text(values.get(state.backoff_key(channel.channel), ""), now),
                stale=(
                    stale_notice(
                        name, pull_success, first_pull.get(channel.channel), now, stale_after_minutes
                    )
                    if channel.enabled
                    else None
                ),
                credential=credential_notice(
                    name, channel.mall, channel.credential_expires_on, now.astimezone(JST).date()
                ),
                listings=dict(by_mall.get(channel.mall, {})),
            )
        )
    return healths


def _quiet_pull(channel: Channel, heartbeat: str) -> LoggedRun | None:
    """The channel's last successful import as a run, from its heartbeat in _システム."""
    try:
        at = datetime.fromisoformat(heartbeat).astimezone(JST)
    except ValueError:
        return None
    return LoggedRun(PULL, channel.channel, channel.mall, at, at, 0, 0, 0, 0, 0, "成功", "")


def health_from_tables(
    channels: Sequence[Channel], tables: Mapping[str, Table[Any]], now: datetime, stale_after_minutes: int
) -> list[ChannelHealth]:
    return channel_health(
        channels,
        logged_runs(tables[SYNC_LOG.title]),
        tables[SYSTEM_STATE.title],
        tables.get(STOCK_PUSHES.title),
        now,
        stale_after_minutes,
    )


def pull_counts(run: LoggedRun) -> str:
    """The last import's counts (件): 取得 12・新規 3・更新 2・変更なし 1・失敗 0."""
    return (
        f"取得 {run.fetched}・新規 {run.created}・更新 {run.updated}・"
        f"変更なし {run.duplicates_skipped}・失敗 {run.failed}"
    )


def push_counts(run: LoggedRun) -> str:
    """The last push's counts (件): 送信 40・受付 39・失敗 1."""
    return f"送信 {run.fetched}・モールが受付 {run.updated}・失敗 {run.failed}"
