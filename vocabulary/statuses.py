"""The words Ichigen uses for orders, stock and sync results, as the workbook shows them."""

from __future__ import annotations

from typing import Literal

OrderStatus = Literal["新規", "入金待ち", "発送待ち", "保留", "出荷済", "キャンセル"]
ORDER_STATUSES: tuple[str, ...] = OrderStatus.__args__
# Orders in these statuses hold stock (引当) until they ship or are cancelled.
OPEN_ORDER_STATUSES: tuple[str, ...] = ("新規", "入金待ち", "発送待ち", "保留")

# 繰越: the opening balance left in the workbook for a SKU's movements moved to the archive.
MovementKind = Literal["入庫", "引当", "引当解除", "出荷", "手動調整", "棚卸", "繰越"]
MOVEMENT_KINDS: tuple[str, ...] = MovementKind.__args__

SyncResult = Literal["成功", "一部失敗", "失敗"]
# Ichigen's carriers; each connector maps them to its mall's own codes.
Carrier = Literal["ヤマト運輸", "佐川急便", "日本郵便", "西濃運輸", "福山通運", "その他"]
