"""Errors of the workbook layer. ``str(error)`` is always a Japanese sentence staff can act on."""


class WorkbookError(Exception):
    """Base class: the message is shown to staff as is."""


class HeaderError(WorkbookError):
    """A required column header is missing, renamed or doubled: writes to that tab are blocked."""


class InvalidRowError(WorkbookError):
    """A write would overwrite a row that has errors; staff must fix the row first."""


class AppendOnlyError(WorkbookError):
    """A ledger or log row would be changed; those tabs only grow."""


class StaleWorkbookError(WorkbookError):
    """The tab changed between the read and the write of a job (columns, or rows where it appends)."""


class WorkbookUnavailable(WorkbookError):
    """The backend could not be reached or refused the request after bounded retries."""
