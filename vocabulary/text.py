"""Text as staff and malls type it."""

from __future__ import annotations

import unicodedata
from typing import Any


def normalise_text(value: Any) -> str:
    """Cell text as staff meant it: full-width digits and spaces folded, ends trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()
