"""The workbook on Google Sheets through gspread 6 and google-auth.

Request budget per job: one ``values:batchGet`` for every tab the job reads, one more that
checks the read still holds (append targets empty, updated rows' keys and overwritten staff
cells unchanged), one ``values:batchUpdate`` for every cell it changes and appends, one
``spreadsheets:batchUpdate`` only for rows it deletes, and spreadsheet metadata fetched once
and cached. Everything is written RAW and read unformatted, so ``=IMPORTXML(...)`` from a mall
stays text and ``00123`` is never turned into 123.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from types import MappingProxyType
from typing import Any

import gspread
import requests
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.utils import absolute_range_name, rowcol_to_a1

from sheets_schema.changes import CellUpdate, WriteJob, conflict
from sheets_schema.errors import StaleWorkbookError, WorkbookUnavailable
from sheets_schema.grid import FIRST_DATA_ROW, Grid, cell_text
from sheets_schema.tabs import TAB_BY_TITLE, TabSpec
from sheets_schema.workbook import NewTab, WorkbookInfo
from vocabulary.retry import RetryPolicy

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
GOOGLE_SHEETS_BASE_URL = "https://sheets.googleapis.com"
DEFAULT_POLICY = RetryPolicy()
# Read-only: gspread's values_batch_get writes ``ranges`` into the params dict it is given, so a
# shared dict would let one thread's read go out with another thread's ranges (the app's
# autosync thread and a page read at the same time got each other's tabs). Each call passes
# a copy (``_read_params``).
_READ_PARAMS: Mapping[str, str] = MappingProxyType(
    {
        "majorDimension": "ROWS",
        # Numbers come back as numbers (no "¥1,980" or "1,980" display strings) ...
        "valueRenderOption": "UNFORMATTED_VALUE",
        # ... and dates staff typed come back as the text they see, not as serial numbers.
        "dateTimeRenderOption": "FORMATTED_STRING",
    }
)


def _read_params() -> dict[str, Any]:
    return dict(_READ_PARAMS)


class SheetsSession(AuthorizedSession):
    """An authorised session that sends Sheets calls to ``api_base_url`` with bounded retries."""

    def __init__(
        self,
        credentials: Any,
        *,
        api_base_url: str = GOOGLE_SHEETS_BASE_URL,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(credentials)
        self.api_base_url = api_base_url.rstrip("/")
        self.policy = policy
        self._sleep = sleep
        self._rand = rand

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith(GOOGLE_SHEETS_BASE_URL):
            url = self.api_base_url + url[len(GOOGLE_SHEETS_BASE_URL) :]
        # Setting values is idempotent; adding sheets or rows (spreadsheets:batchUpdate,
        # values:append) is not: never resend those after a 5xx or a read timeout, when the
        # first attempt may have landed.
        path = url.split("?")[0]
        idempotent = not (
            path.endswith(":append") or (path.endswith(":batchUpdate") and "/values:" not in path)
        )
        attempt = 0
        while True:
            try:
                response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                unsent = isinstance(exc, requests.ConnectTimeout) or not isinstance(exc, requests.Timeout)
                if attempt >= self.policy.max_retries or not (idempotent or unsent):
                    raise
            else:
                if not self.policy.should_retry(attempt, response.status_code, idempotent=idempotent):
                    return response
            self._sleep(self.policy.delay(attempt, self._rand))
            attempt += 1


def _japanese_message(exc: Exception, *, account: str) -> str:
    if isinstance(exc, gspread.exceptions.APIError):
        code = exc.response.status_code
        if code == 429:
            return (
                "Google スプレッドシートの利用上限（1分あたりのリクエスト数）に達しました。"
                "1分ほど待ってからもう一度お試しください"
            )
        if code in (401,):
            return "Google への認証に失敗しました。secrets.toml のサービスアカウント鍵を確認してください"
        if code == 403:
            return (
                f"スプレッドシートがサービスアカウント（{account}）に共有されていません。"
                "共有設定でこのアドレスを編集者として追加してください"
            )
        if code == 404:
            return "スプレッドシートが見つかりません。secrets.toml の spreadsheet_key を確認してください"
        if code >= 500:
            return "Google スプレッドシートが一時的に応答しません。しばらく待ってからもう一度お試しください"
        return f"Google スプレッドシートがリクエストを受け付けませんでした（HTTP {code}）"
    if isinstance(exc, GoogleAuthError):
        return "Google への認証に失敗しました。サービスアカウント鍵と token_uri を確認してください"
    if isinstance(exc, requests.JSONDecodeError):
        return "Google スプレッドシートから想定外の応答がありました。しばらく待ってからもう一度お試しください"
    if isinstance(exc, requests.Timeout):
        return "Google スプレッドシートから時間内に応答がありませんでした。もう一度お試しください"
    return "Google スプレッドシートに接続できません。ネットワークを確認してください"


# Blank rows left under the data by trim_grids, so that the next appends need no grow request.
TRIM_ROW_MARGIN = 100


@dataclass(frozen=True)
class GridTrim:
    title: str
    rows_before: int
    columns_before: int
    rows_after: int
    columns_after: int

    @property
    def cells_before(self) -> int:
        return self.rows_before * self.columns_before

    @property
    def cells_after(self) -> int:
        return self.rows_after * self.columns_after


def _used_extent(values: list[list[Any]]) -> tuple[int, int]:
    """(rows, columns) up to the last cell holding anything, header included."""
    used_rows = used_columns = 0
    for index, row in enumerate(values):
        filled = [c for c, value in enumerate(row) if cell_text(value) != ""]
        if filled:
            used_rows = index + 1
            used_columns = max(used_columns, filled[-1] + 1)
    return used_rows, used_columns


class GoogleSheetsWorkbook:
    def __init__(
        self,
        spreadsheet_key: str,
        service_account_info: Mapping[str, Any],
        *,
        api_base_url: str = GOOGLE_SHEETS_BASE_URL,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # token_uri is taken from the key as given, so a local token endpoint works in tests.
        try:
            credentials = service_account.Credentials.from_service_account_info(
                dict(service_account_info), scopes=list(SCOPES)
            )
        except (ValueError, KeyError) as exc:
            raise WorkbookUnavailable(
                "サービスアカウント鍵を読み込めません。Google Cloud でダウンロードした JSON の内容を確認してください"
            ) from exc
        self._account = credentials.service_account_email
        self._key = spreadsheet_key
        self.session = SheetsSession(credentials, api_base_url=api_base_url, policy=policy, sleep=sleep)
        self._client = gspread.Client(auth=None, session=self.session)  # type: ignore[arg-type]
        self._client.http_client.set_timeout(timeout_seconds)
        self._meta: dict[str, Any] | None = None

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (gspread.exceptions.APIError, GoogleAuthError, requests.RequestException) as exc:
            raise WorkbookUnavailable(_japanese_message(exc, account=self._account)) from exc

    def _metadata(self) -> dict[str, Any]:
        # What open_by_key fetches, kept here so that the tab list costs no second request.
        if self._meta is None:
            self._meta = self._call(self._client.http_client.fetch_sheet_metadata, self._key)
        return self._meta

    @property
    def info(self) -> WorkbookInfo:
        meta = self._metadata()
        url = meta.get("spreadsheetUrl") or f"https://docs.google.com/spreadsheets/d/{self._key}/edit"
        return WorkbookInfo("google", meta["properties"]["title"], url, url)

    def tab_titles(self) -> list[str]:
        return [s["properties"]["title"] for s in self._metadata().get("sheets", [])]

    def hidden_titles(self) -> set[str]:
        return {
            s["properties"]["title"]
            for s in self._metadata().get("sheets", [])
            if s["properties"].get("hidden")
        }

    def read(self, titles: Sequence[str], *, start_rows: Mapping[str, int] | None = None) -> dict[str, Grid]:
        start_rows = start_rows or {}
        sheets = {s["properties"]["title"]: s["properties"] for s in self._metadata().get("sheets", [])}
        wanted = [t for t in titles if t in sheets]
        if not wanted:
            return {}
        ranges: list[str] = []
        # (title, first row, index of its header range, index of its data range)
        plan: list[tuple[str, int, int, int | None]] = []
        for title in wanted:
            start = start_rows.get(title, FIRST_DATA_ROW)
            if start <= FIRST_DATA_ROW:
                plan.append((title, FIRST_DATA_ROW, len(ranges), len(ranges)))
                ranges.append(absolute_range_name(title))
                continue
            # A tail: the header row, then the rows from ``start`` to the bottom of the grid.
            grid = sheets[title].get("gridProperties", {})
            header = len(ranges)
            ranges.append(absolute_range_name(title, "1:1"))
            data = None
            if start <= grid.get("rowCount", 0):
                last_column = rowcol_to_a1(1, max(1, grid.get("columnCount", 1))).rstrip("0123456789")
                data = len(ranges)
                ranges.append(absolute_range_name(title, f"A{start}:{last_column}"))
            plan.append((title, start, header, data))  # data None: the grid ends before it
        reply = self._call(
            self._client.http_client.values_batch_get, self._key, ranges, params=_read_params()
        )
        values = [r.get("values", []) for r in reply.get("valueRanges", [])]
        grids = {}
        for title, start, header, data in plan:
            if header == data:
                grids[title] = Grid.from_values(title, values[header])
                continue
            tail = values[data] if data is not None else []
            grid = Grid.from_values(title, (values[header][:1] or [[]]) + tail)
            grid.first_row = start
            grids[title] = grid
        return grids

    def write(self, job: WriteJob) -> None:
        """One values:batchUpdate for the whole job, appends included, so a job lands whole
        (a job that deletes rows: one spreadsheets:batchUpdate, see ``_write_with_deletes``).

        Sheets applies a values:batchUpdate atomically, which values:append cannot promise
        across tabs; appended rows are therefore written at the row after the last one the
        job read. A grid too small for them is grown first (one extra request, rarely).
        """
        if not job:
            return
        self._refresh_if_narrow(job)
        self._check_before_write(job)
        self._grow_grids(job)
        updates = list(job.updates)
        for title, append in job.appends.items():
            for offset, row in enumerate(append.rows):
                updates.extend(CellUpdate(title, append.start_row + offset, c, v) for c, v in enumerate(row))
        if any(job.deletes.values()):
            self._write_with_deletes(job, updates)
        elif updates:
            body = {"valueInputOption": "RAW", "data": _value_ranges(updates)}
            self._call(self._client.http_client.values_batch_update, self._key, body=body)

    def _write_with_deletes(self, job: WriteJob, updates: Sequence[CellUpdate]) -> None:
        """A job that removes rows goes as ONE spreadsheets:batchUpdate (Sheets deletes rows on
        that endpoint only): its cells as updateCells at the positions read, then the row
        deletions bottom first. The endpoint applies a batch all or nothing, so an archive
        pass never leaves a moved mark without its deletion, or the reverse."""
        sheets = {s["properties"]["title"]: s["properties"] for s in self._metadata().get("sheets", [])}
        requests_ = [_update_cells(sheets[u[0]]["sheetId"], u[1], u[2], u[3]) for u in _cell_runs(updates)]
        for title, rows in job.deletes.items():
            props = sheets[title]
            # Consecutive rows go as one range (an archive pass removes thousands at the top).
            runs: list[list[int]] = []
            for row in sorted(set(rows)):
                if runs and runs[-1][1] == row - 1:
                    runs[-1][1] = row
                else:
                    runs.append([row, row])
            for first, last in reversed(runs):
                span = {
                    "sheetId": props["sheetId"],
                    "dimension": "ROWS",
                    "startIndex": first - 1,
                    "endIndex": last,
                }
                requests_.append({"deleteDimension": {"range": span}})
        self._call(self._client.http_client.batch_update, self._key, {"requests": requests_})
        for title, rows in job.deletes.items():
            grid = sheets[title].setdefault("gridProperties", {})
            grid["rowCount"] = grid.get("rowCount", 0) - len(set(rows))

    def _refresh_if_narrow(self, job: WriteJob) -> None:
        """Re-fetch metadata when the job seems wider than a cached grid.

        Staff widen tabs by inserting columns in Sheets; the cached columnCount then lags
        behind the header just read, and growing by the cached figure would add columns nobody
        asked for. One metadata request, only in that case.
        """
        widths = {
            s["properties"]["title"]: s["properties"].get("gridProperties", {}).get("columnCount", 0)
            for s in self._metadata().get("sheets", [])
        }
        _, columns_needed = _grid_needs(job)
        if any(needed > widths.get(title, 0) for title, needed in columns_needed.items()):
            self._meta = None

    def _check_before_write(self, job: WriteJob) -> None:
        """Refuse a job built on a read that no longer holds, in one values:batchGet.

        Appends are written by position (for atomicity), so their rows must still be empty;
        the cells the job expects (each updated row's key, the staff cells it overwrites, the
        lease) must still read as they did: a person who inserted a row, sorted a tab or typed
        in a cell since the read must not have their work overwritten. The Sheets API has no
        conditional write, so this narrows the window to the time between two requests.
        """
        sheets = {s["properties"]["title"]: s["properties"] for s in self._metadata().get("sheets", [])}
        ranges: list[str] = []
        appends: list[tuple[str, int]] = []
        for title, append in job.appends.items():
            if not append.rows:
                continue
            grid = sheets.get(title, {}).get("gridProperties", {})
            # Rows beyond the grid are empty by definition, and the API refuses ranges past it.
            last_row = min(append.start_row + len(append.rows) - 1, grid.get("rowCount", 0))
            width = min(_append_width(job, title), grid.get("columnCount", 0))
            if last_row < append.start_row or width < 1:
                continue
            span = f"{rowcol_to_a1(append.start_row, 1)}:{rowcol_to_a1(last_row, width)}"
            appends.append((title, append.start_row))
            ranges.append(absolute_range_name(title, span))
        # Expected cells: one range per (tab, column), from the first to the last row expected.
        spans: dict[tuple[str, int], list[int]] = defaultdict(list)
        for expected in job.expectations:
            spans[(expected.tab, expected.column)].append(expected.row)
        columns = sorted(spans)
        for tab, column in columns:
            rows = spans[(tab, column)]
            span = f"{rowcol_to_a1(min(rows), column + 1)}:{rowcol_to_a1(max(rows), column + 1)}"
            ranges.append(absolute_range_name(tab, span))
        if not ranges:
            return
        reply = self._call(
            self._client.http_client.values_batch_get, self._key, ranges, params=_read_params()
        )
        found = [r.get("values", []) for r in reply.get("valueRanges", [])]
        for (title, start_row), rows in zip(appends, found, strict=False):
            for offset, row in enumerate(rows):
                if any(cell_text(v).strip() for v in row):
                    raise StaleWorkbookError(
                        f"「{title}」シート {start_row + offset}行目に読み込み後に別の行が書き込まれたため、"
                        "書き込みをやめました。もう一度実行してください"
                    )
        now = {}
        for (tab, column), rows in zip(columns, found[len(appends) :], strict=True):
            first = min(spans[(tab, column)])
            for offset, row in enumerate(rows):
                now[(tab, first + offset, column)] = cell_text(row[0]) if row else ""
        for expected in job.expectations:
            found_text = now.get((expected.tab, expected.row, expected.column), "")
            if found_text != cell_text(expected.value):
                raise conflict(job, expected, found_text)

    def _grow_grids(self, job: WriteJob) -> None:
        """Make room for the job in one spreadsheets:batchUpdate, only when it needs any."""
        sheets = {s["properties"]["title"]: s["properties"] for s in self._metadata().get("sheets", [])}
        rows_needed, columns_needed = _grid_needs(job)
        requests_ = []
        for title in sorted(rows_needed.keys() | columns_needed.keys()):
            props = sheets[title]
            grid = props.setdefault("gridProperties", {})
            rows, columns = grid.get("rowCount", 0), grid.get("columnCount", 0)
            if rows_needed.get(title, 0) > rows:
                # Rows grow generously (each growth is one more request) ...
                extra = max(rows_needed[title] - rows, 1000)
                requests_.append(_append_dimension(props["sheetId"], "ROWS", extra))
                grid["rowCount"] = rows + extra
            if columns_needed.get(title, 0) > columns:
                # ... columns exactly: every column costs a cell in every row of the tab.
                requests_.append(
                    _append_dimension(props["sheetId"], "COLUMNS", columns_needed[title] - columns)
                )
                grid["columnCount"] = columns_needed[title]
        if requests_:
            self._call(self._client.http_client.batch_update, self._key, {"requests": requests_})

    def cells_used(self) -> int:
        """Every grid's rowCount × columnCount, blank cells included, as Google counts them."""
        self._meta = None  # one metadata request: grids grow with every sync and staff edit
        return sum(
            s["properties"].get("gridProperties", {}).get("rowCount", 0)
            * s["properties"].get("gridProperties", {}).get("columnCount", 0)
            for s in self._metadata().get("sheets", [])
        )

    def trim_grids(self, *, row_margin: int = TRIM_ROW_MARGIN) -> list[GridTrim]:
        """Shrink every tab's grid to the cells in use, in one spreadsheets:batchUpdate.

        Google counts every cell of every grid, blank or not, against the spreadsheet's
        10 million. Columns are cut after the last one holding any value (header or data);
        rows after the last row holding any value, plus a margin for the next appends.
        Values are read as FORMULA so that a formula showing "" still counts as a value.
        """
        self._meta = None  # sizes must be current: deleting past the grid is an error
        sheets = [s["properties"] for s in self._metadata().get("sheets", [])]
        if not sheets:
            return []
        reply = self._call(
            self._client.http_client.values_batch_get,
            self._key,
            [absolute_range_name(p["title"]) for p in sheets],
            params={"majorDimension": "ROWS", "valueRenderOption": "FORMULA"},
        )
        trims, requests_ = [], []
        for props, found in zip(sheets, reply.get("valueRanges", []), strict=True):
            grid = props.get("gridProperties", {})
            rows, columns = grid.get("rowCount", 0), grid.get("columnCount", 0)
            used_rows, used_columns = _used_extent(found.get("values", []))
            keep_rows = min(rows, max(used_rows + row_margin, 2))
            keep_columns = min(columns, max(used_columns, 1))
            trims.append(GridTrim(props["title"], rows, columns, keep_rows, keep_columns))
            for dimension, keep, size in (("ROWS", keep_rows, rows), ("COLUMNS", keep_columns, columns)):
                if keep < size:
                    span = {
                        "sheetId": props["sheetId"],
                        "dimension": dimension,
                        "startIndex": keep,
                        "endIndex": size,
                    }
                    requests_.append({"deleteDimension": {"range": span}})
        if requests_:
            self._call(self._client.http_client.batch_update, self._key, {"requests": requests_})
        self._meta = None
        return trims

    def protect_machine_cells(self, specs: Sequence[TabSpec]) -> int:
        """Warning-only protected ranges over what Ichigen writes: each Ichigen column of a tab
        staff type into (在庫's 引当数, 受注's mall data…), and the whole of the tabs only
        Ichigen writes (ledger, logs, hidden state). Sheets then asks "are you sure?" before a
        person types there; Ichigen's own writes (API) are not affected. One column per range,
        so a column staff insert beside one is not swept in; ranges already there (found by
        their description) are left alone. Returns how many were added (one batchUpdate).

        Tabs Ichigen creates get theirs with them (``add_tabs``); this is for a spreadsheet
        made before, from ``python -m sheets_schema check --fix``."""
        self._meta = None  # current protections and sheet ids
        sheets = {s["properties"]["title"]: s for s in self._metadata().get("sheets", [])}
        present = [spec for spec in specs if spec.title in sheets]
        partial = [spec for spec in present if spec.staff_columns and not spec.hidden]
        headers: dict[str, list[str]] = {}
        if partial:
            reply = self._call(
                self._client.http_client.values_batch_get,
                self._key,
                [absolute_range_name(spec.title, "1:1") for spec in partial],
                params={"majorDimension": "ROWS", "valueRenderOption": "FORMATTED_VALUE"},
            )
            for spec, found in zip(partial, reply.get("valueRanges", []), strict=True):
                headers[spec.title] = [str(v).strip() for v in (found.get("values") or [[]])[0]]
        existing = {
            str(p.get("description", "")) for s in sheets.values() for p in s.get("protectedRanges", [])
        }
        requests_ = [
            request
            for spec in present
            for request in _protections(
                spec, sheets[spec.title]["properties"]["sheetId"], headers.get(spec.title)
            )
            if request["addProtectedRange"]["protectedRange"]["description"] not in existing
        ]
        if requests_:
            self._call(self._client.http_client.batch_update, self._key, {"requests": requests_})
        self._meta = None
        return len(requests_)

    def add_columns(self, title: str, headers: Sequence[str]) -> None:
        """New header cells after the last one in use, each still blank when written (a person
        adding a column at the same moment keeps theirs: the job is refused and tried again)."""
        header = self.read([title], start_rows={title: 10**9}).get(title)
        if header is None:
            raise StaleWorkbookError(f"「{title}」シートがありません。再読み込みしてください")
        current = list(header.header)
        while current and not current[-1].strip():
            current.pop()
        new = [h for h in headers if h not in current]
        if not new:
            return
        self._meta = None  # the grid's width as it is now
        sheets = {s["properties"]["title"]: s["properties"] for s in self._metadata().get("sheets", [])}
        width = sheets[title].get("gridProperties", {}).get("columnCount", 0)
        job = WriteJob(headers={title: current})
        for offset, name in enumerate(new):
            column = len(current) + offset
            if column < width:  # beyond the grid a cell is blank by definition (and unreadable)
                job.expectations.append(CellUpdate(title, 1, column, ""))
            job.updates.append(CellUpdate(title, 1, column, name))
        self.write(job)

    def add_tabs(self, tabs: Sequence[NewTab]) -> None:
        if not tabs:
            return
        # Ids chosen here, so the new tabs' protections go in the same batchUpdate.
        taken = {s["properties"]["sheetId"] for s in self._metadata().get("sheets", [])}
        ids: list[int] = []
        while len(ids) < len(tabs):
            candidate = secrets.randbelow(2**31 - 2) + 1
            if candidate not in taken:
                taken.add(candidate)
                ids.append(candidate)
        requests_: list[dict[str, Any]] = [
            {
                "addSheet": {
                    "properties": {
                        "sheetId": sheet_id,
                        "title": t.title,
                        "hidden": t.hidden,
                        # Exactly as wide as the data: each row costs columnCount cells of the
                        # spreadsheet's 10 million; writes grow the grid when staff add columns.
                        "gridProperties": {"rowCount": 1000, "columnCount": _tab_width(t)},
                    }
                }
            }
            for t, sheet_id in zip(tabs, ids, strict=True)
        ]
        for t, sheet_id in zip(tabs, ids, strict=True):
            spec = TAB_BY_TITLE.get(t.title)
            if spec is not None:
                requests_.extend(_protections(spec, sheet_id, None if spec.hidden else list(t.header)))
        # The header (and any first rows) in the same batchUpdate, which Sheets applies whole:
        # no other runner ever reads the new tab without its header.
        for t, sheet_id in zip(tabs, ids, strict=True):
            for offset, row in enumerate([list(t.header), *(list(r) for r in t.rows)]):
                requests_.append(_update_cells(sheet_id, 1 + offset, 0, row))
        reply = self._call(self._client.http_client.batch_update, self._key, {"requests": requests_})
        added = [r["addSheet"] for r in reply.get("replies", []) if "addSheet" in r]
        self._metadata().setdefault("sheets", []).extend(added)


def _protections(spec: TabSpec, sheet_id: int, header: Sequence[str] | None) -> list[dict[str, Any]]:
    """Warning-only protections for a tab: each Ichigen column of a tab staff type into (by
    its header as it stands), or the whole tab when staff type nothing there (or it is hidden:
    ``header`` None)."""

    def protect(grid: dict[str, Any], description: str) -> dict[str, Any]:
        body = {"range": grid, "description": description, "warningOnly": True}
        return {"addProtectedRange": {"protectedRange": body}}

    if header is None or not spec.staff_columns:
        return [protect({"sheetId": sheet_id}, f"Ichigen: 「{spec.title}」シートは Ichigen が書き込みます")]
    return [
        protect(
            {"sheetId": sheet_id, "startColumnIndex": column, "endColumnIndex": column + 1},
            f"Ichigen: 「{spec.title}」の「{name}」列は Ichigen が書き込みます",
        )
        for column, name in enumerate(header)
        if name in spec.system_columns
    ]


def _tab_width(tab: NewTab) -> int:
    return max([len(tab.header), *(len(r) for r in tab.rows), 1])


def _append_dimension(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def _grid_needs(job: WriteJob) -> tuple[dict[str, int], dict[str, int]]:
    """Rows and columns each tab's grid must have for the job to fit."""
    rows: dict[str, int] = {}
    columns: dict[str, int] = defaultdict(int)
    for title, append in job.appends.items():
        if append.rows:
            rows[title] = append.start_row + len(append.rows) - 1
            columns[title] = max(columns[title], _append_width(job, title))
    for u in job.updates:
        columns[u.tab] = max(columns[u.tab], u.column + 1, len(job.headers.get(u.tab, [])))
    return rows, dict(columns)


def _append_width(job: WriteJob, title: str) -> int:
    """Columns an append covers: the header the job read, or its widest row."""
    rows = job.appends[title].rows
    return max([len(job.headers.get(title, [])), *(len(r) for r in rows)])


def _cell_runs(updates: Sequence[CellUpdate]) -> list[tuple[str, int, int, list[Any]]]:
    """(tab, row, first column, values) per run of adjacent cells in a row; the last update
    of a cell wins."""
    by_row: dict[tuple[str, int], dict[int, Any]] = defaultdict(dict)
    for u in updates:
        by_row[(u.tab, u.row)][u.column] = u.value
    runs = []
    for (tab, row), cells in by_row.items():
        columns = sorted(cells)
        # Consecutive columns share the same (column - position) difference.
        for _, group in groupby(enumerate(columns), key=lambda pair: pair[1] - pair[0]):
            run = [column for _, column in group]
            runs.append((tab, row, run[0], [cells[c] for c in run]))
    return runs


def _value_ranges(updates: Sequence[CellUpdate]) -> list[dict[str, Any]]:
    """Cell updates as few ranges as possible: adjacent cells of a row become one range."""
    data = []
    for tab, row, first, values in _cell_runs(updates):
        span = f"{rowcol_to_a1(row, first + 1)}:{rowcol_to_a1(row, first + len(values))}"
        data.append({"range": absolute_range_name(tab, span), "majorDimension": "ROWS", "values": [values]})
    return data


def _update_cells(sheet_id: int, row: int, first: int, values: Sequence[Any]) -> dict[str, Any]:
    """Cells as an updateCells request, taken as typed like valueInputOption=RAW: text stays
    text (a leading = or ' is not interpreted), numbers stay numbers, blank clears."""
    cells = [{"userEnteredValue": _extended(v)} if _extended(v) else {} for v in values]
    start = {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": first}
    return {"updateCells": {"rows": [{"values": cells}], "fields": "userEnteredValue", "start": start}}


def _extended(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    return {"stringValue": str(value)}
