"""同梱 (combined shipping): orders of one buyer to one address packed in one box.

A group is stored as the same id in the 受注 column 同梱 of each of its orders (「同梱-20261207-K3F9」);
nothing else of an order changes, so each mall order keeps its own status, amounts and shipment
confirmation. Proposals are computed, never stored: staff confirm one (``confirm_job``) and undo
one (``undo_job``); each is ONE write job, so a group is written whole or not at all, and
the cells it sets must still read as read (a second click, or a person who meanwhile grouped
one of the orders, is refused by the backend instead of overwriting).

Decisions:

* Which orders match: open (新規・入金待ち・発送待ち・保留), not yet in a group, stock allocated
  by the shop (在庫引当 ON: an Amazon FBA order leaves the mall's warehouse, never our box), and
  the same 購入者名, 送付先氏名, 郵便番号 and 住所 after ``same_text`` folding (width, spaces,
  hyphens, case). The buyer must match as well as the recipient: two buyers sending gifts to one
  person would otherwise read each other's orders on the shared 納品書.
* Different malls may be grouped: the shop packs one box whichever mall sold it; each order
  is still confirmed to its own mall with the group's tracking number.
* A group ships as one box only with every open member 発送待ち (the page warns otherwise),
  and only while all its members still go to one address (a mall may change an address after
  grouping: the carrier file then leaves the group out, see ``carrier_files``).
* A group with an order already 出荷済 cannot be undone: its box has left.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import Order
from sheets_schema.tabs import ORDERS

OrderKey = tuple[str, str]  # (モール, 注文番号)
COLUMN = "同梱"
OPEN_STATUSES = ("新規", "入金待ち", "発送待ち", "保留")
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DASHES = re.compile(r"[‐‑‒–—―−－ｰ]")  # hyphen look-alikes in house numbers (not ー)


class BundleError(ValueError):
    """A group cannot be confirmed or undone; the message names sheet, row and column."""


def same_text(value: str | None) -> str:
    """Text as compared for matching: NFKC (width), no spaces at all, one kind of hyphen,
    case-folded. 「東京都港区1－2－3 ﾋﾞﾙ 101」 and 「東京都港区1-2-3ビル101」 match."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s", "", _DASHES.sub("-", text)).casefold()


def destination(order: Order) -> tuple[str, str, str, str]:
    """(購入者名, 送付先氏名, 郵便番号 digits, 住所), folded: orders with the same one may share a box."""
    postcode = re.sub(r"\D", "", unicodedata.normalize("NFKC", order.postcode or ""))
    recipient = order.recipient_name or order.buyer_name
    return same_text(order.buyer_name), same_text(recipient), postcode, same_text(order.address)


def groupable(order: Order) -> bool:
    """Open, not grouped, packed by the shop, with a name and an address to match on."""
    buyer, recipient, postcode, address = destination(order)
    return (
        order.status in OPEN_STATUSES
        and not order.bundle.strip()
        and order.allocates_stock
        and bool(buyer and recipient and postcode and address)
    )


@dataclass(frozen=True)
class Proposal:
    """Orders that could go in one box, oldest first."""

    orders: tuple[Order, ...]

    @property
    def keys(self) -> list[OrderKey]:
        return [(o.mall, o.order_number) for o in self.orders]

    @property
    def first(self) -> Order:
        return self.orders[0]


def proposals(orders: Iterable[Order]) -> list[Proposal]:
    """Every set of two or more groupable orders with the same destination, oldest first."""
    by_destination: dict[tuple[str, str, str, str], list[Order]] = {}
    for order in orders:
        if groupable(order):
            by_destination.setdefault(destination(order), []).append(order)
    found = [
        Proposal(tuple(sorted(group, key=lambda o: (o.ordered_at, o.mall, o.order_number))))
        for group in by_destination.values()
        if len(group) >= 2
    ]
    return sorted(found, key=lambda p: (p.first.ordered_at, p.first.mall, p.first.order_number))


def _base36(number: int, width: int) -> str:
    out = ""
    for _ in range(width):
        number, digit = divmod(number, 36)
        out = _BASE36[digit] + out
    return out


def group_id(keys: Iterable[OrderKey], now: datetime, width: int = 4) -> str:
    """「同梱-YYYYMMDD-XXXX」: the day it was confirmed and a hash of its orders. Derived from the
    orders, not counted per day, so two people confirming two groups at once never pick the
    same id, and confirming the same orders again gives the same id."""
    members = "|".join(sorted(f"{m}:{n}" for m, n in keys))
    digest = int(hashlib.sha1(members.encode()).hexdigest(), 16)
    return f"{COLUMN}-{now:%Y%m%d}-{_base36(digest, width)}"


def _row_text(row: int, order: Order) -> str:
    return f"「{ORDERS.title}」シート {row}行目（{order.mall} {order.order_number}）"


def _rows(tables: Mapping[str, Any], keys: Sequence[OrderKey]) -> list[tuple[int, Order]]:
    """Each order's row and parsed order as read; an order gone or with an input error refused."""
    table = tables[ORDERS.title]
    if COLUMN not in table.grid.header:
        raise BundleError(
            f"「{ORDERS.title}」シートに「{COLUMN}」列がまだありません。画面を再読み込みすると追加されます"
        )
    parsed = {r.row: r.value for r in table}
    found = []
    for mall, number in keys:
        row = table.find_row((mall, number))
        if row is None:
            raise BundleError(
                f"「{ORDERS.title}」シートに注文 {mall} {number} がありません（削除された可能性があります）"
            )
        order = parsed.get(row)
        if order is None:
            raise BundleError(
                f"「{ORDERS.title}」シート {row}行目（{mall} {number}）に入力エラーがあります。先に直してください"
            )
        found.append((row, order))
    return found


def confirm_job(
    tables: Mapping[str, Any], keys: Sequence[OrderKey], now: datetime, job: WriteJob | None = None
) -> tuple[str, WriteJob]:
    """The group id and the one job writing it into 同梱 of every order, checked again against
    ``tables`` (read just before): each order still open, ungrouped, packed by the shop and
    going where the others go. ``BundleError`` (nothing written) otherwise. With ``job``, the
    cells are added to it: several groups confirmed together are written together."""
    keys = list(dict.fromkeys(keys))
    if len(keys) < 2:
        raise BundleError("同梱には2件以上の注文を選んでください")
    rows = _rows(tables, keys)
    for row, order in rows:
        where = _row_text(row, order)
        if order.bundle.strip():
            raise BundleError(f"{where} は既に同梱「{order.bundle}」に入っています（{COLUMN}列）")
        if order.status not in OPEN_STATUSES:
            raise BundleError(f"{where} はステータスが「{order.status}」のため同梱できません（ステータス列）")
        if not order.allocates_stock:
            raise BundleError(
                f"{where} はモールの倉庫から出荷する注文（在庫引当 OFF）のため同梱できません（在庫引当列）"
            )
    first_row, first = rows[0]
    for row, order in rows[1:]:
        if destination(order) != destination(first):
            raise BundleError(
                f"{_row_text(row, order)} の購入者名・送付先氏名・郵便番号・住所が {first_row}行目の注文と違うため同梱できません"
            )
    taken = {o.bundle.strip() for o in tables[ORDERS.title].models() if (o.mall, o.order_number) not in keys}
    width = 4
    ident = group_id(keys, now, width)
    while ident in taken:  # another group has this id (hash collision): a longer hash
        width += 1
        ident = group_id(keys, now, width)
    job = WriteJob() if job is None else job
    table = tables[ORDERS.title]
    for row, _ in rows:
        # 同梱 is a staff column: the job also expects it still blank as read (a double click or
        # a person grouping one of these meanwhile is refused, never overwritten).
        job.set(table, row, {COLUMN: ident})
    return ident, job


def members(orders: Iterable[Order], ident: str) -> list[Order]:
    """The orders of group ``ident`` (any status), oldest first."""
    wanted = ident.strip()
    found = [o for o in orders if wanted and o.bundle.strip() == wanted]
    return sorted(found, key=lambda o: (o.ordered_at, o.mall, o.order_number))


def undo_job(tables: Mapping[str, Any], ident: str) -> WriteJob:
    """The one job blanking 同梱 on every order of the group (statuses and everything else
    untouched; each cell expected to still read ``ident``). Refused once an order has shipped."""
    table = tables[ORDERS.title]
    found = [(r.row, r.value) for r in table if r.value.bundle.strip() == ident.strip() and ident.strip()]
    if not found:
        raise BundleError(
            f"「{ORDERS.title}」シートに同梱「{ident}」の注文がありません（解除済みの可能性があります）"
        )
    shipped = [(row, o) for row, o in found if o.status == "出荷済"]
    if shipped:
        row, order = shipped[0]
        raise BundleError(
            f"{_row_text(row, order)} は出荷済のため、同梱「{ident}」は解除できません（ステータス列）"
        )
    job = WriteJob()
    for row, _ in found:
        job.set(table, row, {COLUMN: ""})
    return job


@dataclass(frozen=True)
class Parcel:
    """One box: a single order, or the orders of one group."""

    orders: tuple[Order, ...]
    group: str = ""  # the 同梱 id, blank for a single order

    @property
    def keys(self) -> list[OrderKey]:
        return [(o.mall, o.order_number) for o in self.orders]

    @property
    def label(self) -> str:
        """What identifies the box on paper: the group id, or the order number."""
        return self.group or self.orders[0].order_number


def parcels(orders: Sequence[Order]) -> list[Parcel]:
    """The given orders as boxes, in the given order: the orders sharing a 同梱 id (two or more
    of them) are one box where the first of them stands; a lone member is its own box."""
    by_group: dict[str, list[Order]] = {}
    for order in orders:
        if order.bundle.strip():
            by_group.setdefault(order.bundle.strip(), []).append(order)
    result: list[Parcel] = []
    placed: set[str] = set()
    for order in orders:
        ident = order.bundle.strip()
        if ident and len(by_group[ident]) >= 2:
            if ident not in placed:
                placed.add(ident)
                result.append(Parcel(tuple(by_group[ident]), ident))
        else:
            result.append(Parcel((order,)))
    return result


def with_group_members(chosen: Sequence[Order], waiting: Sequence[Order]) -> list[Order]:
    """The chosen orders plus the other 発送待ち orders of their groups: a box is never half
    printed because staff ticked one of its orders."""
    groups = {o.bundle.strip() for o in chosen if o.bundle.strip()}
    keys = {(o.mall, o.order_number) for o in chosen}
    extra = [o for o in waiting if o.bundle.strip() in groups and (o.mall, o.order_number) not in keys]
    return [*chosen, *extra]


def warnings(orders: Iterable[Order]) -> list[str]:
    """For staff on 出荷: groups not ready to ship as one box (an open order not yet 発送待ち),
    or whose orders no longer go to one address (a mall changed one after grouping)."""
    groups: dict[str, list[Order]] = {}
    for order in orders:
        if order.bundle.strip() and order.status != "キャンセル":
            groups.setdefault(order.bundle.strip(), []).append(order)
    notes = []
    for ident, group in sorted(groups.items()):
        if all(o.status == "出荷済" for o in group):
            continue
        waiting = [o for o in group if o.status in OPEN_STATUSES and o.status != "発送待ち"]
        if waiting and any(o.status == "発送待ち" for o in group):
            numbers = "・".join(f"{o.order_number}（{o.status}）" for o in waiting)
            notes.append(
                f"同梱「{ident}」の {numbers} がまだ発送待ちではありません。1つの箱で送るなら発送待ちになるまで待つか、同梱を解除してください"
            )
        if len({destination(o)[1:] for o in group}) > 1:
            notes.append(
                f"同梱「{ident}」の注文の送付先（氏名・郵便番号・住所）が揃っていません。送り状データには入れません。受注シートを確かめ、同梱を解除してください"
            )
    return notes
