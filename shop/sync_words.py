"""The 同期 page's sentences about time and trouble: JST times and "… 前", a mall that has not
synced for too long, credentials about to expire, a mall backing off, where its cursor stands.
Pure functions of their inputs and a given "now", so each can be tested with a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sheets_schema.cells import JST
from sync import state

CREDENTIAL_WARNING_DAYS = 14  # credentials are flagged this many days before they expire

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
