"""Customers and journal benchmark on the scale shop (1.1M orders, ~34k in the workbook).

    python bench/customers_bench.py [--workbook /tmp/ichigen-scale/wb-1100000.sqlite3]
                                    [--workdir /tmp/ichigen-customers] [--month 2026-10]

The workbook and its archive (``bench/scale_bench.py build``'s, ``<stem>-archive.sqlite3``
beside it) are copied into ``--workdir`` first (once), so the shared scale files are never
changed: the customer analysis adds its key tables to the archive it reads.

Measured, on a workbook opened and its 受注/受注明細 parsed beforehand (the app parses them once
per read for every page):

- 購入者キーの作成 (one-time, no target): every archived order keyed (``customer_archive.ensure``).
- 顧客分析 (target ≤ 3 s): the real path of the page after a new read: the workbook's orders keyed
  (HMAC of each), the archive's keyed orders, per-SKU repeat counts and the workbook's pairs
  read, combined, and every figure the page shows (new/repeat for 12 months, repeat rate,
  cohorts, RFM, top repeat SKUs).
- 月の仕訳 (target ≤ 1 s): the month's figures from the workbook and the archive, the entries,
  both files.

Checks (otherwise exit 1, no figures): every order counted once (keyed + unknown + cancelled =
all orders of workbook and archive); the journal files read back equal 分析's 月次サマリー of
the month. A figure over its target: exit 2. Times: median of 3 runs, wall and CPU seconds.

Note on the shop: its buyers are made of 100 names with one phone number, so the 1.1M orders
belong to ~100 buyers (every order keyed by 氏名＋電話番号). The per-order work (reading and
grouping 1.1M keyed orders) does not depend on that; the per-buyer tables are small here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from settings import AccountingSettings, load_settings  # noqa: E402
from sheets_schema.archive import Archive  # noqa: E402
from sheets_schema.book import open_workbook, read_tables  # noqa: E402
from sheets_schema.tabs import ORDER_LINES, ORDERS  # noqa: E402
from shop import analytics, customer_archive, customers, journal  # noqa: E402

SALT = "bench-salt-not-a-secret"
TODAY = date(2026, 11, 30)  # scale_bench's NOW


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def timed(run: Callable[[], Any], times: int = 3) -> tuple[float, float, Any]:
    walls, cpus, result = [], [], None
    for _ in range(times):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def copy_shop(workbook: Path, workdir: Path) -> tuple[Path, Path]:
    archive = workbook.with_name(f"{workbook.stem}-archive.sqlite3")
    if not workbook.exists() or not archive.exists():
        fail(f"{workbook} or {archive} missing: build it with bench/scale_bench.py build")
    workdir.mkdir(parents=True, exist_ok=True)
    copies = workdir / workbook.name, workdir / archive.name
    for source, target in zip((workbook, archive), copies, strict=True):
        if not target.exists() or target.stat().st_size < source.stat().st_size:
            print(f"copying {source} -> {target}", flush=True)
            shutil.copyfile(source, target)
    return copies


def analyse(orders: list[Any], lines: list[Any], buyers: customer_archive.BuyerArchive) -> dict[str, Any]:
    keyed = customers.workbook_orders(orders, SALT)
    pairs = customers.workbook_pairs(keyed, lines)
    known = customer_archive.pair_orders(buyers, list(zip(pairs["購入者"], pairs["SKU"], strict=True)))
    found = customers.combine(
        keyed, pairs, customer_archive.keyed_orders(buyers), customer_archive.repeat_skus(buyers), known
    )
    start = date(2025, 12, 1)
    return {
        "customers": found,
        "cancelled_hot": int(keyed["キャンセル"].sum()),
        "table": customers.new_and_repeat(found, start, TODAY),
        "repeat": customers.repeat_summary(found),
        "cohorts": customers.cohorts(found, TODAY.replace(day=1)),
        "rfm": customers.rfm(found, TODAY),
        "top": customers.top_repeat_skus(found),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workbook", type=Path, default=Path("/tmp/ichigen-scale/wb-1100000.sqlite3"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ichigen-customers"))
    parser.add_argument("--month", default="2026-10")
    args = parser.parse_args()
    workbook_path, archive_path = copy_shop(args.workbook, args.workdir)
    settings = load_settings({"workbook": {"sql_url": f"sqlite:///{workbook_path}"}})
    tables = read_tables(open_workbook(settings), [ORDERS, ORDER_LINES])
    orders, lines = tables[ORDERS.title].models(), tables[ORDER_LINES.title].models()
    archive = Archive(f"sqlite:///{archive_path}")
    buyers = customer_archive.open_buyers(archive)

    started = time.perf_counter()
    keyed_now = customer_archive.ensure(buyers, SALT)
    build = time.perf_counter() - started
    archived_total = archive.count(ORDERS)

    wall, cpu, result = timed(lambda: analyse(orders, lines, buyers))
    found: customers.Customers = result["customers"]
    with archive.engine.connect() as conn:
        from sqlalchemy import func, select

        keyed_table = buyers.tables[customer_archive.ORDER_BUYERS]
        cancelled_archived = conn.scalar(select(func.count()).where(keyed_table.c["キャンセル"] == 1))
    counted = (
        len(found.orders)
        + int(found.unknown["件数"].sum())
        + result["cancelled_hot"]
        + int(cancelled_archived or 0)
    )
    if counted != len(orders) + archived_total:
        fail(f"orders counted {counted:,} != workbook {len(orders):,} + archive {archived_total:,}")
    if result["table"].empty or result["repeat"].buyers == 0 or result["rfm"]["購入者数"].sum() == 0:
        fail("the analysis found no buyers")

    month = date.fromisoformat(args.month + "-01")
    accounts = AccountingSettings(reduced_rate_skus=["SKU-00*"])

    def month_journal() -> tuple[pd.DataFrame, list[bytes]]:
        figures = journal.combine_figures(
            journal.workbook_figures(orders, lines, month, accounts.reduced_rate_skus),
            journal.archived_figures(archive, month, accounts.reduced_rate_skus),
        )
        entries = journal.entries(figures, month, accounts)
        return figures, [journal.journal_csv(s, entries, month, accounts) for s in ("freee", "mf")]

    j_wall, j_cpu, (figures, files) = timed(month_journal)
    first, last = journal.month_range(month)
    facts = pd.concat(
        [
            analytics.order_facts(analytics.orders_frame(orders)),
            analytics.archived_order_facts(
                archive.order_facts(first.isoformat(), (last + timedelta(days=1)).isoformat())
            ),
        ],
        ignore_index=True,
    )
    summary = analytics.monthly_summary(facts, first, last)
    expected = int(summary["売上"].iloc[0])
    for software, data in zip(("freee", "mf"), files, strict=True):
        booked = journal.income_totals(journal.read_back(software, data), accounts.sales_account, software)
        if booked != expected or expected == 0:
            fail(f"{software} journal {booked:,} != 月次サマリー {expected:,}")

    print(f"orders: {len(orders) + archived_total:,} (workbook {len(orders):,}, archive {archived_total:,})")
    print(
        f"buyers: {result['repeat'].buyers:,} keyed orders {len(found.orders):,} "
        f"unknown {int(found.unknown['件数'].sum()):,}"
    )
    print(f"購入者キーの作成（1回だけ）: {build:.1f} s for {keyed_now:,} archived orders")
    print(f"顧客分析: {wall:.2f} s wall, {cpu:.2f} s CPU (target ≤ 3 s)")
    print(
        f"月の仕訳 {args.month}: {j_wall:.2f} s wall, {j_cpu:.2f} s CPU (target ≤ 1 s); "
        f"{int(figures['件数'].sum()):,} orders, 売上 ¥{expected:,} = 月次サマリー"
    )
    if wall > 3 or j_wall > 1:
        raise SystemExit(2)


if __name__ == "__main__":
    main()
