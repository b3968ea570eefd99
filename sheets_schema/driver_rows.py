"""Many rows of a query through the database driver's own cursor.

SQLAlchemy builds a Row and runs its result processors for every row fetched: for the
100,000-row reads of the archive's facts that is about half the time of the read. The
driver's tuples are used as they come, so this is only for columns the driver already
returns as the right Python types (TEXT as str, INTEGER as int, on SQLite and psycopg
alike), and for parameters that need no conversion on the way in (str, int).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Connection


def driver_rows(conn: Connection, statement: Executable | str) -> list[tuple[Any, ...]]:
    """All rows of ``statement`` (SQL text without parameters, or a SQLAlchemy statement)."""
    args: tuple[Any, ...] | dict[str, Any] | None = None
    if isinstance(statement, str):
        text = statement
    else:
        # render_postcompile: an IN list's values become parameters of their own now.
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        values = compiled.params
        if any(not isinstance(v, str | int) for v in values.values()):
            raise TypeError("driver_rows: only str and int parameters go to the driver as they are")
        text = str(compiled)
        # SQLite's "?" placeholders take a tuple in order; psycopg's "%(name)s" the mapping.
        args = tuple(values[name] for name in compiled.positiontup or ()) if compiled.positional else values
    cursor = conn.connection.cursor()
    try:
        # A compiled statement always goes with its parameters, none or some: the driver then
        # reads its placeholders (and a "%%" psycopg's style doubles) as SQLAlchemy wrote them.
        cursor.execute(text) if args is None else cursor.execute(text, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()
