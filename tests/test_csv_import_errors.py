"""A mall file with several bad rows, through the engine: every row error is in the 同期ログ
(count, file, row and column), the good orders go in, the channel is not backed off, and the
bad orders come in once staff fix the file and save it again."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from settings import SyncSettings
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sync import state
from sync.engine import SyncEngine
from tests.test_csv_connector import ORDER_REPORT_HEADER, drop, make_connector, report_row, table


def engine(tmp_path: Path, workbook: SqlWorkbook) -> SyncEngine:
    """A fresh engine over the inbox (the inbox folder is made by ``make_connector``)."""
    return SyncEngine(
        workbook,
        [make_connector(tmp_path)],
        SyncSettings(lease_seconds=60),
        clock=lambda: datetime.now(JST) + timedelta(minutes=1),
    )


def rows(bad: bool) -> bytes:
    made = [
        report_row("503-0000000-0000001", order_item_id="1", sku="A"),
        report_row("503-0000000-0000002", order_item_id="2", sku="B", quantity_purchased="x" if bad else "1"),
        report_row("503-0000000-0000003", order_item_id="3", sku="C"),
        report_row("503-0000000-0000004", order_item_id="4", sku="D", item_price="12.5" if bad else "1200"),
        report_row("503-0000000-0000005", order_item_id="5", sku="E", currency="USD" if bad else "JPY"),
    ]
    return table(ORDER_REPORT_HEADER, made).encode("cp932")


def test_three_bad_rows_are_all_reported_the_good_ones_imported_and_a_fixed_file_brings_the_rest(
    tmp_path: Path,
) -> None:
    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    make_connector(tmp_path)
    path = drop(tmp_path, "orders.txt", rows(bad=True))
    report = engine(tmp_path, workbook).run_once()

    tables = read_tables(workbook)
    assert sorted(o.order_number for o in tables["受注"].models()) == [
        "503-0000000-0000001",
        "503-0000000-0000003",
    ]
    [log] = [r for r in tables["同期ログ"].models() if r.job.startswith("受注取込")]
    assert (log.result, log.created, log.failed) == ("一部失敗", 2, 3)
    assert "3 件" in log.error
    for where in (
        "「orders.txt」 3行目 「quantity-purchased」列",
        "「orders.txt」 5行目 「item-price」列",
        "「orders.txt」 6行目 「currency」列",
    ):
        assert where in log.error, log.error
    assert report.runs[0].failed == 3
    stored = state.values(tables["_システム"])
    assert not stored.get(state.backoff_key("amazon_files"))  # row errors never back the channel off

    # Staff fix the file in place and save it: it is read again, the fixed orders come in.
    path.write_bytes(rows(bad=False))
    later = datetime.now().timestamp() + 2
    os.utime(path, (later, later))
    report = engine(tmp_path, workbook).run_once()
    tables = read_tables(workbook)
    assert len(tables["受注"].models()) == 5
    assert (report.runs[0].created, report.runs[0].duplicates_skipped, report.runs[0].failed) == (3, 2, 0)


def test_the_log_lists_the_first_five_problems_and_counts_all(tmp_path: Path) -> None:
    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    ensure_tabs(workbook)
    make_connector(tmp_path)
    made = [
        report_row(f"503-0000000-00000{i:02d}", order_item_id=str(i), sku="A", quantity_purchased="x")
        for i in range(1, 9)
    ]
    drop(tmp_path, "many.txt", table(ORDER_REPORT_HEADER, made).encode("cp932"))
    engine(tmp_path, workbook).run_once()
    [log] = [r for r in read_tables(workbook)["同期ログ"].models() if r.job.startswith("受注取込")]
    assert log.failed == 8 and "8 件" in log.error and "ほか 3 件" in log.error
    assert log.error.count("「quantity-purchased」列") == 5


def test_bad_rows_are_in_the_review_queue_until_the_file_is_saved_again_without_them(
    tmp_path: Path, fresh_caches: None
) -> None:
    from streamlit.testing.v1 import AppTest

    from settings import PROJECT_ROOT
    from shop.orders.board import build_board

    url = f"sqlite:///{tmp_path / 'wb.sqlite3'}"
    workbook = SqlWorkbook(url)
    ensure_tabs(workbook)
    make_connector(tmp_path)
    path = drop(tmp_path, "orders.txt", rows(bad=True))
    engine(tmp_path, workbook).run_once()

    queue = [i for i in build_board(read_tables(workbook)).queue if i.kind == "取込エラー"]
    assert [i.reason.split(":")[0] for i in queue] == [
        "「orders.txt」 3行目 「quantity-purchased」列",
        "「orders.txt」 5行目 「item-price」列",
        "「orders.txt」 6行目 「currency」列",
    ]
    assert all(i.mall == "Amazon" and "ファイル「orders.txt」の該当する行を直し" in i.action for i in queue)
    assert build_board(read_tables(workbook)).queue[0].kind == "取込エラー"  # first in the queue

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.secrets["workbook"] = {"sql_url": url}
    at.secrets["sync"] = {"auto_sync_demo": False}
    at.run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception
    (expander,) = [e for e in at.expander if e.label.startswith("取込エラー")]
    assert expander.label == "取込エラー（3 件）"
    assert "取込フォルダに保存し直してください" in "\n".join(m.value for m in expander.markdown)

    # Another run that reads no new file keeps them; the file saved again without errors clears them.
    engine(tmp_path, workbook).run_once()
    assert len([i for i in build_board(read_tables(workbook)).queue if i.kind == "取込エラー"]) == 3
    path.write_bytes(rows(bad=False))
    later = datetime.now().timestamp() + 2
    os.utime(path, (later, later))
    engine(tmp_path, workbook).run_once()
    assert not [i for i in build_board(read_tables(workbook)).queue if i.kind == "取込エラー"]
