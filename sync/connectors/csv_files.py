"""Orders from files downloaded from a mall: Amazon's order report, or Ichigen's generic CSV.

The connector reads the files staff drop into an inbox folder, oldest arrival first, one page
per file (or per ``page_size`` orders), with a cursor that can resume inside a file. The rest
lives beside it:

- ``csv_layouts``: each kind of file as data (``Layout``, ``PRESETS``), with the sources of the
  Amazon report columns.
- ``csv_parsing``: ``parse_order_file`` (pure), bytes + layout -> orders and Japanese row errors;
  ``csv_cells`` reads one cell, ``csv_orders`` makes one order of its rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from sync.connectors.base import ChannelSettings, OrderPage
from sync.connectors.csv_cells import decode_file
from sync.connectors.csv_layouts import AMAZON_ORDER_REPORT, GENERIC, PRESETS, Layout
from sync.connectors.csv_parsing import FileRowError, ParseOutcome, parse_order_file
from sync.errors import MallRejected, MallUnavailable
from sync.models import Order, PushResult, Shipment, StockLevel
from vocabulary.jst import JST


class Settings(ChannelSettings):
    type: Literal["csv"]
    layout: str  # a name in PRESETS
    inbox_dir: Path  # relative to the project root, e.g. data/inbox/amazon
    file_glob: str = "*"
    page_size: int = Field(500, ge=1)  # orders per page of a large file

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, value: str) -> str:
        if value not in PRESETS:
            known = "、".join(PRESETS)
            raise ValueError(f"「{value}」という取込形式はありません（使えるのは {known}）")
        return value


@dataclass(frozen=True)
class CsvOrderPage(OrderPage):
    # Row errors of this page's file (on its first page only), for the 同期ログ.
    errors: tuple[str, ...] = ()
    file_name: str = ""
    # The file was read from its start (its errors are all in ``errors``, none = a clean read):
    # the engine then replaces that file's problems in the 要確認 queue (state.Problems).
    whole_file: bool = False


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Partial downloads, Excel lock files and hidden files are never orders.
_IGNORED_SUFFIXES = (".part", ".crdownload", ".download", ".tmp")


@dataclass(frozen=True, order=True)
class _Entry:
    arrival_ns: int
    name: str
    path: Path = field(compare=False)

    @property
    def key(self) -> tuple[int, str]:
        return self.arrival_ns, self.name


@dataclass(frozen=True)
class InboxCursor:
    """Where reading stopped: a file (arrival time, name, content digest) and how far into it.

    Text form ``"{arrival_ns}:{digest}:{done}:{name}"``; ``done`` is ``end`` once every order of
    the file was handed out, else the number of orders already handed out. Rule (start
    included): files sorted before the cursor's file are skipped; the cursor's own file is
    skipped when finished, resumed after ``done`` orders when not, and read again from the
    start when its content digest changed (rewritten within the same timestamp); files after
    it are read.
    """

    arrival_ns: int
    name: str
    digest: str
    done: int | None  # None: the whole file

    @property
    def key(self) -> tuple[int, str]:
        return self.arrival_ns, self.name

    def __str__(self) -> str:
        done = "end" if self.done is None else str(self.done)
        return f"{self.arrival_ns}:{self.digest}:{done}:{self.name}"

    @classmethod
    def parse(cls, text: str | None) -> InboxCursor | None:
        if not text:
            return None
        parts = text.split(":", 3)
        # A cursor from another connector type reads everything again; (モール, 注文番号)
        # duplicates are removed by the engine, so nothing is imported twice.
        if len(parts) != 4 or not parts[0].isdigit() or not (parts[2] == "end" or parts[2].isdigit()):
            return None
        arrival, digest, done, name = parts
        return cls(int(arrival), name, digest, None if done == "end" else int(done))


def _arrival_ns(path: Path) -> int:
    # Copying a download keeps its modification time (Explorer, cp -p), so a report copied in
    # late could sort before files already read and be skipped. ctime is when the file arrived
    # (Windows: creation; POSIX: last metadata change, which a copy or move sets), so the later
    # of the two is used. A touched file is read again; the engine removes duplicates.
    info = path.stat()
    return max(info.st_mtime_ns, info.st_ctime_ns)


class Connector:
    # A downloaded file is read only: stock and shipments go through the mall's own screens.
    pushes_stock = False
    confirms_shipments = False

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: Any = None,
        project_root: Path | str,
        clock: Any = None,
        sleep: Any = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.mall = settings.mall
        self.display_name = settings.display_name or settings.mall
        self.layout = PRESETS[settings.layout]
        self.inbox = Path(project_root) / settings.inbox_dir
        self.row_errors: list[str] = []

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[CsvOrderPage]:
        """Orders of files that arrived before ``until``, one page per file (or page_size orders)."""
        self.row_errors = []
        return self._pages(InboxCursor.parse(since), until)

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        return [
            PushResult(
                mall=self.mall,
                sku=level.sku,
                quantity=level.quantity,
                ok=False,
                error="CSV連携のモールには在庫を送信できません",
            )
            for level in levels
        ]

    def confirm_shipment(self, shipment: Shipment) -> None:
        raise MallRejected(
            f"「{self.display_name}」はファイル取込で連携しているため、出荷をモールへ送れません。"
            f"注文番号「{shipment.order_number}」の出荷は{self.mall}の管理画面で登録してください"
        )

    def _files(self, until: datetime) -> list[_Entry]:
        if not self.inbox.is_dir():
            raise MallUnavailable(
                f"「{self.display_name}」の取込フォルダ「{self.inbox}」が見つかりません。"
                "フォルダを作るか、設定の inbox_dir を直してください"
            )
        aware = until if until.tzinfo else until.replace(tzinfo=JST)
        until_ns = (aware - _EPOCH) // timedelta(microseconds=1) * 1000
        entries = []
        for path in self.inbox.glob(self.settings.file_glob):
            base = path.name
            if not path.is_file() or base.startswith((".", "~$")) or base.endswith(_IGNORED_SUFFIXES):
                continue
            arrival = _arrival_ns(path)
            if arrival < until_ns:  # later arrivals (maybe still being written) wait for next run
                # Relative to the inbox, so a "**/*.txt" glob cannot confuse same-named files.
                entries.append(_Entry(arrival, path.relative_to(self.inbox).as_posix(), path))
        return sorted(entries)

    def _pages(self, cursor: InboxCursor | None, until: datetime) -> Iterator[CsvOrderPage]:
        for entry in self._files(until):
            if cursor is not None and entry.key < cursor.key:
                continue
            try:
                data = entry.path.read_bytes()
            except OSError as exc:
                # Stop here rather than skip: the cursor must never move past an unread file.
                raise MallUnavailable(
                    f"「{entry.name}」を開けません。Excelなどで開いていれば閉じてください（{exc.strerror}）"
                ) from exc
            digest = hashlib.sha256(data).hexdigest()[:16]
            skip = 0
            if cursor is not None and entry.key == cursor.key and digest == cursor.digest:
                if cursor.done is None:
                    continue
                skip = cursor.done
            outcome = parse_order_file(data, self.layout, mall=self.mall, file_name=entry.name)
            errors = tuple(outcome.messages) if skip == 0 else ()  # reported once per file
            self.row_errors.extend(errors)
            yield from self._file_pages(entry, digest, outcome.orders, skip, errors)

    def _file_pages(
        self, entry: _Entry, digest: str, orders: list[Order], skip: int, errors: tuple[str, ...]
    ) -> Iterator[CsvOrderPage]:
        size = self.settings.page_size
        starts = range(skip, len(orders), size) or range(skip, skip + 1)  # an empty file: one page
        for start in starts:
            end = start + size
            done = end if end < len(orders) else None
            cursor = InboxCursor(entry.arrival_ns, entry.name, digest, done)
            page_errors = errors if start == skip else ()
            yield CsvOrderPage(
                orders[start:end], str(cursor), page_errors, entry.name, whole_file=start == skip == 0
            )


__all__ = [
    "AMAZON_ORDER_REPORT",
    "GENERIC",
    "PRESETS",
    "Connector",
    "CsvOrderPage",
    "FileRowError",
    "InboxCursor",
    "Layout",
    "ParseOutcome",
    "Settings",
    "decode_file",
    "parse_order_file",
]
