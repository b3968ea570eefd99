"""Login and roles. With [auth] in secrets, every page needs st.login (OIDC) and the [access]
allow-list gives each e-mail a role; without it, the app is local-only and the user is 管理."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from settings import Settings

Role = Literal["閲覧", "編集", "管理"]
_RANK = {"閲覧": 0, "編集": 1, "管理": 2}


def can(role: Role, needed: Role) -> bool:
    return _RANK[role] >= _RANK[needed]


def role_for(email: str | None, settings: Settings) -> Role | None:
    if settings.auth is None:
        return "管理"  # local only: whoever sits at this computer runs the shop
    if not email:
        return None
    allowed = {address.strip().lower(): role for address, role in settings.access.items()}
    return allowed.get(email.strip().lower())


def gate(settings: Settings) -> Role:
    """Show the login screen (and stop) until a user with a role is signed in."""
    if settings.auth is None:
        return "管理"
    if not st.user.is_logged_in:
        st.title("Ichigen 一元管理")
        st.write("ログインしてください。")
        if st.button("ログイン", type="primary", icon=":material/login:"):
            st.login()
        st.stop()
    role = role_for(getattr(st.user, "email", None), settings)
    if role is None:
        st.error(
            f"{st.user.email} には Ichigen を使う権限がありません。店長に [access] への追加を頼んでください。"
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
