"""Who bought: a buyer key that links one person's orders, never a copy of who they are.

The key is a salted hash (HMAC-SHA256 with the installation's salt, first 8 bytes as a signed
64-bit integer, so databases store and group it as a number). The personal data it is made of
is read, normalised and hashed in memory only: nothing but the number is stored or logged, and
without the salt the number cannot be matched to a name or a phone number (a guess of a phone
number cannot be hashed and compared, as it could with a plain hash).

Which data make a key, first that applies (``BASES``):

1. 氏名 + 電話番号 ("np"): the same person at any mall.
2. 氏名 + 郵便番号 ("nz"): the same person at any mall (a family shares a postcode, not a name).
3. メールアドレス that is the buyer's own ("m"): the same person at any mall.
4. A mall's relay address ("rm": 楽天's …@…fw.rakuten.ne.jp, Amazon's
   …@marketplace.amazon.co.jp): the mall forwards it, so it can only tell orders of that one
   mall apart; it is never matched across malls.
5. Nothing of the above (Amazon's restricted data: no name, no phone, no mail): no key. Such an
   order is counted as 「購入者不明」, never guessed into someone's history.

A name alone is never a key (many people share one), nor is a masked name (＊ in it).
The rules choose one key per order, so two orders of one person join only when they share the
first basis available to both: a buyer with a phone number at 楽天 and only a mail address at
Shopify stays two buyers. That errs towards "new", never towards merging two people.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from typing import Literal

from vocabulary.buyers import is_relay  # the malls' relay domains, shared with 初回購入

Basis = Literal["np", "nz", "m", "rm"]
BASES: dict[str, str] = {
    "np": "氏名＋電話番号",
    "nz": "氏名＋郵便番号",
    "m": "メールアドレス",
    "rm": "モールの中継メール（そのモール内だけ）",
}
_VERSION = "v1"  # in every hashed text: a change of the rules makes new keys, never mixed ones
_SEP = "\x1f"
_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D")


def new_salt() -> str:
    """A fresh installation salt: 32 random bytes as hex."""
    return secrets.token_hex(32)


def salt_fingerprint(salt: str) -> str:
    """What the archive stores to know which salt its keys were made with (not the salt: a
    hash of it under a fixed label, so it reveals nothing usable)."""
    return hmac.new(salt.encode(), b"ichigen-buyer-key-fingerprint", hashlib.sha256).hexdigest()[:16]


def normal_name(name: str) -> str:
    """Full-width folded, spaces removed, lower case: 「山田　太郎」 == 「山田 太郎」 == 「山田太郎」.
    Blank when masked (＊ or * in it): a masked name identifies no one."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", name or "")).lower()
    return "" if "*" in text or not text else text


def normal_phone(phone: str | None) -> str:
    """Digits only, +81 folded to 0; blank unless 10 or 11 digits that are not all one digit."""
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", phone or ""))
    if digits.startswith("81") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if len(digits) not in (10, 11) or len(set(digits)) == 1:
        return ""
    return digits


def normal_postcode(postcode: str | None) -> str:
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", postcode or ""))
    return digits if len(digits) == 7 and len(set(digits)) > 1 else ""


def normal_mail(mail: str) -> str:
    text = unicodedata.normalize("NFKC", mail or "").strip().lower()
    local, at, domain = text.partition("@")
    return text if at and local and "." in domain else ""


def identity(
    mall: str, name: str, phone: str | None, postcode: str | None, mail: str
) -> tuple[Basis, tuple[str, ...]] | None:
    """The basis and the normalised parts the key is made of (see the module docstring), or
    None when the order does not say who bought it."""
    who = normal_name(name)
    if who:
        digits = normal_phone(phone)
        if digits:
            return "np", (who, digits)
        code = normal_postcode(postcode)
        if code:
            return "nz", (who, code)
    address = normal_mail(mail)
    if address:
        if is_relay(address):
            return "rm", (mall, address)
        return "m", (address,)
    return None


def hashed(salt: str, basis: str, parts: tuple[str, ...]) -> int:
    text = _SEP.join((_VERSION, basis, *parts)).encode()
    digest = hmac.new(salt.encode(), text, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def buyer_key(
    salt: str, mall: str, name: str, phone: str | None, postcode: str | None, mail: str
) -> int | None:
    """The order's buyer key, or None when unknown (see ``identity``)."""
    found = identity(mall, name, phone, postcode, mail)
    return None if found is None else hashed(salt, *found)


# Where a generated salt is kept: machine-owned state, in the hidden _システム tab (a secrets
# value, [customers] salt, wins when set). Never shown, logged or written anywhere else.
SALT_KEY = "顧客キー:ソルト"


def stored_salt(configured: str, system: dict[str, str]) -> str | None:
    """The installation's salt: the setting when given, else the one kept in _システム."""
    return configured or system.get(SALT_KEY) or None
