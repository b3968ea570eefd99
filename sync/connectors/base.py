"""The interface every mall connector offers, the same small set of names in every module.

Each module in ``sync/connectors/`` exposes:

- ``Settings``: a pydantic model of its ``[malls.<channel>]`` section (``type`` picks the module);
- ``Connector``: built from those settings (plus injected ``session``/``clock``/``sleep`` in
  tests) with ``fetch_orders``, ``push_stock`` and ``confirm_shipment`` as below;
- pure ``map_*`` functions turning the mall's payloads into canonical models, each vendor
  quirk commented with the vendor fact behind it.

Cursor rules (as in dlt): a cursor is an opaque string the connector understands. Fetching
"since" a cursor includes the cursor's own moment (start included); the engine stores a page's
cursor only after that page's writes are committed, and removes duplicates by (モール, 注文番号).

A single order the mall sends that cannot be taken in (a quantity or amount beyond
vocabulary/limits.py, data that does not map) never holds up the mall's other orders: the
connector skips it, describes it in the page's ``errors`` (``skipped_order``) and keeps the
page's cursor at or before that order's time (``held_cursor``). So the other orders go in, and
the bad one is fetched and reported again every cycle until it is fixed at the mall (a fix moves
its update time, and it is imported like any change). The price is that the orders after it are
fetched again each cycle (and skipped as duplicates by key) while it stays broken.

Malls whose order search cannot filter by update time (楽天 searchOrder, Yahoo! orderList) keep
``fetch_orders`` cheap: it finds NEW orders only (by order time, from the cursor on). Changes to
older orders are found by ``recheck_orders`` (the separate ``Rechecks`` protocol below), which
the engine calls every ``recheck_minutes`` with the order numbers it still has open.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.errors import MallPayloadError
from sync.models import ListingRef, LiveQuantity, Order, PushResult, Shipment, StockLevel

# What mapping one order may raise that concerns that order only (see the module docstring).
ORDER_PROBLEMS = (ValidationError, MallPayloadError)


def order_problem(exc: Exception) -> str:
    """Why one order could not be mapped, in staff's words (a pydantic error's messages, not
    its English report)."""
    if isinstance(exc, ValidationError):
        reasons = dict.fromkeys(
            str(e.get("msg", "")).removeprefix("Value error, ")
            + ("" if str(e.get("type")) == "value_error" else f"（{'.'.join(map(str, e.get('loc', ())))}）")
            for e in exc.errors(include_url=False)
        )
        return "、".join(reasons)
    return str(exc)


def skipped_order(mall: str, order_number: object, exc: Exception) -> str:
    """One Japanese sentence for the 同期ログ and the 要確認 queue: which order, why, what to do."""
    reason = order_problem(exc)
    number = str(order_number or "").strip() or "（番号不明）"
    return (
        f"{mall}の注文 {number} を取り込めませんでした: {reason}。"
        f"{mall}の管理画面で注文内容を確かめて直してください（直るまで同期のたびにお知らせします。ほかの注文は取り込んでいます）"
    )


def held_cursor(cursor: datetime | None, hold: datetime | None) -> datetime | None:
    """A page's cursor, kept at or before the first order that was skipped (``hold``)."""
    if hold is None or cursor is None:
        return cursor
    return min(cursor, hold)


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    # Where the next run may start once this page is committed; None keeps the stored cursor.
    cursor: str | None
    # Problems with single orders that did not stop the page (e.g. an order number the mall no
    # longer knows during a recheck): one Japanese sentence each, for the 同期ログ.
    errors: tuple[str, ...] = ()


class Connector(Protocol):
    channel: str  # the [malls.<channel>] key, e.g. "shopify" or "rakuten_demo"
    mall: str  # the モール value in the workbook, e.g. "Shopify" or "楽天"
    display_name: str  # for staff, e.g. "楽天デモ"

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """Orders changed in [since, until), page by page, oldest change first where possible.

        A connector that also offers ``Rechecks`` returns the orders PLACED since the cursor
        here (its mall cannot search by update time); changes to older orders come from
        ``recheck_orders``."""
        ...

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Set absolute available quantities; one result per level, in the order given."""
        ...

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Tell the mall an order shipped; raises MallRejected with the mall's reason."""
        ...

    # Optional class attributes, True when absent: file-based channels set them False.
    # pushes_stock: bool; confirms_shipments: bool


class Rechecks(Protocol):
    """Optional: a connector whose ``fetch_orders`` finds new orders only offers this too.

    Rule: ``recheck_orders(order_numbers, until=…)`` re-reads exactly the given orders (the
    engine passes those Ichigen still has open for this mall, after it has pushed stock for new
    orders, every ``recheck_minutes``) and yields their current versions, page by page. Every
    page has ``cursor=None``: a recheck never moves the cursor. An order number the mall does not
    know (or refuses to show) is skipped and reported in that page's ``errors``; it never stops
    the other orders. Credentials refused and a mall that stays down raise ``SyncError``
    subclasses as ``fetch_orders`` does. ``until`` is the cycle's moment (used for credential
    checks); versions are returned as the mall has them now. Numbers are read once each, in the
    order given; an empty sequence makes no call.
    """

    def recheck_orders(self, order_numbers: Sequence[str], *, until: datetime) -> Iterator[OrderPage]: ...


@dataclass
class Confirmations:
    """What ``confirm_orders`` did: orders the mall now shows as confirmed (their current
    version) and, per order number, why one could not be confirmed (a Japanese sentence)."""

    orders: dict[str, Order] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class ConfirmsOrders(Protocol):
    """Optional: a mall whose new orders must be accepted (楽天's 注文確認) before it takes a
    shipment. ``confirm_orders(order_numbers)`` must be safe to call again for orders already
    confirmed (a run that stopped before recording them); ``confirm_on_import`` says whether
    every new order is confirmed, or only those staff move to 発送待ち."""

    confirm_on_import: bool

    def confirm_orders(self, order_numbers: Sequence[str]) -> Confirmations: ...


class ReadsStock(Protocol):
    """Optional: a mall whose live quantities can be read (reconciliation, sync/reconcile.py).

    Rule: ``read_stock(listings)`` answers one ``LiveQuantity`` per listing, in the order given,
    batching as the mall allows and under the connector's own rate limiters (the same buckets
    its pushes use, so a read never pushes a mall past its limit). A listing the mall does not
    have, or a batch refused, throttled past the retries or down, is answered with ``error``
    and ``quantity=None``: it never stops the other listings (a mall that stays down makes the
    rest of its listings fail fast with the same sentence). Only credentials refused raise
    (``MallAuthError``): nothing can be read then. An empty sequence makes no call.
    """

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]: ...


def reads_stock(connector: object) -> bool:
    """Whether reconciliation can read this connector's live quantities."""
    return callable(getattr(connector, "read_stock", None))


def confirms_orders(connector: object) -> bool:
    return callable(getattr(connector, "confirm_orders", None))


def rechecks(connector: object) -> bool:
    """Whether the engine should call ``recheck_orders`` on this connector."""
    return callable(getattr(connector, "recheck_orders", None))


class ChannelSettings(BaseModel):
    """What every ``[malls.<channel>]`` section has; each connector's ``Settings`` extends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    mall: str  # the モール value written to the workbook
    display_name: str = ""  # shown to staff; defaults to the mall
    enabled: bool = True
    # The mall's API base URL; point it at a sandbox or a local server.
    base_url: str = ""
    # When the mall's credential stops working, e.g. the 楽天 RMS licenseKey expires every 90 days;
    # the 同期 page warns 14 days ahead and shows an error once it has passed.
    credential_expires_on: date | None = None
    # How often (minutes) the engine calls ``recheck_orders`` (connectors that offer it) to
    # re-read the orders still open in Ichigen for changes made at the mall (cancellations,
    # status moves); new orders are fetched every cycle regardless.
    recheck_minutes: int = Field(10, ge=1, le=24 * 60)
