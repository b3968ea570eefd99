"""The Amazon fake plus listing attributes (商品登録): getListingsItem answers ``attributes`` when
``includedData`` asks for them, patchListingsItem applies patches of top-level attributes.

From listingsItems_2021-08-01.json and the contract notes §2/§8: ``attributes`` are keyed by
snake_case name, each a list of entries (``item_name``: ``{"value", "language_tag",
"marketplace_id"}``); a patch body needs ``productType`` and ≥ 1 patch ``{op: add|replace|merge|
delete, path, value: [objects]}`` and "only top-level listings item attributes can be patched";
the answer is 200 ``{"sku", "status": ACCEPTED|INVALID, "submissionId", "issues"}``. An
ACCEPTED patch is held, like a quantity, while ``hold_submissions`` is on, until ``apply_held``.

Guesses (UNVERIFIED), settings of the fake: ``title_limit`` (200) and ``description_limit``
(2000) characters, answered INVALID with ``LIMIT_ISSUE`` (code and text made up); a price not
above 0 INVALID with ``PRICE_ISSUE``; ``invalid_skus``: SKUs whose next patches are INVALID
with the given issues (a partial failure); a nested path (``/attributes/a/0``) or an unknown op
refused with 400 ``BAD_REQUEST`` (the sandbox's 400 body); ``merge`` replaces the entries of the
same marketplace, language and audience and keeps the others; summaries' ``itemName`` follows
the Japan ``item_name``.
"""

from __future__ import annotations

import contextlib
import copy
import re
from typing import Any

from tests.fakes.amazon_api import MARKETPLACE_ID, FakeAmazon, Listing, _Error

US_MARKETPLACE_ID = "ATVPDKIKX0DER"
_PATH = re.compile(r"^/attributes/([a-z0-9_]+)$")
_OPS = ("add", "replace", "merge", "delete")
LIMIT_ISSUE = "8541"
PRICE_ISSUE = "99022"


def _bad_request(details: str) -> _Error:
    return _Error(400, {"errors": [{"code": "BAD_REQUEST", "message": "Invalid input", "details": details}]})


def _issue(code: str, message: str, attribute: str, category: str) -> dict:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [attribute],
        "categories": [category],
    }


def default_attributes(title: str, price: int, description: str, *, other_marketplace: bool) -> dict:
    """A listing as a seller might have it: a Japan offer with a sale price, a floor price and a
    start date, a B2B offer, and (optionally) the same SKU on amazon.com."""
    attributes: dict[str, list] = {
        "item_name": [{"value": title, "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}],
        "product_description": [
            {"value": description, "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}
        ],
        "purchasable_offer": [
            {
                "marketplace_id": MARKETPLACE_ID,
                "currency": "JPY",
                "audience": "ALL",
                "start_at": {"value": "2026-01-05T00:00:00Z"},
                "our_price": [{"schedule": [{"value_with_tax": price}]}],
                "discounted_price": [
                    {
                        "schedule": [
                            {
                                "value_with_tax": max(1, price - 100),
                                "start_at": "2026-12-01T00:00:00Z",
                                "end_at": "2026-12-25T00:00:00Z",
                            }
                        ]
                    }
                ],
                "minimum_seller_allowed_price": [{"schedule": [{"value_with_tax": max(1, price // 2)}]}],
            },
            {
                "marketplace_id": MARKETPLACE_ID,
                "currency": "JPY",
                "audience": "B2B",
                "our_price": [{"schedule": [{"value_with_tax": max(1, price - 50)}]}],
            },
        ],
        "condition_type": [{"value": "new_new", "marketplace_id": MARKETPLACE_ID}],
        "brand": [{"value": "いちげん工房", "language_tag": "ja_JP", "marketplace_id": MARKETPLACE_ID}],
    }
    if other_marketplace:
        attributes["item_name"].append(
            {"value": f"{title} (US)", "language_tag": "en_US", "marketplace_id": US_MARKETPLACE_ID}
        )
        attributes["product_description"].append(
            {"value": "Imported from Japan.", "language_tag": "en_US", "marketplace_id": US_MARKETPLACE_ID}
        )
        attributes["purchasable_offer"].append(
            {
                "marketplace_id": US_MARKETPLACE_ID,
                "currency": "USD",
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
            }
        )
    return attributes


class FakeAmazonListings(FakeAmazon):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attributes: dict[str, dict[str, list]] = {}
        self.title_limit = 200
        self.description_limit = 2000
        self.keyword_bytes = 500  # 検索キーワード without spaces (UNVERIFIED, as the client's)
        self.invalid_skus: dict[str, list[dict]] = {}
        self._held_attributes: dict[str, dict[str, list]] = {}

    # -- fixtures

    def add_listing(
        self,
        sku: str,
        asin: str,
        title: str,
        price: int,
        product_type: str = "SHIRT",
        *,
        description: str = "",
        other_marketplace: bool = True,
    ) -> Listing:
        listing = super().add_listing(sku, asin, title, price, product_type)
        with self._lock:
            self.attributes[sku] = default_attributes(
                title, price, description, other_marketplace=other_marketplace
            )
        return listing

    def edit_in_seller_central(self, sku: str, attribute: str, entries: list[dict]) -> None:
        """A seller changing one attribute in Seller Central (all marketplaces' entries)."""
        with self._lock:
            self.attributes[sku][attribute] = copy.deepcopy(entries)

    def listing_attributes(self, sku: str) -> dict[str, list]:
        with self._lock:
            return copy.deepcopy(self.attributes[sku])

    def apply_held(self) -> None:
        super().apply_held()
        with self._lock:
            for sku, held in self._held_attributes.items():
                self._set(sku, held)
            self._held_attributes.clear()

    # -- serving

    def _listing(self, listing: Listing, query: dict) -> dict:
        item = super()._listing(listing, query)
        attributes = self.attributes.get(listing.sku, {})
        if "summaries" in item:
            japan = self._japan_name(attributes)
            item["summaries"][0]["itemName"] = japan if japan is not None else listing.title
        included = (query.get("includedData") or ["summaries"])[0].split(",")
        if "attributes" in included:
            item["attributes"] = copy.deepcopy(attributes)
        return item

    def _patch(self, listing: Listing, body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("patches"), list) or not body["patches"]:
            raise _bad_request("patches must hold at least one patch")
        if not isinstance(body.get("productType"), str) or not body["productType"]:
            raise _bad_request("productType is required")
        names = []
        for patch in body["patches"]:
            match = _PATH.match(str(patch.get("path", ""))) if isinstance(patch, dict) else None
            if match is None or patch.get("op") not in _OPS:
                raise _bad_request(f"Invalid patch: {patch}")
            value = patch.get("value")
            if patch["op"] != "delete" and (
                not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
            ):
                raise _bad_request(f"value of {patch['path']} must be an array of objects")
            names.append(match.group(1))
        if names == ["fulfillment_availability"] * len(names):
            return super()._patch(listing, body)  # the stock connector's quantity
        return self._patch_attributes(listing, body)

    def _patch_attributes(self, listing: Listing, body: dict) -> dict:
        submission = f"sub-{len(self.requests):06d}"
        if body["productType"] != listing.product_type:
            message = f"The product type '{body['productType']}' does not match this listing."
            return self._answer(listing, submission, [_issue("4000003", message, "", "INVALID_ATTRIBUTE")])
        if listing.sku in self.invalid_skus:
            return self._answer(listing, submission, copy.deepcopy(self.invalid_skus[listing.sku]))
        current = self._held_attributes.get(listing.sku) or self.attributes.setdefault(listing.sku, {})
        updated = copy.deepcopy(current)
        for patch in body["patches"]:
            name = _PATH.match(patch["path"]).group(1)  # type: ignore[union-attr]
            if patch["op"] == "delete":
                updated.pop(name, None)
            elif patch["op"] == "merge":
                updated[name] = _merged(updated.get(name) or [], patch["value"])
            else:
                updated[name] = copy.deepcopy(patch["value"])
        issues = self._validate(updated)
        if issues:
            return self._answer(listing, submission, issues)
        if self.hold_submissions:
            self._held_attributes[listing.sku] = updated
        else:
            self._set(listing.sku, updated)
        return {"sku": listing.sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}

    @staticmethod
    def _answer(listing: Listing, submission: str, issues: list[dict]) -> dict:
        return {"sku": listing.sku, "status": "INVALID", "submissionId": submission, "issues": issues}

    def _validate(self, attributes: dict[str, list]) -> list[dict]:
        issues = []
        for name, limit in (("item_name", self.title_limit), ("product_description", self.description_limit)):
            for entry in attributes.get(name) or ():
                if len(str(entry.get("value", ""))) > limit:
                    message = f"'{name}' の値が長すぎます。最大 {limit} 文字です。"
                    issues.append(_issue(LIMIT_ISSUE, message, name, "INVALID_ATTRIBUTE"))
        for entry in attributes.get("generic_keyword") or ():
            size = len(str(entry.get("value", "")).replace(" ", "").encode("utf-8"))
            if size > self.keyword_bytes:
                message = f"'generic_keyword' が長すぎます。最大 {self.keyword_bytes} バイトです。"
                issues.append(_issue(LIMIT_ISSUE, message, "generic_keyword", "INVALID_ATTRIBUTE"))
        for offer in attributes.get("purchasable_offer") or ():
            for price in offer.get("our_price") or ():
                for schedule in price.get("schedule") or ():
                    value = schedule.get("value_with_tax")
                    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                        message = f"'purchasable_offer.our_price' の価格 '{value}' が正しくありません。"
                        issues.append(_issue(PRICE_ISSUE, message, "purchasable_offer", "INVALID_PRICE"))
        return issues

    def _set(self, sku: str, attributes: dict[str, list]) -> None:
        self.attributes[sku] = attributes
        listing = self._listings[sku]
        japan = self._japan_name(attributes)
        if japan is not None:
            listing.title = japan
        for offer in attributes.get("purchasable_offer") or ():
            if offer.get("marketplace_id") == MARKETPLACE_ID and offer.get("audience", "ALL") == "ALL":
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    listing.price = int(offer["our_price"][0]["schedule"][0]["value_with_tax"])

    @staticmethod
    def _japan_name(attributes: dict[str, list]) -> str | None:
        return next(
            (
                str(e.get("value"))
                for e in attributes.get("item_name") or ()
                if e.get("marketplace_id") == MARKETPLACE_ID and e.get("language_tag") == "ja_JP"
            ),
            None,
        )


def _merged(entries: list, patch: list) -> list:
    def key(entry: dict) -> tuple:
        return (entry.get("marketplace_id"), entry.get("language_tag"), entry.get("audience"))

    incoming = {key(e): e for e in patch}
    kept = [e for e in entries if key(e) not in incoming]
    return kept + copy.deepcopy(patch)
