"""Faults to inject into generated packages, one knob each.

A fault changes either the model (metadata values, the files themselves) or
only the package's declarations (METS attributes, BagIt manifests). Model
faults are applied here, on a copy; declaration faults are applied by the
writers (`sip.py`, `bag.py`), which ask `Fault.declaration_only`.

Single-document faults hit one document, `FaultOptions.victim` (the first by
default). Each fault names the finding codes the ingest gate is expected to
report for it (`expected_codes`, or `codes_for(format)` where the two package
formats differ); a fault may cause further findings too (swapped dates also put
documents outside the span).
"""

from __future__ import annotations

import copy
import struct
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from ingest.generator.model import GeneratedDocument, GeneratedDossier, bytes_file, file_ref, pdf_file
from ingest.generator.pdf import PdfSpec

PackageFormat = Literal["tt05", "bagit"]
BOTH: frozenset[PackageFormat] = frozenset({"tt05", "bagit"})
TT05_ONLY: frozenset[PackageFormat] = frozenset({"tt05"})


class UnsupportedFaultError(ValueError):
    """The fault has no meaning in this package format (a MIME type in a bag …)."""


@dataclass(frozen=True)
class FaultOptions:
    big_file_bytes: int = 50 * 1024**2 + 1
    """Size of the BIG_FILE document (default: one byte over the 50 MiB policy limit)."""
    victim: int = 0
    """Index of the document that single-document faults change."""


@dataclass(frozen=True)
class _Info:
    description: str
    codes: tuple[str, ...]
    formats: frozenset[PackageFormat] = BOTH
    declaration_only: bool = False
    bagit_codes: tuple[str, ...] | None = None


class Fault(StrEnum):
    WRONG_CHECKSUM = "wrong-checksum"
    WRONG_SIZE = "wrong-size"
    MISSING_FILE = "missing-file"
    UNDECLARED_FILE = "undeclared-file"
    WRONG_MIMETYPE = "wrong-mimetype"
    WRONG_EXTENSION = "wrong-extension"
    DISALLOWED_FORMAT = "disallowed-format"
    SECRET_MODE = "secret-mode"
    SECRET_MARK = "secret-mark"
    MISSING_REQUIRED_FIELD = "missing-required-field"
    FIELD_TOO_LONG = "field-too-long"
    BAD_DATE = "bad-date"
    BAD_CODE_LIST = "bad-code-list"
    TOTAL_DOC_MISMATCH = "total-doc-mismatch"
    DATE_ORDER = "date-order"
    NOT_NFC = "not-nfc"
    LEGACY_TCVN3 = "legacy-tcvn3"
    BAD_FILE_NAME = "bad-file-name"
    BIG_FILE = "big-file"
    DOCCODE_WRONG_YEAR = "doccode-wrong-year"
    PAPER_FILE_CODE_MISSING = "paper-file-code-missing"
    REAL_WORLD_DEVIATIONS = "real-world-deviations"

    @property
    def info(self) -> _Info:
        return _INFO[self]

    @property
    def description(self) -> str:
        return self.info.description

    @property
    def expected_codes(self) -> tuple[str, ...]:
        """Codes expected in a TT 05 package (and in a bag unless `codes_for` says otherwise)."""
        return self.info.codes

    def codes_for(self, package: PackageFormat) -> tuple[str, ...]:
        if package == "bagit" and self.info.bagit_codes is not None:
            return self.info.bagit_codes
        return self.info.codes

    @property
    def formats(self) -> frozenset[PackageFormat]:
        return self.info.formats

    @property
    def declaration_only(self) -> bool:
        return self.info.declaration_only


_INFO: dict[Fault, _Info] = {
    Fault.WRONG_CHECKSUM: _Info(
        "the SHA-256 declared for one document file is wrong (METS @CHECKSUM / manifest line)",
        ("CK-FIXITY-MISMATCH",), declaration_only=True,
    ),
    Fault.WRONG_SIZE: _Info(
        "the declared size is one byte off (METS @SIZE; in a bag: Payload-Oxum)",
        ("CK-FIXITY-SIZE-MISMATCH",), declaration_only=True, bagit_codes=("CK-BAG-OXUM-MISMATCH",),
    ),
    Fault.MISSING_FILE: _Info(
        "one document file is declared but not in the package",
        ("CK-FIXITY-MISSING",), declaration_only=True,
        bagit_codes=("CK-FIXITY-MISSING", "CK-BAG-C02-FILE-MISSING"),
    ),
    Fault.UNDECLARED_FILE: _Info(
        "an extra file that nothing declares (TT 05: at the package root; bag: in data/files/)",
        ("CK-FIXITY-UNDECLARED",), declaration_only=True,
        bagit_codes=("CK-FIXITY-UNDECLARED", "CK-BAG-C02-FILE-UNREFERENCED"),
    ),
    Fault.WRONG_MIMETYPE: _Info(
        "METS declares image/jpeg for a PDF", ("CK-FMT-MIME-MISMATCH",), TT05_ONLY, declaration_only=True,
    ),
    Fault.WRONG_EXTENSION: _Info(
        "a PNG image named .pdf (declared application/pdf)", ("CK-FMT-EXT-MISMATCH",),
        bagit_codes=("CK-FMT-EXT-MISMATCH",),
    ),
    Fault.DISALLOWED_FORMAT: _Info(
        "a Windows executable (.exe) as a document's file", ("CK-FMT-NOT-ALLOWED",),
    ),
    Fault.SECRET_MODE: _Info("mode 03 (mật) on the dossier and one document", ("CK-POL-SECRET-MODE",)),
    Fault.SECRET_MARK: _Info(
        "a \u201cMẬT\u201d mark in a document's inforSign (and stamped on its PDF)", ("CK-POL-SECRET-MARK",),
    ),
    Fault.MISSING_REQUIRED_FIELD: _Info("the dossier title is empty", ("CK-META-REQUIRED",)),
    Fault.FIELD_TOO_LONG: _Info("a document subject of 600 characters (limit 500)", ("CK-META-TOO-LONG",)),
    Fault.BAD_DATE: _Info("a document issued on 31/02", ("CK-META-BAD-DATE",)),
    Fault.BAD_CODE_LIST: _Info(
        "a document with typeName 99 and format (tình trạng vật lý) 09, in no code list "
        "(Circular 02 has no list for TypeName, so a bag reports the format)",
        ("CK-META-CODE-LIST",),
    ),
    Fault.TOTAL_DOC_MISMATCH: _Info("totalDoc one more than the documents", ("CK-META-TOTAL-MISMATCH",)),
    Fault.DATE_ORDER: _Info("dossier start and end dates swapped", ("CK-META-DATE-ORDER",)),
    Fault.NOT_NFC: _Info("the dossier title in Unicode NFD", ("CK-META-NOT-NFC",)),
    Fault.LEGACY_TCVN3: _Info(
        "a document subject in TCVN3 (ABC) shown as Windows-1252 mojibake", ("CK-META-LEGACY-ENCODING",),
    ),
    Fault.BAD_FILE_NAME: _Info(
        "a document file named with Vietnamese diacritics and spaces", ("CK-POL-FILE-NAME",),
    ),
    Fault.BIG_FILE: _Info(
        "one document file larger than the size limit (FaultOptions.big_file_bytes)", ("CK-POL-FILE-SIZE",),
    ),
    Fault.DOCCODE_WRONG_YEAR: _Info(
        "every docCode carries a wrong year (a constant in the producer)", ("CK-META-DOCCODE-MISMATCH",),
    ),
    Fault.PAPER_FILE_CODE_MISSING: _Info(
        "a digitised dossier (confidenceLevel 02) without paperFileCode", ("CK-META-PAPER-CODE-MISSING",),
    ),
    Fault.REAL_WORLD_DEVIATIONS: _Info(
        "the habits of a published third-party SIP: empty amdSec, rep1 OBJID 'rep1', upper-case checksums, "
        "MDTYPE DC 1.0.0, application/xml, .xsd as application/octet-stream, lower-case schema names "
        "(ead_doc.xsd declaring arcDocCode), EAD_DOC_ names, shuffled EAD elements, ZIP named by a GUID",
        (
            "CK-METS-CHECKSUM-UPPERCASE", "CK-TT05-MDTYPE-DC", "CK-TT05-SCHEMA-NAMES", "CK-TT05-SCHEMA-MIMETYPE",
            "CK-TT05-DOC-METADATA-NAME", "CK-TT05-BUNDLED-SCHEMA", "CK-TT05-ZIP-NAME",
        ),
        TT05_ONLY,
        declaration_only=True,
    ),
}


def check_supported(faults: Iterable[Fault], package: PackageFormat) -> list[Fault]:
    chosen = list(dict.fromkeys(Fault(f) for f in faults))
    for fault in chosen:
        if package not in fault.formats:
            raise UnsupportedFaultError(f"fault {fault.value} has no meaning in a {package} package")
    return chosen


def apply_model_faults(
    generated: GeneratedDossier, faults: Iterable[Fault], options: FaultOptions | None = None
) -> GeneratedDossier:
    """A copy of `generated` with the model faults applied (declaration faults are left to writers)."""
    options = options or FaultOptions()
    result = copy.deepcopy(generated)
    if not result.documents:
        return result
    victim = result.documents[min(options.victim, len(result.documents) - 1)]
    for fault in faults:
        handler = _MODEL_FAULTS.get(Fault(fault))
        if handler is not None:
            handler(result, victim, options)
    _refresh_pages(result)
    return result


def _secret_mode(g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    g.dossier.mode = "03"
    victim.document.mode = "03"


def _secret_mark(g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    victim.document.infor_sign = "MẬT"
    main = victim.files[0]
    if main.spec is not None:
        spec = replace(main.spec, content=replace(main.spec.content, mark="MẬT"))
        _replace_pdf(victim, spec)


def _missing_required(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    g.dossier.title = ""


def _too_long(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    base = victim.document.subject or "Trích yếu"
    text = base
    while len(text) < 600:
        text = f"{text}; {base.lower()}"
    victim.document.subject = text[:600]


def _bad_date(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    year = (victim.document.issued_date or "01/01/2024")[-4:]
    victim.document.issued_date = f"31/02/{year}"


def _bad_code(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    victim.document.type_name = "99"
    victim.document.format = "09"
    victim.ead_overrides.update(typeName="99", format="09")


def _total_doc(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    g.dossier.total_doc = str(len(g.documents) + 1)


def _date_order(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    d = g.dossier
    if d.start_date == d.end_date and d.end_date:
        day, month, year = d.end_date.split("/")
        d.end_date = f"{day}/{month}/{int(year) - 1}"
    d.start_date, d.end_date = d.end_date, d.start_date


def _not_nfc(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    g.dossier.title = unicodedata.normalize("NFD", g.dossier.title or "Hồ sơ")


def _tcvn3(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    victim.document.subject = tcvn3_mojibake(victim.document.subject or "Quyết định")


def _bad_file_name(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    doc = victim.document
    victim.stem = f"Văn bản số {doc.code_number or doc.doc_ordinal or '1'}"
    main = victim.files[0]
    main.name = f"{victim.stem}.{main.name.rsplit('.', 1)[-1]}"
    doc.files = [file_ref(f) for f in victim.files]


def _big_file(_g: GeneratedDossier, victim: GeneratedDocument, options: FaultOptions) -> None:
    main = victim.files[0]
    if main.spec is not None:
        _replace_pdf(victim, replace(main.spec, target_bytes=options.big_file_bytes))


def _wrong_extension(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    main = victim.files[0]
    victim.files[0] = bytes_file(main.name, tiny_png(), "application/pdf", main.created)
    victim.document.files = [file_ref(f) for f in victim.files]


def _disallowed(_g: GeneratedDossier, victim: GeneratedDocument, _: FaultOptions) -> None:
    main = victim.files[0]
    name = f"{victim.stem}.exe"
    victim.files[0] = bytes_file(name, tiny_exe(), "application/vnd.microsoft.portable-executable", main.created)
    victim.document.files = [file_ref(f) for f in victim.files]


def _doccode_year(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    file_code = g.dossier.file_code or ""
    year = g.dossier.file_catalog or ""
    wrong = str(int(year) - 7) if year.isdigit() else "1994"
    bad_prefix = file_code.replace(f".{year}.", f".{wrong}.", 1)
    for generated in g.documents:
        doc = generated.document
        if doc.doc_code and doc.doc_code.startswith(file_code):
            doc.doc_code = bad_prefix + doc.doc_code[len(file_code):]


def _paper_code_missing(g: GeneratedDossier, _victim: GeneratedDocument, _: FaultOptions) -> None:
    d = g.dossier
    d.confidence_level = "02"
    d.paper_file_code = None
    pages = sum(gen.pages for gen in g.documents)
    d.number_of_paper = str((pages + 1) // 2)
    for generated in g.documents:
        generated.document.confidence_level = "02"
        generated.document.process = None


_MODEL_FAULTS = {
    Fault.SECRET_MODE: _secret_mode,
    Fault.SECRET_MARK: _secret_mark,
    Fault.MISSING_REQUIRED_FIELD: _missing_required,
    Fault.FIELD_TOO_LONG: _too_long,
    Fault.BAD_DATE: _bad_date,
    Fault.BAD_CODE_LIST: _bad_code,
    Fault.TOTAL_DOC_MISMATCH: _total_doc,
    Fault.DATE_ORDER: _date_order,
    Fault.NOT_NFC: _not_nfc,
    Fault.LEGACY_TCVN3: _tcvn3,
    Fault.BAD_FILE_NAME: _bad_file_name,
    Fault.BIG_FILE: _big_file,
    Fault.WRONG_EXTENSION: _wrong_extension,
    Fault.DISALLOWED_FORMAT: _disallowed,
    Fault.DOCCODE_WRONG_YEAR: _doccode_year,
    Fault.PAPER_FILE_CODE_MISSING: _paper_code_missing,
}


def _replace_pdf(victim: GeneratedDocument, spec: PdfSpec) -> None:
    new, pages = pdf_file(victim.files[0].name, spec)
    victim.files[0] = new
    victim.pages = pages
    victim.document.files = [file_ref(f) for f in victim.files]


def _refresh_pages(g: GeneratedDossier) -> None:
    """Keep page counts true after a fault re-rendered a PDF (only the fault itself should show)."""
    for generated in g.documents:
        if generated.files and generated.files[0].spec is not None:
            generated.document.number_of_page = str(generated.pages)
    if g.dossier.number_of_page is not None:
        g.dossier.number_of_page = str(sum(gen.pages for gen in g.documents))


# ---------------------------------------------------------------- payloads

# TCVN3 (ABC) code points of Vietnamese letters; upper-case letters with tone marks
# share the lower-case codes (they were drawn with the upper-case "VnTimeH" fonts).
_TCVN3 = {
    "ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE,
    "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7,
    "à": 0xB5, "ả": 0xB6, "ã": 0xB7, "á": 0xB8, "ạ": 0xB9,
    "ằ": 0xBB, "ẳ": 0xBC, "ẵ": 0xBD, "ắ": 0xBE, "ặ": 0xC6,
    "ầ": 0xC7, "ẩ": 0xC8, "ẫ": 0xC9, "ấ": 0xCA, "ậ": 0xCB,
    "è": 0xCC, "ẻ": 0xCE, "ẽ": 0xCF, "é": 0xD0, "ẹ": 0xD1,
    "ề": 0xD2, "ể": 0xD3, "ễ": 0xD4, "ế": 0xD5, "ệ": 0xD6,
    "ì": 0xD7, "ỉ": 0xD8, "ĩ": 0xDC, "í": 0xDD, "ị": 0xDE,
    "ò": 0xDF, "ỏ": 0xE1, "õ": 0xE2, "ó": 0xE3, "ọ": 0xE4,
    "ồ": 0xE5, "ổ": 0xE6, "ỗ": 0xE7, "ố": 0xE8, "ộ": 0xE9,
    "ờ": 0xEA, "ở": 0xEB, "ỡ": 0xEC, "ớ": 0xED, "ợ": 0xEE,
    "ù": 0xEF, "ủ": 0xF1, "ũ": 0xF2, "ú": 0xF3, "ụ": 0xF4,
    "ừ": 0xF5, "ử": 0xF6, "ữ": 0xF7, "ứ": 0xF8, "ự": 0xF9,
    "ỳ": 0xFA, "ỷ": 0xFB, "ỹ": 0xFC, "ý": 0xFD, "ỵ": 0xFE,
}


def tcvn3_mojibake(text: str) -> str:
    """`text` encoded in TCVN3 and read back as Windows-1252: 'Quyết định' → 'QuyÕt ®Þnh'."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        code = _TCVN3.get(ch)
        if code is None and ch.lower() in _TCVN3 and not ch.isascii():
            code = _TCVN3[ch.lower()]
        if code is not None:
            out.append(code)
        elif ch.isascii():
            out.append(ord(ch))
        else:
            out.append(ord("?"))
    return out.decode("cp1252", errors="replace")


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid grey-scale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x * 16) % 256 for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tiny_exe() -> bytes:
    """The first bytes of a Windows PE executable: MZ header, DOS stub text, PE signature."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    dos[0x4E : 0x4E + len(stub)] = stub
    pe = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    return bytes(dos) + pe + bytes(0xE0 + 40)
