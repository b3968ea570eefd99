"""Moving old history out of the workbook into the archive database, crash-safe.

What moves (``plan_archive``, a pure function of one read):

- orders closed (出荷済/キャンセル) before the cutoff, settled by the ledger for that status with
  nothing still allocated, no 要確認 note and no input error; with their 受注明細 and _受注在庫 rows;
- 在庫移動 rows older than the cutoff that belong to no order left in 受注 (those of the orders
  above, stock received, adjustments, counts), only from above the ledger's mark: per SKU they
  become ONE opening-balance movement (区分 繰越, the sum of their effects on 実在庫), written
  over the first of them, so every total, and the fold of the rows left, stays exact;
- 同期ログ rows older than the cutoff, from the top (the log is append-only, oldest first).

A pass copies the rows to the archive, reads their keys back from it, and only then, in ONE
job, deletes them, writes the opening balances and moves the ledger and log marks (on Google
Sheets one spreadsheets:batchUpdate, applied whole or not at all; on SQL one transaction). Each
row deleted or overwritten must still read as it was read. A pass killed at any point and run
again ends with every row exactly once: in the archive, or still in the workbook (copied again,
kept once). Passes run under the sync lease, so no cycle appends meanwhile.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sheets_schema.archive import Archive
from sheets_schema.changes import WriteJob, model_cells
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.models import Order, OrderLine, OrderSettlement, StockMovement, SyncLog
from sheets_schema.parsing import RowsOnDemand, Table, parse_grid, unparsed_table
from sheets_schema.tabs import (
    ORDER_LINES,
    ORDER_SETTLEMENTS,
    ORDERS,
    STOCK_MOVEMENTS,
    SYNC_LOG,
    SYSTEM_STATE,
    TabSpec,
)
from sync import state
from sync.engine import SyncEngine
from sync.errors import LeaseHeld
from sync.ledger import DEFECTIVE_EFFECTS, EFFECTS
from sync.settlement import ARCHIVE_MARK, LEDGER_MARK, LOG_MARK, decode_lines, signature

CLOSED = ("出荷済", "キャンセル")
OPENING = "繰越"
# Rows per tab one pass moves at most: bounds a pass's memory and request size (an upgrade of
# a workbook that never archived runs several passes; the daily pass needs one).
MAX_ROWS_PER_PASS = 20_000
OrderKey = tuple[str, str]


@dataclass
class ArchivePlan:
    """What one pass moves, by row number in the read it was planned from."""

    orders: list[tuple[int, Order]] = field(default_factory=list)
    lines: list[tuple[int, OrderLine]] = field(default_factory=list)
    settlements: list[tuple[int, OrderSettlement]] = field(default_factory=list)
    movements: list[tuple[int, StockMovement]] = field(default_factory=list)  # copied, then folded
    openings: dict[int, StockMovement] = field(default_factory=dict)  # row -> the 繰越 written there
    ledger_deletes: list[int] = field(default_factory=list)
    log: list[tuple[int, SyncLog]] = field(default_factory=list)
    more: bool = False  # a limit was reached: another pass has work

    def __bool__(self) -> bool:
        return bool(self.orders or self.movements or self.log)


@dataclass(frozen=True)
class ArchiveResult:
    orders: int = 0  # moved (or, in a dry run, to move)
    lines: int = 0
    movements: int = 0
    log_rows: int = 0
    kept_orders: int = 0
    kept_log_rows: int = 0
    dry_run: bool = False
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = [
            f"{label} {count:,} {unit}"
            for label, count, unit in (
                ("受注", self.orders, "件"),
                ("受注明細", self.lines, "行"),
                ("在庫移動", self.movements, "行"),
                ("同期ログ", self.log_rows, "行"),
            )
            if count
        ]
        kept = f"（ワークブックに残る受注 {self.kept_orders:,} 件・同期ログ {self.kept_log_rows:,} 行）"
        if parts:
            verb = "移します" if self.dry_run else "移しました"
            text = f"{'・'.join(parts)}を履歴データベースへ{verb}{kept}"
        else:
            text = f"履歴データベースへ移す行はありません{kept}"
        return "\n".join([text, *self.notes])


def archive_history(
    engine: SyncEngine,
    archive: Archive,
    *,
    after_days: int,
    dry_run: bool = False,
    max_rows: int = MAX_ROWS_PER_PASS,
) -> ArchiveResult:
    """Passes under the sync lease until nothing older than ``after_days`` is left to move."""
    now = engine.clock()
    cutoff = now - timedelta(days=after_days)
    engine.acquire_lease()
    try:
        total = ArchiveResult(dry_run=dry_run)
        while True:
            result, more = _archive_pass(engine, archive, cutoff, now, dry_run=dry_run, max_rows=max_rows)
            total = ArchiveResult(
                orders=total.orders + result.orders,
                lines=total.lines + result.lines,
                movements=total.movements + result.movements,
                log_rows=total.log_rows + result.log_rows,
                kept_orders=result.kept_orders,
                kept_log_rows=result.kept_log_rows,
                dry_run=dry_run,
                notes=tuple(dict.fromkeys([*total.notes, *result.notes])),
            )
            if dry_run or not more:
                return total
    finally:
        if not engine.keep_lease:  # `sync watch` keeps its lease (and its server lock) between cycles
            with contextlib.suppress(LeaseHeld, StaleWorkbookError):  # it runs out by itself
                engine.release_lease()


ARCHIVED_TABS = (ORDERS, ORDER_LINES, ORDER_SETTLEMENTS, STOCK_MOVEMENTS, SYNC_LOG)


def _archive_pass(
    engine: SyncEngine, archive: Archive, cutoff: datetime, now: datetime, *, dry_run: bool, max_rows: int
) -> tuple[ArchiveResult, bool]:
    present = set(engine.workbook.tab_titles())
    grids = engine.workbook.read([s.title for s in (*ARCHIVED_TABS, SYSTEM_STATE) if s.title in present])
    system = parse_grid(SYSTEM_STATE, grids[SYSTEM_STATE.title])
    stored = state.values(system)
    tabs = {s.title: RowsOnDemand(s, grids[s.title]) for s in ARCHIVED_TABS[:4] if s.title in grids}
    log = unparsed_table(SYNC_LOG, grids[SYNC_LOG.title]) if SYNC_LOG.title in grids else None
    notes: list[str] = []
    if LEDGER_MARK not in stored:
        # The ledger's totals are not kept yet (a workbook from an older Ichigen before its
        # first cycle): folding rows away now would lose them. Only the log moves this time.
        tabs = {}
        notes.append("受注と在庫移動は、一度同期を実行してから移します（台帳の集計がまだありません）")
    elif len(tabs) < 4:
        missing = [s.title for s in ARCHIVED_TABS[:4] if s.title not in tabs]
        notes.append(f"「{'」「'.join(missing)}」シートがないため、受注と在庫移動は移しません")
        tabs = {}
    elif any(not t.table.writable for t in tabs.values()):
        broken = [t.table.title for t in tabs.values() if not t.table.writable]
        notes.append(f"「{'」「'.join(broken)}」シートの見出しに問題があるため、受注と在庫移動は移しません")
        tabs = {}
    limit = None if dry_run else max_rows
    plan = plan_archive(tabs, log, stored, cutoff, limit=limit)
    kept_orders = len(tabs[ORDERS.title].rows_by_key) - len(plan.orders) if ORDERS.title in tabs else 0
    kept_log = _filled_rows(log) - len(plan.log) if log is not None else 0
    result = ArchiveResult(
        orders=len(plan.orders),
        lines=len(plan.lines),
        movements=len(plan.movements),
        log_rows=len(plan.log),
        kept_orders=kept_orders,
        kept_log_rows=kept_log,
        dry_run=dry_run,
        notes=tuple(notes),
    )
    if dry_run or not plan:
        return result, False

    copies = [
        (ORDERS, plan.orders),
        (ORDER_LINES, plan.lines),
        (ORDER_SETTLEMENTS, plan.settlements),
        (STOCK_MOVEMENTS, plan.movements),
        (SYNC_LOG, plan.log),
    ]
    for spec, rows in copies:
        archive.copy(spec, [model for _, model in rows])
    for spec, rows in copies:
        keys = [_key(spec, model) for _, model in rows]
        missing = set(keys) - archive.has(spec, keys)
        if missing:
            raise StaleWorkbookError(
                f"「{spec.title}」の {len(missing)} 行が履歴データベースで確認できないため、ワークブックから消していません"
            )

    if plan.openings:
        # Each 繰越 says how many movements it sums: all the SKU's archived ones, this pass's
        # and earlier passes' (counted in the archive, now that this pass's copies are there).
        counts = archive.movements_per_sku(sorted({m.sku for m in plan.openings.values()}))
        plan.openings = {
            row: m.model_copy(update={"note": opening_note(m.at, counts.get(m.sku, 0))})
            for row, m in plan.openings.items()
        }
    job = WriteJob()
    engine.check_lease(system, job)
    for spec, rows in copies[:3]:
        if rows:
            job.delete(tabs[spec.title].table, [row for row, _ in rows])
    orders = tabs[ORDERS.title].table if plan.orders else None
    for row, _ in plan.orders:
        # Not only the key: a person reopening the order since the read stops the pass.
        job.expect(orders, row, {"ステータス": orders.grid.cell(row, orders.column("ステータス"))})
    if plan.movements:
        ledger = tabs[STOCK_MOVEMENTS.title].table
        for row, opening in plan.openings.items():
            job.rewrite(ledger, row, model_cells(opening))
        job.delete(ledger, plan.ledger_deletes)
        mark = int(stored[LEDGER_MARK])
        # A value from this read, not a decrement: every deleted row is above the mark.
        state.put(job, system, LEDGER_MARK, str(mark - len(plan.ledger_deletes)), now)
    if plan.log and log is not None:
        job.delete(log, [row for row, _ in plan.log])
        if LOG_MARK in stored:
            state.put(job, system, LOG_MARK, str(int(stored[LOG_MARK]) - len(plan.log)), now)
    if plan.orders:
        state.put(job, system, ARCHIVE_MARK, f"{now:%Y-%m-%d %H:%M:%S}", now)
    engine.workbook.write(job)
    return result, plan.more


def _filled_rows(table: Table[Any]) -> int:
    return sum(1 for cells in table.grid.rows if any(c.strip() for c in cells))


def _key(spec: TabSpec, model: Any) -> tuple[str, ...]:
    cells = model_cells(model)
    return tuple(str(cells[h]) for h in spec.key)


# -- planning (no I/O)


def plan_archive(
    tabs: dict[str, RowsOnDemand],
    log: Table[Any] | None,
    stored: dict[str, str],
    cutoff: datetime,
    *,
    limit: int | None,
) -> ArchivePlan:
    plan = ArchivePlan()
    remaining = set()
    if ORDERS.title in tabs:
        unfolded = _unfolded_orders(tabs.get(STOCK_MOVEMENTS.title), stored)
        remaining = _plan_orders(plan, tabs, cutoff, limit, unfolded)
    if STOCK_MOVEMENTS.title in tabs and LEDGER_MARK in stored:
        _plan_ledger(plan, tabs[STOCK_MOVEMENTS.title], remaining, int(stored[LEDGER_MARK]), cutoff, limit)
    if log is not None:
        _plan_log(plan, log, cutoff, limit)
    return plan


def _unfolded_orders(ledger: RowsOnDemand | None, stored: dict[str, str]) -> set[OrderKey]:
    """Orders with movements from the mark on, not yet in _受注在庫 (a return registered since the
    last cycle): they stay, or the next cycle would fold them into a row for an order gone."""
    if ledger is None or LEDGER_MARK not in stored or not ledger.table.writable:
        return set()
    grid = ledger.table.grid
    mall, number = ledger.table.column("モール"), ledger.table.column("注文番号")
    start = max(int(stored[LEDGER_MARK]), grid.first_row) - grid.first_row
    return {(_cell(cells, mall), _cell(cells, number)) for cells in grid.rows[start:] if _cell(cells, number)}


def _plan_orders(
    plan: ArchivePlan,
    tabs: dict[str, RowsOnDemand],
    cutoff: datetime,
    limit: int | None,
    unfolded: set[OrderKey] = frozenset(),  # type: ignore[assignment]
) -> set[OrderKey]:
    """Closed orders to move; returns the orders that stay in 受注 (their movements stay too)."""
    orders = tabs[ORDERS.title]
    lines = tabs.get(ORDER_LINES.title)
    settlements = tabs.get(ORDER_SETTLEMENTS.title)
    grid = orders.table.grid
    status_at = orders.table.column("ステータス")
    line_rows: dict[OrderKey, list[int]] = defaultdict(list)
    if lines is not None:
        for (mall, number, _), rows in lines.rows_by_key.items():
            line_rows[(mall, number)].extend(rows)
    staying: set[OrderKey] = set()
    moved_lines = 0
    for key, rows in orders.rows_by_key.items():
        order_key = (key[0], key[1])
        status = grid.rows[rows[0] - grid.first_row][status_at].strip()
        full = limit is not None and (len(plan.orders) >= limit or moved_lines >= limit)
        if status not in CLOSED or full or order_key in unfolded:
            plan.more = plan.more or (full and status in CLOSED)
            staying.add(order_key)
            continue
        found = _closed_order(orders, lines, settlements, order_key, line_rows.get(order_key, []), cutoff)
        if found is None:
            staying.add(order_key)
            continue
        order, its_lines, settlement = found
        plan.orders.append(order)
        plan.lines.extend(its_lines)
        moved_lines += len(its_lines)
        plan.settlements.append(settlement)
    return staying


def _closed_order(
    orders: RowsOnDemand,
    lines: RowsOnDemand | None,
    settlements: RowsOnDemand | None,
    key: OrderKey,
    line_rows: list[int],
    cutoff: datetime,
) -> tuple[tuple[int, Order], list[tuple[int, OrderLine]], tuple[int, OrderSettlement]] | None:
    """The order with its lines and ledger state, if all of it may leave the workbook."""
    record = orders.record(key)
    if record is None or isinstance(record, list) or settlements is None:
        return None
    order: Order = record.value
    if order.review.strip():
        return None  # something is still to be looked at
    settled = settlements.record(key)
    if settled is None or isinstance(settled, list):
        return None
    settlement: OrderSettlement = settled.value
    allocates = orders.table.grid.rows[record.row - orders.table.grid.first_row][
        orders.table.column("在庫引当")
    ]
    if settlement.settled_for != signature(order.status, allocates):
        return None  # the ledger has not caught up with the status yet
    try:
        held = decode_lines(settlement.lines)
    except (ValueError, TypeError, AttributeError):
        return None
    if any(units for line in held.values() for units in line.allocated.values()):
        return None
    closed_at = max(t for t in (order.ordered_at, order.updated_at, settlement.updated_at) if t is not None)
    if closed_at >= cutoff:
        return None
    its_lines = []
    for row in line_rows:
        parsed = lines.parse(row) if lines is not None else []
        if isinstance(parsed, list):
            return None  # an input error (or a duplicate) in a line: it stays to be fixed
        its_lines.append((row, parsed))
    return (record.row, order), its_lines, (settled.row, settlement)  # type: ignore[return-value]


def _plan_ledger(
    plan: ArchivePlan,
    ledger: RowsOnDemand,
    staying: set[OrderKey],
    mark: int,
    cutoff: datetime,
    limit: int | None,
) -> None:
    """Old movements of orders no longer in 受注 (and of no order), folded per SKU."""
    table = ledger.table
    grid = table.grid
    column = {h: table.column(h) for h in ("区分", "モール", "注文番号", "日時")}
    stamp = f"{cutoff:%Y-%m-%d %H:%M:%S}"
    moving: dict[str, list[tuple[int, StockMovement]]] = defaultdict(list)
    openings: dict[str, tuple[int, StockMovement]] = {}
    last = min(mark, grid.end_row)
    for row in range(grid.first_row, last):
        cells = grid.rows[row - grid.first_row]
        if not "".join(cells).strip():
            continue
        kind = _cell(cells, column["区分"])
        if kind in DEFECTIVE_EFFECTS:
            continue  # 不良在庫 is not carried by a 繰越: these few rows stay in the ledger
        if kind == OPENING:
            parsed = ledger.parse(row)
            if not isinstance(parsed, list):
                openings[parsed.sku] = (row, parsed)
            continue
        number = _cell(cells, column["注文番号"])
        if number and (_cell(cells, column["モール"]), number) in staying:
            continue
        # The text is Ichigen's own 'YYYY-MM-DD HH:MM:SS'; anything else is parsed below.
        when = _cell(cells, column["日時"])
        if len(when) == 19 and when >= stamp:
            continue
        if limit is not None and len(plan.movements) >= limit:
            plan.more = True
            break
        parsed = ledger.parse(row)
        if isinstance(parsed, list) or parsed.at >= cutoff:
            continue  # a row with an input error stays where staff can see it
        plan.movements.append((row, parsed))
        moving[parsed.sku].append((row, parsed))
    for sku, rows in moving.items():
        previous = openings.get(sku)
        merged = [*rows, *([previous] if previous else [])]
        units = sum(EFFECTS[m.kind][0] * m.quantity for _, m in merged)
        slot = min(row for row, _ in merged)
        plan.openings[slot] = StockMovement(
            移動ID=f"{OPENING}:{sku}",
            日時=cutoff.replace(microsecond=0),
            SKU=sku,
            区分=OPENING,
            数量=units,
            備考=opening_note(cutoff, 0),
        )
        plan.ledger_deletes.extend(row for row, _ in merged if row != slot)
    plan.ledger_deletes.sort()


def _plan_log(plan: ArchivePlan, log: Table[Any], cutoff: datetime, limit: int | None) -> None:
    """The oldest rows, from the top, up to the first one that is recent, blank or unreadable:
    one block, so the rows that stay keep their order and the log's mark moves by its size."""
    parsed = parse_grid(SYNC_LOG, log.grid) if log.writable else None
    if parsed is None:
        return
    by_row = {record.row: record.value for record in parsed}
    for row in range(parsed.grid.first_row, parsed.next_row):
        found = by_row.get(row)
        if found is None or found.started_at >= cutoff:
            break
        if limit is not None and len(plan.log) >= limit:
            plan.more = True
            break
        plan.log.append((row, found))


def opening_note(cutoff: datetime, movements: int) -> str:
    return f"{cutoff:%Y-%m-%d}以前の在庫移動 {movements:,} 件の合計（履歴データベースに移動済み）"


def _cell(cells: list[str], column: int) -> str:
    return cells[column].strip() if column < len(cells) else ""
