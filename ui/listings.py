"""商品登録's widgets: one mall's workbook problems, the comparison read on demand, the chosen
differences sent (管理 only) and their results. Logic: shop/listings.py, sync/listings.py."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from shop import listings as shop_listings
from sync import listings
from sync.errors import SyncError
from ui import auth, context
from vocabulary.text import escape_markdown

_COMPARED = "listings_compared"


def mall_section(channel: shop_listings.Channel, rows: list[listings.ListingRow]) -> None:
    rules = channel.rules
    if rules is None:
        st.info(
            f"{channel.display_name}の商品名・価格・説明は Ichigen から送れません"
            "（送れるのは Shopify・楽天・Amazon・Yahoo!ショッピングとデモモールです）。",
            icon=":material/info:",
        )
        return
    planned = listings.plan(rows, rules)
    st.caption(f"{channel.display_name}の出品 {len(planned.wanted)} 件（モール商品シートの行）")
    if planned.problems:
        with st.expander(
            f"直すところが {len(planned.problems)} 件あります（その行は送りません）", expanded=True
        ):
            for problem in planned.problems[:50]:
                st.text(str(problem))
    compared: dict[str, shop_listings.Comparison] = st.session_state.setdefault(_COMPARED, {})
    if st.button("モールの内容を読む", key=f"listings_read_{channel.channel}", icon=":material/download:"):
        try:
            with st.spinner(f"{channel.display_name}から読み込んでいます…"):
                compared[channel.channel] = shop_listings.compare(
                    shop_listings.client(context.settings(), channel), rows
                )
        except SyncError as exc:
            st.error(escape_markdown(str(exc)))
    comparison = compared.get(channel.channel)
    if comparison is None:
        st.caption("「モールの内容を読む」を押すと、モールの今の内容と比べて違うところを表示します。")
        return
    _show(channel, comparison)


def _show(channel: shop_listings.Channel, comparison: shop_listings.Comparison) -> None:
    extra = [p for p in comparison.problems if p.sheet == "モール商品" or p.sheet == "商品"]
    if extra:
        with st.expander(f"送れない出品 {len(extra)} 件", expanded=False):
            for problem in extra[:50]:
                st.text(str(problem))
    if comparison.new_by_file:
        _new_by_file(channel, comparison)
    if not comparison.differences:
        if not comparison.new_by_file:
            st.success(
                f"{channel.display_name}の内容はワークブックと同じです。", icon=":material/check_circle:"
            )
        return
    if comparison.new_by_file:
        st.subheader(f"モールの内容と違う項目 {len(comparison.differences)} 件")
    frame = pd.DataFrame(shop_listings.diff_table(comparison.differences))
    frame.insert(0, "送る", True)
    edited = st.data_editor(
        frame,
        key=f"listings_pick_{channel.channel}",
        hide_index=True,
        disabled=[c for c in frame.columns if c != "送る"],
    )
    chosen = [d for d, keep in zip(comparison.differences, edited["送る"], strict=True) if keep]
    st.caption(
        f"送る変更 {len(chosen)} 件（{len({d.key for d in chosen})} 出品）。選んだ項目だけを送り、ほかの項目はモールのままです。"
    )
    if not auth.require(context.role(), "管理", "商品登録の送信"):
        return
    if st.button(
        "選んだ変更をモールへ送る",
        key=f"listings_send_{channel.channel}",
        type="primary",
        disabled=not chosen,
    ):
        _send(channel, chosen)


def _new_by_file(channel: shop_listings.Channel, comparison: shop_listings.Comparison) -> None:
    """New listings of a mall that creates them only from its bulk-upload file (made with the
    comparison, not on every rerun)."""
    new = comparison.new_by_file
    keys = list(dict.fromkeys(d.key for d in new))
    st.subheader(f"新しい出品 {len(keys)} 件（一括登録ファイル）")
    st.dataframe(pd.DataFrame(shop_listings.diff_table(new)), hide_index=True)
    if not auth.require(context.role(), "管理", "一括登録ファイルの作成"):
        return
    upload = comparison.upload
    if upload is None:
        st.error(escape_markdown(comparison.upload_problem))
        return
    st.caption(upload.how)
    st.download_button(
        f"{channel.display_name}の一括登録ファイル（{upload.name}）",
        upload.data,
        file_name=upload.name,
        mime=upload.mime,
        key=f"listings_file_{channel.channel}",
        icon=":material/upload_file:",
    )


def _send(channel: shop_listings.Channel, chosen: list[listings.Difference]) -> None:
    client = shop_listings.client(context.settings(), channel)
    try:
        with st.spinner(f"{channel.display_name}へ送っています…"):
            client.read(list({d.key for d in chosen}))  # the ids the mall gives (variant ids, …)
            outcomes = shop_listings.send(
                client,
                chosen,
                by=str(st.user.get("email") or "") if getattr(st.user, "is_logged_in", False) else "",
                now=datetime.now(JST),
                read_sends=lambda: read_tables(context.workbook(), [shop_listings.LISTING_SENDS])[
                    shop_listings.LISTING_SENDS.title
                ],
                write=context.write,
            )
    except SyncError as exc:
        st.error(escape_markdown(str(exc)))
        return
    failed = [o for o in outcomes if not o.ok]
    st.session_state.get(_COMPARED, {}).pop(channel.channel, None)
    for notice in shop_listings.notices(outcomes):  # taken, but not yet what buyers see
        st.warning(escape_markdown(notice), icon=":material/warning:")
    if failed:
        st.warning(
            f"{len(outcomes) - len(failed)} 件を送りました。{len(failed)} 件は{channel.display_name}が受け付けませんでした:"
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "モール商品コード": o.key.item_code,
                        "SKU": o.key.sku,
                        "項目": o.field,
                        "モールのエラー": o.error,
                    }
                    for o in failed
                ]
            ),
            hide_index=True,
        )
    else:
        st.success(
            f"{len(outcomes)} 件を{channel.display_name}へ送りました（_出品送信 シートに記録しました）。"
        )
