"""分析's 顧客 and 仕訳 sections on the demo shop through AppTest: counts only (no key, no salt
on the page), the salt made once and kept in _システム, the journal for 管理 only, and its
download marking the month as exported."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from settings import load_settings
from sheets_schema.book import open_workbook, read_tables
from shop.customer_identity import SALT_KEY
from sync import state
from tests.test_analytics import APP, open_page
from tests.test_auth import sign_in
from ui.analytics_customers import OPEN_KEY


def system(sql_url: str) -> dict[str, str]:
    tables = read_tables(open_workbook(load_settings({"workbook": {"sql_url": sql_url}})))
    return state.values(tables["_システム"])


def page_text(at: AppTest) -> str:
    parts = [str(e.value) for e in (*at.markdown, *at.caption, *at.subheader, *at.info, *at.warning)]
    parts += [m.label + str(m.value) for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def test_customers_and_the_journal_on_the_demo_shop(sql_url: str) -> None:
    at = open_page(sql_url)
    headers = [h.value for h in at.subheader]
    assert "顧客（モール横断）" in headers and "会計ソフト用の仕訳" in headers
    # Closed, the section computes nothing (no salt yet); opened, it shows the figures.
    assert "リピート率" not in {m.label for m in at.metric}
    assert SALT_KEY not in system(sql_url)
    at.session_state[OPEN_KEY] = True
    at.run()
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"リピート率", "購入者不明の注文", "2回目までの日数"} <= labels
    salt = system(sql_url)[SALT_KEY]
    assert len(salt) == 64 and salt not in page_text(at)
    at.run()  # a rerun keeps the salt: keys stay the same
    assert system(sql_url)[SALT_KEY] == salt
    marks = [k for k in system(sql_url) if k.startswith("仕訳出力:")]
    assert marks == []
    buttons = [b for b in at.get("download_button") if "CSV" in b.proto.label and "freee" in b.proto.label]
    assert len(buttons) == 1


def test_the_viewer_sees_counts_and_no_journal(sql_url: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = {"sql_url": sql_url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    sign_in(at, "view@example.jp", "閲覧")
    at.run()
    at.switch_page("pages/analytics.py")
    at.session_state[OPEN_KEY] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "顧客（モール横断）" in [h.value for h in at.subheader]
    assert "リピート率" in {m.label for m in at.metric}  # counts, never who
    assert any("管理」の権限" in i.value for i in at.info)
    assert not [b for b in at.get("download_button") if "freee" in b.proto.label]


def test_the_archives_buyers_are_read_once_per_archive_and_the_figures_stay(tmp_path, monkeypatch) -> None:
    """The demo's closed orders moved to the archive: 顧客 shows what it showed before, and a new
    workbook read reuses the archive's keyed orders (a million rows at a big shop) instead of
    reading them again; only an archive pass (its stamp) makes them read anew."""
    from datetime import datetime, timedelta

    import streamlit as st

    from settings import SyncSettings
    from sheets_schema.archive import Archive
    from sheets_schema.cells import JST
    from shop import customer_archive
    from sync.archive import archive_history
    from sync.engine import SyncEngine
    from ui import context

    secrets = {
        "sql_url": f"sqlite:///{tmp_path / 'wb.sqlite3'}",
        "archive_url": f"sqlite:///{tmp_path / 'ar.sqlite3'}",
    }
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["workbook"] = secrets
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page("pages/analytics.py").run()
    at.session_state[OPEN_KEY] = True
    at.run()
    assert not at.exception

    def figures() -> dict[str, str]:
        return {
            m.label: m.value
            for m in at.metric
            if m.label in ("リピート率", "購入者不明の注文", "2回目までの日数")
        }

    before = figures()
    assert len(before) == 3
    settings = load_settings({"workbook": secrets})
    engine = SyncEngine(
        open_workbook(settings), [], SyncSettings(lease_seconds=60), clock=lambda: datetime.now(JST)
    )
    engine.run_once()  # the ledger's totals, which an archive pass needs first
    # Forty days on, every closed order is past archive_after_days since the ledger settled it.
    later = SyncEngine(
        open_workbook(settings),
        [],
        SyncSettings(lease_seconds=60),
        clock=lambda: datetime.now(JST) + timedelta(days=40),
    )
    assert archive_history(later, Archive(settings.archive_url()), after_days=30).orders > 0
    reads: list[int] = []
    keyed_orders = customer_archive.keyed_orders
    monkeypatch.setattr(customer_archive, "keyed_orders", lambda b: reads.append(1) or keyed_orders(b))
    st.cache_resource.clear()  # the archive's stamp and every cached read: as after its time to live
    at.run()
    assert not at.exception and figures() == before and reads == [1]
    for reader in context._readers.values():
        reader.clear()  # a new workbook read, the archive unchanged
    at.run()
    assert not at.exception and figures() == before and reads == [1]
