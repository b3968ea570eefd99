"""Accept new orders at malls that want it before they take a shipment (楽天's 注文確認).

Which orders: those of a mall whose connector offers ``confirm_orders`` (``ConfirmsOrders`` in
sync/connectors/base.py) whose モールステータス is still 新規 (for 楽天: orderProgress 100
注文確認待ち) and that staff have not put aside: ステータス 新規 or 発送待ち when the channel
confirms on import, only 発送待ち (a person moved it on) when it does not.

Exactly once without a 送信中 mark: the connector reads each order's progress at the mall before
confirming and confirms only those still waiting, so a run that stopped between confirming and
writing here asks again, finds them confirmed, and just records it. The record is the mall's
status written to モールステータス (and to ステータス unless a person changed it), the same
cells an import writes, so a later recheck of the order changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.models import Order as OrderRow
from sheets_schema.parsing import Record, RowsOnDemand, Table, missing_table
from sheets_schema.tabs import ORDERS
from sync.connectors.base import Confirmations
from sync.orders import _status

NEW = "新規"
NOTE = "注文確認に失敗: "
REVIEW_SEPARATOR = "／"


def candidates(grid: Grid | None, on_import: Mapping[str, bool]) -> Table[Any]:
    """受注 rows to confirm, parsed; ``on_import`` is mall → whether new orders are confirmed
    on import. Rows with input errors are left out (never written over)."""
    if grid is None or not on_import:
        return missing_table(ORDERS)
    rows = RowsOnDemand(ORDERS, grid)
    table = rows.table
    if not table.writable:
        return table
    mall, status, mall_status = (table.column(h) for h in ("モール", "ステータス", "モールステータス"))
    for index, cells in enumerate(grid.rows):
        auto = on_import.get(cells[mall].strip())
        if auto is None or cells[mall_status].strip() != NEW:
            continue
        if cells[status].strip() == "発送待ち" or (auto and cells[status].strip() == NEW):
            parsed = rows.parse(grid.row_number(index))
            if not isinstance(parsed, list):
                table.records.append(Record(grid.row_number(index), parsed))
    return table


def record(job: WriteJob, table: Table[Any], rows: Sequence[Record[Any]], outcome: Confirmations) -> None:
    """Write what the mall now shows for each confirmed order; a failure goes to 要確認 once."""
    for found in rows:
        current: OrderRow = found.value
        order = outcome.orders.get(current.order_number)
        notes = [n for n in current.review.split(REVIEW_SEPARATOR) if n and not n.startswith(NOTE)]
        if order is not None:
            status, disagreement = _status(current, order)
            if disagreement and disagreement not in notes:
                notes.append(disagreement)
            values: dict[str, Any] = {"モールステータス": order.status}
            if status != current.status:
                values["ステータス"] = status
        else:
            reason = outcome.errors.get(current.order_number, "理由不明")
            notes.append(f"{NOTE}{reason}（次の同期で再試行します）")
            values = {}
        review = REVIEW_SEPARATOR.join(notes)
        if review != current.review:
            values["要確認"] = review
        if values:
            job.set(table, found.row, values)
