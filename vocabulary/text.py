"""Text as staff and malls type it."""

from __future__ import annotations

import csv
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


# Every ASCII punctuation mark that starts or delimits Markdown (CommonMark lets a backslash
# escape any of them). Left alone, because they only act at the start of a line and the
# value is made one line with a leading one escaped: - = , ' " / ? ; %
# A colon is escaped before a letter or a slash only (http://, :emoji:, :material/…:), so
# times and 「入力値: …」 read as typed in the page's source too.
_MARKDOWN_PUNCTUATION = frozenset("!#$&()*+.<>@[\\]^_`{|}~")


# Streamlit's markdown links bare URLs, www. names and e-mail addresses in the text it has
# already parsed (remark-gfm's autolink literals), so a backslash or an entity before them
# changes nothing: seen in chromium, "http\\://…" and "http&#58;//…" both became links.
# An invisible WORD JOINER where the pattern needs two characters side by side ("://",
# "www.") keeps the text as it reads and makes no link. E-mail addresses are left as they are:
# their autolink is a mailto: (no request leaves the browser), and staff copy addresses from
# the page, which a hidden character would break.
WORD_JOINER = "\u2060"


def _unlink(text: str, i: int) -> str:
    """What goes in front of text[i] so no autolink literal starts or runs through it."""
    if text[i] == "/" and text[i - 1 : i] == ":":
        return WORD_JOINER
    if text[i] == "." and text[max(0, i - 3) : i].lower() == "www":
        return WORD_JOINER
    return ""


def escape_markdown(value: Any) -> str:
    """Shop or mall text to put inside a Streamlit markdown string, shown exactly as typed:
    no image, link or bare-URL autolink (an invisible WORD JOINER breaks those, see above),
    HTML, heading, list, emphasis,
    ``:color[...]`` directive, ``:emoji:`` or ``$math$`` is ever made from it; line breaks
    become spaces."""
    text = "" if value is None else str(value)
    text = " ".join(text.splitlines())
    escaped = "".join(
        _unlink(text, i) + "\\" + c
        if c in _MARKDOWN_PUNCTUATION
        or (c == ":" and text[i + 1 : i + 2].isascii() and text[i + 1 : i + 2].isalpha())
        or text[i : i + 2] == ":/"
        else _unlink(text, i) + c
        for i, c in enumerate(text)
    )
    return "\\" + escaped if escaped[:1] in ("-", "=") else escaped


def decode_staff_file(data: bytes, *, utf16: bool = False) -> str | None:
    """Text of a file staff saved or downloaded: UTF-8 (with or without BOM), else CP932 (not
    shift_jis: Excel and Seller Central write ①, ～ and NEC/IBM extensions); with ``utf16``, a
    UTF-16 file with its BOM (Excel's "Unicode text") first. None when it is none of these."""
    if utf16 and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def csv_problem(exc: csv.Error) -> str:
    """The csv module's English error, in staff's words (never quoting the file's content)."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (
            f"1つのセルが長すぎます（{csv.field_size_limit():,} 文字を超えています）。"
            'CSV ではないファイルを選んでいないか、引用符（"）の閉じ忘れがないか確かめてください。'
        )
    if "NUL" in text:
        return "ファイルに NUL 文字が含まれています。CSV ではないファイルを選んでいないか確かめてください。"
    return "CSV として読めません。CSV 形式で保存したファイルを選んでください。"
