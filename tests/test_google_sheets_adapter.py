"""What only the Google adapter has to prove: its request budget, bounded retries and errors."""

from __future__ import annotations

import pytest
from gspread.utils import rowcol_to_a1

from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import TabAppend, WriteJob
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.tabs import ORDERS, STOCK, TABS
from tests.conftest import GoogleHarness
from tests.fakes.sheets_api import FakeSheetsServer
from vocabulary.retry import RetryPolicy


@pytest.fixture
def google(fake_sheets: FakeSheetsServer) -> GoogleHarness:
    made = GoogleHarness(fake_sheets)
    ensure_tabs(made.workbook)
    made.staff_put(STOCK.title, [list(STOCK.headers)] + [[f"SKU-{i}", 10, 0, 1, 9] for i in range(400)])
    fake_sheets.reset_counts()
    return made


def test_reading_every_tab_costs_one_request_plus_metadata_fetched_once(google: GoogleHarness) -> None:
    workbook = google.fresh_workbook()
    tables = read_tables(workbook)
    assert len(tables[STOCK.title].records) == 400
    assert (google.server.count("metadata"), google.server.count("values.batchGet")) == (1, 1)
    assert google.server.count() == 2
    read_tables(workbook)
    read_tables(workbook, [STOCK])
    assert (google.server.count("metadata"), google.server.count("values.batchGet")) == (1, 3)
    batch = next(r for r in google.server.requests if r.kind == "values.batchGet")
    assert len(batch.query["ranges"]) == len(TABS)
    assert batch.query["valueRenderOption"] == ["UNFORMATTED_VALUE"]


def test_writing_any_number_of_cells_costs_one_check_and_one_write(google: GoogleHarness) -> None:
    tables = read_tables(google.workbook)
    job = WriteJob()
    for record in tables[STOCK.title].records:
        job.set(
            tables[STOCK.title], record.row, {"引当数": 1, "販売可能数": 8, "更新日時": "2026-11-30 10:00:00"}
        )
    job.set(tables[STOCK.title], 2, {"安全在庫": 3})  # not adjacent to the others: its own range
    assert job.cell_count() == 1201
    google.server.reset_counts()
    google.workbook.write(job)
    # One batchGet proves the rows still hold what the job read, one batchUpdate writes.
    assert google.server.count() == 2
    check, request = google.server.requests
    assert check.kind == "values.batchGet"
    assert request.kind == "values.batchUpdate" and request.body["valueInputOption"] == "RAW"
    assert read_tables(google.fresh_workbook())[STOCK.title].records[0].value.safety_stock == 3


def test_a_job_with_updates_and_appends_in_several_tabs_is_one_check_and_one_write(
    google: GoogleHarness,
) -> None:
    tables = read_tables(google.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [_order(str(n)) for n in range(300)])
    job.append(tables[STOCK.title], [{"SKU": "NEW", "実在庫": 1}])
    job.set(tables[STOCK.title], 2, {"引当数": 2})
    google.server.reset_counts()
    google.workbook.write(job)
    assert [r.kind for r in google.server.requests] == ["values.batchGet", "values.batchUpdate"]
    check, write = google.server.requests
    # The check reads exactly the rows the appends will take, over the header's width, and
    # the key of the row the job updates (SKU, column A of row 2).
    last = rowcol_to_a1(301, len(ORDERS.headers))
    assert check.query["ranges"] == [
        f"'受注'!A2:{last}",
        f"'在庫'!A402:{rowcol_to_a1(402, len(STOCK.headers))}",
        "'在庫'!A2:A2",
    ]
    assert write.body["valueInputOption"] == "RAW"
    tables = read_tables(google.fresh_workbook())
    assert [r.row for r in tables[STOCK.title].records][-1] == 402
    assert tables[STOCK.title].records[-1].value.sku == "NEW"
    assert len(tables[ORDERS.title].records) == 300


def test_a_tab_outgrowing_its_grid_is_grown_once_first(google: GoogleHarness) -> None:
    tables = read_tables(google.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [_order(str(n)) for n in range(1500)])
    google.server.reset_counts()
    google.workbook.write(job)
    assert [r.kind for r in google.server.requests] == [
        "values.batchGet",
        "batchUpdate",
        "values.batchUpdate",
    ]
    assert len(read_tables(google.fresh_workbook())[ORDERS.title].records) == 1500


def test_a_stale_append_costs_one_read_and_writes_nothing(google: GoogleHarness) -> None:
    stale = read_tables(google.workbook)
    google.staff_put(ORDERS.title, [list(ORDERS.headers), ["Amazon", "手入力"]])
    job = WriteJob()
    job.append(stale[ORDERS.title], [_order("X")])
    job.append(stale[STOCK.title], [{"SKU": "NEW", "実在庫": 1}])
    google.server.reset_counts()
    with pytest.raises(StaleWorkbookError, match="「受注」シート 2行目"):
        google.workbook.write(job)
    assert [r.kind for r in google.server.requests] == ["values.batchGet"]
    assert len(read_tables(google.fresh_workbook())[STOCK.title].records) == 400


def test_new_tabs_are_exactly_as_wide_as_their_header(google: GoogleHarness) -> None:
    for spec in TABS:
        if spec.title != STOCK.title:  # the fixture typed into 在庫 as staff would
            assert google.server.grid_size(google.key, spec.title) == (1000, len(spec.headers))


def test_a_write_wider_than_the_grid_grows_its_columns_in_the_grow_request(google: GoogleHarness) -> None:
    width = len(ORDERS.headers)
    header = [*ORDERS.headers, "担当", "メモ"]
    job = WriteJob(headers={ORDERS.title: header})
    job.appends[ORDERS.title] = TabAppend(
        ORDERS.title, 2, [["Amazon", "W-1", *[""] * (width - 2), "佐藤", "至急"]]
    )
    google.server.reset_counts()
    google.workbook.write(job)
    kinds = [r.kind for r in google.server.requests]
    assert kinds == ["metadata", "values.batchGet", "batchUpdate", "values.batchUpdate"]
    grow = google.server.requests[2].body["requests"]
    assert [r["appendDimension"]["dimension"] for r in grow] == ["COLUMNS"]
    assert google.server.grid_size(google.key, ORDERS.title) == (1000, width + 2)
    assert google.stored(ORDERS.title)[1][-2:] == ["佐藤", "至急"]


def test_a_column_staff_inserted_since_the_metadata_was_cached_is_not_added_twice(
    google: GoogleHarness,
) -> None:
    workbook = google.fresh_workbook()
    workbook.tab_titles()  # metadata cached while 受注 is as wide as its header
    header = [*ORDERS.headers, "担当"]
    google.staff_put(ORDERS.title, [header])  # typing into a new column widens the grid
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [_order("S-1")])
    workbook.write(job)
    assert google.server.grid_size(google.key, ORDERS.title) == (1000, len(header))
    assert read_tables(google.fresh_workbook())[ORDERS.title].records[0].value.order_number == "S-1"


def test_cells_used_is_every_grid_counted_whole_from_fresh_metadata(google: GoogleHarness) -> None:
    workbook = google.fresh_workbook()
    expected = 1000 * 26 + sum(1000 * len(spec.headers) for spec in TABS)  # シート1 is 26 wide
    assert workbook.cells_used() == expected
    google.staff_put("シート1", [["メモ"]] + [[""]] * 1499)  # staff grow a tab to 1,500 rows
    google.server.reset_counts()
    assert workbook.cells_used() == expected + 500 * 26
    assert [r.kind for r in google.server.requests] == ["metadata"]


def test_429_and_5xx_are_retried_with_growing_jittered_waits(google: GoogleHarness) -> None:
    google.server.inject(429, 503, 500, kinds={"values.batchGet"})
    workbook = google.fresh_workbook(policy=RetryPolicy(max_retries=5, base_seconds=0.01, max_seconds=1.0))
    tables = read_tables(workbook)
    assert len(tables[STOCK.title].records) == 400
    assert google.server.count("values.batchGet") == 4
    assert len(google.sleeps) == 3
    assert all(0 <= wait <= 0.01 * 2**i for i, wait in enumerate(google.sleeps))


def test_a_persistent_429_gives_up_after_the_bound_with_a_japanese_message(google: GoogleHarness) -> None:
    workbook = google.fresh_workbook(policy=RetryPolicy(max_retries=3, base_seconds=0.0))
    workbook.tab_titles()
    google.server.reset_counts()
    google.server.inject_always(429, kinds={"values.batchGet"})
    with pytest.raises(WorkbookUnavailable, match="利用上限"):
        read_tables(workbook)
    assert google.server.count("values.batchGet") == 4


def test_a_5xx_during_a_write_is_retried_and_the_rows_land_once(google: GoogleHarness) -> None:
    tables = read_tables(google.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [_order("A-1")])
    google.server.inject(500, 503, kinds={"values.batchUpdate"})
    google.workbook.write(job)
    assert google.server.count("values.batchUpdate") == 3
    orders = read_tables(google.workbook)[ORDERS.title]
    assert [r.value.order_number for r in orders.records] == ["A-1"]


def test_a_write_that_keeps_failing_changes_nothing_and_says_so(google: GoogleHarness) -> None:
    tables = read_tables(google.workbook)
    job = WriteJob()
    job.append(tables[ORDERS.title], [_order("A-1")])
    job.set(tables[STOCK.title], 2, {"引当数": 9})
    google.server.inject_always(503, kinds={"values.batchUpdate"})
    with pytest.raises(WorkbookUnavailable, match="一時的に応答しません"):
        google.workbook.write(job)
    google.server.clear_faults()
    after = read_tables(google.workbook)
    assert after[ORDERS.title].records == [] and after[STOCK.title].records[0].value.allocated == 0


def test_a_read_timeout_is_retried(google: GoogleHarness) -> None:
    google.server.timeout_delay = 1.0
    workbook = google.fresh_workbook(timeout_seconds=0.3)
    workbook.tab_titles()
    google.server.inject("timeout", kinds={"values.batchGet"})
    assert len(read_tables(workbook)[STOCK.title].records) == 400
    assert google.server.count("values.batchGet") == 2


def test_a_malformed_answer_is_an_error_not_a_crash(google: GoogleHarness) -> None:
    workbook = google.fresh_workbook()
    workbook.tab_titles()
    google.server.inject("malformed", kinds={"values.batchGet"})
    with pytest.raises(WorkbookUnavailable, match="想定外の応答"):
        read_tables(workbook)


def test_sharing_and_key_problems_are_explained(google: GoogleHarness) -> None:
    google.server.inject(403, kinds={"metadata"})
    with pytest.raises(WorkbookUnavailable, match=r"ichigen-test@.*共有されていません"):
        google.fresh_workbook().tab_titles()
    missing = GoogleHarness(google.server)
    missing.key = "no-such-spreadsheet"
    with pytest.raises(WorkbookUnavailable, match="spreadsheet_key"):
        missing.fresh_workbook().tab_titles()


def test_tokens_come_from_the_configured_token_uri(google: GoogleHarness) -> None:
    google.server.reset_counts()
    google.fresh_workbook().tab_titles()
    assert google.server.count("token") == 1


def test_sidebar_info_names_the_spreadsheet(google: GoogleHarness) -> None:
    info = google.fresh_workbook().info
    assert (info.backend, info.title) == ("google", "Ichigen テスト")
    assert info.url and google.key in info.url


def _order(number: str) -> dict[str, object]:
    return {
        "モール": "Amazon",
        "注文番号": number,
        "注文日時": "2026-11-30 10:00:00",
        "ステータス": "新規",
        "合計金額": 100,
    }


def _sheets(google: GoogleHarness) -> list[dict]:
    """The spreadsheet's metadata as the API returns it (protected ranges included)."""
    return google.workbook._client.http_client.fetch_sheet_metadata(google.key)["sheets"]


def _protections(google: GoogleHarness) -> dict[str, list[dict]]:
    return {s["properties"]["title"]: s.get("protectedRanges", []) for s in _sheets(google)}


def test_what_ichigen_writes_is_protected_with_a_warning_once(google: GoogleHarness) -> None:
    # The tabs Ichigen made (the fixture's ensure_tabs) came with their protections.
    assert google.workbook.protect_machine_cells(TABS) == 0

    found = _protections(google)
    stock_ids = {
        s["properties"]["title"]: s["properties"]["sheetId"]
        for s in google.workbook._client.http_client.fetch_sheet_metadata(google.key)["sheets"]
    }
    assert all(p["warningOnly"] for ranges in found.values() for p in ranges)
    columns = {(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"]) for p in found[STOCK.title]}
    assert columns == {(STOCK.headers.index(h), STOCK.headers.index(h) + 1) for h in STOCK.system_columns}
    assert found["商品"] == []  # staff own every column of 商品
    for whole in ("在庫移動", "同期ログ", "_システム"):
        assert [p["range"] for p in found[whole]] == [{"sheetId": stock_ids[whole]}]

    # Staff insert a column before 引当数: the protection stays on 引当数, and none is added.
    sheet_id = stock_ids[STOCK.title]
    at = STOCK.headers.index("引当数")
    span = {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": at, "endIndex": at + 1}
    google.workbook._client.http_client.batch_update(
        google.key, {"requests": [{"insertDimension": {"range": span}}]}
    )
    assert google.workbook.protect_machine_cells(TABS) == 0
    moved = {p["description"]: p["range"]["startColumnIndex"] for p in _protections(google)[STOCK.title]}
    assert moved["Ichigen: 「在庫」の「引当数」列は Ichigen が書き込みます"] == at + 1

    # Ichigen's own writes go through a warning-only protection.
    tables = read_tables(google.fresh_workbook())
    job = WriteJob()
    job.set(tables[STOCK.title], 2, {"引当数": 3})
    google.fresh_workbook().write(job)
    assert read_tables(google.fresh_workbook())[STOCK.title].models()[0].allocated == 3


def test_a_spreadsheet_made_before_gets_its_protections_from_check_fix(fake_sheets: FakeSheetsServer) -> None:
    older = GoogleHarness(fake_sheets)
    older.key = fake_sheets.create_spreadsheet(
        "以前からの台帳",
        {spec.title: [list(spec.headers)] for spec in TABS},
        hidden={s.title for s in TABS if s.hidden},
    )
    older.workbook = older.fresh_workbook()
    assert all(ranges == [] for ranges in _protections(older).values())

    added = older.workbook.protect_machine_cells(TABS)

    found = _protections(older)
    assert added == sum(len(ranges) for ranges in found.values()) > 0
    columns = {p["range"]["startColumnIndex"] for p in found[STOCK.title]}
    assert columns == {STOCK.headers.index(h) for h in STOCK.system_columns}
    assert older.workbook.protect_machine_cells(TABS) == 0


def test_reads_in_several_threads_each_get_their_own_tabs(google: GoogleHarness) -> None:
    """The app reads from page threads while its autosync thread reads too: each read must get
    the ranges it asked for (gspread writes ``ranges`` into the params dict it is given, so a
    dict shared between reads once sent one thread's read with another's ranges)."""
    import threading

    google.staff_put(ORDERS.title, [list(ORDERS.headers)])
    wrong: list[str] = []
    start = threading.Barrier(3)

    def reader(title: str, other: str) -> None:
        workbook = google.fresh_workbook()
        start.wait()
        for _ in range(40):
            grids = workbook.read([title])
            if set(grids) != {title} or grids[title].header[: len(other)] == other:
                wrong.append(title)
            elif title == STOCK.title and len(grids[title].rows) != 400:
                wrong.append(f"{title}: {len(grids[title].rows)} rows")

    threads = [
        threading.Thread(target=reader, args=(STOCK.title, list(ORDERS.headers))),
        threading.Thread(target=reader, args=(ORDERS.title, list(STOCK.headers))),
        threading.Thread(target=reader, args=(STOCK.title, list(ORDERS.headers))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert wrong == []
