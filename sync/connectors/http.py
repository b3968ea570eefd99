"""HTTP plumbing shared by mall connectors: a token bucket and bounded, jittered retries.

The session is injected (gspread's transport seam), so tests talk to local servers over real
HTTP; the clock and sleep are injected so rate limits are tested without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from sync.errors import MallAuthError, MallPayloadError, MallRateLimited, MallRejected, MallUnavailable
from vocabulary.retry import RETRY_STATUSES, RetryPolicy


@dataclass
class TokenBucket:
    """At most ``burst`` calls at once, refilled at ``rate`` calls per second. Thread-safe: the
    engine fetches malls in threads, and a push may run while a slow fetch still waits, so two
    callers of one connector take turns (the second waits out the first one's sleep)."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _at: float = field(init=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._at = self.clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self.sleep(wait)
                self._tokens = 1.0
                self._at = self.clock()
            self._tokens -= 1

    def drain(self) -> None:
        """The mall said we are over its limit: start again from an empty bucket."""
        with self._lock:
            self._tokens = 0.0
            self._at = self.clock()


@dataclass
class MallHttp:
    mall: str
    base_url: str
    session: requests.Session
    bucket: TokenBucket
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    headers: Mapping[str, str] = field(default_factory=dict)

    def with_rate(self, calls_per_second: float, burst: int) -> MallHttp:
        """The same layer (session, retries, timeout, headers) with a bucket of its own: an
        operation whose published limit is separate never waits for another's calls."""
        bucket = TokenBucket(calls_per_second, burst, clock=self.bucket.clock, sleep=self.bucket.sleep)
        return replace(self, bucket=bucket)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        idempotent: bool = True,
        retry_after: Callable[[requests.Response], float | None] = lambda r: None,
        **kwargs: Any,
    ) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.base_url.rstrip("/") + path_or_url
        headers = {**self.headers, **kwargs.pop("headers", {})}
        attempt = 0
        while True:
            self.bucket.take()
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                unsent = isinstance(exc, requests.ConnectTimeout) or not isinstance(exc, requests.Timeout)
                if attempt >= self.policy.max_retries or not (idempotent or unsent):
                    raise MallUnavailable(
                        f"{self.mall}に接続できませんでした（{exc.__class__.__name__}）"
                    ) from exc
                self.sleep(self.policy.delay(attempt, self.rand))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and self.policy.should_retry(
                attempt, response.status_code, idempotent=idempotent
            ):
                if response.status_code == 429:
                    self.bucket.drain()
                wait = retry_after(response)
                self.sleep(wait if wait is not None else self.policy.delay(attempt, self.rand))
                attempt += 1
                continue
            raise_for_status(self.mall, response)
            return response


def raise_for_status(mall: str, response: requests.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    detail = response.text[:300]
    if code in (401, 403):
        raise MallAuthError(
            f"{mall}の認証に失敗しました（HTTP {code}）。APIキー・トークンの有効期限と権限を確認してください"
        )
    if code == 429:
        raise MallRateLimited(f"{mall}の利用上限（リクエスト数）に達しました。しばらく待って再試行します")
    if code >= 500:
        raise MallUnavailable(f"{mall}が一時的に応答しません（HTTP {code}）。次回の同期で再試行します")
    raise MallRejected(f"{mall}がリクエストを受け付けませんでした（HTTP {code}）: {detail}")


def json_body(mall: str, response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MallPayloadError(f"{mall}から想定外の応答がありました（JSONではありません）") from exc
