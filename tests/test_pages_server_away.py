"""While the workbook's database server cannot be reached, pages keep showing the last snapshot
read, with a warning, instead of an error; when the server is back, a fresh read replaces it.
The server is a real PostgreSQL behind a loopback gate that is shut like a network going away."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import make_url
from streamlit.testing.v1 import AppTest

from tests.page_probe import APP
from tests.tcp_gate import TcpGate
from ui import context

STALE = "に読み込んだ内容を表示しています"


def _home(url: str, archive: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["workbook"] = {
        "backend": "sql",
        "sql_url": url,
        "archive_url": f"sqlite:///{archive}",
        "connect_timeout_seconds": 2,
    }
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["app"] = {"cache_ttl_seconds": 1}
    return at


def test_pages_show_the_last_snapshot_while_the_database_server_is_away(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_url(pg_url)
    gate = TcpGate(server.port or 5432, server.host or "127.0.0.1")
    url = server.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)
    at = _home(url, tmp_path / "archive.sqlite3")
    at.run()
    assert not at.exception and not at.error
    assert not [w for w in at.warning if STALE in w.value]
    shown = [m.value for m in at.metric]
    assert shown  # ホーム's figures from the demo shop on the server

    gate.close()
    time.sleep(1.2)  # the cached read has expired: the next run must ask the server
    # Another member of staff opens the app (a new session runs app.py, which shows the notice;
    # AppTest's later runs of a session run only the page).
    away = _home(url, tmp_path / "archive.sqlite3")
    away.run()
    assert not away.exception and not away.error
    (stale,) = [w.value for w in away.warning if STALE in w.value]
    assert "データベースサーバー" in stale and "接続できない" in stale
    assert [m.value for m in away.metric] == shown  # the same figures, from the last read
    at.run()  # the first session's rerun draws its page from the last read too
    assert not at.exception and [m.value for m in at.metric] == shown

    gate.open()
    monkeypatch.setattr(context, "UNAVAILABLE_RETRY_SECONDS", 0.0)
    context._away.clear()  # as after the retry interval has passed
    back = _home(url, tmp_path / "archive.sqlite3")
    back.run()
    assert not back.exception and not back.error
    assert not [w for w in back.warning if STALE in w.value]
    assert [m.value for m in back.metric] == shown
    gate.close()


def test_with_no_snapshot_yet_an_unreachable_server_is_the_japanese_error(tmp_path: Path) -> None:
    gate = TcpGate(1)  # forwards nowhere
    gate.close()
    at = _home(f"postgresql+psycopg://shop:hunter2@127.0.0.1:{gate.port}/ichigen", tmp_path / "a.sqlite3")
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "データベースサーバー" in error and "hunter2" not in error


def test_sync_watch_started_while_the_server_is_away_waits_and_starts_when_it_is_back(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from settings import load_settings
    from sync import __main__ as cli

    server = make_url(pg_url)
    gate = TcpGate(server.port or 5432, server.host or "127.0.0.1")
    gate.close()
    url = server.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)
    settings = load_settings(
        {
            "workbook": {
                "backend": "sql",
                "sql_url": url,
                "archive_url": f"sqlite:///{tmp_path / 'archive.sqlite3'}",
                "connect_timeout_seconds": 2,
            }
        }
    )
    slept: list[float] = []

    class Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) == 2:
                gate.open()  # the server is back after the second wait

    monkeypatch.setattr(cli, "time", Time)
    engine = cli.build_engine_when_reachable(settings, lambda _: None, interval=7)
    assert slept == [7, 7]
    err = capsys.readouterr().err
    assert err.count("同期を始められません") == 2 and "7 秒後に再試行します" in err
    assert "データベースサーバー" in err
    report = engine.run_once()  # a working engine on the server: the four demo malls import
    assert len(report.runs) == 4 and {r.result for r in report.runs} == {"成功"}
    engine.workbook.engine.dispose()  # type: ignore[attr-defined]
    gate.close()
