"""Moving old history out of the workbook into the archive database, crash-safe.

A pass copies the rows to the archive, reads their keys back from it, and only then deletes
them from the workbook in one job that also moves the tab's mark in _システム; each deleted
row must still hold the key it was read with. A pass killed at any point and run again ends
with every row exactly once: in the archive, or still in the workbook (copied again, kept once).

What moves today: 同期ログ rows older than ``archive_after_days``, from the top of the tab (it
is append-only, oldest first). Closed orders, their lines and ledger rows are the next step.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sheets_schema.archive import Archive
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import SYNC_LOG, SYSTEM_STATE
from sync import state
from sync.engine import SyncEngine
from sync.errors import LeaseHeld
from sync.settlement import LOG_MARK


@dataclass(frozen=True)
class ArchiveResult:
    log_rows: int  # moved (or, in a dry run, to move)
    kept_log_rows: int
    dry_run: bool

    def summary(self) -> str:
        verb = "移します" if self.dry_run else "移しました"
        return (
            f"同期ログ {self.log_rows:,} 行を履歴データベースへ{verb}"
            f"（ワークブックに残る同期ログ {self.kept_log_rows:,} 行）"
        )


def archive_history(
    engine: SyncEngine, archive: Archive, *, after_days: int, dry_run: bool = False
) -> ArchiveResult:
    """One archive pass under the sync lease (no cycle appends to the log meanwhile)."""
    now = engine.clock()
    cutoff = now - timedelta(days=after_days)
    engine.acquire_lease()
    try:
        return _archive_log(engine, archive, cutoff, now, dry_run=dry_run)
    finally:
        with contextlib.suppress(LeaseHeld, StaleWorkbookError):  # it runs out by itself
            engine.release_lease()


def _archive_log(
    engine: SyncEngine, archive: Archive, cutoff: datetime, now: datetime, *, dry_run: bool
) -> ArchiveResult:
    grids = engine.workbook.read([SYNC_LOG.title, SYSTEM_STATE.title])
    if SYNC_LOG.title not in grids:
        return ArchiveResult(0, 0, dry_run)
    log = parse_grid(SYNC_LOG, grids[SYNC_LOG.title])
    system = parse_grid(SYSTEM_STATE, grids[SYSTEM_STATE.title])
    by_row = {record.row: record.value for record in log}
    moving = []
    # The oldest rows, from the top, up to the first one that is recent, blank or unreadable:
    # one block, so the rows that stay keep their order and the tab's mark moves by its size.
    for row in range(log.grid.first_row, log.next_row):
        found = by_row.get(row)
        if found is None or found.started_at >= cutoff:
            break
        moving.append((row, found))
    kept = sum(1 for cells in log.grid.rows if any(c.strip() for c in cells)) - len(moving)
    if dry_run or not moving:
        return ArchiveResult(len(moving), kept, dry_run)

    archive.copy(SYNC_LOG, [model for _, model in moving])
    keys = [tuple(log.key_of(row)) for row, _ in moving]
    missing = set(keys) - archive.has(SYNC_LOG, keys)
    if missing:
        raise StaleWorkbookError(
            f"同期ログ {len(missing)} 行が履歴データベースで確認できないため、ワークブックから消していません"
        )
    job = WriteJob()
    engine.check_lease(system, job)
    job.delete(log, [row for row, _ in moving])
    if LOG_MARK in state.values(system):
        # Where the log will end, from this read (no cycle appends under the lease): a value,
        # not a decrement, so a pass that half-landed and runs again still gets it right.
        state.put(job, system, LOG_MARK, str(log.next_row - len(moving)), now)
    engine.workbook.write(job)
    return ArchiveResult(len(moving), kept, dry_run)
