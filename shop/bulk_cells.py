"""Cells as the 商品・在庫 editor and uploads see them: a grid or file value as cell text
(``_text``: numbers without ".0", blank for None/NaN) and a cell shown to people
(``display_value``: yen as ¥12,345, blank as （空欄）)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

YEN_COLUMNS = frozenset({"販売価格", "原価"})
_NOTHING = "（空欄）"


def _text(value: Any) -> str:
    """An editor value as cell text: numbers without ``.0``, None/NaN blank."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)


def display_value(column: str, text: str) -> str:
    """A cell for people: yen as ¥12,345, blank as （空欄）."""
    text = _text(text).strip()
    if not text:
        return _NOTHING
    if column in YEN_COLUMNS and text.lstrip("-").isdigit():
        return f"¥{int(text):,}"
    return text
