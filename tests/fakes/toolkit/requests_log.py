"""What a fake was asked: one Recorded per request, in arrival order."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # as the fake parsed it
    kind: str = ""  # the fake's name for the call, where it has one
    status: int = 0  # filled in once the reply is known

    token_header: ClassVar[str] = "Authorization"  # where the vendor's clients send their credential

    @classmethod
    def of(cls, method: str, target: str, headers: Any, body: Any = None, kind: str = "") -> Self:
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        return cls(method, split.path, query, dict(headers.items()), body, kind)

    def header(self, name: str) -> str | None:
        """A request header by its name in any case."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def token(self) -> str | None:
        return self.header(self.token_header)


R = TypeVar("R", bound=Recorded)


class RequestLog(list):
    """A list of Recorded that handler threads append to (``record``) and tests read."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def record(self, request: R) -> R:
        with self._lock:
            self.append(request)
        return request

    def where(
        self,
        *,
        path: str | None = None,
        prefix: str = "",
        method: str | None = None,
        status: int | None = None,
        kind: str | None = None,
    ) -> list[Any]:
        with self._lock:
            seen = list(self)
        return [
            r
            for r in seen
            if (path is None or r.path == path)
            and r.path.startswith(prefix)
            and (method is None or r.method == method)
            and (status is None or r.status == status)
            and (kind is None or r.kind == kind)
        ]

    def reset(self) -> None:
        with self._lock:
            self.clear()


def json_body(raw: bytes) -> tuple[Any, str | None]:
    """A JSON request body and, when it does not parse, why (an empty body is None)."""
    if not raw:
        return None, None
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, str(err)
