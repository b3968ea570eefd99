"""The 商品・在庫 page's pure helpers (shop/products_page.py); the page itself is covered by
tests/test_products_bulk_edit.py through AppTest."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from sheets_schema.errors import CellConflict
from shop import products_page as pp


def test_the_fingerprint_ignores_key_order_and_keeps_japanese() -> None:
    a = pp.fingerprint({"edited_rows": {"0": {"メモ": "春"}}, "added_rows": []})
    b = pp.fingerprint({"added_rows": [], "edited_rows": {"0": {"メモ": "春"}}})
    assert a == b and "春" in a


def test_an_error_list_shows_thirty_and_counts_the_rest() -> None:
    text = pp.error_list([f"e{i}" for i in range(32)])
    assert text.count("\n- ") == 30 and text.endswith("- …ほか 2 件")
    assert pp.error_list(["*x*"], lambda e: f"<{e}>") == "- <*x*>"


def test_a_conflict_names_the_cell_and_escapes_what_was_there() -> None:
    exc = CellConflict("在庫", 7, "メモ*", "[a](b)", "")
    text = pp.conflict_message(exc, "表を読み込んだ", "もう一度。")
    assert "「在庫」シート 7行目" in text and "（空欄）" in text and text.endswith("もう一度。")
    assert "[a](b)" not in text and "メモ*」" not in text


def test_push_rows_preview_and_outcome() -> None:
    planned = [
        SimpleNamespace(sku="B", mall="楽天", last_quantity=None, quantity=3, reason="未送信"),
        SimpleNamespace(sku="A", mall="Yahoo", last_quantity=1200, quantity=5, reason="数が違う"),
    ]
    rows = pp.push_plan_rows(planned)
    assert rows[0]["前回送信数"] == "—" and rows[1]["前回送信数"] == "1,200"
    frame = pd.DataFrame(rows, columns=pp.PUSH_COLUMNS)
    shown, caption = pp.push_preview(frame, ["A"])
    assert list(shown["SKU"]) == ["A"] and "ほかに送信待ちの 1 件" in caption
    shown, caption = pp.push_preview(frame, ["Z"])
    assert len(shown) == 2 and caption.startswith("変更した SKU の送信予定 0 件")
    assert pp.push_outcome([]) == [("ok", "送信が必要な在庫数はありませんでした。")]
    pushes = [
        SimpleNamespace(mall="楽天", sku="A", ok=True, error=""),
        SimpleNamespace(mall="楽天", sku="B", ok=False, error="timeout"),
    ]
    lines = pp.push_outcome(pushes)
    assert lines[0] == ("ok", "1 件の在庫数をモールへ送信しました（楽天 1 件）")
    assert lines[1][0] == "warn" and "楽天 B" in lines[1][1]
