"""The order list as one DataFrame: built once from the parsed orders and lines (one row per
valid order, newest first, with hidden helper columns ``_...`` for search, masking and the
要確認 checks), shaped into the columns staff see, merged with orders found in the archive.
Also the two formats every part of the board shares: yen amounts and JST times."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import pandas as pd

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shop.privacy import mask_name

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

# The mark (and column) of orders found in the archive database: read-only.
ARCHIVED = "履歴"


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def format_time(moment: datetime | None) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M") if moment else ""


def fold_for_search(text: str) -> str:
    """For search: full-width forms and ideographic spaces folded, lower case."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).lower()


def keys_of(view: pd.DataFrame) -> list[OrderKey]:
    return list(zip(view["モール"].tolist(), view["注文番号"].tolist(), strict=True))


def order_frame(orders: list[Order], lines: dict[OrderKey, list[OrderLine]]) -> pd.DataFrame:
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
        searchable[i] = fold_for_search(f"{number} {sku} {codes}")
        name_search[i] = fold_for_search(f"{name} {name.replace(' ', '').replace('　', '')}")
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
