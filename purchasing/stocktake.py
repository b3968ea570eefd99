"""棚卸: a count sheet, the counts entered on it, a preview of differences valued at cost, and
their application as 棚卸 movements in ONE job.

Orders keep flowing while goods are counted. The count sheet therefore records the ledger's
実在庫 when it was made (帳簿在庫, with its 帳簿日時), and applying it appends, per SKU,
``実数 − 帳簿在庫``: what the count found missing or extra *at count time*. A sale that ships
between the count and its application has its own 出荷 movement after the count, which this
difference leaves alone, so 実在庫 ends at ``counted − shipped since (+ received since)`` and an
order allocated meanwhile keeps its 引当.

One count sheet is one stocktake (棚卸ID). Its movements are ``棚卸:<棚卸ID>:<SKU>`` and the job
also records ``棚卸:<棚卸ID>`` in ``_システム``: applying the same sheet again (a double click,
a second upload, another person) is refused, whether or not a cycle has folded the first.
To count the shop in parts, make one sheet per 棚番 range. SKUs left blank in 実数 are not
counted (a blank is not a zero) and are not changed. 不良在庫 is kept apart and not counted here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from purchasing.ledger_now import LedgerNow, read_ledger_now
from sheets_schema.cells import format_datetime
from sheets_schema.changes import WriteJob
from sheets_schema.models import Product, StockMovement
from sheets_schema.parsing import Table, parse_grid
from sheets_schema.tabs import PRODUCTS, SET_COMPONENTS
from sheets_schema.workbook import Workbook
from sync import state

PREFIX = "TK"
STATE_PREFIX = "棚卸:"


@dataclass(frozen=True)
class CountRow:
    location: str  # 棚番
    sku: str
    name: str
    book: int  # 帳簿在庫: the ledger's 実在庫 when the sheet was made


@dataclass(frozen=True)
class CountSheet:
    stocktake_id: str
    counted_at: datetime  # 帳簿日時 (to the minute: it survives a round trip through Excel)
    rows: tuple[CountRow, ...]


@dataclass(frozen=True)
class Counts:
    """What a filled-in count sheet says: 帳簿在庫 per SKU at count time and 実数 where counted."""

    stocktake_id: str
    counted_at: datetime
    book: dict[str, int]
    counted: dict[str, int]
    source: str  # the file name, or 画面


def new_stocktake_id(now: datetime, token: str) -> str:
    """TK-20261206-1030-ABCD: the minute it was made and a few letters (two sheets made in the
    same minute, for two 棚番 ranges, are two stocktakes)."""
    return f"{PREFIX}-{now:%Y%m%d-%H%M}-{token}"


def _location_order(row: CountRow) -> tuple[bool, str, str]:
    return (not row.location, row.location, row.sku)  # goods without a 棚番 last


def make_count_sheet(
    products: Iterable[Product],
    on_hand: Mapping[str, int],
    *,
    now: datetime,
    token: str,
    location_prefix: str = "",
) -> CountSheet:
    """Every product (those whose 棚番 starts with ``location_prefix``), by 棚番 then SKU."""
    prefix = location_prefix.strip()
    rows = [
        CountRow(p.location, p.sku, p.name, on_hand.get(p.sku, 0))
        for p in products
        if p.location.startswith(prefix)
    ]
    at = now.replace(second=0, microsecond=0)
    return CountSheet(new_stocktake_id(at, token), at, tuple(sorted(rows, key=_location_order)))


def read_for_stocktake(workbook: Workbook) -> tuple[LedgerNow, dict[str, Product], frozenset[str]]:
    """The ledger's totals now, the products that hold stock, and the set SKUs (セット商品 hold no
    stock of their own: their components are counted), in one read (plus the mark's)."""
    ledger, grids = read_ledger_now(workbook, [PRODUCTS.title, SET_COMPONENTS.title])
    grid = grids.get(PRODUCTS.title)
    products = parse_grid(PRODUCTS, grid).models() if grid is not None else []
    components = grids.get(SET_COMPONENTS.title)
    sets = frozenset(
        c.set_sku for c in (parse_grid(SET_COMPONENTS, components).models() if components is not None else [])
    )
    return ledger, {p.sku: p for p in products if p.sku not in sets}, sets


# -- preview


@dataclass(frozen=True)
class Difference:
    sku: str
    name: str
    location: str
    book: int
    counted: int
    cost: int | None  # 原価 from 商品; None when blank
    on_hand_now: int  # 実在庫 now: the difference is added to it

    @property
    def diff(self) -> int:
        return self.counted - self.book

    @property
    def value(self) -> int | None:
        return None if self.cost is None else self.diff * self.cost


@dataclass
class Preview:
    rows: list[Difference]  # every counted SKU, by 棚番 then SKU
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[Difference]:
        return [d for d in self.rows if d.diff]

    @property
    def value_total(self) -> int:
        """Σ 差異 × 原価 over the SKUs that have a 原価 (see ``uncosted``)."""
        return sum(d.value or 0 for d in self.changed)

    @property
    def uncosted(self) -> list[str]:
        return [d.sku for d in self.changed if d.cost is None]


def applied_stocktakes(system: Table[Any]) -> dict[str, dict[str, Any]]:
    """棚卸ID -> what its application recorded in _システム."""
    found = {}
    for key, value in state.values(system).items():
        if key.startswith(STATE_PREFIX):
            try:
                found[key.removeprefix(STATE_PREFIX)] = json.loads(value)
            except ValueError:
                found[key.removeprefix(STATE_PREFIX)] = {}
    return found


def preview(counts: Counts, products: Mapping[str, Product], ledger: LedgerNow) -> Preview:
    rows = [
        Difference(
            sku,
            products[sku].name if sku in products else "",
            products[sku].location if sku in products else "",
            counts.book[sku],
            counted,
            products[sku].cost if sku in products else None,
            ledger.on_hand[sku],
        )
        for sku, counted in counts.counted.items()
    ]
    rows.sort(key=lambda d: (not d.location, d.location, d.sku))
    found = Preview(rows)
    done = applied_stocktakes(ledger.system)
    if counts.stocktake_id in done:
        found.warnings.append(_already(counts.stocktake_id, done[counts.stocktake_id]))
    stamp = format_datetime(counts.counted_at)
    later = sorted(
        i for i, d in done.items() if str(d.get("帳簿日時", "")) > stamp and i != counts.stocktake_id
    )
    if later:
        found.warnings.append(
            f"この棚卸表（帳簿日時 {stamp}）より後に作った棚卸表 {'、'.join(later)} がすでに反映されています。"
            "同じ商品を数えた場合、古い数え直しで上書きすることになります。確かめてから反映してください"
        )
    return found


def _already(stocktake_id: str, record: Mapping[str, Any]) -> str:
    when = record.get("反映日時", "")
    return f"棚卸「{stocktake_id}」はすでに反映されています（{when}）。同じ棚卸表は二度反映できません"


# -- applying


@dataclass
class Applied:
    job: WriteJob = field(default_factory=WriteJob)
    movements: list[StockMovement] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def movement_id(stocktake_id: str, sku: str) -> str:
    return f"棚卸:{stocktake_id}:{sku}"


def apply_stocktake(
    counts: Counts,
    products: Mapping[str, Product],
    ledger: LedgerNow,
    *,
    now: datetime,
    sets: frozenset[str] = frozenset(),
) -> Applied:
    """One job: a 棚卸 movement per SKU whose count differs from its 帳簿在庫 at count time,
    and the stocktake's record in _システム. Nothing when anything is wrong."""
    applied = Applied()
    done = applied_stocktakes(ledger.system)
    if counts.stocktake_id in done or any(
        movement_id(counts.stocktake_id, sku) in ledger.tail_ids for sku in counts.counted
    ):
        applied.refused.append(_already(counts.stocktake_id, done.get(counts.stocktake_id, {})))
        return applied
    counted_sets = sorted(set(counts.counted) & sets)
    if counted_sets:
        applied.refused.append(
            f"セット商品は在庫を持たないため棚卸できません: {'、'.join(counted_sets[:10])}。"
            "セットの中身（構成SKU）を数えて、その行に入れてください"
        )
        return applied
    unknown = sorted(set(counts.counted) - set(products))
    if unknown:
        applied.refused.append(f"商品シートにないSKUがあります: {'、'.join(unknown[:10])}")
        return applied
    if not counts.counted:
        applied.refused.append("実数が入力された行がありません")
        return applied
    stamp = format_datetime(counts.counted_at)
    for sku in sorted(counts.counted):
        book, counted = counts.book[sku], counts.counted[sku]
        if counted == book:
            continue  # counted and right: the stocktake's record says it was counted
        applied.movements.append(
            StockMovement(
                移動ID=movement_id(counts.stocktake_id, sku),
                日時=now,
                SKU=sku,
                区分="棚卸",
                数量=counted - book,
                備考=f"棚卸 {counts.stocktake_id}: 帳簿在庫 {book}（{stamp}時点）→ 実数 {counted}",
            )
        )
    applied.job.append(ledger.tail, applied.movements)
    record = {
        "帳簿日時": stamp,
        "反映日時": format_datetime(now),
        "数えたSKU": len(counts.counted),
        "差異SKU": len(applied.movements),
        "ファイル": counts.source,
    }
    state.put(
        applied.job,
        ledger.system,
        f"{STATE_PREFIX}{counts.stocktake_id}",
        json.dumps(record, ensure_ascii=False),
        now,
    )
    return applied
