"""Amazon listings (商品登録) through the SP-API Listings Items API: read a SKU's 商品名, 販売価格,
商品説明 and 検索キーワード (タグ), patch them, and write the JSON_LISTINGS_FEED file for listings Amazon does not have
(Ichigen does not create Amazon listings through the API). A subclass of the stock connector, so
LWA tokens, per-operation token buckets, retries and error wording are the same.

Vendor facts (contract notes §2 and §8; listingsItems_2021-08-01.json and
listings-feed-schema-v2.json, amzn/selling-partner-api-models @34dc93fe; the price patch of the
vendor sample SubmitPriceHandler.java, amzn/selling-partner-api-samples @1aa0fd8):

- ``GET /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…&includedData=summaries,
  attributes,issues`` getListingsItem, 5 req/s burst 10. ``summaries[{marketplaceId, productType,
  itemName…}]``; ``attributes`` keyed by attribute name (snake_case), each a list of entries
  (``{"value", "language_tag", "marketplace_id"}`` for ``item_name``, as in the model's example).
  Unknown SKU → 404 ``{"errors":[{code, message, details}]}``.
- ``PATCH`` the same path, patchListingsItem, 5 req/s burst 5: ``{"productType", "patches":
  [{"op": add|replace|merge|delete, "path", "value": [...]}]}``; "Only top-level listings item
  attributes can be patched". Answer 200 ``{"sku", "status": ACCEPTED|INVALID, "submissionId",
  "issues":[{code, message, severity, attributeNames, categories}]}``: ACCEPTED is applied later
  (asynchronously; how long is not documented), INVALID was not accepted (its ERROR issues say
  why). 404 is not among patchListingsItem's documented answers (400 is); both are reported as
  Amazon's refusal for that SKU. ``issueLocale=ja_JP`` asks for Japanese issue texts.
- Price: ``replace /attributes/purchasable_offer`` with ``[{"marketplace_id", "currency": "JPY",
  "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": 1780}]}]}]`` (vendor sample; it
  reads the listing first and re-sends the whole attribute with only ``value_with_tax`` changed).
  A replace replaces the whole attribute, so this client does the same: every other entry
  (other marketplaces, the B2B audience) and sub-field (``discounted_price``,
  ``minimum_seller_allowed_price``, ``start_at``…) goes back as read. The same for ``item_name``
  and ``product_description`` (and ``generic_keyword``, 検索キーワード: the タグ joined by spaces):
  only the Japan ``ja_JP`` entry changes. The per-product-type
  schema of these attributes is in the Product Type Definitions API, not copied: UNVERIFIED
  beyond the sample.
- Length limits also come from the Product Type Definitions API, per product type. The defaults
  here (``RULES.max_length``) are conservative guesses: ``item_name`` 200 characters (Seller
  Central's product title requirements: "Titles must not exceed 200 characters, including
  spaces", all product types except media, all stores; Japan's category style guides ask for
  less), ``product_description`` 2000 characters (UNVERIFIED: no vendor page found).
- JSON_LISTINGS_FEED (listings-feed-schema-v2.json): ``{"header": {"sellerId", "version": "2.0",
  "issueLocale"}, "messages": [{"messageId" ≥ 1, "sku", "operationType", "productType",
  "requirements", "attributes"}]}``, 1–25,000 messages. ``UPDATE`` gives "the full set of item
  attributes" (needs ``productType`` and ``attributes``): right for a listing Amazon does not have.
  ``requirements`` ``LISTING`` ("product facts and sales terms"), as the file carries both
  (``item_name``/``product_description`` are product facts, ``purchasable_offer`` a sales term);
  ``LISTING_OFFER_ONLY`` would be for an offer on an existing ASIN with sales terms only.
  It is submitted with the Feeds API (feeds_2021-06-30.json: ``createFeedDocument``, upload,
  ``createFeed`` with ``feedType`` JSON_LISTINGS_FEED and one marketplace). Seller Central's
  「アップロードによる一括商品登録」 help page names tab-separated text and Excel inventory files;
  whether it takes this JSON file is UNVERIFIED, and the staff text (``UPLOAD_HOW``) says so. A new
  product needs more attributes than Ichigen manages (brand, identifiers, condition…, per product
  type): Amazon's processing report names them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import requests

from sync.connectors import amazon
from sync.connectors.http import json_body
from sync.connectors.listings_base import (
    ListingChange,
    ListingKey,
    ListingOutcome,
    ListingRules,
    MallListing,
    ReadResult,
    UploadFile,
    Value,
    outcomes,
    tag_list,
    tags_text,
)
from sync.connectors.values import decimal_yen
from sync.errors import MallAuthError, MallPayloadError, MallRejected, SyncError
from vocabulary.jst import JST

LANGUAGE_TAG = "ja_JP"
TITLE_LIMIT = 200  # UNVERIFIED per product type (module docstring)
DESCRIPTION_LIMIT = 2000  # UNVERIFIED
# 検索キーワード (generic_keyword): keywords separated by half-width spaces, 500 bytes without the
# spaces (250 in fashion categories): a third-party reading of Amazon's 商品検索対策 guide
# (UNVERIFIED; Seller Central's keyword table names generic_keywords as free text with a
# byte limit). The workbook's タグ are the keywords, so a tag may not hold a space.
KEYWORD_BYTES = 500
RULES = ListingRules(
    mall="Amazon",
    fields=("title", "price", "description", "tags"),
    max_length={"title": TITLE_LIMIT, "description": DESCRIPTION_LIMIT},
    max_tags_bytes=KEYWORD_BYTES,
    tags_without_spaces=True,
    # The productType of a listing Amazon has is read from it; a new one takes モール商品's カテゴリ.
    category_for="create",
    category_label="カテゴリ（AmazonのproductType）",
    # Each Amazon SKU is its own listing: title and description belong to the SKU.
    item_fields=(),
    creates=False,
)
# The attribute each field is patched in.
ATTRIBUTES = {
    "title": "item_name",
    "price": "purchasable_offer",
    "description": "product_description",
    "tags": "generic_keyword",
}
READ_DATA = "summaries,attributes,issues"
FEED_NAME = "amazon_listings_feed_{date:%Y%m%d}.json"
CREATE_ELSEWHERE = "Amazonでは新しい出品はAPIで作れません。一括登録のファイルで作ってください"
UPLOAD_HOW = (
    "AmazonのJSON_LISTINGS_FEED形式（出品用のJSONファイル）です。SP-APIのFeeds APIに対応した"
    "ツールで、フィードの種類「JSON_LISTINGS_FEED」、マーケットプレイス「Amazon.co.jp」として送ってください。"
    "セラーセントラルの「カタログ」→「アップロードによる一括商品登録」が案内しているのはExcel・テキストの"
    "在庫ファイルで、このJSONファイルを受け付けるかは確認できていません。"
    "ファイルには商品名・販売価格・商品説明だけが入っています。ブランド名・JANコード・コンディションなど"
    "商品タイプごとに必要な項目は、Amazonの処理レポートで足りないと示されたものを追加してください"
)
Settings = amazon.Settings


class _NotFound(MallRejected):
    """404: Amazon has no listing for this SKU."""


class Listings(amazon.Connector):
    """Amazon SKUs as listings; one instance per ``[malls.<channel>]`` section."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = replace(RULES, mall=self.mall)
        self.calls = 0
        # SKU -> (productType, the managed attributes as read), for building the patches.
        self._read: dict[str, tuple[str, dict[str, list]]] = {}

    # -- read

    def read(self, keys: Sequence[ListingKey]) -> ReadResult:
        """One getListingsItem per SKU. Down or throttled past the retries raises."""
        result = ReadResult()
        for key in keys:
            try:
                values = self._read_listing(key.sku)
            except _NotFound:
                result.missing.add(key)
            except (MallRejected, MallPayloadError) as exc:
                result.errors[key] = str(exc)
            else:
                result.found[key] = MallListing(key, values)
        return result

    def _read_listing(self, sku: str) -> dict[str, Value]:
        params = {"marketplaceIds": self.settings.marketplace_id, "includedData": READ_DATA}
        item = json_body(self.mall, self._call("getListingsItem", "GET", sku, params=params))
        if not isinstance(item, dict):
            raise MallPayloadError(f"{self.mall}のSKU「{sku}」の応答を読めません")
        marketplace = self.settings.marketplace_id
        summary = next(
            (
                s
                for s in item.get("summaries") or ()
                if isinstance(s, dict) and s.get("marketplaceId") == marketplace
            ),
            {},
        )
        product_type = summary.get("productType")
        if not isinstance(product_type, str) or not product_type:
            raise MallPayloadError(f"{self.mall}のSKU「{sku}」に productType がありません")
        raw = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
        attributes = {
            name: copy.deepcopy(raw[name]) if isinstance(raw.get(name), list) else []
            for name in ATTRIBUTES.values()
        }
        self._read[sku] = (product_type, attributes)
        title = _text_entry(attributes["item_name"], marketplace)
        description = _text_entry(attributes["product_description"], marketplace)
        keywords = _text_entry(attributes["generic_keyword"], marketplace)
        values: dict[str, Value] = {
            # No Japan entry in the attributes: the name Amazon shows (summaries) is compared.
            "title": _text(title.get("value")) if title else _text(summary.get("itemName")),
            "description": str(description.get("value") or "") if description else "",
            "tags": tags_text(str(keywords.get("value") or "").split()) if keywords else "",
        }
        price = _price(_offer(attributes["purchasable_offer"], marketplace))
        if price is not None:
            values["price"] = decimal_yen(price, f"SKU「{sku}」の販売価格", self.mall)
        return values

    # -- send

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        """One patchListingsItem per SKU; ACCEPTED is ok and pending (Amazon applies it later)."""
        results: list[ListingOutcome] = []
        stop = ""
        for change in changes:
            if stop:
                results.extend(outcomes(change, ok=False, error=stop))
                continue
            if change.create:
                results.extend(
                    outcomes(change, ok=False, error=f"SKU「{change.key.sku}」: {CREATE_ELSEWHERE}")
                )
                continue
            try:
                results.extend(self._patch(change))
            except MallAuthError:
                raise
            except MallPayloadError as exc:  # one garbled answer: this SKU only, whether it went is unknown
                error = f"SKU「{change.key.sku}」: {exc}。反映されたかは、もう一度読み込んで確かめてください"
                results.extend(outcomes(change, ok=False, error=error))
            except SyncError as exc:  # down or throttled past the retries: report the rest
                stop = str(exc)
                results.extend(outcomes(change, ok=False, error=stop))
        return results

    def _patch(self, change: ListingChange) -> list[ListingOutcome]:
        sku = change.key.sku
        try:
            if sku not in self._read:  # a send without a read here: read first, to keep the rest
                self._read_listing(sku)
        except _NotFound:
            return outcomes(
                change, ok=False, error=f"AmazonにSKU「{sku}」の出品がありません。{CREATE_ELSEWHERE}"
            )
        except (MallRejected, MallPayloadError) as exc:
            return outcomes(change, ok=False, error=f"SKU「{sku}」をAmazonから読めませんでした: {exc}")
        product_type, attributes = self._read[sku]
        marketplace = self.settings.marketplace_id
        updated = {
            ATTRIBUTES[name]: _with_value(
                ATTRIBUTES[name], attributes[ATTRIBUTES[name]], marketplace, _attribute_value(name, value)
            )
            for name, value in change.values.items()
        }
        body = {
            "productType": product_type,
            "patches": [
                {"op": "replace", "path": f"/attributes/{name}", "value": value}
                for name, value in updated.items()
            ],
        }
        params = {"marketplaceIds": marketplace, "issueLocale": LANGUAGE_TAG}
        try:
            # The same values sent again change nothing: 5xx and timeouts are retried.
            response = self._call("patchListingsItem", "PATCH", sku, params=params, json=body)
        except MallRejected as exc:
            return outcomes(change, ok=False, error=f"SKU「{sku}」: {exc}")
        answer = json_body(self.mall, response)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status == "ACCEPTED":
            attributes.update(updated)  # what a later send in this client builds on
            return outcomes(change, ok=True, pending=True)
        if not isinstance(status, str):
            raise MallPayloadError(f"{self.mall}からSKU「{sku}」の送信結果（status）がありませんでした")
        return outcomes(
            change,
            ok=False,
            error=f"AmazonがSKU「{sku}」の変更を受け付けませんでした: {_issues(answer, status)}",
        )

    def _call(self, operation: str, method: str, sku: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        return self._request(operation, method, self._listing_path(sku), **kwargs)

    def _reject_with_reason(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code == 404:
            raise _NotFound(
                f"{self.mall}が受け付けませんでした（HTTP 404）: {amazon._error_reason(response)}"
            )
        super()._reject_with_reason(response, *args, **kwargs)

    # -- new listings: the JSON_LISTINGS_FEED file

    def upload_file(self, changes: Sequence[ListingChange]) -> UploadFile:
        """JSON_LISTINGS_FEED with one UPDATE message per new listing. No call to Amazon."""
        return feed_file(
            changes,
            seller_id=self.settings.seller_id,
            marketplace_id=self.settings.marketplace_id,
            today=self._clock().astimezone(JST).date(),
        )


def feed_file(
    changes: Sequence[ListingChange], *, seller_id: str, marketplace_id: str, today: date
) -> UploadFile:
    """Amazon's JSON_LISTINGS_FEED for new listings (the demo mall builds it too)."""
    marketplace = marketplace_id
    messages = []
    for number, change in enumerate(changes, start=1):
        if not change.category:
            raise ValueError(
                f"SKU「{change.key.sku}」: Amazonで新しく出品するには{RULES.category_label}が必要です"
            )
        attributes = {
            ATTRIBUTES[name]: _with_value(ATTRIBUTES[name], [], marketplace, _attribute_value(name, value))
            for name, value in change.values.items()
            if name in ATTRIBUTES
        }
        messages.append(
            {
                "messageId": number,
                "sku": change.key.sku,
                "operationType": "UPDATE",
                "productType": change.category,
                "requirements": "LISTING",
                "attributes": attributes,
            }
        )
    if not messages:
        raise ValueError("Amazonの一括登録ファイルに入れる新しい出品がありません")
    feed = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": LANGUAGE_TAG},
        "messages": messages,
    }
    data = json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8")
    return UploadFile(name=FEED_NAME.format(date=today), data=data, mime="application/json", how=UPLOAD_HOW)


# ------------------------------------------------------------------ attributes


def _attribute_value(name: str, value: Value) -> Value:
    """タグ go to Amazon as one 検索キーワード text, the keywords separated by spaces."""
    return " ".join(tag_list(str(value))) if name == "tags" else value


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _text_entry(entries: list, marketplace: str) -> dict | None:
    """The Japan entry of a text attribute: ja_JP first, then one with no language."""
    mine = [e for e in entries if isinstance(e, dict) and e.get("marketplace_id") == marketplace]
    return next((e for e in mine if e.get("language_tag") == LANGUAGE_TAG), None) or next(
        (e for e in mine if not e.get("language_tag")), None
    )


def _offer(entries: list, marketplace: str) -> dict | None:
    """The Japan offer to everyone (audience ALL, or none given); B2B offers are left alone."""
    return next(
        (
            e
            for e in entries
            if isinstance(e, dict)
            and e.get("marketplace_id") == marketplace
            and e.get("audience", "ALL") == "ALL"
        ),
        None,
    )


def _price(offer: dict | None) -> Any:
    try:
        return offer["our_price"][0]["schedule"][0]["value_with_tax"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return None


def _with_value(attribute: str, entries: list, marketplace: str, value: Value) -> list:
    """The whole attribute as read with only the Japan value changed (a replace replaces all)."""
    result = copy.deepcopy(entries)
    if attribute == "purchasable_offer":
        offer = _offer(result, marketplace)
        if offer is None:
            offer = {"marketplace_id": marketplace, "currency": "JPY", "audience": "ALL"}
            result.append(offer)
        if _price(offer) is None:
            offer["our_price"] = [{"schedule": [{"value_with_tax": value}]}]
        else:
            offer["our_price"][0]["schedule"][0]["value_with_tax"] = value
        return result
    entry = _text_entry(result, marketplace)
    if entry is None:
        result.append({"value": value, "language_tag": LANGUAGE_TAG, "marketplace_id": marketplace})
    else:
        entry["value"] = value
    return result


def _issues(answer: dict, status: str) -> str:
    """Amazon's own words: its ERROR issues (all issues when none is an ERROR)."""
    issues = [i for i in answer.get("issues") or () if isinstance(i, dict)]
    errors = [i for i in issues if i.get("severity") == "ERROR"] or issues
    text = " / ".join(f"{_text(i.get('message'))}（{_text(i.get('code'))}）" for i in errors)
    return text or f"状態 {status}"
