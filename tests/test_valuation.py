"""在庫金額 at moving-average cost, 粗利, 返品率 and the month-end valuation, on hand-computed
cases; and the archive's stock facts giving the same answers as the movements themselves."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import literal, select

from purchasing import ledger_rows as ledger_rows_module
from purchasing import stock_history
from purchasing.ledger_rows import from_movements, ledger_rows
from purchasing.return_rates import Flows, archived_flows, flows_in, return_rates
from purchasing.valuation import (
    COST,
    MOVING,
    UNKNOWN,
    cost_histories,
    month_end_values,
    receipt_cost,
    receipt_costs,
    stock_value,
)
from purchasing.velocity import units_sold, units_sold_with_archive
from sheets_schema import archive_ledger
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.driver_rows import driver_rows
from sheets_schema.models import PurchaseOrderLine, StockMovement
from sheets_schema.tabs import ORDER_LINES, ORDERS, STOCK_MOVEMENTS
from shop import analytics_margin as margin
from sync.ledger import EFFECTS
from vocabulary.statuses import ON_HAND_EFFECT

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=JST)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=JST)


def mv(
    mid: str, when: datetime, sku: str, kind: str, qty: int, mall: str = "", order: str = ""
) -> StockMovement:
    return StockMovement(
        movement_id=mid,
        at=when,
        sku=sku,
        kind=kind,
        quantity=qty,
        mall=mall,
        order_number=order or None,
        line_number=1 if order else None,
    )


def po_line(number: str, line: int, sku: str, cost: int | None) -> PurchaseOrderLine:
    return PurchaseOrderLine(number=number, line_number=line, sku=sku, quantity=100, unit_cost=cost)


LINES = [
    po_line("PO-1", 1, "A", 120),
    po_line("PO-2", 1, "A", 150),
    po_line("PO:3", 2, "D", 80),  # a 発注番号 with a colon in it
    po_line("PO-4", 1, "B", None),  # no 単価: not a costed receipt
]
# A: 10 counted at 原価 100 → +10 @120 → avg 110 → ship 5 → +5 @150 → (15·110 + 5·150) / 20 = 120.
LEDGER = [
    mv("棚卸:初期:A", at(10, 1), "A", "棚卸", 10),
    mv("入荷:PO-1:1:0+10", at(11, 10), "A", "入庫", 10),
    mv("出荷:A:1", at(11, 20), "A", "出荷", 5, "楽天", "R1"),
    mv("入荷:PO-2:1:0+5", at(12, 5), "A", "入庫", 5),
    # B: only a receipt without 発注 and one without 単価: valued at its 原価 300.
    mv("入荷:発注なし:tok", at(11, 1), "B", "入庫", 4),
    mv("入荷:PO-4:1:0+2", at(11, 2), "B", "入庫", 2),
    # C: no 原価, no costed receipt: unknown, never 0 yen.
    mv("手動調整:C", at(11, 3), "C", "手動調整", 7),
    # D: no 原価; 2 units before its first costed receipt take the receipt's 単価 (3 @80).
    mv("手動調整:D", at(11, 3), "D", "手動調整", 2),
    mv("入荷:PO:3:2:0+3", at(11, 4), "D", "入庫", 3),
    # E: sold out, then received: the average restarts at the receipt's 単価.
    mv("手動調整:E", at(11, 1), "E", "手動調整", 1),
    mv("入荷:PO-1:1:10+1", at(11, 1, 11), "E", "入庫", 1),  # PO-1 line 1 is A's, 単価 120
    mv("出荷:E:1", at(11, 2), "E", "出荷", 2, "Amazon", "A1"),
]
FALLBACK = {"A": 100, "B": 300, "C": None, "D": None, "E": 50}


def histories() -> dict:
    return cost_histories(from_movements(LEDGER), receipt_costs(LINES), FALLBACK)


def test_the_effects_agree_with_the_sync_ledger() -> None:
    assert {kind: hand for kind, (hand, _) in EFFECTS.items()} == ON_HAND_EFFECT


def test_receipt_ids_name_their_line_and_others_have_no_cost() -> None:
    costs = receipt_costs(LINES)
    assert receipt_cost("入荷:PO-1:1:0+10", costs) == 120
    assert receipt_cost("入荷:PO:3:2:0+3", costs) == 80
    assert receipt_cost("入荷:PO-4:1:0+2", costs) is None
    assert receipt_cost("入荷:発注なし:PO-1:1:x", costs) is None
    assert receipt_cost("棚卸:初期:A", costs) is None


def test_moving_average_across_two_receipts_and_the_fallbacks() -> None:
    found = histories()
    assert found["A"].cost == (Fraction(120), MOVING)
    assert found["A"].cost_at(datetime(2026, 12, 1)) == (Fraction(110), MOVING)
    assert found["A"].cost_at(datetime(2026, 11, 1)) == (Fraction(100), COST)
    assert found["B"].cost == (Fraction(300), COST)
    assert found["C"].cost == (None, UNKNOWN)
    assert found["D"].cost == (Fraction(80), MOVING)
    on_hand = {"A": 20, "B": 6, "C": 7, "D": 5, "E": 0, "F": 3}
    value = stock_value(found, on_hand, {**FALLBACK, "F": 1000})
    rows = {r.sku: (r.value, r.basis) for r in value.rows}
    assert rows == {
        "A": (2400, MOVING),
        "B": (1800, COST),
        "C": (None, UNKNOWN),
        "D": (400, MOVING),
        "E": (0, MOVING),
        "F": (3000, COST),  # in 在庫, never moved: at its 原価
    }
    assert value.total == 2400 + 1800 + 400 + 3000
    assert (value.skus(MOVING), value.skus(COST), value.skus(UNKNOWN)) == (2, 2, 1)


def test_a_fractional_average_is_exact_and_rounded_half_up_only_when_valued() -> None:
    ledger = [
        mv("入荷:P:1:0+3", at(11, 1), "X", "入庫", 3),
        mv("入荷:P:2:3+1", at(11, 2), "X", "入庫", 1),
        mv("出荷:X", at(11, 3), "X", "出荷", 2),
    ]
    costs = {("P", 1): 100, ("P", 2): 101}
    found = cost_histories(from_movements(ledger), costs, {"X": None})
    assert found["X"].cost == (Fraction(401, 4), MOVING)  # 100.25
    assert stock_value(found, {"X": 2}, {}).total == 201  # 200.5 rounds up
    assert stock_value(found, {"X": -3}, {}).total == 0


def test_month_end_valuation_uses_the_stock_and_the_average_at_each_end() -> None:
    months = month_end_values(histories(), [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)], NOW)
    by_month = {m.month: {r.sku: (r.on_hand, r.value, r.basis) for r in m.rows} for m in months}
    assert by_month[date(2026, 10, 1)] == {"A": (10, 1000, COST)}
    assert by_month[date(2026, 11, 1)] == {
        "A": (15, 1650, MOVING),
        "B": (6, 1800, COST),
        "C": (7, None, UNKNOWN),
        "D": (5, 400, MOVING),
    }
    assert by_month[date(2026, 12, 1)]["A"] == (20, 2400, MOVING)
    november = months[1]
    assert (november.units, november.value, november.skus(UNKNOWN)) == (33, 3850, 1)
    assert months[2].at == datetime(2026, 12, 20, 12, 0)  # the month still running: as of now


def test_an_opening_balance_without_its_archive_is_at_cost_and_earlier_months_unknown() -> None:
    ledger = [mv("繰越:A", at(11, 1), "A", "繰越", 8), mv("入荷:PO-1:1:8+2", at(11, 5), "A", "入庫", 2)]
    found = cost_histories(from_movements(ledger), receipt_costs(LINES), {"A": 100})
    assert found["A"].cost == (Fraction(8 * 100 + 2 * 120, 10), MOVING)  # 104
    months = month_end_values(found, [date(2026, 10, 1), date(2026, 11, 1)], NOW)
    assert months[0].unknown_history == 1 and months[0].rows == []
    assert [(r.on_hand, r.value) for r in months[1].rows] == [(10, 1040)]


def _lines(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["日", "モール", "SKU", "キャンセル", "在庫引当", "数量", "商品売上"])
    frame["日"] = pd.to_datetime(frame["日"]).astype("datetime64[us]")
    return frame


def test_gross_margin_per_sku_and_mall_at_the_cost_of_the_order_day() -> None:
    lines = _lines(
        [
            ("2026-11-20", "楽天", "A", False, False, 2, 600),  # A at 110 (after PO-1)
            ("2026-12-05", "楽天", "A", False, True, 1, 300),  # PO-2 arrived that day: 120
            ("2026-12-06", "Amazon", "A", False, True, 1, 300),
            ("2026-12-06", "Amazon", "A", True, True, 9, 2700),  # cancelled: left out
            ("2026-11-20", "楽天", "B", False, True, 1, 500),  # B at 原価 300
            ("2026-11-20", "Amazon", "C", False, True, 1, 900),  # C: unknown
        ]
    )
    costed = margin.costed_lines(lines, histories())
    by_sku = margin.margin_by_sku(costed, pd.Series({"A": "エー"})).set_index("SKU")
    assert by_sku.loc["A", ["商品名", "数量", "商品売上", "売上原価", "粗利"]].tolist() == [
        "エー",
        4,
        1200,
        460,
        740,
    ]
    assert by_sku.loc["A", "粗利率（%）"] == pytest.approx(61.7)
    assert by_sku.loc["A", "原価の根拠"] == MOVING
    assert by_sku.loc["B", ["売上原価", "粗利", "原価の根拠"]].tolist() == [300, 200, COST]
    assert pd.isna(by_sku.loc["C", "売上原価"]) and pd.isna(by_sku.loc["C", "粗利"])
    assert by_sku.loc["C", "原価の根拠"] == UNKNOWN
    assert list(by_sku.index) == ["A", "B", "C"]  # unknown last
    by_mall = margin.margin_by_mall(costed, ["楽天", "Amazon"]).set_index("モール")
    assert by_mall.loc["楽天"].tolist()[:4] == [1400, 220 + 120 + 300, 1400 - 640, pytest.approx(54.3)]
    assert by_mall.loc["Amazon", ["商品売上", "売上原価", "粗利", "原価不明の商品売上"]].tolist() == [
        1200,
        120,
        180,
        900,
    ]


def test_return_rates_count_returns_against_orders_over_shipped_units() -> None:
    movements = [
        mv("出荷:1", at(11, 1), "A", "出荷", 30, "楽天", "R1"),
        mv("出荷:2", at(11, 2), "A", "出荷", 10, "Amazon", "A1"),
        mv("返品:1", at(11, 5), "A", "返品入庫", 2, "楽天", "R1"),
        mv("不良:1", at(11, 6), "A", "不良入庫", 1, "Amazon", "A1"),
        mv("不良:2", at(11, 6), "A", "不良入庫", 5),  # defective on arrival: not a return
        mv("返品:2", at(12, 1), "A", "返品入庫", 4, "楽天", "R1"),  # after the period
        mv("返品:3", at(11, 7), "B", "返品入庫", 1, "楽天", "R9"),  # shipped before the period
    ]
    flows = flows_in(from_movements(movements), date(2026, 11, 1), date(2026, 11, 30))
    rates = {r.sku: r for r in return_rates(flows)}
    assert (rates["A"].shipped, rates["A"].returned, rates["A"].defective, rates["A"].rate) == (40, 3, 1, 7.5)
    assert rates["B"].rate is None and rates["B"].returned == 1
    assert [r.sku for r in return_rates(flows)] == ["A", "B"]
    rakuten = {r.sku: r for r in return_rates(flows, ["楽天"])}
    assert rakuten["A"].rate == pytest.approx(6.7)  # 2 / 30
    more = archived_flows([("A", "楽天", "出荷", True, 60), ("A", "楽天", "返品入庫", True, 1)], Flows())
    both = archived_flows(
        [], flows_in(from_movements(movements), date(2026, 11, 1), date(2026, 11, 30), more)
    )
    assert {r.sku: r.rate for r in return_rates(both)}["A"] == 4.0  # 4 / 100


def test_units_sold_counts_what_stock_cover_counts() -> None:
    lines = _lines(
        [
            ("2026-12-06", "楽天", "A", False, True, 3, 0),
            ("2026-11-07", "楽天", "A", False, True, 2, 0),  # the window's first day
            ("2026-11-06", "楽天", "A", False, True, 50, 0),  # before it
            ("2026-12-06", "楽天", "A", True, True, 9, 0),  # cancelled
            ("2026-12-06", "Amazon", "A", False, False, 7, 0),  # FBA
        ]
    )
    assert units_sold(lines, date(2026, 12, 6), 30) == {"A": 5}


# -- the archive's stock facts


def _archive_with(tmp_path: Path, movements: list[StockMovement]) -> tuple[Archive, Path]:
    path = tmp_path / "archive.sqlite3"
    archive = Archive(f"sqlite:///{path}")
    archive.copy(STOCK_MOVEMENTS, movements)
    return archive, path


def _expected_facts(path: Path) -> tuple[list, list]:
    effect = " ".join(f"WHEN '{k}' THEN {e}" for k, e in ON_HAND_EFFECT.items())
    signed = f"CASE 区分 {effect} ELSE 0 END * 数量"
    with sqlite3.connect(path) as db:
        months = db.execute(
            f"SELECT SKU, substr(日時, 1, 7), sum({signed}) FROM stock_movements GROUP BY 1, 2"
        ).fetchall()
        receipts = [
            (
                mid,
                sku,
                when,
                n,
                sum(e for (s, w, i, e) in rows if s == sku and w[:7] == when[:7] and (w, i) < (when, mid)),
            )
            for rows in [db.execute(f"SELECT SKU, 日時, 移動ID, {signed} FROM stock_movements").fetchall()]
            for (mid, sku, when, n) in db.execute(
                "SELECT 移動ID, SKU, 日時, 数量 FROM stock_movements WHERE 区分 = '入庫'"
            ).fetchall()
        ]
    return sorted(months), sorted(receipts)


def test_stock_facts_equal_the_aggregation_after_copies_in_any_order(tmp_path: Path) -> None:
    archive, path = _archive_with(tmp_path, LEDGER[5:])
    archive.copy(STOCK_MOVEMENTS, LEDGER[:3])
    archive.copy(STOCK_MOVEMENTS, LEDGER)  # a pass run again: nothing changes
    months, receipts = _expected_facts(path)
    assert sorted(archive_ledger.month_changes(archive)) == months
    assert sorted(archive_ledger.receipts(archive)) == receipts
    archive.engine.dispose()
    with sqlite3.connect(path) as db:
        for table in (archive_ledger.MONTH_FACTS, archive_ledger.RECEIPT_FACTS):
            db.execute(f"DROP TABLE {table}")
    reopened = Archive(f"sqlite:///{path}")  # an archive from before the facts: built once
    assert sorted(archive_ledger.month_changes(reopened)) == months
    assert sorted(archive_ledger.receipts(reopened)) == receipts


def test_stock_facts_read_alike_on_postgresql_as_the_drivers_own_typed_tuples(
    tmp_path: Path, pg_url: str
) -> None:
    """Valuation reads the facts through the driver's cursor (no SQLAlchemy row processing):
    on PostgreSQL the same rows, str and int as on SQLite, receipts in SKU, 日時, 移動ID order."""
    lite, path = _archive_with(tmp_path, LEDGER)
    server = Archive(pg_url)
    server.copy(STOCK_MOVEMENTS, LEDGER)
    months, receipts = _expected_facts(path)
    for archive in (lite, server):
        assert sorted(archive_ledger.month_changes(archive)) == months
        found = archive_ledger.receipts(archive)
        assert found == sorted(receipts, key=lambda r: (r[1], r[2], r[0]))
        assert {tuple(map(type, r)) for r in archive_ledger.month_changes(archive)} == {(str, str, int)}
        assert {tuple(map(type, r)) for r in found} == {(str, str, str, int, int)}
    assert stock_history.archived_stock(server) == stock_history.archived_stock(lite)
    server.engine.dispose()
    facts = lite.ledger_facts[archive_ledger.MONTH_FACTS]
    for archive in (lite, Archive(pg_url)):  # parameters, an IN list among them, on both
        asked = (
            select(literal("A").label("s"), facts.c["月"], facts.c["増減"])
            .where(facts.c["SKU"] == "A", facts.c["月"].in_(["2026-10", "2026-12"]))
            .order_by(facts.c["月"])
        )
        with archive.engine.connect() as conn:
            assert driver_rows(conn, asked) == [tuple(r) for r in conn.execute(asked)] != []
            with pytest.raises(TypeError):  # a value the driver would take otherwise than SQLAlchemy
                driver_rows(conn, select(facts.c["SKU"]).where(facts.c["増減"] > 1.5))
        archive.engine.dispose()


def test_valuation_through_the_archive_equals_the_whole_ledger(tmp_path: Path) -> None:
    archived = [m for m in LEDGER if m.at < at(11, 15)]
    carried: dict[str, int] = {}
    for m in archived:
        carried[m.sku] = carried.get(m.sku, 0) + ON_HAND_EFFECT[m.kind] * m.quantity
    openings = [mv(f"繰越:{sku}", at(11, 15), sku, "繰越", n) for sku, n in carried.items()]
    hot = openings + [m for m in LEDGER if m.at >= at(11, 15)]
    archive, _ = _archive_with(tmp_path, archived)
    tables = {
        "発注明細": _FakeTable(LINES),
        "商品": _FakeTable([_Product(s, c) for s, c in FALLBACK.items()]),
    }
    through = stock_history.histories(tables, from_movements(hot), archive)
    whole = histories()
    months = [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert {s: h.cost for s, h in through.items()} == {s: h.cost for s, h in whole.items()}
    assert _month_rows(through, months) == _month_rows(whole, months)
    # A pass stopped between its copy and its delete: a row in the archive and the ledger both.
    archive.copy(STOCK_MOVEMENTS, [LEDGER[2]])
    assert stock_history.doubled_ids(archive, from_movements(hot)) == {LEDGER[2].movement_id}
    again = stock_history.histories(tables, from_movements(hot), archive)
    assert {s: h.cost for s, h in again.items()} == {s: h.cost for s, h in whole.items()}
    assert _month_rows(again, months) == _month_rows(whole, months)


def _month_rows(found: dict, months: list[date]) -> list:
    return [
        sorted((r.sku, r.on_hand, r.value, r.basis) for r in m.rows)
        for m in month_end_values(found, months, NOW)
    ]


class _FakeTable:
    def __init__(self, rows: list) -> None:
        self.rows = rows

    def models(self) -> list:
        return list(self.rows)


class _Product:
    def __init__(self, sku: str, cost: int | None) -> None:
        self.sku, self.cost = sku, cost


def test_ledger_rows_from_raw_cells_equal_the_parsed_rows_and_odd_cells_fall_back() -> None:
    from sheets_schema.changes import model_cells
    from sheets_schema.grid import Grid

    header = list(STOCK_MOVEMENTS.headers)
    cells = [
        [str(model_cells(m)[h] if model_cells(m)[h] is not None else "") for h in header] for m in LEDGER
    ]
    grid = Grid(STOCK_MOVEMENTS.title, header, [row[:] for row in cells])
    assert ledger_rows(grid) == from_movements(LEDGER)
    assert ledger_rows_module._fast(grid) == from_movements(LEDGER)  # Ichigen's form: no parse
    odd = [row[:] for row in cells]
    odd[1][header.index("数量")] = "１０"  # full-width: valid, but not Ichigen's form
    odd[2][header.index("日時")] = "2026/11/20 10:00"
    odd[3][header.index("数量")] = "たくさん"  # an input error: left out, as parse_grid does
    odd.append(cells[0][:])  # a 移動ID twice: the second is an error
    assert ledger_rows(Grid(STOCK_MOVEMENTS.title, header, odd)) == [
        r for i, r in enumerate(from_movements(LEDGER)) if i != 3
    ]
    assert ledger_rows(None) == []


def test_units_sold_with_the_archive_counts_each_order_once(tmp_path: Path) -> None:
    from shop import analytics
    from tests.test_analytics import make_tables

    tables = make_tables()
    base = analytics.build_base(tables)
    today = date(2026, 2, 10)
    everything = units_sold(base.lines, today, 60)
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    orders, lines = tables["受注"].models(), tables["受注明細"].models()
    old = {  # what a pass moves: closed orders
        (o.mall, o.order_number)
        for o in orders
        if o.ordered_at.date() < date(2026, 1, 20) and o.status in ("出荷済", "キャンセル")
    }
    assert len(old) >= 3
    archive.copy(ORDERS, [o for o in orders if (o.mall, o.order_number) in old])
    archive.copy(ORDER_LINES, [ln for ln in lines if (ln.mall, ln.order_number) in old])
    # The workbook still holds the archived orders too (a pass stopped before its delete).
    assert units_sold_with_archive(base, archive, today, 60, after_days=0) == everything
    hot = analytics.without_orders(base, old)
    assert units_sold_with_archive(hot, archive, today, 60) == everything
    archived = analytics.without_orders(base, {(o.mall, o.order_number) for o in orders} - old)
    assert archive.sold_units("2026-01-01", "2026-01-20") == units_sold(archived.lines, date(2026, 1, 19), 19)


def test_the_basis_of_a_sku_names_every_cost_its_units_had() -> None:
    costed = pd.DataFrame(
        {
            "SKU": ["A", "A", "B", "C", "C", "D"],
            "根拠": [MOVING, COST, COST, UNKNOWN, MOVING, UNKNOWN],
        }
    )
    assert margin._basis(costed).to_dict() == {
        "A": "移動平均・原価",
        "B": COST,
        "C": margin.PARTLY,
        "D": UNKNOWN,
    }


def test_the_summary_gains_month_end_stock_and_the_excel_file_its_detail() -> None:
    import io

    import openpyxl

    from shop import analytics

    months = month_end_values(histories(), [date(2026, 11, 1), date(2026, 12, 1)], NOW)
    summary = pd.DataFrame({"月": ["2026年10月", "2026年11月", "2026年12月"], "売上": [0, 0, 0]})
    shown = margin.with_valuation(summary, months)
    assert shown["月末在庫数"].tolist()[1:] == [33, 38] and pd.isna(shown["月末在庫数"].iloc[0])
    assert shown["月末在庫金額"].tolist()[1:] == [3850, 2400 + 1800 + 400]
    assert shown["原価不明SKU"].tolist()[1:] == [1, 1]
    names = pd.Series({"A": "エー"})
    detail = margin.valuation_detail(months, names)
    assert detail.iloc[0].tolist() == ["2026年11月", "A", "エー", 15, 110.0, 1650, MOVING]
    book = openpyxl.load_workbook(io.BytesIO(analytics.summary_xlsx(shown, more={"月末在庫評価": detail})))
    assert book.sheetnames == ["月次サマリー", "月末在庫評価"]
    rows = list(book["月末在庫評価"].iter_rows(values_only=True))
    assert rows[0] == ("月", "SKU", "商品名", "月末実在庫", "単価", "在庫金額", "原価の根拠")
    assert ("2026年11月", "C", None, 7, None, None, UNKNOWN) in rows  # unknown: empty, never 0
    assert book["月次サマリー"]["B2"].value == 0 and book["月次サマリー"]["I2"].value is None
