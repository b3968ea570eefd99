"""Sending a 発注書 to its supplier by mail, exactly once, through the customer mails' mailer.

The record is a row of メール送信履歴 like a customer mail's, told apart by its テンプレート名
「発注書」 (which no メールテンプレート may take, so the 出荷 page never lists it), with モール
「発注」 and 注文番号 = 発注番号. The mailer's rules hold as they are (shipping/mail_delivery.py):
marked 送信中 before the server is called; 送信済 / outbox is never sent again (a second press
says so); 失敗 is sent again by the next press, up to ``max_retries`` attempts; 要確認 (the
connection broke while the server had it) is never resent automatically: staff ask the supplier
and delete the row to send again.

The job that records 送信済 (or outbox: without a mail server the mail is saved for staff to
send, which is the shop's way of sending) also sets the 発注's 送信日時 and, for a 下書き,
ステータス 発注済: both land or neither.

Subject and body are fixed Japanese text with {{ }} placeholders (``SUBJECT``, ``BODY``) rendered
by the mailer's sandbox; they are not a メールテンプレート row, because that tab's rows are the
customer mails staff choose from on the 出荷 page.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from purchasing.po_documents import PurchaseOrderDocument, PurchaseOrderError, documents, file_stem
from purchasing.po_pdf import purchase_orders_pdf
from settings import Settings
from sheets_schema.book import Tables, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.models import PURCHASE_ORDER_MAIL
from sheets_schema.tabs import MAIL_LOG, PRODUCTS, PURCHASE_ORDER_LINES, PURCHASE_ORDERS, SUPPLIERS
from shipping.mail import render
from shipping.mail_delivery import OUTBOX, SENT, MailReport, Outcomes, Outgoing, deliver_once, max_retries
from shipping.mail_message import Attachment, MailContent
from shipping.pdf_layout import ShopInfo

KIND = PURCHASE_ORDER_MAIL  # メール送信履歴.テンプレート名
MALL = "発注"  # メール送信履歴.モール of a 発注書's row
SENDABLE = ("下書き", "発注済", "一部入荷")
LISTED_LINES = 30  # lines listed in the mail's body

SUBJECT = "【発注書】{{ 発注番号 }}（{{ ショップ名 }}）"
BODY = """{{ 宛名 }}

いつもお世話になっております。{{ ショップ名 }}です。
下記の通り発注いたします。発注書（PDF）を添付しましたので、ご確認をお願いいたします。

■発注番号：{{ 発注番号 }}
■発注日：{{ 発注日 }}
■納期（入荷予定日）：{{ 入荷予定日 }}
■発注内容
{{ 商品一覧 }}
■合計：{{ 合計数量 }}点　{{ 合計金額 }}
{% if 備考 %}■備考：{{ 備考 }}
{% endif %}
納期のご都合が合わない場合や欠品がございましたら、このメールへの返信でお知らせください。
よろしくお願いいたします。

──────────────────
{{ ショップ名 }}
{{ 住所 }}
{{ 電話番号 }}
──────────────────
"""


@dataclass(frozen=True)
class SendResult:
    level: str  # "success" | "info" | "warning" | "error": how the page shows ``message``
    message: str
    report: MailReport | None = None


def _day(value: Any) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else "ご相談"


def context(doc: PurchaseOrderDocument, shop: ShopInfo, today: Any) -> dict[str, str]:
    """The placeholders of SUBJECT and BODY for one 発注."""
    supplier = doc.supplier
    items = "\n".join(
        f"・{line.name}（SKU {line.sku}）× {line.quantity:,}"
        + (f"（単価 {line.unit_cost:,}円）" if line.unit_cost is not None else "（単価 未定）")
        for line in doc.lines[:LISTED_LINES]
    )
    if len(doc.lines) > LISTED_LINES:  # the mail stays short; the PDF has every line
        items += f"\n・ほか {len(doc.lines) - LISTED_LINES} 行（添付の発注書をご覧ください）"
    total = f"{doc.total:,}円" + (f"（単価未定 {doc.unpriced} 行を除く）" if doc.unpriced else "")
    return {
        "宛名": f"{supplier.name}\n{supplier.contact} 様" if supplier.contact else f"{supplier.name} 御中",
        "ショップ名": shop.name,
        "発注番号": doc.number,
        "発注日": _day(doc.ordered_on(today)),
        "入荷予定日": _day(doc.order.expected_on),
        "商品一覧": items,
        "合計数量": f"{doc.units:,}",
        "合計金額": total,
        "備考": doc.note,
        "住所": " ".join(filter(None, [f"〒{shop.postcode}" if shop.postcode else "", shop.address])),
        "電話番号": f"TEL {shop.phone}" if shop.phone else "",
    }


def preview(doc: PurchaseOrderDocument, shop: ShopInfo, at: datetime) -> tuple[str, str]:
    """(件名, 本文) of the 発注書 mail."""
    values = context(doc, shop, at.date())
    subject = render(SUBJECT, values, template=KIND, part="件名")
    return " ".join(subject.split()), render(BODY, values, template=KIND, part="本文")


def content(doc: PurchaseOrderDocument, shop: ShopInfo, at: datetime) -> MailContent:
    subject, body = preview(doc, shop, at)
    pdf = purchase_orders_pdf([doc], shop=shop, printed_at=at)
    return MailContent(subject, body, (Attachment(file_stem([doc.number]) + ".pdf", "application/pdf", pdf),))


def record(log_rows: Any, number: str) -> Any:
    """The メール送信履歴 row of this 発注's 発注書, or None."""
    return next(
        (r for r in log_rows if r.template == KIND and (r.mall, r.order_number) == (MALL, number)), None
    )


def _mark_ordered(tables: Tables, job: WriteJob, outcomes: Outcomes, at: datetime) -> None:
    """In the job that records the outcome: 送信日時, and 発注済 for a 下書き."""
    orders = tables[PURCHASE_ORDERS.title]
    by_row = {r.row: r.value for r in orders}
    for (_, number), (state, _) in outcomes.items():
        row = orders.find_row((number,))
        order = by_row.get(row) if row is not None else None
        if state not in (SENT, OUTBOX) or order is None:
            continue  # a row staff broke meanwhile: the log still says what happened
        cells: dict[str, Any] = {"送信日時": at, "更新日時": at}
        if order.status == "下書き":
            cells["ステータス"] = "発注済"
        job.set(orders, row, cells)


def send_purchase_order(
    workbook: Any,
    number: str,
    settings: Settings,
    shop: ShopInfo,
    *,
    clock: Callable[[], datetime],
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    outbox_dir: Path | None = None,
) -> SendResult:
    """Mail 発注 ``number``'s 発注書 (PDF attached) to its supplier's メールアドレス, once."""
    tables = read_tables(workbook, [MAIL_LOG, SUPPLIERS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES, PRODUCTS])
    try:
        (doc,) = documents(
            tables[PURCHASE_ORDERS.title],
            tables[PURCHASE_ORDER_LINES.title],
            tables[SUPPLIERS.title],
            tables[PRODUCTS.title],
            [number],
        )
    except PurchaseOrderError as exc:
        return SendResult("error", "発注書を送れません。\n" + "\n".join(exc.problems))
    if doc.order.status not in SENDABLE:
        return SendResult(
            "error",
            f"発注「{number}」は「{doc.order.status}」です。発注書を送れるのは {'・'.join(SENDABLE)} の発注です",
        )
    if not doc.supplier.email.strip():
        row = tables[SUPPLIERS.title].find_row((doc.supplier.name,))
        return SendResult(
            "error",
            f"「{SUPPLIERS.title}」シート {row}行目「メールアドレス」列が空欄です。"
            f"{doc.supplier.name} のメールアドレスを入れてから送ってください",
        )
    item = Outgoing(
        (MALL, number),
        doc.supplier.email,
        lambda: content(doc, shop, clock()),
        fix_where="仕入先シートのメールアドレス",
    )
    report = deliver_once(
        workbook,
        KIND,
        tables[MAIL_LOG.title],
        [item],
        settings,
        clock=clock,
        smtp_factory=smtp_factory,
        outbox_dir=outbox_dir,
        finish=_mark_ordered,
        finish_reads=(PURCHASE_ORDERS,),
    )
    return _result(report, doc, record(tables[MAIL_LOG.title].models(), number), max_retries(settings))


def _result(report: MailReport, doc: PurchaseOrderDocument, before: Any, retries: int) -> SendResult:
    number, to = doc.number, doc.supplier.email.strip()
    ordered = "ステータスを「発注済」にしました。" if doc.order.status == "下書き" else ""
    again = (
        "もう一度送るときは、メール送信履歴の「発注書」の行（注文番号 " + number + "）を削除してください。"
    )
    if report.sent:
        return SendResult(
            "success", f"発注書 {number} を {doc.supplier.name}（{to}）へ送信しました。{ordered}", report
        )
    if report.outbox:
        return SendResult(
            "success",
            f"メールサーバーがまだ設定されていないため、発注書 {number} のメールは送らずに"
            f"このパソコンのフォルダに保存しました（{report.outbox[0]}）。{ordered}",
            report,
        )
    if report.already_sent:
        when = f"{before.at:%Y-%m-%d %H:%M}・" if before is not None and before.at else ""
        shown_to = before.to if before is not None else to
        return SendResult("info", f"発注書 {number} は送信済みです（{when}{shown_to}）。{again}", report)
    if report.in_progress:
        return SendResult(
            "info", f"発注書 {number} はいま送信中です。少し待ってから画面を更新してください。", report
        )
    if report.interrupted:
        return SendResult(
            "warning",
            f"発注書 {number} の送信が途中で止まり、届いたか分かりません（状態「要確認」）。"
            f"仕入先に届いたか確認してください。{again}",
            report,
        )
    if report.gave_up:
        return SendResult(
            "error",
            f"発注書 {number} は {retries} 回送信に失敗したため、自動では送りません。"
            f"メールアドレスとメールサーバーの設定を確かめてください。{again}",
            report,
        )
    reason = report.failed.get((MALL, number), "理由不明")
    return SendResult(
        "error", f"発注書 {number} を送信できませんでした（{reason}）。もう一度押すと送り直します。", report
    )
