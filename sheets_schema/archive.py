"""The archive: history moved out of the workbook, in typed tables generated from the workbook
contract (one column per header, the tab's key as primary key, times indexed) through
SQLAlchemy Core: a SQLite file beside the workbook by default, any SQLAlchemy URL when set.

Rows are copied by key with "insert, or keep the copy already there", so copying the same rows
again (a pass interrupted after the copy, then run again) changes nothing.

Beside the archived rows the archive keeps *facts*: the archived orders and lines summed per day,
and the lines per month too (what 分析 reads: ``order_facts``, ``order_sums``, ``line_sums``,
``line_names``, each a GROUP BY of the facts of a range of days in the database), so a page
receives sums per mall and SKU instead of a million orders. They are derived data: every copy
of orders or lines recomputes the facts of the days (and months) it touches (delete, then
INSERT … SELECT … GROUP BY over the archived rows of those days) in the copy's own transaction,
so the facts always equal an aggregation of the archived rows, a repeated copy leaves them as
they were, and a reader never sees half of a pass. An archive made before facts existed gets
them built once, when opened (one process at a time on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from sheets_schema import archive_buyers, archive_ledger
from sheets_schema.adapters.sql import _SCHEMA_LOCK, SqlOptions, create_sql_engine
from sheets_schema.changes import model_cells
from sheets_schema.driver_rows import driver_rows
from sheets_schema.tabs import ORDER_LINES, ORDER_SETTLEMENTS, ORDERS, STOCK_MOVEMENTS, SYNC_LOG, TabSpec

# Archived tabs and their table names (ASCII, so every database and tool can name them).
TABLE_NAMES = {
    SYNC_LOG.title: "sync_log",
    ORDERS.title: "orders",
    ORDER_LINES.title: "order_lines",
    STOCK_MOVEMENTS.title: "stock_movements",
    ORDER_SETTLEMENTS.title: "order_settlements",
}
ARCHIVED_SPECS = (SYNC_LOG, ORDERS, ORDER_LINES, STOCK_MOVEMENTS, ORDER_SETTLEMENTS)
_TIME_HEADERS = ("日時", "注文日時", "開始日時", "更新日時")
_CHUNK = 400
# Lookups the pages make besides time ranges: an order by its number (the primary key starts
# with モール), the orders holding a SKU, the ledger and the log of one order, a SKU's movements
# of one month (the stock facts, ``archive_ledger``).
_LOOKUPS = {
    "orders": (("注文番号",),),
    "order_lines": (("SKU",),),
    "stock_movements": (("モール", "注文番号"), ("SKU",), ("SKU", "日時")),
}
CANCELLED = "キャンセル"
# Fact tables (derived from the archived rows, see the module docstring) and their columns.
ORDER_FACTS = "order_day_facts"  # 日, 時, モール, キャンセル -> 件数, 合計金額, 送料
LINE_FACTS = "line_day_facts"  # 日, モール, SKU, キャンセル, 在庫引当 -> 数量, 商品売上
NAME_FACTS = "line_name_facts"  # 日, SKU, 商品名 -> 最終注文日時 (its latest order that day)
MONTH_FACTS = "line_month_facts"  # 月 ('YYYY-MM'), モール, SKU, キャンセル, 在庫引当 -> 数量, 商品売上
ORDER_FACT_COLUMNS = ("日", "時", "モール", "キャンセル", "件数", "合計金額", "送料")
LINE_FACT_COLUMNS = ("日", "モール", "SKU", "キャンセル", "在庫引当", "数量", "商品売上")


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
    if table.name == "orders":
        # What a search compares, in time order: the newest-first walk reads this index only.
        Index("ix_orders_search", *(table.c[h] for h in ("注文日時", "モール", "注文番号", "購入者名")))
    return table


def fact_tables(metadata: MetaData) -> dict[str, Table]:
    """The per-day fact tables (keys as primary key, so the day range is an index scan)."""

    def key(name: str, kind: Any = Text) -> Column[Any]:
        return Column(name, kind, primary_key=True, nullable=False)

    def total(name: str) -> Column[Any]:
        return Column(name, Integer, nullable=False)

    return {
        ORDER_FACTS: Table(
            ORDER_FACTS,
            metadata,
            key("日"),
            key("時", Integer),
            key("モール"),
            key("キャンセル", Integer),
            total("件数"),
            total("合計金額"),
            total("送料"),
        ),
        LINE_FACTS: Table(
            LINE_FACTS,
            metadata,
            key("日"),
            key("モール"),
            key("SKU"),
            key("キャンセル", Integer),
            key("在庫引当", Integer),
            total("数量"),
            total("商品売上"),
        ),
        NAME_FACTS: Table(
            NAME_FACTS,
            metadata,
            key("日"),
            key("SKU"),
            key("商品名"),
            Column("最終注文日時", Text, nullable=False),
        ),
        # The line facts summed per month: a sum over months of lines reads a month's row per
        # key instead of one per day.
        MONTH_FACTS: Table(
            MONTH_FACTS,
            metadata,
            key("月"),
            key("モール"),
            key("SKU"),
            key("キャンセル", Integer),
            key("在庫引当", Integer),
            total("数量"),
            total("商品売上"),
        ),
    }


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
        self.tables = {spec.title: archive_table(spec, self.metadata) for spec in ARCHIVED_SPECS}
        self.metadata.create_all(self.engine)
        self._ensure_columns()
        # create_all adds indexes only with a new table: an archive made by an earlier version
        # gets the lookup indexes here, once (CREATE INDEX is skipped when it exists).
        with self.engine.begin() as conn:
            for table in self.tables.values():
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
        self.facts_metadata = MetaData()
        self.facts = fact_tables(self.facts_metadata)
        self._ensure_facts()
        # The stock facts (valuation) are kept apart: built and refreshed on their own.
        self.ledger_metadata = MetaData()
        self.ledger_facts = archive_ledger.ledger_fact_tables(self.ledger_metadata)
        archive_ledger.ensure(self, self.ledger_metadata, self.ledger_facts)
        # When each buyer first ordered, for 受注ルール's 初回購入 (sheets_schema/archive_buyers.py).
        self.buyer_metadata = MetaData()
        self.buyer_first = archive_buyers.buyer_first_table(self.buyer_metadata)
        archive_buyers.ensure(self)

    def _ensure_columns(self) -> None:
        """Add the columns a tab gained after the archive was made (受注's タグ, ルール, 同梱): create_all
        never alters a table, and a copy names every column of the tab. Text columns only
        (yen and quantities were there from the start); two processes adding the same column
        at once: the one that loses finds it there."""
        with self.engine.connect() as conn:
            inspector = inspect(conn)
            missing = {
                table: [c for c in table.columns if c.name not in present]
                for table in self.tables.values()
                if (present := {c["name"] for c in inspector.get_columns(table.name)})
            }
        quote = self.engine.dialect.identifier_preparer.quote
        for table, columns in missing.items():
            for column in columns:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(
                            text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} TEXT")
                        )
                except DBAPIError:
                    with self.engine.connect() as conn:
                        if column.name not in {c["name"] for c in inspect(conn).get_columns(table.name)}:
                            raise

    @property
    def movement_table(self) -> Table:
        return self.tables[STOCK_MOVEMENTS.title]

    def _writing(self) -> Connection:
        """A connection whose transactions take the write lock up front on SQLite (BEGIN
        IMMEDIATE): a copy reads the days it recomputes and writes them in one snapshot."""
        return self.engine.connect().execution_options(ichigen_write=True)

    def _ensure_facts(self) -> None:
        """Build the fact tables of an archive made before they existed: once, in one
        transaction (tables and rows together), whoever opens the archive first. An archive
        with the day facts but not the month facts gets those from its day facts."""
        names = list(self.facts)
        with self.engine.connect() as conn:
            if all(inspect(conn).has_table(name) for name in names):
                return
        with self._writing() as conn, conn.begin():
            if conn.dialect.name == "postgresql":  # one builder at a time (SQLite: its write lock)
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            present = {name for name in names if inspect(conn).has_table(name)}
            if present == set(names):
                return  # built meanwhile by another process
            if present == set(names) - {MONTH_FACTS}:
                self.facts[MONTH_FACTS].create(conn)
                self._insert_month_facts(conn, None)
                return
            for table in self.facts.values():
                table.drop(conn, checkfirst=True)
            self.facts_metadata.create_all(conn)
            self._insert_facts(conn, None)
            self._insert_month_facts(conn, None)

    def _insert_month_facts(self, conn: Connection, months: Sequence[str] | None) -> None:
        """INSERT … SELECT … GROUP BY the month facts of these months ('YYYY-MM'; None: all)
        from the day facts."""
        days, month_facts = self.facts[LINE_FACTS], self.facts[MONTH_FACTS]
        month = func.substr(days.c["日"], 1, 7).label("月")
        keys = [days.c[c] for c in ("モール", "SKU", "キャンセル", "在庫引当")]
        chunks = [None] if months is None else [months[i : i + _CHUNK] for i in range(0, len(months), _CHUNK)]
        for chunk in chunks:
            statement = select(month, *keys, func.sum(days.c["数量"]), func.sum(days.c["商品売上"]))
            if chunk is not None:
                statement = statement.where(
                    or_(*(and_(days.c["日"] >= m, days.c["日"] < m + "\uffff") for m in chunk))
                )
            statement = statement.group_by(month, *keys)
            conn.execute(month_facts.insert().from_select([c.name for c in month_facts.columns], statement))

    def _insert_facts(self, conn: Connection, days: Sequence[str] | None) -> None:
        """INSERT … SELECT … GROUP BY the facts of these days (None: of every archived order)."""
        orders, lines = self.tables[ORDERS.title], self.tables[ORDER_LINES.title]
        for chunk in [None] if days is None else [days[i : i + _CHUNK] for i in range(0, len(days), _CHUNK)]:
            where = func.length(orders.c["注文日時"]) >= 10 if chunk is None else _on_days(orders, chunk)
            day, hour, cancelled = _day(orders), _hour(orders), _cancelled(orders)
            order_facts = (
                select(
                    day,
                    hour,
                    orders.c["モール"],
                    cancelled,
                    func.count(),
                    func.coalesce(func.sum(orders.c["合計金額"]), 0),
                    func.coalesce(func.sum(orders.c["送料"]), 0),
                )
                .where(where)
                .group_by(day, hour, orders.c["モール"], cancelled)
            )
            allocates = case((orders.c["在庫引当"] == "ON", 1), else_=0).label("在庫引当")
            joined = lines.join(orders, _same_order(lines, orders))
            line_facts = (
                select(
                    day,
                    orders.c["モール"],
                    lines.c["SKU"],
                    cancelled,
                    allocates,
                    func.coalesce(func.sum(lines.c["数量"]), 0),
                    func.coalesce(func.sum(lines.c["数量"] * lines.c["単価"]), 0),
                )
                .select_from(joined)
                .where(where, lines.c["SKU"] != "")
                .group_by(day, orders.c["モール"], lines.c["SKU"], cancelled, allocates)
            )
            name = func.coalesce(lines.c["商品名"], literal(""))
            name_facts = (
                select(day, lines.c["SKU"], name, func.max(orders.c["注文日時"]))
                .select_from(joined)
                .where(where, lines.c["SKU"] != "")
                .group_by(day, lines.c["SKU"], name)
            )
            for table, statement in (
                (self.facts[ORDER_FACTS], order_facts),
                (self.facts[LINE_FACTS], line_facts),
                (self.facts[NAME_FACTS], name_facts),
            ):
                columns = [c.name for c in table.columns]
                conn.execute(table.insert().from_select(columns, statement))

    def _refresh_facts(self, conn: Connection, days: set[str]) -> None:
        """Recompute the facts of these days, and of their months, from the archived rows
        (same transaction)."""
        ordered = sorted(d for d in days if len(d) == 10)
        if not ordered:
            return
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            for name, table in self.facts.items():
                if name != MONTH_FACTS:
                    conn.execute(delete(table).where(table.c["日"].in_(chunk)))
        self._insert_facts(conn, ordered)
        months = sorted({d[:7] for d in ordered})
        month_facts = self.facts[MONTH_FACTS]
        for start in range(0, len(months), _CHUNK):
            conn.execute(delete(month_facts).where(month_facts.c["月"].in_(months[start : start + _CHUNK])))
        self._insert_month_facts(conn, months)

    def _days_of_orders(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> set[str]:
        orders = self.tables[ORDERS.title]
        days: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = [tuple(k) for k in keys[start : start + _CHUNK]]
            statement = select(orders.c["注文日時"]).where(
                _pairs(orders.c["モール"], orders.c["注文番号"], chunk)
            )
            days.update(str(at)[:10] for at in conn.scalars(statement) if at is not None)
        return days

    def copy(self, spec: TabSpec, rows: Iterable[BaseModel]) -> int:
        """Copy rows in one transaction; a key already archived keeps its first copy."""
        table = self.tables[spec.title]
        values = [_row(spec, row) for row in rows]
        if not values:
            return 0
        dialect = self.engine.dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        with self._writing() as conn, conn.begin():
            for start in range(0, len(values), _CHUNK):
                statement = insert(table).values(values[start : start + _CHUNK])
                conn.execute(statement.on_conflict_do_nothing(index_elements=list(spec.key)))
            # The facts of the days these rows belong to, from what is archived now.
            if spec.title == ORDERS.title:
                self._refresh_facts(conn, {str(v["注文日時"])[:10] for v in values if v["注文日時"]})
                archive_buyers.record(conn, self.buyer_first, values)
            elif spec.title == ORDER_LINES.title:
                keys = sorted({(v["モール"], v["注文番号"]) for v in values})
                self._refresh_facts(conn, self._days_of_orders(conn, keys))
            elif spec.title == STOCK_MOVEMENTS.title:
                archive_ledger.refresh(conn, table, self.ledger_facts, values)
        return len(values)

    def has(self, spec: TabSpec, keys: Sequence[tuple[str, ...]]) -> set[tuple[str, ...]]:
        """Which of these keys the archive holds (how a pass verifies before it deletes)."""
        table = self.tables[spec.title]
        key_columns = [table.c[h] for h in spec.key]
        found: set[tuple[str, ...]] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = [tuple(k) for k in keys[start : start + _CHUNK]]
                if len(key_columns) == 1:
                    condition = key_columns[0].in_([k[0] for k in chunk])
                else:  # the key's first two columns through the primary key, the rest here
                    condition = _pairs(key_columns[0], key_columns[1], chunk)
                asked = {tuple(str(v) for v in k) for k in chunk}
                for row in conn.execute(select(*key_columns).where(condition)):
                    key = tuple(str(v) for v in row)
                    if key in asked:
                        found.add(key)
        return found

    def first_orders(self, keys: Collection[str]) -> dict[str, datetime]:
        """Buyer key -> the earliest archived order with it (``vocabulary.buyers`` keys)."""
        return archive_buyers.first_orders(self, keys)

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
        """Row counts of the archived orders and lines: what the cached reads (分析, the
        search) are made of. A pass only adds rows (an order is archived once, closed), so what
        was read from them stays valid while these are equal. Not the ledger (millions of rows
        to count on PostgreSQL): an order's movements are read uncached, when it is opened."""
        return tuple(self.count(spec) for spec in (ORDERS, ORDER_LINES))

    def iter_rows(self, spec: TabSpec, batch: int = 5_000) -> Iterator[dict[str, Any]]:
        """Every archived row of a tab in key order, fetched ``batch`` rows at a time."""
        table = self.tables[spec.title]
        statement = select(table).order_by(*(table.c[h] for h in spec.key))
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=batch).execute(statement):
                yield dict(row._mapping)

    def order_span(self) -> tuple[str, str] | None:
        """The first and last archived 注文日時 (text, JST), from the time index (one min and
        one max: SQLite answers each from the index only when asked alone)."""
        at = self.tables[ORDERS.title].c["注文日時"]
        with self.engine.connect() as conn:
            first = conn.scalar(select(func.min(at)))
            last = conn.scalar(select(func.max(at)))
        return None if first is None else (str(first), str(last))

    def malls(self) -> list[str]:
        """The malls of the archived orders: one index step per mall (the primary key starts
        with モール), not a scan of every order."""
        mall = self.tables[ORDERS.title].c["モール"]
        found: list[str] = []
        with self.engine.connect() as conn:
            current = conn.scalar(select(func.min(mall)))
            while current is not None:
                found.append(str(current))
                current = conn.scalar(select(func.min(mall)).where(mall > current))
        return sorted(found)

    def order_facts(self, since: str, until: str) -> list[tuple[Any, ...]]:
        """Archived orders with ``since`` <= 注文日時 < ``until`` ('YYYY-MM-DD', JST) grouped by
        day, hour, モール and cancelled (0/1): 件数 and the sums of 合計金額 and 送料 (the
        order facts of those days), as tuples in ``ORDER_FACT_COLUMNS`` order."""
        return self._facts(ORDER_FACTS, since, until)

    def line_facts(self, since: str, until: str) -> list[tuple[Any, ...]]:
        """The lines with a SKU of the archived orders of ``since..until`` (as order_facts),
        grouped by the order's day, モール, cancelled and 在庫引当 (0/1) and the line's SKU:
        the sums of 数量 and 数量 × 単価 (the line facts of those days), as tuples in
        ``LINE_FACT_COLUMNS`` order."""
        return self._facts(LINE_FACTS, since, until)

    def sold_units(self, since: str, until: str) -> dict[str, int]:
        """Units per SKU of the non-cancelled archived lines taking stock from the shop's own
        warehouse (在庫引当 ON), of the orders of ``since..until`` (as order_facts): one GROUP
        BY over the line facts of those days (what 発注提案's sales velocity needs)."""
        facts = self.facts[LINE_FACTS]
        statement = (
            select(facts.c["SKU"], func.sum(facts.c["数量"]))
            .where(
                facts.c["日"] >= since,
                facts.c["日"] < until,
                facts.c["キャンセル"] == 0,
                facts.c["在庫引当"] == 1,
            )
            .group_by(facts.c["SKU"])
        )
        with self.engine.connect() as conn:
            return {str(sku): int(n) for sku, n in conn.execute(statement) if n}

    def order_sums(self, since: str, until: str) -> list[tuple[Any, ...]]:
        """The archived orders of ``since..until`` (as order_facts) summed per モール and
        cancelled, by the database: tuples in ``ORDER_FACT_COLUMNS`` order, 日 = ``since`` and
        時 = 0 (what a comparison of two periods needs, a row per mall instead of per hour)."""
        facts = self.facts[ORDER_FACTS]
        keys = (facts.c["モール"], facts.c["キャンセル"])
        statement = (
            select(
                literal(since).label("日"),
                literal(0).label("時"),
                *keys,
                *(func.sum(facts.c[c]) for c in ("件数", "合計金額", "送料")),
            )
            .where(facts.c["日"] >= since, facts.c["日"] < until)
            .group_by(*keys)
        )
        with self.engine.connect() as conn:
            return driver_rows(conn, statement)

    def line_sums(self, spans: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """For each span ``(since, until)`` of days, its archived lines (as line_facts) summed
        per モール, SKU, cancelled and 在庫引当 by the database: tuples in ``LINE_FACT_COLUMNS``
        order, 日 = the span's ``since``. One GROUP BY per span over the month facts of its
        whole months and the day facts of the days around them; as many rows as its distinct
        keys (a few per SKU), not one per day."""
        days, months = self.facts[LINE_FACTS], self.facts[MONTH_FACTS]
        names = ("モール", "SKU", "キャンセル", "在庫引当")
        found: list[tuple[Any, ...]] = []
        with self.engine.connect() as conn:
            for since, until in spans:
                first, after = _whole_months(since, until)
                parts = [
                    select(*(days.c[n] for n in names), days.c["数量"], days.c["商品売上"]).where(
                        or_(
                            and_(days.c["日"] >= since, days.c["日"] < min(first, until)),
                            and_(days.c["日"] >= max(after, since), days.c["日"] < until),
                        )
                    )
                ]
                if first < after:
                    parts.append(
                        select(*(months.c[n] for n in names), months.c["数量"], months.c["商品売上"]).where(
                            months.c["月"] >= first[:7], months.c["月"] < after[:7]
                        )
                    )
                both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
                keys = [both.c[n] for n in names]
                statement = select(
                    literal(since).label("日"), *keys, func.sum(both.c["数量"]), func.sum(both.c["商品売上"])
                ).group_by(*keys)
                found.extend(driver_rows(conn, statement))
        return found

    def _facts(self, name: str, since: str, until: str) -> list[tuple[Any, ...]]:
        facts = self.facts[name]
        statement = select(*facts.columns).where(facts.c["日"] >= since, facts.c["日"] < until)
        with self.engine.connect() as conn:
            return driver_rows(conn, statement)

    def line_names(self, skus: Sequence[str], since: str, until: str) -> dict[str, str]:
        """商品名 of each SKU on its most recently ordered archived line among the orders of
        ``since..until`` (as order_facts: the name facts of those days)."""
        facts = self.facts[NAME_FACTS]
        latest: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(skus), _CHUNK):
                statement = (
                    select(facts.c["SKU"], facts.c["商品名"], func.max(facts.c["最終注文日時"]))
                    .where(
                        facts.c["日"] >= since,
                        facts.c["日"] < until,
                        facts.c["SKU"].in_(list(skus[start : start + _CHUNK])),
                    )
                    .group_by(facts.c["SKU"], facts.c["商品名"])
                )
                for sku, name, at in conn.execute(statement):
                    if sku not in latest or (str(at), str(name)) > latest[sku]:
                        latest[sku] = (str(at), str(name))
        return {sku: name for sku, (_, name) in latest.items()}

    def search_orders(self, words: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """Archived orders matching every word, newest first, at most ``limit``: a word matches
        the 注文番号 or the 購入者名 (with or without its spaces) anywhere, ignoring ASCII case,
        or a line's SKU from its start (the SKU index).

        A word that is an archived order's number in full (as typed, or in capitals) finds
        that order through the number index alone, without the scan for numbers and names
        that merely contain it: typing an order number is the common search. Otherwise the
        newest-first walk reads only the search index (time, mall, number, name), stops after
        ``limit`` matches, and only those orders are read whole."""
        orders = self.tables[ORDERS.title]
        number, at = orders.c["注文番号"], orders.c["注文日時"]
        conditions = [self._matching(word) for word in words]
        exact = sorted({v for word in words for v in (word, word.upper())})
        keyed = select(orders.c["モール"], number).order_by(at.desc()).limit(limit)
        with self.engine.connect() as conn:
            keys = (
                [tuple(k) for k in conn.execute(keyed.where(number.in_(exact), *conditions))] if exact else []
            )
            if not keys:
                keys = [tuple(k) for k in conn.execute(keyed.where(*conditions))]
            if not keys:
                return []
            found = {
                (r["モール"], r["注文番号"]): dict(r)
                for r in conn.execute(
                    select(orders).where(_pairs(orders.c["モール"], number, keys))
                ).mappings()
            }
        return [found[k] for k in keys if k in found]

    def _matching(self, word: str) -> ColumnElement[bool]:
        """One search word's condition (see ``search_orders``)."""
        orders, lines = self.tables[ORDERS.title], self.tables[ORDER_LINES.title]
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # SQLite's LIKE already ignores ASCII case; ILIKE would lower() every row first.
        like = "like" if self.engine.dialect.name == "sqlite" else "ilike"
        name = orders.c["購入者名"]
        bare = func.replace(func.replace(name, " ", ""), "\u3000", "")
        sku = lines.c["SKU"]
        prefixes = [and_(sku >= w, sku < w + "\uffff") for w in dict.fromkeys((word, word.upper()))]
        holding = select(lines.c["モール"], lines.c["注文番号"]).where(or_(*prefixes))
        matches = [getattr(orders.c["注文番号"], like)(pattern, escape="\\")]
        if " " in word or "\u3000" in word:  # without spaces, a match in the name is one in the bare name
            matches.append(getattr(name, like)(pattern, escape="\\"))
        matches.append(getattr(bare, like)(pattern, escape="\\"))
        matches.append(tuple_(orders.c["モール"], orders.c["注文番号"]).in_(holding))
        return or_(*matches)

    def order_rows(self, spec: TabSpec, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """The rows of ``spec`` (受注, 受注明細 or 在庫移動) that belong to these orders."""
        table = self.tables[spec.title]
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = [tuple(k) for k in keys[start : start + _CHUNK]]
                condition = _pairs(table.c["モール"], table.c["注文番号"], chunk)
                found.extend(dict(r._mapping) for r in conn.execute(select(table).where(condition)))
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


def _whole_months(since: str, until: str) -> tuple[str, str]:
    """The whole months within the days ``since..until`` (until excluded, 'YYYY-MM-DD'): the
    first day of the first one and the first day after the last one (first >= after: none)."""
    first = since if since.endswith("-01") else _next_month(since)
    return first, until[:8] + "01"


def _next_month(day: str) -> str:
    year, month = int(day[:4]), int(day[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"


def _between(orders: Table, since: str, until: str) -> ColumnElement[bool]:
    at = orders.c["注文日時"]
    return and_(at >= since, at < until)


def _on_days(orders: Table, days: Sequence[str]) -> ColumnElement[bool]:
    """注文日時 on one of these days ('YYYY-MM-DD'): one time-index range per day."""
    at = orders.c["注文日時"]
    return or_(*(and_(at >= day, at < day + "\uffff") for day in days))


def _pairs(first: Any, second: Any, keys: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
    """(first, second) among the first two values of these keys, spelled as
    ``first = a AND second IN (…)`` per value of ``first``: every database walks an index
    starting with these columns for it (SQLite scans the table for a row-value IN list)."""
    grouped: dict[Any, set[Any]] = {}
    for key in keys:
        grouped.setdefault(key[0], set()).add(key[1])
    return or_(*(and_(first == a, second.in_(sorted(b, key=str))) for a, b in grouped.items()))


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
