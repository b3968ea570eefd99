"""What a fake answers: a status, a payload and extra headers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DROP = 0  # the status of a reply that is never sent: the connection closes instead


@dataclass
class Reply:
    status: int
    payload: Any = None  # JSON-serialisable, raw bytes, or None for no body
    headers: dict[str, str] = field(default_factory=dict)

    def data(self) -> bytes:
        if self.payload is None:
            return b""
        if isinstance(self.payload, bytes):
            return self.payload
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


def dropped() -> Reply:
    """The work is done, the answer is lost: the client sees the connection close."""
    return Reply(DROP)
