"""Upper bounds of quantities and yen, as data: what any cell, mall payload or file may hold.

A quantity or amount beyond them is a typo or a broken payload (99999999999999999999 個), never
a real order or count, and once accepted it is pushed to every mall and breaks the pages that
sum it. The defaults suit a small shop; ``[limits]`` in the settings overrides them
(``configure``, called where the settings are loaded). Bounds apply to magnitude: 実在庫 may be
below zero (the ledger after shipping more than was counted), within the same bound.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_QUANTITY = 9_999_999
DEFAULT_MAX_YEN = 999_999_999


@dataclass(frozen=True)
class Limits:
    max_quantity: int = DEFAULT_MAX_QUANTITY
    max_yen: int = DEFAULT_MAX_YEN


_current = Limits()


def current() -> Limits:
    return _current


def configure(max_quantity: int = DEFAULT_MAX_QUANTITY, max_yen: int = DEFAULT_MAX_YEN) -> Limits:
    """Set the bounds every parser checks from now on; returns the previous ones."""
    global _current
    previous, _current = _current, Limits(max_quantity, max_yen)
    return previous


def quantity_problem(value: int) -> str:
    """A Japanese reason a quantity is out of bounds, or ""."""
    bound = _current.max_quantity
    return f"数量は{bound:,}以下にしてください（{value:,}）" if abs(value) > bound else ""


def yen_problem(value: int) -> str:
    bound = _current.max_yen
    return f"金額は{bound:,}円以下にしてください（{value:,}円）" if abs(value) > bound else ""
