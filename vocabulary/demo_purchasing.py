"""The demo shop's suppliers and purchase history, consistent with its sales and stock.

Pure data, standard library only, no random draws (so the rest of the demo, drawn from one
seeded generator in vocabulary/demo_shop.py, is unchanged by it). Times follow ``now``.

- ``SUPPLIERS``: one row per 仕入先 the catalogue names (a 発注 drafted for any product of the
  demo finds its supplier), fictitious contacts at example.jp;
- ``PLAN``: five 発注 telling a short story: two 入荷済 weeks ago (towels and socks, the best
  sellers), one 一部入荷 with a line still short and one not arrived (the low-stock T-shirt is
  on its way), one 発注済 waiting for the potter (the out-of-stock mug whose メモ says so), and
  one 下書き for the low-stock 手ぬぐい, ready to be sent;
- ``receipts``: each 入荷 as the 入庫 movement receiving (purchasing/receiving.py) writes, with
  its 移動ID; vocabulary/demo_shop.py takes them out of the initial stock, so every 実在庫
  stays what it was. The received SKUs are ones whose stock, replayed, stays above zero before
  their goods came in (demo_shop checks it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

Row = dict[str, str | int]

HEADERS: dict[str, tuple[str, ...]] = {
    "仕入先": ("仕入先", "担当者", "メールアドレス", "電話番号", "リードタイム日数", "メモ"),
    "発注": ("発注番号", "仕入先", "発注日", "入荷予定日", "ステータス", "備考", "送信日時", "更新日時"),
    "発注明細": ("発注番号", "明細番号", "SKU", "数量", "単価", "入荷数", "備考"),
}

# (仕入先, 担当者, メールアドレス, 電話番号, リードタイム日数, メモ)
SUPPLIERS: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("株式会社いまばり織布", "今井 健", "order@imabari-orifu.example.jp", "0898-31-4501", 14,
     "月末締め翌月末払い。24枚単位"),
    ("有限会社くらしき帆布工房", "倉田 美和", "hanpu@kurashiki-kobo.example.jp", "086-422-7310", 21, ""),
    ("合同会社有田青窯", "有田 誠", "info@arita-seiyo.example.jp", "0955-42-1187", 30,
     "窯出しは月1回。早めの発注を"),
    ("株式会社みどりテキスタイル", "緑川 彩", "sales@midori-textile.example.jp", "03-5822-6104", 21, ""),
    ("奈良ニット工業株式会社", "奈良 直樹", "order@nara-knit.example.jp", "0745-52-3390", 10, ""),
    ("有限会社浜田染工", "浜田 陽子", "someko@hamada-senko.example.jp", "053-454-2218", 14,
     "注染は雨天で遅れることあり"),
    ("株式会社小浜塗箸", "小浜 大輔", "hashi@obama-nurihashi.example.jp", "0770-52-0815", 30, ""),
    ("有限会社奈良蚊帳織", "森 恵", "kaya@nara-kayaori.example.jp", "0742-61-5523", 7, ""),
    ("木曽ひのき工房株式会社", "木村 拓也", "kobo@kiso-hinoki.example.jp", "0264-22-0746", 45,
     "受注生産。1回5枚まで"),
)  # fmt: skip


class PlannedLine(NamedTuple):
    sku: str
    quantity: int
    received: int  # units in by ``now`` (all at the 発注's received_days_ago)


class PlannedOrder(NamedTuple):
    supplier: str
    ordered_days_ago: int
    expected_in_days: int  # from the 発注日: the supplier's lead time
    status: str
    received_days_ago: int | None  # when its goods came in (None: nothing yet)
    note: str
    lines: tuple[PlannedLine, ...]


PLAN: tuple[PlannedOrder, ...] = (
    PlannedOrder("株式会社いまばり織布", 31, 14, "入荷済", 17, "", (
        PlannedLine("TWL-FACE-WH", 24, 24),
        PlannedLine("TWL-BATH-WH", 12, 12),
        PlannedLine("TWL-BATH-GY", 12, 12),
    )),
    PlannedOrder("奈良ニット工業株式会社", 24, 10, "入荷済", 14, "", (
        PlannedLine("SOX-RIB-GY-L", 30, 30),
        PlannedLine("SOX-RIB-BK-M", 30, 30),
    )),
    PlannedOrder("株式会社みどりテキスタイル", 22, 21, "一部入荷", 3, "残りは入荷次第発送とのこと", (
        PlannedLine("TSH-OC-WH-M", 10, 10),
        PlannedLine("TSH-OC-GY-M", 10, 6),
        PlannedLine("TSH-OC-NV-L", 10, 0),
    )),
    PlannedOrder("合同会社有田青窯", 6, 30, "発注済", None, "藍は次の窯出しで", (
        PlannedLine("MUG-ARITA-AI", 24, 0),
        PlannedLine("MUG-ARITA-SHU", 12, 0),
    )),
    PlannedOrder("有限会社浜田染工", 0, 14, "下書き", None, "", (
        PlannedLine("00123-02", 20, 0),
        PlannedLine("00123-03", 20, 0),
    )),
)  # fmt: skip
ORDERED_AT_HOUR = 10


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def _day(now: datetime, days_ago: int) -> datetime:
    return now - timedelta(days=days_ago)


def number(order: PlannedOrder, now: datetime) -> str:
    """PO-YYYYMMDD-01, as purchasing/purchase_orders.py numbers them (one 発注 a day here)."""
    return f"PO-{_day(now, order.ordered_days_ago):%Y%m%d}-01"


def received_at(order: PlannedOrder, now: datetime) -> datetime | None:
    """Whole days before ``now``, like every time of the demo: which sales came before a
    receipt is then the same whatever the time of day the demo is made."""
    if order.received_days_ago is None:
        return None
    return _day(now, order.received_days_ago)


def supplier_rows() -> list[Row]:
    return [
        {"仕入先": n, "担当者": c, "メールアドレス": e, "電話番号": p, "リードタイム日数": d, "メモ": m}
        for n, c, e, p, d, m in SUPPLIERS
    ]


def order_rows(now: datetime) -> list[Row]:
    rows: list[Row] = []
    for order in PLAN:
        ordered = _day(now, order.ordered_days_ago)
        updated = received_at(order, now) or min(
            now, ordered.replace(hour=ORDERED_AT_HOUR, minute=0, second=0)
        )
        rows.append(
            {
                "発注番号": number(order, now),
                "仕入先": order.supplier,
                "発注日": f"{ordered:%Y-%m-%d}",
                "入荷予定日": f"{ordered + timedelta(days=order.expected_in_days):%Y-%m-%d}",
                "ステータス": order.status,
                "備考": order.note,
                "送信日時": "",  # ordered by phone before the shop mailed 発注書 from Ichigen
                "更新日時": _fmt(updated),
            }
        )
    return rows


def line_rows(now: datetime, costs: dict[str, int]) -> list[Row]:
    return [
        {
            "発注番号": number(order, now),
            "明細番号": i,
            "SKU": line.sku,
            "数量": line.quantity,
            "単価": costs[line.sku],
            "入荷数": line.received,
            "備考": "",
        }
        for order in PLAN
        for i, line in enumerate(order.lines, start=1)
    ]


def receipts(now: datetime) -> list[tuple[datetime, str, int, str, str]]:
    """(日時, SKU, 数量, 移動ID, 備考) of each 入庫 the history holds, as receiving writes them."""
    found = []
    for order in PLAN:
        at = received_at(order, now)
        if at is None:
            continue
        po = number(order, now)
        for i, line in enumerate(order.lines, start=1):
            if line.received:
                move_id = f"入荷:{po}:{i}:0+{line.received}"
                found.append((at, line.sku, line.received, move_id, f"発注 {po} の入荷"))
    return found
