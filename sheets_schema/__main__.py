"""Backups and checks from the command line, with the same settings as the app.

python -m sheets_schema export out.xlsx       every tab (and the archive, on 受注（履歴）… sheets) to .xlsx
python -m sheets_schema import in.xlsx        validate and show what would change
python -m sheets_schema import in.xlsx --apply
python -m sheets_schema check                 print every row error; exit 1 if any
python -m sheets_schema archive [--dry-run]   move closed orders, old ledger and log rows to the archive database
python -m sheets_schema check --fix           first trim Google Sheets grids to the cells in use
python -m sheets_schema migrate --to URL [--dry-run]
                                              copy the workbook and its archive to PostgreSQL, verify, switch settings
python -m sheets_schema migrate --machine-to URL [--dry-run]
                                              Google Sheets: only Ichigen's own tabs (and the archive) to PostgreSQL
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

    from sheets_schema.migrate import Part

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
    from sync.sets import set_problems  # セット構成 checked against 商品

    problems = header_problems(tables) + [str(e) for e in row_errors(tables)] + set_problems(tables)
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


_WORKBOOK_KEYS = ("backend", "sql_url", "archive_url", "machine_url")


def _stock_totals(workbook: Workbook) -> dict[str, dict[str, tuple[int, int]]]:
    """実在庫/引当数 per SKU as 在庫 shows them, as the ledger (在庫移動) folds, and as
    _台帳集計 keeps them."""
    from sheets_schema.tabs import LEDGER_BALANCES, STOCK, STOCK_MOVEMENTS
    from sync.ledger import build_ledger

    tables = read_tables(workbook, [STOCK, STOCK_MOVEMENTS, LEDGER_BALANCES])
    ledger = build_ledger(tables[STOCK_MOVEMENTS.title].models())
    skus = set(ledger.on_hand) | set(ledger.allocated)
    return {
        "在庫": {s.sku: (s.on_hand, s.allocated) for s in tables[STOCK.title].models()},
        "台帳": {sku: (ledger.on_hand[sku], ledger.allocated[sku]) for sku in sorted(skus)},
        "_台帳集計": {b.sku: (b.on_hand, b.allocated) for b in tables[LEDGER_BALANCES.title].models()},
    }


def _counts_text(counts: dict[str, int]) -> str:
    return "、".join(f"{name} {n:,}" for name, n in counts.items())


def _verify(
    source: Workbook,
    target: str,
    engine: Engine,
    archive_engine: Engine,
    tables: dict[str, Table],
    content: Part,
    history: Part | None,
    machine_only: bool,
) -> dict[str, dict[str, tuple[int, int]]]:
    """What the target holds, read back, against the source: every tab and archive table by
    fingerprint, then 在庫, the ledger and _台帳集計 summed on both sides (the source's totals
    are returned). Raises MigrationRefused naming what differs."""
    from sheets_schema import migrate as m
    from sheets_schema.adapters.sql import SqlWorkbook
    from sync.state import LEASE_KEY

    copied_wb = m.target_workbook(engine, LEASE_KEY) or m.Part()
    if copied_wb != content:
        raise m.MigrationRefused(
            m.explain_differences(content, copied_wb, "移行先のワークブックが移行元と一致しません")
        )
    if history is not None:
        copied_ar = m.archive_fingerprint(archive_engine, tables)
        if copied_ar != history:
            raise m.MigrationRefused(
                m.explain_differences(history, copied_ar, "移行先の履歴が移行元と一致しません")
            )
    before = _stock_totals(source)
    target_workbook: Workbook = SqlWorkbook(target, engine=engine)
    if machine_only:
        from sheets_schema.adapters.hybrid import HybridWorkbook

        target_workbook = HybridWorkbook(source, target_workbook)  # type: ignore[arg-type]
    after = _stock_totals(target_workbook)
    for name in before:
        if before[name] != after[name]:
            wrong = sorted(
                k for k in set(before[name]) | set(after[name]) if before[name].get(k) != after[name].get(k)
            )
            raise m.MigrationRefused(
                f"移行先の{name}の合計が移行元と違います（SKU: {'・'.join(wrong[:5])}）。設定は変えていません。"
            )
    return before


def migrate(
    settings: Settings,
    secrets: Path | None,
    environ: dict[str, str],
    target: str,
    archive_target: str | None,
    *,
    dry_run: bool,
    machine_only: bool = False,
) -> int:
    """Copy the configured workbook and its archive to PostgreSQL, verify, then switch the
    settings (see sheets_schema/migrate.py). Under the sync lease, like an archive pass.

    ``machine_only`` (``--machine-to``): a Google Sheets workbook keeps its staff tabs in the
    spreadsheet and only the tabs Ichigen alone writes move (the hybrid workbook)."""
    import socket
    import time

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from settings import DEFAULT_SECRETS_PATH
    from sheets_schema import migrate as m
    from sheets_schema.adapters.sql import create_sql_engine, masked_url, unavailable
    from sheets_schema.book import ensure_tabs, open_workbook
    from sheets_schema.errors import StaleWorkbookError
    from sync.engine import SyncEngine
    from sync.errors import LeaseHeld
    from sync.state import LEASE_KEY

    archive_target = archive_target or target
    for url in dict.fromkeys([target, archive_target]):
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend != "postgresql":
            raise FileProblem(
                "移行先には PostgreSQL の URL（postgresql+psycopg://ユーザー@ホスト:5432/データベース）を指定してください。"
            )
    shown, shown_archive = masked_url(target), masked_url(archive_target)
    if machine_only and settings.backend != "google":
        raise FileProblem(
            "--machine-to は Google スプレッドシートのワークブックで使います。ワークブック全体を移すときは --to を使ってください。"
        )
    if not machine_only and settings.machine_url():
        raise FileProblem(
            "Ichigen のシートはすでにデータベース（[workbook] machine_url）にあります。"
            "スプレッドシートのシートはそのままにして、ほかを移すときは --machine-to を使ってください。"
        )
    source = open_workbook(settings)
    source_url = settings.sql_url() if settings.backend == "sql" else settings.machine_url() or None
    if source_url is not None and m.same_database(source_url, target):
        print(f"ワークブックはすでに {shown} にあります。移すものはありません（何も変えていません）")
        return 0
    if settings.machine_url():
        raise FileProblem(
            f"Ichigen のシートはすでに {masked_url(settings.machine_url())} にあります。"
            "データベースから別のデータベースへの移行は、PostgreSQL の pg_dump と pg_restore で行ってください。"
        )
    copied_source = m.MachineTabs(source) if machine_only else source
    source_archive = settings.archive_url()
    archive_moves = not m.same_database(source_archive, archive_target) and archive_exists(source_archive)
    tables = m.archive_definitions()
    options = settings.sql_options()
    engine = create_sql_engine(target, options)
    archive_engine = engine if archive_target == target else create_sql_engine(archive_target, options)
    for where, db in ((shown, engine), (shown_archive, archive_engine)):
        try:
            with db.connect():
                pass
        except SQLAlchemyError as exc:
            raise unavailable(exc, where, "書き込め") from exc

    def target_states() -> tuple[m.Part | None, m.Part | None]:
        wb = m.target_workbook(engine, LEASE_KEY)
        ar = m.archive_fingerprint(archive_engine, tables)
        return wb, (ar if ar.rows else None)

    source_name = (
        source.info.location
        if settings.backend == "sql"
        else f"Google スプレッドシート（{source.info.title}）"
        + (
            "の Ichigen だけが書くシート（" + "・".join(t.title for t in TABS if t.machine_owned) + "）"
            if machine_only
            else ""
        )
    )
    print(f"移行元: {source_name}")
    print(f"移行先: {shown}" + ("" if archive_target == target else f"（履歴: {shown_archive}）"))
    if dry_run:
        content = m.workbook_fingerprint(copied_source, LEASE_KEY)
        history = (
            m.archive_fingerprint(create_sql_engine(source_archive), tables) if archive_moves else m.Part()
        )
        print(
            f"ワークブック: {len(content.entries)} シート・{content.rows:,} 行（{_counts_text(content.counts())}）"
        )
        if archive_moves:
            print(f"履歴データベース: {history.rows:,} 行（{_counts_text(history.counts())}）")
        wb, ar = target_states()
        problems = []
        if wb is not None and wb != content:
            problems.append(f"移行先 {shown} には別のワークブック（{wb.rows:,} 行）があります")
        if archive_moves and ar is not None and ar != history:
            problems.append(f"移行先 {shown_archive} の履歴の表には別の行（{ar.rows:,} 行）があります")
        if problems:
            print(
                "移行できません: " + "。".join(problems) + "。空のデータベースを指定してください",
                file=sys.stderr,
            )
            return 2
        same = wb is not None
        print(
            "移行先には接続でき、"
            + ("すでに同じ内容があります" if same else "空です")
            + "（--dry-run のため、まだ何もコピーしていません）"
        )
        return 0

    started = time.monotonic()
    ensure_tabs(source)
    # One holder name per machine: a migration killed here and run again takes its own lease back.
    engine_for_lease = SyncEngine(source, [], settings.sync, holder=f"移行-{socket.gethostname()}")
    try:
        engine_for_lease.acquire_lease()
    except LeaseHeld as exc:
        print(f"移行しませんでした: {exc}", file=sys.stderr)
        return 3
    try:
        wb, ar = target_states()
        content = m.workbook_fingerprint(copied_source, LEASE_KEY) if wb is not None else None
        source_archive_engine = None
        history: m.Part | None = None
        if archive_moves:
            from sheets_schema.archive import Archive

            source_archive_engine = Archive(source_archive, options=options).engine  # facts made if older
            history = m.archive_fingerprint(source_archive_engine, tables) if ar is not None else None
        if wb is not None and wb != content:
            raise m.MigrationRefused(
                f"移行先 {shown} にはすでに別のワークブックがあります（{wb.rows:,} 行。違うシート: "
                f"{'・'.join(m.differences(content or m.Part(), wb)[:5])}）。"
                "何もコピーしていません。空のデータベースを指定してください"
            )
        if archive_moves and ar is not None and ar != history:
            raise m.MigrationRefused(
                f"移行先 {shown_archive} の履歴の表にはすでに別の行があります（{ar.rows:,} 行）。"
                "何もコピーしていません。空のデータベースを指定してください"
            )

        def unchanged(copied: m.Part) -> None:
            if m.workbook_fingerprint(copied_source, LEASE_KEY) != copied:
                raise m.MigrationRefused(
                    "コピーの間に移行元のワークブックが変わったため、移行先には何も残していません。もう一度実行してください"
                )

        if wb is None:
            content = m.copy_workbook(copied_source, engine, LEASE_KEY, unchanged)
            m.settle(engine, [m.tabs_table.name, m.rows_table.name])
            print(f"ワークブックをコピーしました: {len(content.entries)} シート・{content.rows:,} 行")
        else:
            print(f"移行先にはすでに同じワークブックがあります（{wb.rows:,} 行）。コピーしません")
        assert content is not None
        if archive_moves:
            from sheets_schema.archive import Archive

            assert source_archive_engine is not None
            Archive(archive_target, engine=archive_engine)  # the tables and indexes, empty
            if ar is None:
                history = m.copy_archive(source_archive_engine, archive_engine, tables)
                m.settle(archive_engine, list(tables))
                print(
                    f"履歴データベースをコピーしました: {history.rows:,} 行（{_counts_text(history.counts())}）"
                )
            else:
                print(f"移行先にはすでに同じ履歴があります（{ar.rows:,} 行）。コピーしません")
        # Verify: what the target holds now, read back, against the source. What this run
        # copied is taken back if the check fails (the target was empty), so a rerun can copy.
        try:
            before = _verify(source, target, engine, archive_engine, tables, content, history, machine_only)
        except m.MigrationRefused as exc:
            taken_back = wb is None or (archive_moves and ar is None)
            if wb is None:
                m.remove_copied_workbook(engine)
            if archive_moves and ar is None:
                m.remove_copied_archive(archive_engine, tables)
            if not taken_back:
                raise
            raise m.MigrationRefused(
                f"{str(exc).rstrip('。')}。この実行で移行先にコピーした内容は消しました。もう一度実行してください"
            ) from exc
        stock = before["在庫"]
        print(
            f"確認しました: シートごとの行数（{_counts_text(content.counts())}）"
            + (
                f"、履歴の表ごとの行数（{_counts_text(history.counts())}）"
                if archive_moves and history
                else ""
            )
            + f"、在庫 {len(stock):,} SKU の実在庫 {sum(h for h, _ in stock.values()):,}・"
            f"引当数 {sum(a for _, a in stock.values()):,}、台帳の集計と _台帳集計 が移行元と移行先で一致しました"
        )
        mismatched = [
            k
            for k in set(stock) | set(before["台帳"])
            if stock.get(k, (0, 0)) != before["台帳"].get(k, (0, 0))
        ]
        if mismatched:
            print(
                f"お知らせ: 在庫と台帳の合計が違う SKU が {len(mismatched):,} 件あります（移行元のとおりです。"
                f"次の同期で手動調整として記録されます）: {'・'.join(sorted(mismatched)[:5])}"
            )
        print(f"コピーと確認にかかった時間: {time.monotonic() - started:.1f} 秒")

        updates = (
            {"machine_url": target, "archive_url": archive_target}
            if machine_only
            else {"backend": "sql", "sql_url": target, "archive_url": archive_target}
        )
        keys = [k for k in _WORKBOOK_KEYS if k in updates]
        from_environment = [
            f"ICHIGEN_WORKBOOK__{k.upper()}" for k in keys if f"ICHIGEN_WORKBOOK__{k.upper()}" in environ
        ]
        path = secrets or DEFAULT_SECRETS_PATH
        backup = None
        if not from_environment:
            try:
                backup = m.switch_secrets(path, updates, datetime.now(JST))
            except (OSError, ValueError) as exc:
                print(f"設定ファイル {path} を書き換えられませんでした（{exc.__class__.__name__}）。")
                from_environment = ["（設定ファイル）"]
        if from_environment:
            print(
                f"ワークブックの設定が環境変数（{'・'.join(from_environment)}）から来ているため、設定ファイルは変えていません。"
                "次のように設定してから、アプリと同期を起動し直してください（*** はパスワードです）:"
            )
            for key in keys:
                value = updates[key]
                print(f"  ICHIGEN_WORKBOOK__{key.upper()}={masked_url(value) if key != 'backend' else value}")
            return 0
        kept = f"（元の設定は {backup} に残しました）" if backup else ""
        if machine_only:
            print(
                f"設定を切り替えました: {path} の [workbook] machine_url = {shown}・archive_url = {shown_archive}{kept}"
            )
            print(
                "アプリと同期（python -m sync watch）を起動し直すと、商品・在庫・モール商品・受注・メールテンプレートは"
                "これまでどおりスプレッドシートで、ほかは PostgreSQL で扱います。スプレッドシートに残った "
                + "・".join(t for t in copied_source.tab_titles())
                + " はもう読み書きしません（確かめてから削除すると、そのぶんのセルが空きます）"
            )
            return 0
        print(
            f'設定を切り替えました: {path} の [workbook] backend = "sql"・sql_url = {shown}・archive_url = {shown_archive}{kept}'
        )
        print(
            "アプリと同期（python -m sync watch）を起動し直すと、PostgreSQL のワークブックを使います。移行元はそのまま残っています"
        )
        return 0
    except m.MigrationRefused as exc:
        print(f"移行しませんでした: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # a Japanese sentence, not a traceback (nothing was committed)
        raise unavailable(exc, shown, "書き込め") from exc
    finally:
        with contextlib.suppress(LeaseHeld, StaleWorkbookError, WorkbookError):
            engine_for_lease.release_lease()
        engine.dispose()
        if archive_engine is not engine:
            archive_engine.dispose()


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
    migrator = commands.add_parser(
        "migrate", help="ワークブックと履歴データベースを PostgreSQL へコピーし、確認してから設定を切り替える"
    )
    where = migrator.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="URL", help="ワークブック全体の移行先（postgresql+psycopg://…）")
    where.add_argument(
        "--machine-to",
        metavar="URL",
        help="Google スプレッドシートのまま、Ichigen だけが書くシート（在庫移動・同期ログなど）を移す先",
    )
    migrator.add_argument(
        "--archive-to", default=None, metavar="URL", help="履歴データベースの移行先（省略時は --to と同じ）"
    )
    migrator.add_argument(
        "--dry-run", action="store_true", help="コピーする行数と移行先が空かを表示するだけでコピーしない"
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings_file(args.secrets, os.environ)
        incoming = None
        if args.command == "import":
            incoming = _readable_xlsx(args.path)  # before opening (and perhaps seeding) the workbook
        elif args.command == "export":
            _writable_target(args.path)
        if args.command == "migrate":  # the source as it is: never seeded
            return migrate(
                settings,
                args.secrets,
                dict(os.environ),
                args.to or args.machine_to,
                args.archive_to,
                dry_run=args.dry_run,
                machine_only=args.machine_to is not None,
            )
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
