"""Propagation benchmark: an order at one mall reaching the other malls' stock, in wall time.

The four local fakes (楽天, Amazon, Yahoo!, Shopify) run in this process over loopback HTTP, at
the limits their contracts state: Yahoo! 1 call/s (the fake refuses a call under 1 s after the
last), Amazon's per-operation token buckets (getOrders 0.0167/s burst 20, getOrderItems 0.5/s
burst 30, patchListingsItem 5/s burst 5), 楽天 Inventory bulk-upsert 1 request/s (order calls
paced by the connector's 1 call/s), Shopify's leaky bucket of 40 leaking 2/s. Each holds
``--history-days`` days of orders (``--history-per-day`` a day, all still open, so the
rechecks of 楽天 and Yahoo! have work), on SKUs of their own.

``python -m sync watch --interval 30`` runs as a subprocess on a SQLite workbook. Once it has
imported every mall and pushed the starting stock everywhere, ``--orders`` orders (one unit of
a SKU no other order touches) are placed at random malls, one every ``--spacing`` seconds.
For each order and each other mall, the propagation time is from placing the order to the
moment that mall's fake applied the new quantity (its stock handler, wrapped here). Any order
that has not reached every other mall ``--tail`` seconds after the last order is a failure:
exit 1, no figures.

Amazon's getOrders refuses a LastUpdatedBefore later than 2 minutes before now (the connector
keeps 2½), so an order placed at Amazon cannot be seen for that long: figures are given per
origin mall, and for all origins but Amazon.

    python bench/propagation_bench.py [--orders 40] [--spacing 12] [--interval 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sheets_schema.tabs import SYSTEM_STATE  # noqa: E402
from sync import state  # noqa: E402
from tests.fakes import amazon_api, rakuten_api, shopify_api, yahoo_api  # noqa: E402
from tests.fakes.amazon_api import FakeAmazon  # noqa: E402
from tests.fakes.rakuten_api import FakeRakuten  # noqa: E402
from tests.fakes.shopify_api import FakeShopify  # noqa: E402
from tests.fakes.yahoo_api import FakeYahoo  # noqa: E402

MALLS = ("楽天", "Amazon", "Yahoo!", "Shopify")
CHANNELS = {"楽天": "rakuten", "Amazon": "amazon", "Yahoo!": "yahoo", "Shopify": "shopify"}
HISTORY_SKUS = 10
START_STOCK = 100
POLL_SECONDS = 0.1  # how often the malls' quantities are looked at (the timing's resolution)


@dataclass
class Sku:
    sku: str
    rakuten: rakuten_api.Item
    asin: str
    yahoo: tuple[str, str]  # ItemId, SubCode
    shopify: shopify_api.Variant | None = None


@dataclass
class Arrivals:
    """When each mall's fake first held each (SKU, quantity): recorded by its stock handler."""

    seen: dict[tuple[str, str, int], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, mall: str, quantities: dict[str, int | None]) -> None:
        now = time.monotonic()
        with self.lock:
            for sku, quantity in quantities.items():
                if quantity is not None:
                    self.seen.setdefault((mall, sku, quantity), now)

    def at(self, mall: str, sku: str, quantity: int) -> float | None:
        with self.lock:
            return self.seen.get((mall, sku, quantity))


class Malls:
    def __init__(self, skus: list[Sku], arrivals: Arrivals) -> None:
        self.skus = skus
        self.arrivals = arrivals
        self.rakuten = FakeRakuten()
        self.amazon = FakeAmazon()
        self.yahoo = FakeYahoo()
        self.yahoo.calls_per_second = 1.0
        self.shopify = FakeShopify()

    def __enter__(self) -> Malls:
        for fake in (self.rakuten, self.amazon, self.yahoo, self.shopify):
            fake.start()
        for s in self.skus:
            self.amazon.add_listing(s.sku, s.asin, f"商品 {s.sku}", 1000)
            (s.shopify,) = self.shopify.add_product(f"商品 {s.sku}", [(s.sku, "", 1000)])
        self._wrap()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._poller.join()
        for fake in (self.rakuten, self.amazon, self.yahoo, self.shopify):
            fake.stop()

    def quantities(self, mall: str) -> dict[str, int | None]:
        if mall == "楽天":
            inv = self.rakuten.inventory
            return {
                s.sku: inv.get((s.rakuten.manage_number.lower(), s.rakuten.variant_id)) for s in self.skus
            }
        if mall == "Amazon":
            return {s.sku: self.amazon.listing_quantity(s.sku) for s in self.skus}
        if mall == "Yahoo!":
            return {s.sku: self.yahoo.stock.get(f"{s.yahoo[0]}:{s.yahoo[1]}") for s in self.skus}
        return {
            s.sku: self.shopify.inventory_level(s.shopify.inventory_item_id)
            for s in self.skus
            if s.shopify is not None
        }

    def _watch_quantities(self) -> None:
        """Note every mall's quantities every POLL_SECONDS, in this process. (Wrapping the fakes'
        stock handlers stopped working when the fakes moved to route tables bound when they are
        made: the wrappers were never called and the warm-up waited for arrivals forever.)"""
        while not self._stopped.wait(POLL_SECONDS):
            for mall in MALLS:
                self.arrivals.note(mall, self.quantities(mall))

    def _wrap(self) -> None:
        self._stopped = threading.Event()
        self._poller = threading.Thread(target=self._watch_quantities, daemon=True)
        self._poller.start()

    def order(self, mall: str, s: Sku, at: datetime) -> None:
        if mall == "楽天":
            self.rakuten.add_order([(s.rakuten, 1)], at=at)
        elif mall == "Amazon":
            self.amazon.add_order([(s.sku, 1)], at=at)
        elif mall == "Yahoo!":
            self.yahoo.add_order([yahoo_api.Item(*s.yahoo, f"商品 {s.sku}", 1000, 1)], at=at)
        else:
            assert s.shopify is not None
            self.shopify.add_order([(s.shopify, 1)], at=at)


def make_sku(name: str) -> Sku:
    code = name.lower().replace("-", "")
    return Sku(
        sku=name,
        rakuten=rakuten_api.Item(code, f"v{code}", f"商品 {name}", 1000),
        asin=f"B0{code.upper():0>8}"[:10],
        yahoo=(code, f"{code}-a"),
    )


def write_catalogue(workbook: SqlWorkbook, skus: list[Sku]) -> None:
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    for s in skus:
        assert s.shopify is not None
        job.append(tables["商品"], [{"SKU": s.sku, "商品名": f"商品 {s.sku}", "販売価格": 1000}])
        job.append(tables["在庫"], [{"SKU": s.sku, "実在庫": START_STOCK, "安全在庫": 0}])
        listings = [
            ("楽天", s.rakuten.manage_number, s.rakuten.variant_id),
            ("Amazon", s.asin, s.sku),
            ("Yahoo!", *s.yahoo),
            ("Shopify", str(s.shopify.product_id), s.sku),
        ]
        for mall, code, mall_sku in listings:
            row = {"モール": mall, "SKU": s.sku, "モール商品コード": code, "モールSKU": mall_sku}
            job.append(tables["モール商品"], [row])
    workbook.write(job)


def secrets(folder: Path, malls: Malls) -> Path:
    path = folder / "secrets.toml"
    y = malls.yahoo
    path.write_text(
        f"""
[workbook]
sql_url = "sqlite:///{folder / "wb.sqlite3"}"
seed_demo = false

[malls.rakuten]
type = "rakuten"
base_url = "{malls.rakuten.base_url}"
service_secret = "{rakuten_api.DEFAULT_SECRET}"
license_key = "{rakuten_api.DEFAULT_LICENSE}"

[malls.amazon]
type = "amazon"
base_url = "{malls.amazon.base_url}"
lwa_token_url = "{malls.amazon.token_url}"
client_id = "{amazon_api.CLIENT_ID}"
client_secret = "{amazon_api.CLIENT_SECRET}"
refresh_token = "{amazon_api.REFRESH_TOKEN}"
seller_id = "{amazon_api.SELLER_ID}"

[malls.yahoo]
type = "yahoo"
base_url = "{y.base_url}"
token_url = "{y.token_url}"
client_id = "{y.client_id}"
client_secret = "{y.client_secret}"
refresh_token = "{y.refresh_token}"
seller_id = "{y.seller_id}"
public_key = {json.dumps(yahoo_api.public_pem())}

[malls.shopify]
type = "shopify"
base_url = "{malls.shopify.base_url}"
access_token = "{shopify_api.DEFAULT_TOKEN}"
""",
        encoding="utf-8",
    )
    return path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def figures(values: list[float]) -> str:
    return (
        f"n={len(values)}  median {statistics.median(values):.1f} s  p95 {percentile(values, 0.95):.1f} s"
        f"  max {max(values):.1f} s"
    )


def fail(message: str, log: Path | None = None) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    if log is not None and log.exists():
        print("--- last lines of the watch output:", file=sys.stderr)
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--spacing", type=float, default=12.0, help="seconds between orders (±50%%)")
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--history-per-day", type=float, default=1.5)
    parser.add_argument("--warmup", type=float, default=300.0, help="max seconds for the first import")
    parser.add_argument("--tail", type=float, default=330.0, help="seconds to wait after the last order")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    history = [make_sku(f"HIST-{i:03d}") for i in range(HISTORY_SKUS)]
    measured = [make_sku(f"PROP-{i:03d}") for i in range(args.orders)]
    arrivals = Arrivals()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, Malls(history + measured, arrivals) as malls:
        folder = Path(tmp)
        workbook = SqlWorkbook(f"sqlite:///{folder / 'wb.sqlite3'}")
        write_catalogue(workbook, history + measured)
        now = datetime.now(JST)
        count = int(args.history_days * args.history_per_day)
        for mall in MALLS:
            for i in range(count):
                at = now - timedelta(days=args.history_days - 1) + timedelta(days=i / args.history_per_day)
                malls.order(mall, rng.choice(history), at)
        path = secrets(folder, malls)
        log = folder / "watch.log"
        with log.open("w") as out:
            watch = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sync",
                    "--secrets",
                    str(path),
                    "watch",
                    "--interval",
                    f"{args.interval:g}",
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            # Warm-up: every mall's history imported (a cursor each) and the starting stock of
            # the measured SKUs at every mall.
            deadline = time.monotonic() + args.warmup
            while True:
                if watch.poll() is not None:
                    fail(f"sync watch exited with {watch.returncode}", log)
                stored = state.values(read_tables(workbook, [SYSTEM_STATE])[SYSTEM_STATE.title])
                cursors = all(stored.get(state.cursor_key(c)) for c in CHANNELS.values())
                stocked = all(
                    arrivals.at(mall, s.sku, START_STOCK) is not None for mall in MALLS for s in measured
                )
                if cursors and stocked:
                    break
                if time.monotonic() > deadline:
                    fail(f"warm-up not done in {args.warmup:g} s (cursors {cursors}, stock {stocked})", log)
                time.sleep(1.0)
            warmup = time.monotonic() - began
            print(f"warm-up (history imported, starting stock everywhere): {warmup:.0f} s", file=sys.stderr)

            placed: list[tuple[str, Sku, float]] = []
            for s in measured:
                mall = rng.choice(MALLS)
                malls.order(mall, s, datetime.now(JST))
                placed.append((mall, s, time.monotonic()))
                print(f"order {len(placed)}/{args.orders} at {mall}", file=sys.stderr, flush=True)
                time.sleep(args.spacing * rng.uniform(0.5, 1.5))
            deadline = time.monotonic() + args.tail
            missing: list[str] = []
            while True:
                missing = [
                    f"{s.sku} ({origin} → {target})"
                    for origin, s, _ in placed
                    for target in MALLS
                    if target != origin and arrivals.at(target, s.sku, START_STOCK - 1) is None
                ]
                if not missing or time.monotonic() > deadline:
                    break
                if watch.poll() is not None:
                    fail(f"sync watch exited with {watch.returncode}", log)
                time.sleep(1.0)
            if missing:
                fail(f"{len(missing)} propagations never arrived: {', '.join(missing[:10])}", log)
        finally:
            if watch.poll() is None:
                watch.send_signal(signal.SIGINT)
                try:
                    watch.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    watch.kill()
        cycles = log.read_text(errors="replace").count("--- ")
        errors = [line for line in log.read_text(errors="replace").splitlines() if "エラー" in line]

    by_origin: dict[str, list[float]] = {m: [] for m in MALLS}
    by_target: dict[str, list[float]] = {m: [] for m in MALLS}
    for origin, s, at in placed:
        for target in MALLS:
            if target == origin:
                continue
            arrived = arrivals.at(target, s.sku, START_STOCK - 1)
            assert arrived is not None
            by_origin[origin].append(arrived - at)
            by_target[target].append(arrived - at)
    every = [v for values in by_origin.values() for v in values]
    not_amazon = [v for m, values in by_origin.items() if m != "Amazon" for v in values]
    total = time.monotonic() - began
    print()
    print(
        f"Propagation, `python -m sync watch --interval {args.interval:g}` against the four fakes at their "
        f"limits; {count} history orders per mall over {args.history_days} days (all open); "
        f"{args.orders} orders, one every ~{args.spacing:g} s; {cycles} watch cycles; run {total / 60:.1f} min"
    )
    print()
    print("from | orders | to the other malls")
    print("---|---|---")
    for origin in MALLS:
        values = by_origin[origin]
        if values:
            print(f"{origin} | {len(values) // 3} | {figures(values)}")
    print(f"all but Amazon | {len(not_amazon) // 3} | {figures(not_amazon)}")
    print(f"all | {len(every) // 3} | {figures(every)}")
    print()
    for target in MALLS:
        if by_target[target]:
            print(f"to {target}: {figures(by_target[target])}")
    if errors:
        print(f"\nwatch reported {len(errors)} error lines, e.g.: {errors[0]}")


if __name__ == "__main__":
    main()
