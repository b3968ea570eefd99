"""The sidebar every page shares: which workbook is open, when it was read, demo notice."""

from __future__ import annotations

import streamlit as st

from settings import Settings
from ui import auth, context
from ui.context import Snapshot
from vocabulary.text import escape_markdown


def render(snapshot: Snapshot, settings: Settings) -> None:
    with st.sidebar:
        info = snapshot.info
        if info.backend == "google":
            # The title is whatever staff named the spreadsheet in Google: link text, as typed.
            st.markdown(
                f"**ワークブック**: Google スプレッドシート [{escape_markdown(info.title)}]({info.url})"
            )
        else:
            server = info.location.startswith("postgresql")
            st.markdown(f"**ワークブック**: {'データベースサーバー' if server else 'このパソコンの中'}")
        # Where exactly is for whoever looks after the setup, not for every screen of the day.
        with st.expander("詳細", icon=":material/info:"):
            st.caption(f"保存先: {info.machine_location or info.location}")
            if info.machine_location:
                st.caption("在庫移動・同期ログなど Ichigen だけが書くシートはデータベースに置いています")
        st.caption(
            f"読み込み: {snapshot.read_at:%Y-%m-%d %H:%M:%S}（{settings.app.cache_ttl_seconds}秒ごとに更新）"
        )
        if st.button("最新の状態を読み込む", icon=":material/refresh:", width="stretch"):
            context.after_write()
            st.rerun()
        if snapshot.demo_since:
            st.info(
                f"デモデータを表示しています（{snapshot.demo_since[:10]} 作成）。"
                "実際のショップで使うには Google スプレッドシートを接続してください（README 参照）。",
                icon=":material/science:",
            )
        auto = context.auto_sync()
        if auto is not None:
            if auto.last_error:
                st.warning(
                    f"デモモールとの自動同期でエラー: {escape_markdown(auto.last_error)}",
                    icon=":material/sync_problem:",
                )
            elif auto.last_run is not None:
                st.caption(
                    f"デモモールと {settings.sync.interval_seconds}秒ごとに自動同期中"
                    f"（最終 {auto.last_run:%H:%M:%S}、新規 {auto.last_created} 件）"
                )
            else:
                st.caption("デモモールとの自動同期を始めました")
        if settings.auth is None:
            st.caption("ログイン設定がないため、このパソコン（localhost）からのみ開けます。")
            if not auth.server_is_local_only():
                st.warning(
                    f"サーバーが {st.get_option('server.address') or 'すべてのアドレス'} で待ち受けています。"
                    "ログイン設定（[auth]）がないため、ほかのパソコンからの接続はお断りしています。"
                    "ほかのパソコンから使うには [auth] を設定してください。",
                    icon=":material/lan:",
                )
        else:
            st.caption(f"{st.user.get('email', '')}（{context.role()}）")
            if st.button("ログアウト", icon=":material/logout:"):
                st.logout()
