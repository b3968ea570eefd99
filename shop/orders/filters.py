"""The order list's filters: counts per status, the period choices and the days they cover, and
the boolean masks for status, mall, period and a search over 注文番号, 購入者名 and SKU."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import pandas as pd

from sheets_schema.models import ORDER_STATUSES
from shop.orders.frame import fold_for_search

PERIODS = ("すべて", "今日", "昨日", "過去7日", "過去30日", "期間を指定")


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
    for word in fold_for_search(text).split():
        keep &= codes.str.contains(word, regex=False) | names.str.contains(word, regex=False)
    return frame[keep]
