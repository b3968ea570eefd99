"""A 在庫 row whose SKU cannot be trusted never adds a second row nor pushes a guess; a broken
在庫 header stops stock, not orders. Against the Shopify fake, on both workbook adapters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.shopify_api import FakeShopify
from tests.shopify_shop import ShopifyShop, open_shopify_shop


@pytest.fixture
def shopify() -> Iterator[FakeShopify]:
    with FakeShopify() as server:
        yield server


@pytest.fixture
def shop(shopify: FakeShopify, harness: Any, tmp_path: Path) -> ShopifyShop:
    made = open_shopify_shop(shopify, tmp_path, harness.workbook)
    made.engine().run_once()  # malls in step: 18, 7, 5
    return made


def level(shop: ShopifyShop, sku: str) -> int | None:
    return shop.fake.inventory_level(shop.variants[sku].inventory_item_id)


def stock_problems(shop: ShopifyShop) -> list[str]:
    return [r.error for r in shop.tables()["同期ログ"].models() if r.job == "在庫更新（在庫）"]


def imported(shop: ShopifyShop) -> set[str]:
    return {o.order_number for o in shop.tables()["受注"].models()}


def test_a_blank_sku_cell_adds_no_second_row_and_pushes_nothing_for_it(
    shop: ShopifyShop, harness: Any
) -> None:
    assert level(shop, "TSH-WH-M") == 18
    shop.staff_edit("在庫", ("TSH-WH-M",), {"SKU": ""})  # a slip while editing the sheet
    before = harness.stored("在庫")
    order = shop.order(("TSH-WH-M", 2), ("TSH-NV-M", 1))
    report = shop.engine().run_once()
    assert str(order["id"]) in imported(shop)  # orders still go in
    stored = harness.stored("在庫")
    assert len(stored) == len(before)  # no second TSH-WH-M row with 安全在庫 0
    assert [r[0] for r in stored[1:]].count("TSH-WH-M") == 0
    assert level(shop, "TSH-WH-M") == 18  # not pushed: 16 would be 安全在庫 forgotten
    assert level(shop, "TSH-NV-M") == 6  # the other SKUs carry on
    (problem,) = stock_problems(shop)
    assert "「在庫」シート 2行目「SKU」列が空欄です" in problem
    assert any("2行目「SKU」列が空欄" in n for n in report.notes)

    shop.staff_edit("在庫", ("",), {"SKU": "TSH-WH-M"})  # fixed: the row's own 安全在庫 2 counts
    shop.engine().run_once()
    assert level(shop, "TSH-WH-M") == 20 - 2 - 2
    assert [r[0] for r in harness.stored("在庫")[1:]].count("TSH-WH-M") == 1


def test_a_sku_on_two_rows_is_neither_written_nor_pushed(shop: ShopifyShop, harness: Any) -> None:
    grid = harness.stored("在庫")
    header = grid[0]
    doubled = [""] * len(header)
    doubled[header.index("SKU")], doubled[header.index("実在庫")] = "TSH-WH-M", "12"
    harness.staff_put("在庫", [*grid, doubled])  # pasted one row too low
    before = {r[0]: r for r in harness.stored("在庫")[1:] if r[0] == "TSH-WH-M"}
    order = shop.order(("TSH-WH-M", 1), ("00123", 1))
    shop.engine().run_once()
    assert str(order["id"]) in imported(shop)
    assert level(shop, "TSH-WH-M") == 18 and level(shop, "00123") == 4
    rows = [r for r in harness.stored("在庫")[1:] if r[0] == "TSH-WH-M"]
    assert len(rows) == 2 and {r[0]: r for r in rows} == before  # neither row rewritten
    (problem,) = stock_problems(shop)
    assert f"「在庫」シート 2・{len(grid) + 1}行目「SKU」列: SKU「TSH-WH-M」が複数の行にあります" in problem
    assert not [p for p in shop.engine().plan_push() if p.sku == "TSH-WH-M"]  # the page's plan too


def test_a_broken_stock_header_stops_stock_not_orders(shop: ShopifyShop, harness: Any) -> None:
    grid = harness.stored("在庫")
    grid[0][grid[0].index("実在庫")] = "在庫数"
    harness.staff_put("在庫", grid)
    broken = harness.stored("在庫")
    order = shop.order(("TSH-NV-M", 2))
    report = shop.engine().run_once()
    assert str(order["id"]) in imported(shop)
    assert report.runs[0].result == "成功" and report.runs[0].created == 1
    assert harness.stored("在庫") == broken  # not written
    assert level(shop, "TSH-NV-M") == 7  # not pushed
    (problem,) = stock_problems(shop)
    assert "「在庫」シートを読めないため、在庫の更新とモールへの在庫送信をしていません" in problem
    assert "実在庫" in problem
