"""入荷: goods received, against a 発注 or without one, as ONE job each.

A receipt against a 発注 appends one 入庫 movement per line received (移動ID
``入荷:<発注番号>:<明細番号>:<入荷数 before>+<units>``), sets those lines' 入荷数 and the 発注's
ステータス (一部入荷, or 入荷済 when every line is in or staff close it short), and expects each
入荷数 cell to still hold what was read: the same receipt sent twice (a double click, a retry
after a timeout that had in fact landed) is refused the second time, so stock counts once.
Receiving more than ordered, or closing a 発注 short, needs a reason; it goes in the
movement's 備考 and the 発注's 備考.

A receipt without a 発注 carries a token the screen made when the form was shown: its movement
ID, so a second press finds the ID in the ledger and is refused.

The next sync cycle (the screen runs one at once) folds the movements into 在庫 and pushes the
new quantities to the malls; orders waiting for these goods are allocated as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import Product, PurchaseOrder, PurchaseOrderLine, StockMovement
from sheets_schema.parsing import Table
from vocabulary.statuses import OPEN_PURCHASE_STATUSES

MAX_REASON = 200


@dataclass
class Receipt:
    job: WriteJob = field(default_factory=WriteJob)
    movements: list[StockMovement] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    status: str = ""

    @property
    def units(self) -> int:
        return sum(m.quantity for m in self.movements)


def receive(
    orders: Table[Any],
    lines: Table[Any],
    ledger: Table[Any],
    number: str,
    counts: Mapping[int, int],
    *,
    reason: str = "",
    close_short: bool = False,
    seen_received: Mapping[int, int] | None = None,
    now: datetime,
) -> Receipt:
    """Units received now per 明細番号 of 発注 ``number``; ``close_short`` marks it 入荷済 even
    though some lines are still short (the supplier will not send the rest).

    ``seen_received``: 入荷済 per 明細番号 as the screen showed it when staff typed the counts. A
    receipt that landed while its screen never heard (a dropped connection, a reload) would
    otherwise be added again by the same press on a fresh read; it is refused instead."""
    receipt = Receipt()
    reason = " ".join(reason.split())
    found = orders.find_row((number,))
    order: PurchaseOrder | None = next((r.value for r in orders.records if r.row == found), None)
    if found is None or order is None:
        receipt.refused.append(
            f"発注「{number}」が発注シートにありません（入力エラーの行なら先に直してください）"
        )
        return receipt
    if order.status not in OPEN_PURCHASE_STATUSES:
        receipt.refused.append(
            f"発注「{number}」のステータスは「{order.status}」です。入荷を登録できるのは「発注済」か「一部入荷」の発注です"
        )
        return receipt
    if len(reason) > MAX_REASON:
        receipt.refused.append(f"理由は{MAX_REASON}文字以内で入力してください")
        return receipt
    its = {r.value.line_number: r for r in lines.records if r.value.number == number}
    for line_number, units in counts.items():
        if line_number not in its:
            receipt.refused.append(f"発注「{number}」に明細番号 {line_number} はありません")
        elif units < 0:
            receipt.refused.append(f"明細番号 {line_number}: 入荷数は0以上で入力してください（{units}）")
    if receipt.refused:
        return receipt
    if seen_received is not None:
        moved = [
            f"{its[n].value.sku}（入荷済 {seen_received.get(n, 0)} → {its[n].value.received}）"
            for n, units in sorted(counts.items())
            if units and its[n].value.received != seen_received.get(n, 0)
        ]
        if moved:
            receipt.refused.append(
                "画面を表示した後に、この発注の入荷が登録されています: "
                + "、".join(moved)
                + "。二重に登録しないよう、表示を確かめてから入力し直してください"
            )
            return receipt
    over = []
    after: dict[int, int] = {}
    for line_number, record in sorted(its.items()):
        line: PurchaseOrderLine = record.value
        units = counts.get(line_number, 0)
        after[line_number] = line.received + units
        if after[line_number] > line.quantity and units:
            over.append(f"{line.sku}（発注 {line.quantity}・入荷 {after[line_number]}）")
    short = [n for n, r in its.items() if after[n] < r.value.quantity]
    if over and not reason:
        receipt.refused.append(f"発注数より多く入荷しています: {'、'.join(over)}。理由を入力してください")
    if close_short and short and not reason:
        receipt.refused.append("不足のまま入荷済にするときは、理由を入力してください")
    if not any(counts.values()) and not close_short:
        receipt.refused.append("入荷数が入力されていません")
    if receipt.refused:
        return receipt
    note = f"発注 {number} の入荷" + (f"（{reason}）" if reason else "")
    for line_number, record in sorted(its.items()):
        line = record.value
        units = counts.get(line_number, 0)
        receipt.job.expect(lines, record.row, {"入荷数": line.received})  # a second press fails here
        if not units:
            continue
        receipt.job.set(lines, record.row, {"入荷数": after[line_number]})
        receipt.movements.append(
            StockMovement(
                移動ID=f"入荷:{number}:{line_number}:{line.received}+{units}",
                日時=now,
                SKU=line.sku,
                区分="入庫",
                数量=units,
                備考=note,
            )
        )
    receipt.status = "一部入荷" if short and not close_short else "入荷済"
    cells: dict[str, Any] = {"ステータス": receipt.status, "更新日時": now}
    if reason:
        stamp = f"{now:%Y-%m-%d %H:%M}"
        cells["備考"] = " ".join(filter(None, [order.note, f"【入荷】{reason} ({stamp})"]))
    receipt.job.set(orders, found, cells)
    receipt.job.append(ledger, receipt.movements)
    return receipt


def receive_unordered(
    ledger: Table[Any],
    known_ids: set[str],
    products: Mapping[str, Product],
    sku: str,
    units: int,
    *,
    reason: str,
    token: str,
    now: datetime,
) -> Receipt:
    """Goods that came without a 発注 (a sample, a replacement, stock found): one 入庫."""
    receipt = Receipt()
    reason = " ".join(reason.split())
    if sku not in products:
        receipt.refused.append(f"SKU「{sku}」は商品シートにありません")
    if units < 1:
        receipt.refused.append(f"入荷数は1以上で入力してください（{units}）")
    if not reason:
        receipt.refused.append("発注なしの入荷は、理由を入力してください（例: サンプル、交換品）")
    elif len(reason) > MAX_REASON:
        receipt.refused.append(f"理由は{MAX_REASON}文字以内で入力してください")
    movement_id = f"入荷:発注なし:{token}"
    if movement_id in known_ids:
        receipt.refused.append("この入荷はすでに登録されています（同じ画面から二度送られました）")
    if receipt.refused:
        return receipt
    receipt.movements.append(
        StockMovement(
            移動ID=movement_id, 日時=now, SKU=sku, 区分="入庫", 数量=units, 備考=f"発注なしの入荷（{reason}）"
        )
    )
    receipt.job.append(ledger, receipt.movements)
    receipt.status = "入荷済"
    return receipt


def find_product(products: Mapping[str, Product], code: str) -> Product | None:
    """What a barcode scanner (JAN) or a person (SKU) typed: JAN first, then SKU."""
    code = code.strip()
    if not code:
        return None
    for product in products.values():
        if product.jan == code:
            return product
    return products.get(code)
