"""Monthly journal files: parsed back, the income booked equals 分析's 月次サマリー of the same
month exactly (workbook only, and with part of the month in the archive); entries balance;
tax rates split as configured; CP932; formulas neutralised; the export mark."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from settings import AccountingSettings
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS
from shop import analytics, journal

MONTH = date(2026, 5, 1)
MALLS = ("楽天", "Amazon", "Yahoo!", "Shopify")
PAYMENTS = ("クレジットカード", "代金引換", "", '=HYPERLINK("x")')
ACCOUNTS = AccountingSettings(shipping_account="送料収入", reduced_rate_skus=["FOOD-*", "TEA"])


def random_shop(seed: int = 7, n: int = 400) -> tuple[list[Order], list[OrderLine]]:
    """Orders from mid-April to mid-June: random malls, payments, statuses, 送料, lines (some
    reduced-rate), some with a discount folded into 合計金額."""
    rng = random.Random(seed)
    orders, lines = [], []
    for i in range(n):
        day = date(2026, 4, 15) + pd.Timedelta(days=rng.randrange(60)).to_pytimedelta()
        at = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=JST)
        items = [
            (
                rng.choice(("FOOD-1", "FOOD-2", "TEA", "CUP", "BOWL")),
                rng.randint(1, 3),
                rng.choice((300, 1080, 2500)),
            )
            for _ in range(rng.randint(1, 3))
        ]
        goods = sum(q * p for _, q, p in items)
        shipping = rng.choice((0, 550, 880))
        total = goods + shipping - rng.choice((0, 0, 0, 100))
        number = f"N{i:04d}"
        mall = rng.choice(MALLS)
        status = rng.choice(("出荷済", "出荷済", "出荷済", "キャンセル", "発送待ち"))
        orders.append(
            Order.model_validate(
                {
                    "モール": mall,
                    "注文番号": number,
                    "注文日時": at,
                    "ステータス": status,
                    "支払方法": rng.choice(PAYMENTS),
                    "合計金額": total,
                    "送料": shipping,
                }
            )
        )
        for n_line, (sku, qty, price) in enumerate(items, start=1):
            lines.append(
                OrderLine.model_validate(
                    {
                        "モール": mall,
                        "注文番号": number,
                        "明細番号": n_line,
                        "SKU": sku,
                        "数量": qty,
                        "単価": price,
                    }
                )
            )
    return orders, lines


def summary_row(order_facts: pd.DataFrame) -> dict[str, int]:
    first, last = journal.month_range(MONTH)
    summary = analytics.monthly_summary(order_facts, first, last)
    assert len(summary) == 1
    return {"売上": int(summary["売上"].iloc[0]), "送料": int(summary["送料"].iloc[0])}


def assert_reconciles(figures: pd.DataFrame, expected: dict[str, int]) -> None:
    lines = journal.entries(figures, MONTH, ACCOUNTS)
    assert expected["売上"] > 0 and expected["送料"] > 0
    for software in ("freee", "mf"):
        rows = journal.read_back(software, journal.journal_csv(software, lines, MONTH, ACCOUNTS))
        goods = journal.income_totals(rows, "売上高", software)
        shipping = journal.income_totals(rows, "送料収入", software)
        assert goods + shipping == expected["売上"], software
        assert shipping == expected["送料"], software
        # Every entry balances: debits = credits per 伝票番号 / 取引No.
        number, amount = ("伝票番号", "金額") if software == "freee" else ("取引No", "金額(円)")
        balance: dict[str, int] = {}
        for row in rows:
            balance[row[number]] = (
                balance.get(row[number], 0) + int(row[f"借方{amount}"] or 0) - int(row[f"貸方{amount}"] or 0)
            )
        assert set(balance.values()) == {0}


def test_the_journal_reconciles_with_the_monthly_summary() -> None:
    orders, lines = random_shop()
    figures = journal.workbook_figures(orders, lines, MONTH, ACCOUNTS.reduced_rate_skus)
    assert_reconciles(figures, summary_row(analytics.order_facts(analytics.orders_frame(orders))))


def test_with_part_of_the_month_in_the_archive(tmp_path: Path) -> None:
    orders, lines = random_shop(seed=11)
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    old = [o for o in orders if o.status in ("出荷済", "キャンセル") and o.ordered_at.day < 20]
    old_keys = {(o.mall, o.order_number) for o in old}
    archive.copy(ORDERS, old)
    archive.copy(ORDER_LINES, [ln for ln in lines if (ln.mall, ln.order_number) in old_keys])
    hot = [o for o in orders if (o.mall, o.order_number) not in old_keys]
    reduced = ACCOUNTS.reduced_rate_skus
    figures = journal.combine_figures(
        journal.workbook_figures(hot, lines, MONTH, reduced),
        journal.archived_figures(archive, MONTH, reduced),
    )
    assert figures.equals(journal.workbook_figures(orders, lines, MONTH, reduced))
    facts = pd.concat(
        [
            analytics.order_facts(analytics.orders_frame(hot)),
            analytics.archived_order_facts(archive.order_facts("2026-05-01", "2026-06-01")),
        ],
        ignore_index=True,
    )
    assert_reconciles(figures, summary_row(facts))


def test_tax_rates_split_and_cancellations_reverse() -> None:
    at = datetime(2026, 5, 10, 12, 0, tzinfo=JST)
    orders = [
        Order.model_validate(
            {
                "モール": "楽天",
                "注文番号": n,
                "注文日時": at,
                "ステータス": s,
                "支払方法": "クレジットカード",
                "合計金額": 3550,
                "送料": 550,
            }
        )
        for n, s in (("A", "出荷済"), ("B", "キャンセル"))
    ]
    lines = [
        OrderLine.model_validate(
            {"モール": "楽天", "注文番号": n, "明細番号": i, "SKU": sku, "数量": 1, "単価": p}
        )
        for n in ("A", "B")
        for i, (sku, p) in enumerate((("TEA", 1000), ("CUP", 2000)), start=1)
    ]
    figures = journal.workbook_figures(orders, lines, MONTH, ["TEA"])
    rows = [
        (ln.entry, ln.side, ln.account, ln.rate, ln.amount)
        for ln in journal.entries(figures, MONTH, AccountingSettings())
    ]
    assert rows == [
        (1, "借方", "売掛金", 0, 7100),
        (1, "貸方", "売上高", 10, 4000),
        (1, "貸方", "売上高", 8, 2000),
        (1, "貸方", "売上高", 10, 1100),
        (2, "貸方", "売掛金", 0, 3550),
        (2, "借方", "売上高", 10, 2000),
        (2, "借方", "売上高", 8, 1000),
        (2, "借方", "売上高", 10, 550),
    ]
    data = journal.journal_csv(
        "mf", journal.entries(figures, MONTH, AccountingSettings()), MONTH, AccountingSettings()
    )
    assert data.decode("cp932").splitlines()[0].split(",")[:3] == ["取引No", "取引日", "借方勘定科目"]
    first = journal.read_back("mf", data)[1]
    assert (first["取引日"], first["貸方税区分"], first["貸方金額(円)"]) == (
        "2026/05/31",
        "課税売上 10%",
        "4000",
    )
    assert journal.read_back("mf", data)[2]["貸方税区分"] == "課税売上 (軽)8%"


def test_formulas_are_neutralised_and_encoding_is_cp932() -> None:
    orders, lines = random_shop()
    figures = journal.workbook_figures(orders, lines, MONTH, [])
    tricky = AccountingSettings(sales_account="=1+1", receivable_account="@SUM(A1)")
    for software in ("freee", "mf"):
        data = journal.journal_csv(software, journal.entries(figures, MONTH, tricky), MONTH, tricky)
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # Japanese text in CP932 is not UTF-8
        rows = journal.read_back(software, data)
        accounts = {row["貸方勘定科目"] for row in rows} | {row["借方勘定科目"] for row in rows}
        assert {"\u3000=1+1", "\u3000@SUM(A1)"} <= accounts
        assert not any(a.startswith(("=", "+", "-", "@")) for a in accounts)


def test_the_export_mark() -> None:
    value = journal.mark_value("freee", "2026-06-01 10:00", "keiri@example.jp", 1234567)
    assert journal.mark_key(MONTH) == "仕訳出力:2026-05"
    assert (
        journal.describe_mark(value)
        == "2026-06-01 10:00 に freee 会計（仕訳） 用に出力済み（keiri@example.jp）・売上 ¥1,234,567"
    )
