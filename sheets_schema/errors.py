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


class CellConflict(StaleWorkbookError):
    """A cell the job expected to read as it was loaded holds something else now: someone (a
    person on another screen, or a sync) changed it since. Nothing of the job was written."""

    def __init__(self, tab: str, row: int, column: str, loaded: str, now: str) -> None:
        self.tab, self.row, self.column, self.loaded, self.now = tab, row, column, loaded, now
        shown = f"「{column}」列: 読み込んだときは「{loaded or '（空欄）'}」、今は「{now or '（空欄）'}」"
        super().__init__(
            f"「{tab}」シート {row}行目が読み込み後に変わったため（行の挿入・並べ替え・入力）、"
            f"書き込みをやめました（{shown}）。何も書き込んでいません。"
            "最新の状態を読み込んでから、もう一度実行してください"
        )


class WorkbookUnavailable(WorkbookError):
    """The backend could not be reached or refused the request after bounded retries."""
