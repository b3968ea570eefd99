"""棚卸: the count sheet (by 棚番, CSV and .xlsx, formula-looking cells neutralised), counts
from a file or typed, the preview valued at cost, and applying as ONE job that lands once,
taken against the ledger at count time so orders arriving meanwhile are not lost."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from purchasing import count_files as cf
from purchasing.stocktake import apply_stocktake, make_count_sheet, preview, read_for_stocktake
from settings import SyncSettings
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.grid import Grid
from sheets_schema.models import Product
from sync.engine import SyncEngine
from tests.shop_fixtures import ledger_problems, staff_edit

NOW = datetime(2026, 12, 6, 10, 0, 42, tzinfo=JST)
HARNESS_BACKENDS = ("sql", "google", "hybrid")


def settle(workbook: Any, at: datetime = NOW) -> None:
    SyncEngine(workbook, [], SyncSettings(), clock=lambda: at).run_once(fetch=False)


def product(sku: str, location: str = "", cost: int | None = None, name: str = "") -> Product:
    return Product.model_validate(
        {"SKU": sku, "商品名": name or f"商品{sku}", "販売価格": 1000, "棚番": location, "原価": cost}
    )


# -- the count sheet


def test_the_count_sheet_goes_by_location_then_sku_with_the_ledgers_stock() -> None:
    products = [
        product("Z-9", "B-02"),
        product("A-2", "A-01", name='=HYPERLINK("http://x")'),
        product("N-1", ""),
        product("A-1", "A-01"),
        product("00123", "A-01"),
    ]
    sheet = make_count_sheet(products, {"A-1": 4, "Z-9": -2, "00123": 7}, now=NOW, token="QRST")
    assert sheet.stocktake_id == "TK-20261206-1000-QRST" and sheet.counted_at == NOW.replace(second=0)
    assert [(r.location, r.sku, r.book) for r in sheet.rows] == [
        ("A-01", "00123", 7),
        ("A-01", "A-1", 4),
        ("A-01", "A-2", 0),
        ("B-02", "Z-9", -2),
        ("", "N-1", 0),  # no 棚番: last
    ]
    data = cf.to_csv(sheet)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["棚番", "SKU", "商品名", "帳簿在庫", "実数", "棚卸ID", "帳簿日時", "照合"]
    assert rows[1][:7] == ["A-01", "00123", "商品00123", "7", "", "TK-20261206-1000-QRST", "2026-12-06 10:00"]
    assert rows[3][2] == '\u3000=HYPERLINK("http://x")' and rows[4][3] == "-2"
    assert rows[1][7].isalpha() and rows[1][7].isupper()
    only_a = make_count_sheet(products, {}, now=NOW, token="QRSU", location_prefix="A-")
    assert [r.sku for r in only_a.rows] == ["00123", "A-1", "A-2"]


def test_both_file_kinds_read_back_as_they_were_written() -> None:
    products = [product("A-1", "A-01"), product("B-1", "B-01", name="+1 品")]
    sheet = make_count_sheet(products, {"A-1": 4, "B-1": 2}, now=NOW, token="ABCD")
    for name, data in (("t.csv", cf.to_csv(sheet)), ("t.xlsx", cf.to_xlsx(sheet))):
        grid, errors = cf.read_count_file(name, data)
        assert errors == [] and grid is not None
        assert [r[:5] for r in grid.rows] == [
            ["A-01", "A-1", "商品A-1", "4", ""],
            ["B-01", "B-1", "+1 品", "2", ""],
        ]
        grid.rows[0][4] = "3"
        counts, errors = cf.parse_counts(grid, name, {"A-1", "B-1"})
        assert errors == [] and counts is not None
        assert (counts.book, counts.counted) == ({"A-1": 4, "B-1": 2}, {"A-1": 3})  # blank: not counted


def filled(sheet: Any, counts: dict[str, str], **edits: Any) -> Grid:
    grid, _ = cf.read_count_file("棚卸表.csv", cf.to_csv(sheet))
    assert grid is not None
    at = {h: i for i, h in enumerate(grid.header)}
    for row in grid.rows:
        row[at["実数"]] = counts.get(row[at["SKU"]], "")
    for (row_number, column), value in edits.get("cells", {}).items():
        grid.rows[row_number - 2][at[column]] = value
    grid.rows.extend(edits.get("extra", []))
    return grid


def test_bad_counts_are_named_by_file_row_and_column_and_nothing_is_counted() -> None:
    products = [product(s, "A") for s in ("A-1", "A-2", "A-3", "A-4", "A-5")]
    sheet = make_count_sheet(products, {"A-1": 4}, now=NOW, token="ABCD")
    grid = filled(
        sheet,
        {"A-1": "-1", "A-2": "3.5", "A-3": "たくさん", "A-4": "２"},
        cells={(6, "帳簿在庫"): "9"},  # A-5's book typed over
        extra=[
            ["A", "NOPE", "", "0", "1", sheet.stocktake_id, "2026-12-06 10:00", "AAAAAA"],
            ["A", "A-4", "", "0", "1", sheet.stocktake_id, "2026-12-06 10:00", "AAAAAA"],
        ],
    )
    counts, errors = cf.parse_counts(grid, "棚卸表.csv", {p.sku for p in products})
    assert counts is None
    assert errors == [
        "「棚卸表.csv」 2行目 「実数」列: 0以上の整数で入力してください（入力値: 「-1」）",
        "「棚卸表.csv」 3行目 「実数」列: 整数で入力してください（入力値: 「3.5」）",
        "「棚卸表.csv」 4行目 「実数」列: 整数で入力してください（入力値: 「たくさん」）",
        "「棚卸表.csv」 6行目 「帳簿在庫」列: 棚卸表を作ったときの値から変わっています。帳簿在庫・SKU・照合は書き換えず、"
        "数えた数は「実数」列に入れてください（入力値: 「9」）",
        "「棚卸表.csv」 7行目 「SKU」列: 商品シートにないSKUです（入力エラーのある商品も数えられません）（入力値: 「NOPE」）",
        "「棚卸表.csv」 8行目 「SKU」列: 5行目と同じSKUです。1つのSKUは1行にしてください（入力値: 「A-4」）",
    ]  # 「２」 (full-width) on row 5 is fine
    headless = Grid("x.csv", ["SKU", "実数"], [["A-1", "1"]])
    assert cf.parse_counts(headless, "x.csv", {"A-1"})[1][0].startswith(
        "「x.csv」 1行目: 「帳簿在庫」列がありません"
    )
    other = make_count_sheet(products, {}, now=NOW, token="WXYZ")
    mixed = filled(sheet, {"A-1": "4"})
    del mixed.rows[1]  # A-2's row, replaced by the other stocktake's
    mixed.rows.append(cf.sheet_rows(other)[1])
    mixed.rows[-1][4] = "1"
    assert (
        "「棚卸ID」列: 1つのファイルには1回の棚卸"
        in cf.parse_counts(mixed, "m.csv", {p.sku for p in products})[1][0]
    )
    assert cf.parse_counts(filled(sheet, {}), "e.csv", {"A-1"})[1] == [  # A-2… unknown, uncounted: fine
        "「e.csv」: 実数が入力された行がありません。数えた数を「実数」列に入れてください"
    ]
    assert cf.read_count_file("x.txt", b"a")[1] == [
        "「x.txt」: CSV（.csv）か Excel（.xlsx）のファイルを選んでください"
    ]
    assert "Excel ファイルを開けません" in cf.read_count_file("x.xlsx", b"PK not really")[1][0]


def test_an_excel_round_trip_of_the_csv_still_reads() -> None:
    """Excel rewrites 2026-12-06 10:00 as 2026/12/6 10:00 and a count as 5.0: both still read."""
    sheet = make_count_sheet([product("A-1", "A")], {"A-1": 4}, now=NOW, token="ABCD")
    grid = filled(sheet, {"A-1": "5.0"}, cells={(2, "帳簿日時"): "2026/12/6 10:00"})
    counts, errors = cf.parse_counts(grid, "t.csv", {"A-1"})
    assert errors == [] and counts is not None and counts.counted == {"A-1": 5}


# -- on a workbook


@pytest.fixture
def shop(harness) -> Any:
    """TEE-1 ×10 (原価 900) at A-01, CAP-1 ×5 (no 原価) at A-02; 楽天 R-1 for TEE-1 ×2 open."""
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(
        tables["商品"],
        [
            {"SKU": "TEE-1", "商品名": "Tシャツ", "販売価格": 2500, "原価": 900, "棚番": "A-01"},
            {"SKU": "CAP-1", "商品名": "キャップ", "販売価格": 1800, "棚番": "A-02"},
        ],
    )
    job.append(tables["在庫"], [{"SKU": "TEE-1", "実在庫": 10}, {"SKU": "CAP-1", "実在庫": 5}])
    job.append(
        tables["受注"],
        [
            {
                "モール": "楽天",
                "注文番号": "R-1",
                "注文日時": NOW - timedelta(days=1),
                "ステータス": "新規",
                "合計金額": 5000,
                "在庫引当": "ON",
            }
        ],
    )
    job.append(
        tables["受注明細"],
        [{"モール": "楽天", "注文番号": "R-1", "明細番号": 1, "SKU": "TEE-1", "数量": 2, "単価": 2500}],
    )
    harness.workbook.write(job)
    settle(harness.workbook)
    return harness


def stock(workbook: Any) -> dict[str, tuple[int, int]]:
    return {s.sku: (s.on_hand, s.allocated) for s in read_tables(workbook)["在庫"].models()}


def counts_for(workbook: Any, counted: dict[str, str]) -> Any:
    ledger, products, _sets = read_for_stocktake(workbook)
    sheet = make_count_sheet(products.values(), ledger.on_hand, now=NOW, token="ABCD")
    return sheet, (lambda: cf.parse_counts(cf.typed_grid(sheet, counted), "画面", set(products)))


def test_counts_apply_once_as_棚卸_movements_with_the_difference_valued_at_cost(shop) -> None:
    sheet, counts = counts_for(shop.workbook, {"TEE-1": "8", "CAP-1": "6"})
    assert [(r.sku, r.book) for r in sheet.rows] == [("TEE-1", 10), ("CAP-1", 5)]
    found, errors = counts()
    assert errors == []
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    shown = preview(found, products, ledger)
    assert [(d.sku, d.book, d.counted, d.diff, d.value) for d in shown.rows] == [
        ("TEE-1", 10, 8, -2, -1800),
        ("CAP-1", 5, 6, 1, None),
    ]
    assert (shown.value_total, shown.uncosted, shown.warnings) == (-1800, ["CAP-1"], [])
    applied = apply_stocktake(found, products, ledger, now=NOW)
    assert applied.refused == [] and [(m.movement_id, m.quantity) for m in applied.movements] == [
        ("棚卸:TK-20261206-1000-ABCD:CAP-1", 1),
        ("棚卸:TK-20261206-1000-ABCD:TEE-1", -2),
    ]
    shop.workbook.write(applied.job)
    with pytest.raises(StaleWorkbookError):
        shop.workbook.write(applied.job)
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    again = apply_stocktake(counts()[0], products, ledger, now=NOW)  # the landed job's action, re-run
    assert again.refused == [
        "棚卸「TK-20261206-1000-ABCD」はすでに反映されています（2026-12-06 10:00:42）。同じ棚卸表は二度反映できません"
    ]
    assert "すでに反映されています" in preview(counts()[0], products, ledger).warnings[0]
    settle(shop.workbook)
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    assert apply_stocktake(counts()[0], products, ledger, now=NOW).refused == again.refused  # folded: still
    assert stock(shop.workbook) == {"TEE-1": (8, 2), "CAP-1": (6, 0)}
    assert ledger_problems(read_tables(shop.workbook)) == []


def test_orders_arriving_between_count_and_apply_are_kept(shop) -> None:
    _, counts = counts_for(shop.workbook, {"TEE-1": "9"})  # one T-shirt missing at count time
    # Meanwhile: R-1 ships (2 units leave) and R-2 arrives for 3 more, allocated.
    staff_edit(shop.workbook, "受注", ("楽天", "R-1"), {"ステータス": "出荷済"})
    tables = read_tables(shop.workbook)
    job = WriteJob()
    new = {
        "モール": "楽天",
        "注文番号": "R-2",
        "注文日時": NOW,
        "ステータス": "新規",
        "合計金額": 1,
        "在庫引当": "ON",
    }
    job.append(tables["受注"], [new])
    job.append(
        tables["受注明細"],
        [{"モール": "楽天", "注文番号": "R-2", "明細番号": 1, "SKU": "TEE-1", "数量": 3, "単価": 2500}],
    )
    shop.workbook.write(job)
    settle(shop.workbook, NOW + timedelta(minutes=5))
    assert stock(shop.workbook)["TEE-1"] == (8, 3)
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    found = counts()[0]
    assert preview(found, products, ledger).rows[0].on_hand_now == 8
    shop.workbook.write(apply_stocktake(found, products, ledger, now=NOW + timedelta(minutes=10)).job)
    settle(shop.workbook, NOW + timedelta(minutes=10))
    # counted 9 − shipped since 2 = 7; R-2 keeps its 3 units allocated; CAP-1 was not counted.
    assert stock(shop.workbook) == {"TEE-1": (7, 3), "CAP-1": (5, 0)}
    assert ledger_problems(read_tables(shop.workbook)) == []


def test_a_stocktake_job_that_never_landed_is_applied_by_the_next_try(shop) -> None:
    _, counts = counts_for(shop.workbook, {"CAP-1": "0"})
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    lost = apply_stocktake(counts()[0], products, ledger, now=NOW)
    assert lost.refused == []  # built; the process died before writing
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    shop.workbook.write(apply_stocktake(counts()[0], products, ledger, now=NOW).job)
    settle(shop.workbook)
    assert stock(shop.workbook)["CAP-1"] == (0, 0)


def test_an_older_sheet_applied_after_a_newer_one_is_flagged(shop) -> None:
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    old = make_count_sheet(products.values(), ledger.on_hand, now=NOW, token="OLDA")
    new = make_count_sheet(products.values(), ledger.on_hand, now=NOW + timedelta(hours=1), token="NEWB")
    newer, _ = cf.parse_counts(cf.typed_grid(new, {"TEE-1": 10}), "画面", set(products))
    shop.workbook.write(apply_stocktake(newer, products, ledger, now=NOW).job)
    older, _ = cf.parse_counts(cf.typed_grid(old, {"TEE-1": 10}), "画面", set(products))
    ledger, products, _sets = read_for_stocktake(shop.workbook)
    (warning,) = preview(older, products, ledger).warnings
    assert "TK-20261206-1100-NEWB がすでに反映されています" in warning


def test_sets_are_not_counted_their_components_are(tmp_path: Any) -> None:
    """A set (セット商品) holds no stock: it is not on the count sheet, and a count typed for it
    (an older sheet, a file made by hand) is refused naming it, with nothing written."""
    from datetime import datetime as wall

    from purchasing.stocktake import Counts
    from settings import load_settings
    from sheets_schema.book import open_prepared_workbook
    from sheets_schema.cells import JST

    workbook = open_prepared_workbook(
        load_settings({"workbook": {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}}), wall.now(JST)
    )
    ledger, products, sets = read_for_stocktake(workbook)
    assert sets and not sets & set(products)
    sheet = make_count_sheet(products.values(), ledger.on_hand, now=NOW, token="SETS")
    assert not {r.sku for r in sheet.rows} & sets and len(sheet.rows) == len(products)
    a_set = sorted(sets)[0]
    counts = Counts(sheet.stocktake_id, sheet.counted_at, {a_set: 0}, {a_set: 3}, "棚卸表.csv")
    applied = apply_stocktake(counts, products, ledger, now=NOW, sets=sets)
    assert applied.refused == [
        f"セット商品は在庫を持たないため棚卸できません: {a_set}。セットの中身（構成SKU）を数えて、その行に入れてください"
    ]
    assert not applied.job
