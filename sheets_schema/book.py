"""Workbook-level jobs: open the configured workbook, read and parse tabs, create missing tabs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from settings import Settings
from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid
from sheets_schema.parsing import RowError, Table, missing_table, parse_grid
from sheets_schema.tabs import (
    MAIL_TEMPLATES,
    ORDER_RULES,
    ORDERS,
    PRODUCTS,
    STOCK,
    STOCK_RECORDS,
    SYNC_LOG,
    SYSTEM_STATE,
    TABS,
    TabSpec,
)
from sheets_schema.workbook import NewTab, Workbook
from vocabulary.retry import RetryPolicy

Tables = Mapping[str, Table[Any]]
DEMO_MARKER = "デモデータ作成日時"


def open_workbook(settings: Settings) -> Workbook:
    if settings.backend == "google":
        from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook

        google = settings.google
        assert google is not None
        sheets = GoogleSheetsWorkbook(
            google.spreadsheet_key,
            google.service_account_info(),
            api_base_url=google.api_base_url,
            policy=RetryPolicy(google.max_retries, google.backoff_base_seconds, google.backoff_max_seconds),
            timeout_seconds=google.timeout_seconds,
        )
        if not settings.machine_url():
            return sheets
        from sheets_schema.adapters.hybrid import HybridWorkbook
        from sheets_schema.adapters.sql import SqlWorkbook

        return HybridWorkbook(sheets, SqlWorkbook(settings.machine_url(), options=settings.sql_options()))
    from sheets_schema.adapters.sql import SqlWorkbook

    return SqlWorkbook(settings.sql_url(), options=settings.sql_options())


def open_prepared_workbook(settings: Settings, now: datetime) -> Workbook:
    """The configured workbook with every tab present; a new embedded one gets the demo shop."""
    workbook = open_workbook(settings)
    existing = set(workbook.tab_titles())
    if settings.backend == "sql" and settings.workbook.seed_demo:
        seed_demo_if_new(workbook, now)
    else:
        ensure_tabs(workbook)
    # Tabs made just now have today's header; older ones may lack a column added since.
    ensure_columns(workbook, [s for s in TABS if s.title in existing])
    return workbook


def read_tables(workbook: Workbook, specs: Iterable[TabSpec] = TABS) -> Tables:
    """Every named tab in one backend read, parsed; a missing tab comes back unwritable."""
    specs = list(specs)
    grids = workbook.read([s.title for s in specs])
    return {s.title: parse_grid(s, grids[s.title]) if s.title in grids else missing_table(s) for s in specs}


# Append-only history a snapshot does not read up front: it grows without end.
NOT_PREFETCHED = frozenset({SYNC_LOG.title})


class LazyTables(Mapping[str, Table[Any]]):
    """Tabs parsed on first use, for read-only views: a page that never looks at the ledger
    never pays for it. ``prefetch`` reads every tab up front in one request (Google Sheets'
    request budget), except the append-only 同期ログ, which the 同期 page reads from its tail
    (shop/sync_health.py) and other views read in a request of their own when they need it;
    otherwise each tab is read when first used (SQL, where reads are cheap). Thread-safe, as
    one snapshot is shared by every session of the app."""

    def __init__(
        self,
        workbook: Workbook,
        specs: Iterable[TabSpec] = TABS,
        *,
        prefetch: bool = False,
        on_parse: Callable[[], None] | None = None,
    ) -> None:
        self._workbook = workbook
        self._on_parse = on_parse  # called after each tab is parsed
        self._specs = {s.title: s for s in specs}
        wanted = [title for title in self._specs if title not in NOT_PREFETCHED]
        self._grids = workbook.read(wanted) if prefetch else None
        self._raw: dict[str, Grid | None] = {}
        self._parsed: dict[str, Table[Any]] = {}
        self._lock = threading.Lock()

    def _grid(self, title: str) -> Grid | None:
        if title not in self._raw:
            read = self._grids if self._grids is not None and title not in NOT_PREFETCHED else None
            self._raw[title] = (read if read is not None else self._workbook.read([title])).get(title)
        return self._raw[title]

    def grid(self, title: str) -> Grid | None:
        """A tab's cells as read, not parsed (None when the tab is missing): enough to count
        its rows. Parsing it later reuses this read."""
        with self._lock:
            if title in self._parsed:
                return self._parsed[title].grid
            return self._grid(title)

    def size(self, title: str) -> tuple[int, int] | None:
        """A tab's (data rows, header width), None when the tab is missing: from its read when
        it has one, else from the backend when it can count without reading (SQL), so a tab
        nothing else needs is not read only to be counted."""
        with self._lock:
            if title in self._parsed:
                grid: Grid | None = self._parsed[title].grid
            elif title not in self._raw and (self._grids is None or title in NOT_PREFETCHED):
                sizes = getattr(self._workbook, "tab_sizes", None)
                if callable(sizes):
                    return sizes([title]).get(title)
                grid = self._grid(title)
            else:
                grid = self._grid(title)
            return None if grid is None else (len(grid.rows), len(grid.header))

    def __getitem__(self, title: str) -> Table[Any]:
        with self._lock:
            if title not in self._parsed:
                spec = self._specs[title]
                grid = self._grid(title)
                self._parsed[title] = parse_grid(spec, grid) if grid is not None else missing_table(spec)
                self._raw.pop(title, None)
                if self._on_parse is not None:
                    self._on_parse()
            return self._parsed[title]

    def __contains__(self, title: object) -> bool:
        return title in self._specs  # without parsing the tab, as Mapping's default would

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def row_errors(tables: Mapping[str, Table[Any]]) -> list[RowError]:
    return [e for t in tables.values() for e in t.errors]


def header_problems(tables: Mapping[str, Table[Any]]) -> list[str]:
    return [p for t in tables.values() for p in t.header_problems]


def ensure_tabs(workbook: Workbook, specs: Iterable[TabSpec] = TABS) -> list[str]:
    """Create the tabs that do not exist yet, with their headers; existing tabs are left alone."""
    existing = set(workbook.tab_titles())
    new = [NewTab(s.title, s.headers, s.hidden, s.initial_cells()) for s in specs if s.title not in existing]
    workbook.add_tabs(new)
    return [t.title for t in new]


def ensure_columns(workbook: Workbook, specs: Iterable[TabSpec] = TABS) -> list[str]:
    """Add the columns the contract gained since a tab was made (``TabSpec.added_columns``) at
    the end of its header; one read of the header rows. Returns '「tab」の「column」' notes."""
    specs = [s for s in specs if s.added_columns]
    titles = set(workbook.tab_titles())
    wanted = [s for s in specs if s.title in titles]
    if not wanted:
        return []
    headers = workbook.read([s.title for s in wanted], start_rows={s.title: 10**9 for s in wanted})
    added = []
    for spec in wanted:
        grid = headers.get(spec.title)
        if grid is None:
            continue
        missing = [h for h in spec.headers if h in spec.added_columns and h not in grid.header]
        if missing:
            workbook.add_columns(spec.title, missing)
            added.extend(f"「{spec.title}」の「{h}」" for h in missing)
    return added


def seed_demo_if_new(workbook: Workbook, now: datetime) -> bool:
    """Fill a workbook that has no data at all with the demo shop; never touches existing data."""
    from vocabulary.demo_shop import demo_shop

    ensure_tabs(workbook)
    # A shop has products or orders: raw grids, not a parse of everything (runs every start).
    # 商品 first: it is small, and a shop with products is never seeded, so the big 受注 is
    # read only when 商品 is empty.
    for title in (PRODUCTS.title, ORDERS.title):
        if any(grid.rows for grid in workbook.read([title]).values()):
            return False  # staff data exists: never overwrite it
    tables = read_tables(workbook)
    job = WriteJob()
    shop = demo_shop(now)
    for order in shop[ORDERS.title]:
        # The demo mails its customers too: a fictitious address derived from the phone number.
        digits = "".join(c for c in str(order.get("電話番号", "")) if c.isdigit())
        order.setdefault("メールアドレス", f"customer{digits[-8:]}@example.jp")
    for title, rows in shop.items():
        job.append(tables[title], rows)
    # The demo's 在庫 is what Ichigen "last wrote": a later edit by staff is a 手動調整.
    records = [
        {"SKU": r["SKU"], "実在庫": r["実在庫"], "安全在庫": r["安全在庫"], "更新日時": now}
        for r in shop[STOCK.title]
    ]
    job.append(tables[STOCK_RECORDS.title], records)
    job.append(tables[SYSTEM_STATE.title], [{"キー": DEMO_MARKER, "値": now, "更新日時": now}])
    # The demo mails by itself (to the outbox folder, as no mail server is set): a new user
    # sees automatic mails work. A real shop's templates start with 自動送信 OFF.
    templates = tables[MAIL_TEMPLATES.title]
    for record in templates.records:
        job.set(templates, record.row, {"自動送信": "ON"})
    # And runs two of the sample 受注ルール (a new shop's start OFF): orders with a note wait
    # as 保留, Okinawa goes by 日本郵便 with a tag. 高額の代引 stays OFF to try in the dry run.
    rules = tables[ORDER_RULES.title]
    for record in rules.records:
        if record.value.name in ("備考あり→保留", "沖縄・離島"):
            job.set(rules, record.row, {"有効": "ON"})
    workbook.write(job)
    return True


def demo_seeded_at(tables: Tables) -> str | None:
    state = tables.get(SYSTEM_STATE.title)
    if state is None:
        return None
    for record in state:
        if record.value.key == DEMO_MARKER:
            return record.value.value
    return None
