"""The stock ledger (在庫移動): what each movement does, and the movements an order line needs.

The ledger is append-only and the source of truth: 実在庫 is the sum of on-hand effects and
引当数 the sum of allocation effects. A line's movements are derived by comparing what the
ledger already holds for that line with what its order's status asks for, so replaying any
window adds nothing, and a crash before a job commits leaves nothing half-done.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.models import OPEN_ORDER_STATUSES, StockMovement

# (on-hand effect, allocation effect) of one unit of each kind; 手動調整/棚卸 carry their sign,
# and so does 繰越: the sum of a SKU's movements moved to the archive (one row per SKU).
EFFECTS: dict[str, tuple[int, int]] = {
    "入庫": (1, 0),
    "出荷": (-1, 0),
    "手動調整": (1, 0),
    "棚卸": (1, 0),
    "繰越": (1, 0),
    "引当": (0, 1),
    "引当解除": (0, -1),
    "返品入庫": (1, 0),
    "不良入庫": (0, 0),
    "不良振替": (-1, 0),
    "不良処分": (0, 0),
}
# Effect on 不良在庫 (defective units kept apart from 実在庫). These movements stay in the
# workbook when history is archived: the archive's 繰越 carries 実在庫 only.
DEFECTIVE_EFFECTS: dict[str, int] = {"不良入庫": 1, "不良振替": 1, "不良処分": -1}

LineKey = tuple[str, str, int]  # (モール, 注文番号, 明細番号)


@dataclass
class LineLedger:
    allocated: Counter[str] = field(default_factory=Counter)  # SKU -> units held
    shipped: Counter[str] = field(default_factory=Counter)  # SKU -> units shipped
    kinds: Counter[str] = field(default_factory=Counter)  # kind -> movements so far (for IDs)


@dataclass
class Ledger:
    lines: dict[LineKey, LineLedger] = field(default_factory=lambda: defaultdict(LineLedger))
    on_hand: Counter[str] = field(default_factory=Counter)
    allocated: Counter[str] = field(default_factory=Counter)
    defective: Counter[str] = field(default_factory=Counter)  # SKU -> 不良在庫
    ids: set[str] = field(default_factory=set)

    def add(self, movement: StockMovement) -> None:
        self.ids.add(movement.movement_id)
        hand, alloc = EFFECTS[movement.kind]
        self.on_hand[movement.sku] += hand * movement.quantity
        self.allocated[movement.sku] += alloc * movement.quantity
        if movement.kind in DEFECTIVE_EFFECTS:
            self.defective[movement.sku] += DEFECTIVE_EFFECTS[movement.kind] * movement.quantity
        if movement.order_number and movement.line_number:
            line = self.lines[(movement.mall, movement.order_number, movement.line_number)]
            line.kinds[movement.kind] += 1
            if alloc:
                line.allocated[movement.sku] += alloc * movement.quantity
            if movement.kind == "出荷":
                line.shipped[movement.sku] += movement.quantity


def build_ledger(movements: Iterable[StockMovement]) -> Ledger:
    ledger = Ledger()
    for movement in movements:
        ledger.add(movement)
    return ledger


@dataclass(frozen=True)
class LineTarget:
    """What an order line should hold in the ledger, given its order as it now stands."""

    key: LineKey
    sku: str | None
    quantity: int
    status: str
    allocates_stock: bool
    # The line's SKU is a set (sync/sets.py): units of each component in one set. The line then
    # holds its components (数量 × line quantity each), never the set SKU itself.
    components: tuple[tuple[str, int], ...] | None = None

    def wanted(self) -> dict[str, int]:
        """Units per SKU the line takes from stock while its order is open (or ships)."""
        if not self.allocates_stock or self.sku is None:
            return {}
        if self.components is None:
            return {self.sku: self.quantity}
        return {sku: units * self.quantity for sku, units in self.components if units * self.quantity}


def _movement(
    kind: str, key: LineKey, sku: str, quantity: int, n: int, at: datetime, note: str, component: bool = False
) -> StockMovement:
    mall, order_number, line_number = key
    # Deterministic IDs: the n-th movement of a kind for a line, so a replay finds its own. A set
    # line's movements also name the component, so each (order line, component) reads apart.
    suffix = "" if n == 1 else f":{n}"
    part = f":{sku}" if component else ""
    return StockMovement(
        移動ID=f"{kind}:{mall}:{order_number}:{line_number}{part}{suffix}",
        日時=at,
        SKU=sku,
        区分=kind,
        数量=quantity,
        モール=mall,
        注文番号=order_number,
        明細番号=line_number,
        備考=note,
    )


def line_movements(target: LineTarget, ledger: Ledger, at: datetime) -> list[StockMovement]:
    """Movements that bring the ledger to what the line's order asks for; none if it already is.

    A set line (``target.components``) allocates, ships and releases its components, each
    movement's 備考 naming the set and the line's quantity. Once a line has shipped, what it
    shipped is final when the line is a set or its shipped SKUs are not the line's SKU: a
    composition (or mapping) changed after shipment never ships goods a second time."""
    held = ledger.lines.get(target.key) or LineLedger()
    wanted = target.wanted()
    is_set = target.components is not None
    set_note = f"セット {target.sku} ×{target.quantity}" if is_set else ""
    movements: list[StockMovement] = []

    def add(kind: str, sku: str, quantity: int, note: str) -> None:
        n = held.kinds[kind] + 1 + sum(1 for m in movements if m.kind == kind)
        if set_note:
            note = f"{note}（{set_note}）" if note else set_note
        movements.append(_movement(kind, target.key, sku, quantity, n, at, note, component=is_set))

    is_open = target.status in OPEN_ORDER_STATUSES
    for sku, units in sorted(held.allocated.items()):
        keep = wanted.get(sku, 0) if is_open else 0
        if units > keep:
            add("引当解除", sku, units - keep, _release_reason(target, sku))
    if target.status == "出荷済":
        shipped = {sku for sku, units in held.shipped.items() if units}
        final = bool(shipped) and (is_set or shipped != set(wanted))
        if not final:
            for sku, units in sorted(wanted.items()):
                missing = units - held.shipped[sku]
                if missing > 0:
                    add("出荷", sku, missing, "出荷済")
    elif is_open:
        for sku, units in sorted(wanted.items()):
            missing = units - held.allocated[sku]
            if missing > 0:
                add("引当", sku, missing, "")
    return movements


def _release_reason(target: LineTarget, sku: str) -> str:
    if target.status == "キャンセル":
        return "キャンセル"
    if target.status == "出荷済":
        return "出荷により引当解除"
    if target.components is not None:
        if not target.allocates_stock:
            return "在庫引当OFF"
        return "数量の変更" if any(s == sku for s, _ in target.components) else "セット構成の変更"
    if target.sku != sku:
        return "SKUの変更"
    if not target.allocates_stock:
        return "在庫引当OFF"
    return "数量の変更"


def movement_row(movement: StockMovement) -> dict[str, Any]:
    return movement.model_dump(by_alias=True)
