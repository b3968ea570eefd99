"""A running demo shop for sync tests: a seeded workbook on either adapter, demo malls with
their state in a temporary folder, and a clock the test moves by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from settings import SyncSettings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables, seed_demo_if_new
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import OPEN_ORDER_STATUSES
from sheets_schema.workbook import Workbook
from sync.connectors import DEMO_CHANNELS, channel_settings
from sync.connectors.demo import Connector as DemoMall
from sync.engine import SyncEngine
from sync.ledger import DEFECTIVE_EFFECTS, EFFECTS, build_ledger
from sync.settlement import decode_lines

START = datetime(2026, 11, 30, 10, 0, tzinfo=JST)
TIME_COLUMNS = {"日時", "更新日時", "送信日時", "開始日時", "終了日時"}
# 受注.ルール is a log of when each 受注ルール ran ("12/07 10:00 name（…）"): its times differ
# between a run and its rerun; what the rules did is in ステータス, 備考, タグ and 配送会社.
LOGGED_COLUMNS = {"ルール"}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Shop:
    workbook: Workbook
    malls: list[Any]
    clock: Clock
    sync: SyncSettings = field(default_factory=lambda: SyncSettings(lease_seconds=60))

    def engine(self, **options: Any) -> SyncEngine:
        return SyncEngine(self.workbook, self.malls, self.sync, clock=self.clock, **options)

    def tables(self) -> dict[str, Any]:
        return read_tables(self.workbook)

    def staff_edit(self, tab: str, key: tuple[str, ...], values: dict[str, Any]) -> None:
        staff_edit(self.workbook, tab, key, values)


def staff_edit(workbook: Workbook, tab: str, key: tuple[str, ...], values: dict[str, Any]) -> None:
    """Change cells as a person would, straight in the sheet."""
    tables = read_tables(workbook)
    row = tables[tab].find_row(key)
    assert row is not None, key
    job = WriteJob()
    job.set(tables[tab], row, values, allow_invalid=True)
    workbook.write(job)


# Tests want a busy shop: orders every few minutes at a constant rate, a 6-hour backlog on
# first contact (the demo malls the app ships sell ~10 a day following the day, like the
# seeded history; a test that advances its clock 20 minutes would see none).
BUSY_RATES = {"rakuten_demo": 4.0, "amazon_demo": 3.0, "yahoo_demo": 2.0, "shopify_demo": 2.0}


def busy_demo_channels() -> dict[str, dict[str, Any]]:
    return {
        channel: {
            **section,
            "orders_per_hour": BUSY_RATES[channel],
            "daily_rhythm": False,
            "backlog_hours": 6.0,
        }
        for channel, section in DEMO_CHANNELS.items()
    }


def demo_malls(state_dir: Path, clock: Clock, **overrides: Any) -> list[DemoMall]:
    malls = []
    for channel, section in busy_demo_channels().items():
        parsed = channel_settings(
            channel, {**section, "state_dir": str(state_dir), **overrides.get(channel, {})}
        )
        malls.append(DemoMall(channel, parsed, session=None, project_root=state_dir, clock=clock))
    return malls


def open_shop(workbook: Workbook, state_dir: Path, clock: Clock | None = None, **overrides: Any) -> Shop:
    clock = clock or Clock()
    seed_demo_if_new(workbook, clock.now - timedelta(hours=1))
    malls = demo_malls(state_dir, clock, **overrides)
    for mall in malls:
        mall.epoch()  # the malls open now, whatever the first sync does
    return Shop(workbook, malls, clock)


def sqlite_shop(folder: Path) -> Shop:
    """The demo shop on a SQLite workbook of its own in ``folder``, its malls' state beside it."""
    workbook = SqlWorkbook(f"sqlite:///{folder / 'workbook.sqlite3'}")
    ensure_tabs(workbook)
    return open_shop(workbook, folder / "malls")


def snapshot(workbook: Workbook) -> dict[str, list[tuple[str, ...]]]:
    """Everything sync decides, without times, run IDs, logs or the lease: what must be equal
    whether a run was interrupted or not."""
    tables = read_tables(workbook)
    shot = {}
    for title in ("受注", "受注明細", "在庫", "在庫移動", "_在庫記録", "_在庫送信"):
        table = tables[title]
        keep = [i for i, h in enumerate(table.grid.header) if h not in TIME_COLUMNS | LOGGED_COLUMNS]
        shot[title] = sorted(tuple(row[i] for i in keep) for row in table.grid.rows if any(row))
    return shot


def ledger_problems(tables: dict[str, Any]) -> list[str]:
    """The identities the ledger promises, per SKU: 実在庫 = Σ on-hand effects; 引当数 = units on
    open, allocating order lines; 販売可能数 = max(0, 実在庫 − 引当数 − 安全在庫)."""
    on_hand, allocated, defective = Counter(), Counter(), Counter()
    for movement in tables["在庫移動"].models():
        hand, alloc = EFFECTS[movement.kind]
        on_hand[movement.sku] += hand * movement.quantity
        allocated[movement.sku] += alloc * movement.quantity
        defective[movement.sku] += DEFECTIVE_EFFECTS.get(movement.kind, 0) * movement.quantity
    orders = {(o.mall, o.order_number): o for o in tables["受注"].models()}
    sets = set_compositions(tables)
    open_units = Counter()
    for line in tables["受注明細"].models():
        order = orders[(line.mall, line.order_number)]
        if line.sku and order.allocates_stock and order.status in OPEN_ORDER_STATUSES:
            for sku, units in sets.get(line.sku, {line.sku: 1}).items():
                open_units[sku] += units * line.quantity
    problems = []
    rows = {stock.sku: stock for stock in tables["在庫"].models()}
    for stock in rows.values():
        expected = (on_hand[stock.sku], open_units[stock.sku])
        if (stock.on_hand, stock.allocated) != expected or allocated[stock.sku] != open_units[stock.sku]:
            problems.append(f"{stock.sku}: sheet {(stock.on_hand, stock.allocated)} ledger {expected}")
        if stock.defective != max(0, defective[stock.sku]):
            problems.append(f"{stock.sku}: 不良在庫 {stock.defective} ledger {defective[stock.sku]}")
        if stock.sku in sets:
            built = min(rows[c].available // units for c, units in sets[stock.sku].items())
            if stock.available != max(0, built - stock.safety_stock):
                problems.append(f"{stock.sku}: セットの販売可能数 {stock.available} (built {built})")
        elif stock.available != max(0, stock.on_hand - stock.allocated - stock.safety_stock):
            problems.append(f"{stock.sku}: 販売可能数 {stock.available}")
    return problems + persisted_ledger_problems(tables)


def set_compositions(tables: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Set SKU -> units per set of each stock-holding SKU, folded from セット構成 by hand (the
    reference for sync/sets.py; assumes the tab has no errors)."""
    direct: dict[str, dict[str, int]] = {}
    for row in tables["セット構成"].models() if "セット構成" in tables else ():
        direct.setdefault(row.set_sku, {})[row.component_sku] = row.quantity

    def flat(sku: str) -> dict[str, int]:
        if sku not in direct:
            return {sku: 1}
        total: Counter[str] = Counter()
        for component, quantity in direct[sku].items():
            for leaf, units in flat(component).items():
                total[leaf] += units * quantity
        return dict(total)

    return {sku: flat(sku) for sku in direct}


def persisted_ledger_problems(tables: dict[str, Any]) -> list[str]:
    """What a cycle keeps instead of re-reading the ledger (_台帳集計 per SKU, _受注在庫 per order
    line) must equal a fold of the whole 在庫移動, once the engine has run."""
    marks = {r.key: r.value for r in tables["_システム"].models()}
    if "末尾:在庫移動" not in marks:
        return []
    movements = tables["在庫移動"].models()
    ledger = build_ledger(movements)
    problems = []
    if int(marks["末尾:在庫移動"]) != len(tables["在庫移動"].grid.rows) + 2:
        problems.append(f"末尾:在庫移動 {marks['末尾:在庫移動']} for {len(movements)} movements")
    balances = {b.sku: (b.on_hand, b.allocated, b.defective) for b in tables["_台帳集計"].models()}
    for sku in set(ledger.on_hand) | set(ledger.allocated) | set(balances):
        folded = (ledger.on_hand[sku], ledger.allocated[sku], ledger.defective[sku])
        if balances.get(sku, (0, 0, 0)) != folded:
            problems.append(f"_台帳集計 {sku}: {balances.get(sku)} ledger {folded}")

    def plain(line: Any) -> tuple[dict[str, int], ...]:
        return tuple({k: v for k, v in c.items() if v} for c in (line.allocated, line.shipped, line.kinds))

    settled = {}
    for row in tables["_受注在庫"].models():
        for number, line in decode_lines(row.lines).items():
            settled[(row.mall, row.order_number, number)] = plain(line)
    # An archived order's 不良入庫 (a defective return) stays in the ledger while its _受注在庫 row
    # went to the archive with it: line state is compared for the orders the workbook still has.
    kept = {(o.mall, o.order_number) for o in tables["受注"].models()} | {k[:2] for k in settled}
    folded = {key: plain(line) for key, line in ledger.lines.items() if any(plain(line)) and key[:2] in kept}
    for key in set(settled) | set(folded):
        if settled.get(key) != folded.get(key):
            problems.append(f"_受注在庫 {key}: {settled.get(key)} ledger {folded.get(key)}")
    return problems
