"""The 商品・在庫 page's pure parts: grid widths and help, the edit fingerprint, error lists,
the conflict sentence, and the stock push that follows a stock change (its rows, preview and
outcome). No Streamlit here; ``ui.product_editor`` and ``ui.stock_push`` draw with these."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from sheets_schema.errors import CellConflict
from vocabulary.text import escape_markdown

WIDTHS = {
    "SKU": 130,
    "商品名": 230,
    "販売価格": 90,
    "原価": 80,
    "JANコード": 118,
    "仕入先": 150,
    "発注点": 66,
    "発注ロット": 80,
    "リードタイム日数": 112,
    "メモ": 160,
    "実在庫": 80,
    "引当数": 70,
    "安全在庫": 92,
    "販売可能数": 92,
    "更新日時": 150,
}
HELP = {
    "SKU": "商品を見分けるコードです。既存の行のSKUは変更できません。",
    "実在庫": "倉庫にある数。変えると差が「手動調整」として在庫移動に記録されます。",
    "安全在庫": "モールに出さずに残しておく数です。",
    "引当数": "未出荷の注文で確保している数（Ichigen が計算）。",
    "販売可能数": "実在庫 − 引当数 − 安全在庫（0未満は0）。この数をモールへ送ります。",
    "更新日時": "Ichigen が在庫を最後に書いた日時です。",
    "商品名": "「商品」シートの商品名（ここでは変更できません）。",
}
PUSH_COLUMNS = ["SKU", "モール", "前回送信数", "今回送信数", "理由"]
ERRORS_SHOWN = 30


def fingerprint(diff: dict[str, Any]) -> str:
    """One string per data_editor diff: the review dialog belongs to the diff it was opened on."""
    return json.dumps(diff, sort_keys=True, ensure_ascii=False, default=str)


def error_list(errors: Sequence[object], escape: Callable[[object], str] = str) -> str:
    """The first 30 errors as a markdown list, and how many more there are."""
    lines = "\n".join(f"- {escape(e)}" for e in errors[:ERRORS_SHOWN])
    more = f"\n- …ほか {len(errors) - ERRORS_SHOWN} 件" if len(errors) > ERRORS_SHOWN else ""
    return lines + more


def conflict_message(exc: CellConflict, loaded: str, retry: str) -> str:
    """Someone saved over the same cell since this person loaded it: what they saw, what is there now."""
    return (
        f"ほかの人（または同期）が、{loaded}後に「{exc.tab}」シート {exc.row}行目の"
        f"「{escape_markdown(exc.column)}」列を変更しました。"
        f"読み込んだときは「{escape_markdown(exc.loaded) or '（空欄）'}」、"
        f"今は「{escape_markdown(exc.now) or '（空欄）'}」です。上書きしないよう、何も書き込んでいません。"
        + retry
    )


def push_plan_rows(planned: Iterable[Any]) -> list[dict[str, Any]]:
    """The sync engine's planned pushes as the rows the push panel shows."""
    return [
        {
            "SKU": p.sku,
            "モール": p.mall,
            "前回送信数": "—" if p.last_quantity is None else f"{p.last_quantity:,}",
            "今回送信数": p.quantity,
            "理由": p.reason,
        }
        for p in planned
    ]


def push_preview(plan: pd.DataFrame, keys: Iterable[str]) -> tuple[pd.DataFrame, str]:
    """The planned pushes of the changed SKUs (all of them when none is), and the caption."""
    ours = plan[plan["SKU"].isin(set(keys))].sort_values("SKU", kind="stable")
    others = len(plan) - len(ours)
    extra = f"。ほかに送信待ちの {others} 件も一緒に送ります" if others else ""
    caption = f"変更した SKU の送信予定 {len(ours)} 件{extra}。"
    return (ours if not ours.empty else plan), caption


def push_outcome(pushes: Sequence[Any]) -> list[tuple[str, str]]:
    """What a send did, as (kind, message) lines: the count per mall, then up to 5 failures."""
    by_mall: dict[str, list[int]] = {}
    for pushed in pushes:
        by_mall.setdefault(pushed.mall, [0, 0])[0 if pushed.ok else 1] += 1
    ok = sum(counts[0] for counts in by_mall.values())
    detail = "・".join(f"{mall} {counts[0]} 件" for mall, counts in by_mall.items())
    lines = [("ok", f"{ok} 件の在庫数をモールへ送信しました" + (f"（{detail}）" if detail else ""))]
    if not pushes:
        lines = [("ok", "送信が必要な在庫数はありませんでした。")]
    for pushed in [r for r in pushes if not r.ok][:5]:
        lines.append(
            (
                "warn",
                f"{pushed.mall} {pushed.sku}: 送信できませんでした（{pushed.error}）。次の同期で再送します",
            )
        )
    return lines
