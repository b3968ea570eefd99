"""A crash at any point, then a rerun, ends in the same workbook as an uninterrupted run.

``CrashingWorkbook`` dies (a BaseException nothing in the engine may catch, like kill -9) just
before or just after the n-th write of a cycle, for every n; a real ``kill -9`` of
``python -m sync once`` is tested too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import ensure_tabs, open_workbook, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.workbook import Workbook, runner_lock
from tests.conftest import GoogleHarness, HybridHarness, SqlHarness
from tests.shop_fixtures import Shop, busy_demo_channels, ledger_problems, open_shop, snapshot

HARNESS_BACKENDS = ("sql", "postgresql", "google", "hybrid")


class Killed(BaseException):
    """The process is gone: no except-Exception clause may see this."""


class CrashingWorkbook:
    def __init__(self, inner: Workbook, crash_at: int, after: bool) -> None:
        self.inner, self.crash_at, self.after, self.writes = inner, crash_at, after, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def info(self) -> Any:
        return self.inner.info

    def write(self, job: WriteJob) -> None:
        self.writes += 1
        if self.writes == self.crash_at and not self.after:
            self.die()
        self.inner.write(job)
        if self.writes == self.crash_at and self.after:
            self.die()

    def die(self) -> None:
        """The process is gone. On PostgreSQL its sessions end with it, and the server frees the
        runner's advisory lock: what a real kill -9 does (tested with processes elsewhere)."""
        lock = runner_lock(self.inner)
        if lock is not None:
            lock.release()
        raise Killed


def cycle_twice(shop: Shop, first_workbook: Any = None) -> None:
    """A cycle at t0 (maybe killed), then one after the dead runner's lease ran out."""
    engine = shop.engine()
    if first_workbook is not None:
        engine.workbook = first_workbook
    with contextlib.suppress(Killed):
        engine.run_once()
    shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
    shop.engine().run_once()


def another_workbook(harness: Any, folder: Path, name: str) -> Workbook:
    """A new, empty workbook on the same adapter as ``harness``."""
    if harness.kind == "google":
        made: Any = GoogleHarness(harness.server)
    elif harness.kind == "hybrid":
        made = HybridHarness(harness.server, harness.new_database(), folder / name)
    elif harness.dialect == "postgresql":
        made = SqlHarness(folder / name, harness.new_database())  # a database of its own
    else:
        made = SqlHarness(folder / f"{name}.sqlite3")
    ensure_tabs(made.workbook)
    return made.workbook


def test_a_crash_before_or_after_any_write_then_a_rerun_matches_an_uninterrupted_run(
    harness, tmp_path: Path
) -> None:
    reference = open_shop(harness.workbook, tmp_path / "reference-malls")
    counter = CrashingWorkbook(reference.workbook, crash_at=0, after=False)
    cycle_twice(reference, counter)
    expected = snapshot(reference.workbook)
    assert counter.writes >= 3  # lease, import, push at least

    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"crash-{n}-{'after' if after else 'before'}"
            shop = open_shop(another_workbook(harness, tmp_path, name), tmp_path / name)
            cycle_twice(shop, CrashingWorkbook(shop.workbook, crash_at=n, after=after))
            assert snapshot(shop.workbook) == expected, name
            assert ledger_problems(read_tables(shop.workbook)) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_of_a_running_sync_then_a_rerun_loses_and_doubles_nothing(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    # On PostgreSQL the killed runner's advisory lock goes with its session; on SQLite the
    # rerun sees the dead local process behind the lease.
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    secrets = tmp_path / "secrets.toml"
    archive = f'archive_url = "{url}"\n' if backend == "postgresql" else ""
    secrets.write_text(
        f'[workbook]\nsql_url = "{url}"\n{archive}[sync]\nlease_seconds = 600\n'
        # The demo malls' state in this test's folder (beside a SQLite file it is there anyway).
        + "".join(
            f"[malls.{channel}]\n"
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items())
            + f'state_dir = "{tmp_path / "demo_malls"}"\n'
            for channel, section in busy_demo_channels().items()
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "sync", "--secrets", str(secrets), "--quiet", "once"]
    for delay in (0.6, 1.0, 1.4, 1.8):
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)  # no cleanup, no lease release
        process.wait()
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # a dead local runner's lease does not block
    workbook = open_workbook(load_settings({"workbook": {"sql_url": url}}))
    tables = read_tables(workbook)
    assert ledger_problems(tables) == []
    assert [str(e) for t in tables.values() for e in t.errors] == []  # no duplicated key anywhere
    again = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert "新規 0" in again.stdout and again.stdout.count("新規 0") == 4


class CrashingSheets(CrashingWorkbook):
    """The hybrid's spreadsheet half that dies just before or just after its n-th write lands:
    the moments between the database half being applied and its commit. The runner's lock is
    the database half's."""

    def __init__(self, inner: Any, machine: Any, crash_at: int, after: bool) -> None:
        super().__init__(inner, crash_at, after)
        self.machine = machine

    def die(self) -> None:
        lock = self.machine.runner_lock()
        if lock is not None:
            lock.release()
        raise Killed


@pytest.mark.backends("hybrid")
def test_hybrid_a_crash_between_the_sheets_half_and_the_database_commit_is_repaired(
    harness, tmp_path: Path
) -> None:
    """Killed after the database half was applied (uncommitted) and recorded as pending, just
    before or just after the Sheets half landed: the next run finishes or drops that job by
    the marker on Sheets, and ends where an uninterrupted run ends."""
    from sheets_schema.adapters.hybrid import HybridWorkbook

    reference = open_shop(harness.workbook, tmp_path / "reference-malls")
    counter = CrashingSheets(reference.workbook.sheets, reference.workbook.machine, crash_at=0, after=False)
    cycle_twice(reference, HybridWorkbook(counter, reference.workbook.machine))
    expected = snapshot(reference.workbook)
    assert counter.writes >= 1  # the import (受注, 在庫 with the ledger) at least

    repaired = 0
    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"hybrid-{n}-{'after' if after else 'before'}"
            workbook = another_workbook(harness, tmp_path, name)
            shop = open_shop(workbook, tmp_path / name)
            crashing = CrashingSheets(workbook.sheets, workbook.machine, crash_at=n, after=after)
            engine = shop.engine()
            engine.workbook = HybridWorkbook(crashing, workbook.machine)
            with contextlib.suppress(Killed):
                engine.run_once()
            if crashing.writes >= n:
                assert workbook.pending_jobs() == 1, name  # the dead job is still to be settled
                repaired += after
            shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
            shop.engine().run_once()
            assert workbook.pending_jobs() == 0, name
            assert snapshot(workbook) == expected, name
            assert ledger_problems(read_tables(workbook)) == []
    assert repaired >= 1  # a job whose Sheets half landed was finished from the record


def test_kill_9_of_a_running_sync_on_the_hybrid_then_a_rerun_loses_and_doubles_nothing(
    tmp_path: Path, fake_sheets: Any, pg_url: str
) -> None:
    """Real processes on the hybrid (staff tabs on the Sheets fake over loopback, the rest on
    PostgreSQL), killed with SIGKILL at several moments of a cycle: the rerun settles whatever
    job was cut in two, and nothing is lost or counted twice."""
    from datetime import datetime

    from sheets_schema.book import seed_demo_if_new
    from sheets_schema.cells import JST
    from tests.fakes.sheets_api import make_service_account_info

    made = HybridHarness(fake_sheets, pg_url, tmp_path)
    seed_demo_if_new(made.workbook, datetime.now(JST))
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(make_service_account_info(fake_sheets.token_uri)), encoding="utf-8")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[google]\nspreadsheet_key = "{made.google.key}"\nservice_account_file = "{key_file}"\n'
        f'api_base_url = "{fake_sheets.base_url}"\n\n[workbook]\nmachine_url = "{pg_url}"\n'
        "[sync]\nlease_seconds = 600\n"
        + "".join(
            f"[malls.{channel}]\n"
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items())
            + f'state_dir = "{tmp_path / "demo_malls"}"\n'
            for channel, section in busy_demo_channels().items()
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "sync", "--secrets", str(secrets), "--quiet", "once"]
    # Kill later and later (each run starts the cycle over) until a run finishes by itself:
    # the kills then fell at moments all through a cycle, whatever this machine's speed.
    mid_cycle, delay = 0, 0.5
    while True:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)  # no cleanup: the server ends its sessions
        process.wait()
        mid_cycle += 1
        delay += 0.2
        assert delay < 30, "a run never finished"
    assert mid_cycle >= 3
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    workbook = made.fresh_workbook()
    assert workbook.pending_jobs() == 0  # type: ignore[attr-defined]
    tables = read_tables(workbook)
    assert len(tables["受注"].records) > 0
    assert ledger_problems(tables) == []
    assert [str(e) for t in tables.values() for e in t.errors] == []  # no duplicated key anywhere
    again = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert "新規 0" in again.stdout and again.stdout.count("新規 0") == 4
