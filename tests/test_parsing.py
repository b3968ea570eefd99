"""Rows of cell text into models: typed values, and Japanese errors naming tab, row and column."""

from datetime import datetime

import pytest

from sheets_schema.cells import JST
from sheets_schema.grid import Grid
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import ORDERS, PRODUCTS, STOCK, TABS


def stock_grid(*rows: list[str], header: list[str] | None = None) -> Grid:
    return Grid.from_values("在庫", [header or list(STOCK.headers), *rows])


def test_identifiers_keep_leading_zeros_and_numbers_parse_with_separators() -> None:
    grid = Grid.from_values(
        "商品",
        [
            list(PRODUCTS.headers),
            ["00123", "タオル", "¥1,980", "８８０", "0490123456789", "", "", "", "", ""],
        ],
    )
    table = parse_grid(PRODUCTS, grid)
    assert table.errors == []
    product = table.records[0].value
    assert product.sku == "00123"
    assert product.jan == "0490123456789"
    assert (product.price, product.cost) == (1980, 880)


def test_order_phone_and_postcode_stay_text_and_times_are_jst() -> None:
    row = dict.fromkeys(ORDERS.headers, "")
    row.update(
        {
            "モール": "楽天",
            "注文番号": "000123",
            "注文日時": "2026/11/30 09:05",
            "ステータス": "新規",
            "郵便番号": "0600001",
            "電話番号": "0312345678",
            "合計金額": "3300",
        }
    )
    table = parse_grid(ORDERS, Grid.from_values("受注", [list(ORDERS.headers), list(row.values())]))
    order = table.records[0].value
    assert (order.order_number, order.postcode, order.phone) == ("000123", "0600001", "0312345678")
    assert order.ordered_at == datetime(2026, 11, 30, 9, 5, tzinfo=JST)
    assert order.ordered_at.utcoffset().total_seconds() == 9 * 3600


def test_each_bad_cell_is_one_japanese_error_with_sheet_row_column_and_value() -> None:
    table = parse_grid(STOCK, stock_grid(["A-1", "5"], ["B-2", "たくさん", "", "-1"], ["C-3", "2"]))
    assert [r.value.sku for r in table.records] == ["A-1", "C-3"]
    assert [(e.row, e.column, e.value) for e in table.errors] == [
        (3, "実在庫", "たくさん"),
        (3, "安全在庫", "-1"),
    ]
    assert (
        str(table.errors[0])
        == "「在庫」シート 3行目 「実在庫」列: 整数で入力してください（入力値: 「たくさん」）"
    )
    assert "0以上" in str(table.errors[1])


def test_row_numbers_count_blank_lines_as_staff_see_them() -> None:
    table = parse_grid(STOCK, stock_grid(["A-1", "5"], [], ["", "  "], ["B-2", "x"]))
    assert [r.row for r in table.records] == [2]
    assert [e.row for e in table.errors] == [5]


def test_duplicate_key_is_reported_on_the_later_row_and_not_read() -> None:
    table = parse_grid(STOCK, stock_grid(["A-1", "5"], ["A-1", "7"]))
    assert [r.value.on_hand for r in table.records] == [5]
    assert table.errors[0].row == 3
    assert "2行目と同じキー" in table.errors[0].message


def test_blank_required_cell_and_unknown_status_are_explained() -> None:
    row = dict.fromkeys(ORDERS.headers, "")
    row.update(
        {
            "モール": "Amazon",
            "注文番号": "503-1",
            "注文日時": "2026-11-01",
            "ステータス": "発送",
            "合計金額": "",
        }
    )
    table = parse_grid(ORDERS, Grid.from_values("受注", [list(ORDERS.headers), list(row.values())]))
    messages = {e.column: e.message for e in table.errors}
    assert messages["合計金額"] == "空欄にはできません"
    assert "「発送待ち」" in messages["ステータス"] and "どれか" in messages["ステータス"]


def test_jan_code_format_error_says_what_to_type() -> None:
    grid = Grid.from_values("商品", [list(PRODUCTS.headers), ["A", "品", "100", "", "12345"]])
    (error,) = parse_grid(PRODUCTS, grid).errors
    assert (error.column, error.message) == ("JANコード", "JANコードは8桁か13桁の数字で入力してください")


def test_columns_are_found_by_name_whatever_their_order() -> None:
    header = ["メモ欄（スタッフ用）", "安全在庫", "SKU", "更新日時", "販売可能数", "引当数", "実在庫"]
    table = parse_grid(STOCK, stock_grid(["棚B", "2", "A-1", "", "", "1", "9"], header=header))
    stock = table.records[0].value
    assert (stock.sku, stock.on_hand, stock.allocated, stock.safety_stock) == ("A-1", 9, 1, 2)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["SKU", "実在庫", "引当数", "安全在庫数", "販売可能数", "更新日時"], "「安全在庫」列がありません"),
        (["SKU", "SKU", "実在庫", "引当数", "安全在庫", "販売可能数", "更新日時"], "「SKU」列が2つあります"),
        ([], "見出しがありません"),
    ],
)
def test_header_problems_block_the_tab_and_name_it(header: list[str], expected: str) -> None:
    table = parse_grid(STOCK, Grid.from_values("在庫", [header, ["A-1", "5"]] if header else []))
    assert not table.writable
    assert table.records == []
    assert any("「在庫」" in p and expected in p for p in table.header_problems)


def test_every_tab_spec_names_real_columns_and_has_help() -> None:
    titles = [spec.title for spec in TABS]
    assert len(set(titles)) == len(titles)
    for spec in TABS:
        assert set(spec.key) <= set(spec.headers)
        assert spec.help.endswith("。")
        assert spec.system_columns == tuple(h for h in spec.headers if h not in spec.staff_columns)


@pytest.mark.parametrize(
    "typed",
    [
        "2026-01-05 09:05:00",
        "2026/1/5 9:05",
        "2026/01/05 09:05:00",
        "2026-01-05T00:05:00Z",
        "2026-01-05T09:05:00+09:00",
    ],
)
def test_times_as_staff_or_sheets_write_them_all_mean_the_same_jst_moment(typed: str) -> None:
    table = parse_grid(STOCK, stock_grid(["A-1", "1", "", "", "", typed]))
    assert table.records[0].value.updated_at == datetime(2026, 1, 5, 9, 5, tzinfo=JST)


def test_the_same_cells_under_reordered_columns_parse_by_their_new_header() -> None:
    from sheets_schema.grid import Grid
    from sheets_schema.parsing import parse_grid
    from sheets_schema.tabs import STOCK

    header = list(STOCK.headers)
    swapped = [header[0], header[2], header[1], *header[3:]]  # 実在庫 and 引当数 change places
    row = ["SKU-1", "7", "3", "0", "4", ""]
    first = parse_grid(STOCK, Grid(STOCK.title, header, [list(row)])).models()[0]
    second = parse_grid(STOCK, Grid(STOCK.title, swapped, [list(row)])).models()[0]
    assert (first.on_hand, first.allocated) == (7, 3)
    assert (second.on_hand, second.allocated) == (3, 7)
