"""Benchmark R-CK-4 signature validation (ingest.pdfsig).

Measures signatures per second over (a) the signed PDFs of the pyHanko corpus in
../shared/corpus/pyhanko-test-data and (b) N PDFs signed with the test PKI, on one thread,
on a thread pool and on a process pool, and compares with raw SHA-256 of the same files
and with opening them with pikepdf.

    .venv/bin/python bench/bench_signatures.py [--files 200] [--workers 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive_core.settings import Settings, SignaturePolicy  # noqa: E402
from ingest.pdfsig import SignatureValidator, TrustStore  # noqa: E402
from ingest.pdfsig.testpki import build_test_pki, make_sample_pdf, sign_pdf  # noqa: E402

AT = datetime(2026, 6, 1, tzinfo=UTC)
CORPUS = Path(os.environ.get("EARCHIVE_SHARED", REPO.parent / "shared")) / "corpus" / "pyhanko-test-data"

_worker: SignatureValidator | None = None


def _init_worker(anchor_files: Sequence[str]) -> None:
    global _worker
    _worker = _make_validator(TrustStore.from_files([Path(f) for f in anchor_files]))
    _worker.warm_up()


def _validate_in_worker(path: str) -> int:
    assert _worker is not None
    return len(_worker.validate_file(Path(path), at=AT).signatures)


def _make_validator(trust: TrustStore) -> SignatureValidator:
    settings = Settings(home=Path(tempfile.gettempdir()) / "earchive-bench",
                        signatures=SignaturePolicy(fetch_revocation=False))
    return SignatureValidator(settings, trust=trust)


def timed(action: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = action()
    return time.perf_counter() - started, count


def sequential(validator: SignatureValidator, files: list[Path]) -> int:
    return sum(len(validator.validate_file(f, at=AT).signatures) for f in files)


def pooled(pool: Executor, function: Callable[[Any], int], files: list[Path] | list[str]) -> int:
    return sum(pool.map(function, files))


def sha256_all(files: list[Path]) -> int:
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
    return len(files)


def pikepdf_all(files: list[Path]) -> int:
    import pikepdf

    opened = 0
    for path in files:
        try:
            with pikepdf.open(path) as pdf:
                _ = len(pdf.pages)
                opened += 1
        except pikepdf.PdfError:
            continue
    return opened


def corpus_files() -> tuple[list[Path], list[Path]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return [], []
    with manifest.open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream, delimiter="\t") if r["case_type"] == "signed-pdf"]
    anchors = sorted({CORPUS / "crypto/testing-ca/root/root.cert.pem", CORPUS / "crypto/selfsigned.cert.pem"})
    return [CORPUS / r["path"] for r in rows], anchors


def generated_files(folder: Path, count: int) -> tuple[list[Path], list[Path]]:
    pki = build_test_pki(folder / "pki")
    base = make_sample_pdf(folder / "base.pdf")
    files = []
    for index in range(count):
        out = folder / "signed" / f"doc-{index:04d}.pdf"
        signer = pki.signer("person" if index % 2 else "org")
        sign_pdf(base, out, signer, reason=f"Phê duyệt văn bản số {index}", location="Đắk Lắk")
        files.append(out)
    return files, sorted(pki.anchors_dir.iterdir())


def measure(name: str, files: list[Path], anchor_files: list[Path], workers: int) -> dict[str, Any]:
    validator = _make_validator(TrustStore.from_files(anchor_files))
    validator.warm_up()
    sequential(validator, files[:3])  # warm caches
    cpu_started = time.process_time()
    seconds, signatures = timed(lambda: sequential(validator, files))
    cpu = time.process_time() - cpu_started
    result: dict[str, Any] = {
        "set": name,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "signatures": signatures,
        "seconds_1_thread": round(seconds, 3),
        "signatures_per_s_1_thread": round(signatures / seconds, 1),
        "cpu_seconds_1_thread": round(cpu, 3),
        "signatures_per_cpu_second": round(signatures / cpu, 1),
        "cpu_ms_per_signature": round(1000 * cpu / max(1, signatures), 2),
    }
    with ThreadPoolExecutor(max_workers=workers) as threads:
        t_seconds, _ = timed(lambda: pooled(threads, lambda f: len(validator.validate_file(f, at=AT).signatures),
                                            files))
    result[f"signatures_per_s_{workers}_threads"] = round(signatures / t_seconds, 1)
    initargs = ([str(f) for f in anchor_files],)
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=initargs) as processes:
        list(processes.map(_validate_in_worker, [str(f) for f in files[:workers * 2]]))  # start + warm up
        p_seconds, _ = timed(lambda: pooled(processes, _validate_in_worker, [str(f) for f in files]))
    result[f"signatures_per_s_{workers}_processes"] = round(signatures / p_seconds, 1)
    sha256_all(files)
    pikepdf_all(files)  # warm the page cache and pikepdf's import
    sha_seconds, _ = timed(lambda: sha256_all(files))
    pike_seconds, _ = timed(lambda: pikepdf_all(files))
    result["sha256_seconds"] = round(sha_seconds, 4)
    result["pikepdf_open_seconds"] = round(pike_seconds, 4)
    result["ratio_vs_sha256"] = round(seconds / sha_seconds, 1)
    result["ratio_vs_pikepdf_open"] = round(seconds / pike_seconds, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200, help="test-PKI PDFs to sign and validate")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    started = time.perf_counter()
    probe = _make_validator(TrustStore())
    probe.warm_up()
    import_seconds = time.perf_counter() - started

    results = []
    corpus, corpus_anchors = corpus_files()
    if corpus:
        results.append(measure("pyhanko-corpus", corpus, corpus_anchors, args.workers))
    with tempfile.TemporaryDirectory(prefix="bench-sig-") as tmp:
        sign_started = time.perf_counter()
        files, anchors = generated_files(Path(tmp), args.files)
        sign_seconds = time.perf_counter() - sign_started
        results.append(measure("test-pki", files, anchors, args.workers))
        results[-1]["signing_ms_per_file"] = round(1000 * sign_seconds / args.files, 1)

    report = {"cpu_count": os.cpu_count(), "workers": args.workers, "load_average": os.getloadavg(),
              "first_use_import_seconds": round(import_seconds, 2), "sets": results}
    for entry in results:
        print(f"\n== {entry['set']}: {entry['files']} files, {entry['signatures']} signatures")
        for key, value in entry.items():
            if key not in ("set",):
                print(f"  {key:32} {value}")
    print(f"\nfirst use (pyHanko import + anchors): {report['first_use_import_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
