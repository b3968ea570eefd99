"""Reconciliation's classifier: each difference between a mall's live quantity and ours gets
its likely cause and the fix offered."""

from __future__ import annotations

from sync.drift import LiveListing, classify


def _listing(
    live: int, available: int | None = 5, last: int | None = 5, state: str = "確認済", **kw
) -> LiveListing:
    return LiveListing(
        mall=kw.get("mall", "楽天"),
        mall_item_code="r-1",
        mall_sku="",
        live=live,
        sku=kw.get("sku", "TWL-1"),
        available=available,
        last_sent=last,
        last_state=state,
        fba=kw.get("fba", False),
    )


def test_each_difference_gets_its_likely_cause() -> None:
    assert classify(_listing(5)).cause == "一致"
    assert classify(_listing(3, sku=None, available=None)).cause == "未連携"
    assert classify(_listing(40, mall="Amazon", fba=True)).cause == "FBA"
    assert classify(_listing(7, state="失敗")).cause == "送信失敗・未確認"
    assert classify(_listing(7, last=None)).fix == "こちらの数を送る"
    waiting = classify(_listing(3))  # sent 5, shows 3, 販売可能数 still 5: two orders not imported
    assert (waiting.cause, waiting.difference, waiting.fix) == ("受注の取込待ち", -2, "")
    edited = classify(_listing(9))  # shows more than it was ever sent: changed in the mall's admin
    assert (edited.cause, edited.difference, edited.fix) == ("モール側で変更", 4, "こちらの数を送る")
    lowered = classify(_listing(2, available=1, last=5))  # below 販売可能数 after our own drop: edit
    assert lowered.cause == "モール側で変更"
