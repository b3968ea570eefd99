"""発注 and 発注明細 as the workbook holds them: 発注残, problems staff must fix, and drafting
purchase orders from accepted suggestions (one per supplier, in one job)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import Product, PurchaseOrder, PurchaseOrderLine
from sheets_schema.parsing import Table
from vocabulary.statuses import OPEN_PURCHASE_STATUSES

PREFIX = "PO"


def open_orders(orders: Table[Any]) -> dict[str, PurchaseOrder]:
    return {o.number: o for o in orders.models() if o.status in OPEN_PURCHASE_STATUSES}


def on_order(orders: Table[Any], lines: Table[Any]) -> Counter[str]:
    """発注残 per SKU: ordered on a 発注済 / 一部入荷 発注 and not yet received."""
    waiting = open_orders(orders)
    outstanding: Counter[str] = Counter()
    for line in lines.models():
        if line.number in waiting:
            outstanding[line.sku] += line.outstanding
    return outstanding


def expected_arrivals(orders: Table[Any], lines: Table[Any]) -> dict[str, list[tuple[date | None, int, str]]]:
    """Per SKU: (入荷予定日, units, 発注番号) of every open 発注 line still waiting, soonest first."""
    waiting = open_orders(orders)
    found: dict[str, list[tuple[date | None, int, str]]] = defaultdict(list)
    for line in lines.models():
        order = waiting.get(line.number)
        if order is not None and line.outstanding:
            found[line.sku].append((order.expected_on, line.outstanding, line.number))
    for arrivals in found.values():
        arrivals.sort(key=lambda a: (a[0] or date.max, a[2]))
    return dict(found)


def problems(orders: Table[Any], lines: Table[Any], suppliers: Table[Any], products: Table[Any]) -> list[str]:
    """What staff must fix in 発注 / 発注明細, naming sheet, row and column (input errors of the
    rows themselves are reported by the workbook's own checks)."""
    known_suppliers = {s.name for s in suppliers.models()}
    known_skus = {p.sku for p in products.models()}
    numbers = {o.number for o in orders.models()}
    found = []
    for record in orders:
        if record.value.supplier not in known_suppliers:
            found.append(
                f"「{orders.title}」シート {record.row}行目「仕入先」列: 「{record.value.supplier}」は"
                "「仕入先」シートにありません。仕入先シートに追加するか、名前を合わせてください"
            )
    for record in lines:
        line: PurchaseOrderLine = record.value
        if line.number not in numbers:
            found.append(
                f"「{lines.title}」シート {record.row}行目「発注番号」列: 発注「{line.number}」が発注シートにありません"
            )
        if line.sku not in known_skus:
            found.append(
                f"「{lines.title}」シート {record.row}行目「SKU」列: 「{line.sku}」は商品シートにありません"
            )
    return found


def next_numbers(existing: Iterable[str], today: date, count: int) -> list[str]:
    """``count`` new 発注番号 of the form PO-20261206-01, after any of today's already taken."""
    stem = f"{PREFIX}-{today:%Y%m%d}-"
    taken = {n for n in existing if n.startswith(stem)}
    numbers, n = [], 1
    while len(numbers) < count:
        candidate = f"{stem}{n:02d}"
        if candidate not in taken:
            numbers.append(candidate)
        n += 1
    return numbers


@dataclass(frozen=True)
class DraftLine:
    sku: str
    quantity: int


@dataclass
class Drafts:
    job: WriteJob
    numbers: dict[str, str]  # 仕入先 -> 発注番号
    refused: list[str]


def draft(
    orders: Table[Any],
    lines: Table[Any],
    products: Mapping[str, Product],
    lead_days: Mapping[str, int],
    accepted: Sequence[DraftLine],
    *,
    now: datetime,
) -> Drafts:
    """下書き 発注, one per supplier of the accepted lines, with 単価 = 原価 and 入荷予定日 =
    today + the longest リードタイム of its lines. Staff then check them and set 発注済."""
    job, refused = WriteJob(), []
    by_supplier: dict[str, list[DraftLine]] = defaultdict(list)
    for line in accepted:
        product = products.get(line.sku)
        if product is None:
            refused.append(f"SKU「{line.sku}」は商品シートにありません")
        elif line.quantity < 1:
            refused.append(f"SKU「{line.sku}」: 数量は1以上にしてください（{line.quantity}）")
        elif not product.supplier:
            refused.append(
                f"SKU「{line.sku}」: 商品シートの「仕入先」が空欄です。仕入先を入れてから発注してください"
            )
        else:
            by_supplier[product.supplier].append(line)
    if refused or not by_supplier:
        return Drafts(WriteJob(), {}, refused or ["発注する商品が選ばれていません"])
    today = now.date()
    numbers = dict(
        zip(
            sorted(by_supplier),
            next_numbers((o.number for o in orders.models()), today, len(by_supplier)),
            strict=True,
        )
    )
    new_orders, new_lines = [], []
    for supplier, chosen in sorted(by_supplier.items()):
        lead = max(lead_days.get(line.sku, 0) for line in chosen)
        new_orders.append(
            {
                "発注番号": numbers[supplier],
                "仕入先": supplier,
                "発注日": today,
                "入荷予定日": today + timedelta(days=lead),
                "ステータス": "下書き",
                "更新日時": now,
            }
        )
        for i, line in enumerate(chosen, start=1):
            new_lines.append(
                {
                    "発注番号": numbers[supplier],
                    "明細番号": i,
                    "SKU": line.sku,
                    "数量": line.quantity,
                    "単価": products[line.sku].cost,
                    "入荷数": 0,
                }
            )
    job.append(orders, new_orders)
    job.append(lines, new_lines)
    return Drafts(job, numbers, [])
