"""Export an archived dossier as a standalone BagIt ZIP, and report what every storage location holds.

`export_dossier` reads the AIP's objects from the locations that hold a verified
copy of all of it (falling back, file by file, to any other location on any
error), decrypts each with the dossier's data key (`DecryptingReader`: a tampered
object fails authentication and is never used), checks every file against the
catalog (size and SHA-256 of the plaintext), rebuilds the bag in a private folder
under the data home, validates it (`validate_aip`: bagit manifests, METS, PREMIS,
EAD, Circular 02 schemas) and only then writes the ZIP (`export_zip`, atomic).
A copy that failed to decrypt is marked corrupt in the catalog so that the next
fixity audit looks at it. Every export, and every refused or failed one, is audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from archive_core.catalog import CopyRow, CopyState, DossierRow, DossierState, FileRow, repo
from archive_core.crypto import DecryptingReader, DecryptionError, object_aad
from archive_core.keys import UnwrapError
from archive_core.premis import Outcome
from archive_core.storage import ObjectStore, StorageError, validate_key
from archive_core.storage.base import file_sha256, read_into
from archive_core.timeutil import Clock, iso_vn, system_clock
from ingest.archive import SYSTEM_ACTOR, Archive
from preservation.aip import export_zip, validate_aip
from preservation.fixity import FixityError, find_dossier

BUFFER_BYTES = 1024 * 1024
MAX_LISTED_FALLBACKS = 20


class ExportError(Exception):
    """The dossier cannot be exported; nothing is written under the output name."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass(frozen=True)
class Fallback:
    """A file that could not be taken from one location (another one served it, or none could)."""

    path: str
    location_id: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "location": self.location_id, "error": self.error}


@dataclass
class ExportResult:
    aip_id: str
    dossier_code: str | None
    out_zip: Path
    files: int = 0
    bytes: int = 0
    """Plaintext bytes of the bag's files."""
    zip_bytes: int = 0
    zip_sha256: str = ""
    served_by: dict[str, int] = field(default_factory=dict)
    """Location id → number of files taken from it."""
    fallbacks: list[Fallback] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "aip_id": self.aip_id,
            "dossier_code": self.dossier_code,
            "out": str(self.out_zip),
            "files": self.files,
            "bytes": self.bytes,
            "zip_bytes": self.zip_bytes,
            "zip_sha256": self.zip_sha256,
            "served_by": self.served_by,
            "fallbacks": [item.to_dict() for item in self.fallbacks],
        }

    def summary_vi(self) -> str:
        text = (
            f"Đã xuất hồ sơ {self.dossier_code or self.aip_id} ({self.files} tệp, {self.bytes / 1e6:.1f} MB) "
            f"thành {self.out_zip.name}; gói BagIt đã được kiểm tra hợp lệ."
        )
        if self.fallbacks:
            places = ", ".join(sorted({item.location_id for item in self.fallbacks}))
            text += (
                f" Cảnh báo: {len(self.fallbacks)} tệp không đọc được từ {places} (đã lấy từ vị trí khác); "
                "hãy chạy kiểm tra tính toàn vẹn."
            )
        return text


@dataclass(frozen=True)
class _CopyRef:
    copy_id: int
    location_id: str
    object_key: str


@dataclass
class _Plan:
    dossier_id: int
    aip_id: str
    code: str | None
    wrapped_key: bytes
    files: dict[str, tuple[int, str]]
    """Bag path → (plaintext size, SHA-256)."""
    copies: dict[str, list[_CopyRef]]
    complete_locations: list[str]


def export_dossier(
    archive: Archive,
    dossier: str,
    out_zip: Path,
    *,
    location: str | None = None,
    actor: str = SYSTEM_ACTOR,
    clock: Clock = system_clock,
) -> Path:
    """Write the dossier (AIP id or code) as a standalone, validated BagIt ZIP at `out_zip`; returns `out_zip`.

    `location` reads only from that location (no fallback). Raises `ExportError`.
    """
    return export_aip(archive, dossier, out_zip, location=location, actor=actor, clock=clock).out_zip


def export_aip(
    archive: Archive,
    dossier: str,
    out_zip: Path,
    *,
    location: str | None = None,
    actor: str = SYSTEM_ACTOR,
    clock: Clock = system_clock,
) -> ExportResult:
    """As `export_dossier`, with the details: files, bytes, ZIP hash, which location served what, fallbacks."""
    out_zip = Path(out_zip)
    plan = _plan(archive, dossier, actor)
    result = ExportResult(plan.aip_id, plan.code, out_zip)
    work = archive.settings.staging_dir / f"export-{uuid.uuid4().hex}"
    try:
        data_key = _unwrap(archive, plan)
        bag_dir = work / plan.aip_id
        order = _location_order(archive, plan, location)
        for path in sorted(set(plan.files) | set(plan.copies)):
            served = _restore_file(archive, plan, path, bag_dir, data_key, order, result)
            result.served_by[served] = result.served_by.get(served, 0) + 1
            result.files += 1
        problems = validate_aip(bag_dir)
        if problems:
            raise ExportError(
                "Gói AIP dựng lại không hợp lệ, không xuất: " + "; ".join(problems[:5]),
                "The rebuilt AIP does not validate, nothing exported: " + "; ".join(problems[:5]),
            )
        export_zip(bag_dir, out_zip)
        result.zip_bytes, result.zip_sha256 = file_sha256(out_zip)
    except ExportError as exc:
        _mark_bad_copies(archive, plan, result, clock)
        _audit_failure(archive, plan, result, exc, actor)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _mark_bad_copies(archive, plan, result, clock)
    archive.audit.append(
        actor, "dossier.exported", "dossier", plan.aip_id,
        {"code": plan.code, "file": out_zip.name, "zip_sha256": result.zip_sha256, "zip_bytes": result.zip_bytes,
         "files": result.files, "bytes": result.bytes, "served_by": result.served_by,
         "fallbacks": [item.to_dict() for item in result.fallbacks[:MAX_LISTED_FALLBACKS]]},
    )
    return result


def _plan(archive: Archive, ident: str, actor: str) -> _Plan:
    with archive.catalog.session(readonly=True) as session:
        try:
            row = find_dossier(session, ident)
        except FixityError as exc:
            raise ExportError(exc.message_vi, exc.message_en) from None
        refusal = _refusal(row, ident)
        if refusal is not None:
            aip_id = row.aip_id
        else:
            assert row.aip_id is not None and row.wrapped_key is not None
            files = {item.path: (item.size, item.sha256) for item in row.files}
            copies: dict[str, list[_CopyRef]] = defaultdict(list)
            for copy in row.copies:
                if copy.state is not CopyState.DELETED:
                    copies[copy.path].append(_CopyRef(copy.id, copy.location_id, copy.object_key))
            return _Plan(row.id, row.aip_id, row.code, row.wrapped_key, files, dict(copies),
                         repo.complete_locations(row))
    archive.audit.append(actor, "dossier.export_refused", "dossier", aip_id, {"reason": refusal.message_en})
    raise refusal


def _refusal(row: DossierRow, ident: str) -> ExportError | None:
    if row.state is not DossierState.ARCHIVED:
        return ExportError(
            f"Hồ sơ {ident} đang ở trạng thái {row.state.value}: chỉ xuất được hồ sơ đã lưu trữ",
            f"Dossier {ident} is {row.state.value}: only archived dossiers can be exported",
        )
    if row.aip_id is None or row.wrapped_key is None or row.key_destroyed:
        return ExportError(
            f"Hồ sơ {ident} không còn khóa dữ liệu: không giải mã được",
            f"Dossier {ident} has no data key: it cannot be decrypted",
        )
    return None


def _unwrap(archive: Archive, plan: _Plan) -> bytes:
    try:
        return archive.master_key.unwrap(plan.wrapped_key)
    except UnwrapError as exc:
        raise ExportError(
            f"Không mở được khóa dữ liệu của hồ sơ {plan.aip_id}: {exc}",
            f"Cannot unwrap the data key of {plan.aip_id}: {exc}",
        ) from exc


def _location_order(archive: Archive, plan: _Plan, only: str | None) -> list[ObjectStore]:
    if only is not None:
        try:
            return [archive.store(only)]
        except KeyError:
            raise ExportError(f"Không có vị trí lưu trữ {only}", f"No storage location {only}") from None
    complete = [store for store in archive.stores if store.location_id in plan.complete_locations]
    others = [store for store in archive.stores if store.location_id not in plan.complete_locations]
    healthy = [store for store in complete + others if store.healthy()]
    return healthy + [store for store in complete + others if store not in healthy]


class _Mismatch(Exception):
    pass


def _restore_file(
    archive: Archive,
    plan: _Plan,
    path: str,
    bag_dir: Path,
    data_key: bytes,
    order: list[ObjectStore],
    result: ExportResult,
) -> str:
    """Decrypt one file of the bag into `bag_dir` from the first location that gives authentic bytes."""
    target = _safe_target(bag_dir, path)
    refs = {ref.location_id: ref for ref in plan.copies.get(path, [])}
    expected = plan.files.get(path)
    tried = 0
    for store in order:
        ref = refs.get(store.location_id)
        if ref is None:
            continue
        tried += 1
        try:
            size = _decrypt_into(store, ref.object_key, plan.aip_id, path, data_key, target, expected)
        except (StorageError, DecryptionError, _Mismatch, OSError) as exc:
            result.fallbacks.append(Fallback(path, store.location_id, f"{type(exc).__name__}: {exc}"))
            continue
        result.bytes += size
        return store.location_id
    failures = [item for item in result.fallbacks if item.path == path]
    reasons = "; ".join(f"{item.location_id}: {item.error}" for item in failures) or "no copy on any location"
    raise ExportError(
        f"Không đọc được tệp {path} của hồ sơ {plan.aip_id} từ vị trí nào ({tried} vị trí đã thử): {reasons}",
        f"No location gave authentic bytes for {path} of {plan.aip_id} ({tried} tried): {reasons}",
    )


def _safe_target(bag_dir: Path, path: str) -> Path:
    validate_key(path)  # a relative path without '..' or empty segments
    return bag_dir.joinpath(*path.split("/"))


def _decrypt_into(
    store: ObjectStore,
    key: str,
    aip_id: str,
    path: str,
    data_key: bytes,
    target: Path,
    expected: tuple[int, str] | None,
) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    hasher = hashlib.sha256()
    buffer = memoryview(bytearray(BUFFER_BYTES))
    size = 0
    try:
        with store.open(key) as stored, partial.open("wb") as out:
            reader = DecryptingReader(stored, data_key, aad=object_aad(aip_id, path))
            while count := read_into(reader, buffer):
                chunk = buffer[:count]
                hasher.update(chunk)
                out.write(chunk)
                size += count
        if expected is not None and (size, hasher.hexdigest()) != expected:
            raise _Mismatch(
                f"plaintext is {size} bytes with SHA-256 {hasher.hexdigest()}, the catalog says "
                f"{expected[0]} bytes, {expected[1]}"
            )
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return size


def _mark_bad_copies(archive: Archive, plan: _Plan, result: ExportResult, clock: Clock) -> None:
    """A copy that failed to decrypt or to match the catalog is corrupt: the next fixity audit repairs it."""
    authentic_failures = {
        (item.location_id, item.path) for item in result.fallbacks
        if item.error.startswith(("DecryptionError", "_Mismatch"))
    }
    if not authentic_failures:
        return
    with archive.catalog.session() as session:
        for location_id, path in sorted(authentic_failures):
            ref = next((r for r in plan.copies.get(path, []) if r.location_id == location_id), None)
            row = session.get(CopyRow, ref.copy_id) if ref is not None else None
            if row is not None:
                repo.record_fixity(session, row, outcome=Outcome.FAILURE, state=CopyState.CORRUPT, clock=clock)


def _audit_failure(archive: Archive, plan: _Plan, result: ExportResult, exc: ExportError, actor: str) -> None:
    with contextlib.suppress(Exception):  # the export error itself is what the caller must see
        archive.audit.append(
            actor, "dossier.export_failed", "dossier", plan.aip_id,
            {"code": plan.code, "error": exc.message_en[:1000],
             "fallbacks": [item.to_dict() for item in result.fallbacks[:MAX_LISTED_FALLBACKS]]},
        )


# ---------------------------------------------------------------- locations


def locations_report(archive: Archive) -> list[dict[str, Any]]:
    """Every configured location: kind, where, healthy, and what the catalog says it holds, dossier by dossier.

    Only archived dossiers count. `complete` means the location holds a verified
    copy of every file of that dossier's AIP.
    """
    configured = {location.id: location for location in archive.settings.storage.locations}
    with archive.catalog.session(readonly=True) as session:
        per_state = session.execute(
            select(CopyRow.location_id, CopyRow.state, func.count(), func.coalesce(func.sum(CopyRow.stored_size), 0))
            .join(DossierRow, DossierRow.id == CopyRow.dossier_id)
            .where(DossierRow.state == DossierState.ARCHIVED, CopyRow.state != CopyState.DELETED)
            .group_by(CopyRow.location_id, CopyRow.state)
        ).all()
        file_counts: dict[int, int] = dict(
            session.execute(
                select(FileRow.dossier_id, func.count())
                .join(DossierRow, DossierRow.id == FileRow.dossier_id)
                .where(DossierRow.state == DossierState.ARCHIVED)
                .group_by(FileRow.dossier_id)
            ).all()
        )
        per_dossier = session.execute(
            select(
                CopyRow.location_id, DossierRow.id, DossierRow.aip_id, DossierRow.code, func.count(),
                func.sum(CopyRow.stored_size), func.sum(case((CopyRow.state == CopyState.VERIFIED, 1), else_=0)),
                func.min(CopyRow.last_fixity_at),
            )
            .join(DossierRow, DossierRow.id == CopyRow.dossier_id)
            .where(DossierRow.state == DossierState.ARCHIVED, CopyRow.state != CopyState.DELETED)
            .group_by(CopyRow.location_id, DossierRow.id, DossierRow.aip_id, DossierRow.code)
            .order_by(CopyRow.location_id, DossierRow.id)
        ).all()
    report = []
    for store in archive.stores:
        location = configured.get(store.location_id)
        states = {str(state): (count, size) for loc, state, count, size in per_state if loc == store.location_id}
        dossiers = [
            {"aip_id": aip_id, "code": code, "objects": count, "bytes": int(size or 0),
             "verified": int(verified or 0), "complete": int(verified or 0) >= file_counts.get(dossier_id, 0) > 0,
             "oldest_check": iso_vn(oldest) if oldest else None}
            for loc, dossier_id, aip_id, code, count, size, verified, oldest in per_dossier
            if loc == store.location_id
        ]
        report.append({
            "id": store.location_id,
            "kind": location.kind if location else type(store).__name__,
            "where": _where(archive, store.location_id),
            "healthy": store.healthy(),
            "objects": sum(count for count, _ in states.values()),
            "bytes": int(sum(size for _, size in states.values())),
            "by_state": {state: count for state, (count, _) in sorted(states.items())},
            "dossiers": len(dossiers),
            "complete_dossiers": sum(1 for item in dossiers if item["complete"]),
            "dossier_copies": dossiers,
        })
    return report


def _where(archive: Archive, location_id: str) -> str:
    """A description without secrets: the folder, or s3://bucket/prefix at the endpoint."""
    for location in archive.settings.storage.locations:
        if location.id == location_id:
            if location.kind == "local":
                return str(archive.settings.location_path(location))
            endpoint = f" ({location.endpoint_url})" if location.endpoint_url else ""
            return f"s3://{location.bucket}/{location.prefix}{endpoint}"
    return ""
