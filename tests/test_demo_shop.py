"""Consistency checks for the deterministic demo shop (vocabulary/demo_shop.py)."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.connectors import DEMO_CHANNELS
from vocabulary import demo_rhythm
from vocabulary.demo_shop import (
    DEMO_MALLS,
    HISTORY_HOURS,
    INITIAL_STOCK_DAYS,
    ORDER_WINDOW_DAYS,
    SETS,
    demo_shop,
)

HISTORY_DAYS = HISTORY_HOURS / 24

JST = ZoneInfo("Asia/Tokyo")
# Set products (セット商品) hold no stock and are not bought: tests of the stock-holding catalogue
# leave them out; test_set_products checks them.
SET_SKUS = {s.sku for s in SETS}
NOW = datetime(2026, 11, 20, 15, 30, 12, tzinfo=JST)

EXPECTED_HEADERS = {
    "商品": [
        "SKU",
        "商品名",
        "販売価格",
        "原価",
        "JANコード",
        "仕入先",
        "発注点",
        "発注ロット",
        "リードタイム日数",
        "メモ",
        "棚番",
    ],
    "在庫": ["SKU", "実在庫", "引当数", "安全在庫", "販売可能数", "更新日時"],
    "モール商品": ["モール", "SKU", "モール商品コード", "モールSKU", "在庫連携"],
    "受注": [
        "モール",
        "注文番号",
        "注文日時",
        "ステータス",
        "支払方法",
        "購入者名",
        "送付先氏名",
        "郵便番号",
        "住所",
        "電話番号",
        "合計金額",
        "送料",
        "備考",
        "更新日時",
    ],
    "受注明細": ["モール", "注文番号", "明細番号", "SKU", "商品名", "数量", "単価"],
    "在庫移動": [
        "移動ID",
        "日時",
        "SKU",
        "区分",
        "数量",
        "モール",
        "注文番号",
        "明細番号",
        "備考",
    ],
    "仕入先": ["仕入先", "担当者", "メールアドレス", "電話番号", "リードタイム日数", "メモ"],
    "発注": ["発注番号", "仕入先", "発注日", "入荷予定日", "ステータス", "備考", "送信日時", "更新日時"],
    "発注明細": ["発注番号", "明細番号", "SKU", "数量", "単価", "入荷数", "備考"],
    "セット構成": ["セットSKU", "構成SKU", "数量", "メモ"],
}
INT_COLUMNS = {
    "商品": ("販売価格", "原価", "発注点", "発注ロット", "リードタイム日数"),
    "在庫": ("実在庫", "引当数", "安全在庫", "販売可能数"),
    "受注": ("合計金額", "送料"),
    "受注明細": ("明細番号", "数量", "単価"),
    "在庫移動": ("数量",),
    "仕入先": ("リードタイム日数",),
    "発注明細": ("明細番号", "数量", "単価", "入荷数"),
    "セット構成": ("数量",),
}
TIME_COLUMNS = {"在庫": ("更新日時",), "受注": ("注文日時", "更新日時"), "在庫移動": ("日時",)}
ORDER_NUMBER = {
    "楽天": re.compile(r"^\d{6}-(\d{8})-\d{8}$"),  # shape of contracts/rakuten/examples
    "Amazon": re.compile(r"^\d{3}-\d{7}-\d{7}$"),
    "Yahoo!": re.compile(r"^[a-z0-9-]+-\d{8}$"),
    "Shopify": re.compile(r"^#\d{4,}$"),
}
MALL_CODE = {
    "楽天": re.compile(r"^[a-z0-9_-]{1,32}$"),
    "Amazon": re.compile(r"^B0[0-9A-Z]{8}$"),
    "Yahoo!": re.compile(r"^[a-z0-9-]+$"),
    "Shopify": re.compile(r"^[1-9]\d{9,}$"),
}
OPEN = {"新規", "入金待ち", "発送待ち", "保留"}
ALL_STATUSES = OPEN | {"出荷済", "キャンセル"}


@pytest.fixture(scope="module")
def shop() -> dict[str, list[dict[str, str | int]]]:
    return demo_shop(NOW)


def _parse(value: str | int) -> datetime:
    assert isinstance(value, str)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", value), value
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=JST)


def _jan_ok(code: str) -> bool:
    digits = [int(c) for c in code]
    weighted = sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return (10 - weighted % 10) % 10 == digits[12]


def _by_sku(rows: list[dict[str, str | int]]) -> dict[str, dict[str, str | int]]:
    return {str(r["SKU"]): r for r in rows}


def test_deterministic_and_no_global_random() -> None:
    random.seed(7)
    expected_next = random.random()
    random.seed(7)
    first = demo_shop(NOW)
    assert random.random() == expected_next  # global random state untouched
    assert demo_shop(NOW) == first
    assert demo_shop(NOW.astimezone(ZoneInfo("UTC"))) == first
    later = demo_shop(NOW + timedelta(days=3))
    assert later != first  # times follow `now`
    assert len(later["受注"]) == len(first["受注"])


def test_headers_exact(shop) -> None:
    assert list(shop) == list(EXPECTED_HEADERS)
    for tab, headers in EXPECTED_HEADERS.items():
        assert shop[tab], tab
        for row in shop[tab]:
            assert list(row) == headers, (tab, row)


def test_value_types(shop) -> None:
    for tab, rows in shop.items():
        ints = INT_COLUMNS.get(tab, ())
        for row in rows:
            for col, value in row.items():
                if col in ints and not (row.get("SKU") in SET_SKUS and value == ""):
                    assert type(value) is int, (tab, col, value)
                elif tab == "在庫移動" and col == "明細番号":
                    assert value == "" or type(value) is int, value
                else:
                    assert isinstance(value, str), (tab, col, value)


def _stocked(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["SKU"] not in SET_SKUS]


def test_products(shop) -> None:
    skus = [str(r["SKU"]) for r in _stocked(shop["商品"])]
    assert 38 <= len(skus) <= 42
    assert len(set(skus)) == len(skus)
    zero_led = [s for s in skus if s[0] == "0"]
    assert len(zero_led) >= 3 and all(re.fullmatch(r"0\d+(-\d+)?", s) for s in zero_led)
    jans = [str(r["JANコード"]) for r in shop["商品"]]
    assert "" in jans and len(set(j for j in jans if j)) == len([j for j in jans if j])
    for row in _stocked(shop["商品"]):
        jan, price, cost = str(row["JANコード"]), int(row["販売価格"]), int(row["原価"])
        if jan:
            assert re.fullmatch(r"4[59]\d{11}", jan) and _jan_ok(jan), jan
        assert 300 <= price <= 20000 and 0.35 <= cost / price <= 0.55, row
        assert row["発注点"] > 0 and row["発注ロット"] > 0 and row["リードタイム日数"] > 0
        assert row["商品名"] and row["仕入先"]
    assert not _jan_ok("4901234567895") and _jan_ok("4901234567894")  # checker sanity


def test_mall_listings(shop) -> None:
    skus = {str(r["SKU"]) for r in shop["商品"]}
    rows = shop["モール商品"]
    pairs = [(r["モール"], r["SKU"]) for r in rows]
    assert len(set(pairs)) == len(pairs)
    per_mall = defaultdict(set)
    for r in rows:
        mall = str(r["モール"])
        assert mall in DEMO_MALLS and r["SKU"] in skus
        assert r["在庫連携"] in ("ON", "OFF")
        assert MALL_CODE[mall].fullmatch(str(r["モール商品コード"])), r
        per_mall[mall].add(r["SKU"])
        if mall in ("Amazon", "Shopify"):
            assert r["モールSKU"] == r["SKU"]
        elif mall == "楽天":
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", str(r["モールSKU"]))
    assert per_mall["楽天"] == skus and per_mall["Shopify"] == skus
    for mall in ("Amazon", "Yahoo!"):
        assert len(skus) * 0.8 <= len(per_mall[mall]) < len(skus)
    asins = [r["モール商品コード"] for r in rows if r["モール"] == "Amazon"]
    assert len(set(asins)) == len(asins)
    assert 1 <= sum(r["在庫連携"] == "OFF" for r in rows) <= 8


def test_orders(shop) -> None:
    orders = shop["受注"]
    # The live demo malls' rate over the days the seeded history covers (demo_rhythm).
    assert abs(len(orders) - sum(demo_rhythm.DAILY_ORDERS.values()) * HISTORY_DAYS) <= 4
    malls = Counter(o["モール"] for o in orders)
    assert set(malls) == set(DEMO_MALLS) and malls.most_common(1)[0][0] == "楽天"
    keys = [(o["モール"], o["注文番号"]) for o in orders]
    assert len(set(keys)) == len(keys)
    statuses = Counter(o["ステータス"] for o in orders)
    assert set(statuses) == ALL_STATUSES
    assert 0.02 <= statuses["キャンセル"] / len(orders) <= 0.1
    assert statuses["出荷済"] > len(orders) / 2
    for o in orders:
        match = ORDER_NUMBER[str(o["モール"])].fullmatch(str(o["注文番号"]))
        assert match, o["注文番号"]
        ordered, updated = _parse(o["注文日時"]), _parse(o["更新日時"])
        assert ordered <= updated <= NOW
        assert NOW - timedelta(days=ORDER_WINDOW_DAYS) <= ordered
        if o["モール"] == "楽天":
            assert match.group(1) == ordered.strftime("%Y%m%d")
        assert re.fullmatch(r"\d{3}-\d{4}", str(o["郵便番号"]))
        assert re.fullmatch(r"0\d{1,4}-\d{1,4}-\d{4}", str(o["電話番号"]))
        assert len(str(o["電話番号"]).replace("-", "")) in (10, 11)
        assert o["購入者名"] and o["送付先氏名"] and o["住所"] and o["支払方法"]
        if o["ステータス"] in ("保留", "キャンセル"):
            assert o["備考"], o
        if o["ステータス"] == "入金待ち":
            assert o["支払方法"] in ("銀行振込", "コンビニ決済")
    assert any(o["送付先氏名"] != o["購入者名"] for o in orders)  # gifts
    assert _parse(orders[0]["注文日時"]) < _parse(orders[-1]["注文日時"])
    # Most old orders are shipped, the newest ones are not.
    old = [o for o in orders if _parse(o["注文日時"]) < NOW - timedelta(days=10)]
    assert sum(o["ステータス"] == "出荷済" for o in old) >= 0.85 * len(old)
    assert orders[-1]["ステータス"] in OPEN


def test_order_lines_and_totals(shop) -> None:
    products = _by_sku(shop["商品"])
    listed = {(r["モール"], r["SKU"]) for r in shop["モール商品"]}
    orders = {(o["モール"], o["注文番号"]): o for o in shop["受注"]}
    by_order = defaultdict(list)
    for ln in shop["受注明細"]:
        key = (ln["モール"], ln["注文番号"])
        assert key in orders, key
        product = products[str(ln["SKU"])]
        assert (ln["モール"], ln["SKU"]) in listed
        assert ln["商品名"] == product["商品名"] and ln["単価"] == product["販売価格"]
        assert 1 <= int(ln["数量"]) <= 3
        by_order[key].append(ln)
    assert set(by_order) == set(orders)
    for key, order in orders.items():
        rows = by_order[key]
        assert [r["明細番号"] for r in rows] == list(range(1, len(rows) + 1))
        assert 1 <= len(rows) <= 3
        assert len({r["SKU"] for r in rows}) == len(rows)
        subtotal = sum(int(r["数量"]) * int(r["単価"]) for r in rows)
        assert order["合計金額"] == subtotal + order["送料"]
        assert order["送料"] == 0 if subtotal >= 5000 else order["送料"] in (550, 770)


def test_ledger(shop) -> None:
    ledger, skus = shop["在庫移動"], [str(r["SKU"]) for r in _stocked(shop["商品"])]
    ids = [m["移動ID"] for m in ledger]
    assert len(set(ids)) == len(ids)
    times = [_parse(m["日時"]) for m in ledger]
    assert times == sorted(times)
    assert all(NOW - timedelta(days=INITIAL_STOCK_DAYS) <= t <= NOW for t in times)
    assert {m["区分"] for m in ledger} <= {"入庫", "出荷", "引当", "引当解除", "手動調整"}
    initial = [m for m in ledger if m["区分"] == "入庫" and not str(m["移動ID"]).startswith("入荷:")]
    assert sorted(m["SKU"] for m in initial) == sorted(skus)
    for m in initial:
        assert m["移動ID"] == f"入庫:初期:{m['SKU']}" and m["備考"] == "初期在庫"
        assert int(m["数量"]) > 0 and _parse(m["日時"]) == NOW - timedelta(days=INITIAL_STOCK_DAYS)
    for m in ledger:
        if m["区分"] != "手動調整":
            assert int(m["数量"]) > 0, m

    moves = {m["移動ID"]: m for m in ledger}
    orders = {(o["モール"], o["注文番号"]): o for o in shop["受注"]}
    expected_order_moves = 0
    for ln in shop["受注明細"]:
        order = orders[(ln["モール"], ln["注文番号"])]
        key = f"{ln['モール']}:{ln['注文番号']}:{ln['明細番号']}"
        kinds = ["引当"]
        if order["ステータス"] == "出荷済":
            kinds += ["出荷", "引当解除"]
        elif order["ステータス"] == "キャンセル":
            kinds += ["引当解除"]
            assert moves[f"引当解除:{key}"]["備考"] == "キャンセル"
        for kind in kinds:
            m = moves[f"{kind}:{key}"]
            assert (m["区分"], m["SKU"], m["数量"]) == (kind, ln["SKU"], ln["数量"])
            assert (m["モール"], m["注文番号"], m["明細番号"]) == (
                ln["モール"],
                ln["注文番号"],
                ln["明細番号"],
            )
            when = order["注文日時"] if kind == "引当" else order["更新日時"]
            assert m["日時"] == when
        expected_order_moves += len(kinds)
    assert sum(m["注文番号"] != "" for m in ledger) == expected_order_moves


def test_stock_matches_ledger(shop) -> None:
    stock, products = _by_sku(_stocked(shop["在庫"])), _by_sku(_stocked(shop["商品"]))
    assert set(stock) == set(products) and len(_stocked(shop["在庫"])) == len(products)
    on_hand: Counter[str] = Counter()
    allocated: Counter[str] = Counter()
    for m in shop["在庫移動"]:  # replay in order: never negative
        sku, qty = str(m["SKU"]), int(m["数量"])
        delta = {"入庫": qty, "出荷": -qty, "手動調整": qty}.get(str(m["区分"]), 0)
        on_hand[sku] += delta
        allocated[sku] += {"引当": qty, "引当解除": -qty}.get(str(m["区分"]), 0)
        assert on_hand[sku] >= 0 and allocated[sku] >= 0, m
    open_units: Counter[str] = Counter()
    statuses = {(o["モール"], o["注文番号"]): o["ステータス"] for o in shop["受注"]}
    for ln in shop["受注明細"]:
        if statuses[(ln["モール"], ln["注文番号"])] in OPEN:
            open_units[str(ln["SKU"])] += int(ln["数量"])
    for sku, row in stock.items():
        assert row["実在庫"] == on_hand[sku]
        assert row["引当数"] == allocated[sku] == open_units[sku]
        assert 1 <= int(row["安全在庫"]) <= 5
        expected_free = max(0, on_hand[sku] - allocated[sku] - int(row["安全在庫"]))
        assert row["販売可能数"] == expected_free
        assert row["更新日時"] == "2026-11-20 15:30:12"
    low = [s for s in stock if stock[s]["実在庫"] <= products[s]["発注点"]]
    empty = [s for s in stock if stock[s]["実在庫"] == 0]
    assert 3 <= len(low) <= 8 and 1 <= len(empty) <= 2
    assert sum(open_units.values()) > 0


# -- purchasing: suppliers, 発注 history, receipts, 棚番


def test_every_demo_row_fits_the_workbook_contract(shop) -> None:
    from sheets_schema.tabs import TAB_BY_TITLE

    for tab, rows in shop.items():
        spec = TAB_BY_TITLE[tab]
        assert set(EXPECTED_HEADERS[tab]) <= set(spec.headers), tab
        for row in rows:
            spec.model.model_validate({k: v for k, v in row.items() if v != ""})


def test_suppliers_cover_the_catalogue(shop) -> None:
    names = [str(s["仕入先"]) for s in shop["仕入先"]]
    assert len(set(names)) == len(names)
    assert {str(p["仕入先"]) for p in _stocked(shop["商品"])} == set(names)
    for s in shop["仕入先"]:
        assert re.fullmatch(r"[a-z0-9.-]+@[a-z0-9.-]+\.example\.jp", str(s["メールアドレス"])), s
        assert s["担当者"] and re.fullmatch(r"0\d{1,4}-\d{1,4}-\d{4}", str(s["電話番号"]))
        leads = {p["リードタイム日数"] for p in _stocked(shop["商品"]) if p["仕入先"] == s["仕入先"]}
        assert leads == {s["リードタイム日数"]}


def test_the_purchase_history_tells_one_consistent_story(shop) -> None:
    products, stock = _by_sku(shop["商品"]), _by_sku(shop["在庫"])
    leads = {s["仕入先"]: int(s["リードタイム日数"]) for s in shop["仕入先"]}
    orders = {str(o["発注番号"]): o for o in shop["発注"]}
    statuses = Counter(o["ステータス"] for o in orders.values())
    assert statuses["入荷済"] >= 2 and statuses["一部入荷"] == statuses["発注済"] == statuses["下書き"] == 1
    lines = defaultdict(list)
    for line in shop["発注明細"]:
        lines[str(line["発注番号"])].append(line)
        product = products[str(line["SKU"])]
        assert line["単価"] == product["原価"]
        assert product["仕入先"] == orders[str(line["発注番号"])]["仕入先"]
        assert 0 <= int(line["入荷数"]) <= int(line["数量"])
        assert int(line["数量"]) % int(product["発注ロット"]) == 0  # whole lots
    for number, order in orders.items():
        ordered = datetime.strptime(str(order["発注日"]), "%Y-%m-%d").replace(tzinfo=JST)
        assert number == f"PO-{ordered:%Y%m%d}-01"
        assert ordered.date() <= NOW.date() and _parse(order["更新日時"]) <= NOW
        expected = ordered + timedelta(days=leads[order["仕入先"]])
        assert order["入荷予定日"] == f"{expected:%Y-%m-%d}"
        assert [ln["明細番号"] for ln in lines[number]] == list(range(1, len(lines[number]) + 1))
        received = [int(ln["入荷数"]) for ln in lines[number]]
        full = [int(ln["入荷数"]) == int(ln["数量"]) for ln in lines[number]]
        if order["ステータス"] == "入荷済":
            assert all(full)
        elif order["ステータス"] == "一部入荷":
            assert any(received) and not all(full)
        else:
            assert not any(received)
    # The out-of-stock mug whose メモ says it was ordered is on the waiting 発注; the 下書き is
    # for goods running low.
    (waiting,) = [n for n, o in orders.items() if o["ステータス"] == "発注済"]
    assert "MUG-ARITA-AI" in {ln["SKU"] for ln in lines[waiting]}
    (draft,) = [n for n, o in orders.items() if o["ステータス"] == "下書き"]
    assert any(stock[str(ln["SKU"])]["実在庫"] <= products[str(ln["SKU"])]["発注点"] for ln in lines[draft])


def test_each_receipt_is_one_movement_as_receiving_writes_it(shop) -> None:
    moves = {str(m["移動ID"]): m for m in shop["在庫移動"]}
    receipts = {k: m for k, m in moves.items() if k.startswith("入荷:")}
    expected = set()
    orders = {str(o["発注番号"]): o for o in shop["発注"]}
    for line in shop["発注明細"]:
        if int(line["入荷数"]):
            move_id = f"入荷:{line['発注番号']}:{line['明細番号']}:0+{line['入荷数']}"
            expected.add(move_id)
            m = receipts[move_id]
            assert (m["区分"], m["SKU"], m["数量"]) == ("入庫", line["SKU"], line["入荷数"])
            assert str(orders[str(line["発注番号"])]["発注日"]) <= str(m["日時"])[:10]
    assert set(receipts) == expected


def test_every_product_has_its_own_shelf(shop) -> None:
    shelves = [str(p["棚番"]) for p in _stocked(shop["商品"])]
    assert all(re.fullmatch(r"[A-E]-\d{2}-\d", s) for s in shelves)
    assert len(set(shelves)) == len(shelves)


def test_the_seeded_history_sells_at_the_live_demo_malls_rate_and_rhythm(shop) -> None:
    """分析 compares like with like: the seeded orders per day and per mall are the demo malls'
    own rates, the history stops where the malls' backlog starts, and evenings outsell nights."""
    orders = shop["受注"]
    ordered = [_parse(o["注文日時"]) for o in orders]
    assert max(ordered) <= NOW - timedelta(hours=demo_rhythm.LIVE_BACKLOG_HOURS)
    per_mall = Counter(o["モール"] for o in orders)
    for channel in DEMO_CHANNELS.values():
        daily = channel["orders_per_hour"] * 24
        assert abs(per_mall[channel["mall"]] / HISTORY_DAYS - daily) <= 0.1, channel["mall"]
        assert channel["daily_rhythm"] and channel["backlog_hours"] == demo_rhythm.LIVE_BACKLOG_HOURS
    # Two halves of the window sell alike (no growth spike; Poisson noise only).
    middle = NOW - timedelta(days=ORDER_WINDOW_DAYS / 2)
    older, newer = sum(t < middle for t in ordered), sum(t >= middle for t in ordered)
    assert 0.75 < newer / older < 1.33
    evenings = sum(t.hour in (20, 21, 22) for t in ordered)
    nights = sum(t.hour in (2, 3, 4) for t in ordered)
    assert evenings > 5 * nights


def test_set_products(shop) -> None:
    """A 3足セット of one socks SKU and a gift set of two towels, listed at every mall; their
    在庫 rows hold nothing and show what the components can build."""
    parts = Counter((str(r["セットSKU"]), str(r["構成SKU"]), r["数量"]) for r in shop["セット構成"])
    assert parts == Counter(
        {
            ("SOX-RIB-3P", "SOX-RIB-NV-M", 3): 1,
            ("TWL-GIFT-SET", "TWL-FACE-WH", 1): 1,
            ("TWL-GIFT-SET", "TWL-BATH-WH", 1): 1,
        }
    )
    products, stock = _by_sku(shop["商品"]), _by_sku(shop["在庫"])
    assert set(products) >= SET_SKUS and set(stock) >= SET_SKUS
    for sku in SET_SKUS:
        assert {r["モール"] for r in shop["モール商品"] if r["SKU"] == sku} == set(DEMO_MALLS)
        assert (stock[sku]["実在庫"], stock[sku]["引当数"]) == (0, 0)
        assert not [m for m in shop["在庫移動"] if m["SKU"] == sku]
        assert not [ln for ln in shop["受注明細"] if ln["SKU"] == sku]
    assert stock["SOX-RIB-3P"]["販売可能数"] == stock["SOX-RIB-NV-M"]["販売可能数"] // 3
    towels = min(stock["TWL-FACE-WH"]["販売可能数"], stock["TWL-BATH-WH"]["販売可能数"])
    assert stock["TWL-GIFT-SET"]["販売可能数"] == towels > 0


@pytest.mark.parametrize("days", [0, 3, 40, 200])
def test_least_free_stock_holds_whenever_the_demo_is_made(days: int) -> None:
    """The demo malls' opening stock relies on it (sync/connectors/demo.py opening_stock)."""
    from vocabulary.demo_shop import LOW_STOCK_SKUS, OUT_OF_STOCK_SKUS, least_free_stock

    now = NOW + timedelta(days=days, hours=days * 7)
    stock = {str(r["SKU"]): int(r["販売可能数"]) for r in demo_shop(now)["在庫"]}
    least = least_free_stock()
    assert least and all(stock[sku] >= units for sku, units in least.items())
    assert {sku for sku, units in least.items() if units == 0} == set(OUT_OF_STOCK_SKUS + LOW_STOCK_SKUS)
