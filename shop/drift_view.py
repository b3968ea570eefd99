"""What the 同期 page and ホーム show of the last 在庫照合 (sync/reconcile.py): the open
differences, newest first, as a table with the cause in staff's words; counts for the cards.
No Streamlit here; ``ui.drift_table`` draws with these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from sheets_schema.models import StockDrift
from sync.reconcile import READ_FAILED, RESOLVED

# Causes that are facts about a listing, not a problem to fix.
INFORMATIVE = frozenset({"未連携", "FBA", RESOLVED})

WHY = {
    "モール側で変更": "モールの管理画面などで数が変えられたようです",
    "送信失敗・未確認": "前回の送信が失敗したか、モールでの反映が確認できていません",
    "受注の取込待ち": "モールで売れた注文がまだ取り込まれていません（次の同期で直ります）",
    "未連携": "在庫連携がOFF（またはSKUの在庫行がない）ため、Ichigen は送っていません",
    "FBA": "Amazonの倉庫（FBA）の在庫です。Ichigen からは送りません",
    READ_FAILED: "モールから数を読めませんでした（エラー欄）",
}


def drifts(rows: Iterable[Any]) -> list[StockDrift]:
    """The rows still open (not 解消), problems first, then by mall and SKU."""
    found = [r for r in rows if isinstance(r, StockDrift) and r.cause != RESOLVED]
    return sorted(found, key=lambda r: (r.cause in INFORMATIVE, bool(r.done), r.mall, r.sku))


def fixable(row: StockDrift) -> bool:
    return not row.done and row.cause not in INFORMATIVE and row.cause != READ_FAILED and bool(row.sku)


def counts(rows: Iterable[Any]) -> tuple[int, int]:
    """(differences to look at, listings that could not be read) among the open rows."""
    open_rows = [r for r in drifts(rows) if r.cause not in INFORMATIVE and not r.done]
    failed = sum(1 for r in open_rows if r.cause == READ_FAILED)
    return len(open_rows) - failed, failed


def frame(rows: list[StockDrift]) -> pd.DataFrame:
    data = [
        {
            "モール": r.mall,
            "SKU": r.sku,
            "モール商品コード": r.mall_item_code,
            "モールの数": r.live,
            "販売可能数": r.available,
            "前回送信数": r.last_sent,
            "差": r.difference if r.live is not None and r.available is not None else None,
            "原因": r.cause,
            "説明": WHY.get(r.cause, ""),
            "おすすめの対応": r.fix,
            "処理": r.done,
            "エラー": r.error,
            "日時": f"{r.checked_at:%m/%d %H:%M}",
        }
        for r in rows
    ]
    table = pd.DataFrame(data, columns=list(data[0]) if data else None)
    for name in ("モールの数", "販売可能数", "前回送信数", "差"):
        if name in table:
            table[name] = table[name].astype("Int64")
    return table


def label(row: StockDrift) -> str:
    return f"{row.mall}　{row.sku}（{row.mall_item_code}）— {row.cause}、モール {row.live} / Ichigen {row.available}"


def last_text(done: datetime | None, now: datetime, minutes: int) -> str:
    if done is None:
        return f"まだ在庫照合をしていません（python -m sync watch は {minutes} 分ごとに行います）。"
    ago = max(0, int((now - done).total_seconds() // 60))
    return f"最終の在庫照合: {done:%m/%d %H:%M}（{ago} 分前）。python -m sync watch は {minutes} 分ごとに行います。"
