"""Reading a PDF back as text with pdfminer, for tests of the paper Ichigen prints."""

from __future__ import annotations

import io

from pdfminer.high_level import extract_pages, extract_text
from pdfminer.layout import LAParams

# Read each printed line back whole, left to right (labels next to their amounts).
LINES = LAParams(char_margin=1000.0)


def pages(pdf: bytes) -> list[str]:
    count = len(list(extract_pages(io.BytesIO(pdf))))
    return [extract_text(io.BytesIO(pdf), page_numbers=[i], laparams=LINES) for i in range(count)]


def flat(text: str) -> str:
    """Text without any whitespace: what was printed, however pdfminer split it into lines."""
    return "".join(text.split())


def text(pdf: bytes) -> str:
    return flat("".join(pages(pdf)))
