"""受注ルール on 受注ボード: the dry run (what a rule would have done to the last N days'
orders, before it is switched on), applying the ON rules to open orders now, and undoing what
rules did to an order. Pure: each returns rows to show or a WriteJob to write.

Writes follow the board's rules for staff changes: every cell written is expected to hold what
was read, so an edit made meanwhile (by a person or a sync) stops the whole job; _ルール適用 is
appended in the same job, so a change and its record land together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import Order, OrderRule
from sheets_schema.parsing import Table
from sheets_schema.tabs import (
    MAIL_TEMPLATES,
    ORDER_LINES,
    ORDER_RULES,
    ORDERS,
    RULE_ACTIONS,
    SYSTEM_STATE,
)
from shipping.picking import lines_by_order
from sync import state
from sync.rules import (
    OPEN,
    RULE_MARK,
    Applied,
    BuyerHistory,
    CompiledRule,
    EarlierOrders,
    RuleSet,
    action_rows,
    with_notes,
)

OrderKey = tuple[str, str]
# The columns a rule writes on 受注 (「メール」 is a request recorded in _ルール適用 only).
WRITTEN = {
    "ステータス": "status",
    "備考": "note",
    "タグ": "tags",
    "配送会社": "carrier",
    "配送方法": "delivery_method",
}


# -- the dry run


@dataclass(frozen=True)
class DryRunRow:
    mall: str
    order_number: str
    ordered_at: datetime
    status: str
    would: str  # what the rule would change, in words


def dry_run(
    tables: Mapping[str, Table[Any]],
    rule: OrderRule,
    *,
    days: int,
    now: datetime,
    earlier: EarlierOrders | None = None,
) -> list[DryRunRow]:
    """The orders of the last ``days`` days the rule would have touched on import (as if each
    were still at its mall status, open), and how; ON or OFF alike, nothing written."""
    since = now - timedelta(days=days)
    compiled = RuleSet([CompiledRule.of(rule, 0)])
    if compiled.needs_history:
        compiled.history = BuyerHistory.of_orders(tables[ORDERS.title].models(), earlier)
    lines = lines_by_order(tables)
    found = []
    for order in tables[ORDERS.title].models():
        if order.ordered_at < since:
            continue
        as_imported = order if order.status in OPEN else order.model_copy(update={"status": "新規"})
        _, applied = compiled.evaluate(as_imported, lines.get((order.mall, order.order_number), []))
        if applied:
            found.append(
                DryRunRow(order.mall, order.order_number, order.ordered_at, order.status, _words(applied))
            )
    found.sort(key=lambda r: r.ordered_at, reverse=True)
    return found


def _words(applied: Sequence[Applied]) -> str:
    parts = []
    for item in applied:
        for change in item.changes:
            if change.column == "タグ":
                parts.append(f"タグ「{change.after}」")
            elif change.column == "備考":
                continue  # the 保留 reason: shown with ステータス
            elif change.column == "メール":
                parts.append(f"メール「{change.after}」を送る")
            else:
                parts.append(f"{change.column}を「{change.after}」に")
    return "、".join(parts) or "変更なし（すでにそのとおり）"


# -- applying now


@dataclass
class RuleWrite:
    job: WriteJob = field(default_factory=WriteJob)
    changed: list[OrderKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# What ``apply_now`` reads, in one read: the orders and lines, the rules and the templates their
# 「メールを送る」 names, what rules did before, and the marks in _システム.
APPLY_TABS = (ORDERS, ORDER_LINES, ORDER_RULES, MAIL_TEMPLATES, RULE_ACTIONS, SYSTEM_STATE)


def apply_now(
    tables: Mapping[str, Table[Any]], *, now: datetime, earlier: EarlierOrders | None = None
) -> RuleWrite:
    """The ON rules over every open order (what import would do, for orders that came in before
    the rules were written). Orders already as the rules want them are left alone."""
    result = RuleWrite()
    rules = RuleSet.from_table(tables[ORDER_RULES.title], tables[MAIL_TEMPLATES.title])
    if rules.problems:
        result.problems = rules.problems
        return result
    if not rules.rules:
        result.problems.append(
            "有効な受注ルールがありません（受注ルールシートの「有効」を ON にしてください）"
        )
        return result
    orders = tables[ORDERS.title]
    if rules.needs_history:
        rules.history = BuyerHistory.of_orders(orders.models(), earlier)
    lines = lines_by_order(tables)
    run = f"手動-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"
    rows: list[dict[str, Any]] = []
    for record in orders.records:
        order = record.value
        changed, applied = rules.evaluate(order, lines.get((order.mall, order.order_number), []))
        applied = [a for a in applied if a.changes]
        if not applied:
            continue
        changed = with_notes(changed, applied, now)
        _write(result.job, orders, record.row, order, changed)
        rows.extend(action_rows(changed, applied, now, run))
        result.changed.append((order.mall, order.order_number))
    if rows:
        _record(result.job, tables, rows, now)
    return result


def _record(
    job: WriteJob, tables: Mapping[str, Table[Any]], rows: list[dict[str, Any]], now: datetime
) -> None:
    """Append to _ルール適用 and move the mark where its unread rows begin, in the same job, so
    the sync's tail read of that tab stays a few rows (as the sync itself does)."""
    actions = tables[RULE_ACTIONS.title]
    job.append(actions, rows)
    system = tables.get(SYSTEM_STATE.title)
    if system is not None:
        state.put(job, system, RULE_MARK, str(actions.next_row + len(rows)), now)


def _write(job: WriteJob, orders: Table[Any], row: int, before: Order, after: Order) -> None:
    values: dict[str, Any] = {"ルール": after.rules_applied}
    for header, name in WRITTEN.items():
        if getattr(after, name) != getattr(before, name):
            values[header] = getattr(after, name) or ""
    # The cells as read must still be there (a person's edit meanwhile stops the job).
    job.expect(orders, row, {h: getattr(before, WRITTEN[h]) or "" for h in WRITTEN if h in values})
    job.set(orders, row, values)


# -- undo


def undo(tables: Mapping[str, Table[Any]], key: OrderKey, *, now: datetime) -> RuleWrite:
    """Put back what rules changed on the order since its last undo, where the cell still
    holds the rule's value (a person's later change is kept and named)."""
    result = RuleWrite()
    orders, actions = tables[ORDERS.title], tables[RULE_ACTIONS.title]
    row = orders.find_row(key)
    record = next((r for r in orders.records if r.row == row), None) if row is not None else None
    if record is None:
        result.problems.append(f"注文 {key[1]}（{key[0]}）が受注シートに見つかりません")
        return result
    mine = [a for a in actions.models() if (a.mall, a.order_number) == key]
    last_undo = max((i for i, a in enumerate(mine) if a.kind == "取消"), default=-1)
    applied = [a for a in mine[last_undo + 1 :] if a.kind == "適用" and a.column in WRITTEN]
    if not applied:
        result.problems.append(f"注文 {key[1]} には、元に戻せるルールの変更がありません")
        return result
    order = record.value
    values: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for column in dict.fromkeys(a.column for a in applied):
        first = next(a for a in applied if a.column == column)  # the value before any rule
        last = [a for a in applied if a.column == column][-1]  # what the rules left
        current = getattr(order, WRITTEN[column]) or ""
        if str(current) != last.after:
            result.problems.append(
                f"「{column}」はルールの後に変更されているため、そのままにしました（今: 「{current}」）"
            )
            continue
        values[column] = first.before
        expected[column] = current
    if not values:
        return result
    note = f"{now:%m/%d %H:%M} ルールの変更を元に戻しました"
    values["ルール"] = "\n".join([*[n for n in (order.rules_applied or "").split("\n") if n], note][-5:])
    result.job.expect(orders, record.row, expected)
    result.job.set(orders, record.row, values)
    run = f"取消-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"
    _record(
        result.job,
        tables,
        [
            {
                "適用ID": f"{run}:{key[0]}:{key[1]}:{n}",
                "日時": now,
                "モール": key[0],
                "注文番号": key[1],
                "ルール名": "",
                "列": column,
                "変更前": expected[column],
                "変更後": value,
                "区分": "取消",
            }
            for n, (column, value) in enumerate(values.items())
            if column != "ルール"
        ],
        now,
    )
    result.changed.append(key)
    return result
