"""商品登録 on the demo malls (the embedded default): each demo mall follows the rules of the mall
it stands for, shows a few prices changed at the mall, takes what is sent and shows it on the next
read; new listings go through the API where the mall creates them, else to the bulk file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from shop import listings as shop_listings
from sync import listings
from sync.connectors import DEMO_CHANNELS
from sync.connectors.demo_listings import PRICE_DRIFT, mall_listings


def demo(tmp_path: Path) -> tuple[object, list[listings.ListingRow], list[shop_listings.Channel]]:
    malls = {
        name: {**section, "state_dir": str(tmp_path / "malls")} for name, section in DEMO_CHANNELS.items()
    }
    settings = load_settings(
        {"workbook": {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}, "malls": malls}
    )
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    tables = read_tables(workbook)
    rows = shop_listings.listing_rows(tables["商品"], tables["モール商品"])
    return settings, rows, shop_listings.channels(settings)


def channel(channels: list[shop_listings.Channel], mall: str) -> shop_listings.Channel:
    return next(c for c in channels if c.mall == mall)


def test_a_fresh_demo_mall_differs_only_where_its_price_was_changed_at_the_mall(tmp_path: Path) -> None:
    settings, rows, channels = demo(tmp_path)
    rakuten = channel(channels, "楽天")
    assert rakuten.sends and rakuten.rules is not None and rakuten.rules.length_unit == "bytes"
    compared = shop_listings.compare(shop_listings.client(settings, rakuten), rows)
    drifted = {
        key
        for key, values in mall_listings("楽天").items()
        if any(r.key == key and r.product_price == values["price"] - PRICE_DRIFT for r in rows)
    }
    assert drifted, "the demo should show at least one price changed at the mall"
    assert {d.key for d in compared.differences} == drifted
    assert {d.field for d in compared.differences} == {"price"}
    assert all(d.mall_value == d.value + PRICE_DRIFT for d in compared.differences)


def test_what_is_sent_is_shown_on_the_next_read_and_recorded(tmp_path: Path) -> None:
    settings, rows, channels = demo(tmp_path)
    shopify = channel(channels, "Shopify")
    client = shop_listings.client(settings, shopify)
    before = shop_listings.compare(client, rows)
    assert before.differences
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    outcomes = shop_listings.send(
        client,
        before.differences,
        by="tencho@example.jp",
        now=datetime.now(JST),
        read_sends=lambda: read_tables(workbook, [shop_listings.LISTING_SENDS])["_出品送信"],
        write=workbook.write,
    )
    assert outcomes and all(o.ok for o in outcomes)
    after = shop_listings.compare(shop_listings.client(settings, shopify), rows)
    assert after.differences == [] and after.new_by_file == []
    sends = read_tables(workbook, [shop_listings.LISTING_SENDS])["_出品送信"].models()
    assert len(sends) == len(outcomes) and {s.result for s in sends} == {"成功"}


@pytest.mark.parametrize(
    ("mall", "by_file"), [("楽天", False), ("Shopify", False), ("Amazon", True), ("Yahoo!", True)]
)
def test_a_new_row_is_created_through_the_api_or_goes_to_the_bulk_file(
    tmp_path: Path, mall: str, by_file: bool
) -> None:
    settings, rows, channels = demo(tmp_path)
    template = next(r for r in rows if r.mall == mall)
    new = listings.ListingRow(
        row=999,
        mall=mall,
        sku=template.sku,
        item_code="new-item-2027",
        mall_sku="NEW-2027",
        title="新しい出品 2027",
        category="100227",
        product_name=template.product_name,
        product_price=template.product_price,
        product_row=template.product_row,
    )
    picked = channel(channels, mall)
    compared = shop_listings.compare(shop_listings.client(settings, picked), [*rows, new])
    created = [d for d in [*compared.differences, *compared.new_by_file] if d.key == new.key]
    assert created and all(d.create for d in created)
    if by_file:  # the mall makes new listings only from its bulk-upload file
        assert compared.new_by_file == created
        upload = shop_listings.upload_file(shop_listings.client(settings, picked), created)
        text = upload.data.decode("utf-8" if upload.mime == "application/json" else "cp932")
        assert new.mall_sku in text or new.item_code in text
        assert "新しい出品 2027" in text
        outcomes = shop_listings.client(settings, picked).send(listings.changes(created))
        assert not any(o.ok for o in outcomes)  # never sent through the API
        return
    assert compared.new_by_file == []
    outcomes = shop_listings.client(settings, picked).send(listings.changes(created))
    assert all(o.ok for o in outcomes)
    again = shop_listings.compare(shop_listings.client(settings, picked), [*rows, new])
    assert not [d for d in again.differences if d.key == new.key]
