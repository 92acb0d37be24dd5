"""LocalStore specifics: crash safety, durability order, permissions, confinement; make_stores."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive_core.settings import Location, Settings, Storage
from archive_core.storage import (
    LocalStore,
    LocationUnavailable,
    ObjectMissing,
    StorageError,
    make_stores,
)
from archive_core.storage.base import TEMP_PREFIX
from archive_core.storage.local import XATTR_SHA256
from archive_core.storage.s3 import S3Store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore("local-test", tmp_path / "store", create=True)


def temp_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.name.startswith(TEMP_PREFIX))


CRASHING_WRITER = textwrap.dedent(
    """
    import io, sys, time
    from archive_core.storage.local import LocalStore

    class Stalls(io.RawIOBase):
        sent = 0
        def readable(self):
            return True
        def readinto(self, buffer):
            if self.sent >= 3 * 1024 * 1024:
                print("stalled", flush=True)
                time.sleep(600)
            count = min(len(buffer), 1 << 20)
            buffer[:count] = b"n" * count
            self.sent += count
            return count

    LocalStore("crash", sys.argv[1]).put("aips/aip-1/data/file.bin", Stalls())
    """
)


def test_a_writer_killed_mid_put_leaves_only_a_temp_file_that_cleanup_removes(store: LocalStore) -> None:
    key = "aips/aip-1/data/file.bin"
    store.put(key, io.BytesIO(b"the old, complete object"))
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(store.root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"stalled"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(10)
    leftovers = temp_files(store.root)
    assert len(leftovers) == 1
    assert leftovers[0].stat().st_size == 3 * 1024 * 1024
    assert leftovers[0].parent == store.root / "aips" / "aip-1" / "data"
    with store.open(key) as reader:
        assert reader.read() == b"the old, complete object"
    assert [found.key for found in store.list()] == [key]
    assert store.cleanup_temp(older_than_seconds=3600) == 0
    assert store.cleanup_temp() == 1
    assert temp_files(store.root) == []
    assert store.stat(key) is not None


def test_put_fsyncs_file_then_renames_then_fsyncs_folder(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        events.append(("rename", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    store.put("a/b.bin", io.BytesIO(b"data"))
    monkeypatch.undo()
    folder = str(store.root / "a")
    target = str(store.root / "a" / "b.bin")
    rename = events.index(("rename", target))
    file_syncs = [index for index, (kind, path) in enumerate(events) if kind == "fsync" and TEMP_PREFIX in path]
    assert file_syncs and max(file_syncs) < rename  # the data is durable before it gets its name
    assert ("fsync", folder) in events[rename + 1 :]  # and the name is durable before put returns
    assert ("fsync", str(store.root)) in events[:rename]  # the new folder's entry too


def test_permissions_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        store = LocalStore("perm", tmp_path / "a" / "root", create=True)
        store.put("x/y/z.bin", io.BytesIO(b"z"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((store.root / "x" / "y" / "z.bin").stat().st_mode) == 0o640
    for folder in (store.root, store.root / "x", store.root / "x" / "y"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750


def test_sha256_is_recorded_in_an_extended_attribute(store: LocalStore) -> None:
    stored = store.put("k", io.BytesIO(b"abc"))
    try:
        recorded = os.getxattr(store.root / "k", XATTR_SHA256).decode()
    except OSError:
        pytest.fail("this file system keeps no user xattrs: the test machine should (ext4, xfs, tmpfs ≥ 6.6)")
    assert recorded == stored.sha256
    (store.root / "k").write_bytes(b"abd")  # bit rot or tampering: stat keeps what was written
    found = store.stat("k")
    assert found is not None
    assert found.sha256 == stored.sha256 != store.sha256("k")


def test_delete_prunes_empty_folders_but_never_the_root(store: LocalStore) -> None:
    store.put("aips/aip-1/data/deep/file", io.BytesIO(b"1"))
    store.put("aips/aip-2/file", io.BytesIO(b"2"))
    store.delete("aips/aip-1/data/deep/file")
    assert not (store.root / "aips" / "aip-1").exists()
    assert (store.root / "aips" / "aip-2" / "file").exists()
    store.delete("aips/aip-2/file")
    assert list(store.root.iterdir()) == []
    assert store.root.is_dir()


def test_a_key_cannot_be_the_folder_of_another(store: LocalStore) -> None:
    store.put("a", io.BytesIO(b"file"))
    with pytest.raises(StorageError):
        store.put("a/b", io.BytesIO(b"x"))
    store.put("c/d", io.BytesIO(b"file"))
    with pytest.raises(StorageError):
        store.put("c", io.BytesIO(b"x"))
    assert temp_files(store.root) == []
    assert sorted(found.key for found in store.list()) == ["a", "c/d"]


def test_symbolic_links_do_not_lead_out_of_the_location(store: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not ours")
    (store.root / "link").symlink_to(outside)
    (store.root / "filelink").symlink_to(outside / "secret")
    with pytest.raises(StorageError):
        store.put("link/x", io.BytesIO(b"x"))
    assert sorted(path.name for path in outside.iterdir()) == ["secret"]
    with pytest.raises(StorageError):
        store.open("filelink")
    assert store.stat("filelink") is None
    assert list(store.list()) == []


def test_foreign_files_are_not_listed(store: LocalStore) -> None:
    store.put("ok", io.BytesIO(b"1"))
    with open(os.path.join(os.fsencode(store.root), b"\xff-not-utf8"), "wb") as handle:
        handle.write(b"foreign")
    (store.root / f"{TEMP_PREFIX}abc").write_bytes(b"unfinished")
    assert [found.key for found in store.list()] == ["ok"]


def test_listing_order_is_utf8_byte_order(store: LocalStore) -> None:
    keys = ["b", "a/c/d", "ab", "a.b", "a/b", "đ/1", "Z", "é"]
    for key in keys:
        store.put(key, io.BytesIO(b""))
    assert [found.key for found in store.list()] == sorted(keys, key=str.encode)


@pytest.fixture
def absent_root(tmp_path: Path) -> Iterator[LocalStore]:
    yield LocalStore("unmounted", tmp_path / "mnt" / "archive-disk")


def test_a_missing_root_is_an_unavailable_location_and_is_not_created(absent_root: LocalStore) -> None:
    store = absent_root
    assert store.healthy() is False
    with pytest.raises(LocationUnavailable):
        store.put("k", io.BytesIO(b"x"))
    with pytest.raises(LocationUnavailable):
        store.stat("k")
    with pytest.raises(LocationUnavailable):
        store.open("k")
    with pytest.raises(LocationUnavailable):
        list(store.list())
    with pytest.raises(LocationUnavailable):
        store.delete("k")
    assert not store.root.exists()


def test_open_of_missing_key_in_existing_root_is_object_missing(store: LocalStore) -> None:
    with pytest.raises(ObjectMissing):
        store.open("a/b")


def test_make_stores_default_is_two_local_folders(settings: Settings) -> None:
    stores = make_stores(settings)
    assert [type(store) for store in stores] == [LocalStore, LocalStore]
    assert [store.location_id for store in stores] == ["copy-1", "copy-2"]
    roots = [store.root for store in stores if isinstance(store, LocalStore)]
    assert roots == [settings.home.absolute() / "storage" / "copy-1", settings.home.absolute() / "storage" / "copy-2"]
    assert all(stat.S_IMODE(root.stat().st_mode) == 0o750 for root in roots)
    assert all(store.healthy() for store in stores)


def test_make_stores_mixed_locations(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    settings = Settings(
        home=tmp_path / "home",
        storage=Storage(
            locations=[
                Location(id="disk", path=disk),
                Location(
                    id="s3-b",
                    kind="s3",
                    bucket="archive-b",
                    endpoint_url="http://127.0.0.1:9",
                    region="ap-southeast-1",
                    access_key_id="k",
                    secret_access_key="s",
                    prefix="earchive",
                ),
            ]
        ),
    )
    local, remote = make_stores(settings)
    assert isinstance(local, LocalStore) and local.root == disk
    assert isinstance(remote, S3Store)
    assert (remote.location_id, remote.bucket, remote.prefix) == ("s3-b", "archive-b", "earchive/")
    assert remote.endpoint_url == "http://127.0.0.1:9"


def test_make_stores_does_not_create_a_configured_folder(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        storage=Storage(locations=[Location(id="a", path=tmp_path / "mnt-a"), Location(id="b", path=tmp_path / "b")]),
    )
    stores = make_stores(settings)
    assert not (tmp_path / "mnt-a").exists()
    assert [store.healthy() for store in stores] == [False, False]


@pytest.mark.parametrize(
    "locations",
    [
        [Location(id="only")],
        [Location(id="same"), Location(id="same", path=Path("/elsewhere"))],
        [Location(id="a", path=Path("/srv/x")), Location(id="b", path=Path("/srv/x"))],
        [Location(id="a", path=Path("/srv/x")), Location(id="b", path=Path("/srv/x/inner"))],
        [Location(id="a", kind="s3", bucket="bk"), Location(id="b", kind="s3", bucket="bk")],
        [Location(id="a", kind="s3", bucket="bk", prefix="x"), Location(id="b", kind="s3", bucket="bk", prefix="x/y")],
        [Location(id="a"), Location(id="b", kind="s3")],
    ],
    ids=["too-few", "same-id", "same-folder", "nested-folder", "same-bucket", "nested-prefix", "no-bucket"],
)
def test_make_stores_refuses_copies_that_are_not_independent(tmp_path: Path, locations: list[Location]) -> None:
    settings = Settings(home=tmp_path / "home", storage=Storage(locations=locations))
    with pytest.raises(StorageError):
        make_stores(settings)


def test_two_prefixes_of_one_bucket_are_accepted(tmp_path: Path) -> None:
    locations = [
        Location(id="a", kind="s3", bucket="bk", prefix="copy-a", endpoint_url="http://127.0.0.1:9"),
        Location(id="b", kind="s3", bucket="bk", prefix="copy-b", endpoint_url="http://127.0.0.1:9"),
    ]
    stores = make_stores(Settings(home=tmp_path, storage=Storage(locations=locations)))
    assert [store.location_id for store in stores] == ["a", "b"]


def test_deferred_durability_fsyncs_every_file_and_folder_at_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive_core.storage.local as local

    store = local.LocalStore("batch", tmp_path / "root", create=True)
    synced: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(local.os, "fsync", counting_fsync)
    for name in ("a/1.bin", "a/2.bin", "b/3.bin"):
        store.put(name, io.BytesIO(name.encode()), durable=False)
    objects = {f"{store.root}/a/1.bin", f"{store.root}/a/2.bin", f"{store.root}/b/3.bin"}
    assert not objects & set(synced), "no object is fsynced before sync() (new folders are, when made)"
    synced.clear()
    store.sync()
    root = str(store.root)
    assert objects | {f"{root}/a", f"{root}/b"} <= set(synced)
    synced.clear()
    store.sync()
    assert synced == [], "a second sync has nothing left to do"
