"""Without [auth] the app is for the computer it runs on, even when the server listens on every
interface (STREAMLIT_SERVER_ADDRESS=0.0.0.0): a browser reaching it through this machine's
network address is refused; one on localhost gets in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import AppServer, interface_address, wait_for_app

ADDRESS = interface_address()
pytestmark = pytest.mark.skipif(ADDRESS is None, reason="this machine has no non-loopback IPv4 address")


def _refused(page: Page) -> None:
    expect(page.get_by_text("このパソコン以外からは開けません。")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_text("[auth]").first).to_be_visible()
    content = page.content()
    for shop_data in ("SKU数", "受注ボード", "デモデータを表示しています", "ワークブック"):
        assert shop_data not in content
    assert "Traceback" not in content


@pytest.mark.parametrize("bind", ["0.0.0.0", "interface"])
def test_a_client_from_the_network_is_refused_without_auth(
    serve: Callable[..., AppServer], page: Page, bind: str
) -> None:
    assert ADDRESS is not None
    app = serve(address=ADDRESS if bind == "interface" else "0.0.0.0")
    page.goto(f"http://{ADDRESS}:{app.port}/")  # the TCP peer is ADDRESS, not 127.0.0.1
    _refused(page)
    page.goto(f"http://{ADDRESS}:{app.port}/shipping")  # a page's own address: refused too
    _refused(page)


def test_localhost_gets_in_and_the_sidebar_says_others_are_refused(
    serve: Callable[..., AppServer], page: Page
) -> None:
    app = serve(address="0.0.0.0")
    page.goto(f"http://127.0.0.1:{app.port}/")
    expect(page.get_by_text("SKU数")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_text("ほかのパソコンからの接続はお断りしています")).to_be_visible()


def test_a_request_relayed_by_a_proxy_on_this_computer_is_refused(
    serve: Callable[..., AppServer], browser: Browser
) -> None:
    app = serve()  # 127.0.0.1, as behind nginx on the same machine
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    try:
        page = context.new_page()
        page.goto(app.url)
        _refused(page)
    finally:
        context.close()
