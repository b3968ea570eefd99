"""The archive: history moved out of the workbook, in typed tables generated from the workbook
contract (one column per header, the tab's key as primary key, times indexed) through
SQLAlchemy Core: a SQLite file beside the workbook by default, any SQLAlchemy URL when set.

Rows are copied by key with "insert, or keep the copy already there", so copying the same rows
again (a pass interrupted after the copy, then run again) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from sheets_schema.adapters.sql import create_sql_engine
from sheets_schema.changes import model_cells
from sheets_schema.tabs import ORDER_LINES, ORDER_SETTLEMENTS, ORDERS, STOCK_MOVEMENTS, SYNC_LOG, TabSpec

# Archived tabs and their table names (ASCII, so every database and tool can name them).
TABLE_NAMES = {
    SYNC_LOG.title: "sync_log",
    ORDERS.title: "orders",
    ORDER_LINES.title: "order_lines",
    STOCK_MOVEMENTS.title: "stock_movements",
    ORDER_SETTLEMENTS.title: "order_settlements",
}
_TIME_HEADERS = ("日時", "注文日時", "開始日時", "更新日時")
_CHUNK = 400


def archive_table(spec: TabSpec, metadata: MetaData) -> Table:
    """The typed table for a tab: yen and quantities as integers, everything else as the text
    the workbook shows (times as 'YYYY-MM-DD HH:MM:SS' in JST, which sorts as time)."""
    columns = [
        Column(header, Integer if header in spec.integer_columns else Text, primary_key=header in spec.key)
        for header in spec.headers
    ]
    table = Table(TABLE_NAMES[spec.title], metadata, *columns)
    for header in spec.headers:
        if header in _TIME_HEADERS:
            Index(f"ix_{table.name}_{_TIME_HEADERS.index(header)}", table.c[header])
    return table


class Archive:
    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.engine = engine or create_sql_engine(url)
        self.metadata = MetaData()
        self.tables = {
            title: archive_table(spec, self.metadata)
            for spec in (SYNC_LOG, ORDERS, ORDER_LINES, STOCK_MOVEMENTS, ORDER_SETTLEMENTS)
            for title in (spec.title,)
        }
        self.metadata.create_all(self.engine)

    def copy(self, spec: TabSpec, rows: Iterable[BaseModel]) -> int:
        """Copy rows in one transaction; a key already archived keeps its first copy."""
        table = self.tables[spec.title]
        values = [_row(spec, row) for row in rows]
        if not values:
            return 0
        dialect = self.engine.dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            for start in range(0, len(values), _CHUNK):
                statement = insert(table).values(values[start : start + _CHUNK])
                conn.execute(statement.on_conflict_do_nothing(index_elements=list(spec.key)))
        return len(values)

    def has(self, spec: TabSpec, keys: Sequence[tuple[str, ...]]) -> set[tuple[str, ...]]:
        """Which of these keys the archive holds (how a pass verifies before it deletes)."""
        table = self.tables[spec.title]
        key_columns = [table.c[h] for h in spec.key]
        found: set[tuple[str, ...]] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = [tuple(k) for k in keys[start : start + _CHUNK]]
                condition = (
                    key_columns[0].in_([k[0] for k in chunk])
                    if len(key_columns) == 1
                    else tuple_(*key_columns).in_(chunk)
                )
                for row in conn.execute(select(*key_columns).where(condition)):
                    found.add(tuple(str(v) for v in row))
        return found

    def count(self, spec: TabSpec) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(self.tables[spec.title])) or 0

    def rows(self, spec: TabSpec) -> list[dict[str, Any]]:
        """Every archived row of a tab as {header: value} (for export and checks)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(self.tables[spec.title]))]


def _row(spec: TabSpec, model: BaseModel) -> dict[str, Any]:
    cells = model_cells(model)
    row: dict[str, Any] = {}
    for header in spec.headers:
        value = cells.get(header, "")
        if header in spec.integer_columns:
            row[header] = value if isinstance(value, int) else None  # blank stays blank
        else:
            row[header] = str(value)
    return row
