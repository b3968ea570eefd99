"""Run sync from the command line, with the same settings as the app.

python -m sync once                 one cycle: import orders, then push stock
python -m sync watch --interval 60  a cycle every N seconds until Ctrl+C
python -m sync push --dry-run       show the planned stock pushes; send nothing
python -m sync reconcile            在庫照合: read every listing's live quantity and record differences
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from settings import Settings, SettingsError, load_settings_file
from sheets_schema.archive import Archive
from sheets_schema.book import open_prepared_workbook
from sheets_schema.cells import JST
from sheets_schema.errors import WorkbookError, WorkbookUnavailable
from shipping import auto_mail
from sync import reconcile
from sync.archive import archive_history
from sync.connectors import ChannelConfigError, build_connectors
from sync.engine import CycleReport, Progress, SyncEngine
from sync.errors import LeaseHeld
from vocabulary.cli import JapaneseArgumentParser


def build_engine(settings: Settings, progress: Callable[[Progress], None]) -> SyncEngine:
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    return SyncEngine(
        workbook,
        build_connectors(settings),
        settings.sync,
        progress=progress,
        archive=Archive(settings.archive_url(), options=settings.sql_options()),
    )


def build_engine_when_reachable(
    settings: Settings, progress: Callable[[Progress], None], interval: float
) -> SyncEngine:
    """``sync watch`` starting while the database server is unreachable: says so, and tries
    again every interval (a restarted server, a network back) instead of exiting."""
    while True:
        try:
            return build_engine(settings, progress)
        except WorkbookUnavailable as exc:
            print(
                f"同期を始められません: {exc}（{interval:g} 秒後に再試行します）", file=sys.stderr, flush=True
            )
            time.sleep(interval)


def print_report(report: CycleReport) -> None:
    for run in report.runs:
        line = (
            f"{run.mall}（{run.channel}）受注取込: 取得 {run.fetched} / 新規 {run.created} / 更新 {run.updated}"
            f" / 重複スキップ {run.duplicates_skipped} / 失敗 {run.failed} — {run.result}"
        )
        print(line + (f"\n  エラー: {run.error}" if run.error else ""))
    by_mall: dict[str, list[bool]] = {}
    for push in report.pushes:
        by_mall.setdefault(push.mall, []).append(push.ok)
    for mall, results in by_mall.items():
        print(f"{mall} 在庫送信: {sum(results)} / {len(results)} 件成功")
    if report.shipments:
        print(f"出荷連絡 {report.shipments} 件をモールへ送りました")
    if report.movements:
        print(f"在庫移動 {report.movements} 件を記録しました")
    for note in report.notes:
        print(f"お知らせ: {note}")


def _archiver(engine: SyncEngine, settings: Settings) -> Callable[[], str]:
    def archive() -> str:
        result = archive_history(
            engine,
            engine.archive or Archive(settings.archive_url(), options=settings.sql_options()),
            after_days=settings.workbook.archive_after_days,
        )
        return result.summary()

    return archive


def run_once(engine: SyncEngine, wait_seconds: float) -> int:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            print_report(engine.run_once())
            return 0
        except LeaseHeld as exc:
            if time.monotonic() >= deadline:
                print(f"同期しませんでした: {exc}", file=sys.stderr)
                return 3
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


ARCHIVE_EVERY_SECONDS = 24 * 60 * 60
# A watch cycle commits and pushes what the malls answered within this many seconds; a mall
# still waiting (e.g. for its rate limit) is committed by a later cycle.
WATCH_FETCH_PATIENCE_SECONDS = 20.0
# Open orders re-read per mall and cycle (Yahoo! at 1 call/s: about 10 s a cycle).
WATCH_RECHECK_CHUNK = 10


# Between cycles, watch looks this often for a 今すぐ同期 request (one small read of _システム).
REQUEST_POLL_SECONDS = 5.0


def wait_for_next_cycle(engine: SyncEngine, deadline: float) -> None:
    """Sleep until ``deadline`` (time.monotonic), or until staff ask for a sync."""
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(REQUEST_POLL_SECONDS, left))
        if deadline - time.monotonic() <= 0:
            return
        try:
            if engine.sync_requested():
                print("「今すぐ同期」の依頼を受けました")
                return
        except WorkbookError:
            pass  # the cycle will report it


def _mailer(engine: SyncEngine, settings: Settings) -> Callable[[], str]:
    def send() -> str:
        try:
            report = auto_mail.run_under_lease(engine, settings)
        except (LeaseHeld, WorkbookError):
            raise  # the loop reports these as for a cycle
        except Exception as exc:  # a mail problem never stops the stock sync
            return f"自動送信メールでエラーが起きました（{exc.__class__.__name__}）。次の回に再試行します"
        for message in report.messages:
            print(message, file=sys.stderr)
        return report.summary() if report.anything else ""

    return send


def watch(
    engine: SyncEngine,
    interval: float,
    archive: Callable[[], str] | None = None,
    mails: Callable[[], str] | None = None,
    mail_every: float = 600.0,
    reconciliation: reconcile.Reconciliation | None = None,
) -> int:
    print(f"{interval:g} 秒ごとに同期します（終了は Ctrl+C）")
    archived_at: float | None = None
    mailed_at: float | None = None
    try:
        while True:
            started = time.monotonic()
            print(f"--- {datetime.now(JST):%Y-%m-%d %H:%M:%S}")
            try:
                print_report(engine.run_once())
                if mails is not None and (mailed_at is None or started - mailed_at >= mail_every):
                    mailed_at = started  # a failing pass is not retried every cycle either
                    if done := mails():  # templates with 自動送信 ON, under the same lease
                        print(done)
                if archive is not None and (
                    archived_at is None or started - archived_at >= ARCHIVE_EVERY_SECONDS
                ):
                    print(archive())  # once a day: old history out of the workbook
                    archived_at = started
                if reconciliation is not None and (done := reconciliation.step()):
                    print(done)  # every reconcile_minutes: read back, beside the cycles
            except (LeaseHeld, WorkbookError) as exc:  # reported, then tried again next time
                print(f"同期できませんでした: {exc}", file=sys.stderr)
            # A セール rule in force tightens the cadence (its 同期間隔秒, or sync.sale_interval_seconds).
            wait_for_next_cycle(engine, started + min(interval, engine.sale_interval or interval))
    except KeyboardInterrupt:
        if reconciliation is not None:
            reconciliation.close()
        with contextlib.suppress(LeaseHeld, WorkbookError):
            engine.release_lease()  # another runner (the app's 今すぐ同期) may start at once
        print("\n同期を止めました")
        return 0


def dry_run(engine: SyncEngine) -> int:
    plan = engine.plan_push()
    if not plan:
        print("送信が必要な在庫はありません")
        return 0
    print("SKU\tモール\t前回送信数\t今回送信数\t理由")
    for push in plan:
        last = "-" if push.last_quantity is None else str(push.last_quantity)
        print(f"{push.sku}\t{push.mall}\t{last}\t{push.quantity}\t{push.reason}")
    print(f"\n{len(plan)} 件の送信予定です（--dry-run のため送信していません）")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = JapaneseArgumentParser(prog="python -m sync", description="Ichigen のモール同期")
    parser.add_argument(
        "--secrets",
        type=Path,
        default=None,
        metavar="ファイル",
        help="設定ファイル（省略時は .streamlit/secrets.toml、なければ内蔵のデモ）",
    )
    parser.add_argument("--quiet", action="store_true", help="途中経過を表示しない")
    commands = parser.add_subparsers(dest="command", required=True)
    once = commands.add_parser("once", help="1回同期する（受注取込と在庫送信）")
    once.add_argument(
        "--wait", type=float, default=0.0, metavar="秒", help="他の同期が実行中なら最大この秒数だけ待つ"
    )
    watcher = commands.add_parser("watch", help="一定間隔で同期し続ける")
    watcher.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="秒",
        help="間隔（秒）。省略時は設定の sync.interval_seconds",
    )
    commands.add_parser(
        "reconcile", help="在庫照合: 各モールに表示されている在庫数を読み、違いとその原因を記録する"
    )
    pusher = commands.add_parser("push", help="在庫を送信する")
    pusher.add_argument("--dry-run", action="store_true", help="送信予定を表示するだけで送信しない")
    args = parser.parse_args(argv)

    def progress(event: Progress) -> None:
        if not args.quiet:
            print(f"[{event.stage}] {event.message}", flush=True)

    try:
        settings = load_settings_file(args.secrets, os.environ)
        settings.limits.apply()
        if args.command == "watch":
            interval = args.interval or settings.sync.interval_seconds
            try:
                engine = build_engine_when_reachable(settings, progress, interval)
            except KeyboardInterrupt:
                return 0
            engine.keep_lease = True  # one runner, cycle after cycle: no write to re-take it
            engine.fetch_patience = WATCH_FETCH_PATIENCE_SECONDS
            engine.recheck_chunk = WATCH_RECHECK_CHUNK
            return watch(
                engine,
                interval,
                _archiver(engine, settings),
                _mailer(engine, settings),
                settings.sync.auto_mail_minutes * 60,
                reconcile.Reconciliation(engine),
            )
        engine = build_engine(settings, progress)
        if args.command == "once":
            return run_once(engine, args.wait)
        if args.command == "reconcile":
            try:
                print(
                    reconcile.reconcile(engine, say=lambda text: progress(Progress("照合", text))).summary()
                )
            except LeaseHeld as exc:
                print(f"在庫照合をしませんでした: {exc}", file=sys.stderr)
                return 3
            return 0
        if args.dry_run:
            return dry_run(engine)
        return run_once(engine, 0.0)
    except (WorkbookError, SettingsError, ChannelConfigError) as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
