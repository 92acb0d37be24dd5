"""Reader for TT 05/2025 SIP packages (E-ARK CSIP 2.0.4 based), and plain E-ARK CSIP packages.

`Tt05Reader().read(source, ctx, settings)`:

1. parses the root `METS.xml` and every `representations/<rep>/METS.xml`
   (`ingest.readers.mets`), then runs the E-ARK CSIP / SIP checks
   (`ingest.checks.csip.check_csip`, with TT 05 practice when the package is a
   TT 05 one);
2. turns every METS declaration (`mdRef`, `file/FLocat`) into a `DeclaredFile`
   (checksums by hashlib name in lower-case hex, role from the folder);
3. for a TT 05 package (a `<simpledc>` `metadata/descriptive/EAD.xml`, or
   `EAD_doc_*` files, or `MetadataLink/File` divisions) reads the dossier from
   `EAD.xml` and one document per `MetadataLink/File` division of rep1 (its
   `EAD_doc` through `@DMDID`, its files through `fptr/@FILEID`); without those
   divisions documents are paired by name (`EAD_doc_<name>.xml` ↔ `data/<name>.*`);
   the optional `metadata/descriptive/earchive-extension.xml` is applied;
4. reports the TT 05 rules (`CK-TT05-*`): required files, exactly one
   representation `rep1`, OBJID / CREATEDATE / ZIP name forms, and the
   deviations real producers show, each accepted with a warning or information
   (empty `amdSec`, OBJID `rep1`, `MDTYPE="DC"`, `.xsd` as
   `application/octet-stream`, lower-case schema names, `EAD_DOC_` names,
   upper-case checksums, a bundled schema the data do not follow, no PREMIS).

A package without a TT 05 `EAD.xml` is read as `PackageKind.CSIP` (no dossier).
A package without a root `METS.xml` is refused (`PackageRejected`, CSIPSTR4)
after the folder rules ran.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lxml import etree

from archive_core.findings import CheckContext, PackageRejected, Severity, declare
from archive_core.model import Document, Dossier, DossierKind, FileRef, FileRole
from archive_core.premis import Agent as PremisAgent
from archive_core.premis import EventType, Outcome, event
from archive_core.profiles.tt05 import (
    EXTENSION_PATH,
    apply_extension,
    document_from_ead,
    dossier_from_ead,
)
from archive_core.profiles.xmlutil import local_name, tagged_children
from archive_core.settings import Settings
from archive_core.xmlsafe import XmlError, parse_xml
from ingest.checks.csip import (
    ARCHIVE_SUFFIXES,
    check_csip,
    representation_folders,
    root_mets_missing,
)
from ingest.package import DeclaredFile, PackageKind, ParsedPackage
from ingest.readers.mets import (
    HREF_CASE,
    Div,
    MdRef,
    MetsDocument,
    MetsFile,
    PathIndex,
    parse_mets,
)
from ingest.source import PackageSource

AGENT = PremisAgent("earchive.tt05")
ROOT_METS = "METS.xml"
EAD_PATH = "metadata/descriptive/EAD.xml"
REP = "rep1"
FETCH_SUFFIX = ".fetch.txt"
MAX_FETCH_BYTES = 64 * 1024
CANONICAL_SCHEMAS = {"ead.xsd": "EAD.xsd", "ead_doc.xsd": "EAD_doc.xsd", "ead_pic.xsd": "EAD_pic.xsd",
                     "ead_media.xsd": "EAD_media.xsd"}
_OBJID = re.compile(r"^uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
_REP_OBJID = re.compile(r"^uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", re.IGNORECASE)
_CREATEDATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+07:00$")
_DOC_METADATA = re.compile(r"^(EAD_(?:doc|pic|media)_)(.+)\.xml$", re.IGNORECASE)
_CANONICAL_PREFIXES = ("EAD_doc_", "EAD_pic_", "EAD_media_")
XSD_NS = "http://www.w3.org/2001/XMLSchema"

# ---------------------------------------------------------------- findings: structure (R-IN-1)

REQUIRED_FILE = declare(
    "CK-TT05-REQUIRED-FILE", "R-IN-1", Severity.ERROR,
    "Gói SIP theo TT 05/2025 thiếu tệp bắt buộc {path}",
    "The TT 05/2025 SIP lacks the required file {path}",
)
REQUIRED_FILE_CASE = declare(
    "CK-TT05-REQUIRED-FILE-CASE", "R-IN-1", Severity.WARNING,
    "Tệp bắt buộc {path} có tên khác chữ hoa/thường: {actual}; vẫn đọc",
    "The required file {path} is named with a different case: {actual}; read anyway",
)
SCHEMAS_EMPTY = declare(
    "CK-TT05-SCHEMAS-EMPTY", "R-IN-1", Severity.ERROR,
    "Thư mục schemas/ của gói không có tệp lược đồ nào (TT 05/2025 yêu cầu kèm lược đồ METS/EAD)",
    "The package's schemas/ folder holds no schema file (TT 05/2025 requires the METS/EAD schemas)",
)
REPRESENTATIONS = declare(
    "CK-TT05-REPRESENTATIONS", "R-IN-1", Severity.ERROR,
    "Gói SIP theo TT 05/2025 phải có đúng một biểu diễn representations/rep1; tìm thấy: {found}",
    "A TT 05/2025 SIP must have exactly one representation, representations/rep1; found: {found}",
)
OBJID_FORM = declare(
    "CK-TT05-OBJID-FORM", "R-IN-1", Severity.WARNING,
    "{path}: mets/@OBJID “{value}” không có dạng uuid-<UUID viết hoa> theo TT 05/2025",
    "{path}: mets/@OBJID “{value}” is not of the TT 05/2025 form uuid-<upper-case UUID>",
)
REP_OBJID = declare(
    "CK-TT05-REP-OBJID", "R-IN-1", Severity.INFO,
    "{path}: mets/@OBJID là “{value}” thay vì một mã uuid-<UUID> (thói quen của phần mềm tạo gói; chấp nhận)",
    "{path}: mets/@OBJID is “{value}” instead of a uuid-<UUID> identifier (a producer habit; accepted)",
)
CREATEDATE_FORM = declare(
    "CK-TT05-CREATEDATE-FORM", "R-IN-1", Severity.WARNING,
    "{path}: metsHdr/@CREATEDATE “{value}” nên có mili giây và múi giờ +07:00 (ví dụ 2025-07-01T08:30:00.000+07:00)",
    "{path}: metsHdr/@CREATEDATE “{value}” should carry milliseconds and +07:00 (e.g. 2025-07-01T08:30:00.000+07:00)",
)
ZIP_NAME = declare(
    "CK-TT05-ZIP-NAME", "R-IN-1", Severity.WARNING,
    "Tên gói “{value}” không theo quy ước [số thứ tự][OBJID] của TT 05/2025 (OBJID: {objid})",
    "The package name “{value}” does not follow the TT 05/2025 pattern [sequence][OBJID] (OBJID: {objid})",
)
NO_AGENCY_CODE = declare(
    "CK-TT05-NO-AGENCY-CODE", "R-IN-1", Severity.WARNING,
    "{path}: không tác nhân nào trong metsHdr có ghi chú IDENTIFICATIONCODE (mã phông / mã cơ quan)",
    "{path}: no metsHdr agent has an IDENTIFICATIONCODE note (fonds / agency code)",
)
SCHEMA_NAMES = declare(
    "CK-TT05-SCHEMA-NAMES", "R-IN-1", Severity.INFO,
    "Tên tệp lược đồ viết khác quy ước ({names}); TT 05/2025 dùng EAD.xsd, EAD_doc.xsd, EAD_pic.xsd, EAD_media.xsd",
    "Schema files are named differently ({names}); TT 05/2025 uses EAD.xsd, EAD_doc.xsd, EAD_pic.xsd, EAD_media.xsd",
)
DOC_METADATA_NAME = declare(
    "CK-TT05-DOC-METADATA-NAME", "R-IN-1", Severity.INFO,
    "{count} tệp siêu dữ liệu tài liệu đặt tên kiểu {example} thay vì EAD_doc_<tên>.xml (chấp nhận)",
    "{count} document metadata files are named like {example} instead of EAD_doc_<name>.xml (accepted)",
)
NOT_TT05 = declare(
    "CK-TT05-NOT-TT05", "R-IN-1", Severity.WARNING,
    "Gói E-ARK CSIP không có siêu dữ liệu TT 05/2025 (metadata/descriptive/EAD.xml dạng simpledc): "
    "đọc như gói CSIP thông thường, không có hồ sơ",
    "An E-ARK CSIP package without TT 05/2025 metadata (a simpledc metadata/descriptive/EAD.xml): "
    "read as a plain CSIP package, without a dossier",
)

# ---------------------------------------------------------------- findings: declarations (R-CK-1)

MDTYPE_DC = declare(
    "CK-TT05-MDTYPE-DC", "R-CK-1", Severity.INFO,
    "{count} mdRef khai báo MDTYPE=“DC” cho siêu dữ liệu TT 05 (simpledc), ví dụ {example}; chấp nhận theo thực tế",
    "{count} mdRef declare MDTYPE=“DC” for TT 05 (simpledc) metadata, e.g. {example}; accepted as seen in practice",
)
SCHEMA_MIMETYPE = declare(
    "CK-TT05-SCHEMA-MIMETYPE", "R-CK-1", Severity.INFO,
    "{count} tệp lược đồ .xsd khai báo MIMETYPE “{value}” (ví dụ {example}); chấp nhận",
    "{count} .xsd schema files are declared with MIMETYPE “{value}” (e.g. {example}); accepted",
)
BUNDLED_SCHEMA = declare(
    "CK-TT05-BUNDLED-SCHEMA", "R-CK-5", Severity.INFO,
    "Lược đồ kèm gói {path} không khai báo phần tử {elements} mà dữ liệu EAD_doc dùng; lược đồ kèm gói không "
    "được dùng để kiểm tra (kiểm tra siêu dữ liệu dùng quy định TT 05)",
    "The bundled schema {path} does not declare {elements}, which the EAD_doc data use; bundled schemas are not "
    "used for validation (the metadata check applies the TT 05 rules)",
)
PAIRED_BY_NAME = declare(
    "CK-TT05-PAIRED-BY-NAME", "R-CK-1", Severity.WARNING,
    "{count} tài liệu được ghép siêu dữ liệu với tệp theo tên (ví dụ {example}) vì structMap của {path} không "
    "ghép chúng bằng MetadataLink/File",
    "{count} documents were paired with their metadata by name (e.g. {example}) because the structMap of {path} "
    "does not pair them through MetadataLink/File",
)
LINK_BROKEN = declare(
    "CK-TT05-LINK-BROKEN", "R-CK-1", Severity.ERROR,
    "{path}: phân đoạn MetadataLink/File ({where}) tham chiếu “{value}” không tồn tại ({what})",
    "{path}: the MetadataLink/File division ({where}) refers to “{value}”, which does not exist ({what})",
)
DOC_WITHOUT_METADATA = declare(
    "CK-TT05-DOC-NO-METADATA", "R-CK-1", Severity.ERROR,
    "Tệp tài liệu {path} không có siêu dữ liệu EAD_doc đi kèm",
    "The document file {path} has no EAD_doc metadata",
)
METADATA_WITHOUT_DOC = declare(
    "CK-TT05-METADATA-NO-DOC", "R-CK-1", Severity.ERROR,
    "Siêu dữ liệu {path} không gắn với tệp tài liệu nào trong representations/rep1/data",
    "The metadata file {path} belongs to no document file in representations/rep1/data",
)
FETCHED_DOCUMENT = declare(
    "CK-TT05-FETCH", "R-CK-1", Severity.WARNING,
    "Tài liệu {path} đã được nộp trước đó (tệp .fetch.txt trỏ tới “{target}”), không có trong gói này",
    "The document {path} was delivered earlier (the .fetch.txt file points to “{target}”); it is not in this package",
)


# ---------------------------------------------------------------- reader


class Tt05Reader:
    name = "tt05"

    def accepts(self, source: PackageSource) -> bool:
        """A root METS.xml; or, without bagit.txt, a CSIP-like layout (so CSIPSTR4 is reported)."""
        paths = [e.path for e in source.entries()]
        if ROOT_METS in paths:
            return True
        if "bagit.txt" in paths:
            return False
        top_files = [p for p in paths if "/" not in p]
        return any(p.startswith("representations/") for p in paths) or any(
            "mets" in p.lower() and p.lower().endswith(".xml") for p in top_files
        )

    def read(self, source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
        return _Reading(source, ctx, settings).run()


@dataclass
class _Pair:
    metadata: str | None
    files: list[MetsFile] = field(default_factory=list)
    by_name: bool = False


class _Reading:
    def __init__(self, source: PackageSource, ctx: CheckContext, settings: Settings) -> None:
        self.source = source
        self.ctx = ctx
        self.settings = settings
        self.index = PathIndex(e.path for e in source.entries())
        self.root: MetsDocument | None = None
        self.reps: dict[str, MetsDocument] = {}
        self.ead_root: etree._Element | None = None
        self.doc_tags: set[str] = set()
        """Element names used in the documents' simpledc metadata (for the bundled EAD_doc.xsd)."""
        self.fetched: dict[str, str] = {}
        """`.fetch.txt` path → what it points to (a document delivered earlier)."""

    # ------------------------------------------------------------ flow

    def run(self) -> ParsedPackage:
        if ROOT_METS not in self.index:
            check_csip(self.source, None, {}, self.ctx, tt05=self._looks_tt05())
            raise PackageRejected(root_mets_missing(self.source))
        self.root = self._parse_mets(ROOT_METS, required=True)
        for rep in representation_folders(self.index):
            path = f"representations/{rep}/{ROOT_METS}"
            if path in self.index:
                doc = self._parse_mets(path, required=False)
                if doc is not None:
                    self.reps[rep] = doc
        self.ead_root = self._read_ead()
        tt05 = self._looks_tt05()
        check_csip(self.source, self.root, self.reps, self.ctx, tt05=tt05, index=self.index)
        package = self._package(tt05)
        if tt05:
            self._check_tt05_structure(package)
            self._read_dossier(package)
        else:
            self.ctx.report(NOT_TT05, path=EAD_PATH)
        self._record(package)
        return package

    def _parse_mets(self, path: str, *, required: bool) -> MetsDocument | None:
        try:
            data = self.source.read_bounded(path, self.settings.limits.max_xml_bytes)
            root = parse_xml(data, path=path, limits=self.settings.limits)
        except XmlError as error:
            if required:
                # Nothing more can be read; the folder rules still say what they can.
                check_csip(self.source, None, {}, self.ctx, tt05=self._looks_tt05())
                raise PackageRejected(error.finding) from error
            self.ctx.add(error.finding)
            return None
        return parse_mets(root, path, self.ctx)

    def _parse_xml(self, path: str) -> etree._Element | None:
        try:
            data = self.source.read_bounded(path, self.settings.limits.max_xml_bytes)
            return parse_xml(data, path=path, limits=self.settings.limits)
        except XmlError as error:
            self.ctx.add(error.finding)
            return None

    def _read_ead(self) -> etree._Element | None:
        actual, _ = self.index.lookup(EAD_PATH)
        if actual is None:
            return None
        try:
            data = self.source.read_bounded(actual, self.settings.limits.max_xml_bytes)
            return parse_xml(data, path=actual, limits=self.settings.limits)
        except XmlError as error:
            if self._looks_tt05(ead_known=False):
                self.ctx.add(error.finding)
            return None

    def _looks_tt05(self, *, ead_known: bool = True) -> bool:
        if ead_known and self.ead_root is not None and local_name(self.ead_root) == "simpledc":
            return True
        if any(_DOC_METADATA.match(posixpath.basename(p)) for p in self._rep_descriptive_files()):
            return True
        return any(_is_link_div(div) for doc in self.reps.values() for div in _walk(doc))

    def _rep_descriptive_files(self) -> list[str]:
        pattern = re.compile(r"^representations/[^/]+/metadata/descriptive/[^/]+$")
        return sorted(p for p in self.index.paths if pattern.match(p))

    # ------------------------------------------------------------ package facts

    def _package(self, tt05: bool) -> ParsedPackage:
        root = self.root
        assert root is not None
        header = root.header
        package = ParsedPackage(
            kind=PackageKind.TT05_SIP_HOSO if tt05 else PackageKind.CSIP,
            name=self.source.name,
            root=self.source.root,
            objid=root.objid,
            created=header.create_date if header else None,
            record_status=header.record_status if header else None,
            files=sorted(self.index.paths),
            exempt_from_declaration={ROOT_METS},
        )
        package.producer = _producer(root)
        package.agency_code, package.agency_name = _agency(root)
        package.declared = self._declarations()
        info = package.profile_info
        for key, value in (
            ("mets_profile", root.profile),
            ("mets_type", root.type),
            ("oais_package_type", header.oais_package_type if header else None),
            ("content_information_type", root.content_information_type),
            ("label", root.label),
            ("representations", ",".join(self.reps)),
        ):
            if value:
                info[key] = value
        for alt in header.alt_record_ids if header else []:
            if alt.type and alt.value:
                info.setdefault(f"alt_record_id:{alt.type}", alt.value)
        return package

    def _declarations(self) -> list[DeclaredFile]:
        declared: list[DeclaredFile] = []
        for doc in self._docs():
            case_only: list[tuple[str, str]] = []
            for section in doc.md_sections():
                for ref in section.mdrefs:
                    item = self._declared(doc, ref.href.path, ref.href.raw, case_only)
                    if item is None:
                        continue
                    path, raw = item
                    declared.append(
                        DeclaredFile(
                            path=path,
                            declared_by=doc.path,
                            role=_role_of(path, None),
                            size=ref.size_bytes,
                            checksums=_checksums(ref.algorithm, ref.checksum_hex),
                            mimetype=ref.mimetype,
                            created=ref.created,
                            raw_path=raw,
                        )
                    )
            for mets_file in doc.files():
                for flocat in mets_file.flocats:
                    item = self._declared(doc, flocat.href.path, flocat.href.raw, case_only)
                    if item is None:
                        continue
                    path, raw = item
                    declared.append(
                        DeclaredFile(
                            path=path,
                            declared_by=doc.path,
                            role=_role_of(path, mets_file.group_use),
                            size=mets_file.size_bytes,
                            checksums=_checksums(mets_file.algorithm, mets_file.checksum_hex),
                            mimetype=mets_file.mimetype,
                            created=mets_file.created,
                            raw_path=raw,
                        )
                    )
            if case_only:
                href, actual = case_only[0]
                self.ctx.report(HREF_CASE, path=doc.path, count=len(case_only), href=href, actual=actual)
        return declared

    def _declared(
        self, doc: MetsDocument, path: str | None, raw: str | None, case_only: list[tuple[str, str]]
    ) -> tuple[str, str | None] | None:
        """The package path a declaration stands for (the file present when only case differs)."""
        if path is None:
            return None
        actual, by_case = self.index.lookup(path)
        if actual is not None and by_case:
            case_only.append((raw or path, actual))
            return actual, raw
        return path, raw if raw != path else None

    def _docs(self) -> list[MetsDocument]:
        return ([self.root] if self.root else []) + list(self.reps.values())

    # ------------------------------------------------------------ TT 05 structure

    def _check_tt05_structure(self, package: ParsedPackage) -> None:
        root = self.root
        assert root is not None
        for required in (EAD_PATH, f"representations/{REP}/{ROOT_METS}"):
            actual, by_case = self.index.lookup(required)
            if actual is None:
                self.ctx.report(REQUIRED_FILE, path=required)
            elif by_case:
                self.ctx.report(REQUIRED_FILE_CASE, path=required, actual=actual)
        if not [p for p in self.index.under("schemas") if not p.endswith("/.gitkeep")]:
            self.ctx.report(SCHEMAS_EMPTY, path="schemas/")
        reps = representation_folders(self.index)
        if reps != [REP]:
            self.ctx.report(REPRESENTATIONS, path="representations/", found=", ".join(reps) or "—")
        self._check_identifiers(root)
        self._check_zip_name(root)
        if package.agency_code is None:
            self.ctx.report(NO_AGENCY_CODE, path=root.path)
        self._check_deviations()

    def _check_identifiers(self, root: MetsDocument) -> None:
        if root.objid and not _OBJID.match(root.objid):
            self.ctx.report(OBJID_FORM, path=root.path, value=root.objid)
        header = root.header
        if header and header.create_date and not _CREATEDATE.match(header.create_date.strip()):
            self.ctx.report(CREATEDATE_FORM, path=root.path, value=header.create_date)
        for doc in self.reps.values():
            if doc.objid and not _REP_OBJID.match(doc.objid):
                self.ctx.report(REP_OBJID, path=doc.path, value=doc.objid)
            rep_header = doc.header
            if rep_header and rep_header.create_date and not _CREATEDATE.match(rep_header.create_date.strip()):
                self.ctx.report(CREATEDATE_FORM, path=doc.path, value=rep_header.create_date)

    def _check_zip_name(self, root: MetsDocument) -> None:
        name = self.source.name
        lowered = name.lower()
        suffix = next((s for s in ARCHIVE_SUFFIXES if lowered.endswith(s)), None)
        if suffix is None or not root.objid:
            return
        stem = name[: -len(suffix)]
        if not re.fullmatch(rf"\d+[._ -]?{re.escape(root.objid)}", stem):
            self.ctx.report(ZIP_NAME, path=name, value=name, objid=root.objid)

    def _check_deviations(self) -> None:
        dc_refs = [
            ref.href.path or ""
            for doc in self._docs()
            for section in doc.dmd_secs
            for ref in section.mdrefs
            if ref.mdtype == "DC"
        ]
        if dc_refs:
            self.ctx.report(MDTYPE_DC, path=ROOT_METS, count=len(dc_refs), example=dc_refs[0])
        octet = [
            f.path or ""
            for doc in self._docs()
            for f in doc.files()
            if (f.path or "").lower().endswith(".xsd") and f.mimetype == "application/octet-stream"
        ]
        if octet:
            self.ctx.report(SCHEMA_MIMETYPE, path=ROOT_METS, count=len(octet), value="application/octet-stream",
                            example=octet[0])
        odd_schemas = sorted(
            posixpath.basename(p)
            for p in self.index.under("schemas")
            if posixpath.basename(p).lower() in CANONICAL_SCHEMAS
            and posixpath.basename(p) != CANONICAL_SCHEMAS[posixpath.basename(p).lower()]
        )
        if odd_schemas:
            self.ctx.report(SCHEMA_NAMES, path="schemas/", names=", ".join(odd_schemas))
        odd_names = [
            p
            for p in self._rep_descriptive_files()
            if _DOC_METADATA.match(posixpath.basename(p))
            and not posixpath.basename(p).startswith(_CANONICAL_PREFIXES)
        ]
        if odd_names:
            self.ctx.report(DOC_METADATA_NAME, path=odd_names[0], count=len(odd_names),
                            example=posixpath.basename(odd_names[0]))

    # ------------------------------------------------------------ dossier and documents

    def _read_dossier(self, package: ParsedPackage) -> None:
        ead_path = self.index.lookup(EAD_PATH)[0] or EAD_PATH
        if self.ead_root is not None:
            dossier = dossier_from_ead(self.ead_root, ead_path, self.ctx)
        else:
            dossier = Dossier(metadata_path=None)
        rep_name = REP if REP in self.reps else next(iter(self.reps), None)
        rep = self.reps.get(rep_name) if rep_name else None
        if rep is not None:
            dossier.documents = self._documents(rep)
        self._check_bundled_schema()
        extension = self.index.lookup(EXTENSION_PATH)[0]
        if extension is not None:
            ext_root = self._parse_xml(extension)
            if ext_root is not None:
                apply_extension(dossier, ext_root, path=extension, ctx=self.ctx)
        package.dossiers = [dossier]
        for path, target in self.fetched.items():
            package.profile_info[f"fetch:{path}"] = target
        if dossier.kind is DossierKind.TAILIEU:
            package.kind = PackageKind.TT05_SIP_TAILIEU

    def _documents(self, rep: MetsDocument) -> list[Document]:
        pairs = self._pairs(rep)
        documents: list[Document] = []
        for pair in pairs:
            documents.append(self._document(rep, pair))
        return documents

    def _pairs(self, rep: MetsDocument) -> list[_Pair]:
        dmd_paths = {
            section.id: self._actual(section.mdref)
            for section in rep.dmd_secs
            if section.id and section.mdref is not None
        }
        files_by_id = {f.id: f for f in rep.files() if f.id}
        pairs: list[_Pair] = []
        linked_meta: set[str] = set()
        linked_files: set[str] = set()
        for div in _walk(rep):
            if not _is_link_div(div):
                continue
            pair = self._link_pair(rep, div, dmd_paths, files_by_id)
            if pair.metadata:
                linked_meta.add(pair.metadata)
            linked_files.update(self._file_path(f) for f in pair.files)
            pairs.append(pair)
        rep_folder = rep.folder
        metadata_left = [
            path
            for path in (self._actual(s.mdref) for s in rep.dmd_secs if s.mdref is not None)
            if path and path not in linked_meta and _DOC_METADATA.match(posixpath.basename(path))
        ]
        data_left = [
            f for f in rep.files()
            if self._file_path(f).startswith(f"{rep_folder}/data/") and self._file_path(f) not in linked_files
        ]
        by_name = _pair_by_name(metadata_left, data_left, self._file_path)
        if by_name:
            example = posixpath.basename(by_name[0].metadata or "")
            self.ctx.report(PAIRED_BY_NAME, path=rep.path, count=len(by_name), example=example)
        pairs.extend(by_name)
        paired_meta = {p.metadata for p in by_name}
        paired_files = {self._file_path(f) for p in by_name for f in p.files}
        for path in metadata_left:
            if path not in paired_meta:
                pairs.append(_Pair(path))
        for mets_file in data_left:
            if self._file_path(mets_file) not in paired_files:
                pairs.append(_Pair(None, [mets_file]))
        # A file present in data/ but declared nowhere is the fixity check's (CK-FIXITY-UNDECLARED):
        # it belongs to no document, and one error says it all.
        return pairs

    def _link_pair(
        self,
        rep: MetsDocument,
        div: Div,
        dmd_paths: dict[str, str | None],
        files_by_id: dict[str, MetsFile],
    ) -> _Pair:
        where = f"div[@ID='{div.id or ''}']"
        metadata: str | None = None
        for dmd_id in div.dmdid:
            if dmd_id not in dmd_paths:
                self.ctx.report(LINK_BROKEN, path=rep.path, where=where, value=dmd_id, what="dmdSec")
            elif metadata is None:
                metadata = dmd_paths[dmd_id]
        files: list[MetsFile] = []
        for fptr in (fp for d in div.walk() for fp in d.fptrs):
            target = files_by_id.get(fptr.file_id or "")
            if target is None:
                self.ctx.report(LINK_BROKEN, path=rep.path, where=where, value=fptr.file_id or "", what="file")
            else:
                files.append(target)
        return _Pair(metadata, files)

    def _document(self, rep: MetsDocument, pair: _Pair) -> Document:
        doc: Document | None = None
        if pair.metadata is not None and pair.metadata in self.index:
            root = self._parse_xml(pair.metadata)
            if root is not None:
                children = tagged_children(root)
                if local_name(root) == "simpledc":
                    self.doc_tags.update(tag for tag, _ in children)
                doc = document_from_ead(root, pair.metadata, self.ctx, children=children)
        if doc is None:
            doc = Document()
        doc.metadata_path = pair.metadata
        doc.files = [self._file_ref(f) for f in pair.files]
        if pair.metadata is None:
            for ref in doc.files:
                self.ctx.report(DOC_WITHOUT_METADATA, path=ref.path, document=doc.key)
        elif not doc.files:
            self.ctx.report(METADATA_WITHOUT_DOC, path=pair.metadata, document=doc.key)
        for ref in doc.files:
            if ref.path.endswith(FETCH_SUFFIX):
                target = self._fetch_target(ref.path)
                self.fetched[ref.path] = target
                self.ctx.report(FETCHED_DOCUMENT, path=ref.path, target=target, document=doc.key)
        return doc

    def _file_ref(self, mets_file: MetsFile) -> FileRef:
        path = self._file_path(mets_file)
        return FileRef(
            path=path,
            role=FileRole.OTHER if path.endswith(FETCH_SUFFIX) else FileRole.ORIGINAL,
            size=mets_file.size_bytes,
            sha256=mets_file.checksum_hex if mets_file.algorithm == "sha256" else None,
            mimetype=mets_file.mimetype,
            created=mets_file.created,
            file_id=mets_file.id,
        )

    def _file_path(self, mets_file: MetsFile) -> str:
        path = mets_file.path or ""
        actual = self.index.lookup(path)[0] if path else None
        return actual or path

    def _actual(self, ref: MdRef | None) -> str | None:
        if ref is None or ref.href.path is None:
            return None
        return self.index.lookup(ref.href.path)[0] or ref.href.path

    def _fetch_target(self, path: str) -> str:
        if path not in self.index:
            return "?"
        try:
            data = self.source.read_bounded(path, MAX_FETCH_BYTES)
        except Exception:  # a broken pointer file is reported, never fatal
            return "?"
        text = data.decode("utf-8", errors="replace")
        return next((line.strip() for line in text.splitlines() if line.strip()), "?")[:300]

    def _check_bundled_schema(self) -> None:
        schema_path = next(
            (p for p in self.index.under("schemas") if posixpath.basename(p).lower() == "ead_doc.xsd"), None
        )
        if schema_path is None or not self.doc_tags:
            return
        schema = self._parse_xml(schema_path)
        if schema is None:
            return
        declared = {str(el.get("name")) for el in schema.iter(f"{{{XSD_NS}}}element") if el.get("name")}
        used = self.doc_tags
        docs_only = {tag for tag in used if not tag.startswith(("typePic", "typeMedia"))}
        missing = sorted(docs_only - declared)
        if declared and missing:
            self.ctx.report(BUNDLED_SCHEMA, path=schema_path, elements=", ".join(missing[:8]))

    # ------------------------------------------------------------ event

    def _record(self, package: ParsedPackage) -> None:
        documents = len(package.documents)
        ctx_errors = sum(1 for f in self.ctx.findings if f.severity is Severity.ERROR)
        self.ctx.record(
            event(
                EventType.METADATA_EXTRACTION,
                AGENT,
                Outcome.FAILURE if ctx_errors else Outcome.SUCCESS,
                "Đọc METS, EAD và ghép siêu dữ liệu với tài liệu của gói theo TT 05/2025",
                outcome_detail=(
                    f"kind={package.kind.value} objid={package.objid} representations={len(self.reps)} "
                    f"documents={documents} declared={len(package.declared)}"
                ),
            )
        )


# ---------------------------------------------------------------- helpers


def _walk(doc: MetsDocument) -> Iterable[Div]:
    struct_map = doc.csip_struct_map()
    return struct_map.walk() if struct_map is not None else ()


def _is_link_div(div: Div) -> bool:
    return (div.label or "").casefold() == "metadatalink/file"


def _checksums(algorithm: str | None, value: str | None) -> dict[str, str]:
    if algorithm is None or value is None:
        return {}
    return {algorithm: value}


def _role_of(path: str, group_use: str | None) -> FileRole:
    parts = path.split("/")
    if len(parts) == 1 and path == ROOT_METS:
        return FileRole.METADATA
    inner = parts[2:] if parts[0] == "representations" and len(parts) > 2 else parts
    head = inner[0] if inner else ""
    if head == "data" and len(inner) > 1:
        return FileRole.ORIGINAL
    if head == "metadata" or inner == [ROOT_METS]:
        return FileRole.METADATA
    if head == "schemas":
        return FileRole.SCHEMA
    if head == "documentation":
        return FileRole.DOCUMENTATION
    use = (group_use or "").casefold()
    if use == "schemas":
        return FileRole.SCHEMA
    if use == "documentation":
        return FileRole.DOCUMENTATION
    if use == "data" or use.startswith("representations"):
        return FileRole.ORIGINAL
    return FileRole.OTHER


def _stem(path: str) -> str:
    name = posixpath.basename(path)
    if name.lower().endswith(FETCH_SUFFIX):
        return name[: -len(FETCH_SUFFIX)]
    return name.rsplit(".", 1)[0] if "." in name else name


def _pair_by_name(metadata: list[str], files: list[MetsFile], path_of: Callable[[MetsFile], str]) -> list[_Pair]:
    by_stem: dict[str, list[MetsFile]] = {}
    for mets_file in files:
        by_stem.setdefault(_stem(path_of(mets_file)).casefold(), []).append(mets_file)
    pairs = []
    for path in metadata:
        match = _DOC_METADATA.match(posixpath.basename(path))
        if match is None:
            continue
        found = by_stem.pop(match.group(2).casefold(), None)
        if found:
            pairs.append(_Pair(path, found, by_name=True))
    return pairs


def _producer(doc: MetsDocument) -> str | None:
    header = doc.header
    if header is None:
        return None
    for agent in header.agents:
        if agent.other_type == "SOFTWARE" or (agent.role == "CREATOR" and agent.type == "OTHER"):
            version = agent.note_of("SOFTWARE VERSION")
            if agent.name:
                return f"{agent.name} {version}" if version else agent.name
    return None


def _agency(doc: MetsDocument) -> tuple[str | None, str | None]:
    header = doc.header
    if header is None:
        return None, None
    agents = sorted(header.agents, key=lambda a: 0 if a.type == "ORGANIZATION" else 1)
    for agent in agents:
        code = agent.note_of("IDENTIFICATIONCODE")
        if code:
            is_software = agent.other_type == "SOFTWARE" or agent.type == "OTHER"
            return code, None if is_software else agent.name
    return None, None
