"""The archive: history moved out of the workbook, in typed tables generated from the workbook
contract (one column per header, the tab's key as primary key, times indexed) through
SQLAlchemy Core: a SQLite file beside the workbook by default, any SQLAlchemy URL when set.

Rows are copied by key with "insert, or keep the copy already there", so copying the same rows
again (a pass interrupted after the copy, then run again) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url

from sheets_schema.adapters.sql import SqlOptions, create_sql_engine
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
# Lookups the pages make besides time ranges: an order by its number (the primary key starts
# with モール), the orders holding a SKU, the ledger and the log of one order.
_LOOKUPS = {
    "orders": (("注文番号",),),
    "order_lines": (("SKU",),),
    "stock_movements": (("モール", "注文番号"), ("SKU",)),
}
CANCELLED = "キャンセル"


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
    for n, headers in enumerate(_LOOKUPS.get(table.name, ())):
        Index(f"ix_{table.name}_lookup{n}", *(table.c[h] for h in headers))
    return table


def archive_exists(url: str) -> bool:
    """False only for a SQLite file that is not there yet: an archive never written to, which
    a reader treats as empty instead of creating the file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


class Archive:
    def __init__(self, url: str, *, engine: Engine | None = None, options: SqlOptions | None = None) -> None:
        self.engine = engine or create_sql_engine(url, options)
        self.metadata = MetaData()
        self.tables = {
            title: archive_table(spec, self.metadata)
            for spec in (SYNC_LOG, ORDERS, ORDER_LINES, STOCK_MOVEMENTS, ORDER_SETTLEMENTS)
            for title in (spec.title,)
        }
        self.metadata.create_all(self.engine)
        # create_all adds indexes only with a new table: an archive made by an earlier version
        # gets the lookup indexes here, once (CREATE INDEX is skipped when it exists).
        with self.engine.begin() as conn:
            for table in self.tables.values():
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

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

    def movements_per_sku(self, skus: Sequence[str]) -> dict[str, int]:
        """How many archived ledger movements each SKU has (what its 繰越 row sums)."""
        table = self.tables[STOCK_MOVEMENTS.title]
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(skus), _CHUNK):
                chunk = list(skus[start : start + _CHUNK])
                statement = (
                    select(table.c["SKU"], func.count())
                    .where(table.c["SKU"].in_(chunk))
                    .group_by(table.c["SKU"])
                )
                counts.update({str(sku): int(n) for sku, n in conn.execute(statement)})
        return counts

    def rows(self, spec: TabSpec) -> list[dict[str, Any]]:
        """Every archived row of a tab as {header: value} (for export and checks)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(self.tables[spec.title]))]

    # --- reading: the pages and the export, never one archived order at a time -----------

    def stamp(self) -> tuple[int, ...]:
        """Row counts of the archived order tabs. A pass only adds rows (an order is archived
        once, closed), so what was read from the archive stays valid while these are equal."""
        return tuple(self.count(spec) for spec in (ORDERS, ORDER_LINES, STOCK_MOVEMENTS))

    def iter_rows(self, spec: TabSpec, batch: int = 5_000) -> Iterator[dict[str, Any]]:
        """Every archived row of a tab in key order, fetched ``batch`` rows at a time."""
        table = self.tables[spec.title]
        statement = select(table).order_by(*(table.c[h] for h in spec.key))
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=batch).execute(statement):
                yield dict(row._mapping)

    def order_span(self) -> tuple[str, str] | None:
        """The first and last archived 注文日時 (text, JST), from the time index."""
        at = self.tables[ORDERS.title].c["注文日時"]
        with self.engine.connect() as conn:
            first, last = conn.execute(select(func.min(at), func.max(at))).one()
        return None if first is None else (str(first), str(last))

    def malls(self) -> list[str]:
        mall = self.tables[ORDERS.title].c["モール"]
        with self.engine.connect() as conn:
            return sorted(str(m) for m in conn.scalars(select(mall).distinct()))

    def order_facts(self, since: str, until: str) -> list[dict[str, Any]]:
        """Archived orders with ``since`` <= 注文日時 < ``until`` ('YYYY-MM-DD', JST) grouped by
        day, hour, モール and cancelled (0/1): 件数 and the sums of 合計金額 and 送料."""
        orders = self.tables[ORDERS.title]
        day, hour, cancelled = _day(orders), _hour(orders), _cancelled(orders)
        statement = (
            select(
                day,
                hour,
                orders.c["モール"],
                cancelled,
                func.count().label("件数"),
                func.coalesce(func.sum(orders.c["合計金額"]), 0).label("合計金額"),
                func.coalesce(func.sum(orders.c["送料"]), 0).label("送料"),
            )
            .where(_between(orders, since, until))
            .group_by(day, hour, orders.c["モール"], cancelled)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    def line_facts(self, since: str, until: str) -> list[dict[str, Any]]:
        """The lines with a SKU of the archived orders of ``since..until`` (as order_facts),
        grouped by the order's day, モール, cancelled and 在庫引当 (0/1) and the line's SKU:
        the sums of 数量 and 数量 × 単価."""
        orders, lines = self.tables[ORDERS.title], self.tables[ORDER_LINES.title]
        day, cancelled = _day(orders), _cancelled(orders)
        allocates = case((orders.c["在庫引当"] == "ON", 1), else_=0).label("在庫引当")
        statement = (
            select(
                day,
                orders.c["モール"],
                lines.c["SKU"],
                cancelled,
                allocates,
                func.coalesce(func.sum(lines.c["数量"]), 0).label("数量"),
                func.coalesce(func.sum(lines.c["数量"] * lines.c["単価"]), 0).label("商品売上"),
            )
            .select_from(lines.join(orders, _same_order(lines, orders)))
            .where(_between(orders, since, until), lines.c["SKU"] != "")
            .group_by(day, orders.c["モール"], lines.c["SKU"], cancelled, allocates)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    def line_names(self, skus: Sequence[str], since: str, until: str) -> dict[str, str]:
        """商品名 of each SKU on its most recently ordered archived line among the orders of
        ``since..until`` (as order_facts: the time index, not every line a SKU ever had)."""
        orders, lines = self.tables[ORDERS.title], self.tables[ORDER_LINES.title]
        latest: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(skus), _CHUNK):
                statement = (
                    select(lines.c["SKU"], lines.c["商品名"], func.max(orders.c["注文日時"]))
                    .select_from(lines.join(orders, _same_order(lines, orders)))
                    .where(
                        _between(orders, since, until), lines.c["SKU"].in_(list(skus[start : start + _CHUNK]))
                    )
                    .group_by(lines.c["SKU"], lines.c["商品名"])
                )
                for sku, name, at in conn.execute(statement):
                    if sku not in latest or (str(at), str(name)) > latest[sku]:
                        latest[sku] = (str(at), str(name))
        return {sku: name for sku, (_, name) in latest.items()}

    def search_orders(self, words: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """Archived orders matching every word, newest first, at most ``limit``: a word matches
        the 注文番号 or the 購入者名 (with or without its spaces) anywhere, ignoring ASCII case,
        or a line's SKU from its start (the SKU index). The time index gives the order, so a
        common word stops after ``limit`` rows instead of sorting the archive."""
        orders, lines = self.tables[ORDERS.title], self.tables[ORDER_LINES.title]
        conditions: list[ColumnElement[bool]] = []
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            name = orders.c["購入者名"]
            bare = func.replace(func.replace(name, " ", ""), "\u3000", "")
            sku = lines.c["SKU"]
            prefixes = [and_(sku >= w, sku < w + "\uffff") for w in dict.fromkeys((word, word.upper()))]
            holding = select(lines.c["モール"], lines.c["注文番号"]).where(or_(*prefixes))
            conditions.append(
                or_(
                    orders.c["注文番号"].ilike(pattern, escape="\\"),
                    name.ilike(pattern, escape="\\"),
                    bare.ilike(pattern, escape="\\"),
                    tuple_(orders.c["モール"], orders.c["注文番号"]).in_(holding),
                )
            )
        statement = select(orders).where(*conditions).order_by(orders.c["注文日時"].desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    def order_rows(self, spec: TabSpec, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """The rows of ``spec`` (受注, 受注明細 or 在庫移動) that belong to these orders."""
        table = self.tables[spec.title]
        key_columns = tuple_(table.c["モール"], table.c["注文番号"])
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = [tuple(k) for k in keys[start : start + _CHUNK]]
                found.extend(
                    dict(r._mapping) for r in conn.execute(select(table).where(key_columns.in_(chunk)))
                )
        return found

    def sync_runs(self, mall: str, since: str, until: str) -> list[dict[str, Any]]:
        """Archived 同期ログ rows of a mall that started in ``since..until`` (time index)."""
        log = self.tables[SYNC_LOG.title]
        started = log.c["開始日時"]
        statement = (
            select(log).where(log.c["モール"] == mall, started >= since, started <= until).order_by(started)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]


def row_model(spec: TabSpec, row: dict[str, Any]) -> Any:
    """An archived row back as the tab's model (blank text is how the archive keeps None)."""
    return spec.model.model_validate({h: ("" if v is None else v) for h, v in row.items()})


# Days and hours from the text times ('YYYY-MM-DD HH:MM:SS', JST): portable substr, no date
# functions, so SQLite and PostgreSQL group the same way.
def _day(table: Table) -> Any:
    return func.substr(table.c["注文日時"], 1, 10).label("日")


def _hour(table: Table) -> Any:
    return cast(func.substr(table.c["注文日時"], 12, 2), Integer).label("時")


def _cancelled(table: Table) -> Any:
    return case((table.c["ステータス"] == CANCELLED, 1), else_=0).label("キャンセル")


def _between(orders: Table, since: str, until: str) -> ColumnElement[bool]:
    at = orders.c["注文日時"]
    return and_(at >= since, at < until)


def _same_order(lines: Table, orders: Table) -> ColumnElement[bool]:
    return and_(lines.c["モール"] == orders.c["モール"], lines.c["注文番号"] == orders.c["注文番号"])


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
