"""One mail as it goes out: the address checked, headers encoded for Japanese (RFC 2047 and
RFC 2231 for attachment names), attachments, the bytes handed to the server, and the outbox
folder used when no mail server is configured. Shared by customer mails (shipping/mail.py) and
発注書 (purchasing/po_mail.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path


class MailTemplateError(ValueError):
    """A mail that cannot be rendered or built; the message is Japanese, for staff."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class MailContent:
    """What a mail says, before it is addressed and encoded."""

    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


def _attach(msg: Message | EmailMessage, attachments: Sequence[Attachment]) -> None:
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if isinstance(msg, EmailMessage):
            msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
        else:
            part = MIMEApplication(item.data, subtype)
            # RFC 2231: a Japanese file name survives any mail client.
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", item.filename))
            msg.attach(part)


def build_message(
    subject: str,
    body: str,
    *,
    to: str,
    from_address: str,
    from_name: str,
    encoding: str,
    at: datetime,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """A mail with a properly encoded Japanese subject and sender name (RFC 2047)."""
    if encoding == "iso-2022-jp":
        try:
            text = MIMEText(body, "plain", "iso-2022-jp")
            msg: Message = text
            if attachments:
                msg = MIMEMultipart()
                msg.attach(text)
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
    _attach(msg, attachments)
    msg["To"] = to
    msg["Date"] = formatdate(at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    return msg


def serialise(message: Message) -> bytes:
    """The message as sent: CRLF line ends, every header encoded (compat32 for ISO-2022-JP)."""
    if isinstance(message, EmailMessage):
        return message.as_bytes(policy=policy.SMTP)
    return message.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


_BAD_ADDRESS = re.compile(r"[\x00-\x20\x7f<>()\[\]\\,;:\"]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def checked_address(email: str, *, fix_where: str = "受注のメールアドレス") -> str:
    """The address as given, or MailTemplateError when it cannot be one address (a line break
    in it would add headers: ``Bcc:`` to everyone)."""
    address = email.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or _BAD_ADDRESS.search(address) or len(address) > 254:
        shown = address.encode("unicode_escape").decode("ascii")[:80]
        raise MailTemplateError(
            f"宛先のメールアドレス「{shown}」が正しくありません（{fix_where}を直してください）"
        )
    return address


def cell_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- the outbox


@dataclass(frozen=True)
class OutboxMail:
    path: Path
    to: str
    subject: str
    date: str


def list_outbox(outbox_dir: Path) -> list[OutboxMail]:
    """The mails waiting in the outbox folder, newest first, for a page to show."""
    mails = []
    for path in sorted(outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        mails.append(
            OutboxMail(path, str(parsed["To"] or ""), str(parsed["Subject"] or ""), str(parsed["Date"]))
        )
    return mails


def outbox_name(kind: str, key: tuple[str, str]) -> str:
    """A file name any file system takes: no separators or control characters, at most about
    150 bytes (a long order number is cut, with a hash of the whole key to stay unique)."""
    name = re.sub(r'[\\/:*?"<>|\s\x00-\x1f\x7f]', "_", f"{kind}_{key[0]}_{key[1]}")
    if len(name.encode("utf-8", "replace")) > 150:
        digest = hashlib.sha256("\x1f".join((kind, *key)).encode("utf-8", "replace")).hexdigest()[:16]
        while len(name.encode("utf-8", "replace")) > 120:
            name = name[:-1]
        name = f"{name}_{digest}"
    return name + ".eml"
