"""発注提案 math against hand-computed cases; drafting 発注; 入荷 against a 発注 (partial,
over, short) and without one, each landing once however often it is sent, and folded into 在庫
by the next cycle."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from purchasing import purchase_orders as po
from purchasing.reading import read_purchasing
from purchasing.receiving import find_product, receive, receive_unordered
from purchasing.suggestions import DEFAULT_LEAD_DAYS, suggest
from settings import SyncSettings
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict, StaleWorkbookError
from sheets_schema.models import Product, Stock, Supplier
from sync.engine import SyncEngine
from tests.shop_fixtures import ledger_problems

TODAY = date(2026, 12, 6)
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
HARNESS_BACKENDS = ("sql", "google", "hybrid")


def product(sku: str, **fields: Any) -> Product:
    return Product.model_validate({"SKU": sku, "商品名": f"商品 {sku}", "販売価格": 1000, **fields})


def stock(sku: str, on_hand: int, allocated: int = 0, safety: int = 0) -> Stock:
    return Stock.model_validate({"SKU": sku, "実在庫": on_hand, "引当数": allocated, "安全在庫": safety})


# -- 発注提案


def test_a_fast_seller_short_before_its_lead_time_is_ordered_up_to_cover_in_whole_lots() -> None:
    (s,) = suggest(
        [product("A", 仕入先="丸山繊維", 発注点=10, 発注ロット=12, リードタイム日数=7, 原価=400)],
        {"A": stock("A", 20, allocated=3, safety=5)},
        {"A": 60},
        {},
        {},
        today=TODAY,
        window_days=30,
        cover_days=14,
    )
    # 2.0/day; 必要数 ⌈2×(7+14)⌉+5 = 47; 見込み 17 < ⌈2×7⌉+5 = 19; 47−17 = 30 → 3 lots of 12.
    assert (s.per_day, s.free, s.needed, s.quantity) == (2.0, 17, 47, 36)
    assert s.runs_out_on == date(2026, 12, 12)  # ⌊(17−5)/2⌋ = 6 days
    assert s.unit_cost == 400 and s.supplier == "丸山繊維"
    assert "見込み 17 ではリードタイム 7日の間に足りません（19 必要）" in s.why
    assert "発注ロット 12 単位で 36個" in s.why


def test_nothing_selling_at_the_reorder_point_orders_one_lot() -> None:
    (s,) = suggest([product("B", 発注点=5, 発注ロット=10)], {"B": stock("B", 5)}, {}, {}, {}, today=TODAY)
    assert (s.quantity, s.runs_out_on, s.lead_days) == (10, None, DEFAULT_LEAD_DAYS)
    assert s.why.startswith("見込み 5 が発注点 5 以下")


def test_goods_on_order_count_and_the_suppliers_lead_time_applies() -> None:
    suppliers = {"木村商店": Supplier.model_validate({"仕入先": "木村商店", "リードタイム日数": 10})}
    (s,) = suggest(
        [product("C", 仕入先="木村商店")], {"C": stock("C", 5)}, {"C": 30}, {"C": 20}, suppliers, today=TODAY
    )
    # 1/day, lead 10 from the supplier; 見込み 5 + 20 = 25 ≥ ⌈1×10⌉ = 10: nothing to order.
    assert (s.lead_days, s.position, s.quantity) == (10, 25, 0)
    assert s.why.startswith("発注不要: 見込み 25 = 手元 5 ＋ 発注残 20") and "［仕入先］" in s.why


def test_rows_to_order_come_first_grouped_by_supplier_soonest_out_first() -> None:
    rows = suggest(
        [
            product("Z", 仕入先="B社", 発注点=100),
            product("Y", 仕入先="A社", 発注点=100),
            product("X", 仕入先="A社", 発注点=100),
            product("W", 仕入先="A社"),
        ],
        {"Z": stock("Z", 50), "Y": stock("Y", 40), "X": stock("X", 10), "W": stock("W", 500)},
        {"Z": 30, "Y": 30, "X": 30},
        {},
        {},
        today=TODAY,
    )
    assert [r.sku for r in rows] == ["X", "Y", "Z", "W"]


def test_bad_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="集計期間"):
        suggest([], {}, {}, {}, {}, today=TODAY, window_days=0)


# -- 発注 and 入荷 on a workbook


@pytest.fixture
def books(harness) -> Any:
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(
        tables["商品"],
        [
            {
                "SKU": "TWL-1",
                "商品名": "フェイスタオル",
                "販売価格": 1200,
                "原価": 500,
                "JANコード": "4900000000011",
                "仕入先": "今治タオル工房",
                "リードタイム日数": 5,
            },
            {
                "SKU": "TWL-2",
                "商品名": "バスタオル",
                "販売価格": 2800,
                "原価": 1100,
                "仕入先": "今治タオル工房",
            },
            {
                "SKU": "SOX-1",
                "商品名": "リブソックス",
                "販売価格": 900,
                "原価": 300,
                "仕入先": "丸山繊維",
                "リードタイム日数": 10,
            },
        ],
    )
    job.append(tables["在庫"], [{"SKU": s, "実在庫": 3, "安全在庫": 0} for s in ("TWL-1", "TWL-2", "SOX-1")])
    job.append(
        tables["仕入先"],
        [{"仕入先": "今治タオル工房", "メールアドレス": "order@imabari.example.jp"}, {"仕入先": "丸山繊維"}],
    )
    harness.workbook.write(job)
    engine = SyncEngine(harness.workbook, [], SyncSettings(), clock=lambda: NOW)
    engine.run_once()  # 在庫's first counts become the ledger's (棚卸:初期)
    return harness


def _draft(workbook: Any) -> po.Drafts:
    t = read_purchasing(workbook)
    products = {p.sku: p for p in t.products.models()}
    drafts = po.draft(
        t.orders,
        t.lines,
        products,
        {"TWL-1": 5, "TWL-2": 7, "SOX-1": 10},
        [po.DraftLine("TWL-1", 24), po.DraftLine("TWL-2", 10), po.DraftLine("SOX-1", 30)],
        now=NOW,
    )
    assert drafts.refused == []
    workbook.write(drafts.job)
    return drafts


def _set_status(workbook: Any, number: str, status: str) -> None:
    t = read_purchasing(workbook)
    job = WriteJob()
    job.set(t.orders, t.orders.find_row((number,)), {"ステータス": status})
    workbook.write(job)


def test_accepted_suggestions_become_one_draft_per_supplier(books) -> None:
    drafts = _draft(books.workbook)
    assert drafts.numbers == {"丸山繊維": "PO-20261206-01", "今治タオル工房": "PO-20261206-02"}
    t = read_purchasing(books.workbook)
    assert [(o.number, o.supplier, o.status, o.expected_on) for o in t.orders.models()] == [
        ("PO-20261206-01", "丸山繊維", "下書き", date(2026, 12, 16)),
        ("PO-20261206-02", "今治タオル工房", "下書き", date(2026, 12, 13)),
    ]
    assert [(x.number, x.line_number, x.sku, x.quantity, x.unit_cost) for x in t.lines.models()] == [
        ("PO-20261206-01", 1, "SOX-1", 30, 300),
        ("PO-20261206-02", 1, "TWL-1", 24, 500),
        ("PO-20261206-02", 2, "TWL-2", 10, 1100),
    ]
    assert po.on_order(t.orders, t.lines) == {}  # drafts are not on order yet
    _set_status(books.workbook, "PO-20261206-02", "発注済")
    t = read_purchasing(books.workbook)
    assert po.on_order(t.orders, t.lines) == {"TWL-1": 24, "TWL-2": 10}
    assert po.next_numbers([o.number for o in t.orders.models()], TODAY, 1) == ["PO-20261206-03"]


def test_partial_then_over_receipts_count_once_and_reach_stock(books) -> None:
    _draft(books.workbook)
    _set_status(books.workbook, "PO-20261206-02", "発注済")
    t = read_purchasing(books.workbook)
    first = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 20}, now=NOW)
    assert first.refused == [] and first.status == "一部入荷"
    books.workbook.write(first.job)
    with pytest.raises((CellConflict, StaleWorkbookError)):  # the same receipt sent twice: refused
        books.workbook.write(first.job)

    t = read_purchasing(books.workbook)
    over = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 6, 2: 10}, now=NOW)
    assert over.refused == ["発注数より多く入荷しています: TWL-1（発注 24・入荷 26）。理由を入力してください"]
    over = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 6, 2: 10}, reason="おまけ2枚", now=NOW)
    assert over.refused == [] and over.status == "入荷済"
    books.workbook.write(over.job)

    t = read_purchasing(books.workbook)
    assert [(x.sku, x.received) for x in t.lines.models() if x.number == "PO-20261206-02"] == [
        ("TWL-1", 26),
        ("TWL-2", 10),
    ]
    order = next(o for o in t.orders.models() if o.number == "PO-20261206-02")
    assert order.status == "入荷済" and "【入荷】おまけ2枚" in order.note
    assert po.on_order(t.orders, t.lines) == {}
    SyncEngine(books.workbook, [], SyncSettings(), clock=lambda: NOW).run_once()
    tables = read_tables(books.workbook)
    assert {s.sku: s.on_hand for s in tables["在庫"].models()} == {"TWL-1": 29, "TWL-2": 13, "SOX-1": 3}
    assert ledger_problems(tables) == []
    received = [m for m in tables["在庫移動"].models() if m.movement_id.startswith("入荷:")]
    assert [(m.movement_id, m.quantity) for m in received] == [
        ("入荷:PO-20261206-02:1:0+20", 20),
        ("入荷:PO-20261206-02:1:20+6", 6),
        ("入荷:PO-20261206-02:2:0+10", 10),
    ]


def test_closing_short_needs_a_reason_and_drafts_cannot_be_received(books) -> None:
    _draft(books.workbook)
    t = read_purchasing(books.workbook)
    draft = receive(t.orders, t.lines, t.ledger, "PO-20261206-01", {1: 1}, now=NOW)
    assert draft.refused and "「下書き」" in draft.refused[0]
    _set_status(books.workbook, "PO-20261206-01", "発注済")
    t = read_purchasing(books.workbook)
    short = receive(t.orders, t.lines, t.ledger, "PO-20261206-01", {1: 25}, close_short=True, now=NOW)
    assert short.refused == ["不足のまま入荷済にするときは、理由を入力してください"]
    short = receive(
        t.orders,
        t.lines,
        t.ledger,
        "PO-20261206-01",
        {1: 25},
        close_short=True,
        reason="欠品のため打ち切り",
        now=NOW,
    )
    assert short.status == "入荷済" and short.units == 25
    books.workbook.write(short.job)
    t = read_purchasing(books.workbook)
    assert po.on_order(t.orders, t.lines) == {}
    for bad, message in (({9: 1}, "明細番号 9 はありません"), ({1: -1}, "0以上")):
        _set_status(books.workbook, "PO-20261206-01", "一部入荷")
        t = read_purchasing(books.workbook)
        refused = receive(t.orders, t.lines, t.ledger, "PO-20261206-01", bad, now=NOW).refused
        assert refused and message in refused[0]
    assert (
        receive(t.orders, t.lines, t.ledger, "PO-NONE", {1: 1}, now=NOW)
        .refused[0]
        .startswith("発注「PO-NONE」が")
    )


def test_goods_without_an_order_need_a_reason_and_land_once_per_form(books) -> None:
    t = read_purchasing(books.workbook)
    products = {p.sku: p for p in t.products.models()}
    assert find_product(products, " 4900000000011 ").sku == "TWL-1"  # a scanned JAN
    assert find_product(products, "SOX-1").sku == "SOX-1" and find_product(products, "9999") is None
    refused = receive_unordered(t.ledger, t.known_ids(), products, "TWL-1", 2, reason="", token="f1", now=NOW)
    assert refused.refused == ["発注なしの入荷は、理由を入力してください（例: サンプル、交換品）"]
    done = receive_unordered(
        t.ledger, t.known_ids(), products, "TWL-1", 2, reason="交換品", token="f1", now=NOW
    )
    books.workbook.write(done.job)
    t = read_purchasing(books.workbook)
    again = receive_unordered(
        t.ledger, t.known_ids(), products, "TWL-1", 2, reason="交換品", token="f1", now=NOW
    )
    assert again.refused == ["この入荷はすでに登録されています（同じ画面から二度送られました）"]


def test_problems_name_the_sheet_row_and_column(books) -> None:
    t = read_tables(books.workbook)
    job = WriteJob()
    job.append(t["発注"], [{"発注番号": "PO-X", "仕入先": "知らない会社", "ステータス": "下書き"}])
    job.append(t["発注明細"], [{"発注番号": "PO-Y", "明細番号": 1, "SKU": "NOPE", "数量": 1}])
    books.workbook.write(job)
    p = read_purchasing(books.workbook)
    assert po.problems(p.orders, p.lines, p.suppliers, p.products) == [
        "「発注」シート 2行目「仕入先」列: 「知らない会社」は「仕入先」シートにありません。仕入先シートに追加するか、名前を合わせてください",
        "「発注明細」シート 2行目「発注番号」列: 発注「PO-Y」が発注シートにありません",
        "「発注明細」シート 2行目「SKU」列: 「NOPE」は商品シートにありません",
    ]


def test_set_sales_are_demand_for_their_components_and_sets_are_never_bought() -> None:
    from purchasing.velocity import with_set_components

    compositions = {
        "SOX-RIB-3P": (("SOX-RIB-NV-M", 3),),
        "TWL-GIFT-SET": (("TWL-BATH-WH", 1), ("TWL-FACE-WH", 1)),
    }
    sold = {"SOX-RIB-3P": 2, "SOX-RIB-NV-M": 5, "TWL-GIFT-SET": 4, "TWL-FACE-WH": 1}
    assert with_set_components(sold, compositions) == {"SOX-RIB-NV-M": 11, "TWL-BATH-WH": 4, "TWL-FACE-WH": 5}
    assert with_set_components(sold, {}) == sold


def test_a_receipt_that_landed_unseen_is_not_added_again_and_one_never_written_is_simply_redone(
    books,
) -> None:
    """Receipts are exactly once whatever the screen heard: a receipt built and then lost (the
    process died before writing) is redone from a fresh read and lands once; a receipt that
    landed while its screen never heard is refused when the same counts are pressed again,
    because the screen's 入荷済 is not what the sheet holds any more."""
    _draft(books.workbook)
    _set_status(books.workbook, "PO-20261206-02", "発注済")
    shown = {
        x.line_number: x.received
        for x in read_purchasing(books.workbook).lines.models()
        if x.number == "PO-20261206-02"
    }
    t = read_purchasing(books.workbook)
    lost = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 20}, seen_received=shown, now=NOW)
    assert lost.refused == []  # built; the process dies before it is written
    t = read_purchasing(books.workbook)
    landed = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 20}, seen_received=shown, now=NOW)
    assert landed.refused == []
    books.workbook.write(landed.job)  # written; the browser never hears

    t = read_purchasing(books.workbook)
    again = receive(t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 20}, seen_received=shown, now=NOW)
    assert (
        again.refused
        and "TWL-1（入荷済 0 → 20）" in again.refused[0]
        and "二重に登録しない" in again.refused[0]
    )
    assert not again.job

    SyncEngine(books.workbook, [], SyncSettings(), clock=lambda: NOW).run_once()
    tables = read_tables(books.workbook)
    assert {s.sku: s.on_hand for s in tables["在庫"].models()}["TWL-1"] == 3 + 20
    received = [m for m in tables["在庫移動"].models() if m.movement_id.startswith("入荷:")]
    assert [(m.movement_id, m.quantity) for m in received] == [("入荷:PO-20261206-02:1:0+20", 20)]
    # With what the sheet now shows, the rest of the order is received normally.
    t = read_purchasing(books.workbook)
    now_shown = {x.line_number: x.received for x in t.lines.models() if x.number == "PO-20261206-02"}
    rest = receive(
        t.orders, t.lines, t.ledger, "PO-20261206-02", {1: 4, 2: 10}, seen_received=now_shown, now=NOW
    )
    assert rest.refused == [] and rest.status == "入荷済"
    assert ledger_problems(tables) == []
