"""Each person's choices for a big table: which columns it shows, how many rows tall it is, and
whether long text wraps. Pure data and a small JSON store; the widgets are in ui/table_choices.

Why a file beside the app and not a tab of the workbook: these are screen settings, not the
shop's data. In the spreadsheet they would cost a Google request on every change and cells
staff would see and wonder about. The file holds, per person (a hash of the sign-in mail,
never the address itself), per table, the choice — a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROW_CHOICES: tuple[int, ...] = (8, 15, 25, 50)
HEADER_PX = 38
ROW_PX = 35
# Streamlit wraps cell text only when rows are taller than 4rem (its DataFrame component,
# ``isWrappingAllowed = rowHeight > 4rem``): 66 px gives three lines of 14 px text.
WRAPPED_ROW_PX = 66
LOCAL_USER = "このパソコン"


@dataclass(frozen=True)
class TableChoice:
    hidden: tuple[str, ...] = ()
    rows: int = 15
    wrap: bool = False

    def columns(self, available: Sequence[str]) -> list[str]:
        """The columns to show, in the table's own order; never none (the first stays)."""
        shown = [c for c in available if c not in self.hidden]
        return shown or list(available[:1])

    def row_height(self) -> int | None:
        return WRAPPED_ROW_PX if self.wrap else None

    def height(self, row_count: int) -> int:
        """Pixels for up to ``rows`` rows: no empty band under a short table."""
        per_row = WRAPPED_ROW_PX if self.wrap else ROW_PX
        return HEADER_PX + per_row * max(1, min(row_count, self.rows)) + 2

    def as_json(self) -> dict[str, Any]:
        return {"hidden": list(self.hidden), "rows": self.rows, "wrap": self.wrap}

    @classmethod
    def from_json(cls, data: Any, default: TableChoice) -> TableChoice:
        """A stored choice, or ``default`` for anything unreadable (a hand-edited file)."""
        if not isinstance(data, dict):
            return default
        hidden = data.get("hidden", list(default.hidden))
        rows = data.get("rows", default.rows)
        wrap = data.get("wrap", default.wrap)
        if not isinstance(hidden, list) or not all(isinstance(h, str) for h in hidden):
            hidden = list(default.hidden)
        if rows not in ROW_CHOICES:
            rows = default.rows
        return cls(tuple(hidden), rows, bool(wrap) if isinstance(wrap, bool) else default.wrap)


def person_key(email: str | None) -> str:
    """Who the choice belongs to: a hash of the signed-in address (the file lists no staff
    addresses), or this PC when there is no sign-in."""
    if not email:
        return LOCAL_USER
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


@dataclass
class ChoiceStore:
    """The choices of everyone using this app, in one JSON file written atomically (a reader
    never sees half a file; two writers never interleave within this process)."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, person: str, table: str, default: TableChoice) -> TableChoice:
        people = self._read().get(person)
        return TableChoice.from_json(people.get(table) if isinstance(people, dict) else None, default)

    def put(self, person: str, table: str, choice: TableChoice) -> None:
        with self._lock:
            data = self._read()
            people = data.get(person)
            if not isinstance(people, dict):
                people = data[person] = {}
            people[table] = choice.as_json()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".screen-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, ensure_ascii=False, indent=1)
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
