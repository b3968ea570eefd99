"""Tests for the fake Sheets API itself, driven through real gspread and plain HTTP."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.utils import InsertDataOption, ValueInputOption, ValueRenderOption

from tests.fakes.sheets_api import (
    Cell,
    FakeSheetsServer,
    make_service_account_info,
)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
GOOGLE_SHEETS = "https://sheets.googleapis.com"
ORDERS = "注文"
ORDER_ROWS: list[list[Any]] = [["id", "qty", "ok"], ["A-1", 3, True], ["A-2", 5, False]]


class FakeRoutedSession(AuthorizedSession):
    """Sends gspread's hard-coded Google URLs to the fake instead."""

    def __init__(self, credentials: service_account.Credentials, base_url: str) -> None:
        super().__init__(credentials)
        self._base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if url.startswith(GOOGLE_SHEETS):
            url = self._base_url + url[len(GOOGLE_SHEETS) :]
        return super().request(method, url, *args, **kwargs)


@functools.cache
def _signer() -> crypt.RSASigner:
    # Parsing the private key PEM costs ~40 ms; do it once, not once per test.
    return crypt.RSASigner.from_service_account_info(make_service_account_info("unused"))


def _credentials(server: FakeSheetsServer, scopes: list[str] = SCOPES) -> service_account.Credentials:
    info = make_service_account_info(server.token_uri)
    return service_account.Credentials(_signer(), info["client_email"], server.token_uri, scopes=scopes)


def _token(server: FakeSheetsServer) -> str:
    credentials = _credentials(server)
    credentials.refresh(Request())
    return credentials.token


def _auth(server: FakeSheetsServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(server)}"}


@pytest.fixture
def server() -> Iterator[FakeSheetsServer]:
    with FakeSheetsServer() as fake:
        yield fake


@pytest.fixture
def client(server: FakeSheetsServer) -> gspread.Client:
    return gspread.Client(auth=None, session=FakeRoutedSession(_credentials(server), server.base_url))


@pytest.fixture
def book(server: FakeSheetsServer) -> str:
    return server.create_spreadsheet(
        "イチゲン台帳",
        {ORDERS: ORDER_ROWS, "It's": [["quote"]], "archive": [["old"]]},
        hidden={"archive"},
    )


@pytest.fixture
def orders(client: gspread.Client, book: str) -> gspread.Worksheet:
    return client.open_by_key(book).worksheet(ORDERS)


# ---------------------------------------------------------------- metadata


def test_open_by_key_exposes_tabs_in_order_with_hidden_flags(client: gspread.Client, book: str) -> None:
    spreadsheet = client.open_by_key(book)

    tabs = spreadsheet.worksheets()
    assert spreadsheet.title == "イチゲン台帳"
    assert (spreadsheet.locale, spreadsheet.timezone) == ("ja_JP", "Asia/Tokyo")
    assert [(ws.title, ws.index, ws.isSheetHidden) for ws in tabs] == [
        (ORDERS, 0, False),
        ("It's", 1, False),
        ("archive", 2, True),
    ]
    assert (tabs[0].id, tabs[0].row_count, tabs[0].col_count) == (0, 1000, 26)


def test_metadata_has_documented_shape(server: FakeSheetsServer, book: str) -> None:
    response = requests.get(f"{server.base_url}/v4/spreadsheets/{book}", headers=_auth(server), timeout=5)

    body = response.json()
    assert body["spreadsheetId"] == book
    assert body["spreadsheetUrl"].endswith(f"/d/{book}/edit")
    first = body["sheets"][0]["properties"]
    assert first["sheetType"] == "GRID"
    assert "hidden" not in first  # proto3 JSON omits false
    assert body["sheets"][2]["properties"]["hidden"] is True


def test_unknown_spreadsheet_is_not_found(client: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key("does-not-exist")


# ------------------------------------------------------------------- reads


def test_values_batch_get_returns_each_range(client: gspread.Client, book: str) -> None:
    spreadsheet = client.open_by_key(book)

    result = spreadsheet.values_batch_get([f"'{ORDERS}'!A1:C2", f"{ORDERS}!B:B", "'It''s'"])

    ranges = result["valueRanges"]
    assert [r["range"] for r in ranges] == [f"'{ORDERS}'!A1:C2", f"'{ORDERS}'!B1:B1000", "'It''s'!A1:Z1000"]
    assert ranges[0]["values"] == [["id", "qty", "ok"], ["A-1", "3", "TRUE"]]
    assert ranges[1]["values"] == [["qty"], ["3"], ["5"]]
    assert ranges[2]["values"] == [["quote"]]


def test_unformatted_values_keep_json_types(client: gspread.Client, book: str) -> None:
    spreadsheet = client.open_by_key(book)

    result = spreadsheet.values_get(f"'{ORDERS}'!A2:C3", params={"valueRenderOption": "UNFORMATTED_VALUE"})

    assert result["values"] == [["A-1", 3, True], ["A-2", 5, False]]


def test_empty_range_omits_values_and_columns_dimension_transposes(client: gspread.Client, book: str) -> None:
    spreadsheet = client.open_by_key(book)

    empty = spreadsheet.values_get(f"'{ORDERS}'!E5:F6")
    columns = spreadsheet.values_get(f"'{ORDERS}'!A1:B2", params={"majorDimension": "COLUMNS"})

    assert empty == {"range": f"'{ORDERS}'!E5:F6", "majorDimension": "ROWS"}
    assert columns["values"] == [["id", "A-1"], ["qty", "3"]]


@pytest.mark.parametrize(
    ("requested", "expected_range", "expected_values"),
    [
        (f"'{ORDERS}'!A1:B2", f"'{ORDERS}'!A1:B2", [["id", "qty"], ["A-1", "3"]]),
        (f"{ORDERS}!A1:B2", f"'{ORDERS}'!A1:B2", [["id", "qty"], ["A-1", "3"]]),
        (
            f"'{ORDERS}'",
            f"'{ORDERS}'!A1:Z1000",
            [["id", "qty", "ok"], ["A-1", "3", "TRUE"], ["A-2", "5", "FALSE"]],
        ),
        (f"'{ORDERS}'!A:A", f"'{ORDERS}'!A1:A1000", [["id"], ["A-1"], ["A-2"]]),
        (f"'{ORDERS}'!2:3", f"'{ORDERS}'!A2:Z3", [["A-1", "3", "TRUE"], ["A-2", "5", "FALSE"]]),
        (f"'{ORDERS}'!B3:A2", f"'{ORDERS}'!A2:B3", [["A-1", "3"], ["A-2", "5"]]),
        ("'It''s'!A1", "'It''s'!A1", [["quote"]]),
        ("C3", f"'{ORDERS}'!C3", [["FALSE"]]),  # no sheet name: first visible sheet
    ],
)
def test_range_parsing(
    client: gspread.Client,
    book: str,
    requested: str,
    expected_range: str,
    expected_values: list[list[str]],
) -> None:
    result = client.open_by_key(book).values_get(requested)

    assert result["range"] == expected_range
    assert result["values"] == expected_values


@pytest.mark.parametrize("bad_range", ["'無い'!A1", f"'{ORDERS}'!1A", f"'{ORDERS}'!A:5", "'unterminated!A1"])
def test_unparsable_range_is_invalid_argument(client: gspread.Client, book: str, bad_range: str) -> None:
    spreadsheet = client.open_by_key(book)

    with pytest.raises(APIError) as caught:
        spreadsheet.values_get(bad_range)

    assert caught.value.code == 400
    assert caught.value.error["status"] == "INVALID_ARGUMENT"
    assert caught.value.error["message"] == f"Unable to parse range: {bad_range}"


def test_unquoted_range_in_raw_path_is_accepted(server: FakeSheetsServer, book: str) -> None:
    # requests leaves "!" and ":" unescaped, so the ":" inside A1:B1 must not look like ":append".
    url = f"{server.base_url}/v4/spreadsheets/{book}/values/{ORDERS}!A1:B1"

    response = requests.get(url, headers=_auth(server), timeout=5)

    assert response.json()["values"] == [["id", "qty"]]


def test_reading_beyond_the_grid_is_rejected(client: gspread.Client, book: str) -> None:
    with pytest.raises(APIError, match="exceeds grid limits"):
        client.open_by_key(book).values_get(f"'{ORDERS}'!A1:AA2")


# ------------------------------------------------------------------ writes


def test_raw_batch_update_keeps_formula_and_leading_zeros_as_text(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    formula_text = '=IMPORTXML("http://x","//a")'

    response = orders.batch_update([{"range": "A5:B5", "values": [[formula_text, "00123"]]}])

    assert response["totalUpdatedCells"] == 2
    assert response["responses"][0]["updatedRange"] == f"'{ORDERS}'!A5:B5"
    assert server.cell(book, ORDERS, 5, 1) == Cell(formula_text, False)
    assert server.cell(book, ORDERS, 5, 2) == Cell("00123", False)
    read_back = orders.get("A5:B5", value_render_option=ValueRenderOption.unformatted)
    assert read_back == [[formula_text, "00123"]]


def test_user_entered_parses_numbers_booleans_and_formulas(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    orders.update([["00123", "=1+1", "true", "'007"]], "A6", value_input_option=ValueInputOption.user_entered)

    assert [server.cell(book, ORDERS, 6, col) for col in range(1, 5)] == [
        Cell(123, False),
        Cell("=1+1", True),
        Cell(True, False),
        Cell("007", False),
    ]
    assert orders.get("A6:D6", value_render_option=ValueRenderOption.formula) == [[123, "=1+1", True, "007"]]
    # Formulas are not evaluated: non-FORMULA renderings show an error value.
    assert orders.get("A6:D6") == [["123", "#NAME?", "TRUE", "007"]]


def test_null_leaves_a_cell_unchanged_and_empty_string_clears_it(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    response = orders.update([[None, "", "new"]], "A2")

    assert response["updatedCells"] == 2
    assert server.cell(book, ORDERS, 2, 1) == Cell("A-1", False)
    assert server.cell(book, ORDERS, 2, 2) == Cell(None, False)
    assert server.cell(book, ORDERS, 2, 3) == Cell("new", False)


def test_update_outside_the_grid_is_rejected(orders: gspread.Worksheet) -> None:
    with pytest.raises(APIError) as caught:
        orders.update([["x"]], "A1001")

    assert caught.value.code == 400
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in caught.value.error["message"]


def test_update_larger_than_its_range_is_rejected(orders: gspread.Worksheet) -> None:
    with pytest.raises(APIError, match=r"tried writing to column \[C\]"):
        orders.update([[1, 2, 3]], "A1:B1")


def test_values_batch_update_is_all_or_nothing(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    with pytest.raises(APIError, match="exceeds grid limits"):
        orders.batch_update(
            [{"range": "A1", "values": [["changed"]]}, {"range": "AA1", "values": [["x"]]}],
        )

    assert server.cell(book, ORDERS, 1, 1) == Cell("id", False)


def test_value_input_option_is_required(server: FakeSheetsServer, book: str) -> None:
    url = f"{server.base_url}/v4/spreadsheets/{book}/values/A1"

    response = requests.put(url, json={"values": [["x"]]}, headers=_auth(server), timeout=5)

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert server.cell(book, ORDERS, 1, 1) == Cell("id", False)


def test_values_append_writes_after_the_table(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    response = orders.append_rows([["A-3", 7, False]])

    assert response["tableRange"] == f"'{ORDERS}'!A1:C3"
    assert response["updates"]["updatedRange"] == f"'{ORDERS}'!A4:C4"
    assert server.values(book, ORDERS)[-1] == ["A-3", 7, False]


def test_append_with_insert_rows_shifts_rows_below_the_table(
    server: FakeSheetsServer, book: str, orders: gspread.Worksheet
) -> None:
    server.type_values(book, ORDERS, [["note"]], start_row=6)

    orders.append_rows([["A-3"]], insert_data_option=InsertDataOption.insert_rows, table_range="A1")

    values = server.values(book, ORDERS)
    assert values[3] == ["A-3"]
    assert values[6] == ["note"]  # was row 6, pushed down by the inserted row


def test_append_grows_the_grid(client: gspread.Client, book: str) -> None:
    spreadsheet = client.open_by_key(book)
    small = spreadsheet.add_worksheet("小", rows=2, cols=1)

    small.append_rows([[1, 2], [3, 4], [5, 6]])

    refreshed = spreadsheet.worksheet("小")
    assert (refreshed.row_count, refreshed.col_count) == (3, 2)
    assert refreshed.get_all_values() == [["1", "2"], ["3", "4"], ["5", "6"]]


def test_values_clear_empties_the_range(client: gspread.Client, server: FakeSheetsServer, book: str) -> None:
    response = client.open_by_key(book).values_clear(f"'{ORDERS}'!A2:C2")

    assert response["clearedRange"] == f"'{ORDERS}'!A2:C2"
    assert server.values(book, ORDERS) == [ORDER_ROWS[0], [], ORDER_ROWS[2]]


# ------------------------------------------------------------ sheet changes


def test_add_worksheet_and_reject_duplicate_titles(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    spreadsheet = client.open_by_key(book)

    added = spreadsheet.add_worksheet("新規", rows=10, cols=5)

    assert server.sheet_titles(book)[-1] == "新規"
    assert (added.index, added.row_count, added.col_count) == (3, 10, 5)
    with pytest.raises(APIError, match="already exists") as caught:
        spreadsheet.add_worksheet("新規", rows=1, cols=1)
    assert caught.value.code == 400


def test_spreadsheet_batch_update_is_atomic(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    spreadsheet = client.open_by_key(book)
    body = {"requests": [{"addSheet": {"properties": {"title": "X"}}}, {"deleteSheet": {"sheetId": 987}}]}

    with pytest.raises(APIError, match="No grid with id: 987"):
        spreadsheet.batch_update(body)

    assert "X" not in server.sheet_titles(book)


def test_update_cells_takes_values_as_typed_and_lands_with_row_deletions_or_not_at_all(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    """updateCells and deleteDimension in one batchUpdate (how the adapter archives rows):
    positions are those before the deletion; a failing request discards the cell writes."""
    spreadsheet = client.open_by_key(book)

    def cells(row_index: int, values: list[dict]) -> dict:
        start = {"sheetId": 0, "rowIndex": row_index, "columnIndex": 0}
        return {"updateCells": {"rows": [{"values": values}], "fields": "userEnteredValue", "start": start}}

    typed = [{"userEnteredValue": {"stringValue": "=1+1"}}, {"userEnteredValue": {"numberValue": 7}}, {}]
    delete_row_2 = {
        "deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}
    }
    bad_delete = {
        "deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 5, "endIndex": 1}}
    }
    before = spreadsheet.worksheet(ORDERS).get_all_values()

    with pytest.raises(APIError, match="Invalid dimension range"):
        spreadsheet.batch_update({"requests": [cells(2, typed), bad_delete]})
    assert spreadsheet.worksheet(ORDERS).get_all_values() == before

    spreadsheet.batch_update({"requests": [cells(2, typed), delete_row_2]})

    # Row 3 was written, then moved up to row 2 by the deletion.
    assert server.cell(book, ORDERS, 2, 1) == Cell("=1+1", False)
    assert server.cell(book, ORDERS, 2, 2) == Cell(7, False)
    assert server.cell(book, ORDERS, 2, 3) == Cell(None, False)  # the {} cleared it
    assert len(spreadsheet.worksheet(ORDERS).get_all_values()) == len(before) - 1


def test_update_sheet_properties_and_delete_sheet(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    spreadsheet = client.open_by_key(book)
    quote_id = spreadsheet.worksheet("It's").id
    archive_id = spreadsheet.worksheet("archive").id
    rename = {"properties": {"sheetId": quote_id, "title": "引用"}, "fields": "title"}
    unhide = {"properties": {"sheetId": archive_id}, "fields": "hidden"}  # absent field = reset

    response = spreadsheet.batch_update(
        {
            "requests": [
                {"updateSheetProperties": rename},
                {"updateSheetProperties": unhide},
                {"deleteSheet": {"sheetId": 0}},
            ]
        }
    )

    assert response["replies"] == [{}, {}, {}]
    assert server.sheet_titles(book) == ["引用", "archive"]
    assert not server.is_hidden(book, "archive")


def test_the_last_visible_sheet_cannot_be_hidden(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    spreadsheet = client.open_by_key(book)
    hide = {"properties": {"sheetId": 0, "hidden": True}, "fields": "hidden"}
    quote_id = spreadsheet.worksheet("It's").id

    with pytest.raises(APIError, match="hide all sheets"):
        spreadsheet.batch_update(
            {"requests": [{"deleteSheet": {"sheetId": quote_id}}, {"updateSheetProperties": hide}]}
        )

    assert server.sheet_titles(book) == [ORDERS, "It's", "archive"]


# ---------------------------------------------------------- counts, faults


def test_requests_are_counted_per_kind(client: gspread.Client, server: FakeSheetsServer, book: str) -> None:
    spreadsheet = client.open_by_key(book)
    worksheet = spreadsheet.worksheet(ORDERS)
    worksheet.get("A1")
    spreadsheet.values_batch_get(["A1", "B1"])
    worksheet.update([["x"]], "D1")

    assert server.count("token") == 1
    assert server.count("metadata") == 2
    assert (server.count("values.get"), server.count("values.batchGet")) == (1, 1)
    assert server.count("values.update") == 1
    assert server.count() == 5
    update = next(r for r in server.requests if r.kind == "values.update")
    assert (update.method, update.query["valueInputOption"], update.body["values"]) == (
        "PUT",
        ["RAW"],
        [["x"]],
    )
    assert update.path.endswith(f"/values/'{ORDERS}'!D1")

    server.reset_counts()
    assert server.count() == 0


def test_injected_429_surfaces_as_api_error(
    client: gspread.Client, server: FakeSheetsServer, book: str
) -> None:
    spreadsheet = client.open_by_key(book)
    server.inject(429, kinds={"values.get"})
    spreadsheet.fetch_sheet_metadata()  # other kinds are not affected

    with pytest.raises(APIError) as caught:
        spreadsheet.values_get("A1")

    assert caught.value.code == 429
    assert caught.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert spreadsheet.values_get("A1")["values"] == [["id"]]  # the fault was consumed


@pytest.mark.parametrize(
    ("code", "status"),
    [(500, "INTERNAL"), (503, "UNAVAILABLE"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND")],
)
def test_fault_status_names(server: FakeSheetsServer, book: str, code: int, status: str) -> None:
    url = f"{server.base_url}/v4/spreadsheets/{book}"
    headers = _auth(server)  # token requests are never faulted unless asked for
    server.inject(code)

    faulted = requests.get(url, headers=headers, timeout=5)
    healthy = requests.get(url, headers=headers, timeout=5)

    assert (faulted.status_code, faulted.json()["error"]["status"]) == (code, status)
    assert healthy.status_code == 200


def test_persistent_faults_last_until_cleared(server: FakeSheetsServer, book: str) -> None:
    url = f"{server.base_url}/v4/spreadsheets/{book}"
    headers = _auth(server)
    server.inject_always(503, kinds={"metadata"})

    statuses = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(2)]
    server.clear_faults()

    assert statuses == [503, 503]
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_malformed_fault_returns_a_non_json_200(server: FakeSheetsServer, book: str) -> None:
    server.inject("malformed")

    response = requests.get(f"{server.base_url}/v4/spreadsheets/{book}", headers=_auth(server), timeout=5)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_timeout_fault_delays_then_answers_normally(server: FakeSheetsServer, book: str) -> None:
    url = f"{server.base_url}/v4/spreadsheets/{book}"
    headers = _auth(server)
    server.timeout_delay = 0.3
    server.inject("timeout", "timeout")

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, headers=headers, timeout=0.05)
    started = time.monotonic()
    patient = requests.get(url, headers=headers, timeout=5)

    assert patient.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_unknown_fault_is_refused(server: FakeSheetsServer) -> None:
    with pytest.raises(ValueError):
        server.inject("explode")


# ------------------------------------------------------------------- auth


def test_requests_without_a_valid_token_are_unauthenticated(server: FakeSheetsServer, book: str) -> None:
    url = f"{server.base_url}/v4/spreadsheets/{book}"

    missing = requests.get(url, timeout=5)
    bogus = requests.get(url, headers={"Authorization": "Bearer ya29.nope"}, timeout=5)

    for response in (missing, bogus):
        assert response.status_code == 401
        assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert server.count("metadata") == 2


def _assertion(server: FakeSheetsServer, **overrides: Any) -> str:
    info = make_service_account_info(server.token_uri)
    now = int(time.time())
    claims = {
        "iss": info["client_email"],
        "aud": server.token_uri,
        "scope": SCOPES[0],
        "iat": now,
        "exp": now + 3600,
        **overrides,
    }
    return google_jwt.encode(_signer(), claims).decode()


def test_token_endpoint_accepts_a_signed_assertion_for_its_own_uri(server: FakeSheetsServer) -> None:
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _assertion(server)}

    response = requests.post(server.token_uri, data=form, timeout=5)

    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert response.json()["access_token"].startswith("ya29.")


def test_token_endpoint_rejects_bad_grants(server: FakeSheetsServer) -> None:
    header, _, signature = _assertion(server).split(".")
    _, payload, _ = _assertion(server, iss="intruder@example.com").split(".")
    forged = f"{header}.{payload}.{signature}"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    wrong_grant = requests.post(server.token_uri, data={"grant_type": "password"}, timeout=5)
    bad_signature = requests.post(
        server.token_uri, data={"grant_type": grant, "assertion": forged}, timeout=5
    )
    wrong_audience = requests.post(
        server.token_uri,
        data={"grant_type": grant, "assertion": _assertion(server, aud="https://elsewhere/token")},
        timeout=5,
    )

    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    assert bad_signature.json()["error"] == "invalid_grant"
    assert wrong_audience.json()["error"] == "invalid_grant"
    assert {r.status_code for r in (wrong_grant, bad_signature, wrong_audience)} == {400}


def test_credentials_without_the_sheets_scope_cannot_get_a_token(server: FakeSheetsServer) -> None:
    credentials = _credentials(server, scopes=["https://www.googleapis.com/auth/drive.readonly"])

    with pytest.raises(RefreshError, match="invalid_scope"):
        credentials.refresh(Request())


# ---------------------------------------------------------------- helpers


def test_type_values_uses_user_entered_semantics(server: FakeSheetsServer, book: str) -> None:
    server.type_values(book, ORDERS, [["=SUM(B2:B3)", "0042", None]], start_row=5)

    assert server.cell(book, ORDERS, 5, 1) == Cell("=SUM(B2:B3)", True)
    assert server.cell(book, ORDERS, 5, 2) == Cell(42, False)
    assert server.values(book, ORDERS)[3:] == [[], ["=SUM(B2:B3)", 42]]


def test_info_works_with_from_service_account_info(server: FakeSheetsServer) -> None:
    info = make_service_account_info(server.token_uri)
    credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)

    credentials.refresh(Request())

    assert credentials.token.startswith("ya29.")
    assert credentials.service_account_email == info["client_email"]


def test_service_account_info_is_cached_and_complete() -> None:
    first = make_service_account_info("http://127.0.0.1:1/token")
    second = make_service_account_info("http://127.0.0.1:2/token")

    assert first["private_key_id"] == second["private_key_id"]
    assert first["type"] == "service_account"
    assert first["private_key"].startswith("-----BEGIN ")
    assert second["token_uri"] == "http://127.0.0.1:2/token"
