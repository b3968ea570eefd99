"""In a real browser: a set product sold at a mall, from import to shipment — 今すぐ同期 imports
it, staff mark it 発送待ち in the sheet, 出荷's picking list fetches the set's components, and a
tracking file ships it: each component leaves the ledger once, with the set named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from settings import load_settings
from sheets_schema.book import open_workbook
from tests import pdf_text
from tests.browser.conftest import AppServer, wait_for_app
from tests.browser.test_browser_pages import workbook_tables
from tests.shop_fixtures import staff_edit
from vocabulary.demo_shop import SETS

SET_PARTS = {s.sku: dict(s.parts) for s in SETS}


def test_a_set_order_goes_from_import_to_shipment(
    serve: Callable[..., AppServer], page: Page, tmp_path: Path
) -> None:
    # One busy demo mall, its state in this test's folder: a day of orders at first contact,
    # some of them sets.
    app = serve(
        "[malls.rakuten_demo]\n"
        'type = "demo"\nmall = "楽天"\nseed = 5\norders_per_hour = 20.0\nbacklog_hours = 24.0\n'
        f'state_dir = "{tmp_path / "malls"}"\n'
    )
    page.goto(f"{app.url}/sync")
    page.get_by_role("button", name="今すぐ同期").click()
    expect(page.get_by_text("同期が終わりました").first).to_be_visible(timeout=120_000)

    tables = workbook_tables(app)
    set_lines = [ln for ln in tables["受注明細"].models() if ln.sku in SET_PARTS and ln.quantity > 0]
    orders = {(o.mall, o.order_number): o for o in tables["受注"].models()}
    line = next(ln for ln in set_lines if orders[(ln.mall, ln.order_number)].status == "新規")
    key = (line.mall, line.order_number)
    moves_before = {m.movement_id for m in tables["在庫移動"].models()}
    workbook = open_workbook(
        load_settings({"workbook": {"sql_url": f"sqlite:///{app.folder / 'wb.sqlite3'}"}})
    )
    staff_edit(workbook, "受注", key, {"ステータス": "発送待ち"})  # a person, in the sheet
    for other in (o for k, o in orders.items() if k != key and o.status == "発送待ち"):
        staff_edit(workbook, "受注", (other.mall, other.order_number), {"ステータス": "保留"})

    page.goto(f"{app.url}/shipping")
    page.get_by_text("発送待ちのすべて").click()
    picking = page.get_by_role("button", name="ピッキングリスト（PDF）")
    expect(picking).to_be_visible(timeout=30_000)
    wait_for_app(page)
    with page.expect_download() as download:
        picking.click()
    text = pdf_text.text(open(download.value.path(), "rb").read())  # noqa: SIM115 - read once
    for part in SET_PARTS[line.sku]:
        assert part in text
    assert "用を含む" in text and line.sku in text  # each part names the set it is packed into

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        {
            "name": "tracking.csv",
            "mimeType": "text/csv",
            "buffer": f"注文番号,追跡番号\n{key[1]},400012345678\n".encode(),
        }
    )
    carrier = page.locator('[data-testid="stSelectbox"]', has_text="配送会社").get_by_role("combobox")
    expect(carrier).to_be_visible(timeout=30_000)
    carrier.click()
    carrier.fill("ヤマト運輸")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="1 件を出荷済にしてモールへ連絡する").click()
    expect(page.get_by_text("出荷済 1 件").first).to_be_visible(timeout=60_000)

    after = workbook_tables(app)
    shipped = {(o.mall, o.order_number): o for o in after["受注"].models()}[key]
    assert (shipped.status, shipped.tracking_number) == ("出荷済", "400012345678")
    new = [
        m
        for m in after["在庫移動"].models()
        if m.movement_id not in moves_before and m.order_number == key[1]
    ]
    out = {m.sku: m.quantity for m in new if m.kind == "出荷"}
    expected: dict[str, int] = {}
    for each in (ln for ln in tables["受注明細"].models() if (ln.mall, ln.order_number) == key and ln.sku):
        for part, per in SET_PARTS.get(each.sku, {each.sku: 1}).items():  # the order's other lines too
            expected[part] = expected.get(part, 0) + per * each.quantity
    assert out == expected
    parts = set(SET_PARTS[line.sku])
    assert all(line.sku in m.note for m in new if m.kind == "出荷" and m.sku in parts)  # the set behind
