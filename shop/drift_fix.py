"""The 同期 page's one-click fixes for a 在庫照合 difference (管理 only; the page checks the role).

Each fix is ONE write job that expects what the person saw in the drift table: the _在庫照合
row as shown (its 日時, モールの数, 販売可能数 and a blank 処理) and the 在庫 row's figures. A
reconciliation, a sync or another person changing any of them since stops the job with a
sentence saying to look again; a second press of the same button fails on 処理.

- こちらの数を送る: the listing's _在庫送信 record becomes 失敗 with the reason, so the push
  planner sends 販売可能数 again (「前回失敗の再送」) in the sync the page runs next.
- モールの数を受け入れる: the mall's quantity is taken as the truth. A 手動調整 movement with the
  person's reason moves 実在庫 so that 販売可能数 becomes the mall's number (the difference
  counted against 実在庫 − 引当数 − 安全在庫, so a clamped 0 is handled), and the listing's
  record says the mall shows it (確認済). The next sync folds the movement into 在庫 and sends
  the new number to the other malls. Not for sets (their stock is their components'), for
  listings Ichigen does not push (未連携, FBA) or while a セール rule shapes the quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import SetComponent, Stock, StockDrift, StockMovement
from sheets_schema.parsing import Table

MAX_REASON = 200
SEND = "こちらの数を送る"
ACCEPT = "モールの数を手動調整として受け入れる"
STALE = "表示した後に在庫照合・同期・ほかの人の操作で内容が変わったため、何もしませんでした。表を読み直してから、もう一度確認してください"


@dataclass(frozen=True)
class Seen:
    """A drift row as the table showed it."""

    mall: str
    mall_item_code: str
    mall_sku: str
    sku: str
    live: int | None
    available: int | None
    checked_at: datetime

    @classmethod
    def of(cls, row: StockDrift) -> Seen:
        return cls(
            row.mall, row.mall_item_code, row.mall_sku, row.sku, row.live, row.available, row.checked_at
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.mall, self.mall_item_code, self.mall_sku)


@dataclass
class Fix:
    job: WriteJob = field(default_factory=WriteJob)
    refused: list[str] = field(default_factory=list)
    done: str = ""


def _drift_row(drifts: Table[Any], seen: Seen, fix: Fix) -> tuple[int, StockDrift] | None:
    row = drifts.find_row(seen.key)
    value = next((r.value for r in drifts.records if r.row == row), None) if row is not None else None
    if row is None or not isinstance(value, StockDrift):
        fix.refused.append("この出品の在庫照合の行が見つかりません。表を読み直してください")
        return None
    if value.done:
        fix.refused.append(f"この差異はすでに処理済みです（{value.done}）")
        return None
    # The row as the person saw it; a later reconciliation or press changes one of these.
    fix.job.expect(
        drifts,
        row,
        {"日時": seen.checked_at, "モールの数": seen.live, "販売可能数": seen.available, "処理": ""},
    )
    return row, value


def _stock_row(stock: Table[Any], sku: str, fix: Fix) -> tuple[int, Stock] | None:
    row = stock.find_row((sku,))
    value = next((r.value for r in stock.records if r.row == row), None) if row is not None else None
    if row is None or not isinstance(value, Stock):
        fix.refused.append(
            f"在庫シートに SKU「{sku}」の行がありません（入力エラーの行なら先に直してください）"
        )
        return None
    return row, value


def send_ours(
    drifts: Table[Any], stock: Table[Any], pushes: Table[Any], seen: Seen, *, who: str, now: datetime
) -> Fix:
    fix = Fix()
    found = _drift_row(drifts, seen, fix)
    stocked = _stock_row(stock, seen.sku, fix) if found else None
    if found is None or stocked is None:
        return fix
    row, drift = found
    if drift.cause in ("未連携", "FBA"):
        fix.refused.append(f"「{drift.cause}」の出品には Ichigen から在庫数を送りません")
        return fix
    stock_row, value = stocked
    fix.job.expect(stock, stock_row, {"販売可能数": value.available})
    sent = pushes.find_row(seen.key)
    if sent is not None:  # 失敗: the planner sends it again whatever the recorded quantity
        error = f"在庫照合でモールの数（{seen.live}）が違ったため、{who} が送り直しを指示しました"
        fix.job.set(pushes, sent, {"状態": "失敗", "エラー": error}, allow_invalid=True)
    # No record at all: the planner sends it as 初回送信 anyway.
    fix.done = f"こちらの数を送信（{who} {now:%m/%d %H:%M}）"
    fix.job.set(drifts, row, {"処理": fix.done})
    return fix


def accept_mall(
    drifts: Table[Any],
    stock: Table[Any],
    pushes: Table[Any],
    ledger: Table[Any],
    sets: Table[Any],
    seen: Seen,
    reason: str,
    *,
    who: str,
    now: datetime,
    sale_active: bool = False,
) -> Fix:
    fix = Fix()
    reason = " ".join(reason.split())
    if not reason:
        fix.refused.append(
            "モールの数を受け入れる理由を入力してください（例: 楽天の管理画面で棚卸の数に直した）"
        )
    elif len(reason) > MAX_REASON:
        fix.refused.append(f"理由は{MAX_REASON}文字以内で入力してください")
    if sale_active:
        fix.refused.append(
            "セール中は送る数がセールのルールで決まるため、モールの数を在庫として受け入れられません"
        )
    if any(isinstance(r.value, SetComponent) and r.value.set_sku == seen.sku for r in sets):
        fix.refused.append(f"「{seen.sku}」はセット商品です。構成商品の実在庫を直してください")
    if seen.live is None or seen.available is None:
        fix.refused.append("モールの数か販売可能数が分からない出品には使えません")
    found = _drift_row(drifts, seen, fix)
    stocked = _stock_row(stock, seen.sku, fix)
    if fix.refused or found is None or stocked is None:
        return fix
    assert seen.live is not None
    row, drift = found
    if drift.cause in ("未連携", "FBA"):
        fix.refused.append(f"「{drift.cause}」の出品の数は Ichigen の在庫ではありません")
        return fix
    stock_row, value = stocked
    if value.available != seen.available:
        fix.refused.append(STALE)
        return fix
    fix.job.expect(
        stock,
        stock_row,
        {
            "実在庫": value.on_hand,
            "引当数": value.allocated,
            "安全在庫": value.safety_stock,
            "販売可能数": value.available,
        },
    )
    free = value.on_hand - value.allocated - value.safety_stock  # before the 0 floor
    change = seen.live - free if seen.live > 0 else max(0, free) * -1
    if change:
        movement = StockMovement(
            移動ID=f"照合:{seen.mall}:{seen.mall_item_code}:{seen.mall_sku}:{seen.checked_at:%Y%m%d%H%M%S}",
            日時=now,
            SKU=seen.sku,
            区分="手動調整",
            数量=change,
            モール=seen.mall,
            備考=f"在庫照合で{seen.mall}の数（{seen.live}）を受け入れ（{reason}、{who}）",
        )
        fix.job.append(ledger, [movement])
    sent = pushes.find_row(seen.key)
    if sent is not None:  # the mall shows this number already: nothing to send it
        fix.job.set(pushes, sent, {"送信数量": seen.live, "状態": "確認済", "エラー": ""}, allow_invalid=True)
    fix.done = f"モールの数を受け入れ（{reason}、{who} {now:%m/%d %H:%M}）"
    fix.job.set(drifts, row, {"処理": fix.done})
    return fix
