"""What the purchasing screens read: the small staff tabs whole, the ledger only from its mark
(where the last cycle stopped folding it), so a receipt costs what it touches, not the shop's
history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets_schema.book import read_tables
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.parsing import Table, missing_table, parse_grid
from sheets_schema.tabs import (
    PRODUCTS,
    PURCHASE_ORDER_LINES,
    PURCHASE_ORDERS,
    STOCK,
    STOCK_MOVEMENTS,
    SUPPLIERS,
    SYSTEM_STATE,
)
from sheets_schema.workbook import Workbook
from sync import state
from sync.settlement import LEDGER_MARK

STAFF_TABS = (PRODUCTS, STOCK, SUPPLIERS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES)


@dataclass(frozen=True)
class PurchasingTables:
    products: Table[Any]
    stock: Table[Any]
    suppliers: Table[Any]
    orders: Table[Any]
    lines: Table[Any]
    ledger: Table[Any]  # 在庫移動 from the mark on: where receipts append

    def known_ids(self) -> set[str]:
        return {m.movement_id for m in self.ledger.models()}


def ledger_mark(workbook: Workbook) -> int:
    system = read_tables(workbook, [SYSTEM_STATE])[SYSTEM_STATE.title]
    return state.mark(state.values(system), LEDGER_MARK) or FIRST_DATA_ROW


def read_purchasing(workbook: Workbook) -> PurchasingTables:
    mark = ledger_mark(workbook)
    titles = [s.title for s in (*STAFF_TABS, STOCK_MOVEMENTS)]
    grids = workbook.read(titles, start_rows={STOCK_MOVEMENTS.title: mark})
    tables = {
        s.title: parse_grid(s, grids[s.title]) if s.title in grids else missing_table(s)
        for s in (*STAFF_TABS, STOCK_MOVEMENTS)
    }
    return PurchasingTables(
        products=tables[PRODUCTS.title],
        stock=tables[STOCK.title],
        suppliers=tables[SUPPLIERS.title],
        orders=tables[PURCHASE_ORDERS.title],
        lines=tables[PURCHASE_ORDER_LINES.title],
        ledger=tables[STOCK_MOVEMENTS.title],
    )


def from_tables(tables: Any) -> PurchasingTables:
    """The staff tabs from an already read snapshot (what pages show); the ledger left out (a
    page reads it fresh, from its mark, only to write)."""
    return PurchasingTables(
        products=tables[PRODUCTS.title],
        stock=tables[STOCK.title],
        suppliers=tables[SUPPLIERS.title],
        orders=tables[PURCHASE_ORDERS.title],
        lines=tables[PURCHASE_ORDER_LINES.title],
        ledger=missing_table(STOCK_MOVEMENTS),
    )
