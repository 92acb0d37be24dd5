"""A storage location in a local folder (a disk, a mounted NAS share).

Crash safety: an object is written to a temporary file in its final folder, fsynced and
renamed over its name, then the folder is fsynced; a crash leaves either the old state
or the new one, plus at most a temp file (`.earchive-tmp-*`) that no listing shows and
`cleanup_temp()` removes. The SHA-256 computed while writing is also kept in the
extended attribute `user.earchive.sha256` when the file system allows it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat as stat_mode
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from archive_core.storage.base import (
    CHUNK_BYTES,
    TEMP_PREFIX,
    InvalidKey,
    LocationUnavailable,
    ObjectMissing,
    StorageError,
    StoredObject,
    check_expectations,
    read_into,
    stream_sha256,
    validate_key,
    validate_prefix,
)

FILE_MODE = 0o640
DIR_MODE = 0o750
XATTR_SHA256 = "user.earchive.sha256"
_OPEN_TEMP_ATTEMPTS = 3
_SYNC_THREADS = 8


class LocalStore:
    """Objects as files under `root`; the key `a/b/c.pdf` is the file `root/a/b/c.pdf`."""

    def __init__(
        self, location_id: str, root: str | os.PathLike[str], *, create: bool = False, chunk_bytes: int = CHUNK_BYTES
    ) -> None:
        """`create`: make `root` (0750) when absent; otherwise a missing root makes the location unavailable."""
        self.location_id = location_id
        self.root = Path(root).absolute()
        self._chunk_bytes = chunk_bytes
        self._unsynced: set[Path] = set()
        self._unsynced_lock = threading.Lock()
        if create:
            self._create_root()

    def __repr__(self) -> str:
        return f"LocalStore({self.location_id!r}, {str(self.root)!r})"

    # -- writing -----------------------------------------------------------------------------

    def put(
        self, key: str, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None, durable: bool = True
    ) -> StoredObject:
        """Write atomically (temp file + rename). `durable=False` defers the fsyncs to `sync()`:
        a batch of objects then costs one round of parallel fsyncs instead of two per object."""
        path = self._path(key)
        self._require_root()
        fd, temp = self._open_temp(path.parent)
        try:
            written, digest = self._copy_into(fd, stream, size)
            check_expectations(key, written, digest, size, sha256)
            if durable:
                _fsync(fd, temp)
            _record_sha256(fd, digest)
        except BaseException:
            os.close(fd)
            _unlink_quietly(temp)
            raise
        os.close(fd)
        try:
            os.replace(temp, path)
        except OSError as exc:
            _unlink_quietly(temp)
            raise StorageError(f"{self.location_id}: cannot store {key!r}: {exc}") from exc
        if durable:
            _fsync_dir(path.parent)
        else:
            with self._unsynced_lock:
                self._unsynced.add(path)
        return StoredObject(key=key, size=written, sha256=digest)

    def sync(self) -> None:
        with self._unsynced_lock:
            files, self._unsynced = sorted(self._unsynced), set()
        if not files:
            return
        folders = sorted({path.parent for path in files})
        with ThreadPoolExecutor(max_workers=_SYNC_THREADS, thread_name_prefix="fsync") as pool:
            list(pool.map(_fsync_path, files))
            list(pool.map(_fsync_dir, folders))

    def delete(self, key: str) -> None:
        path = self._path(key)
        self._require_root()
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"{self.location_id}: cannot delete {key!r}: {exc}") from exc
        _fsync_dir(path.parent)
        self._prune_empty_folders(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix, allow_empty=False)
        keys = [found.key for found in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def cleanup_temp(self, *, older_than_seconds: float = 0.0) -> int:
        """Remove temp files of interrupted puts (older than this); returns how many.

        Run it on start-up before writers start, or pass an age longer than any put takes:
        removing a live put's temp file makes that put fail (safely, nothing is stored).
        """
        self._require_root()
        cutoff = time.time() - older_than_seconds
        removed = 0
        for folder, _dirs, files in os.walk(self.root):
            touched = False
            for name in files:
                candidate = os.path.join(folder, name)
                if name.startswith(TEMP_PREFIX) and _mtime(candidate) <= cutoff:
                    _unlink_quietly(candidate)
                    removed += 1
                    touched = True
            if touched:
                _fsync_dir(Path(folder))
        return removed

    def cleanup_incomplete(self, *, older_than_seconds: float = 0.0) -> int:
        return self.cleanup_temp(older_than_seconds=older_than_seconds)

    # -- reading -----------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError) as exc:
            self._require_root()
            raise ObjectMissing(f"{self.location_id}: no object {key!r}") from exc
        except OSError as exc:
            raise StorageError(f"{self.location_id}: cannot open {key!r}: {exc}") from exc
        if not stat_mode.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectMissing(f"{self.location_id}: no object {key!r} (a folder)")
        return os.fdopen(fd, "rb", buffering=self._chunk_bytes)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            info = os.stat(path, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            self._require_root()
            return None
        except OSError as exc:
            raise StorageError(f"{self.location_id}: cannot stat {key!r}: {exc}") from exc
        if not stat_mode.S_ISREG(info.st_mode):
            return None
        return StoredObject(key=key, size=info.st_size, sha256=_recorded_sha256(path))

    def sha256(self, key: str) -> str:
        with self.open(key) as reader:
            return stream_sha256(reader, memoryview(bytearray(self._chunk_bytes)))[1]

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        validate_prefix(prefix)
        self._require_root()
        folder_key = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder_key.split("/")) if folder_key else self.root
        if start.is_symlink():
            return
        yield from self._walk(start, folder_key, prefix)

    def healthy(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)

    # -- helpers -----------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _require_root(self) -> None:
        if not self.root.is_dir():
            raise LocationUnavailable(f"{self.location_id}: storage folder {self.root} is missing (not mounted?)")

    def _create_root(self) -> None:
        missing: list[Path] = []
        folder = self.root
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        try:
            for created in reversed(missing):
                _make_folder(created)
        except OSError as exc:
            raise LocationUnavailable(f"{self.location_id}: cannot create {self.root}: {exc}") from exc

    def _open_temp(self, folder: Path) -> tuple[int, str]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        for attempt in range(_OPEN_TEMP_ATTEMPTS):
            self._make_parents(folder)
            temp = os.path.join(folder, TEMP_PREFIX + secrets.token_hex(8))
            try:
                fd = os.open(temp, flags, FILE_MODE)
            except FileNotFoundError:
                # A concurrent delete pruned the folder we just made: make it again.
                if attempt + 1 == _OPEN_TEMP_ATTEMPTS:
                    raise StorageError(f"{self.location_id}: folder {folder} keeps disappearing") from None
                continue
            except OSError as exc:
                raise StorageError(f"{self.location_id}: cannot write in {folder}: {exc}") from exc
            os.fchmod(fd, FILE_MODE)
            return fd, temp
        raise AssertionError("unreachable")

    def _make_parents(self, folder: Path) -> None:
        current = self.root
        for part in folder.relative_to(self.root).parts:
            current = current / part
            try:
                _make_folder(current)
            except FileExistsError:
                if current.is_symlink() or not current.is_dir():
                    raise StorageError(
                        f"{self.location_id}: {current} is a file or link, not a folder: "
                        "a key cannot be the folder of another key"
                    ) from None
            except OSError as exc:
                raise StorageError(f"{self.location_id}: cannot create folder {current}: {exc}") from exc

    def _copy_into(self, fd: int, stream: BinaryIO, size: int | None) -> tuple[int, str]:
        """Copy the stream into `fd`, hashing on the way; stream errors pass through unchanged."""
        hasher = hashlib.sha256()
        buffer = memoryview(bytearray(self._chunk_bytes))
        written = 0
        while count := read_into(stream, buffer):
            chunk = buffer[:count]
            hasher.update(chunk)
            _write_all(fd, chunk)
            written += count
            if size is not None and written > size:
                break  # check_expectations reports the difference
        return written, hasher.hexdigest()

    def _prune_empty_folders(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                os.rmdir(folder)
                _fsync_dir(folder.parent)
            except (OSError, StorageError):
                return  # not empty, or a concurrent delete pruned it first
            folder = folder.parent

    def _walk(self, folder: Path | str, folder_key: str, prefix: str) -> Iterator[StoredObject]:
        try:
            with os.scandir(folder) as scan:
                entries = [(_sort_name(entry), entry) for entry in scan if not entry.name.startswith(TEMP_PREFIX)]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"{self.location_id}: cannot list {folder}: {exc}") from exc
        entries.sort(key=lambda pair: pair[0])
        for _, entry in entries:
            key = f"{folder_key}/{entry.name}" if folder_key else entry.name
            if not _is_valid_key(key):
                continue  # not written by a store (a name that is not valid UTF-8, ...)
            if entry.is_dir(follow_symlinks=False):
                below = key + "/"
                if below.startswith(prefix) or prefix.startswith(below):
                    yield from self._walk(entry.path, key, prefix)
            elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                yield StoredObject(key=key, size=entry.stat(follow_symlinks=False).st_size, sha256=None)


def _sort_name(entry: os.DirEntry[str]) -> bytes:
    """Sort keys in UTF-8 byte order like S3: a folder sorts as its name followed by '/'."""
    name = entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name
    return name.encode("utf-8", "surrogateescape")


def _is_valid_key(key: str) -> bool:
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True


def _make_folder(folder: Path) -> None:
    os.mkdir(folder, DIR_MODE)
    os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    _fsync_dir(folder.parent)


def _write_all(fd: int, data: memoryview) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise StorageError(f"cannot write: {exc}") from exc


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return  # deleted since it was written: nothing to make durable
    except OSError as exc:
        raise StorageError(f"cannot fsync {path}: {exc}") from exc
    try:
        _fsync(fd, str(path))
    finally:
        os.close(fd)


def _fsync(fd: int, name: str) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        raise StorageError(f"cannot fsync {name}: {exc}") from exc


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise StorageError(f"cannot open folder {folder}: {exc}") from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # some file systems cannot fsync a folder
            raise StorageError(f"cannot fsync folder {folder}: {exc}") from exc
    finally:
        os.close(fd)


def _record_sha256(fd: int, digest: str) -> None:
    setxattr = getattr(os, "setxattr", None)
    if setxattr is not None:
        with contextlib.suppress(OSError):  # not every file system keeps user attributes
            setxattr(fd, XATTR_SHA256, digest.encode("ascii"))


def _recorded_sha256(path: Path) -> str | None:
    getxattr = getattr(os, "getxattr", None)
    if getxattr is None:
        return None
    try:
        value = getxattr(path, XATTR_SHA256, follow_symlinks=False)
    except OSError:
        return None
    text = bytes(value).decode("ascii", "replace")
    return text if len(text) == 64 and all(char in "0123456789abcdef" for char in text) else None


def _mtime(path: str) -> float:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return float("inf")


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
