"""What staff typed on 受注 survives every mall update: 配送会社, 追跡番号, 出荷連絡, 備考,
ステータス where a person set it, and columns they added. Only the mall's own columns change.

Against the Shopify fake (on both workbook adapters) and the Yahoo! fake, over loopback HTTP:
after the shipment was confirmed, and in the same cycle as the staff's tracking number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.shopify_api import FakeShopify
from tests.fakes.yahoo_api import FakeYahoo
from tests.shop_fixtures import ledger_problems, staff_edit
from tests.shopify_shop import ShopifyShop, open_shopify_shop
from tests.test_sync_faults_yahoo import YahooShop, open_yahoo_shop

# The Sheets- and PostgreSQL-only workbooks, and the hybrid of Sheets (staff tabs) and PostgreSQL.
HARNESS_BACKENDS = ("sql", "google", "hybrid")

STAFF = {
    "ステータス": "出荷済",
    "配送会社": "ヤマト運輸",
    "追跡番号": "4444-5555-6666",
    "備考": "ギフト包装",
    "同梱": "同梱-20261207-TEST",  # a 同梱 group id: one box, kept like the rest
}
OWN_COLUMN = "社内メモ"


@pytest.fixture
def shopify() -> Iterator[FakeShopify]:
    with FakeShopify() as server:
        yield server


@pytest.fixture
def shop(shopify: FakeShopify, harness: Any, tmp_path: Path) -> ShopifyShop:
    return open_shopify_shop(shopify, tmp_path, harness.workbook)


def add_own_column(harness: Any, number: str, value: str) -> None:
    """A person adds a column of their own to 受注 and types in it for one order."""
    grid = harness.stored("受注")
    width = len(grid[0])
    rows = [[*r, *[""] * (width - len(r))] for r in grid]
    rows[0].append(OWN_COLUMN)
    number_at = rows[0].index("注文番号")
    for row in rows[1:]:
        row.append(value if row[number_at] == number else "")
    harness.staff_put("受注", rows)


def row_of(harness: Any, number: str) -> dict[str, str]:
    grid = harness.stored("受注")
    header = grid[0]
    for cells in grid[1:]:
        record = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=True))
        if record["注文番号"] == number:
            return record
    raise AssertionError(number)


def test_a_shopify_update_after_the_shipment_keeps_every_staff_cell(shop: ShopifyShop, harness: Any) -> None:
    order = shop.order(("TSH-WH-M", 2))
    number = str(order["id"])
    shop.engine().run_once()
    shop.staff_edit("受注", ("Shopify", number), STAFF)
    add_own_column(harness, number, "木曜に再配達")
    assert shop.engine().run_once().shipments == 1
    told = row_of(harness, number)["出荷連絡"]
    assert told.startswith("済 ")

    # The mall changes the order afterwards (the fulfilment itself, then the payment method).
    shop.clock.advance(minutes=1)
    shop.fake.modify_order(order["id"], at=shop.clock(), payment_gateway_names=["コンビニ決済"])
    shop.clock.advance(minutes=1)
    report = shop.engine().run_once()
    assert report.runs[0].updated == 1

    row = row_of(harness, number)
    assert row["支払方法"] == "コンビニ決済"  # the mall's column did change
    assert {h: row[h] for h in STAFF} == STAFF
    assert row["出荷連絡"] == told and row[OWN_COLUMN] == "木曜に再配達"
    assert shop.engine().run_once().shipments == 0  # not told twice
    assert ledger_problems(shop.tables()) == []


def test_a_shopify_update_in_the_same_cycle_as_the_tracking_number_does_not_erase_it(
    shop: ShopifyShop, harness: Any
) -> None:
    order = shop.order(("TSH-NV-M", 1))
    number = str(order["id"])
    shop.engine().run_once()
    shop.staff_edit("受注", ("Shopify", number), STAFF)
    # Before the next cycle, the mall updates the order too: both arrive in one cycle.
    shop.fake.modify_order(order["id"], at=shop.clock(), payment_gateway_names=["代金引換"])
    shop.clock.advance(minutes=1)
    report = shop.engine().run_once()
    assert report.runs[0].updated == 1
    assert report.shipments == 1  # the number was sent, not erased before it could be
    fulfilments = shop.fake.order(order["id"])["fulfillments"]
    assert [f["tracking_number"] for f in fulfilments] == ["4444-5555-6666"]
    row = row_of(harness, number)
    assert row["支払方法"] == "代金引換"
    assert {h: row[h] for h in STAFF} == STAFF and row["出荷連絡"].startswith("済 ")


def test_a_status_a_person_set_survives_an_update_that_does_not_move_the_mall(
    shop: ShopifyShop, harness: Any
) -> None:
    order = shop.order(("TSH-WH-M", 1))
    number = str(order["id"])
    shop.engine().run_once()
    shop.staff_edit(
        "受注", ("Shopify", number), {"ステータス": "保留", "備考": "住所確認中", "配送会社": "佐川急便"}
    )
    shop.fake.modify_order(order["id"], at=shop.clock(), payment_gateway_names=["銀行振込"])
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    row = row_of(harness, number)
    kept = (row["ステータス"], row["備考"], row["配送会社"])
    assert kept == ("保留", "住所確認中", "佐川急便") and row["支払方法"] == "銀行振込"


@pytest.fixture
def yahoo() -> Iterator[FakeYahoo]:
    with FakeYahoo() as server:
        yield server


def yahoo_row(shop: YahooShop, number: str) -> Any:
    (row,) = [o for o in shop.tables()["受注"].models() if o.order_number == number]
    return row


def test_a_yahoo_update_after_the_shipment_keeps_carrier_tracking_and_notice(
    yahoo: FakeYahoo, tmp_path: Path
) -> None:
    shop = open_yahoo_shop(yahoo, tmp_path)
    number = shop.order(("TSH-WH-M", 1))
    shop.engine().run_once()
    shop.fake.update_order(number, at=shop.clock(), PayStatus="0")  # same cycle as the staff
    shop.clock.advance(minutes=1)
    staff = {"ステータス": "出荷済", "配送会社": "ヤマト運輸", "追跡番号": "1234-5678-9012", "備考": "同梱"}
    staff_edit(shop.workbook, "受注", ("Yahoo!", number), staff)
    report = shop.engine().run_once()
    assert report.shipments == 1
    assert yahoo.order(number)["ShipInvoiceNumber1"] == "1234-5678-9012"
    row = yahoo_row(shop, number)
    assert (row.carrier, row.tracking_number, row.note) == ("ヤマト運輸", "1234-5678-9012", "同梱")
    told = row.shipment_notice
    assert told.startswith("済 ")

    # The next cycles import the mall's own update of the shipped order.
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    shop.engine().run_once()
    shop.clock.advance(seconds=shop.sync.interval_seconds + 1)
    shop.engine().run_once()
    row = yahoo_row(shop, number)
    assert row.mall_status == "出荷済"  # the mall's column followed the mall
    assert (row.status, row.carrier, row.tracking_number, row.shipment_notice, row.note) == (
        "出荷済",
        "ヤマト運輸",
        "1234-5678-9012",
        told,
        "同梱",
    )
    assert ledger_problems(shop.tables()) == []
