"""Throughput of the built-in PDF/A validator on the veraPDF corpus (files/s per core).

Usage: `.venv/bin/python bench/bench_pdfa.py [--corpus ../shared/corpus/verapdf-corpus] [--json]`

Measures, single-threaded unless stated:
- `pikepdf open`: `pikepdf.open` + catalog + page count + close (the floor);
- `pikepdf.pdfa alone`: `pikepdf.pdfa.validate_written` (what we build on);
- `builtin cold`: our validator with empty caches (first files of a process);
- `builtin warm`: the same files again (schema results of look-alike objects cached);
- `threads=N`: the warm validator over a ThreadPoolExecutor(N), as `check_pdfa` runs it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf

from preservation.pdfa import engine
from preservation.pdfa.builtin import BuiltinPdfaValidator

FLAVOURS = ("PDF/A-1a", "PDF/A-1b", "PDF/A-2a", "PDF/A-2b", "PDF/A-2u", "PDF/A-3b")
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "verapdf-corpus"


def corpus_files(root: Path) -> list[tuple[Path, str]]:
    with (root / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return [
            (root / row["path"], row["flavour"][-2] + "b")
            for row in csv.DictReader(handle, delimiter="\t")
            if row["flavour"] in FLAVOURS
        ]


Row = dict[str, float | int | str]


def _row(label: str, count: int, wall: float, cpu_used: float) -> Row:
    return {"label": label, "files": count, "seconds": wall, "files_per_s": count / wall,
            "cpu_files_per_s": count / cpu_used if cpu_used else 0.0}


def timed(label: str, files: list[tuple[Path, str]], work: Callable[[Path, str], object]) -> Row:
    started = time.perf_counter()
    cpu = time.process_time()
    for path, flavour in files:
        work(path, flavour)
    return _row(label, len(files), time.perf_counter() - started, time.process_time() - cpu)


def open_only(path: Path, flavour: str) -> None:
    with pikepdf.open(path) as pdf:
        len(pdf.pages)
        pdf.Root.get("/Metadata")


def threaded(label: str, files: list[tuple[Path, str]], validator: BuiltinPdfaValidator, workers: int) -> Row:
    started = time.perf_counter()
    cpu = time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda item: validator.validate(item[0], item[1]), files))
    return _row(label, len(files), time.perf_counter() - started, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # fontTools chatters about odd font tables
    files = corpus_files(args.corpus)
    from pikepdf import pdfa

    validator = BuiltinPdfaValidator()
    results = [timed("pikepdf open", files, open_only)]
    results.append(timed("pikepdf.pdfa alone", files, lambda p, f: pdfa.validate_written(p, f)))
    engine._schemas.cache_clear()
    results.append(timed("builtin cold", files, validator.validate))
    results.append(timed("builtin warm", files, validator.validate))
    for workers in sorted({1, 2, os.cpu_count() or 2}):
        results.append(threaded(f"builtin warm, threads={workers}", files, validator, workers))
    floor = float(results[0]["files_per_s"])
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "results": results}, indent=2))
        return
    print(f"{len(files)} files, {os.cpu_count()} cores")
    print(f"{'measure':34} {'files/s':>9} {'files/s/cpu':>12} {'x open':>8}")
    for row in results:
        print(f"{row['label']!s:34} {float(row['files_per_s']):9.1f} {float(row['cpu_files_per_s']):12.1f} "
              f"{floor / float(row['files_per_s']):8.1f}")


if __name__ == "__main__":
    main()
