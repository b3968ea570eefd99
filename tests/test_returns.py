"""返品 against a shipped order line, 不良処分 / 不良振替, and return rates: hand-computed cases;
each action sent twice, or re-run after a job that landed, moves stock once; the next cycle
folds it into 在庫 and _受注在庫 exactly as a fold of the whole ledger would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from purchasing.defective import DISPOSE, MARK, move_defective
from purchasing.ledger_now import read_ledger_now
from purchasing.returns import find_order, register_return
from settings import SyncSettings
from sheets_schema.archive import Archive
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sheets_schema.models import StockMovement
from sync.archive import archive_history
from sync.engine import SyncEngine
from tests.shop_fixtures import ledger_problems, staff_edit

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=JST)
HARNESS_BACKENDS = ("sql", "google", "hybrid")


def settle(workbook: Any) -> None:
    settle_at(workbook, NOW)


def settle_at(workbook: Any, at: datetime) -> None:
    SyncEngine(workbook, [], SyncSettings(), clock=lambda: at).run_once(fetch=False)


def order(mall: str, number: str, status: str = "新規") -> dict[str, Any]:
    return {
        "モール": mall,
        "注文番号": number,
        "注文日時": NOW - timedelta(days=3),
        "ステータス": status,
        "購入者名": "山田 太郎",
        "合計金額": 5000,
        "在庫引当": "ON",
    }


def line(mall: str, number: str, n: int, sku: str, quantity: int) -> dict[str, Any]:
    names = {"TEE-1": "Tシャツ", "CAP-1": "キャップ"}
    return {
        "モール": mall,
        "注文番号": number,
        "明細番号": n,
        "SKU": sku,
        "商品名": names[sku],
        "数量": quantity,
        "単価": 1000,
    }


def seed(workbook: Any) -> None:
    """TEE-1 ×10 and CAP-1 ×5 in stock; 楽天 R-1 (TEE-1 ×3, CAP-1 ×1) shipped; Yahoo R-1 and
    楽天 R-2 still 新規."""
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(
        tables["商品"],
        [
            {"SKU": "TEE-1", "商品名": "Tシャツ", "販売価格": 2500, "原価": 900},
            {"SKU": "CAP-1", "商品名": "キャップ", "販売価格": 1800},
        ],
    )
    job.append(tables["在庫"], [{"SKU": "TEE-1", "実在庫": 10}, {"SKU": "CAP-1", "実在庫": 5}])
    job.append(tables["受注"], [order("楽天", "R-1"), order("Yahoo", "R-1"), order("楽天", "R-2")])
    job.append(
        tables["受注明細"],
        [
            line("楽天", "R-1", 1, "TEE-1", 3),
            line("楽天", "R-1", 2, "CAP-1", 1),
            line("Yahoo", "R-1", 1, "TEE-1", 1),
            line("楽天", "R-2", 1, "TEE-1", 1),
        ],
    )
    workbook.write(job)
    settle(workbook)  # 棚卸:初期 and the allocations
    staff_edit(workbook, "受注", ("楽天", "R-1"), {"ステータス": "出荷済"})
    settle(workbook)  # shipped: TEE-1 7, CAP-1 4


@pytest.fixture
def shop(harness) -> Any:
    seed(harness.workbook)
    return harness


def stock(workbook: Any) -> dict[str, tuple[int, int, int]]:
    return {s.sku: (s.on_hand, s.allocated, s.defective) for s in read_tables(workbook)["在庫"].models()}


def returns_of(workbook: Any) -> list[tuple[str, str, int, str, int | None]]:
    return [
        (m.movement_id, m.kind, m.quantity, m.order_number, m.line_number)
        for m in read_tables(workbook)["在庫移動"].models()
        if m.movement_id.startswith("返品:")
    ]


def test_a_good_return_goes_back_to_sellable_stock_once(shop) -> None:
    assert stock(shop.workbook) == {"TEE-1": (7, 2, 0), "CAP-1": (4, 0, 0)}
    found = find_order(shop.workbook, "R-1", "楽天")
    assert found.problem == "" and not found.read_whole_ledger
    assert [(x.line_number, x.sku, x.shipped, x.returned, x.returnable) for x in found.lines] == [
        (1, "TEE-1", 3, 0, 3),
        (2, "CAP-1", 1, 0, 1),
    ]
    done = register_return(
        found, 1, "TEE-1", 2, disposition="良品", reason="サイズ違い", note="未開封", seen_returned=0, now=NOW
    )
    assert done.refused == []
    shop.workbook.write(done.job)
    with pytest.raises(StaleWorkbookError):  # the same job sent twice: its ledger rows are taken
        shop.workbook.write(done.job)
    # The job landed but the screen never heard: the same action again is refused, not doubled.
    again = find_order(shop.workbook, "R-1", "楽天")
    assert again.line(1, "TEE-1").returned == 2
    refused = register_return(
        again, 1, "TEE-1", 2, disposition="良品", reason="サイズ違い", seen_returned=0, now=NOW
    )
    assert refused.refused and "二重登録を防ぐため" in refused.refused[0]
    settle(shop.workbook)
    assert stock(shop.workbook) == {"TEE-1": (9, 2, 0), "CAP-1": (4, 0, 0)}
    assert returns_of(shop.workbook) == [("返品:楽天:R-1:1:0+2", "返品入庫", 2, "R-1", 1)]
    moved = next(m for m in read_tables(shop.workbook)["在庫移動"].models() if m.kind == "返品入庫")
    assert (moved.mall, moved.note) == ("楽天", "返品（良品）: サイズ違い／未開封")
    assert ledger_problems(read_tables(shop.workbook)) == []


def test_a_job_that_never_landed_is_simply_sent_again(shop) -> None:
    found = find_order(shop.workbook, "R-1", "楽天")
    lost = register_return(found, 2, "CAP-1", 1, disposition="不良", reason="破損", seen_returned=0, now=NOW)
    assert lost.refused == []  # built, then the process died before writing it
    retry = register_return(
        find_order(shop.workbook, "R-1", "楽天"),
        2,
        "CAP-1",
        1,
        disposition="不良",
        reason="破損",
        seen_returned=0,
        now=NOW,
    )
    shop.workbook.write(retry.job)
    settle(shop.workbook)
    assert stock(shop.workbook)["CAP-1"] == (4, 0, 1)  # 不良在庫, 実在庫 unchanged
    assert returns_of(shop.workbook) == [("返品:楽天:R-1:2:0+1", "不良入庫", 1, "R-1", 2)]


def test_later_returns_of_a_line_are_summed_from_the_ledger_and_capped(shop) -> None:
    first = register_return(
        find_order(shop.workbook, "R-1", "楽天"),
        1,
        "TEE-1",
        1,
        disposition="良品",
        reason="色違い",
        seen_returned=0,
        now=NOW,
    )
    shop.workbook.write(first.job)
    # Before the cycle: the tail has it.
    second_found = find_order(shop.workbook, "R-1", "楽天")
    assert second_found.line(1, "TEE-1").returned == 1 and not second_found.read_whole_ledger
    second = register_return(
        second_found, 1, "TEE-1", 1, disposition="不良", reason="汚れ", seen_returned=1, now=NOW
    )
    shop.workbook.write(second.job)
    settle(shop.workbook)
    # After the cycle: _受注在庫 says two returns were folded; the units come from the ledger.
    third_found = find_order(shop.workbook, "R-1", "楽天")
    assert third_found.read_whole_ledger
    assert (third_found.line(1, "TEE-1").returned, third_found.line(1, "TEE-1").returnable) == (2, 1)
    too_many = register_return(
        third_found, 1, "TEE-1", 2, disposition="良品", reason="x", seen_returned=2, now=NOW
    )
    assert too_many.refused == [
        "明細番号 1（TEE-1）で返品できるのは 1 個までです（出荷 3 個・返品済み 2 個）"
    ]
    last = register_return(
        third_found, 1, "TEE-1", 1, disposition="良品", reason="x", seen_returned=2, now=NOW
    )
    shop.workbook.write(last.job)
    settle(shop.workbook)
    assert [r[0] for r in returns_of(shop.workbook)] == [
        "返品:楽天:R-1:1:0+1",
        "返品:楽天:R-1:1:1+1",
        "返品:楽天:R-1:1:2+1",
    ]
    assert stock(shop.workbook)["TEE-1"] == (7 + 2, 2, 1)
    assert find_order(shop.workbook, "R-1", "楽天").line(1, "TEE-1").returnable == 0
    assert ledger_problems(read_tables(shop.workbook)) == []


def test_what_cannot_be_returned_is_explained(shop) -> None:
    both = find_order(shop.workbook, "R-1")
    assert both.candidates == ["Yahoo", "楽天"] and "複数のモール" in both.problem
    assert find_order(shop.workbook, "R-2").mall == "楽天"  # one mall: found by number alone
    assert "「出荷済」の注文です（この注文は「新規」）" in find_order(shop.workbook, "R-2").problem
    assert "受注シートにありません" in find_order(shop.workbook, "NOPE").problem
    found = find_order(shop.workbook, "R-1", "楽天")
    bad = register_return(found, 1, "TEE-1", 0, disposition="返金", reason="", seen_returned=0, now=NOW)
    assert bad.refused == [
        "返品の扱いは「良品」か「不良」を選んでください",
        "返品数は1以上の整数で入力してください（0）",
        "返品の理由を入力してください（例: サイズ違い、初期不良）",
    ]
    assert register_return(
        found, 9, "TEE-1", 1, disposition="良品", reason="x", seen_returned=0, now=NOW
    ).refused == ["注文番号「R-1」に明細番号 9・SKU「TEE-1」の明細はありません"]
    assert not bad.job and not read_tables(shop.workbook)["在庫移動"].models()[-1].movement_id.startswith(
        "返品"
    )


def test_defective_units_are_moved_and_disposed_of_once(shop) -> None:
    products = {p.sku: p for p in read_tables(shop.workbook)["商品"].models()}

    def act(kind: str, units: int, seen: int, token: str) -> Any:
        ledger, _ = read_ledger_now(shop.workbook)
        return move_defective(
            ledger,
            products,
            kind,
            "CAP-1",
            units,
            reason="検品で傷",
            seen_defective=seen,
            token=token,
            now=NOW,
        )

    assert act(MARK, 5, 0, "f1").refused == [
        "SKU「CAP-1」の実在庫は 4 個です。それより多くは不良に振り替えられません（5）"
    ]
    found = act(MARK, 2, 0, "f1")
    shop.workbook.write(found.job)
    assert act(MARK, 2, 0, "f1").refused == [
        "この不良振替はすでに登録されています（同じ画面から二度送られました）"
    ]
    settle(shop.workbook)
    # Folded: the ID left the tail, but 不良在庫 no longer reads as the form showed it.
    assert "二重登録を防ぐため" in act(MARK, 2, 0, "f1").refused[0]
    assert stock(shop.workbook)["CAP-1"] == (2, 0, 2)
    assert act(DISPOSE, 3, 2, "f2").refused == [
        "SKU「CAP-1」の不良在庫は 2 個です。それより多くは処分できません（3）"
    ]
    shop.workbook.write(act(DISPOSE, 2, 2, "f2").job)
    settle(shop.workbook)
    assert stock(shop.workbook)["CAP-1"] == (2, 0, 0)
    assert act(DISPOSE, 1, 0, "f3").refused == [
        "SKU「CAP-1」の不良在庫は 0 個です。それより多くは処分できません（1）"
    ]
    assert ledger_problems(read_tables(shop.workbook)) == []


def _m(kind: str, sku: str, units: int, day: int) -> StockMovement:
    return StockMovement(
        移動ID=f"{kind}:{sku}:{day}:{units}",
        日時=datetime(2026, 11, day, 12, tzinfo=JST),
        SKU=sku,
        区分=kind,
        数量=units,
    )


def test_an_order_with_a_return_not_yet_folded_is_not_archived(shop) -> None:
    later = NOW + timedelta(days=40)
    found = find_order(shop.workbook, "R-1", "楽天")
    good = register_return(found, 1, "TEE-1", 1, disposition="良品", reason="x", seen_returned=0, now=later)
    shop.workbook.write(good.job)  # the screen's settle did not run (a sync held the lease)
    bad = register_return(
        find_order(shop.workbook, "R-1", "楽天"),
        2,
        "CAP-1",
        1,
        disposition="不良",
        reason="y",
        seen_returned=0,
        now=later,
    )
    shop.workbook.write(bad.job)
    engine = SyncEngine(shop.workbook, [], SyncSettings(), clock=lambda: later)
    archive_history(engine, Archive(shop.archive_url()), after_days=30)
    assert ("楽天", "R-1") in {(o.mall, o.order_number) for o in read_tables(shop.workbook)["受注"].models()}
    settle_at(shop.workbook, later)
    much_later = later + timedelta(days=31)
    engine = SyncEngine(shop.workbook, [], SyncSettings(), clock=lambda: much_later)
    assert archive_history(engine, Archive(shop.archive_url()), after_days=30).orders == 1  # now it goes
    tables = read_tables(shop.workbook)
    assert ("楽天", "R-1") not in {(o.mall, o.order_number) for o in tables["受注"].models()}
    # 返品入庫 went to the archive inside TEE-1's 繰越; 不良入庫 stays in the ledger (不良在庫).
    assert stock(shop.workbook) == {"TEE-1": (8, 2, 0), "CAP-1": (4, 0, 1)}
    assert [m.kind for m in tables["在庫移動"].models() if (m.mall, m.order_number) == ("楽天", "R-1")] == [
        "不良入庫"
    ]
    settle_at(shop.workbook, much_later)
    assert ledger_problems(read_tables(shop.workbook)) == []
