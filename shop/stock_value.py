"""The sentence under 在庫金額 (ホーム): how it was valued, and what it leaves out."""

from __future__ import annotations

from purchasing.valuation import COST, MOVING, UNKNOWN, StockValue


def stock_value_note(value: StockValue) -> str:
    moving, fallback, unknown = value.skus(MOVING), value.skus(COST), value.skus(UNKNOWN)
    parts = ["在庫金額 = 実在庫 × 移動平均原価（発注の入荷時の単価から計算）"]
    if fallback:
        parts.append(f"単価のある入荷がまだない {fallback:,} SKU は商品シートの原価で計算しています")
    if unknown:
        parts.append(
            f"原価が分からない {unknown:,} SKU（商品シートの原価が空欄で、単価のある入荷もない）は含めていません"
        )
    if not (moving or fallback or unknown):
        parts.append("在庫のある SKU はありません")
    return "。".join(parts) + "。"
