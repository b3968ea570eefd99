"""Automatic customer mails (自動送信): the sync runner mails orders that reach a template's point
after it was switched ON, inside its 送信時間帯, never to excluded malls, exactly once — over a
real SMTP server on loopback, with the demo shop's malls and the real sync engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from settings import AppSettings, MailSettings, Settings
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import MAIL_TEMPLATES
from shipping import auto_mail
from shipping.auto_mail import DUE, SKIPPED, WAITING, in_window, plan, run_under_lease
from sync.errors import LeaseHeld
from tests.shop_fixtures import Shop, sqlite_shop

# A weekday 10:00 JST: inside the default 9:00-20:00 window.
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def _settings(port: int) -> Settings:
    return Settings(
        app=AppSettings(shop_name="一元堂"),
        mail=MailSettings(host="127.0.0.1", port=port, security="none", from_address="shop@example.jp"),
    )


def _templates(shop: Shop, **values: dict[str, str]) -> None:
    """Set columns of the named templates, as staff would in the sheet."""
    tables = shop.tables()
    table = tables[MAIL_TEMPLATES.title]
    job = WriteJob()
    for record in table.records:
        wanted = values.get(record.value.name)
        job.set(table, record.row, wanted if wanted is not None else {"自動送信": "OFF"})
    shop.workbook.write(job)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    made = sqlite_shop(tmp_path)
    made.clock.now = MORNING
    return made


def _thanks_sent(handler) -> list[str]:
    return [rcpt for _, rcpts in handler.envelopes for rcpt in rcpts]


def test_switching_on_never_mails_the_history_then_new_orders_get_exactly_one(shop: Shop, smtp) -> None:
    handler, port = smtp
    settings = _settings(port)
    _templates(shop, サンクスメール={"自動送信": "ON", "送信時間帯": "", "除外モール": ""})
    engine = shop.engine()
    first = run_under_lease(engine, settings)  # notes the switch; the seeded orders stay unmailed
    assert not first.anything and handler.messages == []
    assert auto_mail.start_key("サンクスメール") in {r.value.key for r in shop.tables()["_システム"].records}

    shop.clock.advance(hours=2)
    engine.run_once()  # the busy demo malls bring new orders
    tables = shop.tables()
    started = shop.clock.now - timedelta(hours=2)
    new = [
        o
        for o in tables["受注"].models()
        if o.ordered_at >= started and o.status not in ("出荷済", "キャンセル") and o.mall != "Amazon"
    ]
    assert new, "the demo malls sold nothing in two hours"
    report = run_under_lease(engine, settings)
    assert report.sent == len(new) and report.failed == 0
    assert sorted(_thanks_sent(handler)) == sorted(o.email for o in new)
    log = [r for r in read_tables(shop.workbook)["メール送信履歴"].models() if r.template == "サンクスメール"]
    assert {(r.mall, r.order_number) for r in log} == {(o.mall, o.order_number) for o in new}
    assert {r.state for r in log} == {"送信済"}

    again = run_under_lease(engine, settings)  # a replay, or the next pass: nothing twice
    assert not again.anything and len(handler.messages) == len(new)


def test_outside_the_window_mails_wait_and_amazon_and_excluded_malls_are_never_mailed(
    shop: Shop, smtp
) -> None:
    handler, port = smtp
    settings = _settings(port)
    _templates(shop, サンクスメール={"自動送信": "ON", "送信時間帯": "9:00-20:00", "除外モール": "Yahoo!"})
    engine = shop.engine()
    run_under_lease(engine, settings)
    shop.clock.now = MORNING.replace(hour=21)  # evening orders, after the window closed
    engine.run_once()
    tables = shop.tables()
    queue = plan(tables, shop.clock.now, settings).queue
    by_mall = {(q.mall, q.state) for q in queue}
    assert ("楽天", WAITING) in by_mall and ("楽天", DUE) not in by_mall
    assert {q.reason for q in queue if q.mall == "Yahoo!"} == {"除外モール"}
    assert {q.state for q in queue if q.mall in ("Yahoo!", "Amazon")} == {SKIPPED}
    assert any(q.mall == "Amazon" and "Amazonのルール" in q.reason for q in queue)
    assert not run_under_lease(engine, settings).anything and handler.messages == []

    shop.clock.now = (MORNING + timedelta(days=1)).replace(hour=9, minute=5)  # the next morning
    report = run_under_lease(engine, settings)
    mailed = sorted(rcpt for _, rcpts in handler.envelopes for rcpt in rcpts)
    waited = {(q.mall, q.order_number) for q in queue if q.state == WAITING}
    expected = sorted(o.email for o in tables["受注"].models() if (o.mall, o.order_number) in waited)
    assert report.sent == len(expected) > 0 and mailed == expected
    log = read_tables(shop.workbook)["メール送信履歴"].models()
    assert not {r.mall for r in log} & {"Amazon", "Yahoo!"}


def test_switching_off_forgets_the_moment_and_on_again_starts_afresh(shop: Shop, smtp) -> None:
    handler, port = smtp
    settings = _settings(port)
    on = {"自動送信": "ON", "送信時間帯": "", "除外モール": ""}
    _templates(shop, サンクスメール=on)
    engine = shop.engine()
    run_under_lease(engine, settings)
    _templates(shop, サンクスメール={"自動送信": "OFF"})
    shop.clock.advance(hours=2)
    engine.run_once()  # orders arrive while it is OFF
    run_under_lease(engine, settings)
    assert auto_mail.start_key("サンクスメール") not in {
        r.value.key for r in shop.tables()["_システム"].records if r.value.value
    }
    _templates(shop, サンクスメール=on)
    run_under_lease(engine, settings)  # ON again: from now on only
    assert not run_under_lease(engine, settings).anything and handler.messages == []


def test_a_point_older_than_three_days_is_not_mailed(shop: Shop, smtp) -> None:
    handler, port = smtp
    settings = _settings(port)
    _templates(shop, サンクスメール={"自動送信": "ON", "送信時間帯": "", "除外モール": ""})
    engine = shop.engine()
    run_under_lease(engine, settings)
    shop.clock.advance(hours=2)
    engine.run_once()
    shop.clock.advance(days=4)  # the runner was off for four days
    assert plan(shop.tables(), shop.clock.now, settings).count == 0
    assert not run_under_lease(engine, settings).anything and handler.messages == []


def test_another_runner_holding_the_lease_keeps_this_one_from_mailing(shop: Shop, smtp) -> None:
    _, port = smtp
    holder = shop.engine(keep_lease=True)
    holder.acquire_lease()
    with pytest.raises(LeaseHeld):
        run_under_lease(shop.engine(), _settings(port))


@pytest.mark.parametrize(
    ("window", "hour", "minute", "inside"),
    [
        ("09:00-20:00", 9, 0, True),
        ("09:00-20:00", 19, 59, True),
        ("09:00-20:00", 20, 0, False),
        ("22:00-06:00", 23, 30, True),
        ("22:00-06:00", 5, 59, True),
        ("22:00-06:00", 12, 0, False),
        ("00:00-24:00", 23, 59, True),
        ("", 3, 0, True),
    ],
)
def test_the_window_in_jst(window: str, hour: int, minute: int, inside: bool) -> None:
    assert in_window(window, MORNING.replace(hour=hour, minute=minute)) is inside


def test_a_malformed_window_is_a_japanese_error_naming_the_row_and_column() -> None:
    headers = list(MAIL_TEMPLATES.headers)
    row = {h: "" for h in headers} | {
        "テンプレート名": "サンクスメール",
        "自動送信": "ON",
        "送信時間帯": "朝から晩まで",
    }
    table = parse_grid(MAIL_TEMPLATES, Grid(MAIL_TEMPLATES.title, headers, [[row[h] for h in headers]]))
    (error,) = table.errors
    assert "「メールテンプレート」シート 2行目 「送信時間帯」列" in str(error)
    assert "9:00-20:00" in str(error)
    assert table.models() == []  # the row is not used until it is fixed


def test_a_rule_that_asks_for_a_mail_gets_it_sent_once_in_the_window(shop: Shop, smtp) -> None:
    handler, port = smtp
    settings = _settings(port)
    _templates(shop, 入金確認={"自動送信": "OFF", "送信時間帯": "9:00-20:00", "除外モール": ""})
    tables = shop.tables()
    rules = tables["受注ルール"]
    job = WriteJob()
    for record in rules.records:
        job.set(rules, record.row, {"有効": "OFF"})
    job.append(
        rules,
        [
            {
                "順番": "9",
                "ルール名": "楽天に入金確認",
                "有効": "ON",
                "モール": "楽天",
                "メールを送る": "入金確認",
            }
        ],
    )
    shop.workbook.write(job)
    engine = shop.engine()
    shop.clock.advance(hours=2)
    engine.run_once()  # new 楽天 orders: the rule asks for 入金確認 for each
    asked = {(a.mall, a.order_number) for a in shop.tables()["_ルール適用"].models() if a.column == "メール"}
    assert asked and {m for m, _ in asked} == {"楽天"}
    report = run_under_lease(engine, settings)
    assert report.sent == len(asked)
    log = [r for r in shop.tables()["メール送信履歴"].models() if r.template == "入金確認"]
    assert {(r.mall, r.order_number) for r in log} == asked
    assert not run_under_lease(engine, settings).anything  # once
    assert len(handler.messages) == len(asked)


def test_orders_with_an_excluded_tag_are_skipped_with_the_tag_named(shop: Shop, smtp) -> None:
    handler, port = smtp
    settings = _settings(port)
    _templates(
        shop, サンクスメール={"自動送信": "ON", "送信時間帯": "", "除外タグ": "クレーム対応中、要電話"}
    )
    engine = shop.engine()
    run_under_lease(engine, settings)  # notes the switch
    shop.clock.advance(hours=2)
    engine.run_once()
    new = [
        o
        for o in shop.tables()["受注"].models()
        if o.ordered_at >= shop.clock.now - timedelta(hours=2)
        and o.status not in ("出荷済", "キャンセル")
        and o.mall != "Amazon"
        and o.email
    ]
    assert len(new) >= 2, "the demo malls sold too little in two hours"
    flagged = new[0]
    shop.staff_edit("受注", (flagged.mall, flagged.order_number), {"タグ": "ギフト、要電話"})
    queue = plan(shop.tables(), shop.clock.now, settings).queue
    (skipped,) = [q for q in queue if (q.mall, q.order_number) == (flagged.mall, flagged.order_number)]
    assert (skipped.state, skipped.reason) == (SKIPPED, "除外タグ「要電話」")
    report = run_under_lease(engine, settings)
    assert report.sent == len(new) - 1 and len(_thanks_sent(handler)) == len(new) - 1
    log = [r for r in read_tables(shop.workbook)["メール送信履歴"].models() if r.template == "サンクスメール"]
    assert {(r.mall, r.order_number) for r in log} == {(o.mall, o.order_number) for o in new[1:]}


def _due_shop(folder: Path) -> Shop:
    """サンクスメール switched ON, then two hours of the demo malls' orders: mails are due."""
    made = sqlite_shop(folder)
    made.clock.now = MORNING
    _templates(made, サンクスメール={"自動送信": "ON", "送信時間帯": ""})
    run_under_lease(made.engine(), _settings(1))  # notes the switch; nothing is sent yet
    made.clock.advance(hours=2)
    made.engine().run_once()
    return made


def test_a_runner_killed_at_any_write_of_a_mail_pass_never_mails_an_order_twice(tmp_path: Path, smtp) -> None:
    """kill -9 before or after each write of an automatic mail pass, then the next runner (after
    the dead one's lease and its 送信中 rows have run out): every due order has its mail once, or
    is 要確認 when it may have gone out during the kill; none gets two, and no row is left 送信中
    (a killed pass's orders are not due any more, so the next pass resolves them itself)."""
    from tests.test_sync_crash import CrashingWorkbook, Killed

    class KilledStaysDead(CrashingWorkbook):
        dead = False

        def write(self, job: WriteJob) -> None:
            if self.dead:
                raise Killed  # a killed process writes nothing more (no cleanup, no lease release)
            try:
                super().write(job)
            except Killed:
                self.dead = True
                raise

    handler, port = smtp
    settings = _settings(port)
    reference = _due_shop(tmp_path / "reference")
    counter = CrashingWorkbook(reference.workbook, crash_at=0, after=False)
    engine = reference.engine()
    engine.workbook = counter
    report = run_under_lease(engine, settings)
    due = sorted(_thanks_sent(handler))
    assert report.sent == len(due) > 0 and counter.writes >= 2  # 送信中, then the outcomes
    for n in range(1, counter.writes + 1):
        for after in (False, True):
            name = f"kill-{n}-{'after' if after else 'before'}"
            handler.envelopes.clear()
            shop = _due_shop(tmp_path / name)
            engine = shop.engine()
            engine.workbook = KilledStaysDead(shop.workbook, crash_at=n, after=after)
            with pytest.raises(Killed):
                run_under_lease(engine, settings)
            shop.clock.advance(minutes=30)  # past the lease and auto_mail's 送信中 horizon
            run_under_lease(shop.engine(), settings)
            run_under_lease(shop.engine(), settings)  # and once more: nothing new
            mailed = _thanks_sent(handler)
            assert len(mailed) == len(set(mailed)), name  # no order mailed twice
            log = [
                r
                for r in read_tables(shop.workbook)["メール送信履歴"].models()
                if r.template == "サンクスメール"
            ]
            states = {r.state for r in log}
            assert "送信中" not in states, name
            assert {r.to for r in log if r.state == "送信済"} <= set(mailed), name
            # A kill between marking 送信中 and recording the outcome leaves rows whose mail may
            # or may not have left: 要確認 for staff, never sent again by itself.
            unknown = {r.to for r in log if r.state == "要確認"}
            assert set(mailed) | unknown == set(due), name  # every due order: mailed, or flagged
            assert states <= {"送信済", "要確認"}, name


def _add_template(shop: Shop, row: dict[str, str]) -> None:
    """A メールテンプレート row of staff's own, appended as they would type it."""
    job = WriteJob()
    job.append(shop.tables()[MAIL_TEMPLATES.title], [row])
    shop.workbook.write(job)


def test_a_template_of_staffs_own_is_mailed_at_its_own_timing_and_a_rule_may_name_it(
    shop: Shop, smtp
) -> None:
    """Staff add 「レビューのお願い」, 2 days after shipping: not one day after, once at two; a
    受注ルール can ask for it by name like for the four the workbook starts with."""
    handler, port = smtp
    settings = _settings(port)
    _templates(shop)  # the four standard ones OFF
    _add_template(
        shop,
        {
            "テンプレート名": "レビューのお願い",
            "件名": "{{ 注文番号 }} のレビューのお願い",
            "本文": "{{ 購入者名 }} 様\n{{ 商品一覧 }}",
            "送信タイミング": "発送後",
            "送信タイミング日数": "2",
            "有効": "ON",
            "自動送信": "ON",
            "送信時間帯": "",
        },
    )
    (review,) = [t for t in shop.tables()[MAIL_TEMPLATES.title].models() if t.name == "レビューのお願い"]
    assert review.when == "発送後" and review.days_after == 2
    engine = shop.engine()
    run_under_lease(engine, settings)  # notes the switch
    shop.clock.advance(minutes=5)
    order = next(
        o
        for o in shop.tables()["受注"].models()
        if o.mall != "Amazon" and o.email and o.status != "キャンセル"  # any the demo holds now
    )
    shipped = {"ステータス": "出荷済", "追跡番号": "123456789012", "更新日時": shop.clock.now}
    shop.staff_edit("受注", (order.mall, order.order_number), shipped)
    key = (order.mall, order.order_number)

    shop.clock.advance(days=1)
    assert key not in {
        (o.mall, o.order_number)
        for o in plan(shop.tables(), shop.clock.now, settings).send.get("レビューのお願い", [])
    }
    shop.clock.advance(days=1, minutes=1)
    due = plan(shop.tables(), shop.clock.now, settings)
    assert key in {(o.mall, o.order_number) for o in due.send["レビューのお願い"]}
    assert not any(q.template != "レビューのお願い" for q in due.queue)  # the four stay OFF
    run_under_lease(engine, settings)
    log = [
        r for r in read_tables(shop.workbook)["メール送信履歴"].models() if r.template == "レビューのお願い"
    ]
    assert key in {(r.mall, r.order_number) for r in log} and {r.state for r in log} == {"送信済"}
    subjects = [BytesParser(policy=policy.default).parsebytes(raw)["Subject"] for raw in handler.messages]
    assert subjects == [f"{order.order_number} のレビューのお願い"]
    run_under_lease(engine, settings)
    assert (
        sum(
            1
            for r in read_tables(shop.workbook)["メール送信履歴"].models()
            if r.template == "レビューのお願い" and (r.mall, r.order_number) == key
        )
        == 1
    )

    rules = shop.tables()["受注ルール"]
    job = WriteJob()
    job.append(
        rules, [{"順番": "9", "ルール名": "レビュー", "有効": "ON", "メールを送る": "レビューのお願い"}]
    )
    shop.workbook.write(job)
    from sync.rules import RuleSet

    tables = shop.tables()
    assert RuleSet.from_table(tables["受注ルール"], tables[MAIL_TEMPLATES.title]).problems == []


def test_a_template_without_its_timing_and_a_rule_naming_no_template_are_row_errors(shop: Shop) -> None:
    from sync.rules import RuleSet

    headers = list(MAIL_TEMPLATES.headers)
    rows = [
        {h: "" for h in headers} | {"テンプレート名": "レビューのお願い", "件名": "x"},  # whose timing?
        {h: "" for h in headers} | {"テンプレート名": "フォローメール", "送信タイミング日数": "7"},
        {h: "" for h in headers} | {"テンプレート名": "発注書", "送信タイミング": "発送"},  # the suppliers'
    ]
    table = parse_grid(
        MAIL_TEMPLATES, Grid(MAIL_TEMPLATES.title, headers, [[r[h] for h in headers] for r in rows])
    )
    error, reserved = table.errors
    assert "「メールテンプレート」シート 2行目 「送信タイミング」列" in str(error) and "発送後" in str(error)
    assert "4行目 「テンプレート名」列" in str(reserved) and "別の名前にしてください" in str(reserved)
    (follow,) = table.models()  # blank on a standard template: its own timing
    assert follow.when == "発送後"

    rules = shop.tables()["受注ルール"]
    job = WriteJob()
    job.append(rules, [{"順番": "9", "ルール名": "レビュー", "有効": "ON", "メールを送る": "レビュー依頼"}])
    shop.workbook.write(job)
    tables = shop.tables()
    found = RuleSet.from_table(tables["受注ルール"], tables[MAIL_TEMPLATES.title])
    row = tables["受注ルール"].find_row(("レビュー",))  # keyed by ルール名
    (problem,) = found.problems
    assert "「受注ルール」シート" in problem and "「メールを送る」列" in problem
    assert (
        "「メールテンプレート」シートにこの名前のテンプレートがありません" in problem
        and "レビュー依頼" in problem
    )
    assert row is not None and f"「受注ルール」シート {row}行目" in problem
    assert not found.runs  # nothing of the rule set runs until it is fixed

    # A rule naming a template whose own row is in error points there instead.
    _add_template(shop, {"テンプレート名": "レビュー依頼", "件名": "x", "本文": "y", "有効": "ON"})
    tables = shop.tables()
    template_row = tables[MAIL_TEMPLATES.title].find_row(("レビュー依頼",))
    (problem,) = RuleSet.from_table(tables["受注ルール"], tables[MAIL_TEMPLATES.title]).problems
    assert f"「受注ルール」シート {row}行目 「メールを送る」列" in problem
    assert f"「メールテンプレート」シート {template_row}行目のこのテンプレートに誤りがあります" in problem


def test_a_cleared_window_is_the_default_daytime_and_all_day_is_written_0_to_24() -> None:
    """What the README and the tab's help say: a blank 送信時間帯 is 9:00-20:00 (a cleared cell
    never mails at night), 0:00-24:00 is all day."""
    headers = list(MAIL_TEMPLATES.headers)
    rows = [
        {h: "" for h in headers} | {"テンプレート名": "サンクスメール", "送信時間帯": ""},
        {h: "" for h in headers} | {"テンプレート名": "発送連絡", "送信時間帯": "0:00-24:00"},
    ]
    table = parse_grid(
        MAIL_TEMPLATES, Grid(MAIL_TEMPLATES.title, headers, [[r[h] for h in headers] for r in rows])
    )
    blank, all_day = table.models()
    night = MORNING.replace(hour=23, minute=30)
    assert blank.window == "09:00-20:00" and not in_window(blank.window, night)
    assert in_window(all_day.window, night)
