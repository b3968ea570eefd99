"""One sync cycle: fetch every channel, commit orders + ledger + 在庫 + cursors as one job,
then push available stock to every mall. Plain Python over connectors and the Workbook port.

Crash safety rests on two rules: every workbook change of an import is one write job (one
transaction on SQL, one atomic values:batchUpdate on Sheets), and everything a job writes is
derived by comparing the mall's data with what the workbook already holds. So a crash at any
point leaves either the whole job or none of it, and the rerun derives the same job again.

A cycle costs what changed: each job reads the workbook once, the ledger and the log only from
their marks (sync/settlement.py keeps the ledger's totals in the same job), and 受注/受注明細
are parsed only for the orders the job touches. Later steps reuse that read with the job
applied. Malls that cannot search by update time are re-read every ``recheck_minutes``, after
stock for new orders has gone out.

Malls are asked at the same time, one thread each (the workbook is only touched by the calling
thread). A runner that keeps its lease (``sync watch``) waits at most ``fetch_patience``
seconds for them: a mall still answering (a rate limit's wait, a slow server) is left to finish
and committed by the next cycle, so it never holds up the others' import and push. Such a
runner also re-reads open orders a ``recheck_chunk`` at a time, within its malls' fetches, so
a long recheck at 1 call/s is spread over cycles instead of delaying one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from settings import SyncSettings
from sheets_schema import archive_buyers
from sheets_schema.archive import Archive
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob, apply_to_grids
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.grid import FIRST_DATA_ROW, Grid, no_gc
from sheets_schema.models import OPEN_ORDER_STATUSES
from sheets_schema.parsing import Record, RowsOnDemand, Table, missing_table, parse_grid, unparsed_table
from sheets_schema.tabs import (
    LEDGER_BALANCES,
    MAIL_TEMPLATES,
    MALL_LISTINGS,
    ORDER_LINES,
    ORDER_RULES,
    ORDER_SETTLEMENTS,
    ORDERS,
    PRODUCTS,
    RULE_ACTIONS,
    SALE_TALLIES,
    SALES,
    SET_COMPONENTS,
    STOCK,
    STOCK_MOVEMENTS,
    STOCK_PUSHES,
    STOCK_RECORDS,
    SYNC_LOG,
    SYSTEM_STATE,
    TabSpec,
)
from sheets_schema.workbook import RunnerLock, Workbook, runner_lock
from sync import confirmations, shipments, state
from sync.connectors.base import Connector, confirms_orders, rechecks
from sync.errors import ArchiveUnavailable, LeaseHeld, SyncError
from sync.ledger import LineTarget, line_movements, movement_row
from sync.models import Order, PushResult, StockLevel, SyncRun
from sync.orders import ImportCounts, OrderBook, OrderView
from sync.push import PlannedPush, mark_unconfirmed, mirror_mall_sales, plan_pushes, record_results
from sync.resolve import SkuResolver
from sync.rules import RULE_MARK, BuyerHistory, RuleSet, buyer_keys
from sync.sale import SalePolicy
from sync.sale_state import count_sales, policy_for
from sync.sets import DIGEST_KEY, SetBook, read_sets
from sync.settlement import ARCHIVE_MARK, LEDGER_MARK, LOG_MARK, SettledLedger, signature
from sync.stock import StockOutcome, staff_movements, write_stock

# Small tabs a cycle parses whole (they grow with the catalogue, not with history).
# セット構成 is among them: a staff tab of one row per set component (sync/sets.py).
PARSED_TABS = (
    PRODUCTS,
    STOCK,
    MALL_LISTINGS,
    SET_COMPONENTS,
    ORDER_RULES,
    MAIL_TEMPLATES,  # the names 受注ルール's 「メールを送る」 may use
    SYSTEM_STATE,
    STOCK_RECORDS,
    STOCK_PUSHES,
    LEDGER_BALANCES,
    SALES,
    SALE_TALLIES,
)
# Tabs that grow with orders: read whole, parsed only where the cycle looks.
ON_DEMAND_TABS = (ORDERS, ORDER_LINES, ORDER_SETTLEMENTS)
# Append-only tabs: read from their mark in _システム on (normally nothing).
TAIL_TABS = {STOCK_MOVEMENTS.title: LEDGER_MARK, SYNC_LOG.title: LOG_MARK, RULE_ACTIONS.title: RULE_MARK}
CYCLE_TABS = (*PARSED_TABS, *ON_DEMAND_TABS, STOCK_MOVEMENTS, SYNC_LOG, RULE_ACTIONS)
PUSH_TABS = (STOCK, MALL_LISTINGS, STOCK_PUSHES, SALES, SALE_TALLIES)
# How stale the 同期 page's "last successful import" may get before a quiet cycle writes it.
HEARTBEAT_EVERY = timedelta(minutes=5)


def _buyer_history(orders: Table[Any], archive: Archive | None = None) -> BuyerHistory:
    """Who ordered when, from 受注's phone, mail and order time cells (no row parsed whole), and
    from the archive for the keys of each order judged."""
    history = BuyerHistory(None if archive is None else archive_buyers.lookup(archive))
    grid = orders.grid
    if not orders.writable:
        return history
    phone, mail, ordered = (orders.column(h) for h in ("電話番号", "メールアドレス", "注文日時"))
    for row in grid.rows:
        cells = [row[c] if c < len(row) else "" for c in (phone, mail, ordered)]
        try:
            at = datetime.fromisoformat(cells[2]).replace(tzinfo=JST)
        except ValueError:
            continue  # a row with a bad time is an input error: not a buyer's history
        history.add(buyer_keys(cells[0], cells[1]), at)
    return history


def now_jst() -> datetime:
    return datetime.now(JST)


@dataclass(frozen=True)
class Progress:
    stage: str  # "取込" | "書込" | "送信" | "完了"
    message: str
    channel: str = ""


@dataclass
class ChannelFetch:
    connector: Connector
    orders: list[Order] = field(default_factory=list)
    pages: list[tuple[int, str | None]] = field(default_factory=list)  # (orders so far, cursor)
    error: str = ""
    waiting: str = ""
    more: bool = False  # stopped at the per-job cap: fetch again before pushing
    recheck: bool = False  # open orders re-read: moves no cursor, backs nothing off
    partial: bool = False  # a recheck that leaves open orders for the next cycle
    problems: list[str] = field(default_factory=list)  # single orders the mall could not show
    # Per file read from its start (CSV channels): its row problems, none when it read clean.
    file_problems: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CycleReport:
    runs: list[SyncRun] = field(default_factory=list)
    pushes: list[PushResult] = field(default_factory=list)
    movements: int = 0
    shipments: int = 0  # shipments confirmed to malls
    orders_confirmed: int = 0  # new orders accepted at their mall (楽天's 注文確認)
    notes: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(r.created for r in self.runs if r.job == "受注取込")


@dataclass
class CycleRead:
    """Everything one job reads, in one backend read: the cycle's view of the workbook."""

    grids: dict[str, Grid]
    tables: dict[str, Table[Any]]
    orders: RowsOnDemand
    lines: RowsOnDemand
    settlements: RowsOnDemand
    marks: dict[str, int]  # tail tab -> the row it was read from

    @property
    def system(self) -> Table[Any]:
        return self.tables[SYSTEM_STATE.title]

    def after(self, job: WriteJob) -> None:
        """The job was written: make this view match, so later steps read nothing again."""
        apply_to_grids(job, self.grids)
        for spec in PARSED_TABS:  # small tabs: parsed again where the job changed them
            if (spec.title in job.tabs or spec is SYSTEM_STATE) and spec.title in self.grids:
                self.tables[spec.title] = parse_grid(spec, self.grids[spec.title])


@dataclass
class Committed:
    read: CycleRead
    stock: StockOutcome
    stored: dict[str, str]  # _システム values after the job
    finished: bool = False  # the job ended the cycle (nothing to push or tell; lease left)


def _mark(stored: dict[str, str], key: str) -> int:
    return state.mark(stored, key) or FIRST_DATA_ROW


def _table(spec: TabSpec, grid: Grid | None, *, parse: bool = True) -> Table[Any]:
    if grid is None:
        return missing_table(spec)
    return parse_grid(spec, grid) if parse else unparsed_table(spec, grid)


def _on_demand(spec: TabSpec, grid: Grid | None) -> RowsOnDemand:
    rows = RowsOnDemand(spec, grid or Grid(spec.title, []))
    if grid is None:
        rows.table = missing_table(spec)  # says the tab is missing, and refuses writes
    return rows


class SyncEngine:
    def __init__(
        self,
        workbook: Workbook,
        connectors: Sequence[Connector],
        settings: SyncSettings,
        *,
        clock: Callable[[], datetime] = now_jst,
        progress: Callable[[Progress], None] = lambda p: None,
        holder: str | None = None,
        max_orders_per_job: int = 5000,
        keep_lease: bool = False,
        archive: Archive | None = None,
        fetch_patience: float | None = None,
        recheck_chunk: int | None = None,
    ) -> None:
        self.workbook = workbook
        # Where closed orders go after ``archive_after_days``; asked only about orders a mall
        # reports that are not in 受注, once an archive pass has moved orders.
        self.archive = archive
        self.connectors = list(connectors)
        self.settings = settings
        self.clock = clock
        self.progress = progress
        self.holder = holder or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.max_orders_per_job = max_orders_per_job
        # A runner that syncs again and again (``sync watch``) keeps its lease between cycles,
        # so a quiet cycle needs no write to take it; ``release_lease`` gives it up.
        self.keep_lease = keep_lease
        # Such a runner records push results in its next job instead of a job of their own
        # (one write less per cycle against Google's quota); lost in a crash, they only mean
        # the same quantity is sent again, which malls take as it is (absolute quantities).
        self._unrecorded: list[tuple[PlannedPush, PushResult]] = []
        self._unlogged: list[dict[str, Any]] = []
        # Seconds a cycle waits for the malls' answers before committing those that came; the
        # others keep running and are committed by a later cycle. None: wait for every mall
        # (a single cycle, which leaves nothing behind).
        self.fetch_patience = fetch_patience
        # Open orders re-read per mall and cycle, inside the mall's fetch; the rest wait for the
        # next cycles. None: every open order at once, in a job of its own after the push.
        self.recheck_chunk = recheck_chunk
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[list[ChannelFetch]]] = {}
        self._recheck_queue: dict[str, list[str]] = {}  # channel -> open orders not re-read yet
        self._events: queue.SimpleQueue[Progress] = queue.SimpleQueue()
        # The workbook's server-held runner lock (PostgreSQL), looked up on first use; False: none.
        self._runner_lock: RunnerLock | bool | None = None
        # Seconds between cycles while a セール rule is active (None: none is): sync watch's cadence.
        self.sale_interval: int | None = None

    # -- the cycle

    def run_once(self, *, push: bool = True, fetch: bool = True) -> CycleReport:
        """One cycle. ``fetch=False`` only settles the workbook (a status or SKU mapping changed
        by staff) into the ledger and 在庫, then pushes: no mall is asked for orders.

        Each job reads the workbook once (after the malls answered, so staff edits are not
        raced) and the later steps of the cycle work from that read with the job applied.

        The cyclic garbage collector pauses for the cycle: it makes hundreds of thousands of
        cells, rows and models and no reference cycles, which the collector would otherwise
        walk again and again (a fifth of a quiet cycle). They are freed by reference counting
        when the cycle ends; collection resumes then."""
        with no_gc():
            try:
                return self._run_once(push=push, fetch=fetch)
            except StaleWorkbookError:
                # A job refused because a person changed what it read is an ordinary outcome,
                # not a crash: a single cycle gives its lease back, so 今すぐ同期 or the next
                # `sync once` runs at once instead of waiting for the lease to run out.
                if not self.keep_lease:
                    self._give_up_lease_quietly()
                raise
            finally:
                if not self.keep_lease:
                    self._unlock_runner()  # a single cycle leaves the server's lock too

    def _give_up_lease_quietly(self) -> None:
        """Best effort: if giving the lease back fails too (the store unreachable, the lease
        already taken), it runs out as after a crash; the refusal is what the caller reports."""
        with contextlib.suppress(Exception):  # cleanup after a refusal must not replace it
            self.release_lease()

    def _run_once(self, *, push: bool, fetch: bool) -> CycleReport:
        report = CycleReport()
        started = self.clock()
        run_id = f"{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        system = self.acquire_lease()
        stored = state.values(system)
        chunked = self.recheck_chunk is not None
        due = self._rechecks_due(stored) if fetch and not chunked else []
        while True:
            fetches = self._fetch_all(stored) if fetch else []
            last = not any(f.more for f in fetches)
            committed = self._commit_import(
                fetches, run_id, started, report, stored, may_finish=last and not due, push=push
            )
            stored = committed.stored  # a second round starts from the cursors just written
            if last:
                break
        if fetch and chunked:
            self._queue_rechecks(committed)
        if not committed.finished:
            if push:
                self._confirm_orders(committed.read, report)
                self._confirm_shipments(committed.read, report)
                # Stock for the new orders goes out first: a slow recheck never delays it.
                self._push(run_id, report, committed, release=not due)
            if due:
                committed = self._recheck(due, committed, run_id, started, report)
                if push:
                    self._push(run_id, report, committed, release=True)
            if not push:
                self._release_lease(committed.read)
        self.progress(Progress("完了", f"同期が終わりました（新規 {report.created} 件）"))
        return report

    def release_lease(self) -> None:
        """Give up a kept lease (``sync watch`` stopping), so another runner may start at once;
        push results not yet recorded are written with it."""
        system = self._read_system()
        current = state.Lease.decode(state.values(system).get(state.LEASE_KEY, ""))
        if current is None or current.holder != self.holder:
            return
        now = self.clock()
        job = WriteJob()
        if self._unrecorded or self._unlogged:
            stored = state.values(system)
            read = self._read_cycle(stored)
            system = read.system
            self._record_pushes(job, read.tables[STOCK_PUSHES.title], now)
            log_table = read.tables[SYNC_LOG.title]
            job.append(log_table, self._unlogged)
            self._move_mark(job, system, LOG_MARK, log_table.next_row + len(self._unlogged), stored, now)
        self.check_lease(system, job)
        state.put(job, system, state.LEASE_KEY, "", now)
        try:
            self.workbook.write(job)
        finally:
            self._unlock_runner()
        self._unrecorded, self._unlogged = [], []

    def _record_pushes(self, job: WriteJob, pushes: Table[Any], now: datetime) -> None:
        """Push results this runner has not written yet; the latest per listing."""
        latest = {(p.mall, p.mall_item_code, p.mall_sku): (p, r) for p, r in self._unrecorded}
        record_results(job, pushes, latest.values(), now)

    # -- rechecking older orders (malls that cannot search by update time)

    def _rechecks_due(self, stored: dict[str, str]) -> list[Connector]:
        due = []
        now = self.clock()
        for connector in self.connectors:
            if not rechecks(connector):
                continue
            last = stored.get(state.recheck_key(connector.channel), "")
            minutes = getattr(getattr(connector, "settings", None), "recheck_minutes", 10)
            try:
                waited = now - datetime.fromisoformat(last)
            except ValueError:
                waited = None  # never rechecked: the first fetch looked back far enough
            if waited is None or waited >= timedelta(minutes=minutes):
                due.append(connector)
        return due

    def _recheck(
        self,
        due: list[Connector],
        committed: Committed,
        run_id: str,
        started: datetime,
        report: CycleReport,
    ) -> Committed:
        """Re-read each due mall's orders still open in Ichigen, and commit what changed."""
        open_orders = _open_orders(committed.read.grids.get(ORDERS.title))
        fetches = []
        for connector in due:
            numbers = open_orders.get(connector.mall, [])
            fetch = ChannelFetch(connector, recheck=True)
            if numbers and committed.stored.get(state.recheck_key(connector.channel)):
                self._recheck_orders(connector, numbers, fetch, self.progress)
            fetches.append(fetch)
        return self._commit_import(fetches, run_id, started, report, committed.stored)

    def _recheck_orders(
        self, connector: Connector, numbers: list[str], fetch: ChannelFetch, say: Callable[[Progress], None]
    ) -> None:
        name = connector.display_name or connector.mall
        say(Progress("取込", f"{name}の未完了の注文 {len(numbers)} 件を再確認しています…", connector.channel))
        try:
            for page in connector.recheck_orders(numbers, until=self.clock()):  # type: ignore[attr-defined]
                fetch.orders.extend(page.orders)
                fetch.pages.append((len(fetch.orders), None))
                fetch.problems.extend(getattr(page, "errors", ()))
        except SyncError as exc:
            fetch.error = str(exc)
        except Exception as exc:  # a connector bug must not stop the others
            fetch.error = f"{name}の注文の再確認に失敗しました（{exc.__class__.__name__}）"

    def _queue_rechecks(self, committed: Committed) -> None:
        """A runner that rechecks in chunks: the malls now due get their open orders (from the
        受注 tab this cycle already read) queued for their next fetches."""
        open_orders: dict[str, list[str]] | None = None
        for connector in self._rechecks_due(committed.stored):
            channel = connector.channel
            if channel in self._recheck_queue or channel in self._pending:
                continue
            if open_orders is None:
                open_orders = _open_orders(committed.read.grids.get(ORDERS.title))
            # Never rechecked: the first fetch looked back far enough; the recheck only starts
            # the clock (an empty pass).
            first = not committed.stored.get(state.recheck_key(channel))
            self._recheck_queue[channel] = [] if first else list(open_orders.get(connector.mall, []))

    def _recheck_some(self, connector: Connector, say: Callable[[Progress], None]) -> ChannelFetch | None:
        """The next chunk of this mall's queued open orders (in its fetch thread)."""
        numbers = self._recheck_queue.get(connector.channel)
        if numbers is None:
            return None
        fetch = ChannelFetch(connector, recheck=True)
        chunk = numbers[: self.recheck_chunk or len(numbers)]
        if chunk:
            self._recheck_orders(connector, chunk, fetch, say)
        if not fetch.error:  # a failed chunk is tried again next cycle
            del numbers[: len(chunk)]
        fetch.partial = bool(numbers)
        if not numbers:
            del self._recheck_queue[connector.channel]
        return fetch

    def plan_push(self) -> list[PlannedPush]:
        tables = read_tables(self.workbook, PUSH_TABS)
        return plan_pushes(
            tables[STOCK.title],
            tables[MALL_LISTINGS.title],
            tables[STOCK_PUSHES.title],
            self._pushing_malls(),
            policy=self.sale_policy(tables, self.clock()),
        )

    def sale_policy(self, tables: dict[str, Table[Any]], now: datetime) -> SalePolicy | None:
        """The セール rules in force at ``now`` (None: plain 販売可能数), with what each mall sold
        since its rule began; also sets the cadence ``sync watch`` keeps while they are."""
        policy = policy_for(
            tables.get(SALES.title) or missing_table(SALES),
            tables.get(SALE_TALLIES.title) or missing_table(SALE_TALLIES),
            now,
            interval_seconds=self.settings.sale_interval_seconds,
            risk=self.settings.sale_buffer_risk,
        )
        self.sale_interval = (
            (policy.interval_seconds() or self.settings.sale_interval_seconds) if policy else None
        )
        return policy

    # -- lease

    def _server_lock(self) -> RunnerLock | None:
        if self._runner_lock is None:
            self._runner_lock = runner_lock(self.workbook) or False
        return self._runner_lock or None

    def _unlock_runner(self) -> None:
        lock = self._server_lock()
        if lock is not None:
            lock.release()

    def acquire_lease(self) -> Table[Any]:
        """The _システム lease, which every job then carries as a precondition. On PostgreSQL a
        session-level advisory lock comes first: only its holder may take the lease, and since
        the server frees it when the holder's process dies, a lease left by a dead runner is
        taken over at once (a `sync watch` beside it, at its next cycle)."""
        now = self.clock()
        lock = self._server_lock()
        if lock is not None and not lock.acquire():
            raise LeaseHeld(
                "別の同期が実行中です（データベースのロックを持っています）。"
                "その同期が止まると、次の回にこちらが引き継ぎます"
            )
        # A workbook made by an older Ichigen lacks the tabs the cycle keeps its totals in.
        ensure_tabs(
            self.workbook, (LEDGER_BALANCES, ORDER_SETTLEMENTS, SET_COMPONENTS, ORDER_RULES, RULE_ACTIONS)
        )
        system = self._read_system()
        if system.find_row((state.LEASE_KEY,)) is None:
            job = WriteJob()
            state.put(job, system, state.LEASE_KEY, "", now)
            self.workbook.write(job)
            system = self._read_system()
        encoded = state.values(system).get(state.LEASE_KEY, "")
        current = state.Lease.decode(encoded)
        # With the server's lock, no other live runner holds the lease, whatever it says.
        if lock is None and current is not None and current.held_by_other(self.holder, now):
            raise LeaseHeld(
                f"別の同期（{current.holder}）が実行中です。{current.expires_at:%H:%M:%S} を過ぎても続く場合は、その同期が止まっています"
            )
        if not self._lease_needs_renewal(current, now):
            return system  # kept from this runner's last cycle, with time to spare
        job = WriteJob()
        row = system.find_row((state.LEASE_KEY,))
        assert row is not None
        job.expect(system, row, {"値": encoded})  # compare-and-set where the backend can
        state.put(job, system, state.LEASE_KEY, self._lease(now).encode(), now)
        try:
            self.workbook.write(job)
        except StaleWorkbookError as exc:
            raise LeaseHeld("別の同期が同時に始まったため、こちらは実行しませんでした") from exc
        return system

    def _read_system(self) -> Table[Any]:
        return read_tables(self.workbook, [SYSTEM_STATE])[SYSTEM_STATE.title]

    def _lease(self, now: datetime) -> state.Lease:
        return state.Lease(self.holder, now + timedelta(seconds=self.settings.lease_seconds))

    def _lease_needs_renewal(self, current: state.Lease | None, now: datetime) -> bool:
        if current is None or current.holder != self.holder:
            return True
        return current.expires_at - now < timedelta(seconds=self.settings.lease_seconds / 2)

    def _leave_lease(self, job: WriteJob, system: Table[Any], now: datetime, *, release: bool) -> None:
        """The lease as a job leaves it: given up at the end of a cycle (unless this runner
        keeps it between cycles), otherwise renewed once half of it has run out."""
        current = state.Lease.decode(state.values(system).get(state.LEASE_KEY, ""))
        if release and not self.keep_lease:
            if current is not None:
                state.put(job, system, state.LEASE_KEY, "", now)
        elif self._lease_needs_renewal(current, now):
            state.put(job, system, state.LEASE_KEY, self._lease(now).encode(), now)

    def check_lease(self, system: Table[Any], job: WriteJob) -> None:
        """Every job first proves the lease is still ours: a runner that lost it writes nothing.

        The job also carries the lease cell as a precondition, which the SQL adapter checks in
        its transaction, closing the gap between this read and the write.
        """
        encoded = state.values(system).get(state.LEASE_KEY, "")
        current = state.Lease.decode(encoded)
        if current is None or current.holder != self.holder:
            holder = current.holder if current else "なし"
            raise LeaseHeld(
                f"同期の実行権（リース）が別の同期（{holder}）に移ったため、書き込まずに終了しました"
            )
        row = system.find_row((state.LEASE_KEY,))
        if row is not None:
            job.expect(system, row, {"値": encoded})

    def _release_lease(self, read: CycleRead) -> None:
        system = read.system
        if state.Lease.decode(state.values(system).get(state.LEASE_KEY, "")) is None:
            return
        job = WriteJob()
        self.check_lease(system, job)
        self._leave_lease(job, system, self.clock(), release=True)
        self.workbook.write(job)
        read.after(job)

    # -- fetching (network only: the workbook is read after, so staff edits are not raced)

    def _fetch_all(self, stored: dict[str, str]) -> list[ChannelFetch]:
        """Every mall at once, one thread each; their progress is reported from this thread.
        With ``fetch_patience``, malls that have not answered by then are left running and
        come back in a later cycle's fetches (no new fetch of theirs starts meanwhile)."""
        pool = self._pool or ThreadPoolExecutor(
            max_workers=max(1, len(self.connectors)), thread_name_prefix="ichigen-fetch"
        )
        self._pool = pool
        for connector in self.connectors:
            if connector.channel not in self._pending:
                self._pending[connector.channel] = pool.submit(self._fetch_channel, connector, stored)
        patience = self.fetch_patience
        deadline = None if patience is None else time.monotonic() + patience
        waiting = set(self._pending.values())
        while waiting:
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                break
            _, waiting = wait(waiting, timeout=left, return_when=FIRST_COMPLETED)
            self._report_progress()
        self._report_progress()
        fetches = []
        for connector in self.connectors:  # in the configured order, whenever they answered
            future = self._pending.get(connector.channel)
            if future is not None and future.done():
                del self._pending[connector.channel]
                fetches.extend(future.result())
        if not self._pending and patience is None:
            pool.shutdown(wait=False)  # a single cycle leaves no thread behind
            self._pool = None
        return fetches

    def _report_progress(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self.progress(event)

    def _fetch_channel(self, connector: Connector, stored: dict[str, str]) -> list[ChannelFetch]:
        """One mall's new orders, then the next chunk of its queued rechecks (a fetch thread)."""
        fetch = self._fetch(connector, stored, self._events.put)
        if fetch.waiting:
            return [fetch]
        recheck = self._recheck_some(connector, self._events.put)
        return [fetch] if recheck is None else [fetch, recheck]

    def _since(self, cursor: str | None) -> str | None:
        if not cursor:
            return None
        try:
            moment = datetime.fromisoformat(cursor)
        except ValueError:
            return cursor  # not a time (e.g. a file cursor): used as is
        # Start a little earlier than the stored cursor: changes indexed late are not missed,
        # and the duplicates this brings are skipped by key.
        return (moment - timedelta(minutes=self.settings.overlap_minutes)).isoformat()

    def _fetch(
        self, connector: Connector, stored: dict[str, str], say: Callable[[Progress], None]
    ) -> ChannelFetch:
        fetch = ChannelFetch(connector)
        backoff = state.Backoff.decode(stored.get(state.backoff_key(connector.channel), ""))
        now = self.clock()
        if backoff is not None and backoff.until > now:
            fetch.waiting = state.describe_backoff(backoff)
            return fetch
        name = connector.display_name or connector.mall
        say(Progress("取込", f"{name}から注文を取得しています…", connector.channel))
        try:
            for page in connector.fetch_orders(
                self._since(stored.get(state.cursor_key(connector.channel))), until=now
            ):
                fetch.orders.extend(page.orders)
                fetch.pages.append((len(fetch.orders), page.cursor))
                # Problems with single orders or rows (a bad row of a mall's file): every one is
                # reported, the rest of the page goes in, and the mall is not backed off.
                fetch.problems.extend(str(error) for error in getattr(page, "errors", ()))
                if getattr(page, "whole_file", False):
                    fetch.file_problems[page.file_name] = [str(e) for e in page.errors]
                say(Progress("取込", f"{name}: {len(fetch.orders)} 件取得", connector.channel))
                if len(fetch.orders) >= self.max_orders_per_job:
                    fetch.more = True
                    break
        except SyncError as exc:
            fetch.error = str(exc)
        except Exception as exc:  # a connector bug or an unmapped payload must not stop the others
            fetch.error = (
                f"{name}の注文データを読み取れませんでした（{exc.__class__.__name__}: {str(exc)[:200]}）"
            )
        return fetch

    # -- committing an import

    def _read_cycle(self, stored: dict[str, str]) -> CycleRead:
        """One read of what a job needs: small tabs whole, the ledger and log from their marks."""
        marks = {title: _mark(stored, key) for title, key in TAIL_TABS.items()}
        grids = self.workbook.read([s.title for s in CYCLE_TABS], start_rows=marks)
        tables = {s.title: _table(s, grids.get(s.title)) for s in PARSED_TABS}
        tables[STOCK_MOVEMENTS.title] = _table(STOCK_MOVEMENTS, grids.get(STOCK_MOVEMENTS.title))
        tables[SYNC_LOG.title] = _table(SYNC_LOG, grids.get(SYNC_LOG.title), parse=False)
        tables[RULE_ACTIONS.title] = _table(RULE_ACTIONS, grids.get(RULE_ACTIONS.title), parse=False)
        orders, lines, settlements = (_on_demand(s, grids.get(s.title)) for s in ON_DEMAND_TABS)
        for rows in (orders, lines, settlements):
            tables[rows.table.title] = rows.table
        read = CycleRead(grids, tables, orders, lines, settlements, marks)
        self._add_missing_columns(grids)
        now_stored = state.values(read.system)
        if any(_mark(now_stored, key) != marks[title] for title, key in TAIL_TABS.items()):
            # Only a lease holder moves the marks; ours were read with the lease. Reading from
            # a stale mark would count rows twice, so this job stops rather than guess.
            raise LeaseHeld("台帳の読み取り位置が同期中に変わったため、書き込まずに終了しました")
        return read

    def _add_missing_columns(self, grids: dict[str, Grid]) -> None:
        """A tab made by an older Ichigen gains the columns added since (at the end of its
        header): this cycle reads them as blank and writes them from the next one on."""
        for spec in CYCLE_TABS:
            grid = grids.get(spec.title)
            if grid is not None and spec.added_columns:
                missing = [h for h in spec.headers if h in spec.added_columns and h not in grid.header]
                if missing:
                    self.workbook.add_columns(spec.title, missing)

    def _commit_import(
        self,
        fetches: list[ChannelFetch],
        run_id: str,
        started: datetime,
        report: CycleReport,
        stored: dict[str, str],
        *,
        may_finish: bool = False,
        push: bool = True,
    ) -> Committed:
        """One import job. With ``may_finish``, a job after which nothing is left to do (no
        stock to push, no shipment to tell) also gives up the lease: the cycle ends here."""
        self.progress(Progress("書込", "ワークブックに書き込んでいます…"))
        now = self.clock()
        read = self._read_cycle(stored)
        tables = read.tables
        system = read.system
        job = WriteJob()
        self.check_lease(system, job)
        book = OrderBook(read.orders, read.lines)
        rules = RuleSet.from_table(tables[ORDER_RULES.title], tables[MAIL_TEMPLATES.title])
        book.rules, book.rules_at, book.rules_run = rules, now, run_id
        # 初回購入: who ordered when, from three raw cells a row — only if an order is created.
        book.rules.history_source = lambda: _buyer_history(read.orders.table, self.archive)
        product_skus = [p.sku for p in tables[PRODUCTS.title].models()]
        resolver = SkuResolver(tables[MALL_LISTINGS.title].models(), product_skus)
        sets = read_sets(tables[SET_COMPONENTS.title], product_skus)
        settled = SettledLedger.open(
            tables[LEDGER_BALANCES.title],
            read.settlements,
            tables[STOCK_MOVEMENTS.title],
            upgrading=LEDGER_MARK not in stored,
        )
        ledger = settled.ledger

        # People's edits to 在庫 are measured against the ledger as it was before this job.
        refused: dict[str, str] = {}  # sets whose 実在庫 a person typed: reported, not taken
        movements = staff_movements(
            tables[STOCK.title], tables[STOCK_RECORDS.title], ledger, now, sets, refused
        )
        for movement in movements:
            settled.add(movement)

        archived = self._archived_orders(fetches, read.orders, stored)
        runs = [
            self._import_channel(job, book, resolver, fetch, system, run_id, started, now, archived)
            for fetch in fetches
        ]
        self._resolve_unknown_skus(job, book, resolver)
        if book.rule_rows:  # what 受注ルール did to the new orders, in the same write
            rule_table = tables[RULE_ACTIONS.title]
            job.append(rule_table, book.rule_rows)
            self._move_mark(job, system, RULE_MARK, rule_table.next_row + len(book.rule_rows), stored, now)
        if book.created and book.rules is not None and book.rules.problems:
            report.notes.append(
                "受注ルールに誤りがあるため、新しい注文にルールを適用していません: "
                + " ／ ".join(book.rules.problems[:3])
            )
        self._touch_changed_orders(book, settled)
        digest = sets.digest()
        sets_changed = not sets.unreadable and stored.get(DIGEST_KEY, "") != digest
        if sets_changed:
            # A composition changed: open orders follow it (sync/sets.py), so each is looked at
            # once; only lines of the changed sets derive movements. Shipped lines keep theirs.
            for mall, numbers in _open_orders(read.grids.get(ORDERS.title)).items():
                for number in numbers:
                    book.view((mall, number))
        for key, view in list(book.views.items()):
            if key in book.blocked or not settled.load(key):
                continue
            waiting = False  # a line whose set cannot be built yet: the order is settled later
            for target in _line_targets(key, view, sets):
                if sets.unreadable or (target.sku in sets.broken and target.allocates_stock):
                    waiting = True
                    continue
                for movement in line_movements(target, ledger, now):
                    settled.add(movement)
                    movements.append(movement)
            if not waiting:
                settled.settled(key, _signature(book, key, view))
        ledger_table = tables[STOCK_MOVEMENTS.title]
        job.append(ledger_table, [movement_row(m) for m in movements])
        stock = write_stock(
            job,
            tables[STOCK.title],
            tables[STOCK_RECORDS.title],
            ledger,
            now,
            product_skus,
            sets,
            refused,
        )
        if sets_changed:
            state.put(job, system, DIGEST_KEY, digest, now)
        settled.write(job, now)
        finished = self.clock()
        log_rows = [
            self._log_row(r.model_copy(update={"finished_at": finished}))
            for r in runs
            if r is not None and not _quiet(r)
        ]
        if stock.problems:  # 在庫 was (partly) not written: said in the log, orders went in
            log_rows.append(self._stock_problem_row(run_id, started, finished, stock.problems))
        log_rows = [*self._unlogged, *log_rows]  # a kept-lease runner's last pushes first
        self._record_pushes(job, tables[STOCK_PUSHES.title], now)
        latest = {(p.mall, p.mall_item_code, p.mall_sku): (p, r) for p, r in self._unrecorded}
        mirrored = mirror_mall_sales(job, tables[STOCK_PUSHES.title], _sold_at_malls(book), latest.values())
        policy = self.sale_policy(tables, now)
        count_sales(job, tables[SALE_TALLIES.title], policy, _sold_per_sku(book), now)
        if push:
            mark_unconfirmed(
                job,
                stock.available,
                tables[MALL_LISTINGS.title],
                tables[STOCK_PUSHES.title],
                self._pushing_malls(),
                latest.values(),
                mirrored,
                policy,
            )
        log_table = tables[SYNC_LOG.title]
        job.append(log_table, log_rows)
        self._move_mark(job, system, LEDGER_MARK, ledger_table.next_row + len(movements), stored, now)
        self._move_mark(job, system, LOG_MARK, log_table.next_row + len(log_rows), stored, now)
        self._answer_request(job, system, started, now)
        finished = may_finish and (not push or self._nothing_follows(read, book, stock))
        self._leave_lease(job, system, now, release=finished)
        self.workbook.write(job)  # nothing at all when nothing changed (a quiet cycle)
        read.after(job)
        self._unrecorded, self._unlogged = [], []

        report.movements += len(movements)
        report.runs.extend(r for r in runs if r is not None)
        report.notes.extend(stock.skipped)
        return Committed(read, stock, state.values(read.system), finished)

    def _archived_orders(
        self, fetches: list[ChannelFetch], orders: RowsOnDemand, stored: dict[str, str]
    ) -> set[tuple[str, str]]:
        """Fetched orders not in 受注 that an archive pass moved out (one indexed query, only
        for orders not found in 受注, only once a pass has moved orders)."""
        if ARCHIVE_MARK not in stored:
            return set()
        unknown = {(o.mall, o.order_number) for f in fetches for o in f.orders} - set(orders.rows_by_key)
        if not unknown:
            return set()
        if self.archive is None:
            raise ArchiveUnavailable(
                "受注の一部は履歴データベースに移されていますが、履歴データベースが設定されていないため、"
                "新しい注文かどうか確かめられません（[workbook] archive_url を確認してください）"
            )
        found = self.archive.has(ORDERS, sorted(unknown))
        return {(mall, number) for mall, number in found}

    def sync_requested(self) -> bool:
        """Whether staff asked for a sync (今すぐ同期 while this runner held the lease): one
        small read of _システム, for ``sync watch`` to check between cycles."""
        return state.pending_request(state.values(self._read_system())) is not None

    def _answer_request(self, job: WriteJob, system: Table[Any], started: datetime, now: datetime) -> None:
        """A 今すぐ同期 request made before this cycle began is answered by its import job."""
        request = state.pending_request(state.values(system))
        at = state.requested_at(request) if request else None
        if request and at is not None and at <= started:
            state.put(job, system, state.DONE_KEY, f"{request}|{now.isoformat()}", now)

    def _nothing_follows(self, read: CycleRead, book: OrderBook, stock: StockOutcome) -> bool:
        """No stock to push and no shipment to tell once this job is written."""
        if book.written:  # an order this job changes may have become ready to tell its mall
            return False
        candidates = _shipment_candidates(read.grids.get(ORDERS.title))
        if shipments.pending(candidates, self._confirming_malls()) or shipments.interrupted(candidates):
            return False
        if confirmations.candidates(read.grids.get(ORDERS.title), self._confirm_policies()).records:
            return False
        return not plan_pushes(
            stock.available,
            read.tables[MALL_LISTINGS.title],
            read.tables[STOCK_PUSHES.title],
            self._pushing_malls(),
            policy=self.sale_policy(read.tables, self.clock()),
        )

    def _move_mark(
        self, job: WriteJob, system: Table[Any], key: str, row: int, stored: dict[str, str], now: datetime
    ) -> None:
        """Store where a tail tab's unread rows begin; the job expects the mark it read from."""
        found = system.find_row((key,))
        if found is not None:
            job.expect(system, found, {"値": stored.get(key, "")})
        if stored.get(key) != str(row):
            state.put(job, system, key, str(row), now)

    def _touch_changed_orders(self, book: OrderBook, settled: SettledLedger) -> None:
        """Orders whose ステータス or 在庫引当 differ from what the ledger was settled for (staff
        changed them, or they were never settled): found from two raw cells per row."""
        table = book.orders_table
        if not table.writable:
            return
        status, allocates = table.column("ステータス"), table.column("在庫引当")
        mall, number = table.column("モール"), table.column("注文番号")
        settled_for = settled.settled_signatures()
        # The first non-blank row of each key (as book.orders.rows_by_key has it), in one pass
        # over four raw cells: a quiet cycle builds no index of 受注.
        seen: set[tuple[str, str]] = set()
        changed = []
        for cells in table.grid.rows:
            key = (cells[mall].strip(), cells[number].strip())
            if key in seen or (not (key[0] or key[1]) and not "".join(cells).strip()):
                continue
            seen.add(key)
            # signature(), inlined: this runs for every hot order on every cycle
            if settled_for.get(key) != f"{cells[status].strip()}|{cells[allocates].strip()}":
                changed.append(key)
        for key in changed:
            book.view(key)

    def _import_channel(
        self,
        job: WriteJob,
        book: OrderBook,
        resolver: SkuResolver,
        fetch: ChannelFetch,
        system: Table[Any],
        run_id: str,
        started: datetime,
        now: datetime,
        archived: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    ) -> SyncRun | None:
        connector = fetch.connector
        counts = ImportCounts()
        run = partial(
            SyncRun,
            run_id=run_id,
            channel=connector.channel,
            mall=connector.mall,
            job="受注取込",
            started_at=started,
        )
        if fetch.waiting:  # backing off after failures: still reported on every run
            return run(result="失敗", error=fetch.waiting)
        newest = _newest_versions(fetch.orders)
        safe_cursor: str | None = None
        stuck = False
        position = 0
        for upto, cursor in fetch.pages:
            failed_before = counts.failed
            for order in fetch.orders[position:upto]:
                if newest[(order.mall, order.order_number)] is not order or (
                    (order.mall, order.order_number) in archived
                ):
                    # A newer version of it is in this batch, or it was closed long ago and
                    # moved to the archive: imported again, it would allocate its stock twice.
                    counts.fetched += 1
                    counts.duplicates_skipped += 1
                    continue
                book.upsert(job, order, resolver, counts)
            position = upto
            # The cursor never moves past an order that did not go in: it is fetched again.
            stuck = stuck or counts.failed > failed_before
            if not stuck and cursor is not None:
                safe_cursor = cursor
        if fetch.recheck:
            return self._recheck_run(job, fetch, counts, system, run, now)
        if safe_cursor:
            state.put(job, system, state.cursor_key(connector.channel), safe_cursor, now)
        self._keep_problems(job, system, fetch, now)
        error = fetch.error or _problems_text(fetch.problems) or (counts.errors[0] if counts.errors else "")
        if fetch.error:
            previous = state.Backoff.decode(
                state.values(system).get(state.backoff_key(connector.channel), "")
            )
            backoff = state.Backoff.after(previous, now, self.settings.interval_seconds)
            state.put(job, system, state.backoff_key(connector.channel), backoff.encode(), now)
        elif state.values(system).get(state.backoff_key(connector.channel)):
            state.put(job, system, state.backoff_key(connector.channel), "", now)
        if fetch.error and not fetch.orders:
            result = "失敗"
        elif fetch.error or counts.failed or fetch.problems:
            result = "一部失敗"
        else:
            result = "成功"
            if not (counts.created or counts.updated):
                self._heartbeat(job, system, connector.channel, now)
        return run(
            fetched=counts.fetched,
            created=counts.created,
            updated=counts.updated,
            duplicates_skipped=counts.duplicates_skipped,
            failed=counts.failed + len(fetch.problems),
            result=result,
            error=error,
        )

    def _keep_problems(self, job: WriteJob, system: Table[Any], fetch: ChannelFetch, now: datetime) -> None:
        """The problems still open for this channel (state.Problems), for the 要確認 queue: a file
        read from its start replaces its own; a mall's API fetch that ran to the end replaces the
        mall's (a skipped order is reported again every cycle until fixed at the mall); a fetch
        that stopped early only adds."""
        key = state.problems_key(fetch.connector.channel)
        stored = state.values(system).get(key, "")
        kept = state.Problems.decode(stored)
        if fetch.file_problems:
            for file, problems in fetch.file_problems.items():
                kept = kept.replaced(fetch.connector.mall, file, problems, now)
        else:
            complete = not (fetch.error or fetch.more)
            problems = fetch.problems if complete else [*kept.problems.get("", []), *fetch.problems]
            if problems or complete:
                kept = kept.replaced(fetch.connector.mall, "", list(dict.fromkeys(problems)), now)
        encoded = kept.encode()
        if encoded != stored:
            state.put(job, system, key, encoded, now)

    def _heartbeat(self, job: WriteJob, system: Table[Any], channel: str, now: datetime) -> None:
        """A pull that found nothing writes no 同期ログ row (a row a minute per mall would fill
        the sheet); the 同期 page reads its time from one _システム cell instead, refreshed
        every few minutes so that a quiet cycle writes nothing at all."""
        key = state.heartbeat_key(channel)
        try:
            fresh = now - datetime.fromisoformat(state.values(system).get(key, "")) < HEARTBEAT_EVERY
        except ValueError:
            fresh = False
        if not fresh:
            state.put(job, system, key, now.replace(microsecond=0).isoformat(), now)

    def _recheck_run(
        self,
        job: WriteJob,
        fetch: ChannelFetch,
        counts: ImportCounts,
        system: Table[Any],
        run: Callable[..., SyncRun],
        now: datetime,
    ) -> SyncRun | None:
        """A recheck is logged only when it found something or failed; when it failed it is
        tried again next cycle, otherwise after recheck_minutes (once the last chunk is in)."""
        if not fetch.error and not fetch.partial:
            state.put(job, system, state.recheck_key(fetch.connector.channel), now.isoformat(), now)
        problems = [*counts.errors, *fetch.problems]
        if not (fetch.error or problems or counts.created or counts.updated):
            return None
        result = (
            "失敗"
            if fetch.error and not fetch.orders
            else ("一部失敗" if fetch.error or problems else "成功")
        )
        return run(
            job="受注再確認",
            fetched=counts.fetched,
            created=counts.created,
            updated=counts.updated,
            duplicates_skipped=counts.duplicates_skipped,
            failed=counts.failed + len(fetch.problems),
            result=result,
            error=fetch.error or (problems[0] if problems else ""),
        )

    def _resolve_unknown_skus(self, job: WriteJob, book: OrderBook, resolver: SkuResolver) -> None:
        """Lines imported without a SKU pick one up as soon as モール商品 maps their code."""
        table = book.lines_table
        if not table.writable:
            return
        first = table.grid.first_row
        sku, quantity = table.column("SKU"), table.column("数量")
        code, mall_sku = table.column("モール商品コード"), table.column("モールSKU")
        waiting = set()
        if not any(
            not cells[sku].strip() and cells[quantity].strip() not in ("", "0") for cells in table.grid.rows
        ):
            return  # every line has its SKU (or holds nothing): the usual cycle, from two raw cells
        for key, rows in book.lines.rows_by_key.items():
            cells = table.grid.rows[rows[0] - first]
            if cells[sku].strip() or cells[quantity].strip() in ("", "0"):
                continue
            if resolver.resolve(key[0], cells[code].strip(), cells[mall_sku].strip()) is not None:
                waiting.add((key[0], key[1]))
        for key in waiting:
            view = book.view(key)
            if view is None:
                continue
            for number, line in list(view.lines.items()):
                if line.sku or not line.quantity:
                    continue
                resolved_sku = resolver.resolve(line.mall, line.mall_item_code, line.mall_sku)
                if resolved_sku is None:
                    continue
                view.lines[number] = line.model_copy(update={"sku": resolved_sku})
                row = table.find_row((*key, str(number)))
                if row is not None:  # lines appended in this job already had the same resolver
                    job.set(table, row, {"SKU": resolved_sku})
                    _clear_unknown_sku_note(job, book, key, number)

    def _stock_problem_row(
        self, run_id: str, started: datetime, finished: datetime, problems: list[str]
    ) -> dict[str, Any]:
        run = SyncRun(
            run_id=run_id,
            channel="在庫",
            mall="在庫",
            job="在庫更新",
            started_at=started,
            finished_at=finished,
            failed=len(problems),
            result="失敗",
            error="／".join(problems),
        )
        return self._log_row(run)

    def _log_row(self, run: SyncRun) -> dict[str, Any]:
        return {
            "実行ID": run.run_id,
            "開始日時": run.started_at,
            "終了日時": run.finished_at,
            "モール": run.mall,
            "処理": f"{run.job}（{run.channel}）",
            "取得件数": run.fetched,
            "新規": run.created,
            "更新": run.updated,
            "重複スキップ": run.duplicates_skipped,
            "失敗": run.failed,
            "結果": run.result,
            "エラー内容": run.error,
        }

    # -- order confirmation (楽天's 注文確認), before shipments

    def _confirm_policies(self) -> dict[str, bool]:
        return {
            c.mall: bool(getattr(c, "confirm_on_import", True)) for c in self.connectors if confirms_orders(c)
        }

    def _confirm_orders(self, read: CycleRead, report: CycleReport) -> None:
        """New orders their mall wants accepted are confirmed there, and recorded (sync/confirmations.py)."""
        table = confirmations.candidates(read.grids.get(ORDERS.title), self._confirm_policies())
        if not table.records:
            return
        job = WriteJob()
        self.check_lease(read.system, job)
        for connector in (c for c in self.connectors if confirms_orders(c)):
            rows = [r for r in table.records if r.value.mall == connector.mall]
            if not rows:
                continue
            name = connector.display_name or connector.mall
            self.progress(
                Progress("注文確認", f"{name}で注文 {len(rows)} 件を確認しています…", connector.channel)
            )
            try:
                outcome = connector.confirm_orders([r.value.order_number for r in rows])  # type: ignore[attr-defined]
            except SyncError as exc:  # credentials: nothing confirmed, said once per cycle
                report.notes.append(f"{name}の注文確認に失敗: {exc}")
                continue
            confirmations.record(job, table, rows, outcome)
            report.orders_confirmed += len(outcome.orders)
            report.notes.extend(outcome.errors.values())
        self.workbook.write(job)
        read.after(job)

    # -- shipments

    def _confirm_shipments(self, read: CycleRead, report: CycleReport) -> None:
        """Orders staff shipped (出荷済 + 配送会社 + 追跡番号) are reported to their mall once."""
        malls = {c.mall: c for c in self.connectors if getattr(c, "confirms_shipments", True)}
        orders = _shipment_candidates(read.grids.get(ORDERS.title))
        todo = shipments.pending(orders, set(malls))
        stuck = shipments.interrupted(orders)
        if not todo and not stuck:
            return
        now = self.clock()
        job = WriteJob()
        self.check_lease(read.system, job)
        for item in stuck:
            shipments.mark_unknown(job, orders, item)
        shipments.mark_sending(job, orders, todo, now)
        self.workbook.write(job)  # from here a crash leaves 送信中: never resent blindly
        read.after(job)

        done = WriteJob()
        for item in todo:
            connector = malls[item.order.mall]
            self.progress(
                Progress(
                    "出荷連絡",
                    f"{connector.display_name or connector.mall}へ出荷を連絡しています（{item.order.order_number}）",
                    connector.channel,
                )
            )
            try:
                connector.confirm_shipment(item.shipment())
            except SyncError as exc:
                shipments.mark_failed(done, orders, item, str(exc))
                report.notes.append(f"注文 {item.order.order_number} の出荷連絡に失敗: {exc}")
                continue
            except Exception as exc:  # a connector bug must not lose the others' results
                shipments.mark_failed(done, orders, item, f"予期しないエラー（{exc.__class__.__name__}）")
                continue
            shipments.mark_done(done, orders, item, self.clock())
            report.shipments += 1
        self.check_lease(read.system, done)
        self.workbook.write(done)
        read.after(done)

    # -- pushing

    def _confirming_malls(self) -> set[str]:
        return {c.mall for c in self.connectors if getattr(c, "confirms_shipments", True)}

    def _pushing_malls(self) -> set[str]:
        return {c.mall for c in self.connectors if getattr(c, "pushes_stock", True)}

    def _push(self, run_id: str, report: CycleReport, committed: Committed, *, release: bool) -> None:
        read = committed.read
        tables = read.tables
        system = read.system
        self.check_lease(system, WriteJob())
        plan = plan_pushes(
            committed.stock.available,
            tables[MALL_LISTINGS.title],
            tables[STOCK_PUSHES.title],
            self._pushing_malls(),
            policy=self.sale_policy(tables, self.clock()),
        )
        started = self.clock()
        sent: list[tuple[PlannedPush, PushResult]] = []
        logs = []
        for connector in self.connectors:
            if not getattr(connector, "pushes_stock", True):
                continue
            planned = [p for p in plan if p.mall == connector.mall]
            levels = [p.level() for p in planned]
            if not levels:
                continue
            name = connector.display_name or connector.mall
            self.progress(
                Progress("送信", f"{name}へ在庫数を {len(levels)} 件送信しています…", connector.channel)
            )
            error = ""
            try:
                got = connector.push_stock(levels)
            except SyncError as exc:
                error = str(exc)
                got = _all_failed(levels, error)
            except Exception as exc:  # one mall's bug must not stop the others' pushes
                error = f"{name}への在庫送信で予期しないエラーが起きました（{exc.__class__.__name__}）"
                got = _all_failed(levels, error)
            got = _matched(levels, got, name)
            sent.extend(zip(planned, got, strict=True))
            failed = sum(1 for r in got if not r.ok)
            first = error or next((r.error for r in got if not r.ok), "")
            if not any(r.sent or r.confirmed or not r.ok for r in got):
                continue  # listings only read, still waiting for the mall: nothing to log
            logs.append(
                self._log_row(
                    SyncRun(
                        run_id=run_id,
                        channel=connector.channel,
                        mall=connector.mall,
                        job="在庫送信",
                        started_at=started,
                        finished_at=self.clock(),
                        fetched=len(levels),
                        updated=len(got) - failed,
                        failed=failed,
                        result="成功" if not failed else ("失敗" if failed == len(got) else "一部失敗"),
                        error=first,
                    )
                )
            )
        report.pushes.extend(result for _, result in sent)
        if self.keep_lease:
            self._unrecorded.extend(sent)
            self._unlogged.extend(logs)
            return
        now = self.clock()
        # 在庫送信 and 同期ログ as this cycle's jobs left them: only the lease holder writes them.
        job = WriteJob()
        self.check_lease(system, job)
        record_results(job, tables[STOCK_PUSHES.title], sent, now)
        log_table = tables[SYNC_LOG.title]  # its grid already holds this cycle's earlier rows
        job.append(log_table, logs)
        if logs:
            self._move_mark(job, system, LOG_MARK, log_table.next_row + len(logs), committed.stored, now)
        self._leave_lease(job, system, now, release=release)
        self.workbook.write(job)
        read.after(job)
        committed.stored = state.values(read.system)


# The 同期ログ's エラー内容 lists this many problems of a fetch; the count says how many in all.
PROBLEMS_SHOWN = 5


def _problems_text(problems: list[str]) -> str:
    if not problems:
        return ""
    shown = " / ".join(problems[:PROBLEMS_SHOWN])
    more = f" …ほか {len(problems) - PROBLEMS_SHOWN} 件" if len(problems) > PROBLEMS_SHOWN else ""
    return f"取り込めなかった行・注文が {len(problems)} 件あります: {shown}{more}"


def _quiet(run: SyncRun) -> bool:
    """An import that changed nothing (at most orders it already had): no 同期ログ row."""
    return run.result == "成功" and not (run.created or run.updated or run.failed)


def _matched(levels: list[StockLevel], results: list[PushResult], name: str) -> list[PushResult]:
    """Connectors answer one result per level, in order; anything else counts as failed."""
    matched = []
    for i, level in enumerate(levels):
        result = results[i] if i < len(results) else None
        if result is None or result.sku != level.sku:
            result = PushResult(
                mall=level.mall,
                sku=level.sku,
                quantity=level.quantity,
                ok=False,
                error=f"{name}の応答に結果がありません",
            )
        matched.append(result)
    return matched


def _all_failed(levels: list[StockLevel], error: str) -> list[PushResult]:
    return [PushResult(mall=v.mall, sku=v.sku, quantity=v.quantity, ok=False, error=error) for v in levels]


def _sold_at_malls(book: OrderBook) -> dict[tuple[str, str, str], int]:
    """Units per listing (モール, モール商品コード, モールSKU) of the orders this job took in new
    (+) or saw cancelled at their mall (−), for orders that take stock from the shop's own
    warehouse: what the malls did to their own quantities."""
    sold: dict[tuple[str, str, str], int] = defaultdict(int)
    for keys, sign in ((book.created, 1), (book.cancelled_by_mall, -1)):
        for key in keys - book.blocked:
            view = book.views.get(key)
            if view is None or not view.order.allocates_stock:
                continue
            for line in view.lines.values():
                if line.sku and line.mall_item_code:
                    sold[(line.mall, line.mall_item_code, line.mall_sku)] += sign * line.quantity
    return sold


def _sold_per_sku(book: OrderBook) -> dict[tuple[str, str], int]:
    """Units per (SKU, モール) of the orders this job took in new (+) or saw cancelled at their
    mall (−): what a セール rule's shares and sales speed count."""
    sold: dict[tuple[str, str], int] = defaultdict(int)
    for keys, sign in ((book.created, 1), (book.cancelled_by_mall, -1)):
        for key in keys - book.blocked:
            view = book.views.get(key)
            if view is None or not view.order.allocates_stock:
                continue
            for line in view.lines.values():
                if line.sku:
                    sold[(line.sku, line.mall)] += sign * line.quantity
    return sold


def _newest_versions(orders: list[Order]) -> dict[tuple[str, str], Order]:
    newest: dict[tuple[str, str], Order] = {}
    for order in orders:
        key = (order.mall, order.order_number)
        if key not in newest or order.updated_at >= newest[key].updated_at:
            newest[key] = order
    return newest


def _line_targets(key: tuple[str, str], view: OrderView, sets: SetBook | None = None) -> list[LineTarget]:
    compositions = sets.compositions if sets is not None else {}
    return [
        LineTarget(
            key=(key[0], key[1], number),
            sku=line.sku,
            quantity=line.quantity,
            status=view.order.status,
            allocates_stock=view.order.allocates_stock,
            components=compositions.get(line.sku) if line.sku else None,
        )
        for number, line in view.lines.items()
    ]


def _signature(book: OrderBook, key: tuple[str, str], view: OrderView) -> str:
    """The 受注 row's signature as the next cycle will read it."""
    if key in book.written:
        return signature(view.order.status, "ON" if view.order.allocates_stock else "OFF")
    table = book.orders_table
    row = table.find_row(key)
    assert row is not None
    return signature(
        table.grid.cell(row, table.column("ステータス")), table.grid.cell(row, table.column("在庫引当"))
    )


def _open_orders(grid: Grid | None) -> dict[str, list[str]]:
    """Order numbers per mall whose ステータス still holds stock, from the raw 受注 cells."""
    found: dict[str, list[str]] = {}
    if grid is None or not all(h in grid.header for h in ("モール", "注文番号", "ステータス")):
        return found
    mall, number, status = (grid.header.index(h) for h in ("モール", "注文番号", "ステータス"))
    for cells in grid.rows:
        if cells[status].strip() in OPEN_ORDER_STATUSES and cells[number].strip():
            found.setdefault(cells[mall].strip(), []).append(cells[number].strip())
    return found


def _shipment_candidates(grid: Grid | None) -> Table[Any]:
    """受注 rows that may need telling the mall, parsed; the shipped-and-told majority is not."""
    if grid is None:
        return missing_table(ORDERS)
    rows = RowsOnDemand(ORDERS, grid)
    table = rows.table
    if not table.writable:
        return table
    status, notice = table.column("ステータス"), table.column("出荷連絡")
    carrier, tracking = table.column("配送会社"), table.column("追跡番号")
    sending = shipments.SENDING
    for index, cells in enumerate(grid.rows):
        told = cells[notice]
        if told and not told[0].isspace() and not told.startswith(sending):
            continue  # told already (済 …) or failed: the majority, from one cell
        told = told.strip()
        ready = cells[status].strip() == "出荷済" and cells[carrier].strip() and cells[tracking].strip()
        if (ready and not told) or told.startswith(shipments.SENDING):
            parsed = rows.parse(grid.row_number(index))
            if not isinstance(parsed, list):
                table.records.append(Record(grid.row_number(index), parsed))
    return table


def _clear_unknown_sku_note(job: WriteJob, book: OrderBook, key: tuple[str, str], number: int) -> None:
    view = book.views[key]
    notes = [n for n in view.order.review.split("／") if n and not n.startswith(f"SKU不明: 明細{number}（")]
    review = "／".join(notes)
    if review != view.order.review:
        view.order = view.order.model_copy(update={"review": review})
        row = book.orders_table.find_row(key)
        if row is not None:
            job.set(book.orders_table, row, {"要確認": review})
