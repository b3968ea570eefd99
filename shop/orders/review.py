"""The 要確認 queue: every order (or file row) a person has to look at before it ships, with
the reason and what to do, most urgent kind first: input errors in the sheets, rows a sync
could not take in, unknown SKUs, status conflicts and mall notes (from 要確認), missing or
malformed addresses and postcodes, held orders and 備考 that ask for something."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from sheets_schema.cells import JST
from sheets_schema.models import OPEN_ORDER_STATUSES, Order
from sheets_schema.parsing import RowError, Table
from shop.orders.frame import OrderKey, format_time, keys_of
from shop.orders.notes import HOLD_NOTE, REVIEW_SEPARATOR, STATUS_CONFLICT_PREFIX
from shop.privacy import mask_address
from sync import state

_UNKNOWN_SKU = re.compile(r"^SKU不明: 明細(\d+)（(.*?)）")
_POSTCODE = r"\d{3}-\d{4}|\d{7}"
# A street number: any digit, full-width digit or kanji numeral.
_HAS_NUMBER = r"[0-9０-９一二三四五六七八九十〇]"

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
    "在庫不足",
    "ステータスの食い違い",
    "モールからの注意",
    "住所",
    "郵便番号",
    "保留中",
    "備考",
)


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


def review_queue(
    frame: pd.DataFrame,
    orders: Mapping[OrderKey, Order],
    input_errors: Sequence[RowError],
    tables: Mapping[str, Table[Any]],
) -> list[QueueItem]:
    """The queue over a board's order frame and orders (``frame.order_frame``), its input errors
    and the parsed tables (for the keys of rows in error and the problems kept in _システム)."""
    items: list[QueueItem] = []

    for error in input_errors:
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
            items.extend(_order_items(orders[(mall, number)]))

    items.extend(_shortage_items(orders, tables))

    rank = {kind: i for i, kind in enumerate(QUEUE_KINDS)}
    oldest = datetime.min.replace(tzinfo=JST)
    items.sort(key=lambda item: item.ordered_at or oldest, reverse=True)
    items.sort(key=lambda item: rank.get(item.kind, len(rank)))
    return items


def _shortage_items(orders: Mapping[OrderKey, Order], tables: Mapping[str, Table[Any]]) -> list[QueueItem]:
    """Orders the shelf cannot fill yet, with the 発注 expected to bring their goods."""
    from purchasing.shortages import shortages_in

    if not all(t in tables for t in ("在庫", "受注明細", "発注", "発注明細")):
        return []
    found = shortages_in(tables, orders)
    return [
        QueueItem(
            s.order[0], s.order[1], s.ordered_at, orders[s.order].status, "在庫不足", s.reason(), s.action()
        )
        for s in found
    ]


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
        elif note.startswith(STATUS_CONFLICT_PREFIX):
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
        holds = HOLD_NOTE.findall(order.note)
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


def queue_frame(items: Sequence[QueueItem], limit: int | None = None) -> pd.DataFrame:
    shown = items[:limit] if limit is not None else items
    return pd.DataFrame(
        [
            {
                "種類": i.kind,
                "モール": i.mall,
                "注文番号": i.order_number,
                "注文日時": format_time(i.ordered_at),
                "ステータス": i.status,
                "理由": i.reason,
                "対応": i.action,
            }
            for i in shown
        ],
        columns=["種類", "モール", "注文番号", "注文日時", "ステータス", "理由", "対応"],
    )
