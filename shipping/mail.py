"""Customer mails (サンクスメール, 入金確認, 発送連絡, フォローメール) from the メールテンプレート tab.

Rendering is pure: staff templates run in Jinja's sandbox with StrictUndefined, so a typo in a
placeholder is a clear Japanese error instead of a blank, and ``{{ ''.__class__ }}`` goes nowhere.

Sending is exactly-once through メール送信履歴, as sync/shipments.py does for the malls:
1. every mail of the batch is marked 送信中 in ONE write job, before the mail server is called;
2. the mails go over one SMTP connection;
3. each row becomes 送信済, or 失敗 with the server's reason (tried again on a later run, up to
   ``max_retries`` attempts in all).
A row left 送信中 means a run stopped between 1 and 3: the mail may or may not have gone. Such a
row is never sent again automatically, only reported, so a crash after the server accepted the
mail but before 送信済 was written can never cause a second copy. Staff check and delete the row
to send again. Without [mail] settings the mails are written as .eml files to an outbox folder.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from settings import PROJECT_ROOT, MailSettings, Settings
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.models import MailTemplate, Order, OrderLine
from sheets_schema.tabs import MAIL_LOG, MAIL_TEMPLATES

SENDING = "送信中"
SENT = "送信済"
FAILED = "失敗"
OUTBOX = "outbox"
DEFAULT_OUTBOX = PROJECT_ROOT / "data" / "outbox"

# The carriers' public tracking pages. Commonly used deep links, not verified against the carriers'
# documentation: if a carrier changes its site, fix the URL here.
TRACKING_URLS: dict[str, str] = {
    "ヤマト運輸": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={no}",
    "佐川急便": "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo={no}",
    "日本郵便": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={no}",
}
PLACEHOLDERS = ("注文番号", "購入者名", "商品一覧", "配送会社", "追跡番号", "追跡URL", "ショップ名")


class MailTemplateError(ValueError):
    """A template that cannot be rendered; the message is Japanese, for staff."""


@dataclass(frozen=True)
class MailOrder:
    """An order to mail: the 受注 row, its 受注明細 lines and the buyer's address."""

    order: Order
    lines: Sequence[OrderLine] = ()
    email: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.order.mall, self.order.order_number)


def tracking_url(carrier: str | None, tracking_number: str) -> str:
    number = re.sub(r"[\s-]", "", tracking_number or "")
    pattern = TRACKING_URLS.get(carrier or "")
    return pattern.format(no=number) if pattern and number else ""


def _items(lines: Iterable[OrderLine]) -> str:
    return "\n".join(
        f"・{line.name or line.sku or line.mall_item_code} × {line.quantity}（{line.unit_price:,}円）"
        for line in sorted(lines, key=lambda x: x.line_number)
    )


def context(order: Order, lines: Iterable[OrderLine] = (), *, shop_name: str = "") -> dict[str, Any]:
    """The placeholders of one order, by the Japanese names staff write in templates."""
    return {
        "注文番号": order.order_number,
        "購入者名": order.buyer_name or order.recipient_name,
        "商品一覧": _items(lines),
        "配送会社": order.carrier or "",
        "追跡番号": order.tracking_number,
        "追跡URL": tracking_url(order.carrier, order.tracking_number),
        "ショップ名": shop_name,
        "モール": order.mall,
        "送付先氏名": order.recipient_name,
        "合計金額": f"{order.total:,}円",
        "注文日時": order.ordered_at.strftime("%Y年%m月%d日 %H:%M"),
    }


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def render(source: str, values: Mapping[str, Any], *, template: str, part: str) -> str:
    """One template text with the placeholders filled in; errors name template and placeholder."""
    where = f"メールテンプレート「{template}」の{part}"
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise MailTemplateError(
            f"{where}の{exc.lineno}行目の書き方が正しくありません（{exc.message}）"
        ) from exc
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(values))
    if unknown:
        names = "、".join(f"{{{{ {n} }}}}" for n in unknown)
        usable = " ".join(f"{{{{ {n} }}}}" for n in values)
        raise MailTemplateError(f"{where}に使えない差し込み項目 {names} があります。使える項目: {usable}")
    try:
        return _ENV.from_string(source).render(dict(values))
    except SecurityError as exc:
        raise MailTemplateError(f"{where}に安全でない書き方があります（{exc}）") from exc
    except UndefinedError as exc:
        raise MailTemplateError(f"{where}に使えない差し込み項目があります（{exc.message}）") from exc


def preview(
    template: MailTemplate, order: Order, lines: Iterable[OrderLine] = (), *, shop_name: str = ""
) -> tuple[str, str]:
    """(件名, 本文) of one template for one order."""
    values = context(order, lines, shop_name=shop_name)
    subject = render(template.subject, values, template=template.name, part="件名")
    body = render(template.body, values, template=template.name, part="本文")
    return " ".join(subject.split()), body


def is_due(template: MailTemplate, order: Order, now: datetime) -> bool:
    """Whether an order is due for a mail: follow-ups only N days after shipment (its 更新日時)."""
    if template.name == "サンクスメール":
        return order.status != "キャンセル"
    if template.name == "入金確認":
        return order.status in ("発送待ち", "出荷済")
    shipped = order.status == "出荷済"
    if template.name == "発送連絡":
        return shipped
    shipped_at = order.updated_at or order.ordered_at
    return shipped and now >= shipped_at + timedelta(days=template.days_after or 0)


# ---------------------------------------------------------------- messages


def build_message(
    subject: str, body: str, *, to: str, from_address: str, from_name: str, encoding: str, at: datetime
) -> Message:
    """A mail with a properly encoded Japanese subject and sender name (RFC 2047)."""
    if encoding == "iso-2022-jp":
        try:
            msg: Message = MIMEText(body, "plain", "iso-2022-jp")
            msg["Subject"] = Header(subject, "iso-2022-jp")
            msg["From"] = formataddr((from_name, from_address), charset=Charset("iso-2022-jp"))
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise MailTemplateError(
                f"「{bad}」はISO-2022-JPで送れない文字です。文面を直すか、encoding を utf-8 にしてください"
            ) from exc
    else:
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = subject
        msg["From"] = formataddr((from_name, from_address), charset="utf-8")
        msg.set_content(body, charset="utf-8")
    msg["To"] = to
    msg["Date"] = formatdate(at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    return msg


@dataclass(frozen=True)
class OutboxMail:
    path: Path
    to: str
    subject: str
    date: str


def outbox_folder(settings: Settings) -> Path:
    """Where unsent mails go: the [mail] setting, else beside the embedded workbook's file."""
    if settings.mail is not None:
        return settings.mail.outbox_path()
    if settings.backend == "sql" and settings.sql_url().startswith("sqlite:///"):
        return Path(settings.sql_url().removeprefix("sqlite:///")).parent / "outbox"
    return DEFAULT_OUTBOX


def list_outbox(outbox_dir: Path) -> list[OutboxMail]:
    """The mails waiting in the outbox folder, newest first, for a page to show."""
    mails = []
    for path in sorted(outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        mails.append(
            OutboxMail(path, str(parsed["To"] or ""), str(parsed["Subject"] or ""), str(parsed["Date"]))
        )
    return mails


def _outbox_name(kind: str, key: tuple[str, str]) -> str:
    return re.sub(r'[\\/:*?"<>|\s]', "_", f"{kind}_{key[0]}_{key[1]}") + ".eml"


# ---------------------------------------------------------------- sending


@dataclass
class MailReport:
    sent: list[tuple[str, str]] = field(default_factory=list)
    outbox: list[Path] = field(default_factory=list)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    # Left 送信中 by a run that stopped: maybe delivered, so never resent automatically.
    interrupted: list[tuple[str, str]] = field(default_factory=list)
    already_sent: list[tuple[str, str]] = field(default_factory=list)
    gave_up: list[tuple[str, str]] = field(default_factory=list)  # 失敗 max_retries times
    no_address: list[tuple[str, str]] = field(default_factory=list)
    disabled: bool = False

    def messages(self) -> list[str]:
        notes = [f"{m} {n}: 送信に失敗しました（{e}）" for (m, n), e in self.failed.items()]
        notes += [
            f"{m} {n}: 前回の送信が途中で止まりました。届いたか確認し、再送するならメール送信履歴の行を削除してください"
            for m, n in self.interrupted
        ]
        return notes


@dataclass
class _Pending:
    item: MailOrder
    subject: str
    message: Message
    attempts: int


def _connect(mail: MailSettings, factory: Callable[..., smtplib.SMTP] | None) -> smtplib.SMTP:
    if factory is None:
        factory = smtplib.SMTP_SSL if mail.security == "ssl" else smtplib.SMTP
    tls = ssl.create_default_context()
    if mail.security == "ssl" and factory is smtplib.SMTP_SSL:
        smtp = factory(mail.host, mail.port, timeout=mail.timeout_seconds, context=tls)
    else:
        smtp = factory(mail.host, mail.port, timeout=mail.timeout_seconds)
    try:
        smtp.ehlo()
        if mail.security == "starttls":
            smtp.starttls(context=tls)
            smtp.ehlo()
        if mail.username:
            smtp.login(mail.username, mail.password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_pending(
    workbook: Any,
    kind: str,
    orders: Iterable[MailOrder],
    settings: Settings,
    *,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    clock: Callable[[], datetime],
    outbox_dir: Path | None = None,
) -> MailReport:
    """Send template ``kind`` to each order that has not had it yet, exactly once per order.

    ``smtp_factory`` defaults to smtplib.SMTP (smtplib.SMTP_SSL for security = "ssl").
    Without [mail] settings (or with host blank) the mails are saved to the outbox folder."""
    report = MailReport()
    mail = settings.mail
    tables = read_tables(workbook, [MAIL_TEMPLATES, MAIL_LOG])
    template = next((t for t in tables[MAIL_TEMPLATES.title].models() if t.name == kind), None)
    if template is None or not template.enabled:
        report.disabled = True
        return report
    log = tables[MAIL_LOG.title]
    records = {r.row: r.value for r in log}
    max_retries = mail.max_retries if mail else 3
    shop_name = settings.app.shop_name
    from_address = mail.from_address if mail else "shop@example.jp"
    from_name = (mail.from_name if mail else "") or shop_name
    encoding = mail.encoding if mail else "utf-8"
    now = clock()

    job = WriteJob()
    todo: list[_Pending] = []
    seen: set[tuple[str, str]] = set()
    for item in orders:
        key = item.key
        if key in seen:
            continue
        seen.add(key)
        row = log.find_row((kind, *key))
        previous = records.get(row) if row is not None else None
        if row is not None and previous is None:
            report.failed[key] = "メール送信履歴の行に入力エラーがあります"
            continue
        attempts = 0
        if previous is not None:
            if previous.state in (SENT, OUTBOX):
                report.already_sent.append(key)
                continue
            if previous.state == SENDING:
                report.interrupted.append(key)
                continue
            if previous.attempts >= max_retries:
                report.gave_up.append(key)
                continue
            attempts = previous.attempts
        if not item.email.strip():
            report.no_address.append(key)
            continue
        subject, body = preview(template, item.order, item.lines, shop_name=shop_name)
        message = build_message(
            subject,
            body,
            to=item.email.strip(),
            from_address=from_address,
            from_name=from_name,
            encoding=encoding,
            at=now,
        )
        values = {
            "宛先": item.email.strip(),
            "件名": subject,
            "状態": SENDING,
            "日時": now,
            "エラー": "",
            "試行回数": attempts + 1,
        }
        if row is None:
            job.append(log, [{"テンプレート名": kind, "モール": key[0], "注文番号": key[1], **values}])
        else:
            job.set(log, row, values)
        todo.append(_Pending(item, subject, message, attempts + 1))
    if not todo:
        return report
    workbook.write(job)  # 1. 送信中, durable before anything leaves

    outcomes: dict[tuple[str, str], tuple[str, str]] = {}
    try:
        if mail is None or not mail.host:
            folder = outbox_dir or (mail.outbox_path() if mail else DEFAULT_OUTBOX)
            folder.mkdir(parents=True, exist_ok=True)
            for pending in todo:
                path = folder / _outbox_name(kind, pending.item.key)
                path.write_bytes(pending.message.as_bytes(policy=policy.SMTP))
                outcomes[pending.item.key] = (OUTBOX, "")
                report.outbox.append(path)
        else:
            _send_batch(mail, todo, smtp_factory, outcomes, report)
    finally:
        _record(workbook, kind, outcomes, clock())  # 3. what happened; a hard kill leaves 送信中
    return report


def _send_batch(
    mail: MailSettings,
    todo: list[_Pending],
    factory: Callable[..., smtplib.SMTP] | None,
    outcomes: dict[tuple[str, str], tuple[str, str]],
    report: MailReport,
) -> None:
    try:
        smtp = _connect(mail, factory)
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"メールサーバーに接続できません: {_reason(exc)}"
        for pending in todo:
            outcomes[pending.item.key] = (FAILED, reason)
            report.failed[pending.item.key] = reason
        return
    try:
        for pending in todo:
            key = pending.item.key
            try:
                refused = smtp.send_message(
                    pending.message, from_addr=mail.from_address, to_addrs=[pending.item.email.strip()]
                )
            except smtplib.SMTPServerDisconnected as exc:
                # Whether the server took this one is unknown: it stays 送信中 (reported next run).
                report.interrupted.append(key)
                for rest in todo[todo.index(pending) + 1 :]:
                    outcomes[rest.item.key] = (FAILED, f"接続が切れたため送っていません: {_reason(exc)}")
                    report.failed[rest.item.key] = outcomes[rest.item.key][1]
                return
            except (smtplib.SMTPException, OSError) as exc:
                outcomes[key] = (FAILED, _reason(exc))
                report.failed[key] = _reason(exc)
                continue
            if refused:
                outcomes[key] = (FAILED, _reason(refused))
                report.failed[key] = _reason(refused)
            else:
                outcomes[key] = (SENT, "")
                report.sent.append(key)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reason(exc: Any) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        exc = exc.recipients
    if isinstance(exc, dict):
        return "; ".join(
            f"{addr}: {code} {msg.decode('utf-8', 'replace')}" for addr, (code, msg) in exc.items()
        )
    return f"{exc.__class__.__name__}: {exc}"


def _record(
    workbook: Any, kind: str, outcomes: Mapping[tuple[str, str], tuple[str, str]], at: datetime
) -> None:
    if not outcomes:
        return
    log = read_tables(workbook, [MAIL_LOG])[MAIL_LOG.title]
    job = WriteJob()
    for key, (state, error) in outcomes.items():
        row = log.find_row((kind, *key))
        if row is not None:
            job.set(log, row, {"状態": state, "日時": at, "エラー": error})
    workbook.write(job)
