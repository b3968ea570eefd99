"""The workbook in a SQL database (SQLite by default) through SQLAlchemy 2 Core.

Each tab is a row of ``ichigen_tabs`` (title, position, hidden, header) and its rows live in
``ichigen_rows`` as JSON arrays of cells, so staff-added and reordered columns behave exactly
as on Google Sheets. Only portable SQL is used, so a PostgreSQL URL works as well.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
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
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from sheets_schema.changes import WriteJob, conflict
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.grid import FIRST_DATA_ROW, Grid, cell_text
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


def create_sql_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=_dumps)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    # Write jobs take SQLite's write lock up front (BEGIN IMMEDIATE): one writer at a time,
    # each seeing the previous one's rows. Reads get a plain BEGIN: one consistent snapshot.
    immediate = conn.get_execution_options().get("ichigen_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlWorkbook:
    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self._url = make_url(url)
        self._engine = engine or create_sql_engine(url)
        metadata.create_all(self._engine)

    @property
    def info(self) -> WorkbookInfo:
        if self._url.get_backend_name() == "sqlite":
            location = str(Path(self._url.database or ":memory:").resolve())
            return WorkbookInfo("sql", Path(location).name, location)
        return WorkbookInfo("sql", self._url.database or "", self._url.render_as_string(hide_password=True))

    def tab_titles(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.scalars(select(tabs_table.c.title).order_by(tabs_table.c.position)))

    def hidden_titles(self) -> set[str]:
        with self._engine.connect() as conn:
            return set(conn.scalars(select(tabs_table.c.title).where(tabs_table.c.hidden)))

    def read(self, titles: Sequence[str], *, start_rows: Mapping[str, int] | None = None) -> dict[str, Grid]:
        start_rows = start_rows or {}
        try:
            with self._engine.connect() as conn:
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
                result = conn.execute(
                    select(rows_table.c.tab_id, rows_table.c.row_number, rows_table.c.cells)
                    .where(or_(*wanted))
                    .order_by(rows_table.c.tab_id, rows_table.c.row_number)
                )
                for tab_id, number, cells in result:
                    grid = grids[tab_id]
                    width = len(grid.header)
                    # Row numbers have no gaps today, but a gap must not shift later rows.
                    while grid.end_row < number:
                        grid.rows.append([""] * width)
                    row = [cell_text(c) for c in cells]
                    if len(row) < width:
                        row.extend([""] * (width - len(row)))
                    grid.rows.append(row)
        except SQLAlchemyError as exc:
            raise WorkbookUnavailable(
                f"ワークブック（データベース）を読めませんでした: {exc.__class__.__name__}"
            ) from exc
        return {g.title: g for g in grids.values()}

    def write(self, job: WriteJob) -> None:
        if not job:
            return
        try:
            # One transaction: all of the job or nothing, one writer at a time.
            with self._engine.connect().execution_options(ichigen_write=True) as conn, conn.begin():
                ids = self._checked_tab_ids(conn, job)
                self._check_expectations(conn, job, ids)
                self._apply_updates(conn, job, ids)
                self._apply_appends(conn, job, ids)
                self._apply_deletes(conn, job, ids)
        except SQLAlchemyError as exc:
            raise WorkbookUnavailable(
                f"ワークブック（データベース）に書き込めませんでした: {exc.__class__.__name__}"
            ) from exc

    def _check_expectations(self, conn: Connection, job: WriteJob, ids: dict[str, int]) -> None:
        """Inside the transaction: every expected cell still reads as the job read it."""
        keys = list({(ids[e.tab], e.row) for e in job.expectations})
        current: dict[tuple[int, int], list[Any]] = {}
        for chunk in _chunks(keys):
            found = conn.execute(
                select(rows_table.c.tab_id, rows_table.c.row_number, rows_table.c.cells).where(
                    tuple_(rows_table.c.tab_id, rows_table.c.row_number).in_(list(chunk))
                )
            )
            current.update({(t, r): c for t, r, c in found})
        for expected in job.expectations:
            cells = current.get((ids[expected.tab], expected.row))
            found_text = cell_text(cells[expected.column]) if cells and expected.column < len(cells) else ""
            if found_text != cell_text(expected.value):
                raise conflict(job, expected, found_text)

    def _checked_tab_ids(self, conn: Connection, job: WriteJob) -> dict[str, int]:
        titles = sorted(job.tabs | {e.tab for e in job.expectations})
        rows = conn.execute(
            select(tabs_table.c.id, tabs_table.c.title, tabs_table.c.header).where(
                tabs_table.c.title.in_(titles)
            )
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
        current: dict[tuple[int, int], list[Any]] = {}
        for chunk in _chunks(keys):
            found = conn.execute(
                select(rows_table.c.tab_id, rows_table.c.row_number, rows_table.c.cells).where(
                    tuple_(rows_table.c.tab_id, rows_table.c.row_number).in_(list(chunk))
                )
            )
            current.update({(t, r): list(c) for t, r, c in found})
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

    def cells_used(self) -> int:
        """(rows + header) × header width per tab: what the same data would cost on Sheets."""
        with self._engine.connect() as conn:
            counts = dict(
                conn.execute(select(rows_table.c.tab_id, func.count()).group_by(rows_table.c.tab_id)).all()
            )
            tabs = conn.execute(select(tabs_table.c.id, tabs_table.c.header)).all()
        return sum((counts.get(t.id, 0) + 1) * len(t.header) for t in tabs)

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

    def add_tabs(self, tabs: Sequence[NewTab]) -> None:
        if not tabs:
            return
        with self._engine.connect().execution_options(ichigen_write=True) as conn, conn.begin():
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
