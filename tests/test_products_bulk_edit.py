"""商品・在庫 bulk edits: the pure planner (shop/bulk_edit.py) and the page through AppTest.

The data_editor diff is what the browser sends: positions in the frame the page built. AppTest
cannot type into the grid, so the tests put the diff into session_state under the editor's key
(``products_editor_0`` / ``stock_editor_0``) before the run, as the stack notes describe.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook as XlsxWorkbook
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import PRODUCTS, STOCK
from sheets_schema.workbook import Workbook
from shop import bulk_edit, bulk_upload
from sync.connectors import build_connectors
from sync.engine import SyncEngine
from tests.test_auth import sign_in

APP = str(PROJECT_ROOT / "app.py")
PAGE = "pages/products.py"


def _settings(url: str):
    return load_settings({"workbook": {"sql_url": url}, "sync": {"auto_sync_demo": False}})


def _demo(path: Path) -> tuple[str, Workbook]:
    url = f"sqlite:///{path / 'wb.sqlite3'}"
    return url, open_prepared_workbook(_settings(url), datetime.now(JST))


@pytest.fixture(scope="module")
def demo_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo shop, read once: for tests that only plan."""
    _, workbook = _demo(tmp_path_factory.mktemp("demo"))
    return read_tables(workbook)


@pytest.fixture
def demo(tmp_path: Path) -> tuple[str, Workbook]:
    """A fresh demo workbook of one's own: for tests that write."""
    return _demo(tmp_path)


def diff(edited: dict[int, dict[str, Any]] | None = None, added=(), deleted=()) -> dict[str, Any]:
    return {"edited_rows": edited or {}, "added_rows": list(added), "deleted_rows": list(deleted)}


def stock_frame(tables):
    return bulk_edit.editor_frame(tables["在庫"], bulk_edit.stock_labels(tables["商品"]))


def grids(workbook: Workbook) -> dict[str, list[list[str]]]:
    read = workbook.read(["商品", "在庫", "在庫移動", "_在庫記録", "_在庫送信"])
    return {title: [list(r) for r in grid.rows] for title, grid in read.items()}


# -- the frame


def test_the_frame_has_sheet_rows_typed_numbers_and_a_read_only_name(demo_tables) -> None:
    frame = stock_frame(demo_tables)
    assert frame.index.name == "行" and list(frame.index[:3]) == [2, 3, 4]
    assert list(frame.columns) == [
        "SKU",
        "商品名",
        "実在庫",
        "引当数",
        "安全在庫",
        "販売可能数",
        "更新日時",
        "不良在庫",
    ]
    assert str(frame["実在庫"].dtype) == "Int64"
    first = frame.iloc[0]
    stored = demo_tables["在庫"].models()[0]  # the sheet's first row, as typed
    assert (first["SKU"], first["実在庫"], first["商品名"]) == (
        stored.sku,
        stored.on_hand,
        "今治タオル フェイスタオル ホワイト",
    )
    products = bulk_edit.editor_frame(demo_tables["商品"])
    assert "00123-01" in set(products["SKU"])  # identifiers keep their leading zeros
    assert products["販売価格"].iloc[0] == 1320


def test_5000_skus_build_and_plan_as_one_job() -> None:
    # Speed is measured by bench/pages_bench.py, not asserted here.
    n = 5000
    products = parse_grid(
        PRODUCTS,
        Grid(
            "商品",
            list(PRODUCTS.headers),
            [[f"{i:05d}", f"商品{i}", "1200", "500", "", "", "", "", "", ""] for i in range(n)],
        ),
    )
    stock = parse_grid(
        STOCK, Grid("在庫", list(STOCK.headers), [[f"{i:05d}", "10", "1", "2", "7", ""] for i in range(n)])
    )
    frame = bulk_edit.editor_frame(stock, bulk_edit.stock_labels(products))
    plan = bulk_edit.plan_edits(stock, frame, diff({i: {"実在庫": 20} for i in range(n)}))
    assert len(frame) == n and frame["SKU"].iloc[-1] == "04999" and frame["商品名"].iloc[-1] == "商品4999"
    assert plan.ok and len(plan.changes) == n and len(plan.job(stock).updates) == n


# -- edits from the grid


def test_a_valid_edit_becomes_one_job_with_a_before_after_preview(demo) -> None:
    _, workbook = demo
    tables = read_tables(workbook)
    before = grids(workbook)
    frame = stock_frame(tables)
    stock = tables["在庫"].models()
    # New values the demo's sheet does not already hold, whatever its date.
    first, fourth, sixth = stock[0].on_hand + 3, stock[3].on_hand + 5, stock[5].on_hand + 2
    safety = stock[3].safety_stock + 1
    plan = bulk_edit.plan_edits(
        tables["在庫"],
        frame,
        diff(
            {
                0: {"実在庫": float(first)},
                3: {"安全在庫": safety, "実在庫": str(fourth)},
                5: {"実在庫": sixth},
            }
        ),
    )
    assert plan.ok, [str(e) for e in plan.errors]
    preview = plan.preview()
    assert preview.to_dict("records")[0] == {
        "行": "2",
        "キー": "TWL-FACE-WH",
        "列": "実在庫",
        "変更前": str(stock[0].on_hand),
        "変更後": str(first),
    }
    assert plan.summary().startswith("3 行")
    assert len(plan.changes) == 4
    workbook.write(plan.job(tables["在庫"]))
    expected = [list(r) for r in before["在庫"]]
    expected[0][1], expected[3][1], expected[3][3], expected[5][1] = (
        str(first),
        str(fourth),
        str(safety),
        str(sixth),
    )
    after = grids(workbook)
    assert after["在庫"] == expected  # exactly the edited cells, nothing else
    assert after["商品"] == before["商品"]


def test_yen_values_show_as_yen_in_the_preview(demo_tables) -> None:
    frame = bulk_edit.editor_frame(demo_tables["商品"])
    plan = bulk_edit.plan_edits(
        demo_tables["商品"], frame, diff({0: {"販売価格": 12345, "メモ": "春の新色"}})
    )
    rows = {r["列"]: (r["変更前"], r["変更後"]) for r in plan.preview().to_dict("records")}
    assert rows == {"販売価格": ("¥1,320", "¥12,345"), "メモ": ("（空欄）", "春の新色")}


def test_invalid_values_refuse_the_whole_batch_with_japanese_errors(demo_tables) -> None:
    stock = bulk_edit.plan_edits(
        demo_tables["在庫"], stock_frame(demo_tables), diff({0: {"実在庫": 40}, 1: {"実在庫": -5}})
    )
    assert [str(e) for e in stock.errors] == [
        "「在庫」シート 3行目 「実在庫」列: 0以上の数を入力してください（入力値: 「-5」）"
    ]
    with pytest.raises(ValueError):
        stock.job(demo_tables["在庫"])  # the valid row 2 is not written either

    products = bulk_edit.plan_edits(
        demo_tables["商品"],
        bulk_edit.editor_frame(demo_tables["商品"]),
        diff({4: {"販売価格": "abc"}, 6: {"JANコード": "12345"}}),
    )
    assert [str(e) for e in products.errors] == [
        "「商品」シート 6行目 「販売価格」列: 整数で入力してください（入力値: 「abc」）",
        "「商品」シート 8行目 「JANコード」列: JANコードは8桁か13桁の数字で入力してください（入力値: 「12345」）",
    ]
    assert not products.ok


def test_system_display_and_key_columns_cannot_be_changed(demo_tables) -> None:
    plan = bulk_edit.plan_edits(
        demo_tables["在庫"],
        stock_frame(demo_tables),
        diff({0: {"引当数": 0, "販売可能数": 99}, 1: {"商品名": "別の名前"}, 2: {"SKU": "OTHER"}}),
    )
    messages = [str(e) for e in plan.errors]
    assert messages[:2] == [
        "「在庫」シート 2行目 「引当数」列: Ichigen が計算・記録する列のため変更できません（入力値: 「0」）",
        "「在庫」シート 2行目 「販売可能数」列: Ichigen が計算・記録する列のため変更できません（入力値: 「99」）",
    ]
    assert messages[2].startswith("「在庫」シート 3行目 「商品名」列: この列は表示用のため変更できません")
    assert messages[3].startswith("「在庫」シート 4行目 「SKU」列: SKUは変更できません")
    assert not plan.changes


def test_deleted_rows_are_refused(demo_tables) -> None:
    plan = bulk_edit.plan_edits(
        demo_tables["商品"], bulk_edit.editor_frame(demo_tables["商品"]), diff(deleted=[1])
    )
    assert len(plan.errors) == 1
    message = str(plan.errors[0])
    assert message.startswith("「商品」シート 3行目: SKU「TWL-FACE-NV」の行は削除できません")
    assert not plan.ok


def test_added_products_are_validated_and_appended(demo) -> None:
    _, workbook = demo
    tables = read_tables(workbook)
    frame = bulk_edit.editor_frame(tables["商品"])
    bad = bulk_edit.plan_edits(
        tables["商品"],
        frame,
        diff(
            added=[
                {"SKU": "NEW-1", "商品名": "新しい手ぬぐい", "販売価格": 990},
                {"SKU": "TWL-FACE-WH", "商品名": "重複", "販売価格": 1},
                {"SKU": "NEW-2", "商品名": "", "販売価格": 500},
                {},
            ]
        ),
    )
    assert [str(e) for e in bad.errors] == [
        "「商品」シート 追加した2件目（45行目に追加予定） 「SKU」列: すでに 2行目にあります。既存の行を直接書き換えてください（入力値: 「TWL-FACE-WH」）",
        "「商品」シート 追加した3件目（46行目に追加予定） 「商品名」列: 空欄にはできません",
    ]
    assert bad.notices == ["空の追加行は無視しました"]
    good = bulk_edit.plan_edits(
        tables["商品"], frame, diff(added=[{"SKU": "00777", "商品名": "新しい手ぬぐい", "販売価格": 990.0}])
    )
    assert good.ok and good.changed_keys == ["00777"]
    assert good.preview().iloc[0]["変更後"] == "商品名: 新しい手ぬぐい、販売価格: ¥990"
    workbook.write(good.job(tables["商品"]))
    new = read_tables(workbook)["商品"]
    assert new.find_row(("00777",)) == 44 and new.models()[-1].price == 990


def test_a_row_with_a_sheet_error_is_written_only_once_fixed(demo) -> None:
    _, workbook = demo
    job = WriteJob()
    job.set(read_tables(workbook)["在庫"], 4, {"実在庫": "十個"})
    workbook.write(job)
    tables = read_tables(workbook)
    frame = stock_frame(tables)
    assert frame.loc[4, "実在庫"] is pd.NA
    still = bulk_edit.plan_edits(tables["在庫"], frame, diff({2: {"安全在庫": 5}}))
    assert [str(e) for e in still.errors] == [
        "「在庫」シート 4行目 「実在庫」列: 整数で入力してください（入力値: 「十個」）"
    ]
    fixed = bulk_edit.plan_edits(tables["在庫"], frame, diff({2: {"実在庫": 12}}))
    assert fixed.ok and [(c.before, c.after) for c in fixed.changes] == [("十個", "12")]
    workbook.write(fixed.job(tables["在庫"]))
    assert not read_tables(workbook)["在庫"].errors


def test_a_diff_for_rows_that_moved_is_refused(demo_tables) -> None:
    frame = stock_frame(demo_tables)
    moved = frame.iloc[::-1]  # the sheet was sorted after the editor was drawn
    plan = bulk_edit.plan_edits(demo_tables["在庫"], moved.set_axis(frame.index), diff({0: {"実在庫": 1}}))
    assert "最新の状態を読み込む" in str(plan.errors[0])
    outside = bulk_edit.plan_edits(demo_tables["在庫"], frame, diff({9999: {"実在庫": 1}}))
    assert not outside.ok


# -- uploaded files


def test_a_cp932_csv_with_only_sku_and_stock_updates_stock(demo_tables) -> None:
    stock = {s.sku: s.on_hand for s in demo_tables["在庫"].models()}
    counted = stock["TWL-FACE-WH"] + 5  # the demo's count depends on the day it is made
    unchanged = stock["TWL-FACE-NV"]  # a line with today's count: nothing to change
    data = f"SKU,実在庫\r\nTWL-FACE-WH,{counted}\r\nTWL-FACE-NV,{unchanged}\r\n".encode("cp932")
    plan = bulk_upload.plan_upload(demo_tables, "棚卸.csv", data)
    assert plan.errors == []
    assert [(c.tab, c.row, c.column, c.before, c.after) for c in plan.changes] == [
        ("在庫", 2, "実在庫", str(stock["TWL-FACE-WH"]), str(counted))
    ]
    assert any("今の値のまま" in n for n in plan.notices)
    assert bulk_upload.upload_touches_stock(plan) and bulk_upload.upload_changed_keys(plan, "在庫") == [
        "TWL-FACE-WH"
    ]


def test_a_cp932_product_csv_with_japanese_text_and_an_error(demo_tables) -> None:
    header = ",".join(PRODUCTS.headers)
    rows = [
        "TWL-FACE-WH,今治タオル フェイスタオル 白,1320,560,4960123001017,株式会社いまばり織布,10,24,14,,A-01-1",
        "TWL-FACE-NV,今治タオル フェイスタオル ネイビー,千円,560,4960123001024,株式会社いまばり織布,10,24,14,,A-01-2",
    ]
    data = "\r\n".join([header, *rows]).encode("cp932")
    plan = bulk_upload.plan_upload(demo_tables, "商品.csv", data)
    assert plan.errors == [
        "ファイルの「商品」シート 3行目 「販売価格」列: 整数で入力してください（入力値: 「千円」）"
    ]
    good = bulk_upload.plan_upload(
        demo_tables, "商品.csv", "\r\n".join([header, rows[0]]).encode("utf-8-sig")
    )
    assert [(c.column, c.after) for c in good.changes] == [("商品名", "今治タオル フェイスタオル 白")]


def _xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = XlsxWorkbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_uploads_by_sheet_name_or_by_columns(demo_tables) -> None:
    named = _xlsx({"在庫": [["SKU", "安全在庫"], ["TWL-FACE-NV", 8]], "受注": [["モール"], ["楽天"]]})
    plan = bulk_upload.plan_upload(demo_tables, "edit.xlsx", named)
    assert plan.errors == [] and [(c.row, c.column, c.after) for c in plan.changes] == [(3, "安全在庫", "8")]
    assert any("「受注」シートはこの画面では取り込みません" in n for n in plan.notices)

    single = _xlsx({"Sheet1": [["SKU", "商品名", "販売価格"], ["NEW-9", "新商品", 1500], ["NEW-10", "", -3]]})
    plan = bulk_upload.plan_upload(demo_tables, "new.xlsx", single)
    assert plan.errors == [
        "ファイルの「商品」シート 3行目 「商品名」列: 空欄にはできません",
        "ファイルの「商品」シート 3行目 「販売価格」列: 0以上の数を入力してください（入力値: 「-3」）",
    ]
    with pytest.raises(ValueError):
        plan.job(demo_tables)


def test_unreadable_or_unclear_files_are_explained(demo_tables) -> None:
    unclear = bulk_upload.plan_upload(demo_tables, "x.csv", "SKU,色\r\nA,赤\r\n".encode())
    assert "「商品」か「在庫」を選んでください" in unclear.errors[0]
    chosen = bulk_upload.plan_upload(demo_tables, "x.csv", "SKU,色\r\nTWL-FACE-WH,赤\r\n".encode(), "在庫")
    assert chosen.errors == [] and chosen.changes == []
    assert any("色 列は Ichigen の列ではない" in n for n in chosen.notices)
    assert "文字コード" in bulk_upload.plan_upload(demo_tables, "x.csv", b"\x81\x7f\xff").errors[0]
    assert (
        "Excel ファイルを開けません" in bulk_upload.plan_upload(demo_tables, "x.xlsx", b"not a zip").errors[0]
    )
    assert (
        "「SKU」列がありません"
        in bulk_upload.plan_upload(demo_tables, "x.csv", "商品名,販売価格\r\nA,1\r\n".encode()).errors[0]
    )


def test_downloads_round_trip_without_changes(demo_tables) -> None:
    csv_plan = bulk_upload.plan_upload(demo_tables, "在庫.csv", bulk_upload.table_csv(demo_tables["在庫"]))
    assert csv_plan.errors == [] and csv_plan.changes == [] and not csv_plan.additions
    xlsx = bulk_upload.tables_xlsx([demo_tables["商品"], demo_tables["在庫"]])
    plan = bulk_upload.plan_upload(demo_tables, "商品・在庫.xlsx", xlsx)
    assert plan.errors == [] and plan.changes == [] and not plan.additions


# -- the page (AppTest)


def page(url: str, **extra: Any) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    for section, values in extra.items():
        at.secrets[section] = values
    at.run()
    at.switch_page(PAGE)
    return at


def tables_shown(at: AppTest, column: str) -> list[Any]:
    """Read-only tables (st.dataframe, not the editors) that have ``column``."""
    return [d.value for d in at.dataframe if d.proto.editing_mode == 0 and column in d.value.columns]


def editors(at: AppTest) -> list[Any]:
    return [d for d in at.dataframe if d.proto.editing_mode != 0]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return at.run()


def test_page_preview_then_apply_writes_exactly_the_edited_cells(demo, fresh_caches) -> None:
    url, workbook = demo
    before = grids(workbook)
    at = page(url)
    at.session_state["products_editor_0"] = diff({0: {"販売価格": 1500}, 2: {"メモ": "春の新色"}})
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "products_apply"]  # nothing to apply before 確認
    click(at, "products_check")
    assert len(editors(at)) == 2
    (preview,) = tables_shown(at, "変更後")
    assert preview[["キー", "列", "変更前", "変更後"]].values.tolist() == [
        ["TWL-FACE-WH", "販売価格", "¥1,320", "¥1,500"],
        ["TWL-FACE-GY", "メモ", "（空欄）", "春の新色"],
    ]
    assert grids(workbook) == before  # 確認 writes nothing
    click(at, "products_apply")
    assert not at.exception
    assert any("反映しました" in s.value for s in at.success)
    after = grids(workbook)
    expected = [list(r) for r in before["商品"]]
    expected[0][2], expected[2][9] = "1500", "春の新色"
    assert after["商品"] == expected
    assert after["在庫"] == before["在庫"]
    assert (
        "products_editor_1" not in at.session_state
        or not at.session_state["products_editor_1"]["edited_rows"]
    )


def test_page_refuses_a_diff_with_an_invalid_value_and_writes_nothing(demo, fresh_caches) -> None:
    url, workbook = demo
    before = grids(workbook)
    at = page(url)
    at.session_state["stock_editor_0"] = diff({0: {"実在庫": 20}, 1: {"実在庫": -5}, 2: {"安全在庫": "abc"}})
    at.run()
    click(at, "stock_check")
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "何も書き込んでいません" in errors
    assert "「在庫」シート 3行目 「実在庫」列: 0以上の数を入力してください（入力値: 「-5」）" in errors
    assert "「在庫」シート 4行目 「安全在庫」列: 整数で入力してください（入力値: 「abc」）" in errors
    assert not [b for b in at.button if b.key == "stock_apply"]
    assert grids(workbook) == before


def test_a_stock_change_is_settled_and_its_push_planned_then_sent(demo, fresh_caches) -> None:
    url, workbook = demo
    settings = _settings(url)
    SyncEngine(workbook, build_connectors(settings), settings.sync).run_once(fetch=False)  # malls in sync
    ledger_before = {m.movement_id for m in read_tables(workbook)["在庫移動"].models()}
    tables = read_tables(workbook)
    # A SKU in no set: a set's 販売可能数 (and its listings' pushes) follow its components.
    in_sets = {c.set_sku for c in tables["セット構成"].models()} | {
        c.component_sku for c in tables["セット構成"].models()
    }
    row, first = next((i, s) for i, s in enumerate(tables["在庫"].models()) if s.sku not in in_sets)
    last_sent = {p.sku: p.quantity for p in read_tables(workbook)["_在庫送信"].models()}[first.sku]
    at = page(url)
    target = first.on_hand + 7  # a number the sheet does not have yet
    at.session_state["stock_editor_0"] = diff({row: {"実在庫": target}})
    at.run()
    click(at, "stock_check")
    click(at, "stock_apply")
    assert not at.exception
    tables = read_tables(workbook)
    new = [m for m in tables["在庫移動"].models() if m.movement_id not in ledger_before]
    assert [(m.kind, m.sku, m.quantity) for m in new] == [("手動調整", first.sku, 7)]
    available = max(0, target - first.allocated - first.safety_stock)
    assert tables["在庫"].models()[row].available == available
    (planned,) = tables_shown(at, "今回送信数")
    assert set(planned.columns) == {"SKU", "モール", "前回送信数", "今回送信数", "理由"}
    assert planned[["SKU", "前回送信数", "今回送信数", "理由"]].drop_duplicates().values.tolist() == [
        [first.sku, str(last_sent), available, "数量変更"]
    ]
    assert set(planned["モール"]) == {"楽天", "Amazon", "Yahoo!", "Shopify"}
    click(at, "stock_push_send")
    assert not at.exception
    assert [s.value for s in at.success] == [
        "4 件の在庫数をモールへ送信しました（楽天 1 件・Amazon 1 件・Yahoo! 1 件・Shopify 1 件）"
    ]
    pushes = [p for p in read_tables(workbook)["_在庫送信"].models() if p.sku == first.sku]
    assert {(p.quantity, p.state) for p in pushes} == {(available, "確認済")} and len(pushes) == 4


def test_page_upload_with_errors_shows_them_then_a_good_file_applies(demo, fresh_caches) -> None:
    url, workbook = demo
    before = grids(workbook)
    at = page(url)
    at.run()
    bad = "SKU,実在庫\r\nTWL-FACE-WH,45\r\nTWL-FACE-NV,たくさん\r\n".encode("cp932")
    at.file_uploader(key="upload_0").set_value(("棚卸.csv", bad, "text/csv"))
    at.run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "取り込みません" in errors
    assert (
        "ファイルの「在庫」シート 3行目 「実在庫」列: 整数で入力してください（入力値: 「たくさん」）"
        in errors
    )
    assert grids(workbook) == before
    # A count that differs from the demo's (which depends on the day it is made), so there is a change.
    target = read_tables(workbook)["在庫"].models()[0].on_hand + 5
    good = f"SKU,実在庫\r\nTWL-FACE-WH,{target}\r\n".encode("cp932")
    at.file_uploader(key="upload_0").set_value(("棚卸.csv", good, "text/csv"))
    at.run()
    click(at, "upload_apply")
    assert not at.exception
    tables = read_tables(workbook)
    assert tables["在庫"].models()[0].on_hand == target
    assert any(m.kind in ("手動調整", "棚卸") and m.sku == "TWL-FACE-WH" for m in tables["在庫移動"].models())


def test_a_viewer_sees_read_only_tables(tmp_path: Path, fresh_caches) -> None:
    url, _ = _demo(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    sign_in(at, "part@example.jp", "閲覧")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert not editors(at) and not at.file_uploader
    grids = [t for t in tables_shown(at, "SKU") if "入荷予定日" not in t.columns]  # not 入荷予定
    assert [len(t) for t in grids] == [42, 42]  # 40 stocked SKUs and 2 set products
    assert not [b for b in at.button if b.label in ("変更を確認", "変更を反映")]
    assert any("「編集」以上の権限が必要です" in i.value for i in at.info)


def test_an_upload_applies_only_if_the_cells_still_read_as_previewed(demo, fresh_caches) -> None:
    """Person B previews a stock file; person A saves the same cell from the grid before B clicks
    「ファイルの内容を反映」: B's apply writes nothing and says what changed, instead of being
    planned again against the newer read and overwriting A's save unseen."""
    url, workbook = demo
    first = read_tables(workbook)["在庫"].models()[0]
    person_a, person_b = page(url).run(), page(url).run()
    upload = f"SKU,実在庫\r\n{first.sku},{first.on_hand + 10}\r\n".encode("cp932")
    person_b.file_uploader(key="upload_0").set_value(("棚卸.csv", upload, "text/csv"))
    person_b.run()
    (preview,) = tables_shown(person_b, "変更後")
    assert preview[["列", "変更前"]].values.tolist()[0] == ["実在庫", str(first.on_hand)]

    person_a.session_state["stock_editor_0"] = diff({0: {"実在庫": first.on_hand - 5}})
    person_a.run()
    click(person_a, "stock_check")
    click(person_a, "stock_apply")
    assert any("反映しました" in s.value for s in person_a.success)
    after_a = grids(workbook)

    click(person_b, "upload_apply")
    assert not person_b.exception
    shown = "\n".join(e.value for e in person_b.error)
    assert "ファイルの取り込み内容を表示した後に「在庫」シート 2行目の「実在庫」列を変更しました" in shown
    assert f"読み込んだときは「{first.on_hand}」、今は「{first.on_hand - 5}」" in shown
    assert "何も書き込んでいません" in shown
    assert grids(workbook) == after_a  # A's save stands, no ledger movement for B

    person_b.run()  # looked at again: planned on the newest read, and B may apply that
    (preview,) = tables_shown(person_b, "変更後")
    assert preview[["列", "変更前"]].values.tolist()[0] == ["実在庫", str(first.on_hand - 5)]
    click(person_b, "upload_apply")
    assert not person_b.error
    assert read_tables(workbook)["在庫"].models()[0].on_hand == first.on_hand + 10


def test_a_count_beyond_any_integer_in_the_sheet_shows_blank_and_is_listed_not_a_crash(
    demo, fresh_caches
) -> None:
    """20 nines typed into 実在庫 (issue 10, item 13): the page used to raise while building the
    editor (float64 → Int64); the cell shows blank and its row is named among the sheet's errors."""
    from tests.shop_fixtures import staff_edit

    url, workbook = demo
    sku = read_tables(workbook)[STOCK.title].models()[0].sku
    staff_edit(workbook, STOCK.title, (sku,), {"実在庫": "99999999999999999999"})
    at = page(url)
    at.run()
    assert not at.exception
    (stock_editor,) = [e.value for e in editors(at) if "実在庫" in e.value.columns]
    row = stock_editor[stock_editor["SKU"] == sku]
    assert len(row) == 1 and pd.isna(row["実在庫"].iloc[0])
    assert stock_editor["実在庫"].notna().sum() == len(stock_editor) - 1
    assert any(x.label.startswith("⚠ 「在庫」シートに入力エラーが") for x in at.expander)
