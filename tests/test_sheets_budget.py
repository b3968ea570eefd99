"""Google Sheets' request budget (60 a minute per user): a quiet cycle of a runner that syncs
again and again costs two reads and no write; a cycle that imports and pushes stays small."""

from __future__ import annotations

from pathlib import Path

from settings import SyncSettings
from tests.conftest import GoogleHarness
from tests.shop_fixtures import ledger_problems, open_shop


def test_a_quiet_watch_cycle_costs_two_requests_and_writes_nothing(fake_sheets, tmp_path: Path) -> None:
    google = GoogleHarness(fake_sheets)
    shop = open_shop(google.workbook, tmp_path / "malls")
    shop.sync = SyncSettings(lease_seconds=3600)  # a watch interval well inside the lease
    engine = shop.engine(keep_lease=True)  # as `python -m sync watch` runs it
    engine.run_once()
    shop.clock.advance(minutes=20)

    fake_sheets.reset_counts()
    report = engine.run_once()  # orders at every mall: import, allocate, push
    kinds = [r.kind for r in fake_sheets.requests]
    assert report.created > 0 and report.pushes
    # Read _システム; the job's read, check and write. Its push results go with the next job.
    assert kinds == ["values.batchGet"] * 3 + ["values.batchUpdate"]

    engine.run_once()  # nothing new: the last push results and the heartbeats are written
    pushes = {(r.mall, r.sku): r for r in shop.tables()["_在庫送信"].models()}
    assert all(pushes[(r.mall, r.sku)].quantity == r.quantity for r in report.pushes if r.ok)
    shop.clock.advance(seconds=30)
    fake_sheets.reset_counts()
    report = engine.run_once()
    assert report.created == 0 and report.movements == 0 and not report.pushes
    assert [r.kind for r in fake_sheets.requests] == ["values.batchGet", "values.batchGet"]
    assert ledger_problems(shop.tables()) == []


def test_a_runner_that_does_not_keep_its_lease_leaves_it_free_after_a_quiet_cycle(
    fake_sheets, tmp_path: Path
) -> None:
    google = GoogleHarness(fake_sheets)
    shop = open_shop(google.workbook, tmp_path / "malls")
    shop.engine().run_once()
    fake_sheets.reset_counts()
    shop.engine().run_once()  # another runner (the app's 今すぐ同期) may start right after
    # Take the lease (read, check, write), then the cycle's read, check and write, which
    # gives the lease up again: nothing was left to push.
    assert len(fake_sheets.requests) == 6
    lease = {r.key: r.value for r in shop.tables()["_システム"].models()}["同期リース"]
    assert lease == ""


def test_a_watch_runner_stopping_writes_its_last_push_results_and_frees_the_lease(
    fake_sheets, tmp_path: Path
) -> None:
    google = GoogleHarness(fake_sheets)
    shop = open_shop(google.workbook, tmp_path / "malls")
    engine = shop.engine(keep_lease=True)
    report = engine.run_once()
    assert report.pushes and all(r.ok for r in report.pushes)
    assert shop.tables()["_在庫送信"].models() == []  # recorded with the next job
    engine.release_lease()  # Ctrl+C
    tables = shop.tables()
    sent = {(r.mall, r.sku): r.quantity for r in report.pushes}
    assert {(r.mall, r.sku): r.quantity for r in tables["_在庫送信"].models()} == sent
    logged = [r for r in tables["同期ログ"].models() if r.job.startswith("在庫送信")]
    assert len(logged) == len({r.mall for r in report.pushes})
    assert {r.key: r.value for r in tables["_システム"].models()}["同期リース"] == ""
