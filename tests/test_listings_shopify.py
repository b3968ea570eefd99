"""商品登録 on Shopify: the listings client against the fake over loopback HTTP, with the planner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sync import listings
from sync.connectors.listings_base import ListingKey
from sync.connectors.shopify_listings import Listings, Settings
from sync.errors import MallAuthError
from tests.fakes.shopify_api import DEFAULT_TOKEN
from tests.fakes.shopify_listings_api import FakeShopifyListings
from tests.fakes.toolkit.clock import VirtualClock


@pytest.fixture
def fake() -> Iterator[FakeShopifyListings]:
    with FakeShopifyListings() as server:
        yield server


def client(fake: FakeShopifyListings, clock: VirtualClock, **extra: object) -> Listings:
    settings = Settings(type="shopify", base_url=fake.base_url, access_token=DEFAULT_TOKEN, **extra)
    return Listings(
        "shopify",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=clock.sleep,
        monotonic=clock,
    )


def row(n: int, sku: str, code: str, **kw: object) -> listings.ListingRow:
    base = {"product_name": f"商品{sku}", "product_price": 1000, "product_row": n}
    return listings.ListingRow(row=n, mall="Shopify", sku=sku, item_code=code, **{**base, **kw})


def test_price_and_title_changes_reach_the_product_and_only_those_fields(fake: FakeShopifyListings) -> None:
    [tea] = fake.add_product("緑茶 100g", [("TEA-1", "", 1200)])
    [cup1, cup2] = fake.add_product("湯呑み", [("CUP-S", "小", 900), ("CUP-L", "大", 1500)])
    fake.reset_counts()
    clock = VirtualClock()
    shop = client(fake, clock)
    rows = [
        row(2, "TEA-1", str(tea.product_id), title="緑茶 100g 静岡産", description="<p>新茶</p>"),
        row(3, "CUP-S", str(cup1.product_id), price=950),
        row(4, "CUP-L", str(cup1.product_id), price=1500),
    ]
    plan = listings.plan(rows, shop.rules)
    assert plan.problems == []
    read = shop.read(list(plan.wanted))
    diffs, problems = listings.differences(plan, read, shop.rules)
    assert problems == []
    # CUP-L's price is already 1500; TEA-1's price 1000 differs from 1200 (商品's 販売価格 is sent)
    assert {(d.sku, d.field, d.mall_value, d.value) for d in diffs} == {
        ("TEA-1", "title", "緑茶 100g", "緑茶 100g 静岡産"),
        ("TEA-1", "description", "", "<p>新茶</p>"),
        ("TEA-1", "price", 1200, 1000),
        ("CUP-S", "price", 900, 950),
    }
    results = shop.send(listings.changes(diffs))
    assert all(r.ok for r in results) and len(results) == 4
    product = fake.product(tea.product_id)
    assert product["title"] == "緑茶 100g 静岡産" and product["body_html"] == "<p>新茶</p>"
    assert fake.variant_price("TEA-1") == 1000 and fake.variant_price("CUP-S") == 950
    puts = fake.requests.where(method="PUT")
    assert [r.body for r in puts if "/products/" in r.path] == [
        {"product": {"id": tea.product_id, "title": "緑茶 100g 静岡産", "body_html": "<p>新茶</p>"}}
    ]
    # the cup's title (not managed: two rows, no モール商品名) was never sent
    assert fake.product(cup1.product_id)["title"] == "湯呑み"
    assert cup2.sku == "CUP-L"


def test_a_new_listing_is_created_with_its_variants_and_then_found(fake: FakeShopifyListings) -> None:
    clock = VirtualClock()
    shop = client(fake, clock)
    rows = [
        row(2, "BAG-R", "eco-bag", title="エコバッグ", price=1800),
        row(3, "BAG-B", "eco-bag", title="エコバッグ", price=1900),
    ]
    plan = listings.plan(rows, shop.rules)
    read = shop.read(list(plan.wanted))
    assert read.missing == set(plan.wanted)
    diffs, problems = listings.differences(plan, read, shop.rules)
    assert problems == [] and all(d.create for d in diffs)
    results = shop.send(listings.changes(diffs))
    assert all(r.ok for r in results)
    assert len(fake.requests.where(method="POST", prefix="/admin/api/2024-10/products.json")) == 1
    assert fake.variant_price("BAG-R") == 1800 and fake.variant_price("BAG-B") == 1900
    again = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    assert again == ([], [])


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_sent_for_them(
    fake: FakeShopifyListings,
) -> None:
    [tea] = fake.add_product("緑茶", [("TEA-1", "", 1200)])
    shop = client(fake, VirtualClock())
    rows = [
        row(2, "TEA-1", str(tea.product_id), price=0),
        row(3, "LONG", "x", title="あ" * 256),
        row(4, "GHOST", "y", product_name=None, product_price=None, product_row=None),
    ]
    plan = listings.plan(rows, shop.rules)
    texts = [str(p) for p in plan.problems]
    assert texts == [
        "「モール商品」シート 2行目 「販売価格（モール）」: Shopifyへ送る価格は1円以上にしてください（0円）",
        "「モール商品」シート 3行目 「モール商品名」: Shopifyの商品名は255文字までです（256文字）",
        "「モール商品」シート 4行目 「SKU」: SKU「GHOST」が商品シートにないため、Shopifyへ送る価格が決まりません",
    ]
    assert plan.wanted == {}
    fake.reset_counts()
    assert shop.send([]) == [] and fake.requests.where(method="PUT") == []


def test_a_refused_variant_keeps_shopifys_text_and_the_others_go(fake: FakeShopifyListings) -> None:
    made = [fake.add_product(f"商品{i}", [(f"S{i}", "", 500)])[0] for i in range(3)]
    fake.reject_skus["S1"] = "Price cannot be changed while a sale is scheduled"
    shop = client(fake, VirtualClock())
    plan = listings.plan(
        [row(i + 2, f"S{i}", str(v.product_id), price=700) for i, v in enumerate(made)], shop.rules
    )
    diffs, _ = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    results = {r.key.sku: r for r in shop.send(listings.changes(diffs)) if r.field == "price"}
    assert results["S0"].ok and results["S2"].ok and not results["S1"].ok
    assert "Price cannot be changed while a sale is scheduled" in results["S1"].error
    assert "HTTP 422" in results["S1"].error
    assert fake.variant_price("S2") == 700 and fake.variant_price("S1") == 500


def test_throttling_and_5xx_are_retried_and_a_mall_that_stays_down_fails_the_rest(
    fake: FakeShopifyListings,
) -> None:
    made = [fake.add_product(f"商品{i}", [(f"S{i}", "", 500)])[0] for i in range(4)]
    shop = client(fake, VirtualClock(), max_retries=2)
    plan = listings.plan(
        [row(i + 2, f"S{i}", str(v.product_id), price=800) for i, v in enumerate(made)], shop.rules
    )
    diffs, _ = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    diffs = [d for d in diffs if d.field == "price"]  # 商品名 differs too: prices only here
    fake.inject(429, 503, paths=["variants/"])
    first = shop.send(listings.changes(diffs[:2]))
    assert all(r.ok for r in first) and fake.variant_price("S0") == 800
    fake.inject_always(503, paths=["variants/"])
    rest = shop.send(listings.changes(diffs[2:]))
    assert [r.ok for r in rest] == [False, False]
    assert all("一時的に応答しません" in r.error for r in rest)
    fake.clear_faults()
    assert fake.variant_price("S3") == 500


def test_refused_credentials_stop_with_an_auth_error(fake: FakeShopifyListings) -> None:
    settings = Settings(type="shopify", base_url=fake.base_url, access_token="shpat_wrong")
    shop = Listings(
        "shopify", settings, session=requests.Session(), project_root=Path("."), sleep=lambda s: None
    )
    with pytest.raises(MallAuthError):
        shop.read([ListingKey("1", "S")])


def test_tags_are_compared_as_a_set_and_sent_only_when_they_differ(fake: FakeShopifyListings) -> None:
    [tea] = fake.add_product("緑茶 100g", [("TEA-1", "", 1000)])
    [cup] = fake.add_product("湯呑み", [("CUP-S", "", 900)])
    fake.edit_in_admin(tea.product_id, tags="新茶, ギフト")
    fake.edit_in_admin(cup.product_id, tags="陶器")
    shop = client(fake, VirtualClock())
    rows = [
        row(2, "TEA-1", str(tea.product_id), product_name="緑茶 100g", tags="ギフト、新茶"),  # same set
        row(
            3,
            "CUP-S",
            str(cup.product_id),
            product_name="湯呑み",
            product_price=900,
            tags="陶器, 有田焼, 陶器",
        ),
    ]
    plan = listings.plan(rows, shop.rules)
    assert plan.problems == []
    diffs, problems = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    assert problems == []
    assert [(d.sku, d.field, d.mall_value, d.value) for d in diffs] == [
        ("CUP-S", "tags", "陶器", "陶器, 有田焼")
    ]
    assert all(r.ok for r in shop.send(listings.changes(diffs)))
    assert fake.product(cup.product_id)["tags"] == "陶器, 有田焼"
    assert fake.product(tea.product_id)["tags"] == "新茶, ギフト"  # never sent


def test_too_many_tags_are_refused_naming_the_row(fake: FakeShopifyListings) -> None:
    shop = client(fake, VirtualClock())
    many = ", ".join(f"タグ{i}" for i in range(shop.rules.max_tags + 1))
    plan = listings.plan([row(7, "TEA-1", "1", tags=many)], shop.rules)
    assert [str(p) for p in plan.problems] == [
        f"「モール商品」シート 7行目 「タグ」: Shopifyのタグは{shop.rules.max_tags}個までです（{shop.rules.max_tags + 1}個）"
    ]
    assert plan.wanted == {}
