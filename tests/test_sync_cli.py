"""python -m sync on the embedded demo workbook: once imports and pushes, a second run imports
nothing new; push --dry-run shows the plan and sends nothing; a held lease is a clear refusal."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from settings import PROJECT_ROOT, load_settings_file
from sheets_schema.book import open_prepared_workbook, open_workbook, read_tables
from sheets_schema.cells import JST
from sync.__main__ import main
from sync.engine import SyncEngine


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n', encoding="utf-8")
    return path


def test_once_imports_from_the_four_demo_malls_and_a_second_run_imports_nothing(
    secrets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--secrets", str(secrets), "push", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "初回送信" in plan and "送信していません" in plan
    tables = read_tables(open_workbook(load_settings_file(secrets, {})))
    assert tables["_在庫送信"].records == []  # the dry run sent nothing

    assert main(["--secrets", str(secrets), "once"]) == 0
    out = capsys.readouterr().out
    for mall in ("楽天", "Amazon", "Yahoo!", "Shopify"):
        assert f"{mall}（" in out and f"{mall} 在庫送信" in out
    assert "[取込]" in out and "[送信]" in out  # progress as it goes
    assert main(["--secrets", str(secrets), "--quiet", "once"]) == 0
    again = capsys.readouterr().out
    assert again.count("新規 0") == 4 and "在庫送信" not in again
    assert main(["--secrets", str(secrets), "push", "--dry-run"]) == 0
    assert "送信が必要な在庫はありません" in capsys.readouterr().out


def test_a_second_runner_gets_a_clear_message_and_exit_code(secrets: Path) -> None:

    settings = load_settings_file(secrets, {})

    engine = SyncEngine(
        open_prepared_workbook(settings, datetime.now(JST)), [], settings.sync, holder="other-host-1-abc"
    )
    engine.acquire_lease()  # a runner elsewhere holds the workbook
    done = subprocess.run(
        [sys.executable, "-m", "sync", "--secrets", str(secrets), "--quiet", "once"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert "別の同期（other-host-1-abc）が実行中です" in done.stderr


def test_watch_wakes_early_for_a_sync_request_and_its_next_cycle_answers_it(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from sheets_schema.changes import WriteJob
    from sync import __main__ as cli
    from sync import state
    from sync.connectors import build_connectors

    settings = load_settings_file(secrets, {})
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    runner = SyncEngine(workbook, build_connectors(settings), settings.sync, keep_lease=True)
    runner.run_once()
    monkeypatch.setattr(cli, "REQUEST_POLL_SECONDS", 0.05)
    cli.wait_for_next_cycle(runner, time.monotonic() + 0.2)  # nothing asked: sleeps it out

    job = WriteJob()
    now = datetime.now(JST)
    state.put(
        job, read_tables(workbook)["_システム"], state.REQUEST_KEY, state.request_text(now, "店長"), now
    )
    workbook.write(job)  # 今すぐ同期 on the 同期 page
    deadline = time.monotonic() + 600
    cli.wait_for_next_cycle(runner, deadline)
    assert time.monotonic() < deadline  # woken by the request, not by the interval
    runner.run_once()
    stored = state.values(read_tables(workbook)["_システム"])
    assert state.answered_at(stored, stored[state.REQUEST_KEY]) is not None
    assert not runner.sync_requested()
    runner.release_lease()


class VirtualTime:
    """What ``sync watch`` asks of the time module, on a clock that moves only when it sleeps;
    Ctrl+C (KeyboardInterrupt) once ``stop_after`` seconds have passed."""

    def __init__(self, stop_after: float) -> None:
        self.now, self.stop_after = 0.0, stop_after

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.now > self.stop_after:
            raise KeyboardInterrupt


def test_watch_archives_when_it_starts_and_then_once_a_day(
    secrets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sync import __main__ as cli
    from sync.connectors import build_connectors

    settings = load_settings_file(secrets, {})
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    runner = SyncEngine(workbook, build_connectors(settings), settings.sync, keep_lease=True)
    clock = VirtualTime(stop_after=49 * 3600)
    monkeypatch.setattr(cli, "time", clock)
    monkeypatch.setattr(cli, "REQUEST_POLL_SECONDS", 3600.0)  # one look for 今すぐ同期 an hour
    passes: list[float] = []

    def archive() -> str:
        passes.append(clock.now)
        return "履歴データベースへ移しました（テスト）"

    assert cli.watch(runner, interval=6 * 3600, archive=archive) == 0  # stopped by Ctrl+C
    # Cycles at 0, 6, 12 … 48 hours: the archive pass at the start, then every 24 hours.
    assert passes == [0.0, 24 * 3600.0, 48 * 3600.0]
    out = capsys.readouterr().out
    assert out.count("--- ") == 9 and out.count("履歴データベースへ移しました（テスト）") == 3
    assert "同期を止めました" in out
    from sync import state

    assert state.values(read_tables(workbook)["_システム"]).get(state.LEASE_KEY, "") == ""  # given back
