"""Each person's table choices (columns, rows, wrapping): kept in a file per person, used the
next time they open the page, separate for two signed-in people, and a broken file is
ignored rather than breaking the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT
from shop.table_choices import WRAPPED_ROW_PX, ChoiceStore, TableChoice, person_key
from tests.test_auth import sign_in

pytestmark = pytest.mark.usefixtures("fresh_caches")
APP = str(PROJECT_ROOT / "app.py")
COLUMNS = ["モール", "注文番号", "注文日時", "ステータス", "購入者名", "SKU", "合計金額"]


def test_a_choice_shows_the_columns_in_the_tables_own_order_and_never_none() -> None:
    choice = TableChoice(hidden=("購入者名", "モール"), rows=25)
    assert choice.columns(COLUMNS) == ["注文番号", "注文日時", "ステータス", "SKU", "合計金額"]
    assert TableChoice(hidden=tuple(COLUMNS)).columns(COLUMNS) == ["モール"]
    assert choice.height(3) < choice.height(25) == choice.height(400)  # short tables, no empty band
    assert TableChoice(wrap=True).row_height() == WRAPPED_ROW_PX > 64  # Streamlit wraps above 4rem
    assert TableChoice().row_height() is None


def test_the_store_keeps_each_persons_choice_and_survives_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "screen.json"
    store = ChoiceStore(path)
    default = TableChoice(rows=15)
    alice, bob = person_key("alice@example.jp"), person_key("Bob@example.jp")
    assert "alice" not in alice and person_key(" ALICE@example.jp ") == alice  # a hash, case-blind
    store.put(alice, "受注一覧", TableChoice(hidden=("送料",), rows=50, wrap=True))
    assert store.get(alice, "受注一覧", default) == TableChoice(("送料",), 50, True)
    assert store.get(bob, "受注一覧", default) == default
    assert "alice@example.jp" not in path.read_text(encoding="utf-8")
    path.write_text("{ not json", encoding="utf-8")
    assert store.get(alice, "受注一覧", default) == default
    path.write_text(json.dumps({alice: {"受注一覧": {"rows": 7, "hidden": "送料"}}}), encoding="utf-8")
    assert store.get(alice, "受注一覧", default) == default  # a hand-edited value out of range


def _orders_page(sql_url: str, screen: Path, email: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.secrets["app"] = {"screen_settings_path": str(screen)}
    if email:
        sign_in(at, email, "編集")
    at.run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception
    return at


def _order_list(at: AppTest):
    return next(d for d in at.dataframe if "注文番号" in list(d.proto.column_order))


def test_the_order_list_uses_the_columns_a_person_chose_next_time_too(sql_url: str, tmp_path: Path) -> None:
    screen = tmp_path / "screen.json"
    at = _orders_page(sql_url, screen)
    shown = list(_order_list(at).proto.column_order)
    assert "送料" in shown and "購入者名" in shown
    at.multiselect(key="table_columns_受注一覧").unselect("送料").unselect("購入者名").run()
    at.toggle(key="table_wrap_受注一覧").set_value(True).run()
    assert not at.exception
    expected = [c for c in shown if c not in ("送料", "購入者名")]
    assert list(_order_list(at).proto.column_order) == expected
    again = _orders_page(sql_url, screen)  # a new session: the choice was kept
    assert list(_order_list(again).proto.column_order) == expected
    assert _order_list(again).proto.row_height == WRAPPED_ROW_PX
    again.button(key="table_reset_受注一覧").click().run()
    assert list(_order_list(again).proto.column_order) == shown


def test_two_signed_in_people_keep_their_own_choices(sql_url: str, tmp_path: Path) -> None:
    screen = tmp_path / "screen.json"
    tencho = _orders_page(sql_url, screen, "tencho@example.jp")
    tencho.multiselect(key="table_columns_受注一覧").unselect("合計金額").run()
    staff = _orders_page(sql_url, screen, "staff@example.jp")
    assert "合計金額" in list(_order_list(staff).proto.column_order)
    assert "合計金額" not in list(
        _order_list(_orders_page(sql_url, screen, "tencho@example.jp")).proto.column_order
    )
