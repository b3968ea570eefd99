"""在庫照合 through the real engine, the real connectors and the four fake malls over loopback
HTTP: every listing's live quantity read back, each difference recorded with its cause in
_在庫照合 (one job with a 同期ログ row per mall), faults on some listings reported while the
rest is still reconciled, and the one-click fixes (send ours, accept the mall's as 手動調整)
refused when what staff saw has changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from settings import SyncSettings
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import StockDrift
from shop import drift_fix
from sync import reconcile
from sync.connectors import amazon, rakuten, shopify, yahoo
from sync.engine import SyncEngine
from tests.fakes import amazon_api, rakuten_api, shopify_api, yahoo_api
from tests.fakes.amazon_api import FakeAmazon
from tests.fakes.rakuten_api import FakeRakuten
from tests.fakes.shopify_api import FakeShopify
from tests.fakes.toolkit.clock import VirtualClock
from tests.fakes.yahoo_api import FakeYahoo

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
SKUS = [f"TWL-{n}" for n in range(1, 7)]  # six SKUs at every mall


class Malls:
    def __init__(self) -> None:
        # One virtual clock for the fakes' rate limits and the connectors' buckets and sleeps:
        # the published limits hold, and waiting them out takes no time.
        self.clock = VirtualClock()
        self.rakuten = FakeRakuten(bucket_clock=self.clock)
        self.amazon = FakeAmazon(bucket_clock=self.clock)
        self.yahoo = FakeYahoo()
        self.yahoo.calls_per_second, self.yahoo.bucket_clock = 1.0, self.clock
        self.shopify = FakeShopify(bucket_clock=self.clock)
        self.variants: dict[str, shopify_api.Variant] = {}

    def __enter__(self) -> Malls:
        for fake in (self.rakuten, self.amazon, self.yahoo, self.shopify):
            fake.start()
        for sku in SKUS:
            self.amazon.add_listing(sku, f"B0{sku[-1]:0>8}", f"タオル {sku}", 1200)
            (self.variants[sku],) = self.shopify.add_product(f"タオル {sku}", [(sku, "", 1200)])
        return self

    def __exit__(self, *exc: object) -> None:
        for fake in (self.rakuten, self.amazon, self.yahoo, self.shopify):
            fake.stop()

    def connectors(self, tmp_path: Path) -> list:
        y = self.yahoo
        options = {"project_root": tmp_path, "sleep": self.clock.sleep, "monotonic": self.clock}
        return [
            rakuten.Connector(
                "rakuten",
                rakuten.Settings(
                    type="rakuten",
                    base_url=self.rakuten.base_url,
                    service_secret=rakuten_api.DEFAULT_SECRET,
                    license_key=rakuten_api.DEFAULT_LICENSE,
                    max_retries=1,
                ),
                session=requests.Session(),
                **options,
            ),
            amazon.Connector(
                "amazon",
                amazon.Settings(
                    type="amazon",
                    base_url=self.amazon.base_url,
                    lwa_token_url=self.amazon.token_url,
                    client_id=amazon_api.CLIENT_ID,
                    client_secret=amazon_api.CLIENT_SECRET,
                    refresh_token=amazon_api.REFRESH_TOKEN,
                    seller_id=amazon_api.SELLER_ID,
                    max_retries=1,
                ),
                session=requests.Session(),
                **options,
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
                    max_retries=1,
                ),
                session=requests.Session(),
                **options,
            ),
            shopify.Connector(
                "shopify",
                shopify.Settings(
                    type="shopify",
                    base_url=self.shopify.base_url,
                    access_token=shopify_api.DEFAULT_TOKEN,
                    max_retries=1,
                ),
                session=requests.Session(),
                **options,
            ),
        ]

    def listing_rows(self) -> list[dict]:
        rows = []
        for sku in SKUS:
            code = sku.lower().replace("-", "")
            rows += [
                {"モール": "楽天", "SKU": sku, "モール商品コード": code, "モールSKU": f"v{code}"},
                {"モール": "Amazon", "SKU": sku, "モール商品コード": f"B0{sku[-1]:0>8}", "モールSKU": sku},
                {"モール": "Yahoo!", "SKU": sku, "モール商品コード": code, "モールSKU": f"{code}-a"},
                {
                    "モール": "Shopify",
                    "SKU": sku,
                    "モール商品コード": str(self.variants[sku].product_id),
                    "モールSKU": sku,
                },
            ]
        return rows


@pytest.fixture
def malls() -> Iterator[Malls]:
    with Malls() as m:
        yield m


def _engine(workbook, connectors, clock=lambda: NOW) -> SyncEngine:
    return SyncEngine(workbook, connectors, SyncSettings(lease_seconds=60), clock=clock)


def _shop(harness, malls: Malls, tmp_path: Path) -> SyncEngine:
    workbook = harness.workbook
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables["商品"], [{"SKU": s, "商品名": f"タオル {s}", "販売価格": 1200} for s in SKUS])
    job.append(tables["在庫"], [{"SKU": s, "実在庫": 10, "安全在庫": 0} for s in SKUS])
    job.append(tables["モール商品"], malls.listing_rows())
    workbook.write(job)
    engine = _engine(workbook, malls.connectors(tmp_path))
    engine.run_once()  # pushes 10 everywhere
    return engine


def _drifts(workbook) -> dict[tuple[str, str], StockDrift]:
    table = read_tables(workbook, [reconcile.STOCK_DRIFTS])["_在庫照合"]
    return {(r.value.mall, r.value.sku): r.value for r in table}


def test_every_mall_is_read_back_and_each_difference_gets_its_cause(harness, malls, tmp_path) -> None:
    engine = _shop(harness, malls, tmp_path)
    assert malls.yahoo.stock["twl1:twl1-a"] == 10  # the push reached the fakes
    report = reconcile.reconcile(engine)
    assert report.checked == {"楽天": 6, "Amazon": 6, "Yahoo!": 6, "Shopify": 6}
    assert report.drifts() == 0 and _drifts(harness.workbook) == {}

    # Someone types 25 in 楽天's RMS; Yahoo! sells 2 units of TWL-2 (not imported yet); an
    # Amazon listing moved to FBA; Shopify's level for TWL-4 is gone from the location.
    malls.rakuten.inventory[("twl1", "vtwl1")] = 25
    malls.yahoo.stock["twl2:twl2-a"] = 8
    malls.amazon._listings["TWL-3"].fba = 40
    del malls.shopify._levels[(malls.variants["TWL-4"].inventory_item_id, malls.shopify.primary_location_id)]
    report = reconcile.reconcile(engine)
    found = _drifts(harness.workbook)
    assert (found[("楽天", "TWL-1")].cause, found[("楽天", "TWL-1")].difference) == ("モール側で変更", 15)
    assert found[("楽天", "TWL-1")].fix == "こちらの数を送る"
    assert (found[("Yahoo!", "TWL-2")].cause, found[("Yahoo!", "TWL-2")].live) == ("受注の取込待ち", 8)
    assert (found[("Amazon", "TWL-3")].cause, found[("Amazon", "TWL-3")].live) == ("FBA", 40)
    shop_row = found[("Shopify", "TWL-4")]
    assert shop_row.cause == reconcile.READ_FAILED and "ロケーション" in shop_row.error
    assert report.causes["楽天"]["一致"] == 5
    log = read_tables(harness.workbook, [reconcile.SYNC_LOG])["同期ログ"]
    rows = [r.value for r in log if r.value.job.startswith("在庫照合")]
    assert {r.mall for r in rows} == {"楽天", "Amazon", "Yahoo!", "Shopify"}
    shopify_log = next(r for r in rows if r.mall == "Shopify" and r.failed)
    assert shopify_log.result == "一部失敗" and shopify_log.fetched == 5

    # FBA summaries asked 50 SKUs at most, only for the FBA listing; Shopify 50 items a call.
    summaries = [c for c in malls.amazon.requests if c.path == amazon_api.FBA_SUMMARIES_PATH]
    assert summaries and summaries[-1].query["sellerSkus"] == ["TWL-3"]

    # The mall is put right: the next reconciliation marks the row 解消.
    malls.rakuten.inventory[("twl1", "vtwl1")] = 10
    reconcile.reconcile(engine)
    assert _drifts(harness.workbook)[("楽天", "TWL-1")].cause == reconcile.RESOLVED


def test_faults_on_some_listings_leave_the_rest_reconciled(harness, malls, tmp_path) -> None:
    engine = _shop(harness, malls, tmp_path)
    # Two Amazon listings answer 503 (past the one retry), Shopify throttles (429) every call.
    for sku in ("TWL-2", "TWL-5"):
        malls.amazon.inject_always(503, paths=[f"{amazon_api.LISTINGS_PATH}{amazon_api.SELLER_ID}/{sku}"])
    malls.shopify.inject_always(429, paths=["inventory_levels.json"])
    malls.rakuten.inventory[("twl6", "vtwl6")] = 99  # and one real difference
    report = reconcile.reconcile(engine)
    found = _drifts(harness.workbook)
    assert {k for k, v in found.items() if v.cause == reconcile.READ_FAILED} == {
        ("Amazon", "TWL-2"),
        ("Amazon", "TWL-5"),
        *(("Shopify", s) for s in SKUS),
    }
    assert report.causes["Amazon"]["一致"] == 4  # the other four Amazon listings were read
    assert found[("楽天", "TWL-6")].cause == "モール側で変更"
    assert "利用上限" in found[("Shopify", "TWL-1")].error
    assert report.causes["Yahoo!"]["一致"] == 6


def test_a_listing_with_sync_off_is_unlinked(harness, malls, tmp_path) -> None:
    engine = _shop(harness, malls, tmp_path)
    tables = read_tables(harness.workbook)
    listings = tables["モール商品"]
    row = next(r.row for r in listings if r.value.mall == "Yahoo!" and r.value.sku == "TWL-6")
    job = WriteJob()
    job.set(listings, row, {"在庫連携": "OFF"})
    harness.workbook.write(job)
    malls.yahoo.stock["twl6:twl6-a"] = 99
    reconcile.reconcile(engine)
    assert _drifts(harness.workbook)[("Yahoo!", "TWL-6")].cause == "未連携"


def test_watch_runs_it_beside_its_cycles_when_due(harness, malls, tmp_path) -> None:
    moments = [NOW]
    engine = _shop(harness, malls, tmp_path)
    engine.clock = lambda: moments[0]
    engine.keep_lease = True
    running = reconcile.Reconciliation(engine)
    try:
        assert "始めました" in running.step()
        running._running.result(timeout=60)  # the reading, in its thread
        assert "在庫照合:" in running.step()  # committed by the loop
        assert running.step() == ""  # not due again for reconcile_minutes
        moments[0] = NOW.replace(hour=11, minute=1)
        assert "始めました" in running.step()
    finally:
        running._running and running._running.result(timeout=60)
        running.close()
    stored = read_tables(harness.workbook, [reconcile.SYSTEM_STATE])["_システム"]
    assert any(r.value.key == reconcile.DONE_KEY for r in stored)


def _fix_tables(workbook):
    from sheets_schema.tabs import SET_COMPONENTS, STOCK, STOCK_MOVEMENTS, STOCK_PUSHES

    return read_tables(
        workbook, [reconcile.STOCK_DRIFTS, STOCK, STOCK_PUSHES, STOCK_MOVEMENTS, SET_COMPONENTS]
    )


def _stock(workbook, sku: str):
    return next(r.value for r in read_tables(workbook)["在庫"] if r.value.sku == sku)


def test_sending_ours_puts_the_mall_right_in_the_next_sync(harness, malls, tmp_path) -> None:
    engine = _shop(harness, malls, tmp_path)
    malls.rakuten.inventory[("twl1", "vtwl1")] = 25  # typed in RMS
    reconcile.reconcile(engine)
    seen = drift_fix.Seen.of(_drifts(harness.workbook)[("楽天", "TWL-1")])
    t = _fix_tables(harness.workbook)
    fix = drift_fix.send_ours(
        t["_在庫照合"], t["在庫"], t["_在庫送信"], seen, who="tencho@example.jp", now=NOW
    )
    assert not fix.refused
    harness.workbook.write(fix.job)
    engine.run_once(fetch=False)
    assert malls.rakuten.inventory[("twl1", "vtwl1")] == 10
    assert _drifts(harness.workbook)[("楽天", "TWL-1")].done.startswith("こちらの数を送信")
    # The same press again (the table not re-read) is refused: 処理 is no longer blank.
    t = _fix_tables(harness.workbook)
    again = drift_fix.send_ours(t["_在庫照合"], t["在庫"], t["_在庫送信"], seen, who="x", now=NOW)
    assert again.refused and "処理済み" in again.refused[0]
    reconcile.reconcile(engine)
    assert _drifts(harness.workbook)[("楽天", "TWL-1")].cause == reconcile.RESOLVED


def test_accepting_the_malls_number_is_a_manual_adjustment_that_reaches_the_other_malls(
    harness, malls, tmp_path
) -> None:
    engine = _shop(harness, malls, tmp_path)
    malls.yahoo.stock["twl3:twl3-a"] = 14  # counted again and typed in Yahoo!'s admin
    reconcile.reconcile(engine)
    seen = drift_fix.Seen.of(_drifts(harness.workbook)[("Yahoo!", "TWL-3")])
    assert seen.live == 14 and seen.available == 10
    t = _fix_tables(harness.workbook)
    args = (t["_在庫照合"], t["在庫"], t["_在庫送信"], t["在庫移動"], t["セット構成"], seen)
    assert drift_fix.accept_mall(*args, "", who="a", now=NOW).refused  # a reason is required
    fix = drift_fix.accept_mall(*args, "棚卸で14個あった", who="tencho@example.jp", now=NOW)
    assert not fix.refused
    harness.workbook.write(fix.job)
    engine.run_once(fetch=False)
    after = _stock(harness.workbook, "TWL-3")
    assert (after.on_hand, after.available) == (14, 14)
    moves = [m for m in read_tables(harness.workbook)["在庫移動"].models() if m.kind == "手動調整"]
    assert [(m.sku, m.quantity) for m in moves] == [("TWL-3", 4)] and "棚卸で14個あった" in moves[0].note
    assert malls.rakuten.inventory[("twl3", "vtwl3")] == 14  # the other malls follow
    assert malls.amazon.listing_quantity("TWL-3") == 14
    report = reconcile.reconcile(engine)
    assert report.drifts() == 0


def test_a_fix_stops_when_what_staff_saw_has_changed(harness, malls, tmp_path) -> None:
    from sheets_schema.errors import CellConflict, StaleWorkbookError

    engine = _shop(harness, malls, tmp_path)
    malls.yahoo.stock["twl4:twl4-a"] = 30
    reconcile.reconcile(engine)
    seen = drift_fix.Seen.of(_drifts(harness.workbook)[("Yahoo!", "TWL-4")])
    t = _fix_tables(harness.workbook)
    fix = drift_fix.accept_mall(
        t["_在庫照合"],
        t["在庫"],
        t["_在庫送信"],
        t["在庫移動"],
        t["セット構成"],
        seen,
        "数え直し",
        who="a",
        now=NOW,
    )
    # Meanwhile someone changes 実在庫 on the 在庫 sheet.
    stock = read_tables(harness.workbook)["在庫"]
    job = WriteJob()
    job.set(stock, next(r.row for r in stock if r.value.sku == "TWL-4"), {"実在庫": 12})
    harness.workbook.write(job)
    with pytest.raises((CellConflict, StaleWorkbookError)):
        harness.workbook.write(fix.job)
    assert not [
        m
        for m in read_tables(harness.workbook)["在庫移動"].models()
        if m.kind == "手動調整" and m.sku == "TWL-4" and "照合" in m.movement_id
    ]
