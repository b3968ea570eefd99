"""``parse_order_file`` (pure): the bytes of one downloaded file and a ``Layout`` -> canonical
``Order`` objects and a Japanese error per bad row, naming file, line, column and value. The
connector calls it once per file. An order any of whose rows is wrong is held back as a whole:
a partly imported order would allocate the wrong stock."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sync.connectors.csv_cells import CellError, FileError, convert, decode_file, fold_key
from sync.connectors.csv_layouts import LINE_FIELDS, Layout
from sync.connectors.csv_orders import Row, build_order
from sync.models import Order


@dataclass(frozen=True)
class FileRowError:
    file: str
    row: int  # line in the file as an editor shows it: the header is line 1; 0 = whole file
    column: str  # the header as written in the file
    value: str
    message: str

    def __str__(self) -> str:
        where = f"「{self.file}」" + (f" {self.row}行目" if self.row else "")
        if self.column:
            where += f" 「{self.column}」列"
        shown = f"（入力値: 「{self.value}」）" if self.value else ""
        return f"{where}: {self.message}{shown}"


@dataclass(frozen=True)
class ParseOutcome:
    orders: list[Order]  # in order of first appearance in the file
    errors: list[FileRowError]

    @property
    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]  # field -> column position
    header: dict[str, str]  # field -> header text as written in the file

    def cell(self, cells: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return cells[i] if i is not None and i < len(cells) else ""


def _resolve_header(header: list[str], layout: Layout) -> _Columns:
    positions: dict[str, int] = {}
    for i, text in enumerate(header):
        positions.setdefault(fold_key(text), i)
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for name, aliases in layout.columns.items():
        for alias in aliases:
            if fold_key(alias) in positions:
                index[name] = positions[fold_key(alias)]
                written[name] = header[index[name]].strip()
                break
    return _Columns(index, written)


def _missing_header_error(header: list[str], columns: _Columns, layout: Layout) -> str:
    missing = [layout.columns[name] for name in layout.required if name not in columns.index]
    names = "".join(f"「{aliases[0]}」" for aliases in missing)
    message = f"{names}列がありません。{layout.title}の見出し（1行目）と合いません"
    other = "," if layout.delimiter == "\t" else "\t"
    if len(header) == 1 and other in header[0]:
        label = "タブ" if layout.delimiter == "\t" else "カンマ"
        message += f"。{label}区切りのファイルではないようです"
    return message


def _read_row(
    number: int, cells: list[str], columns: _Columns, layout: Layout, mall: str, file_name: str
) -> tuple[Row, list[FileRowError]]:
    values: dict[str, Any] = {}
    errors: list[FileRowError] = []

    def problem(name: str, message: str) -> None:
        raw = columns.cell(cells, name).strip()
        errors.append(FileRowError(file_name, number, columns.header.get(name, ""), raw, message))

    for name in columns.index:
        try:
            values[name] = convert(name, columns.cell(cells, name), layout, mall)
        except CellError as exc:
            problem(name, str(exc))
    failed = {e.column for e in errors}

    def require(name: str) -> None:
        if name in columns.index and values.get(name) is None and columns.header[name] not in failed:
            problem(name, "空欄にはできません")

    require("order_number")
    require("ordered_at")
    is_line = any(columns.cell(cells, name).strip() for name in LINE_FIELDS)
    if is_line:
        require("quantity")
        require("line_number")  # when the file numbers its lines, every line needs one
        code_fields = [n for n in ("mall_item_code", "seller_sku") if n in columns.index]
        blank = not any(values.get(n) for n in code_fields)
        if code_fields and blank and not any(columns.header[n] in failed for n in code_fields):
            either = "か".join(f"「{columns.header[n]}」" for n in code_fields)
            problem(code_fields[-1], f"{either}を入力してください")
    return Row(number, values, is_line), errors


def _records(text: str, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every record, blank lines skipped."""
    options: dict[str, Any] = {"delimiter": layout.delimiter}
    if not layout.quoted:
        options["quoting"] = csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    previous = 0
    for cells in reader:
        start = previous + 1
        previous = reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def _duplicate_line(row: Row, seen: dict[Any, int]) -> tuple[str, str] | None:
    """(field, message) when this line repeats an earlier line of the same order."""
    for name in ("line_number", "line_id"):
        value = row.values.get(name)
        if value is None:
            continue
        if (name, value) in seen:
            return name, f"{seen[(name, value)]}行目と同じ明細です"
        seen[(name, value)] = row.number
    return None


def parse_order_file(data: bytes, layout: Layout, *, mall: str, file_name: str) -> ParseOutcome:
    """Canonical orders of one downloaded file, and every problem as a Japanese error.

    An order any of whose rows is wrong is held back as a whole (with a note saying so): a
    partly imported order would allocate the wrong stock. Other orders are unaffected.
    """
    try:
        text = decode_file(data)
    except FileError as exc:
        return ParseOutcome([], [FileRowError(file_name, 0, "", "", str(exc))])
    records = _records(text, layout)
    first = next(records, None)
    if first is None:
        return ParseOutcome([], [FileRowError(file_name, 0, "", "", "ファイルが空です")])
    header_line, header = first
    columns = _resolve_header(header, layout)
    if any(name not in columns.index for name in layout.required):
        message = _missing_header_error(header, columns, layout)
        return ParseOutcome([], [FileRowError(file_name, header_line, "", "", message)])

    errors: list[FileRowError] = []
    groups: dict[tuple[Any, ...], list[Row]] = {}
    bad: set[tuple[Any, ...]] = set()
    seen_lines: dict[tuple[Any, ...], dict[Any, int]] = {}
    for number, cells in records:
        row, row_errors = _read_row(number, cells, columns, layout, mall, file_name)
        key = tuple(row.values.get(name) for name in layout.order_key)
        if None in key:
            errors.extend(row_errors)  # cannot tell which order it belongs to
            continue
        if key in groups and not layout.row_is_line:
            first_row = groups[key][0].number
            column = columns.header["order_number"]
            message = f"{first_row}行目と同じ注文番号です（1行1注文のファイルです）"
            row_errors.append(FileRowError(file_name, number, column, str(key[-1]), message))
        elif row.is_line and (dup := _duplicate_line(row, seen_lines.setdefault(key, {}))):
            name, message = dup
            value = str(row.values[name])
            row_errors.append(FileRowError(file_name, number, columns.header[name], value, message))
        groups.setdefault(key, []).append(row)
        if row_errors:
            errors.extend(row_errors)
            bad.add(key)

    orders: list[Order] = []
    error_rows = {e.row for e in errors}
    for key, rows in groups.items():
        number = str(key[-1])
        if key in bad:
            if any(r.number not in error_rows for r in rows):
                message = f"注文番号「{number}」は誤りのある行を含むため、注文ごと取り込んでいません"
                errors.append(FileRowError(file_name, rows[0].number, "", "", message))
            continue
        try:
            orders.append(build_order(rows, layout, mall))
        except ValidationError as exc:
            detail = "、".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            message = f"注文番号「{number}」を組み立てられません（{detail}）"
            errors.append(FileRowError(file_name, rows[0].number, "", "", message))
    errors.sort(key=lambda e: e.row)
    return ParseOutcome(orders, errors)
