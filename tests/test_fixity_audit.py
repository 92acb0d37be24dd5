"""The fixity audit of stored copies (R-ST-3): bit rot is found and repaired, budgets, events, audit, S3."""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from archive_core.catalog import AuditRow, CopyRow, CopyState, DossierRow, EventRow
from archive_core.premis import EventType, Outcome
from archive_core.settings import Location
from archive_core.storage import LocalStore
from archive_core.timeutil import VN_TZ
from ingest.archive import Archive, open_archive
from ingest.gate import GateOptions, check_package
from ingest.receipt import Verdict
from preservation import fixity
from preservation.cli_support import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, fixity_command
from preservation.export import ExportError, export_dossier
from preservation.fixity import CheckOutcome, FixityError, RepairOutcome, audit_fixity, run_fixity_job
from tests.archive_homes import ingest_dossiers, make_settings, open_copy
from tests.s3_fixtures import make_bucket, make_s3_store, seaweed  # noqa: F401  (fixtures)
from tests.services_s3 import SeaweedServer

PLAIN = GateOptions(virus_scan=False, pdf_evidence=False)
DOSSIERS = 3


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A data home with DOSSIERS archived dossiers on two local locations, made once per module."""
    root = tmp_path_factory.mktemp("fixity-template")
    aips = ingest_dossiers(make_settings(root / "home"), root, DOSSIERS)
    return root / "home", aips


@pytest.fixture
def archive(template: tuple[Path, list[str]], tmp_path: Path) -> Iterator[Archive]:
    yield from open_copy(template[0], tmp_path)


def copies(archive: Archive) -> list[CopyRow]:
    with archive.catalog.session(readonly=True) as session:
        return list(session.scalars(select(CopyRow).order_by(CopyRow.id)))


def object_file(archive: Archive, copy: CopyRow) -> Path:
    store = archive.store(copy.location_id)
    assert isinstance(store, LocalStore)
    return store.root / copy.object_key


def damage(path: Path, kind: str, rng: random.Random) -> None:
    if kind == "flip":
        data = bytearray(path.read_bytes())
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
    elif kind == "truncate":
        os.truncate(path, rng.randrange(path.stat().st_size))
    elif kind == "append":
        with path.open("ab") as stream:
            stream.write(b"\0")
    else:
        path.unlink()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_every_copy_verifies(archive: Archive) -> None:
    """Independently of the audit: every object on disk hashes to what the catalog says."""
    for copy in copies(archive):
        path = object_file(archive, copy)
        assert path.is_file(), copy.object_key
        assert path.stat().st_size == copy.stored_size
        assert sha256_file(path) == copy.stored_sha256, (copy.location_id, copy.object_key)
        assert copy.state is CopyState.VERIFIED


def actions(archive: Archive, action: str) -> list[AuditRow]:
    with archive.catalog.session(readonly=True) as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action)))


def audit_events(archive: Archive, event_type: EventType) -> list[EventRow]:
    with archive.catalog.session(readonly=True) as session:
        query = select(EventRow).where(EventRow.type == event_type.value, EventRow.agent == fixity.AGENT.name)
        return list(session.scalars(query))


# ---------------------------------------------------------------- bit rot


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_damage_on_one_location_is_all_found_and_repaired(
    archive: Archive, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    damaged_location = ["copy-1", "copy-2"][seed % 2]
    good_location = "copy-2" if damaged_location == "copy-1" else "copy-1"
    victims = rng.sample([c for c in copies(archive) if c.location_id == damaged_location], 8)
    kinds = {}
    for copy in victims:
        kinds[copy.object_key] = rng.choice(["flip", "flip", "truncate", "delete", "append"])
        damage(object_file(archive, copy), kinds[copy.object_key], rng)

    report = audit_fixity(archive)

    assert report.checked == len(copies(archive)) and report.complete
    found = {(item.location_id, item.object_key) for item in report.failures}
    assert found == {(damaged_location, copy.object_key) for copy in victims}  # 100 %, no false alarm
    assert report.failed == report.repaired == len(victims) and report.unrepairable == 0
    expected = {"flip": CheckOutcome.CORRUPT, "truncate": CheckOutcome.SIZE_MISMATCH,
                "append": CheckOutcome.SIZE_MISMATCH, "delete": CheckOutcome.MISSING}
    for item in report.failures:
        assert item.outcome is expected[kinds[item.object_key]]
        assert item.repair is RepairOutcome.REPAIRED and item.repaired_from == good_location
    assert_every_copy_verifies(archive)
    again = audit_fixity(archive)
    assert (again.checked, again.failed) == (len(copies(archive)), 0)

    # PREMIS: a fixity check event per dossier and batch (failures named), a replication event per repair.
    failed_checks = [e for e in audit_events(archive, EventType.FIXITY_CHECK) if e.outcome is Outcome.FAILURE]
    assert {e.dossier_id for e in failed_checks} == {copy.dossier_id for copy in victims}
    assert all(e.dossier_id is not None for e in audit_events(archive, EventType.FIXITY_CHECK))
    repairs = audit_events(archive, EventType.REPLICATION)
    assert len(repairs) == len(victims) and all(e.outcome is Outcome.SUCCESS for e in repairs)
    assert sorted(p for e in repairs for p in e.objects) == sorted(copy.path for copy in victims)
    # Audit log: one entry per repair, one per run, and the chain still verifies.
    repaired_entries = actions(archive, "copy.repaired")
    assert sorted(e.details["path"] for e in repaired_entries) == sorted(copy.path for copy in victims)
    assert len(actions(archive, "fixity.audited")) == 2
    assert archive.audit.verify().ok

    # Every dossier exports and the export re-imports as an accepted BagIt SIP.
    with archive.catalog.session(readonly=True) as session:
        aips = [row.aip_id for row in session.scalars(select(DossierRow))]
    for aip_id in aips:
        assert aip_id is not None
        exported = export_dossier(archive, aip_id, tmp_path / "out" / f"{aip_id}.zip")
        result = check_package(exported, archive.settings, options=PLAIN)
        assert result.verdict is not Verdict.REJECTED, sorted(result.codes())


def test_both_copies_bad_is_unrepairable_and_nothing_bad_is_written(archive: Archive, tmp_path: Path) -> None:
    rng = random.Random(7)
    payload = [c for c in copies(archive) if "/rep1/data/" in c.path]
    path = payload[0].path
    both = [c for c in payload if c.path == path and c.dossier_id == payload[0].dossier_id]
    assert {c.location_id for c in both} == {"copy-1", "copy-2"}
    for copy in both:
        damage(object_file(archive, copy), "flip", rng)
    single = next(c for c in copies(archive) if c.location_id == "copy-1" and c.path != path)
    damage(object_file(archive, single), "delete", rng)
    before = {c.location_id: object_file(archive, c).read_bytes() for c in both}

    report = audit_fixity(archive)

    assert report.failed == 3 and report.repaired == 1 and report.unrepairable == 2
    unrepairable = {(i.location_id, i.path) for i in report.failures if i.repair is RepairOutcome.UNREPAIRABLE}
    assert unrepairable == {("copy-1", path), ("copy-2", path)}
    assert {c.location_id: object_file(archive, c).read_bytes() for c in both} == before  # never overwritten
    states = {c.location_id: (c.state, c.last_fixity_outcome) for c in copies(archive) if c.id in {b.id for b in both}}
    assert states == {loc: (CopyState.CORRUPT, Outcome.FAILURE) for loc in ("copy-1", "copy-2")}
    assert not report.all_good
    assert len(actions(archive, "copy.unrepairable")) == 2
    failures = [e for e in audit_events(archive, EventType.REPLICATION) if e.outcome is Outcome.FAILURE]
    assert len(failures) == 2
    # The next run reports them again rather than forgetting them.
    again = audit_fixity(archive, repair=False)
    assert again.failed == 2 and {i.path for i in again.failures} == {path}
    with pytest.raises(ExportError):
        export_dossier(archive, both[0].aip_id, tmp_path / "bad.zip")
    assert not (tmp_path / "bad.zip").exists()
    assert archive.audit.verify().ok


def test_without_repair_failures_are_recorded_only(archive: Archive) -> None:
    victim = copies(archive)[5]
    damage(object_file(archive, victim), "truncate", random.Random(3))
    report = audit_fixity(archive, repair=False)
    assert report.failed == 1 and report.repaired == 0 and report.failures[0].repair is None
    row = next(c for c in copies(archive) if c.id == victim.id)
    assert row.state is CopyState.CORRUPT and row.last_fixity_outcome is Outcome.FAILURE
    assert actions(archive, "copy.repaired") == []
    assert audit_fixity(archive).repaired == 1
    assert_every_copy_verifies(archive)


# ---------------------------------------------------------------- order and budget


class StepTimer:
    """A clock for budgets that moves one second at every reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def shuffle_check_times(archive: Archive, seed: int, never: int) -> list[int]:
    """Give every copy a distinct last check time (some never checked); returns copy ids in checking order."""
    rng = random.Random(seed)
    ids = [c.id for c in copies(archive)]
    rng.shuffle(ids)
    base = datetime(2026, 1, 1, tzinfo=VN_TZ)
    with archive.catalog.session() as session:
        for position, copy_id in enumerate(ids):
            at = None if position < never else base + timedelta(minutes=position)
            session.execute(update(CopyRow).where(CopyRow.id == copy_id).values(last_fixity_at=at))
    return sorted(ids[:never]) + ids[never:]


def test_budget_checks_least_recently_checked_first_and_the_next_run_continues(archive: Archive) -> None:
    order = shuffle_check_times(archive, seed=11, never=10)
    step = fixity.TASK_OBJECTS
    assert len(order) > 2 * step

    first = audit_fixity(archive, budget_seconds=0.5, timer=StepTimer(), include_ok=True)
    assert not first.complete
    assert [item.copy_id for item in first.details] == order[:step]
    assert first.checked == step

    second = audit_fixity(archive, budget_seconds=0.5, timer=StepTimer(), include_ok=True)
    assert [item.copy_id for item in second.details] == order[step : 2 * step]

    rest = audit_fixity(archive, include_ok=True)
    assert rest.complete
    # Then those checked by the two runs above, each run's copies at one time (so by id).
    expected = order[2 * step :] + sorted(order[:step]) + sorted(order[step : 2 * step])
    assert [item.copy_id for item in rest.details] == expected
    assert len(actions(archive, "fixity.audited")) == 3


def test_a_real_tiny_budget_still_makes_progress(archive: Archive) -> None:
    total = len(copies(archive))
    report = audit_fixity(archive, budget_seconds=1e-9)
    assert 1 <= report.checked < total and not report.complete


# ---------------------------------------------------------------- scope, availability, scheduling


def test_dossier_and_location_scope(archive: Archive, template: tuple[Path, list[str]]) -> None:
    aip_id = template[1][1]
    with archive.catalog.session(readonly=True) as session:
        row = session.scalars(select(DossierRow).where(DossierRow.aip_id == aip_id)).one()
        code, expected = row.code, len(row.copies)
    assert code is not None
    by_code = audit_fixity(archive, dossier=code, include_ok=True)
    assert by_code.checked == expected and {i.aip_id for i in by_code.details} == {aip_id}
    one_place = audit_fixity(archive, dossier=aip_id, location="copy-2", include_ok=True)
    assert one_place.checked == expected // 2 and {i.location_id for i in one_place.details} == {"copy-2"}
    with pytest.raises(FixityError):
        audit_fixity(archive, dossier="no-such-dossier")
    with pytest.raises(FixityError):
        audit_fixity(archive, location="copy-9")


def test_unreachable_location_is_skipped_not_marked_bad(archive: Archive) -> None:
    store = archive.store("copy-2")
    assert isinstance(store, LocalStore)
    store.root.rename(store.root.with_name("unplugged"))
    report = audit_fixity(archive)
    assert report.unavailable_locations == ["copy-2"] and report.failed == 0
    assert report.checked == len([c for c in copies(archive) if c.location_id == "copy-1"])
    assert all(c.state is CopyState.VERIFIED for c in copies(archive))
    assert not report.all_good


def test_copies_on_a_location_no_longer_configured_are_reported_not_checked(
    template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    shutil.copytree(template[0], tmp_path / "home", symlinks=True)
    settings = make_settings(tmp_path / "home", [Location(id="copy-1"), Location(id="copy-3")])
    archive = open_archive(settings)
    try:
        report = audit_fixity(archive)
    finally:
        archive.close()
    assert report.unavailable_locations == ["copy-2"] and report.failed == 0
    assert report.checked == report.ok > 0 and report.skipped_unavailable >= 1


def test_scheduled_job_and_one_audit_at_a_time(archive: Archive) -> None:
    settings = archive.settings
    report = run_fixity_job(settings, budget_seconds=None)
    assert report.complete and report.failed == 0 and report.checked == len(copies(archive))
    lock_file = fixity.lock_path(settings)
    with lock_file.open("a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(FixityError):
            audit_fixity(archive)


def test_fixity_command_output(archive: Archive) -> None:
    settings = archive.settings
    victim = copies(archive)[3]
    damage(object_file(archive, victim), "flip", random.Random(9))
    output = fixity_command(settings)
    assert output.exit_code == EXIT_OK
    assert (output.data["checked"], output.data["failed"], output.data["repaired"]) == (len(copies(archive)), 1, 1)
    assert "1 bản sao lỗi, 1 đã sửa" in output.text
    for copy in (c for c in copies(archive) if c.path == victim.path and c.dossier_id == victim.dossier_id):
        damage(object_file(archive, copy), "delete", random.Random(1))
    problems = fixity_command(settings, dossier=victim.aip_id)
    assert problems.exit_code == EXIT_PROBLEMS and problems.data["unrepairable"] == 2
    assert len(problems.data["details"]) == problems.data["checked"]  # one dossier: every copy listed
    assert fixity_command(settings, dossier="nope").exit_code == EXIT_FAILED


# ---------------------------------------------------------------- S3 (SeaweedFS)


def test_s3_copy_overwritten_behind_our_back_is_caught_and_repaired(
    seaweed: SeaweedServer, make_bucket: object, tmp_path: Path  # noqa: F811
) -> None:
    bucket = make_bucket()  # type: ignore[operator]
    s3 = Location(id="s3-b", kind="s3", bucket=bucket, endpoint_url=seaweed.endpoint, region=seaweed.region,
                  access_key_id=seaweed.access_key, secret_access_key=seaweed.secret_key)
    settings = make_settings(tmp_path / "home", [Location(id="disk-a"), s3])
    ingest_dossiers(settings, tmp_path, 1, first_seed=300)
    archive = open_archive(settings)
    try:
        rows = copies(archive)
        on_s3 = [c for c in rows if c.location_id == "s3-b" and "/rep1/data/" in c.path]
        client = seaweed.client()
        original = client.get_object(Bucket=bucket, Key=on_s3[0].object_key)["Body"].read()
        rotten = bytearray(original)
        rotten[len(rotten) // 2] ^= 0x10
        client.put_object(Bucket=bucket, Key=on_s3[0].object_key, Body=bytes(rotten))  # a new version
        client.delete_object(Bucket=bucket, Key=on_s3[1].object_key)  # a delete marker
        on_disk = next(c for c in rows if c.location_id == "disk-a")
        damage(object_file(archive, on_disk), "flip", random.Random(5))

        report = audit_fixity(archive)

        assert {(i.location_id, i.object_key, i.outcome) for i in report.failures} == {
            ("s3-b", on_s3[0].object_key, CheckOutcome.CORRUPT),
            ("s3-b", on_s3[1].object_key, CheckOutcome.MISSING),
            ("disk-a", on_disk.object_key, CheckOutcome.CORRUPT),
        }
        assert report.repaired == 3
        after = {c.id: c for c in copies(archive)}
        for copy in on_s3[:2]:
            body = client.get_object(Bucket=bucket, Key=copy.object_key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == after[copy.id].stored_sha256
        versions = client.list_object_versions(Bucket=bucket, Prefix=on_s3[0].object_key).get("Versions", [])
        assert len(versions) >= 3  # the original, the rotten one, the repair
        assert audit_fixity(archive).failed == 0
        exported = export_dossier(archive, on_s3[0].aip_id, tmp_path / "from-s3.zip")
        assert check_package(exported, settings, options=PLAIN).verdict is not Verdict.REJECTED
        assert archive.audit.verify().ok
    finally:
        archive.close()
