"""The 楽天 fake plus RMS ItemAPI 2.0 (商品登録): ``POST /es/2.0/items/bulk-get``,
``GET``/``PATCH``/``PUT /es/2.0/items/manage-numbers/{manageNumber}``.

From the contract notes §6 (official page reproductions): bulk-get takes ≤ 50 numbers, leaves
unknown ones out, refuses duplicates with 400 ``IE1106``; PATCH changes only the given fields
(inside ``variants.<id>`` only the given keys; a variant id the item does not have is refused,
PATCH cannot add SKUs) and answers 204; ``standardPrice`` is a string of whole yen 0–999999999
(``IE0003``, decimals ``IE0118``); ``title`` ≤ 255, ``tagline`` ≤ 174, ``productDescription.pc`` ≤
10240 UTF-8 bytes (``IE0004``); errors ``{"errors":[{code, message, metadata.propertyPath}]}``;
PUT (upsert) replaces the whole item and needs ``itemType``, ``title``, ``genreId``, variants with
``standardPrice`` and ``articleNumber`` (``IE0001`` / ``IE0229``).

UNVERIFIED, settings of the fake: ``items_per_second`` (1.0; no published ItemAPI limit: 429
``GE0009`` when exceeded, as the Inventory API fake does); ``upsert_created_status`` (201);
a 400 refuses the whole PATCH (nothing applied); ``reject_prices``: manage numbers whose PATCH of
a price is refused with ``IE0003`` (a partial failure).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.rakuten_api import THROTTLED_BODY, FakeRakuten, esa
from tests.fakes.toolkit.limits import Spacing
from tests.fakes.toolkit.reply import Reply

ITEMS = "/es/2.0/items/"
LIMITS = {"title": 255, "tagline": 174}
DESCRIPTION_LIMIT = 10240


def _error(code: str, message: str, path: str) -> dict:
    return {"code": code, "message": message, "metadata": {"propertyPath": path}}


class FakeRakutenItems(FakeRakuten):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: dict[str, dict] = {}
        self.items_per_second = 1.0
        self.upsert_created_status = 201
        self.reject_prices: dict[str, str] = {}
        self._item_spacing = Spacing()

    def add_item(self, manage_number: str, title: str, prices: dict[str, int], **fields: Any) -> dict:
        item = {
            "manageNumber": manage_number.lower(),
            "itemNumber": manage_number,
            "title": title,
            "tagline": fields.pop("tagline", ""),
            "productDescription": {"pc": fields.pop("pc", ""), "sp": fields.pop("sp", "スマホ用説明")},
            "salesDescription": "販売説明",
            "itemType": "NORMAL",
            "genreId": fields.pop("genreId", "100227"),
            "tags": [5000001],
            "variants": {
                vid: {"merchantDefinedSkuId": vid, "standardPrice": price, "selectorValues": {}}
                for vid, price in prices.items()
            },
            **fields,
        }
        with self._lock:
            self.items[manage_number.lower()] = item
        return item

    def item(self, manage_number: str) -> dict:
        with self._lock:
            return copy.deepcopy(self.items[manage_number.lower()])

    # -- dispatch: item paths first, the order and inventory fake for the rest

    def _answer(self, method: str, path: str, headers: Any, body: Any, bad_json: bool) -> Reply:
        if not path.startswith(ITEMS):
            return super()._answer(method, path, headers, body, bad_json)
        if headers.get("Authorization") != self._esa() or self.license_expired:
            return Reply(401, {"Results": {"errorCode": "ES04-01", "message": "Unauthorized"}})
        faulted = self._faulted(path)
        if faulted is not None:
            return faulted
        with self._lock:
            if not self._item_spacing.admit(self.bucket_clock(), 1.0 / self.items_per_second):
                return Reply(429, THROTTLED_BODY)
            if bad_json:
                return Reply(400, {"errors": [_error("GE0011", "Request body is invalid.", "")]})
            rest = path.removeprefix(ITEMS)
            if method == "POST" and rest == "bulk-get":
                return self._bulk_get(body)
            if rest.startswith("manage-numbers/"):
                number = rest.removeprefix("manage-numbers/").lower()
                if method == "GET":
                    return self._get_item(number)
                if method == "PATCH":
                    return self._patch(number, body)
                if method == "PUT":
                    return self._upsert(number, body)
        return Reply(400, {"errors": [_error("GE0007", "Requested path doesn't exist", "")]})

    def _esa(self) -> str:
        return esa(self.service_secret, self.license_key)

    def _bulk_get(self, body: Any) -> Reply:
        numbers = body.get("manageNumbers") if isinstance(body, dict) else None
        if not isinstance(numbers, list) or not 1 <= len(numbers) <= 50:
            return Reply(
                400,
                {"errors": [_error("IE0003", "manageNumbers must be between 1 and 50.", "manageNumbers")]},
            )
        lowered = [str(n).lower() for n in numbers]
        if len(set(lowered)) != len(lowered):
            dup = next(n for n in lowered if lowered.count(n) > 1)
            return Reply(
                400,
                {
                    "errors": [
                        _error(
                            "IE1106",
                            f"There are multiple occurrences of same manageNumber : {dup}",
                            "manageNumbers",
                        )
                    ]
                },
            )
        return Reply(200, {"results": [copy.deepcopy(self.items[n]) for n in lowered if n in self.items]})

    def _get_item(self, number: str) -> Reply:
        if number not in self.items:
            return Reply(
                404,
                {"errors": [{"code": "GE0014", "message": f"Not found for inputs; manageNumber={number}"}]},
            )
        return Reply(200, copy.deepcopy(self.items[number]))

    def _patch(self, number: str, body: Any) -> Reply:
        item = self.items.get(number)
        if item is None:
            return Reply(
                404,
                {"errors": [{"code": "GE0014", "message": f"Not found for inputs; manageNumber={number}"}]},
            )
        if not isinstance(body, dict) or not body:
            return Reply(
                400,
                {
                    "errors": [
                        _error("GE0011", "Request body is missing or is empty without any attributes.", "")
                    ]
                },
            )
        errors = self._field_errors(body)
        for vid, variant in (body.get("variants") or {}).items():
            if vid not in item["variants"]:
                errors.append(
                    _error("IE0416", f"variantId {vid} cannot be added by patch.", f"variants.{vid}")
                )
            elif "standardPrice" in variant and number in self.reject_prices:
                errors.append(_error("IE0003", self.reject_prices[number], f"variants.{vid}.standardPrice"))
        if errors:
            return Reply(400, {"errors": errors})
        for name, value in body.items():
            if name == "variants":
                for vid, variant in value.items():
                    item["variants"][vid].update(variant)
            elif name == "productDescription":
                item["productDescription"].update(value)
            else:
                item[name] = value
        return Reply(204, None)

    def _upsert(self, number: str, body: Any) -> Reply:
        if not isinstance(body, dict):
            return Reply(400, {"errors": [_error("GE0011", "Request body is missing.", "")]})
        errors = [
            _error("IE0001", f"{name} is mandatory.", name)
            for name in ("itemType", "title", "genreId", "variants")
            if not body.get(name)
        ]
        errors += self._field_errors(body)
        for vid, variant in (body.get("variants") or {}).items():
            if not (variant.get("articleNumber") or {}):
                errors.append(
                    _error("IE0229", "articleNumber is mandatory.", f"variants.{vid}.articleNumber")
                )
        if errors:
            return Reply(400, {"errors": errors})
        created = number not in self.items
        self.items[number] = {"manageNumber": number, "productDescription": {}, **copy.deepcopy(body)}
        return Reply(self.upsert_created_status if created else 204, None)

    @staticmethod
    def _field_errors(body: dict) -> list[dict]:
        errors = []
        for name, limit in LIMITS.items():
            if name in body and len(str(body[name]).encode("utf-8")) > limit:
                errors.append(_error("IE0004", f"Max length of {name} must be within {limit} bytes.", name))
        pc = (body.get("productDescription") or {}).get("pc")
        if pc is not None and len(str(pc).encode("utf-8")) > DESCRIPTION_LIMIT:
            errors.append(
                _error(
                    "IE0004",
                    f"Max length of productDescription.pc must be within {DESCRIPTION_LIMIT} bytes.",
                    "productDescription.pc",
                )
            )
        for vid, variant in (body.get("variants") or {}).items():
            if "standardPrice" not in (variant or {}):
                continue
            raw = str(variant["standardPrice"])
            path = f"variants.{vid}.standardPrice"
            if "." in raw:
                errors.append(
                    _error("IE0118", f"Fraction digits of {path} does not match the currency JPY.", path)
                )
            elif not raw.isdigit() or not 0 <= int(raw) <= 999_999_999:
                errors.append(_error("IE0003", f"{path} must be between 0 to 999999999.", path))
        return errors
