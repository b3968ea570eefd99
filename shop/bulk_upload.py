"""商品・在庫 from a file: read a CSV or Excel upload staff edited (``read_upload``), find its tab,
plan the change against the workbook like a grid edit (``plan_upload``, refusing the whole
file on any error), show its preview, and the downloads staff start from (``table_csv``,
``tables_xlsx``, formulas neutralised)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sheets_schema.grid import Grid
from sheets_schema.importing import ImportPlan, plan_import
from sheets_schema.parsing import Table
from sheets_schema.tabs import PRODUCTS, STOCK, TabSpec
from sheets_schema.xlsx import read_xlsx_data, write_xlsx
from shop.bulk_cells import _text, display_value
from vocabulary.text import csv_problem, decode_staff_file, neutralise_formula, restore_formula_text

# The tabs the 商品・在庫 page edits and a file may update.
PAGE_TABS: tuple[TabSpec, ...] = (PRODUCTS, STOCK)

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
            sheets = read_xlsx_data(data)
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
