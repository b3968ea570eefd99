"""Sync benchmark.

1. Import: 10,000 orders (about 15,000 lines) from a local Shopify-compatible server through the
   engine into (a) SQLite and (b) the Sheets API fake: orders per second, Sheets API requests
   for the import cycle and for a steady-state cycle afterwards (one new order), peak memory.
2. Propagation: ``python -m sync watch --interval 5`` with two Shopify-compatible malls selling
   the same SKUs: the time from an order appearing at one mall to the new available quantity
   arriving at the other (median and max over 20 orders).

    python bench/sync_bench.py [--orders 10000] [--propagation 20]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from settings import SyncSettings  # noqa: E402
from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sync.connectors.shopify import Connector, Settings  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from tests.fakes.sheets_api import FakeSheetsServer, make_service_account_info  # noqa: E402
from tests.fakes.shopify_api import DEFAULT_TOKEN, FakeShopify, LeakyBucket, Variant  # noqa: E402

SKU_COUNT = 200


def catalogue(
    fake: FakeShopify, workbook: Any, mall: str = "Shopify", size: int = SKU_COUNT
) -> dict[str, Variant]:
    tables = read_tables(workbook)
    job = WriteJob()
    variants = {}
    for i in range(size):
        sku = f"SKU-{i:04d}"
        (variant,) = fake.add_product(f"商品 {i}", [(sku, "", 1000 + i)])
        variants[sku] = variant
        if tables["商品"].find_row((sku,)) is None:
            job.append(tables["商品"], [{"SKU": sku, "商品名": f"商品 {i}", "販売価格": 1000 + i}])
            job.append(tables["在庫"], [{"SKU": sku, "実在庫": 100_000, "安全在庫": 1}])
        listing = {"モール": mall, "SKU": sku, "モール商品コード": str(variant.product_id), "モールSKU": sku}
        job.append(tables["モール商品"], [listing])
    workbook.write(job)
    return variants


def fill_orders(fake: FakeShopify, variants: dict[str, Variant], count: int, start: datetime) -> int:
    rng = random.Random(7)
    skus = list(variants)
    lines = 0
    for i in range(count):
        n = 1 if rng.random() < 0.55 else 2  # about 1.5 lines per order
        picked = rng.sample(skus, n)
        fake.add_order([(variants[s], rng.randint(1, 3)) for s in picked], at=start + timedelta(seconds=i))
        lines += n
    return lines


class BenchFailure(Exception):
    """The run did not do what it measured: no figure may be printed for it."""


def require_orders(workbook: Any, expected: int, created: int | None, stage: str) -> None:
    """Every order must be in 受注, once: a rate over a partial import is no rate at all."""
    stored = len(read_tables(workbook)["受注"].records)
    if stored != expected or (created is not None and created != expected):
        raise BenchFailure(
            f"{stage}で受注が {expected:,} 件のはずが、受注シートに {stored:,} 件"
            + ("" if created is None else f"（エンジンの報告では {created:,} 件）")
            + "しかありません。この計測は無効です"
        )


def import_scenario(backend: str, orders: int) -> dict[str, Any]:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=JST)
    now = start + timedelta(days=1)
    with (
        FakeShopify(clock=lambda: now) as fake,
        FakeSheetsServer() as sheets,
        tempfile.TemporaryDirectory() as folder,
    ):
        if backend == "sqlite":
            workbook: Any = SqlWorkbook(f"sqlite:///{Path(folder) / 'wb.sqlite3'}")
        else:
            key = sheets.create_spreadsheet("bench")
            workbook = GoogleSheetsWorkbook(
                key, make_service_account_info(sheets.token_uri), api_base_url=sheets.base_url
            )
        ensure_tabs(workbook)
        variants = catalogue(fake, workbook)
        lines = fill_orders(fake, variants, orders, start)
        # Measure the engine, not Shopify's 2 calls/s: a quota no cycle here can exhaust.
        fake.bucket = LeakyBucket(10**9, 10**9, time.monotonic)
        connector = Connector(
            "shopify",
            Settings.model_validate(
                {
                    "type": "shopify",
                    "base_url": fake.base_url,
                    "access_token": DEFAULT_TOKEN,
                    # Paced to the raised quota above: the figure is the engine's, not 2 calls/s.
                    "calls_per_second": 10_000,
                    "bucket_size": 10_000,
                }
            ),
            session=requests.Session(),
            project_root=Path(folder),
            # Honour every 429 for real: a no-op sleep let the connector give up on pages and the
            # bench printed a rate for an import that had lost 6 % of the orders.
            sleep=time.sleep,
        )
        engine = SyncEngine(workbook, [connector], SyncSettings(), clock=lambda: now)
        sheets.reset_counts()
        started = time.perf_counter()
        report = engine.run_once()
        elapsed = time.perf_counter() - started
        import_requests = sheets.count()
        created = report.created
        require_orders(workbook, orders, created, "取り込み")
        fake.add_order([(variants["SKU-0001"], 1)], at=now - timedelta(seconds=30))
        sheets.reset_counts()
        engine.run_once()
        steady_requests = sheets.count()
        require_orders(workbook, orders + 1, None, "2回目の同期")
        shopify_requests = len(fake.requests)
    return {
        "backend": backend,
        "orders": created,
        "lines": lines,
        "seconds": elapsed,
        "orders_per_second": created / elapsed,
        "import_requests": import_requests if backend == "sheets" else None,
        "steady_requests": steady_requests if backend == "sheets" else None,
        "shopify_requests": shopify_requests,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def propagation_scenario(samples: int) -> dict[str, Any]:
    with FakeShopify() as a, FakeShopify() as b, tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        workbook = SqlWorkbook(f"sqlite:///{folder_path / 'wb.sqlite3'}")
        ensure_tabs(workbook)
        # A small catalogue: the first cycle pushes every SKU at Shopify's 2 calls/s.
        variants_a = catalogue(a, workbook, "ShopifyA", size=20)
        variants_b = catalogue(b, workbook, "ShopifyB", size=20)
        secrets = folder_path / "secrets.toml"
        secrets.write_text(
            f'[workbook]\nsql_url = "sqlite:///{folder_path / "wb.sqlite3"}"\nseed_demo = false\n'
            f'[malls.a]\ntype = "shopify"\nmall = "ShopifyA"\nbase_url = "{a.base_url}"\naccess_token = "{DEFAULT_TOKEN}"\n'
            f'[malls.b]\ntype = "shopify"\nmall = "ShopifyB"\nbase_url = "{b.base_url}"\naccess_token = "{DEFAULT_TOKEN}"\n',
            encoding="utf-8",
        )
        watcher = subprocess.Popen(
            [sys.executable, "-m", "sync", "--secrets", str(secrets), "--quiet", "watch", "--interval", "5"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            item = variants_b["SKU-0007"].inventory_item_id
            last = [variants_a["SKU-0019"].inventory_item_id, variants_b["SKU-0019"].inventory_item_id]
            deadline = time.monotonic() + 120
            while any(m.inventory_level(i) is None for m, i in zip((a, b), last, strict=True)):
                if time.monotonic() > deadline:
                    raise RuntimeError("the first cycle did not push every SKU")
                time.sleep(0.05)  # the first cycle pushes every SKU to both malls
            rng = random.Random(3)
            delays = []
            for _ in range(samples):
                time.sleep(rng.uniform(0, 5))  # orders arrive at any point of the interval
                before = b.inventory_level(item)
                # Shopify timestamps have whole seconds and the engine reads [since, now).
                a.add_order([(variants_a["SKU-0007"], 1)])
                placed = time.monotonic()
                while b.inventory_level(item) == before and time.monotonic() - placed < 60:
                    time.sleep(0.02)
                delays.append(time.monotonic() - placed)
        finally:
            watcher.kill()
    return {"median": statistics.median(delays), "max": max(delays), "samples": len(delays)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--propagation", type=int, default=20)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:  # one scenario per process, so peak memory is that scenario's own
        try:
            print(json.dumps(import_scenario(args.scenario, args.orders)))
        except BenchFailure as exc:
            sys.exit(f"失敗（{args.scenario}）: {exc}")
        return
    rows = []
    for backend in ("sqlite", "sheets"):
        done = subprocess.run(
            [sys.executable, __file__, "--scenario", backend, "--orders", str(args.orders)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:  # before any figure: a failed run must not look like a result
            sys.exit(done.stderr.strip() or f"{backend} の計測が終了コード {done.returncode} で失敗しました")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        "workbook | orders (lines) | import time | orders/s | Sheets requests: import cycle / steady cycle | peak RSS"
    )
    print("---|---|---|---|---|---")
    for r in rows:
        requests_text = (
            "-" if r["import_requests"] is None else f"{r['import_requests']} / {r['steady_requests']}"
        )
        print(
            f"{r['backend']} | {r['orders']:,} ({r['lines']:,}) | {r['seconds']:.1f} s | {r['orders_per_second']:.0f} "
            f"| {requests_text} | {r['peak_mb']:.0f} MB"
        )
    if args.propagation:
        p = propagation_scenario(args.propagation)
        print(
            f"\nstock propagation, watch --interval 5, two Shopify-compatible malls, {p['samples']} orders: "
            f"median {p['median']:.1f} s, max {p['max']:.1f} s"
        )


if __name__ == "__main__":
    main()
