"""The 分析 page's sentences and table shaping (shop/analytics_view.py); the page itself is
covered by tests/test_analytics.py through AppTest."""

from __future__ import annotations

from datetime import date

import pandas as pd

from shop import analytics_view as view


def test_period_and_no_orders_sentences() -> None:
    caption = view.period_caption(date(2025, 4, 1), date(2025, 4, 30))
    assert "（30日間）" in caption and caption.endswith("その前の30日間")
    assert "（キャンセル 1,234 件のみ）" in view.no_orders_message(date(2025, 4, 1), date(2025, 4, 2), 1234)
    assert "キャンセル" not in view.no_orders_message(date(2025, 4, 1), date(2025, 4, 2), 0)
    assert view.summary_stem(date(2025, 1, 1), date(2025, 3, 31)) == "月次サマリー_20250101-20250331"


def test_the_cover_alert_counts_out_of_stock_and_short_skus() -> None:
    warn, text = view.cover_alert(pd.DataFrame({"状態": ["在庫切れ", "要発注", "要発注", "十分"]}))
    assert warn and "在庫切れ 1 SKU" in text and "短い 2 SKU" in text
    warn, _ = view.cover_alert(pd.DataFrame({"状態": ["十分"]}))
    assert not warn
    assert view.cover_caption("実在庫", 7).startswith("在庫日数 = 実在庫 ÷ 直近7日")


def test_the_abc_list_shows_shares_in_percent() -> None:
    abc = pd.DataFrame(
        {
            "順位": [1],
            "ランク": ["A"],
            "SKU": ["S"],
            "商品名": ["n"],
            "数量": [2],
            "商品売上": [100],
            "構成比": [0.25],
            "累積構成比": [0.5],
            "extra": [0],
        }
    )
    listed = view.abc_list(abc)
    assert list(listed.columns) == [*view.ABC_LIST_COLUMNS, "構成比", "累積構成比"]
    assert listed.loc[0, "構成比"] == 25 and listed.loc[0, "累積構成比"] == 50
