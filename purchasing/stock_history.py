"""What stock valuation and return rates read: the workbook's ledger, 発注明細 and 原価, and
the archive's stock facts (``sheets_schema.archive_ledger``), never the archive's movements
one by one. The archive's share changes only when an archive pass runs, so callers cache
``archived_stock`` under the archive's stamp and rebuild only the workbook's share per read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from purchasing.ledger_rows import LedgerRow
from purchasing.valuation import (
    ArchivedReceipt,
    ArchivedStock,
    CostHistory,
    cost_histories,
    extend_histories,
    receipt_costs,
)
from sheets_schema import archive_ledger
from sheets_schema.archive import Archive
from sheets_schema.tabs import PRODUCTS, PURCHASE_ORDER_LINES, STOCK_MOVEMENTS


def archived_stock(archive: Archive | None) -> ArchivedStock:
    """The archive's stock facts (SKUs × months + receipts rows)."""
    if archive is None:
        return ArchivedStock()
    months: dict[str, dict[str, int]] = defaultdict(dict)
    for sku, month, change in archive_ledger.month_changes(archive):
        months[sku][month] = change
    receipts: dict[str, list[ArchivedReceipt]] = defaultdict(list)
    for movement_id, sku, at, units, before in archive_ledger.receipts(archive):
        receipts[sku].append(ArchivedReceipt(movement_id, sku, datetime.fromisoformat(at), units, before))
    return ArchivedStock(dict(months), dict(receipts))


def doubled_ids(archive: Archive | None, rows: Sequence[LedgerRow]) -> frozenset[str]:
    """Workbook movements the archive holds too (an archive pass stopped between its copy and
    its delete). Only rows dated up to the archive's newest movement can be there: those few
    are looked up by key, not the whole ledger."""
    if archive is None:
        return frozenset()
    newest = archive_ledger.last_movement_at(archive)
    if newest is None:
        return frozenset()
    older = [(m.movement_id,) for m in rows if m.kind != "繰越" and m.at <= newest]
    if not older:
        return frozenset()
    return frozenset(key[0] for key in archive.has(STOCK_MOVEMENTS, older))


def histories(
    tables: Mapping[str, Any],
    rows: Sequence[LedgerRow],
    archive: Archive | None,
    archived: ArchivedStock | None = None,
) -> dict[str, CostHistory]:
    """Every SKU's cost history: ``rows`` the workbook's ledger (``ledger_rows``), ``tables``
    the parsed 発注明細 and 商品 of the same read."""
    return build(tables, rows, archive, archived, None).histories


@dataclass(frozen=True)
class Built:
    """One build of the cost histories and what it was made from, for the next read to extend."""

    archive_stamp: tuple[int, ...] | None
    rows: Sequence[LedgerRow]
    costs: Mapping[tuple[str, int], int]
    fallback: Mapping[str, int | None]
    doubled: frozenset[str]
    histories: dict[str, CostHistory]


def build(
    tables: Mapping[str, Any],
    rows: Sequence[LedgerRow],
    archive: Archive | None,
    archived: ArchivedStock | None,
    archive_stamp: tuple[int, ...] | None,
    previous: Built | None = None,
) -> Built:
    """``histories``, carried on from ``previous`` when only movements were appended since
    (same archive, 単価 and 原価; nothing counted twice): a busy shop's ledger grows by a few
    rows between reads, and folding all of it again took most of a page's rebuild."""
    costs = receipt_costs(tables[PURCHASE_ORDER_LINES.title].models())
    fallback = {p.sku: p.cost for p in tables[PRODUCTS.title].models()}
    doubled = doubled_ids(archive, rows)
    if (
        previous is not None
        and not doubled
        and not previous.doubled
        and previous.archive_stamp == archive_stamp
        and previous.costs == costs
        and previous.fallback == fallback
        and len(rows) >= len(previous.rows)
        and rows[: len(previous.rows)] == previous.rows
    ):
        extended = extend_histories(previous.histories, rows[len(previous.rows) :], costs)
        if extended is not None:
            return Built(archive_stamp, rows, costs, fallback, doubled, extended)
    if archived is None:
        archived = archived_stock(archive)
    made = cost_histories(rows, costs, fallback, archived, doubled)
    return Built(archive_stamp, rows, costs, fallback, doubled, made)


def month_starts(start: date, end: date) -> list[date]:
    """The 1st of every month overlapping ``start..end``."""
    months, current = [], date(start.year, start.month, 1)
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months
