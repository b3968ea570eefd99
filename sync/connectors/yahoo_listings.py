"""Yahoo!ショッピング listings (商品登録) through the Store API: read an item's 商品名 / 販売価格 /
キャッチコピー / 商品説明 with getItem, change only those with updateItems, publish with one
reservePublish; new items go in the 商品CSV (``upload_file``), which staff upload in
ストアクリエイターPro. A subclass of the stock connector: same settings, YConnect token and error
wording; listing calls have their own rate bucket so they never slow stock pushes.

Vendor facts (contract notes §7; developer.yahoo.co.jp/webapi/shopping/{getItem,reservePublish,
myItemList,setStock,help}.html and …/shopping/item/ in the docs and pages corpora; JSPSystem/
yahoo-shopping-api-client @60d119c ``src/Item/*``, ``tests/ItemTest.php``):

- ``GET …/V1/getItem?seller_id=…&item_code=…`` → ``<ResultSet><Result>`` with ``Name``, ``Price``,
  ``ProductCategory``, ``PathList/Path`` (read by JSPSystem's tests). ``Headline`` / ``Caption``
  are the item-CSV names of キャッチコピー / 商品説明: UNVERIFIED as getItem elements
  (``ELEMENTS``). What getItem answers for an item code the store does not have is UNVERIFIED:
  a 404, an ``<Error>`` whose ``Code`` is in ``NOT_FOUND_CODES`` (a placeholder, constructor
  argument ``not_found_codes``) or a ResultSet without a Result all count as "Yahoo! does not
  have it" (``ReadResult.missing``); any other refusal is that item's read error. Where getItem
  lists an item's 個別商品コード is UNVERIFIED, so a SKU is not checked against them: every SKU of
  a found item shows the item's values (they are item fields, see below).
- ``POST …/V1/updateItems`` (商品一括更新API) form ``seller_id`` + ``item1…itemN``, each itself an
  urlencoded ``item_code=X&price=1780&name=…`` (JSPSystem ``testUpdateItems``): changes only the
  fields sent. Up to 100 items a call: a client reference (biz-p.com, "最大100まで"), no vendor
  figure: UNVERIFIED (``UPDATE_BATCH``). Top-level ``Status`` OK/NG; failed items listed as
  ``Result`` with ``ItemCode`` / ``Code`` / ``Message`` (child names UNVERIFIED). Whether one
  failed item keeps the others from being saved is UNVERIFIED: items not named are taken as
  saved (what the example's shape says). A whole-call refusal is ``<Error><Message><Code>`` (a
  Qiita report shows ``px-04001`` "SellerID is not specified" with HTTP 400). ``name`` /
  ``price`` are seen in client tests; ``headline`` / ``caption`` as updateItems parameters are
  the item-CSV names: UNVERIFIED.
- ``editItem`` (商品登録API) is a full replace: fields not sent fall back to defaults (item Robot's
  manual warns of exactly that), so it is never used for an item Yahoo! has; Ichigen manages four
  fields and would reset the rest (images, 商品情報, 発売日, …).
- Neither updateItems nor editItem shows anything to buyers: "フロント反映はしません。別途反映処理が
  必要です" (vendor item API list). ``POST …/V1/reservePublish`` ``seller_id, mode=1`` without
  ``reserve_time`` publishes now (queued when Yahoo! is busy; mode 2 cancels, 3 checks). It is a
  全反映: it also publishes whatever else the store has saved and not yet published (staff's own
  edits in ストアクリエイターPro). The alternative, 商品個別反映API, is one call per item.
- Rate: "短い時間で同一URLに大量にアクセスを行った場合、一定時間利用できなくなることもあります
  （1クエリ/秒）" (vendor item API list); the 緩和申請 raises it to at most 10 req/s per API
  (help page). This client keeps all listing calls to ``ITEM_CALLS_PER_SECOND`` (1) together,
  which is within the per-URL figure. The HTTP status of "利用できなくなる" is UNVERIFIED (429 and
  5xx are retried as for stock).
- Field limits (``RULES.max_length``), counted by Yahoo! as 全角 characters (半角 = half):
  商品名 ``name`` 全角75文字（半角150文字） (third-party manuals, consistent: meetsc.co.jp,
  wasabi-inc.biz), キャッチコピー ``headline`` 全角30文字（半角60文字） (aldo-system.jp, third party),
  商品説明 ``caption`` 全角5,000文字: UNVERIFIED (no vendor page reached). The planner counts
  characters, so a half-width text is held to the 全角 limit: stricter than Yahoo!, never looser.
- Price belongs to the item (商品コード), not to each 個別商品コード: ``price`` is one item field in
  updateItems and in the CSV; per-subcode prices exist only through option settings that
  Ichigen does not manage. So every field, price included, is in ``item_fields``: rows of one
  item must agree on 販売価格（モール）.

Why 商品説明 is ``caption`` and not ``explanation``: ``caption`` is the long HTML-capable body of
the item page (the counterpart of 楽天 ``productDescription.pc`` and Shopify ``body_html``);
``explanation`` (商品情報) is a short plain-text field shown near the name and weighted by
Yahoo!'s search, which staff usually write for search. Ichigen leaves it, like every field it does
not manage, as it is.

Publishing. Outcomes of saved items are ``ok`` and ``pending`` (反映待ち) once reservePublish took
the request (Yahoo! applies it when its queue reaches it). When reservePublish fails the edits
are saved but not public: they stay ``ok`` and ``pending`` with ``PUBLISH_FAILED`` and Yahoo!'s
reason, because a new run would find nothing to change (getItem shows the saved values) and so
could not repair it; staff publish in ストアクリエイターPro. Refused credentials at that point are
reported the same way, not raised, so that the saved edits are not reported as lost.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

import requests

from sync.connectors import yahoo
from sync.connectors.listings_base import (
    FIELD_LABELS,
    ListingChange,
    ListingKey,
    ListingOutcome,
    ListingRules,
    MallListing,
    ReadResult,
    UploadFile,
    outcomes,
)
from sync.errors import MallAuthError, MallRejected, SyncError
from vocabulary.jst import JST

ITEM_CALLS_PER_SECOND = 1.0  # vendor: 1クエリ/秒 per URL; one bucket for all listing calls
UPDATE_BATCH = 100  # UNVERIFIED (client reference)
NOT_FOUND_CODES: tuple[str, ...] = ("it-00001",)  # UNVERIFIED placeholder (module docstring)
# Ichigen field -> updateItems parameter / item-CSV column; getItem element.
PARAMS = {"title": "name", "price": "price", "tagline": "headline", "description": "caption"}
ELEMENTS = {"title": "Name", "price": "Price", "tagline": "Headline", "description": "Caption"}
CREATE_IN_FILE = "Yahoo!では新しい商品はAPIで作れません。一括登録のファイルで作ってください"
PUBLISH_FAILED = (
    "Yahoo!に保存しましたが、公開の予約に失敗しました。ストアクリエイターProで「反映」してください"
)
# 商品コード / 個別商品コード: 半角英数字 and "-", at most 99 (setStock/getStock pages).
_CODE = re.compile(r"^[0-9A-Za-z-]{1,99}$")
# The 商品CSV's columns (developer.yahoo.co.jp/webapi/shopping/upload_format.html names; which
# of them a new item needs: path, name, code, price, product-category (必須 since 2022-12-07)).
CSV_COLUMNS = (
    "path",
    "name",
    "code",
    "sub-code",
    "options",
    "price",
    "headline",
    "caption",
    "product-category",
)
OPTION_NAME = "種類"  # the one option a multi-SKU item gets in the CSV (as 楽天's selector)

RULES = ListingRules(
    mall="Yahoo!",
    fields=("title", "price", "tagline", "description"),
    max_length={"title": 75, "tagline": 30, "description": 5000},
    length_unit="chars",
    max_price=999_999_999,  # UNVERIFIED for items (setStock's quantity range)
    category_for="create",
    category_label="カテゴリ（Yahoo!のプロダクトカテゴリID）",
    item_fields=("title", "price", "tagline", "description"),
    creates=False,
)
Settings = yahoo.Settings


class _Refused(Exception):
    """A 4xx other than auth and throttling: the answer, for its ``<Error><Code>``."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Listings(yahoo.Connector):
    """Yahoo! items as listings; one instance per ``[malls.<channel>]`` section."""

    def __init__(
        self,
        *args: Any,
        calls_per_second: float = ITEM_CALLS_PER_SECOND,
        not_found_codes: Sequence[str] = NOT_FOUND_CODES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rules = replace(RULES, mall=self.mall)
        self.calls = 0
        self._not_found = frozenset(not_found_codes)
        self._items_http = self._http.with_rate(calls_per_second, 1)

    # -- read

    def read(self, keys: Sequence[ListingKey]) -> ReadResult:
        """getItem once per 商品コード; every SKU of an item shows the item's values."""
        result = ReadResult()
        by_code: dict[str, list[ListingKey]] = {}
        for key in keys:
            by_code.setdefault(key.item_code, []).append(key)
        for code, code_keys in by_code.items():
            params = {"seller_id": self.settings.seller_id, "item_code": code}
            try:
                root = self._listing_call("GET", "getItem", params=params)
            except _Refused as refused:
                if self._is_not_found(refused.response):
                    result.missing.update(code_keys)
                else:
                    text = self._refusal_text(refused.response)
                    result.errors.update(dict.fromkeys(code_keys, text))
                continue
            item = root.find("Result") if root.tag == "ResultSet" else None
            if item is None:
                result.missing.update(code_keys)
                continue
            values: dict[str, Any] = {
                name: yahoo._text(item.findtext(element))
                for name, element in ELEMENTS.items()
                if name != "price"
            }
            price = yahoo._text(item.findtext(ELEMENTS["price"]))
            if not price.isdigit():
                result.errors.update(dict.fromkeys(code_keys, f"販売価格「{price}」を読めません"))
                continue
            values["price"] = int(price)
            result.found.update({k: MallListing(k, values) for k in code_keys})
        return result

    def _is_not_found(self, response: requests.Response) -> bool:
        return response.status_code == 404 or _error_code(response.text) in self._not_found

    # -- send

    def send(self, changes: Sequence[ListingChange]) -> list[ListingOutcome]:
        """updateItems with only the changed fields, ``UPDATE_BATCH`` items a call, then one
        reservePublish for everything saved. One outcome per (change, field), in order."""
        failed: dict[int, str] = {}
        by_code: dict[str, list[int]] = {}
        for index, change in enumerate(changes):
            if change.create:
                failed[index] = CREATE_IN_FILE
            else:
                by_code.setdefault(change.key.item_code, []).append(index)
        codes = list(by_code)
        stop = ""
        for start in range(0, len(codes), UPDATE_BATCH):
            batch = codes[start : start + UPDATE_BATCH]
            if stop:
                failed.update({i: stop for code in batch for i in by_code[code]})
                continue
            fields = {code: _item_fields(changes[i] for i in by_code[code]) for code in batch}
            try:
                refused = self._update(fields)
            except MallAuthError:
                raise
            except MallRejected as exc:  # the whole call refused: this batch, then the next
                refused = dict.fromkeys(batch, str(exc))
            except SyncError as exc:  # down or throttled past the retries: report the rest
                stop = str(exc)
                refused = dict.fromkeys(batch, stop)
            failed.update({i: text for code, text in refused.items() for i in by_code.get(code, ())})
        saved = [i for i in range(len(changes)) if i not in failed]
        published = self._publish() if saved else ""
        results: list[ListingOutcome] = []
        for index, change in enumerate(changes):
            if index in failed:
                results.extend(outcomes(change, ok=False, error=failed[index]))
            else:
                results.extend(outcomes(change, ok=True, error=published, pending=True))
        return results

    def _update(self, fields: dict[str, dict[str, str]]) -> dict[str, str]:
        """One updateItems call; the item codes Yahoo! refused, with its reason."""
        form = {"seller_id": self.settings.seller_id}
        for number, (code, values) in enumerate(fields.items(), start=1):
            form[f"item{number}"] = urlencode({"item_code": code, **values})
        try:
            # Setting the same values again changes nothing: safe to retry.
            root = self._listing_call("POST", "updateItems", data=form)
        except _Refused as refused:
            raise MallRejected(self._refusal_text(refused.response)) from None
        refused: dict[str, str] = {}
        for item in root.iter("Result"):
            code = yahoo._text(item.findtext("ItemCode"))
            error_code, message = yahoo._text(item.findtext("Code")), yahoo._text(item.findtext("Message"))
            if code in fields and (error_code or message):
                refused[code] = f"{self.mall}が受け付けませんでした（{error_code}）: {message}"
        status = yahoo._text(root.findtext("Status") or root.findtext("Result/Status"))
        if status and status != "OK" and not refused:  # NG without naming an item: all of them
            refused = dict.fromkeys(fields, f"{self.mall}が受け付けませんでした（Status: {status}）")
        return refused

    def _publish(self) -> str:
        """reservePublish now: "" when Yahoo! took it, else the text for the saved items."""
        form = {"seller_id": self.settings.seller_id, "mode": "1"}
        try:
            root = self._listing_call("POST", "reservePublish", data=form)
        except _Refused as refused:
            return f"{PUBLISH_FAILED}: {self._refusal_text(refused.response)}"
        except SyncError as exc:  # down, throttled, or credentials refused after the saves
            return f"{PUBLISH_FAILED}: {exc}"
        status = yahoo._text(root.findtext("Result/Status") or root.findtext("Status"))
        return "" if status == "OK" else f"{PUBLISH_FAILED}（Status: {status or '空'}）"

    # -- the 商品CSV for new items

    def upload_file(self, changes: Sequence[ListingChange]) -> UploadFile:
        """The 商品CSV for these new items (``data_csv``). No call to Yahoo!."""
        return data_csv(changes, today=self._clock().astimezone(JST).date())

    # -- HTTP

    def _listing_call(self, method: str, api: str, **kwargs: Any) -> ET.Element:
        """One listing call under the listing bucket, refreshing a refused token once."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}"}
            self.calls += 1
            try:
                response = self._items_http.request(
                    method, f"/{api}", headers=headers, hooks={"response": [self._listing_refusal]}, **kwargs
                )
            except yahoo._TokenRejected:
                if attempt == 2:
                    raise MallAuthError(
                        f"{self.mall}がアクセストークンを受け付けませんでした。YConnectの設定を確認してください"
                    ) from None
                self._token = None
                continue
            return yahoo.parse_xml(self.mall, response.content)
        raise AssertionError("unreachable")

    def _listing_refusal(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code in (401, 403):
            self._reject_with_reason(response)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise _Refused(response)

    def _refusal_text(self, response: requests.Response) -> str:
        reason = yahoo.error_reason(response.text)
        return f"{self.mall}が受け付けませんでした（HTTP {response.status_code}）: {reason}"


def data_csv(changes: Sequence[ListingChange], *, today: date) -> UploadFile:
    """The 商品CSV (data.csv) for these new items: one row per 商品コード, Shift_JIS (cp932)
    with CRLF, as ストアクリエイターPro's 商品アップロード takes it.

    Several SKUs of one item go in the row's ``options`` / ``sub-code`` as one option
    「種類」 whose values are the SKUs: ``options`` "種類 A B", ``sub-code``
    "種類:A=A&種類:B=B" (the single-file format of the item CSV as remembered from
    Yahoo!'s manual: UNVERIFIED; a public client writes the subcodes in a separate
    option CSV instead). Raises ValueError, in Japanese, for a code Yahoo! cannot take, a
    character cp932 cannot hold (naming the SKU and the character) or an item without price.
    """
    by_code: dict[str, list[ListingChange]] = {}
    for change in changes:
        if change.create:
            by_code.setdefault(change.key.item_code, []).append(change)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for code, group in by_code.items():
        row = _csv_row(code, group)
        for column, value in zip(CSV_COLUMNS, row, strict=True):
            _check_cp932(value, code, column, group)
        writer.writerow(row)
    return UploadFile(
        name=f"yahoo_data_{today:%Y%m%d}.csv",
        data=buffer.getvalue().encode("cp932"),
        mime="text/csv",
        how=(
            "ストアクリエイターProのトップページ「商品登録」の［商品管理］から商品データのアップロードを開き、"
            "「追加」でこのファイルをアップロードしてください。アップロードのあと「反映」するまで購入者には見えません。"
        ),
    )


def _item_fields(group: Any) -> dict[str, str]:
    """The updateItems parameters of one item: the fields its changes name."""
    fields: dict[str, str] = {}
    for change in group:
        for name, value in change.values.items():
            fields.setdefault(PARAMS[name], str(value))
    return fields


def _error_code(text: str) -> str:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return ""
    return yahoo._text(root.findtext("Code") if root.tag == "Error" else root.findtext(".//Error/Code"))


def _csv_row(code: str, group: list[ListingChange]) -> list[str]:
    first = group[0]
    merged: dict[str, Any] = {}
    for change in group:
        for name, value in change.values.items():
            merged.setdefault(name, value)
    # One SKU: an item without 個別商品コード (stock goes to the item code). Several: each SKU
    # is a 個別商品コード, so it must be a code Yahoo! takes.
    skus = [c.key.sku for c in group] if len(group) > 1 else []
    for name in [code, *skus]:
        if not _CODE.match(name):
            raise ValueError(
                f"商品コード・SKU「{name}」はYahoo!のコードとして使えません（半角英数字とハイフン、99文字まで）"
            )
    if "price" not in merged:
        raise ValueError(f"商品コード「{code}」（SKU「{first.key.sku}」）の販売価格がありません")
    options = f"{OPTION_NAME} " + " ".join(skus) if skus else ""
    sub_codes = "&".join(f"{OPTION_NAME}:{s}={s}" for s in skus)
    return [
        "",  # path (ストア内カテゴリ): Ichigen does not know the store's categories
        str(merged.get("title", "")),
        code,
        sub_codes,
        options,
        str(merged["price"]),
        str(merged.get("tagline", "")),
        str(merged.get("description", "")),
        first.category,
    ]


_COLUMN_LABELS = {
    "name": FIELD_LABELS["title"],
    "headline": FIELD_LABELS["tagline"],
    "caption": FIELD_LABELS["description"],
}


def _check_cp932(value: str, code: str, column: str, group: list[ListingChange]) -> None:
    try:
        value.encode("cp932")
    except UnicodeEncodeError as exc:
        char = value[exc.start]
        field = next((f for f, p in PARAMS.items() if p == column), "")
        sku = next((c.key.sku for c in group if field in c.values), group[0].key.sku)
        label = _COLUMN_LABELS.get(column, column)
        raise ValueError(
            f"SKU「{sku}」（商品コード「{code}」）の{label}に、Yahoo!の商品CSV（Shift_JIS）で使えない文字"
            f"「{char}」（U+{ord(char):04X}）があります。別の文字に直してください"
        ) from None
