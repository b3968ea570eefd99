"""Ichigen: the entry file is a router.

Calling ``st.navigation`` makes Streamlit ignore the ``pages/`` folder's auto-discovery, so
only the pages listed here exist. Settings are loaded here, once per run, and passed down;
with [auth] configured, nobody gets past ``auth.gate`` without signing in.
"""

import os

import streamlit as st

from settings import SettingsError, load_settings
from sheets_schema.errors import WorkbookError
from ui import auth, context, screen_style, sidebar, unexpected

st.set_page_config(page_title="Ichigen 一元管理", page_icon="🛒", layout="wide")
screen_style.apply()

try:
    secrets = st.secrets.to_dict()
except FileNotFoundError:  # no secrets.toml: the embedded default
    secrets = {}
try:
    settings = load_settings(secrets, os.environ)
except SettingsError as exc:  # names the keys, never their values
    st.error(str(exc), icon=":material/error:")
    st.stop()

role = auth.gate(settings)
context.init(settings, role)

page = st.navigation(
    {
        "": [st.Page("pages/home.py", title="ホーム", icon=":material/home:", default=True)],
        "受注": [st.Page("pages/orders.py", title="受注ボード", icon=":material/view_kanban:")],
        "出荷": [st.Page("pages/shipping.py", title="出荷", icon=":material/local_shipping:")],
        "商品・在庫": [
            st.Page("pages/products.py", title="商品・在庫", icon=":material/inventory_2:"),
            st.Page("pages/purchasing.py", title="発注・入荷", icon=":material/local_mall:"),
            st.Page("pages/listings.py", title="商品登録", icon=":material/sell:"),
        ],
        "モール": [st.Page("pages/sync.py", title="同期", icon=":material/sync:")],
        "分析": [st.Page("pages/analytics.py", title="分析", icon=":material/monitoring:")],
    }
)
try:
    snapshot = context.snapshot()
    if snapshot.unavailable:  # the server is away: the last read is shown, nothing can be saved
        st.warning(context.stale_notice(snapshot.unavailable, snapshot.read_at), icon=":material/cloud_off:")
    sidebar.render(snapshot, settings)
    page.run()
except (WorkbookError, SettingsError) as exc:
    st.error(str(exc), icon=":material/error:")
except Exception as exc:  # anything no page explains: a Japanese notice, the details logged
    unexpected.show(exc)
