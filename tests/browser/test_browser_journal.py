"""分析's 仕訳 download in a real browser: the CSV arrives in CP932 with the month's entries,
the month is marked as exported in _システム, and the page says so (not to import it twice)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from settings import load_settings
from sheets_schema.book import open_workbook, read_tables
from sync import state
from tests.browser.conftest import AppServer, wait_for_app


def _marks(app: AppServer) -> dict[str, str]:
    tables = read_tables(open_workbook(load_settings({"workbook": {"sql_url": app.sql_url}})))
    return {k: v for k, v in state.values(tables["_システム"]).items() if k.startswith("仕訳出力:")}


def test_downloading_a_months_journal_marks_it_exported(serve: Callable[..., AppServer], browser) -> None:
    app = serve()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app.url}/analytics")
    heading = page.get_by_text("会計ソフト用の仕訳", exact=True)
    expect(heading).to_be_visible(timeout=60_000)
    wait_for_app(page)
    assert _marks(app) == {}
    button = page.get_by_role("button", name="freee 会計（仕訳） 用の CSV をダウンロード")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=30_000) as download:
        button.click()
    name = download.value.suggested_filename
    data = Path(download.value.path()).read_bytes()
    assert name.startswith("仕訳_freee_") and name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    assert len(rows) > 1 and any("売上高" in cell for row in rows for cell in row)

    month = name.removeprefix("仕訳_freee_").removesuffix(".csv")
    expect(page.get_by_text("二重に取り込まないよう注意してください")).to_be_visible(timeout=30_000)
    marks = _marks(app)
    assert list(marks) == [f"仕訳出力:{month[:4]}-{month[4:]}"]
    context.close()
