"""Engine-level faults against the 楽天 RMS fake over real HTTP, with a demo mall beside it: replays
change nothing, a crash at any write then a rerun equals an uninterrupted run, cancellations
release stock, unknown SKUs are imported and flagged, and 429/5xx from 楽天 never block the rest."""

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
from sync.connectors.rakuten import Connector as RakutenConnector
from sync.connectors.rakuten import Settings as RakutenSettings
from sync.engine import SyncEngine
from tests.fakes.rakuten_api import DEFAULT_LICENSE, DEFAULT_SECRET, SEARCH, FakeRakuten, Item
from tests.fakes.rakuten_api import GET as GET_ORDER
from tests.shop_fixtures import Clock, demo_malls, ledger_problems, snapshot, staff_edit
from tests.test_sync_crash import CrashingWorkbook, Killed

# SKU, 商品名, 販売価格, 実在庫, 安全在庫, 楽天の商品管理番号, SKU管理番号
CATALOGUE = (
    ("TSH-WH-M", "Tシャツ 白 M", 2980, 20, 2, "tshirt", "wh-m"),
    ("TSH-NV-M", "Tシャツ 紺 M", 2980, 8, 1, "tshirt", "nv-m"),
    ("00123", "手ぬぐい", 1100, 5, 0, "tenugui", "tenugui-1"),
)


@dataclass
class Mono:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RakutenShop:
    workbook: Workbook
    fake: FakeRakuten
    clock: Clock
    items: dict[str, Item]
    connector: RakutenConnector
    sync: SyncSettings

    def engine(self, connectors: list[Any] | None = None, **options: Any) -> SyncEngine:
        return SyncEngine(
            self.workbook, connectors or [self.connector], self.sync, clock=self.clock, **options
        )

    def tables(self) -> dict[str, Any]:
        return read_tables(self.workbook)

    def order(self, *lines: tuple[str, int]) -> str:
        made = self.fake.add_order([(self.items[sku], q) for sku, q in lines], at=self.clock())
        self.clock.advance(minutes=1)  # the engine fetches up to now: let the order be in the past
        return made["orderNumber"]

    def staff_edit(self, tab: str, key: tuple[str, ...], values: dict[str, Any]) -> None:
        staff_edit(self.workbook, tab, key, values)


def open_rakuten_shop(fake: FakeRakuten, folder: Path, workbook: Workbook | None = None) -> RakutenShop:
    clock = Clock()
    mono = Mono()
    fake.clock = clock
    fake.bucket_clock = mono
    workbook = workbook or SqlWorkbook(f"sqlite:///{folder / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    items: dict[str, Item] = {}
    job = WriteJob()
    for sku, name, price, on_hand, safety, manage, variant in CATALOGUE:
        items[sku] = Item(manage, variant, name, price)
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": price}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": safety}])
        listing = {"モール": "楽天", "SKU": sku, "モール商品コード": manage, "モールSKU": variant}
        job.append(tables["モール商品"], [listing])
    workbook.write(job)
    settings = RakutenSettings.model_validate(
        {
            "type": "rakuten",
            "base_url": fake.base_url,
            "service_secret": DEFAULT_SECRET,
            "license_key": DEFAULT_LICENSE,
            "max_retries": 2,
        }
    )
    connector = RakutenConnector(
        "rakuten",
        settings,
        session=requests.Session(),
        project_root=folder,
        sleep=mono.sleep,
        clock=clock,
        monotonic=mono,
    )
    clock.advance(minutes=1)
    return RakutenShop(workbook, fake, clock, items, connector, SyncSettings(lease_seconds=60))


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[RakutenShop]:
    with FakeRakuten() as fake:
        yield open_rakuten_shop(fake, tmp_path)


def cursor(shop: RakutenShop) -> str:
    return state.values(read_tables(shop.workbook)["_システム"]).get(state.cursor_key("rakuten"), "")


def imported(shop: RakutenShop) -> set[str]:
    return {o.order_number for o in shop.tables()["受注"].models() if o.mall == "楽天"}


def test_replaying_overlapping_windows_changes_nothing(shop: RakutenShop) -> None:
    numbers = [shop.order(("TSH-WH-M", 1)) for _ in range(3)]
    shop.engine().run_once()
    shop.fake.set_progress(numbers[0], 300, at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    assert {o.order_number: o.status for o in shop.tables()["受注"].models()}[numbers[0]] == "発送待ち"
    before = snapshot(shop.workbook)
    shop.staff_edit("_システム", ("カーソル:rakuten",), {"値": ""})
    report = shop.engine().run_once()
    assert report.created == 0 and report.movements == 0 and report.runs[0].duplicates_skipped == 3
    assert snapshot(shop.workbook) == before
    assert ledger_problems(shop.tables()) == []


def _crash_shop(folder: Path, fake: FakeRakuten) -> RakutenShop:
    shop = open_rakuten_shop(fake, folder)
    shop.order(("TSH-WH-M", 2), ("00123", 1))
    shop.order(("TSH-NV-M", 1))
    return shop


def _cycle_twice(shop: RakutenShop, first_workbook: Any) -> None:
    engine = shop.engine()
    engine.workbook = first_workbook
    with contextlib.suppress(Killed):
        engine.run_once()
    shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
    shop.engine().run_once()


def test_a_crash_before_or_after_any_write_then_a_rerun_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    with FakeRakuten() as fake:
        (tmp_path / "reference").mkdir()
        reference = _crash_shop(tmp_path / "reference", fake)
        counter = CrashingWorkbook(reference.workbook, crash_at=0, after=False)
        _cycle_twice(reference, counter)
        expected = snapshot(reference.workbook)
        assert counter.writes >= 3  # lease, import, push at least
        assert len(expected["受注"]) == 2 and expected["_在庫送信"]
    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"crash-{n}-{'after' if after else 'before'}"
            (tmp_path / name).mkdir()
            with FakeRakuten() as fake:
                shop = _crash_shop(tmp_path / name, fake)
                _cycle_twice(shop, CrashingWorkbook(shop.workbook, crash_at=n, after=after))
                assert snapshot(shop.workbook) == expected, name
                assert ledger_problems(read_tables(shop.workbook)) == []


def test_a_cancellation_after_import_releases_the_stock(shop: RakutenShop) -> None:
    number = shop.order(("TSH-WH-M", 3), ("00123", 1))
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (3, 1)
    assert shop.fake.inventory[("tshirt", "wh-m")] == 20 - 3 - 2
    shop.fake.cancel_order(number, at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (0, 0)
    assert shop.fake.inventory[("tshirt", "wh-m")] == 20 - 2
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == number]
    assert row.status == "キャンセル"
    assert ledger_problems(shop.tables()) == []


def test_an_unknown_sku_is_imported_and_flagged_without_blocking_the_batch(shop: RakutenShop) -> None:
    shop.items["FUKU-2027"] = Item("fukubukuro", "2027", "福袋", 5000)
    mixed = shop.order(("FUKU-2027", 1), ("TSH-WH-M", 1))
    plain = shop.order(("TSH-NV-M", 1))
    report = shop.engine().run_once()
    assert report.runs[0].created == 2 and report.runs[0].result == "成功"
    orders = {o.order_number: o for o in shop.tables()["受注"].models()}
    assert "SKU不明" in orders[mixed].review and not orders[plain].review
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 1  # the known line of the same order is allocated


@pytest.mark.parametrize("fault", [429, 500, 503])
def test_a_failing_rakuten_is_reported_and_never_blocks_the_others(
    shop: RakutenShop, fault: int, tmp_path: Path
) -> None:
    others = [m for m in demo_malls(tmp_path / "demo", shop.clock) if m.mall != "楽天"][:1]
    first = shop.order(("TSH-WH-M", 2))
    shop.engine([shop.connector, *others]).run_once()
    assert imported(shop) == {first}
    before = cursor(shop)

    second = shop.order(("TSH-NV-M", 1))
    shop.fake.inject_always(fault, paths=[SEARCH])
    report = shop.engine([shop.connector, *others]).run_once()
    runs = {r.channel: r for r in report.runs}
    assert runs["rakuten"].result == "失敗" and runs["rakuten"].error
    assert runs[others[0].channel].result == "成功"  # the other mall went on
    assert second not in imported(shop)
    assert cursor(shop) == before  # never past what was not imported

    shop.fake.clear_faults()
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    report = shop.engine([shop.connector, *others]).run_once()
    assert {r.channel: r.result for r in report.runs}["rakuten"] == "成功"
    assert imported(shop) == {first, second}
    assert ledger_problems(shop.tables()) == []


def test_older_orders_are_rechecked_on_their_cadence_after_stock_for_new_orders_went_out(
    shop: RakutenShop,
) -> None:
    # Calls are counted here: no 注文確認 (its own getOrder reads) in between.
    shop.connector.settings = shop.connector.settings.model_copy(update={"confirm_on_import": False})
    old = shop.order(("TSH-WH-M", 3))
    shop.engine().run_once()  # first run: looked back far enough, the next recheck is due later
    shop.clock.advance(minutes=30)
    shop.order(("00123", 1))  # a newer order moves the cursor past the old one's order time
    shop.engine().run_once()  # the first recheck: nothing changed, nothing logged
    shop.fake.cancel_order(old, at=shop.clock())
    shop.clock.advance(minutes=3)
    new = shop.order(("TSH-NV-M", 1))

    searches, reads = len(shop.fake.calls(SEARCH)), len(shop.fake.calls(GET_ORDER))
    report = shop.engine().run_once()  # 4 minutes after the recheck: new orders only
    assert report.created == 1 and new in imported(shop)
    assert len(shop.fake.calls(SEARCH)) - searches == 1  # today's window only, not 30 days
    assert len(shop.fake.calls(GET_ORDER)) - reads == 1
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 3  # the cancellation at the mall is not seen yet

    shop.clock.advance(minutes=10)
    reads = len(shop.fake.calls(GET_ORDER))
    report = shop.engine().run_once()
    # The fetch re-reads what its overlap window holds; the recheck reads the open orders at once.
    recheck = shop.fake.calls(GET_ORDER)[-1]
    assert sorted(recheck.body["orderNumberList"]) == sorted([old, *(imported(shop) - {old})])
    statuses = {o.order_number: o.status for o in shop.tables()["受注"].models()}
    assert statuses[old] == "キャンセル" and statuses[new] == "新規"
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 0
    assert shop.fake.inventory[("tshirt", "wh-m")] == 20 - 2  # pushed after the recheck
    log = shop.tables()["同期ログ"].models()
    assert [(r.job, r.updated) for r in log if r.job.startswith("受注再確認")] == [
        ("受注再確認（rakuten）", 1)
    ]
    assert ledger_problems(shop.tables()) == []


def _recheck_due_shop(folder: Path, fake: FakeRakuten) -> tuple[RakutenShop, str]:
    """A shop whose next cycle imports a new order and also rechecks, finding an older order
    cancelled at the mall: both kinds of job in one cycle."""
    shop = open_rakuten_shop(fake, folder)
    old = shop.order(("TSH-WH-M", 3), ("00123", 1))
    shop.order(("TSH-NV-M", 1))
    shop.engine().run_once()
    shop.clock.advance(minutes=30)
    shop.order(("00123", 1))  # the cursor moves past the old order's time
    shop.engine().run_once()  # the first recheck: nothing changed
    shop.fake.cancel_order(old, at=shop.clock())
    shop.clock.advance(minutes=shop.connector.settings.recheck_minutes + 1)
    shop.order(("TSH-NV-M", 2))
    return shop, old


def test_a_crash_at_any_write_of_a_cycle_with_a_due_recheck_then_a_rerun_matches(tmp_path: Path) -> None:
    """The crash-at-every-write test for the deferred recheck (楽天 re-reads open orders after the
    pushes for new orders, in jobs of its own): wherever the process dies, the rerun ends where
    an uninterrupted run does, the cancellation released once and pushed."""
    with FakeRakuten() as fake:
        (tmp_path / "reference").mkdir()
        reference, old = _recheck_due_shop(tmp_path / "reference", fake)
        counter = CrashingWorkbook(reference.workbook, crash_at=0, after=False)
        _cycle_twice(reference, counter)
        expected = snapshot(reference.workbook)
        statuses = {o.order_number: o.status for o in reference.tables()["受注"].models()}
        assert statuses[old] == "キャンセル" and len(statuses) == 4
        jobs = [r.job for r in reference.tables()["同期ログ"].models()]
        assert "受注再確認（rakuten）" in jobs  # the recheck ran in the measured cycle
        assert counter.writes >= 4  # lease, import, push, recheck at least
        mall = fake.inventory[("tshirt", "wh-m")]
    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"crash-{n}-{'after' if after else 'before'}"
            (tmp_path / name).mkdir()
            with FakeRakuten() as fake:
                shop, _ = _recheck_due_shop(tmp_path / name, fake)
                _cycle_twice(shop, CrashingWorkbook(shop.workbook, crash_at=n, after=after))
                assert snapshot(shop.workbook) == expected, name
                assert ledger_problems(read_tables(shop.workbook)) == []
                assert fake.inventory[("tshirt", "wh-m")] == mall, name
