"""The AIP builder (preservation.aip) and the PREMIS 3 writer (archive_core.profiles.premis)."""

from __future__ import annotations

import hashlib
import tarfile
import tracemalloc
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import bagit
import pytest
from lxml import etree

from archive_core.model import Document, Dossier, DossierKind, value_fields
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.profiles import premis as px
from archive_core.profiles.mets import CSIP_NS, METS_NS, XLINK_NS
from archive_core.settings import Settings
from archive_core.timeutil import VN_TZ
from ingest.gate import GateOptions, GateResult, check_package
from ingest.generator import Fault, generate_dossier, write_bagit, write_tt05_sip
from ingest.package import PackageKind
from preservation.aip import AIP_PROFILE, AipBuild, AipError, DerivedFile, build_aip, export_zip, validate_aip
from preservation.aip.validate import mets_schema
from tests.conftest import REPO, corpus_dir

STAGED = GateOptions(virus_scan=False, pdf_evidence=False, stage_files=True, keep_staging=True)
PLAIN = GateOptions(virus_scan=False, pdf_evidence=False)
NS = {"m": METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS, "p": px.PREMIS_NS}
FIXED = datetime(2025, 9, 2, 8, 30, 15, 123000, tzinfo=VN_TZ)


def fixed_clock() -> datetime:
    return FIXED


def gate(package: Path, settings: Settings) -> GateResult:
    result = check_package(package, settings, options=STAGED)
    assert result.verdict.value != "rejected", sorted(result.codes())
    return result


def build(result: GateResult, tmp_path: Path, settings: Settings, name: str = "aips", **kwargs: Any) -> AipBuild:
    return build_aip(result, tmp_path / name, settings, **kwargs)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def xml(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def manifest(bag_dir: Path) -> dict[str, str]:
    lines = (bag_dir / "manifest-sha256.txt").read_text("utf-8").splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def bag_info(bag_dir: Path) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (bag_dir / "bag-info.txt").read_text("utf-8").splitlines())


def document_files(result: GateResult) -> list[str]:
    assert result.package is not None
    return [ref.path for doc in result.package.documents for ref in doc.files]


def values(obj: object, cls: type[Any]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in value_fields(cls) if name != "metadata_path"}


@pytest.fixture
def sip(tmp_path: Path) -> Path:
    dossier = generate_dossier(seed=11, documents=4, doc_bytes=40_000)
    return write_tt05_sip(dossier, tmp_path / "in")


@pytest.fixture
def bag_folder(tmp_path: Path) -> Path:
    dossier = generate_dossier(seed=12, documents=3, doc_bytes=30_000)
    return write_bagit(dossier, tmp_path / "in", form="folder")


# ---------------------------------------------------------------- structure and validity


def test_sip_becomes_a_valid_aip_bag_with_the_tt05_tree(sip: Path, tmp_path: Path, settings: Settings) -> None:
    result = gate(sip, settings)
    built = build(result, tmp_path, settings)
    bag_dir = built.bag_dir
    assert bag_dir == tmp_path / "aips" / built.aip_id and built.objid == built.aip_id
    assert validate_aip(bag_dir) == []
    assert bagit.Bag(str(bag_dir)).is_valid()

    assert result.package is not None
    documents = result.package.documents
    data = bag_dir / "data"
    for required in ("METS.xml", "metadata/descriptive/EAD.xml", "metadata/preservation/PREMIS.xml",
                     "metadata/dossier.xml", "representations/rep1/METS.xml",
                     "representations/rep1/metadata/preservation/PREMIS_rep1.xml",
                     "schemas/METS.xsd", "schemas/premis.xsd", "schemas/EAD.xsd", "schemas/EAD_doc.xsd"):
        assert (data / required).is_file(), required
    assert not (data / "representations/rep2").exists()
    assert len(list((data / "representations/rep1/metadata/descriptive").glob("EAD_doc_*.xml"))) == len(documents)
    assert len(list((data / "metadata/documents").glob("*.xml"))) == len(documents)
    originals = sorted(p.name for p in (data / "representations/rep1/data").iterdir())
    assert originals == sorted(PurePosixPath(p).name for p in document_files(result))

    root = xml(data / "METS.xml")
    assert root.get("OBJID") == built.aip_id
    assert root.get("PROFILE") == AIP_PROFILE
    assert root.find("m:metsHdr", NS).get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") == "AIP"  # type: ignore[union-attr]
    premis_ref = root.find("m:amdSec/m:digiprovMD/m:mdRef", NS)
    assert premis_ref is not None and premis_ref.get("MDTYPE") == "PREMIS"
    assert premis_ref.get(f"{{{XLINK_NS}}}href") == "metadata/preservation/PREMIS.xml"


def test_every_mets_checksum_and_size_match_the_bag_manifest(sip: Path, tmp_path: Path, settings: Settings) -> None:
    built = build(gate(sip, settings), tmp_path, settings)
    listed = manifest(built.bag_dir)
    data = built.bag_dir / "data"
    declared: set[str] = set()
    for mets in (data / "METS.xml", data / "representations/rep1/METS.xml"):
        base = mets.parent.relative_to(built.bag_dir).as_posix()
        for node in xml(mets).iter(f"{{{METS_NS}}}file", f"{{{METS_NS}}}mdRef"):
            href = node.get(f"{{{XLINK_NS}}}href") or node.find("m:FLocat", NS).get(f"{{{XLINK_NS}}}href")  # type: ignore[union-attr]
            path = f"{base}/{href}"
            assert node.get("CHECKSUMTYPE") == "SHA-256"
            assert node.get("CHECKSUM") == listed[path], path
            assert int(node.get("SIZE", "-1")) == (built.bag_dir / path).stat().st_size
            declared.add(path)
    # every payload file is described by a METS document, except the METS files themselves
    undeclared = set(listed) - declared - {"data/METS.xml"}
    assert undeclared == set()


def test_aip_build_lists_every_file_with_size_and_hash(sip: Path, tmp_path: Path, settings: Settings) -> None:
    built = build(gate(sip, settings), tmp_path, settings)
    on_disk = sorted(p.relative_to(built.bag_dir).as_posix() for p in built.bag_dir.rglob("*") if p.is_file())
    assert [f.path for f in built.files] == on_disk
    for item in built.files:
        path = built.bag_dir / item.path
        assert (item.size, item.sha256) == (path.stat().st_size, sha256(path))
    assert built.total_size == sum((built.bag_dir / p).stat().st_size for p in on_disk)
    assert {f.role.value for f in built.files} >= {"original", "metadata", "schema", "tag"}


def test_bag_info_carries_the_profile_and_aip_labels(sip: Path, tmp_path: Path, settings: Settings) -> None:
    result = gate(sip, settings)
    built = build(result, tmp_path, settings)
    info = bag_info(built.bag_dir)
    assert info["BagIt-Profile-Identifier"] == "urn:earchive:bagit-profile:circular02:1.0"
    assert result.package is not None
    assert info["Source-Organization"] == result.package.agency_name
    assert info["Organization-Identifier"] == result.package.agency_code
    assert info["Bag-Group-Identifier"] == built.aip_id
    assert info["Internal-Sender-Identifier"] == result.submission_id
    assert info["Earchive-Package-Type"] == "AIP_hoso"
    dossier = result.package.dossiers[0]
    assert info["External-Identifier"] == built.external_identifier == f"{dossier.identifier}.{dossier.file_code}"
    payload = built.payload
    assert info["Payload-Oxum"] == f"{sum(f.size for f in payload)}.{len(payload)}"
    ead = xml(built.bag_dir / "data/metadata/descriptive/EAD.xml")
    assert ead.findtext("arcFileCode") == built.external_identifier
    assert ead.findtext("title") == unicodedata.normalize("NFC", dossier.title or "")


def test_bagit_submission_gives_the_same_descriptions_as_the_sip(tmp_path: Path, settings: Settings) -> None:
    generated = generate_dossier(seed=21, documents=3, doc_bytes=30_000)
    from_sip = build(gate(write_tt05_sip(generated, tmp_path / "in"), settings), tmp_path, settings, "a")
    from_bag = build(gate(write_bagit(generated, tmp_path / "in", form="zip"), settings), tmp_path, settings, "b")
    assert validate_aip(from_bag.bag_dir) == []
    same = ["metadata/descriptive/EAD.xml", "metadata/dossier.xml"]
    same += [f"metadata/documents/{p.name}" for p in (from_sip.bag_dir / "data/metadata/documents").iterdir()]
    rep1 = from_sip.bag_dir / "data/representations/rep1"
    same += [p.relative_to(rep1.parent.parent).as_posix()
             for p in [*(rep1 / "data").iterdir(), *(rep1 / "metadata/descriptive").iterdir()]]
    assert len(same) == 2 + 3 + 3 + 3
    for path in same:
        assert (from_sip.bag_dir / "data" / path).read_bytes() == (from_bag.bag_dir / "data" / path).read_bytes(), path


def test_loose_documents_become_aip_tailieu(tmp_path: Path, settings: Settings) -> None:
    generated = generate_dossier(seed=31, documents=2, doc_bytes=20_000, kind=DossierKind.TAILIEU)
    built = build(gate(write_tt05_sip(generated, tmp_path / "in"), settings), tmp_path, settings)
    assert validate_aip(built.bag_dir) == []
    assert built.package_type == "AIP_tailieu"
    ead = xml(built.bag_dir / "data/metadata/descriptive/EAD.xml")
    assert [child.tag for child in ead] == ["arcFileCode", "title", "source", "description"]
    assert xml(built.bag_dir / "data/METS.xml").get("TYPE") == "Collection"


# ---------------------------------------------------------------- originals and preservation copies


def test_originals_are_copied_byte_identical_and_never_touched(
    bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    submitted = {p.name: p.read_bytes() for p in (bag_folder / "data/files").iterdir()}
    result = gate(bag_folder, settings)
    staged = {path: Path(result.observed[path].staged_path or "") for path in document_files(result)}
    before = {path: (local.stat().st_mtime_ns, sha256(local)) for path, local in staged.items()}
    built = build(result, tmp_path, settings)
    rep1 = built.bag_dir / "data/representations/rep1/data"
    assert {p.name: p.read_bytes() for p in rep1.iterdir()} == submitted
    assert {path: (local.stat().st_mtime_ns, sha256(local)) for path, local in staged.items()} == before
    assert {p.name: p.read_bytes() for p in (bag_folder / "data/files").iterdir()} == submitted


def test_other_submitted_content_is_kept_as_documentation(
    bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    note = "Ghi chú của văn thư: hồ sơ nhận đủ bản gốc.\n".encode()
    (bag_folder / "data" / "ghi-chu-bo-sung.txt").write_bytes(note)
    bagit.Bag(str(bag_folder)).save(manifests=True)
    result = gate(bag_folder, settings)
    assert "CK-BAG-C02-UNEXPECTED-PAYLOAD" in result.codes()
    built = build(result, tmp_path, settings)
    assert validate_aip(built.bag_dir) == []
    kept = built.bag_dir / "data/documentation/ghi-chu-bo-sung.txt"
    assert kept.read_bytes() == note
    group = xml(built.bag_dir / "data/METS.xml").find("m:fileSec/m:fileGrp[@USE='Documentation']", NS)
    assert group is not None
    assert [f.get(f"{{{XLINK_NS}}}href") for f in group.iterfind("m:file/m:FLocat", NS)] == [
        "documentation/ghi-chu-bo-sung.txt"]
    entity = _premis_object(xml(built.bag_dir / "data/metadata/preservation/PREMIS.xml"), built.aip_id)
    assert ("structural", "includes", "documentation/ghi-chu-bo-sung.txt", None) in _relationships(entity)


def _migrate(result: GateResult, path: str, out: Path, settings: Settings) -> DerivedFile:
    from preservation.migration import make_preservation_copy
    from preservation.pdfa import BuiltinPdfaValidator

    staged = Path(result.observed[path].staged_path or "")
    migration = make_preservation_copy(staged, out, settings=settings, validator=BuiltinPdfaValidator(),
                                       package_path=path)
    assert migration is not None
    derived = DerivedFile.from_migration(migration, path)
    assert derived is not None, migration.reason
    return derived


def test_preservation_copies_go_to_rep2_with_derivation_in_premis(
    bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    result = gate(bag_folder, settings)
    source = document_files(result)[1]
    derived = _migrate(result, source, tmp_path / "copies", settings)
    original_bytes = Path(result.observed[source].staged_path or "").read_bytes()
    built = build(result, tmp_path, settings, preservation_copies=[derived])
    assert validate_aip(built.bag_dir) == []
    data = built.bag_dir / "data"
    copy_path = data / "representations/rep2/data" / derived.path.name
    assert copy_path.read_bytes() == derived.path.read_bytes()
    original_id = f"representations/rep1/data/{PurePosixPath(source).name}"
    copy_id = f"representations/rep2/data/{derived.path.name}"
    assert (data / original_id).read_bytes() == original_bytes  # R-ST-5: the original is unchanged

    rep2_mets = xml(data / "representations/rep2/METS.xml")
    assert rep2_mets.find("m:structMap/m:div", NS).get("TYPE") == "NORMALIZED"  # type: ignore[union-attr]
    assert len(list(data.glob("representations/rep2/metadata/descriptive/EAD_doc_*.xml"))) == 1
    reps = xml(data / "METS.xml").findall("m:structMap/m:div/m:div/m:mptr", NS)
    assert [r.get(f"{{{XLINK_NS}}}href") for r in reps] == ["representations/rep1/METS.xml",
                                                           "representations/rep2/METS.xml"]

    migration_id = derived.event.identifier
    rep2 = xml(data / "representations/rep2/metadata/preservation/PREMIS_rep2.xml")
    copy_object = _premis_object(rep2, copy_id)
    assert copy_object.findtext("p:objectCharacteristics/p:fixity/p:messageDigest", namespaces=NS) == sha256(
        copy_path)
    assert copy_object.findtext(".//p:formatRegistryKey", namespaces=NS) in {"fmt/476", "fmt/477", "fmt/478"}
    assert _relationships(copy_object) == {
        ("structural", "is included in", "representations/rep2", None),
        ("derivation", "has source", original_id, migration_id),
    }
    rep1 = xml(data / "representations/rep1/metadata/preservation/PREMIS_rep1.xml")
    assert ("derivation", "is source of", copy_id, migration_id) in _relationships(_premis_object(rep1, original_id))

    root = xml(data / "metadata/preservation/PREMIS.xml")
    migration = _premis_event(root, migration_id)
    links = {(e.findtext("p:linkingObjectIdentifierValue", namespaces=NS),
              e.findtext("p:linkingObjectRole", namespaces=NS))
             for e in migration.findall("p:linkingObjectIdentifier", NS)}
    assert links == {(original_id, "source"), (copy_id, "outcome")}
    # the Circular 02 description still lists the original only
    c02 = next((data / "metadata/documents").glob(f"{PurePosixPath(source).stem}.xml")).read_text("utf-8")
    assert original_id in c02 and derived.path.name not in c02


def _premis_object(root: etree._Element, identifier: str) -> etree._Element:
    for obj in root.findall("p:object", NS):
        if obj.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=NS) == identifier:
            return obj
    raise AssertionError(f"no PREMIS object {identifier}")


def _premis_event(root: etree._Element, identifier: str) -> etree._Element:
    for found in root.findall("p:event", NS):
        if found.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=NS) == identifier:
            return found
    raise AssertionError(f"no PREMIS event {identifier}")


def _relationships(obj: etree._Element) -> set[tuple[str | None, str | None, str | None, str | None]]:
    return {
        (r.findtext("p:relationshipType", namespaces=NS), r.findtext("p:relationshipSubType", namespaces=NS),
         r.findtext("p:relatedObjectIdentifier/p:relatedObjectIdentifierValue", namespaces=NS),
         r.findtext("p:relatedEventIdentifier/p:relatedEventIdentifierValue", namespaces=NS))
        for r in obj.findall("p:relationship", NS)
    }


def test_premis_keeps_every_gate_event_and_adds_the_builders(sip: Path, tmp_path: Path, settings: Settings) -> None:
    result = gate(sip, settings)
    built = build(result, tmp_path, settings)
    root = xml(built.bag_dir / "data/metadata/preservation/PREMIS.xml")
    assert px.validate(root) == []
    events = root.findall("p:event", NS)
    identifiers = [e.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=NS) for e in events]
    assert [e.identifier for e in result.events] == identifiers[: len(result.events)]
    types = [e.find("p:eventType", NS) for e in events]
    labels = [t.text for t in types if t is not None]
    assert labels[len(result.events):] == ["fixity check", "information package creation", "ingestion"]
    creation = next(t for t in types if t is not None and t.text == "information package creation")
    assert creation.get("valueURI") == "http://id.loc.gov/vocabulary/preservation/eventType/ipc"
    agents = {a.findtext("p:agentIdentifier/p:agentIdentifierValue", namespaces=NS): a
              for a in root.findall("p:agent", NS)}
    for found in events:
        assert (found.findtext("p:eventDateTime", namespaces=NS) or "").endswith("+07:00")
        assert found.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=NS) in {
            "success", "warning", "failure"}
        for link in found.findall("p:linkingAgentIdentifier", NS):
            assert link.findtext("p:linkingAgentIdentifierValue", namespaces=NS) in agents
    kinds = {a.findtext("p:agentType", namespaces=NS) for a in agents.values()}
    assert kinds == {"software", "organization"}
    assert all(a.findtext("p:agentVersion", namespaces=NS) for a in agents.values()
               if a.findtext("p:agentType", namespaces=NS) == "software")
    for rep_file in (built.bag_dir / "data/representations").rglob("PREMIS_rep*.xml"):
        assert px.validate(rep_file.read_bytes()) == []


def test_premis_writer_output_is_checked_by_the_schema() -> None:
    migrated = event(EventType.MIGRATION, Agent("pikepdf", "10.17.0"), Outcome.SUCCESS, "Chuyển đổi sang PDF/A-2b")
    file_object = px.PremisObject(
        "file", (px.Identifier("local", "representations/rep1/data/tờ-trình.pdf"),), size=12,
        fixity=(px.Fixity("sha256", "AB" * 32),), format=px.FormatInfo("PDF", "1.7", "fmt/276"),
        original_name="tờ-trình.pdf",
    )
    document = px.collect([file_object], [px.EventEntry(migrated)])
    data = px.write_premis(document)
    assert px.validate(data) == []
    assert b"abababab" in data and "tờ-trình.pdf".encode() in data
    broken = data.replace(b"<objectIdentifierType>local</objectIdentifierType>", b"")
    assert px.validate(broken)
    unknown = event(EventType.DESTRUCTION, Agent("x", "1"), Outcome.FAILURE, "d")
    assert px.event_type_uri(unknown.event_type) is None
    assert b"valueURI" not in px.write_premis(px.collect([file_object], [px.EventEntry(unknown)])).split(
        b"<eventType")[1].split(b">")[0]
    with pytest.raises(ValueError):
        px.PremisDocument(())


# ---------------------------------------------------------------- schemas of the shared corpus


_XML_XSD = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/><xs:attribute name="space" type="xs:NCName"/>
  <xs:attribute name="base" type="xs:anyURI"/><xs:attribute name="id" type="xs:ID"/>
</xs:schema>"""


class _XmlXsd(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        if system_url.endswith("xml.xsd"):
            return self.resolve_string(_XML_XSD, context, base_url=None)
        return None


def _tt05_schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_XmlXsd())
    return etree.XMLSchema(etree.parse(str(path), parser))


@pytest.mark.corpus
def test_ead_validates_against_the_published_tt05_aip_schemas(
    sip: Path, tmp_path: Path, settings: Settings
) -> None:
    schemas = corpus_dir("tt05") / "schemas" / "tiencd_ChuyenDoi_AIP_HoSo_TT05"
    built = build(gate(sip, settings), tmp_path, settings)
    data = built.bag_dir / "data"
    checks = [(schemas / "ead.xsd", data / "metadata/descriptive/EAD.xml")]
    checks += [(schemas / "EAD_doc.xsd", p) for p in data.glob("representations/rep1/metadata/descriptive/EAD_doc_*")]
    assert len(checks) == 5
    tailieu = generate_dossier(seed=32, documents=2, doc_bytes=20_000, kind=DossierKind.TAILIEU)
    loose = build(gate(write_tt05_sip(tailieu, tmp_path / "in"), settings), tmp_path, settings, "loose")
    ynap9 = corpus_dir("tt05") / "schemas/Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/AIP_tailieu"
    checks.append((ynap9 / "ead.xsd", loose.bag_dir / "data/metadata/descriptive/EAD.xml"))
    for schema_path, document in checks:
        schema = _tt05_schema(schema_path)
        assert schema.validate(etree.parse(str(document))), (document.name, str(schema.error_log))


@pytest.mark.corpus
def test_shipped_premis_schema_is_an_unmodified_copy() -> None:
    archive = corpus_dir("eark-ip") / "cases" / "CSIP" / "CSIP38.tar.xz"
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("schemas/premis-v3-0.xsd"))
        reference = tar.extractfile(member)
        assert reference is not None
        assert reference.read() == px.SCHEMA_PATH.read_bytes()


def test_root_and_representation_mets_validate_with_local_schemas_only(
    bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    built = build(gate(bag_folder, settings), tmp_path, settings)
    schema = mets_schema()
    for mets in (built.bag_dir / "data").rglob("METS.xml"):
        assert schema.validate(xml(mets)), (mets, schema.error_log)
    shipped = REPO / "ingest" / "schemas" / "mets.xsd"
    assert (built.bag_dir / "data/schemas/METS.xsd").read_bytes() == shipped.read_bytes()


# ---------------------------------------------------------------- export and re-import


def test_export_zip_holds_the_bag_folder_stored_or_deflated(sip: Path, tmp_path: Path, settings: Settings) -> None:
    built = build(gate(sip, settings), tmp_path, settings)
    out = export_zip(built.bag_dir, tmp_path / "out" / f"{built.aip_id}.zip")
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert {i.filename.split("/", 1)[0] for i in infos} == {built.aip_id}
        assert sorted(i.filename.split("/", 1)[1] for i in infos) == [f.path for f in built.files]
        for info in infos:
            expected = zipfile.ZIP_DEFLATED if info.filename.endswith((".xml", ".xsd", ".txt")) else zipfile.ZIP_STORED
            assert info.compress_type == expected, info.filename
        archive.extractall(tmp_path / "unzipped")
    assert bagit.Bag(str(tmp_path / "unzipped" / built.aip_id)).is_valid()
    assert not list((tmp_path / "out").glob(".*partial"))


@pytest.mark.parametrize("form", ["sip", "bag"])
def test_exported_aip_reimports_as_a_circular02_bag_with_the_same_dossier(
    form: str, sip: Path, bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    result = gate(sip if form == "sip" else bag_folder, settings)
    built = build(result, tmp_path, settings)
    again = check_package(export_zip(built.bag_dir, tmp_path / "aip.zip"), settings, options=PLAIN)
    assert again.package is not None and result.package is not None
    assert again.package.kind is PackageKind.BAGIT_C02
    before, after = result.package.dossiers[0], again.package.dossiers[0]
    assert values(after, Dossier) == values(before, Dossier)
    assert after.fonds == before.fonds
    assert [values(d, Document) for d in after.documents] == [values(d, Document) for d in before.documents]
    old = [result.observed[p].checksums["sha256"] for p in document_files(result)]
    new = [again.observed[p].checksums["sha256"] for p in document_files(again)]
    assert new == old
    assert all(p.startswith("data/representations/rep1/data/") for p in document_files(again))
    assert again.findings == []


def test_exported_aip_is_accepted_without_findings(sip: Path, tmp_path: Path, settings: Settings) -> None:
    built = build(gate(sip, settings), tmp_path, settings)
    again = check_package(export_zip(built.bag_dir, tmp_path / "aip.zip"), settings, options=PLAIN)
    assert again.verdict.value == "accepted" and again.findings == []


def test_exported_aip_with_a_preservation_copy_reimports_cleanly(
    bag_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    result = gate(bag_folder, settings)
    derived = _migrate(result, document_files(result)[0], tmp_path / "copies", settings)
    built = build(result, tmp_path, settings, preservation_copies=[derived])
    exported = export_zip(built.bag_dir, tmp_path / "aip.zip")
    again = check_package(exported, settings, options=PLAIN)
    assert (again.verdict.value, again.codes()) == ("accepted", set())
    # An exported AIP submitted again gives an AIP with the same originals; the old METS, EAD, PREMIS
    # and schemas are written afresh, the old preservation copy is kept as content (extra data of rep1).
    rebuilt = build(gate(exported, settings), tmp_path, settings, "again")
    assert validate_aip(rebuilt.bag_dir) == []
    rep1 = "data/representations/rep1/data/"
    old = {f.path: f.sha256 for f in built.files if f.path.startswith(rep1)}
    new = {f.path: f.sha256 for f in rebuilt.files if f.path.startswith(rep1)}
    assert new == {**old, f"{rep1}{derived.path.name}": built.file(
        f"data/representations/rep2/data/{derived.path.name}").sha256}
    assert not any(f.path.startswith("data/documentation/") for f in rebuilt.files)


# ---------------------------------------------------------------- determinism, refusals, large files


def test_same_result_clock_and_id_give_identical_bags(bag_folder: Path, tmp_path: Path, settings: Settings) -> None:
    result = gate(bag_folder, settings)
    derived = _migrate(result, document_files(result)[0], tmp_path / "copies", settings)
    first = build(result, tmp_path, settings, "one", aip_id="aip-FIXED", clock=fixed_clock,
                  preservation_copies=[derived])
    second = build(result, tmp_path, settings, "two", aip_id="aip-FIXED", clock=fixed_clock,
                   preservation_copies=[derived])
    assert first.files == second.files
    for item in first.files:
        assert (first.bag_dir / item.path).read_bytes() == (second.bag_dir / item.path).read_bytes(), item.path
    assert "2025-09-02T08:30:15.123+07:00" in (first.bag_dir / "data/METS.xml").read_text("utf-8")
    assert bag_info(first.bag_dir)["Bagging-Date"] == "2025-09-02"


def test_rejected_or_unstaged_submissions_are_refused(tmp_path: Path, settings: Settings) -> None:
    generated = generate_dossier(seed=41, documents=2, doc_bytes=20_000)
    rejected = check_package(write_tt05_sip(generated, tmp_path / "in", faults=[Fault.WRONG_CHECKSUM]), settings,
                             options=STAGED)
    with pytest.raises(AipError, match="rejected"):
        build(rejected, tmp_path, settings)
    unstaged = check_package(write_tt05_sip(generated, tmp_path / "in2"), settings, options=PLAIN)
    with pytest.raises(AipError, match="stage_files"):
        build(unstaged, tmp_path, settings)
    with pytest.raises(AipError, match="safe folder name"):
        build(gate(write_tt05_sip(generated, tmp_path / "in3"), settings), tmp_path, settings, aip_id="../x")
    assert not (tmp_path / "aips").exists() or not any((tmp_path / "aips").iterdir())


def test_changed_staged_bytes_abort_and_leave_nothing(bag_folder: Path, tmp_path: Path, settings: Settings) -> None:
    result = gate(bag_folder, settings)
    victim = document_files(result)[-1]
    with Path(result.observed[victim].staged_path or "").open("ab") as handle:
        handle.write(b"\n%tampered")
    with pytest.raises(AipError, match=victim):
        build(result, tmp_path, settings, aip_id="aip-X")
    assert list((tmp_path / "aips").iterdir()) == []
    built = build(gate(bag_folder, settings), tmp_path, settings, aip_id="aip-X")
    with pytest.raises(AipError, match="already exists"):
        build(gate(bag_folder, settings), tmp_path, settings, aip_id=built.aip_id)


@pytest.mark.slow
def test_a_300_mb_document_is_copied_and_exported_with_bounded_memory(tmp_path: Path, settings: Settings) -> None:
    size = 300 * 1000 * 1000
    generated = generate_dossier(seed=51, documents=1, doc_bytes=size)
    result = gate(write_bagit(generated, tmp_path / "in", form="folder"), settings)
    [path] = document_files(result)
    assert result.observed[path].size >= size
    tracemalloc.start()
    try:
        built = build(result, tmp_path, settings)
        out = export_zip(built.bag_dir, tmp_path / "aip.zip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"peak Python memory {peak / 1e6:.1f} MB"
    copied = built.file(f"data/representations/rep1/data/{PurePosixPath(path).name}")
    assert (copied.size, copied.sha256) == (result.observed[path].size, result.observed[path].checksums["sha256"])
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo(f"{built.aip_id}/{copied.path}")
        assert info.compress_type == zipfile.ZIP_STORED and info.file_size == copied.size
