"""The ledger as a cycle needs it, without reading 在庫移動 from its first row.

Two hidden tabs hold what the ledger adds up to, written in the same job as the movements
that change them:

- ``_台帳集計``: 実在庫 and 引当数 per SKU (the sums of every movement's effects);
- ``_受注在庫``: per order, what the ledger holds for each line (units allocated and shipped
  per SKU, movements per kind) and the ステータス|在庫引当 of the 受注 row it was settled for.

``_システム`` keeps ``末尾:在庫移動``, the first ledger row not yet in those totals. A cycle reads
the ledger only from there (normally nothing: the engine moves the mark with every append), so
rows appended by anything else are still folded in, once. A workbook without the mark (made by
an older Ichigen) is folded from row 2 on its first cycle: the upgrade is that one full read.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import LedgerBalance, OrderSettlement, StockMovement
from sheets_schema.parsing import RowsOnDemand, Table
from sync.ledger import Ledger, LineLedger

OrderKey = tuple[str, str]  # (モール, 注文番号)

LEDGER_MARK = "末尾:在庫移動"
LOG_MARK = "末尾:同期ログ"
# When an archive pass last moved orders out of 受注: from then on an order a mall reports that
# is not in 受注 may be in the archive, and is looked up there before it is imported as new.
ARCHIVE_MARK = "履歴:受注"


def signature(status: str, allocates: str) -> str:
    """What a 受注 row's stock effect depends on, as its cells read."""
    return f"{status.strip()}|{allocates.strip()}"


def encode_lines(lines: dict[int, LineLedger]) -> str:
    data = {
        str(number): {
            k: dict(sorted(v.items()))
            for k, v in (("a", line.allocated), ("s", line.shipped), ("k", line.kinds))
            if any(v.values())
        }
        for number, line in sorted(lines.items())
    }
    return json.dumps({n: v for n, v in data.items() if v}, ensure_ascii=False, separators=(",", ":"))


def decode_lines(text: str) -> dict[int, LineLedger]:
    if not text.strip():
        return {}
    lines = {}
    for number, held in json.loads(text).items():
        lines[int(number)] = LineLedger(
            allocated=Counter(held.get("a", {})),
            shipped=Counter(held.get("s", {})),
            kinds=Counter(held.get("k", {})),
        )
    return lines


@dataclass
class SettledLedger:
    """Totals from ``_台帳集計`` plus the unread tail; line state loaded per order on demand."""

    balances: Table[Any]
    settlements: RowsOnDemand
    ledger: Ledger = field(default_factory=Ledger)
    upgrading: bool = False  # no mark yet: totals and line state are rebuilt from the tail
    blocked: set[OrderKey] = field(default_factory=set)  # _受注在庫 rows that do not parse
    _loaded: dict[OrderKey, set[int]] = field(default_factory=dict)  # order -> its line numbers
    _dirty_orders: set[OrderKey] = field(default_factory=set)
    _dirty_skus: set[str] = field(default_factory=set)
    _settled_for: dict[OrderKey, str] = field(default_factory=dict)
    _raw_settled: dict[OrderKey, str] | None = None

    @classmethod
    def open(
        cls, balances: Table[Any], settlements: RowsOnDemand, tail: Table[Any], *, upgrading: bool
    ) -> SettledLedger:
        state = cls(balances, settlements, upgrading=upgrading)
        if not upgrading:
            for record in balances:
                balance: LedgerBalance = record.value
                state.ledger.on_hand[balance.sku] = balance.on_hand
                state.ledger.allocated[balance.sku] = balance.allocated
                state.ledger.defective[balance.sku] = balance.defective
        for movement in tail.models():
            state.add(movement)
        return state

    # -- reading

    def settled_signatures(self) -> dict[OrderKey, str]:
        """``settled_for`` of every order the workbook has settled, as one dict (a quiet cycle
        compares each 受注 row with it)."""
        self.settled_for(("", ""))
        assert self._raw_settled is not None
        return {**self._raw_settled, **self._settled_for}

    def settled_for(self, key: OrderKey) -> str | None:
        """The 受注 signature an order was last settled for (None: never settled)."""
        if key in self._settled_for:
            return self._settled_for[key]
        if self._raw_settled is None:
            table = self.settlements.table
            self._raw_settled = {}
            if table.writable and not self.upgrading:
                # The first non-blank row of each key, as settlements.rows_by_key has it, in one
                # pass over two raw cells (no index of the whole tab: a quiet cycle needs none).
                column = table.column("反映状態")
                mall, number = table.column("モール"), table.column("注文番号")
                raw = self._raw_settled
                for cells in table.grid.rows:
                    key_ = (cells[mall].strip(), cells[number].strip())
                    if key_ in raw or (not (key_[0] or key_[1]) and not "".join(cells).strip()):
                        continue
                    raw[key_] = cells[column].strip()
        return self._raw_settled.get(key)

    def load(self, key: OrderKey) -> bool:
        """Bring an order's line state into the ledger; False if its _受注在庫 row is broken."""
        if key in self._loaded:
            return True
        if key in self.blocked:
            return False
        numbers: set[int] = set()
        if not self.upgrading:
            found = self.settlements.record(key)
            if isinstance(found, list):
                self.blocked.add(key)
                return False
            if found is not None:
                settlement: OrderSettlement = found.value
                try:
                    lines = decode_lines(settlement.lines)
                except (ValueError, TypeError, AttributeError):
                    self.blocked.add(key)
                    return False
                for number, line in lines.items():
                    self.ledger.lines[(key[0], key[1], number)] = line
                    numbers.add(number)
        self._loaded[key] = numbers
        return True

    # -- changing

    def add(self, movement: StockMovement) -> None:
        key = (movement.mall, movement.order_number) if movement.order_number else None
        if key is not None and movement.line_number:
            self.load(key)
            self._loaded.setdefault(key, set()).add(movement.line_number)
            self._dirty_orders.add(key)
        self.ledger.add(movement)
        self._dirty_skus.add(movement.sku)

    def settled(self, key: OrderKey, signature_: str) -> None:
        """The order's lines now hold what a 受注 row with this signature asks for."""
        if self.settled_for(key) != signature_:
            self._settled_for[key] = signature_
            self._dirty_orders.add(key)

    @property
    def changed_skus(self) -> set[str]:
        return set(self._dirty_skus)

    def write(self, job: WriteJob, at: datetime) -> None:
        """The totals and line state this job changed, next to the movements it appends."""
        for sku in sorted(self._dirty_skus):
            cells = {
                "SKU": sku,
                "実在庫": self.ledger.on_hand[sku],
                "引当数": self.ledger.allocated[sku],
                "不良在庫": self.ledger.defective[sku],
                "更新日時": at,
            }
            job.put(self.balances, (sku,), cells)
        for key in sorted(self._dirty_orders - self.blocked):
            lines = {n: self.ledger.lines[(key[0], key[1], n)] for n in self._loaded.get(key, ())}
            cells = {
                "モール": key[0],
                "注文番号": key[1],
                "反映状態": self.settled_for(key) or "",
                "明細在庫": encode_lines(lines),
                "更新日時": at,
            }
            job.put(self.settlements.table, key, cells)
