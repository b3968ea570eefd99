"""商品登録 on 楽天: ItemAPI 2.0 through the listings client against the fake over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sync import listings
from sync.connectors.rakuten_listings import Listings, Settings
from tests.fakes.rakuten_api import DEFAULT_LICENSE, DEFAULT_SECRET
from tests.fakes.rakuten_items_api import FakeRakutenItems
from tests.fakes.toolkit.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeRakutenItems]:
    with FakeRakutenItems(bucket_clock=clock) as server:
        yield server


def client(fake: FakeRakutenItems, clock: VirtualClock, **extra: object) -> Listings:
    settings = Settings(
        type="rakuten",
        base_url=fake.base_url,
        service_secret=DEFAULT_SECRET,
        license_key=DEFAULT_LICENSE,
        **extra,
    )
    return Listings(
        "rakuten",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=clock.sleep,
        monotonic=clock,
    )


def row(n: int, sku: str, code: str, **kw: object) -> listings.ListingRow:
    base = {"product_name": f"商品{sku}", "product_price": 1000, "product_row": n}
    return listings.ListingRow(row=n, mall="楽天", sku=sku, item_code=code, **{**base, **kw})


def test_a_patch_sends_only_the_changed_fields_and_keeps_the_rest_of_the_item(
    fake: FakeRakutenItems, clock: VirtualClock
) -> None:
    fake.add_item("tea-100", "緑茶 100g", {"tea-100": 1200}, tagline="静岡の新茶", pc="<p>旧</p>")
    rms = client(fake, clock)
    rows = [row(2, "tea-100", "tea-100", title="緑茶 100g【静岡産】", description="<p>新</p>", price=1280)]
    plan = listings.plan(rows, rms.rules)
    diffs, problems = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    assert problems == []
    assert {(d.field, d.mall_value, d.value) for d in diffs} == {
        ("title", "緑茶 100g", "緑茶 100g【静岡産】"),
        ("description", "<p>旧</p>", "<p>新</p>"),
        ("price", 1200, 1280),
    }
    results = rms.send(listings.changes(diffs))
    assert all(r.ok for r in results) and len(results) == 3
    [patch] = fake.requests.where(method="PATCH")
    assert patch.body == {
        "title": "緑茶 100g【静岡産】",
        "productDescription": {"pc": "<p>新</p>"},
        "variants": {"tea-100": {"standardPrice": "1280"}},
    }
    item = fake.item("tea-100")
    assert item["tagline"] == "静岡の新茶"  # not typed: not managed, kept
    assert item["productDescription"] == {"pc": "<p>新</p>", "sp": "スマホ用説明"}
    assert item["variants"]["tea-100"]["standardPrice"] == "1280" and item["tags"] == [5000001]


def test_byte_limits_are_checked_before_sending(fake: FakeRakutenItems, clock: VirtualClock) -> None:
    rms = client(fake, clock)
    plan = listings.plan(
        [
            row(2, "a", "a", title="あ" * 86),
            row(3, "b", "b", tagline="い" * 59),
            row(4, "c", "c", price=1_000_000_000),
        ],
        rms.rules,
    )
    assert [str(p) for p in plan.problems] == [
        "「モール商品」シート 2行目 「モール商品名」: 楽天の商品名は255バイト（全角1文字は3バイト）までです（258バイト（全角1文字は3バイト））",
        "「モール商品」シート 3行目 「キャッチコピー」: 楽天のキャッチコピーは174バイト（全角1文字は3バイト）までです（177バイト（全角1文字は3バイト））",
        "「モール商品」シート 4行目 「販売価格（モール）」: 楽天へ送れる価格は999,999,999円までです（1,000,000,000円）",
    ]
    assert plan.wanted == {}


def test_one_refused_price_keeps_rms_text_and_the_items_other_fields_go_again(
    fake: FakeRakutenItems, clock: VirtualClock
) -> None:
    fake.add_item("cup", "湯呑み", {"cup-s": 900, "cup-l": 1500})
    fake.add_item("tea", "緑茶", {"tea": 1000})
    fake.reject_prices["cup"] = "variants.cup-s.standardPrice must be between 0 to 999999999."
    rms = client(fake, clock)
    rows = [
        row(2, "cup-s", "cup", title="湯呑み 美濃焼", price=950),
        row(3, "cup-l", "cup", title="湯呑み 美濃焼"),
        row(4, "tea", "tea", title="緑茶", price=1100),
    ]
    plan = listings.plan(rows, rms.rules)
    diffs, _ = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    results = {(r.key.sku, r.field): r for r in rms.send(listings.changes(diffs))}
    assert not results[("cup-s", "price")].ok
    assert "IE0003" in results[("cup-s", "price")].error
    assert results[("cup-s", "title")].ok and results[("tea", "price")].ok
    assert fake.item("cup")["title"] == "湯呑み 美濃焼"
    assert fake.item("cup")["variants"]["cup-s"]["standardPrice"] == 900
    assert fake.item("tea")["variants"]["tea"]["standardPrice"] == "1100"


def test_a_new_item_needs_its_genre_and_is_created_with_upsert(
    fake: FakeRakutenItems, clock: VirtualClock
) -> None:
    rms = client(fake, clock)
    rows = [row(2, "bag", "eco-bag", title="エコバッグ", price=1800)]
    plan = listings.plan(rows, rms.rules)
    diffs, problems = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    assert [str(p) for p in problems] == [
        "「モール商品」シート 2行目 「カテゴリ」: 楽天で新しく出品するにはカテゴリ（楽天のジャンルID）が必要です"
    ]
    assert diffs == [] and fake.requests.where(method="PUT") == []
    plan = listings.plan(
        [row(2, "bag", "eco-bag", title="エコバッグ", price=1800, category="558929")], rms.rules
    )
    diffs, problems = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    assert problems == [] and all(d.create for d in diffs)
    assert all(r.ok for r in rms.send(listings.changes(diffs)))
    item = fake.item("eco-bag")
    assert item["genreId"] == "558929" and item["variants"]["bag"]["standardPrice"] == "1800"
    assert listings.differences(plan, rms.read(list(plan.wanted)), rms.rules) == ([], [])


def test_calls_keep_to_one_a_second_and_a_503_is_retried(fake: FakeRakutenItems, clock: VirtualClock) -> None:
    for i in range(5):
        fake.add_item(f"i{i}", f"商品{i}", {f"i{i}": 500})
    rms = client(fake, clock)
    plan = listings.plan(
        [row(i + 2, f"i{i}", f"i{i}", title=f"商品{i}", price=600) for i in range(5)], rms.rules
    )
    diffs, _ = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    fake.inject(503, paths=["/es/2.0/items/manage-numbers/i2"])
    start = clock.now
    results = rms.send(listings.changes(diffs))
    assert all(r.ok for r in results)
    assert fake.requests.where(status=429) == []
    assert clock.now - start >= 5.0  # 6 calls (one retried) at 1 a second after the read
    assert all(fake.item(f"i{i}")["variants"][f"i{i}"]["standardPrice"] == "600" for i in range(5))


def test_a_mall_that_stays_down_fails_the_remaining_items_with_its_reason(
    fake: FakeRakutenItems, clock: VirtualClock
) -> None:
    for i in range(3):
        fake.add_item(f"i{i}", f"商品{i}", {f"i{i}": 500})
    rms = client(fake, clock, max_retries=1)
    plan = listings.plan(
        [row(i + 2, f"i{i}", f"i{i}", title=f"商品{i}", price=600) for i in range(3)], rms.rules
    )
    diffs, _ = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    fake.inject_always(503, paths=["/es/2.0/items/manage-numbers/i1"])
    results = rms.send(listings.changes(diffs))
    assert [r.ok for r in results] == [True, False, False]
    assert "一時的に応答しません" in results[2].error


def test_tags_are_tag_id_numbers_replaced_whole_and_words_are_refused(
    fake: FakeRakutenItems, clock: VirtualClock
) -> None:
    fake.add_item("tea-100", "緑茶 100g", {"tea-100": 1000})  # tags [5000001] set in RMS
    fake.add_item("cup-1", "湯呑み", {"cup-1": 1000})
    rms = client(fake, clock)
    rows = [
        row(2, "tea-100", "tea-100", product_name="緑茶 100g", tags="5000001、 5000123"),
        row(3, "cup-1", "cup-1", product_name="湯呑み", tags="陶器, 5000001"),
    ]
    plan = listings.plan(rows, rms.rules)
    assert [str(p) for p in plan.problems] == [
        "「モール商品」シート 3行目 「タグ」: 楽天のタグはタグIDの数字をカンマ区切りで入れてください（「陶器」）"
    ]
    diffs, problems = listings.differences(plan, rms.read(list(plan.wanted)), rms.rules)
    assert problems == []
    assert [(d.sku, d.field, d.mall_value, d.value) for d in diffs] == [
        ("tea-100", "tags", "5000001", "5000001, 5000123")
    ]
    assert all(r.ok for r in rms.send(listings.changes(diffs)))
    [patch] = fake.requests.where(method="PATCH")
    assert patch.body == {"tags": [5000001, 5000123]}
    assert fake.item("tea-100")["tags"] == [5000001, 5000123]
    assert fake.item("cup-1")["tags"] == [5000001]  # its row had a problem: nothing sent
