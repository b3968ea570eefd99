"""受注ルール benchmark: 50 rules over 10,000 orders (issue 13's target: ≤ 1 s).

Times the work the 受注ボード's 「今すぐ適用」 and a large import do: parse the 受注ルール tab
(50 rows mixing every kind of condition: mall, 支払方法, amount ranges, 備考 words, SKU, 都道府県,
郵便番号 ranges, watched buyers, ギフト; and every action), then ``RuleSet.evaluate`` over 10,000
orders with their lines. Every order's result is checked against a plain reference (each
condition written out again, in the simplest way); the script exits non-zero, printing no
figure, when a result differs, when an order was not evaluated, or when it takes longer than
the limit. Run from the project folder:

    python bench/rules_bench.py [--orders 10000] [--rules 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.grid import Grid  # noqa: E402
from sheets_schema.models import Order, OrderLine  # noqa: E402
from sheets_schema.parsing import parse_grid  # noqa: E402
from sheets_schema.tabs import ORDER_RULES  # noqa: E402
from sync.rules import RuleSet  # noqa: E402

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
LIMIT_SECONDS = 1.0
MALLS = ("楽天", "Amazon", "Yahoo!", "Shopify")
PAYMENTS = ("クレジットカード", "代金引換", "銀行振込", "楽天ペイ", "PayPay")
PREFS = ("東京都", "大阪府", "沖縄県", "北海道", "京都府", "福岡県")
NOTES = ("", "", "", "不在時は宅配ボックス", "のし紙をお願いします", "午前中希望", "ギフト包装希望")
SKUS = [f"SKU-{i:04d}" for i in range(300)]


def build_orders(count: int) -> list[tuple[Order, list[OrderLine]]]:
    rng = random.Random(7)
    found = []
    for i in range(count):
        mall = rng.choice(MALLS)
        number = f"B-{i:06d}"
        buyer = f"購入者{rng.randrange(2000)}"
        order = Order.model_validate(
            {
                "モール": mall,
                "注文番号": number,
                "注文日時": NOW - timedelta(minutes=i),
                "ステータス": rng.choice(("新規", "入金待ち", "発送待ち")),
                "支払方法": rng.choice(PAYMENTS),
                "購入者名": buyer,
                "送付先氏名": buyer if rng.random() < 0.9 else "別の人",
                "郵便番号": f"{rng.randrange(100, 999)}-{rng.randrange(10000):04d}",
                "住所": f"{rng.choice(PREFS)}どこか1-2-3",
                "電話番号": f"090-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}",
                "合計金額": rng.randrange(500, 60000),
                "備考": rng.choice(NOTES),
            }
        )
        lines = [
            OrderLine.model_validate(
                {
                    "モール": mall,
                    "注文番号": number,
                    "明細番号": n,
                    "SKU": rng.choice(SKUS),
                    "数量": 1,
                    "単価": 1000,
                }
            )
            for n in range(1, rng.choice((1, 1, 2, 3)) + 1)
        ]
        found.append((order, lines))
    return found


def build_rules(count: int) -> Grid:
    rng = random.Random(11)
    headers = list(ORDER_RULES.headers)
    rows = []
    for n in range(count):
        row = {h: "" for h in headers} | {"順番": str(n + 1), "ルール名": f"ルール{n + 1}", "有効": "ON"}
        kind = n % 9
        if kind == 0:
            row["モール"] = rng.choice(MALLS)
        elif kind == 1:
            row["支払方法"] = "代金引換"
            row["金額（以上）"] = str(rng.choice((20000, 30000, 50000)))
        elif kind == 2:
            row["備考"] = rng.choice(("あり", "のし、ギフト", "午前中"))
        elif kind == 3:
            row["SKU"] = "、".join(rng.sample(SKUS, 5))
        elif kind == 4:
            row["都道府県"] = "沖縄県、北海道"
        elif kind == 5:
            row["郵便番号"] = f"{rng.randrange(100, 900)}-0000〜{rng.randrange(900, 999)}-9999"
        elif kind == 6:
            row["購入者"] = "、".join(f"購入者{rng.randrange(2000)}" for _ in range(20))
        elif kind == 7:
            row["ギフト"] = "ON"
        else:
            row["モール"] = rng.choice(MALLS)
            row["金額（以下）"] = "3000"
        action = n % 4
        if action == 0:
            row["タグを付ける"] = f"印{n}"
        elif action == 1:
            row["配送会社にする"] = "日本郵便"
        elif action == 2:
            row["ステータスにする"] = "保留"
            row["保留理由"] = f"確認{n}"
        else:
            row["メールを送る"] = "サンクスメール"
        row["ここで終了"] = "ON" if n == count - 1 else "OFF"
        rows.append([row[h] for h in headers])
    return Grid(ORDER_RULES.title, headers, rows)


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def reference(rules: list, order: Order, lines: list[OrderLine]) -> list[str]:
    """The names of the rules that match, each condition checked the plain way."""
    matched = []
    status = order.status
    for r in rules:
        if status not in ("新規", "入金待ち", "発送待ち", "保留"):
            break
        ok = True
        ok &= not r.malls or order.mall in r.malls
        ok &= not r.payments or order.payment_method in r.payments
        ok &= r.min_total is None or order.total >= r.min_total
        ok &= r.max_total is None or order.total <= r.max_total
        if r.note == "あり":
            ok &= bool(order.note.strip())
        elif r.note == "なし":
            ok &= not order.note.strip()
        elif r.note:
            ok &= any(w in order.note for w in r.note.split("、"))
        ok &= not r.skus or any(line.sku in r.skus for line in lines)
        ok &= not r.prefectures or any(order.address.startswith(p) for p in r.prefectures)
        code = (order.postcode or "").replace("-", "")
        ok &= not r.postcodes or any(lo <= code <= hi for lo, hi in r.postcodes)
        ok &= not r.buyers or _fold(order.buyer_name) in {_fold(b) for b in r.buyers}
        gift = _fold(order.recipient_name) != _fold(order.buyer_name) or any(
            w in order.note for w in ("ギフト", "のし", "熨斗", "ラッピング", "プレゼント", "贈")
        )
        ok &= r.gift is None or gift == r.gift
        if ok:
            matched.append(r.name)
            if r.set_status:
                status = r.set_status
            if r.stop:
                break
    return matched


def main() -> int:
    parser = argparse.ArgumentParser(description="受注ルール: 50 rules over 10,000 orders")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    orders = build_orders(args.orders)
    grid = build_rules(args.rules)
    timings = []
    results: list[list[str]] = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        rules = RuleSet.from_table(parse_grid(ORDER_RULES, grid))
        results = [[a.rule for a in rules.evaluate(order, lines)[1]] for order, lines in orders]
        timings.append(time.perf_counter() - started)
    if rules.problems or len(rules.rules) != args.rules:
        print(f"FAILED: the rules did not parse: {rules.problems[:3]}", file=sys.stderr)
        return 1
    if len(results) != args.orders:
        print(f"FAILED: {len(results)} of {args.orders} orders evaluated", file=sys.stderr)
        return 1
    plain = [c.rule for c in rules.rules]
    wrong = [
        o.order_number
        for (o, lines), got in zip(orders, results, strict=True)
        if got != reference(plain, o, lines)
    ]
    if wrong:
        print(f"FAILED: {len(wrong)} orders differ from the reference, e.g. {wrong[:3]}", file=sys.stderr)
        return 1
    matched = sum(1 for r in results if r)
    best, worst = min(timings), max(timings)
    print(
        f"受注ルール {args.rules} 件 × 注文 {args.orders:,} 件: 最短 {best:.3f} 秒・最長 {worst:.3f} 秒"
        f"（{args.repeat} 回。ルールに合った注文 {matched:,} 件。すべて参照の計算と一致）"
    )
    if worst > LIMIT_SECONDS:
        print(f"FAILED: longer than {LIMIT_SECONDS} s", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
