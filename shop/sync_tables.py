"""The 同期 page's tables and help texts: the recent log (``log_rows``), the push preview
(``plan_rows``), what a finished 今すぐ同期 did (``cycle_summary``), and the words under each
count (``COUNT_HELP``, ``CARD_HELP``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shop.sync_health import PULL, Channel, LoggedRun
from shop.sync_words import format_jst
from sync.engine import CycleReport
from sync.push import PlannedPush

# -- tables for the page


def log_rows(runs: Sequence[LoggedRun], channels: Sequence[Channel], limit: int = 50) -> list[dict[str, Any]]:
    """The latest 同期ログ rows, newest first, with the channel's name instead of its key."""
    names = {c.channel: c.display_name for c in channels}
    return [
        {
            "日時": format_jst(run.started_at, seconds=True),
            "処理": f"{run.job}（{names.get(run.channel, run.channel)}）",
            "モール": run.mall,
            "結果": run.result,
            "取得件数": run.fetched,
            "新規": run.created,
            "更新": run.updated,
            "変更なし": run.duplicates_skipped,
            "失敗": run.failed,
            "エラー内容": run.error,
        }
        for run in reversed(runs[-limit:])  # the tab is append-only: the last rows are the newest
    ]


# What each count means, for the help line under a card and the 同期ログ's column headers.
COUNT_HELP: dict[str, str] = {
    "取得件数": "モールから受け取った注文（在庫送信では、送った在庫数）の数",
    "新規": "初めて取り込んだ注文の数",
    "更新": "取り込み済みの注文で、モールで変わった内容（キャンセル・住所など）を反映した数"
    "（在庫送信では、モールが受け付けた数）",
    "変更なし": "前に取り込んだときと同じ内容だったため、何もしなかった注文の数",
    "失敗": "取り込めなかった注文（在庫送信では、送れなかった在庫数）の数。理由はエラー内容に",
}
CARD_HELP = (
    "取得: モールから受け取った注文の数。新規: 初めての注文。更新: モールで変わった注文。"
    "変更なし: 前と同じ内容の注文。在庫送信の「受付」は、モールが受け付けた在庫数の数です。"
    "「取り込んだ範囲」より後の注文を、次の同期で取り込みます。"
)


def plan_rows(plan: Sequence[PlannedPush]) -> list[dict[str, Any]]:
    """The dry-run push preview: SKU, モール, 前回送信数, 今回送信数, 理由."""
    return [
        {
            "SKU": p.sku,
            "モール": p.mall,
            "前回送信数": p.last_quantity,
            "今回送信数": p.quantity,
            "理由": f"{p.reason}（セール: {p.why}）" if p.why else p.reason,
        }
        for p in sorted(plan, key=lambda p: (p.mall, p.sku))
    ]


@dataclass(frozen=True)
class CycleSummary:
    created: int
    lines: list[str]  # what happened, one line per mall
    errors: list[str]  # one line per problem, naming the mall


def cycle_summary(report: CycleReport, channels: Sequence[Channel]) -> CycleSummary:
    """What 今すぐ同期 did: new orders per mall, stock pushes per mall, errors."""
    names = {c.channel: c.display_name for c in channels}
    lines: list[str] = []
    errors: list[str] = []
    pulled: dict[str, list[int]] = {}
    for run in report.runs:
        name = names.get(run.channel, run.channel)
        if run.job != PULL:
            continue
        counts = pulled.setdefault(name, [0, 0, 0])
        counts[0] += run.created
        counts[1] += run.updated
        counts[2] += run.fetched
        if run.error:
            message = f"{name}: {run.error}"
            if message not in errors:
                errors.append(message)
    for name, (created, updated, fetched) in pulled.items():
        lines.append(f"{name}: 新規の注文 {created} 件（更新 {updated} 件、取得 {fetched} 件）")
    sent: dict[str, list[int]] = {}
    for result in report.pushes:
        counts = sent.setdefault(result.mall, [0, 0])
        counts[0 if result.ok else 1] += 1
        if not result.ok and result.error:
            message = f"在庫送信（{result.mall}）: {result.error}"
            if message not in errors:
                errors.append(message)
    for mall, (ok, failed) in sent.items():
        lines.append(f"在庫送信（{mall}）: {ok} 件" + (f"、失敗 {failed} 件" if failed else ""))
    if not sent:
        lines.append("在庫数の送信はありませんでした（どのモールも最新の数です）")
    return CycleSummary(report.created, lines, errors)
