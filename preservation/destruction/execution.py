"""Executing an approved destruction (R-DS-2, R-DS-4): every copy, the index, caches, catalog text and the key.

`StorageExecutor` implements `workflow.Executor`. For each dossier of the order,
on its own, in a bounded pool:

1. **prepare** (one transaction): the holds are checked again at this moment
   (`workflow.hold_reasons` and the retention holds, `active_holds_for`): a held
   dossier is reported `HELD` with nothing deleted. Otherwise the dossier becomes
   `destroying` (visible) and everything the destruction record needs is read
   *before* anything is deleted: codes, title, dates, sizes, the SHA-256 of every
   file of the AIP (`files` rows) and the copies per location.
2. **delete** every object `aips/<aip_id>/…` on every configured location (S3:
   every version, delete marker and unfinished upload; local: unlink, fsync of
   the folder, leftover temporary files too), each location with retries and
   exponential backoff, then list again to confirm that nothing is left. A
   location that keeps failing is not waited for again in the same run.
3. **purge** staging, quarantine and cache folders of the submission/AIP under
   the data home, and call every search deletion hook (`search.hooks`).
4. **record** (one transaction, SQLite `secure_delete` on): delete the
   `documents`, `files` and `copies` rows and the submission's findings and
   gate events, reduce the submission's receipt to its summary, replace the
   dossier's metadata JSON by the metadata stub kept forever (R-DS-3), destroy
   the data key (`wrapped_key = NULL`, `key_destroyed`) - also when a location
   could not be reached: those copies are unreadable from now on (R-DS-2) - and
   set the state: `destroyed` when every object is gone and the index purged,
   else the dossier stays `destroying`, its stub saying which locations still
   hold objects; it is reported `FAILED` ("partially destroyed"), never silently
   (R-DS-4). A PREMIS deletion event (and a destruction event once complete) and
   an audit entry are written in the same transaction.

After the order, the catalog is scrubbed: SQLite `VACUUM` (temp store in memory)
and `wal_checkpoint(TRUNCATE)`, so no deleted row, old metadata or wrapped key
survives in the database file, its WAL or free pages; PostgreSQL `VACUUM` of the
touched tables (dead tuples stay in the data files until their pages are reused,
and WAL archives and base backups keep the old rows: docs/keys.md bounds these).

`retry_pending_destruction(archive)` finishes dossiers left `destroying` (a
location was down, a crash): only dossiers on an approved list, holds checked
again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive_core.catalog import (
    CopyRow,
    DocumentRow,
    DossierRow,
    DossierState,
    EventRow,
    FileRow,
    FindingRow,
    SubmissionRow,
    repo,
)
from archive_core.catalog.database import Catalog
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.storage import LocalStore, ObjectStore
from archive_core.storage.base import TEMP_PREFIX
from archive_core.timeutil import Clock, iso_vn, system_clock
from ingest.archive import SYSTEM_ACTOR, Archive
from preservation.destruction.models import DestructionItemRow, DestructionListRow, ItemState
from preservation.destruction.workflow import (
    ExecutionItem,
    ExecutionOrder,
    ExecutionReport,
    ItemOutcome,
    ItemResult,
    hold_reasons,
)
from preservation.retention.holds import active_holds_for
from search.hooks import IndexDeletionHook, deletion_hooks

log = logging.getLogger(__name__)

STUB_FORMAT = "earchive-destroyed-dossier/1"
"""`dossiers.metadata` of a destroyed dossier carries `"format": STUB_FORMAT`."""
AGENT = Agent("earchive destruction executor")
CACHE_FOLDERS = ("cache", "exports")
"""Folders under the data home whose entries named after an AIP are purged with it (besides staging)."""
SCRUBBED_TABLES = ("dossiers", "documents", "files", "copies", "submissions", "findings", "events")
RECEIPT_SUMMARY = (
    "submission_id", "package_name", "package_kind", "agency_code", "agency_name", "dossier_codes", "dossiers",
    "documents", "files", "total_bytes", "received_at", "status", "fingerprint",
)
"""What a destroyed dossier's submission receipt keeps (codes and counts, no descriptions)."""
KEY_BACKUP_RETENTION_DAYS = 35
"""docs/keys.md: key backups made before a destruction expire this many days after it."""


# ---------------------------------------------------------------- what is destroyed


@dataclass(frozen=True)
class DestroyedFile:
    path: str
    """Bag-relative path in the AIP."""
    role: str
    size: int
    sha256: str
    """SHA-256 of the plaintext file (what the submitter sent or the archive derived)."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "role": self.role, "size": self.size, "sha256": self.sha256}


def manifest_sha256(files: Sequence[DestroyedFile]) -> str:
    """SHA-256 of a BagIt-style manifest (`<sha256>  <path>` lines in path order): one value naming every file."""
    lines = "".join(f"{item.sha256}  {item.path}\n" for item in sorted(files, key=lambda item: item.path))
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass
class _Plan:
    """Everything about one dossier that must be known before deleting it."""

    dossier_id: int
    code: str | None
    aip_ids: list[str]
    submission_id: str | None
    files: list[DestroyedFile]
    copies: dict[str, int]
    """Location id → number of objects the catalog lists there."""
    stub: dict[str, Any]
    """The metadata stub as it will be kept (without its `destruction` part)."""
    destruction: dict[str, Any]
    """The `destruction` part of an earlier attempt's stub (empty on the first attempt)."""


@dataclass
class _Deleted:
    """What happened on one location."""

    state: str
    """`deleted` (nothing left), `failed` (unreachable or refused), `not_configured` (holds copies, no store)."""
    removed: int = 0
    attempts: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "removed": self.removed, "attempts": self.attempts, "detail": self.detail}


@dataclass(frozen=True)
class PendingDestruction:
    """A dossier whose destruction has begun and is not complete (R-DS-4: shown until done)."""

    dossier_id: int
    code: str | None
    aip_id: str | None
    key_destroyed: bool
    remaining_locations: tuple[str, ...]
    list_code: str | None
    detail: str


# ---------------------------------------------------------------- the executor


class StorageExecutor:
    """Deletes every copy of each approved dossier and destroys its key (`workflow.Executor`)."""

    def __init__(
        self,
        archive: Archive,
        *,
        hooks: Sequence[IndexDeletionHook] | None = None,
        retries: int = 3,
        backoff_seconds: float = 0.2,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
        workers: int | None = None,
        scrub_catalog: bool = True,
        vacuum_full: bool = False,
    ) -> None:
        """`hooks`: the search deletion hooks to call (default: those registered in `search.hooks` at run time).
        `retries`: further attempts per location after the first, waiting `backoff_seconds`, then twice that, ….
        `scrub_catalog`: VACUUM the catalog after the order (SQLite also truncates its WAL).
        `vacuum_full`: PostgreSQL `VACUUM FULL` (rewrites the tables, takes an exclusive lock)."""
        if retries < 0 or backoff_seconds < 0:
            raise ValueError("retries and backoff_seconds must not be negative")
        self.archive = archive
        self.hooks = tuple(hooks) if hooks is not None else None
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.clock = clock
        self.sleep = sleep
        self.workers = workers or max(8, 2 * archive.settings.workers)
        self.scrub_catalog = scrub_catalog
        self.vacuum_full = vacuum_full
        self._given_up: dict[str, str] = {}

    # ------------------------------------------------------------ Executor

    def execute(self, order: ExecutionOrder) -> ExecutionReport:
        started = self.clock()
        self._given_up = {}
        with _execution_lock(self.archive):
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="destroy") as pool:
                results = list(pool.map(lambda item: self._destroy_one(order, item), order.items))
            scrub = self._scrub() if self.scrub_catalog and results else {}
        finished = self.clock()
        counts = {outcome.value: sum(result.outcome == outcome for result in results) for outcome in ItemOutcome}
        data: dict[str, Any] = {
            "executor": AGENT.label,
            "list_code": order.list_code,
            "locations": [store.location_id for store in self.archive.stores],
            "outcomes": counts,
            "catalog_scrub": scrub,
        }
        if self._given_up:
            data["unreachable"] = dict(self._given_up)
        return ExecutionReport(tuple(results), started_at=started, finished_at=finished, data=data)

    # ------------------------------------------------------------ one dossier

    def _destroy_one(self, order: ExecutionOrder, item: ExecutionItem) -> ItemResult:
        try:
            prepared = self._prepare(order, item)
            if isinstance(prepared, ItemResult):
                return prepared
            deleted = self._delete_everywhere(prepared)
            self._purge_files(prepared)
            index_errors = self._call_hooks(prepared)
            return self._record(order, prepared, deleted, index_errors)
        except Exception as exc:  # an item is always reported; the dossier stays destroying and visible
            log.exception("destruction of dossier %s failed", item.dossier_id)
            return ItemResult(item.dossier_id, ItemOutcome.FAILED, f"lỗi khi hủy / error: {exc!r}"[:1000])

    def _prepare(self, order: ExecutionOrder, item: ExecutionItem) -> _Plan | ItemResult:
        actor = order.executor
        with self.archive.catalog.session() as session:
            row = session.get(DossierRow, item.dossier_id)
            if row is None:
                return ItemResult(item.dossier_id, ItemOutcome.FAILED, "không có hồ sơ / no such dossier")
            if row.state == DossierState.DESTROYED:
                stub = destruction_stub(row) or {}
                return ItemResult(row.id, ItemOutcome.DESTROYED, "đã hủy trước đó / already destroyed",
                                  _result_data(stub))
            if row.state not in (DossierState.ARCHIVED, DossierState.DESTROYING):
                return ItemResult(row.id, ItemOutcome.FAILED,
                                  f"hồ sơ ở trạng thái {row.state.value} / dossier is {row.state.value}")
            reasons = current_holds(session, row)
            if reasons:
                return self._held(session, row, reasons, actor, order)
            row.state = DossierState.DESTROYING
            return _plan(row)

    def _held(
        self, session: Session, row: DossierRow, reasons: list[str], actor: str, order: ExecutionOrder
    ) -> ItemResult:
        text = "; ".join(reasons)
        if row.key_destroyed:
            # Content is already unreadable; what is left is deleted once the hold is released.
            detail = (f"đang bị tạm giữ sau khi đã hủy khóa; bản sao còn lại được giữ đến khi giải tỏa: {text} / "
                      f"held after the key was destroyed; remaining copies kept until the hold is released")
            return ItemResult(row.id, ItemOutcome.FAILED, detail, {"holds": reasons, "key_destroyed": True})
        if row.state == DossierState.DESTROYING:
            row.state = DossierState.ARCHIVED
        self.archive.audit.append_in(session, actor, "dossier.destruction_held", "dossier", row.aip_id, {
            "code": row.code, "list": order.list_code, "holds": reasons,
        })
        return ItemResult(row.id, ItemOutcome.HELD, f"tạm giữ / held: {text}", {"holds": reasons})

    def _delete_everywhere(self, plan: _Plan) -> dict[str, _Deleted]:
        outcomes: dict[str, _Deleted] = {}
        for store in self.archive.stores:
            outcomes[store.location_id] = self._delete_on(store, plan.aip_ids)
        for location_id in plan.copies.keys() - outcomes.keys():
            outcomes[location_id] = _Deleted(
                "not_configured", detail="vị trí lưu trữ không còn trong cấu hình / location not configured"
            )
        for location_id in plan.destruction.get("remaining_locations", []):
            outcomes.setdefault(location_id, _Deleted("not_configured", detail="location not configured"))
        return outcomes

    def _delete_on(self, store: ObjectStore, aip_ids: Sequence[str]) -> _Deleted:
        result = _Deleted("deleted")
        attempts = 1 if store.location_id in self._given_up else 1 + self.retries
        for attempt in range(attempts):
            result.attempts = attempt + 1
            try:
                result.removed += sum(_delete_aip(store, aip_id) for aip_id in aip_ids)
                result.state, result.detail = "deleted", ""
                return result
            except Exception as exc:
                result.state, result.detail = "failed", f"{type(exc).__name__}: {exc}"[:500]
                log.warning("deleting %s on %s failed (attempt %d): %s", aip_ids, store.location_id,
                            attempt + 1, exc)
            if attempt + 1 < attempts:
                self.sleep(self.backoff_seconds * 2**attempt)
        self._given_up[store.location_id] = result.detail
        return result

    def _purge_files(self, plan: _Plan) -> None:
        settings = self.archive.settings
        names = {name for name in (plan.submission_id, *plan.aip_ids) if name}
        for folder in (settings.staging_dir, settings.quarantine_dir,
                       *(settings.home / name for name in CACHE_FOLDERS)):
            _purge_named(folder, names)

    def _call_hooks(self, plan: _Plan) -> list[str]:
        errors = []
        hooks = self.hooks if self.hooks is not None else deletion_hooks()
        for hook in hooks:
            for aip_id in plan.aip_ids:
                try:
                    hook.delete_dossier(aip_id, plan.code)
                except Exception as exc:
                    log.warning("search deletion hook %r failed for %s: %s", hook, aip_id, exc)
                    errors.append(f"{type(hook).__name__}: {exc!r}"[:300])
        return errors

    def _record(
        self, order: ExecutionOrder, plan: _Plan, deleted: dict[str, _Deleted], index_errors: list[str]
    ) -> ItemResult:
        now = self.clock()
        remaining = sorted(location for location, outcome in deleted.items() if outcome.state != "deleted")
        complete = not remaining and not index_errors
        with self.archive.catalog.session() as session:
            _secure_delete(session)
            row = session.get_one(DossierRow, plan.dossier_id)
            purged = _purge_catalog(session, row, plan)
            key = self._destroy_key(row, plan, now)
            destruction = _destruction_part(order, plan, deleted, index_errors, key, purged, now, complete=complete)
            row.metadata_json = {**plan.stub, "destruction": destruction}
            if complete:
                row.state, row.destroyed_at = DossierState.DESTROYED, row.destroyed_at or now
            data = _result_data(row.metadata_json)
            self._events(session, row, plan, deleted, remaining, complete, now)
            action = "dossier.destroyed" if complete else "dossier.destruction_incomplete"
            self.archive.audit.append_in(session, order.executor, action, "dossier", row.aip_id, {
                **data, "code": row.code, "list": order.list_code, "index_errors": index_errors,
                "purged": purged, "attempt": destruction["attempts"],
            })
        self._publish_destruction(plan, key, now)
        if complete:
            return ItemResult(plan.dossier_id, ItemOutcome.DESTROYED, "", data)
        detail = (
            "hủy chưa hoàn tất, khóa đã hủy; còn bản sao tại: "
            f"{', '.join(remaining) or '-'}" + (f"; chỉ mục: {'; '.join(index_errors)}" if index_errors else "")
            + f" / partially destroyed, key destroyed; objects remain on: {', '.join(remaining) or '-'}"
            + ("; index not purged" if index_errors else "")
        )
        return ItemResult(plan.dossier_id, ItemOutcome.FAILED, detail, data)

    def _publish_destruction(self, plan: _Plan, key: Mapping[str, Any], now: datetime) -> None:
        """Leave `destructions/<aip>.json` on every reachable location: a restore from an older
        catalog backup reads it and withholds the destroyed key (docs/backup.md)."""
        from archive_core.backup import DestructionRecord, record_destruction

        for aip_id in plan.aip_ids:
            record = DestructionRecord(
                aip_id=aip_id,
                executed_at=str(key.get("destroyed_at") or iso_vn(now)),
                wrapped_key_sha256=key.get("wrapped_key_sha256"),
                master_key_id=key.get("master_key_id"),
                dossier_code=plan.code,
            )
            try:
                record_destruction(self.archive.stores, record)
            except Exception as exc:  # the catalog already holds the fact; the copy on storage is a safeguard
                log.warning("could not publish the destruction of %s: %s", aip_id, exc)

    def _destroy_key(self, row: DossierRow, plan: _Plan, now: datetime) -> dict[str, Any]:
        earlier: dict[str, Any] = plan.destruction.get("key", {})
        if row.key_destroyed and row.wrapped_key is None:
            return earlier
        wrapped = row.wrapped_key or b""
        key = {
            "destroyed_at": iso_vn(now),
            "master_key_id": row.master_key_id,
            "wrapped_key_sha256": hashlib.sha256(wrapped).hexdigest() if wrapped else None,
        }
        row.wrapped_key = None
        row.key_destroyed = True
        return key

    def _events(
        self, session: Session, row: DossierRow, plan: _Plan, deleted: Mapping[str, _Deleted], remaining: list[str],
        complete: bool, now: datetime,
    ) -> None:
        clock: Clock = lambda: now  # noqa: E731
        removed = sum(outcome.removed for outcome in deleted.values())
        where = "; ".join(f"{location}: {outcome.state} ({outcome.removed})" for location, outcome in deleted.items())
        events = [event(
            EventType.DELETION, AGENT, Outcome.SUCCESS if not remaining else Outcome.FAILURE,
            f"Xóa mọi bản sao của AIP {', '.join(plan.aip_ids)} trên mọi vị trí lưu trữ (R-DS-2)",
            outcome_detail=f"objects removed={removed}; {where}", objects=tuple(plan.aip_ids), clock=clock,
        )]
        if complete:
            events.append(event(
                EventType.DESTRUCTION, AGENT, Outcome.SUCCESS,
                f"Hủy hồ sơ {row.code or row.id}: mọi bản sao đã xóa, khóa dữ liệu đã hủy, chỉ còn bản ghi tóm tắt",
                outcome_detail=f"files={len(plan.files)} manifest_sha256={manifest_sha256(plan.files)}",
                objects=tuple(plan.aip_ids), clock=clock,
            ))
        repo.add_events(session, events, dossier_id=row.id)

    # ------------------------------------------------------------ the catalog file

    def _scrub(self) -> dict[str, Any]:
        try:
            return scrub_catalog(self.archive.catalog, vacuum_full=self.vacuum_full, sleep=self.sleep)
        except Exception as exc:  # reported, not hidden: the destruction itself is done
            log.exception("scrubbing the catalog after destruction failed")
            return {"ok": False, "error": repr(exc)[:500]}


# ---------------------------------------------------------------- retrying


@dataclass(frozen=True)
class RetryOutcome:
    order: ExecutionOrder
    report: ExecutionReport


def pending_destructions(archive: Archive) -> list[PendingDestruction]:
    """Every dossier in `destroying`: begun, not complete (a location was down, a crash, a hold after the key)."""
    pending = []
    with archive.catalog.session(readonly=True) as session:
        rows = session.scalars(
            select(DossierRow).where(DossierRow.state == DossierState.DESTROYING).order_by(DossierRow.id)
        )
        for row in rows:
            stub = destruction_stub(row) or {}
            part = stub.get("destruction", {})
            list_code = part.get("reference") or _list_code_of(session, row.id)
            pending.append(PendingDestruction(
                row.id, row.code, row.aip_id, row.key_destroyed, tuple(part.get("remaining_locations", [])),
                list_code, "khóa đã hủy, còn bản sao / key destroyed, copies remain" if row.key_destroyed
                else "đang hủy / being destroyed",
            ))
    return pending


def retry_pending_destruction(
    archive: Archive,
    *,
    actor: str = SYSTEM_ACTOR,
    hooks: Sequence[IndexDeletionHook] | None = None,
    retries: int = 3,
    backoff_seconds: float = 0.2,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RetryOutcome]:
    """Finish every destruction left incomplete (R-DS-4), list by list, holds checked again.

    Only dossiers on an approved list (item executing or failed) are touched. The lists'
    workflow state is not changed here (a person's step): the next `start_execution`
    retry of a list finds its dossiers destroyed and closes it.
    """
    executor = StorageExecutor(archive, hooks=hooks, retries=retries, backoff_seconds=backoff_seconds,
                               clock=clock, sleep=sleep)
    outcomes = []
    for order in _retry_orders(archive, actor, clock()):
        outcomes.append(RetryOutcome(order, executor.execute(order)))
    return outcomes


def _retry_orders(archive: Archive, actor: str, now: datetime) -> list[ExecutionOrder]:
    with archive.catalog.session(readonly=True) as session:
        query = (
            select(DestructionItemRow, DestructionListRow)
            .join(DestructionListRow, DestructionListRow.id == DestructionItemRow.list_id)
            .join(DossierRow, DossierRow.id == DestructionItemRow.dossier_id)
            .where(DossierRow.state == DossierState.DESTROYING,
                   DestructionItemRow.state.in_((ItemState.EXECUTING, ItemState.FAILED)))
            .order_by(DestructionListRow.id, DestructionItemRow.position)
        )
        grouped: dict[str, tuple[DestructionListRow, list[ExecutionItem]]] = {}
        for item, lst in session.execute(query).all():
            entry = grouped.setdefault(lst.code, (lst, []))
            entry[1].append(ExecutionItem(item.dossier_id, item.dossier_code, item.aip_id, item.title))
        return [
            ExecutionOrder(
                list_code=code, agency_code=lst.agency_code,
                decided_by=lst.decided_by.username if lst.decided_by else None, decided_at=lst.decided_at,
                execution_deadline=lst.execution_deadline, executor=actor, started_at=now, items=tuple(items),
                retry=True,
            )
            for code, (lst, items) in grouped.items()
        ]


def _list_code_of(session: Session, dossier_id: int) -> str | None:
    query = (
        select(DestructionListRow.code)
        .join(DestructionItemRow, DestructionItemRow.list_id == DestructionListRow.id)
        .where(DestructionItemRow.dossier_id == dossier_id)
        .order_by(DestructionItemRow.id.desc())
    )
    return session.scalars(query).first()


# ---------------------------------------------------------------- holds and stubs


def current_holds(session: Session, row: DossierRow) -> list[str]:
    """Why the dossier must not be destroyed at this moment (R-RT-4): the flag and the holds themselves."""
    reasons = list(hold_reasons(session, row))
    if not reasons:  # the workflow's check reads the holds too; asking them again costs one query
        holds = active_holds_for(session, row)
        reasons = [f"lệnh tạm giữ số {hold.id}: {hold.reason} ({hold.owner})" for hold in holds]
    return reasons


def destruction_stub(row: DossierRow) -> dict[str, Any] | None:
    """The metadata stub of a dossier whose destruction was recorded (None: not destroyed)."""
    data = row.metadata_json
    return data if isinstance(data, dict) and data.get("format") == STUB_FORMAT else None


def _plan(row: DossierRow) -> _Plan:
    earlier = destruction_stub(row)
    if earlier is not None:  # a retry: the rows are gone, the stub has everything
        files = [DestroyedFile(**item) for item in earlier.get("files", [])]
        base = {key: value for key, value in earlier.items() if key != "destruction"}
        return _Plan(row.id, row.code, list(earlier.get("aip_ids", [])), earlier.get("submission_id"), files, {},
                     base, dict(earlier.get("destruction", {})))
    files = sorted(
        (DestroyedFile(item.path, item.role.value, item.size, item.sha256) for item in row.files),
        key=lambda item: item.path,
    )
    copies: dict[str, int] = {}
    for copy in row.copies:
        copies[copy.location_id] = copies.get(copy.location_id, 0) + 1
    aip_ids = sorted({aip for aip in (row.aip_id, *(copy.aip_id for copy in row.copies)) if aip})
    old = row.metadata_json or {}
    fonds = old.get("fonds") or {}
    stub: dict[str, Any] = {
        "format": STUB_FORMAT,
        "kind": row.kind.value,
        "code": row.code,
        "file_code": row.file_code,
        "arc_file_code": row.arc_file_code,
        "organ_id": row.organ_id,
        "identifier": old.get("identifier"),
        "title": row.title,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "maintenance": row.maintenance,
        "mode": row.mode,
        "language": old.get("language"),
        "agency_code": row.agency_code,
        "agency_name": row.agency_name,
        "fonds": {key: fonds.get(key) for key in ("identifier", "organ_id", "fond_name")} if fonds else None,
        "document_count": len(row.documents),
        "file_count": len(files),
        "total_bytes": sum(item.size for item in files),
        "stored_bytes": sum(copy.stored_size for copy in row.copies),
        "copies": dict(sorted(copies.items())),
        "aip_ids": aip_ids,
        "submission_id": row.submission_id,
        "archived_at": iso_vn(row.archived_at) if row.archived_at else None,
        "manifest_sha256": manifest_sha256(files),
        "files": [item.to_dict() for item in files],
    }
    return _Plan(row.id, row.code, aip_ids, row.submission_id, files, copies, stub, {})


def _destruction_part(
    order: ExecutionOrder, plan: _Plan, deleted: Mapping[str, _Deleted], index_errors: list[str],
    key: dict[str, Any], purged: dict[str, int], now: datetime, *, complete: bool,
) -> dict[str, Any]:
    earlier = plan.destruction
    locations = dict(earlier.get("locations", {}))
    for location_id, outcome in deleted.items():
        before = locations.get(location_id, {})
        entry = outcome.to_dict()
        entry["removed"] += int(before.get("removed", 0))
        locations[location_id] = entry
    remaining = sorted(location for location, outcome in deleted.items() if outcome.state != "deleted")
    first = earlier.get("first_attempt_at") or iso_vn(order.started_at)
    total_purged = {name: purged.get(name, 0) + int(earlier.get("purged", {}).get(name, 0))
                    for name in {*purged, *earlier.get("purged", {})}}
    return {
        "state": "destroyed" if complete else "incomplete",
        "reference": earlier.get("reference") or order.list_code,
        "agency_code": order.agency_code,
        "decided_by": earlier.get("decided_by") or order.decided_by,
        "decided_at": earlier.get("decided_at") or (iso_vn(order.decided_at) if order.decided_at else None),
        "executor": order.executor,
        "first_attempt_at": first,
        "last_attempt_at": iso_vn(now),
        "completed_at": iso_vn(now) if complete else None,
        "attempts": int(earlier.get("attempts", 0)) + 1,
        "locations": dict(sorted(locations.items())),
        "remaining_locations": remaining,
        "index": "purged" if not index_errors else "failed: " + "; ".join(index_errors),
        "key": key,
        "purged": dict(sorted(total_purged.items())),
        "crypto_shredded_everywhere_on": _plus_days(key.get("destroyed_at"), KEY_BACKUP_RETENTION_DAYS),
    }


def _plus_days(moment: str | None, days: int) -> str | None:
    if not moment:
        return None
    return (datetime.fromisoformat(moment) + timedelta(days=days)).date().isoformat()


def _result_data(stub: Mapping[str, Any]) -> dict[str, Any]:
    """What the workflow keeps with its transition: small (no per-file list; the stub has it)."""
    part = stub.get("destruction", {})
    return {
        "aip_ids": stub.get("aip_ids", []),
        "files": stub.get("file_count"),
        "bytes": stub.get("total_bytes"),
        "manifest_sha256": stub.get("manifest_sha256"),
        "locations": {location: entry.get("state") for location, entry in part.get("locations", {}).items()},
        "remaining_locations": part.get("remaining_locations", []),
        "key_destroyed": bool(part.get("key")),
        "wrapped_key_sha256": part.get("key", {}).get("wrapped_key_sha256"),
        "index": part.get("index"),
    }


# ---------------------------------------------------------------- deleting


def _delete_aip(store: ObjectStore, aip_id: str) -> int:
    prefix = f"aips/{aip_id}/"
    removed = store.delete_prefix(prefix)
    if isinstance(store, LocalStore):
        _remove_local_leftovers(store, aip_id)
    left = next(iter(store.list(prefix)), None)
    if left is not None:
        raise RuntimeError(f"{store.location_id}: {left.key} is still there after deleting {prefix}")
    return removed


def _remove_local_leftovers(store: LocalStore, aip_id: str) -> None:
    """Temporary files of interrupted puts (ciphertext of this AIP) that no listing shows."""
    folder = store.root / "aips" / aip_id
    if not folder.is_dir() or folder.is_symlink():
        return
    for current, folders, files in os.walk(folder, topdown=False):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                os.unlink(os.path.join(current, name))
        for name in folders:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(current, name))
    with contextlib.suppress(OSError):
        folder.rmdir()
    _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _purge_named(folder: Path, names: set[str]) -> None:
    """Remove `folder/<name>` and, one level down, `folder/*/<name>` (export and restore work folders)."""
    if not folder.is_dir() or not names:
        return
    for entry in folder.iterdir():
        if entry.name in names or any(name in entry.name for name in names):
            _remove(entry)
        elif entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                if inner.name in names:
                    _remove(entry)
                    break


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ---------------------------------------------------------------- the catalog


def _secure_delete(session: Session) -> None:
    """SQLite overwrites deleted content with zeros on this connection (pages freed by this transaction)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def _purge_catalog(session: Session, row: DossierRow, plan: _Plan) -> dict[str, int]:
    """Delete the dossier's descriptive rows and its submission's findings and gate events."""
    counts = {}
    for name, table, column in (("files", FileRow, FileRow.dossier_id), ("copies", CopyRow, CopyRow.dossier_id),
                                ("documents", DocumentRow, DocumentRow.dossier_id)):
        result = session.execute(delete(table).where(column == row.id).execution_options(synchronize_session=False))
        counts[name] = int(getattr(result, "rowcount", 0) or 0)
    session.expire(row, ["documents", "files", "copies"])
    submission = session.get(SubmissionRow, plan.submission_id) if plan.submission_id else None
    if submission is not None:
        findings = session.execute(delete(FindingRow).where(FindingRow.submission_id == submission.id)
                                   .execution_options(synchronize_session=False))
        events = session.execute(delete(EventRow).where(EventRow.submission_id == submission.id,
                                                        EventRow.dossier_id.is_(None))
                                 .execution_options(synchronize_session=False))
        counts["findings"] = int(getattr(findings, "rowcount", 0) or 0)
        counts["events"] = int(getattr(events, "rowcount", 0) or 0)
        session.expire(submission, ["findings"])
        receipt = submission.receipt or {}
        if not receipt.get("destroyed"):
            submission.receipt = {key: receipt[key] for key in RECEIPT_SUMMARY if key in receipt} | {
                "destroyed": True, "destroyed_dossier": row.aip_id,
            }
        submission.error = None
    return counts


def scrub_catalog(
    catalog: Catalog, *, vacuum_full: bool = False, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Make deleted rows and destroyed keys leave the database files (run after a destruction).

    SQLite: VACUUM rebuilds the file from live rows only (temp store in memory, so no
    copy lands in a temporary file), then the WAL is checkpointed and truncated to
    zero bytes. PostgreSQL: VACUUM (FULL when asked) of the touched tables.
    """
    started = time.perf_counter()
    sqlite = catalog.dialect == "sqlite"
    result = _scrub_sqlite(catalog, sleep) if sqlite else _scrub_postgresql(catalog, vacuum_full)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _scrub_sqlite(catalog: Catalog, sleep: Callable[[float], None]) -> dict[str, Any]:
    database = catalog.url.database
    if not database or database == ":memory:":
        return {"ok": True, "dialect": "sqlite", "note": "in-memory database"}
    raw = catalog.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute("VACUUM")
        busy = 1
        for attempt in range(8):
            busy, _frames, _moved = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0:
                break
            sleep(0.05 * 2**attempt)
        cursor.close()
    finally:
        raw.close()
    wal = Path(f"{database}-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    return {"ok": busy == 0, "dialect": "sqlite", "vacuum": True, "wal_truncated": busy == 0,
            "wal_bytes": wal_bytes}


def _scrub_postgresql(catalog: Catalog, vacuum_full: bool) -> dict[str, Any]:
    option = "FULL, ANALYZE" if vacuum_full else "ANALYZE"
    with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM ({option}) {', '.join(SCRUBBED_TABLES)}")
    return {"ok": True, "dialect": "postgresql", "vacuum": "full" if vacuum_full else "plain",
            "tables": list(SCRUBBED_TABLES)}


# ---------------------------------------------------------------- one execution at a time


@contextlib.contextmanager
def _execution_lock(archive: Archive) -> Iterator[None]:
    """Executions (and retries) on one data home run one after another."""
    folder = archive.settings.home / "locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / "destruction.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


__all__ = [
    "KEY_BACKUP_RETENTION_DAYS",
    "STUB_FORMAT",
    "DestroyedFile",
    "PendingDestruction",
    "RetryOutcome",
    "StorageExecutor",
    "current_holds",
    "destruction_stub",
    "manifest_sha256",
    "pending_destructions",
    "retry_pending_destruction",
    "scrub_catalog",
]
