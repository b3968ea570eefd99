"""Shared fixtures: a Sheets API fake on loopback and one harness per workbook adapter.

A harness gives the contract tests what they need besides the port itself: a way to edit a tab
as a person would (reorder columns, add their own, type bad values) and to look at what is
stored, without going through the adapter under test.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import delete, insert, select, update

from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook
from sheets_schema.adapters.hybrid import HybridWorkbook, machine_owned
from sheets_schema.adapters.sql import SqlWorkbook, create_sql_engine, rows_table, tabs_table
from sheets_schema.book import ensure_tabs
from sheets_schema.grid import cell_text
from sheets_schema.workbook import Workbook
from tests import pg_cluster
from tests.fakes.sheets_api import FakeSheetsServer, make_service_account_info
from tests.page_probe import downloads  # noqa: F401  (a fixture: download payloads)
from tests.smtp_server import smtp  # noqa: F401  (a fixture: a real SMTP server on loopback)
from vocabulary.retry import RetryPolicy


@pytest.fixture
def fresh_caches() -> None:
    """Streamlit's caches live as long as the process; each test starts as a new server would."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def sql_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wb.sqlite3'}"


@pytest.fixture(scope="session")
def sheets_server() -> Iterator[FakeSheetsServer]:
    with FakeSheetsServer() as server:
        yield server


@pytest.fixture
def fake_sheets(sheets_server: FakeSheetsServer) -> Iterator[FakeSheetsServer]:
    sheets_server.clear_faults()
    sheets_server.reset_counts()
    yield sheets_server
    sheets_server.clear_faults()


def _text_grid(values: list[list[Any]]) -> list[list[str]]:
    return [[cell_text(v) for v in row] for row in values]


class SqlHarness:
    """The SQL adapter on a SQLite file, or (``url`` given) on a PostgreSQL database."""

    kind = "sql"

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.url = url or f"sqlite:///{path}"
        self.folder = path.parent
        self.new_database: Callable[[], str] | None = None  # PostgreSQL: another fresh database
        self.engine = create_sql_engine(self.url)
        self.workbook: Workbook = SqlWorkbook(self.url, engine=self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def archive_url(self) -> str:
        """Where this backend's archive goes: the same PostgreSQL database, or a SQLite file."""
        if self.dialect == "postgresql":
            return self.url
        return f"sqlite:///{self.folder / 'archive.sqlite3'}"

    def fresh_workbook(self) -> Workbook:
        return SqlWorkbook(self.url, engine=self.engine)

    def staff_put(self, title: str, values: list[list[Any]]) -> None:
        """Replace a tab's content as staff would by editing the sheet by hand."""
        with self.engine.begin() as conn:
            tab_id = conn.scalar(select(tabs_table.c.id).where(tabs_table.c.title == title))
            conn.execute(update(tabs_table).where(tabs_table.c.id == tab_id).values(header=values[0]))
            conn.execute(delete(rows_table).where(rows_table.c.tab_id == tab_id))
            if values[1:]:
                conn.execute(
                    insert(rows_table),
                    [
                        {"tab_id": tab_id, "row_number": i + 2, "cells": row}
                        for i, row in enumerate(values[1:])
                    ],
                )

    def stored(self, title: str) -> list[list[str]]:
        with self.engine.connect() as conn:
            tab = conn.execute(
                select(tabs_table.c.id, tabs_table.c.header).where(tabs_table.c.title == title)
            ).one()
            rows = conn.scalars(
                select(rows_table.c.cells)
                .where(rows_table.c.tab_id == tab.id)
                .order_by(rows_table.c.row_number)
            ).all()
        grid = _text_grid([tab.header, *rows])
        while grid and not any(grid[-1]):
            grid.pop()
        return [_trim(row) for row in grid]


def _trim(row: list[str]) -> list[str]:
    row = list(row)
    while row and row[-1] == "":
        row.pop()
    return row


@dataclass
class GoogleHarness:
    server: FakeSheetsServer
    folder: Path = Path(".")
    kind: str = "google"
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = self.server.create_spreadsheet("Ichigen テスト")
        self.workbook = self.fresh_workbook()

    def fresh_workbook(self, **options: Any) -> GoogleSheetsWorkbook:
        options.setdefault("policy", RetryPolicy(max_retries=3, base_seconds=0.01, max_seconds=0.05))
        return GoogleSheetsWorkbook(
            self.key,
            make_service_account_info(self.server.token_uri),
            api_base_url=self.server.base_url,
            sleep=self.sleeps.append,
            **options,
        )

    def staff_put(self, title: str, values: list[list[Any]]) -> None:
        old = self.server.values(self.key, title)
        height = max(len(values), len(old))
        width = max([len(r) for r in values + old] or [0])
        padded = [list(r) + [""] * (width - len(r)) for r in values] + [[""] * width] * (height - len(values))
        self.server.type_values(self.key, title, padded)

    def stored(self, title: str) -> list[list[str]]:
        return [_trim(row) for row in _text_grid(self.server.values(self.key, title))]

    def archive_url(self) -> str:
        return f"sqlite:///{self.folder / 'archive.sqlite3'}"


class HybridHarness:
    """Staff tabs on the Sheets fake, Ichigen's own tabs on a PostgreSQL database."""

    kind = "hybrid"
    dialect = "postgresql"

    def __init__(self, server: FakeSheetsServer, pg_url: str, folder: Path) -> None:
        self.folder = folder
        self.google = GoogleHarness(server, folder=folder)
        self.sql = SqlHarness(folder / "machine", pg_url)
        self.url = pg_url
        self.new_database: Callable[[], str] | None = None
        self.workbook: Workbook = self.fresh_workbook()

    @property
    def server(self) -> FakeSheetsServer:
        return self.google.server

    def fresh_workbook(self) -> Workbook:
        return HybridWorkbook(self.google.fresh_workbook(), SqlWorkbook(self.sql.url, engine=self.sql.engine))

    def _side(self, title: str) -> SqlHarness | GoogleHarness:
        return self.sql if machine_owned(title) else self.google

    def staff_put(self, title: str, values: list[list[Any]]) -> None:
        self._side(title).staff_put(title, values)

    def stored(self, title: str) -> list[list[str]]:
        return self._side(title).stored(title)

    def archive_url(self) -> str:
        return self.url


# -- PostgreSQL: a real server (see tests/pg_cluster.py), one fresh database per test


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str | None]:
    with pg_cluster.server_url() as url:
        yield url


@pytest.fixture
def pg_database(pg_server: str | None) -> Iterator[Callable[[], str]]:
    """Makes fresh databases on the test server (dropped after the test); skips without one."""
    if pg_server is None:
        pytest.skip("PostgreSQL がありません（ICHIGEN_TEST_PG_URL も initdb もない）")
    made: list[str] = []

    def make() -> str:
        made.append(pg_cluster.create_database(pg_server))
        return made[-1]

    yield make
    for url in made:
        pg_cluster.drop_database(pg_server, url)


@pytest.fixture
def pg_url(pg_database: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return pg_database()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec else ()
        fixtures = getattr(item, "fixturenames", ())
        if "pg_database" in fixtures or "postgresql" in params or "hybrid" in params:
            item.add_marker(pytest.mark.postgresql)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With ICHIGEN_REQUIRE_PG=1 (CI), a skipped PostgreSQL test fails the run."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get(pg_cluster.REQUIRE_ENV) == "1"
        and item.get_closest_marker("postgresql")
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"PostgreSQL のテストがスキップされました（{pg_cluster.REQUIRE_ENV}=1）: {report.longrepr}"
        )


@pytest.fixture(autouse=True)
def no_unexpected_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A page that fails shows staff a Japanese notice (ui/unexpected.py) instead of raising,
    so AppTest's ``at.exception`` no longer sees it: any test in which that happened fails here,
    with the traceback, unless it is marked ``unexpected_page_error`` (it provokes one)."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            caught.append(record)

    handler = Catch(level=logging.ERROR)
    logger = logging.getLogger("ichigen.app")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if caught and request.node.get_closest_marker("unexpected_page_error") is None:
        details = "\n".join(logging.Formatter().format(r) for r in caught)
        pytest.fail(f"a page failed (ui/unexpected.py caught it):\n{details}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs against a real PostgreSQL server")
    config.addinivalue_line("markers", "unexpected_page_error: the test makes a page fail on purpose")
    config.addinivalue_line("markers", "backends(*names): the harness backends this test runs on")


# Test modules that run on PostgreSQL too set HARNESS_BACKENDS = ("sql", "postgresql", "google", "hybrid")
# ("hybrid": staff tabs on the Sheets fake, the rest on PostgreSQL).
DEFAULT_BACKENDS = ("sql", "google")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("backends")  # @pytest.mark.backends("hybrid")
        backends = only.args if only else getattr(metafunc.module, "HARNESS_BACKENDS", DEFAULT_BACKENDS)
        metafunc.parametrize("harness", backends, indirect=True)


@pytest.fixture
def harness(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SqlHarness | GoogleHarness | HybridHarness]:
    if request.param == "sql":
        made: SqlHarness | GoogleHarness | HybridHarness = SqlHarness(tmp_path / "workbook.sqlite3")
    elif request.param == "postgresql":
        made = SqlHarness(tmp_path / "workbook", request.getfixturevalue("pg_url"))
        made.new_database = request.getfixturevalue("pg_database")
    elif request.param == "hybrid":
        made = HybridHarness(
            request.getfixturevalue("fake_sheets"), request.getfixturevalue("pg_url"), tmp_path
        )
        made.new_database = request.getfixturevalue("pg_database")
    else:
        made = GoogleHarness(request.getfixturevalue("fake_sheets"), folder=tmp_path)
    ensure_tabs(made.workbook)
    yield made
    if isinstance(made, SqlHarness):
        made.engine.dispose()
    elif isinstance(made, HybridHarness):
        made.sql.engine.dispose()
