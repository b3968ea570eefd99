"""ui/purchasing_documents.py through AppTest on the demo workbook, as the 発注・入荷 page mounts
it: 編集 gets the PDF and CSV and sends the 下書き after confirming (once); 閲覧 gets neither."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_prepared_workbook, read_tables
from sheets_schema.cells import JST

pytestmark = pytest.mark.usefixtures("fresh_caches")


def _view(sql_url: str, role: str, outbox: str, number: str) -> None:
    from settings import load_settings
    from ui import context
    from ui.order_actions import show_flash
    from ui.purchasing_documents import order_documents, orders_csv

    secrets = {
        "workbook": {"sql_url": sql_url},
        "sync": {"auto_sync_demo": False},
        "mail": {"outbox_dir": outbox},
    }
    context.init(load_settings(secrets), role)
    show_flash()
    orders = context.snapshot().tables["発注"].models()
    orders_csv([o.number for o in orders])
    order_documents(number)


def draft(sql_url: str) -> Any:
    """The demo's 下書き 発注 (seeding the demo shop on first open, as the app does)."""
    workbook = open_prepared_workbook(load_settings({"workbook": {"sql_url": sql_url}}), datetime.now(JST))
    return workbook, next(o for o in read_tables(workbook)["発注"].models() if o.status == "下書き")


def view(sql_url: str, role: str, outbox: Path, number: str) -> AppTest:
    at = AppTest.from_function(_view, args=(sql_url, role, str(outbox), number), default_timeout=60)
    return at.run()


def labels(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_editors_download_and_send_the_draft_once(sql_url: str, tmp_path: Path, downloads) -> None:
    workbook, order = draft(sql_url)
    at = view(sql_url, "編集", tmp_path / "outbox", order.number)
    assert not at.exception
    assert labels(at) == ["表示中の発注 5 件を CSV で", "発注書（PDF）", "発注書（CSV）"]
    files = dict(downloads.texts())
    assert order.number in files[f"発注書_{order.number}.csv"] and "発注番号" in files["発注書_5件.csv"]
    assert order.supplier in files[f"発注書_{order.number}.pdf"]
    assert any(order.number in t.value for t in at.text_input)  # the subject, previewed

    send = next(b for b in at.button if b.label == "発注書をメールで送る")
    assert send.disabled  # until the recipient is confirmed
    at.checkbox(key=f"po_mail_ok_{order.number}").check().run()
    next(b for b in at.button if b.label == "発注書をメールで送る").click().run()
    assert not at.exception
    saved = [s.value for s in at.success if "送らずにこのパソコンのフォルダに保存しました" in s.value]
    assert len(saved) == 1 and "outbox に" not in saved[0] and "[mail]" not in saved[0]
    after = next(o for o in read_tables(workbook)["発注"].models() if o.number == order.number)
    assert after.status == "発注済" and after.sent_at is not None
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_viewers_see_neither_downloads_nor_sending(sql_url: str, tmp_path: Path) -> None:
    _, order = draft(sql_url)
    at = view(sql_url, "閲覧", tmp_path / "outbox", order.number)
    assert not at.exception
    assert labels(at) == [] and not [b for b in at.button if "送る" in b.label]
    assert any("「編集」以上の権限が必要です" in i.value for i in at.info)
