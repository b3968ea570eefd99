"""在庫金額: stock valued at moving-average cost (移動平均法), with 原価 as the fallback.

The rule, per SKU:

- A *costed receipt* is an 入庫 movement made by receiving a 発注 (移動ID
  ``入荷:<発注番号>:<明細番号>:…``, ``purchasing.receiving``) whose 発注明細 line has a 単価.
  At a costed receipt of n units at 単価 c, with q units on hand just before it and average a:
  a ← (q·a + n·c) ÷ (q + n). When q ≤ 0 (nothing left to average with) or a is unknown, a ← c.
- Before the first costed receipt the average is the 商品 tab's 原価 (basis 原価); without 原価
  it is unknown (basis 不明) and the stock is not valued (shown as unknown, never as 0 yen).
- Every other movement changes the quantity only: 出荷 and other decreases leave at the
  average, and increases without a cost (入庫 without a 発注 or without 単価, 返品入庫, 手動調整,
  棚卸, 繰越) come in at it. The average is kept as an exact fraction; yen are rounded half up
  only when a quantity is valued.
- 在庫金額 = 実在庫 × average, rounded half up to the yen; 0 when 実在庫 ≤ 0.
- Movements are taken in ledger order. History moved to the archive comes first, as the
  ledger's 繰越 row (at its top) says: the archive's stock facts give, per archived receipt,
  the stock just before it, and per month the change of stock
  (``sheets_schema.archive_ledger``), so the archive is never read movement by movement. The
  archive explains a SKU's 繰越 only when its movements sum to it (together with any row a pass
  copied but has not yet deleted, counted once); otherwise, or without an archive, the 繰越 is
  opening stock at the fallback cost and month ends before it are not known.
- A month's valuation is 実在庫 at the end of the month (every movement dated in or before it,
  JST) × the average in effect then; the current month is valued as of now.

Everything here is pure: ``purchasing.stock_history`` reads the workbook and the archive.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import NamedTuple

from purchasing.ledger_rows import LedgerRow
from sheets_schema.models import PurchaseOrderLine
from vocabulary.jst import JST
from vocabulary.statuses import ON_HAND_EFFECT

MOVING = "移動平均"
COST = "原価"
UNKNOWN = "不明"
RECEIPT = "入庫"
OPENING = "繰越"
_RECEIVED = "入荷:"
_UNORDERED = "入荷:発注なし:"


def value_yen(units: int, cost: Fraction) -> int:
    """units × cost, half up to the yen, in integers (exact, and far cheaper than Fractions)."""
    numerator, denominator = cost.numerator, cost.denominator
    return (2 * units * numerator + denominator) // (2 * denominator)


def receipt_costs(lines: Iterable[PurchaseOrderLine]) -> dict[tuple[str, int], int]:
    """単価 per (発注番号, 明細番号), for the lines that have one."""
    return {(ln.number, ln.line_number): ln.unit_cost for ln in lines if ln.unit_cost is not None}


def receipt_cost(movement_id: str, costs: Mapping[tuple[str, int], int]) -> int | None:
    """The 単価 of the 発注明細 line an 入庫 received, or None (no 発注, no 単価)."""
    if not movement_id.startswith(_RECEIVED) or movement_id.startswith(_UNORDERED):
        return None
    parts = movement_id[len(_RECEIVED) :].rsplit(":", 2)  # 発注番号 may itself hold a colon
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return costs.get((parts[0], int(parts[1])))


def naive_jst(at: datetime) -> datetime:
    """JST wall time without tzinfo (what the archive's text and pandas hold)."""
    if at.tzinfo is None:
        return at
    return (at if at.tzinfo is JST else at.astimezone(JST)).replace(tzinfo=None)


class ArchivedReceipt(NamedTuple):  # a tuple: 100,000 of them are made on a cold start
    movement_id: str
    sku: str
    at: datetime  # JST, naive
    units: int
    before_in_month: int  # 月内前残


@dataclass(frozen=True)
class ArchivedStock:
    """The archive's stock facts: per SKU its change of stock per month, and its receipts."""

    months: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # SKU -> 'YYYY-MM' -> 増減
    receipts: Mapping[str, Sequence[ArchivedReceipt]] = field(default_factory=dict)  # SKU -> in order


@dataclass
class CostHistory:
    """One SKU's moving-average cost over time and its stock per month."""

    sku: str
    fallback: Fraction | None  # 原価
    changes: list[tuple[datetime, Fraction]] = field(default_factory=list)  # average from then on
    months: dict[str, int] = field(default_factory=dict)  # 'YYYY-MM' -> change of 実在庫
    on_hand: int = 0  # at the end of the ledger
    known_from: str = ""  # months before this one are not known (a 繰越 without its archive)
    _keys: list[str] = field(default_factory=list, repr=False)
    _running: list[int] = field(default_factory=list, repr=False)
    _times: list[datetime] = field(default_factory=list, repr=False)

    def finish(self) -> None:
        """Index what was folded (cumulative stock per month, change times) for lookups."""
        self._times = [at for at, _ in self.changes]
        self._keys = sorted(self.months)
        total, self._running = 0, []
        for key in self._keys:
            total += self.months[key]
            self._running.append(total)

    def cost_at(self, at: datetime) -> tuple[Fraction | None, str]:
        """The average in effect just before ``at`` (naive JST), and its basis."""
        i = bisect_left(self._times, at)
        if i:
            return self.changes[i - 1][1], MOVING
        return self.fallback, (COST if self.fallback is not None else UNKNOWN)

    def record(self, at: datetime, average: Fraction) -> None:
        """A costed receipt's new average. Times never go back (a clock skew between writers
        would otherwise reorder the averages, which follow ledger order)."""
        if self.changes and at < self.changes[-1][0]:
            at = self.changes[-1][0]
        self.changes.append((at, average))

    @property
    def cost(self) -> tuple[Fraction | None, str]:
        if self.changes:
            return self.changes[-1][1], MOVING
        return self.fallback, (COST if self.fallback is not None else UNKNOWN)


def _averaged(before: int, average: Fraction | None, units: int, cost: int) -> Fraction:
    if before <= 0 or average is None:
        return Fraction(cost)
    return (before * average + units * cost) / (before + units)


def cost_histories(
    movements: Sequence[LedgerRow],
    costs: Mapping[tuple[str, int], int],
    fallback: Mapping[str, int | None],
    archived: ArchivedStock | None = None,
    archived_ids: frozenset[str] = frozenset(),
) -> dict[str, CostHistory]:
    """Per SKU: the workbook's ledger (``movements``, in ledger order) after the archive's
    stock facts; ``archived_ids``: movements still in the workbook that the archive holds too
    (a pass stopped between its copy and its delete), counted once, from the archive."""
    archived = archived or ArchivedStock()
    hot: dict[str, list[LedgerRow]] = {}
    carried: dict[str, int] = {}
    doubled: dict[str, int] = {}
    for m in movements:
        if m.movement_id in archived_ids:
            doubled[m.sku] = doubled.get(m.sku, 0) + ON_HAND_EFFECT[m.kind] * m.quantity
            continue
        if m.kind == OPENING:
            carried[m.sku] = carried.get(m.sku, 0) + m.quantity
        hot.setdefault(m.sku, []).append(m)
    skus = set(hot) | set(archived.months) | set(fallback)
    histories = {}
    for sku in sorted(skus):
        cost = fallback.get(sku)
        history = CostHistory(sku, None if cost is None else Fraction(cost))
        months = archived.months.get(sku, {})
        # The archive stands for the 繰越 only when it sums to it (see the module docstring).
        explained = bool(months) and sum(months.values()) == carried.get(sku, 0) + doubled.get(sku, 0)
        if explained:
            _fold_archive(history, months, archived.receipts.get(sku, ()), costs)
        _fold_hot(history, hot.get(sku, ()), costs, skip_opening=explained)
        history.finish()
        histories[sku] = history
    return histories


def extend_histories(
    previous: Mapping[str, CostHistory],
    appended: Sequence[LedgerRow],
    costs: Mapping[tuple[str, int], int],
) -> dict[str, CostHistory] | None:
    """``previous`` (what ``cost_histories`` gave for a ledger) carried on over movements
    appended to that ledger since, with the same costs, 原価, archive and nothing counted
    twice: the fold goes on from each SKU's state where it stopped, so the result equals
    ``cost_histories`` over the whole ledger. None when an appended row is a 繰越 (an archive
    pass rewrote the ledger's top: only a full build decides what the archive explains).
    ``previous`` is left as it was (other sessions may be reading it); the SKUs that moved
    are copies."""
    if any(m.kind == OPENING for m in appended):
        return None
    moved: dict[str, list[LedgerRow]] = {}
    for m in appended:
        moved.setdefault(m.sku, []).append(m)
    histories = dict(previous)
    for sku, movements in moved.items():
        before = previous.get(sku)
        if before is None:
            history = CostHistory(sku, None)  # no 原価, no archive, no movement until now
        else:
            history = CostHistory(
                sku,
                before.fallback,
                list(before.changes),
                dict(before.months),
                before.on_hand,
                before.known_from,
            )
        _fold_hot(history, movements, costs, skip_opening=False)
        history.finish()
        histories[sku] = history
    return {sku: histories[sku] for sku in sorted(histories)}  # the order cost_histories gives


def _fold_archive(
    history: CostHistory,
    months: Mapping[str, int],
    receipts: Sequence[ArchivedReceipt],
    costs: Mapping[tuple[str, int], int],
) -> None:
    keys = sorted(months)
    running, total = {}, 0
    for key in keys:
        running[key] = total  # stock at the start of the month
        total += months[key]
    average, _ = history.cost
    for r in receipts:
        cost = receipt_cost(r.movement_id, costs)
        if cost is None:
            continue
        before = running.get(f"{r.at:%Y-%m}", 0) + r.before_in_month
        average = _averaged(before, average, r.units, cost)
        history.record(r.at, average)
    history.months.update(months)
    history.on_hand = total


def _fold_hot(
    history: CostHistory,
    movements: Sequence[LedgerRow],
    costs: Mapping[tuple[str, int], int],
    *,
    skip_opening: bool,
) -> None:
    average, _ = history.cost
    on_hand = history.on_hand
    for m in movements:
        if m.kind == OPENING and skip_opening:
            continue
        month = m.at[:7]
        if m.kind == OPENING:
            history.known_from = max(history.known_from, month)
        elif m.kind == RECEIPT:
            cost = receipt_cost(m.movement_id, costs)
            if cost is not None:
                average = _averaged(on_hand, average, m.quantity, cost)
                history.record(datetime.fromisoformat(m.at), average)
        change = ON_HAND_EFFECT[m.kind] * m.quantity
        on_hand += change
        history.months[month] = history.months.get(month, 0) + change
    history.on_hand = on_hand


# --- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuValue:
    sku: str
    on_hand: int
    unit_cost: Fraction | None
    basis: str  # 移動平均 / 原価 / 不明
    value: int | None  # yen; None when the cost is unknown and there is stock


def value_of(sku: str, on_hand: int, cost: Fraction | None, basis: str) -> SkuValue:
    if on_hand <= 0:
        return SkuValue(sku, on_hand, cost, basis, 0)
    return SkuValue(sku, on_hand, cost, basis, None if cost is None else value_yen(on_hand, cost))


@dataclass(frozen=True)
class StockValue:
    rows: list[SkuValue]

    @property
    def total(self) -> int:
        return sum(r.value for r in self.rows if r.value is not None)

    def skus(self, basis: str) -> int:
        """SKUs in stock valued on this basis."""
        return sum(1 for r in self.rows if r.basis == basis and r.on_hand > 0)


def stock_value(
    histories: Mapping[str, CostHistory], on_hand: Mapping[str, int], fallback: Mapping[str, int | None]
) -> StockValue:
    """在庫金額 now: ``on_hand`` (the 在庫 tab's 実在庫, what staff see) at each SKU's current
    average; a SKU with no movement yet at its 原価."""
    rows = []
    for sku, units in on_hand.items():
        history = histories.get(sku)
        if history is not None:
            cost, basis = history.cost
        else:
            found = fallback.get(sku)
            cost, basis = (None, UNKNOWN) if found is None else (Fraction(found), COST)
        rows.append(value_of(sku, units, cost, basis))
    return StockValue(rows)


@dataclass(frozen=True)
class MonthValue:
    month: date  # its 1st
    at: datetime  # valued as of (naive JST): the next month's 1st, or now
    rows: list[SkuValue]
    unknown_history: int  # SKUs whose stock at that month's end is not known (no archive)

    @property
    def units(self) -> int:
        return sum(r.on_hand for r in self.rows if r.on_hand > 0)

    @property
    def value(self) -> int:
        return sum(r.value for r in self.rows if r.value is not None)

    def skus(self, basis: str) -> int:
        return sum(1 for r in self.rows if r.basis == basis and r.on_hand > 0)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_end_values(
    histories: Mapping[str, CostHistory], months: Iterable[date], now: datetime
) -> list[MonthValue]:
    """Each month's closing stock at the average in effect at its end (the month still running:
    as of ``now``), months in order. SKUs without stock at that end are left out. One walk per
    SKU through its months and cost changes, not a lookup per SKU and month."""
    now = naive_jst(now)
    firsts = sorted(set(months))
    ends = [min(datetime.combine(_next_month(f), datetime.min.time()), now) for f in firsts]
    keys = [f"{f:%Y-%m}" for f in firsts]
    rows: list[list[SkuValue]] = [[] for _ in firsts]
    unknown = [0] * len(firsts)
    for sku, history in histories.items():
        if not history._keys:
            continue  # never moved: no stock at any end
        held, times, running = history._keys, history._times, history._running
        i = j = units = 0
        for n, key in enumerate(keys):
            while i < len(held) and held[i] <= key:
                units = running[i]
                i += 1
            if history.known_from and key < history.known_from:
                unknown[n] += 1
                continue
            if units <= 0:
                continue
            while j < len(times) and times[j] < ends[n]:
                j += 1
            if j:
                rows[n].append(value_of(sku, units, history.changes[j - 1][1], MOVING))
            else:
                basis = COST if history.fallback is not None else UNKNOWN
                rows[n].append(value_of(sku, units, history.fallback, basis))
    return [MonthValue(f, e, r, u) for f, e, r, u in zip(firsts, ends, rows, unknown, strict=True)]
