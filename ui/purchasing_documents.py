"""発注書 on the 発注・入荷 page: for one 発注, the PDF and CSV downloads and 「発注書をメールで
送る」 (with a confirmation and the result); for several, one CSV. Downloads and sending need
編集: a 発注書 carries the shop's prices and commits it to a supplier; 閲覧 sees the list only.
The logic is in purchasing/po_documents.py, po_pdf.py and po_mail.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from purchasing import po_documents, po_mail, po_pdf
from sheets_schema.book import Tables
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict, StaleWorkbookError, WorkbookError
from sheets_schema.tabs import MAIL_LOG, PRODUCTS, PURCHASE_ORDER_LINES, PURCHASE_ORDERS, SUPPLIERS
from shipping import mail, screen
from shipping.pdf_layout import ShopInfo
from ui import auth, context
from ui.order_actions import flash
from vocabulary.text import escape_markdown


def _documents(tables: Tables, numbers: Sequence[str]) -> list[po_documents.PurchaseOrderDocument] | None:
    try:
        return po_documents.documents(
            tables[PURCHASE_ORDERS.title],
            tables[PURCHASE_ORDER_LINES.title],
            tables[SUPPLIERS.title],
            tables[PRODUCTS.title],
            numbers,
        )
    except po_documents.PurchaseOrderError as exc:
        st.error(
            "発注書を作れません。次のところを直してください。\n\n"
            + "\n".join(f"- {escape_markdown(p)}" for p in exc.problems),
            icon=":material/error:",
        )
        return None


def order_documents(number: str, tables: Tables | None = None) -> None:
    """Under one 発注: 発注書 as PDF and CSV, and sending it to the supplier by mail."""
    if not auth.require(context.role(), "編集", "発注書のダウンロードとメール送信"):
        return
    tables = tables if tables is not None else context.snapshot().tables
    docs = _documents(tables, [number])
    if not docs:
        return
    shop = screen.shop_info(context.settings().app)
    stem = po_documents.file_stem([number])
    left, right = st.columns(2)
    left.download_button(
        "発注書（PDF）",
        # Made when clicked (deferred download), not on every rerun of the page.
        data=lambda: po_pdf.purchase_orders_pdf(docs, shop=shop, printed_at=datetime.now(JST)),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        width="stretch",
        on_click="ignore",  # a click that also reran the page raced it: "Deferred file … not found"
        key=f"po_pdf_{number}",
    )
    right.download_button(
        "発注書（CSV）",
        data=lambda: po_documents.purchase_orders_csv(docs),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
        key=f"po_csv_{number}",
    )
    _mail(docs[0], tables, shop)


def orders_csv(numbers: Sequence[str], tables: Tables | None = None) -> None:
    """One CSV of several 発注 (those shown in the list); nothing for 閲覧."""
    if not numbers or not auth.can(context.role(), "編集"):
        return
    tables = tables if tables is not None else context.snapshot().tables
    docs = _documents(tables, numbers)
    if docs:
        st.download_button(
            f"表示中の発注 {len(docs)} 件を CSV で",
            data=lambda: po_documents.purchase_orders_csv(docs),
            file_name=po_documents.file_stem(numbers) + ".csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="po_csv_many",
        )


def _mail(doc: po_documents.PurchaseOrderDocument, tables: Tables, shop: ShopInfo) -> None:
    settings = context.settings()
    number, supplier = doc.number, doc.supplier
    sent = po_mail.record(tables[MAIL_LOG.title].models(), number)
    if sent is not None:
        when = f"{sent.at:%Y-%m-%d %H:%M}" if sent.at else ""
        st.caption(escape_markdown(f"発注書のメール: {sent.state}（{when} {sent.to}）{sent.error}"))
    if doc.order.status not in po_mail.SENDABLE:
        st.caption(escape_markdown(f"「{doc.order.status}」の発注は、発注書をメールで送れません。"))
        return
    if not supplier.email.strip():
        st.warning(
            escape_markdown(
                f"仕入先シートに {supplier.name} のメールアドレスがないため、メールでは送れません。"
            ),
            icon=":material/mail_lock:",
        )
        return
    with st.expander("送るメールの内容"):
        try:
            subject, body = po_mail.preview(doc, shop, datetime.now(JST))
        except mail.MailTemplateError as exc:
            st.error(escape_markdown(exc), icon=":material/error:")
            return
        st.text_input("宛先", supplier.email, disabled=True, key=f"po_mail_to_{number}")
        st.text_input("件名", subject, disabled=True, key=f"po_mail_subject_{number}")
        st.text_area("本文", body, height=260, disabled=True, key=f"po_mail_body_{number}")
        st.caption(f"添付: {escape_markdown(po_documents.file_stem([number]))}.pdf")
    if settings.mail is None:
        st.caption(
            f"メールサーバーがまだ設定されていないため、メールは送らずにこのパソコンのフォルダ（{escape_markdown(mail.outbox_folder(settings))}）に保存します。"
        )
    confirmed = st.checkbox(
        escape_markdown(
            f"{supplier.name}（{supplier.email.strip()}）へ発注書 {number} を送ります。内容を確認しました"
        ),
        key=f"po_mail_ok_{number}",
    )
    if st.button(
        "発注書をメールで送る", icon=":material/send:", disabled=not confirmed, key=f"po_mail_{number}"
    ):
        _send(number, shop)


def _send(number: str, shop: ShopInfo) -> None:
    settings = context.settings()
    try:
        with st.spinner("発注書を送っています…"):
            result = po_mail.send_purchase_order(
                context.workbook(),
                number,
                settings,
                shop,
                clock=lambda: datetime.now(JST),
                outbox_dir=mail.outbox_folder(settings),
            )
        flash(result.level, result.message)
    except (CellConflict, StaleWorkbookError, WorkbookError) as exc:
        flash(
            "error", f"書き込めませんでした（{exc}）。メール送信履歴を確かめてから、もう一度お試しください。"
        )
    finally:
        context.after_write()
    st.session_state.pop(f"po_mail_ok_{number}", None)  # the next send is confirmed again
    st.rerun()
