"""The ``Workbook`` port: what every backend (Google Sheets, SQL) offers, with one semantics.

- ``read`` returns the named tabs as grids of text in one backend request (whole, or from a
  given row on).
- ``write`` applies one job whole or not at all: cell updates, appends after the last row read,
  then row deletions; it refuses a job whose read no longer holds (an append target no longer
  empty, an updated row's key or overwritten staff cell changed, an expected cell changed).
- ``add_tabs`` creates tabs with their header row (hidden tabs are for Ichigen's own state);
  ``add_columns`` extends an existing tab's header.
- ``cells_used`` counts cells as Google Sheets does against its 10-million-cell limit.
A backend with a server that can hold a lock for a live session (PostgreSQL) also offers
``runner_lock()`` (see ``runner_lock`` below): the sync runner's lease is then that lock.
Values are written as given (RAW): text that looks like a formula stays text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from sheets_schema.changes import WriteJob
from sheets_schema.grid import Grid


@dataclass(frozen=True)
class WorkbookInfo:
    backend: Literal["sql", "google"]
    title: str
    location: str  # file path or database URL without password, or the spreadsheet's URL
    url: str | None = None
    # Where Ichigen's own tabs are when they are not with the staff tabs (the hybrid workbook):
    # the database URL without password.
    machine_location: str | None = None


@dataclass(frozen=True)
class NewTab:
    title: str
    header: tuple[str, ...]
    hidden: bool = False
    rows: tuple[tuple[str, ...], ...] = ()  # written with the header, when the tab is made


class RunnerLock(Protocol):
    """A lock the database server holds for one live session: released when its holder's
    process dies, without waiting for any expiry."""

    @property
    def held(self) -> bool: ...

    def acquire(self) -> bool:
        """Take it or confirm it is still held; False while another process holds it."""
        ...

    def release(self) -> None: ...


def runner_lock(workbook: object) -> RunnerLock | None:
    """The workbook's server-held runner lock, if its backend has one."""
    make = getattr(workbook, "runner_lock", None)
    return make() if callable(make) else None


class Workbook(Protocol):
    @property
    def info(self) -> WorkbookInfo: ...

    def tab_titles(self) -> list[str]: ...

    def hidden_titles(self) -> set[str]: ...

    def read(self, titles: Sequence[str], *, start_rows: Mapping[str, int] | None = None) -> dict[str, Grid]:
        """Grids of the named tabs that exist; a missing tab is simply absent.

        ``start_rows`` reads a tab's header and only its rows from that row on (``Grid.first_row``):
        how append-only tabs are read from a stored high-water mark instead of whole."""
        ...

    def write(self, job: WriteJob) -> None: ...

    def add_tabs(self, tabs: Sequence[NewTab]) -> None: ...

    def add_columns(self, title: str, headers: Sequence[str]) -> None:
        """Add these headers at the end of an existing tab's header row (those it lacks): how a
        tab made by an older Ichigen gains a column the contract added later."""
        ...

    def cells_used(self) -> int:
        """Cells the workbook takes against Google's limit (for SQL: what it would take there)."""
        ...
