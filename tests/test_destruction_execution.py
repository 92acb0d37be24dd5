"""Executing an approved destruction (R-DS-2, R-DS-3, R-DS-4, R-RT-4, R-AU-1) and its record.

Real dossiers are ingested through the pipeline (encrypted copies on two
locations), approved through the workflow, and destroyed by `StorageExecutor`.
Then every byte under the data home (storage, staging, quarantine, the catalog
file with its WAL) is searched for the destroyed documents' text and bytes; an
earlier snapshot of the storage is put back and shown to be unreadable. Holds
placed after approval, a location that is down (local folder gone, S3 on a
closed port), a failing index hook, S3 versions, PostgreSQL, and the record
(PDF/A text, XML against its XSD, archived AIP) are covered too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pikepdf
import pytest
from lxml import etree
from pikepdf import pdfa
from sqlalchemy import func, select, update

from archive_core.accounts import SYSTEM_ACTOR, Accounts, Role
from archive_core.catalog import CopyRow, DocumentRow, DossierRow, DossierState, EventRow, FileRow, repo
from archive_core.crypto import DecryptingReader, DecryptionError, object_aad
from archive_core.destruction_policy import AgencyPolicy, CouncilRule, DestructionPolicy
from archive_core.settings import Location, Settings
from archive_core.timeutil import system_clock
from ingest.archive import Archive, ingest_package, open_archive
from ingest.generator import generate_dossier, write_tt05_sip
from preservation.destruction.execution import (
    STUB_FORMAT,
    StorageExecutor,
    destruction_stub,
    pending_destructions,
    retry_pending_destruction,
)
from preservation.destruction.models import ItemState, ListState, Opinion
from preservation.destruction.record import (
    NS,
    DestructionRecord,
    decisions_from_workflow,
    embedded_xml,
    make_record,
    validate_record_xml,
)
from preservation.destruction.workflow import (
    ExecutionItem,
    ExecutionOrder,
    ExecutionReport,
    ItemOutcome,
    ReviewVerdict,
    Workflow,
    run_execution,
)
from preservation.export import ExportError, export_dossier
from preservation.retention import HoldScope, place_hold
from search.hooks import register_deletion_hook, unregister_deletion_hook
from tests import s3_fixtures
from tests.services import free_port
from tests.services_s3 import SeaweedServer

pytest_plugins = ["tests.catalog_fixtures"]
seaweed = s3_fixtures.seaweed
make_bucket = s3_fixtures.make_bucket

AGENCY = "000.00.00.H12"
ARCHIVIST, HEAD, REVIEWER = "lanpt.vp", "hungtv.vp", "minhlq.snv"
MEMBERS = ("an.hd", "binh.hd", "cuong.hd")
FULL_NAMES = {ARCHIVIST: "Phạm Thị Lan", HEAD: "Trần Văn Hùng", REVIEWER: "Lê Quang Minh",
              "an.hd": "Nguyễn Thị An", "binh.hd": "Lê Văn Bình", "cuong.hd": "Đỗ Mạnh Cường"}
SEEDS = (201, 202, 203, 204)


# ---------------------------------------------------------------- fixtures


def make_settings(home: Path, locations: Sequence[Location] | None = None, catalog_url: str | None = None) -> Settings:
    settings = Settings(home=home, workers=2)
    settings.virus.enabled = False
    settings.pdfa.make_preservation_copy = False
    settings.signatures.fetch_revocation = False
    if locations is not None:
        settings.storage.locations = list(locations)
    if catalog_url is not None:
        settings.storage.catalog_url = catalog_url
    return settings


@dataclass
class Seeded:
    """A dossier as submitted: what must disappear with it."""

    code: str
    aip_id: str
    phrases: list[str]
    """Its documents' subjects and the dossier's description (kept nowhere after destruction)."""
    pdf_windows: list[bytes]
    """Raw byte sequences from the middle of its original PDFs."""
    files: dict[str, str] = field(default_factory=dict)
    """Bag path → SHA-256 of every file of its AIP (as the catalog had them)."""


@dataclass
class Home:
    home: Path
    dossiers: list[Seeded]


def ingest_generated(archive: Archive, seed: int, out: Path) -> Seeded:
    generated = generate_dossier(seed=seed, documents=2, doc_bytes=6_000, agency=AGENCY)
    result = ingest_package(write_tt05_sip(generated, out), archive)
    assert result.state == "archived" and result.aip_id and result.dossier_code
    windows: list[bytes] = []
    for document in generated.documents:
        data = document.files[0].read_bytes()
        windows.extend(data[int(len(data) * share):int(len(data) * share) + 40] for share in (0.35, 0.6, 0.8))
    phrases = [document.document.subject or "" for document in generated.documents]
    phrases.append(generated.dossier.description or "")
    with archive.catalog.session(readonly=True) as session:
        row = repo.get_dossier_by_aip(session, result.aip_id)
        assert row is not None
        files = {item.path: item.sha256 for item in row.files}
    return Seeded(result.dossier_code, result.aip_id, [p for p in phrases if len(p) >= 12], windows, files)


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Four dossiers ingested once; each test works on its own copy of the whole data home."""
    root = tmp_path_factory.mktemp("destruction-seed")
    archive = open_archive(make_settings(root / "home"))
    try:
        dossiers = [ingest_generated(archive, seed, root) for seed in SEEDS]
    finally:
        archive.close()
    return Home(root / "home", dossiers)


@pytest.fixture
def home(seeded_home: Home, tmp_path: Path) -> Home:
    target = tmp_path / "home"
    shutil.copytree(seeded_home.home, target, symlinks=True)
    return Home(target, seeded_home.dossiers)


@pytest.fixture
def archive(home: Home) -> Iterator[Archive]:
    opened = open_archive(make_settings(home.home))
    yield opened
    opened.close()


class RecordingHook:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def delete_dossier(self, aip_id: str, dossier_code: str | None) -> None:
        self.calls.append((aip_id, dossier_code))


class FailingHook:
    def delete_dossier(self, aip_id: str, dossier_code: str | None) -> None:
        raise ConnectionError("search index unreachable")


# ---------------------------------------------------------------- the workflow around the executor


@dataclass
class Office:
    archive: Archive
    workflow: Workflow

    def step(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self.archive.catalog.session() as session:
            return getattr(self.workflow, name)(session, *args, **kwargs)

    def approve(self, codes: Sequence[str]) -> str:
        """propose → council → (Sở Nội vụ) → head: the list's code, approved."""
        code: str = self.step("propose", ARCHIVIST, agency_code=AGENCY, dossiers=list(codes),
                              comment="Hết thời hạn bảo quản").code
        self.step("submit", code, ARCHIVIST, members=list(MEMBERS))
        for member in MEMBERS:
            if self.state(code) != ListState.COUNCIL_REVIEW:
                break
            self.step("give_opinion", code, member, Opinion.AGREE, comment="Đồng ý hủy")
        if self.state(code) == ListState.SO_NOI_VU_REVIEW:
            self.step("review", code, REVIEWER, ReviewVerdict.APPROVE, comment="Thẩm định đồng ý")
        self.step("decide", code, HEAD, approve=True, comment="Đồng ý hủy theo danh mục")
        assert self.state(code) == ListState.APPROVED
        return code

    def state(self, code: str) -> ListState:
        with self.archive.catalog.session(readonly=True) as session:
            return self.workflow.get(session, code).state

    def items(self, code: str) -> dict[str, ItemState]:
        with self.archive.catalog.session(readonly=True) as session:
            return {item.dossier_code or "": item.state for item in self.workflow.get(session, code).items}


def open_office(archive: Archive, *, so_noi_vu: bool = True) -> Office:
    accounts = Accounts(archive.audit)
    people = [(ARCHIVIST, AGENCY, Role.ARCHIVIST, AGENCY), (HEAD, AGENCY, Role.AGENCY_HEAD, AGENCY),
              (REVIEWER, "000.00.00.SNV", Role.SO_NOI_VU, "*"),
              *((member, AGENCY, Role.COUNCIL_MEMBER, AGENCY) for member in MEMBERS)]
    with archive.catalog.session() as session:
        for username, agency, role, scope in people:
            accounts.create_user(session, actor=SYSTEM_ACTOR, username=username, full_name=FULL_NAMES[username],
                                 agency_code=agency)
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username=username, role=role, agency_code=scope)
    policy = DestructionPolicy(default=AgencyPolicy(so_noi_vu_review=so_noi_vu, council=CouncilRule(min_members=3)))
    return Office(archive, Workflow(archive.audit, policy))


def make_due(archive: Archive, codes: Sequence[str]) -> None:
    """The generated dossiers are kept long; these are given a 10-year period that has run out."""
    with archive.catalog.session() as session:
        for code in codes:
            (row,) = repo.dossiers_by_code(session, code)
            row.maintenance = "10 năm"
            repo.set_retention(row, 10)
            row.retention_due = date(2020, 12, 31)


# ---------------------------------------------------------------- looking at what is left


def encodings(phrase: str) -> list[bytes]:
    """The forms text takes in the catalog: UTF-8, JSON with \\u escapes, and JSON of that JSON."""
    escaped = json.dumps(phrase)[1:-1]
    return [phrase.encode(), escaped.encode(), json.dumps(escaped)[1:-1].encode()]


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())
    return found


def occurrences(paths: Sequence[Path], needles: dict[str, bytes]) -> list[tuple[str, str]]:
    hits: list[tuple[str, str]] = []
    for path in paths:
        data = path.read_bytes()
        hits.extend((name, str(path)) for name, needle in needles.items() if needle in data)
    return hits


def needles_of(dossiers: Sequence[Seeded], kept_text: str) -> dict[str, bytes]:
    """Distinctive text and bytes of the destroyed dossiers (text that kept dossiers or stubs share is left out)."""
    needles: dict[str, bytes] = {}
    for dossier in dossiers:
        for number, phrase in enumerate(dossier.phrases):
            if phrase in kept_text:
                continue
            for form, data in enumerate(encodings(phrase)):
                needles[f"{dossier.code}:phrase{number}:{form}"] = data
        for number, window in enumerate(dossier.pdf_windows):
            needles[f"{dossier.code}:pdf{number}"] = window
    return needles


def catalog_files(home: Path) -> list[Path]:
    return [path for path in home.iterdir() if path.name.startswith("catalog.sqlite")]


def dossier_row(archive: Archive, code: str) -> DossierRow:
    with archive.catalog.session(readonly=True) as session:
        (row,) = repo.dossiers_by_code(session, code)
        return row


def objects(archive: Archive, aip_id: str) -> dict[str, int]:
    return {store.location_id: len(list(store.list(f"aips/{aip_id}/"))) for store in archive.stores}


def count_rows(archive: Archive, table: type[Any], dossier_id: int) -> int:
    with archive.catalog.session(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(table.dossier_id == dossier_id)) or 0)


def assert_audit_ok(archive: Archive) -> None:
    report = archive.audit.verify()
    assert report.ok, report.message_en


def pdf_text(path: Path) -> str:
    """The PDF's text as poppler extracts it (reading order, each table cell whole), whitespace folded."""
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          timeout=60)
    return " ".join(done.stdout.decode("utf-8").split())


# ---------------------------------------------------------------- end to end


def test_approved_destruction_leaves_nothing_readable_and_a_record(archive: Archive, home: Home,
                                                                   tmp_path: Path) -> None:
    doomed, kept = home.dossiers[:2], home.dossiers[2]
    make_due(archive, [d.code for d in doomed])
    office = open_office(archive)
    code = office.approve([d.code for d in doomed])
    snapshot = tmp_path / "snapshot"
    shutil.copytree(home.home / "storage", snapshot)
    before = {d.code: dossier_row(archive, d.code) for d in doomed}
    data_keys = {d.code: archive.master_key.unwrap(before[d.code].wrapped_key or b"") for d in doomed}
    with archive.catalog.session(readonly=True) as session:
        kept_text = json.dumps([row.title for row in session.scalars(select(DossierRow))], ensure_ascii=False)
        kept_text += json.dumps([row.metadata_json for row in repo.dossiers_by_code(session, kept.code)[0].documents],
                                ensure_ascii=False) + kept.phrases[-1]
    needles = needles_of(doomed, kept_text)
    phrases = {name.rsplit(":", 1)[0] for name in needles if ":phrase" in name}
    assert len(phrases) >= 4, "enough distinctive text to look for"
    found = {name.rsplit(":", 1)[0] for name, _ in occurrences(catalog_files(home.home), needles)}
    assert found >= phrases, "the scan finds every phrase in the catalog while the dossiers exist"

    hook = RecordingHook()
    order, report = run_execution(archive.catalog, office.workflow, code, ARCHIVIST,
                                  StorageExecutor(archive, hooks=[hook]))

    assert [result.outcome for result in report.results] == [ItemOutcome.DESTROYED] * 2
    assert office.state(code) == ListState.EXECUTED
    assert set(office.items(code).values()) == {ItemState.DESTROYED}
    assert sorted(hook.calls) == sorted((d.aip_id, d.code) for d in doomed)
    assert report.data["catalog_scrub"]["ok"] and report.data["catalog_scrub"]["wal_bytes"] == 0
    for dossier in doomed:
        row = dossier_row(archive, dossier.code)
        assert row.state == DossierState.DESTROYED and row.destroyed_at is not None
        assert row.key_destroyed and row.wrapped_key is None
        assert objects(archive, dossier.aip_id) == {"copy-1": 0, "copy-2": 0}
        assert not (home.home / "storage" / "copy-1" / "aips" / dossier.aip_id).exists()
        for table in (DocumentRow, FileRow, CopyRow):
            assert count_rows(archive, table, row.id) == 0
        stub = destruction_stub(row)
        assert stub is not None and stub["format"] == STUB_FORMAT
        assert stub["code"] == dossier.code and stub["title"] == before[dossier.code].title
        assert stub["maintenance"] == "10 năm" and stub["agency_code"] == AGENCY
        assert stub["start_date"] == before[dossier.code].start_date and stub["document_count"] == 2
        assert stub["total_bytes"] == sum(item["size"] for item in stub["files"]) > 0
        assert {item["path"]: item["sha256"] for item in stub["files"]} == dossier.files
        assert stub["destruction"]["reference"] == code and stub["destruction"]["state"] == "destroyed"
        assert stub["destruction"]["decided_by"] == HEAD
        with archive.catalog.session(readonly=True) as session:
            kinds = set(session.scalars(select(EventRow.type).where(EventRow.dossier_id == row.id)))
        assert {"deletion", "destruction"} <= kinds
    assert objects(archive, kept.aip_id) == {"copy-1": len(kept.files), "copy-2": len(kept.files)}
    export_dossier(archive, kept.code, tmp_path / "kept.zip")  # the dossier that stays is untouched

    # Nothing of the destroyed documents is left anywhere under the data home.
    everything = files_under(home.home)
    assert any(path.name == "catalog.sqlite" for path in everything)
    assert occurrences(everything, needles) == []
    wrapped = {d.code: before[d.code].wrapped_key or b"" for d in doomed}
    assert occurrences(catalog_files(home.home), {c: w for c, w in wrapped.items()}) == []

    # An earlier snapshot of the storage put back is ciphertext nobody can open.
    shutil.copytree(snapshot, home.home / "storage", dirs_exist_ok=True)
    for dossier in doomed:
        assert objects(archive, dossier.aip_id)["copy-1"] == len(dossier.files)
        with pytest.raises(ExportError):
            export_dossier(archive, dossier.code, tmp_path / "again.zip")
        assert_unreadable_with_catalog_keys(archive, dossier, data_keys[dossier.code])

    record = make_record(archive, order, report, decisions_from_workflow(archive.catalog, code))
    assert_record(archive, record, doomed, code)
    assert occurrences(files_under(home.home / "records", home.home / "staging"), needles) == []
    assert_audit_ok(archive)
    entries = archive.audit.entries(limit=100_000)
    assert sorted(e.object_id or "" for e in entries if e.action == "dossier.destroyed") == sorted(
        d.aip_id for d in doomed)


def assert_unreadable_with_catalog_keys(archive: Archive, dossier: Seeded, original_key: bytes) -> None:
    """Every data key the catalog still holds fails on the restored objects; only the destroyed key opened them."""
    store = archive.store("copy-1")
    path = next(p for p in dossier.files if p.endswith(".pdf"))
    key = f"aips/{dossier.aip_id}/{path}"
    aad = object_aad(dossier.aip_id, path)
    with store.open(key) as stream, DecryptingReader(stream, original_key, aad=aad) as reader:
        assert reader.read().startswith(b"%PDF"), "the snapshot is the genuine ciphertext"
    with archive.catalog.session(readonly=True) as session:
        wrapped = [row.wrapped_key for row in session.scalars(select(DossierRow)) if row.wrapped_key]
    assert wrapped, "other dossiers keep their keys"
    for blob in wrapped:
        data_key = archive.master_key.unwrap(blob)
        with store.open(key) as stream, pytest.raises(DecryptionError):
            DecryptingReader(stream, data_key, aad=aad).read()


def assert_record(archive: Archive, record: DestructionRecord, doomed: Sequence[Seeded], list_code: str) -> None:
    xml = record.xml_path.read_bytes()
    assert validate_record_xml(xml) == []
    assert embedded_xml(record.pdf_path) == xml, "the archived PDF carries the XML record"
    root = etree.fromstring(xml)
    nodes = {node.findtext(f"{{{NS}}}Code"): node for node in root.iter(f"{{{NS}}}Dossier")}
    for dossier in doomed:
        node = nodes[dossier.code]
        assert node.get("outcome") == "destroyed"
        listed = {item.get("path"): item.get("sha256") for item in node.iter(f"{{{NS}}}File")}
        assert listed == dossier.files
    steps = [node.get("step") for node in root.iter(f"{{{NS}}}Decision")]
    assert {"propose", "submit", "opinion", "review_approve", "decide_approve", "start_execution"} <= set(steps)
    assert root.findtext(f"{{{NS}}}List/{{{NS}}}Code") == list_code

    assert pdfa.validate_written(record.pdf_path, "3b").verdict == "pass"
    text = pdf_text(record.pdf_path)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BIÊN BẢN",
                     "Về việc hủy tài liệu hết giá trị", "Mã băm SHA-256 của các tệp đã hủy", list_code,
                     FULL_NAMES[HEAD], FULL_NAMES[ARCHIVIST], "+07:00", "Thẩm định đồng ý"):
        assert expected in text, expected
    for dossier in doomed:
        assert dossier.code in text
        missing = [sha for sha in dossier.files.values() if sha not in text]
        assert missing == [], "every destroyed file's SHA-256 is in the PDF"

    assert record.aip_id is not None
    with archive.catalog.session(readonly=True) as session:
        row = repo.get_dossier_by_aip(session, record.aip_id)
        assert row is not None and row.state == DossierState.ARCHIVED
        assert row.maintenance == "Vĩnh viễn" and row.retention_permanent
        assert len([item for item in row.files if item.path.endswith(".pdf")]) == 1
    assert all(count > 0 for count in objects(archive, record.aip_id).values())
    for dossier in doomed:
        stub = destruction_stub(dossier_row(archive, dossier.code))
        assert stub is not None
        assert stub["destruction"]["records"][-1]["aip_id"] == record.aip_id


# ---------------------------------------------------------------- holds


def test_a_hold_placed_after_approval_stops_execution_before_anything_is_deleted(
    archive: Archive, home: Home
) -> None:
    held, other = home.dossiers[0], home.dossiers[1]
    make_due(archive, [held.code, other.code])
    office = open_office(archive, so_noi_vu=False)
    code = office.approve([held.code, other.code])
    with archive.catalog.session() as session:
        order = office.workflow.start_execution(session, code, ARCHIVIST)
    with archive.catalog.session() as session:
        (row,) = repo.dossiers_by_code(session, held.code)
        place_hold(session, scope=HoldScope.DOSSIER, reason="Phục vụ thanh tra", owner="Thanh tra tỉnh",
                   audit=archive.audit, dossiers=[row])
    with archive.catalog.session() as session:  # a stale flag: the executor must read the holds themselves
        session.execute(update(DossierRow).where(DossierRow.id == row.id).values(legal_hold=False))
    assert not dossier_row(archive, held.code).legal_hold
    hook = RecordingHook()
    report = StorageExecutor(archive, hooks=[hook]).execute(order)
    with archive.catalog.session() as session:
        office.workflow.finish_execution(session, code, ARCHIVIST, report)

    outcomes = {result.dossier_id: result.outcome for result in report.results}
    held_row = dossier_row(archive, held.code)
    assert outcomes[held_row.id] == ItemOutcome.HELD
    assert outcomes[dossier_row(archive, other.code).id] == ItemOutcome.DESTROYED
    assert held_row.state == DossierState.ARCHIVED and not held_row.key_destroyed and held_row.wrapped_key
    assert objects(archive, held.aip_id) == {"copy-1": len(held.files), "copy-2": len(held.files)}
    assert count_rows(archive, DocumentRow, held_row.id) == 2 and destruction_stub(held_row) is None
    assert hook.calls == [(other.aip_id, other.code)]
    assert office.items(code)[held.code] == ItemState.HELD and office.state(code) == ListState.EXECUTED
    export_dossier(archive, held.code, home.home.parent / "held.zip")
    assert_audit_ok(archive)


# ---------------------------------------------------------------- a location that is down


def test_an_unreachable_location_leaves_a_visible_partial_destruction_that_a_retry_completes(
    archive: Archive, home: Home
) -> None:
    doomed = home.dossiers[:2]
    make_due(archive, [d.code for d in doomed])
    office = open_office(archive, so_noi_vu=False)
    code = office.approve([d.code for d in doomed])
    disk = home.home / "storage" / "copy-2"
    unmounted = home.home / "storage" / "copy-2-unmounted"
    disk.rename(unmounted)
    sleeps: list[float] = []
    executor = StorageExecutor(archive, retries=2, backoff_seconds=0.05, sleep=sleeps.append, workers=1)
    _, report = run_execution(archive.catalog, office.workflow, code, ARCHIVIST, executor)

    assert sleeps == [0.05, 0.1], "backoff doubles; the next dossier does not wait again for a location given up"
    assert [result.outcome for result in report.results] == [ItemOutcome.FAILED] * 2
    assert all("copy-2" in result.detail for result in report.results)
    assert report.data["unreachable"].keys() == {"copy-2"}
    assert office.state(code) == ListState.PARTIALLY_DESTROYED
    pending = {item.code: item for item in pending_destructions(archive)}
    assert pending.keys() == {d.code for d in doomed}
    for dossier in doomed:
        row = dossier_row(archive, dossier.code)
        assert row.state == DossierState.DESTROYING, "flagged and visible, never silently half-done"
        assert row.key_destroyed and row.wrapped_key is None, "the copies that remain are unreadable already"
        assert pending[dossier.code].remaining_locations == ("copy-2",) and pending[dossier.code].key_destroyed
        stub = destruction_stub(row)
        assert stub is not None and stub["destruction"]["state"] == "incomplete"
        assert stub["destruction"]["locations"]["copy-1"]["state"] == "deleted"
        assert stub["destruction"]["locations"]["copy-2"]["state"] == "failed"
        assert count_rows(archive, DocumentRow, row.id) == 0
        assert len(list((unmounted / "aips" / dossier.aip_id).rglob("*.pdf"))) > 0
    actions = [entry.action for entry in archive.audit.entries(limit=100_000)]
    assert actions.count("dossier.destruction_incomplete") == 2

    unmounted.rename(disk)
    retried = retry_pending_destruction(archive, backoff_seconds=0.01)
    assert [outcome.order.list_code for outcome in retried] == [code]
    assert [result.outcome for result in retried[0].report.results] == [ItemOutcome.DESTROYED] * 2
    assert pending_destructions(archive) == []
    for dossier in doomed:
        row = dossier_row(archive, dossier.code)
        assert row.state == DossierState.DESTROYED
        assert objects(archive, dossier.aip_id) == {"copy-1": 0, "copy-2": 0}
        stub = destruction_stub(row)
        assert stub is not None and stub["destruction"]["attempts"] == 2
        assert stub["destruction"]["remaining_locations"] == []
        assert {item["path"]: item["sha256"] for item in stub["files"]} == dossier.files
    # The list itself is closed by a person's retry step, which finds the work done.
    order, report = run_execution(archive.catalog, office.workflow, code, ARCHIVIST, StorageExecutor(archive))
    assert order.retry and office.state(code) == ListState.EXECUTED
    assert all(result.outcome == ItemOutcome.DESTROYED for result in report.results)
    record = make_record(archive, order, report, decisions_from_workflow(archive.catalog, code))
    listed = {item.get("sha256") for item in etree.fromstring(record.xml_path.read_bytes()).iter(f"{{{NS}}}File")}
    assert listed == {sha for d in doomed for sha in d.files.values()}
    assert_audit_ok(archive)


def test_a_failing_index_hook_keeps_the_dossier_flagged_until_a_retry_purges_the_index(
    archive: Archive, home: Home
) -> None:
    dossier = home.dossiers[3]
    make_due(archive, [dossier.code])
    office = open_office(archive, so_noi_vu=False)
    code = office.approve([dossier.code])
    failing = FailingHook()
    register_deletion_hook(failing)
    try:
        _, report = run_execution(archive.catalog, office.workflow, code, ARCHIVIST, StorageExecutor(archive))
    finally:
        unregister_deletion_hook(failing)
    (result,) = report.results
    assert result.outcome == ItemOutcome.FAILED and result.data["index"].startswith("failed")
    row = dossier_row(archive, dossier.code)
    assert row.state == DossierState.DESTROYING and row.key_destroyed
    assert objects(archive, dossier.aip_id) == {"copy-1": 0, "copy-2": 0}
    hook = RecordingHook()
    register_deletion_hook(hook)
    try:
        retry_pending_destruction(archive)
    finally:
        unregister_deletion_hook(hook)
    assert hook.calls == [(dossier.aip_id, dossier.code)]
    assert dossier_row(archive, dossier.code).state == DossierState.DESTROYED
    assert_audit_ok(archive)


# ---------------------------------------------------------------- S3


def s3_location(server: SeaweedServer, bucket: str, *, endpoint: str | None = None) -> Location:
    return Location(id="s3-b", kind="s3", bucket=bucket, endpoint_url=endpoint or server.endpoint,
                    region=server.region, access_key_id=server.access_key, secret_access_key=server.secret_key)


def test_s3_every_version_is_gone_after_a_retry_once_the_endpoint_answers(
    seaweed: SeaweedServer, make_bucket: s3_fixtures.MakeBucket, tmp_path: Path
) -> None:
    bucket = make_bucket()
    settings = make_settings(tmp_path / "home", [Location(id="local-a"), s3_location(seaweed, bucket)])
    archive = open_archive(settings)
    dossier = ingest_generated(archive, 211, tmp_path)
    client = boto3.client("s3", endpoint_url=seaweed.endpoint, region_name=seaweed.region,
                          aws_access_key_id=seaweed.access_key, aws_secret_access_key=seaweed.secret_key)
    prefix = f"aips/{dossier.aip_id}/"
    some_key = f"{prefix}bagit.txt"
    client.put_object(Bucket=bucket, Key=some_key, Body=b"an older version left by another tool")
    client.delete_object(Bucket=bucket, Key=f"{prefix}bag-info.txt")  # a delete marker over a version
    listed = client.list_object_versions(Bucket=bucket, Prefix=prefix)
    assert len(listed.get("Versions", [])) > len(dossier.files) and listed.get("DeleteMarkers")

    make_due(archive, [dossier.code])
    office = open_office(archive, so_noi_vu=False)
    code = office.approve([dossier.code])
    closed = make_settings(settings.home, [Location(id="local-a"),
                                           s3_location(seaweed, bucket, endpoint=f"http://127.0.0.1:{free_port()}")])
    down = open_archive(closed)
    sleeps: list[float] = []
    _, report = run_execution(down.catalog, office.workflow, code, ARCHIVIST,
                              StorageExecutor(down, retries=1, backoff_seconds=0.01, sleep=sleeps.append))
    (result,) = report.results
    assert result.outcome == ItemOutcome.FAILED and result.data["remaining_locations"] == ["s3-b"]
    assert sleeps == [0.01]
    assert dossier_row(archive, dossier.code).key_destroyed
    assert len(client.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", [])) > 0
    assert office.state(code) == ListState.PARTIALLY_DESTROYED

    (retry,) = retry_pending_destruction(archive)
    assert [item.outcome for item in retry.report.results] == [ItemOutcome.DESTROYED]
    after = client.list_object_versions(Bucket=bucket, Prefix=prefix)
    assert after.get("Versions", []) == [] and after.get("DeleteMarkers", []) == []
    assert objects(archive, dossier.aip_id) == {"local-a": 0, "s3-b": 0}
    assert dossier_row(archive, dossier.code).state == DossierState.DESTROYED
    assert_audit_ok(archive)
    archive.close()
    down.close()


# ---------------------------------------------------------------- PostgreSQL


def test_on_postgresql_the_touched_tables_are_vacuumed(postgres: Any, tmp_path: Path) -> None:
    schema = postgres.create_schema()
    try:
        settings = make_settings(tmp_path / "home", catalog_url=postgres.url(schema=schema))
        archive = open_archive(settings)
        dossier = ingest_generated(archive, 221, tmp_path)
        row = dossier_row(archive, dossier.code)
        order = ExecutionOrder(
            list_code="HUY-PG-1", agency_code=AGENCY, decided_by=HEAD, decided_at=system_clock(),
            execution_deadline=None, executor=ARCHIVIST, started_at=system_clock(),
            items=(ExecutionItem(row.id, row.code, row.aip_id, row.title),),
        )
        report = StorageExecutor(archive).execute(order)
        assert [result.outcome for result in report.results] == [ItemOutcome.DESTROYED]
        scrub = report.data["catalog_scrub"]
        assert scrub["ok"] and scrub["dialect"] == "postgresql" and "documents" in scrub["tables"]
        row = dossier_row(archive, dossier.code)
        assert row.state == DossierState.DESTROYED and row.wrapped_key is None
        assert count_rows(archive, DocumentRow, row.id) == 0
        assert_audit_ok(archive)
        archive.close()
    finally:
        postgres.drop_schema(schema)


# ---------------------------------------------------------------- the record's schema and a repeated order


def test_the_schema_refuses_a_record_that_does_not_hold_together(archive: Archive, home: Home) -> None:
    dossier = home.dossiers[2]
    row = dossier_row(archive, dossier.code)
    order = ExecutionOrder(
        list_code="HUY-TAY-1", agency_code=AGENCY, decided_by=HEAD, decided_at=system_clock(),
        execution_deadline=None, executor=ARCHIVIST, started_at=system_clock(),
        items=(ExecutionItem(row.id, row.code, row.aip_id, row.title),),
    )
    executor = StorageExecutor(archive)
    first = executor.execute(order)
    again = executor.execute(order)  # idempotent: already destroyed, nothing more to do
    assert [r.outcome for r in (*first.results, *again.results)] == [ItemOutcome.DESTROYED] * 2
    assert "already destroyed" in again.results[0].detail
    record = make_record(archive, order, first, [])
    xml = record.xml_path.read_bytes()
    assert validate_record_xml(xml) == []
    sha = next(iter(dossier.files.values()))
    assert validate_record_xml(xml.replace(sha.encode(), b"not-a-hash", 1)) != []
    assert validate_record_xml(xml.replace(b'outcome="destroyed"', b'outcome="gone"', 1)) != []
    assert validate_record_xml(xml.replace(b"+07:00</CreatedAt>", b"</CreatedAt>", 1)) != []


def _report(results: ExecutionReport) -> list[str]:
    return [result.outcome.value for result in results.results]


def test_the_pdf_extracts_back_to_vietnamese(archive: Archive, home: Home) -> None:
    dossier = home.dossiers[1]
    row = dossier_row(archive, dossier.code)
    title = row.title or ""
    order = ExecutionOrder(
        list_code="HUY-VN-1", agency_code=AGENCY, decided_by=HEAD, decided_at=system_clock(),
        execution_deadline=None, executor=ARCHIVIST, started_at=system_clock(),
        items=(ExecutionItem(row.id, row.code, row.aip_id, row.title),),
    )
    report = StorageExecutor(archive).execute(order)
    assert _report(report) == ["destroyed"]
    record = make_record(archive, order, report, [], place="Ninh Bình")
    with pikepdf.open(record.pdf_path) as document:
        assert len(document.pages) == record.pages >= 2
    text = pdf_text(record.pdf_path)
    for phrase in ("Ninh Bình, ngày", "Người thực hiện", "Danh sách hồ sơ đã hủy", "PHỤ LỤC",
                   "hủy khóa mã hóa dữ liệu", "Ủy ban nhân dân".upper()):
        assert phrase in text, phrase
    assert " ".join(title.split()[:4]) in text
