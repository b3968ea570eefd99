"""Archiving: old 同期ログ rows, closed orders with their lines and ledger state, and old ledger
rows folded into one 繰越 per SKU; copied to typed tables, checked there, then deleted from the
workbook in one job that moves the marks; safe to kill at any point and run again."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from settings import SyncSettings
from sheets_schema.archive import Archive
from sheets_schema.book import read_tables
from sheets_schema.cells import JST
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDER_LINES, ORDER_SETTLEMENTS, ORDERS, STOCK_MOVEMENTS, SYNC_LOG
from sync import state
from sync.archive import archive_history
from sync.engine import SyncEngine
from sync.errors import ArchiveUnavailable
from sync.ledger import EFFECTS
from sync.settlement import LOG_MARK
from sync.state import cursor_key
from tests.fakes.shopify_api import FakeShopify
from tests.shop_fixtures import ledger_problems
from tests.shopify_shop import ShopifyShop, open_shopify_shop
from tests.test_sync_crash import CrashingWorkbook, Killed

HARNESS_BACKENDS = ("sql", "postgresql", "google", "hybrid")  # PostgreSQL: workbook and archive on the server
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
AGES_IN_DAYS = [90, 60, 45, 31, 29, 10, 1]  # oldest first, as the log grows


def _log_row(n: int, age_days: int) -> dict[str, Any]:
    at = NOW - timedelta(days=age_days)
    return {
        "実行ID": f"run-{n}",
        "開始日時": at,
        "終了日時": at,
        "モール": "楽天",
        "処理": "受注取込（rakuten）",
        "取得件数": n,
        "結果": "成功",
    }


def _history(workbook: Any) -> None:
    tables = read_tables(workbook)
    job = WriteJob()
    job.append(tables[SYNC_LOG.title], [_log_row(n, age) for n, age in enumerate(AGES_IN_DAYS)])
    state.put(job, tables["_システム"], LOG_MARK, str(2 + len(AGES_IN_DAYS)), NOW)
    workbook.write(job)


def _engine(workbook: Any) -> SyncEngine:
    return SyncEngine(workbook, [], SyncSettings(lease_seconds=60), clock=lambda: NOW)


def _kept(workbook: Any) -> list[str]:
    return [r.run_id for r in read_tables(workbook)[SYNC_LOG.title].models()]


def test_old_log_rows_move_to_typed_tables_and_the_mark_follows(harness, tmp_path: Path) -> None:
    _history(harness.workbook)
    archive = Archive(harness.archive_url())

    planned = archive_history(_engine(harness.workbook), archive, after_days=30, dry_run=True)
    assert (planned.log_rows, planned.kept_log_rows) == (4, 3)
    assert len(_kept(harness.fresh_workbook())) == 7 and archive.count(SYNC_LOG) == 0

    done = archive_history(_engine(harness.fresh_workbook()), archive, after_days=30)
    assert done.summary().splitlines() == [
        "同期ログ 4 行を履歴データベースへ移しました（ワークブックに残る受注 0 件・同期ログ 3 行）",
        "受注と在庫移動は、一度同期を実行してから移します（台帳の集計がまだありません）",
    ]
    assert _kept(harness.fresh_workbook()) == ["run-4", "run-5", "run-6"]
    rows = sorted(archive.rows(SYNC_LOG), key=lambda r: r["取得件数"])
    assert [(r["実行ID"], r["取得件数"], r["開始日時"]) for r in rows] == [
        (f"run-{n}", n, f"{NOW - timedelta(days=age):%Y-%m-%d %H:%M:%S}")
        for n, age in enumerate(AGES_IN_DAYS[:4])
    ]
    # Typed: one column per header, integers as integers, the key as primary key.
    columns = {c["name"]: c for c in inspect(archive.engine).get_columns("sync_log")}
    assert set(columns) == set(SYNC_LOG.headers)
    assert str(columns["取得件数"]["type"]) == "INTEGER"
    assert inspect(archive.engine).get_pk_constraint("sync_log")["constrained_columns"] == list(SYNC_LOG.key)

    system = {r.key: r.value for r in read_tables(harness.fresh_workbook())["_システム"].models()}
    assert system[LOG_MARK] == str(2 + 3)  # the next cycle appends right after the rows kept
    assert system["同期リース"] == ""
    assert archive_history(_engine(harness.fresh_workbook()), archive, after_days=30).log_rows == 0


class ArchiveKilled(Archive):
    """The real archive database, killed right after the copy committed."""

    def copy(self, spec: Any, rows: Any) -> int:
        super().copy(spec, rows)
        raise Killed


@pytest.mark.parametrize(("n", "after"), [(1, False), (1, True), (2, False), (2, True), (3, False)])
def test_a_pass_killed_at_any_write_then_run_again_keeps_every_row_exactly_once(
    harness, tmp_path: Path, n: int, after: bool
) -> None:
    _history(harness.workbook)
    url = harness.archive_url()
    engine = _engine(CrashingWorkbook(harness.fresh_workbook(), crash_at=n, after=after))
    with contextlib.suppress(Killed):
        archive_history(engine, Archive(url), after_days=30)
    rerun = SyncEngine(
        harness.fresh_workbook(), [], SyncSettings(lease_seconds=60), clock=lambda: NOW + timedelta(minutes=5)
    )
    archive_history(rerun, Archive(url), after_days=30)
    _assert_exactly_once(harness, Archive(url))


def test_a_pass_killed_between_the_copy_and_the_delete_copies_nothing_twice(harness, tmp_path: Path) -> None:
    _history(harness.workbook)
    url = harness.archive_url()
    with contextlib.suppress(Killed):
        archive_history(_engine(harness.fresh_workbook()), ArchiveKilled(url), after_days=30)
    assert len(_kept(harness.fresh_workbook())) == 7  # copied, not yet deleted
    later = SyncEngine(
        harness.fresh_workbook(), [], SyncSettings(lease_seconds=60), clock=lambda: NOW + timedelta(minutes=5)
    )
    archive_history(later, Archive(url), after_days=30)
    _assert_exactly_once(harness, Archive(url))


def _assert_exactly_once(harness: Any, archive: Archive) -> None:
    kept = _kept(harness.fresh_workbook())
    archived = [r["実行ID"] for r in archive.rows(SYNC_LOG)]
    assert sorted(kept + archived) == sorted(f"run-{n}" for n in range(len(AGES_IN_DAYS)))
    assert kept == ["run-4", "run-5", "run-6"]
    system = {r.key: r.value for r in read_tables(harness.fresh_workbook())["_システム"].models()}
    assert int(system[LOG_MARK]) == 2 + len(kept)  # the next cycle appends right after them


# -- closed orders and the ledger


def _shop_with_history(harness: Any, fake: FakeShopify, folder: Path) -> ShopifyShop:
    """Orders shipped, cancelled and still open, a stock count typed by staff, then 40 days."""
    shop = open_shopify_shop(fake, folder, workbook=harness.workbook, archive_url=harness.archive_url())
    shipped = shop.order(("TSH-WH-M", 2), ("00123", 1))
    cancelled = shop.order(("TSH-WH-M", 1))
    shop.order(("00123", 2))  # stays open: it and its ledger rows stay in the workbook
    shop.engine().run_once()
    shop.staff_edit("受注", ("Shopify", str(shipped["id"])), {"ステータス": "出荷済"})
    fake.cancel_order(cancelled["id"], at=shop.clock())
    shop.clock.advance(minutes=1)
    shop.engine().run_once()
    shop.staff_edit("在庫", ("TSH-NV-M",), {"実在庫": 20})
    shop.engine().run_once()
    shop.clock.advance(days=40)
    shop.order(("TSH-WH-M", 1))  # recent
    shop.engine().run_once()
    return shop


def _stock_state(shop: ShopifyShop) -> tuple[Any, ...]:
    tables = shop.tables()
    stock = sorted((s.sku, s.on_hand, s.allocated, s.available) for s in tables["在庫"].models())
    balances = sorted((b.sku, b.on_hand, b.allocated) for b in tables["_台帳集計"].models())
    at_mall = sorted(
        (sku, shop.fake.inventory_level(v.inventory_item_id)) for sku, v in shop.variants.items()
    )
    return stock, balances, at_mall


def test_closed_orders_and_their_ledger_rows_move_and_every_total_stays(harness, tmp_path: Path) -> None:
    with FakeShopify() as fake:
        shop = _shop_with_history(harness, fake, tmp_path)
        before = _stock_state(shop)
        ledger_before = shop.tables()["在庫移動"].models()

        planned = archive_history(shop.engine(), shop.archive, after_days=30, dry_run=True)
        assert (planned.orders, planned.lines) == (2, 3)
        assert shop.archive.count(ORDERS) == 0

        done = archive_history(shop.engine(), shop.archive, after_days=30)

        tables = shop.tables()
        hot = {o.order_number for o in tables["受注"].models()}
        archived = {r["注文番号"] for r in shop.archive.rows(ORDERS)}
        assert (done.orders, done.lines, len(hot), len(archived)) == (2, 3, 2, 2)
        assert not hot & archived
        assert {r["注文番号"] for r in shop.archive.rows(ORDER_LINES)} == archived
        assert {r["注文番号"] for r in shop.archive.rows(ORDER_SETTLEMENTS)} == archived
        assert {(s.mall, s.order_number) for s in tables["_受注在庫"].models()} == {
            ("Shopify", n) for n in hot
        }
        # Old movements of archived orders and the old stock count left; one 繰越 per SKU holds
        # their sum, the open order's old 引当 stays with it.
        ledger = tables["在庫移動"].models()
        moved = {r["移動ID"] for r in shop.archive.rows(STOCK_MOVEMENTS)}
        assert moved == {
            m.movement_id
            for m in ledger_before
            if m.order_number in archived or (not m.order_number and m.at < shop.clock() - timedelta(days=30))
        }
        openings = {m.sku: m.quantity for m in ledger if m.kind == "繰越"}
        expected = Counter()
        for m in ledger_before:
            if m.movement_id in moved:
                expected[m.sku] += EFFECTS[m.kind][0] * m.quantity
        assert openings == dict(expected)
        assert len([m for m in ledger if m.kind == "繰越"]) == len(openings)
        assert ledger_problems(tables) == []
        assert _stock_state(shop) == before

        # The mall sends every order again (a cursor reset): archived orders are not new.
        _resend_everything(shop)
        report = shop.engine().run_once()
        assert (report.created, report.movements) == (0, 0)
        assert sum(r.duplicates_skipped for r in report.runs) >= 2  # the two archived orders
        assert _stock_state(shop) == before
        assert {o.order_number for o in shop.tables()["受注"].models()} == hot

        # Another pass later folds into the same 繰越 rows.
        for number in hot:
            shop.staff_edit("受注", ("Shopify", number), {"ステータス": "出荷済"})
        shop.engine().run_once()
        after_shipping = _stock_state(shop)
        shop.clock.advance(days=31)
        again = archive_history(shop.engine(), shop.archive, after_days=30)
        tables = shop.tables()
        assert again.orders == 2 and tables["受注"].models() == []
        kinds = Counter(m.kind for m in tables["在庫移動"].models())
        assert set(kinds) == {"繰越"} and kinds["繰越"] == len({m.sku for m in ledger_before})
        assert ledger_problems(tables) == []
        assert _stock_state(shop) == after_shipping


@pytest.mark.parametrize(("n", "after"), [(1, False), (1, True), (2, False)])
def test_an_order_pass_killed_then_run_again_moves_each_row_once(
    harness, tmp_path: Path, n: int, after: bool
) -> None:
    with FakeShopify() as fake:
        shop = _shop_with_history(harness, fake, tmp_path)
        before = _stock_state(shop)
        orders_before = {o.order_number for o in shop.tables()["受注"].models()}
        movements_before = {m.movement_id for m in shop.tables()["在庫移動"].models()}
        engine = shop.engine()
        engine.workbook = CrashingWorkbook(shop.workbook, crash_at=n, after=after)
        with contextlib.suppress(Killed):
            archive_history(engine, shop.archive, after_days=30)
        shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
        archive_history(shop.engine(), shop.archive, after_days=30)
        shop.engine().run_once()

        tables = shop.tables()
        hot = [o.order_number for o in tables["受注"].models()]
        archived = [r["注文番号"] for r in shop.archive.rows(ORDERS)]
        assert sorted(hot + archived) == sorted(orders_before) and len(archived) == 2
        kept = {m.movement_id for m in tables["在庫移動"].models() if m.kind != "繰越"}
        moved = [r["移動ID"] for r in shop.archive.rows(STOCK_MOVEMENTS)]
        assert sorted([*kept, *moved]) == sorted(movements_before)
        assert ledger_problems(tables) == []
        assert _stock_state(shop) == before


def test_a_cycle_refuses_to_guess_when_orders_were_archived_but_no_archive_is_configured(
    harness, tmp_path: Path
) -> None:
    with FakeShopify() as fake:
        shop = _shop_with_history(harness, fake, tmp_path)
        archive_history(shop.engine(), shop.archive, after_days=30)
        _resend_everything(shop)
        before = _stock_state(shop)
        with pytest.raises(ArchiveUnavailable, match="履歴データベース"):
            shop.engine(archive=None).run_once()
        assert _stock_state(shop) == before


def _resend_everything(shop: ShopifyShop) -> None:
    """The cursor set back before the first order: the mall sends every order again."""
    old = (shop.clock() - timedelta(days=90)).isoformat()
    shop.staff_edit("_システム", (cursor_key("shopify"),), {"値": old})


def test_an_archive_made_before_a_column_was_added_gains_it_and_keeps_its_rows(tmp_path: Path) -> None:
    """受注 gained タグ and ルール: an older archive's orders table gets them (blank) on open."""
    import sqlalchemy as sa

    from sheets_schema.archive import Archive

    url = f"sqlite:///{tmp_path / 'old-archive.sqlite3'}"
    Archive(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text('ALTER TABLE orders DROP COLUMN "タグ"'))
        conn.execute(sa.text('ALTER TABLE orders DROP COLUMN "ルール"'))
        conn.execute(
            sa.text("""INSERT INTO orders ("モール", "注文番号", "合計金額") VALUES ('楽天', '1', 100)""")
        )
    reopened = Archive(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("orders")}
        row = conn.execute(sa.text('SELECT "注文番号", "タグ" FROM orders')).one()
    assert {"タグ", "ルール"} <= columns and tuple(row) == ("1", None)
    assert reopened.tables["受注"].c["タグ"] is not None


@pytest.mark.backends("sql", "postgresql")
def test_each_buyers_first_archived_order_is_kept_and_built_for_an_older_archive(harness) -> None:
    """For 受注ルール's 初回購入: the archive knows when each buyer (phone or own mail) first
    ordered, written with the orders it copies, built once for an archive made before it."""
    from sqlalchemy import text

    from sheets_schema.archive_buyers import BUYER_FIRST
    from sheets_schema.models import Order

    def order(number: str, at: datetime, phone: str, mail: str = "") -> Order:
        return Order.model_validate(
            {"モール": "楽天", "注文番号": number, "注文日時": at, "ステータス": "出荷済", "合計金額": 1000,
             "電話番号": phone, "メールアドレス": mail}
        )  # fmt: skip

    early, late = NOW - timedelta(days=200), NOW - timedelta(days=100)
    archive = Archive(harness.archive_url())
    archive.copy(ORDERS, [order("A-2", late, "090-1111-2222", "taro@example.jp")])
    archive.copy(ORDERS, [order("A-1", early, "０９０１１１１２２２２")])  # the same phone, earlier
    archive.copy(ORDERS, [order("B-1", late, "", "hanako@FW.RAKUTEN.NE.JP")])  # a relay: no buyer
    expected = {"tel:09011112222": early, "mail:taro@example.jp": late}
    asked = [*expected, "tel:08000000000", "mail:hanako@fw.rakuten.ne.jp"]
    assert archive.first_orders(asked) == expected
    with archive.engine.begin() as conn:  # an archive made before the table existed
        conn.execute(text(f"DROP TABLE {BUYER_FIRST}"))
    rebuilt = Archive(harness.archive_url())
    assert inspect(rebuilt.engine).has_table(BUYER_FIRST)
    assert rebuilt.first_orders(asked) == expected
    with rebuilt.engine.connect() as conn:  # digests, not one more list of phone numbers
        stored = [row[0] for row in conn.execute(text(f"SELECT key FROM {BUYER_FIRST}"))]
    assert len(stored) == 2 and not any("090" in k or "@" in k for k in stored)
