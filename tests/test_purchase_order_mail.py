"""発注書 by mail through the customer mails' mailer, against a real SMTP server on loopback:
sent once with the PDF attached, a second press never sends again, a refusal is 失敗 and sent
again by a later press (within max_retries), a cut connection is 要確認 and never resent, and
送信日時/ステータス land in the same job as 送信済 (on the SQL and the Google Sheets adapter)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from purchasing import po_mail
from settings import AppSettings, MailSettings, Settings
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import MailTemplate
from sheets_schema.tabs import MAIL_TEMPLATES
from shipping.mail import due_orders, stale_after
from shipping.pdf_layout import ShopInfo
from tests import pdf_text
from tests.shop_fixtures import open_shop, sqlite_shop, staff_edit

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=JST)
SHOP = ShopInfo("一源ストア", "530-0001", "大阪府大阪市北区梅田1-2-3", "06-1234-5678")
HARNESS_BACKENDS = ("sql", "google")


class Crash(BaseException):
    """The process dying: nothing after it runs except finally blocks."""


@pytest.fixture
def workbook(tmp_path: Path) -> Any:
    return sqlite_shop(tmp_path).workbook


def settings_for(port: int, **mail: Any) -> Settings:
    section = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "buyer@ichigen.example.jp",
    }
    return Settings(app=AppSettings(shop_name=SHOP.name), mail=MailSettings(**{**section, **mail}))


def draft(workbook: Any) -> Any:
    return next(o for o in read_tables(workbook)["発注"].models() if o.status == "下書き")


def state(workbook: Any, number: str) -> tuple[Any, Any]:
    """(the 発注 row, its メール送信履歴 row)."""
    tables = read_tables(workbook)
    order = next(o for o in tables["発注"].models() if o.number == number)
    return order, po_mail.record(tables["メール送信履歴"].models(), number)


def send(workbook: Any, number: str, settings: Settings, at: datetime = NOW, **options: Any) -> Any:
    return po_mail.send_purchase_order(workbook, number, settings, SHOP, clock=lambda: at, **options)


def supplier_email(workbook: Any, name: str) -> str:
    return next(s.email for s in read_tables(workbook)["仕入先"].models() if s.name == name)


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_the_order_goes_once_with_its_pdf_and_becomes_ordered_in_the_same_job(
    workbook: Any, smtp: Any, encoding: str
) -> None:
    handler, port = smtp
    order = draft(workbook)
    to = supplier_email(workbook, order.supplier)
    result = send(workbook, order.number, settings_for(port, encoding=encoding))
    assert result.level == "success" and "ステータスを「発注済」にしました" in result.message
    assert handler.envelopes == [("buyer@ichigen.example.jp", [to])]
    (raw,) = handler.messages
    assert raw.isascii()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["Subject"] == f"【発注書】{order.number}（{SHOP.name}）"
    body = msg.get_body(("plain",)).get_content()
    assert f"{order.supplier}" in body and f"■発注番号：{order.number}" in body and "00123-02" in body
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == f"発注書_{order.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text.text(attachment.get_content())
    assert f"{order.supplier}御中" in text and f"発注番号：{order.number}" in text

    after, log = state(workbook, order.number)
    assert (after.status, after.sent_at, after.updated_at) == ("発注済", NOW, NOW)
    assert (log.template, log.mall, log.state, log.to, log.attempts) == ("発注書", "発注", "送信済", to, 1)

    again = send(workbook, order.number, settings_for(port, encoding=encoding))
    assert again.level == "info" and "送信済み" in again.message and "削除" in again.message
    assert len(handler.messages) == 1
    assert state(workbook, order.number)[0] == after


class CrashOnSecondWrite:
    """The workbook, with the process dying when the outcome (送信済) is about to be written."""

    def __init__(self, workbook: Any) -> None:
        self.inner = workbook
        self.writes = 0

    def read(self, titles: Any, **options: Any) -> Any:
        return self.inner.read(titles, **options)

    def write(self, job: Any) -> None:
        self.writes += 1
        if self.writes == 2:
            raise Crash
        self.inner.write(job)


def test_the_status_and_the_record_land_together_or_not_at_all(
    harness: Any, smtp: Any, tmp_path: Path
) -> None:
    handler, port = smtp
    workbook = open_shop(harness.workbook, tmp_path / "malls").workbook
    order = draft(workbook)
    with pytest.raises(Crash):
        send(CrashOnSecondWrite(workbook), order.number, settings_for(port))
    assert len(handler.messages) == 1
    before, log = state(workbook, order.number)
    assert (before.status, before.sent_at, log.state) == ("下書き", None, "送信中")  # neither landed

    soon = send(workbook, order.number, settings_for(port))
    assert soon.level == "info" and "送信中" in soon.message
    later = NOW + stale_after(settings_for(port).mail)
    for _ in range(2):
        unknown = send(workbook, order.number, settings_for(port), at=later)
        assert unknown.level == "warning" and "要確認" in unknown.message
    assert len(handler.messages) == 1  # never a second copy
    assert state(workbook, order.number)[1].state == "要確認"

    # A whole send on this adapter: 送信済 and 発注済 in one job.
    other = next(o for o in read_tables(workbook)["発注"].models() if o.status == "発注済")
    assert send(workbook, other.number, settings_for(port)).level == "success"
    after, log = state(workbook, other.number)
    assert (after.status, after.sent_at, log.state) == ("発注済", NOW, "送信済")


def test_a_refusal_is_failed_then_sent_by_a_later_press_within_the_retries(workbook: Any, smtp: Any) -> None:
    handler, port = smtp
    order = draft(workbook)
    handler.refuse = {supplier_email(workbook, order.supplier)}
    settings = settings_for(port, max_retries=2)
    first = send(workbook, order.number, settings)
    assert first.level == "error" and "550" in first.message and "もう一度押すと送り直します" in first.message
    before, log = state(workbook, order.number)
    assert (before.status, before.sent_at) == ("下書き", None)
    assert (log.state, log.attempts) == ("失敗", 1) and "550" in log.error

    handler.refuse = set()
    second = send(workbook, order.number, settings)
    assert second.level == "success" and len(handler.messages) == 1
    after, log = state(workbook, order.number)
    assert (after.status, log.state, log.attempts, log.error) == ("発注済", "送信済", 2, "")


def test_after_max_retries_failures_it_is_not_sent_automatically(workbook: Any, smtp: Any) -> None:
    handler, port = smtp
    order = draft(workbook)
    handler.refuse = {supplier_email(workbook, order.supplier)}
    settings = settings_for(port, max_retries=1)
    assert send(workbook, order.number, settings).level == "error"
    handler.refuse = set()
    gave_up = send(workbook, order.number, settings)
    assert gave_up.level == "error" and "1 回送信に失敗" in gave_up.message
    assert handler.messages == [] and state(workbook, order.number)[0].status == "下書き"


def test_a_connection_cut_mid_mail_is_unknown_and_never_resent(workbook: Any, smtp: Any) -> None:
    handler, port = smtp
    order = draft(workbook)
    handler.drop = {supplier_email(workbook, order.supplier)}
    cut = send(workbook, order.number, settings_for(port))
    assert cut.level == "warning" and "要確認" in cut.message
    assert send(workbook, order.number, settings_for(port)).level == "warning"
    assert len(handler.messages) == 1
    before, log = state(workbook, order.number)
    assert (before.status, log.state) == ("下書き", "要確認")


def test_without_a_mail_server_the_mail_is_saved_to_the_outbox(workbook: Any, tmp_path: Path) -> None:
    order = draft(workbook)
    settings = Settings(app=AppSettings(shop_name=SHOP.name))
    saved = send(workbook, order.number, settings, outbox_dir=tmp_path / "outbox")
    assert saved.level == "success" and "outbox" in saved.message
    (path,) = (tmp_path / "outbox").glob("*.eml")
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert [a.get_filename() for a in msg.iter_attachments()] == [f"発注書_{order.number}.pdf"]
    after, log = state(workbook, order.number)
    assert (after.status, after.sent_at, log.state) == ("発注済", NOW, "outbox")
    again = send(workbook, order.number, settings, outbox_dir=tmp_path / "outbox")
    assert again.level == "info" and len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_orders_that_cannot_be_sent_are_refused_before_anything_is_recorded(workbook: Any, smtp: Any) -> None:
    handler, port = smtp
    order = draft(workbook)
    tables = read_tables(workbook)
    staff_edit(workbook, "仕入先", (order.supplier,), {"メールアドレス": ""})
    row = tables["仕入先"].find_row((order.supplier,))
    blank = send(workbook, order.number, settings_for(port))
    assert (
        blank.level == "error"
        and f"「仕入先」シート {row}行目「メールアドレス」列が空欄です" in blank.message
    )

    staff_edit(
        workbook, "仕入先", (order.supplier,), {"メールアドレス": "someko@example.jp\r\nBcc: all@example.jp"}
    )
    bad = send(workbook, order.number, settings_for(port))
    assert bad.level == "error" and "仕入先シートのメールアドレスを直してください" in bad.message

    received = next(o for o in tables["発注"].models() if o.status == "入荷済")
    done = send(workbook, received.number, settings_for(port))
    assert done.level == "error" and "「入荷済」" in done.message
    staff_edit(workbook, "発注", (order.number,), {"仕入先": "知らない商店"})
    unknown = send(workbook, order.number, settings_for(port))
    assert unknown.level == "error" and "「仕入先」シートにありません" in unknown.message
    assert handler.messages == []
    log = po_mail.record(read_tables(workbook)["メール送信履歴"].models(), order.number)
    assert log.state == "失敗" and log.attempts == 0  # the bad address: nothing reached a server


def test_purchase_order_rows_leave_customer_mails_alone(workbook: Any, smtp: Any) -> None:
    _, port = smtp
    order = draft(workbook)
    assert send(workbook, order.number, settings_for(port)).level == "success"
    tables = read_tables(workbook)
    assert not tables["メール送信履歴"].errors
    thanks = MailTemplate.model_validate(MAIL_TEMPLATES.initial_rows[0])
    orders = tables["受注"].models()
    due = due_orders(thanks, orders, tables["メール送信履歴"].models(), NOW, settings_for(port))
    assert due == due_orders(thanks, orders, [], NOW, settings_for(port))
    # 発注書 is no メールテンプレート: a row with that name is an input error, never listed.
    with pytest.raises(ValueError):
        MailTemplate.model_validate({"テンプレート名": "発注書", "件名": "x", "本文": "y"})


def test_a_long_order_lists_its_first_lines_in_the_mail_and_all_in_the_pdf(workbook: Any, smtp: Any) -> None:
    handler, port = smtp
    tables = read_tables(workbook)
    skus = [p.sku for p in tables["商品"].models()][:40]
    job = WriteJob()
    job.append(
        tables["発注"], [{"発注番号": "PO-LONG", "仕入先": "有限会社浜田染工", "ステータス": "下書き"}]
    )
    job.append(
        tables["発注明細"],
        [{"発注番号": "PO-LONG", "明細番号": i, "SKU": s, "数量": 1} for i, s in enumerate(skus, start=1)],
    )
    workbook.write(job)
    assert send(workbook, "PO-LONG", settings_for(port)).level == "success"
    msg = BytesParser(policy=policy.default).parsebytes(handler.messages[0])
    body = msg.get_body(("plain",)).get_content()
    assert f"（SKU {skus[po_mail.LISTED_LINES - 1]}）" in body and f"（SKU {skus[-1]}）" not in body
    assert f"・ほか {40 - po_mail.LISTED_LINES} 行（添付の発注書をご覧ください）" in body
    assert "■発注日：2026年11月30日" in body  # blank in the sheet: the day it was sent
    (attachment,) = list(msg.iter_attachments())
    text = pdf_text.text(attachment.get_content())
    assert all(sku in text for sku in skus) and "単価未定の40行は合計金額に含みません" in text
