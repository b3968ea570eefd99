"""What staff see when a page fails in a way no page explains: a Japanese notice with a short
error number, never the exception's text (it can hold shop data or paths); the traceback goes
to the server's log under the same number, for whoever looks after the app.

Streamlit's own notice for this (``client.showErrorDetails = "none"``) is in English."""

from __future__ import annotations

import logging
import secrets

import streamlit as st

log = logging.getLogger("ichigen.app")


def show(exc: Exception) -> str:
    """Log ``exc`` with a new error number and tell staff; returns the number."""
    number = secrets.token_hex(3).upper()
    log.error("画面のエラー %s", number, exc_info=exc)
    st.error(
        f"画面の表示中に思わぬエラーが起きました（エラー番号 {number}）。"
        "ページを読み込み直してください。続くときは、この番号を管理者に伝えてください。"
        "入力済みのデータはワークブックに残っています。",
        icon=":material/error:",
    )
    return number
