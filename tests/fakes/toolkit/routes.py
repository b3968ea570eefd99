"""Request matching: ``(method, pattern)`` to a handler, ``{name}`` standing for one path segment."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

_PARAM = re.compile(r"\{(\w+)\}")


class Routes:
    """Patterns are relative to ``root`` ("orders/{order_id}.json") unless they start with "/"."""

    def __init__(self, table: dict[tuple[str, str], Callable[..., Any]], *, root: str = "") -> None:
        self._routes = [
            (method, _compile(pattern if pattern.startswith("/") else root + pattern), handler)
            for (method, pattern), handler in table.items()
        ]

    def match(self, method: str, path: str) -> tuple[Callable[..., Any], dict[str, str]] | None:
        """The handler and the (URL-decoded) segments its pattern names, or None."""
        for route_method, pattern, handler in self._routes:
            found = pattern.fullmatch(path) if route_method == method else None
            if found:
                return handler, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


def _compile(pattern: str) -> re.Pattern[str]:
    parts = _PARAM.split(pattern)  # literal, name, literal, name, …
    return re.compile(
        "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    )
