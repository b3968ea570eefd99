"""Set products benchmark: 販売可能数 of 1,000 sets over a catalogue of 5,000 SKUs.

Times what a sync cycle does for sets, on the tabs as a cycle reads them: parse セット構成
(1–4 components a set, shared between sets, one set in ten holding another set), check and
flatten it against 商品 (sync.sets.read_sets), then write_stock over 在庫 (5,000 SKUs + 1,000
set rows, every component's 販売可能数 changed since the last cycle so every set is rebuilt and
its row rewritten). Every set's figure is checked against a brute-force reference; the script
exits non-zero (printing no figure) when a set was not computed or differs, or when the work
takes longer than the issue's 0.5 s. Run from the project folder:

    python bench/sets_bench.py [--skus 5000] [--sets 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sheets_schema.grid import Grid  # noqa: E402
from sheets_schema.parsing import parse_grid  # noqa: E402
from sheets_schema.tabs import SET_COMPONENTS, STOCK, STOCK_RECORDS  # noqa: E402
from sync.ledger import Ledger  # noqa: E402
from sync.sets import read_sets  # noqa: E402
from sync.stock import write_stock  # noqa: E402

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
LIMIT_SECONDS = 0.5


def build(skus: int, sets: int) -> tuple[list[str], Grid, Grid, Grid, Ledger, dict[str, dict[str, int]]]:
    rng = random.Random(13)
    plain = [f"S{i:05d}" for i in range(skus)]
    set_skus = [f"SET{i:04d}" for i in range(sets)]
    parts: dict[str, dict[str, int]] = {}
    for i, set_sku in enumerate(set_skus):
        chosen = {c: rng.randint(1, 4) for c in rng.sample(plain, rng.randint(1, 4))}
        if i % 10 == 9:  # a set holding an earlier set (no cycles)
            chosen[set_skus[rng.randrange(i)]] = rng.randint(1, 2)
        parts[set_sku] = chosen
    set_rows = [[s, c, str(q), ""] for s, chosen in parts.items() for c, q in chosen.items()]
    ledger = Ledger()
    stock_rows, record_rows = [], []
    for sku in plain:
        on_hand, safety = rng.randint(0, 200), rng.randint(0, 3)
        ledger.on_hand[sku] = on_hand + 1  # one more than 在庫 shows: every row changes
        ledger.allocated[sku] = rng.randint(0, 5)
        stock_rows.append([sku, str(on_hand), "0", str(safety), "0", "", "0"])
        record_rows.append([sku, str(on_hand + 1), str(safety), ""])
    for sku in set_skus:
        stock_rows.append([sku, "0", "0", "0", "0", "", "0"])
        record_rows.append([sku, "0", "0", ""])
    grids = (
        Grid(SET_COMPONENTS.title, list(SET_COMPONENTS.headers), set_rows),
        Grid(STOCK.title, list(STOCK.headers), stock_rows),
        Grid(STOCK_RECORDS.title, list(STOCK_RECORDS.headers), record_rows),
    )
    return [*plain, *set_skus], *grids, ledger, parts


def reference(parts: dict[str, dict[str, int]], free: dict[str, int]) -> dict[str, int]:
    """Every set by brute force: flatten by recursion, then the least whole number of sets."""

    def flat(sku: str) -> dict[str, int]:
        if sku not in parts:
            return {sku: 1}
        total: dict[str, int] = {}
        for component, quantity in parts[sku].items():
            for leaf, units in flat(component).items():
                total[leaf] = total.get(leaf, 0) + units * quantity
        return total

    return {s: min(free[c] // u for c, u in flat(s).items()) for s in parts}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--sets", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    products, set_grid, stock_grid, record_grid, ledger, parts = build(args.skus, args.sets)
    stock = parse_grid(STOCK, stock_grid)  # parsed by the cycle anyway, sets or not
    records = parse_grid(STOCK_RECORDS, record_grid)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        table = parse_grid(SET_COMPONENTS, set_grid)
        book = read_sets(table, products)
        job = WriteJob()
        outcome = write_stock(job, stock, records, ledger, NOW, products, book)
        timings.append(time.perf_counter() - started)
    problems = list(book.problems)
    free = {s: outcome.available[s] for s in products if not s.startswith("SET")}
    expected = reference(parts, free)
    computed = {s: outcome.available.get(s) for s in parts}
    if len(book.compositions) != args.sets:
        problems.append(f"{len(book.compositions)} sets read of {args.sets}")
    wrong = [s for s in parts if computed[s] != expected[s]]
    if wrong:
        problems.append(
            f"{len(wrong)} sets differ from the reference, e.g. {wrong[0]}: {computed[wrong[0]]} ≠ {expected[wrong[0]]}"
        )
    rewritten = sum(1 for s in parts if s in outcome.changed)
    if rewritten != sum(1 for s in parts if expected[s]):
        problems.append(f"{rewritten} set rows rewritten, {sum(1 for s in parts if expected[s])} expected")
    if problems:
        print("FAILED: " + " / ".join(problems[:5]), file=sys.stderr)
        return 1
    best, worst = min(timings), max(timings)
    print(
        f"set availability: {args.sets:,} sets ({len(set_grid.rows):,} セット構成 rows) over "
        f"{args.skus:,} SKUs: best {best:.3f} s, worst {worst:.3f} s of {args.repeat} "
        f"(parse セット構成 + read_sets + write_stock of {len(stock_grid.rows):,} 在庫 rows)"
    )
    if worst > LIMIT_SECONDS:
        print(f"FAILED: slower than {LIMIT_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
