"""返品: a customer's return registered against a shipped order line, as ONE job.

A return appends one movement: 返品入庫 (良品, back to sellable 実在庫) or 不良入庫 (不良, to
不良在庫, kept apart from 実在庫), with the line's モール / 注文番号 / 明細番号 and the ID
``返品:<モール>:<注文番号>:<明細番号>:<returned before>+<units>``. At most what the ledger shows
shipped for that line and SKU, minus what was returned before, may come back.

How much was returned before, without reading the whole ledger: the order's ``_受注在庫`` row
(what the ledger held for it when the last cycle folded it) counts the movements of each kind
per line, and the tail of 在庫移動 (rows from the mark on) holds what was appended since. When
neither shows a return for the order, nothing was returned: the usual case costs the read the
screen makes anyway. The row counts movements, not units, so once a line has a folded return
the units are summed from 在庫移動 read whole (one more request, rows of other orders skipped
unparsed). Returns are rare, a second one for the same order rarer; correctness first.
Orders moved to the archive database are not in 受注 and take no return here.

A return sent twice (a double click, a retry after a timeout that had in fact landed) is
refused: the form carries the units it saw returned before, and they differ once the first
landed. Two sent at once both append at the same ledger row; the workbook refuses the second.
The next sync cycle folds the movement into 在庫 and _受注在庫 and pushes the new stock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from purchasing.ledger_now import read_ledger_now
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.models import Order, OrderLine, OrderSettlement, StockMovement
from sheets_schema.parsing import RowError, RowsOnDemand, Table, missing_table, parse_grid, unparsed_table
from sheets_schema.tabs import ORDER_LINES, ORDER_SETTLEMENTS, ORDERS, STOCK_MOVEMENTS
from sheets_schema.workbook import Workbook
from sync.settlement import decode_lines
from vocabulary import limits

GOOD, DEFECTIVE = "良品", "不良"
KIND_FOR = {GOOD: "返品入庫", DEFECTIVE: "不良入庫"}
RETURN_KINDS = frozenset(KIND_FOR.values())
RETURNABLE_STATUS = "出荷済"
MAX_TEXT = 200


@dataclass
class LineHistory:
    shipped: Counter[str] = field(default_factory=Counter)  # SKU -> units shipped (出荷)
    returned: Counter[str] = field(default_factory=Counter)  # SKU -> units back (良品 + 不良)


@dataclass(frozen=True)
class ReturnableLine:
    line_number: int
    sku: str | None
    name: str
    quantity: int  # as ordered
    shipped: int  # as the ledger shows it left stock
    returned: int

    @property
    def returnable(self) -> int:
        return max(0, self.shipped - self.returned)


@dataclass
class OrderForReturn:
    mall: str
    number: str
    order: Order | None
    lines: list[ReturnableLine]
    problem: str  # why no return can be registered for this order ("" when it can)
    ledger: Table[Any]  # 在庫移動 as read: where the return is appended
    known_ids: set[str]
    read_whole_ledger: bool = False  # the cost note: a folded return needed the full read
    candidates: list[str] = field(default_factory=list)  # malls with this 注文番号

    def line(self, line_number: int, sku: str) -> ReturnableLine | None:
        return next((x for x in self.lines if x.line_number == line_number and x.sku == sku), None)


@dataclass
class ReturnResult:
    job: WriteJob = field(default_factory=WriteJob)
    movement: StockMovement | None = None
    refused: list[str] = field(default_factory=list)


def _errors(errors: list[RowError]) -> str:
    return "／".join(str(e) for e in errors[:3])


def _fold(history: dict[int, LineHistory], movements: Iterable[StockMovement], key: tuple[str, str]) -> None:
    for m in movements:
        if (m.mall, m.order_number) != key or not m.line_number:
            continue
        if m.kind == "出荷":
            history[m.line_number].shipped[m.sku] += m.quantity
        elif m.kind in RETURN_KINDS:
            history[m.line_number].returned[m.sku] += m.quantity


def _order_rows_only(grid: Grid, mall: str, number: str) -> Grid:
    """The ledger rows of one order, found by their raw cells (the rest stay unparsed)."""
    at_mall, at_number = grid.header.index("モール"), grid.header.index("注文番号")
    width = max(at_mall, at_number) + 1
    rows = [
        r
        for r in grid.rows
        if len(r) >= width and r[at_number].strip() == number and r[at_mall].strip() == mall
    ]
    return Grid(grid.title, grid.header, rows)


def find_order(workbook: Workbook, number: str, mall: str | None = None) -> OrderForReturn:
    """An order of 受注 with, per line and SKU, what shipped and what came back so far. Without
    ``mall``, the 注文番号 alone finds it when one mall has it (``candidates`` lists the malls
    when several do)."""
    number = number.strip()
    titles = [ORDERS.title, ORDER_LINES.title, ORDER_SETTLEMENTS.title]
    now, grids = read_ledger_now(workbook, titles)
    found = OrderForReturn((mall or "").strip(), number, None, [], "", now.tail, now.tail_ids)
    if any(t not in grids for t in titles):
        found.problem = "受注・受注明細・_受注在庫のシートがそろっていません。アプリを起動し直してください"
        return found
    orders = RowsOnDemand(ORDERS, grids[ORDERS.title])
    if not found.mall:
        found.candidates = sorted(k[0] for k in orders.rows_by_key if k[1] == number and k[0])
        if len(found.candidates) == 1:
            found.mall = found.candidates[0]
        elif found.candidates:
            found.problem = f"注文番号「{number}」は複数のモールにあります。モールを選んでください"
            return found
    key = (found.mall, number)
    record = orders.record(key)
    if record is None:
        where = f"モール「{found.mall}」の" if found.mall else ""
        found.problem = (
            f"{where}注文番号「{number}」は受注シートにありません"
            "（履歴データベースへ移した注文には、ここでは返品を登録できません）"
        )
        return found
    if isinstance(record, list):
        found.problem = f"この注文の行に入力エラーがあります。先に直してください（{_errors(record)}）"
        return found
    found.order = record.value
    lines_on_demand = RowsOnDemand(ORDER_LINES, grids[ORDER_LINES.title])
    order_lines: list[OrderLine] = []
    for line_key in [k for k in lines_on_demand.rows_by_key if k[:2] == key]:
        parsed = lines_on_demand.record(line_key)
        if isinstance(parsed, list):
            found.problem = f"この注文の明細に入力エラーがあります。先に直してください（{_errors(parsed)}）"
            return found
        if parsed is not None:
            order_lines.append(parsed.value)
    order_lines.sort(key=lambda x: x.line_number)
    history: dict[int, LineHistory] = defaultdict(LineHistory)
    settled = (
        RowsOnDemand(ORDER_SETTLEMENTS, grids[ORDER_SETTLEMENTS.title]).record(key) if now.marked else None
    )
    folded_returns, broken = 0, isinstance(settled, list)
    if settled is not None and not isinstance(settled, list):
        settlement: OrderSettlement = settled.value
        try:
            for n, held in decode_lines(settlement.lines).items():
                history[n].shipped.update(held.shipped)
                folded_returns += sum(held.kinds[k] for k in RETURN_KINDS)
        except (ValueError, TypeError, AttributeError):
            broken = True
    if folded_returns or broken:
        # The settled row counts movements, not units: sum this order's rows of the whole ledger.
        whole = workbook.read([STOCK_MOVEMENTS.title]).get(STOCK_MOVEMENTS.title)
        found.ledger = (
            unparsed_table(STOCK_MOVEMENTS, whole) if whole is not None else missing_table(STOCK_MOVEMENTS)
        )
        if not found.ledger.writable:
            found.problem = "／".join(found.ledger.header_problems)
            return found
        assert whole is not None
        mine = parse_grid(STOCK_MOVEMENTS, _order_rows_only(whole, *key)).models()
        found.known_ids = now.tail_ids | {m.movement_id for m in mine}
        found.read_whole_ledger = True
        history = defaultdict(LineHistory)
        _fold(history, mine, key)
    else:
        _fold(history, now.tail.models(), key)
    found.lines = _returnable(order_lines, history)
    if found.order.status != RETURNABLE_STATUS:
        found.problem = (
            f"返品を登録できるのは「{RETURNABLE_STATUS}」の注文です（この注文は「{found.order.status}」）"
        )
    elif not any(x.shipped for x in found.lines):
        found.problem = (
            "この注文の出荷はまだ在庫に反映されていないか、モールの倉庫から出荷された注文"
            "（在庫引当 OFF）です。自社の在庫から出荷した注文だけ返品を登録できます"
        )
    return found


def _returnable(lines: list[OrderLine], history: dict[int, LineHistory]) -> list[ReturnableLine]:
    found = []
    for line in lines:
        held = history.get(line.line_number, LineHistory())
        skus = sorted(set(held.shipped) | set(held.returned)) or [line.sku]
        for sku in skus:
            found.append(
                ReturnableLine(
                    line.line_number,
                    sku,
                    line.name,
                    line.quantity,
                    held.shipped[sku] if sku else 0,
                    held.returned[sku] if sku else 0,
                )
            )
    return found


def register_return(
    found: OrderForReturn,
    line_number: int,
    sku: str,
    units: int,
    *,
    disposition: str,
    reason: str,
    note: str = "",
    seen_returned: int,
    now: datetime,
) -> ReturnResult:
    """One return of ``units`` of ``sku`` on line ``line_number``. ``seen_returned``: the units
    the form showed as returned before (a second press finds more and is refused)."""
    result = ReturnResult()
    reason, note = " ".join(reason.split()), " ".join(note.split())
    refused = result.refused
    if found.problem:
        refused.append(found.problem)
        return result
    line = found.line(line_number, sku)
    if line is None:
        refused.append(f"注文番号「{found.number}」に明細番号 {line_number}・SKU「{sku}」の明細はありません")
        return result
    if disposition not in KIND_FOR:
        refused.append(f"返品の扱いは「{GOOD}」か「{DEFECTIVE}」を選んでください")
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        refused.append(f"返品数は1以上の整数で入力してください（{units}）")
    elif limits.quantity_problem(units):
        refused.append(limits.quantity_problem(units))
    if not reason:
        refused.append("返品の理由を入力してください（例: サイズ違い、初期不良）")
    if len(reason) > MAX_TEXT or len(note) > MAX_TEXT:
        refused.append(f"理由とメモは{MAX_TEXT}文字以内で入力してください")
    if refused:
        return result
    if line.returned != seen_returned:
        refused.append(
            f"明細番号 {line_number}（{sku}）の返品は、画面を表示した後に登録されています"
            f"（表示したときは {seen_returned} 個、今は {line.returned} 個）。"
            "二重登録を防ぐため登録しませんでした。最新の内容を確かめてください"
        )
        return result
    if units > line.returnable:
        refused.append(
            f"明細番号 {line_number}（{sku}）で返品できるのは {line.returnable} 個までです"
            f"（出荷 {line.shipped} 個・返品済み {line.returned} 個）"
        )
        return result
    movement_id = f"返品:{found.mall}:{found.number}:{line_number}:{line.returned}+{units}"
    if movement_id in found.known_ids:
        refused.append("この返品はすでに登録されています（同じ画面から二度送られました）")
        return result
    text = f"返品（{disposition}）: {reason}" + (f"／{note}" if note else "")
    result.movement = StockMovement(
        移動ID=movement_id,
        日時=now,
        SKU=sku,
        区分=KIND_FOR[disposition],
        数量=units,
        モール=found.mall,
        注文番号=found.number,
        明細番号=line_number,
        備考=text,
    )
    result.job.append(found.ledger, [result.movement])
    return result
