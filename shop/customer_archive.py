"""The buyer keys of archived orders, kept in the archive database beside its facts.

Hashing a million archived orders' names and phone numbers on every view would cost seconds,
so the archive keeps, per archived order, its buyer key and the few numbers the customer
analysis needs (``order_buyers``: day, mall, cancelled, 合計金額), and per buyer and SKU the
non-cancelled orders and units (``buyer_skus``, for the repeat SKUs). No name, phone, postcode
or mail is stored there: only the salted key (``shop.customer_identity``), NULL when the
order does not say who bought it.

The tables are derived data, made by the reader (the key needs the salt, which the archive pass
does not have): ``ensure`` adds the archived orders not yet keyed, in one write transaction
(the archive only ever gains closed orders, so comparing two row counts says whether anything
is new), and rebuilds everything when the salt changed (``buyer_meta`` holds its fingerprint).
The first run over a large archive hashes every order once (about 40 s per million on the bench machine); after
that a view costs one COUNT and the reads below.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    text,
)

from sheets_schema.archive import Archive
from sheets_schema.driver_rows import driver_rows
from sheets_schema.tabs import ORDER_LINES, ORDERS
from shop.customer_identity import buyer_key, salt_fingerprint

ORDER_BUYERS = "order_buyers"
BUYER_SKUS = "buyer_skus"
BUYER_META = "buyer_meta"
_FINGERPRINT = "salt"
_BATCH = 5_000
_CHUNK = 400
EPOCH = date(1970, 1, 1)


def buyer_tables(metadata: MetaData) -> dict[str, Table]:
    orders = Table(
        ORDER_BUYERS,
        metadata,
        Column("モール", Text, primary_key=True),
        Column("注文番号", Text, primary_key=True),
        Column("日", Integer, nullable=False),  # days since 1970-01-01 (JST date): a number reads fast
        Column("購入者", BigInteger, nullable=True),  # NULL: the order does not say who
        Column("キャンセル", Integer, nullable=False),
        Column("合計金額", BigInteger, nullable=False),
    )
    # What the analysis reads, in one index: SQLite answers from it without the table.
    Index(
        "ix_order_buyers_read",
        orders.c["キャンセル"],
        orders.c["購入者"],
        orders.c["日"],
        orders.c["モール"],
        orders.c["合計金額"],
    )
    skus = Table(
        BUYER_SKUS,
        metadata,
        Column("購入者", BigInteger, primary_key=True),
        Column("SKU", Text, primary_key=True),
        Column("注文数", Integer, nullable=False),
        Column("数量", BigInteger, nullable=False),
    )
    meta = Table(
        BUYER_META, metadata, Column("キー", Text, primary_key=True), Column("値", Text, nullable=False)
    )
    return {ORDER_BUYERS: orders, BUYER_SKUS: skus, BUYER_META: meta}


@dataclass(frozen=True)
class BuyerArchive:
    archive: Archive
    tables: dict[str, Table]


def open_buyers(archive: Archive) -> BuyerArchive:
    metadata = MetaData()
    tables = buyer_tables(metadata)
    metadata.create_all(archive.engine)
    return BuyerArchive(archive, tables)


def day_number(text_day: str) -> int:
    """'YYYY-MM-DD…' -> days since 1970-01-01."""
    return (date(int(text_day[:4]), int(text_day[5:7]), int(text_day[8:10])) - EPOCH).days


def ensure(buyers: BuyerArchive, salt: str) -> int:
    """Key the archived orders not keyed yet (all of them after a salt change). Returns how
    many orders were keyed now (0: nothing was new)."""
    archive, tables = buyers.archive, buyers.tables
    keyed, meta = tables[ORDER_BUYERS], tables[BUYER_META]
    fingerprint = salt_fingerprint(salt)
    with archive.engine.connect() as conn:
        stored = conn.scalar(select(meta.c["値"]).where(meta.c["キー"] == _FINGERPRINT))
        if stored == fingerprint and _count(conn, archive.tables[ORDERS.title]) == _count(conn, keyed):
            return 0
    with archive.engine.connect().execution_options(ichigen_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":  # one builder at a time (SQLite: its write lock)
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x1C6E_B0E5})
        stored = conn.scalar(select(meta.c["値"]).where(meta.c["キー"] == _FINGERPRINT))
        if stored != fingerprint:
            for table in tables.values():
                conn.execute(delete(table))
            conn.execute(meta.insert().values({"キー": _FINGERPRINT, "値": fingerprint}))
        rebuild = _count(conn, keyed) == 0
        added = _key_missing(conn, archive, keyed, salt)
        if rebuild:
            _insert_buyer_skus(conn, archive, buyers, None)
        else:
            _insert_buyer_skus(conn, archive, buyers, sorted({b for b in added if b is not None}))
    return len(added)


def _count(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _key_missing(conn: Connection, archive: Archive, keyed: Table, salt: str) -> list[int | None]:
    """Insert the keys of archived orders without one; the keys added (None for unknown)."""
    orders = archive.tables[ORDERS.title]
    columns = (
        "モール",
        "注文番号",
        "注文日時",
        "ステータス",
        "合計金額",
        "購入者名",
        "電話番号",
        "郵便番号",
        "メールアドレス",
    )
    missing = (
        select(*(orders.c[c] for c in columns))
        .select_from(
            orders.outerjoin(
                keyed,
                and_(keyed.c["モール"] == orders.c["モール"], keyed.c["注文番号"] == orders.c["注文番号"]),
            )
        )
        .where(keyed.c["注文番号"].is_(None), func.length(orders.c["注文日時"]) >= 10)
    )
    # Read everything first: SQLite cannot insert into a table while a SELECT on it is open.
    rows = conn.execute(missing).all()
    added: list[int | None] = []
    for start in range(0, len(rows), _BATCH):
        values = []
        for mall, number, at, status, total, name, phone, postcode, mail in rows[start : start + _BATCH]:
            key = buyer_key(salt, mall, name or "", phone, postcode, mail or "")
            added.append(key)
            values.append(
                {
                    "モール": mall,
                    "注文番号": number,
                    "日": day_number(str(at)),
                    "購入者": key,
                    "キャンセル": 1 if status == "キャンセル" else 0,
                    "合計金額": int(total or 0),
                }
            )
        conn.execute(keyed.insert(), values)
    return added


def _insert_buyer_skus(
    conn: Connection, archive: Archive, buyers: BuyerArchive, keys: Sequence[int] | None
) -> None:
    """(Re)compute the buyer × SKU counts of these buyers (None: of everyone) from the keyed
    orders and the archived lines: distinct non-cancelled orders and units."""
    keyed, skus = buyers.tables[ORDER_BUYERS], buyers.tables[BUYER_SKUS]
    lines = archive.tables[ORDER_LINES.title]
    order_id = lines.c["モール"] + literal("\x1f") + lines.c["注文番号"]
    chunks: Iterable[Sequence[int] | None] = (
        [None] if keys is None else [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
    )
    for chunk in chunks:
        where = [keyed.c["キャンセル"] == 0, keyed.c["購入者"].is_not(None), lines.c["SKU"] != ""]
        if chunk is not None:
            if not chunk:
                continue
            conn.execute(delete(skus).where(skus.c["購入者"].in_(list(chunk))))
            where.append(keyed.c["購入者"].in_(list(chunk)))
        statement = (
            select(
                keyed.c["購入者"],
                lines.c["SKU"],
                func.count(func.distinct(order_id)),
                func.sum(lines.c["数量"]),
            )
            .select_from(
                lines.join(
                    keyed,
                    and_(keyed.c["モール"] == lines.c["モール"], keyed.c["注文番号"] == lines.c["注文番号"]),
                )
            )
            .where(*where)
            .group_by(keyed.c["購入者"], lines.c["SKU"])
        )
        conn.execute(skus.insert().from_select(["購入者", "SKU", "注文数", "数量"], statement))


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyedOrders:
    """The archive's non-cancelled orders with a buyer key, as arrays (one element per order),
    and the others summed: ``unknown`` rows (日, モール, 件数, 合計金額) of orders without a key."""

    buyer: np.ndarray  # int64
    day: np.ndarray  # int64, days since 1970-01-01
    mall: np.ndarray  # int64: the index in ``malls`` (-1: none)
    total: np.ndarray  # int64
    unknown: list[tuple[int, str, int, int]]
    malls: tuple[str, ...] = ()


def keyed_orders(buyers: BuyerArchive) -> KeyedOrders:
    """One scan of the covering index for the keyed orders, one GROUP BY for the unknown.

    The million rows come through the driver's own cursor as integers (the mall as its index
    in ``malls``): SQLAlchemy's result rows cost three times as much for this one read."""
    keyed = buyers.tables[ORDER_BUYERS]
    malls = buyers.archive.malls()
    code = " ".join(f"WHEN '{m.replace(chr(39), chr(39) * 2)}' THEN {i}" for i, m in enumerate(malls))
    mall = f'CASE "モール" {code} ELSE -1 END' if malls else "-1"
    known = (
        f'SELECT "購入者", "日", {mall}, "合計金額" FROM {ORDER_BUYERS} '
        'WHERE "キャンセル" = 0 AND "購入者" IS NOT NULL'
    )
    unknown = (
        select(keyed.c["日"], keyed.c["モール"], func.count(), func.sum(keyed.c["合計金額"]))
        .where(keyed.c["キャンセル"] == 0, keyed.c["購入者"].is_(None))
        .group_by(keyed.c["日"], keyed.c["モール"])
    )
    with buyers.archive.engine.connect() as conn:
        rows = driver_rows(conn, known)
        missing = [(int(d), str(m), int(n), int(s or 0)) for d, m, n, s in conn.execute(unknown)]
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype="int64", count=4 * len(rows))
    table = flat.reshape(len(rows), 4)
    return KeyedOrders(table[:, 0], table[:, 1], table[:, 2], table[:, 3], missing, tuple(malls))


def repeat_skus(buyers: BuyerArchive) -> list[tuple[str, int, int, int]]:
    """Per SKU over the archive: buyers, buyers with 2+ orders of it, units (GROUP BY in SQL)."""
    skus = buyers.tables[BUYER_SKUS]
    statement = select(
        skus.c["SKU"],
        func.count(),
        func.sum(case((skus.c["注文数"] >= 2, 1), else_=0)),
        func.sum(skus.c["数量"]),
    ).group_by(skus.c["SKU"])
    with buyers.archive.engine.connect() as conn:
        return [(str(s), int(b), int(r or 0), int(q or 0)) for s, b, r, q in conn.execute(statement)]


def pair_orders(buyers: BuyerArchive, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The archive's order counts of these (buyer, SKU) pairs (the workbook's buyers, to merge
    their archived history): primary-key lookups, one statement per buyer and 500 SKUs."""
    skus = buyers.tables[BUYER_SKUS]
    grouped: dict[int, set[str]] = {}
    for buyer, sku in pairs:
        grouped.setdefault(int(buyer), set()).add(sku)
    found: dict[tuple[int, str], int] = {}
    statement = select(skus.c["SKU"], skus.c["注文数"]).where(
        skus.c["購入者"] == bindparam("buyer"), skus.c["SKU"].in_(bindparam("skus", expanding=True))
    )
    with buyers.archive.engine.connect() as conn:
        for buyer, wanted in grouped.items():
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                for sku, n in conn.execute(statement, {"buyer": buyer, "skus": chunk}):
                    found[(buyer, str(sku))] = int(n)
    return found
