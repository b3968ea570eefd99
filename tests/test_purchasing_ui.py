"""The 返品 and 棚卸 tabs (ui/purchasing_returns.py, ui/purchasing_stocktake.py) mounted alone in
a small page through AppTest, as 発注・入荷 will mount them: 編集 registers and applies, 閲覧
sees (buyer names masked) and cannot."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from tests.page_probe import element_text
from tests.test_returns import seed


def _page(url: str, role: str, tab: str) -> None:
    from settings import load_settings
    from ui import context

    context.init(
        load_settings({"workbook": {"sql_url": url, "seed_demo": False}, "sync": {"auto_sync_demo": False}}),
        role,
    )
    if tab == "returns":
        from ui.purchasing_returns import returns_tab

        returns_tab()
    else:
        from ui.purchasing_stocktake import stocktake_tab

        stocktake_tab()


@pytest.fixture
def url(tmp_path: Path, fresh_caches) -> str:
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    settings = load_settings({"workbook": {"sql_url": url, "seed_demo": False}})
    seed(open_prepared_workbook(settings, datetime.now(JST)))
    return url


def page(url: str, role: str, tab: str) -> AppTest:
    return AppTest.from_function(_page, args=(url, role, tab), default_timeout=60).run()


def stock(url: str) -> dict[str, tuple[int, int]]:
    settings = load_settings({"workbook": {"sql_url": url, "seed_demo": False}})
    tables = read_tables(open_prepared_workbook(settings, datetime.now(JST)))
    return {s.sku: (s.on_hand, s.defective) for s in tables["在庫"].models()}


def look_up(at: AppTest, number: str) -> AppTest:
    at.text_input(key="returns_number").set_value(number)
    return at.button[0].click().run()  # the lookup form's submit button


def test_staff_register_a_return_from_the_tab(url: str) -> None:
    at = page(url, "編集", "returns")
    assert not at.exception
    at = look_up(at, "R-1")
    assert "複数のモール" in element_text(at)
    at.selectbox(key="returns_mall").set_value("楽天").run()
    at.run()
    assert list(at.dataframe[0].value["購入者名"]) == ["山田 太郎"]
    assert list(at.dataframe[1].value["返品できる数"]) == [3, 1]
    at.number_input(key="returns_units").set_value(2)
    at.radio(key="returns_disposition").set_value("不良")
    at.text_input(key="returns_reason").set_value("初期不良")
    submit = next(b for b in at.button if b.label == "返品を登録する")
    at = submit.click().run()
    assert not at.exception
    assert any("返品（不良）を登録しました" in s.value for s in at.success), [s.value for s in at.success]
    assert stock(url)["TEE-1"] == (7, 2)


def test_a_viewer_sees_the_order_masked_and_cannot_register(url: str) -> None:
    at = look_up(page(url, "閲覧", "returns"), "R-2")  # one mall has R-2
    assert list(at.dataframe[0].value["購入者名"]) == ["山田 ＊＊"]
    assert "「出荷済」の注文です" in element_text(at)
    at = look_up(at, "R-1")
    at.selectbox(key="returns_mall").set_value("楽天").run()
    at.run()
    labels = [b.label for b in at.button]
    assert "返品を登録する" not in labels and "登録する" not in labels
    assert "返品の登録には「編集」以上の権限が必要です" in element_text(at)


def test_a_count_scanned_on_screen_is_previewed_then_applied_once(url: str, downloads: Any) -> None:
    at = page(url, "編集", "stocktake")
    assert not at.exception
    at = next(b for b in at.button if b.label == "棚卸表を作る").click().run()
    assert not at.exception
    assert any(name.endswith(".csv") for name, _ in downloads.payloads)
    csv_text = next(text for name, text in downloads.texts() if name.endswith(".csv"))
    assert csv_text.splitlines()[0] == "棚番,SKU,商品名,帳簿在庫,実数,棚卸ID,帳簿日時,照合"
    at.radio(key="stocktake_how").set_value("この画面で入力・スキャン").run()
    for _ in range(2):
        at.text_input(key="stocktake_scan").set_value("CAP-1").run()
    text = element_text(at)
    assert "CAP-1 キャップ: 実数 2" in text and "差異のあるもの 1 商品" in text
    assert "原価が空欄の商品 1 件" in text
    at = next(b for b in at.button if b.label == "棚卸を反映する").click().run()
    assert not at.exception
    assert any("差異 1 商品" in s.value for s in at.success), [s.value for s in at.success]
    assert stock(url)["CAP-1"] == (2, 0)


def test_a_viewer_may_make_a_count_sheet_but_not_apply(url: str) -> None:
    at = page(url, "閲覧", "stocktake")
    at = next(b for b in at.button if b.label == "棚卸表を作る").click().run()
    at.radio(key="stocktake_how").set_value("この画面で入力・スキャン").run()
    at.text_input(key="stocktake_scan").set_value("TEE-1").run()
    assert "棚卸を反映する" not in [b.label for b in at.button]
    assert "棚卸の反映には「編集」以上の権限が必要です" in element_text(at)
