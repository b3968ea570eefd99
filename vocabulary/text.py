"""Text as staff and malls type it."""

from __future__ import annotations

import re
import unicodedata
from typing import Any


def normalise_text(value: Any) -> str:
    """Cell text as staff meant it: full-width digits and spaces folded, ends trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


# A cell Excel would read as a formula (or a DDE command) when a CSV is opened: = + - @, tab, CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What goes in front of such a cell: a 全角スペース, invisible on a printed label or a screen, where
# an apostrophe would show. Uploads strip it again (``restore_formula_text``).
FORMULA_NEUTRALISER = "\u3000"
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def neutralise_formula(value: Any, *, keep_numbers: bool = False) -> str:
    """The cell text, with a 全角スペース in front when Excel would start a formula with it.

    ``keep_numbers``: a plain signed number ("-3", "+5") stays as it is, so quantities and
    prices in a spreadsheet download still open as numbers (a number is never a formula)."""
    text = "" if value is None else str(value)
    if not text.startswith(FORMULA_STARTS):
        return text
    if keep_numbers and _PLAIN_NUMBER.fullmatch(text):
        return text
    return FORMULA_NEUTRALISER + text


def restore_formula_text(text: str) -> str:
    """The text a download neutralised, as it was: uploading a downloaded file changes nothing."""
    if text.startswith(FORMULA_NEUTRALISER) and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
