"""The count sheet as a file staff print, fill in and upload again: CSV (UTF-8 with BOM, so
Excel opens it in Japanese) or .xlsx, and reading a filled-in one back with every problem named
by file, row and column. Nothing is applied while any row is wrong.

Columns: 棚番, SKU, 商品名, 帳簿在庫, 実数 (blank: to be counted), then 棚卸ID, 帳簿日時 and 照合
that say which stocktake a row belongs to. 照合 is a short code of the row's 棚卸ID, 帳簿日時,
SKU and 帳簿在庫: applying computes ``実数 − 帳簿在庫`` from the file, so a 帳簿在庫 typed over
(a count put in the wrong column) or a SKU whose zeros Excel dropped must be caught, not
applied. The code is letters only, so Excel never reads it as a number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook as XlsxWorkbook
from openpyxl.cell import WriteOnlyCell

from purchasing.stocktake import Counts, CountSheet
from sheets_schema.cells import JST
from sheets_schema.grid import Grid
from sheets_schema.xlsx import read_xlsx_data
from vocabulary import limits
from vocabulary.text import (
    csv_problem,
    decode_staff_file,
    neutralise_formula,
    normalise_text,
    restore_formula_text,
)

SHEET_TITLE = "棚卸表"
COLUMNS = ("棚番", "SKU", "商品名", "帳簿在庫", "実数", "棚卸ID", "帳簿日時", "照合")
REQUIRED = ("SKU", "帳簿在庫", "実数", "棚卸ID", "帳簿日時", "照合")
STAMP = "%Y-%m-%d %H:%M"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_INTEGER = re.compile(r"-?\d+")


def check_code(stocktake_id: str, counted_at: datetime, sku: str, book: int) -> str:
    digest = hashlib.sha256(f"{stocktake_id}|{counted_at:{STAMP}}|{sku}|{book}".encode()).digest()
    return "".join(_LETTERS[b % len(_LETTERS)] for b in digest[:6])


def sheet_rows(sheet: CountSheet) -> list[list[str]]:
    """The sheet's rows as cell text, 実数 blank."""
    stamp = f"{sheet.counted_at:{STAMP}}"
    return [
        [
            r.location,
            r.sku,
            r.name,
            str(r.book),
            "",
            sheet.stocktake_id,
            stamp,
            check_code(sheet.stocktake_id, sheet.counted_at, r.sku, r.book),
        ]
        for r in sheet.rows
    ]


def typed_grid(sheet: CountSheet, counted: Mapping[str, object]) -> Grid:
    """The sheet with counts typed on screen (SKU -> 実数; None or "" not counted), as a grid
    read like an uploaded file: one set of checks for both ways of entering counts."""
    rows = sheet_rows(sheet)
    at_sku, at_count = COLUMNS.index("SKU"), COLUMNS.index("実数")
    for row in rows:
        value = counted.get(row[at_sku])
        row[at_count] = "" if value is None else _typed_text(value)
    return Grid(SHEET_TITLE, list(COLUMNS), rows)


def _typed_text(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: a cell emptied in the editor
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def file_name(sheet: CountSheet, suffix: str) -> str:
    return f"{SHEET_TITLE}_{sheet.stocktake_id}.{suffix}"


def to_csv(sheet: CountSheet) -> bytes:
    """A cell Excel would run as a formula (a product named ``=HYPERLINK(…)``) gets a 全角スペース
    in front; reading the file back takes it off again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in sheet_rows(sheet):
        writer.writerow([neutralise_formula(c, keep_numbers=True) for c in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(sheet: CountSheet) -> bytes:
    """帳簿在庫 as numbers; every other cell as text (a SKU keeps its zeros, a formula-looking
    name is a string Excel shows, never runs)."""
    book = XlsxWorkbook(write_only=True)
    ws = book.create_sheet(SHEET_TITLE)
    for column, width in zip("ABCDEFGH", (10, 16, 32, 10, 10, 24, 18, 10), strict=True):
        ws.column_dimensions[column].width = width
    ws.append(list(COLUMNS))
    at_book = COLUMNS.index("帳簿在庫")
    for row in sheet_rows(sheet):
        cells: list[object] = []
        for i, text in enumerate(row):
            if i == at_book:
                cells.append(int(text))
            elif text == "":
                cells.append(None)
            else:
                cell = WriteOnlyCell(ws, value=text)
                cell.data_type = "s"
                cell.number_format = "@"
                cells.append(cell)
        ws.append(cells)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "count.xlsx"
        book.save(path)
        return path.read_bytes()


def read_count_file(name: str, data: bytes) -> tuple[Grid | None, list[str]]:
    """An uploaded count sheet as a grid (row 2 = the first data row), or why it cannot be read."""
    suffix = Path(name).suffix.lower()
    if not data:
        return None, [f"「{name}」: ファイルが空です"]
    if suffix == ".csv":
        text = decode_staff_file(data)
        if text is None:
            return None, [
                f"「{name}」: 文字コードを読み取れません。UTF-8 か Shift_JIS（CP932）で保存してください"
            ]
        try:
            values = [
                [restore_formula_text(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))
            ]
        except csv.Error as exc:
            return None, [f"「{name}」: {csv_problem(exc)}"]
        return Grid.from_values(name, values), []
    if suffix == ".xlsx":
        try:
            sheets = read_xlsx_data(data)
        except Exception:  # a damaged or password-protected file: openpyxl raises many kinds
            return None, [f"「{name}」: Excel ファイルを開けません。.xlsx 形式で保存し直してください"]
        grid = sheets.get(SHEET_TITLE) or (next(iter(sheets.values())) if len(sheets) == 1 else None)
        if grid is None:
            return None, [f"「{name}」: 「{SHEET_TITLE}」シートがありません"]
        grid.rows = [[restore_formula_text(c) for c in row] for row in grid.rows]
        return grid, []
    return None, [f"「{name}」: CSV（.csv）か Excel（.xlsx）のファイルを選んでください"]


def _integer(text: str) -> int | None:
    text = normalise_text(text).replace(",", "").replace("−", "-")
    if _INTEGER.fullmatch(text):
        return int(text)
    if re.fullmatch(r"-?\d+\.0+", text):  # Excel's 12.0
        return int(float(text))
    return None


def parse_counts(grid: Grid, source: str, known_skus: Collection[str]) -> tuple[Counts | None, list[str]]:
    """The counts of a filled-in sheet, or every problem with it (then no counts at all)."""
    errors: list[str] = []

    def error(row: int, column: str, message: str, value: str = "") -> None:
        shown = f"（入力値: 「{value}」）" if value else ""
        errors.append(f"「{source}」 {row}行目 「{column}」列: {message}{shown}")

    header = [h.strip() for h in grid.header]
    for name in REQUIRED:
        if header.count(name) != 1:
            what = "がありません" if name not in header else "が複数あります"
            errors.append(
                f"「{source}」 1行目: 「{name}」列{what}。Ichigen で作った棚卸表の見出しのまま使ってください"
            )
    if errors:
        return None, errors
    at = {name: header.index(name) for name in REQUIRED}
    stocktake_id, counted_at = "", None
    book: dict[str, int] = {}
    counted: dict[str, int] = {}
    first_row: dict[str, int] = {}
    for index, cells in enumerate(grid.rows):
        row = index + grid.first_row
        cell = {name: (cells[i] if i < len(cells) else "").strip() for name, i in at.items()}
        if not any(c.strip() for c in cells):
            continue
        sku = cell["SKU"]
        if not sku:
            error(row, "SKU", "空欄にはできません")
            continue
        if sku in first_row:
            error(row, "SKU", f"{first_row[sku]}行目と同じSKUです。1つのSKUは1行にしてください", sku)
            continue
        first_row[sku] = row
        if sku not in known_skus:
            if cell["実数"]:  # a product deleted since, left uncounted, is no problem
                error(row, "SKU", "商品シートにないSKUです（入力エラーのある商品も数えられません）", sku)
            continue
        row_id = cell["棚卸ID"]
        if not stocktake_id:
            stocktake_id = row_id
        if not row_id or row_id != stocktake_id:
            error(
                row,
                "棚卸ID",
                f"1つのファイルには1回の棚卸（{stocktake_id or '？'}）の行だけを入れてください",
                row_id,
            )
            continue
        when = _stamp(cell["帳簿日時"])
        if when is None:
            error(row, "帳簿日時", "棚卸表を作ったときの日時のままにしてください", cell["帳簿日時"])
            continue
        counted_at = counted_at or when
        if when != counted_at:
            error(row, "帳簿日時", f"ほかの行（{counted_at:{STAMP}}）と違います", cell["帳簿日時"])
            continue
        value = _integer(cell["帳簿在庫"])
        if value is None or check_code(stocktake_id, when, sku, value) != cell["照合"].upper():
            error(
                row,
                "帳簿在庫",
                "棚卸表を作ったときの値から変わっています。帳簿在庫・SKU・照合は書き換えず、数えた数は「実数」列に入れてください",
                cell["帳簿在庫"],
            )
            continue
        book[sku] = value
        raw = cell["実数"]
        if not raw:
            continue  # not counted: left as it is
        number = _integer(raw)
        if number is None:
            error(row, "実数", "整数で入力してください", raw)
        elif number < 0:
            error(row, "実数", "0以上の整数で入力してください", raw)
        elif limits.quantity_problem(number):
            error(row, "実数", limits.quantity_problem(number), raw)
        else:
            counted[sku] = number
    if not errors and not counted:
        errors.append(f"「{source}」: 実数が入力された行がありません。数えた数を「実数」列に入れてください")
    if errors or counted_at is None:
        return None, errors
    return Counts(stocktake_id, counted_at, book, counted, source), []


def _stamp(text: str) -> datetime | None:
    """帳簿日時 as written (2026-12-06 10:30) or as Excel rewrites it (2026/12/6 10:30)."""
    text = normalise_text(text).replace("/", "-")
    for pattern in (STAMP, "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=JST, second=0)
        except ValueError:
            continue
    return None
