"""Clocks the fakes read: the wall clock by default, a virtual one that tests move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo


def wall_clock(tz: tzinfo) -> Callable[[], datetime]:
    return lambda: datetime.now(tz)


@dataclass
class VirtualClock:
    """Seconds for rate limits and token expiry; the connector's injected ``sleep`` moves it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
