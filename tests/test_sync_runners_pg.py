"""Several `python -m sync watch` processes on one PostgreSQL workbook: exactly one holds the
lease (a session-level advisory lock on the server); when it is killed with kill -9, another
takes over within one interval, not after the lease's expiry, and no order is imported twice.

Real processes, a real server (tests/pg_cluster.py), Shopify's contract-following fake on
loopback as the mall.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from settings import PROJECT_ROOT
from sheets_schema.adapters.sql import PostgresRunnerLock, SqlWorkbook
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import SYSTEM_STATE
from sync import state
from tests.fakes.shopify_api import DEFAULT_TOKEN, FakeShopify, Variant
from tests.shop_fixtures import ledger_problems

INTERVAL = 4.0
# Scheduling slack on a busy test machine: the dead runner's session ending, a process start.
SLACK = 3.0


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify() as shop:
        yield shop


def _shop(url: str, fake: FakeShopify) -> tuple[SqlWorkbook, list[Variant]]:
    workbook = SqlWorkbook(url)
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    variants = []
    for sku, name, on_hand in (("TSH-WH-M", "Tシャツ 白 M", 50), ("00123", "手ぬぐい", 50)):
        (variant,) = fake.add_product(name, [(sku, "", 2980)])
        variants.append(variant)
        job.append(tables["商品"], [{"SKU": sku, "商品名": name, "販売価格": 2980}])
        job.append(tables["在庫"], [{"SKU": sku, "実在庫": on_hand, "安全在庫": 0}])
        job.append(
            tables["モール商品"],
            [
                {
                    "モール": "Shopify",
                    "SKU": sku,
                    "モール商品コード": str(variant.product_id),
                    "モールSKU": sku,
                }
            ],
        )
    workbook.write(job)
    return workbook, variants


def _start(secrets: Path, folder: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync", "--secrets", str(secrets), "watch", "--interval", str(INTERVAL)],
        cwd=PROJECT_ROOT,
        stdout=(folder / f"{name}.out").open("wb"),
        stderr=(folder / f"{name}.err").open("wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _lease_holder(workbook: SqlWorkbook) -> str:
    stored = state.values(read_tables(workbook, [SYSTEM_STATE])[SYSTEM_STATE.title])
    current = state.Lease.decode(stored.get(state.LEASE_KEY, ""))
    return current.holder if current else ""


def _lock_holders(workbook: SqlWorkbook) -> list[int]:
    """Server processes holding the runner's advisory lock (bigint keys: low 32 bits in objid)."""
    with workbook.engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND objid = :key AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"key": PostgresRunnerLock.KEY & 0xFFFFFFFF},
            )
        )


def _until(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds it took ``condition`` to hold; fails after ``seconds``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{seconds} 秒待っても条件が満たされませんでした")
        time.sleep(0.1)
    return time.monotonic() - started


def _orders(workbook: SqlWorkbook) -> list[str]:
    return [o.order_number for o in read_tables(workbook)["受注"].models()]


def test_two_watch_runners_one_holds_the_lease_and_the_other_takes_over_at_once_after_kill_9(
    pg_url: str, fake: FakeShopify, tmp_path: Path
) -> None:
    workbook, variants = _shop(pg_url, fake)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[workbook]\nbackend = "sql"\nsql_url = "{pg_url}"\narchive_url = "{pg_url}"\nseed_demo = false\n'
        # A long lease: taking over must not wait for it to run out.
        "[sync]\nlease_seconds = 600\n"
        f'[malls.shopify]\ntype = "shopify"\nbase_url = "{fake.base_url}"\naccess_token = "{DEFAULT_TOKEN}"\n',
        encoding="utf-8",
    )
    fake.add_order([(variants[0], 1)])
    first = _start(secrets, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        _until(lambda: f"-{first.pid}-" in _lease_holder(workbook), 60)
        second = _start(secrets, tmp_path, "second")
        _until(lambda: "別の同期が実行中です" in (tmp_path / "second.err").read_text("utf-8"), 60)
        assert f"-{first.pid}-" in _lease_holder(workbook)
        assert len(_lock_holders(workbook)) == 1  # one server session holds the runner lock

        fake.add_order([(variants[1], 2)])
        _until(lambda: len(_orders(workbook)) == 2, 30)  # the holder imports, the other waits

        os.kill(first.pid, signal.SIGKILL)  # no cleanup, no lease release
        first.wait()
        killed = time.monotonic()
        fake.add_order([(variants[0], 3)])
        _until(lambda: f"-{second.pid}-" in _lease_holder(workbook), INTERVAL + SLACK + 10)
        took = time.monotonic() - killed
        assert took <= INTERVAL + SLACK, f"引き継ぎに {took:.1f} 秒かかりました"
        _until(lambda: len(_orders(workbook)) == 3, 30)
        assert len(_lock_holders(workbook)) == 1

        # Orders the killed runner imported are not imported again; the overlap window
        # (overlap_minutes) re-reads them from the mall, and they are found.
        time.sleep(INTERVAL + 1)
        tables = read_tables(workbook)
        numbers = [o.order_number for o in tables["受注"].models()]
        assert sorted(numbers) == sorted(set(numbers)) and len(numbers) == 3
        assert [str(e) for t in tables.values() for e in t.errors] == []
        assert ledger_problems(tables) == []
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    workbook.engine.dispose()
