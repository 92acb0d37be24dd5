"""Ingest onto a real S3 server (SeaweedFS) beside a local copy: encryption at rest, a location that is down."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from sqlalchemy import select

from archive_core.catalog import DossierRow, SubmissionRow, SubmissionState
from archive_core.settings import Location, Settings
from ingest.archive import IngestError, ingest_package, object_key, open_archive, recover
from ingest.generator import generate_dossier, write_tt05_sip
from tests import s3_fixtures
from tests.services import free_port
from tests.services_s3 import SeaweedServer

seaweed = s3_fixtures.seaweed
make_bucket = s3_fixtures.make_bucket


def _settings(home: Path, s3: Location) -> Settings:
    settings = Settings(home=home, workers=2)
    settings.virus.enabled = False
    settings.storage.locations = [Location(id="local-a"), s3]
    return settings


def _s3_location(server: SeaweedServer, bucket: str, *, endpoint: str | None = None) -> Location:
    return Location(
        id="s3-b", kind="s3", bucket=bucket, endpoint_url=endpoint or server.endpoint, region=server.region,
        access_key_id=server.access_key, secret_access_key=server.secret_key,
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    generated = generate_dossier(seed=31, documents=2, doc_bytes=20_000)
    out = tmp_path_factory.mktemp("s3-package")
    pdf = generated.documents[0].files[0].read_bytes()
    return write_tt05_sip(generated, out), pdf


def test_copies_on_s3_are_encrypted_and_verified(
    seaweed: SeaweedServer, make_bucket: s3_fixtures.MakeBucket, package: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, pdf = package
    bucket = make_bucket()
    archive = open_archive(_settings(tmp_path / "home", _s3_location(seaweed, bucket)))
    result = ingest_package(path, archive)
    assert result.state == "archived" and result.locations == ["local-a", "s3-b"]
    client = boto3.client(
        "s3", endpoint_url=seaweed.endpoint, region_name=seaweed.region,
        aws_access_key_id=seaweed.access_key, aws_secret_access_key=seaweed.secret_key,
    )
    assert result.aip_id is not None
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"aips/{result.aip_id}/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert keys, "objects are on S3"
    original = next(k for k in keys if k.endswith(".pdf") and "/rep1/data/" in k)
    stored = client.get_object(Bucket=bucket, Key=original)["Body"].read()
    assert b"%PDF" not in stored and pdf[200:260] not in stored, "nothing is stored in the clear"
    with archive.catalog.session(readonly=True) as session:
        row = session.scalars(select(DossierRow)).one()
        on_s3 = [c for c in row.copies if c.location_id == "s3-b"]
        assert {c.object_key for c in on_s3} == set(keys)
        assert all(c.state.value == "verified" for c in on_s3)
        assert object_key(result.aip_id, "bagit.txt") in {c.object_key for c in on_s3}


def make_bucket_for(server: SeaweedServer, name: str) -> None:
    client = boto3.client(
        "s3", endpoint_url=server.endpoint, region_name=server.region,
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
    )
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def test_a_location_that_is_down_fails_cleanly(
    seaweed: SeaweedServer, package: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, _ = package
    down = _s3_location(seaweed, "never-reached", endpoint=f"http://127.0.0.1:{free_port()}")
    settings = _settings(tmp_path / "home", down)
    archive = open_archive(settings)
    with pytest.raises(IngestError) as failure:
        ingest_package(path, archive)
    assert "bản sao" in failure.value.message_vi
    with archive.catalog.session(readonly=True) as session:
        states = [row.state.value for row in session.scalars(select(DossierRow))]
        assert states == ["pending"], "nothing is reported archived with one copy; the row waits for cleanup"
        submission = session.scalars(select(SubmissionRow)).one()
        assert submission.state is SubmissionState.FAILED
    assert list(archive.store("local-a").list("aips/")) == [], "the copy that was written is rolled back"
    report = recover(archive)
    assert len(report.still_pending) == 1, "the unreachable location is retried, never forgotten"
    settings.storage.locations = [settings.storage.locations[0], _s3_location(seaweed, "back-again")]
    make_bucket_for(seaweed, "back-again")
    report = recover(open_archive(settings))
    assert report.rolled_back and not report.still_pending
    assert archive.audit.verify().ok
    again = ingest_package(path, open_archive(settings))
    assert again.state == "archived", "the submission can be sent again"
