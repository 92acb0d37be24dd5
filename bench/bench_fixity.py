"""Benchmark the fixity audit of stored copies against raw SHA-256 over the same stored files.

    .venv/bin/python bench/bench_fixity.py [--dossiers 6] [--documents 10] [--doc-bytes 4000000]
                                           [--small-dossiers 30] [--runs 7] [--out FILE]

Two archives are built through the real ingest pipeline (two local locations,
every object encrypted), not timed:
- "large": `--dossiers` dossiers of `--documents` PDFs of `--doc-bytes` each (scans);
- "small": `--small-dossiers` dossiers of 20 kB PDFs (mostly small XML objects: the
  per-object overhead case).
Then, warm (every stored file read once first), best of `--runs`:
- raw_1: hashlib SHA-256 over every stored file, one thread, 1 MiB reads;
- raw_n: the same split over `workers` threads (the same parallelism as the audit);
- audit: `audit_fixity(archive, repair=False)` over every copy: catalog selection,
  hashing in the pool, comparison, one catalog transaction per batch with the
  copies' check times and a PREMIS event per dossier, and the run's audit entry.
Raw and audit runs alternate (the machine may be shared); reported: the best of each, the
ratio of the bests (raw = the faster of raw_1 and raw_n), the median of the paired ratios, and
the audit's overhead per object. The target is audit >= 0.70 x raw.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive_core.settings import Settings
from ingest.archive import ingest_package, open_archive
from ingest.generator import generate_dossier, write_tt05_sip
from preservation.fixity import audit_fixity

CHUNK = 1024 * 1024


def stored_files(settings: Settings) -> list[Path]:
    roots = [settings.location_path(location) / "aips" for location in settings.storage.locations]
    return sorted(path for root in roots for path in root.rglob("*") if path.is_file())


def hash_files(paths: list[Path]) -> int:
    buffer = memoryview(bytearray(CHUNK))
    total = 0
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb", buffering=0) as handle:
            while count := handle.readinto(buffer):
                digest.update(buffer[:count])
                total += count
    return total


def raw(paths: list[Path], threads: int) -> float:
    started = time.perf_counter()
    if threads == 1:
        hash_files(paths)
    else:
        shares = [paths[index::threads] for index in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(hash_files, shares))
    return time.perf_counter() - started


def build(work: Path, dossiers: int, documents: int, doc_bytes: int, workers: int) -> Settings:
    settings = Settings(home=work / "home", workers=workers)
    settings.virus.when_unavailable = "skip"
    settings.pdfa.make_preservation_copy = False  # not needed to measure fixity; keeps the set-up short
    archive = open_archive(settings)
    try:
        for seed in range(dossiers):
            generated = generate_dossier(seed=seed, documents=documents, doc_bytes=doc_bytes)
            result = ingest_package(write_tt05_sip(generated, work / "in" / str(seed)), archive)
            if result.state != "archived":
                raise SystemExit(f"benchmark dossier {seed} was not archived: {result.state}")
    finally:
        archive.close()
    return settings


def measure(settings: Settings, runs: int) -> dict[str, object]:
    """Raw and audit runs alternate, so that load from other jobs hits both alike; best and median reported."""
    paths = stored_files(settings)
    total = sum(path.stat().st_size for path in paths)
    hash_files(paths)  # warm the page cache: both sides then read from memory
    archive = open_archive(settings)
    raw_1: list[float] = []
    raw_n: list[float] = []
    audit: list[float] = []
    try:
        audit_fixity(archive, repair=False)  # warm: imports, connections, statement caches
        for _ in range(runs):
            raw_1.append(raw(paths, 1))
            raw_n.append(raw(paths, settings.workers))
            report = audit_fixity(archive, repair=False)
            if report.bytes != total or report.failed or report.checked != len(paths):
                raise SystemExit(f"audit saw {report.bytes} bytes / {report.failed} failures, expected {total} / 0")
            audit.append(report.seconds)
    finally:
        archive.close()
    best_raw = min(min(raw_1), min(raw_n))
    return {
        "objects": len(paths),
        "bytes": total,
        "mean_object_bytes": total // max(1, len(paths)),
        "workers": settings.workers,
        "runs": runs,
        "raw_1_s": round(min(raw_1), 4),
        "raw_n_s": round(min(raw_n), 4),
        "audit_s": round(min(audit), 4),
        "raw_best_mb_per_s": round(total / best_raw / 1e6, 1),
        "audit_mb_per_s": round(total / min(audit) / 1e6, 1),
        "audit_objects_per_s": round(len(paths) / min(audit)),
        "ratio_best_audit_vs_best_raw": round(best_raw / min(audit), 3),
        "ratio_median_paired": round(statistics.median(
            min(one, many) / checked for one, many, checked in zip(raw_1, raw_n, audit, strict=True)
        ), 3),
        "overhead_us_per_object": round((min(audit) - best_raw) / len(paths) * 1e6, 1),
        "raw_1_runs_s": [round(value, 4) for value in raw_1],
        "raw_n_runs_s": [round(value, 4) for value in raw_n],
        "audit_runs_s": [round(value, 4) for value in audit],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=6)
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--doc-bytes", type=int, default=4_000_000)
    parser.add_argument("--small-dossiers", type=int, default=30)
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    report: dict[str, object] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="earchive-bench-fixity-") as tmp:
        large = build(Path(tmp) / "large", args.dossiers, args.documents, args.doc_bytes, args.workers)
        report["large"] = measure(large, args.runs)
        small = build(Path(tmp) / "small", args.small_dossiers, 5, 20_000, args.workers)
        report["small_note"] = "20 kB PDFs: mostly small XML objects; the per-run fixed cost weighs most here"
        report["small"] = measure(small, args.runs)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
