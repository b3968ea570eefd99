"""Engine-level faults against the Shopify fake over real HTTP, with a demo mall beside it:
one mall failing never blocks the other, never moves its cursor past unprocessed orders, and is
reported and retried; cancellations and unknown SKUs are handled; replays change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sheets_schema.book import read_tables
from sync import state
from tests.fakes.shopify_api import FakeShopify
from tests.shop_fixtures import demo_malls, ledger_problems, snapshot
from tests.shopify_shop import ShopifyShop, open_shopify_shop


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify() as server:
        yield server


@pytest.fixture
def shop(fake: FakeShopify, tmp_path: Path) -> ShopifyShop:
    return open_shopify_shop(fake, tmp_path)


def cursor(shop: ShopifyShop) -> str:
    return state.values(read_tables(shop.workbook)["_システム"]).get(state.cursor_key("shopify"), "")


def imported(shop: ShopifyShop) -> set[str]:
    return {o.order_number for o in shop.tables()["受注"].models() if o.mall == "Shopify"}


@pytest.mark.parametrize("fault", [429, 500, 503, "timeout", "malformed"])
def test_a_failing_mall_is_reported_backs_off_and_never_blocks_the_others(
    shop: ShopifyShop, fault: int | str, tmp_path: Path
) -> None:
    shop.fake.timeout_delay = 0.6
    shop.reconnect(timeout_seconds=0.2)
    first = shop.order(("TSH-WH-M", 2))
    demo = demo_malls(tmp_path / "demo", shop.clock)[:1]
    shop.engine([shop.connector, *demo]).run_once()
    assert imported(shop) == {str(first["id"])}
    before = cursor(shop)

    second = shop.order(("TSH-NV-M", 1))
    shop.fake.inject_always(fault, paths=["/admin/api/2024-10/orders.json"])
    report = shop.engine([shop.connector, *demo]).run_once()
    runs = {r.channel: r for r in report.runs}
    assert runs["shopify"].result == "失敗" and runs["shopify"].error
    assert runs["rakuten_demo"].result == "成功"  # the other mall went on
    assert str(second["id"]) not in imported(shop)
    assert cursor(shop) == before  # never past what was not imported
    waiting = state.Backoff.decode(state.values(read_tables(shop.workbook)["_システム"])["待機:shopify"])
    assert waiting is not None and waiting.failures == 1

    shop.fake.clear_faults()
    report = shop.engine([shop.connector, *demo]).run_once()  # still inside the backoff: reported
    assert {r.channel: r for r in report.runs}["shopify"].error.startswith("1回続けて失敗したため")
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    report = shop.engine([shop.connector, *demo]).run_once()
    assert {r.channel: r.result for r in report.runs}["shopify"] == "成功"
    assert imported(shop) == {str(first["id"]), str(second["id"])}
    assert ledger_problems(shop.tables()) == []
    log = [
        r for r in shop.tables()["同期ログ"].models() if r.mall == "Shopify" and r.job.startswith("受注取込")
    ]
    assert [r.result for r in log] == ["成功", "失敗", "失敗", "成功"]


def test_a_fault_in_the_middle_of_paging_keeps_the_pages_before_it(shop: ShopifyShop) -> None:
    shop.reconnect(page_size=2)
    orders = [shop.order(("TSH-WH-M", 1)) for _ in range(5)]
    # Shopify breaks down after two pages, for longer than the connector's retries.
    shop.fake.after_pages(2, lambda: shop.fake.inject_always(500, paths=["/admin/api/2024-10/orders.json"]))
    report = shop.engine().run_once()
    run = report.runs[0]
    assert run.result == "一部失敗" and run.created == 4
    assert cursor(shop)  # moved to the last committed page
    shop.fake.clear_faults()
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    report = shop.engine().run_once()
    assert imported(shop) == {str(o["id"]) for o in orders}
    assert ledger_problems(shop.tables()) == []


def test_auth_errors_are_explained(shop: ShopifyShop) -> None:
    shop.order(("TSH-WH-M", 1))
    shop.fake.access_token = "rotated"
    run = shop.engine().run_once().runs[0]
    assert run.result == "失敗" and "認証に失敗しました" in run.error


def test_a_cancellation_after_import_releases_the_stock(shop: ShopifyShop) -> None:
    order = shop.order(("TSH-WH-M", 3), ("00123", 1))
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (3, 1)
    assert shop.fake.inventory_level(shop.variants["TSH-WH-M"].inventory_item_id) == 20 - 3 - 2
    shop.fake.cancel_order(order["id"], at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert (stock["TSH-WH-M"].allocated, stock["00123"].allocated) == (0, 0)
    assert shop.fake.inventory_level(shop.variants["TSH-WH-M"].inventory_item_id) == 20 - 2
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == str(order["id"])]
    assert row.status == "キャンセル"
    assert ledger_problems(shop.tables()) == []


def test_an_unknown_sku_is_imported_and_flagged_without_blocking_the_batch(shop: ShopifyShop) -> None:
    (stranger,) = shop.fake.add_product("福袋", [("FUKU-2027", "", 5000)])
    shop.variants["FUKU-2027"] = stranger
    mixed = shop.order(("FUKU-2027", 1), ("TSH-WH-M", 1))
    plain = shop.order(("TSH-NV-M", 1))
    report = shop.engine().run_once()
    assert report.runs[0].created == 2 and report.runs[0].result == "成功"
    orders = {o.order_number: o for o in shop.tables()["受注"].models()}
    assert "SKU不明" in orders[str(mixed["id"])].review and not orders[str(plain["id"])].review
    stock = {s.sku: s for s in shop.tables()["在庫"].models()}
    assert stock["TSH-WH-M"].allocated == 1  # the known line of the same order is allocated


def test_replaying_overlapping_windows_changes_nothing(shop: ShopifyShop) -> None:
    for _ in range(3):
        shop.order(("TSH-WH-M", 1))
    shop.engine().run_once()
    shop.fake.set_financial_status(int(next(iter(imported(shop)))), "refunded", at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    before = snapshot(shop.workbook)
    shop.staff_edit("_システム", ("カーソル:shopify",), {"値": ""})
    report = shop.engine().run_once()
    assert report.created == 0 and report.movements == 0 and report.runs[0].duplicates_skipped == 3
    assert snapshot(shop.workbook) == before


def test_a_failed_push_is_recorded_per_sku_and_sent_again(shop: ShopifyShop) -> None:
    shop.fake.inject_always(503, paths=["/admin/api/2024-10/inventory_levels/set.json"])
    report = shop.engine().run_once()
    assert report.pushes and not any(p.ok for p in report.pushes)
    pushes = shop.tables()["_在庫送信"].models()
    assert {p.state for p in pushes} == {"失敗"} and all(p.error for p in pushes)
    plan = shop.engine().plan_push()
    assert {p.reason for p in plan} == {"前回失敗の再送"}
    shop.fake.clear_faults()
    report = shop.engine().run_once()
    assert len(report.pushes) == 3 and all(p.ok for p in report.pushes)
    assert shop.fake.inventory_level(shop.variants["TSH-NV-M"].inventory_item_id) == 8 - 1
    assert shop.engine().plan_push() == []
