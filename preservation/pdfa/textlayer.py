"""Digitised documents: is there a text layer, and at what resolution was the paper scanned?

"PDF/A hai lớp" (two layers) means every scanned page carries, over the page
image, a text layer (usually OCR text in invisible rendering mode 3) so the
document can be searched and its text extracted. We read each page's content
stream with pikepdf's parser (no other dependency), following Form XObjects,
and record for each page whether it paints an image and whether it shows text.

The scan resolution is estimated from each painted image: its pixel size
against the size it is drawn at (the current transformation matrix maps the
image's unit square onto the page), so `dpi = pixels / (points / 72)` on each
axis. A page's resolution is that of its largest image (the scan itself, not a
logo or a stamp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
TEXT_SHOW = frozenset({"Tj", "TJ", "'", '"'})
MAX_FORM_DEPTH = 12
MAX_OPERATORS_PER_PAGE = 2_000_000
_MIN_IMAGE_SHARE = 0.2
"""An image counts as a scan when it covers at least this share of the page."""


@dataclass(frozen=True)
class PageImage:
    pixels: tuple[int, int]
    drawn_points: tuple[float, float]

    @property
    def dpi(self) -> float | None:
        width, height = self.drawn_points
        if width <= 0 or height <= 0:
            return None
        return min(self.pixels[0] / (width / 72.0), self.pixels[1] / (height / 72.0))

    @property
    def area(self) -> float:
        return self.drawn_points[0] * self.drawn_points[1]


@dataclass
class PageScan:
    index: int
    """0-based page index."""
    page_area: float
    images: list[PageImage] = field(default_factory=list)
    text_shown: bool = False

    @property
    def scan(self) -> PageImage | None:
        """The largest image, when it covers a real part of the page."""
        if not self.images:
            return None
        largest = max(self.images, key=lambda image: image.area)
        if self.page_area > 0 and largest.area < _MIN_IMAGE_SHARE * self.page_area:
            return None
        return largest

    @property
    def dpi(self) -> float | None:
        scan = self.scan
        return scan.dpi if scan is not None else None


@dataclass
class ScanAnalysis:
    pages: list[PageScan]

    @property
    def scanned_pages(self) -> list[PageScan]:
        return [page for page in self.pages if page.scan is not None]

    @property
    def pages_without_text(self) -> list[int]:
        """1-based numbers of the scanned pages that have no text layer."""
        return [page.index + 1 for page in self.scanned_pages if not page.text_shown]

    @property
    def min_dpi(self) -> float | None:
        values = [page.dpi for page in self.scanned_pages if page.dpi is not None]
        return min(values) if values else None

    def low_dpi_pages(self, threshold: float) -> list[int]:
        # 2 % tolerance: a 300 dpi scan at A4 often computes to 299.x after rounding of the page size.
        return [
            page.index + 1 for page in self.scanned_pages
            if page.dpi is not None and page.dpi < threshold * 0.98
        ]


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF row-vector convention: m × n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2, a * b2 + b * d2,
        c * a2 + d * c2, c * b2 + d * d2,
        e * a2 + f * c2 + e2, e * b2 + f * d2 + f2,
    )


def _matrix(values: Any) -> Matrix | None:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    if len(numbers) != 6:
        return None
    return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])


def _page_area(page: pikepdf.Page) -> float:
    try:
        box = [float(v) for v in page.mediabox]
    except (TypeError, ValueError, pikepdf.PdfError):
        return 0.0
    return abs(box[2] - box[0]) * abs(box[3] - box[1])


class _PageWalker:
    def __init__(self, scan: PageScan) -> None:
        self.scan = scan
        self.operators = 0

    def run(self, streams: list[Any], resources: Any, ctm: Matrix, depth: int) -> None:
        instructions: list[Any] = []
        for stream in streams:
            try:
                instructions.extend(pikepdf.parse_content_stream(stream))
            except (pikepdf.PdfError, ValueError, RuntimeError):
                return
        stack: list[Matrix] = []
        for instruction in instructions:
            self.operators += 1
            if self.operators > MAX_OPERATORS_PER_PAGE:
                return
            op = str(instruction.operator)
            if op == "INLINE IMAGE":
                self._inline(instruction, ctm)
                continue
            operands = list(instruction.operands)
            if op == "q":
                stack.append(ctm)
            elif op == "Q":
                ctm = stack.pop() if stack else ctm
            elif op == "cm":
                matrix = _matrix(operands)
                if matrix is not None:
                    ctm = _multiply(matrix, ctm)
            elif op in TEXT_SHOW:
                if _shows_something(op, operands):
                    self.scan.text_shown = True
            elif op == "Do" and operands:
                self._xobject(operands[0], resources, ctm, depth)

    def _xobject(self, name: Any, resources: Any, ctm: Matrix, depth: int) -> None:
        table = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        xobject = table.get(name) if isinstance(table, pikepdf.Dictionary) else None
        if not isinstance(xobject, pikepdf.Stream):
            return
        subtype = xobject.get("/Subtype")
        if subtype == pikepdf.Name.Image:
            self._image(xobject.get("/Width"), xobject.get("/Height"), ctm)
        elif subtype == pikepdf.Name.Form and depth < MAX_FORM_DEPTH:
            matrix = _matrix(xobject.get("/Matrix", pikepdf.Array([1, 0, 0, 1, 0, 0]))) or IDENTITY
            own = xobject.get("/Resources")
            self.run([xobject], own if isinstance(own, pikepdf.Dictionary) else resources,
                     _multiply(matrix, ctm), depth + 1)

    def _inline(self, instruction: Any, ctm: Matrix) -> None:
        try:
            image = instruction.iimage
            self._image(image.width, image.height, ctm)
        except (pikepdf.PdfError, AttributeError, ValueError):
            return

    def _image(self, width: Any, height: Any, ctm: Matrix) -> None:
        try:
            pixels = (int(width), int(height))
        except (TypeError, ValueError):
            return
        a, b, c, d, _, _ = ctm
        drawn = (math.hypot(a, b), math.hypot(c, d))
        self.scan.images.append(PageImage(pixels, drawn))


def _shows_something(op: str, operands: list[Any]) -> bool:
    values = operands[-1:] if op in ("Tj", "'", '"') else list(operands[0]) if operands and op == "TJ" else []
    return any(isinstance(value, pikepdf.String) and len(bytes(value)) > 0 for value in values)


def analyse(pdf: pikepdf.Pdf) -> ScanAnalysis:
    pages = []
    for index, page in enumerate(pdf.pages):
        scan = PageScan(index, _page_area(page))
        contents = page.obj.get("/Contents")
        items: list[Any] = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        streams = [item for item in items if isinstance(item, pikepdf.Stream)]
        if streams:
            _PageWalker(scan).run(streams, page.resources, IDENTITY, 0)
        pages.append(scan)
    return ScanAnalysis(pages)


def analyse_file(path: Path) -> ScanAnalysis:
    with pikepdf.open(path) as pdf:
        return analyse(pdf)
