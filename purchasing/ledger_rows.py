"""The ledger (在庫移動) as valuation and return counts need it, read straight from its cells.

A busy shop's ledger holds ~100,000 rows between archive passes, and a page rebuilds its views
after every workbook read: parsing each row into a pydantic model (~6 µs) and folding it costs
seconds. Ichigen writes every ledger row in one exact form, so ``ledger_rows`` decodes the few
cells it needs from the raw grid when *every* row is in that form (identifiers without
surrounding spaces, 'YYYY-MM-DD HH:MM:SS', a known 区分, ASCII integers within the limits, no
移動ID twice). A form pydantic accepts is then valid and means the same, so the rows are
exactly those ``parse_grid`` would return. Anything else (a cell typed by hand, a duplicate,
a header problem) and the whole tab is parsed the normal way instead: same answer, slower.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from sheets_schema.grid import Grid, no_gc
from sheets_schema.models import StockMovement
from sheets_schema.parsing import header_problems, parse_grid
from sheets_schema.tabs import STOCK_MOVEMENTS
from vocabulary import limits
from vocabulary.jst import JST
from vocabulary.statuses import MOVEMENT_KINDS

_AT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_KINDS = frozenset(MOVEMENT_KINDS)
_DIGITS = frozenset("-0123456789")


class LedgerRow(NamedTuple):
    movement_id: str
    at: str  # 'YYYY-MM-DD HH:MM:SS', JST: sorts as time, [:7] is the month, [:10] the day
    sku: str
    kind: str
    quantity: int
    mall: str
    has_order: bool  # 注文番号 set: a movement of an order line


def from_movement(m: StockMovement) -> LedgerRow:
    at = m.at.astimezone(JST) if m.at.tzinfo else m.at
    return LedgerRow(
        m.movement_id, f"{at:%Y-%m-%d %H:%M:%S}", m.sku, m.kind, m.quantity, m.mall, bool(m.order_number)
    )


def from_movements(movements: Iterable[StockMovement]) -> list[LedgerRow]:
    return [from_movement(m) for m in movements]


class _NotCanonical(Exception):
    """A row not in Ichigen's own form: parse the tab the normal way."""


def ledger_rows(grid: Grid | None) -> list[LedgerRow]:
    """Every valid ledger row in ledger order (None: no ledger tab, no rows)."""
    if grid is None:
        return []
    try:
        with no_gc():  # 100,000 small tuples and no cycle: nothing for the collector to find
            return _fast(grid)
    except _NotCanonical:
        return from_movements(parse_grid(STOCK_MOVEMENTS, grid).models())


def _fast(grid: Grid) -> list[LedgerRow]:
    """Column by column (C-speed builtins over whole columns, not Python per cell)."""
    if header_problems(STOCK_MOVEMENTS, grid.header):
        raise _NotCanonical
    where = {h: grid.header.index(h) for h in STOCK_MOVEMENTS.headers}
    rows = grid.rows
    if not all(row[where["移動ID"]] for row in rows):
        rows = [row for row in rows if row[where["移動ID"]] or "".join(row).strip()]  # blank lines
    ids, at, skus, kinds, quantities, malls, numbers, lines = (
        list(map(itemgetter(where[h]), rows))
        for h in ("移動ID", "日時", "SKU", "区分", "数量", "モール", "注文番号", "明細番号")
    )
    if not (
        all(ids)
        and ids == list(map(str.strip, ids))
        and len(set(ids)) == len(ids)
        and all(skus)
        and skus == list(map(str.strip, skus))
        and set(kinds) <= _KINDS
        and numbers == list(map(str.strip, numbers))
        and all(map(_AT.fullmatch, set(at)))
    ):
        raise _NotCanonical
    units = _integers(quantities)
    _integers([n for n in lines if n])
    for when in set(at):
        try:
            datetime.fromisoformat(when)
        except ValueError:
            raise _NotCanonical from None
    shaped = zip(ids, at, skus, kinds, units, map(str.strip, malls), map(bool, numbers), strict=True)
    return list(map(LedgerRow._make, shaped))


def _integers(texts: list[str]) -> list[int]:
    """Integers as Ichigen writes them (ASCII digits, maybe a leading minus) within the limits."""
    if not set("".join(texts)) <= _DIGITS:
        raise _NotCanonical
    try:
        numbers = list(map(int, texts))
    except ValueError:  # blank, a lone or inner minus
        raise _NotCanonical from None
    if numbers and max(map(abs, numbers)) > limits.current().max_quantity:
        raise _NotCanonical
    return numbers
