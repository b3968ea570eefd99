"""楽天 listings (商品登録) through RMS ItemAPI 2.0: read items, patch title / キャッチコピー /
商品説明 (PC) / each SKU's 販売価格, create an item from the workbook. A subclass of the stock
connector, so credentials, the licenseKey check and error wording are the same.

Vendor facts (contract notes §6, reproductions of the official RMS pages: items.patch code
index id 60336496322, items.bulk.get 60458561043, items.upsert 60317403519, response codes
60644383745; JakeJP/Rakuten.RMS.Api @7e1cd82 ``ItemAPI20``):

- ``POST /es/2.0/items/bulk-get`` ``{"manageNumbers":[≤ 50]}`` → ``{"results":[Item…]}``; unknown
  numbers are silently left out; a number twice → 400 ``IE1106``.
- ``PATCH /es/2.0/items/manage-numbers/{manageNumber}``: partial, omitted fields untouched, inside
  ``variants.<variantId>`` only the given fields change → 204. Price is ``standardPrice``, a string
  of whole yen 0–999999999 (decimals → ``IE0118``). Errors: 400 ``{"errors":[{code, message,
  metadata.propertyPath}]}`` (e.g. ``variants.433913.standardPrice``). Whether a 400 refuses the
  whole call is not stated: this client treats it so, reports the fields RMS names with RMS's
  text and sends the rest of that item again without them (as for Inventory API entries).
- Field limits in UTF-8 bytes: ``title`` 255, ``tagline`` 174, ``productDescription.pc`` 10240.
  Only ``productDescription.pc`` is managed (商品説明); ``.sp`` and ``salesDescription`` are
  left as they are.
- ``PUT /es/2.0/items/manage-numbers/{manageNumber}`` (items.upsert) is a FULL replace: used only to
  create an item RMS does not have (never for an existing one). It needs ``itemType``, ``title``,
  ``genreId`` (モール商品's カテゴリ) and per variant ``standardPrice`` and ``articleNumber`` (a JAN or
  an exemption reason, ``IE0229``). 201 for a new item in a third-party smoke test; 200/204 are
  accepted too (UNVERIFIED). The exemption reason code ``ARTICLE_EXEMPTION`` (5 = "no JAN" in the
  1.0 API: yheihei/rms-api-sample ``define.php``) is UNVERIFIED for 2.0.
- ``tags``: a list of タグID numbers (the item JSON's ``"tags":[5000001]``); list-typed fields are
  replaced whole even by PATCH (contract §6), so the list sent is exactly the タグ column's. The
  most tags an item takes is not stated (``max_tags`` 32 here, UNVERIFIED).
- Rate limit of ItemAPI 2.0: not found. Inventory API writes are 1 request/s, so this client
  defaults to 1 request/s (``ITEM_CALLS_PER_SECOND``, UNVERIFIED).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import requests

from sync.connectors import rakuten
from sync.connectors.http import json_body
from sync.connectors.listings_base import (
    ListingChange,
    ListingKey,
    ListingOutcome,
    ListingRules,
    MallListing,
    ReadResult,
    outcomes,
    tag_list,
    tags_text,
)
from sync.errors import MallAuthError, SyncError
from vocabulary.jst import JST

ITEMS = "/es/2.0/items"
BULK_GET_MAX = 50
ITEM_CALLS_PER_SECOND = 1.0  # UNVERIFIED (see the module docstring)
ARTICLE_EXEMPTION = 5  # UNVERIFIED for 2.0
RULES = ListingRules(
    mall="楽天",
    fields=("title", "price", "tagline", "description", "tags"),
    max_length={"title": 255, "tagline": 174, "description": 10240},
    length_unit="bytes",
    max_price=999_999_999,
    category_for="create",
    category_label="カテゴリ（楽天のジャンルID）",
    creates=True,
    numeric_tags=True,
    max_tags=32,
)
Settings = rakuten.Settings
_VARIANT_PATH = re.compile(r"^variants\.([^.]+)\.")


class _Refused(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Listings(rakuten.Connector):
    """楽天 items as listings; one instance per ``[malls.<channel>]`` section."""

    def __init__(self, *args: Any, calls_per_second: float = ITEM_CALLS_PER_SECOND, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = replace(RULES, mall=self.mall)
        self._items_http = self._inventory_http.with_rate(calls_per_second, 1)

    # -- read

    def read(self, keys: Sequence[ListingKey]) -> ReadResult:
        self._check_key(self._clock().astimezone(JST).date())
        numbers = list(dict.fromkeys(k.item_code.lower() for k in keys))
        items: dict[str, dict] = {}
        for start in range(0, len(numbers), BULK_GET_MAX):
            chunk = numbers[start : start + BULK_GET_MAX]
            response = self._items_http.request(
                "POST",
                f"{ITEMS}/bulk-get",
                json={"manageNumbers": chunk},
                hooks={"response": [self._explain]},
            )
            body = json_body(self.mall, response)
            for item in body.get("results") or () if isinstance(body, dict) else ():
                if isinstance(item, dict):
                    items[str(item.get("manageNumber", "")).lower()] = item
        result = ReadResult()
        for key in keys:
            item = items.get(key.item_code.lower())
            variant = ((item or {}).get("variants") or {}).get(key.sku)
            if item is None:
                result.missing.add(key)
                continue
            if not isinstance(variant, dict):
                result.errors[key] = (
                    f"商品管理番号「{key.item_code}」にSKU管理番号「{key.sku}」がありません"
                    "（SKUの追加はRMSで行ってください）"
                )
                continue
            values: dict[str, Any] = {
                "title": rakuten._text(item.get("title")),
                "tagline": rakuten._text(item.get("tagline")),
                "description": ((item.get("productDescription") or {}).get("pc")) or "",
                "tags": tags_text(item.get("tags") or ()),
            }
            try:
                values["price"] = int(str(variant.get("standardPrice")))
            except ValueError:
                result.errors[key] = f"販売価格「{variant.get('standardPrice')}」を読めません"
                continue
            result.found[key] = MallListing(key, values)
        return result

    # -- send

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        self._check_key(self._clock().astimezone(JST).date())
        by_item: dict[str, list[ListingChange]] = {}
        for change in changes:
            by_item.setdefault(change.key.item_code, []).append(change)
        results: list[ListingOutcome] = []
        stop = ""
        for number, group in by_item.items():
            if stop:
                results.extend(o for c in group for o in outcomes(c, ok=False, error=stop))
                continue
            try:
                if any(c.create for c in group):
                    results.extend(self._create(number, group))
                else:
                    results.extend(self._patch(number, group))
            except MallAuthError:
                raise
            except SyncError as exc:  # down or throttled past the retries: report the rest
                stop = str(exc)
                results.extend(o for c in group for o in outcomes(c, ok=False, error=stop))
        return results

    def _patch(self, number: str, group: list[ListingChange]) -> list[ListingOutcome]:
        pending = {(c.key, f): v for c in group for f, v in c.values.items()}
        failed: dict[tuple[ListingKey, str], str] = {}
        while pending:
            body = _patch_body(pending)
            try:
                self._item_call("PATCH", number, body)
            except _Refused as refused:
                named = _named_fields(refused.response, pending)
                if not named:
                    text = self._refusal_text(refused.response)
                    failed.update(dict.fromkeys(pending, text))
                    break
                failed.update(named)
                pending = {k: v for k, v in pending.items() if k not in named}
                continue
            break
        return [
            ListingOutcome(c.key, f, v, (c.key, f) not in failed, failed.get((c.key, f), ""))
            for c in group
            for f, v in c.values.items()
        ]

    def _create(self, number: str, group: list[ListingChange]) -> list[ListingOutcome]:
        first = group[0]
        item: dict[str, Any] = {"itemType": "NORMAL", "genreId": first.category}
        merged = {f: v for c in group for f, v in c.values.items() if f != "price"}
        item["title"] = merged.get("title", "")
        if "tagline" in merged:
            item["tagline"] = merged["tagline"]
        if "description" in merged:
            item["productDescription"] = {"pc": merged["description"]}
        if "tags" in merged:
            item["tags"] = [int(t) for t in tag_list(str(merged["tags"]))]
        several = len(group) > 1
        if several:
            item["variantSelectors"] = [
                {"key": "sku", "displayName": "種類", "values": [{"displayValue": c.key.sku} for c in group]}
            ]
        item["variants"] = {
            c.key.sku: {
                "standardPrice": str(c.values.get("price", "")),
                "articleNumber": {"exemptionReason": ARTICLE_EXEMPTION},
                **({"selectorValues": {"sku": c.key.sku}} if several else {}),
            }
            for c in group
        }
        try:
            self._item_call("PUT", number, item)
        except _Refused as refused:
            text = self._refusal_text(refused.response)
            return [o for c in group for o in outcomes(c, ok=False, error=text)]
        return [o for c in group for o in outcomes(c, ok=True)]

    def _item_call(self, method: str, number: str, body: dict) -> None:
        # A PATCH or an upsert sets the same values again when repeated: safe to retry.
        self._items_http.request(
            method, f"{ITEMS}/manage-numbers/{number}", json=body, hooks={"response": [self._item_refusal]}
        )

    def _item_refusal(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code in (401, 403):
            raise MallAuthError(
                self._auth_text(f"HTTP {response.status_code} {rakuten._auth_code(response)}".strip())
            )
        if response.status_code in (400, 404, 409, 415):
            raise _Refused(response)

    def _refusal_text(self, response: requests.Response) -> str:
        reason = rakuten._inventory_errors_text(rakuten._safe_json(response)) or response.text[:200]
        return f"{self.mall}が受け付けませんでした（HTTP {response.status_code}）: {reason}"


def _patch_body(pending: dict[tuple[ListingKey, str], Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for (key, name), value in pending.items():
        if name == "price":
            body.setdefault("variants", {})[key.sku] = {"standardPrice": str(value)}
        elif name == "description":
            body["productDescription"] = {"pc": value}
        elif name == "tags":
            body["tags"] = [int(t) for t in tag_list(str(value))]
        else:
            body[name] = value
    return body


def _named_fields(response: requests.Response, pending: dict[tuple[ListingKey, str], Any]) -> dict:
    """The pending fields RMS's ``propertyPath`` names, with RMS's message and code."""
    body = rakuten._safe_json(response)
    named: dict[tuple[ListingKey, str], str] = {}
    for error in (body or {}).get("errors") or () if isinstance(body, dict) else ():
        if not isinstance(error, dict):
            continue
        path = rakuten._text((error.get("metadata") or {}).get("propertyPath"))
        text = f"楽天が受け付けませんでした: {rakuten._text(error.get('message'))}（{rakuten._text(error.get('code'))}）"
        variant = _VARIANT_PATH.match(path)
        for key, name in pending:
            hit = (
                (name == "price" and variant is not None and variant.group(1) == key.sku)
                or (name == "description" and path.startswith("productDescription"))
                or (name in ("title", "tagline", "tags") and path.split(".")[0].split("[")[0] == name)
            )
            if hit:
                named[(key, name)] = f"{named[(key, name)]} / {text}" if (key, name) in named else text
    return named
