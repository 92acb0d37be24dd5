"""The hash-chained audit log (R-AU-1) on SQLite and PostgreSQL: append, verify, every kind of tampering."""

from __future__ import annotations

import itertools
import json
import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from archive_core.audit import (
    ANCHOR_FILE,
    GENESIS_HASH,
    Anchor,
    AuditEntry,
    AuditLog,
    TamperKind,
    entry_hash,
    read_anchor,
    verify_audit,
    write_anchor,
)
from archive_core.catalog import AuditRow, Catalog, CatalogError
from archive_core.settings import Settings, Storage
from archive_core.timeutil import VN_TZ

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 21, 9, 30, 15, 250000, tzinfo=VN_TZ)


class Ticking:
    """A clock that moves one second per call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def anchors(tmp_path: Path) -> Path:
    return tmp_path / "audit-anchors"


@pytest.fixture
def log(catalog: Catalog, anchors: Path) -> AuditLog:
    return AuditLog(catalog, anchors, clock=Ticking())


def fill(log: AuditLog, count: int = 6) -> list[AuditEntry]:
    return [
        log.append(f"archivist-{n % 2}", "dossier.view", "dossier", f"H49.64.33.2001.{n}",
                   {"n": n, "ip": "10.0.0.7", "note": "Xem hồ sơ “Tổ chức”"})
        for n in range(1, count + 1)
    ]


# ---------------------------------------------------------------- tampering helpers (an attacker with DDL rights)


def unprotect(catalog: Catalog) -> None:
    """Remove the append-only triggers, as someone with full database rights could."""
    with catalog.session() as session:
        if catalog.dialect == "postgresql":
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_log_extend_chain"):
                session.execute(text(f"DROP TRIGGER {trigger}"))


def tamper(catalog: Catalog, *statements: tuple[str, dict[str, Any]]) -> None:
    unprotect(catalog)
    with catalog.session() as session:
        for statement, params in statements:
            session.execute(text(statement), params)


def move(seq_from: int, seq_to: int) -> tuple[str, dict[str, Any]]:
    return "UPDATE audit_log SET seq = :to WHERE seq = :from", {"from": seq_from, "to": seq_to}


def forged_row(catalog: Catalog, seq: int, prev_hash: str) -> AuditRow:
    """A forged entry with a correct hash: the attacker knows the (public) hashing rule."""
    moment = T0 + timedelta(days=1)
    details = {"forged": True}
    digest = entry_hash(seq, moment, "attacker", "dossier.destroy", "dossier", "X", details, prev_hash)
    return AuditRow(seq=seq, time=moment, actor="attacker", action="dossier.destroy", object_type="dossier",
                    object_id="X", details=details, prev_hash=prev_hash, hash=digest)


def insert_forged(catalog: Catalog, seq: int, prev_hash: str) -> None:
    with catalog.session() as session:
        session.add(forged_row(catalog, seq, prev_hash))


# ---------------------------------------------------------------- appending and verifying


def test_append_builds_a_verifiable_chain(log: AuditLog, anchors: Path) -> None:
    assert log.verify().ok  # empty log, no anchor yet
    entries = fill(log, 5)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    first = entries[0]
    assert first.hash == entry_hash(1, first.time, first.actor, first.action, first.object_type, first.object_id,
                                    first.details, GENESIS_HASH)
    assert first.to_dict()["time"] == "2026-11-21T09:30:16+07:00"

    stored = log.entries()
    assert stored == entries  # times, details and hashes survive the database exactly
    assert [e.seq for e in log.entries(object_type="dossier", object_id="H49.64.33.2001.3")] == [3]

    report = log.verify()
    assert report.ok and report.kind is None
    assert (report.entries_checked, report.head_seq, report.anchor_seq) == (5, 5, 5)
    assert "toàn vẹn" in report.message_vi and "intact" in report.message_en

    anchor = read_anchor(anchors / ANCHOR_FILE)
    assert anchor is not None and (anchor.seq, anchor.hash) == (5, entries[-1].hash)
    head = log.head()
    assert head is not None and (head.seq, head.hash) == (5, entries[-1].hash)


def test_entry_commits_and_rolls_back_with_the_action(catalog: Catalog, log: AuditLog, anchors: Path) -> None:
    fill(log, 2)
    with pytest.raises(RuntimeError), catalog.session() as session:
        log.append_in(session, "archivist", "dossier.accept", "submission", "NL-1", {})
        raise RuntimeError("the action failed")
    anchor = read_anchor(anchors / ANCHOR_FILE)
    assert anchor is not None and anchor.seq == 2  # the anchor never saw the rolled-back entry
    with catalog.session() as session:
        first = log.append_in(session, "archivist", "dossier.accept", "submission", "NL-1", {"files": (1, 2)})
        second = log.append_in(session, "archivist", "dossier.archive", "dossier", "D-1", {})
    assert (first.seq, second.seq) == (3, 4)  # no gap left by the rollback
    assert first.details == {"files": [1, 2]}  # stored exactly as hashed
    anchor = read_anchor(anchors / ANCHOR_FILE)
    assert anchor is not None and (anchor.seq, anchor.hash) == (4, second.hash)
    assert log.verify().ok


def test_details_must_be_json(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.append("a", "b", "c", None, {"x": float("nan")})
    with pytest.raises(TypeError):
        log.append("a", "b", "c", None, {"x": object()})


def test_read_only_session_cannot_append(catalog: Catalog, log: AuditLog) -> None:
    with pytest.raises(CatalogError), catalog.session(readonly=True) as session:
        log.append_in(session, "a", "b", "c", None, {})


# ---------------------------------------------------------------- the database refuses changes


def test_database_refuses_update_delete_and_chain_breaking_insert(catalog: Catalog, log: AuditLog) -> None:
    entries = fill(log, 3)
    refused = [
        ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2", "append-only"),
        ("DELETE FROM audit_log WHERE seq = 3", "append-only"),
        ("DELETE FROM audit_log", "append-only"),
    ]
    if catalog.dialect == "postgresql":
        refused.append(("TRUNCATE audit_log", "append-only"))
    for statement, message in refused:
        with pytest.raises(DBAPIError, match=message), catalog.session() as session:
            session.execute(text(statement))
    for seq, prev_hash in ((5, entries[-1].hash), (4, "f" * 64), (3, entries[1].hash)):
        with pytest.raises(DBAPIError), catalog.session() as session:
            session.add(forged_row(catalog, seq, prev_hash))
    assert log.entries() == entries
    assert log.verify().ok


# ---------------------------------------------------------------- every kind of tampering is detected


def test_modified_field_is_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, ("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3", {}))
    report = log.verify()
    assert (report.ok, report.kind, report.first_bad_seq, report.entries_checked) == (
        False, TamperKind.MODIFIED, 3, 2)
    assert "số 3" in report.message_vi and "entry 3" in report.message_en


def test_modified_details_are_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, ("UPDATE audit_log SET details = :d WHERE seq = 4", {"d": json.dumps({"n": 40})}))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.MODIFIED, 4)


def test_modified_and_rehashed_entry_is_detected(catalog: Catalog, log: AuditLog) -> None:
    entries = fill(log)
    victim = entries[2]
    rehashed = entry_hash(victim.seq, victim.time, "someone else", victim.action, victim.object_type,
                          victim.object_id, victim.details, victim.prev_hash)
    tamper(catalog, ("UPDATE audit_log SET actor = 'someone else', hash = :h WHERE seq = 3", {"h": rehashed}))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.MODIFIED, 3)


def test_deleted_middle_entry_is_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, ("DELETE FROM audit_log WHERE seq = 3", {}))
    report = log.verify()
    assert (report.kind, report.first_bad_seq, report.entries_checked) == (TamperKind.DELETED, 3, 2)
    assert "thiếu bản ghi số 3" in report.message_vi


def test_deleted_entry_with_renumbered_successors_is_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, ("DELETE FROM audit_log WHERE seq = 3", {}), move(4, 3), move(5, 4), move(6, 5))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.DELETED, 3)


def test_forged_entry_inserted_in_the_middle_is_detected(catalog: Catalog, log: AuditLog) -> None:
    entries = fill(log)
    tamper(catalog, *(move(seq, seq + 1) for seq in range(6, 3, -1)))  # make room at 4
    insert_forged(catalog, 4, entries[2].hash)
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.INSERTED, 4)


def test_forged_entry_appended_at_the_end_is_detected_by_the_anchor(catalog: Catalog, log: AuditLog) -> None:
    entries = fill(log)
    unprotect(catalog)
    insert_forged(catalog, 7, entries[-1].hash)  # a valid chain: only the anchor knows better
    report = log.verify()
    assert (report.ok, report.kind, report.first_bad_seq, report.anchor_seq) == (False, TamperKind.INSERTED, 7, 6)
    assert AuditLog(catalog, None).verify().ok  # without the anchor the forgery would pass


def test_swapped_entries_are_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, move(3, -1), move(4, 3), move(-1, 4))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.REORDERED, 3)
    assert "Thứ tự" in report.message_vi


def test_distant_swap_is_detected(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, move(2, -1), move(5, 2), move(-1, 5))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.REORDERED, 2)


def test_truncated_tail_is_detected_by_the_anchor(catalog: Catalog, log: AuditLog) -> None:
    fill(log)
    tamper(catalog, ("DELETE FROM audit_log WHERE seq >= 5", {}))
    report = log.verify()
    assert (report.ok, report.kind, report.first_bad_seq, report.head_seq, report.anchor_seq) == (
        False, TamperKind.TRUNCATED, 5, 4, 6)
    assert "cắt bớt" in report.message_vi and "truncated" in report.message_en


def test_whole_log_deleted_is_detected_by_the_anchor(catalog: Catalog, log: AuditLog) -> None:
    fill(log, 2)
    tamper(catalog, ("DELETE FROM audit_log", {}))
    report = log.verify()
    assert (report.kind, report.first_bad_seq) == (TamperKind.TRUNCATED, 1)


def test_missing_anchor_is_reported(log: AuditLog, anchors: Path) -> None:
    fill(log, 2)
    (anchors / ANCHOR_FILE).unlink()
    report = log.verify()
    assert (report.ok, report.kind) == (False, TamperKind.UNANCHORED)


def test_rewritten_chain_is_detected_by_older_anchors(catalog: Catalog, log: AuditLog) -> None:
    """Every entry rewritten with valid hashes: an older anchor kept elsewhere (a storage location) disagrees."""
    entries = fill(log, 4)
    kept_on_storage = Anchor(entries[1].seq, entries[1].hash)
    unprotect(catalog)
    with catalog.session() as session:
        session.execute(text("DELETE FROM audit_log"))
        prev = GENESIS_HASH
        for entry in entries:
            row = forged_row(catalog, entry.seq, prev)
            session.add(row)
            session.flush()
            prev = row.hash
    assert AuditLog(catalog, None).verify().ok  # the chain alone is consistent again
    report = AuditLog(catalog, None).verify(extra_anchors=[kept_on_storage])
    assert (report.kind, report.first_bad_seq) == (TamperKind.MODIFIED, 2)
    assert "viết lại" in report.message_vi
    report = log.verify(extra_anchors=[kept_on_storage])  # and the local anchor (entry 4) disagrees too
    assert (report.kind, report.first_bad_seq) == (TamperKind.MODIFIED, 2)


def test_anchor_only_moves_forward(tmp_path: Path) -> None:
    assert write_anchor(tmp_path, Anchor(5, "a" * 64))
    assert not write_anchor(tmp_path, Anchor(4, "b" * 64))
    anchor = read_anchor(tmp_path / ANCHOR_FILE)
    assert anchor is not None and (anchor.seq, anchor.hash) == (5, "a" * 64)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


# ---------------------------------------------------------------- concurrency


def _append_many(url: str, anchors: str, actor: str, count: int, ready: Any) -> None:
    with Catalog(url) as catalog:
        log = AuditLog(catalog, Path(anchors))
        ready.wait(60)  # both writers start together, once both are imported and connected
        for n in range(count):
            log.append(actor, "search", "query", None, {"n": n})


def test_two_processes_appending_keep_one_chain(catalog_url: str, catalog: Catalog, anchors: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    count = 40
    workers = [
        context.Process(target=_append_many, args=(catalog_url, str(anchors), actor, count, ready))
        for actor in ("worker-a", "worker-b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    log = AuditLog(catalog, anchors)
    report = log.verify()
    assert report.ok, report.message_en
    assert (report.head_seq, report.anchor_seq) == (2 * count, 2 * count)
    entries = log.entries(limit=10_000)
    assert [e.seq for e in entries] == list(range(1, 2 * count + 1))
    actors = [e.actor for e in entries]
    assert actors.count("worker-a") == actors.count("worker-b") == count
    # interleaved, so the writers really did run at the same time
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches >= 1
    with catalog.session(readonly=True) as session:
        assert session.scalar(select(AuditRow.hash).where(AuditRow.seq == 2 * count)) == entries[-1].hash


# ---------------------------------------------------------------- command line helper


def test_verify_audit_uses_the_configured_catalog_and_anchor(catalog_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", storage=Storage(catalog_url=catalog_url))
    with Catalog(settings.catalog_url) as catalog:
        catalog.migrate()
        log = AuditLog(catalog, settings.home / "audit-anchors")
        fill(log, 3)
    report = verify_audit(settings)
    assert report.ok and report.head_seq == 3 and report.anchor_seq == 3
    assert report.to_dict()["kind"] is None
    (settings.home / "audit-anchors" / ANCHOR_FILE).unlink()
    assert verify_audit(settings).kind == TamperKind.UNANCHORED


def test_an_unwritable_anchor_does_not_undo_a_committed_entry(catalog: Catalog, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "anchors-file"
    not_a_folder.write_text("occupied")
    log = AuditLog(catalog, not_a_folder)
    entry = log.append("archivist", "dossier.archive", "dossier", "D-1", {})  # logs the failure, does not raise
    assert log.entries() == [entry]
    assert AuditLog(catalog, tmp_path / "elsewhere").verify().kind == TamperKind.UNANCHORED
