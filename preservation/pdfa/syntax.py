"""File-structure rules of PDF/A that only the raw bytes can show (ISO 19005-1/-2/-3 clause 6.1).

A PDF library repairs or hides these on reading (qpdf recovers a wrong stream
length, rebuilds a broken cross-reference table), so they are checked on the
bytes: the header and its binary comment, what follows `%%EOF`, the syntax of
the cross-reference sections, the `N G obj` / `endobj` keywords of every object
and the `stream` / `endstream` keywords and `/Length` of every stream.

The file is memory-mapped, not read: only the pages touched (header, tail,
cross-reference sections, object headers and stream ends) are loaded.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

_WS = b"\x00\t\n\x0c\r "
_EOL = (b"\r\n", b"\r", b"\n")
_HEADER_1 = re.compile(rb"%PDF-\d\.\d")
_HEADER_2 = re.compile(rb"%PDF-1\.[0-7](\r\n|\r|\n)")
_STARTXREF = re.compile(rb"startxref[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+%%EOF")
_OBJ_HEADER = re.compile(rb"(\d+)([\x00\t\n\x0c\r ]+)(\d+)([\x00\t\n\x0c\r ]+)obj")
_SUBSECTION = re.compile(rb"(\d+)([ \t\x00\x0c]+)(\d+)[ \t\x00\x0c]*(\r\n|\r|\n)")
_STREAM_KEYWORD = re.compile(rb">>[\x00\t\n\x0c\r ]*stream")
_PREV = re.compile(rb"/Prev[\x00\t\n\x0c\r ]+(\d+)")
_TAIL_BYTES = 2048
_MAX_XREF_SECTIONS = 1000


@dataclass(frozen=True)
class SyntaxViolation:
    rule_id: str
    """veraPDF notation for the part checked: `6.1.7-1` (part 1), `6.1.7.1-1` (parts 2 and 3)."""
    where: str
    message: str


def _rule(part: int, part1: str, part23: str) -> str:
    return part1 if part == 1 else part23


class _Checker:
    def __init__(self, data: mmap.mmap | bytes, part: int) -> None:
        self.data = data
        self.part = part
        self.size = len(data)
        self.violations: list[SyntaxViolation] = []

    def deny(self, part1: str, part23: str, where: str, message: str) -> None:
        self.violations.append(SyntaxViolation(_rule(self.part, part1, part23), where, message))

    # --- header and trailer ---------------------------------------------------

    def header(self) -> None:
        head = bytes(self.data[:1024])
        if self.part == 1:
            match = _HEADER_1.match(head)
            if match is None:
                self.deny("6.1.2-1", "6.1.2-1", "header", "the file does not start with %PDF-n.m at byte 0")
                return
            end = match.end()
            eol = re.match(rb"[ \t]*(\r\n|\r|\n)", head[end:])
            comment_at = end + eol.end() if eol else -1
        else:
            match = _HEADER_2.match(head)
            if match is None:
                self.deny("6.1.2-1", "6.1.2-1", "header", "the file does not start with %PDF-1.n and an EOL at byte 0")
                return
            comment_at = match.end()
        comment = head[comment_at : comment_at + 5] if comment_at >= 0 else b""
        if len(comment) < 5 or comment[0:1] != b"%" or any(byte <= 127 for byte in comment[1:5]):
            self.deny(
                "6.1.2-2", "6.1.2-2", "header",
                "the header is not followed by a comment of at least four bytes above 127",
            )

    def after_eof(self) -> int | None:
        """Check what follows the last %%EOF; return the startxref offset."""
        tail_start = max(0, self.size - _TAIL_BYTES)
        tail = bytes(self.data[tail_start:])
        eof = tail.rfind(b"%%EOF")
        if eof < 0:
            self.deny("6.1.3-3", "6.1.3-3", "trailer", "the file has no %%EOF marker")
            return None
        rest = tail[eof + 5 :]
        if rest not in (b"", *_EOL):
            self.deny(
                "6.1.3-3", "6.1.3-3", "trailer",
                f"{len(rest)} bytes follow the last %%EOF (only one optional EOL is allowed)",
            )
        matches = list(_STARTXREF.finditer(tail[: eof + 5]))
        return int(matches[-1].group(1)) if matches else None

    # --- cross-reference sections ----------------------------------------------

    def xref_sections(self, start: int | None) -> None:
        offset = start
        seen: set[int] = set()
        while offset is not None and offset not in seen and len(seen) < _MAX_XREF_SECTIONS:
            seen.add(offset)
            if offset >= self.size:
                self.deny(
                    "6.1.4-1", "6.1.4-1", "trailer", f"startxref/Prev offset {offset} is past the end of the file"
                )
                return
            if bytes(self.data[offset : offset + 4]) == b"xref":
                offset = self._xref_table(offset)
            elif _OBJ_HEADER.match(bytes(self.data[offset : offset + 64])):
                return  # a cross-reference stream: no keyword syntax to check
            else:
                self.deny(
                    "6.1.4-1", "6.1.4-1", f"offset {offset}",
                    "startxref/Prev does not point at a cross-reference section",
                )
                return

    def _xref_table(self, offset: int) -> int | None:
        window = bytes(self.data[offset : offset + 64])
        eol = re.match(rb"xref(\r\n|\r|\n)(?=\d)", window)
        if eol is None:
            self.deny(
                "6.1.4-2", "6.1.4-2", f"xref at {offset}",
                "the xref keyword and the subsection header are not separated by a single EOL",
            )
            found = re.match(rb"xref[\x00\t\n\x0c\r ]*", window)
            position = offset + (found.end() if found else 4)
        else:
            position = offset + eol.end()
        while True:
            line = bytes(self.data[position : position + 64])
            subsection = _SUBSECTION.match(line)
            if subsection is None:
                break
            if subsection.group(2) != b" " and self.part == 1:
                self.deny(
                    "6.1.4-1", "6.1.4-1", f"xref at {offset}",
                    "a subsection header's start and count are not separated by a single space",
                )
            count = int(subsection.group(3))
            position += subsection.end() + 20 * count
        trailer_end = self.data.find(b"startxref", position)
        trailer = bytes(self.data[position : trailer_end if trailer_end > 0 else position + 4096])
        prev = _PREV.search(trailer)
        return int(prev.group(1)) if prev else None

    # --- objects and streams ---------------------------------------------------

    def objects(self, pdf: pikepdf.Pdf) -> None:
        for (number, generation), entry in _in_file_objects(pdf):
            self._object(pdf, number, generation, entry)

    def _object(self, pdf: pikepdf.Pdf, number: int, generation: int, offset: int) -> None:
        where = f"obj {number} {generation}"
        header = _OBJ_HEADER.match(bytes(self.data[offset : offset + 64]))
        if header is None or int(header.group(1)) != number:
            self.deny("6.1.4-1", "6.1.4-1", where, f"the cross-reference offset {offset} does not point at the object")
            return
        spacing_ok = (
            len(header.group(2)) == 1
            and len(header.group(4)) == 1
            and offset > 0
            and self.data[offset - 1] in b"\r\n"
        )
        after_obj = offset + header.end()
        if not spacing_ok or self.data[after_obj : after_obj + 1] not in (b"\r", b"\n"):
            self.deny(
                "6.1.8-1", "6.1.9-1", where,
                "object number, generation and obj keyword are not separated by single white-space "
                "characters, or the object is not preceded / obj not followed by an EOL",
            )
        body_end = after_obj
        obj = _get_object(pdf, number, generation)
        if isinstance(obj, pikepdf.Stream):
            body_end = self._stream(obj, after_obj, where) or after_obj
        endobj = self.data.find(b"endobj", body_end)
        if endobj < 0:
            self.deny("6.1.8-1", "6.1.9-1", where, "the object has no endobj keyword")
            return
        before = self.data[endobj - 1 : endobj]
        after = self.data[endobj + 6 : endobj + 7]
        if before not in (b"\r", b"\n") or after not in (b"\r", b"\n", b""):
            self.deny("6.1.8-1", "6.1.9-1", where, "the endobj keyword is not preceded and followed by an EOL")

    def _stream(self, obj: pikepdf.Stream, after_obj: int, where: str) -> int | None:
        keyword = _STREAM_KEYWORD.search(self.data, after_obj, min(self.size, after_obj + 1_000_000))
        if keyword is None:
            return None
        start = keyword.end()
        if self.data[start : start + 2] == b"\r\n":
            data_start = start + 2
        elif self.data[start : start + 1] == b"\n":
            data_start = start + 1
        else:
            self.deny(
                "6.1.7-2", "6.1.7.1-2", where,
                "the stream keyword is not followed by CR LF or by a single LF",
            )
            data_start = start + (1 if self.data[start : start + 1] == b"\r" else 0)
        length = _declared_length(obj)
        if length is not None and 0 <= length <= self.size - data_start:
            end = data_start + length
            tail = bytes(self.data[end : end + 11])
            if re.match(rb"(\r\n|\r|\n)endstream", tail):
                return end
        found = self.data.find(b"endstream", data_start)
        if found < 0:
            self.deny("6.1.7-1", "6.1.7.1-1", where, "the stream has no endstream keyword")
            return None
        eol = 2 if self.data[found - 2 : found] == b"\r\n" else 1 if self.data[found - 1] in b"\r\n" else 0
        real = found - eol - data_start
        if eol == 0:
            self.deny("6.1.7-2", "6.1.7.1-2", where, "the endstream keyword is not preceded by an EOL")
        if length != real:
            self.deny("6.1.7-1", "6.1.7.1-1", where, f"/Length is {length}, the stream holds {real} bytes")
        return found + 9


def _in_file_objects(pdf: pikepdf.Pdf) -> Iterator[tuple[tuple[int, int], int]]:
    for key, entry in pdf.get_xref_table().items():
        if entry.type == 1 and entry.offset is not None:
            yield key, int(entry.offset)


def _get_object(pdf: pikepdf.Pdf, number: int, generation: int) -> Any:
    try:
        return pdf.get_object(number, generation)
    except (pikepdf.PdfError, ValueError, RuntimeError):
        return None


def _declared_length(obj: pikepdf.Stream) -> int | None:
    try:
        value = obj.stream_dict.get("/Length")
    except (pikepdf.PdfError, ValueError, RuntimeError):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def check_file_structure(path: Path, pdf: pikepdf.Pdf, part: int) -> list[SyntaxViolation]:
    """Every file-structure violation of ISO 19005-`part` clause 6.1 that the bytes show."""
    with path.open("rb") as handle:
        try:
            data: mmap.mmap | bytes = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            data = b""
        try:
            checker = _Checker(data, part)
            _run(checker, pdf)
            return checker.violations
        finally:
            if isinstance(data, mmap.mmap):
                data.close()


def _run(checker: _Checker, pdf: pikepdf.Pdf) -> None:
    checker.header()
    checker.xref_sections(checker.after_eof())
    checker.objects(pdf)
