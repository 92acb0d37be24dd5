"""Benchmark the AIP builder against the raw cost of hashing the same bytes.

    .venv/bin/python bench/bench_aip.py [--documents 200] [--doc-bytes 300000] [--runs 5] [--out FILE]

One TT 05 SIP (ZIP) of `--documents` PDFs goes through the structural gate
with staging kept (not timed). Then, warm, best of `--runs`:
- raw: SHA-256 of every staged document file, one thread (the least any
  fixity-checked copy must do);
- build: `build_aip` into a fresh folder (copy with hashing, EAD, Circular 02
  XML, PREMIS, METS, schemas, manifests, bag-info);
- validate: `validate_aip` (bagit-python re-hashes everything; METS, PREMIS,
  EAD, Circular 02 schemas);
- export: `export_zip`;
- make_bag SHA-256 and SHA-256 + SHA-512 on a copy of the same payload, for
  comparison with writing the manifests from the hashes taken while copying.
Ratio = raw seconds / build seconds (1.0 = building costs no more than hashing).
`raw_copy_s` (shutil.copyfile of the same documents, no hashing) shows how much of
the build is plain disk writing. Dirty pages are flushed (`os.sync`) before each
timed write so that one run does not pay for the previous one's writeback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bagit

from archive_core.settings import Settings
from ingest.gate import GateOptions, GateResult, check_package
from ingest.generator import generate_dossier, write_tt05_sip
from preservation.aip import build_aip, export_zip, validate_aip

STAGED = GateOptions(virus_scan=False, pdf_evidence=False, stage_files=True, keep_staging=True)


def best_of(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_sha256(paths: list[Path], chunk: int) -> float:
    def run() -> None:
        for path in paths:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while data := handle.read(chunk):
                    digest.update(data)

    return timed(run)


def raw_copy(paths: list[Path], target: Path) -> float:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    os.sync()
    return timed(lambda: [shutil.copyfile(p, target / p.name) for p in paths])


def staged_documents(result: GateResult) -> list[Path]:
    assert result.package is not None
    return [Path(result.observed[ref.path].staged_path or "") for doc in result.package.documents
            for ref in doc.files]


def make_bag_seconds(payload: Path, work: Path, checksums: list[str]) -> float:
    target = work / "make-bag"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(payload, target)
    return timed(lambda: bagit.make_bag(str(target), {"Source-Organization": "bench"}, checksums=checksums))


def run(work: Path, documents: int, doc_bytes: int, runs: int) -> dict[str, object]:
    settings = Settings(home=work / "home", workers=2)
    dossier = generate_dossier(seed=7, documents=documents, doc_bytes=doc_bytes)
    package = write_tt05_sip(dossier, work / "in")
    result = check_package(package, settings, options=STAGED)
    if result.verdict.value == "rejected":
        raise SystemExit(f"benchmark package was rejected: {sorted(result.codes())}")
    paths = staged_documents(result)
    total = sum(p.stat().st_size for p in paths)
    counter = iter(range(1_000_000))

    def build_once() -> float:
        out = work / f"aips-{next(counter)}"
        os.sync()
        seconds = timed(lambda: build_aip(result, out, settings))
        shutil.rmtree(out)
        return seconds

    build_once()  # warm: imports, schemas, format identifier
    raw = best_of(runs, lambda: raw_sha256(paths, settings.chunk_bytes))
    build = best_of(runs, build_once)
    copy = best_of(runs, lambda: raw_copy(paths, work / "raw-copy"))
    built = build_aip(result, work / "kept", settings)
    validate = best_of(runs, lambda: timed(lambda: validate_aip(built.bag_dir)))
    export = best_of(runs, lambda: timed(lambda: export_zip(built.bag_dir, work / "aip.zip")))
    logging.getLogger("bagit").setLevel(logging.WARNING)
    payload = built.bag_dir / "data"
    return {
        "documents": documents,
        "document_bytes": total,
        "aip_files": len(built.files),
        "aip_bytes": built.total_size,
        "raw_sha256_s": round(raw, 4),
        "build_s": round(build, 4),
        "ratio_raw_over_build": round(raw / build, 3),
        "raw_copy_s": round(copy, 4),
        "ratio_copy_over_build": round(copy / build, 3),
        "build_mb_per_s": round(total / build / 1e6, 1),
        "validate_aip_s": round(validate, 4),
        "export_zip_s": round(export, 4),
        "make_bag_sha256_s": round(best_of(runs, lambda: make_bag_seconds(payload, work, ["sha256"])), 4),
        "make_bag_sha256_sha512_s": round(
            best_of(runs, lambda: make_bag_seconds(payload, work, ["sha256", "sha512"])), 4
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--doc-bytes", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earchive-bench-aip-") as tmp:
        report = run(Path(tmp), args.documents, args.doc_bytes, args.runs)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
