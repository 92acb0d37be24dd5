"""S3Store specifics on a real SeaweedFS server: versions, metadata, multipart, outages, memory.

moto is never used here: it accepts things real servers refuse (see environment notes),
and `test_the_s3_tests_talk_to_seaweedfs_not_moto` keeps it that way.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from archive_core.storage import LocationUnavailable, ObjectMissing, StorageError
from archive_core.storage.s3 import MIN_PART_BYTES, S3Store
from tests import s3_fixtures
from tests.services import free_port
from tests.services_s3 import PatternStream, SeaweedServer

seaweed = s3_fixtures.seaweed
make_bucket = s3_fixtures.make_bucket
make_s3_store = s3_fixtures.make_s3_store

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
MakeStore = Callable[..., S3Store]


def versions_of(store: S3Store, key: str) -> tuple[list[str], list[str]]:
    """Version ids and delete-marker ids of exactly this key, read with a plain client."""
    client = store._client
    full = store.prefix + key
    page = client.list_object_versions(Bucket=store.bucket, Prefix=full)
    versions = [item["VersionId"] for item in page.get("Versions", []) if item["Key"] == full]
    markers = [item["VersionId"] for item in page.get("DeleteMarkers", []) if item["Key"] == full]
    return versions, markers


def uploads_of(store: S3Store) -> list[str]:
    page = store._client.list_multipart_uploads(Bucket=store.bucket)
    return [upload["Key"] for upload in page.get("Uploads", [])]


def binary(stream: io.RawIOBase) -> BinaryIO:
    return cast(BinaryIO, stream)


def read_all(store: S3Store, key: str) -> bytes:
    with store.open(key) as reader:
        return reader.read()


def test_each_put_is_one_version_and_delete_removes_every_version(make_s3_store: MakeStore) -> None:
    store = make_s3_store(part_bytes=MIN_PART_BYTES)
    key = "aips/aip-1/data/hồ sơ.pdf"
    neighbour = key + ".sig"
    store.put(neighbour, io.BytesIO(b"a different key with the same beginning"))
    first = store.put(key, io.BytesIO(b"first"))
    second = store.put(key, binary(PatternStream(12 * MIB)))  # multipart: its interim version is dropped
    third = store.put(key, io.BytesIO(b"third"))
    versions, markers = versions_of(store, key)
    assert sorted(versions) == sorted(str(made.version_id) for made in (first, second, third))
    assert markers == []
    store._client.delete_object(Bucket=store.bucket, Key=key)  # a plain delete only adds a marker
    versions, markers = versions_of(store, key)
    assert (len(versions), len(markers)) == (3, 1)

    store.delete(key)

    assert versions_of(store, key) == ([], [])
    assert store.stat(key) is None
    assert read_all(store, neighbour) == b"a different key with the same beginning"
    assert len(versions_of(store, neighbour)[0]) == 1


def test_delete_prefix_removes_every_version_under_it(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    for round_ in range(2):
        for name in ("a", "b/c", "b/d"):
            store.put(f"aips/aip-1/{name}", io.BytesIO(f"{round_}".encode()))
    store.put("aips/aip-10/a", io.BytesIO(b"keep"))
    assert store.delete_prefix("aips/aip-1/") == 3
    page = store._client.list_object_versions(Bucket=store.bucket)
    assert [item["Key"] for item in page.get("Versions", [])] == ["aips/aip-10/a"]
    assert page.get("DeleteMarkers", []) == []


def test_batch_deletes_carry_content_md5_for_older_servers(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    sent: list[dict[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append(dict(request.headers.items()))

    store._client.meta.events.register("before-send.s3.DeleteObjects", capture)
    store.put("a/1", io.BytesIO(b"1"))
    assert store.delete_prefix("a/") == 1
    assert sent and all("Content-MD5" in headers for headers in sent)


def test_sha256_is_recorded_as_object_metadata(make_s3_store: MakeStore) -> None:
    store = make_s3_store(part_bytes=MIN_PART_BYTES)
    size = 2 * MIN_PART_BYTES + 99
    stored = store.put("big.bin", binary(PatternStream(size)))
    assert stored.sha256 == PatternStream.sha256(size)
    head = store._client.head_object(Bucket=store.bucket, Key="big.bin")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-meta-sha256"] == stored.sha256
    assert head["ContentLength"] == size
    assert head["VersionId"] == stored.version_id
    assert versions_of(store, "big.bin") == ([str(stored.version_id)], [])
    assert store.sha256("big.bin") == stored.sha256


def test_objects_above_the_copy_limit_are_copied_by_parts(make_s3_store: MakeStore) -> None:
    store = make_s3_store(part_bytes=MIN_PART_BYTES, max_copy_bytes=MIN_PART_BYTES)
    size = 2 * MIN_PART_BYTES + 4321
    stored = store.put("huge.bin", binary(PatternStream(size, seed=11)))
    found = store.stat("huge.bin")
    assert found is not None
    assert (found.size, found.version_id) == (size, stored.version_id)
    assert found.sha256 == PatternStream.sha256(size, seed=11)
    assert store.sha256("huge.bin") == found.sha256
    assert versions_of(store, "huge.bin") == ([str(stored.version_id)], [])


def test_a_known_sha256_is_sent_with_the_upload(make_s3_store: MakeStore) -> None:
    store = make_s3_store(part_bytes=MIN_PART_BYTES)
    size = MIN_PART_BYTES + 1
    digest = PatternStream.sha256(size)
    stored = store.put("k", binary(PatternStream(size)), sha256=digest)
    assert store._client.head_object(Bucket=store.bucket, Key="k")["Metadata"] == {"sha256": digest}
    assert versions_of(store, "k") == ([str(stored.version_id)], [])


def test_unversioned_bucket(make_s3_store: MakeStore) -> None:
    store = make_s3_store(versioning=False, part_bytes=MIN_PART_BYTES)
    assert store.versioning_status() is None
    store.put("k", binary(PatternStream(MIN_PART_BYTES + 10)))
    stored = store.put("k", io.BytesIO(b"small"))
    found = store.stat("k")
    assert found is not None and found.sha256 == stored.sha256
    assert read_all(store, "k") == b"small"
    store.delete("k")
    assert versions_of(store, "k") == ([], [])
    assert list(store.list()) == []


def test_delete_aborts_unfinished_uploads_of_the_key(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    client = store._client
    for key in ("aips/x/a", "aips/x/b", "other"):
        upload = client.create_multipart_upload(Bucket=store.bucket, Key=key)
        client.upload_part(Bucket=store.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"part")
    store.delete("aips/x/a")
    assert sorted(uploads_of(store)) == ["aips/x/b", "other"]
    assert store.delete_prefix("aips/x/") == 0  # no object, but the unfinished upload goes too
    assert uploads_of(store) == ["other"]
    assert store.cleanup_incomplete(older_than_seconds=3600) == 0
    assert store.cleanup_incomplete() == 1
    assert uploads_of(store) == []


def test_prefix_keeps_locations_apart_in_one_bucket(make_s3_store: MakeStore, make_bucket: Callable[..., str]) -> None:
    bucket = make_bucket()
    first = make_s3_store(bucket=bucket, prefix="copy-a")
    second = make_s3_store(bucket=bucket, prefix="/copy-b/")
    first.put("k", io.BytesIO(b"a"))
    second.put("k", io.BytesIO(b"b"))
    raw = store_keys = sorted(item["Key"] for item in first._client.list_objects_v2(Bucket=bucket)["Contents"])
    assert raw == ["copy-a/k", "copy-b/k"]
    assert [found.key for found in first.list()] == ["k"]
    assert store_keys == raw
    assert first.delete_prefix("k") == 1
    assert read_all(second, "k") == b"b"


def test_listing_and_deleting_many_objects_goes_past_one_page(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    keys = {f"many/{number:04d}-tệp" for number in range(1050)}
    for key in keys:
        store.put(key, io.BytesIO(b""))
    assert sorted(found.key for found in store.list("many/")) == sorted(keys)
    assert store.delete_prefix("many/") == len(keys)
    assert list(store.list()) == []
    assert store._client.list_object_versions(Bucket=store.bucket).get("Versions", []) == []


def test_ensure_bucket_creates_a_versioned_bucket(seaweed: SeaweedServer) -> None:
    store = S3Store(
        "s3-new",
        f"new-{uuid.uuid4().hex[:20]}",
        endpoint_url=seaweed.endpoint,
        access_key_id=seaweed.access_key,
        secret_access_key=seaweed.secret_key,
    )
    assert store.healthy() is False
    with pytest.raises(LocationUnavailable):
        store.stat("k")
    with pytest.raises(LocationUnavailable):
        store.put("k", io.BytesIO(b"x"))
    store.ensure_bucket()
    store.ensure_bucket()  # idempotent
    try:
        assert store.healthy() is True
        assert store.versioning_status() == "Enabled"
        assert store.stat("k") is None
    finally:
        store._client.delete_bucket(Bucket=store.bucket)


def test_wrong_credentials_are_a_storage_error_not_a_missing_object(seaweed: SeaweedServer, make_bucket: Any) -> None:
    bucket = make_bucket()
    store = S3Store(
        "s3-bad",
        bucket,
        endpoint_url=seaweed.endpoint,
        access_key_id=seaweed.access_key,
        secret_access_key="not-the-secret",
    )
    for operation in (lambda: store.stat("k"), lambda: store.put("k", io.BytesIO(b"x")), lambda: store.open("k")):
        with pytest.raises(StorageError) as caught:
            operation()
        assert not isinstance(caught.value, ObjectMissing | LocationUnavailable)
    assert store.healthy() is False


def test_a_closed_endpoint_is_unavailable_within_seconds() -> None:
    store = S3Store(
        "s3-down",
        "bucket",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="k",
        secret_access_key="s",
    )
    operations: dict[str, Callable[[], object]] = {
        "put": lambda: store.put("k", io.BytesIO(b"x")),
        "stat": lambda: store.stat("k"),
        "open": lambda: store.open("k"),
        "sha256": lambda: store.sha256("k"),
        "list": lambda: list(store.list()),
        "delete": lambda: store.delete("k"),
        "delete_prefix": lambda: store.delete_prefix("aips/"),
    }
    for name, operation in operations.items():
        started = time.monotonic()
        with pytest.raises(LocationUnavailable):
            operation()
        assert time.monotonic() - started < 5, name
    started = time.monotonic()
    assert store.healthy() is False
    assert time.monotonic() - started < 2


class KillsServerAfter(PatternStream):
    """Crashes the server once `after` bytes have been read (in the middle of a multipart upload)."""

    def __init__(self, size: int, server: SeaweedServer, after: int) -> None:
        super().__init__(size)
        self._server = server
        self._after = after
        self._read = 0

    def readinto(self, buffer: Any) -> int:
        if self._read >= self._after and self._server.running:
            self._server.kill()
        count = super().readinto(buffer)
        self._read += count
        return count


@pytest.mark.slow
def test_server_outages_leave_nothing_visible(tmp_path: Path) -> None:
    server = SeaweedServer(tmp_path / "seaweedfs")
    server.start()
    try:
        client = server.client()
        client.create_bucket(Bucket="outage")
        client.put_bucket_versioning(Bucket="outage", VersioningConfiguration={"Status": "Enabled"})
        store = S3Store(
            "s3-outage",
            "outage",
            endpoint_url=server.endpoint,
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            part_bytes=MIN_PART_BYTES,
        )
        store.put("kept", io.BytesIO(b"kept"))

        server.stop()
        started = time.monotonic()
        with pytest.raises(LocationUnavailable):
            store.put("written-while-down", io.BytesIO(b"x"))
        assert time.monotonic() - started < 5
        assert store.healthy() is False

        server.start()
        assert store.stat("written-while-down") is None
        assert read_all(store, "kept") == b"kept"

        started = time.monotonic()
        with pytest.raises(LocationUnavailable):
            store.put("crashed", binary(KillsServerAfter(3 * MIN_PART_BYTES, server, after=MIN_PART_BYTES + 1)))
        assert time.monotonic() - started < 10
        assert not server.running

        server.start()
        assert store.stat("crashed") is None
        assert [found.key for found in store.list()] == ["kept"]
        assert uploads_of(store) == ["crashed"]  # the unfinished upload survived the crash, invisible
        assert store.cleanup_incomplete() == 1
        assert uploads_of(store) == []
    finally:
        server.stop()


def test_the_s3_tests_talk_to_seaweedfs_not_moto(seaweed: SeaweedServer, make_s3_store: MakeStore) -> None:
    answer = seaweed.client().list_buckets()
    assert answer["ResponseMetadata"]["HTTPHeaders"]["server"].startswith("SeaweedFS")
    store = make_s3_store()
    assert store._client.meta.endpoint_url == seaweed.endpoint
    probe = "import sys, archive_core.storage.s3, tests.s3_fixtures, tests.services_s3; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    assert "moto" not in loaded


MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from archive_core.storage.s3 import S3Store
    from tests.services_s3 import PatternStream

    def peak_rss_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    endpoint, bucket, access, secret, size = sys.argv[1:6]
    size = int(size)
    store = S3Store("s3-mem", bucket, endpoint_url=endpoint, access_key_id=access, secret_access_key=secret,
                    part_bytes=64 * 1024 * 1024)
    store.healthy()
    baseline = peak_rss_mib()
    started = time.monotonic()
    stored = store.put("aips/aip-big/data/big.bin", PatternStream(size), size=size)
    put_seconds = time.monotonic() - started
    started = time.monotonic()
    read_back = store.sha256("aips/aip-big/data/big.bin")
    read_seconds = time.monotonic() - started
    found = store.stat("aips/aip-big/data/big.bin")
    print(json.dumps({
        "size": found.size, "put_sha256": stored.sha256, "stat_sha256": found.sha256, "read_sha256": read_back,
        "baseline_mib": baseline, "peak_mib": peak_rss_mib(), "put_s": put_seconds, "read_s": read_seconds,
    }))
    """
)


@pytest.mark.slow
def test_a_300_mb_object_streams_through_bounded_memory(
    seaweed: SeaweedServer, make_bucket: Callable[..., str], record_property: Callable[[str, object], None]
) -> None:
    size = 300 * MIB
    bucket = make_bucket()
    arguments = [seaweed.endpoint, bucket, seaweed.access_key, seaweed.secret_key, str(size)]
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for name, value in report.items():
        record_property(name, value)
    print(f"\n300 MB through S3Store: {report}")
    expected = PatternStream.sha256(size)
    assert report["size"] == size
    assert report["put_sha256"] == report["stat_sha256"] == report["read_sha256"] == expected
    assert report["peak_mib"] < 150, report
