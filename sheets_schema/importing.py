"""Plan an import of edited tabs (from .xlsx) against the workbook: validate, diff, then apply.

Rules: rows are matched by each tab's key; only columns staff own are changed on existing rows;
new rows are appended whole; rows missing from the file stay (nothing is deleted); ledgers and
logs only accept new rows. Any row error in the file blocks the whole import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sheets_schema.changes import WriteJob, model_cells
from sheets_schema.grid import Grid
from sheets_schema.parsing import RowError, Table, parse_grid
from sheets_schema.tabs import TAB_BY_TITLE, TabSpec


@dataclass(frozen=True)
class CellChange:
    tab: str
    row: int
    key: tuple[str, ...]
    column: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"「{self.tab}」{'/'.join(self.key)} 「{self.column}」: {self.before or '（空欄）'} → {self.after or '（空欄）'}"


@dataclass
class ImportPlan:
    changes: list[CellChange] = field(default_factory=list)
    additions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def addition_count(self) -> int:
        return sum(len(rows) for rows in self.additions.values())

    def job(self, tables: dict[str, Table[Any]]) -> WriteJob:
        if self.errors:
            raise ValueError("a plan with errors cannot be applied")
        job = WriteJob()
        by_row: dict[tuple[str, int], dict[str, str]] = {}
        for change in self.changes:
            by_row.setdefault((change.tab, change.row), {})[change.column] = change.after
        for (tab, row), values in by_row.items():
            # Staff fixing a row that had errors is exactly what an import is for.
            job.set(tables[tab], row, values, allow_invalid=True)
        for tab, rows in self.additions.items():
            job.append(tables[tab], rows)
        return job


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _plan_tab(plan: ImportPlan, spec: TabSpec, table: Table[Any], incoming: Grid) -> None:
    parsed = parse_grid(spec, incoming)
    if parsed.header_problems:
        plan.errors.extend(f"ファイルの{p}" for p in parsed.header_problems)
        return
    plan.errors.extend(str(_in_file(e)) for e in parsed.errors)
    extra = [h for h in incoming.header if h and h not in spec.headers]
    if extra:
        plan.notices.append(
            f"「{spec.title}」の {'、'.join(extra)} 列は Ichigen の列ではないため取り込みません"
        )
    if not table.writable:
        plan.errors.extend(table.header_problems)
        return
    seen: set[tuple[str, ...]] = set()
    current = {r.row: r.value for r in table.records}
    for record in parsed.records:
        key = _key(spec, record.value)
        seen.add(key)
        row = table.find_row(key)
        incoming_cells = {h: _text(v) for h, v in model_cells(record.value).items()}
        if row is None:
            plan.additions.setdefault(spec.title, []).append(model_cells(record.value))
            continue
        if row in current:
            existing = {h: _text(v) for h, v in model_cells(current[row]).items()}
        else:  # the workbook row has errors: compare what is typed there
            existing = {h: table.grid.cell(row, table.column(h)).strip() for h in spec.headers}
        differing = [h for h in spec.headers if incoming_cells[h] != existing[h]]
        if not differing:
            continue
        if spec.append_only:
            plan.errors.append(
                f"「{spec.title}」は追記のみのため、既存の行（{'/'.join(key)}）は変更できません"
            )
            continue
        for header in differing:
            if header in spec.staff_columns:
                plan.changes.append(
                    CellChange(spec.title, row, key, header, existing[header], incoming_cells[header])
                )
            else:
                plan.notices.append(
                    f"「{spec.title}」{'/'.join(key)} の「{header}」は Ichigen が管理する列のため変更しません"
                )
    kept = sum(1 for r in table.records if _key(spec, r.value) not in seen)
    if kept and not parsed.errors:
        plan.notices.append(f"「{spec.title}」でファイルにない {kept} 行はそのまま残します（削除はしません）")


def _key(spec: TabSpec, model: Any) -> tuple[str, ...]:
    dumped = model.model_dump(by_alias=True)
    return tuple(_text(dumped[h]) for h in spec.key)


def _in_file(error: RowError) -> str:
    return f"ファイルの{error}"


def plan_import(tables: dict[str, Table[Any]], incoming: dict[str, Grid]) -> ImportPlan:
    plan = ImportPlan()
    for title, grid in incoming.items():
        spec = TAB_BY_TITLE.get(title)
        if spec is None:
            plan.notices.append(f"「{title}」シートは Ichigen のシートではないため取り込みません")
            continue
        if spec.hidden:
            plan.notices.append(f"「{title}」は Ichigen の内部シートのため取り込みません")
            continue
        _plan_tab(plan, spec, tables[title], grid)
    return plan
