"""Malls lower their own quantity when they sell (and may raise it when an order is cancelled
there). A sale at one mall and a cancellation at another in the same cycle leave 販売可能数
where it was: the selling mall must still be sent it, or it shows one fewer than there is — and
a mall that restored a cancelled unit must be brought back down, or it sells one twice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from settings import SyncSettings
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sync.connectors.base import OrderPage
from sync.engine import SyncEngine
from sync.models import Order, OrderLine, PushResult, Shipment, StockLevel
from tests.shop_fixtures import ledger_problems

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
HARNESS_BACKENDS = ("sql", "google", "hybrid")


class SellingMall:
    """A mall that keeps its own quantity: a sale takes one off, a cancellation puts it back
    (楽天's 在庫戻し, Shopify's restock), a push sets it."""

    def __init__(self, mall: str) -> None:
        self.channel = self.mall = mall
        self.display_name = mall
        self.shows = 0
        self.orders: dict[str, Order] = {}

    def sell(self, number: str, at: datetime, status: str = "新規") -> None:
        line = OrderLine(
            line_number=1, mall_item_code=f"{self.mall}-TWL", mall_sku="TWL-1", quantity=1, unit_price=1200
        )
        self.orders[number] = Order(
            mall=self.mall,
            order_number=number,
            ordered_at=at,
            updated_at=at,
            status=status,
            total=1200,
            lines=(line,),
        )
        self.shows -= 1

    def cancel(self, number: str, at: datetime) -> None:
        self.orders[number] = self.orders[number].model_copy(
            update={"status": "キャンセル", "updated_at": at}
        )
        self.shows += 1

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        yield OrderPage(list(self.orders.values()), until.isoformat())

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        for level in levels:
            self.shows = level.quantity
        return [PushResult(mall=v.mall, sku=v.sku, quantity=v.quantity, ok=True) for v in levels]

    def confirm_shipment(self, shipment: Shipment) -> None:
        pass


def test_a_sale_here_and_a_cancellation_there_in_one_cycle_still_reach_both_malls(harness) -> None:
    workbook = harness.workbook
    ensure_tabs(workbook)
    a, b = SellingMall("楽天"), SellingMall("Yahoo!")
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables["商品"], [{"SKU": "TWL-1", "商品名": "タオル", "販売価格": 1200}])
    job.append(tables["在庫"], [{"SKU": "TWL-1", "実在庫": 10, "安全在庫": 0}])
    job.append(
        tables["モール商品"],
        [
            {"モール": m.mall, "SKU": "TWL-1", "モール商品コード": f"{m.mall}-TWL", "モールSKU": "TWL-1"}
            for m in (a, b)
        ],
    )
    workbook.write(job)
    clock = [NOW]

    def cycle() -> None:
        SyncEngine(workbook, [a, b], SyncSettings(overlap_minutes=0), clock=lambda: clock[0]).run_once()
        clock[0] += timedelta(minutes=1)

    b.sell("Y-1", NOW - timedelta(minutes=5))  # an order at Yahoo! before the first cycle
    cycle()
    assert (a.shows, b.shows) == (9, 9)  # 10 on hand, 1 allocated: both malls sent 9

    a.sell("R-1", clock[0])  # 楽天 sells one (its own count drops to 8) ...
    b.cancel("Y-1", clock[0])  # ... while Yahoo!'s order is cancelled there (back to 10)
    cycle()
    available = {s.sku: s.available for s in read_tables(workbook)["在庫"].models()}["TWL-1"]
    assert available == 9  # one allocated, one released (Y-1)
    assert (a.shows, b.shows) == (available, available)
    assert ledger_problems(read_tables(workbook)) == []
