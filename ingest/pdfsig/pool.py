"""Signature validation in worker processes, behind the `SignatureValidator` interface.

Validation is pure Python (PDF parsing, ASN.1, path building) under the GIL: threads do
not add throughput (bench/bench_signatures.py). `ProcessPoolValidator` keeps one warm
`SignatureValidator` per worker process (pyHanko imported once per worker) and is a
drop-in for `check_signatures`: the gate's bounded thread pool then only waits on
process futures, so `settings.workers` threads drive `workers` processes.

    with ProcessPoolValidator(settings, workers=settings.workers) as validator:
        check_signatures(pkg, observed, ctx, settings, validator)

Workers start with the "spawn" method (safe next to the gate's threads) and cost about
0.7 s each once; results come back as `FileSignatures` (plain dataclasses, picklable).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from archive_core.settings import Settings
from ingest.pdfsig.results import FileSignatures
from ingest.pdfsig.trust import TrustStore
from ingest.pdfsig.validator import SignatureValidator

_worker: SignatureValidator | None = None


def _start_worker(settings: Settings, trust: TrustStore) -> None:
    global _worker
    _worker = SignatureValidator(settings, trust=trust)
    _worker.warm_up()


def _validate(path: str, at: datetime) -> FileSignatures:
    if _worker is None:
        raise RuntimeError("worker not initialised")
    return _worker.validate_file(Path(path), at=at)


class ProcessPoolValidator(SignatureValidator):
    def __init__(
        self,
        settings: Settings,
        *,
        trust: TrustStore | None = None,
        workers: int | None = None,
        start_method: str = "spawn",
    ) -> None:
        super().__init__(settings, trust=trust)
        self.workers = max(1, workers or settings.workers)
        self._context = multiprocessing.get_context(start_method)
        self._executor: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def warm_up(self) -> None:
        """Start every worker now (each imports pyHanko once)."""
        executor = self._pool()
        list(executor.map(_noop, range(self.workers * 2)))

    def validate_file(self, path: Path, *, at: datetime | None = None) -> FileSignatures:
        moment = at if at is not None else datetime.now(UTC)
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("validation time `at` must carry a time zone")
        return self._pool().submit(_validate, str(path), moment).result()

    def close(self) -> None:
        with self._pool_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def __enter__(self) -> ProcessPoolValidator:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=_start_worker,
                    initargs=(self.settings, self.trust),
                )
            return self._executor


def _noop(_: int) -> None:
    return None
