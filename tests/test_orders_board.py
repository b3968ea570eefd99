"""受注ボード: the pure logic (shop/orders/) on small hand-made tables, and the page through
Streamlit's AppTest on a temporary demo workbook."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, open_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.grid import Grid
from sheets_schema.parsing import parse_grid
from sheets_schema.tabs import TABS
from shop.orders.board import Board, build_board, build_history
from shop.orders.bulk_change import change_status
from shop.orders.detail import order_detail
from shop.orders.filters import filter_orders, period_range, status_counts
from shop.orders.frame import LIST_COLUMNS, list_view
from shop.orders.review import queue_frame
from shop.orders.unknown_skus import map_unknown_sku, suggest_skus
from tests.shop_fixtures import ledger_problems, open_shop
from tests.test_auth import sign_in
from vocabulary.text import escape_markdown

pytestmark = pytest.mark.usefixtures("fresh_caches")

NOW = datetime(2026, 11, 30, 14, 5, tzinfo=JST)
CONFLICT = "モールのステータスが「入金待ち」に変わりました（Ichigenでは「発送待ち」のままです）"
UNKNOWN = "SKU不明: 明細1（gift-a）をモール商品シートで対応付けてください"


def order(mall: str, number: str, ordered: str, status: str, **cells: Any) -> dict[str, Any]:
    row = {
        "モール": mall,
        "注文番号": number,
        "注文日時": ordered,
        "ステータス": status,
        "支払方法": "クレジットカード",
        "購入者名": "山田 太郎",
        "送付先氏名": "山田 太郎",
        "郵便番号": "150-0001",
        "住所": "東京都渋谷区神宮前1-2-3",
        "電話番号": "090-1234-5678",
        "合計金額": 4400,
        "送料": 550,
        "在庫引当": "ON",
        "モールステータス": status,
    }
    row.update(cells)
    return row


def line(
    mall: str, number: str, n: int, sku: str, quantity: int = 1, price: int = 1925, **cells: Any
) -> dict:
    return {
        "モール": mall,
        "注文番号": number,
        "明細番号": n,
        "SKU": sku,
        "商品名": cells.pop("商品名", f"{sku} の商品"),
        "数量": quantity,
        "単価": price,
        **cells,
    }


ROWS: dict[str, list[dict[str, Any]]] = {
    "商品": [
        {"SKU": "TWL-FACE-WH", "商品名": "今治タオル フェイスタオル ホワイト", "販売価格": 1925},
        {"SKU": "TWL-GIFT", "商品名": "今治タオル ギフトセット", "販売価格": 6600},
        {"SKU": "MUG-AI", "商品名": "有田焼マグカップ 藍", "販売価格": 2750},
    ],
    "モール商品": [
        {
            "モール": "楽天",
            "SKU": "TWL-FACE-WH",
            "モール商品コード": "towel",
            "モールSKU": "towel-wh",
            "在庫連携": "ON",
        },
    ],
    "受注": [
        order("楽天", "R-1", "2026-11-28 10:00:00", "新規", 購入者名="山田 太郎"),
        order(
            "Amazon",
            "A-1",
            "2026-11-29 09:00:00",
            "発送待ち",
            購入者名="佐藤 花子",
            郵便番号="1500001",
            住所="東京都渋谷区神宮前",
            備考="至急: 配達日の連絡をください",
        ),
        order("Yahoo!", "Y-1", "2026-11-20 18:30:00", "出荷済", 購入者名="鈴木 一郎", 郵便番号="abc"),
        order("Shopify", "#1001", "2026-11-30 08:00:00", "新規", 購入者名="高橋 恵", 要確認=UNKNOWN),
        order(
            "楽天",
            "R-2",
            "2026-11-27 12:00:00",
            "発送待ち",
            購入者名="田中 美咲",
            郵便番号="15O-0001",
            要確認=CONFLICT,
            モールステータス="入金待ち",
        ),
        order("楽天", "R-3", "2026-11-26 12:00:00", "保留", 備考="【保留】住所確認中 (2026-11-29 12:00)"),
        order("Amazon", "A-2", "2026-11-25 12:00:00", "新規", 合計金額="abc"),
        order("楽天", "R-4", "2026-11-24 12:00:00", "キャンセル", モールステータス="キャンセル"),
    ],
    "受注明細": [
        line("楽天", "R-1", 1, "TWL-FACE-WH", 2),
        line("Amazon", "A-1", 1, "MUG-AI", 1, 2750),
        line("Yahoo!", "Y-1", 1, "MUG-AI", 1, 2750),
        line(
            "Shopify",
            "#1001",
            1,
            "",
            1,
            6600,
            商品名="今治タオル ギフトセット 木箱入り",
            モール商品コード="gift",
            モールSKU="gift-a",
        ),
        line("楽天", "R-2", 1, "TWL-FACE-WH", 1),
        line("楽天", "R-3", 1, "TWL-FACE-WH", 1),
        line("楽天", "R-4", 1, "TWL-FACE-WH", 1),
    ],
    "在庫移動": [
        {
            "移動ID": "引当:楽天:R-1:1",
            "日時": "2026-11-28 10:05:30",
            "SKU": "TWL-FACE-WH",
            "区分": "引当",
            "数量": 2,
            "モール": "楽天",
            "注文番号": "R-1",
            "明細番号": 1,
        },
    ],
    "同期ログ": [
        {
            "実行ID": "run-1",
            "開始日時": "2026-11-28 10:05:00",
            "終了日時": "2026-11-28 10:06:00",
            "モール": "楽天",
            "処理": "受注取込（rakuten_demo）",
            "新規": 1,
            "結果": "成功",
        },
    ],
}


def make_tables(rows: dict[str, list[dict[str, Any]]] = ROWS) -> dict[str, Any]:
    tables = {}
    for spec in TABS:
        header = list(spec.headers)
        grid = Grid(
            spec.title, header, [[str(r.get(h, "")) for h in header] for r in rows.get(spec.title, [])]
        )
        tables[spec.title] = parse_grid(spec, grid)
    return tables


@pytest.fixture
def tables() -> dict[str, Any]:
    return make_tables()


@pytest.fixture
def board(tables: dict[str, Any]) -> Board:
    return build_board(tables)


# -- pure logic


def test_the_frame_has_one_row_per_valid_order_newest_first_and_counts_every_status(board: Board) -> None:
    frame = board.frame
    assert list(frame["注文番号"]) == ["#1001", "A-1", "R-1", "R-2", "R-3", "R-4", "Y-1"]  # A-2 has an error
    assert set(LIST_COLUMNS) <= set(frame.columns)
    assert frame.loc[frame["注文番号"] == "R-1", "SKU"].item() == "TWL-FACE-WH"
    assert status_counts(frame) == {
        "新規": 2,
        "入金待ち": 0,
        "発送待ち": 2,
        "保留": 1,
        "出荷済": 1,
        "キャンセル": 1,
    }


def test_filters_by_mall_period_status_and_search_over_number_name_and_sku(board: Board) -> None:
    frame = board.frame

    def numbers(**filters: Any) -> list[str]:
        return list(filter_orders(frame, **filters)["注文番号"])

    assert numbers(malls=["楽天"]) == ["R-1", "R-2", "R-3", "R-4"]
    assert numbers(start=date(2026, 11, 28), end=date(2026, 11, 29)) == ["A-1", "R-1"]
    assert numbers(statuses=["発送待ち", "保留"], malls=["楽天"]) == ["R-2", "R-3"]
    assert numbers(text="mug-ai") == ["A-1", "Y-1"]  # SKU, any case
    assert numbers(text="ＭＵＧ") == ["A-1", "Y-1"]  # full-width typing
    assert numbers(text="佐藤花子") == ["A-1"]  # name typed without its space
    assert numbers(text="佐藤 花子") == ["A-1"]
    assert numbers(text="r-1") == ["R-1"]
    assert numbers(text="gift-a") == ["#1001"]  # an unmapped line is found by its mall code
    assert numbers(text="花子", masked=True) == []  # 閲覧 cannot search the hidden given name
    assert numbers(text="佐藤", masked=True) == ["A-1"]
    assert period_range("過去7日", date(2026, 11, 30)) == (date(2026, 11, 24), date(2026, 11, 30))
    assert period_range("すべて", date(2026, 11, 30)) == (None, None)


def test_the_list_view_masks_names_for_viewers(board: Board) -> None:
    plain = list_view(board.frame, masked=False)
    hidden = list_view(board.frame, masked=True, limit=3)
    assert list(plain.columns) == list(LIST_COLUMNS)
    assert plain["購入者名"].iloc[1] == "佐藤 花子"
    assert list(hidden["購入者名"]) == ["高橋 ＊", "佐藤 ＊＊", "山田 ＊＊"]
    flags = dict(zip(plain["注文番号"], plain["要確認"], strict=True))
    assert (flags["#1001"], flags["A-1"], flags["R-1"]) == ("SKU不明", "住所・備考", "")


def test_the_detail_masks_address_and_phone_unless_revealed_and_shows_lines_and_history(
    tables: dict[str, Any], board: Board
) -> None:
    history = build_history(tables)
    detail = order_detail(board, ("楽天", "R-1"), history=history)
    assert detail is not None
    assert (detail.address, detail.phone, detail.postcode) == ("東京都 ＊＊＊", "090-****-5678", "150-****")
    assert detail.buyer_name == "山田 太郎"
    assert detail.lines.iloc[0].to_dict() == {
        "明細": 1,
        "SKU": "TWL-FACE-WH",
        "商品名": "TWL-FACE-WH の商品",
        "数量": 2,
        "単価": 1925,
        "小計": 3850,
        "在庫": "引当済 2",
    }
    assert (detail.items_total, detail.shipping_fee, detail.total, detail.difference) == (3850, 550, 4400, 0)
    events = list(detail.history["内容"])
    assert events[0] == "楽天で注文されました"
    assert any("在庫を引き当てました: TWL-FACE-WH ×2" in e for e in events)
    assert any(
        "run-1" in e for e in events
    )  # the sync run that wrote the movement  # the sync run that wrote the movement

    shown = order_detail(board, ("楽天", "R-1"), reveal=True)
    assert shown is not None
    assert (shown.address, shown.phone, shown.postcode) == (
        "東京都渋谷区神宮前1-2-3",
        "090-1234-5678",
        "150-0001",
    )
    viewer = order_detail(board, ("楽天", "R-1"), reveal=True, mask_names=True)
    assert viewer is not None and viewer.buyer_name == "山田 ＊＊" and viewer.address == "東京都 ＊＊＊"

    held = order_detail(board, ("楽天", "R-3"), history=history)
    assert held is not None and "保留にしました（理由: 住所確認中）" in list(held.history["内容"])
    # Without the ledger: the stock state the status asks for, and no movements in the history.
    quick = order_detail(board, ("楽天", "R-1"))
    assert quick is not None and quick.lines["在庫"].tolist() == ["引当の対象"]
    assert not any("在庫を引き当てました" in e for e in quick.history["内容"])
    assert order_detail(board, ("楽天", "nope")) is None


def test_a_bulk_change_sets_the_status_and_clears_a_settled_conflict(tables: dict[str, Any]) -> None:
    orders = tables["受注"]
    change = change_status(orders, [("楽天", "R-1"), ("楽天", "R-2")], "出荷済", now=NOW)
    assert change.changed == [("楽天", "R-1"), ("楽天", "R-2")] and not change.refused
    written = {(u.row, orders.grid.header[u.column]): u.value for u in change.job.updates}
    r1, r2 = orders.find_row(("楽天", "R-1")), orders.find_row(("楽天", "R-2"))
    assert written == {(r1, "ステータス"): "出荷済", (r2, "ステータス"): "出荷済", (r2, "要確認"): ""}
    assert "2 件の注文を「出荷済」に変更しました" in change.summary()


def test_hold_needs_a_reason_which_is_appended_to_the_note(tables: dict[str, Any]) -> None:
    orders = tables["受注"]
    refused = change_status(orders, [("Amazon", "A-1")], "保留", reason="  ", now=NOW)
    assert not refused.job and refused.refused == ["保留にする理由を入力してください（備考に記録されます）"]

    change = change_status(orders, [("Amazon", "A-1")], "保留", reason="番地を\n確認中", now=NOW)
    row = orders.find_row(("Amazon", "A-1"))
    notes = [u.value for u in change.job.updates if orders.grid.header[u.column] == "備考"]
    assert notes == ["至急: 配達日の連絡をください\n【保留】番地を 確認中 (2026-11-30 14:05)"]
    assert {orders.grid.header[e.column] for e in change.job.expectations if e.row == row} == {
        "モール",
        "注文番号",
        "ステータス",
        "備考",
    }


def test_a_bulk_change_refuses_bad_rows_and_transitions_with_a_reason_each(tables: dict[str, Any]) -> None:
    orders = tables["受注"]
    keys = [("Amazon", "A-2"), ("Yahoo!", "Y-1"), ("楽天", "R-4"), ("楽天", "missing"), ("Shopify", "#1001")]
    change = change_status(orders, keys, "発送待ち", now=NOW, blocked=[("Shopify", "#1001")])
    assert not change.job and not change.changed
    assert len(change.refused) == 5
    assert "「受注」シート 8行目に入力エラーがあるため変更しません" in change.refused[0]
    assert "「合計金額」列" in change.refused[0]
    assert "出荷済みの注文" in change.refused[1]
    assert "モールでキャンセルされた注文" in change.refused[2]
    assert "見つかりません" in change.refused[3]
    assert "「受注明細」シート" in change.refused[4]

    same = change_status(orders, [("楽天", "R-1")], "新規", now=NOW)
    assert same.unchanged == [("楽天", "R-1")] and not same.job
    bad = change_status(orders, [("楽天", "R-1")], "発送済み", now=NOW)
    assert not bad.job and "使えないステータス" in bad.refused[0]


def test_a_bulk_change_stops_when_the_row_changed_after_it_was_read(tmp_path: Path) -> None:
    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    job = WriteJob()
    empty = read_tables(workbook)
    for title in ("受注", "受注明細"):
        job.append(empty[title], ROWS[title])
    workbook.write(job)
    read = read_tables(workbook)["受注"]
    change = change_status(read, [("楽天", "R-1")], "発送待ち", now=NOW)
    meanwhile = WriteJob()  # the sync (or a person) moved the order in between
    meanwhile.set(read, read.find_row(("楽天", "R-1")), {"ステータス": "キャンセル"})
    workbook.write(meanwhile)
    with pytest.raises(StaleWorkbookError):
        workbook.write(change.job)
    assert {o.order_number: o.status for o in read_tables(workbook)["受注"].models()}["R-1"] == "キャンセル"


def test_the_review_queue_explains_each_problem_and_what_to_do(board: Board) -> None:
    found = {(i.order_number, i.kind): i for i in board.queue}
    assert set(found) == {
        ("A-2", "入力エラー"),
        ("#1001", "SKU不明"),
        ("R-2", "ステータスの食い違い"),
        ("A-1", "住所"),
        ("R-2", "郵便番号"),
        ("R-3", "保留中"),
        ("A-1", "備考"),
    }  # Y-1's postcode is bad too, but it has shipped
    assert "gift-a" in found[("#1001", "SKU不明")].reason
    assert "対応付けて" in found[("#1001", "SKU不明")].action
    assert found[("R-2", "ステータスの食い違い")].reason == CONFLICT
    assert "15O-0001" in found[("R-2", "郵便番号")].reason
    assert "番地" in found[("A-1", "住所")].reason
    assert "至急" in found[("A-1", "備考")].reason and "連絡" in found[("A-1", "備考")].action
    assert "住所確認中" in found[("R-3", "保留中")].reason
    assert "「受注」シート 8行目" in found[("A-2", "入力エラー")].reason
    assert [i.kind for i in board.queue][:2] == ["入力エラー", "SKU不明"]  # most urgent first
    assert board.queue_orders == 5
    assert list(queue_frame(board.queue, 2)["種類"]) == ["入力エラー", "SKU不明"]
    blank = make_tables(
        {**ROWS, "受注": [order("楽天", "R-9", "2026-11-30 10:00:00", "新規", 住所="", 郵便番号="")]}
    )
    reasons = {i.reason for i in build_board(blank).queue}
    assert reasons == {"送付先の住所がありません", "郵便番号がありません"}


def test_unknown_items_are_grouped_and_mapped_once(tables: dict[str, Any], board: Board) -> None:
    [item] = board.unknown_items
    assert (item.mall, item.mall_item_code, item.mall_sku, item.orders, item.units) == (
        "Shopify",
        "gift",
        "gift-a",
        ("#1001",),
        1,
    )
    assert suggest_skus(item.name, board.products)[0] == "TWL-GIFT"

    mapping = map_unknown_sku(tables["モール商品"], tables["商品"], "Shopify", "gift", "gift-a", "TWL-GIFT")
    assert mapping.ok and mapping.job
    [rows] = [a.rows for a in mapping.job.appends.values()]
    header = tables["モール商品"].grid.header
    assert [dict(zip(header, r, strict=True)) for r in rows] == [
        {
            "モール": "Shopify",
            "SKU": "TWL-GIFT",
            "モール商品コード": "gift",
            "モールSKU": "gift-a",
            "在庫連携": "ON",
            # 商品登録's columns: blank, the mall gets 商品's 商品名 and 販売価格
            "モール商品名": "",
            "販売価格（モール）": "",
            "キャッチコピー": "",
            "商品説明": "",
            "カテゴリ": "",
            "タグ": "",
        }
    ]

    mapped = make_tables(
        {**ROWS, "モール商品": [*ROWS["モール商品"], dict(zip(header, rows[0], strict=True))]}
    )
    again = map_unknown_sku(mapped["モール商品"], mapped["商品"], "Shopify", "gift", "gift-a", "TWL-GIFT")
    assert again.ok and not again.job and "すでに" in again.message
    other = map_unknown_sku(mapped["モール商品"], mapped["商品"], "Shopify", "gift", "gift-a", "MUG-AI")
    assert not other.ok and not other.job and "TWL-GIFT" in other.message
    missing = map_unknown_sku(tables["モール商品"], tables["商品"], "Shopify", "gift", "gift-a", "NOPE")
    assert not missing.ok and "商品シートにありません" in missing.message
    ambiguous = map_unknown_sku(tables["モール商品"], tables["商品"], "楽天", "towel", "", "MUG-AI")
    assert not ambiguous.ok and "見分けられません" in ambiguous.message


# -- the page


APP = str(PROJECT_ROOT / "app.py")
PAGE = "pages/orders.py"


def open_page(sql_url: str, **extra: Any) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    for section, values in extra.items():
        at.secrets[section] = values
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def stored(sql_url: str) -> dict[str, Any]:
    return read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))


def order_list(at: AppTest) -> Any:
    return next(d for d in at.dataframe if (d.key or "").startswith("orders_table_"))


def select_rows(at: AppTest, rows: list[int]) -> None:
    at.session_state[order_list(at).key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception


def test_the_board_counts_the_workbook_and_a_filter_narrows_the_list(sql_url: str) -> None:
    at = open_page(sql_url)
    orders = stored(sql_url)["受注"].models()
    shown = {m.label: m.value for m in at.metric}
    for status in ("新規", "入金待ち", "発送待ち", "保留", "出荷済", "キャンセル"):
        assert shown[status] == f"{sum(o.status == status for o in orders):,}"
    assert len(order_list(at).value) == len(orders)
    assert at.title[0].value == "受注ボード"

    at.multiselect(key="orders_malls").set_value(["楽天"]).run()
    narrowed = order_list(at).value
    assert 0 < len(narrowed) < len(orders)
    assert set(narrowed["モール"]) == {"楽天"}

    at.text_input(key="orders_search").set_value("twl-face-wh").run()
    searched = order_list(at).value
    assert 0 < len(searched) < len(narrowed)
    assert all("TWL-FACE-WH" in skus for skus in searched["SKU"])
    at.text_input(key="orders_search").set_value("該当なしの言葉").run()
    assert any("条件に合う注文がありません" in i.value for i in at.info)


def test_a_bulk_change_to_shipped_writes_the_status_and_settles_a_shipment(sql_url: str) -> None:
    at = open_page(sql_url)
    view = order_list(at).value
    # Whatever the hour: the demo's open orders may all be paid (発送待ち) or all new (新規).
    open_rows = [i for i, s in enumerate(view["ステータス"]) if s in ("新規", "入金待ち", "発送待ち")]
    position = next(i for i in open_rows if view["モール"].iloc[i] != "Amazon")  # FBA allocates none
    number = view["注文番号"].iloc[position]
    select_rows(at, [position])
    assert any(number in m.value for m in at.markdown)  # the detail of the selected order
    lines = next(d.value for d in at.dataframe if "在庫" in d.value.columns)
    assert all(state.startswith("引当済") for state in lines["在庫"])  # small shop: ledger loaded
    at.selectbox(key="bulk_status").set_value("出荷済").run()
    at.button(key="bulk_apply").click().run()
    assert not at.exception
    assert any("1 件の注文を「出荷済」に変更しました" in s.value for s in at.success)
    assert any(
        "在庫に反映しました" in s.value or "在庫の数に変わりはありません" in s.value for s in at.success
    )
    tables = stored(sql_url)
    assert next(o for o in tables["受注"].models() if o.order_number == number).status == "出荷済"
    assert any(m.kind == "出荷" and m.order_number == number for m in tables["在庫移動"].models())
    assert ledger_problems(tables) == []
    shown = {m.label: m.value for m in at.metric}
    assert shown["出荷済"] == f"{sum(o.status == '出荷済' for o in tables['受注'].models()):,}"


def test_holding_orders_from_the_page_records_the_reason(sql_url: str) -> None:
    at = open_page(sql_url)
    view = order_list(at).value
    positions = [i for i, s in enumerate(view["ステータス"]) if s == "発送待ち"][:2]
    numbers = {view["注文番号"].iloc[i] for i in positions}
    select_rows(at, positions)
    at.selectbox(key="bulk_status").set_value("保留").run()
    at.button(key="bulk_apply").click().run()
    assert any("理由を入力してください" in w.value for w in at.warning)
    assert {o.order_number for o in stored(sql_url)["受注"].models() if o.status == "保留"}.isdisjoint(
        numbers
    )

    at.text_input(key="bulk_reason").set_value("在庫の検品待ち")
    at.button(key="bulk_apply").click().run()
    assert not at.exception
    held = {o.order_number: o for o in stored(sql_url)["受注"].models() if o.order_number in numbers}
    assert {o.status for o in held.values()} == {"保留"}
    assert all("【保留】在庫の検品待ち (" in o.note for o in held.values())


def test_a_viewer_sees_masked_names_and_no_controls_that_change_anything(sql_url: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    sign_in(at, "viewer@example.com", "閲覧")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    names = stored(sql_url)["受注"].models()
    full = {o.buyer_name for o in names}
    shown = set(order_list(at).value["購入者名"])
    assert shown and shown.isdisjoint(full) and all("＊" in n for n in shown)
    select_rows(at, [0])
    assert not [b for b in at.button if b.key == "bulk_apply"]
    # no 個人情報を表示 (the table's own display choices are not about anyone's data)
    assert [t.label for t in at.toggle if not str(t.key).startswith("table_")] == ["在庫の記録も表示"]
    assert any("「編集」以上の権限が必要です" in i.value for i in at.info)
    assert all("＊" in m.value or "購入者" not in m.value for m in at.markdown)


def test_an_unknown_sku_is_mapped_from_the_review_tab_and_allocated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    shop = open_shop(SqlWorkbook(url), tmp_path / "demo_malls", rakuten_demo={"unknown_sku_rate": 1.0})
    shop.engine().run_once()
    before = shop.tables()
    unknown = [x for x in before["受注明細"].models() if x.mall == "楽天" and x.sku is None and x.quantity]
    assert unknown
    target = unknown[0]
    at = open_page(url)
    siblings = [
        x for x in unknown if (x.mall_item_code, x.mall_sku) == (target.mall_item_code, target.mall_sku)
    ]
    # Cards and their selectboxes come in the same order; find the card of the target's code.
    selectboxes = [s for s in at.selectbox if s.label == "対応付けるSKU"]
    cards = [m.value for m in at.markdown if "商品コード" in m.value]
    index = next(
        i
        for i, text in enumerate(cards)
        if f"「{escape_markdown(target.mall_item_code)}」" in text
        and escape_markdown(target.mall_sku) in text
    )
    ident = selectboxes[index].key.removeprefix("map_sku_")
    at.selectbox(key=f"map_sku_{ident}").set_value("TWL-FACE-WH").run()
    at.button(key=f"map_apply_{ident}").click().run()
    assert not at.exception
    assert any("TWL-FACE-WH" in s.value and "対応付けました" in s.value for s in at.success)

    tables = shop.tables()
    listings = [
        r
        for r in tables["モール商品"].models()
        if (r.mall, r.mall_item_code) == ("楽天", target.mall_item_code)
    ]
    assert [(r.sku, r.mall_sku or "") for r in listings] == [("TWL-FACE-WH", target.mall_sku)]
    lines = {(x.order_number, x.line_number): x for x in tables["受注明細"].models() if x.mall == "楽天"}
    orders = {o.order_number: o for o in tables["受注"].models() if o.mall == "楽天"}
    moves = {m.movement_id for m in tables["在庫移動"].models()}
    for fixed in siblings:
        assert lines[(fixed.order_number, fixed.line_number)].sku == "TWL-FACE-WH"
        assert f"明細{fixed.line_number}（" not in orders[fixed.order_number].review
        if orders[fixed.order_number].status in ("新規", "入金待ち", "発送待ち", "保留"):
            assert f"引当:楽天:{fixed.order_number}:{fixed.line_number}" in moves
    assert ledger_problems(tables) == []

    # Mapping the same code again writes nothing more.
    again = map_unknown_sku(
        tables["モール商品"], tables["商品"], "楽天", target.mall_item_code, target.mall_sku, "TWL-FACE-WH"
    )
    assert again.ok and not again.job


def test_an_empty_workbook_points_to_the_sync_page(sql_url: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url, "seed_demo": False}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("まだ注文がありません" in i.value and "今すぐ同期" in i.value for i in at.info)
    assert not at.metric and not at.dataframe


def test_the_settle_message_says_plainly_when_stock_did_not_move() -> None:
    from shop.orders.page_text import settled_message

    assert settled_message(0, 0) == "保存しました。在庫の数に変わりはありません。"
    assert settled_message(3, 0).startswith("在庫に反映しました（引当・出荷・入荷などの記録 3 件）")
    assert "在庫送信 1 件が失敗しました" in settled_message(0, 1)


def test_orders_the_shelf_cannot_fill_are_in_the_queue_with_the_purchase_order_that_brings_them() -> None:
    """在庫不足 in 要確認: open orders beyond 実在庫, first come first served (保留 too), each named
    with what is short and the 発注 expected to bring it."""
    rows = {
        **ROWS,
        "在庫": [{"SKU": "TWL-FACE-WH", "実在庫": 2, "安全在庫": 0}, {"SKU": "MUG-AI", "実在庫": 5}],
        "仕入先": [{"仕入先": "今治タオル工房"}],
        "発注": [
            {
                "発注番号": "PO-20261201-01",
                "仕入先": "今治タオル工房",
                "発注日": "2026-12-01",
                "入荷予定日": "2026-12-10",
                "ステータス": "発注済",
            }
        ],
        "発注明細": [
            {"発注番号": "PO-20261201-01", "明細番号": 1, "SKU": "TWL-FACE-WH", "数量": 10, "単価": 500}
        ],
    }
    board = build_board(make_tables(rows))
    short = [q for q in board.queue if q.kind == "在庫不足"]
    # R-3 (11-26) and R-2 (11-27) take the two on the shelf; R-1 (11-28, 2 units) waits.
    assert [(q.mall, q.order_number) for q in short] == [("楽天", "R-1")]
    assert "TWL-FACE-WH" in short[0].reason and "2 個足りません" in short[0].reason
    assert "PO-20261201-01" in short[0].action and "2026-12-10" in short[0].action
    assert "在庫不足" in queue_frame(board.queue).to_csv()  # what 受注ボード's 要確認 tab lists
    rows["在庫"] = [{"SKU": "TWL-FACE-WH", "実在庫": 4}, {"SKU": "MUG-AI", "実在庫": 5}]
    assert not [q for q in build_board(make_tables(rows)).queue if q.kind == "在庫不足"]  # enough now
