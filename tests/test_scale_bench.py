"""The scale bench's workbook is only worth its figures if it is what the engine would have
written: the ledger adds up to 在庫, the engine's movement IDs, nothing left to push or move."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from bench.scale_bench import FIELDS, build, measure, movement_id, verify, verify_totals
from sheets_schema.tabs import TAB_BY_TITLE
from sync.ledger import _movement


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "wb.sqlite3"
    stats = build(path, orders=2_000, per_day=200)  # 10 days: old orders closed, recent ones open
    assert (stats.orders_total, stats.orders_hot, stats.orders_archived) == (2_000, 2_000, 0)
    assert 1.2 < stats.lines / stats.orders_total < 1.45
    return path


def test_the_builder_writes_every_column_of_the_tabs_it_fills() -> None:
    # A new column only gets blank cells from the builder: decide here what it should hold.
    assert {title: TAB_BY_TITLE[title].headers for title in FIELDS} == FIELDS


@pytest.mark.parametrize("kind", ["引当", "引当解除", "出荷"])
@pytest.mark.parametrize("n", [1, 2])
def test_movement_ids_are_the_engines(kind: str, n: int) -> None:
    made = _movement(kind, ("楽天", "R000000001", 2), "SKU-00001", 1, n, datetime(2026, 1, 1), "")
    assert movement_id(kind, "楽天", "R000000001", 2, n) == made.movement_id


def test_full_parse_agrees_with_the_stock_tab(workbook: Path) -> None:
    assert verify(workbook) == []
    assert verify_totals(workbook) == []


def test_a_steady_cycle_has_nothing_to_do(workbook: Path) -> None:
    facts = measure(workbook, "steady", offset_seconds=60, skus=5_000)
    assert facts["problems"] == []
    assert (facts["movements"], facts["pushes"], facts["created"]) == (0, 0, 0)


def test_a_hundred_new_orders_are_imported_allocated_and_pushed(workbook: Path) -> None:
    facts = measure(workbook, "new100", offset_seconds=600, skus=5_000)
    assert facts["problems"] == []
    assert facts["created"] == 100 and facts["pushes"] > 0


def test_verify_notices_a_stock_tab_the_ledger_disagrees_with(workbook: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered.sqlite3"
    shutil.copyfile(workbook, copy)
    with sqlite3.connect(copy) as db:  # 実在庫 of the first 在庫 row, one more than the ledger says
        (tab_id,) = db.execute("SELECT id FROM ichigen_tabs WHERE title = '在庫'").fetchone()
        row, cells = db.execute(
            "SELECT row_number, cells FROM ichigen_rows WHERE tab_id = ? ORDER BY row_number LIMIT 1",
            (tab_id,),
        ).fetchone()
        cells = json.loads(cells)
        cells[1] += 1
        db.execute(
            "UPDATE ichigen_rows SET cells = ? WHERE tab_id = ? AND row_number = ?",
            (json.dumps(cells, ensure_ascii=False), tab_id, row),
        )
    for problems in (verify(copy), verify_totals(copy)):
        assert any(p.startswith(f"在庫 {cells[0]}:") for p in problems)
