"""R-CK-2: format identification by content, and the format check.

Identification (`FormatIdentifier.identify`) works from what the gate's content
pass already holds for every file: the first and last 64 KiB and the size. Our
own signature code handles the formats an archive sees every day (PDF, ZIP and
OLE2 office containers, images, text, audio/video) in a few microseconds; libmagic
is asked only about what none of them recognise, on a small slice, because it
costs 40-200 µs per call. Containers are opened (`opener`) only when the
head/tail bytes cannot answer: an OOXML `[Content_Types].xml` or ODF manifest
that lies outside them, or an OLE2/CFB directory (read with `olefile`).

PRONOM PUIDs come from the tables below. Provenance, marked on each table:
"checked" = the PRONOM record (name, version, signature) was read when this was
written; "brief" = given by the project brief; "secondary" = other archives'
published PUID mappings agree, the PRONOM record itself was not read. Where a version
cannot be told from the bytes we hold, or no source was good enough, the PUID is
left empty rather than guessed.

Format PUIDs in `_SPECS`: checked fmt/484 (7z), x-fmt/264 (RAR), x-fmt/266 (gzip),
x-fmt/265 (tar), fmt/483 (EPUB), fmt/134 (MP3), fmt/131/132 (ASF, WMA), fmt/199 (MP4),
x-fmt/384 (QuickTime), fmt/445 (XLSM), fmt/126 (PPT), fmt/215 (PPTX), fmt/96 (HTML),
fmt/6 (WAVE), x-fmt/111 (text); brief fmt/40, fmt/412, fmt/61, fmt/214, x-fmt/18,
fmt/353, fmt/101, x-fmt/263; secondary fmt/5 (AVI), fmt/133 (WMV).

PDF facts (`encrypted`, `javascript`, `embedded_files`, `external_links`,
`uri_links`, `signed`, the XMP `pdfaid` claim) are read from the first and last
`PDF_SCAN_BYTES` only: best effort. Objects in the middle of a large file or inside
compressed object streams are not seen; the PDF/A validator (R-CK-3) parses the
whole structure later.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import importlib
import io
import logging
import re
import shutil
import struct
import tempfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import magic

from archive_core.findings import CheckContext, Code, Severity, declare
from archive_core.model import FileRole
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Policy
from ingest.package import FormatId, ObservedFile, PackageKind, ParsedPackage

HEAD_BYTES = 65536
TAIL_BYTES = 65536
FMT_VERSION = "1.0"
"""Version of our own signature code, named in `FormatId.tool` and the PREMIS event."""

PDF_SCAN_BYTES = 16384
"""PDF features are searched in this many bytes at each end. The scan costs about 0.5 µs per KiB
(measured), so 16 KiB at each end keeps a PDF near 20 µs; the whole head and tail would cost ~60 µs."""
MAGIC_SLICE = 8192
"""libmagic reads this much of the head; more costs time and changes nothing for the formats left to it."""
TEXT_SAMPLE = 16384
SPOOL_MEMORY = 8 * 1024**2
SPOOL_LIMIT = 512 * 1024**2
"""Largest non-seekable container stream we spool to inspect it; larger ones stay uninspected."""
ZIP_ENTRY_LIMIT = 100_000
"""A ZIP declaring more entries is not opened (its central directory alone could fill memory)."""
MEMBER_LIMIT = 1024**2
"""Most bytes we decompress from one container member ([Content_Types].xml, manifest, mimetype)."""

UNKNOWN_MIME = "application/octet-stream"
EMPTY_MIME = "application/x-empty"

AGENT = Agent("earchive.formats")
_LOG = logging.getLogger(__name__)
RULE = "R-CK-2"

# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------

EXT_MISMATCH = declare(
    "CK-FMT-EXT-MISMATCH", RULE, Severity.WARNING,
    "Phần mở rộng \u201c.{ext}\u201d của tệp {path} không khớp với định dạng nhận dạng theo nội dung: "
    "{format} (phần mở rộng phù hợp: {expected})",
    "Extension \u201c.{ext}\u201d of {path} does not match the format identified from its content: "
    "{format} (fitting extensions: {expected})",
)
MIME_MISMATCH = declare(
    "CK-FMT-MIME-MISMATCH", RULE, Severity.WARNING,
    "Kiểu MIME khai báo \u201c{declared}\u201d của tệp {path} khác kiểu nhận dạng theo nội dung "
    "\u201c{mime}\u201d ({format})",
    "Declared MIME type \u201c{declared}\u201d of {path} differs from the type identified from its content "
    "\u201c{mime}\u201d ({format})",
)
NOT_ALLOWED = declare(
    "CK-FMT-NOT-ALLOWED", RULE, Severity.ERROR,
    "Định dạng {format} của tệp {path} không thuộc danh mục định dạng được phép nộp lưu ({allowed})",
    "Format {format} of {path} is not in the list of formats allowed for submission ({allowed})",
)
UNKNOWN = declare(
    "CK-FMT-UNKNOWN", RULE, Severity.WARNING,
    "Không nhận dạng được định dạng của tệp {path} theo nội dung ({reason})",
    "The format of {path} could not be identified from its content ({reason_en})",
)
NESTED_ARCHIVE = declare(
    "CK-FMT-NESTED-ARCHIVE", RULE, Severity.ERROR,
    "Tệp {path} là tệp nén/lưu trữ ({format}); không chấp nhận tệp nén lồng bên trong gói",
    "{path} is an archive ({format}); archives nested inside a package are not accepted",
)
ENCRYPTED = declare(
    "CK-FMT-ENCRYPTED", RULE, Severity.ERROR,
    "Tệp {path} ({format}) được mã hóa hoặc đặt mật khẩu; tài liệu mã hóa không thể bảo quản lâu dài",
    "{path} ({format}) is encrypted or password-protected; encrypted documents cannot be preserved",
)
PDF_JAVASCRIPT = declare(
    "CK-FMT-PDF-JAVASCRIPT", RULE, Severity.WARNING,
    "Tệp PDF {path} chứa JavaScript: rủi ro cho bảo quản lâu dài",
    "PDF {path} contains JavaScript: a preservation risk",
)
PDF_EMBEDDED_FILES = declare(
    "CK-FMT-PDF-EMBEDDED-FILES", RULE, Severity.WARNING,
    "Tệp PDF {path} có tệp đính kèm nhúng bên trong: nội dung nhúng không được kiểm tra định dạng",
    "PDF {path} carries embedded files: their formats are not checked",
)
PDF_EXTERNAL_LINKS = declare(
    "CK-FMT-PDF-EXTERNAL-LINKS", RULE, Severity.WARNING,
    "Tệp PDF {path} tham chiếu tới tài liệu hoặc chương trình bên ngoài ({kinds}): tài liệu có thể không đầy đủ",
    "PDF {path} refers to external documents or programs ({kinds}): the document may be incomplete",
)
PDF_MALFORMED = declare(
    "CK-FMT-PDF-MALFORMED", RULE, Severity.WARNING,
    "Tệp PDF {path} có cấu trúc không đúng chuẩn: {problem}",
    "PDF {path} is malformed: {problem_en}",
)
RISK = declare(
    "CK-FMT-RISK", RULE, Severity.WARNING,
    "Tệp {path} ({format}) có đặc điểm gây rủi ro cho bảo quản: {risk}",
    "{path} ({format}) has a feature that puts preservation at risk: {risk_en}",
)

# ---------------------------------------------------------------------------
# The format table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatSpec:
    """A format we name: its MIME type, display name, fitting extensions and default PUID."""

    key: str
    mime: str
    name: str
    extensions: tuple[str, ...]
    puid: str | None = None
    archive: bool = False
    """An archive/compression format: not accepted inside a package."""


_SPECS: tuple[FormatSpec, ...] = (
    # documents
    FormatSpec("pdf", "application/pdf", "Acrobat PDF - Portable Document Format", ("pdf",)),
    FormatSpec("doc", "application/msword", "Microsoft Word Document 97-2003", ("doc", "dot"), "fmt/40"),
    FormatSpec("doc6", "application/msword", "Microsoft Word for Windows Document 6.0/95", ("doc", "dot")),
    FormatSpec("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "Microsoft Word for Windows 2007 onwards (DOCX)", ("docx",), "fmt/412"),
    FormatSpec("docm", "application/vnd.ms-word.document.macroEnabled.12",
               "Microsoft Word Macro-Enabled Document (DOCM)", ("docm",)),
    FormatSpec("dotx", "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
               "Microsoft Word Template (DOTX)", ("dotx",)),
    FormatSpec("xls", "application/vnd.ms-excel", "Microsoft Excel 97 Workbook (BIFF8)", ("xls", "xlt"), "fmt/61"),
    FormatSpec("xls5", "application/vnd.ms-excel", "Microsoft Excel 5.0/95 Workbook (BIFF5)", ("xls", "xlt")),
    FormatSpec("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "Microsoft Excel for Windows 2007 onwards (XLSX)", ("xlsx",), "fmt/214"),
    FormatSpec("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12",
               "Microsoft Excel Macro-Enabled (XLSM)", ("xlsm",), "fmt/445"),
    FormatSpec("xltx", "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
               "Microsoft Excel Template (XLTX)", ("xltx",)),
    FormatSpec("ppt", "application/vnd.ms-powerpoint", "Microsoft Powerpoint Presentation 97-2003",
               ("ppt", "pps", "pot"), "fmt/126"),
    FormatSpec("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
               "Microsoft Powerpoint for Windows 2007 onwards (PPTX)", ("pptx",), "fmt/215"),
    FormatSpec("pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
               "Microsoft Powerpoint Macro-Enabled Presentation (PPTM)", ("pptm",)),
    FormatSpec("ppsx", "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
               "Microsoft Powerpoint Show (PPSX)", ("ppsx",)),
    FormatSpec("ooxml-encrypted", "application/x-ole-storage",
               "Encrypted Office Open XML document (OLE2/CFB EncryptedPackage)", ("docx", "xlsx", "pptx")),
    FormatSpec("odt", "application/vnd.oasis.opendocument.text", "OpenDocument Text", ("odt", "ott")),
    FormatSpec("ods", "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument Spreadsheet", ("ods", "ots")),
    FormatSpec("odp", "application/vnd.oasis.opendocument.presentation", "OpenDocument Presentation",
               ("odp", "otp")),
    FormatSpec("odg", "application/vnd.oasis.opendocument.graphics", "OpenDocument Drawing", ("odg", "otg")),
    FormatSpec("epub", "application/epub+zip", "EPUB (ePub format)", ("epub",), "fmt/483"),
    FormatSpec("rtf", "application/rtf", "Rich Text Format", ("rtf",)),
    FormatSpec("txt", "text/plain", "Plain Text File", ("txt", "text", "asc", "log"), "x-fmt/111"),
    FormatSpec("csv", "text/csv", "Comma Separated Values", ("csv",), "x-fmt/18"),
    FormatSpec("tsv", "text/tab-separated-values", "Tab Separated Values", ("tsv", "tab")),
    FormatSpec("xml", "application/xml", "Extensible Markup Language",
               ("xml", "xsd", "xsl", "xslt", "rdf", "gml", "kml"), "fmt/101"),
    FormatSpec("html", "text/html", "Hypertext Markup Language", ("html", "htm"), "fmt/96"),
    FormatSpec("xhtml", "application/xhtml+xml", "Extensible Hypertext Markup Language",
               ("xhtml", "xht", "html", "htm")),
    FormatSpec("svg", "image/svg+xml", "Scalable Vector Graphics", ("svg",)),
    # images
    FormatSpec("jpeg", "image/jpeg", "JPEG", ("jpg", "jpeg", "jpe", "jfif")),
    FormatSpec("png", "image/png", "Portable Network Graphics", ("png",)),
    FormatSpec("gif", "image/gif", "Graphics Interchange Format", ("gif",)),
    FormatSpec("tiff", "image/tiff", "Tagged Image File Format", ("tif", "tiff"), "fmt/353"),
    FormatSpec("bigtiff", "image/tiff", "BigTIFF", ("tif", "tiff", "btf")),
    FormatSpec("bmp", "image/bmp", "Windows Bitmap", ("bmp", "dib")),
    FormatSpec("webp", "image/webp", "WebP", ("webp",)),
    FormatSpec("jp2", "image/jp2", "JPEG 2000 (JP2)", ("jp2",)),
    # audio / video
    FormatSpec("mp3", "audio/mpeg", "MPEG 1/2 Audio Layer 3", ("mp3",), "fmt/134"),
    FormatSpec("mpa", "audio/mpeg", "MPEG 1/2 Audio Layer I/II", ("mp2", "mpa", "mp1")),
    FormatSpec("aac", "audio/aac", "AAC (ADTS)", ("aac",)),
    FormatSpec("wav", "audio/x-wav", "Waveform Audio", ("wav", "wave"), "fmt/6"),
    FormatSpec("avi", "video/x-msvideo", "Audio/Video Interleaved Format", ("avi",), "fmt/5"),
    FormatSpec("mp4", "video/mp4", "MPEG-4 Media File", ("mp4", "m4v"), "fmt/199"),
    FormatSpec("m4a", "audio/mp4", "MPEG-4 Media File (audio)", ("m4a", "mp4"), "fmt/199"),
    FormatSpec("mov", "video/quicktime", "Quicktime", ("mov", "qt"), "x-fmt/384"),
    FormatSpec("3gp", "video/3gpp", "3GPP Media", ("3gp", "3g2")),
    FormatSpec("asf", "video/x-ms-asf", "Advanced Systems Format", ("asf",), "fmt/131"),
    FormatSpec("wmv", "video/x-ms-wmv", "Windows Media Video", ("wmv", "asf"), "fmt/133"),
    FormatSpec("wma", "audio/x-ms-wma", "Windows Media Audio", ("wma", "asf"), "fmt/132"),
    FormatSpec("mpeg-ps", "video/mpeg", "MPEG Program Stream", ("mpg", "mpeg", "mpe", "vob")),
    FormatSpec("mpeg-es", "video/mpeg", "MPEG Video Elementary Stream", ("mpg", "mpeg", "m1v", "m2v")),
    FormatSpec("mpeg-ts", "video/mp2t", "MPEG Transport Stream", ("ts", "mts", "m2ts")),
    FormatSpec("mkv", "video/x-matroska", "Matroska", ("mkv", "mka")),
    FormatSpec("webm", "video/webm", "WebM", ("webm",)),
    FormatSpec("ogg", "audio/ogg", "Ogg", ("ogg", "oga", "ogv", "opus")),
    FormatSpec("flac", "audio/flac", "Free Lossless Audio Codec", ("flac",)),
    FormatSpec("aiff", "audio/x-aiff", "Audio Interchange File Format", ("aif", "aiff", "aifc")),
    FormatSpec("flv", "video/x-flv", "Flash Video", ("flv",)),
    # archives and containers
    FormatSpec("zip", "application/zip", "ZIP Format", ("zip",), "x-fmt/263", archive=True),
    FormatSpec("7z", "application/x-7z-compressed", "7Zip format", ("7z",), "fmt/484", archive=True),
    FormatSpec("rar", "application/vnd.rar", "RAR Archive", ("rar",), archive=True),
    FormatSpec("gzip", "application/gzip", "GZIP Format", ("gz", "tgz"), "x-fmt/266", archive=True),
    FormatSpec("bzip2", "application/x-bzip2", "BZIP2 Compressed Archive", ("bz2", "tbz2"), archive=True),
    FormatSpec("xz", "application/x-xz", "XZ Compressed Archive", ("xz", "txz"), archive=True),
    FormatSpec("zstd", "application/zstd", "Zstandard Compressed Data", ("zst",), archive=True),
    FormatSpec("compress", "application/x-compress", "Unix compress", ("z",), archive=True),
    FormatSpec("tar", "application/x-tar", "Tape Archive Format", ("tar",), "x-fmt/265", archive=True),
    FormatSpec("cab", "application/vnd.ms-cab-compressed", "Microsoft Cabinet", ("cab",), archive=True),
    FormatSpec("iso", "application/x-iso9660-image", "ISO 9660 disk image", ("iso",), archive=True),
    FormatSpec("ole2", "application/x-ole-storage", "OLE2 Compound Document (CFB)", ()),
    FormatSpec("empty", EMPTY_MIME, "Empty file", ()),
    FormatSpec("unknown", UNKNOWN_MIME, "Unidentified binary data", ()),
)
SPECS: dict[str, FormatSpec] = {spec.key: spec for spec in _SPECS}
ARCHIVE_MIMES: frozenset[str] = frozenset(spec.mime for spec in _SPECS if spec.archive) | {
    "application/x-rar-compressed", "application/x-rar", "application/x-gzip", "application/x-zip-compressed",
    "application/x-lzip", "application/x-lzma", "application/x-arj", "application/x-lha", "application/x-cpio",
    "application/x-archive", "application/java-archive", "application/x-stuffit",
}

# PDF header version -> PUID ("Acrobat PDF 1.x - Portable Document Format"): 1.0-1.7 brief, 2.0 checked.
PDF_PUIDS: dict[str, str] = {
    "1.0": "fmt/14", "1.1": "fmt/15", "1.2": "fmt/16", "1.3": "fmt/17", "1.4": "fmt/18",
    "1.5": "fmt/19", "1.6": "fmt/20", "1.7": "fmt/276", "2.0": "fmt/1129",
}
# XMP pdfaid part + conformance -> PUID: brief (fmt/354 = PDF/A 1b checked). PDF/A-4: none taken.
PDFA_PUIDS: dict[str, str] = {
    "1A": "fmt/95", "1B": "fmt/354", "2A": "fmt/476", "2B": "fmt/477", "2U": "fmt/478",
    "3A": "fmt/479", "3B": "fmt/480", "3U": "fmt/481",
}
# ODF version (manifest:version, else office:version) -> PUID. Checked: fmt/136 (ODT 1.0), fmt/290 (its
# signature wants office:version="1.1"), fmt/1754-1756 (1.3). Brief: fmt/291, fmt/294, fmt/295.
# Secondary: fmt/292. From the same numbering, not otherwise confirmed: fmt/137, fmt/138, fmt/293.
ODF_PUIDS: dict[tuple[str, str], str] = {
    ("odt", "1.0"): "fmt/136", ("odt", "1.1"): "fmt/290", ("odt", "1.2"): "fmt/291", ("odt", "1.3"): "fmt/1756",
    ("ods", "1.0"): "fmt/137", ("ods", "1.1"): "fmt/294", ("ods", "1.2"): "fmt/295", ("ods", "1.3"): "fmt/1755",
    ("odp", "1.0"): "fmt/138", ("odp", "1.1"): "fmt/292", ("odp", "1.2"): "fmt/293", ("odp", "1.3"): "fmt/1754",
}
# JFIF version -> PUID: 1.01/1.02 brief; fmt/42 (1.00) secondary.
JFIF_PUIDS: dict[str, str] = {"1.00": "fmt/42", "1.01": "fmt/43", "1.02": "fmt/44"}
# Exif version tag -> PUID, checked: x-fmt/391 = Exif 2.2, fmt/645 = Exif 2.2.1. Others left empty.
EXIF_PUIDS: dict[str, str] = {"0220": "x-fmt/391", "0221": "fmt/645"}
PNG_PUIDS: dict[str, str] = {"1.0": "fmt/11", "1.1": "fmt/12", "1.2": "fmt/13"}  # brief
GIF_PUIDS: dict[str, str] = {"87a": "fmt/3", "89a": "fmt/4"}  # brief
# HTML by DOCTYPE: generic fmt/96 (checked), 2.0 fmt/97, 3.2 fmt/98, 4.0 fmt/99, 4.01 fmt/100, 5 fmt/471,
# XHTML 1.0 fmt/102, XHTML 1.1 fmt/103 (secondary).
HTML_PUIDS: dict[str, str] = {
    "2.0": "fmt/97", "3.2": "fmt/98", "4.0": "fmt/99", "4.01": "fmt/100", "5": "fmt/471",
    "xhtml-1.0": "fmt/102", "xhtml-1.1": "fmt/103",
}
# RIFF WAVE by fmt chunk: PCMWAVEFORMAT fmt/141, WAVEFORMATEX fmt/142, WAVEFORMATEXTENSIBLE fmt/143 (checked).
WAVE_PUIDS: dict[int, str] = {16: "fmt/141", 18: "fmt/142", 40: "fmt/143"}
# RTF (fmt/355 checked): PRONOM splits 1.0-1.9 by control words; only 1.9's markers (\colorschememapping, \afelev,
# {\*\datastore, {\*\defchp) are matched here, older RTF stays without PUID.
RTF_19_PUID = "fmt/355"
RTF_19_MARKERS = (rb"\colorschememapping", rb"\afelev", rb"{\*\datastore", rb"{\*\defchp")

# MIME aliases -> canonical type (both declared and identified types are canonicalised).
MIME_ALIASES: dict[str, str] = {
    "text/xml": "application/xml", "application/x-xml": "application/xml",
    "application/x-pdf": "application/pdf", "application/acrobat": "application/pdf",
    "applications/vnd.pdf": "application/pdf", "text/pdf": "application/pdf", "text/x-pdf": "application/pdf",
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/jfif": "image/jpeg",
    "image/x-png": "image/png", "image/tif": "image/tiff", "image/x-tiff": "image/tiff",
    "text/rtf": "application/rtf", "application/x-rtf": "application/rtf", "text/richtext": "application/rtf",
    "application/csv": "text/csv", "text/comma-separated-values": "text/csv", "text/x-csv": "text/csv",
    "application/doc": "application/msword", "application/vnd.ms-word": "application/msword",
    "application/x-msword": "application/msword",
    "application/excel": "application/vnd.ms-excel", "application/x-excel": "application/vnd.ms-excel",
    "application/x-msexcel": "application/vnd.ms-excel", "application/msexcel": "application/vnd.ms-excel",
    "application/mspowerpoint": "application/vnd.ms-powerpoint",
    "application/x-mspowerpoint": "application/vnd.ms-powerpoint",
    "application/x-zip-compressed": "application/zip", "application/x-zip": "application/zip",
    "application/x-rar-compressed": "application/vnd.rar", "application/x-rar": "application/vnd.rar",
    "application/x-gzip": "application/gzip", "application/x-7z": "application/x-7z-compressed",
    "audio/mp3": "audio/mpeg", "audio/x-mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg", "audio/x-mpeg-3": "audio/mpeg",
    "audio/wav": "audio/x-wav", "audio/wave": "audio/x-wav", "audio/vnd.wave": "audio/x-wav",
    "video/avi": "video/x-msvideo", "video/msvideo": "video/x-msvideo", "video/vnd.avi": "video/x-msvideo",
    "video/x-mpeg": "video/mpeg", "video/mpg": "video/mpeg", "video/x-mpg": "video/mpeg",
    "video/x-m4v": "video/mp4", "audio/x-m4a": "audio/mp4", "video/x-quicktime": "video/quicktime",
    "application/vnd.ms-asf": "video/x-ms-asf", "audio/x-ms-asf": "video/x-ms-asf",
    "application/xhtml+xml": "text/html", "application/x-ole-storage": "application/x-ole-storage",
    "application/x-cfb": "application/x-ole-storage", "application/cdfv2": "application/x-ole-storage",
    "application/x-tika-msoffice": "application/x-ole-storage",
    "audio/aiff": "audio/x-aiff", "audio/x-flac": "audio/flac", "application/ogg": "audio/ogg",
    "video/ogg": "audio/ogg", "image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp",
    "application/x-tar": "application/x-tar", "application/x-gtar": "application/x-tar",
    "application/x-iso9660": "application/x-iso9660-image",
}
GENERIC_MIMES = frozenset({UNKNOWN_MIME, "binary/octet-stream", "application/unknown", "application/binary", ""})
"""Declared types that claim nothing (`.xsd` declared as application/octet-stream): never a mismatch."""

_OOXML = ("docx", "docm", "dotx", "xlsx", "xlsm", "xltx", "pptx", "pptm", "ppsx")
_ZIP_OFFICE = (*_OOXML, "odt", "ods", "odp", "odg", "epub")
# Identified type -> broader declared types that are not wrong, only imprecise.
BROADER_DECLARATIONS: dict[str, frozenset[str]] = {
    **{SPECS[k].mime: frozenset({"application/zip"}) for k in _ZIP_OFFICE},
    **{SPECS[k].mime: frozenset({"application/x-ole-storage"}) for k in ("doc", "xls", "ppt")},
    "text/csv": frozenset({"text/plain"}),
    "text/tab-separated-values": frozenset({"text/plain"}),
    "video/x-ms-wmv": frozenset({"video/x-ms-asf"}),
    "audio/x-ms-wma": frozenset({"video/x-ms-asf"}),
    "audio/mp4": frozenset({"video/mp4"}),
    "image/svg+xml": frozenset({"application/xml"}),
}
_EXTRA_BROADER = {
    # An OOXML main content type declared instead of the package type is seen in the wild.
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset(
        {"application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"}
    ),
}
BROADER_DECLARATIONS.update(_EXTRA_BROADER)


@functools.lru_cache(maxsize=1024)
def canonical_mime(mime: str | None) -> str:
    """Lower-case type/subtype without parameters, aliases folded (`text/xml; charset=utf-8` → application/xml)."""
    if not mime:
        return ""
    base = mime.split(";", 1)[0].strip().lower()
    return MIME_ALIASES.get(base, base)


def mimes_equivalent(declared: str | None, identified: str) -> bool:
    """True when a declared MIME type agrees with an identified one (aliases, generic or broader types)."""
    left, right = canonical_mime(declared), canonical_mime(identified)
    if left in GENERIC_MIMES or left == right:
        return True
    return left in BROADER_DECLARATIONS.get(right, frozenset())


_FAMILY_BY_MIME: dict[str, str] = {}
for _spec in _SPECS:
    _FAMILY_BY_MIME.setdefault(canonical_mime(_spec.mime), _spec.key)
_FAMILY_BY_MIME["application/x-ole-storage"] = "ole2"


def format_family(mime: str) -> str:
    """Short family label of a MIME type (`pdf`, `docx`, `jpeg` …; `other` when not in our table)."""
    return _FAMILY_BY_MIME.get(canonical_mime(mime), "other")


def is_unknown(fmt: FormatId) -> bool:
    return canonical_mime(fmt.mime) in (UNKNOWN_MIME, EMPTY_MIME)


def is_nested_archive(fmt: FormatId) -> bool:
    """An archive or compressed stream that is not an office/e-book container."""
    return canonical_mime(fmt.mime) in _ARCHIVES


_ARCHIVES = frozenset(canonical_mime(m) for m in ARCHIVE_MIMES)


@dataclass(frozen=True)
class FormatPolicy:
    """`Policy.allowed_extensions` read as formats: a format is allowed when one of the extensions that
    fit it (its `extension_hint`) is on the list. `.doc` allows Word 97-2003 and 6.0/95 content but not a
    DOCX renamed `.doc`; `.xlsx` does not allow macro-enabled XLSM content."""

    allowed_extensions: frozenset[str]
    severity: Severity

    @classmethod
    def from_policy(cls, policy: Policy) -> FormatPolicy:
        try:
            severity = Severity(policy.disallowed_format_severity.lower())
        except ValueError:
            severity = Severity.ERROR
        return cls(frozenset(e.lower().lstrip(".") for e in policy.allowed_extensions), severity)

    def allows(self, fmt: FormatId) -> bool:
        return bool(self.allowed_extensions.intersection(fmt.extension_hint))

    def allowed_formats(self) -> list[FormatSpec]:
        return [spec for spec in _SPECS if self.allowed_extensions.intersection(spec.extensions)]


# ---------------------------------------------------------------------------
# Identification
# ---------------------------------------------------------------------------

Opener = Callable[[], BinaryIO]


def _libmagic_version() -> str:
    version_of: Callable[[], Any] = magic.version
    try:
        number = int(version_of())
    except Exception:  # an old libmagic without magic_version()
        return "unknown"
    return f"{number // 100}.{number % 100:02d}"


class FormatIdentifier:
    """Identifies formats by content. Create one per process; `identify` is safe from many threads.

    libmagic handles are not thread-safe (python-magic serialises each with a lock), so every thread
    gets its own pair of handles (`threading.local`): measured faster than one shared locked pair
    when two workers fall back to libmagic at once.
    """

    def __init__(self) -> None:
        self.libmagic_version = _libmagic_version()
        self.tool = f"libmagic {self.libmagic_version} + earchive-fmt {FMT_VERSION}"
        self._local = threading.local()

    # -- public -------------------------------------------------------------

    def identify(
        self,
        name: str,
        head: bytes,
        tail: bytes,
        size: int,
        opener: Callable[[], BinaryIO] | None = None,
    ) -> FormatId:
        view = _View(name, head, tail, size, opener, self.tool)
        if size == 0 or not head:
            return view.make("empty")
        for probe in _PROBES:
            try:
                found = probe(view)
            except Exception:  # hostile bytes must not stop the gate; the next probe or libmagic decides
                _LOG.warning("format probe %s failed on %s", probe.__name__, name, exc_info=True)
                continue
            if found is not None:
                return found
        return self._by_libmagic(view)

    def identify_path(self, path: str | Path, name: str | None = None) -> FormatId:
        """Identify a local file (reads only its head and tail, and more only for containers)."""
        file = Path(path)
        size = file.stat().st_size
        with file.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
            if size > HEAD_BYTES:
                stream.seek(max(size - TAIL_BYTES, 0))
                tail = stream.read(TAIL_BYTES)
            else:
                tail = head[-TAIL_BYTES:]
        return self.identify(name or file.name, head, tail, size, lambda: file.open("rb"))

    # -- libmagic -----------------------------------------------------------

    def _handles(self) -> tuple[Any, Any]:
        handles: tuple[Any, Any] | None = getattr(self._local, "handles", None)
        if handles is None:
            handles = (magic.Magic(mime=True), magic.Magic())
            self._local.handles = handles
        return handles

    def _by_libmagic(self, view: _View) -> FormatId:
        mime_handle, text_handle = self._handles()
        sample = view.head[:MAGIC_SLICE]
        try:
            mime = canonical_mime(str(mime_handle.from_buffer(sample)))
            description = str(text_handle.from_buffer(sample))
        except magic.MagicException:
            mime, description = UNKNOWN_MIME, "data"
        if mime in ("", UNKNOWN_MIME, "inode/x-empty", "application/x-empty") or description == "data":
            return view.make("unknown", name=f"Unidentified ({description})" if description != "data" else None)
        family = _FAMILY_BY_MIME.get(mime)
        hints = SPECS[family].extensions if family else ()
        return FormatId(mime=mime, name=description[:200], extension_hint=hints, tool=view.tool)


class _Default:
    """Marker: use the spec's own PUID."""


@dataclass
class _View:
    """What identification may look at: the name, head, tail and size, and a way to open the whole file."""

    name: str
    head: bytes
    tail: bytes
    size: int
    opener: Opener | None
    tool: str

    @property
    def whole(self) -> bool:
        return self.size <= len(self.head)

    @property
    def extension(self) -> str:
        return suffix_of(self.name)

    def make(
        self,
        key: str,
        *,
        version: str | None = None,
        puid: str | type[_Default] | None = _Default,
        name: str | None = None,
        container: str | None = None,
        features: tuple[str, ...] | list[str] = (),
    ) -> FormatId:
        spec = SPECS[key]
        chosen = spec.puid if puid is _Default else puid
        label = name or (f"{spec.name} {version}" if version else spec.name)
        return FormatId(
            mime=spec.mime,
            name=label,
            puid=chosen if isinstance(chosen, str) else None,
            version=version,
            extension_hint=spec.extensions,
            container=container,
            features=tuple(dict.fromkeys(features)),
            tool=self.tool,
        )

    def region(self, start: int, end: int) -> bytes | None:
        """File bytes [start, end) when head or tail holds them all, else None."""
        end = min(end, self.size)
        if start < 0 or start > end:
            return None
        if end <= len(self.head):
            return self.head[start:end]
        tail_start = self.size - len(self.tail)
        if start >= tail_start:
            return self.tail[start - tail_start : end - tail_start]
        return None

    def ends(self, window: int) -> list[bytes]:
        """The first and last `window` bytes, without scanning any byte twice."""
        first = self.head[:window]
        last_len = min(window, len(self.tail))
        uncovered = self.size - max(self.size - last_len, len(first))
        if uncovered <= 0:
            return [first]
        return [first, self.tail[-uncovered:]]


# -- PDF ---------------------------------------------------------------------

_PDF_HEADER = re.compile(rb"%PDF-(\d)\.(\d)")
# Alternatives grouped by first letter: measured ~30 % faster than a flat list on slash-dense PDFs.
_PDF_KEYS = re.compile(
    rb"/(E(?:ncrypt|mbeddedFiles?)|J(?:avaScript|S)|GoTo[RE]|Launch|ImportData|SubmitForm|URI|ByteRange|Metadata)"
)
_PDF_BODY = re.compile(rb"\d+\s+\d+\s+obj\b")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})")
_XREF_STREAM = re.compile(rb"\d+\s+\d+\s+obj\b")
_XREF_TABLE = re.compile(rb"(?<![A-Za-z])xref\s")
XREF_SLACK = 32
_PDFAID_PART = re.compile(rb"pdfaid:part(?:\s*>\s*|\s*=\s*[\"'])\s*(\d)")
_PDFAID_CONF = re.compile(rb"pdfaid:conformance(?:\s*>\s*|\s*=\s*[\"'])\s*([A-Za-z])")
_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_PDF_FEATURE = {
    b"Encrypt": "encrypted", b"JavaScript": "javascript", b"JS": "javascript",
    b"EmbeddedFiles": "embedded_files", b"EmbeddedFile": "embedded_files",
    b"GoToE": "embedded_files", b"GoToR": "external_links", b"Launch": "external_links",
    b"ImportData": "external_links", b"SubmitForm": "external_links", b"URI": "uri_links", b"ByteRange": "signed",
}
XMP_WINDOW = 16384


def _probe_pdf(view: _View) -> FormatId | None:
    """A PDF whose header starts the file (nearly every PDF; checked first because it is the common case)."""
    if not view.head.startswith(b"%PDF-"):
        return None
    return _pdf(view)


def _probe_pdf_late(view: _View) -> FormatId | None:
    """A header after leading junk (readers allow 1024 bytes) or a PDF body without a header; tried only
    after every other signature, since a ZIP or TAR holding a stored PDF also shows `%PDF-` early."""
    return _pdf(view)


def _pdf(view: _View) -> FormatId | None:
    header = _PDF_HEADER.search(view.head, 0, 1024 + 8)
    features: list[str] = []
    if header is None:
        if not _pdf_body_without_header(view):
            return None
        features.append("header_malformed")
        version = None
    else:
        version = f"{header.group(1).decode()}.{header.group(2).decode()}"
        if header.start() > 0:
            features.append("header_offset")
        if version not in PDF_PUIDS:
            features.append("unknown_version")
    if b"%%EOF" not in view.tail[-1024:]:
        features.append("eof_missing")
    if header is not None and not _startxref_valid(view):
        features.append("startxref_invalid")
    pdfa = _scan_pdf(view, features)
    puid = PDFA_PUIDS.get(pdfa or "") or (PDF_PUIDS.get(version) if version else None)
    if pdfa:
        features.append(f"pdfa:{pdfa}")
        label = f"Acrobat PDF/A - Portable Document Format (claims PDF/A-{pdfa[0]}{pdfa[1:].lower()})"
    elif version:
        label = f"Acrobat PDF {version} - Portable Document Format"
    else:
        label = "PDF with a malformed header"
    return view.make("pdf", version=version, puid=puid, name=label, features=features)


def _pdf_body_without_header(view: _View) -> bool:
    start = view.head[:1024].lstrip()
    if not start.startswith(b"%"):
        return False
    return _PDF_BODY.search(view.head, 0, 4096) is not None and (
        b"%%EOF" in view.tail[-1024:] or b"startxref" in view.tail[-4096:] or b"trailer" in view.tail[-4096:]
    )


def _startxref_valid(view: _View) -> bool:
    """False when the last `startxref` is missing or points (inside the bytes we hold) at no xref."""
    tail = view.tail
    at_keyword = tail.rfind(b"startxref", max(0, len(tail) - 1024))
    found = _STARTXREF.match(tail, at_keyword) if at_keyword >= 0 else None
    if found is None:
        return False
    offset = int(found.group(1))
    # Readers tolerate an offset a few bytes off (the corpus' reference hello_world.pdf is 5 off).
    start = max(0, offset - XREF_SLACK)
    around = view.region(start, offset + XREF_SLACK + 8)
    if around is None:
        return True  # the middle of a large file: not seen, not judged
    if _XREF_TABLE.search(around):
        return True
    at = view.region(offset, offset + 64)
    return at is not None and _XREF_STREAM.match(at.lstrip(b" \t\r\n\f\x00")) is not None


def _scan_pdf(view: _View, features: list[str]) -> str | None:
    """Add PDF features seen at both ends; return the XMP pdfaid claim (`2B`) if one is there."""
    claim: str | None = None
    for buf in view.ends(PDF_SCAN_BYTES):
        for match in _PDF_KEYS.finditer(buf):
            after = buf[match.end() : match.end() + 1]
            if after and after[0] in _NAME_CHARS:
                continue  # /EncryptMetadata, /URIs …: another name
            key = match.group(1)
            if key == b"Metadata":
                # `/Metadata 12 0 R` is the catalog's reference; the XMP stream's own dictionary is not.
                if claim is None and not buf[match.end() : match.end() + 3].strip().isdigit():
                    claim = _pdfaid(buf, match.end())
                continue
            features.append(_PDF_FEATURE[key])
    return claim


def _pdfaid(buf: bytes, start: int) -> str | None:
    window_end = min(len(buf), start + XMP_WINDOW)
    at = buf.find(b"pdfaid:", start, window_end)
    if at < 0:
        return None
    part = _PDFAID_PART.search(buf, at, window_end)
    if part is None:
        return None
    conformance = _PDFAID_CONF.search(buf, at, window_end)
    level = conformance.group(1).decode().upper() if conformance else ""
    return f"{part.group(1).decode()}{level}"


# -- ZIP containers ----------------------------------------------------------


@dataclass(frozen=True)
class _ZipEntry:
    name: str
    method: int
    flags: int
    compressed: int
    size: int
    offset: int


class _ZipIndex:
    """Central directory read from the tail when it is there; members read from head/tail or the opener."""

    def __init__(self, view: _View) -> None:
        self.view = view
        self.entries: dict[str, _ZipEntry] | None = None
        self._zip: zipfile.ZipFile | None = None
        self._stack = contextlib.ExitStack()
        self.inspected = True

    def __enter__(self) -> _ZipIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def names(self) -> list[str] | None:
        if self.entries is None:
            self.entries = _central_directory(self.view)
        if self.entries is not None:
            return list(self.entries)
        archive = self._archive()
        return archive.namelist() if archive is not None else None

    def read(self, member: str, limit: int = MEMBER_LIMIT) -> bytes | None:
        entry = self.entries.get(member) if self.entries else None
        if entry is not None:
            data = _member_from_view(self.view, entry, limit)
            if data is not None:
                return data
        archive = self._archive()
        if archive is None:
            return None
        try:
            with archive.open(member) as stream:
                return stream.read(limit)
        except (KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError,
                EOFError, zlib.error):
            return None

    def any_encrypted(self) -> bool:
        if self.entries is not None:
            return any(e.flags & 0x1 for e in self.entries.values())
        archive = self._archive()
        return archive is not None and any(info.flag_bits & 0x1 for info in archive.infolist())

    def _archive(self) -> zipfile.ZipFile | None:
        if self._zip is not None:
            return self._zip
        if not self.inspected or _declared_entries(self.view) > ZIP_ENTRY_LIMIT:
            self.inspected = False
            return None
        stream = _seekable(self.view, self._stack)
        if stream is None:
            self.inspected = False
            return None
        try:
            self._zip = self._stack.enter_context(zipfile.ZipFile(stream))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error):
            self.inspected = False
            return None
        return self._zip


def _declared_entries(view: _View) -> int:
    """Entry count from the end-of-central-directory record (0 when it is not in the tail)."""
    tail = view.tail
    eocd = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 65557))
    if eocd < 0 or eocd + 22 > len(tail):
        return 0
    count = int(struct.unpack_from("<H", tail, eocd + 10)[0])
    return ZIP_ENTRY_LIMIT + 1 if count == 0xFFFF else count  # 0xFFFF: ZIP64, count not told here


def _central_directory(view: _View) -> dict[str, _ZipEntry] | None:
    """Parse the ZIP central directory from the tail (None when it is not wholly there, or ZIP64)."""
    tail = view.tail
    eocd = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 65557))
    if eocd < 0 or eocd + 22 > len(tail):
        return None
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack_from("<4sHHHHIIH", tail, eocd)
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        return None
    eocd_file_offset = view.size - len(tail) + eocd
    # Bytes prepended to the archive (self-extractors) shift every offset by the same amount.
    shift = eocd_file_offset - cd_size - cd_offset
    directory = view.region(cd_offset + shift, cd_offset + shift + cd_size)
    if directory is None or shift < 0:
        return None
    entries: dict[str, _ZipEntry] = {}
    pos = 0
    for _ in range(count):
        if directory[pos : pos + 4] != b"PK\x01\x02" or pos + 46 > len(directory):
            return None
        flags, method = struct.unpack_from("<HH", directory, pos + 8)
        compressed, size, name_len, extra_len, comment_len = struct.unpack_from("<IIHHH", directory, pos + 20)
        offset = struct.unpack_from("<I", directory, pos + 42)[0]
        raw_name = directory[pos + 46 : pos + 46 + name_len]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        entries.setdefault(name, _ZipEntry(name, method, flags, compressed, size, offset + shift))
        pos += 46 + name_len + extra_len + comment_len
    return entries


def _member_from_view(view: _View, entry: _ZipEntry, limit: int) -> bytes | None:
    local = view.region(entry.offset, entry.offset + 30)
    if local is None or len(local) < 30 or local[:4] != b"PK\x03\x04" or entry.flags & 0x1:
        return None
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    start = entry.offset + 30 + name_len + extra_len
    data = view.region(start, start + entry.compressed)
    if data is None or len(data) < entry.compressed:
        return None
    if entry.method == 0:
        return data[:limit]
    if entry.method == 8:
        try:
            return zlib.decompressobj(-15).decompress(data, limit)
        except zlib.error:
            return None
    return None


def _seekable(view: _View, stack: contextlib.ExitStack[Any]) -> IO[bytes] | None:
    """The whole file as a seekable stream: the head itself, a real file, or a bounded spool."""
    if view.whole:
        return io.BytesIO(view.head)
    if view.opener is None:
        return None
    try:
        stream = stack.enter_context(view.opener())
    except OSError:
        return None
    if _is_real_file(stream):
        return stream
    if view.size > SPOOL_LIMIT:
        return None
    spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY))  # noqa: SIM115
    try:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
    except OSError:
        return None
    spool.seek(0)
    return spool


def _is_real_file(stream: IO[bytes]) -> bool:
    try:
        stream.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return False
    return stream.seekable()


_OOXML_MAIN: dict[str, str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "dotx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptm",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": "ppsx",
}
_OOXML_BY_PART = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
_CONTENT_TYPE = re.compile(rb"ContentType\s*=\s*[\"']([^\"']+)[\"']")
_ODF_BY_MIME = {SPECS[k].mime: k for k in ("odt", "ods", "odp", "odg")}
_ODF_VERSION = re.compile(rb"(?:manifest|office):version\s*=\s*[\"'](\d+\.\d+)[\"']")


def _probe_zip(view: _View) -> FormatId | None:
    if view.head[:4] not in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return None
    with _ZipIndex(view) as index:
        mimetype = _first_entry_mimetype(view.head)
        names = None
        if mimetype is None:
            names = index.names()
            if names is not None and "mimetype" in names:
                mimetype = (index.read("mimetype", 256) or b"").strip().decode("ascii", "replace")
        if mimetype:
            return _zip_by_mimetype(view, index, mimetype)
        if names is None:
            names = index.names()
        if names is None:
            return view.make("zip", puid=_Default, container="zip", features=["container_not_inspected"])
        if "[Content_Types].xml" in names:
            found = _ooxml(view, index, names)
            if found is not None:
                return found
        features = ["encrypted"] if index.any_encrypted() else []
        return view.make("zip", puid=_Default, container="zip", features=features)


def _first_entry_mimetype(head: bytes) -> str | None:
    """ODF/EPUB put an uncompressed `mimetype` entry first: read it straight from the head."""
    if len(head) < 38 or head[:4] != b"PK\x03\x04" or head[30:38] != b"mimetype":
        return None
    method, = struct.unpack_from("<H", head, 8)
    compressed, = struct.unpack_from("<I", head, 18)
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    if method != 0 or name_len != 8 or compressed > 200:
        return None
    start = 30 + name_len + extra_len
    return head[start : start + compressed].strip().decode("ascii", "replace") or None


def _zip_by_mimetype(view: _View, index: _ZipIndex, mimetype: str) -> FormatId:
    mime = canonical_mime(mimetype)
    if mime == "application/epub+zip":
        return view.make("epub", puid=_Default, container="zip")
    key = _ODF_BY_MIME.get(mime)
    encrypted = _odf_encrypted(index)
    features = ["encrypted"] if encrypted else []
    if key is None:
        if mime.startswith("application/vnd.oasis.opendocument."):
            kind = mime.rsplit(".", 1)[-1]
            return FormatId(mime=mime, name=f"OpenDocument ({kind})", container="zip",
                            extension_hint=(), features=tuple(features), tool=view.tool)
        return view.make("zip", puid=_Default, container="zip", features=[*features, f"mimetype:{mime}"])
    version = _odf_version(index)
    return view.make(key, version=version, puid=ODF_PUIDS.get((key, version or "")), container="zip",
                     features=features)


def _odf_version(index: _ZipIndex) -> str | None:
    for member in ("META-INF/manifest.xml", "meta.xml", "content.xml"):
        data = index.read(member, 4096)
        if data:
            found = _ODF_VERSION.search(data)
            if found:
                return found.group(1).decode()
    return None


def _odf_encrypted(index: _ZipIndex) -> bool:
    names = index.names() or []
    if "META-INF/manifest.xml" not in names:
        return False
    manifest = index.read("META-INF/manifest.xml") or b""
    return b"encryption-data" in manifest


def _ooxml(view: _View, index: _ZipIndex, names: list[str]) -> FormatId | None:
    types = index.read("[Content_Types].xml") or b""
    key = None
    for match in _CONTENT_TYPE.finditer(types):
        key = _OOXML_MAIN.get(match.group(1).decode("ascii", "replace").lower())
        if key:
            break
    features: list[str] = []
    if key is None:
        key = next((k for part, k in _OOXML_BY_PART.items() if part in names), None)
        if key is None:
            return None
        features.append("ooxml_main_part_guessed")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        features.append("macros")
    return view.make(key, puid=_Default, container="zip", features=features)


# -- OLE2 / CFB ----------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _probe_ole2(view: _View) -> FormatId | None:
    if not view.head.startswith(_OLE_MAGIC):
        return None
    try:
        olefile = importlib.import_module("olefile")
    except ImportError:
        return view.make("ole2", container="ole2", features=["container_not_inspected"])
    with contextlib.ExitStack() as stack:
        stream = _seekable(view, stack)
        if stream is None:
            return view.make("ole2", container="ole2", features=["container_not_inspected"])
        try:
            ole = olefile.OleFileIO(stream)
        except Exception:  # olefile raises many kinds of errors on damaged files
            return view.make("ole2", container="ole2", features=["container_unreadable"])
        try:
            return _classify_ole(view, ole, stream)
        except Exception:  # a damaged stream inside a readable directory
            return view.make("ole2", container="ole2", features=["container_unreadable"])
        finally:
            ole.close()


def _classify_ole(view: _View, ole: Any, stream: IO[bytes]) -> FormatId:
    kids = {str(kid.name): kid for kid in ole.root.kids}
    if "EncryptedPackage" in kids and "EncryptionInfo" in kids:
        return view.make("ooxml-encrypted", container="ole2", features=["encrypted"])
    if "WordDocument" in kids:
        fib = _stream_start(ole, stream, kids["WordDocument"], 12)
        n_fib = struct.unpack_from("<H", fib, 2)[0] if len(fib) >= 12 else 0
        flags = struct.unpack_from("<H", fib, 10)[0] if len(fib) >= 12 else 0
        features = ["encrypted"] if flags & 0x8100 else []  # fEncrypted | fObfuscated
        if "Macros" in kids:
            features.append("macros")
        if n_fib and n_fib < 0x00C1:
            return view.make("doc6", version="6.0/95", container="ole2", features=features)
        return view.make("doc", puid=_Default, container="ole2", features=features)
    if "Workbook" in kids:
        records = _stream_start(ole, stream, kids["Workbook"], 512)
        features = ["encrypted"] if _biff_filepass(records) else []
        if "_VBA_PROJECT_CUR" in kids:
            features.append("macros")
        return view.make("xls", puid=_Default, container="ole2", features=features)
    if "Book" in kids:
        return view.make("xls5", version="5.0/95", container="ole2")
    if "PowerPoint Document" in kids:
        features = ["encrypted"] if "EncryptedSummary" in kids else []
        return view.make("ppt", puid=_Default, container="ole2", features=features)
    return view.make("ole2", container="ole2")


def _stream_start(ole: Any, stream: IO[bytes], entry: Any, count: int) -> bytes:
    """The first bytes of a large OLE stream, read from its first sector without loading the stream."""
    if int(entry.size) < int(ole.minisectorcutoff):
        return bytes(ole.openstream(entry.name).read(count))
    offset = (int(entry.isectStart) + 1) * int(ole.sectorsize)
    stream.seek(offset)
    return stream.read(min(count, int(ole.sectorsize)))


def _biff_filepass(data: bytes) -> bool:
    """BIFF8 FILEPASS (0x002F) follows the workbook BOF when the workbook is encrypted."""
    pos = 0
    for _ in range(8):
        if pos + 4 > len(data):
            return False
        record, length = struct.unpack_from("<HH", data, pos)
        if record == 0x002F:
            return True
        pos += 4 + length
    return False


# -- images ------------------------------------------------------------------------


def _probe_image(view: _View) -> FormatId | None:
    head = view.head
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(view)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(view)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        version = head[3:6].decode()
        return view.make("gif", version=version, puid=GIF_PUIDS[version])
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(view)
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return view.make("bigtiff", features=[f"byteorder:{head[:2].decode()}"])
    if head[:2] == b"BM" and len(head) >= 26 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64,
                                                                                          108, 124):
        return view.make("bmp")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return view.make("webp")
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n":
        return view.make("jp2")
    return None


def _jpeg(view: _View) -> FormatId:
    head = view.head
    features: list[str] = []
    jfif: str | None = None
    exif: str | None = None
    for marker, start, end in _jpeg_segments(head):
        segment = head[start:end]
        if marker == 0xE0 and segment[:5] == b"JFIF\x00" and len(segment) >= 7 and jfif is None:
            jfif = f"{segment[5]}.{segment[6]:02d}"
        elif marker == 0xE1 and segment[:6] == b"Exif\x00\x00" and exif is None:
            features.append("exif")
            exif = _exif_version(segment[6:]) or ""
    if jfif is not None:
        return view.make("jpeg", version=jfif, puid=JFIF_PUIDS.get(jfif),
                         name=f"JPEG File Interchange Format {jfif}", features=features)
    if exif is not None:
        label = f"{exif[:1]}.{exif[1:].rstrip('0') or '0'}" if len(exif) == 4 and exif.isdigit() else None
        name = f"Exchangeable Image File Format (Compressed) {label}" if label else "JPEG with Exif metadata"
        return view.make("jpeg", version=label, puid=EXIF_PUIDS.get(exif), name=name, features=features)
    return view.make("jpeg", name="JPEG (no JFIF or Exif header)")


def _jpeg_segments(head: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, payload start, payload end) of the header segments held in the head."""
    pos = 2
    for _ in range(64):
        if pos + 4 > len(head) or head[pos] != 0xFF:
            return
        marker = head[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:
            return
        length = int.from_bytes(head[pos + 2 : pos + 4], "big")
        if length < 2:
            return
        yield marker, pos + 4, min(len(head), pos + 2 + length)
        pos += 2 + length


def _exif_version(tiff: bytes) -> str | None:
    """The ExifVersion tag (`0221`) from the TIFF structure inside an APP1 Exif segment."""
    order = _tiff_order(tiff)
    if order is None:
        return None
    ifd0 = _u32(tiff, 4, order)
    pointer = _ifd_value(tiff, ifd0, 0x8769, order)
    if pointer is None:
        return None
    raw = _ifd_raw(tiff, pointer, 0x9000, order)
    if raw is None:
        return None
    text = raw[:4].decode("ascii", "replace")
    return text if text.isdigit() else None


def _tiff_order(data: bytes) -> str | None:
    if data[:4] == b"II*\x00":
        return "<"
    if data[:4] == b"MM\x00*":
        return ">"
    return None


def _u32(data: bytes, pos: int, order: str) -> int:
    if pos < 0 or pos + 4 > len(data):
        return -1
    return int(struct.unpack_from(order + "I", data, pos)[0])


def _ifd_entries(data: bytes, ifd: int, order: str) -> Iterator[tuple[int, int, int, bytes]]:
    """(tag, type, count, raw value field) of the entries of one IFD held in `data`."""
    if ifd < 0 or ifd + 2 > len(data):
        return
    count = struct.unpack_from(order + "H", data, ifd)[0]
    for index in range(min(count, 512)):
        pos = ifd + 2 + 12 * index
        if pos + 12 > len(data):
            return
        tag, kind, number = struct.unpack_from(order + "HHI", data, pos)
        yield tag, kind, number, data[pos + 8 : pos + 12]


def _ifd_value(data: bytes, ifd: int, wanted: int, order: str) -> int | None:
    for tag, kind, _number, raw in _ifd_entries(data, ifd, order):
        if tag == wanted:
            if kind == 3:  # SHORT, left-justified in the value field
                return int(struct.unpack_from(order + "H", raw, 0)[0])
            return int(struct.unpack_from(order + "I", raw, 0)[0])
    return None


def _ifd_raw(data: bytes, ifd: int, wanted: int, order: str) -> bytes | None:
    for tag, _kind, _number, raw in _ifd_entries(data, ifd, order):
        if tag == wanted:
            return raw
    return None


def _png(view: _View) -> FormatId:
    chunks = set()
    pos = 8
    head = view.head
    for _ in range(4096):
        if pos + 8 > len(head):
            break
        length = int.from_bytes(head[pos : pos + 4], "big")
        kind = head[pos + 4 : pos + 8]
        chunks.add(kind)
        if kind == b"IEND":
            break
        pos += 12 + length
    # The lowest PNG version that defines every chunk seen (1.1 added sRGB/iCCP/sPLT, 1.2 added iTXt).
    if b"iTXt" in chunks:
        version = "1.2"
    elif chunks & {b"sRGB", b"iCCP", b"sPLT"}:
        version = "1.1"
    else:
        version = "1.0"
    return view.make("png", version=version, puid=PNG_PUIDS[version])


def _tiff(view: _View) -> FormatId:
    head = view.head
    order = _tiff_order(head) or "<"
    features = [f"byteorder:{head[:2].decode()}"]
    compression = _ifd_value(head, _u32(head, 4, order), 259, order)
    if compression is not None:
        features.append(f"compression:{compression}")
        if compression == 6:
            features.append("old_jpeg")
    return view.make("tiff", puid=_Default, features=features)


# -- audio / video -----------------------------------------------------------------

_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_VIDEO = bytes.fromhex("c0ef19bc4d5bcf11a8fd00805f5c442b")
_ASF_AUDIO = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")
_MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _probe_media(view: _View) -> FormatId | None:
    head = view.head
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wave(view)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return view.make("avi", puid=_Default, container="riff")
    # ISO/QuickTime boxes start with a 32-bit size: a leading zero byte keeps text ("I'm free") out.
    if head[4:8] == b"ftyp" and head[0] == 0:
        return _iso_media(view)
    if head[4:8] in _QT_ATOMS and head[0] == 0 and 8 <= int.from_bytes(head[:4], "big") <= view.size:
        return view.make("mov", puid=_Default)
    if head[:16] == _ASF_HEADER:
        if _ASF_VIDEO in head:
            return view.make("wmv", puid=_Default, container="asf")
        if _ASF_AUDIO in head:
            return view.make("wma", puid=_Default, container="asf")
        return view.make("asf", puid=_Default, container="asf")
    if head[:4] == b"\x00\x00\x01\xba" and len(head) > 4:
        if head[4] & 0xF0 == 0x20:
            return view.make("mpeg-ps", version="MPEG-1", puid="x-fmt/385", name="MPEG-1 Program Stream")
        if head[4] & 0xC0 == 0x40:
            return view.make("mpeg-ps", version="MPEG-2", puid="x-fmt/386", name="MPEG-2 Program Stream")
        return view.make("mpeg-ps")
    if head[:4] == b"\x00\x00\x01\xb3":
        return view.make("mpeg-es")
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return view.make("mpeg-ts")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return view.make("webm" if b"webm" in head[:64] else "mkv")
    if head[:4] == b"OggS":
        return view.make("ogg")
    if head[:4] == b"fLaC":
        return view.make("flac")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return view.make("aiff")
    if head[:4] == b"FLV\x01":
        return view.make("flv")
    return _mpeg_audio(view)


def _wave(view: _View) -> FormatId:
    head = view.head
    pos = 12
    features: list[str] = []
    puid = SPECS["wav"].puid
    for _ in range(64):
        if pos + 8 > len(head):
            break
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            puid = WAVE_PUIDS.get(length, puid)
            if length == 40 and head[pos + 8 : pos + 10] != b"\xfe\xff":
                puid = SPECS["wav"].puid
        elif chunk == b"bext":
            features.append("bwf")
        elif chunk == b"data":
            break
        pos += 8 + length + (length & 1)
    name = "Broadcast WAVE" if "bwf" in features else None
    return view.make("wav", puid=puid if "bwf" not in features else None, name=name, container="riff",
                     features=features)


def _iso_media(view: _View) -> FormatId:
    brand = view.head[8:12]
    if brand == b"qt  ":
        return view.make("mov", puid=_Default)
    if brand in _MP4_AUDIO_BRANDS:
        return view.make("m4a", puid=_Default)
    if brand.startswith(b"3g"):
        return view.make("3gp")
    if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return FormatId(mime="image/heif", name=f"HEIF image ({brand.decode('ascii', 'replace').strip()})",
                        extension_hint=("heic", "heif", "avif"), tool=view.tool)
    return view.make("mp4", puid=_Default, features=[f"brand:{brand.decode('ascii', 'replace').strip()}"])


_MPEG_BITRATES = {
    (3, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (3, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (3, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(data: bytes, pos: int) -> tuple[int, int] | None:
    """(layer, frame length) of a valid MPEG audio frame header at pos."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 3
    layer = (data[pos + 1] >> 1) & 3
    bitrate_index, rate_index, padding = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3, (data[pos + 2] >> 1) & 1
    if version == 1 or layer == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrates = _MPEG_BITRATES[(3 if version == 3 else 2, layer)]
    bitrate = bitrates[bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 3:  # Layer I
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 1 and version != 3:  # Layer III, MPEG-2/2.5
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    return (4 - layer, length) if length > 4 else None


def _mpeg_audio(view: _View) -> FormatId | None:
    head = view.head
    start = 0
    tagged = False
    if head[:3] == b"ID3" and len(head) >= 10:
        tagged = True
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        start = 10 + size + (10 if head[5] & 0x10 else 0)
        if head[start : start + 4] == b"fLaC":
            return view.make("flac", features=["id3"])
        while start < len(head) and head[start] == 0:  # padding some taggers leave
            start += 1
    frame = _mpeg_frame(head, start)
    if frame is not None:
        layer, length = frame
        following = start + length
        if following + 4 <= len(head):
            follow = _mpeg_frame(head, following)
            confirmed = follow is not None and follow[0] == layer
        else:  # a single frame, or the next one lies past the bytes we hold
            confirmed = tagged or following == view.size
        if confirmed:
            features = ["id3"] if tagged else []
            if layer == 3:
                return view.make("mp3", features=features)
            return view.make("mpa", version=f"Layer {'I' * layer}", features=features)
    if head[:2] in (b"\xff\xf1", b"\xff\xf9") and not tagged:
        return view.make("aac")
    if tagged and start >= len(head):
        return view.make("mp3", puid=_Default, features=["id3", "frames_not_seen"])
    return None


# -- archives ------------------------------------------------------------------------


def _probe_archive(view: _View) -> FormatId | None:
    head = view.head
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return view.make("7z", puid=_Default)
    if head[:7] == b"Rar!\x1a\x07\x00":
        return view.make("rar", version="1.5-4.x", puid="x-fmt/264")
    if head[:8] == b"Rar!\x1a\x07\x01\x00":
        return view.make("rar", version="5")
    if head[:2] == b"\x1f\x8b":
        return view.make("gzip", puid=_Default)
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return view.make("bzip2")
    if head[:6] == b"\xfd7zXZ\x00":
        return view.make("xz")
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return view.make("zstd")
    if head[:2] == b"\x1f\x9d":
        return view.make("compress")
    if head[257:262] == b"ustar":
        return view.make("tar", puid=_Default)
    if head[:4] == b"MSCF":
        return view.make("cab")
    if head[32769:32774] == b"CD001":
        return view.make("iso")
    return None


# -- text ------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NOT_CONTROL = bytes(sorted(set(range(256)) - (set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A, 0x1B})))
"""Every byte except C0 control characters other than tab, newlines, form feed, SUB and ESC."""
_XML_DECL = re.compile(r"^<\?xml\s[^>]*?version\s*=\s*[\"'](1\.[01])[\"']")
_DOCTYPE = re.compile(r"<!doctype\s+html\b([^>]*)>", re.IGNORECASE)
_HTML_TAG = re.compile(r"<(html|head|body|title|meta|table|p|div|h1|br)\b", re.IGNORECASE)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_LEFT_TO_LIBMAGIC = (b"%!", b"\x1bE", b"BEGIN:VCARD", b"BEGIN:VCALENDAR")
"""Text-based formats libmagic names better than "plain text" (PostScript, PCL, vCard, iCalendar)."""


def _probe_rtf(view: _View) -> FormatId | None:
    if not view.head.startswith(b"{\\rtf"):
        return None
    if any(marker in view.head for marker in RTF_19_MARKERS):
        return view.make("rtf", version="1.9", puid=RTF_19_PUID)
    return view.make("rtf", version="1.x")


def _probe_text(view: _View) -> FormatId | None:
    if view.head.startswith(_LEFT_TO_LIBMAGIC):
        return None
    decoded = _decode_text(view.head[:TEXT_SAMPLE], final=view.size <= TEXT_SAMPLE)
    if decoded is None:
        return None
    text, charset = decoded
    features = [f"charset:{charset}"]
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        found = _markup(view, stripped, features)
        if found is not None:
            return found
    if view.extension in ("csv", "tsv") and _delimited(stripped, "\t" if view.extension == "tsv" else None):
        return view.make("csv" if view.extension == "csv" else "tsv", puid=_Default, features=features)
    return view.make("txt", puid=_Default, features=features)


def _decode_text(sample: bytes, *, final: bool) -> tuple[str, str] | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            try:
                return codecs.getincrementaldecoder(encoding)().decode(sample[len(bom) :], final), encoding
            except UnicodeDecodeError:
                return None
    if b"\x00" in sample:
        return None
    probe = sample[:4096]
    controls = len(probe.translate(None, _NOT_CONTROL))
    if controls * 100 > max(len(probe), 1):
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final)
    except UnicodeDecodeError:
        # 8-bit text: Windows-1252/1258, TCVN3, VNI … cannot be told apart here (R-CK-5 looks deeper).
        return sample.decode("latin-1"), "8bit"
    return text, "us-ascii" if text.isascii() else "utf-8"


def _markup(view: _View, text: str, features: list[str]) -> FormatId | None:
    start = text[:2048]
    doctype = _DOCTYPE.search(start)
    declaration = _XML_DECL.match(start)
    root = _root_element(start)
    if doctype or (root or "").lower() == "html" or (not declaration and _HTML_TAG.match(start)):
        return _html(view, doctype.group(1) if doctype else "", start, features)
    if declaration:
        if root and root.rsplit(":", 1)[-1] == "svg":
            return view.make("svg", features=features)
        return view.make("xml", version=declaration.group(1), puid=_Default, features=features)
    if root and (">" in start):
        return view.make("xml", puid=None, features=[*features, "no_xml_declaration"])
    return None


def _root_element(text: str) -> str | None:
    pos = 0
    for _ in range(32):
        lt = text.find("<", pos)
        if lt < 0:
            return None
        if text.startswith(("<?", "<!"), lt):
            end = text.find("-->", lt) + 3 if text.startswith("<!--", lt) else text.find(">", lt) + 1
            if end <= 0:
                return None
            pos = end
            continue
        found = _ROOT.match(text, lt)
        return found.group(1) if found else None
    return None


def _html(view: _View, doctype: str, start: str, features: list[str]) -> FormatId:
    public = doctype.upper()
    if "XHTML 1.1" in public:
        return view.make("xhtml", version="1.1", puid=HTML_PUIDS["xhtml-1.1"], features=features)
    if "XHTML" in public:
        return view.make("xhtml", version="1.0", puid=HTML_PUIDS["xhtml-1.0"], features=features)
    for version in ("4.01", "4.0", "3.2", "2.0"):
        if f"HTML {version}" in public:
            return view.make("html", version=version, puid=HTML_PUIDS[version], features=features)
    if doctype.strip() == "" and _DOCTYPE.search(start):
        return view.make("html", version="5", puid=HTML_PUIDS["5"], features=features)
    return view.make("html", puid=_Default, features=features)


def _delimited(text: str, delimiter: str | None) -> bool:
    sample = text[:8192]
    if "\n" in sample and len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=delimiter or ",;\t|")
    except csv.Error:
        return False
    rows = [row for row in csv.reader(io.StringIO(sample), dialect) if row][:50]
    widths = Counter(len(row) for row in rows)
    if not widths:
        return False
    width, count = widths.most_common(1)[0]
    return width >= 2 and count * 10 >= len(rows) * 8


_PROBES: tuple[Callable[[_View], FormatId | None], ...] = (
    _probe_pdf,
    _probe_zip,
    _probe_ole2,
    _probe_image,
    _probe_media,
    _probe_archive,
    _probe_rtf,
    _probe_pdf_late,
    _probe_text,
)


@lru_cache(maxsize=1)
def default_identifier() -> FormatIdentifier:
    """The process-wide identifier (checks use it when the content pass left a file unidentified)."""
    return FormatIdentifier()


# ---------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------

_EXEMPT_ROLES = frozenset({FileRole.METADATA, FileRole.SCHEMA, FileRole.TAG})
_BAGIT_KINDS = frozenset({PackageKind.BAGIT, PackageKind.BAGIT_C02})
_MALFORMED = {
    "header_malformed": ("thiếu tiêu đề “%PDF-x.y” ở đầu tệp", "no “%PDF-x.y” header at the start"),
    "eof_missing": ("thiếu dấu kết thúc “%%EOF” ở cuối tệp", "no “%%EOF” marker at the end"),
    "startxref_invalid": ("“startxref” thiếu hoặc không trỏ tới bảng tham chiếu chéo (xref)",
                          "“startxref” is missing or does not point to a cross-reference table"),
    "unknown_version": ("phiên bản PDF {version} không tồn tại", "PDF version {version} does not exist"),
}
_RISKS = {
    "old_jpeg": ("ảnh TIFF nén JPEG kiểu cũ (Compression=6), nhiều phần mềm không đọc được",
                 "TIFF with old-style JPEG compression (Compression=6), which many decoders cannot read"),
    "macros": ("tài liệu chứa macro", "the document contains macros"),
}


def check_formats(
    pkg: ParsedPackage, observed: dict[str, ObservedFile], ctx: CheckContext, policy: Policy
) -> None:
    """R-CK-2 over every file of the package; records one PREMIS format-identification event."""
    rules = FormatPolicy.from_policy(policy)
    roles = _roles(pkg)
    owners = {f.path: doc.key for doc in pkg.documents for f in doc.files}
    declared = _declared_mimes(pkg)
    summary: Counter[str] = Counter()
    counts = Counter[Severity]()
    for path in _paths(pkg, observed):
        found = observed[path]
        fmt = found.format or _identify_staged(found)
        summary[_summary_key(fmt)] += 1
        role = roles.get(path) or _guess_role(pkg, path)
        checker = _FileCheck(path, fmt, role, owners.get(path), ctx, rules)
        checker.run(declared.get(path, ()))
        counts.update(checker.severities)
    ctx.record(_event(summary, counts))


@dataclass
class _FileCheck:
    path: str
    fmt: FormatId | None
    role: FileRole
    document: str | None
    ctx: CheckContext
    rules: FormatPolicy

    def __post_init__(self) -> None:
        self.severities: list[Severity] = []

    def report(self, kind: Code, severity: Severity | None = None, **params: Any) -> None:
        finding = self.ctx.report(kind, path=self.path, document=self.document, severity=severity, **params)
        self.severities.append(finding.severity)

    def run(self, declared_mimes: tuple[str, ...]) -> None:
        fmt = self.fmt
        payload = self.role not in _EXEMPT_ROLES
        if fmt is None or is_unknown(fmt):
            reason_vi, reason_en = _unknown_reason(fmt)
            self.report(UNKNOWN, severity=self.rules.severity if payload else None,
                        reason=reason_vi, reason_en=reason_en)
            return
        label = _label(fmt)
        self._extension(fmt, label)
        for mime in declared_mimes:
            if not mimes_equivalent(mime, fmt.mime):
                self.report(MIME_MISMATCH, declared=mime, mime=fmt.mime, format=label)
        if is_nested_archive(fmt):
            self.report(NESTED_ARCHIVE, format=label)
        elif payload and not self.rules.allows(fmt):
            allowed = ", ".join(sorted(self.rules.allowed_extensions))
            self.report(NOT_ALLOWED, severity=self.rules.severity, format=label, allowed=allowed)
        if "encrypted" in fmt.features:
            self.report(ENCRYPTED, format=label)
        if canonical_mime(fmt.mime) == "application/pdf":
            self._pdf(fmt)
        for feature, (risk_vi, risk_en) in _RISKS.items():
            if feature in fmt.features and (feature != "macros" or self.rules.allows(fmt)):
                self.report(RISK, format=label, risk=risk_vi, risk_en=risk_en)

    def _extension(self, fmt: FormatId, label: str) -> None:
        ext = suffix_of(self.path)
        if ext and fmt.extension_hint and ext not in fmt.extension_hint:
            expected = ", ".join(f".{e}" for e in fmt.extension_hint)
            self.report(EXT_MISMATCH, ext=ext, format=label, expected=expected)

    def _pdf(self, fmt: FormatId) -> None:
        if "javascript" in fmt.features:
            self.report(PDF_JAVASCRIPT)
        if "embedded_files" in fmt.features:
            self.report(PDF_EMBEDDED_FILES)
        if "external_links" in fmt.features:
            self.report(PDF_EXTERNAL_LINKS, kinds="GoToR/Launch/ImportData/SubmitForm")
        problems = [texts for feature, texts in _MALFORMED.items() if feature in fmt.features]
        if problems:
            version = fmt.version or "?"
            self.report(
                PDF_MALFORMED,
                problem="; ".join(vi.format(version=version) for vi, _ in problems),
                problem_en="; ".join(en.format(version=version) for _, en in problems),
            )


def suffix_of(path: str) -> str:
    """The extension without its dot, lower-cased, as `PurePosixPath(path).suffix` finds it."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot + 1 :].lower() if 0 < dot < len(name) - 1 else ""


def _unknown_reason(fmt: FormatId | None) -> tuple[str, str]:
    if fmt is None:
        return "nội dung chưa được đọc", "content was not read"
    if canonical_mime(fmt.mime) == EMPTY_MIME:
        return "tệp rỗng", "empty file"
    return "không khớp chữ ký định dạng nào", "no format signature matched"


def _label(fmt: FormatId) -> str:
    return f"{fmt.name} [{fmt.puid}]" if fmt.puid else f"{fmt.name} ({fmt.mime})"


def _paths(pkg: ParsedPackage, observed: dict[str, ObservedFile]) -> list[str]:
    ordered = dict.fromkeys(pkg.files)
    for doc in pkg.documents:
        for ref in doc.files:
            ordered.setdefault(ref.path)
    for path in sorted(observed):
        ordered.setdefault(path)
    return [path for path in ordered if path in observed]


def _roles(pkg: ParsedPackage) -> dict[str, FileRole]:
    roles: dict[str, FileRole] = {}
    for decl in pkg.declared:
        if decl.role is not FileRole.OTHER:
            roles.setdefault(decl.path, decl.role)
    for dossier in pkg.dossiers:
        if dossier.metadata_path:
            roles.setdefault(dossier.metadata_path, FileRole.METADATA)
        for doc in dossier.documents:
            for ref in doc.files:
                roles.setdefault(ref.path, ref.role)
            if doc.metadata_path:
                roles.setdefault(doc.metadata_path, FileRole.METADATA)
    return roles


def _guess_role(pkg: ParsedPackage, path: str) -> FileRole:
    """Role of a file nobody declared a role for, from the agreed package layouts."""
    parts = PurePosixPath(path).parts
    lowered = [part.lower() for part in parts]
    if pkg.kind in _BAGIT_KINDS and len(parts) == 1:
        return FileRole.TAG
    if lowered[-1] == "mets.xml":
        return FileRole.METADATA
    if "schemas" in lowered[:-1]:
        return FileRole.SCHEMA
    if "metadata" in lowered[:-1]:
        return FileRole.METADATA
    return FileRole.OTHER


def _declared_mimes(pkg: ParsedPackage) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    for decl in pkg.declared:
        if decl.mimetype and decl.mimetype.strip():
            found.setdefault(decl.path, {})[decl.mimetype.strip()] = None
    for doc in pkg.documents:
        for ref in doc.files:
            if ref.mimetype and ref.mimetype.strip():
                found.setdefault(ref.path, {})[ref.mimetype.strip()] = None
    return {path: _distinct(mimes) for path, mimes in found.items()}


def _distinct(mimes: dict[str, None]) -> tuple[str, ...]:
    """One representative per canonical type: `text/xml` and `application/xml` are one declaration."""
    seen: dict[str, str] = {}
    for mime in mimes:
        seen.setdefault(canonical_mime(mime), mime)
    return tuple(seen.values())


def _identify_staged(found: ObservedFile) -> FormatId | None:
    if not found.staged_path:
        return None
    try:
        return default_identifier().identify_path(found.staged_path, name=found.path)
    except OSError:
        return None


def _summary_key(fmt: FormatId | None) -> str:
    if fmt is None:
        return "not read"
    if is_unknown(fmt):
        return "unidentified"
    return f"{fmt.puid or fmt.mime} {fmt.name}"


def _event(summary: Counter[str], counts: Counter[Severity]) -> PremisEvent:
    total = sum(summary.values())
    lines = [f"{count}× {key}" for key, count in sorted(summary.items(), key=lambda kv: (-kv[1], kv[0]))]
    shown = lines[:60]
    if len(lines) > len(shown):
        shown.append(f"… {len(lines) - len(shown)} other formats")
    outcome = (Outcome.FAILURE if counts[Severity.ERROR] else
               Outcome.WARNING if counts[Severity.WARNING] else Outcome.SUCCESS)
    detail = (
        f"Nhận dạng định dạng theo nội dung và đối chiếu với phần mở rộng, kiểu MIME khai báo và danh mục "
        f"định dạng được phép (R-CK-2); công cụ: {default_identifier().tool}"
    )
    outcome_detail = (
        f"files={total} errors={counts[Severity.ERROR]} warnings={counts[Severity.WARNING]}; " + "; ".join(shown)
    )
    return event(EventType.FORMAT_IDENTIFICATION, AGENT, outcome, detail, outcome_detail=outcome_detail)
