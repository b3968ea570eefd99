"""Bulk edits of 商品 and 在庫: from a data_editor diff to one validated job (files staff upload
take the same path from ``shop.bulk_upload``; cell text and display are ``shop.bulk_cells``).

Pure logic, no Streamlit. The editor shows a frame built from a ``Table`` (index: the sheet row
number, columns: the tab's headers plus read-only labels such as 商品名 on 在庫); the browser
sends back a diff with positions in that frame. Every edited or added row is rebuilt as a full
row of cells (what the sheet holds, with the edits laid over it) and parsed with the tab's row
model, so errors are the workbook's own Japanese messages naming sheet, row and column. Only
columns staff own may change, keys of existing rows never change, rows are never deleted, and
one invalid row refuses the whole batch: nothing is written until every row is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from annotated_types import Ge

from sheets_schema.changes import WriteJob, model_cells
from sheets_schema.grid import FIRST_DATA_ROW, Grid
from sheets_schema.importing import CellChange
from sheets_schema.models import Stock
from sheets_schema.parsing import RowError, Table, parse_grid
from sheets_schema.tabs import STOCK, TabSpec

# Cell text and display live in shop/bulk_cells.py, uploads and downloads in shop/bulk_upload.py.
from shop.bulk_cells import _NOTHING, YEN_COLUMNS, _text, display_value  # noqa: F401  (re-exported)

INDEX_NAME = "行"  # the frame's index: the row number staff see in the sheet
NAME_LABEL = "商品名"  # the read-only product name shown beside each 在庫 row


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
