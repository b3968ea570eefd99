"""Reading a downloaded order file's text and its cells: the file's encoding, and one cell as a
typed value by its field's kind (dates, yen, counts, codes kept as written, statuses and
fulfilment channels through the layout's tables), with a Japanese message when it cannot."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sync.connectors.csv_layouts import (
    CODE_FIELDS,
    COUNT_FIELDS,
    DATETIME_FIELDS,
    DIGIT_FIELDS,
    DISCOUNT_FIELDS,
    MONEY_FIELDS,
    Layout,
)
from vocabulary.jst import JST
from vocabulary.statuses import OrderStatus
from vocabulary.text import decode_staff_file, normalise_text


class CellError(Exception):
    """A cell cannot be read; the message says why, for staff."""


class FileError(Exception):
    """The file as a whole cannot be read; the message says why, for staff."""


def decode_file(data: bytes) -> str:
    """Text of a UTF-8 (BOM or not), UTF-16 (Excel "Unicode text") or CP932 file."""
    text = decode_staff_file(data, utf16=True)
    if text is None:
        raise FileError("文字コードを読み取れません。UTF-8かShift_JIS（CP932）で保存してください")
    return text


def fold_key(text: str) -> str:
    """Header or code text as matched: width folded, stripped, unquoted, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().strip('"').casefold()


_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?[eE]\+\d+$")
_MONEY = re.compile(r"^-?\d+(\.\d+)?$")
_COUNT = re.compile(r"^-?\d+(\.0+)?$")


def _code(text: str) -> str:
    # Identifiers stay text as written (leading zeros kept), as in the workbook's cells.
    if _EXCEL_NUMBER.match(text):
        raise CellError("Excelで数値に変換されて桁が失われています。元のファイルから取り込んでください")
    return text


def _money(text: str) -> int:
    cleaned = normalise_text(text).replace(",", "").replace("¥", "").replace("\\", "")
    cleaned = cleaned.removesuffix("円").replace("−", "-").strip()
    if not _MONEY.match(cleaned):
        raise CellError("金額は整数（円）で入力してください")
    whole, _, fraction = cleaned.partition(".")
    if fraction.strip("0"):
        raise CellError("円未満の端数がある金額は取り込めません")
    return int(whole)


def _count(text: str, minimum: int) -> int:
    cleaned = normalise_text(text).replace(",", "")
    if not _COUNT.match(cleaned):
        raise CellError("整数で入力してください")
    value = int(cleaned.partition(".")[0])
    if value < minimum:
        raise CellError(f"{minimum}以上の整数で入力してください")
    return value


def _datetime(text: str, layout: Layout) -> datetime:
    cleaned = normalise_text(text)
    parsed: datetime | None = None
    for candidate in (cleaned, cleaned.replace("/", "-")):
        try:
            parsed = datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    for pattern in layout.date_formats if parsed is None else ():
        try:
            parsed = datetime.strptime(cleaned, pattern)
            break
        except ValueError:
            continue
    if parsed is None:
        raise CellError(f"日時は「{layout.date_example}」の形で入力してください")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=layout.naive_timezone)
    return parsed.astimezone(JST)


def _status(text: str, layout: Layout) -> OrderStatus:
    # All Orders reports may add detail after " - ", e.g. "Shipped - Delivered to Buyer".
    key = fold_key(text).split(" - ")[0].replace(" ", "")
    if key not in layout.statuses:
        known = "".join(f"「{s}」" for s in dict.fromkeys(layout.statuses))
        raise CellError(f"取り込めないステータスです（使えるのは {known}）")
    return layout.statuses[key]


def _fulfillment(text: str, layout: Layout) -> bool:
    key = fold_key(text)
    if key not in layout.fulfillment:
        known = "".join(f"「{s}」" for s in layout.fulfillment)
        raise CellError(f"出荷方法が分かりません（使えるのは {known}）")
    return layout.fulfillment[key]


def convert(name: str, text: str, layout: Layout, mall: str) -> Any:
    """One cell as a typed value; None for a blank cell."""
    text = text.strip()
    if not text:
        return None
    if name in DATETIME_FIELDS:
        return _datetime(text, layout)
    if name in MONEY_FIELDS:
        value = _money(text)
        if value < 0:
            raise CellError("0以上の金額を入力してください")
        return value
    if name in DISCOUNT_FIELDS:
        return abs(_money(text))  # the sign differs between reports; a discount only lowers
    if name in COUNT_FIELDS:
        return _count(text, COUNT_FIELDS[name])
    if name in CODE_FIELDS:
        return _code(text)
    if name in DIGIT_FIELDS:
        return _code(unicodedata.normalize("NFKC", text))
    if name == "status":
        return _status(text, layout)
    if name == "fulfillment":
        return _fulfillment(text, layout)
    if name == "currency" and fold_key(text) != "jpy":
        raise CellError("日本円（JPY）以外の注文は取り込めません")
    if name == "mall" and text != mall:
        raise CellError(f"このファイルは「{mall}」の注文として取り込みます。別のモールの行です")
    return text
