"""Cell values for carrier label files: phone numbers and postcodes as a layout wants them,
CP932 byte widths, an address split over a layout's address columns, and the one cleaning
every cell gets (no tabs or line breaks, formulas neutralised)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from vocabulary.text import neutralise_formula


def _digits(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -")
    return re.sub(r"\D", "", text)


def phone(value: str | None, *, hyphens: bool = True) -> str:
    """A Japanese phone number as the layout wants it: "03-1234-5678" or "0312345678"."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -")
    if not hyphens:
        return re.sub(r"\D", "", text)
    return re.sub(r"[^\d-]", "", text).strip("-")


def postcode(value: str | None, *, hyphen: bool) -> str:
    digits = _digits(value)
    if len(digits) != 7:
        return digits
    return f"{digits[:3]}-{digits[3:]}" if hyphen else digits


def cp932_len(text: str) -> int:
    return len(text.encode("cp932", errors="replace"))


# 半角 → 全角 for the columns whose software counts 全角 characters (e飛伝II/III, クリックポスト).
# Mirrors PHP's mb_convert_kana($s, "ASKV") that the production plugins call before cutting at
# 16/20 characters (Welcart WCEX Sagawa Number `outcsv_shipping`; YAJIMA/welcart_csv4clickpost
# ClickpostNumber.class.php): ASCII U+0021–U+007E → U+FF01–U+FF5E, space → U+3000, 半角カナ →
# 全角カナ (voiced marks joined). Every result is a 2-byte CP932 character, so a limit of N 全角
# characters is exactly 2N CP932 bytes and the byte checks below stay the one rule.
_ASCII_TO_FULL = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}
_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")


def to_zenkaku(text: str) -> str:
    text = _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.translate(_ASCII_TO_FULL)


def split_address(address: str, widths: Sequence[int], joiner: str = " ") -> tuple[str, ...] | None:
    """The address over columns of the given byte widths, breaking at spaces where it can
    (words of one column joined by ``joiner``). None when it does not fit at all."""
    words = [w for w in re.split(r"[ \u3000]+", address.strip()) if w]
    parts: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current}{joiner}{word}" if current else word
        if cp932_len(candidate) <= widths[len(parts)]:
            current = candidate
            continue
        while True:
            if current:
                parts.append(current)
                current = ""
            if len(parts) == len(widths):
                return None
            if cp932_len(word) <= widths[len(parts)]:
                current = word
                break
            cut = cut_to_width(word, widths[len(parts)])
            parts.append(cut)
            word = word[len(cut) :]
            if not word:
                break
    if current:
        if len(parts) == len(widths):
            return None
        parts.append(current)
    return tuple(parts + [""] * (len(widths) - len(parts)))


def cut_to_width(text: str, limit: int) -> str:
    """The longest start of ``text`` that fits in ``limit`` CP932 bytes."""
    out = ""
    for ch in text:
        if cp932_len(out + ch) > limit:
            break
        out += ch
    return out


def clean_cell(value: str) -> str:
    """Tabs and line breaks become spaces; a formula start gets a full-width space in front."""
    text = neutralise_formula(value)
    return re.sub(r"[\t\r\n]+", " ", text)
