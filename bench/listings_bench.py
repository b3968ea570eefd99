"""商品登録 benchmark: a price change for N SKUs (default 1,000), read → diff → send, per mall,
in virtual time against each mall's published (or assumed) call ceiling.

Each mall's fake runs in this process over loopback HTTP with a virtual clock that only the
client's sleeps move, so the figures are the time the mall's limit forces, not this machine's
speed. For each mall the bench prints the calls made, the virtual seconds, and the shortest time
the mall's limit allows for those calls (the ceiling), and the share of the ceiling reached
(ceiling time ÷ time taken; target ≥ 90 %):

- Shopify: leaky bucket of 40 calls leaking 2/s (Standard plan, contract §1): ceiling time
  (calls − 40) ÷ 2.
- 楽天 ItemAPI 2.0: no published limit; 1 request/s assumed (as the Inventory API, contract §3/§6):
  ceiling time (calls − 1) ÷ 1.
- Amazon Listings Items API (contract §2/§8): one getListingsItem per SKU (5/s, burst 10), then
  one patchListingsItem per SKU (5/s, burst 5), each operation its own bucket. Reading comes
  before sending (the differences need every read), so the ceiling is the two phases one after
  the other: (reads − 10) ÷ 5 + (patches − 5) ÷ 5 (the LWA token call is counted in the calls,
  not in the ceiling: LWA documents no limit). Amazon applies an ACCEPTED patch later; the fake
  applies it at once, so the check sees the new price. The check also wants every other part of
  the listing as it was: the sale price, floor price and start date of the Japan offer, the B2B
  and amazon.com offers, the title and description.

- Yahoo!: 1 query/s per API URL (vendor's item API list; the fake spaces each API so), the
  client keeps getItem, updateItems (100 items a call) and reservePublish to 1 call/s together:
  ceiling time (calls − 1) ÷ 1. Checked on the fake's published view, i.e. after reservePublish.

It exits 1, with no figures, when any listing did not get its new price at the mall (for
Yahoo!: as buyers see it), another field changed, a call was refused (429) or a mall is below
90 %.

    python bench/listings_bench.py [--skus 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from sync import listings  # noqa: E402
from sync.connectors import amazon_listings, rakuten_listings, shopify_listings, yahoo_listings  # noqa: E402
from tests.fakes import amazon_api  # noqa: E402
from tests.fakes.amazon_listings_api import FakeAmazonListings  # noqa: E402
from tests.fakes.rakuten_api import DEFAULT_LICENSE, DEFAULT_SECRET  # noqa: E402
from tests.fakes.rakuten_items_api import FakeRakutenItems  # noqa: E402
from tests.fakes.shopify_api import DEFAULT_TOKEN  # noqa: E402
from tests.fakes.shopify_listings_api import FakeShopifyListings  # noqa: E402
from tests.fakes.toolkit.clock import VirtualClock  # noqa: E402
from tests.fakes.yahoo_api import API_ROOT as YAHOO_API  # noqa: E402
from tests.fakes.yahoo_items_api import FakeYahooItems  # noqa: E402

TARGET = 0.90
OLD_PRICE, NEW_PRICE = 1000, 1080


@dataclass
class Figures:
    mall: str
    calls: int
    seconds: float
    ceiling_seconds: float
    wall: float
    throttled: int

    @property
    def share(self) -> float:
        return 1.0 if self.seconds <= 0 else min(1.0, self.ceiling_seconds / self.seconds)


def run_mall(
    name: str,
    client: Any,
    clock: VirtualClock,
    rows: list[listings.ListingRow],
    count_calls: Callable[[], int],
    throttled: Callable[[], int],
    ceiling: Callable[[int], float],
    check: Callable[[], list[str]],
) -> Figures:
    wall = time.perf_counter()
    start = clock.now
    plan = listings.plan(rows, client.rules)
    if plan.problems:
        raise SystemExit(f"{name}: {plan.problems[0]}")
    read = client.read(list(plan.wanted))
    diffs, problems = listings.differences(plan, read, client.rules)
    if problems or len(diffs) != len(rows) or any(d.field != "price" for d in diffs):
        raise SystemExit(f"{name}: expected {len(rows)} price changes, got {len(diffs)} and {problems[:1]}")
    results = client.send(listings.changes(diffs))
    failed = [r for r in results if not r.ok]
    if failed or len(results) != len(rows):
        raise SystemExit(f"{name}: {len(failed)} of {len(results)} sends failed: {failed[:1]}")
    wrong = check()
    if wrong:
        raise SystemExit(f"{name}: the mall does not show what was sent: {wrong[:3]}")
    calls = count_calls()
    return Figures(name, calls, clock.now - start, ceiling(calls), time.perf_counter() - wall, throttled())


def shopify(skus: int) -> Figures:
    clock = VirtualClock()
    with FakeShopifyListings(bucket_clock=clock) as fake:
        made = [fake.add_product(f"商品{i:04d}", [(f"SKU{i:04d}", "", OLD_PRICE)])[0] for i in range(skus)]
        fake.reset_counts()
        settings = shopify_listings.Settings(
            type="shopify", base_url=fake.base_url, access_token=DEFAULT_TOKEN
        )
        client = shopify_listings.Listings(
            "shopify",
            settings,
            session=requests.Session(),
            project_root=ROOT,
            sleep=clock.sleep,
            monotonic=clock,
        )
        rows = [
            listings.ListingRow(
                row=i + 2,
                mall="Shopify",
                sku=v.sku or "",
                item_code=str(v.product_id),
                title=v.title,
                product_name=v.title,
                product_price=NEW_PRICE,
            )
            for i, v in enumerate(made)
        ]

        def check() -> list[str]:
            wrong = []
            for product in fake.products():
                variant = product["variants"][0]
                if variant["price"] != str(NEW_PRICE) or product["title"] != f"商品{variant['sku'][3:]}":
                    wrong.append(variant["sku"])
            return wrong

        return run_mall(
            "Shopify",
            client,
            clock,
            rows,
            lambda: len(fake.requests),
            lambda: len(fake.requests.where(status=429)),
            lambda calls: max(0.0, (calls - 40) / 2.0),
            check,
        )


def rakuten(skus: int) -> Figures:
    clock = VirtualClock()
    with FakeRakutenItems(bucket_clock=clock) as fake:
        for i in range(skus):
            fake.add_item(f"item{i:04d}", f"商品{i:04d}", {f"item{i:04d}": OLD_PRICE}, tagline="キャッチ")
        settings = rakuten_listings.Settings(
            type="rakuten", base_url=fake.base_url, service_secret=DEFAULT_SECRET, license_key=DEFAULT_LICENSE
        )
        client = rakuten_listings.Listings(
            "rakuten",
            settings,
            session=requests.Session(),
            project_root=ROOT,
            sleep=clock.sleep,
            monotonic=clock,
        )
        rows = [
            listings.ListingRow(
                row=i + 2,
                mall="楽天",
                sku=f"item{i:04d}",
                item_code=f"item{i:04d}",
                title=f"商品{i:04d}",
                product_name=f"商品{i:04d}",
                product_price=NEW_PRICE,
            )
            for i in range(skus)
        ]

        def check() -> list[str]:
            wrong = []
            for number, item in fake.items.items():
                if (
                    str(item["variants"][number]["standardPrice"]) != str(NEW_PRICE)
                    or item["tagline"] != "キャッチ"
                ):
                    wrong.append(number)
            return wrong

        return run_mall(
            "楽天",
            client,
            clock,
            rows,
            lambda: len(fake.requests),
            lambda: len(fake.requests.where(status=429)),
            lambda calls: max(0.0, calls - 1.0),
            check,
        )


def amazon(skus: int) -> Figures:
    clock = VirtualClock()
    with FakeAmazonListings(bucket_clock=clock) as fake:
        for i in range(skus):
            fake.add_listing(f"SKU{i:04d}", f"B0{i:08d}", f"商品{i:04d}", OLD_PRICE, description="説明")
        before = {sku: fake.listing_attributes(sku) for sku in fake.attributes}
        settings = amazon_listings.Settings.model_validate(fake.mall_section())
        client = amazon_listings.Listings(
            "amazon",
            settings,
            session=requests.Session(),
            project_root=ROOT,
            sleep=clock.sleep,
            monotonic=clock,
        )
        rows = [
            listings.ListingRow(
                row=i + 2,
                mall="Amazon",
                sku=f"SKU{i:04d}",
                item_code=f"B0{i:08d}",
                title=f"商品{i:04d}",
                product_name=f"商品{i:04d}",
                product_price=NEW_PRICE,
            )
            for i in range(skus)
        ]

        def check() -> list[str]:
            wrong = []
            for sku, attributes in before.items():
                expected = attributes
                for offer in expected["purchasable_offer"]:
                    if (offer["marketplace_id"], offer["audience"]) == (amazon_api.MARKETPLACE_ID, "ALL"):
                        offer["our_price"][0]["schedule"][0]["value_with_tax"] = NEW_PRICE
                if fake.listing_attributes(sku) != expected:
                    wrong.append(sku)
            return wrong

        def ceiling(_calls: int) -> float:
            reads = fake.count(amazon_api.LISTINGS_PATH, method="GET")
            patches = fake.count(amazon_api.LISTINGS_PATH, method="PATCH")
            return max(0.0, (reads - 10) / 5.0) + max(0.0, (patches - 5) / 5.0)

        return run_mall(
            "Amazon",
            client,
            clock,
            rows,
            lambda: len(fake.requests),
            lambda: len(fake.requests.where(status=429)),
            ceiling,
            check,
        )


def yahoo(skus: int) -> Figures:
    clock = VirtualClock()
    with FakeYahooItems() as fake:
        fake.bucket_clock = clock
        codes = [f"item-{i:04d}" for i in range(skus)]
        for code in codes:
            fake.add_item(code, f"商品{code}", OLD_PRICE, headline="キャッチ", caption="<p>説明</p>")
        settings = yahoo_listings.Settings.model_validate(fake.mall_section())
        client = yahoo_listings.Listings(
            "yahoo",
            settings,
            session=requests.Session(),
            project_root=ROOT,
            sleep=clock.sleep,
            monotonic=clock,
        )
        rows = [
            listings.ListingRow(
                row=i + 2,
                mall="Yahoo!",
                sku=code,
                item_code=code,
                title=f"商品{code}",
                product_name=f"商品{code}",
                product_price=NEW_PRICE,
            )
            for i, code in enumerate(codes)
        ]

        def check() -> list[str]:
            wrong = []
            for code in codes:
                for view in (fake.item(code), fake.public(code)):  # saved, and what buyers see
                    if (view["price"], view["name"], view["headline"], view["caption"]) != (
                        str(NEW_PRICE),
                        f"商品{code}",
                        "キャッチ",
                        "<p>説明</p>",
                    ):
                        wrong.append(code)
            return wrong

        return run_mall(
            "Yahoo!",
            client,
            clock,
            rows,
            lambda: len(fake.requests.where(prefix=YAHOO_API)),  # not the YConnect token call
            lambda: len(fake.requests.where(status=429)),
            lambda calls: max(0.0, calls - 1.0),
            check,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=1000)
    args = parser.parse_args()
    figures = [shopify(args.skus), rakuten(args.skus), amazon(args.skus), yahoo(args.skus)]
    print(f"価格変更 {args.skus:,} SKU（読み込み → 差分 → 送信）、仮想時間")
    print("| モール | 呼び出し | 仮想時間 | 上限での最短 | 上限に対する割合 | 429 | 実時間 |")
    print("|---|---|---|---|---|---|---|")
    for f in figures:
        print(
            f"| {f.mall} | {f.calls:,} | {f.seconds:,.1f} 秒 | {f.ceiling_seconds:,.1f} 秒 | "
            f"{f.share:.1%} | {f.throttled} | {f.wall:.1f} 秒 |"
        )
    short = [f for f in figures if f.share < TARGET or f.throttled]
    if short:
        print(f"目標（上限の{TARGET:.0%}以上、429なし）に届かないモール: {', '.join(f.mall for f in short)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
