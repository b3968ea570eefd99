"""The 受注ボード's data, built once per workbook read: ``build_board(tables)`` makes one linear
pass over 受注 and 受注明細 and a few vectorised pandas operations (the page caches it with
``context.derived``). Everything a rerun does (filters, the detail of one order) works on that
result, so a filter change costs a few boolean masks, not a rebuild. ``build_history`` indexes
the stock ledger and the sync log by order, only when an order's detail needs them."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pandas as pd

from sheets_schema.models import Order, OrderLine, StockMovement, SyncLog
from sheets_schema.parsing import RowError, Table
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, STOCK_MOVEMENTS, SYNC_LOG
from shop.orders.frame import OrderKey, keys_of, order_frame
from shop.orders.review import QueueItem, review_queue
from shop.orders.unknown_skus import UnknownItem, unknown_items


@dataclass
class Board:
    # One row per valid order, newest first: LIST_COLUMNS plus hidden helper columns (_...).
    frame: pd.DataFrame
    orders: dict[OrderKey, Order]
    lines: dict[OrderKey, list[OrderLine]]
    products: dict[str, str]  # SKU -> 商品名
    # Orders with an input error in 受注明細: sync leaves them alone, so do status changes.
    blocked: set[OrderKey]
    queue: list[QueueItem]
    unknown_items: list[UnknownItem]
    input_errors: list[RowError] = field(default_factory=list)
    # True for orders found in the archive database: read-only, shown with their archived rows.
    archived: bool = False

    @property
    def malls(self) -> list[str]:
        return sorted(self.frame["モール"].unique().tolist()) if len(self.frame) else []

    @property
    def queue_orders(self) -> int:
        return len({item.key for item in self.queue})


def _models(tables: Mapping[str, Table[Any]], title: str) -> list[Any]:
    table = tables.get(title)
    return table.models() if table is not None else []


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The build allocates a few hundred thousand small objects next to a parsed workbook of
    millions: each full pass of the cyclic collector would walk all of them for nothing (the
    build makes no cycles). Reference counting still frees memory meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_board(tables: Mapping[str, Table[Any]]) -> Board:
    with _collector_paused():
        return _build_board(tables)


def _build_board(tables: Mapping[str, Table[Any]]) -> Board:
    orders: list[Order] = _models(tables, ORDERS.title)
    lines: dict[OrderKey, list[OrderLine]] = defaultdict(list)
    for line in _models(tables, ORDER_LINES.title):
        lines[(line.mall, line.order_number)].append(line)
    by_number = attrgetter("line_number")
    for group in lines.values():
        if len(group) > 1:
            group.sort(key=by_number)
    products = {p.sku: p.name for p in _models(tables, PRODUCTS.title)}

    blocked: set[OrderKey] = set()
    errors: list[RowError] = []
    for title in (ORDERS.title, ORDER_LINES.title):
        table = tables.get(title)
        if table is None:
            continue
        errors.extend(table.errors)
        if title == ORDER_LINES.title and table.writable:
            for row in table.invalid_rows:
                mall, number, _ = table.key_of(row)
                blocked.add((mall, number))

    frame = order_frame(orders, lines)
    board = Board(
        frame=frame,
        orders={(o.mall, o.order_number): o for o in orders},
        lines=dict(lines),
        products=products,
        blocked=blocked,
        queue=[],
        unknown_items=[],
        input_errors=errors,
    )
    board.queue = review_queue(frame, board.orders, errors, tables)
    board.unknown_items = unknown_items(board.lines, board.orders, blocked)
    kinds: dict[OrderKey, list[str]] = defaultdict(list)
    for item in board.queue:
        if item.kind not in kinds[item.key]:
            kinds[item.key].append(item.kind)
    frame["_queue"] = pd.Series(
        ["・".join(kinds.get(key, ())) for key in keys_of(frame)], index=frame.index, dtype="object"
    )
    return board


@dataclass
class History:
    """The stock ledger and the sync log indexed by order: only an order's detail needs them,
    so the page builds this (parsing the two largest tabs) only when a detail is shown."""

    movements: dict[OrderKey, list[StockMovement]]
    sync_runs: dict[str, list[SyncLog]]  # mall -> 受注取込 runs, oldest first


def build_history(tables: Mapping[str, Table[Any]]) -> History:
    with _collector_paused():
        movements: dict[OrderKey, list[StockMovement]] = defaultdict(list)
        for movement in _models(tables, STOCK_MOVEMENTS.title):
            if movement.order_number:
                movements[(movement.mall, movement.order_number)].append(movement)
        runs: dict[str, list[SyncLog]] = defaultdict(list)
        for run in _models(tables, SYNC_LOG.title):
            if run.job.startswith("受注取込"):
                runs[run.mall].append(run)
        for group in runs.values():
            group.sort(key=attrgetter("started_at"))
        return History(dict(movements), dict(runs))
