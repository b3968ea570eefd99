"""A large synthetic shop for benchmarks: 5,000 SKUs, 50,000 orders (about 75,000 lines) and the
ledger that goes with them, written through the same WriteJob path the app uses."""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob, apply_to_grids  # noqa: E402

MALLS = ("楽天", "Amazon", "Yahoo!", "Shopify")
STATUSES = ("出荷済",) * 14 + ("新規", "入金待ち", "発送待ち", "保留", "キャンセル")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)


def build(path: Path, skus: int = 5_000, orders: int = 50_000) -> Path:
    rng = random.Random(11)
    workbook = SqlWorkbook(f"sqlite:///{path}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    products, stock, listings = [], [], []
    for i in range(skus):
        sku = f"SKU-{i:05d}"
        price = rng.choice((980, 1480, 1980, 2980, 3980, 5800))
        products.append(
            {
                "SKU": sku,
                "商品名": f"商品 {i} 綿 {rng.choice('SML')}",
                "販売価格": price,
                "原価": price // 2,
                "発注点": 5,
                "発注ロット": 10,
                "リードタイム日数": 7,
            }
        )
        stock.append({"SKU": sku, "実在庫": 1000, "引当数": 0, "安全在庫": 2, "販売可能数": 998})
        for mall in MALLS:
            listings.append(
                {
                    "モール": mall,
                    "SKU": sku,
                    "モール商品コード": f"{mall}-{i}",
                    "モールSKU": sku,
                    "在庫連携": "ON",
                }
            )
    order_rows, line_rows, moves = [], [], []
    for n in range(orders):
        mall = MALLS[n % 4]
        number = f"{mall[:2]}-{n:07d}"
        at = NOW - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        status = rng.choice(STATUSES)
        total = 0
        for line in range(1, rng.choice((1, 1, 2)) + 1):
            sku = f"SKU-{rng.randrange(skus):05d}"
            quantity = rng.randint(1, 3)
            price = products[int(sku[4:])]["販売価格"]
            total += price * quantity
            line_rows.append(
                {
                    "モール": mall,
                    "注文番号": number,
                    "明細番号": line,
                    "SKU": sku,
                    "商品名": "商品",
                    "数量": quantity,
                    "単価": price,
                }
            )
            if status != "キャンセル":
                moves.append(
                    {
                        "移動ID": f"引当:{mall}:{number}:{line}",
                        "日時": at,
                        "SKU": sku,
                        "区分": "引当",
                        "数量": quantity,
                        "モール": mall,
                        "注文番号": number,
                        "明細番号": line,
                    }
                )
            if status == "出荷済":
                moves.append(
                    {
                        "移動ID": f"出荷:{mall}:{number}:{line}",
                        "日時": at,
                        "SKU": sku,
                        "区分": "出荷",
                        "数量": quantity,
                        "モール": mall,
                        "注文番号": number,
                        "明細番号": line,
                    }
                )
                moves.append(
                    {
                        "移動ID": f"引当解除:{mall}:{number}:{line}",
                        "日時": at,
                        "SKU": sku,
                        "区分": "引当解除",
                        "数量": quantity,
                        "モール": mall,
                        "注文番号": number,
                        "明細番号": line,
                    }
                )
        order_rows.append(
            {
                "モール": mall,
                "注文番号": number,
                "注文日時": at,
                "ステータス": status,
                "支払方法": "クレジットカード",
                "購入者名": f"山田 太郎{n % 997}",
                "送付先氏名": f"山田 太郎{n % 997}",
                "郵便番号": "150-0001",
                "住所": "東京都渋谷区神宮前1-1-1",
                "電話番号": "03-1234-5678",
                "合計金額": total,
                "送料": 0 if total >= 5000 else 550,
                "モールステータス": status,
                "更新日時": at,
            }
        )
    for title, rows in (
        ("商品", products),
        ("在庫", stock),
        ("モール商品", listings),
        ("受注", order_rows),
        ("受注明細", line_rows),
        ("在庫移動", moves),
    ):
        for start in range(0, len(rows), 20_000):
            job = WriteJob()
            job.append(tables[title], rows[start : start + 20_000])
            workbook.write(job)
            # The next chunk goes after this one: appends land only on rows read as empty.
            apply_to_grids(job, {title: tables[title].grid})
    return path


if __name__ == "__main__":
    import time

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/big.sqlite3")
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    build(target)
    print(f"built {target} in {time.perf_counter() - started:.1f} s")
