"""Customer mails: sandboxed rendering, and exactly-once sending through メール送信履歴 to a real
SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import smtplib
import time
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from settings import AppSettings, MailSettings, Settings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.models import MailTemplate, Order, OrderLine
from sheets_schema.tabs import MAIL_LOG, MAIL_TEMPLATES
from shipping.mail import (
    MailOrder,
    MailTemplateError,
    due_orders,
    list_outbox,
    preview,
    send_pending,
    stale_after,
)
from tests.smtp_server import free_port

NOW = datetime(2026, 11, 30, 14, 5, tzinfo=JST)
SHOP = "一元堂"


class Crash(BaseException):
    """The process dying: nothing after it runs except finally blocks."""


def order(number: str = "1001", **values: Any) -> Order:
    row = {
        "モール": "楽天",
        "注文番号": number,
        "注文日時": NOW,
        "ステータス": "出荷済",
        "購入者名": "山田 太郎",
        "合計金額": 3300,
        "配送会社": "ヤマト運輸",
        "追跡番号": "1234-5678-9012",
    }
    row.update(values)
    return Order.model_validate(row)


def lines(number: str = "1001") -> list[OrderLine]:
    return [
        OrderLine.model_validate(
            {
                "モール": "楽天",
                "注文番号": number,
                "明細番号": 1,
                "商品名": "今治タオル",
                "数量": 2,
                "単価": 1500,
            }
        )
    ]


def mail_order(number: str = "1001", email: str = "taro@example.jp") -> MailOrder:
    return MailOrder(order(number), lines(number), email)


def template(subject: str, body: str = "本文") -> MailTemplate:
    return MailTemplate.model_validate({"テンプレート名": "発送連絡", "件名": subject, "本文": body})


# ---------------------------------------------------------------- rendering


def test_placeholders_are_filled_from_the_order() -> None:
    subject, body = preview(
        template(
            "【{{ ショップ名 }}】{{ 注文番号 }}",
            "{{ 購入者名 }} 様\n{{ 配送会社 }} {{ 追跡番号 }}\n{{ 追跡URL }}\n{{ 商品一覧 }}",
        ),
        order(),
        lines(),
        shop_name=SHOP,
    )
    assert subject == "【一元堂】1001"
    assert body.splitlines() == [
        "山田 太郎 様",
        "ヤマト運輸 1234-5678-9012",
        "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01=123456789012",
        "・今治タオル × 2（1,500円）",
    ]


@pytest.mark.parametrize(
    ("carrier", "url"),
    [
        ("佐川急便", "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo=99"),
        ("日本郵便", "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1=99"),
        ("西濃運輸", ""),
    ],
)
def test_tracking_url_per_carrier(carrier: str, url: str) -> None:
    _, body = preview(template("件名", "{{ 追跡URL }}"), order(配送会社=carrier, 追跡番号="99"))
    assert body == url


@pytest.mark.parametrize(
    "trick", ["{{ ''.__class__ }}", "{{ 注文番号.__class__.__mro__ }}", "{{ 購入者名.__init__ }}"]
)
def test_the_sandbox_refuses_attribute_tricks(trick: str) -> None:
    with pytest.raises(MailTemplateError, match="発送連絡") as caught:
        preview(template("件名", trick), order())
    assert "安全でない" in str(caught.value)


@pytest.mark.parametrize(
    "runaway",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ ''|center(1000000000) }}",
        "{{ '%999999999s' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{% set s = 'x' * 10000 %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}",
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
    ],
)
def test_runaway_templates_stop_with_a_japanese_error_in_bounded_time(runaway: str) -> None:
    started = time.monotonic()
    with pytest.raises(MailTemplateError, match=r"長くなりすぎます|時間がかかりすぎます"):
        preview(template("件名", runaway), order())
    assert time.monotonic() - started < 5


def test_ordinary_loops_and_filters_still_render() -> None:
    _, body = preview(
        template(
            "件名",
            "{% for i in range(3) %}{{ i }}{% endfor %} {{ 購入者名 ~ ' 様' }} {{ 注文番号|truncate(30) }}",
        ),
        order(),
    )
    assert body == "012 山田 太郎 様 1001"


def test_a_missing_placeholder_names_the_template_and_the_placeholder() -> None:
    with pytest.raises(MailTemplateError) as caught:
        preview(template("{{ お客様名 }} 様"), order())
    message = str(caught.value)
    assert "メールテンプレート「発送連絡」の件名" in message
    assert "{{ お客様名 }}" in message


def test_every_default_template_renders_and_fits_iso_2022_jp() -> None:
    tables = {"テンプレート名": []}
    for row in MAIL_TEMPLATES.initial_rows:
        t = MailTemplate.model_validate(row)
        subject, body = preview(t, order(), lines(), shop_name=SHOP)
        assert "1001" in subject + body and "{{" not in subject + body
        (subject + body).encode("iso-2022-jp")
        tables["テンプレート名"].append(t.name)
    assert tables["テンプレート名"] == ["サンクスメール", "入金確認", "発送連絡", "フォローメール"]
    follow = MailTemplate.model_validate(MAIL_TEMPLATES.initial_rows[-1])
    assert follow.days_after == 7


# ---------------------------------------------------------------- sending


@pytest.fixture
def workbook(tmp_path: Path) -> SqlWorkbook:
    book = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(book)
    return book


def settings_for(port: int, **mail: Any) -> Settings:
    section = {"host": "127.0.0.1", "port": port, "security": "none", "from_address": "shop@example.jp"}
    return Settings(app=AppSettings(shop_name=SHOP), mail=MailSettings(**{**section, **mail}))


def history(workbook: SqlWorkbook) -> dict[str, Any]:
    return {r.value.order_number: r.value for r in read_tables(workbook, [MAIL_LOG])[MAIL_LOG.title]}


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_mail_arrives_with_japanese_headers_and_body(workbook, smtp, encoding: str) -> None:
    handler, port = smtp
    report = send_pending(
        workbook, "発送連絡", [mail_order()], settings_for(port, encoding=encoding), clock=lambda: NOW
    )
    assert report.sent == [("楽天", "1001")]
    (raw,) = handler.messages
    msg = parse(raw)
    assert raw.isascii()  # every header and the body are properly encoded for transport
    assert msg["Subject"] == "【一元堂】ご注文の商品を発送いたしました（注文番号：1001）"
    (sender,) = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (SHOP, "shop@example.jp")
    assert str(msg["To"]) == "taro@example.jp"
    assert msg.get_content_charset() == encoding
    assert f"=?{encoding}?".lower() in raw.decode("ascii").lower()
    body = msg.get_content()
    assert "山田 太郎 様" in body and "お問い合わせ番号：1234-5678-9012" in body
    assert "・今治タオル × 2（1,500円）" in body
    assert handler.envelopes == [("shop@example.jp", ["taro@example.jp"])]
    row = history(workbook)["1001"]
    assert (row.state, row.to, row.attempts, row.at) == ("送信済", "taro@example.jp", 1, NOW)


def test_a_batch_uses_one_connection_and_each_order_gets_one_mail(workbook, smtp) -> None:
    handler, port = smtp
    orders = [
        MailOrder(order(str(2000 + i), ステータス="発送待ち"), lines(), f"buyer{i}@example.jp")
        for i in range(5)
    ]
    report = send_pending(workbook, "サンクスメール", orders, settings_for(port), clock=lambda: NOW)
    assert len(report.sent) == 5
    assert len(handler.messages) == 5
    assert handler.greetings == 1 and len(handler.sessions) == 1
    again = send_pending(workbook, "サンクスメール", orders, settings_for(port), clock=lambda: NOW)
    assert (again.sent, len(again.already_sent), len(handler.messages)) == ([], 5, 5)
    assert {r.state for r in history(workbook).values()} == {"送信済"}


def test_a_crash_before_anything_was_handed_over_is_failed_and_sent_next_run(workbook, smtp) -> None:
    handler, port = smtp

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    with pytest.raises(Crash):
        send_pending(
            workbook, "発送連絡", [mail_order()], settings_for(port), smtp_factory=dies, clock=lambda: NOW
        )
    row = history(workbook)["1001"]
    assert row.state == "失敗" and "送っていません" in row.error  # not left 送信中

    report = send_pending(workbook, "発送連絡", [mail_order()], settings_for(port), clock=lambda: NOW)
    assert report.sent == [("楽天", "1001")] and len(handler.messages) == 1


class CrashOnSecondWrite:
    """The workbook, with the process dying when the outcome (送信済) is about to be written."""

    def __init__(self, workbook: SqlWorkbook) -> None:
        self.inner = workbook
        self.writes = 0

    def read(self, titles):
        return self.inner.read(titles)

    def write(self, job) -> None:
        self.writes += 1
        if self.writes == 2:
            raise Crash
        self.inner.write(job)


def test_a_crash_after_sending_before_marking_sent_never_sends_twice(workbook, smtp) -> None:
    # Guarantee: 送信中 is durable before the server is called, and a 送信中 row is never sent
    # again automatically. A run that dies before it can write the outcome (a hard kill) leaves
    # 送信中: a run soon after leaves it alone (another batch may own it), a run after
    # stale_after() marks it 要確認. Neither sends a second copy.
    handler, port = smtp
    flaky = CrashOnSecondWrite(workbook)
    with pytest.raises(Crash):
        send_pending(flaky, "発送連絡", [mail_order()], settings_for(port), clock=lambda: NOW)
    assert len(handler.messages) == 1
    assert history(workbook)["1001"].state == "送信中"

    soon = send_pending(workbook, "発送連絡", [mail_order()], settings_for(port), clock=lambda: NOW)
    assert soon.in_progress == [("楽天", "1001")] and soon.sent == []
    assert history(workbook)["1001"].state == "送信中"

    later = NOW + stale_after(settings_for(port).mail)
    for _ in range(2):
        report = send_pending(workbook, "発送連絡", [mail_order()], settings_for(port), clock=lambda: later)
        assert report.interrupted == [("楽天", "1001")] and report.sent == []
        assert any("要確認" in m for m in report.messages())
    row = history(workbook)["1001"]
    assert row.state == "要確認" and "届いたか不明" in row.error
    assert len(handler.messages) == 1


def test_a_refused_mail_is_failed_not_sent_and_retried_within_bounds(workbook, smtp) -> None:
    handler, port = smtp
    handler.refuse = {"taro@example.jp"}
    settings = settings_for(port, max_retries=2)
    first = send_pending(
        workbook,
        "発送連絡",
        [mail_order(), mail_order("1002", "hanako@example.jp")],
        settings,
        clock=lambda: NOW,
    )
    assert first.sent == [("楽天", "1002")]
    assert "550" in first.failed[("楽天", "1001")]
    row = history(workbook)["1001"]
    assert (row.state, row.attempts) == ("失敗", 1) and "550" in row.error

    second = send_pending(workbook, "発送連絡", [mail_order()], settings, clock=lambda: NOW)
    assert ("楽天", "1001") in second.failed
    assert history(workbook)["1001"].attempts == 2
    third = send_pending(workbook, "発送連絡", [mail_order()], settings, clock=lambda: NOW)
    assert third.gave_up == [("楽天", "1001")] and third.failed == {}

    handler.refuse = set()
    assert send_pending(
        workbook, "発送連絡", [mail_order()], settings_for(port, max_retries=3), clock=lambda: NOW
    ).sent == [("楽天", "1001")]
    row = history(workbook)["1001"]
    assert (row.state, row.attempts, row.error) == ("送信済", 3, "")
    assert len(handler.messages) == 2  # 1002 once, 1001 once


def test_an_unreachable_server_is_failed_for_the_whole_batch(workbook) -> None:
    port = free_port()  # nothing listens here
    report = send_pending(workbook, "発送連絡", [mail_order()], settings_for(port), clock=lambda: NOW)
    assert report.sent == [] and "接続できません" in report.failed[("楽天", "1001")]
    assert history(workbook)["1001"].state == "失敗"


def test_without_mail_settings_mails_go_to_the_outbox(workbook, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = Settings(app=AppSettings(shop_name=SHOP))
    report = send_pending(
        workbook, "発送連絡", [mail_order()], settings, clock=lambda: NOW, outbox_dir=outbox
    )
    assert report.sent == [] and len(report.outbox) == 1
    assert history(workbook)["1001"].state == "outbox"
    (listed,) = list_outbox(outbox)
    assert listed.to == "taro@example.jp"
    assert listed.subject == "【一元堂】ご注文の商品を発送いたしました（注文番号：1001）"
    again = send_pending(workbook, "発送連絡", [mail_order()], settings, clock=lambda: NOW, outbox_dir=outbox)
    assert again.already_sent == [("楽天", "1001")] and len(list(outbox.glob("*.eml"))) == 1


def test_a_template_switched_off_sends_nothing(workbook, smtp) -> None:
    from tests.shop_fixtures import staff_edit

    handler, port = smtp
    staff_edit(workbook, MAIL_TEMPLATES.title, ("発送連絡",), {"有効": "OFF"})
    report = send_pending(workbook, "発送連絡", [mail_order()], settings_for(port), clock=lambda: NOW)
    assert report.disabled and handler.messages == [] and history(workbook) == {}


# ---------------------------------------------------------------- one bad order, the batch goes on

LONG = "9" * 300


def _mixed_batch() -> list[MailOrder]:
    return [
        mail_order("1001"),
        mail_order("1002", "jiro@example.jp\r\nBcc: everyone@example.jp"),
        mail_order("10\x0003", "saburo@example.jp"),
        mail_order(LONG, "shiro@example.jp"),
        mail_order("1005", "goro@example.jp"),
    ]


def _check_mixed(workbook, report) -> None:
    rows = history(workbook)
    assert "送信中" not in {r.state for r in rows.values()}
    bad_address, nul = report.failed[("楽天", "1002")], report.failed[("楽天", "10\x0003")]
    assert "宛先のメールアドレス" in bad_address and "\r" not in bad_address
    assert "制御文字" in nul
    assert (rows["1002"].state, rows["10\x0003"].state) == ("失敗", "失敗")
    assert rows["1002"].attempts == 0  # nothing reached a server: fixing the address is enough
    assert set(report.failed) == {("楽天", "1002"), ("楽天", "10\x0003")}


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_bad_orders_fail_alone_over_smtp(workbook, smtp, encoding: str) -> None:
    handler, port = smtp
    report = send_pending(
        workbook, "発送連絡", _mixed_batch(), settings_for(port, encoding=encoding), clock=lambda: NOW
    )
    assert sorted(report.sent) == sorted([("楽天", "1001"), ("楽天", LONG), ("楽天", "1005")])
    _check_mixed(workbook, report)
    rcpts = [to for _, tos in handler.envelopes for to in tos]
    assert sorted(rcpts) == ["goro@example.jp", "shiro@example.jp", "taro@example.jp"]
    assert all(b"Bcc" not in m for m in handler.messages)
    long_mail = next(parse(m) for m in handler.messages if b"shiro" in m)
    assert LONG in str(long_mail["Subject"]).replace(" ", "")
    assert history(workbook)[LONG].state == "送信済"


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_bad_orders_fail_alone_into_the_outbox(workbook, tmp_path: Path, encoding: str) -> None:
    outbox = tmp_path / "outbox"
    settings = Settings(app=AppSettings(shop_name=SHOP), mail=MailSettings(encoding=encoding))
    report = send_pending(
        workbook, "発送連絡", _mixed_batch(), settings, clock=lambda: NOW, outbox_dir=outbox
    )
    assert len(report.outbox) == 3
    _check_mixed(workbook, report)
    saved = list_outbox(outbox)
    assert sorted(m.to for m in saved) == ["goro@example.jp", "shiro@example.jp", "taro@example.jp"]
    assert all(f"=?{encoding}?".lower() in p.read_bytes().decode("ascii").lower() for p in report.outbox)
    assert {history(workbook)[n].state for n in ("1001", LONG, "1005")} == {"outbox"}


def test_a_connection_cut_mid_mail_is_unknown_and_the_rest_still_go(workbook, smtp) -> None:
    handler, port = smtp
    handler.drop = {"jiro@example.jp"}
    batch = [
        mail_order("1001"),
        mail_order("1002", "jiro@example.jp"),
        mail_order("1003", "saburo@example.jp"),
    ]
    report = send_pending(workbook, "発送連絡", batch, settings_for(port), clock=lambda: NOW)
    assert sorted(report.sent) == [("楽天", "1001"), ("楽天", "1003")]
    assert report.interrupted == [("楽天", "1002")]  # the server had it: maybe delivered
    rows = history(workbook)
    assert (rows["1002"].state, rows["1001"].state, rows["1003"].state) == ("要確認", "送信済", "送信済")
    assert len(handler.messages) == 3
    again = send_pending(workbook, "発送連絡", batch, settings_for(port), clock=lambda: NOW)
    assert again.sent == [] and again.interrupted == [("楽天", "1002")] and len(handler.messages) == 3


def test_an_unexpected_error_mid_batch_leaves_nothing_sending(workbook, smtp) -> None:
    handler, port = smtp

    class Breaks(smtplib.SMTP):
        count = 0

        def sendmail(self, *args: Any, **kwargs: Any) -> Any:
            Breaks.count += 1
            if Breaks.count == 2:
                raise RuntimeError("a bug")
            return super().sendmail(*args, **kwargs)

    batch = [mail_order(str(n), f"b{n}@example.jp") for n in (1, 2, 3)]
    with pytest.raises(RuntimeError):
        send_pending(workbook, "発送連絡", batch, settings_for(port), smtp_factory=Breaks, clock=lambda: NOW)
    states = {n: r.state for n, r in history(workbook).items()}
    assert states == {"1": "送信済", "2": "要確認", "3": "失敗"}
    report = send_pending(workbook, "発送連絡", batch, settings_for(port), clock=lambda: NOW)
    assert report.sent == [("楽天", "3")] and len(handler.messages) == 2


# ---------------------------------------------------------------- which orders are due


def test_each_template_is_due_only_at_its_point_and_until_sent(workbook, smtp) -> None:
    _, port = smtp
    thanks = MailTemplate.model_validate(MAIL_TEMPLATES.initial_rows[0])
    notice = MailTemplate.model_validate(MAIL_TEMPLATES.initial_rows[2])
    orders = [
        order("N1", ステータス="新規"),
        order("W1", ステータス="発送待ち"),
        order("S1", ステータス="出荷済"),
        order("S2", ステータス="出荷済", 追跡番号=""),
        order("C1", ステータス="キャンセル"),
    ]
    settings = settings_for(port)
    assert [o.order_number for o in due_orders(thanks, orders, [], NOW, settings)] == ["N1", "W1"]
    assert [o.order_number for o in due_orders(notice, orders, [], NOW, settings)] == ["S1"]

    report = send_pending(
        workbook,
        "サンクスメール",
        [MailOrder(o, [], "x@example.jp") for o in orders],
        settings,
        clock=lambda: NOW,
    )
    assert sorted(n for _, n in report.sent) == ["N1", "W1"]
    assert sorted(n for _, n in report.not_due) == ["C1", "S1", "S2"]
    log = read_tables(workbook, [MAIL_LOG])[MAIL_LOG.title].models()
    assert due_orders(thanks, orders, log, NOW, settings) == []


# ---------------------------------------------------------------- 楽天あんしんメルアド

RELAY = "a1b2c3d4e5@pc.fw.rakuten.ne.jp"
# The loopback server asks for AUTH without TLS (楽天's is reached over STARTTLS).
no_tls_warning = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@no_tls_warning
def test_mail_to_a_rakuten_relay_goes_through_rakutens_server_from_the_registered_address(
    workbook, smtp
) -> None:
    """楽天 passes mail on to a buyer's あんしんメルアド only from its own server, with SMTP AUTH,
    from the RMS 店舗連絡先メールアドレス: those mails go there; the others through [mail]."""
    from tests.smtp_server import AuthenticatingServer

    handler, port = smtp
    with AuthenticatingServer("rms-auth-id", "rms-pass") as rakuten:
        settings = settings_for(
            port,
            rakuten={
                "host": "127.0.0.1",
                "port": rakuten.port,
                "security": "none",
                "username": "rms-auth-id",
                "password": "rms-pass",
                "from_address": "contact@ichigendo.example.jp",
            },
        )
        orders = [mail_order("1001"), mail_order("1002", RELAY), mail_order("1003", RELAY.upper())]
        report = send_pending(workbook, "発送連絡", orders, settings, clock=lambda: NOW)
        assert sorted(report.sent) == [("楽天", "1001"), ("楽天", "1002"), ("楽天", "1003")]
        assert handler.envelopes == [("shop@example.jp", ["taro@example.jp"])]
        assert rakuten.handler.envelopes == [
            ("contact@ichigendo.example.jp", [RELAY]),
            ("contact@ichigendo.example.jp", [RELAY.upper()]),
        ]
        assert rakuten.logins == ["rms-auth-id"]  # one authenticated connection for both
        (sender,) = parse(rakuten.handler.messages[0])["From"].addresses
        assert sender.addr_spec == "contact@ichigendo.example.jp"


@no_tls_warning
def test_without_rakutens_server_a_relay_mail_is_failed_with_what_to_set_then_sent_once_set(
    workbook, smtp
) -> None:
    from tests.smtp_server import AuthenticatingServer

    handler, port = smtp
    orders = [mail_order("1001"), mail_order("1002", RELAY)]
    report = send_pending(workbook, "発送連絡", orders, settings_for(port), clock=lambda: NOW)
    assert report.sent == [("楽天", "1001")]
    assert "[mail.rakuten]" in report.failed[("楽天", "1002")]
    assert handler.envelopes == [("shop@example.jp", ["taro@example.jp"])]  # never to the relay
    row = history(workbook)["1002"]
    assert (row.state, row.attempts) == ("失敗", 0)  # no attempt used: setting it is enough

    with AuthenticatingServer("rms-auth-id", "rms-pass") as rakuten:
        relay = {"host": "127.0.0.1", "port": rakuten.port, "security": "none"}
        relay |= {"username": "rms-auth-id", "password": "rms-pass", "from_address": "contact@example.jp"}
        again = send_pending(
            workbook, "発送連絡", orders, settings_for(port, rakuten=relay), clock=lambda: NOW
        )
        assert again.sent == [("楽天", "1002")] and again.already_sent == [("楽天", "1001")]
        assert rakuten.handler.envelopes == [("contact@example.jp", [RELAY])]
    assert history(workbook)["1002"].state == "送信済"
