"""Available stock out to the malls: plan what changed, send it, record each SKU's result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sheets_schema.changes import WriteJob
from sheets_schema.models import MallListing, Stock, StockPush
from sheets_schema.parsing import Table
from sync.models import PushResult, StockLevel
from sync.sale import SalePolicy
from sync.stock import key_trouble

WAITING = "モールの反映確認待ち"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedPush:
    mall: str
    sku: str
    mall_item_code: str
    mall_sku: str
    last_quantity: int | None  # what the mall was last sent, if anything
    quantity: int
    reason: str
    sent_at: datetime | None = None  # when the mall was last sent this listing's quantity
    # Why the quantity is not the plain 販売可能数 (a セール rule's policy); "" when it is.
    why: str = ""

    def level(self) -> StockLevel:
        return StockLevel(
            mall=self.mall,
            sku=self.sku,
            mall_item_code=self.mall_item_code,
            mall_sku=self.mall_sku,
            quantity=self.quantity,
            # The same quantity is out and not confirmed yet: check it rather than resend.
            pending_since=(self.sent_at or _EPOCH) if self.reason == WAITING else None,
        )


ListingKey = tuple[str, str, str]  # (モール, モール商品コード, モールSKU)


def plan_pushes(
    stock: Table[Any] | Mapping[str, int],
    listings: Table[Any],
    pushes: Table[Any],
    malls: Iterable[str],
    recorded: Iterable[tuple[PlannedPush, PushResult]] = (),
    mirrored: Mapping[ListingKey, int] | None = None,
    policy: SalePolicy | None = None,
) -> list[PlannedPush]:
    """Every mapped SKU (在庫連携 ON) whose 販売可能数 differs from what its mall last got,
    or whose last push failed or is not confirmed yet. ``stock`` is the 在庫 tab as read, or
    販売可能数 per SKU as a job just wrote it; ``recorded``: results the job being built writes
    to _在庫送信, taken as already there; ``mirrored``: 送信数量 the job sets after the malls'
    own sales (``mirror_mall_sales``); ``policy``: active セール rules, whose quantity replaces
    販売可能数 for the listings they cover (applied after 販売可能数 is known, sync/sale.py)."""
    malls = set(malls)
    if isinstance(stock, Table):
        doubled = key_trouble(stock).duplicates  # which row is right is for a person to say
        free = {
            r.value.sku: r.value.available
            for r in stock
            if isinstance(r.value, Stock) and r.value.sku not in doubled
        }
    else:
        free = dict(stock)
    last: dict[tuple[str, str, str], StockPush] = {
        (r.value.mall, r.value.mall_item_code, r.value.mall_sku): r.value for r in pushes
    }
    for planned, result in recorded:
        key = (planned.mall, planned.mall_item_code, planned.mall_sku)
        before = last.get(key)
        quantity, state = _recorded(result, before.quantity if before else None)
        last[key] = StockPush(
            モール=planned.mall,
            SKU=planned.sku,
            モール商品コード=planned.mall_item_code,
            モールSKU=planned.mall_sku,
            送信数量=quantity,
            状態=state,
        )
    for key, quantity in (mirrored or {}).items():
        if key in last:
            last[key] = last[key].model_copy(update={"quantity": quantity, "state": "未確認"})
    pushed = [
        r.value for r in listings if r.value.mall in malls and r.value.stock_sync and r.value.sku in free
    ]
    shaped = policy.targets(free, [(_key(x), x.sku) for x in pushed]) if policy else {}
    plan = []
    for listing in pushed:
        previous = last.get(_key(listing))
        if previous is not None and previous.sku != listing.sku:
            previous = None  # the listing was mapped to another SKU: send afresh
        quantity, why = free[listing.sku], ""
        if (target := shaped.get(_key(listing))) is not None:
            quantity, why = target.quantity, target.why
        if previous is None:
            reason = "初回送信"
        elif previous.state == "失敗":
            reason = "前回失敗の再送"
        elif previous.quantity != quantity:
            reason = "数量変更"
        elif previous.state == "未確認":
            reason = WAITING
        else:
            continue
        plan.append(
            PlannedPush(
                mall=listing.mall,
                sku=listing.sku,
                mall_item_code=listing.mall_item_code,
                mall_sku=listing.mall_sku or "",
                last_quantity=previous.quantity if previous else None,
                quantity=quantity,
                reason=reason,
                sent_at=previous.pushed_at if previous else None,
                why=why,
            )
        )
    return plan


def _key(listing: MallListing) -> ListingKey:
    return (listing.mall, listing.mall_item_code, listing.mall_sku or "")


def record_results(
    job: WriteJob, pushes: Table[Any], sent: Iterable[tuple[PlannedPush, PushResult]], at: datetime
) -> None:
    """One row per listing. A failed push keeps the quantity the mall last accepted; a listing
    only read and still waiting for the mall keeps its row (and 送信日時) as it is."""
    accepted = {(r.value.mall, r.value.mall_item_code, r.value.mall_sku): r.value.quantity for r in pushes}
    for planned, result in sent:
        if result.ok and not result.confirmed and not result.sent:
            continue
        key = (planned.mall, planned.mall_item_code, planned.mall_sku)
        quantity, state = _recorded(result, accepted.get(key))
        cells = {
            "モール": planned.mall,
            "SKU": planned.sku,
            "モール商品コード": planned.mall_item_code,
            "モールSKU": planned.mall_sku,
            "送信数量": quantity,
            "状態": state,
            "送信日時": at,
            "エラー": result.error,
        }
        job.put(pushes, key, cells)


def _recorded(result: PushResult, accepted: int | None) -> tuple[int, str]:
    """(送信数量, 状態) a push result is recorded as: a failed push keeps what the mall last took."""
    state = "失敗" if not result.ok else ("確認済" if result.confirmed else "未確認")
    quantity = result.quantity if result.ok or accepted is None else accepted
    return quantity, state


def mirror_mall_sales(
    job: WriteJob,
    pushes: Table[Any],
    sold: Mapping[ListingKey, int],
    recorded: Iterable[tuple[PlannedPush, PushResult]] = (),
) -> dict[ListingKey, int]:
    """What each listing shows at its mall now: a mall lowers its own quantity when it sells
    (and may raise it again on a cancellation), so the quantity it was last sent is no longer
    what it shows. ``sold``: units of orders this job imported as new (positive) or cancelled
    at the mall (negative), per listing they were sold under. Without this, a sale at one mall
    and a cancellation elsewhere in the same cycle leave 販売可能数 where it was, nothing is
    pushed, and the selling mall keeps showing one fewer (or, after a cancellation the mall
    restored, one more: sold twice) than 販売可能数. Returns the new 送信数量 per listing."""
    if not pushes.writable or not sold:
        return {}
    base = {
        (r.value.mall, r.value.mall_item_code, r.value.mall_sku): (r.value.quantity, r.value.state)
        for r in pushes
    }
    for planned, result in recorded:
        key = (planned.mall, planned.mall_item_code, planned.mall_sku)
        base[key] = _recorded(result, base[key][0] if key in base else None)
    mirrored = {}
    for key, units in sold.items():
        row = pushes.find_row(key)
        if row is None or key not in base or not units:
            continue  # never sent: the first push sends 販売可能数 anyway
        quantity, state = base[key]
        if state != "確認済":
            continue  # the mall's own count is not known (a push in flight or failed): resent anyway
        mirrored[key] = max(0, quantity - units)
        # 未確認: what the mall shows is inferred, not seen, so the listing is sent (or, where
        # the mall can be read, checked) even when 販売可能数 equals the inferred quantity: a
        # mall that did not lower its own count is never left showing too many.
        job.set(pushes, row, {"送信数量": mirrored[key], "状態": "未確認"}, allow_invalid=True)
    return mirrored


def mark_unconfirmed(
    job: WriteJob,
    stock: Mapping[str, int],
    listings: Table[Any],
    pushes: Table[Any],
    malls: Iterable[str],
    recorded: Iterable[tuple[PlannedPush, PushResult]] = (),
    mirrored: Mapping[ListingKey, int] | None = None,
    policy: SalePolicy | None = None,
) -> None:
    """Before a quantity change goes out, its listing's record stops saying 確認済: 状態 becomes
    未確認 in the job written before the mall is called (送信数量 still what the mall last took).
    A push that reaches the mall but not the workbook (a crash, a kept-lease runner's lost
    results) is then sent again, even when 販売可能数 later comes back to the recorded number."""
    if not pushes.writable:
        return
    for planned in plan_pushes(stock, listings, pushes, malls, recorded, mirrored, policy):
        if planned.reason != "数量変更":
            continue  # no record (初回送信), 失敗 or 未確認: sent again until one is recorded
        row = pushes.find_row((planned.mall, planned.mall_item_code, planned.mall_sku))
        if row is not None:
            job.set(pushes, row, {"状態": "未確認"}, allow_invalid=True)
