"""The content pass in the worker process observes what it observes in this process, and fails safe."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import signal
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from archive_core.findings import PackageRejected
from archive_core.settings import Settings
from ingest import content_worker
from ingest.content import ContentPass, likely_algorithms
from ingest.content_worker import ContentJob, ContentOutcome, format_identifier, run_content_pass, start_content_pass
from ingest.gate import STRUCTURAL_ONLY, GateOptions, GateResult, check_package
from ingest.generator import Fault, generate_dossier, write_bagit, write_tt05_sip
from ingest.package import FormatId, ObservedFile
from ingest.source import ChangedSourceError, PackageSource, open_source

FAULTS = (Fault.WRONG_CHECKSUM, Fault.SECRET_MODE, Fault.BAD_DATE, Fault.NOT_NFC, Fault.REAL_WORLD_DEVIATIONS)


def _settings(tmp_path: Path, mode: str) -> Settings:
    return Settings(home=tmp_path / f"home-{mode}", content_worker=mode)  # type: ignore[arg-type]


def _job(source: PackageSource, **changes: Any) -> ContentJob:
    return ContentJob(algorithms=likely_algorithms(source), threads=2, **changes)


def _seen(outcome: ContentOutcome) -> list[tuple[str, int, dict[str, str], Any]]:
    return sorted((o.path, o.size, o.checksums, o.format) for o in outcome.observed.values())


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
    return _packages(tmp_path_factory.mktemp("content-worker"))


@pytest.mark.parametrize("name", ["tt05-folder", "tt05-zip", "tt05-faults", "bagit-tar", "bagit-faults"])
def test_worker_and_this_process_give_the_same_result(packages: dict[str, Path], tmp_path: Path, name: str) -> None:
    here = check_package(packages[name], _settings(tmp_path, "never"), options=STRUCTURAL_ONLY)
    there = check_package(packages[name], _settings(tmp_path, "always"), options=STRUCTURAL_ONLY)
    assert content_worker.worker_running()
    assert _comparable(there) == _comparable(here)
    if name.endswith("faults"):
        assert there.verdict.value == "rejected"


def test_a_package_refused_while_reading_is_refused_the_same_way(tmp_path: Path) -> None:
    package = write_tt05_sip(generate_dossier(seed=4, documents=2, doc_bytes=2_000), tmp_path, as_zip=False)
    (package / "METS.xml").write_bytes(b"<mets><unclosed></mets>")
    here = check_package(package, _settings(tmp_path, "never"), options=STRUCTURAL_ONLY)
    assert content_worker.warm_up()
    process = content_worker._WORKER._process
    there = check_package(package, _settings(tmp_path, "always"), options=STRUCTURAL_ONLY)
    assert "CK-XML-MALFORMED" in there.codes()
    assert _comparable(there) == _comparable(here)
    assert content_worker._WORKER._process is process, "a stopped pass leaves the worker in service"


def test_the_worker_observes_what_this_process_observes(packages: dict[str, Path], tmp_path: Path) -> None:
    with open_source(packages["tt05-zip"], Settings().limits, tmp_path / "staging") as source:
        there = run_content_pass(source, _job(source), in_worker=True)
        here = run_content_pass(source, _job(source), in_worker=False)
    assert there.in_worker and not here.in_worker
    assert _seen(there) == _seen(here)
    assert len(there.observed) == len(source.entries())


def test_the_worker_copies_into_staging_and_reports_progress(packages: dict[str, Path], tmp_path: Path) -> None:
    counted: list[int] = []
    with open_source(packages["tt05-zip"], Settings().limits, tmp_path / "staging") as source:
        job = _job(source, sink=tmp_path / "files")
        outcome = run_content_pass(source, job, in_worker=True, progress=counted.append)
        assert outcome.in_worker
        assert sum(counted) == sum(e.size for e in source.entries())
        for entry in source.entries():
            staged = outcome.observed[entry.path].staged_path
            assert staged == str(tmp_path / "files" / entry.path)
            assert Path(staged).read_bytes() == source.read_bounded(entry.path, entry.size)


def test_a_zip_replaced_after_listing_is_read_here_from_the_listed_file(tmp_path: Path) -> None:
    dossier = generate_dossier(seed=5, documents=3, doc_bytes=2_000)
    package = write_tt05_sip(dossier, tmp_path / "one", as_zip=True)
    other = write_tt05_sip(generate_dossier(seed=6, documents=1, doc_bytes=2_000), tmp_path / "two", as_zip=True)
    with open_source(package, Settings().limits, tmp_path / "staging") as source:
        expected = run_content_pass(source, _job(source), in_worker=False)
        os.replace(other, package)  # a new file under the old name: the worker must not read it
        with pytest.raises(ChangedSourceError):
            pickle.loads(pickle.dumps(source)).open(source.entries()[0].path)
        outcome = run_content_pass(source, _job(source), in_worker=True)
    assert not outcome.in_worker, "the worker's failure must fall back to this process"
    assert _seen(outcome) == _seen(expected)


def test_a_dead_worker_is_replaced(packages: dict[str, Path], tmp_path: Path) -> None:
    assert content_worker.warm_up()
    process = content_worker._WORKER._process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    with open_source(packages["tt05-zip"], Settings().limits, tmp_path / "staging") as source:
        after_death = run_content_pass(source, _job(source), in_worker=True)
        replaced = run_content_pass(source, _job(source), in_worker=True)
    assert not after_death.in_worker and replaced.in_worker
    assert _seen(replaced) == _seen(after_death)


def test_a_damaged_file_is_refused_alike_and_the_worker_stays(packages: dict[str, Path], tmp_path: Path) -> None:
    package = tmp_path / "copy"
    shutil.copytree(packages["tt05-folder"], package)
    assert content_worker.warm_up()
    process = content_worker._WORKER._process
    with open_source(package, Settings().limits, tmp_path / "s") as source:
        victim = max(source.entries(), key=lambda e: e.size)
        local = source.local_path(victim.path)
        assert local is not None
        local.write_bytes(local.read_bytes() + b"grown")
        codes = []
        for in_worker in (False, True):
            with pytest.raises(PackageRejected) as caught:
                run_content_pass(source, _job(source), in_worker=in_worker)
            codes.append(caught.value.finding.code)
    assert codes == ["CK-PKG-SIZE-MISMATCH"] * 2
    assert content_worker._WORKER._process is process


def test_when_the_worker_is_used(tmp_path: Path) -> None:
    use = content_worker.use_worker
    never, always = _settings(tmp_path, "never"), _settings(tmp_path, "always")
    auto = Settings(home=tmp_path, content_worker_min_files=10, content_worker_start_files=100)
    assert not use(10_000, never)
    assert use(1, always)
    assert use(100, auto), "large enough to start it"
    assert not use(9, auto), "too small even when warm"
    assert use(10, auto) == content_worker.worker_running()


def test_a_batch_starts_the_worker_first_unless_contents_stay_here(tmp_path: Path) -> None:
    content_worker._WORKER.discard()
    assert not content_worker.warm_up_for_batch(_settings(tmp_path, "auto"), 1)
    assert not content_worker.warm_up_for_batch(_settings(tmp_path, "never"), 5)
    assert not content_worker.worker_running()
    assert content_worker.warm_up_for_batch(_settings(tmp_path, "auto"), 2)
    assert content_worker.worker_running()


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
    assert content_worker.warm_up()
    with open_source(packages["tt05-zip"], Settings().limits, tmp_path / "staging") as source:
        first = start_content_pass(source, _job(source), in_worker=True)
        second = run_content_pass(source, _job(source), in_worker=True)  # while the first is out
        first.more()
        done = first.result()
    assert done.in_worker and not second.in_worker
    assert _seen(done) == _seen(second)


def test_an_abandoned_request_retires_the_worker_and_a_new_one_serves(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "staging") as source:
        pending = start_content_pass(source, _job(source), in_worker=True)
        process = content_worker._WORKER._process
        pending.abandon()  # its reply would otherwise be read as the next package's
        assert process is not None and not process.is_alive()
        again = run_content_pass(source, _job(source), in_worker=True)
    assert again.in_worker and len(again.observed) == len(source.entries())


def test_the_worker_reports_an_unexpected_failure_and_this_process_reads_instead(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    """A package the worker fails on (here: a source without its listing) is read here instead."""
    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "staging") as source:
        expected = run_content_pass(source, _job(source), in_worker=False)
        broken = pickle.loads(pickle.dumps(source))
        del broken._by_path  # type: ignore[attr-defined]
        process = content_worker._WORKER._process if content_worker.warm_up() else None
        request = content_worker._WORKER.send(broken, _job(source), False)
        assert request is not None
        with pytest.raises(content_worker.WorkerFailure, match="AttributeError"):
            request.reply(None)
        with pytest.raises(AttributeError):  # read again here, it fails as it would without a worker
            run_content_pass(broken, _job(source), in_worker=True)
        outcome = run_content_pass(source, _job(source), in_worker=True)
    assert content_worker._WORKER._process is process, "a failure reported by the worker leaves it in service"
    assert outcome.in_worker
    assert _seen(outcome) == _seen(expected)


def test_the_gate_stages_files_the_same_way_in_the_worker(packages: dict[str, Path], tmp_path: Path) -> None:
    options = GateOptions(virus_scan=False, pdf_evidence=False, stage_files=True, keep_staging=True)
    results = {
        mode: check_package(packages["tt05-zip"], _settings(tmp_path, mode), options=options)
        for mode in ("never", "always")
    }
    staged = {
        mode: {o.path: Path(o.staged_path).read_bytes() for o in result.observed.values() if o.staged_path}
        for mode, result in results.items()
    }
    assert staged["always"] == staged["never"] and len(staged["never"]) == len(results["never"].observed)
    assert _comparable(results["always"]) == _comparable(results["never"])


def test_observed_files_cross_the_pipe_whole(packages: dict[str, Path], tmp_path: Path) -> None:
    """The reply's records pickle as constructor arguments: every field must come back."""
    fmt = FormatId(mime="application/pdf", name="PDF", puid="fmt/276", version="1.7", extension_hint=("pdf",),
                   container="zip", features=("signed",), tool="t")
    record = ObservedFile(path="a/b.pdf", size=3, checksums={"sha256": "ab"}, format=fmt, staged_path="/x/a/b.pdf")
    assert all(getattr(record, f.name) is not None for f in dataclasses.fields(ObservedFile))
    assert pickle.loads(pickle.dumps(record)) == record
    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "s") as source:
        observed = run_content_pass(source, _job(source), in_worker=False).observed.values()
    formats = [o.format for o in observed]
    assert len({id(f) for f in formats}) == len(set(formats)) < len(formats), "one object per distinct format"


@pytest.mark.parametrize("mode", ["never", "always"])
def test_a_damaged_file_does_not_hide_the_metadata_findings(tmp_path: Path, mode: str) -> None:
    import zipfile

    dossier = generate_dossier(seed=9, documents=3, doc_bytes=3_000)
    package = write_tt05_sip(dossier, tmp_path / "p", as_zip=True, faults=(Fault.BAD_DATE,))
    intact = check_package(package, _settings(tmp_path, mode), options=STRUCTURAL_ONLY).codes()
    with zipfile.ZipFile(package) as archive:
        member = next(i for i in archive.infolist() if i.filename.endswith(".pdf"))
    data = bytearray(package.read_bytes())
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    data[start + member.compress_size // 2] ^= 0xFF  # the entry no longer inflates to its CRC
    package.write_bytes(bytes(data))
    damaged = check_package(package, _settings(tmp_path, mode), options=STRUCTURAL_ONLY)
    assert damaged.verdict.value == "rejected"
    assert intact - {"CK-FIXITY-MISMATCH"} <= damaged.codes(), "the metadata pass's findings stay in the result"
    assert damaged.codes() - intact, "and the damaged entry is reported"


def test_a_hand_over_gives_the_largest_files_holding_half_the_bytes_left(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    handed: list[list[Any]] = []
    once = threading.Lock()

    def progress(_count: int) -> None:
        with once:
            if not handed:
                handed.append(shared.hand_over())

    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "s") as source:
        alone = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1).run()
        shared = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1, progress=progress)
        kept = shared.run()
        share = handed[0]
        elsewhere = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1).run(share)
        assert shared.hand_over() == [], "nothing is left once the pass has ended"
    sizes = sorted(e.size for e in source.entries())
    assert share and [e.size for e in share] == sizes[-len(share):], "the largest files"
    left = sum(sizes[1:])  # the first file was in hand when it was asked
    given = sum(e.size for e in share)
    next_largest = sizes[-len(share) - 1]
    assert 2 * given <= left < 2 * (given + next_largest), "as many of the largest as fit in half the bytes left"
    assert not set(kept) & set(elsewhere) and {**kept, **elsewhere} == alone


def test_a_hand_over_asked_for_before_the_pass_starts_adds_a_thread(packages: dict[str, Path], tmp_path: Path) -> None:
    names: set[str] = set()
    both = threading.Barrier(2, timeout=30)

    def record(_entry: Any) -> None:
        if threading.current_thread().name not in names:
            names.add(threading.current_thread().name)
            both.wait()

    with open_source(packages["tt05-folder"], Settings().limits, tmp_path / "s") as source:
        early = ContentPass(source=source, algorithms=frozenset({"sha256"}), workers=1, consumers=[record])
        assert early.hand_over() == []
        assert len(early.run()) == len(source.entries())
    assert len(names) == 2, "the free core still serves the pass"


@pytest.fixture(scope="module")
def slow_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Large enough that the worker is still reading when the share is asked for."""
    dossier = generate_dossier(seed=4, documents=24, doc_bytes=400_000)
    return write_tt05_sip(dossier, tmp_path_factory.mktemp("slow"), as_zip=False)


def _shared_pass(source: PackageSource, job: ContentJob, progress: Any = None) -> tuple[ContentOutcome, list[str]]:
    """The content pass in the worker with this process taking a share (retried until it gets one)."""
    for wait in (0.005, 0.01, 0.02, 0.05, 0.1):
        pending = start_content_pass(source, job, in_worker=True, progress=progress)
        time.sleep(wait)  # the worker must have started its pass to hand over files
        pending.more()
        share = list(pending._share)  # type: ignore[attr-defined]
        outcome = pending.result()
        if share:
            return outcome, share
        if progress is not None:
            progress(-sum(e.size for e in source.entries()))  # the next attempt counts again
    raise AssertionError("the worker never handed over a share")


def test_this_process_reads_the_share_the_worker_hands_over(slow_package: Path, tmp_path: Path) -> None:
    counted: list[int] = []
    with open_source(slow_package, Settings().limits, tmp_path / "staging") as source:
        expected = run_content_pass(source, _job(source), in_worker=False)
        job = _job(source, chunk_bytes=4096, sink=tmp_path / "files")
        outcome, share = _shared_pass(source, job, counted.append)
        sizes = {e.path: e.size for e in source.entries()}
        assert outcome.in_worker and _seen(outcome) == _seen(expected)
        assert sum(counted) == sum(sizes.values())
        assert min(sizes[p] for p in share) >= max(s for p, s in sizes.items() if p not in share)
        for path in share:
            staged = outcome.observed[path].staged_path
            assert staged is not None and Path(staged).read_bytes() == source.read_bounded(path, sizes[path])


def test_a_worker_lost_after_some_progress_takes_the_bar_to_the_total_not_beyond(
    slow_package: Path, tmp_path: Path
) -> None:
    """The worker dies while this process reads its share: the pass read again here passes on
    only the bytes the bar has not shown yet."""
    counted: list[int] = []
    armed = False

    def kill_worker_once_armed(count: int) -> None:
        nonlocal armed
        counted.append(count)
        process = content_worker._WORKER._process
        if armed and process is not None and process.pid is not None:
            armed = False
            os.kill(process.pid, signal.SIGKILL)

    with open_source(slow_package, Settings().limits, tmp_path / "staging") as source:
        total = sum(e.size for e in source.entries())
        job = _job(source, chunk_bytes=4096)
        for wait in (0.005, 0.01, 0.02, 0.05, 0.1):
            assert content_worker.warm_up()
            counted.clear()
            pending = start_content_pass(source, job, in_worker=True, progress=kill_worker_once_armed)
            time.sleep(wait)  # the worker must have started its pass to hand over files
            pending.more()
            armed = bool(pending._share)  # type: ignore[attr-defined]
            outcome = pending.result()
            if not outcome.in_worker:
                break
        else:
            raise AssertionError("the worker never handed over a share")
        assert _seen(outcome) == _seen(run_content_pass(source, job, in_worker=False))
    assert sum(counted) == total


def test_a_damaged_file_in_the_share_refuses_the_package_and_the_worker_stays(
    slow_package: Path, tmp_path: Path
) -> None:
    import zipfile

    dossier = generate_dossier(seed=4, documents=24, doc_bytes=400_000)
    package = write_tt05_sip(dossier, tmp_path / "p", as_zip=True)
    with open_source(package, Settings().limits, tmp_path / "listing") as source:
        last = sorted(source.entries(), key=lambda e: e.size)[-1].path  # the pass's order: read last
    with zipfile.ZipFile(package) as archive:
        victim = next(i for i in archive.infolist() if i.filename.endswith("/" + last))
    data = bytearray(package.read_bytes())
    start = victim.header_offset + 30 + len(victim.filename.encode()) + len(victim.extra)
    data[start + victim.compress_size // 2] ^= 0xFF  # the entry no longer inflates to its CRC
    package.write_bytes(bytes(data))
    assert content_worker.warm_up()
    process = content_worker._WORKER._process
    with open_source(package, Settings().limits, tmp_path / "s") as source:
        job = _job(source, chunk_bytes=4096)
        with pytest.raises(PackageRejected) as here:
            run_content_pass(source, job, in_worker=False)
        for wait in (0.005, 0.01, 0.02, 0.05, 0.1):
            pending = start_content_pass(source, job, in_worker=True)
            time.sleep(wait)
            pending.more()
            share = list(pending._share)  # type: ignore[attr-defined]
            with pytest.raises(PackageRejected) as there:
                pending.result()
            assert there.value.finding.code == here.value.finding.code
            if any(victim.filename.endswith(path) for path in share):
                break
        else:
            raise AssertionError("the damaged file never was in this process's share")
    assert content_worker._WORKER._process is process, "a refusal is no failure of the worker"
    with open_source(slow_package, Settings().limits, tmp_path / "again") as source:
        assert run_content_pass(source, _job(source), in_worker=True).in_worker
