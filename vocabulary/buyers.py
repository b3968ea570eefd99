"""Who bought, as far as an order tells: the keys that say two orders are the same buyer's (for
受注ルール's 初回購入), shared by the rules (sync) and the archive (sheets_schema).

A key is a full phone number or an own mail address; malls' relay addresses stand for one
order or one mall's buyer, not a person, and are no key. An order with neither (Amazon's
restricted data) has no key: unknown stays unknown."""

from __future__ import annotations

import hashlib
import unicodedata

RELAY_DOMAINS = ("fw.rakuten.ne.jp", "marketplace.amazon.co.jp")


def digits(text: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text or "") if c.isdigit())


def buyer_keys(phone: str | None, email: str | None) -> frozenset[str]:
    """The buyer's keys: ``tel:<digits>`` for a full phone number, ``mail:<address>``."""
    keys = set()
    number = digits(phone)
    if len(number) >= 10:
        keys.add(f"tel:{number}")
    mail = (email or "").strip().lower()
    if "@" in mail and not mail.endswith(RELAY_DOMAINS):
        keys.add(f"mail:{mail}")
    return frozenset(keys)


def stored_key(key: str) -> str:
    """How a key is kept outside 受注 (the archive's first-order table): a digest, so that table
    is not one more list of phone numbers and addresses."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
