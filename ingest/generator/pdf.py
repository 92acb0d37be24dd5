"""Real PDFs with Vietnamese text, laid out like an administrative document (NĐ 30/2020).

Speed matters (benchmarks make hundreds of 300 KB files), so fpdf2 is used
once per process: it embeds DejaVu Sans (regular and bold) subset to ASCII,
Latin-1 and every precomposed Vietnamese letter, and that template's font
objects (font program, widths, ToUnicode map) are reused byte for byte by a
small writer that lays out each document itself. A document then costs about
a millisecond plus its padding.

The size knob pads a document with a grey-scale "scan" image (uncompressed, so
its size is exact) and a final comment, so a file is exactly `target_bytes`
long when the text alone is smaller. Padding bytes are produced in chunks while
writing: even a very large file is never held in memory.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import pikepdf

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"regular": FONT_DIR / "DejaVuSans.ttf", "bold": FONT_DIR / "DejaVuSans-Bold.ttf"}

PAGE_WIDTH = 595.28
PAGE_HEIGHT = 841.89
MM = 72 / 25.4
# NĐ 30/2020 Phụ lục I: left margin 30-35 mm, right 15-20 mm, top and bottom 20-25 mm.
LEFT = 30 * MM
RIGHT = PAGE_WIDTH - 18 * MM
TOP = PAGE_HEIGHT - 22 * MM
BOTTOM = 22 * MM

NOISE_CHUNK = 1 << 20
_PAPER = bytes(200 + (i * 56) // 256 for i in range(256))
"""Maps random bytes to light greys so the padding image looks like paper grain."""


class FontMissingError(RuntimeError):
    """DejaVu Sans is not installed."""


@dataclass(frozen=True)
class AdminDocument:
    """What is printed on a Vietnamese administrative document."""

    organ_parent: str
    """Tên cơ quan chủ quản, e.g. "ỦY BAN NHÂN DÂN" (may be empty)."""
    organ_name: str
    """Tên cơ quan ban hành, e.g. "TỈNH BẾN TRE"."""
    number_notation: str
    """"Số: 12/QĐ-UBND"."""
    place_date: str
    """"Bến Tre, ngày 11 tháng 9 năm 2024"."""
    type_name: str
    """Tên loại, upper case: "QUYẾT ĐỊNH"."""
    subject: str
    """Trích yếu."""
    body: tuple[str, ...]
    signer_authority: str
    """"TM. ỦY BAN NHÂN DÂN" (may be empty)."""
    signer_position: str
    signer_name: str
    recipients: tuple[str, ...] = ("Như trên;", "Lưu: VT.")
    mark: str = ""
    """Độ mật / độ khẩn stamp printed under the number ("MẬT", "KHẨN"), empty for none."""


@dataclass(frozen=True)
class PdfSpec:
    """Everything that determines one PDF's bytes."""

    content: AdminDocument
    created: datetime
    target_bytes: int = 0
    """Pad to exactly this size when the text alone is smaller (0: no padding)."""
    seed: int = 0
    """Seeds the padding image."""
    layered: bool = False
    """Digitised look: every page is a "scan" image with the text over it."""
    title: str = ""


@dataclass(frozen=True)
class _Font:
    resource: str
    to_cid: dict[str, int]
    widths: dict[int, int]
    default_width: int
    hex_of: dict[str, str] = field(init=False, repr=False, compare=False)
    width_of: dict[str, int] = field(init=False, repr=False, compare=False)
    charset: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Per-character tables with a fallback, so encoding and measuring run as C-level maps.
        unknown = self.to_cid.get("?", 0)
        hex_of = _Fallback(f"{unknown:04X}")
        hex_of.update({ch: f"{cid:04X}" for ch, cid in self.to_cid.items()})
        width_of = _Fallback(self.default_width)
        width_of.update({ch: self.widths.get(cid, self.default_width) for ch, cid in self.to_cid.items()})
        object.__setattr__(self, "hex_of", hex_of)
        object.__setattr__(self, "width_of", width_of)
        object.__setattr__(self, "charset", frozenset(self.to_cid))

    def encode(self, text: str) -> str:
        return "".join(map(self.hex_of.__getitem__, text))

    def width(self, text: str, size: float) -> float:
        return sum(map(self.width_of.__getitem__, text)) * size / 1000

    def covers(self, ch: str) -> bool:
        return ch in self.to_cid


class _Fallback(dict[str, Any]):
    def __init__(self, default: Any) -> None:
        super().__init__()
        self.default = default

    def __missing__(self, key: str) -> Any:
        return self.default


@dataclass(frozen=True)
class _Template:
    objects: tuple[bytes, ...]
    """Font objects, to be numbered FIRST_FONT_OBJECT, FIRST_FONT_OBJECT + 1 …"""
    font_objects: dict[str, int]
    """Resource name → object number."""
    regular: _Font
    bold: _Font

    @property
    def charset(self) -> frozenset[str]:
        return self.regular.charset


FIRST_FONT_OBJECT = 4
"""1 catalog, 2 page tree, 3 info; fonts follow."""


def vietnamese_charset() -> str:
    """ASCII, Latin-1 letters, every precomposed Vietnamese letter and common punctuation."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0xC0, 0x100)}
    chars |= {chr(c) for c in range(0x1EA0, 0x1EFA)}
    chars |= set("ĂăĐđĨĩŨũƠơƯư“”‘’–—…•§°№")
    return "".join(sorted(chars))


@lru_cache(maxsize=1)
def _template() -> _Template:
    for path in FONT_FILES.values():
        if not path.is_file():
            raise FontMissingError(
                f"Không tìm thấy phông chữ {path}: cài gói Debian fonts-dejavu-core "
                f"(apt-get install -y fonts-dejavu-core). / Font {path} is missing: "
                "install the Debian package fonts-dejavu-core."
            )
    from fpdf import FPDF  # imported here: only the template needs it, once per process
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("regular", "", str(FONT_FILES["regular"]))
    pdf.add_font("bold", "", str(FONT_FILES["bold"]))
    pdf.add_page()
    charset = vietnamese_charset()
    for y, family in ((20, "regular"), (40, "bold")):
        pdf.set_font(family, size=4)
        pdf.text(5, y, charset)
    raw = bytes(pdf.output())
    with pikepdf.open(io.BytesIO(raw)) as doc:
        resources = doc.pages[0].Resources.Font
        order: list[tuple[int, int]] = []
        found: dict[tuple[int, int], pikepdf.Object] = {}
        names: dict[str, tuple[int, int]] = {}
        for name, font in resources.items():
            names[name] = font.objgen
            _collect(font, found, order)
        numbering = {objgen: FIRST_FONT_OBJECT + i for i, objgen in enumerate(order)}
        bodies = tuple(_object_body(found[objgen], numbering) for objgen in order)
        fonts = {str(name): _read_font(resources[name]) for name in names}
        font_numbers = {str(name): numbering[objgen] for name, objgen in names.items()}
    regular_name, bold_name = sorted(fonts)
    return _Template(
        objects=bodies,
        font_objects={"F1": font_numbers[regular_name], "F2": font_numbers[bold_name]},
        regular=_with_resource(fonts[regular_name], "F1"),
        bold=_with_resource(fonts[bold_name], "F2"),
    )


def _with_resource(font: _Font, resource: str) -> _Font:
    return _Font(resource, font.to_cid, font.widths, font.default_width)


def _collect(
    obj: object, found: dict[tuple[int, int], pikepdf.Object], order: list[tuple[int, int]]
) -> None:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        if obj.objgen in found:
            return
        found[obj.objgen] = obj
        order.append(obj.objgen)
    if isinstance(obj, pikepdf.Stream):
        for value in obj.stream_dict.values():
            _collect(value, found, order)
    elif isinstance(obj, pikepdf.Dictionary):
        for value in obj.values():
            _collect(value, found, order)
    elif isinstance(obj, pikepdf.Array):
        for value in obj:
            _collect(value, found, order)


_REF = re.compile(rb"(\d+) (\d+) R\b")


def _object_body(obj: object, numbering: dict[tuple[int, int], int]) -> bytes:
    """The object's PDF syntax with references renumbered (font dicts hold no strings that could clash)."""
    def renumber(text: bytes) -> bytes:
        return _REF.sub(lambda m: b"%d 0 R" % numbering[(int(m[1]), int(m[2]))], text)

    if isinstance(obj, pikepdf.Stream):
        data = obj.read_raw_bytes()
        entries = {str(k): v for k, v in obj.stream_dict.items() if k != "/Length"}
        head = pikepdf.Dictionary(entries).unparse(resolved=False)
        head = renumber(head)[:-2].rstrip() + b" /Length %d >>" % len(data)
        return head + b"\nstream\n" + data + b"\nendstream"
    assert isinstance(obj, pikepdf.Object)
    return renumber(obj.unparse(resolved=True))


def _read_font(font: object) -> _Font:
    assert isinstance(font, pikepdf.Dictionary)
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    to_cid: dict[str, int] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for cid, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            char = bytes.fromhex(uni).decode("utf-16-be")
            if int(cid, 16) and char not in to_cid:
                to_cid[char] = int(cid, 16)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, start in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = ord(bytes.fromhex(start).decode("utf-16-be"))
            for offset, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                to_cid.setdefault(chr(first + offset), cid)
    descendant = font.DescendantFonts[0]
    widths: dict[int, int] = {}
    items = list(descendant.get("/W", []))
    i = 0
    while i < len(items):
        first_cid = int(items[i])
        if isinstance(items[i + 1], pikepdf.Array):
            for offset, width in enumerate(items[i + 1]):
                widths[first_cid + offset] = int(width)
            i += 2
        else:
            for cid in range(first_cid, int(items[i + 1]) + 1):
                widths[cid] = int(items[i + 2])
            i += 3
    return _Font("", to_cid, widths, int(descendant.get("/DW", 1000)))


# --------------------------------------------------------------------------- layout


@dataclass
class _Page:
    ops: list[str] = field(default_factory=list)
    image: int = 0
    """Bytes of this page's image (0: none)."""
    image_box: tuple[float, float, float, float] = (0, 0, 0, 0)
    _stream: bytes | None = None

    def text_stream(self) -> bytes:
        """The page's text and lines as a compressed content stream object (made once)."""
        if self._stream is None:
            content = zlib.compress("\n".join(self.ops).encode("ascii"), 6)
            self._stream = b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        return self._stream


class _Layout:
    def __init__(self, template: _Template) -> None:
        self.t = template
        self.pages: list[_Page] = [_Page()]
        self.y = TOP

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = TOP

    def need(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.new_page()

    def text(self, x: float, y: float, text: str, size: float, bold: bool = False) -> None:
        font = self.t.bold if bold else self.t.regular
        self.page.ops.append(
            f"BT /{font.resource} {size:g} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm <{font.encode(text)}> Tj ET"
        )

    def centred(self, centre: float, y: float, text: str, size: float, bold: bool = False) -> None:
        font = self.t.bold if bold else self.t.regular
        self.text(centre - font.width(text, size) / 2, y, text, size, bold)

    def rule(self, x1: float, x2: float, y: float) -> None:
        self.page.ops.append(f"0.6 w {x1:.2f} {y:.2f} m {x2:.2f} {y:.2f} l S")

    def wrap(self, text: str, size: float, width: float, bold: bool = False, indent: float = 0) -> list[str]:
        font = self.t.bold if bold else self.t.regular
        space = font.width(" ", size)
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        limit = width - indent
        for word in text.split():
            word_width = font.width(word, size)
            if line and used + space + word_width > limit:
                lines.append(" ".join(line))
                line, used, limit = [word], word_width, width
            else:
                used += (space if line else 0) + word_width
                line.append(word)
        if line:
            lines.append(" ".join(line))
        return lines

    def paragraph(self, text: str, size: float, indent: float = 10 * MM, bold: bool = False) -> None:
        leading = size * 1.4
        for i, line in enumerate(self.wrap(text, size, RIGHT - LEFT, bold, indent)):
            self.need(leading)
            self.y -= leading
            self.text(LEFT + (indent if i == 0 else 0), self.y, line, size, bold)
        self.y -= size * 0.4

    def centred_block(self, text: str, size: float, bold: bool, width: float, centre: float) -> None:
        leading = size * 1.35
        for line in self.wrap(text, size, width, bold):
            self.need(leading)
            self.y -= leading
            self.centred(centre, self.y, line, size, bold)


def _layout(content: AdminDocument, template: _Template) -> list[_Page]:
    lay = _Layout(template)
    left_centre = LEFT + 37 * MM
    right_centre = RIGHT - 50 * MM
    y0 = TOP
    # Left header column: cơ quan chủ quản, cơ quan ban hành, số và ký hiệu.
    y = y0
    if content.organ_parent:
        y -= 13
        lay.centred(left_centre, y, _clean(content.organ_parent), 10.5)
    y -= 13
    lay.centred(left_centre, y, _clean(content.organ_name), 10.5, bold=True)
    lay.rule(left_centre - 15 * MM, left_centre + 15 * MM, y - 5)
    y -= 24
    lay.centred(left_centre, y, _clean(content.number_notation), 10.5)
    if content.mark:
        y -= 22
        lay.centred(left_centre, y, _clean(content.mark), 14, bold=True)
    left_bottom = y
    # Right header column: quốc hiệu, tiêu ngữ, địa danh và ngày tháng.
    y = y0 - 13
    lay.centred(right_centre, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10.5, bold=True)
    y -= 14
    motto = "Độc lập - Tự do - Hạnh phúc"
    lay.centred(right_centre, y, motto, 11.5, bold=True)
    half = template.bold.width(motto, 11.5) / 2
    lay.rule(right_centre - half, right_centre + half, y - 5)
    y -= 24
    lay.centred(right_centre, y, _clean(content.place_date), 10.5)
    lay.y = min(left_bottom, y) - 20
    # Tên loại và trích yếu.
    lay.centred_block(_clean(content.type_name).upper(), 14, True, RIGHT - LEFT, (LEFT + RIGHT) / 2)
    lay.centred_block(_clean(content.subject), 12, True, RIGHT - LEFT - 20 * MM, (LEFT + RIGHT) / 2)
    lay.rule((LEFT + RIGHT) / 2 - 20 * MM, (LEFT + RIGHT) / 2 + 20 * MM, lay.y - 6)
    lay.y -= 18
    for para in content.body:
        lay.paragraph(_clean(para), 11)
    _signature(lay, content)
    return lay.pages


def _signature(lay: _Layout, content: AdminDocument) -> None:
    block = 11 * 1.4 * (len(content.recipients) + 2) + 70
    lay.need(block)
    top = lay.y - 8
    centre = RIGHT - 40 * MM
    y = top
    for line in (content.signer_authority, content.signer_position):
        if line:
            y -= 14
            lay.centred(centre, y, _clean(line).upper(), 11, bold=True)
    y -= 60
    lay.centred(centre, y, _clean(content.signer_name), 11, bold=True)
    y_left = top - 14
    lay.text(LEFT, y_left, "Nơi nhận:", 10, bold=True)
    for recipient in content.recipients:
        y_left -= 12
        lay.text(LEFT, y_left, f"- {_clean(recipient)}", 9)
    lay.y = min(y, y_left) - 10


def _clean(text: str) -> str:
    """NFC, and characters the embedded font lacks replaced by their base letter or '?'."""
    template = _template()
    text = unicodedata.normalize("NFC", text)
    if set(text) <= template.charset:
        return text
    out = []
    for ch in text:
        if template.regular.covers(ch) or ch in "\n\t":
            out.append(" " if ch in "\n\t" else ch)
            continue
        base = unicodedata.normalize("NFD", ch)[:1]
        out.append(base if template.regular.covers(base) else "?")
    return "".join(out)


# --------------------------------------------------------------------------- serialisation


@dataclass(frozen=True)
class _Noise:
    """`length` bytes of paper-grain noise, produced while writing."""

    length: int
    seed: int

    def chunks(self) -> Iterator[bytes]:
        rng = random.Random(self.seed)
        left = self.length
        while left > 0:
            n = min(left, NOISE_CHUNK)
            yield rng.randbytes(n).translate(_PAPER)
            left -= n


_Chunk = bytes | _Noise


@dataclass
class RenderedPdf:
    """A PDF ready to be written; its size is known before any padding byte exists."""

    parts: list[_Chunk]
    pages: int

    @property
    def size(self) -> int:
        return sum(p.length if isinstance(p, _Noise) else len(p) for p in self.parts)

    def chunks(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, _Noise):
                yield from part.chunks()
            else:
                yield part

    def write_to(self, out: BinaryIO) -> tuple[int, str]:
        """Write the PDF; returns (size, sha256 hex)."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.chunks():
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()

    def digest(self) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        for chunk in self.chunks():
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks())


def render_pdf(spec: PdfSpec) -> RenderedPdf:
    template = _template()
    pages = _layout(spec.content, template)
    if spec.layered:
        for page in pages:
            page.image_box = (0, 0, PAGE_WIDTH, PAGE_HEIGHT)
    base = _assemble(spec, template, pages, images=[0] * len(pages), pad=0)
    if spec.target_bytes <= base.size:
        return base
    budget = spec.target_bytes - base.size
    if budget < _MIN_IMAGE_BUDGET:
        return _assemble(spec, template, pages, images=[0] * len(pages), pad=budget)
    if not spec.layered:
        pages.append(_appendix_page(template))
    image_pages = pages if spec.layered else pages[-1:]
    return _fit(spec, template, pages, image_pages, budget)


def _appendix_page(template: _Template) -> _Page:
    lay = _Layout(template)
    lay.centred((LEFT + RIGHT) / 2, TOP - 14, "PHỤ LỤC", 13, bold=True)
    lay.centred((LEFT + RIGHT) / 2, TOP - 32, "Ảnh chụp tài liệu kèm theo", 11)
    page = lay.page
    page.image_box = (LEFT, BOTTOM, RIGHT - LEFT, TOP - 50 - BOTTOM)
    return page


def _fit(
    spec: PdfSpec, template: _Template, pages: list[_Page], image_pages: list[_Page], budget: int
) -> RenderedPdf:
    """Size the images so the file is exactly `spec.target_bytes` (or as close as text allows)."""
    overhead = 260 * len(image_pages) + (260 if not spec.layered else 0)
    for _ in range(4):
        per_page = max(0, (budget - overhead) // len(image_pages))
        for page in image_pages:
            page.image = per_page
        images = [p.image for p in pages]
        trial = _assemble(spec, template, pages, images, pad=0)
        excess = trial.size - spec.target_bytes
        if excess <= 0:
            return _assemble(spec, template, pages, images, pad=-excess)
        overhead += excess + len(image_pages) * 64
    return trial


_MIN_IMAGE_BUDGET = 4096
"""Below this many missing bytes a comment pads the file instead of an image (an appendix page costs more)."""
_IMAGE_WIDTH = 1240
"""Pixels per row of the padding image (an A4 width at 150 dpi)."""


def _image_shape(size: int) -> tuple[int, int]:
    if size <= 0:
        return 0, 0
    width = min(_IMAGE_WIDTH, size)
    return width, size // width


def _assemble(
    spec: PdfSpec, template: _Template, pages: list[_Page], images: list[int], pad: int
) -> RenderedPdf:
    objects: list[list[_Chunk]] = [[] for _ in range(3)]
    objects.extend([[body] for body in template.objects])
    fonts = " ".join(f"/{name} {number} 0 R" for name, number in template.font_objects.items())
    page_numbers: list[int] = []
    for index, (page, image_size) in enumerate(zip(pages, images, strict=True)):
        width, height = _image_shape(image_size)
        contents: list[int] = []
        xobject = ""
        if width and height:
            image_number = len(objects) + 1
            noise = _Noise(width * height, spec.seed * 1000 + index)
            objects.append(
                [
                    (
                        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                        f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Length {noise.length} >>\nstream\n"
                    ).encode(),
                    noise,
                    b"\nendstream",
                ]
            )
            x, y, w, h = page.image_box
            draw = f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {y:.2f} cm /Im1 Do Q".encode("ascii")
            objects.append([b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream"])
            contents.append(len(objects))
            xobject = f" /XObject << /Im1 {image_number} 0 R >>"
        objects.append([page.text_stream()])
        contents.append(len(objects))
        refs = " ".join(f"{n} 0 R" for n in contents)
        objects.append(
            [
                (
                    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                    f"/Resources << /Font << {fonts} >>{xobject} >> /Contents [{refs}] >>"
                ).encode()
            ]
        )
        page_numbers.append(len(objects))
    objects[0] = [b"<< /Type /Catalog /Pages 2 0 R /Lang (vi-VN) >>"]
    kids = " ".join(f"{n} 0 R" for n in page_numbers)
    objects[1] = [f"<< /Type /Pages /Kids [{kids}] /Count {len(page_numbers)} >>".encode()]
    objects[2] = [_info(spec)]
    return _serialise(objects, spec, pad, len(pages))


def _pdf_text(text: str) -> str:
    return "<FEFF" + unicodedata.normalize("NFC", text).encode("utf-16-be").hex().upper() + ">"


def _pdf_date(moment: datetime) -> str:
    stamp = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.strftime("%z") or "+0000"
    return f"{stamp}{offset[0]}{offset[1:3]}'{offset[3:5]}'"


def _info(spec: PdfSpec) -> bytes:
    title = spec.title or spec.content.subject
    date = _pdf_date(spec.created)
    return (
        f"<< /Title {_pdf_text(title)} /Author {_pdf_text(spec.content.organ_name)} "
        f"/Creator (earchive test-data generator) /Producer (earchive + fpdf2 font template) "
        f"/CreationDate ({date}) /ModDate ({date}) >>"
    ).encode("ascii")


def _serialise(objects: list[list[_Chunk]], spec: PdfSpec, pad: int, pages: int) -> RenderedPdf:
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    parts: list[_Chunk] = [header]
    offsets: list[int] = []
    position = len(header)
    for number, body in enumerate(objects, start=1):
        offsets.append(position)
        head = b"%d 0 obj\n" % number
        parts.append(head)
        position += len(head)
        for chunk in body:
            parts.append(chunk)
            position += chunk.length if isinstance(chunk, _Noise) else len(chunk)
        parts.append(b"\nendobj\n")
        position += 8
    if pad:
        # A comment line brings the file to its exact target size.
        filler = b"%" + b" " * max(0, pad - 2) + b"\n" if pad >= 2 else b"\n"
        parts.append(filler)
        position += len(filler)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)]
    xref.extend(b"%010d 00000 n \n" % offset for offset in offsets)
    file_id = hashlib.md5(f"{spec.seed}:{spec.content.number_notation}:{spec.title}".encode()).hexdigest()
    trailer = (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R /ID [<{file_id}> <{file_id}>] >>\n"
        f"startxref\n{position}\n%%EOF\n"
    ).encode()
    parts.append(b"".join(xref) + trailer)
    return RenderedPdf(parts, pages)


def write_pdf(spec: PdfSpec, path: Path) -> tuple[int, str]:
    """Write one PDF to `path`; returns (size, sha256)."""
    rendered = render_pdf(spec)
    with path.open("wb") as out:
        return rendered.write_to(out)


def extract_text(data: bytes) -> str:
    """Text of a PDF through its fonts' ToUnicode maps (what search and copy-paste see).

    A small extractor for the generator's own files and tests: it reads every
    `Tj`/`TJ` string of every page with pikepdf and maps codes through the
    font's ToUnicode CMap; lines are separated by newlines.
    """
    lines: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            maps = {str(name): _unicode_map(font) for name, font in page.Resources.get("/Font", {}).items()}
            current: dict[int, str] = {}
            for instruction in pikepdf.parse_content_stream(page):
                if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                    continue
                operands, op = instruction.operands, str(instruction.operator)
                if op == "Tf":
                    current = maps.get(str(operands[0]), {})
                elif op == "Tj":
                    lines.append(_decode(bytes(operands[0]), current))
                elif op == "TJ":
                    lines.append(
                        "".join(_decode(bytes(s), current) for s in operands[0] if isinstance(s, pikepdf.String))
                    )
    return "\n".join(lines)


def _unicode_map(font: object) -> dict[int, str]:
    assert isinstance(font, pikepdf.Dictionary)
    result: dict[int, str] = {}
    if "/ToUnicode" not in font:
        return result
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for cid, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            result[int(cid, 16)] = bytes.fromhex(uni).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, start in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = ord(bytes.fromhex(start).decode("utf-16-be"))
            for offset, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                result[cid] = chr(first + offset)
    return result


def _decode(raw: bytes, cmap: dict[int, str]) -> str:
    return "".join(cmap.get(int.from_bytes(raw[i : i + 2], "big"), "\ufffd") for i in range(0, len(raw) - 1, 2))
