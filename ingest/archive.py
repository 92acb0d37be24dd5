"""Ingest: gate → AIP → encrypted copies on every location → catalog, crash-safe (R-ST-2, R-ST-6, R-IN-3).

The commit protocol:

1. the gate checks the package, staging every file; the submission, its
   findings and events are recorded (audited);
2. a rejected submission stops here; a package already archived (same
   fingerprint) is reported as a duplicate and nothing new is stored;
3. the AIP is built in staging; a new data key is made and wrapped by the
   master key; a `pending` dossier row is committed *before* any object is
   written, so a crash from here on is always found again;
4. every file of the bag is encrypted and written to every location, then read
   back: the stored size and the SHA-256 of the stored bytes must equal what
   was written;
5. one transaction records files and copies, marks the dossier `archived`
   (only when every location holds every file, verified) and appends the
   audit entry.

A pending dossier is never visible. `recover()` runs at start-up: it rolls
back every pending dossier (deletes its objects everywhere, its row and key),
marks interrupted submissions failed so they can be sent again, aborts
incomplete uploads and removes staging leftovers.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive_core.audit import AuditLog, open_audit_log
from archive_core.catalog import Catalog, CopyState, DossierRow, SubmissionRow, SubmissionState, repo
from archive_core.crypto import EncryptingReader, encrypted_size, object_aad
from archive_core.keys import MasterKeyProvider, load_master_key, new_data_key
from archive_core.settings import Settings
from archive_core.storage import ObjectStore, StorageError, make_stores
from archive_core.timeutil import Clock, iso_vn, system_clock
from ingest.gate import GateOptions, GateResult, ProgressHook, check_package
from ingest.receipt import Verdict
from preservation.aip import AipBuild, AipFile, DerivedFile, build_aip, new_aip_id
from preservation.retention import RetentionSchedule, assign_at_ingest, load_schedule, schedule_path

log = logging.getLogger(__name__)

FaultHook = Callable[[str], None]
"""Called with the name of each step; tests use it to crash the process at every point."""

SYSTEM_ACTOR = "system"
INGEST_OPTIONS = GateOptions(stage_files=True, keep_staging=True, preservation_copies=True)


class IngestError(Exception):
    """The package passed the gate but could not be archived; nothing of it is kept."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass
class Archive:
    """The parts archival storage needs, opened once from the settings."""

    settings: Settings
    catalog: Catalog
    stores: list[ObjectStore]
    master_key: MasterKeyProvider
    audit: AuditLog

    def store(self, location_id: str) -> ObjectStore:
        for store in self.stores:
            if store.location_id == location_id:
                return store
        raise KeyError(location_id)

    def close(self) -> None:
        self.catalog.dispose()


def open_archive(settings: Settings, *, clock: Clock = system_clock) -> Archive:
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    return Archive(
        settings=settings,
        catalog=catalog,
        stores=make_stores(settings),
        master_key=load_master_key(settings),
        audit=open_audit_log(settings, catalog),
    )


@dataclass
class IngestResult:
    gate: GateResult
    state: str
    """`archived`, `duplicate` or `rejected`."""
    aip_id: str | None = None
    dossier_code: str | None = None
    locations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.gate.submission_id,
            "state": self.state,
            "verdict": self.gate.verdict.value,
            "aip_id": self.aip_id,
            "dossier_code": self.dossier_code,
            "locations": self.locations,
            "receipt": self.gate.receipt.to_dict(),
        }


def ingest_package(
    path: Path,
    archive: Archive,
    *,
    actor: str = SYSTEM_ACTOR,
    clock: Clock = system_clock,
    progress: ProgressHook | None = None,
    fault: FaultHook | None = None,
) -> IngestResult:
    step = fault or (lambda _name: None)
    gate = check_package(path, archive.settings, progress=progress, clock=clock, options=INGEST_OPTIONS)
    try:
        step("gate")
        _record_submission(archive, gate, actor)
        step("submission-recorded")
        if gate.verdict is Verdict.REJECTED or gate.package is None:
            return IngestResult(gate, "rejected")
        duplicate = _duplicate_of(archive, gate, actor)
        if duplicate is not None:
            return duplicate
        return _archive(archive, gate, actor, clock, step)
    except Exception as exc:
        _mark_failed(archive, gate.submission_id, actor, exc)
        raise
    finally:
        if gate.staging is not None:
            shutil.rmtree(gate.staging, ignore_errors=True)


def _mark_failed(archive: Archive, submission_id: str, actor: str, exc: Exception) -> None:
    try:
        with archive.catalog.session() as session:
            row = session.get(SubmissionRow, submission_id)
            if row is None or row.state in (SubmissionState.FAILED, SubmissionState.ARCHIVED):
                return
            repo.set_submission_state(session, submission_id, SubmissionState.FAILED, error=str(exc)[:2000])
            archive.audit.append_in(
                session, actor, "submission.failed", "submission", submission_id, {"error": str(exc)[:500]}
            )
    except Exception:  # recording the failure must not hide the failure itself
        log.exception("could not record the failure of %s", submission_id)


def _record_submission(archive: Archive, gate: GateResult, actor: str) -> None:
    with archive.catalog.session() as session:
        repo.add_submission(session, gate.receipt)
        repo.record_gate_outcome(
            session,
            gate.submission_id,
            verdict=gate.verdict.value,
            findings=gate.findings,
            events=gate.events,
            finished_at=gate.finished_at,
            receipt=gate.receipt.to_dict(),
        )
        archive.audit.append_in(
            session, actor, "submission.checked", "submission", gate.submission_id,
            {"package": gate.receipt.package_name, "verdict": gate.verdict.value,
             "fingerprint": gate.receipt.fingerprint, "findings": len(gate.findings)},
        )


def _duplicate_of(archive: Archive, gate: GateResult, actor: str) -> IngestResult | None:
    """R-IN-3: the same package twice gives one AIP."""
    fingerprint = gate.receipt.fingerprint
    if fingerprint is None:
        return None
    with archive.catalog.session() as session:
        existing = repo.find_live_dossier_by_fingerprint(session, fingerprint)
        if existing is None or existing.state.value != "archived":
            return None
        repo.set_submission_state(
            session, gate.submission_id, SubmissionState.ARCHIVED,
            error=f"duplicate of {existing.aip_id}",
        )
        archive.audit.append_in(
            session, actor, "submission.duplicate", "submission", gate.submission_id,
            {"aip_id": existing.aip_id, "dossier": existing.code},
        )
        locations = repo.complete_locations(existing)
        return IngestResult(gate, "duplicate", existing.aip_id, existing.code, locations)


def _archive(archive: Archive, gate: GateResult, actor: str, clock: Clock, step: FaultHook) -> IngestResult:
    assert gate.package is not None and gate.staging is not None
    package = gate.package
    if len(package.dossiers) != 1:
        raise IngestError(
            f"Gói chứa {len(package.dossiers)} hồ sơ; mỗi gói nộp lưu phải là một hồ sơ",
            f"The package holds {len(package.dossiers)} dossiers; a submission must be one dossier",
        )
    aip_id = new_aip_id()
    built = build_aip(gate, gate.staging / "aip", archive.settings, aip_id=aip_id,
                      preservation_copies=_derived_files(gate), clock=clock)
    step("aip-built")
    data_key = new_data_key()
    dossier_id = _record_pending(archive, gate, built, data_key, actor, clock)
    step("pending-recorded")
    try:
        copies = _write_copies(archive, built, data_key, step)
        step("copies-written")
        code = _commit(archive, gate, built, dossier_id, copies, actor, clock)
    except BaseException as exc:
        try:
            _roll_back(archive, dossier_id, aip_id, gate.submission_id, actor, reason=str(exc) or type(exc).__name__)
        except StorageError as cleanup:  # the pending dossier stays invisible; recover() finishes the cleanup
            log.warning("rollback of %s left objects behind: %s", aip_id, cleanup)
        if isinstance(exc, StorageError):
            raise IngestError(
                f"Không ghi được đủ bản sao của hồ sơ vào kho lưu trữ ({exc}); không có gì được lưu, "
                "có thể nộp lại gói",
                f"Could not write every copy of the dossier ({exc}); nothing was kept, the package can be sent again",
            ) from exc
        raise
    step("committed")
    return IngestResult(gate, "archived", aip_id, code, [store.location_id for store in archive.stores])


def _derived_files(gate: GateResult) -> list[DerivedFile]:
    derived = (DerivedFile.from_migration(result, source) for source, result in gate.evidence.copies.items())
    return [d for d in derived if d is not None]


def _record_pending(
    archive: Archive, gate: GateResult, built: AipBuild, data_key: bytes, actor: str, clock: Clock
) -> int:
    assert gate.package is not None
    with archive.catalog.session() as session:
        row = repo.add_dossier(
            session,
            gate.package.dossiers[0],
            aip_id=built.aip_id,
            submission_id=gate.submission_id,
            fingerprint=gate.receipt.fingerprint,
            agency_code=gate.receipt.agency_code,
            agency_name=gate.receipt.agency_name,
            wrapped_key=archive.master_key.wrap(data_key),
            master_key_id=archive.master_key.key_id,
            clock=clock,
        )
        session.flush()
        assign_at_ingest(session, row, schedule=_schedule(archive.settings), audit=archive.audit, actor=actor,
                         clock=clock)
        repo.set_submission_state(session, gate.submission_id, SubmissionState.ARCHIVING)
        archive.audit.append_in(
            session, actor, "dossier.pending", "dossier", built.aip_id,
            {"submission": gate.submission_id, "files": len(built.files), "bytes": built.total_size},
        )
        return row.id


def _schedule(settings: Settings) -> RetentionSchedule:
    """The retention schedule applied when a dossier states no period (R-RT-2), editable per home."""
    return load_schedule(schedule_path(settings))


def _write_copies(
    archive: Archive, built: AipBuild, data_key: bytes, step: FaultHook
) -> list[repo.CopyEntry]:
    """Encrypt and write every file to every location in a bounded pool, make them durable, read them back."""
    tasks = [(store, number, item) for store in archive.stores for number, item in enumerate(built.files)]
    workers = max(4, archive.settings.workers * 2)  # I/O bound: AES-GCM, SHA-256 and fsync release the GIL

    def put(task: tuple[ObjectStore, int, AipFile]) -> repo.CopyEntry:
        store, number, item = task
        key = object_key(built.aip_id, item.path)
        with (built.bag_dir / item.path).open("rb") as plain:
            reader = EncryptingReader(plain, data_key, aad=object_aad(built.aip_id, item.path))
            stored = store.put(key, reader, size=encrypted_size(item.size), durable=False)
        step(f"put:{store.location_id}:{number}")
        return repo.CopyEntry(
            location_id=store.location_id,
            path=item.path,
            object_key=key,
            plain_size=item.size,
            stored_size=stored.size,
            stored_sha256=stored.sha256 or "",
            state=CopyState.VERIFIED,
        )

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copies") as pool:
        copies = list(pool.map(put, tasks))
        for store in archive.stores:
            store.sync()
        list(pool.map(lambda copy: _verify_read_back(archive.store(copy.location_id), copy), copies))
    return copies


def object_key(aip_id: str, path: str) -> str:
    return f"aips/{aip_id}/{path}"


def _verify_read_back(store: ObjectStore, copy: repo.CopyEntry) -> None:
    """R-ST-2: a copy counts only after the stored bytes were read back and match."""
    found = store.stat(copy.object_key)
    if found is None or found.size != copy.stored_size or not copy.stored_sha256:
        raise StorageError(f"{store.location_id}: {copy.object_key} is missing or has the wrong size")
    if store.sha256(copy.object_key) != copy.stored_sha256:
        raise StorageError(f"{store.location_id}: {copy.object_key} does not read back as written")


def _commit(
    archive: Archive,
    gate: GateResult,
    built: AipBuild,
    dossier_id: int,
    copies: list[repo.CopyEntry],
    actor: str,
    clock: Clock,
) -> str | None:
    with archive.catalog.session() as session:
        row = session.get(DossierRow, dossier_id)
        assert row is not None
        repo.add_files(session, row, _file_entries(gate, built))
        repo.add_copies(session, row, copies, clock=clock)
        session.flush()
        repo.mark_archived(session, row, min_copies=archive.settings.storage.min_copies, clock=clock)
        repo.set_submission_state(session, gate.submission_id, SubmissionState.ARCHIVED)
        archive.audit.append_in(
            session, actor, "dossier.archived", "dossier", built.aip_id,
            {"code": row.code, "submission": gate.submission_id, "objects": len(copies),
             "locations": sorted({c.location_id for c in copies}), "archived_at": iso_vn(clock())},
        )
        return row.code


def _file_entries(gate: GateResult, built: AipBuild) -> list[repo.FileEntry]:
    assert gate.package is not None
    owners: dict[tuple[str, str], tuple[int, str]] = {}
    for position, document in enumerate(gate.package.dossiers[0].documents):
        for ref in document.files:
            found = gate.observed.get(ref.path)
            if found is not None:
                owners[(ref.path.rsplit("/", 1)[-1], found.checksums["sha256"])] = (position, ref.path)
    formats = {o.checksums["sha256"]: o.format for o in gate.observed.values()}
    entries = []
    for item in built.files:
        owner = owners.get((item.path.rsplit("/", 1)[-1], item.sha256)) if "/data/" in item.path else None
        fmt = formats.get(item.sha256)
        entries.append(
            repo.FileEntry(
                path=item.path,
                role=item.role,
                size=item.size,
                sha256=item.sha256,
                mime=fmt.mime if fmt else None,
                puid=fmt.puid if fmt else None,
                document=owner[0] if owner else None,
                source_path=owner[1] if owner else None,
            )
        )
    return entries


def _roll_back(archive: Archive, dossier_id: int, aip_id: str, submission_id: str | None, actor: str,
               *, reason: str) -> None:
    """Remove every trace of a dossier that did not become archived; the submission can be sent again."""
    # Objects first, on every location that answers. If one cannot be reached the pending
    # row stays (invisible), so the next recover() finds the dossier again and finishes.
    unreachable: list[str] = []
    for store in archive.stores:
        try:
            store.delete_prefix(f"aips/{aip_id}/")
        except StorageError as exc:
            unreachable.append(f"{store.location_id}: {exc}")
    if unreachable:
        raise StorageError("; ".join(unreachable))
    with archive.catalog.session() as session:
        row = session.get(DossierRow, dossier_id)
        if row is not None:
            session.delete(row)
        if submission_id is not None:
            repo.set_submission_state(session, submission_id, SubmissionState.FAILED, error=reason[:2000])
        archive.audit.append_in(
            session, actor, "dossier.rolled_back", "dossier", aip_id,
            {"submission": submission_id, "reason": reason[:500]},
        )


@dataclass
class RecoveryReport:
    rolled_back: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)
    """Dossiers whose objects could not be removed everywhere (a location is down): retried next time."""
    failed_submissions: list[str] = field(default_factory=list)
    incomplete_uploads: int = 0
    staging_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rolled_back": self.rolled_back,
            "still_pending": self.still_pending,
            "failed_submissions": self.failed_submissions,
            "incomplete_uploads": self.incomplete_uploads,
            "staging_removed": self.staging_removed,
        }


def recover(archive: Archive, *, actor: str = SYSTEM_ACTOR) -> RecoveryReport:
    """Finish what a crash interrupted: no half-visible AIP, no lost accepted submission (R-ST-6).

    Run it when no ingest is running (at start-up): it treats every pending dossier
    and every unfinished submission as interrupted.
    """
    report = RecoveryReport()
    for store in archive.stores:
        try:
            report.incomplete_uploads += store.cleanup_incomplete()
        except StorageError as exc:
            log.warning("cannot clean incomplete uploads on %s: %s", store.location_id, exc)
    with archive.catalog.session(readonly=True) as session:
        pending = [(row.id, row.aip_id, row.submission_id) for row in repo.pending_dossiers(session)]
    for dossier_id, aip_id, submission_id in pending:
        try:
            _roll_back(archive, dossier_id, aip_id or "", submission_id, actor, reason="interrupted (recovered)")
        except StorageError as exc:
            report.still_pending.append(f"{aip_id}: {exc}")
            continue
        report.rolled_back.append(aip_id or str(dossier_id))
    report.failed_submissions = _fail_unfinished_submissions(archive, actor)
    staging = archive.settings.staging_dir
    if staging.exists():
        for leftover in staging.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
            report.staging_removed += 1
    with archive.catalog.session() as session:
        archive.audit.append_in(session, actor, "archive.recovered", "archive", None, report.to_dict())
    return report


def _fail_unfinished_submissions(archive: Archive, actor: str) -> list[str]:
    unfinished = (SubmissionState.RECEIVED, SubmissionState.CHECKED, SubmissionState.ARCHIVING)
    with archive.catalog.session() as session:
        rows = session.scalars(select(SubmissionRow).where(SubmissionRow.state.in_(unfinished))).all()
        for row in rows:
            repo.set_submission_state(session, row.id, SubmissionState.FAILED, error="interrupted (recovered)")
        return [row.id for row in rows]
