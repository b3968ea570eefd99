"""分析's 月次サマリー: sales, orders, 客単価, 送料 and cancellations per month (``monthly_summary``),
and the files the accountant downloads (CSV with formulas neutralised, Excel with yen formats)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from shop.analytics_base import (
    SUMMARY_COLUMNS,
    SUMMARY_YEN_COLUMNS,
    cancel_rate,
    period_starts,
    round_half_up,
)
from vocabulary.text import neutralise_formula

# --- monthly summary ------------------------------------------------------------------------


def month_label(month_start: pd.Timestamp) -> str:
    return f"{month_start.year}年{month_start.month}月"


def monthly_summary(orders: pd.DataFrame, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """One row per month (every month of ``start..end`` when given): 月, 売上, 件数, 客単価, 送料,
    キャンセル件数, キャンセル率（%）. 売上, 件数 and 送料 count non-cancelled orders only."""
    grouped = (
        orders.assign(_cancelled=orders["件数"].where(orders["キャンセル"], 0))
        .groupby("月")
        .agg(
            売上=("売上", "sum"),
            全件数=("件数", "sum"),
            キャンセル件数=("_cancelled", "sum"),
            送料=("計上送料", "sum"),
        )
    )
    if start is not None and end is not None:
        grouped = grouped.reindex(period_starts("月", start, end), fill_value=0)
    grouped = grouped.astype("int64")
    count = grouped["全件数"] - grouped["キャンセル件数"]
    summary = pd.DataFrame(
        {
            "月": [month_label(m) for m in grouped.index],
            "売上": grouped["売上"].to_numpy(),
            "件数": count.to_numpy(),
            "客単価": [round_half_up(s, n) if n else 0 for s, n in zip(grouped["売上"], count, strict=True)],
            "送料": grouped["送料"].to_numpy(),
            "キャンセル件数": grouped["キャンセル件数"].to_numpy(),
            "キャンセル率（%）": [
                cancel_rate(c, t) for c, t in zip(grouped["キャンセル件数"], grouped["全件数"], strict=True)
            ],
        },
        columns=list(SUMMARY_COLUMNS),
    )
    return summary.astype(
        {"売上": "int64", "件数": "int64", "客単価": "int64", "送料": "int64", "キャンセル件数": "int64"}
    )


def summary_csv(summary: pd.DataFrame) -> bytes:
    """CSV that Excel opens with Japanese intact: UTF-8 with a BOM, CRLF line ends; a text cell
    Excel would run as a formula gets a 全角スペース in front (numbers stay numbers)."""
    safe = summary.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def summary_xlsx(
    summary: pd.DataFrame, title: str = "月次サマリー", more: Mapping[str, pd.DataFrame] | None = None
) -> bytes:
    """The same table as an .xlsx file: numbers stay numbers, yen shown as ¥12,345; ``more``:
    further sheets by title (the month-end stock valuation's detail)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    _fill_sheet(sheet, summary)
    for name, frame in (more or {}).items():
        _fill_sheet(book.create_sheet(name), frame)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Yen columns of the downloads besides the summary's own (the stock valuation's).
XLSX_YEN_COLUMNS = frozenset({*SUMMARY_YEN_COLUMNS, "月末在庫金額", "在庫金額", "単価"})


def _cell(value: Any) -> Any:
    if value is pd.NA or value is None or (isinstance(value, float) and np.isnan(value)):
        return None  # unknown stays an empty cell, never 0
    return value.item() if isinstance(value, np.generic) else value


def _fill_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Font

    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([_cell(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=…" as a formula Excel runs
    for index, column in enumerate(frame.columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 16 if index > 1 else 12
        if column in XLSX_YEN_COLUMNS:
            fmt = '"¥"#,##0' if column != "単価" else '"¥"#,##0.00'
        elif column == "キャンセル率（%）":
            fmt = "0.0"
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            fmt = "@"
        else:
            fmt = "#,##0"
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = fmt
    sheet.freeze_panes = "A2"
