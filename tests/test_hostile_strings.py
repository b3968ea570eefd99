"""Mall data is shown as text. A demo shop whose names, item codes, notes, SKUs and errors hold
markdown images and links, HTML, `=cmd` formulas and very long strings: on every page, no
string Streamlit renders as markdown (bodies, captions, alerts, labels, radio options,
expander and tab labels) carries a live image, link, autolink or HTML tag."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from tests.page_probe import APP, PAGES, elements
from tests.test_auth import sign_in

pytestmark = pytest.mark.usefixtures("fresh_caches")

EVIL = "203.0.113.7"
HOSTILE = [
    f"![x](http://{EVIL}/pixel.png)",
    f"[ここをクリック](http://{EVIL}/phish)",
    f'<img src="http://{EVIL}/tag.png">',
    f'=IMPORTXML("http://{EVIL}/","//a")',
    f"**太字** :red[赤] $x^2$ http://{EVIL}/bare.png www.{EVIL}.example",
    f"# 見出し\n- リスト ![y](https://{EVIL}/y.png)",
    "長" * 60_000 + f"![z](http://{EVIL}/long.png)",
]
COLUMNS = {
    "受注": ["支払方法", "購入者名", "送付先氏名", "住所", "備考", "要確認", "モールステータス", "追跡番号"],
    "受注明細": ["SKU", "商品名", "モール商品コード", "モールSKU"],
    "モール商品": ["モール商品コード", "モールSKU"],
    "商品": ["商品名", "仕入先", "メモ"],
}
# Fields Streamlit shows as plain text, per element type.
PLAIN = {"text", "code", "arrow_data_frame", "json", "plotly_chart", "arrow_vega_lite_chart"}
PLAIN_FIELDS = {"options", "default", "value", "raw_values", "default_value", "placeholder", "data", "spec"}


def hostile_shop(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    tables = read_tables(workbook)
    job = WriteJob()
    n = 0
    for title, columns in COLUMNS.items():
        table = tables[title]
        for record in list(table)[:40]:
            job.set(table, record.row, {c: HOSTILE[(n + i) % len(HOSTILE)] for i, c in enumerate(columns)})
            n += 1
    now = datetime.now(JST)
    from sync.connectors import DEMO_CHANNELS

    malls = [(c["mall"], channel) for channel, c in DEMO_CHANNELS.items()]
    job.append(  # every mall's newest runs failed, with the mall's own words as the error
        tables["同期ログ"],
        [
            {
                "実行ID": f"run-{i}",
                "開始日時": now.strftime("%Y-%m-%d %H:%M:%S"),
                "終了日時": now.strftime("%Y-%m-%d %H:%M:%S"),
                "モール": mall[0],
                "処理": f"{job_name}（{mall[1]}）",
                "結果": "失敗",
                "エラー内容": HOSTILE[i % len(HOSTILE)],
            }
            for i, (mall, job_name) in enumerate((m, j) for m in malls for j in ("受注取込", "在庫送信"))
        ],
    )
    from sync import state

    problems = state.Problems()  # a mall file and a mall order the sync could not take in
    for i, file in enumerate(("", HOSTILE[0] + ".csv", HOSTILE[2] + ".csv")):
        problems = problems.replaced(HOSTILE[i + 1], file, [HOSTILE[i], HOSTILE[i + 3]], now)
    state.put(job, tables["_システム"], state.problems_key("demo"), problems.encode(), now)
    workbook.write(job)
    return url


def _strings(message: Message, skip: bool) -> list[str]:
    found: list[str] = []
    for descriptor, value in message.ListFields():
        if skip and descriptor.name in PLAIN_FIELDS:
            continue
        values = value if isinstance(value, (list, tuple)) or hasattr(value, "extend") else [value]
        for item in values:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, Message):
                found.extend(_strings(item, skip))
    return found


def rendered_markdown(at: AppTest) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    for node in elements(at):
        kind = getattr(node, "type", "")
        if kind in PLAIN:
            continue
        shown.extend((kind, s) for s in _strings(node.proto, skip=kind not in {"radio", "button_group"}))
    return shown


_ESCAPED = re.compile(r"\\.")
LIVE = re.compile(r"!\[|\]\(|<img|<a\b|https?://|www\.", re.IGNORECASE)


# Streamlit links bare URLs in text it has already parsed: a backslash before them does nothing.
AUTOLINK = re.compile(r"https?://|www\.", re.IGNORECASE)


def live_markup(text: str) -> str | None:
    """The first image, link, autolink or tag Markdown would make of ``text``, if any."""
    found = LIVE.search(_ESCAPED.sub("", text)) or AUTOLINK.search(re.sub(r"\\(.)", r"\1", text))
    return found.group(0) if found else None


def run_page(url: str, page: str, role: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    if role is not None:
        sign_in(at, "x@example.jp", role)
    at.run()
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    return at


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> str:
    return hostile_shop(tmp_path_factory.mktemp("hostile"))


def test_the_escaping_itself() -> None:
    from vocabulary.text import escape_markdown

    for text in HOSTILE:
        assert live_markup(escape_markdown(text)) is None
        assert live_markup(text) is not None or text.startswith("=")


@pytest.mark.parametrize("role", [None, "閲覧"])
@pytest.mark.parametrize("page", PAGES)
def test_no_page_renders_mall_data_as_markdown(shop: str, page: str, role: str | None) -> None:
    at = run_page(shop, page, role)
    assert not at.exception, [e.value for e in at.exception][:1]
    live = [(kind, text[:120]) for kind, text in rendered_markdown(at) if live_markup(text)]
    assert live == []


def test_the_hostile_data_really_is_on_the_pages(shop: str) -> None:
    """The test above would pass on an empty page: the strings are there, as text."""
    at = run_page(shop, "pages/orders.py", None)
    tables = [d.value for d in at.dataframe]
    assert any(
        any(isinstance(v, str) and EVIL in v for v in frame.astype(str).to_numpy().ravel())
        for frame in tables
    )
    # the 要確認 queue's 取込エラー group, whose action names the hostile file
    (expander,) = [e for e in at.expander if e.label.startswith("取込エラー")]
    assert "203\\.0\\.113\\.7" in "\n".join(m.value for m in expander.markdown)  # escaped


def _plotly_strings(value: object, key: str = "") -> list[tuple[str, str]]:
    """(field, text) of every string in a figure that Plotly may render as its HTML subset."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _plotly_strings(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in _plotly_strings(v, key)]
    return []


def test_chart_labels_on_analytics_show_mall_data_as_text(shop: str) -> None:
    """SKUs and 商品名 from the malls are tick labels, legend names and hover text on 分析:
    Plotly renders <a href>, <b> and friends there, so they reach it escaped."""
    import json

    at = run_page(shop, "pages/analytics.py", None)
    assert not at.exception
    charts = at.get("plotly_chart")
    assert charts
    texts = [(k, t) for c in charts for k, t in _plotly_strings(json.loads(c.proto.spec)["data"])]
    texts += [(k, t) for c in charts for k, t in _plotly_strings(json.loads(c.proto.spec)["layout"])]
    tags = re.compile(r"<(?!br>|extra>|/extra>)[a-z/]", re.IGNORECASE)
    live = [(k, t[:80]) for k, t in texts if tags.search(t)]
    assert live == []
    assert any("&lt;img" in t for _, t in texts)  # the hostile names are there, as text


# -- beyond each page's first render: an opened order, messages after actions, widget labels

HOSTILE_NUMBERS = [
    f"![n](http://{EVIL}/n.png)",
    f"[番号](http://{EVIL}/n)",
    f"<img src=http://{EVIL}/n2.png>",
]


def add_hostile_orders(url: str) -> None:
    """Copies of the newest order whose 注文番号 (the mall's own words) are hostile, with their
    lines; the mall's status and the 要確認 note of the copy hostile too."""
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": url}}), datetime.now(JST))
    tables = read_tables(workbook)
    orders, lines = tables["受注"], tables["受注明細"]

    def raw(table: object, row: int) -> dict[str, str]:
        return {h: table.grid.cell(row, table.column(h)) for h in table.spec.headers}  # type: ignore[attr-defined]

    source = max(orders.records, key=lambda r: raw(orders, r.row)["注文日時"])
    order = raw(orders, source.row)
    order.update({"ステータス": "発送待ち", "モールステータス": HOSTILE[2], "要確認": HOSTILE[0]})
    its = [raw(lines, r.row) for r in lines.records]
    its = [line for line in its if (line["モール"], line["注文番号"]) == (order["モール"], order["注文番号"])]
    job = WriteJob()
    job.append(orders, [{**order, "注文番号": n} for n in HOSTILE_NUMBERS])
    job.append(  # SKU不明 lines: the mall's codes, hostile, wait in 要確認 for a mapping
        lines,
        [
            {
                **line,
                "注文番号": n,
                "SKU": "",
                "モール商品コード": f"[コード{i}](http://{EVIL}/c{i})",
                "モールSKU": HOSTILE[2],
            }
            for n in HOSTILE_NUMBERS
            for i, line in enumerate(its)
        ],
    )
    workbook.write(job)


@pytest.fixture
def shop_with_orders(tmp_path: Path) -> str:
    url = hostile_shop(tmp_path)
    add_hostile_orders(url)
    return url


def _md_escaped(text: str) -> str:
    from vocabulary.text import escape_markdown

    return escape_markdown(text)


def _no_live_markup(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception][:1]
    live = [(kind, text[:120]) for kind, text in rendered_markdown(at) if live_markup(text)]
    assert live == []


def _order_list(at: AppTest) -> object:
    return next(d for d in at.dataframe if (d.key or "").startswith("orders_table_"))


def _select_hostile_orders(at: AppTest) -> list[str]:
    at.text_input(key="orders_search").set_value(EVIL).run()
    table = _order_list(at)
    view = table.value  # type: ignore[attr-defined]
    rows = [i for i, n in enumerate(view["注文番号"]) if n in HOSTILE_NUMBERS]
    assert len(rows) == len(HOSTILE_NUMBERS)
    at.session_state[table.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}  # type: ignore[attr-defined]
    at.run()
    return [view["注文番号"].iloc[i] for i in rows]


@pytest.mark.parametrize("role", [None, "閲覧"])
def test_an_opened_order_shows_mall_data_as_text(shop_with_orders: str, role: str | None) -> None:
    at = run_page(shop_with_orders, "pages/orders.py", role)
    numbers = _select_hostile_orders(at)
    if role is None:
        at.toggle(key="orders_reveal").set_value(True).run()  # address and phone unmasked too
    _no_live_markup(at)
    (head,) = [h for h in at.subheader if h.value.startswith("注文 ")]
    assert "203\\.0\\.113\\.7" in head.value  # the order's number is there, escaped
    assert any(EVIL in str(w.value) or "203\\.0\\.113\\.7" in w.value for w in at.warning)  # 要確認
    # the other selected orders, offered by number: each one's detail as text too
    (picker,) = [b for b in at.selectbox if (b.key or "").startswith("orders_detail_")]
    mall = picker.options[0].rsplit("（", 1)[1].removesuffix("）")
    for number in numbers[1:]:  # AppTest cannot set_value a tuple option: the state, as a pick does
        at.session_state[picker.key] = (mall, number)
        at.run()
        _no_live_markup(at)
        assert any(_md_escaped(number) in h.value for h in at.subheader)
    assert len(picker.options) == len(numbers)


def test_messages_after_a_status_change_show_order_numbers_as_text(shop_with_orders: str) -> None:
    at = run_page(shop_with_orders, "pages/orders.py", None)
    _select_hostile_orders(at)
    at.selectbox(key="bulk_status").set_value("出荷済").run()
    at.button(key="bulk_apply").click().run()
    assert any("件の注文を「出荷済」に変更しました" in s.value for s in at.success)
    _no_live_markup(at)
    # again: now each is already 出荷済 (unchanged), then refused (出荷済 cannot go back)
    _select_hostile_orders(at)
    at.selectbox(key="bulk_status").set_value("出荷済").run()
    at.button(key="bulk_apply").click().run()
    assert any("すでに「出荷済」なので変更していません" in i.value for i in at.info)
    _no_live_markup(at)
    _select_hostile_orders(at)
    at.selectbox(key="bulk_status").set_value("新規").run()
    at.button(key="bulk_apply").click().run()
    assert any("変更しなかった注文があります" in w.value for w in at.warning)
    _no_live_markup(at)


def test_the_message_after_mapping_a_hostile_mall_code_shows_it_as_text(shop_with_orders: str) -> None:
    at = run_page(shop_with_orders, "pages/orders.py", None)
    boxes = [s for s in at.selectbox if (s.key or "").startswith("map_sku_")]
    assert boxes
    box = boxes[0]
    # AppTest applies format_func to a formatted option again: the state, as a pick does
    at.session_state[box.key] = box.options[0].removeprefix("★ ").split("\u3000")[0]
    at.run()
    at.button(key=box.key.replace("map_sku_", "map_apply_")).click().run()
    assert at.success, ([w.value[:300] for w in at.warning], [e.value[:300] for e in at.error], at.exception)
    assert any("に対応付けました" in s.value and "203\\.0\\.113\\.7" in s.value for s in at.success)
    _no_live_markup(at)


def _sidebar_with_a_google_workbook(title: str) -> None:
    from datetime import datetime

    from settings import load_settings
    from sheets_schema.workbook import WorkbookInfo
    from ui import context, sidebar
    from ui.context import Snapshot

    settings = load_settings({"sync": {"auto_sync_demo": False}})
    context.init(settings)
    url = "https://docs.google.com/spreadsheets/d/1AbCdEf/edit"
    info = WorkbookInfo("google", title, url, url)
    sidebar.render(Snapshot({}, datetime.now(), info, None), settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("title", HOSTILE_NUMBERS)
def test_the_sidebar_links_the_sheets_title_as_text(title: str) -> None:
    """Staff name the Google spreadsheet as they like: the sidebar's link text shows the name,
    and the one link is the spreadsheet's own."""
    at = AppTest.from_function(_sidebar_with_a_google_workbook, args=(title,), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception][:1]
    (link,) = [m.value for m in at.sidebar.markdown if "ワークブック" in m.value]
    assert link.endswith("](https://docs.google.com/spreadsheets/d/1AbCdEf/edit)")
    text = link.removeprefix("**ワークブック**: Google スプレッドシート [").removesuffix(
        "](https://docs.google.com/spreadsheets/d/1AbCdEf/edit)"
    )
    assert live_markup(text) is None and EVIL.replace(".", "\\.") in text
