"""Where every file of the submission goes in the AIP, decided before anything is written.

Paths here are relative to the TT 05 tree, which is the bag's `data/` folder:

```
representations/rep1/data/<name>       originals (the documents' files), named as submitted
representations/rep2/data/<name>       preservation copies (R-ST-5), when migration made any
documentation/<name>                   other content the submitter sent (BagIt payload outside the
                                       profile layout, TT 05 documentation/)
```

The submission's own metadata (METS, EAD, Circular 02 XML, schemas, BagIt tag
files) is not copied: the AIP writes its metadata afresh from the parsed model,
and PREMIS keeps the gate's events about the submitted files.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from archive_core.model import Document, Dossier, DossierKind, FileRef, FileRole
from archive_core.profiles import tt05
from ingest.package import FormatId, ObservedFile, PackageKind, ParsedPackage
from preservation.aip.model import AipError, DerivedFile

REPRESENTATIONS = "representations"
ORIGINALS = "rep1"
COPIES = "rep2"
DOCUMENTATION = "documentation"
C02_DOSSIER = "metadata/dossier.xml"
C02_DOCUMENTS = "metadata/documents"

_BAGIT_KINDS = frozenset({PackageKind.BAGIT, PackageKind.BAGIT_C02})
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class PlannedFile:
    """A content file to copy into the AIP."""

    target: str
    """Path in the TT 05 tree (`representations/rep1/data/x.pdf`)."""
    source: Path
    """Local file holding the bytes (the gate's staged copy, or the preservation copy)."""
    role: FileRole
    submitted: str
    """Package path in the submission; for a preservation copy, the path of its original."""
    size: int | None
    sha256: str | None
    """What the bytes must hash to (the gate's observation); None for a copy of unknown hash."""
    mimetype: str
    format: FormatId | None
    created: str | None
    derived: DerivedFile | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.target).name


@dataclass
class PlannedDocument:
    document: Document
    ead_name: str
    """`EAD_doc_<name>.xml` (or EAD_pic_, EAD_media_)."""
    c02_stem: str
    """Name of the Circular 02 document XML (`metadata/documents/<stem>.xml`)."""
    originals: list[PlannedFile] = field(default_factory=list)
    copies: list[PlannedFile] = field(default_factory=list)


@dataclass
class Plan:
    dossier: Dossier
    variant: tt05.Tt05Variant
    documents: list[PlannedDocument]
    extra_data: list[PlannedFile]
    """Content files under a data folder that no document lists (kept in rep1, declared in METS)."""
    documentation: list[PlannedFile]
    by_submitted: dict[str, str]
    """Submission path → path in the TT 05 tree, for every original and documentation file."""

    @property
    def originals(self) -> list[PlannedFile]:
        return [f for d in self.documents for f in d.originals] + self.extra_data

    @property
    def copies(self) -> list[PlannedFile]:
        return [f for d in self.documents for f in d.copies]

    @property
    def content(self) -> list[PlannedFile]:
        return [*self.originals, *self.copies, *self.documentation]


class _Names:
    """Hands out target paths that differ from each other even on case-insensitive file systems."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, folder: str, relative: str) -> str:
        path = PurePosixPath(relative)
        stem, suffix = path.stem, path.suffix
        parent = "" if str(path.parent) == "." else f"{path.parent}/"
        candidate = f"{folder}/{relative}"
        number = 1
        while candidate.casefold() in self.used:
            number += 1
            candidate = f"{folder}/{parent}{stem}-{number}{suffix}"
        self.used.add(candidate.casefold())
        return candidate

    def unique(self, name: str) -> str:
        """A file name unique among those this instance handed out (one flat folder)."""
        return PurePosixPath(self.take(".", name)).name


def variant_for(dossier: Dossier) -> tt05.Tt05Variant:
    return tt05.Tt05Variant.AIP_TAILIEU if dossier.kind is DossierKind.TAILIEU else tt05.Tt05Variant.AIP_HOSO


def make_plan(
    package: ParsedPackage, observed: dict[str, ObservedFile], copies: Sequence[DerivedFile]
) -> Plan:
    if len(package.dossiers) != 1:
        raise AipError(f"an AIP holds exactly one dossier; the package has {len(package.dossiers)}")
    dossier = package.dossiers[0]
    variant = variant_for(dossier)
    names = _Names()
    c02_names = _Names()
    ead_names = _Names()
    documents: list[PlannedDocument] = []
    by_submitted: dict[str, str] = {}
    for doc in dossier.documents:
        ead_stem = tt05.document_file_stem(doc, variant, dossier)
        planned = PlannedDocument(
            document=doc,
            ead_name=ead_names.unique(f"{ead_stem}.xml"),
            c02_stem=PurePosixPath(c02_names.unique(f"{_c02_stem(doc)}.xml")).stem,
        )
        for ref in doc.files:
            if ref.path in by_submitted:
                continue  # a file two documents list is stored once, under the first
            original = _original(ref, observed, names)
            by_submitted[ref.path] = original.target
            planned.originals.append(original)
        documents.append(planned)
    extra, documentation = _leftovers(package, observed, set(by_submitted), names)
    for item in (*extra, *documentation):
        by_submitted[item.submitted] = item.target
    _place_copies(documents, copies, names)
    return Plan(dossier, variant, documents, extra, documentation, by_submitted)


def _c02_stem(doc: Document) -> str:
    """The stem of the submitted Circular 02 document XML when there was one, else of its main file."""
    if doc.metadata_path and doc.metadata_path.startswith("data/metadata/documents/"):
        return PurePosixPath(doc.metadata_path).stem
    if doc.files:
        return PurePosixPath(doc.files[0].path).stem
    return _UNSAFE_NAME.sub("_", doc.key) or "document"


def _relative_data_name(path: str) -> str:
    """The name under the submission's data folder (`data/files/`, `[data/]representations/<rep>/data/`)."""
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "data" and parts[1] == "files":
        return "/".join(parts[2:])
    if parts[0] == "data" and len(parts) > 1 and parts[1] == REPRESENTATIONS:
        parts = parts[1:]
    if len(parts) > 3 and parts[0] == REPRESENTATIONS and parts[2] == "data":
        return "/".join(parts[3:])
    return parts[-1]


def _documentation_name(path: str) -> str:
    parts = path.split("/")
    if parts[0] == "data" and len(parts) > 1:
        parts = parts[1:]
    if parts[0] == DOCUMENTATION and len(parts) > 1:
        parts = parts[1:]
    return "/".join(parts)


def _staged(path: str, observed: dict[str, ObservedFile]) -> tuple[ObservedFile, Path]:
    found = observed.get(path)
    if found is None:
        raise AipError(f"{path}: the gate did not observe this file")
    if found.staged_path is None:
        raise AipError(
            f"{path}: no staged copy; run the gate with GateOptions(stage_files=True, keep_staging=True)"
        )
    return found, Path(found.staged_path)


def _mimetype(declared: str | None, fmt: FormatId | None, name: str) -> str:
    if fmt is not None and fmt.mime and fmt.mime != "application/octet-stream":
        return fmt.mime
    return declared or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _original(ref: FileRef, observed: dict[str, ObservedFile], names: _Names) -> PlannedFile:
    found, local = _staged(ref.path, observed)
    target = names.take(f"{REPRESENTATIONS}/{ORIGINALS}/data", _relative_data_name(ref.path))
    return PlannedFile(
        target=target,
        source=local,
        role=FileRole.ORIGINAL,
        submitted=ref.path,
        size=found.size,
        sha256=found.checksums.get("sha256"),
        mimetype=_mimetype(ref.mimetype, found.format, ref.path),
        format=found.format,
        created=ref.created,
    )


def _leftover_kind(package: ParsedPackage, path: str) -> str | None:
    """`data` (content under a data folder), `documentation`, or None (the submission's own metadata)."""
    parts = path.split("/")
    if package.kind in _BAGIT_KINDS:
        if len(parts) == 1 or parts[0] != "data" or parts[1] == "metadata":
            return None  # tag files, Circular 02 XML (and an exported AIP's EAD and PREMIS)
        if parts[1] == "files":
            return "data"
        parts = parts[1:]  # the payload may hold a TT 05 tree: an exported earchive AIP
    if parts[0] in ("metadata", "schemas") or parts == ["METS.xml"]:
        return None
    if parts[0] == REPRESENTATIONS and len(parts) > 2:
        if parts[2] == "data":
            return "data"
        if parts[2] in ("metadata", "schemas") or parts[2:] == ["METS.xml"]:
            return None
    return DOCUMENTATION


def _leftovers(
    package: ParsedPackage, observed: dict[str, ObservedFile], taken: set[str], names: _Names
) -> tuple[list[PlannedFile], list[PlannedFile]]:
    metadata = {d.metadata_path for d in package.dossiers} | {d.metadata_path for d in package.documents}
    extra: list[PlannedFile] = []
    documentation: list[PlannedFile] = []
    for path in sorted(observed):
        kind = _leftover_kind(package, path)
        if path in taken or path in metadata or kind is None:
            continue
        found, local = _staged(path, observed)
        if kind == "data":
            target = names.take(f"{REPRESENTATIONS}/{ORIGINALS}/data", _relative_data_name(path))
            role, bucket = FileRole.ORIGINAL, extra
        else:
            target = names.take(DOCUMENTATION, _documentation_name(path))
            role, bucket = FileRole.DOCUMENTATION, documentation
        bucket.append(
            PlannedFile(
                target=target, source=local, role=role, submitted=path, size=found.size,
                sha256=found.checksums.get("sha256"), mimetype=_mimetype(None, found.format, path),
                format=found.format, created=None,
            )
        )
    return extra, documentation


def _place_copies(documents: list[PlannedDocument], copies: Sequence[DerivedFile], names: _Names) -> None:
    owner = {f.submitted: d for d in documents for f in d.originals}
    for derived in copies:
        document = owner.get(derived.source)
        if document is None:
            raise AipError(f"preservation copy {derived.path.name}: {derived.source} is not a document's file")
        if not derived.path.is_file():
            raise AipError(f"preservation copy {derived.path} does not exist")
        target = names.take(f"{REPRESENTATIONS}/{COPIES}/data", derived.path.name)
        document.copies.append(
            PlannedFile(
                target=target, source=derived.path, role=FileRole.PRESERVATION, submitted=derived.source,
                size=None, sha256=derived.sha256.lower() if derived.sha256 else None,
                mimetype=_mimetype(None, derived.format, derived.path.name), format=derived.format,
                created=None, derived=derived,
            )
        )
