"""Customer mails from the メールテンプレート tab (the four standard ones and any staff add), each sent at its 送信タイミング.

Rendering is pure and bounded: staff templates run in Jinja's sandbox with StrictUndefined, so a
typo in a placeholder is a clear Japanese error instead of a blank and ``{{ ''.__class__ }}`` goes
nowhere; text, repeats, widths, range() and time are capped (MAX_TEXT, MAX_SECONDS …).

Each template has its due condition (``is_due``) and an order gets each template once
(``due_orders``: what the 出荷 page's button counts and sends).

Sending is exactly-once through メール送信履歴 (shipping/mail_delivery.py, shared with 発注書):
built first, marked 送信中 in one job before the server is called, each row ending 送信済 /
失敗 (retried up to ``max_retries``) / 要確認 (maybe delivered: never resent automatically).
Without [mail] settings the mails are written as .eml files to an outbox folder.
"""

from __future__ import annotations

import functools
import re
import smtplib
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from settings import Settings
from sheets_schema.book import read_tables
from sheets_schema.models import MailTemplate, Order, OrderLine
from sheets_schema.tabs import MAIL_LOG, MAIL_TEMPLATES
from shipping.mail_delivery import (  # noqa: F401  (the 出荷 page and tests use them from here)
    DEFAULT_OUTBOX,
    FAILED,
    OUTBOX,
    RUN_LIMIT,
    SENDING,
    SENT,
    UNKNOWN,
    MailReport,
    Outgoing,
    deliver_once,
    mail_state,
    max_retries,
    stale_after,
)
from shipping.mail_message import (  # noqa: F401  (likewise)
    MailContent,
    MailTemplateError,
    OutboxMail,
    build_message,
    list_outbox,
)

# The 出荷 page asks staff to confirm a batch of more mails than this before sending.
CONFIRM_ABOVE = 20

# The carriers' public tracking pages. Commonly used deep links, not verified against the carriers'
# documentation: if a carrier changes its site, fix the URL here.
TRACKING_URLS: dict[str, str] = {
    "ヤマト運輸": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={no}",
    "佐川急便": "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo={no}",
    "日本郵便": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={no}",
}
PLACEHOLDERS = ("注文番号", "購入者名", "商品一覧", "配送会社", "追跡番号", "追跡URL", "ショップ名")


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

    By its 送信タイミング (``MailTemplate.when``): 取込: ordered, not yet shipped nor cancelled.
    入金確認: paid, waiting to ship. 発送: shipped with a tracking number. 発送後: shipped
    送信タイミング日数 days ago (its 更新日時)."""
    if template.when == "取込":
        return order.status not in ("出荷済", "キャンセル")
    if template.when == "入金確認":
        return order.status == "発送待ち"
    shipped = order.status == "出荷済"
    if template.when == "発送":
        return shipped and bool((order.tracking_number or "").strip())
    shipped_at = order.updated_at or order.ordered_at
    return shipped and now >= shipped_at + timedelta(days=template.days_after or 0)


# ---------------------------------------------------------------- sending


def outbox_folder(settings: Settings) -> Path:
    """Where unsent mails go: the [mail] setting, else beside the embedded workbook's file."""
    if settings.mail is not None:
        return settings.mail.outbox_path()
    if settings.backend == "sql" and settings.sql_url().startswith("sqlite:///"):
        return Path(settings.sql_url().removeprefix("sqlite:///")).parent / "outbox"
    return DEFAULT_OUTBOX


def due_orders(
    template: MailTemplate,
    orders: Iterable[Order],
    log_rows: Iterable[Any],
    now: datetime,
    settings: Settings,
) -> list[Order]:
    """The orders the template is due for and that have not had it: what the button sends."""
    retries = max_retries(settings)
    records = {(r.mall, r.order_number): r for r in log_rows if r.template == template.name}
    return [
        o
        for o in orders
        if is_due(template, o, now) and mail_state(records.get((o.mall, o.order_number)), retries) == "due"
    ]


def send_pending(
    workbook: Any,
    kind: str,
    orders: Iterable[MailOrder],
    settings: Settings,
    *,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    clock: Callable[[], datetime],
    outbox_dir: Path | None = None,
    asked: frozenset[tuple[str, str]] = frozenset(),
) -> MailReport:
    """Send template ``kind`` to each order it is due for and has not had it yet, exactly once.
    ``asked``: orders a 受注ルール asked this mail for, sent whatever their point.

    One order's bad data (an address with a line break, a NUL, a template error) fails that order
    only, recorded as 失敗 with the reason; the batch goes on. When the run ends no row it marked
    is left 送信中: each is 送信済 / outbox, 失敗 (not handed to the server, sent on a later run)
    or 要確認 (handed over, outcome unknown: never resent automatically).

    ``smtp_factory`` defaults to smtplib.SMTP (smtplib.SMTP_SSL for security = "ssl").
    Without [mail] settings (or with host blank) the mails are saved to the outbox folder."""
    report = MailReport()
    tables = read_tables(workbook, [MAIL_TEMPLATES, MAIL_LOG])
    template = next((t for t in tables[MAIL_TEMPLATES.title].models() if t.name == kind), None)
    if template is None or not template.enabled:
        report.disabled = True
        return report
    shop_name = settings.app.shop_name
    now = clock()
    due: list[Outgoing] = []
    for item in orders:
        if item.key not in asked and not is_due(template, item.order, now):
            if item.key not in report.not_due:
                report.not_due.append(item.key)
            continue
        content = functools.partial(_content, template, item, shop_name)
        due.append(Outgoing(item.key, item.email, content))
    return deliver_once(
        workbook,
        kind,
        tables[MAIL_LOG.title],
        due,
        settings,
        clock=clock,
        smtp_factory=smtp_factory,
        outbox_dir=outbox_dir,
        report=report,
    )


def _content(template: MailTemplate, item: MailOrder, shop_name: str) -> MailContent:
    subject, body = preview(template, item.order, item.lines, shop_name=shop_name)
    return MailContent(subject, body)
