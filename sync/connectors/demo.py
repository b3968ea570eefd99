"""A simulated mall, so the embedded default shows a living shop without any mall account.

Each ``[malls.<channel>]`` with ``type = "demo"`` is one mall (楽天デモ, Amazonデモ, …) that sells
the demo shop's catalogue (``vocabulary.demo_shop``) under that mall's own item codes.

Everything about order k is a pure function of (seed, k) and, for its lines, the stock pushed to
the mall before the order arrived:

- arrivals: order k arrives at ``epoch + gap_0 + … + gap_k``, exponential gaps drawn from a
  ``random.Random`` seeded by (seed, k) only; ``epoch`` is the first contact time minus
  ``backlog_hours`` (so the first sync imports something), kept in a small JSON state file;
- lines: picked by weight from the items whose last pushed quantity *before the arrival* is
  > 0, quantities capped at that quantity. Never pushed = in stock, except what the demo shop
  has sold out or nearly (``opening_stock``: 0, as the shop had set it at the mall by hand), so
  the backlog a fresh demo imports does not sell what the shop does not have. Because pushes are stamped
  with the clock and only earlier pushes count, an order's lines never change once it exists.
  The demo mall does not decrement its own stock between pushes: sync frequency bounds overselling.
  If nothing order k would sell is in stock, order k does not exist (its number is never used);
- numbers: the mall's own format, one-to-one with k, skipping the seeded 受注's numbers;
- events: payment (入金待ち -> 新規) and cancellation happen some hours after arrival; a
  shipment recorded by ``confirm_shipment`` makes it 出荷済. The first of キャンセル/出荷済 wins.

The state file (``<state_dir>/<channel>.json``) holds only the epoch, the push history and the
shipments; it is rewritten atomically. One writer at a time is assumed (last write wins).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import tempfile
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field, field_validator

from sync.connectors.base import ChannelSettings, OrderPage
from sync.errors import MallPayloadError, MallRejected
from sync.models import Address, ListingRef, LiveQuantity, Order, OrderLine, PushResult, Shipment, StockLevel
from vocabulary import demo_rhythm
from vocabulary import demo_shop as shop

JST = shop.JST
PAGE_SIZE = 50
STATE_VERSION = 1
# Listings and seeded order numbers do not depend on demo_shop's `now`; any fixed time will do.
_SHOP_REFERENCE_TIME = datetime(2026, 1, 10, 12, 0, tzinfo=JST)


class Settings(ChannelSettings):
    type: Literal["demo"] = "demo"
    seed: int
    orders_per_hour: float = Field(3.0, gt=0, le=1000)
    # On first contact the mall already has this many hours of orders.
    backlog_hours: float = Field(6.0, ge=0, le=24 * 90)
    # Orders follow the shop's day (vocabulary.demo_rhythm: night low, evening peak) around
    # the mean orders_per_hour, instead of arriving at a constant rate.
    daily_rhythm: bool = False
    # Share of orders from the demo shop's regular customers (vocabulary.demo_shop), so the
    # same people come back across malls; 0 = every buyer new.
    repeat_rate: float = Field(0.0, ge=0, le=1)
    state_dir: Path = Path("data/demo_malls")  # relative to the project folder
    unknown_sku_rate: float = Field(0.02, ge=0, le=1)
    cancel_rate: float = Field(0.05, ge=0, le=1)
    pending_payment_rate: float = Field(0.1, ge=0, le=1)

    @field_validator("mall")
    @classmethod
    def _demo_mall(cls, mall: str) -> str:
        if mall not in shop.DEMO_MALLS:
            raise ValueError(f"デモモールの mall は {'、'.join(shop.DEMO_MALLS)} のいずれかです")
        return mall


# --- what each mall sells ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    item_code: str  # モール商品コード
    mall_sku: str  # モールSKU; "" for Yahoo! items without options
    seller_sku: str  # only where the mall carries the seller's own SKU
    name: str
    price: int  # tax-included yen
    weight: int  # relative popularity

    @property
    def key(self) -> str:
        """What a stock push addresses: the variant when the mall has one, else the item."""
        return self.mall_sku or self.item_code


# Malls whose order lines carry the seller's SKU: Amazon's seller SKU, Shopify's variant SKU.
SELLER_SKU_MALLS = ("Amazon", "Shopify")

# Listed at the mall but not in モール商品 (staff added them at the mall only), so the engine
# meets an unknown item: (item code, mall SKU, title, price).
UNREGISTERED_ITEMS: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "楽天": (("fukubukuro-2026", "fukubukuro-2026", "【数量限定】暮らしの福袋 2026", 5500),),
    "Amazon": (("B0DFK7W2NQ", "FUKU-2026", "【数量限定】暮らしの福袋 2026", 5500),),
    "Yahoo!": (("fukubukuro-2026", "", "【数量限定】暮らしの福袋 2026", 5500),),
    "Shopify": (("8876543211007", "FUKU-2026", "【数量限定】暮らしの福袋 2026", 5500),),
}


@cache
def _shop_tabs() -> dict[str, list[shop.Row]]:
    return shop.demo_shop(_SHOP_REFERENCE_TIME)


def _popularity() -> dict[str, int]:
    weights = {
        f"{p.base}-{suffix}" if suffix else p.base: p.popularity
        for p in shop.PARENTS
        for suffix, _ in p.variants
    }
    return {**weights, **{s.sku: s.popularity for s in shop.SETS}}  # sets sell like any item


@cache
def catalogue(mall: str) -> tuple[Item, ...]:
    """The mall's listings of the demo catalogue, from demo_shop's モール商品 rows."""
    tabs = _shop_tabs()
    products = {str(r["SKU"]): r for r in tabs["商品"]}
    weights = _popularity()
    items = []
    for row in tabs["モール商品"]:
        if row["モール"] != mall:
            continue
        sku, mall_sku = str(row["SKU"]), str(row["モールSKU"])
        product = products[sku]
        items.append(
            Item(
                item_code=str(row["モール商品コード"]),
                mall_sku=mall_sku,
                seller_sku=mall_sku if mall in SELLER_SKU_MALLS else "",
                name=str(product["商品名"]),
                price=int(product["販売価格"]),
                weight=weights[sku],
            )
        )
    return tuple(items)


@cache
def unregistered_items(mall: str) -> tuple[Item, ...]:
    return tuple(
        Item(code, sku, sku if mall in SELLER_SKU_MALLS else "", name, price, 1)
        for code, sku, name, price in UNREGISTERED_ITEMS[mall]
    )


# --- order numbers -----------------------------------------------------------------------
# Order k gets the k-th free "slot" (slots used by demo_shop's seeded orders are skipped), and a
# slot maps one-to-one onto the number's digits, so numbers never repeat nor collide with the
# seeded 受注. 楽天 and Amazon numbers look random: an affine map modulo 10**digits (the
# multiplier is coprime with 10, so the map is a bijection). Yahoo! and Shopify count up.

SCRAMBLED: dict[str, tuple[int, int]] = {  # mall -> (modulus, multiplier)
    "楽天": (10**8, 73_939_133),
    "Amazon": (10**14, 48_271_000_000_007),
}
SEQUENCE_START = {"Yahoo!": shop.YAHOO_FIRST, "Shopify": shop.SHOPIFY_FIRST}
NUMBER_PATTERNS = {  # mall -> pattern whose groups, joined, are the slot value's digits
    "楽天": re.compile(rf"{shop.RAKUTEN_SHOP_ID}-\d{{8}}-(\d{{8}})"),
    "Amazon": re.compile(r"\d{3}-(\d{7})-(\d{7})"),
    "Yahoo!": re.compile(rf"{re.escape(shop.YAHOO_STORE)}-(\d+)"),
    "Shopify": re.compile(r"#(\d+)"),
}


def _number_value(mall: str, number: str) -> int | None:
    match = NUMBER_PATTERNS[mall].fullmatch(number)
    return int("".join(match.groups())) if match else None


def _offset(mall: str, seed: int) -> int:
    return random.Random(f"ichigen-demo:{seed}:numbers").randrange(SCRAMBLED[mall][0])


def _slot_value(mall: str, seed: int, slot: int) -> int:
    if mall in SCRAMBLED:
        modulus, multiplier = SCRAMBLED[mall]
        return (multiplier * slot + _offset(mall, seed)) % modulus
    return SEQUENCE_START[mall] + slot


def _value_slot(mall: str, seed: int, value: int) -> int:
    if mall in SCRAMBLED:
        modulus, multiplier = SCRAMBLED[mall]
        return (value - _offset(mall, seed)) * pow(multiplier, -1, modulus) % modulus
    return value - SEQUENCE_START[mall]


@cache
def _reserved_slots(mall: str, seed: int) -> tuple[int, ...]:
    """Slots whose numbers demo_shop's seeded orders already use, sorted."""
    values = {
        _number_value(mall, str(row["注文番号"])) for row in _shop_tabs()["受注"] if row["モール"] == mall
    }
    return tuple(sorted(s for v in values if v is not None and (s := _value_slot(mall, seed, v)) >= 0))


def _slot(mall: str, seed: int, k: int) -> int:
    """The k-th slot (from 0) that is not reserved."""
    slot = k
    for reserved in _reserved_slots(mall, seed):
        if reserved > slot:
            break
        slot += 1
    return slot


def order_number(mall: str, seed: int, k: int, ordered_at: datetime) -> str:
    """Order k's number in the mall's own format."""
    value = _slot_value(mall, seed, _slot(mall, seed, k))
    if mall == "楽天":  # shop id, order date, 8 digits: 338112-20261118-00068801
        return f"{shop.RAKUTEN_SHOP_ID}-{ordered_at.astimezone(JST):%Y%m%d}-{value:08d}"
    if mall == "Amazon":  # 503-1234567-1234567
        digits = f"{value:014d}"
        prefix = shop.AMAZON_PREFIXES[value % len(shop.AMAZON_PREFIXES)]
        return f"{prefix}-{digits[:7]}-{digits[7:]}"
    if mall == "Yahoo!":  # store account + serial: ichigen-store-10000123
        return f"{shop.YAHOO_STORE}-{value}"
    return f"#{value}"  # Shopify order name


def order_index(mall: str, seed: int, number: str) -> int | None:
    """The k whose number this could be (callers check it against order_number)."""
    value = _number_value(mall, number)
    if value is None:
        return None
    slot = _value_slot(mall, seed, value)
    reserved = _reserved_slots(mall, seed)
    at = bisect_left(reserved, slot)
    if slot < 0 or (at < len(reserved) and reserved[at] == slot):
        return None
    return slot - at


# --- arrivals ----------------------------------------------------------------------------


def _rng(seed: int, k: int, stream: str) -> random.Random:
    # String seeds are hashed with SHA-512, so they give the same stream in every process.
    return random.Random(f"ichigen-demo:{seed}:{k}:{stream}")


def arrival_gap(seed: int, k: int, orders_per_hour: float) -> float:
    """Seconds between order k-1 (or the epoch) and order k."""
    return _rng(seed, k, "gap").expovariate(orders_per_hour / 3600)


class Arrivals:
    """Whole seconds from the epoch at which each order arrives, extended as time goes on.

    With a ``rhythm`` (seconds from the epoch -> rate relative to the mean, at most ``peak``)
    the arrivals follow the day: candidates come at ``peak`` times the mean rate and candidate
    j is kept with probability rhythm(t_j) / peak, drawn from (seed, j) only (thinning), so
    the orders are still a pure function of the seed and the epoch."""

    def __init__(
        self,
        seed: int,
        orders_per_hour: float,
        rhythm: Callable[[float], float] | None = None,
        peak: float = 1.0,
    ) -> None:
        self.seed, self.rate = seed, orders_per_hour
        self.rhythm, self.peak = rhythm, peak if rhythm is not None else 1.0
        self._total = 0.0
        self._candidates = 0
        self.seconds: list[int] = []

    def _next(self) -> None:
        self._total += arrival_gap(self.seed, self._candidates, self.rate * self.peak)
        j, self._candidates = self._candidates, self._candidates + 1
        if self.rhythm is None or _rng(self.seed, j, "keep").random() * self.peak < self.rhythm(self._total):
            self.seconds.append(math.floor(self._total))

    def count_before(self, seconds: float) -> int:
        """How many orders arrived strictly before `seconds` after the epoch."""
        # Stop at the first candidate at or after ceil(seconds): every later one is too.
        while self._total < math.ceil(seconds):
            self._next()
        return bisect_left(self.seconds, math.ceil(seconds))

    def first_at_or_after(self, seconds: float) -> int:
        self.count_before(seconds)
        return bisect_left(self.seconds, math.ceil(seconds))


# --- one order ---------------------------------------------------------------------------

LINE_COUNTS = ((1, 2, 3), (70, 22, 8))
QUANTITIES = ((1, 2, 3), (75, 18, 7))
GIFT_RATE, NOTE_RATE, BUILDING_RATE, MOBILE_RATE = 0.12, 0.12, 0.4, 0.7
PAYMENT_DELAY_HOURS = (1.0, 30.0)  # bank transfer / konbini paid this long after ordering
CANCEL_DELAY_HOURS = (0.5, 24.0)
# An order's last scheduled event (payment or cancellation) is at most this long after arrival.
MAX_EVENT_DELAY = timedelta(hours=max(PAYMENT_DELAY_HOURS[1], CANCEL_DELAY_HOURS[1]))
TERMINAL = ("出荷済", "キャンセル")

# Item key -> last quantity pushed before the order arrived (or its opening stock); keys absent
# are in stock.
Stock = Mapping[str, int]
NO_PUSHES: Stock = MappingProxyType({})


@cache
def opening_stock(mall: str) -> Stock:
    """What the mall shows before Ichigen's first push: 0 for the listings of what the demo shop
    has sold out or nearly (``demo_shop.least_free_stock`` 0; sets containing them too), as a
    shop sets a mall to 0 by hand before it has a 一元管理 tool; every other listing in stock."""
    tabs = _shop_tabs()
    least = shop.least_free_stock()
    sets: dict[str, list[str]] = {}
    for row in tabs["セット構成"]:
        sets.setdefault(str(row["セットSKU"]), []).append(str(row["構成SKU"]))
    return MappingProxyType(
        {
            str(row["モールSKU"]) or str(row["モール商品コード"]): 0
            for row in tabs["モール商品"]
            if row["モール"] == mall
            and any(least.get(c, 1) == 0 for c in sets.get(str(row["SKU"]), [str(row["SKU"])]))
        }
    )


@dataclass(frozen=True)
class Plan:
    """Order k as the mall created it, and when its scheduled events happen."""

    index: int
    order: Order  # at arrival: 新規 or 入金待ち
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_note: str


@dataclass(frozen=True)
class Shipped:
    at: datetime
    carrier: str
    tracking_number: str


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10**n):0{n}d}"


def _person(rng: random.Random) -> Address:
    """A fictitious customer; draws the same number of values whatever the outcome."""
    name = f"{rng.choice(shop.FAMILY_NAMES)} {rng.choice(shop.GIVEN_NAMES)}"
    postcode, town, area = rng.choice(shop.ADDRESSES)
    address = f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"
    building = f" {rng.choice(shop.BUILDINGS)} {rng.randint(1, 9)}0{rng.randint(1, 9)}"
    if rng.random() < BUILDING_RATE:
        address += building
    mobile = f"{rng.choice(('090', '080', '070'))}-{_digits(rng, 4)}-{_digits(rng, 4)}"
    mid = 10 - len(area) - 4  # Japanese landlines have 10 digits
    landline = f"{area}-{rng.randint(2, 9)}{_digits(rng, mid - 1)}-{_digits(rng, 4)}"
    phone = mobile if rng.random() < MOBILE_RATE else landline
    # Derived, not drawn: every other value of the order stays as it was.
    email = f"customer{''.join(c for c in phone if c.isdigit())[-8:]}@example.jp"
    return Address(name=name, postcode=postcode, address=address, phone=phone, email=email)


def _payment(rng: random.Random, mall: str, pending: bool) -> str:
    """Prepaid methods (銀行振込, コンビニ決済) are exactly the ones that start 入金待ち."""
    pairs = [(m, w) for m, w in shop.PAYMENTS[mall] if (m in shop.PREPAID) == pending]
    return rng.choices([m for m, _ in pairs], weights=[w for _, w in pairs])[0]


def _weighted(items: Sequence[Item], roll: float) -> Item:
    cumulative = list(accumulate(i.weight for i in items))
    return items[bisect_right(cumulative, roll * cumulative[-1])]


def _in_stock(items: tuple[Item, ...], stock: Stock) -> tuple[Item, ...]:
    if 0 not in stock.values():  # the usual case, worth skipping the filter for
        return items
    return tuple(i for i in items if stock.get(i.key) != 0)


def _lines(rng: random.Random, settings: Settings, stock: Stock) -> tuple[OrderLine, ...]:
    """1-3 distinct items in stock at arrival. Each slot draws the same four numbers whatever
    the stock, so stock only changes the items it has to."""
    listed = _in_stock(catalogue(settings.mall), stock)
    unregistered = unregistered_items(settings.mall)
    count = rng.choices(*LINE_COUNTS)[0]
    picked: list[tuple[Item, int]] = []
    for _ in range(count):
        unknown, unknown_roll, pick_roll = rng.random(), rng.random(), rng.random()
        quantity = rng.choices(*QUANTITIES)[0]
        if unknown < settings.unknown_sku_rate:
            pool = _in_stock((unregistered[int(unknown_roll * len(unregistered))],), stock)
        else:
            pool = listed
        if picked:
            taken = {item.key for item, _ in picked}
            pool = tuple(i for i in pool if i.key not in taken)
        if not pool:
            continue
        item = _weighted(pool, pick_roll)
        picked.append((item, min(quantity, stock.get(item.key, quantity))))
    return tuple(
        OrderLine(
            line_number=n,
            mall_item_code=item.item_code,
            mall_sku=item.mall_sku,
            seller_sku=item.seller_sku,
            name=item.name,
            quantity=quantity,
            unit_price=item.price,
        )
        for n, (item, quantity) in enumerate(picked, start=1)
    )


def shipping_fee(subtotal: int, delivery: Address) -> int:
    if subtotal >= shop.FREE_SHIPPING_FROM:
        return 0
    remote = delivery.address.startswith(shop.REMOTE_PREFECTURES)
    return shop.REMOTE_SHIPPING_FEE if remote else shop.SHIPPING_FEE


def plan_order(settings: Settings, k: int, ordered_at: datetime, stock: Stock = NO_PUSHES) -> Plan | None:
    """Order k arriving at `ordered_at`; None when nothing it would sell is in stock."""
    rng = _rng(settings.seed, k, "order")
    pending = rng.random() < settings.pending_payment_rate
    payment = _payment(rng, settings.mall, pending)
    buyer, other = _person(rng), _person(rng)
    regular = shop.regular_customer(_rng(settings.seed, k, "regular"), settings.repeat_rate)
    if regular is not None:  # its own stream: every other value of the order stays as it was
        name, postcode, address, phone = regular
        email = f"customer{''.join(c for c in phone if c.isdigit())[-8:]}@example.jp"
        buyer = Address(name=name, postcode=postcode, address=address, phone=phone, email=email)
    gift, noted = rng.random() < GIFT_RATE, rng.random() < NOTE_RATE
    gift_note, order_note = rng.choice(shop.GIFT_NOTES), rng.choice(shop.ORDER_NOTES)
    paid_after = timedelta(hours=rng.uniform(*PAYMENT_DELAY_HOURS))
    cancelled = rng.random() < settings.cancel_rate
    cancelled_after = timedelta(hours=rng.uniform(*CANCEL_DELAY_HOURS))
    cancel_note = rng.choice(shop.CANCEL_NOTES)

    lines = _lines(_rng(settings.seed, k, "lines"), settings, stock)
    if not lines:
        return None
    delivery = other if gift else buyer
    subtotal = sum(ln.quantity * ln.unit_price for ln in lines)
    fee = shipping_fee(subtotal, delivery)
    ordered_at = ordered_at.astimezone(JST).replace(microsecond=0)
    order = Order(
        mall=settings.mall,
        order_number=order_number(settings.mall, settings.seed, k, ordered_at),
        ordered_at=ordered_at,
        updated_at=ordered_at,
        status="入金待ち" if pending else "新規",
        payment_method=payment,
        buyer=buyer,
        delivery=delivery,
        total=subtotal + fee,
        shipping_fee=fee,
        note=gift_note if gift else order_note if noted else "",
        lines=lines,
    )
    return Plan(
        index=k,
        order=order,
        paid_at=_whole_seconds(ordered_at + paid_after) if pending else None,
        cancelled_at=_whole_seconds(ordered_at + cancelled_after) if cancelled else None,
        cancel_note=cancel_note,
    )


def order_as_of(plan: Plan, until: datetime, shipped: Shipped | None = None) -> Order | None:
    """The order with every event before `until` applied; None if it has not arrived yet."""
    order = plan.order
    if order.ordered_at >= until:
        return None
    events: list[tuple[datetime, int, str, str]] = []  # (time, tie-break, status, note)
    if plan.paid_at is not None:
        events.append((plan.paid_at, 1, "新規", order.note))
    if plan.cancelled_at is not None:
        events.append((plan.cancelled_at, 2, "キャンセル", plan.cancel_note))
    if shipped is not None:
        events.append((shipped.at, 3, "出荷済", order.note))
    status, note, updated = order.status, order.note, order.updated_at
    for at, _, new_status, new_note in sorted(events):
        if at >= until or status in TERMINAL:
            break
        status, note, updated = new_status, new_note, at
    return order.model_copy(update={"status": status, "note": note, "updated_at": updated})


# --- state file --------------------------------------------------------------------------


def _jst(value: datetime) -> datetime:
    """Aware JST time; naive times are taken to be JST already."""
    return value.replace(tzinfo=JST) if value.tzinfo is None else value.astimezone(JST)


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _now_jst() -> datetime:
    return datetime.now(JST)


def new_state(channel: str, mall: str, epoch: datetime) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "channel": channel,
        "mall": mall,
        "epoch": epoch.isoformat(),
        "stock": {},  # item key -> [[pushed at, quantity], ...], appended when it changes
        "shipments": {},  # order number -> {index, carrier, tracking_number, shipped_at, ...}
    }


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class StockHistory:
    """What was pushed to the mall and when, over its opening stock, answered as of a moment."""

    def __init__(self, raw: Mapping[str, list[list[Any]]], opening: Stock = NO_PUSHES) -> None:
        pushes = sorted(
            (datetime.fromisoformat(at), key, int(q)) for key, rows in raw.items() for at, q in rows
        )
        self._times = [at for at, _, _ in pushes]
        self._pushes = pushes
        self._opening = opening
        self._snapshots: dict[int, Stock] = {0: opening}

    def at(self, when: datetime) -> Stock:
        """Quantities after every push at or before `when` (shared between orders: read only)."""
        n = bisect_right(self._times, when)
        if n not in self._snapshots:
            pushed = {key: q for _, key, q in self._pushes[:n]}
            self._snapshots[n] = MappingProxyType({**self._opening, **pushed})
        return self._snapshots[n]


# --- the connector -----------------------------------------------------------------------


class Connector:
    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        session: Any = None,  # unused: nothing goes over the network
        project_root: Path | str = ".",
        clock: Callable[[], datetime] = _now_jst,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.mall = settings.mall
        self.display_name = settings.display_name or f"{settings.mall}デモ"
        self.state_path = Path(project_root) / settings.state_dir / f"{channel.replace(os.sep, '_')}.json"
        self._clock = clock
        self._arrivals_by_epoch: dict[datetime, Arrivals] = {}

    # -- state

    def _now(self) -> datetime:
        return _jst(self._clock())

    def _load(self) -> dict[str, Any]:
        """The state file, created on first contact with the epoch backlog_hours ago."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            datetime.fromisoformat(state["epoch"])
        except FileNotFoundError:
            epoch = _whole_seconds(self._now() - timedelta(hours=self.settings.backlog_hours))
            state = new_state(self.channel, self.mall, epoch)
            write_json_atomically(self.state_path, state)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MallPayloadError(
                f"{self.display_name}の状態ファイル {self.state_path} を読めません"
                f"（{exc.__class__.__name__}）。削除するとデモモールを最初からやり直せます"
            ) from exc
        return state

    def epoch(self) -> datetime:
        return datetime.fromisoformat(self._load()["epoch"])

    def pushed_stock(self) -> dict[str, int]:
        """Item key (mall SKU, else item code) -> last pushed quantity."""
        return {key: int(rows[-1][1]) for key, rows in self._load()["stock"].items() if rows}

    def shipments(self) -> dict[str, dict[str, Any]]:
        """Order number -> the recorded shipment (carrier, tracking_number, shipped_at, …)."""
        return dict(self._load()["shipments"])

    # -- orders

    def _arrivals(self, epoch: datetime) -> Arrivals:
        """The arrivals for this state file's epoch (the rhythm needs the wall clock)."""
        arrivals = self._arrivals_by_epoch.get(epoch)
        if arrivals is None:
            rhythm = None
            if self.settings.daily_rhythm:
                rhythm = lambda seconds: demo_rhythm.weight(epoch + timedelta(seconds=seconds))  # noqa: E731
            arrivals = Arrivals(self.settings.seed, self.settings.orders_per_hour, rhythm, demo_rhythm.PEAK)
            self._arrivals_by_epoch = {epoch: arrivals}
        return arrivals

    def _ordered_at(self, epoch: datetime, k: int) -> datetime:
        return epoch + timedelta(seconds=self._arrivals(epoch).seconds[k])

    def _plan(self, epoch: datetime, stock: StockHistory, k: int) -> Plan | None:
        ordered_at = self._ordered_at(epoch, k)
        return plan_order(self.settings, k, ordered_at, stock.at(ordered_at))

    def fetch_orders(self, since: str | None, *, until: datetime) -> Iterator[OrderPage]:
        """Orders whose latest change is in [since, until), oldest change first, 50 a page.

        `until` is capped at the clock: the mall cannot report what has not happened yet. No
        page is yielded when nothing changed.
        """
        state = self._load()
        epoch = datetime.fromisoformat(state["epoch"])
        start = epoch if since is None else _parse_cursor(since)
        end = min(_jst(until), self._now())
        if end <= start:
            return
        stock = StockHistory(state["stock"], opening_stock(self.mall))
        arrived = self._arrivals(epoch).count_before((end - epoch).total_seconds())
        first = self._arrivals(epoch).first_at_or_after((start - MAX_EVENT_DELAY - epoch).total_seconds())
        shipped = _shipped_by_index(state["shipments"])
        candidates = set(range(first, arrived)) | {k for k in shipped if k < arrived}
        changed: list[tuple[datetime, int, Order]] = []
        for k in candidates:
            plan = self._plan(epoch, stock, k)
            order = order_as_of(plan, end, shipped.get(k)) if plan else None
            if order is not None and start <= order.updated_at:
                changed.append((order.updated_at, k, order))
        changed.sort(key=lambda c: c[:2])
        for at in range(0, len(changed), PAGE_SIZE):
            orders = [order for _, _, order in changed[at : at + PAGE_SIZE]]
            yield OrderPage(orders=orders, cursor=orders[-1].updated_at.isoformat())

    # -- stock

    def push_stock(self, levels: Sequence[StockLevel]) -> list[PushResult]:
        """Records each quantity; later orders only sell items whose last push was > 0."""
        state = self._load()
        pushed_at = self._now().isoformat()
        results, changed = [], False
        for level in levels:
            if level.mall != self.mall:
                error = f"{self.display_name}に「{level.mall}」の在庫は送れません"
                results.append(
                    PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=False, error=error)
                )
                continue
            history = state["stock"].setdefault(level.mall_sku or level.mall_item_code, [])
            if not history or history[-1][1] != level.quantity:  # only changes: the file stays small
                history.append([pushed_at, level.quantity])
                changed = True
            results.append(PushResult(mall=self.mall, sku=level.sku, quantity=level.quantity, ok=True))
        if changed:
            write_json_atomically(self.state_path, state)
        return results

    # -- live stock (reconciliation)

    def read_stock(self, listings: Sequence[ListingRef]) -> list[LiveQuantity]:
        """What the demo mall shows: the last quantity pushed (0 before the first push)."""
        pushed = self.pushed_stock()
        return [
            LiveQuantity(listing=ref, quantity=pushed.get(ref.mall_sku or ref.mall_item_code, 0))
            if ref.mall == self.mall
            else LiveQuantity(listing=ref, error=f"{self.display_name}に「{ref.mall}」の商品はありません")
            for ref in listings
        ]

    # -- shipments

    def _find(self, state: dict[str, Any], number: str, now: datetime) -> Plan | None:
        epoch = datetime.fromisoformat(state["epoch"])
        k = order_index(self.mall, self.settings.seed, number)
        arrived = self._arrivals(epoch).count_before((now - epoch).total_seconds())
        if k is None or k >= arrived:
            return None
        if order_number(self.mall, self.settings.seed, k, self._ordered_at(epoch, k)) != number:
            return None
        return self._plan(epoch, StockHistory(state["stock"], opening_stock(self.mall)), k)

    def confirm_shipment(self, shipment: Shipment) -> None:
        """Records carrier, tracking number and time; the order then shows as 出荷済."""
        number = shipment.order_number
        if shipment.mall != self.mall:
            raise MallRejected(f"{self.display_name}に「{shipment.mall}」の注文の出荷は登録できません")
        state = self._load()
        now = self._now()
        plan = self._find(state, number, now)
        if plan is None:
            raise MallRejected(f"{self.display_name}に注文番号 {number} の注文はありません")
        shipped = Shipped(_jst(shipment.shipped_at), shipment.carrier, shipment.tracking_number)
        if shipped.at < plan.order.ordered_at:
            raise MallRejected(f"注文番号 {number} の出荷日時が注文日時より前です")
        known = {ln.line_number for ln in plan.order.lines}
        if missing := sorted({n for n, _ in shipment.lines} - known):
            raise MallRejected(f"注文番号 {number} に明細番号 {'、'.join(map(str, missing))} はありません")
        # Judged as of the later of now and the shipment time, so a cancellation before the
        # shipment always refuses it and one after it never happens.
        horizon = max(now, shipped.at) + timedelta(seconds=1)
        if (order := order_as_of(plan, horizon, shipped)) and order.status == "キャンセル":
            raise MallRejected(f"注文番号 {number} はキャンセル済みのため出荷を登録できません")
        state["shipments"][number] = {
            "index": plan.index,
            "carrier": shipped.carrier,
            "tracking_number": shipped.tracking_number,
            "shipped_at": shipped.at.isoformat(),
            "lines": [list(pair) for pair in shipment.lines],
            "recorded_at": now.isoformat(),
        }
        write_json_atomically(self.state_path, state)


def _parse_cursor(cursor: str) -> datetime:
    try:
        return _jst(datetime.fromisoformat(cursor))
    except ValueError as exc:
        raise MallRejected(f"デモモールの取得位置（カーソル）「{cursor}」が日時ではありません") from exc


def _shipped_by_index(shipments: dict[str, dict[str, Any]]) -> dict[int, Shipped]:
    return {
        int(s["index"]): Shipped(datetime.fromisoformat(s["shipped_at"]), s["carrier"], s["tracking_number"])
        for s in shipments.values()
    }
