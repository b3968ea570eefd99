"""The 出荷 page's sections that hold customers' personal data, drawn only after the page's
``auth.require`` lets the role see them: ① the picking list and 納品書 downloads, ② the
carrier file, ③ applying tracking numbers (statuses written, malls told), ④ the mail preview
and send. Mall and staff text is escaped for markdown."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from sheets_schema.book import Tables
from sheets_schema.cells import JST
from shipping import bundle_slips, carrier_files, documents, mail, picking_paper, screen, tracking_import
from shipping.carrier_layouts import LAYOUTS
from sync.errors import LeaseHeld
from ui import context, labels
from vocabulary.text import escape_markdown


def document_downloads(
    tables: Tables, lines: list[documents.PickLine], keys: list[tuple[str, str]], now: datetime, slips: int
) -> None:
    """``slips``: how many 納品書 (one per box: a 同梱 group prints one)."""
    shop = screen.shop_info(context.settings().app)
    left, right = st.columns(2)
    left.download_button(
        "ピッキングリスト（PDF）",
        # Made when clicked (deferred download), not on every rerun of the page.
        data=lambda: picking_paper.picking_pdf(lines, shop_name=shop.name, printed_at=now),
        file_name=f"picking_{now:%Y%m%d_%H%M}.pdf",
        mime="application/pdf",
        icon=":material/checklist:",
        width="stretch",
        on_click="ignore",  # a click that also reran the page raced it: "Deferred file … not found"
    )
    right.download_button(
        f"納品書 {slips} 枚（PDF）",
        data=lambda: bundle_slips.delivery_slips_pdf(
            documents.orders_with_lines(tables, keys), shop=shop, printed_at=now
        ),
        file_name=f"nouhinsho_{now:%Y%m%d_%H%M}.pdf",
        mime="application/pdf",
        icon=":material/receipt_long:",
        width="stretch",
        on_click="ignore",
    )


def carrier_file(keys: list[tuple[str, str]], now: datetime) -> None:
    layout = LAYOUTS[
        st.selectbox(
            "送り状ソフト",
            list(LAYOUTS),
            format_func=lambda key: LAYOUTS[key].name,
            key="shipping_layout",
        )
    ]
    for note in (n for n in layout.notes if not n.startswith("⚠")):
        st.caption(note)
    # What no public source confirms about the format is for whoever sets the software up,
    # not for every shipment: under 詳細.
    unconfirmed = [n.removeprefix("⚠").strip() for n in layout.notes if n.startswith("⚠")]
    if unconfirmed:
        with st.expander("詳細（この形式でまだ確かめられていないこと）"):
            for note in unconfirmed:
                st.caption(note)
    settings = context.settings()
    try:
        made = labels.label_file(  # once per read
            layout, keys, screen.sender(settings.app), screen.yamato_account(settings.carriers)
        )
    except carrier_files.LabelFileError as exc:
        st.error(f"送り状データを作れませんでした: {escape_markdown(exc)}", icon=":material/error:")
        return
    # Told before the download: which orders are left out and why, so none is forgotten.
    if made.problems:
        st.warning(
            f"{len(made.problems)} 件の注文は送り状の欄に入らないため、ファイルに入れていません。"
            "受注シートで住所・氏名を直すか、送り状ソフトで手入力してください（この注文は発送待ちのまま残ります）。",
            icon=":material/warning:",
        )
        st.dataframe(pd.DataFrame(screen.problem_rows(made.problems)), hide_index=True, width="stretch")
    if made.data is None:
        st.error("ファイルに入れられる注文がありません。", icon=":material/error:")
        return
    left_out = f"・{len(made.problems)} 件を除く" if made.problems else ""
    st.download_button(
        f"{layout.name} のファイル（{len(made.included)} 件{left_out}・Shift_JIS）",
        data=made.data,
        file_name=f"{layout.key}_{now:%Y%m%d_%H%M}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
    st.caption("送り状ソフトで取り込み、印刷後に発行済みデータを書き出して、下の「③ 追跡番号の取込」へ。")


def apply_tracking(tables: Tables, preview: tracking_import.ImportPreview, carrier: str) -> None:
    """出荷済 and the tracking numbers written, then the malls told in one push-only cycle."""
    matched = len(preview.matched)
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
                label=f"出荷済 {matched} 件・モールへの連絡 {report.shipments} 件", state="complete"
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


def mail_preview(subject: str, body: str) -> None:
    """The mail as the customer will read it: dark text on white in a framed box, line breaks
    kept. (A disabled text area drew it in grey, hard to read.) Escaped as HTML, so a buyer's
    name or a template can never become markup."""
    st.html(
        '<div data-testid="mail-preview" style="border:1px solid rgba(49,51,63,0.2);'
        'border-radius:0.5rem;padding:0.75rem 1rem;line-height:1.7;color:inherit">'
        f'<div style="font-weight:600;margin-bottom:0.5rem">件名: {html.escape(subject)}</div>'
        f'<div style="white-space:pre-wrap">{html.escape(body)}</div></div>'
    )


def mail_section(name: str, template: Any, due: list, line_index: dict) -> None:
    settings = context.settings()
    choices = screen.mail_choices(due)
    shown = choices[st.selectbox("プレビューする注文", list(choices), key="mail_order")]
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
        mail_preview(subject, body)
    outbox = mail.outbox_folder(settings)
    if settings.mail is None:
        st.caption(
            f"メールサーバーがまだ設定されていないため、メールは送らずにこのパソコンのフォルダ（{escape_markdown(outbox)}）に保存します。"
        )
    targets = screen.mail_targets(due, line_index)
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
        with st.expander(f"送らずに保存したメール（{len(saved)} 通）"):
            st.dataframe(pd.DataFrame(screen.outbox_rows(saved)), hide_index=True, width="stretch")
