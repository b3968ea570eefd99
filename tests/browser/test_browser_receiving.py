"""入荷 with a USB barcode scanner in a real browser: the scanner types a JAN and Enter into the
focused field, each scan adds one; the receipt reaches 在庫 and the 発注明細."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from playwright.sync_api import Page, expect

from purchasing import purchase_orders as po
from purchasing.reading import read_purchasing
from settings import load_settings
from sheets_schema.book import open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from tests.browser.conftest import AppServer, wait_for_app


def test_scanned_jans_are_received_against_the_order(serve: Callable[..., AppServer], page: Page) -> None:
    app = serve()
    page.goto(app.url)
    wait_for_app(page)
    workbook = open_workbook(load_settings({"workbook": {"sql_url": app.sql_url}}))
    deadline = time.monotonic() + 60
    while not (t := read_purchasing(workbook)).products.records:  # the demo is seeded on first run
        assert time.monotonic() < deadline, "the demo shop was never seeded"
        time.sleep(0.5)
    product = next(p for p in t.products.models() if p.jan and p.supplier)
    drafts = po.draft(
        t.orders, t.lines, {p.sku: p for p in t.products.models()}, {product.sku: 5},
        [po.DraftLine(product.sku, 3)], now=datetime.now(JST),
    )  # fmt: skip
    workbook.write(drafts.job)
    t = read_purchasing(workbook)
    number = next(iter(drafts.numbers.values()))
    job = WriteJob()
    job.set(t.orders, t.orders.find_row((number,)), {"ステータス": "発注済"})
    workbook.write(job)
    before = {s.sku: s.on_hand for s in read_tables(workbook)["在庫"].models()}[product.sku]

    page.goto(f"{app.url}/purchasing")
    wait_for_app(page)
    page.get_by_role("tab", name="入荷").click()
    # The demo shop has 発注 of its own waiting: choose ours.
    page.get_by_label("入荷する発注").first.click()
    page.get_by_role("option", name=number, exact=False).first.click()
    wait_for_app(page)
    field = page.get_by_label("バーコードを読み取る（JANコードかSKU。読み取るたびに1個ずつ加わります）")
    expect(field).to_be_visible()
    for _ in range(3):
        field.click()
        page.keyboard.type(str(product.jan), delay=15)  # a scanner is a keyboard ending with Enter
        page.keyboard.press("Enter")
        expect(page.get_by_text(f"{product.name}（{product.sku}）＋1")).to_be_visible()
        wait_for_app(page)
    page.get_by_role("button", name="入荷を登録").first.click()
    expect(page.get_by_text("入荷を登録しました").first).to_be_visible(timeout=30_000)  # message and toast

    tables = read_tables(workbook)
    assert {s.sku: s.on_hand for s in tables["在庫"].models()}[product.sku] == before + 3
    lines = read_purchasing(workbook).lines.models()
    assert [(x.sku, x.received) for x in lines if x.number == number] == [(product.sku, 3)]
