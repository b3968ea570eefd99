"""A tab as stored: a header row and data rows of cell text, whatever the backend."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# The row number staff see for the first data row (the header is row 1).
FIRST_DATA_ROW = 2


def cell_text(value: Any) -> str:
    """Adapters turn every stored value into text the same way (Sheets numbers, SQL JSON, xlsx)."""
    if type(value) is str:  # most cells: millions per read of a big tab
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Grid:
    """A tab as read. ``rows[0]`` is sheet row ``first_row``: a whole tab starts at row 2, a
    tail read (rows from a stored high-water mark on, for append-only tabs) starts later."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    first_row: int = FIRST_DATA_ROW

    @classmethod
    def from_values(cls, title: str, values: list[list[Any]]) -> Grid:
        """Build from an API-style values array: first row is the header, rows may be ragged."""
        if not values:
            return cls(title, [], [])
        header = [cell_text(v).strip() for v in values[0]]
        width = len(header)
        rows = []
        for raw in values[1:]:
            row = [cell_text(v) for v in raw]
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            rows.append(row)
        return cls(title, header, rows)

    def row_number(self, index: int) -> int:
        return index + self.first_row

    @property
    def end_row(self) -> int:
        """The row after the last one read."""
        return self.first_row + len(self.rows)

    def cell(self, row_number: int, column: int) -> str:
        row = self.rows[row_number - self.first_row]
        return row[column] if column < len(row) else ""


@contextmanager
def no_gc() -> Iterator[None]:
    """Around reading or parsing a big tab: it makes hundreds of thousands of small lists,
    strings and frozen models and no reference cycles, which the cyclic collector would walk
    again and again (half the time of a read) for nothing. Collection resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
