"""Object stores: the interface every storage location implements, its errors and key rules.

An AIP is stored as one object per file of its bag under `aips/<aip_id>/<path>` on every
location (docs/dev/storage-design.md). A store only moves bytes: it never decides whether
an AIP is archived (the catalog does), and it never encrypts (the caller hands it
ciphertext). Keys are the same on every kind of store, so the checks below are shared.

Additions to the design's protocol (all optional for callers):
- `put(..., sha256=...)`: the caller already knows the SHA-256 of the bytes it sends (e.g. when
  repairing a copy from a good one); the store refuses to keep anything else (`IntegrityError`).
- `cleanup_incomplete(older_than_seconds=...)`: removes what a crash left behind and nobody can
  see (local temp files, unfinished S3 multipart uploads); run it on start-up (R-ST-6).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    from archive_core.settings import Location, Settings

MAX_KEY_BYTES = 1024
"""S3's limit for a key; applied everywhere so that every location accepts every key."""
MAX_SEGMENT_BYTES = 255
"""A file name's limit on common file systems; applied everywhere for the same reason."""
TEMP_PREFIX = ".earchive-tmp-"
"""Names starting with this are a local store's unfinished writes; no key may contain one."""
CHUNK_BYTES = 1024 * 1024


class StorageError(Exception):
    """A storage operation failed; nothing is reported written."""


class ObjectMissing(StorageError):
    """The key has no object."""


class LocationUnavailable(StorageError):
    """The location cannot be reached or used now (disk not mounted, endpoint down, bucket absent); retry later."""


class InvalidKey(StorageError, ValueError):
    """A key or prefix breaks the key rules (see `validate_key`)."""


class IntegrityError(StorageError):
    """The bytes received differ from what the caller declared (size or SHA-256); nothing was kept."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str | None
    """Lower-case hex SHA-256 of the stored bytes when the store knows it without reading them."""
    version_id: str | None = None
    """The S3 version written or found; None on local stores and unversioned buckets."""


@runtime_checkable
class ObjectStore(Protocol):
    location_id: str

    def put(
        self, key: str, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None, durable: bool = True
    ) -> StoredObject:
        """Store the stream's bytes atomically (whole object or nothing) and return the SHA-256 computed while writing.

        `size` / `sha256`, when given, must match the bytes read, or `IntegrityError` is raised and
        nothing is kept. A previous object under the key stays untouched when the put fails.
        """
        ...

    def sync(self) -> None:
        """Make every object put with `durable=False` since the last sync durable (a batch of fsyncs)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A streaming reader over the stored bytes; `ObjectMissing` when there is no object."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size, recorded SHA-256 and version of the object, or None when there is none (no data read)."""
        ...

    def sha256(self, key: str) -> str:
        """SHA-256 of the stored bytes, computed by streaming them back (a fixity check)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object durably, every S3 version included; no error when there is none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix` (non-empty); return how many keys were removed."""
        ...

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Objects whose key starts with `prefix`; `sha256` is None (use `stat`).

        The order is not guaranteed: LocalStore and AWS give UTF-8 byte order of the key,
        SeaweedFS does not (it lists folder by folder, and versioned buckets differently again).
        """
        ...

    def healthy(self) -> bool:
        """True when the location answers and accepts writes (a cheap probe, never raises)."""
        ...

    def cleanup_incomplete(self, *, older_than_seconds: float = 0.0) -> int:
        """Remove leftovers of interrupted writes older than this; return how many were removed."""
        ...


def validate_key(key: str) -> str:
    """Return `key` when it is a safe object key, else raise `InvalidKey`.

    A key is a relative POSIX path: segments separated by single `/`, none empty, `.` or
    `..`, no backslash, NUL or control character, valid UTF-8 (no lone surrogates),
    at most 1024 bytes in all and 255 per segment, and no segment starting with
    `.earchive-tmp-` (reserved for unfinished local writes).
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("an object key must be a non-empty string")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKey(f"key is not valid UTF-8: {key!r}") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"key longer than {MAX_KEY_BYTES} bytes: {key[:80]!r}…")
    if any(unicodedata.category(char) == "Cc" for char in key) or "\\" in key:
        raise InvalidKey(f"key contains a control character or backslash: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"key must be a relative path without empty, '.' or '..' segments: {key!r}")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"key segment longer than {MAX_SEGMENT_BYTES} bytes: {segment[:80]!r}…")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidKey(f"key segments may not start with {TEMP_PREFIX!r}: {key!r}")
    return key


def validate_prefix(prefix: str, *, allow_empty: bool = True) -> str:
    """A listing prefix: empty, a key, or a key followed by `/` (string-prefix semantics, as in S3)."""
    if prefix == "":
        if not allow_empty:
            raise InvalidKey("an empty prefix is refused here: it would select every object of the location")
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def read_into(stream: BinaryIO, buffer: memoryview) -> int:
    """Read at most `len(buffer)` bytes into `buffer`; 0 means the stream has ended."""
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        count = readinto(buffer)
    else:
        data = stream.read(len(buffer))
        count = len(data)
        buffer[:count] = data
    if count is None:
        raise StorageError("the source stream is non-blocking and has no data ready")
    return int(count)


def stream_sha256(stream: BinaryIO, buffer: memoryview) -> tuple[int, str]:
    """Byte count and SHA-256 of what is left in `stream`, read through `buffer` (reused by the caller)."""
    hasher = hashlib.sha256()
    size = 0
    while count := read_into(stream, buffer):
        hasher.update(buffer[:count])
        size += count
    return size, hasher.hexdigest()


def file_sha256(path: Path, chunk_bytes: int = CHUNK_BYTES) -> tuple[int, str]:
    """Byte count and SHA-256 of a local file."""
    with path.open("rb") as stream:
        return stream_sha256(stream, memoryview(bytearray(chunk_bytes)))


def fill(stream: BinaryIO, buffer: memoryview) -> int:
    """Read until `buffer` is full or the stream ends; return the byte count."""
    filled = 0
    while filled < len(buffer):
        count = read_into(stream, buffer[filled:])
        if count == 0:
            break
        filled += count
    return filled


def check_expectations(
    key: str, size: int, digest: str, expected_size: int | None, expected_sha256: str | None
) -> None:
    """Raise `IntegrityError` when the bytes read differ from what the caller declared."""
    if expected_size is not None and size != expected_size:
        raise IntegrityError(f"{key!r}: the stream gave {size} bytes, {expected_size} were declared")
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise IntegrityError(f"{key!r}: SHA-256 of the stream is {digest}, {expected_sha256} was declared")


def make_stores(settings: Settings) -> list[ObjectStore]:
    """One store per configured location (default: folders `<home>/storage/copy-1` and `copy-2`).

    Refuses a configuration that cannot give independent copies (R-ST-2): fewer locations than
    `storage.min_copies`, a repeated id, or two locations sharing a folder or a bucket area.
    A default local folder is created when absent; a configured one must already exist (a
    missing mount point must not silently fill the system disk).
    """
    from archive_core.storage.local import LocalStore

    locations = settings.storage.locations
    _check_independent(settings, locations)
    stores: list[ObjectStore] = []
    for location in locations:
        if location.kind == "local":
            stores.append(LocalStore(location.id, settings.location_path(location), create=location.path is None))
        else:
            stores.append(_make_s3_store(location))
    return stores


def _make_s3_store(location: Location) -> ObjectStore:
    from archive_core.storage.s3 import S3Store

    if not location.bucket:
        raise StorageError(f"storage location {location.id!r} is of kind s3 but names no bucket")
    return S3Store(
        location.id,
        location.bucket,
        endpoint_url=location.endpoint_url,
        region=location.region,
        access_key_id=location.access_key_id,
        secret_access_key=location.secret_access_key,
        prefix=location.prefix,
    )


def _check_independent(settings: Settings, locations: list[Location]) -> None:
    if len(locations) < settings.storage.min_copies:
        raise StorageError(
            f"{len(locations)} storage location(s) configured, at least {settings.storage.min_copies} required"
        )
    ids = [location.id for location in locations]
    if len(set(ids)) != len(ids):
        raise StorageError(f"storage location ids must be unique: {ids}")
    folders: list[tuple[str, Path]] = []
    areas: list[tuple[str, tuple[str, str], str]] = []
    for location in locations:
        if location.kind == "local":
            folders.append((location.id, settings.location_path(location).resolve()))
        else:
            where = (location.endpoint_url or "aws", location.bucket or "")
            prefix = location.prefix.strip("/")
            areas.append((location.id, where, prefix + "/" if prefix else ""))
    for index, (first_id, first) in enumerate(folders):
        for second_id, second in folders[index + 1 :]:
            if first == second or first.is_relative_to(second) or second.is_relative_to(first):
                raise StorageError(f"locations {first_id!r} and {second_id!r} share a folder: {first}, {second}")
    for index, (first_id, first_where, first_prefix) in enumerate(areas):
        for second_id, second_where, second_prefix in areas[index + 1 :]:
            overlapping = first_prefix.startswith(second_prefix) or second_prefix.startswith(first_prefix)
            if first_where == second_where and overlapping:
                raise StorageError(f"locations {first_id!r} and {second_id!r} share bucket {first_where[1]!r}")
