"""The ledger's totals as they stand now, without reading 在庫移動 from its first row.

``_台帳集計`` holds the totals of every movement before the mark (``末尾:在庫移動``); the rows
from the mark on (the tail: movements appended since the last cycle, by a receipt, a return or
a stocktake) are added on top. The tail is also where a staff action appends its movements.

The mark is read with the tabs and compared with the one the tail was read from: a cycle that
folded the tail in between would otherwise have it counted twice (in the totals and again from
the tail), so the read is simply made again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_schema.errors import StaleWorkbookError
from sheets_schema.grid import FIRST_DATA_ROW, Grid
from sheets_schema.parsing import Table, missing_table, parse_grid
from sheets_schema.tabs import LEDGER_BALANCES, STOCK_MOVEMENTS, SYSTEM_STATE
from sheets_schema.workbook import Workbook
from sync import state
from sync.ledger import DEFECTIVE_EFFECTS, EFFECTS
from sync.settlement import LEDGER_MARK

ATTEMPTS = 3


@dataclass
class LedgerNow:
    tail: Table[Any]  # 在庫移動 from the mark on: where a staff action appends
    system: Table[Any]  # _システム as read with the tail
    on_hand: Counter[str] = field(default_factory=Counter)  # 実在庫 per SKU
    allocated: Counter[str] = field(default_factory=Counter)
    defective: Counter[str] = field(default_factory=Counter)  # 不良在庫 per SKU
    tail_ids: set[str] = field(default_factory=set)
    # False before the first cycle marked the ledger: the tail is then all of it, and the
    # per-order state in _受注在庫 (if any) is not to be added to it.
    marked: bool = True


def _mark(system: Table[Any]) -> int | None:
    """The first ledger row not yet in _台帳集計; None for a workbook no cycle has marked yet
    (its totals are then rebuilt from the whole ledger, as the first cycle does)."""
    return state.mark(state.values(system), LEDGER_MARK)


def _parsed(spec: Any, grid: Grid | None) -> Table[Any]:
    return parse_grid(spec, grid) if grid is not None else missing_table(spec)


def read_ledger_now(workbook: Workbook, titles: Sequence[str] = ()) -> tuple[LedgerNow, dict[str, Grid]]:
    """The ledger's totals now, and the grids of ``titles`` read in the same request (not
    parsed: a caller that needs one order of 受注 parses only that)."""
    for _ in range(ATTEMPTS):
        system = _parsed(SYSTEM_STATE, workbook.read([SYSTEM_STATE.title]).get(SYSTEM_STATE.title))
        mark = _mark(system)
        wanted = [SYSTEM_STATE.title, LEDGER_BALANCES.title, STOCK_MOVEMENTS.title, *titles]
        grids = workbook.read(wanted, start_rows={STOCK_MOVEMENTS.title: mark or FIRST_DATA_ROW})
        again = _parsed(SYSTEM_STATE, grids.get(SYSTEM_STATE.title))
        if _mark(again) != mark:
            continue  # a cycle folded the tail between the two reads: read again
        tail = _parsed(STOCK_MOVEMENTS, grids.get(STOCK_MOVEMENTS.title))
        now = LedgerNow(tail=tail, system=again, marked=mark is not None)
        if mark is not None:
            for balance in _parsed(LEDGER_BALANCES, grids.get(LEDGER_BALANCES.title)).models():
                now.on_hand[balance.sku] += balance.on_hand
                now.allocated[balance.sku] += balance.allocated
                now.defective[balance.sku] += balance.defective
        for movement in now.tail.models():
            hand, alloc = EFFECTS[movement.kind]
            now.on_hand[movement.sku] += hand * movement.quantity
            now.allocated[movement.sku] += alloc * movement.quantity
            now.defective[movement.sku] += DEFECTIVE_EFFECTS.get(movement.kind, 0) * movement.quantity
            now.tail_ids.add(movement.movement_id)
        return now, {t: grids[t] for t in titles if t in grids}
    raise StaleWorkbookError(
        "台帳の読み取り位置が読み込み中に何度も変わりました。しばらくしてからもう一度実行してください"
    )
