"""Cost histories carried on over appended movements equal a fold of the whole ledger.

A page rebuilds 在庫金額 after every read; ``stock_history.build`` extends the previous build
when only movements were appended. These tests compare the extension with the full fold
(``cost_histories``) on random ledgers split at random points, and check that anything other
than an append (a 繰越 at the top, a changed 単価 or 原価, an edited row) folds everything
again."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from purchasing import stock_history
from purchasing.ledger_rows import LedgerRow
from purchasing.valuation import (
    ArchivedReceipt,
    ArchivedStock,
    CostHistory,
    cost_histories,
    extend_histories,
    month_end_values,
    stock_value,
)
from sheets_schema.models import Product, PurchaseOrderLine
from sheets_schema.tabs import PRODUCTS, PURCHASE_ORDER_LINES

SKUS = ("A", "B", "C", "D", "AB")  # AB: no 原価 and sorts among the others
COSTS = {("PO-1", 1): 100, ("PO-1", 2): 250, ("PO-2", 1): 130, ("PO-3", 1): 99}
FALLBACK: dict[str, int | None] = {"A": 90, "B": None, "C": 120}  # D: no 原価 at all
START = datetime(2026, 9, 28, 9, 0)
KINDS = ("入庫", "出荷", "引当", "手動調整", "返品入庫", "棚卸", "不良振替")


@st.composite
def ledgers(draw: Any) -> list[LedgerRow]:
    """A ledger as Ichigen writes it: maybe 繰越 rows on top, then movements in time order;
    入庫 of a 発注 line (costed or not) and without one."""
    rows: list[LedgerRow] = []
    for sku in draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=3)):
        rows.append(
            LedgerRow(f"繰越:{sku}", "2026-09-01 00:00:00", sku, "繰越", draw(st.integers(0, 20)), "", False)
        )
    at = START
    for n in range(draw(st.integers(0, 40))):
        at += timedelta(hours=draw(st.integers(0, 90)))
        sku, kind = draw(st.sampled_from(SKUS)), draw(st.sampled_from(KINDS))
        quantity = draw(st.integers(-5, 5) if kind in ("手動調整", "棚卸") else st.integers(1, 9))
        movement_id = f"m{n}"
        if kind == "入庫":
            number, line = draw(st.sampled_from([*COSTS, ("PO-9", 1)]))
            movement_id = draw(st.sampled_from([f"入荷:{number}:{line}:{n}", f"入荷:発注なし:{n}", f"m{n}"]))
        rows.append(LedgerRow(movement_id, f"{at:%Y-%m-%d %H:%M:%S}", sku, kind, quantity, "楽天", False))
    return rows


ARCHIVED = ArchivedStock(
    months={"A": {"2026-08": 7}, "B": {"2026-07": 4, "2026-08": -1}},
    receipts={
        "A": [ArchivedReceipt("入荷:PO-1:1:0", "A", datetime(2026, 8, 3, 10), 7, 0)],
        "B": [ArchivedReceipt("入荷:PO-2:1:0", "B", datetime(2026, 7, 9, 10), 4, 0)],
    },
)


def facts(histories: dict[str, CostHistory]) -> list[tuple]:
    return [
        (sku, h.sku, h.fallback, h.changes, h.months, h.on_hand, h.known_from, h._keys, h._running, h._times)
        for sku, h in histories.items()
    ]


@settings(max_examples=300, deadline=None)
@given(ledger=ledgers(), cut=st.floats(0, 1), with_archive=st.booleans())
def test_extending_a_build_over_appended_movements_equals_folding_the_whole_ledger(
    ledger: list[LedgerRow], cut: float, with_archive: bool
) -> None:
    archived = ARCHIVED if with_archive else None
    split = round(cut * len(ledger))
    appended = ledger[split:]
    whole = cost_histories(ledger, COSTS, FALLBACK, archived)
    previous = cost_histories(ledger[:split], COSTS, FALLBACK, archived)
    before = facts(previous)
    extended = extend_histories(previous, appended, COSTS)
    if any(m.kind == "繰越" for m in appended):
        assert extended is None  # only a full build decides what the archive explains
        return
    assert extended is not None
    assert facts(extended) == facts(whole)
    assert facts(previous) == before  # the build other sessions may be reading is unchanged
    on_hand = {sku: h.on_hand for sku, h in whole.items()}
    assert stock_value(extended, on_hand, FALLBACK) == stock_value(whole, on_hand, FALLBACK)
    months = [date(2026, m, 1) for m in (7, 8, 9, 10, 11, 12)]
    now = datetime(2026, 12, 20, 12)
    assert month_end_values(extended, months, now) == month_end_values(whole, months, now)


def tables(costs: dict[tuple[str, int], int], fallback: dict[str, int | None]) -> dict[str, Any]:
    class Parsed:
        def __init__(self, models: list) -> None:
            self._models = models

        def models(self) -> list:
            return self._models

    lines = [
        PurchaseOrderLine.model_validate({"発注番号": n, "明細番号": ln, "SKU": "A", "数量": 1, "単価": c})
        for (n, ln), c in costs.items()
    ]
    products = [
        Product.model_validate(
            {"SKU": sku, "商品名": sku, "販売価格": 1000, **({"原価": c} if c is not None else {})}
        )
        for sku, c in fallback.items()
    ]
    return {PURCHASE_ORDER_LINES.title: Parsed(lines), PRODUCTS.title: Parsed(products)}


def rows(*specs: tuple[str, str, str, int]) -> list[LedgerRow]:
    return [
        LedgerRow(movement_id, f"2026-10-{i + 1:02d} 10:00:00", sku, kind, quantity, "楽天", False)
        for i, (movement_id, sku, kind, quantity) in enumerate(specs)
    ]


FIRST = rows(("入荷:PO-1:1:1", "A", "入庫", 10), ("m2", "A", "出荷", 4))
MORE = rows(("入荷:PO-1:1:1", "A", "入庫", 10), ("m2", "A", "出荷", 4), ("入荷:PO-1:2:3", "A", "入庫", 6))


def test_build_extends_only_after_an_append_with_the_same_costs() -> None:
    first = stock_history.build(tables(COSTS, FALLBACK), FIRST, None, None, None)
    again = stock_history.build(tables(COSTS, FALLBACK), MORE, None, None, None, first)
    assert facts(again.histories) == facts(cost_histories(MORE, COSTS, FALLBACK))
    # 6 units at 250 onto 6 left at 100: (600 + 1500) / 12 = 175
    assert again.histories["A"].cost[0] == 175
    assert again.histories["B"] is first.histories["B"]  # untouched SKUs are shared, not copied


def test_a_changed_unit_cost_an_edited_row_or_another_archive_folds_everything_again() -> None:
    first = stock_history.build(tables(COSTS, FALLBACK), FIRST, None, None, None)
    dearer = {**COSTS, ("PO-1", 1): 160}
    rebuilt = stock_history.build(tables(dearer, FALLBACK), MORE, None, None, None, first)
    assert rebuilt.histories["A"].cost[0] == (6 * 160 + 6 * 250) / 12  # the old 100 is gone
    edited = rows(
        ("入荷:PO-1:1:1", "A", "入庫", 8), ("m2", "A", "出荷", 4), ("入荷:PO-1:2:3", "A", "入庫", 6)
    )
    redone = stock_history.build(tables(COSTS, FALLBACK), edited, None, None, None, first)
    assert facts(redone.histories) == facts(cost_histories(edited, COSTS, FALLBACK))
    assert redone.histories["A"].cost[0] == (4 * 100 + 6 * 250) / 10
    archived = stock_history.build(tables(COSTS, FALLBACK), MORE, None, ARCHIVED, (5, 9), first)
    assert facts(archived.histories) == facts(cost_histories(MORE, COSTS, FALLBACK, ARCHIVED))
    changed = {**FALLBACK, "D": 70}
    priced = stock_history.build(tables(COSTS, changed), MORE, None, None, None, first)
    assert priced.histories["D"].cost == (70, "原価")
