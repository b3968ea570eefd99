"""在庫 from the ledger, with staff edits turned into movements instead of being overwritten.

A person's change to 実在庫 or 安全在庫 is found by comparing the sheet with what Ichigen last
wrote there (the hidden _在庫記録 tab). The difference becomes a 手動調整 movement, so it is
kept in the ledger, and 実在庫 is then written back as the ledger's total.

A 在庫 row whose SKU cannot be trusted stops stock for what it may belong to: a SKU on two rows
is neither written nor pushed (which row is right is for a person to say), and while a row's
SKU cell is blank no 在庫 row is added for anything (the blank row may well be the missing SKU's:
a second row with 安全在庫 0 would push too much). A broken header stops 在庫 altogether. Orders
still import; the problem is reported with sheet, row and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import Stock, StockMovement, StockRecord
from sheets_schema.parsing import Table
from sync.ledger import Ledger


def available(on_hand: int, allocated: int, safety_stock: int) -> int:
    return max(0, on_hand - allocated - safety_stock)


@dataclass
class StockOutcome:
    movements: list[StockMovement] = field(default_factory=list)
    available: dict[str, int] = field(default_factory=dict)  # SKU -> 販売可能数 after the job
    changed: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # Japanese notes for the log
    # Why 在庫 (or some SKUs of it) was not written or pushed: for the 同期ログ, one per problem.
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class KeyTrouble:
    """在庫 rows whose SKU cannot be trusted."""

    duplicates: dict[str, list[int]]  # SKU -> every row that has it
    blank: list[int]  # rows with content but no SKU

    def __bool__(self) -> bool:
        return bool(self.duplicates or self.blank)

    def messages(self, title: str) -> list[str]:
        found = [
            f"「{title}」シート {row}行目「SKU」列が空欄です。SKUを入れ直すまで、在庫の行の追加と"
            "新しいSKUの在庫送信を止めています"
            for row in self.blank
        ]
        for sku, rows in self.duplicates.items():
            where = "・".join(str(r) for r in rows)
            found.append(
                f"「{title}」シート {where}行目「SKU」列: SKU「{sku}」が複数の行にあります。"
                "1行にまとめるまで、このSKUの在庫は更新もモールへの送信もしません"
            )
        return found


def key_trouble(stock: Table[Any]) -> KeyTrouble:
    """Blank and doubled SKU cells of 在庫, from the raw cells (a row with any other error still
    says which SKU it is, so it is not trouble here)."""
    if not stock.writable:
        return KeyTrouble({}, [])
    rows: dict[str, list[int]] = {}
    blank = []
    first = stock.grid.first_row
    for index, cells in enumerate(stock.grid.rows):
        if not "".join(cells).strip():
            continue
        row = index + first
        (sku,) = stock.key_of(row)
        if sku:
            rows.setdefault(sku, []).append(row)
        else:
            blank.append(row)
    return KeyTrouble({sku: found for sku, found in rows.items() if len(found) > 1}, blank)


def staff_movements(
    stock: Table[Any], records: Table[Any], ledger: Ledger, at: datetime
) -> list[StockMovement]:
    """手動調整 (and a first 棚卸) for what people changed since Ichigen last wrote 在庫."""
    last: dict[str, StockRecord] = {r.value.sku: r.value for r in records}
    stamp = at.strftime("%Y%m%d%H%M%S")
    movements = []
    doubled = key_trouble(stock).duplicates
    for record in stock:
        row: Stock = record.value
        if row.sku in doubled:
            continue  # which row's count is meant is for a person to say
        before = last.get(row.sku)
        if before is None:
            # First sight of this SKU: the sheet is the truth, the ledger catches up once.
            delta = row.on_hand - ledger.on_hand[row.sku]
            if delta:
                movements.append(
                    _adjust(
                        "棚卸",
                        f"棚卸:初期:{row.sku}",
                        row.sku,
                        delta,
                        at,
                        "Ichigenの記録を在庫シートの実在庫に合わせました",
                    )
                )
            continue
        if row.on_hand != before.on_hand:
            note = f"実在庫を {before.on_hand} → {row.on_hand} に変更（シートで手入力）"
            movements.append(
                _adjust(
                    "手動調整", f"手動調整:{row.sku}:{stamp}", row.sku, row.on_hand - before.on_hand, at, note
                )
            )
        if row.safety_stock != before.safety_stock:
            note = f"安全在庫を {before.safety_stock} → {row.safety_stock} に変更（シートで手入力）"
            movements.append(_adjust("手動調整", f"安全在庫:{row.sku}:{stamp}", row.sku, 0, at, note))
    return movements


def _adjust(kind: str, movement_id: str, sku: str, quantity: int, at: datetime, note: str) -> StockMovement:
    return StockMovement(移動ID=movement_id, 日時=at, SKU=sku, 区分=kind, 数量=quantity, 備考=note)


def write_stock(
    job: WriteJob,
    stock: Table[Any],
    records: Table[Any],
    ledger: Ledger,
    at: datetime,
    products: Iterable[str] = (),
) -> StockOutcome:
    """Write 実在庫/引当数/販売可能数 from the ledger for every valid 在庫 row that changed.

    A SKU in 商品 without a 在庫 row gets one, so a new product is counted from its first order.
    """
    outcome = StockOutcome()
    if not stock.writable:
        outcome.problems.append(
            f"「{stock.title}」シートを読めないため、在庫の更新とモールへの在庫送信をしていません"
            f"（{'／'.join(stock.header_problems)}）。受注の取り込みは続けています"
        )
        outcome.skipped.extend(outcome.problems)
        return outcome
    trouble = key_trouble(stock)
    outcome.problems.extend(trouble.messages(stock.title))
    last: dict[str, tuple[int, StockRecord]] = {r.value.sku: (r.row, r.value) for r in records}
    new_records = []
    for record in stock:
        row: Stock = record.value
        if row.sku in trouble.duplicates:
            continue
        on_hand = ledger.on_hand[row.sku]
        allocated = max(0, ledger.allocated[row.sku])
        defective = max(0, ledger.defective[row.sku])
        free = available(on_hand, allocated, row.safety_stock)
        outcome.available[row.sku] = free
        if (row.on_hand, row.allocated, row.available, row.defective) != (
            on_hand,
            allocated,
            free,
            defective,
        ):
            cells = {"実在庫": on_hand, "引当数": allocated, "販売可能数": free, "更新日時": at}
            if row.defective != defective:
                cells["不良在庫"] = defective
            job.set(stock, record.row, cells)
            outcome.changed.add(row.sku)
        previous = last.get(row.sku)
        cells = {"実在庫": on_hand, "安全在庫": row.safety_stock, "更新日時": at}
        if previous is None:
            new_records.append({"SKU": row.sku, **cells})
        elif (previous[1].on_hand, previous[1].safety_stock) != (on_hand, row.safety_stock):
            job.set(records, previous[0], cells, allow_invalid=True)
    new_stock = []
    for sku in products if not trouble.blank else ():
        if stock.find_row((sku,)) is None:
            on_hand, allocated = ledger.on_hand[sku], max(0, ledger.allocated[sku])
            free = available(on_hand, allocated, 0)
            new_stock.append(
                {
                    "SKU": sku,
                    "実在庫": on_hand,
                    "引当数": allocated,
                    "安全在庫": 0,
                    "販売可能数": free,
                    "更新日時": at,
                }
            )
            new_records.append({"SKU": sku, "実在庫": on_hand, "安全在庫": 0, "更新日時": at})
            outcome.available[sku] = free
            outcome.changed.add(sku)
    if new_stock:
        job.append(stock, new_stock)
    if new_records:
        job.append(records, new_records)
    troubled = set(trouble.blank) | {r for rows in trouble.duplicates.values() for r in rows}
    for error_row in sorted(stock.invalid_rows - troubled):
        outcome.skipped.append(f"在庫シート {error_row}行目は入力エラーのため更新していません")
    outcome.skipped.extend(outcome.problems)
    return outcome
