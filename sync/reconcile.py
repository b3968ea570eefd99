"""在庫照合 (issue 14, part 2): read every linked listing's live quantity at its mall, compare
it with what Ichigen would show there and with what it last sent, and record each difference
with its likely cause (sync/drift.py) in ``_在庫照合``, in one job with a 同期ログ row per mall.

Why: a push is blind. A quantity changed in a mall's own admin, or a push the mall dropped,
stays wrong until a customer's order cannot be filled. Reading back finds it first.

It is the sync's slow path, like the 楽天/Yahoo! recheck: ``sync watch`` starts it every
``[sync] reconcile_minutes`` (default 60) and staff start it from the 同期 page, always under
the sync lease (one runner writes). The reading is network only and may take long (Amazon has
no bulk read of seller-fulfilled quantities: 5,000 listings at 5 reads/s take ~17 minutes), so
``sync watch`` runs it beside its cycles (``Reconciliation``) and commits when it is done; the
malls' rate limiters are the connectors' own, shared with the pushes. The workbook is read at
commit time, so 販売可能数 and 前回送信数 are those of the moment the result is written.

What is compared: the quantity Ichigen would push to the listing now (販売可能数, or a セール
rule's quantity while one is in force); 販売可能数 in the table is that target. モール商品 rows
with 在庫連携 OFF are read too and recorded as 未連携 (never pushed, so nothing to compare).
A listing that could not be read (a 429 or 5xx past the retries, not at the mall) gets a row
「読み取り失敗」 with the mall's reason; the others are still reconciled.

Rows of listings that agree again are kept, marked 「解消」 (bounded by the listings that ever
drifted, and staff see that a difference went away).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.models import MallListing, Stock, StockDrift, StockPush
from sheets_schema.parsing import Table, parse_grid, unparsed_table
from sheets_schema.tabs import (
    MALL_LISTINGS,
    SALE_TALLIES,
    SALES,
    STOCK,
    STOCK_DRIFTS,
    STOCK_PUSHES,
    SYNC_LOG,
    SYSTEM_STATE,
)
from sync import state
from sync.connectors.base import Connector, reads_stock
from sync.drift import Drift, LiveListing, classify
from sync.errors import SyncError
from sync.models import ListingRef, LiveQuantity
from sync.push import ListingKey
from sync.settlement import LOG_MARK
from sync.stock import key_trouble

# _システム: when the last reconciliation was written (ISO, JST).
DONE_KEY = "在庫照合"
JOB = "在庫照合"
READ_FAILED = "読み取り失敗"
RESOLVED = "解消"
TABS = (STOCK, MALL_LISTINGS, STOCK_PUSHES, SALES, SALE_TALLIES, STOCK_DRIFTS, SYSTEM_STATE)


@dataclass
class MallRead:
    """One mall's answers (network only; nothing of the workbook)."""

    connector: Connector
    answers: list[LiveQuantity] = field(default_factory=list)
    started_at: datetime | None = None
    seconds: float = 0.0
    error: str = ""  # the whole mall could not be read (credentials refused, a bug)


@dataclass
class ReconcileReport:
    checked: Counter[str] = field(default_factory=Counter)  # mall -> listings read
    causes: dict[str, Counter[str]] = field(default_factory=dict)  # mall -> cause -> listings
    errors: dict[str, str] = field(default_factory=dict)  # mall -> why it could not be read
    seconds: dict[str, float] = field(default_factory=dict)

    def drifts(self, mall: str | None = None) -> int:
        """Differences staff should look at (未連携 and FBA are facts, not problems)."""
        malls = [mall] if mall else list(self.causes)
        return sum(
            n
            for m in malls
            for cause, n in self.causes.get(m, Counter()).items()
            if cause not in ("一致", "未連携", "FBA", RESOLVED)
        )

    def summary(self) -> str:
        if not self.checked and not self.errors:
            return "在庫照合: 照合できるモールの出品がありません"
        parts = []
        for mall in sorted(set(self.checked) | set(self.errors)):
            if mall in self.errors and not self.checked[mall]:
                parts.append(f"{mall}: 読めませんでした（{self.errors[mall]}）")
                continue
            counts = self.causes.get(mall, Counter())
            failed = counts.get(READ_FAILED, 0)
            text = f"{mall}: {self.checked[mall]} 件中 差異 {self.drifts(mall) - failed} 件"
            parts.append(text + (f"・読み取り失敗 {failed} 件" if failed else ""))
        return "在庫照合: " + " / ".join(parts)


# -- what to ask the malls


def listing_refs(listings: Table[Any], malls: Iterable[str]) -> dict[str, list[ListingRef]]:
    """Every モール商品 row of these malls (在庫連携 ON or OFF), once per listing key."""
    wanted = set(malls)
    refs: dict[str, dict[ListingKey, ListingRef]] = {}
    for record in listings:
        row = record.value
        if not isinstance(row, MallListing) or row.mall not in wanted:
            continue
        ref = ListingRef(
            mall=row.mall, sku=row.sku, mall_item_code=row.mall_item_code, mall_sku=row.mall_sku or ""
        )
        refs.setdefault(row.mall, {}).setdefault(_ref_key(ref), ref)
    return {mall: list(found.values()) for mall, found in refs.items()}


def readable(connectors: Sequence[Connector]) -> list[Connector]:
    return [c for c in connectors if reads_stock(c) and getattr(c, "pushes_stock", True)]


def read_live(
    connectors: Sequence[Connector],
    refs: dict[str, list[ListingRef]],
    *,
    clock: Callable[[], datetime],
    say: Callable[[str], None] = lambda text: None,
) -> list[MallRead]:
    """Each mall read in a thread of its own (they have separate limits); network only."""

    def one(connector: Connector) -> MallRead:
        wanted = refs.get(connector.mall, [])
        read = MallRead(connector, started_at=clock())
        name = connector.display_name or connector.mall
        say(f"{name}の在庫数を {len(wanted)} 件読んでいます…")
        began = time.monotonic()
        try:
            read.answers = connector.read_stock(wanted)  # type: ignore[attr-defined]
        except SyncError as exc:
            read.error = str(exc)
        except Exception as exc:  # one mall's bug must not stop the others
            read.error = f"{name}の在庫数の読み取りで予期しないエラーが起きました（{exc.__class__.__name__}）"
        read.seconds = time.monotonic() - began
        return read

    chosen = readable(connectors)
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="reconcile") as pool:
        return list(pool.map(one, chosen))


# -- comparing and writing


def targets(stock: Table[Any], listings: Table[Any], policy: Any) -> dict[ListingKey, int]:
    """What Ichigen would push to each linked listing now (the push planner's rule)."""
    doubled = key_trouble(stock).duplicates
    free = {
        r.value.sku: r.value.available
        for r in stock
        if isinstance(r.value, Stock) and r.value.sku not in doubled
    }
    linked = [
        r.value
        for r in listings
        if isinstance(r.value, MallListing) and r.value.stock_sync and r.value.sku in free
    ]
    wanted = {(x.mall, x.mall_item_code, x.mall_sku or ""): free[x.sku] for x in linked}
    if policy is not None:
        shaped = policy.targets(free, [((x.mall, x.mall_item_code, x.mall_sku or ""), x.sku) for x in linked])
        wanted.update({key: target.quantity for key, target in shaped.items()})
    return wanted


def compare(
    answers: Iterable[LiveQuantity], wanted: dict[ListingKey, int], pushes: Table[Any]
) -> list[tuple[LiveQuantity, Drift | None]]:
    """Each answer with its classification (None: it could not be read)."""
    last: dict[ListingKey, StockPush] = {
        (r.value.mall, r.value.mall_item_code, r.value.mall_sku): r.value
        for r in pushes
        if isinstance(r.value, StockPush)
    }
    compared = []
    for answer in answers:
        if answer.quantity is None:
            compared.append((answer, None))
            continue
        key = _ref_key(answer.listing)
        target = wanted.get(key)
        sent = last.get(key)
        if sent is not None and sent.sku != answer.listing.sku:
            sent = None  # the listing was linked to another SKU since: its record is not this one's
        listing = LiveListing(
            mall=answer.listing.mall,
            mall_item_code=answer.listing.mall_item_code,
            mall_sku=answer.listing.mall_sku,
            live=answer.quantity,
            sku=answer.listing.sku if target is not None else None,
            available=target,
            last_sent=sent.quantity if sent else None,
            last_state=sent.state if sent else "",
            fba=answer.fba,
        )
        compared.append((answer, classify(listing)))
    return compared


def commit(engine: Any, reads: Sequence[MallRead], run_id: str) -> ReconcileReport:
    """One job: _在庫照合 rows of the malls read, a 同期ログ row per mall, the time it was done.
    The caller holds the sync lease; the job carries it as a precondition."""
    report = ReconcileReport()
    ensure_tabs(engine.workbook, (STOCK_DRIFTS,))
    tables = read_tables(engine.workbook, TABS)
    system = tables[SYSTEM_STATE.title]
    stored = state.values(system)
    mark = state.mark(stored, LOG_MARK) or FIRST_DATA_ROW
    log_grid = engine.workbook.read([SYNC_LOG.title], start_rows={SYNC_LOG.title: mark}).get(SYNC_LOG.title)
    log = unparsed_table(SYNC_LOG, log_grid) if log_grid is not None else None
    now = engine.clock()
    wanted = targets(tables[STOCK.title], tables[MALL_LISTINGS.title], engine.sale_policy(tables, now))
    drifts = tables[STOCK_DRIFTS.title]
    job = WriteJob()
    engine.check_lease(system, job)
    log_rows = []
    for read in reads:
        mall = read.connector.mall
        causes: Counter[str] = Counter()
        seen: set[ListingKey] = set()
        agreed: set[ListingKey] = set()
        for answer, drift in compare(read.answers, wanted, tables[STOCK_PUSHES.title]):
            key = _ref_key(answer.listing)
            seen.add(key)
            cause = drift.cause if drift else READ_FAILED
            causes[cause] += 1
            if cause == "一致":
                agreed.add(key)
                continue
            job.put(
                drifts, key, _drift_cells(answer, drift, wanted.get(key), tables[STOCK_PUSHES.title], now)
            )
        for record in drifts if not read.error else ():  # rows that agree again, or are gone
            row = record.value
            if isinstance(row, StockDrift) and row.mall == mall and row.cause != RESOLVED:
                key = (row.mall, row.mall_item_code, row.mall_sku)
                if key in agreed or key not in seen:
                    job.set(drifts, record.row, {"原因": RESOLVED, "対応": "", "日時": now})
                    causes[RESOLVED] += 1
        report.checked[mall] = len(read.answers)
        report.causes[mall] = causes
        report.seconds[mall] = read.seconds
        if read.error:
            report.errors[mall] = read.error
        log_rows.append(_log_row(run_id, read, causes, report, now))
    if log is not None and log.writable:
        job.append(log, log_rows)
        found = system.find_row((LOG_MARK,))
        if found is not None:  # the mark as read: a runner that moved it since stops this job
            job.expect(system, found, {"値": stored.get(LOG_MARK, "")})
        state.put(job, system, LOG_MARK, str(log.next_row + len(log_rows)), now)
    state.put(job, system, DONE_KEY, now.isoformat(), now)
    engine.workbook.write(job)
    return report


def _drift_cells(
    answer: LiveQuantity, drift: Drift | None, target: int | None, pushes: Table[Any], now: datetime
) -> dict[str, Any]:
    sent = pushes.find_row(_ref_key(answer.listing))
    last = next((r.value for r in pushes.records if r.row == sent), None) if sent is not None else None
    return {
        "モール": answer.listing.mall,
        "SKU": answer.listing.sku,
        "モール商品コード": answer.listing.mall_item_code,
        "モールSKU": answer.listing.mall_sku,
        "モールの数": answer.quantity,
        "販売可能数": target,
        "前回送信数": last.quantity if isinstance(last, StockPush) else None,
        "差": drift.difference if drift else 0,
        "原因": drift.cause if drift else READ_FAILED,
        "対応": drift.fix if drift else "",
        "処理": "",
        "エラー": answer.error,
        "日時": now,
    }


def _log_row(
    run_id: str, read: MallRead, causes: Counter[str], report: ReconcileReport, now: datetime
) -> dict[str, Any]:
    mall = read.connector.mall
    failed = causes.get(READ_FAILED, 0)
    found = report.drifts(mall) - failed
    detail = "、".join(
        f"{cause} {n} 件" for cause, n in sorted(causes.items()) if cause not in ("一致", RESOLVED)
    )
    first_error = next((a.error for a in read.answers if a.error), "")
    if read.error:
        result, text = "失敗", read.error
    else:
        result = "成功" if not failed else ("失敗" if failed == len(read.answers) else "一部失敗")
        text = f"差異 {found} 件" + (f"（{detail}）" if detail else "")
        if failed:
            text += f"。読めなかった出品の例: {first_error}"
    return {
        "実行ID": run_id,
        "開始日時": read.started_at or now,
        "終了日時": now,
        "モール": mall,
        "処理": f"{JOB}（{read.connector.channel}）",
        "取得件数": len(read.answers) - failed,
        "新規": 0,
        "更新": found,  # differences found
        "重複スキップ": 0,
        "失敗": failed,
        "結果": result,
        "エラー内容": text,
    }


def _run_id(engine: Any) -> str:
    return f"{engine.clock():%Y%m%d-%H%M%S}-照合-{uuid.uuid4().hex[:6]}"


def _ref_key(ref: ListingRef) -> ListingKey:
    return (ref.mall, ref.mall_item_code, ref.mall_sku or "")


# -- when, and running it


def last_done(stored: dict[str, str]) -> datetime | None:
    try:
        return datetime.fromisoformat(stored.get(DONE_KEY, ""))
    except ValueError:
        return None


def due(engine: Any) -> bool:
    done = last_done(state.values(engine._read_system()))
    return done is None or engine.clock() - done >= timedelta(minutes=engine.settings.reconcile_minutes)


def _refs(engine: Any) -> dict[str, list[ListingRef]]:
    listings = parse_grid(MALL_LISTINGS, engine.workbook.read([MALL_LISTINGS.title])[MALL_LISTINGS.title])
    return listing_refs(listings, {c.mall for c in readable(engine.connectors)})


def reconcile(engine: Any, *, say: Callable[[str], None] = lambda text: None) -> ReconcileReport:
    """On demand (the 同期 page, ``python -m sync reconcile``): read and write now, holding the
    sync lease throughout (given back after unless the runner keeps it). Raises LeaseHeld when
    another runner holds it."""
    engine.acquire_lease()
    try:
        run_id = _run_id(engine)
        reads = read_live(engine.connectors, _refs(engine), clock=engine.clock, say=say)
        return commit(engine, reads, run_id)
    finally:
        if not engine.keep_lease:
            engine.release_lease()


class Reconciliation:
    """``sync watch``'s reconciliation beside its cycles: started when due (under the lease the
    runner keeps), read in a background thread, committed by the loop once the reading is done;
    meanwhile cycles go on importing and pushing."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-watch")
        self._running: Future[list[MallRead]] | None = None
        self._run_id = ""

    def step(self) -> str:
        """Call after each cycle: commits a finished reading, or starts one when due. Returns a
        line for the console ("" when nothing happened)."""
        if self._running is not None:
            if not self._running.done():
                return ""
            reads, self._running = self._running.result(), None
            return commit(self.engine, reads, self._run_id).summary()
        if not due(self.engine):
            return ""
        self.engine.acquire_lease()
        refs = _refs(self.engine)
        self._run_id = _run_id(self.engine)
        self._running = self._pool.submit(read_live, self.engine.connectors, refs, clock=self.engine.clock)
        return f"在庫照合を始めました（{sum(map(len, refs.values()))} 件）"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
