"""Personal data masked where a page does not need it (閲覧 role, lists, screenshots)."""

from __future__ import annotations

import re


def mask_name(name: str) -> str:
    """山田 太郎 -> 山田 ＊＊: the family name stays, so staff can still tell orders apart."""
    name = name.strip()
    if not name:
        return ""
    family, _, given = name.partition(" ") if " " in name else name.partition("　")
    if given:
        return f"{family} {'＊' * len(given)}"
    return name[0] + "＊" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """090-1234-5678 -> 090-****-5678."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 6:
        return "＊" * len(phone)
    return f"{digits[:3]}-****-{digits[-4:]}"


def mask_postcode(postcode: str) -> str:
    digits = re.sub(r"\D", "", postcode)
    return f"{digits[:3]}-****" if len(digits) >= 3 else ""


_PREFECTURE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")


def mask_address(address: str) -> str:
    """Only the prefecture stays: 東京都渋谷区… -> 東京都 ＊＊＊."""
    found = _PREFECTURE.match(address.strip())
    return f"{found.group(1)} ＊＊＊" if found else ("＊＊＊" if address.strip() else "")
