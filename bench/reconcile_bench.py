"""在庫照合 benchmark (issue 14, part 2): 5,000 listings × 4 malls read back within each mall's
published limits, through the real engine, the real connectors and the four fake malls over
loopback HTTP.

Each mall has a virtual clock of its own (its fake's rate limiter and its connector's bucket and
sleeps), so waiting out a limit takes no wall time and the virtual seconds per mall are the time
the reading would take against the real mall at its published limit:
楽天 inventories bulk-get 1,000 a call at 5/s; Yahoo! getStock 1,000 codes a call (1 call/s,
no published limit); Shopify inventory_levels 50 items a call under the leaky bucket of 40
leaking 2/s (plus the catalogue, 250 products a page); Amazon getListingsItem one SKU a call at
5/s burst 10, and getInventorySummaries 50 SKUs a call at 2/s for the FBA listings.

Differences are planted at every mall (mall-side edits, sales not imported, FBA listings, a
listing with 在庫連携 OFF). Exit 1, with no figures, when the run did not do all its work: a
listing not read, a read failure, a planted difference not found (or one found that was not
planted), a 429 from a fake (a limit broken), or a 同期ログ row missing.

    python bench/reconcile_bench.py [--listings 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from settings import SyncSettings  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sync import reconcile  # noqa: E402
from sync.connectors import amazon, rakuten, shopify, yahoo  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402
from tests.fakes import amazon_api, rakuten_api, shopify_api, yahoo_api  # noqa: E402
from tests.fakes.amazon_api import FakeAmazon  # noqa: E402
from tests.fakes.rakuten_api import FakeRakuten  # noqa: E402
from tests.fakes.shopify_api import FakeShopify  # noqa: E402
from tests.fakes.toolkit.clock import VirtualClock  # noqa: E402
from tests.fakes.yahoo_api import FakeYahoo  # noqa: E402

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
STOCK = 20
EVERY = 100  # one planted difference of each kind per this many listings


def fail(message: str) -> None:
    print(f"失敗: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=5000, help="listings per mall")
    args = parser.parse_args()
    n = args.listings
    skus = [f"SKU-{i:05d}" for i in range(n)]
    clocks = {mall: VirtualClock() for mall in ("楽天", "Amazon", "Yahoo!", "Shopify")}
    r, a, s = (
        FakeRakuten(bucket_clock=clocks["楽天"]),
        FakeAmazon(bucket_clock=clocks["Amazon"]),
        FakeShopify(bucket_clock=clocks["Shopify"]),
    )
    y = FakeYahoo()
    y.calls_per_second, y.bucket_clock = 1.0, clocks["Yahoo!"]
    fakes = (r, a, y, s)
    for fake in fakes:
        fake.start()
    try:
        run(n, skus, clocks, r, a, y, s)
    finally:
        for fake in fakes:
            fake.stop()


def run(n, skus, clocks, r, a, y, s) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    planted: dict[tuple[str, str], str] = {}
    rows = []
    location = s.primary_location_id
    for i, sku in enumerate(skus):
        code = sku.lower().replace("-", "")
        r.inventory[(code, f"v{code}")] = STOCK
        y.stock[f"{code}:{code}-a"] = STOCK
        listing = a.add_listing(sku, f"B{i:09d}", f"商品 {sku}", 1000)
        listing.quantity = STOCK
        (variant,) = s.add_product(f"商品 {sku}", [(sku, "", 1000)])
        s._levels[(variant.inventory_item_id, location)] = STOCK
        rows += [
            {"モール": "楽天", "SKU": sku, "モール商品コード": code, "モールSKU": f"v{code}"},
            {"モール": "Amazon", "SKU": sku, "モール商品コード": f"B{i:09d}", "モールSKU": sku},
            {"モール": "Yahoo!", "SKU": sku, "モール商品コード": code, "モールSKU": f"{code}-a"},
            {"モール": "Shopify", "SKU": sku, "モール商品コード": str(variant.product_id), "モールSKU": sku},
        ]
        if i % EVERY == 1:  # typed in the mall's admin
            r.inventory[(code, f"v{code}")] = STOCK + 7
            s._levels[(variant.inventory_item_id, location)] = STOCK + 3
            planted[("楽天", sku)] = planted[("Shopify", sku)] = "モール側で変更"
        if i % EVERY == 2:  # sold at the mall, not imported yet
            y.stock[f"{code}:{code}-a"] = STOCK - 2
            planted[("Yahoo!", sku)] = "受注の取込待ち"
        if i % EVERY == 3:  # ships from Amazon's warehouse
            listing.fba = 40
            planted[("Amazon", sku)] = "FBA"
        if i % EVERY == 4:
            rows[-2]["在庫連携"] = "OFF"
            y.stock[f"{code}:{code}-a"] = 5
            planted[("Yahoo!", sku)] = "未連携"
    folder = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    workbook = SqlWorkbook(f"sqlite:///{folder / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables["商品"], [{"SKU": k, "商品名": f"商品 {k}", "販売価格": 1000} for k in skus])
    job.append(tables["在庫"], [{"SKU": k, "実在庫": STOCK, "安全在庫": 0} for k in skus])
    job.append(tables["モール商品"], rows)
    # What was last sent: 20 everywhere, confirmed (as after a quiet day of syncs).
    job.append(
        tables["_在庫送信"],
        [
            {
                "モール": row["モール"],
                "SKU": row["SKU"],
                "モール商品コード": row["モール商品コード"],
                "モールSKU": row["モールSKU"],
                "送信数量": STOCK,
                "状態": "確認済",
                "送信日時": NOW,
            }
            for row in rows
        ],
    )
    workbook.write(job)
    setup = time.monotonic() - started

    def options(mall: str) -> dict:
        clock = clocks[mall]
        return {
            "session": requests.Session(),
            "project_root": folder,
            "sleep": clock.sleep,
            "monotonic": clock,
        }

    connectors = [
        rakuten.Connector(
            "rakuten",
            rakuten.Settings(
                type="rakuten",
                base_url=r.base_url,
                service_secret=rakuten_api.DEFAULT_SECRET,
                license_key=rakuten_api.DEFAULT_LICENSE,
            ),
            **options("楽天"),
        ),
        amazon.Connector(
            "amazon",
            amazon.Settings(
                type="amazon",
                base_url=a.base_url,
                lwa_token_url=a.token_url,
                client_id=amazon_api.CLIENT_ID,
                client_secret=amazon_api.CLIENT_SECRET,
                refresh_token=amazon_api.REFRESH_TOKEN,
                seller_id=amazon_api.SELLER_ID,
            ),
            **options("Amazon"),
        ),
        yahoo.Connector(
            "yahoo",
            yahoo.Settings(
                type="yahoo",
                base_url=y.base_url,
                token_url=y.token_url,
                client_id=y.client_id,
                client_secret=y.client_secret,
                refresh_token=y.refresh_token,
                seller_id=y.seller_id,
                public_key=yahoo_api.public_pem(),
            ),
            **options("Yahoo!"),
        ),
        shopify.Connector(
            "shopify",
            shopify.Settings(type="shopify", base_url=s.base_url, access_token=shopify_api.DEFAULT_TOKEN),
            **options("Shopify"),
        ),
    ]
    engine = SyncEngine(workbook, connectors, SyncSettings(lease_seconds=3600), clock=lambda: NOW)
    engine.run_once(fetch=False, push=False)  # 在庫's 販売可能数 from the ledger, nothing sent
    begun = {mall: clock.now for mall, clock in clocks.items()}
    wall = time.monotonic()
    report = reconcile.reconcile(engine)
    wall = time.monotonic() - wall

    # -- did it do all its work?
    for mall in clocks:
        if report.checked[mall] != n:
            fail(f"{mall}: {report.checked[mall]} / {n} 件しか読んでいません")
        if report.errors.get(mall) or report.causes[mall].get(reconcile.READ_FAILED):
            fail(f"{mall}: 読めなかった出品があります（{report.errors.get(mall, '')}）")
    drifts = read_tables(workbook, [reconcile.STOCK_DRIFTS])["_在庫照合"].models()
    found = {(d.mall, d.sku): d.cause for d in drifts}
    if found != planted:
        missing = {k: v for k, v in planted.items() if found.get(k) != v}
        extra = {k: v for k, v in found.items() if k not in planted}
        fail(
            f"差異が仕込んだとおりではありません（見つからない {len(missing)} 件、余分 {len(extra)} 件）: "
            f"{list(missing.items())[:3]} {list(extra.items())[:3]}"
        )
    log = read_tables(workbook, [reconcile.SYNC_LOG])["同期ログ"].models()
    if {row.mall for row in log if row.job.startswith("在庫照合")} != set(clocks):
        fail("同期ログに、モールごとの在庫照合の行がありません")
    calls = {
        "楽天": [c for c in r.requests if c.path.endswith("bulk-get")],
        "Amazon": [c for c in a.requests if c.path != amazon_api.TOKEN_PATH],
        "Yahoo!": [c for c in y.requests if c.path.endswith("getStock")],
        "Shopify": list(s.requests),
    }
    for mall, made in calls.items():
        throttled = sum(1 for c in made if c.status == 429)
        if throttled:
            fail(f"{mall}: 利用上限を超えた呼び出しが {throttled} 回ありました（429）")

    print(f"在庫照合: {n:,} 出品 × 4 モール（準備 {setup:.1f} 秒、照合の実時間 {wall:.1f} 秒）")
    print("モール\t呼び出し\t時間（モールの上限での所要、仮想時計）\t内訳")
    detail = {
        "楽天": f"bulk-get {len(calls['楽天'])} 回（1,000 件/回、5 回/秒）",
        "Amazon": (
            f"getListingsItem {sum(1 for c in calls['Amazon'] if c.path.startswith(amazon_api.LISTINGS_PATH))} 回"
            f"（5 回/秒）、getInventorySummaries "
            f"{sum(1 for c in calls['Amazon'] if c.path == amazon_api.FBA_SUMMARIES_PATH)} 回（50 SKU/回、2 回/秒）"
        ),
        "Yahoo!": f"getStock {len(calls['Yahoo!'])} 回（1,000 件/回、1 回/秒）",
        "Shopify": (
            f"products {sum(1 for c in calls['Shopify'] if c.path.endswith('products.json'))} 回・"
            f"inventory_levels {sum(1 for c in calls['Shopify'] if c.path.endswith('inventory_levels.json'))} 回"
            "（50 件/回、バケット 40・2 回/秒）"
        ),
    }
    for mall, clock in clocks.items():
        seconds = clock.now - begun[mall]
        print(f"{mall}\t{len(calls[mall]):,}\t{seconds:,.1f} 秒（{seconds / 60:.1f} 分）\t{detail[mall]}")
    counts = {m: dict(c) for m, c in report.causes.items()}
    print(f"原因ごとの件数: {counts}")
    print("仕込んだ差異はすべて、仕込んだ原因で見つかりました。読めなかった出品 0、429 0。")


if __name__ == "__main__":
    main()
