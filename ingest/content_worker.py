"""Where the content pass runs while the metadata pass reads: a warm worker process, or threads here.

The gate runs its two passes side by side (`ingest/gate.py`): the metadata pass (pure Python:
METS/EAD parsing, CSIP/TT 05 structure, metadata rules; `ingest/metadata_pass.py`) in the calling
thread, and the content pass (`ingest/content.py`: every byte read, hashed and identified) in a
worker process or in threads of this one. They overlap only if they do not share one interpreter:
a hashing thread needs the GIL back after every file or chunk, and a thread busy with Python holds
it for up to the switch interval. In one process the gate costs about the sum of the two passes.

The content pass goes to the worker, not the metadata pass, because of what comes back: the content
pass answers with one small record per file, the metadata pass with the whole model (~10^4 objects
for 200 documents: milliseconds to pickle over there, and milliseconds to unpickle here, holding
this process's GIL while every hashing thread waits for it). Measured on 200 × 300 KB: 8–15 ms
less per package than the other way round.

The worker is one process started once and kept warm (forkserver, modules preloaded, their objects
frozen out of the garbage collector's way). A long-running process calls `warm_up()` at start, a
batch command `warm_up_for_batch()` (`earchive ingest` with several packages);
`Settings.content_worker` decides per package:

- `never`: always in this process;
- `always`: always in the worker (started if needed);
- `auto` (default): in the worker when the package has at least `content_worker_min_files` files
  and the worker is running, or at least `content_worker_start_files` files (worth starting it for).
  Small packages stay here: shipping the listing costs more than it saves.

Both ways run the same pass and observe the same. A failure the worker reports, or a worker that
dies, falls back to this process (its progress counts resume where the bar stood); so does a
second gate while the worker is busy with another package (its core is taken anyway). A package
refused by a damaged file is refused the same way.

When the metadata pass is done its core is free, and this process takes a share of what is left:
the worker hands over the largest files holding about half the bytes it has not started, and each
process finishes its part (the outcomes are joined here). A second thread in the worker would do
the same work slower: every file's identification holds the worker's GIL, so two threads there
ran the last files 1.3–1.4× faster than one, two processes ~1.8×.

One duplex pipe carries a job: here → worker the request `(source, job)`, then one-byte controls
(MORE: the metadata pass is done, hand over a share; STOP: the package was refused meanwhile,
finish the files in hand; END: the reply has been read); worker → here, progress counts (when
asked for), exactly one SHARE (the paths to read here) after MORE, and the outcome.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import pickle
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

from archive_core.findings import PackageRejected
from archive_core.settings import Settings, VirusPolicy
from ingest.checks.virus import ScanReport, VirusScanner
from ingest.content import ContentPass, Identifier, Progress
from ingest.package import ObservedFile
from ingest.source import Entry, PackageSource

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def format_identifier() -> Identifier:
    """The identifier of this process (libmagic handles per thread, compiled signatures)."""
    from ingest.checks.formats import FormatIdentifier

    return FormatIdentifier()


@dataclass(frozen=True)
class ContentJob:
    """What the content pass of one package does, wherever it runs."""

    algorithms: frozenset[str]
    threads: int
    """Threads in all: the worker runs one fewer (the metadata pass has a core) and this process reads
    the share it hands over with one; a pass in this process runs them all from the start."""
    chunk_bytes: int = 1024 * 1024
    sink: Path | None = None
    """When set, every file is also copied into this folder (staging)."""
    virus: VirusPolicy | None = None
    """When set, every file is also streamed to clamd."""


@dataclass
class ContentOutcome:
    observed: dict[str, ObservedFile]
    scan: ScanReport | None = None
    in_worker: bool = False


class PendingContent(Protocol):
    """A content pass under way, here or in the worker."""

    def more(self) -> None:
        """The metadata pass is done: its core can take a part of the content pass."""

    def cancel(self) -> None:
        """The package was refused: finish the files in hand, then forget the outcome."""

    def result(self) -> ContentOutcome:
        """Wait for the outcome; raises the first file's error as the pass would here."""

    def abandon(self) -> None:
        """The caller will not wait (it is failing): stop the pass and free the worker."""


def start_content_pass(
    source: PackageSource, job: ContentJob, *, in_worker: bool, progress: Progress | None = None
) -> PendingContent:
    """Start the content pass of `source` in the worker (`in_worker`, see `use_worker`) or in a thread here.

    `progress` gets byte counts as files are read (in the worker's case, when `result` is waited for).
    """
    if in_worker:
        request = _WORKER.send(source, job, progress is not None)
        if request is not None:
            return _InWorker(request, source, job, progress)
    return _Here(source, job, progress)


def run_content_pass(
    source: PackageSource, job: ContentJob, *, in_worker: bool, progress: Progress | None = None
) -> ContentOutcome:
    """The whole content pass, on every core `job` allows from the start (nothing runs beside it)."""
    pending = start_content_pass(source, job, in_worker=in_worker, progress=progress)
    pending.more()
    return pending.result()


def warm_up() -> bool:
    """Start the worker process now (long-running services and batch jobs call this once).

    False when it cannot start (the gate then reads contents in this process).
    """
    try:
        _WORKER.start()
    except Exception:
        log.warning("content worker could not start; contents are read in this process", exc_info=True)
        _WORKER.discard()
        return False
    return True


def warm_up_for_batch(settings: Settings, packages: int) -> bool:
    """Start the worker before a batch of `packages` packages, unless `settings` keep contents here.

    Started, it also takes the batch's mid-sized packages (`content_worker_min_files` files and more),
    which alone are not worth its start (about 0.25 s).
    """
    if packages < 2 or settings.content_worker == "never":
        return False
    return warm_up()


def worker_running() -> bool:
    return _WORKER.running()


def use_worker(files: int, settings: Settings) -> bool:
    """Whether a package of `files` files should have its contents read in the worker process."""
    mode = settings.content_worker
    if mode == "never":
        return False
    if mode == "always":
        return True
    if files >= settings.content_worker_start_files:
        return True
    return files >= settings.content_worker_min_files and _WORKER.running()


# --------------------------------------------------------------------------- the pass itself


def _prepare(source: PackageSource, job: ContentJob, threads: int, progress: Progress | None) -> _Prepared:
    scanner = VirusScanner(job.virus) if job.virus is not None else None
    content = ContentPass(
        source=source,
        algorithms=job.algorithms,
        identifier=format_identifier(),
        workers=threads,
        chunk_bytes=job.chunk_bytes,
        progress=progress,
        sink=job.sink,
        consumers=[scanner.consumer] if scanner is not None else [],
    )
    return _Prepared(content, scanner)


@dataclass
class _Prepared:
    content: ContentPass
    scanner: VirusScanner | None

    def run(self, entries: list[Entry] | None = None) -> ContentOutcome:
        try:
            observed = self.content.run(entries)
            return ContentOutcome(observed, self.scanner.report() if self.scanner is not None else None)
        finally:
            if self.scanner is not None:
                self.scanner.close()


class _Here:
    """The content pass in a thread of this process (all its threads from the start: the metadata
    pass shares this interpreter, so there is no core to hand over later)."""

    def __init__(self, source: PackageSource, job: ContentJob, progress: Progress | None) -> None:
        self._prepared = _prepare(source, job, job.threads, progress)
        self._future: Future[ContentOutcome] = Future()
        self._thread = threading.Thread(target=self._run, name="content-pass", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._future.set_result(self._prepared.run())
        except BaseException as exc:  # handed to the waiting thread by `result`
            self._future.set_exception(exc)

    def more(self) -> None:
        return None

    def cancel(self) -> None:
        self.abandon()

    def result(self) -> ContentOutcome:
        return self._future.result()

    def abandon(self) -> None:
        self._prepared.content.stop.set()
        self._thread.join()


class _InWorker:
    """The content pass in the worker; on a failure there, read here instead.

    When the metadata pass is done (`more`), the worker hands this process the largest files
    holding about half the bytes it has left: the two processes finish the pass side by side.
    """

    def __init__(self, request: _Request, source: PackageSource, job: ContentJob, progress: Progress | None) -> None:
        self._request: _Request | None = request
        self._source = source
        self._job = job
        self._progress = _Shown(progress) if progress is not None else None
        self._share: list[str] = []

    def more(self) -> None:
        if self._request is None or self._job.threads < 2:
            return
        self._request.control(_MORE)
        try:
            self._share = self._request.share(self._progress)
        except Exception:  # a lost worker shows in `result`
            log.debug("content worker gave no share", exc_info=True)

    def cancel(self) -> None:
        request, self._request = self._request, None
        if request is not None:
            with contextlib.suppress(PackageRejected):  # the package is refused already: no matter
                _stop(request)

    def result(self) -> ContentOutcome:
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("the outcome was taken already")
        try:
            here = self._read_share()
        except BaseException:
            _stop(request)  # raises the worker's refusal instead: its files come first in the pass's order
            raise
        try:
            outcome = request.reply(self._progress)
        except PackageRejected:
            raise
        except WorkerFailure:  # reported by a worker that carries on
            log.warning("content worker failed on this package; reading it in this process", exc_info=True)
        except Exception:
            log.warning("content worker lost; reading the package in this process", exc_info=True)
            _WORKER.discard()
        else:
            outcome.in_worker = True
            return _joined(outcome, here) if here is not None else outcome
        if self._job.sink is not None:
            shutil.rmtree(self._job.sink, ignore_errors=True)  # the worker may have copied some files
        if self._progress is not None:
            self._progress.read_again()
        return _prepare(self._source, self._job, self._job.threads, self._progress).run()

    def _read_share(self) -> ContentOutcome | None:
        if not self._share:
            return None
        entries = [entry for path in self._share if (entry := self._source.get(path)) is not None]
        return _prepare(self._source, self._job, 1, self._progress).run(entries)

    def abandon(self) -> None:
        request, self._request = self._request, None
        if request is not None:
            _WORKER.discard()
            request.release()


def _stop(request: _Request) -> None:
    """Stop the worker's pass of a refused package and wait for it; raises the worker's own refusal."""
    request.control(_STOP)
    try:
        request.reply(None)
    except WorkerFailure:
        pass
    except PackageRejected:
        raise
    except Exception:
        log.warning("content worker lost", exc_info=True)
        _WORKER.discard()


def _joined(there: ContentOutcome, here: ContentOutcome) -> ContentOutcome:
    """One outcome from the worker's part and this process's share."""
    there.observed.update(here.observed)
    if there.scan is not None and here.scan is not None:
        there.scan = there.scan.joined(here.scan)
    return there


# --------------------------------------------------------------------------- the worker process

_READY = b"ready"
_START_SECONDS = 60.0
_MORE, _STOP, _END = b"M", b"S", b"E"
_PROGRESS, _OUTCOME, _SHARE = b"p", b"o", b"h"
_PROGRESS_SECONDS = 0.1
"""The worker reports progress at most this often."""


class WorkerFailure(RuntimeError):
    """The worker could not run a package's content pass and said why; it serves the next one."""


@dataclass(frozen=True)
class _Failure:
    text: str


@dataclass(frozen=True)
class _Rejected:
    error: PackageRejected


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

    def send(self, source: PackageSource, job: ContentJob, progress: bool) -> _Request | None:
        """Send one package; None when the worker is busy with another or cannot take it."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            connection = self.start()
            connection.send_bytes(pickle.dumps((source, job, progress), pickle.HIGHEST_PROTOCOL))
        except Exception:
            log.warning("content worker unavailable; reading the package in this process", exc_info=True)
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
    answer: bytes | None = None
    """The outcome message, when it came before the share."""

    def _next(self, progress: Progress | None) -> bytes:
        """The next message that is not a progress count (those go to `progress`)."""
        while (message := self.connection.recv_bytes())[:1] == _PROGRESS:
            if progress is not None:
                progress(int.from_bytes(message[1:], "little"))
        return message

    def control(self, message: bytes) -> None:
        try:
            self.connection.send_bytes(message)
        except OSError:  # a lost worker shows in `reply`
            log.debug("content worker did not take a control message", exc_info=True)

    def share(self, progress: Progress | None) -> list[str]:
        """After MORE: the paths this process reads itself (an outcome sent before it is kept)."""
        while True:
            message = self._next(progress)
            if message[:1] == _SHARE:
                paths: list[str] = pickle.loads(message[1:])
                return paths
            self.answer = message

    def reply(self, progress: Progress | None) -> ContentOutcome:
        try:
            message = self.answer
            while message is None or message[:1] != _OUTCOME:
                message = self._next(progress)
            self.connection.send_bytes(_END)
        finally:
            self.release()
        answer = pickle.loads(message[1:])
        if isinstance(answer, _Failure):
            raise WorkerFailure(f"content worker: {answer.text}")
        if isinstance(answer, _Rejected):
            raise answer.error
        assert isinstance(answer, ContentOutcome)
        return answer

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.busy.release()


def _start_process() -> tuple[BaseProcess, Connection]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    here, there = context.Pipe(duplex=True)
    process = context.Process(target=_serve, args=(there,), name="earchive-content", daemon=True)
    process.start()
    there.close()
    try:
        if not here.poll(_START_SECONDS) or here.recv_bytes() != _READY:
            raise RuntimeError("the content worker did not start")
    except BaseException:
        here.close()
        process.kill()
        raise
    return process, here


_WORKER = _Worker()


def _serve(connection: Connection) -> None:
    """The worker's loop: one package in, its `ContentOutcome` (or the failure) out, until the pipe closes.

    The garbage collector runs between packages, not during one (a pass makes no cycles).
    """
    _prepare_worker()
    gc.disable()
    connection.send_bytes(_READY)
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        _serve_one(connection, request)
        gc.collect()


def _serve_one(connection: Connection, request: bytes) -> None:
    sending = threading.Lock()
    prepared: _Prepared | None = None
    ready = threading.Event()
    listener = threading.Thread(
        target=_listen, args=(connection, sending, ready, lambda: prepared), daemon=True
    )
    listener.start()
    try:
        source, job, wants_progress = pickle.loads(request)
        progress = _ProgressSender(connection, sending) if wants_progress else None
        prepared = _prepare(source, job, max(1, job.threads - 1), progress)
        ready.set()
        outcome = prepared.run()
        if progress is not None:
            progress.flush()
        answer: object = outcome
    except PackageRejected as rejected:
        answer = _Rejected(rejected)
    except Exception:
        answer = _Failure(traceback.format_exc())
    finally:
        ready.set()
    with sending:
        connection.send_bytes(_OUTCOME + pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    listener.join()


def _listen(
    connection: Connection,
    sending: threading.Lock,
    ready: threading.Event,
    prepared: Callable[[], _Prepared | None],
) -> None:
    """The worker's control thread for one package: MORE and STOP until END (or the pipe closes).

    MORE is answered with exactly one SHARE message: the paths the gate's process reads itself.
    """
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):
            return
        if message == _END:
            return
        ready.wait()
        current = prepared()
        if message == _MORE:
            share = [entry.path for entry in current.content.hand_over()] if current is not None else []
            with sending:
                connection.send_bytes(_SHARE + pickle.dumps(share, pickle.HIGHEST_PROTOCOL))
        elif message == _STOP and current is not None:
            current.content.stop.set()


class _Shown:
    """Byte counts passed on to a progress hook; a pass read again passes on only what is new.

    After a worker failure the whole pass runs again here: its first counts cover bytes the hook
    was already given (by the worker, by this process's share), and would take the bar past 100 %.
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._shown = 0
        self._skip = 0

    def __call__(self, count: int) -> None:
        with self._lock:
            skipped = min(self._skip, count)
            self._skip -= skipped
            count -= skipped
            self._shown += count
        if count:
            self._progress(count)

    def read_again(self) -> None:
        with self._lock:
            self._skip = self._shown


class _ProgressSender:
    """Byte counts from the content threads, sent on at most every `_PROGRESS_SECONDS`."""

    def __init__(self, connection: Connection, sending: threading.Lock) -> None:
        self._connection = connection
        self._sending = sending
        self._lock = threading.Lock()
        self._pending = 0
        self._sent_at = time.monotonic()

    def __call__(self, count: int) -> None:
        with self._lock:
            self._pending += count
            if time.monotonic() - self._sent_at < _PROGRESS_SECONDS:
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0
            self._sent_at = time.monotonic()
        if pending:
            with self._sending:
                self._connection.send_bytes(_PROGRESS + pending.to_bytes(8, "little"))


def _prepare_worker() -> None:
    """In the worker: import everything the pass needs, then keep those objects out of GC scans."""
    from ingest.checks import formats, virus  # noqa: F401

    format_identifier()
    gc.freeze()
