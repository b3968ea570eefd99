"""Customers across malls: buyer keys, new/repeat, repeat rate, cohorts, RFM and repeat SKUs on a
small shop computed by hand, the same figures with part of the history in the archive, and no
personal data in what the archive keeps."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import inspect, select

from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS
from shop import customer_archive, customers
from shop.customer_identity import buyer_key, identity, new_salt, salt_fingerprint

SALT = "test-salt-0123456789"

# (mall, number, day, status, total, name, phone, postcode, mail, [(SKU, qty)])
SHOP: list[tuple[Any, ...]] = [
    # A: one person at three malls, name and phone written three ways.
    ("楽天", "R1", date(2026, 1, 5), "出荷済", 3000, "山田 太郎", "090-1111-2222", "", "", [("TEA", 1)]),
    (
        "Yahoo!",
        "Y1",
        date(2026, 2, 10),
        "出荷済",
        2000,
        "山田　太郎",
        "+81 90 1111 2222",
        "",
        "",
        [("TEA", 2)],
    ),
    ("Shopify", "S1", date(2026, 3, 15), "出荷済", 1000, "山田太郎", "09011112222", "", "", [("CUP", 1)]),
    # B: name and postcode, one order cancelled (never counts).
    (
        "楽天",
        "R2",
        date(2026, 1, 20),
        "出荷済",
        5000,
        "佐藤 花子",
        "",
        "160-0022",
        "",
        [("TEA", 1), ("CUP", 1)],
    ),
    ("楽天", "R3", date(2026, 1, 25), "キャンセル", 5000, "佐藤 花子", "", "160-0022", "", [("TEA", 5)]),
    ("楽天", "R4", date(2026, 3, 1), "出荷済", 4000, "佐藤 花子", "", "1600022", "", [("CUP", 1)]),
    # C: only the buyer's own mail.
    ("Shopify", "S2", date(2026, 2, 1), "出荷済", 1500, "", "", "", "c@example.jp", []),
    # D: Amazon's relay address only: the same buyer within Amazon.
    (
        "Amazon",
        "AM1",
        date(2026, 2, 5),
        "出荷済",
        2500,
        "",
        "",
        "",
        "x1@marketplace.amazon.co.jp",
        [("TEA", 1)],
    ),
    (
        "Amazon",
        "AM2",
        date(2026, 3, 5),
        "出荷済",
        2500,
        "",
        "",
        "",
        "X1@marketplace.amazon.co.jp",
        [("MUG", 1)],
    ),
    # E: Amazon's restricted data: nothing says who. Unknown, not guessed.
    ("Amazon", "AM3", date(2026, 3, 10), "出荷済", 3300, "", "", "", "", []),
    # F: a masked name with a phone is no key; 楽天's relay address keys it within 楽天.
    (
        "楽天",
        "R5",
        date(2026, 2, 20),
        "出荷済",
        1200,
        "＊＊＊",
        "090-9999-8888",
        "",
        "abc@pc.fw.rakuten.ne.jp",
        [],
    ),
]


def make_orders() -> tuple[list[Order], list[OrderLine]]:
    orders, lines = [], []
    for mall, number, day, status, total, name, phone, postcode, mail, items in SHOP:
        orders.append(
            Order.model_validate(
                {
                    "モール": mall,
                    "注文番号": number,
                    "注文日時": datetime(day.year, day.month, day.day, 10, 0, tzinfo=JST),
                    "ステータス": status,
                    "購入者名": name,
                    "電話番号": phone,
                    "郵便番号": postcode,
                    "メールアドレス": mail,
                    "合計金額": total,
                }
            )
        )
        for n, (sku, qty) in enumerate(items, start=1):
            lines.append(
                OrderLine.model_validate(
                    {"モール": mall, "注文番号": number, "明細番号": n, "SKU": sku, "数量": qty, "単価": 100}
                )
            )
    return orders, lines


def all_in_workbook() -> customers.Customers:
    orders, lines = make_orders()
    keyed = customers.workbook_orders(orders, SALT)
    return customers.combine(keyed, customers.workbook_pairs(keyed, lines))


def split_with_archive(tmp_path: Path, salt: str = SALT) -> tuple[customers.Customers, Archive]:
    """Orders of January and February archived, March's in the workbook."""
    orders, lines = make_orders()
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    old = [o for o in orders if o.ordered_at.month < 3]
    archive.copy(ORDERS, old)
    archive.copy(ORDER_LINES, [ln for ln in lines if any(o.order_number == ln.order_number for o in old)])
    buyers = customer_archive.open_buyers(archive)
    customer_archive.ensure(buyers, salt)
    hot = [o for o in orders if o.ordered_at.month == 3]
    keyed = customers.workbook_orders(hot, salt)
    pairs = customers.workbook_pairs(
        keyed, [ln for ln in lines if any(o.order_number == ln.order_number for o in hot)]
    )
    known = customer_archive.pair_orders(buyers, list(zip(pairs["購入者"], pairs["SKU"], strict=True)))
    combined = customers.combine(
        keyed, pairs, customer_archive.keyed_orders(buyers), customer_archive.repeat_skus(buyers), known
    )
    return combined, archive


# --- the key -------------------------------------------------------------------------------------


def test_the_key_is_stable_across_runs_and_differs_per_installation() -> None:
    first = buyer_key(SALT, "楽天", "山田 太郎", "090-1111-2222", None, "")
    assert first == buyer_key(SALT, "Yahoo!", "山田　太郎", "+81-90-1111-2222", None, "")
    assert first == -2795598015642297906  # the same number in every run: a test run, not a process
    other = buyer_key(new_salt(), "楽天", "山田 太郎", "090-1111-2222", None, "")
    assert other is not None and other != first
    assert new_salt() != new_salt() and len(new_salt()) == 64
    assert salt_fingerprint(SALT) != salt_fingerprint("another") and SALT not in salt_fingerprint(SALT)


def test_relay_addresses_stay_within_their_mall_and_nothing_is_unknown_made_known() -> None:
    relay = "x1@marketplace.amazon.co.jp"
    assert identity("Amazon", "", None, None, relay) == ("rm", ("Amazon", relay))
    assert buyer_key(SALT, "Amazon", "", None, None, relay) != buyer_key(SALT, "楽天", "", None, None, relay)
    assert buyer_key(SALT, "Shopify", "", None, None, "c@example.jp") == buyer_key(
        SALT, "Yahoo!", "", None, None, "C@Example.jp"
    )
    assert buyer_key(SALT, "Amazon", "", None, None, "") is None  # restricted data
    assert buyer_key(SALT, "楽天", "山田 太郎", None, None, "") is None  # a name alone
    assert buyer_key(SALT, "楽天", "山田 ＊＊", "090-1111-2222", None, "") is None  # masked
    assert buyer_key(SALT, "楽天", "山田 太郎", "000-0000-0000", None, "") is None  # a dummy phone


# --- the analyses, by hand -----------------------------------------------------------------------


def test_new_and_repeat_buyers_per_month_and_mall() -> None:
    table = customers.new_and_repeat(all_in_workbook(), date(2026, 1, 1), date(2026, 3, 31))
    rows = {(r["月"], r["モール"]): r for r in table.to_dict("records")}
    assert rows[("2026年1月", "楽天")]["新規購入者"] == 2 and rows[("2026年1月", "楽天")]["リピート注文"] == 0
    assert (
        rows[("2026年2月", "Yahoo!")]["新規購入者"] == 0
        and rows[("2026年2月", "Yahoo!")]["リピート購入者"] == 1
    )
    assert [rows[("2026年2月", m)]["新規購入者"] for m in ("楽天", "Amazon", "Shopify")] == [1, 1, 1]
    march = {m: rows[("2026年3月", m)] for m in ("楽天", "Amazon", "Shopify")}
    assert [march[m]["リピート購入者"] for m in march] == [1, 1, 1]
    assert march["Amazon"]["購入者不明"] == 1 and march["Amazon"]["購入者不明の売上"] == 3300
    assert int(table["新規購入者"].sum()) == 5 and int(table["リピート注文"].sum()) == 4
    assert int(table["購入者不明"].sum()) == 1  # the cancelled R3 is in no column
    assert customers.unknown_total(all_in_workbook(), date(2026, 3, 1), date(2026, 3, 31)) == (1, 3300)


def test_repeat_rate_and_days_to_the_second_order() -> None:
    summary = customers.repeat_summary(all_in_workbook())
    assert (summary.buyers, summary.repeat_buyers, summary.repeat_rate) == (5, 3, 60.0)
    assert summary.median_days_to_second == 36.0  # A 36, B 40, D 28 days
    assert summary.second_within_90 == 3
    february = customers.repeat_summary(all_in_workbook(), date(2026, 2, 1), date(2026, 2, 28))
    assert (february.buyers, february.repeat_buyers, february.repeat_rate) == (3, 1, 33.3)


def test_cohort_retention() -> None:
    counts, rates = customers.cohorts(all_in_workbook(), date(2026, 3, 1), count=3)
    assert list(counts.index) == ["2026年1月", "2026年2月", "2026年3月"]
    assert counts.loc["2026年1月"].tolist() == [2, 1, 2]
    assert counts.loc["2026年2月"].tolist()[:2] == [3, 1] and pd.isna(counts.loc["2026年2月"].iloc[2])
    assert counts.loc["2026年3月"].iloc[0] == 0
    assert rates.loc["2026年1月"].tolist() == [100.0, 50.0, 100.0]
    assert rates.loc["2026年2月"].iloc[1] == 33.3


def test_rfm_segments() -> None:
    march = customers.rfm(all_in_workbook(), date(2026, 3, 31)).set_index("セグメント")
    assert march.loc["優良", ["購入者数", "売上"]].tolist() == [1, 6000]
    assert march.loc["リピーター", ["購入者数", "売上", "1人あたり売上"]].tolist() == [2, 14000, 7000]
    assert march.loc["新規", ["購入者数", "売上", "1人あたり売上"]].tolist() == [2, 2700, 1350]
    assert int(march["購入者数"].sum()) == 5
    december = customers.rfm(all_in_workbook(), date(2026, 12, 31)).set_index("セグメント")
    assert december.loc["離れかけ", "購入者数"] == 3 and december.loc["一度きり", "購入者数"] == 2
    assert december.loc["休眠", "購入者数"] == 0


def test_top_repeat_skus() -> None:
    top = customers.top_repeat_skus(all_in_workbook(), pd.Series({"TEA": "緑茶", "CUP": "湯呑み"}))
    assert top[["SKU", "商品名", "リピート購入者数", "購入者数", "数量"]].values.tolist() == [
        ["TEA", "緑茶", 1, 3, 5],
        ["CUP", "湯呑み", 1, 2, 3],
    ]


# --- the archive ---------------------------------------------------------------------------------


def test_the_same_figures_with_history_in_the_archive(tmp_path: Path) -> None:
    split, _ = split_with_archive(tmp_path)
    whole = all_in_workbook()
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    pd.testing.assert_frame_equal(
        customers.new_and_repeat(split, start, end), customers.new_and_repeat(whole, start, end)
    )
    assert customers.repeat_summary(split) == customers.repeat_summary(whole)
    pd.testing.assert_frame_equal(customers.rfm(split, end), customers.rfm(whole, end))
    pd.testing.assert_frame_equal(
        customers.cohorts(split, date(2026, 3, 1), 3)[0], customers.cohorts(whole, date(2026, 3, 1), 3)[0]
    )
    pd.testing.assert_frame_equal(customers.top_repeat_skus(split), customers.top_repeat_skus(whole))


def test_the_archive_keeps_keys_not_people_and_rebuilds_for_a_new_salt(tmp_path: Path) -> None:
    _, archive = split_with_archive(tmp_path)
    buyers = customer_archive.open_buyers(archive)
    assert customer_archive.ensure(buyers, SALT) == 0  # nothing new: one COUNT, no work
    columns = {
        c["name"] for t in ("order_buyers", "buyer_skus") for c in inspect(archive.engine).get_columns(t)
    }
    assert not columns & {"購入者名", "電話番号", "郵便番号", "メールアドレス", "住所"}
    with archive.engine.connect() as conn:
        stored = conn.execute(select(buyers.tables["order_buyers"])).all()
    assert len(stored) == 7 and "山田" not in repr(stored) and "marketplace" not in repr(stored)
    before = {r[1]: r[3] for r in stored}
    assert customer_archive.ensure(buyers, "another-salt") == 7  # every key made again
    with archive.engine.connect() as conn:
        after = {r[1]: r[3] for r in conn.execute(select(buyers.tables["order_buyers"]))}
    assert after.keys() == before.keys() and all(
        after[k] != before[k] for k in before if before[k] is not None
    )
    assert before["R1"] is not None and after["R1"] is not None


@pytest.mark.parametrize("salt", [SALT])
def test_an_order_archived_later_is_keyed_once(tmp_path: Path, salt: str) -> None:
    _, archive = split_with_archive(tmp_path, salt)
    orders, _ = make_orders()
    archive.copy(ORDERS, [o for o in orders if o.ordered_at.month == 3])
    buyers = customer_archive.open_buyers(archive)
    assert customer_archive.ensure(buyers, salt) == 4
    assert customer_archive.ensure(buyers, salt) == 0
    keyed = customer_archive.keyed_orders(buyers)
    assert len(keyed.buyer) == 9 and sum(n for _, _, n, _ in keyed.unknown) == 1
