"""Handing a batch of ready mails to an SMTP server, one connection for the batch, and what
each mail's row in メール送信履歴 becomes: 送信済, 失敗 (the server said no, or it was never
handed over) or 要確認 (the connection failed while the server had it: it may have arrived).
See shipping/mail_delivery.py for the whole exactly-once protocol."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from settings import MailSettings

# The states of a メール送信履歴 row.
SENDING = "送信中"
SENT = "送信済"
FAILED = "失敗"
OUTBOX = "outbox"
UNKNOWN = "要確認"
# A batch starts no new mail after this long; 送信中 rows older than stale_after() are stopped runs.
RUN_LIMIT = timedelta(minutes=10)
MAX_RECONNECTS = 3

Key = tuple[str, str]  # (モール, 注文番号) of the メール送信履歴 row


@dataclass
class Pending:
    key: Key
    to: str
    data: bytes  # the whole message, serialised before anything is marked 送信中
    # The server it goes through ([mail], or [mail.rakuten] for a 楽天 relay address).
    route: MailSettings | None = None


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


def send_batch(
    mail: MailSettings,
    todo: list[Pending],
    factory: Callable[..., smtplib.SMTP] | None,
    outcomes: dict[Key, tuple[str, str]],
    handing: list[Key],
    clock: Callable[[], datetime],
) -> None:
    """Each mail over one connection; a dropped connection is opened again (at most
    MAX_RECONNECTS times) for the mails after it, so one bad moment does not fail the batch."""
    started = clock()
    smtp: smtplib.SMTP | None = None
    reconnects = 0
    try:
        for pending in todo:
            key = pending.key
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
                    why = f"メールサーバーに接続できません: {reason(exc)}"
                    for rest in todo[todo.index(pending) :]:
                        outcomes.setdefault(rest.key, (FAILED, why))
                    return
            handing[:] = [key]
            try:
                smtp.sendmail(mail.from_address, [pending.to], pending.data)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                outcomes[key] = (FAILED, reason(exc))  # the server answered no: nothing delivered
                _reset(smtp)
            except smtplib.SMTPNotSupportedError as exc:
                outcomes[key] = (FAILED, f"メールサーバーが対応していない宛先です: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                # The connection failed while the mail was on its way: it may have arrived.
                outcomes[key] = (UNKNOWN, f"送信中に接続が切れました（届いたか不明）: {reason(exc)}")
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


def reason(exc: Any) -> str:
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
