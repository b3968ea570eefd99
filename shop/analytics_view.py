"""The 分析 page's sentences and table shaping: the chosen period, the no-orders notice, the
stock-cover alert and caption, the ABC list. No Streamlit here; ``ui.analytics_columns`` holds
the tables' column configs."""

from __future__ import annotations

from datetime import date

import pandas as pd

from shop.analytics_charts import day_label

ABC_LIST_COLUMNS = ["順位", "ランク", "SKU", "商品名", "数量", "商品売上"]


def period_caption(start: date, end: date) -> str:
    days = (end - start).days + 1
    return f"{day_label(start)}〜{day_label(end)}（{days}日間）。前期間 = その前の{days}日間"


def no_orders_message(start: date, end: date, cancelled: int) -> str:
    return (
        f"{day_label(start)}〜{day_label(end)} に、選んだモールの受注はありません"
        + (f"（キャンセル {cancelled:,} 件のみ）" if cancelled else "")
        + "。期間を「直近90日」や「今年」に広げるか、モールの選び方を変えてみてください。"
    )


def cover_alert(cover: pd.DataFrame) -> tuple[bool, str]:
    """(whether to warn, the sentence): out-of-stock SKUs and SKUs that run out within lead time."""
    out = int((cover["状態"] == "在庫切れ").sum())
    short = int((cover["状態"] == "要発注").sum())
    if out or short:
        return (
            True,
            f"在庫切れ {out} SKU・在庫日数がリードタイム日数より短い {short} SKU があります（表の先頭）。",
        )
    return False, "在庫日数がリードタイムより短い SKU はありません。"


def cover_caption(basis: str, window: int) -> str:
    return (
        f"在庫日数 = {basis} ÷ 直近{window}日（今日を含む）の1日平均販売数（空欄 = 販売なし）。"
        "全モールの合計で、上のモール・期間の絞り込みには関係しません"
        "（Amazon FBA など自社倉庫から出荷しない注文は除きます）。"
    )


def abc_list(abc: pd.DataFrame) -> pd.DataFrame:
    """The ABC table as listed per rank, shares in percent."""
    return abc[ABC_LIST_COLUMNS].assign(構成比=abc["構成比"] * 100, 累積構成比=abc["累積構成比"] * 100)


def summary_stem(start: date, end: date) -> str:
    """The file name (without extension) of the monthly summary's downloads."""
    return f"月次サマリー_{start:%Y%m%d}-{end:%Y%m%d}"
