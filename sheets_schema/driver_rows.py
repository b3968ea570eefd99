"""Many rows of a fixed query through the database driver's own cursor.

SQLAlchemy builds a Row and runs its result processors for every row fetched: for the
100,000-row reads of the archive's facts that is about half the time of the read. The
driver's tuples are used as they come, so this is only for statements without parameters
whose columns the driver already returns as the right Python types (TEXT as str, INTEGER
as int, on SQLite and psycopg alike).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Connection


def driver_rows(conn: Connection, statement: Executable | str) -> list[tuple[Any, ...]]:
    """All rows of ``statement`` (SQL text, or a SQLAlchemy statement without parameters)."""
    if isinstance(statement, str):
        text = statement
    else:
        compiled = statement.compile(dialect=conn.dialect)
        if compiled.params:
            raise ValueError("driver_rows takes statements without parameters")
        text = str(compiled)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(text)
        return list(cursor.fetchall())
    finally:
        cursor.close()
