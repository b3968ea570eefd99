"""The simulated malls (sync/connectors/demo.py): deterministic, paged, stock-aware, shippable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.connectors import DEMO_CHANNELS, ChannelConfigError, channel_settings, connector_module
from sync.connectors.demo import Arrivals, Connector, Settings, order_index, order_number
from sync.errors import MallPayloadError, MallRejected
from sync.models import Order, Shipment, StockLevel
from vocabulary import demo_shop as shop

JST = shop.JST
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=JST)
MALLS = shop.DEMO_MALLS
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Written from each mall's documented format, not from the connector.
NUMBER_FORMATS = {
    "楽天": re.compile(r"338112-(\d{8})-\d{8}"),  # shop id - order date - 8 digits
    "Amazon": re.compile(r"\d{3}-\d{7}-\d{7}"),
    "Yahoo!": re.compile(r"ichigen-store-\d{8}"),
    "Shopify": re.compile(r"#\d+"),
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make(
    tmp_path: Path, mall: str = "楽天", *, clock: Clock | None = None, channel: str = "demo", **options: Any
):
    options.setdefault("seed", 7)
    options.setdefault("orders_per_hour", 20.0)
    settings = Settings(mall=mall, state_dir=tmp_path / "malls", **options)
    return Connector(channel, settings, session=None, project_root=tmp_path, clock=clock or Clock(T0))


def started(tmp_path: Path, mall: str = "楽天", *, now: datetime, **options: Any) -> Connector:
    """A connector first contacted at T0 (epoch T0 - 6h) whose clock now reads `now`."""
    clock = Clock(T0)
    connector = make(tmp_path, mall, clock=clock, **options)
    assert connector.epoch() == T0 - timedelta(hours=6)
    clock.now = now
    return connector


def fetch(connector: Connector, since: str | None, until: datetime) -> list[Order]:
    return [order for page in connector.fetch_orders(since, until=until) for order in page.orders]


def latest(*batches: list[Order]) -> dict[str, Order]:
    """Dedupe by order number, later batches winning, as the engine does."""
    return {o.order_number: o for batch in batches for o in batch}


def listed(mall: str) -> set[tuple[str, str]]:
    rows = shop.demo_shop(T0)["モール商品"]
    return {(str(r["モール商品コード"]), str(r["モールSKU"])) for r in rows if r["モール"] == mall}


# --- settings and registry ---------------------------------------------------------------


def test_demo_channels_build_connectors_with_their_display_names(tmp_path: Path) -> None:
    module = connector_module("demo")
    for channel, section in DEMO_CHANNELS.items():
        parsed = channel_settings(channel, section)
        connector = module.Connector(channel, parsed, session=None, project_root=tmp_path)
        assert (connector.channel, connector.mall) == (channel, section["mall"])
        assert connector.display_name == section["display_name"]
    unnamed = channel_settings("x", {"type": "demo", "mall": "Amazon", "seed": 1})
    assert module.Connector("x", unnamed, session=None, project_root=tmp_path).display_name == "Amazonデモ"


def test_settings_refuse_a_mall_the_demo_does_not_simulate() -> None:
    with pytest.raises(ChannelConfigError, match="デモモールの mall"):
        channel_settings("x", {"type": "demo", "mall": "メルカリ", "seed": 1})
    with pytest.raises(ChannelConfigError, match="cancel_rate"):
        channel_settings("x", {"type": "demo", "mall": "楽天", "seed": 1, "cancel_rate": 2})


# --- determinism -------------------------------------------------------------------------


def test_same_seed_and_epoch_give_identical_orders_and_the_epoch_is_kept(tmp_path: Path) -> None:
    a = make(tmp_path / "a")
    b = make(tmp_path / "b")
    first = fetch(a, None, T0)
    assert first and first == fetch(b, None, T0)

    # A new connector a day later reads the epoch from the state file instead of its clock.
    later = make(tmp_path / "a", clock=Clock(T0 + timedelta(days=1)))
    assert later.epoch() == T0 - timedelta(hours=6)
    assert latest(fetch(later, None, T0)) == latest(first)


_CHILD = """
import json, sys
from datetime import datetime
from pathlib import Path
from sync.connectors.demo import Connector, Settings
now = datetime.fromisoformat(sys.argv[2])
settings = Settings(mall="Amazon", seed=7, orders_per_hour=20, state_dir=Path(sys.argv[1]))
connector = Connector("demo", settings, session=None, project_root=Path(sys.argv[1]), clock=lambda: now)
orders = [o.model_dump(mode="json") for p in connector.fetch_orders(None, until=now) for o in p.orders]
print(json.dumps(orders, ensure_ascii=False))
"""


def test_a_fresh_process_with_another_hash_seed_sees_the_same_orders(tmp_path: Path) -> None:
    here = make(tmp_path, "Amazon")
    expected = [o.model_dump(mode="json") for o in fetch(here, None, T0)]
    later = T0 + timedelta(hours=5)  # only the state file's epoch can reproduce T0's orders
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "malls"), later.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
    ).stdout
    theirs = {o["order_number"]: o for o in json.loads(out)}
    assert expected and all(theirs[o["order_number"]]["ordered_at"] == o["ordered_at"] for o in expected)
    assert [theirs[o["order_number"]]["lines"] for o in expected] == [o["lines"] for o in expected]


def test_different_seeds_give_different_orders(tmp_path: Path) -> None:
    one = fetch(make(tmp_path / "1", seed=1), None, T0)
    two = fetch(make(tmp_path / "2", seed=2), None, T0)
    assert {o.order_number for o in one}.isdisjoint(o.order_number for o in two)
    assert [o.buyer for o in one[:20]] != [o.buyer for o in two[:20]]


# --- arrivals, paging and cursors --------------------------------------------------------


def test_first_contact_finds_backlog_hours_of_orders_and_nothing_from_the_future(tmp_path: Path) -> None:
    clock = Clock(T0)
    connector = make(tmp_path, clock=clock, backlog_hours=6)
    orders = fetch(connector, None, T0)
    assert 60 <= len(orders) <= 200  # about 20/hour for 6 hours
    assert all(T0 - timedelta(hours=6) <= o.ordered_at < T0 for o in orders)
    assert (tmp_path / "malls" / "demo.json").is_file()

    # `until` is capped at the clock, and an earlier `until` hides later arrivals.
    assert fetch(connector, None, T0 + timedelta(days=1)) == orders
    early = fetch(connector, None, T0 - timedelta(hours=3))
    assert early and all(o.ordered_at < T0 - timedelta(hours=3) for o in early)
    assert len(early) < len(orders)


def test_pages_are_oldest_change_first_with_the_last_change_as_cursor(tmp_path: Path) -> None:
    end = T0 + timedelta(days=1)
    connector = started(tmp_path, now=end, cancel_rate=0.2, pending_payment_rate=0.3)
    pages = list(connector.fetch_orders(None, until=end))
    assert len(pages) > 2 and all(0 < len(p.orders) <= 50 for p in pages)
    changes = [o.updated_at for p in pages for o in p.orders]
    assert changes == sorted(changes) and changes[-1] < end
    assert all(p.cursor == p.orders[-1].updated_at.isoformat() for p in pages)

    # Resuming from the first page's cursor gives everything else (start is included).
    resumed = latest(pages[0].orders, fetch(connector, pages[0].cursor, end))
    assert resumed == latest(*(p.orders for p in pages))


def test_fetching_a_window_in_two_parts_equals_fetching_it_at_once(tmp_path: Path) -> None:
    a, b, c = T0, T0 + timedelta(hours=10), T0 + timedelta(days=1)
    connector = started(tmp_path, now=c, cancel_rate=0.2, pending_payment_rate=0.3)
    first, second = fetch(connector, a.isoformat(), b), fetch(connector, b.isoformat(), c)
    assert first and second
    assert all(a <= o.updated_at < b for o in first) and all(b <= o.updated_at < c for o in second)
    assert latest(first, second) == latest(fetch(connector, a.isoformat(), c))


def test_an_unreadable_cursor_or_state_file_is_a_japanese_error(tmp_path: Path) -> None:
    connector = make(tmp_path)
    with pytest.raises(MallRejected, match="カーソル"):
        fetch(connector, "yesterday", T0)
    (tmp_path / "malls" / "demo.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MallPayloadError, match="状態ファイル"):
        fetch(connector, None, T0)


# --- events ------------------------------------------------------------------------------


def test_pending_payments_become_paid_later_as_an_update(tmp_path: Path) -> None:
    split, end = T0, T0 + timedelta(days=2)
    connector = started(tmp_path, "Shopify", now=end, pending_payment_rate=0.5, cancel_rate=0)
    before = fetch(connector, None, split)
    after = latest(fetch(connector, split.isoformat(), end))
    pending = [o for o in before if o.status == "入金待ち"]
    assert pending and all(o.payment_method in shop.PREPAID for o in pending)
    for o in before:  # 新規 straight away unless paid by bank transfer or at a konbini
        prepaid = o.payment_method in shop.PREPAID
        assert o.status == ("入金待ち" if prepaid and o.updated_at == o.ordered_at else "新規")
    for order in pending:
        paid = after[order.order_number]
        assert paid.status == "新規" and paid.payment_method == order.payment_method
        assert split <= paid.updated_at and paid.updated_at > order.ordered_at
        assert (paid.lines, paid.total) == (order.lines, order.total)


def test_cancellations_appear_as_updates_after_the_event(tmp_path: Path) -> None:
    split, end = T0, T0 + timedelta(days=2)
    connector = started(tmp_path, now=end, cancel_rate=0.5, pending_payment_rate=0)
    before = {o.order_number: o for o in fetch(connector, None, split)}
    cancelled = [o for o in fetch(connector, split.isoformat(), end) if o.status == "キャンセル"]
    seen_before = [o for o in cancelled if o.order_number in before]
    assert seen_before, "some orders imported as 新規 must be cancelled later"
    for order in seen_before:
        earlier = before[order.order_number]
        assert earlier.status == "新規" and order.updated_at >= split > earlier.ordered_at
        assert order.note in shop.CANCEL_NOTES and order.lines == earlier.lines
    share = len(cancelled) / len({o.order_number for o in fetch(connector, None, end)})
    assert 0.3 < share < 0.7


# --- the orders themselves ---------------------------------------------------------------


@pytest.mark.parametrize("mall", MALLS)
def test_orders_are_complete_and_their_totals_add_up(tmp_path: Path, mall: str) -> None:
    orders = fetch(make(tmp_path, mall, orders_per_hour=40), None, T0)
    methods = {m for m, _ in shop.PAYMENTS[mall]}
    assert any(len(o.lines) > 1 for o in orders)
    for o in orders:
        subtotal = sum(ln.quantity * ln.unit_price for ln in o.lines)
        assert o.total == subtotal + o.shipping_fee
        remote = o.delivery.address.startswith(("北海道", "沖縄県"))
        assert o.shipping_fee == (0 if subtotal >= 5000 else 770 if remote else 550)
        assert 1 <= len(o.lines) <= 3 and [ln.line_number for ln in o.lines] == list(
            range(1, len(o.lines) + 1)
        )
        assert all(1 <= ln.quantity <= 3 and ln.unit_price > 0 and ln.name for ln in o.lines)
        assert o.payment_method in methods and o.mall == mall
        for person in (o.buyer, o.delivery):
            assert person.name and re.fullmatch(r"\d{3}-\d{4}", person.postcode)
            assert re.fullmatch(r"0\d{1,4}-\d{1,4}-\d{4}", person.phone)
            assert len(person.phone.replace("-", "")) in (10, 11)
        assert o.ordered_at.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("mall", MALLS)
def test_lines_carry_the_malls_codes_and_unknown_items_come_at_the_configured_rate(
    tmp_path: Path, mall: str
) -> None:
    known = listed(mall)
    lines = [ln for o in fetch(make(tmp_path, mall, unknown_sku_rate=0.4), None, T0) for ln in o.lines]
    unknown = [ln for ln in lines if (ln.mall_item_code, ln.mall_sku) not in known]
    assert 0.25 < len(unknown) / len(lines) < 0.55
    carries_seller_sku = mall in ("Amazon", "Shopify")
    assert all((ln.seller_sku == ln.mall_sku) if carries_seller_sku else ln.seller_sku == "" for ln in lines)

    never = fetch(make(tmp_path / "none", mall, unknown_sku_rate=0), None, T0)
    assert all((ln.mall_item_code, ln.mall_sku) in known for o in never for ln in o.lines)


# --- order numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("mall", MALLS)
def test_order_numbers_follow_the_malls_format_and_never_repeat(tmp_path: Path, mall: str) -> None:
    seeded = {str(r["注文番号"]) for r in shop.demo_shop(T0)["受注"]}
    epoch, seed = T0 - timedelta(hours=6), 7
    arrivals = Arrivals(seed, 20.0)
    count = arrivals.count_before(14 * 86400)  # two weeks at 20 an hour
    numbers = [
        order_number(mall, seed, k, epoch + timedelta(seconds=arrivals.seconds[k])) for k in range(count)
    ]
    assert count > 6000 and len(set(numbers)) == count
    assert not seeded & set(numbers)
    assert all(NUMBER_FORMATS[mall].fullmatch(n) for n in numbers)

    fetched = fetch(make(tmp_path, mall, seed=seed), None, T0)
    assert [o.order_number for o in fetched] == numbers[: len(fetched)]
    if mall == "楽天":
        assert all(
            NUMBER_FORMATS[mall].fullmatch(o.order_number)[1] == f"{o.ordered_at:%Y%m%d}" for o in fetched
        )


@settings(max_examples=60, deadline=None)
@given(mall=st.sampled_from(MALLS), seed=st.integers(0, 2**31), k=st.integers(0, 10**7))
def test_an_order_number_leads_back_to_its_order(mall: str, seed: int, k: int) -> None:
    number = order_number(mall, seed, k, T0)
    assert order_index(mall, seed, number) == k
    assert order_index(mall, seed, "x" + number) is None


# --- stock -------------------------------------------------------------------------------


def test_items_pushed_at_zero_are_not_sold_and_earlier_orders_stay_as_they_were(tmp_path: Path) -> None:
    clock = Clock(T0)
    connector = make(tmp_path, "Yahoo!", clock=clock, unknown_sku_rate=0)
    backlog = fetch(connector, None, T0)
    sold = Counter(ln.mall_sku or ln.mall_item_code for o in backlog for ln in o.lines)
    gone = [key for key, _ in sold.most_common(5)]
    scarce = sold.most_common(6)[5][0]
    levels = [
        StockLevel(mall="Yahoo!", sku=f"SKU{i}", mall_item_code=k, mall_sku=k, quantity=0)
        for i, k in enumerate(gone)
    ]
    levels.append(StockLevel(mall="Yahoo!", sku="SCARCE", mall_item_code="x", mall_sku=scarce, quantity=1))
    results = connector.push_stock(levels)
    assert [(r.ok, r.sku, r.quantity) for r in results] == [(True, lv.sku, lv.quantity) for lv in levels]
    assert connector.pushed_stock() == {**dict.fromkeys(gone, 0), scarce: 1}

    clock.now = T0 + timedelta(days=1)
    new = [o for o in fetch(connector, None, clock.now) if o.ordered_at >= T0]
    keys = [(ln.mall_sku or ln.mall_item_code, ln.quantity) for o in new for ln in o.lines]
    assert len(new) > 300 and not {k for k, _ in keys} & set(gone)
    assert any(k == scarce for k, _ in keys) and all(q == 1 for k, q in keys if k == scarce)
    assert fetch(connector, None, T0) == backlog  # a push never rewrites orders already placed


def test_a_push_for_another_mall_is_refused_per_level(tmp_path: Path) -> None:
    connector = make(tmp_path)
    level = StockLevel(
        mall="Amazon", sku="TWL-FACE-WH", mall_item_code="B0X", mall_sku="TWL-FACE-WH", quantity=3
    )
    [result] = connector.push_stock([level])
    assert not result.ok and "Amazon" in result.error and connector.pushed_stock() == {}


# --- shipments ---------------------------------------------------------------------------


def test_a_confirmed_shipment_shows_as_shipped_from_its_time(tmp_path: Path) -> None:
    clock = Clock(T0)
    connector = make(tmp_path, "楽天", clock=clock, cancel_rate=0, pending_payment_rate=0)
    order = fetch(connector, None, T0)[0]
    shipped_at = T0 + timedelta(hours=1)
    clock.now = shipped_at + timedelta(minutes=5)
    shipment = Shipment(
        mall="楽天",
        order_number=order.order_number,
        carrier="ヤマト運輸",
        tracking_number="123456789012",
        shipped_at=shipped_at,
    )
    connector.confirm_shipment(shipment)

    record = make(tmp_path, "楽天", clock=clock).shipments()[order.order_number]
    assert (record["carrier"], record["tracking_number"]) == ("ヤマト運輸", "123456789012")
    assert datetime.fromisoformat(record["shipped_at"]) == shipped_at
    assert order.order_number not in latest(fetch(connector, T0.isoformat(), shipped_at))
    now_shipped = latest(fetch(connector, T0.isoformat(), clock.now))[order.order_number]
    assert now_shipped.status == "出荷済" and now_shipped.updated_at == shipped_at
    assert now_shipped.lines == order.lines


def test_shipments_the_mall_cannot_accept_are_rejected_in_japanese(tmp_path: Path) -> None:
    now = T0 + timedelta(days=2)
    connector = started(tmp_path, "Amazon", now=now, cancel_rate=1, pending_payment_rate=0)
    order = fetch(connector, None, T0)[0]
    base = {"mall": "Amazon", "carrier": "日本郵便", "tracking_number": "1", "shipped_at": now}
    with pytest.raises(MallRejected, match="キャンセル済み"):
        connector.confirm_shipment(Shipment(order_number=order.order_number, **base))
    with pytest.raises(MallRejected, match="注文はありません"):
        connector.confirm_shipment(Shipment(order_number="503-0000000-0000000", **base))
    with pytest.raises(MallRejected, match="注文はありません"):
        connector.confirm_shipment(Shipment(order_number="#1001", **base))
    assert connector.shipments() == {}


def test_with_the_daily_rhythm_orders_follow_the_day_at_the_same_mean_rate(tmp_path: Path) -> None:
    """The embedded demo's malls sell like the seeded history (vocabulary.demo_rhythm): the
    mean rate is orders_per_hour, evenings busy, nights quiet; still a pure function of the
    seed and the epoch (a second connector on the same state sees the same orders)."""
    days = 60
    clock = Clock(T0)
    connector = make(tmp_path, clock=clock, orders_per_hour=2.0, daily_rhythm=True, backlog_hours=24 * days)
    orders = fetch(connector, None, T0)
    arrived = [o.ordered_at for o in orders]
    # Orders whose goods were all out of stock never exist, so count arrivals, not orders.
    epoch = connector.epoch()
    count = connector._arrivals(epoch).count_before((T0 - epoch).total_seconds())
    assert abs(count / days - 48) < 48 * 0.1  # 2 an hour on average
    evenings = sum(t.hour in (20, 21, 22) for t in arrived)
    nights = sum(t.hour in (2, 3, 4) for t in arrived)
    assert evenings > 5 * nights > 0
    again = make(tmp_path, clock=clock, orders_per_hour=2.0, daily_rhythm=True, backlog_hours=24 * days)
    assert [o.order_number for o in fetch(again, None, T0)] == [o.order_number for o in orders]


def test_before_its_first_push_a_mall_shows_sold_out_goods_as_0_and_the_rest_in_stock() -> None:
    from sync.connectors.demo import _shop_tabs, opening_stock

    tabs = _shop_tabs()
    sold_out = set(shop.OUT_OF_STOCK_SKUS + shop.LOW_STOCK_SKUS)
    with_sold_out = sold_out | {
        str(r["セットSKU"]) for r in tabs["セット構成"] if str(r["構成SKU"]) in sold_out
    }
    for mall in shop.DEMO_MALLS:
        opening = opening_stock(mall)
        rows = [r for r in tabs["モール商品"] if r["モール"] == mall]
        zero = {str(r["SKU"]) for r in rows if (str(r["モールSKU"]) or str(r["モール商品コード"])) in opening}
        assert zero == {str(r["SKU"]) for r in rows} & with_sold_out
        assert set(opening.values()) <= {0}


@pytest.mark.parametrize("start", ["2026-12-07T03:00", "2026-12-07T12:30", "2026-12-05T21:00"])
def test_a_fresh_demos_first_sync_sells_nothing_the_shop_does_not_have(tmp_path: Path, start: str) -> None:
    """A new user's first look, with the demo malls the app ships (a day of orders waiting):
    no order short of stock (no 売り越し on ホーム before anyone did anything)."""
    from purchasing.shortages import shortages_in
    from sheets_schema.adapters.sql import SqlWorkbook
    from sheets_schema.book import ensure_tabs
    from tests.shop_fixtures import Clock, open_shop

    live = {
        channel: {k: section[k] for k in ("orders_per_hour", "daily_rhythm", "backlog_hours")}
        for channel, section in DEMO_CHANNELS.items()
    }
    workbook = SqlWorkbook(f"sqlite:///{tmp_path / 'workbook.sqlite3'}")
    ensure_tabs(workbook)
    clock = Clock(datetime.fromisoformat(start).replace(tzinfo=shop.JST))
    made = open_shop(workbook, tmp_path / "malls", clock, **live)
    report = made.engine().run_once()
    assert report.created > 0
    found = shortages_in(made.tables())
    assert [(s.sku, s.short) for s in found] == []
