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
from sync.sets import SetBook, buildable


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


def _set_on_hand_refused(title: str, row: int, sku: str, typed: int) -> str:
    return (
        f"「{title}」シート {row}行目「実在庫」列: 「{sku}」はセット商品です。セット商品は自分の在庫を持たず、"
        "販売可能数は構成SKUの在庫から計算します。構成SKUの実在庫を変更し、この欄は 0 に戻してください"
        f"（入力値: 「{typed}」。在庫には反映していません）"
    )


def staff_movements(
    stock: Table[Any],
    records: Table[Any],
    ledger: Ledger,
    at: datetime,
    sets: SetBook | None = None,
    refused: dict[str, str] | None = None,
) -> list[StockMovement]:
    """手動調整 (and a first 棚卸) for what people changed since Ichigen last wrote 在庫.

    A set's 実在庫 typed by a person is refused (``refused``: set SKU -> the Japanese error
    naming the row), never silently ignored: sets hold no stock. Only 0 is taken, which clears
    stock the SKU held in the ledger before it became a set."""
    last: dict[str, StockRecord] = {r.value.sku: r.value for r in records}
    stamp = at.strftime("%Y%m%d%H%M%S")
    movements = []
    doubled = key_trouble(stock).duplicates
    for record in stock:
        row: Stock = record.value
        if row.sku in doubled:
            continue  # which row's count is meant is for a person to say
        before = last.get(row.sku)
        if sets is not None and sets.is_set(row.sku):
            shown = before.on_hand if before is not None else ledger.on_hand[row.sku]
            if row.on_hand != shown and row.on_hand != 0:
                # Its _在庫記録 stays as it was, so the row is reported until it is put right.
                if refused is not None:
                    refused[row.sku] = _set_on_hand_refused(stock.title, record.row, row.sku, row.on_hand)
                continue
            if before is None:
                continue  # a set's row seen first: it holds no stock, nothing to count
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
    sets: SetBook | None = None,
    refused: dict[str, str] | None = None,
) -> StockOutcome:
    """Write 実在庫/引当数/販売可能数 from the ledger for every valid 在庫 row that changed.

    A SKU in 商品 without a 在庫 row gets one, so a new product is counted from its first order.
    Sets (sync/sets.py) come after every other SKU: their 販売可能数 is built from their
    components' as this job leaves them, so any component's movement re-plans the set's
    listings. ``refused``: sets whose 実在庫 a person typed (staff_movements): that cell is
    left as typed and reported, never overwritten nor taken into the ledger.
    """
    sets = sets or SetBook()
    refused = refused or {}
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
    outcome.problems.extend(sets.problems)
    last: dict[str, tuple[int, StockRecord]] = {r.value.sku: (r.row, r.value) for r in records}
    new_records: list[dict[str, Any]] = []
    set_rows = []
    for record in stock:
        row: Stock = record.value
        if row.sku in trouble.duplicates:
            continue
        if sets.is_set(row.sku):
            set_rows.append(record)
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
        _keep_record(job, records, last, new_records, row.sku, on_hand, row.safety_stock, at)
    new_stock = []
    missing = [sku for sku in products if not trouble.blank and stock.find_row((sku,)) is None]
    for sku in missing:
        if sets.is_set(sku):
            continue
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
    # Sets last: every component's 販売可能数 is known by now.
    for record in set_rows:
        row = record.value
        free = _set_available(row.sku, row.safety_stock, sets, outcome)
        on_hand, allocated = ledger.on_hand[row.sku], max(0, ledger.allocated[row.sku])
        if row.sku in refused:
            outcome.problems.append(refused[row.sku])
            on_hand = row.on_hand  # left as typed: reported, not overwritten
        elif on_hand:
            outcome.problems.append(
                f"「{stock.title}」シート {record.row}行目「実在庫」列: セット商品「{row.sku}」の台帳に、"
                f"セットになる前の実在庫 {on_hand} が残っています。棚に残っている分は構成SKUの実在庫に"
                "足してから、この欄を 0 にしてください"
            )
        shown = row.available if free is None else free
        if (row.on_hand, row.allocated, row.available) != (on_hand, allocated, shown):
            job.set(
                stock,
                record.row,
                {"実在庫": on_hand, "引当数": allocated, "販売可能数": shown, "更新日時": at},
            )
            outcome.changed.add(row.sku)
        if row.sku not in refused:
            _keep_record(job, records, last, new_records, row.sku, on_hand, row.safety_stock, at)
    for sku in missing:
        if not sets.is_set(sku):
            continue
        free = _set_available(sku, 0, sets, outcome)
        on_hand, allocated = ledger.on_hand[sku], max(0, ledger.allocated[sku])
        new_stock.append(
            {
                "SKU": sku,
                "実在庫": on_hand,
                "引当数": allocated,
                "安全在庫": 0,
                "販売可能数": free or 0,
                "更新日時": at,
            }
        )
        new_records.append({"SKU": sku, "実在庫": on_hand, "安全在庫": 0, "更新日時": at})
        outcome.changed.add(sku)
    if sets.unreadable:
        outcome.available.clear()  # which SKUs are sets is not known: nothing is pushed
    if new_stock:
        job.append(stock, new_stock)
    if new_records:
        job.append(records, new_records)
    troubled = set(trouble.blank) | {r for rows in trouble.duplicates.values() for r in rows}
    for error_row in sorted(stock.invalid_rows - troubled):
        outcome.skipped.append(f"在庫シート {error_row}行目は入力エラーのため更新していません")
    outcome.skipped.extend(outcome.problems)
    return outcome


def _set_available(sku: str, safety_stock: int, sets: SetBook, outcome: StockOutcome) -> int | None:
    """A set's 販売可能数 (also recorded in ``outcome.available`` to be pushed), or None when it
    cannot be known: the set is broken, or a component's 在庫 row was not read this job."""
    composition = sets.compositions.get(sku)
    built = buildable(composition, outcome.available) if composition is not None else None
    if built is None:
        why = sets.broken.get(sku) or "構成SKUの在庫の行に誤りがあります"
        outcome.problems.append(
            f"セット商品「{sku}」の販売可能数を計算できないため、モールへ送っていません（{why}）"
        )
        return None
    free = max(0, built - safety_stock)
    outcome.available[sku] = free
    return free


def _keep_record(
    job: WriteJob,
    records: Table[Any],
    last: dict[str, tuple[int, StockRecord]],
    new_records: list[dict[str, Any]],
    sku: str,
    on_hand: int,
    safety_stock: int,
    at: datetime,
) -> None:
    """_在庫記録: what Ichigen wrote to 在庫, to tell a person's next change apart."""
    previous = last.get(sku)
    cells = {"実在庫": on_hand, "安全在庫": safety_stock, "更新日時": at}
    if previous is None:
        new_records.append({"SKU": sku, **cells})
    elif (previous[1].on_hand, previous[1].safety_stock) != (on_hand, safety_stock):
        job.set(records, previous[0], cells, allow_invalid=True)
