"""A cycle costs what changed: the ledger and the log are read from their marks, the ledger's
totals and per-order line state are kept in the same job, and a workbook made by an older
Ichigen (no marks, no kept totals) is upgraded in place on its first cycle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.workbook import Workbook
from sync.settlement import LEDGER_MARK, LOG_MARK
from tests.shop_fixtures import Shop, ledger_problems, open_shop, snapshot


class ReadLog:
    """The real workbook, with each read's tabs and row counts written down."""

    def __init__(self, inner: Workbook) -> None:
        self.inner = inner
        self.reads: list[dict[str, Grid]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read(self, titles: Sequence[str], **options: Any) -> dict[str, Grid]:
        grids = self.inner.read(titles, **options)
        self.reads.append(grids)
        return grids

    def rows_read(self, title: str) -> int:
        return sum(len(g[title].rows) for g in self.reads if title in g)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    shop = open_shop(SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}"), tmp_path / "malls")
    for _ in range(3):  # a history: orders, allocations, pushes, log rows
        shop.engine().run_once()
        shop.clock.advance(minutes=20)
    return shop


def _system(shop: Shop) -> dict[str, str]:
    return {r.key: r.value for r in shop.tables()["_システム"].models()}


def test_a_steady_cycle_reads_no_ledger_or_log_row_and_reads_each_tab_once(shop: Shop) -> None:
    tables = shop.tables()
    assert len(tables["在庫移動"].records) > 100 and len(tables["同期ログ"].grid.rows) > 4
    recorded = ReadLog(shop.workbook)
    engine = shop.engine()
    engine.workbook = recorded
    engine.run_once(fetch=False)  # the board's settle after a status change: the same path

    assert recorded.rows_read("在庫移動") == 0
    assert recorded.rows_read("同期ログ") == 0
    # One read to take the lease (_システム only), one for the job: no tab read twice.
    assert len(recorded.reads) == 2 and list(recorded.reads[0]) == ["_システム"]
    marks = _system(shop)
    assert int(marks[LEDGER_MARK]) == len(tables["在庫移動"].grid.rows) + 2
    assert int(marks[LOG_MARK]) == len(shop.tables()["同期ログ"].grid.rows) + 2
    assert ledger_problems(shop.tables()) == []


def test_a_staff_status_change_is_settled_from_the_kept_line_state(shop: Shop) -> None:
    order = next(o for o in shop.tables()["受注"].models() if o.status == "発送待ち" and o.allocates_stock)
    shop.staff_edit("受注", (order.mall, order.order_number), {"ステータス": "キャンセル"})
    before = len(shop.tables()["在庫移動"].records)
    report = shop.engine().run_once(fetch=False)

    released = shop.tables()["在庫移動"].models()[before:]
    assert report.movements == len(released) > 0
    assert {(m.kind, m.order_number) for m in released} == {("引当解除", order.order_number)}
    assert ledger_problems(shop.tables()) == []
    assert shop.engine().run_once(fetch=False).movements == 0  # settled once, not every cycle


def test_ledger_rows_appended_by_anything_else_are_folded_in_exactly_once(shop: Shop) -> None:
    tables = shop.tables()
    sku = tables["在庫"].models()[0].sku
    on_hand = tables["在庫"].models()[0].on_hand
    job = WriteJob()
    received = {"移動ID": "入庫:外部:1", "日時": shop.clock(), "SKU": sku, "区分": "入庫", "数量": 12}
    job.append(tables["在庫移動"], [received])
    shop.workbook.write(job)

    for _ in range(2):
        shop.engine().run_once(fetch=False)
        (stock,) = [s for s in shop.tables()["在庫"].models() if s.sku == sku]
        assert stock.on_hand == on_hand + 12
    assert ledger_problems(shop.tables()) == []


def _forget_kept_state(workbook: Workbook) -> None:
    """What a workbook made before the incremental cycle looks like: no marks, no totals."""
    tables = read_tables(workbook)
    job = WriteJob()
    for title in ("_台帳集計", "_受注在庫"):
        for record in tables[title]:
            job.set(tables[title], record.row, dict.fromkeys(tables[title].spec.headers, ""))
    system = tables["_システム"]
    for key in (LEDGER_MARK, LOG_MARK):
        row = system.find_row((key,))
        assert row is not None
        job.set(system, row, {"キー": "", "値": "", "更新日時": ""})
    workbook.write(job)


def test_an_older_workbook_is_upgraded_in_place_on_its_first_cycle(shop: Shop, tmp_path: Path) -> None:
    kept = {t: shop.tables()[t].models() for t in ("_台帳集計", "_受注在庫")}
    before = snapshot(shop.workbook)
    _forget_kept_state(shop.workbook)
    assert shop.tables()["_受注在庫"].models() == []

    report = shop.engine().run_once(fetch=False)
    assert report.movements == 0  # nothing is counted twice
    assert snapshot(shop.workbook) == before
    tables = shop.tables()
    assert ledger_problems(tables) == []
    assert {(b.sku, b.on_hand, b.allocated) for b in tables["_台帳集計"].models()} == {
        (b.sku, b.on_hand, b.allocated) for b in kept["_台帳集計"]
    }
    assert {(s.mall, s.order_number, s.settled_for, s.lines) for s in tables["_受注在庫"].models()} == {
        (s.mall, s.order_number, s.settled_for, s.lines) for s in kept["_受注在庫"]
    }
    # From then on the ledger is read from the mark again.
    recorded = ReadLog(shop.workbook)
    engine = shop.engine()
    engine.workbook = recorded
    engine.run_once(fetch=False)
    assert recorded.rows_read("在庫移動") == 0


class StaffTypesDuringTheWrite:
    """The real workbook; just before the first job that sets 在庫's 実在庫 lands, a person
    types a new count into that very row (as staff on Google Sheets do at any moment)."""

    def __init__(self, inner: Workbook, shop: Shop) -> None:
        self.inner, self.shop, self.typed = inner, shop, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, job: WriteJob) -> None:
        if self.typed is None:
            stock = self.shop.tables()["在庫"]
            on_hand = stock.column("実在庫")
            rows = [u.row for u in job.updates if u.tab == "在庫" and u.column == on_hand]
            if rows:
                record = next(r for r in stock if r.row == rows[0])
                self.typed = (record.value.sku, record.value.on_hand + 5)
                self.shop.staff_edit("在庫", (record.value.sku,), {"実在庫": self.typed[1]})
        self.inner.write(job)


def test_a_count_typed_while_a_cycle_writes_is_kept_and_settled_by_the_next_cycle(shop: Shop) -> None:
    from sheets_schema.errors import StaleWorkbookError

    sku = shop.tables()["在庫"].models()[0].sku
    shop.staff_edit("在庫", (sku,), {"実在庫": 3})  # the cycle will write this row back
    person = StaffTypesDuringTheWrite(shop.workbook, shop)
    engine = shop.engine()
    engine.workbook = person
    with pytest.raises(StaleWorkbookError):
        engine.run_once(fetch=False)
    assert person.typed is not None and person.typed[0] == sku
    assert {s.sku: s.on_hand for s in shop.tables()["在庫"].models()}[sku] == person.typed[1]

    engine.run_once(fetch=False)  # the same runner, next cycle: its lease is still its own
    tables = shop.tables()
    assert {s.sku: s.on_hand for s in tables["在庫"].models()}[sku] == person.typed[1]
    adjustments = [m for m in tables["在庫移動"].models() if m.sku == sku and m.kind == "手動調整"]
    assert adjustments[-1].note.endswith(f"→ {person.typed[1]} に変更（シートで手入力）")
    assert ledger_problems(tables) == []


def test_a_cycle_that_finds_nothing_writes_no_log_row_only_each_malls_heartbeat(shop: Shop) -> None:
    shop.engine().run_once()  # whatever the malls still had
    log_rows = len(shop.tables()["同期ログ"].grid.rows)
    report = shop.engine().run_once()  # same moment: nothing new at any mall
    assert len(report.runs) == 4 and all(r.created == r.updated == 0 for r in report.runs)
    assert len(shop.tables()["同期ログ"].grid.rows) == log_rows
    beats = {k: v for k, v in _system(shop).items() if k.startswith("最終取込:")}
    assert set(beats) == {f"最終取込:{m.channel}" for m in shop.malls}
    assert set(beats.values()) == {shop.clock().replace(microsecond=0).isoformat()}


def test_an_import_split_over_several_jobs_goes_on_from_the_cursor_each_job_wrote(tmp_path: Path) -> None:
    """More new orders than one job holds (``max_orders_per_job``): the cycle commits them in
    rounds, and each round asks the mall from the cursor the previous round wrote. (A round
    once started from the cursor read before the first write: the 10k-order bench mapped 21,202
    orders to create 10,000.)"""
    from settings import SyncSettings
    from tests.fakes.shopify_api import FakeShopify
    from tests.shopify_shop import _connector, open_shopify_shop

    with FakeShopify() as fake:
        shop = open_shopify_shop(fake, tmp_path)
        shop.sync = SyncSettings(lease_seconds=60, overlap_minutes=0)
        shop.connector = _connector(fake, shop.sleeps, page_size=5)
        placed = [shop.order(("TSH-WH-M", 1)) for _ in range(12)]
        report = shop.engine(max_orders_per_job=5).run_once(push=False)

        imports = [r for r in report.runs if r.job == "受注取込"]
        assert len(imports) == 3  # 5 + 5 + 2 orders, one job each
        assert sum(r.created for r in imports) == 12
        seen = sum(r.created + r.updated + r.duplicates_skipped for r in imports)
        assert seen <= 12 + len(imports)  # at most the boundary order again per round
        numbers = [o.order_number for o in shop.tables()["受注"].models()]
        assert sorted(numbers) == sorted(str(p["id"]) for p in placed)
