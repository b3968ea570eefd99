"""The Shopify fake plus the product writes 商品登録 makes: ``PUT products/{id}.json``,
``PUT variants/{id}.json`` and ``POST products.json`` (REST 2024-10).

Shapes from the contract notes §9 (shopify-api-ruby @4eca719 ``test/rest/2024_10/product_test.rb``
and ``variant_test.rb``): a product PUT carries ``{"product":{"id":…,<fields>}}`` and answers 200
with the whole product; a variant PUT ``{"variant":{"id":…,"price":"99.00"}}`` answers 200 with
the variant; money is a string. Same bucket, faults and auth as ``FakeShopify``.

UNVERIFIED, kept as settings of the fake:

* ``title_limit`` (255) and the 422 texts (``{"errors":{"title":["is too long (maximum is 255
  characters)"]}}``, ``{"errors":{"price":["must be greater than or equal to 0"]}}``): Rails-style
  messages as Shopify's other 422s; the field keys for products are not published.
* ``reject_skus``: SKUs whose variant PUT is refused with a 422 (a partial failure in a batch).
* A created product's ``status`` (``active`` here, ``new_product_status``).
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fakes.shopify_api import API_ROOT, FakeShopify, RecordedRequest, _ApiError, shop_time
from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.routes import Routes


class _Chained:
    """Routes tried in order: the product writes first, then the stock fake's own."""

    def __init__(self, *tables: Routes) -> None:
        self._tables = tables

    def match(self, method: str, path: str) -> Any:
        return next((m for t in self._tables if (m := t.match(method, path)) is not None), None)


def _unprocessable(field: str, message: str) -> _ApiError:
    return _ApiError(422, {"errors": {field: [message]}})


class FakeShopifyListings(FakeShopify):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_limit = 255
        self.reject_skus: dict[str, str] = {}
        self.new_product_status = "active"
        self._routes = _Chained(
            Routes(
                {
                    ("PUT", "products/{product_id}.json"): self._put_product,
                    ("PUT", "variants/{variant_id}.json"): self._put_variant,
                    ("POST", "products.json"): self._post_product,
                },
                root=API_ROOT,
            ),
            self._routes,
        )

    # -- test helpers

    def product(self, product_id: int) -> dict:
        with self._lock:
            return copy.deepcopy(self._products[product_id])

    def edit_in_admin(self, product_id: int, **fields: Any) -> None:
        """A merchant changing a product in Shopify's own admin (tags, title, …)."""
        with self._lock:
            self._products[product_id].update(fields)

    def products(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._products.values()))

    def variant_price(self, sku: str) -> int | None:
        for product in self.products():
            for variant in product["variants"]:
                if variant["sku"] == sku:
                    return int(Decimal(variant["price"]))
        return None

    # -- handlers (under the fake's lock)

    def _put_product(self, call: RecordedRequest, product_id: str) -> Reply:
        product = self._products.get(int(product_id)) if product_id.isdigit() else None
        if product is None:
            return Reply(404, {"errors": "Not Found"})
        body = call.body.get("product") if isinstance(call.body, dict) else None
        if not isinstance(body, dict):
            return Reply(400, {"errors": {"product": "Required parameter missing or invalid"}})
        self._check_title(body)
        for name in ("title", "body_html", "tags", "handle", "vendor", "product_type"):
            if name in body:
                product[name] = body[name]
        product["updated_at"] = shop_time(self.clock())
        return Reply(200, {"product": copy.deepcopy(product)})

    def _put_variant(self, call: RecordedRequest, variant_id: str) -> Reply:
        found = next(
            (v for p in self._products.values() for v in p["variants"] if str(v["id"]) == variant_id),
            None,
        )
        if found is None:
            return Reply(404, {"errors": "Not Found"})
        body = call.body.get("variant") if isinstance(call.body, dict) else None
        if not isinstance(body, dict):
            return Reply(400, {"errors": {"variant": "Required parameter missing or invalid"}})
        if found["sku"] in self.reject_skus:
            raise _unprocessable("base", self.reject_skus[found["sku"]])
        if "price" in body:
            found["price"] = self._price(body["price"])
        found["updated_at"] = shop_time(self.clock())
        return Reply(200, {"variant": copy.deepcopy(found)})

    def _post_product(self, call: RecordedRequest) -> Reply:
        body = call.body.get("product") if isinstance(call.body, dict) else None
        if not isinstance(body, dict):
            return Reply(400, {"errors": {"product": "Required parameter missing or invalid"}})
        if not str(body.get("title") or "").strip():
            raise _unprocessable("title", "can't be blank")
        self._check_title(body)
        variants = body.get("variants") or [{}]
        prices = [self._price(v.get("price", "0")) for v in variants]
        made = self.add_product(
            body["title"],
            [
                (v.get("sku"), v.get("option1") or "", int(Decimal(p)))
                for v, p in zip(variants, prices, strict=True)
            ],
        )
        product = self._products[made[0].product_id]
        product["body_html"] = body.get("body_html") or ""
        product["status"] = self.new_product_status
        if body.get("handle"):
            product["handle"] = body["handle"]
        return Reply(201, {"product": copy.deepcopy(product)})

    def _check_title(self, body: dict) -> None:
        if "title" in body and len(str(body["title"])) > self.title_limit:
            raise _unprocessable("title", f"is too long (maximum is {self.title_limit} characters)")

    @staticmethod
    def _price(raw: Any) -> str:
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise _unprocessable("price", "is not a number") from None
        if value < 0:
            raise _unprocessable("price", "must be greater than or equal to 0")
        return str(int(value)) if value == value.to_integral() else str(value)
