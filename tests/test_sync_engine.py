"""The sync engine on both adapters with the demo malls: imports, replays, staff edits,
cancellations, unknown SKUs, pushes and the ledger identities."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.errors import StaleWorkbookError
from sync.errors import LeaseHeld
from tests.shop_fixtures import Shop, ledger_problems, open_shop, snapshot

# The Sheets- and PostgreSQL-only workbooks, and the hybrid of Sheets (staff tabs) and PostgreSQL.
HARNESS_BACKENDS = (
    "sql",
    "postgresql",
    "google",
    "hybrid",
)  # the two-runner and replay tests on a real server too


@pytest.fixture
def shop(harness, tmp_path: Path) -> Shop:
    return open_shop(harness.workbook, tmp_path / "malls")


def test_first_run_imports_every_demo_mall_and_pushes_then_a_rerun_imports_nothing(shop: Shop) -> None:
    report = shop.engine().run_once()
    imported = {r.mall: r for r in report.runs}
    assert set(imported) == {"楽天", "Amazon", "Yahoo!", "Shopify"}
    assert all(r.created > 0 and r.result == "成功" for r in imported.values())
    assert report.pushes and all(p.ok for p in report.pushes)
    tables = shop.tables()
    assert ledger_problems(tables) == []
    for mall in shop.malls:  # each mall now sells exactly what is available
        available = {s.sku: s.available for s in tables["在庫"].models()}
        listings = [m for m in tables["モール商品"].models() if m.mall == mall.mall and m.stock_sync]
        pushed = mall.pushed_stock()
        assert {pushed[m.mall_sku or m.mall_item_code] for m in listings} <= set(available.values())
        assert all(pushed[m.mall_sku or m.mall_item_code] == available[m.sku] for m in listings)

    before = snapshot(shop.workbook)
    again = shop.engine().run_once()
    assert again.created == 0 and again.movements == 0 and again.pushes == []
    assert sum(r.duplicates_skipped for r in again.runs) > 0  # the overlap window was re-read
    assert snapshot(shop.workbook) == before
    log = tables_log(shop)
    assert [r.result for r in log] == ["成功"] * len(log)


def tables_log(shop: Shop):
    return read_tables(shop.workbook)["同期ログ"].models()


def test_replaying_any_window_changes_nothing(shop: Shop) -> None:
    shop.engine().run_once()
    shop.clock.advance(hours=5)
    shop.engine().run_once()
    before = snapshot(shop.workbook)
    for channel in ("rakuten_demo", "amazon_demo", "yahoo_demo", "shopify_demo"):
        shop.staff_edit("_システム", (f"カーソル:{channel}",), {"値": ""})  # forget every cursor
    report = shop.engine().run_once()
    assert report.created == 0 and report.movements == 0
    assert sum(r.duplicates_skipped for r in report.runs) == sum(r.fetched for r in report.runs) > 50
    assert snapshot(shop.workbook) == before


def test_later_orders_payments_and_cancellations_reach_the_ledger(shop: Shop) -> None:
    shop.engine().run_once()
    open_before = {
        (o.mall, o.order_number) for o in shop.tables()["受注"].models() if o.status in ("新規", "入金待ち")
    }
    shop.clock.advance(hours=30)
    report = shop.engine().run_once()
    assert report.created > 0 and sum(r.updated for r in report.runs) > 0
    tables = shop.tables()
    assert ledger_problems(tables) == []
    cancelled = {
        (o.mall, o.order_number) for o in tables["受注"].models() if o.status == "キャンセル"
    } & open_before
    assert cancelled, "orders imported open were cancelled at the mall later"
    releases = {
        (m.mall, m.order_number)
        for m in tables["在庫移動"].models()
        if m.kind == "引当解除" and m.note == "キャンセル"
    }
    assert cancelled <= releases


def test_a_staff_edit_to_stock_is_kept_even_when_orders_arrive_in_the_same_cycle(shop: Shop) -> None:
    shop.engine().run_once()
    tables = shop.tables()
    busiest = max(tables["在庫"].models(), key=lambda s: s.allocated)
    shop.staff_edit(
        "在庫", (busiest.sku,), {"実在庫": busiest.on_hand + 7, "安全在庫": busiest.safety_stock + 1}
    )
    shop.clock.advance(hours=8)
    shop.engine().run_once()
    tables = shop.tables()
    assert ledger_problems(tables) == []
    moves = [m for m in tables["在庫移動"].models() if m.sku == busiest.sku and "シートで手入力" in m.note]
    assert sorted(m.quantity for m in moves) == [0, 7]
    assert any("安全在庫を" in m.note for m in moves)
    after = next(s for s in tables["在庫"].models() if s.sku == busiest.sku)
    assert after.safety_stock == busiest.safety_stock + 1
    assert after.on_hand == busiest.on_hand + 7  # demo malls never ship: only the edit moved it
    assert after.allocated >= busiest.allocated  # and the new orders were allocated on top


def test_a_status_set_by_staff_moves_stock_and_survives_mall_updates(shop: Shop) -> None:
    shop.engine().run_once()
    tables = shop.tables()
    order = next(o for o in tables["受注"].models() if o.status == "新規" and o.mall_status == "新規")
    lines = [
        line for line in tables["受注明細"].models() if line.order_number == order.order_number and line.sku
    ]
    stock_before = {s.sku: s for s in tables["在庫"].models()}
    shop.staff_edit("受注", (order.mall, order.order_number), {"ステータス": "出荷済"})
    shop.engine().run_once()
    tables = shop.tables()
    assert ledger_problems(tables) == []
    stock_after = {s.sku: s for s in tables["在庫"].models()}
    for line in lines:
        assert stock_after[line.sku].on_hand <= stock_before[line.sku].on_hand - line.quantity
    ships = {m.movement_id for m in tables["在庫移動"].models() if m.kind == "出荷"}
    assert {f"出荷:{order.mall}:{order.order_number}:{line.line_number}" for line in lines} <= ships


def test_an_unknown_sku_is_imported_flagged_and_reallocated_once_mapped(harness, tmp_path: Path) -> None:
    shop = open_shop(harness.workbook, tmp_path / "malls", rakuten_demo={"unknown_sku_rate": 1.0})
    shop.engine().run_once()
    tables = shop.tables()
    flagged = [o for o in tables["受注"].models() if o.mall == "楽天" and "SKU不明" in o.review]
    assert flagged
    unknown = next(line for line in tables["受注明細"].models() if line.mall == "楽天" and line.sku is None)
    assert ledger_problems(tables) == []
    job = WriteJob()
    job.append(
        tables["モール商品"],
        [
            {
                "モール": "楽天",
                "SKU": "TWL-FACE-WH",
                "モール商品コード": unknown.mall_item_code,
                "モールSKU": unknown.mall_sku,
                "在庫連携": "ON",
            }
        ],
    )
    shop.workbook.write(job)
    shop.engine().run_once()
    tables = shop.tables()
    fixed = next(
        line
        for line in tables["受注明細"].models()
        if (line.mall, line.order_number, line.line_number)
        == (unknown.mall, unknown.order_number, unknown.line_number)
    )
    assert fixed.sku == "TWL-FACE-WH"
    order = next(o for o in tables["受注"].models() if o.order_number == unknown.order_number)
    assert f"明細{unknown.line_number}（" not in order.review
    assert ledger_problems(tables) == []


# The lease as a _システム cell that expires; with PostgreSQL (the hybrid too) the lease is the
# server's advisory lock, tested with real processes in test_sync_runners_pg.py.
@pytest.mark.backends("sql", "google")
def test_a_second_runner_is_refused_while_the_lease_is_held(shop: Shop) -> None:
    first = shop.engine(holder="runner-A")
    first.acquire_lease()  # runner A is mid-cycle
    with pytest.raises(LeaseHeld, match="runner-A"):
        shop.engine(holder="runner-B").run_once()
    shop.clock.advance(seconds=shop.sync.lease_seconds + 1)  # A died; its lease runs out
    second = shop.engine(holder="runner-B")
    second.acquire_lease()
    with pytest.raises(LeaseHeld, match="runner-B"):  # A wakes up: it must not write
        first.check_lease(first._read_system(), WriteJob())
    with pytest.raises(LeaseHeld, match="runner-B"):
        first.run_once()
    assert second.run_once().created > 0


def test_two_runners_started_together_never_double_anything(shop: Shop, harness, tmp_path: Path) -> None:
    import threading
    import traceback

    from tests.shop_fixtures import demo_malls

    outcomes: list[str] = []

    def run(name: str) -> None:
        engine = shop.engine(holder=name)
        # Two runners are two processes: each has its own workbook client (an adapter's
        # caches are not shared between threads), and its own mall clients.
        engine.workbook = harness.fresh_workbook()
        engine.connectors = demo_malls(tmp_path / "malls", shop.clock)
        try:
            engine.run_once()
            outcomes.append("done")
        except LeaseHeld:
            outcomes.append("refused")
        except StaleWorkbookError:
            # Google Sheets has no compare-and-set: two runners can both pass the lease check,
            # and then the later job finds the cells it read changed and writes nothing.
            outcomes.append("refused")
        except Exception as exc:  # shown by the assertion below, with where it came from
            print(traceback.format_exc())  # pytest shows it with the failure
            outcomes.append(f"error: {exc!r}")

    threads = [threading.Thread(target=run, args=(f"runner-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) in (["done", "refused"], ["done", "done"])
    tables = shop.tables()
    assert [str(e) for t in tables.values() for e in t.errors] == []  # no duplicate order or movement
    assert ledger_problems(tables) == []


# The harness retypes the tabs as a person would, which on Sheets turns 00901 into 901; each
# adapter's add_columns is in the contract tests (test_workbook_contract.py).
@pytest.mark.backends("sql")
def test_a_cycle_gives_an_older_tab_the_columns_added_since(harness, shop: Shop) -> None:
    """在庫 and _台帳集計 made before 不良在庫 existed: the next cycle adds the column at the end
    of each header (no extra read) and the ledger's identities hold after the next."""
    shop.engine().run_once()
    for title in ("在庫", "_台帳集計"):
        stored = harness.stored(title)
        at = stored[0].index("不良在庫")
        harness.staff_put(title, [[c for i, c in enumerate(row) if i != at] for row in stored])
        assert "不良在庫" not in harness.stored(title)[0]
    shop.engine().run_once()
    assert harness.stored("在庫")[0][-1] == "不良在庫" and harness.stored("_台帳集計")[0][-1] == "不良在庫"
    shop.engine().run_once()
    assert ledger_problems(shop.tables()) == []
