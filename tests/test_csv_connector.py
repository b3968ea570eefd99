"""Order files downloaded from a mall: Amazon's flat-file reports, the generic CSV, the inbox connector."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from sheets_schema.cells import JST
from sync.connectors import ChannelConfigError, channel_settings, connector_module
from sync.connectors.base import OrderPage
from sync.connectors.csv_files import (
    PRESETS,
    Connector,
    CsvOrderPage,
    InboxCursor,
    Settings,
    parse_order_file,
)
from sync.errors import MallRejected, MallUnavailable
from sync.models import Shipment, StockLevel

AMAZON = PRESETS["amazon_order_report"]
GENERIC = PRESETS["generic"]

# Header of the Order Report / Unshipped Orders report as Seller Central JP writes it (help 201648780).
ORDER_REPORT_HEADER = [
    "order-id",
    "order-item-id",
    "purchase-date",
    "payments-date",
    "buyer-email",
    "buyer-name",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-purchased",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "ship-service-level",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "ship-phone-number",
    "delivery-start-date",
    "delivery-end-date",
    "delivery-time-zone",
    "delivery-Instructions",
]

# Header of GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL (no customer-identifying columns).
ALL_ORDERS_HEADER = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
]

GENERIC_HEADER = [
    "モール",
    "注文番号",
    "注文日時",
    "ステータス",
    "支払方法",
    "購入者名",
    "送付先氏名",
    "郵便番号",
    "住所",
    "電話番号",
    "合計金額",
    "送料",
    "備考",
    "明細番号",
    "商品コード",
    "SKU",
    "商品名",
    "数量",
    "単価",
]


def table(header: Sequence[str], rows: Sequence[Mapping[str, str]], delimiter: str = "\t") -> str:
    """A file as the mall writes it: Amazon's tab files unquoted, CSV quoted where needed (Excel)."""
    out = io.StringIO()
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row.get(h, "") for h in header] for row in rows)
    return out.getvalue()


def report_row(order_id: str, **cells: str) -> dict[str, str]:
    row = {
        "order-id": order_id,
        "purchase-date": "2026-11-30T05:05:00+00:00",
        "payments-date": "2026-11-30T05:06:00+00:00",
        "buyer-name": "山田 太郎",
        "buyer-phone-number": "09012345678",
        "currency": "JPY",
        "ship-service-level": "Standard",
        "recipient-name": "山田 太郎",
        "ship-state": "北海道",
        "ship-city": "札幌市北区",
        "ship-address-1": "北七条西５丁目",
        "ship-postal-code": "0600807",
        "ship-country": "JP",
        "ship-phone-number": "0111234567",
        "quantity-purchased": "1",
        "item-price": "1980",
        "shipping-price": "0",
    }
    row.update({k.replace("_", "-"): v for k, v in cells.items()})
    return row


# --------------------------------------------------------------------------- Amazon order report


def amazon_order_report_cp932() -> bytes:
    rows = [
        report_row(
            "503-1111111-0000001",
            order_item_id="11111111111111",
            sku="00123",
            product_name="今治タオル　フェイス（白）①～",
            quantity_purchased="2",
            item_price="3960.00",
            shipping_price="500",
            ship_address_2="北海道ビル１０１号",
        ),
        report_row(
            "503-1111111-0000001",
            order_item_id="11111111111112",
            sku="SKU-B",
            product_name="ﾊﾝｶﾁ 青",
            quantity_purchased="1",
            item_price="880",
        ),
        report_row("503-2222222-0000002", order_item_id="22222222222221", sku="SKU-C", item_price="1500"),
    ]
    return table(ORDER_REPORT_HEADER, rows).encode("cp932")


def test_amazon_order_report_groups_items_into_orders_and_keeps_identifiers_as_text() -> None:
    outcome = parse_order_file(
        amazon_order_report_cp932(), AMAZON, mall="Amazon", file_name="amazon_order_report.txt"
    )
    assert outcome.errors == []
    assert [o.order_number for o in outcome.orders] == ["503-1111111-0000001", "503-2222222-0000002"]
    first = outcome.orders[0]
    assert first.mall == "Amazon"
    assert [line.line_number for line in first.lines] == [1, 2]
    towel, handkerchief = first.lines
    assert towel.seller_sku == towel.mall_item_code == "00123"
    assert towel.name == "今治タオル　フェイス（白）①～"
    assert handkerchief.name == "ﾊﾝｶﾁ 青"
    # item-price is the line total ("aggregates of the quantity"): 3960 for 2 -> 1980 each.
    assert (towel.quantity, towel.unit_price) == (2, 1980)
    assert first.total == 3960 + 880 + 500
    assert first.shipping_fee == 500
    # purchase-date is GMT with an offset; Ichigen works in JST.
    assert first.ordered_at == datetime(2026, 11, 30, 14, 5, tzinfo=JST)
    assert first.updated_at == datetime(2026, 11, 30, 14, 6, tzinfo=JST)
    assert first.delivery.postcode == "0600807"
    assert first.delivery.phone == "0111234567"
    assert first.delivery.address == "北海道札幌市北区北七条西５丁目 北海道ビル１０１号"
    assert first.buyer.name == "山田 太郎"
    # The Order Report lists seller-fulfilled orders waiting to ship.
    assert (first.status, first.allocates_stock, first.review) == ("新規", True, ())


def amazon_all_orders_report() -> bytes:
    base = {
        "purchase-date": "2026-11-30T05:05:00+00:00",
        "last-updated-date": "2026-12-01T01:00:00+00:00",
        "sales-channel": "Amazon.co.jp",
        "currency": "JPY",
        "quantity": "1",
        "ship-state": "東京都",
        "ship-postal-code": "100-0001",
        "ship-country": "JP",
    }
    rows = [
        base
        | {
            "amazon-order-id": "249-0000001-0000001",
            "order-status": "Shipped",
            "fulfillment-channel": "Amazon",
            "sku": "FBA-1",
            "item-status": "Shipped",
            "item-price": "24732.00",
        },
        base
        | {
            "amazon-order-id": "249-0000002-0000002",
            "order-status": "Cancelled",
            "fulfillment-channel": "Merchant",
            "sku": "00123",
            "item-status": "Cancelled",
            "quantity": "0",
        },
        base
        | {
            "amazon-order-id": "249-0000003-0000003",
            "order-status": "Pending",
            "fulfillment-channel": "Merchant",
            "sku": "00123",
            "item-status": "Unshipped",
        },
        base
        | {
            "amazon-order-id": "249-0000004-0000004",
            "order-status": "Unshipped",
            "fulfillment-channel": "Merchant",
            "sku": "00123",
            "quantity": "3",
            "item-price": "5940",
            "shipping-price": "350",
            "ship-promotion-discount": "-350",
        },
        base
        | {
            "amazon-order-id": "249-0000004-0000004",
            "order-status": "Unshipped",
            "fulfillment-channel": "Merchant",
            "sku": "SKU-B",
            "item-status": "Cancelled",
            "quantity": "1",
            "item-price": "880",
        },
    ]
    return table(ALL_ORDERS_HEADER, rows).encode("utf-8")


def test_all_orders_report_fba_cancelled_and_pending_orders() -> None:
    outcome = parse_order_file(amazon_all_orders_report(), AMAZON, mall="Amazon", file_name="all.txt")
    assert outcome.errors == []
    fba, cancelled, pending, unshipped = outcome.orders
    # FBA: Amazon ships from its own warehouse, so the order is recorded without allocating.
    assert (fba.status, fba.allocates_stock, fba.total) == ("出荷済", False, 24732)
    assert fba.updated_at == datetime(2026, 12, 1, 10, 0, tzinfo=JST)
    assert (cancelled.status, cancelled.total, cancelled.lines[0].quantity) == ("キャンセル", 0, 0)
    assert (pending.status, pending.allocates_stock) == ("入金待ち", True)
    assert pending.review  # no price yet, no address: a person should look
    assert unshipped.status == "新規"
    # A cancelled item in a live order becomes quantity 0; free-shipping promotion nets shipping.
    assert [(line.quantity, line.unit_price) for line in unshipped.lines] == [(3, 1980), (0, 880)]
    assert (unshipped.shipping_fee, unshipped.total) == (0, 5940)


def test_unknown_order_status_is_a_row_error_naming_the_column() -> None:
    data = table(
        ALL_ORDERS_HEADER,
        [
            {
                "amazon-order-id": "1",
                "purchase-date": "2026-11-30T05:05:00Z",
                "order-status": "Lost",
                "sku": "A",
                "quantity": "1",
                "item-price": "100",
            }
        ],
    ).encode()
    outcome = parse_order_file(data, AMAZON, mall="Amazon", file_name="all.txt")
    assert outcome.orders == []
    assert len(outcome.errors) == 1
    assert str(outcome.errors[0]).startswith(
        "「all.txt」 2行目 「order-status」列: 取り込めないステータスです"
    )


# --------------------------------------------------------------------------- bad rows


def test_bad_rows_are_reported_with_line_numbers_while_good_rows_import() -> None:
    rows = [
        report_row("503-0000000-0000001", sku="A"),  # line 2: good
        report_row("503-0000000-0000002", sku="B", quantity_purchased="x"),  # line 3
        report_row("503-0000000-0000003", sku="C", purchase_date="昨日"),  # line 4
        report_row("", sku="D"),  # line 5: no order number
        report_row("503-0000000-0000005", sku="E", item_price="10.5"),  # line 6
        report_row("503-0000000-0000006", sku="F"),  # line 7: good
        report_row("503-0000000-0000006", sku="G", quantity_purchased="-1"),  # line 8: same order
    ]
    data = table(ORDER_REPORT_HEADER, rows).encode("cp932")
    outcome = parse_order_file(data, AMAZON, mall="Amazon", file_name="orders.txt")
    assert [o.order_number for o in outcome.orders] == ["503-0000000-0000001"]
    assert outcome.messages == [
        "「orders.txt」 3行目 「quantity-purchased」列: 整数で入力してください（入力値: 「x」）",
        "「orders.txt」 4行目 「purchase-date」列: "
        "日時は「2026-11-30T14:05:00+09:00」の形で入力してください（入力値: 「昨日」）",
        "「orders.txt」 5行目 「order-id」列: 空欄にはできません",
        "「orders.txt」 6行目 「item-price」列: 円未満の端数がある金額は取り込めません（入力値: 「10.5」）",
        # The whole order is held back, so its good line 7 is not silently half-imported.
        "「orders.txt」 7行目: 注文番号「503-0000000-0000006」は誤りのある行を含むため、注文ごと取り込んでいません",
        "「orders.txt」 8行目 「quantity-purchased」列: 0以上の整数で入力してください（入力値: 「-1」）",
    ]


def test_missing_header_column_is_one_error_and_no_orders() -> None:
    header = [h for h in ORDER_REPORT_HEADER if h != "quantity-purchased"]
    data = table(header, [report_row("503-0000000-0000001", sku="A")]).encode()
    outcome = parse_order_file(data, AMAZON, mall="Amazon", file_name="orders.txt")
    assert outcome.orders == []
    assert outcome.messages == [
        "「orders.txt」 1行目: 「quantity-purchased」列がありません。Amazonの注文レポートの見出し（1行目）と合いません"
    ]


def test_comma_file_given_to_the_tab_layout_says_so() -> None:
    data = b"order-id,purchase-date,sku\r\n1,2026-11-30,A\r\n"
    outcome = parse_order_file(data, AMAZON, mall="Amazon", file_name="orders.csv")
    assert len(outcome.errors) == 1
    assert "タブ区切りのファイルではないようです" in outcome.messages[0]


def test_undecodable_and_empty_files_are_one_error_each() -> None:
    garbage = parse_order_file(b"\x81\x00\xff\xfe\x80", GENERIC, mall="楽天", file_name="x.csv")
    assert garbage.orders == [] and "文字コード" in garbage.messages[0]
    empty = parse_order_file(b"\xef\xbb\xbf", GENERIC, mall="楽天", file_name="x.csv")
    assert empty.messages == ["「x.csv」: ファイルが空です"]


# --------------------------------------------------------------------------- generic CSV


def generic_row(order: str, line: str, **cells: str) -> dict[str, str]:
    row = {
        "モール": "楽天",
        "注文番号": order,
        "注文日時": "2026-11-30 14:05:00",
        "ステータス": "新規",
        "支払方法": "クレジットカード",
        "購入者名": "佐藤 花子",
        "送付先氏名": "佐藤 花子",
        "郵便番号": "012-0001",
        "住所": "秋田県湯沢市1-2-3",
        "電話番号": "0183000000",
        "明細番号": line,
        "数量": "1",
        "単価": "1000",
    }
    row.update(cells)
    return row


def test_generic_utf8_with_bom_repeats_order_values_per_line() -> None:
    rows = [
        generic_row("000123", "1", 合計金額="3500", 送料="500", 商品コード="towel-01", SKU="00077", 数量="2"),
        generic_row("000123", "2", 合計金額="3500", 送料="500", SKU="00078", 商品名="ハンカチ"),
        generic_row("000124", "1", SKU="00077", 備考="のし希望"),
    ]
    data = b"\xef\xbb\xbf" + table(GENERIC_HEADER, rows, ",").encode("utf-8")
    outcome = parse_order_file(data, GENERIC, mall="楽天", file_name="generic.csv")
    assert outcome.errors == []
    first, second = outcome.orders
    assert (first.order_number, first.total, first.shipping_fee) == ("000123", 3500, 500)
    assert first.payment_method == "クレジットカード"
    assert [(ln.line_number, ln.mall_item_code, ln.seller_sku) for ln in first.lines] == [
        (1, "towel-01", "00077"),
        (2, "00078", "00078"),
    ]
    assert first.delivery.postcode == "012-0001"
    assert first.delivery.phone == "0183000000"
    assert first.ordered_at == datetime(2026, 11, 30, 14, 5, tzinfo=JST)
    # 合計金額 left blank: lines plus shipping.
    assert (second.total, second.note) == (1000, "のし希望")


def test_generic_cp932_from_excel() -> None:
    rows = [
        generic_row(
            "A-1",
            "1",
            注文日時="2026/1/5 9:05",
            ステータス="入金待ち",
            SKU="00077",
            商品名="湯のみ（青）①",
            数量="２",
            単価="￥1,980",
        ),
    ]
    data = table(GENERIC_HEADER, rows, ",").encode("cp932")
    outcome = parse_order_file(data, GENERIC, mall="楽天", file_name="excel.csv")
    assert outcome.errors == []
    order = outcome.orders[0]
    assert order.ordered_at == datetime(2026, 1, 5, 9, 5, tzinfo=JST)
    assert order.status == "入金待ち"
    line = order.lines[0]
    assert (line.name, line.quantity, line.unit_price, order.total) == ("湯のみ（青）①", 2, 1980, 3960)


def test_generic_rejects_other_malls_duplicate_lines_and_excel_mangled_codes() -> None:
    rows = [
        generic_row("B-1", "1", SKU="X"),  # line 2
        generic_row("B-1", "1", SKU="Y"),  # line 3: same 明細番号
        generic_row("B-2", "1", モール="Amazon", SKU="X"),  # line 4
        generic_row("B-3", "1", SKU="4.90123E+12"),  # line 5
        generic_row("B-4", "1"),  # line 6: no code at all
    ]
    outcome = parse_order_file(
        table(GENERIC_HEADER, rows, ",").encode(), GENERIC, mall="楽天", file_name="g.csv"
    )
    assert outcome.orders == []
    assert [(e.row, e.column) for e in outcome.errors] == [
        (2, ""),
        (3, "明細番号"),
        (4, "モール"),
        (5, "SKU"),
        (6, "SKU"),
    ]
    assert "「商品コード」か「SKU」を入力してください" in outcome.messages[-1]


def test_a_layout_with_one_row_per_order_rejects_a_repeated_order_number() -> None:
    one_row_per_order = dataclasses.replace(GENERIC, row_is_line=False)
    rows = [
        generic_row("C-1", "1", SKU="X"),
        generic_row("C-2", "1", SKU="X"),
        generic_row("C-1", "2", SKU="Y"),
    ]
    data = table(GENERIC_HEADER, rows, ",").encode()
    outcome = parse_order_file(data, one_row_per_order, mall="楽天", file_name="g.csv")
    assert [o.order_number for o in outcome.orders] == ["C-2"]
    assert [(e.row, e.column) for e in outcome.errors] == [(2, ""), (4, "注文番号")]


# --------------------------------------------------------------------------- inbox connector

FAR_FUTURE = datetime.now(JST) + timedelta(days=1)


def report_with(*order_ids: str) -> bytes:
    return table(ORDER_REPORT_HEADER, [report_row(o, sku="A") for o in order_ids]).encode("cp932")


def make_connector(root: Path, **overrides: object) -> Connector:
    (root / "data" / "inbox" / "amazon").mkdir(parents=True, exist_ok=True)
    section = {
        "type": "csv",
        "mall": "Amazon",
        "display_name": "Amazon（ファイル）",
        "layout": "amazon_order_report",
        "inbox_dir": "data/inbox/amazon",
        "page_size": 2,
    } | overrides
    settings = channel_settings("amazon_files", section)
    module = connector_module("csv")
    return module.Connector("amazon_files", settings, session=None, project_root=root)


def drop(root: Path, name: str, data: bytes) -> Path:
    path = root / "data" / "inbox" / "amazon" / name
    path.write_bytes(data)
    return path


def numbers(pages: list[OrderPage]) -> list[str]:
    return [o.order_number for page in pages for o in page.orders]


def test_inbox_pages_a_file_and_the_cursor_skips_what_was_read(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    drop(tmp_path, "2026-11-30.txt", report_with("1", "2", "3"))
    pages = list(connector.fetch_orders(None, until=FAR_FUTURE))
    assert [len(p.orders) for p in pages] == [2, 1]
    assert all(isinstance(p, CsvOrderPage) and p.file_name == "2026-11-30.txt" for p in pages)
    assert numbers(pages) == ["1", "2", "3"]
    cursor = pages[-1].cursor
    assert list(connector.fetch_orders(cursor, until=FAR_FUTURE)) == []
    # Resuming from the first page's cursor hands out only what that page did not.
    assert numbers(list(connector.fetch_orders(pages[0].cursor, until=FAR_FUTURE))) == ["3"]

    drop(tmp_path, "2026-12-01.txt", report_with("4"))
    pages = list(connector.fetch_orders(cursor, until=FAR_FUTURE))
    assert numbers(pages) == ["4"]
    cursor = pages[-1].cursor

    drop(tmp_path, "2026-11-30.txt", report_with("1", "2", "3", "5"))  # rewritten, same name
    assert numbers(list(connector.fetch_orders(cursor, until=FAR_FUTURE))) == ["1", "2", "3", "5"]


def test_cursor_file_is_read_again_only_when_its_content_changed(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    drop(tmp_path, "a.txt", report_with("1"))
    [page] = connector.fetch_orders(None, until=FAR_FUTURE)
    seen = InboxCursor.parse(page.cursor)
    assert seen is not None and seen.done is None and seen.name == "a.txt"
    # Same arrival and name (start included): skipped while the digest matches ...
    assert list(connector.fetch_orders(str(seen), until=FAR_FUTURE)) == []
    # ... and read again when it does not (rewritten within the same timestamp).
    changed = InboxCursor(seen.arrival_ns, seen.name, "0" * 16, None)
    assert numbers(list(connector.fetch_orders(str(changed), until=FAR_FUTURE))) == ["1"]


def test_a_report_copied_in_late_with_an_old_modification_time_is_still_read(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    drop(tmp_path, "b.txt", report_with("1"))
    [page] = connector.fetch_orders(None, until=FAR_FUTURE)
    old = drop(tmp_path, "a.txt", report_with("2"))
    stamp = datetime(2020, 1, 1, tzinfo=JST).timestamp()
    os.utime(old, (stamp, stamp))  # as a copy that keeps the download's time
    assert numbers(list(connector.fetch_orders(page.cursor, until=FAR_FUTURE))) == ["2"]


def test_files_arriving_after_until_and_temporary_files_wait(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    drop(tmp_path, "report.txt.crdownload", report_with("1"))
    drop(tmp_path, "~$report.txt", report_with("2"))
    drop(tmp_path, "report.txt", report_with("3"))
    assert list(connector.fetch_orders(None, until=datetime(2000, 1, 1, tzinfo=JST))) == []
    assert numbers(list(connector.fetch_orders(None, until=FAR_FUTURE))) == ["3"]


def test_row_errors_are_on_the_page_and_the_connector_and_cleared_per_fetch(tmp_path: Path) -> None:
    connector = make_connector(tmp_path, file_glob="*.txt")
    rows = [report_row("1", sku="A"), report_row("2", sku="B", quantity_purchased="x")]
    drop(tmp_path, "bad.txt", table(ORDER_REPORT_HEADER, rows).encode("cp932"))
    drop(tmp_path, "ignored.csv", b"not matched by the glob")
    pages = list(connector.fetch_orders(None, until=FAR_FUTURE))
    assert numbers(pages) == ["1"]
    expected = "「bad.txt」 3行目 「quantity-purchased」列: 整数で入力してください（入力値: 「x」）"
    assert pages[0].errors == (expected,)
    assert connector.row_errors == [expected]
    assert list(connector.fetch_orders(pages[-1].cursor, until=FAR_FUTURE)) == []
    assert connector.row_errors == []


def test_a_file_without_good_orders_still_moves_the_cursor(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    drop(tmp_path, "wrong.txt", b"hello\tworld\r\n")
    [page] = connector.fetch_orders(None, until=FAR_FUTURE)
    assert page.orders == [] and len(page.errors) == 1
    assert list(connector.fetch_orders(page.cursor, until=FAR_FUTURE)) == []


def test_missing_inbox_is_a_japanese_error(tmp_path: Path) -> None:
    connector = make_connector(tmp_path, inbox_dir="data/inbox/none")
    with pytest.raises(MallUnavailable, match="取込フォルダ"):
        list(connector.fetch_orders(None, until=FAR_FUTURE))


def test_stock_and_shipments_cannot_be_sent_to_a_file_channel(tmp_path: Path) -> None:
    connector = make_connector(tmp_path)
    levels = [StockLevel(mall="Amazon", sku=s, mall_item_code=s, quantity=3) for s in ("00123", "B")]
    results = connector.push_stock(levels)
    assert [(r.sku, r.ok, r.error) for r in results] == [
        ("00123", False, "CSV連携のモールには在庫を送信できません"),
        ("B", False, "CSV連携のモールには在庫を送信できません"),
    ]
    shipment = Shipment(
        mall="Amazon",
        order_number="503-1",
        carrier="ヤマト運輸",
        tracking_number="1234",
        shipped_at=datetime(2026, 12, 1, tzinfo=JST),
    )
    with pytest.raises(MallRejected, match="管理画面"):
        connector.confirm_shipment(shipment)


def test_settings_name_a_known_layout() -> None:
    with pytest.raises(ChannelConfigError, match="amazon_order_report"):
        channel_settings("x", {"type": "csv", "mall": "Amazon", "layout": "rakuten", "inbox_dir": "in"})
    with pytest.raises(ValidationError):
        Settings(type="csv", mall="Amazon", layout="generic", inbox_dir=Path("in"), surprise=1)
