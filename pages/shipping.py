"""出荷: from 発送待ち orders to picking list and 納品書, a carrier file, tracking numbers back,
the malls told and the customers mailed — one page, four steps."""

from datetime import datetime

import pandas as pd
import streamlit as st

from sheets_schema.cells import JST
from shipping import carrier_files, documents, mail, tracking_import
from shop.privacy import mask_name
from sync.errors import LeaseHeld
from ui import auth, context, labels
from vocabulary.text import escape_markdown

settings = context.settings()
role = context.role()
snapshot = context.snapshot()
tables = snapshot.tables
now = datetime.now(JST)


def _shop() -> documents.ShopInfo:
    return documents.ShopInfo(
        settings.app.shop_name,
        settings.app.shop_postcode,
        settings.app.shop_address,
        settings.app.shop_phone,
    )


def _documents(lines: list[documents.PickLine], keys: list[tuple[str, str]]) -> None:
    shop = _shop()
    left, right = st.columns(2)
    left.download_button(
        "ピッキングリスト（PDF）",
        # Made when clicked (deferred download), not on every rerun of the page.
        data=lambda: documents.picking_pdf(lines, shop_name=shop.name, printed_at=now),
        file_name=f"picking_{now:%Y%m%d_%H%M}.pdf",
        mime="application/pdf",
        icon=":material/checklist:",
        width="stretch",
        on_click="ignore",  # a click that also reran the page raced it: "Deferred file … not found"
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
        on_click="ignore",
    )


def _carrier_file(keys: list[tuple[str, str]]) -> None:
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
        st.error(f"送り状データを作れませんでした: {escape_markdown(exc)}", icon=":material/error:")
    else:
        st.download_button(
            f"{layout.name} のファイル（{len(keys)} 件・Shift_JIS）",
            data=data,
            file_name=f"{layout.key}_{now:%Y%m%d_%H%M}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
        )
        st.caption("送り状ソフトで取り込み、印刷後に発行済みデータを書き出して、下の「③ 追跡番号の取込」へ。")


def _mail(name: str, template: object, due: list, line_index: dict) -> None:
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
        st.error(escape_markdown(exc), icon=":material/error:")
    else:
        st.text_input("件名", subject, disabled=True)
        st.text_area("本文", body, height=240, disabled=True)
    outbox = mail.outbox_folder(settings)
    if settings.mail is None:
        st.caption(
            f"メールサーバーの設定（[mail]）がないため、メールは {escape_markdown(outbox)} に保存されます。"
        )
    targets = [mail.MailOrder(o, line_index.get((o.mall, o.order_number), []), o.email) for o in due]
    confirmed = len(targets) <= mail.CONFIRM_ABOVE or st.checkbox(
        f"{len(targets)} 件のお客様に「{escape_markdown(name)}」を送ります。対象を確認しました",
        key=f"mail_ok_{name}",
    )
    if st.button(
        f"「{escape_markdown(name)}」を送る（{len(targets)} 件）",
        icon=":material/mail:",
        disabled=not confirmed,
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
        st.success(escape_markdown(report.summary()))
        for note in report.messages():
            st.warning(escape_markdown(note))
    saved = mail.list_outbox(outbox) if outbox.exists() else []
    if saved:
        with st.expander(f"outbox のメール（{len(saved)} 通）"):
            st.dataframe(
                pd.DataFrame([{"件名": item.subject, "宛先": item.to} for item in saved[:20]]),
                hide_index=True,
                width="stretch",
            )


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
        # The documents carry customers' names and addresses (the picking list their order
        # numbers): only for staff who ship, never for 閲覧.
        if auth.require(role, "編集", "ピッキングリストと納品書の印刷"):
            _documents(lines, keys)

    with label_tab:
        if auth.require(role, "編集", "送り状データ（お客様の氏名・住所・電話番号入り）の作成"):
            _carrier_file(keys)

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
            st.error(escape_markdown(exc), icon=":material/error:")
        else:
            st.text(f"形式: {preview.format.name}")
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
                    try:
                        report = context.sync_engine(lambda p: status.text(p.message)).run_once(fetch=False)
                    except LeaseHeld:
                        # The statuses are written; whoever holds the lease (python -m sync
                        # watch, 今すぐ同期) tells the malls in its cycle, as the next one would.
                        status.update(
                            label=f"出荷済 {matched} 件（モールへの連絡は実行中の同期が続けて行います）",
                            state="complete",
                        )
                        report = None
                    else:
                        status.update(
                            label=f"出荷済 {matched} 件・モールへの連絡 {report.shipments} 件",
                            state="complete",
                        )
                if report is None:
                    st.info(
                        "ちょうど別の同期が実行中でした。出荷済と追跡番号は書き込み済みです。"
                        "モールへの出荷連絡は実行中の同期（または次の同期）が送ります。「同期」画面で確認できます。",
                        icon=":material/schedule:",
                    )
                else:
                    for note in report.notes:
                        st.warning(escape_markdown(note))
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
            _mail(name, template, due, line_index)
