"""出荷: from 発送待ち orders to picking list and 納品書, a carrier file, tracking numbers back,
the malls told and the customers mailed — one page, four steps."""

from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from shipping import carrier_files, documents, mail, tracking_import
from shop.privacy import mask_name
from ui import auth, context, labels

settings = context.settings()
role = context.role()
snapshot = context.snapshot()
tables = snapshot.tables
now = datetime.now(JST)

st.title("出荷")
st.caption(
    "発送待ちの注文から、ピッキングリスト・納品書・送り状データを作り、追跡番号を取り込んでモールとお客様に連絡します。"
)

waiting = [o for o in tables["受注"].models() if o.status == "発送待ち"]
if not waiting:
    st.info(
        "発送待ちの注文はありません。受注ボードで注文のステータスを「発送待ち」にすると、ここに並びます。",
        icon=":material/info:",
    )
else:
    masked = not auth.can(role, "編集")
    frame = pd.DataFrame(
        [
            {
                "モール": o.mall,
                "注文番号": o.order_number,
                "注文日時": o.ordered_at.strftime("%Y-%m-%d %H:%M"),
                "送付先": mask_name(o.recipient_name or o.buyer_name)
                if masked
                else (o.recipient_name or o.buyer_name),
                "合計金額": o.total,
                "支払方法": o.payment_method,
            }
            for o in waiting
        ]
    )
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
    chosen = [waiting[i] for i in rows] or waiting
    st.caption(
        f"{'選んだ' if rows else 'すべての'} {len(chosen)} 件を対象にします（行の左端をクリックすると選べます）。"
    )
    keys = [(o.mall, o.order_number) for o in chosen]

    slips_tab, label_tab = st.tabs(["① ピッキング・納品書", "② 送り状データ"])

    with slips_tab:
        shop = documents.ShopInfo(
            settings.app.shop_name,
            settings.app.shop_postcode,
            settings.app.shop_address,
            settings.app.shop_phone,
        )
        lines = documents.picking_list(tables, keys)
        st.dataframe(
            pd.DataFrame(
                [
                    {"SKU": p.sku or "要確認", "商品名": p.name, "数量": p.quantity, "注文数": p.order_count}
                    for p in lines
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        left, right = st.columns(2)
        left.download_button(
            "ピッキングリスト（PDF）",
            # Made when clicked (deferred download), not on every rerun of the page.
            data=lambda: documents.picking_pdf(lines, shop_name=shop.name, printed_at=now),
            file_name=f"picking_{now:%Y%m%d_%H%M}.pdf",
            mime="application/pdf",
            icon=":material/checklist:",
            width="stretch",
        )
        right.download_button(
            f"納品書 {len(keys)} 枚（PDF）",
            data=lambda: documents.delivery_slips_pdf(
                documents.orders_with_lines(tables, keys), shop=shop, printed_at=now
            ),
            file_name=f"nouhinsho_{now:%Y%m%d_%H%M}.pdf",
            mime="application/pdf",
            icon=":material/receipt_long:",
            width="stretch",
        )

    with label_tab:
        layout = carrier_files.LAYOUTS[
            st.selectbox(
                "送り状ソフト",
                list(carrier_files.LAYOUTS),
                format_func=lambda key: carrier_files.LAYOUTS[key].name,
                key="shipping_layout",
            )
        ]
        for note in layout.notes:
            st.caption(note)
        sender = carrier_files.Sender(
            settings.app.shop_name,
            settings.app.shop_postcode,
            settings.app.shop_address,
            settings.app.shop_phone,
        )
        try:
            data = labels.label_file(layout, keys, sender)  # once per read, layout and choice
        except carrier_files.LabelFileError as exc:
            st.error(f"送り状データを作れませんでした: {exc}", icon=":material/error:")
        else:
            st.download_button(
                f"{layout.name} のファイル（{len(keys)} 件・Shift_JIS）",
                data=data,
                file_name=f"{layout.key}_{now:%Y%m%d_%H%M}.csv",
                mime="text/csv",
                icon=":material/download:",
            )
            st.caption(
                "送り状ソフトで取り込み、印刷後に発行済みデータを書き出して、下の「③ 追跡番号の取込」へ。"
            )

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
            preview = tracking_import.preview(tables, data, carrier_files.key_map(orders, 20))
        except (tracking_import.TrackingFileError, carrier_files.LabelFileError) as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.write(f"形式: {preview.format.name}")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "行": r.line,
                            "注文": f"{r.mall} {r.order_number}".strip() or r.key,
                            "追跡番号": r.tracking_number,
                            "結果": r.status,
                            "理由": r.reason,
                        }
                        for r in preview.rows
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
            carrier = preview.format.carrier or st.selectbox(
                "配送会社",
                ["ヤマト運輸", "佐川急便", "日本郵便", "西濃運輸", "福山通運", "その他"],
                key="tracking_carrier",
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
                context.write(tracking_import.apply(tables, preview, carrier))
                with st.status("モールへ出荷を連絡しています…", expanded=True) as status:
                    report = context.sync_engine(lambda p: status.write(p.message)).run_once(fetch=False)
                    status.update(
                        label=f"出荷済 {matched} 件・モールへの連絡 {report.shipments} 件",
                        state="complete",
                    )
                for note in report.notes:
                    st.warning(note)
                context.after_write()

with st.container():
    st.subheader("④ お客様へのメール")
    templates = {t.name: t for t in tables["メールテンプレート"].models()}
    if not templates:
        st.info("メールテンプレートシートにテンプレートがありません。")
    else:
        name = st.selectbox("テンプレート", list(templates), key="mail_template")
        template = templates[name]
        line_index = context.derived("lines_by_order", documents.lines_by_order)  # once per read
        due = [
            o
            for o in tables["受注"].models()
            if mail.is_due(template, o, now) and (name != "発送連絡" or o.tracking_number)
        ]
        if not template.enabled:
            st.caption(f"「{name}」は メールテンプレート シートで OFF になっています。")
        if not due:
            st.caption(f"いま「{name}」を送る対象の注文はありません。")
        else:
            labels = {f"{o.mall} {o.order_number}（{o.buyer_name}）": o for o in due}
            shown = labels[st.selectbox("プレビューする注文", list(labels), key="mail_order")]
            try:
                subject, body = mail.preview(
                    template,
                    shown,
                    line_index.get((shown.mall, shown.order_number), []),
                    shop_name=settings.app.shop_name,
                )
            except mail.MailTemplateError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.text_input("件名", subject, disabled=True)
                st.text_area("本文", body, height=240, disabled=True)
            outbox = mail.outbox_folder(settings)
            if settings.mail is None:
                st.caption(f"メールサーバーの設定（[mail]）がないため、メールは {outbox} に保存されます。")
            targets = [mail.MailOrder(o, line_index.get((o.mall, o.order_number), []), o.email) for o in due]
            if auth.require(role, "編集", "メールの送信") and st.button(
                f"「{name}」を送る（対象 {len(targets)} 件のうち未送信のもの）", icon=":material/mail:"
            ):
                with st.spinner("メールを送っています…"):
                    report = mail.send_pending(
                        context.workbook(),
                        name,
                        targets,
                        settings,
                        clock=lambda: datetime.now(JST),
                        outbox_dir=outbox,
                    )
                context.after_write()
                st.success(
                    f"送信 {len(report.sent)} 件・outbox {len(report.outbox)} 件・送信済み {len(report.already_sent)} 件"
                    f"・宛先なし {len(report.no_address)} 件"
                )
                for note in report.messages():
                    st.warning(note)
            saved = mail.list_outbox(outbox) if outbox.exists() else []
            if saved:
                with st.expander(f"outbox のメール（{len(saved)} 通）"):
                    for item in saved[:20]:
                        st.markdown(f"**{item.subject}** → {item.to}")
