"""Sale mode: a セール rule shapes what each mall is sent during its window, counts each mall's
sales in the import job, tightens the cadence, and never lets its quotas promise more than
販売可能数; a bad セール row is an error naming its row, and changes nothing."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SyncSettings
from sheets_schema.book import ensure_tabs, read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from shop.sale_status import sale_status
from sync.engine import SyncEngine
from sync.sale import SalePolicy, SaleRule, poisson_buffer, split
from tests.shop_fixtures import ledger_problems
from tests.test_mall_own_stock import SellingMall

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=JST)
MALLS = ("楽天", "Amazon", "Yahoo!")


def _shop(workbook, sale_rows: list[dict[str, object]], on_hand: int = 10) -> list[SellingMall]:
    ensure_tabs(workbook)
    malls = [SellingMall(m) for m in MALLS]
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables["商品"], [{"SKU": "TWL-1", "商品名": "タオル", "販売価格": 1200}])
    job.append(tables["在庫"], [{"SKU": "TWL-1", "実在庫": on_hand, "安全在庫": 0}])
    job.append(
        tables["モール商品"],
        [
            {"モール": m.mall, "SKU": "TWL-1", "モール商品コード": f"{m.mall}-TWL", "モールSKU": "TWL-1"}
            for m in malls
        ],
    )
    job.append(tables["セール"], sale_rows)
    workbook.write(job)
    return malls


def _rule(**cells: object) -> dict[str, object]:
    return {
        "SKU": "",
        "モール": "すべて",
        "開始日時": NOW - timedelta(minutes=5),
        "終了日時": NOW + timedelta(hours=2),
        "配分": "ON",
        "売れ行きバッファ": "OFF",
        **cells,
    }


def test_during_a_sale_the_quotas_add_up_to_the_stock_and_follow_each_malls_sales(harness) -> None:
    workbook = harness.workbook
    malls = _shop(workbook, [_rule(同期間隔秒=15)])
    rakuten, amazon, yahoo = malls
    clock = [NOW]
    engine = SyncEngine(workbook, malls, SyncSettings(overlap_minutes=0), clock=lambda: clock[0])

    engine.run_once()
    assert sorted(m.shows for m in malls) == [3, 3, 4]  # 10 split three ways, not 10 each
    assert engine.sale_interval == 15  # the rule's 同期間隔秒: watch syncs this often

    rakuten.sell("R-1", clock[0])
    rakuten.sell("R-2", clock[0])
    clock[0] += timedelta(minutes=1)
    engine.run_once()
    tables = read_tables(workbook)
    available = {s.sku: s.available for s in tables["在庫"].models()}["TWL-1"]
    assert available == 8
    assert sum(m.shows for m in malls) == available
    # 楽天 sold 2: its weight is 3 against 1 and 1, so it holds the largest share.
    assert rakuten.shows > max(amazon.shows, yahoo.shows)
    tallies = {(t.sku, t.mall): t.sold for t in tables["_セール実績"].models()}
    assert tallies == {("TWL-1", "楽天"): 2}
    assert ledger_problems(tables) == []

    plan_after = engine.plan_push()
    assert plan_after == []  # nothing left to send: every mall holds its share

    clock[0] = NOW + timedelta(hours=3)  # the sale is over: plain 販売可能数 everywhere again
    engine.run_once()
    assert [m.shows for m in malls] == [8, 8, 8]
    assert engine.sale_interval is None


def test_below_the_threshold_only_the_fastest_mall_keeps_selling(harness) -> None:
    workbook = harness.workbook
    malls = _shop(workbook, [_rule(配分="OFF", しきい値=5)], on_hand=4)
    rakuten, amazon, yahoo = malls
    clock = [NOW]
    amazon.sell("A-1", NOW - timedelta(minutes=1))
    SyncEngine(workbook, malls, SyncSettings(overlap_minutes=0), clock=lambda: clock[0]).run_once()
    assert (rakuten.shows, amazon.shows, yahoo.shows) == (0, 3, 0)
    plan = SyncEngine(workbook, malls, SyncSettings(), clock=lambda: clock[0]).plan_push()
    assert plan == []


def test_a_bad_sale_row_names_its_row_and_leaves_plain_stock(harness) -> None:
    workbook = harness.workbook
    malls = _shop(workbook, [_rule(終了日時=NOW - timedelta(hours=1))])
    SyncEngine(workbook, malls, SyncSettings(overlap_minutes=0), clock=lambda: NOW).run_once()
    assert [m.shows for m in malls] == [10, 10, 10]
    errors = sale_status(read_tables(workbook), NOW, SyncSettings()).errors
    assert errors and errors[0].startswith("「セール」シート 2行目")
    assert "終了日時は開始日時より後" in errors[0]


# -- the policy on its own


listing_sets = st.lists(st.sampled_from(MALLS), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    available=st.integers(0, 500),
    malls=listing_sets,
    sold=st.lists(st.integers(0, 50), min_size=3, max_size=3),
    threshold=st.one_of(st.none(), st.integers(1, 20)),
    minutes=st.integers(0, 300),
)
def test_quotas_never_promise_more_than_the_stock(
    available: int, malls: list[str], sold: list[int], threshold: int | None, minutes: int
) -> None:
    """The property of 配分 (with or without しきい値): what all the SKU's listings are sent adds
    up to 販売可能数 at most, each is between 0 and 販売可能数, and they use it all."""
    members = [(m, f"{m}-{i}", "") for i, m in enumerate(malls)]
    rule = SaleRule(sku="", mall="", start=NOW, end=NOW + timedelta(hours=6), quota=True, threshold=threshold)
    policy = SalePolicy(
        [rule], NOW + timedelta(minutes=minutes), dict(zip(((("X", m)) for m in MALLS), sold, strict=True))
    )
    shaped = policy.targets({"X": available}, [(k, "X") for k in members])
    sent = [shaped[k].quantity for k in members]
    assert all(0 <= q <= available for q in sent)
    assert sum(sent) == available


@settings(max_examples=300, deadline=None)
@given(
    available=st.integers(0, 200),
    malls=listing_sets,
    sold=st.lists(st.integers(0, 200), min_size=3, max_size=3),
    quota=st.booleans(),
    threshold=st.one_of(st.none(), st.integers(1, 20)),
    minutes=st.integers(0, 300),
)
def test_no_policy_sends_a_mall_more_than_the_stock(
    available: int, malls: list[str], sold: list[int], quota: bool, threshold: int | None, minutes: int
) -> None:
    """With the velocity buffer a slow seller may show its last units at several malls (the
    point of it), but no single mall is ever sent more than 販売可能数, nor less than 0."""
    members = [(m, f"{m}-{i}", "") for i, m in enumerate(malls)]
    rule = SaleRule(
        sku="",
        mall="",
        start=NOW,
        end=NOW + timedelta(hours=6),
        quota=quota,
        threshold=threshold,
        buffer=True,
    )
    policy = SalePolicy(
        [rule], NOW + timedelta(minutes=minutes), {("X", m): n for m, n in zip(MALLS, sold, strict=True)}
    )
    shaped = policy.targets({"X": available}, [(k, "X") for k in members])
    assert all(0 <= shaped[k].quantity <= available for k in members)
    if threshold and available < threshold:
        assert sum(1 for k in members if shaped[k].quantity) <= 1


def test_split_and_buffer_arithmetic() -> None:
    members = [("楽天", "a", ""), ("Amazon", "b", ""), ("Yahoo!", "c", "")]
    assert split(1, members, dict.fromkeys(members, 1.0)) == {members[0]: 1, members[1]: 0, members[2]: 0}
    assert split(7, members, {members[0]: 5.0, members[1]: 1.0, members[2]: 1.0}) == {
        members[0]: 5,
        members[1]: 1,
        members[2]: 1,
    }
    assert poisson_buffer(0.0, 0.02) == 0
    assert poisson_buffer(0.01, 0.02) == 0  # P(N > 0) ≈ 1 % ≤ 2 %
    assert poisson_buffer(1.0, 0.02) == 3  # P(N > 3) ≈ 1.9 %


def test_the_sale_model_oversells_without_sale_mode_and_not_with_quotas() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import sale_sim

    plain = sale_sim.simulate(0, 60, 5, None, 0.02)
    quotas = sale_sim.simulate(0, 60, 5, sale_sim.sale_rule(True, None, False), 0.02)
    assert plain.oversold > 0 and plain.unsold == 0
    assert quotas.oversold == 0 and quotas.taken > 0


def test_the_sync_page_status_lists_the_rule_and_what_each_mall_is_sent(harness) -> None:
    workbook = harness.workbook
    malls = _shop(
        workbook,
        [_rule(), _rule(SKU="TWL-1", 開始日時=NOW + timedelta(days=1), 終了日時=NOW + timedelta(days=2))],
    )
    SyncEngine(workbook, malls, SyncSettings(overlap_minutes=0), clock=lambda: NOW).run_once()
    status = sale_status(read_tables(workbook), NOW, SyncSettings())
    assert [r["方式"] for r in status.rules] == ["配分"] and status.interval_seconds == 20
    assert [r["開始"] for r in status.upcoming] == [f"{NOW + timedelta(days=1):%Y-%m-%d %H:%M:%S}"]
    sent = {r["モール"]: (r["販売可能数"], r["送る数"], r["前回送信数"]) for r in status.sending}
    assert sum(q for _, q, _ in sent.values()) == 10
    assert all(available == 10 and last == q for available, q, last in sent.values())
    assert all(r["理由"].startswith("配分") for r in status.sending)
