"""Every mall's sync health as of the current snapshot, for the 同期 page and ホーム's
「今日やること」: 同期ログ read from its tail (its end is kept in _システム) once per snapshot
and shared by both pages."""

from __future__ import annotations

from datetime import datetime

from sheets_schema.tabs import STOCK_PUSHES, SYSTEM_STATE
from shop import sync_health as health
from ui import context


def recent_runs() -> list[health.LoggedRun]:
    return context.derived(
        "sync_page_runs", lambda tables: health.recent_runs(context.workbook(), tables[SYSTEM_STATE.title])
    )


def channel_healths(channels: list[health.Channel], now: datetime) -> list[health.ChannelHealth]:
    tables = context.snapshot().tables
    return health.channel_health(
        channels,
        recent_runs(),
        tables[SYSTEM_STATE.title],
        tables[STOCK_PUSHES.title],
        now,
        context.settings().sync.stale_after_minutes,
    )
