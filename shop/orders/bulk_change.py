"""The bulk status change: one write job that sets ステータス on the orders a person selected,
refusing (one Japanese sentence per order) what would break the ledger or overwrite a row in
error, appending a hold's reason to 備考, and expecting every cell it writes to hold what the
person's screen showed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import ORDER_STATUSES, Order
from sheets_schema.parsing import RowError, Table
from shop.orders.frame import OrderKey
from shop.orders.notes import HOLD_TAG, REVIEW_SEPARATOR, STATUS_CONFLICT_PREFIX

MAX_REASON_LENGTH = 200


@dataclass
class StatusChange:
    status: str
    job: WriteJob = field(default_factory=WriteJob)
    changed: list[OrderKey] = field(default_factory=list)
    unchanged: list[OrderKey] = field(default_factory=list)  # already in that status
    refused: list[str] = field(default_factory=list)  # why, one Japanese sentence per order

    def summary(self) -> str:
        if not self.changed:
            return "ステータスを変更した注文はありません。"
        numbers = "、".join(n for _, n in self.changed[:3])
        more = f" ほか{len(self.changed) - 3}件" if len(self.changed) > 3 else ""
        return f"{len(self.changed)} 件の注文を「{self.status}」に変更しました（{numbers}{more}）。"


def _transition_problem(order: Order, new: str) -> str:
    if order.status == "出荷済":
        return "出荷済みの注文は、在庫をすでに出荷として記録しているため、ステータスを戻せません"
    if order.status == "キャンセル":
        if new == "出荷済":
            return "キャンセルした注文を出荷済にはできません"
        if order.mall_status == "キャンセル":
            return "モールでキャンセルされた注文です。戻す場合はモールで新しい注文を作ってください"
    return ""


def change_status(
    orders: Table[Any],
    keys: Sequence[OrderKey],
    new_status: str,
    *,
    reason: str = "",
    now: datetime,
    blocked: Iterable[OrderKey] = (),
    loaded: Mapping[OrderKey, str] | None = None,
) -> StatusChange:
    """One write job that sets ステータス on the given orders of a freshly read 受注 table.

    保留 needs a reason, appended to 備考 as 「【保留】理由 (YYYY-MM-DD HH:MM)」. Each cell written
    is also expected to hold what was read, so a change made meanwhile (by a person or a sync)
    stops the job instead of being overwritten. A status set by a person settles a conflict the
    sync reported, so that note leaves 要確認.

    ``loaded`` is the ステータス each order showed on the person's screen. The job expects it
    too: if someone changed an order since that screen was read (another person, a sync), the
    workbook refuses the whole job with a ``CellConflict`` naming the cell, and nothing is
    written, instead of this change landing on top of theirs unseen.
    """
    change = StatusChange(new_status)
    if new_status not in ORDER_STATUSES:
        choices = "、".join(f"「{s}」" for s in ORDER_STATUSES)
        change.refused.append(f"「{new_status}」は使えないステータスです（{choices}のどれかです）")
        return change
    reason = " ".join(reason.split())
    if new_status == "保留" and not reason:
        change.refused.append("保留にする理由を入力してください（備考に記録されます）")
        return change
    if len(reason) > MAX_REASON_LENGTH:
        change.refused.append(f"理由は{MAX_REASON_LENGTH}文字以内で入力してください")
        return change
    if not keys:
        change.refused.append("注文が選ばれていません")
        return change
    if not orders.writable:
        change.refused.extend(orders.header_problems or ["「受注」シートに書き込めません"])
        return change
    by_row = {record.row: record.value for record in orders.records}
    errors_by_row: dict[int, list[RowError]] = defaultdict(list)
    for error in orders.errors:
        errors_by_row[error.row].append(error)
    blocked = set(blocked)
    note_col, review_col = (orders.column(h) for h in ("備考", "要確認"))
    for key in dict.fromkeys(keys):
        mall, number = key
        row = orders.find_row(key)
        if row is None:
            change.refused.append(f"注文 {number}（{mall}）が受注シートに見つかりません")
            continue
        if row in errors_by_row:
            first = errors_by_row[row][0]
            change.refused.append(
                f"注文 {number}: 「受注」シート {row}行目に入力エラーがあるため変更しません"
                f"（「{first.column}」列: {first.message}）。先にシートを直してください"
            )
            continue
        if key in blocked:
            change.refused.append(
                f"注文 {number}: 「受注明細」シートのこの注文の行に入力エラーがあるため変更しません。先にシートを直してください"
            )
            continue
        order = by_row.get(row)
        if order is None:  # a second row with the same key: reported as a row error
            change.refused.append(f"注文 {number} の行を特定できません。受注シートを確認してください")
            continue
        if order.status == new_status:
            change.unchanged.append(key)
            continue
        problem = _transition_problem(order, new_status)
        if problem:
            change.refused.append(f"注文 {number}: {problem}")
            continue
        if loaded is not None and key in loaded:
            change.job.expect(orders, row, {"ステータス": loaded[key]})
        # WriteJob.set guards the row's key and the staff cells it overwrites (ステータス, 備考).
        values: dict[str, Any] = {"ステータス": new_status}
        if new_status == "保留":
            note = orders.grid.cell(row, note_col)
            entry = f"{HOLD_TAG}{reason} ({now.astimezone(JST):%Y-%m-%d %H:%M})"
            values["備考"] = f"{note.rstrip()}\n{entry}" if note.strip() else entry
        notes = order.review.split(REVIEW_SEPARATOR) if order.review else []
        kept = [n for n in notes if n and not n.startswith(STATUS_CONFLICT_PREFIX)]
        if len(kept) != len(notes):
            values["要確認"] = REVIEW_SEPARATOR.join(kept)
            # 要確認 is sync's column: a cycle may have added a note since this page read it.
            change.job.expect(orders, row, {"要確認": orders.grid.cell(row, review_col)})
        change.job.set(orders, row, values)
        change.changed.append(key)
    return change
