"""Parse a METS document (E-ARK CSIP / TT 05/2025 packages) into typed dataclasses.

`parse_mets(root, path, ctx)` takes the lxml root already produced by
`archive_core.xmlsafe.parse_xml` and keeps every attribute as the submitter
wrote it (`None` when absent, `""` when empty), so the CSIP checks can tell a
missing attribute from an empty one. Only references are interpreted:

- every `xlink:href` is percent-decoded, NFC-normalised and resolved against
  the METS file's own folder into a package-relative POSIX path (`Href.path`);
  an href that is absolute, external (`http:`, `urn:` …) or escapes the package
  through `..` gets no path and a coded finding;
- checksums are normalised to lower-case hex (`MdRef.checksum_hex`), and
  `CHECKSUMTYPE` is mapped to its hashlib name (`SHA-256` → `sha256`). Upper-case
  hex is a real-world habit (TT 05 producers), reported once per METS file as
  information.

Nothing here reads the package: `PathIndex` answers whether a resolved path
exists, also case-insensitively (Windows-made packages).
"""

from __future__ import annotations

import functools
import posixpath
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

from lxml import etree

from archive_core.findings import CheckContext, Severity, declare
from archive_core.profiles.xmlutil import local_name

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP_NS = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
_SIP_PREFIX = f"{{{SIP_NS}}}"
_XLINK_HREF = f"{{{XLINK_NS}}}href"
_XLINK_TYPE = f"{{{XLINK_NS}}}type"

AMD_KINDS = ("techMD", "rightsMD", "sourceMD", "digiprovMD")

CHECKSUM_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-224": "sha224",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
    "ADLER-32": "adler32",
    "CRC32": "crc32",
    "HAVAL": "haval",
    "MNP": "mnp",
    "TIGER": "tiger",
    "WHIRLPOOL": "whirlpool",
}
"""METS 1.12 `CHECKSUMTYPE` values → hashlib-style names (upper-cased key lookup)."""

HREF_ESCAPE = declare(
    "CK-METS-HREF-ESCAPE", "R-CK-1", Severity.ERROR,
    "{path}: đường dẫn “{href}” ({where}) trỏ ra ngoài gói (đường dẫn tuyệt đối hoặc dùng “..”); bị từ chối",
    "{path}: the reference “{href}” ({where}) points outside the package (absolute or through “..”); refused",
)
HREF_EXTERNAL = declare(
    "CK-METS-HREF-EXTERNAL", "R-CK-1", Severity.ERROR,
    "{path}: tham chiếu “{href}” ({where}) là địa chỉ bên ngoài, không phải tệp trong gói",
    "{path}: the reference “{href}” ({where}) is an external address, not a file of the package",
)
HREF_MALFORMED = declare(
    "CK-METS-HREF-MALFORMED", "R-CK-1", Severity.ERROR,
    "{path}: tham chiếu “{href}” ({where}) không giải mã được (mã phần trăm sai hoặc không phải UTF-8)",
    "{path}: the reference “{href}” ({where}) cannot be decoded (bad percent-encoding or not UTF-8)",
)
HREF_BACKSLASH = declare(
    "CK-METS-HREF-BACKSLASH", "R-CK-1", Severity.WARNING,
    "{path}: {count} tham chiếu dùng dấu “\\” thay cho “/” (ví dụ “{href}”); đã hiểu là dấu phân cách thư mục",
    "{path}: {count} references use “\\” instead of “/” (e.g. “{href}”); read as folder separators",
)
HREF_CASE = declare(
    "CK-METS-HREF-CASE", "R-CK-1", Severity.WARNING,
    "{path}: {count} tham chiếu chỉ khớp tệp trong gói khi bỏ qua chữ hoa/thường (ví dụ “{href}” → {actual})",
    "{path}: {count} references match a file of the package only when case is ignored (e.g. “{href}” → {actual})",
)
CHECKSUM_UPPERCASE = declare(
    "CK-METS-CHECKSUM-UPPERCASE", "R-CK-1", Severity.INFO,
    "{path}: {count} mã băm viết bằng chữ hoa (ví dụ {example}); đã chuẩn hóa thành chữ thường để so sánh",
    "{path}: {count} checksums are written in upper-case hex (e.g. {example}); normalised to lower case",
)
NOT_METS = declare(
    "CK-METS-NOT-METS", "R-IN-1", Severity.ERROR,
    "{path}: phần tử gốc là “{element}”, không phải <mets> thuộc không gian tên {namespace}",
    "{path}: the root element is “{element}”, not <mets> in the namespace {namespace}",
)


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class Href:
    raw: str | None
    """The attribute exactly as written; `None` when absent."""
    path: str | None = None
    """Package-relative POSIX path after decoding and resolution; `None` when unusable."""
    problem: str | None = None
    """`missing`, `empty`, `escape`, `external`, `malformed` (no path), or `backslash` (path kept)."""


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


_PLAIN_RELATIVE = re.compile(r"(?!\.\.?(?:/|$))[^/]+(?:/(?!\.\.?(?:/|$))[^/]+)*")
"""Relative paths whose segments are neither empty, `.` nor `..` (so `normpath` would leave them as they are)."""


def resolve_href(raw: str | None, base_folder: str) -> Href:
    """Resolve an `xlink:href` written in a METS file that lives in `base_folder`."""
    if raw is None:
        return Href(None, None, "missing")
    text = raw.strip()
    if not text:
        return Href(raw, None, "empty")
    if _DRIVE.match(text):
        return Href(raw, None, "escape")
    if text.lower().startswith("file://"):
        text = text[len("file://"):]
        if text.startswith("/"):
            return Href(raw, None, "escape")
        if not text.startswith("./"):
            return Href(raw, None, "external")
    elif text.lower().startswith("file:"):
        text = text[len("file:"):]
    elif _SCHEME.match(text):
        return Href(raw, None, "external")
    try:
        decoded = unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return Href(raw, None, "malformed")
    problem = None
    if "\\" in decoded:
        decoded = decoded.replace("\\", "/")
        problem = "backslash"
    if decoded.startswith("/") or "\x00" in decoded:
        return Href(raw, None, "escape")
    decoded = unicodedata.normalize("NFC", decoded)
    if _PLAIN_RELATIVE.fullmatch(decoded):  # the usual href: nothing for normpath to do
        joined = f"{base_folder}/{decoded}" if base_folder else decoded
    else:
        joined = posixpath.normpath(posixpath.join(base_folder, decoded) if base_folder else decoded)
    if joined == ".." or joined.startswith("../"):
        return Href(raw, None, "escape")
    if joined in (".", ""):
        return Href(raw, None, "empty")
    return Href(raw, joined, problem)


class PathIndex:
    """The package's file list, for existence checks (exact, then case-insensitive)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths: set[str] = set(paths)
        self._folded: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            self._folded.setdefault(path.casefold(), []).append(path)
        self.folders: set[str] = set()
        for path in self.paths:
            parent = path.rpartition("/")[0]
            while parent and parent not in self.folders:
                self.folders.add(parent)
                parent = parent.rpartition("/")[0]
        self._folded_folders = {folder.casefold(): folder for folder in sorted(self.folders, reverse=True)}

    def __contains__(self, path: object) -> bool:
        return path in self.paths

    def lookup(self, path: str) -> tuple[str | None, bool]:
        """The file present for `path`: (actual path, matched only case-insensitively)."""
        if path in self.paths:
            return path, False
        candidates = self._folded.get(path.casefold())
        if candidates and len(candidates) == 1:
            return candidates[0], True
        return None, False

    def folder(self, path: str, *, ignore_case: bool = False) -> str | None:
        """The folder present for `path` (exact, or case-insensitive when asked)."""
        if path in self.folders:
            return path
        if ignore_case:
            return self._folded_folders.get(path.casefold())
        return None

    def under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return sorted(p for p in self.paths if p.startswith(prefix))

    def children(self, folder: str) -> set[str]:
        """Names of the files and folders directly inside `folder` ("" = package root)."""
        prefix = folder.rstrip("/") + "/" if folder else ""
        names = set()
        for path in self.paths:
            if path.startswith(prefix):
                names.add(path[len(prefix):].split("/", 1)[0])
        return names


# ---------------------------------------------------------------- dataclasses


@dataclass
class Locator:
    """A pointer to a file: `FLocat`, `mdRef` or `mptr`."""

    href: Href
    loctype: str | None = None
    other_loctype: str | None = None
    xlink_type: str | None = None
    line: int | None = None


@dataclass
class MdRef(Locator):
    mdtype: str | None = None
    other_mdtype: str | None = None
    mdtype_version: str | None = None
    mimetype: str | None = None
    size: str | None = None
    created: str | None = None
    checksum: str | None = None
    checksum_type: str | None = None
    label: str | None = None

    @property
    def size_bytes(self) -> int | None:
        return parse_size(self.size)

    @property
    def algorithm(self) -> str | None:
        return checksum_algorithm(self.checksum_type)

    @property
    def checksum_hex(self) -> str | None:
        return normalise_checksum(self.checksum)


@dataclass
class MdWrap:
    mdtype: str | None = None
    mimetype: str | None = None
    size: str | None = None
    checksum: str | None = None
    checksum_type: str | None = None
    line: int | None = None


@dataclass
class MdSection:
    """A `dmdSec` or one child of `amdSec` (`techMD`, `rightsMD`, `sourceMD`, `digiprovMD`)."""

    kind: str
    id: str | None = None
    created: str | None = None
    status: str | None = None
    admid: list[str] = field(default_factory=list)
    mdrefs: list[MdRef] = field(default_factory=list)
    mdwraps: list[MdWrap] = field(default_factory=list)
    line: int | None = None

    @property
    def mdref(self) -> MdRef | None:
        return self.mdrefs[0] if self.mdrefs else None


@dataclass
class AmdSec:
    id: str | None = None
    sections: list[MdSection] = field(default_factory=list)
    line: int | None = None


@dataclass
class MetsFile:
    id: str | None = None
    mimetype: str | None = None
    size: str | None = None
    created: str | None = None
    checksum: str | None = None
    checksum_type: str | None = None
    use: str | None = None
    ownerid: str | None = None
    admid: list[str] = field(default_factory=list)
    dmdid: list[str] = field(default_factory=list)
    admid_raw: str | None = None
    dmdid_raw: str | None = None
    flocats: list[Locator] = field(default_factory=list)
    has_fcontent: bool = False
    group_id: str | None = None
    group_use: str | None = None
    """USE of the top-level fileGrp this file belongs to (nested groups inherit it)."""
    sip_attributes: dict[str, str] = field(default_factory=dict)
    """`sip:FILEFORMATNAME` … as written (local name → value)."""
    line: int | None = None

    @property
    def flocat(self) -> Locator | None:
        return self.flocats[0] if self.flocats else None

    @property
    def path(self) -> str | None:
        return self.flocats[0].href.path if self.flocats else None

    @property
    def size_bytes(self) -> int | None:
        return parse_size(self.size)

    @property
    def algorithm(self) -> str | None:
        return checksum_algorithm(self.checksum_type)

    @property
    def checksum_hex(self) -> str | None:
        return normalise_checksum(self.checksum)


@dataclass
class FileGroup:
    id: str | None = None
    use: str | None = None
    admid: list[str] = field(default_factory=list)
    admid_raw: str | None = None
    content_information_type: str | None = None
    other_content_information_type: str | None = None
    files: list[MetsFile] = field(default_factory=list)
    groups: list[FileGroup] = field(default_factory=list)
    line: int | None = None

    def all_files(self) -> Iterator[MetsFile]:
        yield from self.files
        for group in self.groups:
            yield from group.all_files()

    def all_groups(self) -> Iterator[FileGroup]:
        yield self
        for group in self.groups:
            yield from group.all_groups()


@dataclass
class FileSec:
    id: str | None = None
    groups: list[FileGroup] = field(default_factory=list)
    line: int | None = None


@dataclass
class Fptr:
    file_id: str | None = None
    line: int | None = None


@dataclass
class Div:
    id: str | None = None
    label: str | None = None
    type: str | None = None
    dmdid: list[str] = field(default_factory=list)
    admid: list[str] = field(default_factory=list)
    dmdid_raw: str | None = None
    admid_raw: str | None = None
    fptrs: list[Fptr] = field(default_factory=list)
    mptrs: list[Locator] = field(default_factory=list)
    divs: list[Div] = field(default_factory=list)
    line: int | None = None

    def walk(self) -> Iterator[Div]:
        yield self
        for div in self.divs:
            yield from div.walk()


@dataclass
class StructMap:
    id: str | None = None
    type: str | None = None
    label: str | None = None
    divs: list[Div] = field(default_factory=list)
    line: int | None = None

    def walk(self) -> Iterator[Div]:
        for div in self.divs:
            yield from div.walk()


@dataclass
class Note:
    text: str
    note_type: str | None = None


@dataclass
class Agent:
    role: str | None = None
    other_role: str | None = None
    type: str | None = None
    other_type: str | None = None
    names: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    line: int | None = None

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None

    def note_of(self, note_type: str) -> str | None:
        for note in self.notes:
            if note.note_type == note_type and note.text:
                return note.text
        return None


@dataclass
class AltRecordId:
    type: str | None
    value: str
    line: int | None = None


@dataclass
class MetsHeader:
    id: str | None = None
    create_date: str | None = None
    last_mod_date: str | None = None
    record_status: str | None = None
    oais_package_type: str | None = None
    agents: list[Agent] = field(default_factory=list)
    alt_record_ids: list[AltRecordId] = field(default_factory=list)
    line: int | None = None


@dataclass
class MetsDocument:
    path: str
    """Package-relative path of the METS file (`METS.xml`, `representations/rep1/METS.xml`)."""
    folder: str
    """The folder hrefs are resolved against ("" for the root METS)."""
    element: etree._Element = field(repr=False)
    namespace_ok: bool = True
    objid: str | None = None
    type: str | None = None
    other_type: str | None = None
    profile: str | None = None
    label: str | None = None
    content_information_type: str | None = None
    other_content_information_type: str | None = None
    root_oais_package_type: str | None = None
    """`csip:OAISPACKAGETYPE` written on `<mets>` itself (CSIP wants it on `metsHdr`)."""
    headers: list[MetsHeader] = field(default_factory=list)
    dmd_secs: list[MdSection] = field(default_factory=list)
    amd_secs: list[AmdSec] = field(default_factory=list)
    file_secs: list[FileSec] = field(default_factory=list)
    struct_maps: list[StructMap] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """Every `@ID` in the document → local name of the element carrying it."""
    duplicate_ids: list[str] = field(default_factory=list)

    @property
    def header(self) -> MetsHeader | None:
        return self.headers[0] if self.headers else None

    @property
    def file_sec(self) -> FileSec | None:
        return self.file_secs[0] if self.file_secs else None

    def groups(self) -> Iterator[FileGroup]:
        """Every fileGrp, nested ones included."""
        for file_sec in self.file_secs:
            for group in file_sec.groups:
                yield from group.all_groups()

    def top_groups(self) -> Iterator[FileGroup]:
        for file_sec in self.file_secs:
            yield from file_sec.groups

    def files(self) -> Iterator[MetsFile]:
        for file_sec in self.file_secs:
            for group in file_sec.groups:
                yield from group.all_files()

    def amd_sections(self) -> Iterator[MdSection]:
        for amd in self.amd_secs:
            yield from amd.sections

    def md_sections(self) -> Iterator[MdSection]:
        yield from self.dmd_secs
        yield from self.amd_sections()

    def file_by_id(self, file_id: str) -> MetsFile | None:
        return next((f for f in self.files() if f.id == file_id), None)

    def group_by_id(self, group_id: str) -> FileGroup | None:
        return next((g for g in self.groups() if g.id == group_id), None)

    def section_by_id(self, section_id: str) -> MdSection | None:
        return next((s for s in self.md_sections() if s.id == section_id), None)

    def csip_struct_map(self) -> StructMap | None:
        """The structMap CSIP describes: LABEL="CSIP", else the first PHYSICAL one, else the first."""
        for struct_map in self.struct_maps:
            if struct_map.label == "CSIP":
                return struct_map
        for struct_map in self.struct_maps:
            if (struct_map.type or "").upper() == "PHYSICAL":
                return struct_map
        return self.struct_maps[0] if self.struct_maps else None

    def agent_with_note(self, note_type: str) -> Agent | None:
        header = self.header
        if header is None:
            return None
        return next((a for a in header.agents if a.note_of(note_type)), None)


# ---------------------------------------------------------------- value helpers


def parse_size(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text.isdecimal():  # not isdigit: int() refuses digits such as '²'
        return None
    return int(text)


def checksum_algorithm(checksum_type: str | None) -> str | None:
    if checksum_type is None:
        return None
    return CHECKSUM_ALGORITHMS.get(checksum_type.strip().upper())


_HEX = re.compile(r"^[0-9A-Fa-f]+$")


@functools.lru_cache(maxsize=8192)
def normalise_checksum(value: str | None) -> str | None:
    """Lower-case hex, or `None` when the value is absent or not hex (cached: asked ~3 times per file)."""
    if value is None:
        return None
    text = value.strip()
    if not text or not _HEX.match(text):
        return None
    return text.lower()


def split_ids(value: str | None) -> list[str]:
    return value.split() if value else []


# ---------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, root: etree._Element, path: str, ctx: CheckContext | None) -> None:
        self.root = root
        self.path = path
        self.folder = posixpath.dirname(path)
        self.ctx = ctx
        self.ns = etree.QName(root).namespace or ""
        self.backslashes: list[str] = []
        self.uppercase: list[str] = []

    def tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}" if self.ns else name

    def children(self, element: etree._Element, name: str) -> list[etree._Element]:
        tag = self.tag(name)
        return [child for child in element if child.tag == tag]

    @staticmethod
    def csip(element: etree._Element, name: str) -> str | None:
        return element.get(f"{{{CSIP_NS}}}{name}")

    @staticmethod
    def xlink(element: etree._Element, name: str) -> str | None:
        return element.get(f"{{{XLINK_NS}}}{name}")

    def parse(self) -> MetsDocument:
        root = self.root
        qname = etree.QName(root)
        doc = MetsDocument(
            path=self.path,
            folder=self.folder,
            element=root,
            namespace_ok=qname.namespace == METS_NS and qname.localname == "mets",
            objid=root.get("OBJID"),
            type=root.get("TYPE"),
            other_type=self.csip(root, "OTHERTYPE"),
            profile=root.get("PROFILE"),
            label=root.get("LABEL"),
            content_information_type=self.csip(root, "CONTENTINFORMATIONTYPE"),
            other_content_information_type=self.csip(root, "OTHERCONTENTINFORMATIONTYPE"),
            root_oais_package_type=self.csip(root, "OAISPACKAGETYPE"),
        )
        if not doc.namespace_ok and self.ctx is not None:
            self.ctx.report(NOT_METS, path=self.path, element=qname.text, namespace=METS_NS)
        doc.headers = [self.header(el) for el in self.children(root, "metsHdr")]
        doc.dmd_secs = [self.md_section(el, "dmdSec") for el in self.children(root, "dmdSec")]
        doc.amd_secs = [self.amd_sec(el) for el in self.children(root, "amdSec")]
        doc.file_secs = [self.file_sec(el) for el in self.children(root, "fileSec")]
        doc.struct_maps = [self.struct_map(el) for el in self.children(root, "structMap")]
        self.collect_ids(doc)
        self.report_summaries()
        return doc

    def header(self, element: etree._Element) -> MetsHeader:
        header = MetsHeader(
            id=element.get("ID"),
            create_date=element.get("CREATEDATE"),
            last_mod_date=element.get("LASTMODDATE"),
            record_status=element.get("RECORDSTATUS"),
            oais_package_type=self.csip(element, "OAISPACKAGETYPE"),
            line=line_of(element),
        )
        for agent_el in self.children(element, "agent"):
            header.agents.append(
                Agent(
                    role=agent_el.get("ROLE"),
                    other_role=agent_el.get("OTHERROLE"),
                    type=agent_el.get("TYPE"),
                    other_type=agent_el.get("OTHERTYPE"),
                    names=[_text(n) for n in self.children(agent_el, "name")],
                    notes=[
                        Note(_text(n), self.csip(n, "NOTETYPE")) for n in self.children(agent_el, "note")
                    ],
                    line=line_of(agent_el),
                )
            )
        for alt in self.children(element, "altRecordID"):
            header.alt_record_ids.append(AltRecordId(alt.get("TYPE"), _text(alt), line_of(alt)))
        return header

    def md_section(self, element: etree._Element, kind: str) -> MdSection:
        section = MdSection(
            kind=kind,
            id=element.get("ID"),
            created=element.get("CREATED"),
            status=element.get("STATUS"),
            admid=split_ids(element.get("ADMID")),
            line=line_of(element),
        )
        where = f"{kind}[@ID='{section.id or ''}']/mdRef"
        for ref in self.children(element, "mdRef"):
            section.mdrefs.append(self.mdref(ref, where))
        for wrap in self.children(element, "mdWrap"):
            section.mdwraps.append(
                MdWrap(
                    mdtype=wrap.get("MDTYPE"),
                    mimetype=wrap.get("MIMETYPE"),
                    size=wrap.get("SIZE"),
                    checksum=wrap.get("CHECKSUM"),
                    checksum_type=wrap.get("CHECKSUMTYPE"),
                    line=line_of(wrap),
                )
            )
        return section

    def mdref(self, element: etree._Element, where: str) -> MdRef:
        get = _attributes(element).get
        checksum = get("CHECKSUM")
        self.note_checksum(checksum)
        return MdRef(
            href=self.href(get(_XLINK_HREF), where),
            loctype=get("LOCTYPE"),
            other_loctype=get("OTHERLOCTYPE"),
            xlink_type=get(_XLINK_TYPE),
            line=line_of(element),
            mdtype=get("MDTYPE"),
            other_mdtype=get("OTHERMDTYPE"),
            mdtype_version=get("MDTYPEVERSION"),
            mimetype=get("MIMETYPE"),
            size=get("SIZE"),
            created=get("CREATED"),
            checksum=checksum,
            checksum_type=get("CHECKSUMTYPE"),
            label=get("LABEL"),
        )

    def amd_sec(self, element: etree._Element) -> AmdSec:
        amd = AmdSec(id=element.get("ID"), line=line_of(element))
        for child in element:
            local = local_name(child) if isinstance(child.tag, str) else ""
            if child.tag == self.tag(local) and local in AMD_KINDS:
                amd.sections.append(self.md_section(child, local))
        return amd

    def file_sec(self, element: etree._Element) -> FileSec:
        return FileSec(
            id=element.get("ID"),
            groups=[self.file_group(g, None) for g in self.children(element, "fileGrp")],
            line=line_of(element),
        )

    def file_group(self, element: etree._Element, top_use: str | None) -> FileGroup:
        use = element.get("USE")
        group = FileGroup(
            id=element.get("ID"),
            use=use,
            admid=split_ids(element.get("ADMID")),
            admid_raw=element.get("ADMID"),
            content_information_type=self.csip(element, "CONTENTINFORMATIONTYPE"),
            other_content_information_type=self.csip(element, "OTHERCONTENTINFORMATIONTYPE"),
            line=line_of(element),
        )
        effective_use = top_use if top_use is not None else use
        for file_el in self.children(element, "file"):
            group.files.append(self.mets_file(file_el, group, effective_use))
        for sub in self.children(element, "fileGrp"):
            group.groups.append(self.file_group(sub, effective_use))
        return group

    def mets_file(self, element: etree._Element, group: FileGroup, group_use: str | None) -> MetsFile:
        attributes = _attributes(element)
        get = attributes.get
        checksum = get("CHECKSUM")
        self.note_checksum(checksum)
        file_id = get("ID")
        where = f"file[@ID='{file_id or ''}']/FLocat"
        flocat_tag, fcontent_tag = self.tag("FLocat"), self.tag("FContent")
        children = [child for child in element if child.tag in (flocat_tag, fcontent_tag)]
        return MetsFile(
            id=file_id,
            mimetype=get("MIMETYPE"),
            size=get("SIZE"),
            created=get("CREATED"),
            checksum=checksum,
            checksum_type=get("CHECKSUMTYPE"),
            use=get("USE"),
            ownerid=get("OWNERID"),
            admid=split_ids(get("ADMID")),
            dmdid=split_ids(get("DMDID")),
            admid_raw=get("ADMID"),
            dmdid_raw=get("DMDID"),
            flocats=[self.locator(child, where) for child in children if child.tag == flocat_tag],
            has_fcontent=any(child.tag == fcontent_tag for child in children),
            group_id=group.id,
            group_use=group_use,
            sip_attributes={
                name[len(_SIP_PREFIX):]: str(value)
                for name, value in attributes.items()
                if name.startswith(_SIP_PREFIX)
            },
            line=line_of(element),
        )

    def locator(self, element: etree._Element, where: str) -> Locator:
        get = _attributes(element).get
        return Locator(
            href=self.href(get(_XLINK_HREF), where),
            loctype=get("LOCTYPE"),
            other_loctype=get("OTHERLOCTYPE"),
            xlink_type=get(_XLINK_TYPE),
            line=line_of(element),
        )

    def struct_map(self, element: etree._Element) -> StructMap:
        return StructMap(
            id=element.get("ID"),
            type=element.get("TYPE"),
            label=element.get("LABEL"),
            divs=[self.div(d) for d in self.children(element, "div")],
            line=line_of(element),
        )

    def div(self, element: etree._Element) -> Div:
        get = _attributes(element).get
        div_id = get("ID")
        fptr_tag, mptr_tag, div_tag = self.tag("fptr"), self.tag("mptr"), self.tag("div")
        children = [child for child in element if child.tag in (fptr_tag, mptr_tag, div_tag)]
        return Div(
            id=div_id,
            label=get("LABEL"),
            type=get("TYPE"),
            dmdid=split_ids(get("DMDID")),
            admid=split_ids(get("ADMID")),
            dmdid_raw=get("DMDID"),
            admid_raw=get("ADMID"),
            fptrs=[Fptr(c.get("FILEID"), line_of(c)) for c in children if c.tag == fptr_tag],
            mptrs=[self.locator(c, f"div[@ID='{div_id or ''}']/mptr") for c in children if c.tag == mptr_tag],
            divs=[self.div(c) for c in children if c.tag == div_tag],
            line=line_of(element),
        )

    def href(self, raw: str | None, where: str) -> Href:
        href = resolve_href(raw, self.folder)
        if self.ctx is None:
            return href
        if href.problem == "escape":
            self.ctx.report(HREF_ESCAPE, path=self.path, href=raw, where=where)
        elif href.problem == "external":
            self.ctx.report(HREF_EXTERNAL, path=self.path, href=raw, where=where)
        elif href.problem == "malformed":
            self.ctx.report(HREF_MALFORMED, path=self.path, href=raw, where=where)
        elif href.problem == "backslash":
            self.backslashes.append(raw or "")
        return href

    def note_checksum(self, checksum: str | None) -> None:
        hexed = normalise_checksum(checksum)
        if hexed is not None and checksum is not None and checksum.strip() != hexed:
            self.uppercase.append(checksum.strip())

    def collect_ids(self, doc: MetsDocument) -> None:
        for element in self.root.iter():
            if not isinstance(element.tag, str):
                continue
            value = element.get("ID")
            if value is None:
                continue
            if value in doc.ids:
                doc.duplicate_ids.append(value)
            else:
                doc.ids[value] = local_name(element)

    def report_summaries(self) -> None:
        if self.ctx is None:
            return
        if self.backslashes:
            self.ctx.report(HREF_BACKSLASH, path=self.path, count=len(self.backslashes), href=self.backslashes[0])
        if self.uppercase:
            self.ctx.report(CHECKSUM_UPPERCASE, path=self.path, count=len(self.uppercase), example=self.uppercase[0])


def _text(element: etree._Element) -> str:
    return " ".join("".join(str(t) for t in element.itertext()).split())


def _attributes(element: etree._Element) -> dict[str, str]:
    """All attributes at once ("{namespace}name" keys): cheaper than one `get` per attribute."""
    return cast(dict[str, str], dict(element.attrib.items()))


def line_of(element: etree._Element) -> int | None:
    value: Any = element.sourceline
    return value if isinstance(value, int) else None


def parse_mets(root: etree._Element, path: str, ctx: CheckContext | None = None) -> MetsDocument:
    """Parse one METS file. `path` is its package-relative path; findings go to `ctx` when given."""
    return _Parser(root, path, ctx).parse()
