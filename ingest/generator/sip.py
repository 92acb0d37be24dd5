"""Write a generated dossier as a TT 05/2025 SIP (SIP_hoso or SIP_tailieu).

```
<OBJID>/METS.xml
<OBJID>/metadata/descriptive/EAD.xml
<OBJID>/metadata/descriptive/earchive-extension.xml     values TT 05 cannot hold (our own SIPs only)
<OBJID>/representations/rep1/METS.xml
<OBJID>/representations/rep1/metadata/descriptive/EAD_doc_<stem>.xml
<OBJID>/representations/rep1/data/<stem>.pdf
<OBJID>/schemas/EAD.xsd, EAD_doc.xsd, EAD_pic.xsd, EAD_media.xsd (+ METS.xsd and the CSIP extensions)
```

As a ZIP it is named `[sequence][OBJID].zip` (TT 05 Phụ lục III) with the
`<OBJID>/` folder inside; as a folder the returned path is the `<OBJID>` folder.
With `Fault.REAL_WORLD_DEVIATIONS` the package imitates the published
third-party SIP (packages.md §1): the ZIP is named by a lower-case GUID, names
and METS spelling follow that producer, EAD elements come in shuffled order and
there is no earchive extension.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from archive_core.model import DossierKind
from archive_core.premis import software_version
from archive_core.profiles import tt05
from archive_core.profiles.mets import (
    IDENTIFICATIONCODE,
    PDF_1_7,
    Agent,
    DocumentEntry,
    IdFactory,
    MetsFile,
    MetsHeader,
    MetsStyle,
    RepresentationMets,
    RepresentationRef,
    RootMets,
    write_representation_mets,
    write_root_mets,
)
from ingest.generator.archive import PackageWriter, open_writer
from ingest.generator.faults import Fault, FaultOptions, apply_model_faults, check_supported
from ingest.generator.model import GeneratedDossier, GeneratedFile
from ingest.generator.schemas import sip_schemas

REP = "representations/rep1"
UNDECLARED_NAME = "ghi-chu-bo-sung.txt"
UNDECLARED_TEXT = "Ghi chú bổ sung của văn thư: tệp này không được khai báo trong METS.\n".encode()


@dataclass(frozen=True)
class _Spelling:
    """Names and values that differ between the circular and the real-world producer."""

    style: MetsStyle
    metadata_mime: str
    schema_mime: str
    doc_prefix: str
    shuffle: bool
    extension: bool

    @classmethod
    def of(cls, real_world: bool) -> _Spelling:
        if real_world:
            return cls(MetsStyle.real_world(), "application/xml", "application/octet-stream", "EAD_DOC_", True, False)
        return cls(MetsStyle(), "text/xml", "application/xml", "EAD_doc_", False, True)


@dataclass
class _Entry:
    """A file to put in the package and how the METS declares it."""

    path: str
    size: int
    sha256: str
    mimetype: str
    created: str
    data: bytes | None = None
    source: GeneratedFile | None = None

    other_mdtype: str | None = None

    def declared(self, href: str) -> MetsFile:
        pdf = self.source is not None and self.source.spec is not None
        return MetsFile(
            href, self.size, self.sha256, self.mimetype, self.created, self.other_mdtype, PDF_1_7 if pdf else None
        )


def _xml_entry(path: str, data: bytes, mimetype: str, created: str) -> _Entry:
    return _Entry(path, len(data), hashlib.sha256(data).hexdigest(), mimetype, created, data=data)


@dataclass
class _Package:
    """Everything one SIP holds, ready to be written."""

    objid: str
    root_mets: bytes
    files: list[_Entry]


def write_sip(
    generated: GeneratedDossier,
    out_dir: Path,
    *,
    as_zip: bool = True,
    faults: Iterable[Fault] = (),
    sequence: int = 1,
    options: FaultOptions | None = None,
    shared: Path | None = None,
) -> Path:
    """Write the SIP; returns the ZIP file or the package folder (replaced when it exists)."""
    chosen = check_supported(faults, "tt05")
    options = options or FaultOptions()
    g = apply_model_faults(generated, chosen, options)
    real = Fault.REAL_WORLD_DEVIATIONS in chosen
    # The same dossier with other faults is another package: another OBJID.
    ids = IdFactory(f"tt05:{g.seed}:{sequence}:{g.dossier.file_code}:{','.join(sorted(chosen))}")
    package = _build(g, chosen, options, ids, sequence, shared)
    name = package.objid
    if as_zip:
        name = f"{ids.raw().lower()}.zip" if real else f"{sequence}{package.objid}.zip"
    target = out_dir / name
    writer = open_writer(target, "zip" if as_zip else "folder", package.objid, g.created)
    try:
        writer.add_bytes("METS.xml", package.root_mets)
        for entry in package.files:
            _write(writer, entry)
    finally:
        writer.close()
    return target


def _build(
    g: GeneratedDossier, faults: list[Fault], options: FaultOptions, ids: IdFactory, sequence: int, shared: Path | None
) -> _Package:
    real = Fault.REAL_WORLD_DEVIATIONS in faults
    spell = _Spelling.of(real)
    objid = ids.uuid()
    tailieu = g.kind is DossierKind.TAILIEU
    variant = tt05.Tt05Variant.SIP_TAILIEU if tailieu else tt05.Tt05Variant.SIP_HOSO
    mets_type = "Collection" if tailieu else "Mixed"
    created = g.created_iso
    shuffle_rng = random.Random(g.seed)

    def ead(data: bytes) -> bytes:
        return _shuffled(data, shuffle_rng) if spell.shuffle else data

    data_entries, documents = _documents(g, faults, options, spell, variant, ead)
    schema_files = sip_schemas(tailieu=tailieu, real_world=real, shared=shared)
    schemas = [_xml_entry(f"schemas/{s.name}", s.data, spell.schema_mime, created) for s in schema_files]
    locations = tuple((s.namespace, f"schemas/{s.name}") for s in schema_files if s.namespace)

    fonds_code = (g.dossier.fonds.organ_id if g.dossier.fonds else None) or g.agency.code
    org_agent = Agent.organisation(g.agency.name, fonds_code)
    software = Agent.software("earchive", software_version())
    rep_agents = (Agent(name="cvlt", type="INDIVIDUAL", other_type=""),) if real else (software, org_agent)
    rep = RepresentationMets(
        # CSIP1: a representation METS is identified by its folder name (TT 05's text suggests a uuid;
        # CSIP86 then wants the top division labelled with it, which TT 05 labels "rep1").
        objid="rep1",
        header=MetsHeader(created=created, agents=rep_agents, last_modified=created),
        documents=tuple(documents),
        type=mets_type,
        schema_locations=tuple((ns, f"../../{loc}") for ns, loc in locations),
    )
    rep_entry = _xml_entry(
        f"{REP}/METS.xml", write_representation_mets(rep, style=spell.style, ids=ids), "application/xml", created
    )

    dossier_ead = ead(tt05.dossier_to_ead(g.dossier, variant))
    descriptive = [_xml_entry("metadata/descriptive/EAD.xml", dossier_ead, spell.metadata_mime, created)]
    extension = tt05.extension_to_xml(g.dossier, variant) if spell.extension else None
    if extension is not None:
        entry = _xml_entry(tt05.EXTENSION_PATH, extension, spell.metadata_mime, created)
        entry.other_mdtype = "earchive-tt05-extension"
        descriptive.append(entry)

    if real:
        # That producer names only itself and the fonds code, and puts the file code in altRecordID.
        root_agents: tuple[Agent, ...] = (Agent(name="earchive", notes=((IDENTIFICATIONCODE, fonds_code),)),)
        agreement = g.dossier.file_code
    else:
        root_agents = (software, org_agent)
        agreement = f"NL-{g.agency.code}-{g.created.year}-{sequence:03d}"
    root = RootMets(
        objid=objid,
        header=MetsHeader(
            created=created,
            agents=root_agents,
            last_modified=created,
            submission_agreement=agreement,
            reference_code=None if real else g.dossier.file_code,
        ),
        descriptive=tuple(e.declared(e.path) for e in descriptive),
        schemas=tuple(e.declared(e.path) for e in schemas),
        representations=(RepresentationRef("rep1", rep_entry.declared(rep_entry.path)),),
        type=mets_type,
        label=g.dossier.title or None,
        schema_locations=locations,
    )
    root_mets = write_root_mets(root, style=spell.style, ids=ids)
    return _Package(objid, root_mets, [*descriptive, *schemas, rep_entry, *data_entries])


def _documents(
    g: GeneratedDossier,
    faults: list[Fault],
    options: FaultOptions,
    spell: _Spelling,
    variant: tt05.Tt05Variant,
    ead: Callable[[bytes], bytes],
) -> tuple[list[_Entry], list[DocumentEntry]]:
    """Each document's EAD and files, and how the representation METS declares them."""
    created = g.created_iso
    victim = g.documents[min(options.victim, len(g.documents) - 1)] if g.documents else None
    entries: list[_Entry] = []
    documents: list[DocumentEntry] = []
    for generated_doc in g.documents:
        meta = _xml_entry(
            f"{REP}/metadata/descriptive/{spell.doc_prefix}{generated_doc.stem}.xml",
            ead(_override(tt05.document_to_ead(generated_doc.document, variant, dossier=g.dossier),
                          generated_doc.ead_overrides)),
            spell.metadata_mime,
            created,
        )
        entries.append(meta)
        declared_files: list[MetsFile] = []
        for file in generated_doc.files:
            entry = _Entry(f"{REP}/data/{file.name}", file.size, file.sha256, file.mimetype, file.created, source=file)
            declared = entry.declared(_relative(entry.path, REP))
            is_victim = generated_doc is victim and file is generated_doc.files[0]
            if is_victim:
                declared = _declaration_faults(declared, faults)
            declared_files.append(declared)
            if not (is_victim and Fault.MISSING_FILE in faults):
                entries.append(entry)
        documents.append(DocumentEntry(meta.declared(_relative(meta.path, REP)), tuple(declared_files)))
    if Fault.UNDECLARED_FILE in faults:
        # At the package root, where it breaks nothing but fixity: in data/ a reader takes it for a
        # document without metadata, in documentation/ CSIP also wants a Documentation group.
        entries.append(_xml_entry(UNDECLARED_NAME, UNDECLARED_TEXT, "text/plain", created))
    return entries, documents


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1 :] if path.startswith(base + "/") else path


def _declaration_faults(declared: MetsFile, faults: list[Fault]) -> MetsFile:
    sha, size, mime = declared.sha256, declared.size, declared.mimetype
    if Fault.WRONG_CHECKSUM in faults:
        sha = _flip(sha)
    if Fault.WRONG_SIZE in faults:
        size += 1
    if Fault.WRONG_MIMETYPE in faults:
        mime = "image/jpeg"
    return replace(declared, size=size, sha256=sha, mimetype=mime)


def _flip(hex_digest: str) -> str:
    last = hex_digest[-1]
    return hex_digest[:-1] + ("0" if last != "0" else "1")


def _write(writer: PackageWriter, entry: _Entry) -> None:
    if entry.data is not None:
        writer.add_bytes(entry.path, entry.data, compress=True)
        return
    assert entry.source is not None
    digest = writer.add_stream(entry.path, entry.source.chunks(), entry.size, compress=False)
    if digest != entry.sha256:
        raise RuntimeError(f"{entry.path}: rendered bytes changed between hashing and writing")


def _override(data: bytes, values: dict[str, str]) -> bytes:
    """Put raw values into a `<simpledc>` (the profile writer maps unlisted codes to "Khác")."""
    if not values:
        return data
    root = etree.fromstring(data)
    for child in root:
        if child.tag in values:
            child.text = values[child.tag]
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _shuffled(data: bytes, rng: random.Random) -> bytes:
    """The same `<simpledc>` with its elements in another order (the schemas use xs:all)."""
    root = etree.fromstring(data)
    children = list(root)
    rng.shuffle(children)
    root.text = None
    for child in children:
        root.remove(child)
        child.tail = None
    for child in children:
        root.append(child)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
