"""Catalog tables as typed SQLAlchemy 2 models.

Columns hold what is searched, sorted, joined or constrained; the whole internal
model of each dossier and document is also kept as JSON (`metadata_json`) so
that nothing a submitter sent is lost. Times are aware and stored in UTC (read
back in +07:00, see `UtcDateTime`). The schema itself is created by the Alembic
migrations in `archive_core/catalog/migrations/`, which must stay identical to
these models (a test compares them).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from archive_core.catalog.types import BIG_ID, JSON_DOCUMENT, JSON_VERBATIM, UtcDateTime, str_enum
from archive_core.findings import Severity
from archive_core.model import DocumentKind, DossierKind, FileRole
from archive_core.premis import Outcome

CODE_CHARS = 255
"""Longest code kept in an indexed column; a longer (invalid) value stays in the JSON only."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DossierState(StrEnum):
    PENDING = "pending"
    """Objects are being written; invisible to search, export and counts (R-ST-6)."""
    ARCHIVED = "archived"
    DESTROYING = "destroying"
    """An approved destruction is being executed (R-DS-4: never silently half-done)."""
    DESTROYED = "destroyed"
    """Only the metadata stub remains (R-DS-3)."""


class CopyState(StrEnum):
    WRITTEN = "written"
    VERIFIED = "verified"
    MISSING = "missing"
    CORRUPT = "corrupt"
    DELETED = "deleted"


class SubmissionState(StrEnum):
    RECEIVED = "received"
    CHECKED = "checked"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    REJECTED = "rejected"
    FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created() -> Any:
    return mapped_column(UtcDateTime(), nullable=False)


class SubmissionRow(Base):
    """A package as received (R-IN-2), its verdict and where it is in the pipeline."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """`NL-20261121-7F3A9C21`."""
    package_name: Mapped[str] = mapped_column(Text, nullable=False)
    package_kind: Mapped[str | None] = mapped_column(String(64))
    agency_code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    agency_name: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    verdict: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[SubmissionState] = mapped_column(str_enum(SubmissionState, "submission_state"), nullable=False)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    """SHA-256 over (path, SHA-256) of every file: the same package gives the same value (R-IN-3)."""
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)

    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="submission", order_by="FindingRow.position", cascade="all, delete-orphan"
    )

    __table_args__ = (Index(None, "state", "received_at"),)


class FindingRow(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "severity"), nullable=False)
    rule: Mapped[str] = mapped_column(String(32), nullable=False)
    path: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    document: Mapped[str | None] = mapped_column(Text)
    message_vi: Mapped[str] = mapped_column(Text, nullable=False)
    message_en: Mapped[str] = mapped_column(Text, nullable=False)

    submission: Mapped[SubmissionRow] = relationship(back_populates="findings")


class FondsRow(Base):
    """Phông lưu trữ, keyed by (archive identifier, mã phông) when the submitter gave them."""

    __tablename__ = "fonds"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    identifier: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    organ_id: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    name: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (Index(None, "organ_id", "identifier"),)


class DossierRow(Base):
    """Hồ sơ (or a package of loose documents) with its AIP, key and retention."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    fonds_id: Mapped[int | None] = mapped_column(ForeignKey("fonds.id"), index=True)
    kind: Mapped[DossierKind] = mapped_column(str_enum(DossierKind, "dossier_kind"), nullable=False)
    # codes
    code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    """The best code for display: arcFileCode, else fileCode, else the Circular 02 composite."""
    file_code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    arc_file_code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    organ_id: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    title: Mapped[str | None] = mapped_column(Text)
    # dates: as written, and parsed (first / last day the text denotes)
    start_date: Mapped[str | None] = mapped_column(String(64))
    end_date: Mapped[str | None] = mapped_column(String(64))
    start_on: Mapped[date | None] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    end_year: Mapped[int | None] = mapped_column(Integer, index=True)
    # retention (R-RT-1): raw value, TT 05 code, years; permanent never falls due
    maintenance: Mapped[str | None] = mapped_column(Text)
    maintenance_code: Mapped[str | None] = mapped_column(String(8))
    retention_years: Mapped[int | None] = mapped_column(Integer)
    retention_permanent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    retention_due: Mapped[date | None] = mapped_column(Date)
    legal_hold: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false(), index=True)
    # access and origin
    mode: Mapped[str | None] = mapped_column(String(64))
    agency_code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    agency_name: Mapped[str | None] = mapped_column(Text)
    # life cycle
    state: Mapped[DossierState] = mapped_column(str_enum(DossierState, "dossier_state"), nullable=False)
    aip_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The dossier's data key wrapped by the master key; erased when the key is destroyed (R-DS-2)."""
    master_key_id: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    key_destroyed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    created_at: Mapped[datetime] = _created()
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    """Identifies the content for R-IN-3; unique among dossiers that are not destroyed."""
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT, nullable=False)
    """`model.to_dict(dossier)` without its documents (each document row keeps its own)."""

    documents: Mapped[list[DocumentRow]] = relationship(
        back_populates="dossier", order_by="DocumentRow.position", cascade="all, delete-orphan"
    )
    files: Mapped[list[FileRow]] = relationship(
        back_populates="dossier", order_by="FileRow.path", cascade="all, delete-orphan"
    )
    copies: Mapped[list[CopyRow]] = relationship(back_populates="dossier", cascade="all, delete-orphan")
    fonds: Mapped[FondsRow | None] = relationship()

    __table_args__ = (
        # R-RT-3: the due list is `state = archived AND NOT legal_hold AND retention_due <= day`,
        # earliest first; `id` makes that order come straight from the index.
        Index("ix_dossiers_due", "state", "legal_hold", "retention_due", "id"),
        Index(
            "uq_dossiers_fingerprint_live",
            "fingerprint",
            unique=True,
            sqlite_where=text("state <> 'destroyed'"),
            postgresql_where=text("state <> 'destroyed'"),
        ),
    )


class DocumentRow(Base):
    """Tài liệu / văn bản of a dossier, in the order the package gave them."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"), nullable=False)
    doc_id: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    doc_code: Mapped[str | None] = mapped_column(String(CODE_CHARS), index=True)
    arc_doc_code: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    doc_identifier: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    code_number: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    code_notation: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    type_name: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    subject: Mapped[str | None] = mapped_column(Text)
    organ_name: Mapped[str | None] = mapped_column(Text)
    issued_date: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    mode: Mapped[str | None] = mapped_column(String(64))
    confidence_level: Mapped[str | None] = mapped_column(String(64))
    page_count: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT, nullable=False)
    """`model.to_dict(document)`, its declared files included."""

    dossier: Mapped[DossierRow] = relationship(back_populates="documents")
    files: Mapped[list[FileRow]] = relationship(back_populates="document", order_by="FileRow.path")

    __table_args__ = (UniqueConstraint("dossier_id", "position"),)


class FileRow(Base):
    """A file of the AIP (payload or metadata), with its fixity and format."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), nullable=False)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    """Bag-relative path in the AIP (`data/representations/rep1/data/x.pdf`)."""
    source_path: Mapped[str | None] = mapped_column(Text)
    """Where the file was in the submission package."""
    role: Mapped[FileRole] = mapped_column(str_enum(FileRole, "file_role"), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    mime: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    puid: Mapped[str | None] = mapped_column(String(64))

    dossier: Mapped[DossierRow] = relationship(back_populates="files")
    document: Mapped[DocumentRow | None] = relationship(back_populates="files")

    __table_args__ = (UniqueConstraint("dossier_id", "path"),)


class CopyRow(Base):
    """One stored object (a file of the bag, encrypted) on one location."""

    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), nullable=False, index=True)
    aip_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    location_id: Mapped[str] = mapped_column(String(64), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    """Bag-relative path of the file this object holds."""
    object_key: Mapped[str] = mapped_column(Text, nullable=False)
    plain_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    stored_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    stored_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 of the stored (encrypted) bytes: fixity is checked without the key."""
    state: Mapped[CopyState] = mapped_column(str_enum(CopyState, "copy_state"), nullable=False)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    last_fixity_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_fixity_outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "fixity_outcome"))

    dossier: Mapped[DossierRow] = relationship(back_populates="copies")

    __table_args__ = (
        UniqueConstraint("location_id", "object_key"),
        # R-ST-3: least recently checked first (never-checked ones are fetched with IS NULL).
        Index("ix_copies_fixity_order", "last_fixity_at", "id"),
    )


class EventRow(Base):
    """A PREMIS event (R-CK-8) of a submission and/or a dossier."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    agent: Mapped[str] = mapped_column(Text, nullable=False)
    agent_version: Mapped[str] = mapped_column(String(64), nullable=False)
    agent_type: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "event_outcome"), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    outcome_detail: Mapped[str] = mapped_column(Text, nullable=False)
    objects: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, nullable=False)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)


class AuditRow(Base):
    """One entry of the hash-chained audit log (R-AU-1); see `archive_core.audit`.

    Append-only: database triggers refuse UPDATE and DELETE, and an INSERT that
    does not extend the chain by exactly one.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False)
    object_type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    details: Mapped[dict[str, Any]] = mapped_column(JSON_VERBATIM, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (Index(None, "object_type", "object_id"),)
