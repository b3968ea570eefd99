"""Tracking numbers back: each carrier export (with and without its header row, built from the
references' layouts in tests/carrier_references.py), preview classes, apply, round trips."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from sheets_schema.book import ensure_tabs, read_tables
from shipping.carrier_files import Sender, YamatoAccount, build_file, key_map, legacy_order_key, order_key
from shipping.carrier_layouts import B2, EHIDEN2, EHIDEN3
from shipping.documents import orders_with_lines
from shipping.tracking_import import (
    CONFLICT,
    DUPLICATE,
    MATCHED,
    NOT_FOUND,
    SAME,
    TrackingFileError,
    apply,
    detect,
    preview,
)
from tests.carrier_references import (
    EHIDEN2_HISTORY_HEADER,
    EHIDEN3_HEADER,
    YUPRI_HISTORY_HEADER,
    csv_bytes,
    row_with,
)
from tests.conftest import SqlHarness
from tests.shop_fixtures import Shop, open_shop, staff_edit

SENDER = Sender(
    name="一源ストア", postcode="150-0001", address="東京都渋谷区神宮前1-2-3", phone="03-1111-2222"
)
ACCOUNT = YamatoAccount("0312345678", "", "01")


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    harness = SqlHarness(tmp_path / "workbook.sqlite3")
    ensure_tabs(harness.workbook)
    return open_shop(harness.workbook, tmp_path / "malls")


def unshipped(shop: Shop) -> list:
    return [o for o in shop.tables()["受注"].models() if o.status == "出荷済" and not o.tracking_number][:5]


def keys(shop: Shop) -> dict:
    return key_map(shop.tables()["受注"].models())


def four(shop: Shop) -> list:
    """Four orders to ship, the longest order numbers first (楽天's 24 digits among them: the
    ones a 16-character key used to lose)."""
    waiting = [o for o in shop.tables()["受注"].models() if o.status == "出荷済" and not o.tracking_number]
    chosen = sorted(waiting, key=lambda o: -len(o.order_number))[:4]
    assert any(o.mall == "楽天" and len(o.order_number) > 20 for o in chosen)
    return chosen


def issued_keys(shop: Shop, layout, orders: list) -> list[str]:
    """The management keys as Ichigen's label file for ``layout`` wrote them."""
    data = build_file(
        layout, orders_with_lines(shop.tables(), [(o.mall, o.order_number) for o in orders]),
        sender=SENDER, ship_date=date(2026, 12, 1), account=ACCOUNT,
    )  # fmt: skip
    header, *rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    return [r[header.index(layout.key_column)] for r in rows]


def tracking(i: int) -> str:
    return f"4000123456{i:02d}"


def matched(result) -> list[tuple[str, str, str]]:
    return [(r.status, r.mall, r.order_number, r.tracking_number) for r in result.rows]


def expected(orders: list) -> list:
    return [(MATCHED, o.mall, o.order_number, tracking(i)) for i, o in enumerate(orders)]


def b2_export(width: int, key_at: int, tracking_at: int, header: bool, pairs: list) -> bytes:
    names = [f"項目{i}" for i in range(width)]
    names[key_at], names[tracking_at] = "お客様管理番号", "伝票番号"
    rows = [row_with(width, {key_at: k, tracking_at: t, width - 1: "x"}) for k, t in pairs]
    return csv_bytes(([names] if header else []) + rows)


@pytest.mark.parametrize(
    ("width", "key_at", "tracking_at", "header"),
    [
        (5, 1, 0, True),  # an account exporting 5 columns, 伝票番号 first
        (98, 0, 3, True),  # a 98-column variant
        (97, 0, 3, True),  # the import layout
        (97, 0, 3, False),  # headerless: the import layout's positions
        (40, 0, 3, False),
    ],
)
def test_b2_issued_data_of_any_width_is_read_by_header_name(
    shop: Shop, width, key_at, tracking_at, header
) -> None:
    orders = four(shop)
    pairs = [(k, tracking(i)) for i, k in enumerate(issued_keys(shop, B2, orders))]
    result = preview(shop.tables(), b2_export(width, key_at, tracking_at, header, pairs), keys(shop))
    assert result.format.key == "b2_issued" and result.format.has_header == header
    assert matched(result) == expected(orders)


@pytest.mark.parametrize("header", [True, False])
def test_ehiden2_history_matches_every_order_at_the_references_column(shop: Shop, header: bool) -> None:
    orders = four(shop)
    keys_written = issued_keys(shop, EHIDEN2, orders)
    # NewSagawaVO: お問合せ送り状No at 0, 出荷日時 at 1, お客様管理ナンバー at 12 (PAEhidenUtills: [12])
    rows = [
        row_with(53, {0: tracking(i), 1: "20261201", 9: "山田 花子", 10: "（名称2）", 12: key})
        for i, key in enumerate(keys_written)
    ]
    data = csv_bytes(([EHIDEN2_HISTORY_HEADER] if header else []) + rows)
    result = preview(shop.tables(), data, keys(shop))
    assert result.format.key == "ehiden2_history" and result.format.has_header == header
    assert result.format.key_column == 12 and result.format.carrier == "佐川急便"
    assert matched(result) == expected(orders)  # 4 of 4 (was 0 of 4 headerless, 2 of 4 with header)


@pytest.mark.parametrize("header", [True, False])
def test_ehiden3_export_is_read(shop: Shop, header: bool) -> None:
    orders = four(shop)
    keys_written = issued_keys(shop, EHIDEN3, orders)
    if header:
        # the 74-column layout with お問い合せ送り状No. filled
        at_key, at_tracking = (
            EHIDEN3_HEADER.index("お客様管理番号"),
            EHIDEN3_HEADER.index("お問い合せ送り状No."),
        )
        rows = [EHIDEN3_HEADER] + [
            row_with(74, {at_key: k, at_tracking: tracking(i)}) for i, k in enumerate(keys_written)
        ]
    else:
        # WCEX Sagawa Number reads [0] 荷物配送番号, [2] 出荷日付, [18] お客様管理番号
        rows = [row_with(30, {0: tracking(i), 2: "20261201", 18: k}) for i, k in enumerate(keys_written)]
    result = preview(shop.tables(), csv_bytes(rows), keys(shop))
    assert result.format.key == "ehiden3_export" and result.format.carrier == "佐川急便"
    assert matched(result) == expected(orders)


@pytest.mark.parametrize("header", [True, False])
def test_yupri_history_is_read_with_and_without_header(shop: Shop, header: bool) -> None:
    orders = four(shop)
    rows = [
        [order_key(o.mall, o.order_number), tracking(i), "2026/12/01", "", "", ""]
        for i, o in enumerate(orders)
    ]
    result = preview(shop.tables(), csv_bytes(([YUPRI_HISTORY_HEADER] if header else []) + rows), keys(shop))
    assert result.format.key == "yupri_history" and result.format.carrier == "日本郵便"
    assert matched(result) == expected(orders)


def test_keys_of_files_printed_before_the_16_character_scheme_still_match(shop: Shop) -> None:
    orders = four(shop)
    pairs = [(legacy_order_key(o.mall, o.order_number, 20), tracking(i)) for i, o in enumerate(orders)]
    result = preview(shop.tables(), b2_export(97, 0, 3, True, pairs), keys(shop))
    assert matched(result) == expected(orders)
    # full-width digits/letters as some exports write them are read too
    wide = [(k.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}), t) for k, t in pairs]
    assert matched(preview(shop.tables(), b2_export(97, 0, 3, True, wide), keys(shop))) == expected(orders)


def test_detect_simple_and_refuses_what_it_cannot_read() -> None:
    assert detect("注文番号,追跡番号\r\n1001,123\r\n".encode()).has_header
    assert not detect(b"1001,123456789012\n").has_header
    with pytest.raises(TrackingFileError, match="形式を判別できません（3列）"):
        detect(b"a,b,c\n")
    # a headerless file whose columns hold no known key is not guessed
    with pytest.raises(TrackingFileError, match="形式を判別できません（97列）"):
        detect(csv_bytes([row_with(97, {0: "ZZ0000FFFF", 3: "123456789012"})]), {})


def test_b2_file_round_trip_matches_every_order_and_applies(shop: Shop) -> None:
    tables = shop.tables()
    targets = unshipped(shop)
    assert len(targets) == 5
    data = build_file(
        B2, orders_with_lines(tables, [(o.mall, o.order_number) for o in targets]), sender=SENDER,
        ship_date=date(2026, 12, 1), account=ACCOUNT,
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    issued = {}
    for i, row in enumerate(rows[1:]):
        row[3] = f"4000000000{i:02d}"  # the label software fills 伝票番号
        issued[row[0]] = row[3]
    result = preview(tables, csv_bytes(rows), keys(shop))
    assert result.format.key == "b2_issued"
    assert [r.status for r in result.rows] == [MATCHED] * 5
    assert {(r.mall, r.order_number) for r in result.rows} == {(o.mall, o.order_number) for o in targets}

    job = apply(tables, result, "ヤマト運輸")
    assert len(job.updates) == 15
    assert {u.column for u in job.updates} == {
        tables["受注"].column(h) for h in ("ステータス", "配送会社", "追跡番号")
    }
    shop.workbook.write(job)
    after = {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}
    for order in targets:
        stored = after[(order.mall, order.order_number)]
        assert stored.status == "出荷済" and stored.carrier == "ヤマト運輸"
        assert stored.tracking_number == issued[order_key(order.mall, order.order_number)]
        assert stored.shipment_notice == ""  # the next sync tells the mall

    again = preview(shop.tables(), csv_bytes(rows), keys(shop))
    assert [r.status for r in again.rows] == [SAME] * 5
    assert not apply(shop.tables(), again, "ヤマト運輸")


def test_simple_file_with_unmatched_duplicate_and_conflict(shop: Shop) -> None:
    a, b, c, d = unshipped(shop)[:4]
    shop.staff_edit("受注", (c.mall, c.order_number), {"追跡番号": "999999999999", "配送会社": "佐川急便"})
    data = "\r\n".join([
        "注文番号,追跡番号",
        f"{a.mall}:{a.order_number},111111111111",
        "NOPE-1,222222222222",
        f"{b.mall}:{b.order_number},333333333333",
        f"{b.mall}:{b.order_number},333333333333",
        f"{c.mall}:{c.order_number},444444444444",
        f"{d.mall}:{d.order_number},",
    ]).encode("utf-8")  # fmt: skip
    result = preview(shop.tables(), data, keys(shop))
    assert result.format.key == "simple"
    assert [(r.line, r.status) for r in result.rows] == [
        (2, MATCHED), (3, NOT_FOUND), (4, MATCHED), (5, DUPLICATE), (6, CONFLICT)
    ]  # fmt: skip
    assert "NOPE-1" in result.rows[1].reason and "ありません" in result.rows[1].reason
    assert "4行目と同じ注文" in result.rows[3].reason
    assert "999999999999" in result.rows[4].reason and "上書きしません" in result.rows[4].reason
    assert len(result.skipped) == 1 and "7行目" in result.skipped[0]

    shop.workbook.write(apply(shop.tables(), result, "日本郵便"))
    after = {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}
    assert after[(a.mall, a.order_number)].tracking_number == "111111111111"
    assert after[(b.mall, b.order_number)].tracking_number == "333333333333"
    assert after[(c.mall, c.order_number)].tracking_number == "999999999999"
    assert after[(c.mall, c.order_number)].carrier == "佐川急便"
    assert after[(d.mall, d.order_number)].tracking_number == ""


def test_duplicate_with_different_numbers_blocks_both_lines(shop: Shop) -> None:
    (a,) = unshipped(shop)[:1]
    data = f"{a.mall}:{a.order_number},111111111111\n{a.mall}:{a.order_number},222222222222\n".encode("cp932")
    result = preview(shop.tables(), data, keys(shop))
    assert [r.status for r in result.rows] == [DUPLICATE, DUPLICATE]
    assert not apply(shop.tables(), result, "ヤマト運輸")


def test_apply_never_overwrites_a_number_set_after_the_preview(shop: Shop) -> None:
    (a,) = unshipped(shop)[:1]
    result = preview(shop.tables(), f"{a.mall}:{a.order_number},111111111111\n".encode(), keys(shop))
    assert result.rows[0].status == MATCHED
    staff_edit(shop.workbook, "受注", (a.mall, a.order_number), {"追跡番号": "555555555555"})
    assert not apply(shop.tables(), result, "ヤマト運輸")


def test_yupri_history_applies_with_the_carrier_the_format_implies(shop: Shop) -> None:
    (b,) = unshipped(shop)[:1]
    yupri_rows = [
        YUPRI_HISTORY_HEADER,
        [order_key(b.mall, b.order_number), "１２３４５６７８９０１２", "", "", "", ""],
        ["ZZ0000FFFF", "999900001111", "", "", "", ""],
    ]
    yupri = preview(shop.tables(), csv_bytes(yupri_rows), keys(shop))
    assert [r.status for r in yupri.rows] == [MATCHED, NOT_FOUND]
    assert yupri.rows[0].tracking_number == "123456789012"
    job = apply(shop.tables(), yupri, None)  # the format implies 日本郵便
    shop.workbook.write(job)
    stored = next(o for o in read_tables(shop.workbook)["受注"].models() if o.order_number == b.order_number)
    assert (stored.status, stored.carrier, stored.tracking_number) == ("出荷済", "日本郵便", "123456789012")


def test_apply_needs_a_carrier_for_the_simple_file(shop: Shop) -> None:
    (a,) = unshipped(shop)[:1]
    result = preview(shop.tables(), f"{a.order_number},111111111111\n".encode(), keys(shop))
    assert result.rows[0].status == MATCHED  # a bare order number found in one mall
    with pytest.raises(TrackingFileError, match="配送会社を選んでください"):
        apply(shop.tables(), result, None)
