"""商品登録 on Yahoo!ショッピング: getItem / updateItems / reservePublish through the listings
client against the fake over loopback HTTP (virtual clock), with the planner; the 商品CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

from sync import listings
from sync.connectors import yahoo_listings
from sync.connectors.listings_base import ListingChange, ListingKey
from sync.connectors.yahoo_listings import CREATE_IN_FILE, PUBLISH_FAILED, Listings, Settings
from sync.errors import MallAuthError
from tests.fakes.toolkit.clock import VirtualClock
from tests.fakes.yahoo_api import JST
from tests.fakes.yahoo_items_api import FakeYahooItems

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=JST)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeYahooItems]:
    with FakeYahooItems() as server:
        server.bucket_clock = clock
        yield server


def client(fake: FakeYahooItems, clock: VirtualClock, **extra: object) -> Listings:
    settings = Settings.model_validate(fake.mall_section(**{"max_retries": 2, "timeout_seconds": 5, **extra}))
    return Listings(
        "yahoo",
        settings,
        session=requests.Session(),
        project_root=Path("."),
        sleep=clock.sleep,
        clock=lambda: NOW,
        monotonic=clock,
    )


def row(n: int, sku: str, code: str, **kw: object) -> listings.ListingRow:
    base = {"product_name": f"商品{sku}", "product_price": 1000, "product_row": n}
    return listings.ListingRow(row=n, mall="Yahoo!", sku=sku, item_code=code, **{**base, **kw})


def plan_and_read(shop: Listings, rows: list[listings.ListingRow]) -> list[listings.Difference]:
    plan = listings.plan(rows, shop.rules)
    assert plan.problems == []
    diffs, problems = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    assert problems == []
    return diffs


def sent_items(fake: FakeYahooItems) -> list[list[dict[str, str]]]:
    """Per updateItems call, its items as dicts (item1, item2, … in order)."""
    calls = []
    for request in fake.of("updateItems"):
        form = request.form
        numbers = sorted(int(k[4:]) for k in form if k.startswith("item"))
        calls.append([{k: v[0] for k, v in parse_qs(form[f"item{n}"][0]).items()} for n in numbers])
    return calls


def test_read_diff_send_changes_the_four_fields_and_publishes_them(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    fake.add_item("tshirt-001", "Tシャツ", 1980, headline="旧コピー", caption="<p>旧</p>")
    shop = client(fake, clock)
    rows = [
        row(2, "tshirt-001", "tshirt-001", title="Tシャツ 綿100%", price=1780, tagline="新コピー",
            description="<p>新</p>"),
    ]  # fmt: skip
    diffs = plan_and_read(shop, rows)
    assert {(d.field, d.mall_value, d.value) for d in diffs} == {
        ("title", "Tシャツ", "Tシャツ 綿100%"),
        ("price", 1980, 1780),
        ("tagline", "旧コピー", "新コピー"),
        ("description", "<p>旧</p>", "<p>新</p>"),
    }
    results = shop.send(listings.changes(diffs))
    assert len(results) == 4 and all(r.ok and r.pending and r.error == "" for r in results)
    assert sent_items(fake) == [
        [{"item_code": "tshirt-001", "name": "Tシャツ 綿100%", "price": "1780", "headline": "新コピー",
          "caption": "<p>新</p>"}],
    ]  # fmt: skip
    [publish] = fake.of("reservePublish")
    assert publish.form == {"seller_id": [fake.seller_id], "mode": ["1"]}  # no reserve_time: now
    for view in (fake.item("tshirt-001"), fake.public("tshirt-001")):
        assert (view["name"], view["price"], view["headline"], view["caption"]) == (
            "Tシャツ 綿100%", "1780", "新コピー", "<p>新</p>",
        )  # fmt: skip
        # Not managed by Ichigen: as they were.
        assert view["explanation"] == "商品情報（Ichigenは触りません）" and view["path"] == "トップス"
    assert listings.differences(listings.plan(rows, shop.rules), shop.read([rows[0].key]), shop.rules) == (
        [],
        [],
    )


def test_only_the_changed_field_is_sent_and_reaches_buyers_only_when_published(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    fake.add_item("mug-01", "商品mug-01", 1200, headline="美濃焼", caption="<p>説明</p>")
    fake.publish_queued = True  # Yahoo! busy: the publish waits in its queue
    shop = client(fake, clock)
    diffs = plan_and_read(shop, [row(2, "mug-01", "mug-01", price=1300)])
    results = shop.send(listings.changes(diffs))
    assert [(r.field, r.value, r.ok, r.pending) for r in results] == [("price", 1300, True, True)]
    assert sent_items(fake) == [[{"item_code": "mug-01", "price": "1300"}]]
    assert fake.item("mug-01")["price"] == "1300"
    assert fake.public("mug-01")["price"] == "1200"  # saved, not yet what buyers see
    fake.run_queue()
    assert fake.public("mug-01") == fake.item("mug-01")
    assert fake.public("mug-01")["headline"] == "美濃焼"


def test_one_update_call_carries_up_to_100_items_and_one_publish_follows(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    for i in range(250):
        fake.add_item(f"item-{i:03d}", f"商品item-{i:03d}", 1000)
    shop = client(fake, clock)
    rows = [row(i + 2, f"item-{i:03d}", f"item-{i:03d}", price=1080) for i in range(250)]
    diffs = plan_and_read(shop, rows)
    start, calls = clock.now, len(fake.requests)
    results = shop.send(listings.changes(diffs))
    assert len(results) == 250 and all(r.ok and r.pending for r in results)
    assert [len(items) for items in sent_items(fake)] == [100, 100, 50]
    assert len(fake.of("reservePublish")) == 1
    assert len(fake.requests) - calls == 4 and fake.requests.where(status=429) == []
    assert clock.now - start >= 3.0  # 4 calls, 1 a second after the reads
    assert all(fake.public(f"item-{i:03d}")["price"] == "1080" for i in range(250))


def test_items_yahoo_refuses_fail_with_its_text_and_the_others_are_saved(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    for code in ("cup", "mug", "tea"):
        fake.add_item(code, f"商品{code}", 1000)
    fake.reject_items["mug"] = ("it-09999", "この商品は編集できません")
    shop = client(fake, clock)
    diffs = plan_and_read(
        shop, [row(n, code, code, price=1100) for n, code in enumerate(("cup", "mug", "tea"), 2)]
    )
    del fake.saved["tea"]  # deleted in ストアクリエイターPro between the read and the send
    results = {r.key.item_code: r for r in shop.send(listings.changes(diffs))}
    assert results["cup"].ok and results["cup"].pending
    assert not results["mug"].ok
    assert results["mug"].error == "Yahoo!が受け付けませんでした（it-09999）: この商品は編集できません"
    assert not results["tea"].ok and "Item not found: tea" in results["tea"].error
    assert fake.item("cup")["price"] == "1100" and fake.item("mug")["price"] == "1000"
    assert len(fake.of("reservePublish")) == 1 and fake.public("cup")["price"] == "1100"


@pytest.mark.parametrize("answer", ["error", "404", "empty"])
def test_an_item_yahoo_does_not_have_is_missing_and_goes_to_the_upload_file(
    fake: FakeYahooItems, clock: VirtualClock, answer: str
) -> None:
    fake.unknown_item = answer
    shop = client(fake, clock)
    rows = [row(2, "new-01", "new-01", title="新商品", price=1500, category="2499")]
    plan = listings.plan(rows, shop.rules)
    read = shop.read(list(plan.wanted))
    assert read.missing == {rows[0].key} and read.found == {} and read.errors == {}
    diffs, problems = listings.differences(plan, read, shop.rules)
    assert problems == []
    sent, filed = listings.by_file(diffs, shop.rules)
    assert sent == [] and filed and all(d.create for d in filed)
    text = shop.upload_file(listings.changes(filed)).data.decode("cp932")
    [line] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert (line["code"], line["name"], line["price"], line["product-category"]) == (
        "new-01",
        "新商品",
        "1500",
        "2499",
    )
    assert fake.of("updateItems") == []


def test_another_refusal_of_get_item_is_that_items_read_error(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    fake.unknown_item_code = "it-04321"  # not a code this client knows as "not found"
    shop = client(fake, clock)
    key = ListingKey("gone", "gone")
    read = shop.read([key])
    assert read.missing == set() and "Item not found: gone（it-04321）" in read.errors[key]
    assert "it-04321" in read.errors[key]
    # The code is a setting of the client (UNVERIFIED which one Yahoo! uses).
    assert client(fake, clock).read([key]).missing == set()
    shop = Listings(
        "yahoo", shop.settings, session=requests.Session(), project_root=Path("."), sleep=clock.sleep,
        monotonic=clock, not_found_codes=("it-04321",),
    )  # fmt: skip
    assert shop.read([key]).missing == {key}


def test_calls_keep_to_one_a_second_and_a_500_is_retried(fake: FakeYahooItems, clock: VirtualClock) -> None:
    for i in range(5):
        fake.add_item(f"i{i}", f"商品i{i}", 500)
    shop = client(fake, clock)
    fake.inject(500, paths=["getItem"])
    start = clock.now
    diffs = plan_and_read(shop, [row(i + 2, f"i{i}", f"i{i}", price=600) for i in range(5)])
    assert clock.now - start >= 5.0  # 6 getItem calls (one retried) at 1 a second
    fake.inject(500, paths=["updateItems"])
    results = shop.send(listings.changes(diffs))
    assert all(r.ok and r.pending for r in results)
    assert len(fake.of("updateItems")) == 2 and fake.requests.where(status=429) == []
    assert all(fake.public(f"i{i}")["price"] == "600" for i in range(5))


def test_a_yahoo_that_stays_down_fails_the_remaining_items_with_its_reason(
    fake: FakeYahooItems, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yahoo_listings, "UPDATE_BATCH", 2)
    for i in range(5):
        fake.add_item(f"i{i}", f"商品i{i}", 500)
    shop = client(fake, clock, max_retries=1)
    diffs = plan_and_read(shop, [row(i + 2, f"i{i}", f"i{i}", price=600) for i in range(5)])
    fake.inject_always(503, paths=["updateItems"])
    results = shop.send(listings.changes(diffs))
    assert [r.ok for r in results] == [False] * 5
    assert all("一時的に応答しません" in r.error for r in results)
    assert len(fake.of("updateItems")) == 2  # the first batch and its one retry, then stop
    assert fake.of("reservePublish") == []  # nothing saved, nothing to publish


def test_a_failed_publish_keeps_the_saved_edits_ok_and_tells_staff_to_publish(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    fake.add_item("mug-01", "商品mug-01", 1200)
    fake.publish_refusal = ("pb-09999", "反映処理中です")
    shop = client(fake, clock)
    diffs = plan_and_read(shop, [row(2, "mug-01", "mug-01", price=1300)])
    [result] = shop.send(listings.changes(diffs))
    assert result.ok and result.pending
    assert result.error.startswith(PUBLISH_FAILED) and "反映処理中です（pb-09999）" in result.error
    assert fake.item("mug-01")["price"] == "1300" and fake.public("mug-01")["price"] == "1200"
    # 商品登録 shows it as a warning, not only the success (shop.listings.notices).
    from shop.listings import notices

    assert notices([result, result]) == [result.error]


def test_refused_credentials_raise(fake: FakeYahooItems, clock: VirtualClock) -> None:
    fake.add_item("mug-01", "商品mug-01", 1200)
    shop = client(fake, clock)
    diffs = plan_and_read(shop, [row(2, "mug-01", "mug-01", price=1300)])
    fake.inject_always(401, paths=["updateItems", "getItem"])
    with pytest.raises(MallAuthError):
        shop.send(listings.changes(diffs))
    with pytest.raises(MallAuthError):
        shop.read([ListingKey("mug-01", "mug-01")])
    fake.clear_faults()
    fresh = client(fake, clock)
    fake.refresh_token = "rotated"  # the store re-authorised: ours no longer gives a token
    with pytest.raises(MallAuthError, match="リフレッシュトークン"):
        fresh.read([ListingKey("mug-01", "mug-01")])
    assert fake.item("mug-01")["price"] == "1200"


def test_bad_rows_and_new_items_are_never_sent(fake: FakeYahooItems, clock: VirtualClock) -> None:
    fake.add_item("cup", "湯呑み", 900)
    shop = client(fake, clock)
    plan = listings.plan(
        [
            row(2, "a", "a", title="あ" * 76),
            row(3, "b", "b", tagline="い" * 31),
            row(4, "c", "c", price=0),
            row(5, "cup-s", "cup", price=900),
            row(6, "cup-l", "cup", price=1500),  # one price per 商品コード on Yahoo!
        ],
        shop.rules,
    )
    assert [str(p) for p in plan.problems] == [
        "「モール商品」シート 2行目 「モール商品名」: Yahoo!の商品名は75文字までです（76文字）",
        "「モール商品」シート 3行目 「キャッチコピー」: Yahoo!のキャッチコピーは30文字までです（31文字）",
        "「モール商品」シート 4行目 「販売価格（モール）」: Yahoo!へ送る価格は1円以上にしてください（0円）",
        "「モール商品」シート 5行目 「販売価格（モール）」: 同じモール商品コード「cup」の行（5・6行目）で違う内容です。"
        "販売価格は商品ごとに1つなので、同じにしてください",
        "「モール商品」シート 6行目 「販売価格（モール）」: 同じモール商品コード「cup」の行（5・6行目）で違う内容です。"
        "販売価格は商品ごとに1つなので、同じにしてください",
    ]
    assert plan.wanted == {}
    new = ListingChange(
        ListingKey("new", "new"), {"title": "新商品", "price": 1000}, create=True, category="1"
    )
    results = shop.send([new])
    assert [(r.ok, r.error) for r in results] == [(False, CREATE_IN_FILE)] * 2
    assert fake.of("updateItems") == [] and fake.of("reservePublish") == []


def test_the_upload_file_is_a_cp932_csv_with_crlf_and_yahoos_columns(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    shop = client(fake, clock)
    changes = [
        ListingChange(
            ListingKey("mug-01", "mug-01"),
            {
                "title": "マグカップ 美濃焼",
                "price": 1200,
                "tagline": "手しごと",
                "description": '<p>説明, "引用"</p>',
            },
            create=True,
            category="2499",
        ),
        ListingChange(
            ListingKey("tee", "tee-s"), {"title": "Tシャツ", "price": 1980}, create=True, category="37052"
        ),
        ListingChange(ListingKey("tee", "tee-m"), {}, create=True, category="37052"),
        ListingChange(ListingKey("cup", "cup"), {"price": 900}),  # not new: not in the file
    ]
    upload = shop.upload_file(changes)
    assert upload.name == "yahoo_data_20250301.csv" and upload.mime == "text/csv"
    assert "ストアクリエイターPro" in upload.how and "反映" in upload.how
    text = upload.data.decode("cp932")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    assert text.splitlines()[0] == "path,name,code,sub-code,options,price,headline,caption,product-category"
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows == [
        {"path": "", "name": "マグカップ 美濃焼", "code": "mug-01", "sub-code": "", "options": "", "price": "1200",
         "headline": "手しごと", "caption": '<p>説明, "引用"</p>', "product-category": "2499"},
        {"path": "", "name": "Tシャツ", "code": "tee", "sub-code": "種類:tee-s=tee-s&種類:tee-m=tee-m",
         "options": "種類 tee-s tee-m", "price": "1980", "headline": "", "caption": "", "product-category": "37052"},
    ]  # fmt: skip
    assert fake.requests == []  # no call to Yahoo!


def test_the_upload_file_refuses_what_cp932_cannot_hold_naming_the_sku(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    shop = client(fake, clock)
    change = ListingChange(
        ListingKey("tea", "tea-100"), {"title": "緑茶🍵", "price": 1000}, create=True, category="1"
    )
    with pytest.raises(ValueError, match="SKU「tea-100」") as error:
        shop.upload_file([change])
    assert "「🍵」" in str(error.value) and "商品名" in str(error.value)
    bad_code = ListingChange(ListingKey("tea", "tea_100"), {"price": 1}, create=True)
    with pytest.raises(ValueError, match="tea_100"):
        shop.upload_file([bad_code, replace_key(bad_code, "tea-200")])


def replace_key(change: ListingChange, sku: str) -> ListingChange:
    return ListingChange(ListingKey(change.key.item_code, sku), {}, create=True)


def test_an_items_skus_must_share_one_price_and_a_new_item_lists_every_sku(
    fake: FakeYahooItems, clock: VirtualClock
) -> None:
    shop = client(fake, clock)
    # No 販売価格（モール） typed: 商品's prices differ for two SKUs of one Yahoo! item.
    plan = listings.plan(
        [row(5, "tee-s", "tee", product_price=1980), row(6, "tee-l", "tee", product_price=2180)], shop.rules
    )
    assert [p.row for p in plan.problems] == [5, 6] and plan.wanted == {}
    assert "販売価格は商品ごとに1つ" in plan.problems[0].message
    # The same price: a new item with both SKUs goes to the file as one item with two subcodes.
    rows = [
        row(5, "tee-s", "tee", product_price=1980, title="Tシャツ", category="37052"),
        row(6, "tee-l", "tee", product_price=1980, title="Tシャツ", category="37052"),
    ]
    plan = listings.plan(rows, shop.rules)
    diffs, problems = listings.differences(plan, shop.read(list(plan.wanted)), shop.rules)
    assert problems == []
    _, filed = listings.by_file(diffs, shop.rules)
    assert {d.sku for d in filed} == {"tee-s", "tee-l"}
    text = shop.upload_file(listings.changes(filed)).data.decode("cp932")
    [line] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert line["code"] == "tee" and "tee-s" in line["sub-code"] and "tee-l" in line["sub-code"]
