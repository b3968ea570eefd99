"""Each mall's listing rules by mall name, and the bulk-upload file of the malls that create new
listings only from a file; used by the demo malls (which follow the mall they stand for) and by
商品登録, so that neither needs a mall's credentials to know its limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sync.connectors import amazon, amazon_listings, rakuten_listings, shopify_listings, yahoo_listings
from sync.connectors.listings_base import ListingChange, ListingRules, UploadFile

RULES_BY_MALL: Mapping[str, ListingRules] = {
    "Shopify": shopify_listings.RULES,
    "楽天": rakuten_listings.RULES,
    "Amazon": amazon_listings.RULES,
    "Yahoo!": yahoo_listings.RULES,
}


def upload_file_for(mall: str, changes: Sequence[ListingChange], *, seller: str, now: datetime) -> UploadFile:
    """The bulk-upload file for new listings of ``mall`` (Amazon, Yahoo!)."""
    if mall == "Amazon":
        return amazon_listings.feed_file(
            changes, seller_id=seller, marketplace_id=amazon.JAPAN_MARKETPLACE_ID, today=now.date()
        )
    if mall == "Yahoo!":
        return yahoo_listings.data_csv(changes, today=now.date())
    raise ValueError(f"{mall}の一括登録ファイルは作れません（新しい出品はモールへ直接登録します）")
