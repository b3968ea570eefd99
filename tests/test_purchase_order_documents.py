"""発注書 on the demo shop: every demo 発注 prints and reads back, a long one continues on more
pages, the CSV holds each line once with formulas neutralised, and a 発注 that cannot be right
is refused with the sheet, row and column to fix. The demo's purchase history keeps its ledger
consistent through a sync cycle."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from purchasing import purchase_orders as po
from purchasing.po_documents import CSV_HEADER, PurchaseOrderError, documents, file_stem, purchase_orders_csv
from purchasing.po_pdf import NO_JAN, TABLE, purchase_orders_pdf, row_cells
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from shipping.pdf_layout import ShopInfo
from tests import pdf_text
from tests.shop_fixtures import Shop, ledger_problems, sqlite_shop
from vocabulary.demo_shop import SETS

PRINTED_AT = datetime(2026, 11, 30, 15, 30, tzinfo=JST)
SHOP = ShopInfo("一源ストア 本店", "530-0001", "大阪府大阪市北区梅田1-2-3 一源ビル4階", "06-1234-5678")


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return sqlite_shop(tmp_path_factory.mktemp("shop")).tables()


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    return sqlite_shop(tmp_path)


def docs(tables: dict[str, Any], numbers: list[str]) -> list[Any]:
    return documents(tables["発注"], tables["発注明細"], tables["仕入先"], tables["商品"], numbers)


def number_of(tables: dict[str, Any], status: str) -> str:
    return next(o.number for o in tables["発注"].models() if o.status == status)


def add_order(shop: Shop, number: str, lines: list[dict[str, Any]], **order: Any) -> None:
    tables = shop.tables()
    job = WriteJob()
    head = {"発注番号": number, "仕入先": "有限会社浜田染工", "発注日": "2026-11-30", "ステータス": "下書き"}
    job.append(tables["発注"], [{**head, **order}])
    rows = [{"発注番号": number, "明細番号": i, **line} for i, line in enumerate(lines, start=1)]
    job.append(tables["発注明細"], rows)
    shop.workbook.write(job)


# -- the PDF


def test_every_demo_order_prints_its_supplier_lines_and_total(tables: dict[str, Any]) -> None:
    numbers = [o.number for o in tables["発注"].models()]
    made = docs(tables, numbers)
    assert [d.number for d in made] == numbers
    pages = pdf_text.pages(purchase_orders_pdf(made, shop=SHOP, printed_at=PRINTED_AT))
    assert len(pages) == len(made)  # each 発注 on its own page
    for doc, page in zip(made, pages, strict=True):
        text = pdf_text.flat(page)
        assert text.startswith("発注書")
        assert f"{doc.supplier.name}御中" in text and f"発注番号：{doc.number}" in text
        assert pdf_text.flat(SHOP.name) in text and pdf_text.flat(SHOP.address) in text
        for line in doc.lines:
            first, *rest = TABLE.cell_lines(row_cells(line))[3]  # 商品名, wrapped in its column
            row = f"{line.line_number}{line.sku}{line.jan or NO_JAN}{first}"
            row += f"{line.quantity:,}¥{line.unit_cost:,}¥{line.quantity * line.unit_cost:,}" + "".join(rest)
            assert pdf_text.flat(row) in text, row
        assert f"合計数量{doc.units:,}" in text and f"合計金額¥{doc.total:,}" in text


def test_the_draft_reads_back_with_its_dates_and_contact(tables: dict[str, Any]) -> None:
    (doc,) = docs(tables, [number_of(tables, "下書き")])
    text = pdf_text.text(purchase_orders_pdf([doc], shop=SHOP, printed_at=PRINTED_AT))
    ordered, expected = doc.order.ordered_on, doc.order.expected_on
    assert f"発注日：{ordered.year}年{ordered.month}月{ordered.day}日" in text
    assert f"納期（入荷予定日）：{expected.year}年{expected.month}月{expected.day}日" in text
    assert f"{pdf_text.flat(doc.supplier.contact)}様" in text and doc.supplier.email in text
    assert "00123-02" in text  # the leading zero of a SKU is printed


def test_staff_receiving_notes_stay_off_the_paper_and_unpriced_lines_say_so(shop: Shop) -> None:
    add_order(
        shop,
        "PO-T-1",
        [
            {"SKU": "00123-01", "数量": 20, "単価": 700},
            {"SKU": "00123-03", "数量": 20, "備考": "色見本どおり"},
        ],
        備考="午前着でお願いします 【入荷】箱つぶれ (2026-11-30 10:00)",
    )
    (doc,) = docs(shop.tables(), ["PO-T-1"])
    assert (doc.total, doc.unpriced, doc.note) == (14_000, 1, "午前着でお願いします")
    text = pdf_text.text(purchase_orders_pdf([doc], shop=SHOP, printed_at=PRINTED_AT))
    assert "午前着でお願いします" in text and "箱つぶれ" not in text and "【入荷】" not in text
    assert "20未定未定" in text and "（色見本どおり）" in text
    assert "単価未定の1行は合計金額に含みません" in text
    assert f"発注日：{2026}年11月30日" in text


def test_a_long_order_continues_on_more_pages_with_each_line_once(shop: Shop) -> None:
    skus = [p.sku for p in shop.tables()["商品"].models()][:40]
    add_order(shop, "PO-T-LONG", [{"SKU": s, "数量": 2, "単価": 100} for s in skus])
    (doc,) = docs(shop.tables(), ["PO-T-LONG"])
    pages = pdf_text.pages(purchase_orders_pdf([doc], shop=SHOP, printed_at=PRINTED_AT))
    assert len(pages) >= 2
    assert "次のページに続きます" in pages[0] and "発注書（続き）" in pages[1]
    joined = pdf_text.flat("".join(pages))
    for i, sku in enumerate(skus, start=1):
        assert joined.count(f"{i}{sku}") >= 1
    assert "合計数量80" in pdf_text.flat(pages[-1]) and "合計金額¥8,000" in pdf_text.flat(pages[-1])
    assert all(f"{n}/{len(pages)}ページ" in pdf_text.flat(p) for n, p in enumerate(pages, start=1))


def test_no_orders_is_a_page_that_says_so() -> None:
    text = pdf_text.text(purchase_orders_pdf([], shop=SHOP, printed_at=PRINTED_AT))
    assert "発注書を作成する発注がありません" in text


# -- the CSV


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_csv_holds_each_line_of_several_orders_once(tables: dict[str, Any]) -> None:
    numbers = [o.number for o in tables["発注"].models()][:3]
    made = docs(tables, numbers)
    header, *rows = _csv_rows(purchase_orders_csv(made))
    assert tuple(header) == CSV_HEADER
    expected = [
        (d.number, str(line.line_number), line.sku, str(line.quantity), str(line.unit_cost), str(line.amount))
        for d in made
        for line in d.lines
    ]
    at = [header.index(h) for h in ("発注番号", "明細番号", "SKU", "数量", "単価", "金額")]
    assert [tuple(r[i] for i in at) for r in rows] == expected
    first = made[0]
    assert rows[0][header.index("仕入先")] == first.supplier.name
    assert rows[0][header.index("JANコード")] == first.lines[0].jan
    assert rows[0][header.index("発注日")] == first.order.ordered_on.isoformat()
    assert file_stem(numbers) == "発注書_3件" and file_stem(["PO/1 x"]) == "発注書_PO_1_x"


def test_formula_looking_cells_are_neutralised_and_numbers_stay_numbers(shop: Shop) -> None:
    add_order(
        shop,
        "PO-T-2",
        [{"SKU": "00123-01", "数量": 20, "単価": 700, "備考": '=HYPERLINK("http://x")'}],
        備考="+81 へ電話",
    )
    header, row = _csv_rows(purchase_orders_csv(docs(shop.tables(), ["PO-T-2"])))
    assert row[header.index("明細備考")] == '\u3000=HYPERLINK("http://x")'
    assert row[header.index("備考")] == "\u3000+81 へ電話"
    assert (row[header.index("数量")], row[header.index("金額")]) == ("20", "14000")
    assert row[header.index("SKU")] == "00123-01"


# -- what cannot be printed


def test_problems_name_the_sheet_row_and_column(shop: Shop) -> None:
    add_order(shop, "PO-T-3", [{"SKU": "NOPE", "数量": 1}], 仕入先="知らない商店")
    add_order(shop, "PO-T-4", [])
    add_order(shop, "PO-T-5", [{"SKU": "00123-01", "数量": "たくさん"}])
    tables = shop.tables()
    with pytest.raises(PurchaseOrderError) as caught:
        docs(tables, ["PO-T-3", "PO-T-4", "PO-T-5", "PO-NONE"])
    problems = caught.value.problems
    row3 = tables["発注"].find_row(("PO-T-3",))
    line3 = tables["発注明細"].find_row(("PO-T-3", "1"))
    line5 = tables["発注明細"].find_row(("PO-T-5", "1"))
    assert (
        f"「発注」シート {row3}行目「仕入先」列: 「知らない商店」は「仕入先」シートにありません"
        in problems[1]
    )
    assert problems[0] == f"「発注明細」シート {line3}行目「SKU」列: 「NOPE」は商品シートにありません"
    assert "発注「PO-T-4」に明細がありません" in problems[2]
    assert problems[3].startswith(f"「発注明細」シート {line5}行目 「数量」列") and "PO-T-5" in problems[3]
    assert problems[4] == "発注「PO-NONE」が発注シートにありません"


# -- the demo's history on the workbook


def test_the_demo_history_is_consistent_before_and_after_a_cycle(shop: Shop) -> None:
    tables = shop.tables()
    assert po.problems(tables["発注"], tables["発注明細"], tables["仕入先"], tables["商品"]) == []
    assert all(not tables[t].errors for t in ("仕入先", "発注", "発注明細", "商品"))
    sets = {s.sku for s in SETS}  # set products are packed from their components' shelves
    assert all(p.location for p in tables["商品"].models() if p.sku not in sets)
    shop.engine().run_once()
    after = shop.tables()
    assert ledger_problems(after) == []
    outstanding = po.on_order(after["発注"], after["発注明細"])
    assert outstanding["MUG-ARITA-AI"] == 24 and outstanding["TSH-OC-NV-L"] == 10
    on_hand = {s.sku: s.on_hand for s in after["在庫"].models()}
    assert on_hand["MUG-ARITA-AI"] == 0
