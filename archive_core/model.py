"""The one internal model: fonds, dossier (hồ sơ), document (tài liệu), file.

It holds the union of the Circular 02/2019 and TT 05/2025 fields. Values are
kept exactly as the submitter wrote them (strings, after XML whitespace
handling): checks judge them and report findings, converters map them to each
profile. Nothing here rejects a value, so nothing a submitter sent is lost
before it can be reported.

Field names are English snake_case; `docs/metadata-mapping.md` gives the tag of
each field in each profile. Types, lengths and code lists live in
`archive_core.codes` and are enforced by `ingest.checks.metadata`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class DossierKind(StrEnum):
    HOSO = "hoso"
    """A dossier (SIP_hoso / AIP_hoso, Circular 02 hồ sơ)."""
    TAILIEU = "tailieu"
    """A package of loose documents (SIP_tailieu / AIP_tailieu)."""


class DocumentKind(StrEnum):
    DOC = "doc"
    """Text document: EAD_doc."""
    PIC = "pic"
    """Photo / negative: EAD_pic."""
    MEDIA = "media"
    """Audio / video: EAD_media."""


class FileRole(StrEnum):
    ORIGINAL = "original"
    PRESERVATION = "preservation"
    METADATA = "metadata"
    SCHEMA = "schema"
    DOCUMENTATION = "documentation"
    TAG = "tag"
    """BagIt tag files (bagit.txt, manifests, bag-info.txt)."""
    OTHER = "other"


@dataclass
class Fonds:
    """Phông lưu trữ (Circular 02 §1.1)."""

    identifier: str | None = None
    """Mã cơ quan lưu trữ (lịch sử) — Identifier."""
    organ_id: str | None = None
    """Mã phông — OrganId."""
    fond_name: str | None = None
    fond_history: str | None = None
    archives_time: str | None = None
    paper_total: str | None = None
    paper_digital: str | None = None
    key_groups: str | None = None
    other_types: str | None = None
    language: str | None = None
    lookup_tools: str | None = None
    copy_number: str | None = None
    description: str | None = None


@dataclass
class FileRef:
    """A file of a document, as the package declares it."""

    path: str
    """Package-relative POSIX path, as declared (NFC expected, checked)."""
    role: FileRole = FileRole.ORIGINAL
    size: int | None = None
    sha256: str | None = None
    """Declared SHA-256, lower-case hex."""
    mimetype: str | None = None
    created: str | None = None
    file_id: str | None = None
    """METS `file/@ID` when the package has METS."""


@dataclass
class Document:
    """Tài liệu / văn bản: Circular 02 §1.3, TT 05 EAD_doc / EAD_pic / EAD_media."""

    kind: DocumentKind = DocumentKind.DOC
    # identification
    doc_id: str | None = None
    """TT 05 docId — mã định danh tài liệu (e.g. H49.64.33.2001.160.1)."""
    doc_code: str | None = None
    """TT 05 docCode — mã lưu trữ của tài liệu (fileCode + 7-digit sequence)."""
    arc_doc_code: str | None = None
    """TT 05 arcDocCode (AIP_tailieu, DIP)."""
    doc_identifier: str | None = None
    """Circular 02 DocCode — mã định danh văn bản (agency-YYYY.N)."""
    arc_file_code: str | None = None
    file_code: str | None = None
    identifier: str | None = None
    organ_id: str | None = None
    file_catalog: str | None = None
    file_notation: str | None = None
    doc_ordinal: str | None = None
    # description
    type_name: str | None = None
    code_number: str | None = None
    code_notation: str | None = None
    issued_date: str | None = None
    organ_name: str | None = None
    subject: str | None = None
    language: str | None = None
    number_of_page: str | None = None
    description: str | None = None
    infor_sign: str | None = None
    keyword: str | None = None
    mode: str | None = None
    confidence_level: str | None = None
    autograph: str | None = None
    format: str | None = None
    maintenance: str | None = None
    risk_recovery: str | None = None
    risk_recovery_status: str | None = None
    process: str | None = None
    # QLVB (NĐ 30/2020 Phụ lục VI)
    signer_position: str | None = None
    signer_name: str | None = None
    # photos (EAD_pic) and audio/video (EAD_media)
    type_pic: str | None = None
    type_media: str | None = None
    archives_number: str | None = None
    event_name: str | None = None
    image_title: str | None = None
    photographer: str | None = None
    photo_place: str | None = None
    photo_time: str | None = None
    colour: str | None = None
    film_size: str | None = None
    movie_title: str | None = None
    recorder: str | None = None
    record_place: str | None = None
    record_date: str | None = None
    play_time: str | None = None
    quality: str | None = None
    doc_attached: str | None = None
    # package links
    files: list[FileRef] = field(default_factory=list)
    metadata_path: str | None = None
    """Where this document's metadata came from (EAD_doc file or Circular 02 XML)."""

    @property
    def key(self) -> str:
        """A stable label for reports: the best identifier the document has."""
        for candidate in (self.doc_id, self.doc_code, self.arc_doc_code, self.doc_identifier):
            if candidate:
                return candidate
        if self.files:
            return self.files[0].path
        return self.metadata_path or "?"


@dataclass
class Dossier:
    """Hồ sơ: Circular 02 §1.2 and TT 05 §2.1 (18 fields), plus SIP_tailieu."""

    kind: DossierKind = DossierKind.HOSO
    # Circular 02 composite mã hồ sơ
    identifier: str | None = None
    organ_id: str | None = None
    file_catalog: str | None = None
    file_notation: str | None = None
    # TT 05 codes
    file_code: str | None = None
    arc_file_code: str | None = None
    title: str | None = None
    maintenance: str | None = None
    mode: str | None = None
    """TT 05 mode / Circular 02 Rights (chế độ sử dụng)."""
    language: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    keyword: str | None = None
    total_doc: str | None = None
    number_of_paper: str | None = None
    """TT 05 numberOfPaper / Circular 02 SheetNumber (số lượng tờ)."""
    number_of_page: str | None = None
    """TT 05 numberOfPage / Circular 02 PageNumber."""
    format: str | None = None
    infor_sign: str | None = None
    confidence_level: str | None = None
    paper_file_code: str | None = None
    risk_recovery: str | None = None
    risk_recovery_status: str | None = None
    description: str | None = None
    source: str | None = None
    """SIP_tailieu: 0 văn bản đi, 1 văn bản đến."""
    creator: str | None = None
    """Người lập hồ sơ (QLVB)."""
    fonds: Fonds | None = None
    documents: list[Document] = field(default_factory=list)
    metadata_path: str | None = None

    @property
    def code(self) -> str | None:
        """The dossier's best code for display."""
        return self.arc_file_code or self.file_code or composite_file_code(self)


def composite_file_code(dossier: Dossier) -> str | None:
    """Circular 02 FileCode built from its parts, dot-separated."""
    parts = [dossier.organ_id, dossier.file_catalog, dossier.file_notation]
    if not all(parts):
        return None
    return ".".join(p for p in parts if p)


def value_fields(cls: type[Any]) -> list[str]:
    """Names of the plain string fields of a model class (metadata values)."""
    return [f.name for f in fields(cls) if f.type in ("str | None", str | None)]


def to_dict(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = asdict(obj)
    return data


def document_from_dict(data: dict[str, Any]) -> Document:
    payload = dict(data)
    payload["kind"] = DocumentKind(payload.get("kind", "doc"))
    payload["files"] = [
        FileRef(**{**f, "role": FileRole(f.get("role", "original"))}) for f in payload.get("files", [])
    ]
    return Document(**payload)


def dossier_from_dict(data: dict[str, Any]) -> Dossier:
    payload = dict(data)
    payload["kind"] = DossierKind(payload.get("kind", "hoso"))
    payload["fonds"] = Fonds(**payload["fonds"]) if payload.get("fonds") else None
    payload["documents"] = [document_from_dict(d) for d in payload.get("documents", [])]
    return Dossier(**payload)
