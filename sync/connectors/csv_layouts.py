"""The order files Ichigen reads, as data: for each kind of file (a ``Layout``), which headers
hold which canonical field, its delimiter and quoting, its status words, date forms and time
zone, and how its rows make up orders. The kinds of canonical field below decide how a cell is
read (``csv_cells``); ``csv_parsing`` applies a layout to a file.

Amazon columns, and which report they come from (checked 2026 against the sources named):

- Order Report / Unshipped Orders report (``GET_FLAT_FILE_ORDERS_DATA``, Seller Central
  "注文レポート", tab-separated, one row per order item): ``order-id``, ``order-item-id``,
  ``purchase-date``, ``payments-date``, ``buyer-email``, ``buyer-name``, ``buyer-phone-number``,
  ``sku``, ``product-name``, ``quantity-purchased``, ``currency``, ``item-price``, ``item-tax``,
  ``shipping-price``, ``shipping-tax``, ``ship-service-level``, ``recipient-name``,
  ``ship-address-1..3``, ``ship-city``, ``ship-state``, ``ship-postal-code``, ``ship-country``,
  ``ship-phone-number``, ``delivery-Instructions`` …  Source: sellercentral.amazon.co.jp help
  itemID=201648780 (en_JP): "All amounts are aggregates of the quantity, not unit prices", dates
  "Time zone shown in GMT", item-tax "Not used in Amazon.co.jp" (prices include tax); header
  order cross-checked with Next Engine manual ID:6279 and 速販C2's 受注データ対応表.
- All Orders report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` / ``…_BY_LAST_UPDATE…``):
  ``amazon-order-id``, ``merchant-order-id``, ``purchase-date``, ``last-updated-date``,
  ``order-status``, ``fulfillment-channel`` (``Amazon``/``Merchant`` in real files, AFN/MFN in the
  help text), ``product-name``, ``sku``, ``asin``, ``item-status``, ``quantity``, ``currency``,
  ``item-price`` (also a quantity aggregate), ``shipping-price``, ``ship-city``, ``ship-state``,
  ``ship-postal-code`` … and no buyer name or street address. Source: SP-API docs "Order
  Tracking reports attributes"; Seller Central help 200547170; real headers in
  CaponicaAmazonMwsComplete ``ReportTrackingByOrderDateFlatFile.php``.
- Real JP rows (an FBA shipments report of the same family) show ``ship-state`` = prefecture,
  ``ship-city`` = ``--``, street in ``ship-address-1``, prices like ``24732.00``, ``+09:00`` offsets.

So one ``amazon_order_report`` layout reads both reports through header aliases. UNVERIFIED: the
full set of ``order-status`` strings in the All Orders report (``Shipping``, ``Complete`` and
suffixed values such as ``Shipped - Delivered to Buyer`` are mapped from third-party reports),
and the sign of ``*-promotion-discount`` (seen negative; we use the absolute value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from vocabulary.jst import JST
from vocabulary.statuses import OrderStatus


@dataclass(frozen=True)
class Layout:
    """How one kind of file maps onto canonical fields. Keys of ``columns`` are field names below."""

    name: str
    title: str  # for staff, in error messages
    delimiter: str
    # canonical field -> accepted headers (matched ignoring case/width); the first present wins
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]  # fields whose column must be in the header
    statuses: Mapping[str, OrderStatus]  # the file's status text (case-folded) -> Ichigen status
    default_status: OrderStatus  # when the file has no status column or the cell is blank
    date_example: str
    date_formats: tuple[str, ...] = ()  # tried after ISO 8601
    naive_timezone: tzinfo = JST  # for times written without an offset
    quoted: bool = True  # False: quotes are plain text (Amazon writes flat files unquoted)
    row_is_line: bool = True  # False: one row is one whole order
    order_key: tuple[str, ...] = ("order_number",)  # fields whose values group rows into an order
    line_price_is_total: bool = False  # the price column holds price x quantity
    summed: frozenset[str] = frozenset()  # order money repeated per item row: add the rows up
    fulfillment: Mapping[str, bool] = field(default_factory=dict)  # channel value -> allocates stock
    cancelled_items: frozenset[str] = frozenset()  # item status values meaning "line cancelled"


# Canonical fields a row may carry; the kind decides how the cell is read (csv_cells.convert).
DATETIME_FIELDS = frozenset({"ordered_at", "updated_at", "paid_at"})
MONEY_FIELDS = frozenset({"total", "shipping_fee", "gift_wrap", "unit_price", "line_price"})
DISCOUNT_FIELDS = frozenset({"item_discount", "ship_discount"})
COUNT_FIELDS = {"quantity": 0, "line_number": 1}  # field -> smallest allowed
CODE_FIELDS = frozenset({"order_number", "seller_sku", "mall_item_code", "line_id"})
DIGIT_FIELDS = frozenset({"postcode", "phone", "buyer_phone"})  # full-width digits folded
# A row with any of these filled is an order line; without, it only adds order-level values.
LINE_FIELDS = ("mall_item_code", "seller_sku", "item_name", "quantity", "unit_price", "line_price")

AMAZON_ORDER_REPORT = Layout(
    name="amazon_order_report",
    title="Amazonの注文レポート",
    delimiter="\t",
    columns={
        "order_number": ("order-id", "amazon-order-id"),
        "line_id": ("order-item-id", "amazon-order-item-id"),
        "ordered_at": ("purchase-date",),
        "paid_at": ("payments-date",),
        "updated_at": ("last-updated-date",),
        "status": ("order-status",),
        "fulfillment": ("fulfillment-channel",),
        "buyer_name": ("buyer-name",),
        "buyer_phone": ("buyer-phone-number",),
        "recipient_name": ("recipient-name",),
        "postcode": ("ship-postal-code",),
        "prefecture": ("ship-state",),
        "city": ("ship-city",),
        "address1": ("ship-address-1",),
        "address2": ("ship-address-2",),
        "address3": ("ship-address-3",),
        "phone": ("ship-phone-number",),
        "note": ("delivery-instructions",),
        "currency": ("currency",),
        "seller_sku": ("sku",),
        "item_name": ("product-name", "item-name"),
        "quantity": ("quantity-purchased", "quantity"),
        "line_status": ("item-status",),
        "line_price": ("item-price",),
        "shipping_fee": ("shipping-price",),
        "gift_wrap": ("gift-wrap-price",),
        "item_discount": ("item-promotion-discount",),
        "ship_discount": ("ship-promotion-discount",),
    },
    required=("order_number", "ordered_at", "seller_sku", "quantity", "line_price"),
    statuses={
        "pending": "入金待ち",
        "pendingavailability": "入金待ち",  # pre-order, not yet payable
        "unshipped": "新規",
        "partiallyshipped": "新規",  # some items still to ship: keeps its stock allocated
        "shipping": "新規",  # All Orders report wording (unverified)
        "shipped": "出荷済",
        "complete": "出荷済",  # help-page example value
        "invoiceunconfirmed": "出荷済",  # shipped, invoice not yet confirmed
        "canceled": "キャンセル",
        "cancelled": "キャンセル",  # the report spells it the British way
        "unfulfillable": "保留",  # Amazon cannot fulfil it: a person decides
    },
    # The Order Report has no status column: it lists seller-fulfilled orders to ship.
    default_status="新規",
    date_example="2026-11-30T14:05:00+09:00",
    date_formats=("%Y-%m-%dT%H:%M:%S%z", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"),
    naive_timezone=UTC,  # "Time zone shown in GMT" (help 201648780)
    # Amazon writes flat files unquoted; a product name starting with " must not swallow tabs.
    quoted=False,
    line_price_is_total=True,
    summed=frozenset({"shipping_fee", "gift_wrap", "item_discount", "ship_discount"}),
    fulfillment={"amazon": False, "afn": False, "merchant": True, "mfn": True},
    cancelled_items=frozenset({"cancelled", "canceled"}),
)

GENERIC = Layout(
    name="generic",
    title="汎用CSV",
    delimiter=",",
    columns={
        "mall": ("モール",),
        "order_number": ("注文番号",),
        "ordered_at": ("注文日時",),
        "updated_at": ("更新日時",),
        "status": ("ステータス",),
        "payment_method": ("支払方法",),
        "buyer_name": ("購入者名",),
        "recipient_name": ("送付先氏名",),
        "postcode": ("郵便番号",),
        "address": ("住所",),
        "phone": ("電話番号",),
        "total": ("合計金額",),
        "shipping_fee": ("送料",),
        "note": ("備考",),
        "line_number": ("明細番号",),
        "mall_item_code": ("商品コード",),
        "seller_sku": ("SKU",),
        "item_name": ("商品名",),
        "quantity": ("数量",),
        "unit_price": ("単価",),
    },
    required=("order_number", "ordered_at", "quantity", "unit_price"),
    statuses={
        "新規": "新規",
        "入金待ち": "入金待ち",
        "発送待ち": "発送待ち",
        "保留": "保留",
        "出荷済": "出荷済",
        "出荷済み": "出荷済",
        "発送済": "出荷済",
        "発送済み": "出荷済",
        "キャンセル": "キャンセル",
    },
    default_status="新規",
    date_example="2026-11-30 14:05:00",
    # Excel shows and saves times without zero padding, e.g. 2026/1/5 9:05.
    date_formats=("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M"),
)

PRESETS: dict[str, Layout] = {layout.name: layout for layout in (AMAZON_ORDER_REPORT, GENERIC)}
