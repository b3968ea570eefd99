"""The archive's stock facts: what stock valuation reads instead of every archived movement.

- ``stock_month_facts``: per SKU and month ('YYYY-MM' of 日時, JST) the change of 実在庫 its
  archived movements make (Σ on-hand effect × 数量);
- ``stock_receipt_facts``: every archived 入庫 with 月内前残, the change of 実在庫 the SKU's
  archived movements earlier in the same month make (order: 日時, then 移動ID).

So 実在庫 just before an archived receipt is Σ 増減 of the SKU's earlier months + its 月内前残,
and 実在庫 at a month's end is Σ 増減 up to that month: a valuation reads SKUs × months +
receipts rows, never the millions of archived 出荷.

Maintained like the order facts (``sheets_schema.archive``): every copy of movements recomputes
the facts of the (SKU, month) pairs it touches, from the archived rows, in the copy's own
transaction (delete, then INSERT … SELECT over those months' rows through the (SKU, 日時)
index), so they always equal an aggregation of the archived rows; an archive made before these
facts gets them built once, when opened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    inspect,
    or_,
)
from sqlalchemy import select as sql_select

from sheets_schema.driver_rows import driver_rows
from vocabulary.statuses import ON_HAND_EFFECT

if TYPE_CHECKING:
    from sheets_schema.archive import Archive

MONTH_FACTS = "stock_month_facts"  # SKU, 月 -> 増減
RECEIPT_FACTS = "stock_receipt_facts"  # 移動ID -> SKU, 月, 日時, 数量, 月内前残
RECEIPT = "入庫"
_CHUNK = 200  # (SKU, month) pairs per statement


def ledger_fact_tables(metadata: MetaData) -> dict[str, Table]:
    month = Table(
        MONTH_FACTS,
        metadata,
        Column("SKU", Text, primary_key=True, nullable=False),
        Column("月", Text, primary_key=True, nullable=False),
        Column("増減", Integer, nullable=False),
    )
    receipts = Table(
        RECEIPT_FACTS,
        metadata,
        Column("移動ID", Text, primary_key=True, nullable=False),
        Column("SKU", Text, nullable=False),
        Column("月", Text, nullable=False),
        Column("日時", Text, nullable=False),
        Column("数量", Integer, nullable=False),
        Column("月内前残", Integer, nullable=False),
    )
    Index(f"ix_{RECEIPT_FACTS}_sku_month", receipts.c["SKU"], receipts.c["月"])
    return {MONTH_FACTS: month, RECEIPT_FACTS: receipts}


def _effect(movements: Table) -> Any:
    kind, quantity = movements.c["区分"], func.coalesce(movements.c["数量"], 0)
    signed = [(kind == k, quantity * e) for k, e in ON_HAND_EFFECT.items() if e]
    return case(*signed, else_=0)


def _month(movements: Table) -> Any:
    return func.substr(movements.c["日時"], 1, 7)


def _where(movements: Table, pairs: Sequence[tuple[str, str]]) -> Any:
    """Rows of these (SKU, 'YYYY-MM') pairs: one (SKU, 日時) index range per pair."""
    sku, at = movements.c["SKU"], movements.c["日時"]
    return or_(*(and_(sku == s, at >= m, at < m + "\uffff") for s, m in pairs))


def _insert(
    conn: Connection, movements: Table, facts: dict[str, Table], pairs: Sequence[tuple[str, str]] | None
) -> None:
    """INSERT … SELECT the facts of these pairs (None: of every archived movement)."""
    where = [] if pairs is None else [_where(movements, pairs)]
    month = _month(movements).label("月")
    totals = (
        sql_select(movements.c["SKU"], month, func.coalesce(func.sum(_effect(movements)), 0))
        .where(*where, func.length(movements.c["日時"]) >= 7)
        .group_by(movements.c["SKU"], month)
    )
    conn.execute(facts[MONTH_FACTS].insert().from_select(["SKU", "月", "増減"], totals))
    before = func.coalesce(
        func.sum(_effect(movements)).over(
            partition_by=(movements.c["SKU"], _month(movements)),
            order_by=(movements.c["日時"], movements.c["移動ID"]),
            rows=(None, -1),
        ),
        0,
    ).label("月内前残")
    ordered = (
        sql_select(
            movements.c["移動ID"],
            movements.c["SKU"],
            _month(movements).label("月"),
            movements.c["日時"],
            func.coalesce(movements.c["数量"], 0).label("数量"),
            movements.c["区分"],
            before,
        )
        .where(*where, func.length(movements.c["日時"]) >= 7)
        .subquery()
    )
    receipts = sql_select(
        ordered.c["移動ID"],
        ordered.c["SKU"],
        ordered.c["月"],
        ordered.c["日時"],
        ordered.c["数量"],
        ordered.c["月内前残"],
    ).where(ordered.c["区分"] == RECEIPT)
    columns = ["移動ID", "SKU", "月", "日時", "数量", "月内前残"]
    conn.execute(facts[RECEIPT_FACTS].insert().from_select(columns, receipts))


def refresh(
    conn: Connection, movements: Table, facts: dict[str, Table], rows: Iterable[dict[str, Any]]
) -> None:
    """Recompute the facts of the (SKU, month) pairs these copied rows belong to (same
    transaction as the copy)."""
    pairs = sorted({(str(r["SKU"]), str(r["日時"])[:7]) for r in rows if len(str(r["日時"])) >= 7})
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        by_sku: dict[str, list[str]] = defaultdict(list)
        for sku, month in chunk:
            by_sku[sku].append(month)
        for table in facts.values():
            for sku, months in by_sku.items():
                conn.execute(delete(table).where(table.c["SKU"] == sku, table.c["月"].in_(months)))
        _insert(conn, movements, facts, chunk)


def ensure(archive: Archive, metadata: MetaData, facts: dict[str, Table]) -> None:
    """Build the facts of an archive made before they existed: once, in one transaction."""
    names = list(facts)
    with archive.engine.connect() as conn:
        if all(inspect(conn).has_table(name) for name in names):
            return
    with archive._writing() as conn, conn.begin():
        if all(inspect(conn).has_table(name) for name in names):
            return  # built meanwhile by another process
        for table in facts.values():
            table.drop(conn, checkfirst=True)
        metadata.create_all(conn)
        _insert(conn, archive.movement_table, facts, None)


# --- reading --------------------------------------------------------------------------------


def month_changes(archive: Archive) -> list[tuple[str, str, int]]:
    """(SKU, 月, 増減) of every SKU and month with archived movements."""
    table = archive.ledger_facts[MONTH_FACTS]
    with archive.engine.connect() as conn:  # typed TEXT, TEXT, INTEGER: the driver's own tuples
        return driver_rows(conn, sql_select(table.c["SKU"], table.c["月"], table.c["増減"]))


def receipts(archive: Archive) -> list[tuple[str, str, str, int, int]]:
    """(移動ID, SKU, 日時, 数量, 月内前残) of every archived 入庫."""
    table = archive.ledger_facts[RECEIPT_FACTS]
    statement = sql_select(
        table.c["移動ID"], table.c["SKU"], table.c["日時"], table.c["数量"], table.c["月内前残"]
    ).order_by(table.c["SKU"], table.c["日時"], table.c["移動ID"])
    with archive.engine.connect() as conn:  # TEXT ×3, INTEGER ×2: the driver's own tuples
        return driver_rows(conn, statement)


def last_movement_at(archive: Archive) -> str | None:
    """The newest archived 日時 (the time index: one lookup)."""
    at = archive.movement_table.c["日時"]
    with archive.engine.connect() as conn:
        found = conn.scalar(sql_select(func.max(at)))
    return None if found is None else str(found)


def movement_totals(
    archive: Archive, since: str, until: str, kinds: Sequence[str]
) -> list[tuple[str, str, str, bool, int]]:
    """(SKU, モール, 区分, has an 注文番号, Σ 数量) of the archived movements of these kinds with
    ``since`` <= 日時 < ``until`` ('YYYY-MM-DD'): a range of the time index, the period's rows."""
    table = archive.movement_table
    has_order = case((func.coalesce(table.c["注文番号"], "") != "", 1), else_=0).label("注文")
    mall = func.coalesce(table.c["モール"], "").label("モール")
    statement = (
        sql_select(table.c["SKU"], mall, table.c["区分"], has_order, func.sum(table.c["数量"]))
        .where(table.c["日時"] >= since, table.c["日時"] < until, table.c["区分"].in_(list(kinds)))
        .group_by(table.c["SKU"], mall, table.c["区分"], has_order)
    )
    with archive.engine.connect() as conn:
        return [(str(s), str(m), str(k), bool(o), int(n or 0)) for s, m, k, o, n in conn.execute(statement)]
