"""BagIt reader: RFC 8493 (BagIt 1.0) and the older 0.93–0.97 drafts, plus the
earchive Circular 02 BagIt profile (`docs/bagit-profile.md`).

The reader only parses declarations: bagit.txt, bag-info.txt, the payload and tag
manifests and fetch.txt. Every manifest line becomes a `DeclaredFile`; the gate's
generic fixity check compares them with the bytes (this module never hashes a
file). BagIt-only rules that the generic check cannot know are checked here:
every payload manifest must list every payload file, Payload-Oxum, duplicate and
unsafe manifest paths, fetch.txt completeness.

Choices that depart from the conformance suite or need a word (see
`docs/conformance.md`, BagIt section):
- A bag whose fetch.txt names files that are not in the bag ("holey" bag) is
  rejected (`CK-BAG-FETCH-INCOMPLETE`): the archive never downloads, and an
  incomplete bag cannot be valid (RFC 8493 §3).
- Manifest paths are percent-decoded (%0D, %0A, %25 only) for BagIt ≥ 1.0 and
  taken literally before 1.0; when the other reading is the one that names a
  real file, it is used with a warning (bagit-python writes 1.0 bags with a
  literal `%`).
- The same path listed twice with the same checksum is a warning before 1.0 and
  an error from 1.0 ("every payload file MUST be listed exactly once").
- A manifest entry that only differs in letter case from another entry of the
  same manifest with the same checksum, and names no file of its own, is taken
  as the same file seen through a case-insensitive file system: warning. Files
  on disk whose names differ only in case are the policy check's matter
  (`ingest.checks.policy`), for every kind of package.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from lxml import etree

from archive_core.findings import CheckContext, Code, Severity, declare
from archive_core.model import Document, Dossier, FileRef, FileRole
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.settings import Settings
from archive_core.xmlsafe import XmlError, parse_xml
from ingest.package import DeclaredFile, PackageKind, ParsedPackage
from ingest.source import Entry, PackageSource

AGENT = Agent("earchive.reader.bagit")

PROFILE_IDENTIFIER = "urn:earchive:bagit-profile:circular02:1.0"
"""Value of `BagIt-Profile-Identifier` that declares the earchive Circular 02 profile."""

PAYLOAD_DIR = "data/"
DOSSIER_XML = "data/metadata/dossier.xml"
DOCUMENTS_DIR = "data/metadata/documents/"
FILES_DIR = "data/files/"

SUPPORTED_ALGORITHMS: dict[str, int] = {
    "md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
}
"""Manifest algorithms we read (hashlib name → hex digits). RFC 8493 requires sha256 and sha512."""

DECLARATION_LIMIT = 64 * 1024
"""bagit.txt holds two short lines; anything larger is not a bag declaration."""

_MANIFEST_NAME = re.compile(r"(tag)?manifest-([^/]+)\.txt")
_CHECKSUM_LINE = re.compile(r"([^ \t]+)[ \t]+(.*)")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_VERSION = re.compile(r"(\d+)\.(\d+)")
_OXUM = re.compile(r"(\d+)\.(\d+)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PERCENT_V1 = re.compile(r"%(0[dDaA]|25)")
_DRIVE = re.compile(r"[A-Za-z]:")
_AGENCY_CODE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9A-Z]{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

NOT_REPEATABLE = ("payload-oxum", "bagging-date", "bag-size", "bag-count", "bag-group-identifier")
PROFILE_NOT_REPEATABLE = (
    "source-organization", "organization-identifier", "external-identifier", "bagit-profile-identifier",
)
PROFILE_REQUIRED_INFO = (
    "Source-Organization", "Organization-Identifier", "External-Identifier", "Bagging-Date",
    "Payload-Oxum", "BagIt-Profile-Identifier",
)
PROFILE_VERSIONS = ("0.97", "1.0")


def _bag(code: str, severity: Severity, vi: str, en: str, rule: str = "R-IN-1") -> Code:
    return declare(code, rule, severity, vi, en)


# --- bag declaration (bagit.txt) ------------------------------------------------------------
DECLARATION_MISSING = _bag(
    "CK-BAG-DECLARATION-MISSING", Severity.ERROR,
    "Túi BagIt thiếu tệp khai báo bagit.txt ở thư mục gốc",
    "The bag has no bagit.txt declaration at its root",
)
DECLARATION_BOM = _bag(
    "CK-BAG-DECLARATION-BOM", Severity.ERROR,
    "Tệp bagit.txt bắt đầu bằng dấu BOM; RFC 8493 không cho phép",
    "bagit.txt starts with a byte-order mark, which RFC 8493 forbids",
)
DECLARATION_INVALID = _bag(
    "CK-BAG-DECLARATION-INVALID", Severity.ERROR,
    "Tệp bagit.txt sai cú pháp ở dòng {line}: {reason}",
    "bagit.txt is malformed at line {line}: {reason}",
)
DECLARATION_EXTRA = _bag(
    "CK-BAG-DECLARATION-EXTRA", Severity.WARNING,
    "Tệp bagit.txt có dòng không thuộc chuẩn ở dòng {line}: {text}",
    "bagit.txt has a line outside the standard at line {line}: {text}",
)
DECLARATION_FIELD_MISSING = _bag(
    "CK-BAG-DECLARATION-FIELD-MISSING", Severity.ERROR,
    "Tệp bagit.txt thiếu trường bắt buộc {field}",
    "bagit.txt lacks the required field {field}",
)
VERSION_INVALID = _bag(
    "CK-BAG-VERSION-INVALID", Severity.ERROR,
    "Phiên bản BagIt không hợp lệ hoặc không được hỗ trợ: {version}",
    "BagIt version is invalid or unsupported: {version}",
)
ENCODING_UNKNOWN = _bag(
    "CK-BAG-ENCODING-UNKNOWN", Severity.ERROR,
    "Bảng mã tệp thẻ {encoding} không được hỗ trợ",
    "Tag file character encoding {encoding} is not supported",
)
ENCODING_NOT_UTF8 = _bag(
    "CK-BAG-ENCODING-NOT-UTF8", Severity.INFO,
    "Các tệp thẻ của túi dùng bảng mã {encoding} (không phải UTF-8)",
    "The bag's tag files use {encoding}, not UTF-8",
)
# --- tag files --------------------------------------------------------------------------------
TAG_BOM = _bag(
    "CK-BAG-TAG-BOM", Severity.WARNING,
    "Tệp thẻ {path} mã UTF-8 có dấu BOM thừa",
    "Tag file {path} is UTF-8 with a needless byte-order mark",
)
TAG_UNDECODABLE = _bag(
    "CK-BAG-TAG-UNDECODABLE", Severity.ERROR,
    "Tệp thẻ {path} không giải mã được bằng bảng mã {encoding} đã khai báo",
    "Tag file {path} cannot be decoded with the declared encoding {encoding}",
)
TAG_TOO_LARGE = _bag(
    "CK-BAG-TAG-TOO-LARGE", Severity.ERROR,
    "Tệp thẻ {path} quá lớn ({size} byte, tối đa {limit}); không đọc",
    "Tag file {path} is too large ({size} bytes, limit {limit}); not read",
)
INFO_LINE_INVALID = _bag(
    "CK-BAG-INFO-LINE-INVALID", Severity.ERROR,
    "Tệp {path} sai cú pháp ở dòng {line}: cần dạng \"Nhãn: giá trị\"",
    "{path} is malformed at line {line}: expected \"Label: value\"",
)
INFO_LABEL_SPACE = _bag(
    "CK-BAG-INFO-LABEL-SPACE", Severity.WARNING,
    "Nhãn \"{field}\" trong {path} có khoảng trắng ở đầu hoặc cuối (RFC 8493 không cho phép)",
    "Label \"{field}\" in {path} starts or ends with whitespace (not allowed by RFC 8493)",
)
INFO_REPEATED = _bag(
    "CK-BAG-INFO-REPEATED", Severity.WARNING,
    "Nhãn {field} xuất hiện {count} lần trong {path}; chỉ được một lần, dùng giá trị đầu tiên",
    "Label {field} appears {count} times in {path}; it must appear once, the first value is used",
)
OXUM_INVALID = _bag(
    "CK-BAG-OXUM-INVALID", Severity.ERROR,
    "Payload-Oxum \"{value}\" sai dạng (cần <số byte>.<số tệp>)",
    "Payload-Oxum \"{value}\" is malformed (expected <octets>.<files>)",
    rule="R-CK-1",
)
OXUM_MISMATCH = _bag(
    "CK-BAG-OXUM-MISMATCH", Severity.ERROR,
    "Payload-Oxum khai báo {declared_bytes} byte trong {declared_files} tệp, "
    "thực tế {actual_bytes} byte trong {actual_files} tệp",
    "Payload-Oxum declares {declared_bytes} bytes in {declared_files} files, "
    "the payload has {actual_bytes} bytes in {actual_files} files",
    rule="R-CK-1",
)
# --- manifests --------------------------------------------------------------------------------
NO_MANIFEST = _bag(
    "CK-BAG-NO-MANIFEST", Severity.ERROR,
    "Túi không có tệp manifest-<thuật toán>.txt nào đọc được",
    "The bag has no readable manifest-<algorithm>.txt",
    rule="R-CK-1",
)
ALGORITHM_UNSUPPORTED = _bag(
    "CK-BAG-ALGORITHM-UNSUPPORTED", Severity.WARNING,
    "Tệp {path} dùng thuật toán băm {algorithm} không được hỗ trợ; bỏ qua tệp này",
    "{path} uses the unsupported checksum algorithm {algorithm}; the file is ignored",
    rule="R-CK-1",
)
MANIFEST_LINE_INVALID = _bag(
    "CK-BAG-MANIFEST-LINE-INVALID", Severity.ERROR,
    "Dòng {line} của {path} không hợp lệ: {reason}",
    "Line {line} of {path} is invalid: {reason}",
    rule="R-CK-1",
)
MD5SUM_MARKER = _bag(
    "CK-BAG-MD5SUM-MARKER", Severity.WARNING,
    "Tệp {path} dùng dấu \"*\" (chế độ nhị phân của md5sum) trước đường dẫn; không thuộc chuẩn BagIt",
    "{path} puts the md5sum binary-mode marker \"*\" before paths; this is not BagIt syntax",
    rule="R-CK-1",
)
PATH_UNSAFE = _bag(
    "CK-BAG-PATH-UNSAFE", Severity.ERROR,
    "Đường dẫn \"{raw}\" trong {declared_by} trỏ ra ngoài túi (tuyệt đối, \"..\", \"~\" hoặc ổ đĩa/UNC)",
    "Path \"{raw}\" in {declared_by} points outside the bag (absolute, \"..\", \"~\", drive or UNC)",
)
PATH_NOT_NORMAL = _bag(
    "CK-BAG-PATH-NOT-NORMAL", Severity.WARNING,
    "Đường dẫn \"{raw}\" trong {declared_by} chưa chuẩn hóa; được hiểu là {path}",
    "Path \"{raw}\" in {declared_by} is not in normal form; read as {path}",
)
PATH_OUTSIDE_PAYLOAD = _bag(
    "CK-BAG-PATH-OUTSIDE-PAYLOAD", Severity.ERROR,
    "{declared_by} khai báo {path} nằm ngoài thư mục dữ liệu data/",
    "{declared_by} lists {path}, which is outside the payload directory data/",
)
PATH_ENCODING = _bag(
    "CK-BAG-PATH-ENCODING", Severity.WARNING,
    "Đường dẫn \"{raw}\" trong {declared_by} không mã hóa phần trăm đúng với BagIt {version}; "
    "được hiểu là {path}",
    "Path \"{raw}\" in {declared_by} is not percent-encoded as BagIt {version} requires; read as {path}",
)
MANIFEST_REPEATED = _bag(
    "CK-BAG-MANIFEST-REPEATED", Severity.WARNING,
    "{declared_by} liệt kê {path} nhiều lần với cùng mã băm",
    "{declared_by} lists {path} more than once with the same checksum",
    rule="R-CK-1",
)
MANIFEST_REPEATED_V1 = _bag(
    "CK-BAG-MANIFEST-REPEATED-V1", Severity.ERROR,
    "{declared_by} liệt kê {path} nhiều lần; BagIt 1.0 yêu cầu mỗi tệp chỉ một lần",
    "{declared_by} lists {path} more than once; BagIt 1.0 requires each file exactly once",
    rule="R-CK-1",
)
MANIFEST_CONFLICT = _bag(
    "CK-BAG-MANIFEST-CONFLICT", Severity.ERROR,
    "{declared_by} liệt kê {path} nhiều lần với các mã băm khác nhau",
    "{declared_by} lists {path} more than once with different checksums",
    rule="R-CK-1",
)
MANIFEST_INCOMPLETE = _bag(
    "CK-BAG-MANIFEST-INCOMPLETE", Severity.ERROR,
    "Tệp dữ liệu {path} không có trong {declared_by} (mọi manifest phải liệt kê mọi tệp dữ liệu)",
    "Payload file {path} is missing from {declared_by} (every manifest must list every payload file)",
    rule="R-CK-1",
)
NAME_NORMALIZATION = _bag(
    "CK-BAG-NAME-NORMALIZATION", Severity.WARNING,
    "Tên \"{raw}\" trong {declared_by} khác tên tệp \"{other}\" chỉ ở dạng chuẩn hóa Unicode (NFC/NFD)",
    "Name \"{raw}\" in {declared_by} differs from \"{other}\" only in Unicode normalization (NFC/NFD)",
)
NAME_CASE = _bag(
    "CK-BAG-NAME-CASE", Severity.WARNING,
    "Tên \"{path}\" và \"{other}\" chỉ khác nhau ở chữ hoa/thường; không lưu được trên hệ tệp "
    "không phân biệt hoa thường",
    "Names \"{path}\" and \"{other}\" differ only in letter case; they clash on case-insensitive "
    "file systems",
)
TAGMANIFEST_PAYLOAD = _bag(
    "CK-BAG-TAGMANIFEST-PAYLOAD", Severity.WARNING,
    "{declared_by} liệt kê tệp dữ liệu {path}; tagmanifest chỉ dành cho tệp thẻ",
    "{declared_by} lists the payload file {path}; tag manifests are for tag files",
)
EMPTY_PAYLOAD = _bag(
    "CK-BAG-EMPTY-PAYLOAD", Severity.WARNING,
    "Thư mục dữ liệu data/ của túi không có tệp nào",
    "The bag's payload directory data/ holds no file",
)
# --- fetch.txt --------------------------------------------------------------------------------
FETCH_LINE_INVALID = _bag(
    "CK-BAG-FETCH-LINE-INVALID", Severity.ERROR,
    "Dòng {line} của fetch.txt không hợp lệ: {reason}",
    "Line {line} of fetch.txt is invalid: {reason}",
)
FETCH_INCOMPLETE = _bag(
    "CK-BAG-FETCH-INCOMPLETE", Severity.ERROR,
    "Túi chưa đầy đủ: {count} tệp trong fetch.txt không có trong túi (ví dụ {path}); "
    "hệ thống không tải tệp từ mạng, cần gửi túi đầy đủ",
    "The bag is incomplete: {count} files listed in fetch.txt are not in the bag (e.g. {path}); "
    "the archive does not download them, send the complete bag",
    rule="R-CK-1",
)
# --- the earchive Circular 02 profile ---------------------------------------------------------
NO_METADATA = declare(
    "CK-BAG-NO-METADATA", "R-CK-5", Severity.ERROR,
    "Túi BagIt không mang siêu dữ liệu Thông tư 02 (thiếu data/metadata/dossier.xml và "
    "BagIt-Profile-Identifier); xem hồ sơ túi earchive",
    "The BagIt bag carries no Circular 02 metadata (no data/metadata/dossier.xml, no "
    "BagIt-Profile-Identifier); see the earchive bag profile",
)
C02_DOSSIER_MISSING = declare(
    "CK-BAG-C02-DOSSIER-MISSING", "R-CK-5", Severity.ERROR,
    "Túi khai báo hồ sơ earchive Thông tư 02 nhưng thiếu {path}",
    "The bag declares the earchive Circular 02 profile but lacks {path}",
)
C02_PROFILE_UNDECLARED = declare(
    "CK-BAG-C02-PROFILE-UNDECLARED", "R-IN-1", Severity.WARNING,
    "Túi có {path} nhưng bag-info.txt không khai báo BagIt-Profile-Identifier: {expected}",
    "The bag has {path} but bag-info.txt does not declare BagIt-Profile-Identifier: {expected}",
)
C02_INFO_MISSING = declare(
    "CK-BAG-C02-INFO-MISSING", "R-IN-1", Severity.ERROR,
    "bag-info.txt thiếu nhãn bắt buộc {field} của hồ sơ túi earchive",
    "bag-info.txt lacks {field}, which the earchive bag profile requires",
)
C02_INFO_INVALID = declare(
    "CK-BAG-C02-INFO-INVALID", "R-CK-5", Severity.WARNING,
    "Giá trị {field} = \"{value}\" trong bag-info.txt không đúng dạng {expected}",
    "{field} = \"{value}\" in bag-info.txt does not have the form {expected}",
)
C02_IDENTIFIER_MISMATCH = declare(
    "CK-BAG-C02-IDENTIFIER-MISMATCH", "R-CK-5", Severity.ERROR,
    "External-Identifier \"{value}\" trong bag-info.txt khác mã hồ sơ \"{code}\" trong {path}",
    "External-Identifier \"{value}\" in bag-info.txt differs from the dossier code \"{code}\" in {path}",
)
C02_BAG_RULE = declare(
    "CK-BAG-C02-BAG-RULE", "R-IN-1", Severity.ERROR,
    "Túi không theo hồ sơ túi earchive: {reason}",
    "The bag breaks the earchive bag profile: {reason}",
)
C02_BAG_ADVICE = declare(
    "CK-BAG-C02-BAG-ADVICE", "R-IN-1", Severity.WARNING,
    "Túi chưa theo khuyến nghị của hồ sơ túi earchive: {reason}",
    "The bag does not follow an earchive bag profile recommendation: {reason}",
)
C02_UNEXPECTED_PAYLOAD = declare(
    "CK-BAG-C02-UNEXPECTED-PAYLOAD", "R-IN-1", Severity.WARNING,
    "Tệp {path} nằm ngoài bố cục của hồ sơ túi (data/metadata/dossier.xml, "
    "data/metadata/documents/*.xml, data/files/*)",
    "{path} lies outside the profile layout (data/metadata/dossier.xml, "
    "data/metadata/documents/*.xml, data/files/*)",
)
C02_FILE_PATH_UNSAFE = declare(
    "CK-BAG-C02-FILE-PATH-UNSAFE", "R-CK-5", Severity.ERROR,
    "Tài liệu {path} khai báo tệp \"{raw}\" nằm ngoài thư mục data/ của túi",
    "Document {path} lists the file \"{raw}\", which is outside the bag's data/ folder",
)
C02_FILE_MISSING = declare(
    "CK-BAG-C02-FILE-MISSING", "R-CK-1", Severity.ERROR,
    "Tài liệu {metadata} khai báo tệp {path} nhưng tệp không có trong túi",
    "Document {metadata} lists {path}, which is not in the bag",
)
C02_FILE_UNREFERENCED = declare(
    "CK-BAG-C02-FILE-UNREFERENCED", "R-CK-5", Severity.ERROR,
    "Tệp {path} không thuộc tài liệu nào (không có trong <Files> của tệp siêu dữ liệu tài liệu nào)",
    "{path} belongs to no document (no document metadata lists it in <Files>)",
)
C02_FILE_SHARED = declare(
    "CK-BAG-C02-FILE-SHARED", "R-CK-5", Severity.WARNING,
    "Tệp {path} được khai báo bởi nhiều tài liệu: {documents}",
    "{path} is listed by several documents: {documents}",
)

PROFILE_CODES = frozenset(
    kind.code for kind in (
        NO_METADATA, C02_DOSSIER_MISSING, C02_PROFILE_UNDECLARED, C02_INFO_MISSING, C02_INFO_INVALID,
        C02_IDENTIFIER_MISMATCH, C02_BAG_RULE, C02_BAG_ADVICE, C02_UNEXPECTED_PAYLOAD,
        C02_FILE_PATH_UNSAFE, C02_FILE_MISSING, C02_FILE_UNREFERENCED, C02_FILE_SHARED,
    )
)
"""Codes about the earchive profile; everything else `CK-BAG-*` is plain BagIt (RFC 8493)."""


def is_bagit_level(code: str) -> bool:
    """True for findings about BagIt itself (not about our Circular 02 profile)."""
    return code.startswith(("CK-BAG-", "CK-FIXITY-")) and code not in PROFILE_CODES


@dataclass(frozen=True)
class BagVersion:
    major: int
    minor: int

    @property
    def text(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def is_v1(self) -> bool:
        return self.major >= 1


ASSUMED_VERSION = BagVersion(0, 97)
"""Rules used when bagit.txt gives no usable version (the most common pre-RFC bags)."""


@dataclass
class BagInfo:
    """bag-info.txt: labels compared case-insensitively, each possibly repeated."""

    path: str = "bag-info.txt"
    values: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    """Lower-case label → label as first written."""

    def add(self, label: str, value: str) -> None:
        key = label.lower()
        self.labels.setdefault(key, label)
        self.values.setdefault(key, []).append(value)

    def first(self, label: str) -> str | None:
        found = self.values.get(label.lower())
        return found[0] if found else None

    def all(self, label: str) -> list[str]:
        return list(self.values.get(label.lower(), []))


@dataclass
class ManifestEntry:
    path: str
    checksum: str
    raw: str
    line: int


@dataclass
class Manifest:
    name: str
    algorithm: str
    is_tag: bool
    entries: list[ManifestEntry] = field(default_factory=list)

    def paths(self) -> set[str]:
        return {entry.path for entry in self.entries}


@dataclass
class _Bag:
    """Everything one read learns about a bag, passed between the steps."""

    source: PackageSource
    ctx: CheckContext
    settings: Settings
    entries: dict[str, Entry]
    version: BagVersion = ASSUMED_VERSION
    version_text: str = ""
    encoding: str = "utf-8"
    encoding_label: str = "UTF-8"
    info: BagInfo = field(default_factory=BagInfo)
    manifests: list[Manifest] = field(default_factory=list)
    fetch_missing: set[str] = field(default_factory=set)
    has_fetch: bool = False

    def report(self, kind: Code, **kwargs: object) -> None:
        self.ctx.report(kind, **kwargs)

    @property
    def payload(self) -> list[Entry]:
        return [e for path, e in self.entries.items() if path.startswith(PAYLOAD_DIR)]


class BagItReader:
    """Reads a BagIt bag (folder, ZIP or tar through `PackageSource`) into a `ParsedPackage`."""

    name = "bagit"

    def accepts(self, source: PackageSource) -> bool:
        names = {entry.path for entry in source.entries()}
        if "bagit.txt" in names:
            return True
        # A bag that lost its bagit.txt still deserves a precise BagIt finding rather than
        # "unknown package"; a TT 05 SIP never has root manifests, and has METS.xml.
        has_manifest = any(
            (m := _MANIFEST_NAME.fullmatch(n)) is not None and not m.group(1) for n in names
        )
        has_payload = any(n.startswith(PAYLOAD_DIR) for n in names)
        return has_manifest and has_payload and "METS.xml" not in names

    def read(self, source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
        bag = _Bag(source, ctx, settings, {e.path: e for e in source.entries()})
        findings_before = len(ctx.findings)
        _read_declaration(bag)
        _read_bag_info(bag)
        _read_manifests(bag)
        _read_fetch(bag)
        declared = _declarations(bag)
        _check_completeness(bag)
        _check_oxum(bag)
        pkg = ParsedPackage(
            kind=PackageKind.BAGIT,
            name=source.name,
            root=source.root,
            objid=bag.info.first("External-Identifier"),
            created=bag.info.first("Bagging-Date"),
            producer=bag.info.first("Bag-Software-Agent"),
            agency_code=bag.info.first("Organization-Identifier"),
            agency_name=bag.info.first("Source-Organization"),
            declared=declared,
            files=list(bag.entries),
            profile_info=_profile_info(bag),
            declaration_prefixes=(PAYLOAD_DIR,),
            exempt_from_declaration={p for p in bag.entries if not p.startswith(PAYLOAD_DIR)},
        )
        _read_profile(bag, pkg)
        _record_event(bag, findings_before)
        return pkg


# --- bagit.txt ---------------------------------------------------------------------------------
def _read_declaration(bag: _Bag) -> None:
    entry = bag.entries.get("bagit.txt")
    if entry is None:
        bag.report(DECLARATION_MISSING, path="bagit.txt")
        return
    if entry.size > DECLARATION_LIMIT:
        bag.report(TAG_TOO_LARGE, path="bagit.txt", size=entry.size, limit=DECLARATION_LIMIT)
        return
    data = bag.source.read_bounded("bagit.txt", DECLARATION_LIMIT)
    if data.startswith(codecs.BOM_UTF8):
        bag.report(DECLARATION_BOM, path="bagit.txt")
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        bag.report(DECLARATION_INVALID, path="bagit.txt", line=1, reason="not UTF-8 / không phải UTF-8")
        text = data.decode("utf-8", errors="replace")
    fields = _declaration_fields(bag, text)
    _apply_version(bag, fields.get("bagit-version"))
    _apply_encoding(bag, fields.get("tag-file-character-encoding"))


def _declaration_fields(bag: _Bag, text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        label, colon, value = line.partition(":")
        if not colon:
            bag.report(DECLARATION_INVALID, path="bagit.txt", line=number, reason=f"no ':' in {line!r}")
            continue
        if label != label.strip():
            bag.report(
                DECLARATION_INVALID, path="bagit.txt", line=number,
                reason=f"whitespace around the label {label.strip()!r} / khoảng trắng quanh nhãn",
            )
        key = label.strip().lower()
        if key not in ("bagit-version", "tag-file-character-encoding") or key in fields:
            bag.report(DECLARATION_EXTRA, path="bagit.txt", line=number, text=line[:200])
            continue
        fields[key] = value.strip()
    return fields


def _apply_version(bag: _Bag, text: str | None) -> None:
    if text is None:
        bag.report(DECLARATION_FIELD_MISSING, path="bagit.txt", field="BagIt-Version")
        return
    bag.version_text = text
    match = _VERSION.fullmatch(text)
    if match is None:
        bag.report(VERSION_INVALID, path="bagit.txt", field="BagIt-Version", version=text)
        return
    version = BagVersion(int(match.group(1)), int(match.group(2)))
    if not (0, 93) <= (version.major, version.minor) < (2, 0):
        bag.report(VERSION_INVALID, path="bagit.txt", field="BagIt-Version", version=text)
        return
    bag.version = version


def _apply_encoding(bag: _Bag, label: str | None) -> None:
    if label is None:
        bag.report(DECLARATION_FIELD_MISSING, path="bagit.txt", field="Tag-File-Character-Encoding")
        return
    bag.encoding_label = label
    try:
        bag.encoding = codecs.lookup(label).name
    except LookupError:
        bag.report(ENCODING_UNKNOWN, path="bagit.txt", field="Tag-File-Character-Encoding", encoding=label)
        return
    if bag.encoding != "utf-8":
        bag.report(ENCODING_NOT_UTF8, path="bagit.txt", field="Tag-File-Character-Encoding", encoding=label)


# --- tag files ---------------------------------------------------------------------------------
def _read_tag_text(bag: _Bag, path: str) -> str | None:
    """A tag file decoded with the bag's declared encoding, or None when it cannot be read."""
    limit = bag.settings.limits.max_tag_file_bytes
    entry = bag.entries[path]
    if entry.size > limit:
        bag.report(TAG_TOO_LARGE, path=path, size=entry.size, limit=limit)
        return None
    data = bag.source.read_bounded(path, limit)
    if bag.encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        bag.report(TAG_BOM, path=path)
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode(bag.encoding)
    except UnicodeDecodeError:
        bag.report(TAG_UNDECODABLE, path=path, encoding=bag.encoding_label)
        text = data.decode(bag.encoding, errors="replace")
    return text.removeprefix("\ufeff")


def _lines(text: str) -> list[str]:
    """Tag file lines: RFC 8493 ends lines with LF, CR or CRLF (and nothing else)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _read_bag_info(bag: _Bag) -> None:
    # BagIt 0.93–0.95 called the file package-info.txt.
    old_name = (bag.version.major, bag.version.minor) <= (0, 95)
    names = ("package-info.txt", "bag-info.txt") if old_name else ("bag-info.txt",)
    path = next((name for name in names if name in bag.entries), None)
    if path is None:
        return
    bag.info.path = path
    text = _read_tag_text(bag, path)
    if text is None:
        return
    _parse_bag_info(bag, path, text)
    for key in NOT_REPEATABLE:
        values = bag.info.all(key)
        if len(values) > 1:
            bag.report(INFO_REPEATED, path=path, field=bag.info.labels[key], count=len(values))


def _parse_bag_info(bag: _Bag, path: str, text: str) -> None:
    label: str | None = None
    parts: list[str] = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        if line[0] in " \t":
            if label is None:
                bag.report(INFO_LINE_INVALID, path=path, line=number)
            else:
                parts.append(line.strip())
            continue
        if label is not None:
            bag.info.add(label, " ".join(parts))
            label = None
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            bag.report(INFO_LINE_INVALID, path=path, line=number)
            continue
        if name != name.strip() and bag.version.is_v1:
            bag.report(INFO_LABEL_SPACE, path=path, field=name.strip())
        label, parts = name.strip(), [value.strip()]
    if label is not None:
        bag.info.add(label, " ".join(parts))


# --- manifests ---------------------------------------------------------------------------------
def _read_manifests(bag: _Bag) -> None:
    for path in sorted(bag.entries):
        match = _MANIFEST_NAME.fullmatch(path)
        if match is None:
            continue
        algorithm = match.group(2).lower()
        if algorithm not in SUPPORTED_ALGORITHMS:
            bag.report(ALGORITHM_UNSUPPORTED, path=path, algorithm=match.group(2))
            continue
        manifest = Manifest(path, algorithm, is_tag=bool(match.group(1)))
        text = _read_tag_text(bag, path)
        if text is not None:
            _parse_manifest(bag, manifest, text)
        bag.manifests.append(manifest)
    if not any(not m.is_tag for m in bag.manifests):
        bag.report(NO_MANIFEST)


def _parse_manifest(bag: _Bag, manifest: Manifest, text: str) -> None:
    marker_reported = False
    seen: dict[str, ManifestEntry] = {}
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        match = _CHECKSUM_LINE.fullmatch(line.lstrip(" \t"))
        if match is None or not match.group(2).strip(" \t*"):
            bag.report(MANIFEST_LINE_INVALID, path=manifest.name, line=number, reason="no path / thiếu đường dẫn")
            continue
        checksum, raw = match.group(1), match.group(2)
        if raw.startswith("*"):
            raw = raw[1:]
            if not marker_reported:
                bag.report(MD5SUM_MARKER, path=manifest.name)
                marker_reported = True
        if not _valid_checksum(checksum, manifest.algorithm):
            digits = SUPPORTED_ALGORITHMS[manifest.algorithm]
            reason = f"{manifest.algorithm} checksum {checksum[:140]!r} is not {digits} hex digits"
            bag.report(MANIFEST_LINE_INVALID, path=manifest.name, line=number, reason=reason)
            continue
        path = _resolve_path(bag, raw, manifest.name, payload=not manifest.is_tag)
        if path is None:
            continue
        entry = ManifestEntry(path, checksum.lower(), raw, number)
        if _is_repeat(bag, manifest, seen.get(path), entry):
            continue
        seen[path] = entry
        manifest.entries.append(entry)
    _merge_case_twins(bag, manifest)


def _valid_checksum(checksum: str, algorithm: str) -> bool:
    return _HEX.fullmatch(checksum) is not None and len(checksum) == SUPPORTED_ALGORITHMS[algorithm]


def _is_repeat(bag: _Bag, manifest: Manifest, first: ManifestEntry | None, entry: ManifestEntry) -> bool:
    """Report a path listed twice; True when the second listing adds nothing."""
    if first is None:
        return False
    where = {"path": entry.path, "declared_by": manifest.name}
    if first.checksum != entry.checksum:
        bag.report(MANIFEST_CONFLICT, **where)
        manifest.entries.append(entry)
        return True
    if first.raw != entry.raw:
        bag.report(NAME_NORMALIZATION, raw=entry.raw, other=first.raw, **where)
    elif bag.version.is_v1:
        bag.report(MANIFEST_REPEATED_V1, **where)
    else:
        bag.report(MANIFEST_REPEATED, **where)
    return True


def _merge_case_twins(bag: _Bag, manifest: Manifest) -> None:
    """Drop an absent entry whose case-only twin in the same manifest is present with the same checksum.

    A bag made on a case-insensitive file system can list one file under two spellings;
    the second spelling names no file of its own, so it is reported, not counted as missing.
    """
    present = {e.path.casefold(): e for e in manifest.entries if e.path in bag.entries}
    kept: list[ManifestEntry] = []
    for entry in manifest.entries:
        twin = present.get(entry.path.casefold())
        if entry.path not in bag.entries and twin is not None and twin.checksum == entry.checksum:
            bag.report(NAME_CASE, path=entry.path, other=twin.path, declared_by=manifest.name)
            continue
        kept.append(entry)
    manifest.entries = kept


# --- paths -------------------------------------------------------------------------------------
def _resolve_path(bag: _Bag, raw: str, declared_by: str, *, payload: bool) -> str | None:
    """Turn a manifest/fetch path into a package path; None when it must not be used."""
    primary = _decode_percent(raw) if bag.version.is_v1 else raw
    normal = _normalise(primary)
    if normal is None:
        bag.report(PATH_UNSAFE, path=primary, raw=raw, declared_by=declared_by)
        return None
    path = unicodedata.normalize("NFC", normal)
    if path not in bag.entries:
        path = _fallback(bag, raw, primary, path, declared_by)
    elif normal != primary:
        bag.report(PATH_NOT_NORMAL, path=path, raw=raw, declared_by=declared_by)
    if path.startswith(PAYLOAD_DIR) != payload:
        kind = PATH_OUTSIDE_PAYLOAD if payload else TAGMANIFEST_PAYLOAD
        bag.report(kind, path=path, declared_by=declared_by)
        if payload:
            return None
    _check_normalization(bag, raw if not bag.version.is_v1 else primary, path, declared_by)
    return path


def _normalise(path: str) -> str | None:
    """Collapse `.`, `..` and empty segments; None for anything that leaves the bag.

    A backslash is a legal POSIX name character, so it stays in the name, but a path
    that would escape when read with Windows separators is refused too.
    """
    if not path or "\0" in path or path.startswith(("/", "\\")) or _DRIVE.match(path):
        return None
    if "\\" in path and _collapse(path.replace("\\", "/")) is None:
        return None
    return _collapse(path)


def _collapse(path: str) -> str | None:
    stack: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not stack:
                return None
            stack.pop()
            continue
        if not stack and segment.startswith("~"):
            return None  # shell home-directory shortcut: ~/x, ~user/x
        stack.append(segment)
    return "/".join(stack) or None


def _fallback(bag: _Bag, raw: str, primary: str, path: str, declared_by: str) -> str:
    """When the path names no file, try the readings other tools produce; warn when one fits."""
    candidates: list[tuple[str, Code]] = []
    if bag.version.is_v1:
        candidates.append((raw, PATH_ENCODING))  # percent sign left unencoded (bagit-python)
    else:
        candidates.append((_decode_percent(raw), PATH_ENCODING))  # CR/LF encoded in a pre-1.0 bag
    candidates.append((primary.replace("\\", "/"), PATH_NOT_NORMAL))
    candidates.append((primary.rstrip(" \t"), PATH_NOT_NORMAL))
    for candidate, kind in candidates:
        normal = _normalise(candidate)
        if normal is None or candidate == primary:
            continue
        resolved = unicodedata.normalize("NFC", normal)
        if resolved in bag.entries:
            bag.report(kind, path=resolved, raw=raw, declared_by=declared_by, version=bag.version.text)
            return resolved
    return path


def _decode_percent(raw: str) -> str:
    """RFC 8493 §2.1.3: only CR, LF and % are percent-encoded in manifest and fetch paths."""
    return _PERCENT_V1.sub(lambda m: {"0d": "\r", "0a": "\n", "25": "%"}[m.group(1).lower()], raw)


def _check_normalization(bag: _Bag, written: str, path: str, declared_by: str) -> None:
    """Warn when the manifest spells a name in another Unicode normalization than the stored file."""
    entry = bag.entries.get(path)
    stored = _stored_name(bag, entry) if entry is not None else path
    spelled = _normalise(written) or written
    if spelled != stored and unicodedata.normalize("NFC", spelled) == unicodedata.normalize("NFC", stored):
        bag.report(NAME_NORMALIZATION, path=path, raw=spelled, other=stored, declared_by=declared_by)


def _stored_name(bag: _Bag, entry: Entry) -> str:
    raw = entry.raw_name or entry.path
    root = bag.source.root
    if root and raw.startswith(root + "/"):
        raw = raw[len(root) + 1:]
    return raw.removeprefix("./")


# --- fetch.txt ---------------------------------------------------------------------------------
def _read_fetch(bag: _Bag) -> None:
    if "fetch.txt" not in bag.entries:
        return
    bag.has_fetch = True
    text = _read_tag_text(bag, "fetch.txt")
    if text is None:
        return
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 2)
        if len(parts) != 3:
            bag.report(FETCH_LINE_INVALID, path="fetch.txt", line=number, reason="expected: URL LENGTH FILEPATH")
            continue
        url, length, raw = parts
        if not (length == "-" or length.isdecimal()):
            bag.report(FETCH_LINE_INVALID, path="fetch.txt", line=number, reason=f"length {length!r}")
        parsed = urlparse(url)
        if not (parsed.scheme and (parsed.netloc or parsed.scheme == "file")):
            bag.report(FETCH_LINE_INVALID, path="fetch.txt", line=number, reason=f"URL {url[:200]!r}")
        path = _resolve_path(bag, raw, "fetch.txt", payload=True)
        if path is not None and path not in bag.entries:
            bag.fetch_missing.add(path)
    if bag.fetch_missing:
        example = sorted(bag.fetch_missing)[0]
        bag.report(FETCH_INCOMPLETE, path=example, count=len(bag.fetch_missing))


# --- declarations and completeness -------------------------------------------------------------
def _declarations(bag: _Bag) -> list[DeclaredFile]:
    declared: list[DeclaredFile] = []
    for manifest in bag.manifests:
        for entry in manifest.entries:
            if entry.path in bag.fetch_missing:
                continue  # reported once as CK-BAG-FETCH-INCOMPLETE, not once per manifest
            declared.append(
                DeclaredFile(
                    path=entry.path,
                    declared_by=manifest.name,
                    role=_role(entry.path, manifest.is_tag),
                    checksums={manifest.algorithm: entry.checksum},
                    raw_path=entry.raw if entry.raw != entry.path else None,
                )
            )
    return declared


_AIP_TREE = re.compile(
    r"data/(METS\.xml|schemas/[^/]+|metadata/(descriptive|preservation)/[^/]+|documentation/.+"
    r"|representations/[^/]+/(METS\.xml|metadata/.+|schemas/[^/]+|data/.+))"
)
"""The TT 05 AIP tree an earchive AIP carries in its payload beside the Circular 02 XML (an exported
AIP is a valid earchive bag and re-imports as a SIP)."""
_AIP_DATA = re.compile(r"data/representations/[^/]+/data/.+")


def _role(path: str, is_tag: bool) -> FileRole:
    if is_tag and not path.startswith(PAYLOAD_DIR):
        return FileRole.TAG
    if path.startswith("data/metadata/"):
        return FileRole.METADATA
    # Only XML and XSD of the AIP tree are metadata/schemas: anything else there (an .exe
    # named into schemas/) stays content and meets the format allow-list.
    if _AIP_TREE.fullmatch(path) and not _AIP_DATA.fullmatch(path) and not path.startswith("data/documentation/"):
        if path.endswith(".xml"):
            return FileRole.METADATA
        if path.endswith(".xsd"):
            return FileRole.SCHEMA
    return FileRole.ORIGINAL


def _check_completeness(bag: _Bag) -> None:
    """Every payload manifest lists every payload file (RFC 8493 §2.1.3).

    A payload file that no manifest lists is left to the generic fixity check
    (CK-FIXITY-UNDECLARED); here only files that one manifest lists and another omits.
    """
    payload_manifests = [m for m in bag.manifests if not m.is_tag]
    listed = [m.paths() for m in payload_manifests]
    anywhere = set().union(*listed) if listed else set()
    for manifest, paths in zip(payload_manifests, listed, strict=True):
        for entry in bag.payload:
            if entry.path in anywhere and entry.path not in paths:
                bag.report(MANIFEST_INCOMPLETE, path=entry.path, declared_by=manifest.name)
    if not bag.payload and not bag.fetch_missing:
        bag.report(EMPTY_PAYLOAD, path=PAYLOAD_DIR)


def _check_oxum(bag: _Bag) -> None:
    values = bag.info.all("Payload-Oxum")
    if not values:
        return
    match = _OXUM.fullmatch(values[0].strip())
    if match is None:
        bag.report(OXUM_INVALID, path=bag.info.path, field="Payload-Oxum", value=values[0])
        return
    if bag.fetch_missing:
        return  # the Oxum counts files the bag does not hold; CK-BAG-FETCH-INCOMPLETE says why
    declared_bytes, declared_files = int(match.group(1)), int(match.group(2))
    actual_bytes = sum(e.size for e in bag.payload)
    actual_files = len(bag.payload)
    if (declared_bytes, declared_files) != (actual_bytes, actual_files):
        bag.report(
            OXUM_MISMATCH, path=bag.info.path, field="Payload-Oxum",
            declared_bytes=declared_bytes, declared_files=declared_files,
            actual_bytes=actual_bytes, actual_files=actual_files,
        )


def _profile_info(bag: _Bag) -> dict[str, str]:
    info = {
        "BagIt-Version": bag.version_text,
        "Tag-File-Character-Encoding": bag.encoding_label,
        "Manifest-Algorithms": ",".join(sorted({m.algorithm for m in bag.manifests if not m.is_tag})),
        "Tag-Manifest-Algorithms": ",".join(sorted({m.algorithm for m in bag.manifests if m.is_tag})),
    }
    for label in ("Payload-Oxum", "BagIt-Profile-Identifier", "Bag-Software-Agent", "Bagging-Date"):
        value = bag.info.first(label)
        if value is not None:
            info[label] = value
    if bag.has_fetch:
        info["Fetch-Items-Missing"] = str(len(bag.fetch_missing))
    return info


def _record_event(bag: _Bag, findings_before: int) -> None:
    new = bag.ctx.findings[findings_before:]
    errors = sum(1 for f in new if f.severity is Severity.ERROR)
    warnings = sum(1 for f in new if f.severity is Severity.WARNING)
    outcome = Outcome.FAILURE if errors else Outcome.WARNING if warnings else Outcome.SUCCESS
    bag.ctx.record(
        event(
            EventType.VALIDATION,
            AGENT,
            outcome,
            "Kiểm tra cấu trúc túi BagIt (RFC 8493) và hồ sơ túi earchive Thông tư 02",
            outcome_detail=(
                f"bagit_version={bag.version_text or '?'} manifests={len(bag.manifests)} "
                f"errors={errors} warnings={warnings}"
            ),
        )
    )


# --- the earchive Circular 02 profile ----------------------------------------------------------
def _read_profile(bag: _Bag, pkg: ParsedPackage) -> None:
    declared = [v.strip() for v in bag.info.all("BagIt-Profile-Identifier")]
    declares_profile = PROFILE_IDENTIFIER in declared
    has_dossier = DOSSIER_XML in bag.entries
    if not declares_profile and not has_dossier:
        bag.report(NO_METADATA, path=DOSSIER_XML)
        return
    pkg.kind = PackageKind.BAGIT_C02
    if not declares_profile:
        bag.report(C02_PROFILE_UNDECLARED, path=DOSSIER_XML, expected=PROFILE_IDENTIFIER)
    _check_profile_bag(bag, declares_profile)
    if not has_dossier:
        bag.report(C02_DOSSIER_MISSING, path=DOSSIER_XML)
        return
    dossier = _read_dossier(bag)
    if dossier is None:
        return
    pkg.dossiers.append(dossier)
    _read_documents(bag, dossier)
    _link_files(bag, pkg, dossier)
    _check_identifier(bag, dossier)


def _check_profile_bag(bag: _Bag, declares_profile: bool) -> None:
    required = [label for label in PROFILE_REQUIRED_INFO if label != "BagIt-Profile-Identifier" or declares_profile]
    for label in required:
        if bag.info.first(label) is None:
            bag.report(C02_INFO_MISSING, path=bag.info.path, field=label)
    for key in PROFILE_NOT_REPEATABLE:
        values = bag.info.all(key)
        if len(values) > 1:
            bag.report(INFO_REPEATED, path=bag.info.path, field=bag.info.labels[key], count=len(values))
    _check_info_format(bag, "Organization-Identifier", _AGENCY_CODE, "000.00.00.H12 (QCVN 102:2016)")
    _check_info_format(bag, "Bagging-Date", _ISO_DATE, "YYYY-MM-DD")
    algorithms = {(m.is_tag, m.algorithm) for m in bag.manifests}
    if (False, "sha256") not in algorithms:
        bag.report(C02_BAG_RULE, path="manifest-sha256.txt", reason="manifest-sha256.txt is required / bắt buộc")
    if (True, "sha256") not in algorithms:
        bag.report(C02_BAG_RULE, path="tagmanifest-sha256.txt", reason="tagmanifest-sha256.txt is required / bắt buộc")
    if bag.has_fetch:
        bag.report(C02_BAG_RULE, path="fetch.txt", reason="fetch.txt is not allowed / không được dùng")
    if bag.version_text and bag.version_text not in PROFILE_VERSIONS:
        bag.report(C02_BAG_ADVICE, path="bagit.txt", reason=f"BagIt-Version {bag.version_text} (expected 1.0)")
    if bag.encoding != "utf-8":
        bag.report(C02_BAG_ADVICE, path="bagit.txt", reason=f"tag files in {bag.encoding_label} (expected UTF-8)")
    for entry in bag.payload:
        if not _in_profile_layout(entry.path):
            bag.report(C02_UNEXPECTED_PAYLOAD, path=entry.path)


def _check_info_format(bag: _Bag, label: str, pattern: re.Pattern[str], expected: str) -> None:
    value = bag.info.first(label)
    if value is not None and pattern.fullmatch(value.strip()) is None:
        bag.report(C02_INFO_INVALID, path=bag.info.path, field=label, value=value, expected=expected)


def _in_profile_layout(path: str) -> bool:
    if path == DOSSIER_XML:
        return True
    if path.startswith(DOCUMENTS_DIR):
        rest = path[len(DOCUMENTS_DIR):]
        return "/" not in rest and rest.lower().endswith(".xml")
    if path.startswith(FILES_DIR):
        return "/" not in path[len(FILES_DIR):]
    return _AIP_TREE.fullmatch(path) is not None


def _parse_profile_xml(bag: _Bag, path: str) -> etree._Element | None:
    limits = bag.settings.limits
    entry = bag.entries[path]
    if entry.size > limits.max_xml_bytes:
        bag.report(TAG_TOO_LARGE, path=path, size=entry.size, limit=limits.max_xml_bytes)
        return None
    try:
        return parse_xml(bag.source.read_bounded(path, limits.max_xml_bytes), path=path, limits=limits)
    except XmlError as exc:
        bag.ctx.add(exc.finding)
        return None


def _read_dossier(bag: _Bag) -> Dossier | None:
    from archive_core.profiles import circular02

    root = _parse_profile_xml(bag, DOSSIER_XML)
    if root is None:
        return None
    dossier = circular02.dossier_from_xml(root, DOSSIER_XML, bag.ctx)
    dossier.metadata_path = DOSSIER_XML
    return dossier


def _read_documents(bag: _Bag, dossier: Dossier) -> None:
    from archive_core.profiles import circular02

    for path in sorted(bag.entries):
        if not (path.startswith(DOCUMENTS_DIR) and _in_profile_layout(path)):
            continue
        root = _parse_profile_xml(bag, path)
        if root is None:
            continue
        document = circular02.document_from_xml(root, path, bag.ctx)
        document.metadata_path = path
        dossier.documents.append(document)
    dossier.documents.sort(key=_document_order)


def _document_order(document: Document) -> tuple[int, str]:
    """Documents in their DocOrdinal order (file names do not carry it), then by file."""
    ordinal = (document.doc_ordinal or "").strip()
    return (int(ordinal) if ordinal.isdecimal() else 1 << 62, document.metadata_path or "")


def _link_files(bag: _Bag, pkg: ParsedPackage, dossier: Dossier) -> None:
    """Resolve each document's file paths (relative to data/) to package paths."""
    sha256 = {d.path: d.checksums["sha256"] for d in pkg.declared if "sha256" in d.checksums}
    owners: dict[str, list[str]] = defaultdict(list)
    for document in dossier.documents:
        document.files = list(_document_files(bag, document, sha256))
        for ref in document.files:
            owners[ref.path].append(document.metadata_path or document.key)
    for path, documents in sorted(owners.items()):
        if len(documents) > 1:
            bag.report(C02_FILE_SHARED, path=path, documents=", ".join(documents))
    for entry in bag.payload:
        if entry.path.startswith(FILES_DIR) and entry.path not in owners:
            bag.report(C02_FILE_UNREFERENCED, path=entry.path)


def _document_files(bag: _Bag, document: Document, sha256: dict[str, str]) -> Iterable[FileRef]:
    metadata = document.metadata_path or ""
    for ref in document.files:
        relative = _normalise(ref.path.strip())
        if relative is None:
            bag.report(C02_FILE_PATH_UNSAFE, path=metadata, raw=ref.path, document=document.key)
            continue
        path = PAYLOAD_DIR + unicodedata.normalize("NFC", relative)
        if path not in bag.entries:
            bag.report(C02_FILE_MISSING, path=path, metadata=metadata, document=document.key)
        ref.path = path
        ref.sha256 = ref.sha256 or sha256.get(path)
        yield ref


def _check_identifier(bag: _Bag, dossier: Dossier) -> None:
    value = bag.info.first("External-Identifier")
    if value is None:
        return
    candidates = {c for c in (dossier.code, dossier.file_code, dossier.arc_file_code) if c}
    if dossier.identifier and dossier.code:
        candidates.add(f"{dossier.identifier}.{dossier.code}")
    if candidates and value.strip() not in candidates:
        bag.report(
            C02_IDENTIFIER_MISMATCH, path=DOSSIER_XML, field="External-Identifier",
            value=value, code=dossier.code or sorted(candidates)[0],
        )


__all__ = [
    "PROFILE_CODES",
    "PROFILE_IDENTIFIER",
    "SUPPORTED_ALGORITHMS",
    "BagItReader",
    "is_bagit_level",
]
