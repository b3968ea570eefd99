"""Reading live quantities in batches, the same way for every mall (``read_stock``, base.py).

A batch that fails (a 429 past the retries, a 5xx, a refused call) fails only its own
listings: the next batch is tried, so a fault on some listings leaves the rest reconciled and
the failed ones reported. A mall that fails ``GIVE_UP_AFTER`` batches in a row is taken as
down: its remaining listings fail at once with the same sentence instead of each waiting out
the retries. Credentials refused stop the read (nothing else could work).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sync.errors import MallAuthError, SyncError
from sync.models import ListingRef, LiveQuantity

GIVE_UP_AFTER = 3


def failed(ref: ListingRef, error: str) -> LiveQuantity:
    return LiveQuantity(listing=ref, error=error)


def shown(ref: ListingRef, quantity: object, *, fba: bool = False, missing: str = "") -> LiveQuantity:
    """A quantity as the mall answered it; anything but a whole number ≥ 0 is reported."""
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity >= 0:
        return LiveQuantity(listing=ref, quantity=quantity, fba=fba)
    return failed(ref, missing or f"{ref.mall}の在庫数を読めませんでした（{quantity!r}）")


def in_batches(
    refs: Sequence[ListingRef],
    positions: Sequence[int],
    size: int,
    read: Callable[[list[int]], dict[int, LiveQuantity]],
    answers: dict[int, LiveQuantity],
) -> None:
    """Call ``read`` with ``size`` positions of ``refs`` at a time; fill ``answers`` (positions
    ``read`` leaves out are reported as not answered)."""
    failures, down_text = 0, ""
    for start in range(0, len(positions), size):
        batch = list(positions[start : start + size])
        if failures >= GIVE_UP_AFTER:
            answers.update({i: failed(refs[i], down_text) for i in batch})
            continue
        try:
            got = read(batch)
        except MallAuthError:
            raise
        except SyncError as exc:
            failures += 1
            down_text = f"{exc}（{refs[batch[0]].mall}が続けて応答しないため、残りは読みませんでした）"
            answers.update({i: failed(refs[i], str(exc)) for i in batch})
            continue
        failures = 0
        for i in batch:
            answers[i] = got.get(i) or failed(refs[i], f"{refs[i].mall}の応答にこの商品の在庫数がありません")


def ordered(refs: Sequence[ListingRef], answers: dict[int, LiveQuantity]) -> list[LiveQuantity]:
    return [
        answers.get(i) or failed(ref, f"{ref.mall}の在庫数を読めませんでした") for i, ref in enumerate(refs)
    ]
