"""The workbook as an .xlsx file, for backups and for edits made in Excel."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook as XlsxWorkbook
from openpyxl import load_workbook

from sheets_schema.grid import Grid
from sheets_schema.tabs import TAB_BY_TITLE

_INTEGER = r"^-?\d+$"


def write_xlsx(path: Path, grids: list[Grid], hidden: set[str] = frozenset()) -> None:
    book = XlsxWorkbook(write_only=False)
    book.remove(book.active)
    for grid in grids:
        sheet = book.create_sheet(grid.title)
        if grid.title in hidden:
            sheet.sheet_state = "hidden"
        spec = TAB_BY_TITLE.get(grid.title)
        numeric = {grid.header.index(h) for h in spec.integer_columns if h in grid.header} if spec else set()
        sheet.append(grid.header)
        for r, row in enumerate(grid.rows, start=2):
            for c, text in enumerate(row):
                if text == "":
                    continue
                cell = sheet.cell(row=r, column=c + 1)
                if c in numeric and text.lstrip("-").isdigit():
                    cell.value = int(text)  # yen and quantities stay numbers for Excel users
                else:
                    cell.value = text
                    # openpyxl treats text starting with "=" as a formula; keep mall data as text,
                    # and mark it text so Excel keeps "00123" as typed.
                    cell.data_type = "s"
                    cell.number_format = "@"
    book.save(path)


def read_xlsx(path: Path) -> dict[str, Grid]:
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        grids = {}
        for sheet in book.worksheets:
            values = [list(row) for row in sheet.iter_rows(values_only=True)]
            while values and all(v is None or v == "" for v in values[-1]):
                values.pop()  # Excel's formatted-but-empty rows at the end
            grids[sheet.title] = Grid.from_values(sheet.title, values)
        return grids
    finally:
        book.close()
