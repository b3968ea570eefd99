"""Bounded retry with jittered exponential backoff, for 429 and 5xx answers.

gspread 6.2.1's ``BackOffHTTPClient`` retries a persistent 429 forever, so Ichigen uses this
instead: after ``max_retries`` the last answer goes back to the caller, which shows staff a
plain Japanese message.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 32.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Full jitter: a random wait up to base·2^attempt, capped (AWS architecture blog)."""
        return rand() * min(self.max_seconds, self.base_seconds * 2**attempt)

    def should_retry(self, attempt: int, status: int, *, idempotent: bool) -> bool:
        if attempt >= self.max_retries or status not in RETRY_STATUSES:
            return False
        # A 429 was refused before any work; a 5xx on a non-idempotent call may have applied.
        return idempotent or status == 429
