"""Rate limits the fakes share (vendor buckets with their own arithmetic stay in the fake)."""

from __future__ import annotations


class Spacing:
    """At most one call per ``interval`` seconds: a refused call does not count."""

    def __init__(self) -> None:
        self.last: float | None = None

    def admit(self, now: float, interval: float) -> bool:
        if self.last is not None and now - self.last < interval:
            return False
        self.last = now
        return True
