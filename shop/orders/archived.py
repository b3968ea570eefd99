"""Orders in the archive database, found by a search and shown read-only: a board of the orders
a search finds (narrowed in SQL, then filtered by the same rules as the workbook's orders) and
one archived order's ledger movements and sync runs for its detail."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from operator import attrgetter

import pandas as pd

from sheets_schema.archive import Archive, row_model
from sheets_schema.models import Order, OrderLine, StockMovement, SyncLog
from sheets_schema.tabs import ORDER_LINES, ORDERS, STOCK_MOVEMENTS, SYNC_LOG
from shop.orders.board import Board, History
from shop.orders.frame import OrderKey, order_frame

# Archived orders a search returns at most: the archive holds years, a search shows a page.
ARCHIVE_SEARCH_LIMIT = 200


def search_archive(
    archive: Archive, text: str, products: Mapping[str, str], limit: int = ARCHIVE_SEARCH_LIMIT
) -> Board:
    """Archived orders a search finds, as a read-only board: the archive narrows them with SQL
    (LIKE on 注文番号 and 購入者名, the SKU index; newest first, at most ``limit``), then
    ``filter_orders`` applies exactly the rules it applies to the workbook's orders, masking
    included. Their lines come along, so the list shows SKUs and a detail needs no other read."""
    words = [unicodedata.normalize("NFKC", w) for w in text.split()]
    orders: list[Order] = []
    lines: dict[OrderKey, list[OrderLine]] = defaultdict(list)
    if words:
        orders = [row_model(ORDERS, row) for row in archive.search_orders(words, limit)]
        keys = [(o.mall, o.order_number) for o in orders]
        for row in archive.order_rows(ORDER_LINES, keys):
            line: OrderLine = row_model(ORDER_LINES, row)
            lines[(line.mall, line.order_number)].append(line)
        for group in lines.values():
            group.sort(key=attrgetter("line_number"))
    frame = order_frame(orders, lines)
    frame["_queue"] = pd.Series("", index=frame.index, dtype="object")  # closed: nothing to review
    return Board(
        frame=frame,
        orders={(o.mall, o.order_number): o for o in orders},
        lines=dict(lines),
        products=dict(products),
        blocked=set(),
        queue=[],
        unknown_items=[],
        archived=True,
    )


def archived_history(archive: Archive, key: OrderKey) -> History:
    """An archived order's ledger movements and the sync runs around them, from the archive
    (both moved there with the order, or before it)."""
    movements: list[StockMovement] = sorted(
        (row_model(STOCK_MOVEMENTS, row) for row in archive.order_rows(STOCK_MOVEMENTS, [key])),
        key=attrgetter("at"),
    )
    runs: list[SyncLog] = []
    if movements:
        since = (movements[0].at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        until = movements[-1].at.strftime("%Y-%m-%d %H:%M:%S")
        runs = [row_model(SYNC_LOG, row) for row in archive.sync_runs(key[0], since, until)]
        runs = [r for r in runs if r.job.startswith("受注取込")]
    return History({key: movements} if movements else {}, {key[0]: runs} if runs else {})
