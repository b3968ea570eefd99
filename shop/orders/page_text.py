"""The 受注ボード page's pure parts: widget-key fingerprints, the sentences of a settle or a
refused write, the order list's captions, an order's facts and amounts as markdown, an
unknown SKU's card text and the 要確認 queue grouped by kind. No Streamlit here;
``ui.order_actions``, ``ui.order_detail``, ``ui.status_change`` and ``ui.order_queue`` draw
with these. Mall data in markdown always goes through ``escape_markdown``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sheets_schema.errors import CellConflict
from shop.orders.detail import OrderDetail
from shop.orders.frame import ARCHIVED, OrderKey, yen
from shop.orders.review import QueueItem
from shop.orders.unknown_skus import UnknownItem
from vocabulary.text import escape_markdown

URGENT_KINDS = ("入力エラー", "取込エラー", "SKU不明", "ステータスの食い違い")


def key(*parts: Any) -> str:
    return hashlib.md5(repr(parts).encode()).hexdigest()[:10]


def settled_message(movements: int, failed: int) -> str:
    """What a write meant for stock, in staff's words: a status change that moves no stock (新規
    → 入金待ち) says so instead of reporting 「0 件」."""
    if movements:
        message = f"在庫に反映しました（引当・出荷・入荷などの記録 {movements} 件）。"
    else:
        message = "保存しました。在庫の数に変わりはありません。"
    if failed:
        message += f" モールへの在庫送信 {failed} 件が失敗しました。同期ページで確かめてください。"
    return message


def conflict_message(exc: CellConflict) -> str:
    return (
        f"ほかの人（または同期）が、画面を読み込んだ後に「{exc.tab}」シート {exc.row}行目の"
        f"「{exc.column}」列を変更しました（読み込んだときは「{exc.loaded or '（空欄）'}」、"
        f"今は「{exc.now or '（空欄）'}」）。上書きしないよう、どの注文も変更していません。"
        "最新の状態を確かめてから、もう一度選んでください。"
    )


def unchanged_message(unchanged: Sequence[OrderKey], status: str) -> str:
    numbers = "、".join(n for _, n in unchanged[:5])
    return f"{len(unchanged)} 件はすでに「{status}」なので変更していません（{numbers}）。"


def refused_markdown(refused: Sequence[str]) -> str:
    """Already escaped: each refusal names an order number or a cell value as typed."""
    return "変更しなかった注文があります:\n\n" + "\n".join(f"- {escape_markdown(r)}" for r in refused)


def selection_numbers(selected: Sequence[OrderKey]) -> str:
    """The first order numbers of a selection, plain text (escape before markdown)."""
    return "、".join(n for _, n in selected[:4]) + (
        f" ほか{len(selected) - 4}件" if len(selected) > 4 else ""
    )


def detail_heading(detail: OrderDetail, archived: bool) -> str:
    mark = f"・{ARCHIVED}" if archived else ""
    return f"注文 {escape_markdown(detail.order_number)}（{escape_markdown(detail.mall)}{mark}）"


def detail_facts(detail: OrderDetail) -> str:
    """注文日時 to 電話番号, as markdown; names already masked or revealed by ``order_detail``."""
    _md = escape_markdown
    mall_status = f"（モール: {_md(detail.mall_status)}）" if detail.mall_status else ""
    allocation = "" if detail.allocates_stock else "　※モールが出荷するため自社在庫は引き当てません"
    return (
        f"**注文日時** {_md(detail.ordered_at)}　**ステータス** {_md(detail.status)}{mall_status}  \n"
        f"**支払方法** {_md(detail.payment_method or '—')}{allocation}  \n"
        f"**購入者** {_md(detail.buyer_name or '—')}　**送付先** {_md(detail.recipient_name or '—')}  \n"
        f"**住所** 〒{_md(detail.postcode or '—')} {_md(detail.address or '（なし）')}  \n"
        f"**電話番号** {_md(detail.phone or '—')}"
    )


def detail_amounts(detail: OrderDetail) -> str:
    return (
        f"**商品合計** {yen(detail.items_total)}　**送料** {yen(detail.shipping_fee)}  \n"
        f"**合計金額** {yen(detail.total)}"
    )


def difference_caption(difference: int) -> str:
    return (
        f"合計金額との差 {yen(difference)}（ポイント・クーポン・手数料など）"
        if difference > 0
        else f"合計金額との差 −{yen(-difference)}（ポイント・クーポンの値引きなど）"
    )


def notes_markdown(notes: Sequence[str]) -> str:
    return "**備考**  \n" + "  \n".join(escape_markdown(n) for n in notes)


def unknown_item_markdown(item: UnknownItem) -> str:
    """An unknown SKU card's text: the mall, the item's name and codes, the orders it is in."""
    _md = escape_markdown
    mall_sku = f"／モールSKU「{_md(item.mall_sku)}」" if item.mall_sku else ""
    more = " ほか" if len(item.orders) > 2 else ""
    return (
        f"**{_md(item.mall)}**　「{_md(item.name or '（商品名なし）')}」  \n"
        f"商品コード「{_md(item.mall_item_code)}」{mall_sku}  \n"
        f":small[注文 {len(item.orders)} 件・{item.units} 点（{_md('、'.join(item.orders[:2]))}{more}）]"
    )


def queue_groups(queue: Sequence[QueueItem]) -> dict[str, list[QueueItem]]:
    groups: dict[str, list[QueueItem]] = {}
    for entry in queue:
        groups.setdefault(entry.kind, []).append(entry)
    return groups


def actions_markdown(entries: Sequence[QueueItem]) -> str:
    actions = list(dict.fromkeys(e.action for e in entries))
    return "**対応**  \n" + "  \n".join(f"・{escape_markdown(a)}" for a in actions[:6])
