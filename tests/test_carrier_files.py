"""Carrier label files: layouts, CP932 + CRLF, codes, formula neutralisation, bad characters."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shipping.carrier_files import LabelFileError, Sender, build_file, key_map, order_key
from shipping.carrier_layouts import B2, CLICKPOST, EHIDEN2, EHIDEN3, LAYOUTS, YUPRI
from shipping.label_values import clean_cell

SENDER = Sender(
    name="一源ストア", postcode="1500001", address="東京都渋谷区神宮前1-2-3 一源ビル 4F", phone="03-1111-2222"
)
DAY = date(2026, 12, 1)


def make_order(number: str = "1001", **changes: object) -> Order:
    values: dict[str, object] = {
        "モール": "楽天",
        "注文番号": number,
        "注文日時": datetime(2026, 11, 30, 9, 0, tzinfo=JST),
        "ステータス": "発送待ち",
        "支払方法": "クレジットカード",
        "送付先氏名": "山田 花子",
        "郵便番号": "１６０－００２２",
        "住所": "東京都新宿区新宿4-15-24 パークサイド南 808",
        "電話番号": "+81 90-1234-5678",
        "合計金額": 4400,
    }
    values.update(changes)
    return Order.model_validate(values)


def make_line(number: str = "1001", name: str = "ひのきのまな板", quantity: int = 1) -> OrderLine:
    return OrderLine.model_validate(
        {"モール": "楽天", "注文番号": number, "明細番号": 1, "商品名": name, "数量": quantity, "単価": 4400}
    )


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))


def build(layout, *orders: Order) -> bytes:
    return build_file(
        layout, [(o, [make_line(o.order_number)]) for o in orders], sender=SENDER, ship_date=DAY
    )


EXPECTED_WIDTHS = {
    "yamato_b2": 97,
    "sagawa_ehiden2": 42,
    "sagawa_ehiden3": 43,
    "yupri_r": 118,
    "clickpost": 8,
}


@pytest.mark.parametrize("key", sorted(EXPECTED_WIDTHS))
def test_every_layout_writes_cp932_crlf_rows_of_its_width(key: str) -> None:
    layout = LAYOUTS[key]
    data = build(layout, make_order("1001"), make_order("1002", 住所="大阪府大阪市北区梅田1-1"))
    assert len(layout.columns) == EXPECTED_WIDTHS[key]
    assert len(set(layout.column_names)) == EXPECTED_WIDTHS[key]
    assert data.count(b"\r\n") == data.count(b"\n") == (3 if layout.header else 2)
    data.decode("cp932")
    rows = parse(data)
    assert all(len(r) == EXPECTED_WIDTHS[key] for r in rows)
    if layout.header:
        assert rows[0] == layout.column_names
    else:
        assert rows[0][0] == order_key("楽天", "1001", layout.key_limit)  # positional: data first


def test_b2_column_order_values_and_codes() -> None:
    rows = parse(build(B2, make_order()))
    header, row = rows
    assert header[:5] == ["お客様管理番号", "送り状種類", "クール区分", "伝票番号", "出荷予定日"]
    assert header[42] == "クロネコwebコレクト データ登録"
    assert header[96] == "通知メールアドレス"
    cell = dict(zip(header, row, strict=True))
    assert cell["お客様管理番号"] == order_key("楽天", "1001", 20)
    assert len(cell["お客様管理番号"]) <= 20 and cell["お客様管理番号"].isalnum()
    assert cell["送り状種類"] == "0" and cell["送り状種類"] in B2.code("送り状種類").codes
    assert cell["クール区分"] == "0"
    assert cell["伝票番号"] == ""
    assert cell["出荷予定日"] == "2026/12/01"
    assert cell["お届け先電話番号"] == "090-1234-5678"
    assert cell["お届け先郵便番号"] == "160-0022"
    assert cell["お届け先住所"] == "東京都新宿区新宿4-15-24 パークサイド南 808"
    assert cell["お届け先名"] == "山田 花子"
    assert cell["ご依頼主郵便番号"] == "150-0001"
    assert cell["品名１"] == "ひのきのまな板"
    assert all(v == "" for v in row[43:])
    assert "1214" in B2.code("配達時間帯").codes and B2.code("配達時間帯").unverified


def test_b2_cash_on_delivery_uses_collect_code_and_amount() -> None:
    header, row = parse(build(B2, make_order(支払方法="代金引換")))
    cell = dict(zip(header, row, strict=True))
    assert cell["送り状種類"] == "2"
    assert cell["コレクト代金引換額（税込）"] == "4400"


def test_sagawa_layouts_put_key_and_split_address() -> None:
    long_address = "北海道札幌市中央区北一条西二丁目1-1 札幌グランドタワー 2305"
    for layout in (EHIDEN2, EHIDEN3):
        header, row = parse(build(layout, make_order(住所=long_address)))
        cell = dict(zip(header, row, strict=True))
        assert header[0] == "住所録コード" and header[8] == "お客様管理ナンバー" and header[41] == "元着区分"
        assert cell["お客様管理ナンバー"] == order_key("楽天", "1001", 16)
        assert len(cell["お客様管理ナンバー"]) <= 16
        parts = [cell[f"お届け先住所{i}"] for i in (1, 2, 3)]
        assert "".join(parts).replace(" ", "") == long_address.replace(" ", "")
        assert parts[0] == "北海道札幌市中央区北一条西二丁目"  # a too-long word is cut at 32 bytes
        assert all(len(cell[f"お届け先住所{i}"].encode("cp932")) <= 32 for i in (1, 2, 3))
        assert cell["元着区分"] == "1" and cell["便種（商品）"] == "001"
    assert (
        EHIDEN3.column_names[-1] == "お問い合せ送り状No."
        and EHIDEN3.column_names[:42] == EHIDEN2.column_names
    )


def test_yupri_positional_118_columns() -> None:
    (row,) = parse(build(YUPRI, make_order()))
    names = YUPRI.column_names
    assert names[0] == "お客様側管理番号" and names[71] == "倉庫数" and names[117] == "商品備考１０"
    cell = dict(zip(names, row, strict=True))
    assert cell["郵便種別"] == "0" and cell["郵便種別"] in YUPRI.code("郵便種別").codes
    assert cell["お届け先 郵便番号"] == "1600022"
    assert cell["お届け先 電話番号"] == "09012345678"
    assert cell["受注番号"] == "1001"
    assert cell["発送予定日"] == "2026/12/01"


def test_clickpost_has_no_key_column_and_eight_named_columns() -> None:
    header, row = parse(build(CLICKPOST, make_order()))
    assert header == ["お届け先郵便番号", "お届け先氏名", "お届け先敬称", "お届け先住所1行目",
                      "お届け先住所2行目", "お届け先住所3行目", "お届け先住所4行目", "内容品"]  # fmt: skip
    assert CLICKPOST.key_column is None
    assert row[:4] == ["160-0022", "山田 花子", "様", "東京都新宿区新宿4-15-24 パークサイド南"]
    assert row[4:7] == ["808", "", ""]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_starts_are_neutralised_with_a_full_width_space(start: str) -> None:
    order = make_order(送付先氏名=f"{start}SUM(A1)")
    header, row = parse(build(B2, order))
    name = dict(zip(header, row, strict=True))["お届け先名"]
    assert name.startswith("\u3000")
    assert name == f"\u3000{start}SUM(A1)"


def test_tab_and_carriage_return_starts_are_neutralised_and_flattened() -> None:
    assert clean_cell("\tcmd|' /C calc'!A0") == "\u3000 cmd|' /C calc'!A0"
    assert clean_cell("\r=1+1") == "\u3000 =1+1"
    assert clean_cell("二丁目\r\n3番") == "二丁目 3番"
    assert clean_cell("山田") == "山田"


def test_unencodable_character_names_the_order_and_field() -> None:
    with pytest.raises(LabelFileError) as caught:
        build(B2, make_order("2002", 送付先氏名="𠮷田 太郎"))
    assert str(caught.value) == "注文 楽天:2002 の お届け先名 に Shift_JIS で使えない文字「𠮷」があります"
    with pytest.raises(
        LabelFileError, match="注文 楽天:2003 の お届け先住所 に Shift_JIS で使えない文字「😀」"
    ):
        build(YUPRI, make_order("2003", 住所="東京都😀区"))


def test_too_long_name_is_refused_but_item_name_is_cut() -> None:
    with pytest.raises(LabelFileError, match="注文 楽天:1001 の お届け先名 が長すぎます"):
        build(B2, make_order(送付先氏名="長" * 17))
    data = build_file(B2, [(make_order(), [make_line(name="品" * 40)])], sender=SENDER, ship_date=DAY)
    header, row = parse(data)
    assert dict(zip(header, row, strict=True))["品名１"] == "品" * 25


def test_order_keys_are_stable_short_and_reversible() -> None:
    orders = [make_order(str(n)) for n in range(1000, 1300)]
    orders.append(make_order("249-8975205-8945791", モール="Amazon"))
    orders.append(make_order("#1031", モール="Shopify"))
    mapping = key_map(orders, 16)
    assert len(mapping) == len(orders)
    for order in orders:
        key = order_key(order.mall, order.order_number, 16)
        assert key == order_key(order.mall, order.order_number, 16)
        assert len(key) <= 16 and key.isascii() and key.isalnum()
        assert mapping[key] == (order.mall, order.order_number)


def test_layouts_list_what_is_unverified() -> None:
    for layout in LAYOUTS.values():
        assert layout.source
        assert layout.unverified, layout.key


def test_every_field_a_layout_can_name_has_a_fill() -> None:
    from shipping.carrier_files import FILLS
    from shipping.carrier_layouts.schema import Field

    assert set(FILLS) == set(Field)
    for layout in LAYOUTS.values():
        assert all(c.fill is None or c.fill in FILLS for c in layout.columns), layout.key
