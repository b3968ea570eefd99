"""The hybrid workbook's own promises, beyond the port's contract (test_workbook_contract.py runs
on it too): where each tab lives, a job refused on Sheets leaves the database as it was, and a
reader never sees a job on one store and not yet on the other."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sheets_schema.adapters.hybrid import MARKER_TAB, HybridWorkbook, decode_job, encode_job, split_job
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.errors import CellConflict
from sheets_schema.tabs import TABS
from tests.conftest import HybridHarness

pytestmark = pytest.mark.backends("hybrid")


def _log_row(run: str) -> dict[str, Any]:
    return {
        "実行ID": run,
        "開始日時": "2026-12-01 10:00:00",
        "モール": "楽天",
        "処理": "受注取込",
        "結果": "成功",
    }


def _order_row(number: str) -> dict[str, Any]:
    return {
        "モール": "楽天",
        "注文番号": number,
        "注文日時": "2026-12-01 10:00:00",
        "ステータス": "新規",
        "合計金額": 1000,
    }


def _job(workbook: Any, number: str) -> WriteJob:
    """One job on both stores: an order on 受注 (Sheets) and a 同期ログ row (PostgreSQL)."""
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables["受注"], [_order_row(number)])
    job.append(tables["同期ログ"], [_log_row(f"run-{number}")])
    return job


def test_staff_tabs_are_in_the_spreadsheet_and_the_rest_in_the_database(harness: HybridHarness) -> None:
    on_sheets = set(harness.google.workbook.tab_titles())
    in_database = set(harness.sql.workbook.tab_titles())
    for spec in TABS:
        assert (spec.title in in_database, spec.title in on_sheets) == (
            spec.machine_owned,
            not spec.machine_owned,
        )
    assert {"商品", "在庫", "モール商品", "受注", "メールテンプレート"} <= on_sheets
    assert {"在庫移動", "同期ログ", "受注明細", "_システム"} <= in_database
    # Only the spreadsheet's grids count against Google's limit.
    assert harness.workbook.cells_used() == harness.google.workbook.cells_used()


def test_a_job_on_both_stores_lands_on_both_with_nothing_left_pending(harness: HybridHarness) -> None:
    harness.workbook.write(_job(harness.workbook, "R-1"))
    assert [r[:2] for r in harness.stored("受注")[1:]] == [["楽天", "R-1"]]
    assert [r[0] for r in harness.stored("同期ログ")[1:]] == ["run-R-1"]
    assert harness.workbook.pending_jobs() == 0  # type: ignore[attr-defined]
    # The marker names the job that landed last; it is no tab of the workbook's.
    assert MARKER_TAB in harness.google.workbook.tab_titles()
    assert MARKER_TAB not in harness.workbook.tab_titles()


def test_a_job_refused_on_sheets_leaves_the_database_as_it_was(harness: HybridHarness) -> None:
    harness.workbook.write(_job(harness.workbook, "R-1"))
    tables = read_tables(harness.workbook)
    job = WriteJob()
    job.set(tables["受注"], 2, {"ステータス": "発送待ち", "備考": "Ichigen"})
    job.append(tables["同期ログ"], [_log_row("run-2")])
    header = harness.stored("受注")[0]
    row = harness.stored("受注")[1]
    row += [""] * (len(header) - len(row))
    row[header.index("備考")] = "スタッフのメモ"  # typed since the job read the tab
    harness.staff_put("受注", [header, row])
    with pytest.raises(CellConflict):
        harness.workbook.write(job)
    assert [r[0] for r in harness.stored("同期ログ")[1:]] == ["run-R-1"]
    assert harness.workbook.pending_jobs() == 0  # type: ignore[attr-defined]


def test_a_reader_waits_for_a_job_in_flight_and_then_sees_both_halves(harness: HybridHarness) -> None:
    landed, go_on = threading.Event(), threading.Event()

    class SlowSheets:
        """The spreadsheet half that holds on once its batch has landed (before the commit)."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def write(self, job: WriteJob) -> None:
            self.inner.write(job)
            landed.set()
            go_on.wait(10)

    writer = HybridWorkbook(SlowSheets(harness.google.fresh_workbook()), harness.sql.fresh_workbook())  # type: ignore[arg-type]
    job = _job(writer, "R-9")
    writing = threading.Thread(target=writer.write, args=(job,))
    writing.start()
    assert landed.wait(10)
    seen: dict[str, Any] = {}
    reader = harness.fresh_workbook()
    reading = threading.Thread(target=lambda: seen.update(reader.read(["受注", "同期ログ"])))
    reading.start()
    time.sleep(0.5)
    assert reading.is_alive()  # the Sheets half is there, the database half not yet committed
    go_on.set()
    writing.join(10)
    reading.join(10)
    assert [r[1] for r in seen["受注"].rows if any(r)] == ["R-9"]
    assert [r[0] for r in seen["同期ログ"].rows if any(r)] == ["run-R-9"]


def test_a_job_waits_for_a_reader_between_its_two_reads(harness: HybridHarness) -> None:
    """A reader that has read the spreadsheet and not yet the database holds jobs off: it never
    pairs the spreadsheet before a job with the database after it."""
    between, go_on = threading.Event(), threading.Event()

    class SlowReadSheets:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def read(self, titles: Any, **options: Any) -> Any:
            grids = self.inner.read(titles, **options)
            between.set()
            go_on.wait(10)
            return grids

    reader = HybridWorkbook(SlowReadSheets(harness.google.fresh_workbook()), harness.sql.fresh_workbook())  # type: ignore[arg-type]
    writer = harness.fresh_workbook()
    job = _job(writer, "R-5")
    seen: dict[str, Any] = {}
    reading = threading.Thread(target=lambda: seen.update(reader.read(["受注", "同期ログ"])))
    reading.start()
    assert between.wait(10)
    writing = threading.Thread(target=writer.write, args=(job,))
    writing.start()
    time.sleep(0.5)
    assert writing.is_alive()  # held off while the reader is between its two reads
    go_on.set()
    reading.join(10)
    writing.join(10)
    assert not any(any(r) for r in seen["受注"].rows) and not any(any(r) for r in seen["同期ログ"].rows)
    assert [r[0] for r in harness.stored("同期ログ")[1:]] == ["run-R-5"]


def test_a_job_travels_as_its_halves_and_back(harness: HybridHarness, tmp_path: Path) -> None:
    job = _job(harness.workbook, "R-3")
    tables = read_tables(harness.workbook)
    job.expect(tables["_システム"], 2, {"キー": "同期リース"})
    staff, machine = split_job(job)
    assert staff.tabs == {"受注"} and machine.tabs == {"同期ログ"}
    assert {e.tab for e in machine.expectations} == {"_システム"}
    again = decode_job(encode_job(machine))
    assert (again.updates, again.expectations, again.headers, again.deletes) == (
        machine.updates,
        machine.expectations,
        machine.headers,
        machine.deletes,
    )
    assert {t: (a.start_row, a.rows) for t, a in again.appends.items()} == {
        t: (a.start_row, a.rows) for t, a in machine.appends.items()
    }
