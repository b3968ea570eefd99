"""A write job: every cell update and append of one job, sent to the backend as one batch.

Jobs are built against the ``Table`` read in the same job, so columns are addressed by the
header staff see, whatever order they put them in, and their own extra columns stay untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from sheets_schema.cells import CellOut, format_datetime
from sheets_schema.errors import AppendOnlyError, CellConflict, HeaderError, InvalidRowError
from sheets_schema.grid import Grid, cell_text
from sheets_schema.parsing import Table


def to_cell(value: Any) -> CellOut:
    """A Python value as a cell: integers stay numbers, everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)


def model_cells(model: BaseModel) -> dict[str, CellOut]:
    """A row model as {header: cell}, using each type's own serialiser (dates, ON/OFF)."""
    return {h: to_cell(v) for h, v in model.model_dump(by_alias=True).items()}


@dataclass(frozen=True)
class CellUpdate:
    tab: str
    row: int
    column: int  # 0-based position in the header read by the job
    value: CellOut


@dataclass
class TabAppend:
    tab: str
    # The row after the last one the job read: where a backend that writes by position starts.
    start_row: int
    rows: list[list[CellOut]] = field(default_factory=list)


@dataclass
class WriteJob:
    updates: list[CellUpdate] = field(default_factory=list)
    appends: dict[str, TabAppend] = field(default_factory=dict)
    # The header each touched tab had when read: adapters that can check it refuse a stale job.
    headers: dict[str, list[str]] = field(default_factory=dict)
    # Cells that must still hold what the job read (e.g. the sync lease). The SQL adapter checks
    # them inside the transaction; the Sheets API offers no conditional write.
    expectations: list[CellUpdate] = field(default_factory=list)
    # Rows removed after the job's updates and appends (row numbers as read): what archiving
    # moves out. Later rows move up, as when a person deletes rows in Sheets.
    deletes: dict[str, list[int]] = field(default_factory=dict)
    _guarded: set[tuple[str, int, int]] = field(default_factory=set, repr=False)

    def __bool__(self) -> bool:
        return bool(self.updates) or any(a.rows for a in self.appends.values()) or any(self.deletes.values())

    @property
    def tabs(self) -> set[str]:
        touched = {u.tab for u in self.updates} | {t for t, a in self.appends.items() if a.rows}
        return touched | {t for t, rows in self.deletes.items() if rows}

    def delete(self, table: Table[Any], rows: Iterable[int]) -> None:
        """Remove rows; each must still hold the key it was read with, or nothing is written."""
        self._check(table)
        wanted = self.deletes.setdefault(table.title, [])
        for row in rows:
            if not table.grid.first_row <= row < table.grid.end_row:
                raise ValueError(f"row {row} is outside {table.title}")
            wanted.append(row)
            self._guard(table, row, table.spec.key)
        wanted.sort()

    def _check(self, table: Table[Any]) -> None:
        if not table.writable:
            raise HeaderError("\n".join(table.header_problems))
        self.headers.setdefault(table.title, list(table.grid.header))

    def set(
        self,
        table: Table[Any],
        row: int,
        values: Mapping[str, Any],
        *,
        allow_invalid: bool = False,
    ) -> None:
        """Change some cells of one row; cells not named keep whatever staff typed."""
        self._check(table)
        if table.spec.append_only:
            raise AppendOnlyError(f"「{table.title}」シートは追記のみです。{row}行目は変更できません")
        if not allow_invalid and row in table.invalid_rows:
            raise InvalidRowError(
                f"「{table.title}」シート {row}行目に入力エラーがあるため更新しませんでした。先に修正してください"
            )
        if not table.grid.first_row <= row < table.grid.end_row:
            raise ValueError(f"row {row} is outside {table.title}")
        written = []
        for header, value in values.items():
            if header not in table.spec.headers:
                raise KeyError(f"{header} is not a column of {table.title}")
            if header not in table.grid.header and header in table.spec.added_columns:
                continue  # an older tab without this column yet: written once it is added
            written.append(header)
            self.updates.append(CellUpdate(table.title, row, table.column(header), to_cell(value)))
        self._guard(table, row, [*table.spec.key, *(h for h in written if h in table.spec.staff_columns)])

    def rewrite(self, table: Table[Any], row: int, values: Mapping[str, Any]) -> None:
        """Replace a whole row, append-only tabs included: how an archive pass folds the old
        movements of a SKU into one opening balance. Every cell must still read as read."""
        self._check(table)
        if not table.grid.first_row <= row < table.grid.end_row:
            raise ValueError(f"row {row} is outside {table.title}")
        unknown = set(values) - set(table.spec.headers)
        if unknown:
            raise KeyError(f"{sorted(unknown)} are not columns of {table.title}")
        for column, header in enumerate(table.grid.header):
            if header in table.spec.headers:
                self.updates.append(CellUpdate(table.title, row, column, to_cell(values.get(header, ""))))
        self._guard(table, row, [h for h in table.spec.headers if h in table.grid.header])

    def _guard(self, table: Table[Any], row: int, headers: Iterable[str]) -> None:
        """Cells that must still read as the job read them when it is written: the row's key (a
        row inserted or a sort since the read puts another row here) and the staff-owned cells
        it overwrites (a person typed there since). The backend refuses the job otherwise."""
        for header in headers:
            column = table.column(header)
            if (table.title, row, column) not in self._guarded:
                self._guarded.add((table.title, row, column))
                self.expectations.append(CellUpdate(table.title, row, column, table.grid.cell(row, column)))

    def append(self, table: Table[Any], rows: Iterable[Mapping[str, Any] | BaseModel]) -> None:
        """Add rows after the last one; staff-added columns get blank cells."""
        self._check(table)
        header = table.grid.header
        target = self.appends.setdefault(table.title, TabAppend(table.title, table.next_row))
        for row in rows:
            cells = model_cells(row) if isinstance(row, BaseModel) else row
            unknown = set(cells) - set(table.spec.headers)
            if unknown:
                raise KeyError(f"{sorted(unknown)} are not columns of {table.title}")
            target.rows.append([to_cell(cells.get(h, "")) for h in header])

    def put(self, table: Table[Any], key: tuple[str, ...], cells: Mapping[str, Any]) -> None:
        """Ichigen's own record for a key: the row that has it is set, or a row is appended."""
        row = table.find_row(key)
        if row is None:
            self.append(table, [cells])
        else:
            self.set(table, row, cells, allow_invalid=True)

    def expect(self, table: Table[Any], row: int, values: Mapping[str, Any]) -> None:
        self._check(table)
        for header, value in values.items():
            self.expectations.append(CellUpdate(table.title, row, table.column(header), to_cell(value)))

    def cell_count(self) -> int:
        return len(self.updates) + sum(len(r) for a in self.appends.values() for r in a.rows)


def conflict(job: WriteJob, expected: CellUpdate, found: str) -> CellConflict:
    """The error an adapter raises when an expected cell no longer reads as loaded: it names
    the column by the header the job read, so a page can show what changed and how."""
    header = job.headers.get(expected.tab, [])
    column = header[expected.column] if expected.column < len(header) else f"{expected.column + 1}列目"
    return CellConflict(expected.tab, expected.row, column, cell_text(expected.value), found)


def apply_to_grids(job: WriteJob, grids: Mapping[str, Grid]) -> None:
    """Make grids read before a job look as the workbook does after it (the job has been
    written), so later steps of the same cycle need not read those tabs again."""
    for update in job.updates:
        grid = grids.get(update.tab)
        if grid is not None:
            cells = grid.rows[update.row - grid.first_row]
            if update.column >= len(cells):
                cells.extend([""] * (update.column + 1 - len(cells)))
            cells[update.column] = cell_text(update.value)
    for title, append in job.appends.items():
        grid = grids.get(title)
        if grid is None or not append.rows:
            continue
        del grid.rows[max(0, append.start_row - grid.first_row) :]  # blank rows the append took
        while grid.end_row < append.start_row:
            grid.rows.append([""] * len(grid.header))
        grid.rows.extend([cell_text(c) for c in row] for row in append.rows)
    for title, rows in job.deletes.items():
        grid = grids.get(title)
        if grid is not None:
            for row in sorted(set(rows), reverse=True):
                del grid.rows[row - grid.first_row]
