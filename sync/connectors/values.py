"""Value conversions more than one mall needs."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sync.errors import MallPayloadError


def decimal_yen(value: Any, what: str, mall: str) -> int:
    """A money string from a mall ("3300", "2980.00") as whole yen, half up; blank is 0."""
    if value is None or value == "":
        return 0
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MallPayloadError(f"{mall}の金額「{value}」（{what}）を読めません") from None
    return max(0, int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
