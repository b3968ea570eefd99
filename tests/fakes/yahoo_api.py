"""A loopback fake of the Yahoo!ショッピング Store API and its YConnect token endpoint.

Written from the shapes public clients send and parse (contracts §4): XML ``<Req>`` bodies for
orderList / orderInfo / orderShipStatusChange, form-encoded setStock, ``<Error><Message><Code>``
error bodies, ``Start``/``Result`` paging against ``TotalCount``, ``YYYYMMDDhhmmss`` JST
conditions and ISO ``+09:00`` answers. ``base_url`` stands in for
``https://circus.shopping.yahooapis.jp/ShoppingWebService/V1`` and ``token_url`` for YConnect.

The fake holds the store's RSA key pair: order APIs decrypt ``X-sws-signature`` with the private
key and check "<sellerId>:<unixtime>" (within ``signature_tolerance`` seconds of ``clock``)
and ``X-sws-signature-version``; the answer says ``X-SWS-Authorize-Status: authorized``.

Guesses, kept easy to change (UNVERIFIED: no vendor statement found): the HTTP status and body
of a refused signature (403 + ``X-SWS-Authorize-Status: unauthorized`` here), of throttling
(429 here; the vendor limit is unknown, so ``calls_per_second`` is off unless set), the error
codes and messages (placeholders such as ``od00000``), OrderStatus 4 = キャンセル, and what
orderInfo answers for an unknown OrderId: ``unknown_order_status`` 400 (default) or another
4xx with an ``<Error>`` body, or 200 with ``<Result><Status>NG</Status>``.
"""

from __future__ import annotations

import base64
import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.toolkit.clock import wall_clock
from tests.fakes.toolkit.faults import FaultInjection, Faults
from tests.fakes.toolkit.limits import Spacing
from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.requests_log import Recorded, RequestLog
from tests.fakes.toolkit.server import LoopbackServer

API_ROOT = "/ShoppingWebService/V1/"
TOKEN_PATH = "/yconnect/v2/token"
JST = timezone(timedelta(hours=9), "JST")
SELLER_ID = "snbx-ichigen"
CLIENT_ID = "dj00ichigenclientid"
CLIENT_SECRET = "ichigen-client-secret"
REFRESH_TOKEN = "ichigen-refresh-token"
KEY_VERSION = "1"
MAX_RESULT = 2000
MAX_STOCK_CODES = 1000
_MALFORMED_BODY = b"<!DOCTYPE html><html><body><h1>\xe3\x83\xa1\xe3\x83\xb3\xe3\x83\x86\xe3\x83\x8a\xe3\x83\xb3\xe3\x82\xb9\xe4\xb8\xad</h1></body></html>"

_KEY: rsa.RSAPrivateKey | None = None


def store_key() -> rsa.RSAPrivateKey:
    """One key pair per test session: generating RSA keys is slow."""
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def public_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    key = key or store_key()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


class RecordedRequest(Recorded):
    """``body`` is the raw bytes: a ``<Req>`` XML document or a form."""

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)


class _ApiError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_xml(message: str, code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Message>{escape(message)}</Message>'
        f"<Code>{escape(code)}</Code></Error>"
    ).encode()


@dataclass
class Item:
    item_id: str
    sub_code: str
    title: str
    price: int
    quantity: int
    option: str = ""


class FakeYahoo(FaultInjection, LoopbackServer):
    """In-memory Yahoo! store on 127.0.0.1; see the module docstring."""

    content_type = "application/xml; charset=utf-8"
    fault_root = API_ROOT  # fault paths are API names ("orderList") or absolute paths
    malformed_page = _MALFORMED_BODY

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.seller_id = SELLER_ID
        self.client_id, self.client_secret, self.refresh_token = CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
        self.key = store_key()
        self.key_version = KEY_VERSION
        self.clock: Callable[[], datetime] = clock or wall_clock(JST)
        self.token_lifetime = 3600
        self.signature_tolerance = 600
        self.timeout_delay = 2.0
        # orderInfo for an unknown OrderId (UNVERIFIED): a 4xx with <Error>, or 200 with Status NG.
        self.unknown_order_status = 400
        # Throttling (vendor limit unknown): None is no limit; bucket_clock is injectable.
        self.calls_per_second: float | None = None
        self.bucket_clock: Callable[[], float] = time.monotonic
        self._spacing = Spacing()
        self.requests = RequestLog()
        self.faults = Faults()
        self.base_url = self.token_url = ""
        self.stock: dict[str, int] = {}
        # item_code ("code" or "code:sub") -> ErrorCode setStock reports for it.
        self.stock_errors: dict[str, str] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, datetime] = {}
        self._numbers = itertools.count(10000001)
        self._token_numbers = itertools.count(1)

    def _listening(self, origin: str) -> None:
        self.base_url, self.token_url = origin + API_ROOT.rstrip("/"), origin + TOKEN_PATH

    def mall_section(self, **overrides: Any) -> dict[str, Any]:
        """A ``[malls.<channel>]`` section that reaches this fake (the connector's Settings)."""
        return {
            "type": "yahoo",
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "seller_id": self.seller_id,
            "public_key": public_pem(),
            "public_key_version": self.key_version,
            **overrides,
        }

    # -- the store

    def add_order(
        self,
        items: Iterable[Item],
        *,
        at: datetime | None = None,
        pay_status: str = "1",
        ship_fee: int = 600,
        buyer: tuple[str, str] = ("山田", "太郎"),
    ) -> dict[str, Any]:
        at = at or self.clock()
        items = list(items)
        with self._lock:
            order_id = f"{self.seller_id}-{next(self._numbers)}"
            order = {
                "OrderId": order_id,
                "Version": 1,
                "OrderTime": at,
                "LastUpdateTime": at,
                "OrderStatus": "2",
                "PayStatus": pay_status,
                "ShipStatus": "1",
                "ShipCharge": ship_fee,
                "TotalPrice": ship_fee + sum(i.price * i.quantity for i in items),
                "Buyer": buyer,
                "Items": items,
                "ShipCompanyCode": "",
                "ShipInvoiceNumber1": "",
                "ShipDate": "",
            }
            self._orders[order_id] = order
            return order

    def order(self, order_id: str) -> dict[str, Any]:
        return self._orders[order_id]

    def update_order(self, order_id: str, *, at: datetime | None = None, **fields: Any) -> None:
        with self._lock:
            order = self._orders[order_id]
            order.update(fields)
            order["Version"] += 1
            order["LastUpdateTime"] = at or self.clock()

    def cancel_order(self, order_id: str, *, at: datetime | None = None) -> None:
        self.update_order(order_id, at=at, OrderStatus="4")

    def count(self, api: str) -> int:
        return len(self.of(api))

    def of(self, api: str) -> list[RecordedRequest]:
        return self.requests.where(path=api if api.startswith("/") else API_ROOT + api)

    # -- dispatch

    def _fault_reply(self, status: int, key: str) -> Reply:
        # Faults apply after the bearer and signature checks, with the XML error body.
        return Reply(status, error_xml("Service Temporarily Unavailable", str(status)))

    def _bug_reply(self, error: Exception) -> Reply:
        return Reply(500, error_xml(f"fake Yahoo bug: {error!r}", "500"))

    def _serve(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        record = self.requests.record(RecordedRequest.of(method, target, headers, body))
        try:
            reply = self._answer(method, record.path, headers, body)
        except _ApiError as err:
            reply = Reply(err.status, error_xml(err.message, err.code))
            if isinstance(err, _Unauthorized):
                reply.headers["WWW-Authenticate"] = err.challenge
            if isinstance(err, _SignatureRefused):
                reply.headers["X-SWS-Authorize-Status"] = "unauthorized"
        record.status = reply.status
        return reply

    def _answer(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        if path == TOKEN_PATH and method == "POST":
            return self._token(headers, body)
        if method != "POST" or not path.startswith(API_ROOT):
            raise _ApiError(404, "Not Found", "404")
        self._check_bearer(headers)
        api = path[len(API_ROOT) :]
        signed = api in ("orderList", "orderInfo", "orderShipStatusChange")
        if signed:
            self._check_signature(headers)
        faulted = self._faulted(path)
        if faulted is not None:
            return faulted
        if not self._admit():
            return Reply(429, error_xml("Too Many Requests", "429"))
        extra = {"X-SWS-Authorize-Status": "authorized"} if signed else {}
        with self._lock:
            if api == "setStock":
                reply = self._set_stock(body)
            elif api == "getStock":
                reply = self._get_stock(body)
            else:
                req = _parse_req(body)
                if _text(req, "SellerId") != self.seller_id:
                    raise _ApiError(400, "Invalid Parameter: SellerId", "od00001")
                handler = {
                    "orderList": self._order_list,
                    "orderInfo": self._order_info,
                    "orderShipStatusChange": self._ship,
                }.get(api)
                if handler is None:
                    raise _ApiError(404, "Not Found", "404")
                reply = handler(req)
        reply.headers.update(extra)
        return reply

    def _admit(self) -> bool:
        if self.calls_per_second is None:
            return True
        now = self.bucket_clock()
        with self._lock:
            return self._spacing.admit(now, 1.0 / self.calls_per_second)

    def _token(self, headers: Any, body: bytes) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return _json(
                401, {"error": "invalid_client", "error_description": "Client authentication failed."}
            )
        form = parse_qs(body.decode("utf-8"))
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [self.refresh_token]:
            return _json(400, {"error": "invalid_grant", "error_description": "Invalid refresh token."})
        with self._lock:
            token = f"yahoo-access-{next(self._token_numbers)}"
            self._tokens[token] = self.clock() + timedelta(seconds=self.token_lifetime)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime})

    def _check_bearer(self, headers: Any) -> None:
        auth = headers.get("Authorization") or ""
        expires = self._tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if expires is None or expires <= self.clock():
            raise _Unauthorized('Bearer error="invalid_token", error_description="expired or invalid token"')

    def _check_signature(self, headers: Any) -> None:
        try:
            plain = self.key.decrypt(
                base64.b64decode(headers.get("X-sws-signature") or ""), padding.PKCS1v15()
            )
            seller, _, unixtime = plain.decode().partition(":")
            fresh = abs(int(unixtime) - self.clock().timestamp()) <= self.signature_tolerance
        except ValueError:
            seller, fresh = "", False
        if (
            seller != self.seller_id
            or not fresh
            or headers.get("X-sws-signature-version") != self.key_version
        ):
            raise _SignatureRefused()

    # -- APIs

    def _order_list(self, req: ET.Element) -> Reply:
        search = req.find("Search")
        if search is None:
            raise _ApiError(400, "Invalid Parameter: Search", "od00002")
        result = _number(_text(search, "Result") or "10", "Result")
        start = _number(_text(search, "Start") or "1", "Start")
        if not 1 <= result <= MAX_RESULT or start < 1:
            raise _ApiError(400, "Invalid Parameter: Result/Start", "od00003")
        low = _condition_time(search, "OrderTimeFrom")
        high = _condition_time(search, "OrderTimeTo")
        fields = [f for f in (_text(search, "Field") or "OrderId").split(",") if f]
        rows = [
            o for o in self._orders.values()
            if (low is None or o["OrderTime"] >= low) and (high is None or o["OrderTime"] <= high)
        ]  # fmt: skip
        descending = (_text(search, "Sort") or "+order_time").startswith("-")
        rows.sort(key=lambda o: (o["OrderTime"], o["OrderId"]), reverse=descending)
        page = rows[start - 1 : start - 1 + result]
        parts = [f"<Result><Status>OK</Status><Search><TotalCount>{len(rows)}</TotalCount>"]
        for index, order in enumerate(page, start=start):
            flat = self._flat(order)
            cells = "".join(f"<{f}>{escape(str(flat.get(f, '')))}</{f}>" for f in fields)
            parts.append(f"<OrderInfo><Index>{index}</Index>{cells}</OrderInfo>")
        parts.append("</Search></Result>")
        return _xml_reply("".join(parts))

    def _order_info(self, req: ET.Element) -> Reply:
        order = self._orders.get(_text(req, "Target/OrderId"))
        if order is None and self.unknown_order_status == 200:
            return _xml_reply(
                '<ResultSet totalResultsAvailable="0" totalResultsReturned="0" firstResultPosition="1">'
                "<Result><Status>NG</Status></Result></ResultSet>"
            )
        if order is None:
            raise _ApiError(self.unknown_order_status, "Not Found: OrderId", "od00004")
        flat = self._flat(order)

        def group(names: Iterable[str]) -> str:
            return "".join(f"<{n}>{escape(str(flat.get(n, '')))}</{n}>" for n in names)

        last, first = order["Buyer"]
        address = {"LastName": last, "FirstName": first, "ZipCode": "1020094", "Prefecture": "東京都",
                   "City": "千代田区", "Address1": "紀尾井町1-3", "Address2": "", "PhoneNumber": "0300000000"}  # fmt: skip
        bill = "".join(f"<Bill{k}>{escape(v)}</Bill{k}>" for k, v in address.items())
        ship = "".join(f"<Ship{k}>{escape(v)}</Ship{k}>" for k, v in address.items())
        items = "".join(
            f"<Item><LineId>{n}</LineId><ItemId>{escape(i.item_id)}</ItemId><Title>{escape(i.title)}</Title>"
            f"<SubCode>{escape(i.sub_code)}</SubCode><SubCodeOption>{escape(i.option)}</SubCodeOption>"
            f"<UnitPrice>{i.price}</UnitPrice><Quantity>{i.quantity}</Quantity><ItemTaxRatio>10</ItemTaxRatio></Item>"
            for n, i in enumerate(order["Items"], start=1)
        )
        info = (
            "<OrderInfo>"
            + group(("OrderId", "Version", "OrderTime", "LastUpdateTime", "OrderStatus", "StoreStatus"))
            + f"<Pay>{group(('PayStatus',))}<PayMethod>payment_a1</PayMethod>"
            f"<PayMethodName>クレジットカード決済</PayMethodName>{bill}</Pay>"
            + f"<Ship>{group(('ShipStatus', 'ShipCompanyCode', 'ShipInvoiceNumber1', 'ShipDate'))}"
            f"<ShipMethodName>宅配便</ShipMethodName>{ship}</Ship>"
            + "<Detail><PayCharge>0</PayCharge>"
            + group(("ShipCharge",))
            + "<GiftWrapCharge>0</GiftWrapCharge><Discount>0</Discount><UsePoint>0</UsePoint>"
            + group(("TotalPrice",))
            + f"<SettleAmount>{order['TotalPrice']}</SettleAmount></Detail>"
            + items
            + f"<Seller><SellerId>{self.seller_id}</SellerId></Seller></OrderInfo>"
        )
        return _xml_reply(
            '<ResultSet totalResultsAvailable="1" totalResultsReturned="1" firstResultPosition="1">'
            f"<Result><Status>OK</Status>{info}</Result></ResultSet>"
        )

    def _ship(self, req: ET.Element) -> Reply:
        order = self._orders.get(_text(req, "Target/OrderId"))
        if order is None:
            raise _ApiError(400, "Not Found: OrderId", "od00004")
        if order["OrderStatus"] == "4":
            raise _ApiError(400, "Invalid Status: the order is cancelled", "od00005")
        status = _text(req, "Order/Ship/ShipStatus")
        if status not in {"0", "1", "2", "3", "4"}:
            raise _ApiError(400, "Invalid Parameter: ShipStatus", "od00000")
        company = _text(req, "Order/Ship/ShipCompanyCode")
        if company and company not in {"1001", "1002", "1003", "1006"}:
            raise _ApiError(400, "Invalid Parameter: ShipCompanyCode", "od00006")
        ship_date = _text(req, "Order/Ship/ShipDate")
        try:
            datetime.strptime(ship_date, "%Y%m%d")
        except ValueError:
            raise _ApiError(400, "Invalid Parameter: ShipDate", "od00007") from None
        self.update_order(
            order["OrderId"],
            ShipStatus=status,
            ShipCompanyCode=company,
            ShipInvoiceNumber1=_text(req, "Order/Ship/ShipInvoiceNumber1"),
            ShipDate=ship_date,
        )
        return _xml_reply(
            '<ResultSet totalResultsAvailable="1" totalResultsReturned="1" firstResultPosition="1">'
            "<Result><Status>OK</Status></Result></ResultSet>"
        )

    def _get_stock(self, body: bytes) -> Reply:
        """getStock (contract §7): form POST, ≤ 1,000 item codes, one <Result> per code Yahoo!
        has (a code it does not know gets no Result: the response for it is UNVERIFIED)."""
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        if form.get("seller_id") != [self.seller_id]:
            raise _ApiError(400, "Invalid Parameter: seller_id", "ed-00001")
        codes = [c for c in (form.get("item_code") or [""])[0].split(",") if c]
        if not codes or len(codes) > MAX_STOCK_CODES:
            raise _ApiError(400, "Invalid Parameter: item_code (1 to 1000)", "ed-00002")
        results = []
        for code in codes:
            if code not in self.stock:
                continue
            item, _, sub = code.partition(":")
            results.append(
                f"<Result><SellerId>{self.seller_id}</SellerId><ItemCode>{escape(item)}</ItemCode>"
                f"<SubCode>{escape(sub)}</SubCode><Quantity>{self.stock[code]}</Quantity></Result>"
            )
        return _xml_reply(
            f'<ResultSet totalResultsAvailable="{len(results)}" totalResultsReturned="{len(results)}" '
            f'firstResultPosition="1">{"".join(results)}</ResultSet>'
        )

    def _set_stock(self, body: bytes) -> Reply:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        if form.get("seller_id") != [self.seller_id]:
            raise _ApiError(400, "Invalid Parameter: seller_id", "st-00001")
        codes = (form.get("item_code") or [""])[0].split(",")
        quantities = (form.get("quantity") or [""])[0].split(",")
        if len(codes) > MAX_STOCK_CODES:
            raise _ApiError(400, "Invalid Parameter: item_code (max 1000)", "st-00002")
        if len(codes) != len(quantities):
            raise _ApiError(400, "Invalid Parameter: quantity", "st-00003")
        results = []
        for code, quantity in zip(codes, quantities, strict=True):
            item, _, sub = code.partition(":")
            cells = f"<SellerId>{self.seller_id}</SellerId><ItemCode>{escape(item)}</ItemCode><SubCode>{escape(sub)}</SubCode>"
            error = self.stock_errors.get(code)
            relative = quantity[:1] in ("+", "-")
            if error is None and not quantity.lstrip("+-").isdigit():
                error = "st-02104"  # e.g. "INI", which used to mean 初期化
            if error:
                results.append(f"<Result>{cells}<ErrorCode>{error}</ErrorCode></Result>")
                continue
            # An unknown item code is no error: the quantity is kept and linked later (vendor page).
            new = self.stock.get(code, 0) + int(quantity) if relative else int(quantity)
            self.stock[code] = new
            results.append(f"<Result>{cells}<Quantity>{new}</Quantity></Result>")
        return _xml_reply(
            f'<ResultSet totalResultsAvailable="{len(results)}" totalResultsReturned="{len(results)}" '
            f'firstResultPosition="1">{"".join(results)}</ResultSet>'
        )

    def _flat(self, order: dict[str, Any]) -> dict[str, str]:
        flat = {k: v for k, v in order.items() if k not in ("Items", "Buyer")}
        for name in ("OrderTime", "LastUpdateTime"):
            flat[name] = order[name].astimezone(JST).isoformat(timespec="seconds")
        flat["IsSeen"] = "false"
        flat["StoreStatus"] = ""
        return flat


class _Unauthorized(_ApiError):
    def __init__(self, challenge: str) -> None:
        super().__init__(401, "Unauthorized", "401")
        self.challenge = challenge


class _SignatureRefused(_ApiError):
    def __init__(self) -> None:
        super().__init__(403, "Public key authentication failed", "sws-403")


def _parse_req(body: bytes) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise _ApiError(400, "Invalid Request: XML", "od00008") from None


def _text(element: ET.Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _number(text: str, name: str) -> int:
    if not text.isdigit():
        raise _ApiError(400, f"Invalid Parameter: {name}", "od00003")
    return int(text)


def _condition_time(search: ET.Element, name: str) -> datetime | None:
    text = _text(search, f"Condition/{name}")
    if not text:
        return None
    try:
        if len(text) != 14:
            raise ValueError(text)
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=JST)
    except ValueError:
        raise _ApiError(400, f"Invalid Parameter: {name}", "od00009") from None


def _xml_reply(text: str) -> Reply:
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")
    return Reply(200, data, {"Content-Type": "application/xml; charset=utf-8"})


def _json(status: int, body: dict) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json"})
