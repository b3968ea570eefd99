"""What the 同期 page shows about each mall, from 同期ログ, _システム and _在庫送信.

Pure functions, no Streamlit: the page passes the parsed tables and the current time, so every
message here (stale mall, backoff, credential expiry, cursor) can be tested with a fixed clock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from settings import Settings
from sheets_schema.cells import JST
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.models import StockPush, SyncLog
from sheets_schema.parsing import Table, missing_table, parse_grid
from sheets_schema.tabs import STOCK_PUSHES, SYNC_LOG, SYSTEM_STATE
from sheets_schema.workbook import Workbook
from sync import state
from sync.connectors import ChannelConfigError, channel_sections, channel_settings
from sync.engine import CycleReport
from sync.push import PlannedPush
from sync.settlement import LOG_MARK

PULL = "受注取込"
# The 同期 page reads this many rows from the end of 同期ログ (about a day of a busy shop).
LOG_TAIL_ROWS = 200
PUSH = "在庫送信"
CREDENTIAL_WARNING_DAYS = 14
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


# -- words for times


def format_jst(moment: datetime, *, seconds: bool = False) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration_text(delta: timedelta) -> str:
    """A span in words: 45分, 2時間15分, 3日4時間."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}分"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}時間{minutes}分" if minutes else f"{hours}時間"
    days, hours = divmod(hours, 24)
    return f"{days}日{hours}時間" if hours else f"{days}日"


def ago(moment: datetime, now: datetime) -> str:
    """How long ago, as staff say it: たった今, 5分前, 2時間前, 3日前."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "たった今"
    if seconds < 3600:
        return f"{int(seconds // 60)}分前"
    if seconds < 86400:
        return f"{int(seconds // 3600)}時間前"
    return f"{int(seconds // 86400)}日前"


def when(moment: datetime | None, now: datetime) -> str:
    """「今日 12:34（3分前）」, 「2026-04-28 12:34（3日前）」, or 「まだありません」."""
    if moment is None:
        return "まだありません"
    return f"{day_and_time(moment, now)}（{ago(moment, now)}）"


def day_and_time(moment: datetime, now: datetime, *, seconds: bool = False) -> str:
    """「今日 12:34」 for today (JST), else the full date."""
    local = moment.astimezone(JST)
    if local.date() == now.astimezone(JST).date():
        return f"今日 {local:%H:%M:%S}" if seconds else f"今日 {local:%H:%M}"
    return format_jst(local, seconds=seconds)


# -- notices


@dataclass(frozen=True)
class Notice:
    level: Literal["warning", "error"]
    message: str


def stale_notice(
    name: str,
    last_success: datetime | None,
    first_attempt: datetime | None,
    now: datetime,
    stale_after_minutes: int,
) -> Notice | None:
    """A red banner when a mall that has been synced has had no successful import for too long.

    A mall never tried yet is not stale (the page says 未同期 instead)."""
    limit = timedelta(minutes=stale_after_minutes)
    if last_success is not None:
        if now - last_success <= limit:
            return None
        return Notice(
            "error",
            f"{name}: {duration_text(now - last_success)}のあいだ受注を取り込めていません"
            f"（最後の成功: {day_and_time(last_success, now)}）。下のエラー内容を確認してください。",
        )
    if first_attempt is None or now - first_attempt <= limit:
        return None
    return Notice(
        "error",
        f"{name}: 最初の同期から{duration_text(now - first_attempt)}、受注を一度も取り込めていません。"
        "下のエラー内容とモールの設定を確認してください。",
    )


def credential_notice(name: str, mall: str, expires_on: date | None, today: date) -> Notice | None:
    """Warn from 14 days before the mall's key expires; an error once it has expired."""
    if expires_on is None:
        return None
    days_left = (expires_on - today).days
    if days_left > CREDENTIAL_WARNING_DAYS:
        return None
    renew = "モールの管理画面で更新し、設定の credential_expires_on も書き換えてください"
    if mall == "楽天":
        renew += "（楽天RMSの licenseKey は90日ごとに更新）"
    if days_left < 0:
        return Notice(
            "error",
            f"{name}の認証キーの期限が切れています（{expires_on:%Y-%m-%d}、{-days_left}日前）。"
            f"このままでは同期できません。{renew}。",
        )
    if days_left == 0:
        return Notice("warning", f"{name}の認証キーの期限は今日（{expires_on:%Y-%m-%d}）までです。{renew}。")
    return Notice(
        "warning",
        f"{name}の認証キーの期限まであと{days_left}日です（{expires_on:%Y-%m-%d}まで）。{renew}。",
    )


def backoff_text(encoded: str, now: datetime) -> str:
    """_システム's 待機:<channel> in words; "" when the channel is not backing off."""
    backoff = state.Backoff.decode(encoded) if encoded else None
    if backoff is None or backoff.failures <= 0:
        return ""
    if backoff.until > now:  # as state.describe_backoff, with 今日 for today
        until = day_and_time(backoff.until, now, seconds=True)
        return f"{backoff.failures}回続けて失敗したため、{until} まで待ってから再試行します"
    return f"{backoff.failures}回続けて失敗しています。次の同期で再試行します"


def describe_cursor(cursor: str, now: datetime | None = None) -> str:
    """The stored 取得位置 (_システム's カーソル:<channel>) in words."""
    from sync.connectors.csv_files import InboxCursor

    cursor = cursor.strip()
    if not cursor:
        return "まだありません（次の同期で最初から取り込みます）"
    try:
        moment = datetime.fromisoformat(cursor)
    except ValueError:
        pass
    else:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=JST)
        shown = day_and_time(moment, now, seconds=True) if now else format_jst(moment, seconds=True)
        return f"{shown} までの注文の変更を取り込み済み"
    inbox = InboxCursor.parse(cursor)
    if inbox is not None:
        if inbox.done is None:
            return f"ファイル「{inbox.name}」まで取り込み済み"
        return f"ファイル「{inbox.name}」の {inbox.done} 件目まで取り込み済み"
    return cursor if len(cursor) <= 60 else cursor[:57] + "…"


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


# -- tables for the page


def log_rows(runs: Sequence[LoggedRun], channels: Sequence[Channel], limit: int = 50) -> list[dict[str, Any]]:
    """The latest 同期ログ rows, newest first, with the channel's name instead of its key."""
    names = {c.channel: c.display_name for c in channels}
    return [
        {
            "日時": format_jst(run.started_at, seconds=True),
            "処理": f"{run.job}（{names.get(run.channel, run.channel)}）",
            "モール": run.mall,
            "結果": run.result,
            "取得件数": run.fetched,
            "新規": run.created,
            "更新": run.updated,
            "変更なし": run.duplicates_skipped,
            "失敗": run.failed,
            "エラー内容": run.error,
        }
        for run in reversed(runs[-limit:])  # the tab is append-only: the last rows are the newest
    ]


# What each count means, for the help line under a card and the 同期ログ's column headers.
COUNT_HELP: dict[str, str] = {
    "取得件数": "モールから受け取った注文（在庫送信では、送った在庫数）の数",
    "新規": "初めて取り込んだ注文の数",
    "更新": "取り込み済みの注文で、モールで変わった内容（キャンセル・住所など）を反映した数"
    "（在庫送信では、モールが受け付けた数）",
    "変更なし": "前に取り込んだときと同じ内容だったため、何もしなかった注文の数",
    "失敗": "取り込めなかった注文（在庫送信では、送れなかった在庫数）の数。理由はエラー内容に",
}
CARD_HELP = (
    "取得: モールから受け取った注文の数。新規: 初めての注文。更新: モールで変わった注文。"
    "変更なし: 前と同じ内容の注文。在庫送信の「受付」は、モールが受け付けた在庫数の数です。"
    "「取り込んだ範囲」より後の注文を、次の同期で取り込みます。"
)


def plan_rows(plan: Sequence[PlannedPush]) -> list[dict[str, Any]]:
    """The dry-run push preview: SKU, モール, 前回送信数, 今回送信数, 理由."""
    return [
        {
            "SKU": p.sku,
            "モール": p.mall,
            "前回送信数": p.last_quantity,
            "今回送信数": p.quantity,
            "理由": f"{p.reason}（セール: {p.why}）" if p.why else p.reason,
        }
        for p in sorted(plan, key=lambda p: (p.mall, p.sku))
    ]


@dataclass(frozen=True)
class CycleSummary:
    created: int
    lines: list[str]  # what happened, one line per mall
    errors: list[str]  # one line per problem, naming the mall


def cycle_summary(report: CycleReport, channels: Sequence[Channel]) -> CycleSummary:
    """What 今すぐ同期 did: new orders per mall, stock pushes per mall, errors."""
    names = {c.channel: c.display_name for c in channels}
    lines: list[str] = []
    errors: list[str] = []
    pulled: dict[str, list[int]] = {}
    for run in report.runs:
        name = names.get(run.channel, run.channel)
        if run.job != PULL:
            continue
        counts = pulled.setdefault(name, [0, 0, 0])
        counts[0] += run.created
        counts[1] += run.updated
        counts[2] += run.fetched
        if run.error:
            message = f"{name}: {run.error}"
            if message not in errors:
                errors.append(message)
    for name, (created, updated, fetched) in pulled.items():
        lines.append(f"{name}: 新規の注文 {created} 件（更新 {updated} 件、取得 {fetched} 件）")
    sent: dict[str, list[int]] = {}
    for result in report.pushes:
        counts = sent.setdefault(result.mall, [0, 0])
        counts[0 if result.ok else 1] += 1
        if not result.ok and result.error:
            message = f"在庫送信（{result.mall}）: {result.error}"
            if message not in errors:
                errors.append(message)
    for mall, (ok, failed) in sent.items():
        lines.append(f"在庫送信（{mall}）: {ok} 件" + (f"、失敗 {failed} 件" if failed else ""))
    if not sent:
        lines.append("在庫数の送信はありませんでした（どのモールも最新の数です）")
    return CycleSummary(report.created, lines, errors)
