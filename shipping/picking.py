"""The picking list: a batch of orders summed per SKU, in shelf order.

The shop shelves goods in SKU order (the demo's SKUs encode the shelf: product family first,
then colour and size), so lines are sorted by SKU, compared case- and width-insensitively with
digit runs as numbers ("X-2" before "X-10"). Lines without a SKU cannot be found on a shelf:
they come last, one per item name, marked 要確認. A set product is picked as its components
(sync/sets.py), each line naming the sets it is packed into. Pure; the PDF is in documents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, SET_COMPONENTS
from sync.sets import read_sets

OrderKey = tuple[str, str]  # (モール, 注文番号)
NEEDS_CHECK = "要確認"


@dataclass(frozen=True)
class PickLine:
    sku: str | None  # None: the line has no SKU (要確認)
    name: str
    quantity: int  # 合計数量
    order_count: int  # 注文件数
    orders: tuple[OrderKey, ...]
    sets: tuple[str, ...] = ()  # set products this SKU is picked for (a set is packed from parts)

    @property
    def needs_check(self) -> bool:
        return self.sku is None

    @property
    def label(self) -> str:
        """商品名, with the sets it is packed into: 「…（セット SOX-RIB-3P 用を含む）」."""
        return f"{self.name}（セット {'・'.join(self.sets)} 用を含む）" if self.sets else self.name


def shelf_key(sku: str) -> tuple[Any, ...]:
    """Sort key for walking the shelves: SKU order, ignoring case and full/half width, with digit
    runs compared as numbers."""
    text = unicodedata.normalize("NFKC", sku).upper()
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", text)
    )


@dataclass
class _Pick:
    name: str
    quantity: int = 0
    orders: dict[OrderKey, None] = field(default_factory=dict)
    sets: dict[str, None] = field(default_factory=dict)


def _lines_by_order(tables: Mapping[str, Any], keys: Sequence[OrderKey]) -> dict[OrderKey, list[OrderLine]]:
    wanted = {(m, n): [] for m, n in keys}
    for line in tables[ORDER_LINES.title].models():
        key = (line.mall, line.order_number)
        if key in wanted:
            wanted[key].append(line)
    for lines in wanted.values():
        lines.sort(key=lambda line: line.line_number)
    return wanted


def lines_by_order(tables: Mapping[str, Any]) -> dict[OrderKey, list[OrderLine]]:
    """Every order's lines, by (モール, 注文番号), in 明細番号 order."""
    grouped: dict[OrderKey, list[OrderLine]] = {}
    for line in tables[ORDER_LINES.title].models():
        grouped.setdefault((line.mall, line.order_number), []).append(line)
    for lines in grouped.values():
        lines.sort(key=lambda line: line.line_number)
    return grouped


def _orders(tables: Mapping[str, Any], keys: Sequence[OrderKey]) -> dict[OrderKey, Order]:
    found = {(o.mall, o.order_number): o for o in tables[ORDERS.title].models()}
    missing = [f"{n}（{m}）" for m, n in keys if (m, n) not in found]
    if missing:
        raise KeyError(f"受注シートに見つからない注文があります: {'、'.join(missing)}")
    return {key: found[key] for key in keys}


def picking_list(tables: Mapping[str, Any], orders: Iterable[OrderKey]) -> list[PickLine]:
    """Units to pick for the given orders, one line per SKU, in shelf order (see the module doc).

    Lines with 数量 0 have nothing to pick and are skipped. 商品名 comes from 商品 when the SKU is
    there, else from the order line. Raises ``KeyError`` for an order not in 受注."""
    keys = list(dict.fromkeys((str(m), str(n)) for m, n in orders))
    _orders(tables, keys)
    catalogue = {p.sku: p.name for p in tables[PRODUCTS.title].models()}
    set_tab = tables.get(SET_COMPONENTS.title)
    compositions = read_sets(set_tab, catalogue).compositions if set_tab is not None else {}
    by_sku: dict[str, _Pick] = {}
    unknown: dict[str, _Pick] = {}
    for key, lines in _lines_by_order(tables, keys).items():
        for line in lines:
            if line.quantity <= 0:
                continue
            if line.sku in compositions:
                # A set is packed from its components: the picker fetches those, not the set.
                for part, per_set in compositions[line.sku]:
                    pick = by_sku.setdefault(part, _Pick(catalogue.get(part) or part))
                    pick.quantity += per_set * line.quantity
                    pick.orders[key] = None
                    pick.sets[line.sku] = None
                continue
            if line.sku:
                pick = by_sku.setdefault(line.sku, _Pick(catalogue.get(line.sku) or line.name))
            else:
                name = line.name.strip() or line.mall_item_code.strip() or "（商品名なし）"
                pick = unknown.setdefault(name, _Pick(name))
            pick.quantity += line.quantity
            pick.orders[key] = None
    result = [
        PickLine(sku, p.name, p.quantity, len(p.orders), tuple(p.orders), tuple(p.sets))
        for sku, p in sorted(by_sku.items(), key=lambda item: shelf_key(item[0]))
    ]
    result += [
        PickLine(None, p.name, p.quantity, len(p.orders), tuple(p.orders))
        for _, p in sorted(unknown.items(), key=lambda item: item[0])
    ]
    return result
