"""Who bought, as far as an order tells: the keys that say two orders are the same buyer's (for
受注ルール's 初回購入), shared by the rules (sync) and the archive (sheets_schema).

A key is a full phone number or an own mail address; malls' relay addresses stand for one
order or one mall's buyer, not a person, and are no key. An order with neither (Amazon's
restricted data) has no key: unknown stays unknown."""

from __future__ import annotations

import hashlib
import unicodedata

# Domains of addresses a mall hands out instead of the buyer's own (the part after "@", or
# its end). 楽天 RMS: "…@pc.fw.rakuten.ne.jp" (sync/connectors/rakuten.py);
# Amazon: "…@marketplace.amazon.co.jp" (sync/connectors/amazon.py). 分析's 顧客 uses them too.
RAKUTEN_RELAY_DOMAIN = "fw.rakuten.ne.jp"
AMAZON_RELAY_DOMAIN = "marketplace.amazon.co.jp"
RELAY_DOMAINS: tuple[str, ...] = (RAKUTEN_RELAY_DOMAIN, AMAZON_RELAY_DOMAIN)


def is_rakuten_relay(mail: str) -> bool:
    """楽天あんしんメルアド: reaches the buyer only through 楽天's own mail server."""
    domain = mail.strip().lower().rpartition("@")[2]
    return domain == RAKUTEN_RELAY_DOMAIN or domain.endswith("." + RAKUTEN_RELAY_DOMAIN)


def is_relay(mail: str) -> bool:
    """A mall's relay address (the domain or a subdomain of it), not the buyer's own."""
    domain = mail.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in RELAY_DOMAINS)


def digits(text: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text or "") if c.isdigit())


def buyer_keys(phone: str | None, email: str | None) -> frozenset[str]:
    """The buyer's keys: ``tel:<digits>`` for a full phone number, ``mail:<address>``."""
    keys = set()
    number = digits(phone)
    if len(number) >= 10:
        keys.add(f"tel:{number}")
    mail = (email or "").strip().lower()
    if "@" in mail and not is_relay(mail):
        keys.add(f"mail:{mail}")
    return frozenset(keys)


def stored_key(key: str) -> str:
    """How a key is kept outside 受注 (the archive's first-order table): a digest, so that table
    is not one more list of phone numbers and addresses. It is not salted: the table sits in
    the archive database beside the archived 受注 rows it is derived from, which hold the same
    numbers and addresses in full, so a secret here would protect nothing that database does
    not already show (分析's buyer keys are salted because they are read apart from 受注)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
