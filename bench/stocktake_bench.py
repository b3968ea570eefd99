"""棚卸 benchmark: a shop of 5,000 SKUs (SQLite) counted in full.

Times making the count sheet (ledger read, CSV and .xlsx) and applying a filled-in CSV (read it
back, check every row, preview, build the one job and write it), then the cycle that folds the
movements into 在庫. Exits non-zero when applying takes longer than the issue's 3 s or when
not every difference became a movement. Run from the project folder:

    python bench/stocktake_bench.py [--skus 5000]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from purchasing import count_files  # noqa: E402
from purchasing.stocktake import apply_stocktake, make_count_sheet, preview, read_for_stocktake  # noqa: E402
from settings import SyncSettings, load_settings  # noqa: E402
from sheets_schema.book import open_prepared_workbook, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from sync.engine import SyncEngine  # noqa: E402

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
APPLY_LIMIT_SECONDS = 3.0


def _filled(data: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for i, row in enumerate(rows[1:]):
        row[4] = str(int(row[3]) - (1 if i % 3 == 0 else 0))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=5_000)
    skus = parser.parse_args().skus
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'wb.sqlite3'}"
        workbook = open_prepared_workbook(
            load_settings({"workbook": {"sql_url": url, "seed_demo": False}}), NOW
        )
        tables = read_tables(workbook)
        job = WriteJob()
        names = [f"S{i:05d}" for i in range(skus)]
        job.append(
            tables["商品"],
            [
                {"SKU": s, "商品名": f"商品 {s}", "販売価格": 1000, "原価": 400, "棚番": f"R{i % 50:02d}"}
                for i, s in enumerate(names)
            ],
        )
        job.append(tables["在庫"], [{"SKU": s, "実在庫": 20} for s in names])
        workbook.write(job)
        SyncEngine(workbook, [], SyncSettings(), clock=lambda: NOW).run_once(fetch=False)

        started = time.perf_counter()
        ledger, products, _sets = read_for_stocktake(workbook)
        sheet = make_count_sheet(products.values(), ledger.on_hand, now=NOW, token="BNCH")
        csv_bytes, xlsx_bytes = count_files.to_csv(sheet), count_files.to_xlsx(sheet)
        made = time.perf_counter() - started

        filled = _filled(csv_bytes)  # what staff upload: every third SKU one short
        started = time.perf_counter()
        grid, errors = count_files.read_count_file("棚卸表.csv", filled)
        assert grid is not None, errors
        counts, errors = count_files.parse_counts(grid, "棚卸表.csv", set(products))
        assert counts is not None, errors
        ledger, products, _sets = read_for_stocktake(workbook)
        shown = preview(counts, products, ledger)
        applied = apply_stocktake(counts, products, ledger, now=NOW)
        workbook.write(applied.job)
        applying = time.perf_counter() - started

        started = time.perf_counter()
        SyncEngine(workbook, [], SyncSettings(), clock=lambda: NOW).run_once(fetch=False)
        folding = time.perf_counter() - started

    expected = (skus + 2) // 3
    print(f"棚卸 {skus:,} SKU (SQLite)")
    print(f"  棚卸表を作る（台帳・CSV {len(csv_bytes):,} B・xlsx {len(xlsx_bytes):,} B）: {made:.2f} s")
    print(f"  反映（読み込み・検査・差異 {len(shown.changed):,} 件・1ジョブ書き込み）: {applying:.2f} s")
    print(f"  次の同期で在庫へ: {folding:.2f} s")
    ok = len(applied.movements) == expected and applying <= APPLY_LIMIT_SECONDS
    if not ok:
        print(
            f"NG: 移動 {len(applied.movements)} 件（期待 {expected}）・反映 {applying:.2f} s（上限 {APPLY_LIMIT_SECONDS} s）"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
