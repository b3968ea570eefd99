"""Monthly journal files for accounting software: freee (仕訳, 汎用形式) and マネーフォワード
クラウド会計 (仕訳帳).

What a month's journal holds, per mall and 支払方法 (one compound entry each, dated the month's
last day), for the orders whose JST order date lies in the month — the same orders, and the
same sums, as 分析's 月次サマリー:

- 売上: 売掛金 (or the payment method's account) on the debit side; on the credit side 売上高
  split by tax rate (the lines of ``reduced_rate_skus`` at 8 %, the rest of the goods at 10 %)
  and 送料 (10 %). Every order of the month is booked, cancelled ones too …
- キャンセル: … and the cancelled ones reversed in an entry of their own, so the month's net
  (売上 − キャンセル) is exactly the summary's 売上 and its 送料 the summary's 送料 (a test
  parses both files back and checks it).
- 手数料: none of the malls' order data Ichigen imports carries the mall's fee, so no fee
  lines are written (the page says so); ``fee_account`` is there for when one does.
- 返品: 受注 has no 返品 status; a return moves stock (在庫移動), not the order's amount, and the
  summary does not subtract it, so neither does the journal.

The goods part is 合計金額 − 送料 − the reduced-rate lines: a discount or points the mall
folded into 合計金額 lowers the 10 % part (never below 0: then the 8 % part gives way).

Formats (checked with the search tool; what no source confirmed is marked UNVERIFIED):

- freee 仕訳インポート (汎用形式), support.freee.co.jp/hc/ja/articles/204847430: 日付
  (required, 2015/04/01 form), 伝票番号 (rows with the same 日付 and 伝票番号 make one
  compound entry), 決算整理仕訳, 借方/貸方 勘定科目・金額・税額, 摘要; accounts and tax
  categories must be registered in freee. The header 借方税区分/貸方税区分: UNVERIFIED (the page
  says tax categories are imported, our excerpt did not show the header). Encoding CP932:
  a third party's freee import guide (support.emerada-cash-manager.com) says Shift_JIS is
  needed; not confirmed by freee itself.
- マネーフォワード クラウド会計 仕訳帳インポート, biz.moneyforward.com/support/…/import-books/
  ib01.html and the Plus guide: columns A to AA (27) whose first row must not be edited;
  取引No, 取引日, 勘定科目, 金額 required; rows with the same 取引日 and 取引No whose debits and
  credits balance make one compound entry; account, tax category names must match exactly;
  templates come in a choice of encodings (we write CP932). The order and names of the 27
  columns: UNVERIFIED (taken from a third party's MF CSV code; matches the 27 columns and the
  invoice columns MF added in 2023).
- Tax category names (課税売上10% …): UNVERIFIED, settings (``[accounting]``).
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import and_, case, func, or_, select

from settings import AccountingSettings
from sheets_schema.archive import Archive
from sheets_schema.cells import JST
from sheets_schema.models import Order, OrderLine
from sheets_schema.tabs import ORDER_LINES, ORDERS
from vocabulary.text import neutralise_formula

Software = Literal["freee", "mf"]
SOFTWARE_NAMES: dict[str, str] = {
    "freee": "freee 会計（仕訳）",
    "mf": "マネーフォワード クラウド会計（仕訳帳）",
}
ENCODING = {"freee": "cp932", "mf": "cp932"}
FREEE_COLUMNS = (
    "日付",
    "伝票番号",
    "決算整理仕訳",
    "借方勘定科目",
    "借方税区分",  # UNVERIFIED header
    "借方金額",
    "借方税額",
    "貸方勘定科目",
    "貸方税区分",  # UNVERIFIED header
    "貸方金額",
    "貸方税額",
    "摘要",
)
MF_COLUMNS = (  # A..AA; order and names UNVERIFIED (see the module docstring)
    "取引No",
    "取引日",
    "借方勘定科目",
    "借方補助科目",
    "借方部門",
    "借方取引先",
    "借方税区分",
    "借方インボイス",
    "借方金額(円)",
    "借方税額",
    "貸方勘定科目",
    "貸方補助科目",
    "貸方部門",
    "貸方取引先",
    "貸方税区分",
    "貸方インボイス",
    "貸方金額(円)",
    "貸方税額",
    "摘要",
    "仕訳メモ",
    "タグ",
    "MF仕訳タイプ",
    "決算整理仕訳",
    "作成日時",
    "作成者",
    "最終更新日時",
    "最終更新者",
)
FIGURE_KEYS = ("モール", "支払方法", "キャンセル")
FIGURE_SUMS = ("件数", "合計金額", "送料", "軽減")
NO_PAYMENT = "（支払方法なし）"


# --- the month's figures ------------------------------------------------------------------------


def month_range(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def is_reduced(sku: str | None, patterns: Sequence[str]) -> bool:
    if not sku:
        return False
    return any(sku.startswith(p[:-1]) if p.endswith("*") else sku == p for p in patterns)


def workbook_figures(
    orders: Sequence[Order],
    lines: Sequence[OrderLine],
    month: date,
    reduced: Sequence[str],
    skip: set[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """The workbook's orders of the month summed per モール, 支払方法, キャンセル: 件数,
    合計金額, 送料, 軽減 (数量 × 単価 of the reduced-rate lines). ``skip``: orders the archive
    holds too (counted from there, as 分析 does)."""
    first, last = month_range(month)
    inside = {
        (o.mall, o.order_number): o
        for o in orders
        if first <= o.ordered_at.astimezone(JST).date() <= last and (o.mall, o.order_number) not in skip
    }
    reduced_by_order: dict[tuple[str, str], int] = {}
    for ln in lines:
        key = (ln.mall, ln.order_number)
        if key in inside and is_reduced(ln.sku, reduced):
            reduced_by_order[key] = reduced_by_order.get(key, 0) + ln.quantity * ln.unit_price
    rows = [
        (
            o.mall,
            o.payment_method,
            o.status == "キャンセル",
            1,
            o.total,
            o.shipping_fee,
            reduced_by_order.get(k, 0),
        )
        for k, o in inside.items()
    ]
    return _summed(pd.DataFrame(rows, columns=[*FIGURE_KEYS, *FIGURE_SUMS]))


def archived_figures(archive: Archive, month: date, reduced: Sequence[str]) -> pd.DataFrame:
    """The archive's orders of the month, summed the same way by the database (the time index
    finds the month's orders; a month is ~30,000 of a million)."""
    first, last = month_range(month)
    since, until = first.isoformat(), (last + timedelta(days=1)).isoformat()
    orders, lines = archive.tables[ORDERS.title], archive.tables[ORDER_LINES.title]
    cancelled = case((orders.c["ステータス"] == "キャンセル", 1), else_=0)
    between = and_(orders.c["注文日時"] >= since, orders.c["注文日時"] < until)
    keys = (orders.c["モール"], func.coalesce(orders.c["支払方法"], ""), cancelled)
    totals = (
        select(
            *keys, func.count(), func.sum(orders.c["合計金額"]), func.coalesce(func.sum(orders.c["送料"]), 0)
        )
        .where(between)
        .group_by(*keys)
    )
    found: dict[tuple[Any, ...], list[int]] = {}
    with archive.engine.connect() as conn:
        for mall, payment, gone, n, total, shipping in conn.execute(totals):
            found[(mall, payment, bool(gone))] = [int(n), int(total or 0), int(shipping or 0), 0]
        if reduced:
            matches = or_(
                *(
                    lines.c["SKU"].startswith(p[:-1]) if p.endswith("*") else lines.c["SKU"] == p
                    for p in reduced
                )
            )
            joined = lines.join(
                orders,
                and_(lines.c["モール"] == orders.c["モール"], lines.c["注文番号"] == orders.c["注文番号"]),
            )
            eight = (
                select(*keys, func.sum(lines.c["数量"] * lines.c["単価"]))
                .select_from(joined)
                .where(between, matches)
                .group_by(*keys)
            )
            for mall, payment, gone, amount in conn.execute(eight):
                found.setdefault((mall, payment, bool(gone)), [0, 0, 0, 0])[3] = int(amount or 0)
    rows = [(*k, *v) for k, v in found.items()]
    return _summed(pd.DataFrame(rows, columns=[*FIGURE_KEYS, *FIGURE_SUMS]))


def _summed(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(
            {k: pd.Series(dtype=t) for k, t in zip(FIGURE_KEYS, ("str", "str", "bool"), strict=True)}
            | {s: pd.Series(dtype="int64") for s in FIGURE_SUMS}
        )
    frame = frame.assign(支払方法=frame["支払方法"].fillna("").astype(str))
    summed = frame.groupby(list(FIGURE_KEYS), as_index=False)[list(FIGURE_SUMS)].sum()
    return summed.astype({s: "int64" for s in FIGURE_SUMS})


def combine_figures(*parts: pd.DataFrame) -> pd.DataFrame:
    return _summed(pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True))


# --- entries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of a compound entry: an account on one side."""

    entry: int
    side: Literal["借方", "貸方"]
    account: str
    rate: Literal[10, 8, 0]  # 0: no consumption tax category (対象外)
    amount: int
    memo: str


def _split(total: int, shipping: int, reduced: int) -> tuple[int, int, int]:
    """(goods at 10 %, goods at 8 %, shipping) that sum to ``total``."""
    shipping = min(shipping, total)
    eight = min(reduced, total - shipping)
    return total - shipping - eight, eight, shipping


def entries(figures: pd.DataFrame, month: date, accounts: AccountingSettings) -> list[Line]:
    """The month's compound entries (see the module docstring), in mall and payment order."""
    lines: list[Line] = []
    label = f"{month.year}年{month.month}月分"
    number = 0
    groups = figures.groupby(["モール", "支払方法"], sort=True)
    for (mall, payment), rows in groups:
        receivable = accounts.payment_accounts.get(str(payment), accounts.receivable_account)
        who = f"{mall} {payment or NO_PAYMENT}"
        all_orders = rows[list(FIGURE_SUMS)].sum()
        gone = rows[rows["キャンセル"]][list(FIGURE_SUMS)].sum()
        for kind, sums, reverse in (("売上", all_orders, False), ("キャンセル", gone, True)):
            count, total = int(sums["件数"]), int(sums["合計金額"])
            if count == 0 or total == 0:
                continue
            number += 1
            goods10, goods8, shipping = _split(total, int(sums["送料"]), int(sums["軽減"]))
            memo = f"{who} {label} {kind}（{count}件）"
            income = "借方" if reverse else "貸方"
            paid = "貸方" if reverse else "借方"
            lines.append(Line(number, paid, receivable, 0, total, memo))
            for account, rate, amount, what in (
                (accounts.sales_account, 10, goods10, "商品 10%"),
                (accounts.sales_account, 8, goods8, "商品 8%（軽減）"),
                (accounts.shipping_account, 10, shipping, "送料"),
            ):
                if amount:
                    lines.append(Line(number, income, account, rate, amount, f"{memo} {what}"))  # type: ignore[arg-type]
    return lines


def _tax(software: Software, rate: int, accounts: AccountingSettings) -> str:
    names = {
        "freee": {10: accounts.freee_tax_10, 8: accounts.freee_tax_8, 0: accounts.freee_tax_none},
        "mf": {10: accounts.mf_tax_10, 8: accounts.mf_tax_8, 0: accounts.mf_tax_none},
    }
    return names[software][rate]


def journal_csv(
    software: Software, lines: Sequence[Line], month: date, accounts: AccountingSettings
) -> bytes:
    """The import file: CRLF, every text cell neutralised against formulas, in the software's
    encoding (a character it cannot hold becomes ?)."""
    day = month_range(month)[1].strftime("%Y/%m/%d")
    columns = FREEE_COLUMNS if software == "freee" else MF_COLUMNS
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for line in lines:
        side = line.side
        row: dict[str, Any] = {c: "" for c in columns}
        tax = _tax(software, line.rate, accounts)
        if software == "freee":
            row.update({"日付": day, "伝票番号": line.entry, f"{side}勘定科目": line.account})
            row.update({f"{side}税区分": tax, f"{side}金額": line.amount, "摘要": line.memo})
        else:
            row.update({"取引No": line.entry, "取引日": day, f"{side}勘定科目": line.account})
            row.update({f"{side}税区分": tax, f"{side}金額(円)": line.amount, "摘要": line.memo})
        writer.writerow({k: neutralise_formula(v) if isinstance(v, str) else v for k, v in row.items()})
    return buffer.getvalue().encode(ENCODING[software], errors="replace")


def read_back(software: Software, data: bytes) -> list[dict[str, str]]:
    """A journal file as its rows (what a test and the accountant's check parse)."""
    return list(csv.DictReader(io.StringIO(data.decode(ENCODING[software]), newline="")))


def income_totals(rows: Sequence[Mapping[str, str]], account: str, software: Software) -> int:
    """Credits minus debits of ``account`` in a file read back: the net income booked there."""
    amount = "金額" if software == "freee" else "金額(円)"
    net = 0
    for row in rows:
        if row["貸方勘定科目"] == account:
            net += int(row[f"貸方{amount}"])
        if row["借方勘定科目"] == account:
            net -= int(row[f"借方{amount}"])
    return net


# --- the export mark ----------------------------------------------------------------------------


def mark_key(month: date) -> str:
    """The _システム key that says a month's journal was downloaded."""
    return f"仕訳出力:{month:%Y-%m}"


def mark_value(software: Software, when: str, who: str, net: int) -> str:
    return f"{SOFTWARE_NAMES[software]}|{when}|{who}|{net}"


def describe_mark(value: str) -> str:
    """「2026-06-01 10:00 に freee 会計（仕訳）で出力済み（売上 ¥1,234）」 from a stored mark."""
    parts = value.split("|")
    if len(parts) != 4:
        return "出力済み"
    name, when, who, net = parts
    by = f"（{who}）" if who else ""
    return f"{when} に {name} 用に出力済み{by}・売上 ¥{int(net):,}"
