"""A watch runner's cycle against the fakes over real HTTP: a mall that is slow to answer does not
hold up another mall's import and push (it is committed by a later cycle), and open orders are
re-read a chunk per cycle, the recheck resuming where the last cycle stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sheets_schema.book import read_tables
from sync import state
from sync.connectors.rakuten import Connector as RakutenConnector
from sync.connectors.rakuten import Settings as RakutenSettings
from sync.engine import SyncEngine
from tests.fakes.rakuten_api import DEFAULT_LICENSE, DEFAULT_SECRET, FakeRakuten, Item
from tests.fakes.yahoo_api import FakeYahoo
from tests.test_sync_faults_yahoo import YahooShop, open_yahoo_shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[YahooShop]:
    with FakeYahoo() as fake:
        yield open_yahoo_shop(fake, tmp_path)


def statuses(shop: YahooShop) -> dict[str, str]:
    return {o.order_number: o.status for o in shop.tables()["受注"].models() if o.mall == "Yahoo!"}


def rechecked_at(shop: YahooShop) -> str:
    return state.values(read_tables(shop.workbook)["_システム"]).get(state.recheck_key("yahoo"), "")


def test_a_mall_slow_to_answer_does_not_hold_up_another_malls_import_and_push(shop: YahooShop) -> None:
    with FakeRakuten(clock=shop.clock) as rakuten:
        settings = RakutenSettings.model_validate(
            {
                "type": "rakuten",
                "base_url": rakuten.base_url,
                "service_secret": DEFAULT_SECRET,
                "license_key": DEFAULT_LICENSE,
                "timeout_seconds": 30,
            }
        )
        slow = RakutenConnector("rakuten", settings, session=requests.Session(), project_root=Path("."))
        rakuten.timeout_delay = 3.0
        rakuten.inject("timeout", paths=["/es/2.0/order/searchOrder/"])  # its first answer takes 3 s
        engine = SyncEngine(
            shop.workbook,
            [slow, shop.connector],
            shop.sync,
            clock=shop.clock,
            keep_lease=True,
            fetch_patience=0.2,
        )
        placed = rakuten.add_order([(Item("tenugui", "v1", "手ぬぐい", 1100), 1)], at=shop.clock())
        order = shop.order(("TSH-WH-M", 3))

        report = engine.run_once()
        searches = [r for r in rakuten.requests if "searchOrder" in r.path]
        assert searches and searches[0].status == 0  # 楽天 has not answered yet
        assert [r.channel for r in report.runs] == ["yahoo"]
        assert statuses(shop) == {order: "新規"}
        assert shop.fake.stock["tshirt:tshirt-wh-m"] == 20 - 3 - 2  # pushed meanwhile

        # The next cycle commits 楽天's answer once it came, and asks it again only then.
        for _ in range(100):
            if searches[0].status:
                break
            time.sleep(0.1)
        assert searches[0].status == 200
        report = engine.run_once()
        assert {r.channel: r.created for r in report.runs} == {"rakuten": 1, "yahoo": 0}
        assert len([r for r in rakuten.requests if "searchOrder" in r.path]) == 1  # never asked twice
        mine = [o.order_number for o in shop.tables()["受注"].models() if o.mall == "楽天"]
        assert mine == [placed["orderNumber"]]
        engine.release_lease()


def read_again(shop: YahooShop, since: int, among: list[str]) -> list[str]:
    """The old orders asked with orderInfo after the ``since``-th call."""
    asked = [r.xml.findtext(".//OrderId") for r in shop.fake.of("orderInfo")[since:]]
    return [n for n in asked if n in among]


def test_a_recheck_is_spread_over_cycles_and_resumes_where_it_stopped(shop: YahooShop) -> None:
    engine = SyncEngine(
        shop.workbook, [shop.connector], shop.sync, clock=shop.clock, keep_lease=True, recheck_chunk=2
    )
    old = [shop.order(("TSH-WH-M", 1)) for _ in range(5)]
    engine.run_once()  # imports them
    engine.run_once()  # the first recheck only starts its clock
    started = rechecked_at(shop)
    assert started

    shop.clock.advance(minutes=15)
    new = shop.order(("TSH-NV-M", 1))  # moves the cursor: the old orders are no longer listed
    engine.run_once()  # imports it; the recheck is due, its open orders queued
    assert rechecked_at(shop) == started
    shop.fake.cancel_order(old[0], at=shop.clock())
    shop.fake.cancel_order(old[4], at=shop.clock())
    shop.clock.advance(minutes=1)

    calls = shop.fake.count("orderInfo")
    engine.run_once()  # old[0], old[1]
    assert read_again(shop, calls, old) == old[:2]
    assert statuses(shop)[old[0]] == "キャンセル" and statuses(shop)[old[4]] != "キャンセル"
    assert rechecked_at(shop) == started  # not finished: due again next cycle

    calls = shop.fake.count("orderInfo")
    engine.run_once()  # old[2], old[3]
    assert read_again(shop, calls, old) == old[2:4]
    assert statuses(shop)[old[4]] != "キャンセル"

    calls = shop.fake.count("orderInfo")
    engine.run_once()  # old[4] and the new order: the pass is done
    assert read_again(shop, calls, old) == old[4:]
    assert statuses(shop)[old[4]] == "キャンセル" and statuses(shop)[new] == "新規"
    assert rechecked_at(shop) > started

    calls = shop.fake.count("orderInfo")
    engine.run_once()  # nothing due for recheck_minutes
    assert read_again(shop, calls, old) == []
    engine.release_lease()
