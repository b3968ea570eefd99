"""In a real browser: the demo shop opens in Japanese, and login goes through an OIDC provider."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import AppServer, free_port, wait_for_app
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOidc


def test_the_demo_shop_opens_on_home_in_japanese(serve: Callable[..., AppServer], page: Page) -> None:
    app = serve()
    page.goto(app.url)
    expect(page.get_by_text("SKU数")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="ホーム")).to_be_visible()
    expect(page.get_by_text("デモデータを表示しています")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNavItems")
    for label in ("受注ボード", "商品・在庫", "同期", "分析"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    assert "Traceback" not in page.content()
    # A first-time user finds today's shipping from ホーム without the README.
    expect(page.get_by_role("heading", name="今日やること")).to_be_visible()
    page.get_by_role("link", name="出荷を開く").click()
    expect(page.get_by_role("heading", name="出荷", exact=True)).to_be_visible(timeout=30_000)


def test_login_through_an_oidc_provider_then_the_role_from_the_allow_list(
    serve: Callable[..., AppServer], page: Page
) -> None:
    with FakeOidc(email="tencho@example.jp") as provider:
        port = free_port()
        app = serve(
            f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-long-random-cookie-secret-for-tests-only"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{provider.metadata_url}"

[access]
"tencho@example.jp" = "管理"
""",
            port=port,
        )
        page.goto(app.url)
        expect(page.get_by_text("ログインしてください")).to_be_visible()
        expect(page.get_by_text("SKU数")).to_have_count(0)  # nothing before login
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_text("SKU数")).to_be_visible()
        expect(page.get_by_text("tencho@example.jp（管理）")).to_be_visible()
        assert {"/authorize", "/token"} <= set(provider.requests)
