"""The catalog on SQLite and PostgreSQL: schema, dossiers, copies, idempotency, JSON, time zones."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from archive_core import codes
from archive_core.catalog import (
    Catalog,
    CatalogError,
    CopyRow,
    CopyState,
    DocumentRow,
    DossierRow,
    DossierState,
    EventRow,
    FileRow,
    SubmissionRow,
    SubmissionState,
    repo,
    tables,
)
from archive_core.catalog.database import normalise_url
from archive_core.findings import Finding, Severity
from archive_core.model import Document, DocumentKind, Dossier, DossierKind, FileRef, FileRole, Fonds, value_fields
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.timeutil import VN_TZ, iso_vn
from ingest.receipt import Receipt, Verdict

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 21, 15, 0, tzinfo=VN_TZ)
TABLES = {"fonds", "dossiers", "documents", "files", "copies", "submissions", "findings", "events", "audit_log"}


def receipt(submission_id: str = "NL-20261121-00000001", fingerprint: str | None = "f" * 64) -> Receipt:
    return Receipt(
        submission_id=submission_id, package_name="H49.64.33.2001.160.zip", package_kind="tt05-sip",
        agency_code="H49.64.33", agency_name="Sở Nội vụ tỉnh Đắk Lắk", dossier_codes=("H49.64.33.2001.160",),
        dossiers=1, documents=2, files=2, total_bytes=1234, received_at=T0, status=Verdict.ACCEPTED,
        fingerprint=fingerprint,
    )


def make_dossier(
    code: str = "H49.64.33.2001.160", *, end_date: str = "31/12/2015", maintenance: str = "10 năm"
) -> Dossier:
    documents = [
        Document(
            kind=DocumentKind.DOC, doc_code=f"{code}.000000{n}", subject=f"Quyết định số {n} về việc tổ chức",
            issued_date=f"0{n}/03/2015", number_of_page=str(n * 3), mode="01", confidence_level="Gốc điện tử",
            files=[FileRef(path=f"representations/rep1/data/{code}.{n}.pdf", size=100 * n, sha256=f"{n}" * 64)],
        )
        for n in (1, 2)
    ]
    return Dossier(
        kind=DossierKind.HOSO, file_code=code, title="Hồ sơ tổ chức cán bộ năm 2015", maintenance=maintenance,
        mode="01", start_date="01/01/2015", end_date=end_date,
        fonds=Fonds(identifier="H49", organ_id="H49.64.33", fond_name="Phông Sở Nội vụ"),
        documents=documents,
    )


def archive(
    catalog: Catalog,
    dossier: Dossier,
    *,
    aip_id: str,
    fingerprint: str | None = None,
    locations: tuple[str, ...] = ("copy-1", "copy-2"),
) -> int:
    """Ingest-like: pending dossier, files, verified copies on every location, then archived."""
    with catalog.session() as session:
        row = repo.add_dossier(session, dossier, aip_id=aip_id, fingerprint=fingerprint, wrapped_key=b"k" * 40,
                               master_key_id="master-1", clock=lambda: T0)
        files = [
            repo.FileEntry(path=f"data/representations/rep1/data/{n}.pdf", role=FileRole.ORIGINAL, size=100 * n,
                           sha256=f"{n}" * 64, mime="application/pdf", puid="fmt/354", document=n - 1)
            for n in range(1, len(dossier.documents) + 1)
        ]
        repo.add_files(session, row, files)
        copies = [
            repo.CopyEntry(location_id=location, path=file.path, object_key=f"aips/{aip_id}/{file.path}",
                           plain_size=file.size, stored_size=file.size + 60, stored_sha256="e" * 64,
                           written_at=T0, verified_at=T0)
            for location in locations for file in files
        ]
        repo.add_copies(session, row, copies)
        repo.mark_archived(session, row, min_copies=2, clock=lambda: T0 + timedelta(minutes=1))
        return row.id


# ---------------------------------------------------------------- schema


def test_migrate_from_empty_creates_the_schema_the_models_describe(catalog_url: str) -> None:
    with Catalog(catalog_url) as catalog:
        assert catalog.current_revision() is None
        catalog.migrate()
        assert catalog.current_revision() == catalog.head_revision() == "0004_merge"
        catalog.migrate()  # idempotent
        with catalog.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= TABLES
            differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)
        assert differences == []


def test_due_list_query_is_served_by_its_index(catalog: Catalog) -> None:
    query = repo.due_dossiers_query(date(2030, 1, 1))
    with catalog.session(readonly=True) as session:
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if catalog.dialect == "sqlite":
            plan = " ".join(str(row) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row) for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_dossiers_due" in plan


# ---------------------------------------------------------------- dossiers, files, copies


def test_dossier_with_documents_files_and_copies(catalog: Catalog) -> None:
    with catalog.session() as session:
        repo.add_submission(session, receipt())
    dossier_id = archive(catalog, make_dossier(), aip_id="aip-0001")
    with catalog.session(readonly=True) as session:
        row = session.get_one(DossierRow, dossier_id)
        assert row.state == DossierState.ARCHIVED
        assert (row.code, row.file_code, row.aip_id) == ("H49.64.33.2001.160", "H49.64.33.2001.160", "aip-0001")
        assert row.fonds is not None and row.fonds.organ_id == "H49.64.33"
        assert [d.doc_code for d in row.documents] == ["H49.64.33.2001.160.0000001", "H49.64.33.2001.160.0000002"]
        assert [d.page_count for d in row.documents] == [3, 6]
        assert row.documents[0].issued_on == date(2015, 3, 1)
        assert row.documents[0].confidence_level == "01"  # the code of "Gốc điện tử"
        assert [f.document_id for f in row.files] == [d.id for d in row.documents]
        assert repo.complete_locations(row) == ["copy-1", "copy-2"]
        assert session.scalar(select(CopyRow.id).where(CopyRow.aip_id == "aip-0001").limit(1)) is not None
        assert len(row.copies) == 4
        assert row.wrapped_key == b"k" * 40
        assert row.archived_at == T0 + timedelta(minutes=1)
        assert repo.get_dossier_by_aip(session, "aip-0001") is row


def test_mark_archived_requires_verified_copies_on_enough_locations(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="2 are required"):
        archive(catalog, make_dossier(), aip_id="aip-0002", locations=("copy-1",))
    with catalog.session(readonly=True) as session:
        assert session.scalar(select(DossierRow).where(DossierRow.aip_id == "aip-0002")) is None  # rolled back

    with catalog.session() as session:
        row = repo.add_dossier(session, make_dossier(), aip_id="aip-0003")
        entry = repo.FileEntry(path="data/a.pdf", role=FileRole.ORIGINAL, size=1, sha256="1" * 64, document=0)
        repo.add_files(session, row, [entry])
        for location, state in (("copy-1", CopyState.VERIFIED), ("copy-2", CopyState.WRITTEN)):
            repo.add_copies(session, row, [repo.CopyEntry(location, "data/a.pdf", f"{location}/a", 1, 61, "e" * 64,
                                                          state=state)])
        with pytest.raises(CatalogError):
            repo.mark_archived(session, row, min_copies=2)
        assert row.state == DossierState.PENDING
        assert [pending.aip_id for pending in repo.pending_dossiers(session)] == ["aip-0003"]


def test_least_recently_checked_copies_come_first(catalog: Catalog) -> None:
    dossier_id = archive(catalog, make_dossier(), aip_id="aip-0010")
    with catalog.session() as session:
        copies = session.scalars(select(CopyRow).where(CopyRow.dossier_id == dossier_id).order_by(CopyRow.id)).all()
        ages = [None, timedelta(days=3), timedelta(days=1), timedelta(days=10)]
        for copy, age in zip(copies, ages, strict=True):
            copy.last_fixity_at = None if age is None else T0 - age
        never, ten_days, three_days, one_day = copies[0].id, copies[3].id, copies[1].id, copies[2].id
        # a pending dossier's copies are not checked (they are not archived yet)
        pending = repo.add_dossier(session, make_dossier("H49.64.33.2001.161"), aip_id="aip-0011")
        repo.add_copies(session, pending, [repo.CopyEntry("copy-1", "data/x", "k/x", 1, 61, "e" * 64,
                                                          state=CopyState.WRITTEN)])
    with catalog.session() as session:
        order = [copy.id for copy in repo.least_recently_checked(session, 10)]
        assert order == [never, ten_days, three_days, one_day]
        assert [c.id for c in repo.least_recently_checked(session, 2)] == [never, ten_days]
        assert [c.id for c in repo.least_recently_checked(session, 10, checked_before=T0 - timedelta(days=2))] == [
            never, ten_days, three_days]
        copy_one = [c.location_id for c in repo.least_recently_checked(session, 10, location_id="copy-1")]
        assert copy_one == ["copy-1", "copy-1"]
        checked = session.get_one(CopyRow, never)
        repo.record_fixity(session, checked, outcome=Outcome.SUCCESS, at=T0)
        repo.record_fixity(session, session.get_one(CopyRow, ten_days), outcome=Outcome.FAILURE, at=T0)
    with catalog.session(readonly=True) as session:
        assert [c.id for c in repo.least_recently_checked(session, 10)] == [three_days, one_day, never, ten_days]
        assert session.get_one(CopyRow, ten_days).state == CopyState.CORRUPT


# ---------------------------------------------------------------- idempotency (R-IN-3)


def test_the_same_content_is_held_once(catalog: Catalog) -> None:
    fingerprint = "a" * 64
    with catalog.session() as session:
        repo.add_submission(session, receipt("NL-20261121-00000001", fingerprint))
        repo.add_submission(session, receipt("NL-20261121-00000002", fingerprint))
    first = archive(catalog, make_dossier(), aip_id="aip-0020", fingerprint=fingerprint)
    with catalog.session(readonly=True) as session:
        assert {s.id for s in repo.submissions_by_fingerprint(session, fingerprint)} == {
            "NL-20261121-00000001", "NL-20261121-00000002"}
        found = repo.find_live_dossier_by_fingerprint(session, fingerprint)
        assert found is not None and found.id == first
        assert [d.id for d in repo.dossiers_by_code(session, "H49.64.33.2001.160")] == [first]

    with pytest.raises(IntegrityError), catalog.session() as session:
        repo.add_dossier(session, make_dossier(), aip_id="aip-0021", fingerprint=fingerprint)

    with catalog.session() as session:
        session.get_one(DossierRow, first).state = DossierState.DESTROYED
    second = archive(catalog, make_dossier(), aip_id="aip-0022", fingerprint=fingerprint)
    with catalog.session(readonly=True) as session:
        found = repo.find_live_dossier_by_fingerprint(session, fingerprint)
        assert found is not None and found.id == second


# ---------------------------------------------------------------- lossless JSON


def every_field_filled(cls: type, prefix: str) -> dict[str, str]:
    return {name: f"{prefix}·{name}·Đặng Thị Hồng Nhung “ngoặc” \\ / \u00a0 ✓" for name in value_fields(cls)}


def test_model_round_trips_losslessly(catalog: Catalog) -> None:
    documents = [
        Document(
            kind=kind, **every_field_filled(Document, f"doc{n}"),
            files=[FileRef(path=f"files/{n}/tệp {n}.pdf", role=role, size=2**40 + n, sha256="ab" * 32,
                           mimetype="application/pdf", created="2015-03-01T08:00:00+07:00", file_id=f"FILE-{n}")
                   for role in (FileRole.ORIGINAL, FileRole.PRESERVATION)],
        )
        for n, kind in enumerate(DocumentKind)
    ]
    original = Dossier(kind=DossierKind.TAILIEU, **every_field_filled(Dossier, "hs"),
                       fonds=Fonds(**every_field_filled(Fonds, "ph")), documents=documents)
    with catalog.session() as session:
        dossier_id = repo.add_dossier(session, original, aip_id="aip-0030").id
    with catalog.session(readonly=True) as session:
        loaded = repo.load_dossier_model(session.get_one(DossierRow, dossier_id))
    assert loaded == original
    assert dataclasses.asdict(loaded) == dataclasses.asdict(original)
    assert [d.kind for d in loaded.documents] == list(DocumentKind)


# ---------------------------------------------------------------- time zones


def test_times_are_stored_in_utc_and_read_back_in_vietnam_time(catalog: Catalog) -> None:
    morning_hanoi = datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=VN_TZ)  # 03:00:00.123456Z
    early_london = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # later, although its wall clock reads earlier
    other_zone = datetime(2026, 1, 5, 0, 30, tzinfo=timezone(timedelta(hours=-5)))  # 05:30Z, latest
    with catalog.session() as session:
        for n, moment in enumerate((other_zone, early_london, morning_hanoi)):
            repo.add_submission(session, dataclasses.replace(receipt(f"NL-20260105-0000000{n}"), received_at=moment))
    with catalog.session(readonly=True) as session:
        rows = session.scalars(select(SubmissionRow).order_by(SubmissionRow.received_at)).all()
        assert [row.received_at for row in rows] == [morning_hanoi, early_london, other_zone]
        assert all(row.received_at.utcoffset() == timedelta(hours=7) for row in rows)
        assert iso_vn(rows[0].received_at) == "2026-01-05T10:00:00+07:00"
        assert rows[0].received_at.microsecond == 123456
        if catalog.dialect == "sqlite":
            raw = session.execute(text("SELECT received_at FROM submissions ORDER BY received_at")).scalars().all()
            assert raw[0].startswith("2026-01-05 03:00:00.123456")
        else:
            raw = session.execute(
                text("SELECT to_char(received_at AT TIME ZONE 'UTC', 'HH24:MI') FROM submissions ORDER BY 1")
            ).scalars().all()
            assert raw == ["03:00", "04:00", "05:30"]
        since = session.scalars(select(SubmissionRow.id).where(SubmissionRow.received_at > early_london)).all()
        assert since == ["NL-20260105-00000000"]


def test_naive_times_are_refused(catalog: Catalog) -> None:
    with pytest.raises(StatementError, match="naive datetime"), catalog.session() as session:
        row = repo.add_submission(session, receipt())
        row.finished_at = datetime(2026, 1, 1, 8, 0)
        session.flush()


# ---------------------------------------------------------------- gate outcome, events, sessions


def test_gate_outcome_keeps_findings_and_events(catalog: Catalog) -> None:
    finding = Finding(code="CK-FIXITY-MISMATCH", severity=Severity.ERROR, rule="R-CK-1",
                      message_vi="Mã băm không khớp: a.pdf", message_en="Checksum mismatch: a.pdf", path="a.pdf")
    checked = event(EventType.FIXITY_CHECK, Agent("earchive.gate", "1.0"), Outcome.FAILURE, "SHA-256 of every file",
                    objects=("a.pdf",), clock=lambda: T0)
    with catalog.session() as session:
        repo.add_submission(session, receipt())
        row = repo.record_gate_outcome(session, receipt().submission_id, verdict="rejected", findings=[finding],
                                       events=[checked], finished_at=T0 + timedelta(seconds=5))
        assert row.state == SubmissionState.REJECTED
    with catalog.session(readonly=True) as session:
        stored = session.get_one(SubmissionRow, receipt().submission_id)
        assert [(f.code, f.severity, f.path, f.message_vi) for f in stored.findings] == [
            ("CK-FIXITY-MISMATCH", Severity.ERROR, "a.pdf", "Mã băm không khớp: a.pdf")]
        assert stored.receipt["agency_name"] == "Sở Nội vụ tỉnh Đắk Lắk"
        events = session.scalars(select(EventRow).where(EventRow.submission_id == stored.id)).all()
        assert [(e.identifier, e.type, e.outcome, e.objects, e.time) for e in events] == [
            (checked.identifier, "fixity check", Outcome.FAILURE, ["a.pdf"], T0)]


def test_sessions_commit_roll_back_and_stay_read_only(catalog: Catalog) -> None:
    with pytest.raises(RuntimeError), catalog.session() as session:
        repo.add_submission(session, receipt())
        raise RuntimeError("step failed")
    with catalog.session(readonly=True) as session:
        assert session.scalar(select(SubmissionRow.id)) is None
    with pytest.raises(DBAPIError), catalog.session(readonly=True) as session:
        repo.add_submission(session, receipt())
    with catalog.session() as session:  # the connection is writable again after a read-only transaction
        repo.add_submission(session, receipt())
        repo.set_submission_state(session, receipt().submission_id, SubmissionState.FAILED, error="disk full")
    with catalog.session(readonly=True) as session:
        row = session.get_one(SubmissionRow, receipt().submission_id)
        assert (row.state, row.error) == (SubmissionState.FAILED, "disk full")


# ---------------------------------------------------------------- retention (R-RT-1, R-RT-3, R-RT-4)


def test_due_list_follows_retention_holds_and_state(catalog: Catalog) -> None:
    cases = {
        "ten-years": ("31/12/2015", "10 năm"),  # due 2026-01-01
        "code-06": ("2014", "06"),  # 10 years from 2014: due 2025-01-01
        "twenty": ("05/2015", "20 năm"),  # due 2036-01-01
        "permanent": ("31/12/1990", "Vĩnh viễn"),
        "unknown": ("31/12/1990", "đến khi văn bản hết hiệu lực"),
        "held": ("31/12/2010", "05"),
    }
    ids = {name: archive(catalog, make_dossier(f"H49.64.33.2001.{n}", end_date=end, maintenance=keep),
                         aip_id=f"aip-{name}")
           for n, (name, (end, keep)) in enumerate(cases.items())}
    with catalog.session() as session:
        repo.set_legal_hold(session, session.get_one(DossierRow, ids["held"]), True)
        repo.add_dossier(session, make_dossier("H49.64.33.2001.99", end_date="2000", maintenance="10"),
                         aip_id="aip-pending")  # pending: never listed
    with catalog.session(readonly=True) as session:
        rows = {name: session.get_one(DossierRow, dossier_id) for name, dossier_id in ids.items()}
        assert rows["ten-years"].retention_due == date(2026, 1, 1)
        assert (rows["ten-years"].retention_years, rows["ten-years"].maintenance_code) == (10, "06")
        assert rows["code-06"].retention_due == date(2025, 1, 1)
        assert rows["twenty"].end_on == date(2015, 5, 31) and rows["twenty"].retention_due == date(2036, 1, 1)
        assert rows["permanent"].retention_permanent and rows["permanent"].retention_due is None
        assert rows["unknown"].retention_due is None and rows["unknown"].maintenance_code == "07"

        due = [row.aip_id for row in repo.due_dossiers(session, date(2026, 6, 1))]
        assert due == ["aip-code-06", "aip-ten-years"]
        assert [row.aip_id for row in repo.due_dossiers(session, date(2025, 12, 1))] == ["aip-code-06"]
        # R-RT-3: 30 days' notice
        notice = repo.due_dossiers(session, date(2025, 12, 15), notice_days=30)
        assert [row.aip_id for row in notice] == ["aip-code-06", "aip-ten-years"]
        assert [row.aip_id for row in repo.due_dossiers(session, date(2026, 6, 1), limit=1, offset=1)] == [
            "aip-ten-years"]
    with catalog.session() as session:  # R-RT-5: an appraisal extends the period
        repo.set_retention(session.get_one(DossierRow, ids["ten-years"]), 20)
        repo.set_retention(session.get_one(DossierRow, ids["code-06"]), codes.PERMANENT)
    with catalog.session(readonly=True) as session:
        assert repo.due_dossiers(session, date(2026, 6, 1)) == []


@pytest.mark.parametrize(
    ("text_value", "span"),
    [
        ("31/12/2015", (date(2015, 12, 31), date(2015, 12, 31))),
        ("02/2016", (date(2016, 2, 1), date(2016, 2, 29))),
        ("12/2015", (date(2015, 12, 1), date(2015, 12, 31))),
        (" 2001 ", (date(2001, 1, 1), date(2001, 12, 31))),
        ("2015-03-01", (date(2015, 3, 1), date(2015, 3, 1))),
        ("31/02/2015", None),
        ("0999", None),
        ("năm 2015", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_span(text_value: str | None, span: tuple[date, date] | None) -> None:
    assert repo.parse_date_span(text_value) == span


def test_retention_due_date_rule() -> None:
    assert repo.retention_due_date(2015, 10) == date(2026, 1, 1)
    assert repo.retention_due_date(2015, None) is None
    assert repo.retention_due_date(None, 10) is None
    assert repo.retention_due_date(9990, 70) is None


def test_documents_keep_their_order(catalog: Catalog) -> None:
    dossier = make_dossier()
    dossier.documents.reverse()
    with catalog.session() as session:
        dossier_id = repo.add_dossier(session, dossier, aip_id="aip-0040").id
    with catalog.session(readonly=True) as session:
        positions = session.execute(
            select(DocumentRow.position, DocumentRow.doc_code).where(DocumentRow.dossier_id == dossier_id)
            .order_by(DocumentRow.position)
        ).all()
        assert [code for _, code in positions] == [d.doc_code for d in dossier.documents]
        assert session.scalar(select(FileRow.id)) is None


def test_urls_are_normalised_and_sqlite_folders_created(tmp_path: Path) -> None:
    assert normalise_url("postgresql://u@h:5432/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    with Catalog(f"sqlite:///{tmp_path / 'deep' / 'er' / 'catalog.sqlite'}") as catalog:
        catalog.migrate()
        assert (tmp_path / "deep" / "er" / "catalog.sqlite").is_file()
        assert "catalog.sqlite" in repr(catalog)
    with Catalog("sqlite://") as memory:  # one shared in-memory database for the whole catalog
        memory.migrate()
        with memory.session() as session:
            repo.add_submission(session, receipt())
        with memory.session(readonly=True) as session:
            assert session.scalar(select(SubmissionRow.id)) == receipt().submission_id
