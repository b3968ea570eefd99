"""The fast path for rows in Ichigen's own form gives exactly what pydantic gives, and leaves
every other cell to pydantic (so its errors and normalisations stay the only ones)."""

from __future__ import annotations

import random
import typing
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from sheets_schema.fastrows import FastRows
from sheets_schema.tabs import TAB_BY_TITLE, TabSpec

ODD_CELLS = [
    "",
    " ",
    "\\u3000",
    "0",
    "1",
    "12",
    "-3",
    "１２",
    "1,980",
    "1980円",
    "¥500",
    "1.0",
    "1.5",
    "0012",
    "2026-11-30 12:00:00",
    "2026-11-30 12:00",
    "2026/11/30 12:00:00",
    "2026-11-30",
    "2026-11-30T12:00:00+09:00",
    "2026-11-30 12:00:00 ",
    " 2026-11-30 12:00:00",
    "２０２６-11-30 12:00:00",
    "2026-13-01 00:00:00",
    "ON",
    "OFF",
    "on",
    "off",
    "TRUE",
    "○",
    "はい",
    " ON",
    "新規",
    "出荷済",
    "出荷済 ",
    "キャンセル",
    "確認済",
    "未確認",
    "失敗",
    "入庫",
    "引当",
    "手動調整",
    "繰越",
    "棚卸",
    "ヤマト運輸",
    "佐川急便",
    "その他",
    "x",
    " SKU-1 ",
    "SKU-1",
    "ＳＫＵ－１",
    "楽天",
    "A\\tB",
    "4512345678901",
    "45123456",
    "451234567",
    "abc\\n",
    "\\x1c",
    "a\\x1c",
    "\\u00a0x",
    "テキスト",
    "0.0",
    "-0",
    "+5",
    "٣",
]
ODD_CELLS = [c.encode().decode("unicode_escape") if "\\\\" in c else c for c in ODD_CELLS]


def slow(spec: TabSpec, cells: list[str]) -> BaseModel | None:
    values = {h: v for h, v in zip(spec.headers, cells, strict=True) if v and not v.isspace()}
    try:
        return spec.model.model_validate(values)
    except ValidationError:
        return None


def same(a: BaseModel, b: BaseModel) -> None:
    assert type(a) is type(b)
    assert a == b
    assert a.__dict__ == b.__dict__
    assert {k: type(v) for k, v in a.__dict__.items()} == {k: type(v) for k, v in b.__dict__.items()}
    assert a.model_fields_set == b.model_fields_set
    assert a.model_dump(by_alias=True) == b.model_dump(by_alias=True)
    assert hash(a) == hash(b)


# Tabs of a few dozen staff rows whose cells need pydantic: cross-column checks (受注ルール's
# 保留 needs 保留理由) or cell types the fast decoder does not know (time windows, name lists).
# They are parsed by pydantic alone; the fast path is for tabs that grow with orders.
PYDANTIC_ONLY = {"受注ルール", "メールテンプレート"}


def test_the_tabs_parsed_by_pydantic_alone_are_small_staff_tabs() -> None:
    for title in PYDANTIC_ONLY:
        spec = TAB_BY_TITLE[title]
        assert FastRows.compile(spec.model, spec.headers) is None  # else drop it from the set
        assert spec.staff_columns and not spec.machine_owned


@pytest.mark.parametrize("title", sorted(set(TAB_BY_TITLE) - PYDANTIC_ONLY))
def test_fast_rows_agree_with_pydantic_or_decline(title: str) -> None:
    spec = TAB_BY_TITLE[title]
    fast = FastRows.compile(spec.model, spec.headers)
    assert fast is not None
    rng = random.Random(title)
    taken = 0
    for _ in range(1500):
        cells = [rng.choice(ODD_CELLS) for _ in spec.headers]
        got, want = fast.build(cells), slow(spec, cells)
        if got is not None:
            assert want is not None, cells
            same(got, want)
            taken += 1
    # And rows as Ichigen writes them: every model, dumped and read back, takes the fast path.
    for cells in _canonical_rows(spec, rng):
        want = slow(spec, cells)
        assert want is not None, cells
        got = fast.build(cells)
        assert got is not None, cells
        same(got, want)


def _canonical_rows(spec: TabSpec, rng: random.Random) -> list[list[str]]:
    from sheets_schema.changes import model_cells
    from sheets_schema.grid import cell_text

    pools = {
        h: [c for c in [*ODD_CELLS, *_choices(spec, h)] if _field_ok(spec, h, c)] or [""]
        for h in spec.headers
    }
    rows = []
    for _ in range(300):
        cells = [rng.choice(pools[h]) for h in spec.headers]
        model = slow(spec, cells)
        if model is not None:
            written: dict[str, Any] = model_cells(model)
            rows.append([cell_text(written.get(h, "")) for h in spec.headers])
    assert rows
    return rows


def _choices(spec: TabSpec, header: str) -> list[str]:
    found: list[str] = []

    def walk(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Literal:
            found.extend(a for a in typing.get_args(annotation) if isinstance(a, str))
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(spec.model.model_fields[spec.field_name(header)].annotation)
    return found


def _field_ok(spec: TabSpec, header: str, cell: str) -> bool:
    info = spec.model.model_fields[spec.field_name(header)]
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter = TypeAdapter(annotation)
    if not cell.strip():
        return not info.is_required()
    try:
        adapter.validate_python(cell)
    except ValidationError:
        return False
    return True


def test_bounded_quantities_and_yen_are_declined_beyond_the_limits_in_force() -> None:
    """The fast path never accepts what the models refuse, whatever the [limits] say."""
    from sheets_schema.tabs import STOCK
    from vocabulary import limits

    spec = STOCK
    row = {h: "" for h in spec.headers} | {
        "SKU": "A",
        "実在庫": "5000",
        "引当数": "0",
        "安全在庫": "0",
        "販売可能数": "0",
    }
    cells = [row[h] for h in spec.headers]
    fast = FastRows.compile(spec.model, spec.headers)
    assert fast is not None and fast.build(cells).on_hand == 5000
    over = [("99999999999999999999" if h == "実在庫" else row[h]) for h in spec.headers]
    assert fast.build(over) is None  # left to pydantic, which names the bound
    previous = limits.configure(max_quantity=1000)
    try:
        tighter = FastRows.compile(spec.model, spec.headers)
        assert tighter is not None and tighter.build(cells) is None
    finally:
        limits.configure(previous.max_quantity, previous.max_yen)
