"""A bookmark to a page works on a freshly started server (no pages/-folder fallback)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import AppServer, wait_for_app


def test_a_fresh_server_opens_a_page_by_its_address(serve: Callable[..., AppServer], page: Page) -> None:
    app = serve()
    page.goto(f"{app.url}/sync")  # the very first request this server gets
    expect(page.get_by_role("heading", name="同期", exact=True)).to_be_visible()
    wait_for_app(page)
    assert page.url.endswith("/sync")
    assert "Traceback" not in page.content() and "KeyError" not in page.content()
