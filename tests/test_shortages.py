"""在庫不足: open orders beyond 実在庫, first come first served, with the 発注 that will bring
their goods."""

from __future__ import annotations

from datetime import date, datetime

from purchasing.shortages import shortages
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine, Stock


def order(number: str, hour: int, status: str = "新規", allocates: bool = True) -> Order:
    return Order.model_validate(
        {
            "モール": "楽天",
            "注文番号": number,
            "注文日時": datetime(2026, 12, 1, hour, tzinfo=JST),
            "ステータス": status,
            "合計金額": 1000,
            "在庫引当": "ON" if allocates else "OFF",
        }
    )


def line(number: str, sku: str, units: int) -> OrderLine:
    return OrderLine.model_validate(
        {
            "モール": "楽天",
            "注文番号": number,
            "明細番号": 1,
            "SKU": sku,
            "商品名": sku,
            "数量": units,
            "単価": 1000,
        }
    )


def test_the_latest_orders_beyond_the_shelf_are_short_and_wait_for_the_right_purchase_order() -> None:
    orders = {
        ("楽天", o.order_number): o
        for o in (
            order("A", 9),
            order("B", 10),
            order("C", 11),
            order("D", 12, "出荷済"),
            order("E", 13, allocates=False),
        )
    }
    lines = [
        line("C", "MUG", 2),
        line("A", "MUG", 2),
        line("B", "MUG", 2),
        line("D", "MUG", 5),
        line("E", "MUG", 5),
    ]
    stock = [Stock.model_validate({"SKU": "MUG", "実在庫": 3, "引当数": 6})]
    arrivals = {"MUG": [(date(2026, 12, 8), 2, "PO-1"), (date(2026, 12, 15), 10, "PO-2")]}
    found = shortages(stock, orders, lines, arrivals)
    # A takes 2, B takes the last 1 (1 short), C is 2 short: 3 short in all.
    assert [(s.order[1], s.short, s.purchase_order, s.expected_on) for s in found] == [
        ("B", 1, "PO-1", date(2026, 12, 8)),  # PO-1's 2 units cover B's 1
        ("C", 2, "PO-2", date(2026, 12, 15)),  # 3 short in all: PO-1 alone is not enough
    ]
    assert "発注 PO-2 の入荷（2026-12-15）" in found[1].action()
    assert shortages(stock, orders, lines, {})[0].action().startswith("入荷の予定がありません")
    stock = [Stock.model_validate({"SKU": "MUG", "実在庫": 6, "引当数": 6})]  # goods arrived
    assert shortages(stock, orders, lines, arrivals) == []


def test_a_set_line_wants_its_components_and_is_short_only_when_they_are() -> None:
    orders = {("楽天", o.order_number): o for o in (order("A", 9), order("B", 10))}
    lines = [line("A", "SOX-3P", 1), line("B", "SOX-3P", 1)]
    sets = {"SOX-3P": (("SOX-NV", 3),)}
    # The set holds no stock of its own (実在庫 0); its component does: 4 socks for two sets.
    stock = [
        Stock.model_validate({"SKU": "SOX-3P", "実在庫": 0, "引当数": 0}),
        Stock.model_validate({"SKU": "SOX-NV", "実在庫": 4, "引当数": 6}),
    ]
    [short] = shortages(stock, orders, lines, {}, sets)
    assert (short.order, short.sku, short.short, short.set_sku) == (("楽天", "B"), "SOX-NV", 2, "SOX-3P")
    assert "セット「SOX-3P」の構成品" in short.reason()
    enough = [stock[0], Stock.model_validate({"SKU": "SOX-NV", "実在庫": 6, "引当数": 6})]
    assert shortages(enough, orders, lines, {}, sets) == []  # not short, whatever the set's row says
