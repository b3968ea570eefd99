"""Bulk edits of 商品 and 在庫: from a data_editor diff or an uploaded file to one validated job.

Pure logic, no Streamlit. The editor shows a frame built from a ``Table`` (index: the sheet row
number, columns: the tab's headers plus read-only labels such as 商品名 on 在庫); the browser
sends back a diff with positions in that frame. Every edited or added row is rebuilt as a full
row of cells (what the sheet holds, with the edits laid over it) and parsed with the tab's row
model, so errors are the workbook's own Japanese messages naming sheet, row and column. Only
columns staff own may change, keys of existing rows never change, rows are never deleted, and
one invalid row refuses the whole batch: nothing is written until every row is valid.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from annotated_types import Ge

from sheets_schema.changes import WriteJob, model_cells
from sheets_schema.grid import FIRST_DATA_ROW, Grid
from sheets_schema.importing import CellChange, ImportPlan, plan_import
from sheets_schema.models import Stock
from sheets_schema.parsing import RowError, Table, parse_grid
from sheets_schema.tabs import PRODUCTS, STOCK, TabSpec
from sheets_schema.xlsx import read_xlsx, write_xlsx
from vocabulary.text import csv_problem, decode_staff_file, neutralise_formula, restore_formula_text

INDEX_NAME = "行"  # the frame's index: the row number staff see in the sheet
YEN_COLUMNS = frozenset({"販売価格", "原価"})
PAGE_TABS: tuple[TabSpec, ...] = (PRODUCTS, STOCK)
NAME_LABEL = "商品名"  # the read-only product name shown beside each 在庫 row
_NOTHING = "（空欄）"


# -- the frame the editor shows


def editor_frame(table: Table[Any], labels: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """The tab as a DataFrame for st.data_editor, built column by column (5,000 rows in a few ms).

    Index ``行`` is the sheet row; integer columns are nullable ``Int64`` (a cell that is not a
    number shows blank, its row is listed among the workbook's errors); other columns are text.
    ``labels`` adds read-only columns after the key, looked up by the first key column
    (e.g. ``{"商品名": {sku: name}}``).
    """
    spec = table.spec
    rows = table.grid.rows if table.writable else []
    if rows:
        raw = pd.DataFrame(rows, dtype=object)
        filled = raw.fillna("").astype(str)
        keep = ~filled.apply(lambda c: c.str.strip().eq("")).all(axis=1).to_numpy()
        positions = [table.column(h) for h in spec.headers]
        body = filled.reindex(columns=positions, fill_value="")[keep]
        body.columns = list(spec.headers)
        numbers = np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + len(rows))[keep]
    else:
        body = pd.DataFrame({h: pd.Series([], dtype=object) for h in spec.headers})
        numbers = np.array([], dtype="int64")
    frame = pd.DataFrame(index=pd.Index(numbers, name=INDEX_NAME, dtype="int64"))
    for header in spec.headers:
        text = body[header].to_numpy()
        if header in spec.integer_columns:
            frame[header] = _integers(pd.Series(text, index=frame.index, dtype=object))
        else:
            frame[header] = pd.Series(text, index=frame.index, dtype=object).str.strip().astype(str)
    key = spec.key[0]
    for offset, (label, values) in enumerate((labels or {}).items(), start=1):
        frame.insert(
            list(frame.columns).index(key) + offset,
            label,
            frame[key].map(lambda k, v=values: v.get(k, "")).astype(str),
        )
    return frame


_EXACT_INTEGER = 2**53


def _integers(text: pd.Series) -> pd.Series:
    cleaned = (
        text.astype(str)
        .str.strip()
        .str.replace(",", "", regex=False)
        .str.replace("¥", "", regex=False)
        .str.removesuffix("円")
    )
    numbers = pd.to_numeric(cleaned, errors="coerce")
    # A whole number beyond float's exact range (e.g. 20 nines typed into 実在庫) cannot be an
    # Int64 cell; it shows blank like any other cell that is not a count, and its row is among
    # the workbook's errors (the bound in vocabulary.limits is far below this).
    exact = numbers.eq(numbers.round()) & numbers.abs().lt(_EXACT_INTEGER)
    return numbers.where(exact).astype("Int64")


def stock_labels(products: Table[Any]) -> dict[str, dict[str, str]]:
    """商品名 by SKU, read-only beside each 在庫 row."""
    return {NAME_LABEL: {p.sku: p.name for p in products.models()}}


def column_minimum(spec: TabSpec, header: str) -> int | None:
    """The model's lower bound of a column (``ge``), for the editor's min_value."""
    meta = spec.model.model_fields[spec.field_name(header)].metadata
    return next((m.ge for m in meta if isinstance(m, Ge)), None)


def is_required(spec: TabSpec, header: str) -> bool:
    return spec.model.model_fields[spec.field_name(header)].is_required()


# -- the data_editor diff


def normalise_diff(state: Any) -> dict[str, Any]:
    """The editor's state as a plain dict: {edited_rows: {pos: {col: value}}, added_rows, deleted_rows}."""
    state = state or {}
    edited = {int(pos): dict(values) for pos, values in dict(state.get("edited_rows") or {}).items()}
    return {
        "edited_rows": {pos: values for pos, values in edited.items() if values},
        "added_rows": [dict(row) for row in state.get("added_rows") or []],
        "deleted_rows": sorted(int(pos) for pos in state.get("deleted_rows") or []),
    }


def pending_count(diff: Mapping[str, Any]) -> int:
    """How many rows the editor holds changes for (edited, added, deleted)."""
    added = [r for r in diff.get("added_rows", []) if any(_text(v) for k, v in r.items() if k != "_index")]
    return len(diff.get("edited_rows", {})) + len(added) + len(diff.get("deleted_rows", []))


@dataclass(frozen=True)
class AddedRowError(RowError):
    """A problem in a row the editor adds: it has no sheet row yet, so say which added row."""

    added: int = 0  # 1-based among the rows added in this batch

    def __str__(self) -> str:
        where = f"「{self.tab}」シート 追加した{self.added}件目（{self.row}行目に追加予定）"
        if self.column:
            where += f" 「{self.column}」列"
        shown = f"（入力値: 「{self.value}」）" if self.value else ""
        return f"{where}: {self.message}{shown}"


@dataclass
class EditPlan:
    """A validated batch for one tab: what changes, what is added, and why it may not be written."""

    tab: str
    key_columns: tuple[str, ...]
    changes: list[CellChange] = field(default_factory=list)
    additions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # Typed values to write (integers stay numbers), by sheet row.
    _values: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        return not self.changes and not self.additions

    @property
    def stock_changed(self) -> bool:
        return self.tab == STOCK.title and not self.empty

    @property
    def changed_keys(self) -> list[str]:
        keys = dict.fromkeys("/".join(c.key) for c in self.changes)
        keys.update(dict.fromkeys("/".join(str(r[h]) for h in self.key_columns) for r in self.additions))
        return list(keys)

    def summary(self) -> str:
        parts = []
        if self.changes:
            rows = len({c.row for c in self.changes})
            parts.append(f"{rows} 行・{len(self.changes)} セルの変更")
        if self.additions:
            parts.append(f"{len(self.additions)} 行の追加")
        return "・".join(parts) if parts else "変更なし"

    def job(self, table: Table[Any]) -> WriteJob:
        """Every change and addition as one write job. Refused while any row has an error."""
        if self.errors:
            raise ValueError("a plan with errors cannot be applied")
        job = WriteJob()
        for row, values in self._values.items():
            # The whole row was validated with the edits laid over it, so a row that had an
            # error in the sheet may be written: the edit is exactly what fixes it.
            job.set(table, row, values, allow_invalid=True)
        if self.additions:
            job.append(table, self.additions)
        return job

    def preview(self) -> pd.DataFrame:
        """Before → after, one line per changed cell, then one per added row."""
        lines = [
            {
                "行": str(c.row),
                "キー": "/".join(c.key),
                "列": c.column,
                "変更前": display_value(c.column, c.before),
                "変更後": display_value(c.column, c.after),
            }
            for c in self.changes
        ]
        for cells in self.additions:
            filled = [f"{h}: {display_value(h, _text(v))}" for h, v in cells.items() if _text(v)]
            rest = [f for f in filled if not f.startswith(tuple(f"{k}:" for k in self.key_columns))]
            lines.append(
                {
                    "行": "追加",
                    "キー": "/".join(str(cells[h]) for h in self.key_columns),
                    "列": "（新しい行）",
                    "変更前": "",
                    "変更後": "、".join(rest),
                }
            )
        return pd.DataFrame(lines, columns=["行", "キー", "列", "変更前", "変更後"])


def plan_edits(table: Table[Any], frame: pd.DataFrame, diff: Mapping[str, Any]) -> EditPlan:
    """Validate the editor's diff over ``frame`` (built by ``editor_frame`` from ``table``)."""
    spec = table.spec
    plan = EditPlan(spec.title, spec.key)
    if not table.writable:
        plan.errors.extend(RowError(spec.title, 1, "", "", p) for p in table.header_problems)
        return plan
    diff = normalise_diff(diff)
    for pos in diff["deleted_rows"]:
        row, key = _locate(frame, spec, pos) or (0, ())
        plan.errors.append(
            RowError(
                spec.title,
                row,
                "",
                "",
                f"{'・'.join(spec.key)}「{'/'.join(key)}」の行は削除できません（この画面では行を削除しません）。"
                "販売をやめる商品は「モール商品」シートで在庫連携を OFF にしてください",
            )
        )
    valid = {r.row: r.value for r in table.records}
    for pos, values in sorted(diff["edited_rows"].items()):
        _plan_edited_row(plan, table, frame, valid, pos, values)
    _plan_added_rows(plan, table, diff["added_rows"])
    return plan


def _locate(frame: pd.DataFrame, spec: TabSpec, pos: int) -> tuple[int, tuple[str, ...]] | None:
    if not 0 <= pos < len(frame):
        return None
    row = int(frame.index[pos])
    key = tuple(str(frame[h].iat[pos]).strip() for h in spec.key)
    return row, key


_STALE = "表を開いた後にシートが変わりました。「最新の状態を読み込む」を押してから、もう一度入力してください"


def _plan_edited_row(
    plan: EditPlan,
    table: Table[Any],
    frame: pd.DataFrame,
    valid: Mapping[int, Any],
    pos: int,
    values: Mapping[str, Any],
) -> None:
    spec = table.spec
    where = _locate(frame, spec, pos)
    if where is None:
        plan.errors.append(RowError(spec.title, 0, "", "", _STALE))
        return
    row, key = where
    if table.find_row(key) != row:
        plan.errors.append(RowError(spec.title, row, "・".join(spec.key), "/".join(key), _STALE))
        return
    cells = {h: table.grid.cell(row, table.column(h)) for h in spec.headers}
    edited: list[str] = []
    refused = False
    for column, value in values.items():
        text = _text(value)
        if column not in spec.headers:
            label = INDEX_NAME if column == "_index" else column
            plan.errors.append(RowError(spec.title, row, label, text, "この列は表示用のため変更できません"))
            refused = True
        elif column not in spec.staff_columns:
            plan.errors.append(
                RowError(spec.title, row, column, text, "Ichigen が計算・記録する列のため変更できません")
            )
            refused = True
        elif column in spec.key and text.strip() != cells[column].strip():
            plan.errors.append(
                RowError(
                    spec.title,
                    row,
                    column,
                    text,
                    f"{column}は変更できません（元は「{cells[column].strip()}」）。新しい{column}は行を追加してください",
                )
            )
            refused = True
        else:
            cells[column] = text
            edited.append(column)
    if not edited:
        return
    model, errors = _validate(spec, cells, row)
    plan.errors.extend(errors)
    if errors or refused:
        return
    current = valid.get(row)
    if current is not None:
        before = {h: _text(v) for h, v in model_cells(current).items()}
    else:  # the sheet row has errors: compare with what is typed there
        before = {h: table.grid.cell(row, table.column(h)).strip() for h in spec.headers}
    after = model_cells(model)
    for column in edited:
        if _text(after[column]) == before[column]:
            continue  # typed the same value again (or "1,320" for 1320)
        plan.changes.append(CellChange(spec.title, row, key, column, before[column], _text(after[column])))
        plan._values.setdefault(row, {})[column] = after[column]


def _plan_added_rows(plan: EditPlan, table: Table[Any], added_rows: Sequence[Mapping[str, Any]]) -> None:
    spec = table.spec
    next_row = table.next_row
    seen: dict[tuple[str, ...], int] = {}
    number = 0
    for values in added_rows:
        texts = {c: _text(v) for c, v in values.items() if c != "_index"}
        if not any(t.strip() for t in texts.values()):
            if "空の追加行は無視しました" not in plan.notices:
                plan.notices.append("空の追加行は無視しました")
            continue
        number += 1
        row = next_row + number - 1
        errors: list[RowError] = []
        for column, text in texts.items():
            if text.strip() and column not in spec.staff_columns:
                message = (
                    "この列は表示用のため入力できません"
                    if column not in spec.headers
                    else "Ichigen が計算・記録する列のため入力できません"
                )
                errors.append(RowError(spec.title, row, column, text, message))
        cells = {h: texts.get(h, "") for h in spec.headers}
        model, invalid = _validate(spec, cells, row)
        errors.extend(invalid)
        if model is not None:
            dumped = model.model_dump(by_alias=True)
            key = tuple(_text(dumped[h]) for h in spec.key)
            existing = table.find_row(key)
            if existing is not None:
                errors.append(
                    RowError(
                        spec.title,
                        row,
                        "・".join(spec.key),
                        "/".join(key),
                        f"すでに {existing}行目にあります。既存の行を直接書き換えてください",
                    )
                )
            elif key in seen:
                errors.append(
                    RowError(
                        spec.title,
                        row,
                        "・".join(spec.key),
                        "/".join(key),
                        f"追加した{seen[key]}件目と同じです。1行にまとめてください",
                    )
                )
            seen.setdefault(key, number)
        if errors:
            plan.errors.extend(
                AddedRowError(e.tab, e.row, e.column, e.value, e.message, number) for e in errors
            )
            continue
        assert model is not None
        plan.additions.append(model_cells(model))


def _validate(spec: TabSpec, cells: Mapping[str, str], row: int) -> tuple[Any, list[RowError]]:
    """Parse one full row with the tab's model; errors carry the real sheet row."""
    parsed = parse_grid(spec, Grid(spec.title, list(spec.headers), [[cells[h] for h in spec.headers]]))
    errors = [RowError(e.tab, row, e.column, e.value, e.message) for e in parsed.errors]
    model = parsed.records[0].value if parsed.records else None
    if isinstance(model, Stock) and model.on_hand < 0:
        # The ledger may take 実在庫 below zero (more shipped than was counted) and the sheet
        # shows it; a count people type is never negative.
        errors.append(RowError(spec.title, row, "実在庫", cells["実在庫"], "0以上の数を入力してください"))
        model = None
    return model, errors


def _text(value: Any) -> str:
    """An editor value as cell text: numbers without ``.0``, None/NaN blank."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def display_value(column: str, text: str) -> str:
    """A cell for people: yen as ¥12,345, blank as （空欄）."""
    text = _text(text).strip()
    if not text:
        return _NOTHING
    if column in YEN_COLUMNS and text.lstrip("-").isdigit():
        return f"¥{int(text):,}"
    return text


# -- uploaded files


def read_upload(
    filename: str, data: bytes, chosen: str | None = None
) -> tuple[dict[str, Grid], list[str], list[str]]:
    """An uploaded CSV or XLSX as {tab title: grid}, with errors and notices in Japanese.

    CSV: UTF-8 (with or without BOM) or CP932, first line the Japanese column names; which tab
    it is comes from ``chosen`` or from its columns. XLSX: sheets named 商品 / 在庫 are used as
    is; a single sheet with another name is treated like a CSV.
    """
    errors: list[str] = []
    notices: list[str] = []
    suffix = Path(filename).suffix.lower()
    if not data:
        return {}, ["ファイルが空です"], notices
    if suffix == ".csv":
        text = decode_staff_file(data)
        if text is None:
            return {}, ["文字コードを読み取れません。UTF-8 か Shift_JIS（CP932）で保存してください"], notices
        # A downloaded CSV has a 全角スペース before formula-like cells (table_csv): taken off again.
        try:
            values = [
                [restore_formula_text(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))
            ]
        except csv.Error as exc:  # e.g. a cell over csv.field_size_limit() (131,072 characters)
            return {}, [csv_problem(exc)], notices
        while values and not any(c.strip() for c in values[-1]):
            values.pop()
        sheets = {"": Grid.from_values("", values)}
    elif suffix == ".xlsx":
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "upload.xlsx"
                path.write_bytes(data)
                sheets = read_xlsx(path)
        except Exception:  # a damaged or password-protected file: openpyxl raises many kinds
            return {}, ["Excel ファイルを開けません。.xlsx 形式で保存し直してください"], notices
    else:
        return {}, ["CSV（.csv）か Excel（.xlsx）のファイルを選んでください"], notices

    page_titles = {s.title for s in PAGE_TABS}
    grids: dict[str, Grid] = {}
    named = {t: g for t, g in sheets.items() if t in page_titles}
    others = {t: g for t, g in sheets.items() if t not in page_titles and (g.header or g.rows)}
    if named:
        for title, grid in named.items():
            if chosen and title != chosen:
                notices.append(f"「{title}」シートは今回は取り込みません（「{chosen}」を選んでいます）")
                continue
            grids[title] = grid
        for title in others:
            notices.append(f"「{title}」シートはこの画面では取り込みません")
    elif len(others) == 1:
        grid = next(iter(others.values()))
        spec = _tab_by_title(chosen) if chosen else detect_tab(grid.header)
        if spec is None:
            errors.append(
                "どのシートのファイルか判断できません。「取り込むシート」で「商品」か「在庫」を選んでください"
            )
        else:
            grids[spec.title] = Grid(spec.title, grid.header, grid.rows)
    elif not others:
        errors.append("ファイルにデータがありません")
    else:
        errors.append(
            "シートが複数あります。シート名を「商品」か「在庫」にするか、1シートだけのファイルにしてください"
        )
    return grids, errors, notices


def _tab_by_title(title: str) -> TabSpec | None:
    return next((s for s in PAGE_TABS if s.title == title), None)


def detect_tab(header: Sequence[str]) -> TabSpec | None:
    """商品 or 在庫, by which tab's non-key columns the header names most; None if unclear."""
    names = set(header)
    scores = [(len(names & (set(s.headers) - set(s.key))), s) for s in PAGE_TABS]
    scores.sort(key=lambda pair: pair[0], reverse=True)
    if scores[0][0] == 0 or scores[0][0] == scores[1][0]:
        return None
    return scores[0][1]


def _complete(spec: TabSpec, table: Table[Any], grid: Grid) -> tuple[Grid | None, list[str], list[str]]:
    """A file with only some columns (e.g. SKU and 実在庫): the others keep the workbook's values."""
    missing_keys = [h for h in spec.key if h not in grid.header]
    if missing_keys:
        return (
            None,
            [f"ファイルに「{'・'.join(missing_keys)}」列がありません（1行目は列名にしてください）"],
            [],
        )
    missing = [h for h in spec.headers if h not in grid.header]
    if not missing or not table.writable:
        return grid, [], []
    key_at = [grid.header.index(h) for h in spec.key]
    header = list(grid.header) + missing
    rows = []
    for cells in grid.rows:
        key = tuple(cells[i].strip() if i < len(cells) else "" for i in key_at)
        row = table.find_row(key) if any(key) else None
        current = [table.grid.cell(row, table.column(h)) if row else "" for h in missing]
        rows.append([*cells, *([""] * (len(grid.header) - len(cells))), *current])
    notice = f"「{spec.title}」: ファイルにない列（{'、'.join(missing)}）は今の値のままにします"
    return Grid(grid.title, header, rows), [], [notice]


def plan_upload(
    tables: Mapping[str, Table[Any]], filename: str, data: bytes, chosen: str | None = None
) -> ImportPlan:
    """What an uploaded file would change, through the same planner as ``python -m sheets_schema
    import``: rows matched by key, staff columns only, new rows added, nothing deleted."""
    grids, errors, notices = read_upload(filename, data, chosen)
    incoming: dict[str, Grid] = {}
    for title, grid in grids.items():
        spec = _tab_by_title(title)
        assert spec is not None
        completed, problems, notes = _complete(spec, tables[title], grid)
        errors.extend(problems)
        notices.extend(notes)
        if completed is not None:
            incoming[title] = completed
    plan = plan_import(dict(tables), incoming) if incoming else ImportPlan()
    plan.errors[:0] = errors
    plan.notices[:0] = notices
    if not grids and not errors:
        plan.errors.append("取り込める「商品」「在庫」のデータがありません")
    return plan


def upload_preview(plan: ImportPlan) -> pd.DataFrame:
    lines = [
        {
            "シート": c.tab,
            "行": str(c.row),
            "キー": "/".join(c.key),
            "列": c.column,
            "変更前": display_value(c.column, c.before),
            "変更後": display_value(c.column, c.after),
        }
        for c in plan.changes
    ]
    for tab, rows in plan.additions.items():
        spec = _tab_by_title(tab)
        keys = spec.key if spec else ()
        for cells in rows:
            filled = [
                f"{h}: {display_value(h, _text(v))}" for h, v in cells.items() if _text(v) and h not in keys
            ]
            lines.append(
                {
                    "シート": tab,
                    "行": "追加",
                    "キー": "/".join(_text(cells.get(h)) for h in keys),
                    "列": "（新しい行）",
                    "変更前": "",
                    "変更後": "、".join(filled),
                }
            )
    return pd.DataFrame(lines, columns=["シート", "行", "キー", "列", "変更前", "変更後"])


def upload_touches_stock(plan: ImportPlan) -> bool:
    return any(c.tab == STOCK.title for c in plan.changes) or bool(plan.additions.get(STOCK.title))


def upload_changed_keys(plan: ImportPlan, tab: str) -> list[str]:
    keys = dict.fromkeys("/".join(c.key) for c in plan.changes if c.tab == tab)
    spec = _tab_by_title(tab)
    for cells in plan.additions.get(tab, []):
        keys.setdefault("/".join(_text(cells.get(h)) for h in (spec.key if spec else ())), None)
    return list(keys)


# -- downloads (templates for the upload)


def table_csv(table: Table[Any]) -> bytes:
    """The tab's Ichigen columns as CSV, UTF-8 with BOM so Excel opens it in Japanese. A cell
    Excel would run as a formula (``=HYPERLINK(…)`` in a product name) gets a 全角スペース in
    front; ``read_upload`` takes it off, so the file goes back unchanged."""
    spec = table.spec
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(spec.headers)
    if table.writable:
        at = [table.column(h) for h in spec.headers]
        for cells in table.grid.rows:
            if any(c.strip() for c in cells):
                writer.writerow(
                    [neutralise_formula(cells[i], keep_numbers=True) if i < len(cells) else "" for i in at]
                )
    return out.getvalue().encode("utf-8-sig")


def tables_xlsx(tables: Sequence[Table[Any]]) -> bytes:
    """The tabs as one .xlsx (text cells stay text, so 00123 keeps its zeros, and
    ``=HYPERLINK(…)`` is a string cell Excel shows, never a formula it runs: see write_xlsx)."""
    grids = []
    for table in tables:
        spec = table.spec
        rows = []
        if table.writable:
            at = [table.column(h) for h in spec.headers]
            rows = [
                [c[i] if i < len(c) else "" for i in at] for c in table.grid.rows if any(x.strip() for x in c)
            ]
        grids.append(Grid(spec.title, list(spec.headers), rows))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xlsx"
        write_xlsx(path, grids)
        return path.read_bytes()
