"""Set products (セット商品): what each set is made of, and how many of it can be sold.

The rules, chosen so stock stays exact and nothing is hidden from staff:

- A set is a SKU of 商品 (its own name and price, listed at malls like any SKU) that appears as
  セットSKU in the セット構成 tab. It holds **no stock of its own**: its 在庫 row shows 実在庫 0
  and 引当数 0, and its 販売可能数 is computed = min over its components of
  ⌊component 販売可能数 / 数量⌋, less the set row's own 安全在庫 (0 or more, never below 0).
- A set may contain another set: compositions are flattened to the SKUs that hold stock.
- An order line for a set × n allocates, ships and releases each component × (数量 × n) in the
  ledger (sync/ledger.py), with the set named in each movement's 備考.
- A set whose rows are wrong (a セットSKU or 構成SKU not in 商品, a cycle, a row with an input
  error) is **broken**: its listings are not pushed and its order lines are not settled until
  the rows are fixed (guessing a partial composition would move the wrong stock). Every such
  row is reported as a Japanese error naming sheet, row and column.
- Changing a composition: open (unshipped) orders follow the current composition (their
  allocation is adjusted in the next cycle); lines already shipped keep what they shipped.
  Changes are detected by a digest kept in _システム (``DIGEST_KEY``), so a cycle in which the
  compositions did not change costs nothing more than parsing the small tab.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sheets_schema.models import SetComponent
from sheets_schema.parsing import RowError, Table

# _システム key: a digest of every set's flattened composition as last settled.
DIGEST_KEY = "セット構成"

Composition = tuple[tuple[str, int], ...]  # ((構成SKU, units per set), …), sorted


@dataclass
class SetBook:
    """The valid sets' flattened compositions, the broken sets, and what is wrong."""

    compositions: dict[str, Composition] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # set SKU -> why (Japanese)
    problems: list[str] = field(default_factory=list)  # one sentence per bad row
    # Those of ``problems`` only the other tabs show (unknown SKUs, cycles): what a check of
    # each tab alone (ホーム's 入力エラー, ``python -m sheets_schema check``) cannot see.
    cross_tab: list[str] = field(default_factory=list)
    # The tab could not be read (a header problem): which SKUs are sets is not known.
    unreadable: str = ""

    def add(self, problem: str) -> None:
        self.problems.append(problem)
        self.cross_tab.append(problem)

    def is_set(self, sku: str | None) -> bool:
        return sku is not None and (sku in self.compositions or sku in self.broken)

    def __bool__(self) -> bool:
        return bool(self.compositions or self.broken)

    def digest(self) -> str:
        """What open set lines are settled for: changes when any set's composition changes."""
        if not self:
            return ""
        parts = [
            f"{s}={','.join(f'{c}*{q}' for c, q in comp)}" for s, comp in sorted(self.compositions.items())
        ]
        parts += [f"{s}=!" for s in sorted(self.broken)]
        return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]

    def used_by(self) -> dict[str, list[str]]:
        """Component SKU -> the sets that contain it (for staff screens and tests)."""
        found: dict[str, list[str]] = defaultdict(list)
        for set_sku, comp in sorted(self.compositions.items()):
            for sku, _ in comp:
                found[sku].append(set_sku)
        return dict(found)


def _error(table: Table[Any], row: int, column: str, value: str, message: str) -> str:
    return str(RowError(table.title, row, column, value, message))


def read_sets(table: Table[Any], products: Iterable[str]) -> SetBook:
    """The セット構成 tab checked against 商品. ``table`` may be missing (an older workbook made
    before sets existed): then there are no sets."""
    book = SetBook()
    if not table.exists:
        return book
    if not table.writable:
        book.unreadable = (
            f"「{table.title}」シートの見出しを読めないため、セット商品の在庫を計算できません"
            f"（{'／'.join(table.header_problems)}）。在庫の引当とモールへの在庫送信を止めています"
        )
        book.problems.append(book.unreadable)
        return book
    known = set(products)
    rows: dict[str, list[tuple[int, SetComponent]]] = defaultdict(list)
    for record in table:
        rows[record.value.set_sku].append((record.row, record.value))
    # A row with an input error still names its set (unless that cell is blank): the set is
    # broken rather than built from its other rows.
    set_column = table.column("セットSKU")
    for error in table.errors:
        book.problems.append(str(error))
        set_sku = table.grid.cell(error.row, set_column).strip()
        if set_sku:
            book.broken.setdefault(set_sku, f"{error.row}行目に入力エラーがあります")
    for set_sku, parts in rows.items():
        for row, part in parts:
            if set_sku not in known:
                book.add(
                    _error(
                        table, row, "セットSKU", set_sku, f"セットSKU「{set_sku}」が商品シートにありません"
                    )
                )
                book.broken.setdefault(set_sku, f"{row}行目のセットSKUが商品シートにありません")
            if part.component_sku not in known:
                book.add(
                    _error(
                        table,
                        row,
                        "構成SKU",
                        part.component_sku,
                        f"構成SKU「{part.component_sku}」が商品シートにありません",
                    )
                )
                book.broken.setdefault(set_sku, f"{row}行目の構成SKUが商品シートにありません")
    direct = {s: [(p.component_sku, p.quantity, row) for row, p in parts] for s, parts in rows.items()}
    done: dict[str, Composition | None] = {}
    for set_sku in sorted(direct):
        if set_sku in book.broken:
            continue
        flat = _flatten(set_sku, direct, book, table, (), done)
        if flat is not None:
            book.compositions[set_sku] = flat
    # A set containing a broken set is broken too (already recorded by _flatten).
    for set_sku in list(book.compositions):
        if set_sku in book.broken:
            del book.compositions[set_sku]
    return book


def _flatten(
    set_sku: str,
    direct: Mapping[str, list[tuple[str, int, int]]],
    book: SetBook,
    table: Table[Any],
    path: tuple[str, ...],
    done: dict[str, Composition | None],
) -> Composition | None:
    """Units per set of each stock-holding SKU, or None when the set is broken (recorded)."""
    if set_sku in done:
        return done[set_sku]
    done[set_sku] = found = _flatten_once(set_sku, direct, book, table, path, done)
    return found


def _flatten_once(
    set_sku: str,
    direct: Mapping[str, list[tuple[str, int, int]]],
    book: SetBook,
    table: Table[Any],
    path: tuple[str, ...],
    done: dict[str, Composition | None],
) -> Composition | None:
    total: dict[str, int] = defaultdict(int)
    for component, quantity, row in direct[set_sku]:
        if component == set_sku or component in path:
            chain = "→".join(f"「{s}」" for s in (*path, set_sku, component))
            book.add(
                _error(
                    table,
                    row,
                    "構成SKU",
                    component,
                    f"セットの中身が循環しています（{chain}）。セットに自分自身を入れることはできません",
                )
            )
            for s in (*path, set_sku):
                book.broken.setdefault(s, f"{row}行目でセットの中身が循環しています")
            return None
        if component in book.broken:
            book.broken.setdefault(set_sku, f"中身のセット「{component}」に誤りがあります")
            return None
        if component in direct:
            inner = _flatten(component, direct, book, table, (*path, set_sku), done)
            if inner is None:
                book.broken.setdefault(set_sku, f"中身のセット「{component}」に誤りがあります")
                return None
            for sku, units in inner:
                total[sku] += units * quantity
        else:
            total[component] += quantity
    return tuple(sorted(total.items()))


def buildable(composition: Composition, available: Mapping[str, int]) -> int | None:
    """Sets the components' 販売可能数 can make; None when a component's is not known."""
    least: int | None = None
    for sku, units in composition:
        free = available.get(sku)
        if free is None:
            return None
        can = max(0, free) // units
        least = can if least is None else min(least, can)
    return least or 0


def set_note(set_sku: str, quantity: int) -> str:
    """The 備考 that ties a component's movement to the set order line behind it."""
    return f"セット {set_sku} ×{quantity}"


def set_problems(tables: Mapping[str, Table[Any]]) -> list[str]:
    """What is wrong with セット構成 against 商品 (unknown SKUs, cycles), for ホーム and
    ``python -m sheets_schema check``; row input errors are listed with every tab's."""
    if "セット構成" not in tables or "商品" not in tables:
        return []
    return read_sets(tables["セット構成"], (p.sku for p in tables["商品"].models())).cross_tab
