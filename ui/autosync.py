"""Keeps the embedded demo shop alive: a background thread syncs the demo malls while the app runs.

Only for the embedded default (SQLite workbook with demo malls); real shops run
``python -m sync watch`` or press 今すぐ同期, so that one runner owns their malls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from settings import Settings
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from shipping import auto_mail
from sync.connectors import build_connectors, channel_sections
from sync.engine import SyncEngine
from sync.errors import SyncError


@dataclass
class AutoSync:
    engine: SyncEngine
    interval: float
    on_cycle: Callable[[], None]
    last_run: datetime | None = None
    last_error: str = ""
    last_created: int = 0
    settings: Settings | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.engine.run_once()
                self.last_created, self.last_error = report.created, ""
                if self.settings is not None:  # the demo's templates with 自動送信 ON, to the outbox
                    auto_mail.run_under_lease(self.engine, self.settings)
            except (SyncError, Exception) as exc:  # the thread must outlive any one bad cycle
                self.last_error = str(exc) or exc.__class__.__name__
            self.last_run = datetime.now(JST)
            self.on_cycle()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def wants_auto_sync(settings: Settings) -> bool:
    return (
        settings.backend == "sql"
        and settings.workbook.seed_demo
        and settings.sync.auto_sync_demo
        and not settings.malls
        and bool(channel_sections(settings))
    )


@st.cache_resource(show_spinner=False)
def start(
    workbook_id: str, _settings: Settings, _workbook: object, _on_cycle: Callable[[], None]
) -> AutoSync:
    engine = SyncEngine(
        _workbook,  # type: ignore[arg-type]
        build_connectors(_settings),
        _settings.sync,
        archive=Archive(_settings.archive_url(), options=_settings.sql_options()),
    )
    auto = AutoSync(engine, _settings.sync.interval_seconds, _on_cycle, settings=_settings)
    threading.Thread(target=auto.run_forever, name="ichigen-demo-sync", daemon=True).start()
    return auto
