"""python -m sheets_schema check --fix: Google grids trimmed to the cells in use (fake Sheets API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sheets_schema.__main__ import main
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDERS, STOCK, TABS
from tests.conftest import GoogleHarness
from tests.fakes.sheets_api import FakeSheetsServer, make_service_account_info


def _secrets(tmp_path: Path, server: FakeSheetsServer, key: str) -> Path:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(make_service_account_info(server.token_uri)), encoding="utf-8")
    path = tmp_path / "secrets.toml"
    path.write_text(
        f'[google]\nspreadsheet_key = "{key}"\nservice_account_file = "{key_file}"\n'
        f'api_base_url = "{server.base_url}"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def google(fake_sheets: FakeSheetsServer, tmp_path: Path) -> tuple[GoogleHarness, Path]:
    made = GoogleHarness(fake_sheets)
    return made, _secrets(tmp_path, fake_sheets, made.key)


def test_fix_trims_every_grid_to_its_used_cells_and_keeps_every_value(
    google: tuple[GoogleHarness, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    harness, secrets = google
    assert main(["--secrets", str(secrets), "check"]) == 0  # makes Ichigen's tabs, trims nothing
    harness.staff_put("シート1", [["メモ"], [], ["", "", "棚卸し"]])
    # A staff value beyond the header, in a column with no heading: it must survive.
    stock = [list(STOCK.headers), ["TWL-1", 10, 0, 2, 8, "", "", "奥の棚"]]
    harness.staff_put(STOCK.title, stock)
    before = {t: harness.stored(t) for t in ("シート1", STOCK.title)}
    assert harness.server.grid_size(harness.key, "シート1") == (1000, 26)
    assert harness.server.grid_size(harness.key, STOCK.title) == (1000, 8)
    harness.server.reset_counts()
    capsys.readouterr()

    assert main(["--secrets", str(secrets), "check", "--fix"]) == 0

    out = capsys.readouterr().out
    assert "「シート1」: 1,000行×26列 → 103行×3列（26,000 → 309 セル）" in out
    assert f"「{STOCK.title}」: 1,000行×8列 → 102行×8列（8,000 → 816 セル）" in out
    assert harness.server.grid_size(harness.key, ORDERS.title) == (101, len(ORDERS.headers))
    assert {t: harness.stored(t) for t in before} == before
    (trim,) = [r for r in harness.server.requests if r.kind == "batchUpdate"]
    assert {next(iter(r)) for r in trim.body["requests"]} == {"deleteDimension"}
    total_before = 26_000 + 8_000 + sum(1000 * len(s.headers) for s in TABS if s.title != STOCK.title)
    assert f"空白の行と列を削りました: {total_before:,} → " in out

    assert main(["--secrets", str(secrets), "check", "--fix"]) == 0
    assert "削れる空白のセルはありませんでした" in capsys.readouterr().out


def test_appends_after_a_trim_grow_the_grid_again(
    google: tuple[GoogleHarness, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    harness, secrets = google
    assert main(["--secrets", str(secrets), "check", "--fix"]) == 0
    workbook = harness.fresh_workbook()
    job = WriteJob()
    job.append(
        read_tables(workbook)[ORDERS.title],
        [
            {
                "モール": "Amazon",
                "注文番号": str(n),
                "注文日時": "2026-11-30 10:00:00",
                "ステータス": "新規",
                "合計金額": 100,
            }
            for n in range(250)
        ],
    )
    workbook.write(job)
    assert len(read_tables(harness.fresh_workbook())[ORDERS.title].records) == 250
    assert harness.server.grid_size(harness.key, ORDERS.title)[1] == len(ORDERS.headers)


def test_fix_on_the_database_workbook_says_there_is_nothing_to_trim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n', encoding="utf-8")
    assert main(["--secrets", str(secrets), "check", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "削るものはありません" in out and "問題はありません" in out
