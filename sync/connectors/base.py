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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from sync.models import Order, PushResult, Shipment, StockLevel


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    # Where the next run may start once this page is committed; None keeps the stored cursor.
    cursor: str | None


class Connector(Protocol):
    channel: str  # the [malls.<channel>] key, e.g. "shopify" or "rakuten_demo"
    mall: str  # the モール value in the workbook, e.g. "Shopify" or "楽天"
    display_name: str  # for staff, e.g. "楽天デモ"

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """Orders changed in [since, until), page by page, oldest change first where possible."""
        ...

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Set absolute available quantities; one result per level, in the order given."""
        ...

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Tell the mall an order shipped; raises MallRejected with the mall's reason."""
        ...

    # Optional class attributes, True when absent: file-based channels set them False.
    # pushes_stock: bool; confirms_shipments: bool


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
