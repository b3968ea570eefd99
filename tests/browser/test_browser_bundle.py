"""In a real browser: two open orders of one customer at two malls are proposed on 出荷 as one
box (同梱), confirmed with a tick and a button, and undone again; the workbook's 同梱 column
follows each click."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from settings import load_settings
from sheets_schema.book import open_workbook
from shipping.bundles import destination, groupable, proposals
from tests.browser.conftest import AppServer, wait_for_app
from tests.browser.test_browser_pages import workbook_tables
from tests.shop_fixtures import staff_edit
from ui.bundle_section import OPEN_UP_TO


def test_a_customers_orders_at_two_malls_are_bundled_and_unbundled(
    serve: Callable[..., AppServer], page: Page
) -> None:
    app = serve()
    page.goto(f"{app.url}/shipping")  # the first visit makes the demo workbook
    expect(page.get_by_role("heading", name="出荷")).to_be_visible(timeout=60_000)
    orders = workbook_tables(app)["受注"].models()
    alone = [o for o in orders if groupable(o) and sum(destination(x) == destination(o) for x in orders) == 1]
    first = alone[0]
    second = next(o for o in alone if o.mall != first.mall)
    # The same person ordered at the second mall too (typed in the sheet, as a mall would send it).
    workbook = open_workbook(load_settings({"workbook": {"sql_url": app.sql_url}}))
    same = {
        "購入者名": first.buyer_name,
        "送付先氏名": first.recipient_name,
        "郵便番号": first.postcode,
        "住所": first.address,
    }
    staff_edit(workbook, "受注", (second.mall, second.order_number), same)
    found = proposals(workbook_tables(app)["受注"].models())  # the demo may have its own too
    number = next(i for i, p in enumerate(found, start=1) if (first.mall, first.order_number) in p.keys)
    assert set(found[number - 1].keys) == {
        (first.mall, first.order_number),
        (second.mall, second.order_number),
    }

    page.goto(f"{app.url}/shipping")
    wait_for_app(page)
    page.get_by_role("button", name="最新の状態を読み込む").click()  # what was typed in the sheet
    expect(page.get_by_text("同梱（同じお客様・同じお届け先の注文を1つの箱で）")).to_be_visible(
        timeout=60_000
    )
    wait_for_app(page)
    if len(found) > OPEN_UP_TO:  # many proposals wait in a closed box
        page.get_by_text(f"同梱候補 {len(found):,} 組", exact=True).click()
    name = first.recipient_name or first.buyer_name
    page.get_by_text(f"同梱候補 {number}: {name} 様 2 件をまとめる").click()
    confirm = page.get_by_role("button", name="チェックした同梱候補を確定する（1 組）")
    expect(confirm).to_be_enabled(timeout=30_000)
    confirm.click()
    expect(page.get_by_text("同梱を確定しました").first).to_be_visible(timeout=60_000)

    marks = {(o.mall, o.order_number): o.bundle for o in workbook_tables(app)["受注"].models()}
    ident = marks[(first.mall, first.order_number)]
    assert ident.startswith("同梱-") and marks[(second.mall, second.order_number)] == ident
    assert sum(1 for mark in marks.values() if mark == ident) == 2

    wait_for_app(page)
    groups = page.get_by_text("確定済みの同梱 1 組")
    expect(groups).to_be_visible()
    if len(found) > 1:  # proposals left: the confirmed groups start folded
        groups.click()
    page.get_by_role("button", name=f"「{ident}」を解除する").click()
    expect(page.get_by_text(f"同梱「{ident}」を解除しました").first).to_be_visible(timeout=60_000)
    after = {(o.mall, o.order_number): o.bundle for o in workbook_tables(app)["受注"].models()}
    assert after[(first.mall, first.order_number)] == "" and after[(second.mall, second.order_number)] == ""
