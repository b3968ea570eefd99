"""Login gate and roles through AppTest (the real OIDC round trip is in tests/browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from ui.auth import can, role_for

pytestmark = pytest.mark.usefixtures("fresh_caches")

APP = str(PROJECT_ROOT / "app.py")
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {"tencho@example.jp": "管理", "part@example.jp": "閲覧"}


def sign_in(at: AppTest, email: str, role: str) -> AppTest:
    """An AppTest with [auth] set and ``email`` signed in (verified) holding ``role``."""
    at.secrets["auth"] = AUTH
    at.secrets["access"] = {email: role}
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    return at


def app(tmp_path: Path, user: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    at.user = user
    return at.run()


def test_nothing_shows_before_login(tmp_path: Path) -> None:
    at = app(tmp_path, {"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["ログイン"]
    assert not at.metric  # no shop data


def test_a_signed_in_stranger_is_refused(tmp_path: Path) -> None:
    at = app(tmp_path, {"is_logged_in": True, "email": "someone@example.com", "email_verified": True})
    assert "権限がありません" in at.error[0].value
    assert not at.metric


def test_an_allowed_user_sees_the_shop_with_their_role(tmp_path: Path) -> None:
    at = app(tmp_path, {"is_logged_in": True, "email": "part@example.jp", "email_verified": True})
    assert not at.exception
    assert {m.label for m in at.metric} >= {"SKU数", "新規"}
    assert any("part@example.jp（閲覧）" in c.value for c in at.sidebar.caption)


def test_roles_rank_and_local_use_is_admin() -> None:
    assert can("管理", "編集") and can("編集", "編集") and not can("閲覧", "編集")
    settings = load_settings({"auth": AUTH, "access": ACCESS})
    assert role_for("Tencho@example.jp ", settings, True) == "管理"
    assert role_for("tencho@example.jp", settings, "true") == "管理"
    assert role_for("nobody@example.jp", settings, True) is None
    for unverified in (False, None, "false", "", 1):
        assert role_for("tencho@example.jp", settings, unverified) is None
    assert role_for(None, load_settings({})) == "管理"


def test_what_counts_as_this_computer() -> None:
    from ui.auth import is_loopback

    for local in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"):
        assert is_loopback(local), local
    for remote in ("192.0.2.2", "0.0.0.0", "::", "", None, "fd00::2", "::ffff:192.0.2.2", "example.jp"):
        assert not is_loopback(remote), remote


def test_without_auth_a_server_listening_beyond_loopback_says_others_are_refused(tmp_path: Path) -> None:
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["workbook"] = {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}
        at.secrets["sync"] = {"auto_sync_demo": False}
        at.run()
    finally:
        config.set_option("server.address", before)
    assert not at.exception
    assert any("ほかのパソコンからの接続はお断りしています" in w.value for w in at.sidebar.warning)
