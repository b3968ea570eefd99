"""What the ホーム page shows: counts over the parsed workbook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets_schema.models import ORDER_STATUSES, Order, Product, Stock
from sheets_schema.parsing import Table
from sheets_schema.tabs import ORDERS, PRODUCTS, STOCK


@dataclass(frozen=True)
class LowStockItem:
    sku: str
    name: str
    on_hand: int
    allocated: int
    available: int
    reorder_point: int | None
    reorder_lot: int | None


@dataclass(frozen=True)
class Overview:
    sku_count: int
    stock_units: int  # 在庫金額 is purchasing.valuation's (moving-average cost), see ui.valuation
    orders_by_status: dict[str, int]
    low_stock: list[LowStockItem]


def _is_low(stock: Stock, product: Product | None) -> bool:
    free = stock.on_hand - stock.allocated
    if product is not None and product.reorder_point is not None:
        return free <= product.reorder_point
    return stock.available <= 0


def overview(tables: dict[str, Table[Any]]) -> Overview:
    products: dict[str, Product] = {p.sku: p for p in tables[PRODUCTS.title].models()}
    stocks: list[Stock] = tables[STOCK.title].models()
    orders: list[Order] = tables[ORDERS.title].models()

    by_status = dict.fromkeys(ORDER_STATUSES, 0)
    for order in orders:
        by_status[order.status] += 1

    low = [
        LowStockItem(
            sku=s.sku,
            name=products[s.sku].name if s.sku in products else "（商品シートにありません）",
            on_hand=s.on_hand,
            allocated=s.allocated,
            available=s.available,
            reorder_point=products[s.sku].reorder_point if s.sku in products else None,
            reorder_lot=products[s.sku].reorder_lot if s.sku in products else None,
        )
        for s in stocks
        if _is_low(s, products.get(s.sku))
    ]
    low.sort(key=lambda item: (item.available, item.on_hand - item.allocated, item.sku))
    return Overview(
        sku_count=len(products),
        stock_units=sum(s.on_hand for s in stocks),
        orders_by_status=by_status,
        low_stock=low,
    )


def yen(amount: int) -> str:
    return f"¥{amount:,}"


# Six metrics to a row fit counts up to "9,999 件" at 1366 px; a bigger shop's "29,028 件" was
# cut to "29,028…", so its counts go three to a row.
_ONE_ROW_UP_TO = len("9,999 件")


def status_rows(by_status: dict[str, int]) -> list[list[tuple[str, str]]]:
    """ホーム's 受注ステータス metrics as (label, value) rows: one row while every count is short."""
    counts = [(status, f"{count:,} 件") for status, count in by_status.items()]
    if not counts:
        return []
    per_row = len(counts) if max(len(text) for _, text in counts) <= _ONE_ROW_UP_TO else 3
    return [counts[i : i + per_row] for i in range(0, len(counts), per_row)]
