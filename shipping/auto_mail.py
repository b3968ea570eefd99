"""Customer mails sent by themselves: each メールテンプレート row with 自動送信 ON is sent by the
sync runner (``python -m sync watch``, the embedded demo's background sync) to the orders that
reach its point, exactly once per (template, order), through the same mailer and メール送信履歴
record as the 出荷 page's button (shipping.mail.send_pending → shipping.mail_delivery).

What makes an order due, besides ``mail.is_due`` and the send record:

- **Only what happens after the switch.** The first time the runner sees a template ON it
  notes the moment in _システム (``自動送信開始:<テンプレート名>``); only orders whose point
  (取込 = 注文日時, 入金確認 / 発送連絡 = 更新日時, フォローメール = 発送 + N日) comes at or
  after it are mailed. Switching a template ON never mails the shop's history; switching it
  OFF clears the moment, so switching it ON again starts afresh.
- **Not too late.** A point more than ``MAX_LATENESS`` ago is skipped (a runner that was off
  for a week does not send last week's サンクスメール).
- **送信時間帯** (JST): outside it the mail waits for the next window.
- **除外モール** and **除外タグ** (tags in 受注's タグ column), and malls that do not allow such mails at all (``MALL_RULES``).

Pure planning (``plan``) is split from sending (``send_due``), so the 出荷 page shows the same
queue the runner works from.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from settings import Settings
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.models import MAIL_TIMINGS, MailTemplate, Order
from sheets_schema.tabs import MAIL_LOG, MAIL_TEMPLATES, ORDER_LINES, ORDERS, RULE_ACTIONS, SYSTEM_STATE
from shipping import mail, mail_delivery
from shipping.picking import lines_by_order
from sync import state
from sync.errors import LeaseHeld

# Malls whose rules keep mails of these 送信タイミング from being sent automatically, whatever
# 除外モール says.
# Amazon: sellers may message buyers only through Amazon's Buyer-Seller Messaging / SP-API
# Messaging API, in a fixed set of order-scoped message types (no thank-you or follow-up
# mail), and Amazon itself sends the order and shipping notices (SP-API "Messaging API v1
# Use Case Guide"; Amazon's communication guidelines). So nothing goes to Amazon buyers.
MALL_RULES: Mapping[str, frozenset[str]] = {
    "Amazon": frozenset(MAIL_TIMINGS),
}
MAX_LATENESS = timedelta(days=3)
START_PREFIX = "自動送信開始:"

# Queue states shown on the 出荷 page.
DUE = "送信予定"
WAITING = "時間帯外（次の時間帯に送信）"
SKIPPED = "送らない"


def start_key(kind: str) -> str:
    return f"{START_PREFIX}{kind}"


def point_in_time(template: MailTemplate, order: Order) -> datetime:
    """When the order reached the template's point (its 送信タイミング)."""
    if template.when == "取込":
        return order.ordered_at
    moved = order.updated_at or order.ordered_at
    if template.when == "発送後":
        return moved + timedelta(days=template.days_after or 0)
    return moved


def in_window(window: str, now: datetime) -> bool:
    """Whether JST ``now`` is inside "HH:MM-HH:MM" (blank: always; may run over midnight)."""
    if not window:
        return True
    start_text, end_text = window.split("-")
    start, end = time.fromisoformat(_clock(start_text)), time.fromisoformat(_clock(end_text))
    moment = now.time().replace(tzinfo=None)
    if end_text.startswith("24") or start < end:
        return start <= moment and (end_text.startswith("24") or moment < end)
    return moment >= start or moment < end


def _clock(text: str) -> str:
    return "23:59:59.999999" if text.startswith("24") else text


@dataclass(frozen=True)
class QueueItem:
    template: str
    mall: str
    order_number: str
    state: str
    reason: str = ""


@dataclass
class AutoPlan:
    send: dict[str, list[Order]] = field(default_factory=dict)  # template -> orders to mail now
    queue: list[QueueItem] = field(default_factory=list)  # due, waiting or skipped (with why)
    starts: dict[str, datetime | None] = field(default_factory=dict)  # _システム marks to write
    asked: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # by 受注ルール, per template

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.send.values())


def plan(tables: Mapping[str, Any], now: datetime, settings: Settings) -> AutoPlan:
    """What the runner would send now, and why the rest waits or is skipped."""
    result = AutoPlan()
    stored = state.values(tables[SYSTEM_STATE.title])
    orders = tables[ORDERS.title].models()
    log = tables[MAIL_LOG.title].models()
    asked = _asked_by_rules(tables)
    for template in tables[MAIL_TEMPLATES.title].models():
        _rule_mails(result, template, asked.get(template.name, set()), orders, log, now, settings)
        key = start_key(template.name)
        if not (template.enabled and template.auto):
            if stored.get(key):
                result.starts[key] = None  # OFF: the next ON starts afresh
            continue
        started = _parse(stored.get(key, ""))
        if started is None:
            result.starts[key] = now  # from now on; nothing before is mailed
            continue
        excluded = set(template.excluded_malls)
        window_open = in_window(template.window, now)
        by_rule = {(o.mall, o.order_number) for o in result.send.get(template.name, [])}
        for order in mail.due_orders(template, orders, log, now, settings):
            if (order.mall, order.order_number) in by_rule:
                continue  # already queued by a 受注ルール: one mail
            point = point_in_time(template, order)
            if point < started or now - point > MAX_LATENESS:
                continue  # before the switch, or too late: not part of the queue at all
            item = (template.name, order.mall, order.order_number)
            if order.mall in excluded or template.when in MALL_RULES.get(order.mall, frozenset()):
                why = "除外モール" if order.mall in excluded else f"{order.mall}のルールで自動送信しません"
                result.queue.append(QueueItem(*item, SKIPPED, why))
            elif tagged := excluded_tags(template, order):
                result.queue.append(QueueItem(*item, SKIPPED, f"除外タグ「{'・'.join(tagged)}」"))
            elif not (order.email or "").strip():
                result.queue.append(QueueItem(*item, SKIPPED, "メールアドレスがありません"))
            elif not window_open:
                result.queue.append(QueueItem(*item, WAITING, f"送信時間帯 {template.window}"))
            else:
                result.queue.append(QueueItem(*item, DUE))
                result.send.setdefault(template.name, []).append(order)
    return result


def order_tags(order: Order) -> list[str]:
    """受注's タグ cell as a list (written 「、」-separated; a comma is taken too)."""
    return [t.strip() for t in re.split(r"[、,，]", order.tags or "") if t.strip()]


def excluded_tags(template: MailTemplate, order: Order) -> list[str]:
    """The template's 除外タグ the order carries (none: it may be mailed)."""
    return [t for t in order_tags(order) if t in set(template.excluded_tags)]


def _asked_by_rules(tables: Mapping[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Template -> orders a 受注ルール asked to mail (「メールを送る」), from _ルール適用."""
    table = tables.get(RULE_ACTIONS.title)
    asked: dict[str, set[tuple[str, str]]] = {}
    if table is None:
        return asked
    for action in table.models():
        if action.column == "メール" and action.kind == "適用":
            asked.setdefault(action.after, set()).add((action.mall, action.order_number))
    return asked


def _rule_mails(
    result: AutoPlan,
    template: MailTemplate,
    asked: set[tuple[str, str]],
    orders: Sequence[Order],
    log: Sequence[Any],
    now: datetime,
    settings: Settings,
) -> None:
    """Mails a rule asked for: sent once (the same record), in the window, never to excluded
    malls or Amazon; with the template ON, whether or not it sends by itself."""
    if not asked or not template.enabled:
        return
    retries = mail.max_retries(settings)
    records = {(r.mall, r.order_number): r for r in log if r.template == template.name}
    for order in orders:
        key = (order.mall, order.order_number)
        if key not in asked or mail.mail_state(records.get(key), retries) != "due":
            continue
        item = (template.name, order.mall, order.order_number)
        if order.mall in set(template.excluded_malls) or template.when in MALL_RULES.get(
            order.mall, frozenset()
        ):
            result.queue.append(QueueItem(*item, SKIPPED, "除外モール・モールのルール"))
        elif tagged := excluded_tags(template, order):
            result.queue.append(QueueItem(*item, SKIPPED, f"除外タグ「{'・'.join(tagged)}」"))
        elif not (order.email or "").strip():
            result.queue.append(QueueItem(*item, SKIPPED, "メールアドレスがありません"))
        elif not in_window(template.window, now):
            result.queue.append(QueueItem(*item, WAITING, f"送信時間帯 {template.window}"))
        else:
            result.queue.append(QueueItem(*item, DUE, "受注ルール"))
            result.send.setdefault(template.name, []).append(order)
            result.asked.setdefault(template.name, set()).add(key)


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass
class AutoReport:
    sent: int = 0  # handed to the mail server, or saved to the outbox without one
    failed: int = 0
    unknown: int = 0
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"自動送信メール: 送信 {self.sent} 件・失敗 {self.failed} 件・要確認 {self.unknown} 件"

    @property
    def anything(self) -> bool:
        return bool(self.sent or self.failed or self.unknown)


def send_due(
    workbook: Any,
    tables: Mapping[str, Any],
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    outbox_dir: Path | None = None,
    smtp_factory: Callable[..., Any] | None = None,
) -> AutoReport:
    """Write the switch marks, then send each template's due orders exactly once.

    The caller holds the sync lease (one runner mails); the send record makes a replay after a
    crash skip what was sent and leave what may have been sent as 要確認."""
    now = clock()
    found = plan(tables, now, settings)
    if found.starts:
        job = WriteJob()
        for key, value in found.starts.items():
            state.put(job, tables[SYSTEM_STATE.title], key, value.isoformat() if value else "", now)
        workbook.write(job)
    report = AutoReport()
    stopped, keys = mail_delivery.stopped_sends(tables[MAIL_LOG.title], settings.mail, now)
    if keys:  # a pass killed while sending: those mails may have gone out, never resent
        workbook.write(stopped)
        report.unknown += len(keys)
        report.messages.extend(
            f"{m} {n}: 前回の送信が途中で止まり、届いたか分かりません（状態「要確認」）。"
            "届いたか確認し、再送するならメール送信履歴の行を削除してください"
            for m, n in keys
        )
    lines = lines_by_order(tables) if found.send else {}
    for kind, orders in found.send.items():
        targets = [mail.MailOrder(o, lines.get((o.mall, o.order_number), []), o.email) for o in orders]
        result = mail.send_pending(
            workbook,
            kind,
            targets,
            settings,
            clock=clock,
            outbox_dir=outbox_dir or mail.outbox_folder(settings),
            smtp_factory=smtp_factory,
            asked=frozenset(found.asked.get(kind, ())),
        )
        report.sent += len(result.sent) + len(result.outbox)
        report.failed += len(result.failed)
        report.unknown += len(result.interrupted)
        report.messages.extend(result.messages())
    return report


AUTO_TABS = (ORDERS, ORDER_LINES, MAIL_TEMPLATES, MAIL_LOG, SYSTEM_STATE, RULE_ACTIONS)


def run_under_lease(
    engine: Any,
    settings: Settings,
    *,
    outbox_dir: Path | None = None,
    smtp_factory: Callable[..., Any] | None = None,
) -> AutoReport:
    """One pass of automatic mails by the sync runner, holding the sync lease so that one
    runner mails at a time (``sync watch`` keeps its lease between cycles; others give it
    back). Raises LeaseHeld when another runner holds it."""
    engine.acquire_lease()
    try:
        tables = read_tables(engine.workbook, list(AUTO_TABS))
        return send_due(
            engine.workbook,
            tables,
            settings,
            clock=engine.clock,
            outbox_dir=outbox_dir,
            smtp_factory=smtp_factory,
        )
    finally:
        if not engine.keep_lease:
            with contextlib.suppress(LeaseHeld, StaleWorkbookError):
                engine.release_lease()
