"""商品登録 page through AppTest against the Shopify fake: the diff is read on demand, only 管理
sends, and every result lands in _出品送信."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from shop.listings import listing_rows
from tests.fakes.shopify_api import DEFAULT_TOKEN
from tests.fakes.shopify_listings_api import FakeShopifyListings
from tests.page_probe import APP
from tests.test_auth import AUTH

pytestmark = pytest.mark.usefixtures("fresh_caches")
ACCESS = {"tencho@example.jp": "管理", "staff@example.jp": "編集"}


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, FakeShopifyListings, str]]:
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    tables = read_tables(workbook)
    rows = [r for r in listing_rows(tables["商品"], tables["モール商品"]) if r.mall == "Shopify"]
    assert len(rows) > 3
    with FakeShopifyListings() as fake:
        changed = rows[0]
        for r in rows:
            price = (r.product_price or 0) + (100 if r is changed else 0)
            fake.add_product(r.product_name or "", [(r.mall_sku or r.sku, "", price)])
        yield url, fake, changed.mall_sku or changed.sku


def page(url: str, fake: FakeShopifyListings, email: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    at.secrets["malls"] = {
        "shopify": {
            "type": "shopify",
            "base_url": fake.base_url,
            "access_token": DEFAULT_TOKEN,
            "max_retries": 0,
        }
    }
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    at.switch_page("pages/listings.py").run()
    assert not at.exception, at.exception
    return at


def test_an_editor_sees_the_difference_but_cannot_send(shop: tuple[str, FakeShopifyListings, str]) -> None:
    url, fake, sku = shop
    at = page(url, fake, "staff@example.jp")
    assert fake.requests.where(prefix="/admin") == []  # nothing is read before the button
    at.button(key="listings_read_shopify").click().run()
    assert not at.exception, at.exception
    [table] = at.dataframe
    assert list(table.value["SKU"]) == [sku] and list(table.value["項目"]) == ["販売価格"]
    assert any("送る変更 1 件" in c.value for c in at.caption)
    assert "listings_send_shopify" not in {b.key for b in at.button}
    assert any("「管理」以上の権限が必要です" in i.value for i in at.info)
    assert fake.requests.where(method="PUT") == []


def test_the_owner_sends_the_price_and_the_result_is_recorded(
    shop: tuple[str, FakeShopifyListings, str],
) -> None:
    url, fake, sku = shop
    at = page(url, fake, "tencho@example.jp")
    at.button(key="listings_read_shopify").click().run()
    before = fake.variant_price(sku)
    at.button(key="listings_send_shopify").click().run()
    assert not at.exception, at.exception
    assert any("件をShopifyへ送りました" in s.value for s in at.success)
    assert fake.variant_price(sku) == before - 100
    [put] = fake.requests.where(method="PUT")
    assert put.path.startswith("/admin/api/2024-10/variants/")
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    sends = read_tables(workbook)["_出品送信"].models()
    assert [(s.mall, s.mall_sku, s.field_name, s.result, s.by) for s in sends] == [
        ("Shopify", sku, "販売価格", "成功", "tencho@example.jp")
    ]


def demo_page(url: str, tmp_path: Path) -> AppTest:
    """商品登録 on the embedded default: the demo malls, their state in this test's folder."""
    from sync.connectors import DEMO_CHANNELS

    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["malls"] = {
        name: {**section, "state_dir": str(tmp_path / "malls")} for name, section in DEMO_CHANNELS.items()
    }
    at.run()
    at.switch_page("pages/listings.py").run()
    return at


def test_the_embedded_demo_reads_and_sends_to_a_demo_mall(tmp_path: Path) -> None:
    """On a fresh machine (no mall account, no sign-in) 商品登録 works against the demo malls."""
    from sync.connectors.demo_listings import PRICE_DRIFT

    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    at = demo_page(url, tmp_path)
    assert not at.exception, at.exception
    at.button(key="listings_read_rakuten_demo").click().run()
    assert not at.exception, at.exception
    [table] = at.dataframe
    shown = table.value
    assert len(shown) > 0 and set(shown["項目"]) == {"販売価格"}
    assert all(
        int(mall.rstrip("円").replace(",", "")) - int(ours.rstrip("円").replace(",", "")) == PRICE_DRIFT
        for mall, ours in zip(shown["モールの内容"], shown["ワークブック"], strict=True)
    )
    at.button(key="listings_send_rakuten_demo").click().run()
    assert not at.exception, at.exception
    assert any(f"{len(shown)} 件を楽天デモへ送りました" in s.value for s in at.success)
    at.button(key="listings_read_rakuten_demo").click().run()
    assert any("楽天デモの内容はワークブックと同じです" in s.value for s in at.success)


def test_a_new_amazon_listing_on_the_demo_goes_to_a_bulk_file_not_to_the_api(tmp_path: Path) -> None:
    from sheets_schema.changes import WriteJob
    from sheets_schema.models import MallListing
    from sheets_schema.tabs import MALL_LISTINGS

    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    table = read_tables(workbook, [MALL_LISTINGS])[MALL_LISTINGS.title]
    sku = table.models()[0].sku
    job = WriteJob()
    new = {"モール": "Amazon", "SKU": sku, "モール商品コード": "B0NEW00001", "モールSKU": "NEW-AMZ-1"}
    job.append(
        table, [MallListing.model_validate({**new, "モール商品名": "新色 ミント", "カテゴリ": "TOWEL"})]
    )
    workbook.write(job)
    at = demo_page(url, tmp_path)
    at.button(key="listings_read_amazon_demo").click().run()
    assert not at.exception, at.exception
    assert any("新しい出品 1 件（一括登録ファイル）" in h.value for h in at.subheader)
    new_rows = at.dataframe[0].value
    assert set(new_rows["SKU"]) == {sku} and set(new_rows["モール商品コード"]) == {"B0NEW00001"}
    assert set(new_rows["モールの内容"]) == {"（新規）"}
    [download] = at.get("download_button")
    assert "amazon_listings_feed_" in download.proto.label
    assert any("JSON_LISTINGS_FEED" in c.value for c in at.caption)
