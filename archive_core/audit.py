"""Append-only, hash-chained audit log (R-AU-1), kept in the catalog's `audit_log` table.

Each entry carries `hash = SHA-256(canonical JSON of seq, time, actor, action,
object_type, object_id, details, prev_hash)`, where `prev_hash` is the previous
entry's hash (64 zeros for the first). `seq` runs 1, 2, 3 … without gaps: it is
taken under a lock in the same transaction as the entry, so an action and its
audit entry commit (or roll back) together and two writers never fork the chain.

A chain alone cannot show that its newest entries were cut off, nor that one
was forged at its end. After every commit that appended entries, the head
(seq, hash) is therefore written atomically to `<anchors_dir>/head.json`, which
lives outside the database (and the pipeline copies it to every storage
location). `verify()` walks the chain and compares it with the anchors.

The check needs nothing secret: an inspector can recompute every hash from the
rows with `entry_hash`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from archive_core.catalog.database import Catalog, CatalogError, session_is_readonly
from archive_core.catalog.models import AuditRow
from archive_core.settings import Settings
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
ANCHOR_FILE = "head.json"
ANCHOR_FORMAT = "earchive-audit-anchor/1"
POSTGRESQL_LOCK_KEY = 0x6561726368697665
"""Advisory lock id ("earchive" in ASCII) that serialises appends on PostgreSQL."""
REORDER_WINDOW = 64
"""How far from its position a moved entry is looked for when classifying a broken chain."""
_PENDING_ANCHORS = "earchive_audit_pending_anchors"


# ---------------------------------------------------------------- entries and hashes


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def hashed_time(moment: datetime) -> str:
    """The form of an entry's time inside its hash: +07:00 with microseconds (what both databases keep)."""
    return to_vn(moment).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": hashed_time(self.time),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self, *, seq: int | None = None) -> str:
        """The hash this entry should have (at position `seq`, by default its own)."""
        fields = self.hashed_fields()
        if seq is not None:
            fields["seq"] = seq
        return hashlib.sha256(canonical_json(fields)).hexdigest()

    @property
    def intact(self) -> bool:
        return self.computed_hash() == self.hash

    def to_dict(self) -> dict[str, Any]:
        return {**self.hashed_fields(), "time": iso_vn(self.time), "hash": self.hash}

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(
            seq=row.seq, time=row.time, actor=row.actor, action=row.action, object_type=row.object_type,
            object_id=row.object_id, details=row.details, prev_hash=row.prev_hash, hash=row.hash,
        )


def entry_hash(
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    entry = AuditEntry(seq, time, actor, action, object_type, object_id, dict(details), prev_hash, "")
    return entry.computed_hash()


# ---------------------------------------------------------------- anchors


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at some moment, kept outside the database."""

    seq: int
    hash: str
    written_at: str = ""

    def to_json(self) -> bytes:
        data = {"format": ANCHOR_FORMAT, "seq": self.seq, "hash": self.hash, "written_at": self.written_at}
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Anchor:
        parsed = json.loads(data)
        if not isinstance(parsed, dict) or parsed.get("format") != ANCHOR_FORMAT:
            raise ValueError(f"not an {ANCHOR_FORMAT} document")
        seq, digest = parsed.get("seq"), parsed.get("hash")
        if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str) or len(digest) != 64:
            raise ValueError("anchor without a valid seq and hash")
        return cls(seq=seq, hash=digest, written_at=str(parsed.get("written_at", "")))


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`; None when there is no file. A damaged file raises ValueError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return Anchor.from_json(data)


def write_anchor(anchors_dir: Path, anchor: Anchor) -> bool:
    """Atomically replace `head.json` if `anchor` is newer; False when a newer one is already there.

    Writers in several processes serialise on a lock file, and the anchor only
    moves forward, so the last writer never puts back an older head.
    """
    anchors_dir.mkdir(parents=True, exist_ok=True)
    with _locked(anchors_dir / "head.lock"):
        target = anchors_dir / ANCHOR_FILE
        current = _read_anchor_leniently(target)
        if current is not None and current.seq >= anchor.seq:
            return False
        _atomic_write(target, anchor.to_json())
        return True


def _read_anchor_leniently(path: Path) -> Anchor | None:
    try:
        return read_anchor(path)
    except ValueError:
        return None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _atomic_write(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# ---------------------------------------------------------------- verification report


class TamperKind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    UNANCHORED = "unanchored"
    """No anchor to compare with although the log has entries: truncation cannot be ruled out."""


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries_checked: int
    head_seq: int
    """Seq of the newest entry in the database (0 for an empty log)."""
    first_bad_seq: int | None
    kind: TamperKind | None
    message_vi: str
    message_en: str
    anchor_seq: int | None = None
    """Seq recorded by the newest anchor compared with, if any."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "head_seq": self.head_seq,
            "first_bad_seq": self.first_bad_seq,
            "kind": self.kind.value if self.kind else None,
            "anchor_seq": self.anchor_seq,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


_MESSAGES: dict[TamperKind, tuple[str, str]] = {
    TamperKind.MODIFIED: (
        "Bản ghi số {seq} của nhật ký kiểm toán đã bị sửa đổi: mã băm không khớp với nội dung.",
        "Audit entry {seq} was modified: its hash does not match its content.",
    ),
    TamperKind.DELETED: (
        "Nhật ký kiểm toán bị xóa bản ghi: thiếu bản ghi số {seq}.",
        "Audit entries were deleted: entry {seq} is missing.",
    ),
    TamperKind.INSERTED: (
        "Bản ghi số {seq} bị chèn vào nhật ký kiểm toán: không thuộc chuỗi băm gốc.",
        "Audit entry {seq} was inserted: it is not part of the original hash chain.",
    ),
    TamperKind.REORDERED: (
        "Thứ tự nhật ký kiểm toán bị thay đổi tại bản ghi số {seq}.",
        "Audit entries were reordered at entry {seq}.",
    ),
    TamperKind.TRUNCATED: (
        "Nhật ký kiểm toán bị cắt bớt: mốc neo ghi nhận {anchor} bản ghi nhưng cơ sở dữ liệu chỉ còn {head}.",
        "Audit log truncated: the anchor records {anchor} entries but the database holds only {head}.",
    ),
    TamperKind.UNANCHORED: (
        "Không có mốc neo ({path}) cho {head} bản ghi: không thể loại trừ việc cắt bớt nhật ký kiểm toán.",
        "No anchor ({path}) for {head} entries: truncation of the audit log cannot be ruled out.",
    ),
}
_ANCHOR_REWRITTEN = (
    "Bản ghi số {seq} không khớp với mốc neo: nhật ký kiểm toán đã bị viết lại.",
    "Audit entry {seq} does not match the anchor: the log was rewritten.",
)
_PAST_ANCHOR = (
    "Các bản ghi từ số {seq} đến {head} nằm sau mốc neo (bản ghi {anchor}): bị chèn thêm, "
    "hoặc được ghi mà không cập nhật mốc neo.",
    "Entries {seq} to {head} are past the anchor (entry {anchor}): inserted, or written without "
    "updating the anchor.",
)
_INTACT = (
    "Nhật ký kiểm toán toàn vẹn: {head} bản ghi, chuỗi băm hợp lệ{anchored_vi}.",
    "Audit log intact: {head} entries, hash chain valid{anchored_en}.",
)


def _report(
    kind: TamperKind | None,
    *,
    checked: int,
    head: int,
    seq: int | None = None,
    anchor: Anchor | None = None,
    template: tuple[str, str] | None = None,
    **params: Any,
) -> AuditReport:
    if template is None:
        template = _MESSAGES[kind] if kind is not None else _INTACT
    values = {"seq": seq, "head": head, "anchor": anchor.seq if anchor else None, **params}
    return AuditReport(
        ok=kind is None,
        entries_checked=checked,
        head_seq=head,
        first_bad_seq=seq,
        kind=kind,
        message_vi=template[0].format(**values),
        message_en=template[1].format(**values),
        anchor_seq=anchor.seq if anchor else None,
    )


# ---------------------------------------------------------------- the log


@dataclass
class _Walk:
    """Result of walking the chain in seq order up to the first break."""

    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    broken: AuditEntry | None = None
    hashes_at: dict[int, str] = field(default_factory=dict)
    """Hashes of the entries at the anchored positions."""


class AuditLog:
    """The audit log of `catalog`; `anchors_dir` (normally `<home>/audit-anchors`) holds the head anchor.

    Every process that appends must use the same `anchors_dir`: an append made
    without it leaves the head past the anchor, which `verify()` reports.
    """

    def __init__(self, catalog: Catalog, anchors_dir: Path | None = None, *, clock: Clock = system_clock) -> None:
        self.catalog = catalog
        self.anchors_dir = anchors_dir
        self.clock = clock

    @property
    def anchor_path(self) -> Path | None:
        return self.anchors_dir / ANCHOR_FILE if self.anchors_dir is not None else None

    # ------------------------------------------------------------ appending

    def append(
        self, actor: str, action: str, object_type: str, object_id: str | None, details: Mapping[str, Any]
    ) -> AuditEntry:
        """Append one entry in its own transaction."""
        with self.catalog.session() as session:
            return self.append_in(session, actor, action, object_type, object_id, details)

    def append_in(
        self,
        session: Session,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None,
        details: Mapping[str, Any],
    ) -> AuditEntry:
        """Append one entry inside the caller's transaction: it commits or rolls back with the action.

        The chain stays locked until that transaction ends, so keep it short.
        The anchor is written after the commit.
        """
        if session_is_readonly(session):
            raise CatalogError("the audit log cannot be written from a read-only session")
        # Stored exactly as hashed: JSON turns tuples into lists and keys into strings.
        stored_details: dict[str, Any] = json.loads(canonical_json(dict(details)))
        self._lock_chain(session)
        head = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
        seq, prev_hash = (head[0] + 1, head[1]) if head is not None else (1, GENESIS_HASH)
        moment = self.clock()
        entry = AuditEntry(
            seq=seq, time=moment, actor=actor, action=action, object_type=object_type, object_id=object_id,
            details=stored_details, prev_hash=prev_hash, hash="",
        )
        entry = replace(entry, hash=entry.computed_hash())
        session.add(
            AuditRow(
                seq=entry.seq, time=entry.time, actor=actor, action=action, object_type=object_type,
                object_id=object_id, details=stored_details, prev_hash=prev_hash, hash=entry.hash,
            )
        )
        session.flush()
        self._anchor_after_commit(session, Anchor(entry.seq, entry.hash))
        return entry

    def _lock_chain(self, session: Session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRESQL_LOCK_KEY})
        # SQLite: `Catalog.session()` began with BEGIN IMMEDIATE, so this transaction is the only writer.

    def _anchor_after_commit(self, session: Session, anchor: Anchor) -> None:
        if self.anchors_dir is None:
            return
        pending: dict[Path, Anchor] | None = session.info.get(_PENDING_ANCHORS)
        if pending is None:
            pending = session.info[_PENDING_ANCHORS] = {}
            event.listen(session, "after_commit", _write_pending_anchors)
            event.listen(session, "after_rollback", _forget_pending_anchors)
        known = pending.get(self.anchors_dir)
        if known is None or anchor.seq > known.seq:
            pending[self.anchors_dir] = anchor

    # ------------------------------------------------------------ reading

    def head(self) -> Anchor | None:
        """The newest entry's (seq, hash), or None for an empty log."""
        with self.catalog.session(readonly=True) as session:
            row = session.execute(
                select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
            ).first()
        return Anchor(row[0], row[1], iso_vn(self.clock())) if row is not None else None

    def entries(
        self, *, object_type: str | None = None, object_id: str | None = None, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEntry]:
        """Entries in seq order, optionally those of one object (its history)."""
        query = select(AuditRow).where(AuditRow.seq > after_seq)
        if object_type is not None:
            query = query.where(AuditRow.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditRow.object_id == object_id)
        with self.catalog.session(readonly=True) as session:
            rows = session.scalars(query.order_by(AuditRow.seq).limit(limit))
            return [AuditEntry.from_row(row) for row in rows]

    # ------------------------------------------------------------ verification

    def verify(self, *, extra_anchors: Iterable[Anchor] = ()) -> AuditReport:
        """Check every hash and link, then the head against the anchors.

        `extra_anchors` are older copies (e.g. from storage locations): each must
        match the chain and none may be past its head. Only the local anchor,
        updated after every commit, must also equal the head.
        """
        # The anchor is read before the rows: an append in between only moves the database ahead.
        local = read_anchor(self.anchor_path) if self.anchor_path is not None else None
        anchors = [*extra_anchors, *([local] if local is not None else [])]
        with self.catalog.session(readonly=True) as session:
            walk = self._walk(session, {anchor.seq for anchor in anchors})
            if walk.broken is not None:
                return self._classify(session, walk, walk.broken)
        return self._check_anchors(walk, anchors, local)

    def _walk(self, session: Session, anchored: set[int]) -> _Walk:
        walk = _Walk()
        columns = (AuditRow.seq, AuditRow.time, AuditRow.actor, AuditRow.action, AuditRow.object_type,
                   AuditRow.object_id, AuditRow.details, AuditRow.prev_hash, AuditRow.hash)
        rows = session.execute(select(*columns).order_by(AuditRow.seq).execution_options(yield_per=2000))
        for row in rows:
            entry = AuditEntry(*row)
            if entry.seq != walk.head_seq + 1 or entry.prev_hash != walk.head_hash or not entry.intact:
                walk.broken = entry
                break
            walk.checked += 1
            walk.head_seq, walk.head_hash = entry.seq, entry.hash
            if entry.seq in anchored:
                walk.hashes_at[entry.seq] = entry.hash
        rows.close()
        return walk

    def _classify(self, session: Session, walk: _Walk, entry: AuditEntry) -> AuditReport:
        """Name the first break: what happened to the chain just before `entry`."""
        expected = walk.head_seq + 1
        head = self._db_head(session)
        if entry.seq > expected:
            return _report(TamperKind.DELETED, checked=walk.checked, head=head, seq=expected)
        if entry.seq < expected:
            return _report(TamperKind.INSERTED, checked=walk.checked, head=head, seq=entry.seq)
        predecessor = self._seq_of_hash(session, entry.prev_hash)
        if not entry.intact:
            genuine = self._genuine_seq(entry, predecessor)
            if genuine is None:
                kind, seq = TamperKind.MODIFIED, entry.seq
            elif predecessor is not None and predecessor > entry.seq:
                kind, seq = TamperKind.REORDERED, entry.seq
            elif genuine > entry.seq:
                # Later entries were renumbered to close the gap left by a deletion.
                kind, seq = TamperKind.DELETED, entry.seq
            else:
                # Later entries were renumbered to make room for a forged one.
                kind, seq = TamperKind.INSERTED, genuine
            return _report(kind, checked=walk.checked, head=head, seq=seq)
        # The entry is intact but does not follow the one before it.
        if predecessor is None:
            kind, seq = TamperKind.MODIFIED, max(1, entry.seq - 1)
        elif predecessor > entry.seq:
            kind, seq = TamperKind.REORDERED, entry.seq
        else:
            kind, seq = TamperKind.INSERTED, predecessor + 1
        return _report(kind, checked=walk.checked, head=head, seq=seq)

    @staticmethod
    def _db_head(session: Session) -> int:
        seq = session.scalar(select(AuditRow.seq).order_by(AuditRow.seq.desc()).limit(1))
        return int(seq or 0)

    @staticmethod
    def _seq_of_hash(session: Session, digest: str) -> int | None:
        if digest == GENESIS_HASH:
            return 0
        seq = session.scalar(select(AuditRow.seq).where(AuditRow.hash == digest))
        return int(seq) if seq is not None else None

    @staticmethod
    def _genuine_seq(entry: AuditEntry, predecessor: int | None) -> int | None:
        """The position at which this entry's own hash is right, if it was moved rather than altered."""
        candidates = [predecessor + 1] if predecessor is not None else []
        candidates += range(max(1, entry.seq - REORDER_WINDOW), entry.seq + REORDER_WINDOW + 1)
        for seq in candidates:
            if seq != entry.seq and entry.computed_hash(seq=seq) == entry.hash:
                return seq
        return None

    def _check_anchors(self, walk: _Walk, anchors: list[Anchor], local: Anchor | None) -> AuditReport:
        head, checked = walk.head_seq, walk.checked
        newest = max(anchors, key=lambda anchor: anchor.seq, default=None)
        if newest is not None and newest.seq > head:
            return _report(TamperKind.TRUNCATED, checked=checked, head=head, seq=head + 1, anchor=newest)
        for anchor in sorted(anchors, key=lambda item: item.seq):
            expected = walk.hashes_at.get(anchor.seq, GENESIS_HASH if anchor.seq == 0 else None)
            if expected != anchor.hash:
                return _report(
                    TamperKind.MODIFIED, checked=checked, head=head, seq=max(1, anchor.seq), anchor=anchor,
                    template=_ANCHOR_REWRITTEN,
                )
        if self.anchors_dir is not None:
            if local is None and head > 0:
                return _report(TamperKind.UNANCHORED, checked=checked, head=head, seq=1, path=self.anchor_path)
            if local is not None and local.seq < head:
                return _report(
                    TamperKind.INSERTED, checked=checked, head=head, seq=local.seq + 1, anchor=local,
                    template=_PAST_ANCHOR,
                )
        anchored_vi = f", khớp mốc neo (bản ghi {newest.seq})" if newest is not None else ", chưa đối chiếu mốc neo"
        anchored_en = f", matches the anchor (entry {newest.seq})" if newest is not None else ", no anchor compared"
        return _report(
            None, checked=checked, head=head, anchor=newest, anchored_vi=anchored_vi, anchored_en=anchored_en
        )


def _write_pending_anchors(session: Session) -> None:
    pending: dict[Path, Anchor] = session.info.pop(_PENDING_ANCHORS, {})
    session.info[_PENDING_ANCHORS] = {}
    written_at = iso_vn(system_clock())
    for anchors_dir, anchor in pending.items():
        try:
            write_anchor(anchors_dir, Anchor(anchor.seq, anchor.hash, written_at))
        except OSError:
            # The entries are committed: raising here would report a committed action as failed.
            # The anchor stays behind until the next append, and `verify()` shows it meanwhile.
            log.exception("audit anchor %s could not be written (head %d)", anchors_dir, anchor.seq)


def _forget_pending_anchors(session: Session) -> None:
    session.info[_PENDING_ANCHORS] = {}


# ---------------------------------------------------------------- command line helper


def anchors_dir_for(settings: Settings) -> Path:
    return settings.home / "audit-anchors"


def open_audit_log(settings: Settings, catalog: Catalog | None = None) -> AuditLog:
    """The audit log of the configured catalog, anchored in `<home>/audit-anchors`."""
    return AuditLog(catalog or Catalog(settings.catalog_url), anchors_dir_for(settings))


def verify_audit(settings: Settings) -> AuditReport:
    """`earchive audit verify`: check the configured catalog's audit log against its anchor."""
    catalog = Catalog(settings.catalog_url)
    try:
        return open_audit_log(settings, catalog).verify()
    finally:
        catalog.dispose()
