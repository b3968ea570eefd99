"""Canonical models every connector maps its mall's payloads into, and the engine's results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from vocabulary import limits

# One list of carriers for the workbook and the malls; each connector maps them to its codes.
from vocabulary.statuses import Carrier, OrderStatus

CARRIERS: tuple[str, ...] = Carrier.__args__


def _bounded_quantity(value: int) -> int:
    problem = limits.quantity_problem(value)
    if problem:  # a broken payload: the order is reported, never imported or pushed
        raise ValueError(problem)
    return value


def _bounded_yen(value: int) -> int:
    problem = limits.yen_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Quantity = Annotated[int, AfterValidator(_bounded_quantity)]
Yen = Annotated[int, AfterValidator(_bounded_yen)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Model):
    name: str = ""
    postcode: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""  # for 発送連絡 mails; malls often give a relay address


class OrderLine(Model):
    line_number: int = Field(ge=1)
    # What the mall calls the item; the engine resolves Ichigen's SKU through モール商品.
    mall_item_code: str = ""
    mall_sku: str = ""
    # The seller's own SKU when the mall carries it (Shopify, Amazon seller SKU); a hint only.
    seller_sku: str = ""
    name: str = ""
    quantity: Quantity = Field(ge=0)  # 0: the line was removed or fully cancelled at the mall
    unit_price: Yen = Field(ge=0)  # yen, tax included


class Order(Model):
    mall: str
    order_number: str
    ordered_at: datetime
    updated_at: datetime
    status: OrderStatus
    payment_method: str = ""
    buyer: Address = Address()
    delivery: Address = Address()
    total: Yen = Field(ge=0)
    shipping_fee: Yen = Field(0, ge=0)
    note: str = ""
    lines: tuple[OrderLine, ...] = ()
    # False when the mall ships from its own warehouse (e.g. Amazon FBA): recorded, not allocated.
    allocates_stock: bool = True
    # Plain-Japanese reasons a person should look at this order (missing buyer data, …).
    review: tuple[str, ...] = ()


class StockLevel(Model):
    mall: str
    sku: str
    mall_item_code: str
    mall_sku: str = ""
    quantity: Quantity = Field(ge=0)
    # Set when this very quantity was sent then and the mall has not confirmed applying it
    # (Amazon's ACCEPTED): a connector that can read the listing checks it instead of resending.
    pending_since: datetime | None = None


class PushResult(Model):
    mall: str
    sku: str
    quantity: int
    ok: bool
    # A mall that applies pushes asynchronously (Amazon's ACCEPTED) confirms later.
    confirmed: bool = True
    error: str = ""
    # False: nothing was sent, the listing was only read (still waiting for the mall to apply
    # an earlier push); the 在庫送信 record of that push is kept as it is.
    sent: bool = True


class ListingRef(Model):
    """One listing whose live quantity reconciliation asks a mall for (a モール商品 row)."""

    mall: str
    sku: str
    mall_item_code: str
    mall_sku: str = ""


class LiveQuantity(Model):
    """What a mall shows for a listing now (``quantity``), or why it could not be read
    (``error``, quantity None). ``fba``: Amazon ships it from its own warehouse, so the
    quantity is Amazon's (FBA fulfillable), never one Ichigen pushes."""

    listing: ListingRef
    quantity: int | None = None
    fba: bool = False
    error: str = ""


class Shipment(Model):
    mall: str
    order_number: str
    carrier: Carrier
    tracking_number: str
    shipped_at: datetime
    # Lines and quantities shipped; empty means the whole order.
    lines: tuple[tuple[int, int], ...] = ()


class SyncRun(Model):
    run_id: str
    channel: str
    mall: str
    job: Literal["受注取込", "受注再確認", "在庫送信", "在庫更新"]
    started_at: datetime
    finished_at: datetime | None = None
    fetched: int = 0
    created: int = 0
    updated: int = 0
    duplicates_skipped: int = 0
    failed: int = 0
    result: Literal["成功", "一部失敗", "失敗"] = "成功"
    error: str = ""
