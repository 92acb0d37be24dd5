"""Backup and restore (R-ST-4): catalog, wrapped keys in their own file, metadata XML, audit anchors.

Restores go into an empty home that holds only the storage folders (copied as they
are: storage is not part of a catalog backup) and the master key (from escrow).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from archive_core.audit import verify_audit
from archive_core.backup import (
    KEYS_DIR,
    BackupError,
    DestructionRecord,
    backup,
    prune_key_backups,
    record_destruction,
    restore,
    verify_backup,
)
from archive_core.catalog import CopyState, DossierRow, DossierState
from archive_core.keys import FileMasterKey
from archive_core.profiles import circular02
from archive_core.settings import Settings
from archive_core.timeutil import iso_vn, system_clock
from ingest.archive import Archive, open_archive
from ingest.gate import GateOptions, check_package
from ingest.receipt import Verdict
from preservation.cli_support import EXIT_FAILED, EXIT_OK, backup_command, restore_command
from preservation.export import ExportError, export_dossier
from preservation.fixity import audit_fixity
from tests.archive_homes import ingest_dossiers, make_settings
from tests.catalog_fixtures import postgres  # noqa: F401  (fixture)
from tests.services_pg import Postgres

PLAIN = GateOptions(virus_scan=False, pdf_evidence=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("backup-template")
    settings = make_settings(root / "home")
    aips = ingest_dossiers(settings, root, 3, first_seed=400)
    archive = open_archive(settings)
    try:
        audit_fixity(archive)  # some history: events, audit entries, check times
    finally:
        archive.close()
    return root / "home", aips


@pytest.fixture
def live(template: tuple[Path, list[str]], tmp_path: Path) -> Settings:
    shutil.copytree(template[0], tmp_path / "live", symlinks=True)
    return make_settings(tmp_path / "live")


def empty_home(live: Settings, target: Path, *, storage: bool = True) -> Settings:
    """A fresh home with the master key (from escrow) and, unless told otherwise, the storage folders as they are."""
    target.mkdir(parents=True)
    shutil.copytree(live.home / "keys", target / "keys")
    if storage:
        shutil.copytree(live.home / "storage", target / "storage")
    return make_settings(target)


@pytest.fixture
def opened(live: Settings) -> Iterator[Archive]:
    archive = open_archive(live)
    yield archive
    archive.close()


def live_keys(settings: Settings) -> dict[str, bytes]:
    archive = open_archive(settings)
    try:
        with archive.catalog.session(readonly=True) as session:
            return {str(r.aip_id): bytes(r.wrapped_key or b"") for r in session.scalars(select(DossierRow))}
    finally:
        archive.close()


def destroy(archive: Archive, aip_id: str, *, record: bool = True) -> DestructionRecord:
    """What the destruction executor does (docs/keys.md): objects everywhere, key erased, record on every location."""
    now = system_clock()
    with archive.catalog.session() as session:
        row = session.scalars(select(DossierRow).where(DossierRow.aip_id == aip_id)).one()
        assert row.wrapped_key is not None
        destroyed = DestructionRecord(aip_id, iso_vn(now), hashlib.sha256(row.wrapped_key).hexdigest(),
                                      row.master_key_id, row.code)
        row.wrapped_key, row.key_destroyed, row.state, row.destroyed_at = None, True, DossierState.DESTROYED, now
        for copy in row.copies:
            copy.state = CopyState.DELETED
    for store in archive.stores:
        store.delete_prefix(f"aips/{aip_id}/")
    if record:
        record_destruction(archive.stores, destroyed)
    return destroyed


def dossier(settings: Settings, aip_id: str) -> DossierRow:
    archive = open_archive(settings)
    try:
        with archive.catalog.session(readonly=True) as session:
            row = session.scalars(select(DossierRow).where(DossierRow.aip_id == aip_id)).one()
            _ = row.copies
            return row
    finally:
        archive.close()


# ---------------------------------------------------------------- the backup itself


def test_backup_holds_catalog_metadata_anchor_and_keys_apart(
    live: Settings, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    keys = live_keys(live)
    manifest = backup(live, tmp_path / "backups" / "daily")
    out = manifest.path
    assert verify_backup(out) == []
    assert (out / "catalog" / "catalog.sqlite").is_file() and (out / "audit" / "head.json").is_file()
    assert manifest.data["catalog"]["format"] == "sqlite-file" and manifest.dossiers == 3
    # Every file is listed with its hash; the key backup has its own manifest and is not in the catalog's.
    for name, item in manifest.files.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == item["sha256"]
    assert not any(name.startswith(f"{KEYS_DIR}/") for name in manifest.files)
    # No wrapped key anywhere but in keys/ (the long-kept part never carries a data key).
    for path in out.rglob("*"):
        if path.is_file() and not path.relative_to(out).as_posix().startswith(f"{KEYS_DIR}/"):
            data = path.read_bytes()
            for wrapped in keys.values():
                assert wrapped not in data and base64.b64encode(wrapped) not in data, path
    key_file = json.loads((out / KEYS_DIR / "wrapped-keys.json").read_bytes())
    assert {e["aip_id"]: base64.b64decode(e["wrapped"]) for e in key_file["keys"]} == keys
    assert (out / KEYS_DIR / "wrapped-keys.json").stat().st_mode & 0o077 == 0
    # Metadata also as Circular 02 XML, one file per archived dossier, schema-valid (R-ST-4).
    for aip_id in template[1]:
        root = etree.parse(str(out / "metadata" / f"{aip_id}.xml")).getroot()
        assert circular02.validate_xsd(root, "dossier") == []
    assert manifest.data["audit"]["chain_ok"] and manifest.data["audit"]["head_seq"] > 0
    # Audited, atomic, never overwritten.
    assert not list(out.parent.glob(".*partial*"))
    with pytest.raises(BackupError):
        backup(live, out)
    assert verify_audit(live).ok


# ---------------------------------------------------------------- restore


def test_restore_into_an_empty_home_verifies_everything(
    live: Settings, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    made = backup_command(live, tmp_path / "b1")
    assert made.exit_code == EXIT_OK, made.text
    target = empty_home(live, tmp_path / "restored")

    output = restore_command(target, tmp_path / "b1")

    assert output.exit_code == EXIT_OK, output.data
    report = output.data
    assert report["ok"] and report["keys_restored"] == 3 and report["decrypted"] == 3
    assert report["keys_missing"] == [] and report["decrypt_failures"] == []
    archive = open_archive(target)
    try:
        with archive.catalog.session(readonly=True) as session:
            total = sum(len(r.copies) for r in session.scalars(select(DossierRow)))
        assert report["fixity"]["checked"] == total and report["fixity"]["failed"] == 0
        assert verify_audit(target).ok  # `earchive audit verify` after restore
        for aip_id in template[1]:
            exported = export_dossier(archive, aip_id, tmp_path / "out" / f"{aip_id}.zip")
            assert check_package(exported, target, options=PLAIN).verdict is not Verdict.REJECTED
        assert verify_audit(target).ok
    finally:
        archive.close()
    assert live_keys(target) == live_keys(live)
    assert "Khôi phục" in output.text


def test_restore_repairs_a_copy_damaged_in_storage(live: Settings, tmp_path: Path) -> None:
    backup(live, tmp_path / "b1")
    target = empty_home(live, tmp_path / "restored")
    victim = sorted((target.home / "storage" / "copy-2").rglob("*.pdf"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    report = restore(tmp_path / "b1", target)
    assert report.ok and report.fixity["failed"] == 1 and report.fixity["repaired"] == 1


def test_restore_refuses_a_home_that_is_not_empty(live: Settings, tmp_path: Path) -> None:
    backup(live, tmp_path / "b1")
    before = (live.home / "catalog.sqlite").read_bytes()
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "b1", live)
    assert (live.home / "catalog.sqlite").read_bytes() == before
    stray = empty_home(live, tmp_path / "stray")
    (stray.home / "notes.txt").write_text("x")
    output = restore_command(stray, tmp_path / "b1")
    assert output.exit_code == EXIT_FAILED and "notes.txt" in output.data["error"]["message_en"]
    assert not (stray.home / "catalog.sqlite").exists()


@pytest.mark.parametrize("part", ["metadata", "catalog", "anchor", "extra", "manifest"])
def test_restore_refuses_a_tampered_backup(live: Settings, tmp_path: Path, part: str) -> None:
    out = backup(live, tmp_path / "b1").path
    if part == "metadata":
        xml = sorted((out / "metadata").glob("*.xml"))[0]
        xml.write_bytes(xml.read_bytes().replace(b"<", b"<!-- x --><", 1))
    elif part == "catalog":
        with (out / "catalog" / "catalog.sqlite").open("r+b") as stream:  # flip one byte of a page
            stream.seek(4096)
            byte = stream.read(1)
            stream.seek(4096)
            stream.write(bytes([byte[0] ^ 0xFF]))
    elif part == "anchor":
        (out / "audit" / "head.json").write_text('{"format": "earchive-audit-anchor/1", "seq": 1, "hash": "0"}')
    elif part == "extra":
        (out / "catalog" / "extra.sqlite").write_bytes(b"more")
    else:
        manifest = json.loads((out / "manifest.json").read_bytes())
        first = sorted(manifest["files"])[0]
        manifest["files"][first]["sha256"] = "0" * 64
        (out / "manifest.json").write_text(json.dumps(manifest))
    assert verify_backup(out) != []
    target = empty_home(live, tmp_path / "restored")
    with pytest.raises(BackupError, match="manifest"):
        restore(out, target)
    assert not (target.home / "catalog.sqlite").exists()


def test_restore_refuses_an_altered_key_backup_and_a_missing_or_wrong_master_key(
    live: Settings, tmp_path: Path
) -> None:
    out = backup(live, tmp_path / "b1").path
    target = empty_home(live, tmp_path / "no-key")
    shutil.rmtree(target.home / "keys")
    with pytest.raises(BackupError, match="master key"):
        restore(out, target)
    other = empty_home(live, tmp_path / "wrong-key")
    (other.home / "keys" / "master.key").unlink()
    FileMasterKey(other.master_key_file)  # a new, different master key
    with pytest.raises(BackupError, match="did not wrap"):
        restore(out, other)
    keys_file = out / KEYS_DIR / "wrapped-keys.json"
    keys_file.write_bytes(keys_file.read_bytes().replace(b'"keys"', b'"keys" ', 1))
    with pytest.raises(BackupError, match="altered"):
        restore(out, empty_home(live, tmp_path / "altered"))


# ---------------------------------------------------------------- keys: retention and the destruction list


def test_expired_key_backup_and_restore_with_the_newest_one(live: Settings, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    old = backup(live, backups / "old").path
    later = system_clock() + timedelta(days=36)
    removed = prune_key_backups(backups, clock=lambda: later)
    assert removed == [old / KEYS_DIR] and verify_backup(old) == []  # the catalog part stays valid
    with pytest.raises(BackupError, match="expired"):
        restore(old, empty_home(live, tmp_path / "first"))
    newest = backup(live, backups / "newest").path
    assert prune_key_backups(backups) == []  # not expired yet
    report = restore(old, empty_home(live, tmp_path / "second"), key_backup=newest / KEYS_DIR)
    assert report.ok and report.keys_restored == 3


def test_dossier_archived_after_the_backup_is_reported_not_lost(live: Settings, tmp_path: Path) -> None:
    old = backup(live, tmp_path / "old").path
    [late] = ingest_dossiers(live, tmp_path / "late", 1, first_seed=450)
    newest = backup(live, tmp_path / "newest").path
    report = restore(old, empty_home(live, tmp_path / "restored"), key_backup=newest / KEYS_DIR)
    assert report.ok and report.keys_restored == 3
    assert report.orphans == [{"aip_id": late, "locations": ["copy-1", "copy-2"], "key_in_key_backup": True}]
    assert "không xóa" in report.summary_vi()


def test_dossier_destroyed_after_the_backup_stays_destroyed(
    live: Settings, opened: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    out = backup(live, tmp_path / "b1").path  # its key backup still holds the key of the victim
    victim, *others = template[1]
    destroy(opened, victim)
    target = empty_home(live, tmp_path / "restored")

    report = restore(out, target)

    assert report.destroyed_applied == [victim] and report.ok
    assert report.keys_restored == len(others) and report.decrypted == len(others)
    row = dossier(target, victim)
    assert row.state is DossierState.DESTROYED and row.wrapped_key is None and row.key_destroyed
    assert {copy.state for copy in row.copies} == {CopyState.DELETED}
    archive = open_archive(target)
    try:
        with pytest.raises(ExportError):
            export_dossier(archive, victim, tmp_path / "victim.zip")
        export_dossier(archive, others[0], tmp_path / "other.zip")
    finally:
        archive.close()
    assert verify_audit(target).ok


def test_destruction_log_file_also_applies_and_finishes_the_deletion(
    live: Settings, opened: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    out = backup(live, tmp_path / "b1").path
    old_storage = tmp_path / "old-storage"
    shutil.copytree(live.home / "storage", old_storage)  # a storage snapshot from before the destruction
    victim = template[1][1]
    record = destroy(opened, victim, record=False)
    log_file = tmp_path / "destructions.jsonl"
    log_file.write_bytes(record.to_json())
    target = empty_home(live, tmp_path / "restored", storage=False)
    shutil.copytree(old_storage, target.home / "storage")
    assert list((target.home / "storage").rglob(f"{victim}/*"))

    report = restore(out, target, destruction_log=log_file)

    assert report.destroyed_applied == [victim] and report.ok
    assert dossier(target, victim).wrapped_key is None
    assert not list((target.home / "storage").rglob(f"{victim}/*"))  # no stale copy left readable-by-key


def test_forged_destruction_record_withholds_the_key_but_deletes_nothing(
    live: Settings, opened: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    out = backup(live, tmp_path / "b1").path
    victim = template[1][2]
    record_destruction(opened.stores, DestructionRecord(victim, iso_vn(system_clock()), "f" * 64))
    target = empty_home(live, tmp_path / "restored")

    report = restore(out, target)

    assert report.destruction_unverified == [victim] and report.destroyed_applied == [] and not report.ok
    row = dossier(target, victim)
    assert row.state is DossierState.ARCHIVED and row.wrapped_key is None
    assert list((target.home / "storage").rglob(f"{victim}/*"))
    assert any(victim in failure for failure in report.decrypt_failures)


# ---------------------------------------------------------------- the monthly full backup


def test_full_backup_restores_into_empty_storage(
    live: Settings, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    manifest = backup(live, tmp_path / "full", include_objects=True)
    assert manifest.data["kind"] == "full" and manifest.data["objects"]
    target = empty_home(live, tmp_path / "restored", storage=False)
    report = restore(manifest.path, target)
    assert report.ok, report.to_dict()
    assert report.objects_restored == report.fixity["checked"] > 0
    archive = open_archive(target)
    try:
        export_dossier(archive, template[1][0], tmp_path / "after.zip")
    finally:
        archive.close()


# ---------------------------------------------------------------- PostgreSQL catalog


@pytest.fixture(scope="module")
def pg_live(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("pg-live")
    schema = postgres.create_schema()
    settings = make_settings(root / "home")
    settings.storage.catalog_url = postgres.url(schema=schema)
    ingest_dossiers(settings, root, 2, first_seed=500)
    yield settings
    postgres.drop_schema(schema)


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_postgresql_catalog_backup_and_restore(
    pg_live: Settings, postgres: Postgres, tmp_path: Path, target_kind: str  # noqa: F811
) -> None:
    manifest = backup(pg_live, tmp_path / "pg-backup")
    assert manifest.data["catalog"]["format"] == "jsonl" and manifest.dossiers == 2
    dossiers_file = (manifest.path / "catalog" / "dossiers.jsonl").read_text()
    assert "wrapped_key" not in dossiers_file
    target = empty_home(pg_live, tmp_path / "restored")
    schema = None
    if target_kind == "postgresql":
        schema = postgres.create_schema()
        target.storage.catalog_url = postgres.url(schema=schema)
    try:
        report = restore(manifest.path, target)
        assert report.ok, report.to_dict()
        assert report.keys_restored == report.decrypted == 2
        assert verify_audit(target).ok
        assert live_keys(target) == live_keys(pg_live)
    finally:
        if schema is not None:
            postgres.drop_schema(schema)
