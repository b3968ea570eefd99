"""The 出荷 page's pure parts: the shop as sender, the rows of its tables (発送待ち, picking
list, tracking preview, outbox) and the mail section's choices and targets. No Streamlit here;
the page and ``ui.shipping_sections`` draw with these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shipping import carrier_files, documents, mail

CARRIERS = ["ヤマト運輸", "佐川急便", "日本郵便", "西濃運輸", "福山通運", "その他"]
OUTBOX_SHOWN = 20


def shop_info(app: Any) -> documents.ShopInfo:
    """The shop as printed on each 納品書 (from settings.app)."""
    return documents.ShopInfo(app.shop_name, app.shop_postcode, app.shop_address, app.shop_phone)


def sender(app: Any) -> carrier_files.Sender:
    """The shop as ご依頼主 on every label (from settings.app)."""
    return carrier_files.Sender(app.shop_name, app.shop_postcode, app.shop_address, app.shop_phone)


def yamato_account(carriers: Any) -> carrier_files.YamatoAccount:
    """The shop's B2クラウド ご請求先 (from settings.carriers.yamato)."""
    y = carriers.yamato
    return carrier_files.YamatoAccount(
        y.billing_customer_code, y.billing_class_code, y.freight_number, y.cod_tax_rate_percent
    )


def problem_rows(problems: Iterable[carrier_files.LabelProblem]) -> list[dict[str, str]]:
    """The orders left out of a label file, one row each: which order, which column, why."""
    return [
        {"モール": p.mall, "注文番号": p.order_number, "列": p.column, "理由": p.reason} for p in problems
    ]


def waiting_rows(orders: Iterable[Any], mask: Callable[[str], str] | None) -> list[dict[str, Any]]:
    """One row per 発送待ち order; the recipient's name through ``mask`` when given (閲覧)."""
    rows = []
    for o in orders:
        name = o.recipient_name or o.buyer_name
        rows.append(
            {
                "モール": o.mall,
                "注文番号": o.order_number,
                "注文日時": o.ordered_at.strftime("%Y-%m-%d %H:%M"),
                "送付先": mask(name) if mask is not None else name,
                "合計金額": o.total,
                "支払方法": o.payment_method,
                "配送方法": o.delivery_method or "",
                "同梱": o.bundle,
            }
        )
    return rows


def picking_rows(lines: Iterable[documents.PickLine]) -> list[dict[str, Any]]:
    return [
        {"SKU": p.sku or "要確認", "商品名": p.label, "数量": p.quantity, "注文数": p.order_count}
        for p in lines
    ]


def tracking_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows of a tracking file as matched (or not) to orders, with the reason when not."""
    return [
        {
            "行": r.line,
            "注文": f"{r.mall} {r.order_number}".strip() or r.key,
            "追跡番号": r.tracking_number,
            "結果": r.status,
            "理由": r.reason,
        }
        for r in rows
    ]


def mail_choices(due: Iterable[Any]) -> dict[str, Any]:
    """The orders a template is due for, by the label of the preview selectbox."""
    return {f"{o.mall} {o.order_number}（{o.buyer_name}）": o for o in due}


def mail_targets(
    due: Iterable[Any], line_index: Mapping[tuple[str, str], Sequence[Any]]
) -> list[mail.MailOrder]:
    return [mail.MailOrder(o, line_index.get((o.mall, o.order_number), []), o.email) for o in due]


def outbox_rows(saved: Sequence[Any]) -> list[dict[str, str]]:
    return [{"件名": item.subject, "宛先": item.to} for item in saved[:OUTBOX_SHOWN]]


def chosen_orders(waiting: list[Any], selected_rows: Iterable[int], *, everything: bool) -> list[Any]:
    """The orders the documents and carrier file are made for: the selected rows, or all of
    them only when staff ticked 「すべて」 — never all of them by default."""
    picked = [waiting[i] for i in selected_rows if 0 <= i < len(waiting)]
    if picked:
        return picked
    return list(waiting) if everything else []


def bundle_rows(orders: Iterable[Any], mask: Callable[[str], str] | None) -> list[dict[str, Any]]:
    """The orders of one 同梱 proposal or group: which mall order, its state and amount; the
    recipient's name through ``mask`` (閲覧), never an address."""
    rows = []
    for o in orders:
        name = o.recipient_name or o.buyer_name
        rows.append(
            {
                "モール": o.mall,
                "注文番号": o.order_number,
                "注文日時": o.ordered_at.strftime("%Y-%m-%d %H:%M"),
                "ステータス": o.status,
                "送付先": mask(name) if mask is not None else name,
                "合計金額": o.total,
            }
        )
    return rows


def open_groups(orders: Iterable[Any]) -> dict[str, list[Any]]:
    """{同梱 id: its orders} for the groups not yet wholly shipped or cancelled: what staff can
    still undo or ship."""
    groups: dict[str, list[Any]] = {}
    for o in orders:
        if o.bundle.strip():
            groups.setdefault(o.bundle.strip(), []).append(o)
    return {
        ident: sorted(group, key=lambda o: (o.ordered_at, o.mall, o.order_number))
        for ident, group in sorted(groups.items())
        if any(o.status not in ("出荷済", "キャンセル") for o in group)
    }
