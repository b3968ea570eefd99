"""Picking list and 納品書 on the demo shop: the sums, the shelf order, and the PDFs read back."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase import pdfmetrics

from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import OPEN_ORDER_STATUSES
from shipping.documents import (
    BODY,
    PickLine,
    ShopInfo,
    delivery_slips_pdf,
    included_tax,
    orders_with_lines,
    picking_list,
    shelf_key,
    wrap,
    yen,
)
from shipping.pdf_layout import wrap_items
from shipping.picking_paper import picking_pdf
from tests import pdf_text
from tests.shop_fixtures import Shop, sqlite_shop

PRINTED_AT = datetime(2026, 11, 30, 15, 30, tzinfo=JST)
SHOP = ShopInfo(
    name="一源ストア 本店",
    postcode="530-0001",
    address="大阪府大阪市北区梅田1-2-3 一源ビル4階",
    phone="06-1234-5678",
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo shop, read once: the read-only tests share it."""
    return sqlite_shop(tmp_path_factory.mktemp("shop")).tables()


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """A demo shop of one's own, for tests that add order lines."""
    return sqlite_shop(tmp_path)


def _keys(tables: dict[str, Any], statuses: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(o.mall, o.order_number) for o in tables["受注"].models() if o.status in statuses]


def _add_lines(shop: Shop, key: tuple[str, str], lines: list[dict[str, Any]]) -> None:
    tables = shop.tables()
    taken = max(
        line.line_number for line in tables["受注明細"].models() if (line.mall, line.order_number) == key
    )
    job = WriteJob()
    job.append(
        tables["受注明細"],
        [
            {"モール": key[0], "注文番号": key[1], "明細番号": taken + i, **line}
            for i, line in enumerate(lines, start=1)
        ],
    )
    shop.workbook.write(job)


_pages, _text, _flat = pdf_text.pages, pdf_text.text, pdf_text.flat


def _check_sums(tables: dict[str, Any], keys: list[tuple[str, str]]) -> list[Any]:
    picked = picking_list(tables, keys)
    units: Counter[str | None] = Counter()
    orders: dict[str | None, set[tuple[str, str]]] = {}
    for line in tables["受注明細"].models():
        key = (line.mall, line.order_number)
        if key in keys and line.quantity:
            units[line.sku] += line.quantity
            orders.setdefault(line.sku, set()).add(key)
    assert {p.sku: p.quantity for p in picked} == dict(units)
    assert {p.sku: p.order_count for p in picked} == {s: len(o) for s, o in orders.items()}
    assert {p.sku: set(p.orders) for p in picked} == orders
    return picked


def test_the_picking_list_sums_the_waiting_orders_lines_per_sku(tables: dict[str, Any]) -> None:
    keys = _keys(tables, ("発送待ち",))
    assert len(keys) >= 3
    picked = _check_sums(tables, keys)
    catalogue = {p.sku: p.name for p in tables["商品"].models()}
    assert all(p.sku and p.name == catalogue[p.sku] for p in picked)


def test_a_sku_in_several_orders_is_picked_once_with_their_total(tables: dict[str, Any]) -> None:
    keys = _keys(tables, OPEN_ORDER_STATUSES)
    picked = _check_sums(tables, keys)
    assert any(p.order_count >= 2 and p.quantity >= 2 for p in picked)
    assert len({p.sku for p in picked}) == len(picked)


def test_the_picking_list_walks_the_shelves_in_sku_order(tables: dict[str, Any]) -> None:
    picked = picking_list(tables, _keys(tables, OPEN_ORDER_STATUSES))
    skus = [p.sku for p in picked]
    assert len(skus) >= 5
    assert skus == sorted(skus, key=lambda s: shelf_key(s or ""))
    assert sorted(["X-10", "x-2", "ＡＢ-1", "00123-01"], key=shelf_key) == [
        "00123-01",
        "ＡＢ-1",
        "x-2",
        "X-10",
    ]


def test_lines_without_a_sku_come_last_marked_for_checking(shop: Shop) -> None:
    tables = shop.tables()
    key = _keys(tables, ("発送待ち",))[0]
    _add_lines(
        shop,
        key,
        [
            {"SKU": "", "商品名": "福袋 2027", "数量": 2, "単価": 5500, "モール商品コード": "fukubukuro"},
            {"SKU": "00123-01", "商品名": "手ぬぐい", "数量": 3, "単価": 1650},
            {"SKU": "00901", "商品名": "ふきん", "数量": 0, "単価": 550},
        ],
    )
    tables = shop.tables()
    picked = _check_sums(tables, _keys(tables, ("発送待ち",)))
    assert picked[-1].sku is None and picked[-1].needs_check
    assert (picked[-1].name, picked[-1].quantity, picked[-1].orders) == ("福袋 2027", 2, (key,))
    assert not any(p.needs_check for p in picked[:-1])
    assert "00901" not in {p.sku for p in picked}  # 数量 0: nothing to pick
    text = _text(picking_pdf(picked, shop_name="デモ", printed_at=PRINTED_AT))
    assert "要確認" in text and "福袋2027" in text


def test_an_order_not_in_the_sheet_is_refused(tables: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="存在しない-1"):
        picking_list(tables, [("楽天", "存在しない-1")])
    with pytest.raises(KeyError, match="存在しない-1"):
        orders_with_lines(tables, [("楽天", "存在しない-1")])


def test_the_picking_pdf_reads_back(tables: dict[str, Any]) -> None:
    keys = _keys(tables, OPEN_ORDER_STATUSES)
    picked = picking_list(tables, keys)
    pdf = picking_pdf(picked, shop_name="Ichigen デモショップ", printed_at=PRINTED_AT)
    assert pdf.startswith(b"%PDF")
    pages = _pages(pdf)
    text = _flat("".join(pages))
    assert "ピッキングリスト" in text and "Ichigenデモショップ" in text and "2026-11-3015:30" in text
    for p in picked:
        assert p.sku in text and _flat(p.name) in text
    assert f"合計{sum(p.quantity for p in picked)}点" in text
    # The SKUs appear in shelf order in the text too.
    positions = [text.index(p.sku) for p in picked if p.sku]
    assert positions == sorted(positions)


def test_each_order_gets_its_own_delivery_slip(tables: dict[str, Any]) -> None:
    batch = orders_with_lines(tables, _keys(tables, ("発送待ち",)))
    assert len(batch) >= 3 and all(len(lines) <= 5 for _, lines in batch)
    pages = _pages(delivery_slips_pdf(batch, shop=SHOP, printed_at=PRINTED_AT))
    assert len(pages) == len(batch)
    for (order, lines), page in zip(batch, pages, strict=True):
        text = _flat(page)
        assert "納品書" in text and _flat(SHOP.name) in text and "〒530-0001" in text
        assert "大阪府大阪市北区梅田1-2-3" in text and "06-1234-5678" in text
        assert order.order_number in text
        assert f"{_flat(order.recipient_name)}様" in text
        assert order.postcode and order.postcode in text
        assert _flat(order.address)[:10] in text
        for line in lines:
            assert _flat(line.name) in text and (line.sku or "") in text
            assert yen(line.unit_price) in text and yen(line.quantity * line.unit_price) in text
        assert f"小計{yen(sum(li.quantity * li.unit_price for li in lines))}" in text
        assert f"送料{yen(order.shipping_fee)}" in text
        assert f"合計（税込）{yen(order.total)}" in text
        assert f"内消費税10%：{yen(included_tax(order.total))}" in text and "税込です" in text
        assert f"注文日：{order.ordered_at.year}年" in text
        # No other order's number on this page.
        others = [o.order_number for o, _ in batch if o.order_number != order.order_number]
        assert not any(f"注文番号：{n}" in text for n in others)


def test_the_slip_prints_the_customers_note_but_not_staff_holds(tables: dict[str, Any]) -> None:
    order, lines = next(
        (o, li) for o, li in orders_with_lines(tables, _keys(tables, ("発送待ち",))) if o.note
    )
    held = order.model_copy(update={"note": f"{order.note}\n【保留】住所確認中 (2026-11-29 10:00)"})
    text = _text(delivery_slips_pdf([(held, lines)], shop=SHOP, printed_at=PRINTED_AT))
    assert "備考" in text and _flat(order.note) in text
    assert "【保留】" not in text and "住所確認中" not in text


def test_a_total_that_does_not_add_up_shows_the_adjustment(tables: dict[str, Any]) -> None:
    order, lines = orders_with_lines(tables, _keys(tables, ("発送待ち",)))[0]
    discounted = order.model_copy(update={"total": order.total - 300})
    text = _text(delivery_slips_pdf([(discounted, lines)], shop=SHOP, printed_at=PRINTED_AT))
    assert "値引き・調整-¥300" in text and f"合計（税込）{yen(order.total - 300)}" in text
    plain = _text(delivery_slips_pdf([(order, lines)], shop=SHOP, printed_at=PRINTED_AT))
    assert "値引き" not in plain


def test_a_thirty_line_order_continues_on_a_second_page(shop: Shop) -> None:
    tables = shop.tables()
    keys = _keys(tables, ("発送待ち",))
    key = keys[0]
    catalogue = [p for p in tables["商品"].models()]
    have = sum(1 for li in tables["受注明細"].models() if (li.mall, li.order_number) == key)
    _add_lines(
        shop,
        key,
        [
            {"SKU": p.sku, "商品名": f"{p.name}（{i}）", "数量": 1 + i % 3, "単価": p.price}
            for i, p in enumerate((catalogue * 3)[: 30 - have], start=1)
        ],
    )
    tables = shop.tables()
    batch = orders_with_lines(tables, keys)
    order, lines = batch[0]
    assert len(lines) == 30
    pages = _pages(delivery_slips_pdf(batch, shop=SHOP, printed_at=PRINTED_AT))
    assert len(pages) == len(batch) + 1
    first, second = _flat(pages[0]), _flat(pages[1])
    assert "1/2ページ" in first and "次のページに続きます" in first and "合計（税込）" not in first
    assert "納品書（続き）" in second and order.order_number in second and "2/2ページ" in second
    assert f"合計（税込）{yen(order.total)}" in second
    both = first + second
    for line in lines:
        assert _flat(line.name) in both
    assert _flat(lines[-1].name) in second
    # The next order starts on its own page.
    assert batch[1][0].order_number in _flat(pages[2]) and order.order_number not in _flat(pages[2])
    # The picking list still sums the grown order correctly.
    _check_sums(tables, keys)


def test_long_names_wrap_within_their_column() -> None:
    name = "今治タオル フェイスタオル 特別限定版 ギフトボックス入り 名入れ刺繍サービス付き（ネイビー・ホワイト・グレー三枚組）"
    wrapped = wrap(name, BODY, 9.5, 229)
    assert len(wrapped) >= 2
    assert all(pdfmetrics.stringWidth(t, BODY, 9.5) <= 229 for t in wrapped)
    assert _flat("".join(wrapped)) == _flat(name)


def test_a_long_name_is_printed_whole_on_the_slip(tables: dict[str, Any]) -> None:
    order, lines = orders_with_lines(tables, _keys(tables, ("発送待ち",)))[0]
    name = "今治タオル フェイスタオル 特別限定版 ギフトボックス入り 名入れ刺繍サービス付き（ネイビー・ホワイト・グレー三枚組）"
    long = [lines[0].model_copy(update={"name": name}), *lines[1:]]
    pages = _pages(delivery_slips_pdf([(order, long)], shop=SHOP, printed_at=PRINTED_AT))
    assert len(pages) == 1
    assert _flat(name) in _flat(pages[0])


def test_included_tax_is_rounded_down() -> None:
    assert included_tax(1100) == 100
    assert included_tax(4730) == 430
    assert included_tax(999) == 90  # 90.8…
    assert included_tax(0) == 0
    assert yen(12345) == "¥12,345"


def test_the_font_is_embedded_so_every_pc_prints_the_same(tables: dict[str, Any]) -> None:
    keys = _keys(tables, ("発送待ち",))
    for pdf in (
        picking_pdf(picking_list(tables, keys), shop_name=SHOP.name, printed_at=PRINTED_AT),
        delivery_slips_pdf(orders_with_lines(tables, keys), shop=SHOP, printed_at=PRINTED_AT),
    ):
        # A TrueType font program inside the file (a subset of IPAexGothic), and no reference
        # to a font the viewer must have (the Heisei CID fonts were never embedded).
        assert b"/FontFile2" in pdf and b"IPAexGothic" in pdf
        assert b"Heisei" not in pdf


def test_a_rakuten_order_number_is_printed_on_one_line_of_the_picking_list() -> None:
    numbers = ["338112-20261207-93753136", "338112-20261207-10000001", "#1043", "250-7545085-6071387"]
    line = PickLine("TWL-BATH-GY", "今治タオル バスタオル", 4, 4, tuple(("楽天", n) for n in numbers))
    pdf = picking_pdf([line], shop_name=SHOP.name, printed_at=PRINTED_AT)
    printed = pdf_text.pages(pdf)[0].splitlines()
    for number in numbers:  # each whole on some printed line, never split across two
        assert any(number in row for row in printed), (number, printed)


def test_items_wrap_between_numbers_not_inside_them() -> None:
    text = "、".join(["338112-20261207-93753136", "#1043", "#1044", "338112-20261207-10000001"])
    lines = wrap_items(text, BODY, 9, 133)
    assert "、".join(lines) == text  # nothing lost; the breaks fall between numbers
    assert all(pdfmetrics.stringWidth(line, BODY, 9) <= 133 for line in lines)
    assert lines[0] == "338112-20261207-93753136"  # the next number did not fit beside it
    assert wrap_items("", BODY, 9, 133) == [""]
    assert len(wrap_items("X" * 80, BODY, 9, 133)) > 1  # one item wider than a line still wraps


def test_a_set_is_picked_as_its_components_with_the_set_named(shop: Shop) -> None:
    tables = shop.tables()
    key = _keys(tables, ("発送待ち",))[0]
    before = {p.sku: p for p in picking_list(tables, [key])}
    _add_lines(
        shop, key, [{"SKU": "SOX-RIB-3P", "商品名": "綿混リブソックス 3足セット", "数量": 2, "単価": 2970}]
    )
    after = {p.sku: p for p in picking_list(shop.tables(), [key])}
    assert "SOX-RIB-3P" not in after  # nobody can fetch a set from a shelf
    socks = after["SOX-RIB-NV-M"]
    had = before["SOX-RIB-NV-M"].quantity if "SOX-RIB-NV-M" in before else 0
    assert socks.quantity == had + 3 * 2 and socks.sets == ("SOX-RIB-3P",)
    assert "セット SOX-RIB-3P 用を含む" in socks.label
    slips = delivery_slips_pdf(orders_with_lines(shop.tables(), [key]), shop=SHOP, printed_at=PRINTED_AT)
    assert "綿混リブソックス3足セット" in _text(slips)  # the customer's paper names what they bought
