"""Descriptive and structural metadata of the AIP: TT 05 EAD, Circular 02 XML, METS.

Every metadata file is written from the parsed model (`archive_core.model`),
never copied from the submission, so an AIP made from a TT 05 SIP and one made
from a Circular 02 bag of the same dossier carry the same descriptions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from archive_core.model import DossierKind
from archive_core.premis import software_version
from archive_core.profiles import circular02, tt05
from archive_core.profiles.mets import (
    Agent,
    DocumentEntry,
    FileFormat,
    IdFactory,
    MetsFile,
    MetsHeader,
    RepresentationMets,
    RepresentationRef,
    RootMets,
    SchemaFile,
    write_representation_mets,
    write_root_mets,
)
from preservation.aip.bag import Written
from preservation.aip.plan import (
    C02_DOCUMENTS,
    C02_DOSSIER,
    COPIES,
    ORIGINALS,
    REPRESENTATIONS,
    Plan,
    PlannedDocument,
    PlannedFile,
)

AIP_PROFILE = "https://earkaip.dilcis.eu/profile/E-ARK-AIP.xml"
"""Root METS PROFILE of an AIP (TT 05: it differs from the SIP's); representation METS keep the CSIP profile."""
XML_MIME = "text/xml"
SCHEMA_MIME = "application/xml"
EAD_PATH = "metadata/descriptive/EAD.xml"
PREMIS_PATH = "metadata/preservation/PREMIS.xml"
C02_MDTYPE = "earchive-circular02"
EXTENSION_MDTYPE = "earchive-tt05-extension"


@dataclass(frozen=True)
class MetadataFile:
    target: str
    """Path in the TT 05 tree."""
    data: bytes
    mimetype: str = XML_MIME
    other_mdtype: str | None = None


def rep_dir(name: str) -> str:
    return f"{REPRESENTATIONS}/{name}"


def ead_doc_path(rep: str, document: PlannedDocument) -> str:
    return f"{rep_dir(rep)}/metadata/descriptive/{document.ead_name}"


def rep_premis_path(rep: str) -> str:
    return f"{rep_dir(rep)}/metadata/preservation/PREMIS_{rep}.xml"


# ---------------------------------------------------------------- descriptive


def descriptive_files(plan: Plan) -> list[MetadataFile]:
    """EAD.xml, the earchive extension (when TT 05 cannot hold every value) and each document's EAD,
    in rep1 and, for documents with preservation copies, again in rep2 (each representation is
    self-contained)."""
    files = [MetadataFile(EAD_PATH, tt05.dossier_to_ead(plan.dossier, plan.variant))]
    extension = tt05.extension_to_xml(plan.dossier, plan.variant)
    if extension is not None:
        files.append(MetadataFile(tt05.EXTENSION_PATH, extension, other_mdtype=EXTENSION_MDTYPE))
    for document in plan.documents:
        ead = tt05.document_to_ead(document.document, plan.variant, dossier=plan.dossier)
        files.append(MetadataFile(ead_doc_path(ORIGINALS, document), ead))
        if document.copies:
            files.append(MetadataFile(ead_doc_path(COPIES, document), ead))
    return files


def circular02_files(plan: Plan) -> list[MetadataFile]:
    """The Circular 02 XML of the earchive BagIt profile: `metadata/dossier.xml` and one file per document
    listing its originals by their path relative to the bag's `data/` folder."""
    dossier = copy.deepcopy(plan.dossier)
    files = [MetadataFile(C02_DOSSIER, circular02.dossier_to_xml(dossier), other_mdtype=C02_MDTYPE)]
    for planned, doc in zip(plan.documents, dossier.documents, strict=True):
        for ref in doc.files:
            ref.path = plan.by_submitted[ref.path]
        target = f"{C02_DOCUMENTS}/{planned.c02_stem}.xml"
        files.append(MetadataFile(target, circular02.document_to_xml(doc), other_mdtype=C02_MDTYPE))
    return files


def schema_files(schemas: Sequence[SchemaFile]) -> list[MetadataFile]:
    return [MetadataFile(f"schemas/{s.name}", s.data, SCHEMA_MIME) for s in schemas]


# ---------------------------------------------------------------- METS

Lookup = Callable[[str], Written]
"""Size and SHA-256 of a file already written, by its path in the TT 05 tree."""


@dataclass(frozen=True)
class MetsContext:
    plan: Plan
    aip_id: str
    created: str
    """ISO 8601 with milliseconds and +07:00."""
    agency_name: str | None
    agency_code: str | None
    reference_code: str | None
    written: Lookup


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base and path.startswith(base + "/") else path


def _declared(ctx: MetsContext, path: str, base: str, mimetype: str, *, created: str | None = None,
              other_mdtype: str | None = None, file_format: FileFormat | None = None) -> MetsFile:
    written = ctx.written(path)
    return MetsFile(
        _relative(path, base), written.size, written.sha256, mimetype, created or ctx.created, other_mdtype,
        file_format,
    )


def _file_format(planned: PlannedFile) -> FileFormat | None:
    fmt = planned.format
    if fmt is None or not fmt.name:
        return None
    return FileFormat(fmt.name, fmt.version, fmt.puid)


def _content(ctx: MetsContext, planned: PlannedFile, base: str) -> MetsFile:
    return _declared(ctx, planned.target, base, planned.mimetype, created=planned.created,
                     file_format=_file_format(planned))


def _agents(ctx: MetsContext) -> tuple[Agent, ...]:
    agents = [Agent.software("earchive", software_version())]
    fonds = ctx.plan.dossier.fonds
    code = (fonds.organ_id if fonds else None) or ctx.plan.dossier.organ_id or ctx.agency_code
    if ctx.agency_name:
        agents.append(Agent.organisation(ctx.agency_name, code, role="IPOWNER"))
    return tuple(agents)


def _header(ctx: MetsContext) -> MetsHeader:
    return MetsHeader(
        created=ctx.created,
        agents=_agents(ctx),
        package_type="AIP",
        last_modified=ctx.created,
        reference_code=ctx.reference_code,
    )


def _mets_type(plan: Plan) -> str:
    return "Collection" if plan.dossier.kind is DossierKind.TAILIEU else "Mixed"


def _schema_locations(schemas: Sequence[SchemaFile], prefix: str) -> tuple[tuple[str, str], ...]:
    return tuple((s.namespace, f"{prefix}schemas/{s.name}") for s in schemas if s.namespace)


def representation_mets(
    ctx: MetsContext, rep: str, schemas: Sequence[SchemaFile], extra_data: Sequence[PlannedFile] = ()
) -> bytes:
    """`representations/<rep>/METS.xml`: each document's EAD paired with its files (rep1: originals,
    rep2: preservation copies, root division TYPE="NORMALIZED")."""
    base = rep_dir(rep)
    entries = []
    for document in ctx.plan.documents:
        files = document.originals if rep == ORIGINALS else document.copies
        if rep == COPIES and not files:
            continue
        metadata = _declared(ctx, ead_doc_path(rep, document), base, XML_MIME)
        entries.append(DocumentEntry(metadata, tuple(_content(ctx, f, base) for f in files)))
    mets = RepresentationMets(
        objid=rep,
        header=_header(ctx),
        documents=tuple(entries),
        name=rep,
        div_type="ORIGINAL" if rep == ORIGINALS else "NORMALIZED",
        preservation=(_declared(ctx, rep_premis_path(rep), base, XML_MIME),),
        extra_data=tuple(_content(ctx, f, base) for f in extra_data),
        type=_mets_type(ctx.plan),
        label=ctx.plan.dossier.title or None,
        schema_locations=_schema_locations(schemas, "../../"),
    )
    return write_representation_mets(mets, ids=IdFactory(f"{ctx.aip_id}:{rep}"))


def root_mets(
    ctx: MetsContext,
    descriptive: Sequence[MetadataFile],
    schemas: Sequence[SchemaFile],
    representations: Sequence[str],
) -> bytes:
    """The root `METS.xml`: package metadata (EAD, extension, Circular 02 XML), PREMIS, schemas,
    documentation and one pointer per representation METS."""
    package_level = [m for m in descriptive if not m.target.startswith(REPRESENTATIONS + "/")]
    mets = RootMets(
        objid=ctx.aip_id,
        header=_header(ctx),
        descriptive=tuple(
            _declared(ctx, m.target, "", m.mimetype, other_mdtype=m.other_mdtype) for m in package_level
        ),
        schemas=tuple(_declared(ctx, f"schemas/{s.name}", "", SCHEMA_MIME) for s in schemas),
        representations=tuple(
            RepresentationRef(rep, _declared(ctx, f"{rep_dir(rep)}/METS.xml", "", "application/xml"))
            for rep in representations
        ),
        preservation=(_declared(ctx, PREMIS_PATH, "", XML_MIME),),
        documentation=tuple(_content(ctx, f, "") for f in ctx.plan.documentation),
        type=_mets_type(ctx.plan),
        label=ctx.plan.dossier.title or None,
        profile=AIP_PROFILE,
        schema_locations=_schema_locations(schemas, ""),
    )
    return write_root_mets(mets, ids=IdFactory(f"{ctx.aip_id}:root"))
