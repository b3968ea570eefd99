"""Mall data holding markdown images, links and HTML, in a real browser: 受注ボード's 要確認 queue,
an opened order and 同期's failed run show them as text, and the browser never asks the address
they point at for anything (an image or a prefetched link would)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, Request, expect

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from tests.browser.conftest import AppServer, wait_for_app

EVIL = "203.0.113.7"
IMAGE = f"![x](http://{EVIL}/x.png)"
LINK = f"[click](http://{EVIL}/)"
TAG = f"<img src=http://{EVIL}/y.png>"
NUMBER = "HOSTILE-0001"
FIRST_ROW_Y = 35 + 17


def seed(folder: Path) -> None:
    """The demo workbook the server will open, plus: one order whose mall data is hostile, a
    mall file the sync could not take in (its name and problem hostile) and a failed run."""
    url = f"sqlite:///{folder / 'wb.sqlite3'}"
    now = datetime.now(JST)
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), now)
    tables = read_tables(workbook)
    orders, lines = tables["受注"], tables["受注明細"]

    def raw(table: object, row: int) -> dict[str, str]:
        return {h: table.grid.cell(row, table.column(h)) for h in table.spec.headers}  # type: ignore[attr-defined]

    source = raw(orders, orders.records[0].row)
    its = [raw(lines, r.row) for r in lines.records]
    its = [x for x in its if (x["モール"], x["注文番号"]) == (source["モール"], source["注文番号"])]
    job = WriteJob()
    job.append(
        orders,
        [
            {
                **source,
                "注文番号": NUMBER,
                "注文日時": now.strftime("%Y-%m-%d %H:%M:%S"),
                "ステータス": "発送待ち",
                "支払方法": TAG,
                "購入者名": IMAGE,
                "備考": LINK,
                "要確認": IMAGE,
                "モールステータス": TAG,
            }
        ],
    )
    job.append(lines, [{**x, "注文番号": NUMBER, "商品名": LINK} for x in its])
    from sync import state
    from sync.connectors import DEMO_CHANNELS

    mall, channel = next((c["mall"], name) for name, c in DEMO_CHANNELS.items())
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    job.append(
        tables["同期ログ"],
        [
            {
                "実行ID": "run-hostile",
                "開始日時": stamp,
                "終了日時": stamp,
                "モール": mall,
                "処理": f"受注取込（{channel}）",
                "結果": "失敗",
                "エラー内容": f"{IMAGE} {LINK} {TAG}",
            }
        ],
    )
    problems = state.Problems().replaced(mall, f"{LINK}.csv", [f"{IMAGE} {TAG}"], now)
    state.put(job, tables["_システム"], state.problems_key("demo"), problems.encode(), now)
    workbook.write(job)


def shown_text(where: object) -> str:
    """The text as a person reads it: escape_markdown's invisible WORD JOINERs (which keep a
    URL from being linked) left out."""
    return (
        where.locator("body").inner_text().replace("\u2060", "")
        if isinstance(where, Page)
        else (
            where.inner_text().replace("\u2060", "")  # type: ignore[attr-defined]
        )
    )


def test_hostile_mall_data_is_text_and_the_browser_never_fetches_it(
    serve: Callable[..., AppServer], page: Page, tmp_path: Path
) -> None:
    seed(tmp_path)
    app = serve()
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)

    page.goto(f"{app.url}/orders")
    expect(page.get_by_role("heading", name="受注ボード", exact=True)).to_be_visible()
    wait_for_app(page)
    # 要確認: the import error's group names the file and the problem, as text
    page.get_by_role("tab", name="要確認").click()
    queue = page.locator('[data-testid="stExpander"]', has_text="取込エラー")
    expect(queue).to_be_visible()
    if "click" not in queue.inner_text():
        queue.locator("summary").first.click()
    expect(queue.get_by_text("click", exact=False).first).to_be_visible()
    assert f"{LINK}.csv" in shown_text(queue)

    # the order, found by its number and opened
    page.get_by_role("tab", name="受注一覧").click()
    page.get_by_placeholder("注文番号・購入者名・SKU で検索").fill(NUMBER)
    page.keyboard.press("Enter")
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
    expect(page.get_by_role("heading", name=f"注文 {NUMBER}", exact=False)).to_be_visible()
    wait_for_app(page)
    body = shown_text(page)
    assert IMAGE in body  # 要確認 note of the order
    assert LINK in body  # 備考
    assert TAG in body  # 支払方法 and the mall's status

    # 同期: the failed run's error, in the mall's own words
    page.goto(f"{app.url}/sync")
    wait_for_app(page)
    expect(page.get_by_text("最新のエラー", exact=False).first).to_be_visible()
    page.wait_for_timeout(1000)  # anything the page would load, loaded
    assert f"{IMAGE} {LINK} {TAG}" in shown_text(page)

    assert not page.locator(f'img[src*="{EVIL}"], a[href*="{EVIL}"]').count()
    assert [u for u in requested if EVIL in u] == []
    assert requested  # the recorder saw the app's own requests
