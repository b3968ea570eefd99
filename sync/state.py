"""Sync state kept in the hidden _システム tab: cursors, the runner lease and channel backoff.

Everything here is a key/value row, written in the same job as the data it describes, so a
cursor never runs ahead of the orders it covers.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sheets_schema.cells import JST, format_datetime
from sheets_schema.changes import WriteJob
from sheets_schema.grid import FIRST_DATA_ROW
from sheets_schema.parsing import Table

LEASE_KEY = "同期リース"
# 今すぐ同期 pressed while a `sync watch` runner holds the lease: the page writes REQUEST_KEY
# ("<when>|<who>"), the runner wakes, syncs, and writes what it did to DONE_KEY
# ("<the request>|<when its job was written>"). Two keys, one writer each: nothing is raced.
REQUEST_KEY = "同期依頼"
DONE_KEY = "同期依頼済"


def cursor_key(channel: str) -> str:
    return f"カーソル:{channel}"


def heartbeat_key(channel: str) -> str:
    """When the channel's last import succeeded (one that found nothing is not logged)."""
    return f"最終取込:{channel}"


def recheck_key(channel: str) -> str:
    """When the channel's open orders were last re-read (malls that cannot search by update)."""
    return f"再確認:{channel}"


def problems_key(channel: str) -> str:
    """Import problems of single orders or file rows still open for a channel (``Problems``)."""
    return f"取込エラー:{channel}"


def backoff_key(channel: str) -> str:
    return f"待機:{channel}"


def values(state: Table[Any]) -> dict[str, str]:
    return {r.value.key: r.value.value for r in state}


def put(job: WriteJob, state: Table[Any], key: str, value: str, now: datetime) -> None:
    """Set a key: update its row, or append one (in the same job as the data it describes)."""
    row = state.find_row((key,))
    cells = {"キー": key, "値": value, "更新日時": now}
    if row is None:
        pending = job.appends.get(state.title)
        if pending is not None:
            key_column = state.column("キー")
            value_column = state.column("値")
            for existing in pending.rows:
                if existing[key_column] == key:
                    existing[value_column] = value
                    return
        job.append(state, [cells])
    elif state.grid.cell(row, state.column("値")) != value:  # an unchanged value costs no write
        job.set(state, row, {"値": value, "更新日時": now}, allow_invalid=True)


def request_text(now: datetime, who: str) -> str:
    return f"{now.isoformat()}|{who}"


def requested_at(request: str) -> datetime | None:
    try:
        return datetime.fromisoformat(request.partition("|")[0]).astimezone(JST)
    except ValueError:
        return None


def pending_request(stored: dict[str, str]) -> str | None:
    """The request no runner has answered yet, if any."""
    request = stored.get(REQUEST_KEY, "")
    if not request or requested_at(request) is None:
        return None
    done = stored.get(DONE_KEY, "").rpartition("|")[0]
    return None if done == request else request


def answered_at(stored: dict[str, str], request: str) -> datetime | None:
    """When a runner answered exactly this request (its import job was written), if it has."""
    done, _, at = stored.get(DONE_KEY, "").rpartition("|")
    if done != request:
        return None
    try:
        return datetime.fromisoformat(at).astimezone(JST)
    except ValueError:
        return None


def holder_host(holder: str) -> str:
    """The machine in a lease holder's name ("<host>-<pid>-<random>")."""
    parts = holder.rsplit("-", 2)
    return parts[0] if len(parts) == 3 and parts[1].isdigit() else holder


@dataclass(frozen=True)
class Lease:
    holder: str
    expires_at: datetime

    def encode(self) -> str:
        return f"{self.holder}|{self.expires_at.isoformat()}"

    @classmethod
    def decode(cls, text: str) -> Lease | None:
        holder, _, expires = text.partition("|")
        if not holder or not expires:
            return None
        try:
            return cls(holder, datetime.fromisoformat(expires).astimezone(JST))
        except ValueError:
            return None

    def held_by_other(self, holder: str, now: datetime) -> bool:
        return self.holder != holder and self.expires_at > now and not self._holder_died()

    def _holder_died(self) -> bool:
        """A runner on this machine whose process is gone (killed, crashed) holds nothing."""
        host, _, rest = self.holder.rpartition("-")[0].rpartition("-")
        if host != socket.gethostname() or not rest.isdigit():
            return False
        try:
            os.kill(int(rest), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


@dataclass(frozen=True)
class Backoff:
    failures: int
    until: datetime

    def encode(self) -> str:
        return f"{self.failures}|{self.until.isoformat()}"

    @classmethod
    def decode(cls, text: str) -> Backoff | None:
        count, _, until = text.partition("|")
        try:
            return cls(int(count), datetime.fromisoformat(until).astimezone(JST))
        except ValueError:
            return None

    @classmethod
    def after(cls, previous: Backoff | None, now: datetime, interval_seconds: int) -> Backoff:
        failures = (previous.failures if previous else 0) + 1
        # Double the wait per consecutive failure, capped at an hour: a mall that is down is
        # retried, reported each time, and never silently dropped.
        wait = min(interval_seconds * 2 ** (failures - 1), 3600)
        return cls(failures, now + timedelta(seconds=wait))


def describe_backoff(backoff: Backoff) -> str:
    return (
        f"{backoff.failures}回続けて失敗したため、{format_datetime(backoff.until)} まで待ってから再試行します"
    )


# At most this many problems are kept per file (or per API channel), within one cell's 50,000
# characters: the first ones are what staff fix first; the 同期ログ has the count.
PROBLEMS_KEPT = 20
PROBLEMS_CHARS = 40_000


@dataclass(frozen=True)
class Problems:
    """Import problems still open for one channel, by file ("" for a mall's API): what the 受注
    ボード 要確認 queue lists until a later run reads that file (or that mall) without them.

    A file's entry is replaced whenever the file is read from its start again (saved again after
    a fix); an API channel's entry is replaced by every complete fetch (a skipped order is
    fetched and reported again every cycle until fixed at the mall)."""

    mall: str = ""
    reported_at: dict[str, str] = field(default_factory=dict)  # file → first found (ISO)
    problems: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def decode(cls, text: str) -> Problems:
        try:
            raw = json.loads(text) if text else {}
            files = raw.get("files", {})
            return cls(
                str(raw.get("mall", "")),
                {str(k): str(v["at"]) for k, v in files.items()},
                {str(k): [str(p) for p in v["problems"]] for k, v in files.items()},
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()

    def replaced(self, mall: str, file: str, problems: Sequence[str], now: datetime) -> Problems:
        """This file's problems as just found; the time first found is kept while they stay."""
        reported_at, kept = dict(self.reported_at), dict(self.problems)
        found = [p[:1000] for p in problems[:PROBLEMS_KEPT]]
        if not found:
            reported_at.pop(file, None)
            kept.pop(file, None)
        elif kept.get(file) != found:
            reported_at[file] = now.isoformat(timespec="seconds")
            kept[file] = found
        return Problems(mall, reported_at, kept)

    def encode(self) -> str:
        files = {f: {"at": self.reported_at[f], "problems": p} for f, p in self.problems.items()}
        text = json.dumps({"mall": self.mall, "files": files}, ensure_ascii=False)
        while len(text) > PROBLEMS_CHARS and files:
            files.pop(min(files, key=lambda f: files[f]["at"]))  # the oldest file's go first
            text = json.dumps({"mall": self.mall, "files": files}, ensure_ascii=False)
        return text if files else ""


def mark(stored: dict[str, str], key: str) -> int | None:
    """A row mark kept in _システム (where an append-only tab was last read up to): None when
    no cycle has set it yet (or it is not a number), never above the header."""
    try:
        return max(FIRST_DATA_ROW, int(stored[key]))
    except (KeyError, ValueError):
        return None
