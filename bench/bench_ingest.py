"""End-to-end ingest: gate + AIP + two encrypted copies + catalog, against the raw cost of the same work.

    .venv/bin/python bench/bench_ingest.py [--documents 200] [--doc-bytes 300000] [--big-gb 2]

- `ingest_signed`: 200 signed PDFs of 300 KB as a TT 05 SIP ZIP, default settings (two local
  copies, SQLite catalog), virus scan off (clamd is measured in the gate benchmark), PDF evidence
  and preservation copies on. Reports documents/s.
- `raw`: SHA-256 of the same bytes, one thread (what any fixity-aware copy must at least do).
- `big`: one document of `--big-gb` GB ingested in a child process; its peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive_core.settings import Settings
from ingest.archive import ingest_package, open_archive
from ingest.generator import generate_dossier, sign_dossier, write_tt05_sip

RESULTS = Path(__file__).resolve().parent / "results"


def settings_for(home: Path, trust: Path | None = None) -> Settings:
    settings = Settings(home=home, log_json=True)
    settings.virus.enabled = False
    settings.virus.when_unavailable = "skip"
    if trust is not None:
        settings.signatures.trust_dir = trust
    return settings


def raw_sha256(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return time.perf_counter() - started


def bench_signed(work: Path, documents: int, doc_bytes: int) -> dict[str, object]:
    signed = sign_dossier(generate_dossier(seed=12, documents=documents, doc_bytes=doc_bytes),
                          work / "pki", work / "signed")
    package = write_tt05_sip(signed, work / "in", as_zip=True)
    warm = write_tt05_sip(generate_dossier(seed=13, documents=2, doc_bytes=20_000), work / "warm", as_zip=True)
    archive = open_archive(settings_for(work / "home", work / "pki" / "anchors"))
    ingest_package(warm, archive)  # warm: pyHanko, validators, schemas, catalog
    started = time.perf_counter()
    result = ingest_package(package, archive)
    seconds = time.perf_counter() - started
    raw = raw_sha256(sorted((work / "signed").glob("*.pdf")))
    return {
        "documents": documents,
        "state": result.state,
        "seconds": round(seconds, 2),
        "documents_per_s": round(documents / seconds, 1),
        "raw_sha256_s": round(raw, 3),
        "ratio_raw_over_ingest": round(raw / seconds, 3),
    }


def bench_big(work: Path, gigabytes: float) -> dict[str, object]:
    generated = generate_dossier(seed=14, documents=1, doc_bytes=int(gigabytes * 1024**3))
    package = write_tt05_sip(generated, work / "big", as_zip=True)
    code = (
        "import resource, time, sys; from pathlib import Path;"
        "sys.path.insert(0, 'bench'); from bench_ingest import settings_for;"
        "from ingest.archive import ingest_package, open_archive;"
        f"a = open_archive(settings_for(Path({str(work / 'bighome')!r})));"
        f"t = time.perf_counter(); r = ingest_package(Path({str(package)!r}), a);"
        "print(r.state, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    state, seconds, rss_kb = output.split()[-3:]
    return {
        "package_bytes": package.stat().st_size,
        "state": state,
        "seconds": round(float(seconds), 1),
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--doc-bytes", type=int, default=300_000)
    parser.add_argument("--big-gb", type=float, default=2.0, help="0 to skip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earchive-bench-ingest-") as tmp:
        work = Path(tmp)
        report: dict[str, object] = {"ingest_signed": bench_signed(work, args.documents, args.doc_bytes)}
        if args.big_gb > 0:
            report["big"] = bench_big(work, args.big_gb)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
