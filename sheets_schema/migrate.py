"""Copying a workbook (SQLite or Google Sheets) and its archive to a PostgreSQL database.

What ``python -m sheets_schema migrate`` is made of (the command itself, with the sync lease and
the stock check, is in ``__main__``):

- a *source* gives a workbook's tabs in order, each with its hidden flag, its header and its
  rows as stored: the cells' JSON text straight from a SQL database (numbers stay numbers), or
  the text cells of each Google Sheets tab, read one tab at a time. Rows are streamed: no tab is
  held twice, a SQL tab never whole;
- a *fingerprint* of a workbook or archive: per tab (per table) its row count and a SHA-256 of
  every row in order. Equal fingerprints: the target already holds this content;
- ``copy_workbook`` / ``copy_archive`` write into an empty target in ONE transaction each,
  with COPY, then fingerprint the target inside that transaction and commit only when it equals
  what was read (killed meanwhile: the target is left as it was, empty);
- ``switch_secrets`` writes the new [workbook] settings into secrets.toml, keeping every other
  line and comment, after a backup copy.

The sync lease cell (``_システム`` 同期リース) is state of whoever holds it, not content: it is
copied blank and left out of fingerprints, so the migration holding the lease on the source does
not make the two differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    cast,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sheets_schema.adapters.sql import _SCHEMA_LOCK, _dumps, metadata, rows_table, tabs_table
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.tabs import machine_owned
from sheets_schema.workbook import Workbook

SYSTEM_TITLE = "_システム"
_BATCH = 5_000


class MigrationRefused(Exception):
    """The target cannot take this workbook (holds another one); the message is Japanese."""


@dataclass(frozen=True)
class TabMeta:
    title: str
    hidden: bool
    header: list[str]


@dataclass
class Part:
    """The fingerprint of a workbook (one entry per tab, in order) or an archive (per table)."""

    entries: dict[str, tuple[Any, int, str]] = field(default_factory=dict)  # name -> (meta, rows, sha)

    def counts(self) -> dict[str, int]:
        return {name: rows for name, (_, rows, _) in self.entries.items()}

    @property
    def rows(self) -> int:
        return sum(self.counts().values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Part) and list(self.entries.items()) == list(other.entries.items())


def same_database(a: str, b: str) -> bool:
    pa, pb = make_url(a), make_url(b)
    if pa.get_backend_name() == "sqlite" or pb.get_backend_name() == "sqlite":
        return pa.get_backend_name() == pb.get_backend_name() and (
            Path(pa.database or "").resolve() == Path(pb.database or "").resolve()
        )
    return (pa.get_backend_name(), pa.host or "localhost", pa.port or 5432, pa.database) == (
        pb.get_backend_name(),
        pb.host or "localhost",
        pb.port or 5432,
        pb.database,
    )


# -- sources: a workbook's tabs as stored


class _Hasher:
    def __init__(self, meta: TabMeta, lease_key: str) -> None:
        self.sha = hashlib.sha256(_dumps([meta.title, meta.hidden, meta.header]).encode())
        self.rows = 0
        # The lease row of _システム counts by its key only (see the module docstring).
        self.key_column = (
            meta.header.index("キー") if meta.title == SYSTEM_TITLE and "キー" in meta.header else None
        )
        self.value_column = (
            meta.header.index("値") if self.key_column is not None and "値" in meta.header else None
        )
        self.lease_key = lease_key

    def lease_row(self, cells_text: str) -> list[Any] | None:
        """The row decoded when it is the lease row, else None."""
        if self.key_column is None or self.lease_key not in cells_text:
            return None
        cells = json.loads(cells_text)
        if (
            isinstance(cells, list)
            and len(cells) > self.key_column
            and cells[self.key_column] == self.lease_key
        ):
            return cells
        return None

    def add(self, number: int, cells_text: str) -> None:
        self.rows += 1
        if self.lease_row(cells_text) is not None:
            cells_text = _dumps([self.lease_key])
        self.sha.update(f"{number}\t{cells_text}\n".encode())

    def released(self, cells_text: str) -> str:
        """The row as copied: the lease row with its value blank."""
        cells = self.lease_row(cells_text)
        if cells is None or self.value_column is None or self.value_column >= len(cells):
            return cells_text
        cells[self.value_column] = ""
        return _dumps(cells)

    def entry(self, meta: TabMeta) -> tuple[Any, int, str]:
        return ((meta.hidden, tuple(meta.header)), self.rows, self.sha.hexdigest())


def sql_tabs(conn: Connection) -> Iterator[tuple[TabMeta, Iterator[tuple[int, str]]]]:
    """A SQL workbook's tabs in order with their rows (row number, cells' JSON text as stored),
    streamed ``_BATCH`` rows at a time; read on one connection (one snapshot on SQLite)."""
    if not inspect(conn).has_table(tabs_table.name):
        return
    tabs = conn.execute(
        select(
            tabs_table.c.id, tabs_table.c.title, tabs_table.c.hidden, cast(tabs_table.c.header, Text)
        ).order_by(tabs_table.c.position, tabs_table.c.id)
    ).all()
    for tab_id, title, hidden, header in tabs:
        meta = TabMeta(title, bool(hidden), list(json.loads(header)))
        statement = (
            select(rows_table.c.row_number, cast(rows_table.c.cells, Text))
            .where(rows_table.c.tab_id == tab_id)
            .order_by(rows_table.c.row_number)
        )

        def rows(statement: Any = statement) -> Iterator[tuple[int, str]]:
            for number, cells in conn.execution_options(yield_per=_BATCH).execute(statement):
                yield int(number), cells

        yield meta, rows()


def google_tabs(workbook: Workbook | MachineTabs) -> Iterator[tuple[TabMeta, Iterator[tuple[int, str]]]]:
    """A Google Sheets workbook's tabs in order, one read per tab (one tab in memory at a time);
    rows as the port reads them (text cells), numbered from row 2."""
    hidden = workbook.hidden_titles()
    for title in workbook.tab_titles():
        grid = workbook.read([title]).get(title)
        if grid is None:
            continue
        meta = TabMeta(title, title in hidden, list(grid.header))

        def rows(grid: Any = grid) -> Iterator[tuple[int, str]]:
            for i, row in enumerate(grid.rows):
                yield FIRST_DATA_ROW + i, _dumps(row)
            grid.rows = []  # the tab is let go before the next one is read

        yield meta, rows()


class MachineTabs:
    """The tabs only Ichigen writes (``TabSpec.machine_owned``) of a Google Sheets workbook:
    what ``migrate --machine-to`` moves to PostgreSQL while staff tabs stay in the spreadsheet."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook

    def tab_titles(self) -> list[str]:
        return [t for t in self.workbook.tab_titles() if machine_owned(t)]

    def hidden_titles(self) -> set[str]:
        return {t for t in self.workbook.hidden_titles() if machine_owned(t)}

    def read(self, titles: Sequence[str]) -> dict[str, Any]:
        return self.workbook.read([t for t in titles if machine_owned(t)])


@contextlib.contextmanager
def workbook_tabs(
    workbook: Workbook | MachineTabs,
) -> Iterator[Iterator[tuple[TabMeta, Iterator[tuple[int, str]]]]]:
    engine = getattr(workbook, "engine", None)
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            yield sql_tabs(conn)
    else:
        yield google_tabs(workbook)


def fingerprint_tabs(tabs: Iterator[tuple[TabMeta, Iterator[tuple[int, str]]]], lease_key: str) -> Part:
    part = Part()
    for meta, rows in tabs:
        hasher = _Hasher(meta, lease_key)
        for number, cells in rows:
            hasher.add(number, cells)
        part.entries[meta.title] = hasher.entry(meta)
    return part


def workbook_fingerprint(workbook: Workbook | MachineTabs, lease_key: str) -> Part:
    with workbook_tabs(workbook) as tabs:
        return fingerprint_tabs(tabs, lease_key)


def target_workbook(engine: Engine, lease_key: str) -> Part | None:
    """The target's workbook fingerprint; None when it holds none (no tab with a row)."""
    with engine.connect() as conn, conn.begin():
        _without_timeout(conn)
        if (
            not inspect(conn).has_table(rows_table.name)
            or conn.scalar(select(func.count()).select_from(rows_table)) == 0
        ):
            return None
        return fingerprint_tabs(sql_tabs(conn), lease_key)


def _without_timeout(conn: Connection) -> None:
    """No statement timeout for the rest of this transaction: one COPY of a table of millions
    of rows, or a read of it to verify, is one statement and may take minutes. The timeout
    ([workbook] statement_timeout_seconds) is for the app's jobs, not for this one-off copy.
    And its commit waits for the server's WAL flush whatever the server's synchronous_commit:
    the copy is durable before the settings switch to it (and VACUUM, right after, can mark
    its pages all-visible: a commit not yet flushed leaves every row unhinted)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(text("SET LOCAL synchronous_commit = on"))


def _copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    import psycopg

    quote = conn.dialect.identifier_preparer.quote
    raw = conn.connection.driver_connection
    statement = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:  # on the driver's connection: wrapped as SQLAlchemy would
        raise DBAPIError(statement, None, exc) from exc


def copy_workbook(
    workbook: Workbook | MachineTabs,
    engine: Engine,
    lease_key: str,
    before_commit: Callable[[Part], None] = lambda part: None,
) -> Part:
    """Every tab of the source into the empty PostgreSQL workbook at ``engine``, in one
    transaction committed only when the target's fingerprint equals what was read and
    ``before_commit`` (given what was copied) does not raise."""
    with engine.connect() as conn, conn.begin():
        _without_timeout(conn)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        metadata.create_all(conn)
        if conn.scalar(select(func.count()).select_from(rows_table)):
            raise MigrationRefused("移行先のワークブックに、コピーの途中で別の行が書き込まれました。")
        conn.execute(delete(tabs_table))  # tabs made by an app started on it, without a row
        copied = Part()
        with workbook_tabs(workbook) as tabs:
            for position, (meta, rows) in enumerate(tabs, start=1):
                hasher = _Hasher(meta, lease_key)
                tab_id = conn.execute(
                    insert(tabs_table).values(
                        title=meta.title, position=position, hidden=meta.hidden, header=meta.header
                    )
                ).inserted_primary_key[0]

                def stored(
                    rows: Iterator[tuple[int, str]] = rows, hasher: _Hasher = hasher, tab_id: int = tab_id
                ) -> Iterator[tuple[int, int, str]]:
                    for number, cells in rows:
                        hasher.add(number, cells)
                        yield tab_id, number, hasher.released(cells)

                _copy_rows(conn, rows_table.name, ("tab_id", "row_number", "cells"), stored())
                copied.entries[meta.title] = hasher.entry(meta)
        written = fingerprint_tabs(sql_tabs(conn), lease_key)
        if written != copied:
            raise MigrationRefused(
                explain_differences(copied, written, "移行先に書いた内容が読み込んだ内容と一致しません")
            )
        return copied


def remove_copied_workbook(engine: Engine) -> None:
    """Take back a workbook this run copied into the (then empty) target, in one transaction:
    its check afterwards failed, and a copy left there would make the next run refuse the
    target as holding another workbook."""
    with engine.connect() as conn, conn.begin():
        _without_timeout(conn)
        conn.execute(delete(rows_table))
        conn.execute(delete(tabs_table))


# -- the archive: typed tables and the facts tables, copied row by row


def archive_definitions() -> dict[str, Table]:
    """Every table of an archive by name, facts included (definitions only: nothing is made)."""
    from sheets_schema.archive import ARCHIVED_SPECS, archive_table, fact_tables
    from sheets_schema.archive_buyers import buyer_first_table
    from sheets_schema.archive_ledger import ledger_fact_tables

    definitions = MetaData()
    tables = {t.name: t for t in (archive_table(spec, definitions) for spec in ARCHIVED_SPECS)}
    tables.update(fact_tables(definitions))
    tables.update(ledger_fact_tables(definitions))
    first = buyer_first_table(definitions)
    tables[first.name] = first
    return tables


def _table_rows(conn: Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    """Every row of an archive table in key order, as the driver's tuples, ``_BATCH`` at a time:
    straight from the DB-API cursor (a server-side one on PostgreSQL, in the connection's
    transaction), as SQLAlchemy rows cost more than the rest of a copy of ten million."""
    order = list(table.primary_key.columns) or list(table.columns)
    statement = str(select(table).order_by(*order).compile(dialect=conn.dialect))
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT 1"))  # the transaction a server-side cursor lives in
    raw = conn.connection.driver_connection
    cursor = (
        raw.cursor(name=f"ichigen_copy_{table.name}")  # type: ignore[union-attr]
        if conn.dialect.name == "postgresql"
        else raw.cursor()  # type: ignore[union-attr]
    )
    try:
        cursor.execute(statement)
        while batch := cursor.fetchmany(_BATCH):
            yield from batch
    finally:
        cursor.close()


def _row_text(row: tuple[Any, ...]) -> bytes:
    """A row as hashed: its repr (ints, text and None read back alike from every database)."""
    return f"{row!r}\n".encode()


class _Tally:
    def __init__(self, name: str) -> None:
        self.sha = hashlib.sha256(name.encode())
        self.count = 0

    def counted(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        update = self.sha.update
        count = 0
        try:
            for row in rows:
                update(_row_text(row))
                count += 1
                yield row
        finally:
            self.count += count

    def entry(self) -> tuple[Any, int, str]:
        return ((), self.count, self.sha.hexdigest())


def fingerprint_archive(conn: Connection, tables: dict[str, Table]) -> Part:
    part = Part()
    for name, table in tables.items():
        tally = _Tally(name)
        if inspect(conn).has_table(name):
            for _ in tally.counted(_table_rows(conn, table)):
                pass
        part.entries[name] = tally.entry()
    return part


def archive_fingerprint(engine: Engine, tables: dict[str, Table]) -> Part:
    with engine.connect() as conn, conn.begin():
        _without_timeout(conn)
        return fingerprint_archive(conn, tables)


def copy_archive(source: Engine, target: Engine, tables: dict[str, Table]) -> Part:
    """Every archive table (facts as they are, by copy) into the empty target, in one
    transaction committed only when the target's fingerprint equals what was read."""
    copied = Part()
    with source.connect() as read, target.connect() as conn, conn.begin():
        _without_timeout(conn)
        for name, table in tables.items():
            if conn.scalar(select(func.count()).select_from(table)):
                raise MigrationRefused(
                    f"移行先の履歴データベースの {name} 表に、コピーの途中で別の行が書き込まれました。"
                )
            tally = _Tally(name)
            if inspect(read).has_table(name):
                _copy_rows(
                    conn, name, [c.name for c in table.columns], tally.counted(_table_rows(read, table))
                )
            copied.entries[name] = tally.entry()
        written = fingerprint_archive(conn, tables)
        if written != copied:
            raise MigrationRefused(
                explain_differences(copied, written, "移行先に書いた履歴が読み込んだ内容と一致しません")
            )
    return copied


def remove_copied_archive(engine: Engine, tables: dict[str, Table]) -> None:
    """Take back the archive rows this run copied into the (then empty) target tables."""
    with engine.connect() as conn, conn.begin():
        _without_timeout(conn)
        for table in reversed(list(tables.values())):
            conn.execute(delete(table))


def settle(engine: Engine, names: Sequence[str]) -> None:
    """VACUUM (ANALYZE) these freshly copied tables. Rows loaded by COPY have no planner
    statistics, no visibility map and unset hint bits: left so, the first queries after a
    migration (a count for a page, a cycle's read) would scan and rewrite every page, seconds
    per million rows, and plan without statistics. VACUUM runs outside a transaction, on a
    connection of its own, without the statement timeout."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET statement_timeout = 0"))
        try:
            for name in names:
                conn.execute(text(f"VACUUM (ANALYZE) {quote(name)}"))
        finally:
            conn.execute(text("RESET statement_timeout"))


def explain_differences(expected: Part, found: Part, what: str) -> str:
    names = [
        n
        for n in dict.fromkeys([*expected.entries, *found.entries])
        if expected.entries.get(n) != found.entries.get(n)
    ]
    shown = "・".join(
        f"「{n}」（{expected.counts().get(n, 0):,} 行 → {found.counts().get(n, 0):,} 行）" for n in names[:5]
    )
    return f"{what}: {shown}"


def differences(expected: Part, found: Part) -> list[str]:
    return [
        n
        for n in dict.fromkeys([*expected.entries, *found.entries])
        if expected.entries.get(n) != found.entries.get(n)
    ]


# -- settings: secrets.toml edited in place, every other line kept

_SECTION = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _value_and_comment(rest: str) -> str:
    """The comment after a ``key = value`` line's value (kept when the value is replaced)."""
    for match in re.finditer("#", rest):
        try:
            tomllib.loads("x = " + rest[: match.start()])
        except tomllib.TOMLDecodeError:
            continue
        return "  " + rest[match.start() :].rstrip("\r\n")
    return ""


def edited_secrets(old: str, updates: dict[str, str]) -> str:
    """secrets.toml text with these [workbook] keys set; every other line as it was. Raises
    ValueError when the result would not read as the same settings with only these changed."""
    lines = old.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next(
        (i for i, line in enumerate(lines) if (m := _SECTION.match(line)) and m.group(1) == "workbook"), None
    )
    if start is None:
        tail = "" if not lines or lines[-1].strip() == "" else "\n"
        new = (
            "".join(lines)
            + tail
            + "[workbook]\n"
            + "".join(f"{k} = {_toml_string(v)}\n" for k, v in updates.items())
        )
    else:
        end = next(
            (
                i
                for i in range(start + 1, len(lines))
                if _SECTION.match(lines[i]) or lines[i].lstrip().startswith("[[")
            ),
            len(lines),
        )
        missing = dict(updates)
        for i in range(start + 1, end):
            found = re.match(r"^(\s*)([A-Za-z0-9_]+)\s*=(.*)$", lines[i].rstrip("\r\n"))
            if found and found.group(2) in missing:
                key = found.group(2)
                lines[i] = (
                    f"{found.group(1)}{key} = {_toml_string(missing.pop(key))}{_value_and_comment(found.group(3))}\n"
                )
        lines[start + 1 : start + 1] = [f"{k} = {_toml_string(v)}\n" for k, v in missing.items()]
        new = "".join(lines)
    expected = tomllib.loads(old)
    expected.setdefault("workbook", {}).update(updates)
    if tomllib.loads(new) != expected:
        raise ValueError("secrets.toml を安全に書き換えられません")
    return new


def switch_secrets(path: Path, updates: dict[str, str], now: datetime) -> Path | None:
    """Write the updates into ``path`` (a backup copy first, then the new file in one rename);
    the backup's path, or None when there was no file (it is made)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = edited_secrets(old, updates)
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{now:%Y%m%d-%H%M%S}")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(new)
            file.flush()
            os.fsync(file.fileno())
        if backup is not None:
            shutil.copymode(backup, temporary)
        else:
            os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return backup
