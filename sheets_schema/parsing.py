"""Rows of cell text into row models, collecting every problem as a Japanese row error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from sheets_schema.grid import Grid
from sheets_schema.tabs import TabSpec

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
                for i in range(len(self.grid.rows)):
                    index.setdefault(self.key_of(i + first), i + first)
            self._row_by_key = index
        return self._row_by_key.get(tuple(str(k).strip() for k in key))


def header_problems(spec: TabSpec, header: list[str]) -> list[str]:
    problems = []
    if not any(header):
        return [f"「{spec.title}」シートの1行目に見出しがありません"]
    for name in spec.headers:
        count = header.count(name)
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


def parse_grid(spec: TabSpec, grid: Grid) -> Table[Any]:
    table: Table[Any] = Table(spec=spec, grid=grid, header_problems=header_problems(spec, grid.header))
    if table.header_problems:
        return table  # columns cannot be trusted: no row is read, no row is written
    columns = [(h, grid.header.index(h)) for h in spec.headers]
    key_positions = [grid.header.index(h) for h in spec.key]
    validate = spec.model.model_validate
    first_row_of_key: dict[tuple[str, ...], int] = {}
    for index, cells in enumerate(grid.rows):
        row = index + grid.first_row
        if not "".join(cells).strip():
            continue  # blank lines between rows are fine
        # Grids are padded to the header's width, so every column position exists.
        values = {h: v for h, i in columns if (v := cells[i]) and not v.isspace()}
        try:
            model = validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                header = str(error["loc"][0]) if error["loc"] else ""
                table.errors.append(
                    RowError(spec.title, row, header, values.get(header, ""), _message(spec, error, header))
                )
            continue
        key = tuple(cells[i].strip() for i in key_positions)
        if key in first_row_of_key:
            table.errors.append(
                RowError(
                    spec.title,
                    row,
                    "・".join(spec.key),
                    " / ".join(key),
                    f"{first_row_of_key[key]}行目と同じキーです。重複を解消してください",
                )
            )
            continue
        first_row_of_key[key] = row
        table.records.append(Record(row, model))
    return table


def missing_table(spec: TabSpec) -> Table[Any]:
    return Table(
        spec=spec,
        grid=Grid(spec.title, []),
        header_problems=[f"「{spec.title}」シートがありません"],
        exists=False,
    )
