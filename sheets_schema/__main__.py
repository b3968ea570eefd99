"""Backups and checks from the command line, with the same settings as the app.

python -m sheets_schema export out.xlsx       every tab (and the archive, on 受注（履歴）… sheets) to .xlsx
python -m sheets_schema import in.xlsx        validate and show what would change
python -m sheets_schema import in.xlsx --apply
python -m sheets_schema check                 print every row error; exit 1 if any
python -m sheets_schema archive [--dry-run]   move closed orders, old ledger and log rows to the archive database
python -m sheets_schema check --fix           first trim Google Sheets grids to the cells in use
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from settings import Settings, SettingsError, load_settings_file
from sheets_schema.archive import TABLE_NAMES, Archive, archive_exists
from sheets_schema.book import header_problems, open_prepared_workbook, read_tables, row_errors
from sheets_schema.cells import JST
from sheets_schema.errors import WorkbookError
from sheets_schema.importing import plan_import
from sheets_schema.tabs import TABS
from sheets_schema.workbook import Workbook
from sheets_schema.xlsx import ARCHIVED_SUFFIX, ArchivedRows, read_xlsx, write_xlsx
from vocabulary.cli import JapaneseArgumentParser

_PREVIEW_LIMIT = 200


def export(workbook: Workbook, path: Path, archive_url: str | None = None) -> int:
    """Every tab, then what the archive database holds on sheets named 受注（履歴） etc.:
    separate sheets, because importing the file must not bring an archived order back into
    the workbook (an order lives in one place), while a restore still finds every row."""
    titles = workbook.tab_titles()
    grids = workbook.read(titles)
    hidden = workbook.hidden_titles()
    archived: list[ArchivedRows] = []
    if archive_url is not None and archive_exists(archive_url):  # never archived: no file to make
        archive = Archive(archive_url)
        archived = [
            ArchivedRows(spec, archive.iter_rows(spec), hidden=spec.hidden)
            for spec in TABS
            if spec.title in TABLE_NAMES and archive.count(spec)
        ]
    _writable_target(path)
    try:
        history = write_xlsx(path, [grids[t] for t in titles if t in grids], hidden, archived)
    except PermissionError:
        raise FileProblem(f"{path} に書き込む権限がありません。") from None
    except OSError as exc:
        raise FileProblem(f"{path} に書き出せません（{exc.__class__.__name__}）。") from None
    rows = sum(len(g.rows) for g in grids.values())
    extra = (
        f"（ほかに履歴データベースの {history:,} 行を「（{ARCHIVED_SUFFIX}）」のシートに）" if history else ""
    )
    print(f"{len(grids)} シート・{rows} 行{extra}を {path} に書き出しました")
    return 0


def check(workbook: Workbook) -> int:
    tables = read_tables(workbook)
    problems = header_problems(tables) + [str(e) for e in row_errors(tables)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} 件の問題があります")
        return 1
    print(f"問題はありません（{sum(len(t.records) for t in tables.values())} 行を確認しました）")
    return 0


def trim(workbook: Workbook) -> None:
    """Give back the blank cells Google counts against the 10-million-cell limit."""
    # Imported here: the SQL-only installation need not load gspread.
    from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook

    if not isinstance(workbook, GoogleSheetsWorkbook):
        print("データベースのワークブックにはセル数の上限も空白のセルもないため、削るものはありません")
        return
    trims = workbook.trim_grids()
    for t in trims:
        if t.cells_after < t.cells_before:
            print(
                f"「{t.title}」: {t.rows_before:,}行×{t.columns_before}列 → {t.rows_after:,}行×{t.columns_after}列"
                f"（{t.cells_before:,} → {t.cells_after:,} セル）"
            )
    before = sum(t.cells_before for t in trims)
    after = sum(t.cells_after for t in trims)
    if after == before:
        print(f"削れる空白のセルはありませんでした（{before:,} セル使用中）")
    else:
        print(f"空白の行と列を削りました: {before:,} → {after:,} セル（{before - after:,} セル減）\n")
    protected = workbook.protect_machine_cells(TABS)
    if protected:
        print(f"Ichigen が書く列とシートに「警告のみ」の保護を {protected} か所付けました\n")


class FileProblem(Exception):
    """A file named on the command line cannot be read or written; the message is Japanese."""


def _readable_xlsx(path: Path) -> dict:
    if not path.exists():
        raise FileProblem(f"ファイル {path} が見つかりません。パスを確かめてください。")
    if path.is_dir():
        raise FileProblem(f"{path} はフォルダです。.xlsx ファイルを指定してください。")
    try:
        return read_xlsx(path)
    except PermissionError:
        raise FileProblem(f"ファイル {path} を読む権限がありません。") from None
    except OSError as exc:
        raise FileProblem(f"ファイル {path} を読み込めません（{exc.__class__.__name__}）。") from None
    except Exception as exc:  # openpyxl: BadZipFile, InvalidFileException, KeyError, ValueError…
        raise FileProblem(
            f"{path} を .xlsx として読めません（{exc.__class__.__name__}）。"
            "Excel で「Excel ブック (.xlsx)」として保存したファイルを指定してください。"
        ) from None


def _writable_target(path: Path) -> None:
    if path.is_dir():
        raise FileProblem(f"{path} はフォルダです。書き出すファイル名（例: backup.xlsx）を指定してください。")
    if not path.parent.exists():
        raise FileProblem(f"フォルダ {path.parent} がありません。先に作るか、別の場所を指定してください。")


def import_file(workbook: Workbook, path: Path, *, apply: bool, incoming: dict | None = None) -> int:
    incoming = _readable_xlsx(path) if incoming is None else incoming
    tables = read_tables(workbook)
    plan = plan_import(tables, incoming)
    for notice in plan.notices:
        print(f"お知らせ: {notice}")
    for error in plan.errors:
        print(f"エラー: {error}")
    if plan.errors:
        print(
            f"\n{len(plan.errors)} 件のエラーがあるため取り込みません。ファイルを直してからもう一度実行してください"
        )
        return 1
    for change in plan.changes[:_PREVIEW_LIMIT]:
        print(f"変更: {change}")
    if len(plan.changes) > _PREVIEW_LIMIT:
        print(f"…ほか {len(plan.changes) - _PREVIEW_LIMIT} 件の変更")
    for tab, rows in plan.additions.items():
        print(f"追加: 「{tab}」に {len(rows)} 行")
    summary = f"変更 {len(plan.changes)} セル・追加 {plan.addition_count} 行"
    if not plan.changes and not plan.additions:
        print("変更はありません")
        return 0
    if not apply:
        print(
            f"\n{summary} の予定です（まだ書き込んでいません）。反映するには --apply を付けて実行してください"
        )
        return 0
    workbook.write(plan.job(tables))
    print(f"\n{summary} を反映しました")
    return 0


def archive(settings: Settings, workbook: Workbook, *, dry_run: bool) -> int:
    # The pass takes the sync lease, which lives with the sync engine: this entry point is
    # where the two layers meet (as app.py does), the library modules stay one-way.
    from sheets_schema.archive import Archive
    from sync.archive import archive_history
    from sync.engine import SyncEngine
    from sync.errors import LeaseHeld

    store = Archive(settings.archive_url(), options=settings.sql_options())
    engine = SyncEngine(workbook, [], settings.sync, archive=store)
    try:
        result = archive_history(
            engine,
            store,
            after_days=settings.workbook.archive_after_days,
            dry_run=dry_run,
        )
    except LeaseHeld as exc:
        print(f"移しませんでした: {exc}", file=sys.stderr)
        return 3
    print(result.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = JapaneseArgumentParser(
        prog="python -m sheets_schema", description="Ichigen ワークブックのバックアップと検査"
    )
    parser.add_argument(
        "--secrets",
        type=Path,
        default=None,
        metavar="ファイル",
        help="設定ファイル（省略時は .streamlit/secrets.toml、なければ内蔵のデモ）",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export", help="全シートを .xlsx に書き出す").add_argument(
        "path", type=Path, metavar="ファイル", help="書き出す .xlsx"
    )
    importer = commands.add_parser("import", help=".xlsx の変更を検証して取り込む")
    importer.add_argument("path", type=Path, metavar="ファイル", help="書き出す .xlsx")
    importer.add_argument("--apply", action="store_true", help="確認した変更を書き込む")
    checker = commands.add_parser("check", help="全シートの入力エラーを表示する")
    checker.add_argument(
        "--fix", action="store_true", help="先に Google スプレッドシートの空白の行と列を削ってセル数を減らす"
    )
    archiver = commands.add_parser(
        "archive", help="締まった古い受注・在庫移動・同期ログを履歴データベースへ移す"
    )
    archiver.add_argument("--dry-run", action="store_true", help="移す行数を表示するだけで移さない")
    args = parser.parse_args(argv)

    try:
        settings = load_settings_file(args.secrets, os.environ)
        incoming = None
        if args.command == "import":
            incoming = _readable_xlsx(args.path)  # before opening (and perhaps seeding) the workbook
        elif args.command == "export":
            _writable_target(args.path)
        workbook = open_prepared_workbook(settings, datetime.now(JST))
        if args.command == "archive":
            return archive(settings, workbook, dry_run=args.dry_run)
        if args.command == "export":
            return export(workbook, args.path, settings.archive_url())
        if args.command == "import":
            return import_file(workbook, args.path, apply=args.apply, incoming=incoming)
        if args.fix:
            trim(workbook)
        return check(workbook)
    except (WorkbookError, SettingsError, FileProblem) as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
