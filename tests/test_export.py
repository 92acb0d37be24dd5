"""Exporting an archived dossier as a standalone BagIt ZIP; the locations report."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select, update

from archive_core.catalog import AuditRow, CopyRow, CopyState, DossierRow, DossierState
from archive_core.storage import LocalStore
from ingest.archive import Archive
from ingest.gate import GateOptions, check_package
from ingest.receipt import Verdict
from preservation.cli_support import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, export_command, locations_command
from preservation.export import ExportError, export_aip, export_dossier, locations_report
from preservation.fixity import audit_fixity
from tests.archive_homes import ingest_dossiers, make_settings, open_copy

PLAIN = GateOptions(virus_scan=False, pdf_evidence=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("export-template")
    aips = ingest_dossiers(make_settings(root / "home"), root, 2, first_seed=200)
    return root / "home", aips


@pytest.fixture
def archive(template: tuple[Path, list[str]], tmp_path: Path) -> Iterator[Archive]:
    yield from open_copy(template[0], tmp_path)


def dossier_row(archive: Archive, aip_id: str) -> DossierRow:
    with archive.catalog.session(readonly=True) as session:
        row = session.scalars(select(DossierRow).where(DossierRow.aip_id == aip_id)).one()
        _ = row.files, row.copies
        return row


def object_path(archive: Archive, location: str, key: str) -> Path:
    store = archive.store(location)
    assert isinstance(store, LocalStore)
    return store.root / key


def a_payload_copy(archive: Archive, aip_id: str, location: str) -> CopyRow:
    row = dossier_row(archive, aip_id)
    return next(c for c in sorted(row.copies, key=lambda c: c.path)
                if c.location_id == location and "/rep1/data/" in c.path)


def audit_actions(archive: Archive) -> list[str]:
    with archive.catalog.session(readonly=True) as session:
        return list(session.scalars(select(AuditRow.action).order_by(AuditRow.seq)))


def test_export_is_a_standalone_bag_that_reimports(
    archive: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    aip_id = template[1][0]
    row = dossier_row(archive, aip_id)
    result = export_aip(archive, aip_id, tmp_path / "out" / "dossier.zip")
    assert result.out_zip.is_file() and result.fallbacks == []
    assert result.files == len(row.files) and result.bytes == sum(f.size for f in row.files)
    # Any BagIt tool can read it without earchive.
    with zipfile.ZipFile(result.out_zip) as archive_zip:
        assert {name.split("/", 1)[0] for name in archive_zip.namelist()} == {aip_id}
        archive_zip.extractall(tmp_path / "unzipped")
    bag = bagit.Bag(str(tmp_path / "unzipped" / aip_id))
    bag.validate()
    assert set(bag.payload_files()) == {f.path for f in row.files if f.path.startswith("data/")}
    # ... and it comes back in through the gate as the same dossier.
    again = check_package(result.out_zip, archive.settings, options=PLAIN)
    assert again.verdict is Verdict.ACCEPTED, sorted(again.codes())
    assert again.package is not None and again.package.dossiers[0].code == row.code
    assert "dossier.exported" in audit_actions(archive)
    assert archive.audit.verify().ok
    # Nothing left behind in staging.
    assert not list(archive.settings.staging_dir.glob("export-*"))


def test_export_by_dossier_code(archive: Archive, template: tuple[Path, list[str]], tmp_path: Path) -> None:
    row = dossier_row(archive, template[1][1])
    assert row.code is not None
    out = export_dossier(archive, row.code, tmp_path / "by-code.zip")
    assert zipfile.ZipFile(out).namelist()[0].startswith(f"{row.aip_id}/")


def test_tampered_object_fails_loudly_and_export_falls_back(
    archive: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    aip_id = template[1][0]
    bad = a_payload_copy(archive, aip_id, "copy-1")
    path = object_path(archive, "copy-1", bad.object_key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    # Both locations are complete and verified as far as the catalog knows: copy-1 is read first, fails, copy-2 serves.
    result = export_aip(archive, aip_id, tmp_path / "fallback.zip")
    assert [(f.path, f.location_id) for f in result.fallbacks] == [(bad.path, "copy-1")]
    assert "DecryptionError" in result.fallbacks[0].error
    assert result.served_by.get("copy-2", 0) >= 1
    assert check_package(result.out_zip, archive.settings, options=PLAIN).verdict is Verdict.ACCEPTED
    # The bad copy is flagged (the next export prefers copy-2 for this dossier) ...
    flagged = next(c for c in dossier_row(archive, aip_id).copies if c.id == bad.id)
    assert flagged.state is CopyState.CORRUPT
    assert export_aip(archive, aip_id, tmp_path / "again.zip").served_by == {"copy-2": result.files}
    # ... and reading from copy-1 alone fails loudly, naming the file, with nothing written.
    with pytest.raises(ExportError) as raised:
        export_dossier(archive, aip_id, tmp_path / "only-copy-1.zip", location="copy-1")
    assert bad.path in raised.value.message_en and "DecryptionError" in raised.value.message_en
    assert bad.path in raised.value.message_vi
    assert not (tmp_path / "only-copy-1.zip").exists()
    assert "dossier.export_failed" in audit_actions(archive)
    # The next fixity audit repairs it from copy-2.
    assert audit_fixity(archive).repaired == 1
    clean = export_aip(archive, aip_id, tmp_path / "after-repair.zip", location="copy-1")
    assert clean.fallbacks == []


def test_an_object_moved_to_another_path_does_not_decrypt(
    archive: Archive, template: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Valid ciphertext of the same dossier under another name: the AAD binds each object to its path."""
    aip_id = template[1][0]
    row = dossier_row(archive, aip_id)
    first, second = sorted((c for c in row.copies if c.location_id == "copy-2" and "/rep1/data/" in c.path),
                           key=lambda c: c.path)[:2]
    shutil.copyfile(object_path(archive, "copy-2", second.object_key), object_path(archive, "copy-2", first.object_key))
    with pytest.raises(ExportError, match="DecryptionError"):
        export_dossier(archive, aip_id, tmp_path / "x.zip", location="copy-2")
    assert export_aip(archive, aip_id, tmp_path / "y.zip").served_by == {"copy-1": len(row.files)}


def test_both_locations_bad_means_no_export(archive: Archive, template: tuple[Path, list[str]], tmp_path: Path) -> None:
    aip_id = template[1][1]
    for location in ("copy-1", "copy-2"):
        copy = a_payload_copy(archive, aip_id, location)
        object_path(archive, location, copy.object_key).write_bytes(b"not an EAR1 object")
    output = export_command(archive.settings, aip_id, tmp_path / "none.zip")
    assert output.exit_code == EXIT_FAILED and not (tmp_path / "none.zip").exists()
    assert "copy-1" in output.data["error"]["message_en"] and "copy-2" in output.data["error"]["message_en"]


@pytest.mark.parametrize("state", [DossierState.PENDING, DossierState.DESTROYED, DossierState.DESTROYING])
def test_pending_or_destroyed_dossiers_are_refused(
    archive: Archive, template: tuple[Path, list[str]], tmp_path: Path, state: DossierState
) -> None:
    aip_id = template[1][0]
    with archive.catalog.session() as session:
        session.execute(update(DossierRow).where(DossierRow.aip_id == aip_id).values(state=state))
    with pytest.raises(ExportError) as raised:
        export_dossier(archive, aip_id, tmp_path / "refused.zip")
    assert state.value in raised.value.message_en
    assert not (tmp_path / "refused.zip").exists()
    assert audit_actions(archive)[-1] == "dossier.export_refused"
    with pytest.raises(ExportError):
        export_dossier(archive, "aip-NO-SUCH-DOSSIER", tmp_path / "none.zip")


def test_export_command_output(archive: Archive, template: tuple[Path, list[str]], tmp_path: Path) -> None:
    output = export_command(archive.settings, template[1][0], tmp_path / "cli.zip")
    assert output.exit_code == EXIT_OK and output.data["ok"] and output.data["files"] > 0
    assert "Đã xuất hồ sơ" in output.text


def test_locations_report(archive: Archive, template: tuple[Path, list[str]]) -> None:
    report = locations_report(archive)
    assert [item["id"] for item in report] == ["copy-1", "copy-2"]
    with archive.catalog.session(readonly=True) as session:
        rows = list(session.scalars(select(CopyRow)))
    for item in report:
        mine = [c for c in rows if c.location_id == item["id"]]
        assert item["kind"] == "local" and item["healthy"]
        assert item["objects"] == len(mine) and item["bytes"] == sum(c.stored_size for c in mine)
        assert item["dossiers"] == item["complete_dossiers"] == 2
        assert {d["aip_id"] for d in item["dossier_copies"]} == set(template[1])
    # A copy found bad makes that location incomplete for that dossier only.
    bad = a_payload_copy(archive, template[1][0], "copy-2")
    object_path(archive, "copy-2", bad.object_key).unlink()
    audit_fixity(archive, repair=False)
    after = {item["id"]: item for item in locations_report(archive)}
    assert after["copy-2"]["by_state"] == {"missing": 1, "verified": after["copy-2"]["objects"] - 1}
    completeness = {d["aip_id"]: d["complete"] for d in after["copy-2"]["dossier_copies"]}
    assert completeness == {template[1][0]: False, template[1][1]: True}
    assert after["copy-1"]["complete_dossiers"] == 2
    output = locations_command(archive.settings)
    assert output.exit_code == EXIT_OK and "copy-2" in output.text
    store = archive.store("copy-1")
    assert isinstance(store, LocalStore)
    store.root.rename(store.root.with_name("gone"))
    store.root.write_bytes(b"")  # not a folder (a missing default folder would simply be made again)
    unplugged = locations_command(archive.settings)
    assert unplugged.exit_code == EXIT_PROBLEMS
    assert [item["healthy"] for item in unplugged.data["locations"]] == [False, True]
