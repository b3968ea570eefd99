"""出荷: from 発送待ち orders to picking list and 納品書, a carrier file, tracking numbers back,
the malls told and the customers mailed — one page, four steps.

Each section with customers' personal data is drawn (from ``ui.shipping_sections``) only after
``auth.require`` lets the role see it; 閲覧 sees recipients' names masked. Rows and choices are
shaped in ``shipping.screen``."""

from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from shipping import bundle_slips, bundles, carrier_files, documents, mail, screen, tracking_import
from shop.privacy import mask_name
from ui import auth, context
from ui import shipping_sections as sections
from ui.auto_mail_queue import auto_mail_queue
from ui.bundle_section import bundle_section
from vocabulary.text import escape_markdown

settings = context.settings()
role = context.role()
snapshot = context.snapshot()
tables = snapshot.tables
now = datetime.now(JST)

st.title("出荷")
st.caption(
    "発送待ちの注文から、ピッキングリスト・納品書・送り状データを作り、追跡番号を取り込んでモールとお客様に連絡します。"
)

all_orders = tables["受注"].models()
waiting = [o for o in all_orders if o.status == "発送待ち"]
bundle_section(all_orders, role)  # 同梱: proposals to confirm, groups to undo
if not waiting:
    st.info(
        "発送待ちの注文はありません。受注ボードで注文のステータスを「発送待ち」にすると、ここに並びます。",
        icon=":material/info:",
    )
else:
    masked = not auth.can(role, "編集")
    frame = pd.DataFrame(screen.waiting_rows(waiting, mask_name if masked else None))
    st.subheader(f"発送待ち {len(waiting)} 件")
    picked = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key="shipping_orders",
        column_config={"合計金額": st.column_config.NumberColumn("合計金額", format="¥%,d")},
    )
    rows = picked.selection.rows if picked and picked.selection else []
    picked_orders = screen.chosen_orders(
        waiting,
        rows,
        everything=not rows
        and st.checkbox(f"発送待ちのすべて（{len(waiting)} 件）を対象にする", key="shipping_all"),
    )
    # A 同梱 group is one box: ticking one of its orders takes the group's other 発送待ち orders.
    chosen = bundles.with_group_members(picked_orders, waiting)
    if not chosen:
        # Nothing is printed or exported for orders nobody chose: a label file for every
        # waiting order, made by a click on the wrong tab, ships goods that should wait.
        st.info(
            "出荷する注文を上の表で選んでください（行の左端をクリック。見出しの左端ですべて選べます）。",
            icon=":material/touch_app:",
        )
    else:
        added = len(chosen) - len(picked_orders)
        with_group = f"（同梱の相手 {added} 件を含む）" if added else ""
        st.caption(f"{'選んだ' if rows else 'すべての'} {len(chosen)} 件{with_group}を対象にします。")
        keys = [(o.mall, o.order_number) for o in chosen]
        slips_tab, label_tab = st.tabs(["① ピッキング・納品書", "② 送り状データ"])

        with slips_tab:
            lines = documents.picking_list(tables, keys)
            st.dataframe(pd.DataFrame(screen.picking_rows(lines)), hide_index=True, width="stretch")
            # The documents carry customers' names and addresses (the picking list their order
            # numbers): only for staff who ship, never for 閲覧.
            if auth.require(role, "編集", "ピッキングリストと納品書の印刷"):
                sections.document_downloads(tables, lines, keys, now, bundle_slips.slip_count(chosen))

        with label_tab:
            if auth.require(role, "編集", "送り状データ（お客様の氏名・住所・電話番号入り）の作成"):
                sections.carrier_file(keys, now)

with st.container():
    st.subheader("③ 追跡番号の取込")
    upload = st.file_uploader(
        "送り状ソフトが書き出したファイル（B2 発行済データ・e飛伝 出荷履歴・ゆうプリR 発送履歴、または「注文番号,追跡番号」の2列）",
        type=["csv", "txt"],
        key="tracking_file",
    )
    if upload is not None:
        data = upload.getvalue()
        orders = tables["受注"].models()
        try:
            preview = tracking_import.preview(tables, data, carrier_files.key_map(orders))
        except (tracking_import.TrackingFileError, carrier_files.LabelFileError) as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
        else:
            st.text(f"形式: {preview.format.name}")
            st.dataframe(pd.DataFrame(screen.tracking_rows(preview.rows)), hide_index=True, width="stretch")
            carrier = preview.format.carrier or st.selectbox(
                "配送会社", screen.CARRIERS, key="tracking_carrier"
            )
            matched = len(preview.matched)
            if (
                matched
                and auth.require(role, "編集", "追跡番号の反映")
                and st.button(
                    f"{matched} 件を出荷済にしてモールへ連絡する",
                    type="primary",
                    icon=":material/local_shipping:",
                )
            ):
                sections.apply_tracking(tables, preview, carrier)

with st.container():
    st.subheader("④ お客様へのメール")
    auto_mail_queue()
    templates = {t.name: t for t in tables["メールテンプレート"].models()}
    if not templates:
        st.info("メールテンプレートシートにテンプレートがありません。")
    else:
        name = st.selectbox("テンプレート", list(templates), key="mail_template")
        template = templates[name]
        line_index = context.derived("lines_by_order", documents.lines_by_order)  # once per read
        due = mail.due_orders(
            template, tables["受注"].models(), tables["メール送信履歴"].models(), now, settings
        )
        if not template.enabled:
            st.caption(f"「{escape_markdown(name)}」は メールテンプレート シートで OFF になっています。")
        if not due:
            st.caption(f"いま「{escape_markdown(name)}」を送る対象の注文はありません。")
        elif auth.require(
            role, "編集", f"対象 {len(due)} 件のメールのプレビューと送信（お客様の氏名・住所入り）"
        ):
            sections.mail_section(name, template, due, line_index)
