"""発注書: one 発注 with everything its paper needs, and as rows (CSV); the PDF is drawn by
purchasing/po_pdf.py. No Streamlit.

``documents(...)`` gathers each 発注 with its supplier and lines, the 商品名 and JAN from 商品.
It refuses (``PurchaseOrderError``, Japanese, naming sheet, row and column) a 発注 that is not in
the sheet, has no lines, has a line with an input error (the paper would silently miss it), names
a 仕入先 not in 仕入先 or a SKU not in 商品: a 発注書 goes outside the shop, so it is right or
not made at all.

単価 is the line's 単価 (原価 when drafted); a line without one is 未定 and left out of the
total. 備考 notes Ichigen adds for staff when receiving (【入荷】…) stay off the paper and the CSV.

The CSV is UTF-8 with a BOM (Excel opens it in Japanese), CRLF, one row per line of each 発注;
a cell Excel would run as a formula gets a 全角スペース in front (vocabulary.text).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sheets_schema.models import PurchaseOrder, PurchaseOrderLine, Supplier
from sheets_schema.parsing import Table
from vocabulary.text import neutralise_formula

# What receiving appends to 発注.備考 for staff: 「【入荷】<reason> (YYYY-MM-DD HH:MM)」.
_STAFF_NOTE = re.compile(r"\s*【入荷】.*?\(\d{4}-\d{2}-\d{2} \d{2}:\d{2}\)")
UNPRICED = "未定"


class PurchaseOrderError(ValueError):
    """Why a 発注書 cannot be made; one Japanese sentence per problem, for staff."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class DocumentLine:
    line_number: int
    sku: str
    jan: str
    name: str
    quantity: int
    unit_cost: int | None
    received: int
    note: str

    @property
    def amount(self) -> int | None:
        return None if self.unit_cost is None else self.quantity * self.unit_cost


@dataclass(frozen=True)
class PurchaseOrderDocument:
    order: PurchaseOrder
    supplier: Supplier
    lines: tuple[DocumentLine, ...]

    @property
    def number(self) -> str:
        return self.order.number

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total(self) -> int:
        """Sum of the priced lines (an unpriced line is 未定, see ``unpriced``)."""
        return sum(line.amount or 0 for line in self.lines)

    @property
    def unpriced(self) -> int:
        return sum(line.unit_cost is None for line in self.lines)

    @property
    def note(self) -> str:
        """発注.備考 for the supplier: Ichigen's receiving notes for staff taken out."""
        return _STAFF_NOTE.sub("", self.order.note).strip()

    def ordered_on(self, printed_on: date) -> date:
        return self.order.ordered_on or printed_on


def documents(
    orders: Table[Any],
    lines: Table[Any],
    suppliers: Table[Any],
    products: Table[Any],
    numbers: Iterable[str],
) -> list[PurchaseOrderDocument]:
    """Each named 発注 (in the given order, once) with its supplier and lines by 明細番号;
    ``PurchaseOrderError`` listing every problem when any of them cannot be printed."""
    wanted = list(dict.fromkeys(str(n).strip() for n in numbers))
    found = {r.value.number: r for r in orders}
    by_name = {s.name: s for s in suppliers.models()}
    catalogue = {p.sku: p for p in products.models()}
    problems: list[str] = []
    made = []
    for number in wanted:
        record = found.get(number)
        if record is None:
            problems += _missing(orders, number)
            continue
        order: PurchaseOrder = record.value
        its = sorted((r for r in lines if r.value.number == number), key=lambda r: r.value.line_number)
        problems += _line_problems(lines, number, its, catalogue)
        supplier = by_name.get(order.supplier)
        if supplier is None:
            problems.append(
                f"「{orders.title}」シート {record.row}行目「仕入先」列: 「{order.supplier}」は"
                "「仕入先」シートにありません。仕入先シートに追加するか、名前を合わせてください"
            )
        if problems:
            continue
        assert supplier is not None
        made.append(PurchaseOrderDocument(order, supplier, tuple(_line(r.value, catalogue) for r in its)))
    if problems:
        raise PurchaseOrderError(problems)
    return made


def _missing(orders: Table[Any], number: str) -> list[str]:
    errors = [str(e) for e in orders.errors if orders.writable and orders.key_of(e.row)[0] == number]
    return errors or [f"発注「{number}」が発注シートにありません"]


def _line_problems(lines: Table[Any], number: str, its: list[Any], catalogue: dict[str, Any]) -> list[str]:
    problems = [
        f"{error}（発注「{number}」の明細です。直してから発注書を作ってください）"
        for error in lines.errors
        if lines.writable and lines.key_of(error.row)[0] == number
    ]
    if not its and not problems:
        problems.append(f"発注「{number}」に明細がありません（発注明細シートに商品を入れてください）")
    for record in its:
        if record.value.sku not in catalogue:
            problems.append(
                f"「{lines.title}」シート {record.row}行目「SKU」列: 「{record.value.sku}」は商品シートにありません"
            )
    return problems


def _line(line: PurchaseOrderLine, catalogue: dict[str, Any]) -> DocumentLine:
    product = catalogue[line.sku]
    return DocumentLine(
        line_number=line.line_number,
        sku=line.sku,
        jan=product.jan or "",
        name=product.name,
        quantity=line.quantity,
        unit_cost=line.unit_cost,
        received=line.received,
        note=line.note,
    )


# -- CSV

CSV_HEADER = (
    "発注番号",
    "仕入先",
    "発注日",
    "入荷予定日",
    "ステータス",
    "明細番号",
    "SKU",
    "JANコード",
    "商品名",
    "数量",
    "単価",
    "金額",
    "入荷数",
    "明細備考",
    "備考",
)


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def purchase_orders_csv(docs: Iterable[PurchaseOrderDocument]) -> bytes:
    """One row per line of each 発注 (see the module doc for the encoding)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for doc in docs:
        order = doc.order
        for line in doc.lines:
            cells: list[Any] = [
                order.number,
                order.supplier,
                _day(order.ordered_on),
                _day(order.expected_on),
                order.status,
                line.line_number,
                line.sku,
                line.jan,
                line.name,
                line.quantity,
                "" if line.unit_cost is None else line.unit_cost,
                "" if line.amount is None else line.amount,
                line.received,
                line.note,
                doc.note,
            ]
            writer.writerow([neutralise_formula(c, keep_numbers=True) for c in cells])
    return out.getvalue().encode("utf-8-sig")


def file_stem(numbers: Sequence[str]) -> str:
    """A download's name: 発注書_<発注番号> for one, 発注書_<n>件 for several; characters a file
    system refuses are replaced."""
    stem = f"発注書_{numbers[0]}" if len(numbers) == 1 else f"発注書_{len(numbers)}件"
    return re.sub(r'[\\/:*?"<>|\s\x00-\x1f\x7f]', "_", stem)[:120]
