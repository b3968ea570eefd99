"""A loopback fake of Login with Amazon and the SP-API calls Ichigen's Amazon connector makes.

Written from the official models (ordersV0.json, listingsItems_2021-08-01.json) and the
contract notes, so the connector talks to it over real HTTP as it would to
``https://sellingpartnerapi-fe.amazon.com`` (``base_url``) and ``api.amazon.com`` (``token_url``).

Endpoints: ``POST /auth/o2/token`` (form, refresh_token grant); ``GET /orders/v0/orders``
(MarketplaceIds required, exactly one of CreatedAfter/LastUpdatedAfter, *Before at least 2
minutes before the clock, MaxResultsPerPage 1–100, opaque NextToken); ``GET
/orders/v0/orders/{id}/orderItems`` (NextToken); ``POST …/{id}/shipmentConfirmation`` (204);
``GET``/``PATCH /listings/2021-08-01/items/{sellerId}/{sku}``.

Every operation has its documented token bucket, on ``bucket_clock``; over it: 429 with the
QuotaExceeded body and no Retry-After. Without a Restricted Data Token, BuyerInfo is left out
and ShippingAddress keeps only StateOrRegion, City, PostalCode and CountryCode.

An ACCEPTED patch is applied at once unless ``hold_submissions`` is on (then ``apply_held`` applies
it: the models give no processing time); getListingsItem shows ``issues`` set with ``set_issues``.

Guesses (UNVERIFIED): order of getOrders results (LastUpdateDate ascending here), the texts of
400 messages, JPY amounts written with two decimals ("2980.00"), the non-PII address parts kept
without an RDT, the LWA error body for a wrong refresh token.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.toolkit.clock import VirtualClock, wall_clock
from tests.fakes.toolkit.faults import FaultInjection, Faults
from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.requests_log import Recorded, RequestLog
from tests.fakes.toolkit.routes import Routes
from tests.fakes.toolkit.server import LoopbackServer

FakeClock = VirtualClock  # seconds for the buckets; the tests import it from here

MARKETPLACE_ID = "A1VC38T7YXB528"
SELLER_ID = "A2ICHIGENTEST1"
CLIENT_ID = "amzn1.application-oa2-client.ichigenfake"
CLIENT_SECRET = "amzn1.oa2-cs.v1.fakesecret"
REFRESH_TOKEN = "Atzr|IwEBIichigen-fake-refresh"
TOKEN_PATH = "/auth/o2/token"
ORDERS_PATH = "/orders/v0/orders"
LISTINGS_PATH = "/listings/2021-08-01/items/"
FBA_SUMMARIES_PATH = "/fba/inventory/v1/summaries"

LIMITS = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "getListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "getInventorySummaries": (2.0, 2),
}
QUOTA_BODY = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
DENIED_BODY = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided is revoked, malformed or invalid.",
        }
    ]
}
_FAULT_BODIES = {
    429: QUOTA_BODY,
    500: {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]},
    503: {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}]},
}
_MALFORMED = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def amz_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(yen: int) -> dict:
    return {"CurrencyCode": "JPY", "Amount": f"{yen}.00"}


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Buyer:
    name: str
    postcode: str
    prefecture: str
    city: str
    line1: str
    line2: str = ""
    phone: str = "090-1234-5678"


BUYERS = (
    Buyer("山田 太郎", "150-0041", "東京都", "渋谷区", "神南1-2-3", "渋谷マンション101"),
    Buyer("佐藤 花子", "530-0001", "大阪府", "大阪市北区", "梅田2-4-9", "", "06-1234-5678"),
)


@dataclass
class Listing:
    sku: str
    asin: str
    title: str
    price: int
    product_type: str = "SHIRT"
    quantity: int | None = None
    held: int | None = None  # ACCEPTED with hold_submissions, not applied yet
    issues: list[dict] = field(default_factory=list)  # shown with includedData=issues
    fba: int | None = None  # FBA fulfillable quantity: the listing ships from Amazon's network


class RecordedRequest(Recorded):
    token_header = "x-amz-access-token"


class _Error(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _invalid(message: str = "Invalid Input") -> _Error:
    return _Error(400, {"errors": [{"code": "InvalidInput", "message": message, "details": ""}]})


class Bucket:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def admit(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class FakeAmazon(FaultInjection, LoopbackServer):
    """Faults (``inject``) apply before anything else, the token endpoint included."""

    content_type = "application/json"
    malformed_page = _MALFORMED

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        bucket_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.clock: Callable[[], datetime] = clock or wall_clock(UTC)
        self.bucket_clock = bucket_clock
        self.buckets = {op: Bucket(rate, burst, bucket_clock) for op, (rate, burst) in LIMITS.items()}
        self.requests = RequestLog()
        self.faults = Faults()
        self.timeout_delay = 2.0
        self.item_page_size = 100
        self.token_lifetime = 3600
        self.refresh_token = REFRESH_TOKEN
        self.hold_submissions = False  # ACCEPTED but not applied yet
        # The fulfillmentChannelCode an FBA listing shows (UNVERIFIED for JP: "AMAZON_JP").
        self.fba_channel_code = "AMAZON_JP"
        self.rdt_tokens: set[str] = set()
        self.shipments: list[dict] = []
        self._tokens: dict[str, float] = {}  # access token -> bucket-clock expiry
        self._orders: dict[str, dict] = {}
        self._items: dict[str, list[dict]] = {}
        self._pii: dict[str, Buyer] = {}
        self._listings: dict[str, Listing] = {}
        self._pages: dict[str, tuple[list, int, datetime]] = {}
        self._serial = 0
        self._routes = Routes(
            {
                ("GET", ORDERS_PATH): self._get_orders_call,
                ("GET", ORDERS_PATH + "/{order_id}/orderItems"): self._get_items_call,
                ("POST", ORDERS_PATH + "/{order_id}/shipmentConfirmation"): self._confirm_call,
                ("GET", LISTINGS_PATH + "{seller}/{sku}"): self._listing_call,
                ("PATCH", LISTINGS_PATH + "{seller}/{sku}"): self._listing_call,
                ("GET", FBA_SUMMARIES_PATH): self._summaries_call,
            }
        )

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def mall_section(self, **overrides: Any) -> dict[str, Any]:
        """A ``[malls.<channel>]`` section that reaches this fake (the connector's Settings)."""
        return {
            "type": "amazon",
            "base_url": self.base_url,
            "lwa_token_url": self.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "seller_id": SELLER_ID,
            **overrides,
        }

    # -- fixtures

    def add_listing(
        self, sku: str, asin: str, title: str, price: int, product_type: str = "SHIRT"
    ) -> Listing:
        with self._lock:
            listing = Listing(sku, asin, title, price, product_type)
            self._listings[sku] = listing
            return listing

    def apply_held(self) -> None:
        """Amazon gets round to the submissions it ACCEPTED while ``hold_submissions`` was on."""
        with self._lock:
            for listing in self._listings.values():
                if listing.held is not None:
                    listing.quantity, listing.held = listing.held, None

    def set_issues(self, sku: str, *issues: dict) -> None:
        """Issues the listing reports (Issue: code, message, severity, categories)."""
        with self._lock:
            self._listings[sku].issues = list(issues)

    def listing_quantity(self, sku: str) -> int | None:
        with self._lock:
            return self._listings[sku].quantity

    def add_order(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        at: datetime | None = None,
        fba: bool = False,
        status: str = "Unshipped",
        buyer: Buyer = BUYERS[0],
        shipping_fee: int = 0,
        payment: str = "Other",
    ) -> dict:
        with self._lock:
            at = at or self.clock()
            self._serial += 1
            order_id = f"503-{1000000 + self._serial:07d}-{7000000 + self._serial * 7:07d}"
            items = []
            for n, (sku, quantity) in enumerate(lines, start=1):
                listing = self._listings[sku]
                items.append(
                    {
                        "ASIN": listing.asin,
                        "SellerSKU": sku,
                        "OrderItemId": f"{self._serial:06d}{n:08d}",
                        "Title": listing.title,
                        "QuantityOrdered": quantity,
                        "QuantityShipped": 0,
                        "ProductInfo": {"NumberOfItems": "1"},
                        "ItemPrice": money(listing.price * quantity),
                        "ItemTax": money(listing.price * quantity * 10 // 110),
                        "ShippingPrice": money(shipping_fee if n == 1 else 0),
                        "PromotionDiscount": money(0),
                        "IsGift": "false",
                        "ConditionId": "New",
                        "ConditionSubtypeId": "New",
                        "IsTransparency": False,
                        "SerialNumberRequired": False,
                    }
                )
            total = sum(self._listings[s].price * q for s, q in lines) + shipping_fee
            stamp = amz_time(at)
            order = {
                "AmazonOrderId": order_id,
                "PurchaseDate": stamp,
                "LastUpdateDate": stamp,
                "OrderStatus": status,
                "FulfillmentChannel": "AFN" if fba else "MFN",
                "SalesChannel": "Amazon.co.jp",
                "ShipServiceLevel": "Std JP Kanto8",
                "OrderTotal": money(total),
                "NumberOfItemsShipped": 0,
                "NumberOfItemsUnshipped": sum(q for _, q in lines),
                "PaymentMethod": payment,
                "PaymentMethodDetails": ["Standard"],
                "IsReplacementOrder": False,
                "MarketplaceId": MARKETPLACE_ID,
                "ShipmentServiceLevelCategory": "Standard",
                "OrderType": "StandardOrder",
                "EarliestShipDate": amz_time(at + timedelta(hours=1)),
                "LatestShipDate": amz_time(at + timedelta(days=2)),
                "IsBusinessOrder": False,
                "IsPrime": False,
                "IsPremiumOrder": False,
                "IsGlobalExpressEnabled": False,
                "IsSoldByAB": False,
                "IsISPU": False,
                "IsAccessPointOrder": False,
            }
            self._orders[order_id] = order
            self._items[order_id] = items
            self._pii[order_id] = buyer
            return copy.deepcopy(order)

    def set_status(self, order_id: str, status: str, *, at: datetime | None = None) -> None:
        with self._lock:
            order = self._orders[order_id]
            order["OrderStatus"] = status
            if status == "Canceled":
                order.pop("OrderTotal", None)  # what Amazon shows for a cancelled order (UNVERIFIED)
                for item in self._items[order_id]:
                    item["QuantityOrdered"] = 0
                    item.pop("ItemPrice", None)
            order["LastUpdateDate"] = amz_time(at or self.clock())

    def order(self, order_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._orders[order_id])

    def issue_rdt(self) -> str:
        """A Restricted Data Token standing in for the Tokens API: it also authorizes calls."""
        with self._lock:
            token = "Atz.sprdt|" + secrets.token_hex(8)
            self.rdt_tokens.add(token)
            self._tokens[token] = self.bucket_clock() + 3600
            return token

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- observation

    def count(
        self, path_prefix: str | None = None, *, method: str | None = None, status: int | None = None
    ) -> int:
        return len(self.requests.where(prefix=path_prefix or "", method=method, status=status))

    # -- serving

    def _fault_reply(self, status: int, key: str) -> Reply:
        return Reply(status, _FAULT_BODIES.get(status, _FAULT_BODIES[500]))

    def _serve(self, method: str, target: str, headers: Any, raw: bytes) -> Reply:
        path = urlsplit(target).path
        body: Any = None
        if raw:
            if path == TOKEN_PATH:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
        call = self.requests.record(RecordedRequest.of(method, target, headers, body))
        reply = self._faulted(path)
        if reply is None:
            try:
                with self._lock:
                    reply = Reply(*self._dispatch(call))
            except _Error as error:
                reply = Reply(error.status, error.body)
        call.status = reply.status
        reply.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return reply

    def _dispatch(self, call: RecordedRequest) -> tuple[int, Any]:
        if call.path == TOKEN_PATH and call.method == "POST":
            return self._token(call.body or {})
        if call.token is None or self._tokens.get(call.token, -1) <= self.bucket_clock():
            raise _Error(403, DENIED_BODY)
        route = self._routes.match(call.method, call.path)
        if route is None:
            raise _Error(404, {"errors": [{"code": "NotFound", "message": "Resource not found"}]})
        handler, params = route
        return handler(call, **params)

    def _get_orders_call(self, call: RecordedRequest) -> tuple[int, Any]:
        self._admit("getOrders")
        return 200, self._get_orders(call.query, call.token in self.rdt_tokens)

    def _get_items_call(self, call: RecordedRequest, order_id: str) -> tuple[int, Any]:
        self._known_order(order_id)
        self._admit("getOrderItems")
        return 200, self._get_items(order_id, call.query)

    def _confirm_call(self, call: RecordedRequest, order_id: str) -> tuple[int, Any]:
        self._known_order(order_id)
        self._admit("confirmShipment")
        self._confirm(order_id, call.body)
        return 204, None

    def _known_order(self, order_id: str) -> None:
        if order_id not in self._orders:
            raise _Error(404, {"errors": [{"code": "NotFound", "message": "Order not found"}]})

    def _listing_call(self, call: RecordedRequest, seller: str, sku: str) -> tuple[int, Any]:
        if seller != SELLER_ID:
            raise _Error(403, DENIED_BODY)
        if call.query.get("marketplaceIds") != [MARKETPLACE_ID]:
            raise _invalid("marketplaceIds is required")
        listing = self._listings.get(sku)
        if listing is None:
            message = f"SKU '{sku}' not found in marketplace {MARKETPLACE_ID}"
            raise _Error(404, {"errors": [{"code": "NOT_FOUND", "message": message, "details": ""}]})
        if call.method == "GET":
            self._admit("getListingsItem")
            return 200, self._listing(listing, call.query)
        self._admit("patchListingsItem")
        return 200, self._patch(listing, call.body)

    def _summaries_call(self, call: RecordedRequest) -> tuple[int, Any]:
        """getInventorySummaries (fbaInventory.json): granularity and one marketplace required,
        ``sellerSkus`` ≤ 50; FBA listings only (merchant-fulfilled SKUs are not in it)."""
        query = call.query
        for name, value in (
            ("granularityType", "Marketplace"),
            ("granularityId", MARKETPLACE_ID),
            ("marketplaceIds", MARKETPLACE_ID),
        ):
            if query.get(name) != [value]:
                raise _invalid(f"{name} is required")
        skus = [s for s in (query.get("sellerSkus") or [""])[0].split(",") if s]
        if len(skus) > 50:
            raise _invalid("sellerSkus accepts at most 50 SKUs")
        self._admit("getInventorySummaries")
        details = query.get("details") == ["true"]
        summaries = []
        for sku in skus or list(self._listings):
            listing = self._listings.get(sku)
            if listing is None or listing.fba is None:
                continue
            summary: dict[str, Any] = {
                "asin": listing.asin,
                "fnSku": f"X00{listing.asin[-7:]}",
                "sellerSku": sku,
                "condition": "NewItem",
                "lastUpdatedTime": amz_time(self.clock()),
                "productName": listing.title,
                "totalQuantity": listing.fba,
                "stores": [],
            }
            if details:
                summary["inventoryDetails"] = {"fulfillableQuantity": listing.fba}
            summaries.append(summary)
        granularity = {"granularityType": "Marketplace", "granularityId": MARKETPLACE_ID}
        return 200, {
            "payload": {"granularity": granularity, "inventorySummaries": summaries},
            "pagination": {},
        }

    def _admit(self, operation: str) -> None:
        if not self.buckets[operation].admit():
            raise _Error(429, QUOTA_BODY)

    def _token(self, form: dict) -> tuple[int, Any]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {
                "error": "invalid_grant",
                "error_description": "The request has an invalid grant parameter : refresh_token",
            }
        access = "Atza|" + secrets.token_hex(12)
        self._tokens[access] = self.bucket_clock() + self.token_lifetime
        return 200, {
            "access_token": access,
            "refresh_token": form["refresh_token"],
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
        }

    def _get_orders(self, query: dict, pii: bool) -> dict:
        if query.get("MarketplaceIds") != [MARKETPLACE_ID]:
            raise _invalid("MarketplaceIds is required")
        one = {k: v[0] for k, v in query.items()}
        if "NextToken" in one:
            if one["NextToken"] not in self._pages:
                raise _invalid("Invalid NextToken")
            ids, size, before = self._pages.pop(one["NextToken"])
        else:
            created, updated = "CreatedAfter" in one, "LastUpdatedAfter" in one
            if created == updated:
                raise _invalid("Exactly one of CreatedAfter and LastUpdatedAfter must be specified")
            field_name = "LastUpdateDate" if updated else "PurchaseDate"
            low = _parse_time(one["LastUpdatedAfter" if updated else "CreatedAfter"])
            before_key = "LastUpdatedBefore" if updated else "CreatedBefore"
            latest = self.clock() - timedelta(minutes=2)
            try:
                before = _parse_time(one[before_key]) if before_key in one else latest
            except ValueError:
                raise _invalid() from None
            if before > latest:
                raise _invalid(f"{before_key} must be at least 2 minutes before the current time")
            size = int(one.get("MaxResultsPerPage", 100))
            if not 1 <= size <= 100:
                raise _invalid("MaxResultsPerPage must be between 1 and 100")
            chosen = [o for o in self._orders.values() if low <= _parse_time(o[field_name]) <= before]
            chosen.sort(key=lambda o: (o[field_name], o["AmazonOrderId"]))
            ids = [o["AmazonOrderId"] for o in chosen]
        page, rest = ids[:size], ids[size:]
        payload: dict[str, Any] = {
            "Orders": [self._order_json(i, pii) for i in page],
            "LastUpdatedBefore": amz_time(before),
        }
        if rest:
            token = secrets.token_urlsafe(24)
            self._pages[token] = (rest, size, before)
            payload["NextToken"] = token
        return {"payload": payload}

    def _order_json(self, order_id: str, pii: bool) -> dict:
        order = copy.deepcopy(self._orders[order_id])
        buyer = self._pii[order_id]
        if order["FulfillmentChannel"] == "MFN" or pii:
            address = {
                "StateOrRegion": buyer.prefecture,
                "City": buyer.city,
                "PostalCode": buyer.postcode,
                "CountryCode": "JP",
            }
            if pii:
                address |= {"Name": buyer.name, "AddressLine1": buyer.line1, "Phone": buyer.phone}
                if buyer.line2:
                    address["AddressLine2"] = buyer.line2
                order["BuyerInfo"] = {
                    "BuyerEmail": "abc123@marketplace.amazon.co.jp",
                    "BuyerName": buyer.name,
                }
            order["ShippingAddress"] = address
        return order

    def _get_items(self, order_id: str, query: dict) -> dict:
        items = self._items[order_id]
        start = 0
        if "NextToken" in query:
            token = query["NextToken"][0]
            if not token.startswith(order_id + ":"):
                raise _invalid("Invalid NextToken")
            start = int(token.rsplit(":", 1)[1])
        end = start + self.item_page_size
        payload: dict[str, Any] = {"AmazonOrderId": order_id, "OrderItems": copy.deepcopy(items[start:end])}
        if end < len(items):
            payload["NextToken"] = f"{order_id}:{end}"
        return {"payload": payload}

    def _confirm(self, order_id: str, body: Any) -> None:
        if not isinstance(body, dict) or body.get("marketplaceId") != MARKETPLACE_ID:
            raise _invalid()
        package = body.get("packageDetail")
        required = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
        if not isinstance(package, dict) or any(k not in package for k in required):
            raise _invalid()
        if not str(package["packageReferenceId"]).isdigit() or int(package["packageReferenceId"]) < 1:
            raise _invalid()
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            raise _invalid()
        try:
            _parse_time(str(package["shipDate"]))
        except ValueError:
            raise _invalid() from None
        order = self._orders[order_id]
        if order["OrderStatus"] in ("Canceled", "Pending", "PendingAvailability"):
            raise _invalid(f"Order {order_id} cannot be confirmed in status {order['OrderStatus']}")
        by_id = {i["OrderItemId"]: i for i in self._items[order_id]}
        for line in package["orderItems"]:
            item = by_id.get(line.get("orderItemId"))
            quantity = line.get("quantity")
            if item is None or not isinstance(quantity, int) or quantity < 1:
                raise _invalid()
            if item["QuantityShipped"] + quantity > item["QuantityOrdered"]:
                raise _invalid()
        for line in package["orderItems"]:
            by_id[line["orderItemId"]]["QuantityShipped"] += line["quantity"]
        shipped = sum(i["QuantityShipped"] for i in by_id.values())
        ordered = sum(i["QuantityOrdered"] for i in by_id.values())
        order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"] = shipped, ordered - shipped
        order["OrderStatus"] = "Shipped" if shipped >= ordered else "PartiallyShipped"
        order["LastUpdateDate"] = amz_time(self.clock())
        self.shipments.append(copy.deepcopy(body))

    def _listing(self, listing: Listing, query: dict) -> dict:
        included = (query.get("includedData") or ["summaries"])[0].split(",")
        item: dict[str, Any] = {"sku": listing.sku}
        if "summaries" in included:
            item["summaries"] = [
                {
                    "marketplaceId": MARKETPLACE_ID,
                    "asin": listing.asin,
                    "productType": listing.product_type,
                    "conditionType": "new_new",
                    "status": ["BUYABLE", "DISCOVERABLE"],
                    "itemName": listing.title,
                    "createdDate": "2026-01-05T02:00:00Z",
                    "lastUpdatedDate": "2026-11-01T02:00:00Z",
                }
            ]
        if "issues" in included:
            item["issues"] = copy.deepcopy(listing.issues)
        if "fulfillmentAvailability" in included and listing.fba is not None:
            item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": self.fba_channel_code}]
        elif "fulfillmentAvailability" in included and listing.quantity is not None:
            item["fulfillmentAvailability"] = [
                {"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}
            ]
        return item

    def _patch(self, listing: Listing, body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("patches"), list):
            raise _invalid()
        submission = uuid.uuid4().hex
        if body.get("productType") != listing.product_type:
            issue = {
                "code": "4000003",
                "message": f"The product type '{body.get('productType')}' does not match this listing.",
                "severity": "ERROR",
                "attributeNames": [],
            }
            return {"sku": listing.sku, "status": "INVALID", "submissionId": submission, "issues": [issue]}
        quantity = None
        for patch in body["patches"]:
            if patch.get("path") == "/attributes/fulfillment_availability" and patch.get("op") in (
                "replace",
                "merge",
                "add",
            ):
                value = patch.get("value") or [{}]
                quantity = value[0].get("quantity")
        if not isinstance(quantity, int) or quantity < 0:
            raise _invalid()
        if self.hold_submissions:
            listing.held = quantity
        else:
            listing.quantity = quantity
        return {"sku": listing.sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}
