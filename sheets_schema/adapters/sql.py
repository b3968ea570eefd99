"""The workbook in a SQL database (SQLite by default) through SQLAlchemy 2 Core.

Each tab is a row of ``ichigen_tabs`` (title, position, hidden, header) and its rows live in
``ichigen_rows`` as JSON arrays of cells, so staff-added and reordered columns behave exactly
as on Google Sheets.

SQLite and PostgreSQL (``postgresql+psycopg://``, psycopg 3) are both first-class: one
transaction per job, its expectations checked inside it. SQLite has one writer at a time
(BEGIN IMMEDIATE); on PostgreSQL a job locks the rows of the tabs it touches (SELECT … FOR
UPDATE, in id order) before it checks anything, so two writers to a tab take turns and each sees
the other's rows, and a read is one REPEATABLE READ snapshot across its tabs. Other databases
take the portable path.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from sheets_schema.changes import WriteJob, conflict
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.grid import FIRST_DATA_ROW, Grid, cell_text, no_gc
from sheets_schema.workbook import NewTab, WorkbookInfo

metadata = MetaData()
tabs_table = Table(
    "ichigen_tabs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(100), nullable=False, unique=True),
    Column("position", Integer, nullable=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("header", JSON, nullable=False),
)
rows_table = Table(
    "ichigen_rows",
    metadata,
    Column("tab_id", Integer, ForeignKey("ichigen_tabs.id"), primary_key=True),
    Column("row_number", Integer, primary_key=True, autoincrement=False),
    Column("cells", JSON, nullable=False),
)

# Large IN lists are split so that no backend hits its bound-parameter limit.
_CHUNK = 400


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's begin event (below) issue BEGIN itself: pysqlite would otherwise start
    # the transaction only at the first write, after the job's reads, and two writers could
    # both compute the same next row number.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the app) never block the sync writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True)
class SqlOptions:
    """Connection settings for a database server ([workbook] in settings; SQLite ignores them).

    Passwords come with the URL from secrets.toml or the environment and are never shown: see
    ``masked_url``. ``sslmode`` and other libpq parameters go in the URL's query string."""

    statement_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    pool_size: int = 2
    max_overflow: int = 3


def masked_url(url: str | URL) -> str:
    """The URL as it may be shown or logged: no password, neither in the user part nor as a
    ``password=`` query parameter."""
    parsed = make_url(url)
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


def create_sql_engine(url: str, options: SqlOptions | None = None) -> Engine:
    parsed = make_url(url)
    options = options or SqlOptions()
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql":
        timeout_ms = int(options.statement_timeout_seconds * 1000)
        engine = create_engine(
            url,
            json_serializer=_dumps,
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            pool_pre_ping=True,  # a server restarted between cycles: a new connection, no error
            pool_recycle=1800,
            connect_args={
                "connect_timeout": max(1, int(options.connect_timeout_seconds)),
                "options": f"-c statement_timeout={timeout_ms}",
                "application_name": "ichigen",
            },
        )
        return engine
    engine = create_engine(url, json_serializer=_dumps)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def unavailable(exc: SQLAlchemyError, location: str, doing: str) -> WorkbookUnavailable:
    """A Japanese sentence for staff (``doing``: "読め" or "書き込め"): the server could not be
    reached, a statement ran past its timeout, or the database refused; never a password or SQL."""
    name = exc.orig.__class__.__name__ if isinstance(exc, DBAPIError) and exc.orig is not None else ""
    what = "ワークブック（データベース）" + ("を" if doing == "読め" else "に")
    if name == "QueryCanceled":
        return WorkbookUnavailable(
            f"データベース（{location}）の処理が制限時間（[workbook] statement_timeout_seconds）内に"
            f"終わらなかったため、{what}{doing}ませんでした。次の同期でやり直します"
        )
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or name in ("OperationalError", "InterfaceError", "ConnectionTimeout")
    ):
        return WorkbookUnavailable(
            f"データベースサーバー（{location}）に接続できないため、{what}{doing}ませんでした。"
            "サーバーが動いているか、sql_url・archive_url の設定とネットワークを確認してください（同期は次の回に再試行します）"
        )
    return WorkbookUnavailable(f"{what}{doing}ませんでした: {exc.__class__.__name__}")


def _sqlite_begin(conn: Connection) -> None:
    # Write jobs take SQLite's write lock up front (BEGIN IMMEDIATE): one writer at a time,
    # each seeing the previous one's rows. Reads get a plain BEGIN: one consistent snapshot.
    immediate = conn.get_execution_options().get("ichigen_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _number_text(text: str) -> str:
    return cell_text(float(text))


def _decode_rows(stored: list[Any]) -> list[list[str]]:
    """Rows of cell text from the stored JSON arrays, exactly as ``cell_text`` of each decoded
    cell. The rows are decoded in one go, numbers straight to their text; true/false/null are
    rare and fixed after. A row holding a nested array or object (never written by Ichigen)
    is decoded again alone, the plain way."""

    def plain(cells: Any) -> list[str]:
        cells = json.loads(cells) if isinstance(cells, str) else cells
        return [cell_text(c) for c in cells] if isinstance(cells, list) else []

    texts = [i for i, c in enumerate(stored) if isinstance(c, str) and c.startswith("[")]
    rows: list[list[str]] = [[] for _ in stored]
    with no_gc():  # only lists of strings are made here: no cycles for the collector to find
        decoded = json.loads(
            "[" + ",".join(stored[i] for i in texts) + "]", parse_int=str, parse_float=_number_text
        )
        for i, row in zip(texts, decoded, strict=True):
            text = stored[i]
            if ("{" in text or text.count("[") > 1) and not all(
                type(c) is str or c is None or type(c) is bool for c in row
            ):
                rows[i] = plain(text)
            elif None in row or True in row or False in row:
                rows[i] = [cell_text(c) for c in row]
            else:
                rows[i] = row
    if len(texts) != len(stored):
        done = set(texts)
        for i, cells in enumerate(stored):
            if i not in done:
                rows[i] = plain(cells)
    return rows


_FLAT_TYPES = frozenset({str, type(None), bool})


class _NestedCell(Exception):
    """A stored cell holds a JSON object: never written by Ichigen; read that tab the plain way."""


def _refuse_object(_pairs: Any) -> Any:
    raise _NestedCell


def _sqlite_tab_rows(conn: Connection, tab_id: int, start: int) -> tuple[list[int], list[list[str]]]:
    """A tab's row numbers and rows from ``start`` on, on SQLite: SQLite joins the cells' JSON
    texts into one array (and the row numbers into one list, in the same pass, so they pair up
    whatever order it takes them in), and Python decodes it with one json.loads: no Python
    object per row until the rows themselves. About a third cheaper than row by row."""
    numbers, text = conn.exec_driver_sql(
        "SELECT group_concat(row_number, ','), '[' || coalesce(group_concat(cells, ','), '') || ']' "
        "FROM (SELECT row_number, cells FROM ichigen_rows WHERE tab_id = ? AND row_number >= ? "
        "ORDER BY row_number)",
        (tab_id, start),
    ).one()
    return _joined_tab_rows(conn, tab_id, start, numbers, text)


_POSTGRESQL_TAB = text(
    "SELECT string_agg(row_number::text, ',' ORDER BY row_number),"
    " '[' || coalesce(string_agg(cells::text, ',' ORDER BY row_number), '') || ']'"
    " FROM ichigen_rows WHERE tab_id = :tab AND row_number >= :start"
)


def _postgresql_tab_rows(conn: Connection, tab_id: int, start: int) -> tuple[list[int], list[list[str]]]:
    """The same on PostgreSQL: string_agg joins the cells' JSON texts (the json type keeps the
    text as written) in row order into one array, decoded by one json.loads."""
    numbers, joined = conn.execute(_POSTGRESQL_TAB, {"tab": tab_id, "start": start}).one()
    return _joined_tab_rows(conn, tab_id, start, numbers, joined)


def _joined_tab_rows(
    conn: Connection, tab_id: int, start: int, numbers: str | None, text: str
) -> tuple[list[int], list[list[str]]]:
    """Rows from the database's one JSON array of a tab's rows (and its row numbers, joined
    with commas in the same pass); the plain way when a cell is not flat text."""
    if not numbers:
        return [], []
    try:
        rows = json.loads(text, parse_int=str, parse_float=_number_text, object_pairs_hook=_refuse_object)
    except _NestedCell:
        return _plain_tab_rows(conn, tab_id, start)
    order = [int(n) for n in numbers.split(",")]
    if len(order) != len(rows):  # cannot happen (cells is NOT NULL)
        return _plain_tab_rows(conn, tab_id, start)
    if set(map(type, rows)) != {list}:
        return _plain_tab_rows(conn, tab_id, start)
    if text.count("[") != len(rows) + 1:  # a "[" in some text, or an array in a cell
        for row in rows:
            if not set(map(type, row)) <= _FLAT_TYPES:
                return _plain_tab_rows(conn, tab_id, start)
    if "null" in text or "true" in text or "false" in text:  # maybe a cell that is not text
        for i, row in enumerate(rows):
            if None in row or True in row or False in row:
                rows[i] = [cell_text(c) for c in row]
    if not all(map(operator.lt, order, itertools.islice(order, 1, None))):
        pairs = sorted(zip(order, rows, strict=True), key=lambda pair: pair[0])
        order, rows = [n for n, _ in pairs], [r for _, r in pairs]
    return order, rows


def _plain_tab_rows(conn: Connection, tab_id: int, start: int) -> tuple[list[int], list[list[str]]]:
    result = conn.execute(
        select(rows_table.c.row_number, rows_table.c.cells)
        .where(rows_table.c.tab_id == tab_id, rows_table.c.row_number >= start)
        .order_by(rows_table.c.row_number)
    ).all()
    rows = [[cell_text(c) for c in cells] if isinstance(cells, list) else [] for _, cells in result]
    return [n for n, _ in result], rows


def _fill(grid: Grid, numbers: Sequence[int], rows: list[list[str]]) -> None:
    """Put rows read from ``grid.first_row`` on into the grid, padded to the header's width."""
    width = len(grid.header)
    first = grid.first_row
    if numbers and numbers[0] == first and numbers[-1] == first + len(numbers) - 1:
        # No gaps (always, today): the rows as they are, padded where short.
        if min(map(len, rows)) < width:
            for row in rows:
                if len(row) < width:
                    row.extend([""] * (width - len(row)))
        grid.rows.extend(rows)
        return
    end = grid.end_row
    for number, row in zip(numbers, rows, strict=True):
        # A gap in the row numbers must not shift later rows.
        while end < number:
            grid.rows.append([""] * width)
            end += 1
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        grid.rows.append(row)
        end += 1


def _rows_at(conn: Connection, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    """Stored cells of these (tab id, row number) rows. Asked per tab with a plain IN list on
    the row number: the primary key's index answers it (SQLite does not use the index for an
    IN list of (tab, row) pairs, and scanned every row of every tab)."""
    by_tab: dict[int, list[int]] = defaultdict(list)
    for tab_id, row in keys:
        by_tab[tab_id].append(row)
    current: dict[tuple[int, int], Any] = {}
    for tab_id, rows in by_tab.items():
        for chunk in _chunks(sorted(rows)):
            found = conn.execute(
                select(rows_table.c.row_number, rows_table.c.cells).where(
                    rows_table.c.tab_id == tab_id, rows_table.c.row_number.in_(list(chunk))
                )
            )
            current.update({(tab_id, r): c for r, c in found})
    return current


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class PostgresRunnerLock:
    """The sync runner's lock on PostgreSQL: a session-level advisory lock
    (pg_try_advisory_lock) held on a connection of its own for as long as the runner keeps its
    lease. The server releases it when that session ends, however the process ended (kill -9,
    power loss: once the server sees the connection gone), so no expiry is guessed."""

    KEY = 0x1C41_5E45  # one per database: one workbook per database

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> bool:
        """Take the lock, or confirm it is still held; False while another session holds it."""
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True  # the session lives on, and its lock with it
                except SQLAlchemyError:
                    self._drop()  # the session is gone, and the lock with it: try again
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except SQLAlchemyError as exc:
                raise unavailable(exc, masked_url(self._engine.url), "読め") from exc
            try:
                got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.KEY})
            except SQLAlchemyError as exc:
                conn.invalidate()
                conn.close()
                raise unavailable(exc, masked_url(self._engine.url), "読め") from exc
            if got:
                self._conn = conn
                return True
            conn.close()
            return False

    def release(self) -> None:
        with self._mutex:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.KEY})
                self._conn.close()
                self._conn = None
            except SQLAlchemyError:
                self._drop()

    def _drop(self) -> None:
        assert self._conn is not None
        with contextlib.suppress(SQLAlchemyError):
            self._conn.invalidate()  # closes the session: the server frees whatever it held
            self._conn.close()
        self._conn = None


# A constant key for PostgreSQL advisory locks: schema creation and tab creation take it for
# their transaction, so two processes starting at once do not both create the same table or tab.
_SCHEMA_LOCK = 0x1C41_6E00


class SqlWorkbook:
    def __init__(self, url: str, *, engine: Engine | None = None, options: SqlOptions | None = None) -> None:
        self._url = make_url(url)
        self._engine = engine or create_sql_engine(url, options)
        self._postgresql = self._engine.dialect.name == "postgresql"
        self._runner_lock: PostgresRunnerLock | None = None
        try:
            with self._engine.begin() as conn:
                if self._postgresql:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                metadata.create_all(conn)
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "読め") from exc

    @property
    def engine(self) -> Engine:
        return self._engine

    def runner_lock(self) -> PostgresRunnerLock | None:
        """The server-held lock a sync runner takes with its lease (PostgreSQL), else None (the
        _システム lease alone: SQLite's single writer and its file's host decide)."""
        if not self._postgresql:
            return None
        if self._runner_lock is None:
            self._runner_lock = PostgresRunnerLock(self._engine)
        return self._runner_lock

    @property
    def info(self) -> WorkbookInfo:
        if self._url.get_backend_name() == "sqlite":
            location = str(Path(self._url.database or ":memory:").resolve())
            return WorkbookInfo("sql", Path(location).name, location)
        return WorkbookInfo("sql", self._url.database or "", masked_url(self._url))

    def _reading(self) -> Connection:
        """A connection for a read: on PostgreSQL one REPEATABLE READ snapshot, so the tabs of
        one read are as one moment left them (SQLite's BEGIN in WAL mode does the same)."""
        conn = self._engine.connect()
        if self._postgresql:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        return conn

    def tab_titles(self) -> list[str]:
        try:
            with self._engine.connect() as conn:
                return list(conn.scalars(select(tabs_table.c.title).order_by(tabs_table.c.position)))
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "読め") from exc

    def hidden_titles(self) -> set[str]:
        try:
            with self._engine.connect() as conn:
                return set(conn.scalars(select(tabs_table.c.title).where(tabs_table.c.hidden)))
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "読め") from exc

    def read(self, titles: Sequence[str], *, start_rows: Mapping[str, int] | None = None) -> dict[str, Grid]:
        start_rows = start_rows or {}
        try:
            with self._reading() as conn:
                tabs = conn.execute(
                    select(tabs_table.c.id, tabs_table.c.title, tabs_table.c.header).where(
                        tabs_table.c.title.in_(list(titles))
                    )
                ).all()
                grids = {t.id: Grid.from_values(t.title, [t.header]) for t in tabs}
                if not grids:
                    return {}
                wanted = []
                for tab_id, grid in grids.items():
                    start = start_rows.get(grid.title, FIRST_DATA_ROW)
                    grid.first_row = start
                    wanted.append(
                        and_(rows_table.c.tab_id == tab_id, rows_table.c.row_number >= start)
                        if start > FIRST_DATA_ROW
                        else rows_table.c.tab_id == tab_id
                    )
                with no_gc():
                    if conn.dialect.name == "sqlite":
                        for tab_id, grid in grids.items():
                            _fill(grid, *_sqlite_tab_rows(conn, tab_id, grid.first_row))
                    elif self._postgresql:
                        for tab_id, grid in grids.items():
                            _fill(grid, *_postgresql_tab_rows(conn, tab_id, grid.first_row))
                    else:
                        # The cells' JSON text as stored (not decoded row by row by the JSON
                        # type): decoded in one json.loads, numbers straight to text.
                        result = conn.execute(
                            select(
                                rows_table.c.tab_id,
                                rows_table.c.row_number,
                                type_coerce(rows_table.c.cells, Text),
                            )
                            .where(or_(*wanted))
                            .order_by(rows_table.c.tab_id, rows_table.c.row_number)
                        ).all()
                        decoded = _decode_rows([r[2] for r in result])
                        by_tab: dict[int, tuple[list[int], list[list[str]]]] = {t: ([], []) for t in grids}
                        for (tab_id, number, _), row in zip(result, decoded, strict=True):
                            by_tab[tab_id][0].append(number)
                            by_tab[tab_id][1].append(row)
                        for tab_id, grid in grids.items():
                            _fill(grid, *by_tab[tab_id])
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "読め") from exc
        return {g.title: g for g in grids.values()}

    def write(self, job: WriteJob) -> None:
        if not job:
            return
        # One transaction: all of the job or nothing, one writer at a time (per tab on
        # PostgreSQL: _checked_tab_ids locks the job's tabs before anything is checked).
        with self.transaction() as conn:
            self.apply(conn, job)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends without an exception: what a
        store that writes one job across this database and another (the hybrid workbook) uses
        to hold the database's half open until the other half has landed."""
        try:
            with self._engine.connect().execution_options(ichigen_write=True) as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "書き込め") from exc

    def apply(self, conn: Connection, job: WriteJob) -> None:
        """Check and apply ``job`` inside ``transaction()``: its tabs locked and headers checked,
        its expectations checked, then its updates, appends and deletions."""
        if not job:
            return
        ids = self._checked_tab_ids(conn, job)
        self._check_expectations(conn, job, ids)
        self._apply_updates(conn, job, ids)
        self._apply_appends(conn, job, ids)
        self._apply_deletes(conn, job, ids)

    def _check_expectations(self, conn: Connection, job: WriteJob, ids: dict[str, int]) -> None:
        """Inside the transaction: every expected cell still reads as the job read it."""
        current = _rows_at(conn, {(ids[e.tab], e.row) for e in job.expectations})
        for expected in job.expectations:
            cells = current.get((ids[expected.tab], expected.row))
            found_text = cell_text(cells[expected.column]) if cells and expected.column < len(cells) else ""
            if found_text != cell_text(expected.value):
                raise conflict(job, expected, found_text)

    def _checked_tab_ids(self, conn: Connection, job: WriteJob) -> dict[str, int]:
        titles = sorted(job.tabs | {e.tab for e in job.expectations})
        # FOR UPDATE (PostgreSQL; SQLite already holds its write lock): the job's tabs are
        # locked, in id order so that two jobs never wait on each other, until it commits.
        # Every later statement of the job then sees what the previous writer committed.
        rows = conn.execute(
            select(tabs_table.c.id, tabs_table.c.title, tabs_table.c.header)
            .where(tabs_table.c.title.in_(titles))
            .order_by(tabs_table.c.id)
            .with_for_update()
        ).all()
        found = {r.title: r for r in rows}
        for title in titles:
            if title not in found:
                raise StaleWorkbookError(f"「{title}」シートがありません。再読み込みしてください")
            expected = job.headers.get(title)
            if expected is not None and list(found[title].header) != expected:
                raise StaleWorkbookError(
                    f"「{title}」シートの列が読み込み後に変わりました。再読み込みしてからやり直してください"
                )
        return {title: r.id for title, r in found.items()}

    def _apply_updates(self, conn: Connection, job: WriteJob, ids: dict[str, int]) -> None:
        by_row: dict[tuple[int, int], list[tuple[int, Any]]] = defaultdict(list)
        for u in job.updates:
            by_row[(ids[u.tab], u.row)].append((u.column, u.value))
        if not by_row:
            return
        keys = list(by_row)
        current = {key: list(cells) for key, cells in _rows_at(conn, set(keys)).items()}
        missing = [k for k in keys if k not in current]
        if missing:
            raise StaleWorkbookError("更新する行が見つかりません。再読み込みしてからやり直してください")
        params = []
        for key, changes in by_row.items():
            cells = current[key]
            for column, value in changes:
                if column >= len(cells):
                    cells.extend([""] * (column + 1 - len(cells)))
                cells[column] = value
            params.append({"t": key[0], "r": key[1], "cells": cells})
        conn.execute(
            update(rows_table)
            .where(and_(rows_table.c.tab_id == bindparam("t"), rows_table.c.row_number == bindparam("r")))
            .values(cells=bindparam("cells")),
            params,
        )

    def _apply_appends(self, conn: Connection, job: WriteJob, ids: dict[str, int]) -> None:
        """Write appended rows exactly at ``start_row``, as Google Sheets does.

        A row at or after ``start_row`` that holds anything was written after the job's read
        (by another job or by hand): refuse the whole job rather than write past or over it.
        Blank rows there were already blank when read, so they are replaced.
        """
        for title, append in job.appends.items():
            if not append.rows:
                continue
            tab_id = ids[title]
            below = and_(rows_table.c.tab_id == tab_id, rows_table.c.row_number >= append.start_row)
            found = conn.execute(select(rows_table.c.row_number, rows_table.c.cells).where(below))
            for row_number, cells in found:
                if any(cell_text(c).strip() for c in cells or []):
                    raise StaleWorkbookError(
                        f"「{title}」シート {row_number}行目に読み込み後に別の行が書き込まれたため、"
                        "書き込みをやめました。もう一度実行してください"
                    )
            conn.execute(delete(rows_table).where(below))
            conn.execute(
                insert(rows_table),
                [
                    {"tab_id": tab_id, "row_number": append.start_row + i, "cells": r}
                    for i, r in enumerate(append.rows)
                ],
            )

    def tab_sizes(self, titles: Sequence[str] | None = None) -> dict[str, tuple[int, int]]:
        """Each named tab's (every tab's, without ``titles``) (data rows through its last,
        header width): what ``read`` would return, without reading it (the highest row
        number: one lookup of the row index)."""
        last = (
            select(func.max(rows_table.c.row_number))
            .where(rows_table.c.tab_id == tabs_table.c.id)
            .scalar_subquery()
        )
        statement = select(tabs_table.c.title, tabs_table.c.header, last)
        if titles is not None:
            statement = statement.where(tabs_table.c.title.in_(list(titles)))
        try:
            with self._reading() as conn:
                found = conn.execute(statement).all()
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "読め") from exc
        return {
            t: (0 if last is None else last - FIRST_DATA_ROW + 1, len(header)) for t, header, last in found
        }

    def cells_used(self) -> int:
        """(rows + header) × header width per tab: what the same data would cost on Sheets."""
        return sum((rows + 1) * width for rows, width in self.tab_sizes().values())

    def _apply_deletes(self, conn: Connection, job: WriteJob, ids: dict[str, int]) -> None:
        """Remove rows and move the later ones up, as Sheets does: positions stay gap-free."""
        for title, rows in job.deletes.items():
            if not rows:
                continue
            tab_id = ids[title]
            gone = sorted(set(rows))
            for chunk in _chunks(gone):
                conn.execute(
                    delete(rows_table).where(
                        rows_table.c.tab_id == tab_id, rows_table.c.row_number.in_(list(chunk))
                    )
                )
            # Each remaining row moves up by the deleted rows above it. Negative numbers first,
            # so no two rows ever share a key mid-update (PostgreSQL checks each row).
            bounds = [*gone, None]
            for i, low in enumerate(gone):
                high = bounds[i + 1]
                where = [rows_table.c.tab_id == tab_id, rows_table.c.row_number > low]
                if high is not None:
                    where.append(rows_table.c.row_number < high)
                conn.execute(
                    update(rows_table).where(*where).values(row_number=-(rows_table.c.row_number - (i + 1)))
                )
            conn.execute(
                update(rows_table)
                .where(rows_table.c.tab_id == tab_id, rows_table.c.row_number < 0)
                .values(row_number=-rows_table.c.row_number)
            )

    def add_columns(self, title: str, headers: Sequence[str]) -> None:
        with self.transaction() as conn:
            tab = conn.execute(
                select(tabs_table.c.id, tabs_table.c.header)
                .where(tabs_table.c.title == title)
                .with_for_update()
            ).one_or_none()
            if tab is None:
                raise StaleWorkbookError(f"「{title}」シートがありません。再読み込みしてください")
            new = [h for h in headers if h not in tab.header]
            if new:  # rows keep their cells: a row shorter than its header reads blank there
                conn.execute(
                    update(tabs_table).where(tabs_table.c.id == tab.id).values(header=[*tab.header, *new])
                )

    def add_tabs(self, tabs: Sequence[NewTab]) -> None:
        if not tabs:
            return
        try:
            self._add_tabs(tabs)
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.info.location, "書き込め") from exc

    def _add_tabs(self, tabs: Sequence[NewTab]) -> None:
        with self._engine.connect().execution_options(ichigen_write=True) as conn, conn.begin():
            if self._postgresql:  # one tab-maker at a time, as SQLite's write lock does
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            # A tab another process made since the caller looked is left alone (two runners
            # starting on a new database at once both ask for every tab).
            made = set(
                conn.scalars(
                    select(tabs_table.c.title).where(tabs_table.c.title.in_([t.title for t in tabs]))
                )
            )
            tabs = [t for t in tabs if t.title not in made]
            position = conn.scalar(select(func.max(tabs_table.c.position))) or 0
            for i, tab in enumerate(tabs):
                tab_id = conn.execute(
                    insert(tabs_table).values(
                        title=tab.title, position=position + i + 1, hidden=tab.hidden, header=list(tab.header)
                    )
                ).inserted_primary_key[0]
                if tab.rows:
                    conn.execute(
                        insert(rows_table),
                        [
                            {"tab_id": tab_id, "row_number": FIRST_DATA_ROW + n, "cells": list(row)}
                            for n, row in enumerate(tab.rows)
                        ],
                    )
