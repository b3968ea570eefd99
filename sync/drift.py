"""Reconciliation (issue 14, part 2; the classifier only): a listing's live quantity as the mall
shows it, compared with 販売可能数 and with the last pushed value, and the likely cause of a
difference. Reading the malls (Shopify inventory levels, 楽天 inventories, Amazon fulfillment
availability / FBA summaries, Yahoo! getStock), the schedule, the 同期 drift table and its
one-click fixes are NOT built yet; this module is what they would classify with.

Causes, checked in this order (the first that explains the difference wins):
- 未連携: the mall has the listing but モール商品 does not link it to a SKU (nothing to compare).
- FBA: Amazon ships it from its own warehouse; its quantity is Amazon's, never pushed.
- 送信失敗・未確認: our last push failed or is not confirmed: the mall may not have it yet.
- 受注の取込待ち: the mall shows fewer than it was sent, by no more than it may have sold
  since (orders not imported yet): the next import and push correct it.
- モール側で変更: none of the above: someone changed the quantity in the mall's own admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cause = Literal["一致", "未連携", "FBA", "送信失敗・未確認", "受注の取込待ち", "モール側で変更"]
Fix = Literal["", "こちらの数を送る", "モールの数を手動調整として受け入れる"]


@dataclass(frozen=True)
class LiveListing:
    mall: str
    mall_item_code: str
    mall_sku: str
    live: int  # what the mall shows now
    sku: str | None  # None: not linked in モール商品
    available: int | None  # 販売可能数 of the SKU (None when unlinked)
    last_sent: int | None  # 送信数量 in _在庫送信 (None when never sent)
    last_state: str = ""  # 確認済 / 未確認 / 失敗
    fba: bool = False


@dataclass(frozen=True)
class Drift:
    listing: LiveListing
    cause: Cause
    difference: int  # live − 販売可能数 (0 when unlinked or FBA)
    fix: Fix


def classify(listing: LiveListing) -> Drift:
    if listing.sku is None or listing.available is None:
        return Drift(listing, "未連携", 0, "")
    if listing.fba:
        return Drift(listing, "FBA", 0, "")
    difference = listing.live - listing.available
    if difference == 0:
        return Drift(listing, "一致", 0, "")
    if listing.last_state in ("失敗", "未確認") or listing.last_sent is None:
        return Drift(listing, "送信失敗・未確認", difference, "こちらの数を送る")
    # Sold at the mall and not imported yet: the mall went below what it was sent, and 販売可能数
    # has not come down with it.
    if listing.live < listing.last_sent and listing.available >= listing.live:
        return Drift(listing, "受注の取込待ち", difference, "")
    return Drift(listing, "モール側で変更", difference, "こちらの数を送る")
