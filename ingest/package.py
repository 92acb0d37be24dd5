"""What a reader makes of a submission package, and what the content pass observed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from archive_core.model import Document, Dossier, FileRole


class PackageKind(StrEnum):
    TT05_SIP_HOSO = "tt05-sip-hoso"
    TT05_SIP_TAILIEU = "tt05-sip-tailieu"
    CSIP = "csip"
    """An E-ARK CSIP package that carries no TT 05 descriptive metadata."""
    BAGIT_C02 = "bagit-c02"
    BAGIT = "bagit"
    """A BagIt bag without the earchive Circular 02 profile."""
    UNKNOWN = "unknown"


@dataclass
class DeclaredFile:
    """One declaration of a file by the package (METS file/mdRef, BagIt manifest line)."""

    path: str
    """Package-relative POSIX path, resolved against the package root."""
    declared_by: str
    """Where the declaration is: `METS.xml`, `representations/rep1/METS.xml`, `manifest-sha256.txt`."""
    role: FileRole = FileRole.OTHER
    size: int | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    """Algorithm (hashlib name: `sha256`, `md5`, `sha512` …) → lower-case hex."""
    mimetype: str | None = None
    created: str | None = None
    raw_path: str | None = None
    """The path exactly as written in the declaration, when it differs."""


@dataclass(frozen=True)
class FormatId:
    """Format identified from the bytes (R-CK-2)."""

    mime: str
    name: str
    puid: str | None = None
    """PRONOM unique identifier when known (`fmt/276`)."""
    version: str | None = None
    extension_hint: tuple[str, ...] = ()
    """Extensions that fit the identified format."""
    container: str | None = None
    """`zip`, `ole2` … when the format lives in a container."""
    features: tuple[str, ...] = ()
    """Noteworthy features: `encrypted`, `javascript`, `embedded_files`, `pdfa:2B` …"""
    tool: str = ""
    """Identification tool and version, for the PREMIS event."""


@dataclass
class ObservedFile:
    """What the content pass measured for one file of the package."""

    path: str
    size: int
    checksums: dict[str, str]
    format: FormatId | None = None
    staged_path: str | None = None
    """Local file holding the bytes, when the gate staged or the source is a folder."""

    def __reduce__(self) -> tuple[type[ObservedFile], tuple[str, int, dict[str, str], FormatId | None, str | None]]:
        # Constructor arguments instead of a state dict: the content worker's reply unpickles in a
        # third of the time (it is on the gate's critical path).
        return (type(self), (self.path, self.size, self.checksums, self.format, self.staged_path))


@dataclass
class ParsedPackage:
    kind: PackageKind
    name: str
    """Submitted name (ZIP file or folder name)."""
    root: str = ""
    """Top folder inside the archive that was taken as the package root ("" if none)."""
    objid: str | None = None
    created: str | None = None
    record_status: str | None = None
    producer: str | None = None
    """Software that made the package (METS CREATOR agent, Bag-Software-Agent)."""
    agency_code: str | None = None
    agency_name: str | None = None
    dossiers: list[Dossier] = field(default_factory=list)
    declared: list[DeclaredFile] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every regular file present in the package (package-relative)."""
    profile_info: dict[str, str] = field(default_factory=dict)
    """Reader-specific facts worth reporting (BagIt version, METS profile …)."""
    declaration_prefixes: tuple[str, ...] = ("",)
    """Files under these prefixes must be declared (BagIt: `data/`; TT 05: everything)."""
    exempt_from_declaration: set[str] = field(default_factory=set)
    """Files that need no declaration (the root METS.xml, BagIt tag files)."""
    _documents_by_path: dict[str, Document] | None = field(default=None, repr=False, compare=False)

    @property
    def documents(self) -> list[Document]:
        return [doc for dossier in self.dossiers for doc in dossier.documents]

    def document_of(self, path: str) -> Document | None:
        """The document a file or metadata file belongs to (indexed on first use, after reading)."""
        if self._documents_by_path is None:
            index: dict[str, Document] = {}
            for doc in self.documents:
                if doc.metadata_path:
                    index.setdefault(doc.metadata_path, doc)
                for ref in doc.files:
                    index.setdefault(ref.path, doc)
            self._documents_by_path = index
        return self._documents_by_path.get(path)

    def must_be_declared(self, path: str) -> bool:
        if path in self.exempt_from_declaration:
            return False
        return any(path.startswith(prefix) for prefix in self.declaration_prefixes)

    def algorithms(self) -> set[str]:
        algs = {"sha256"}
        for decl in self.declared:
            algs.update(decl.checksums)
        return algs
