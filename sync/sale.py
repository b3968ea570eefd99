"""Sale mode (セール): during a sale window each mall is sent a policy's quantity instead of the
plain 販売可能数, so several malls selling the last units at once do not sell more than is on
the shelf.

Why: every mall sells from the last quantity it was sent until the next push reaches it. With
the same 販売可能数 shown at three malls, the last unit of a fast seller can be sold at two of
them inside one cycle (bench/sale_sim.py: ~60–80 oversold units per 10k orders at a 60 s cycle
in a two-hour sale). The policies, applied per SKU after 販売可能数 is computed (sync/push.py
calls ``SalePolicy.targets``; nothing else of the planner changes):

- 配分 (quota): 販売可能数 is split over the SKU's listings by share (largest remainder, so the
  shares add up to 販売可能数 exactly and never more). A mall's weight is 1 + the units it sold
  since the sale began, so shares move towards the malls that sell ("rebalance as malls sell")
  and what is left is split again every cycle.
- しきい値 (threshold): below it, only the mall selling fastest keeps the SKU; the others are
  sent 0.
- 売れ行きバッファ (velocity buffer): a mall is sent 販売可能数 minus the units the *other* malls
  are expected to sell before the next push reaches it (Poisson quantile of their observed rate
  × the push window, at ``risk``). With 配分, this can only raise a mall above its quota: slow
  sellers stay visible everywhere (two malls selling the same last unit within one window is
  then unlikely), fast sellers keep their strict quotas. Without 配分, it lowers plain
  販売可能数 by the buffer.

Only 配分 on its own guarantees the quantities add up to no more than 販売可能数
(tests/test_sale_policy.py checks it as a property); the buffer knowingly lets slow sellers
show their last units at more than one mall, at the risk set by ``risk``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

ALL = "すべて"
ListingKey = tuple[str, str, str]  # (モール, モール商品コード, モールSKU)
# A sale's first minutes say little about speed: rates are measured over at least this long.
MIN_ELAPSED_MINUTES = 10.0
# The push window ``SalePolicy.risk`` is stated for (a 60 s cycle and its push).
REFERENCE_WINDOW_SECONDS = 65.0


@dataclass(frozen=True)
class SaleRule:
    """One row of the セール tab, as the policy uses it."""

    sku: str  # "" = every SKU
    mall: str  # "" = every mall
    start: datetime
    end: datetime
    quota: bool = True
    threshold: int | None = None
    buffer: bool = False
    interval_seconds: int | None = None
    row: int = 0

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def covers_sku(self, sku: str) -> bool:
        return not self.sku or self.sku == sku

    def covers_mall(self, mall: str) -> bool:
        return not self.mall or self.mall == mall

    @property
    def specificity(self) -> tuple[int, int, datetime]:
        return (bool(self.sku), bool(self.mall), self.start)

    def describe(self) -> str:
        parts = []
        if self.quota:
            parts.append("配分")
        if self.threshold:
            parts.append(f"しきい値 {self.threshold}")
        if self.buffer:
            parts.append("売れ行きバッファ")
        return "・".join(parts) or "なし"


@dataclass(frozen=True)
class Shaped:
    quantity: int
    why: str


@dataclass
class SalePolicy:
    """The active rules at ``now`` and what each mall has sold since its rule began.

    ``sold``: units per (SKU, モール) sold since the start of the rule that covers them (kept in
    _セール実績 by the engine, in the same job as the orders). ``window_seconds``: how long a
    quantity stays out before the next push corrects it (the sale's cycle plus the push's own
    time). ``risk``: the chance, per mall and window, that the other malls sell more than the
    buffer holds back."""

    rules: Sequence[SaleRule]
    now: datetime
    sold: Mapping[tuple[str, str], int] = field(default_factory=dict)
    window_seconds: float = 70.0
    risk: float = 0.03
    # Units a SKU is assumed to have sold before the sale's first order: a SKU nobody bought
    # yet is not taken to be one nobody will buy (a rate of exactly 0 would show its last
    # units everywhere from the first minute).
    prior_units: float = 1.0
    # With 配分, a mall goes above its quota only while the malls holding the SKU are less
    # likely than this to sell all of it before the sale ends (then nobody would be waiting).
    sell_through: float = 0.9

    def __post_init__(self) -> None:
        self.rules = [r for r in self.rules if r.active(self.now)]

    @property
    def window_risk(self) -> float:
        """``risk`` is set for a 60 s cycle's window (60 s + 5 s for the push, as bench/sale_sim.py
        measures it); a tighter cadence has more windows per sale, each allowed less."""
        return self.risk * min(1.0, self.window_seconds / REFERENCE_WINDOW_SECONDS)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rule_for(self, sku: str) -> SaleRule | None:
        found = [r for r in self.rules if r.covers_sku(sku)]
        return max(found, key=lambda r: r.specificity) if found else None

    def interval_seconds(self) -> int | None:
        """The tightest cadence an active rule asks for."""
        wanted = [r.interval_seconds for r in self.rules if r.interval_seconds]
        return min(wanted) if wanted else None

    def targets(
        self, available: Mapping[str, int], listings: Iterable[ListingKey | tuple[ListingKey, str]]
    ) -> dict[ListingKey, Shaped]:
        """The quantity (and why) for every listing a rule covers; ``listings``: (key, SKU) of
        each listing that would be sent 販売可能数. Listings of SKUs without a rule are absent."""
        if not self.rules:
            return {}
        by_sku: dict[str, list[ListingKey]] = defaultdict(list)
        for key, sku in listings:  # type: ignore[misc]
            by_sku[sku].append(key)
        shaped: dict[ListingKey, Shaped] = {}
        for sku, members in by_sku.items():
            rule = self.rule_for(sku)
            if rule is None or sku not in available:
                continue
            shaped.update(self.shape(rule, sku, max(0, available[sku]), members))
        return shaped

    def shape(
        self, rule: SaleRule, sku: str, available: int, members: list[ListingKey]
    ) -> dict[ListingKey, Shaped]:
        covered = [k for k in members if rule.covers_mall(k[0])]
        if not covered:
            return {}
        per_mall = defaultdict(int)
        for key in members:
            per_mall[key[0]] += 1
        weights = {k: (self.sold.get((sku, k[0]), 0) + 1) / per_mall[k[0]] for k in members}
        if rule.quota:
            quotas = split(available, members, weights)
            # Malls outside a mall-specific rule share what the rule's malls do not hold.
            pool = sum(q for k, q in quotas.items() if k not in covered)
            out = {k: Shaped(quotas[k], f"配分 {quotas[k]}/{available}") for k in covered}
            out.update(
                {
                    k: Shaped(pool, f"セール対象外のモールの残り {pool}/{available}")
                    for k in members
                    if k not in covered
                }
            )
        else:
            out = {k: Shaped(available, "") for k in covered}
        if rule.buffer:
            rates = self._rates(sku, members)
            window = self.window_seconds / 60.0
            holders = {k[0] for k in covered if out[k].quantity > 0}
            left = max(0.0, (rule.end - self.now).total_seconds() / 60.0)
            in_time = poisson_tail(sum(rates[m] for m in holders) * left, available)
            for key in covered:
                if rule.quota and in_time >= self.sell_through:
                    break  # the malls holding the units are likely to sell them all before the end
                others = sum(r for mall, r in rates.items() if mall != key[0])
                held = poisson_buffer(others * window, self.window_risk)
                room = max(0, available - held)
                current = out[key].quantity
                if rule.quota and room > current:
                    out[key] = Shaped(room, f"配分 {current} + 売れ行きに余裕（他モールの見込み {held}）")
                elif not rule.quota:
                    out[key] = Shaped(room, f"売れ行きバッファ {held}（他モールの見込み）")
        if rule.threshold and available < rule.threshold:
            lead = max(covered, key=lambda k: (weights[k], -covered.index(k)))
            held_elsewhere = sum(q.quantity for k, q in out.items() if k not in covered)
            for key in covered:
                if key == lead:
                    keep = available - held_elsewhere if rule.quota else available
                    out[key] = Shaped(max(0, keep), f"しきい値 {rule.threshold} 未満: このモールだけで販売")
                else:
                    out[key] = Shaped(0, f"しきい値 {rule.threshold} 未満: {lead[0]}だけで販売")
        return out

    def _rates(self, sku: str, members: list[ListingKey]) -> dict[str, float]:
        """Units a minute each mall sold the SKU at since its rule began."""
        rule = self.rule_for(sku)
        assert rule is not None
        minutes = max((self.now - rule.start).total_seconds() / 60.0, MIN_ELAPSED_MINUTES)
        malls = {k[0] for k in members}
        prior = self.prior_units / len(malls)
        return {mall: (self.sold.get((sku, mall), 0) + prior) / minutes for mall in malls}


def split(
    total: int, members: Sequence[ListingKey], weights: Mapping[ListingKey, float]
) -> dict[ListingKey, int]:
    """``total`` over ``members`` in proportion to ``weights``, by largest remainder: whole units
    that add up to ``total`` exactly (ties go to the heavier weight, then the earlier listing)."""
    if not members:
        return {}
    weight = sum(weights[k] for k in members) or 1.0
    raw = {k: total * weights[k] / weight for k in members}
    quota = {k: math.floor(raw[k]) for k in members}
    rest = total - sum(quota.values())
    order = sorted(
        range(len(members)), key=lambda i: (-(raw[members[i]] - quota[members[i]]), -weights[members[i]], i)
    )
    for i in order[:rest]:
        quota[members[i]] += 1
    return quota


def poisson_buffer(mean: float, risk: float) -> int:
    """The fewest units b with P(Poisson(mean) > b) ≤ risk: what to hold back so that the other
    malls sell more than that within one window only with probability ``risk``."""
    if mean <= 0:
        return 0
    b, term = 0, math.exp(-mean)
    covered = term
    while 1.0 - covered > risk and b < 10_000:
        b += 1
        term *= mean / b
        covered += term
    return b


def poisson_tail(mean: float, units: int) -> float:
    """P(Poisson(mean) ≥ units): the chance that at least ``units`` are asked for."""
    if units <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    term = math.exp(-mean)
    below = term
    for k in range(1, units):
        term *= mean / k
        below += term
    return max(0.0, 1.0 - below)
