"""Upsert canonical orders into 受注 and 受注明細, keyed by (モール, 注文番号[, 明細番号]).

A mall's update changes only the columns the mall owns (buyer, address, amounts, モールステータス,
…). What people typed stays: 備考, 配送会社, 追跡番号, any column they added, and ステータス
where a person set it (kept unless the mall itself moves on: a cancellation or shipment at the
mall always wins). So does 出荷連絡, Ichigen's record of telling the mall: blanking it would
send the shipment again. Rows with input errors are never overwritten; the order is reported
and retried on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob, model_cells
from sheets_schema.models import Order as OrderRow
from sheets_schema.models import OrderLine as LineRow
from sheets_schema.parsing import RowsOnDemand, Table
from sheets_schema.tabs import ORDERS
from sync.models import Order
from sync.resolve import SkuResolver
from sync.rules import RuleSet, action_rows, with_notes

MALL_WINS = ("キャンセル", "出荷済")
# Cells of 受注 a mall update never writes: the staff's columns and Ichigen's shipment notice.
# ステータス is written only when ``_status`` decides the mall's value wins.
KEPT_ON_UPDATE = frozenset({*ORDERS.staff_columns, "出荷連絡", "ルール"})
# 要確認 notes that belong to the 出荷連絡 state, not to the mall's data: kept with it.
SHIPMENT_NOTE = "出荷連絡"


@dataclass
class ImportCounts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    duplicates_skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class OrderView:
    """An order as it stands after this job: what the ledger reconciliation reads."""

    order: OrderRow
    lines: dict[int, LineRow] = field(default_factory=dict)


def _seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _status(current: OrderRow, incoming: Order) -> tuple[str, str]:
    """The status to write and, when the mall and a person disagree, why."""
    new, previous = incoming.status, current.mall_status
    if new == previous:
        return current.status, ""
    if new in MALL_WINS or current.status == previous or not previous:
        return new, ""
    return (
        current.status,
        f"モールのステータスが「{new}」に変わりました（Ichigenでは「{current.status}」のままです）",
    )


def _row(order: Order, status: str, review: str, note: str) -> OrderRow:
    return OrderRow(
        モール=order.mall,
        注文番号=order.order_number,
        注文日時=order.ordered_at,
        ステータス=status,
        支払方法=order.payment_method,
        購入者名=order.buyer.name,
        送付先氏名=order.delivery.name,
        郵便番号=order.delivery.postcode or None,
        住所=order.delivery.address,
        電話番号=order.delivery.phone or None,
        メールアドレス=order.buyer.email,
        合計金額=order.total,
        送料=order.shipping_fee,
        備考=note,
        要確認=review,
        モールステータス=order.status,
        在庫引当=order.allocates_stock,
        更新日時=_seconds(order.updated_at),
    )


def _lines(order: Order, resolver: SkuResolver) -> tuple[list[LineRow], list[str]]:
    rows, unknown = [], []
    for line in order.lines:
        sku = resolver.resolve(order.mall, line.mall_item_code, line.mall_sku, line.seller_sku)
        if sku is None and line.quantity:
            code = line.mall_sku or line.mall_item_code or line.seller_sku or "（コードなし）"
            unknown.append(f"SKU不明: 明細{line.line_number}（{code}）をモール商品シートで対応付けてください")
        rows.append(
            LineRow(
                モール=order.mall,
                注文番号=order.order_number,
                明細番号=line.line_number,
                SKU=sku,
                商品名=line.name,
                数量=line.quantity,
                単価=line.unit_price,
                モール商品コード=line.mall_item_code,
                モールSKU=line.mall_sku,
            )
        )
    return rows, unknown


class OrderBook:
    """受注 and 受注明細 as read, plus this job's changes, keyed for the ledger.

    Both tabs are read whole but parsed only for the orders a job touches (fetched from a mall,
    changed by staff, a SKU newly mapped): ``view`` parses an order and its lines on first use.
    An order with an input error in either tab is ``blocked``: never written over, never settled.
    """

    def __init__(self, orders: RowsOnDemand, lines: RowsOnDemand) -> None:
        self.orders, self.lines = orders, lines
        self.orders_table, self.lines_table = orders.table, lines.table
        self.views: dict[tuple[str, str], OrderView] = {}
        self.blocked: set[tuple[str, str]] = set()  # orders with a row error somewhere
        self.written: set[tuple[str, str]] = set()  # orders whose 受注 row this job writes
        # Orders the malls sold (new here) or cancelled this job: their malls changed their own
        # stock for them (see sync.push.mirror_mall_sales).
        self.created: set[tuple[str, str]] = set()
        self.cancelled_by_mall: set[tuple[str, str]] = set()
        self._line_rows: dict[tuple[str, str], list[int]] | None = None
        # 受注ルール for orders this job creates, and the _ルール適用 rows they wrote.
        self.rules: RuleSet | None = None
        self.rules_at: datetime = datetime.min
        self.rules_run = ""
        self.rule_rows: list[dict[str, Any]] = []

    def line_rows(self, key: tuple[str, str]) -> list[int]:
        if self._line_rows is None:
            self._line_rows = {}
            for (mall, number, _), rows in self.lines.rows_by_key.items():
                self._line_rows.setdefault((mall, number), []).extend(rows)
        return self._line_rows.get(key, [])

    def view(self, key: tuple[str, str]) -> OrderView | None:
        """The order as it stands in this job; None if it is not in 受注 or is blocked."""
        if key in self.views:
            return self.views[key]
        if key in self.blocked:
            return None
        found = self.orders.record(key)
        if found is None:
            # Lines without their order cannot be settled either; they stay as they are.
            return None
        if isinstance(found, list):
            self.blocked.add(key)
            return None
        view = OrderView(found.value)
        for row in self.line_rows(key):
            line = self.lines.parse(row)
            if isinstance(line, list):
                self.blocked.add(key)
                return None
            view.lines[line.line_number] = line  # type: ignore[attr-defined]
        self.views[key] = view
        return view

    def upsert(self, job: WriteJob, order: Order, resolver: SkuResolver, counts: ImportCounts) -> None:
        key = (order.mall, order.order_number)
        counts.fetched += 1
        current = self.view(key)
        if key in self.blocked:
            counts.failed += 1
            counts.errors.append(
                f"注文 {order.order_number} の行に入力エラーがあるため更新していません。受注・受注明細シートを直してください"
            )
            return
        line_rows, unknown = _lines(order, resolver)
        if current is None:
            review = "／".join([*order.review, *unknown])
            row = _row(order, order.status, review, order.note)
            if self.rules is not None and self.rules.runs:
                # 受注ルール run once, when the order is created, in the same write: a replay
                # of this import finds the order and is an update, so no action runs twice.
                row, applied = self.rules.evaluate(row, line_rows)
                row = with_notes(row, applied, self.rules_at)
                self.rule_rows.extend(action_rows(row, applied, self.rules_at, self.rules_run))
            job.append(self.orders_table, [row])
            job.append(self.lines_table, line_rows)
            self.views[key] = OrderView(row, {line.line_number: line for line in line_rows})
            self.written.add(key)
            self.created.add(key)
            counts.created += 1
            return
        stored = current.order.updated_at
        if stored is not None and _seconds(order.updated_at) <= stored:
            counts.duplicates_skipped += 1  # this version (or a newer one) is already in
            return
        status, conflict = _status(current.order, order)
        shipment_notes = [n for n in current.order.review.split("／") if n.startswith(SHIPMENT_NOTE)]
        review = "／".join(r for r in [*order.review, *unknown, conflict, *shipment_notes] if r)
        fresh = _row(order, status, review, current.order.note)
        # The row as it stands, with the mall's columns laid over it: later steps of this cycle
        # (the shipment notice among them) read the staff's cells from this view.
        mall_owned = {
            name: getattr(fresh, name)
            for name, f in OrderRow.model_fields.items()
            if (f.alias or name) not in KEPT_ON_UPDATE
        }
        row = current.order.model_copy(update={**mall_owned, "status": status})
        if order.status == status == "キャンセル" and current.order.status != "キャンセル":
            self.cancelled_by_mall.add(key)
        self._update_order(job, key, row, status_changed=status != current.order.status)
        self._update_lines(job, key, line_rows, current)
        current.order = row
        self.written.add(key)
        counts.updated += 1

    def _update_order(
        self, job: WriteJob, key: tuple[str, str], row: OrderRow, *, status_changed: bool
    ) -> None:
        cells = {h: v for h, v in model_cells(row).items() if h not in KEPT_ON_UPDATE}
        if status_changed:
            cells["ステータス"] = row.status  # guarded by WriteJob.set: a person's edit since stops it
        job.set(self.orders_table, self._row_of(self.orders_table, key), cells)

    def _update_lines(
        self, job: WriteJob, key: tuple[str, str], rows: list[LineRow], view: OrderView
    ) -> None:
        incoming = {line.line_number: line for line in rows}
        for number, old in view.lines.items():
            if number not in incoming:
                # The mall dropped the line: keep the row, hold no stock for it.
                incoming[number] = old.model_copy(update={"quantity": 0})
        new_lines = []
        for number, line in incoming.items():
            sheet_row = self.lines_table.find_row((*key, str(number)))
            if sheet_row is None:
                new_lines.append(line)
            elif view.lines.get(number) != line:
                job.set(self.lines_table, sheet_row, model_cells(line))
            view.lines[number] = line
        job.append(self.lines_table, new_lines)

    def _row_of(self, table: Table[Any], key: tuple[str, ...]) -> int:
        row = table.find_row(key)
        if row is None:  # appended earlier in this job: cannot happen for an update
            raise KeyError(key)
        return row
