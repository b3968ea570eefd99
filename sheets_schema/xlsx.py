"""The workbook as an .xlsx file, for backups and for edits made in Excel."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook as XlsxWorkbook
from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell

from sheets_schema.grid import Grid
from sheets_schema.tabs import TAB_BY_TITLE, TabSpec

_INTEGER = r"^-?\d+$"


# Excel's limit per sheet, header row included: longer histories continue on another sheet.
MAX_SHEET_ROWS = 1_048_576
ARCHIVED_SUFFIX = "履歴"


@dataclass
class ArchivedRows:
    """Rows of a tab kept in the archive database, streamed into their own sheets."""

    spec: TabSpec
    rows: Iterable[Mapping[str, Any]]
    hidden: bool = False


def archived_title(title: str, part: int) -> str:
    """受注（履歴）, then 受注（履歴2）… when a history needs more than one sheet."""
    return f"{title}（{ARCHIVED_SUFFIX}{part if part > 1 else ''}）"


def write_xlsx(
    path: Path,
    grids: list[Grid],
    hidden: set[str] = frozenset(),
    archived: Iterable[ArchivedRows] = (),
    *,
    max_rows: int = MAX_SHEET_ROWS,
) -> int:
    """The workbook's tabs, then each archived tab on sheets of its own; returns the archived
    rows written. Written in openpyxl's write-only mode, row by row, so a history of millions
    of rows passes through without being held in memory."""
    book = XlsxWorkbook(write_only=True)
    for grid in grids:
        sheet = book.create_sheet(grid.title)
        if grid.title in hidden:
            sheet.sheet_state = "hidden"
        spec = TAB_BY_TITLE.get(grid.title)
        numeric = {grid.header.index(h) for h in spec.integer_columns if h in grid.header} if spec else set()
        sheet.append(grid.header)
        for row in grid.rows:
            sheet.append([_cell(sheet, text, c in numeric) for c, text in enumerate(row)])
    written = 0
    for source in archived:
        sheet, part, used = None, 0, max_rows
        for row in source.rows:
            if used >= max_rows:
                part += 1
                sheet = book.create_sheet(archived_title(source.spec.title, part))
                if source.hidden:
                    sheet.sheet_state = "hidden"
                sheet.append(list(source.spec.headers))
                used = 1
            assert sheet is not None
            sheet.append([_archived_cell(sheet, row.get(h)) for h in source.spec.headers])
            used += 1
            written += 1
    book.save(path)
    return written


def _cell(sheet: Any, text: str, numeric: bool) -> Any:
    if text == "":
        return None
    if numeric and text.lstrip("-").isdigit():
        return int(text)  # yen and quantities stay numbers for Excel users
    # openpyxl treats text starting with "=" as a formula; keep mall data as text, and mark it
    # text so Excel keeps "00123" as typed.
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.number_format = "@"
    return cell


def _archived_cell(sheet: Any, value: Any) -> Any:
    """Archived values as stored: integers as numbers, text as text. Only text that would read
    as a formula needs a cell object; the others stay plain, which keeps a million rows fast."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def read_xlsx(path: Path | BinaryIO) -> dict[str, Grid]:
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


def read_xlsx_data(data: bytes) -> dict[str, Grid]:
    """An uploaded .xlsx, from its bytes (no file on disk). Raises what openpyxl raises for a
    damaged or password-protected file."""
    return read_xlsx(io.BytesIO(data))
