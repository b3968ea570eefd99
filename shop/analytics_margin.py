"""分析's stock side: 粗利 per SKU and per mall, 返品率 per SKU, and the month-end stock
valuation added to the 月次サマリー. Pure pandas over ``shop.analytics`` fact frames and
``purchasing.valuation`` cost histories.

- **売上原価** of a line = 数量 × the SKU's moving-average cost in effect at the end of the
  order's day (JST), or its 原価 before the SKU's first costed receipt; **粗利** = 商品売上 −
  売上原価 over non-cancelled lines with a SKU (送料 belongs to no SKU). A cost nobody knows
  (no 原価, no costed receipt) is never taken as 0: a SKU with such units shows no 売上原価 or
  粗利 (原価の根拠 不明 / 一部不明), and a mall's 粗利 covers the lines whose cost is known, with
  the rest shown as 原価不明の商品売上.
- Yen sums are rounded half up once per SKU or mall; 粗利率 is 粗利 ÷ 商品売上 in %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from purchasing.return_rates import ReturnRate
from purchasing.valuation import COST, MOVING, UNKNOWN, CostHistory, MonthValue
from shop.analytics import month_label

SKU_MARGIN_COLUMNS = ("SKU", "商品名", "数量", "商品売上", "売上原価", "粗利", "粗利率（%）", "原価の根拠")
MALL_MARGIN_COLUMNS = ("モール", "商品売上", "売上原価", "粗利", "粗利率（%）", "原価不明の商品売上")
RETURN_COLUMNS = ("SKU", "商品名", "出荷数", "返品数", "うち不良", "返品率（%）")
DETAIL_COLUMNS = ("月", "SKU", "商品名", "月末実在庫", "単価", "在庫金額", "原価の根拠")
PARTLY = "一部不明"


def _yen(values: pd.Series) -> pd.Series:
    # Half up; the epsilon keeps 999.9999999 (a float product of exact yen) at 1000.
    return np.floor(values.astype("float64") + 0.5 + 1e-6).astype("int64")


def costed_lines(lines: pd.DataFrame, histories: Mapping[str, CostHistory]) -> pd.DataFrame:
    """Non-cancelled lines with a SKU, with 単位原価 (float, NaN when unknown) and 根拠."""
    live = lines[~lines["キャンセル"] & lines["SKU"].notna()].copy()
    live["SKU"] = live["SKU"].astype("str")
    live["_until"] = live["日"] + pd.Timedelta(days=1)  # the end of the order's day
    changes = [(sku, at, float(cost)) for sku, h in histories.items() for at, cost in h.changes]
    timeline = pd.DataFrame(changes, columns=["SKU", "_at", "_moving"])
    timeline = timeline.astype({"SKU": "str", "_at": "datetime64[us]", "_moving": "float64"})
    live["_until"] = live["_until"].astype("datetime64[us]")
    merged = pd.merge_asof(
        live.reset_index(drop=True).sort_values("_until", kind="stable"),
        timeline.sort_values("_at", kind="stable"),
        left_on="_until",
        right_on="_at",
        by="SKU",
        direction="backward",
        allow_exact_matches=False,
    )
    fallback = pd.Series(
        {sku: float(h.fallback) for sku, h in histories.items() if h.fallback is not None}, dtype="float64"
    )
    moving = merged["_moving"].notna()
    merged["単位原価"] = merged["_moving"].where(moving, merged["SKU"].map(fallback))
    merged["根拠"] = np.where(moving, MOVING, np.where(merged["単位原価"].notna(), COST, UNKNOWN))
    merged["売上原価"] = merged["数量"] * merged["単位原価"]
    return merged.drop(columns=["_until", "_at", "_moving"])


def _basis(costed: pd.DataFrame) -> pd.Series:
    """Per SKU: 移動平均, 原価, 移動平均・原価, 不明 or 一部不明 (vectorised: a SKU is a group)."""
    flags = pd.DataFrame({b: costed["根拠"].eq(b) for b in (MOVING, COST, UNKNOWN)})
    seen = flags.groupby(costed["SKU"], sort=False).any()
    known = np.where(seen[MOVING] & seen[COST], f"{MOVING}・{COST}", np.where(seen[MOVING], MOVING, COST))
    unknown = np.where(seen[MOVING] | seen[COST], PARTLY, UNKNOWN)
    return pd.Series(np.where(seen[UNKNOWN], unknown, known), index=seen.index, dtype="str")


def _rate(margin: pd.Series, sales: pd.Series) -> pd.Series:
    return (margin.astype("Float64") * 100 / sales.where(sales > 0).astype("Float64")).round(1)


def margin_by_sku(costed: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """粗利 per SKU, highest first (unknown ones last)."""
    if costed.empty:
        return pd.DataFrame(columns=list(SKU_MARGIN_COLUMNS))
    grouped = costed.groupby("SKU", sort=False)
    frame = grouped.agg(数量=("数量", "sum"), 商品売上=("商品売上", "sum"), _cost=("売上原価", "sum"))
    frame["原価の根拠"] = _basis(costed)
    known = ~frame["原価の根拠"].isin((UNKNOWN, PARTLY))
    frame["売上原価"] = _yen(frame["_cost"]).astype("Int64").where(known, pd.NA)
    frame["粗利"] = (frame["商品売上"] - frame["売上原価"]).astype("Int64")
    frame["粗利率（%）"] = _rate(frame["粗利"], frame["商品売上"])
    frame = frame.reset_index()
    frame.insert(1, "商品名", frame["SKU"].map(names).fillna(""))
    frame = frame.sort_values(["粗利", "商品売上", "SKU"], ascending=[False, False, True], na_position="last")
    return frame[list(SKU_MARGIN_COLUMNS)].reset_index(drop=True)


def margin_by_mall(costed: pd.DataFrame, malls: Sequence[str]) -> pd.DataFrame:
    """粗利 per mall (in ``malls`` order), over the lines whose cost is known."""
    known = costed["単位原価"].notna()
    sums = (
        pd.DataFrame(
            {
                "モール": costed["モール"],
                "商品売上": costed["商品売上"],
                "_known_sales": costed["商品売上"].where(known, 0),
                "_cost": costed["売上原価"].where(known, 0.0),
            }
        )
        .groupby("モール", sort=False)[["商品売上", "_known_sales", "_cost"]]
        .sum()
    )
    sums = sums.reindex([m for m in malls if m in sums.index])
    frame = pd.DataFrame({"モール": sums.index, "商品売上": sums["商品売上"].astype("int64").to_numpy()})
    frame["売上原価"] = _yen(sums["_cost"]).to_numpy()
    known_sales = sums["_known_sales"].astype("int64").to_numpy()
    frame["粗利"] = known_sales - frame["売上原価"]
    frame["粗利率（%）"] = _rate(frame["粗利"], pd.Series(known_sales))
    frame["原価不明の商品売上"] = frame["商品売上"] - known_sales
    return frame[list(MALL_MARGIN_COLUMNS)]


def return_table(rates: Sequence[ReturnRate], names: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "SKU": [r.sku for r in rates],
            "出荷数": pd.Series([r.shipped for r in rates], dtype="int64"),
            "返品数": pd.Series([r.returned for r in rates], dtype="int64"),
            "うち不良": pd.Series([r.defective for r in rates], dtype="int64"),
            "返品率（%）": pd.Series([r.rate for r in rates], dtype="Float64"),
        }
    )
    frame.insert(1, "商品名", frame["SKU"].map(names).fillna(""))
    return frame[list(RETURN_COLUMNS)]


def with_valuation(summary: pd.DataFrame, months: Sequence[MonthValue]) -> pd.DataFrame:
    """The 月次サマリー with each month's closing stock: 月末在庫数, 月末在庫金額 (blank when some
    SKU's stock at that end is not known) and 原価不明SKU (in stock, not valued)."""
    by_label = {month_label(pd.Timestamp(m.month)): m for m in months}
    found = [by_label.get(label) for label in summary["月"]]
    out = summary.copy()
    out["月末在庫数"] = pd.Series([m.units if m else pd.NA for m in found], dtype="Int64").to_numpy()
    out["月末在庫金額"] = pd.Series(
        [m.value if m and not m.unknown_history else pd.NA for m in found], dtype="Int64"
    ).to_numpy()
    out["原価不明SKU"] = pd.Series([m.skus(UNKNOWN) if m else pd.NA for m in found], dtype="Int64").to_numpy()
    return out


def valuation_detail(months: Sequence[MonthValue], names: pd.Series) -> pd.DataFrame:
    """Per month and SKU in stock at its end: 月末実在庫 × 単価 = 在庫金額, and the basis (the
    accountant's 棚卸資産 list)."""
    rows = [
        (
            month_label(pd.Timestamp(m.month)),
            r.sku,
            r.on_hand,
            None if r.unit_cost is None else round(float(r.unit_cost), 2),
            r.value,
            r.basis,
        )
        for m in months
        for r in sorted(m.rows, key=lambda r: r.sku)
    ]
    frame = pd.DataFrame(rows, columns=["月", "SKU", "月末実在庫", "単価", "在庫金額", "原価の根拠"])
    frame = frame.astype({"月末実在庫": "int64", "単価": "Float64", "在庫金額": "Int64"})
    frame.insert(2, "商品名", frame["SKU"].map(names).fillna(""))
    return frame[list(DETAIL_COLUMNS)]
