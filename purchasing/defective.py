"""不良在庫 handled by staff, one movement per action, each as ONE job:

- 不良処分: defective units disposed of or sent back to the supplier (−不良在庫);
- 不良振替: a sellable unit found defective on the shelf (−実在庫, +不良在庫).

The form carries a token made when it was shown (the movement ID is ``<区分>:<token>``) and the
不良在庫 it showed. A second press before the next cycle finds its ID in the ledger's tail; after
the cycle folded the first, 不良在庫 no longer reads as shown. Either way it is refused, so the
units move once. (実在庫 is not compared: every sale changes it, and the check is only that
the units are there.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from purchasing.ledger_now import LedgerNow
from sheets_schema.changes import WriteJob
from sheets_schema.models import Product, StockMovement
from vocabulary import limits

DISPOSE, MARK = "不良処分", "不良振替"
MAX_REASON = 200


@dataclass
class DefectiveResult:
    job: WriteJob = field(default_factory=WriteJob)
    movement: StockMovement | None = None
    refused: list[str] = field(default_factory=list)


def move_defective(
    ledger: LedgerNow,
    products: Mapping[str, Product],
    kind: str,
    sku: str,
    units: int,
    *,
    reason: str,
    seen_defective: int,
    token: str,
    now: datetime,
) -> DefectiveResult:
    """``kind`` is 不良処分 or 不良振替; ``seen_defective`` the SKU's 不良在庫 the form showed."""
    result = DefectiveResult()
    refused = result.refused
    reason = " ".join(reason.split())
    if kind not in (DISPOSE, MARK):
        raise ValueError(kind)
    if sku not in products:
        refused.append(f"SKU「{sku}」は商品シートにありません")
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        refused.append(f"数量は1以上の整数で入力してください（{units}）")
    elif limits.quantity_problem(units):
        refused.append(limits.quantity_problem(units))
    if not reason:
        example = "廃棄、仕入先へ返送" if kind == DISPOSE else "検品で傷を発見"
        refused.append(f"理由を入力してください（例: {example}）")
    elif len(reason) > MAX_REASON:
        refused.append(f"理由は{MAX_REASON}文字以内で入力してください")
    movement_id = f"{kind}:{token}"
    if movement_id in ledger.tail_ids:
        refused.append(f"この{kind}はすでに登録されています（同じ画面から二度送られました）")
    if refused:
        return result
    defective, on_hand = ledger.defective[sku], ledger.on_hand[sku]
    if defective != seen_defective:
        refused.append(
            f"SKU「{sku}」の不良在庫が画面を表示した後に変わりました（表示したときは {seen_defective}、"
            f"今は {defective}）。二重登録を防ぐため登録しませんでした。最新の内容を確かめてください"
        )
    elif kind == DISPOSE and units > defective:
        refused.append(
            f"SKU「{sku}」の不良在庫は {defective} 個です。それより多くは処分できません（{units}）"
        )
    elif kind == MARK and units > on_hand:
        refused.append(
            f"SKU「{sku}」の実在庫は {on_hand} 個です。それより多くは不良に振り替えられません（{units}）"
        )
    if refused:
        return result
    result.movement = StockMovement(
        移動ID=movement_id, 日時=now, SKU=sku, 区分=kind, 数量=units, 備考=f"{kind}: {reason}"
    )
    result.job.append(ledger.tail, [result.movement])
    return result
