"""The words Ichigen uses for orders, stock and sync results, as the workbook shows them."""

from __future__ import annotations

from typing import Literal

OrderStatus = Literal["新規", "入金待ち", "発送待ち", "保留", "出荷済", "キャンセル"]
ORDER_STATUSES: tuple[str, ...] = OrderStatus.__args__
# Orders in these statuses hold stock (引当) until they ship or are cancelled.
OPEN_ORDER_STATUSES: tuple[str, ...] = ("新規", "入金待ち", "発送待ち", "保留")

# 繰越: the opening balance left in the workbook for a SKU's movements moved to the archive.
# 返品入庫: a customer's return back into sellable stock. Defective units are kept apart from
# 実在庫 (在庫's 不良在庫): 不良入庫 a returned or received unit that cannot be sold, 不良振替 a
# sellable unit found defective, 不良処分 defective units disposed of or sent back to the supplier.
MovementKind = Literal[
    "入庫",
    "引当",
    "引当解除",
    "出荷",
    "手動調整",
    "棚卸",
    "繰越",
    "返品入庫",
    "不良入庫",
    "不良振替",
    "不良処分",
]
MOVEMENT_KINDS: tuple[str, ...] = MovementKind.__args__
# What one unit of each kind does to 実在庫 (手動調整, 棚卸 and 繰越 carry their sign in 数量).
# sync.ledger.EFFECTS says the same with the allocation effect beside it; the archive's stock
# facts (sheets_schema.archive_ledger), which may not import sync, sum movements with this.
ON_HAND_EFFECT: dict[str, int] = {
    "入庫": 1,
    "引当": 0,
    "引当解除": 0,
    "出荷": -1,
    "手動調整": 1,
    "棚卸": 1,
    "繰越": 1,
    "返品入庫": 1,
    "不良入庫": 0,
    "不良振替": -1,
    "不良処分": 0,
}

# A purchase order (発注) from 下書き to 入荷済; 一部入荷 and 入荷済 are set by receiving.
PurchaseStatus = Literal["下書き", "発注済", "一部入荷", "入荷済", "キャンセル"]
PURCHASE_STATUSES: tuple[str, ...] = PurchaseStatus.__args__
# Purchase orders still waiting for goods: their unreceived quantities are 発注残.
OPEN_PURCHASE_STATUSES: tuple[str, ...] = ("発注済", "一部入荷")

SyncResult = Literal["成功", "一部失敗", "失敗"]
# Ichigen's carriers; each connector maps them to its mall's own codes.
Carrier = Literal["ヤマト運輸", "佐川急便", "日本郵便", "西濃運輸", "福山通運", "その他"]
# How a parcel goes (受注's 配送方法, chosen by staff or a 受注ルール): each belongs to one carrier
# and decides what the carrier file says (B2's 送り状種類) and which file can carry it.
DeliveryMethod = Literal[
    "宅急便",
    "宅急便コンパクト",
    "ネコポス",
    "クロネコゆうパケット",
    "飛脚宅配便",
    "ゆうパック",
    "クリックポスト",
]
METHOD_CARRIER: dict[str, str] = {
    "宅急便": "ヤマト運輸",
    "宅急便コンパクト": "ヤマト運輸",
    "ネコポス": "ヤマト運輸",
    "クロネコゆうパケット": "ヤマト運輸",
    "飛脚宅配便": "佐川急便",
    "ゆうパック": "日本郵便",
    "クリックポスト": "日本郵便",
}
# Services that cannot collect cash on delivery (代金引換): post-box deliveries.
NO_CASH_ON_DELIVERY: frozenset[str] = frozenset({"ネコポス", "クロネコゆうパケット", "クリックポスト"})
