"""The runner soak (bench/runners_soak.py), short: two real `python -m sync watch` processes on
a PostgreSQL workbook, the lease holder killed with kill -9 every cycle or two while orders,
cancellations and shipments happen at the three mall fakes. Nothing lost, nothing doubled,
every mall showing 販売可能数; and the soak's checks do catch a lost order, a doubled one and a
mall showing another quantity."""

from __future__ import annotations

from pathlib import Path

from bench.runners_soak import MALLS, Options, Placed, Soak, run, verify
from sheets_schema.adapters.sql import SqlWorkbook
from sheets_schema.book import read_tables
from sheets_schema.changes import WriteJob
from sheets_schema.tabs import ORDERS
from tests.shop_fixtures import ledger_problems

SHORT = Options(
    minutes=0.75,
    interval=4.0,
    kill_cycles=(1, 2),
    skus=4,
    stock=6,
    order_every=2.5,
    event_delay=(3.0, 20.0),
    restock_every=10.0,
    restock_units=6,
    settle=240.0,
)


def _checks_catch_faults(soak: Soak) -> None:
    """Plant a lost order, a doubled one and a wrong mall quantity: the checks must say so."""
    assert verify(soak.workbook, soak.malls, soak.market, soak.options.stock)[1] == []
    soak.market.placed.append(Placed("楽天", "123456-20991231-99999999", [("SOAK-01", 1)], "open"))
    orders = read_tables(soak.workbook, [ORDERS])[ORDERS.title]
    job = WriteJob()
    job.append(orders, [orders.models()[0]])
    soak.workbook.write(job)
    sku = soak.malls.skus[0]
    soak.malls.yahoo.stock[f"{sku.yahoo[0]}:{sku.yahoo[1]}"] += 1

    figures, failures = verify(soak.workbook, soak.malls, soak.market, soak.options.stock)
    assert (figures["orders"]["missing"], figures["orders"]["duplicate_keys"]) == (1, 1)
    assert figures["stock"]["mall_shows_other_than_販売可能数"] == 1
    assert any("orders placed but not in 受注" in f for f in failures)
    assert any("duplicate order keys" in f for f in failures)
    assert any(f"Yahoo! {sku.sku}: the mall shows" in f for f in failures)
    soak.market.placed.pop()


def test_a_short_soak_kills_runners_and_loses_and_doubles_nothing(pg_url: str, tmp_path: Path) -> None:
    report = run(SHORT, database_url=pg_url, folder=tmp_path, probe=_checks_catch_faults)
    # The figures are of the state before the faults were planted.
    assert report.failures == []
    figures = report.figures
    runners, orders, stock = figures["runners"], figures["orders"], figures["stock"]
    assert runners["kills"] >= 2
    assert runners["takeover_lease_s"]["max"] <= SHORT.interval + SHORT.slack
    assert runners["runner_processes"] == runners["kills"] + 2
    assert all(orders["placed"][mall] > 0 for mall in MALLS)
    assert orders["in_受注"] == orders["placed"]
    assert (orders["missing"], orders["duplicate_keys"], orders["never_placed"], orders["wrong_status"]) == (
        0,
        0,
        0,
        0,
    )
    assert orders["受注明細_lines"] == orders["lines_placed"]
    assert sum(orders["cancelled_at_mall"].values()) > 0 and sum(orders["shipped_at_mall"].values()) > 0
    assert stock["listings_checked"] == SHORT.skus * len(MALLS)
    assert stock["mall_shows_other_than_販売可能数"] == 0
    assert stock["skus_sold_out"] >= 1
    assert figures["ledger"] == {
        "movements": figures["ledger"]["movements"],
        "movement_ids_twice": 0,
        "ledger_problems": 0,
        "order_lines_not_exactly_once": 0,
        "skus_not_as_happened": 0,
        "row_errors": 0,
    }

    # The database as the soak left it (one doubled order planted by the probe), read here.
    workbook = SqlWorkbook(pg_url)
    try:
        tables = read_tables(workbook)
        orders = tables["受注"]
        mall, number = orders.column("モール"), orders.column("注文番号")
        keys = [(row[mall], row[number]) for row in orders.grid.rows if any(row)]
        placed = sorted((p.mall, p.number) for p in report.placed)
        assert sorted(set(keys)) == placed and len(keys) == len(placed) + 1
        movements = [m.movement_id for m in tables["在庫移動"].models()]
        assert len(movements) == len(set(movements)) == figures["ledger"]["movements"]
    finally:
        workbook.engine.dispose()
    assert ledger_problems(tables) == []
