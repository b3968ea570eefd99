"""商品登録 on Amazon: Listings Items API through the listings client against the fake over
loopback HTTP with a virtual clock, and the JSON_LISTINGS_FEED file for new listings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from sync import listings
from sync.connectors.amazon_listings import Listings, Settings
from sync.connectors.listings_base import ListingChange, ListingKey
from sync.errors import MallAuthError
from sync.models import StockLevel
from tests.fakes.amazon_api import LISTINGS_PATH, MARKETPLACE_ID, SELLER_ID
from tests.fakes.amazon_listings_api import PRICE_ISSUE, US_MARKETPLACE_ID, FakeAmazonListings
from tests.fakes.toolkit.clock import VirtualClock

NOW = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 2026-12-08 01:30 in Japan


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeAmazonListings]:
    with FakeAmazonListings(clock=lambda: NOW, bucket_clock=clock) as server:
        server.add_listing("TSH-WH-M", "B0ICHIGEN1", "Tシャツ 白 M", 2980, description="綿100%")
        server.add_listing("TSH-NV-M", "B0ICHIGEN2", "Tシャツ 紺 M", 2980, product_type="APPAREL")
        yield server


def client(fake: FakeAmazonListings, clock: VirtualClock, **extra: object) -> Listings:
    settings = Settings.model_validate(fake.mall_section(**{"max_retries": 3, **extra}))
    return Listings(
        "amazon",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=clock.sleep,
        clock=lambda: NOW,
        monotonic=clock,
    )


def row(n: int, sku: str, **kw: object) -> listings.ListingRow:
    base = {"product_name": None, "product_price": 2980, "product_row": n}  # title only when typed
    return listings.ListingRow(row=n, mall="Amazon", sku=sku, item_code=f"ASIN-{sku}", **{**base, **kw})


def plan_and_diff(
    amz: Listings, rows: list[listings.ListingRow]
) -> tuple[listings.Plan, list[listings.Difference]]:
    plan = listings.plan(rows, amz.rules)
    diffs, problems = listings.differences(plan, amz.read(list(plan.wanted)), amz.rules)
    assert problems == []
    return plan, diffs


def offers(fake: FakeAmazonListings, sku: str) -> dict[tuple[str, str], dict]:
    return {
        (o["marketplace_id"], o["audience"]): o for o in fake.listing_attributes(sku)["purchasable_offer"]
    }


def listing_path(sku: str) -> str:
    return f"{LISTINGS_PATH}{SELLER_ID}/{sku}"


def test_title_price_and_description_go_in_one_patch_and_other_marketplaces_stay(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    amz = client(fake, clock)
    rows = [row(2, "TSH-WH-M", title="Tシャツ 白 M【綿100%】", price=3280, description="やわらかい綿100%")]
    plan, diffs = plan_and_diff(amz, rows)
    assert {(d.field, d.mall_value, d.value) for d in diffs} == {
        ("title", "Tシャツ 白 M", "Tシャツ 白 M【綿100%】"),
        ("price", 2980, 3280),
        ("description", "綿100%", "やわらかい綿100%"),
    }
    [get] = fake.requests.where(method="GET", prefix=LISTINGS_PATH)
    assert get.query["includedData"] == ["summaries,attributes,issues"]
    results = amz.send(listings.changes(diffs))
    assert [(r.field, r.ok, r.pending) for r in results] == [
        ("title", True, True),
        ("price", True, True),
        ("description", True, True),
    ]
    [patch] = fake.requests.where(method="PATCH")
    assert patch.query["issueLocale"] == ["ja_JP"]
    assert patch.body["productType"] == "SHIRT"
    assert [(p["op"], p["path"]) for p in patch.body["patches"]] == [
        ("replace", "/attributes/item_name"),
        ("replace", "/attributes/purchasable_offer"),
        ("replace", "/attributes/product_description"),
    ]
    attributes = fake.listing_attributes("TSH-WH-M")
    assert attributes["item_name"] == [
        {"value": "Tシャツ 白 M【綿100%】", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID},
        {"value": "Tシャツ 白 M (US)", "language_tag": "en_US", "marketplace_id": US_MARKETPLACE_ID},
    ]
    assert [e["value"] for e in attributes["product_description"]] == [
        "やわらかい綿100%",
        "Imported from Japan.",
    ]
    assert attributes["brand"][0]["value"] == "いちげん工房"  # not managed: untouched
    assert listings.differences(plan, amz.read(list(plan.wanted)), amz.rules) == ([], [])


def test_a_price_change_keeps_the_sale_price_floor_start_date_and_other_offers(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    before = offers(fake, "TSH-WH-M")
    amz = client(fake, clock)
    _, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", title="Tシャツ 白 M", price=3080)])
    assert [d.field for d in diffs] == ["price"]
    assert all(r.ok for r in amz.send(listings.changes(diffs)))
    [patch] = fake.requests.where(method="PATCH")
    assert [p["path"] for p in patch.body["patches"]] == ["/attributes/purchasable_offer"]
    after = offers(fake, "TSH-WH-M")
    japan = after[(MARKETPLACE_ID, "ALL")]
    assert japan["our_price"] == [{"schedule": [{"value_with_tax": 3080}]}]
    for kept in ("discounted_price", "minimum_seller_allowed_price", "start_at", "currency"):
        assert japan[kept] == before[(MARKETPLACE_ID, "ALL")][kept]
    assert after[(MARKETPLACE_ID, "B2B")] == before[(MARKETPLACE_ID, "B2B")]
    assert after[(US_MARKETPLACE_ID, "ALL")] == before[(US_MARKETPLACE_ID, "ALL")]


def test_accepted_is_pending_until_amazon_applies_it(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    fake.hold_submissions = True
    amz = client(fake, clock)
    plan, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", title="Tシャツ 白 M 新", price=3180)])
    results = amz.send(listings.changes(diffs))
    assert all(r.ok and r.pending for r in results) and len(results) == 2
    still, _ = listings.differences(plan, amz.read(list(plan.wanted)), amz.rules)
    assert {d.field for d in still} == {"title", "price"}  # Amazon has not applied it yet
    fake.apply_held()
    read = amz.read(list(plan.wanted))
    assert read.found[ListingKey("ASIN-TSH-WH-M", "TSH-WH-M")].values["price"] == 3180
    assert listings.differences(plan, read, amz.rules) == ([], [])


def test_an_invalid_submission_fails_only_that_sku_with_amazons_words(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    fake.add_listing("CUP-S", "B0ICHIGEN3", "湯呑み 小", 900)
    issue = {
        "code": "18155",
        "message": "最低価格が販売価格を上回っています。",
        "severity": "ERROR",
        "attributeNames": ["purchasable_offer"],
        "categories": ["INVALID_PRICE"],
    }
    warning = {**issue, "code": "1", "message": "参考情報", "severity": "WARNING"}
    fake.invalid_skus["TSH-NV-M"] = [warning, issue]
    amz = client(fake, clock)
    rows = [row(2, "TSH-WH-M", price=3000), row(3, "TSH-NV-M", price=3000), row(4, "CUP-S", price=950)]
    _, diffs = plan_and_diff(amz, rows)
    results = {r.key.sku: r for r in amz.send(listings.changes(diffs))}
    assert results["TSH-WH-M"].ok and results["CUP-S"].ok
    assert not results["TSH-NV-M"].ok and not results["TSH-NV-M"].pending
    assert results["TSH-NV-M"].error == (
        "AmazonがSKU「TSH-NV-M」の変更を受け付けませんでした: 最低価格が販売価格を上回っています。（18155）"
    )
    assert (
        offers(fake, "TSH-NV-M")[(MARKETPLACE_ID, "ALL")]["our_price"][0]["schedule"][0]["value_with_tax"]
        == 2980
    )
    assert (
        offers(fake, "CUP-S")[(MARKETPLACE_ID, "ALL")]["our_price"][0]["schedule"][0]["value_with_tax"] == 950
    )


def test_a_price_amazon_refuses_comes_back_with_its_issue(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    amz = client(fake, clock)
    amz.read([ListingKey("x", "TSH-WH-M")])
    [result] = amz.send([ListingChange(ListingKey("x", "TSH-WH-M"), {"price": 0})])  # the planner stops 0
    assert not result.ok and f"（{PRICE_ISSUE}）" in result.error


def test_a_sku_amazon_does_not_have_is_missing_and_goes_to_the_upload_file(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    amz = client(fake, clock)
    rows = [row(2, "NEW-1", title="新商品", price=1500, category="SHIRT")]
    plan = listings.plan(rows, amz.rules)
    read = amz.read(list(plan.wanted))
    assert read.missing == {ListingKey("ASIN-NEW-1", "NEW-1")} and read.found == {}
    diffs, problems = listings.differences(plan, read, amz.rules)
    assert problems == []
    sent, filed = listings.by_file(diffs, amz.rules)
    assert sent == [] and {(d.field, d.value, d.create) for d in filed} == {
        ("title", "新商品", True),
        ("price", 1500, True),
    }
    feed = json.loads(amz.upload_file(listings.changes(filed)).data)
    [message] = feed["messages"]
    assert (message["sku"], message["productType"]) == ("NEW-1", "SHIRT")
    assert fake.requests.where(method="PATCH") == []


def test_create_changes_are_never_sent(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    change = ListingChange(
        ListingKey("a", "NEW-1"), {"title": "新商品", "price": 1500}, create=True, category="SHIRT"
    )
    results = amz.send([change])
    assert [r.ok for r in results] == [False, False]
    assert "一括登録のファイルで作ってください" in results[0].error and "NEW-1" in results[0].error
    assert fake.requests.where(prefix=LISTINGS_PATH) == []


def test_a_send_without_a_read_reads_first_and_keeps_the_rest(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    before = offers(fake, "TSH-NV-M")
    amz = client(fake, clock)
    [result] = amz.send([ListingChange(ListingKey("a", "TSH-NV-M"), {"price": 3500})])
    assert result.ok and result.pending
    assert [r.method for r in fake.requests.where(prefix=LISTINGS_PATH)] == ["GET", "PATCH"]
    assert fake.requests.where(method="PATCH")[0].body["productType"] == "APPAREL"
    after = offers(fake, "TSH-NV-M")
    assert (
        after[(MARKETPLACE_ID, "ALL")]["discounted_price"]
        == before[(MARKETPLACE_ID, "ALL")]["discounted_price"]
    )
    assert after[(US_MARKETPLACE_ID, "ALL")] == before[(US_MARKETPLACE_ID, "ALL")]


def test_a_listing_gone_since_the_read_fails_with_amazons_text(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    amz = client(fake, clock)
    _, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", price=3000), row(3, "TSH-NV-M", price=3000)])
    del fake._listings["TSH-WH-M"]
    results = amz.send(listings.changes(diffs))
    assert [r.ok for r in results] == [False, True]
    assert results[0].error.startswith(
        "SKU「TSH-WH-M」: Amazonが受け付けませんでした（HTTP 404）: NOT_FOUND:"
    )


def test_a_500_burst_is_retried_and_a_429_waits(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    _, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", price=3000), row(3, "TSH-NV-M", price=3000)])
    fake.inject(500, 500, paths=[listing_path("TSH-WH-M")])
    fake.inject(429, paths=[listing_path("TSH-NV-M")])
    results = amz.send(listings.changes(diffs))
    assert all(r.ok for r in results)
    assert fake.count(LISTINGS_PATH, method="PATCH", status=500) == 2
    assert fake.count(LISTINGS_PATH, method="PATCH", status=429) == 1
    assert (
        offers(fake, "TSH-WH-M")[(MARKETPLACE_ID, "ALL")]["our_price"][0]["schedule"][0]["value_with_tax"]
        == 3000
    )


def test_a_garbled_answer_fails_that_sku_only(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    _, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", price=3000), row(3, "TSH-NV-M", price=3000)])
    fake.inject("malformed", paths=[listing_path("TSH-WH-M")])
    results = amz.send(listings.changes(diffs))
    assert [r.ok for r in results] == [False, True]
    assert results[0].error.startswith("SKU「TSH-WH-M」: Amazonから想定外の応答がありました")


def test_calls_keep_to_amazons_buckets_in_virtual_time(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    for i in range(20):
        fake.add_listing(f"S{i:02d}", f"B0S{i:07d}", f"商品{i}", 1000)
    amz = client(fake, clock)
    rows = [row(i + 2, f"S{i:02d}", title=f"商品{i}", price=1100) for i in range(20)]
    start = clock.now
    _, diffs = plan_and_diff(amz, rows)
    read_time = clock.now - start
    results = amz.send(listings.changes(diffs))
    assert all(r.ok for r in results) and len(results) == 20
    assert fake.count(status=429) == 0  # the fake's own buckets (5/10 and 5/5) never refused a call
    assert read_time == pytest.approx((20 - 10) / 5.0)  # getListingsItem: burst 10, then 5 a second
    assert clock.now - start == pytest.approx((20 - 10) / 5.0 + (20 - 5) / 5.0)  # then patches: burst 5
    assert amz.calls == 40


def test_a_mall_that_stays_down_fails_the_rest_with_its_reason(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    fake.add_listing("CUP-S", "B0ICHIGEN3", "湯呑み 小", 900)
    amz = client(fake, clock, max_retries=1)
    rows = [row(2, "TSH-WH-M", price=3000), row(3, "TSH-NV-M", price=3000), row(4, "CUP-S", price=1000)]
    _, diffs = plan_and_diff(amz, rows)
    fake.inject_always(503, paths=[listing_path("TSH-NV-M")])
    results = amz.send(listings.changes(diffs))
    assert [r.ok for r in results] == [True, False, False]
    assert "一時的に応答しません" in results[2].error
    assert fake.count(listing_path("CUP-S"), method="PATCH") == 0


def test_refused_credentials_raise(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    _, diffs = plan_and_diff(amz, [row(2, "TSH-WH-M", price=3000)])
    fake.inject_always(401, paths=[LISTINGS_PATH])
    with pytest.raises(MallAuthError):
        amz.send(listings.changes(diffs))
    with pytest.raises(MallAuthError):
        amz.read([ListingKey("a", "TSH-WH-M")])


def test_bad_rows_are_reported_and_never_sent(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    plan = listings.plan(
        [
            row(2, "TSH-WH-M", price=0),
            row(3, "TSH-NV-M", title="あ" * 201),
            row(4, "X", description="い" * 2001),
        ],
        amz.rules,
    )
    assert [str(p) for p in plan.problems] == [
        "「モール商品」シート 2行目 「販売価格（モール）」: Amazonへ送る価格は1円以上にしてください（0円）",
        "「モール商品」シート 3行目 「モール商品名」: Amazonの商品名は200文字までです（201文字）",
        "「モール商品」シート 4行目 「商品説明」: Amazonの商品説明は2000文字までです（2001文字）",
    ]
    assert plan.wanted == {} and fake.requests.where(prefix=LISTINGS_PATH) == []


def test_the_upload_file_is_a_json_listings_feed(fake: FakeAmazonListings, clock: VirtualClock) -> None:
    amz = client(fake, clock)
    changes = [
        ListingChange(
            ListingKey("a", "NEW-1"),
            {"title": "新商品 1", "price": 1500, "description": "説明1"},
            create=True,
            category="SHIRT",
        ),
        ListingChange(
            ListingKey("b", "NEW-2"), {"title": "新商品 2", "price": 800}, create=True, category="HAT"
        ),
    ]
    made = amz.upload_file(changes)
    assert (made.name, made.mime) == ("amazon_listings_feed_20261208.json", "application/json")
    assert "JSON_LISTINGS_FEED" in made.how and "アップロードによる一括商品登録" in made.how
    feed = json.loads(made.data.decode("utf-8"))
    # listings-feed-schema-v2: header needs sellerId and version "2.0"; 1..25,000 messages, each
    # with messageId ≥ 1, sku, operationType; UPDATE needs productType and attributes, no patches.
    assert feed["header"] == {"sellerId": SELLER_ID, "version": "2.0", "issueLocale": "ja_JP"}
    assert set(feed) == {"header", "messages"}
    first, second = feed["messages"]
    assert set(first) == {"messageId", "sku", "operationType", "productType", "requirements", "attributes"}
    assert (first["messageId"], first["sku"], first["operationType"]) == (1, "NEW-1", "UPDATE")
    assert (first["productType"], first["requirements"]) == ("SHIRT", "LISTING")
    assert first["attributes"] == {
        "item_name": [{"value": "新商品 1", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}],
        "purchasable_offer": [
            {
                "marketplace_id": MARKETPLACE_ID,
                "currency": "JPY",
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": 1500}]}],
            }
        ],
        "product_description": [
            {"value": "説明1", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}
        ],
    }
    assert (second["messageId"], second["productType"], set(second["attributes"])) == (
        2,
        "HAT",
        {"item_name", "purchasable_offer"},
    )
    assert fake.requests == []  # no call to Amazon
    with pytest.raises(ValueError, match="SKU「NEW-3」"):
        amz.upload_file([ListingChange(ListingKey("c", "NEW-3"), {"title": "x", "price": 1}, create=True)])


def test_stock_pushes_still_work_against_the_listings_fake(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    before = fake.listing_attributes("TSH-WH-M")
    amz = client(fake, clock)
    [pushed] = amz.push_stock(
        [StockLevel(mall="Amazon", sku="TSH-WH-M", mall_item_code="B0ICHIGEN1", quantity=7)]
    )
    assert pushed.ok and fake.listing_quantity("TSH-WH-M") == 7
    assert fake.listing_attributes("TSH-WH-M") == before


def test_tags_are_amazons_search_keywords_joined_by_spaces(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    us_keywords = {"value": "cotton shirt", "language_tag": "en_US", "marketplace_id": US_MARKETPLACE_ID}
    japan = {"value": "綿 Tシャツ", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}
    fake.edit_in_seller_central("TSH-WH-M", "generic_keyword", [japan, us_keywords])
    amz = client(fake, clock)
    rows = [
        row(2, "TSH-WH-M", title="Tシャツ 白 M", tags="Tシャツ、綿, 白"),
        row(3, "TSH-NV-M", title="Tシャツ 紺 M", tags="Tシャツ,綿"),
    ]
    _, diffs = plan_and_diff(amz, rows)
    assert [(d.sku, d.field, d.mall_value, d.value) for d in diffs] == [
        ("TSH-WH-M", "tags", "綿, Tシャツ", "Tシャツ, 綿, 白"),
        ("TSH-NV-M", "tags", "", "Tシャツ, 綿"),
    ]
    assert all(r.ok and r.pending for r in amz.send(listings.changes(diffs)))
    keywords = fake.listing_attributes("TSH-WH-M")["generic_keyword"]
    assert keywords == [
        {"value": "Tシャツ 綿 白", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID},
        us_keywords,  # the US keywords stay as they were
    ]
    _, again = plan_and_diff(client(fake, clock), rows)
    assert again == []


def test_a_tag_with_a_space_or_too_many_bytes_is_refused_naming_the_row(
    fake: FakeAmazonListings, clock: VirtualClock
) -> None:
    amz = client(fake, clock)
    long = ", ".join(f"キーワード{i:02d}" for i in range(40))  # 40 × (5 全角 × 3 + 2) = 680 bytes
    plan = listings.plan([row(4, "TSH-WH-M", tags="バス タオル"), row(5, "TSH-NV-M", tags=long)], amz.rules)
    assert [str(p) for p in plan.problems] == [
        "「モール商品」シート 4行目 「タグ」: Amazonの検索キーワードは空白で区切られるため、"
        "タグに空白を入れずカンマで区切ってください（「バス タオル」）",
        "「モール商品」シート 5行目 「タグ」: Amazonのタグ（検索キーワード）は合わせて500バイトまでです"
        "（680バイト。全角1文字は3バイト）",
    ]
    assert plan.wanted == {}
