"""The 同期 page: pure health logic with a fixed clock, then the page itself through AppTest on a
temporary embedded workbook with the four demo malls (their state lives beside the workbook)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from shop import sync_health as health
from shop import sync_tables
from sync import state
from sync.connectors import build_connectors
from sync.engine import CycleReport, SyncEngine
from sync.models import PushResult, SyncRun
from sync.push import PlannedPush
from sync.settlement import LOG_MARK

pytestmark = pytest.mark.usefixtures("fresh_caches")

APP = str(PROJECT_ROOT / "app.py")
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=JST)
RAKUTEN = health.Channel("rakuten", "楽天", "楽天本店")
AMAZON = health.Channel("amazon", "Amazon", "Amazon")
DEMO_NAMES = {"楽天": "楽天デモ", "Amazon": "Amazonデモ", "Yahoo!": "Yahoo!デモ", "Shopify": "Shopifyデモ"}


def run(channel: str, job: str, minutes_ago: float, result: str = "成功", **counts: Any) -> health.LoggedRun:
    at = NOW - timedelta(minutes=minutes_ago)
    values = {"fetched": 0, "created": 0, "updated": 0, "duplicates_skipped": 0, "failed": 0, "error": ""}
    values.update(counts)
    return health.LoggedRun(
        job=job, channel=channel, mall="", started_at=at, finished_at=at, result=result, **values
    )


def one(channel: health.Channel, runs: list[health.LoggedRun], **kwargs: Any) -> health.ChannelHealth:
    system = kwargs.pop("system", {})
    return health.channel_health([channel], runs, system, None, kwargs.pop("now", NOW), 30)[0]


# -- pure logic


def test_last_success_per_mall_ignores_failures_and_other_channels() -> None:
    runs = [
        run("rakuten", "受注取込", 50, created=4),
        run("rakuten", "受注取込", 20, "失敗", error="楽天RMSが認証キーを受け付けませんでした"),
        run("amazon", "受注取込", 1, created=9),
        run("rakuten", "在庫送信", 19, fetched=3, updated=3),
        run(
            "rakuten",
            "受注取込",
            5,
            "失敗",
            error="3回続けて失敗したため、2026-05-01 12:05:00 まで待ってから再試行します",
        ),
    ]
    item = one(RAKUTEN, runs)
    assert item.last_pull_success == NOW - timedelta(minutes=50)
    assert item.last_pull is not None and item.last_pull.result == "失敗"  # the latest, whatever it is
    assert item.last_push_success == NOW - timedelta(minutes=19)
    # The waiting notice is not an error of its own: the cause behind it is shown.
    assert item.current_errors == ["楽天RMSが認証キーを受け付けませんでした"]
    assert [e.error for e in item.errors] == ["楽天RMSが認証キーを受け付けませんでした"]
    assert item.status == ("要対応", "red")  # 50 minutes without an import: stale
    other = one(AMAZON, runs)
    assert other.last_pull_success == NOW - timedelta(minutes=1) and other.last_push_success is None
    assert other.status == ("正常", "green") and other.stale is None


def test_a_failing_import_and_a_failing_push_are_both_current_errors() -> None:
    runs = [
        run("rakuten", "受注取込", 30, "失敗", error="古いエラー"),
        run("rakuten", "受注取込", 10),
        run("rakuten", "受注取込", 2, "失敗", error="楽天RMSに接続できません"),
        run(
            "rakuten", "在庫送信", 2, "一部失敗", fetched=3, updated=2, failed=1, error="商品が見つかりません"
        ),
    ]
    item = one(RAKUTEN, runs)
    assert item.current_errors == ["楽天RMSに接続できません", "商品が見つかりません"]
    assert [e.error for e in item.errors] == ["楽天RMSに接続できません", "商品が見つかりません", "古いエラー"]
    assert item.status == ("エラー", "red")


def test_stale_detection_uses_the_injected_now_and_names_the_mall() -> None:
    runs = [run("rakuten", "受注取込", 45), run("rakuten", "受注取込", 2, "失敗", error="x")]
    assert one(RAKUTEN, runs, now=NOW - timedelta(minutes=20)).stale is None  # 25 minutes: fine
    stale = one(RAKUTEN, runs).stale
    assert stale is not None and stale.level == "error"
    assert stale.message.startswith("楽天本店: 45分のあいだ受注を取り込めていません")
    assert "最後の成功: 今日 11:15" in stale.message
    late = one(RAKUTEN, runs, now=NOW + timedelta(hours=2)).stale
    assert late is not None and "2時間45分" in late.message
    never = one(RAKUTEN, [run("rakuten", "受注取込", 90, "失敗", error="x")]).stale
    assert never is not None and "一度も" in never.message and "1時間30分" in never.message
    assert one(RAKUTEN, []).stale is None  # never tried: 未同期, not stale
    paused = health.Channel("rakuten", "楽天", "楽天本店", enabled=False)
    assert one(paused, runs).stale is None


def test_backoff_text() -> None:
    waiting = state.Backoff(3, NOW + timedelta(minutes=4)).encode()
    assert (
        health.backoff_text(waiting, NOW) == "3回続けて失敗したため、今日 12:04:00 まで待ってから再試行します"
    )
    assert (
        health.backoff_text(waiting, NOW + timedelta(minutes=5))
        == "3回続けて失敗しています。次の同期で再試行します"
    )
    assert health.backoff_text("", NOW) == ""  # cleared after a success
    system = {state.backoff_key("rakuten"): waiting}
    assert one(RAKUTEN, [], system=system).backoff_text.startswith("3回続けて失敗")
    assert one(AMAZON, [], system=system).backoff_text == ""


@pytest.mark.parametrize(
    ("days", "level", "words"),
    [
        (20, None, ""),
        (15, None, ""),
        (14, "warning", "あと14日"),
        (10, "warning", "あと10日"),
        (0, "warning", "今日"),
        (-3, "error", "期限が切れています（2026-04-28、3日前）"),
    ],
)
def test_credential_expiry(days: int, level: str | None, words: str) -> None:
    today = date(2026, 5, 1)
    notice = health.credential_notice("楽天本店", "楽天", today + timedelta(days=days), today)
    if level is None:
        assert notice is None
    else:
        assert notice is not None and notice.level == level
        assert words in notice.message and notice.message.startswith("楽天本店")
        assert "licenseKey" in notice.message  # the 楽天 hint
    assert health.credential_notice("楽天本店", "楽天", None, today) is None


def test_credential_expiry_reaches_the_channel_health() -> None:
    channel = health.Channel(
        "rakuten", "楽天", "楽天本店", credential_expires_on=NOW.date() - timedelta(days=1)
    )
    item = one(channel, [run("rakuten", "受注取込", 1)])
    assert item.credential is not None and item.credential.level == "error"
    assert item.status == ("要対応", "red")


def test_cursor_display() -> None:
    assert health.describe_cursor("").startswith("まだありません")
    assert (
        health.describe_cursor("2026-05-01T11:58:30+09:00")
        == "2026-05-01 11:58:30 までの注文の変更を取り込み済み"
    )
    assert health.describe_cursor("2026-05-01T02:58:30+00:00").startswith(
        "2026-05-01 11:58:30"
    )  # shown in JST
    assert (
        health.describe_cursor("1714531200000000000:ab12:end:orders-0501.txt")
        == "ファイル「orders-0501.txt」まで取り込み済み"
    )
    assert (
        health.describe_cursor("1714531200000000000:ab12:120:orders-0501.txt")
        == "ファイル「orders-0501.txt」の 120 件目まで取り込み済み"
    )
    assert health.describe_cursor("page-token-xyz") == "page-token-xyz"
    assert health.describe_cursor("2026-05-01T11:58:30+09:00", NOW).startswith("今日 11:58:30 まで")
    system = {state.cursor_key("rakuten"): "2026-04-30T11:58:30+09:00"}
    assert one(RAKUTEN, [], system=system).cursor_text.startswith("2026-04-30 11:58:30")


def test_ago_and_durations() -> None:
    assert health.ago(NOW - timedelta(seconds=20), NOW) == "たった今"
    assert health.ago(NOW - timedelta(minutes=7), NOW) == "7分前"
    assert health.ago(NOW - timedelta(hours=5), NOW) == "5時間前"
    assert health.when(NOW - timedelta(minutes=3), NOW) == "今日 11:57（3分前）"
    assert health.when(NOW - timedelta(days=3), NOW) == "2026-04-28 12:00（3日前）"
    assert health.duration_text(timedelta(days=2, hours=3)) == "2日3時間"


def test_cycle_summary_names_new_orders_pushes_and_errors_per_mall() -> None:
    def sync_run(channel: str, mall: str, **kwargs: Any) -> SyncRun:
        return SyncRun(run_id="r", channel=channel, mall=mall, job="受注取込", started_at=NOW, **kwargs)

    report = CycleReport(
        runs=[
            sync_run("rakuten", "楽天", created=3, fetched=5, updated=1),
            sync_run("amazon", "Amazon", result="失敗", error="Amazonに接続できません"),
        ],
        pushes=[
            PushResult(mall="楽天", sku="A", quantity=1, ok=True),
            PushResult(mall="楽天", sku="B", quantity=0, ok=False, error="商品が見つかりません"),
        ],
    )
    summary = sync_tables.cycle_summary(report, [RAKUTEN, AMAZON])
    assert summary.created == 3
    assert summary.lines == [
        "楽天本店: 新規の注文 3 件（更新 1 件、取得 5 件）",
        "Amazon: 新規の注文 0 件（更新 0 件、取得 0 件）",
        "在庫送信（楽天）: 1 件、失敗 1 件",
    ]
    assert summary.errors == ["Amazon: Amazonに接続できません", "在庫送信（楽天）: 商品が見つかりません"]


def test_push_preview_rows_and_log_rows() -> None:
    plan = [
        PlannedPush("楽天", "SKU-2", "c2", "", 4, 2, "数量変更"),
        PlannedPush("Amazon", "SKU-1", "c1", "", None, 7, "初回送信"),
    ]
    assert sync_tables.plan_rows(plan) == [
        {"SKU": "SKU-1", "モール": "Amazon", "前回送信数": None, "今回送信数": 7, "理由": "初回送信"},
        {"SKU": "SKU-2", "モール": "楽天", "前回送信数": 4, "今回送信数": 2, "理由": "数量変更"},
    ]
    rows = sync_tables.log_rows(
        [run("rakuten", "受注取込", 10), run("rakuten", "在庫送信", 1)], [RAKUTEN], limit=1
    )
    assert [r["処理"] for r in rows] == ["在庫送信（楽天本店）"]
    assert health.split_job("受注取込（rakuten_demo）") == ("受注取込", "rakuten_demo")
    assert health.split_job("メモ") is None


# -- the page


def sync_page(sql_url: str, **extra: Any) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    for section, values in extra.pop("secrets", {}).items():
        at.secrets[section] = values
    for name, value in extra.items():
        setattr(at, name, value)
    at.run()
    at.switch_page("pages/sync.py").run()
    assert not at.exception
    return at


def card(at: AppTest, channel: str) -> Any:
    return next(n for n in at.main if getattr(n, "key", None) == f"sync_card_{channel}")


def texts(node: Any) -> str:
    return "\n".join(
        e.value for kind in ("markdown", "caption", "warning", "error", "info") for e in getattr(node, kind)
    )


def workbook_for(sql_url: str) -> Any:
    return open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))


def test_before_any_sync_the_page_shows_the_empty_state_and_the_dry_run(sql_url: str) -> None:
    at = sync_page(sql_url)
    assert [i.value for i in at.info if "まだ一度も同期していません" in i.value]
    for channel in ("rakuten_demo", "amazon_demo", "yahoo_demo", "shopify_demo"):
        assert "未同期" in texts(card(at, channel))
    assert not at.error
    assert any("同期ログはまだありません" in c.value for c in at.caption)
    # The dry run is worked out once its expander is opened: it lists what a first sync would
    # send, every listing, nothing sent yet.
    assert not at.dataframe
    at.session_state["sync_push_preview"] = True
    at.run()
    settings = load_settings({"workbook": {"sql_url": sql_url}})
    expected = SyncEngine(workbook_for(sql_url), build_connectors(settings), settings.sync).plan_push()
    (preview,) = [d.value for d in at.dataframe]
    assert list(preview.columns) == ["SKU", "モール", "前回送信数", "今回送信数", "理由"]
    assert len(preview) == len(expected) > 0
    assert set(preview["理由"]) == {"初回送信"} and set(preview["モール"]) == set(DEMO_NAMES)
    assert not read_tables(workbook_for(sql_url))["同期ログ"].models()  # a dry run writes nothing


def test_sync_now_imports_from_the_four_demo_malls_and_shows_their_counts(sql_url: str) -> None:
    at = sync_page(sql_url)
    at.button(key="sync_now").click().run()
    assert not at.exception
    (status,) = at.status
    log = read_tables(workbook_for(sql_url))["同期ログ"].models()
    imported = {r.mall: r for r in log if r.job.startswith("受注取込")}
    assert set(imported) == set(DEMO_NAMES)
    created = sum(r.created for r in imported.values())
    assert created > 0 and status.label == f"同期が終わりました（新規の注文 {created} 件）"
    assert status.state == "complete"
    summary = "\n".join(m.value for m in status.markdown)
    assert "書き込んでいます" not in summary and "取得しています" not in summary  # the steps gave way
    for mall, row in imported.items():
        assert f"{DEMO_NAMES[mall]}: 新規の注文 {row.created} 件" in summary
        assert f"在庫送信（{mall}）" in summary
        shown = texts(card(at, row.job[len("受注取込（") : -1]))
        assert f"取得 {row.fetched}・新規 {row.created}・更新 {row.updated}・" in shown
        assert "正常" in shown and "最終成功 今日" in shown and "までの注文の変更を取り込み済み" in shown
    assert not [i for i in at.info if "まだ一度も同期" in i.value]
    assert len(at.dataframe[-1].value) == len(log)  # the 同期ログ table


def test_a_stale_mall_gets_a_red_banner(sql_url: str) -> None:
    sync_page(sql_url)  # creates the demo workbook
    workbook = workbook_for(sql_url)
    now = datetime.now(JST)

    def row(channel: str, mall: str, ago: timedelta) -> dict[str, Any]:
        at = now - ago
        return {
            "実行ID": f"old-{channel}",
            "開始日時": at,
            "終了日時": at,
            "モール": mall,
            "処理": f"受注取込（{channel}）",
            "結果": "成功",
        }

    job = WriteJob()
    job.append(
        read_tables(workbook)["同期ログ"],
        [
            row("rakuten_demo", "楽天", timedelta(hours=3, minutes=5)),
            row("amazon_demo", "Amazon", timedelta(minutes=2)),
        ],
    )
    workbook.write(job)
    st.cache_resource.clear()
    at = sync_page(sql_url)
    banners = [e.value for e in at.error]
    assert len(banners) == 1 and banners[0].startswith("楽天デモ: 3時間5分のあいだ受注を取り込めていません")
    assert "要対応" in texts(card(at, "rakuten_demo"))
    assert "正常" in texts(card(at, "amazon_demo"))


def test_a_key_expiring_in_10_days_shows_a_warning(sql_url: str, tmp_path: Path) -> None:
    today = datetime.now(JST).date()
    demo = {"type": "demo", "seed": 1, "state_dir": str(tmp_path / "demo_malls")}
    malls = {
        "rakuten_demo": {
            **demo,
            "mall": "楽天",
            "display_name": "楽天デモ",
            "credential_expires_on": str(today + timedelta(days=10)),
        },
        "amazon_demo": {
            **demo,
            "mall": "Amazon",
            "display_name": "Amazonデモ",
            "credential_expires_on": str(today + timedelta(days=20)),
        },
    }
    at = sync_page(sql_url, secrets={"malls": malls})
    warned = [w.value for w in card(at, "rakuten_demo").warning]
    assert len(warned) == 1 and "楽天デモの認証キーの期限まであと10日です" in warned[0]
    assert not card(at, "amazon_demo").warning
    assert not at.error  # a warning, not yet an error banner


def test_another_runner_holding_the_lease_gets_a_calm_message(sql_url: str) -> None:
    at = sync_page(sql_url)
    workbook = workbook_for(sql_url)
    system = read_tables(workbook)["_システム"]
    held = state.Lease("other-host-4242-abcdef", datetime.now(JST) + timedelta(minutes=5)).encode()
    job = WriteJob()
    job.set(system, system.find_row((state.LEASE_KEY,)), {"値": held})
    workbook.write(job)
    at.button(key="sync_now").click().run()
    assert not at.exception and not at.error
    (status,) = at.status
    # The runner keeps its lease: the page leaves it a request instead of syncing itself.
    assert status.label == "同期を依頼しました" and status.state == "complete"
    message = "同期を依頼しました。実行中の自動同期（other-host）が数秒以内に処理します"
    assert [i.value for i in at.info if "依頼" in i.value] == [message]
    stored = state.values(read_tables(workbook)["_システム"])
    assert state.pending_request(stored) == stored[state.REQUEST_KEY]
    assert not read_tables(workbook)["同期ログ"].models()

    # The lease ends without an answer (the runner stopped): pressing again syncs here.
    job = WriteJob()
    system = read_tables(workbook)["_システム"]
    job.set(system, system.find_row((state.LEASE_KEY,)), {"値": ""})
    workbook.write(job)
    at = sync_page(sql_url)
    at.button(key="sync_now").click().run()
    assert at.status[0].label.startswith("同期が終わりました")
    assert read_tables(workbook)["同期ログ"].models()


def test_sync_now_while_a_watch_runner_holds_the_lease_is_answered_by_that_runner(sql_url: str) -> None:
    at = sync_page(sql_url)
    settings = load_settings({"workbook": {"sql_url": sql_url}})
    runner = SyncEngine(workbook_for(sql_url), build_connectors(settings), settings.sync, keep_lease=True)
    runner.run_once()  # as `python -m sync watch` runs it: it keeps the lease
    assert not runner.sync_requested()

    at.button(key="sync_now").click().run()
    assert not at.exception and at.status[0].label == "同期を依頼しました"
    host = state.holder_host(runner.holder)
    assert any(i.value.startswith(f"同期を依頼しました。実行中の自動同期（{host}）") for i in at.info)
    assert runner.sync_requested()  # what watch checks between cycles
    at.run()  # still waiting
    assert any("数秒以内に処理します" in i.value for i in at.info) and not at.success

    runner.run_once()  # its next cycle, woken by the request
    assert not runner.sync_requested()
    at.run()  # the page's check sees the answer and shows the cycle
    assert not at.exception
    (done,) = [m for m in at.success if "依頼" in m.value]
    assert done.value.startswith(f"自動同期（{host}）が依頼どおり同期しました")
    assert not [i for i in at.info if "数秒以内" in i.value]
    runner.release_lease()


def test_auto_sync_while_open_runs_a_cycle(sql_url: str) -> None:
    at = sync_page(sql_url)
    at.toggle(key="sync_auto").set_value(True).run()  # fragments run once per run; no timer ticks
    assert not at.exception
    assert any(c.value.startswith("最終の自動同期") for c in at.caption)
    assert {r.mall for r in read_tables(workbook_for(sql_url))["同期ログ"].models()} == set(DEMO_NAMES)


@pytest.mark.parametrize(("email", "allowed"), [("part@example.jp", False), ("tencho@example.jp", True)])
def test_only_管理_sees_sync_now(sql_url: str, email: str, allowed: bool) -> None:
    login = {
        "auth": {
            "redirect_uri": "http://localhost:8501/oauth2callback",
            "cookie_secret": "test",
            "client_id": "test",
            "client_secret": "test",
            "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
        },
        "access": {"part@example.jp": "閲覧", "tencho@example.jp": "管理"},
    }
    at = sync_page(
        sql_url, secrets=login, user={"is_logged_in": True, "email": email, "email_verified": True}
    )
    assert bool([b for b in at.button if b.label == "今すぐ同期"]) is allowed
    assert bool([t for t in at.toggle if t.key == "sync_auto"]) is allowed
    locked = [i.value for i in at.info if "権限" in i.value]
    assert bool(locked) is not allowed
    if locked:
        assert "今すぐ同期には「管理」以上の権限が必要です（あなたは「閲覧」）" in locked[0]
        assert "管理者が同期すると" in "\n".join(i.value for i in at.info)


def test_a_quiet_import_shows_from_its_heartbeat_and_clears_an_older_failure() -> None:
    failed = run("rakuten", "受注取込", 40, result="失敗", error="楽天が応答しません")
    quiet = (NOW - timedelta(minutes=1)).isoformat()
    shown = one(RAKUTEN, [failed], system={"最終取込:rakuten": quiet})
    assert shown.last_pull_success == NOW - timedelta(minutes=1)
    assert shown.last_pull is not None and shown.last_pull.fetched == 0
    assert shown.status == ("正常", "green") and shown.stale is None and shown.current_errors == []
    # Without the heartbeat the same log says the import is failing and stale.
    assert one(RAKUTEN, [failed]).status[0] in ("エラー", "要対応")


def test_the_page_reads_only_the_tail_of_a_long_log(sql_url: str) -> None:
    sync_page(sql_url)  # creates the demo workbook
    workbook = workbook_for(sql_url)
    tables = read_tables(workbook)
    log = tables["同期ログ"]
    first = datetime.now(JST).replace(microsecond=0) - timedelta(hours=10)
    rows = [
        {
            "実行ID": f"run-{i}",
            "開始日時": first + timedelta(minutes=i),
            "終了日時": first + timedelta(minutes=i),
            "モール": "楽天",
            "処理": "受注取込（rakuten_demo）",
            "新規": i,
            "結果": "成功",
        }
        for i in range(500)
    ]
    job = WriteJob()
    job.append(log, rows)
    end = log.next_row + len(rows)
    state.put(job, tables["_システム"], LOG_MARK, str(end), first)  # as the sync keeps it
    workbook.write(job)

    asked: list[Any] = []

    class Counting:
        def read(self, titles: Any, *, start_rows: Any = None) -> Any:
            grids = workbook.read(titles, start_rows=start_rows)
            asked.append((list(titles), dict(start_rows or {}), {t: len(g.rows) for t, g in grids.items()}))
            return grids

    runs = health.recent_runs(Counting(), read_tables(workbook)["_システム"])  # type: ignore[arg-type]
    assert asked == [(["同期ログ"], {"同期ログ": end - 200}, {"同期ログ": 200})]
    assert [r.created for r in runs] == list(range(300, 500))

    st.cache_resource.clear()
    at = sync_page(sql_url)
    shown = at.dataframe[-1].value
    assert len(shown) == 50 and list(shown["新規"][:2]) == [499, 498]
