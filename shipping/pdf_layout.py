"""The A4 paper stack shared by every document Ichigen prints (ピッキングリスト, 納品書, 発注書):
fonts, yen, wrapping Japanese text, a ruled table that paginates, the shop's address block and
the page footer. Pure reportlab, no Streamlit.

Every glyph is drawn with IPAexGothic, embedded in the PDF (reportlab embeds the subset of
glyphs a document uses, ~15 KB per page), so the paper looks the same on every PC and printer.
reportlab's built-in Heisei CID fonts were references only: each PDF viewer substituted its
own font, with different widths, so lines wrapped and numbers ran over on some PCs.

The font file comes with the matplotlib-fontja wheel (IPA Font License v1.0, which allows
embedding and redistribution). Ichigen reads the .ttf from the installed package's folder
and never imports matplotlib; nothing is downloaded at run time. IPAexGothic has one weight:
headings are set apart by size (HEADING and BODY name the roles, not two fonts).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from sheets_schema.cells import JST

FONT = "IPAexGothic"
HEADING = FONT
BODY = FONT


class FontMissing(RuntimeError):
    """The embedded font's package is not installed (requirements.txt was not installed)."""


def font_path() -> Path:
    """ipaexg.ttf inside the installed matplotlib-fontja, found without importing the package
    (its __init__ imports matplotlib, which the PDFs do not need)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    raise FontMissing(
        "PDF 用のフォント（IPAexゴシック）が見つかりません。"
        "pip install -r requirements.txt を実行してから、もう一度お試しください。"
    )


def _register_fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font_path())))


_register_fonts()

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 40.0
BOTTOM = 50.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN


def yen(amount: int) -> str:
    return f"¥{amount:,}"


@dataclass(frozen=True)
class ShopInfo:
    """The shop as printed on its paper: sender of a 納品書, orderer of a 発注書."""

    name: str
    postcode: str = ""
    address: str = ""
    phone: str = ""


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``, broken at any character (Japanese has no spaces);
    kept newlines start new lines. Always at least one line."""
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for char in paragraph:
            if current and pdfmetrics.stringWidth(current + char, font, size) > width:
                out.append(current.rstrip())
                current = char.lstrip()
            else:
                current += char
        out.append(current)
    return out or [""]


def wrap_items(text: str, font: str, size: float, width: float, sep: str = "、") -> list[str]:
    """Lines of the ``sep``-separated items in ``text``, packed greedily and broken only between
    items, so an order number like 338112-20261207-93753136 is never split across lines (a
    picker reads it whole). A line ends without the separator. Only an item wider than a whole
    line is broken inside."""
    out: list[str] = []
    current = ""
    for item in (i for i in text.split(sep) if i) if text else []:
        joined = f"{current}{sep}{item}" if current else item
        if pdfmetrics.stringWidth(joined, font, size) <= width:
            current = joined
            continue
        if current:
            out.append(current)  # the line break separates; no 「、」 hanging past the column
        pieces = wrap(item, font, size, width)
        out.extend(pieces[:-1])
        current = pieces[-1]
    out.append(current)
    return out


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    align: str = "left"  # "left" | "right" | "center"
    wrap: bool = False
    items: bool = False  # wrap between 「、」-separated items only (numbers stay whole)


@dataclass
class Table:
    """A ruled table: a grey header row, then rows whose wrapped cells set their height."""

    columns: tuple[Column, ...]
    size: float = 9.0
    padding: float = 3.0

    @property
    def leading(self) -> float:
        return self.size * 1.35

    @property
    def width(self) -> float:
        return sum(c.width for c in self.columns)

    def cell_lines(self, row: Sequence[str]) -> list[list[str]]:
        cells = []
        for column, text in zip(self.columns, row, strict=True):
            inner = column.width - 2 * self.padding
            if column.items:
                cells.append(wrap_items(text, BODY, self.size, inner))
            else:
                cells.append(wrap(text, BODY, self.size, inner) if column.wrap else [text])
        return cells

    def row_height(self, row: Sequence[str]) -> float:
        return max(len(c) for c in self.cell_lines(row)) * self.leading + 2 * self.padding

    @property
    def header_height(self) -> float:
        return self.leading + 2 * self.padding

    def draw_header(self, canvas: Canvas, x: float, y: float) -> float:
        canvas.setFillGray(0.9)
        canvas.rect(x, y - self.header_height, self.width, self.header_height, 0, 1)
        canvas.setFillGray(0)
        self._cells(canvas, x, y, [[c.title] for c in self.columns], HEADING, header=True)
        return y - self.header_height

    def draw_row(self, canvas: Canvas, x: float, y: float, row: Sequence[str]) -> float:
        cells = self.cell_lines(row)
        height = max(len(c) for c in cells) * self.leading + 2 * self.padding
        self._cells(canvas, x, y, cells, BODY)
        canvas.setLineWidth(0.4)
        canvas.line(x, y - height, x + self.width, y - height)
        return y - height

    def _cells(
        self, canvas: Canvas, x: float, y: float, cells: list[list[str]], font: str, *, header: bool = False
    ) -> None:
        canvas.setFont(font, self.size)
        left = x
        for column, lines in zip(self.columns, cells, strict=True):
            baseline = y - self.padding - self.size
            for text in lines:
                align = "center" if header else column.align
                if align == "right":
                    canvas.drawRightString(left + column.width - self.padding, baseline, text)
                elif align == "center":
                    canvas.drawCentredString(left + column.width / 2, baseline, text)
                else:
                    canvas.drawString(left + self.padding, baseline, text)
                baseline -= self.leading
            left += column.width


def paginate(heights: Sequence[float], first: float, rest: float, tail: float) -> list[list[int]]:
    """Row indices per page: ``first``/``rest`` are the room for rows on the first/later pages;
    the last page also needs ``tail`` below its rows (totals). A row taller than a page gets a
    page of its own rather than looping."""
    pages: list[list[int]] = [[]]
    room = first
    for i, height in enumerate(heights):
        if height > room and pages[-1]:
            pages.append([])
            room = rest
        pages[-1].append(i)
        room -= height
    if room < tail:
        pages.append([])
    return pages


def stamp(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def date_text(moment: datetime) -> str:
    local = moment.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日"


def new_canvas(buffer: io.BytesIO, title: str, author: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    return canvas


def footer(canvas: Canvas, text: str, page: int, pages: int) -> None:
    canvas.setFont(BODY, 8)
    canvas.drawString(MARGIN, BOTTOM - 20, text)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, BOTTOM - 20, f"{page} / {pages} ページ")


def draw_shop(canvas: Canvas, shop: ShopInfo, y: float) -> float:
    """The shop's name, postcode, address and phone, right-aligned from ``y`` down (the sender
    block of a 納品書, the orderer of a 発注書); returns the y of its last line."""
    right = PAGE_WIDTH - MARGIN
    canvas.setFont(HEADING, 11)
    canvas.drawRightString(right, y, shop.name)
    canvas.setFont(BODY, 8.5)
    lines = [f"〒{shop.postcode}" if shop.postcode else "", *wrap(shop.address, BODY, 8.5, 220)]
    if shop.phone:
        lines.append(f"TEL {shop.phone}")
    for text in (t for t in lines if t):
        y -= 12
        canvas.drawRightString(right, y, text)
    return y


def draw_notes(canvas: Canvas, y: float, notes: Sequence[str]) -> float:
    """A 「備考」 label with its (already wrapped) lines beside it, from ``y`` down."""
    if not notes:
        return y
    y -= 24
    canvas.setFont(HEADING, 9)
    canvas.drawString(MARGIN, y, "備考")
    canvas.setFont(BODY, 9)
    for text in notes:
        canvas.drawString(MARGIN + 50, y, text)
        y -= 12
    return y


@dataclass(frozen=True)
class Paged:
    """One document (a 納品書, a 発注書) whose table may run over several pages: its head on the
    first page, 「…（続き）」 on the others, its totals on the last, a footer on each."""

    table: Table
    rows: Sequence[Sequence[str]]
    top_first: float  # where the table starts on the first page (below the head)
    top_rest: float
    tail: float  # room the totals need below the last row
    head: Callable[[Canvas], None]
    continued: tuple[str, str]  # (「納品書（続き）」, what identifies it), on later pages
    totals: Callable[[Canvas, float], None]  # draws from the y below the last row
    footer: str


def draw_paged(canvas: Canvas, doc: Paged) -> None:
    table = doc.table
    heights = [table.row_height(r) for r in doc.rows]
    room = table.header_height + BOTTOM
    pages = paginate(heights, doc.top_first - room, doc.top_rest - room, doc.tail)
    for page_number, indices in enumerate(pages, start=1):
        if page_number == 1:
            doc.head(canvas)
            y = doc.top_first
        else:
            canvas.setFont(HEADING, 12)
            canvas.drawString(MARGIN, PAGE_HEIGHT - MARGIN - 14, doc.continued[0])
            canvas.setFont(BODY, 9.5)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN - 14, doc.continued[1])
            y = doc.top_rest
        if indices or page_number == 1:
            y = table.draw_header(canvas, MARGIN, y)
        for i in indices:
            y = table.draw_row(canvas, MARGIN, y, doc.rows[i])
        if page_number == len(pages):
            doc.totals(canvas, y)
        else:
            canvas.setFont(BODY, 8.5)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, y - 14, "次のページに続きます")
        footer(canvas, doc.footer, page_number, len(pages))
        canvas.showPage()


def paged_pdf(title: str, author: str, docs: Iterable[Paged], empty: str) -> bytes:
    """Each document starting on its own A4 page; one page saying ``empty`` when there are none."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, title, author)
    count = 0
    for doc in docs:
        draw_paged(canvas, doc)
        count += 1
    if not count:
        canvas.setFont(BODY, 10)
        canvas.drawString(MARGIN, PAGE_HEIGHT - MARGIN - 20, empty)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
