"""The 出荷 page's PDF downloads in a real browser: ピッキングリスト then 納品書, ten times in a row,
each one a whole PDF. A deferred download button whose click also reran the page raced the rerun:
the rerun replaced the button's generator and the click's request found it gone
(MediaFileStorageError: Deferred file … not found)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, wait_for_app


def _valid_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def test_picking_list_then_delivery_slips_ten_times_in_a_row_all_arrive(
    serve: Callable[..., AppServer], browser
) -> None:
    app = serve()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on(  # the generated files are fetched from these routes
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and ("deferred" in r.url or "/media/" in r.url)
            else None
        ),
    )
    page.goto(f"{app.url}/shipping")
    page.get_by_text("発送待ちのすべて").click()  # nothing is printed until orders are chosen
    picking = page.get_by_role("button", name="ピッキングリスト（PDF）")
    slips = page.get_by_role("button", name="納品書").first
    expect(slips).to_be_visible(timeout=30_000)
    wait_for_app(page)
    arrived: list[tuple[str, int]] = []
    for _ in range(10):
        # At a person's pace: Chromium drops a page's download requests beyond ten a second
        # (chromium CL 1132485, "Throttle url download requests from a RenderFrame").
        page.wait_for_timeout(300)
        for button, prefix in ((picking, "picking_"), (slips, "nouhinsho_")):
            with page.expect_download(timeout=15_000) as download:
                button.click()
            path = download.value.path()
            data = Path(path).read_bytes() if path else b""
            name = download.value.suggested_filename
            assert name.startswith(prefix) and name.endswith(".pdf"), name
            assert _valid_pdf(data), (name, data[:40])
            arrived.append((name, len(data)))
    assert len(arrived) == 20
    assert not page.get_by_text("MediaFileStorageError").count()
    assert problems == []
    context.close()
