"""Per-session access to settings and the workbook, with cached reads.

``app.py`` loads the settings once and hands them to ``init``; pages ask this module for the
workbook and a snapshot of its tabs. Nothing here reads ``st.secrets`` or the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from settings import Settings
from sheets_schema.book import Tables, demo_seeded_at, open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.workbook import Workbook, WorkbookInfo

_SETTINGS_KEY = "ichigen_settings"


@dataclass(frozen=True)
class Snapshot:
    tables: Tables
    read_at: datetime
    info: WorkbookInfo
    demo_since: str | None


def init(settings: Settings) -> None:
    st.session_state[_SETTINGS_KEY] = settings


def settings() -> Settings:
    return st.session_state[_SETTINGS_KEY]


def _workbook_id(settings: Settings) -> str:
    if settings.backend == "google" and settings.google is not None:
        return f"google:{settings.google.api_base_url}:{settings.google.spreadsheet_key}"
    return f"sql:{settings.sql_url()}"


@st.cache_resource(show_spinner="ワークブックを準備しています…")
def _open(workbook_id: str, _settings: Settings) -> Workbook:
    return open_prepared_workbook(_settings, datetime.now(JST))


def workbook() -> Workbook:
    current = settings()
    return _open(_workbook_id(current), current)


def _read(workbook_id: str, _workbook: Workbook) -> Snapshot:
    tables = read_tables(_workbook)
    return Snapshot(tables, datetime.now(JST), _workbook.info, demo_seeded_at(tables))


_readers: dict[int, Callable[[str, Workbook], Snapshot]] = {}


def _reader(ttl: int) -> Callable[[str, Workbook], Snapshot]:
    # The TTL is a setting, so the cached function is made once per TTL value.
    if ttl not in _readers:
        _readers[ttl] = st.cache_data(ttl=ttl, show_spinner="ワークブックを読み込んでいます…")(_read)
    return _readers[ttl]


def snapshot() -> Snapshot:
    current = settings()
    return _reader(current.app.cache_ttl_seconds)(_workbook_id(current), workbook())


def after_write() -> None:
    """Forget cached reads, so the next snapshot shows what was just written."""
    for reader in _readers.values():
        reader.clear()  # type: ignore[attr-defined]


def forget_workbook() -> None:
    _open.clear()
    after_write()


def auto_sync() -> object | None:
    """Start (once per process) the demo malls' background sync when the settings ask for it."""
    from ui import autosync

    current = settings()
    if not autosync.wants_auto_sync(current):
        return None
    return autosync.start(_workbook_id(current), current, workbook(), after_write)
