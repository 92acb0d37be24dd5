"""TT 05/2025 SIP reader (`ingest.readers.tt05`), METS parsing and the CSIP checks on TT 05 packages.

The packages are built here by `build_sip`, a small, self-contained writer
(independent of the product's METS writer) whose `SipSpec` switches on, one by
one, the deviations of the real third-party SIP described in
`../shared/spec/packages.md`; each must be accepted with the right warning or
information, never rejected.

Packages are opened through `ingest.source.open_source`, as the gate does.
"""

from __future__ import annotations

import hashlib
import posixpath
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from archive_core.findings import CheckContext, Finding, PackageRejected, Severity
from archive_core.model import Dossier, DossierKind, FileRole, Fonds
from archive_core.profiles.tt05 import Tt05Variant, extension_to_xml
from archive_core.settings import Limits, Settings
from ingest.checks.fixity import check_fixity
from ingest.content import ContentPass
from ingest.package import PackageKind, ParsedPackage
from ingest.readers.mets import PathIndex, parse_mets, resolve_href
from ingest.readers.tt05 import Tt05Reader
from ingest.source import PackageSource, open_source

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
CSIP = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
NSMAP = {None: METS, "xlink": XLINK, "csip": CSIP}
CSIP_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
OBJID = "uuid-0F203B84-6641-4CDA-9F52-DAAE55FEF6B1"
CREATED = "2026-06-12T11:45:37.690+07:00"
EXTENSION = "metadata/descriptive/earchive-extension.xml"


# ---------------------------------------------------------------- package sources


def open_package(path: Path, staging: Path) -> PackageSource:
    """Open a folder or archive exactly as the gate does."""
    return open_source(path, Limits(), staging / f"staging-{uuid.uuid4().hex}")


@dataclass
class Result:
    package: ParsedPackage | None
    findings: list[Finding]
    rejected: Finding | None = None

    def codes(self, severity: Severity | None = None) -> set[str]:
        return {f.code for f in self.findings if severity is None or f.severity is severity}

    def of(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]


def read_package(path: Path, tmp: Path, *, fixity: bool = False) -> Result:
    """Read like the gate does; with `fixity`, also hash every file and compare declarations."""
    settings = Settings(home=tmp / "home")
    ctx = CheckContext()
    source = open_package(path, tmp)
    with source:
        try:
            package = Tt05Reader().read(source, ctx, settings)
        except PackageRejected as rejected:
            ctx.add(rejected.finding)
            return Result(None, list(ctx.findings), rejected.finding)
        if fixity:
            observed = ContentPass(source=source, algorithms=frozenset(package.algorithms()), workers=1).run()
            check_fixity(package, observed, ctx)
    return Result(package, list(ctx.findings))


# ---------------------------------------------------------------- SIP builder


@dataclass
class SipSpec:
    objid: str = OBJID
    documents: int = 3
    file_code: str = "H49.64.33.2001.160"
    created: str = CREATED
    tailieu: bool = False
    # deviations of the real third-party SIP (packages.md)
    mdtype_dc: bool = False
    uppercase_checksums: bool = False
    empty_amdsec: bool = False
    rep_objid_literal: bool = False
    xsd_octet_stream: bool = False
    lowercase_schema_names: bool = False
    upper_doc_prefix: bool = False
    bundled_arcdoccode: bool = False
    shuffled_ead: bool = False
    producer_agents: bool = False
    """ArchiveNex style: the software agent's note is the IDENTIFICATIONCODE (no version), rep agent INDIVIDUAL."""
    # structure and pairing variants
    metadata_link: bool = True
    cross_link: bool = False
    """Pair document i with the data file of document i+1 (proves pairing follows the structMap)."""
    data_names: Callable[[str], str] | None = None
    extra_representation: bool = False
    drop_after: tuple[str, ...] = ()
    """Files removed after the METS files were written (declared but absent)."""
    add_after: dict[str, bytes] = field(default_factory=dict)
    """Files added after the METS files were written (present but undeclared)."""
    add_declared_data: dict[str, bytes] = field(default_factory=dict)
    """Extra rep1 data files declared in the Data group but in no MetadataLink (name → bytes)."""
    extra_metadata_docs: tuple[str, ...] = ()
    """docIds with an EAD_doc and no data file."""
    fetch_docs: tuple[str, ...] = ()
    """docIds delivered earlier: data/<docId>.pdf.fetch.txt instead of the PDF."""
    root_href_prefix: str = ""
    """Prefix written before every root METS href (e.g. `../` to escape the package)."""
    extension: bytes | None = None
    """An earchive extension file (metadata/descriptive/earchive-extension.xml), declared in a dmdSec."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _q(tag: str) -> str:
    return f"{{{METS}}}{tag}"


def _x(attr: str) -> str:
    return f"{{{XLINK}}}{attr}"


def _c(attr: str) -> str:
    return f"{{{CSIP}}}{attr}"


def _ead(spec: SipSpec) -> bytes:
    if spec.tailieu:
        values = [("fileCode", f"{spec.file_code}"), ("title", "Văn bản đi năm 2001"), ("source", "0"),
                  ("totalDoc", str(spec.documents)), ("description", "Thử nghiệm")]
    else:
        values = [
            ("fileCode", spec.file_code), ("title", "Tập tờ khai đăng ký kết hôn năm 2001"), ("maintenance", "01"),
            ("mode", "01"), ("language", "01"), ("startDate", "02/01/2001"), ("endDate", "28/12/2001"),
            ("keyword", "hộ tịch"), ("totalDoc", str(spec.documents)), ("numberOfPaper", "20"),
            ("numberOfPage", "40"), ("format", "01"), ("inforSign", ""), ("confidenceLevel", "02"),
            ("paperFileCode", "H49.01.02.160"), ("riskRecovery", "0"), ("riskRecoveryStatus", ""),
            ("description", "Thử nghiệm"),
        ]
    if spec.shuffled_ead:
        values = values[::-1]
    return _simpledc(values)


def _ead_doc(doc_id: str, index: int, file_code: str) -> bytes:
    return _simpledc([
        ("docId", doc_id), ("docCode", f"{file_code}.{index:07d}"), ("maintenance", "01"), ("typeName", "02"),
        ("codeNumber", str(index)), ("codeNotation", "QĐ-UBND"), ("issuedDate", "15/03/2001"),
        ("organName", "UBND phường Hà Tu"), ("subject", f"Quyết định số {index}"), ("language", "01"),
        ("numberOfPage", "2"), ("inforSign", ""), ("keyword", ""), ("mode", "01"), ("confidenceLevel", "02"),
        ("autograph", ""), ("format", "01"), ("riskRecovery", "0"), ("riskRecoveryStatus", ""), ("process", "0"),
        ("description", ""),
    ])


def _simpledc(values: list[tuple[str, str]]) -> bytes:
    root = etree.Element("simpledc")
    for tag, value in values:
        etree.SubElement(root, tag).text = value
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _xsd(elements: list[str]) -> bytes:
    body = "".join(f'<xs:element name="{e}" type="xs:string"/>' for e in elements)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:complexType name="c"><xs:all>{body}</xs:all></xs:complexType>'
        '<xs:element name="simpledc" type="c"/></xs:schema>\n'
    ).encode()


DOC_TAGS = ["docId", "docCode", "maintenance", "typeName", "codeNumber", "codeNotation", "issuedDate", "organName",
            "subject", "language", "numberOfPage", "inforSign", "keyword", "mode", "confidenceLevel", "autograph",
            "format", "riskRecovery", "riskRecoveryStatus", "process", "description"]


class _Ids:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, prefix: str = "uuid-") -> str:
        self.count += 1
        return f"{prefix}{uuid.UUID(int=self.count, version=4)}".upper().replace("UUID-", "uuid-")


def _mets_root(objid: str) -> etree._Element:
    root = etree.Element(_q("mets"), nsmap=NSMAP)  # type: ignore[arg-type]
    root.set("OBJID", objid)
    root.set("LABEL", "Hồ sơ thử nghiệm")
    root.set("TYPE", "Mixed")
    root.set(_c("CONTENTINFORMATIONTYPE"), "MIXED")
    root.set("PROFILE", CSIP_PROFILE)
    return root


def _header(root: etree._Element, spec: SipSpec, *, rep: bool) -> None:
    hdr = etree.SubElement(root, _q("metsHdr"), CREATEDATE=spec.created, RECORDSTATUS="NEW")
    hdr.set(_c("OAISPACKAGETYPE"), "SIP")
    if spec.producer_agents and rep:
        agent = etree.SubElement(hdr, _q("agent"), ROLE="CREATOR", TYPE="INDIVIDUAL", OTHERTYPE="")
        etree.SubElement(agent, _q("name")).text = "cvlt"
        return
    agent = etree.SubElement(hdr, _q("agent"), ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(agent, _q("name")).text = "ArchiveNex" if spec.producer_agents else "earchive-test"
    note = etree.SubElement(agent, _q("note"))
    if spec.producer_agents:
        note.set(_c("NOTETYPE"), "IDENTIFICATIONCODE")
        note.text = "P_KHCN"
    else:
        note.set(_c("NOTETYPE"), "SOFTWARE VERSION")
        note.text = "1.0"
    if not rep and not spec.producer_agents:
        org = etree.SubElement(hdr, _q("agent"), ROLE="CREATOR", TYPE="ORGANIZATION")
        etree.SubElement(org, _q("name")).text = "UBND phường Hà Tu"
        org_note = etree.SubElement(org, _q("note"))
        org_note.set(_c("NOTETYPE"), "IDENTIFICATIONCODE")
        org_note.text = "H49.64.33"
    if not rep:
        alt = etree.SubElement(hdr, _q("altRecordID"), TYPE="SUBMISSIONAGREEMENT")
        alt.text = spec.file_code


def _checksum(data: bytes, spec: SipSpec) -> str:
    value = _sha(data)
    return value.upper() if spec.uppercase_checksums else value


def _md_ref(parent: etree._Element, href: str, data: bytes, spec: SipSpec) -> None:
    attrs = {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): href}
    if spec.mdtype_dc:
        attrs.update(MDTYPE="DC", MDTYPEVERSION="1.0.0")
    else:
        attrs.update(MDTYPE="OTHER", OTHERMDTYPE="EAD", MDTYPEVERSION="1.0")
    attrs.update(MIMETYPE="application/xml", SIZE=str(len(data)), CREATED=spec.created,
                 CHECKSUM=_checksum(data, spec), CHECKSUMTYPE="SHA-256")
    etree.SubElement(parent, _q("mdRef"), attrs)


def _dmd(root: etree._Element, ids: _Ids, href: str, data: bytes, spec: SipSpec) -> str:
    dmd_id = ids()
    sec = etree.SubElement(root, _q("dmdSec"), ID=dmd_id, CREATED=spec.created, STATUS="CURRENT")
    _md_ref(sec, href, data, spec)
    return dmd_id


def _file(group: etree._Element, ids: _Ids, href: str, data: bytes, mimetype: str, spec: SipSpec) -> str:
    file_id = ids("ID-")
    node = etree.SubElement(group, _q("file"), ID=file_id, MIMETYPE=mimetype, SIZE=str(len(data)),
                            CREATED=spec.created, CHECKSUM=_checksum(data, spec), CHECKSUMTYPE="SHA-256")
    etree.SubElement(node, _q("FLocat"), {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): href})
    return file_id


def _serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _doc_ids(spec: SipSpec) -> list[str]:
    return [f"{spec.file_code}.{i}" for i in range(1, spec.documents + 1)]


def build_files(spec: SipSpec) -> dict[str, bytes]:
    """Every file of the package, package-relative."""
    files: dict[str, bytes] = {"metadata/descriptive/EAD.xml": _ead(spec)}
    if spec.extension is not None:
        files[EXTENSION] = spec.extension
    prefix = "EAD_DOC_" if spec.upper_doc_prefix else "EAD_doc_"
    rep = "representations/rep1"
    docs: list[tuple[str, str | None]] = []
    for index, doc_id in enumerate(_doc_ids(spec), start=1):
        meta = f"metadata/descriptive/{prefix}{doc_id}.xml"
        files[f"{rep}/{meta}"] = _ead_doc(doc_id, index, spec.file_code)
        if doc_id in spec.fetch_docs:
            data_name = f"data/{doc_id}.pdf.fetch.txt"
            files[f"{rep}/{data_name}"] = f"urn:earchive:aip:{doc_id}\n".encode()
        else:
            name = spec.data_names(doc_id) if spec.data_names else f"{doc_id}.pdf"
            data_name = f"data/{name}"
            files[f"{rep}/{data_name}"] = b"%PDF-1.7\n% earchive test " + doc_id.encode() + b"\n%%EOF\n"
        docs.append((meta, data_name))
    for doc_id in spec.extra_metadata_docs:
        meta = f"metadata/descriptive/{prefix}{doc_id}.xml"
        files[f"{rep}/{meta}"] = _ead_doc(doc_id, 99, spec.file_code)
        docs.append((meta, None))
    for name, data in spec.add_declared_data.items():
        files[f"{rep}/data/{name}"] = data
    schema_names = ["EAD.xsd", "EAD_doc.xsd", "EAD_pic.xsd", "EAD_media.xsd"]
    if spec.lowercase_schema_names:
        schema_names = [n.lower() for n in schema_names]
    for name in schema_names:
        tags = DOC_TAGS if name.lower() == "ead_doc.xsd" else ["fileCode", "title"]
        if name.lower() == "ead_doc.xsd" and spec.bundled_arcdoccode:
            tags = ["arcDocCode" if t == "docCode" else t for t in tags]
        files[f"schemas/{name}"] = _xsd(tags)
    files["schemas/xlink.xsd"] = _xsd(["href"])
    files[f"{rep}/METS.xml"] = _rep_mets(spec, files, docs)
    if spec.extra_representation:
        files["representations/rep2/data/copy.pdf"] = b"%PDF-1.7\n%%EOF\n"
    files["METS.xml"] = _root_mets(spec, files)
    for path in spec.drop_after:
        files.pop(path)
    files.update(spec.add_after)
    return files


def _rep_mets(spec: SipSpec, files: dict[str, bytes], docs: list[tuple[str, str | None]]) -> bytes:
    ids = _Ids()
    ids.count = 1000
    rep = "representations/rep1"
    objid = "rep1" if spec.rep_objid_literal else ids()
    root = _mets_root(objid)
    _header(root, spec, rep=True)
    dmd_ids = [_dmd(root, ids, meta, files[f"{rep}/{meta}"], spec) for meta, _data in docs]
    if spec.empty_amdsec:
        etree.SubElement(root, _q("amdSec"), ID=ids())
    file_sec = etree.SubElement(root, _q("fileSec"), ID=ids())
    group = etree.SubElement(file_sec, _q("fileGrp"), ID=ids(), USE="Data")
    file_ids: list[str | None] = []
    for _meta, data_name in docs:
        if data_name is None:
            file_ids.append(None)
            continue
        mimetype = "text/plain" if data_name.endswith(".txt") else "application/pdf"
        file_ids.append(_file(group, ids, data_name, files[f"{rep}/{data_name}"], mimetype, spec))
    for name in spec.add_declared_data:
        _file(group, ids, f"data/{name}", files[f"{rep}/data/{name}"], "application/pdf", spec)
    struct = etree.SubElement(root, _q("structMap"), ID=ids(), TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, _q("div"), ID=ids(), LABEL=objid, TYPE="ORIGINAL")
    etree.SubElement(top, _q("div"), ID=ids(), LABEL="Metadata", DMDID=" ".join(dmd_ids))
    data_div = etree.SubElement(top, _q("div"), ID=ids(), LABEL="Data")
    etree.SubElement(data_div, _q("fptr"), FILEID=group.get("ID", ""))
    if spec.metadata_link:
        link = etree.SubElement(top, _q("div"), ID=ids(), LABEL="MetadataLink")
        targets = list(file_ids)
        if spec.cross_link:
            targets = targets[1:] + targets[:1]
        for dmd_id, file_id in zip(dmd_ids, targets, strict=True):
            pair = etree.SubElement(link, _q("div"), ID=ids(), LABEL="MetadataLink/File", DMDID=dmd_id)
            if file_id is not None:
                etree.SubElement(pair, _q("fptr"), FILEID=file_id)
    return _serialise(root)


def _root_mets(spec: SipSpec, files: dict[str, bytes]) -> bytes:
    ids = _Ids()
    root = _mets_root(spec.objid)
    _header(root, spec, rep=False)
    pre = spec.root_href_prefix
    dmd_id = _dmd(root, ids, pre + "metadata/descriptive/EAD.xml", files["metadata/descriptive/EAD.xml"], spec)
    if EXTENSION in files:
        dmd_id += " " + _dmd(root, ids, pre + EXTENSION, files[EXTENSION], spec)
    if spec.empty_amdsec:
        etree.SubElement(root, _q("amdSec"), ID=ids())
    file_sec = etree.SubElement(root, _q("fileSec"), ID=ids())
    schemas = etree.SubElement(file_sec, _q("fileGrp"), ID=ids(), USE="Schemas")
    for path in sorted(p for p in files if p.startswith("schemas/")):
        mimetype = "application/octet-stream" if spec.xsd_octet_stream else "application/xml"
        _file(schemas, ids, pre + path, files[path], mimetype, spec)
    reps = etree.SubElement(file_sec, _q("fileGrp"), ID=ids(), USE="Representations/rep1")
    reps.set(_c("CONTENTINFORMATIONTYPE"), "MIXED")
    rep_mets = "representations/rep1/METS.xml"
    _file(reps, ids, pre + rep_mets, files[rep_mets], "application/xml", spec)
    struct = etree.SubElement(root, _q("structMap"), ID=ids(), TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, _q("div"), ID=ids(), LABEL=spec.objid)
    etree.SubElement(top, _q("div"), ID=ids(), LABEL="Metadata", DMDID=dmd_id)
    schema_div = etree.SubElement(top, _q("div"), ID=ids(), LABEL="Schemas")
    etree.SubElement(schema_div, _q("fptr"), FILEID=schemas.get("ID", ""))
    rep_div = etree.SubElement(top, _q("div"), ID=ids(), LABEL="Representations/rep1")
    etree.SubElement(rep_div, _q("mptr"), {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): pre + rep_mets})
    etree.SubElement(rep_div, _q("fptr"), FILEID=reps.get("ID", ""))
    return _serialise(root)


def write_folder(files: dict[str, bytes], folder: Path) -> Path:
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def write_zip(files: dict[str, bytes], zip_path: Path, root: str) -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(f"{root}/{path}" if root else path, data)
    return zip_path


def build_sip(tmp: Path, spec: SipSpec | None = None) -> Path:
    spec = spec or SipSpec()
    return write_folder(build_files(spec), tmp / spec.objid)


# ---------------------------------------------------------------- href resolution and METS parsing


@pytest.mark.parametrize(
    ("href", "base", "path", "problem"),
    [
        ("representations/rep1/data/a.pdf", "", "representations/rep1/data/a.pdf", None),
        ("data/t%E1%BB%9D%20khai.pdf", "representations/rep1", "representations/rep1/data/tờ khai.pdf", None),
        ("file:data/a.pdf", "representations/rep1", "representations/rep1/data/a.pdf", None),
        ("file://./data/a.pdf", "representations/rep1", "representations/rep1/data/a.pdf", None),
        ("./schemas/../schemas/mets.xsd", "", "schemas/mets.xsd", None),
        ("../../schemas/EAD.xsd", "representations/rep1", "schemas/EAD.xsd", None),
        ("data\\a.pdf", "representations/rep1", "representations/rep1/data/a.pdf", "backslash"),
        ("../outside.txt", "", None, "escape"),
        ("../../../etc/passwd", "representations/rep1", None, "escape"),
        ("/etc/passwd", "", None, "escape"),
        ("file:///etc/passwd", "", None, "escape"),
        ("C:\\data\\a.pdf", "", None, "escape"),
        ("http://example.org/a.pdf", "", None, "external"),
        ("data/%FF.pdf", "representations/rep1", None, "malformed"),
        ("", "", None, "empty"),
        (None, "", None, "missing"),
    ],
)
def test_resolve_href(href: str | None, base: str, path: str | None, problem: str | None) -> None:
    resolved = resolve_href(href, base)
    assert (resolved.path, resolved.problem) == (path, problem)


@given(
    segments=st.lists(st.sampled_from(["a", "b.xml", ".", "..", "", ".a", "..b", "..."]), min_size=1, max_size=6),
    base=st.sampled_from(["", "representations/rep1", "x"]),
)
def test_resolve_href_agrees_with_normpath(segments: list[str], base: str) -> None:
    href = "/".join(segments)
    resolved = resolve_href(href, base)
    expected = posixpath.normpath(posixpath.join(base, href) if base else href) if href else None
    if resolved.path is not None:
        assert resolved.path == expected
    else:
        assert resolved.problem in ("empty", "escape")
        assert expected in (None, ".", "..") or expected.startswith("../") or href.startswith("/")


def test_resolve_href_normalises_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "data/tờ khai.pdf")
    assert resolve_href(decomposed, "").path == "data/tờ khai.pdf"


def test_path_index_matches_case_only_when_unambiguous() -> None:
    index = PathIndex(["schemas/mets.xsd", "a/B.txt", "a/b.TXT"])
    assert index.lookup("schemas/mets.xsd") == ("schemas/mets.xsd", False)
    assert index.lookup("schemas/METS.xsd") == ("schemas/mets.xsd", True)
    assert index.lookup("a/b.txt") == (None, False)
    assert index.folder("SCHEMAS", ignore_case=True) == "schemas"
    assert index.folder("SCHEMAS") is None


def test_parse_mets_reads_every_declaration(tmp_path: Path) -> None:
    files = build_files(SipSpec(uppercase_checksums=True))
    ctx = CheckContext()
    root = etree.fromstring(files["representations/rep1/METS.xml"])
    doc = parse_mets(root, "representations/rep1/METS.xml", ctx)
    assert doc.folder == "representations/rep1"
    assert [s.mdref.href.path for s in doc.dmd_secs if s.mdref] == [
        f"representations/rep1/metadata/descriptive/EAD_doc_H49.64.33.2001.160.{i}.xml" for i in (1, 2, 3)
    ]
    data = [f for f in doc.files()]
    assert [f.path for f in data] == [f"representations/rep1/data/H49.64.33.2001.160.{i}.pdf" for i in (1, 2, 3)]
    first = data[0]
    content = files["representations/rep1/data/H49.64.33.2001.160.1.pdf"]
    assert first.checksum == hashlib.sha256(content).hexdigest().upper()
    assert first.checksum_hex == hashlib.sha256(content).hexdigest()
    assert first.algorithm == "sha256" and first.size_bytes == len(content)
    assert first.group_use == "Data" and first.id and first.id.startswith("ID-")
    links = [d for d in doc.csip_struct_map().walk() if d.label == "MetadataLink/File"]  # type: ignore[union-attr]
    assert len(links) == 3 and all(d.dmdid and d.fptrs for d in links)
    assert ctx.count("CK-METS-CHECKSUM-UPPERCASE") == 1


def test_parse_mets_header_and_agents() -> None:
    files = build_files(SipSpec())
    doc = parse_mets(etree.fromstring(files["METS.xml"]), "METS.xml")
    header = doc.header
    assert header is not None
    assert (doc.objid, doc.type, doc.profile) == (OBJID, "Mixed", CSIP_PROFILE)
    assert (header.create_date, header.record_status, header.oais_package_type) == (CREATED, "NEW", "SIP")
    assert [a.name for a in header.agents] == ["earchive-test", "UBND phường Hà Tu"]
    assert header.agents[1].note_of("IDENTIFICATIONCODE") == "H49.64.33"
    assert [(a.type, a.value) for a in header.alt_record_ids] == [("SUBMISSIONAGREEMENT", "H49.64.33.2001.160")]
    rep_div = next(d for d in doc.csip_struct_map().walk() if d.label == "Representations/rep1")  # type: ignore[union-attr]
    assert rep_div.mptrs[0].href.path == "representations/rep1/METS.xml"


# ---------------------------------------------------------------- accepts


def test_accepts_tt05_and_csip_layouts_not_bags(tmp_path: Path) -> None:
    reader = Tt05Reader()
    no_mets = write_folder({"mets.xml": b"<x/>", "representations/rep1/data/a.txt": b"a"}, tmp_path / "no-mets")
    bag = write_folder({"bagit.txt": b"BagIt-Version: 1.0\n", "data/a.txt": b"a"}, tmp_path / "bag")
    for path, accepted in ((build_sip(tmp_path), True), (no_mets, True), (bag, False)):
        with open_package(path, tmp_path) as source:
            assert reader.accepts(source) is accepted, path


# ---------------------------------------------------------------- a clean SIP_hoso


def test_clean_sip_folder_is_read_completely(tmp_path: Path) -> None:
    folder = build_sip(tmp_path)
    result = read_package(folder, tmp_path, fixity=True)
    assert result.errors == [], result.errors
    assert result.warnings == [], result.warnings
    package = result.package
    assert package is not None
    assert package.kind is PackageKind.TT05_SIP_HOSO
    assert (package.objid, package.created, package.record_status) == (OBJID, CREATED, "NEW")
    assert package.producer == "earchive-test 1.0"
    assert (package.agency_code, package.agency_name) == ("H49.64.33", "UBND phường Hà Tu")
    dossier = package.dossiers[0]
    assert dossier.kind is DossierKind.HOSO
    assert (dossier.file_code, dossier.total_doc, dossier.metadata_path) == (
        "H49.64.33.2001.160", "3", "metadata/descriptive/EAD.xml")
    assert [d.doc_id for d in package.documents] == [f"H49.64.33.2001.160.{i}" for i in (1, 2, 3)]
    for doc in package.documents:
        assert doc.metadata_path == f"representations/rep1/metadata/descriptive/EAD_doc_{doc.doc_id}.xml"
        (ref,) = doc.files
        content = (folder / ref.path).read_bytes()
        assert ref.path == f"representations/rep1/data/{doc.doc_id}.pdf"
        assert (ref.sha256, ref.size, ref.mimetype, ref.role) == (
            hashlib.sha256(content).hexdigest(), len(content), "application/pdf", FileRole.ORIGINAL)
        assert ref.file_id and ref.created == CREATED
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {d.path for d in package.declared} == present - {"METS.xml"}
    roles = {d.path: d.role for d in package.declared}
    assert roles["metadata/descriptive/EAD.xml"] is FileRole.METADATA
    assert roles["representations/rep1/METS.xml"] is FileRole.METADATA
    assert roles["schemas/EAD_doc.xsd"] is FileRole.SCHEMA
    assert roles["representations/rep1/data/H49.64.33.2001.160.1.pdf"] is FileRole.ORIGINAL
    assert {d.declared_by for d in package.declared} == {"METS.xml", "representations/rep1/METS.xml"}
    assert all(set(d.checksums) == {"sha256"} for d in package.declared)
    assert not result.codes() & {"CK-METS-SCHEMA-INVALID"}
    # a SIP carries no PREMIS: information only
    assert {f.severity for f in result.of("CK-CSIP31-MISSING")} == {Severity.INFO}


def test_clean_sip_zip_named_by_sequence_and_objid(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    zip_path = write_zip(files, tmp_path / f"1{OBJID}.zip", OBJID)
    result = read_package(zip_path, tmp_path, fixity=True)
    assert result.errors == [] and result.warnings == [], result.findings
    assert result.package is not None and len(result.package.documents) == 3
    assert result.package.root == OBJID


def test_sip_tailieu_kind(tmp_path: Path) -> None:
    result = read_package(build_sip(tmp_path, SipSpec(tailieu=True)), tmp_path)
    assert result.package is not None
    assert result.package.kind is PackageKind.TT05_SIP_TAILIEU
    assert result.package.dossiers[0].kind is DossierKind.TAILIEU
    assert result.package.dossiers[0].source == "0"


def test_earchive_extension_is_applied(tmp_path: Path) -> None:
    fonds = Fonds(fond_name="Phông UBND phường Hà Tu", organ_id="H49.64.33")
    extension = extension_to_xml(Dossier(file_code="H49.64.33.2001.160", fonds=fonds), Tt05Variant.SIP_HOSO)
    assert extension is not None
    result = read_package(build_sip(tmp_path, SipSpec(extension=extension)), tmp_path, fixity=True)
    assert result.errors == [] and result.warnings == [], result.findings
    assert result.package is not None
    assert result.package.dossiers[0].fonds == fonds


# ---------------------------------------------------------------- real-world deviations are accepted


DEVIATIONS: dict[str, tuple[dict[str, object], str, Severity]] = {
    "empty amdSec": ({"empty_amdsec": True}, "CK-CSIP31-NO-FILES", Severity.WARNING),
    "rep1 OBJID literal": ({"rep_objid_literal": True}, "CK-TT05-REP-OBJID", Severity.INFO),
    "MDTYPE DC with MDTYPEVERSION": ({"mdtype_dc": True}, "CK-TT05-MDTYPE-DC", Severity.INFO),
    ".xsd as application/octet-stream": ({"xsd_octet_stream": True}, "CK-TT05-SCHEMA-MIMETYPE", Severity.INFO),
    "lower-case schema names": ({"lowercase_schema_names": True}, "CK-TT05-SCHEMA-NAMES", Severity.INFO),
    "EAD_DOC_{docId}.xml names": ({"upper_doc_prefix": True}, "CK-TT05-DOC-METADATA-NAME", Severity.INFO),
    "upper-case hex checksums": ({"uppercase_checksums": True}, "CK-METS-CHECKSUM-UPPERCASE", Severity.INFO),
    "bundled ead_doc.xsd declares arcDocCode": (
        {"bundled_arcdoccode": True}, "CK-TT05-BUNDLED-SCHEMA", Severity.INFO),
    "software agent note is the mã phông": ({"producer_agents": True}, "CK-CSIP16-VALUE", Severity.WARNING),
    "representation agent INDIVIDUAL": ({"producer_agents": True}, "CK-CSIP12-VALUE", Severity.WARNING),
    "SIP without PREMIS": ({}, "CK-CSIP32-MISSING", Severity.INFO),
}


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_real_world_deviation_is_accepted_with_a_finding(tmp_path: Path, name: str) -> None:
    changes, code, severity = DEVIATIONS[name]
    spec = replace(SipSpec(), **changes)  # type: ignore[arg-type]
    result = read_package(build_sip(tmp_path, spec), tmp_path, fixity=True)
    assert result.errors == [], result.errors
    found = result.of(code)
    assert found, f"{name}: expected {code}"
    assert {f.severity for f in found} == {severity}
    assert result.package is not None and len(result.package.documents) == 3


def test_shuffled_ead_is_read_without_findings(tmp_path: Path) -> None:
    result = read_package(build_sip(tmp_path, SipSpec(shuffled_ead=True)), tmp_path)
    assert result.errors == [] and result.warnings == []
    assert result.package is not None and result.package.dossiers[0].file_code == "H49.64.33.2001.160"


def test_zip_named_by_another_guid_is_accepted_with_a_warning(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    zip_path = write_zip(files, tmp_path / "b6acafed-a809-4b78-ae9f-0373d50d52f0.zip", OBJID)
    result = read_package(zip_path, tmp_path, fixity=True)
    assert result.errors == []
    assert [f.severity for f in result.of("CK-TT05-ZIP-NAME")] == [Severity.WARNING]


def test_all_real_world_deviations_together(tmp_path: Path) -> None:
    """The published third-party SIP has every deviation at once: still accepted."""
    spec = SipSpec(
        documents=5, mdtype_dc=True, uppercase_checksums=True, empty_amdsec=True, rep_objid_literal=True,
        xsd_octet_stream=True, lowercase_schema_names=True, upper_doc_prefix=True, bundled_arcdoccode=True,
        shuffled_ead=True, producer_agents=True,
    )
    zip_path = write_zip(build_files(spec), tmp_path / "b6acafed-a809-4b78-ae9f-0373d50d52f0.zip", OBJID)
    result = read_package(zip_path, tmp_path, fixity=True)
    assert result.errors == [], result.errors
    expected = {code for _changes, code, _severity in DEVIATIONS.values()} | {"CK-TT05-ZIP-NAME"}
    assert expected <= result.codes()
    package = result.package
    assert package is not None
    assert len(package.documents) == 5 and all(len(d.files) == 1 and d.metadata_path for d in package.documents)
    assert package.producer == "ArchiveNex"
    assert (package.agency_code, package.agency_name) == ("P_KHCN", None)
    assert all(d.sha256 is None or d.sha256 == d.sha256.lower() for d in package.documents[0].files)
    assert all(v == v.lower() for d in package.declared for v in d.checksums.values())


# ---------------------------------------------------------------- pairing


def test_pairing_follows_the_structmap_not_the_names(tmp_path: Path) -> None:
    result = read_package(build_sip(tmp_path, SipSpec(cross_link=True)), tmp_path)
    assert result.errors == []
    package = result.package
    assert package is not None
    pairs = {d.doc_id: d.files[0].path.rsplit("/", 1)[1] for d in package.documents}
    assert pairs == {
        "H49.64.33.2001.160.1": "H49.64.33.2001.160.2.pdf",
        "H49.64.33.2001.160.2": "H49.64.33.2001.160.3.pdf",
        "H49.64.33.2001.160.3": "H49.64.33.2001.160.1.pdf",
    }
    assert "CK-TT05-PAIRED-BY-NAME" not in result.codes()


def test_pairing_by_name_without_metadata_link(tmp_path: Path) -> None:
    result = read_package(build_sip(tmp_path, SipSpec(metadata_link=False, upper_doc_prefix=True)), tmp_path)
    assert result.errors == []
    (warning,) = result.of("CK-TT05-PAIRED-BY-NAME")
    assert warning.severity is Severity.WARNING and "3 documents" in warning.message_en
    package = result.package
    assert package is not None
    for doc in package.documents:
        assert doc.files[0].path == f"representations/rep1/data/{doc.doc_id}.pdf"


def test_documents_without_metadata_and_metadata_without_documents(tmp_path: Path) -> None:
    spec = SipSpec(
        add_declared_data={"orphan.pdf": b"%PDF-1.7\n%%EOF\n"},
        extra_metadata_docs=("H49.64.33.2001.160.99",),
    )
    result = read_package(build_sip(tmp_path, spec), tmp_path, fixity=True)
    (no_metadata,) = result.of("CK-TT05-DOC-NO-METADATA")
    assert no_metadata.path == "representations/rep1/data/orphan.pdf" and no_metadata.severity is Severity.ERROR
    (no_document,) = result.of("CK-TT05-METADATA-NO-DOC")
    assert (no_document.path or "").endswith("EAD_doc_H49.64.33.2001.160.99.xml")
    package = result.package
    assert package is not None
    assert len(package.documents) == 5
    assert not result.codes() & {"CK-FIXITY-UNDECLARED", "CK-FIXITY-MISSING", "CK-FIXITY-MISMATCH"}


def test_fetch_txt_document_is_recorded_with_a_warning(tmp_path: Path) -> None:
    spec = SipSpec(fetch_docs=("H49.64.33.2001.160.2",))
    result = read_package(build_sip(tmp_path, spec), tmp_path)
    assert result.errors == []
    (fetched,) = result.of("CK-TT05-FETCH")
    assert fetched.severity is Severity.WARNING
    assert "urn:earchive:aip:H49.64.33.2001.160.2" in fetched.message_en
    assert fetched.document == "H49.64.33.2001.160.2"
    package = result.package
    assert package is not None
    doc = next(d for d in package.documents if d.doc_id == "H49.64.33.2001.160.2")
    assert doc.files[0].role is FileRole.OTHER and doc.files[0].path.endswith(".pdf.fetch.txt")
    assert package.profile_info[f"fetch:{doc.files[0].path}"] == "urn:earchive:aip:H49.64.33.2001.160.2"


def test_broken_metadata_link_is_an_error(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    rep = "representations/rep1/METS.xml"
    files[rep] = files[rep].replace(b'LABEL="MetadataLink/File" DMDID="', b'LABEL="MetadataLink/File" DMDID="x', 1)
    result = read_package(write_folder(files, tmp_path / OBJID), tmp_path)
    assert [f.severity for f in result.of("CK-TT05-LINK-BROKEN")] == [Severity.ERROR]


# ---------------------------------------------------------------- structure errors


def test_missing_root_mets_is_refused_after_the_folder_rules(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    files["mets.xml"] = files.pop("METS.xml")
    result = read_package(write_folder(files, tmp_path / OBJID), tmp_path)
    assert result.rejected is not None and result.rejected.code == "CK-CSIPSTR4-MISSING"
    assert result.rejected.rule == "CSIPSTR4" and "mets.xml" in result.rejected.message_en


def test_malformed_root_mets_is_refused(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    files["METS.xml"] = files["METS.xml"][:-20]
    result = read_package(write_folder(files, tmp_path / OBJID), tmp_path)
    assert result.rejected is not None and result.rejected.code == "CK-XML-MALFORMED"


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (SipSpec(drop_after=("metadata/descriptive/EAD.xml",)), "CK-TT05-REQUIRED-FILE"),
        (SipSpec(extra_representation=True), "CK-TT05-REPRESENTATIONS"),
        (SipSpec(documents=1, drop_after=tuple(f"schemas/{n}" for n in (
            "EAD.xsd", "EAD_doc.xsd", "EAD_pic.xsd", "EAD_media.xsd", "xlink.xsd"))), "CK-TT05-SCHEMAS-EMPTY"),
        (SipSpec(root_href_prefix="../"), "CK-METS-HREF-ESCAPE"),
    ],
    ids=["no EAD.xml", "two representations", "empty schemas", "href escapes"],
)
def test_structure_errors(tmp_path: Path, spec: SipSpec, code: str) -> None:
    result = read_package(build_sip(tmp_path, spec), tmp_path)
    assert result.rejected is None
    found = result.of(code)
    assert found and all(f.severity is Severity.ERROR for f in found)


def test_missing_rep_mets_is_an_error(tmp_path: Path) -> None:
    spec = SipSpec(drop_after=("representations/rep1/METS.xml",))
    result = read_package(build_sip(tmp_path, spec), tmp_path, fixity=True)
    assert "CK-TT05-REQUIRED-FILE" in result.codes(Severity.ERROR)
    assert "CK-FIXITY-MISSING" in result.codes(Severity.ERROR)


def test_undeclared_data_file_is_left_to_fixity(tmp_path: Path) -> None:
    extra = "representations/rep1/data/extra.pdf"
    spec = SipSpec(add_after={extra: b"%PDF-1.7\n%%EOF\n"})
    result = read_package(build_sip(tmp_path, spec), tmp_path, fixity=True)
    assert [f.path for f in result.errors] == [extra]
    assert result.errors[0].code == "CK-FIXITY-UNDECLARED"
    package = result.package
    assert package is not None and package.document_of(extra) is None and len(package.documents) == 3


def test_identifier_and_date_forms(tmp_path: Path) -> None:
    objid = OBJID.lower()
    spec = SipSpec(objid=objid, created="2026-06-12T11:45:37Z")
    result = read_package(build_sip(tmp_path, spec), tmp_path)
    assert result.errors == []
    assert [f.severity for f in result.of("CK-TT05-OBJID-FORM")] == [Severity.WARNING]
    assert {f.severity for f in result.of("CK-TT05-CREATEDATE-FORM")} == {Severity.WARNING}


def test_mets_schema_violation_is_reported(tmp_path: Path) -> None:
    files = build_files(SipSpec())
    files["METS.xml"] = files["METS.xml"].replace(b"<structMap ", b"<bogus/><structMap ", 1)
    result = read_package(write_folder(files, tmp_path / OBJID), tmp_path)
    (invalid,) = result.of("CK-METS-SCHEMA-INVALID")
    assert invalid.path == "METS.xml" and "bogus" in invalid.message_en


def test_plain_csip_package_has_no_dossier(tmp_path: Path) -> None:
    files = build_files(SipSpec(metadata_link=False))
    for path in [p for p in files if "descriptive" in p]:
        files.pop(path)
    files["metadata/descriptive/ead.xml"] = b"<ead xmlns='http://ead3.archivists.org/schema/'/>"
    result = read_package(write_folder(files, tmp_path / OBJID), tmp_path)
    assert result.package is not None
    assert result.package.kind is PackageKind.CSIP and result.package.dossiers == []
    assert [f.severity for f in result.of("CK-TT05-NOT-TT05")] == [Severity.WARNING]


# ---------------------------------------------------------------- finding kinds


def test_every_finding_kind_has_both_messages_and_its_rule() -> None:
    import string

    from archive_core.findings import registry

    mine = {c: k for c, k in registry().items() if c.startswith(("CK-CSIP", "CK-SIP", "CK-TT05-", "CK-METS-"))}
    assert len(mine) > 250
    for code, kind in mine.items():
        vi = {name for _, name, _, _ in string.Formatter().parse(kind.message_vi) if name}
        en = {name for _, name, _, _ in string.Formatter().parse(kind.message_en) if name}
        assert vi == en and kind.message_vi != kind.message_en, code
        assert unicodedata.is_normalized("NFC", kind.message_vi), code
        if code.startswith(("CK-CSIP", "CK-SIP")):
            assert code.startswith(f"CK-{kind.rule}-"), code
        else:
            assert kind.rule in ("R-IN-1", "R-CK-1", "R-CK-5"), code
