"""商品登録: per mall, what the workbook (商品 + モール商品) says each listing should show, compared
on demand with what the mall shows; the chosen differences are sent by 管理 and every result is
recorded in _出品送信. Logic: shop/listings.py and sync/listings.py; widgets: ui/listings.py."""

import streamlit as st

from shop import listings as shop_listings
from ui import context
from ui.listings import mall_section

snapshot = context.snapshot()
rows = shop_listings.listing_rows(snapshot.tables["商品"], snapshot.tables["モール商品"])

st.title("商品登録")
st.caption(
    "商品シートとモール商品シートの商品名・販売価格・キャッチコピー・商品説明・タグを各モールへ送ります。"
    "モール商品名・販売価格（モール）が空欄なら商品シートの値を送り、キャッチコピー・商品説明・タグは入力した出品だけ送ります。"
    "モールにない出品は新しく登録します（Shopify・楽天）。Amazon・Yahoo!ショッピングでは一括登録ファイルを作ります。"
)
channels = shop_listings.channels(context.settings())
if not channels:
    st.info("モールの連携が設定されていません。")
else:
    for tab, channel in zip(st.tabs([c.display_name for c in channels]), channels, strict=True):
        with tab:
            mall_section(channel, rows)
