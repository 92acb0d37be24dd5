"""Repository helpers: what the ingest pipeline, fixity, retention and destruction need.

Every function works inside the caller's session (`Catalog.session()`): nothing
here commits, so a pipeline step, its catalog rows and its audit entry commit or
roll back together. Functions flush when they need database ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from archive_core import codes
from archive_core.catalog.database import CatalogError
from archive_core.catalog.models import (
    CODE_CHARS,
    CopyRow,
    CopyState,
    DocumentRow,
    DossierRow,
    DossierState,
    EventRow,
    FileRow,
    FindingRow,
    FondsRow,
    SubmissionRow,
    SubmissionState,
)
from archive_core.findings import Finding
from archive_core.model import Document, Dossier, FileRole, Fonds, dossier_from_dict, to_dict
from archive_core.premis import Outcome, PremisEvent
from archive_core.timeutil import Clock, system_clock

# ---------------------------------------------------------------- values


def parse_date_span(value: str | None) -> tuple[date, date] | None:
    """First and last day that a metadata date denotes: DD/MM/YYYY, MM/YYYY, YYYY (or ISO YYYY-MM-DD).

    None for anything else; the text itself is always kept as written.
    """
    return codes.parse_date_span(value, _CATALOG_DATES) if value else None


_CATALOG_DATES = (codes.DMY, codes.ISO_DATE, codes.MY, codes.Y)


def retention_due_date(end_year: int | None, years: int | None) -> date | None:
    """R-RT-1: a dossier kept N years is due for appraisal on 1 January of year(endDate) + N + 1."""
    if end_year is None or years is None:
        return None
    due_year = end_year + years + 1
    return date(due_year, 1, 1) if due_year <= date.max.year else None


def _count(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdecimal():
        return None
    return int(raw.strip())


def _code(value: str | None) -> str | None:
    """A value for an indexed code column; an over-long (invalid) one is kept in the JSON only."""
    if value is None:
        return None
    value = value.strip()
    return value if value and len(value) <= CODE_CHARS else None


def _coded(list_name: str, raw: str | None) -> str | None:
    """The code of a code-list value, else the value as written (trimmed)."""
    return codes.to_code(list_name, raw) or _code(raw)


# ---------------------------------------------------------------- submissions


class ReceiptLike(Protocol):
    """What the catalog reads from `ingest.receipt.Receipt` (kept structural: the core does not import ingest)."""

    @property
    def submission_id(self) -> str: ...
    @property
    def package_name(self) -> str: ...
    @property
    def package_kind(self) -> str: ...
    @property
    def agency_code(self) -> str | None: ...
    @property
    def agency_name(self) -> str | None: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def fingerprint(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...


def add_submission(
    session: Session,
    receipt: ReceiptLike,
    *,
    state: SubmissionState = SubmissionState.RECEIVED,
    clock: Clock = system_clock,
) -> SubmissionRow:
    """Record a submission as soon as it has a receipt (R-IN-2)."""
    row = SubmissionRow(
        id=receipt.submission_id,
        package_name=receipt.package_name,
        package_kind=receipt.package_kind,
        agency_code=_code(receipt.agency_code),
        agency_name=receipt.agency_name,
        received_at=receipt.received_at,
        updated_at=clock(),
        state=state,
        fingerprint=receipt.fingerprint,
        receipt=receipt.to_dict(),
    )
    session.add(row)
    session.flush()
    return row


def get_submission(session: Session, submission_id: str) -> SubmissionRow:
    row = session.get(SubmissionRow, submission_id)
    if row is None:
        raise CatalogError(f"no submission {submission_id}")
    return row


def record_gate_outcome(
    session: Session,
    submission_id: str,
    *,
    verdict: str,
    findings: Sequence[Finding],
    events: Sequence[PremisEvent],
    finished_at: datetime,
    receipt: Mapping[str, Any] | None = None,
) -> SubmissionRow:
    """Store the gate's verdict, every finding and every PREMIS event of a submission.

    The state becomes `rejected` for a rejected verdict, `checked` otherwise.
    """
    row = get_submission(session, submission_id)
    row.verdict = verdict
    row.finished_at = finished_at
    row.updated_at = finished_at
    row.state = SubmissionState.REJECTED if verdict == "rejected" else SubmissionState.CHECKED
    if receipt is not None:
        row.receipt = dict(receipt)
    start = len(row.findings)
    row.findings.extend(_finding_row(finding, start + index) for index, finding in enumerate(findings))
    add_events(session, events, submission_id=submission_id)
    session.flush()
    return row


def _finding_row(finding: Finding, position: int) -> FindingRow:
    return FindingRow(
        position=position,
        code=finding.code,
        severity=finding.severity,
        rule=finding.rule,
        path=finding.path,
        field=finding.field,
        document=finding.document,
        message_vi=finding.message_vi,
        message_en=finding.message_en,
    )


def set_submission_state(
    session: Session,
    submission_id: str,
    state: SubmissionState,
    *,
    error: str | None = None,
    clock: Clock = system_clock,
) -> SubmissionRow:
    row = get_submission(session, submission_id)
    row.state = state
    row.updated_at = clock()
    if error is not None:
        row.error = error
    session.flush()
    return row


def submissions_by_fingerprint(session: Session, fingerprint: str) -> list[SubmissionRow]:
    """Earlier submissions of the same content (R-IN-3), newest first."""
    query = (
        select(SubmissionRow)
        .where(SubmissionRow.fingerprint == fingerprint)
        .order_by(SubmissionRow.received_at.desc(), SubmissionRow.id)
    )
    return list(session.scalars(query))


# ---------------------------------------------------------------- events


def add_events(
    session: Session,
    events: Iterable[PremisEvent],
    *,
    submission_id: str | None = None,
    dossier_id: int | None = None,
) -> list[EventRow]:
    rows = [
        EventRow(
            identifier=item.identifier,
            type=item.event_type.value,
            time=item.date_time,
            agent=item.agent.name,
            agent_version=item.agent.version,
            agent_type=item.agent.type,
            outcome=Outcome(item.outcome),
            detail=item.detail,
            outcome_detail=item.outcome_detail,
            objects=list(item.objects),
            submission_id=submission_id,
            dossier_id=dossier_id,
        )
        for item in events
    ]
    session.add_all(rows)
    session.flush()
    return rows


# ---------------------------------------------------------------- fonds and dossiers


def upsert_fonds(session: Session, fonds: Fonds, *, clock: Clock = system_clock) -> FondsRow:
    """The fonds row for (archive identifier, mã phông); the latest description wins.

    A fonds without a mã phông cannot be matched and gets its own row.
    """
    now = clock()
    organ_id, identifier = _code(fonds.organ_id), _code(fonds.identifier)
    row = None
    if organ_id is not None:
        # `== None` renders IS NULL: a fonds given without an archive identifier matches the same.
        query = select(FondsRow).where(FondsRow.organ_id == organ_id, FondsRow.identifier == identifier)
        row = session.scalars(query.order_by(FondsRow.id).limit(1)).first()
    if row is None:
        row = FondsRow(organ_id=organ_id, identifier=identifier, created_at=now)
        session.add(row)
    row.name = fonds.fond_name
    row.metadata_json = to_dict(fonds)
    row.updated_at = now
    session.flush()
    return row


def add_dossier(
    session: Session,
    dossier: Dossier,
    *,
    aip_id: str,
    submission_id: str | None = None,
    fingerprint: str | None = None,
    agency_code: str | None = None,
    agency_name: str | None = None,
    wrapped_key: bytes | None = None,
    master_key_id: str | None = None,
    clock: Clock = system_clock,
) -> DossierRow:
    """A new `pending` dossier with its documents; invisible until `mark_archived` (R-ST-6).

    Raises `sqlalchemy.exc.IntegrityError` (at flush) when a dossier that is not
    destroyed already has this fingerprint: look it up first with
    `find_live_dossier_by_fingerprint` (R-IN-3).
    """
    row = DossierRow(
        kind=dossier.kind,
        submission_id=submission_id,
        fonds=upsert_fonds(session, dossier.fonds, clock=clock) if dossier.fonds else None,
        code=_code(dossier.code),
        file_code=_code(dossier.file_code),
        arc_file_code=_code(dossier.arc_file_code),
        organ_id=_code(dossier.organ_id),
        title=dossier.title,
        mode=_coded("mode", dossier.mode),
        agency_code=_code(agency_code),
        agency_name=agency_name,
        state=DossierState.PENDING,
        aip_id=aip_id,
        wrapped_key=wrapped_key,
        master_key_id=master_key_id,
        created_at=clock(),
        fingerprint=fingerprint,
        metadata_json=_dossier_json(dossier),
    )
    _set_dates(row, dossier)
    _set_maintenance(row, dossier.maintenance)
    row.documents = [_document_row(document, position) for position, document in enumerate(dossier.documents)]
    session.add(row)
    session.flush()
    return row


def _dossier_json(dossier: Dossier) -> dict[str, Any]:
    data = to_dict(dossier)
    data.pop("documents")
    return data


def _set_dates(row: DossierRow, dossier: Dossier) -> None:
    row.start_date, row.end_date = dossier.start_date, dossier.end_date
    start, end = parse_date_span(dossier.start_date), parse_date_span(dossier.end_date)
    row.start_on = start[0] if start else None
    row.end_on = end[1] if end else None
    row.end_year = row.end_on.year if row.end_on else None


def _set_maintenance(row: DossierRow, raw: str | None) -> None:
    row.maintenance = raw
    row.maintenance_code = codes.maintenance_code_for(raw)
    set_retention(row, codes.maintenance_years(raw))


def set_retention(row: DossierRow, retention: int | codes.Permanent | None) -> None:
    """Set the retention period (years, `"permanent"`, or unknown) and the due date it gives.

    Used at ingest (from the maintenance value or the retention schedule, R-RT-2)
    and by an appraisal that extends the period (R-RT-5).
    """
    row.retention_permanent = retention == codes.PERMANENT
    row.retention_years = retention if isinstance(retention, int) else None
    row.retention_due = retention_due_date(row.end_year, row.retention_years)


def _document_row(document: Document, position: int) -> DocumentRow:
    issued = parse_date_span(document.issued_date)
    return DocumentRow(
        position=position,
        kind=document.kind,
        doc_id=_code(document.doc_id),
        doc_code=_code(document.doc_code),
        arc_doc_code=_code(document.arc_doc_code),
        doc_identifier=_code(document.doc_identifier),
        code_number=_code(document.code_number),
        code_notation=_code(document.code_notation),
        type_name=_coded("typeName", document.type_name),
        subject=document.subject,
        organ_name=document.organ_name,
        issued_date=document.issued_date,
        issued_on=issued[0] if issued else None,
        mode=_coded("mode", document.mode),
        confidence_level=_coded("confidenceLevel", document.confidence_level),
        page_count=_count(document.number_of_page),
        language=_code(document.language),
        metadata_json=to_dict(document),
    )


def load_dossier_model(row: DossierRow) -> Dossier:
    """The internal model exactly as it was stored (documents in their original order)."""
    data = dict(row.metadata_json)
    data["documents"] = [document.metadata_json for document in row.documents]
    return dossier_from_dict(data)


def find_live_dossier_by_fingerprint(session: Session, fingerprint: str) -> DossierRow | None:
    """The holding with this content, unless it was destroyed (R-IN-3)."""
    query = select(DossierRow).where(
        DossierRow.fingerprint == fingerprint, DossierRow.state != DossierState.DESTROYED
    )
    return session.scalars(query).first()


def dossiers_by_code(session: Session, code: str, *, include_pending: bool = False) -> list[DossierRow]:
    """Holdings that carry `code` as any of their codes, for showing duplicates side by side (R-IN-3)."""
    query = select(DossierRow).where(
        (DossierRow.code == code) | (DossierRow.file_code == code) | (DossierRow.arc_file_code == code)
    )
    if not include_pending:
        query = query.where(DossierRow.state != DossierState.PENDING)
    return list(session.scalars(query.order_by(DossierRow.id)))


def get_dossier_by_aip(session: Session, aip_id: str) -> DossierRow | None:
    return session.scalars(select(DossierRow).where(DossierRow.aip_id == aip_id)).first()


def pending_dossiers(session: Session) -> list[DossierRow]:
    """Dossiers whose ingest did not finish: to be completed or cleaned up on restart (R-ST-6)."""
    query = select(DossierRow).where(DossierRow.state == DossierState.PENDING).order_by(DossierRow.id)
    return list(session.scalars(query))


# ---------------------------------------------------------------- files and copies


@dataclass(frozen=True)
class FileEntry:
    """A file of the AIP as the builder made it."""

    path: str
    """Bag-relative path in the AIP."""
    role: FileRole
    size: int
    sha256: str
    mime: str | None = None
    puid: str | None = None
    document: int | None = None
    """Position of its document in the dossier (0-based); None for dossier-level files."""
    source_path: str | None = None
    """Where the file was in the submission package."""


@dataclass(frozen=True)
class CopyEntry:
    """One object written (and read back) on one location."""

    location_id: str
    path: str
    """Bag-relative path of the file the object holds."""
    object_key: str
    plain_size: int
    stored_size: int
    stored_sha256: str
    state: CopyState = CopyState.VERIFIED
    written_at: datetime | None = None
    verified_at: datetime | None = None
    """When the read-back check passed: counts as the copy's first fixity check (R-ST-3)."""


def add_files(session: Session, dossier: DossierRow, entries: Iterable[FileEntry]) -> list[FileRow]:
    documents = {document.position: document for document in dossier.documents}
    rows = []
    for entry in entries:
        if entry.document is not None and entry.document not in documents:
            raise CatalogError(f"{entry.path}: dossier {dossier.id} has no document at position {entry.document}")
        rows.append(
            FileRow(
                dossier=dossier,
                document=documents[entry.document] if entry.document is not None else None,
                path=entry.path,
                source_path=entry.source_path,
                role=entry.role,
                size=entry.size,
                sha256=entry.sha256,
                mime=entry.mime,
                puid=entry.puid,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def add_copies(
    session: Session, dossier: DossierRow, entries: Iterable[CopyEntry], *, clock: Clock = system_clock
) -> list[CopyRow]:
    if dossier.aip_id is None:
        raise CatalogError(f"dossier {dossier.id} has no AIP id")
    rows = []
    for entry in entries:
        written_at = entry.written_at or clock()
        verified = entry.state == CopyState.VERIFIED
        checked_at = (entry.verified_at or written_at) if verified else None
        rows.append(
            CopyRow(
                dossier=dossier,
                aip_id=dossier.aip_id,
                location_id=entry.location_id,
                path=entry.path,
                object_key=entry.object_key,
                plain_size=entry.plain_size,
                stored_size=entry.stored_size,
                stored_sha256=entry.stored_sha256,
                state=entry.state,
                written_at=written_at,
                last_fixity_at=checked_at,
                last_fixity_outcome=Outcome.SUCCESS if verified else None,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def complete_locations(dossier: DossierRow) -> list[str]:
    """Locations holding a verified copy of every file of the AIP."""
    live = [copy for copy in dossier.copies if copy.state != CopyState.DELETED]
    expected = {copy.path for copy in live} | {file.path for file in dossier.files}
    verified: dict[str, set[str]] = defaultdict(set)
    for copy in live:
        if copy.state == CopyState.VERIFIED:
            verified[copy.location_id].add(copy.path)
    return sorted(location for location, paths in verified.items() if expected and paths >= expected)


def mark_archived(
    session: Session, dossier: DossierRow, *, min_copies: int, clock: Clock = system_clock
) -> DossierRow:
    """Make a pending dossier visible, only if `min_copies` locations hold all of it, verified (R-ST-2)."""
    if dossier.state != DossierState.PENDING:
        raise CatalogError(f"dossier {dossier.id} is {dossier.state.value}, not pending")
    locations = complete_locations(dossier)
    if len(locations) < max(1, min_copies):
        raise CatalogError(
            f"dossier {dossier.id} has complete verified copies on {locations or 'no location'}; "
            f"{min_copies} are required"
        )
    dossier.state = DossierState.ARCHIVED
    dossier.archived_at = clock()
    session.flush()
    return dossier


# ---------------------------------------------------------------- fixity (R-ST-3)


def _checkable_copies(location_id: str | None) -> Select[CopyRow]:
    query = (
        select(CopyRow)
        .join(DossierRow, DossierRow.id == CopyRow.dossier_id)
        .where(DossierRow.state == DossierState.ARCHIVED, CopyRow.state != CopyState.DELETED)
    )
    return query.where(CopyRow.location_id == location_id) if location_id is not None else query


def least_recently_checked(
    session: Session,
    limit: int,
    *,
    location_id: str | None = None,
    checked_before: datetime | None = None,
) -> list[CopyRow]:
    """Copies of archived dossiers to check next: never checked first, then the oldest check.

    Two index range scans (`last_fixity_at IS NULL`, then ascending) rather than
    `NULLS FIRST`, which SQLite cannot index and PostgreSQL sorts the other way.
    """
    never = _checkable_copies(location_id).where(CopyRow.last_fixity_at.is_(None)).order_by(CopyRow.id)
    rows = list(session.scalars(never.limit(limit)))
    if len(rows) < limit:
        older = _checkable_copies(location_id).where(CopyRow.last_fixity_at.is_not(None))
        if checked_before is not None:
            older = older.where(CopyRow.last_fixity_at < checked_before)
        older = older.order_by(CopyRow.last_fixity_at, CopyRow.id).limit(limit - len(rows))
        rows.extend(session.scalars(older))
    return rows


def record_fixity(
    session: Session,
    copy: CopyRow,
    *,
    outcome: Outcome,
    state: CopyState | None = None,
    at: datetime | None = None,
    clock: Clock = system_clock,
) -> CopyRow:
    """Record a fixity check of one copy; `state` defaults to verified on success and corrupt otherwise."""
    copy.last_fixity_at = at or clock()
    copy.last_fixity_outcome = outcome
    copy.state = state or (CopyState.VERIFIED if outcome == Outcome.SUCCESS else CopyState.CORRUPT)
    session.flush()
    return copy


# ---------------------------------------------------------------- retention (R-RT-1, R-RT-3, R-RT-4)


def due_dossiers_query(on: date, *, notice_days: int = 0) -> Select[DossierRow]:
    """Archived dossiers without a legal hold that are due by `on` (+ notice), earliest first.

    Served, in order, by the index `ix_dossiers_due (state, legal_hold, retention_due, id)`.
    """
    horizon = on + timedelta(days=notice_days)
    return (
        select(DossierRow)
        .where(
            DossierRow.state == DossierState.ARCHIVED,
            DossierRow.legal_hold == false(),
            DossierRow.retention_due <= horizon,
        )
        .order_by(DossierRow.retention_due, DossierRow.id)
    )


def due_dossiers(
    session: Session, on: date, *, notice_days: int = 0, limit: int | None = None, offset: int = 0
) -> list[DossierRow]:
    query = due_dossiers_query(on, notice_days=notice_days).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def set_legal_hold(session: Session, dossier: DossierRow, hold: bool) -> DossierRow:
    dossier.legal_hold = hold
    session.flush()
    return dossier
