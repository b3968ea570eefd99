"""The 発注・入荷 page through AppTest on the embedded demo shop: suggestions to a 下書き, the
下書き to 発注済, a receipt by scanned JANs, and what 閲覧 may not do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from purchasing.reading import read_purchasing
from settings import PROJECT_ROOT, load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from tests.shop_fixtures import ledger_problems

APP = str(PROJECT_ROOT / "app.py")
PAGE = "pages/purchasing.py"


@pytest.fixture
def url(tmp_path: Path) -> str:
    from datetime import datetime

    made = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    open_prepared_workbook(load_settings({"workbook": {"sql_url": made}}), datetime.now(JST))
    return made


def page(url: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def workbook(url: str) -> Any:
    return open_prepared_workbook(
        load_settings({"workbook": {"sql_url": url, "seed_demo": False}}),
        __import__("datetime").datetime.now(JST),
    )


def test_suggestions_become_a_draft_then_an_order_then_scanned_goods_reach_stock(
    url: str, fresh_caches
) -> None:
    at = page(url)
    assert at.title[0].value == "発注・入荷"
    editor = next(d for d in at.dataframe if d.proto.editing_mode != 0)
    frame = editor.value
    assert {"発注する", "提案数", "理由"} <= set(frame.columns)
    wanted = frame[frame["発注する"] & (frame["提案数"] > 0)]
    assert not wanted.empty  # the demo shop sells faster than some of its stock lasts
    before = {o.number for o in read_purchasing(workbook(url)).orders.models()}  # the demo's own
    at.button(key="po_draft").click()
    at.run()
    assert not at.exception, at.exception
    t = read_purchasing(workbook(url))
    drafts = [o for o in t.orders.models() if o.number not in before]
    assert drafts and {o.status for o in drafts} == {"下書き"}
    made = {o.number for o in drafts}
    assert sum(x.quantity for x in t.lines.models() if x.number in made) == int(wanted["提案数"].sum())

    # 発注済 for the first draft, chosen in the list.
    number = drafts[0].number
    at = page(url)
    listed = [o.number for o in sorted(t.orders.models(), key=lambda o: o.number, reverse=True)]
    at.session_state["po_list"] = {"selection": {"rows": [listed.index(number)], "columns": [], "cells": []}}
    at.run()
    assert {d.key for d in at.get("download_button")} >= {f"po_pdf_{number}", f"po_csv_{number}"}
    at.button(key="po_move_発注済").click()
    at.run()
    assert not at.exception, at.exception
    t = read_purchasing(workbook(url))
    assert next(o for o in t.orders.models() if o.number == number).status == "発注済"

    # Scan every unit of its first line by JAN (or SKU), then register the receipt.
    line = next(x for x in t.lines.models() if x.number == number)
    product = next(p for p in t.products.models() if p.sku == line.sku)
    before = {s.sku: s.on_hand for s in read_tables(workbook(url))["在庫"].models()}[line.sku]
    at = page(url)
    mine = next(o for o in t.orders.models() if o.number == number)
    at.selectbox(key="po_receive_order").set_value(f"{number}（{mine.supplier}・発注済）").run()
    for _ in range(line.quantity):
        at.text_input(key="po_scan").input(product.jan or product.sku)
        at.run()
    assert f"{product.name}（{product.sku}）＋1" in [c.value for c in at.caption]
    at.text_input(key="po_scan").input("0000000000000")
    at.run()
    assert any("に当たる商品がありません" in e.value for e in at.error)
    at.button(key="po_receive").click()
    at.run()
    assert not at.exception, at.exception
    tables = read_tables(workbook(url))
    assert {s.sku: s.on_hand for s in tables["在庫"].models()}[line.sku] == before + line.quantity
    assert ledger_problems(tables) == []


def test_stock_shows_what_open_orders_will_bring(url: str, fresh_caches) -> None:
    from datetime import datetime

    from purchasing import purchase_orders as po
    from sheets_schema.changes import WriteJob

    wb = workbook(url)
    t = read_purchasing(wb)
    sku = t.products.records[0].value.sku
    drafts = po.draft(
        t.orders,
        t.lines,
        {p.sku: p for p in t.products.models()},
        {sku: 5},
        [po.DraftLine(sku, 7)],
        now=datetime.now(JST),
    )
    wb.write(drafts.job)
    t = read_purchasing(wb)
    job = WriteJob()
    number = next(iter(drafts.numbers.values()))
    job.set(t.orders, t.orders.find_row((number,)), {"ステータス": "発注済"})
    wb.write(job)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page("pages/products.py")
    at.run()
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "入荷予定日" in d.value.columns)
    assert f"入荷予定（{len(shown)} 件）" in [s.value for s in at.subheader]
    assert shown[shown["発注番号"] == number][["SKU", "数量"]].values.tolist() == [[sku, 7]]


def test_home_and_stock_flag_an_oversold_sku_with_the_orders_concerned(url: str, fresh_caches) -> None:
    from datetime import datetime

    from settings import SyncSettings
    from sheets_schema.changes import WriteJob
    from sync.engine import SyncEngine

    wb = workbook(url)
    tables = read_tables(wb)
    allocated = next(s for s in tables["在庫"].models() if s.allocated > 0)
    job = WriteJob()
    job.set(tables["在庫"], tables["在庫"].find_row((allocated.sku,)), {"実在庫": 0})  # counted: none left
    wb.write(job)
    SyncEngine(wb, [], SyncSettings(), clock=lambda: datetime.now(JST)).run_once()
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    assert not at.exception, at.exception
    (flag,) = [e.value for e in at.error if e.value.startswith("売り越し")]
    assert "「発注・入荷」で発注する" in flag
    shown = next(d.value for d in at.dataframe if "不足数" in d.value.columns)
    assert allocated.sku in set(shown["SKU"]) and shown["不足数"].sum() >= allocated.allocated
    at.switch_page("pages/products.py")
    at.run()
    assert any(e.value.startswith("売り越し") for e in at.error)
