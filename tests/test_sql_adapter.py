"""What only the SQL adapter has to prove: one transaction per job, stale jobs refused, WAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import CellUpdate, TabAppend, WriteJob
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.tabs import ORDERS, STOCK
from tests.conftest import SqlHarness


@pytest.fixture
def sql(tmp_path: Path) -> SqlHarness:
    made = SqlHarness(tmp_path / "data" / "workbook.sqlite3")
    ensure_tabs(made.workbook)
    made.staff_put(STOCK.title, [list(STOCK.headers), ["TWL-1", 10, 0, 2, 8], ["TWL-2", 3, 0, 1, 2]])
    return made


def test_the_file_and_its_folder_are_created_in_wal_mode(sql: SqlHarness, tmp_path: Path) -> None:
    assert (tmp_path / "data" / "workbook.sqlite3").exists()
    with sql.engine.connect() as conn:
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"


def test_a_job_is_all_or_nothing(sql: SqlHarness) -> None:
    tables = read_tables(sql.workbook)
    job = WriteJob()
    job.set(tables[STOCK.title], 2, {"引当数": 5})
    # A cell no backend can store makes the append fail after the update already ran.
    job.appends[ORDERS.title] = TabAppend(ORDERS.title, 2, [[object()]])  # type: ignore[list-item]
    job.headers[ORDERS.title] = list(ORDERS.headers)
    before = sql.stored(STOCK.title)
    with pytest.raises(WorkbookUnavailable, match="書き込めませんでした"):
        sql.workbook.write(job)
    assert sql.stored(STOCK.title) == before


def test_a_job_built_before_staff_moved_columns_is_refused(sql: SqlHarness) -> None:
    tables = read_tables(sql.workbook)
    sql.staff_put(
        STOCK.title,
        [["実在庫", "SKU", "引当数", "安全在庫", "販売可能数", "更新日時"], [10, "TWL-1", 0, 2, 8]],
    )
    job = WriteJob()
    job.set(tables[STOCK.title], 2, {"引当数": 5})
    with pytest.raises(StaleWorkbookError, match="「在庫」シートの列が読み込み後に変わりました"):
        sql.workbook.write(job)
    assert sql.stored(STOCK.title)[1] == ["10", "TWL-1", "0", "2", "8"]


def test_an_update_to_a_row_that_vanished_is_refused(sql: SqlHarness) -> None:
    tables = read_tables(sql.workbook)
    sql.staff_put(STOCK.title, [list(STOCK.headers), ["TWL-1", 10, 0, 2, 8]])
    job = WriteJob()
    job.updates.append(CellUpdate(STOCK.title, 3, 1, 7))
    job.headers[STOCK.title] = tables[STOCK.title].grid.header
    with pytest.raises(StaleWorkbookError, match="行が見つかりません"):
        sql.workbook.write(job)


def test_info_shows_the_file_path(sql: SqlHarness, tmp_path: Path) -> None:
    info = sql.workbook.info
    assert (info.backend, info.title) == ("sql", "workbook.sqlite3")
    assert info.location == str((tmp_path / "data" / "workbook.sqlite3").resolve())


def test_rows_decode_in_bulk_exactly_as_cell_by_cell() -> None:
    import json

    from sheets_schema.adapters.sql import _decode_rows
    from sheets_schema.grid import cell_text

    rows = [
        ["SKU-1", 5, -3, 0, 1.0, 2.5, 1e20, True, False, None, "", "1,980", "[x]"],
        [],
        ["{not json}", "a[b", [1, 2], {"k": 1}],
        [12345678901234567890, -0.0, 3.0e-5, "ＳＫＵ", "改行\n"],
    ]
    stored = [json.dumps(r, ensure_ascii=False) for r in rows]
    assert _decode_rows(stored) == [[cell_text(c) for c in r] for r in rows]
    assert _decode_rows(rows) == [[cell_text(c) for c in r] for r in rows]  # drivers that decode


@pytest.mark.parametrize("odd", [None, [1, 2], {"k": 1}, "a[b", "{x}"])
def test_a_tab_reads_back_cell_by_cell_whatever_its_cells_hold(tmp_path: Path, odd: Any) -> None:
    from sheets_schema.grid import cell_text
    from sheets_schema.workbook import NewTab

    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    rows = [["A", 5, -3, 1.0, 2.5, True, False, None, ""], ["B", odd, "x", "", "", "", "", "", ""], [], ["C"]]
    workbook.add_tabs([NewTab("t", tuple("abcdefghi"), False, tuple(tuple(r) for r in rows))])
    grid = workbook.read(["t"])["t"]
    assert grid.rows == [[cell_text(c) for c in r] + [""] * (9 - len(r)) for r in rows]
    tail = workbook.read(["t"], start_rows={"t": 4})["t"]
    assert (tail.first_row, tail.rows) == (4, grid.rows[2:])
