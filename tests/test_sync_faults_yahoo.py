"""Engine-level faults against the Yahoo! fake over real HTTP, with a demo mall beside it: a failing
Yahoo! never blocks the other mall nor moves its cursor; replays and crashes change nothing;
cancellations release stock; unknown item codes are imported and flagged."""

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
from sync.connectors.yahoo import Connector, Settings
from sync.engine import SyncEngine
from tests.fakes.yahoo_api import FakeYahoo, Item
from tests.shop_fixtures import Clock, demo_malls, ledger_problems, snapshot, staff_edit
from tests.test_sync_crash import CrashingWorkbook, Killed

# SKU, name, price, 実在庫, 安全在庫, Yahoo! ItemId, SubCode
CATALOGUE = (
    ("TSH-WH-M", "Tシャツ 白 M", 2980, 20, 2, "tshirt", "tshirt-wh-m"),
    ("TSH-NV-M", "Tシャツ 紺 M", 2980, 8, 1, "tshirt", "tshirt-nv-m"),
    ("00123", "手ぬぐい", 1100, 5, 0, "tenugui", ""),
)
ITEMS = {sku: (code, sub, name, price) for sku, name, price, _, _, code, sub in CATALOGUE}


@dataclass
class YahooShop:
    workbook: Workbook
    fake: FakeYahoo
    clock: Clock
    connector: Connector
    sync: SyncSettings

    def engine(self, connectors: list[Any] | None = None, workbook: Any = None) -> SyncEngine:
        return SyncEngine(
            workbook or self.workbook, connectors or [self.connector], self.sync, clock=self.clock
        )

    def tables(self) -> dict[str, Any]:
        return read_tables(self.workbook)

    def order(self, *lines: tuple[str, int]) -> str:
        items = [
            Item(*ITEMS[sku][:3], price=ITEMS[sku][3], quantity=q) if sku in ITEMS else stranger(q)
            for sku, q in lines
        ]
        made = self.fake.add_order(items, at=self.clock())
        self.clock.advance(minutes=1)  # the engine fetches up to now: let the order be in the past
        return made["OrderId"]

    def reconnect(self, **overrides: Any) -> None:
        self.connector = connector_for(self.fake, self.clock, **overrides)


def stranger(quantity: int) -> Item:
    return Item("fukubukuro-2027", "", "福袋", 5000, quantity)


def connector_for(fake: FakeYahoo, clock: Clock, **overrides: Any) -> Connector:
    settings = Settings.model_validate(fake.mall_section(**{"max_retries": 2, **overrides}))
    sleeps: list[float] = []
    return Connector(
        "yahoo",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=sleeps.append,
        clock=clock,
    )


def open_yahoo_shop(fake: FakeYahoo, folder: Path, name: str = "wb") -> YahooShop:
    clock = Clock()
    fake.clock = clock
    workbook = SqlWorkbook(f"sqlite:///{folder / f'{name}.sqlite3'}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    for sku, title, price, on_hand, safety, code, sub in CATALOGUE:
        job.append(tables["商品"], [{"SKU": sku, "商品名": title, "販売価格": price}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": safety}])
        listing = {"モール": "Yahoo!", "SKU": sku, "モール商品コード": code, "モールSKU": sub}
        job.append(tables["モール商品"], [listing])
    workbook.write(job)
    clock.advance(minutes=1)
    return YahooShop(workbook, fake, clock, connector_for(fake, clock), SyncSettings(lease_seconds=60))


@pytest.fixture
def fake() -> Iterator[FakeYahoo]:
    with FakeYahoo() as server:
        yield server


@pytest.fixture
def shop(fake: FakeYahoo, tmp_path: Path) -> YahooShop:
    return open_yahoo_shop(fake, tmp_path)


def cursor(shop: YahooShop) -> str:
    return state.values(read_tables(shop.workbook)["_システム"]).get(state.cursor_key("yahoo"), "")


def imported(shop: YahooShop) -> set[str]:
    return {o.order_number for o in shop.tables()["受注"].models() if o.mall == "Yahoo!"}


@pytest.mark.parametrize("fault", [429, 500, 503, "timeout", "malformed"])
def test_a_failing_yahoo_is_reported_backs_off_and_never_blocks_the_others(
    shop: YahooShop, fault: int | str, tmp_path: Path
) -> None:
    shop.fake.timeout_delay = 0.4
    shop.reconnect(timeout_seconds=0.1)
    first = shop.order(("TSH-WH-M", 2))
    demo = demo_malls(tmp_path / "demo", shop.clock)[:1]
    shop.engine([shop.connector, *demo]).run_once()
    assert imported(shop) == {first}
    before = cursor(shop)
    assert before

    second = shop.order(("TSH-NV-M", 1))
    shop.fake.inject_always(fault, paths=["orderList"])
    report = shop.engine([shop.connector, *demo]).run_once()
    runs = {r.channel: r for r in report.runs}
    assert runs["yahoo"].result == "失敗" and runs["yahoo"].error
    assert runs["rakuten_demo"].result == "成功"
    assert second not in imported(shop) and cursor(shop) == before

    shop.fake.clear_faults()
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    report = shop.engine([shop.connector, *demo]).run_once()
    assert {r.channel: r.result for r in report.runs}["yahoo"] == "成功"
    assert imported(shop) == {first, second}
    assert ledger_problems(shop.tables()) == []


def test_a_failed_push_is_reported_per_sku_without_blocking_and_sent_again(shop: YahooShop) -> None:
    shop.fake.inject_always(503, paths=["setStock"])
    report = shop.engine().run_once()
    assert report.runs and report.pushes and not any(p.ok for p in report.pushes)
    assert {p.state for p in shop.tables()["_在庫送信"].models()} == {"失敗"}
    shop.fake.clear_faults()
    report = shop.engine().run_once()
    assert len(report.pushes) == 3 and all(p.ok for p in report.pushes)
    assert shop.fake.stock == {"tshirt:tshirt-wh-m": 18, "tshirt:tshirt-nv-m": 7, "tenugui": 5}


def test_a_cancellation_after_import_releases_the_stock(shop: YahooShop) -> None:
    order_id = shop.order(("TSH-WH-M", 3), ("00123", 1))
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (3, 1)
    assert shop.fake.stock["tshirt:tshirt-wh-m"] == 20 - 3 - 2
    shop.fake.cancel_order(order_id, at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (0, 0)
    assert shop.fake.stock["tshirt:tshirt-wh-m"] == 20 - 2
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == order_id]
    assert row.status == "キャンセル"
    assert ledger_problems(shop.tables()) == []


def test_an_unknown_item_code_is_imported_and_flagged_without_blocking_the_batch(shop: YahooShop) -> None:
    mixed = shop.order(("FUKU", 1), ("TSH-WH-M", 1))
    plain = shop.order(("TSH-NV-M", 1))
    report = shop.engine().run_once()
    assert report.runs[0].created == 2 and report.runs[0].result == "成功"
    orders = {o.order_number: o for o in shop.tables()["受注"].models()}
    assert "SKU不明" in orders[mixed].review and not orders[plain].review
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 1


def test_replaying_overlapping_windows_changes_nothing(shop: YahooShop) -> None:
    ids = [shop.order(("TSH-WH-M", 1)) for _ in range(3)]
    shop.engine().run_once()
    shop.fake.update_order(ids[0], at=shop.clock(), PayStatus="0")
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    before = snapshot(shop.workbook)
    staff_edit(shop.workbook, "_システム", ("カーソル:yahoo",), {"値": ""})
    report = shop.engine().run_once()
    assert report.created == 0 and report.movements == 0 and report.runs[0].duplicates_skipped == 3
    assert snapshot(shop.workbook) == before


def crash_scenario(folder: Path, name: str, crash_at: int, after: bool) -> tuple[dict, int]:
    """Two orders and a cycle (maybe killed at the n-th write), then a cycle after the lease."""
    with FakeYahoo() as fake:
        shop = open_yahoo_shop(fake, folder, name)
        shop.order(("TSH-WH-M", 2), ("00123", 1))
        shop.order(("FUKU", 1), ("TSH-NV-M", 1))
        crashing = CrashingWorkbook(shop.workbook, crash_at=crash_at, after=after)
        with contextlib.suppress(Killed):
            shop.engine(workbook=crashing).run_once()
        shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
        shop.engine().run_once()
        assert ledger_problems(shop.tables()) == [], name
        return snapshot(shop.workbook), crashing.writes


def test_a_crash_before_or_after_any_write_then_a_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    expected, writes = crash_scenario(tmp_path, "reference", crash_at=0, after=False)
    assert writes >= 3  # lease, import, push at least
    assert expected["受注"] and expected["_在庫送信"]
    for n in range(1, writes + 1):
        for after in (False, True):
            name = f"crash-{n}-{'after' if after else 'before'}"
            got, _ = crash_scenario(tmp_path, name, crash_at=n, after=after)
            assert got == expected, name
