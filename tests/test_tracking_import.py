"""Tracking numbers back: format detection, preview classes, apply, and a B2 round trip."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from sheets_schema.book import ensure_tabs, read_tables
from shipping.carrier_files import Sender, build_file, key_map, order_key
from shipping.carrier_layouts import B2, EHIDEN2
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
from tests.conftest import SqlHarness
from tests.shop_fixtures import Shop, open_shop, staff_edit

SENDER = Sender(
    name="一源ストア", postcode="150-0001", address="東京都渋谷区神宮前1-2-3", phone="03-1111-2222"
)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    harness = SqlHarness(tmp_path / "workbook.sqlite3")
    ensure_tabs(harness.workbook)
    return open_shop(harness.workbook, tmp_path / "malls")


def unshipped(shop: Shop) -> list:
    return [o for o in shop.tables()["受注"].models() if o.status == "出荷済" and not o.tracking_number][:5]


def csv_bytes(rows: list[list[str]], encoding: str = "cp932") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def keys(shop: Shop, limit: int = 20) -> dict[str, tuple[str, str]]:
    return key_map(shop.tables()["受注"].models(), limit)


def test_detect_each_format() -> None:
    b2 = csv_bytes([B2.column_names, ["RT1A2B3", "0", "0", "123456789012"] + [""] * 93])
    assert detect(b2).key == "b2_issued" and detect(b2).has_header
    ehiden = csv_bytes([["400012345678", "2026/12/01"] + [""] * 8 + ["RT1001ABCD"] + [""] * 42])
    fmt = detect(ehiden)
    assert fmt.key == "ehiden2_history" and not fmt.has_header and fmt.key_column == 10
    yupri_header = ["お客様側管理番号", "お問い合わせ番号", "仮引受確定作業年月日", "配送完了作業年月日",
                    "配達ステータス集約コード", "配達ステータス明細コード"]  # fmt: skip
    yupri = detect(csv_bytes([yupri_header, ["RT1001ABCD", "1234-5678-9012", "", "", "", ""]]))
    assert yupri.key == "yupri_history" and yupri.carrier == "日本郵便"
    assert detect("注文番号,追跡番号\r\n1001,123\r\n".encode()).has_header
    assert not detect(b"1001,123456789012\n").has_header
    with pytest.raises(TrackingFileError, match="形式を判別できません（3列）"):
        detect(b"a,b,c\n")


def test_b2_file_round_trip_matches_every_order_and_applies(shop: Shop) -> None:
    tables = shop.tables()
    targets = unshipped(shop)
    assert len(targets) == 5
    data = build_file(
        B2, orders_with_lines(tables, [(o.mall, o.order_number) for o in targets]), sender=SENDER,
        ship_date=date(2026, 12, 1),
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


def test_ehiden2_history_and_yupri_history(shop: Shop) -> None:
    a, b = unshipped(shop)[:2]
    header = ["お問合せ送り状No", "出荷日時"] + [f"項目{i}" for i in range(3, 54)]
    header[10] = "お客様管理ナンバー"
    row = ["4000-1234-5678", "2026/12/01 10:00"] + [""] * 51
    row[10] = order_key(a.mall, a.order_number, EHIDEN2.key_limit)
    ehiden = preview(shop.tables(), csv_bytes([header, row]), keys(shop, EHIDEN2.key_limit))
    assert ehiden.format.key == "ehiden2_history" and ehiden.format.carrier == "佐川急便"
    assert [(r.status, r.tracking_number, r.order_number) for r in ehiden.rows] == [
        (MATCHED, "400012345678", a.order_number)
    ]

    yupri_rows = [
        [
            "お客様側管理番号",
            "お問い合わせ番号",
            "仮引受確定作業年月日",
            "配送完了作業年月日",
            "集約",
            "明細",
        ],
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
