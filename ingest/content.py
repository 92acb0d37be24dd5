"""The content pass: read every byte of the package once.

Each file is streamed in chunks through every hash algorithm the package
declares (plus SHA-256, always), while its first and last 64 KiB are kept for
format identification; a file that fits in one chunk is read with one call.
A bounded number of threads drain one queue of files sorted by size: the
thread that runs the pass takes the smallest first, threads that join take the
largest first. Small files are mostly Python work (open, identify) that two
threads would only pass the GIL back and forth on; large files are mostly
hashing, which hashlib does without the GIL, so the two kinds overlap on two
cores. When a core becomes free (the metadata pass has finished), `hand_over`
gives the largest files left to another process (`ingest/content_worker.py`).
Optionally each file is copied into a staging folder in the same pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ingest.package import FormatId, ObservedFile
from ingest.source import Entry, PackageSource

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024

SUPPORTED_ALGORITHMS = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
_HASHERS: dict[str, Callable[[], hashlib._Hash]] = {name: getattr(hashlib, name) for name in SUPPORTED_ALGORITHMS}
_MANIFEST = re.compile(r"^(?:tag)?manifest-([a-z0-9]+)\.txt$")


def likely_algorithms(source: PackageSource) -> frozenset[str]:
    """Algorithms to compute before the declarations are read: SHA-256 and those of BagIt manifests."""
    names = {e.path for e in source.entries() if "/" not in e.path}
    found = {m.group(1) for name in names if (m := _MANIFEST.match(name))}
    return frozenset({"sha256"} | (found & SUPPORTED_ALGORITHMS))

Progress = Callable[[int], None]


class StreamConsumer(Protocol):
    """Something else that wants every byte of a file during the same pass (e.g. the virus scanner)."""

    def update(self, chunk: memoryview) -> None: ...

    def finish(self) -> None: ...


ConsumerFactory = Callable[[Entry], StreamConsumer | None]


class Identifier(Protocol):
    def identify(
        self,
        name: str,
        head: bytes,
        tail: bytes,
        size: int,
        opener: Callable[[], BinaryIO] | None = None,
    ) -> FormatId: ...


@dataclass
class ContentPass:
    source: PackageSource
    algorithms: frozenset[str]
    identifier: Identifier | None = None
    workers: int = 2
    chunk_bytes: int = 1024 * 1024
    progress: Progress | None = None
    sink: Path | None = None
    """When set, each file is also written to `sink / path` (staging)."""
    consumers: Sequence[ConsumerFactory] = ()
    stop: threading.Event = field(default_factory=threading.Event)
    """Set it to abandon the pass (the package was refused meanwhile); `run` then returns what it has."""
    _running: _Work | None = field(default=None, init=False, repr=False)
    _joining: int = field(default=0, init=False, repr=False)
    _ended: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(self, entries: Iterable[Entry] | None = None) -> dict[str, ObservedFile]:
        """Scan the files, `workers` at a time (see the module's description for who takes which).

        The first file that cannot be read stops the pass: its error is raised once the
        threads have finished the files they hold.
        """
        todo = sorted(self.source.entries() if entries is None else entries, key=lambda e: e.size)
        work = _Work(todo, frozenset(self.algorithms & SUPPORTED_ALGORITHMS | {"sha256"}))
        with self._lock:
            self._running = work
            for _ in range(min(self.workers + self._joining, len(todo)) - 1):
                self._start_thread(work)
        try:
            self._drain(work, largest_first=False)
        finally:
            with self._lock:
                self._running = None
                self._ended = True
            for thread in work.threads:
                thread.join()
        if work.errors:
            raise work.errors[min(work.errors)]
        return {observed.path: observed for observed in work.observed if observed is not None}

    def hand_over(self) -> list[Entry]:
        """Give up the largest files holding about half the bytes not yet taken, for another process.

        The content worker does this when the gate's thread is free: a second process hashes and
        identifies its share without waiting for this interpreter's GIL (a second thread here
        would, for every file's identification). Before the pass starts, a thread joins it
        instead (nothing is handed over); after it ends, nothing is left.
        """
        with self._lock:
            work = self._running
            if work is None:
                if not self._ended:
                    self._joining += 1
                return []
            return work.give_largest_half()

    def _start_thread(self, work: _Work) -> None:
        thread = threading.Thread(
            target=self._drain, args=(work,), kwargs={"largest_first": True}, name="content", daemon=True
        )
        work.threads.append(thread)
        thread.start()

    def _drain(self, work: _Work, *, largest_first: bool) -> None:
        buffer = bytearray(self.chunk_bytes)
        while not self.stop.is_set() and (index := work.take(largest_first)) is not None:
            try:
                work.observed[index] = self._scan_one(work.todo[index], work, buffer)
            except BaseException as exc:  # re-raised by `run` on the calling thread
                work.fail(index, exc)

    def _scan_one(self, entry: Entry, work: _Work, buffer: bytearray) -> ObservedFile:
        hashers = {name: _HASHERS[name]() for name in work.algorithms}
        staged = self._staging_target(entry.path)
        consumers = [c for c in (factory(entry) for factory in self.consumers) if c is not None]
        scan = _Scan([hasher.update for hasher in hashers.values()], consumers, self.progress)
        with _open_sink(staged) as out:
            scan.out = out
            if entry.size <= len(buffer):
                head, tail, size = self._scan_whole(entry, scan, len(buffer))
            else:
                head, tail, size = self._scan_stream(entry, scan, buffer)
            if out is not None:
                out.flush()
                os.fsync(out.fileno())
        for consumer in consumers:
            consumer.finish()
        found = self._identify(entry, head, tail, size)
        return ObservedFile(
            path=entry.path,
            size=size,
            checksums={name: h.hexdigest() for name, h in hashers.items()},
            # One object per distinct format: the content worker's reply pickles each once.
            format=work.formats.setdefault(found, found) if found is not None else None,
            staged_path=str(staged) if staged else self.source.local_file(entry.path),
        )

    def _scan_whole(self, entry: Entry, scan: _Scan, limit: int) -> tuple[bytes, bytes, int]:
        """A file that fits in one chunk: one read; head and tail are slices of it."""
        data = self.source.read_bounded(entry.path, limit)
        if data:
            scan.feed(memoryview(data))
        return data[:HEAD_BYTES], data[-TAIL_BYTES:], len(data)

    def _scan_stream(self, entry: Entry, scan: _Scan, buffer: bytearray) -> tuple[bytes, bytes, int]:
        view = memoryview(buffer)
        head = b""
        tail_pieces: list[bytes] = []
        tail_from = max(entry.size - TAIL_BYTES, 0)
        position = 0
        with self.source.open(entry.path) as stream:
            while not self.stop.is_set():
                count = _read_into(stream, buffer)
                if not count:
                    break
                chunk = view[:count]
                if position == 0:
                    head = bytes(chunk[:HEAD_BYTES])
                end = position + count
                if end > tail_from:
                    tail_pieces.append(bytes(chunk[max(tail_from - position, 0) :]))
                scan.feed(chunk)
                position = end
        tail = b"".join(tail_pieces)[-TAIL_BYTES:]  # one piece, already the right size, in the usual case
        return head, tail, position

    def _identify(self, entry: Entry, head: bytes, tail: bytes, size: int) -> FormatId | None:
        if self.identifier is None:
            return None
        name = entry.path.rsplit("/", 1)[-1]
        return self.identifier.identify(name, head, tail, size, lambda: self.source.open(entry.path))

    def _staging_target(self, path: str) -> Path | None:
        if self.sink is None:
            return None
        target = self.sink / path
        # Paths come from a PackageSource, which already refused traversal; keep a
        # second guard so a bug there cannot write outside staging.
        if not target.resolve().is_relative_to(self.sink.resolve()):
            raise ValueError(f"refusing to stage outside {self.sink}: {path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


class _Scan:
    """Where the chunks of one file go: its hashers, the staging copy, other consumers, progress."""

    def __init__(
        self, updates: list[Callable[[memoryview], None]], consumers: list[StreamConsumer], progress: Progress | None
    ) -> None:
        self.updates = updates
        self.consumers = consumers
        self.progress = progress
        self.out: BinaryIO | None = None

    def feed(self, chunk: memoryview) -> None:
        for update in self.updates:
            update(chunk)
        if self.out is not None:
            self.out.write(chunk)
        for consumer in self.consumers:
            consumer.update(chunk)
        if self.progress is not None:
            self.progress(len(chunk))


class _Work:
    """The files of one pass, sorted by size, handed out one at a time from either end."""

    def __init__(self, todo: list[Entry], algorithms: frozenset[str]) -> None:
        self.todo = todo
        self.algorithms = algorithms
        self.observed: list[ObservedFile | None] = [None] * len(todo)
        self.formats: dict[FormatId, FormatId] = {}
        self.errors: dict[int, BaseException] = {}
        self.threads: list[threading.Thread] = []
        self._next = 0
        self._end = len(todo)
        self._lock = threading.Lock()

    def take(self, largest_first: bool) -> int | None:
        with self._lock:
            if self.errors or self._next >= self._end:
                return None
            if largest_first:
                self._end -= 1
                return self._end
            self._next += 1
            return self._next - 1

    def give_largest_half(self) -> list[Entry]:
        """Take the largest files left that hold about half the bytes left (for another process)."""
        with self._lock:
            if self.errors:
                return []
            left = sum(entry.size for entry in self.todo[self._next : self._end])
            given = 0
            end = self._end
            while end - 1 > self._next and 2 * (given + self.todo[end - 1].size) <= left:
                end -= 1
                given += self.todo[end].size
            share, self._end = self.todo[end : self._end], end
            return share

    def fail(self, index: int, error: BaseException) -> None:
        with self._lock:
            self.errors[index] = error


def _read_into(stream: BinaryIO, buffer: bytearray) -> int:
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        return int(readinto(buffer) or 0)
    data = stream.read(len(buffer))
    buffer[: len(data)] = data
    return len(data)


class _NoSink:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _open_sink(target: Path | None) -> _NoSink | BinaryIO:
    if target is None:
        return _NoSink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    return os.fdopen(fd, "wb")


def package_fingerprint(observed: dict[str, ObservedFile]) -> str:
    """SHA-256 over sorted (path, SHA-256) pairs: same content → same fingerprint (R-IN-3)."""
    digest = hashlib.sha256()
    for path in sorted(observed):
        digest.update(path.encode("utf-8") + b"\0" + observed[path].checksums["sha256"].encode() + b"\n")
    return digest.hexdigest()
