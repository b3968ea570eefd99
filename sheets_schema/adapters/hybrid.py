"""The hybrid workbook: staff tabs on Google Sheets, Ichigen's own tabs on PostgreSQL.

Staff go on editing 商品, 在庫, モール商品, 受注 and メールテンプレート in the spreadsheet; the
tabs only Ichigen writes (``TabSpec.machine_owned``: 在庫移動, 同期ログ, 受注明細, メール送信履歴
and the hidden state tabs) live in a PostgreSQL database, where they cost no cells of Google's
10 million and take no requests of its 60 a minute.

One job, two stores, one outcome. A job that writes both goes like this:

1. A database transaction takes the hybrid write lock (an advisory lock: one such job at a time)
   and applies the database half, uncommitted.
2. That half is recorded as pending, committed on its own connection.
3. The Sheets half goes as one values:batchUpdate, which Sheets applies whole, together with a
   marker cell (hidden tab ``_書込確認``) set to the job's id.
4. The transaction deletes the pending record and commits.

So the Sheets request is the job's commit point. A process that dies (or loses its network)
after step 2 leaves the pending record; the next reader or writer, under the lock, reads the
marker: if it names the job, the Sheets half landed and the database half is applied from the
record; if not, nothing landed and the record is dropped. The database never runs ahead of the
spreadsheet: that direction would turn a count Ichigen wrote into a "staff edit" the next cycle.

Reads take the same lock shared, so a reader never sees one store after a job and the other
before it. Jobs with only one half write that store alone (nothing to keep in step).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook
from sheets_schema.adapters.sql import _SCHEMA_LOCK, PostgresRunnerLock, SqlWorkbook, masked_url, unavailable
from sheets_schema.changes import CellUpdate, TabAppend, WriteJob
from sheets_schema.errors import CellConflict, HeaderError, StaleWorkbookError, WorkbookUnavailable
from sheets_schema.grid import Grid, cell_text
from sheets_schema.tabs import TAB_BY_TITLE, machine_owned
from sheets_schema.workbook import NewTab, WorkbookInfo

MARKER_TAB = "_書込確認"
MARKER_HEADER = ("キー", "値")
MARKER_KEY = "最終書込"
MARKER_ROW = 2  # the marker's row: header in row 1

# Advisory lock keys (one workbook per database): jobs take it exclusively, reads shared.
_WRITE_LOCK = 0x1C41_4B59

_metadata = MetaData()
pending_table = Table(
    "ichigen_hybrid_pending",
    _metadata,
    Column("job_id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("part", Text, nullable=False),  # the database half of the job, as JSON
)


def split_job(job: WriteJob) -> tuple[WriteJob, WriteJob]:
    """(the Sheets half, the database half) of a job, by tab."""
    halves = (WriteJob(), WriteJob())

    def half(tab: str) -> WriteJob:
        return halves[1] if machine_owned(tab) else halves[0]

    for update in job.updates:
        half(update.tab).updates.append(update)
    for expected in job.expectations:
        half(expected.tab).expectations.append(expected)
    for title, append in job.appends.items():
        half(title).appends[title] = append
    for title, header in job.headers.items():
        half(title).headers[title] = header
    for title, rows in job.deletes.items():
        half(title).deletes[title] = rows
    return halves


def encode_job(job: WriteJob) -> str:
    return json.dumps(
        {
            "updates": [[u.tab, u.row, u.column, u.value] for u in job.updates],
            "expectations": [[u.tab, u.row, u.column, u.value] for u in job.expectations],
            "appends": {t: [a.start_row, a.rows] for t, a in job.appends.items()},
            "headers": job.headers,
            "deletes": job.deletes,
        },
        ensure_ascii=False,
    )


def decode_job(payload: str) -> WriteJob:
    data = json.loads(payload)
    return WriteJob(
        updates=[CellUpdate(*u) for u in data["updates"]],
        expectations=[CellUpdate(*u) for u in data["expectations"]],
        appends={t: TabAppend(t, start, rows) for t, (start, rows) in data["appends"].items()},
        headers=data["headers"],
        deletes=data["deletes"],
    )


class HybridRepairFailed(WorkbookUnavailable):
    """A pending job whose Sheets half landed could not be completed on the database."""


class HybridWorkbook:
    """The ``Workbook`` port over a Google Sheets spreadsheet (staff tabs) and a PostgreSQL
    database (Ichigen's own tabs); see the module's docstring for how a job stays whole."""

    def __init__(self, sheets: GoogleSheetsWorkbook, machine: SqlWorkbook) -> None:
        if machine.engine.dialect.name != "postgresql":
            raise ValueError(
                "[workbook] machine_url には PostgreSQL の URL（postgresql+psycopg://…）を指定してください"
            )
        self.sheets = sheets
        self.machine = machine
        try:
            with machine.engine.begin() as conn:
                # The schema lock (not the write lock: opening must not wait for a job).
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                _metadata.create_all(conn)
        except SQLAlchemyError as exc:
            raise unavailable(exc, machine.info.location, "読め") from exc

    # -- the port

    @property
    def info(self) -> WorkbookInfo:
        sheets = self.sheets.info
        return WorkbookInfo(
            sheets.backend,
            sheets.title,
            sheets.location,
            sheets.url,
            machine_location=masked_url(self.machine.engine.url),
        )

    def runner_lock(self) -> PostgresRunnerLock | None:
        return self.machine.runner_lock()

    def tab_titles(self) -> list[str]:
        # Machine tabs that were on the spreadsheet before the move stay there, unread: the
        # database's copy is the one in use.
        staff = [t for t in self.sheets.tab_titles() if not machine_owned(t) and t != MARKER_TAB]
        found = staff + [t for t in self.machine.tab_titles() if machine_owned(t)]
        # The contract's tabs in the contract's order, then staff's own tabs as they have them.
        order = {title: i for i, title in enumerate(TAB_BY_TITLE)}
        return sorted(found, key=lambda t: order.get(t, len(order)))

    def hidden_titles(self) -> set[str]:
        staff = {t for t in self.sheets.hidden_titles() if not machine_owned(t) and t != MARKER_TAB}
        return staff | {t for t in self.machine.hidden_titles() if machine_owned(t)}

    def read(self, titles: Sequence[str], *, start_rows: Mapping[str, int] | None = None) -> dict[str, Grid]:
        start_rows = start_rows or {}
        staff = [t for t in titles if not machine_owned(t)]
        machine = [t for t in titles if machine_owned(t)]
        with self._reading():
            grids: dict[str, Grid] = {}
            staff_rows = {t: start_rows[t] for t in staff if t in start_rows}
            machine_rows = {t: start_rows[t] for t in machine if t in start_rows}
            if staff and machine:
                # The spreadsheet answers over the network while the database is read here.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    from_sheets = pool.submit(self.sheets.read, staff, start_rows=staff_rows)
                    grids.update(self.machine.read(machine, start_rows=machine_rows))
                    grids.update(from_sheets.result())
            elif staff:
                grids.update(self.sheets.read(staff, start_rows=staff_rows))
            elif machine:
                grids.update(self.machine.read(machine, start_rows=machine_rows))
        return grids

    def write(self, job: WriteJob) -> None:
        if not job:
            return
        staff, machine = split_job(job)
        if not machine:
            self.sheets.write(staff)  # one Sheets batch: nothing on the database to keep in step
            return
        with self.machine.transaction() as conn:
            self._lock(conn)
            self._repair(conn)
            self.machine.apply(conn, machine)
            if not staff:
                return
            job_id = uuid.uuid4().hex
            self._record(job_id, machine)
            try:
                self.sheets.write(self._marked(staff, job_id))
            except (CellConflict, StaleWorkbookError, HeaderError):
                # Refused before anything was sent: nothing landed, nothing to repair.
                self._forget(job_id)
                raise
            conn.execute(delete(pending_table).where(pending_table.c.job_id == job_id))

    def add_tabs(self, tabs: Sequence[NewTab]) -> None:
        self.machine.add_tabs([t for t in tabs if machine_owned(t.title)])
        self.sheets.add_tabs([t for t in tabs if not machine_owned(t.title)])

    def add_columns(self, title: str, headers: Sequence[str]) -> None:
        (self.machine if machine_owned(title) else self.sheets).add_columns(title, headers)

    def cells_used(self) -> int:
        """The spreadsheet's cells: the database's rows do not count against Google's limit."""
        return self.sheets.cells_used()

    # -- keeping the two halves of a job together

    def pending_jobs(self) -> int:
        """Jobs whose outcome is still to be settled (a writer died mid-job)."""
        try:
            with self.machine.engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(pending_table)) or 0
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.machine.info.location, "読め") from exc

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the write lock shared while both stores are read; settle a dead writer's job
        first, so what is read is whole on both sides."""
        engine = self.machine.engine
        try:
            for _ in range(3):
                with engine.connect() as conn, conn.begin():
                    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _WRITE_LOCK})
                    if conn.scalar(select(pending_table.c.job_id).limit(1)) is None:
                        yield
                        return
                # A writer died mid-job: settle it under the exclusive lock, then read.
                with self.machine.transaction() as conn:
                    self._lock(conn)
                    self._repair(conn)
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.machine.info.location, "読め") from exc
        raise WorkbookUnavailable("ワークブックの書き込みの確認が終わらないため、読み込めませんでした")

    def _lock(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})

    def _repair(self, conn: Connection) -> None:
        """Under the exclusive lock: finish (Sheets half landed) or drop (it did not) each job a
        dead writer left pending. Every job repairs first, so at most the last one landed."""
        pending = conn.execute(select(pending_table).order_by(pending_table.c.created_at)).all()
        if not pending:
            return
        marker = self._marker()
        for row in pending:
            if row.job_id == marker:
                try:
                    self.machine.apply(conn, decode_job(row.part))
                except (CellConflict, StaleWorkbookError) as exc:
                    raise HybridRepairFailed(
                        "前回の同期の途中で止まった書き込みを、データベース側で完了できませんでした"
                        f"（{exc}）。管理者に連絡してください"
                    ) from exc
            conn.execute(delete(pending_table).where(pending_table.c.job_id == row.job_id))

    def _marker(self) -> str:
        grid = self.sheets.read([MARKER_TAB]).get(MARKER_TAB)
        if grid is None or grid.end_row <= MARKER_ROW:
            return ""
        return cell_text(grid.cell(MARKER_ROW, 1))

    def _marked(self, staff: WriteJob, job_id: str) -> WriteJob:
        """The Sheets half plus the marker naming the job, in the same batch."""
        if MARKER_TAB not in self.sheets.tab_titles():
            self.sheets.add_tabs([NewTab(MARKER_TAB, MARKER_HEADER, hidden=True, rows=((MARKER_KEY, ""),))])
        marked = WriteJob(
            updates=[*staff.updates, CellUpdate(MARKER_TAB, MARKER_ROW, 0, MARKER_KEY)],
            appends=staff.appends,
            headers={**staff.headers, MARKER_TAB: list(MARKER_HEADER)},
            expectations=staff.expectations,
            deletes=staff.deletes,
        )
        marked.updates.append(CellUpdate(MARKER_TAB, MARKER_ROW, 1, job_id))
        return marked

    def _record(self, job_id: str, machine: WriteJob) -> None:
        """The database half as pending, committed now on a connection of its own: it must
        outlive this process if the process dies once the Sheets half may have landed."""
        try:
            with self.machine.engine.begin() as conn:
                conn.execute(
                    insert(pending_table).values(
                        job_id=job_id, created_at=datetime.now(UTC), part=encode_job(machine)
                    )
                )
        except SQLAlchemyError as exc:
            raise unavailable(exc, self.machine.info.location, "書き込め") from exc

    def _forget(self, job_id: str) -> None:
        with contextlib.suppress(SQLAlchemyError), self.machine.engine.begin() as conn:
            conn.execute(delete(pending_table).where(pending_table.c.job_id == job_id))
