"""Runner soak: two `python -m sync watch` processes on one PostgreSQL workbook, the lease holder
killed with kill -9 every few cycles while orders flow at three malls; at the end nothing is
lost, nothing is doubled, and every mall shows 販売可能数.

The target (issue 11): "Two runners killed alternately with kill -9 every few cycles for 10
minutes while orders flow: 0 duplicates, 0 lost orders, stock at every mall equal to 販売可能数
at the end."

Set-up. A PostgreSQL server (a throwaway cluster from tests/pg_cluster.py, or ``--pg-url``: a
server on which a fresh database is made and dropped after), a shop workbook there (SqlWorkbook,
``--skus`` SKUs of ``--stock`` units, each listed at 楽天, Yahoo! and Shopify) and the three
contract-following fakes from tests/fakes on loopback, in this process, so they outlive every
runner: 楽天 (Inventory API 1 request/s), Yahoo! (1 call/s, as in propagation_bench.py) and
Shopify (leaky bucket 40, 2/s). 楽天 and Yahoo! cannot list changed orders, so the runners
recheck open orders there every minute (``recheck_minutes = 1``).

While the soak runs (``--minutes``):

* Orders are placed round-robin at the three malls, one every ``--order-every`` seconds (±50%),
  one or two SKUs of one or two units each. A mall sells only what it shows: the quantity
  Ichigen last pushed to it, less what this bench sold there since (the fakes do not decrement
  their own stock; demo.py's malls do not either). So SKUs run out; sold-out SKUs are
  restocked by "staff" (実在庫 + ``--restock-units`` in 在庫, a guarded cell edit as the app
  makes it) every ``--restock-every`` seconds.
* A share of the orders is later cancelled at the mall (``--cancel-share``) or shipped there
  (``--ship-share``: Shopify fulfilled in the admin, 楽天 orderProgress 500 once Ichigen has
  confirmed it, Yahoo! ShipStatus 3), 5–60 s after being placed.
* Two runners (slots A and B) run ``python -m sync watch --interval N``. The lease holder is
  killed with SIGKILL after 2–4 (``--kill-cycles``) of its cycles, at a random point: while
  it fetches, while it writes its job, while it confirms 楽天 orders, while it pushes stock, or
  between cycles (within 0.6 s of the progress line it prints for that part). The other
  runner must then hold the lease (the _システム lease row names it) within one interval +
  ``--slack`` seconds; the killed slot is restarted once it has, so the two alternate.

At the end orders stop, pending cancellations and shipments are made at once, the waiting
runner is stopped (Ctrl+C), and the other runs until every check below passes (at most
``--settle`` seconds; 楽天's and Yahoo!'s changes wait for the next recheck), then it is
stopped too and the checks run once more on the final state:

* 受注: every order placed is there exactly once (no key twice), no other order, with the
  status its mall gives it (open / 出荷済 / キャンセル); 受注明細: each order's lines as placed,
  no line twice.
* The ledger: tests/shop_fixtures.ledger_problems (実在庫/引当数/販売可能数 against the
  在庫移動 ledger, _台帳集計 and _受注在庫), no 移動ID twice, each order line's movements
  exactly once (held = the units of an open order, shipped = the units of a shipped one), and
  per SKU 実在庫 = start + restocks − units shipped, 引当数 = units of open orders (this bench's
  own count, not the ledger's).
* Every listing at every mall shows 販売可能数 of its SKU in 在庫.
* No parse errors in any tab, no traceback in any runner, no runner exiting by itself.

Any failed check: the failures on stderr, exit 1, and no "passed". A soak that did not do its
work (no kill, no order, no cancellation or shipment, no SKU sold out) fails too.

    python bench/runners_soak.py [--minutes 10] [--interval 5] [--pg-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sheets_schema.errors import WorkbookError  # noqa: E402
from sheets_schema.models import OPEN_ORDER_STATUSES  # noqa: E402
from sheets_schema.tabs import STOCK, SYSTEM_STATE  # noqa: E402
from sync import state  # noqa: E402
from sync.ledger import build_ledger  # noqa: E402
from tests import pg_cluster  # noqa: E402
from tests.fakes import rakuten_api, shopify_api, yahoo_api  # noqa: E402
from tests.fakes.rakuten_api import FakeRakuten  # noqa: E402
from tests.fakes.shopify_api import FakeShopify  # noqa: E402
from tests.fakes.yahoo_api import FakeYahoo  # noqa: E402
from tests.shop_fixtures import ledger_problems  # noqa: E402

MALLS = ("楽天", "Yahoo!", "Shopify")
PRICE = 1800
# Where a kill lands: the progress line the holder prints when it starts that part of a cycle.
PHASES = {"取込": "[取込]", "書込": "[書込]", "注文確認": "[注文確認]", "送信": "[送信]", "待機": "[完了]"}
LEASE_WAITING = "別の同期が実行中です"


@dataclass(frozen=True)
class Options:
    minutes: float = 10.0
    interval: float = 5.0
    kill_cycles: tuple[int, int] = (2, 4)
    slack: float = 3.0
    skus: int = 8
    stock: int = 12
    order_every: float = 3.0
    cancel_share: float = 0.15
    ship_share: float = 0.35
    event_delay: tuple[float, float] = (5.0, 60.0)
    restock_every: float = 20.0
    restock_units: int = 10
    warmup: float = 120.0
    settle: float = 300.0
    seed: int = 11


class SoakError(Exception):
    """The soak could not go on (a runner died, a takeover never came): reported as a failure."""


# -- the malls


@dataclass
class Sku:
    sku: str
    rakuten: rakuten_api.Item
    yahoo: tuple[str, str]  # 商品コード, サブコード
    shopify: shopify_api.Variant | None = None

    @property
    def name(self) -> str:
        return f"ソーク商品 {self.sku}"


def make_skus(count: int) -> list[Sku]:
    skus = []
    for i in range(1, count + 1):
        code = f"soak{i:02d}"
        skus.append(
            Sku(
                sku=f"SOAK-{i:02d}",
                rakuten=rakuten_api.Item(code, f"v{code}", f"ソーク商品 SOAK-{i:02d}", PRICE),
                yahoo=(code, f"{code}-a"),
            )
        )
    return skus


class Malls:
    """The three fakes on loopback, with the SKUs listed; what each shows, and a buyer's calls."""

    def __init__(self, skus: list[Sku]) -> None:
        self.skus = skus
        self.rakuten = FakeRakuten()
        self.yahoo = FakeYahoo()
        self.yahoo.calls_per_second = 1.0
        self.shopify = FakeShopify()

    def __enter__(self) -> Malls:
        for fake in (self.rakuten, self.yahoo, self.shopify):
            fake.start()
        for s in self.skus:
            (s.shopify,) = self.shopify.add_product(s.name, [(s.sku, "", PRICE)])
        return self

    def __exit__(self, *exc: object) -> None:
        for fake in (self.rakuten, self.yahoo, self.shopify):
            fake.stop()

    def listings(self, s: Sku) -> list[dict[str, str]]:
        assert s.shopify is not None
        return [
            {
                "モール": "楽天",
                "SKU": s.sku,
                "モール商品コード": s.rakuten.manage_number,
                "モールSKU": s.rakuten.variant_id,
            },
            {"モール": "Yahoo!", "SKU": s.sku, "モール商品コード": s.yahoo[0], "モールSKU": s.yahoo[1]},
            {
                "モール": "Shopify",
                "SKU": s.sku,
                "モール商品コード": str(s.shopify.product_id),
                "モールSKU": s.sku,
            },
        ]

    def shown(self, mall: str, s: Sku) -> int | None:
        """The quantity the mall shows for the SKU's listing (None: never set)."""
        if mall == "楽天":
            return self.rakuten.inventory.get((s.rakuten.manage_number.lower(), s.rakuten.variant_id))
        if mall == "Yahoo!":
            return self.yahoo.stock.get(f"{s.yahoo[0]}:{s.yahoo[1]}")
        assert s.shopify is not None
        return self.shopify.inventory_level(s.shopify.inventory_item_id)

    def place(self, mall: str, lines: list[tuple[Sku, int]]) -> str:
        if mall == "楽天":
            return self.rakuten.add_order([(s.rakuten, units) for s, units in lines])["orderNumber"]
        if mall == "Yahoo!":
            items = [yahoo_api.Item(*s.yahoo, s.name, PRICE, units) for s, units in lines]
            return self.yahoo.add_order(items)["OrderId"]
        return str(self.shopify.add_order([(s.shopify, units) for s, units in lines])["id"])

    def cancel(self, mall: str, number: str) -> None:
        if mall == "楽天":
            self.rakuten.cancel_order(number)
        elif mall == "Yahoo!":
            self.yahoo.cancel_order(number)
        else:
            self.shopify.cancel_order(int(number))

    def ship(self, mall: str, number: str) -> bool:
        """Ship at the mall; False when it cannot be yet (楽天: not confirmed by Ichigen yet)."""
        if mall == "楽天":
            if self.rakuten.order(number)["orderProgress"] != 300:
                return False
            self.rakuten.set_progress(number, 500)
        elif mall == "Yahoo!":
            self.yahoo.update_order(number, ShipStatus="3")
        else:
            self.shopify.fulfill_in_admin(int(number))
        return True


# -- the shop: workbook, settings


def write_shop(workbook: SqlWorkbook, malls: Malls, stock: int) -> None:
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    for s in malls.skus:
        job.append(tables["商品"], [{"SKU": s.sku, "商品名": s.name, "販売価格": PRICE}])
        job.append(tables["在庫"], [{"SKU": s.sku, "実在庫": stock, "安全在庫": 0}])
        job.append(tables["モール商品"], malls.listings(s))
    workbook.write(job)


def write_secrets(folder: Path, url: str, malls: Malls, interval: float) -> Path:
    path = folder / "secrets.toml"
    y = malls.yahoo
    path.write_text(
        f"""
[workbook]
backend = "sql"
sql_url = "{url}"
archive_url = "{url}"
seed_demo = false

[sync]
interval_seconds = {max(1, round(interval))}
lease_seconds = 600  # long: a takeover must not wait for it to run out
# Yahoo! reads every order listed since the cursor less this overlap with orderInfo, at 1 call/s:
# the default 10 minutes at this bench's order rate would be a fetch of minutes.
overlap_minutes = 1

[malls.rakuten]
type = "rakuten"
base_url = "{malls.rakuten.base_url}"
service_secret = "{rakuten_api.DEFAULT_SECRET}"
license_key = "{rakuten_api.DEFAULT_LICENSE}"
recheck_minutes = 1

[malls.yahoo]
type = "yahoo"
base_url = "{y.base_url}"
token_url = "{y.token_url}"
client_id = "{y.client_id}"
client_secret = "{y.client_secret}"
refresh_token = "{y.refresh_token}"
seller_id = "{y.seller_id}"
public_key = {json.dumps(yahoo_api.public_pem())}
recheck_minutes = 1

[malls.shopify]
type = "shopify"
base_url = "{malls.shopify.base_url}"
access_token = "{shopify_api.DEFAULT_TOKEN}"
""",
        encoding="utf-8",
    )
    return path


# -- orders, cancellations, shipments, restocks


@dataclass
class Placed:
    mall: str
    number: str
    lines: list[tuple[str, int]]  # (SKU, units) in line order
    fate: str  # "open" | "cancel" | "ship"
    done: bool = False  # the fate happened at the mall

    @property
    def outcome(self) -> str:
        return self.fate if self.done else "open"


class Market(threading.Thread):
    """Buyers at the three malls, the malls' own cancellations and shipments, staff restocking."""

    def __init__(self, malls: Malls, workbook: SqlWorkbook, options: Options, rng: random.Random) -> None:
        super().__init__(name="market", daemon=True)
        self.malls = malls
        self.workbook = workbook
        self.options = options
        self.rng = rng
        self.placed: list[Placed] = []
        self.lock = threading.Lock()
        self.ordering = threading.Event()
        self.ordering.set()
        self.halt = threading.Event()
        self.error: str = ""
        self.refused = 0  # a mall had nothing left to sell: no order
        self.limited = 0  # orders placed while the mall had some SKU sold out
        self.restock_conflicts = 0  # a runner wrote 在庫 between the read and the edit
        self.restocks = 0
        self.restocked: Counter[str] = Counter()
        self.sold_out: set[str] = set()  # SKUs seen with 販売可能数 0
        self._events: list[tuple[float, int, Placed]] = []
        self._basis: dict[tuple[str, str], int] = {}
        self._sold: Counter[tuple[str, str]] = Counter()
        self._turn = 0

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            self.error = traceback.format_exc()

    def _run(self) -> None:
        o = self.options
        next_order = time.monotonic()
        next_restock = time.monotonic() + o.restock_every
        while not self.halt.is_set():
            now = time.monotonic()
            if self.ordering.is_set() and now >= next_order:
                self._order()
                next_order = now + o.order_every * self.rng.uniform(0.5, 1.5)
            if self.ordering.is_set() and now >= next_restock:
                self._restock()
                next_restock = now + o.restock_every
            self._due_events(now)
            time.sleep(0.05)

    def pending_events(self) -> int:
        with self.lock:
            return len(self._events)

    def hurry(self) -> None:
        """Orders stop; every pending cancellation and shipment is due now."""
        self.ordering.clear()
        with self.lock:
            self._events = [(0.0, n, p) for _, n, p in self._events]
            heapq.heapify(self._events)

    def _buyable(self, mall: str, s: Sku) -> int:
        shown = self.malls.shown(mall, s) or 0
        key = (mall, s.sku)
        if self._basis.get(key) != shown:  # Ichigen sent a new quantity: the mall shows that
            self._basis[key] = shown
            self._sold[key] = 0
        return max(0, shown - self._sold[key])

    def _order(self) -> None:
        mall = MALLS[self._turn % len(MALLS)]
        self._turn += 1
        candidates = [s for s in self.malls.skus if self._buyable(mall, s) > 0]
        if not candidates:
            self.refused += 1
            return
        self.limited += len(candidates) < len(self.malls.skus)
        picked = self.rng.sample(candidates, 2 if len(candidates) > 1 and self.rng.random() < 0.3 else 1)
        lines = [(s, self.rng.randint(1, min(2, self._buyable(mall, s)))) for s in picked]
        number = self.malls.place(mall, lines)
        for s, units in lines:
            self._sold[(mall, s.sku)] += units
        roll = self.rng.random()
        o = self.options
        fate = (
            "cancel" if roll < o.cancel_share else "ship" if roll < o.cancel_share + o.ship_share else "open"
        )
        placed = Placed(mall, number, [(s.sku, units) for s, units in lines], fate)
        with self.lock:
            self.placed.append(placed)
            if fate != "open":
                due = time.monotonic() + self.rng.uniform(*o.event_delay)
                heapq.heappush(self._events, (due, len(self.placed), placed))

    def _due_events(self, now: float) -> None:
        while True:
            with self.lock:
                if not self._events or self._events[0][0] > now:
                    return
                _, n, placed = heapq.heappop(self._events)
            if placed.fate == "cancel":
                self.malls.cancel(placed.mall, placed.number)
            elif not self.malls.ship(placed.mall, placed.number):
                with self.lock:  # 楽天: not confirmed yet; try again shortly
                    heapq.heappush(self._events, (now + 2.0, n, placed))
                continue
            placed.done = True

    def _restock(self) -> None:
        """Staff add stock to every SKU that sold out, as the app's table edit does: the 実在庫
        cell must still read as read (a conflict is tried again next time)."""
        try:
            table = read_tables(self.workbook, [STOCK])[STOCK.title]
            job = WriteJob()
            added: dict[str, int] = {}
            for record in table:
                stock = record.value
                if stock.available == 0:
                    self.sold_out.add(stock.sku)
                    job.set(table, record.row, {"実在庫": stock.on_hand + self.options.restock_units})
                    added[stock.sku] = self.options.restock_units
            if job:
                self.workbook.write(job)
                self.restocks += 1
                self.restocked.update(added)
        except WorkbookError:  # the runner wrote 在庫 in between: next time
            self.restock_conflicts += 1


# -- the runners


class Runner:
    """One `python -m sync watch` process; its output in files, read from an offset on."""

    def __init__(self, name: str, folder: Path, secrets: Path, interval: float) -> None:
        self.name = name
        self.out = folder / f"runner-{name}.out"
        self.err = folder / f"runner-{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sync",
                    "--secrets",
                    str(secrets),
                    "watch",
                    "--interval",
                    f"{interval:g}",
                ],
                cwd=ROOT,
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.killed = False  # by this bench, with SIGKILL
        self.stopping = False  # by this bench, with Ctrl+C
        self.took_over_at = 0  # its output's size when it took the lease over

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, start: int = 0) -> str:
        with self.out.open("rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def size(self) -> int:
        return self.out.stat().st_size

    def errors(self) -> str:
        return self.err.read_text("utf-8", "replace")

    def kill(self) -> None:
        self.killed = True
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 60.0) -> None:
        """Ctrl+C: the runner records what it has not yet and gives up its lease."""
        if self.process.poll() is not None:
            return
        self.stopping = True
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SoakError(f"runner {self.name} did not stop within {timeout:g} s of Ctrl+C") from None
        if code != 0:
            raise SoakError(f"runner {self.name} stopped with exit code {code} on Ctrl+C")


def lease_holder_pid(workbook: SqlWorkbook) -> int | None:
    stored = state.values(read_tables(workbook, [SYSTEM_STATE])[SYSTEM_STATE.title])
    lease = state.Lease.decode(stored.get(state.LEASE_KEY, ""))
    found = re.search(r"-(\d+)-[0-9a-f]+$", lease.holder) if lease else None
    return int(found.group(1)) if found else None


@dataclass
class Takeover:
    at_s: float  # seconds into the soak
    victim: str
    phase: str
    lease_s: float  # kill → the other runner holds the lease
    cycle_s: float | None = None  # kill → the other runner finished a cycle


@dataclass
class Soak:
    options: Options
    folder: Path
    workbook: SqlWorkbook
    malls: Malls
    market: Market
    secrets: Path
    rng: random.Random
    runners: dict[str, Runner] = field(default_factory=dict)
    generation: Counter[str] = field(default_factory=Counter)
    all_runners: list[Runner] = field(default_factory=list)
    takeovers: list[Takeover] = field(default_factory=list)
    kill_phases: Counter[str] = field(default_factory=Counter)
    began: float = field(default_factory=time.monotonic)

    def start(self, slot: str) -> Runner:
        self.generation[slot] += 1
        runner = Runner(f"{slot}{self.generation[slot]}", self.folder, self.secrets, self.options.interval)
        self.runners[slot] = runner
        self.all_runners.append(runner)
        return runner

    def healthy(self) -> None:
        """Every runner not killed on purpose still runs, no traceback, the market is fine."""
        for runner in self.all_runners:
            code = runner.process.poll()
            if code is not None and not (runner.killed or runner.stopping):
                raise SoakError(f"runner {runner.name} exited by itself with {code}")
            if "Traceback" in runner.errors():
                raise SoakError(f"runner {runner.name} printed a traceback")
        if self.market.error:
            raise SoakError(f"the market thread failed:\n{self.market.error}")

    def wait(self, what: str, condition: Callable[[], bool], timeout: float) -> float:
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise SoakError(f"{what}: not after {timeout:g} s")
            self.healthy()
            time.sleep(0.05)
        return time.monotonic() - started

    def slot_of(self, pid: int | None) -> str | None:
        return next((slot for slot, r in self.runners.items() if r.pid == pid), None)

    def kill_holder(self, deadline: float) -> bool:
        """Kill the lease holder after a few of its cycles at a random point; wait for the other
        runner to take over; restart the killed slot. False when the soak's time ran out first."""
        o = self.options
        holder_slot = self.slot_of(lease_holder_pid(self.workbook))
        if holder_slot is None:
            raise SoakError("no runner of this soak holds the lease")
        holder = self.runners[holder_slot]
        standby = self.runners["B" if holder_slot == "A" else "A"]
        since = holder.took_over_at
        cycles = self.rng.randint(*o.kill_cycles)
        phase = self.rng.choice(list(PHASES))
        marker = PHASES[phase]

        def completed() -> int:
            return holder.output(since).count("[完了]")

        # cycles − 1 whole cycles, then the marker of the next part (or the next cycle's end).
        self.wait(
            f"{holder.name}: {cycles - 1} cycles",
            lambda: completed() >= cycles - 1 or time.monotonic() > deadline,
            10 * o.interval + 120,
        )
        if time.monotonic() > deadline:
            return False
        # The standby has tried at least once (it is up and waiting on the lock).
        self.wait(f"{standby.name}: waiting", lambda: LEASE_WAITING in standby.errors(), 60)
        start = holder.size()
        try:
            self.wait(f"{holder.name}: {marker}", lambda: marker in holder.output(start), 3 * o.interval + 30)
        except SoakError:
            phase = "任意"  # the part never came (nothing to push, say): kill anyway
        time.sleep(self.rng.uniform(0, o.interval / 2 if phase == "待機" else 0.6))
        standby_at = standby.size()
        holder.kill()
        killed = time.monotonic()
        self.kill_phases[phase] += 1
        lease_s = self.wait(
            f"takeover by {standby.name} after {holder.name} was killed",
            lambda: lease_holder_pid(self.workbook) == standby.pid,
            o.interval + o.slack + 60,
        )
        standby.took_over_at = standby_at
        takeover = Takeover(round(killed - self.began, 1), holder.name, phase, round(lease_s, 2))
        self.takeovers.append(takeover)
        self.start(holder_slot)
        with contextlib.suppress(SoakError):
            self.wait(f"{standby.name}: a cycle", lambda: "[完了]" in standby.output(standby_at), 120)
            takeover.cycle_s = round(time.monotonic() - killed, 2)
        print(
            f"  kill {len(self.takeovers)}: {holder.name} ({phase}) at {takeover.at_s:.0f} s → "
            f"{standby.name} holds the lease after {takeover.lease_s:.1f} s, "
            f"a cycle after {takeover.cycle_s} s",
            file=sys.stderr,
            flush=True,
        )
        return True


# -- the checks


def verify(
    workbook: SqlWorkbook, malls: Malls, market: Market, start_stock: int
) -> tuple[dict[str, Any], list[str]]:
    """The figures of the final state, and every check that failed (empty: all passed)."""
    failures: list[str] = []
    tables = read_tables(workbook)
    errors = [str(e) for t in tables.values() for e in t.errors]
    if errors:
        failures.append(f"{len(errors)} row errors in the workbook, e.g. {errors[:3]}")
    with market.lock:
        placed = list(market.placed)
    by_key = {(p.mall, p.number): p for p in placed}
    orders = tables["受注"].models()
    # Counted on the rows as stored: a row whose key is taken is a row error, not a model.
    keys = stored_keys(tables["受注"])
    duplicates = sorted(k for k, n in keys.items() if n > 1)
    missing = sorted(k for k in by_key if k not in keys)
    unexpected = sorted(k for k in keys if k not in by_key)
    for what, found in (
        ("duplicate order keys in 受注", duplicates),
        ("orders placed but not in 受注", missing),
        ("orders in 受注 never placed", unexpected),
    ):
        if found:
            failures.append(f"{len(found)} {what}: {found[:10]}")
    wrong_status = []
    for o in orders:
        p = by_key.get((o.mall, o.order_number))
        if p is None:
            continue
        expected = {"cancel": "キャンセル", "ship": "出荷済"}.get(p.outcome)
        if (o.status != expected) if expected else (o.status not in OPEN_ORDER_STATUSES):
            wrong_status.append(f"{o.mall} {o.order_number}: {o.status} (at the mall: {p.outcome})")
    if wrong_status:
        failures.append(
            f"{len(wrong_status)} orders with a status their mall does not give: {wrong_status[:10]}"
        )

    lines = tables["受注明細"].models()
    line_keys = stored_keys(tables["受注明細"])
    doubled_lines = sorted(k for k, n in line_keys.items() if n > 1)
    if doubled_lines:
        failures.append(f"{len(doubled_lines)} 受注明細 lines twice: {doubled_lines[:10]}")
    held: dict[tuple[str, str], list[tuple[int, str, int]]] = {}
    for ln in lines:
        held.setdefault((ln.mall, ln.order_number), []).append((ln.line_number, ln.sku or "", ln.quantity))
    wrong_lines = []
    for key, p in by_key.items():
        got = sorted(held.get(key, []))
        want = [(i, sku, units) for i, (sku, units) in enumerate(p.lines, start=1)]
        if p.outcome == "cancel":  # a cancelled Shopify order may show 0 units (current_quantity)
            same = [(i, sku) for i, sku, _ in got] == [(i, sku) for i, sku, _ in want]
        else:
            same = got == want
        if key in keys and not same:
            wrong_lines.append(f"{key}: {got} placed {want}")
    if wrong_lines:
        failures.append(
            f"{len(wrong_lines)} orders whose 受注明細 differ from what was placed: {wrong_lines[:5]}"
        )

    try:
        problems = ledger_problems(tables)
    except KeyError as exc:  # a 受注明細 line without its order
        problems = [f"a 受注明細 line whose order is not in 受注: {exc}"]
    if problems:
        failures.append(f"{len(problems)} ledger problems: {problems[:10]}")
    movements = tables["在庫移動"].models()
    ids = stored_keys(tables["在庫移動"])
    doubled_ids = sorted(i for i, n in ids.items() if n > 1)
    if doubled_ids:
        failures.append(f"{len(doubled_ids)} 移動ID twice in 在庫移動: {doubled_ids[:10]}")
    ledger = build_ledger(movements)
    line_problems = []
    expected_lines = set()
    for key, p in by_key.items():
        for i, (sku, units) in enumerate(p.lines, start=1):
            expected_lines.add((*key, i))
            entry = ledger.lines.get((*key, i))
            hold = entry.allocated[sku] if entry else 0
            shipped = entry.shipped[sku] if entry else 0
            want = (units if p.outcome == "open" else 0, units if p.outcome == "ship" else 0)
            if (hold, shipped) != want:
                line_problems.append(f"{key} line {i} {sku}: held/shipped {(hold, shipped)}, expected {want}")
    strays = sorted(k for k in ledger.lines if k not in expected_lines)
    if strays:
        line_problems.append(f"movements for lines never placed: {strays[:5]}")
    if line_problems:
        failures.append(
            f"{len(line_problems)} order lines whose movements are not there exactly once: {line_problems[:10]}"
        )

    # This bench's own count: start + restocks − shipped units; held = open orders' units.
    shipped_units: Counter[str] = Counter()
    open_units: Counter[str] = Counter()
    for p in placed:
        for sku, units in p.lines:
            if p.outcome == "ship":
                shipped_units[sku] += units
            elif p.outcome == "open":
                open_units[sku] += units
    stock = {s.sku: s for s in tables["在庫"].models()}
    stock_problems = []
    for s in malls.skus:
        row = stock.get(s.sku)
        on_hand = start_stock + market.restocked[s.sku] - shipped_units[s.sku]
        want = (on_hand, open_units[s.sku], max(0, on_hand - open_units[s.sku]))
        got = (row.on_hand, row.allocated, row.available) if row else None
        if got != want:
            stock_problems.append(f"{s.sku}: 実在庫/引当数/販売可能数 {got}, expected {want}")
    if stock_problems:
        failures.append(f"{len(stock_problems)} SKUs whose 在庫 is not what happened: {stock_problems}")

    mismatches = []
    checked = 0
    for s in malls.skus:
        available = stock[s.sku].available if s.sku in stock else None
        for mall in MALLS:
            checked += 1
            shown = malls.shown(mall, s)
            if shown != available:
                mismatches.append(f"{mall} {s.sku}: the mall shows {shown}, 販売可能数 {available}")
    if mismatches:
        failures.append(f"{len(mismatches)} listings whose mall does not show 販売可能数: {mismatches}")

    per_mall: dict[str, Counter[str]] = {m: Counter() for m in MALLS}
    for p in placed:
        per_mall[p.mall]["placed"] += 1
        per_mall[p.mall][{"cancel": "cancelled", "ship": "shipped", "open": "open"}[p.outcome]] += 1
    in_orders = Counter(mall for mall, _ in keys)
    figures = {
        "orders": {
            "placed": {m: per_mall[m]["placed"] for m in MALLS},
            "placed_total": len(placed),
            "cancelled_at_mall": {m: per_mall[m]["cancelled"] for m in MALLS},
            "shipped_at_mall": {m: per_mall[m]["shipped"] for m in MALLS},
            "in_受注": {m: in_orders[m] for m in MALLS},
            "missing": len(missing),
            "duplicate_keys": len(duplicates),
            "never_placed": len(unexpected),
            "wrong_status": len(wrong_status),
            "lines_placed": sum(len(p.lines) for p in placed),
            "受注明細_lines": len(lines),
            "lines_twice": len(doubled_lines),
            "lines_differing": len(wrong_lines),
        },
        "ledger": {
            "movements": len(movements),
            "movement_ids_twice": len(doubled_ids),
            "ledger_problems": len(problems),
            "order_lines_not_exactly_once": len(line_problems),
            "skus_not_as_happened": len(stock_problems),
            "row_errors": len(errors),
        },
        "stock": {
            "listings_checked": checked,
            "mall_shows_other_than_販売可能数": len(mismatches),
            "skus_sold_out": len(market.sold_out),
            "orders_refused_all_sold_out": market.refused,
            "orders_with_some_sku_sold_out_at_the_mall": market.limited,
            "restocks": market.restocks,
            "units_restocked": sum(market.restocked.values()),
            "restock_edits_refused_as_stale": market.restock_conflicts,
            "units_shipped": sum(shipped_units.values()),
            "units_held_open": sum(open_units.values()),
        },
    }
    return figures, failures


def stored_keys(table: Any) -> Counter[tuple[str, ...]]:
    """How often each key occurs among the tab's stored rows, valid or not."""
    return Counter(
        table.key_of(table.grid.first_row + i) for i, row in enumerate(table.grid.rows) if any(row)
    )


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "max": None}
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


# -- the run


@dataclass
class Report:
    figures: dict[str, Any]
    failures: list[str]
    placed: list[Placed]
    folder: Path

    @property
    def passed(self) -> bool:
        return not self.failures


@contextlib.contextmanager
def database(database_url: str | None, server_url: str | None) -> Iterator[str]:
    """The database to soak on: as given, or a fresh one on the given server or on a cluster
    of our own (dropped after)."""
    if database_url:
        yield database_url
        return
    with contextlib.ExitStack() as stack:
        if server_url is None:
            bindir = pg_cluster.find_bindir()
            if bindir is None:
                raise SoakError(
                    "PostgreSQL のサーバー（initdb）が見つかりません。--pg-url を指定してください"
                )
            cluster = pg_cluster.Cluster(bindir)
            stack.callback(cluster.stop)
            server_url = cluster.start()
        url = pg_cluster.create_database(server_url)
        stack.callback(pg_cluster.drop_database, server_url, url)
        yield url


def run(
    options: Options,
    *,
    database_url: str | None = None,
    server_url: str | None = None,
    folder: Path | None = None,
    probe: Callable[[Soak], None] | None = None,
) -> Report:
    """The soak; the figures and failures of its final state (see the module docstring).
    ``probe`` is called with the soak after its checks, runners stopped, malls still up."""
    folder = folder or Path(tempfile.mkdtemp(prefix="ichigen-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    skus = make_skus(options.skus)
    failures: list[str] = []
    figures: dict[str, Any] = {}
    with database(database_url, server_url) as url, Malls(skus) as malls:
        workbook = SqlWorkbook(url)
        try:
            write_shop(workbook, malls, options.stock)
            market = Market(malls, workbook, options, random.Random(options.seed))
            secrets = write_secrets(folder, url, malls, options.interval)
            soak = Soak(options, folder, workbook, malls, market, secrets, random.Random(options.seed + 1))
            try:
                figures, failures = _soak(soak)
                if probe is not None:
                    probe(soak)
            finally:
                for runner in soak.all_runners:
                    if runner.process.poll() is None:
                        runner.kill()
                market.halt.set()
            placed = list(market.placed)
        finally:
            workbook.engine.dispose()
    return Report(figures, failures, placed, folder)


def _soak(soak: Soak) -> tuple[dict[str, Any], list[str]]:
    o = soak.options
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    failures: list[str] = []
    figures: dict[str, Any] = {}
    soaked = settled = 0.0
    try:
        first = soak.start("A")
        # Warm-up: A holds the lease and has pushed the starting stock to every listing.
        warmup = soak.wait(
            "warm-up (the first runner pushing the starting stock everywhere)",
            lambda: (
                lease_holder_pid(soak.workbook) == first.pid
                and all(soak.malls.shown(m, s) == o.stock for m in MALLS for s in soak.malls.skus)
            ),
            o.warmup,
        )
        soak.start("B")
        say(f"warm-up {warmup:.0f} s; soaking for {o.minutes:g} min (interval {o.interval:g} s)")
        soak.began = time.monotonic()
        soak.market.start()
        deadline = soak.began + o.minutes * 60
        while time.monotonic() < deadline and soak.kill_holder(deadline):
            pass
        soaked = time.monotonic() - soak.began
        # The end: no new orders, the malls' pending changes now, one runner left to settle.
        soak.market.hurry()
        soak.wait("pending cancellations and shipments", lambda: soak.market.pending_events() == 0, 120)
        holder_slot = soak.slot_of(lease_holder_pid(soak.workbook))
        if holder_slot is None:
            raise SoakError("no runner of this soak holds the lease at the end")
        last = soak.runners[holder_slot]
        for slot, runner in soak.runners.items():
            if slot != holder_slot:  # up and waiting on the lock first: Ctrl+C in its start-up is a traceback
                soak.wait(f"{runner.name}: waiting", lambda r=runner: LEASE_WAITING in r.errors(), 60)
                runner.stop()
        say(f"orders stopped after {soaked:.0f} s; settling on runner {last.name}")
        settle_started = time.monotonic()
        while True:
            soak.healthy()
            figures, failures = verify(soak.workbook, soak.malls, soak.market, o.stock)
            if not failures or time.monotonic() - settle_started > o.settle:
                break
            time.sleep(o.interval)
        settled = time.monotonic() - settle_started
        # Ctrl+C right after a cycle, while it waits for the next: it records its last pushes.
        done = last.output().count("[完了]")
        soak.wait(
            f"{last.name}: one more cycle", lambda: last.output().count("[完了]") > done, 10 * o.interval + 60
        )
        last.stop()
        soak.healthy()
        figures, failures = verify(soak.workbook, soak.malls, soak.market, o.stock)
    except SoakError as exc:
        failures.append(str(exc))
    lease = [t.lease_s for t in soak.takeovers]
    cycles = [t.cycle_s for t in soak.takeovers if t.cycle_s is not None]
    outputs = [r.output() for r in soak.all_runners]
    errors = [r.errors() for r in soak.all_runners]
    figures["runners"] = {
        "kills": len(soak.takeovers),
        "runner_processes": len(soak.all_runners),
        "kill_phases": dict(soak.kill_phases),
        "takeover_lease_s": spread(lease),
        "takeover_cycle_s": spread(cycles),
        "takeovers_without_a_cycle": len(soak.takeovers) - len(cycles),
        "cycles_started": sum(text.count("\n--- ") + text.startswith("--- ") for text in outputs),
        "cycles_completed": sum(text.count("[完了]") for text in outputs),
        "lease_waits": sum(text.count(LEASE_WAITING) for text in errors),
        "other_cycle_errors": sum(
            line.startswith("同期できませんでした") and LEASE_WAITING not in line
            for text in errors
            for line in text.splitlines()
        ),
    }
    figures["time"] = {
        "minutes": o.minutes,
        "interval_s": o.interval,
        "soaked_s": round(soaked),
        "settled_s": round(settled),
    }
    runners = figures["runners"]
    if runners["kills"] == 0:
        failures.append("no runner was killed: the soak did not do its work")
    over = [t for t in soak.takeovers if t.lease_s > o.interval + o.slack]
    if over:
        failures.append(
            f"{len(over)} takeovers slower than one interval + {o.slack:g} s: "
            f"{[(t.victim, t.phase, t.lease_s) for t in over]}"
        )
    orders = figures.get("orders", {})
    if orders:
        if not all(orders["placed"].values()):
            failures.append(f"not every mall got orders: {orders['placed']}")
        if not sum(orders["cancelled_at_mall"].values()) or not sum(orders["shipped_at_mall"].values()):
            failures.append(
                "no order was cancelled or none was shipped at its mall: the soak did not do its work"
            )
        if not figures["stock"]["skus_sold_out"]:
            failures.append("no SKU ever sold out: no stock pressure")
    return figures, failures


def print_table(figures: dict[str, Any]) -> None:
    orders, ledger, stock, runners = (figures.get(k, {}) for k in ("orders", "ledger", "stock", "runners"))
    rows = []
    if orders:
        for mall in MALLS:
            rows.append(
                (
                    f"orders at {mall}",
                    f"placed {orders['placed'][mall]}, in 受注 {orders['in_受注'][mall]}, "
                    f"cancelled {orders['cancelled_at_mall'][mall]}, shipped {orders['shipped_at_mall'][mall]}",
                )
            )
        rows += [
            (
                "missing / duplicate keys / never placed",
                f"{orders['missing']} / {orders['duplicate_keys']} / {orders['never_placed']}",
            ),
            ("wrong status", orders["wrong_status"]),
            (
                "受注明細 lines (placed)",
                f"{orders['受注明細_lines']} ({orders['lines_placed']}), twice {orders['lines_twice']}, differing {orders['lines_differing']}",
            ),
            ("在庫移動 movements", f"{ledger['movements']}, 移動ID twice {ledger['movement_ids_twice']}"),
            (
                "ledger problems / lines not exactly once / SKUs not as happened",
                f"{ledger['ledger_problems']} / {ledger['order_lines_not_exactly_once']} / {ledger['skus_not_as_happened']}",
            ),
            (
                "listings checked / mall ≠ 販売可能数",
                f"{stock['listings_checked']} / {stock['mall_shows_other_than_販売可能数']}",
            ),
            (
                "SKUs sold out / orders with a SKU sold out at the mall / restocks (units)",
                f"{stock['skus_sold_out']} / {stock['orders_with_some_sku_sold_out_at_the_mall']} / "
                f"{stock['restocks']} ({stock['units_restocked']})",
            ),
        ]
    if runners:
        rows += [
            (
                "kills (runner processes)",
                f"{runners['kills']} ({runners['runner_processes']}), at {runners['kill_phases']}",
            ),
            (
                "takeover: lease held (median / max)",
                f"{runners['takeover_lease_s']['median']} / {runners['takeover_lease_s']['max']} s",
            ),
            (
                "takeover: a cycle done (median / max)",
                f"{runners['takeover_cycle_s']['median']} / {runners['takeover_cycle_s']['max']} s",
            ),
            (
                "cycle attempts, both runners / cycles completed",
                f"{runners['cycles_started']} / {runners['cycles_completed']}",
            ),
        ]
    print("figure | value")
    print("---|---")
    for name, value in rows:
        print(f"{name} | {value}")


DEFAULTS = Options()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=DEFAULTS.minutes, help="how long orders flow and runners are killed"
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULTS.interval, help="the watch interval (seconds)"
    )
    parser.add_argument(
        "--kill-cycles",
        default="{}-{}".format(*DEFAULTS.kill_cycles),
        help="kill the holder after this many of its cycles (min-max)",
    )
    parser.add_argument(
        "--slack", type=float, default=DEFAULTS.slack, help="seconds a takeover may take beyond one interval"
    )
    parser.add_argument("--skus", type=int, default=DEFAULTS.skus)
    parser.add_argument("--stock", type=int, default=DEFAULTS.stock, help="starting 実在庫 of each SKU")
    parser.add_argument(
        "--order-every", type=float, default=DEFAULTS.order_every, help="seconds between orders (±50%%)"
    )
    parser.add_argument("--cancel-share", type=float, default=DEFAULTS.cancel_share)
    parser.add_argument("--ship-share", type=float, default=DEFAULTS.ship_share)
    parser.add_argument("--restock-every", type=float, default=DEFAULTS.restock_every)
    parser.add_argument("--restock-units", type=int, default=DEFAULTS.restock_units)
    parser.add_argument(
        "--settle", type=float, default=DEFAULTS.settle, help="max seconds for the last runner to settle"
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to make the soak's database on")
    parser.add_argument("--logs", type=Path, default=None, help="keep the runners' output in this folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    low, _, high = args.kill_cycles.partition("-")
    options = Options(
        minutes=args.minutes,
        interval=args.interval,
        kill_cycles=(int(low), int(high or low)),
        slack=args.slack,
        skus=args.skus,
        stock=args.stock,
        order_every=args.order_every,
        cancel_share=args.cancel_share,
        ship_share=args.ship_share,
        restock_every=args.restock_every,
        restock_units=args.restock_units,
        settle=args.settle,
        seed=args.seed,
    )
    try:
        report = run(options, server_url=args.pg_url, folder=args.logs)
    except SoakError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    figures = {**report.figures, "options": {k: v for k, v in asdict(options).items()}}
    if report.passed:
        figures["result"] = "passed"
    print()
    print_table(report.figures)
    print()
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    if not report.passed:
        print(
            f"\nFAILED ({len(report.failures)} checks); runner output kept in {report.folder}",
            file=sys.stderr,
        )
        for failure in report.failures:
            print(f"- {failure}", file=sys.stderr)
        sys.exit(1)
    if args.logs is None:
        shutil.rmtree(report.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
