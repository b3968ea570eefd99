"""Login and roles. With [auth] in secrets, every page needs st.login (OIDC) and the [access]
allow-list gives each e-mail a role; without it, the app is local-only and the user is 管理."""

from __future__ import annotations

import ipaddress
from typing import Literal

import streamlit as st

from settings import Settings
from vocabulary.text import escape_markdown

Role = Literal["閲覧", "編集", "管理"]
_RANK = {"閲覧": 0, "編集": 1, "管理": 2}


def can(role: Role, needed: Role) -> bool:
    return _RANK[role] >= _RANK[needed]


def is_verified(claim: object) -> bool:
    """The OIDC ``email_verified`` claim: true only when the provider says so (some send the
    string "true"). Without it anyone could sign up at a provider with the shop's address."""
    return claim is True or (isinstance(claim, str) and claim.strip().lower() == "true")


def role_for(email: str | None, settings: Settings, email_verified: object = False) -> Role | None:
    if settings.auth is None:
        return "管理"  # local only: whoever sits at this computer runs the shop
    if not email or not is_verified(email_verified):
        return None
    allowed = {address.strip().lower(): role for address, role in settings.access.items()}
    return allowed.get(email.strip().lower())


# Headers a reverse proxy adds: behind one, the TCP peer is the proxy (often on this very
# computer) and the person is somewhere else.
_PROXY_HEADERS = ("X-Forwarded-For", "X-Real-Ip", "Forwarded")


def is_loopback(address: str | None) -> bool:
    """127.0.0.0/8, ::1 and ::ffff:127.x; a name only if it is localhost."""
    if address is None:
        return False
    address = address.strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def server_is_local_only() -> bool:
    """Whether `server.address` keeps other computers from even connecting."""
    return is_loopback(st.get_option("server.address") or None)


def remote_client() -> str | None:
    """This session's client if it is not on this computer, else None. Streamlit gives
    ``st.context.ip_address`` as None for 127.0.0.1 and ::1 (the TCP peer of the websocket);
    a forwarding header means a proxy relayed someone else."""
    ip = st.context.ip_address
    if isinstance(ip, str) and not is_loopback(ip):  # (AppTest has no client: not a str)
        return ip
    headers = st.context.headers
    for name in _PROXY_HEADERS:
        if headers.get(name):
            return f"{headers.get(name)}（{name} 経由）"
    return None


LOCAL_ONLY_MESSAGE = (
    "この Ichigen にはログインの設定（`.streamlit/secrets.toml` の `[auth]`）がないため、"
    "アプリを動かしているパソコン自身（localhost）からしか開けません。\n\n"
    "ほかのパソコンやスマートフォンから使うには、店長が次の設定をしてください:\n"
    "1. Google などの OpenID Connect のログインを用意し、`[auth]` に `redirect_uri`・`cookie_secret`・"
    "`client_id`・`client_secret`・`server_metadata_url` を書く\n"
    "2. `[access]` に使う人のメールアドレスと権限（閲覧・編集・管理）を書く\n"
    "3. アプリを起動し直す\n\n"
    "書き方は `.streamlit/secrets.example.toml` と README の「画面」を参照してください。"
)


def gate(settings: Settings) -> Role:
    """Show the login screen (and stop) until a user with a role is signed in. Without
    [auth], only this computer gets in (as 管理), whatever address the server listens on."""
    if settings.auth is None:
        if remote_client() is not None:
            st.title("Ichigen 一元管理")
            st.error("このパソコン以外からは開けません。", icon=":material/block:")
            st.markdown(LOCAL_ONLY_MESSAGE)
            st.stop()
        return "管理"
    if not st.user.is_logged_in:
        st.title("Ichigen 一元管理")
        st.write("ログインしてください。")
        if st.button("ログイン", type="primary", icon=":material/login:"):
            st.login()
        st.stop()
    email = str(st.user.get("email") or "")
    verified = st.user.get("email_verified")
    role = role_for(email, settings, verified)
    if role is None:
        shown = escape_markdown(email or "（メールアドレスなし）")
        if not is_verified(verified):
            st.error(
                f"{shown} は、ログインサービスでメールアドレスが確認されていないため使えません。"
                "ログインサービスでメールアドレスを確認してから、もう一度ログインしてください。"
            )
        else:
            st.error(
                f"{shown} には Ichigen を使う権限がありません。店長に [access] への追加を頼んでください。"
            )
        if st.button("ログアウト"):
            st.logout()
        st.stop()
    return role


def require(role: Role, needed: Role, action: str) -> bool:
    """True if allowed; otherwise explains why the action is not available."""
    if can(role, needed):
        return True
    st.info(f"{action}には「{needed}」以上の権限が必要です（あなたは「{role}」）。", icon=":material/lock:")
    return False
