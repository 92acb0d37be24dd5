"""METS writer for TT 05/2025 packages built on E-ARK CSIP 2.0.4.

Two documents make a package: the root `METS.xml` (package metadata, schemas,
the representation METS files, PREMIS in an AIP) and one METS per
representation (`representations/rep1/METS.xml`: the documents' metadata
files, their data files and the `MetadataLink/File` divisions that pair them).

Inputs are plain dataclasses holding what was measured about each file (path,
size, SHA-256, MIME type, creation time), so SIP generators and the AIP builder
share one writer. Output is deterministic: identifiers come from an `IdFactory`
(seeded for tests) and every time is given by the caller.

`MetsStyle` holds the spelling choices where the circular and real producers
differ (MDTYPE, checksum case, an empty `amdSec`, a literal `rep1` OBJID); the
default follows the circular, `MetsStyle.real_world()` imitates the published
third-party SIP described in `packages.md`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import cast

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP_NS = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"

CSIP_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
NSMAP: dict[str | None, str] = {
    None: METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS, "csip": CSIP_NS, "sip": SIP_NS,
}

SOFTWARE_VERSION = "SOFTWARE VERSION"
IDENTIFICATIONCODE = "IDENTIFICATIONCODE"


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def _x(attr: str) -> str:
    return f"{{{XLINK_NS}}}{attr}"


def _c(attr: str) -> str:
    return f"{{{CSIP_NS}}}{attr}"


def _s(attr: str) -> str:
    return f"{{{SIP_NS}}}{attr}"


class IdFactory:
    """`uuid-{UUID}` and `ID-{UUID}` identifiers, upper case; reproducible when seeded."""

    def __init__(self, seed: int | str | None = None) -> None:
        self._rng: random.Random = random.SystemRandom() if seed is None else random.Random(seed)

    def raw(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4)).upper()

    def uuid(self) -> str:
        return f"uuid-{self.raw()}"

    def file_id(self) -> str:
        return f"ID-{self.raw()}"



@dataclass(frozen=True)
class SchemaFile:
    """A schema bundled in a package's `schemas/` folder."""

    name: str
    data: bytes
    namespace: str | None = None
    """Target namespace, when a METS document points to the schema (xsi:schemaLocation)."""

@dataclass(frozen=True)
class FileFormat:
    """E-ARK SIP file format attributes (sip:FILEFORMATNAME …), e.g. PDF 1.7 = PRONOM fmt/276."""

    name: str
    version: str | None = None
    registry_key: str | None = None
    registry: str = "PRONOM"


PDF_1_7 = FileFormat("Acrobat PDF 1.7 - Portable Document Format", "1.7", "fmt/276")


@dataclass(frozen=True)
class MetsFile:
    """A file as a METS document declares it (`file` or `mdRef`)."""

    href: str
    """Path relative to the folder of the METS document that declares it."""
    size: int
    sha256: str
    """Lower-case hex; `MetsStyle.uppercase_checksums` changes how it is written."""
    mimetype: str
    created: str
    """ISO 8601 with milliseconds and +07:00 (`timeutil.iso_vn(..., millis=True)`)."""
    other_mdtype: str | None = None
    """For a metadata file that is not the style's kind: written as MDTYPE="OTHER" with this OTHERMDTYPE."""
    format: FileFormat | None = None
    """Identified format of a content file (E-ARK SIP attributes on `file`)."""


@dataclass(frozen=True)
class Agent:
    """`metsHdr/agent`: software (TYPE OTHER / OTHERTYPE SOFTWARE), organisation or person."""

    name: str
    role: str = "CREATOR"
    type: str = "OTHER"
    other_type: str | None = "SOFTWARE"
    notes: tuple[tuple[str | None, str], ...] = ()
    """(csip:NOTETYPE or None, text)."""

    @classmethod
    def software(cls, name: str, version: str) -> Agent:
        return cls(name=name, notes=((SOFTWARE_VERSION, version),))

    @classmethod
    def organisation(cls, name: str, identification_code: str | None, role: str = "CREATOR") -> Agent:
        notes = ((IDENTIFICATIONCODE, identification_code),) if identification_code else ()
        return cls(name=name, role=role, type="ORGANIZATION", other_type=None, notes=notes)


@dataclass(frozen=True)
class MetsHeader:
    created: str
    """CREATEDATE; also used as `dmdSec/@CREATED`."""
    agents: tuple[Agent, ...]
    package_type: str = "SIP"
    """csip:OAISPACKAGETYPE: SIP, AIP or DIP."""
    record_status: str = "NEW"
    last_modified: str | None = None
    submission_agreement: str | None = None
    """altRecordID TYPE="SUBMISSIONAGREEMENT"."""
    reference_code: str | None = None
    """altRecordID TYPE="REFERENCECODE" (E-ARK SIP7): the dossier's code."""


@dataclass(frozen=True)
class MetsStyle:
    """Spelling choices; the defaults follow the TT 05 text and CSIP."""

    mdtype: str = "OTHER"
    other_mdtype: str | None = "EAD"
    mdtype_version: str = "1.0"
    uppercase_checksums: bool = False
    empty_amdsec: bool = False
    """Write `<amdSec ID="…"/>` even when there is no PREMIS (a SIP habit)."""
    representation_objid: str | None = None
    """A literal OBJID for representation METS files (one producer writes `rep1`)."""

    @classmethod
    def real_world(cls) -> MetsStyle:
        """Habits of the published third-party SIP (packages.md §1)."""
        return cls(
            mdtype="DC",
            other_mdtype=None,
            mdtype_version="1.0.0",
            uppercase_checksums=True,
            empty_amdsec=True,
            representation_objid="rep1",
        )


@dataclass(frozen=True)
class RepresentationRef:
    """A representation as the root METS points to it."""

    name: str
    """`rep1`, `rep2` …"""
    mets: MetsFile
    """`representations/<name>/METS.xml`."""
    content_information_type: str = "MIXED"


@dataclass(frozen=True)
class RootMets:
    objid: str
    header: MetsHeader
    descriptive: tuple[MetsFile, ...]
    """`metadata/descriptive/EAD.xml` (and any other descriptive metadata)."""
    schemas: tuple[MetsFile, ...]
    representations: tuple[RepresentationRef, ...]
    preservation: tuple[MetsFile, ...] = ()
    """`metadata/preservation/PREMIS.xml` (AIP)."""
    documentation: tuple[MetsFile, ...] = ()
    type: str = "Mixed"
    """mets/@TYPE: `Mixed` for SIP_hoso, `Collection` for SIP_tailieu."""
    content_information_type: str = "MIXED"
    label: str | None = None
    profile: str = CSIP_PROFILE
    schema_locations: tuple[tuple[str, str], ...] = ()
    """(namespace, location) pairs for xsi:schemaLocation."""


@dataclass(frozen=True)
class DocumentEntry:
    """One document of a representation: its metadata file and its data files."""

    metadata: MetsFile
    """`metadata/descriptive/EAD_doc_<name>.xml`, relative to the representation folder."""
    files: tuple[MetsFile, ...]
    """`data/<name>.pdf` …; the first is the main file, others are attachments."""


@dataclass(frozen=True)
class RepresentationMets:
    objid: str
    header: MetsHeader
    documents: tuple[DocumentEntry, ...]
    name: str = "rep1"
    div_type: str = "ORIGINAL"
    """`ORIGINAL`, or `NORMALIZED` for a representation made by normalisation (AIP)."""
    preservation: tuple[MetsFile, ...] = ()
    """`metadata/preservation/PREMIS_rep1.xml` (AIP)."""
    extra_data: tuple[MetsFile, ...] = ()
    """Data files that belong to no document (declared in the Data group only)."""
    type: str = "Mixed"
    content_information_type: str = "MIXED"
    label: str | None = None
    profile: str = CSIP_PROFILE
    schema_locations: tuple[tuple[str, str], ...] = ()


@dataclass
class _Ids:
    """Identifiers handed out while writing one document (for structMap links)."""

    factory: IdFactory
    dmd: list[str] = field(default_factory=list)
    adm: list[str] = field(default_factory=list)


def write_root_mets(
    mets: RootMets, *, style: MetsStyle | None = None, ids: IdFactory | None = None
) -> bytes:
    style = style or MetsStyle()
    state = _Ids(ids or IdFactory())
    root = _mets_root(
        mets.objid, mets.type, mets.content_information_type, mets.profile, mets.label, mets.schema_locations
    )
    _mets_header(root, mets.header)
    for md in mets.descriptive:
        state.dmd.append(_dmd_sec(root, md, mets.header.created, style, state.factory))
    _amd_sec(root, mets.preservation, mets.header.created, style, state)

    file_sec = etree.SubElement(root, _m("fileSec"), ID=state.factory.uuid())
    schemas_grp = _file_grp(file_sec, "Schemas", mets.schemas, style, state.factory) if mets.schemas else None
    docs_grp = (
        _file_grp(file_sec, "Documentation", mets.documentation, style, state.factory)
        if mets.documentation
        else None
    )
    rep_grps: list[tuple[RepresentationRef, str]] = []
    for rep in mets.representations:
        grp_id = _file_grp(
            file_sec, f"Representations/{rep.name}", (rep.mets,), style, state.factory,
            content_information_type=rep.content_information_type,
        )
        rep_grps.append((rep, grp_id))

    struct = etree.SubElement(
        root, _m("structMap"), ID=state.factory.uuid(), TYPE="PHYSICAL", LABEL="CSIP"
    )
    top = etree.SubElement(struct, _m("div"), ID=state.factory.uuid(), LABEL=mets.objid)
    _metadata_div(top, state)
    if schemas_grp:
        _pointer_div(top, "Schemas", schemas_grp, state.factory)
    if docs_grp:
        _pointer_div(top, "Documentation", docs_grp, state.factory)
    for rep, grp_id in rep_grps:
        div = etree.SubElement(top, _m("div"), ID=state.factory.uuid(), LABEL=f"Representations/{rep.name}")
        etree.SubElement(
            div,
            _m("mptr"),
            {
                "LOCTYPE": "URL",
                _x("type"): "simple",
                _x("href"): rep.mets.href,
                _x("title"): grp_id,
            },
        )
        etree.SubElement(div, _m("fptr"), FILEID=grp_id)
    return _serialise(root)


def write_representation_mets(
    rep: RepresentationMets, *, style: MetsStyle | None = None, ids: IdFactory | None = None
) -> bytes:
    style = style or MetsStyle()
    state = _Ids(ids or IdFactory())
    objid = style.representation_objid or rep.objid
    root = _mets_root(
        objid, rep.type, rep.content_information_type, rep.profile, rep.label, rep.schema_locations
    )
    _mets_header(root, rep.header)
    doc_dmd = [_dmd_sec(root, doc.metadata, rep.header.created, style, state.factory) for doc in rep.documents]
    state.dmd.extend(doc_dmd)
    _amd_sec(root, rep.preservation, rep.header.created, style, state)

    file_sec = etree.SubElement(root, _m("fileSec"), ID=state.factory.uuid())
    data_grp = etree.SubElement(file_sec, _m("fileGrp"), ID=state.factory.uuid(), USE="Data")
    doc_files = [[_file(data_grp, f, style, state.factory) for f in doc.files] for doc in rep.documents]
    for extra in rep.extra_data:
        _file(data_grp, extra, style, state.factory)

    struct = etree.SubElement(
        root, _m("structMap"), ID=state.factory.uuid(), TYPE="PHYSICAL", LABEL="CSIP"
    )
    top = etree.SubElement(struct, _m("div"), ID=state.factory.uuid(), LABEL=rep.name, TYPE=rep.div_type)
    _metadata_div(top, state)
    _pointer_div(top, "Data", data_grp.get("ID", ""), state.factory)
    link = etree.SubElement(top, _m("div"), ID=state.factory.uuid(), LABEL="MetadataLink")
    for dmd_id, file_ids in zip(doc_dmd, doc_files, strict=True):
        pair = etree.SubElement(
            link, _m("div"), ID=state.factory.uuid(), LABEL="MetadataLink/File", DMDID=dmd_id
        )
        for file_id in file_ids:
            etree.SubElement(pair, _m("fptr"), FILEID=file_id)
    return _serialise(root)


def _mets_root(
    objid: str,
    type_: str,
    content_information_type: str,
    profile: str,
    label: str | None,
    schema_locations: tuple[tuple[str, str], ...],
) -> etree._Element:
    root = etree.Element(_m("mets"), nsmap=cast("dict[str, str]", NSMAP))  # None = default namespace
    root.set("OBJID", objid)
    if label:
        root.set("LABEL", label)
    root.set("TYPE", type_)
    root.set(_c("CONTENTINFORMATIONTYPE"), content_information_type)
    root.set("PROFILE", profile)
    if schema_locations:
        root.set(f"{{{XSI_NS}}}schemaLocation", " ".join(f"{ns} {loc}" for ns, loc in schema_locations))
    return root


def _mets_header(root: etree._Element, header: MetsHeader) -> None:
    hdr = etree.SubElement(root, _m("metsHdr"), CREATEDATE=header.created)
    if header.last_modified:
        hdr.set("LASTMODDATE", header.last_modified)
    hdr.set("RECORDSTATUS", header.record_status)
    hdr.set(_c("OAISPACKAGETYPE"), header.package_type)
    for agent in header.agents:
        node = etree.SubElement(hdr, _m("agent"), ROLE=agent.role, TYPE=agent.type)
        if agent.other_type is not None:
            node.set("OTHERTYPE", agent.other_type)
        etree.SubElement(node, _m("name")).text = agent.name
        for note_type, text in agent.notes:
            note = etree.SubElement(node, _m("note"))
            if note_type:
                note.set(_c("NOTETYPE"), note_type)
            note.text = text
    for kind, value in (("SUBMISSIONAGREEMENT", header.submission_agreement), ("REFERENCECODE", header.reference_code)):
        if value:
            etree.SubElement(hdr, _m("altRecordID"), TYPE=kind).text = value


def _checksum(value: str, style: MetsStyle) -> str:
    return value.upper() if style.uppercase_checksums else value.lower()


def _md_ref(parent: etree._Element, md: MetsFile, style: MetsStyle, *, premis: bool = False) -> None:
    attrs = {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): md.href}
    if premis:
        attrs.update(MDTYPE="PREMIS", MDTYPEVERSION="3.0")
    elif md.other_mdtype:
        attrs.update(MDTYPE="OTHER", OTHERMDTYPE=md.other_mdtype, MDTYPEVERSION="1.0")
    else:
        attrs["MDTYPE"] = style.mdtype
        if style.mdtype == "OTHER" and style.other_mdtype:
            attrs["OTHERMDTYPE"] = style.other_mdtype
        attrs["MDTYPEVERSION"] = style.mdtype_version
    attrs.update(
        MIMETYPE=md.mimetype,
        SIZE=str(md.size),
        CREATED=md.created,
        CHECKSUM=_checksum(md.sha256, style),
        CHECKSUMTYPE="SHA-256",
    )
    etree.SubElement(parent, _m("mdRef"), attrs)


def _dmd_sec(
    root: etree._Element, md: MetsFile, created: str, style: MetsStyle, ids: IdFactory
) -> str:
    dmd_id = ids.uuid()
    sec = etree.SubElement(root, _m("dmdSec"), ID=dmd_id, CREATED=created, STATUS="CURRENT")
    _md_ref(sec, md, style)
    return dmd_id


def _amd_sec(
    root: etree._Element, preservation: tuple[MetsFile, ...], created: str, style: MetsStyle, state: _Ids
) -> None:
    if not preservation:
        if style.empty_amdsec:
            etree.SubElement(root, _m("amdSec"), ID=state.factory.uuid())
        return
    amd = etree.SubElement(root, _m("amdSec"), ID=state.factory.uuid())
    for md in preservation:
        md_id = state.factory.uuid()
        digiprov = etree.SubElement(amd, _m("digiprovMD"), ID=md_id, CREATED=created, STATUS="CURRENT")
        _md_ref(digiprov, md, style, premis=True)
        state.adm.append(md_id)


def _file_grp(
    file_sec: etree._Element,
    use: str,
    files: tuple[MetsFile, ...],
    style: MetsStyle,
    ids: IdFactory,
    *,
    content_information_type: str | None = None,
) -> str:
    grp_id = ids.uuid()
    grp = etree.SubElement(file_sec, _m("fileGrp"), ID=grp_id, USE=use)
    if content_information_type:
        grp.set(_c("CONTENTINFORMATIONTYPE"), content_information_type)
    for f in files:
        _file(grp, f, style, ids)
    return grp_id


def _file(grp: etree._Element, f: MetsFile, style: MetsStyle, ids: IdFactory) -> str:
    file_id = ids.file_id()
    node = etree.SubElement(
        grp,
        _m("file"),
        ID=file_id,
        MIMETYPE=f.mimetype,
        SIZE=str(f.size),
        CREATED=f.created,
        CHECKSUM=_checksum(f.sha256, style),
        CHECKSUMTYPE="SHA-256",
    )
    if f.format is not None:
        node.set(_s("FILEFORMATNAME"), f.format.name)
        if f.format.version:
            node.set(_s("FILEFORMATVERSION"), f.format.version)
        if f.format.registry_key:
            node.set(_s("FILEFORMATREGISTRY"), f.format.registry)
            node.set(_s("FILEFORMATKEY"), f.format.registry_key)
    etree.SubElement(
        node, _m("FLocat"), {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): f.href}
    )
    return file_id


def _metadata_div(top: etree._Element, state: _Ids) -> None:
    if not state.dmd and not state.adm:
        return
    div = etree.SubElement(top, _m("div"), ID=state.factory.uuid(), LABEL="Metadata")
    if state.dmd:
        div.set("DMDID", " ".join(state.dmd))
    if state.adm:
        div.set("ADMID", " ".join(state.adm))


def _pointer_div(top: etree._Element, label: str, grp_id: str, ids: IdFactory) -> None:
    div = etree.SubElement(top, _m("div"), ID=ids.uuid(), LABEL=label)
    etree.SubElement(div, _m("fptr"), FILEID=grp_id)


def _serialise(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
