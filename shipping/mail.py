"""Customer mails (サンクスメール, 入金確認, 発送連絡, フォローメール) from the メールテンプレート tab.

Rendering is pure and bounded: staff templates run in Jinja's sandbox with StrictUndefined, so a
typo in a placeholder is a clear Japanese error instead of a blank and ``{{ ''.__class__ }}`` goes
nowhere; text, repeats, widths, range() and time are capped (MAX_TEXT, MAX_SECONDS …).

Each template has its due condition (``is_due``) and an order gets each template once
(``due_orders``: what the 出荷 page's button counts and sends).

Sending is exactly-once through メール送信履歴, as sync/shipments.py does for the malls:
1. every mail of the batch is built first; an order whose mail cannot be built (an address with
   a line break, a NUL) is 失敗 with the reason, the others are marked 送信中, in ONE write job,
   before the mail server is called;
2. the mails go over one SMTP connection (reopened if it drops);
3. each row becomes 送信済, 失敗 with the server's reason (tried again on a later run, up to
   ``max_retries`` attempts in all), or 要確認 when the connection failed while the server had
   the mail: it may have arrived, so it is never sent again automatically. Whatever stops a run,
   its rows end 送信済 / 失敗 / 要確認, none 送信中.
Only a hard kill between 1 and 3 leaves 送信中. A later run leaves such a row alone while a batch
could still own it (``stale_after``), then marks it 要確認. Staff check a 要確認 row and delete it
to send again. Without [mail] settings the mails are written as .eml files to an outbox folder.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import smtplib
import ssl
import sys
import time
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

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from settings import PROJECT_ROOT, MailSettings, Settings
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.models import MailTemplate, Order, OrderLine
from sheets_schema.tabs import MAIL_LOG, MAIL_TEMPLATES

# The 出荷 page asks staff to confirm a batch of more mails than this before sending.
CONFIRM_ABOVE = 20
SENDING = "送信中"
SENT = "送信済"
FAILED = "失敗"
OUTBOX = "outbox"
UNKNOWN = "要確認"
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


# Bounds on rendering one part of one mail: staff write templates, and a loop or a repeat that
# never ends would hang the page (preview) or the whole batch.
MAX_TEXT = 20_000  # characters: the rendered part, and any text or list built on the way
MAX_NUMBER = 20_000  # a width, count or repeat given to a filter or method
MAX_RANGE = 1_000  # items of range()
MAX_SECONDS = 2.0  # rendering time


class _TooBig(Exception):
    pass


def _sized(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict)) and len(value) > MAX_TEXT:
        raise _TooBig
    return value


def _check_numbers(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise _TooBig
        if isinstance(value, str) and _WIDE_FORMAT.search(value):
            raise _TooBig


# A %-format or str.format field wider than five digits ("%99999999s", "{:>99999999}").
_WIDE_FORMAT = re.compile(r"(%[-+ #0]*(\d{5,}|\*))|(\{[^{}]*:[^{}]*\d{5,}[^{}]*\})")


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:  # the ~ operator
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox (no attribute tricks) that also refuses to build huge text or numbers."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and any(isinstance(v, (int, float)) and abs(v) > 64 for v in (right,)):
            raise _TooBig
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_TEXT:
                    raise _TooBig
        if operator == "%" and isinstance(left, str):
            _check_numbers([left])
        return _sized(super().call_binop(context, operator, left, right))

    def bounded_join(self, parts: Iterable[Any]) -> str:
        return _sized("".join(str(p) for p in parts))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_numbers([*args, *kwargs.values()])
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str):
            _check_numbers([owner])
        return _sized(super().call(__context, __obj, *args, **kwargs))


def _bounded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        _check_numbers([*args, *kwargs.values()])
        return _sized(func(*args, **kwargs))

    return run


def _bounded_range(*args: int) -> range:
    span = range(*args)
    if len(span) > MAX_RANGE:
        raise _TooBig
    return span


_ENV = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters = {name: _bounded_filter(f) for name, f in _ENV.filters.items()}
_ENV.globals["range"] = _bounded_range


class _Deadline:
    """Stops rendering after MAX_SECONDS: a line-level trace on the template's own code (loops
    of Jinja templates are Python loops), restoring whatever tracer was there before."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def _local(self, frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > self.until:
            raise TimeoutError
        return self._local

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > self.until:
            raise TimeoutError
        return self._local if frame.f_code.co_filename == "<template>" else None

    def __enter__(self) -> None:
        self.previous = sys.gettrace()
        sys.settrace(self._global)

    def __exit__(self, *exc: Any) -> None:
        sys.settrace(self.previous)


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
        compiled = _ENV.from_string(source)
        out: list[str] = []
        size = 0
        with _Deadline(MAX_SECONDS):
            for chunk in compiled.generate(dict(values)):
                size += len(chunk)
                if size > MAX_TEXT:
                    raise _TooBig
                out.append(chunk)
        return "".join(out)
    except _TooBig as exc:
        raise MailTemplateError(
            f"{where}が長くなりすぎます（{MAX_TEXT:,}文字まで。繰り返しや幅の指定を見直してください）"
        ) from exc
    except TimeoutError as exc:
        raise MailTemplateError(
            f"{where}の作成に時間がかかりすぎます（{MAX_SECONDS:g}秒まで。繰り返しを見直してください）"
        ) from exc
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
    """Whether the order is at the point this mail is about (sent or not is the log's business).

    サンクスメール: ordered, not yet shipped nor cancelled. 入金確認: paid, waiting to ship.
    発送連絡: shipped with a tracking number. フォローメール: shipped N days ago (its 更新日時)."""
    if template.name == "サンクスメール":
        return order.status not in ("出荷済", "キャンセル")
    if template.name == "入金確認":
        return order.status == "発送待ち"
    shipped = order.status == "出荷済"
    if template.name == "発送連絡":
        return shipped and bool((order.tracking_number or "").strip())
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
    """A file name any file system takes: no separators or control characters, at most about
    150 bytes (a long order number is cut, with a hash of the whole key to stay unique)."""
    name = re.sub(r'[\\/:*?"<>|\s\x00-\x1f\x7f]', "_", f"{kind}_{key[0]}_{key[1]}")
    if len(name.encode("utf-8", "replace")) > 150:
        digest = hashlib.sha256("\x1f".join((kind, *key)).encode("utf-8", "replace")).hexdigest()[:16]
        while len(name.encode("utf-8", "replace")) > 120:
            name = name[:-1]
        name = f"{name}_{digest}"
    return name + ".eml"


# ---------------------------------------------------------------- sending


@dataclass
class MailReport:
    sent: list[tuple[str, str]] = field(default_factory=list)
    outbox: list[Path] = field(default_factory=list)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    # Whether the server took these is unknown (要確認): never resent automatically.
    interrupted: list[tuple[str, str]] = field(default_factory=list)
    # 送信中 and recent: another run may be sending them right now; left alone.
    in_progress: list[tuple[str, str]] = field(default_factory=list)
    already_sent: list[tuple[str, str]] = field(default_factory=list)
    gave_up: list[tuple[str, str]] = field(default_factory=list)  # 失敗 max_retries times
    no_address: list[tuple[str, str]] = field(default_factory=list)
    not_due: list[tuple[str, str]] = field(default_factory=list)
    disabled: bool = False

    def summary(self) -> str:
        return (
            f"送信 {len(self.sent)} 件・outbox {len(self.outbox)} 件・失敗 {len(self.failed)} 件"
            f"・要確認 {len(self.interrupted)} 件・送信済み {len(self.already_sent)} 件"
            f"・宛先なし {len(self.no_address)} 件"
        )

    def messages(self) -> list[str]:
        notes = [f"{m} {n}: 送信に失敗しました（{e}）" for (m, n), e in self.failed.items()]
        notes += [
            f"{m} {n}: 送信が途中で止まり、届いたか分かりません（状態「要確認」）。"
            "届いたか確認し、再送するならメール送信履歴の行を削除してください"
            for m, n in self.interrupted
        ]
        notes += [
            f"{m} {n}: 別の送信が進行中です（状態「送信中」）。終わってから確認してください"
            for m, n in self.in_progress
        ]
        return notes


@dataclass
class _Pending:
    item: MailOrder
    to: str
    data: bytes  # the whole message, serialised before anything is marked 送信中


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


def stale_after(mail: MailSettings | None) -> timedelta:
    """How old a 送信中 row must be before no running batch can still own it: a batch starts no
    mail after RUN_LIMIT, and each mail's talk with the server ends within a few timeouts."""
    return RUN_LIMIT + timedelta(seconds=10 * (mail.timeout_seconds if mail else 30))


def mail_state(record: Any, max_retries: int) -> str:
    """What a メール送信履歴 row means for sending again: "due" (no row, or 失敗 with attempts
    left), or the reason it is not due."""
    if record is None or (record.state == FAILED and record.attempts < max_retries):
        return "due"
    return "gave_up" if record.state == FAILED else record.state


def due_orders(
    template: MailTemplate,
    orders: Iterable[Order],
    log_rows: Iterable[Any],
    now: datetime,
    settings: Settings,
) -> list[Order]:
    """The orders the template is due for and that have not had it: what the button sends."""
    max_retries = settings.mail.max_retries if settings.mail else 3
    records = {(r.mall, r.order_number): r for r in log_rows if r.template == template.name}
    return [
        o
        for o in orders
        if is_due(template, o, now)
        and mail_state(records.get((o.mall, o.order_number)), max_retries) == "due"
    ]


_BAD_ADDRESS = re.compile(r"[\x00-\x20\x7f<>()\[\]\\,;:\"]")


def _address(email: str) -> str:
    """The buyer's address as given, or MailTemplateError when it cannot be one address."""
    address = email.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or _BAD_ADDRESS.search(address) or len(address) > 254:
        shown = address.encode("unicode_escape").decode("ascii")[:80]
        raise MailTemplateError(
            f"宛先のメールアドレス「{shown}」が正しくありません（受注のメールアドレスを直してください）"
        )
    return address


def _serialise(message: Message) -> bytes:
    """The message as sent: CRLF line ends, every header encoded (compat32 for ISO-2022-JP)."""
    if isinstance(message, EmailMessage):
        return message.as_bytes(policy=policy.SMTP)
    return message.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


def _prepare(
    template: MailTemplate,
    item: MailOrder,
    *,
    shop_name: str,
    sender: tuple[str, str],
    encoding: str,
    at: datetime,
) -> tuple[str, _Pending]:
    """(件名, the mail ready to go) for one order; MailTemplateError (Japanese) when it cannot be."""
    to = _address(item.email)
    subject, body = preview(template, item.order, item.lines, shop_name=shop_name)
    for part, text in (("件名", subject), ("本文", body)):
        if _CONTROL.search(text):
            raise MailTemplateError(
                f"{part}に制御文字（NUL など）が含まれています。注文番号・購入者名などの値を確認してください"
            )
    try:
        message = build_message(
            subject, body, to=to, from_address=sender[0], from_name=sender[1], encoding=encoding, at=at
        )
        data = _serialise(message)
    except MailTemplateError:
        raise
    except (ValueError, TypeError, LookupError, UnicodeError) as exc:
        raise MailTemplateError(f"メールを組み立てられません（{exc.__class__.__name__}: {exc}）") from exc
    return subject, _Pending(item, to, data)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    """Send template ``kind`` to each order it is due for and has not had it yet, exactly once.

    One order's bad data (an address with a line break, a NUL, a template error) fails that order
    only, recorded as 失敗 with the reason; the batch goes on. When the run ends no row it marked
    is left 送信中: each is 送信済 / outbox, 失敗 (not handed to the server, sent on a later run)
    or 要確認 (handed over, outcome unknown: never resent automatically).

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
    sender = (from_address, (mail.from_name if mail else "") or shop_name)
    encoding = mail.encoding if mail else "utf-8"
    now = clock()

    job = WriteJob()

    def mark(key: tuple[str, str], row: int | None, values: dict[str, Any]) -> None:
        if row is None:
            job.append(log, [{"テンプレート名": kind, "モール": key[0], "注文番号": key[1], **values}])
        else:
            job.set(log, row, values)

    todo: list[_Pending] = []
    seen: set[tuple[str, str]] = set()
    for item in orders:
        key = item.key
        if key in seen:
            continue
        seen.add(key)
        if not is_due(template, item.order, now):
            report.not_due.append(key)
            continue
        row = log.find_row((kind, *key))
        previous = records.get(row) if row is not None else None
        if row is not None and previous is None:
            report.failed[key] = "メール送信履歴の行に入力エラーがあります"
            continue
        state = mail_state(previous, max_retries)
        if state in (SENT, OUTBOX):
            report.already_sent.append(key)
            continue
        if state == UNKNOWN:
            report.interrupted.append(key)
            continue
        if state == SENDING:
            if previous.at is not None and now - previous.at < stale_after(mail):
                report.in_progress.append(key)
            else:  # no batch can still be sending it: a run stopped mid-send
                mark(key, row, {"状態": UNKNOWN, "エラー": "送信が途中で止まりました（届いたか不明）"})
                report.interrupted.append(key)
            continue
        if state == "gave_up":
            report.gave_up.append(key)
            continue
        attempts = previous.attempts if previous is not None else 0
        if not item.email.strip():
            report.no_address.append(key)
            continue
        values = {"宛先": _cell_text(item.email.strip(), 254), "日時": now}
        try:
            subject, pending = _prepare(
                template, item, shop_name=shop_name, sender=sender, encoding=encoding, at=now
            )
        except MailTemplateError as exc:
            # Nothing reached the server: 失敗 without using up an attempt, so fixing the data is
            # enough for the next run to send it.
            reason = str(exc)
            mark(key, row, {**values, "状態": FAILED, "エラー": reason, "試行回数": attempts})
            report.failed[key] = reason
            continue
        mark(key, row, {**values, "件名": subject, "状態": SENDING, "エラー": "", "試行回数": attempts + 1})
        todo.append(pending)
    if not job:
        return report
    workbook.write(job)  # 1. 送信中, durable before anything leaves
    if not todo:
        return report

    outcomes: dict[tuple[str, str], tuple[str, str]] = {}
    handing: list[tuple[str, str]] = []  # the mail being handed over right now, if any
    try:
        if mail is None or not mail.host:
            folder = outbox_dir or (mail.outbox_path() if mail else DEFAULT_OUTBOX)
            folder.mkdir(parents=True, exist_ok=True)
            for pending in todo:
                key = pending.item.key
                path = folder / _outbox_name(kind, key)
                try:
                    path.write_bytes(pending.data)
                except OSError as exc:
                    outcomes[key] = (FAILED, f"outbox に保存できません: {_reason(exc)}")
                    continue
                outcomes[key] = (OUTBOX, "")
                report.outbox.append(path)
        else:
            _send_batch(mail, todo, smtp_factory, outcomes, handing, clock)
    finally:
        # 3. what happened. Whatever stopped the batch, no row it marked stays 送信中: the mail in
        # the server's hands is 要確認, the ones never handed over are 失敗 (sent next run).
        for pending in todo:
            key = pending.item.key
            if key not in outcomes:
                outcomes[key] = (
                    (UNKNOWN, "送信中に止まりました（届いたか不明）")
                    if key in handing
                    else (FAILED, "送信が途中で止まったため送っていません")
                )
        for key, (state, error) in outcomes.items():
            if state == SENT:
                report.sent.append(key)
            elif state == UNKNOWN:
                report.interrupted.append(key)
            elif state == FAILED:
                report.failed[key] = error
        _record(workbook, kind, outcomes, clock())  # only a hard kill leaves 送信中 (next run resolves it)
    return report


def _cell_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A batch starts no new mail after this long; 送信中 rows older than stale_after() are stopped runs.
RUN_LIMIT = timedelta(minutes=10)
MAX_RECONNECTS = 3


def _send_batch(
    mail: MailSettings,
    todo: list[_Pending],
    factory: Callable[..., smtplib.SMTP] | None,
    outcomes: dict[tuple[str, str], tuple[str, str]],
    handing: list[tuple[str, str]],
    clock: Callable[[], datetime],
) -> None:
    """Each mail over one connection; a dropped connection is opened again (at most
    MAX_RECONNECTS times) for the mails after it, so one bad moment does not fail the batch."""
    started = clock()
    smtp: smtplib.SMTP | None = None
    reconnects = 0
    try:
        for pending in todo:
            key = pending.item.key
            if clock() - started > RUN_LIMIT:
                outcomes[key] = (FAILED, "時間切れのため送っていません（次回送ります）")
                continue
            if smtp is None:
                if reconnects > MAX_RECONNECTS:
                    outcomes[key] = (FAILED, "メールサーバーとの接続が何度も切れたため送っていません")
                    continue
                try:
                    smtp = _connect(mail, factory)
                except (OSError, smtplib.SMTPException) as exc:
                    reason = f"メールサーバーに接続できません: {_reason(exc)}"
                    for rest in todo[todo.index(pending) :]:
                        outcomes.setdefault(rest.item.key, (FAILED, reason))
                    return
            handing[:] = [key]
            try:
                smtp.sendmail(mail.from_address, [pending.to], pending.data)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                outcomes[key] = (FAILED, _reason(exc))  # the server answered no: nothing delivered
                _reset(smtp)
            except smtplib.SMTPNotSupportedError as exc:
                outcomes[key] = (FAILED, f"メールサーバーが対応していない宛先です: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                # The connection failed while the mail was on its way: it may have arrived.
                outcomes[key] = (UNKNOWN, f"送信中に接続が切れました（届いたか不明）: {_reason(exc)}")
                _close(smtp)
                smtp, reconnects = None, reconnects + 1
            else:
                outcomes[key] = (SENT, "")
            finally:
                if key in outcomes:  # else the run is dying with this mail in the server's hands
                    handing.clear()
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.rset()


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
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
            job.set(log, row, {"状態": state, "日時": at, "エラー": _cell_text(error, 500)})
    workbook.write(job)
