"""Two saves on one page snapshot: the second is refused, naming the cell, what its author
loaded and what is there now; nothing of it is written. Person A saves 実在庫 19→14, person B
(who loaded the same 19) saves 19→29: B must not silently undo A's −5.

The planners on both adapters (the adapter refuses inside its check: the SQL transaction, the
Sheets pre-write batchGet), then the 商品・在庫 page and the 受注ボード as two sessions.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict
from shop import bulk_edit
from shop.orders.bulk_change import change_status
from tests.test_orders_board import NOW, ROWS, open_page, order_list, select_rows, stored
from tests.test_products_bulk_edit import click, diff, page

# The Sheets- and PostgreSQL-only workbooks, and the hybrid of Sheets (staff tabs) and PostgreSQL.
HARNESS_BACKENDS = ("sql", "google", "hybrid")

STOCK_ROWS = [
    {"SKU": "TWL-FACE-WH", "実在庫": 19, "安全在庫": 2},
    {"SKU": "MUG-AI", "実在庫": 7, "安全在庫": 0},
]


def stock_cell(harness: Any, sku: str, column: str) -> str:
    header, *rows = harness.stored("在庫")
    row = next(r for r in rows if r[0] == sku)
    at = header.index(column)
    return row[at] if at < len(row) else ""


@pytest.fixture
def stocked(harness: Any) -> Any:
    job = WriteJob()
    job.append(read_tables(harness.workbook)["在庫"], STOCK_ROWS)
    harness.workbook.write(job)
    return harness


def test_a_stock_save_on_a_stale_snapshot_is_refused_naming_the_cell(stocked: Any) -> None:
    a_loaded = read_tables(stocked.workbook)["在庫"]
    b_loaded = read_tables(stocked.workbook)["在庫"]  # the same snapshot, another screen
    a_plan = bulk_edit.plan_edits(a_loaded, bulk_edit.editor_frame(a_loaded), diff({0: {"実在庫": 14}}))
    stocked.workbook.write(a_plan.job(a_loaded))
    b_plan = bulk_edit.plan_edits(
        b_loaded, bulk_edit.editor_frame(b_loaded), diff({0: {"実在庫": 29}, 1: {"安全在庫": 1}})
    )
    assert b_plan.ok
    before = stocked.stored("在庫")
    with pytest.raises(CellConflict) as refused:
        stocked.workbook.write(b_plan.job(b_loaded))
    conflict = refused.value
    assert (conflict.tab, conflict.row, conflict.column, conflict.loaded, conflict.now) == (
        "在庫",
        2,
        "実在庫",
        "19",
        "14",
    )
    assert "「在庫」シート 2行目" in str(conflict) and "「実在庫」列" in str(conflict)
    assert "読み込んだときは「19」、今は「14」" in str(conflict)
    assert stocked.stored("在庫") == before  # not even B's other, unconflicted cell
    assert stock_cell(stocked, "TWL-FACE-WH", "実在庫") == "14"


def test_a_status_change_on_a_stale_board_is_refused_naming_the_cell(harness: Any) -> None:
    job = WriteJob()
    empty = read_tables(harness.workbook)
    for title in ("受注", "受注明細"):
        job.append(empty[title], ROWS[title])
    harness.workbook.write(job)
    shown = {("楽天", "R-1"): "新規"}  # what both screens showed
    a = change_status(read_tables(harness.workbook)["受注"], [("楽天", "R-1")], "発送待ち", now=NOW)
    harness.workbook.write(a.job)
    # B clicks on the old screen; the page reads 受注 afresh for the row numbers.
    fresh = read_tables(harness.workbook)["受注"]
    b = change_status(fresh, [("楽天", "R-1")], "保留", reason="住所確認", now=NOW, loaded=shown)
    with pytest.raises(CellConflict) as refused:
        harness.workbook.write(b.job)
    assert (refused.value.column, refused.value.loaded, refused.value.now) == (
        "ステータス",
        "新規",
        "発送待ち",
    )
    orders = {o.order_number: o for o in read_tables(harness.workbook)["受注"].models()}
    assert orders["R-1"].status == "発送待ち" and "住所確認" not in orders["R-1"].note


def test_the_stock_page_shows_the_conflict_and_writes_nothing(tmp_path: Path, fresh_caches: None) -> None:
    from tests.test_products_bulk_edit import _demo, grids

    url, workbook = _demo(tmp_path)
    person_a, person_b = page(url).run(), page(url).run()  # both screens drawn from one read
    first = read_tables(workbook)["在庫"].models()[0]
    person_a.session_state["stock_editor_0"] = diff({0: {"実在庫": first.on_hand - 5}})
    person_a.run()
    click(person_a, "stock_check")
    click(person_a, "stock_apply")
    assert not person_a.exception and any("反映しました" in s.value for s in person_a.success)
    after_a = grids(workbook)
    assert read_tables(workbook)["在庫"].models()[0].on_hand == first.on_hand - 5

    person_b.session_state["stock_editor_0"] = diff({0: {"実在庫": first.on_hand + 10}})
    person_b.run()
    click(person_b, "stock_check")
    click(person_b, "stock_apply")
    assert not person_b.exception
    shown = "\n".join(e.value for e in person_b.error)
    assert "「在庫」シート 2行目の「実在庫」列を変更しました" in shown
    assert f"読み込んだときは「{first.on_hand}」、今は「{first.on_hand - 5}」" in shown
    assert "何も書き込んでいません" in shown
    assert grids(workbook) == after_a  # A's −5 stands; no ledger movement for B either


def test_the_orders_board_shows_the_conflict_and_changes_nothing(sql_url: str, fresh_caches: None) -> None:
    # Whatever the hour: the demo has a 新規 order only with some luck (about one `now` in 20 has
    # none), so the test makes one of its 発送待ち orders 新規 first.
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": sql_url}}), datetime.now(JST))
    tables = read_tables(workbook)
    waiting = next(o for o in tables["受注"].models() if o.status == "発送待ち")
    workbook.write(
        change_status(
            tables["受注"], [(waiting.mall, waiting.order_number)], "新規", now=datetime.now(JST)
        ).job
    )
    person_b = open_page(sql_url)
    view = order_list(person_b).value
    position = next(i for i, s in enumerate(view["ステータス"]) if s == "新規")
    key = (view["モール"].iloc[position], view["注文番号"].iloc[position])
    select_rows(person_b, [position])
    person_b.selectbox(key="bulk_status").set_value("保留").run()
    person_b.text_input(key="bulk_reason").set_value("住所確認中")
    # Meanwhile person A, on another server (or in the sheet itself), ships the order on.
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    a = change_status(read_tables(workbook)["受注"], [key], "発送待ち", now=NOW)
    workbook.write(a.job)

    person_b.button(key="bulk_apply").click().run()
    assert not person_b.exception
    shown = "\n".join(e.value for e in person_b.error)
    assert "「ステータス」列を変更しました" in shown and "読み込んだときは「新規」、今は「発送待ち」" in shown
    assert "どの注文も変更していません" in shown
    row = next(o for o in stored(sql_url)["受注"].models() if (o.mall, o.order_number) == key)
    assert row.status == "発送待ち" and "住所確認中" not in row.note
