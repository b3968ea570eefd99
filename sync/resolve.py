"""Which Ichigen SKU a mall's order line is, through the モール商品 tab."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sheets_schema.models import MallListing


class SkuResolver:
    def __init__(self, listings: Iterable[MallListing], skus: Iterable[str]) -> None:
        self._skus = set(skus)
        self._by_mall_sku: dict[tuple[str, str], str] = {}
        by_code: dict[tuple[str, str], set[str]] = defaultdict(set)
        for listing in listings:
            if listing.mall_sku:
                self._by_mall_sku[(listing.mall, listing.mall_sku)] = listing.sku
            by_code[(listing.mall, listing.mall_item_code)].add(listing.sku)
        # An item code names one SKU only when the listing has no variations.
        self._by_code = {k: next(iter(v)) for k, v in by_code.items() if len(v) == 1}

    def resolve(self, mall: str, mall_item_code: str, mall_sku: str, seller_sku: str = "") -> str | None:
        if mall_sku and (mall, mall_sku) in self._by_mall_sku:
            return self._by_mall_sku[(mall, mall_sku)]
        if mall_item_code and (mall, mall_item_code) in self._by_code and not mall_sku:
            return self._by_code[(mall, mall_item_code)]
        for candidate in (seller_sku, mall_sku):
            if candidate and candidate in self._skus:
                return candidate
        if mall_item_code and (mall, mall_item_code) in self._by_code:
            return self._by_code[(mall, mall_item_code)]
        return None
