"""Fault injection: HTTP statuses, "timeout" and "malformed", queued or standing, per request scope.

A fault is an HTTP status 400–599 (the fake answers it with its vendor's error body), "timeout"
(the fake sleeps ``timeout_delay`` seconds, then answers and applies the request normally: the
client has given up, the vendor has not) or "malformed" (200 with an HTML page). A queued fault is
taken by the next matching request; a standing one hits every matching request until cleared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.fakes.toolkit.reply import Reply

TIMEOUT = "timeout"
MALFORMED = "malformed"
_WORDS = frozenset({TIMEOUT, MALFORMED})


def checked(fault: int | str) -> int | str:
    if isinstance(fault, bool) or not ((isinstance(fault, int) and 400 <= fault <= 599) or fault in _WORDS):
        raise ValueError(f"unsupported fault {fault!r}")
    return fault


def under_prefix(prefixes: tuple[str, ...] | None, path: str) -> bool:
    """The default scope: path prefixes, None for every path."""
    return prefixes is None or any(path.startswith(p) for p in prefixes)


class Faults:
    """Faults waiting for requests; ``matches(scope, key)`` says whether a request's key is in scope."""

    def __init__(self, matches: Callable[[Any, str], bool] = under_prefix) -> None:
        self._matches = matches
        self._queued: list[tuple[int | str, Any]] = []
        self._standing: list[tuple[int | str, Any]] = []
        self._lock = threading.Lock()

    def queue(self, faults: Iterable[int | str], scope: Any = None) -> None:
        entries = [(checked(f), scope) for f in faults]
        with self._lock:
            self._queued.extend(entries)

    def stand(self, fault: int | str, scope: Any = None) -> None:
        entry = (checked(fault), scope)
        with self._lock:
            self._standing.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._standing.clear()

    def take(self, key: str) -> int | str | None:
        """The first queued fault for `key` (used up), else the first standing one, else None."""
        with self._lock:
            for i, (fault, scope) in enumerate(self._queued):
                if self._matches(scope, key):
                    del self._queued[i]
                    return fault
            return next((fault for fault, scope in self._standing if self._matches(scope, key)), None)


class FaultInjection:
    """``inject``/``inject_always``/``clear_faults`` for a fake whose faults are scoped by path.

    Relative paths ("orders.json") are taken under ``fault_root``. The fake calls ``_faulted``
    where its vendor would fail (after the auth check, as a rule) and says in ``_fault_reply``
    what a status looks like.
    """

    faults: Faults
    timeout_delay: float
    fault_root = ""
    malformed_page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"

    def inject(self, *faults: int | str, paths: Iterable[str] | None = None) -> None:
        """Queue faults; each is taken by the next request whose path starts with one of `paths`."""
        self.faults.queue(faults, self._scope(paths))

    def inject_always(self, fault: int | str, paths: Iterable[str] | None = None) -> None:
        """Like inject(), but the fault hits every matching request until clear_faults()."""
        self.faults.stand(fault, self._scope(paths))

    def clear_faults(self) -> None:
        self.faults.clear()

    def _scope(self, paths: Iterable[str] | None) -> tuple[str, ...] | None:
        if paths is None:
            return None
        return tuple(p if p.startswith("/") else self.fault_root + p for p in paths)

    def _faulted(self, key: str) -> Reply | None:
        """The reply a fault waiting for `key` gives; None lets the request through (after a
        "timeout" has slept, outside any lock so that other requests keep flowing)."""
        fault = self.faults.take(key)
        if fault == TIMEOUT:
            time.sleep(self.timeout_delay)
        elif fault == MALFORMED:
            return Reply(200, self.malformed_page, {"Content-Type": "text/html; charset=utf-8"})
        elif isinstance(fault, int):
            return self._fault_reply(fault, key)
        return None

    def _fault_reply(self, status: int, key: str) -> Reply:
        raise NotImplementedError
