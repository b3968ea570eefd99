"""Property: any interleaving of orders mixing set products and their components (a component
in two sets and sold alone, a set inside a set), cancellations at the mall, shipments marked by
staff, stock and 安全在庫 edits, syncs, crashes at any write and a mall re-sending every order
ends, after one clean sync, with every SKU's 実在庫, 引当数 and 販売可能数, and every set's
販売可能数 at the mall, equal to a reference model kept by hand."""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.state import cursor_key
from tests.fakes.shopify_api import FakeShopify
from tests.set_shop import SETS, open_set_shop
from tests.shop_fixtures import ledger_problems
from tests.shopify_shop import CATALOGUE, ShopifyShop
from tests.test_sync_crash import CrashingWorkbook, Killed

SKUS = [sku for sku, *_ in CATALOGUE]
SET_SKUS = [sku for sku, *_ in SETS]
# The reference's own flattening of tests/set_shop.SETS (SET-NEST holds SET-TSH2).
UNITS = {
    "SET-TSH2": {"TSH-WH-M": 2},
    "SET-GIFT": {"TSH-WH-M": 1, "00123": 2},
    "SET-NEST": {"TSH-WH-M": 2, "TSH-NV-M": 1},
}

sellable = st.sampled_from([*SKUS, *SET_SKUS])
operation = st.one_of(
    st.tuples(st.just("order"), st.lists(st.tuples(sellable, st.integers(1, 3)), min_size=1, max_size=3)),
    st.tuples(
        st.just("order"), st.lists(st.tuples(st.sampled_from(SET_SKUS), st.integers(1, 2)), min_size=1)
    ),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("ship"), st.integers(0, 30)),
    st.tuples(st.just("edit"), st.sampled_from(SKUS), st.integers(0, 40)),
    st.tuples(st.just("safety"), sellable, st.integers(0, 4)),
    st.tuples(st.just("sync")),
    st.tuples(st.just("crash"), st.integers(1, 4), st.booleans()),
    st.tuples(st.just("replay")),
)


@dataclass
class Reference:
    on_hand: Counter[str] = field(default_factory=lambda: Counter({sku: n for sku, _, _, n, _ in CATALOGUE}))
    safety: dict[str, int] = field(
        default_factory=lambda: {**{sku: s for sku, _, _, _, s in CATALOGUE}, **dict.fromkeys(SET_SKUS, 0)}
    )
    orders: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    state: dict[int, str] = field(default_factory=dict)  # "open" | "cancelled" | "shipped"

    def units(self, lines: list[tuple[str, int]]) -> Counter[str]:
        taken: Counter[str] = Counter()
        for sku, quantity in lines:
            for component, per_set in UNITS.get(sku, {sku: 1}).items():
                taken[component] += per_set * quantity
        return taken

    def allocated(self) -> Counter[str]:
        held: Counter[str] = Counter()
        for order_id, lines in self.orders.items():
            if self.state[order_id] == "open":
                held += self.units(lines)
        return held

    def available(self) -> dict[str, int]:
        held = self.allocated()
        free = {sku: max(0, self.on_hand[sku] - held[sku] - self.safety[sku]) for sku in SKUS}
        for set_sku, parts in UNITS.items():
            built = min(free[c] // n for c, n in parts.items())
            free[set_sku] = max(0, built - self.safety[set_sku])
        return free


def apply(shop: ShopifyShop, ref: Reference, op: tuple) -> None:
    kind = op[0]
    ids = list(ref.orders)
    if kind == "order":
        lines = list(dict(op[1]).items())  # one line per SKU, as a mall sends it
        made = shop.order(*lines)
        ref.orders[made["id"]] = lines
        ref.state[made["id"]] = "open"
    elif kind == "cancel" and ids:
        order_id = ids[op[1] % len(ids)]
        if ref.state[order_id] == "open":
            shop.fake.cancel_order(order_id, at=shop.clock())
            ref.state[order_id] = "cancelled"
    elif kind == "ship" and ids:
        order_id = ids[op[1] % len(ids)]
        in_sheet = {o.order_number: o for o in shop.tables()["受注"].models()}
        row = in_sheet.get(str(order_id))
        if ref.state[order_id] == "open" and row is not None and row.status != "キャンセル":
            shop.staff_edit("受注", ("Shopify", str(order_id)), {"ステータス": "出荷済"})
            ref.state[order_id] = "shipped"
            for sku, units in ref.units(ref.orders[order_id]).items():
                ref.on_hand[sku] -= units  # may go below 0 (an edit below what was held)
    elif kind == "edit":
        sku, value = op[1], op[2]
        shown = {s.sku: s.on_hand for s in shop.tables()["在庫"].models()}
        ref.on_hand[sku] += value - shown[sku]
        shop.staff_edit("在庫", (sku,), {"実在庫": value})
    elif kind == "safety":
        ref.safety[op[1]] = op[2]
        shop.staff_edit("在庫", (op[1],), {"安全在庫": op[2]})
    elif kind == "sync":
        shop.engine().run_once()
    elif kind == "crash":
        engine = shop.engine()
        engine.workbook = CrashingWorkbook(shop.workbook, crash_at=op[1], after=op[2])
        with contextlib.suppress(Killed):
            engine.run_once()
        shop.clock.advance(seconds=shop.sync.lease_seconds + 1)
    elif kind == "replay" and shop.tables()["_システム"].find_row((cursor_key("shopify"),)):
        back = (shop.clock() - timedelta(days=90)).isoformat()
        shop.staff_edit("_システム", (cursor_key("shopify"),), {"値": back})
    shop.clock.advance(minutes=1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=20))
def test_sets_components_and_cancellations_end_at_the_reference_stock(operations: list[tuple]) -> None:
    with FakeShopify() as fake, tempfile.TemporaryDirectory() as folder:
        shop = open_set_shop(fake, Path(folder))
        shop.engine().run_once()  # the first count of the shelf
        ref = Reference()
        for op in operations:
            apply(shop, ref, op)
        shop.engine().run_once()
        tables = shop.tables()
        assert ledger_problems(tables) == [], operations
        held, free = ref.allocated(), ref.available()
        rows = {s.sku: s for s in tables["在庫"].models()}
        for sku in SKUS:
            assert (rows[sku].on_hand, rows[sku].allocated) == (ref.on_hand[sku], held[sku]), (
                sku,
                operations,
            )
        for sku in [*SKUS, *SET_SKUS]:
            assert rows[sku].available == free[sku], (sku, operations)
            assert fake.inventory_level(shop.variants[sku].inventory_item_id) == free[sku], (sku, operations)
        for sku in SET_SKUS:  # a set holds nothing itself; the ledger never moves it
            assert (rows[sku].on_hand, rows[sku].allocated) == (0, 0)
        # Only the 安全在庫 audit rows (数量 0) ever name a set in the ledger.
        assert not [m for m in tables["在庫移動"].models() if m.sku in SET_SKUS and m.quantity]
