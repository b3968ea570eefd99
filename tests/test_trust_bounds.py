"""Quantities and yen have bounds (settings as data, defaults 9,999,999 and ¥999,999,999): a
cell, a file or a mall order beyond them is an error naming where, never pushed or imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from settings import load_settings
from sheets_schema.grid import Grid
from sheets_schema.models import Stock
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import PRODUCTS, STOCK
from shop import bulk_edit, bulk_upload
from sync.models import OrderLine, StockLevel
from tests.fakes.shopify_api import FakeShopify
from tests.shopify_shop import ShopifyShop, open_shopify_shop
from vocabulary import limits

ABSURD = "99999999999999999999"


@pytest.fixture
def bounds() -> Iterator[None]:
    previous = limits.current()
    yield
    limits.configure(previous.max_quantity, previous.max_yen)


def stock_grid(*rows: list[str]) -> Grid:
    width = len(STOCK.headers)
    return Grid("在庫", list(STOCK.headers), [[*r, *[""] * (width - len(r))] for r in rows])


def pad(cells: list[str]) -> list[str]:
    return [*cells, *[""] * (len(PRODUCTS.headers) - len(cells))]


def test_an_absurd_stock_count_is_a_row_error_naming_sheet_row_and_column() -> None:
    table = parse_grid(STOCK, stock_grid(["A", ABSURD], ["B", "-5"], ["C", "-10000000"], ["D", "9999999"]))
    assert [r.value.sku for r in table.records] == ["B", "D"]  # below zero stays possible
    assert table.records[0].value.on_hand == -5
    messages = [str(e) for e in table.errors]
    assert messages[0].startswith("「在庫」シート 2行目 「実在庫」列")
    assert "9,999,999以下の数を入力してください" in messages[0] and ABSURD in messages[0]
    assert messages[1].startswith("「在庫」シート 4行目 「実在庫」列")


def test_an_absurd_price_is_refused() -> None:
    grid = Grid(
        "商品",
        list(PRODUCTS.headers),
        [pad(["X", "タオル", "1000000000"]), pad(["Y", "タオル", "999999999"])],
    )
    table = parse_grid(PRODUCTS, grid)
    assert [r.value.sku for r in table.records] == ["Y"]
    assert "999,999,999円以下の金額を入力してください" in str(table.errors[0])


def test_the_bounds_are_settings(bounds: None) -> None:
    settings = load_settings({"limits": {"max_quantity": 100, "max_yen": 5000}})
    settings.limits.apply()
    assert Stock.model_validate({"SKU": "A", "実在庫": 100}).on_hand == 100
    with pytest.raises(ValidationError, match="100以下の数"):
        Stock.model_validate({"SKU": "A", "実在庫": 101})
    with pytest.raises(ValidationError, match="数量は100以下"):
        OrderLine(line_number=1, quantity=101, unit_price=10)
    with pytest.raises(ValidationError, match="金額は5,000円以下"):
        OrderLine(line_number=1, quantity=1, unit_price=5001)
    with pytest.raises(ValidationError):
        StockLevel(mall="楽天", sku="A", mall_item_code="a", quantity=101)
    assert load_settings({}).limits.max_quantity == 9_999_999


def test_a_csv_with_an_absurd_count_is_refused_naming_the_row(tmp_path: Path) -> None:
    grid = stock_grid(["A", "3", "0", "0", "3"])
    tables = {
        "在庫": parse_grid(STOCK, grid),
        "商品": parse_grid(PRODUCTS, Grid("商品", list(PRODUCTS.headers), [])),
    }
    plan = bulk_upload.plan_upload(tables, "棚卸.csv", f"SKU,実在庫\r\nA,{ABSURD}\r\n".encode())
    assert plan.errors and not plan.changes
    assert "2行目 「実在庫」列: 9,999,999以下の数を入力してください" in str(plan.errors[0])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[ShopifyShop]:
    with FakeShopify() as fake:
        made = open_shopify_shop(fake, tmp_path)
        made.engine().run_once()
        yield made


def level(shop: ShopifyShop, sku: str) -> Any:
    return shop.fake.inventory_level(shop.variants[sku].inventory_item_id)


def test_an_absurd_count_typed_in_the_sheet_is_never_pushed(shop: ShopifyShop) -> None:
    shop.staff_edit("在庫", ("TSH-WH-M",), {"実在庫": ABSURD})
    report = shop.engine().run_once()
    assert level(shop, "TSH-WH-M") == 18
    assert any("在庫シート 2行目は入力エラー" in n for n in report.notes)


def test_a_mall_order_with_an_absurd_quantity_is_reported_not_imported(shop: ShopifyShop) -> None:
    order = shop.order(("TSH-NV-M", 10**20))
    report = shop.engine().run_once()  # does not raise
    (run,) = report.runs
    assert run.result == "一部失敗" and "数量は9,999,999以下にしてください" in run.error
    assert str(order["id"]) in run.error
    assert str(order["id"]) not in {o.order_number for o in shop.tables()["受注"].models()}
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-NV-M"].allocated == 0 and level(shop, "TSH-NV-M") == 7


def _cursor(shop: ShopifyShop) -> str:
    from sheets_schema.book import read_tables
    from sync import state

    return state.values(read_tables(shop.workbook)["_システム"]).get(state.cursor_key("shopify"), "")


def test_an_absurd_order_does_not_hold_up_the_orders_after_it_and_is_reported_until_fixed(
    shop: ShopifyShop,
) -> None:
    from datetime import datetime

    before = shop.order(("TSH-WH-M", 1))
    absurd = shop.order(("TSH-NV-M", 10**20))
    after = shop.order(("TSH-WH-M", 2))
    (run,) = shop.engine().run_once().runs
    assert run.result == "一部失敗" and run.created == 2 and run.failed == 1
    assert f"Shopifyの注文 {absurd['id']} を取り込めませんでした" in run.error
    assert "数量は9,999,999以下にしてください" in run.error
    imported = {o.order_number for o in shop.tables()["受注"].models()}
    assert {str(before["id"]), str(after["id"])} <= imported and str(absurd["id"]) not in imported
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 3  # the order after the bad one allocated its stock
    # The cursor stays at the bad order, so the next cycle sees it again (and reports it again)
    assert datetime.fromisoformat(_cursor(shop)) <= datetime.fromisoformat(absurd["updated_at"])

    from shop.orders.board import build_board

    (queued,) = [i for i in build_board(shop.tables()).queue if i.kind == "取込エラー"]
    assert (queued.mall, queued.order_number) == ("Shopify", str(absurd["id"]))
    assert "Shopifyの管理画面で注文内容を確かめて直してください" in queued.action

    shop.clock.advance(minutes=1)
    (again,) = shop.engine().run_once().runs
    assert again.result == "一部失敗" and str(absurd["id"]) in again.error
    assert again.created == 0 and again.updated == 0
    assert len(shop.tables()["受注"].models()) == len(imported)  # nothing doubled

    fixed_lines = absurd["line_items"]
    fixed_lines[0]["quantity"] = fixed_lines[0]["current_quantity"] = 1
    shop.fake.modify_order(absurd["id"], line_items=fixed_lines, total_price="3780", at=shop.clock())
    shop.clock.advance(minutes=1)
    (fixed,) = shop.engine().run_once().runs
    assert fixed.result == "成功" and fixed.created == 1, fixed.error
    assert str(absurd["id"]) in {o.order_number for o in shop.tables()["受注"].models()}
    assert datetime.fromisoformat(_cursor(shop)) > datetime.fromisoformat(absurd["updated_at"])
    assert not [i for i in build_board(shop.tables()).queue if i.kind == "取込エラー"]


def test_the_stock_editor_shows_an_absurd_count_blank_instead_of_failing() -> None:
    table = parse_grid(STOCK, stock_grid(["A", ABSURD], ["B", "-5"], ["C", "1e30"], ["D", "12"]))
    frame = bulk_edit.editor_frame(table)
    assert frame["実在庫"].isna().tolist() == [True, False, True, False]
    assert frame["実在庫"].dropna().tolist() == [-5, 12]
