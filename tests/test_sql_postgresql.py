"""What only the SQL adapter on PostgreSQL has to prove, on a real server: concurrent writers
take turns per tab and the later one sees the earlier one's rows; statement timeout, sslmode
and an unreachable server end in a Japanese WorkbookUnavailable; passwords are never shown."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from settings import load_settings
from sheets_schema.adapters.sql import SqlOptions, SqlWorkbook, masked_url
from sheets_schema.book import ensure_tabs, open_workbook, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.tabs import ORDERS
from tests.test_workbook_contract import order


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_a_japanese_error_that_never_shows_the_password() -> None:
    url = f"postgresql+psycopg://shop:hunter2@127.0.0.1:{_closed_port()}/ichigen"
    with pytest.raises(WorkbookUnavailable) as caught:
        SqlWorkbook(url, options=SqlOptions(connect_timeout_seconds=2))
    message = str(caught.value)
    assert "データベースサーバー" in message and "接続できない" in message and "再試行" in message
    assert "hunter2" not in message and "***" in message


def test_the_location_shown_hides_the_password(pg_url: str) -> None:
    with_password = make_url(pg_url).set(password="hunter2").render_as_string(hide_password=False)
    workbook = SqlWorkbook(with_password)  # the test server trusts loopback: any password works
    assert "hunter2" not in workbook.info.location and workbook.info.location.startswith("postgresql")
    assert "hunter2" not in masked_url(pg_url + "?password=hunter2")
    workbook.engine.dispose()


def test_sslmode_in_the_url_is_honoured(pg_url: str) -> None:
    # The throwaway test server has no certificate: require must fail, disable must work.
    SqlWorkbook(pg_url + "?sslmode=disable").engine.dispose()
    with pytest.raises(WorkbookUnavailable, match="接続できない"):
        SqlWorkbook(pg_url + "?sslmode=require")


def test_settings_reach_the_connection(pg_url: str) -> None:
    settings = load_settings(
        {"workbook": {"backend": "sql", "sql_url": pg_url, "statement_timeout_seconds": 7, "pool_size": 1}}
    )
    workbook = open_workbook(settings)
    with workbook.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.scalar(text("SHOW statement_timeout")) == "7s"
    assert workbook.engine.pool.size() == 1  # type: ignore[attr-defined]
    workbook.engine.dispose()  # type: ignore[attr-defined]


def _workbook(url: str, **options: float) -> SqlWorkbook:
    workbook = SqlWorkbook(url, options=SqlOptions(**options))  # type: ignore[arg-type]
    ensure_tabs(workbook)
    return workbook


def test_a_writer_waits_for_the_tab_then_sees_the_rows_written_meanwhile(pg_url: str) -> None:
    workbook = _workbook(pg_url)
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [order("A-1")])
    outcome: list[BaseException | None] = []
    other = workbook.engine.connect()
    with other.begin():
        # Another job, mid-transaction: it holds the tab and appends where ours will.
        tab = other.scalar(
            text("SELECT id FROM ichigen_tabs WHERE title = :t FOR UPDATE"), {"t": ORDERS.title}
        )
        other.execute(
            text("INSERT INTO ichigen_rows (tab_id, row_number, cells) VALUES (:t, 2, CAST(:c AS json))"),
            {"t": tab, "c": '["楽天","B-1"]'},
        )

        def write() -> None:
            try:
                workbook.write(job)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive()  # waiting for the tab, not writing past the other job
    thread.join(10)
    other.close()
    assert len(outcome) == 1 and isinstance(outcome[0], StaleWorkbookError), outcome
    assert [row[:2] for row in workbook.read([ORDERS.title])[ORDERS.title].rows] == [["楽天", "B-1"]]
    workbook.engine.dispose()


def test_a_statement_past_its_timeout_is_stopped_with_a_japanese_error(pg_url: str) -> None:
    workbook = _workbook(pg_url, statement_timeout_seconds=0.5)
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [order("A-1")])
    other = workbook.engine.connect()
    with other.begin():
        other.execute(text("SELECT id FROM ichigen_tabs WHERE title = :t FOR UPDATE"), {"t": ORDERS.title})
        with pytest.raises(WorkbookUnavailable, match="制限時間"):
            workbook.write(job)
    other.close()
    workbook.write(job)  # once the other job is done, the same job goes through
    assert [o.order_number for o in read_tables(workbook)[ORDERS.title].models()] == ["A-1"]
    workbook.engine.dispose()


def test_two_processes_opening_a_new_database_at_once_make_its_tables_once(
    pg_url: str, tmp_path: Path
) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            ensure_tabs(SqlWorkbook(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    workbook = SqlWorkbook(pg_url)
    assert len(workbook.tab_titles()) == len(set(workbook.tab_titles()))
    workbook.engine.dispose()
