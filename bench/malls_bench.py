"""Mall import benchmark under each mall's documented rate limits, on a virtual clock.

For each mall (Amazon, Shopify, Yahoo!, and 楽天 when its connector, fake and tests are ready),
1,000 orders are placed at the local fake and imported by ``SyncEngine.run_once`` into a SQLite
workbook in a temporary folder, over real loopback HTTP.

Time is virtual: one ``VirtualClock`` per mall is the fake's rate-limiter clock
(``bucket_clock``) and the connector's ``monotonic``; the connector's injected ``sleep``
advances it instead of sleeping. So the limits are enforced exactly (a call made too early gets
a 429 from the fake) but waiting costs no wall time. HTTP and workbook time cost no virtual
time, so the virtual seconds are the rate-limit waits alone.

The import phase is measured from the start of ``run_once`` to the end of the last
``fetch_orders`` generator (the stock push that follows is left out). Its ceiling is the least
virtual time the documented limits allow for the fewest calls N orders need: per token bucket,
``max(0, (calls - burst) / rate)``, the largest over the buckets (buckets refill in parallel).

    python bench/malls_bench.py [--orders 1000] [--skip-rakuten]
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from settings import SyncSettings  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from tests.shop_fixtures import Clock  # noqa: E402

SKU_COUNT = 10


@dataclass
class VirtualClock:
    """Seconds shared by the fake's limiter and the connector; ``sleep`` moves it."""

    now: float = 1000.0
    slept: float = 0.0
    sleeps: int = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.now += seconds
        self.slept += seconds
        self.sleeps += 1


@dataclass
class Bucket:
    name: str
    calls: int
    rate: float
    burst: float

    def seconds(self) -> float:
        return max(0.0, (self.calls - self.burst) / self.rate)


@dataclass
class Result:
    mall: str
    orders: int
    created: int
    calls: int
    calls_by_kind: dict[str, int]
    throttled: int
    throttled_after_first: int
    virtual_seconds: float
    wall_seconds: float
    ceiling: list[Bucket]
    sustained: float  # orders per second the limits allow for an endless stream
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling_seconds(self) -> float:
        return max(b.seconds() for b in self.ceiling)


@dataclass
class ImportMeter:
    """Wraps ``connector.fetch_orders`` to note the virtual time and request count at its end."""

    ticks: VirtualClock
    requests: Callable[[], int]
    ended_at: float | None = None
    requests_at_end: int = 0

    def wrap(self, connector: Any) -> None:
        original = connector.fetch_orders

        def fetch_orders(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from original(*args, **kwargs)
            finally:
                self.ended_at = self.ticks()
                self.requests_at_end = self.requests()

        connector.fetch_orders = fetch_orders


def place_times(clock: Clock, count: int) -> list:
    """Order times, one a minute, ending 10 minutes before the clock (inside every lookback)."""
    last = clock() - timedelta(minutes=10)
    return [last - timedelta(minutes=count - 1 - i) for i in range(count)]


def write_catalogue(workbook: Any, mall: str, listings: list[tuple[str, str, str]]) -> None:
    """listings: (SKU, モール商品コード, モールSKU)."""
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    for i, (sku, code, mall_sku) in enumerate(listings):
        job.append(tables["商品"], [{"SKU": sku, "商品名": f"商品 {i}", "販売価格": 1000 + i}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": 100_000, "安全在庫": 1}])
        row = {"モール": mall, "SKU": sku, "モール商品コード": code, "モールSKU": mall_sku}
        job.append(tables["モール商品"], [row])
    workbook.write(job)


def run_engine(
    mall: str,
    workbook: Any,
    connector: Any,
    clock: Clock,
    ticks: VirtualClock,
    recorded: list[Any],
    kind: Callable[[Any], str],
    orders: int,
    ceiling: list[Bucket],
    sustained: float,
) -> Result:
    meter = ImportMeter(ticks, lambda: len(recorded))
    meter.wrap(connector)
    engine = SyncEngine(workbook, [connector], SyncSettings(lease_seconds=600), clock=clock)
    first, asked = ticks(), len(recorded)
    wall = time.perf_counter()
    report = engine.run_once()
    wall = time.perf_counter() - wall
    assert meter.ended_at is not None, f"{mall}: fetch_orders was not called"
    calls = list(recorded[asked : meter.requests_at_end])
    by_kind: dict[str, int] = {}
    for r in calls:
        by_kind[kind(r)] = by_kind.get(kind(r), 0) + 1
    statuses = [r.status for r in calls]
    throttled = statuses.count(429)
    # "After the first burst": 429s once a call has already succeeded after a 429.
    first_429 = statuses.index(429) if throttled else len(statuses)
    recovered = next((i for i in range(first_429, len(statuses)) if statuses[i] != 429), len(statuses))
    notes = [f"{r.mall}: {r.error}" for r in report.runs if getattr(r, "error", None)]
    return Result(
        mall=mall,
        orders=orders,
        created=report.created,
        calls=len(calls),
        calls_by_kind=by_kind,
        throttled=throttled,
        throttled_after_first=statuses[recovered:].count(429),
        virtual_seconds=meter.ended_at - first,
        wall_seconds=wall,
        ceiling=ceiling,
        sustained=sustained,
        notes=notes,
    )


# -- Amazon: getOrders 0.0167/s burst 20 (100 a page), getOrderItems 0.5/s burst 30 (one per order)


def bench_amazon(orders: int, folder: Path) -> Result:
    from sync.connectors.amazon import OPERATION_LIMITS, Connector, Settings
    from tests.fakes import amazon_api
    from tests.fakes.amazon_api import FakeAmazon

    ticks, clock = VirtualClock(), Clock()
    with FakeAmazon(clock=clock, bucket_clock=ticks) as fake:
        listings = []
        for i in range(SKU_COUNT):
            sku, asin = f"SKU-{i:04d}", f"B0BENCH{i:04d}"
            fake.add_listing(sku, asin, f"商品 {i}", 1000 + i)
            listings.append((sku, asin, sku))
        workbook = SqlWorkbook(f"sqlite:///{folder / 'amazon.sqlite3'}")
        write_catalogue(workbook, "Amazon", listings)
        rng = random.Random(7)
        for at in place_times(clock, orders):
            picked = rng.sample(listings, 1 if rng.random() < 0.55 else 2)
            fake.add_order([(sku, rng.randint(1, 3)) for sku, _, _ in picked], at=at)
        settings = Settings.model_validate(
            {
                "type": "amazon",
                "base_url": fake.base_url,
                "lwa_token_url": fake.token_url,
                "client_id": amazon_api.CLIENT_ID,
                "client_secret": amazon_api.CLIENT_SECRET,
                "refresh_token": amazon_api.REFRESH_TOKEN,
                "seller_id": amazon_api.SELLER_ID,
            }
        )
        connector = Connector(
            "amazon",
            settings,
            session=requests.Session(),
            project_root=folder,
            sleep=ticks.sleep,
            clock=clock,
            monotonic=ticks,
        )

        def kind(r: Any) -> str:
            if r.path.endswith("/orderItems"):
                return "getOrderItems"
            if r.path.startswith(amazon_api.ORDERS_PATH):
                return "getOrders"
            return "token" if r.path == amazon_api.TOKEN_PATH else r.path

        page = settings.page_size
        rate_o, burst_o = OPERATION_LIMITS["getOrders"]
        rate_i, burst_i = OPERATION_LIMITS["getOrderItems"]
        ceiling = [
            Bucket("getOrders", math.ceil(orders / page), rate_o, burst_o),
            Bucket("getOrderItems", orders, rate_i, burst_i),
        ]
        sustained = min(rate_o * page, rate_i)
        return run_engine(
            "Amazon", workbook, connector, clock, ticks, fake.requests, kind, orders, ceiling, sustained
        )


# -- Shopify: leaky bucket of 40 leaking 2/s, 250 orders a page


def bench_shopify(orders: int, folder: Path) -> Result:
    from sync.connectors.shopify import Connector, Settings
    from tests.fakes import shopify_api
    from tests.fakes.shopify_api import DEFAULT_TOKEN, FakeShopify

    ticks, clock = VirtualClock(), Clock()
    with FakeShopify(clock=clock, bucket_clock=ticks) as fake:
        variants, listings = {}, []
        for i in range(SKU_COUNT):
            sku = f"SKU-{i:04d}"
            (variant,) = fake.add_product(f"商品 {i}", [(sku, "", 1000 + i)])
            variants[sku] = variant
            listings.append((sku, str(variant.product_id), sku))
        workbook = SqlWorkbook(f"sqlite:///{folder / 'shopify.sqlite3'}")
        write_catalogue(workbook, "Shopify", listings)
        rng = random.Random(7)
        for at in place_times(clock, orders):
            picked = rng.sample(list(variants), 1 if rng.random() < 0.55 else 2)
            fake.add_order([(variants[s], rng.randint(1, 3)) for s in picked], at=at)
        settings = Settings.model_validate(
            {"type": "shopify", "base_url": fake.base_url, "access_token": DEFAULT_TOKEN}
        )
        connector = Connector(
            "shopify",
            settings,
            session=requests.Session(),
            project_root=folder,
            sleep=ticks.sleep,
            clock=clock,
            monotonic=ticks,
        )

        def kind(r: Any) -> str:
            return "orders.json" if r.path.endswith("/orders.json") else r.path.rsplit("/", 1)[-1]

        page = settings.page_size
        ceiling = [
            Bucket(
                "REST bucket", math.ceil(orders / page), shopify_api.LEAK_PER_SECOND, shopify_api.BUCKET_SIZE
            )
        ]
        sustained = shopify_api.LEAK_PER_SECOND * page
        return run_engine(
            "Shopify", workbook, connector, clock, ticks, fake.requests, kind, orders, ceiling, sustained
        )


# -- Yahoo!: 1 call/s (the fake spaces calls 1 s apart), orderList pages + one orderInfo per order


def bench_yahoo(orders: int, folder: Path) -> Result:
    from sync.connectors.yahoo import Connector, Settings
    from tests.fakes.yahoo_api import FakeYahoo, Item, public_pem

    ticks, clock = VirtualClock(), Clock()
    with FakeYahoo(clock=clock) as fake:
        fake.calls_per_second = 1.0
        fake.bucket_clock = ticks
        items, listings = [], []
        for i in range(SKU_COUNT):
            sku, code, sub = f"SKU-{i:04d}", f"item{i:04d}", f"item{i:04d}-a"
            items.append((code, sub, f"商品 {i}", 1000 + i))
            listings.append((sku, code, sub))
        workbook = SqlWorkbook(f"sqlite:///{folder / 'yahoo.sqlite3'}")
        write_catalogue(workbook, "Yahoo!", listings)
        rng = random.Random(7)
        for at in place_times(clock, orders):
            picked = rng.sample(items, 1 if rng.random() < 0.55 else 2)
            fake.add_order(
                [Item(code, sub, title, price, rng.randint(1, 3)) for code, sub, title, price in picked],
                at=at,
            )
        settings = Settings.model_validate(
            {
                "type": "yahoo",
                "base_url": fake.base_url,
                "token_url": fake.token_url,
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
                "refresh_token": fake.refresh_token,
                "seller_id": fake.seller_id,
                "public_key": public_pem(),
            }
        )
        connector = Connector(
            "yahoo",
            settings,
            session=requests.Session(),
            project_root=folder,
            sleep=ticks.sleep,
            clock=clock,
            monotonic=ticks,
        )

        def kind(r: Any) -> str:
            return r.path.rstrip("/").rsplit("/", 1)[-1]

        max_page = Settings.model_fields["page_size"].metadata  # le=2000 (public clients)
        largest = next((m.le for m in max_page if getattr(m, "le", None)), settings.page_size)
        ceiling = [Bucket("1 call/s", math.ceil(orders / largest) + orders, settings.calls_per_second, 1)]
        sustained = settings.calls_per_second / (1 + 1 / largest)
        return run_engine(
            "Yahoo!", workbook, connector, clock, ticks, fake.requests, kind, orders, ceiling, sustained
        )


# -- 楽天: searchOrder (1,000 a page) and getOrder (100 numbers a call) share 1 call/s


def bench_rakuten(orders: int, folder: Path) -> Result:
    from sync.connectors import rakuten
    from sync.connectors.rakuten import Connector, Settings
    from tests.fakes.rakuten_api import DEFAULT_LICENSE, DEFAULT_SECRET, FakeRakuten, Item

    ticks, clock = VirtualClock(), Clock()
    with FakeRakuten(clock=clock, bucket_clock=ticks) as fake:
        items, listings = [], []
        for i in range(SKU_COUNT):
            sku, manage, variant = f"SKU-{i:04d}", f"item{i:04d}", f"v{i:04d}"
            items.append(Item(manage, variant, f"商品 {i}", 1000 + i))
            listings.append((sku, manage, variant))
        workbook = SqlWorkbook(f"sqlite:///{folder / 'rakuten.sqlite3'}")
        write_catalogue(workbook, "楽天", listings)
        rng = random.Random(7)
        for at in place_times(clock, orders):
            picked = rng.sample(items, 1 if rng.random() < 0.55 else 2)
            fake.add_order([(item, rng.randint(1, 3)) for item in picked], at=at)
        settings = Settings.model_validate(
            {
                "type": "rakuten",
                "base_url": fake.base_url,
                "service_secret": DEFAULT_SECRET,
                "license_key": DEFAULT_LICENSE,
            }
        )
        connector = Connector(
            "rakuten",
            settings,
            session=requests.Session(),
            project_root=folder,
            sleep=ticks.sleep,
            clock=clock,
            monotonic=ticks,
        )

        def kind(r: Any) -> str:
            return r.path.rstrip("/").rsplit("/", 1)[-1]

        per_get = getattr(rakuten, "MAX_GET_ORDER", 100)
        rate = settings.order_calls_per_second
        calls = math.ceil(orders / rakuten.MAX_PAGE_SIZE) + math.ceil(orders / per_get)
        ceiling = [Bucket("order API 1 call/s", calls, rate, 1)]
        sustained = rate / (1 / rakuten.MAX_PAGE_SIZE + 1 / per_get)
        result = run_engine(
            "楽天", workbook, connector, clock, ticks, fake.requests, kind, orders, ceiling, sustained
        )
        result.notes.append(
            "楽天: the fake enforces no order-API limit (only Inventory bulk-upsert 1/s); "
            "the connector's own 1 call/s (unpublished limit) is what paces it"
        )
        return result


def rakuten_ready() -> tuple[bool, str]:
    probe = subprocess.run(
        [sys.executable, "-c", "import sync.connectors.rakuten, tests.fakes.rakuten_api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return False, "import failed: " + (probe.stderr.strip().splitlines() or ["?"])[-1]
    tests = [
        t
        for t in ("tests/test_rakuten_connector.py", "tests/test_sync_faults_rakuten.py")
        if (ROOT / t).exists()
    ]
    if not tests:
        return False, "no 楽天 test file"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return False, "its tests did not finish in 120 s"
    last = (run.stdout.strip().splitlines() or ["?"])[-1]
    return run.returncode == 0, last


def fmt_fraction(r: Result) -> str:
    best, got = r.ceiling_seconds, r.virtual_seconds
    if got <= 0:
        return "1.00 (all within burst)" if best <= 0 else "?"
    if best <= 0:
        return "0.00 (ceiling: all within burst)"
    return f"{best / got:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--skip-rakuten", action="store_true")
    args = parser.parse_args()

    benches: list[tuple[str, Callable[[int, Path], Result]]] = [
        ("Amazon", bench_amazon),
        ("Shopify", bench_shopify),
        ("Yahoo!", bench_yahoo),
    ]
    skipped = []
    if args.skip_rakuten:
        skipped.append("楽天: skipped (--skip-rakuten)")
    else:
        ok, why = rakuten_ready()
        if ok:
            benches.append(("楽天", bench_rakuten))
            print(f"楽天: connector and fake import, tests pass ({why}); included")
        else:
            skipped.append(f"楽天: skipped, not ready ({why})")

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, bench in benches:
            print(f"{name}: importing {args.orders} orders…", file=sys.stderr, flush=True)
            results.append(bench(args.orders, Path(folder)))

    print()
    print(
        "Driven through SyncEngine.run_once (SQLite workbook), real HTTP to the local fakes; "
        "virtual clock shared by the fake's limiter and the connector's sleep/monotonic."
    )
    print()
    print(
        "mall | orders imported | API calls (import) | virtual s | orders / virtual s | "
        "ceiling orders/s (N, sustained) | achieved / ceiling | 429s (after first burst) | wall s"
    )
    print("---|---|---|---|---|---|---|---|---")
    for r in results:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(r.calls_by_kind.items(), key=lambda kv: -kv[1]))
        rate = f"{r.created / r.virtual_seconds:.4g}" if r.virtual_seconds > 0 else "∞ (0 s)"
        best = r.ceiling_seconds
        ceiling = f"{r.orders / best:.4g}" if best > 0 else "∞ (in burst)"
        print(
            f"{r.mall} | {r.created}/{r.orders} | {r.calls} ({calls}) | {r.virtual_seconds:.1f} | {rate} | "
            f"{ceiling}, {r.sustained:.4g} | {fmt_fraction(r)} | {r.throttled} ({r.throttled_after_first}) | "
            f"{r.wall_seconds:.1f}"
        )
    print()
    for r in results:
        limits = "; ".join(
            f"{b.name}: {b.calls} calls, {b.rate:g}/s burst {b.burst:g} → {b.seconds():.1f} s"
            for b in r.ceiling
        )
        print(f"{r.mall} ceiling: {limits}")
    for r in results:
        for note in r.notes:
            print(note)
    for note in skipped:
        print(note)


if __name__ == "__main__":
    main()
