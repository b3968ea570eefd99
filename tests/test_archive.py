"""Archiving old 同期ログ rows: copied to typed tables, checked there, then deleted from the
workbook in one job that moves the log's mark; safe to kill at any point and run again."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from settings import SyncSettings
from sheets_schema.archive import Archive
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import SYNC_LOG
from sync import state
from sync.archive import archive_history
from sync.engine import SyncEngine
from sync.settlement import LOG_MARK
from tests.test_sync_crash import CrashingWorkbook, Killed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
AGES_IN_DAYS = [90, 60, 45, 31, 29, 10, 1]  # oldest first, as the log grows


def _log_row(n: int, age_days: int) -> dict[str, Any]:
    at = NOW - timedelta(days=age_days)
    return {
        "実行ID": f"run-{n}",
        "開始日時": at,
        "終了日時": at,
        "モール": "楽天",
        "処理": "受注取込（rakuten）",
        "取得件数": n,
        "結果": "成功",
    }


def _history(workbook: Any) -> None:
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables[SYNC_LOG.title], [_log_row(n, age) for n, age in enumerate(AGES_IN_DAYS)])
    state.put(job, tables["_システム"], LOG_MARK, str(2 + len(AGES_IN_DAYS)), NOW)
    workbook.write(job)


def _engine(workbook: Any) -> SyncEngine:
    return SyncEngine(workbook, [], SyncSettings(lease_seconds=60), clock=lambda: NOW)


def _kept(workbook: Any) -> list[str]:
    return [r.run_id for r in read_tables(workbook)[SYNC_LOG.title].models()]


def test_old_log_rows_move_to_typed_tables_and_the_mark_follows(harness, tmp_path: Path) -> None:
    _history(harness.workbook)
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")

    planned = archive_history(_engine(harness.workbook), archive, after_days=30, dry_run=True)
    assert (planned.log_rows, planned.kept_log_rows) == (4, 3)
    assert len(_kept(harness.fresh_workbook())) == 7 and archive.count(SYNC_LOG) == 0

    done = archive_history(_engine(harness.fresh_workbook()), archive, after_days=30)
    assert done.summary() == "同期ログ 4 行を履歴データベースへ移しました（ワークブックに残る同期ログ 3 行）"
    assert _kept(harness.fresh_workbook()) == ["run-4", "run-5", "run-6"]
    rows = sorted(archive.rows(SYNC_LOG), key=lambda r: r["取得件数"])
    assert [(r["実行ID"], r["取得件数"], r["開始日時"]) for r in rows] == [
        (f"run-{n}", n, f"{NOW - timedelta(days=age):%Y-%m-%d %H:%M:%S}")
        for n, age in enumerate(AGES_IN_DAYS[:4])
    ]
    # Typed: one column per header, integers as integers, the key as primary key.
    columns = {c["name"]: c for c in inspect(archive.engine).get_columns("sync_log")}
    assert set(columns) == set(SYNC_LOG.headers)
    assert str(columns["取得件数"]["type"]) == "INTEGER"
    assert inspect(archive.engine).get_pk_constraint("sync_log")["constrained_columns"] == list(SYNC_LOG.key)

    system = {r.key: r.value for r in read_tables(harness.fresh_workbook())["_システム"].models()}
    assert system[LOG_MARK] == str(2 + 3)  # the next cycle appends right after the rows kept
    assert system["同期リース"] == ""
    assert archive_history(_engine(harness.fresh_workbook()), archive, after_days=30).log_rows == 0


class ArchiveKilled(Archive):
    """The real archive database, killed right after the copy committed."""

    def copy(self, spec: Any, rows: Any) -> int:
        super().copy(spec, rows)
        raise Killed


@pytest.mark.parametrize(("n", "after"), [(1, False), (1, True), (2, False), (2, True), (3, False)])
def test_a_pass_killed_at_any_write_then_run_again_keeps_every_row_exactly_once(
    harness, tmp_path: Path, n: int, after: bool
) -> None:
    _history(harness.workbook)
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    engine = _engine(CrashingWorkbook(harness.fresh_workbook(), crash_at=n, after=after))
    with contextlib.suppress(Killed):
        archive_history(engine, Archive(url), after_days=30)
    rerun = SyncEngine(
        harness.fresh_workbook(), [], SyncSettings(lease_seconds=60), clock=lambda: NOW + timedelta(minutes=5)
    )
    archive_history(rerun, Archive(url), after_days=30)
    _assert_exactly_once(harness, Archive(url))


def test_a_pass_killed_between_the_copy_and_the_delete_copies_nothing_twice(harness, tmp_path: Path) -> None:
    _history(harness.workbook)
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with contextlib.suppress(Killed):
        archive_history(_engine(harness.fresh_workbook()), ArchiveKilled(url), after_days=30)
    assert len(_kept(harness.fresh_workbook())) == 7  # copied, not yet deleted
    later = SyncEngine(
        harness.fresh_workbook(), [], SyncSettings(lease_seconds=60), clock=lambda: NOW + timedelta(minutes=5)
    )
    archive_history(later, Archive(url), after_days=30)
    _assert_exactly_once(harness, Archive(url))


def _assert_exactly_once(harness: Any, archive: Archive) -> None:
    kept = _kept(harness.fresh_workbook())
    archived = [r["実行ID"] for r in archive.rows(SYNC_LOG)]
    assert sorted(kept + archived) == sorted(f"run-{n}" for n in range(len(AGES_IN_DAYS)))
    assert kept == ["run-4", "run-5", "run-6"]
    system = {r.key: r.value for r in read_tables(harness.fresh_workbook())["_システム"].models()}
    assert int(system[LOG_MARK]) == 2 + len(kept)  # the next cycle appends right after them
