"""Everything a page sends to the browser, as text: every element's protobuf (labels, options,
values, markdown bodies, chart specs), every dataframe's cells, and every download button's
payload (deferred ones made by calling them, as the browser's click would)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf import text_format
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
PAGES = [
    "pages/home.py",
    "pages/orders.py",
    "pages/shipping.py",
    "pages/products.py",
    "pages/sync.py",
    "pages/analytics.py",
    "pages/purchasing.py",
    "pages/listings.py",
]


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def elements(at: AppTest) -> list[Any]:
    return [n for n in _nodes(at._tree) if getattr(n, "proto", None) is not None]


def element_text(at: AppTest) -> str:
    parts: list[str] = []
    for node in elements(at):
        if node.type == "arrow_data_frame":
            frame = node.value
            parts.append(" ".join(map(str, frame.columns)))
            parts.extend(" ".join(map(str, row)) for row in frame.astype(str).itertuples(index=False))
        else:
            parts.append(text_format.MessageToString(node.proto, as_utf8=True))
    return "\n".join(parts)


@dataclass
class Downloads:
    """What the page handed Streamlit's media file manager for download buttons."""

    payloads: list[tuple[str, Any]] = field(default_factory=list)

    def texts(self) -> list[tuple[str, str]]:
        return [(name, payload_text(data() if callable(data) else data)) for name, data in self.payloads]


def payload_text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if hasattr(data, "getvalue"):
        data = data.getvalue()
    raw = bytes(data)
    if raw.startswith(b"%PDF"):
        from pdfminer.high_level import extract_text

        return extract_text(io.BytesIO(raw))
    if raw.startswith(b"PK"):  # xlsx
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    """A spy on the media file manager (the real one still stores and serves everything)."""
    seen = Downloads()
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def spy_add(self: MediaFileManager, path_or_data: Any, *args: Any, **kwargs: Any) -> str:
        seen.payloads.append((kwargs.get("file_name") or "", path_or_data))
        return add(self, path_or_data, *args, **kwargs)

    def spy_deferred(self: MediaFileManager, callable_: Any, *args: Any, **kwargs: Any) -> str:
        seen.payloads.append((kwargs.get("file_name") or "", callable_))
        return add_deferred(self, callable_, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", spy_add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    return seen
