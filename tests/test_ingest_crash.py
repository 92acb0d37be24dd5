"""R-ST-6 crash injection: kill ingest at every step and at random moments, then restart.

Each run ends with the submission either fully archived (every copy verified on
every location, the catalog and the stored objects agree) or not archived at
all (no dossier, no object) and re-ingestible. Never partial.

Children are forked from a forkserver that has the code preloaded, so a run
costs a fork, not an interpreter start, and the pytest worker's own threads are
never forked.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_core.catalog import CopyRow, DossierRow, DossierState
from archive_core.settings import Settings
from ingest.archive import Archive, ingest_package, object_key, open_archive, recover
from ingest.generator import generate_dossier, write_tt05_sip

STEPS = ["gate", "submission-recorded", "aip-built", "pending-recorded", "copies-written", "committed"]
RUNS = 100

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ingest.archive", "ingest.gate", "preservation.aip", "ingest.evidence"])


def _settings(home: Path) -> Settings:
    settings = Settings(home=home, workers=2)
    settings.virus.enabled = False
    settings.virus.when_unavailable = "skip"
    return settings


def _child(home: str, package: str, crash_at: str, mode: str) -> None:
    archive = open_archive(_settings(Path(home)))

    def fault(step: str) -> None:
        if step == crash_at:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"injected fault at {step}")

    try:
        ingest_package(Path(package), archive, fault=fault)
    finally:
        os._exit(0)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crash-package")
    return write_tt05_sip(generate_dossier(seed=21, documents=2, doc_bytes=15_000), out)


def _plan() -> list[tuple[str, str]]:
    """Every named step, in both modes, then put positions and random kill times up to RUNS."""
    rng = random.Random(6)
    plan = [(step, mode) for step in STEPS for mode in ("kill", "raise")]
    for location in ("copy-1", "copy-2"):
        plan += [(f"put:{location}:{n}", rng.choice(["kill", "raise"])) for n in (0, 1, 5, 11, 17)]
    while len(plan) < RUNS:
        plan.append((f"sigkill-after:{rng.uniform(0.05, 1.5):.3f}", "timer"))
    return plan


@pytest.mark.slow
@pytest.mark.parametrize(("crash_at", "mode"), _plan())
def test_crash_at_any_point_leaves_old_or_new_state(package: Path, tmp_path: Path, crash_at: str, mode: str) -> None:
    home = tmp_path / "home"
    open_archive(_settings(home)).close()  # master key, catalog and folders exist before the crash
    if mode == "timer":
        process = _CONTEXT.Process(target=_child, args=(str(home), str(package), "never", "kill"))
        process.start()
        time.sleep(float(crash_at.split(":")[1]))
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
    else:
        process = _CONTEXT.Process(target=_child, args=(str(home), str(package), crash_at, mode))
        process.start()
    process.join(120)
    assert not process.is_alive()

    archive = open_archive(_settings(home))
    recover(archive)
    first = _assert_consistent(archive)
    again = ingest_package(package, archive)
    assert again.state == ("duplicate" if first == "archived" else "archived"), (crash_at, first, again.state)
    assert _assert_consistent(archive) == "archived"
    report = archive.audit.verify()
    assert report.ok, report.message_en


def _assert_consistent(archive: Archive) -> str:
    """Catalog and every location agree; returns `archived` or `absent`."""
    with archive.catalog.session(readonly=True) as session:
        dossiers = session.scalars(select(DossierRow)).all()
        assert all(row.state is DossierState.ARCHIVED for row in dossiers), [row.state for row in dossiers]
        assert len(dossiers) <= 1
        copies = session.scalars(select(CopyRow)).all()
        expected = {(c.location_id, c.object_key): (c.stored_size, c.stored_sha256) for c in copies}
        files = {f.path for row in dossiers for f in row.files}
        aip_ids = [row.aip_id for row in dossiers]
    stored = {(s.location_id, o.key) for s in archive.stores for o in s.list("aips/")}
    assert stored == set(expected), "every stored object is a verified copy of an archived dossier"
    for aip_id in aip_ids:
        assert aip_id is not None
        for store in archive.stores:
            assert {object_key(aip_id, path) for path in files} == {
                key for (location, key) in expected if location == store.location_id
            }, "every location holds every file"
    for (location, key), (size, sha256) in expected.items():
        store = archive.store(location)
        found = store.stat(key)
        assert found is not None and found.size == size and store.sha256(key) == sha256
    staging = archive.settings.staging_dir
    assert not staging.exists() or not any(staging.iterdir())
    return "archived" if dossiers else "absent"
