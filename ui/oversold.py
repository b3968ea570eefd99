"""売り越し (more promised to orders than is on the shelf), shown where staff look first: ホーム
and 在庫. Which orders are short comes from ``purchasing.shortages``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from purchasing.shortages import Shortage, shortages_in
from ui import context


def oversold_skus() -> int:
    """How many SKUs are oversold now (the same finding as the notice, once per read)."""
    return len({s.sku for s in context.derived("oversold", shortages_in)})


def oversold_notice() -> None:
    """Nothing when every open order can be filled; otherwise the SKUs, the orders concerned and
    what to do."""
    found: list[Shortage] = context.derived("oversold", shortages_in)
    if not found:
        return
    skus = sorted({s.sku for s in found})
    st.error(
        f"売り越し: {len(skus)} SKU で、注文に引き当てた数が実在庫を上回っています"
        f"（足りない注文 {len({s.order for s in found})} 件）。先に入った注文から発送し、"
        "足りない分は「発注・入荷」で発注するか、購入者に納期を連絡してください。",
        icon=":material/error:",
    )
    rows = [
        {
            "SKU": s.sku,
            "不足数": s.short,
            "モール": s.order[0],
            "注文番号": s.order[1],
            "入荷予定": (f"{s.expected_on:%Y-%m-%d}" if s.expected_on else "未定") + f"（{s.purchase_order}）"
            if s.purchase_order
            else "発注なし",
        }
        for s in found
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 250))
