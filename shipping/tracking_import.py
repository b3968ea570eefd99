"""Tracking numbers back from the carrier's software: detect the file, preview, apply.

``apply`` sets ステータス 出荷済, 配送会社 and 追跡番号 on matched orders only; the next sync
(``出荷連絡`` still empty) tells the malls. It never overwrites a different tracking number.

A 同梱 group's key (or its id typed in the 2-column file) stands for every order of the group:
each gets a row of its own in the preview, with the group's one tracking number, and is
checked (already shipped, another number, cancelled) as if it had been listed alone.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sheets_schema.changes import WriteJob
from sheets_schema.models import Carrier
from shipping.carrier_files import KeyMap, normalize_key
from shipping.carrier_files import key_map as carrier_key_map
from shipping.carrier_layouts import TRACKING_FORMATS, TrackingFormat
from shipping.order_keys import GROUP
from vocabulary.text import csv_problem, decode_staff_file

RowStatus = Literal[
    "照合OK",
    "見つからない",
    "出荷済み（同じ番号）",
    "矛盾（別の追跡番号が既にある）",
    "重複（ファイル内で同じ注文が2回）",
]
MATCHED: RowStatus = "照合OK"
NOT_FOUND: RowStatus = "見つからない"
SAME: RowStatus = "出荷済み（同じ番号）"
CONFLICT: RowStatus = "矛盾（別の追跡番号が既にある）"
DUPLICATE: RowStatus = "重複（ファイル内で同じ注文が2回）"
CARRIERS: tuple[str, ...] = Carrier.__args__


class TrackingFileError(ValueError):
    """The file cannot be read as a tracking file; the message is for staff."""


@dataclass(frozen=True)
class PreviewRow:
    line: int  # line in the file, 1-based
    key: str  # as written in the file
    tracking_number: str
    status: RowStatus
    reason: str
    mall: str = ""
    order_number: str = ""
    row: int | None = None  # 受注 row when the order was found


@dataclass
class ImportPreview:
    format: TrackingFormat
    rows: list[PreviewRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # lines without a tracking number, with why

    def by_status(self, status: RowStatus) -> list[PreviewRow]:
        return [r for r in self.rows if r.status == status]

    @property
    def matched(self) -> list[PreviewRow]:
        return self.by_status(MATCHED)

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in RowStatus.__args__}
        for r in self.rows:
            counts[r.status] += 1
        return counts


# --- reading ------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then CP932."""
    text = decode_staff_file(data)
    if text is None:
        raise TrackingFileError("文字コードを判別できません（UTF-8 か Shift_JIS のCSVを選んでください）")
    return text


def read_csv(data: bytes) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(decode(data), newline="")))
    except csv.Error as exc:  # e.g. a cell over csv.field_size_limit() (131,072 characters)
        raise TrackingFileError(csv_problem(exc)) from None
    return [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]


def normalize_tracking(value: str) -> str:
    """Full-width digits to half-width; hyphens and spaces removed."""
    return re.sub(r"[\s\-‐－ー]", "", unicodedata.normalize("NFKC", value or ""))


def _looks_like_number(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9\-]{6,}", normalize_tracking(value) or "x"))


def _header_name(cell: str) -> str:
    """A header cell compared loosely: full-width/half-width and spaces do not matter."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", cell))


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    wanted = {_header_name(n) for n in names}
    return next((i for i, cell in enumerate(header) if _header_name(cell) in wanted), None)


def _by_header(first: list[str]) -> TrackingFormat | None:
    """The format whose key and tracking columns the header row names, at their positions."""
    for fmt in TRACKING_FORMATS.values():
        if not fmt.key_names:
            continue
        key, tracking = _find(first, fmt.key_names), _find(first, fmt.tracking_names)
        if key is not None and tracking is not None:
            return replace(fmt, has_header=True, key_column=key, tracking_column=tracking)
    return None


_POSITIONAL = ("b2_issued", "ehiden2_history", "ehiden3_export", "yupri_history")


def _by_position(rows: list[list[str]], keys: Mapping[str, Any]) -> TrackingFormat | None:
    """A file without a header: the positional layout whose key column finds the most orders
    (ties: the one whose width is the standard export's). None when no column finds any."""
    if not rows:
        return None
    width = max(len(r) for r in rows)
    best: tuple[int, int, TrackingFormat] | None = None
    for name in _POSITIONAL:
        fmt = TRACKING_FORMATS[name]
        if max(fmt.key_column, fmt.tracking_column) >= width:
            continue
        found = sum(
            1
            for r in rows
            if fmt.key_column < len(r)
            and normalize_key(r[fmt.key_column]) in keys
            and _looks_like_number(r[fmt.tracking_column] if fmt.tracking_column < len(r) else "")
        )
        score = (found, int(fmt.width == width))
        if found and (best is None or score > best[:2]):
            best = (*score, fmt)
    return best[2] if best else None


def detect(data: bytes, keys: Mapping[str, Any] | None = None) -> TrackingFormat:
    """Which tracking file this is: by the names in its header row, or, without one, by which
    column holds the management keys of known orders (``keys``, from ``key_map``)."""
    rows = read_csv(data)
    if not rows:
        raise TrackingFileError("ファイルが空です")
    first = rows[0]
    found = _by_header(first)
    if found is not None:
        return found
    simple = TRACKING_FORMATS["simple"]
    width = max(len(r) for r in rows)
    if width == simple.width:
        return replace(simple, has_header=not _looks_like_number(first[1]))
    has_header = not any(_looks_like_number(c) for c in first)
    found = _by_position(rows[1:] if has_header else rows, keys or {})
    if found is not None:
        return replace(found, has_header=has_header)
    names = "・".join(
        f"{f.name}（{'/'.join(f.key_names[:1] + f.tracking_names[:1])}）"
        for f in TRACKING_FORMATS.values()
        if f.key_names
    )
    raise TrackingFileError(
        f"追跡番号ファイルの形式を判別できません（{width}列）。見出し行に管理番号と追跡番号の列名がある出力"
        f"（{names}）か、Ichigen で作った送り状データの管理番号が入った出力、"
        f"または「注文番号,追跡番号」の{simple.width}列で読み込んでください"
    )


# --- preview ------------------------------------------------------------------------------


def _resolve(key: str, key_map: KeyMap, orders: list[Any]) -> tuple[str, str] | str:
    """(モール, 注文番号) for a key, or why it could not be found."""
    normalized = normalize_key(key)
    if normalized in key_map:
        found = key_map[normalized]
        if found is None:
            return f"管理番号「{key}」は2つ以上の注文に当たるため照合できません。手で登録してください"
        return found
    groups = {o.bundle.strip() for o in orders if o.bundle.strip()}
    if unicodedata.normalize("NFKC", key).strip() in groups:  # the group id itself
        return GROUP, unicodedata.normalize("NFKC", key).strip()
    if ":" in key:
        mall, number = key.split(":", 1)
        if any(o.mall == mall and o.order_number == number for o in orders):
            return mall, number
    same = {(o.mall, o.order_number) for o in orders if o.order_number == key}
    if len(same) == 1:
        return same.pop()
    if len(same) > 1:
        malls = "・".join(sorted(m for m, _ in same))
        return f"注文番号「{key}」が複数のモール（{malls}）にあります。「モール:注文番号」で書いてください"
    return f"管理番号「{key}」に当たる注文が受注シートにありません"


def preview(tables: Mapping[str, Any], data: bytes, key_map: KeyMap | None = None) -> ImportPreview:
    """Each line of the file classified against 受注, nothing written. ``key_map``: the orders'
    management keys (``carrier_files.key_map`` of 受注 when not given)."""
    if key_map is None:
        key_map = carrier_key_map(tables["受注"].models())
    fmt = detect(data, key_map)
    rows = read_csv(data)
    start = 1 if fmt.has_header else 0
    orders_table = tables["受注"]
    orders_by_row = {r.row: r.value for r in orders_table}
    orders = list(orders_by_row.values())
    result = ImportPreview(fmt)
    seen: dict[tuple[str, str], int] = {}  # order → index in result.rows
    for index, cells in enumerate(rows[start:], start=start + 1):
        key = cells[fmt.key_column] if fmt.key_column < len(cells) else ""
        tracking = normalize_tracking(cells[fmt.tracking_column] if fmt.tracking_column < len(cells) else "")
        if not tracking:
            result.skipped.append(f"{index}行目: 追跡番号が空のため読み飛ばしました（管理番号「{key}」）")
            continue
        if not key:
            result.rows.append(PreviewRow(index, key, tracking, NOT_FOUND, "管理番号（注文番号）が空です"))
            continue
        found = _resolve(key, key_map, orders)
        if isinstance(found, str):
            result.rows.append(PreviewRow(index, key, tracking, NOT_FOUND, found))
            continue
        if found[0] == GROUP:
            targets = sorted((o.mall, o.order_number) for o in orders if o.bundle.strip() == found[1])
            if not targets:
                reason = f"同梱「{found[1]}」の注文が受注シートにありません（解除された可能性があります）"
                result.rows.append(PreviewRow(index, key, tracking, NOT_FOUND, reason))
            for target in targets:
                _classify(result, seen, orders_table, orders_by_row, index, key, tracking, target)
            continue
        _classify(result, seen, orders_table, orders_by_row, index, key, tracking, found)
    return result


def _classify(
    result: ImportPreview,
    seen: dict[tuple[str, str], int],
    orders_table: Any,
    orders_by_row: Mapping[int, Any],
    index: int,
    key: str,
    tracking: str,
    found: tuple[str, str],
) -> None:
    """One file line's row for one order: matched, already done, in conflict or a duplicate."""
    mall, number = found
    ident = f"{mall}:{number}"
    if found in seen:
        first = result.rows[seen[found]]
        if first.tracking_number != tracking and first.status != DUPLICATE:
            result.rows[seen[found]] = PreviewRow(
                first.line,
                first.key,
                first.tracking_number,
                DUPLICATE,
                f"注文 {ident} が {index}行目にも別の追跡番号「{tracking}」で出てきます。どちらか確かめてください",
                mall,
                number,
                first.row,
            )
        result.rows.append(
            PreviewRow(
                index,
                key,
                tracking,
                DUPLICATE,
                f"注文 {ident} は {first.line}行目と同じ注文です（{first.line}行目の番号「{first.tracking_number}」）",
                mall,
                number,
                first.row,
            )
        )
        return
    row = orders_table.find_row((mall, number))
    seen[found] = len(result.rows)
    if row is None:
        result.rows.append(
            PreviewRow(
                index, key, tracking, NOT_FOUND, f"注文 {ident} が受注シートにありません", mall, number
            )
        )
        return
    order = orders_by_row.get(row)
    if order is None:
        reason = f"注文 {ident}（受注シート {row}行目）に入力エラーがあります。先に直してください"
        result.rows.append(PreviewRow(index, key, tracking, NOT_FOUND, reason, mall, number, row))
        return
    existing = normalize_tracking(order.tracking_number)
    if existing == tracking:
        reason = f"注文 {ident} には同じ追跡番号が登録済みです（変更しません）"
        result.rows.append(PreviewRow(index, key, tracking, SAME, reason, mall, number, row))
    elif existing:
        reason = f"注文 {ident} には別の追跡番号「{order.tracking_number}」が既にあります。上書きしません"
        result.rows.append(PreviewRow(index, key, tracking, CONFLICT, reason, mall, number, row))
    elif order.status == "キャンセル":
        reason = f"注文 {ident} はキャンセル済みです。出荷済にはしません"
        result.rows.append(PreviewRow(index, key, tracking, CONFLICT, reason, mall, number, row))
    else:
        reason = f"注文 {ident} に追跡番号 {tracking} を登録し、出荷済にします"
        result.rows.append(PreviewRow(index, key, tracking, MATCHED, reason, mall, number, row))


# --- apply --------------------------------------------------------------------------------


def apply(tables: Mapping[str, Any], preview: ImportPreview, carrier: str | None = None) -> WriteJob:
    """A job setting ステータス 出荷済, 配送会社 and 追跡番号 on the matched orders only.

    Re-checked against ``tables`` (read again just before): an order that meanwhile got a
    different tracking number is left alone; the job also expects 追跡番号 unchanged at write."""
    chosen = carrier or preview.format.carrier
    if chosen not in CARRIERS:
        raise TrackingFileError(f"配送会社を選んでください（{'・'.join(CARRIERS)}）")
    orders_table = tables["受注"]
    orders_by_row = {r.row: r.value for r in orders_table}
    job = WriteJob()
    for item in preview.matched:
        row = orders_table.find_row((item.mall, item.order_number))
        order = orders_by_row.get(row) if row is not None else None
        if order is None:
            continue
        if normalize_tracking(order.tracking_number) not in ("", item.tracking_number):
            continue
        job.expect(orders_table, row, {"追跡番号": order.tracking_number})
        job.set(
            orders_table, row, {"ステータス": "出荷済", "配送会社": chosen, "追跡番号": item.tracking_number}
        )
    return job
