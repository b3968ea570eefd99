"""Tell each mall which orders shipped: orders staff marked 出荷済 with a carrier and tracking
number, not yet reported. Exactly once: the order is marked 送信中 in the workbook before the
mall is called, so a crash in between is never resent blindly; a person checks it instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sheets_schema.cells import format_datetime
from sheets_schema.changes import WriteJob
from sheets_schema.models import Order
from sheets_schema.parsing import Table
from sync.models import Shipment

SENDING = "送信中"
DONE = "済"
FAILED = "失敗"


@dataclass(frozen=True)
class PendingShipment:
    row: int
    order: Order

    def shipment(self) -> Shipment:
        assert self.order.carrier is not None
        return Shipment(
            mall=self.order.mall,
            order_number=self.order.order_number,
            carrier=self.order.carrier,
            tracking_number=self.order.tracking_number.strip(),
            shipped_at=self.order.updated_at or self.order.ordered_at,
        )


def pending(orders: Table[Any], malls: set[str]) -> list[PendingShipment]:
    """Shipped orders of malls that take confirmations, with what the mall needs, not yet sent."""
    found = []
    for record in orders:
        order: Order = record.value
        if (
            order.mall in malls
            and order.status == "出荷済"
            and order.carrier is not None
            and order.tracking_number.strip()
            and not order.shipment_notice
        ):
            found.append(PendingShipment(record.row, order))
    return found


def interrupted(orders: Table[Any]) -> list[PendingShipment]:
    """Orders left 送信中 by a run that stopped: whether the mall got them is unknown."""
    return [PendingShipment(r.row, r.value) for r in orders if r.value.shipment_notice.startswith(SENDING)]


def mark_sending(job: WriteJob, orders: Table[Any], items: list[PendingShipment], at: datetime) -> None:
    for item in items:
        job.set(orders, item.row, {"出荷連絡": f"{SENDING} {format_datetime(at)}"})


def mark_done(job: WriteJob, orders: Table[Any], item: PendingShipment, at: datetime) -> None:
    job.set(orders, item.row, {"出荷連絡": f"{DONE} {format_datetime(at)}"})


def mark_failed(job: WriteJob, orders: Table[Any], item: PendingShipment, reason: str) -> None:
    """The mall's reason goes to 出荷連絡 and to the 要確認 queue; clearing 出荷連絡 sends again."""
    note = f"出荷連絡に失敗: {reason}（直したら「出荷連絡」を空にすると再送します）"
    review = "／".join(n for n in (item.order.review, note) if n)
    job.set(orders, item.row, {"出荷連絡": f"{FAILED}: {reason}", "要確認": review})


def mark_unknown(job: WriteJob, orders: Table[Any], item: PendingShipment) -> None:
    note = "出荷連絡の途中で同期が止まりました。モールの画面で出荷登録を確認し、未登録なら「出荷連絡」を空にしてください"
    review = "／".join(n for n in (item.order.review, note) if n)
    job.set(orders, item.row, {"出荷連絡": f"{FAILED}: 結果不明", "要確認": review})
