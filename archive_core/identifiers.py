"""Identifiers of agencies, dossiers and documents (metadata.md §3).

Each `parse_*` returns a frozen dataclass or raises `IdentifierError` with a
Vietnamese and an English reason. A value whose structure is plausible but not
the standard form (a short agency code such as `H49.64.33`, a fonds code in
place of the agency code) parses, with the deviations in `.warnings`.

- Mã định danh cơ quan (QCVN 102:2016): `V1V2V3.Z1Z2.Y1Y2.MX1X2`, 13 characters,
  level 1 (G.. ministries, H.. provinces) on the right: `000.00.00.H12`.
- Mã hồ sơ: agency (or fonds) code + year + số và ký hiệu hồ sơ: `000.06.16.G09.2010.01.TH`.
- docCode = mã hồ sơ + 7-digit sequence; arcFileCode = archive agency code + mã hồ sơ;
  arcDocCode = arcFileCode + 7-digit sequence; docId (TT 05) = mã hồ sơ + ordinal.
- Mã định danh văn bản (Circular 02 DocCode): `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYYY.N`.
- Mã hồ sơ gốc giấy: `[mã cơ quan lưu trữ].[kho/giá/hộp].[số hồ sơ giấy]`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

MIN_YEAR = 1900
AGENCY_REGISTRY = Path(__file__).resolve().parent / "data" / "agencies.csv"


@dataclass(frozen=True)
class Reason:
    vi: str
    en: str


class IdentifierError(ValueError):
    def __init__(self, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_vi = reason_vi
        self.reason_en = reason_en

    @property
    def reason(self) -> Reason:
        return Reason(self.reason_vi, self.reason_en)


class AgencyForm(StrEnum):
    QCVN102 = "qcvn102"
    """`V1V2V3.Z1Z2.Y1Y2.MX1X2`, 13 characters."""
    SHORT = "short"
    """Level 1 first, lower levels after, no zero padding: `H49.64.33` (seen in practice)."""
    FONDS = "fonds"
    """Not an agency code: a fonds code (mã phông) used in its place."""


@dataclass(frozen=True)
class AgencyCode:
    raw: str
    form: AgencyForm
    level1: str
    """Level-1 unit: `G09`, `H49`."""
    lower: tuple[str, ...]
    """Lower levels from level 2 downwards, zero blocks dropped (`("64", "33")`)."""
    warnings: tuple[Reason, ...] = ()

    @property
    def qcvn(self) -> str:
        """The equivalent 13-character QCVN 102 code (levels 4.3.2.1)."""
        levels = list(self.lower) + ["00"] * (3 - len(self.lower))
        level2, level3, level4 = levels[0], levels[1], levels[2]
        return f"{level4.zfill(3)}.{level3.zfill(2)}.{level2.zfill(2)}.{self.level1}"

    @property
    def sector(self) -> str:
        """`G` (ministry, central body), `H` (province) … from the level-1 letter."""
        return self.level1[0]


@dataclass(frozen=True)
class FileCode:
    """Mã hồ sơ."""

    raw: str
    prefix: str
    """Agency or fonds code as written."""
    agency: AgencyCode
    year: int
    notation: str
    """Số và ký hiệu hồ sơ (and mục lục số when present), as written."""
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class DocCode:
    """docCode (mã lưu trữ của tài liệu) = mã hồ sơ + 7-digit sequence."""

    raw: str
    file_code: FileCode
    sequence: int
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class ArcFileCode:
    """arcFileCode = mã cơ quan lưu trữ + mã hồ sơ."""

    raw: str
    archive: AgencyCode
    file_code: FileCode
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class ArcDocCode:
    raw: str
    arc_file_code: ArcFileCode
    sequence: int
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class DocId:
    """TT 05 docId (mã định danh tài liệu) = mã hồ sơ + "." + ordinal."""

    raw: str
    file_code: FileCode
    ordinal: int
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class DocIdentifier:
    """Mã định danh văn bản `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYYY.N`."""

    raw: str
    agency: AgencyCode
    year: int
    number: int
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class PaperFileCode:
    raw: str
    archive: AgencyCode
    location: str
    """Kho/giá/hộp, as written."""
    number: str
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class TailieuFileCode:
    """SIP_tailieu fileCode = agency + year + submission number (2) + sequence (7)."""

    raw: str
    agency: AgencyCode
    year: int
    submission: int
    sequence: int
    warnings: tuple[Reason, ...] = ()


_LEVEL1 = re.compile(r"[A-Z]\d{2}")
_QCVN = re.compile(r"(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})")
_SHORT_LOWER = re.compile(r"\d{2,3}")
_FONDS = re.compile(r"[A-Za-z0-9_\-]{1,30}")
_NOTATION_BLOCK = re.compile(r"[0-9A-Za-zĐđ\-_/]+")
_WHITESPACE = re.compile(r"\s")


def _current_year(today: date | None) -> int:
    return (today or date.today()).year


def _check_text(s: str, what_vi: str, what_en: str) -> str:
    if not isinstance(s, str) or not s:
        raise IdentifierError(f"{what_vi} trống", f"{what_en} is empty")
    if _WHITESPACE.search(s):
        raise IdentifierError(f"{what_vi} chứa khoảng trắng", f"{what_en} contains white space")
    return s


def parse_year(block: str, today: date | None = None) -> int:
    """A 4-digit year between 1900 and next year."""
    if not re.fullmatch(r"\d{4}", block):
        raise IdentifierError(f"năm '{block}' không phải 4 chữ số", f"year '{block}' is not 4 digits")
    year = int(block)
    latest = _current_year(today) + 1
    if not MIN_YEAR <= year <= latest:
        raise IdentifierError(
            f"năm {year} ngoài khoảng {MIN_YEAR}–{latest}", f"year {year} is outside {MIN_YEAR}–{latest}"
        )
    return year


def parse_agency_code(s: str) -> AgencyCode:
    """Mã định danh cơ quan: QCVN 102 (`000.06.16.G09`) or the short form (`H49.64.33`)."""
    _check_text(s, "Mã cơ quan", "Agency code")
    match = _QCVN.fullmatch(s)
    if match:
        level4, level3, level2, level1 = match.groups()
        lower = tuple(b for b in (level2, level3, level4) if int(b) != 0)
        warnings: tuple[Reason, ...] = ()
        if _has_gap((level2, level3, level4)):
            warnings = (
                Reason(
                    "mã cơ quan có cấp dưới khác 0 trong khi cấp trên bằng 0",
                    "agency code has a non-zero lower level under a zero level",
                ),
            )
        return AgencyCode(s, AgencyForm.QCVN102, level1, lower, warnings)
    blocks = s.split(".")
    if _LEVEL1.fullmatch(blocks[0]) and 1 <= len(blocks) <= 4 and all(
        _SHORT_LOWER.fullmatch(b) for b in blocks[1:]
    ):
        return AgencyCode(
            s,
            AgencyForm.SHORT,
            blocks[0],
            tuple(blocks[1:]),
            (
                Reason(
                    f"mã cơ quan '{s}' không theo dạng 13 ký tự của QCVN 102:2016 (V1V2V3.Z1Z2.Y1Y2.MX1X2)",
                    f"agency code '{s}' is not the 13-character QCVN 102:2016 form (V1V2V3.Z1Z2.Y1Y2.MX1X2)",
                ),
            ),
        )
    if _QCVN.fullmatch(s.upper()):
        raise IdentifierError(
            f"mã cơ quan '{s}' phải viết hoa chữ cái cấp 1", f"agency code '{s}' needs an upper-case letter"
        )
    raise IdentifierError(
        f"mã cơ quan '{s}' không đúng cấu trúc V1V2V3.Z1Z2.Y1Y2.MX1X2 (ví dụ 000.00.00.H12)",
        f"agency code '{s}' does not follow V1V2V3.Z1Z2.Y1Y2.MX1X2 (e.g. 000.00.00.H12)",
    )


def _has_gap(levels: tuple[str, ...]) -> bool:
    """True when a level is zero but a lower one (to its right in `levels`) is not."""
    seen_zero = False
    for block in levels:
        if int(block) == 0:
            seen_zero = True
        elif seen_zero:
            return True
    return False


def _split_at_year(s: str, today: date | None, what_vi: str, what_en: str) -> tuple[str, int, list[str]]:
    """Split `prefix.YYYY.rest…` at the first block that is a plausible year."""
    blocks = s.split(".")
    if any(not b for b in blocks):
        raise IdentifierError(
            f"{what_vi} '{s}' có khối rỗng (hai dấu chấm liền nhau)", f"{what_en} '{s}' has an empty block"
        )
    for index in range(1, len(blocks)):
        if re.fullmatch(r"\d{4}", blocks[index]):
            try:
                year = parse_year(blocks[index], today)
            except IdentifierError as exc:
                raise IdentifierError(f"{what_vi} '{s}': {exc.reason_vi}", f"{what_en} '{s}': {exc.reason_en}") from exc
            return ".".join(blocks[:index]), year, blocks[index + 1 :]
    raise IdentifierError(
        f"{what_vi} '{s}' không có năm hình thành hồ sơ (4 chữ số) sau mã cơ quan",
        f"{what_en} '{s}' has no 4-digit year after the agency code",
    )


def _prefix_agency(prefix: str) -> AgencyCode:
    try:
        return parse_agency_code(prefix)
    except IdentifierError:
        if _FONDS.fullmatch(prefix):
            return AgencyCode(
                prefix,
                AgencyForm.FONDS,
                "",
                (),
                (
                    Reason(
                        f"'{prefix}' không phải mã định danh cơ quan; coi là mã phông",
                        f"'{prefix}' is not an agency code; taken as a fonds code",
                    ),
                ),
            )
        raise


@lru_cache(maxsize=4096)
def parse_file_code(s: str, today: date | None = None) -> FileCode:
    """Mã hồ sơ: `000.06.16.G09.2010.01.TH`, `H49.64.33.2001.160`.

    Cached: every document of a dossier repeats its file code (results are frozen).
    """
    _check_text(s, "Mã hồ sơ", "File code")
    prefix, year, rest = _split_at_year(s, today, "Mã hồ sơ", "File code")
    try:
        agency = _prefix_agency(prefix)
    except IdentifierError as exc:
        raise IdentifierError(f"Mã hồ sơ '{s}': {exc.reason_vi}", f"File code '{s}': {exc.reason_en}") from exc
    if not rest:
        raise IdentifierError(
            f"Mã hồ sơ '{s}' thiếu số và ký hiệu hồ sơ sau năm", f"File code '{s}' lacks the file number after the year"
        )
    bad = [b for b in rest if not _NOTATION_BLOCK.fullmatch(b)]
    if bad:
        raise IdentifierError(
            f"Mã hồ sơ '{s}': số và ký hiệu hồ sơ có ký tự không hợp lệ ('{bad[0]}')",
            f"File code '{s}': file number has invalid characters ('{bad[0]}')",
        )
    return FileCode(s, prefix, agency, year, ".".join(rest), agency.warnings)


def _split_sequence(s: str, what_vi: str, what_en: str) -> tuple[str, int]:
    head, dot, last = s.rpartition(".")
    if not dot or not head:
        raise IdentifierError(f"{what_vi} '{s}' thiếu số thứ tự", f"{what_en} '{s}' lacks a sequence number")
    if not _SEVEN_DIGITS.fullmatch(last):
        raise IdentifierError(
            f"{what_vi} '{s}': số thứ tự '{last}' phải gồm đúng 7 chữ số (ví dụ 0000001)",
            f"{what_en} '{s}': sequence '{last}' must be exactly 7 digits (e.g. 0000001)",
        )
    if int(last) == 0:
        raise IdentifierError(
            f"{what_vi} '{s}': số thứ tự bắt đầu từ 0000001", f"{what_en} '{s}': the sequence starts at 0000001"
        )
    return head, int(last)


_SEVEN_DIGITS = re.compile(r"\d{7}")
_ORDINAL = re.compile(r"\d{1,7}")


@lru_cache(maxsize=4096)
def parse_doc_code(s: str, today: date | None = None) -> DocCode:
    """docCode = mã hồ sơ + "." + 7-digit sequence: `H49.64.33.2001.160.0000001`."""
    _check_text(s, "Mã lưu trữ tài liệu", "Document code")
    head, sequence = _split_sequence(s, "Mã lưu trữ tài liệu", "Document code")
    file_code = _wrap(parse_file_code, head, today, "Mã lưu trữ tài liệu", "Document code", s)
    return DocCode(s, file_code, sequence, file_code.warnings)


def _wrap(
    parse: object, value: str, today: date | None, what_vi: str, what_en: str, whole: str
) -> FileCode:
    assert callable(parse)
    try:
        result = parse(value, today)
    except IdentifierError as exc:
        raise IdentifierError(f"{what_vi} '{whole}': {exc.reason_vi}", f"{what_en} '{whole}': {exc.reason_en}") from exc
    assert isinstance(result, FileCode)
    return result


def parse_arc_file_code(s: str, today: date | None = None) -> ArcFileCode:
    """arcFileCode = mã cơ quan lưu trữ + "." + mã hồ sơ."""
    _check_text(s, "Mã hồ sơ lưu trữ", "Archival file code")
    blocks = s.split(".")
    candidates: list[ArcFileCode] = []
    last_error: IdentifierError | None = None
    for cut in range(1, min(5, len(blocks))):
        archive_raw, rest = ".".join(blocks[:cut]), ".".join(blocks[cut:])
        try:
            archive = parse_agency_code(archive_raw)
            file_code = parse_file_code(rest, today)
        except IdentifierError as exc:
            last_error = exc
            continue
        candidates.append(ArcFileCode(s, archive, file_code, archive.warnings + file_code.warnings))
    if not candidates:
        detail_vi = last_error.reason_vi if last_error else "không tách được"
        detail_en = last_error.reason_en if last_error else "cannot be split"
        raise IdentifierError(
            f"Mã hồ sơ lưu trữ '{s}' không gồm mã cơ quan lưu trữ + mã hồ sơ ({detail_vi})",
            f"Archival file code '{s}' is not archive agency code + file code ({detail_en})",
        )
    return min(candidates, key=lambda c: (len(c.warnings), c.archive.form != AgencyForm.QCVN102))


def parse_arc_doc_code(s: str, today: date | None = None) -> ArcDocCode:
    """arcDocCode = arcFileCode + "." + 7-digit sequence."""
    _check_text(s, "Mã lưu trữ tài liệu", "Archival document code")
    head, sequence = _split_sequence(s, "Mã lưu trữ tài liệu", "Archival document code")
    arc = parse_arc_file_code(head, today)
    return ArcDocCode(s, arc, sequence, arc.warnings)


@lru_cache(maxsize=4096)
def parse_doc_id(s: str, today: date | None = None) -> DocId:
    """TT 05 docId = mã hồ sơ + "." + ordinal: `H49.64.33.2001.160.1` (its length is the field spec's)."""
    _check_text(s, "Mã định danh tài liệu", "Document id")
    head, dot, last = s.rpartition(".")
    if not dot or not _ORDINAL.fullmatch(last):
        raise IdentifierError(
            f"Mã định danh tài liệu '{s}' phải kết thúc bằng số thứ tự tài liệu",
            f"Document id '{s}' must end with the document ordinal",
        )
    if int(last) == 0:
        raise IdentifierError(
            f"Mã định danh tài liệu '{s}': số thứ tự bắt đầu từ 1", f"Document id '{s}': the ordinal starts at 1"
        )
    file_code = _wrap(parse_file_code, head, today, "Mã định danh tài liệu", "Document id", s)
    return DocId(s, file_code, int(last), file_code.warnings)


def parse_doc_identifier(s: str, today: date | None = None) -> DocIdentifier:
    """Mã định danh văn bản `000.00.00.H12-2024.15` (agency-year.N, N from 1 each year)."""
    _check_text(s, "Mã định danh văn bản", "Document identifier")
    match = re.fullmatch(r"(.+)-(\d{4})\.(\d+)", s)
    if not match:
        raise IdentifierError(
            f"Mã định danh văn bản '{s}' không theo dạng V1V2V3.Z1Z2.Y1Y2.MX1X2-YYYY.N",
            f"Document identifier '{s}' does not follow V1V2V3.Z1Z2.Y1Y2.MX1X2-YYYY.N",
        )
    agency_raw, year_raw, number_raw = match.groups()
    try:
        agency = parse_agency_code(agency_raw)
        year = parse_year(year_raw, today)
    except IdentifierError as exc:
        raise IdentifierError(
            f"Mã định danh văn bản '{s}': {exc.reason_vi}", f"Document identifier '{s}': {exc.reason_en}"
        ) from exc
    if int(number_raw) == 0 or number_raw.startswith("0"):
        raise IdentifierError(
            f"Mã định danh văn bản '{s}': số thứ tự N phải là số tự nhiên từ 1, không có số 0 đứng đầu",
            f"Document identifier '{s}': N must be a natural number from 1 without leading zeros",
        )
    return DocIdentifier(s, agency, year, int(number_raw), agency.warnings)


def parse_paper_file_code(s: str) -> PaperFileCode:
    """Mã hồ sơ gốc giấy `[mã cơ quan lưu trữ].[kho/giá/hộp].[số hồ sơ giấy]`."""
    _check_text(s, "Mã hồ sơ gốc giấy", "Paper file code")
    blocks = s.split(".")
    for cut in (4, 3, 2, 1):
        if len(blocks) < cut + 2:
            continue
        try:
            archive = parse_agency_code(".".join(blocks[:cut]))
        except IdentifierError:
            continue
        location, number = ".".join(blocks[cut:-1]), blocks[-1]
        if location and number and all(_NOTATION_BLOCK.fullmatch(b) for b in blocks[cut:]):
            return PaperFileCode(s, archive, location, number, archive.warnings)
    raise IdentifierError(
        f"Mã hồ sơ gốc giấy '{s}' không theo dạng [mã cơ quan lưu trữ].[kho/giá/hộp].[số hồ sơ giấy]",
        f"Paper file code '{s}' does not follow [archive agency code].[store/shelf/box].[paper file number]",
    )


def parse_tailieu_file_code(s: str, today: date | None = None) -> TailieuFileCode:
    """SIP_tailieu fileCode: agency + year + 2-digit submission number + 7-digit sequence."""
    _check_text(s, "Mã hồ sơ", "File code")
    prefix, year, rest = _split_at_year(s, today, "Mã hồ sơ", "File code")
    if len(rest) != 2 or not re.fullmatch(r"\d{2}", rest[0]) or not re.fullmatch(r"\d{7}", rest[1]):
        raise IdentifierError(
            f"Mã gói tài liệu '{s}' phải gồm mã cơ quan, năm, số lần nộp (2 chữ số) và số thứ tự (7 chữ số)",
            f"Loose-document code '{s}' must be agency, year, submission number (2 digits) and sequence (7 digits)",
        )
    agency = parse_agency_code(prefix)
    return TailieuFileCode(s, agency, year, int(rest[0]), int(rest[1]), agency.warnings)


# ---------------------------------------------------------------- consistency


def doc_code_mismatches(doc_code: str, file_code: str) -> list[Reason]:
    """Why a docCode (or docId) does not belong to a fileCode; empty when it does.

    A docCode must be the fileCode followed by "." and its sequence. When only
    the year differs (a producer writing a constant year, as in a real sample),
    the reason says so.
    """
    if doc_code.startswith(file_code + "."):
        return []
    try:
        doc_file = parse_doc_code(doc_code).file_code
    except IdentifierError:
        try:
            doc_file = parse_doc_id(doc_code).file_code
        except IdentifierError:
            doc_file = None
    try:
        parent = parse_file_code(file_code)
    except IdentifierError:
        parent = None
    if (
        doc_file is not None
        and parent is not None
        and doc_file.year != parent.year
        and doc_file.prefix == parent.prefix
        and doc_file.notation == parent.notation
    ):
        return [
            Reason(
                f"'{doc_code}' ghi năm {doc_file.year} trong khi mã hồ sơ '{file_code}' ghi năm {parent.year}",
                f"'{doc_code}' states year {doc_file.year} while file code '{file_code}' states {parent.year}",
            )
        ]
    return [
        Reason(
            f"'{doc_code}' không bắt đầu bằng mã hồ sơ '{file_code}'",
            f"'{doc_code}' does not start with the file code '{file_code}'",
        )
    ]


# ---------------------------------------------------------------- agency registry


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    level: int
    parent: str | None
    note: str


@lru_cache(maxsize=4)
def load_agencies(path: Path = AGENCY_REGISTRY) -> dict[str, Agency]:
    """The agency registry (CSV: code,name,level,parent,note), keyed by code."""
    agencies: dict[str, Agency] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["code"].strip()
            agencies[code] = Agency(
                code=code,
                name=row["name"].strip(),
                level=int(row["level"]),
                parent=(row.get("parent") or "").strip() or None,
                note=(row.get("note") or "").strip(),
            )
    return agencies


def lookup_agency(code: str, path: Path = AGENCY_REGISTRY) -> Agency | None:
    """The registered agency for `code` (either form), None when not registered."""
    registry = load_agencies(path)
    if code in registry:
        return registry[code]
    try:
        parsed = parse_agency_code(code)
    except IdentifierError:
        return None
    if parsed.form is AgencyForm.FONDS:
        return None
    return registry.get(parsed.qcvn)
