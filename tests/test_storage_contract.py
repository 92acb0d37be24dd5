"""One contract for every object store: LocalStore and S3Store on a real SeaweedFS server.

S3 stores here use the smallest part size S3 allows (5 MiB) so that 12 MiB objects go
through the multipart path (and the metadata copy) as production objects do.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from archive_core.storage import (
    IntegrityError,
    InvalidKey,
    LocalStore,
    ObjectMissing,
    ObjectStore,
    StoredObject,
)
from archive_core.storage.local import XATTR_SHA256
from archive_core.storage.s3 import MIN_PART_BYTES, S3Store
from tests import s3_fixtures

seaweed = s3_fixtures.seaweed
make_bucket = s3_fixtures.make_bucket
make_s3_store = s3_fixtures.make_s3_store

MULTIPART_BYTES = 2 * MIN_PART_BYTES + 1234567


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore("local-test", tmp_path / "store", create=True)
    factory: Callable[..., S3Store] = request.getfixturevalue("make_s3_store")
    return factory(part_bytes=MIN_PART_BYTES)


def payload(size: int, seed: int = 1) -> bytes:
    """Incompressible, reproducible bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def records_sha256(store: ObjectStore) -> bool:
    """S3 always keeps the SHA-256 in metadata; a local store when its file system keeps user xattrs."""
    if isinstance(store, S3Store):
        return True
    assert isinstance(store, LocalStore)
    probe = store.root / "xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, XATTR_SHA256, b"x")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


def binary(stream: Any) -> BinaryIO:
    return cast(BinaryIO, stream)


class ShortReads(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read, like a socket or a decrypting reader."""

    def __init__(self, data: bytes, step: int = 7777) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(self._step, len(buffer), len(self._data))
        buffer[:count] = self._data[:count]
        self._data = self._data[count:]
        return count


class ReadOnly:
    """Has `read` only (no `readinto`)."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size)


class FailsAfter(io.RawIOBase):
    """Gives `good` bytes, then raises: a source that breaks mid-transfer."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left == 0:
            raise OSError("source disk failed")
        count = min(len(buffer), self._left, 64 * 1024)
        buffer[:count] = b"\x5a" * count
        self._left -= count
        return count


def read_all(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as reader:
        return reader.read()


@pytest.mark.parametrize("size", [0, 1, 1000, MULTIPART_BYTES], ids=["empty", "one-byte", "small", "multipart"])
def test_put_returns_what_was_stored_and_reads_back(store: ObjectStore, size: int) -> None:
    data = payload(size, seed=size)
    key = "aips/aip-1/data/tệp tin số 1.pdf"
    stored = store.put(key, io.BytesIO(data), size=size)
    assert stored.key == key
    assert stored.size == size
    assert stored.sha256 == sha(data)
    assert read_all(store, key) == data
    assert store.sha256(key) == sha(data)
    found = store.stat(key)
    assert found is not None
    assert found.size == size
    assert found.sha256 == (sha(data) if records_sha256(store) else None)
    if isinstance(store, S3Store):
        assert found.version_id == stored.version_id is not None


def test_streams_with_short_reads_or_read_only(store: ObjectStore) -> None:
    data = payload(MULTIPART_BYTES, seed=3)
    assert store.put("short", binary(ShortReads(data))).sha256 == sha(data)
    assert store.put("readonly", binary(ReadOnly(data))).sha256 == sha(data)
    assert read_all(store, "short") == data
    assert store.sha256("readonly") == sha(data)


def test_open_reads_in_chunks(store: ObjectStore) -> None:
    data = payload(300_000, seed=4)
    store.put("x/y", io.BytesIO(data))
    with store.open("x/y") as reader:
        pieces = iter(lambda: reader.read(4096), b"")
        assert b"".join(pieces) == data


def test_overwrite_replaces_the_object(store: ObjectStore) -> None:
    store.put("k", io.BytesIO(b"first"))
    store.put("k", io.BytesIO(b"second version"))
    assert read_all(store, "k") == b"second version"
    assert keys_of(store.list()) == ["k"]


def test_missing_objects(store: ObjectStore) -> None:
    assert store.stat("no/such/key") is None
    with pytest.raises(ObjectMissing):
        store.open("no/such/key")
    with pytest.raises(ObjectMissing):
        store.sha256("no/such/key")
    store.delete("no/such/key")  # idempotent: destruction may be retried


def test_a_folder_is_not_an_object(store: ObjectStore) -> None:
    store.put("dir/file", io.BytesIO(b"x"))
    assert store.stat("dir") is None
    with pytest.raises(ObjectMissing):
        store.open("dir")


def keys_of(found: Iterable[StoredObject]) -> list[str]:
    """Listing order is not part of the contract (SeaweedFS does not sort like AWS): compare sorted."""
    return sorted(item.key for item in found)


def test_list_filters_by_string_prefix(store: ObjectStore) -> None:
    keys = ["b", "a/c/d", "ab", "a.b", "a/b", "aips/aip-1/x", "aips/aip-10/y", "đ/1", "z", "tệp/ñ"]
    for number, key in enumerate(keys):
        store.put(key, io.BytesIO(b"#" * number))
    everything = list(store.list())
    assert keys_of(everything) == sorted(keys)
    assert all(isinstance(found, StoredObject) and found.sha256 is None for found in everything)
    assert {found.key: found.size for found in everything} == {key: keys.index(key) for key in keys}
    assert keys_of(store.list("a/")) == ["a/b", "a/c/d"]
    assert keys_of(store.list("a")) == ["a.b", "a/b", "a/c/d", "ab", "aips/aip-1/x", "aips/aip-10/y"]
    assert keys_of(store.list("aips/aip-1/")) == ["aips/aip-1/x"]
    assert keys_of(store.list("aips/aip-1")) == ["aips/aip-1/x", "aips/aip-10/y"]
    assert keys_of(store.list("a/c/d")) == ["a/c/d"]
    assert keys_of(store.list("đ")) == ["đ/1"]
    assert list(store.list("nothing/")) == []


def test_delete_removes_only_that_object(store: ObjectStore) -> None:
    store.put("aips/a/1", io.BytesIO(b"one"))
    store.put("aips/a/2", io.BytesIO(b"two"))
    store.delete("aips/a/1")
    store.delete("aips/a/1")
    assert store.stat("aips/a/1") is None
    assert keys_of(store.list()) == ["aips/a/2"]
    assert read_all(store, "aips/a/2") == b"two"


def test_delete_prefix(store: ObjectStore) -> None:
    for key in ["aips/aip-1/a", "aips/aip-1/sub/b", "aips/aip-1/sub/c", "aips/aip-10/a", "other"]:
        store.put(key, io.BytesIO(key.encode()))
    assert store.delete_prefix("aips/aip-1/") == 3
    assert keys_of(store.list()) == ["aips/aip-10/a", "other"]
    assert store.delete_prefix("aips/aip-1/") == 0
    with pytest.raises(InvalidKey):
        store.delete_prefix("")


BAD_KEYS = [
    "",
    "/abs",
    "../up",
    "a/../../up",
    "a//b",
    "a/./b",
    "a/",
    "a\\b",
    "a\x00b",
    "a\nb",
    "a/.earchive-tmp-1234",
    "x" * 256,
    "a/" * 520,
    "\udcff",
]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_bad_keys_are_refused_everywhere(store: ObjectStore, bad: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(bad, io.BytesIO(b"x"))
    with pytest.raises(InvalidKey):
        store.stat(bad)
    with pytest.raises(InvalidKey):
        store.open(bad)
    with pytest.raises(InvalidKey):
        store.delete(bad)
    assert list(store.list()) == []


@pytest.mark.parametrize(
    "good", [100, MIN_PART_BYTES + 100, 2 * MIN_PART_BYTES + 100], ids=["single", "in-part-2", "in-part-3"]
)
def test_a_failing_stream_leaves_nothing_and_keeps_the_old_object(store: ObjectStore, good: int) -> None:
    store.put("k", io.BytesIO(b"old and good"))
    with pytest.raises(OSError, match="source disk failed"):
        store.put("k", binary(FailsAfter(good)))
    with pytest.raises(OSError, match="source disk failed"):
        store.put("new", binary(FailsAfter(good)))
    assert read_all(store, "k") == b"old and good"
    assert store.stat("new") is None
    assert keys_of(store.list()) == ["k"]
    assert store.cleanup_incomplete() == 0  # nothing was left behind to clean


@pytest.mark.parametrize("size", [1000, MULTIPART_BYTES], ids=["single", "multipart"])
def test_declared_size_or_sha256_must_match(store: ObjectStore, size: int) -> None:
    data = payload(size, seed=9)
    with pytest.raises(IntegrityError):
        store.put("k", io.BytesIO(data), size=size - 1)
    with pytest.raises(IntegrityError):
        store.put("k", io.BytesIO(data), size=size + 1)
    with pytest.raises(IntegrityError):
        store.put("k", io.BytesIO(data), sha256=sha(b"something else"))
    assert list(store.list()) == []
    assert store.cleanup_incomplete() == 0
    stored = store.put("k", io.BytesIO(data), size=size, sha256=sha(data).upper())
    assert stored.sha256 == sha(data)
    found = store.stat("k")
    assert found is not None
    assert found.sha256 == (sha(data) if records_sha256(store) else None)
    assert store.sha256("k") == sha(data)


def test_healthy(store: ObjectStore) -> None:
    assert store.healthy() is True
    assert isinstance(store, ObjectStore)
