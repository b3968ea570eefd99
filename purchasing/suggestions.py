"""発注提案: how many of each SKU to order now, and why.

The rule, per SKU (every figure is shown to staff in the row's explanation):

- 1日平均 = units sold in the last ``window_days`` days (non-cancelled orders of every mall that
  take stock from the shop's warehouse) ÷ ``window_days``;
- 手元 = 実在庫 − 引当数 (units not promised to an order; may be below 0 when oversold);
- 見込み = 手元 + 発注残 (ordered from the supplier, not yet received);
- リードタイム = 商品's リードタイム日数, else the 仕入先's, else ``DEFAULT_LEAD_DAYS``;
- 必要数 = ⌈1日平均 × (リードタイム + 発注間隔)⌉ + 安全在庫: what must be on hand or on its
  way to last until the order after this one arrives (``cover_days`` = 発注間隔);
- 発注する when 見込み ≤ 発注点 (if set), or 見込み < ⌈1日平均 × リードタイム⌉ + 安全在庫 (stock
  would run out before goods ordered today arrive);
- 提案数 = max(必要数, 発注点 + 1) − 見込み, rounded up to a multiple of 発注ロット (at least one
  lot); 0 when nothing needs ordering;
- 在庫切れ予定日 = today + ⌊(手元 − 安全在庫) ÷ 1日平均⌋ days (none when nothing sells).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sheets_schema.models import Product, Stock, Supplier

DEFAULT_LEAD_DAYS = 7
NO_SUPPLIER = "（仕入先未設定）"


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    supplier: str
    per_day: float
    sold: int
    free: int  # 手元: 実在庫 − 引当数
    on_order: int  # 発注残
    reorder_point: int | None
    lot: int
    lead_days: int
    safety: int
    needed: int  # 必要数
    quantity: int  # 提案数 (0: nothing to order)
    runs_out_on: date | None
    unit_cost: int | None
    why: str

    @property
    def position(self) -> int:
        """見込み: 手元 + 発注残."""
        return self.free + self.on_order


def suggest(
    products: Iterable[Product],
    stock: Mapping[str, Stock],
    sold: Mapping[str, int],
    on_order: Mapping[str, int],
    suppliers: Mapping[str, Supplier],
    *,
    today: date,
    window_days: int = 30,
    cover_days: int = 14,
) -> list[Suggestion]:
    """One suggestion per product (quantity 0 when nothing needs ordering), those to order
    first, each supplier's together, soonest run-out first."""
    if window_days < 1 or cover_days < 0:
        raise ValueError("集計期間は1日以上、発注間隔は0日以上にしてください")
    found = [
        _one(
            p,
            stock.get(p.sku),
            sold.get(p.sku, 0),
            on_order.get(p.sku, 0),
            suppliers,
            today,
            window_days,
            cover_days,
        )
        for p in products
    ]
    return sorted(
        found,
        key=lambda s: (
            s.quantity == 0,
            s.supplier,
            s.runs_out_on or date.max,
            s.sku,
        ),
    )


def _one(
    product: Product,
    stock: Stock | None,
    sold: int,
    on_order: int,
    suppliers: Mapping[str, Supplier],
    today: date,
    window_days: int,
    cover_days: int,
) -> Suggestion:
    supplier = suppliers.get(product.supplier)
    lead, lead_from = _lead_days(product, supplier)
    lot = product.reorder_lot or 1
    safety = stock.safety_stock if stock else 0
    free = (stock.on_hand - stock.allocated) if stock else 0
    per_day = sold / window_days
    position = free + on_order
    needed = math.ceil(per_day * (lead + cover_days)) + safety
    before_arrival = math.ceil(per_day * lead) + safety
    reasons = []
    if product.reorder_point is not None and position <= product.reorder_point:
        reasons.append(f"見込み {position} が発注点 {product.reorder_point} 以下")
    if position < before_arrival:
        reasons.append(
            f"見込み {position} ではリードタイム {lead}日の間に足りません（{before_arrival} 必要）"
        )
    quantity = 0
    if reasons:
        target = max(needed, (product.reorder_point + 1) if product.reorder_point is not None else 0)
        quantity = max(lot, math.ceil(max(0, target - position) / lot) * lot)
    runs_out_on = None
    if per_day > 0:
        runs_out_on = today + timedelta(days=max(0, math.floor((free - safety) / per_day)))
    why = _explain(
        sold,
        window_days,
        per_day,
        lead,
        lead_from,
        cover_days,
        safety,
        needed,
        free,
        on_order,
        lot,
        quantity,
        reasons,
    )
    return Suggestion(
        sku=product.sku,
        name=product.name,
        supplier=product.supplier or NO_SUPPLIER,
        per_day=per_day,
        sold=sold,
        free=free,
        on_order=on_order,
        reorder_point=product.reorder_point,
        lot=lot,
        lead_days=lead,
        safety=safety,
        needed=needed,
        quantity=quantity,
        runs_out_on=runs_out_on,
        unit_cost=product.cost,
        why=why,
    )


def _lead_days(product: Product, supplier: Supplier | None) -> tuple[int, str]:
    if product.lead_time_days is not None:
        return product.lead_time_days, "商品"
    if supplier is not None and supplier.lead_time_days is not None:
        return supplier.lead_time_days, "仕入先"
    return DEFAULT_LEAD_DAYS, "既定"


def _explain(
    sold: int,
    window_days: int,
    per_day: float,
    lead: int,
    lead_from: str,
    cover_days: int,
    safety: int,
    needed: int,
    free: int,
    on_order: int,
    lot: int,
    quantity: int,
    reasons: list[str],
) -> str:
    rate = f"1日平均 {per_day:.1f}個（過去{window_days}日で{sold}個）"
    need = f"必要数 {needed} = {rate} ×（リードタイム {lead}日［{lead_from}］＋発注間隔 {cover_days}日）＋安全在庫 {safety}"
    have = f"見込み {free + on_order} = 手元 {free} ＋ 発注残 {on_order}"
    if not reasons:
        return f"発注不要: {have}。{need}"
    rounding = f"、発注ロット {lot} 単位で {quantity}個" if lot > 1 else f"で {quantity}個"
    return f"{'・'.join(reasons)}。{need}。{have} → 不足分{rounding}"
