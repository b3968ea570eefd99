"""Scale benchmark: how a sync cycle grows with the shop's history.

    python bench/scale_bench.py build PATH --orders N [--per-day 1000] [--skus 5000]
                                      [--archive-after-days 30] [--verify]
    python bench/scale_bench.py run [--sizes 10000,50000] [--workdir DIR] [--rebuild] [--memory-gb 12]
                                    [--backend sqlite|postgresql|hybrid] [--pg-url URL]

``build`` writes a SQLite workbook plus archive exactly as Ichigen would hold them after N
orders of trading at ``--per-day`` orders a day, ending at a fixed NOW, and prints one JSON line
(orders total/hot/archived, the archive's path, ...). The workbook: 商品/在庫/_在庫記録/モール商品
for the SKUs, 受注 and 受注明細 with statuses that fit each order's age, the 在庫移動 ledger the
engine itself would have written (same movement IDs, same notes, at the minute cycle after each
change), _在庫送信 equal to today's 販売可能数, _台帳集計 and _受注在庫 as the cycles left them,
_システム cursors at NOW, the ledger and log marks where those tabs end (and 履歴:受注, the mark
an archive pass leaves, when orders were archived), and a capped 同期ログ. So a steady cycle on
it has nothing to do: no movement, no push.

The archive (``<stem>-archive.sqlite3`` beside the workbook, ``sheets_schema.archive.Archive``'s
tables, rows as the archive pass copies them) holds what that pass moves: every order shipped or
cancelled whose closure (the latest of 注文日時, 受注.更新日時 and its _受注在庫 row's 更新日時) is
more than ``--archive-after-days`` before NOW, with its 受注明細 rows, its _受注在庫 row and all
its 在庫移動 rows; other 在庫移動 rows (入庫, ...) and 同期ログ rows older than that cutoff. The
workbook's ledger keeps, per SKU with archived movements, one 繰越 movement (移動ID 繰越:{SKU},
at the cutoff, the on-hand sum of those movements) at the row of its earliest archived one: the
top of the ledger. _台帳集計 is unchanged by archiving (the fold of the hot ledger with its 繰越
rows is the fold of the whole history). The archive's fact tables (what 分析 reads) are built
from its rows at the end, as Ichigen builds them for an archive made before they existed.

Rows go straight into the adapter's and the archive's tables with bulk inserts, streamed in
time order with bounded memory (only orders not yet shipped or cancelled are held); an order's
fate is drawn when it is placed, so its rows go to the workbook or the archive at once.
``--verify`` then sums the ledger per SKU in SQL against 在庫 (any size), checks each 繰越 row
against the archive, _台帳集計 against 在庫 and the marks, and, up to 50k orders, parses every
tab as the engine does and checks no line would move stock and nothing is due.

Simplifications, on purpose: stock arrives (入庫) the moment a SKU runs low, so 実在庫 never
drops below 引当数; every order allocates stock (no FBA); 同期ログ keeps one cycle's four rows
per hour of history instead of four or more a minute.

``run`` builds (or reuses) one workbook per size and measures, each in a fresh process so the
peak RSS is that measurement's own: a warm-up cycle (the engine may upgrade the workbook on its
first run), three steady cycles (no new orders; median), and a cycle importing 100 new orders
from 4 in-memory malls. Wall and CPU seconds are both printed: CPU is steadier on a shared
machine. A cycle that did not do exactly its work stops the bench with exit code 1 and no
figure. Times are of ``run_once`` alone (the process's imports and the workbook's opening are
not in them). Each measurement runs under an address-space limit (``--memory-gb``). The cycles
run on a copy of the workbook and of its archive (the build is left as it is): the engine holds
the archive as ``sync watch`` does, so the 100 new orders are looked up in it (a copy of an
older build without 履歴:受注 gets the mark first). Then 分析 over 12 months (the year up to
NOW, every mall; ``measure_analytics``): the archive's GROUP BY sums for the view, combined with
the workbook's orders, and every figure of the page, checked against the archived rows.

``--backend postgresql`` measures the same on PostgreSQL: each size's copy (workbook and
archive) is moved to a fresh database with the product's own ``python -m sheets_schema migrate``
(timed: that is the migration at this size), and the cycles and 分析 run there. The server is
``--pg-url`` (one the bench may create and drop databases on) or, by default, a throwaway
cluster of tests/pg_cluster.py (fsync off: a benchmark's server), removed at the end. On
PostgreSQL the CPU column adds the server processes' CPU (read from /proc, a local server):
wall time minus both is waiting for a CPU on a busy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, MetaData, func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from settings import SyncSettings  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook, create_sql_engine, rows_table, tabs_table  # noqa: E402
from sheets_schema.archive import TABLE_NAMES, Archive, fact_tables  # noqa: E402
from sheets_schema.archive_ledger import MONTH_FACTS, RECEIPT_FACTS  # noqa: E402
from sheets_schema.book import ensure_tabs  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.tabs import (  # noqa: E402
    LEDGER_BALANCES,
    MALL_LISTINGS,
    ORDER_LINES,
    ORDER_SETTLEMENTS,
    ORDERS,
    PRODUCTS,
    STOCK,
    STOCK_MOVEMENTS,
    STOCK_PUSHES,
    STOCK_RECORDS,
    SYNC_LOG,
    SYSTEM_STATE,
)
from sync.connectors.base import OrderPage  # noqa: E402
from sync.ledger import EFFECTS, LineLedger  # noqa: E402
from sync.models import Address, Order, OrderLine, PushResult, Shipment, StockLevel  # noqa: E402
from sync.settlement import ARCHIVE_MARK, LEDGER_MARK, LOG_MARK, encode_lines, signature  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
LEDGER_FACT_TABLES = (MONTH_FACTS, RECEIPT_FACTS)
NOW_TS = int(NOW.timestamp())
DAY = 86_400
JST_OFFSET = 9 * 3600


@dataclass(frozen=True)
class Mall:
    name: str  # モール
    channel: str  # [malls.<channel>]
    share: float  # of all orders
    prefix: str  # of its order numbers

    def item_code(self, i: int) -> str:
        return {
            "楽天": f"item-{i:05d}",
            "Amazon": f"B0{i:08d}",
            "Yahoo!": f"y{i:05d}",
            "Shopify": f"8{i:09d}",
        }[self.name]


MALLS = (
    Mall("楽天", "rakuten", 0.40, "R"),
    Mall("Amazon", "amazon", 0.30, "A"),
    Mall("Yahoo!", "yahoo", 0.15, "Y"),
    Mall("Shopify", "shopify", 0.15, "S"),
)
CARRIERS = ("ヤマト運輸", "佐川急便", "日本郵便")
PAYMENTS = ("クレジットカード",) * 6 + ("銀行振込", "代金引換", "楽天ペイ", "PayPay")
SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "一郎", "美咲", "健", "陽子", "翔", "愛", "大輔", "由美")
PLACES = (
    ("150-0001", "東京都渋谷区神宮前1-1-1"),
    ("530-0001", "大阪府大阪市北区梅田2-2-2"),
    ("460-0008", "愛知県名古屋市中区栄3-3-3"),
    ("812-0012", "福岡県福岡市博多区博多駅中央街4-4"),
    ("060-0005", "北海道札幌市中央区北5条西5-5"),
)
SAFETY_STOCK = 2
# Up to this many orders ``--verify`` also parses every tab as the engine does; above it only the
# SQL totals: the parse holds the whole workbook in memory (GBs at 500k orders).
FULL_PARSE_LIMIT = 50_000


def stamp(ts: int) -> str:
    """A JST epoch second as Ichigen writes datetimes (format_datetime), without tz objects:
    this runs millions of times at 1.1M orders."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + JST_OFFSET))


def next_cycle(ts: int) -> int:
    """The sync cycle (one a minute, on the minute) that first sees something done at ``ts``."""
    return (ts // 60 + 1) * 60


def movement_id(kind: str, mall: str, order_number: str, line_number: int, n: int = 1) -> str:
    # The same format as sync.ledger._movement (tests/test_scale_bench.py holds them together):
    # the engine's replays find these rows as their own.
    suffix = "" if n == 1 else f":{n}"
    return f"{kind}:{mall}:{order_number}:{line_number}{suffix}"


# -- writing rows into the SQL adapter's tables


class TabWriter:
    """Appends rows of one tab in chunks. Rows come as lists in ``fields`` order and are stored
    in the tab's header order, so a column the engine adds later only costs a blank cell."""

    def __init__(self, conn: Connection, title: str, fields: Sequence[str], chunk: int = 20_000) -> None:
        tab = conn.execute(
            select(tabs_table.c.id, tabs_table.c.header).where(tabs_table.c.title == title)
        ).one()
        header = list(tab.header)
        missing = set(fields) - set(header)
        if missing:  # the schema moved on: this builder must be updated, not guess
            raise SystemExit(f"「{title}」 has no column(s) {sorted(missing)}: update bench/scale_bench.py")
        self.conn, self.tab_id, self.chunk = conn, tab.id, chunk
        self.order = (
            None if header == list(fields) else [list(fields).index(h) if h in fields else -1 for h in header]
        )
        last = conn.scalar(select(func.max(rows_table.c.row_number)).where(rows_table.c.tab_id == tab.id))
        self.next_row = (last or 1) + 1  # row 1 is the header; ensure_tabs may have added rows
        self.buffer: list[dict[str, Any]] = []

    def add(self, cells: list[Any]) -> None:
        if self.order is not None:
            cells = [cells[i] if i >= 0 else "" for i in self.order]
        self.buffer.append({"tab_id": self.tab_id, "row_number": self.next_row, "cells": cells})
        self.next_row += 1
        if len(self.buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.conn.execute(insert(rows_table), self.buffer)
            self.conn.commit()  # a transaction per chunk keeps SQLite's WAL small
            self.buffer = []


# The columns this builder writes, in the order its row lists use. Spelled out rather than taken
# from the TabSpecs: if a tab gains a column, rows still land under the right headers (the new
# column stays blank) instead of shifting; tests/test_scale_bench.py says when they drift.
FIELDS: dict[str, tuple[str, ...]] = {
    spec.title: tuple(columns.split())
    for spec, columns in (
        (PRODUCTS, "SKU 商品名 販売価格 原価 JANコード 仕入先 発注点 発注ロット リードタイム日数 メモ 棚番"),
        # The 商品登録 columns blank: each mall shows 商品's 商品名 and 販売価格.
        (
            MALL_LISTINGS,
            "モール SKU モール商品コード モールSKU 在庫連携 モール商品名 販売価格（モール） キャッチコピー 商品説明 カテゴリ タグ",
        ),
        (
            ORDERS,
            "モール 注文番号 注文日時 ステータス 支払方法 購入者名 送付先氏名 郵便番号 住所 電話番号 "
            "メールアドレス 合計金額 送料 備考 配送会社 配送方法 追跡番号 出荷連絡 要確認 モールステータス 在庫引当 更新日時 "
            "タグ ルール 同梱",  # no rule ran and nothing is bundled on the bench's orders: blank
        ),
        (ORDER_LINES, "モール 注文番号 明細番号 SKU 商品名 数量 単価 モール商品コード モールSKU"),
        (STOCK_MOVEMENTS, "移動ID 日時 SKU 区分 数量 モール 注文番号 明細番号 備考"),
        (
            SYNC_LOG,
            "実行ID 開始日時 終了日時 モール 処理 取得件数 新規 更新 重複スキップ 失敗 結果 エラー内容",
        ),
        (STOCK, "SKU 実在庫 引当数 安全在庫 販売可能数 更新日時 不良在庫"),
        (STOCK_RECORDS, "SKU 実在庫 安全在庫 更新日時"),
        (STOCK_PUSHES, "モール SKU モール商品コード モールSKU 送信数量 状態 送信日時 エラー"),
        (SYSTEM_STATE, "キー 値 更新日時"),
        (LEDGER_BALANCES, "SKU 実在庫 引当数 更新日時 不良在庫"),
        (ORDER_SETTLEMENTS, "モール 注文番号 反映状態 明細在庫 更新日時"),
    )
}


def tab_writer(conn: Connection, spec: Any) -> TabWriter:
    return TabWriter(conn, spec.title, FIELDS[spec.title])


def archive_path(path: Path) -> Path:
    """Where the archive of the workbook at ``path`` lives: beside it, as Ichigen keeps it."""
    return path.with_name(f"{path.stem}-archive.sqlite3")


class ArchiveWriter:
    """Rows into the archive database's typed tables (``sheets_schema.archive.Archive``), as
    the archive pass copies them (``_row``: integer columns as int or None, the rest as the
    workbook's text), with plain executemany on the DB-API connection: millions of rows."""

    def __init__(self, path: Path, chunk: int = 50_000) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        archive = Archive(f"sqlite:///{path}")  # the tables, keys and indexes exactly as the app makes them
        archive.engine.dispose()
        self.path, self.chunk = path, chunk
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA synchronous=OFF")  # a benchmark file: a power cut means building again
        self.db.execute("BEGIN")
        self.counts: Counter[str] = Counter()
        self.buffers: dict[str, list[tuple[Any, ...]]] = {}
        self.statements: dict[str, str] = {}
        self.integer: dict[str, list[bool]] = {}

    def add(self, spec: Any, cells: list[Any]) -> None:
        """``cells`` in the tab's header order (the builder's FIELDS order)."""
        title = spec.title
        buffer = self.buffers.get(title)
        if buffer is None:
            columns = ", ".join(f'"{h}"' for h in spec.headers)
            marks = ", ".join("?" for _ in spec.headers)
            self.statements[title] = f"INSERT INTO {TABLE_NAMES[title]} ({columns}) VALUES ({marks})"
            self.integer[title] = [h in spec.integer_columns for h in spec.headers]
            buffer = self.buffers[title] = []
        buffer.append(
            tuple(
                (v if type(v) is int else (None if v == "" else int(v)))
                if whole
                else (v if type(v) is str else str(v))
                for v, whole in zip(cells, self.integer[title], strict=True)
            )
        )
        self.counts[title] += 1
        if len(buffer) >= self.chunk:
            self.flush(title)

    def flush(self, title: str) -> None:
        rows = self.buffers.get(title)
        if rows:
            self.db.executemany(self.statements[title], rows)
            rows.clear()

    def close(self) -> None:
        for title in list(self.buffers):
            self.flush(title)
        # The facts (分析's day and month facts, valuation's stock facts) were made empty with
        # the archive, before these rows: dropped so the archive builds them from the rows, as it
        # does for an archive made before they existed. Built here, not in a measurement.
        for name in (*fact_tables(MetaData()), *LEDGER_FACT_TABLES):
            self.db.execute(f"DROP TABLE IF EXISTS {name}")
        self.db.execute("COMMIT")
        self.db.close()
        Archive(f"sqlite:///{self.path}").engine.dispose()
        db = sqlite3.connect(self.path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()


# -- the shop


@dataclass
class Sku:
    code: str
    index: int
    price: int
    reorder_point: int
    lot: int
    on_hand: int = 0
    allocated: int = 0
    changed_at: int = 0  # when 在庫 was last written for it (a cycle time)

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.allocated - SAFETY_STOCK)


@dataclass(order=True)
class Event:
    """A status change staff (or the mall) made to an open order: settled by the next cycle."""

    at: int
    seq: int
    kind: str = field(compare=False)  # "出荷" | "キャンセル"
    mall: str = field(compare=False)
    number: str = field(compare=False)
    lines: list[tuple[int, Sku, int]] = field(compare=False)
    archived: bool = field(compare=False)  # the order's rows went to the archive


@dataclass
class BuildStats:
    orders_total: int = 0
    orders_hot: int = 0
    orders_archived: int = 0
    lines: int = 0
    lines_archived: int = 0
    movements: int = 0  # every movement of the history, archived or not
    movements_archived: int = 0
    carried: int = 0  # 繰越 rows (one per SKU with archived movements), in the workbook
    log_rows: int = 0
    log_rows_archived: int = 0
    archive: str = ""
    seconds: float = 0.0


class ShopBuilder:
    def __init__(
        self,
        conn: Connection,
        orders: int,
        per_day: int,
        skus: int,
        archive: ArchiveWriter,
        archive_after_days: int = 30,
        seed: int = 20261130,
    ) -> None:
        self.conn = conn
        self.orders, self.per_day = orders, per_day
        self.rng = random.Random(seed)
        self.days = max(1, -(-orders // per_day))
        self.start_ts = NOW_TS - self.days * DAY
        self.archive = archive
        # Closed orders whose closure is older than this, their lines, ledger rows and
        # _受注在庫 rows, other movements and 同期ログ rows older than this: in the archive.
        self.cutoff_ts = NOW_TS - archive_after_days * DAY
        self.carry: Counter[str] = Counter()  # SKU -> on-hand effect of its archived movements
        self.carried: Counter[str] = Counter()  # SKU -> how many movements were archived
        self.stats = BuildStats()
        self.seq = 0
        self.events: list[Event] = []
        self.skus = self._catalogue(skus)
        # Popularity: a long tail, so a few SKUs sell daily and most a few times a month.
        weights = [1 / (rank + 20) ** 0.9 for rank in range(skus)]
        self.rng.shuffle(weights)
        self.cumulative = []
        total = 0.0
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.total_weight = total
        expected_units = per_day * 1.33 * 1.25  # lines a day x units a line
        for sku, w in zip(self.skus, weights, strict=True):
            daily = expected_units * w / total
            sku.reorder_point = max(5, round(daily * 7))
            sku.lot = max(10, round(daily * 21 / 10) * 10)
        self.w_movements = tab_writer(conn, STOCK_MOVEMENTS)
        self.w_orders = tab_writer(conn, ORDERS)
        self.w_lines = tab_writer(conn, ORDER_LINES)
        self.w_log = tab_writer(conn, SYNC_LOG)
        self.w_settlements = tab_writer(conn, ORDER_SETTLEMENTS)
        # Every SKU's first movement (its opening 入庫, at the start) is archived as soon as
        # anything is: the 繰越 rows then take the top of the ledger, one per SKU, in the
        # catalogue's order, and are written last, when their sums are known.
        self.first_carry_row = self.w_movements.next_row
        if self.start_ts < self.cutoff_ts:
            self.w_movements.next_row += len(self.skus)
        self.mall_seq: Counter[str] = Counter()
        self.hour_counts: Counter[str] = Counter()
        self.hour = self.start_ts // 3600

    def _catalogue(self, count: int) -> list[Sku]:
        return [
            Sku(f"SKU-{i:05d}", i, self.rng.choice((980, 1480, 1980, 2980, 3980, 5800, 9800)), 0, 0)
            for i in range(count)
        ]

    # -- phases: catalogue, history (old rows routed to the archive as they are made), the
    # 繰越 rows, today's state.

    def build(self) -> BuildStats:
        started = time.perf_counter()
        self.write_catalogue()
        self.write_history()
        self.write_carried()
        self.write_state()
        self.archive.close()
        self.stats.archive = str(self.archive.path)
        self.stats.seconds = round(time.perf_counter() - started, 1)
        return self.stats

    def write_catalogue(self) -> None:
        products = tab_writer(self.conn, PRODUCTS)
        listings = tab_writer(self.conn, MALL_LISTINGS)
        colours = ("白", "黒", "紺", "グレー", "ベージュ")
        for sku in self.skus:
            i = sku.index
            name = f"綿シャツ {i // 15:04d} {colours[i % 5]} {'SML'[i % 3]}"
            products.add(
                [
                    sku.code,
                    name,
                    sku.price,
                    sku.price * 45 // 100,
                    f"45{i:011d}",
                    "丸山繊維",
                    sku.reorder_point,
                    sku.lot,
                    7,
                    "",
                    f"{'ABCDEFGH'[i % 8]}-{i // 8 % 50:02d}",  # 棚番: aisle and shelf
                ]
            )
            for mall in MALLS:
                listings.add([mall.name, sku.code, mall.item_code(i), sku.code, "ON", "", "", "", "", ""])
            # Opening stock, as a first 入庫 (what the demo shop does too).
            sku.on_hand = sku.lot + sku.reorder_point
            sku.changed_at = next_cycle(self.start_ts)
            self.movement(
                f"入庫:初期:{sku.code}",
                self.start_ts,
                sku,
                "入庫",
                sku.on_hand,
                "",
                "",
                "",
                "初期在庫",
                archived=self.start_ts < self.cutoff_ts,
            )
        products.flush()
        listings.flush()

    def movement(
        self,
        mid: str,
        at: int,
        sku: Sku,
        kind: str,
        qty: int,
        mall: str,
        number: str,
        line: Any,
        note: str,
        *,
        archived: bool,
    ) -> None:
        cells = [mid, stamp(at), sku.code, kind, qty, mall, number, line, note]
        self.stats.movements += 1
        if archived:
            self.archive.add(STOCK_MOVEMENTS, cells)
            self.carry[sku.code] += EFFECTS[kind][0] * qty
            self.carried[sku.code] += 1
            self.stats.movements_archived += 1
        else:
            self.w_movements.add(cells)

    def pick_skus(self, n: int) -> list[Sku]:
        chosen: list[Sku] = []
        while len(chosen) < n:
            sku = self.skus[
                min(bisect(self.cumulative, self.rng.random() * self.total_weight), len(self.skus) - 1)
            ]
            if sku not in chosen:
                chosen.append(sku)
        return chosen

    def write_history(self) -> None:
        rng = self.rng
        made = 0
        for day in range(self.days):
            count = min(self.per_day, self.orders - made)
            day_start = self.start_ts + day * DAY
            # Orders placed up to a minute before NOW: all of them imported by NOW's cycle.
            span = min(DAY, NOW_TS - 60 - day_start)
            for ts in sorted(day_start + rng.randrange(span) for _ in range(count)):
                self.order(ts)
            made += count
        self.settle(NOW_TS)
        self.log_hour(NOW_TS // 3600)
        for writer in (self.w_orders, self.w_lines, self.w_movements, self.w_log, self.w_settlements):
            writer.flush()

    def write_carried(self) -> None:
        """One 繰越 movement per SKU whose movements went to the archive: their on-hand sum
        (their allocations net to zero: archived orders are closed), at the cutoff, in the rows
        kept for them at the top of the ledger."""
        if not self.carried:
            return
        cutoff = datetime.fromtimestamp(self.cutoff_ts, JST)
        end = self.w_movements.next_row
        self.w_movements.next_row = self.first_carry_row
        for sku in self.skus:
            n = self.carried[sku.code]
            if not n:  # cannot happen (every SKU's opening 入庫 is archived): say so, not guess
                raise SystemExit(f"scale bench: {sku.code} has no archived movement for its 繰越 row")
            note = f"{cutoff:%Y-%m-%d}以前の在庫移動 {n:,} 件の合計（履歴データベースに移動済み）"
            self.w_movements.add(
                [
                    f"繰越:{sku.code}",
                    stamp(self.cutoff_ts),
                    sku.code,
                    "繰越",
                    self.carry[sku.code],
                    "",
                    "",
                    "",
                    note,
                ]
            )
            self.stats.carried += 1
        self.w_movements.flush()
        self.w_movements.next_row = end

    def settle(self, until: int) -> None:
        """Apply every status change whose cycle has come by ``until``, oldest first."""
        while self.events and self.events[0].at <= until:
            e = heapq.heappop(self.events)
            for line_no, sku, qty in e.lines:
                note = "出荷により引当解除" if e.kind == "出荷" else "キャンセル"
                mid = movement_id("引当解除", e.mall, e.number, line_no)
                self.movement(
                    mid, e.at, sku, "引当解除", qty, e.mall, e.number, line_no, note, archived=e.archived
                )
                sku.allocated -= qty
                if e.kind == "出荷":
                    mid = movement_id("出荷", e.mall, e.number, line_no)
                    self.movement(
                        mid, e.at, sku, "出荷", qty, e.mall, e.number, line_no, "出荷済", archived=e.archived
                    )
                    sku.on_hand -= qty
                sku.changed_at = e.at

    def log_hour(self, hour: int) -> None:
        """同期ログ, capped: one cycle's four 受注取込 rows per hour of history (the engine writes
        four or more a minute; a shop would clear most of them, and they are not what we measure)."""
        while self.hour < hour:
            at = self.hour * 3600 + 3540
            if at > self.start_ts:
                run_id = (
                    time.strftime("%Y%m%d-%H%M%S", time.gmtime(at + JST_OFFSET))
                    + f"-{self.hour % 0xFFFFFF:06x}"
                )
                for mall in MALLS:
                    n = self.hour_counts[mall.name]
                    archived = at < self.cutoff_ts
                    (self.archive.add if archived else lambda _spec, cells: self.w_log.add(cells))(
                        SYNC_LOG,
                        [
                            run_id,
                            stamp(at),
                            stamp(at + 2),
                            mall.name,
                            f"受注取込（{mall.channel}）",
                            n,
                            n,
                            0,
                            0,
                            0,
                            "成功",
                            "",
                        ],
                    )
                    self.stats.log_rows += 1
                    self.stats.log_rows_archived += archived
            self.hour_counts.clear()
            self.hour += 1

    def fate(self, ts: int) -> tuple[str, int, str]:
        """(final status, when it was reached, payment): ages over ~3 days are almost all closed."""
        rng = self.rng
        payment = rng.choice(PAYMENTS)
        r = rng.random()
        if r < 0.03:
            at = ts + rng.randrange(600, 2 * DAY)
            kind = "キャンセル"
        elif r < 0.997:
            # Most ship the next working day; bank transfers wait for the money.
            wait = rng.randrange(3 * 3600, 2 * DAY) + (DAY if payment == "銀行振込" else 0)
            at, kind = ts + wait, "出荷済"
        else:
            return "保留", ts, payment  # the odd order a person is still looking at
        if next_cycle(at) <= NOW_TS:
            return kind, next_cycle(at), payment
        age = NOW_TS - ts
        if payment == "銀行振込" and age < DAY:
            return "入金待ち", ts, payment
        return ("新規" if age < 2 * 3600 else "発送待ち"), ts, payment

    def order(self, ts: int) -> None:
        rng = self.rng
        imported = next_cycle(ts)
        self.settle(imported)
        self.log_hour(imported // 3600)
        roll, mall = rng.random(), MALLS[-1]
        for candidate in MALLS:
            roll -= candidate.share
            if roll < 0:
                mall = candidate
                break
        self.mall_seq[mall.name] += 1
        number = f"{mall.prefix}{self.mall_seq[mall.name]:09d}"
        self.hour_counts[mall.name] += 1
        n_lines = 1 if (r := rng.random()) < 0.75 else (2 if r < 0.93 else 3)
        status, status_at, payment = self.fate(ts)
        closed = status in ("出荷済", "キャンセル")
        # Closure: the latest of 注文日時, 受注.更新日時 and its _受注在庫 row's 更新日時.
        archived = closed and max(ts, status_at) < self.cutoff_ts
        line_rows = self.archive.add if archived else lambda _spec, cells: self.w_lines.add(cells)
        total = 0
        held = []
        for line_no, sku in enumerate(self.pick_skus(n_lines), start=1):
            qty = 1 if (q := rng.random()) < 0.8 else (2 if q < 0.95 else 3)
            total += sku.price * qty
            line_rows(
                ORDER_LINES,
                [
                    mall.name,
                    number,
                    line_no,
                    sku.code,
                    f"綿シャツ {sku.code}",
                    qty,
                    sku.price,
                    mall.item_code(sku.index),
                    sku.code,
                ],
            )
            self.stats.lines += 1
            self.stats.lines_archived += archived
            self.movement(
                movement_id("引当", mall.name, number, line_no),
                imported,
                sku,
                "引当",
                qty,
                mall.name,
                number,
                line_no,
                "",
                archived=archived,
            )
            sku.allocated += qty
            sku.changed_at = imported
            if sku.on_hand - sku.allocated < sku.reorder_point:
                # Stock arrives when it runs low (lead time left out): 実在庫 never goes below 引当数.
                self.movement(
                    f"入庫:{sku.code}:{stamp(imported)[:10]}:{self.seq}",
                    imported,
                    sku,
                    "入庫",
                    sku.lot,
                    "",
                    "",
                    "",
                    "入荷",
                    archived=imported < self.cutoff_ts,
                )
                self.seq += 1
                sku.on_hand += sku.lot
            held.append((line_no, sku, qty))
        if status in ("出荷済", "キャンセル"):
            self.seq += 1
            kind = "出荷" if status == "出荷済" else "キャンセル"
            heapq.heappush(self.events, Event(status_at, self.seq, kind, mall.name, number, held, archived))
        shipping = 0 if total >= 5000 else 550
        who = f"{SURNAMES[rng.randrange(10)]} {GIVEN[rng.randrange(10)]}"
        postcode, address = PLACES[rng.randrange(len(PLACES))]
        carrier = tracking = notice = ""
        if status == "出荷済":
            carrier = CARRIERS[rng.randrange(3)]
            tracking = f"{rng.randrange(10**11, 10**12)}"
            notice = f"済 {stamp(status_at)}"  # told to the mall by that cycle: nothing pending
        order_cells = [
            mall.name,
            number,
            stamp(ts),
            status,
            payment,
            who,
            who,
            postcode,
            address,
            "090-1234-5678",
            f"{mall.channel}-{number}@example.jp",
            total + shipping,
            shipping,
            "",
            carrier,
            "",  # 配送方法: the carrier's standard parcel
            tracking,
            notice,
            "",
            status,
            "ON",
            stamp(max(ts, status_at)),
            "",  # タグ
            "",  # ルール
            "",  # 同梱: none in the bench shop
        ]
        # _受注在庫: what the ledger holds for each line once the order reached its status,
        # settled by the cycle that saw it (import, or the cycle after its last change).
        lines = {}
        for line_no, sku, qty in held:
            line = LineLedger()
            line.kinds["引当"] += 1
            line.allocated[sku.code] += qty
            if closed:
                line.kinds["引当解除"] += 1
                line.allocated[sku.code] -= qty
            if status == "出荷済":
                line.kinds["出荷"] += 1
                line.shipped[sku.code] += qty
            lines[line_no] = line
        settled_at = status_at if closed else imported
        settlement = [mall.name, number, signature(status, "ON"), encode_lines(lines), stamp(settled_at)]
        self.stats.orders_total += 1
        if archived:
            self.archive.add(ORDERS, order_cells)
            self.archive.add(ORDER_SETTLEMENTS, settlement)
            self.stats.orders_archived += 1
        else:
            self.w_orders.add(order_cells)
            self.w_settlements.add(settlement)
            self.stats.orders_hot += 1

    def write_state(self) -> None:
        """在庫, _在庫記録 and _在庫送信 as the last cycle left them; cursors at NOW."""
        stock = tab_writer(self.conn, STOCK)
        records = tab_writer(self.conn, STOCK_RECORDS)
        pushes = tab_writer(self.conn, STOCK_PUSHES)
        system = tab_writer(self.conn, SYSTEM_STATE)
        balances = tab_writer(self.conn, LEDGER_BALANCES)
        for sku in self.skus:
            at = stamp(sku.changed_at)
            stock.add([sku.code, sku.on_hand, sku.allocated, SAFETY_STOCK, sku.available, at, 0])
            records.add([sku.code, sku.on_hand, SAFETY_STOCK, at])
            balances.add([sku.code, sku.on_hand, sku.allocated, at, 0])
            for mall in MALLS:
                pushes.add(
                    [
                        mall.name,
                        sku.code,
                        mall.item_code(sku.index),
                        sku.code,
                        sku.available,
                        "確認済",
                        at,
                        "",
                    ]
                )
        for mall in MALLS:
            system.add([f"カーソル:{mall.channel}", NOW.isoformat(), stamp(NOW_TS)])
        # The ledger and the log are folded up to where they end (_台帳集計, _受注在庫).
        system.add([LEDGER_MARK, str(self.w_movements.next_row), stamp(NOW_TS)])
        system.add([LOG_MARK, str(self.w_log.next_row), stamp(NOW_TS)])
        if self.stats.orders_archived:  # what the archive pass leaves once it moved orders
            system.add([ARCHIVE_MARK, stamp(NOW_TS), stamp(NOW_TS)])
        for writer in (stock, records, pushes, system, balances):
            writer.flush()


def build(
    path: Path, orders: int, per_day: int = 1000, skus: int = 5000, archive_after_days: int = 30
) -> BuildStats:
    """A fresh workbook at ``path`` (replaced if it exists) holding ``orders`` orders of history,
    and its archive beside it (``archive_path``) holding what the archive pass would have moved."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = create_sql_engine(url)
    ensure_tabs(SqlWorkbook(url, engine=engine))  # the tabs and headers exactly as the app makes them
    with engine.connect() as conn:
        # A benchmark file: a power cut mid-build just means building again. On the DB-API
        # connection, outside any transaction (SQLite refuses it inside one).
        conn.connection.driver_connection.execute("PRAGMA synchronous=OFF")
        archive = ArchiveWriter(archive_path(path))
        stats = ShopBuilder(conn, orders, per_day, skus, archive, archive_after_days).build()
        conn.commit()
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
    engine.dispose()
    return stats


# -- checking a built workbook with the app's own parser and ledger


def verify(path: Path) -> list[str]:
    """Problems found by a full parse, as the engine would read the workbook: row errors, a ledger
    that disagrees with 在庫, a line the engine would still move stock for, a push still due.
    Holds every tab parsed in memory: meant for small workbooks (tests, up to ~50k orders)."""
    from sheets_schema.book import header_problems, read_tables, row_errors
    from sheets_schema.parsing import RowsOnDemand
    from sync.ledger import LineTarget, build_ledger, line_movements
    from sync.orders import OrderBook
    from sync.push import plan_pushes
    from sync.stock import available

    engine = create_sql_engine(f"sqlite:///{path}")
    tables = read_tables(SqlWorkbook(f"sqlite:///{path}", engine=engine))
    problems = [str(e) for e in row_errors(tables)[:20]] + header_problems(tables)
    movements = tables[STOCK_MOVEMENTS.title].models()
    ledger = build_ledger(movements)
    if len(ledger.ids) != len(movements):
        problems.append(f"在庫移動: {len(movements) - len(ledger.ids)} duplicate 移動ID")
    records = {r.sku: r for r in tables[STOCK_RECORDS.title].models()}
    for row in tables[STOCK.title].models():
        on_hand, allocated = ledger.on_hand[row.sku], ledger.allocated[row.sku]
        want = (on_hand, allocated, available(on_hand, allocated, row.safety_stock))
        if (row.on_hand, row.allocated, row.available) != want:
            problems.append(
                f"在庫 {row.sku}: sheet {(row.on_hand, row.allocated, row.available)}, ledger {want}"
            )
        record = records.get(row.sku)
        if record is None or (record.on_hand, record.safety_stock) != (row.on_hand, row.safety_stock):
            problems.append(f"_在庫記録 {row.sku} does not match 在庫")
    book = OrderBook(
        RowsOnDemand(ORDERS, tables[ORDERS.title].grid),
        RowsOnDemand(ORDER_LINES, tables[ORDER_LINES.title].grid),
    )
    for order_key in book.orders.rows_by_key:
        key = (order_key[0], order_key[1])
        view = book.view(key)
        if view is None:
            problems.append(f"受注 {key}: has an input error")
            continue
        for number, line in view.lines.items():
            target = LineTarget(
                (*key, number), line.sku, line.quantity, view.order.status, view.order.allocates_stock
            )
            if line_movements(target, ledger, NOW):
                problems.append(f"受注明細 {key} {number}: the engine would still move stock")
    malls = {m.name for m in MALLS}
    due = plan_pushes(tables[STOCK.title], tables[MALL_LISTINGS.title], tables[STOCK_PUSHES.title], malls)
    if due:
        problems.append(f"_在庫送信: {len(due)} pushes still due, e.g. {due[0]}")
    engine.dispose()
    return problems[:50]


def verify_totals(path: Path) -> list[str]:
    """The ledger's per-SKU totals against 在庫, summed inside SQLite (JSON1) so it works at any
    size in little memory; plus 移動ID uniqueness. The cheap half of ``verify``."""
    from sync.ledger import EFFECTS

    db = sqlite3.connect(path)
    try:
        tabs = {t: (i, json.loads(h)) for i, t, h in db.execute("SELECT id, title, header FROM ichigen_tabs")}

        def col(title: str, header: str) -> str:
            return f"'$[{tabs[title][1].index(header)}]'"

        ledger_tab = tabs[STOCK_MOVEMENTS.title][0]
        sku, kind, qty, mid = (col(STOCK_MOVEMENTS.title, h) for h in ("SKU", "区分", "数量", "移動ID"))
        on_hand: Counter[str] = Counter()
        allocated: Counter[str] = Counter()
        query = (
            f"SELECT json_extract(cells, {sku}), json_extract(cells, {kind}), sum(json_extract(cells, {qty})) "
            "FROM ichigen_rows WHERE tab_id = ? GROUP BY 1, 2"
        )
        for code, what, total in db.execute(query, (ledger_tab,)):
            hand, alloc = EFFECTS[what]
            on_hand[code] += hand * total
            allocated[code] += alloc * total
        problems = []
        rows, distinct = db.execute(
            f"SELECT count(*), count(DISTINCT json_extract(cells, {mid})) FROM ichigen_rows WHERE tab_id = ?",
            (ledger_tab,),
        ).fetchone()
        if rows != distinct:
            problems.append(f"在庫移動: {rows - distinct} duplicate 移動ID")
        columns = [col(STOCK.title, h) for h in ("SKU", "実在庫", "引当数")]
        query = f"SELECT {', '.join(f'json_extract(cells, {c})' for c in columns)} FROM ichigen_rows WHERE tab_id = ?"
        for code, hand, alloc in db.execute(query, (tabs[STOCK.title][0],)):
            if (hand, alloc) != (on_hand[code], allocated[code]):
                problems.append(
                    f"在庫 {code}: sheet {(hand, alloc)}, ledger {(on_hand[code], allocated[code])}"
                )
        return problems[:50]
    finally:
        db.close()


def verify_archive(path: Path) -> list[str]:
    """The split between workbook and archive: each 繰越 row is the on-hand sum of its SKU's
    archived movements, _台帳集計 agrees with 在庫, the _システム marks sit where their tabs end,
    and no order is in both places."""
    from sheets_schema.archive import TABLE_NAMES

    problems: list[str] = []
    db = sqlite3.connect(path)
    try:
        db.execute("ATTACH DATABASE ? AS archive", (str(archive_path(path)),))
        tabs = {t: (i, json.loads(h)) for i, t, h in db.execute("SELECT id, title, header FROM ichigen_tabs")}

        def cells(title: str, *headers: str) -> list[tuple[Any, ...]]:
            tab_id, header = tabs[title]
            columns = ", ".join(f"json_extract(cells, '$[{header.index(h)}]')" for h in headers)
            return db.execute(f"SELECT {columns} FROM ichigen_rows WHERE tab_id = ?", (tab_id,)).fetchall()

        archived: dict[str, tuple[int, int]] = {}
        movements = TABLE_NAMES[STOCK_MOVEMENTS.title]
        for code, kind, total, n in db.execute(
            f'SELECT "SKU", "区分", sum("数量"), count(*) FROM archive.{movements} GROUP BY 1, 2'
        ):
            hand, count = archived.get(code, (0, 0))
            archived[code] = (hand + EFFECTS[kind][0] * total, count + n)
        carried = {
            code: (qty, note)
            for code, kind, qty, note in cells(STOCK_MOVEMENTS.title, "SKU", "区分", "数量", "備考")
            if kind == "繰越"
        }
        for code in sorted(set(archived) | set(carried)):
            hand, n = archived.get(code, (0, 0))
            qty, note = carried.get(code, (None, ""))
            if qty != hand or f" {n:,} 件" not in note:
                problems.append(f"繰越 {code}: {qty} ({note}), archive holds {n} movements summing {hand}")
        stock = {code: (hand, alloc) for code, hand, alloc in cells(STOCK.title, "SKU", "実在庫", "引当数")}
        for code, hand, alloc in cells(LEDGER_BALANCES.title, "SKU", "実在庫", "引当数"):
            if stock.get(code) != (hand, alloc):
                problems.append(f"_台帳集計 {code}: {(hand, alloc)}, 在庫 {stock.get(code)}")
        marks = dict(cells(SYSTEM_STATE.title, "キー", "値"))
        for title, key in ((STOCK_MOVEMENTS.title, LEDGER_MARK), (SYNC_LOG.title, LOG_MARK)):
            (end,) = db.execute(
                "SELECT coalesce(max(row_number), 1) + 1 FROM ichigen_rows WHERE tab_id = ?",
                (tabs[title][0],),
            ).fetchone()
            if marks.get(key) != str(end):
                problems.append(f"_システム {key}: {marks.get(key)}, the tab ends before row {end}")
        hot = set(cells(ORDERS.title, "モール", "注文番号"))
        both = hot & set(db.execute(f'SELECT "モール", "注文番号" FROM archive.{TABLE_NAMES[ORDERS.title]}'))
        if both:
            problems.append(
                f"受注: {len(both)} orders both in the workbook and the archive, e.g. {min(both)}"
            )
        return problems[:50]
    finally:
        db.close()


# -- in-memory malls


class BenchConnector:
    """A mall answering instantly from memory: the cycle's own cost is what gets measured."""

    def __init__(self, mall: Mall, orders: Sequence[Order] = ()) -> None:
        self.mall_info = mall
        self.channel, self.mall, self.display_name = mall.channel, mall.name, f"{mall.name}（bench）"
        self.orders = list(orders)
        self.pushed: list[StockLevel] = []
        self.shipments: list[Shipment] = []

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        yield OrderPage(list(self.orders), until.isoformat())

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        self.pushed.extend(levels)
        return [
            PushResult(mall=v.mall, sku=v.sku, quantity=v.quantity, ok=True, confirmed=True) for v in levels
        ]

    def confirm_shipment(self, shipment: Shipment) -> None:
        self.shipments.append(shipment)


def new_orders(
    count: int, skus: int, at: datetime, seed: int = 7
) -> tuple[dict[str, list[Order]], int, set[int]]:
    """``count`` new orders spread over the malls (numbers no history uses), how many lines
    they have and which SKUs (indexes) they sell."""
    rng = random.Random(seed)
    by_mall: dict[str, list[Order]] = {m.name: [] for m in MALLS}
    lines = 0
    sold: set[int] = set()  # SKU indexes: each one's 販売可能数 drops by what was sold
    for n in range(count):
        mall = MALLS[n % len(MALLS)]
        picked = rng.sample(range(skus), 1 if rng.random() < 0.75 else 2)
        order_lines = tuple(
            OrderLine(
                line_number=i,
                mall_item_code=mall.item_code(s),
                mall_sku=f"SKU-{s:05d}",
                name=f"綿シャツ SKU-{s:05d}",
                quantity=1,
                unit_price=1980,
            )
            for i, s in enumerate(picked, start=1)
        )
        lines += len(order_lines)
        sold.update(picked)
        who = Address(
            name="新規 太郎", postcode="150-0001", address="東京都渋谷区神宮前1-1-1", phone="090-1234-5678"
        )
        by_mall[mall.name].append(
            Order(
                mall=mall.name,
                order_number=f"{mall.prefix}N{n:08d}",
                ordered_at=at - timedelta(seconds=30 + n),
                updated_at=at - timedelta(seconds=30 + n),
                status="新規",
                payment_method="クレジットカード",
                buyer=who,
                delivery=who,
                total=1980 * len(order_lines) + 550,
                shipping_fee=550,
                lines=order_lines,
            )
        )
    return by_mall, lines, sold


# -- measuring one cycle in this process


def sql_url(target: Path | str) -> str:
    """A workbook or archive given as a SQLite file or as a URL (PostgreSQL)."""
    return target if isinstance(target, str) else f"sqlite:///{target}"


def tab_counts(target: Path | str) -> dict[str, tuple[int, int]]:
    """{title: (data rows, header width)} straight from the adapter's tables."""
    engine = create_sql_engine(sql_url(target))
    with engine.connect() as conn:
        counts = dict(
            conn.execute(select(rows_table.c.tab_id, func.count()).group_by(rows_table.c.tab_id)).all()
        )
        tabs = conn.execute(select(tabs_table.c.id, tabs_table.c.title, tabs_table.c.header)).all()
    engine.dispose()
    return {t.title: (counts.get(t.id, 0), len(t.header)) for t in tabs}


def archived_orders(path: Path) -> int:
    """Orders in the archive beside the workbook at ``path`` (0 without one)."""
    archive = archive_path(path)
    if not archive.is_file():
        return 0
    db = sqlite3.connect(archive)
    try:
        return db.execute(f"SELECT count(*) FROM {TABLE_NAMES[ORDERS.title]}").fetchone()[0]
    finally:
        db.close()


def mark_archived(path: Path) -> bool:
    """Give the workbook at ``path`` the _システム mark an archive pass leaves (履歴:受注) when
    its archive holds orders and the mark is missing (workbooks built before the builder wrote
    it): with it, a cycle asks the archive about orders it does not find in 受注, as Ichigen's
    does. Meant for the bench's work copy. True when it was added."""
    if not archived_orders(path):
        return False
    engine = create_sql_engine(sql_url(path))
    try:
        with engine.connect() as conn:
            tab_id = conn.scalar(select(tabs_table.c.id).where(tabs_table.c.title == SYSTEM_STATE.title))
            keys = {
                cells[0]
                for cells in conn.scalars(select(rows_table.c.cells).where(rows_table.c.tab_id == tab_id))
                if cells
            }
            if ARCHIVE_MARK in keys:
                return False
            writer = tab_writer(conn, SYSTEM_STATE)
            writer.add([ARCHIVE_MARK, stamp(NOW_TS), stamp(NOW_TS)])
            writer.flush()
        return True
    finally:
        engine.dispose()


def cpu_seconds() -> float:
    """This process's CPU time: on a machine shared with other work, wall time alone wobbles."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ServerCpu:
    """CPU seconds the database server spent for this process: its PostgreSQL backends (the
    sessions on the database at ``url``, read from /proc: a server on this machine), so that a
    cycle's own work can be told from the wait for a CPU on a busy machine. None for SQLite
    (its work is in this process's CPU) or a server elsewhere."""

    def __init__(self, url: str) -> None:
        self.url = url if url.startswith("postgresql") else None
        self.before = self.now() if self.url else {}

    def now(self) -> dict[int, float]:
        import psycopg

        parsed = make_url(self.url or "")
        with psycopg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
            autocommit=True,
        ) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return seconds

    def spent(self) -> float | None:
        if not self.url:
            return None
        try:
            after = self.now()
        except Exception:
            return None
        if not after and not self.before:
            return None
        return round(sum(v - self.before.get(pid, 0.0) for pid, v in after.items()), 3)


def measure(
    path: Path | str, cycle: str, offset_seconds: int, skus: int, archive: str | None = None
) -> dict[str, Any]:
    """One cycle of today's engine on the workbook at ``path`` (a SQLite file, or a URL), with
    the archive at ``archive`` (a URL) as ``sync watch`` gives it; facts for the parent to
    check, and what was wrong."""
    from sync.engine import SyncEngine

    if isinstance(path, Path) and not path.is_file():  # SqlWorkbook would quietly create one there
        raise SystemExit(f"scale bench: no workbook at {path}")
    before = tab_counts(path)
    base = NOW + timedelta(seconds=offset_seconds)
    origin = time.monotonic()

    def clock() -> datetime:  # the shop's NOW moving on in real time, not the machine's date
        return base + timedelta(seconds=time.monotonic() - origin)

    incoming, new_lines, sold = new_orders(100, skus, base) if cycle == "new100" else ({}, 0, set())
    connectors = [BenchConnector(m, incoming.get(m.name, ())) for m in MALLS]
    store = Archive(archive) if archive else None  # opened once by a runner, not per cycle
    engine = SyncEngine(SqlWorkbook(sql_url(path)), connectors, SyncSettings(), clock=clock, archive=store)
    server = ServerCpu(sql_url(path))
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = engine.run_once()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    server_cpu = server.spent()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    after = tab_counts(path)
    grew = {t: after[t][0] - before.get(t, (0, 0))[0] for t in after}
    problems = [
        f"{r.mall} {r.job}: {r.result} {r.error}" for r in report.runs if r.result != "成功" or r.failed
    ]
    imports = [r for r in report.runs if r.job == "受注取込"]
    if len(imports) != len(MALLS):
        problems.append(f"{len(imports)} order imports reported, {len(MALLS)} malls asked")
    failed_pushes = [p for p in report.pushes if not p.ok]
    if failed_pushes:
        problems.append(f"{len(failed_pushes)} pushes failed, e.g. {failed_pushes[0]}")
    if report.shipments or any(c.shipments for c in connectors):
        problems.append(f"{report.shipments} shipments confirmed: the history should have none pending")
    if cycle == "new100":
        # The history leaves every SKU a few units above its safety stock, so each SKU sold
        # changes its 販売可能数 and is pushed to every mall exactly once.
        want = {"created": 100, "受注": 100, "受注明細": new_lines, "movements": new_lines}
        want["pushes"] = len(sold) * len(MALLS)
        got = {"created": report.created, "受注": grew[ORDERS.title], "受注明細": grew[ORDER_LINES.title]}
        got["movements"], got["pushes"] = report.movements, len(report.pushes)
        problems += [f"{k}: expected {v}, got {got[k]}" for k, v in want.items() if got[k] != v]
    else:
        # The warm-up too: an upgrade of the workbook may rewrite how it is stored, but a
        # consistent history leaves nothing to import, move or push. If it does, the build or
        # the engine is wrong and no figure from this workbook means anything.
        got = {
            "created": report.created,
            "movements": report.movements,
            "pushes": len(report.pushes),
            "受注": grew[ORDERS.title],
            "受注明細": grew[ORDER_LINES.title],
        }
        problems += [f"{cycle} cycle {k}: expected 0, got {v}" for k, v in got.items() if v]
    return {
        "cycle": cycle,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "server_cpu_seconds": server_cpu,
        "peak_mb": round(peak_mb),
        "created": report.created,
        "movements": report.movements,
        "pushes": len(report.pushes),
        "notes": report.notes[:5],
        "problems": problems,
    }


# -- 分析 over the archive, and the migration to PostgreSQL


ANALYTICS_DAYS = 365  # 分析 over 12 months: the year up to NOW


def analytics_view(base: Any, archive: Archive, start: Any, end: Any) -> tuple[Any, Any, int, float]:
    """One 分析 view of ``start..end`` seen on ``end`` (every mall), as the page computes it:
    the archive's share (its stamp and reach, ``load_archived``, the check for orders in both
    places), combined with the workbook's, then every figure of the page. The archived facts,
    the combined KPIs, the workbook orders counted, and the seconds the archive took."""
    import pandas as pd

    from settings import WorkbookSettings
    from shop import analytics

    started = time.perf_counter()
    archive.stamp()
    analytics.archive_reach(archive)
    archived = analytics.load_archived(archive, start, end, end, base.names.index)
    candidates = analytics.archive_candidates(base, archived.until, WorkbookSettings().archive_after_days)
    in_both = archive.has(ORDERS, candidates) if candidates else set()
    sql_seconds = time.perf_counter() - started
    hot = analytics.without_orders(base, in_both)
    combined = analytics.combine(hot, archived)
    chosen = analytics.select(combined, None, start, end)
    now = analytics.kpis(chosen.orders)
    analytics.kpis(analytics.select(combined, None, *analytics.previous_period(start, end)).orders)
    for grain in analytics.GRAINS:
        analytics.sales_by_period(chosen.orders, grain, start, end)
    for by in ("商品売上", "数量"):
        analytics.top_skus(chosen.lines, by, 10, combined.names)  # type: ignore[arg-type]
    analytics.abc_summary(analytics.abc_analysis(chosen.lines, combined.names))
    analytics.weekday_hour_counts(chosen.orders)
    for days in analytics.COVER_WINDOWS:
        analytics.stock_cover(combined, end, days)
    analytics.monthly_summary(chosen.orders, start, end)
    days = hot.orders["日"]
    in_workbook = int(((days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))).sum())
    return archived, now, in_workbook, sql_seconds


def measure_analytics(workbook: Path | str, archive_url: str) -> dict[str, Any]:
    """分析 over 12 months (every mall) as the page computes it, without Streamlit
    (``analytics_view``): first the year up to NOW in this fresh process (what the first page
    after a start pays: connections, compiled statements), then the years up to each of the
    three days before (a period changed in a running app: nothing of another view's cache
    applies), their median. Timed from
    the archive opened and the workbook's orders parsed (the app keeps both, per process and
    per read). The first view is then checked against the archived rows themselves (plain
    SQL, not timed)."""
    import pandas as pd

    from sheets_schema.book import read_tables
    from shop import analytics

    end = NOW.date()
    start = end - timedelta(days=ANALYTICS_DAYS - 1)
    base = analytics.build_base(
        read_tables(SqlWorkbook(sql_url(workbook)), [ORDERS, ORDER_LINES, PRODUCTS, STOCK])
    )
    archive = Archive(archive_url)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    archived, now, in_workbook, first_sql_seconds = analytics_view(base, archive, start, end)
    first_seconds = time.perf_counter() - started
    cpu_first = cpu_seconds() - cpu_before
    warm = []
    for back in (1, 2, 3):  # three other views, as after a change of period: the median
        server = ServerCpu(archive_url)
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        *_, sql_seconds = analytics_view(
            base, archive, start - timedelta(days=back), end - timedelta(days=back)
        )
        warm.append((time.perf_counter() - started, sql_seconds, cpu_seconds() - cpu_before, server.spent()))
    seconds, sql_seconds, cpu, server_cpu = sorted(warm, key=lambda w: w[0])[1]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The archived orders and lines of the 12 months, straight from their rows.
    since, until = start.isoformat(), (end + timedelta(days=1)).isoformat()
    orders_t, lines_t = archive.tables[ORDERS.title], archive.tables[ORDER_LINES.title]
    at = orders_t.c["注文日時"]
    with archive.engine.connect() as conn:
        raw_orders, raw_total = conn.execute(
            select(func.count(), func.coalesce(func.sum(orders_t.c["合計金額"]), 0)).where(
                at >= since, at < until
            )
        ).one()
        raw_units = conn.scalar(
            select(func.coalesce(func.sum(lines_t.c["数量"]), 0))
            .select_from(
                lines_t.join(
                    orders_t,
                    (lines_t.c["モール"] == orders_t.c["モール"])
                    & (lines_t.c["注文番号"] == orders_t.c["注文番号"]),
                )
            )
            .where(at >= since, at < until, lines_t.c["SKU"] != "")
        )
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    period = archived.orders[(archived.orders["日"] >= first) & (archived.orders["日"] <= last)]
    lines = archived.lines[(archived.lines["日"] >= first) & (archived.lines["日"] <= last)]
    got = {
        "orders": int(period["件数"].sum()),
        "合計金額": int(period["合計金額"].sum()),
        "数量": int(lines["数量"].sum()),
    }
    want = {"orders": int(raw_orders), "合計金額": int(raw_total), "数量": int(raw_units)}
    problems = [
        f"分析 archived {k}: {got[k]:,}, the archived rows hold {v:,}" for k, v in want.items() if got[k] != v
    ]
    if now.orders + now.cancelled != int(raw_orders) + in_workbook:
        problems.append(
            f"分析 counted {now.orders + now.cancelled:,} orders: {raw_orders:,} archived + {in_workbook:,} in the workbook"
        )
    archive.engine.dispose()
    return {
        "seconds": round(seconds, 3),
        "sql_seconds": round(sql_seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "server_cpu_seconds": server_cpu,
        "first_seconds": round(first_seconds, 3),
        "first_sql_seconds": round(first_sql_seconds, 3),
        "first_cpu_seconds": round(cpu_first, 3),
        "peak_mb": round(peak_mb),
        "archived_orders": int(raw_orders),
        "orders": now.orders + now.cancelled,
        "problems": problems,
    }


def migrate(path: Path, target: str, folder: Path) -> dict[str, Any]:
    """``python -m sheets_schema migrate --to target`` on the workbook at ``path`` and its archive
    beside it (settings in a secrets file of its own in ``folder``), in this process: its exit
    code, time, CPU and peak memory; a problem unless it copied, verified and switched."""
    import contextlib
    import io

    from sheets_schema.__main__ import main as sheets_schema_main

    secrets = folder / "secrets.toml"
    secrets.write_text(
        f'[workbook]\nbackend = "sql"\nsql_url = "{sql_url(path)}"\n'
        f'archive_url = "{sql_url(archive_path(path))}"\nseed_demo = false\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = sheets_schema_main(["--secrets", str(secrets), "migrate", "--to", target])
    seconds = time.perf_counter() - started
    text = out.getvalue()
    problems = []
    if code != 0 or "確認しました" not in text or "設定を切り替えました" not in text:
        problems.append(f"migrate exited {code}: {text[-1500:]}")
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds() - cpu_before, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "output": [line for line in text.splitlines() if "コピーしました" in line or "時間" in line],
        "problems": problems,
    }


# -- the growth table


def cells_used(counts: dict[str, tuple[int, int]]) -> int:
    """What the workbook would take on Google Sheets: (rows + header) x header width per tab."""
    return sum((rows + 1) * width for rows, width in counts.values())


def child(args: list[str], memory_gb: float = 0) -> dict[str, Any]:
    """Run this script in a fresh process; its last stdout line is JSON. Any failure is fatal.
    ``memory_gb`` caps the child's address space: on a shared machine a measurement that would
    need more fails with MemoryError instead of pushing everyone into swap or the OOM killer."""

    def limit() -> None:
        if memory_gb:
            cap = int(memory_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, preexec_fn=limit
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
        raise SystemExit(f"scale bench: `{' '.join(args)}` failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def postgresql_server(url: str | None) -> Iterator[str]:
    """A PostgreSQL server the bench may create and drop databases on: ``url``, or a throwaway
    cluster (tests/pg_cluster.py: initdb in a temp directory, as the ``postgres`` user when run
    as root) removed at the end."""
    if url:
        yield url
        return
    from tests.pg_cluster import Cluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(
            "scale bench: no PostgreSQL server (initdb) here: install postgresql or give --pg-url"
        )
    cluster = Cluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def workbook_mb(url: str) -> float:
    """The workbook's tables on PostgreSQL with their indexes (the archive, in the same
    database, aside: as the SQLite figure is the workbook's file alone)."""
    engine = create_sql_engine(url)
    try:
        with engine.connect() as conn:
            size = sum(
                conn.scalar(select(func.pg_total_relation_size(table.name))) or 0
                for table in (tabs_table, rows_table)
            )
        return round(size / 2**20, 1)
    finally:
        engine.dispose()


def run_hybrid(
    sizes: list[int], workdir: Path, per_day: int, skus: int, rebuild: bool, pg_url: str | None
) -> None:
    """Each size's built workbook measured on the hybrid (bench/hybrid_setup.py: its cycles in
    fresh processes against a Sheets fake served from here and a fresh PostgreSQL database)."""
    for size in sizes:
        path = workdir / f"wb-{size}.sqlite3"
        if rebuild or not path.is_file():
            build(path, orders=size, per_day=per_day, skus=skus)
        command = [sys.executable, str(ROOT / "bench" / "hybrid_setup.py"), "run", "--workbook", str(path)]
        command += ["--skus", str(skus), *(["--pg-url", pg_url] if pg_url else [])]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
            raise SystemExit(1)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"orders": size, "backend": "hybrid", **figures}, ensure_ascii=False), flush=True)


def run_sizes(
    sizes: list[int],
    workdir: Path,
    per_day: int,
    skus: int,
    rebuild: bool,
    memory_gb: float,
    backend: str = "sqlite",
    pg_url: str | None = None,
) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "hybrid":
        run_hybrid(sizes, workdir, per_day, skus, rebuild, pg_url)
        return
    results = []
    server_context = postgresql_server(pg_url) if backend == "postgresql" else contextlib.nullcontext("")
    with server_context as server:
        for size in sizes:
            results.append(run_size(size, workdir, per_day, skus, rebuild, memory_gb, server))
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    # Wall time is the figure staff feel; CPU time (this process only: on PostgreSQL the
    # server's work is in the wall time, not here) is steadier on a shared machine. Growth is
    # against the smallest size, so a linear cycle shows the size ratio.
    print(
        "\norders | backend | hot / archived | migrate (peak RSS) | warm-up | steady (median of 3) | steady CPU "
        "| growth | +100 orders (CPU) | peak RSS | 分析 12 months (SQL part; CPU) | Sheets cells | DB"
    )
    print("---|---|---|---|---|---|---|---|---|---|---|---|---")
    first = results[0]
    for r in results:
        over = " (over Sheets' 10M)" if r["cells"] > 10_000_000 else ""
        growth = r["steady_cpu_seconds"] / first["steady_cpu_seconds"] if first["steady_cpu_seconds"] else 0
        moved = (
            f"{r['migrate_seconds']:.0f} s ({r['migrate_peak_rss_mb']:,} MB)"
            if r["migrate_seconds"] is not None
            else "–"
        )
        print(
            f"{r['orders']:,} | {r['backend']} | {r['hot']:,} / {r['archived']:,} | {moved} "
            f"| {r['warmup_seconds']:.2f} s | {r['steady_seconds']:.2f} s "
            f"| {cpu_text(r['steady_cpu_seconds'], r['steady_server_cpu_seconds'])} | x{growth:.1f} "
            f"| {r['new100_seconds']:.2f} s ({cpu_text(r['new100_cpu_seconds'], r['new100_server_cpu_seconds'])}) "
            f"| {r['peak_rss_mb']:,} MB | {r['analytics_seconds']:.2f} s ({r['analytics_sql_seconds']:.2f} s; "
            f"{cpu_text(r['analytics_cpu_seconds'], r['analytics_server_cpu_seconds'])}) "
            f"| {r['cells']:,}{over} | {r['db_mb']} MB"
        )


def median_or_none(values: Iterator[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def cpu_text(client: float, server: float | None) -> str:
    """CPU seconds of the measuring process, and of its database server processes when known."""
    return f"{client:.2f} s" if server is None else f"{client:.2f} s + {server:.2f} s server"


def run_size(
    size: int,
    workdir: Path,
    per_day: int,
    skus: int,
    rebuild: bool,
    memory_gb: float,
    server: str,
) -> dict[str, Any]:
    """Build (or reuse) the workbook of ``size`` orders, copy it (the build is kept for reuse:
    measurements change the workbook), on PostgreSQL (``server``) migrate the copy to a fresh
    database with ``python -m sheets_schema migrate``, then measure there; the copy and the
    database are removed at the end."""
    from tests.pg_cluster import create_database, drop_database

    pristine = workdir / f"wb-{size}.sqlite3"
    built: dict[str, Any] = {"seconds": None}
    if rebuild or not pristine.exists():
        built = child(
            ["build", str(pristine), "--orders", str(size), "--per-day", str(per_day), "--skus", str(skus)]
        )
    scratch = Path(tempfile.mkdtemp(prefix=f"wb-{size}-work-", dir=workdir))
    database = None
    try:
        work = scratch / "wb.sqlite3"
        shutil.copyfile(pristine, work)
        if archive_path(pristine).is_file():
            shutil.copyfile(archive_path(pristine), archive_path(work))
        hot, archived = tab_counts(work)[ORDERS.title][0], archived_orders(work)  # the build left untouched
        marked = mark_archived(work)
        # An archive built before the fact tables gets them on its first opening, as the app
        # does it (once, minutes at 1M orders): here, before anything is measured.
        Archive(sql_url(archive_path(work))).engine.dispose()
        moved: dict[str, Any] = {"seconds": None, "peak_mb": None}
        if server:
            database = create_database(server)
            moved = child(["migrate", str(work), "--to", database], memory_gb)
            if moved["problems"]:
                sys.stderr.write("\n".join(moved["problems"]) + "\n")
                raise SystemExit(f"scale bench: migrating {size:,} orders to PostgreSQL failed: no figures")
            target, archive_url = database, database
        else:
            target, archive_url = str(work), sql_url(archive_path(work))

        def checked(args: list[str], what: str) -> dict[str, Any]:
            out = child(args, memory_gb)
            if out["problems"]:
                sys.stderr.write("\n".join(out["problems"]) + "\n")
                raise SystemExit(
                    f"scale bench: {what} at {size:,} orders did not do exactly its work: no figures"
                )
            return out

        def cycle(kind: str, offset: int) -> dict[str, Any]:
            args = ["measure", target, "--cycle", kind, "--offset", str(offset), "--skus", str(skus)]
            return checked([*args, "--archive", archive_url], f"the {kind} cycle")

        warm = cycle("warmup", 60)
        steady = [cycle("steady", 120 + 60 * i) for i in range(3)]
        new = cycle("new100", 600)
        analysed = checked(["analytics", target, "--archive", archive_url], "分析 over 12 months")
        counts = tab_counts(database or work)
        return {
            "orders": size,
            "backend": "postgresql" if server else "sqlite",
            "hot": hot,
            "archived": archived,
            "build_seconds": built["seconds"],
            "archive_mark_added": marked,
            "migrate_seconds": moved["seconds"],
            "migrate_peak_rss_mb": moved["peak_mb"],
            "warmup_seconds": warm["seconds"],
            "steady_seconds": statistics.median(s["seconds"] for s in steady),
            "steady_cpu_seconds": statistics.median(s["cpu_seconds"] for s in steady),
            "steady_server_cpu_seconds": median_or_none(s["server_cpu_seconds"] for s in steady),
            "new100_seconds": new["seconds"],
            "new100_cpu_seconds": new["cpu_seconds"],
            "new100_server_cpu_seconds": new["server_cpu_seconds"],
            "peak_rss_mb": max(m["peak_mb"] for m in [warm, *steady, new]),
            "steady_peak_rss_mb": max(s["peak_mb"] for s in steady),
            "analytics_seconds": analysed["seconds"],
            "analytics_sql_seconds": analysed["sql_seconds"],
            "analytics_cpu_seconds": analysed["cpu_seconds"],
            "analytics_server_cpu_seconds": analysed["server_cpu_seconds"],
            "analytics_first_seconds": analysed["first_seconds"],
            "analytics_peak_rss_mb": analysed["peak_mb"],
            "analytics_archived_orders": analysed["archived_orders"],
            "cells": cells_used(counts),
            "db_mb": workbook_mb(database) if database else round(work.stat().st_size / 2**20, 1),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if database:
            drop_database(server, database)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write one workbook")
    b.add_argument("path", type=Path)
    b.add_argument("--orders", type=int, required=True)
    b.add_argument("--per-day", type=int, default=1000)
    b.add_argument("--skus", type=int, default=5000)
    b.add_argument(
        "--archive-after-days", type=int, default=30, help="closed orders older than this are archived"
    )
    b.add_argument("--verify", action="store_true", help="then parse it all and check the ledger (small N)")
    r = sub.add_parser("run", help="the growth table")
    r.add_argument("--sizes", default="10000,50000,200000,1100000")
    r.add_argument("--workdir", type=Path, default=Path("/tmp/ichigen-scale"))
    r.add_argument("--per-day", type=int, default=1000)
    r.add_argument("--skus", type=int, default=5000)
    r.add_argument("--rebuild", action="store_true", help="build again even if the workdir has the file")
    r.add_argument("--memory-gb", type=float, default=12, help="address-space cap per measurement (0: none)")
    r.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "hybrid"),
        default="sqlite",
        help="postgresql: migrate each workbook and its archive to a fresh PostgreSQL database first; "
        "hybrid: staff tabs on the Sheets API fake, the rest on PostgreSQL (bench/hybrid_setup.py)",
    )
    r.add_argument(
        "--pg-url",
        help="a PostgreSQL server the bench may create and drop databases on "
        "(postgresql+psycopg://user@host:port/postgres); default: a throwaway cluster of its own",
    )
    m = sub.add_parser("measure", help=argparse.SUPPRESS)  # one cycle, in a process of its own
    m.add_argument("path", help="a SQLite workbook file or a database URL")
    m.add_argument("--cycle", choices=("warmup", "steady", "new100"), required=True)
    m.add_argument("--offset", type=int, default=60)
    m.add_argument("--skus", type=int, default=5000)
    m.add_argument("--archive", help="the archive's URL")
    a = sub.add_parser("analytics", help=argparse.SUPPRESS)  # 分析 over 12 months, in a process of its own
    a.add_argument("path", help="a SQLite workbook file or a database URL")
    a.add_argument("--archive", required=True, help="the archive's URL")
    g = sub.add_parser("migrate", help=argparse.SUPPRESS)  # the migration, in a process of its own
    g.add_argument("path", type=Path)
    g.add_argument("--to", required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        stats = build(args.path, args.orders, args.per_day, args.skus, args.archive_after_days)
        if args.verify:
            problems = verify_totals(args.path) + verify_archive(args.path)
            if args.orders <= FULL_PARSE_LIMIT:
                problems += verify(args.path)
            else:
                print(
                    f"over {FULL_PARSE_LIMIT:,} orders: ledger totals checked in SQL, no full parse",
                    file=sys.stderr,
                )
            if problems:
                sys.stderr.write("\n".join(problems) + "\n")
                raise SystemExit(
                    f"scale bench: {args.path} is not consistent ({len(problems)} problems shown)"
                )
        print(json.dumps(stats.__dict__, ensure_ascii=False))
    elif args.command == "measure":
        facts = measure(target(args.path), args.cycle, args.offset, args.skus, args.archive)
        print(json.dumps(facts, ensure_ascii=False))
    elif args.command == "analytics":
        print(json.dumps(measure_analytics(target(args.path), args.archive), ensure_ascii=False))
    elif args.command == "migrate":
        print(json.dumps(migrate(args.path, args.to, args.path.parent), ensure_ascii=False))
    else:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        run_sizes(
            sizes,
            args.workdir,
            args.per_day,
            args.skus,
            args.rebuild,
            args.memory_gb,
            args.backend,
            args.pg_url,
        )


def target(text: str) -> Path | str:
    """A workbook given on the command line: a URL as it is, else a SQLite file's path."""
    return text if "://" in text else Path(text)


if __name__ == "__main__":
    main()
