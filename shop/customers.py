"""分析's customer figures: new and repeat buyers, repeat rate, cohorts, RFM, repeat SKUs.

Pure pandas/numpy, no Streamlit. A buyer is a key (``shop.customer_identity``), never a name:
every figure here is a count or a sum over keys, and nothing returned names or numbers a
person. Orders whose buyer is unknown are counted apart (``Customers.unknown``), never guessed.

Definitions (the page repeats them in its captions); cancelled orders never count:

- A buyer's **first order** is their earliest by JST order date (ties: mall, then order
  number), at any mall. It is a **new** (新規) order; every later one is a **repeat** (リピート).
  新規購入者 of a month and mall = first orders there; リピート購入者 = distinct buyers with a
  repeat order there (one person can be both in a month).
- **Repeat rate** = buyers with 2+ orders ÷ buyers; **days to second order** = days between a
  buyer's first and second order (median over repeat buyers).
- **Cohorts**: buyers by the month of their first order; months since = calendar months from
  that month; retention = buyers of the cohort with an order in that month ÷ cohort size.
- **RFM** as of a day: R = days since the last order, F = orders, M = their 売上 (合計金額).
  Segments (``RFM_SEGMENTS``) by fixed rules, so a count can be checked by hand.
- **Repeat SKUs**: per SKU, buyers who bought it in 2 or more orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from shop.analytics import CANCELLED, mall_order
from shop.customer_archive import EPOCH, KeyedOrders
from shop.customer_identity import buyer_key

UNKNOWN = "購入者不明"
RECENT_DAYS = 90  # R: an order within this many days counts as recent
DORMANT_DAYS = 365
# (name, rule in words): the order the table lists them in.
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("優良", f"3回以上・最後の注文から{RECENT_DAYS}日以内"),
    ("リピーター", f"2回・最後の注文から{RECENT_DAYS}日以内"),
    ("新規", f"1回・最後の注文から{RECENT_DAYS}日以内"),
    ("離れかけ", f"2回以上・最後の注文から{RECENT_DAYS + 1}〜{DORMANT_DAYS}日"),
    ("一度きり", f"1回・最後の注文から{RECENT_DAYS + 1}日以上"),
    ("休眠", f"2回以上・最後の注文から{DORMANT_DAYS + 1}日以上"),
)


@dataclass(frozen=True)
class Customers:
    """``orders``: one row per non-cancelled order with a buyer: 購入者 (int64 key), 日 (int64,
    days since 1970-01-01), モール, 売上. ``unknown``: non-cancelled orders without a buyer
    summed per 日 and モール (件数, 売上). ``skus``: per SKU 購入者数, リピート購入者数, 数量."""

    orders: pd.DataFrame
    unknown: pd.DataFrame
    skus: pd.DataFrame


# --- building: the workbook's orders keyed here, the archive's read as keyed ------------------


def _day_number(order: Order) -> int:
    return (order.ordered_at.astimezone(JST).date() - EPOCH).days


def workbook_orders(orders: Sequence[Order], salt: str) -> pd.DataFrame:
    """The workbook's orders keyed: モール, 注文番号, 購入者 (Int64, NA = unknown), 日, 売上,
    キャンセル. The personal data are hashed here and dropped."""
    keys = [buyer_key(salt, o.mall, o.buyer_name, o.phone, o.postcode, o.email) for o in orders]
    return pd.DataFrame(
        {
            "モール": pd.Series([o.mall for o in orders], dtype="str"),
            "注文番号": pd.Series([o.order_number for o in orders], dtype="str"),
            "購入者": pd.Series(keys, dtype="Int64"),
            "日": pd.Series([_day_number(o) for o in orders], dtype="int64"),
            "売上": pd.Series([o.total for o in orders], dtype="int64"),
            "キャンセル": pd.Series([o.status == CANCELLED for o in orders], dtype="bool"),
        }
    )


def workbook_pairs(keyed: pd.DataFrame, lines: Sequence[OrderLine]) -> pd.DataFrame:
    """(購入者, SKU) of the workbook's non-cancelled keyed orders: 注文数 (distinct orders), 数量."""
    frame = pd.DataFrame(
        {
            "モール": [ln.mall for ln in lines],
            "注文番号": [ln.order_number for ln in lines],
            "SKU": [ln.sku for ln in lines],
            "数量": pd.Series([ln.quantity for ln in lines], dtype="int64"),
        }
    )
    live = keyed[~keyed["キャンセル"] & keyed["購入者"].notna()][["モール", "注文番号", "購入者"]]
    joined = frame[frame["SKU"].notna() & (frame["SKU"] != "")].merge(live, on=["モール", "注文番号"])
    if joined.empty:
        return pd.DataFrame(
            {
                "購入者": pd.Series(dtype="int64"),
                "SKU": pd.Series(dtype="str"),
                "注文数": pd.Series(dtype="int64"),
                "数量": pd.Series(dtype="int64"),
            }
        )
    joined["購入者"] = joined["購入者"].astype("int64")
    joined["注文"] = joined["モール"] + "\x1f" + joined["注文番号"]
    grouped = joined.groupby(["購入者", "SKU"]).agg(注文数=("注文", "nunique"), 数量=("数量", "sum"))
    return grouped.reset_index()


def combine(
    keyed: pd.DataFrame,
    pairs: pd.DataFrame,
    archived: KeyedOrders | None = None,
    archived_skus: Sequence[tuple[str, int, int, int]] = (),
    archived_pairs: dict[tuple[int, str], int] | None = None,
) -> Customers:
    """The workbook's keyed orders and (buyer, SKU) pairs with the archive's share.

    ``archived_skus``: per SKU over the archive (SKU, buyers, buyers with 2+ orders, units);
    ``archived_pairs``: the archive's order counts of the workbook's pairs, so a buyer whose
    second order of a SKU is in the workbook and first in the archive counts once, as a repeat.
    """
    live = keyed[~keyed["キャンセル"]]
    known = live[live["購入者"].notna()]
    archived_malls = archived.malls if archived is not None else ()
    names = sorted({*known["モール"].astype(str), *archived_malls})
    code = {m: i for i, m in enumerate(names)}
    buyer = [known["購入者"].to_numpy(dtype="int64")]
    day = [known["日"].to_numpy(dtype="int64")]
    mall = [np.asarray([code[m] for m in known["モール"].astype(str)], dtype="int64")]
    sales = [known["売上"].to_numpy(dtype="int64")]
    if archived is not None:
        recode = np.asarray([code[m] for m in archived_malls] + [-1], dtype="int64")
        buyer.append(archived.buyer)
        day.append(archived.day)
        mall.append(recode[archived.mall])  # -1 (no mall) indexes the last entry: stays -1
        sales.append(archived.total)
    orders = _first_flags(
        np.concatenate(buyer), np.concatenate(day), np.concatenate(mall), np.concatenate(sales), names
    )
    unknown = (
        live[live["購入者"].isna()].groupby(["日", "モール"]).agg(件数=("売上", "size"), 売上=("売上", "sum"))
    )
    unknown = unknown.reset_index()
    if archived is not None and archived.unknown:
        more = pd.DataFrame(archived.unknown, columns=["日", "モール", "件数", "売上"])
        unknown = pd.concat([unknown, more]).groupby(["日", "モール"], as_index=False)[["件数", "売上"]].sum()
    unknown = unknown.astype({"日": "int64", "モール": "str", "件数": "int64", "売上": "int64"})
    return Customers(orders, unknown, _sku_counts(pairs, archived_skus, archived_pairs or {}))


def _sku_counts(
    pairs: pd.DataFrame,
    archived_skus: Sequence[tuple[str, int, int, int]],
    archived_pairs: dict[tuple[int, str], int],
) -> pd.DataFrame:
    base = pd.DataFrame(list(archived_skus), columns=["SKU", "購入者数", "リピート購入者数", "数量"])
    if not pairs.empty:
        before = np.array(
            [
                archived_pairs.get((int(b), str(s)), 0)
                for b, s in zip(pairs["購入者"], pairs["SKU"], strict=True)
            ],
            dtype="int64",
        )
        after = before + pairs["注文数"].to_numpy(dtype="int64")
        delta = pd.DataFrame(
            {
                "SKU": pairs["SKU"].astype(str).to_numpy(),
                "購入者数": (before == 0).astype("int64"),
                "リピート購入者数": (after >= 2).astype("int64") - (before >= 2).astype("int64"),
                "数量": pairs["数量"].to_numpy(dtype="int64"),
            }
        )
        base = pd.concat([base, delta], ignore_index=True)
    summed = base.groupby("SKU", as_index=False)[["購入者数", "リピート購入者数", "数量"]].sum()
    return summed.astype({"SKU": "str", "購入者数": "int64", "リピート購入者数": "int64", "数量": "int64"})


# --- analyses ---------------------------------------------------------------------------------


def to_date(day: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(day))


def day_number(day: date) -> int:
    return (day - EPOCH).days


def _months(days: np.ndarray) -> np.ndarray:
    """Days since 1970 -> the first day of their month, as datetime64[M]."""
    return days.astype("datetime64[D]").astype("datetime64[M]")


def _first_flags(
    buyer: np.ndarray, day: np.ndarray, mall: np.ndarray, sales: np.ndarray, malls: Sequence[str]
) -> pd.DataFrame:
    """The orders sorted by buyer, day, mall (once, in ``combine``; the mall codes follow the
    names, so the sort is on integers), with 回 (1 for the buyer's first order, 2 for the
    second, …) and 初回."""
    order = np.lexsort((mall, day, buyer))
    buyer, day = buyer[order], day[order]
    index = np.arange(len(buyer))
    starts = np.ones(len(buyer), dtype=bool)
    starts[1:] = buyer[1:] != buyer[:-1]
    nth = index - np.maximum.accumulate(np.where(starts, index, 0)) + 1
    return pd.DataFrame(
        {
            "購入者": buyer,
            "日": day,
            "モール": pd.Categorical.from_codes(mall[order], categories=list(malls)),
            "売上": sales[order],
            "回": nth,
            "初回": nth == 1,
        }
    )


def new_and_repeat(
    customers: Customers, start: date, end: date, malls: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per month of ``start..end`` and mall: 新規購入者, リピート購入者, 新規注文, リピート注文,
    購入者不明 (orders), 購入者不明の売上. First orders are decided over all history and malls,
    so a buyer new at 楽天 who later buys at Amazon is a repeat buyer at Amazon."""
    flagged = customers.orders
    first, last = day_number(start), day_number(end)
    inside = flagged[(flagged["日"] >= first) & (flagged["日"] <= last)].copy()
    unknown = customers.unknown[(customers.unknown["日"] >= first) & (customers.unknown["日"] <= last)].copy()
    if malls is not None:
        inside = inside[inside["モール"].isin(list(malls))]
        unknown = unknown[unknown["モール"].isin(list(malls))]
    inside["月"] = _months(inside["日"].to_numpy(dtype="int64"))
    unknown["月"] = _months(unknown["日"].to_numpy(dtype="int64"))
    keys = ["月", "モール"]
    inside["モール"] = inside["モール"].astype(str)
    new = inside[inside["初回"]].groupby(keys).size().rename("新規購入者")
    repeat = inside[~inside["初回"]]
    repeat_buyers = (
        repeat.drop_duplicates(["月", "モール", "購入者"]).groupby(keys).size().rename("リピート購入者")
    )
    repeat_orders = repeat.groupby(keys).size().rename("リピート注文")
    missing = (
        unknown.groupby(keys)[["件数", "売上"]]
        .sum()
        .rename(columns={"件数": UNKNOWN, "売上": f"{UNKNOWN}の売上"})
    )
    table = pd.concat([new, repeat_buyers, repeat_orders, missing], axis=1).fillna(0).astype("int64")
    table.insert(2, "新規注文", table["新規購入者"])  # a buyer has exactly one first order
    table = table[["新規購入者", "リピート購入者", "新規注文", "リピート注文", UNKNOWN, f"{UNKNOWN}の売上"]]
    table = table.reset_index()
    if table.empty:
        return table
    rank = {m: i for i, m in enumerate(mall_order(table["モール"].unique()))}
    table["_mall"] = table["モール"].map(rank)
    table = table.sort_values(["月", "_mall"], ignore_index=True).drop(columns="_mall")
    table["月"] = [f"{m.year}年{m.month}月" for m in pd.to_datetime(table["月"])]
    return table


@dataclass(frozen=True)
class RepeatSummary:
    buyers: int
    repeat_buyers: int
    repeat_rate: float  # %, one decimal, half up
    median_days_to_second: float | None  # None without a repeat buyer
    second_within_90: int  # repeat buyers whose second order came within 90 days


def repeat_summary(
    customers: Customers, first_from: date | None = None, first_to: date | None = None
) -> RepeatSummary:
    """Over the buyers whose first order lies in ``first_from..first_to`` (all without)."""
    flagged = customers.orders
    firsts = flagged[flagged["初回"]].set_index("購入者")["日"]
    if first_from is not None:
        firsts = firsts[firsts >= day_number(first_from)]
    if first_to is not None:
        firsts = firsts[firsts <= day_number(first_to)]
    seconds = flagged[flagged["回"] == 2].set_index("購入者")["日"]
    seconds = seconds[seconds.index.isin(firsts.index)]
    gaps = (seconds - firsts.reindex(seconds.index)).to_numpy(dtype="int64")
    buyers, repeaters = len(firsts), len(seconds)
    rate = (2000 * repeaters + buyers) // (2 * buyers) / 10 if buyers else 0.0
    return RepeatSummary(
        buyers=buyers,
        repeat_buyers=repeaters,
        repeat_rate=rate,
        median_days_to_second=float(np.median(gaps)) if repeaters else None,
        second_within_90=int((gaps <= 90).sum()),
    )


def cohorts(customers: Customers, last_month: date, count: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(buyers, retention %) by first-order month (rows: the ``count`` months up to
    ``last_month``) and months since (columns 0..count-1; blank where that month is after
    ``last_month``). Cell = distinct buyers of the cohort with an order in that month."""
    flagged = customers.orders
    month = _months(flagged["日"].to_numpy(dtype="int64")).astype("int64")  # months since 1970-01
    first_month = pd.Series(month[flagged["初回"].to_numpy()], index=flagged.loc[flagged["初回"], "購入者"])
    cohort = first_month.reindex(flagged["購入者"]).to_numpy(dtype="int64")
    since = month - cohort
    end = (last_month.year - 1970) * 12 + last_month.month - 1
    rows = np.arange(end - count + 1, end + 1)
    keep = (cohort >= rows[0]) & (cohort <= end) & (since < count) & (month <= end)
    active = pd.DataFrame(
        {"cohort": cohort[keep], "since": since[keep], "購入者": flagged["購入者"].to_numpy()[keep]}
    )
    counts = active.drop_duplicates().groupby(["cohort", "since"]).size().unstack("since")
    counts = counts.reindex(index=rows, columns=range(count))
    sizes = counts[0].fillna(0)
    for row in rows:  # months not reached yet stay blank, months reached and empty are 0
        reached = end - row + 1
        counts.loc[row, : reached - 1] = counts.loc[row, : reached - 1].fillna(0)
    counts = counts.astype("Int64")
    rates = counts.astype("Float64").div(sizes.where(sizes > 0), axis=0) * 100
    labels = [f"{1970 + r // 12}年{r % 12 + 1}月" for r in rows]
    counts.index = rates.index = pd.Index(labels, name="初回購入月")
    counts.columns = rates.columns = pd.Index(
        [f"{k}か月後" if k else "初月" for k in range(count)], name="経過"
    )
    return counts, rates.round(1)


def rfm(customers: Customers, today: date) -> pd.DataFrame:
    """Per RFM segment: 購入者数, 売上, 1人あたり売上 (half up), 定義. Orders after ``today`` are
    left out."""
    orders = customers.orders[customers.orders["日"] <= day_number(today)]
    per = orders.groupby("購入者").agg(last=("日", "max"), F=("日", "size"), M=("売上", "sum"))
    recency = day_number(today) - per["last"]
    recent, dormant = recency <= RECENT_DAYS, recency > DORMANT_DAYS
    once = per["F"] == 1
    conditions = [
        recent & (per["F"] >= 3),
        recent & (per["F"] == 2),
        recent & once,
        ~recent & ~dormant & ~once,
        ~recent & once,
        dormant & ~once,
    ]
    segment = np.select(conditions, [name for name, _ in RFM_SEGMENTS], default="")
    grouped = (
        per.assign(セグメント=segment).groupby("セグメント").agg(購入者数=("F", "size"), 売上=("M", "sum"))
    )
    names = [name for name, _ in RFM_SEGMENTS]
    grouped = grouped.reindex(names, fill_value=0).astype("int64")
    average = [
        (2 * s + n) // (2 * n) if n else 0 for s, n in zip(grouped["売上"], grouped["購入者数"], strict=True)
    ]
    grouped["1人あたり売上"] = pd.Series(average, index=grouped.index, dtype="int64")
    grouped["定義"] = [rule for _, rule in RFM_SEGMENTS]
    return grouped.reset_index()


def top_repeat_skus(customers: Customers, names: pd.Series | None = None, n: int = 10) -> pd.DataFrame:
    """The ``n`` SKUs with the most buyers who bought them in 2+ orders: SKU, 商品名,
    リピート購入者数, 購入者数, リピート率（%）, 数量. SKUs nobody bought twice are not listed."""
    skus = customers.skus[customers.skus["リピート購入者数"] > 0].copy()
    skus.insert(1, "商品名", skus["SKU"].map(names if names is not None else {}).astype("object").fillna(""))
    skus["リピート率（%）"] = (skus["リピート購入者数"] * 100 / skus["購入者数"]).round(1)
    skus = skus.sort_values(
        ["リピート購入者数", "数量", "SKU"], ascending=[False, False, True], ignore_index=True
    )
    return skus[["SKU", "商品名", "リピート購入者数", "購入者数", "リピート率（%）", "数量"]].head(n)


def unknown_total(customers: Customers, start: date, end: date) -> tuple[int, int]:
    """(orders, 売上) without a buyer in ``start..end``."""
    frame = customers.unknown
    inside = frame[(frame["日"] >= day_number(start)) & (frame["日"] <= day_number(end))]
    return int(inside["件数"].sum()), int(inside["売上"].sum())
