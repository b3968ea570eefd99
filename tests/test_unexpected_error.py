"""A page failing in a way no page explains: staff get a Japanese notice with an error number,
never the exception's text; the traceback is logged under that number."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shop.overview
from tests.page_probe import APP

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.unexpected_page_error]


def test_a_failing_page_shows_a_japanese_notice_and_logs_the_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("山田太郎 090-1234-5678 /srv/ichigen/secret")

    monkeypatch.setattr(shop.overview, "overview", broken)
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["workbook"] = {"sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}"}
    at.secrets["sync"] = {"auto_sync_demo": False}
    with caplog.at_level(logging.ERROR, logger="ichigen.app"):
        at.run()
    assert not at.exception  # Streamlit's English notice is not used
    [notice] = [e.value for e in at.error]
    assert "思わぬエラー" in notice and "エラー番号" in notice
    assert "090-1234-5678" not in notice and "山田" not in notice and "RuntimeError" not in notice
    number = notice.split("エラー番号 ")[1][:6]
    [record] = caplog.records
    assert number in record.getMessage() and record.exc_info is not None
    assert "090-1234-5678" in str(record.exc_info[1])  # the details are in the log, for whoever looks
    # The sidebar and navigation still work: staff can go elsewhere.
    at.switch_page("pages/products.py").run()
    assert not at.error
