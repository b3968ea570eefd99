"""Per-session access to settings and the workbook, with cached reads.

``app.py`` loads the settings once and hands them to ``init``; pages ask this module for the
workbook and a snapshot of its tabs. Nothing here reads ``st.secrets`` or the environment.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from settings import Settings
from sheets_schema.archive import Archive
from sheets_schema.book import LazyTables, Tables, demo_seeded_at, open_prepared_workbook
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import WorkbookUnavailable
from sheets_schema.workbook import Workbook, WorkbookInfo
from sync.connectors import build_connectors
from sync.engine import Progress, SyncEngine

_SETTINGS_KEY = "ichigen_settings"
_ROLE_KEY = "ichigen_role"


@dataclass(frozen=True)
class Snapshot:
    tables: Tables
    read_at: datetime
    info: WorkbookInfo
    demo_since: str | None
    # Set when the workbook's server could not be reached for a fresh read: this is the last
    # snapshot read, shown with that message (see ``snapshot``).
    unavailable: str | None = None


def init(settings: Settings, role: str = "管理") -> None:
    settings.limits.apply()  # every parser of this process checks the shop's bounds
    st.session_state[_SETTINGS_KEY] = settings
    st.session_state[_ROLE_KEY] = role


def _ensure_router() -> None:
    """A page opened by its URL on a freshly started server runs without app.py: until some
    run calls st.navigation, Streamlit falls back to the pages/ folder. Switch that fallback
    off, as st.navigation itself does, and rerun: app.py then routes to this very page."""
    if _SETTINGS_KEY in st.session_state:
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def settings() -> Settings:
    _ensure_router()
    return st.session_state[_SETTINGS_KEY]


def role() -> Any:
    """The signed-in user's role: 閲覧, 編集 or 管理 (see ui.auth)."""
    _ensure_router()
    return st.session_state[_ROLE_KEY]


def _workbook_id(settings: Settings) -> str:
    if settings.backend == "google" and settings.google is not None:
        return f"google:{settings.google.api_base_url}:{settings.google.spreadsheet_key}"
    return f"sql:{settings.sql_url()}"


@st.cache_resource(show_spinner="ワークブックを準備しています…")
def _open(workbook_id: str, _settings: Settings) -> Workbook:
    return open_prepared_workbook(_settings, datetime.now(JST))


def workbook_id() -> str:
    """What identifies the configured workbook in cache keys."""
    return _workbook_id(settings())


def workbook() -> Workbook:
    current = settings()
    return _open(_workbook_id(current), current)


def _read(workbook_id: str, _workbook: Workbook) -> Snapshot:
    info = _workbook.info
    # Parsed tab by tab as pages use them; Google Sheets still reads every tab in one request.
    tables = LazyTables(_workbook, prefetch=info.backend == "google", on_parse=_settle)
    return Snapshot(tables, datetime.now(JST), info, demo_seeded_at(tables))


_readers: dict[int, Callable[[str, Workbook], Snapshot]] = {}


def _reader(ttl: int) -> Callable[[str, Workbook], Snapshot]:
    # The TTL is a setting, so the cached function is made once per TTL value. cache_resource,
    # not cache_data: a snapshot is shared read-only instead of unpickled on every rerun, which
    # for 50,000 orders would cost more than the page itself.
    if ttl not in _readers:
        _readers[ttl] = st.cache_resource(ttl=ttl, show_spinner="ワークブックを読み込んでいます…")(_read)
    return _readers[ttl]


# While the workbook's server (PostgreSQL, or Google) cannot be reached, pages go on showing
# the last snapshot read, with a warning, instead of an error; the server is asked again after
# this many seconds rather than on every rerun, since each try may wait connect_timeout_seconds.
UNAVAILABLE_RETRY_SECONDS = 30.0
_last_good: dict[str, Snapshot] = {}
_away: dict[str, tuple[float, str]] = {}  # workbook id -> (next try, time.monotonic; message)


def snapshot() -> Snapshot:
    current = settings()
    key = _workbook_id(current)
    last = _last_good.get(key)
    away = _away.get(key)
    if last is not None and away is not None and time.monotonic() < away[0]:
        return replace(last, unavailable=away[1])
    try:
        made = _reader(current.app.cache_ttl_seconds)(key, workbook())
    except WorkbookUnavailable as exc:
        if last is None:
            raise  # nothing read yet: app.py shows the error itself
        _away[key] = (time.monotonic() + UNAVAILABLE_RETRY_SECONDS, str(exc))
        return replace(last, unavailable=str(exc))
    _away.pop(key, None)
    _last_good[key] = made
    return made


def stale_notice(message: str, read_at: datetime) -> str:
    """What staff read above a page drawn from the last snapshot while the server is away."""
    from vocabulary.text import escape_markdown

    return (
        f"{escape_markdown(message)}\n\n{read_at:%m月%d日 %H:%M} に読み込んだ内容を表示しています"
        f"（{UNAVAILABLE_RETRY_SECONDS:.0f} 秒ごとにつなぎ直します）。つながるまで、変更の保存と同期はできません。"
    )


def _settle() -> None:
    """After a tab is parsed or a view built: what exists now lives as long as the snapshot,
    so move it out of the cyclic collector's way (``gc.freeze``). Otherwise every full
    collection walks the millions of objects of a parsed workbook, and some rerun of some page
    pays half a second for it. They are still freed by reference counting when dropped."""
    gc.freeze()


def after_write() -> None:
    """Forget cached reads, so the next snapshot shows what was just written."""
    for reader in _readers.values():
        reader.clear()  # type: ignore[attr-defined]
    _derived.clear()
    gc.unfreeze()  # the next full collection may look at what the old snapshot left behind


def auto_sync() -> object | None:
    """Start (once per process) the demo malls' background sync when the settings ask for it."""
    from ui import autosync

    current = settings()
    if not autosync.wants_auto_sync(current):
        return None
    return autosync.start(_workbook_id(current), current, workbook(), after_write)


T = TypeVar("T")


def derived(name: str, build: Callable[[Tables], T]) -> T:
    """Something a page computes from the current snapshot (a DataFrame, counts), once per
    read rather than on every rerun. Shared between sessions: treat it as read-only."""
    snap = snapshot()
    return _derived(name, _workbook_id(settings()), snap.read_at.isoformat(), build, snap.tables)


@st.cache_resource(max_entries=64, show_spinner=False)
def _derived(name: str, workbook_id: str, read_at: str, _build: Callable[[Tables], T], _tables: Tables) -> T:
    built = _build(_tables)
    _settle()
    return built


def cells_used() -> int:
    """The workbook's cell count (one metadata request on Sheets), once per read."""
    return _cells_used(_workbook_id(settings()), snapshot().read_at.isoformat(), workbook())


@st.cache_resource(max_entries=8, show_spinner=False)
def _cells_used(workbook_id: str, read_at: str, _workbook: Workbook) -> int:
    return _workbook.cells_used()


def write(job: WriteJob) -> None:
    """Write one job to the workbook, then forget cached reads so every page shows it."""
    workbook().write(job)
    after_write()


def sync_engine(progress: Callable[[Progress], None] = lambda p: None) -> SyncEngine:
    """The same engine `python -m sync` runs, for 今すぐ同期 and for settling staff changes."""
    current = settings()
    return SyncEngine(
        workbook(),
        build_connectors(current),
        current.sync,
        progress=progress,
        archive=Archive(current.archive_url(), options=current.sql_options()),
    )
