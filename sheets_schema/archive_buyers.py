"""When each buyer first ordered, among the archived orders: what 受注ルール's 初回購入 needs to
know about buyers whose earlier orders left 受注 for the archive.

One row per buyer key (``vocabulary.buyers``: a phone number or an own mail address, kept as a
digest) with the earliest 注文日時 of an archived order that has it. The archive pass writes it
in the same transaction as the orders it copies (``record``); an archive made before this
table existed gets it built once, whoever opens the archive first (``ensure``), from the orders
it holds. A lookup is one indexed query for the keys of one order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Connection, MetaData, Table, Text, func, inspect, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from vocabulary.buyers import buyer_keys, stored_key
from vocabulary.jst import JST

if TYPE_CHECKING:
    from sheets_schema.archive import Archive

BUYER_FIRST = "buyer_first"
_BUILD_LOCK = 0x1C41_B0F1  # PostgreSQL: one builder at a time
_BATCH = 5_000
_CHUNK = 400
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # as the archive keeps 注文日時: sorts as time


def buyer_first_table(metadata: MetaData) -> Table:
    return Table(
        BUYER_FIRST,
        metadata,
        Column("key", Text, primary_key=True),
        Column("first_at", Text, nullable=False),
    )


def firsts(rows: Iterable[tuple[Any, Any, Any]]) -> dict[str, str]:
    """(電話番号, メールアドレス, 注文日時 text) per order -> stored key: earliest 注文日時."""
    found: dict[str, str] = {}
    for phone, mail, ordered in rows:
        at = str(ordered or "")
        if not at:
            continue
        for key in buyer_keys(str(phone or ""), str(mail or "")):
            digest = stored_key(key)
            if digest not in found or at < found[digest]:
                found[digest] = at
    return found


def record(conn: Connection, table: Table, values: Iterable[Mapping[str, Any]]) -> None:
    """Fold copied 受注 rows into the table (in the caller's transaction)."""
    _upsert(
        conn, table, firsts((v.get("電話番号"), v.get("メールアドレス"), v.get("注文日時")) for v in values)
    )


def _upsert(conn: Connection, table: Table, found: Mapping[str, str]) -> None:
    if not found:
        return
    postgres = conn.dialect.name == "postgresql"
    insert = postgresql_insert if postgres else sqlite_insert
    earliest = func.least if postgres else func.min  # SQLite's min(a, b) is the scalar one
    items = sorted(found.items())
    for start in range(0, len(items), _CHUNK):
        statement = insert(table).values(
            [{"key": k, "first_at": at} for k, at in items[start : start + _CHUNK]]
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={"first_at": earliest(table.c.first_at, statement.excluded.first_at)},
            )
        )


def ensure(archive: Archive) -> None:
    """Build the table for an archive made before it existed: once, in one transaction."""
    with archive.engine.connect() as conn:
        if inspect(conn).has_table(BUYER_FIRST):
            return
    with archive._writing() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BUILD_LOCK})
        if inspect(conn).has_table(BUYER_FIRST):
            return  # built meanwhile by another process
        archive.buyer_first.create(conn)
        orders = archive.tables["受注"]
        mall, number = orders.c["モール"], orders.c["注文番号"]
        columns = (mall, number, orders.c["電話番号"], orders.c["メールアドレス"], orders.c["注文日時"])
        last: tuple[str, str] | None = None
        while True:  # by primary key, a batch at a time: a large archive never sits in memory
            query = select(*columns).order_by(mall, number).limit(_BATCH)
            if last is not None:
                query = query.where(tuple_(mall, number) > tuple_(*last))
            batch = conn.execute(query).all()
            if not batch:
                break
            _upsert(conn, archive.buyer_first, firsts(row[2:] for row in batch))
            last = (batch[-1][0], batch[-1][1])


def first_orders(archive: Archive, keys: Collection[str]) -> dict[str, datetime]:
    """Buyer key -> when that buyer first ordered among the archived orders (keys never seen
    there are left out)."""
    if not keys:
        return {}
    by_digest = {stored_key(k): k for k in keys}
    table = archive.buyer_first
    with archive.engine.connect() as conn:
        rows = conn.execute(select(table.c.key, table.c.first_at).where(table.c.key.in_(list(by_digest))))
        return {
            by_digest[digest]: datetime.strptime(at, TIME_FORMAT).replace(tzinfo=JST) for digest, at in rows
        }


def lookup(archive: Archive) -> Callable[[frozenset[str]], dict[str, datetime] | None]:
    """``first_orders`` as 初回購入 asks it: None when the archive cannot be read (its server is
    away), so the order's first purchase is "cannot tell" rather than a guess."""

    def earlier(keys: frozenset[str]) -> dict[str, datetime] | None:
        try:
            return first_orders(archive, keys)
        except SQLAlchemyError:
            return None

    return earlier
