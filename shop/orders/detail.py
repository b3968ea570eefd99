"""One order's detail: its facts (private ones masked unless revealed), its lines with the stock
state of each, the amounts, 備考 and 要確認, and its history (the order, ledger movements,
holds, the sync runs that wrote them and the mall's latest state)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine, StockMovement
from shop.orders.board import Board, History
from shop.orders.frame import OrderKey, format_time
from shop.orders.notes import HOLD_NOTE, REVIEW_SEPARATOR
from shop.privacy import mask_address, mask_name, mask_phone, mask_postcode


@dataclass(frozen=True)
class OrderDetail:
    mall: str
    order_number: str
    ordered_at: str
    status: str
    mall_status: str
    payment_method: str
    buyer_name: str
    recipient_name: str
    postcode: str
    address: str
    phone: str
    allocates_stock: bool
    lines: pd.DataFrame  # 明細, SKU, 商品名, 数量, 単価, 小計, 在庫
    items_total: int
    shipping_fee: int
    total: int
    notes: list[str]
    review: list[str]
    history: pd.DataFrame  # 日時, 内容
    blocked: bool

    @property
    def difference(self) -> int:
        """合計金額 − (商品合計 + 送料): points, coupons or fees the mall applied."""
        return self.total - self.items_total - self.shipping_fee


def order_detail(
    board: Board,
    key: OrderKey,
    *,
    history: History | None = None,
    reveal: bool = False,
    mask_names: bool = False,
) -> OrderDetail | None:
    """Address, postcode and phone are masked unless ``reveal``; names when ``mask_names``.
    Without ``history`` (the ledger not loaded), each line's stock state follows from the
    order's status, which is what the ledger settles to, and the history holds no movements."""
    order = board.orders.get(key)
    if order is None:
        return None
    lines = board.lines.get(key, [])
    movements = history.movements.get(key, []) if history is not None else None
    name = mask_name if mask_names else (lambda n: n)
    private = reveal and not mask_names
    return OrderDetail(
        mall=order.mall,
        order_number=order.order_number,
        ordered_at=format_time(order.ordered_at),
        status=order.status,
        mall_status=order.mall_status,
        payment_method=order.payment_method,
        buyer_name=name(order.buyer_name),
        recipient_name=name(order.recipient_name),
        postcode=(order.postcode or "") if private else mask_postcode(order.postcode or ""),
        address=order.address if private else mask_address(order.address),
        phone=(order.phone or "") if private else mask_phone(order.phone or ""),
        allocates_stock=order.allocates_stock,
        lines=_line_frame(board, order, lines, movements),
        items_total=sum(line.quantity * line.unit_price for line in lines),
        shipping_fee=order.shipping_fee,
        total=order.total,
        notes=[n for n in order.note.splitlines() if n.strip()],
        review=[r for r in order.review.split(REVIEW_SEPARATOR) if r.strip()],
        history=order_history(board, history, key),
        blocked=key in board.blocked,
    )


def _line_frame(
    board: Board, order: Order, lines: list[OrderLine], movements: list[StockMovement] | None
) -> pd.DataFrame:
    held: dict[int, int] = defaultdict(int)
    shipped: dict[int, int] = defaultdict(int)
    for m in movements or ():
        if m.line_number is None:
            continue
        if m.kind == "引当":
            held[m.line_number] += m.quantity
        elif m.kind == "引当解除":
            held[m.line_number] -= m.quantity
        elif m.kind == "出荷":
            shipped[m.line_number] += m.quantity
    rows = []
    for line in lines:
        n = line.line_number
        if shipped[n] > 0:
            stock = f"出荷済 {shipped[n]}"
        elif held[n] > 0:
            stock = f"引当済 {held[n]}"
        elif not line.sku:
            stock = "SKU不明（未引当）" if line.quantity else "—"
        elif not order.allocates_stock:
            stock = "引当なし（モールが出荷）"
        elif order.status == "キャンセル":
            stock = "キャンセル（引当解除）"
        elif movements is None:  # the ledger is not loaded: what the status asks for
            stock = "出荷済" if order.status == "出荷済" else "引当の対象"
        else:
            stock = "未引当"
        rows.append(
            {
                "明細": n,
                "SKU": line.sku or "（不明）",
                "商品名": line.name or board.products.get(line.sku or "", ""),
                "数量": line.quantity,
                "単価": line.unit_price,
                "小計": line.quantity * line.unit_price,
                "在庫": stock,
            }
        )
    return pd.DataFrame(rows, columns=["明細", "SKU", "商品名", "数量", "単価", "小計", "在庫"])


_MOVEMENT_TEXT = {
    "引当": "在庫を引き当てました",
    "引当解除": "引当を解除しました",
    "出荷": "出荷として在庫を減らしました",
}


def order_history(board: Board, history: History | None, key: OrderKey) -> pd.DataFrame:
    """What happened to the order, oldest first: the order itself, its stock movements (在庫移動),
    hold reasons noted in 備考, the sync runs that wrote its movements (同期ログ), and the mall's
    latest change. Movements and sync runs only when ``history`` is given."""
    order = board.orders[key]
    events: list[tuple[datetime, str]] = [(order.ordered_at, f"{order.mall}で注文されました")]
    runs = history.sync_runs.get(order.mall, []) if history is not None else []
    seen_runs: set[str] = set()
    for m in history.movements.get(key, []) if history is not None else ():
        text = _MOVEMENT_TEXT.get(m.kind, m.kind)
        note = f"（{m.note}）" if m.note else ""
        events.append((m.at, f"{text}: {m.sku} ×{m.quantity}（明細{m.line_number or '-'}）{note}"))
        for run in runs:
            if run.started_at > m.at:
                break
            finished = run.finished_at or run.started_at
            if finished >= m.at and run.run_id not in seen_runs:
                seen_runs.add(run.run_id)
                events.append(
                    (
                        run.started_at,
                        f"同期で取り込み・反映しました（実行ID {run.run_id}、結果: {run.result}）",
                    )
                )
    for found in HOLD_NOTE.finditer(order.note):
        moment = datetime.strptime(found.group(2), "%Y-%m-%d %H:%M").replace(tzinfo=JST)
        events.append((moment, f"保留にしました（理由: {found.group(1)}）"))
    if order.updated_at is not None and order.mall_status:
        events.append((order.updated_at, f"モールでの最新の状態: {order.mall_status}"))
    events.sort(key=lambda e: e[0])
    return pd.DataFrame(
        [{"日時": format_time(at), "内容": text} for at, text in events], columns=["日時", "内容"]
    )
