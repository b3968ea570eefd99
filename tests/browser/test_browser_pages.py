"""Key flows in a real browser: edit a stock cell in the grid and save it, see it in the
workbook; open 分析 and see charts; change an order's status on the board."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from settings import load_settings
from sheets_schema.book import open_workbook, read_tables
from shop.table_choices import LOCAL_USER, ChoiceStore, TableChoice
from tests.browser.conftest import AppServer, wait_for_app

# Pinned column widths of the 在庫 grid (pages/products.py): 行 52, SKU 130, 商品名 230, 実在庫 80.
ON_HAND_X = 52 + 130 + 230 + 40
FIRST_ROW_Y = 35 + 17


def workbook_tables(app: AppServer):
    return read_tables(open_workbook(load_settings({"workbook": {"sql_url": app.sql_url}})))


def test_a_stock_cell_edited_in_the_grid_is_saved_to_the_workbook(
    serve: Callable[..., AppServer], page: Page
) -> None:
    app = serve()
    page.goto(f"{app.url}/products")
    stock_tab = page.get_by_role("tab", name="在庫")
    expect(stock_tab).to_be_visible()  # the page is drawn: the workbook exists
    wait_for_app(page)
    first = workbook_tables(app)["在庫"].records[0].value
    stock_tab.click()
    grid = page.locator('[data-testid="stDataFrame"] >> visible=true').first
    expect(grid).to_be_visible()
    page.wait_for_timeout(800)  # the canvas settles after the tab switch
    box = grid.bounding_box()
    assert box is not None
    new_value = first.on_hand + 7
    for _ in range(3):  # canvas grids sometimes miss the first click while drawing
        page.mouse.click(box["x"] + ON_HAND_X, box["y"] + FIRST_ROW_Y)
        page.wait_for_timeout(300)
        page.keyboard.press("Enter")  # open the cell editor with its value
        page.wait_for_timeout(300)
        page.keyboard.press("Control+A")
        page.keyboard.type(str(new_value), delay=60)
        page.keyboard.press("Enter")
        page.wait_for_timeout(600)
        check = page.get_by_role("button", name="変更を確認").locator("visible=true").first
        if check.is_enabled():
            break
        page.wait_for_timeout(500)
    check.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="変更を反映")).to_be_visible()
    dialog.get_by_role("button", name="変更を反映").click()
    expect(page.get_by_text("変更を反映しました")).to_be_visible()
    saved = next(s for s in workbook_tables(app)["在庫"].models() if s.sku == first.sku)
    assert saved.on_hand == new_value
    moves = [
        m for m in workbook_tables(app)["在庫移動"].models() if m.sku == first.sku and m.kind == "手動調整"
    ]
    assert moves and moves[-1].quantity == 7


def test_analytics_shows_charts(serve: Callable[..., AppServer], page: Page) -> None:
    app = serve()
    page.goto(f"{app.url}/analytics")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="分析", exact=True)).to_be_visible()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    # Plotly draws in the browser after the run: on a loaded machine that takes seconds.
    expect(charts.first).to_be_visible(timeout=30_000)
    charts.nth(2).wait_for(state="attached", timeout=30_000)  # the page draws its charts one after another
    assert charts.count() >= 3
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=30_000)  # drawn, not placed
    assert "Traceback" not in page.content()


def test_an_orders_status_is_changed_on_the_board(serve: Callable[..., AppServer], page: Page) -> None:
    app = serve()
    page.goto(f"{app.url}/orders")
    expect(page.get_by_role("heading", name="受注ボード", exact=True)).to_be_visible()
    wait_for_app(page)
    grid = page.locator('[data-testid="stDataFrame"] >> visible=true').first
    expect(grid).to_be_visible()
    page.wait_for_timeout(800)
    box = grid.bounding_box()
    assert box is not None
    selected = page.get_by_text("選択中の注文 1 件")
    for _ in range(3):  # the row's selection box at the grid's left edge
        page.mouse.click(box["x"] + 16, box["y"] + FIRST_ROW_Y)
        try:
            expect(selected).to_be_visible(timeout=3000)
            break
        except AssertionError:
            page.wait_for_timeout(500)
    number = page.locator("p", has_text="選択中の注文 1 件").inner_text().split(":", 1)[1].strip()
    status_box = page.locator('[data-testid="stSelectbox"]', has_text="新しいステータス").get_by_role(
        "combobox"
    )
    # A status the order does not have yet (the demo's newest order may already be 発送待ち,
    # and an unchanged status writes nothing).
    current = {o.order_number: o for o in workbook_tables(app)["受注"].models()}[number].status
    target = "新規" if current == "発送待ち" else "発送待ち"
    status_box.click()
    status_box.fill(target)  # the box filters its options as you type
    page.keyboard.press("Enter")
    page.get_by_role("button", name="ステータスを変更する").click()
    expect(page.get_by_text("選択中の注文 1 件")).to_have_count(0, timeout=30_000)  # applied: the page reran
    orders = {o.order_number: o for o in workbook_tables(app)["受注"].models()}
    assert orders[number].status == target


def test_the_delivery_slips_download_as_a_pdf_from_the_shipping_page(
    serve: Callable[..., AppServer], browser
) -> None:
    app = serve()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{app.url}/shipping")
    # The 発送待ち list (the 同梱 section above it may have a table of its own).
    grid = page.locator(".st-key-shipping_orders").get_by_test_id("stDataFrame")
    expect(grid).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_text("出荷する注文を上の表で選んでください")).to_be_visible()
    expect(page.get_by_role("button", name="納品書")).to_have_count(0)  # nothing chosen, nothing printed
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell
    button = page.get_by_role("button", name="納品書 1 枚（PDF）")
    expect(button).to_be_visible(timeout=30_000)
    expect(page.get_by_text("選んだ 1 件を対象にします")).to_be_visible()
    wait_for_app(page)
    with page.expect_download() as download:
        button.click()  # the PDF is made now, not on every rerun
    data = open(download.value.path(), "rb").read()  # noqa: SIM115 - read once
    context.close()
    assert download.value.suggested_filename.startswith("nouhinsho_") and data.startswith(b"%PDF-")


def test_uploaders_speak_japanese_and_a_tables_wrapping_choice_is_kept(
    serve: Callable[..., AppServer], page: Page
) -> None:
    app = serve()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{app.url}/shipping")
    zone = page.get_by_test_id("stFileUploaderDropzone").first
    expect(zone).to_be_visible(timeout=30_000)
    wait_for_app(page)
    drawn = page.evaluate(
        """() => {
            const zone = document.querySelector('[data-testid="stFileUploaderDropzone"]');
            const label = zone.querySelector('button [data-testid="stMarkdownContainer"] p');
            const limit = zone.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span');
            const after = (el) => getComputedStyle(el, '::after').content;
            return [after(label), getComputedStyle(label).fontSize, after(limit), getComputedStyle(limit).fontSize];
        }"""
    )
    assert "ファイルを選ぶ" in drawn[0] and drawn[1] == "0px"  # "Upload" is not drawn
    assert "200MB まで" in drawn[2] and drawn[3] == "0px"  # nor "200MB per file • CSV, TXT"

    page.goto(f"{app.url}/orders")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="表示").click()
    wrap = page.get_by_role("switch", name="長い文字を折り返して全部表示")
    expect(wrap).not_to_be_checked()
    wrap.click(force=True)
    expect(wrap).to_be_checked()
    # The toggle's rerun saves the choice; a reload before it lands would cancel that run
    # (wait_for_app alone can look before the run has begun), so wait for the saved file.
    store = ChoiceStore(app.folder / "screen.json")
    deadline = time.monotonic() + 30
    while not store.get(LOCAL_USER, "受注一覧", TableChoice()).wrap:
        assert time.monotonic() < deadline, "the wrapping choice was never saved"
        time.sleep(0.1)
    wait_for_app(page)
    page.goto(f"{app.url}/orders")  # a new page load: the choice was kept for this person
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="表示").click()
    expect(page.get_by_role("switch", name="長い文字を折り返して全部表示")).to_be_checked()


def test_a_rules_dry_run_lists_what_a_rule_would_have_done(
    serve: Callable[..., AppServer], page: Page
) -> None:
    app = serve()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{app.url}/orders")
    expect(page.get_by_role("tab", name="ルール")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("tab", name="ルール").click()
    expect(page.get_by_text("試しに実行（書き込みません）")).to_be_visible()
    expect(page.get_by_text("件に次の処理をしていました")).to_be_visible()
    assert not any(o.rules_applied for o in workbook_tables(app)["受注"].models())
    page.get_by_role("button", name="有効なルールを未発送の注文に今すぐ適用").click()
    expect(page.get_by_text("件の注文にルールを適用しました").first).to_be_visible(timeout=60_000)
    after = workbook_tables(app)["受注"].models()
    assert any(o.rules_applied for o in after)  # the demo's ON rules, applied to open orders
