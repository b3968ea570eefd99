"""Shipping benchmark: 1,000 発送待ち orders to a picking list, 納品書 and a B2 CSV; a 1,000-row
tracking file imported and applied; 500 mails to an SMTP server on loopback (aiosmtpd).
Prints times and the SMTP connections used.

    python bench/shipping_bench.py
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from settings import AppSettings, MailSettings, Settings  # noqa: E402
from sheets_schema.adapters.sql import SqlWorkbook  # noqa: E402
from sheets_schema.book import ensure_tabs, read_tables  # noqa: E402
from sheets_schema.cells import JST  # noqa: E402
from sheets_schema.changes import WriteJob  # noqa: E402
from shipping import carrier_files, documents, mail, picking_paper, tracking_import  # noqa: E402
from shipping.carrier_layouts import B2  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
ORDERS = 1_000
MAILS = 500


class CountingHandler:
    def __init__(self) -> None:
        self.connections = 0
        self.messages = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def shop(path: Path) -> SqlWorkbook:
    rng = random.Random(5)
    workbook = SqlWorkbook(f"sqlite:///{path}")
    ensure_tabs(workbook)
    tables = read_tables(workbook)
    job = WriteJob()
    skus = [f"SKU-{i:04d}" for i in range(200)]
    job.append(tables["商品"], [{"SKU": s, "商品名": f"今治タオル {s}", "販売価格": 1980} for s in skus])
    orders, lines = [], []
    for n in range(ORDERS):
        number = f"338112-20261130-{n:08d}"
        chosen = rng.sample(skus, rng.choice((1, 1, 2, 3)))
        total = 0
        for i, sku in enumerate(chosen, start=1):
            quantity = rng.randint(1, 3)
            total += 1980 * quantity
            lines.append(
                {
                    "モール": "楽天",
                    "注文番号": number,
                    "明細番号": i,
                    "SKU": sku,
                    "商品名": f"今治タオル {sku}",
                    "数量": quantity,
                    "単価": 1980,
                }
            )
        orders.append(
            {
                "モール": "楽天", "注文番号": number, "注文日時": NOW - timedelta(hours=n % 48), "ステータス": "発送待ち",
                "支払方法": "クレジットカード", "購入者名": "山田 太郎", "送付先氏名": "山田 太郎", "郵便番号": "150-0001",
                "住所": "東京都渋谷区神宮前1-2-3", "電話番号": "090-1234-5678", "メールアドレス": f"buyer{n}@example.jp",
                "合計金額": total, "送料": 0, "更新日時": NOW,
            }
        )  # fmt: skip
    job.append(tables["受注"], orders)
    job.append(tables["受注明細"], lines)
    workbook.write(job)
    return workbook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        workbook = shop(Path(folder) / "wb.sqlite3")
        tables = read_tables(workbook)
        keys = [(o.mall, o.order_number) for o in tables["受注"].models()]
        shop_info = documents.ShopInfo("一元堂", "150-0001", "東京都渋谷区神宮前1-2-3", "03-1234-5678")
        sender = carrier_files.Sender("一元堂", "150-0001", "東京都渋谷区神宮前1-2-3", "03-1234-5678")

        t, pick = timed(
            lambda: picking_paper.picking_pdf(
                documents.picking_list(tables, keys), shop_name="一元堂", printed_at=NOW
            )
        )
        rows.append(("ピッキングリスト PDF（1,000 件）", t, f"{len(pick) // 1024} KB"))
        t, slips = timed(
            lambda: documents.delivery_slips_pdf(
                documents.orders_with_lines(tables, keys), shop=shop_info, printed_at=NOW
            )
        )
        rows.append(("納品書 PDF（1,000 枚）", t, f"{len(slips) // 1024} KB"))
        t, b2 = timed(
            lambda: carrier_files.build_file(
                B2,
                documents.orders_with_lines(tables, keys),
                sender=sender,
                ship_date=date(2026, 12, 1),
                account=carrier_files.YamatoAccount("0312345678", "", "01"),
            )
        )
        rows.append(("B2クラウド CSV（1,000 行）", t, f"{len(b2) // 1024} KB"))

        issued = list(csv.reader(io.StringIO(b2.decode("cp932"), newline="")))
        for i, row in enumerate(issued[1:]):
            row[3] = f"4{i:011d}"  # the label software fills 伝票番号
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(issued)
        data = out.getvalue().encode("cp932")

        def import_and_apply() -> int:
            fresh = read_tables(workbook)
            result = tracking_import.preview(fresh, data, carrier_files.key_map(fresh["受注"].models()))
            workbook.write(tracking_import.apply(fresh, result, "ヤマト運輸"))
            return len(result.matched)

        t, matched = timed(import_and_apply)
        rows.append(("追跡番号の取込と反映（1,000 行）", t, f"照合 {matched} 件"))

        handler = CountingHandler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = Settings(
                app=AppSettings(shop_name="一元堂"),
                mail=MailSettings(
                    host="127.0.0.1", port=port, security="none", from_address="shop@example.jp"
                ),
            )
            tables = read_tables(workbook)
            line_index: dict[tuple[str, str], list[Any]] = {}
            for line in tables["受注明細"].models():
                line_index.setdefault((line.mall, line.order_number), []).append(line)
            targets = [
                mail.MailOrder(o, line_index[(o.mall, o.order_number)], o.email)
                for o in tables["受注"].models()[:MAILS]
            ]
            t, report = timed(
                lambda: mail.send_pending(workbook, "発送連絡", targets, settings, clock=lambda: NOW)
            )
        finally:
            controller.stop()
        rows.append(
            (
                "発送連絡メール 500 通（SMTP、ループバック）",
                t,
                f"送信 {len(report.sent)} 通・SMTP 接続 {handler.connections} 回",
            )
        )
    print("作業 | 時間 | 結果")
    print("---|---|---")
    for name, seconds, note in rows:
        print(f"{name} | {seconds:.2f} s | {note}")


if __name__ == "__main__":
    main()
