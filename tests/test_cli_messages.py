"""What `python -m sync` and `python -m sheets_schema` say when something is wrong: Japanese,
an exit code other than 0, no traceback, and never the value of a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, SettingsError, SettingsInvalid, load_settings, load_settings_file
from sheets_schema.__main__ import main as schema_main
from sync.__main__ import main as sync_main

SECRET = "Hunter2-SMTP-P4ssw0rd"


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def typo_secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(
        f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n'
        f'[mail]\nhost = "smtp.example.jp"\nusername = "shop"\npasword = "{SECRET}"\nport = "{SECRET}"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("module", ["sync", "sheets_schema"])
def test_a_typo_in_secrets_names_the_key_and_never_prints_the_password(
    module: str, typo_secrets: Path
) -> None:
    done = run(module, "--secrets", str(typo_secrets), "once" if module == "sync" else "check")
    output = done.stdout + done.stderr
    assert done.returncode == 2
    assert SECRET not in output
    assert "Traceback" not in output
    assert "mail.pasword: この項目はありません" in done.stderr
    assert "mail.port: 整数で書いてください" in done.stderr


def test_settings_errors_carry_no_values_even_in_their_cause() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        load_settings(
            {"mail": {"pasword": SECRET}, "access": {"a@example.jp": SECRET}},
            environ={"ICHIGEN_MAIL__TIMEOUT_SECONDS": SECRET},
        )
    error = caught.value
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert error.__cause__ is None and error.__context__ is None  # no pydantic text in a traceback
    assert any(p.startswith("access.a@example.jp: 次のどれかにしてください") for p in error.problems)
    assert any(p.startswith("mail.timeout_seconds: 数値で書いてください") for p in error.problems)


def test_the_app_shows_the_keys_of_a_bad_secrets_file_not_the_values(tmp_path: Path) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.secrets["workbook"] = {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}
    at.secrets["mail"] = {"pasword": SECRET}
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "mail.pasword" in shown and SECRET not in shown


@pytest.mark.parametrize("module", ["sync", "sheets_schema"])
def test_secrets_pointing_at_a_missing_file_is_an_error_not_the_demo(module: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-secrets.toml"
    done = run(module, "--secrets", str(missing), "once" if module == "sync" else "check")
    assert done.returncode == 2
    assert f"設定ファイル {missing} が見つかりません" in done.stderr
    assert "Traceback" not in done.stderr
    assert "受注取込" not in done.stdout and "問題はありません" not in done.stdout  # the demo did not run


def test_a_folder_or_broken_toml_as_secrets_is_explained(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="はフォルダです"):
        load_settings_file(tmp_path, {})
    broken = tmp_path / "secrets.toml"
    broken.write_text(f'[mail]\npassword = "{SECRET}\n', encoding="utf-8")  # unclosed string
    with pytest.raises(SettingsError) as caught:
        load_settings_file(broken, {})
    assert "書き方（TOML）に誤りがあります（2 行目" in str(caught.value)
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None
    assert load_settings_file(None, {}).backend in {"sql", "google"}  # no --secrets: the default


@pytest.mark.parametrize(
    ("main", "argv", "expected"),
    [
        (
            sync_main,
            ["onse"],
            "コマンド に 'onse' は使えません（使えるのは 'once', 'watch', 'reconcile', 'push'）",
        ),
        (sync_main, [], "次の引数が必要です: コマンド"),
        (
            sync_main,
            ["once", "--wait", "abc"],
            "--wait の値 'abc' は正しくありません（数値で書いてください）",
        ),
        (sync_main, ["once", "--now"], "知らない引数です: --now"),
        (schema_main, ["import"], "次の引数が必要です: ファイル"),
        (schema_main, ["exprt", "x.xlsx"], "コマンド に 'exprt' は使えません"),
    ],
)
def test_usage_errors_are_japanese(main, argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.startswith("使い方: python -m ")
    assert "usage:" not in err and "error:" not in err and "invalid" not in err


@pytest.mark.parametrize("module", ["sync", "sheets_schema"])
def test_help_is_japanese(module: str) -> None:
    done = run(module, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith(f"使い方: python -m {module}")
    assert "オプション:" in done.stdout and "この説明を表示して終わる" in done.stdout
    assert "usage:" not in done.stdout and "show this help" not in done.stdout


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(f'[workbook]\nsql_url = "sqlite:///{tmp_path / "wb.sqlite3"}"\n', encoding="utf-8")
    return path


def test_import_and_export_file_problems_are_japanese(secrets: Path, tmp_path: Path) -> None:
    not_xlsx = tmp_path / "orders.xlsx"
    not_xlsx.write_text("注文番号,金額\n1,100\n", encoding="utf-8")
    cases = [
        (
            ["import", str(tmp_path / "missing.xlsx")],
            f"ファイル {tmp_path / 'missing.xlsx'} が見つかりません",
        ),
        (["import", str(tmp_path)], "はフォルダです。.xlsx ファイルを指定してください"),
        (["import", str(not_xlsx)], "を .xlsx として読めません"),
        (["export", str(tmp_path / "nowhere" / "out.xlsx")], f"フォルダ {tmp_path / 'nowhere'} がありません"),
        (["export", str(tmp_path)], "はフォルダです。書き出すファイル名"),
    ]
    for argv, expected in cases:
        done = run("sheets_schema", "--secrets", str(secrets), *argv)
        assert done.returncode == 2, argv
        assert expected in done.stderr, (argv, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "wb.sqlite3").exists()  # refused before the workbook was even made


def test_an_over_long_csv_cell_in_an_upload_is_a_japanese_error_not_a_traceback() -> None:
    from shipping.tracking_import import TrackingFileError, read_csv
    from shop.bulk_upload import read_upload

    data = ("注文番号,追跡番号\n1," + "9" * 140_000 + "\n").encode()
    with pytest.raises(TrackingFileError, match="1つのセルが長すぎます（131,072 文字を超えています）"):
        read_csv(data)
    grids, errors, _ = read_upload("商品.csv", ("SKU,商品名\nA," + "長" * 140_000 + "\n").encode())
    assert grids == {} and errors and errors[0].startswith("1つのセルが長すぎます")
