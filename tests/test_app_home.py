"""The app shell and ホーム page through Streamlit's AppTest, on a temporary embedded workbook."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_workbook, read_tables
from sheets_schema.changes import WriteJob
from shop.orders.board import build_board

pytestmark = pytest.mark.usefixtures("fresh_caches")

APP = str(PROJECT_ROOT / "app.py")


def app_for(sql_url: str, **extra: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}  # tests write the workbook themselves
    for section, values in extra.items():
        at.secrets[section] = values
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_first_start_creates_the_demo_shop_and_shows_it_in_japanese(sql_url: str) -> None:
    at = app_for(sql_url).run()
    assert not at.exception
    shown = metrics(at)
    assert shown["SKU数"] == "42"  # 40 stocked SKUs and 2 set products
    assert shown["在庫金額（原価）"].startswith("¥")  # drawn last on a cold server, in its place
    notes = [c.value for c in at.caption if c.value.startswith("在庫金額 =")]
    assert len(notes) == 1
    tables = read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))
    orders = tables["受注"].models()
    for status in ("新規", "入金待ち", "発送待ち", "保留", "出荷済", "キャンセル"):
        assert shown[status] == f"{sum(o.status == status for o in orders)} 件"
    assert any("デモデータを表示しています" in i.value for i in at.sidebar.info)
    assert any("ワークブック" in m.value and "このパソコン" in m.value for m in at.sidebar.markdown)
    assert not any("wb.sqlite3" in m.value for m in at.sidebar.markdown)  # the path only under 詳細
    assert any("wb.sqlite3" in c.value for c in at.sidebar.caption)
    assert any("localhost" in c.value for c in at.sidebar.caption)
    assert [s.value for s in at.success if "入力エラー" in s.value] == ["入力エラーはありません。"]
    used = open_workbook(load_settings({"workbook": {"sql_url": sql_url}})).cells_used()
    usage = [c.value for c in at.caption if c.value.startswith("セル使用量")]
    assert usage and usage[0].startswith(f"セル使用量: {used:,} / 10,000,000（")
    at.run()  # built now for this read: drawn in place, the same figure
    assert metrics(at)["在庫金額（原価）"] == shown["在庫金額（原価）"]
    assert [c.value for c in at.caption if c.value.startswith("在庫金額 =")] == notes


def test_an_existing_workbook_is_never_reseeded(sql_url: str) -> None:
    app_for(sql_url).run()
    settings = load_settings({"workbook": {"sql_url": sql_url}})
    workbook = open_workbook(settings)
    tables = read_tables(workbook)
    job = WriteJob()
    job.set(tables["商品"], 2, {"商品名": "スタッフが変えた名前"})
    workbook.write(job)
    at = app_for(sql_url).run()
    assert not at.exception
    names = [p.name for p in read_tables(workbook)["商品"].models()]
    assert names.count("スタッフが変えた名前") == 1 and len(names) == 42


def test_row_errors_show_as_a_fix_it_list(sql_url: str) -> None:
    app_for(sql_url).run()
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    job = WriteJob()
    job.set(read_tables(workbook)["在庫"], 4, {"実在庫": "十個"})
    workbook.write(job)
    st.cache_resource.clear()  # the read TTL has passed
    at = app_for(sql_url).run()
    assert not at.exception
    assert any("1 件の入力エラー" in w.value for w in at.warning)
    frame = at.dataframe[-1].value
    assert frame.iloc[0].to_dict() == {
        "シート": "在庫",
        "行": 4,
        "列": "実在庫",
        "入力値": "十個",
        "内容": "整数で入力してください",
    }


def test_a_wrong_setting_is_explained_without_a_traceback(sql_url: str) -> None:
    at = app_for(sql_url, app={"cache_ttl": 5}).run()
    assert not at.exception
    assert "secrets.toml" in at.error[0].value and "cache_ttl" in at.error[0].value


def test_an_unreachable_google_sheet_is_explained_in_japanese(tmp_path: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"backend": "google"}
    at.secrets["google"] = {
        "spreadsheet_key": "abc",
        "api_base_url": "http://127.0.0.1:9",  # nothing listens on the discard port
        "max_retries": 0,
        "timeout_seconds": 2,
        "service_account": {
            "private_key": "not a key",
            "client_email": "ichigen@example.iam.gserviceaccount.com",
            "token_uri": "http://127.0.0.1:9/token",
        },
    }
    at.run()
    assert not at.exception
    assert at.error, "staff must see why the workbook did not open"
    assert "Google" in at.error[0].value or "鍵" in at.error[0].value


def test_the_whole_app_runs_against_a_sheets_compatible_server(fake_sheets) -> None:
    from tests.fakes.sheets_api import make_service_account_info

    key = fake_sheets.create_spreadsheet("一元堂 台帳")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["google"] = {
        "spreadsheet_key": key,
        "api_base_url": fake_sheets.base_url,
        "service_account": make_service_account_info(fake_sheets.token_uri),
    }
    at.run()
    assert not at.exception
    assert any("一元堂 台帳" in m.value and key in m.value for m in at.sidebar.markdown)
    assert not at.sidebar.info  # a real workbook: no demo notice, and no demo data written
    assert metrics(at)["SKU数"] == "0"
    assert {"商品", "在庫", "受注", "_システム"} <= set(fake_sheets.sheet_titles(key))
    assert fake_sheets.is_hidden(key, "_システム")
    # The snapshot (every tab but 同期ログ) and the tail of 同期ログ for 今日やること's sync card
    # (kept per snapshot and shared with the 同期 page, which reads it no more).
    assert fake_sheets.count("values.batchGet") == 2
    at.switch_page("pages/sync.py").run()
    assert not at.exception and fake_sheets.count("values.batchGet") == 2
    # The tabs Ichigen made came with their warning-only protections, in the same request.
    assert fake_sheets.count("batchUpdate") == 1


def test_the_embedded_demo_keeps_syncing_its_demo_malls_in_the_background(sql_url: str) -> None:
    import time

    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"interval_seconds": 3600}
    at.run()
    assert not at.exception
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = read_tables(workbook)["同期ログ"].models()
        if {r.mall for r in log if r.job.startswith("在庫送信")} == {"楽天", "Amazon", "Yahoo!", "Shopify"}:
            break
        time.sleep(0.2)
    imported = [r for r in log if r.job.startswith("受注取込")]
    assert {r.mall for r in imported} == {"楽天", "Amazon", "Yahoo!", "Shopify"}
    assert sum(r.created for r in imported) > 0 and all(r.result == "成功" for r in log)
    time.sleep(0.5)  # the thread notes the time of its cycle just after writing
    # A fresh session (AppTest keeps no sidebar on a rerun with st.navigation); same process,
    # so the same background sync.
    again = AppTest.from_file(APP, default_timeout=60)
    again.secrets["workbook"] = {"sql_url": sql_url}
    again.secrets["sync"] = {"interval_seconds": 3600}
    again.run()
    assert any("自動同期中" in c.value for c in again.sidebar.caption)


def test_home_answers_the_four_first_questions_with_counts_and_links(sql_url: str) -> None:
    """Where orders needing attention are, how to ship today's orders, how to change a stock
    number, and whether every mall is in sync — each a card with its count and a link."""
    at = app_for(sql_url).run()
    assert not at.exception
    assert any(h.value == "今日やること" for h in at.subheader)
    tables = read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))
    board = build_board(tables)
    waiting = sum(o.status == "発送待ち" for o in tables["受注"].models())
    texts = [m.value for m in at.markdown]
    assert board.queue_orders > 0 and f":red[{board.queue_orders} 件]" in texts  # red: needs doing
    assert f"発送待ち {waiting} 件" in texts and "売り越しなし" in texts
    assert "まだ同期していません" in texts  # the demo malls have not been synced in this test
    links = [(link.proto.page, link.proto.label) for link in at.get("page_link")]
    assert [page for page, _ in links] == ["orders", "shipping", "products", "sync"]


@pytest.mark.parametrize("tab", ["商品", "受注"])
def test_a_workbook_with_only_products_or_only_orders_is_not_seeded(sql_url: str, tab: str) -> None:
    """The check reads 商品 first and 受注 only when 商品 is empty: either one keeps the demo out."""
    from datetime import datetime

    from sheets_schema.book import ensure_tabs, seed_demo_if_new
    from sheets_schema.cells import JST

    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    ensure_tabs(workbook)
    row = (
        {"SKU": "MINE-1", "商品名": "うちの商品"}
        if tab == "商品"
        else {"モール": "楽天", "注文番号": "338112-20261201-00000001", "ステータス": "新規"}
    )
    job = WriteJob()
    job.append(read_tables(workbook)[tab], [row])
    workbook.write(job)
    assert seed_demo_if_new(workbook, datetime.now(JST)) is False
    tables = read_tables(workbook)
    assert [len(tables["商品"].grid.rows), len(tables["受注"].grid.rows)] == (
        [1, 0] if tab == "商品" else [0, 1]
    )


def test_status_counts_go_three_to_a_row_once_one_no_longer_fits_six_to_a_row() -> None:
    """At 1366 px six metrics fit "9,999 件"; a shop's "29,028 件" was cut to "29,028…"."""
    from shop.overview import status_rows

    small = {"新規": 82, "入金待ち": 87, "発送待ち": 954, "保留": 3240, "出荷済": 9999, "キャンセル": 907}
    assert [len(r) for r in status_rows(small)] == [6]
    big = {**small, "出荷済": 29028}
    rows = status_rows(big)
    assert [len(r) for r in rows] == [3, 3]
    assert rows[1][1] == ("出荷済", "29,028 件")
    assert status_rows({}) == []


def test_stock_value_after_a_new_read_with_movements_appended_is_the_whole_ledgers(sql_url: str) -> None:
    """A new read carries the previous build on over the appended movements (only those are
    folded); the figure is the one a fold of the whole ledger gives."""
    from datetime import datetime

    from purchasing import stock_history
    from purchasing.ledger_rows import ledger_rows
    from purchasing.valuation import stock_value
    from sheets_schema.cells import JST
    from shop.overview import yen
    from ui import context, valuation

    at = app_for(sql_url).run()
    workbook = open_workbook(load_settings({"workbook": {"sql_url": sql_url}}))
    tables = read_tables(workbook)
    prior = stock_history.histories(tables, ledger_rows(tables["在庫移動"].grid), None)
    # A receipt that moves the average whatever the demo holds: a SKU with stock on hand,
    # received against a 発注明細 line of another 単価 (a receipt's cost is its line's).
    shown = {s.sku: s.on_hand for s in tables["在庫"].models()}  # what ホーム values
    sku = next(s for s, h in prior.items() if h.on_hand > 0 and shown.get(s, 0) > 0)
    line = next(
        ln
        for ln in tables["発注明細"].models()
        if ln.unit_cost is not None and ln.unit_cost != prior[sku].cost[0]
    )
    stamp = f"{datetime.now(JST):%Y-%m-%d %H:%M:%S}"
    job = WriteJob()
    job.append(
        tables["在庫移動"],
        [
            {"移動ID": f"入荷:{line.number}:{line.line_number}:test", "日時": stamp, "SKU": sku,
             "区分": "入庫", "数量": 40, "備考": "テストの入荷"},
            {"移動ID": "test-out", "日時": stamp, "SKU": sku, "区分": "出荷", "数量": 3},
        ],
    )  # fmt: skip
    workbook.write(job)
    before = dict(valuation._last_build)
    for reader in context._readers.values():
        reader.clear()  # the snapshot's time to live ran out
    at.run()
    assert not at.exception
    tables = read_tables(workbook)
    whole = stock_history.histories(tables, ledger_rows(tables["在庫移動"].grid), None)
    on_hand = {s.sku: s.on_hand for s in tables["在庫"].models()}
    fallback = {p.sku: p.cost for p in tables["商品"].models()}
    assert metrics(at)["在庫金額（原価）"] == yen(stock_value(whole, on_hand, fallback).total)
    (key,) = [k for k in valuation._last_build if sql_url in k]
    extended, previous = valuation._last_build[key][1].histories, before[key][1].histories
    other = next(s for s in extended if s != sku)
    assert extended[other] is previous[other]  # carried on, not folded again
    assert extended[sku] is not previous[sku]
