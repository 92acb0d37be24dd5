"""S3 fixtures backed by a real SeaweedFS server (never moto: see docs/storage.md).

Import them into a test module: `from tests.s3_fixtures import make_bucket, make_s3_store, seaweed`.
The server is started once per session (per xdist worker); each test gets fresh buckets.
If the server cannot start, the tests FAIL with the reason: they are never skipped.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from archive_core.storage.s3 import S3Store
from tests.services_s3 import SeaweedServer, SeaweedUnavailable

MakeBucket = Callable[..., str]
MakeS3Store = Callable[..., S3Store]


_shared: SeaweedServer | None = None
_users = 0


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A running SeaweedFS (`weed mini`) on loopback: `.endpoint`, `.access_key`, `.secret_key`, `.region`.

    Each test module that imports this fixture registers its own copy of it; they share one server.
    """
    global _shared, _users
    if _shared is None or not _shared.running:
        server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs"))
        try:
            server.start()
        except SeaweedUnavailable as exc:
            server.stop()
            pytest.fail(f"cannot start the SeaweedFS test server: {exc}", pytrace=False)
        _shared = server
    server = _shared
    _users += 1
    try:
        yield server
    finally:
        _users -= 1
        if _users == 0:
            server.stop()
            _shared = None


@pytest.fixture
def make_bucket(seaweed: SeaweedServer) -> Iterator[MakeBucket]:
    """`make_bucket(versioning=True) -> name`: a fresh bucket, emptied and removed after the test."""
    client = seaweed.client()
    made: list[str] = []

    def factory(*, versioning: bool = True) -> str:
        name = f"t-{uuid.uuid4().hex[:24]}"
        client.create_bucket(Bucket=name)
        if versioning:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        made.append(name)
        return name

    yield factory
    if seaweed.running:
        for name in made:
            _remove_bucket(client, name)


@pytest.fixture
def make_s3_store(seaweed: SeaweedServer, make_bucket: MakeBucket) -> MakeS3Store:
    """`make_s3_store(versioning=True, **S3Store options) -> S3Store` on a fresh bucket of the test server."""

    def factory(*, versioning: bool = True, location_id: str = "s3-test", **options: Any) -> S3Store:
        bucket = options.pop("bucket", None) or make_bucket(versioning=versioning)
        return S3Store(
            location_id,
            bucket,
            endpoint_url=options.pop("endpoint_url", seaweed.endpoint),
            region=seaweed.region,
            access_key_id=seaweed.access_key,
            secret_access_key=seaweed.secret_key,
            **options,
        )

    return factory


def _remove_bucket(client: Any, name: str) -> None:
    """Best effort: free the server's disk between tests (`weed mini` deletes a non-empty bucket whole)."""
    with contextlib.suppress(ClientError, BotoCoreError):
        client.delete_bucket(Bucket=name)
