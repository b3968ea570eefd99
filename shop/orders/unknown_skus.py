"""Mall items that 受注明細 holds without an Ichigen SKU: grouped per mall code (mapping one
fixes every order that has it), SKUs suggested by name, and the モール商品 row that maps it."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import MallListing, Order, OrderLine, Product
from sheets_schema.parsing import Table
from shop.orders.frame import OrderKey


@dataclass(frozen=True)
class UnknownItem:
    """A mall item that 受注明細 holds without an Ichigen SKU: mapping it fixes every order."""

    mall: str
    mall_item_code: str
    mall_sku: str
    name: str
    orders: tuple[str, ...]  # order numbers, newest first
    units: int


def unknown_items(
    lines: Mapping[OrderKey, list[OrderLine]], orders: Mapping[OrderKey, Order], blocked: Collection[OrderKey]
) -> list[UnknownItem]:
    """Lines without a SKU of valid orders (not those blocked by an input error), grouped by
    (モール, モール商品コード, モールSKU), the items in most orders first."""
    groups: dict[tuple[str, str, str], list[tuple[datetime, OrderLine]]] = defaultdict(list)
    for key, order_lines in lines.items():
        order = orders.get(key)
        if order is None or key in blocked:
            continue
        for line in order_lines:
            if not line.sku and line.quantity and line.mall_item_code.strip():
                groups[(line.mall, line.mall_item_code.strip(), line.mall_sku.strip())].append(
                    (order.ordered_at, line)
                )
    items = []
    for (mall, code, mall_sku), found in groups.items():
        found.sort(key=lambda f: f[0], reverse=True)
        items.append(
            UnknownItem(
                mall=mall,
                mall_item_code=code,
                mall_sku=mall_sku,
                name=found[0][1].name,
                orders=tuple(dict.fromkeys(line.order_number for _, line in found)),
                units=sum(line.quantity for _, line in found),
            )
        )
    items.sort(key=lambda i: (-len(i.orders), i.mall, i.mall_item_code, i.mall_sku))
    return items


def suggest_skus(name: str, products: dict[str, str], limit: int = 3) -> list[str]:
    """SKUs whose 商品名 looks most like the mall's item name, best first."""
    if not name or not products:
        return []
    by_name: dict[str, str] = {}
    for sku, product_name in products.items():
        by_name.setdefault(product_name, sku)
    close = difflib.get_close_matches(name, list(by_name), n=limit, cutoff=0.4)
    return [by_name[n] for n in close]


# -- mapping an unknown SKU


@dataclass
class SkuMapping:
    ok: bool
    message: str
    job: WriteJob = field(default_factory=WriteJob)


def map_unknown_sku(
    listings: Table[Any],
    products: Table[Any],
    mall: str,
    mall_item_code: str,
    mall_sku: str,
    sku: str,
) -> SkuMapping:
    """A job appending (モール, SKU, モール商品コード, モールSKU) to モール商品, once: when the same
    mall code is already mapped to that SKU, nothing is written."""
    mall, code, mall_sku, sku = mall.strip(), mall_item_code.strip(), mall_sku.strip(), sku.strip()
    if not code:
        return SkuMapping(
            False, "モール商品コードがないため対応付けできません。モールの商品設定を確かめてください"
        )
    known: dict[str, Product] = {p.sku: p for p in products.models()}
    if sku not in known:
        return SkuMapping(False, f"SKU「{sku}」は商品シートにありません。先に商品シートに追加してください")
    if not listings.writable:
        return SkuMapping(
            False, "\n".join(listings.header_problems or ["「モール商品」シートに書き込めません"])
        )
    row = listings.find_row((mall, code, mall_sku))
    if row is not None:
        if row in listings.invalid_rows:
            return SkuMapping(
                False,
                f"「モール商品」シート {row}行目にこのコードがありますが、入力エラーがあります。先にシートを直してください",
            )
        existing: MallListing = next(r.value for r in listings.records if r.row == row)
        if existing.sku == sku:
            return SkuMapping(True, f"「{code}」はすでにSKU「{sku}」に対応付けられています")
        return SkuMapping(
            False,
            f"「{code}」はすでにSKU「{existing.sku}」に対応付けられています（「モール商品」シート {row}行目）。"
            "変えるときはシートで直してください",
        )
    if not mall_sku:
        others = {r.sku for r in listings.models() if r.mall == mall and r.mall_item_code == code}
        if others - {sku}:
            return SkuMapping(
                False,
                f"モール商品コード「{code}」には別のSKU（{'、'.join(sorted(others))}）も対応付けられているため、"
                "モールSKUなしでは見分けられません。モールの商品設定でモールSKUを確かめてください",
            )
    job = WriteJob()
    job.append(
        listings,
        [{"モール": mall, "SKU": sku, "モール商品コード": code, "モールSKU": mall_sku, "在庫連携": "ON"}],
    )
    name = known[sku].name
    label = f"{code} / {mall_sku}" if mall_sku else code
    return SkuMapping(True, f"{mall}の「{label}」をSKU「{sku}」（{name}）に対応付けました", job)
