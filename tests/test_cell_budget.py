"""ホーム's cell budget, computed from a real (SQLite) workbook."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDERS
from shop.cell_budget import CELL_LIMIT, CellBudget, cell_budget, orders_per_day

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)


def test_usage_is_shown_with_separators_and_a_whole_percentage() -> None:
    assert CellBudget(1_234_567).usage_text() == "セル使用量: 1,234,567 / 10,000,000（12%）"
    assert CellBudget(1_234_567).pace_text() is None


@pytest.mark.parametrize(("used", "warn"), [(6_999_999, False), (7_000_000, True), (CELL_LIMIT, True)])
def test_staff_are_warned_from_70_percent(used: int, warn: bool) -> None:
    assert CellBudget(used).warn is warn


def test_days_left_is_the_remaining_cells_at_the_daily_pace() -> None:
    budget = CellBudget(4_000_000, cells_per_day=20_000.0)
    assert budget.days_left == 300
    assert budget.pace_text() == "このペースだと約300日で上限に達します"
    slow = CellBudget(4_000_000, cells_per_day=2_000.0)
    assert slow.days_left == 3_000
    assert slow.pace_text() == "このペースなら1年以上は上限に達しません"  # not "約3,000日"
    assert CellBudget(CELL_LIMIT + 5, cells_per_day=10.0).days_left == 0
    assert CellBudget(100, cells_per_day=0.0).days_left is None  # no recent orders: no pace


def test_less_than_a_week_of_orders_gives_no_pace() -> None:
    assert orders_per_day([NOW - timedelta(days=6, hours=23)] * 50, NOW) is None
    assert orders_per_day([], NOW) is None


def test_the_pace_is_taken_over_the_last_30_days_or_the_shop_s_age() -> None:
    young = [NOW - timedelta(days=d) for d in range(10) for _ in range(3)]
    young[-1] = NOW - timedelta(days=10)  # the oldest order sets the age: 10 days
    assert orders_per_day(young, NOW) == pytest.approx(3.0)
    old = [NOW - timedelta(days=d) for d in range(0, 30)] + [NOW - timedelta(days=200)] * 100
    assert orders_per_day(old, NOW) == pytest.approx(1.0)  # the 100 old orders are left out


def test_the_budget_of_a_real_workbook(tmp_path: Path) -> None:
    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    job = WriteJob()
    job.append(
        read_tables(workbook)[ORDERS.title],
        [
            {
                "モール": "楽天",
                "注文番号": f"{day}-{n}",
                "注文日時": NOW - timedelta(days=day, hours=1),
                "ステータス": "新規",
                "合計金額": 1000,
            }
            for day in range(20)
            for n in range(3)
        ],
    )
    workbook.write(job)
    budget = cell_budget(workbook.cells_used(), read_tables(workbook), NOW)
    # 60 orders since the first, 19 days and 1 hour ago; each one 受注 row as wide as its header.
    assert budget.cells_per_day == pytest.approx(60 / (19 + 1 / 24) * len(ORDERS.headers))
    assert budget.used == workbook.cells_used() >= 61 * len(ORDERS.headers)
    assert budget.days_left == int((CELL_LIMIT - budget.used) // budget.cells_per_day)
    assert not budget.warn


def test_the_budget_counts_the_ledger_rows_of_a_snapshot_without_parsing_them(tmp_path: Path) -> None:
    from sheets_schema.book import LazyTables
    from sheets_schema.tabs import ORDER_LINES, STOCK_MOVEMENTS

    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    job = WriteJob()
    orders = [
        {"モール": "楽天", "注文番号": f"R{n}", "注文日時": NOW - timedelta(days=n), "ステータス": "新規"}
        for n in range(10)
    ]
    job.append(read_tables(workbook)[ORDERS.title], orders)
    workbook.write(job)
    lazy = LazyTables(workbook)
    assert STOCK_MOVEMENTS.title in lazy and "no such tab" not in lazy
    budget = cell_budget(workbook.cells_used(), lazy, NOW)
    assert (
        budget.cells_per_day == cell_budget(workbook.cells_used(), read_tables(workbook), NOW).cells_per_day
    )
    assert set(lazy._parsed) == {ORDERS.title}  # the lines and the ledger were only counted,
    assert lazy._raw == {}  # in the database: not read either
    assert lazy[ORDER_LINES.title].grid is lazy.grid(ORDER_LINES.title)  # parsed from that read
