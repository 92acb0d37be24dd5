"""The content pass: read every byte of the package once.

Each file is streamed in chunks through every hash algorithm the package
declares (plus SHA-256, always), while its first and last 64 KiB are kept for
format identification. Files run in a bounded thread pool: hashlib and zlib
release the GIL on large buffers, so two cores hash two files at once.
Optionally each file is copied into a staging folder in the same pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
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

    def run(self, entries: Iterable[Entry] | None = None) -> dict[str, ObservedFile]:
        todo = list(self.source.entries() if entries is None else entries)
        # Largest first keeps both workers busy until the end.
        todo.sort(key=lambda e: e.size, reverse=True)
        algorithms = self.algorithms & SUPPORTED_ALGORITHMS | {"sha256"}
        local = threading.local()
        results: dict[str, ObservedFile] = {}

        def scan(entry: Entry) -> ObservedFile | None:
            if self.stop.is_set():
                return None
            buffer = getattr(local, "buffer", None)
            if buffer is None:
                buffer = local.buffer = bytearray(self.chunk_bytes)
            return self._scan_one(entry, algorithms, buffer)

        if self.workers <= 1 or len(todo) <= 1:
            observed_files: Iterable[ObservedFile | None] = (scan(entry) for entry in todo)
            results.update((o.path, o) for o in observed_files if o is not None)
            return results
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="content") as pool:
            for observed in pool.map(scan, todo):
                if observed is not None:
                    results[observed.path] = observed
        return results

    def _scan_one(self, entry: Entry, algorithms: Iterable[str], buffer: bytearray) -> ObservedFile:
        hashers = {name: _HASHERS[name]() for name in algorithms}
        updates = [hasher.update for hasher in hashers.values()]
        view = memoryview(buffer)
        head = b""
        tail_pieces: list[bytes] = []
        tail_from = max(entry.size - TAIL_BYTES, 0)
        position = 0
        staged = self._staging_target(entry.path)
        consumers = [c for c in (factory(entry) for factory in self.consumers) if c is not None]
        with self.source.open(entry.path) as stream, _open_sink(staged) as out:
            while not self.stop.is_set():
                count = _read_into(stream, buffer)
                if not count:
                    break
                chunk = view[:count]
                for update in updates:
                    update(chunk)
                if position == 0:
                    head = bytes(chunk[:HEAD_BYTES])
                end = position + count
                if end > tail_from:
                    tail_pieces.append(bytes(chunk[max(tail_from - position, 0) :]))
                if out is not None:
                    out.write(chunk)
                for consumer in consumers:
                    consumer.update(chunk)
                position = end
                if self.progress is not None:
                    self.progress(count)
            if out is not None:
                out.flush()
                os.fsync(out.fileno())
        for consumer in consumers:
            consumer.finish()
        tail = b"".join(tail_pieces)[-TAIL_BYTES:]  # one piece, already the right size, in the usual case
        format_id = self._identify(entry, head, tail, position)
        return ObservedFile(
            path=entry.path,
            size=position,
            checksums={name: h.hexdigest() for name, h in hashers.items()},
            format=format_id,
            staged_path=str(staged) if staged else self.source.local_file(entry.path),
        )

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
