"""Shopify listings (商品登録): read and set a product's title and description and its variants'
prices, create a product from the workbook. Same settings, HTTP layer, rate limit and retries
as the stock connector (it is a subclass, so nothing of ``shopify.Connector`` changes).

Vendor facts (contract notes §9, from Shopify's REST 2024-10 example bodies in shopify-api-ruby
@4eca719 ``test/rest/2024_10/{product,variant}_test.rb``; shopify.dev REST reference):

- ``GET products.json?fields=id,handle,title,body_html,variants&limit=250``, ``Link`` paging as
  for orders. Money is a string (JPY: "1780").
- Title / description: ``PUT products/{id}.json`` ``{"product":{"id":…,"title":…,"body_html":…}}``:
  only the fields sent change (the published examples send one field at a time). Variants are
  NOT sent there: a product PUT with a ``variants`` list drops the variants it does not list
  (UNVERIFIED wording; a Japanese community thread reports product-level variant prices not
  being applied, community.shopify.com …/m-p/865967), so prices go per variant.
- Price: ``PUT variants/{id}.json`` ``{"variant":{"id":…,"price":"1780"}}`` → 200 variant.
- Create: ``POST products.json`` ``{"product":{title, body_html, handle, variants:[{sku, price,
  option1}]}}`` → 201 product. Not idempotent: it is never retried after it may have gone
  through; the next read finds the product by SKU and does not create it again.
- Errors: 404 ``{"errors":"Not Found"}``, 422 ``{"errors":{"<field>":["<message>"]}}`` (field
  keys for product validation UNVERIFIED: only an order example is published), 429 as for stock.
- Product/variant REST writes are deprecated since 2024-04 (still served in 2024-10); GraphQL
  ``productUpdate`` + ``productVariantsBulkUpdate`` (shopify.dev admin-graphql 2025-10, "To update
  multiple product variants for a single product and manage prices, use productVariantsBulk
  Update") is where this client goes when REST is switched off.
- Tags: ``product.tags``, one comma-separated string, set by the same product PUT; at most 250
  tags a product (shopify.dev changelog "Product tags now have a limit of 250 per product": more
  → 423); each tag up to 255 characters (UNVERIFIED). Compared as a set: Shopify may return
  them in another order.
- Title limit 255 characters: common knowledge of Shopify's admin, no vendor page found
  (UNVERIFIED; ``RULES.max_length``). Shopify has no キャッチコピー field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sync.connectors import shopify
from sync.connectors.listings_base import (
    ListingChange,
    ListingKey,
    ListingOutcome,
    ListingRules,
    MallListing,
    ReadResult,
    outcomes,
)
from sync.connectors.values import decimal_yen
from sync.errors import MallAuthError, MallRejected, SyncError

RULES = ListingRules(
    mall="Shopify",
    fields=("title", "price", "description", "tags"),
    max_length={"title": 255, "tag": 255},
    item_fields=("title", "description", "tags"),
    creates=True,
)
PRODUCT_FIELDS = "id,handle,title,body_html,tags,variants"
_ON_PRODUCT = {"title": "title", "description": "body_html", "tags": "tags"}

Settings = shopify.Settings


class Listings(shopify.Connector):
    """Shopify products as listings; one instance per ``[malls.<channel>]`` section."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = replace(RULES, mall=self.mall)
        # ListingKey -> (product id, variant id), from the last read.
        self._refs: dict[ListingKey, tuple[int, int]] = {}

    # -- read

    def read(self, keys: Sequence[ListingKey]) -> ReadResult:
        """The whole catalogue, 250 products a call, matched by SKU (and by product id or
        handle when a SKU is on several products)."""
        by_sku: dict[str, list[tuple[dict, dict]]] = {}
        params: dict[str, Any] = {"limit": 250, "fields": PRODUCT_FIELDS}
        while True:
            response = self._request("GET", f"{self._api}/products.json", params=params)
            for product in shopify._list(self.mall, shopify.json_body(self.mall, response), "products"):
                for variant in product.get("variants") or ():
                    sku = shopify._text(variant.get("sku"))
                    if sku:
                        by_sku.setdefault(sku, []).append((product, variant))
            page_info = self._next_page_info(response)
            if page_info is None:
                break
            params = {"limit": 250, "page_info": page_info, "fields": PRODUCT_FIELDS}
        result = ReadResult()
        for key in keys:
            entries = by_sku.get(key.sku, [])
            if len(entries) > 1:
                entries = [
                    e for e in entries if key.item_code in (str(e[0].get("id")), str(e[0].get("handle")))
                ] or entries
            if not entries:
                result.missing.add(key)
                continue
            if len(entries) > 1:
                result.errors[key] = f"SKU「{key.sku}」が{self.mall}の複数の商品にあります"
                continue
            product, variant = entries[0]
            try:
                price = decimal_yen(variant.get("price"), "variants.price", self.mall)
            except SyncError as exc:
                result.errors[key] = str(exc)
                continue
            self._refs[key] = (product["id"], variant["id"])
            result.found[key] = MallListing(
                key,
                {
                    "title": shopify._text(product.get("title")),
                    "description": product.get("body_html") or "",
                    "tags": shopify._text(product.get("tags")),
                    "price": price,
                },
            )
        return result

    # -- send

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        results: list[ListingOutcome] = []
        creates: dict[str, list[ListingChange]] = {}
        for change in changes:
            if change.create:
                creates.setdefault(change.key.item_code, []).append(change)
        stop = ""
        done_creates: set[str] = set()
        for change in changes:
            if stop:
                results.extend(outcomes(change, ok=False, error=stop))
                continue
            try:
                if change.create:
                    if change.key.item_code not in done_creates:
                        done_creates.add(change.key.item_code)
                        results.extend(self._create(creates[change.key.item_code]))
                    continue
                results.extend(self._update(change))
            except MallAuthError:
                raise
            except SyncError as exc:  # down or throttled past the retries: report the rest
                stop = str(exc)
                results.extend(outcomes(change, ok=False, error=stop))
        return results

    def _update(self, change: ListingChange) -> list[ListingOutcome]:
        ref = self._refs.get(change.key)
        if ref is None:
            return outcomes(change, ok=False, error="先に「モールの内容を読む」を実行してください")
        product_id, variant_id = ref
        results: list[ListingOutcome] = []
        product_fields = {_ON_PRODUCT[f]: v for f, v in change.values.items() if f in _ON_PRODUCT}
        if product_fields:
            body = {"product": {"id": product_id, **product_fields}}
            error = self._put(f"{self._api}/products/{product_id}.json", body)
            results.extend(
                ListingOutcome(change.key, f, v, not error, error)
                for f, v in change.values.items()
                if f in _ON_PRODUCT
            )
        if "price" in change.values:
            price = change.values["price"]
            body = {"variant": {"id": variant_id, "price": str(price)}}
            error = self._put(f"{self._api}/variants/{variant_id}.json", body)
            results.append(ListingOutcome(change.key, "price", price, not error, error))
        return results

    def _put(self, path: str, body: dict) -> str:
        """ "" when Shopify took it, else Shopify's own reason (a 4xx); raises when it is down."""
        try:
            self._request("PUT", path, json=body)  # setting the same values again is harmless
        except MallRejected as exc:
            return str(exc)
        return ""

    def _create(self, changes: list[ListingChange]) -> list[ListingOutcome]:
        first = changes[0]
        product: dict[str, Any] = {"handle": first.key.item_code}
        for change in changes:
            for name, attribute in _ON_PRODUCT.items():
                if name in change.values:
                    product.setdefault(attribute, change.values[name])
        several = len(changes) > 1
        product["variants"] = [
            {
                "sku": c.key.sku,
                "price": str(c.values.get("price", "")),
                **({"option1": c.key.sku} if several else {}),
            }
            for c in changes
        ]
        if several:
            product["options"] = [{"name": "SKU"}]
        try:
            response = self._request(
                "POST", f"{self._api}/products.json", json={"product": product}, idempotent=False
            )
        except MallRejected as exc:
            return [o for c in changes for o in outcomes(c, ok=False, error=str(exc))]
        created = shopify.json_body(self.mall, response)
        made = created.get("product") if isinstance(created, dict) else None
        for variant in (made or {}).get("variants") or ():
            key = ListingKey(first.key.item_code, shopify._text(variant.get("sku")))
            self._refs[key] = (made["id"], variant["id"])
        return [o for c in changes for o in outcomes(c, ok=True)]
