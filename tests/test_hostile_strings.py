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
from tests.test_auth import AUTH

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


def live_markup(text: str) -> str | None:
    """The first image, link, autolink or tag Markdown would make of ``text``, if any."""
    found = LIVE.search(_ESCAPED.sub("", text))
    return found.group(0) if found else None


def run_page(url: str, page: str, role: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    if role is not None:
        at.secrets["auth"] = AUTH
        at.secrets["access"] = {"x@example.jp": role}
        at.user = {"is_logged_in": True, "email": "x@example.jp", "email_verified": True}
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
