"""Backup of the catalog, keys, metadata XML and audit anchors (R-ST-4), and restore into an empty data home.

What a backup folder holds (`docs/backup.md` has the whole story):

```
<out>/manifest.json                 format, time, versions, counts, audit head, SHA-256 + size of every file below
<out>/catalog/catalog.sqlite        SQLite: online-backup snapshot, wrapped data keys removed, VACUUMed
<out>/catalog/<table>.jsonl         PostgreSQL: logical export of every table, one consistent snapshot
<out>/metadata/<aip_id>.xml         Circular 02 XML of every archived dossier with its documents (R-ST-4)
<out>/audit/head.json               the audit anchor as it was when the backup began
<out>/objects/...                   only with include_objects (the monthly full backup): encrypted objects
<out>/keys/wrapped-keys.json        the wrapped data keys: their own file, their own manifest,
<out>/keys/manifest.json            deleted after KEY_BACKUP_RETENTION_DAYS (docs/keys.md)
```

Catalog backups never hold a data key, so they can be kept for years; the small
key backup is kept 35 days (`prune_key_backups`). A restore takes any catalog
backup and the newest key backup, then applies the destruction list so that no
dossier destroyed after the backup gets its key back.

Consistency: SQLite is copied with the online backup API (one read transaction,
writers go on), PostgreSQL is read in one REPEATABLE READ READ ONLY transaction;
the keys, the metadata XML and the audit head are all taken from that same
snapshot. PostgreSQL is exported table by table as JSON lines rather than with
`pg_dump` because the wrapped keys are a column of `dossiers`: a dump would carry
them into the long-kept backup (and `pg_dump` must match the server's major
version). The export restores into PostgreSQL or SQLite alike.

The backup is written into a hidden sibling folder and renamed into place when
complete, so `<out>` is either absent or whole.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Column, Connection, Date, DateTime, Integer, LargeBinary, MetaData, Table, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, selectinload

from archive_core.audit import (
    ANCHOR_FILE,
    GENESIS_HASH,
    Anchor,
    AuditEntry,
    anchors_dir_for,
    open_audit_log,
    read_anchor,
    write_anchor,
)
from archive_core.catalog import AuditRow, Catalog, CopyRow, CopyState, DossierRow, DossierState, repo
from archive_core.keys import KEY_BACKUP_RETENTION_DAYS, FileMasterKey, MasterKeyError
from archive_core.premis import software_version
from archive_core.profiles import circular02
from archive_core.settings import Settings
from archive_core.storage import ObjectStore, StorageError, make_stores
from archive_core.storage.base import file_sha256, read_into
from archive_core.timeutil import Clock, iso_vn, system_clock

log = logging.getLogger(__name__)

BACKUP_FORMAT: Final = "earchive-backup/1"
KEY_BACKUP_FORMAT: Final = "earchive-key-backup/1"
DESTRUCTION_FORMAT: Final = "earchive-destruction/1"
MANIFEST: Final = "manifest.json"
KEYS_DIR: Final = "keys"
KEYS_FILE: Final = "wrapped-keys.json"
CATALOG_FILE: Final = "catalog/catalog.sqlite"
DESTRUCTIONS_PREFIX: Final = "destructions/"
"""Storage key prefix of destruction records, one per destroyed AIP on every location."""
RESTORE_ALLOWED_IN_HOME: Final = frozenset({"storage", "keys"})
"""What an "empty" home may already hold at restore: the storage folders (copied as they are) and the master key."""
INSERT_BATCH: Final = 1000
FSYNC_THREADS: Final = 8
_BUFFER = 1024 * 1024


class BackupError(Exception):
    """A backup cannot be made, or a backup folder cannot be restored (nothing was changed)."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


# ---------------------------------------------------------------- manifest


@dataclass
class BackupManifest:
    path: Path
    data: dict[str, Any]

    @property
    def created_at(self) -> str:
        return str(self.data["created_at"])

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = self.data["files"]
        return files

    @property
    def dossiers(self) -> int:
        return int(self.data["dossiers"]["archived"])

    def to_dict(self) -> dict[str, Any]:
        summary = {key: value for key, value in self.data.items() if key != "files"}
        return {"path": str(self.path), **summary, "file_count": len(self.files),
                "bytes": sum(int(item["size"]) for item in self.files.values())}

    def summary_vi(self) -> str:
        keys = self.data["key_backup"]
        return (
            f"Đã sao lưu vào {self.path}: cơ sở dữ liệu danh mục, siêu dữ liệu XML của {self.dossiers} hồ sơ, "
            f"mốc neo nhật ký kiểm toán; {keys['keys']} khóa dữ liệu (đã bọc) trong tệp riêng, "
            f"phải xóa sau ngày {keys['expires_at'][:10]}."
        )

    @classmethod
    def load(cls, backup_dir: Path) -> BackupManifest:
        path = Path(backup_dir) / MANIFEST
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise BackupError(f"Không đọc được {path}: {exc}", f"Cannot read {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT or not isinstance(data.get("files"), dict):
            raise BackupError(
                f"{path} không phải bản kê sao lưu earchive", f"{path} is not an earchive backup manifest"
            )
        return cls(Path(backup_dir), data)


# ---------------------------------------------------------------- files


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


def _fsync_tree(root: Path) -> None:
    """Make every file and folder under `root` durable; fsyncs are issued in parallel (the disk queues them)."""
    folders: list[Path] = []
    files: list[str] = []
    for walked, _dirs, names in os.walk(root):
        folders.append(Path(walked))
        files.extend(os.path.join(walked, name) for name in names)
    with ThreadPoolExecutor(max_workers=FSYNC_THREADS) as pool:
        list(pool.map(_fsync_file, files))
    for folder in reversed(folders):
        _fsync_dir(folder)


def _fsync_file(path: str) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _listing(root: Path, *, skip: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    skipped = tuple(f"{item}/" for item in skip)
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative != MANIFEST and not relative.startswith(skipped):
            size, digest = file_sha256(path)
            found[relative] = {"size": size, "sha256": digest}
    return found


# ---------------------------------------------------------------- backup


@dataclass
class _Snapshot:
    """What is read from one consistent view of the catalog."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    archived: int = 0
    total: int = 0
    audit_head: Anchor = field(default_factory=lambda: Anchor(0, GENESIS_HASH))
    audit_problem: str | None = None
    revisions: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def backup(
    settings: Settings,
    out: Path,
    *,
    include_objects: bool = False,
    actor: str = "system",
    clock: Clock = system_clock,
) -> BackupManifest:
    """Write a backup folder at `out` (which must not exist) and audit it; see the module text for its layout.

    `include_objects` (the monthly full backup) also copies every stored object of
    every archived dossier from a location whose copy still matches the catalog.
    """
    out = Path(out).absolute()
    if out.exists():
        raise BackupError(f"{out} đã tồn tại: không ghi đè bản sao lưu", f"{out} exists: a backup is never overwritten")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir(mode=0o700)
    scratch = settings.staging_dir / f"backup-{uuid.uuid4().hex}"
    created = clock()
    try:
        anchor_path = anchors_dir_for(settings) / ANCHOR_FILE
        if anchor_path.is_file():  # read before the snapshot: the snapshot's head can only be at or after it
            _write_file(work / "audit" / ANCHOR_FILE, anchor_path.read_bytes())
        live = Catalog(settings.catalog_url)
        try:
            if live.dialect == "sqlite":
                snapshot, kind = _backup_sqlite(settings, live, work, scratch, include_objects), "sqlite-file"
            else:
                snapshot, kind = _backup_logical(settings, live, work, include_objects), "jsonl"
        finally:
            live.dispose()
        _check_anchor_against(snapshot, work / "audit" / ANCHOR_FILE)
        keys_manifest = _write_keys(work, snapshot, created, out.name)
        manifest = _manifest(settings, snapshot, kind, created, keys_manifest, include_objects)
        manifest["files"] = _listing(work, skip=[KEYS_DIR])
        _write_file(work / MANIFEST, _json_bytes(manifest))
        _fsync_tree(work)
        os.rename(work, out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = BackupManifest(out, manifest)
    _audit_backup(settings, result, actor)
    return result


def _backup_sqlite(
    settings: Settings, live: Catalog, work: Path, scratch: Path, include_objects: bool
) -> _Snapshot:
    database = live.url.database
    if not database or database == ":memory:":
        raise BackupError(
            "Danh mục SQLite trong bộ nhớ không sao lưu được", "An in-memory SQLite catalog cannot be backed up"
        )
    scratch.mkdir(parents=True, mode=0o700)
    # The snapshot holds the wrapped keys: it stays in the data home (where the live catalog already has them).
    snapshot_file = scratch / "snapshot.sqlite"
    source = sqlite3.connect(database)
    target = sqlite3.connect(snapshot_file)
    try:
        source.backup(target)  # one read transaction: a consistent copy while writers go on
    finally:
        target.close()
        source.close()
    snap = Catalog(f"sqlite:///{snapshot_file}")
    try:
        with snap.session(readonly=True) as session:
            snapshot = _read_snapshot(session, work, settings, include_objects)
        with snap.engine.connect() as connection:
            snapshot.revisions = _revisions(connection)
    finally:
        snap.dispose()
    final = work / CATALOG_FILE
    final.parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(snapshot_file, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode = DELETE")
        raw.execute("UPDATE dossiers SET wrapped_key = NULL WHERE wrapped_key IS NOT NULL")
        # VACUUM INTO writes a fresh file from live rows only: no free page can still hold a key.
        raw.execute("VACUUM INTO ?", (str(final),))
        names = [row[0] for row in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        snapshot.tables = {name: raw.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        raw.close()
    return snapshot


def _backup_logical(settings: Settings, live: Catalog, work: Path, include_objects: bool) -> _Snapshot:
    with live.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            with Session(bind=connection) as session:
                snapshot = _read_snapshot(session, work, settings, include_objects)
            snapshot.revisions = _revisions(connection)
            for table in _reflect(connection):
                snapshot.tables[table.name] = _export_table(connection, table, work / "catalog" / f"{table.name}.jsonl")
    return snapshot


def _revisions(connection: Connection) -> list[str]:
    """Every Alembic head the catalog is at (parts of the schema are separate branches)."""
    return sorted(str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version")))


def _reflect(connection: Connection) -> list[Table]:
    """Every table the database really has (whoever's model declares it), parents before children."""
    metadata = MetaData()
    metadata.reflect(connection)
    return [table for table in metadata.sorted_tables if table.name != "alembic_version"]


def _read_snapshot(session: Session, work: Path, settings: Settings, include_objects: bool) -> _Snapshot:
    snapshot = _Snapshot()
    stores = {store.location_id: store for store in make_stores(settings)} if include_objects else {}
    rows = session.scalars(select(DossierRow).options(selectinload(DossierRow.documents)).order_by(DossierRow.id))
    for row in rows:
        snapshot.total += 1
        if row.wrapped_key is not None and not row.key_destroyed and row.state is not DossierState.DESTROYED:
            snapshot.keys.append(_key_entry(row))
        if row.state is DossierState.DESTROYED and row.aip_id:
            snapshot.destroyed.append(row.aip_id)
        if row.state is DossierState.ARCHIVED and row.aip_id:
            snapshot.archived += 1
            xml = circular02.dossier_to_xml(repo.load_dossier_model(row), include_documents=True)
            _write_file(work / "metadata" / f"{row.aip_id}.xml", xml)
            if include_objects:
                snapshot.objects.update(_copy_objects(stores, row, work))
    snapshot.audit_head, snapshot.audit_problem = _walk_audit(session)
    return snapshot


def _key_entry(row: DossierRow) -> dict[str, Any]:
    assert row.wrapped_key is not None
    return {
        "dossier_id": row.id,
        "aip_id": row.aip_id,
        "master_key_id": row.master_key_id,
        "wrapped": base64.b64encode(row.wrapped_key).decode("ascii"),
        "wrapped_sha256": hashlib.sha256(row.wrapped_key).hexdigest(),
    }


def _walk_audit(session: Session) -> tuple[Anchor, str | None]:
    """The chain's head, and the first break if any (the same checks as `AuditLog.verify`, without anchors)."""
    head = Anchor(0, GENESIS_HASH)
    rows = session.execute(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=2000)).scalars()
    for row in rows:
        entry = AuditEntry.from_row(row)
        if entry.seq != head.seq + 1 or entry.prev_hash != head.hash or not entry.intact:
            return head, f"audit chain broken at entry {entry.seq}"
        head = Anchor(entry.seq, entry.hash)
    return head, None


def _check_anchor_against(snapshot: _Snapshot, anchor_file: Path) -> None:
    if snapshot.audit_problem is not None or not anchor_file.is_file():
        return
    anchor = read_anchor(anchor_file)
    if anchor is not None and anchor.seq > snapshot.audit_head.seq:
        snapshot.audit_problem = f"anchor at entry {anchor.seq} is past the catalog's head {snapshot.audit_head.seq}"


def _copy_objects(stores: Mapping[str, ObjectStore], row: DossierRow, work: Path) -> dict[str, dict[str, Any]]:
    """Copy one good copy of every object of the dossier into `<work>/objects/`, checked against the catalog."""
    by_path: dict[str, list[CopyRow]] = {}
    for copy in row.copies:
        if copy.state is not CopyState.DELETED:
            by_path.setdefault(copy.path, []).append(copy)
    copied: dict[str, dict[str, Any]] = {}
    for path, copies in sorted(by_path.items()):
        copies.sort(key=lambda c: (c.state is not CopyState.VERIFIED, c.location_id))
        for copy in copies:
            store = stores.get(copy.location_id)
            if store is not None and _copy_one(store, copy, work / "objects" / copy.object_key):
                copied[copy.object_key] = {"location": copy.location_id, "size": copy.stored_size,
                                           "sha256": copy.stored_sha256}
                break
        else:
            raise BackupError(
                f"Không có bản sao tốt của {path} (hồ sơ {row.aip_id}) để sao lưu toàn phần",
                f"No good copy of {path} of {row.aip_id} for the full backup",
            )
    return copied


def _copy_one(store: ObjectStore, copy: CopyRow, target: Path) -> bool:
    target.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    buffer = memoryview(bytearray(_BUFFER))
    size = 0
    try:
        with store.open(copy.object_key) as stream, target.open("wb") as out:
            while count := read_into(stream, buffer):
                hasher.update(buffer[:count])
                out.write(buffer[:count])
                size += count
    except (StorageError, OSError) as exc:
        log.warning("full backup: %s %s unreadable: %s", copy.location_id, copy.object_key, exc)
        target.unlink(missing_ok=True)
        return False
    if (size, hasher.hexdigest()) != (copy.stored_size, copy.stored_sha256):
        log.warning("full backup: %s %s does not match the catalog", copy.location_id, copy.object_key)
        target.unlink(missing_ok=True)
        return False
    return True


def _write_keys(work: Path, snapshot: _Snapshot, created: datetime, backup_name: str) -> dict[str, Any]:
    expires = created + timedelta(days=KEY_BACKUP_RETENTION_DAYS)
    body = {
        "format": KEY_BACKUP_FORMAT,
        "created_at": iso_vn(created),
        "expires_at": iso_vn(expires),
        "catalog_backup": backup_name,
        "destroyed": sorted(snapshot.destroyed),
        "keys": snapshot.keys,
    }
    keys_file = work / KEYS_DIR / KEYS_FILE
    _write_file(keys_file, _json_bytes(body))
    os.chmod(keys_file, 0o600)
    size, digest = file_sha256(keys_file)
    manifest = {
        "format": KEY_BACKUP_FORMAT,
        "created_at": iso_vn(created),
        "expires_at": iso_vn(expires),
        "retention_days": KEY_BACKUP_RETENTION_DAYS,
        "keys": len(snapshot.keys),
        "master_key_ids": sorted({str(item["master_key_id"]) for item in snapshot.keys}),
        "files": {KEYS_FILE: {"size": size, "sha256": digest}},
    }
    _write_file(work / KEYS_DIR / MANIFEST, _json_bytes(manifest))
    return manifest


def _manifest(
    settings: Settings,
    snapshot: _Snapshot,
    kind: str,
    created: datetime,
    keys_manifest: Mapping[str, Any],
    include_objects: bool,
) -> dict[str, Any]:
    return {
        "format": BACKUP_FORMAT,
        "created_at": iso_vn(created),
        "software_version": software_version(),
        "kind": "full" if include_objects else "catalog",
        "catalog": {"format": kind, "dialect": make_url(settings.catalog_url).get_backend_name(),
                    "revisions": snapshot.revisions, "tables": snapshot.tables},
        "dossiers": {"total": snapshot.total, "archived": snapshot.archived, "destroyed": len(snapshot.destroyed)},
        "audit": {"head_seq": snapshot.audit_head.seq, "head_hash": snapshot.audit_head.hash,
                  "chain_ok": snapshot.audit_problem is None, "problem": snapshot.audit_problem},
        "key_backup": {"path": KEYS_DIR, "keys": keys_manifest["keys"], "expires_at": keys_manifest["expires_at"],
                       "master_key_ids": keys_manifest["master_key_ids"]},
        "objects": snapshot.objects,
        "locations": [location.id for location in settings.storage.locations],
    }


def _audit_backup(settings: Settings, result: BackupManifest, actor: str) -> None:
    catalog = Catalog(settings.catalog_url)
    try:
        manifest_sha = file_sha256(result.path / MANIFEST)[1]
        open_audit_log(settings, catalog).append(
            actor, "archive.backup", "archive", None,
            {"path": str(result.path), "manifest_sha256": manifest_sha, "kind": result.data["kind"],
             "dossiers": result.dossiers, "keys": result.data["key_backup"]["keys"],
             "audit_head_seq": result.data["audit"]["head_seq"]},
        )
    finally:
        catalog.dispose()


# ---------------------------------------------------------------- logical export (PostgreSQL)


def _utc(value: datetime) -> datetime:
    """Catalog times are UTC; SQLite hands them back naive."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Enum):
        return value.value
    return value


def _export_table(connection: Connection, table: Table, target: Path) -> int:
    """Every row as one JSON object per line, in primary-key order; the wrapped keys are left out."""
    columns = [column for column in table.columns if not (table.name == "dossiers" and column.name == "wrapped_key")]
    order = list(table.primary_key.columns) or columns[:1]
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("w", encoding="utf-8") as out:
        result = connection.execution_options(yield_per=2000).execute(select(*columns).order_by(*order))
        for row in result:
            record = {column.name: _encode(value) for column, value in zip(columns, row, strict=True)}
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def _rows_from_jsonl(source: Path) -> Iterator[dict[str, Any]]:
    with source.open(encoding="utf-8") as stream:
        for line in stream:
            yield json.loads(line)


def _rows_from_sqlite(snapshot: Catalog, name: str) -> Iterator[dict[str, Any]]:
    with snapshot.engine.connect() as connection:
        metadata = MetaData()
        table = Table(name, metadata, autoload_with=connection)
        order = list(table.primary_key.columns) or list(table.columns)[:1]
        result = connection.execution_options(yield_per=2000).execute(select(table).order_by(*order))
        for row in result:
            yield dict(row._mapping)


def _convert(value: Any, column: Column[Any], dialect: str) -> Any:
    """A value read from a backup, as the target column takes it."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        moment = _utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
        return moment.replace(tzinfo=None) if dialect == "sqlite" else moment  # what UtcDateTime stores
    if isinstance(kind, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(kind, LargeBinary) and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _load_logical(target: Catalog, sources: Mapping[str, Iterator[dict[str, Any]]]) -> None:
    """Insert every table's rows into the (migrated, empty) target, parents before children."""
    with target.engine.begin() as connection:
        dialect = connection.dialect.name
        for table in _reflect(connection):
            rows = sources.get(table.name)
            if rows is None:
                continue
            batch: list[dict[str, Any]] = []
            for record in rows:
                batch.append({c.name: _convert(record[c.name], c, dialect) for c in table.columns if c.name in record})
                if len(batch) >= INSERT_BATCH:
                    connection.execute(table.insert(), batch)
                    batch = []
            if batch:
                connection.execute(table.insert(), batch)
            if dialect == "postgresql" and "id" in table.c and isinstance(table.c.id.type, Integer):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'
                ))


# ---------------------------------------------------------------- verifying a backup folder


def verify_backup(backup_dir: Path) -> list[str]:
    """Problems with the backup folder (empty list: every file is there with the size and SHA-256 listed)."""
    try:
        manifest = BackupManifest.load(backup_dir)
    except BackupError as exc:
        return [exc.message_en]
    problems = _compare_listing(Path(backup_dir), manifest.files, skip=[KEYS_DIR])
    return problems


def _compare_listing(root: Path, listed: Mapping[str, Any], *, skip: Iterable[str] = ()) -> list[str]:
    problems: list[str] = []
    for name, expected in sorted(listed.items()):
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            problems.append(f"{name}: outside the backup folder")
            continue
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        size, digest = file_sha256(path)
        if size != expected.get("size") or digest != expected.get("sha256"):
            problems.append(f"{name}: SHA-256 or size differs from the manifest")
    skipped = tuple(f"{item}/" for item in skip)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative != MANIFEST and relative not in listed and not relative.startswith(skipped):
            problems.append(f"{relative}: not listed in the manifest")
    return problems


@dataclass
class KeyBackup:
    path: Path
    created_at: str
    expires_at: str
    keys: dict[str, dict[str, Any]]
    """AIP id → entry (`wrapped` as bytes, `master_key_id`, `wrapped_sha256`)."""
    destroyed: set[str]


def load_key_backup(folder: Path) -> KeyBackup:
    """A key backup folder (`<backup>/keys`), checked against its own manifest."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"Không có bản sao lưu khóa hợp lệ tại {folder} (đã hết hạn và bị xóa?): {exc}",
            f"No valid key backup at {folder} (expired and deleted?): {exc}",
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != KEY_BACKUP_FORMAT:
        raise BackupError(f"{folder} không phải bản sao lưu khóa", f"{folder} is not a key backup")
    problems = _compare_listing(folder, manifest.get("files", {}))
    if problems:
        raise BackupError(
            "Bản sao lưu khóa bị thay đổi: " + "; ".join(problems[:5]),
            "The key backup was altered: " + "; ".join(problems[:5]),
        )
    body = json.loads((folder / KEYS_FILE).read_bytes())
    keys = {}
    for item in body["keys"]:
        wrapped = base64.b64decode(item["wrapped"])
        if hashlib.sha256(wrapped).hexdigest() != item["wrapped_sha256"]:
            raise BackupError(f"Khóa của {item['aip_id']} bị hỏng", f"The key of {item['aip_id']} is damaged")
        keys[str(item["aip_id"])] = {**item, "wrapped": wrapped}
    return KeyBackup(folder, body["created_at"], body["expires_at"], keys, set(body.get("destroyed", [])))


def prune_key_backups(root: Path, *, clock: Clock = system_clock) -> list[Path]:
    """Delete the `keys/` folder of every backup under `root` whose key backup has expired (docs/keys.md)."""
    removed = []
    now = clock()
    for manifest in sorted(Path(root).glob(f"*/{KEYS_DIR}/{MANIFEST}")):
        try:
            expires = datetime.fromisoformat(json.loads(manifest.read_bytes())["expires_at"])
        except (OSError, ValueError, KeyError):
            continue
        if expires <= now:
            shutil.rmtree(manifest.parent)
            removed.append(manifest.parent)
    return removed


# ---------------------------------------------------------------- destruction records


@dataclass(frozen=True)
class DestructionRecord:
    """Proof that a dossier's data key was destroyed (R-DS-3); kept on every location and applied at restore."""

    aip_id: str
    executed_at: str
    wrapped_key_sha256: str | None
    """SHA-256 of the wrapped key that was destroyed: names the key, cannot recover it, authenticates the record."""
    master_key_id: str | None = None
    dossier_code: str | None = None

    def to_json(self) -> bytes:
        """One line of JSON: the same text is a storage object and a line of a destruction log file."""
        record = {"format": DESTRUCTION_FORMAT, "aip_id": self.aip_id, "executed_at": self.executed_at,
                  "wrapped_key_sha256": self.wrapped_key_sha256, "master_key_id": self.master_key_id,
                  "dossier_code": self.dossier_code}
        return json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> DestructionRecord:
        parsed = json.loads(data)
        if not isinstance(parsed, dict) or parsed.get("format") != DESTRUCTION_FORMAT or not parsed.get("aip_id"):
            raise ValueError("not an earchive destruction record")
        return cls(str(parsed["aip_id"]), str(parsed.get("executed_at", "")), parsed.get("wrapped_key_sha256"),
                   parsed.get("master_key_id"), parsed.get("dossier_code"))


def destruction_record_key(aip_id: str) -> str:
    return f"{DESTRUCTIONS_PREFIX}{aip_id}.json"


def record_destruction(stores: Iterable[ObjectStore], record: DestructionRecord) -> list[str]:
    """Write the record on every location (call it from the destruction workflow); returns the locations written.

    Storage locations are copied as they are at a restore, so records kept there
    survive the loss of the catalog; a location that cannot be reached raises.
    """
    import io

    written = []
    data = record.to_json()
    for store in stores:
        store.put(destruction_record_key(record.aip_id), io.BytesIO(data), size=len(data))
        written.append(store.location_id)
    return written


def read_destruction_records(
    stores: Iterable[ObjectStore], log_file: Path | None = None
) -> dict[str, DestructionRecord]:
    """Every destruction record found on the locations and in `log_file` (JSON lines), by AIP id."""
    records: dict[str, DestructionRecord] = {}
    for store in stores:
        try:
            found = list(store.list(DESTRUCTIONS_PREFIX))
        except StorageError as exc:
            log.warning("%s: destruction records cannot be listed: %s", store.location_id, exc)
            continue
        for item in found:
            try:
                with store.open(item.key) as stream:
                    record = DestructionRecord.from_json(stream.read(64 * 1024))
            except (StorageError, ValueError) as exc:
                log.warning("%s: unreadable destruction record %s: %s", store.location_id, item.key, exc)
                continue
            records.setdefault(record.aip_id, record)
    if log_file is not None:
        for line in Path(log_file).read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = DestructionRecord.from_json(line)
                records.setdefault(record.aip_id, record)
    return records


# ---------------------------------------------------------------- restore


@dataclass
class RestoreReport:
    backup: Path
    backup_created_at: str
    catalog_format: str = ""
    dossiers: int = 0
    keys_restored: int = 0
    keys_missing: list[str] = field(default_factory=list)
    destroyed_applied: list[str] = field(default_factory=list)
    destruction_unverified: list[str] = field(default_factory=list)
    objects_restored: int = 0
    pending: list[str] = field(default_factory=list)
    """Dossiers whose ingest was under way at backup time: `ingest.archive.recover()` would roll them back."""
    orphans: list[dict[str, Any]] = field(default_factory=list)
    """AIPs on storage the restored catalog does not know (archived after the backup), and whether the
    key backup holds their key (then they can be decrypted and submitted again)."""
    fixity: dict[str, Any] = field(default_factory=dict)
    decrypted: int = 0
    decrypt_failures: list[str] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        fixity_good = self.fixity.get("failed", 0) == self.fixity.get("repaired", 0) and not self.fixity.get(
            "unavailable_locations"
        )
        return (
            fixity_good and not self.keys_missing and not self.decrypt_failures and not self.destruction_unverified
            and bool(self.audit.get("ok"))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "backup": str(self.backup),
            "backup_created_at": self.backup_created_at,
            "catalog_format": self.catalog_format,
            "dossiers": self.dossiers,
            "keys_restored": self.keys_restored,
            "keys_missing": self.keys_missing,
            "destroyed_applied": self.destroyed_applied,
            "destruction_unverified": self.destruction_unverified,
            "objects_restored": self.objects_restored,
            "pending": self.pending,
            "orphans": self.orphans,
            "fixity": {key: value for key, value in self.fixity.items() if key != "details"},
            "decrypted": self.decrypted,
            "decrypt_failures": self.decrypt_failures,
            "audit": self.audit,
        }

    def summary_vi(self) -> str:
        status = "thành công, mọi gói AIP đều kiểm tra đạt" if self.ok else "CÓ VẤN ĐỀ, xem chi tiết"
        return (
            f"Khôi phục từ bản sao lưu {self.backup_created_at}: {status}. {self.dossiers} hồ sơ, "
            f"{self.keys_restored} khóa dữ liệu khôi phục, {len(self.destroyed_applied)} hồ sơ đã hủy được áp dụng "
            f"lại, {self.fixity.get('checked', 0)} bản sao kiểm tra ({self.fixity.get('failed', 0)} lỗi, "
            f"{self.fixity.get('repaired', 0)} đã sửa), giải mã thử {self.decrypted} hồ sơ; "
            f"nhật ký kiểm toán: {self.audit.get('message_vi', '')}"
        ) + self._warnings_vi()

    def _warnings_vi(self) -> str:
        text = ""
        if self.orphans:
            text += (
                f" Có {len(self.orphans)} gói AIP trong kho lưu trữ không có trong danh mục khôi phục "
                "(lưu sau thời điểm sao lưu): không xóa, cần nộp lưu lại."
            )
        if self.pending:
            text += f" {len(self.pending)} hồ sơ đang lưu dở lúc sao lưu: kiểm tra trước khi chạy phục hồi sự cố."
        return text


def restore(
    backup_dir: Path,
    settings: Settings,
    *,
    key_backup: Path | None = None,
    destruction_log: Path | None = None,
    actor: str = "system",
    clock: Clock = system_clock,
) -> RestoreReport:
    """Restore a backup into the EMPTY data home of `settings`, then verify every AIP.

    Steps: check the backup against its manifest (refuse on any difference) and the
    key backup (`key_backup`, default `<backup>/keys`; give the newest one) against
    its own; refuse a home that already holds a catalog or anything but the storage
    folders and the master key; put the catalog back and bring its schema to head;
    re-anchor the audit log after checking the chain; apply the destruction list
    (records on the storage locations, `destruction_log`, the catalog's destroyed
    dossiers) and only then write the wrapped keys of the others; put back missing
    objects from a full backup; run the fixity audit on every copy (repairing from
    good copies); decrypt one object per dossier; verify the audit log.
    """
    # The verification reuses the archive's own machinery (imported here: the core does not depend on it).
    from ingest.archive import open_archive
    from preservation.fixity import audit_fixity

    backup_dir = Path(backup_dir).absolute()
    manifest = BackupManifest.load(backup_dir)
    problems = verify_backup(backup_dir)
    if problems:
        raise BackupError(
            "Bản sao lưu không khớp bản kê, không khôi phục: " + "; ".join(problems[:5]),
            "The backup does not match its manifest, nothing restored: " + "; ".join(problems[:5]),
        )
    keys = load_key_backup(Path(key_backup) if key_backup is not None else backup_dir / KEYS_DIR)
    _check_empty_home(settings)
    master = _master_key(settings)
    foreign = sorted({str(e["master_key_id"]) for e in keys.keys.values()} - {master.key_id})
    if foreign:
        raise BackupError(
            f"Khóa chủ đang có ({master.key_id}) không phải khóa đã bọc các khóa dữ liệu ({', '.join(foreign)}): "
            "hãy khôi phục đúng khóa chủ từ các phần lưu giữ",
            f"The master key at hand ({master.key_id}) did not wrap the data keys ({', '.join(foreign)}): "
            "rebuild the right master key from its escrow shares",
        )
    report = RestoreReport(backup_dir, manifest.created_at, str(manifest.data["catalog"]["format"]))
    _restore_catalog(backup_dir, manifest, settings)
    _restore_anchor(backup_dir, manifest, settings, clock)
    archive = open_archive(settings)
    try:
        records = read_destruction_records(archive.stores, destruction_log)
        _apply_keys(archive.catalog, archive.stores, keys, records, report, clock)
        report.objects_restored = _restore_objects(archive.catalog, archive.stores, backup_dir, manifest)
        report.pending, report.orphans = _pending_and_orphans(archive.catalog, archive.stores, keys)
        archive.audit.append(
            actor, "catalog.restored", "archive", None,
            {"backup": str(backup_dir), "backup_created_at": manifest.created_at,
             "key_backup_created_at": keys.created_at, "keys_restored": report.keys_restored,
             "keys_missing": report.keys_missing[:100], "destroyed_applied": report.destroyed_applied[:100],
             "destruction_unverified": report.destruction_unverified[:100],
             "objects_restored": report.objects_restored, "pending": report.pending[:100],
             "orphans": [item["aip_id"] for item in report.orphans[:100]]},
        )
        fixity = audit_fixity(archive, repair=True, actor=actor, clock=clock)
        report.fixity = fixity.to_dict()
        _decrypt_one_per_dossier(archive.catalog, archive.stores, master, report)
        report.audit = archive.audit.verify().to_dict()
        with archive.catalog.session(readonly=True) as session:
            report.dossiers = len(list(session.scalars(select(DossierRow.id))))
        archive.audit.append(actor, "catalog.restore_verified", "archive", None, {
            "ok": report.ok, "decrypted": report.decrypted, "decrypt_failures": report.decrypt_failures[:100],
            "fixity": {k: v for k, v in report.fixity.items() if k in ("checked", "failed", "repaired")},
        })
    finally:
        archive.close()
    return report


def _check_empty_home(settings: Settings) -> None:
    found: list[str] = []
    url = make_url(settings.catalog_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        if url.database and database.exists() and database.stat().st_size > 0:
            found.append(str(database))
    else:
        catalog = Catalog(settings.catalog_url)
        try:
            with catalog.engine.connect() as connection:
                tables = inspect(connection).get_table_names()
        finally:
            catalog.dispose()
        if tables:
            found.append(f"catalog tables {', '.join(sorted(tables)[:5])}")
    anchors = anchors_dir_for(settings)
    if anchors.is_dir() and any(anchors.iterdir()):
        found.append(str(anchors))
    if settings.home.is_dir():
        for entry in sorted(settings.home.iterdir()):
            if entry.name not in RESTORE_ALLOWED_IN_HOME and str(entry) not in found:
                found.append(str(entry))
    if found:
        raise BackupError(
            "Thư mục dữ liệu không trống, không khôi phục đè: " + ", ".join(found[:5]),
            "The data home is not empty; a restore never overwrites: " + ", ".join(found[:5]),
        )


def _master_key(settings: Settings) -> FileMasterKey:
    try:
        return FileMasterKey(settings.master_key_file, create=False)
    except MasterKeyError as exc:
        raise BackupError(
            f"Chưa có khóa chủ ({exc}): dựng lại khóa chủ từ các phần lưu giữ trước khi khôi phục (docs/keys.md)",
            f"No master key ({exc}): rebuild it from its escrow shares before restoring (docs/keys.md)",
        ) from exc


def _restore_catalog(backup_dir: Path, manifest: BackupManifest, settings: Settings) -> None:
    info = manifest.data["catalog"]
    url = make_url(settings.catalog_url)
    if info["format"] == "sqlite-file" and url.get_backend_name() == "sqlite" and url.database:
        target = Path(url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(backup_dir / CATALOG_FILE, partial)
        with partial.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)
        catalog = Catalog(settings.catalog_url)
        try:
            catalog.migrate()
        finally:
            catalog.dispose()
        return
    catalog = Catalog(settings.catalog_url)
    try:
        for revision in info["revisions"] or ["heads"]:
            catalog.migrate(revision)
        if info["format"] == "jsonl":
            sources = {
                name: _rows_from_jsonl(backup_dir / "catalog" / f"{name}.jsonl") for name in info["tables"]
            }
            _load_logical(catalog, sources)
        else:
            # Opening a SQLite file switches it to WAL: read a private copy, never the backup itself.
            scratch = settings.staging_dir / f"restore-{uuid.uuid4().hex}"
            scratch.mkdir(parents=True, mode=0o700)
            try:
                shutil.copyfile(backup_dir / CATALOG_FILE, scratch / "catalog.sqlite")
                snapshot = Catalog(f"sqlite:///{scratch / 'catalog.sqlite'}")
                try:
                    tables = [name for name in info["tables"] if name != "alembic_version"]
                    _load_logical(catalog, {name: _rows_from_sqlite(snapshot, name) for name in tables})
                finally:
                    snapshot.dispose()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        catalog.migrate()
    finally:
        catalog.dispose()


def _restore_anchor(backup_dir: Path, manifest: BackupManifest, settings: Settings, clock: Clock) -> None:
    """Check the restored chain against the backup's head and anchor, then anchor the restored home at that head."""
    catalog = Catalog(settings.catalog_url)
    try:
        with catalog.session(readonly=True) as session:
            head, problem = _walk_audit(session)
    finally:
        catalog.dispose()
    expected = manifest.data["audit"]
    if problem is not None or (head.seq, head.hash) != (expected["head_seq"], expected["head_hash"]):
        raise BackupError(
            f"Nhật ký kiểm toán khôi phục không khớp bản sao lưu ({problem or head.seq})",
            f"The restored audit log does not match the backup ({problem or f'head {head.seq}'})",
        )
    saved = backup_dir / "audit" / ANCHOR_FILE
    if saved.is_file():
        anchor = read_anchor(saved)
        if anchor is not None and anchor.seq > head.seq:
            raise BackupError("Mốc neo vượt quá nhật ký kiểm toán", "The saved anchor is past the audit log's head")
    write_anchor(anchors_dir_for(settings), Anchor(head.seq, head.hash, iso_vn(clock())))


def _apply_keys(
    catalog: Catalog,
    stores: list[ObjectStore],
    keys: KeyBackup,
    records: Mapping[str, DestructionRecord],
    report: RestoreReport,
    clock: Clock,
) -> None:
    """Apply the destruction list first, then write the wrapped keys of every other live dossier."""
    destroyed_aips: list[str] = []
    with catalog.session() as session:
        for row in session.scalars(select(DossierRow).order_by(DossierRow.id)):
            aip_id = row.aip_id or ""
            record = records.get(aip_id)
            entry = keys.keys.get(aip_id)
            if row.state is DossierState.DESTROYED or row.key_destroyed:
                row.wrapped_key = None
                continue
            if record is None and aip_id in keys.destroyed:
                record = DestructionRecord(aip_id, "", None)  # destroyed when the (newer) key backup was taken
            if record is not None:
                # A record is trusted when the verified key backup confirms it: it lists the dossier as
                # destroyed, or the record names the very wrapped key it holds (which only the catalog knew).
                trusted = aip_id in keys.destroyed or (
                    entry is not None and record.wrapped_key_sha256 == entry["wrapped_sha256"]
                )
                row.wrapped_key = None
                if not trusted:
                    # Not proven to come from our destruction workflow: withhold the key, an archivist decides.
                    report.destruction_unverified.append(aip_id)
                    continue
                _mark_destroyed(row, record)
                destroyed_aips.append(aip_id)
                continue
            if entry is None:
                report.keys_missing.append(aip_id)
                continue
            row.wrapped_key = entry["wrapped"]
            row.master_key_id = entry["master_key_id"]
            report.keys_restored += 1
    for aip_id in destroyed_aips:
        for store in stores:  # finish the destruction on every location (R-DS-4); absent objects are no error
            with contextlib.suppress(StorageError):
                store.delete_prefix(f"aips/{aip_id}/")
    report.destroyed_applied = destroyed_aips


def _mark_destroyed(row: DossierRow, record: DestructionRecord) -> None:
    row.wrapped_key = None
    row.key_destroyed = True
    row.state = DossierState.DESTROYED
    with contextlib.suppress(ValueError):
        row.destroyed_at = datetime.fromisoformat(record.executed_at)
    for copy in row.copies:
        copy.state = CopyState.DELETED


def _restore_objects(
    catalog: Catalog, stores: list[ObjectStore], backup_dir: Path, manifest: BackupManifest
) -> int:
    """From a full backup: put back every object a location lacks (the copy row takes the backup's hash)."""
    saved: Mapping[str, Any] = manifest.data.get("objects") or {}
    if not saved:
        return 0
    by_id = {store.location_id: store for store in stores}
    restored = 0
    with catalog.session() as session:
        query = (
            select(CopyRow).join(DossierRow, DossierRow.id == CopyRow.dossier_id)
            .where(DossierRow.state == DossierState.ARCHIVED, CopyRow.state != CopyState.DELETED)
        )
        for copy in session.scalars(query):
            item, store = saved.get(copy.object_key), by_id.get(copy.location_id)
            if item is None or store is None:
                continue
            with contextlib.suppress(StorageError):
                if store.stat(copy.object_key) is not None:
                    continue
                with (backup_dir / "objects" / copy.object_key).open("rb") as stream:
                    store.put(copy.object_key, stream, size=item["size"], sha256=item["sha256"])
                copy.stored_size, copy.stored_sha256 = item["size"], item["sha256"]
                copy.state = CopyState.WRITTEN
                restored += 1
    return restored


def _pending_and_orphans(
    catalog: Catalog, stores: list[ObjectStore], keys: KeyBackup
) -> tuple[list[str], list[dict[str, Any]]]:
    with catalog.session(readonly=True) as session:
        rows = session.execute(select(DossierRow.aip_id, DossierRow.state)).all()
    known = {aip_id for aip_id, _ in rows if aip_id}
    pending = sorted(str(aip_id) for aip_id, state in rows if state is DossierState.PENDING)
    found: dict[str, set[str]] = {}
    for store in stores:
        try:
            for item in store.list("aips/"):
                aip_id = item.key.split("/", 2)[1]
                if aip_id not in known:
                    found.setdefault(aip_id, set()).add(store.location_id)
        except StorageError as exc:
            log.warning("%s: cannot list AIPs: %s", store.location_id, exc)
    orphans = [
        {"aip_id": aip_id, "locations": sorted(places), "key_in_key_backup": aip_id in keys.keys}
        for aip_id, places in sorted(found.items())
    ]
    return pending, orphans


def _decrypt_one_per_dossier(
    catalog: Catalog, stores: list[ObjectStore], master: FileMasterKey, report: RestoreReport
) -> None:
    """Prove each dossier's restored key opens its objects: decrypt its smallest file and check its SHA-256."""
    from archive_core.crypto import DecryptingReader, DecryptionError, object_aad
    from archive_core.keys import UnwrapError

    by_id = {store.location_id: store for store in stores}
    with catalog.session(readonly=True) as session:
        rows = session.scalars(select(DossierRow).where(DossierRow.state == DossierState.ARCHIVED))
        for row in rows:
            aip_id = row.aip_id or str(row.id)
            if row.wrapped_key is None or not row.files:
                missing = "no key" if row.wrapped_key is None else "no files"
                report.decrypt_failures.append(f"{aip_id}: {missing}")
                continue
            smallest = min(row.files, key=lambda item: (item.size, item.path))
            copies = [c for c in row.copies if c.path == smallest.path and c.state is CopyState.VERIFIED]
            errors = []
            for copy in copies:
                store = by_id.get(copy.location_id)
                if store is None:
                    continue
                try:
                    data_key = master.unwrap(row.wrapped_key)
                    hasher = hashlib.sha256()
                    with store.open(copy.object_key) as stream:
                        reader = DecryptingReader(stream, data_key, aad=object_aad(aip_id, smallest.path))
                        while chunk := reader.read(_BUFFER):
                            hasher.update(chunk)
                    if hasher.hexdigest() != smallest.sha256:
                        raise DecryptionError("plaintext SHA-256 differs from the catalog")
                except (StorageError, DecryptionError, UnwrapError) as exc:
                    errors.append(f"{copy.location_id}: {exc}")
                    continue
                report.decrypted += 1
                break
            else:
                report.decrypt_failures.append(f"{aip_id}: " + ("; ".join(errors) or "no verified copy"))
