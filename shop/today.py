"""ホーム's 「今日やること」: the four questions a new shop asks first, answered with a count and
where to go — which orders need attention, what to ship today, where to change a stock
number, and whether every mall is in sync. Pure: the page passes what it has already built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shop.sync_health import ChannelHealth, when


@dataclass(frozen=True)
class Task:
    title: str
    count_text: str
    detail: str
    page: str  # the page file the button opens
    button: str
    urgent: bool


def today_tasks(
    *,
    needs_check: int,
    to_ship: int,
    oversold_skus: int,
    healths: Sequence[ChannelHealth],
    now: datetime,
    drifts: int = 0,
) -> list[Task]:
    """``drifts``: listings whose mall shows another quantity at the last 在庫照合 (open,
    not handled; sync/reconcile.py)."""
    tasks = [
        Task(
            "確認が必要な注文",
            f"{needs_check:,} 件",
            "受注ボードの「要確認」タブに、SKUが分からない明細・モールとの食い違い・在庫不足などがあります。"
            if needs_check
            else "いまはありません。",
            "pages/orders.py",
            "受注ボードを開く",
            needs_check > 0,
        ),
        Task(
            "今日の出荷",
            f"発送待ち {to_ship:,} 件",
            "注文を選んで、ピッキングリスト・納品書・送り状データを作ります。"
            if to_ship
            else "発送待ちの注文はありません。受注ボードでステータスを「発送待ち」にすると並びます。",
            "pages/shipping.py",
            "出荷を開く",
            False,
        ),
        Task(
            "在庫の数を直す",
            f"売り越し {oversold_skus:,} SKU" if oversold_skus else "売り越しなし",
            "「商品・在庫」の「在庫」タブで実在庫を書き換えて「変更を反映」。各モールへの在庫数も送れます。",
            "pages/products.py",
            "商品・在庫を開く",
            oversold_skus > 0,
        ),
        _with_drifts(_sync_task(healths, now), drifts),
    ]
    return tasks


def _with_drifts(task: Task, drifts: int) -> Task:
    """The sync card also counts 在庫照合's open differences: a mall showing another number
    than Ichigen's is what oversells (or leaves stock unsold) until someone looks."""
    if not drifts:
        return task
    note = (
        f"在庫照合で、モールの在庫数が Ichigen と違う出品が {drifts:,} 件あります（同期ページで確認・修正）。"
    )
    if task.urgent:
        return replace(task, detail=f"{task.detail}{note}")
    return replace(task, count_text=f"在庫の差異 {drifts:,} 件", detail=note, urgent=True)


def _sync_task(healths: Sequence[ChannelHealth], now: datetime) -> Task:
    active = [h for h in healths if h.channel.enabled]
    if not active:
        return Task(
            "モールとの同期",
            "モール未設定",
            "連携するモールがまだありません。",
            "pages/sync.py",
            "同期を開く",
            False,
        )
    trouble = [h for h in active if h.status[1] in ("red", "orange")]
    never = [h for h in active if h.never_synced]
    if trouble:
        names = "、".join(h.channel.display_name for h in trouble)
        return Task(
            "モールとの同期",
            f"{len(trouble)} モールで問題",
            f"{names} を確認してください。",
            "pages/sync.py",
            "同期を開く",
            True,
        )
    if never:
        return Task(
            "モールとの同期",
            "まだ同期していません",
            f"{len(never)} モールがまだ一度も同期していません。",
            "pages/sync.py",
            "同期を開く",
            False,
        )
    latest = max((h.last_pull_success for h in active if h.last_pull_success), default=None)
    return Task(
        "モールとの同期",
        f"{len(active)} モールすべて正常",
        f"最後に注文を取り込んだのは {when(latest, now)}。" if latest else "",
        "pages/sync.py",
        "同期を開く",
        False,
    )
