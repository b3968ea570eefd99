"""Set products (セット商品, sync/sets.py): compositions read and checked, sets' 販売可能数 built
from components and pushed, set orders allocating, shipping and releasing their components
through the real engine with a Shopify mall (the contract-following fake)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import SET_COMPONENTS
from sync.ledger import Ledger, LineTarget, line_movements
from sync.sets import buildable, read_sets
from sync.state import cursor_key
from tests.fakes.shopify_api import FakeShopify
from tests.set_shop import open_set_shop, stock_rows
from tests.shop_fixtures import ledger_problems, snapshot
from tests.shopify_shop import ShopifyShop
from tests.test_sync_crash import CrashingWorkbook, Killed

AT = datetime(2026, 12, 1, 9, 0, tzinfo=JST)
PRODUCTS = ["SOX", "TWL-F", "TWL-B", "SET-SOX3", "SET-GIFT", "SET-BIG"]


def sets_tab(*rows: tuple[str, str, object]):
    grid = Grid(SET_COMPONENTS.title, list(SET_COMPONENTS.headers), [[s, c, str(q), ""] for s, c, q in rows])
    return parse_grid(SET_COMPONENTS, grid)


# -- the tab -------------------------------------------------------------------------------


def test_compositions_are_flattened_to_the_skus_that_hold_stock() -> None:
    book = read_sets(
        sets_tab(
            ("SET-SOX3", "SOX", 3),
            ("SET-GIFT", "TWL-F", 1),
            ("SET-GIFT", "TWL-B", 1),
            ("SET-BIG", "SET-SOX3", 2),  # a set of sets
            ("SET-BIG", "SOX", 1),
        ),
        PRODUCTS,
    )
    assert book.problems == [] and book.broken == {}
    assert book.compositions == {
        "SET-SOX3": (("SOX", 3),),
        "SET-GIFT": (("TWL-B", 1), ("TWL-F", 1)),
        "SET-BIG": (("SOX", 7),),
    }
    assert book.used_by()["SOX"] == ["SET-BIG", "SET-SOX3"]


def test_unknown_skus_cycles_and_bad_cells_are_japanese_errors_naming_the_row() -> None:
    book = read_sets(
        sets_tab(
            ("SET-SOX3", "SOXX", 3),  # row 2: unknown component
            ("SET-NONE", "SOX", 1),  # row 3: the set is not in 商品
            ("SET-GIFT", "SET-BIG", 1),  # rows 4-5: a cycle
            ("SET-BIG", "SET-GIFT", 1),
            ("TWL-F", "TWL-B", 0),  # row 6: 数量 0
        ),
        PRODUCTS,
    )
    text = "\n".join(book.problems)
    assert "「セット構成」シート 2行目 「構成SKU」列: 構成SKU「SOXX」が商品シートにありません" in text
    assert "「セット構成」シート 3行目 「セットSKU」列: セットSKU「SET-NONE」が商品シートにありません" in text
    assert "循環しています" in text and ("4行目" in text or "5行目" in text)
    assert "「セット構成」シート 6行目 「数量」列" in text
    # Broken sets are neither built nor half-built from their other rows.
    assert book.compositions == {}
    assert set(book.broken) == {"SET-SOX3", "SET-NONE", "SET-GIFT", "SET-BIG", "TWL-F"}


def test_a_set_containing_itself_is_a_cycle() -> None:
    book = read_sets(sets_tab(("SET-SOX3", "SET-SOX3", 1)), PRODUCTS)
    assert "SET-SOX3" in book.broken
    assert "2行目 「構成SKU」列: セットの中身が循環しています" in book.problems[0]


def test_a_broken_inner_set_breaks_the_set_that_holds_it() -> None:
    book = read_sets(sets_tab(("SET-BIG", "SET-SOX3", 1), ("SET-SOX3", "SOXX", 3)), PRODUCTS)
    assert set(book.broken) == {"SET-BIG", "SET-SOX3"} and book.compositions == {}


def test_buildable_is_the_least_whole_number_of_sets_the_components_make() -> None:
    composition = (("TWL-B", 1), ("TWL-F", 2))
    assert buildable(composition, {"TWL-F": 7, "TWL-B": 10}) == 3
    assert buildable(composition, {"TWL-F": 7, "TWL-B": 0}) == 0
    assert buildable(composition, {"TWL-F": 7}) is None  # a component not read: not guessed


def test_the_digest_changes_with_any_composition_and_is_empty_without_sets() -> None:
    one = read_sets(sets_tab(("SET-SOX3", "SOX", 3)), PRODUCTS)
    two = read_sets(sets_tab(("SET-SOX3", "SOX", 2)), PRODUCTS)
    assert (
        one.digest() != two.digest()
        and one.digest() == read_sets(sets_tab(("SET-SOX3", "SOX", 3)), PRODUCTS).digest()
    )
    assert read_sets(sets_tab(), PRODUCTS).digest() == ""


# -- a set line in the ledger ------------------------------------------------------------------


def test_a_set_line_allocates_ships_and_releases_its_components() -> None:
    ledger = Ledger()
    key = ("楽天", "R-1", 1)
    set_line = {
        "sku": "SET-GIFT",
        "quantity": 2,
        "allocates_stock": True,
        "components": (("TWL-B", 1), ("TWL-F", 2)),
    }
    allocated = line_movements(LineTarget(key=key, status="新規", **set_line), ledger, AT)
    assert [(m.kind, m.sku, m.quantity, m.note) for m in allocated] == [
        ("引当", "TWL-B", 2, "セット SET-GIFT ×2"),
        ("引当", "TWL-F", 4, "セット SET-GIFT ×2"),
    ]
    assert len({m.movement_id for m in allocated}) == 2
    for m in allocated:
        ledger.add(m)
    assert line_movements(LineTarget(key=key, status="新規", **set_line), ledger, AT) == []  # replay
    shipped = line_movements(LineTarget(key=key, status="出荷済", **set_line), ledger, AT)
    assert sorted((m.kind, m.sku, m.quantity) for m in shipped) == [
        ("出荷", "TWL-B", 2),
        ("出荷", "TWL-F", 4),
        ("引当解除", "TWL-B", 2),
        ("引当解除", "TWL-F", 4),
    ]
    assert all("セット SET-GIFT ×2" in m.note for m in shipped)
    for m in shipped:
        ledger.add(m)
    # A composition changed after shipment ships nothing more.
    later = {**set_line, "components": (("TWL-B", 1), ("TWL-F", 3))}
    assert line_movements(LineTarget(key=key, status="出荷済", **later), ledger, AT) == []
    assert ledger.on_hand["TWL-F"] == -4 and ledger.allocated["TWL-F"] == 0


def test_cancelling_a_set_line_releases_every_component() -> None:
    ledger = Ledger()
    key = ("楽天", "R-2", 1)
    line = {"sku": "SET-SOX3", "quantity": 1, "allocates_stock": True, "components": (("SOX", 3),)}
    for m in line_movements(LineTarget(key=key, status="新規", **line), ledger, AT):
        ledger.add(m)
    released = line_movements(LineTarget(key=key, status="キャンセル", **line), ledger, AT)
    assert [(m.kind, m.sku, m.quantity, m.note) for m in released] == [
        ("引当解除", "SOX", 3, "キャンセル（セット SET-SOX3 ×1）")
    ]


# -- through the engine -----------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path):
    with FakeShopify() as fake:
        yield open_set_shop(fake, tmp_path)


def mall_levels(shop: ShopifyShop) -> dict[str, int | None]:
    return {sku: shop.fake.inventory_level(v.inventory_item_id) for sku, v in shop.variants.items()}


def log_errors(shop: ShopifyShop) -> str:
    return "\n".join(r.error for r in shop.tables()["同期ログ"].models())


def test_sets_show_and_push_what_their_components_can_build(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    rows = stock_rows(shop)
    # TSH-WH-M 20 (安全在庫 2) → 18 free; 00123 5 free; TSH-NV-M 8 (1) → 7 free.
    assert rows["SET-TSH2"] == (0, 0, 9)
    assert rows["SET-GIFT"] == (0, 0, 2)
    assert rows["SET-NEST"] == (0, 0, 7)  # min(18 // 2, 7)
    levels = mall_levels(shop)
    assert (levels["SET-TSH2"], levels["SET-GIFT"], levels["SET-NEST"]) == (9, 2, 7)
    assert ledger_problems(shop.tables()) == []
    assert not [m for m in shop.tables()["在庫移動"].models() if m.sku.startswith("SET-")]


def test_a_set_order_allocates_ships_and_its_cancellation_releases_components(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    kept = shop.order(("SET-GIFT", 1), ("TSH-WH-M", 1))
    dropped = shop.order(("SET-TSH2", 2))
    shop.engine().run_once()
    rows = stock_rows(shop)
    assert rows["TSH-WH-M"] == (20, 6, 12)  # 1 (gift) + 1 alone + 4 (two 2枚セット)
    assert rows["00123"] == (5, 2, 3)
    assert rows["SET-GIFT"][2] == 1 and rows["SET-TSH2"][2] == 6
    movements = shop.tables()["在庫移動"].models()
    notes = {(m.order_number, m.sku, m.note) for m in movements if m.kind == "引当"}
    assert (str(dropped["id"]), "TSH-WH-M", "セット SET-TSH2 ×2") in notes
    assert (str(kept["id"]), "00123", "セット SET-GIFT ×1") in notes

    shop.fake.cancel_order(dropped["id"], at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.staff_edit("受注", ("Shopify", str(kept["id"])), {"ステータス": "出荷済"})
    shop.engine().run_once()
    rows = stock_rows(shop)
    assert rows["TSH-WH-M"] == (18, 0, 16) and rows["00123"] == (3, 0, 3)
    assert rows["SET-GIFT"] == (0, 0, 1) and rows["SET-TSH2"] == (0, 0, 8)
    shipped = [m for m in shop.tables()["在庫移動"].models() if m.kind == "出荷"]
    assert sorted((m.sku, m.quantity, m.note) for m in shipped) == [
        ("00123", 2, "出荷済（セット SET-GIFT ×1）"),
        ("TSH-WH-M", 1, "出荷済"),
        ("TSH-WH-M", 1, "出荷済（セット SET-GIFT ×1）"),
    ]
    assert ledger_problems(shop.tables()) == []
    levels = mall_levels(shop)
    assert all(levels[sku] == row[2] for sku, row in rows.items())


def test_a_mall_sending_every_order_again_changes_nothing(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    shop.order(("SET-NEST", 1), ("SET-GIFT", 2))
    shop.engine().run_once()
    before = snapshot(shop.workbook)
    shop.staff_edit(
        "_システム", (cursor_key("shopify"),), {"値": (shop.clock() - timedelta(days=30)).isoformat()}
    )
    report = shop.engine().run_once()
    assert report.movements == 0
    assert snapshot(shop.workbook) == before


@pytest.mark.parametrize("after", [False, True])
def test_a_crash_at_any_write_then_a_rerun_counts_each_set_once(tmp_path: Path, after: bool) -> None:
    with FakeShopify() as fake:
        reference = open_set_shop(fake, tmp_path / "ref")
        reference.engine().run_once()
        reference.order(("SET-NEST", 1), ("SET-GIFT", 1))
        reference.engine().run_once()
        expected = stock_rows(reference)
    for crash_at in range(1, 5):
        with FakeShopify() as fake:
            shop = open_set_shop(fake, tmp_path / f"crash{crash_at}{after}")
            shop.engine().run_once()
            shop.order(("SET-NEST", 1), ("SET-GIFT", 1))
            engine = shop.engine()
            engine.workbook = CrashingWorkbook(shop.workbook, crash_at=crash_at, after=after)
            with contextlib.suppress(Killed):
                engine.run_once()
            shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
            shop.engine().run_once()
            assert stock_rows(shop) == expected, crash_at
            assert ledger_problems(shop.tables()) == [], crash_at
            levels = mall_levels(shop)
            assert all(levels[sku] == row[2] for sku, row in expected.items()), crash_at


def test_a_component_stock_edit_re_plans_every_set_that_uses_it(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    shop.staff_edit("在庫", ("TSH-WH-M",), {"実在庫": 6})  # 4 free after 安全在庫 2
    report = shop.engine().run_once()
    pushed = {r.sku: r.quantity for r in report.pushes}
    assert pushed == {"TSH-WH-M": 4, "SET-TSH2": 2, "SET-NEST": 2}  # SET-GIFT: still 00123's 2
    assert mall_levels(shop)["SET-TSH2"] == 2
    shop.staff_edit("在庫", ("TSH-NV-M",), {"安全在庫": 8})  # TSH-NV-M 0 free: SET-NEST too
    report = shop.engine().run_once()
    assert {r.sku: r.quantity for r in report.pushes} == {"TSH-NV-M": 0, "SET-NEST": 0}
    assert ledger_problems(shop.tables()) == []


def test_a_sets_own_safety_stock_holds_sets_back(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    shop.staff_edit("在庫", ("SET-TSH2",), {"安全在庫": 4})
    shop.engine().run_once()
    assert stock_rows(shop)["SET-TSH2"] == (0, 0, 5)
    assert mall_levels(shop)["SET-TSH2"] == 5


def test_typing_a_sets_on_hand_is_refused_with_the_row_named_and_changes_nothing(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    before = len(shop.tables()["在庫移動"].models())
    shop.staff_edit("在庫", ("SET-GIFT",), {"実在庫": 10})
    report = shop.engine().run_once()
    row = shop.tables()["在庫"].find_row(("SET-GIFT",))
    message = next(n for n in report.notes if "SET-GIFT" in n)
    assert f"「在庫」シート {row}行目「実在庫」列: 「SET-GIFT」はセット商品です" in message
    assert "SET-GIFT" in log_errors(shop)
    assert len(shop.tables()["在庫移動"].models()) == before  # no 手動調整 of a set
    assert stock_rows(shop)["SET-GIFT"] == (10, 0, 2)  # left as typed; 販売可能数 from components
    assert mall_levels(shop)["SET-GIFT"] == 2
    shop.staff_edit("在庫", ("SET-GIFT",), {"実在庫": 0})  # put right
    report = shop.engine().run_once()
    assert not [n for n in report.notes if "SET-GIFT" in n]
    assert len(shop.tables()["在庫移動"].models()) == before
    assert ledger_problems(shop.tables()) == []


def test_open_orders_follow_a_changed_composition_and_shipped_ones_keep_theirs(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    shipped = shop.order(("SET-TSH2", 1))
    open_ = shop.order(("SET-TSH2", 1))
    shop.engine().run_once()
    shop.staff_edit("受注", ("Shopify", str(shipped["id"])), {"ステータス": "出荷済"})
    shop.engine().run_once()
    assert stock_rows(shop)["TSH-WH-M"] == (18, 2, 14)
    tables = shop.tables()
    row = next(r.row for r in tables["セット構成"] if r.value.set_sku == "SET-TSH2")
    job = WriteJob()  # the composition becomes 3 T-shirts
    job.set(tables["セット構成"], row, {"数量": 3})
    shop.workbook.write(job)
    report = shop.engine().run_once()
    rows = stock_rows(shop)
    assert rows["TSH-WH-M"] == (18, 3, 13)  # the open order now holds 3; the shipped one shipped 2
    assert rows["SET-TSH2"][2] == 13 // 3
    moved = [m for m in shop.tables()["在庫移動"].models() if m.order_number == str(open_["id"])]
    assert [(m.kind, m.quantity) for m in moved] == [("引当", 2), ("引当", 1)]
    assert report.movements == 1
    assert ledger_problems(shop.tables()) == []
    again = shop.engine().run_once()  # the digest was stored with the job: nothing more
    assert again.movements == 0


def test_a_broken_set_is_not_pushed_nor_settled_until_fixed(shop: ShopifyShop) -> None:
    shop.engine().run_once()
    tables = shop.tables()
    row = next(
        r.row
        for r in tables["セット構成"]
        if r.value.set_sku == "SET-GIFT" and r.value.component_sku == "00123"
    )
    job = WriteJob()
    job.set(tables["セット構成"], row, {"構成SKU": "00124"})  # a typo
    shop.workbook.write(job)
    order = shop.order(("SET-GIFT", 1), ("TSH-NV-M", 1))
    shop.staff_edit("在庫", ("00123",), {"実在庫": 9})
    report = shop.engine().run_once()
    assert (
        f"「セット構成」シート {row}行目 「構成SKU」列: 構成SKU「00124」が商品シートにありません"
        in log_errors(shop)
    )
    assert "SET-GIFT" not in {r.sku for r in report.pushes}
    assert mall_levels(shop)["SET-GIFT"] == 2  # what it was last sent: not re-sent while broken
    held = {m.sku for m in shop.tables()["在庫移動"].models() if m.order_number == str(order["id"])}
    assert held == {"TSH-NV-M"}  # the plain line is allocated, the set line waits
    job = WriteJob()
    job.set(shop.tables()["セット構成"], row, {"構成SKU": "00123"})
    shop.workbook.write(job)
    shop.engine().run_once()
    rows = stock_rows(shop)
    assert rows["00123"] == (9, 2, 7) and rows["TSH-WH-M"][1] == 1
    assert mall_levels(shop)["SET-GIFT"] == rows["SET-GIFT"][2] == min(7 // 2, 17)
    assert ledger_problems(shop.tables()) == []


def test_the_demo_malls_sell_the_demo_sets_and_the_ledger_stays_exact(tmp_path: Path) -> None:
    """End to end on the embedded demo shop: its four demo malls sell the 3足セット and the gift
    set among everything else; each set line moves its components, named in 備考, and the
    sets' 販売可能数 stays what the components can build."""
    from tests.shop_fixtures import sqlite_shop

    shop = sqlite_shop(tmp_path)
    set_lines = []
    for _ in range(12):
        shop.engine().run_once()
        lines = shop.tables()["受注明細"].models()
        set_lines = [ln for ln in lines if ln.sku in ("SOX-RIB-3P", "TWL-GIFT-SET") and ln.quantity]
        if set_lines:
            break
        shop.clock.advance(hours=6)
    assert set_lines, "the demo malls sold no set in three days"
    tables = shop.tables()
    assert ledger_problems(tables) == []
    line = set_lines[0]
    moved = [
        m
        for m in tables["在庫移動"].models()
        if (m.mall, m.order_number, m.line_number) == (line.mall, line.order_number, line.line_number)
    ]
    assert moved and all(f"セット {line.sku} ×{line.quantity}" in m.note for m in moved)
    expected = {"SOX-RIB-3P": {"SOX-RIB-NV-M"}, "TWL-GIFT-SET": {"TWL-FACE-WH", "TWL-BATH-WH"}}[line.sku]
    assert {m.sku for m in moved} == expected
