"""Rows of cell text into row models, collecting every problem as a Japanese row error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from sheets_schema.fastrows import FastRows
from sheets_schema.grid import Grid, no_gc
from sheets_schema.tabs import TabSpec
from vocabulary import limits

M = TypeVar("M", bound=BaseModel)

# Messages for format checks where the generic one would not tell staff what to type.
_PATTERN_HINTS = {"JANコード": "JANコードは8桁か13桁の数字で入力してください"}


@dataclass(frozen=True)
class RowError:
    tab: str
    row: int  # as staff see it in the sheet: the header is row 1
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"「{self.tab}」シート {self.row}行目"
        if self.column:
            where += f" 「{self.column}」列"
        shown = f"（入力値: 「{self.value}」）" if self.value else ""
        return f"{where}: {self.message}{shown}"


@dataclass(frozen=True)
class Record(Generic[M]):
    row: int
    value: M


@dataclass
class Table(Generic[M]):
    """One tab as read: its grid, the rows that parsed, and everything that did not."""

    spec: TabSpec
    grid: Grid
    records: list[Record[M]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    header_problems: list[str] = field(default_factory=list)
    exists: bool = True
    _row_by_key: dict[tuple[str, ...], int] | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def writable(self) -> bool:
        return self.exists and not self.header_problems

    @property
    def invalid_rows(self) -> set[int]:
        return {e.row for e in self.errors}

    @property
    def next_row(self) -> int:
        """The first row after the last non-blank one: where appended rows go."""
        last = len(self.grid.rows)
        while last and not any(c.strip() for c in self.grid.rows[last - 1]):
            last -= 1
        return last + self.grid.first_row

    def column(self, header: str) -> int:
        return self.grid.header.index(header)

    def models(self) -> list[M]:
        return [r.value for r in self.records]

    def __iter__(self) -> Iterator[Record[M]]:
        return iter(self.records)

    def key_of(self, row: int) -> tuple[str, ...]:
        return tuple(self.grid.cell(row, self.column(h)).strip() for h in self.spec.key)

    def find_row(self, key: tuple[str, ...]) -> int | None:
        """Row number of a key among all rows, valid or not (first occurrence)."""
        if self._row_by_key is None:
            index: dict[tuple[str, ...], int] = {}
            if self.writable:
                first = self.grid.first_row
                positions = [self.column(h) for h in self.spec.key]
                for i, cells in enumerate(self.grid.rows):
                    found = tuple([cells[p].strip() if p < len(cells) else "" for p in positions])
                    if found not in index:
                        index[found] = i + first
            self._row_by_key = index
        return self._row_by_key.get(tuple(str(k).strip() for k in key))


def header_problems(spec: TabSpec, header: list[str]) -> list[str]:
    problems = []
    if not any(header):
        return [f"「{spec.title}」シートの1行目に見出しがありません"]
    for name in spec.headers:
        count = header.count(name)
        if count == 0 and name in spec.added_columns:
            continue  # read as blank until Ichigen adds it (sheets_schema.book.ensure_columns)
        if count == 0:
            problems.append(
                f"「{spec.title}」シートの1行目に「{name}」列がありません。"
                "列名を変えた場合は元に戻してください（列は見出しの名前で探しています）"
            )
        elif count > 1:
            problems.append(f"「{spec.title}」シートに「{name}」列が{count}つあります。1つにしてください")
    return problems


def _choices(spec: TabSpec, header: str) -> str:
    annotation = spec.model.model_fields[spec.field_name(header)].annotation
    return "、".join(f"「{c}」" for c in get_args(annotation))


def _message(spec: TabSpec, error: Any, header: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "ichigen":
        return error["msg"]
    if kind in ("missing", "string_too_short"):
        return "空欄にはできません"
    if kind == "greater_than_equal":
        return f"{ctx['ge']}以上の数を入力してください"
    if kind == "greater_than":
        return f"{ctx['gt']}より大きい数を入力してください"
    if kind == "less_than_equal":
        return f"{ctx['le']}以下の数を入力してください"
    if kind == "literal_error":
        return f"{_choices(spec, header)}のどれかを入力してください"
    if kind == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(header, "形式が正しくありません")
    return "値が正しくありません"


# Rows already parsed, by tab, header and cell text: a process that reads the workbook again and again
# (sync watch, the app) parses only rows that changed. Models are frozen, so sharing is safe;
# errors are not kept (they name the row they were found on).
_PARSED: dict[tuple[str, tuple[str, ...], limits.Limits], dict[tuple[str, ...], BaseModel]] = {}
_PARSED_PER_TAB = 250_000
# Per tab and header: the fast path for rows in Ichigen's own form (None: the model has none).
_FAST: dict[tuple[str, tuple[str, ...], limits.Limits], FastRows | None] = {}


class _RowParser:
    """One tab's rows into models, one at a time: shared by whole-tab and on-demand parsing."""

    def __init__(self, spec: TabSpec, grid: Grid) -> None:
        self.spec = spec
        # A column added to the contract later may be missing from an older tab: blank then.
        self.columns = [(h, grid.header.index(h)) for h in spec.headers if h in grid.header]
        self.key_positions = [grid.header.index(h) for h in spec.key]
        # Cell text means a model only under one header (staff may reorder columns) and one
        # set of bounds (a quantity within today's limits may not be within tomorrow's).
        where = (spec.title, tuple(grid.header), limits.current())
        self._seen = _PARSED.setdefault(where, {})
        if where not in _FAST:
            _FAST[where] = FastRows.compile(spec.model, grid.header)
        self._fast = _FAST[where]

    def key(self, cells: list[str]) -> tuple[str, ...]:
        return tuple([cells[i].strip() for i in self.key_positions])

    def parse(self, row: int, cells: list[str]) -> BaseModel | list[RowError]:
        # Grids are padded to the header's width, so every column position exists.
        seen = self._seen
        text = tuple(cells)
        model = seen.get(text)
        if model is not None:
            return model
        if self._fast is not None:
            model = self._fast.build(cells)
            if model is not None:
                if len(seen) >= _PARSED_PER_TAB:
                    seen.clear()
                seen[text] = model
                return model
        values = {h: v for h, i in self.columns if (v := cells[i]) and not v.isspace()}
        try:
            model = self.spec.model.model_validate(values)
        except ValidationError as exc:
            errors = []
            for error in exc.errors():
                header = str(error["loc"][0]) if error["loc"] else ""
                field = self.spec.model.model_fields.get(header)  # a blank cell checked by default
                header = (field.alias or header) if field is not None else header
                errors.append(
                    RowError(
                        self.spec.title,
                        row,
                        header,
                        values.get(header, ""),
                        _message(self.spec, error, header),
                    )
                )
            return errors
        if len(seen) >= _PARSED_PER_TAB:
            seen.clear()
        seen[text] = model
        return model


def _duplicate(spec: TabSpec, row: int, first: int, key: tuple[str, ...]) -> RowError:
    return RowError(
        spec.title,
        row,
        "・".join(spec.key),
        " / ".join(key),
        f"{first}行目と同じキーです。重複を解消してください",
    )


def parse_grid(spec: TabSpec, grid: Grid) -> Table[Any]:
    with no_gc():
        return _parse_grid(spec, grid)


def _parse_grid(spec: TabSpec, grid: Grid) -> Table[Any]:
    table: Table[Any] = Table(spec=spec, grid=grid, header_problems=header_problems(spec, grid.header))
    if table.header_problems:
        return table  # columns cannot be trusted: no row is read, no row is written
    parser = _RowParser(spec, grid)
    first_row_of_key: dict[tuple[str, ...], int] = {}
    # The loop of _RowParser.parse and .key, inlined: it runs for every row of every small tab
    # on every cycle. A row seen before (same cells, same header) is its model at once.
    seen, first, records = parser._seen, grid.first_row, table.records
    raw_key = itemgetter(*parser.key_positions)
    single = len(parser.key_positions) == 1
    strip = str.strip
    for index, cells in enumerate(grid.rows):
        row = index + first
        parsed = seen.get(tuple(cells))
        if parsed is None:
            if not "".join(cells).strip():
                continue  # blank lines between rows are fine
            parsed = parser.parse(row, cells)
            if isinstance(parsed, list):
                table.errors.extend(parsed)
                continue
        key = (raw_key(cells).strip(),) if single else tuple(map(strip, raw_key(cells)))
        if key in first_row_of_key:
            table.errors.append(_duplicate(spec, row, first_row_of_key[key], key))
            continue
        first_row_of_key[key] = row
        records.append(Record(row, parsed))
    return table


class RowsOnDemand:
    """A big tab read whole but parsed only where a job looks: rows are found by key from their
    raw cells, and a row becomes a model (or row errors) when asked for. A key on two rows is
    an error on the second, exactly as ``parse_grid`` reports it."""

    def __init__(self, spec: TabSpec, grid: Grid) -> None:
        self.table: Table[Any] = Table(
            spec=spec, grid=grid, header_problems=header_problems(spec, grid.header)
        )
        self._parser = _RowParser(spec, grid) if self.table.writable else None
        self._rows: dict[tuple[str, ...], list[int]] | None = None
        self._parsed: dict[int, BaseModel | list[RowError]] = {}

    @property
    def rows_by_key(self) -> dict[tuple[str, ...], list[int]]:
        """Every non-blank row per key, in sheet order (more than one is a duplicate)."""
        if self._rows is None:
            with no_gc():
                self._index()
        return self._rows  # type: ignore[return-value]

    def _index(self) -> None:
        rows: dict[tuple[str, ...], list[int]] = {}
        if self._parser is not None:
            first = self.table.grid.first_row
            raw_key = itemgetter(*self._parser.key_positions)
            single = len(self._parser.key_positions) == 1
            strip = str.strip
            for index, cells in enumerate(self.table.grid.rows):
                found: tuple[str, ...] = (
                    (raw_key(cells).strip(),) if single else tuple(map(strip, raw_key(cells)))
                )
                # Blank lines between rows are fine; a row with a key is not blank.
                if not any(found) and not "".join(cells).strip():
                    continue
                if found in rows:
                    rows[found].append(index + first)
                else:
                    rows[found] = [index + first]
            # The table's own find_row answers from the same index (first row of a key).
            self.table._row_by_key = {key: found_rows[0] for key, found_rows in rows.items()}
        self._rows = rows

    def parse(self, row: int) -> BaseModel | list[RowError]:
        """The row's model, or its errors (a duplicate key counts as one)."""
        if row not in self._parsed:
            assert self._parser is not None
            cells = self.table.grid.rows[row - self.table.grid.first_row]
            parsed = self._parser.parse(row, cells)
            key = self._parser.key(cells)
            rows = self.rows_by_key.get(key, [row])
            if not isinstance(parsed, list) and rows[0] != row:
                parsed = [_duplicate(self.table.spec, row, rows[0], key)]
            self._parsed[row] = parsed
        return self._parsed[row]

    def record(self, key: tuple[str, ...]) -> Record[Any] | list[RowError] | None:
        """The model of the row with this key; None when absent; the errors when it or a
        duplicate of it does not parse."""
        rows = self.rows_by_key.get(key)
        if not rows:
            return None
        errors: list[RowError] = []
        for row in rows:
            parsed = self.parse(row)
            if isinstance(parsed, list):
                errors.extend(parsed)
        if errors:
            return errors
        return Record(rows[0], self.parse(rows[0]))  # type: ignore[arg-type]


def unparsed_table(spec: TabSpec, grid: Grid) -> Table[Any]:
    """A tab only appended to (a log): its header is checked, its rows are never parsed."""
    return Table(spec=spec, grid=grid, header_problems=header_problems(spec, grid.header))


def missing_table(spec: TabSpec) -> Table[Any]:
    return Table(
        spec=spec,
        grid=Grid(spec.title, []),
        header_problems=[f"「{spec.title}」シートがありません"],
        exists=False,
    )
