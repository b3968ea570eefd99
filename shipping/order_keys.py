"""Management keys (管理番号): the short key each label file carries for an order, and the
map that reads it back from a carrier's export. No carrier fact beyond the shortest limit."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from sheets_schema.models import Order

# One key scheme for every layout and export, 16 半角英数 characters: the shortest limit among
# the formats (e飛伝II お客様管理ナンバー 16; B2 お客様管理番号 and ゆうプリR お客様側管理番号 take 20).
#   mall prefix (2) + the order number's last 8 letters/digits + 6 base-36 characters of
#   sha1("モール:注文番号")
# It is reversible by lookup, not by decoding: ``key_map`` computes the key of every order in
# 受注 and reads it back. A 楽天 number (24 digits) cannot be encoded into 16 characters, so no
# encoding would be; the tail keeps the key recognisable in the carrier's software. Two orders
# would share a key only with the same mall, the same last 8 characters and the same 31-bit
# hash; ``prepare_file`` still checks the file's keys against every order and leaves out an
# order whose key another order has, and ``key_map`` never resolves a shared key.
KEY_LENGTH = 16
_KEY_TAIL = 8
_KEY_HASH = 6
MALL_PREFIX = {"楽天": "RT", "Amazon": "AM", "Yahoo!": "YH", "Shopify": "SH"}
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base36(number: int, width: int) -> str:
    out = ""
    for _ in range(width):
        number, digit = divmod(number, 36)
        out = _BASE36[digit] + out
    return out


def _prefix(mall: str) -> str:
    return MALL_PREFIX.get(mall) or "M" + hashlib.sha1(mall.encode()).hexdigest()[0].upper()


def _tail(order_number: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", order_number)).upper()


def order_key(mall: str, order_number: str) -> str:
    """The order's management key (16 半角英数, stable: the same order always gets the same key)."""
    digest = int(hashlib.sha1(f"{mall}:{order_number}".encode()).hexdigest(), 16)
    return f"{_prefix(mall)}{_tail(order_number)[-_KEY_TAIL:]}{_base36(digest, _KEY_HASH)}"


# A 同梱 group's key: "DK" (no mall's prefix) + the id's last 8 letters/digits + 6 base-36 of
# sha1("同梱:<id>"), 16 characters like an order's. ``key_map`` maps it to (GROUP, id): the
# tracking number issued for the group's one label goes to every order of the group.
GROUP = "同梱"
_GROUP_PREFIX = "DK"


def group_key(ident: str) -> str:
    """The management key of 同梱 group ``ident`` (stable, 16 半角英数)."""
    digest = int(hashlib.sha1(f"{GROUP}:{ident}".encode()).hexdigest(), 16)
    return f"{_GROUP_PREFIX}{_tail(ident)[-_KEY_TAIL:]}{_base36(digest, _KEY_HASH)}"


def legacy_order_key(mall: str, order_number: str, limit: int) -> str:
    """The key files made before the 16-character scheme carry (20 for B2/ゆうプリR, 16 for
    e飛伝): still read back, so exports of labels printed before the update match."""
    digest = hashlib.sha1(f"{mall}:{order_number}".encode()).hexdigest()[:4].upper()
    tail = _tail(order_number)
    room = limit - len(_prefix(mall)) - len(digest)
    return f"{_prefix(mall)}{tail[-room:] if tail else ''}{digest}"


def normalize_key(value: str) -> str:
    """A key as read from an export: full-width letters/digits to half-width, upper case."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).upper()


# None: two orders share the key, never resolved. (GROUP, id): a 同梱 group's key.
KeyMap = dict[str, tuple[str, str] | None]


def key_map(orders: Iterable[Order]) -> KeyMap:
    """{key: (モール, 注文番号)} for every order, current and legacy keys, and {key: (GROUP, id)}
    for every 同梱 group: how an imported key finds its order(s). A shared key maps to None."""
    current: KeyMap = {}
    legacy: KeyMap = {}
    for order in orders:
        ident = (order.mall, order.order_number)
        if order.bundle.strip():
            group = (GROUP, order.bundle.strip())
            if current.setdefault(group_key(group[1]), group) != group:
                current[group_key(group[1])] = None
        keys = [(current, order_key(*ident))] + [
            (legacy, legacy_order_key(*ident, limit)) for limit in (20, 16)
        ]
        for table, key in keys:
            if table.setdefault(key, ident) != ident:
                table[key] = None
    # A current key wins over a legacy one; a legacy key equal to a current key is not used.
    return {**{k: v for k, v in legacy.items() if k not in current}, **current}
