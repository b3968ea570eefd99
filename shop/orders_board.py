"""What the 受注ボード page shows and does: the order list, its filters, one order's detail, a
bulk status change and the 要確認 queue. Pure logic over the parsed workbook, no Streamlit.

``build_board(tables)`` does the heavy part once per workbook read (the page caches it with
``context.derived``): one linear pass over 受注, 受注明細, 在庫移動 and 同期ログ, and a few
vectorised pandas operations. Everything a rerun does (filters, the detail of one order) works
on that result, so a filter change costs a few boolean masks, not a rebuild.
"""

from __future__ import annotations

import difflib
import gc
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

import pandas as pd

from sheets_schema.archive import Archive, row_model
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.models import (
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    MallListing,
    Order,
    OrderLine,
    Product,
    StockMovement,
    SyncLog,
)
from sheets_schema.parsing import RowError, Table
from sheets_schema.tabs import ORDER_LINES, ORDERS, PRODUCTS, STOCK_MOVEMENTS, SYNC_LOG
from shop.privacy import mask_address, mask_name, mask_phone, mask_postcode
from sync import state

OrderKey = tuple[str, str]  # (モール, 注文番号)

# Columns of the order list, in the order staff see them.
LIST_COLUMNS = (
    "モール",
    "注文番号",
    "注文日時",
    "ステータス",
    "購入者名",
    "SKU",
    "合計金額",
    "送料",
    "要確認",
)

PERIODS = ("すべて", "今日", "昨日", "過去7日", "過去30日", "期間を指定")
# Archived orders a search returns at most: the archive holds years, a search shows a page.
ARCHIVE_SEARCH_LIMIT = 200
ARCHIVED = "履歴"

# A joined review text (要確認) uses this separator, as the sync engine writes it.
REVIEW_SEPARATOR = "／"
HOLD_TAG = "【保留】"
_HOLD_NOTE = re.compile(r"【保留】(.*?) \((\d{4}-\d{2}-\d{2} \d{2}:\d{2})\)")
_UNKNOWN_SKU = re.compile(r"^SKU不明: 明細(\d+)（(.*?)）")
_POSTCODE = r"\d{3}-\d{4}|\d{7}"
# A street number: any digit, full-width digit or kanji numeral.
_HAS_NUMBER = r"[0-9０-９一二三四五六七八九十〇]"
MAX_REASON_LENGTH = 200

# 備考 phrases that need a person before the order ships: (keywords, reason, suggested action).
NOTE_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("キャンセル", "取り消し", "取消"),
        "備考にキャンセルについての記載があります",
        "購入者の意向を確かめ、キャンセルなら一括変更で「キャンセル」にしてください",
    ),
    (
        ("返品", "交換"),
        "備考に返品・交換についての記載があります",
        "内容を確かめ、購入者に連絡してください",
    ),
    (
        ("住所", "番地", "宛先", "転居", "引っ越し"),
        "備考に送付先についての記載があります",
        "発送前に送付先を確かめてください",
    ),
    (
        ("同梱", "まとめて"),
        "備考に同梱の希望があります",
        "同じ購入者の注文とまとめて発送してください",
    ),
    (
        ("領収書", "請求書", "納品書"),
        "備考に書類（領収書など）の依頼があります",
        "梱包するときに書類を同封してください",
    ),
    (
        ("問い合わせ", "問合せ", "連絡", "確認", "至急", "急ぎ", "返信"),
        "備考に連絡や確認が必要そうな記載があります",
        "備考を読み、必要なら購入者に連絡してください",
    ),
)

# Queue kinds, most urgent first (the queue is sorted by this order).
QUEUE_KINDS = (
    "入力エラー",
    "取込エラー",
    "SKU不明",
    "ステータスの食い違い",
    "モールからの注意",
    "住所",
    "郵便番号",
    "保留中",
    "備考",
)


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def _fmt(moment: datetime | None) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M") if moment else ""


def _normalise(text: str) -> str:
    """For search: full-width forms and ideographic spaces folded, lower case."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).lower()


# -- the board: everything built once per workbook read


@dataclass(frozen=True)
class QueueItem:
    mall: str
    order_number: str
    ordered_at: datetime | None
    status: str
    kind: str
    reason: str
    action: str

    @property
    def key(self) -> OrderKey:
        return (self.mall, self.order_number)


@dataclass(frozen=True)
class UnknownItem:
    """A mall item that 受注明細 holds without an Ichigen SKU: mapping it fixes every order."""

    mall: str
    mall_item_code: str
    mall_sku: str
    name: str
    orders: tuple[str, ...]  # order numbers, newest first
    units: int


@dataclass
class Board:
    # One row per valid order, newest first: LIST_COLUMNS plus hidden helper columns (_...).
    frame: pd.DataFrame
    orders: dict[OrderKey, Order]
    lines: dict[OrderKey, list[OrderLine]]
    products: dict[str, str]  # SKU -> 商品名
    # Orders with an input error in 受注明細: sync leaves them alone, so do status changes.
    blocked: set[OrderKey]
    queue: list[QueueItem]
    unknown_items: list[UnknownItem]
    input_errors: list[RowError] = field(default_factory=list)
    # True for orders found in the archive database: read-only, shown with their archived rows.
    archived: bool = False

    @property
    def malls(self) -> list[str]:
        return sorted(self.frame["モール"].unique().tolist()) if len(self.frame) else []

    @property
    def queue_orders(self) -> int:
        return len({item.key for item in self.queue})


def _models(tables: Mapping[str, Table[Any]], title: str) -> list[Any]:
    table = tables.get(title)
    return table.models() if table is not None else []


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The build allocates a few hundred thousand small objects next to a parsed workbook of
    millions: each full pass of the cyclic collector would walk all of them for nothing (the
    build makes no cycles). Reference counting still frees memory meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_board(tables: Mapping[str, Table[Any]]) -> Board:
    with _collector_paused():
        return _build_board(tables)


def _build_board(tables: Mapping[str, Table[Any]]) -> Board:
    orders: list[Order] = _models(tables, ORDERS.title)
    lines: dict[OrderKey, list[OrderLine]] = defaultdict(list)
    for line in _models(tables, ORDER_LINES.title):
        lines[(line.mall, line.order_number)].append(line)
    by_number = attrgetter("line_number")
    for group in lines.values():
        if len(group) > 1:
            group.sort(key=by_number)
    products = {p.sku: p.name for p in _models(tables, PRODUCTS.title)}

    blocked: set[OrderKey] = set()
    errors: list[RowError] = []
    for title in (ORDERS.title, ORDER_LINES.title):
        table = tables.get(title)
        if table is None:
            continue
        errors.extend(table.errors)
        if title == ORDER_LINES.title and table.writable:
            for row in table.invalid_rows:
                mall, number, _ = table.key_of(row)
                blocked.add((mall, number))

    frame = _frame(orders, lines)
    board = Board(
        frame=frame,
        orders={(o.mall, o.order_number): o for o in orders},
        lines=dict(lines),
        products=products,
        blocked=blocked,
        queue=[],
        unknown_items=[],
        input_errors=errors,
    )
    board.queue = _queue(board, tables)
    board.unknown_items = _unknown_items(board)
    kinds: dict[OrderKey, list[str]] = defaultdict(list)
    for item in board.queue:
        if item.kind not in kinds[item.key]:
            kinds[item.key].append(item.kind)
    frame["_queue"] = pd.Series(
        ["・".join(kinds.get(key, ())) for key in keys_of(frame)], index=frame.index, dtype="object"
    )
    return board


@dataclass
class History:
    """The stock ledger and the sync log indexed by order: only an order's detail needs them,
    so the page builds this (parsing the two largest tabs) only when a detail is shown."""

    movements: dict[OrderKey, list[StockMovement]]
    sync_runs: dict[str, list[SyncLog]]  # mall -> 受注取込 runs, oldest first


def build_history(tables: Mapping[str, Table[Any]]) -> History:
    with _collector_paused():
        movements: dict[OrderKey, list[StockMovement]] = defaultdict(list)
        for movement in _models(tables, STOCK_MOVEMENTS.title):
            if movement.order_number:
                movements[(movement.mall, movement.order_number)].append(movement)
        runs: dict[str, list[SyncLog]] = defaultdict(list)
        for run in _models(tables, SYNC_LOG.title):
            if run.job.startswith("受注取込"):
                runs[run.mall].append(run)
        for group in runs.values():
            group.sort(key=attrgetter("started_at"))
        return History(dict(movements), dict(runs))


def _frame(orders: list[Order], lines: dict[OrderKey, list[OrderLine]]) -> pd.DataFrame:
    """Column by column from one pass over the orders: linear, no per-row pandas work."""
    n = len(orders)
    malls: list[str] = [""] * n
    numbers: list[str] = [""] * n
    ordered: list[datetime] = [datetime.min] * n
    statuses: list[str] = [""] * n
    names: list[str] = [""] * n
    skus: list[str] = [""] * n
    totals: list[int] = [0] * n
    fees: list[int] = [0] * n
    reviews: list[str] = [""] * n
    masked: list[str] = [""] * n
    searchable: list[str] = [""] * n
    name_search: list[str] = [""] * n
    postcodes: list[str] = [""] * n
    addresses: list[str] = [""] * n
    notes: list[str] = [""] * n
    allocates: list[bool] = [True] * n
    no_lines: list[OrderLine] = []
    for i, o in enumerate(orders):
        mall, number, name = o.mall, o.order_number, o.buyer_name
        group = lines.get((mall, number), no_lines)
        sku = " / ".join(dict.fromkeys(line.sku for line in group if line.sku))
        codes = " ".join(line.mall_sku or line.mall_item_code for line in group if not line.sku)
        malls[i], numbers[i], names[i], skus[i] = mall, number, name, sku
        ordered[i] = o.ordered_at.replace(tzinfo=None)  # JST wall time
        statuses[i], totals[i], fees[i], reviews[i] = o.status, o.total, o.shipping_fee, o.review
        masked[i] = mask_name(name)
        # Search text: 注文番号 + SKUs (+ unmapped mall codes); the name with and without its
        # space, so 「山田太郎」 finds 「山田 太郎」.
        searchable[i] = _normalise(f"{number} {sku} {codes}")
        name_search[i] = _normalise(f"{name} {name.replace(' ', '').replace('　', '')}")
        postcodes[i], addresses[i], notes[i] = o.postcode or "", o.address, o.note
        allocates[i] = o.allocates_stock
    frame = pd.DataFrame(
        {
            "モール": pd.Series(malls, dtype="object"),
            "注文番号": pd.Series(numbers, dtype="object"),
            "注文日時": pd.Series(pd.to_datetime(ordered) if n else [], dtype="datetime64[us]"),
            "ステータス": pd.Series(statuses, dtype="object"),
            "購入者名": pd.Series(names, dtype="object"),
            "SKU": pd.Series(skus, dtype="object"),
            "合計金額": pd.Series(totals, dtype="int64"),
            "送料": pd.Series(fees, dtype="int64"),
            "要確認": pd.Series(reviews, dtype="object"),
            "_masked_name": pd.Series(masked, dtype="object"),
            "_search": pd.Series(searchable, dtype="object"),
            "_name": pd.Series(name_search, dtype="object"),
            "_postcode": pd.Series(postcodes, dtype="object"),
            "_address": pd.Series(addresses, dtype="object"),
            "_note": pd.Series(notes, dtype="object"),
            "_allocates": pd.Series(allocates, dtype="bool"),
        }
    )
    return frame.sort_values("注文日時", ascending=False, kind="stable").reset_index(drop=True)


# -- board counts and filters


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["ステータス"].value_counts() if len(frame) else pd.Series(dtype="int64")
    return {status: int(counts.get(status, 0)) for status in ORDER_STATUSES}


def period_range(period: str, today: date, custom: Sequence[date] = ()) -> tuple[date | None, date | None]:
    """(first day, last day) of a period choice; None means open-ended."""
    if period == "今日":
        return today, today
    if period == "昨日":
        return today - timedelta(days=1), today - timedelta(days=1)
    if period == "過去7日":
        return today - timedelta(days=6), today
    if period == "過去30日":
        return today - timedelta(days=29), today
    if period == "期間を指定" and custom:
        first = custom[0]
        last = custom[1] if len(custom) > 1 else custom[0]
        return min(first, last), max(first, last)
    return None, None


def filter_orders(
    frame: pd.DataFrame,
    *,
    statuses: Iterable[str] = (),
    malls: Iterable[str] = (),
    start: date | None = None,
    end: date | None = None,
    text: str = "",
    masked: bool = False,
) -> pd.DataFrame:
    """Orders matching every given filter (an empty filter matches all). ``text`` matches
    注文番号, 購入者名 and SKU, every word of it, ignoring case and full-width forms; with
    ``masked`` only the masked buyer names are searched."""
    keep = pd.Series(True, index=frame.index)
    statuses, malls = list(statuses), list(malls)
    if statuses:
        keep &= frame["ステータス"].isin(statuses)
    if malls:
        keep &= frame["モール"].isin(malls)
    if start is not None:
        keep &= frame["注文日時"] >= pd.Timestamp(start)
    if end is not None:
        keep &= frame["注文日時"] < pd.Timestamp(end + timedelta(days=1))
    # Masked names hold only the family name (kanji), searched as they are.
    codes, names = frame["_search"], frame["_masked_name" if masked else "_name"]
    for word in _normalise(text).split():
        keep &= codes.str.contains(word, regex=False) | names.str.contains(word, regex=False)
    return frame[keep]


def list_view(filtered: pd.DataFrame, *, masked: bool, limit: int | None = None) -> pd.DataFrame:
    """The columns staff see, newest first, names masked for 閲覧. 要確認 shows the kinds of the
    order's items in the 要確認 queue (「SKU不明・郵便番号」); the full text is in the detail."""
    view = filtered.head(limit) if limit is not None else filtered
    shown = view.loc[:, list(LIST_COLUMNS)].copy()
    if masked:
        shown["購入者名"] = view["_masked_name"]
    if "_queue" in view:
        shown["要確認"] = view["_queue"]
    if "_archived" in view and view["_archived"].any():
        # Archived orders are marked in a column of their own, right after the status.
        marks = view["_archived"].map({True: ARCHIVED, False: ""})
        shown.insert(shown.columns.get_loc("ステータス") + 1, ARCHIVED, marks.to_numpy())
    return shown.reset_index(drop=True)


def archived_keys(view: pd.DataFrame) -> set[OrderKey]:
    """The orders of a filtered frame (not a list_view) that come from the archive (read-only)."""
    if "_archived" not in view:
        return set()
    return set(keys_of(view[view["_archived"].astype(bool)]))


def with_archived(hot: pd.DataFrame, archived: pd.DataFrame) -> pd.DataFrame:
    """Search results from the workbook and from the archive in one list, newest first. An order
    is in one of the two, except while an interrupted archive pass waits to be run again: it
    is then listed once, from the workbook."""
    if archived.empty:
        return hot
    in_workbook = pd.MultiIndex.from_frame(hot[["モール", "注文番号"]]) if len(hot) else None
    if in_workbook is not None:
        archived = archived[~pd.MultiIndex.from_frame(archived[["モール", "注文番号"]]).isin(in_workbook)]
    both = pd.concat([hot.assign(_archived=False), archived.assign(_archived=True)], ignore_index=True)
    return both.sort_values("注文日時", ascending=False, kind="stable").reset_index(drop=True)


# -- archived orders: found by a search, shown read-only


def search_archive(
    archive: Archive, text: str, products: Mapping[str, str], limit: int = ARCHIVE_SEARCH_LIMIT
) -> Board:
    """Archived orders a search finds, as a read-only board: the archive narrows them with SQL
    (LIKE on 注文番号 and 購入者名, the SKU index; newest first, at most ``limit``), then
    ``filter_orders`` applies exactly the rules it applies to the workbook's orders, masking
    included. Their lines come along, so the list shows SKUs and a detail needs no other read."""
    words = [unicodedata.normalize("NFKC", w) for w in text.split()]
    orders: list[Order] = []
    lines: dict[OrderKey, list[OrderLine]] = defaultdict(list)
    if words:
        orders = [row_model(ORDERS, row) for row in archive.search_orders(words, limit)]
        keys = [(o.mall, o.order_number) for o in orders]
        for row in archive.order_rows(ORDER_LINES, keys):
            line: OrderLine = row_model(ORDER_LINES, row)
            lines[(line.mall, line.order_number)].append(line)
        for group in lines.values():
            group.sort(key=attrgetter("line_number"))
    frame = _frame(orders, lines)
    frame["_queue"] = pd.Series("", index=frame.index, dtype="object")  # closed: nothing to review
    return Board(
        frame=frame,
        orders={(o.mall, o.order_number): o for o in orders},
        lines=dict(lines),
        products=dict(products),
        blocked=set(),
        queue=[],
        unknown_items=[],
        archived=True,
    )


def archived_history(archive: Archive, key: OrderKey) -> History:
    """An archived order's ledger movements and the sync runs around them, from the archive
    (both moved there with the order, or before it)."""
    movements: list[StockMovement] = sorted(
        (row_model(STOCK_MOVEMENTS, row) for row in archive.order_rows(STOCK_MOVEMENTS, [key])),
        key=attrgetter("at"),
    )
    runs: list[SyncLog] = []
    if movements:
        since = (movements[0].at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        until = movements[-1].at.strftime("%Y-%m-%d %H:%M:%S")
        runs = [row_model(SYNC_LOG, row) for row in archive.sync_runs(key[0], since, until)]
        runs = [r for r in runs if r.job.startswith("受注取込")]
    return History({key: movements} if movements else {}, {key[0]: runs} if runs else {})


def keys_of(view: pd.DataFrame) -> list[OrderKey]:
    return list(zip(view["モール"].tolist(), view["注文番号"].tolist(), strict=True))


# -- one order's detail


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
        ordered_at=_fmt(order.ordered_at),
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
    for found in _HOLD_NOTE.finditer(order.note):
        moment = datetime.strptime(found.group(2), "%Y-%m-%d %H:%M").replace(tzinfo=JST)
        events.append((moment, f"保留にしました（理由: {found.group(1)}）"))
    if order.updated_at is not None and order.mall_status:
        events.append((order.updated_at, f"モールでの最新の状態: {order.mall_status}"))
    events.sort(key=lambda e: e[0])
    return pd.DataFrame([{"日時": _fmt(at), "内容": text} for at, text in events], columns=["日時", "内容"])


# -- bulk status change


@dataclass
class StatusChange:
    status: str
    job: WriteJob = field(default_factory=WriteJob)
    changed: list[OrderKey] = field(default_factory=list)
    unchanged: list[OrderKey] = field(default_factory=list)  # already in that status
    refused: list[str] = field(default_factory=list)  # why, one Japanese sentence per order

    def summary(self) -> str:
        if not self.changed:
            return "ステータスを変更した注文はありません。"
        numbers = "、".join(n for _, n in self.changed[:3])
        more = f" ほか{len(self.changed) - 3}件" if len(self.changed) > 3 else ""
        return f"{len(self.changed)} 件の注文を「{self.status}」に変更しました（{numbers}{more}）。"


def _transition_problem(order: Order, new: str) -> str:
    if order.status == "出荷済":
        return "出荷済みの注文は、在庫をすでに出荷として記録しているため、ステータスを戻せません"
    if order.status == "キャンセル":
        if new == "出荷済":
            return "キャンセルした注文を出荷済にはできません"
        if order.mall_status == "キャンセル":
            return "モールでキャンセルされた注文です。戻す場合はモールで新しい注文を作ってください"
    return ""


def change_status(
    orders: Table[Any],
    keys: Sequence[OrderKey],
    new_status: str,
    *,
    reason: str = "",
    now: datetime,
    blocked: Iterable[OrderKey] = (),
    loaded: Mapping[OrderKey, str] | None = None,
) -> StatusChange:
    """One write job that sets ステータス on the given orders of a freshly read 受注 table.

    保留 needs a reason, appended to 備考 as 「【保留】理由 (YYYY-MM-DD HH:MM)」. Each cell written
    is also expected to hold what was read, so a change made meanwhile (by a person or a sync)
    stops the job instead of being overwritten. A status set by a person settles a conflict the
    sync reported, so that note leaves 要確認.

    ``loaded`` is the ステータス each order showed on the person's screen. The job expects it
    too: if someone changed an order since that screen was read (another person, a sync), the
    workbook refuses the whole job with a ``CellConflict`` naming the cell, and nothing is
    written, instead of this change landing on top of theirs unseen.
    """
    change = StatusChange(new_status)
    if new_status not in ORDER_STATUSES:
        choices = "、".join(f"「{s}」" for s in ORDER_STATUSES)
        change.refused.append(f"「{new_status}」は使えないステータスです（{choices}のどれかです）")
        return change
    reason = " ".join(reason.split())
    if new_status == "保留" and not reason:
        change.refused.append("保留にする理由を入力してください（備考に記録されます）")
        return change
    if len(reason) > MAX_REASON_LENGTH:
        change.refused.append(f"理由は{MAX_REASON_LENGTH}文字以内で入力してください")
        return change
    if not keys:
        change.refused.append("注文が選ばれていません")
        return change
    if not orders.writable:
        change.refused.extend(orders.header_problems or ["「受注」シートに書き込めません"])
        return change
    by_row = {record.row: record.value for record in orders.records}
    errors_by_row: dict[int, list[RowError]] = defaultdict(list)
    for error in orders.errors:
        errors_by_row[error.row].append(error)
    blocked = set(blocked)
    note_col, review_col = (orders.column(h) for h in ("備考", "要確認"))
    for key in dict.fromkeys(keys):
        mall, number = key
        row = orders.find_row(key)
        if row is None:
            change.refused.append(f"注文 {number}（{mall}）が受注シートに見つかりません")
            continue
        if row in errors_by_row:
            first = errors_by_row[row][0]
            change.refused.append(
                f"注文 {number}: 「受注」シート {row}行目に入力エラーがあるため変更しません"
                f"（「{first.column}」列: {first.message}）。先にシートを直してください"
            )
            continue
        if key in blocked:
            change.refused.append(
                f"注文 {number}: 「受注明細」シートのこの注文の行に入力エラーがあるため変更しません。先にシートを直してください"
            )
            continue
        order = by_row.get(row)
        if order is None:  # a second row with the same key: reported as a row error
            change.refused.append(f"注文 {number} の行を特定できません。受注シートを確認してください")
            continue
        if order.status == new_status:
            change.unchanged.append(key)
            continue
        problem = _transition_problem(order, new_status)
        if problem:
            change.refused.append(f"注文 {number}: {problem}")
            continue
        if loaded is not None and key in loaded:
            change.job.expect(orders, row, {"ステータス": loaded[key]})
        # WriteJob.set guards the row's key and the staff cells it overwrites (ステータス, 備考).
        values: dict[str, Any] = {"ステータス": new_status}
        if new_status == "保留":
            note = orders.grid.cell(row, note_col)
            entry = f"{HOLD_TAG}{reason} ({now.astimezone(JST):%Y-%m-%d %H:%M})"
            values["備考"] = f"{note.rstrip()}\n{entry}" if note.strip() else entry
        notes = order.review.split(REVIEW_SEPARATOR) if order.review else []
        kept = [n for n in notes if n and not n.startswith("モールのステータスが")]
        if len(kept) != len(notes):
            values["要確認"] = REVIEW_SEPARATOR.join(kept)
            # 要確認 is sync's column: a cycle may have added a note since this page read it.
            change.job.expect(orders, row, {"要確認": orders.grid.cell(row, review_col)})
        change.job.set(orders, row, values)
        change.changed.append(key)
    return change


# -- the 要確認 queue


def _queue(board: Board, tables: Mapping[str, Table[Any]]) -> list[QueueItem]:
    frame = board.frame
    items: list[QueueItem] = []

    for error in board.input_errors:
        table = tables[error.tab]
        mall, number = ("", "")
        if table.writable:
            key = table.key_of(error.row)
            mall, number = key[0], key[1]
        items.append(
            QueueItem(
                mall,
                number,
                None,
                "",
                "入力エラー",
                str(error),
                "シートの該当するセルを直してください（直すまで同期でこの注文を更新しません）",
            )
        )

    items.extend(_import_problem_items(tables))

    if len(frame):
        to_ship = frame["ステータス"].isin(OPEN_ORDER_STATUSES) & frame["_allocates"]
        flagged = (
            (frame["要確認"] != "")
            | (to_ship & ~frame["_postcode"].str.fullmatch(_POSTCODE))
            | (to_ship & (frame["_address"].str.strip() == ""))
            | (to_ship & ~frame["_address"].str.contains(_HAS_NUMBER, regex=True))
            | (frame["ステータス"] == "保留")
            | (frame["ステータス"].isin(OPEN_ORDER_STATUSES) & (frame["_note"] != ""))
        )
        for mall, number in keys_of(frame[flagged]):
            items.extend(_order_items(board.orders[(mall, number)]))

    rank = {kind: i for i, kind in enumerate(QUEUE_KINDS)}
    oldest = datetime.min.replace(tzinfo=JST)
    items.sort(key=lambda item: item.ordered_at or oldest, reverse=True)
    items.sort(key=lambda item: rank.get(item.kind, len(rank)))
    return items


_SKIPPED_ORDER = re.compile(r"の注文 (\S+) を取り込めませんでした")


def _import_problem_items(tables: Mapping[str, Table[Any]]) -> list[QueueItem]:
    """Rows of a mall's file and mall orders a sync could not take in (state.Problems in
    _システム), until a later run reads that file, or that mall, without them."""
    system = tables.get("_システム")
    if system is None:
        return []
    items = []
    for key, value in state.values(system).items():
        if not key.startswith(state.problems_key("")):
            continue
        kept = state.Problems.decode(value)
        for file, problems in kept.problems.items():
            try:
                found = datetime.fromisoformat(kept.reported_at[file])
            except (KeyError, ValueError):
                found = None
            if file:
                action = (
                    f"ファイル「{file}」の該当する行を直し、取込フォルダに保存し直してください"
                    "（次の同期で読み直し、エラーがなければここから消えます）"
                )
            else:
                action = (
                    f"{kept.mall}の管理画面で注文内容を確かめて直してください"
                    "（直ると次の同期で取り込まれ、ここから消えます。ほかの注文は取り込んでいます）"
                )
            for problem in problems:
                number = _SKIPPED_ORDER.search(problem)
                items.append(
                    QueueItem(
                        kept.mall,
                        number.group(1) if number and not file else "",
                        found,
                        "",
                        "取込エラー",
                        problem,
                        action,
                    )
                )
    return items


def _order_items(order: Order) -> list[QueueItem]:
    def item(kind: str, reason: str, action: str) -> QueueItem:
        return QueueItem(order.mall, order.order_number, order.ordered_at, order.status, kind, reason, action)

    found = []
    for note in (n.strip() for n in order.review.split(REVIEW_SEPARATOR)):
        if not note:
            continue
        unknown = _UNKNOWN_SKU.match(note)
        if unknown:
            found.append(
                item(
                    "SKU不明",
                    f"明細{unknown.group(1)}の商品「{unknown.group(2)}」がどのSKUか分かりません",
                    "「SKUが分からない商品」でSKUを選んで対応付けてください。在庫が引き当てられます",
                )
            )
        elif note.startswith("モールのステータスが"):
            found.append(
                item(
                    "ステータスの食い違い",
                    note,
                    "モールの管理画面で状態を確かめ、受注一覧で正しいステータスに変更してください",
                )
            )
        else:
            found.append(
                item("モールからの注意", note, "内容を確かめ、必要ならステータスや備考を更新してください")
            )
    if order.status in OPEN_ORDER_STATUSES and order.allocates_stock:
        address = order.address.strip()
        if not address:
            found.append(
                item(
                    "住所",
                    "送付先の住所がありません",
                    "購入者に確かめ、モールの管理画面で送付先を直してください（次の同期で反映されます）",
                )
            )
        elif not re.search(_HAS_NUMBER, address):
            found.append(
                item(
                    "住所",
                    f"住所に番地が見当たりません（{mask_address(address)}）",
                    "詳細で住所を確かめ、番地がなければ購入者に問い合わせてください",
                )
            )
        postcode = (order.postcode or "").strip()
        if not postcode:
            found.append(
                item(
                    "郵便番号",
                    "郵便番号がありません",
                    "購入者に確かめ、モールの管理画面で送付先を直してください（次の同期で反映されます）",
                )
            )
        elif not re.fullmatch(_POSTCODE, postcode):
            found.append(
                item(
                    "郵便番号",
                    f"郵便番号「{postcode}」の形が正しくありません（123-4567 か 7桁の数字）",
                    "購入者に確かめ、モールの管理画面で送付先を直してください（次の同期で反映されます）",
                )
            )
    if order.status == "保留":
        holds = _HOLD_NOTE.findall(order.note)
        why = holds[-1][0] if holds else (order.note.strip().splitlines() or ["理由の記載なし"])[0]
        found.append(
            item(
                "保留中",
                f"保留中の注文です（{why}）",
                "理由が解消したら、受注一覧でステータスを「発送待ち」などに戻してください",
            )
        )
    elif order.status in OPEN_ORDER_STATUSES and order.note.strip():
        for words, reason, action in NOTE_RULES:
            if any(w in order.note for w in words):
                found.append(item("備考", f"{reason}: 「{order.note.strip()[:60]}」", action))
                break
    return found


def _unknown_items(board: Board) -> list[UnknownItem]:
    groups: dict[tuple[str, str, str], list[tuple[datetime, OrderLine]]] = defaultdict(list)
    for key, lines in board.lines.items():
        order = board.orders.get(key)
        if order is None or key in board.blocked:
            continue
        for line in lines:
            if not line.sku and line.quantity and line.mall_item_code.strip():
                groups[(line.mall, line.mall_item_code.strip(), line.mall_sku.strip())].append(
                    (order.ordered_at, line)
                )
    items = []
    for (mall, code, mall_sku), found in groups.items():
        found.sort(key=lambda f: f[0], reverse=True)
        items.append(
            UnknownItem(
                mall=mall,
                mall_item_code=code,
                mall_sku=mall_sku,
                name=found[0][1].name,
                orders=tuple(dict.fromkeys(line.order_number for _, line in found)),
                units=sum(line.quantity for _, line in found),
            )
        )
    items.sort(key=lambda i: (-len(i.orders), i.mall, i.mall_item_code, i.mall_sku))
    return items


def queue_frame(items: Sequence[QueueItem], limit: int | None = None) -> pd.DataFrame:
    shown = items[:limit] if limit is not None else items
    return pd.DataFrame(
        [
            {
                "種類": i.kind,
                "モール": i.mall,
                "注文番号": i.order_number,
                "注文日時": _fmt(i.ordered_at),
                "ステータス": i.status,
                "理由": i.reason,
                "対応": i.action,
            }
            for i in shown
        ],
        columns=["種類", "モール", "注文番号", "注文日時", "ステータス", "理由", "対応"],
    )


def suggest_skus(name: str, products: dict[str, str], limit: int = 3) -> list[str]:
    """SKUs whose 商品名 looks most like the mall's item name, best first."""
    if not name or not products:
        return []
    by_name: dict[str, str] = {}
    for sku, product_name in products.items():
        by_name.setdefault(product_name, sku)
    close = difflib.get_close_matches(name, list(by_name), n=limit, cutoff=0.4)
    return [by_name[n] for n in close]


# -- mapping an unknown SKU


@dataclass
class SkuMapping:
    ok: bool
    message: str
    job: WriteJob = field(default_factory=WriteJob)


def map_unknown_sku(
    listings: Table[Any],
    products: Table[Any],
    mall: str,
    mall_item_code: str,
    mall_sku: str,
    sku: str,
) -> SkuMapping:
    """A job appending (モール, SKU, モール商品コード, モールSKU) to モール商品, once: when the same
    mall code is already mapped to that SKU, nothing is written."""
    mall, code, mall_sku, sku = mall.strip(), mall_item_code.strip(), mall_sku.strip(), sku.strip()
    if not code:
        return SkuMapping(
            False, "モール商品コードがないため対応付けできません。モールの商品設定を確かめてください"
        )
    known: dict[str, Product] = {p.sku: p for p in products.models()}
    if sku not in known:
        return SkuMapping(False, f"SKU「{sku}」は商品シートにありません。先に商品シートに追加してください")
    if not listings.writable:
        return SkuMapping(
            False, "\n".join(listings.header_problems or ["「モール商品」シートに書き込めません"])
        )
    row = listings.find_row((mall, code, mall_sku))
    if row is not None:
        if row in listings.invalid_rows:
            return SkuMapping(
                False,
                f"「モール商品」シート {row}行目にこのコードがありますが、入力エラーがあります。先にシートを直してください",
            )
        existing: MallListing = next(r.value for r in listings.records if r.row == row)
        if existing.sku == sku:
            return SkuMapping(True, f"「{code}」はすでにSKU「{sku}」に対応付けられています")
        return SkuMapping(
            False,
            f"「{code}」はすでにSKU「{existing.sku}」に対応付けられています（「モール商品」シート {row}行目）。"
            "変えるときはシートで直してください",
        )
    if not mall_sku:
        others = {r.sku for r in listings.models() if r.mall == mall and r.mall_item_code == code}
        if others - {sku}:
            return SkuMapping(
                False,
                f"モール商品コード「{code}」には別のSKU（{'、'.join(sorted(others))}）も対応付けられているため、"
                "モールSKUなしでは見分けられません。モールの商品設定でモールSKUを確かめてください",
            )
    job = WriteJob()
    job.append(
        listings,
        [{"モール": mall, "SKU": sku, "モール商品コード": code, "モールSKU": mall_sku, "在庫連携": "ON"}],
    )
    name = known[sku].name
    label = f"{code} / {mall_sku}" if mall_sku else code
    return SkuMapping(True, f"{mall}の「{label}」をSKU「{sku}」（{name}）に対応付けました", job)


__all__ = [
    "ARCHIVED",
    "ARCHIVE_SEARCH_LIMIT",
    "LIST_COLUMNS",
    "PERIODS",
    "Board",
    "History",
    "OrderDetail",
    "QueueItem",
    "SkuMapping",
    "StatusChange",
    "UnknownItem",
    "archived_history",
    "archived_keys",
    "build_board",
    "build_history",
    "change_status",
    "filter_orders",
    "keys_of",
    "list_view",
    "map_unknown_sku",
    "order_detail",
    "order_history",
    "period_range",
    "queue_frame",
    "search_archive",
    "status_counts",
    "suggest_skus",
    "with_archived",
    "yen",
]
