"""The workbook side of sale mode: セール rows into rules, and _セール実績 (units each mall sold
since its rule began) kept in the same job as the orders that sold them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sheets_schema.cells import format_datetime
from sheets_schema.changes import WriteJob
from sheets_schema.models import Sale, SaleTally
from sheets_schema.parsing import RowError, Table
from sync.sale import ALL, SalePolicy, SaleRule

# How long a push takes to reach the malls after the cycle's import (fetch, commit, the calls):
# part of the window a quantity stays out uncorrected.
PUSH_SECONDS = 10.0


def _all(value: str) -> str:
    return "" if value.strip() in ("", ALL, "全て", "全部") else value.strip()


def row_errors(table: Table[Any]) -> list[RowError]:
    """Input errors of セール rows, the period's order included (checked here rather than in the
    row model, so rows keep the fast parse path of sheets_schema/fastrows.py)."""
    errors = list(table.errors)
    for record in table:
        sale: Sale = record.value
        if sale.end <= sale.start:
            errors.append(
                RowError(
                    table.title,
                    record.row,
                    "終了日時",
                    format_datetime(sale.end),
                    "終了日時は開始日時より後にしてください",
                )
            )
    return errors


def rules_from(table: Table[Any]) -> list[SaleRule]:
    """Rows that parsed and are 有効; a row with an input error is reported and ignored (its SKU
    is sent plain 販売可能数)."""
    rules = []
    for record in table:
        sale: Sale = record.value
        if not sale.enabled or sale.end <= sale.start:
            continue
        rules.append(
            SaleRule(
                sku=_all(sale.sku),
                mall=_all(sale.mall),
                start=sale.start,
                end=sale.end,
                quota=sale.quota,
                threshold=sale.threshold,
                buffer=sale.buffer,
                interval_seconds=sale.interval_seconds,
                row=record.row,
            )
        )
    return rules


def policy_for(
    sales: Table[Any], tallies: Table[Any], now: datetime, *, interval_seconds: float, risk: float
) -> SalePolicy | None:
    """The policy in force at ``now``, or None when no rule is active (plain 販売可能数)."""
    policy = SalePolicy(rules_from(sales), now, risk=risk)
    if not policy:
        return None
    cadence = policy.interval_seconds() or interval_seconds
    policy.window_seconds = cadence + PUSH_SECONDS
    policy.sold = _current(tallies, policy)
    return policy


def _current(tallies: Table[Any], policy: SalePolicy) -> dict[tuple[str, str], int]:
    """Tallies counted since the start of the rule now covering them (older ones are stale)."""
    sold = {}
    for record in tallies:
        tally: SaleTally = record.value
        rule = policy.rule_for(tally.sku)
        if rule is not None and rule.covers_mall(tally.mall) and tally.start == rule.start:
            sold[(tally.sku, tally.mall)] = tally.sold
    return sold


def count_sales(
    job: WriteJob,
    tallies: Table[Any],
    policy: SalePolicy | None,
    units: Mapping[tuple[str, str], int],
    now: datetime,
) -> None:
    """Add this job's units per (SKU, モール) (new orders positive, cancellations negative) to
    _セール実績, for the SKUs and malls an active rule covers: written with the orders, so a
    crash counts them exactly once."""
    if policy is None or not units or not tallies.writable:
        return
    current = {(r.value.sku, r.value.mall): r.value for r in tallies}
    for (sku, mall), n in units.items():
        rule = policy.rule_for(sku)
        if rule is None or not rule.covers_mall(mall) or not n:
            continue
        before = current.get((sku, mall))
        base = before.sold if before is not None and before.start == rule.start else 0
        job.put(
            tallies,
            (sku, mall),
            {"SKU": sku, "モール": mall, "開始日時": rule.start, "販売数": max(0, base + n), "更新日時": now},
        )
