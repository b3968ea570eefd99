"""Purchasing benchmark: 発注提案 over a year of history, receiving 1,000 lines, 在庫金額.

    python bench/purchasing_bench.py [--workbook PATH] [--orders 73000] [--per-day 200]
                                     [--skus 5000] [--workdir DIR]

The shop is ``bench/scale_bench.py build``'s (built once into ``--workdir`` unless
``--workbook`` names one): 5,000 SKUs, a year of orders at 200 a day, closed orders older than
30 days in the archive with its facts. The bench adds the purchasing side: the 仕入先 and an
open 発注 (発注済) of 500 lines, so 発注残 is real. Measured, in this process, each on a
workbook opened beforehand (imports and opening are not in the figures):

- 発注提案 (target ≤ 1 s): the real path, cold: read 商品・在庫・仕入先・発注・発注明細・受注・受注明細,
  build 分析's base of the read (``shop.analytics.build_base``), units sold per SKU from it and
  the archive's line facts (``purchasing.velocity``), 発注残 and
  ``purchasing.suggestions.suggest`` for every SKU, with a 30-day and a 365-day sales window;
  then warm (分析's base already built, as the app caches it per read): units sold + suggest.
- 入荷 of 1,000 lines (target ≤ 2 s): on a copy of the workbook, a 発注済 発注 of 1,000 lines
  received whole: ``purchasing.receiving.receive`` + the one write (1,000 入庫 movements, the
  lines' 入荷数, the 発注's status), and the read before it, shown apart.
- 在庫金額 (no target, for the record): on the received copy, cost histories of every SKU
  from the ledger's cells and the archive's stock facts, 在庫金額 now and 12 month ends.
- 棚卸 of 5,000 SKUs is measured by bench/stocktake_bench.py.

Each measurement checks it did its work (every SKU suggested; units sold equal to a count
straight from the archive's rows and the workbook's lines; every line received once, a second
press refused; the valuation's units equal to the ledger's, the received SKUs at moving-average
cost); otherwise the bench exits 1 and prints no figure. A figure over its target: exit 2.
Times are the median of 3 runs, wall and CPU seconds (CPU is steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from purchasing import purchase_orders, stock_history, velocity  # noqa: E402
from purchasing.ledger_rows import ledger_rows  # noqa: E402
from purchasing.reading import read_purchasing  # noqa: E402
from purchasing.receiving import receive  # noqa: E402
from purchasing.suggestions import suggest  # noqa: E402
from purchasing.valuation import MOVING, month_end_values, stock_value  # noqa: E402
from settings import load_settings  # noqa: E402
from sheets_schema.archive import Archive  # noqa: E402
from sheets_schema.book import ensure_tabs, open_workbook, read_tables  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sheets_schema.errors import StaleWorkbookError  # noqa: E402
from sheets_schema.tabs import (  # noqa: E402
    ORDER_LINES,
    ORDERS,
    PRODUCTS,
    PURCHASE_ORDER_LINES,
    PURCHASE_ORDERS,
    STOCK,
    STOCK_MOVEMENTS,
    SUPPLIERS,
)
from sheets_schema.workbook import Workbook  # noqa: E402
from shop import analytics  # noqa: E402

NOW = datetime.fromisoformat("2026-11-30T12:00:00+09:00")  # scale_bench's NOW
TODAY = NOW.date()
SUPPLIER = "丸山繊維"  # every scale-bench SKU's 仕入先
OPEN_LINES = 500
RECEIVED_LINES = 1_000
RECEIVED_UNITS = 12  # per line
RUNS = 3
TARGETS = {"発注提案": 1.0, "入荷": 2.0}


class BenchFailed(Exception):
    """The bench did not do its work: no figure is printed."""


def archive_of(workbook: Path) -> Path:
    return workbook.with_name(f"{workbook.stem}-archive.sqlite3")


def open_shop(path: Path) -> tuple[Workbook, Archive]:
    settings = load_settings({"workbook": {"sql_url": f"sqlite:///{path}"}})
    return open_workbook(settings), Archive(f"sqlite:///{archive_of(path)}")


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_of(run: Callable[[], Any], check: Callable[[Any], None]) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu, result = timed(run)
        check(result)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


# -- the shop's purchasing side


def add_purchasing(workbook: Workbook) -> None:
    """The 仕入先 and an open 発注 of ``OPEN_LINES`` lines (once; the build is reused)."""
    ensure_tabs(workbook, [SUPPLIERS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES])
    tables = read_tables(workbook, [SUPPLIERS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES, PRODUCTS])
    if tables[PURCHASE_ORDERS.title].models():
        return
    products = tables[PRODUCTS.title].models()
    job = WriteJob()
    job.append(tables[SUPPLIERS.title], [{"仕入先": SUPPLIER, "リードタイム日数": 7}])
    job.append(tables[PURCHASE_ORDERS.title], [_order("PO-OPEN", products[0].supplier or SUPPLIER)])
    job.append(
        tables[PURCHASE_ORDER_LINES.title],
        [_line("PO-OPEN", i, p.sku, 20, p.cost) for i, p in enumerate(products[:OPEN_LINES], start=1)],
    )
    workbook.write(job)


def _order(number: str, supplier: str) -> dict[str, Any]:
    return {
        "発注番号": number,
        "仕入先": supplier,
        "発注日": TODAY - timedelta(days=3),
        "入荷予定日": TODAY + timedelta(days=4),
        "ステータス": "発注済",
        "更新日時": NOW,
    }


def _line(number: str, i: int, sku: str, quantity: int, cost: int | None) -> dict[str, Any]:
    return {"発注番号": number, "明細番号": i, "SKU": sku, "数量": quantity, "単価": cost, "入荷数": 0}


# -- 発注提案


SUGGESTION_TABS = (PRODUCTS, STOCK, SUPPLIERS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES, ORDERS, ORDER_LINES)


def suggestions_cold(workbook: Workbook, archive: Archive, window: int) -> tuple[list[Any], dict[str, int]]:
    tables = read_tables(workbook, SUGGESTION_TABS)
    return suggestions_from(tables, analytics.build_base(tables), archive, window)


def suggestions_from(
    tables: dict[str, Any], base: analytics.Base, archive: Archive, window: int
) -> tuple[list[Any], dict[str, int]]:
    """What a 発注提案 view does: units sold from 分析's base of the read and the archive's
    line facts (``purchasing.velocity``), 発注残, suggest."""
    sold = velocity.units_sold_with_archive(base, archive, TODAY, window)
    on_order = purchase_orders.on_order(tables[PURCHASE_ORDERS.title], tables[PURCHASE_ORDER_LINES.title])
    found = suggest(
        tables[PRODUCTS.title].models(),
        {s.sku: s for s in tables[STOCK.title].models()},
        sold,
        on_order,
        {s.name: s for s in tables[SUPPLIERS.title].models()},
        today=TODAY,
        window_days=window,
    )
    return found, sold


def expected_sold(path: Path, tables: dict[str, Any], window: int) -> Counter[str]:
    """Units sold in the window counted straight from the rows: the archive's order lines
    (SQL over the rows, not the facts) and the workbook's lines, plain Python."""
    since = (TODAY - timedelta(days=window - 1)).isoformat()
    until = (TODAY + timedelta(days=1)).isoformat()
    counted: Counter[str] = Counter()
    with sqlite3.connect(archive_of(path)) as db:
        rows = db.execute(
            """SELECT l."SKU", sum(l."数量") FROM order_lines l JOIN orders o
               ON o."モール" = l."モール" AND o."注文番号" = l."注文番号"
               WHERE o."注文日時" >= ? AND o."注文日時" < ? AND o."ステータス" != 'キャンセル'
               AND o."在庫引当" = 'ON' AND l."SKU" != '' GROUP BY 1""",
            (since, until),
        )
        counted.update({sku: n for sku, n in rows})
    first, last = TODAY - timedelta(days=window - 1), TODAY
    live = {
        (o.mall, o.order_number)
        for o in tables[ORDERS.title].models()
        if o.status != "キャンセル" and o.allocates_stock and first <= o.ordered_at.date() <= last
    }
    for line in tables[ORDER_LINES.title].models():
        if line.sku and (line.mall, line.order_number) in live:
            counted[line.sku] += line.quantity
    return +counted


def check_suggestions(path: Path, workbook: Workbook, window: int) -> Callable[[Any], None]:
    tables = read_tables(workbook, SUGGESTION_TABS)
    expected = expected_sold(path, tables, window)
    skus = {p.sku for p in tables[PRODUCTS.title].models()}

    def check(result: tuple[list[Any], dict[str, int]]) -> None:
        found, sold = result
        if {s.sku for s in found} != skus or len(found) != len(skus):
            raise BenchFailed(f"発注提案: {len(found)} rows for {len(skus)} SKUs")
        if Counter(sold) != expected:
            raise BenchFailed(
                f"発注提案: units sold {sum(sold.values())} != counted {sum(expected.values())}"
            )
        if not any(s.quantity for s in found) or not any(s.on_order for s in found):
            raise BenchFailed("発注提案: nothing to order or no 発注残: the inputs are not what was built")

    return check


# -- 入荷


def receiving(path: Path, workdir: Path) -> tuple[dict[str, float], Workbook]:
    copy = workdir / "receiving.sqlite3"
    shutil.copyfile(path, copy)
    workbook, _ = open_shop(copy)
    tables = read_tables(workbook, [PRODUCTS, PURCHASE_ORDERS, PURCHASE_ORDER_LINES])
    products = tables[PRODUCTS.title].models()[:RECEIVED_LINES]
    job = WriteJob()
    job.append(tables[PURCHASE_ORDERS.title], [_order("PO-BENCH", SUPPLIER)])
    lines = [
        _line("PO-BENCH", i, p.sku, RECEIVED_UNITS, 400 + i % 7) for i, p in enumerate(products, start=1)
    ]
    job.append(tables[PURCHASE_ORDER_LINES.title], lines)
    workbook.write(job)
    counts = {i: RECEIVED_UNITS for i in range(1, len(lines) + 1)}

    read_wall, read_cpu, read = timed(lambda: read_purchasing(workbook))
    receipt = receive(read.orders, read.lines, read.ledger, "PO-BENCH", counts, now=NOW)  # warm the code
    wall, cpu, receipt = timed(
        lambda: receive(read.orders, read.lines, read.ledger, "PO-BENCH", counts, now=NOW)
    )
    if receipt.refused or len(receipt.movements) != RECEIVED_LINES or receipt.status != "入荷済":
        raise BenchFailed(f"入荷: {receipt.refused or receipt.status}")
    write_wall, write_cpu, _ = timed(lambda: workbook.write(receipt.job))
    after = read_purchasing(workbook)
    ids = {m.movement_id for m in after.ledger.models() if m.movement_id.startswith("入荷:PO-BENCH:")}
    received = [ln for ln in after.lines.models() if ln.number == "PO-BENCH"]
    if len(ids) != RECEIVED_LINES or any(ln.received != ln.quantity for ln in received):
        raise BenchFailed(f"入荷: {len(ids)} movements, lines not all received")
    try:  # the same press again (read before the first write): refused, stock counts once
        workbook.write(receive(read.orders, read.lines, read.ledger, "PO-BENCH", counts, now=NOW).job)
    except StaleWorkbookError:
        pass
    else:
        raise BenchFailed("入荷: a second press of the same receipt was written")
    return {
        "read": read_wall,
        "receive": wall,
        "write": write_wall,
        "receive_write": wall + write_wall,
        "receive_write_cpu": cpu + write_cpu,
        "total": read_wall + wall + write_wall,
        "read_cpu": read_cpu,
    }, workbook


# -- 在庫金額


def valuation(workbook: Workbook, archive: Archive) -> tuple[float, float, int, int]:
    """What ホーム and 分析 do on a fresh read: the ledger's rows from its cells, the cost
    histories (the archive's stock facts read too: the app caches them per archive stamp, so
    this is the first view after a pass), 在庫金額 now and 12 month ends. On the receiving copy:
    the 1,000 SKUs just received are at moving-average cost, the rest at 原価; 在庫 does not
    have the received units yet (the next sync cycle folds them in)."""

    def run() -> tuple[int, int, int]:
        tables = read_tables(workbook, [PRODUCTS, STOCK, PURCHASE_ORDER_LINES])
        rows = ledger_rows(workbook.read([STOCK_MOVEMENTS.title]).get(STOCK_MOVEMENTS.title))
        histories = stock_history.histories(tables, rows, archive)
        on_hand = {s.sku: s.on_hand for s in tables[STOCK.title].models()}
        worth = stock_value(histories, on_hand, {p.sku: p.cost for p in tables[PRODUCTS.title].models()})
        first = date(TODAY.year - 1, TODAY.month % 12 + 1, 1)
        months = month_end_values(histories, stock_history.month_starts(first, TODAY), NOW)
        ledger_units = sum(h.on_hand for h in histories.values() if h.on_hand > 0)
        expected = sum(u for u in on_hand.values() if u > 0) + RECEIVED_LINES * RECEIVED_UNITS
        if ledger_units != expected or months[-1].units != ledger_units:
            raise BenchFailed(f"在庫金額: ledger {ledger_units} units, 在庫 + received {expected}")
        if len(months) != 12 or not worth.total or worth.skus(MOVING) != RECEIVED_LINES:
            raise BenchFailed(
                f"在庫金額: {len(months)} month ends, {worth.skus(MOVING)} SKUs at moving average"
            )
        return worth.total, len(histories), ledger_units

    walls, cpus, result = [], [], (0, 0, 0)
    for _ in range(RUNS):
        wall, cpu, result = timed(run)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus), result[0], result[1]


# -- main


def build(workdir: Path, orders: int, per_day: int, skus: int) -> Path:
    path = workdir / f"wb-{orders}-{skus}.sqlite3"
    if path.exists() and archive_of(path).exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "bench" / "scale_bench.py"), "build", str(path)]
    command += ["--orders", str(orders), "--per-day", str(per_day), "--skus", str(skus)]
    print(f"building {path.name} ({orders:,} orders, {skus:,} SKUs) …", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workbook", type=Path, help="a scale_bench.py build (its archive beside it)")
    parser.add_argument("--orders", type=int, default=73_000)
    parser.add_argument("--per-day", type=int, default=200)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ichigen-purchasing"))
    args = parser.parse_args(argv)
    try:
        path = args.workbook or build(args.workdir, args.orders, args.per_day, args.skus)
        args.workdir.mkdir(parents=True, exist_ok=True)
        workbook, archive = open_shop(path)
        add_purchasing(workbook)
        skus = len(read_tables(workbook, [PRODUCTS])[PRODUCTS.title].models())
        figures: list[tuple[str, float, float, float | None]] = []
        for window in (30, 365):
            check = check_suggestions(path, workbook, window)
            wall, cpu = median_of(lambda w=window: suggestions_cold(workbook, archive, w), check)
            figures.append(
                (f"発注提案 {skus:,} SKU・販売 {window}日（読み込みから）", wall, cpu, TARGETS["発注提案"])
            )
        tables = read_tables(workbook, SUGGESTION_TABS)
        base = analytics.build_base(tables)
        check = check_suggestions(path, workbook, 365)
        wall, cpu = median_of(lambda: suggestions_from(tables, base, archive, 365), check)
        figures.append(
            (f"発注提案 {skus:,} SKU・販売 365日（分析の集計済み）", wall, cpu, TARGETS["発注提案"])
        )
        got, received = receiving(path, args.workdir)
        figures.append(
            (
                f"入荷 {RECEIVED_LINES:,} 明細（receive + 書き込み）",
                got["receive_write"],
                got["receive_write_cpu"],
                TARGETS["入荷"],
            )
        )
        figures.append(
            (
                f"入荷 {RECEIVED_LINES:,} 明細（読み込みを含む）",
                got["total"],
                got["read_cpu"] + got["receive_write_cpu"],
                None,
            )
        )
        wall, cpu, total, valued = valuation(received, archive)
        figures.append((f"在庫金額 {valued:,} SKU と月末12回（読み込みから）", wall, cpu, None))
    except BenchFailed as failure:
        print(f"purchasing bench FAILED: {failure}", file=sys.stderr)
        raise SystemExit(1) from failure
    print(f"workbook: {path} (archive {archive_of(path).name})")
    print("measurement | wall s | cpu s | target")
    print("---|---|---|---")
    over = []
    for name, wall, cpu, target in figures:
        verdict = "–" if target is None else (f"≤ {target:g} s " + ("OK" if wall <= target else "OVER"))
        print(f"{name} | {wall:.3f} | {cpu:.3f} | {verdict}")
        if target is not None and wall > target:
            over.append(name)
    print(f"在庫金額 now (received copy, 在庫 before the next sync): ¥{total:,}")
    print("棚卸 5,000 SKU: python bench/stocktake_bench.py")
    if over:
        print(f"over target: {', '.join(over)}", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
