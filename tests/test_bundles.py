"""同梱 (combined shipping): proposals, confirm and undo written whole, one label row and one
納品書 per group, the group's tracking number to every order and each mall told once."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from sheets_schema.archive import Archive
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.errors import CellConflict
from sheets_schema.models import Order
from shipping import bundle_slips, bundles, documents, picking_paper
from shipping.carrier_files import YamatoAccount, group_key, key_map, order_key, prepare_file
from shipping.carrier_layouts import B2
from shipping.pdf_layout import ShopInfo
from shipping.tracking_import import MATCHED, apply, preview
from tests.carrier_references import csv_bytes
from tests.conftest import SqlHarness
from tests.pdf_text import pages
from tests.shop_fixtures import Shop, ledger_problems, open_shop
from tests.test_tracking_import import SENDER


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pages(pdf))


NOW = datetime(2026, 12, 7, 10, 0, tzinfo=JST)
ACCOUNT = YamatoAccount("0312345678", "", "01")
SHOP = ShopInfo("一源ストア", "150-0001", "東京都渋谷区神宮前1-2-3", "03-1111-2222")


def order(number: str, **kw) -> Order:
    base = {
        "モール": "楽天",
        "注文番号": number,
        "注文日時": "2026-12-06 09:00:00",
        "ステータス": "発送待ち",
        "購入者名": "山田 太郎",
        "送付先氏名": "山田 太郎",
        "郵便番号": "150-0001",
        "住所": "東京都渋谷区神宮前1-2-3 コーポ101",
        "電話番号": "090-1111-2222",
        "合計金額": 3300,
        "支払方法": "クレジットカード",
    }
    return Order.model_validate({**base, **kw})


# --- proposals (pure) ---------------------------------------------------------------------


def test_same_buyer_and_address_is_proposed_across_malls_with_width_and_spaces_folded() -> None:
    a = order("R-1")
    b = order("Y-1", モール="Yahoo!", 購入者名="山田　太郎", 送付先氏名="山田太郎", 郵便番号="１５００００１",
              住所="東京都渋谷区神宮前１－２－３　コーポ１０１", 注文日時="2026-12-06 12:00:00")  # fmt: skip
    (proposal,) = bundles.proposals([b, a])
    assert proposal.keys == [("楽天", "R-1"), ("Yahoo!", "Y-1")]  # oldest first


@pytest.mark.parametrize(
    "other",
    [
        {"ステータス": "出荷済"},
        {"ステータス": "キャンセル"},
        {"在庫引当": "OFF", "モール": "Amazon"},  # FBA: the mall's warehouse ships it
        {"同梱": "同梱-20261206-AAAA"},  # already in a group
        {"購入者名": "佐藤 花子"},  # a gift from someone else to the same person: never shared
        {"住所": "東京都渋谷区神宮前1-2-4 コーポ101"},
        {"郵便番号": "150-0002"},
    ],
)
def test_what_is_never_proposed(other: dict) -> None:
    assert bundles.proposals([order("R-1"), order("R-2", **other)]) == []


def test_open_statuses_other_than_waiting_are_proposed() -> None:
    found = bundles.proposals([order("R-1", ステータス="入金待ち"), order("R-2", ステータス="保留")])
    assert [p.keys for p in found] == [[("楽天", "R-1"), ("楽天", "R-2")]]


def test_group_id_is_derived_from_its_orders_not_counted() -> None:
    keys = [("楽天", "R-1"), ("Yahoo!", "Y-1")]
    ident = bundles.group_id(keys, NOW)
    assert ident.startswith("同梱-20261207-") and len(ident) == len("同梱-20261207-") + 4
    assert bundles.group_id(list(reversed(keys)), NOW) == ident
    assert bundles.group_id([("楽天", "R-1"), ("楽天", "R-2")], NOW) != ident


# --- on a workbook ------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    harness = SqlHarness(tmp_path / "workbook.sqlite3")
    ensure_tabs(harness.workbook)
    made = open_shop(harness.workbook, tmp_path / "malls")
    made.engine().run_once()
    return made


def known(shop: Shop) -> dict[str, set[str]]:
    """The order numbers each demo mall knows (a seeded order predates them: refused)."""
    return {
        demo.mall: {o.order_number for p in demo.fetch_orders(None, until=shop.clock()) for o in p.orders}
        for demo in shop.malls
    }


def pair(shop: Shop) -> list[Order]:
    """Two open orders the demo malls know, of two malls, made to go to one customer (as if the
    same person had bought at 楽天 and at Yahoo!), both 発送待ち."""
    known = {}
    for demo in shop.malls:
        numbers = {o.order_number for p in demo.fetch_orders(None, until=shop.clock()) for o in p.orders}
        known[demo.mall] = numbers
    rows = shop.tables()["受注"].models()
    first = next(
        o for o in rows if o.mall == "楽天" and o.order_number in known["楽天"] and o.status == "新規"
    )
    second = next(
        o for o in rows if o.mall == "Yahoo!" and o.order_number in known["Yahoo!"] and o.status == "新規"
    )
    same = {"購入者名": first.buyer_name, "送付先氏名": first.recipient_name or first.buyer_name,
            "郵便番号": first.postcode, "住所": first.address}  # fmt: skip
    shop.staff_edit("受注", (second.mall, second.order_number), same)
    for o in (first, second):
        shop.staff_edit("受注", (o.mall, o.order_number), {"ステータス": "発送待ち"})
    shop.engine().run_once(fetch=False)  # the status change settled, as the board does
    by_key = {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}
    return [by_key[(first.mall, first.order_number)], by_key[(second.mall, second.order_number)]]


def cells(shop: Shop) -> list[tuple[str, ...]]:
    return [tuple(r) for r in shop.workbook.read(["受注"])["受注"].rows]


def test_confirm_writes_the_group_whole_once_and_undo_restores_every_cell(shop: Shop) -> None:
    orders = pair(shop)
    keys = [(o.mall, o.order_number) for o in orders]
    assert sorted(keys) in [sorted(p.keys) for p in bundles.proposals(shop.tables()["受注"].models())]
    before = cells(shop)
    tables = shop.tables()
    ident, job = bundles.confirm_job(tables, keys, NOW)
    shop.workbook.write(job)
    after = {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}
    assert [after[k].bundle for k in keys] == [ident, ident]
    assert [after[k].status for k in keys] == ["発送待ち", "発送待ち"]  # each keeps its status
    assert sorted(keys) not in [sorted(p.keys) for p in bundles.proposals(after.values())]  # not again

    # Replay: the same job (a double click, a retry after a crash) is refused whole.
    with pytest.raises(CellConflict):
        shop.workbook.write(job)
    with pytest.raises(bundles.BundleError, match=r"「受注」シート \d+行目.*既に同梱.*（同梱列）"):
        bundles.confirm_job(shop.tables(), keys, NOW)

    shop.workbook.write(bundles.undo_job(shop.tables(), ident))
    assert cells(shop) == before  # no leftover mark, nothing else changed
    with pytest.raises(bundles.BundleError, match="解除済み"):
        bundles.undo_job(shop.tables(), ident)


def test_a_person_grouping_one_order_meanwhile_refuses_the_whole_group(shop: Shop) -> None:
    orders = pair(shop)
    keys = [(o.mall, o.order_number) for o in orders]
    stale = shop.tables()
    _, job = bundles.confirm_job(stale, keys, NOW)
    shop.staff_edit("受注", keys[1], {"同梱": "手で入れた"})
    before = cells(shop)
    with pytest.raises(CellConflict):
        shop.workbook.write(job)
    assert cells(shop) == before  # not half: the first order did not get the id either


def test_refusals_name_sheet_row_and_column_and_write_nothing(shop: Shop) -> None:
    orders = pair(shop)
    keys = [(o.mall, o.order_number) for o in orders]
    shop.staff_edit("受注", keys[1], {"住所": orders[1].address + "別棟"})
    with pytest.raises(bundles.BundleError, match=r"「受注」シート \d+行目.*住所.*違うため同梱できません"):
        bundles.confirm_job(shop.tables(), keys, NOW)
    shop.staff_edit("受注", keys[1], {"住所": orders[1].address, "ステータス": "キャンセル"})
    with pytest.raises(bundles.BundleError, match=r"\d+行目.*「キャンセル」.*（ステータス列）"):
        bundles.confirm_job(shop.tables(), keys, NOW)
    with pytest.raises(bundles.BundleError, match="2件以上"):
        bundles.confirm_job(shop.tables(), keys[:1], NOW)


def b2_rows(shop: Shop, keys: list) -> list[list[str]]:
    made = prepare_file(B2, documents.orders_with_lines(shop.tables(), keys), sender=SENDER,
                        ship_date=date(2026, 12, 7), account=ACCOUNT,
                        other_orders=shop.tables()["受注"].models())  # fmt: skip
    assert made.problems == [] and made.data is not None
    return list(csv.reader(io.StringIO(made.data.decode("cp932"), newline="")))


def test_one_label_row_its_tracking_number_to_every_order_and_each_mall_told_once(shop: Shop) -> None:
    orders = pair(shop)
    keys = [(o.mall, o.order_number) for o in orders]
    ident, job = bundles.confirm_job(shop.tables(), keys, NOW)
    shop.workbook.write(job)
    rakuten = known(shop)["楽天"]
    lone = next(
        o
        for o in shop.tables()["受注"].models()
        if o.order_number in rakuten and o.status == "新規" and (o.mall, o.order_number) not in keys
    )

    header, *rows = b2_rows(shop, [*keys, (lone.mall, lone.order_number)])
    assert len(rows) == 2  # the group is one row, the other order its own
    key_at = header.index(B2.key_column)
    assert [r[key_at] for r in rows] == [group_key(ident), order_key(lone.mall, lone.order_number)]
    assert key_map(shop.tables()["受注"].models())[group_key(ident)] == ("同梱", ident)

    for i, row in enumerate(rows):
        row[3] = f"40000000001{i}"  # the label software fills 伝票番号
    issued = [header, *rows]
    result = preview(shop.tables(), csv_bytes(issued))
    assert [(r.status, r.mall, r.order_number) for r in result.rows] == [
        (MATCHED, m, n) for m, n in sorted(keys)
    ] + [(MATCHED, lone.mall, lone.order_number)]
    shop.workbook.write(apply(shop.tables(), result, "ヤマト運輸"))
    stored = {(o.mall, o.order_number): o for o in shop.tables()["受注"].models()}
    assert {stored[k].tracking_number for k in keys} == {"400000000010"}
    assert all(stored[k].status == "出荷済" and stored[k].bundle == ident for k in keys)

    report = shop.engine().run_once(fetch=False)
    assert report.shipments == 3
    for mall, number in keys:
        demo = next(m for m in shop.malls if m.mall == mall)
        assert demo.shipments()[number]["tracking_number"] == "400000000010"
    assert shop.engine().run_once(fetch=False).shipments == 0  # never told twice
    assert ledger_problems(shop.tables()) == []
    with pytest.raises(bundles.BundleError, match="出荷済のため"):
        bundles.undo_job(shop.tables(), ident)


def test_cash_on_delivery_collects_the_cod_orders_of_the_box() -> None:
    a = order("R-1", 同梱="同梱-X", 支払方法="代金引換", 合計金額=3300)
    b = order("R-2", 同梱="同梱-X", 支払方法="クレジットカード", 合計金額=5000)
    c = order("R-3", 同梱="同梱-X", 支払方法="代引", 合計金額=1100)
    made = prepare_file(B2, [(a, []), (b, []), (c, [])], sender=SENDER, account=ACCOUNT)
    _, row = list(csv.reader(io.StringIO(made.data.decode("cp932"), newline="")))
    assert made.included == [("楽天", "R-1"), ("楽天", "R-2"), ("楽天", "R-3")]
    assert "4400" in row  # 代引 total: 3,300 + 1,100, the card order not collected
    assert row[0] == group_key("同梱-X")  # one row under the group's key


def test_a_group_whose_addresses_no_longer_match_is_left_out_with_every_order_named() -> None:
    a = order("R-1", 同梱="同梱-X")
    b = order("R-2", 同梱="同梱-X", 住所="大阪府大阪市北区1-1-1")
    made = prepare_file(B2, [(a, []), (b, [])], sender=SENDER, account=ACCOUNT)
    assert made.data is None and [(p.order_number, p.column) for p in made.problems] == [
        ("R-1", "同梱"),
        ("R-2", "同梱"),
    ]
    assert any("送付先" in n for n in bundles.warnings([a, b]))


def test_one_delivery_slip_lists_every_order_and_the_picker_counts_one_box(shop: Shop) -> None:
    orders = pair(shop)
    keys = [(o.mall, o.order_number) for o in orders]
    ident, job = bundles.confirm_job(shop.tables(), keys, NOW)
    shop.workbook.write(job)
    tables = shop.tables()
    pairs = documents.orders_with_lines(tables, keys)
    assert bundle_slips.slip_count([o for o, _ in pairs]) == 1
    text = pdf_text(bundle_slips.delivery_slips_pdf(pairs, shop=SHOP, printed_at=NOW))
    assert text.count("納品書") >= 1 and f"同梱番号：{ident}" in text
    for o, _ in pairs:
        assert o.order_number in text and f"{o.total:,}" in text
    assert f"¥{sum(o.total for o, _ in pairs):,}" in text

    picked = documents.picking_list(tables, keys)
    assert all(p.parcels == (ident,) and p.order_count == 1 for p in picked)
    assert ident in pdf_text(picking_paper.picking_pdf(picked, shop_name="一源ストア", printed_at=NOW))


def test_an_archive_made_before_the_column_gets_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    Archive(url).engine.dispose()
    with sqlite3.connect(tmp_path / "archive.sqlite3") as conn:
        conn.execute('ALTER TABLE orders DROP COLUMN "同梱"')
    archive = Archive(url)
    with archive.engine.connect() as conn:
        names = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(orders)")]
    assert names[-1] == "同梱"


def test_a_workbook_made_before_the_column_reads_and_gets_it(shop: Shop) -> None:
    tables = read_tables(shop.workbook)
    assert "同梱" in tables["受注"].grid.header
