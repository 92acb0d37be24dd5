"""Fixity audit of the stored copies (R-ST-3): check, least recently checked first, within a time budget; repair.

A copy is one stored object (`aips/<aip_id>/<bag path>`, encrypted) on one location.
Its check streams the stored bytes through SHA-256 and compares the byte count and
the hash with the catalog's `stored_size` / `stored_sha256`: no key is needed.

Order and budget: copies that were never checked come first, then the oldest
check (the same two index range scans as `repo.least_recently_checked`, walked
with a keyset cursor so that a copy on an unreachable location is passed over
instead of being fetched again and again). Before each piece of work starts the
budget is looked at; work already started finishes. A run always checks at least
one piece, so a budget shorter than one check still makes progress, and the next
run continues with the copies this one did not reach.

Speed: objects are hashed in a bounded thread pool (hashlib and file reads
release the GIL) with large read buffers; small objects are grouped into one task
so that per-object overhead stays small; the catalog is written once per batch
(one UPDATE executed for many rows, one PREMIS event per dossier and batch).

Repair: a missing, truncated or corrupted copy is rebuilt from a copy of the same
file on another location. The source is first hashed and must match its own
catalog hash; its encrypted bytes are then copied as they are with
`put(..., size=, sha256=)` (the store refuses anything else), read back and
hashed, and the catalog row takes the source's size and hash (copies of one file
on different locations hold different ciphertexts of the same plaintext: each was
encrypted with its own random salt). A failure with no good source is reported
as unrepairable; nothing is ever written from unverified bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import stat
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import Select, Table, func, insert, or_, select, update
from sqlalchemy.orm import Session

from archive_core.catalog import CopyRow, CopyState, DossierRow, DossierState, EventRow, repo
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Settings
from archive_core.storage import LocalStore, LocationUnavailable, ObjectMissing, ObjectStore, StorageError
from archive_core.storage.base import stream_sha256
from archive_core.timeutil import Clock, iso_vn, system_clock
from ingest.archive import SYSTEM_ACTOR, Archive, open_archive

log = logging.getLogger(__name__)

AGENT = Agent("earchive.fixity-audit")
READ_BUFFER_BYTES = 4 * 1024 * 1024
"""Per worker thread; a read of this size goes straight from the kernel into the buffer."""
BATCH_ROWS = 2000
"""Copies fetched and recorded per catalog transaction (a commit costs an fsync: a few ms)."""
TASK_BYTES = 8 * 1024 * 1024
TASK_OBJECTS = 64
"""Small objects are grouped into one pool task of up to this many bytes / objects."""
MAX_LISTED_FAILURES = 100
"""Failures named in the run's audit entry (all of them are in the report and the events)."""
LOCK_FILE = "fixity.lock"

Timer = Callable[[], float]


class FixityError(Exception):
    """The audit cannot run (unknown dossier or location, another audit running)."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


class CheckOutcome(StrEnum):
    OK = "ok"
    MISSING = "missing"
    """No object under the key."""
    SIZE_MISMATCH = "size-mismatch"
    """Truncated or extended: the byte count differs from the catalog."""
    CORRUPT = "corrupt"
    """Same size, different SHA-256."""
    UNREADABLE = "unreadable"
    """The location answered but the object could not be read (permissions, I/O error)."""
    UNAVAILABLE = "unavailable"
    """The location could not be reached: nothing is known about the copy, nothing is recorded."""

    @property
    def failed(self) -> bool:
        return self in _FAILED


_FAILED = frozenset({CheckOutcome.MISSING, CheckOutcome.SIZE_MISMATCH, CheckOutcome.CORRUPT, CheckOutcome.UNREADABLE})


class RepairOutcome(StrEnum):
    REPAIRED = "repaired"
    UNREPAIRABLE = "unrepairable"
    """No other location holds a copy whose stored bytes still match the catalog."""
    ABANDONED = "abandoned"
    """The dossier left the archived state meanwhile (being destroyed): nothing is kept."""


@dataclass(slots=True)
class CopyCheck:
    """One copy's check (and repair, if any)."""

    copy_id: int
    dossier_id: int
    aip_id: str
    location_id: str
    path: str
    object_key: str
    expected_size: int
    expected_sha256: str
    outcome: CheckOutcome
    actual_size: int | None = None
    actual_sha256: str | None = None
    error: str | None = None
    repair: RepairOutcome | None = None
    repaired_from: str | None = None
    repair_notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "copy_id": self.copy_id,
            "aip_id": self.aip_id,
            "location": self.location_id,
            "path": self.path,
            "object_key": self.object_key,
            "outcome": self.outcome.value,
            "expected_size": self.expected_size,
            "actual_size": self.actual_size,
            "expected_sha256": self.expected_sha256,
            "actual_sha256": self.actual_sha256,
            "error": self.error,
            "repair": self.repair.value if self.repair else None,
            "repaired_from": self.repaired_from,
            "repair_notes": self.repair_notes,
        }


@dataclass
class FixityReport:
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float = 0.0
    budget_seconds: float | None = None
    dossier: str | None = None
    location: str | None = None
    checked: int = 0
    """Copies with a verdict (ok or failed); copies on unreachable locations are not counted."""
    ok: int = 0
    failed: int = 0
    repaired: int = 0
    unrepairable: int = 0
    abandoned: int = 0
    skipped_unavailable: int = 0
    unavailable_locations: list[str] = field(default_factory=list)
    bytes: int = 0
    complete: bool = False
    """True when every eligible copy was reached (not stopped by the budget)."""
    details: list[CopyCheck] = field(default_factory=list)
    """Every failed copy; every checked copy when the audit ran with `include_ok=True`."""

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    @property
    def failures(self) -> list[CopyCheck]:
        return [item for item in self.details if item.outcome.failed]

    @property
    def all_good(self) -> bool:
        """No copy is left bad (every failure was repaired) and no location was skipped."""
        return self.failed == self.repaired and not self.unavailable_locations

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": iso_vn(self.started_at),
            "finished_at": iso_vn(self.finished_at) if self.finished_at else None,
            "seconds": round(self.seconds, 3),
            "budget_seconds": self.budget_seconds,
            "dossier": self.dossier,
            "location": self.location,
            "checked": self.checked,
            "ok": self.ok,
            "failed": self.failed,
            "repaired": self.repaired,
            "unrepairable": self.unrepairable,
            "abandoned": self.abandoned,
            "skipped_unavailable": self.skipped_unavailable,
            "unavailable_locations": self.unavailable_locations,
            "bytes": self.bytes,
            "mb_per_second": round(self.bytes_per_second / 1e6, 1),
            "complete": self.complete,
            "details": [item.to_dict() for item in self.details],
        }

    def summary_vi(self) -> str:
        text = (
            f"Kiểm tra tính toàn vẹn: {self.checked} bản sao ({self.bytes / 1e6:.1f} MB) trong "
            f"{self.seconds:.1f} giây; {self.failed} bản sao lỗi, {self.repaired} đã sửa từ bản sao tốt, "
            f"{self.unrepairable} không sửa được."
        )
        if self.unavailable_locations:
            text += f" Không truy cập được vị trí lưu trữ: {', '.join(self.unavailable_locations)}."
        if not self.complete:
            text += " Hết thời gian cho phép: lần chạy sau sẽ tiếp tục với các bản sao chưa kiểm tra."
        return text


# ---------------------------------------------------------------- hashing


_buffers = threading.local()


def _buffer() -> memoryview:
    view: memoryview | None = getattr(_buffers, "view", None)
    if view is None:
        view = _buffers.view = memoryview(bytearray(READ_BUFFER_BYTES))
    return view


_UNUSUAL_KEY = re.compile(r"(?:^|/)\.{0,2}(?:/|$)|[\x00-\x1f\x7f-\x9f\\]")
"""Empty, `.` or `..` segments, control characters, backslash: left to the store to refuse."""


def _open_stored(store: ObjectStore, key: str) -> BinaryIO:
    """`store.open(key)`, with a fast path for local folders (the key `a/b/c` is the file `<root>/a/b/c`).

    `LocalStore.open` validates every key character by character and goes through pathlib, which is
    most of the cost of checking a small object; keys here come from the catalog. Anything unusual
    (odd key, missing file, not a regular file) goes through `store.open` for its checks and errors.
    """
    if not isinstance(store, LocalStore) or _UNUSUAL_KEY.search(key):
        return store.open(key)
    try:
        fd = os.open(os.path.join(store.root, key), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return store.open(key)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return store.open(key)
    return os.fdopen(fd, "rb", buffering=0)


def hash_object(store: ObjectStore, key: str) -> tuple[int, str]:
    """Byte count and SHA-256 of the stored bytes of `key`, streamed (raises the store's errors)."""
    with _open_stored(store, key) as reader:
        return stream_sha256(reader, _buffer())


class _Target(NamedTuple):
    copy_id: int
    dossier_id: int
    aip_id: str
    location_id: str
    path: str
    object_key: str
    size: int
    sha256: str


def _check(store: ObjectStore | None, target: _Target) -> CopyCheck:
    result = CopyCheck(
        copy_id=target.copy_id, dossier_id=target.dossier_id, aip_id=target.aip_id,
        location_id=target.location_id, path=target.path, object_key=target.object_key,
        expected_size=target.size, expected_sha256=target.sha256, outcome=CheckOutcome.OK,
    )
    if store is None:  # the catalog names a location the settings no longer configure
        result.outcome, result.error = CheckOutcome.UNAVAILABLE, f"location {target.location_id} is not configured"
        return result
    try:
        result.actual_size, result.actual_sha256 = hash_object(store, target.object_key)
    except ObjectMissing as exc:
        result.outcome, result.error = CheckOutcome.MISSING, str(exc)
    except LocationUnavailable as exc:
        result.outcome, result.error = CheckOutcome.UNAVAILABLE, str(exc)
    except (StorageError, OSError) as exc:
        result.outcome, result.error = CheckOutcome.UNREADABLE, str(exc)
    else:
        if result.actual_size != target.size:
            result.outcome = CheckOutcome.SIZE_MISMATCH
        elif result.actual_sha256 != target.sha256:
            result.outcome = CheckOutcome.CORRUPT
    return result


def _check_group(stores: dict[str, ObjectStore], group: Sequence[_Target]) -> list[CopyCheck]:
    return [_check(stores.get(target.location_id), target) for target in group]


# ---------------------------------------------------------------- selection


@dataclass
class _Cursor:
    """Keyset position in `never checked (by id)`, then `checked before the run (by time, id)`."""

    never_checked: bool = True
    last_id: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class _Scope:
    run_started: datetime
    dossier_id: int | None
    location_id: str | None
    excluded_locations: frozenset[str]


_COLUMNS = (
    CopyRow.id, CopyRow.dossier_id, CopyRow.aip_id, CopyRow.location_id, CopyRow.path, CopyRow.object_key,
    CopyRow.stored_size, CopyRow.stored_sha256,
)
_Row = Select[int, int, str, str, str, str, int, str]


def _base_query(scope: _Scope) -> _Row:
    # EXISTS rather than a join, and the location compared as an expression: the plan then walks
    # ix_copies_fixity_order (last_fixity_at, id) and stops at the batch size, instead of sorting
    # every copy of every archived dossier for each batch.
    archived = (
        select(DossierRow.id)
        .where(DossierRow.id == CopyRow.dossier_id, DossierRow.state == DossierState.ARCHIVED)
        .exists()
    )
    query = select(*_COLUMNS).where(archived, CopyRow.state != CopyState.DELETED)
    if scope.dossier_id is not None:
        query = query.where(CopyRow.dossier_id == scope.dossier_id)
    if scope.location_id is not None:
        query = query.where(func.coalesce(CopyRow.location_id, "") == scope.location_id)
    if scope.excluded_locations:
        query = query.where(func.coalesce(CopyRow.location_id, "").not_in(sorted(scope.excluded_locations)))
    return query


def _next_batch(session: Session, scope: _Scope, cursor: _Cursor, limit: int) -> list[_Target]:
    connection = session.connection()  # Core execution: plain rows, no ORM bookkeeping per row
    rows: list[Any] = []
    if cursor.never_checked:
        query = _base_query(scope).where(CopyRow.last_fixity_at.is_(None), CopyRow.id > cursor.last_id)
        rows = list(connection.execute(query.order_by(CopyRow.id).limit(limit)).fetchall())
        if len(rows) == limit:
            cursor.last_id = rows[-1][0]
            return [_Target(*row) for row in rows]
        cursor.never_checked, cursor.last_id = False, 0
    # Copies checked during this run carry a time >= run_started and drop out by themselves.
    query = _base_query(scope).where(
        CopyRow.last_fixity_at.is_not(None), CopyRow.last_fixity_at < scope.run_started
    )
    if cursor.last_at is not None:
        query = query.where(
            CopyRow.last_fixity_at >= cursor.last_at,  # the index range; the OR below is checked per row
            or_(CopyRow.last_fixity_at > cursor.last_at, CopyRow.id > cursor.last_id),
        )
    ordered = query.order_by(CopyRow.last_fixity_at, CopyRow.id).limit(limit - len(rows))
    found = list(connection.execute(ordered).fetchall())  # fetchall: SQLAlchemy's row-by-row iteration is slow
    if found:
        # The time is read for the last row only: converting it for every row costs more than this query.
        cursor.last_id = found[-1][0]
        cursor.last_at = session.scalar(select(CopyRow.last_fixity_at).where(CopyRow.id == cursor.last_id))
    return [_Target(*row) for row in rows + found]


def find_dossier(session: Session, ident: str) -> DossierRow:
    """The dossier named by its AIP id or by one of its codes (the archived one when a code is shared)."""
    row = repo.get_dossier_by_aip(session, ident)
    if row is not None:
        return row
    matches = repo.dossiers_by_code(session, ident)
    live = [match for match in matches if match.state is not DossierState.DESTROYED] or matches
    if not live:
        raise FixityError(f"Không tìm thấy hồ sơ {ident}", f"No dossier {ident}")
    if len(live) > 1:
        ids = ", ".join(str(match.aip_id) for match in live)
        raise FixityError(
            f"Mã {ident} thuộc nhiều hồ sơ ({ids}); hãy dùng mã gói AIP",
            f"Code {ident} names several dossiers ({ids}); give the AIP id",
        )
    return live[0]


# ---------------------------------------------------------------- the audit


def audit_fixity(
    archive: Archive,
    *,
    budget_seconds: float | None = None,
    dossier: str | None = None,
    location: str | None = None,
    repair: bool = True,
    actor: str = SYSTEM_ACTOR,
    include_ok: bool = False,
    workers: int | None = None,
    clock: Clock = system_clock,
    timer: Timer = time.monotonic,
) -> FixityReport:
    """Check copies of archived dossiers, least recently checked first, within `budget_seconds`; repair bad ones.

    `dossier` (AIP id or code) and `location` narrow the scope. Every verdict is
    recorded in the catalog (`copies.last_fixity_*`, state), with a PREMIS fixity
    check event per dossier and batch, a replication event and an audit entry per
    repair (or failed repair), and one audit entry for the run.
    """
    with _exclusive(archive.settings):
        return _run(
            archive, budget_seconds=budget_seconds, dossier=dossier, location=location, repair=repair,
            actor=actor, include_ok=include_ok, workers=workers or archive.settings.workers, clock=clock,
            timer=timer,
        )


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One audit at a time per data home: two would check (and repair) the same copies."""
    folder = settings.home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FixityError(
                "Một lượt kiểm tra tính toàn vẹn khác đang chạy", "Another fixity audit is running"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class _Run:
    archive: Archive
    report: FixityReport
    stores: dict[str, ObjectStore]
    actor: str
    clock: Clock
    include_ok: bool


def _run(
    archive: Archive,
    *,
    budget_seconds: float | None,
    dossier: str | None,
    location: str | None,
    repair: bool,
    actor: str,
    include_ok: bool,
    workers: int,
    clock: Clock,
    timer: Timer,
) -> FixityReport:
    start = timer()
    started_at = clock()
    report = FixityReport(started_at=started_at, budget_seconds=budget_seconds, dossier=dossier, location=location)
    stores = {store.location_id: store for store in archive.stores}
    if location is not None and location not in stores:
        raise FixityError(f"Không có vị trí lưu trữ {location}", f"No storage location {location}")
    dossier_id = None
    if dossier is not None:
        with archive.catalog.session(readonly=True) as session:
            row = find_dossier(session, dossier)
            if row.state is not DossierState.ARCHIVED:
                raise FixityError(
                    f"Hồ sơ {dossier} đang ở trạng thái {row.state.value}, không kiểm tra được",
                    f"Dossier {dossier} is {row.state.value}: there is nothing to check",
                )
            dossier_id = row.id
    down = {loc for loc, store in stores.items() if (location in (None, loc)) and not store.healthy()}
    report.unavailable_locations = sorted(down)
    run = _Run(archive, report, stores, actor, clock, include_ok)
    deadline = start + budget_seconds if budget_seconds is not None else None
    cursor = _Cursor()
    started_any = False
    # The catalog work of batch N (one transaction, then any repairs) runs in a recorder thread while the
    # pool hashes batch N+1; waiting for N before handing over N+1 keeps the order and bounds memory.
    settling: Future[set[str]] | None = None
    with (
        ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fixity") as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="fixity-record") as recorder,
    ):
        while True:
            scope = _Scope(started_at, dossier_id, location, frozenset(down))
            with archive.catalog.session(readonly=True) as session:
                batch = _next_batch(session, scope, cursor, BATCH_ROWS)
            if not batch:
                report.complete = True
                break
            results, finished = _check_batch(pool, stores, batch, deadline, timer, started_any, workers)
            started_any = started_any or bool(results)
            down |= {r.location_id for r in results if r.outcome is CheckOutcome.UNAVAILABLE}
            if settling is not None:
                down |= settling.result()
            # The recorder gets its own copy of `down`: the main thread keeps reading this one.
            settling = recorder.submit(_settle, run, results, repair, set(down))
            if not finished:
                break
        if settling is not None:
            down |= settling.result()
    report.unavailable_locations = sorted(down)
    report.finished_at = clock()
    report.seconds = timer() - start
    _audit_run(run)
    return report


def _tasks(batch: Sequence[_Target]) -> Iterator[list[_Target]]:
    group: list[_Target] = []
    size = 0
    for target in batch:
        group.append(target)
        size += target.size
        if size >= TASK_BYTES or len(group) >= TASK_OBJECTS:
            yield group
            group, size = [], 0
    if group:
        yield group


_Task = Future[list[CopyCheck]]


def _check_batch(
    pool: ThreadPoolExecutor,
    stores: dict[str, ObjectStore],
    batch: Sequence[_Target],
    deadline: float | None,
    timer: Timer,
    started_any: bool,
    workers: int,
) -> tuple[list[CopyCheck], bool]:
    """Hash the batch in the pool; returns the results in checking order, and False when the budget stopped it."""
    submitted: list[_Task] = []
    running: set[_Task] = set()
    finished = True
    for group in _tasks(batch):
        if deadline is not None and (started_any or submitted) and timer() >= deadline:
            finished = False
            break
        while len(running) >= 2 * workers:  # bounded: at most two tasks queued per worker
            running = set(wait(running, return_when=FIRST_COMPLETED).not_done)
        task = pool.submit(_check_group, stores, group)
        submitted.append(task)
        running.add(task)
    return [item for task in submitted for item in task.result()], finished


# ---------------------------------------------------------------- recording


def _settle(run: _Run, results: list[CopyCheck], repair: bool, down: set[str]) -> set[str]:
    """Record a batch, then repair its failures; returns `down` with any location found unreachable meanwhile."""
    _record_batch(run, results)
    if repair:
        for failed in (r for r in results if r.outcome.failed):
            _repair(run, failed, down)
    return down


_COPY_TABLE: Table = CopyRow.__table__  # type: ignore[assignment]


def _record_batch(run: _Run, results: list[CopyCheck]) -> None:
    report = run.report
    verdicts = [r for r in results if r.outcome is not CheckOutcome.UNAVAILABLE]
    report.skipped_unavailable += len(results) - len(verdicts)
    for result in results:
        if result.outcome is CheckOutcome.UNAVAILABLE:
            continue
        report.checked += 1
        report.bytes += result.actual_size or 0
        if result.outcome.failed:
            report.failed += 1
        else:
            report.ok += 1
        if result.outcome.failed or run.include_ok:
            report.details.append(result)
    if not verdicts:
        return
    now = run.clock()
    # A batch's verdicts fall into a few (outcome, state) groups: one UPDATE ... WHERE id IN (...) per group
    # costs no Python work per row, unlike an executemany.
    groups: dict[tuple[Outcome, CopyState], list[int]] = defaultdict(list)
    for r in verdicts:
        groups[(Outcome.FAILURE if r.outcome.failed else Outcome.SUCCESS, _state_after(r.outcome))].append(r.copy_id)
    with run.archive.catalog.session() as session:
        connection = session.connection()
        for (outcome, state), ids in groups.items():
            connection.execute(
                update(_COPY_TABLE)
                .where(_COPY_TABLE.c.id.in_(ids))
                .values(last_fixity_at=now, last_fixity_outcome=outcome, state=state)
            )
        by_dossier: dict[int, list[CopyCheck]] = defaultdict(list)
        for result in verdicts:
            by_dossier[result.dossier_id].append(result)
        _add_dossier_events(session, [(_check_event(checked, run.clock), dossier_id)
                                      for dossier_id, checked in by_dossier.items()])


def _add_dossier_events(session: Session, events: Sequence[tuple[PremisEvent, int]]) -> None:
    """One INSERT for the events of many dossiers (what `repo.add_events` does, one dossier and flush at a time)."""
    if not events:
        return
    rows = [
        {
            "identifier": item.identifier, "type": item.event_type.value, "time": item.date_time,
            "agent": item.agent.name, "agent_version": item.agent.version, "agent_type": item.agent.type,
            "outcome": Outcome(item.outcome), "detail": item.detail, "outcome_detail": item.outcome_detail,
            "objects": list(item.objects), "submission_id": None, "dossier_id": dossier_id,
        }
        for item, dossier_id in events
    ]
    session.execute(insert(EventRow), rows)


def _state_after(outcome: CheckOutcome) -> CopyState:
    if outcome is CheckOutcome.OK:
        return CopyState.VERIFIED
    return CopyState.MISSING if outcome is CheckOutcome.MISSING else CopyState.CORRUPT


def _check_event(checked: list[CopyCheck], clock: Clock) -> PremisEvent:
    failed = [r for r in checked if r.outcome.failed]
    locations = sorted({r.location_id for r in checked})
    detail = (
        f"Kiểm tra định kỳ tính toàn vẹn {len(checked)} bản sao lưu trữ trên {', '.join(locations)}: "
        "SHA-256 và kích thước của dữ liệu đã lưu so với danh mục (R-ST-3)"
    )
    problems = " ".join(f"{r.location_id}:{r.path}={r.outcome.value}" for r in failed[:50])
    outcome_detail = f"checked={len(checked)} ok={len(checked) - len(failed)} failed={len(failed)}"
    if problems:
        outcome_detail += f" {problems}"
    return event(
        EventType.FIXITY_CHECK, AGENT, Outcome.FAILURE if failed else Outcome.SUCCESS, detail,
        outcome_detail=outcome_detail, objects=tuple(sorted({r.path for r in checked})), clock=clock,
    )


# ---------------------------------------------------------------- repair


@dataclass(frozen=True)
class _Source:
    copy_id: int
    location_id: str
    object_key: str
    size: int
    sha256: str


def _sources(run: _Run, bad: CopyCheck, down: set[str]) -> list[_Source]:
    query = (
        select(CopyRow)
        .where(
            CopyRow.dossier_id == bad.dossier_id,
            CopyRow.path == bad.path,
            CopyRow.location_id != bad.location_id,
            CopyRow.state != CopyState.DELETED,
        )
        .order_by(CopyRow.state != CopyState.VERIFIED, CopyRow.id)
    )
    with run.archive.catalog.session(readonly=True) as session:
        rows = list(session.scalars(query))
    return [
        _Source(row.id, row.location_id, row.object_key, row.stored_size, row.stored_sha256)
        for row in rows
        if row.location_id in run.stores and row.location_id not in down
    ]


def _repair(run: _Run, bad: CopyCheck, down: set[str]) -> None:
    target = run.stores[bad.location_id]
    if bad.location_id in down:
        bad.repair_notes.append(f"{bad.location_id}: location unavailable")
    else:
        for source in _sources(run, bad, down):
            if _repair_from(run, bad, target, source, down):
                return
            if bad.repair is RepairOutcome.ABANDONED:
                return
    bad.repair = RepairOutcome.UNREPAIRABLE
    run.report.unrepairable += 1
    _record_unrepairable(run, bad)


def _repair_from(run: _Run, bad: CopyCheck, target: ObjectStore, source: _Source, down: set[str]) -> bool:
    store = run.stores[source.location_id]
    try:
        size, digest = hash_object(store, source.object_key)
    except LocationUnavailable as exc:
        down.add(source.location_id)
        bad.repair_notes.append(f"{source.location_id}: {exc}")
        return False
    except (StorageError, OSError) as exc:
        bad.repair_notes.append(f"{source.location_id}: source unreadable: {exc}")
        _mark_source_bad(run, source, CopyState.MISSING if isinstance(exc, ObjectMissing) else CopyState.CORRUPT)
        return False
    if size != source.size or digest != source.sha256:
        bad.repair_notes.append(f"{source.location_id}: source differs from the catalog as well")
        _mark_source_bad(run, source, CopyState.CORRUPT)
        return False
    try:
        with store.open(source.object_key) as stream:
            target.put(bad.object_key, stream, size=size, sha256=digest)
        stored = target.stat(bad.object_key)
        again = hash_object(target, bad.object_key)
    except (StorageError, OSError) as exc:
        bad.repair_notes.append(f"copy from {source.location_id} failed: {exc}")
        return False
    if stored is None or stored.size != size or again != (size, digest):
        bad.repair_notes.append(f"copy from {source.location_id} does not read back as written")
        return False
    return _commit_repair(run, bad, target, source, size, digest)


def _commit_repair(
    run: _Run, bad: CopyCheck, target: ObjectStore, source: _Source, size: int, digest: str
) -> bool:
    now = run.clock()
    with run.archive.catalog.session() as session:
        dossier = session.get(DossierRow, bad.dossier_id)
        copy = session.get(CopyRow, bad.copy_id)
        source_row = session.get(CopyRow, source.copy_id)
        if dossier is None or copy is None or dossier.state is not DossierState.ARCHIVED:
            # A destruction began meanwhile (it sets `destroying` before deleting objects): keep nothing.
            abandoned = True
        else:
            abandoned = False
            copy.stored_size, copy.stored_sha256 = size, digest
            repo.record_fixity(session, copy, outcome=Outcome.SUCCESS, at=now)
            if source_row is not None:
                repo.record_fixity(session, source_row, outcome=Outcome.SUCCESS, at=now)
            repo.add_events(session, [_repair_event(run, bad, source.location_id, True)], dossier_id=bad.dossier_id)
            run.archive.audit.append_in(
                session, run.actor, "copy.repaired", "copy", f"{bad.location_id}:{bad.object_key}",
                {"aip_id": bad.aip_id, "path": bad.path, "location": bad.location_id,
                 "problem": bad.outcome.value, "source": source.location_id,
                 "expected_sha256": bad.expected_sha256, "found_sha256": bad.actual_sha256,
                 "new_sha256": digest, "size": size},
            )
    if abandoned:
        with contextlib.suppress(StorageError):
            target.delete(bad.object_key)
        bad.repair = RepairOutcome.ABANDONED
        bad.repair_notes.append("dossier no longer archived: repair undone")
        run.report.abandoned += 1
        return False
    bad.repair, bad.repaired_from = RepairOutcome.REPAIRED, source.location_id
    run.report.repaired += 1
    return True


def _mark_source_bad(run: _Run, source: _Source, state: CopyState) -> None:
    with run.archive.catalog.session() as session:
        row = session.get(CopyRow, source.copy_id)
        if row is not None:
            repo.record_fixity(session, row, outcome=Outcome.FAILURE, state=state, clock=run.clock)


def _record_unrepairable(run: _Run, bad: CopyCheck) -> None:
    with run.archive.catalog.session() as session:
        repo.add_events(session, [_repair_event(run, bad, None, False)], dossier_id=bad.dossier_id)
        run.archive.audit.append_in(
            session, run.actor, "copy.unrepairable", "copy", f"{bad.location_id}:{bad.object_key}",
            {"aip_id": bad.aip_id, "path": bad.path, "location": bad.location_id,
             "problem": bad.outcome.value, "notes": bad.repair_notes[:10]},
        )


def _repair_event(run: _Run, bad: CopyCheck, source: str | None, success: bool) -> PremisEvent:
    if success:
        detail = (
            f"Sửa bản sao lỗi ({bad.outcome.value}) trên {bad.location_id} bằng dữ liệu đã mã hóa của bản sao "
            f"tốt trên {source}, đã kiểm tra mã băm trước và sau khi chép (R-ST-3)"
        )
        outcome_detail = f"repaired location={bad.location_id} source={source} problem={bad.outcome.value}"
    else:
        detail = f"Không sửa được bản sao lỗi ({bad.outcome.value}) trên {bad.location_id}: không còn bản sao tốt"
        outcome_detail = f"unrepairable location={bad.location_id} problem={bad.outcome.value} " + "; ".join(
            bad.repair_notes[:5]
        )
    return event(
        EventType.REPLICATION, AGENT, Outcome.SUCCESS if success else Outcome.FAILURE, detail,
        outcome_detail=outcome_detail, objects=(bad.path,), clock=run.clock,
    )


def _audit_run(run: _Run) -> None:
    report = run.report
    details = {
        "checked": report.checked, "ok": report.ok, "failed": report.failed, "repaired": report.repaired,
        "unrepairable": report.unrepairable, "bytes": report.bytes, "seconds": round(report.seconds, 3),
        "complete": report.complete, "budget_seconds": report.budget_seconds, "dossier": report.dossier,
        "location": report.location, "unavailable_locations": report.unavailable_locations,
        "skipped_unavailable": report.skipped_unavailable,
        "failures": [
            {"location": r.location_id, "aip_id": r.aip_id, "path": r.path, "outcome": r.outcome.value,
             "repair": r.repair.value if r.repair else None}
            for r in report.failures[:MAX_LISTED_FAILURES]
        ],
    }
    run.archive.audit.append(run.actor, "fixity.audited", "archive", report.dossier, details)


# ---------------------------------------------------------------- scheduled entry point


def run_fixity_job(settings: Settings, budget_seconds: float | None, *, actor: str = "scheduler") -> FixityReport:
    """The scheduled audit (e.g. nightly, cron or Celery beat): opens the archive, checks within the budget."""
    archive = open_archive(settings)
    try:
        report = audit_fixity(archive, budget_seconds=budget_seconds, actor=actor)
    finally:
        archive.close()
    level = logging.WARNING if report.failed or report.unavailable_locations else logging.INFO
    log.log(level, "fixity audit: %s", {k: v for k, v in report.to_dict().items() if k != "details"})
    return report


def lock_path(settings: Settings) -> Path:
    return settings.home / "locks" / LOCK_FILE
