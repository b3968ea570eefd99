"""Engine-level runs against the Amazon fake over real HTTP: replays change nothing, a crash at
any write then a rerun equals an uninterrupted run, cancellations release stock, unknown SKUs
are flagged, and a failing Amazon is reported without blocking the demo mall beside it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from settings import SyncSettings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.workbook import Workbook
from sync import state
from sync.connectors.amazon import Connector, Settings
from sync.engine import SyncEngine
from tests.fakes import amazon_api
from tests.fakes.amazon_api import FakeAmazon, FakeClock
from tests.shop_fixtures import Clock, demo_malls, ledger_problems, snapshot, staff_edit
from tests.test_sync_crash import CrashingWorkbook, Killed

CATALOGUE = (
    ("TSH-WH-M", "B0ICHIGEN1", "Tシャツ 白 M", 2980, 20, 2),
    ("TSH-NV-M", "B0ICHIGEN2", "Tシャツ 紺 M", 2980, 8, 1),
    ("00123", "B0ICHIGEN3", "手ぬぐい", 1100, 5, 0),
)


@dataclass
class AmazonShop:
    workbook: Any
    fake: FakeAmazon
    clock: Clock
    ticks: FakeClock
    connector: Connector
    sync: SyncSettings

    def engine(self, connectors: list[Any] | None = None) -> SyncEngine:
        return SyncEngine(self.workbook, connectors or [self.connector], self.sync, clock=self.clock)

    def tables(self) -> dict[str, Any]:
        return read_tables(self.workbook)

    def order(self, *lines: tuple[str, int], **options: Any) -> dict:
        made = self.fake.add_order(list(lines), at=self.clock(), **options)
        self.clock.advance(minutes=3)  # getOrders sees changes older than 2 minutes only
        return made


def open_amazon_shop(fake: FakeAmazon, ticks: FakeClock, workbook: Workbook) -> AmazonShop:
    clock = Clock()
    fake.clock = clock
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    for sku, asin, name, price, on_hand, safety in CATALOGUE:
        fake.add_listing(sku, asin, name, price)
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": price}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": safety}])
        job.append(
            tables["モール商品"],
            [{"モール": "Amazon", "SKU": sku, "モール商品コード": asin, "モールSKU": sku}],
        )
    workbook.write(job)
    settings = Settings.model_validate(fake.mall_section(max_retries=2, timeout_seconds=0.2))
    connector = Connector(
        "amazon",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=ticks.sleep,
        clock=clock,
        monotonic=ticks,
    )
    clock.advance(minutes=1)
    return AmazonShop(workbook, fake, clock, ticks, connector, SyncSettings(lease_seconds=60))


@contextlib.contextmanager
def amazon_shop(folder: Path, name: str = "wb") -> Iterator[AmazonShop]:
    ticks = FakeClock()
    with FakeAmazon(bucket_clock=ticks) as fake:
        fake.timeout_delay = 0.4
        yield open_amazon_shop(fake, ticks, SqlWorkbook(f"sqlite:///{folder / (name + '.sqlite3')}"))


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[AmazonShop]:
    with amazon_shop(tmp_path) as made:
        yield made


def imported(shop: AmazonShop) -> set[str]:
    return {o.order_number for o in shop.tables()["受注"].models() if o.mall == "Amazon"}


def cursor(shop: AmazonShop) -> str:
    return state.values(read_tables(shop.workbook)["_システム"]).get(state.cursor_key("amazon"), "")


def test_replaying_overlapping_windows_changes_nothing(shop: AmazonShop) -> None:
    made = [shop.order(("TSH-WH-M", 1)) for _ in range(3)]
    shop.engine().run_once()
    shop.fake.set_status(made[0]["AmazonOrderId"], "Shipped", at=shop.clock())
    shop.clock.advance(minutes=3)
    shop.engine().run_once()
    before = snapshot(shop.workbook)
    assert imported(shop) == {m["AmazonOrderId"] for m in made}
    staff_edit(shop.workbook, "_システム", ("カーソル:amazon",), {"値": ""})
    report = shop.engine().run_once()
    assert report.created == 0 and report.movements == 0 and report.runs[0].duplicates_skipped == 3
    assert snapshot(shop.workbook) == before


def test_a_cancellation_after_import_releases_the_stock(shop: AmazonShop) -> None:
    made = shop.order(("TSH-WH-M", 3), ("00123", 1))
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (3, 1)
    assert shop.fake.listing_quantity("TSH-WH-M") == 20 - 3 - 2
    shop.fake.set_status(made["AmazonOrderId"], "Canceled", at=shop.clock())
    shop.clock.advance(minutes=3)
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (0, 0)
    assert shop.fake.listing_quantity("TSH-WH-M") == 20 - 2
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == made["AmazonOrderId"]]
    assert row.status == "キャンセル"
    assert ledger_problems(shop.tables()) == []


def test_fba_orders_are_recorded_without_allocating(shop: AmazonShop) -> None:
    made = shop.order(("TSH-WH-M", 2), fba=True)
    shop.engine().run_once()
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == made["AmazonOrderId"]]
    assert not row.allocates_stock and "FBA" in row.review
    assert {s.sku: s for s in shop.tables()["在庫"].models()}["TSH-WH-M"].allocated == 0
    assert ledger_problems(shop.tables()) == []


def test_an_unknown_sku_is_imported_and_flagged_without_blocking_the_batch(shop: AmazonShop) -> None:
    shop.fake.add_listing("FUKU-2027", "B0FUKU", "福袋", 5000)
    mixed = shop.order(("FUKU-2027", 1), ("TSH-WH-M", 1))
    plain = shop.order(("TSH-NV-M", 1))
    report = shop.engine().run_once()
    assert report.runs[0].created == 2 and report.runs[0].result == "成功"
    orders = {o.order_number: o for o in shop.tables()["受注"].models()}
    assert "SKU不明" in orders[mixed["AmazonOrderId"]].review
    assert "SKU不明" not in orders[plain["AmazonOrderId"]].review
    assert {s.sku: s for s in shop.tables()["在庫"].models()}["TSH-WH-M"].allocated == 1


@pytest.mark.parametrize("fault", [429, 503])
def test_a_failing_amazon_is_reported_and_never_blocks_the_others(
    shop: AmazonShop, fault: int, tmp_path: Path
) -> None:
    first = shop.order(("TSH-WH-M", 2))
    demo = demo_malls(tmp_path / "demo", shop.clock)[:1]
    shop.engine([shop.connector, *demo]).run_once()
    before = cursor(shop)
    assert imported(shop) == {first["AmazonOrderId"]} and before
    second = shop.order(("TSH-NV-M", 1))
    shop.fake.inject_always(fault, paths=[amazon_api.ORDERS_PATH])
    report = shop.engine([shop.connector, *demo]).run_once()
    runs = {r.channel: r for r in report.runs}
    assert runs["amazon"].result == "失敗" and runs["amazon"].error
    assert runs["rakuten_demo"].result == "成功"
    assert second["AmazonOrderId"] not in imported(shop) and cursor(shop) == before
    shop.fake.clear_faults()
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    report = shop.engine([shop.connector, *demo]).run_once()
    assert {r.channel: r.result for r in report.runs}["amazon"] == "成功"
    assert imported(shop) == {first["AmazonOrderId"], second["AmazonOrderId"]}
    assert ledger_problems(shop.tables()) == []


def _scenario(shop: AmazonShop) -> None:
    shop.order(("TSH-WH-M", 2), ("00123", 1))
    shop.order(("TSH-NV-M", 1), fba=True)


def _cycle_twice(shop: AmazonShop, first_workbook: Any) -> None:
    engine = shop.engine()
    engine.workbook = first_workbook
    with contextlib.suppress(Killed):
        engine.run_once()
    shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
    shop.engine().run_once()
    # A push Amazon ACCEPTED is confirmed on the listing a cycle later; a run that crashed
    # before recording its push sends it again in the rerun, so one more cycle settles both.
    shop.clock.advance(minutes=1)
    shop.engine().run_once()


def test_a_crash_before_or_after_any_write_then_a_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    with amazon_shop(tmp_path, "reference") as reference:
        _scenario(reference)
        counter = CrashingWorkbook(reference.workbook, crash_at=0, after=False)
        _cycle_twice(reference, counter)
        expected = snapshot(reference.workbook)
    assert counter.writes >= 3
    assert any(expected["受注"]) and expected["_在庫送信"]
    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"crash-{n}-{'after' if after else 'before'}"
            with amazon_shop(tmp_path, name) as shop:
                _scenario(shop)
                _cycle_twice(shop, CrashingWorkbook(shop.workbook, crash_at=n, after=after))
                assert snapshot(shop.workbook) == expected, name
                assert ledger_problems(shop.tables()) == []


def test_the_window_never_reaches_into_the_last_two_minutes(shop: AmazonShop) -> None:
    shop.fake.add_order([("TSH-WH-M", 1)], at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    assert imported(shop) == set()
    assert all(r.status != 400 for r in shop.fake.requests)
    shop.clock.advance(minutes=3)
    shop.engine().run_once()
    assert len(imported(shop)) == 1
