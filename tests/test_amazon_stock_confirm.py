"""Amazon stock pushes are confirmed on the listing, not re-sent every cycle: patchListingsItem
answers ACCEPTED (applied later), so the next cycles read the listing (getListingsItem with
fulfillmentAvailability,issues) against the Amazon fake over HTTP until it shows the quantity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.amazon_api import LISTINGS_PATH
from tests.test_sync_faults_amazon import AmazonShop, amazon_shop

SKUS = ("TSH-WH-M", "TSH-NV-M", "00123")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[AmazonShop]:
    with amazon_shop(tmp_path) as made:
        yield made


def patches(shop: AmazonShop) -> int:
    return shop.fake.count(LISTINGS_PATH, method="PATCH")


def checks(shop: AmazonShop) -> list[str]:
    """includedData of every getListingsItem made for a check (not the productType lookup)."""
    return [
        r.query["includedData"][0]
        for r in shop.fake.requests
        if r.method == "GET" and r.path.startswith(LISTINGS_PATH) and "issues" in r.query["includedData"][0]
    ]


def pushes(shop: AmazonShop) -> dict[str, tuple[int, str, object, str]]:
    return {p.sku: (p.quantity, p.state, p.pushed_at, p.error) for p in shop.tables()["_在庫送信"].models()}


def push_logs(shop: AmazonShop) -> list[str]:
    return [r.result for r in shop.tables()["同期ログ"].models() if r.job.startswith("在庫送信")]


def test_after_one_push_a_steady_cycle_sends_nothing(shop: AmazonShop) -> None:
    shop.engine().run_once()
    assert patches(shop) == 3
    assert {sku: p[:2] for sku, p in pushes(shop).items()} == {
        "TSH-WH-M": (18, "未確認"),
        "TSH-NV-M": (7, "未確認"),
        "00123": (5, "未確認"),
    }
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    assert patches(shop) == 3  # read, not resent
    assert checks(shop) == ["fulfillmentAvailability,issues"] * 3
    assert {p[1] for p in pushes(shop).values()} == {"確認済"}

    shop.clock.advance(minutes=1)
    listing_calls, logs_before = shop.fake.count(LISTINGS_PATH), push_logs(shop)
    shop.engine().run_once()
    assert shop.fake.count(LISTINGS_PATH) == listing_calls  # no listing call at all
    assert push_logs(shop) == logs_before


def test_a_listing_not_showing_the_quantity_waits_then_is_resent(shop: AmazonShop) -> None:
    shop.fake.hold_submissions = True  # ACCEPTED, not applied yet
    shop.engine().run_once()
    first = pushes(shop)
    logs = push_logs(shop)
    shop.clock.advance(minutes=5)
    shop.engine().run_once()
    assert patches(shop) == 3 and len(checks(shop)) == 3
    assert pushes(shop) == first  # still 未確認 with the push's own time: nothing rewritten
    assert push_logs(shop) == logs

    shop.clock.advance(minutes=30)  # past resend_unconfirmed_after_minutes (30)
    shop.engine().run_once()
    assert patches(shop) == 6
    assert all(p[1] == "未確認" and p[2] != first[sku][2] for sku, p in pushes(shop).items())

    shop.fake.apply_held()
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    assert patches(shop) == 6
    assert {p[1] for p in pushes(shop).values()} == {"確認済"}
    assert shop.fake.listing_quantity("TSH-WH-M") == 18


def test_a_quantity_changed_while_waiting_is_sent_at_once(shop: AmazonShop) -> None:
    shop.fake.hold_submissions = True
    shop.engine().run_once()
    shop.order(("TSH-WH-M", 2))
    shop.engine().run_once()
    assert patches(shop) == 4
    assert pushes(shop)["TSH-WH-M"][:2] == (16, "未確認")


def test_an_issue_on_the_listing_is_reported(shop: AmazonShop) -> None:
    shop.fake.hold_submissions = True
    shop.engine().run_once()
    shop.fake.set_issues(
        "TSH-NV-M",
        {
            "code": "90220",
            "message": "'fulfillment_availability' is required but not supplied.",
            "severity": "ERROR",
            "categories": ["MISSING_ATTRIBUTE"],
        },
        {"code": "18027", "message": "A warning only.", "severity": "WARNING", "categories": []},
    )
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    _, state, _, error = pushes(shop)["TSH-NV-M"]
    assert state == "失敗" and "90220" in error and "required but not supplied" in error
    assert "18027" not in error
    assert push_logs(shop)[-1] == "一部失敗"
