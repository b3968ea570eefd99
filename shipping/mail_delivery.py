"""Sending mails exactly once, through the メール送信履歴 tab: one row per (テンプレート名, モール,
注文番号). Customer mails (shipping/mail.py) and 発注書 (purchasing/po_mail.py) share it.

1. every mail of the batch is built first; a mail that cannot be built (an address with a line
   break, a NUL) is 失敗 with the reason, the others are marked 送信中, in ONE write job,
   before the mail server is called;
2. the mails go over one SMTP connection (reopened if it drops);
3. each row becomes 送信済, 失敗 with the server's reason (tried again on a later run, up to
   ``max_retries`` attempts in all), or 要確認 when the connection failed while the server had
   the mail: it may have arrived, so it is never sent again automatically. Whatever stops a run,
   its rows end 送信済 / 失敗 / 要確認, none 送信中. A caller's ``finish`` adds its own cells to
   that same job (a 発注 marked 発注済 when its 発注書 went out), so both land or neither.
Only a hard kill between 1 and 3 leaves 送信中. A later run leaves such a row alone while a batch
could still own it (``stale_after``), then marks it 要確認. Staff check a 要確認 row and delete it
to send again. Without [mail] settings the mails are written as .eml files to an outbox folder.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from settings import PROJECT_ROOT, MailSettings, Settings
from sheets_schema.book import Tables, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.parsing import Table
from sheets_schema.tabs import MAIL_LOG, TabSpec
from shipping.mail_message import (
    CONTROL,
    MailContent,
    MailTemplateError,
    build_message,
    cell_text,
    checked_address,
    outbox_name,
    serialise,
)
from shipping.mail_smtp import (
    FAILED,
    OUTBOX,
    RUN_LIMIT,
    SENDING,
    SENT,
    UNKNOWN,
    Key,
    Pending,
    reason,
    send_batch,
)

DEFAULT_OUTBOX = PROJECT_ROOT / "data" / "outbox"
Outcomes = Mapping[Key, tuple[str, str]]  # key -> (状態, エラー)
# Adds the caller's cells to the job that records the outcomes: (tabs read with the log, job,
# outcomes, when).
Finish = Callable[[Tables, WriteJob, Outcomes, datetime], None]


@dataclass(frozen=True)
class Outgoing:
    """One mail to send: its row's key, the address as given, and its content, made only when
    the mail is due (``content`` raises MailTemplateError, in Japanese, when it cannot be)."""

    key: Key
    email: str
    content: Callable[[], MailContent]
    fix_where: str = "受注のメールアドレス"  # where staff correct a bad address


@dataclass
class MailReport:
    sent: list[Key] = field(default_factory=list)
    outbox: list[Path] = field(default_factory=list)
    failed: dict[Key, str] = field(default_factory=dict)
    # Whether the server took these is unknown (要確認): never resent automatically.
    interrupted: list[Key] = field(default_factory=list)
    # 送信中 and recent: another run may be sending them right now; left alone.
    in_progress: list[Key] = field(default_factory=list)
    already_sent: list[Key] = field(default_factory=list)
    gave_up: list[Key] = field(default_factory=list)  # 失敗 max_retries times
    no_address: list[Key] = field(default_factory=list)
    not_due: list[Key] = field(default_factory=list)
    disabled: bool = False

    def summary(self) -> str:
        return (
            f"送信 {len(self.sent)} 件・送らずに保存 {len(self.outbox)} 件・失敗 {len(self.failed)} 件"
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


STOPPED = "送信が途中で止まりました（届いたか不明）"


def stopped_sends(log: Table[Any], mail: MailSettings | None, now: datetime) -> tuple[WriteJob, list[Key]]:
    """送信中 rows no batch can still own (a run killed mid-send): marked 要確認 in one job.
    Automatic mails call this every pass: a killed pass's orders are no longer due, so no later
    send would come across their rows and resolve them."""
    job, keys = WriteJob(), []
    for record in log:
        row = record.value
        if row.state == SENDING and (row.at is None or now - row.at >= stale_after(mail)):
            job.set(log, record.row, {"状態": UNKNOWN, "エラー": STOPPED})
            keys.append((row.mall, row.order_number))
    return job, keys


def max_retries(settings: Settings) -> int:
    return settings.mail.max_retries if settings.mail else 3


def _compose(item: Outgoing, settings: Settings, at: datetime) -> tuple[str, Pending]:
    """(件名, the mail ready to go); MailTemplateError (Japanese) when it cannot be."""
    mail = settings.mail
    to = checked_address(item.email, fix_where=item.fix_where)
    content = item.content()
    subject = " ".join(content.subject.split())
    for part, text in (("件名", subject), ("本文", content.body)):
        if CONTROL.search(text):
            raise MailTemplateError(
                f"{part}に制御文字（NUL など）が含まれています。注文番号・購入者名などの値を確認してください"
            )
    route = _route(mail, to)
    from_address = route.from_address if route else "shop@example.jp"
    try:
        message = build_message(
            subject,
            content.body,
            to=to,
            from_address=from_address,
            from_name=(mail.from_name if mail else "") or settings.app.shop_name,
            encoding=mail.encoding if mail else "utf-8",
            at=at,
            attachments=content.attachments,
        )
        data = serialise(message)
    except MailTemplateError:
        raise
    except (ValueError, TypeError, LookupError, UnicodeError) as exc:
        raise MailTemplateError(f"メールを組み立てられません（{exc.__class__.__name__}: {exc}）") from exc
    return subject, Pending(item.key, to, data, route)


RAKUTEN_ROUTE_MISSING = (
    "楽天の購入者のアドレス（楽天あんしんメルアド）へは、楽天のメールサーバーを通したメールしか届きません。"
    "設定ファイルの [mail.rakuten] に、R-Login「メールサーバ設定情報」の SMTP サーバー名・SMTP AUTH ID・"
    "パスワードと、RMS の店舗連絡先メールアドレスを書いてください（書くと次の送信で送ります）"
)


def _route(mail: MailSettings | None, to: str) -> MailSettings | None:
    """The settings a mail goes out with; a 楽天 relay address without [mail.rakuten] cannot
    be reached (MailTemplateError: recorded 失敗 without using up an attempt)."""
    if mail is None or not mail.host:
        return mail  # saved to the outbox, not sent
    route = mail.route_for(to)
    if route is None:
        raise MailTemplateError(RAKUTEN_ROUTE_MISSING)
    return route


def deliver_once(
    workbook: Any,
    kind: str,
    log: Table[Any],
    items: Iterable[Outgoing],
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    outbox_dir: Path | None = None,
    report: MailReport | None = None,
    finish: Finish | None = None,
    finish_reads: Sequence[TabSpec] = (),
) -> MailReport:
    """Send each item that has not had mail ``kind`` yet, exactly once (see the module doc).

    ``log`` is メール送信履歴 as the caller just read it. One item's bad data fails that item
    only, recorded as 失敗 with the reason; the batch goes on. ``finish`` (reading
    ``finish_reads`` with the log) adds cells to the job that records the outcomes.
    ``smtp_factory`` defaults to smtplib.SMTP (smtplib.SMTP_SSL for security = "ssl")."""
    report = report if report is not None else MailReport()
    mail = settings.mail
    records = {r.row: r.value for r in log}
    retries = max_retries(settings)
    now = clock()
    job = WriteJob()

    def mark(key: Key, row: int | None, values: dict[str, Any]) -> None:
        if row is None:
            job.append(log, [{"テンプレート名": kind, "モール": key[0], "注文番号": key[1], **values}])
        else:
            job.set(log, row, values)

    todo: list[Pending] = []
    seen: set[Key] = set()
    for item in items:
        key = item.key
        if key in seen:
            continue
        seen.add(key)
        row = log.find_row((kind, *key))
        previous = records.get(row) if row is not None else None
        if row is not None and previous is None:
            report.failed[key] = "メール送信履歴の行に入力エラーがあります"
            continue
        state = mail_state(previous, retries)
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
                mark(key, row, {"状態": UNKNOWN, "エラー": STOPPED})
                report.interrupted.append(key)
            continue
        if state == "gave_up":
            report.gave_up.append(key)
            continue
        attempts = previous.attempts if previous is not None else 0
        if not item.email.strip():
            report.no_address.append(key)
            continue
        values = {"宛先": cell_text(item.email.strip(), 254), "日時": now}
        try:
            subject, pending = _compose(item, settings, now)
        except MailTemplateError as exc:
            # Nothing reached the server: 失敗 without using up an attempt, so fixing the data is
            # enough for the next run to send it.
            why = str(exc)
            mark(key, row, {**values, "状態": FAILED, "エラー": why, "試行回数": attempts})
            report.failed[key] = why
            continue
        mark(key, row, {**values, "件名": subject, "状態": SENDING, "エラー": "", "試行回数": attempts + 1})
        todo.append(pending)
    if not job:
        return report
    workbook.write(job)  # 1. 送信中, durable before anything leaves
    if not todo:
        return report

    outcomes: dict[Key, tuple[str, str]] = {}
    handing: list[Key] = []  # the mail being handed over right now, if any
    try:
        if mail is None or not mail.host:
            folder = outbox_dir or (mail.outbox_path() if mail else DEFAULT_OUTBOX)
            _save_to_outbox(kind, todo, folder, outcomes, report)
        else:
            # One connection per server: the shop's, and 楽天あんしんメルアド's for its relays.
            for route, group in _by_route(mail, todo):
                send_batch(route, group, smtp_factory, outcomes, handing, clock)
    finally:
        # 3. what happened. Whatever stopped the batch, no row it marked stays 送信中: the mail in
        # the server's hands is 要確認, the ones never handed over are 失敗 (sent next run).
        for pending in todo:
            if pending.key not in outcomes:
                outcomes[pending.key] = (
                    (UNKNOWN, "送信中に止まりました（届いたか不明）")
                    if pending.key in handing
                    else (FAILED, "送信が途中で止まったため送っていません")
                )
        for key, (state, error) in outcomes.items():
            if state == SENT:
                report.sent.append(key)
            elif state == UNKNOWN:
                report.interrupted.append(key)
            elif state == FAILED:
                report.failed[key] = error
        # Only a hard kill leaves 送信中 (the next run resolves it).
        _record(workbook, kind, outcomes, clock(), finish, finish_reads)
    return report


def _by_route(mail: MailSettings, todo: list[Pending]) -> list[tuple[MailSettings, list[Pending]]]:
    groups: dict[tuple[str, int, str], tuple[MailSettings, list[Pending]]] = {}
    for pending in todo:
        route = pending.route or mail
        groups.setdefault((route.host, route.port, route.from_address), (route, []))[1].append(pending)
    return list(groups.values())


def _save_to_outbox(
    kind: str, todo: list[Pending], folder: Path, outcomes: dict[Key, tuple[str, str]], report: MailReport
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pending in todo:
        path = folder / outbox_name(kind, pending.key)
        try:
            path.write_bytes(pending.data)
        except OSError as exc:
            outcomes[pending.key] = (FAILED, f"メールをこのパソコンのフォルダに保存できません: {reason(exc)}")
            continue
        outcomes[pending.key] = (OUTBOX, "")
        report.outbox.append(path)


def _record(
    workbook: Any,
    kind: str,
    outcomes: Outcomes,
    at: datetime,
    finish: Finish | None,
    finish_reads: Sequence[TabSpec],
) -> None:
    if not outcomes:
        return
    tables = read_tables(workbook, [MAIL_LOG, *finish_reads])
    log = tables[MAIL_LOG.title]
    job = WriteJob()
    for key, (state, error) in outcomes.items():
        row = log.find_row((kind, *key))
        if row is not None:
            job.set(log, row, {"状態": state, "日時": at, "エラー": cell_text(error, 500)})
    if finish is not None:
        finish(tables, job, outcomes, at)
    workbook.write(job)
