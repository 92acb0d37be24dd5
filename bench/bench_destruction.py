"""Benchmark: execute the destruction of 1,000 dossiers with two copies each (target < 60 s on 2 cores).

    .venv/bin/python bench/bench_destruction.py [--dossiers 1000] [--files 12] [--kept 1000]
                                                [--workers N] [--record] [--save] [--keep-home]

The fixture is built directly, not through the ingest gate (which takes about
0.7 s a dossier): for each dossier a catalog row with 2 documents, `--files`
files (two ~20 KB "PDFs", the rest 1-3 KB metadata and tag files, like the
smallest real AIPs) and their copies, and the objects themselves, really
encrypted (`EncryptingReader`, the dossier's own data key wrapped by the master
key) on the two default local locations. `--kept` more dossiers are catalogued
(rows only) and are not destroyed, so that the catalog scrub (SQLite VACUUM)
works on a catalog that is not just the destroyed part.

Timed: `StorageExecutor.execute` for one order holding every dossier: the hold
check, the read of what the record needs, deleting every object on both
locations (unlink + fsync of the folder), the catalog purge with the key
destruction, the PREMIS events and one audit entry per dossier, then the catalog
scrub. The record (`--record`) is timed separately: PDF/A with every SHA-256,
XML, and its ingest as an AIP.

`--save` writes bench/results/destruction.json. Exit status 1 when the
execution takes 60 s or more.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from archive_core.catalog import CopyState, DossierRow, DossierState, repo  # noqa: E402
from archive_core.crypto import EncryptingReader, encrypted_size, object_aad  # noqa: E402
from archive_core.keys import new_data_key  # noqa: E402
from archive_core.model import Document, Dossier, FileRole, Fonds  # noqa: E402
from archive_core.settings import Settings  # noqa: E402
from archive_core.timeutil import VN_TZ, system_clock  # noqa: E402
from ingest.archive import Archive, open_archive  # noqa: E402
from preservation.destruction.execution import StorageExecutor  # noqa: E402
from preservation.destruction.workflow import ExecutionItem, ExecutionOrder, ItemOutcome  # noqa: E402

RESULTS = BENCH / "results"
LIMIT_S = 60.0
AGENCY = "000.00.00.H49"
BATCH = 100


@dataclass(frozen=True)
class Planned:
    path: str
    role: FileRole
    data: bytes
    document: int | None


def aip_files(number: int, files: int) -> list[Planned]:
    """A small AIP: two document PDFs, their metadata, and tag files (deterministic content per dossier)."""
    def blob(name: str, size: int) -> bytes:
        seed = hashlib.sha256(f"{number}/{name}".encode()).digest()
        return (seed * (size // len(seed) + 1))[:size]

    planned = [
        Planned(f"data/representations/rep1/data/doc-{number}-{doc}.pdf", FileRole.ORIGINAL,
                b"%PDF-1.7\n" + blob(f"pdf{doc}", 20_000), doc)
        for doc in (0, 1)
    ]
    fixed = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/METS.xml",
             "data/metadata/descriptive/EAD.xml", "data/metadata/preservation/PREMIS.xml",
             "data/metadata/dossier.xml", "data/representations/rep1/METS.xml"]
    extra = [f"data/metadata/documents/doc-{number}-{index}.xml" for index in range(max(0, files - 2 - len(fixed)))]
    for index, path in enumerate([*fixed, *extra][: max(0, files - 2)]):
        role = FileRole.TAG if "/" not in path else FileRole.METADATA
        planned.append(Planned(path, role, blob(path, 1_000 + 200 * index), None))
    return planned


def build_fixture(archive: Archive, dossiers: int, files: int, kept: int) -> dict[str, Any]:
    started = time.perf_counter()
    ids: list[tuple[int, str, str]] = []
    moment = datetime(2026, 11, 21, 9, 0, tzinfo=VN_TZ)
    workers = max(4, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, dossiers + kept, BATCH):
            numbers = range(start, min(start + BATCH, dossiers + kept))
            with archive.catalog.session() as session:
                for number in numbers:
                    ids.append(add_dossier(archive, session, pool, number, files, moment,
                                           with_objects=number < dossiers))
    for store in archive.stores:
        store.sync()
    return {"fixture_s": round(time.perf_counter() - started, 2), "ids": ids[:dossiers]}


def add_dossier(archive: Archive, session: Any, pool: ThreadPoolExecutor, number: int, files: int,
                moment: datetime, *, with_objects: bool) -> tuple[int, str, str]:
    code = f"{AGENCY}.2010.{number:05d}"
    aip_id = f"aip-BENCH-{number:08d}"
    dossier = Dossier(
        organ_id=AGENCY, file_catalog="2010", file_notation=f"{number:05d}", file_code=code,
        title=f"Hồ sơ số {number} về công tác văn thư, lưu trữ năm 2010", maintenance="10 năm",
        mode="Công khai", language="Tiếng Việt", start_date="01/01/2010", end_date="31/12/2010", total_doc="2",
        description=f"Hồ sơ thử nghiệm số {number}", fonds=Fonds(organ_id=AGENCY, fond_name="Sở Nội vụ"),
        documents=[Document(doc_ordinal=str(doc + 1), type_name="Công văn",
                            subject=f"Về việc thử nghiệm {number}/{doc}", issued_date="01/06/2010",
                            organ_name="Sở Nội vụ", language="Tiếng Việt", mode="Công khai")
                   for doc in (0, 1)],
    )
    data_key = new_data_key()
    row = repo.add_dossier(session, dossier, aip_id=aip_id, agency_code=AGENCY, agency_name="Sở Nội vụ",
                           wrapped_key=archive.master_key.wrap(data_key), master_key_id=archive.master_key.key_id,
                           clock=lambda: moment)
    planned = aip_files(number, files)
    repo.add_files(session, row, [
        repo.FileEntry(item.path, item.role, len(item.data), hashlib.sha256(item.data).hexdigest(),
                       document=item.document) for item in planned
    ])

    def put(task: tuple[Any, Planned]) -> repo.CopyEntry:
        store, item = task
        key = f"aips/{aip_id}/{item.path}"
        if with_objects:
            reader = EncryptingReader(io.BytesIO(item.data), data_key, aad=object_aad(aip_id, item.path))
            stored = store.put(key, reader, size=encrypted_size(len(item.data)), durable=False)
            size, digest = stored.size, stored.sha256 or ""
        else:
            size, digest = encrypted_size(len(item.data)), "0" * 64
        return repo.CopyEntry(store.location_id, item.path, key, len(item.data), size, digest, CopyState.VERIFIED,
                              written_at=moment)

    copies = list(pool.map(put, [(store, item) for store in archive.stores for item in planned]))
    repo.add_copies(session, row, copies, clock=lambda: moment)
    session.flush()
    repo.mark_archived(session, row, min_copies=2, clock=lambda: moment)
    return row.id, code, aip_id


def count_objects(archive: Archive) -> int:
    return sum(len(list(store.list("aips/"))) for store in archive.stores)


def file_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-destruction-"))
    try:
        settings = Settings(home=work / "home", workers=max(1, os.cpu_count() or 1))
        settings.virus.enabled = False
        archive = open_archive(settings)
        built = build_fixture(archive, args.dossiers, args.files, args.kept)
        objects_before = count_objects(archive)
        catalog_before = file_bytes(settings.home) - file_bytes(settings.home / "storage")
        now = system_clock()
        order = ExecutionOrder(
            list_code="HUY-BENCH-1", agency_code=AGENCY, decided_by="head", decided_at=now, execution_deadline=None,
            executor="bench", started_at=now,
            items=tuple(ExecutionItem(dossier_id, code, aip_id, None) for dossier_id, code, aip_id in built["ids"]),
        )
        executor = StorageExecutor(archive, workers=args.workers)
        cpu0, started = time.process_time(), time.perf_counter()
        report = executor.execute(order)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
        outcomes = {outcome.value: sum(r.outcome == outcome for r in report.results) for outcome in ItemOutcome}
        with archive.catalog.session(readonly=True) as session:
            destroyed = session.query(DossierRow).filter(DossierRow.state == DossierState.DESTROYED).count()
        result: dict[str, Any] = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_avg_before": os.getloadavg()},
            "dossiers": args.dossiers, "files_per_dossier": args.files, "locations": len(archive.stores),
            "kept_dossiers": args.kept, "fixture": "catalog rows + encrypted objects written directly (no gate)",
            "fixture_s": built["fixture_s"], "objects_before": objects_before,
            "objects_after": count_objects(archive), "catalog_bytes_before": catalog_before,
            "execute_s": round(seconds, 2), "execute_cpu_s": round(cpu, 2),
            "per_dossier_ms": round(1000 * seconds / max(1, args.dossiers), 2),
            "outcomes": outcomes, "destroyed_in_catalog": destroyed,
            "catalog_scrub": report.data.get("catalog_scrub"), "workers": executor.workers,
            "catalog_bytes_after": file_bytes(settings.home) - file_bytes(settings.home / "storage"),
        }
        if args.record:
            from preservation.destruction.record import make_record

            started = time.perf_counter()
            record = make_record(archive, order, report, [])
            result["record_s"] = round(time.perf_counter() - started, 2)
            result["record_pages"] = record.pages
            result["record_pdf_bytes"] = record.pdf_path.stat().st_size
            result["record_aip"] = record.aip_id
        archive.close()
        return result
    finally:
        if args.keep_home:
            print(f"data home kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--files", type=int, default=12, help="files per AIP (objects per location)")
    parser.add_argument("--kept", type=int, default=1000, help="further dossiers in the catalog, not destroyed")
    parser.add_argument("--workers", type=int, default=None, help="executor threads (default: its own)")
    parser.add_argument("--record", action="store_true", help="also time the destruction record")
    parser.add_argument("--save", action="store_true", help="write bench/results/destruction.json")
    parser.add_argument("--keep-home", action="store_true")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "destruction.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    ok = result["execute_s"] < LIMIT_S and result["outcomes"]["destroyed"] == args.dossiers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
