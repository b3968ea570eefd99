"""python -m sheets_schema export / import / check on the demo workbook."""

import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from settings import PROJECT_ROOT, load_settings_file
from sheets_schema.__main__ import main
from sheets_schema.book import open_workbook, read_tables


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n', encoding="utf-8")
    return path


def tables(secrets: Path):
    return read_tables(open_workbook(load_settings_file(secrets, {})))


def test_check_on_the_demo_workbook_passes(secrets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--secrets", str(secrets), "check"]) == 0
    assert "問題はありません" in capsys.readouterr().out


def test_check_prints_every_row_error_and_exits_1(
    secrets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "out.xlsx"
    assert main(["--secrets", str(secrets), "export", str(export)]) == 0
    # Break two cells the way staff might, through an import of an edited file is not possible
    # (the import refuses errors), so edit the stored workbook directly via the SQL adapter.
    from sheets_schema.changes import WriteJob

    wb = open_workbook(load_settings_file(secrets, {}))
    current = read_tables(wb)
    job = WriteJob()
    job.set(current["在庫"], 2, {"実在庫": "いっぱい"})
    job.set(current["商品"], 5, {"販売価格": "高い"})
    wb.write(job)
    capsys.readouterr()
    assert main(["--secrets", str(secrets), "check"]) == 1
    out = capsys.readouterr().out
    assert "「在庫」シート 2行目 「実在庫」列" in out
    assert "「商品」シート 5行目 「販売価格」列" in out
    assert "2 件の問題があります" in out


def test_export_then_import_of_an_edited_file_previews_then_applies(
    secrets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "out.xlsx"
    assert main(["--secrets", str(secrets), "export", str(export)]) == 0
    book = load_workbook(export)
    assert book["_システム"].sheet_state == "hidden"
    products = book["商品"]
    assert [c.value for c in products[1]][:3] == ["SKU", "商品名", "販売価格"]
    sku = products["A2"].value
    products["C2"] = 12345
    products.append(["00999", '=IMPORTXML("http://x","//a")', 500])
    products.cell(row=products.max_row, column=2).data_type = "s"  # typed as text, as Excel would keep it
    book.save(export)

    before = tables(secrets)
    assert main(["--secrets", str(secrets), "import", str(export)]) == 0
    out = capsys.readouterr().out
    assert f"「商品」{sku} 「販売価格」" in out and "→ 12345" in out
    assert "追加: 「商品」に 1 行" in out
    assert tables(secrets)["商品"].grid.rows == before["商品"].grid.rows  # preview wrote nothing

    assert main(["--secrets", str(secrets), "import", str(export), "--apply"]) == 0
    after = tables(secrets)["商品"]
    by_sku = {p.sku: p for p in after.models()}
    assert by_sku[sku].price == 12345
    assert by_sku["00999"].name == '=IMPORTXML("http://x","//a")'  # text, leading zeros kept
    capsys.readouterr()
    assert main(["--secrets", str(secrets), "import", str(export)]) == 0
    assert "変更はありません" in capsys.readouterr().out

    again = tmp_path / "again.xlsx"
    assert main(["--secrets", str(secrets), "export", str(again)]) == 0
    row = next(c for c in load_workbook(again)["商品"].iter_rows() if c[0].value == "00999")
    assert (row[1].value, row[1].data_type) == ('=IMPORTXML("http://x","//a")', "s")
    assert (row[2].value, row[2].data_type) == (500, "n")


def test_import_with_errors_changes_nothing_and_exits_1(
    secrets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "out.xlsx"
    main(["--secrets", str(secrets), "export", str(export)])
    book = load_workbook(export)
    book["在庫"]["B3"] = "abc"
    book["商品"]["C2"] = 1
    book.save(export)
    before = tables(secrets)
    assert main(["--secrets", str(secrets), "import", str(export), "--apply"]) == 1
    out = capsys.readouterr().out
    assert "ファイルの「在庫」シート 3行目 「実在庫」列" in out
    assert tables(secrets)["商品"].grid.rows == before["商品"].grid.rows


def test_ledger_rows_cannot_be_changed_by_import(secrets: Path, tmp_path: Path, capsys) -> None:
    export = tmp_path / "out.xlsx"
    main(["--secrets", str(secrets), "export", str(export)])
    book = load_workbook(export)
    sheet = book["在庫移動"]
    quantity = [c.value for c in sheet[1]].index("数量") + 1
    sheet.cell(row=2, column=quantity).value = 999
    book.save(export)
    assert main(["--secrets", str(secrets), "import", str(export)]) == 1
    assert "追記のみ" in capsys.readouterr().out


def test_runs_as_a_module_from_the_shell(secrets: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sheets_schema", "--secrets", str(secrets), "check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "問題はありません" in done.stdout


def test_archive_moves_old_sync_log_rows_and_dry_run_only_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta

    from sheets_schema.cells import JST
    from sheets_schema.changes import WriteJob

    path = tmp_path / "secrets.toml"
    path.write_text(
        f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n'
        f'archive_url = "sqlite:///{tmp_path / "archive.sqlite3"}"\narchive_after_days = 30\n',
        encoding="utf-8",
    )
    assert main(["--secrets", str(path), "check"]) == 0  # the demo workbook is made
    wb = open_workbook(load_settings_file(path, {}))
    old = datetime.now(JST) - timedelta(days=40)
    job = WriteJob()
    rows = [
        {
            "実行ID": f"old-{n}",
            "開始日時": old,
            "モール": "楽天",
            "処理": "受注取込（rakuten）",
            "結果": "成功",
        }
        for n in range(3)
    ]
    log = read_tables(wb)["同期ログ"]
    job.append(log, rows)
    wb.write(job)
    before = len(read_tables(wb)["同期ログ"].records)
    capsys.readouterr()

    assert main(["--secrets", str(path), "archive", "--dry-run"]) == 0
    assert "同期ログ 3 行を履歴データベースへ移します" in capsys.readouterr().out
    assert len(read_tables(wb)["同期ログ"].records) == before
    assert main(["--secrets", str(path), "archive"]) == 0
    assert "同期ログ 3 行を履歴データベースへ移しました" in capsys.readouterr().out
    assert len(read_tables(wb)["同期ログ"].records) == before - 3
