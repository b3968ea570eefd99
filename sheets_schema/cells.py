"""Cell types of the workbook: how a cell's text becomes a typed value and back.

Every adapter hands cells over as strings (see ``grid.py``), so one set of parsers serves
Google Sheets, SQLite and .xlsx files alike. Errors are raised as ``PydanticCustomError`` with a
Japanese message, which ``parsing.py`` turns into a row error naming tab, row and column.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from vocabulary import limits
from vocabulary.jst import JST
from vocabulary.text import normalise_text

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# What a cell may hold when written: text, or an integer that Sheets keeps as a number.
CellOut = str | int


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("ichigen", message)


def _identifier(value: Any) -> str:
    # Identifiers stay text: "00123" and "0312345678" keep their leading zeros.
    text = str(value).strip() if isinstance(value, str) else normalise_text(value)
    if not text:
        raise _error("空欄にはできません")
    return text


_NUMBER = re.compile(r"^-?\d+(\.0+)?$")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _error("整数で入力してください")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)  # the common case, without the slower normalisation below
    text = normalise_text(value)
    text = text.replace(",", "").replace("¥", "").replace("\\", "").removesuffix("円").strip()
    text = text.replace("−", "-")  # U+2212 MINUS SIGN survives NFKC
    if not text:
        raise _error("空欄にはできません")
    if not _NUMBER.match(text):
        raise _error("整数で入力してください")
    return int(float(text)) if "." in text else int(text)


_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


def _jst_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=JST) if value.tzinfo is None else value.astimezone(JST)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=JST)
    text = normalise_text(value)
    if not text:
        raise _error("空欄にはできません")
    try:  # what Ichigen writes, ISO 8601 with a space; much faster than strptime
        parsed = datetime.fromisoformat(text.replace("/", "-"))
        return parsed.replace(tzinfo=JST) if parsed.tzinfo is None else parsed.astimezone(JST)
    except ValueError:
        pass
    for pattern in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=JST)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _error("日時は「2026-11-30 14:05:00」の形で入力してください") from None
    return parsed.replace(tzinfo=JST) if parsed.tzinfo is None else parsed.astimezone(JST)


_ON = {"on", "true", "1", "yes", "はい", "する", "有効", "○", "◯"}
_OFF = {"off", "false", "0", "no", "いいえ", "しない", "無効", "×", ""}


def _on_off(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = normalise_text(value).lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise _error("「ON」か「OFF」で入力してください")


def blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def format_datetime(value: datetime) -> str:
    return value.astimezone(JST).strftime(DATETIME_FORMAT)


def _jst_date(value: Any) -> date:
    """A day (発注日, 入荷予定日): '2026-12-01', '2026/12/1', or a date-time (its JST day)."""
    if isinstance(value, datetime):
        return _jst_datetime(value).date()
    if isinstance(value, date):
        return value
    try:
        return _jst_datetime(value).date()
    except PydanticCustomError:
        if not normalise_text(value):
            raise
        raise _error("日付は「2026-12-01」の形で入力してください") from None


def format_date(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def _optional_text(value: Any) -> str:
    return "" if value is None else str(value)


Identifier = Annotated[str, BeforeValidator(_identifier)]

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*[-〜~ー－]\s*(\d{1,2}):(\d{2})$")


def _time_window(value: Any) -> str:
    """A daily window in JST, "9:00-20:00" (also 〜 and full-width digits). Kept as normalised
    text "09:00-20:00"; the end may be before the start (over midnight); "0:00-24:00" is all
    day. A blank cell is not read at all: the model's default applies (メールテンプレート's is
    9:00-20:00, so no mail goes out at night because a cell was cleared)."""
    text = normalise_text(value)
    if not text:
        return ""
    match = _WINDOW.match(text)
    if match is None:
        raise _error("「9:00-20:00」のように、開始と終了の時刻を入力してください")
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    if start_h > 24 or end_h > 24 or start_m > 59 or end_m > 59 or (start_h, start_m) == (end_h, end_m):
        raise _error("0:00〜24:00 の、開始と終了が違う時刻を入力してください")
    return f"{start_h:02d}:{start_m:02d}-{end_h:02d}:{end_m:02d}"


TimeWindow = Annotated[str, BeforeValidator(_time_window)]


def _name_list(value: Any) -> tuple[str, ...]:
    """Names separated by 、 , ・ or spaces (モール names): "Amazon、楽天" → ("Amazon", "楽天")."""
    if isinstance(value, (tuple, list)):
        return tuple(str(v) for v in value)
    text = normalise_text(value)
    return tuple(n for n in re.split(r"[、,，・\s]+", text) if n)


OptionalOnOff = Annotated[
    bool | None,
    BeforeValidator(lambda v: None if v is None or not normalise_text(v) else _on_off(v)),
    PlainSerializer(lambda on: "" if on is None else ("ON" if on else "OFF"), return_type=str),
]

_POSTCODE_RANGE = re.compile(r"^(\d{3})-?(\d{0,4})(?:\s*[〜~ー－-]{1,2}\s*(\d{3})-?(\d{0,4}))?$")


def _postcode_ranges(value: Any) -> tuple[tuple[str, str], ...]:
    """Postcode ranges, 「、」-separated: "900-0000〜909-9999" or a prefix "90" (every code
    starting 90…). Each is kept as (lowest, highest) 7-digit strings."""
    if isinstance(value, (tuple, list)):
        return tuple((str(lo), str(hi)) for lo, hi in value)
    found = []
    for part in (p for p in re.split(r"[、,，\s]+", normalise_text(value)) if p):
        digits = part.replace("-", "")
        if digits.isdigit() and len(digits) <= 7:  # a prefix
            found.append((digits.ljust(7, "0"), digits.ljust(7, "9")))
            continue
        match = _POSTCODE_RANGE.match(part)
        if match is None or match.group(3) is None:
            raise _error("「900-0000〜909-9999」か「90」のように入力してください（「、」で区切って複数）")
        low = (match.group(1) + match.group(2)).ljust(7, "0")
        high = (match.group(3) + match.group(4)).ljust(7, "9")
        if low > high:
            raise _error("範囲の始めが終わりより大きくなっています")
        found.append((low, high))
    return tuple(found)


PostcodeRanges = Annotated[
    tuple[tuple[str, str], ...],
    BeforeValidator(_postcode_ranges),
    PlainSerializer(
        lambda ranges: "、".join(f"{lo[:3]}-{lo[3:]}〜{hi[:3]}-{hi[3:]}" for lo, hi in ranges),
        return_type=str,
    ),
]

NameList = Annotated[
    tuple[str, ...],
    BeforeValidator(_name_list),
    PlainSerializer(lambda names: "、".join(names), return_type=str),
]


def _quantity(value: Any) -> int:
    number = _integer(value)
    if abs(number) > limits.current().max_quantity:  # a typo, never a real count
        raise _error(f"{limits.current().max_quantity:,}以下の数を入力してください")
    return number


def _yen(value: Any) -> int:
    number = _integer(value)
    if abs(number) > limits.current().max_yen:
        raise _error(f"{limits.current().max_yen:,}円以下の金額を入力してください")
    return number


Yen = Annotated[int, BeforeValidator(_yen)]
Quantity = Annotated[int, BeforeValidator(_quantity)]
JstDateTime = Annotated[
    datetime, BeforeValidator(_jst_datetime), PlainSerializer(format_datetime, return_type=str)
]
OnOff = Annotated[
    bool,
    BeforeValidator(_on_off),
    PlainSerializer(lambda on: "ON" if on else "OFF", return_type=str),
]
JstDate = Annotated[date, BeforeValidator(_jst_date), PlainSerializer(format_date, return_type=str)]
# Free text: whatever staff typed, numbers included, kept as text.
Text = Annotated[str, BeforeValidator(_optional_text)]

OptionalIdentifier = Annotated[Identifier | None, BeforeValidator(blank_to_none)]
OptionalQuantity = Annotated[Quantity | None, BeforeValidator(blank_to_none)]
OptionalYen = Annotated[Yen | None, BeforeValidator(blank_to_none)]
OptionalJstDateTime = Annotated[JstDateTime | None, BeforeValidator(blank_to_none)]
OptionalJstDate = Annotated[JstDate | None, BeforeValidator(blank_to_none)]
