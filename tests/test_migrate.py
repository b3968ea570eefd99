"""python -m sheets_schema migrate: a SQLite or Google Sheets workbook and its archive copied to a
real PostgreSQL server, verified, then the settings switched; a second run changes nothing, a
target holding another workbook is refused, a kill before the switch leaves the old settings."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import make_url

from settings import PROJECT_ROOT, load_settings_file
from sheets_schema.__main__ import main
from sheets_schema.adapters.hybrid import HybridWorkbook
from sheets_schema.adapters.sql import SqlOptions, SqlWorkbook, create_sql_engine
from sheets_schema.archive import Archive
from sheets_schema.book import ensure_tabs, open_workbook, read_tables, seed_demo_if_new
from sheets_schema.cells import JST
from sheets_schema.migrate import archive_definitions, copy_archive, copy_workbook, edited_secrets
from sheets_schema.tabs import machine_owned
from sync.archive import archive_history
from sync.engine import SyncEngine
from sync.state import LEASE_KEY
from tests.conftest import GoogleHarness, SqlHarness
from tests.fakes.sheets_api import make_service_account_info
from tests.fakes.shopify_api import FakeShopify
from tests.shop_fixtures import ledger_problems
from tests.test_archive import _shop_with_history

PASSWORD = "hunter2-secret"
COMMENTED = '# 設定ファイル（コメントも残す）\n[app]\nshop_name = "テスト店"  # 店名\n\n'


def _with_password(url: str) -> str:
    """The test server trusts loopback, so a password is never asked for; printing it would show."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _everything(workbook: Any) -> dict[str, Any]:
    """Every tab as read through the port, the lease row's value aside (state, not content)."""
    grids = workbook.read(workbook.tab_titles())
    out = {}
    for title in workbook.tab_titles():
        grid = grids[title]
        rows = [r for r in grid.rows if not (title == "_システム" and r and r[0] == LEASE_KEY)]
        out[title] = (title in workbook.hidden_titles(), grid.header, rows)
    return out


def _archive_rows(url: str) -> dict[str, list[Any]]:
    engine = create_sql_engine(url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {
                name: sorted(tuple(r) for r in conn.execute(select(t))) if name in present else []
                for name, t in archive_definitions().items()
            }
    finally:
        engine.dispose()


def _history_shop(harness: Any, folder: Path) -> None:
    """Orders, stock and ledger through real cycles, then an archive pass (orders and facts)."""
    with FakeShopify() as fake:
        shop = _shop_with_history(harness, fake, folder)
        done = archive_history(shop.engine(), shop.archive, after_days=30)
        assert done.orders == 2


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_sqlite_workbook_and_its_archive_move_to_postgresql_and_a_second_run_changes_nothing(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SqlHarness(tmp_path / "workbook.sqlite3")
    ensure_tabs(source.workbook)
    _history_shop(source, tmp_path)
    secrets = tmp_path / "secrets.toml"
    original = COMMENTED + (
        f'[workbook]\nsql_url = "{source.url}"  # 今のワークブック\narchive_url = "{source.archive_url()}"\n'
        "seed_demo = false\n"
    )
    secrets.write_text(original, encoding="utf-8")
    before, archived = _everything(source.workbook), _archive_rows(source.archive_url())
    assert archived["orders"] and archived["order_day_facts"] and archived["line_day_facts"]
    target = _with_password(pg_url)

    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", target, "--dry-run")
    assert code == 0, out
    assert "空です" in out and "受注" in out and "orders" in out and PASSWORD not in out
    assert _archive_rows(pg_url)["orders"] == [] and secrets.read_text(encoding="utf-8") == original

    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", target)
    assert code == 0, out
    assert "ワークブックをコピーしました" in out and "履歴データベースをコピーしました" in out
    assert "確認しました" in out and "設定を切り替えました" in out
    assert PASSWORD not in out and "***" in out

    # Every tab, hidden flag and row as in the source; every archive table (facts by copy).
    moved = SqlWorkbook(pg_url)
    assert _everything(moved) == before
    assert list(_everything(moved)) == source.workbook.tab_titles()
    assert _archive_rows(pg_url) == archived
    # The source is untouched (its lease left free again).
    assert _everything(source.fresh_workbook()) == before
    assert _archive_rows(source.archive_url()) == archived
    # The settings: the three [workbook] keys changed, every other line and comment kept, a backup.
    switched = secrets.read_text(encoding="utf-8")
    assert tomllib.loads(switched)["workbook"] == {
        "backend": "sql",
        "sql_url": target,
        "archive_url": target,
        "seed_demo": False,
    }
    assert switched.startswith(COMMENTED) and "# 今のワークブック" in switched
    backups = list(tmp_path.glob("secrets.toml.bak-*"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [original]
    # The archive on PostgreSQL answers as the app asks it.
    assert Archive(pg_url).order_span() is not None
    # The copied tables were vacuumed and analyzed: statistics for the planner (a table loaded
    # by COPY has none: reltuples -1) and hint bits set before the first query.
    with create_sql_engine(pg_url).connect() as conn:
        settled = conn.execute(
            text(
                "SELECT c.relname, c.reltuples, s.last_vacuum IS NOT NULL FROM pg_class c "
                "JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.relname IN ('ichigen_rows', 'orders', 'order_day_facts')"
            )
        ).all()
    assert len(settled) == 3 and all(tuples > 0 and vacuumed for _, tuples, vacuumed in settled), settled

    # A second run: the settings now name the target, nothing to do, nothing changed.
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", target)
    assert code == 0, out
    assert "すでに" in out and PASSWORD not in out
    assert secrets.read_text(encoding="utf-8") == switched
    assert len(list(tmp_path.glob("secrets.toml.bak-*"))) == 1


def _google_shop(fake_sheets: Any, tmp_path: Path) -> tuple[GoogleHarness, Path]:
    """A Google Sheets shop with history and an archive, and the secrets.toml that opens it."""
    source = GoogleHarness(fake_sheets, folder=tmp_path)
    ensure_tabs(source.workbook)
    _history_shop(source, tmp_path)
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(make_service_account_info(fake_sheets.token_uri)), encoding="utf-8")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[google]\nspreadsheet_key = "{source.key}"\nservice_account_file = "{key_file}"\n'
        f'api_base_url = "{fake_sheets.base_url}"\n\n[workbook]\narchive_url = "{source.archive_url()}"\n',
        encoding="utf-8",
    )
    return source, secrets


def test_a_google_sheets_workbook_moves_to_postgresql(
    tmp_path: Path, pg_url: str, fake_sheets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    source, secrets = _google_shop(fake_sheets, tmp_path)
    before, archived = _everything(source.workbook), _archive_rows(source.archive_url())

    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", pg_url)
    assert code == 0, out
    assert "Google スプレッドシート" in out and "設定を切り替えました" in out

    assert _everything(SqlWorkbook(pg_url)) == before
    assert _archive_rows(pg_url) == archived
    assert _everything(source.fresh_workbook()) == before
    settings = tomllib.loads(secrets.read_text(encoding="utf-8"))
    assert settings["workbook"]["backend"] == "sql" and settings["workbook"]["sql_url"] == pg_url
    assert settings["google"]["spreadsheet_key"] == source.key  # kept, no longer used

    # Run again from the backup (the Google settings): the target already holds the same.
    (backup,) = tmp_path.glob("secrets.toml.bak-*")
    again = tmp_path / "again.toml"
    again.write_text(backup.read_text(encoding="utf-8"), encoding="utf-8")
    code, out = _run(capsys, "--secrets", str(again), "migrate", "--to", pg_url)
    assert code == 0, out
    assert "すでに同じワークブックがあります" in out and "すでに同じ履歴があります" in out


def test_machine_tabs_of_a_google_sheets_workbook_move_to_postgresql_and_the_hybrid_runs_on(
    tmp_path: Path, pg_url: str, fake_sheets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--machine-to: staff tabs stay in the spreadsheet, Ichigen's own tabs and the archive go
    to PostgreSQL, verified; the settings then open the hybrid, which reads the same workbook
    and syncs on it."""
    source, secrets = _google_shop(fake_sheets, tmp_path)
    before, archived = _everything(source.workbook), _archive_rows(source.archive_url())
    target = _with_password(pg_url)

    with pytest.raises(SystemExit) as refused:
        main(["--secrets", str(secrets), "migrate", "--machine-to", target, "--to", target])
    assert refused.value.code == 2 and "同時に使えません" in capsys.readouterr().err  # one or the other
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--machine-to", target, "--dry-run")
    assert code == 0, out
    assert "在庫移動" in out and "空です" in out and PASSWORD not in out
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--machine-to", target)
    assert code == 0, out
    assert "確認しました" in out and "machine_url" in out and PASSWORD not in out

    # Only Ichigen's own tabs went to the database; the spreadsheet is untouched.
    moved = SqlWorkbook(pg_url)
    machine = [t for t in before if machine_owned(t)]
    assert sorted(moved.tab_titles()) == sorted(machine) and "在庫移動" in machine
    assert {t: v for t, v in _everything(moved).items()} == {t: before[t] for t in machine}
    assert _everything(source.fresh_workbook()) == before
    assert _archive_rows(pg_url) == archived
    settings_file = tomllib.loads(secrets.read_text(encoding="utf-8"))
    assert settings_file["workbook"]["machine_url"] == target
    assert settings_file["google"]["spreadsheet_key"] == source.key  # still the staff surface

    # The settings open the hybrid: the same workbook through the port, and a cycle runs on it.
    settings = load_settings_file(secrets)
    hybrid = open_workbook(settings)
    assert isinstance(hybrid, HybridWorkbook) and settings.archive_url() == target
    assert _everything(hybrid) == before
    engine = SyncEngine(hybrid, [], settings.sync, archive=Archive(settings.archive_url()))
    engine.run_once()  # the first cycle on the moved workbook
    fake_sheets.reset_counts()
    engine.run_once()
    assert [r.kind for r in fake_sheets.requests if r.kind != "token"] == ["values.batchGet"]
    assert ledger_problems(read_tables(hybrid)) == []
    # A second run has nothing to move.
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--machine-to", target)
    assert code == 0 and "すでに" in out


def _demo_source(tmp_path: Path) -> tuple[SqlHarness, Path]:
    source = SqlHarness(tmp_path / "workbook.sqlite3")
    seed_demo_if_new(source.workbook, __import__("datetime").datetime.now(JST))
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[workbook]\nsql_url = "{source.url}"\narchive_url = "{source.archive_url()}"\n', encoding="utf-8"
    )
    return source, secrets


def test_a_target_holding_another_workbook_is_refused(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, secrets = _demo_source(tmp_path)
    other = SqlWorkbook(pg_url)
    seed_demo_if_new(other, __import__("datetime").datetime(2026, 1, 1, tzinfo=JST))  # another shop
    held = _everything(other)
    original = secrets.read_text(encoding="utf-8")

    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", pg_url, "--dry-run")
    assert code == 2 and "別のワークブック" in out
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", pg_url)
    assert code == 2
    assert "すでに別のワークブックがあります" in out and "何もコピーしていません" in out
    assert _everything(SqlWorkbook(pg_url)) == held
    assert secrets.read_text(encoding="utf-8") == original
    assert not list(tmp_path.glob("secrets.toml.bak-*"))
    # The source's lease was given back: a sync may run at once.
    assert _lease(source) == ""


def _lease(harness: SqlHarness) -> str:
    rows = harness.workbook.read(["_システム"])["_システム"].rows
    return next(r[1] for r in rows if r[0] == LEASE_KEY)


KILLED_BEFORE_THE_SWITCH = """
import os, signal, sys
import sheets_schema.migrate as m
m.switch_secrets = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
from sheets_schema.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_between_the_copy_and_the_switch_keeps_the_old_settings_and_a_rerun_completes(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, secrets = _demo_source(tmp_path)
    original = secrets.read_text(encoding="utf-8")
    before = _everything(source.workbook)
    args = ["--secrets", str(secrets), "migrate", "--to", pg_url]
    done = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_SWITCH, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr
    assert "確認しました" in done.stdout  # killed after the copy was verified
    assert secrets.read_text(encoding="utf-8") == original
    assert not list(tmp_path.glob("secrets.toml.bak-*"))
    assert _everything(SqlWorkbook(pg_url)) == before
    assert _lease(source) != ""  # the killed run's lease is still in the source

    code, out = _run(capsys, *args)  # the same machine takes its own lease back at once
    assert code == 0, out
    assert "すでに同じワークブックがあります" in out and "設定を切り替えました" in out
    assert tomllib.loads(secrets.read_text(encoding="utf-8"))["workbook"]["sql_url"] == pg_url
    assert _lease(source) == ""
    with create_sql_engine(pg_url).connect() as conn:
        from sheets_schema.adapters.sql import rows_table

        assert (
            conn.scalar(select(func.count()).select_from(rows_table))
            == sum(len(r) for *_, r in before.values()) + 1
        )


def test_settings_from_the_environment_are_printed_not_written(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, secrets = _demo_source(tmp_path)
    monkeypatch.setenv("ICHIGEN_WORKBOOK__SQL_URL", source.url)
    original = secrets.read_text(encoding="utf-8")
    target = _with_password(pg_url)
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", target)
    assert code == 0, out
    shown = make_url(target).render_as_string(hide_password=True)
    assert f"ICHIGEN_WORKBOOK__SQL_URL={shown}" in out
    assert f"ICHIGEN_WORKBOOK__ARCHIVE_URL={shown}" in out and "ICHIGEN_WORKBOOK__BACKEND=sql" in out
    assert PASSWORD not in out
    assert secrets.read_text(encoding="utf-8") == original


def test_a_copy_longer_than_the_statement_timeout_completes(tmp_path: Path, pg_url: str) -> None:
    """[workbook] statement_timeout_seconds bounds the app's statements; the migration's COPY of
    a table of millions of rows and its verification are one statement each and take longer."""
    source = SqlHarness(tmp_path / "workbook.sqlite3")
    ensure_tabs(source.workbook)
    log = [
        ["run", f"2025-01-01 00:{n // 60 % 60:02d}:{n % 60:02d}", "", "楽天", "受注取込", n]
        for n in range(20_000)
    ]
    source.staff_put("同期ログ", [source.workbook.read(["同期ログ"])["同期ログ"].header, *log])
    archive = Archive(source.archive_url())
    with archive.engine.begin() as conn:
        conn.execute(
            insert(archive.tables["同期ログ"]),
            [{"実行ID": f"run-{n}", "モール": "楽天", "処理": "受注取込"} for n in range(50_000)],
        )
    Archive(pg_url).engine.dispose()  # the archive's tables, as the command makes them first
    hurried = create_sql_engine(pg_url, SqlOptions(statement_timeout_seconds=0.005))
    try:
        copied = copy_workbook(source.workbook, hurried, LEASE_KEY)
        assert copied.counts()["同期ログ"] == 20_000
        history = copy_archive(archive.engine, hurried, archive_definitions())
        assert history.counts()["sync_log"] == 50_000
    finally:
        hurried.dispose()
    assert _archive_rows(pg_url)["sync_log"] == _archive_rows(source.archive_url())["sync_log"]


def test_editing_secrets_keeps_every_other_line() -> None:
    old = '# top\n[workbook]\nsql_url = "sqlite:///a#b"  # old one\npool_size = 2\n\n[app]\nshop_name = "x" # n\n'
    new = edited_secrets(old, {"backend": "sql", "sql_url": "postgresql+psycopg://u@h/d", "archive_url": "p"})
    assert new.startswith("# top\n[workbook]\n")
    assert 'sql_url = "postgresql+psycopg://u@h/d"  # old one\n' in new
    assert new.endswith('pool_size = 2\n\n[app]\nshop_name = "x" # n\n')
    assert tomllib.loads(new)["workbook"]["backend"] == "sql"
    appended = edited_secrets("[app]\nshop_name = 'y'", {"backend": "sql"})
    assert appended == "[app]\nshop_name = 'y'\n\n[workbook]\nbackend = \"sql\"\n"


def test_a_count_typed_into_the_source_after_the_copy_is_refused_taken_back_and_a_rerun_moves_it(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff type a 実在庫 into the old workbook after migrate copied it: the check after the copy
    finds the stock totals differ, nothing is switched, the message names the SKU, and the copy
    is taken back so that running migrate again moves the workbook as it now is."""
    import sheets_schema.migrate as m
    from tests.shop_fixtures import staff_edit

    source, secrets = _demo_source(tmp_path)
    original = secrets.read_text(encoding="utf-8")
    stock = read_tables(source.workbook)["在庫"].models()
    edited = next(s for s in stock if s.on_hand > 0)
    looked = m.target_workbook
    calls: list[int] = []

    def copy_then_someone_types(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the read-back after the copy (the first looks for an empty target)
            staff_edit(source.workbook, "在庫", (edited.sku,), {"実在庫": edited.on_hand + 7})
        return looked(*args, **kwargs)

    monkeypatch.setattr(m, "target_workbook", copy_then_someone_types)
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", pg_url)
    assert code == 2
    assert "合計が移行元と違います" in out and edited.sku in out and "設定は変えていません" in out
    assert secrets.read_text(encoding="utf-8") == original
    assert not list(tmp_path.glob("secrets.toml.bak-*"))
    assert _lease(source) == ""  # given back: sync may run on the old workbook at once
    kept = {s.sku: s.on_hand for s in read_tables(source.workbook)["在庫"].models()}
    assert kept[edited.sku] == edited.on_hand + 7  # the person's count is in the source
    assert "コピーした内容は消しました" in out
    # The target is empty again, so running migrate once more copies the workbook as it is now.
    monkeypatch.setattr(m, "target_workbook", looked)
    code, out = _run(capsys, "--secrets", str(secrets), "migrate", "--to", pg_url)
    assert code == 0 and "設定を切り替えました" in out
    moved = {s.sku: s.on_hand for s in read_tables(SqlWorkbook(pg_url))["在庫"].models()}
    assert moved[edited.sku] == edited.on_hand + 7
