"""A loopback fake of the Google Sheets API v4 and Google's OAuth2 token endpoint.

Written from the public REST reference
(https://developers.google.com/sheets/api/reference/rest) so that unmodified
gspread + google-auth service-account credentials can talk to it over real HTTP.
It backs contract tests and a benchmark that counts requests.

Deliberate simplifications (documented so tests don't rely on them by accident):

* Formulas are stored but never evaluated. FORMULA rendering returns the formula
  text; FORMATTED_VALUE and UNFORMATTED_VALUE return the error string "#NAME?".
* USER_ENTERED parsing covers formulas ("=..."), the leading-apostrophe text
  prefix, TRUE/FALSE and plain or comma-grouped numbers. Dates, times,
  percentages and currencies are kept as strings. Numbers are shown in a
  "General"-like format (integral values without ".0").
* Named ranges, R1C1 notation, data filters, cell formatting and
  ``includeGridData=true`` are not supported; ``fields`` masks on reads are ignored.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from google.auth import jwt as google_jwt

from tests.fakes.toolkit.faults import FaultInjection, Faults
from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.requests_log import Recorded, RequestLog
from tests.fakes.toolkit.server import LoopbackServer

SPREADSHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
# google-auth always puts Google's own endpoint in `aud`, whatever token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

DEFAULT_ROW_COUNT = 1000
DEFAULT_COLUMN_COUNT = 26
DEFAULT_SHEET_TITLE = "シート1"  # what Sheets names the first tab in a ja_JP spreadsheet
FORMULA_PLACEHOLDER = "#NAME?"

KINDS = frozenset(
    {
        "token",
        "metadata",
        "values.get",
        "values.batchGet",
        "values.update",
        "values.batchUpdate",
        "values.append",
        "values.clear",
        "values.batchClear",
        "batchUpdate",
    }
)
_READ_KINDS = frozenset({"metadata", "values.get", "values.batchGet"})

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_FAULT_MESSAGES = {
    401: "Request had invalid authentication credentials. Expected OAuth 2 access "
    "token, login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}
_MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access "
    "token, login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_MALFORMED_BODY = b"<!DOCTYPE html><html><body>502. That's an error.</body></html>"

_VALUE_RENDER_OPTIONS = frozenset({"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"})
_DATE_TIME_RENDER_OPTIONS = frozenset({"SERIAL_NUMBER", "FORMATTED_STRING"})
_VALUE_INPUT_OPTIONS = frozenset({"RAW", "USER_ENTERED"})
_DIMENSIONS = frozenset({"ROWS", "COLUMNS"})


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class _ServiceAccountKey:
    key_id: str
    email: str
    private_pem: str
    public_pem: str


_KEYS_LOCK = threading.Lock()
_KEYS_BY_EMAIL: dict[str, _ServiceAccountKey] = {}
# Token endpoints of every server in this process trust exactly these keys.
_KEYS_BY_ID: dict[str, _ServiceAccountKey] = {}


def _generate_rsa_pems() -> tuple[str, str]:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
    except ImportError:  # google-auth falls back to python-rsa the same way
        import rsa

        public, private = rsa.newkeys(2048)
        return private.save_pkcs1().decode(), public.save_pkcs1().decode()
    key = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    return private_pem, public_pem


def _key_for(email: str) -> _ServiceAccountKey:
    with _KEYS_LOCK:
        key = _KEYS_BY_EMAIL.get(email)
        if key is None:
            private_pem, public_pem = _generate_rsa_pems()
            key = _ServiceAccountKey(secrets.token_hex(20), email, private_pem, public_pem)
            _KEYS_BY_EMAIL[email] = key
            _KEYS_BY_ID[key.key_id] = key
        return key


def make_service_account_info(
    token_uri: str,
    email: str = "ichigen-test@ichigen-test.iam.gserviceaccount.com",
) -> dict:
    """Service-account JSON (as downloaded from Cloud Console) the fake will accept."""
    key = _key_for(email)
    project_id = email.partition("@")[2].split(".")[0] or "fake-project"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key.key_id,
        "private_key": key.private_pem,
        "client_email": email,
        "client_id": str(int(key.key_id[:16], 16)).rjust(21, "1"),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + quote(email),
        "universe_domain": "googleapis.com",
    }


# ------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Cell:
    value: Any
    is_formula: bool


# path is URL-decoded; kind is one of KINDS, or "unknown" for unroutable paths; body is the
# parsed JSON, the form fields for /token, or None.
RecordedRequest = Recorded


class _ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, message)


class _Sheet:
    """One tab: SheetProperties JSON plus sparse cells keyed by 0-based (row, col)."""

    def __init__(
        self,
        props: dict,
        cells: dict[tuple[int, int], Cell] | None = None,
        protected: list[dict] | None = None,
    ) -> None:
        self.props = props
        self.cells: dict[tuple[int, int], Cell] = cells if cells is not None else {}
        # ProtectedRange JSON as the API returns it under sheets[].protectedRanges.
        self.protected: list[dict] = protected if protected is not None else []

    def clone(self) -> _Sheet:
        # Cells are immutable, so a shallow dict copy is a full snapshot.
        return _Sheet(copy.deepcopy(self.props), dict(self.cells), copy.deepcopy(self.protected))

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def hidden(self) -> bool:
        return bool(self.props.get("hidden", False))

    @property
    def row_count(self) -> int:
        return self.props["gridProperties"]["rowCount"]

    @row_count.setter
    def row_count(self, value: int) -> None:
        self.props["gridProperties"]["rowCount"] = value

    @property
    def col_count(self) -> int:
        return self.props["gridProperties"]["columnCount"]

    @col_count.setter
    def col_count(self, value: int) -> None:
        self.props["gridProperties"]["columnCount"] = value

    def trim_to_grid(self) -> None:
        rows, cols = self.row_count, self.col_count
        self.cells = {k: v for k, v in self.cells.items() if k[0] < rows and k[1] < cols}

    def public_props(self) -> dict:
        props = copy.deepcopy(self.props)
        if not props.get("hidden"):
            props.pop("hidden", None)  # proto3 JSON omits default values
        return props


class _Spreadsheet:
    def __init__(self, spreadsheet_id: str, props: dict, sheets: list[_Sheet]) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.props = props
        self.sheets = sheets

    def clone(self) -> _Spreadsheet:
        sheets = [s.clone() for s in self.sheets]
        return _Spreadsheet(self.spreadsheet_id, copy.deepcopy(self.props), sheets)

    def by_title(self, title: str) -> _Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        folded = title.casefold()  # sheet names are case-insensitive in Sheets
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def by_id(self, sheet_id: Any) -> _Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def first_visible(self) -> _Sheet:
        return next((s for s in self.sheets if not s.hidden), self.sheets[0])

    def reindex(self) -> None:
        for index, sheet in enumerate(self.sheets):
            sheet.props["index"] = index

    def new_sheet_id(self) -> int:
        taken = {s.sheet_id for s in self.sheets}
        while True:
            candidate = secrets.randbelow(2**31 - 2) + 1
            if candidate not in taken:
                return candidate

    def metadata(self) -> dict:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": copy.deepcopy(self.props),
            "sheets": [
                {
                    "properties": s.public_props(),
                    **({"protectedRanges": copy.deepcopy(s.protected)} if s.protected else {}),
                }
                for s in self.sheets
            ],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }


def _sheet_props(sheet_id: int, title: str, index: int, rows: int, cols: int) -> dict:
    return {
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": rows, "columnCount": cols},
    }


# ------------------------------------------------------------------- A1 ranges


@dataclass(frozen=True)
class _Range:
    """A parsed A1 range; rows/cols are 0-based, ends exclusive, None = to the grid edge."""

    sheet: _Sheet
    start_row: int
    end_row: int | None
    start_col: int
    end_col: int | None
    single_cell: bool
    no_start_row: bool  # whole sheet or column span ("A:C"): append searches the whole sheet


_CELL_RE = re.compile(r"\$?([A-Za-z]{0,3})\$?([0-9]*)")
_UNQUOTED_TITLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE_TITLE_RE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - ord("A") + 1
    return index - 1


def quote_title(title: str) -> str:
    """Sheet name as the API writes it in A1 ranges (quoted unless plainly safe)."""
    if _UNQUOTED_TITLE_RE.fullmatch(title) and not _CELL_LIKE_TITLE_RE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _a1(sheet: _Sheet, start_row: int, end_row: int, start_col: int, end_col: int) -> str:
    start = f"{column_letters(start_col)}{start_row + 1}"
    end = f"{column_letters(end_col - 1)}{end_row}"
    box = start if (end_row - start_row, end_col - start_col) == (1, 1) else f"{start}:{end}"
    return f"{quote_title(sheet.title)}!{box}"


def _split_sheet_name(text: str) -> tuple[str | None, str | None]:
    """Split "'It''s'!A1" into ("It's", "A1"); a bare word returns (None, word)."""
    if not text.startswith("'"):
        if "!" in text:
            title, _, cells = text.partition("!")
            return title, cells
        return None, text
    chars: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch != "'":
            chars.append(ch)
            i += 1
        elif text[i + 1 : i + 2] == "'":  # '' escapes a quote inside the name
            chars.append("'")
            i += 2
        else:
            rest = text[i + 1 :]
            if rest == "":
                return "".join(chars), None
            if rest.startswith("!"):
                return "".join(chars), rest[1:]
            break
    raise ValueError(text)


def _parse_cell(text: str) -> tuple[int | None, int | None]:
    match = _CELL_RE.fullmatch(text)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(text)
    col = _column_index(match.group(1)) if match.group(1) else None
    row = int(match.group(2)) - 1 if match.group(2) else None
    if row is not None and row < 0:
        raise ValueError(text)
    return row, col


def _parse_cells(sheet: _Sheet, text: str) -> _Range:
    first, colon, second = text.partition(":")
    row1, col1 = _parse_cell(first)
    if not colon:
        if row1 is None or col1 is None:
            raise ValueError(text)
        return _Range(sheet, row1, row1 + 1, col1, col1 + 1, True, False)
    row2, col2 = _parse_cell(second)
    if (row1 is None) != (row2 is None) and (col1 is None) != (col2 is None):
        raise ValueError(text)  # e.g. "A:5" mixes a column span with a row span
    start_row, end_row = _span(row1, row2)
    start_col, end_col = _span(col1, col2)
    single = (end_row, end_col) == (start_row + 1, start_col + 1)
    return _Range(sheet, start_row, end_row, start_col, end_col, single, row1 is None)


def _span(start: int | None, end: int | None) -> tuple[int, int | None]:
    if start is None:
        return 0, None if end is None else end + 1
    if end is None:
        return start, None
    low, high = sorted((start, end))
    return low, high + 1


def _whole_sheet(sheet: _Sheet) -> _Range:
    return _Range(sheet, 0, None, 0, None, False, True)


def _parse_range(book: _Spreadsheet, text: str) -> _Range:
    error = _bad_request(f"Unable to parse range: {text}")
    try:
        title, cells = _split_sheet_name(text.strip())
    except ValueError:
        raise error from None
    if title is None:
        assert cells is not None
        named = book.by_title(cells)
        if named is not None:
            return _whole_sheet(named)
        sheet = book.first_visible()  # A1 notation without a sheet means the first visible tab
    else:
        found = book.by_title(title)
        if found is None:
            raise error
        sheet = found
        if cells is None:
            return _whole_sheet(sheet)
    try:
        return _parse_cells(sheet, cells)
    except ValueError:
        raise error from None


def _grid_error(rng: _Range, end_row: int, end_col: int) -> _ApiError:
    sheet = rng.sheet
    box = _a1(sheet, rng.start_row, end_row, rng.start_col, end_col).partition("!")[2]
    title = sheet.title.replace("'", "''")
    return _bad_request(
        f"Range ('{title}'!{box}) exceeds grid limits. "
        f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
    )


def _clip(rng: _Range) -> tuple[int, int, int, int]:
    """Concrete bounds of a range; explicit bounds outside the grid are an error, as in the API."""
    sheet = rng.sheet
    end_row = sheet.row_count if rng.end_row is None else rng.end_row
    end_col = sheet.col_count if rng.end_col is None else rng.end_col
    if (
        end_row > sheet.row_count
        or end_col > sheet.col_count
        or rng.start_row >= sheet.row_count
        or rng.start_col >= sheet.col_count
    ):
        raise _grid_error(rng, max(end_row, rng.start_row + 1), max(end_col, rng.start_col + 1))
    return rng.start_row, end_row, rng.start_col, end_col


# ----------------------------------------------------------------------- values


_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


def _parse_number(text: str) -> int | float | None:
    if _GROUPED_NUMBER_RE.fullmatch(text):
        text = text.replace(",", "")
    elif not _NUMBER_RE.fullmatch(text):
        return None
    if _INTEGER_RE.fullmatch(text):
        return int(text)
    number = float(text)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _check_scalar(value: Any, where: str) -> None:
    if not isinstance(value, (str, int, float, bool)):
        kind = "struct_value" if isinstance(value, dict) else "list_value"
        raise _bad_request(f"Invalid values{where}: {kind}")


def _entered(value: Any, option: str) -> Cell | None:
    """Cell stored for a non-null input value; None means the cell becomes empty."""
    if value == "" and isinstance(value, str):
        return None
    if option == "RAW" or not isinstance(value, str):
        return Cell(value, False)
    if value.startswith("'"):  # the UI's "force text" prefix is not part of the value
        return Cell(value[1:], False) if len(value) > 1 else None
    if value.startswith("=") and len(value) > 1:
        return Cell(value, True)
    stripped = value.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return Cell(stripped.upper() == "TRUE", False)
    number = _parse_number(stripped)
    return Cell(value if number is None else number, False)


def _unformatted(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _formatted(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper()
    return str(value)


def _render(cell: Cell, option: str) -> Any:
    if cell.is_formula:
        return cell.value if option == "FORMULA" else FORMULA_PLACEHOLDER
    if option == "FORMATTED_VALUE":
        return _formatted(cell.value)
    return _unformatted(cell.value)


def _matrix(cells: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """Rows from sparse relative coordinates, trailing blanks trimmed like the API."""
    if not cells:
        return []
    widths: dict[int, int] = {}
    for r, c in cells:
        widths[r] = max(widths.get(r, 0), c + 1)
    rows: list[list[Any]] = [[""] * widths.get(r, 0) for r in range(max(widths) + 1)]
    for (r, c), value in cells.items():
        rows[r][c] = value
    return rows


def _read_box(sheet: _Sheet, box: tuple[int, int, int, int], option: str, dimension: str) -> list[list[Any]]:
    start_row, end_row, start_col, end_col = box
    found: dict[tuple[int, int], Any] = {}
    for (r, c), cell in sheet.cells.items():
        if start_row <= r < end_row and start_col <= c < end_col:
            rel = (r - start_row, c - start_col)
            found[rel if dimension == "ROWS" else rel[::-1]] = _render(cell, option)
    return _matrix(found)


def _value_range(range_text: str, dimension: str, rows: list[list[Any]]) -> dict:
    result: dict[str, Any] = {"range": range_text, "majorDimension": dimension}
    if rows:
        result["values"] = rows
    return result


def _grid_values(body: dict, where: str) -> dict[tuple[int, int], Any]:
    """A ValueRange's values as {(row, col): value}, nulls included, honouring majorDimension."""
    dimension = _enum(body.get("majorDimension"), "ROWS", _DIMENSIONS, "major_dimension")
    values = body.get("values") or []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise _bad_request(f"Invalid value at '{where}values': expected a list of lists")
    grid: dict[tuple[int, int], Any] = {}
    for i, line in enumerate(values):
        for j, value in enumerate(line):
            if value is not None:
                _check_scalar(value, f"{where}[{i}][{j}]")
            grid[(i, j) if dimension == "ROWS" else (j, i)] = value
    return grid


@dataclass
class _Write:
    """A validated values write, ready to be applied."""

    row: int
    col: int
    grid: dict[tuple[int, int], Any]
    option: str

    @property
    def height(self) -> int:
        return max((r for r, _ in self.grid), default=-1) + 1

    @property
    def width(self) -> int:
        return max((c for _, c in self.grid), default=-1) + 1


def _plan_write(rng: _Range, body: dict, option: str, where: str = "") -> _Write:
    grid = _grid_values(body, where)
    write = _Write(rng.start_row, rng.start_col, grid, option)
    if not rng.single_cell:  # a single cell is only an anchor; larger ranges must hold the data
        if rng.end_row is not None and rng.start_row + write.height > rng.end_row:
            raise _bad_request(
                f"Requested writing within range [{_range_text(rng)}], "
                f"but tried writing to row [{rng.start_row + write.height}]"
            )
        if rng.end_col is not None and rng.start_col + write.width > rng.end_col:
            raise _bad_request(
                f"Requested writing within range [{_range_text(rng)}], "
                f"but tried writing to column [{column_letters(rng.start_col + write.width - 1)}]"
            )
    sheet = rng.sheet
    end_row = max(rng.start_row + max(write.height, 1), rng.end_row or 0)
    end_col = max(rng.start_col + max(write.width, 1), rng.end_col or 0)
    if end_row > sheet.row_count or end_col > sheet.col_count:
        raise _grid_error(rng, end_row, end_col)
    return write


def _range_text(rng: _Range) -> str:
    end_row = rng.sheet.row_count if rng.end_row is None else rng.end_row
    end_col = rng.sheet.col_count if rng.end_col is None else rng.end_col
    return _a1(rng.sheet, rng.start_row, end_row, rng.start_col, end_col)


def _apply_write(sheet: _Sheet, write: _Write, spreadsheet_id: str) -> dict:
    """Apply and return an UpdateValuesResponse (zero counts omitted, as proto3 JSON does)."""
    rows: set[int] = set()
    cols: set[int] = set()
    for (r, c), value in write.grid.items():
        if value is None:  # null means "leave this cell as it is"
            continue
        key = (write.row + r, write.col + c)
        cell = _entered(value, write.option)
        if cell is None:
            sheet.cells.pop(key, None)
        else:
            sheet.cells[key] = cell
        rows.add(r)
        cols.add(c)
    height, width = max(write.height, 1), max(write.width, 1)
    response: dict[str, Any] = {
        "spreadsheetId": spreadsheet_id,
        "updatedRange": _a1(sheet, write.row, write.row + height, write.col, write.col + width),
    }
    cells = sum(1 for v in write.grid.values() if v is not None)
    for name, count in (("updatedRows", len(rows)), ("updatedColumns", len(cols))):
        if count:
            response[name] = count
    if cells:
        response["updatedCells"] = cells
    return response


def _with_updated_data(response: dict, sheet: _Sheet, write: _Write, include: bool, option: str) -> dict:
    if include:
        height, width = max(write.height, 1), max(write.width, 1)
        box = (write.row, write.row + height, write.col, write.col + width)
        rows = _read_box(sheet, box, option, "ROWS")
        response["updatedData"] = _value_range(response["updatedRange"], "ROWS", rows)
    return response


def _enum(value: Any, default: str, allowed: Iterable[str], name: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _bad_request(f"Invalid value at '{name}', \"{value}\"")
    return value


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _require_input_option(value: Any) -> str:
    if value in (None, ""):
        raise _bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
    return _enum(value, "", _VALUE_INPUT_OPTIONS, "value_input_option")


# ---------------------------------------------------------------------- server


def _kind_matches(kinds: frozenset[str] | None, kind: str) -> bool:
    """Fault scopes are request kinds; "token" only matches when listed."""
    if kinds is None:
        return kind != "token"
    return kind in kinds


@dataclass(frozen=True)
class _Route:
    kind: str
    spreadsheet_id: str | None = None
    range_text: str | None = None


def _route(method: str, raw_path: str) -> _Route | None:
    if raw_path == "/token":
        return _Route("token") if method == "POST" else None
    prefix = "/v4/spreadsheets/"
    if not raw_path.startswith(prefix):
        return None
    rest = raw_path[len(prefix) :]
    sid, slash, tail = rest.partition("/")
    if not slash:
        sid, colon, action = rest.partition(":")
        if not colon and method == "GET":
            return _Route("metadata", unquote(sid))
        if action == "batchUpdate" and method == "POST":
            return _Route("batchUpdate", unquote(sid))
        return None
    sid = unquote(sid)
    if tail.startswith("values:"):
        kind = {
            ("GET", "batchGet"): "values.batchGet",
            ("POST", "batchUpdate"): "values.batchUpdate",
            ("POST", "batchClear"): "values.batchClear",
        }.get((method, tail[len("values:") :]))
        return _Route(kind, sid) if kind else None
    if not tail.startswith("values/"):
        return None
    encoded = tail[len("values/") :]
    # Quoted ranges encode their own ":" as %3A, so a literal ":" starts the custom verb.
    head, colon, verb = encoded.rpartition(":")
    if colon and verb in ("append", "clear"):
        return _Route(f"values.{verb}", sid, unquote(head)) if method == "POST" else None
    kind = {"GET": "values.get", "PUT": "values.update"}.get(method)
    return _Route(kind, sid, unquote(encoded)) if kind else None


def _error_body(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}}


def _api_error_reply(code: int, message: str) -> Reply:
    headers = {}
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return Reply(code, _error_body(code, message), headers)


def _oauth_error(error: str, description: str) -> Reply:
    return Reply(400, {"error": error, "error_description": description})


class FakeSheetsServer(FaultInjection, LoopbackServer):
    """In-memory Sheets API v4 on 127.0.0.1; see the module docstring for its limits."""

    content_type = "application/json; charset=UTF-8"
    malformed_page = _MALFORMED_BODY
    thread_name = "fake-sheets-api"

    def __init__(self) -> None:
        super().__init__()
        self._books: dict[str, _Spreadsheet] = {}
        self._tokens: set[str] = set()
        self.faults = Faults(_kind_matches)
        self.requests = RequestLog()
        self.timeout_delay = 2.0
        self.token_uri = ""

    def _listening(self, origin: str) -> None:
        self.base_url = origin
        self.token_uri = origin + "/token"

    # -- test-side state helpers

    def create_spreadsheet(
        self,
        title: str,
        sheets: dict[str, list[list]] | None = None,
        hidden: Iterable[str] = frozenset(),
    ) -> str:
        """Create a spreadsheet whose tabs hold `sheets` verbatim (RAW semantics)."""
        tabs = dict(sheets) if sheets else {DEFAULT_SHEET_TITLE: []}
        hidden = set(hidden)
        if unknown := hidden - tabs.keys():
            raise ValueError(f"hidden names unknown tabs: {sorted(unknown)}")
        if hidden == tabs.keys():
            raise ValueError("a spreadsheet needs at least one visible sheet")
        spreadsheet_id = secrets.token_urlsafe(33)[:44]
        props = {
            "title": title,
            "locale": "ja_JP",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Asia/Tokyo",
        }
        book = _Spreadsheet(spreadsheet_id, props, [])
        for index, (name, rows) in enumerate(tabs.items()):
            width = max((len(r) for r in rows), default=0)
            sheet_id = 0 if index == 0 else book.new_sheet_id()
            sheet = _Sheet(
                _sheet_props(
                    sheet_id,
                    name,
                    index,
                    max(DEFAULT_ROW_COUNT, len(rows)),
                    max(DEFAULT_COLUMN_COUNT, width),
                )
            )
            if name in hidden:
                sheet.props["hidden"] = True
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is not None and value != "":
                        sheet.cells[(r, c)] = Cell(value, False)
            book.sheets.append(sheet)
        with self._lock:
            self._books[spreadsheet_id] = book
        return spreadsheet_id

    def values(self, spreadsheet_id: str, title: str) -> list[list]:
        """Stored values, trailing blanks trimmed; numbers unformatted, formulas as text."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            box = (0, sheet.row_count, 0, sheet.col_count)
            return _read_box(sheet, box, "FORMULA", "ROWS")

    def cell(self, spreadsheet_id: str, title: str, row: int, col: int) -> Cell:
        """The stored cell at 1-based (row, col); an empty cell is Cell(None, False)."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            return sheet.cells.get((row - 1, col - 1), Cell(None, False))

    def type_values(self, spreadsheet_id: str, title: str, rows: list[list], start_row: int = 1) -> None:
        """Enter rows from column A as a person would (USER_ENTERED); grows the grid if needed."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            grid = {(r, c): v for r, row in enumerate(rows) for c, v in enumerate(row)}
            write = _Write(start_row - 1, 0, grid, "USER_ENTERED")
            sheet.row_count = max(sheet.row_count, write.row + write.height)
            sheet.col_count = max(sheet.col_count, write.width)
            _apply_write(sheet, write, spreadsheet_id)

    def grid_size(self, spreadsheet_id: str, title: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab: what it costs against the 10-million-cell limit."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, title)
            return sheet.row_count, sheet.col_count

    def sheet_titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def is_hidden(self, spreadsheet_id: str, title: str) -> bool:
        with self._lock:
            return self._sheet(spreadsheet_id, title).hidden

    def _book(self, spreadsheet_id: str) -> _Spreadsheet:
        try:
            return self._books[spreadsheet_id]
        except KeyError:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r}") from None

    def _sheet(self, spreadsheet_id: str, title: str) -> _Sheet:
        sheet = self._book(spreadsheet_id).by_title(title)
        if sheet is None:
            raise KeyError(f"no sheet {title!r} in {spreadsheet_id!r}")
        return sheet

    # -- request accounting and faults

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return len(self.requests) - len(self.requests.where(kind="token"))
        return len(self.requests.where(kind=kind))

    def reset_counts(self) -> None:
        self.requests.reset()

    def inject(self, *faults: int | str, kinds: set[str] | None = None) -> None:
        """Queue faults; each is consumed by the next matching request, in order.

        A fault is an HTTP status (answered with Google's error body, e.g. 429 ->
        RESOURCE_EXHAUSTED), "timeout" (sleep `timeout_delay` seconds, then answer and
        apply the request normally) or "malformed" (200 with an HTML body). `kinds`
        limits which request kinds match; "token" only matches when listed. Faults
        apply after the bearer-token check, so unauthenticated requests never use one.
        Note that google-auth answers a 401 by refreshing its token and retrying once.
        """
        self.faults.queue(faults, _kinds(kinds))

    def inject_always(self, fault: int | str, kinds: set[str] | None = None) -> None:
        """Like inject(), but the fault hits every matching request until clear_faults()."""
        self.faults.stand(fault, _kinds(kinds))

    # -- dispatch (called from handler threads)

    def _serve(self, method: str, raw_target: str, headers: Any, raw_body: bytes) -> Reply:
        split = urlsplit(raw_target)
        route = _route(method, split.path)
        kind = route.kind if route else "unknown"
        body = _parse_body(raw_body, headers.get("Content-Type", ""))
        record = self.requests.record(Recorded.of(method, raw_target, headers, body, kind))
        record.path = unquote(split.path)
        reply = self._answer(route, kind, record.query, headers, body)
        record.status = reply.status
        return reply

    def _answer(self, route: _Route | None, kind: str, query: dict, headers: Any, body: Any) -> Reply:
        if kind != "token":
            denied = self._check_auth(headers.get("Authorization"))
            if denied is not None:
                return denied
        faulted = self._faulted(kind)
        if faulted is not None:
            return faulted
        if route is None:
            return _api_error_reply(404, "Requested entity was not found.")
        if isinstance(body, _InvalidJson):
            return _api_error_reply(400, f"Invalid JSON payload received. {body.reason}")
        if route.kind == "token":
            return self._issue_token(body if isinstance(body, dict) else {})
        try:
            with self._lock:
                return Reply(200, self._dispatch(route, query, body))
        except _ApiError as err:
            return _api_error_reply(err.code, err.message)

    def _check_auth(self, authorization: str | None) -> Reply | None:
        if not authorization:
            return _api_error_reply(401, _MISSING_CREDENTIALS)
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            known = token.strip() in self._tokens
        if scheme.lower() != "bearer" or not known:
            return _api_error_reply(401, _FAULT_MESSAGES[401])
        return None

    def _bug_reply(self, error: Exception) -> Reply:
        return _api_error_reply(500, f"fake Sheets API bug: {error!r}")

    def _fault_reply(self, code: int, kind: str) -> Reply:
        if code == 429:
            what = "Read requests" if kind in _READ_KINDS else "Write requests"
            message = (
                f"Quota exceeded for quota metric '{what}' and limit "
                f"'{what} per minute per user' of service 'sheets.googleapis.com' "
                "for consumer 'project_number:0'."
            )
        else:
            message = _FAULT_MESSAGES.get(code, HTTPStatus(code).phrase)
        return _api_error_reply(code, message)

    def _issue_token(self, form: dict) -> Reply:
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type: ")
        assertion = form.get("assertion", "")
        try:
            header = json.loads(_b64decode(assertion.split(".")[0]))
            unverified = google_jwt.decode(assertion, verify=False)
        except Exception:  # any garbage is an invalid grant
            return _oauth_error("invalid_grant", "Invalid JWT: malformed assertion.")
        key = _KEYS_BY_ID.get(header.get("kid", "")) or _KEYS_BY_EMAIL.get(unverified.get("iss", ""))
        if key is None or key.email != unverified.get("iss"):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        try:
            claims = google_jwt.decode(
                assertion, certs={key.key_id: key.public_pem}, clock_skew_in_seconds=30
            )
        except Exception:  # bad signature or stale iat/exp
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_AUDIENCE):
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        if SPREADSHEETS_SCOPE not in str(claims.get("scope", "")).split():
            return _oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _dispatch(self, route: _Route, query: dict, body: Any) -> dict:
        book = self._books.get(route.spreadsheet_id or "")
        if book is None:
            raise _ApiError(404, "Requested entity was not found.")
        if route.kind in ("metadata", "values.get", "values.batchGet"):
            return _READERS[route.kind](book, route.range_text, query)
        body = body if isinstance(body, dict) else {}
        draft = book.clone()  # writes go to a copy that is committed only on success
        response = _WRITERS[route.kind](draft, route.range_text, query, body)
        self._books[book.spreadsheet_id] = draft
        return response


def _kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    if kinds is not None and (unknown := set(kinds) - KINDS):
        raise ValueError(f"unknown request kinds {sorted(unknown)}")
    return frozenset(kinds) if kinds is not None else None


@dataclass(frozen=True)
class _InvalidJson:
    reason: str


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        return _InvalidJson(str(err))


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# ------------------------------------------------------------------- handlers


def _read_options(query: dict) -> tuple[str, str]:
    option = _enum(
        _query_value(query, "valueRenderOption"),
        "FORMATTED_VALUE",
        _VALUE_RENDER_OPTIONS,
        "value_render_option",
    )
    _enum(
        _query_value(query, "dateTimeRenderOption"),
        "SERIAL_NUMBER",
        _DATE_TIME_RENDER_OPTIONS,
        "date_time_render_option",
    )
    dimension = _enum(_query_value(query, "majorDimension"), "ROWS", _DIMENSIONS, "major_dimension")
    return option, dimension


def _get_range(book: _Spreadsheet, text: str, option: str, dimension: str) -> dict:
    rng = _parse_range(book, text)
    box = _clip(rng)
    rows = _read_box(rng.sheet, box, option, dimension)
    return _value_range(_a1(rng.sheet, *box), dimension, rows)


def _handle_metadata(book: _Spreadsheet, _range: str | None, _query: dict) -> dict:
    return book.metadata()


def _handle_values_get(book: _Spreadsheet, range_text: str | None, query: dict) -> dict:
    option, dimension = _read_options(query)
    return _get_range(book, range_text or "", option, dimension)


def _handle_values_batch_get(book: _Spreadsheet, _range: str | None, query: dict) -> dict:
    option, dimension = _read_options(query)
    ranges = query.get("ranges", [])  # parse_qs has already percent-decoded them
    response: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if ranges:
        response["valueRanges"] = [_get_range(book, r, option, dimension) for r in ranges]
    return response


def _handle_values_update(book: _Spreadsheet, range_text: str | None, query: dict, body: dict) -> dict:
    option = _require_input_option(_query_value(query, "valueInputOption"))
    rng = _parse_range(book, range_text or "")
    if body.get("range") and _parse_range(book, body["range"]) != rng:
        raise _bad_request(
            f"Requested range [{range_text}] does not match the range of the values [{body['range']}]"
        )
    write = _plan_write(rng, body, option)
    response = _apply_write(rng.sheet, write, book.spreadsheet_id)
    render = _enum(
        _query_value(query, "responseValueRenderOption"),
        "FORMATTED_VALUE",
        _VALUE_RENDER_OPTIONS,
        "response_value_render_option",
    )
    include = _truthy(_query_value(query, "includeValuesInResponse"))
    return _with_updated_data(response, rng.sheet, write, include, render)


def _handle_values_batch_update(book: _Spreadsheet, _range: str | None, _query: dict, body: dict) -> dict:
    option = _require_input_option(body.get("valueInputOption"))
    render = _enum(
        body.get("responseValueRenderOption"),
        "FORMATTED_VALUE",
        _VALUE_RENDER_OPTIONS,
        "response_value_render_option",
    )
    data = body.get("data") or []
    # Plan every write against the pre-update grid first so a bad entry changes nothing.
    plans: list[tuple[_Range, _Write]] = []
    for i, value_range in enumerate(data):
        if not isinstance(value_range, dict) or not value_range.get("range"):
            raise _bad_request(f"Invalid data[{i}]: range is required")
        rng = _parse_range(book, value_range["range"])
        plans.append((rng, _plan_write(rng, value_range, option, f"data[{i}].values")))
    responses = []
    for rng, write in plans:
        response = _apply_write(rng.sheet, write, book.spreadsheet_id)
        include = _truthy(body.get("includeValuesInResponse"))
        responses.append(_with_updated_data(response, rng.sheet, write, include, render))
    result: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    totals = {
        "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
        "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
        "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
        "totalUpdatedSheets": len(
            {
                rng.sheet.sheet_id
                for (rng, _), r in zip(plans, responses, strict=True)
                if r.get("updatedCells")
            }
        ),
    }
    result.update({k: v for k, v in totals.items() if v})
    if responses:
        result["responses"] = responses
    return result


def _table_rows(rng: _Range, cols: tuple[int, int]) -> list[int]:
    """Rows of the logical table that append writes after, in ascending order."""
    rows_with_data = {r for (r, c) in rng.sheet.cells if cols[0] <= c < cols[1]}
    if not rows_with_data:
        return []
    if rng.no_start_row:  # whole sheet or column span: everything down to the last data row
        return list(range(min(rows_with_data), max(rows_with_data) + 1))
    table = []
    row = rng.start_row
    while row in rows_with_data:  # the contiguous block that starts at the range's first row
        table.append(row)
        row += 1
    return table


def _handle_values_append(book: _Spreadsheet, range_text: str | None, query: dict, body: dict) -> dict:
    option = _require_input_option(_query_value(query, "valueInputOption"))
    insert = _enum(
        _query_value(query, "insertDataOption"),
        "OVERWRITE",
        {"OVERWRITE", "INSERT_ROWS"},
        "insert_data_option",
    )
    rng = _parse_range(book, range_text or "")
    sheet = rng.sheet
    bounded = rng.end_col is not None and not rng.single_cell
    search = (rng.start_col, rng.end_col if bounded else sheet.col_count)
    table = _table_rows(rng, search)
    grid = _grid_values(body, "")
    write = _Write(rng.start_row, rng.start_col, grid, option)
    response: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if table:
        table_set = set(table)
        table_cols = [c for (r, c) in sheet.cells if r in table_set and search[0] <= c < search[1]]
        first_col, last_col = min(table_cols), max(table_cols) + 1
        response["tableRange"] = _a1(sheet, table[0], table[-1] + 1, first_col, last_col)
        write.row, write.col = table[-1] + 1, first_col
    if insert == "INSERT_ROWS" and write.height:
        sheet.cells = {(r + write.height if r >= write.row else r, c): v for (r, c), v in sheet.cells.items()}
        sheet.row_count += write.height
    # Unlike update, append makes room for its data.
    sheet.row_count = max(sheet.row_count, write.row + write.height)
    sheet.col_count = max(sheet.col_count, write.col + write.width)
    updates = _apply_write(sheet, write, book.spreadsheet_id)
    render = _enum(
        _query_value(query, "responseValueRenderOption"),
        "FORMATTED_VALUE",
        _VALUE_RENDER_OPTIONS,
        "response_value_render_option",
    )
    include = _truthy(_query_value(query, "includeValuesInResponse"))
    response["updates"] = _with_updated_data(updates, sheet, write, include, render)
    return response


def _clear(book: _Spreadsheet, text: str) -> str:
    rng = _parse_range(book, text)
    start_row, end_row, start_col, end_col = box = _clip(rng)
    rng.sheet.cells = {
        (r, c): v
        for (r, c), v in rng.sheet.cells.items()
        if not (start_row <= r < end_row and start_col <= c < end_col)
    }
    return _a1(rng.sheet, *box)


def _handle_values_clear(book: _Spreadsheet, range_text: str | None, _query: dict, _body: dict) -> dict:
    return {"spreadsheetId": book.spreadsheet_id, "clearedRange": _clear(book, range_text or "")}


def _handle_values_batch_clear(book: _Spreadsheet, _range: str | None, _query: dict, body: dict) -> dict:
    cleared = [_clear(book, r) for r in body.get("ranges") or []]
    response: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if cleared:
        response["clearedRanges"] = cleared
    return response


# ------------------------------------------------------- spreadsheets.batchUpdate


def _field_paths(mask: Any, where: str) -> list[str]:
    """Dotted paths of a FieldMask; "a/b" and "a(b,c)" are accepted like the real API does."""
    if not mask or not isinstance(mask, str):
        raise _bad_request(f"{where}: You must specify which fields you want to update.")
    try:
        return _expand_mask(mask.replace("/", ".").replace(" ", ""))
    except ValueError:
        raise _bad_request(f"{where}: Invalid field mask: {mask}") from None


def _expand_mask(mask: str) -> list[str]:
    paths: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(mask + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            part, start = mask[start:i], i + 1
            if "(" in part:
                prefix, _, inner = part.partition("(")
                if not inner.endswith(")"):
                    raise ValueError(part)
                paths += [f"{prefix}.{sub}" for sub in _expand_mask(inner[:-1])]
            elif part:
                paths.append(part)
        if depth < 0:
            raise ValueError(mask)
    if depth:
        raise ValueError(mask)
    return paths


def _apply_mask(target: dict, source: dict, paths: list[str]) -> None:
    """Copy masked fields; a path absent from `source` resets the field, as FieldMask does."""
    if "*" in paths:
        paths = list(source)
    for path in paths:
        *parents, leaf = path.split(".")
        src: Any = source
        dst = target
        for part in parents:
            src = src.get(part, {}) if isinstance(src, dict) else {}
            dst = dst.setdefault(part, {})
        if isinstance(src, dict) and leaf in src:
            dst[leaf] = copy.deepcopy(src[leaf])
        else:
            dst.pop(leaf, None)


def _check_title(book: _Spreadsheet, title: Any, where: str, own: _Sheet | None = None) -> None:
    if not isinstance(title, str) or not title.strip():
        raise _bad_request(f"{where}: The sheet name cannot be empty.")
    clash = book.by_title(title)
    if clash is not None and clash is not own:
        raise _bad_request(
            f'{where}: A sheet with the name "{title}" already exists. Please enter another name.'
        )


def _check_sheet_invariants(book: _Spreadsheet, sheet: _Sheet, where: str) -> None:
    if sheet.row_count < 1 or sheet.col_count < 1:
        raise _bad_request(f"{where}: gridProperties must have at least one row and column.")
    if all(s.hidden for s in book.sheets):
        raise _bad_request(f"{where}: You can't hide all sheets in a document.")


def _add_sheet(book: _Spreadsheet, request: dict, where: str) -> dict:
    props = copy.deepcopy(request.get("properties") or {})
    sheet_id = props.get("sheetId", book.new_sheet_id())
    if book.by_id(sheet_id) is not None:
        raise _bad_request(f"{where}: Sheet with id {sheet_id} already exists.")
    title = props.get("title")
    if title is None:
        number = len(book.sheets) + 1
        while book.by_title(f"シート{number}") is not None:
            number += 1
        title = f"シート{number}"
    _check_title(book, title, where)
    grid = props.get("gridProperties") or {}
    full = _sheet_props(
        sheet_id,
        title,
        0,
        grid.get("rowCount", DEFAULT_ROW_COUNT),
        grid.get("columnCount", DEFAULT_COLUMN_COUNT),
    )
    full["gridProperties"].update({k: v for k, v in grid.items() if k not in full["gridProperties"]})
    full.update({k: v for k, v in props.items() if k not in full and k != "index"})
    sheet = _Sheet(full)
    index = props.get("index", len(book.sheets))
    book.sheets.insert(max(0, min(int(index), len(book.sheets))), sheet)
    book.reindex()
    _check_sheet_invariants(book, sheet, where)
    return {"addSheet": {"properties": sheet.public_props()}}


def _sheet_by_id(book: _Spreadsheet, sheet_id: Any, where: str) -> _Sheet:
    sheet = book.by_id(sheet_id)
    if sheet is None:
        raise _bad_request(f"{where}: No grid with id: {sheet_id}")
    return sheet


def _delete_sheet(book: _Spreadsheet, request: dict, where: str) -> dict:
    sheet = _sheet_by_id(book, request.get("sheetId"), where)
    if all(s.hidden for s in book.sheets if s is not sheet):
        raise _bad_request(f"{where}: You can't remove all the visible sheets in a document.")
    book.sheets.remove(sheet)
    book.reindex()
    return {}


def _update_sheet_properties(book: _Spreadsheet, request: dict, where: str) -> dict:
    props = request.get("properties") or {}
    sheet = _sheet_by_id(book, props.get("sheetId"), where)
    paths = _field_paths(request.get("fields"), where)
    old_index = sheet.props["index"]
    _apply_mask(sheet.props, props, [p for p in paths if p != "sheetId"])
    sheet.props["sheetId"] = props.get("sheetId")
    sheet.props.setdefault("gridProperties", {})
    sheet.props["gridProperties"].setdefault("rowCount", DEFAULT_ROW_COUNT)
    sheet.props["gridProperties"].setdefault("columnCount", DEFAULT_COLUMN_COUNT)
    _check_title(book, sheet.props.get("title"), where, own=sheet)
    new_index = sheet.props.get("index", old_index)
    if new_index != old_index:
        book.sheets.remove(sheet)
        book.sheets.insert(max(0, min(int(new_index), len(book.sheets))), sheet)
    book.reindex()
    _check_sheet_invariants(book, sheet, where)
    sheet.trim_to_grid()  # shrinking the grid drops the cells outside it
    return {}


def _update_spreadsheet_properties(book: _Spreadsheet, request: dict, where: str) -> dict:
    paths = _field_paths(request.get("fields"), where)
    _apply_mask(book.props, request.get("properties") or {}, paths)
    return {}


def _dimension_range(book: _Spreadsheet, spec: dict, where: str) -> tuple[_Sheet, bool, int, int]:
    sheet = _sheet_by_id(book, spec.get("sheetId"), where)
    dimension = _enum(spec.get("dimension"), "", _DIMENSIONS, f"{where}.dimension")
    if not dimension:
        raise _bad_request(f"{where}: dimension is required")
    start, end = int(spec.get("startIndex", 0)), int(spec.get("endIndex", 0))
    limit = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if not 0 <= start < end or end > limit:
        raise _bad_request(f"{where}: Invalid dimension range [{start}, {end})")
    return sheet, dimension == "ROWS", start, end


def _shift(sheet: _Sheet, rows: bool, at: int, delta: int) -> None:
    """Move cells at or after index `at` by `delta` along one axis (delta < 0 deletes);
    protected ranges stay on their cells, as in Sheets."""
    start_key, end_key = ("startRowIndex", "endRowIndex") if rows else ("startColumnIndex", "endColumnIndex")
    kept = []
    for protected in sheet.protected:
        grid = protected["range"]
        if start_key in grid and end_key in grid:
            start, end = grid[start_key], grid[end_key]
            if delta < 0:  # the deleted span [at, at - delta) comes out of the range
                gone = max(0, min(end, at - delta) - max(start, at))
                start = start if start < at else max(at, start + delta)
                end = end - gone if end <= at - delta else end + delta
                if end <= start:
                    continue
            else:
                start, end = (start + delta if start >= at else start), (end + delta if end > at else end)
            grid[start_key], grid[end_key] = start, end
        kept.append(protected)
    sheet.protected = kept
    axis = 0 if rows else 1
    moved: dict[tuple[int, int], Cell] = {}
    for key, cell in sheet.cells.items():
        index = key[axis]
        if delta < 0 and at <= index < at - delta:
            continue
        if index >= at:
            key = (index + delta, key[1]) if rows else (key[0], index + delta)
        moved[key] = cell
    sheet.cells = moved


def _insert_dimension(book: _Spreadsheet, request: dict, where: str) -> dict:
    spec = dict(request.get("range") or {})
    sheet = _sheet_by_id(book, spec.get("sheetId"), where)
    rows = spec.get("dimension") == "ROWS"
    start, end = int(spec.get("startIndex", 0)), int(spec.get("endIndex", 0))
    limit = sheet.row_count if rows else sheet.col_count
    if not 0 <= start < end or start > limit:
        raise _bad_request(f"{where}: Invalid dimension range [{start}, {end})")
    _shift(sheet, rows, start, end - start)
    if rows:
        sheet.row_count += end - start
    else:
        sheet.col_count += end - start
    return {}


def _delete_dimension(book: _Spreadsheet, request: dict, where: str) -> dict:
    sheet, rows, start, end = _dimension_range(book, request.get("range") or {}, where)
    if end - start >= (sheet.row_count if rows else sheet.col_count):
        raise _bad_request(f"{where}: You can't delete all the rows or columns on the sheet.")
    _shift(sheet, rows, start, start - end)
    if rows:
        sheet.row_count -= end - start
    else:
        sheet.col_count -= end - start
    return {}


def _append_dimension(book: _Spreadsheet, request: dict, where: str) -> dict:
    sheet = _sheet_by_id(book, request.get("sheetId"), where)
    length = int(request.get("length", 0))
    if length < 1:
        raise _bad_request(f"{where}: length must be positive")
    if request.get("dimension") == "ROWS":
        sheet.row_count += length
    else:
        sheet.col_count += length
    return {}


def _extended_value(value: Any, where: str) -> Cell | None:
    """ExtendedValue -> stored cell: exactly one of its kinds, taken as is (no parsing)."""
    if value is None:
        return None  # a CellData without userEnteredValue clears it under the field mask
    if not isinstance(value, dict) or len(value) != 1:
        raise _bad_request(f"{where}: exactly one ExtendedValue kind must be set")
    ((kind, raw),) = value.items()
    if kind == "stringValue" and isinstance(raw, str):
        return Cell(raw, False) if raw else None
    if kind == "numberValue" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Cell(_unformatted(raw), False)
    if kind == "boolValue" and isinstance(raw, bool):
        return Cell(raw, False)
    if kind == "formulaValue" and isinstance(raw, str):
        return Cell(raw, True)
    raise _bad_request(f"{where}: Invalid value at 'userEnteredValue.{kind}'")


def _update_cells(book: _Spreadsheet, request: dict, where: str) -> dict:
    """UpdateCellsRequest with ``start`` and fields ``userEnteredValue`` (what the adapter
    sends). Cells outside the grid are an error, as on the real API."""
    paths = _field_paths(request.get("fields"), where)
    if paths not in (["userEnteredValue"], ["*"]):
        raise _bad_request(f"{where}: the fake supports fields=userEnteredValue only")
    if "range" in request or "start" not in request:
        raise _bad_request(f"{where}: the fake supports UpdateCellsRequest.start only")
    start = request["start"] or {}
    sheet = _sheet_by_id(book, start.get("sheetId"), where)
    row0, col0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
    for r, row_data in enumerate(request.get("rows") or []):
        for c, cell_data in enumerate((row_data or {}).get("values") or []):
            row, col = row0 + r, col0 + c
            if row >= sheet.row_count or col >= sheet.col_count:
                raise _bad_request(
                    f"{where}: Range ({_a1(sheet, row, row + 1, col, col + 1)}) exceeds grid limits. "
                    f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
                )
            cell = _extended_value(
                (cell_data or {}).get("userEnteredValue"), f"{where}.rows[{r}].values[{c}]"
            )
            if cell is None:
                sheet.cells.pop((row, col), None)
            else:
                sheet.cells[(row, col)] = cell
    return {}


def _add_protected_range(book: _Spreadsheet, request: dict, where: str) -> dict:
    """AddProtectedRangeRequest: the range (a whole sheet when only sheetId is given) with its
    description and warningOnly; the reply carries the new protectedRangeId. Warning-only
    ranges do not stop API writes (nor does the fake enforce any protection)."""
    protected = copy.deepcopy(request.get("protectedRange") or {})
    grid = protected.get("range")
    if not isinstance(grid, dict):
        raise _bad_request(f"{where}: protectedRange.range is required")
    sheet = _sheet_by_id(book, grid.get("sheetId", 0), where)
    grid["sheetId"] = sheet.sheet_id
    if protected.get("warningOnly") and protected.get("editors"):
        raise _bad_request(f"{where}: warningOnly protections cannot have editors")
    protected["protectedRangeId"] = secrets.randbelow(2**31 - 1) + 1
    protected.setdefault("warningOnly", False)
    protected.setdefault("requestingUserCanEdit", True)
    sheet.protected.append(protected)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(protected)}}


_SHEET_REQUESTS: dict[str, Callable[[_Spreadsheet, dict, str], dict]] = {
    "addProtectedRange": _add_protected_range,
    "updateCells": _update_cells,
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
}


def _handle_batch_update(book: _Spreadsheet, _range: str | None, _query: dict, body: dict) -> dict:
    replies = []
    # `book` is a draft: a failing request discards every earlier one too.
    for i, request in enumerate(body.get("requests") or []):
        if not isinstance(request, dict) or len(request) != 1:
            raise _bad_request(f"Invalid requests[{i}]: exactly one request kind must be set")
        ((name, payload),) = request.items()
        handler = _SHEET_REQUESTS.get(name)
        if handler is None:
            raise _bad_request(f"Invalid requests[{i}]: {name} is not supported by the fake")
        replies.append(handler(book, payload or {}, f"Invalid requests[{i}].{name}"))
    response: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "replies": replies}
    if _truthy(body.get("includeSpreadsheetInResponse")):
        response["updatedSpreadsheet"] = book.metadata()
    return response


_READERS: dict[str, Callable[[_Spreadsheet, str | None, dict], dict]] = {
    "metadata": _handle_metadata,
    "values.get": _handle_values_get,
    "values.batchGet": _handle_values_batch_get,
}
_WRITERS: dict[str, Callable[[_Spreadsheet, str | None, dict, dict], dict]] = {
    "values.update": _handle_values_update,
    "values.batchUpdate": _handle_values_batch_update,
    "values.append": _handle_values_append,
    "values.clear": _handle_values_clear,
    "values.batchClear": _handle_values_batch_clear,
    "batchUpdate": _handle_batch_update,
}
