"""Staff editing the sheet while a sync job runs (between its read and its write), on both
adapters: the job refuses to write over a moved row or a typed cell, and the next cycle does
the right thing with what staff left.

- A row inserted above the orders must not turn a cancellation meant for one order into a
  cancellation of its neighbour, nor let a new order overwrite an existing one.
- A count typed into 実在庫 during the job is kept and recorded as a 手動調整.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sheets_schema.errors import StaleWorkbookError
from sheets_schema.workbook import Workbook
from tests.fakes.shopify_api import FakeShopify
from tests.shop_fixtures import ledger_problems
from tests.shopify_shop import ShopifyShop, open_shopify_shop

# The Sheets- and PostgreSQL-only workbooks, and the hybrid of Sheets (staff tabs) and PostgreSQL.
HARNESS_BACKENDS = ("sql", "google", "hybrid")


class PersonEditsBeforeWrite:
    """The workbook, with a person's edit landing just before the job's n-th write."""

    def __init__(self, inner: Workbook, edit: Callable[[], None], at_write: int = 1) -> None:
        self.inner, self.edit, self.at_write, self.writes = inner, edit, at_write, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def info(self) -> Any:
        return self.inner.info

    def write(self, job: Any) -> None:
        self.writes += 1
        if self.writes == self.at_write:
            self.edit()
        self.inner.write(job)


def _insert_staff_order_at_top(harness: Any) -> None:
    """Staff insert a phone order above the data, as with 「上に1行挿入」 in Sheets."""
    stored = harness.stored("受注")
    header = stored[0]
    row = [""] * len(header)
    typed = {"モール": "電話", "注文番号": "T-0999", "注文日時": "2026-11-30 14:05:00", "ステータス": "新規"}
    typed |= {"購入者名": "電話注文", "合計金額": "3300", "在庫引当": "OFF"}
    for column, value in typed.items():
        row[header.index(column)] = value
    harness.staff_put("受注", [header, row, *stored[1:]])


def _statuses(shop: ShopifyShop) -> dict[str, str]:
    return {o.order_number: o.status for o in shop.tables()["受注"].models()}


def _cycle_with_edit(shop: ShopifyShop, edit: Callable[[], None]) -> None:
    """A cycle whose import job meets the edit; it refuses and the next cycle (another runner,
    seconds later) runs clean."""
    engine = shop.engine()
    engine.workbook = PersonEditsBeforeWrite(shop.workbook, edit, at_write=2)  # 1: the lease
    with pytest.raises(StaleWorkbookError):
        engine.run_once()
    # The refused one-shot cycle gave its lease back: the next runs at once, not after expiry.
    shop.clock.advance(seconds=5)
    shop.engine().run_once()


def test_a_row_inserted_during_a_job_never_moves_a_cancellation_onto_another_order(
    harness: Any, tmp_path: Path
) -> None:
    with FakeShopify() as fake:
        shop = open_shopify_shop(fake, tmp_path, workbook=harness.workbook)
        first = shop.order(("TSH-WH-M", 1))
        second = shop.order(("TSH-WH-M", 2))
        shop.engine().run_once()
        fake.cancel_order(first["id"], at=shop.clock())
        third = shop.order(("00123", 1))  # and a new order in the same job

        _cycle_with_edit(shop, lambda: _insert_staff_order_at_top(harness))

        statuses = _statuses(shop)
        assert statuses == {
            "T-0999": "新規",
            str(first["id"]): "キャンセル",
            str(second["id"]): "新規",
            str(third["id"]): "新規",
        }
        numbers = [row[1] for row in harness.stored("受注")[1:]]
        assert len(numbers) == len(set(numbers)) == 4  # no order written twice or over another
        tables = shop.tables()
        assert tables["受注"].errors == []
        stock = {s.sku: (s.on_hand, s.allocated) for s in tables["在庫"].models()}
        assert stock["TSH-WH-M"] == (20, 2) and stock["00123"] == (5, 1)
        assert ledger_problems(tables) == []


def test_a_count_typed_into_stock_during_a_job_is_kept_and_recorded(harness: Any, tmp_path: Path) -> None:
    with FakeShopify() as fake:
        shop = open_shopify_shop(fake, tmp_path, workbook=harness.workbook)
        shop.engine().run_once()
        shop.order(("TSH-WH-M", 3))  # the job will write 在庫's TSH-WH-M row

        def count_311() -> None:
            stored = harness.stored("在庫")
            header = stored[0]
            rows = [list(r) + [""] * (len(header) - len(r)) for r in stored[1:]]
            for row in rows:
                if row[header.index("SKU")] == "TSH-WH-M":
                    row[header.index("実在庫")] = "311"
            harness.staff_put("在庫", [header, *rows])

        _cycle_with_edit(shop, count_311)

        tables = shop.tables()
        row = next(s for s in tables["在庫"].models() if s.sku == "TSH-WH-M")
        assert (row.on_hand, row.allocated, row.available) == (311, 3, 311 - 3 - 2)
        adjustments = [m for m in tables["在庫移動"].models() if m.kind == "手動調整" and m.sku == "TSH-WH-M"]
        assert [m.quantity for m in adjustments] == [311 - 20]
        assert fake.inventory_level(shop.variants["TSH-WH-M"].inventory_item_id) == 311 - 3 - 2
        assert ledger_problems(tables) == []
