"""The Yahoo! fake plus the item APIs 商品登録 uses: ``GET getItem``, ``POST updateItems`` and
``POST reservePublish`` (contract notes §7; request shapes from the vendor pages and JSPSystem's
client, response XML assembled).

The store keeps two views of every item: ``saved`` (what updateItems and editItem change, what
getItem shows) and ``published`` (what buyers see). Only reservePublish copies saved to
published (全反映), so a test can tell an edit reached buyers only after the publish.

- getItem: ``seller_id`` + ``item_code`` in the query → ``<ResultSet><Result>`` with ``ItemCode``,
  ``Name``, ``ProductCategory``, ``PathList/Path``, ``Price``, ``Headline``, ``Caption``,
  ``Explanation``.
- updateItems: form ``seller_id`` + ``item1…itemN``, each an urlencoded ``item_code=…&field=…``;
  only the fields given change. Failed items come back as ``Result`` (``ItemCode``, ``Code``,
  ``Message``) under a top-level ``Status`` NG; the others are saved.
- reservePublish: form ``seller_id``, ``mode`` 1 (reserve; no ``reserve_time`` = now), 2
  (cancel), 3 (check) → ``<Result><Status>OK</Status><ReserveTime>…``.

UNVERIFIED, settings of the fake:

* ``elements``: getItem's element names for ``headline`` / ``caption`` / ``explanation``.
* ``unknown_item``: what getItem answers for an item code the store does not have: "error"
  (``unknown_item_status`` 400 with ``<Error>`` code ``unknown_item_code``, a placeholder),
  "404", or "empty" (200, a ResultSet without Result).
* ``update_limit`` (100 items a call) and the error codes (placeholders ``it-0000n``).
* ``all_or_nothing``: one refused item keeps the whole updateItems call from saving (off).
* ``limits`` in half-width units (全角 = 2): ``name`` 150, ``headline`` 60, ``caption`` 10000.
* ``reject_items``: item code → (Code, Message) updateItems refuses it with.
* ``items_per_second`` (1.0, per API URL as the vendor's "同一URL…1クエリ/秒"); over it the
  stock fake's throttling reply (429 ``<Error>``) as that status is not published either.
* ``publish_refusal``: (Code, Message) reservePublish refuses with (HTTP 400 ``<Error>``);
  ``publish_queued``: a publish "now" waits in Yahoo!'s queue until ``run_queue()``.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.fakes.toolkit.limits import Spacing
from tests.fakes.toolkit.reply import Reply
from tests.fakes.yahoo_api import API_ROOT, JST, FakeYahoo, _ApiError, _xml_reply, error_xml

ITEM_APIS = {"getItem": "GET", "updateItems": "POST", "reservePublish": "POST"}
UPDATABLE = {"name", "price", "headline", "caption", "explanation", "path", "product_category"}


def width(text: str) -> int:
    """Yahoo!'s count: 半角 (ASCII, half-width katakana) 1, everything else 2."""
    return sum(1 if ord(c) < 0x80 or 0xFF61 <= ord(c) <= 0xFF9F else 2 for c in text)


class FakeYahooItems(FakeYahoo):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.saved: dict[str, dict[str, str]] = {}
        self.published: dict[str, dict[str, str]] = {}
        self.elements = {
            "name": "Name",
            "price": "Price",
            "headline": "Headline",
            "caption": "Caption",
            "explanation": "Explanation",
        }
        self.unknown_item = "error"
        self.unknown_item_status = 400
        self.unknown_item_code = "it-00001"
        self.update_limit = 100
        self.all_or_nothing = False
        self.limits = {"name": 150, "headline": 60, "caption": 10000}
        self.reject_items: dict[str, tuple[str, str]] = {}
        self.items_per_second: float | None = 1.0
        self.publish_refusal: tuple[str, str] | None = None
        self.publish_queued = False
        self.publishes: list[dict[str, str]] = []
        self.reserved = ""  # reserve_time of a publish waiting for its time ("now" when queued)
        self._item_spacing: dict[str, Spacing] = {}

    # -- the store

    def add_item(self, code: str, name: str, price: int, **fields: str) -> dict[str, str]:
        """A saved and published item; ``fields`` may set headline, caption, explanation, path."""
        item = {
            "name": name,
            "price": str(price),
            "headline": "",
            "caption": "",
            "explanation": "商品情報（Ichigenは触りません）",
            "path": "トップス",
            "product_category": "1234",
            **fields,
        }
        with self._lock:
            self.saved[code] = item
            self.published[code] = dict(item)
        return dict(item)

    def item(self, code: str) -> dict[str, str]:
        with self._lock:
            return dict(self.saved[code])

    def public(self, code: str) -> dict[str, str]:
        with self._lock:
            return dict(self.published[code])

    def run_queue(self) -> None:
        """Yahoo!'s publish queue reaches a waiting publish (or its reserve_time comes)."""
        with self._lock:
            if self.reserved:
                self._publish_all()

    # -- dispatch: the item APIs first, the stock and order fake for the rest

    def _serve(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        split = urlsplit(target)
        if method == "GET" and split.path == API_ROOT + "getItem":
            body = split.query.encode("utf-8")  # recorded and read like a form
        return super()._serve(method, target, headers, body)

    def _answer(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        api = path.removeprefix(API_ROOT)
        if api not in ITEM_APIS:
            return super()._answer(method, path, headers, body)
        if method != ITEM_APIS[api]:
            raise _ApiError(404, "Not Found", "404")
        self._check_bearer(headers)
        faulted = self._faulted(path)
        if faulted is not None:
            return faulted
        if not self._admit_item(api):
            return Reply(429, error_xml("Too Many Requests", "429"))
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        if form.get("seller_id") != [self.seller_id]:
            raise _ApiError(400, "SellerID is not specified", "px-04001")
        with self._lock:
            if api == "getItem":
                return self._get_item((form.get("item_code") or [""])[0])
            if api == "updateItems":
                return self._update_items(form)
            return self._reserve_publish(form)

    def _admit_item(self, api: str) -> bool:
        if self.items_per_second is None:
            return True
        with self._lock:
            spacing = self._item_spacing.setdefault(api, Spacing())
            return spacing.admit(self.bucket_clock(), 1.0 / self.items_per_second)

    # -- APIs

    def _get_item(self, code: str) -> Reply:
        item = self.saved.get(code)
        if item is None:
            if self.unknown_item == "empty":
                return _result_set([])
            status = 404 if self.unknown_item == "404" else self.unknown_item_status
            raise _ApiError(status, f"Item not found: {code}", self.unknown_item_code)
        cells = [f"<ItemCode>{escape(code)}</ItemCode>"]
        for name in ("name", "price", "headline", "caption", "explanation"):
            element = self.elements[name]
            cells.append(f"<{element}>{escape(item[name])}</{element}>")
        cells.append(f"<ProductCategory>{escape(item['product_category'])}</ProductCategory>")
        cells.append(f"<PathList><Path>{escape(item['path'])}</Path></PathList>")
        return _result_set(["".join(cells)])

    def _update_items(self, form: dict[str, list[str]]) -> Reply:
        entries = sorted(
            ((int(k[4:]), v[0]) for k, v in form.items() if k.startswith("item") and k[4:].isdigit()),
        )
        if not entries or len(entries) > self.update_limit:
            raise _ApiError(400, f"Invalid Parameter: item1 to item{self.update_limit}", "it-00002")
        errors: list[tuple[str, str, str]] = []
        changes: dict[str, dict[str, str]] = {}
        for _, entry in entries:
            fields = {k: v[0] for k, v in parse_qs(entry, keep_blank_values=True).items()}
            code = fields.pop("item_code", "")
            problem = self._item_problem(code, fields)
            if problem:
                errors.append((code, *problem))
            else:
                changes[code] = fields
        if not (errors and self.all_or_nothing):
            for code, fields in changes.items():
                self.saved[code].update(fields)
        status = "NG" if errors else "OK"
        results = "".join(
            f"<Result><ItemCode>{escape(c)}</ItemCode><Code>{escape(e)}</Code><Message>{escape(m)}</Message></Result>"
            for c, e, m in errors
        )
        return _xml_reply(
            f'<ResultSet totalResultsAvailable="{len(errors)}" totalResultsReturned="{len(errors)}" '
            f'firstResultPosition="1"><Status>{status}</Status>{results}</ResultSet>'
        )

    def _item_problem(self, code: str, fields: dict[str, str]) -> tuple[str, str] | None:
        if code not in self.saved:
            return ("it-00003", f"Item not found: {code}")
        if code in self.reject_items:
            return self.reject_items[code]
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            return ("it-00004", f"Invalid Parameter: {unknown[0]}")
        price = fields.get("price")
        if price is not None and not (price.isdigit() and 0 <= int(price) <= 999_999_999):
            return ("it-00005", f"Invalid Parameter: price ({price})")
        for name, limit in self.limits.items():
            if name in fields and width(fields[name]) > limit:
                return ("it-00006", f"Too long: {name} (max {limit} bytes)")
        return None

    def _reserve_publish(self, form: dict[str, list[str]]) -> Reply:
        mode = (form.get("mode") or [""])[0]
        reserve_time = (form.get("reserve_time") or [""])[0]
        if mode not in ("1", "2", "3"):
            raise _ApiError(400, "Invalid Parameter: mode", "pb-00001")
        if self.publish_refusal is not None:
            raise _ApiError(400, self.publish_refusal[1], self.publish_refusal[0])
        self.publishes.append({"mode": mode, "reserve_time": reserve_time})
        if mode == "1" and not reserve_time and not self.publish_queued:
            self._publish_all()
        elif mode == "1":
            self.reserved = reserve_time or "now"
        elif mode == "2":
            self.reserved = ""
        shown = self.clock().astimezone(JST).isoformat(timespec="seconds") if mode == "1" else self.reserved
        return _result_set([f"<Status>OK</Status><ReserveTime>{escape(shown)}</ReserveTime>"])

    def _publish_all(self) -> None:
        self.published = copy.deepcopy(self.saved)
        self.reserved = ""


def _result_set(results: list[str]) -> Reply:
    body = "".join(f"<Result>{r}</Result>" for r in results)
    return _xml_reply(
        f'<ResultSet totalResultsAvailable="{len(results)}" totalResultsReturned="{len(results)}" '
        f'firstResultPosition="1">{body}</ResultSet>'
    )
