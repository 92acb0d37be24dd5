"""Benchmark the ingest gate against the raw cost of hashing the same bytes.

    .venv/bin/python bench/bench_gate.py [--documents 200] [--doc-bytes 300000] [--big-gb 2]

Measured in one run, on the same package, warm; raw and gate runs alternate (best of N each,
and the median of the N pairwise ratios):
- raw: stream every file of the package through SHA-256, one thread, via the
  same package source (for a ZIP that includes inflating it): the least any
  fixity check must do;
- gate: `check_package` with the structural gate (fixity, formats, metadata,
  CSIP/TT 05 structure, policy), PDF evidence and virus scan off (they have
  their own benchmarks).
Ratio = raw seconds / gate seconds (1.0 = the gate costs no more than hashing).

`full_gate_signed` runs the whole gate (PDF evidence included, virus scan off)
on the same number of PDFs signed with the test PKI, and compares it with the
raw cost of the same evidence: SHA-256 + pikepdf open + plain pyHanko
validation of every file, one thread.

`cpu_budget` measures, one thread at a time and in CPU time (steadier than wall time on a
shared machine), what the gate's parts cost on the same package: hashing alone, the
content pass, the metadata pass and the checks after both; `two_core_floor_ms` is the
wall time the gate would take if its two passes shared two cores perfectly.

The big-package run checks a package of `--big-gb` GB in a child process and
reports its peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from archive_core.settings import Settings
from ingest import content_worker, metadata_pass
from ingest.gate import STRUCTURAL_ONLY, check_package
from ingest.generator import generate_dossier, write_tt05_sip
from ingest.source import open_source

RESULTS = Path(__file__).resolve().parent / "results"


def raw_sha256_seconds(package: Path, settings: Settings, staging: Path) -> tuple[float, int]:
    started = time.perf_counter()
    total = 0
    with open_source(package, settings.limits, staging) as source:
        for entry in source.entries():
            digest = hashlib.sha256()
            with source.open(entry.path) as stream:
                while chunk := stream.read(settings.chunk_bytes):
                    digest.update(chunk)
                    total += len(chunk)
    return time.perf_counter() - started, total


def gate_seconds(package: Path, settings: Settings) -> float:
    started = time.perf_counter()
    result = check_package(package, settings, options=STRUCTURAL_ONLY)
    elapsed = time.perf_counter() - started
    if result.verdict.value == "rejected":
        codes = sorted({f.code for f in result.findings if f.severity.value == "error"})
        raise SystemExit(f"benchmark package was rejected: {codes}")
    return elapsed


def bench_ratio(work: Path, documents: int, doc_bytes: int, runs: int) -> list[dict[str, object]]:
    dossier = generate_dossier(seed=7, documents=documents, doc_bytes=doc_bytes)
    rows: list[dict[str, object]] = []
    for as_zip in (False, True):
        out = work / ("zip" if as_zip else "folder")
        out.mkdir()
        package = write_tt05_sip(dossier, out, as_zip=as_zip)
        settings = Settings(home=work / "home", log_json=True)
        content_worker.warm_up()  # as a long-running service does at start
        gate_seconds(package, settings)  # warm: schemas, libmagic, imports
        # Alternate the two so both see the same moments of a shared, noisy machine.
        pairs = [
            (raw_sha256_seconds(package, settings, work / "raw"), gate_seconds(package, settings))
            for _ in range(runs)
        ]
        (raw, total), gate = min(p[0] for p in pairs), min(p[1] for p in pairs)
        ratios = sorted(r[0] / g for r, g in pairs)
        budget = cpu_budget(package, settings, work / "cpu", runs)
        rows.append(
            {
                "form": "zip" if as_zip else "folder",
                "documents": documents,
                "bytes": total,
                "raw_sha256_s": round(raw, 4),
                "gate_s": round(gate, 4),
                "ratio": round(raw / gate, 3),
                "ratio_median_of_pairs": round(ratios[len(ratios) // 2], 3),
                "gate_mb_per_s": round(total / gate / 1e6, 1),
                "cpu_budget": budget,
            }
        )
    return rows


def _cpu_ms(work: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def cpu_budget(package: Path, settings: Settings, staging: Path, runs: int) -> dict[str, float]:
    """CPU milliseconds (best of `runs`) of each part of the structural gate, one thread each."""
    from archive_core.findings import CheckContext
    from ingest.content import ContentPass
    from ingest.content_worker import format_identifier
    from ingest.gate import _check_content

    with open_source(package, settings.limits, staging) as source:
        parsed = metadata_pass.read_metadata(source, CheckContext(), settings)
        content = ContentPass(source=source, algorithms=frozenset({"sha256"}), identifier=format_identifier())
        observed = content.run()
        parts = {
            "open_ms": _cpu_ms(lambda: open_source(package, settings.limits, staging).close(), runs),
            "sha256_only_ms": _cpu_ms(lambda: raw_sha256_seconds(package, settings, staging), runs),
            "content_pass_ms": _cpu_ms(lambda: ContentPass(
                source=source, algorithms=frozenset({"sha256"}), identifier=format_identifier(), workers=1
            ).run(), runs),
            "metadata_pass_ms": _cpu_ms(lambda: metadata_pass.read_metadata(source, CheckContext(), settings), runs),
            "checks_after_ms": _cpu_ms(lambda: _check_content(parsed, observed, CheckContext(), settings),
                                       runs),
        }
    passes = parts["content_pass_ms"] + parts["metadata_pass_ms"]
    parts["two_core_floor_ms"] = round(parts["open_ms"] + passes / 2 + parts["checks_after_ms"], 1)
    return parts


def bench_big(work: Path, gigabytes: float) -> dict[str, object]:
    documents = 8
    doc_bytes = int(gigabytes * 1024**3 / documents)
    out = work / "big"
    out.mkdir()
    dossier = generate_dossier(seed=11, documents=documents, doc_bytes=doc_bytes)
    package = write_tt05_sip(dossier, out, as_zip=True)
    code = (
        "import sys, resource, time; from pathlib import Path;"
        "from archive_core.settings import Settings; from ingest.gate import STRUCTURAL_ONLY, check_package;"
        "t=time.perf_counter();"
        f"r=check_package(Path({str(package)!r}), Settings(home=Path({str(work / 'bighome')!r})), "
        "options=STRUCTURAL_ONLY);"
        "print(r.verdict.value, time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    verdict, seconds, rss_kb = output.split()
    return {
        "package_bytes": package.stat().st_size,
        "verdict": verdict,
        "seconds": round(float(seconds), 2),
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
    }


def raw_evidence_seconds(files: list[Path], anchors: Path) -> float:
    """The raw cost of the same evidence: SHA-256 + pikepdf open + plain pyHanko validation, one thread."""
    import pikepdf
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [load_cert_from_pemder(str(p)) for p in sorted(anchors.iterdir())]
    started = time.perf_counter()
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        with pikepdf.open(path) as pdf:
            len(pdf.pages)
        with path.open("rb") as stream:
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            for signature in PdfFileReader(stream).embedded_signatures:
                validate_pdf_signature(signature, context)
    return time.perf_counter() - started


def bench_full_gate(work: Path, documents: int, doc_bytes: int) -> dict[str, object]:
    """The whole gate (PDF evidence included, virus scan off) on signed PDFs."""
    from ingest.gate import GateOptions
    from ingest.generator import sign_dossier

    signed = sign_dossier(
        generate_dossier(seed=9, documents=documents, doc_bytes=doc_bytes), work / "pki", work / "signed"
    )
    package = write_tt05_sip(signed, work / "full", as_zip=True)
    settings = Settings(home=work / "fullhome", log_json=True)
    settings.signatures.trust_dir = work / "pki" / "anchors"
    options = GateOptions(virus_scan=False)
    check_package(package, settings, options=options)  # warm: pyHanko, validators
    started = time.perf_counter()
    result = check_package(package, settings, options=options)
    gate = time.perf_counter() - started
    statuses = sorted({s.status for fs in result.evidence.signatures.values() for s in fs.signatures})
    raw = raw_evidence_seconds(sorted((work / "signed").glob("*.pdf")), work / "pki" / "anchors")
    return {
        "documents": documents,
        "gate_s": round(gate, 2),
        "documents_per_s": round(documents / gate, 1),
        "raw_hash_pikepdf_pyhanko_s": round(raw, 2),
        "ratio_raw_over_gate": round(raw / gate, 2),
        "signature_statuses": statuses,
        "verdict": result.verdict.value,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--doc-bytes", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--big-gb", type=float, default=2.0, help="0 to skip the big package")
    parser.add_argument("--skip", nargs="*", default=[], choices=["ratio", "full", "big"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earchive-bench-") as tmp:
        work = Path(tmp)
        report: dict[str, object] = {}
        if "ratio" not in args.skip:
            report["ratio"] = bench_ratio(work, args.documents, args.doc_bytes, args.runs)
        if "full" not in args.skip:
            report["full_gate_signed"] = bench_full_gate(work, args.documents, args.doc_bytes)
        if args.big_gb > 0 and "big" not in args.skip:
            report["big"] = bench_big(work, args.big_gb)
    report["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gate.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
