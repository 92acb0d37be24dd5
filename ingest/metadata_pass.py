"""The metadata pass: read a package's declarations and metadata into the model and check them.

It runs beside the content pass (`ingest/content.py`), which reads every byte. The two
overlap only if they do not share one interpreter: the metadata pass is pure Python
(METS/EAD parsing, CSIP/TT 05 structure, metadata rules), and a thread busy with Python
starves the hashing threads of the GIL, which each of them needs back after every chunk
(they wait up to the switch interval for it). In one process the gate therefore costs the
sum of the two passes. A worker process runs the metadata pass on the other core with its
own interpreter, so the gate costs about the longer of the two.

The worker is one process started once and kept warm (forkserver, reader modules
preloaded, their objects frozen out of the garbage collector's way). A long-running
process calls `warm_up()` at start; `Settings.metadata_worker` decides per package:

- `never`: always in this process;
- `always`: always in the worker (started if needed);
- `auto` (default): in the worker when the package has at least
  `metadata_worker_min_files` files and the worker is running, or at least
  `metadata_worker_start_files` files (worth starting it for). Small packages stay here:
  shipping the source and the result costs more than it saves.

Both ways run the same function (`read_metadata`) and give the same findings and events
in the same order; a worker that fails or dies falls back to this process, and so does a
second gate while the worker is busy with another package (its core is taken anyway).

The gate talks to the worker over one pipe, from its own thread: the request is sent before
the content pass starts its threads (`start_metadata_pass`), and the reply is received by the
thread that waits for it. A pool with its own manager and feeder threads would need those
threads to win the GIL from the busy content pass first (milliseconds each, measured).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import pickle
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from archive_core.findings import CheckContext, Finding, PackageRejected, Severity, declare
from archive_core.premis import PremisEvent
from archive_core.settings import Settings
from ingest.package import PackageKind, ParsedPackage
from ingest.readers import Reader
from ingest.source import PackageSource

log = logging.getLogger(__name__)

UNKNOWN_PACKAGE = declare(
    "CK-PKG-UNKNOWN-KIND", "R-IN-1", Severity.ERROR,
    "Không nhận dạng được loại gói: cần gói SIP theo TT 05/2025 (có METS.xml) hoặc túi BagIt (có bagit.txt)",
    "Unknown package kind: expected a TT 05/2025 SIP (with METS.xml) or a BagIt bag (with bagit.txt)",
)
NO_DOSSIER_METADATA = declare(
    "CK-PKG-NO-DOSSIER-METADATA", "R-CK-5", Severity.ERROR,
    "Gói E-ARK không có đặc tả hồ sơ theo TT 05/2025 (metadata/descriptive/EAD.xml dạng simpledc): "
    "không xác định được hồ sơ để lưu trữ",
    "The E-ARK package has no TT 05/2025 dossier description (metadata/descriptive/EAD.xml as simpledc): "
    "there is no dossier to archive",
)
EMPTY_PACKAGE = declare(
    "CK-PKG-NO-DOCUMENTS", "R-IN-1", Severity.ERROR,
    "Gói không có tài liệu nào",
    "The package holds no documents",
)

_NEEDS_DOCUMENTS = {PackageKind.TT05_SIP_HOSO, PackageKind.TT05_SIP_TAILIEU, PackageKind.BAGIT_C02}


@dataclass
class MetadataReading:
    """What the metadata pass found: the model, or the finding that stopped the reading."""

    package: ParsedPackage | None
    findings: list[Finding] = field(default_factory=list)
    events: list[PremisEvent] = field(default_factory=list)
    rejected: Finding | None = None
    in_worker: bool = False

    def apply(self, ctx: CheckContext) -> ParsedPackage:
        """Add the findings and events to `ctx`; raise `PackageRejected` when the reading stopped."""
        for finding in self.findings:
            ctx.add(finding)
        for recorded in self.events:
            ctx.record(recorded)
        if self.rejected is not None:
            raise PackageRejected(self.rejected)
        assert self.package is not None
        return self.package


def readers() -> list[Reader]:
    """Readers in the order they are tried: BagIt first (a bag may carry METS in its payload)."""
    from ingest.readers.bagit import BagItReader
    from ingest.readers.tt05 import Tt05Reader

    return [BagItReader(), Tt05Reader()]


def read_metadata(source: PackageSource, settings: Settings) -> MetadataReading:
    """Read the package into the model and run the checks that need only the metadata (here)."""
    ctx = CheckContext()
    try:
        package = _read(source, ctx, settings)
        _check_model(package, ctx, settings)
    except PackageRejected as rejected:
        return MetadataReading(None, ctx.findings, ctx.events, rejected=rejected.finding)
    return MetadataReading(package, ctx.findings, ctx.events)


class PendingReading:
    """A metadata pass under way: in the worker (request sent) or still to run here (in `result`)."""

    def __init__(self, source: PackageSource, settings: Settings, request: _Request | None) -> None:
        self._source = source
        self._settings = settings
        self._request = request

    def result(self, on_worker_done: Callable[[], object] | None = None) -> MetadataReading:
        """The reading; a worker that fails or dies is discarded and the package is read here.

        `on_worker_done` is called as soon as the worker's reply has arrived, before it is unpickled
        here: the worker's core is free from then on.
        """
        request, self._request = self._request, None
        if request is not None:
            try:
                reading = request.reply(on_worker_done)
            except WorkerFailure:  # reported by a worker that carries on
                log.warning("metadata worker failed on this package; reading it in this process", exc_info=True)
            except Exception:
                log.warning("metadata worker lost; reading the package in this process", exc_info=True)
                _WORKER.discard()
            else:
                reading.in_worker = True
                return reading
        return read_metadata(self._source, self._settings)

    def abandon(self) -> None:
        """The caller will not wait for the reply: the worker, which still owes it, is retired."""
        request, self._request = self._request, None
        if request is not None:
            _WORKER.discard()
            request.release()


def start_metadata_pass(source: PackageSource, settings: Settings, *, in_worker: bool) -> PendingReading:
    """Send the package to the worker process now (`in_worker`, see `use_worker`), or prepare to read it here."""
    request = _WORKER.send(source, settings) if in_worker else None
    return PendingReading(source, settings, request)


def run_metadata_pass(source: PackageSource, settings: Settings, *, in_worker: bool) -> MetadataReading:
    """`read_metadata` in the worker process (`in_worker`) or in this one."""
    return start_metadata_pass(source, settings, in_worker=in_worker).result()


def warm_up() -> bool:
    """Start the worker process now (long-running services and batch jobs call this once).

    False when it cannot start (the gate then reads metadata in this process).
    """
    try:
        _WORKER.start()
    except Exception:
        log.warning("metadata worker could not start; metadata is read in this process", exc_info=True)
        _WORKER.discard()
        return False
    return True


def worker_running() -> bool:
    return _WORKER.running()


def use_worker(files: int, settings: Settings) -> bool:
    """Whether a package of `files` files should have its metadata read in the worker process."""
    mode = settings.metadata_worker
    if mode == "never":
        return False
    if mode == "always":
        return True
    if files >= settings.metadata_worker_start_files:
        return True
    return files >= settings.metadata_worker_min_files and _WORKER.running()


def _read(source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
    for reader in readers():
        if reader.accepts(source):
            package = reader.read(source, ctx, settings)
            package.files = package.files or [e.path for e in source.entries()]
            return package
    raise PackageRejected(UNKNOWN_PACKAGE.at())


def _check_model(package: ParsedPackage, ctx: CheckContext, settings: Settings) -> None:
    from ingest.checks.metadata import check_metadata
    from ingest.checks.policy import check_policy_metadata

    if package.kind is PackageKind.CSIP:
        ctx.report(NO_DOSSIER_METADATA)
    elif package.kind in _NEEDS_DOCUMENTS and not package.documents:
        ctx.report(EMPTY_PACKAGE)
    check_metadata(package, ctx, settings)
    check_policy_metadata(package, ctx, settings.policy)


_READY = b"ready"
_START_SECONDS = 60.0


class _Worker:
    """One warm worker process behind one pipe, started on first need and replaced when it breaks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    def start(self) -> Connection:
        with self._lock:
            if self._connection is None:
                self._process, self._connection = _start_process()
            return self._connection

    def running(self) -> bool:
        return self._connection is not None

    def send(self, source: PackageSource, settings: Settings) -> _Request | None:
        """Send one package; None when the worker is busy with another or cannot take it."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            connection = self.start()
            connection.send_bytes(pickle.dumps((source, settings), pickle.HIGHEST_PROTOCOL))
        except Exception:
            log.warning("metadata worker unavailable; reading the package in this process", exc_info=True)
            self._busy.release()
            self.discard()
            return None
        return _Request(connection, self._busy)

    def discard(self) -> None:
        with self._lock:
            process, connection = self._process, self._connection
            self._process = self._connection = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.kill()
            process.join(timeout=5)


@dataclass
class _Request:
    """One package sent to the worker; the worker is busy until `reply` (or `release`)."""

    connection: Connection
    busy: threading.Lock
    released: bool = False

    def reply(self, on_arrival: Callable[[], object] | None = None) -> MetadataReading:
        try:
            data = self.connection.recv_bytes()
        finally:
            self.release()
        if on_arrival is not None:
            on_arrival()
        answer = pickle.loads(data)
        if isinstance(answer, _Failure):
            raise WorkerFailure(f"metadata worker: {answer.text}")
        assert isinstance(answer, MetadataReading)
        return answer

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.busy.release()


@dataclass(frozen=True)
class _Failure:
    text: str


class WorkerFailure(RuntimeError):
    """The worker could not read a package and said why (its traceback); it serves the next one."""


def _start_process() -> tuple[BaseProcess, Connection]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    here, there = context.Pipe(duplex=True)
    process = context.Process(target=_serve, args=(there,), name="earchive-metadata", daemon=True)
    process.start()
    there.close()
    try:
        if not here.poll(_START_SECONDS) or here.recv_bytes() != _READY:
            raise RuntimeError("the metadata worker did not start")
    except BaseException:
        here.close()
        process.kill()
        raise
    return process, here


_WORKER = _Worker()


def _serve(connection: Connection) -> None:
    """The worker's loop: one package in, its `MetadataReading` (or the failure) out, until the pipe closes.

    The garbage collector runs between packages, not during one: a pass builds ~10^5 objects and
    no cycles (measured: automatic collections cost 2-4 % of the pass and found nothing).
    """
    _prepare_worker()
    gc.disable()
    connection.send_bytes(_READY)
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            source, settings = pickle.loads(request)
            answer = pickle.dumps(read_metadata(source, settings), pickle.HIGHEST_PROTOCOL)
        except Exception:
            answer = pickle.dumps(_Failure(traceback.format_exc()), pickle.HIGHEST_PROTOCOL)
        connection.send_bytes(answer)
        del answer
        gc.collect()


def _prepare_worker() -> None:
    """In the worker: import everything the pass needs, then keep those objects out of GC scans."""
    from ingest.checks import csip, metadata  # noqa: F401
    from ingest.readers import bagit, tt05  # noqa: F401

    gc.freeze()
