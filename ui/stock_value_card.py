"""ホーム's 在庫金額 figure and the sentence under it, drawn into placeholders the page made."""

from __future__ import annotations

from typing import Any

from shop.overview import yen
from shop.stock_value import stock_value_note
from ui import valuation


def show_stock_value(figure: Any, note: Any) -> None:
    """Fill ``figure`` (an ``st.empty`` in the metrics row) and ``note`` (one under it)."""
    worth = valuation.current()
    figure.metric(
        "在庫金額（原価）", yen(worth.total), help="実在庫 × 移動平均原価（入荷した発注の単価から）"
    )
    note.caption(stock_value_note(worth))
