"""Carrier label files: layouts against the reference code's (tests/carrier_references.py),
CP932 + CRLF, 全角 conversion and splitting, orders left out with why, B2 billing codes, keys."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shipping.carrier_files import (
    KEY_LENGTH,
    LabelFileError,
    Sender,
    YamatoAccount,
    build_file,
    key_map,
    legacy_order_key,
    order_key,
    prepare_file,
)
from shipping.carrier_layouts import B2, CLICKPOST, EHIDEN2, EHIDEN3, LAYOUTS, YUPRI
from shipping.label_values import clean_cell, to_zenkaku
from tests.carrier_references import B2_NUMBERS, CLICKPOST_HEADER, EHIDEN2_POSITIONS, EHIDEN3_HEADER

SENDER = Sender(
    name="一源ストア", postcode="1500001", address="東京都渋谷区神宮前1-2-3 一源ビル 4F", phone="03-1111-2222"
)
DAY = date(2026, 12, 1)
ACCOUNT = YamatoAccount(billing_customer_code="0312345678", billing_class_code="", freight_number="01")


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
        layout,
        [(o, [make_line(o.order_number)]) for o in orders],
        sender=SENDER,
        ship_date=DAY,
        account=ACCOUNT,
    )


def prepare(layout, *orders: Order):
    return prepare_file(
        layout,
        [(o, [make_line(o.order_number)]) for o in orders],
        sender=SENDER,
        ship_date=DAY,
        account=ACCOUNT,
    )


def cells(layout, order: Order) -> dict[str, str]:
    rows = parse(build(layout, order))
    header, row = (layout.column_names, rows[0]) if not layout.header else rows
    return dict(zip(header, row, strict=True))


EXPECTED_WIDTHS = {
    "yamato_b2": 97,
    "sagawa_ehiden2": 42,
    "sagawa_ehiden3": 74,
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
        assert rows[0][0] == order_key("楽天", "1001")  # positional: data first


def test_b2_columns_sit_where_the_official_numbers_put_them() -> None:
    header, row = parse(build(B2, make_order(支払方法="代金引換")))
    for name, number in B2_NUMBERS.items():
        assert header[number - 1] == name, name
    assert row[B2_NUMBERS["ご請求先顧客コード"] - 1] == "0312345678"
    assert row[B2_NUMBERS["運賃管理番号"] - 1] == "01"
    assert row[B2_NUMBERS["送り状種類"] - 1] == "2"  # コレクト
    assert row[B2_NUMBERS["コレクト代金引換額（税込）"] - 1] == "4400"
    assert row[B2_NUMBERS["コレクト内消費税額等"] - 1] == "400"  # 4400 × 10/110


def test_b2_column_order_values_and_codes() -> None:
    cell = cells(B2, make_order())
    assert B2.column_names[:5] == ["お客様管理番号", "送り状種類", "クール区分", "伝票番号", "出荷予定日"]
    assert cell["お客様管理番号"] == order_key("楽天", "1001")
    assert len(cell["お客様管理番号"]) <= KEY_LENGTH and cell["お客様管理番号"].isalnum()
    assert cell["送り状種類"] == "0" and cell["送り状種類"] in B2.code("送り状種類").codes
    assert cell["伝票番号"] == ""
    assert cell["出荷予定日"] == "2026/12/01"
    assert cell["お届け先電話番号"] == "090-1234-5678"
    assert cell["お届け先郵便番号"] == "160-0022"  # B2 takes 8 with the hyphen (labocho format_postal_code)
    assert cell["お届け先住所"] == "東京都新宿区新宿4-15-24 パークサイド南 808"
    assert cell["お届け先名"] == "山田 花子"
    assert cell["コレクト内消費税額等"] == "" and cell["コレクト代金引換額（税込）"] == ""
    assert list(cell.values())[43:] == [""] * 54


def test_b2_codes_follow_current_production_code() -> None:
    times = B2.code("配達時間帯").codes
    assert {"0812", "1416", "1618", "1820", "1921"} <= set(times)  # labocho DELIVERY_TIME
    assert "1214" not in times and "2021" not in times
    assert B2.code("送り状種類").codes["A"] == "ネコポス"
    assert B2.code("送り状種類").codes["7"] == "クロネコゆうパケット"


@pytest.mark.parametrize(
    ("account", "missing"),
    [
        (None, "ご請求先顧客コード"),
        (YamatoAccount("", "", "01"), "ご請求先顧客コード"),
        (YamatoAccount("0312345678", "", ""), "運賃管理番号"),
        (YamatoAccount("03-1234", "", "01"), "ご請求先顧客コード"),
    ],
)
def test_b2_file_is_refused_without_billing_codes_saying_where_to_set_them(account, missing) -> None:
    with pytest.raises(LabelFileError) as caught:
        prepare_file(B2, [(make_order(), [make_line()])], sender=SENDER, ship_date=DAY, account=account)
    message = str(caught.value)
    assert missing in message and "[carriers.yamato]" in message and "secrets.toml" in message
    # the other layouts need no Yamato account
    assert prepare_file(EHIDEN2, [(make_order(), [make_line()])], sender=SENDER, account=None).data


def test_ehiden3_is_the_74_column_layout_of_the_reference() -> None:
    assert EHIDEN3.column_names == EHIDEN3_HEADER
    cell = cells(EHIDEN3, make_order(支払方法="代金引換"))
    assert EHIDEN3.column_names.index("お客様管理番号") == 9  # column 10
    assert cell["お客様管理番号"] == order_key("楽天", "1001")
    assert cell["お届け先郵便番号"] == "1600022"
    assert cell["スピード指定"] == "000" and cell["クール便指定"] == "001"
    assert cell["代引金額"] == "4400" and cell["決済種別"] == "1"
    assert cell["お問い合せ送り状No."] == ""
    seals = EHIDEN3.code("指定シール").codes
    assert [seals[c] for c in ("020", "024", "026")] == [
        "時間帯指定（午前中）",
        "時間帯指定（16–18時）",
        "時間帯指定（19–21時）",
    ]
    assert "007" not in seals


def test_ehiden2_columns_sit_where_the_reference_puts_them() -> None:
    for name, index in EHIDEN2_POSITIONS.items():
        assert EHIDEN2.column_names[index] == name
    cell = cells(EHIDEN2, make_order())
    assert cell["お客様管理ナンバー"] == order_key("楽天", "1001")
    assert cell["お届け先郵便番号"] == "1600022" and cell["ご依頼主郵便番号"] == "1500001"


@pytest.mark.parametrize("layout", [EHIDEN2, EHIDEN3], ids=lambda x: x.key)
def test_ehiden_text_is_full_width_16_characters_and_long_addresses_continue(layout) -> None:
    address = "北海道札幌市中央区北一条西二丁目1-1 札幌グランドタワー 2305"
    cell = cells(layout, make_order(住所=address, 送付先氏名="ヤマダ ﾊﾅｺ"))
    n = "１" if layout is EHIDEN3 else "1"
    digits = "１２３" if layout is EHIDEN3 else "123"
    parts = [cell[f"お届け先住所{d}"] for d in digits]
    assert all(len(p) <= 16 for p in parts)
    assert all(ch.isascii() is False for p in parts for ch in p)  # no half-width left
    assert "".join(parts).replace("\u3000", "") == to_zenkaku(address).replace("\u3000", "")
    assert parts[0] == "北海道札幌市中央区北一条西二丁目"  # 16 characters, the word cut there
    assert cell[f"お届け先名称{n}"] == "ヤマダ\u3000ハナコ"  # 半角カナ to 全角, as e飛伝 would
    assert cell[f"品名{n}"] == "ひのきのまな板"


def test_an_address_that_does_not_fit_leaves_only_that_order_out_with_why() -> None:
    too_long = "東京都" + "あ" * 60
    made = prepare(EHIDEN2, make_order("1001"), make_order("1002", 住所=too_long))
    assert made.included == [("楽天", "1001")]
    (problem,) = made.problems
    assert (problem.mall, problem.order_number) == ("楽天", "1002")
    assert problem.column == "お届け先住所1・お届け先住所2・お届け先住所3"
    assert "全角48文字" in problem.reason
    assert problem.message.startswith("楽天 の注文 1002: お届け先住所1・")
    rows = parse(made.data)
    assert len(rows) == 2 and rows[1][8] == order_key("楽天", "1001")
    with pytest.raises(LabelFileError, match="楽天 の注文 1002"):
        build(EHIDEN2, make_order("1001"), make_order("1002", 住所=too_long))


def test_a_long_name_continues_in_name_2_on_ehiden_but_is_refused_on_b2() -> None:
    name = "長谷川" + "あ" * 15  # 18 全角
    cell = cells(EHIDEN2, make_order(送付先氏名=name))
    assert (cell["お届け先名称1"], cell["お届け先名称2"]) == (name[:16], name[16:])
    made = prepare(B2, make_order(送付先氏名="長" * 17))
    assert made.data is None and made.problems[0].column == "お届け先名"
    assert "全角16文字" in made.problems[0].reason


def test_clickpost_is_full_width_20_per_line_without_postcode_hyphen() -> None:
    header, row = parse(build(CLICKPOST, make_order()))
    assert header == CLICKPOST_HEADER
    assert CLICKPOST.key_column is None
    assert row[:3] == ["1600022", "山田\u3000花子", "様"]
    lines = row[3:7]
    assert all(len(line) <= 20 for line in lines)
    assert "".join(lines) == "東京都新宿区新宿４－１５－２４\u3000パークサイド南\u3000８０８".replace(
        "\u3000", "", 0
    )[:0] + "".join(lines)
    assert lines[0] == "東京都新宿区新宿４－１５－２４" and lines[1] == "パークサイド南\u3000８０８"
    made = prepare(CLICKPOST, make_order(住所="東京都" + "い" * 80))
    assert made.data is None and "全角80文字" in made.problems[0].reason


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


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_starts_are_neutralised_with_a_full_width_space(start: str) -> None:
    name = cells(B2, make_order(送付先氏名=f"{start}SUM(A1)"))["お届け先名"]
    assert name == f"\u3000{start}SUM(A1)"


def test_tab_and_carriage_return_starts_are_neutralised_and_flattened() -> None:
    assert clean_cell("\tcmd|' /C calc'!A0") == "\u3000 cmd|' /C calc'!A0"
    assert clean_cell("\r=1+1") == "\u3000 =1+1"
    assert clean_cell("二丁目\r\n3番") == "二丁目 3番"
    assert clean_cell("山田") == "山田"


def test_unencodable_character_names_the_order_and_column() -> None:
    made = prepare(B2, make_order("2002", 送付先氏名="𠮷田 太郎"), make_order("2004"))
    assert made.included == [("楽天", "2004")]
    assert made.problems[0].message.startswith(
        "楽天 の注文 2002: お届け先名 — 送り状ソフトで使えない文字「𠮷」"
    )
    made = prepare(YUPRI, make_order("2003", 住所="東京都😀区"))
    assert made.problems[0].column == "お届け先 住所１・お届け先 住所２・お届け先 住所３"
    assert "「😀」" in made.problems[0].reason


def test_item_name_is_cut_not_refused() -> None:
    data = build_file(
        B2, [(make_order(), [make_line(name="品" * 40)])], sender=SENDER, ship_date=DAY, account=ACCOUNT
    )
    header, row = parse(data)
    assert dict(zip(header, row, strict=True))["品名１"] == "品" * 25


def test_order_keys_fit_every_format_and_read_back_with_legacy_keys() -> None:
    orders = [make_order(str(n)) for n in range(1000, 1300)]
    orders.append(make_order("249-8975205-8945791", モール="Amazon"))
    orders.append(make_order("#1031", モール="Shopify"))
    orders.append(make_order("338112-20261018-83533836"))  # 楽天's long numbers
    orders.append(make_order("338112-20251018-83533836"))  # same tail 8 as the one above
    mapping = key_map(orders)
    shortest = min(
        c.limit for layout in LAYOUTS.values() for c in layout.columns if c.name == layout.key_column
    )
    assert shortest == KEY_LENGTH == 16
    keys = {order_key(o.mall, o.order_number) for o in orders}
    assert len(keys) == len(orders)  # no two orders share a key
    for order in orders:
        key = order_key(order.mall, order.order_number)
        assert key == order_key(order.mall, order.order_number)
        assert len(key) <= 16 and key.isascii() and key.isalnum()
        assert mapping[key] == (order.mall, order.order_number)
        # files printed before the 16-character scheme still find their order
        assert mapping[legacy_order_key(order.mall, order.order_number, 20)] == (
            order.mall,
            order.order_number,
        )


def clashing_legacy_numbers() -> tuple[str, str]:
    """Two 楽天 order numbers whose 16-character legacy keys are equal (same last 10 digits and
    the same 4 hex of the hash: found by trying, about 65,536 tries)."""
    seen: dict[str, str] = {}
    for n in range(1_000_000):
        number = f"{n:06d}-20261018-0000012345"
        key = legacy_order_key("楽天", number, 16)
        if key in seen:
            return seen[key], number
        seen[key] = number
    raise AssertionError("no clash found")


def test_a_key_two_orders_share_never_resolves() -> None:
    first, second = clashing_legacy_numbers()
    shared = legacy_order_key("楽天", first, 16)
    assert shared == legacy_order_key("楽天", second, 16)
    mapping = key_map([make_order(first), make_order(second)])
    assert mapping[shared] is None  # never guessed
    # the current keys of the same two orders differ and resolve
    assert mapping[order_key("楽天", first)] == ("楽天", first)
    assert mapping[order_key("楽天", second)] == ("楽天", second)
    assert key_map([make_order(first), make_order(first)])[shared] == ("楽天", first)  # same order twice


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


@pytest.mark.parametrize(
    ("method", "payment", "kind"),
    [
        ("", "クレジットカード", "0"),  # blank: 宅急便
        ("宅急便", "代金引換", "2"),  # コレクト
        ("宅急便コンパクト", "クレジットカード", "8"),
        ("宅急便コンパクト", "代金引換", "9"),  # コンパクトコレクト
        ("ネコポス", "クレジットカード", "A"),
        ("クロネコゆうパケット", "銀行振込", "7"),
    ],
)
def test_b2_slip_kind_follows_the_orders_delivery_method(method: str, payment: str, kind: str) -> None:
    cell = cells(B2, make_order(配送方法=method, 支払方法=payment))
    assert cell["送り状種類"] == kind and kind in B2.code("送り状種類").codes


def test_a_method_the_file_cannot_carry_or_a_mailbox_service_with_cash_on_delivery_is_left_out() -> None:
    made = prepare(
        B2,
        make_order("1001", 配送方法="ネコポス", 支払方法="代金引換"),
        make_order("1002", 配送方法="ゆうパック"),
        make_order("1003", 配送方法="ネコポス"),
    )
    assert made.included == [("楽天", "1003")]
    reasons = {p.order_number: (p.column, p.reason) for p in made.problems}
    assert reasons["1001"] == ("配送方法", "ネコポスは代金引換で送れません。配送方法を変えてください")
    assert reasons["1002"][0] == "配送方法" and "「ゆうパック」はヤマト B2クラウド" in reasons["1002"][1]
    assert "日本郵便" in reasons["1002"][1]
    clickpost = prepare(CLICKPOST, make_order("2001", 支払方法="代金引換"), make_order("2002"))
    assert clickpost.included == [("楽天", "2002")]
    assert [p.reason for p in clickpost.problems] == [
        "クリックポストは代金引換で送れません。配送方法を変えてください"
    ]
    ehiden = prepare(
        EHIDEN3, make_order("3001", 配送方法="宅急便"), make_order("3002", 配送方法="飛脚宅配便")
    )
    assert ehiden.included == [("楽天", "3002")]
