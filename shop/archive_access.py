"""How the app reaches the archive database: one ``Archive`` per URL and process, for reading.

The archive is written only by the archive pass (``python -m sheets_schema archive``, ``sync
watch``); pages only query it. An archive that was never written to is not there yet: pages then
treat it as empty (``None``) rather than create the SQLite file themselves.
"""

from __future__ import annotations

import functools

from sheets_schema.archive import Archive, archive_exists


@functools.lru_cache(maxsize=4)
def _open(url: str) -> Archive:
    # One engine (connection pool) per process, as for the workbook. Opening an existing file
    # adds the lookup indexes an older archive lacks, once; it never creates the file.
    return Archive(url)


def open_archive(url: str) -> Archive | None:
    """The archive at ``url``, or None while nothing has been archived there (no file yet)."""
    if not archive_exists(url):
        return None
    return _open(url)
