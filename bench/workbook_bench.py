"""Workbook benchmark: 受注 tabs of 10k, 50k and 100k rows.

For each size: on SQLite, the time to read every tab (raw, and read + parse into models) and to
write a 1,000-cell batch; through the Sheets API fake over loopback (real gspread + google-auth),
the API requests the same jobs use and their time. Run from the project folder:

    python bench/workbook_bench.py [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.adapters.google_sheets import GoogleSheetsWorkbook  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables, seed_demo_if_new  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sheets_schema.tabs import ORDERS, TABS  # noqa: E402
from sheets_schema.workbook import Workbook  # noqa: E402
from tests.fakes.sheets_api import FakeSheetsServer, make_service_account_info  # noqa: E402
from vocabulary.retry import RetryPolicy  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
STATUSES = ("新規", "入金待ち", "発送待ち", "保留", "出荷済", "キャンセル")
WRITE_CELLS = 1_000


def order_rows(n: int) -> list[dict[str, Any]]:
    start = NOW - timedelta(days=365)
    return [
        {
            "モール": ("楽天", "Amazon", "Yahoo!", "Shopify")[i % 4],
            "注文番号": f"338112-20261118-{i:08d}",
            "注文日時": start + timedelta(minutes=5 * i),
            "ステータス": STATUSES[i % 6],
            "支払方法": "クレジットカード",
            "購入者名": f"山田 太郎{i}",
            "送付先氏名": f"山田 太郎{i}",
            "郵便番号": "060-0001",
            "住所": "北海道札幌市中央区北一条西1-1-1",
            "電話番号": "011-123-4567",
            "合計金額": 3300 + i % 1000,
            "送料": 550,
            "備考": "",
            "更新日時": NOW,
        }
        for i in range(n)
    ]


class BenchFailure(Exception):
    """The workbook does not hold what the bench wrote: its figures would measure nothing."""


def order_count(workbook: Workbook) -> int:
    return len(read_tables(workbook, [ORDERS])[ORDERS.title].records)


def fill(workbook: Workbook, n: int) -> int:
    """Append n orders in jobs of 20,000 rows; the 受注 row count afterwards, checked."""
    seed_demo_if_new(workbook, NOW)
    before = order_count(workbook)  # the seeded demo shop has orders of its own
    rows = order_rows(n)
    for start in range(0, n, 20_000):
        # Re-read before every job: appends land where the job's read ended, and a job built on
        # an earlier read would (before the adapters refused it) overwrite the previous job's rows.
        tables = read_tables(workbook, [ORDERS])
        job = WriteJob()
        job.append(tables[ORDERS.title], rows[start : start + 20_000])
        workbook.write(job)
    require_orders(workbook, before + n)
    return before + n


def require_orders(workbook: Workbook, expected: int) -> None:
    stored = order_count(workbook)
    if stored != expected:
        raise BenchFailure(
            f"受注シートに {expected:,} 行あるはずが {stored:,} 行しかありません（{workbook.info.backend}）。"
            "この計測は無効です"
        )


def write_job(workbook: Workbook) -> WriteJob:
    """1,000 cells: ステータス and 備考 of 500 orders spread over the tab."""
    orders = read_tables(workbook, [ORDERS])[ORDERS.title]
    step = max(1, len(orders.records) // 500)
    job = WriteJob()
    for record in orders.records[::step][:500]:
        job.set(orders, record.row, {"ステータス": "発送待ち", "備考": "ベンチマーク"})
    assert job.cell_count() == WRITE_CELLS
    return job


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_sqlite(n: int, folder: Path) -> dict[str, float]:
    workbook = SqlWorkbook(f"sqlite:///{folder / f'bench_{n}.sqlite3'}")
    fill(workbook, n)
    titles = [s.title for s in TABS]
    raw, _ = timed(lambda: workbook.read(titles))
    parsed, _ = timed(lambda: read_tables(workbook))
    job = write_job(workbook)
    write, _ = timed(lambda: workbook.write(job))
    return {"read_raw": raw, "read_parse": parsed, "write": write}


def bench_sheets(n: int, server: FakeSheetsServer) -> dict[str, float]:
    key = server.create_spreadsheet(f"bench {n}")
    workbook = GoogleSheetsWorkbook(
        key,
        make_service_account_info(server.token_uri),
        api_base_url=server.base_url,
        policy=RetryPolicy(max_retries=0),
    )
    ensure_tabs(workbook)
    expected = fill(workbook, n)
    fresh = GoogleSheetsWorkbook(
        key, make_service_account_info(server.token_uri), api_base_url=server.base_url
    )
    server.reset_counts()
    read_time, tables = timed(lambda: read_tables(fresh))
    read_requests = server.count()
    if len(tables[ORDERS.title].records) != expected:  # what a fresh object reads, not the cache
        raise BenchFailure(
            f"Sheets: 受注 {expected:,} 行のはずが {len(tables[ORDERS.title].records):,} 行です"
        )
    job = write_job(fresh)
    server.reset_counts()
    write_time, _ = timed(lambda: fresh.write(job))
    return {
        "read_requests": read_requests,
        "read_time": read_time,
        "write_requests": server.count(),
        "write_time": write_time,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    lines = []
    with tempfile.TemporaryDirectory() as folder, FakeSheetsServer() as server:
        for n in sizes:
            try:
                sql = bench_sqlite(n, Path(folder))
                sheets = bench_sheets(n, server)
            except BenchFailure as exc:  # before any figure: a broken run must not look like a result
                sys.exit(f"失敗（{n:,} 行）: {exc}")
            lines.append(
                f"{n:,} | {sql['read_raw']:.2f} s | {sql['read_parse']:.2f} s | {sql['write'] * 1000:.0f} ms "
                f"| {sheets['read_requests']} ({sheets['read_time']:.2f} s) "
                f"| {sheets['write_requests']} ({sheets['write_time'] * 1000:.0f} ms)"
            )
    print(
        f"受注 rows | SQLite read raw | SQLite read+parse | SQLite write {WRITE_CELLS:,} cells "
        "| Sheets read: requests (time) | Sheets write: requests (time)"
    )
    print("---|---|---|---|---|---")
    print("\n".join(lines))
    print(
        "\nSheets read requests include the one metadata request a fresh workbook object makes (cached after)."
    )


if __name__ == "__main__":
    main()
