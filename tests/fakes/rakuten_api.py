"""A loopback fake of 楽天 RMS WEB SERVICE: the RakutenPayOrderAPI and Inventory API 2.0 calls
Ichigen's connector makes, over real HTTP.

Written from the RMS pages as reproduced in the development workspace's contract notes:
``ESA Base64(serviceSecret:licenseKey)`` on every call; order calls are ``POST`` JSON on paths
ending in a slash; times are JST ``yyyy-MM-ddTHH:mm:ss+0900`` (no colon: anything else fails
with ``…_ERROR_011``); searchOrder needs ``dateType``, allows at most 63 days between start and
end, starts at most 730 days back, pages of 1…1000 (``PaginationRequestModel``), answers at most
15,000 results, sorts by 注文日時 only; ``PaginationResponseModel`` values are ``null`` for no
results; getOrder takes at most 100 numbers and a ``version`` 3…10 (SKU fields from 7);
errors are ``MessageModelList`` ERROR entries (HTTP 400, or 200 per order); updateOrderShipping
wants ``deliveryCompany`` codes, ``shippingDate`` ``yyyy-MM-dd``, ≤ 20 entries per basket and
``shippingNumber`` ≤ 120 characters; ``inventories/bulk-upsert`` takes ≤ 400 entries at 1
request/s and answers 204, or 400 ``{"errors":[{code, message, metadata.propertyPath}]}``.

Guesses, kept easy to change (UNVERIFIED: no vendor statement found):

* The auth failure: HTTP 401 with ``{"Results":{"errorCode":"ES04-01","message":…}}`` (third-
  party client code reads that shape).
* What searchOrder does above 15,000 results: here ``totalRecordsAmount`` is the true count and
  records after the 15,000th are never listed.
* The message codes for a window over 63 days, a start over 730 days back, a bad page size,
  getOrder over 100 numbers or without ``version``, an unknown order number; the Inventory API
  codes for a batch over 400 and its 429 body.
* That registering a shipping date and number on a 発送待ち order makes it 発送済 (500) and sets
  ``shippingCmplRptDatetime`` (``progress_after_shipping`` changes the 500; 600 支払手続き中 and
  700 支払手続き済 follow at RMS's pace: ``set_progress``); and the ChangeReasonModel field names a
  cancellation adds.
* Which orderProgress accepts updateOrderShipping (contract §6: UNVERIFIED; clients call it after
  confirmOrder, at 300): ``shipping_progress`` = {300} here, 400/500 may be added for tracking
  corrections. Any other progress is refused with HTTP 400 and the ERROR entry
  ``shipping_refused_code`` (default ``ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_002``: the code
  RMS gave Ichigen for an order still at 100, as reported in the trust issue; its text is ours).
* confirmOrder (contract §3: ≤ 100 ``orderNumberList``, INFO ``ORDER_EXT_API_CONFIRM_ORDER_INFO_101``
  with ``orderNumber`` per order, 100 注文確認待ち → 300 発送待ち): what it answers for an order
  not at 100 (already confirmed) is not stated anywhere. ``reconfirm_answer = "info"`` repeats
  INFO_101 and changes nothing; ``"error"`` gives a per-order ERROR entry
  (``reconfirm_error_code``) on HTTP ``confirm_error_status`` (200 like getOrder, or 400).
  Unknown numbers get a per-order ERROR entry the same way.
* getOrder with an unknown number: HTTP 200 with a per-order ERROR entry (``orderNumber`` set)
  and the known orders in ``OrderModelList`` (third-party clients check messages per order);
  ``unknown_order_status = 400`` makes the fake refuse the whole call instead, naming the
  unknown numbers only.
"""

from __future__ import annotations

import base64
import copy
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.fakes.toolkit.clock import wall_clock
from tests.fakes.toolkit.faults import FaultInjection, Faults
from tests.fakes.toolkit.limits import Spacing
from tests.fakes.toolkit.reply import Reply, dropped
from tests.fakes.toolkit.requests_log import Recorded, RequestLog, json_body
from tests.fakes.toolkit.routes import Routes
from tests.fakes.toolkit.server import LoopbackServer

JST = timezone(timedelta(hours=9), "JST")
SHOP_ID = "123456"
DEFAULT_SECRET = "SP123456_ichigen_secret"
DEFAULT_LICENSE = "SL123456_ichigen_license"
ORDER_ROOT = "/es/2.0/order/"
SEARCH = ORDER_ROOT + "searchOrder/"
GET = ORDER_ROOT + "getOrder/"
SHIPPING = ORDER_ROOT + "updateOrderShipping/"
CONFIRM = ORDER_ROOT + "confirmOrder/"
BULK_UPSERT = "/es/2.0/inventories/bulk-upsert"
BULK_GET = "/es/2.0/inventories/bulk-get"
RESULT_CAP = 15_000
MAX_WINDOW = timedelta(days=63)
DELIVERY_COMPANY_CODES = frozenset(str(c) for c in range(1000, 1032))
_RMS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0900$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INVENTORY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
AUTH_ERROR_BODY = {"Results": {"errorCode": "ES04-01", "message": "Unauthorized"}}
THROTTLED_BODY = {"errors": [{"code": "GE0009", "message": "Too Many Requests"}]}
_MALFORMED_BODY = b"<html><body><h1>RMS \xe3\x83\xa1\xe3\x83\xb3\xe3\x83\x86\xe3\x83\x8a\xe3\x83\xb3\xe3\x82\xb9\xe4\xb8\xad</h1></body></html>"
# dateType → the OrderModel datetime it searches (4 発送日 and 6 決済確定日 are not modelled).
_DATE_FIELDS = {
    1: "orderDatetime",
    2: "shopOrderCfmDatetime",
    3: "orderFixDatetime",
    5: "shippingCmplRptDatetime",
}


def rms_time(at: datetime) -> str:
    return at.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S+0900")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def esa(secret: str, license_key: str) -> str:
    return "ESA " + base64.b64encode(f"{secret}:{license_key}".encode()).decode()


@dataclass(frozen=True)
class Item:
    """A 楽天 item with SKU (after the SKU migration): 商品管理番号 + SKU管理番号."""

    manage_number: str
    variant_id: str
    name: str
    price: int  # yen, tax included
    merchant_sku: str = ""  # システム連携用SKU番号
    item_number: str = ""  # 商品番号 (older shops: 商品番号 + 選択肢ID)


@dataclass(frozen=True)
class Buyer:
    family: str
    first: str
    zip1: str
    zip2: str
    prefecture: str
    city: str
    sub: str
    phone: tuple[str, str, str]


BUYERS = (
    Buyer("楽天", "太郎", "158", "0094", "東京都", "世田谷区", "玉川1-14-1", ("090", "1111", "2222")),
    Buyer("山田", "花子", "530", "0001", "大阪府", "大阪市北区", "梅田2-4-9", ("06", "1234", "5678")),
)


class RecordedRequest(Recorded):
    @property
    def authorization(self) -> str | None:  # ``ESA Base64(serviceSecret:licenseKey)``
        return self.token


def _messages(*entries: tuple[str, str, str], **extra: Any) -> list[dict]:
    return [{"messageType": t, "messageCode": c, "message": m, **extra} for t, c, m in entries]


def _order_error(code: str, message: str) -> Reply:
    return Reply(400, {"MessageModelList": _messages(("ERROR", code, message))})


class FakeRakuten(FaultInjection, LoopbackServer):
    """In-memory RMS shop on 127.0.0.1; see the module docstring for what it covers.

    Faults (``inject``) apply after the auth check: 429 answers with the throttle body, other
    statuses with ``GE0001``, "malformed" with an RMS maintenance page.
    """

    malformed_page = _MALFORMED_BODY

    def __init__(
        self,
        *,
        service_secret: str = DEFAULT_SECRET,
        license_key: str = DEFAULT_LICENSE,
        clock: Callable[[], datetime] | None = None,
        bucket_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.service_secret = service_secret
        self.license_key = license_key
        self.license_expired = False
        self.clock: Callable[[], datetime] = clock or wall_clock(JST)
        self.bucket_clock = bucket_clock
        self.timeout_delay = 2.0
        # searchOrder lists at most this many results (15,000); tests may lower it.
        self.result_cap = RESULT_CAP
        # getOrder with unknown numbers: 200 (per-order ERROR entries) or 400 (whole call refused).
        self.unknown_order_status = 200
        # Progress rules (see the module docstring for what is UNVERIFIED).
        self.shipping_progress: set[int] = {300}
        self.shipping_refused_code = "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_002"
        self.progress_after_shipping = 500
        self.reconfirm_answer = "info"  # or "error"
        self.reconfirm_error_code = "ORDER_EXT_API_CONFIRM_ORDER_ERROR_004"
        self.confirm_error_status = 200
        # Confirm the orders but drop the answer (the connection closes): a lost reply.
        self.lose_confirm_answers = 0
        self.requests = RequestLog()
        self.faults = Faults()
        self.inventory: dict[tuple[str, str], int] = {}
        self._inventory_spacing = Spacing()
        self._read_spacing = Spacing()
        self._orders: dict[str, dict] = {}
        self._sequence = 0
        self._ids = 10_000_000
        self._message_faults: list[tuple[str, list[dict]]] = []
        self._routes = Routes(
            {
                ("POST", SEARCH): self._search,
                ("POST", GET): self._get,
                ("POST", SHIPPING): self._ship,
                ("POST", CONFIRM): self._confirm,
                ("POST", BULK_UPSERT): self._bulk_upsert,
                ("POST", BULK_GET): self._bulk_get,
            }
        )

    # -- orders

    def _new_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_order(
        self,
        lines: Sequence[tuple[Item, int]],
        *,
        at: datetime | None = None,
        buyer: int = 0,
        progress: int = 100,
        with_sku: bool = True,
        postage: int = 0,
    ) -> dict:
        """A new order as getOrder (version ≥ 7) shows it; returns a copy."""
        with self._lock:
            at = (at or self.clock()).astimezone(JST)
            self._sequence += 1
            number = f"{SHOP_ID}-{at:%Y%m%d}-{self._sequence:08d}"
            who = BUYERS[buyer % len(BUYERS)]
            person = {
                "zipCode1": who.zip1,
                "zipCode2": who.zip2,
                "prefecture": who.prefecture,
                "city": who.city,
                "subAddress": who.sub,
                "familyName": who.family,
                "firstName": who.first,
                "familyNameKana": "",
                "firstNameKana": "",
                "phoneNumber1": who.phone[0],
                "phoneNumber2": who.phone[1],
                "phoneNumber3": who.phone[2],
            }
            goods = sum(item.price * units for item, units in lines)
            items = [
                {
                    "itemDetailId": self._new_id(),
                    "itemName": item.name,
                    "itemId": self._new_id(),
                    "itemNumber": item.item_number or item.manage_number,
                    "manageNumber": item.manage_number,
                    "price": item.price,
                    "units": units,
                    "includePostageFlag": 0,
                    "includeTaxFlag": 1,
                    "selectedChoice": None,
                    "deleteItemFlag": 0,
                    "taxRate": 0.1,
                    "priceTaxIncl": item.price,
                    "SkuModelList": (
                        [
                            {
                                "variantId": item.variant_id,
                                "merchantDefinedSkuId": item.merchant_sku or None,
                                "skuInfo": "",
                            }
                        ]
                        if with_sku
                        else []
                    ),
                }
                for item, units in lines
            ]
            order = {
                "orderNumber": number,
                "orderProgress": progress,
                "subStatusId": None,
                "subStatusName": None,
                "orderDatetime": rms_time(at),
                "shopOrderCfmDatetime": None,
                "orderFixDatetime": None,
                "shippingInstDatetime": None,
                "shippingCmplRptDatetime": None,
                "remarks": "[配送日時指定:]\nなし",
                "memo": None,
                "goodsPrice": goods,
                "goodsTax": -9999,
                "postagePrice": postage,
                "deliveryPrice": 0,
                "paymentCharge": 0,
                "totalPrice": goods + postage,
                "requestPrice": goods + postage,
                "OrdererModel": {**person, "emailAddress": "masked@pc.fw.rakuten.ne.jp"},
                "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード"},
                "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 0},
                "PackageModelList": [
                    {
                        "basketId": self._new_id(),
                        "postagePrice": postage,
                        "goodsPrice": goods,
                        "totalPrice": goods + postage,
                        "packageDeleteFlag": 0,
                        "SenderModel": {**person, "isolatedIslandFlag": 0},
                        "ItemModelList": items,
                        "ShippingModelList": [],
                        "defaultDeliveryCompanyCode": "1001",
                    }
                ],
                "ChangeReasonModelList": [],
            }
            self._orders[number] = order
            return copy.deepcopy(order)

    def order(self, number: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._orders[number])

    def set_progress(self, number: str, progress: int, *, at: datetime | None = None) -> None:
        """Move an order on as RMS does, stamping the datetime that step records."""
        with self._lock:
            order = self._orders[number]
            stamp = rms_time(at or self.clock())
            order["orderProgress"] = progress
            if progress >= 200 and not order["shopOrderCfmDatetime"]:
                order["shopOrderCfmDatetime"] = stamp
            if progress >= 300 and not order["orderFixDatetime"]:
                order["orderFixDatetime"] = order["shippingInstDatetime"] = stamp
            if progress >= 500 and not order["shippingCmplRptDatetime"]:
                order["shippingCmplRptDatetime"] = stamp

    def cancel_order(self, number: str, *, at: datetime | None = None) -> None:
        """A cancellation fixed in RMS: orderProgress 900 and a ChangeReasonModel (type 0)."""
        with self._lock:
            order = self._orders[number]
            stamp = rms_time(at or self.clock())
            order["orderProgress"] = 900
            order["ChangeReasonModelList"].append(
                {
                    "changeId": self._new_id(),
                    "changeType": 0,  # キャンセル
                    "changeTypeDetail": 0,
                    "changeReason": 1,
                    "changeReasonDetail": 1,
                    "changeApplyDatetime": stamp,
                    "changeFixDatetime": stamp,
                    "changeCmplDatetime": stamp,
                }
            )

    # -- faults and accounting

    def inject_messages(self, path: str, *messages: tuple[str, str, str]) -> None:
        """The next call to `path` answers HTTP 200 carrying these (type, code, message)."""
        with self._lock:
            self._message_faults.append((path, _messages(*messages)))

    def clear_faults(self) -> None:
        super().clear_faults()
        with self._lock:
            self._message_faults.clear()

    def calls(self, path: str) -> list[RecordedRequest]:
        return self.requests.where(path=path)

    # -- dispatch

    def _fault_reply(self, status: int, key: str) -> Reply:
        if status == 429:
            return Reply(429, THROTTLED_BODY)
        return Reply(status, {"errors": [{"code": "GE0001", "message": "Internal Server Error"}]})

    def _bug_reply(self, error: Exception) -> Reply:
        return Reply(500, {"errors": [{"code": "FAKE", "message": repr(error)}]})

    def _serve(self, method: str, target: str, headers: Any, raw: bytes) -> Reply:
        body, bad_json = json_body(raw)
        record = self.requests.record(RecordedRequest.of(method, target, headers, body))
        reply = self._answer(method, record.path, headers, body, bad_json is not None)
        record.status = reply.status
        return reply

    def _answer(self, method: str, path: str, headers: Any, body: Any, bad_json: bool) -> Reply:
        if headers.get("Authorization") != esa(self.service_secret, self.license_key) or self.license_expired:
            return Reply(401, AUTH_ERROR_BODY)
        faulted = self._faulted(path)
        if faulted is not None:
            return faulted
        with self._lock:
            for i, (fault_path, messages) in enumerate(self._message_faults):
                if fault_path == path:
                    del self._message_faults[i]
                    return Reply(200, {"MessageModelList": messages, "orderNumberList": None})
        if method != "POST":
            return Reply(405, {"errors": [{"code": "GE0005", "message": "Method Not Allowed"}]})
        if bad_json or not isinstance(body, dict):
            return _order_error("ORDER_EXT_API_COMMON_ERROR_001", "リクエストの形式が不正です。")
        route = self._routes.match(method, path)
        if route is not None:
            with self._lock:
                return route[0](body)
        return Reply(404, {"errors": [{"code": "GE0014", "message": "Not Found"}]})

    def _search(self, body: dict) -> Reply:
        errors = []
        date_type = body.get("dateType")
        if date_type is None:
            errors.append(
                ("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_009", "dateTypeの項目を指定して下さい。")
            )
        elif date_type not in range(1, 7):
            errors.append(("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_010", "dateTypeの値が不正です。"))
        for name, code in (("startDatetime", "011"), ("endDatetime", "012")):
            if not _RMS_TIME.match(str(body.get(name) or "")):
                errors.append(
                    ("ERROR", f"ORDER_EXT_API_SEARCH_ORDER_ERROR_{code}", f"{name}の書式が不正です。")
                )
        paging = body.get("PaginationRequestModel") or {}
        amount = paging.get("requestRecordsAmount", 30)
        page = paging.get("requestPage", 1)
        if not isinstance(amount, int) or not 1 <= amount <= 1000:
            errors.append(
                ("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_023", "requestRecordsAmountの値が不正です。")
            )
        if not isinstance(page, int) or page < 1:
            errors.append(("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_024", "requestPageの値が不正です。"))
        for sort in paging.get("SortModelList") or ():
            if sort.get("sortColumn") != 1 or sort.get("sortDirection") not in (1, 2):
                errors.append(
                    ("ERROR", "ORDER_EXT_API_SEARCH_ORDER_ERROR_025", "SortModelListの値が不正です。")
                )
        if errors:
            return Reply(
                400,
                {
                    "orderNumberList": None,
                    "MessageModelList": _messages(*errors),
                    "PaginationResponseModel": None,
                },
            )
        start, end = _parse(body["startDatetime"]), _parse(body["endDatetime"])
        if end - start > MAX_WINDOW or end < start:
            return _order_error(
                "ORDER_EXT_API_SEARCH_ORDER_ERROR_016",
                "endDatetimeはstartDatetimeから63日以内で指定してください。",
            )
        if start < self.clock() - timedelta(days=730):
            return _order_error(
                "ORDER_EXT_API_SEARCH_ORDER_ERROR_015", "startDatetimeは730日以内で指定してください。"
            )
        name = _DATE_FIELDS.get(date_type)
        hits = [
            o
            for o in self._orders.values()
            if name
            and o.get(name)
            and start <= _parse(o[name]) <= end
            and (not body.get("orderProgressList") or o["orderProgress"] in body["orderProgressList"])
        ]
        descending = any(s.get("sortDirection") == 2 for s in paging.get("SortModelList") or ())
        hits.sort(key=lambda o: (_parse(o["orderDatetime"]), o["orderNumber"]), reverse=descending)
        total = len(hits)
        if not total:
            return Reply(
                200,
                {
                    "orderNumberList": [],
                    "MessageModelList": _messages(
                        (
                            "INFO",
                            "ORDER_EXT_API_SEARCH_ORDER_INFO_102",
                            "注文検索に成功しました。(検索結果０件)",
                        )
                    ),
                    "PaginationResponseModel": {
                        "totalRecordsAmount": None,
                        "totalPages": None,
                        "requestPage": None,
                    },
                },
            )
        listed = hits[: self.result_cap][(page - 1) * amount : page * amount]
        return Reply(
            200,
            {
                "orderNumberList": [o["orderNumber"] for o in listed],
                "MessageModelList": _messages(
                    ("INFO", "ORDER_EXT_API_SEARCH_ORDER_INFO_101", "注文検索に成功しました。")
                ),
                "PaginationResponseModel": {
                    "totalRecordsAmount": total,
                    "totalPages": -(-total // amount),
                    "requestPage": page,
                },
            },
        )

    def _get(self, body: dict) -> Reply:
        numbers = body.get("orderNumberList")
        version = body.get("version")
        if not isinstance(numbers, list) or not 1 <= len(numbers) <= 100:
            return _order_error(
                "ORDER_EXT_API_GET_ORDER_ERROR_002", "orderNumberListは1件以上100件以下で指定してください。"
            )
        if not isinstance(version, int) or not 3 <= version <= 10:
            return _order_error("ORDER_EXT_API_GET_ORDER_ERROR_014", "versionの値が不正です。")
        unknown = [n for n in numbers if n not in self._orders]
        if unknown and self.unknown_order_status != 200:
            errors = [
                m
                for n in unknown
                for m in _messages(
                    ("ERROR", "ORDER_EXT_API_GET_ORDER_ERROR_003", "注文が存在しません。"), orderNumber=n
                )
            ]
            return Reply(self.unknown_order_status, {"MessageModelList": errors})
        messages, models = [], []
        for number in numbers:
            order = self._orders.get(number)
            if order is None:
                messages += _messages(
                    ("ERROR", "ORDER_EXT_API_GET_ORDER_ERROR_003", "注文が存在しません。"), orderNumber=number
                )
                continue
            model = copy.deepcopy(order)
            if version < 7:  # SKU fields came with version 7
                for package in model["PackageModelList"]:
                    for item in package["ItemModelList"]:
                        item.pop("SkuModelList", None)
            models.append(model)
            messages += _messages(
                ("INFO", "ORDER_EXT_API_GET_ORDER_INFO_101", "受注情報取得に成功しました。"),
                orderNumber=number,
            )
        return Reply(200, {"MessageModelList": messages, "OrderModelList": models})

    def _ship(self, body: dict) -> Reply:
        order = self._orders.get(str(body.get("orderNumber")))
        if order is None:
            return _order_error("ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_003", "注文が存在しません。")
        if order["orderProgress"] not in self.shipping_progress:
            return _order_error(
                self.shipping_refused_code,
                f"注文ステータス（{order['orderProgress']}）が発送情報を登録できる状態ではありません。",
            )
        baskets = {p["basketId"]: p for p in order["PackageModelList"]}
        errors: list[dict] = []
        entries: list[tuple[dict, dict]] = []
        number = 0
        for basket in body.get("BasketidModelList") or ():
            package = baskets.get(basket.get("basketId"))
            shipping = basket.get("ShippingModelList") or []
            if package is None or len(shipping) > 20:
                errors += _messages(
                    ("ERROR", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_005", "basketIdの値が不正です。")
                )
                continue
            for entry in shipping:
                number += 1
                problems = []
                if str(entry.get("deliveryCompany")) not in DELIVERY_COMPANY_CODES:
                    problems.append("deliveryCompanyの書式が不正です。")
                if entry.get("shippingDate") is not None and not _DATE.match(str(entry["shippingDate"])):
                    problems.append("shippingDateの書式が不正です。")
                if len(str(entry.get("shippingNumber") or "")) > 120:
                    problems.append("shippingNumberは120文字以内で指定してください。")
                for problem in problems:
                    errors += _messages(
                        ("ERROR", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_011", problem),
                        dataNumber=number,
                        shippingDetailId=entry.get("shippingDetailId"),
                    )
                entries.append((package, entry))
        if errors or not entries:
            return Reply(
                400,
                {
                    "MessageModelList": errors
                    or _messages(
                        (
                            "ERROR",
                            "ORDER_EXT_API_UPDATE_ORDERSHIPPING_ERROR_001",
                            "BasketidModelListを指定して下さい。",
                        )
                    )
                },
            )
        messages = []
        for data_number, (package, entry) in enumerate(entries, start=1):
            detail = self._new_id()
            package["ShippingModelList"].append(
                {
                    "shippingDetailId": detail,
                    "shippingNumber": entry.get("shippingNumber"),
                    "deliveryCompany": str(entry["deliveryCompany"]),
                    "deliveryCompanyName": None,
                    "shippingDate": entry.get("shippingDate"),
                }
            )
            messages += _messages(
                ("INFO", "ORDER_EXT_API_UPDATE_ORDERSHIPPING_INFO_101", "発送情報の追加設定が完了しました。"),
                dataNumber=data_number,
                shippingDetailId=detail,
            )
            if order["orderProgress"] == 300 and entry.get("shippingDate") and entry.get("shippingNumber"):
                self.set_progress(order["orderNumber"], self.progress_after_shipping)
        return Reply(200, {"MessageModelList": messages})

    def _confirm(self, body: dict) -> Reply:
        numbers = body.get("orderNumberList")
        if not isinstance(numbers, list) or not 1 <= len(numbers) <= 100:
            return _order_error(
                "ORDER_EXT_API_CONFIRM_ORDER_ERROR_001",
                "orderNumberListは1件以上100件以下で指定してください。",
            )
        messages: list[dict] = []
        refused = False
        for number in numbers:
            order = self._orders.get(str(number))
            if order is None:
                refused = True
                messages += _messages(
                    ("ERROR", "ORDER_EXT_API_CONFIRM_ORDER_ERROR_003", "注文が存在しません。"),
                    orderNumber=number,
                )
            elif order["orderProgress"] == 100:
                self.set_progress(order["orderNumber"], 300)
                messages += _messages(
                    ("INFO", "ORDER_EXT_API_CONFIRM_ORDER_INFO_101", "注文確認に成功しました。"),
                    orderNumber=number,
                )
            elif self.reconfirm_answer == "error":
                refused = True
                messages += _messages(
                    ("ERROR", self.reconfirm_error_code, "注文確認待ちの注文ではありません。"),
                    orderNumber=number,
                )
            else:
                messages += _messages(
                    ("INFO", "ORDER_EXT_API_CONFIRM_ORDER_INFO_101", "注文確認に成功しました。"),
                    orderNumber=number,
                )
        if self.lose_confirm_answers > 0:
            self.lose_confirm_answers -= 1
            return dropped()
        return Reply(self.confirm_error_status if refused else 200, {"MessageModelList": messages})

    def _bulk_get(self, body: dict) -> Reply:
        """inventories.bulk.get (contract §6): ≤ 1000 pairs, 5 requests/s; pairs RMS does not
        have are absent from the answer, no error; manageNumber is matched lower-cased."""
        if not self._read_spacing.admit(self.bucket_clock(), 1.0 / 5):
            return Reply(429, THROTTLED_BODY)
        entries = body.get("inventories")
        if not isinstance(entries, list) or not 1 <= len(entries) <= 1000:
            error = {"code": "IE0001", "message": "inventories must contain 1 to 1000 items."}
            return Reply(400, {"errors": [error | {"metadata": {"propertyPath": "inventories"}}]})
        found = []
        for entry in entries:
            key = (str(entry.get("manageNumber", "")).lower(), str(entry.get("variantId", "")))
            if key in self.inventory:
                found.append(
                    {
                        "manageNumber": key[0],
                        "variantId": key[1],
                        "quantity": self.inventory[key],
                        "created": "2026-01-05T10:00:00+09:00",
                        "updated": self.clock().astimezone(JST).isoformat(timespec="seconds"),
                    }
                )
        return Reply(200, {"inventories": found})

    def _bulk_upsert(self, body: dict) -> Reply:
        now = self.bucket_clock()
        # Inventory API 2.0: 1 request per second for bulk-upsert.
        if not self._inventory_spacing.admit(now, 1.0):
            return Reply(429, THROTTLED_BODY)
        entries = body.get("inventories")
        if not isinstance(entries, list) or not 1 <= len(entries) <= 400:
            return Reply(
                400,
                {
                    "errors": [
                        {
                            "code": "IE0001",
                            "message": "inventories must contain 1 to 400 items.",
                            "metadata": {"propertyPath": "inventories"},
                        }
                    ]
                },
            )
        errors = []
        for i, entry in enumerate(entries):
            for key in ("manageNumber", "variantId"):
                value = entry.get(key)
                if not isinstance(value, str) or not _INVENTORY_KEY.match(value):
                    errors.append(
                        {
                            "code": "IE0004",
                            "message": f"Max length of {key} must be within 32 bytes.",
                            "metadata": {"propertyPath": f"inventories[{i}].{key}"},
                        }
                    )
            if entry.get("mode") not in ("ABSOLUTE", "RELATIVE"):
                errors.append(
                    {
                        "code": "IE0002",
                        "message": f"mode has an invalid value : {entry.get('mode')}.",
                        "metadata": {"propertyPath": f"inventories[{i}].mode"},
                    }
                )
            quantity = entry.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                errors.append(
                    {
                        "code": "IE0002",
                        "message": f"quantity has an invalid value : {quantity}.",
                        "metadata": {"propertyPath": f"inventories[{i}].quantity"},
                    }
                )
            elif entry.get("mode") == "ABSOLUTE" and not 0 <= quantity <= 99_999:
                errors.append(
                    {
                        "code": "IE0003",
                        "message": "quantity must be between 0 and 99999.",
                        "metadata": {"propertyPath": f"inventories[{i}].quantity"},
                    }
                )
        if errors:
            return Reply(400, {"errors": errors})
        for entry in entries:
            key = (entry["manageNumber"].lower(), entry["variantId"])  # manageNumber is lower-cased
            base = self.inventory.get(key, 0) if entry["mode"] == "RELATIVE" else 0
            self.inventory[key] = base + entry["quantity"]
        return Reply(204, None)
