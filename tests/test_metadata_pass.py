"""The metadata pass in the worker process gives what it gives in this process, and fails safe."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest

from archive_core.settings import Settings
from ingest import metadata_pass
from ingest.content import ContentPass
from ingest.gate import STRUCTURAL_ONLY, GateResult, check_package
from ingest.generator import Fault, generate_dossier, write_bagit, write_tt05_sip
from ingest.source import ChangedSourceError, open_source

FAULTS = (Fault.WRONG_CHECKSUM, Fault.SECRET_MODE, Fault.BAD_DATE, Fault.NOT_NFC, Fault.REAL_WORLD_DEVIATIONS)


def _settings(tmp_path: Path, mode: str) -> Settings:
    return Settings(home=tmp_path / f"home-{mode}", metadata_worker=mode)  # type: ignore[arg-type]


def _packages(tmp_path: Path) -> dict[str, Path]:
    dossier = generate_dossier(seed=3, documents=6, doc_bytes=4_000)
    out = tmp_path / "packages"
    return {
        "tt05-folder": write_tt05_sip(dossier, out / "a", as_zip=False),
        "tt05-zip": write_tt05_sip(dossier, out / "b", as_zip=True),
        "tt05-faults": write_tt05_sip(dossier, out / "c", as_zip=True, faults=FAULTS),
        "bagit-tar": write_bagit(dossier, out / "d", form="tar.gz"),
        "bagit-faults": write_bagit(dossier, out / "e", form="zip", faults=(Fault.WRONG_CHECKSUM, Fault.BAD_DATE)),
    }


def _comparable(result: GateResult) -> dict[str, Any]:
    """Everything a reader of the result sees, except identifiers and times."""
    return {
        "verdict": result.verdict,
        "findings": [f.to_dict() for f in result.findings],
        "events": [(e.event_type, e.agent, e.outcome, e.detail, e.outcome_detail, e.objects) for e in result.events],
        "documents": result.package.documents if result.package else None,
        "declared": result.package.declared if result.package else None,
        "observed": sorted((o.path, o.checksums["sha256"], o.format) for o in result.observed.values()),
    }


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _packages(tmp_path_factory.mktemp("metadata-pass"))


@pytest.mark.parametrize("name", ["tt05-folder", "tt05-zip", "tt05-faults", "bagit-tar", "bagit-faults"])
def test_worker_and_this_process_give_the_same_result(packages: dict[str, Path], tmp_path: Path, name: str) -> None:
    here = check_package(packages[name], _settings(tmp_path, "never"), options=STRUCTURAL_ONLY)
    there = check_package(packages[name], _settings(tmp_path, "always"), options=STRUCTURAL_ONLY)
    assert metadata_pass.worker_running()
    assert _comparable(there) == _comparable(here)
    if name.endswith("faults"):
        assert there.verdict.value == "rejected"


def test_a_package_refused_while_reading_is_refused_the_same_way(tmp_path: Path) -> None:
    package = write_tt05_sip(generate_dossier(seed=4, documents=2, doc_bytes=2_000), tmp_path, as_zip=False)
    (package / "METS.xml").write_bytes(b"<mets><unclosed></mets>")
    here = check_package(package, _settings(tmp_path, "never"), options=STRUCTURAL_ONLY)
    there = check_package(package, _settings(tmp_path, "always"), options=STRUCTURAL_ONLY)
    assert "CK-XML-MALFORMED" in there.codes()
    assert _comparable(there) == _comparable(here)


def test_worker_reads_in_the_worker_and_ships_findings_and_events(packages: dict[str, Path], tmp_path: Path) -> None:
    settings = _settings(tmp_path, "always")
    with open_source(packages["tt05-faults"], settings.limits, tmp_path / "staging") as source:
        there = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
        here = metadata_pass.run_metadata_pass(source, settings, in_worker=False)
    assert there.in_worker and not here.in_worker
    assert [f.to_dict() for f in there.findings] == [f.to_dict() for f in here.findings]
    assert [e.event_type for e in there.events] == [e.event_type for e in here.events]
    assert there.package is not None and here.package is not None
    assert there.package.documents == here.package.documents


def test_a_zip_replaced_after_listing_is_read_here_from_the_listed_file(tmp_path: Path) -> None:
    dossier = generate_dossier(seed=5, documents=3, doc_bytes=2_000)
    package = write_tt05_sip(dossier, tmp_path / "one", as_zip=True)
    other = write_tt05_sip(generate_dossier(seed=6, documents=1, doc_bytes=2_000), tmp_path / "two", as_zip=True)
    settings = _settings(tmp_path, "always")
    with open_source(package, settings.limits, tmp_path / "staging") as source:
        expected = metadata_pass.read_metadata(source, settings)
        os.replace(other, package)  # a new file under the old name: the worker must not read it
        with pytest.raises(ChangedSourceError):
            pickle.loads(pickle.dumps(source)).open(source.entries()[0].path)
        reading = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
    assert not reading.in_worker, "the worker's failure must fall back to this process"
    assert reading.package is not None and expected.package is not None
    assert reading.package.documents == expected.package.documents


def test_a_dead_worker_is_replaced(packages: dict[str, Path], tmp_path: Path) -> None:
    settings = _settings(tmp_path, "always")
    assert metadata_pass.warm_up()
    process = metadata_pass._WORKER._process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    with open_source(packages["tt05-zip"], settings.limits, tmp_path / "staging") as source:
        after_death = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
        replaced = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
    assert not after_death.in_worker and after_death.package is not None
    assert replaced.in_worker and replaced.package is not None
    assert replaced.package.documents == after_death.package.documents


def test_when_the_worker_is_used(tmp_path: Path) -> None:
    use = metadata_pass.use_worker
    never, always = _settings(tmp_path, "never"), _settings(tmp_path, "always")
    auto = Settings(home=tmp_path, metadata_worker_min_files=10, metadata_worker_start_files=100)
    assert not use(10_000, never)
    assert use(1, always)
    assert use(100, auto), "large enough to start it"
    assert not use(9, auto), "too small even when warm"
    assert use(10, auto) == metadata_pass.worker_running()


def test_a_pickled_tar_source_never_removes_the_unpacked_files(tmp_path: Path) -> None:
    folder = tmp_path / "bag"
    (folder / "data").mkdir(parents=True)
    (folder / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (folder / "data" / "a.txt").write_bytes(b"a")
    archive = tmp_path / "bag.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname="bag")
    source = open_source(archive, Settings().limits)  # unpacks into a private folder of its own
    local = source.local_path("data/a.txt")
    assert local is not None and local.exists()
    copy = pickle.loads(pickle.dumps(source))
    assert copy.read_bounded("data/a.txt", 10) == b"a"
    copy.close()
    assert local.exists(), "the copy (as in the worker) must leave the files alone"
    source.close()
    assert not local.exists()


# --------------------------------------------------------------------------- the content pass queue


def test_a_thread_added_mid_pass_shares_the_work(packages: dict[str, Path], tmp_path: Path) -> None:
    limits = Settings().limits
    with open_source(packages["tt05-folder"], limits, tmp_path / "s") as source:
        alone = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1).run()
        added: list[bool] = []
        once = threading.Lock()

        def progress(_count: int) -> None:
            with once:
                if not added:
                    added.append(shared.add_worker())

        shared = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1, progress=progress)
        together = shared.run()
        assert added == [True]
        assert not shared.add_worker(), "no pass is running any more"
    assert {p: o.checksums for p, o in together.items()} == {p: o.checksums for p, o in alone.items()}


def test_the_first_unreadable_file_stops_the_pass(packages: dict[str, Path], tmp_path: Path) -> None:
    package = tmp_path / "copy"
    shutil.copytree(packages["tt05-folder"], package)
    with open_source(package, Settings().limits, tmp_path / "s") as source:
        victim = max(source.entries(), key=lambda e: e.size)
        local = source.local_path(victim.path)
        assert local is not None
        local.write_bytes(local.read_bytes() + b"grown")
        with pytest.raises(Exception) as caught:
            ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=2).run()
    assert getattr(caught.value, "finding", None) is not None
    assert caught.value.finding.code == "CK-PKG-SIZE-MISMATCH"  # type: ignore[attr-defined]


@pytest.mark.parametrize("form", ["tt05-folder", "tt05-zip", "bagit-tar"])
def test_files_read_whole_or_streamed_are_observed_alike(packages: dict[str, Path], tmp_path: Path, form: str) -> None:
    """Files that fit in one chunk are read with one call; streaming them in small chunks must agree."""
    from ingest.gate import format_identifier

    with open_source(packages[form], Settings().limits, tmp_path / "s") as source:
        whole = ContentPass(source=source, algorithms=frozenset({"sha256", "md5"}), identifier=format_identifier())
        streamed = ContentPass(
            source=source, algorithms=frozenset({"sha256", "md5"}), identifier=format_identifier(), chunk_bytes=1024
        )
        by_one_read, by_chunks = whole.run(), streamed.run()
    assert any(entry.size > 1024 for entry in source.entries()), "some files must be streamed in several chunks"
    assert by_one_read == by_chunks


def test_a_joining_thread_takes_the_largest_files_first(packages: dict[str, Path], tmp_path: Path) -> None:
    """The running thread keeps the small, GIL-heavy files; a second one starts on the large ones."""
    taken: list[tuple[str, int]] = []
    both_started = threading.Barrier(2, timeout=30)
    started: set[str] = set()

    def record(entry: Any) -> None:
        name = threading.current_thread().name
        taken.append((name, entry.size))
        if name not in started:  # each thread's first file; then wait for the other's
            started.add(name)
            both_started.wait()
        return None

    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "s") as source:
        sizes = sorted(e.size for e in source.entries())
        ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=2, consumers=[record]).run()
    joined = [size for name, size in taken if name == "content"]
    calling = [size for name, size in taken if name != "content"]
    assert joined and calling
    assert joined[0] == sizes[-1] and joined == sorted(joined, reverse=True)
    assert calling[0] == sizes[0] and calling == sorted(calling)
    assert sorted(joined + calling) == sizes


def test_a_busy_worker_sends_the_next_package_to_this_process(packages: dict[str, Path], tmp_path: Path) -> None:
    settings = _settings(tmp_path, "always")
    assert metadata_pass.warm_up()
    with open_source(packages["tt05-zip"], settings.limits, tmp_path / "staging") as source:
        first = metadata_pass.start_metadata_pass(source, settings, in_worker=True)
        second = metadata_pass.run_metadata_pass(source, settings, in_worker=True)  # while the first is out
        done = first.result()
    assert done.in_worker and not second.in_worker
    assert done.package is not None and second.package is not None
    assert done.package.documents == second.package.documents


def test_an_abandoned_request_retires_the_worker_and_a_new_one_serves(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    settings = _settings(tmp_path, "always")
    with open_source(packages["tt05-folder"], settings.limits, tmp_path / "staging") as source:
        pending = metadata_pass.start_metadata_pass(source, settings, in_worker=True)
        process = metadata_pass._WORKER._process
        pending.abandon()  # its reply would otherwise be read as the next package's
        assert process is not None and not process.is_alive()
        again = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
    assert again.in_worker and again.package is not None


def test_the_worker_reports_an_unexpected_failure_and_this_process_reads_instead(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    """A package the worker fails on (here: a source without its listing) is read here instead."""
    settings = _settings(tmp_path, "always")
    with open_source(packages["tt05-folder"], settings.limits, tmp_path / "staging") as source:
        expected = metadata_pass.read_metadata(source, settings)
        broken = pickle.loads(pickle.dumps(source))
        del broken._by_path  # type: ignore[attr-defined]
        process = metadata_pass._WORKER._process if metadata_pass.warm_up() else None
        request = metadata_pass._WORKER.send(broken, settings)
        assert request is not None
        with pytest.raises(metadata_pass.WorkerFailure, match="AttributeError"):
            request.reply()
        with pytest.raises(AttributeError):  # read again here, it fails as it would without a worker
            metadata_pass.run_metadata_pass(broken, settings, in_worker=True)
        reading = metadata_pass.run_metadata_pass(source, settings, in_worker=True)
    assert metadata_pass._WORKER._process is process, "a failure reported by the worker leaves it in service"
    assert reading.in_worker
    assert reading.package is not None and expected.package is not None
    assert reading.package.documents == expected.package.documents
