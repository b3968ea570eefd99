"""What the 同期 page shows of sale mode: the セール rules in force, and per SKU and mall what
the mall is being sent under them, against plain 販売可能数, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from settings import SyncSettings
from sheets_schema.cells import format_datetime
from sheets_schema.models import MallListing, StockPush
from sheets_schema.parsing import Table, missing_table
from sheets_schema.tabs import MALL_LISTINGS, SALE_TALLIES, SALES, STOCK, STOCK_PUSHES
from sync.sale import SalePolicy
from sync.sale_state import policy_for, row_errors, rules_from

# Rows shown at most (a sale on every SKU of a large catalogue): the rest are counted.
MAX_ROWS = 500


@dataclass(frozen=True)
class SaleStatus:
    rules: list[dict[str, Any]]  # one row per セール rule in force
    sending: list[dict[str, Any]]  # SKU × listing: 販売可能数, what is sent, why
    more: int  # rows left out beyond MAX_ROWS
    interval_seconds: int | None  # the cadence sync keeps meanwhile
    errors: list[str]  # セール rows with input errors (ignored until fixed)
    upcoming: list[dict[str, Any]]  # rules that start later


def _table(tables: Mapping[str, Table[Any]], spec: Any) -> Table[Any]:
    return tables.get(spec.title) or missing_table(spec)


def sale_status(tables: Mapping[str, Table[Any]], now: datetime, sync: SyncSettings) -> SaleStatus:
    sales = _table(tables, SALES)
    errors = [str(e) for e in row_errors(sales)]
    policy = policy_for(
        sales,
        _table(tables, SALE_TALLIES),
        now,
        interval_seconds=sync.sale_interval_seconds,
        risk=sync.sale_buffer_risk,
    )
    upcoming = [_rule_row(r) for r in rules_from(sales) if r.start > now]
    if policy is None:
        return SaleStatus([], [], 0, None, errors, upcoming)
    rules = [_rule_row(r) for r in policy.rules]
    sending = _sending(tables, policy)
    interval = policy.interval_seconds() or sync.sale_interval_seconds
    return SaleStatus(rules, sending[:MAX_ROWS], max(0, len(sending) - MAX_ROWS), interval, errors, upcoming)


def _rule_row(rule: Any) -> dict[str, Any]:
    return {
        "行": rule.row,
        "SKU": rule.sku or "すべて",
        "モール": rule.mall or "すべて",
        "開始": format_datetime(rule.start),
        "終了": format_datetime(rule.end),
        "方式": rule.describe(),
        "同期間隔秒": rule.interval_seconds,
    }


def _sending(tables: Mapping[str, Table[Any]], policy: SalePolicy) -> list[dict[str, Any]]:
    stock = _table(tables, STOCK)
    available = {r.value.sku: r.value.available for r in stock}
    listings: list[MallListing] = [
        x for x in _table(tables, MALL_LISTINGS).models() if x.stock_sync and x.sku in available
    ]
    keys = [((x.mall, x.mall_item_code, x.mall_sku or ""), x.sku) for x in listings]
    shaped = policy.targets(available, keys)
    last: dict[tuple[str, str, str], StockPush] = {
        (p.mall, p.mall_item_code, p.mall_sku): p for p in _table(tables, STOCK_PUSHES).models()
    }
    rows = []
    for key, sku in keys:
        target = shaped.get(key)
        if target is None:
            continue
        sold = policy.sold.get((sku, key[0]), 0)
        previous = last.get(key)
        rows.append(
            {
                "SKU": sku,
                "モール": key[0],
                "モール商品コード": key[1],
                "販売可能数": available[sku],
                "送る数": target.quantity,
                "前回送信数": previous.quantity if previous else None,
                "セール中の販売数": sold,
                "理由": target.why or "販売可能数のまま",
            }
        )
    rows.sort(key=lambda r: (r["SKU"], r["モール"]))
    return rows
