"""A storage location in an S3 bucket: AWS S3, MinIO, Ceph RGW, SeaweedFS (boto3).

Writes stream through one part-sized buffer (default 64 MiB), so memory stays bounded
whatever the object size. The SHA-256 of the bytes sent is computed on the way and
recorded as user metadata `x-amz-meta-sha256`:
- an object that fits in one part is sent by one PutObject carrying the metadata;
- a larger one goes by multipart upload (each part with Content-MD5); S3 fixes metadata
  when the upload starts, before the hash is known, so the finished object is copied onto
  itself server-side with the metadata (CopyObject, or UploadPartCopy above 5 GiB) and the
  intermediate version is deleted. A caller that knows the SHA-256 in advance passes
  `sha256=` and the copy is skipped.
Nothing is visible under the key until the upload completes; a failed put aborts the
upload (or removes the versions it made), leaving any earlier object as it was.

Deletion removes every version and delete marker of the key and aborts unfinished
uploads of it (R-DS-2). Transport failures are retried a few times with backoff and then
raised as `LocationUnavailable`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import mmap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from archive_core.storage.base import (
    CHUNK_BYTES,
    InvalidKey,
    LocationUnavailable,
    ObjectMissing,
    StorageError,
    StoredObject,
    check_expectations,
    fill,
    stream_sha256,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from botocore.awsrequest import AWSRequest
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        CompleteMultipartUploadOutputTypeDef,
        ObjectIdentifierTypeDef,
    )

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_PART_BYTES = 64 * MIB
MIN_PART_BYTES = 5 * MIB
MAX_PART_BYTES = 5 * 1024 * MIB
MAX_PARTS = 10_000
MAX_COPY_BYTES = 5 * 1024 * MIB
"""Largest object CopyObject may copy in one request (an S3 limit); larger ones are copied by parts."""
DELETE_BATCH = 1000
META_SHA256 = "sha256"
"""User metadata name: sent as the `x-amz-meta-sha256` header."""
CONTENT_TYPE = "application/octet-stream"

_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404", "NoSuchVersion"})
_UNAVAILABLE_CODES = frozenset(
    {"NoSuchBucket", "ServiceUnavailable", "SlowDown", "RequestTimeout", "InternalError", "RequestTimeTooSkewed"}
)

T = TypeVar("T")


class S3Store:
    """Objects under `prefix` in one bucket; the key `a/b.pdf` is the S3 key `<prefix>a/b.pdf`."""

    def __init__(
        self,
        location_id: str,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        part_bytes: int = DEFAULT_PART_BYTES,
        connect_timeout: float = 3.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
        addressing_style: Literal["auto", "path", "virtual"] = "auto",
        max_copy_bytes: int = MAX_COPY_BYTES,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        """Credentials left out come from boto3's usual chain (environment, profile, instance role).

        `part_bytes`: multipart part size and also the threshold (an object that fits in one part
        is sent by a single PutObject); it bounds the memory a put uses. `addressing_style="auto"`
        means path style for a custom endpoint (MinIO, Ceph, SeaweedFS) and virtual hosts on AWS.
        `max_attempts` counts the first try; retries back off exponentially (botocore "standard" mode).
        """
        if not MIN_PART_BYTES <= part_bytes <= MAX_PART_BYTES:
            raise ValueError(f"part_bytes must be between {MIN_PART_BYTES} and {MAX_PART_BYTES}")
        if not MIN_PART_BYTES <= max_copy_bytes <= MAX_COPY_BYTES:
            raise ValueError(f"max_copy_bytes must be between {MIN_PART_BYTES} and {MAX_COPY_BYTES}")
        self.location_id = location_id
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = _normalise_prefix(prefix)
        self.part_bytes = part_bytes
        self.max_copy_bytes = max_copy_bytes
        self._chunk_bytes = chunk_bytes
        style = addressing_style if addressing_style != "auto" else ("path" if endpoint_url else "virtual")
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region or ("us-east-1" if endpoint_url else None),
        )
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": style},
            signature_version="s3v4",
            # Flexible checksums (CRC32 trailers) are not understood by every S3 server; we send
            # Content-MD5 ourselves and verify SHA-256 end to end instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            tcp_keepalive=True,
        )
        self._client: S3Client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._client.meta.events.register("before-sign.s3.DeleteObjects", _add_content_md5)
        probe_config = config.merge(
            Config(connect_timeout=min(connect_timeout, 2.0), read_timeout=5.0, retries={"max_attempts": 1})
        )
        self._probe: S3Client = session.client("s3", endpoint_url=endpoint_url, config=probe_config)

    def __repr__(self) -> str:
        return f"S3Store({self.location_id!r}, {self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    # -- bucket ------------------------------------------------------------------------------

    def ensure_bucket(self, *, versioning: bool = True) -> None:
        """Create the bucket when absent and (by default) turn versioning on."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _status(exc) != 404:
                raise self._translate(exc, "check bucket") from exc
            self._create_bucket()
        except BotoCoreError as exc:
            raise self._translate(exc, "check bucket") from exc
        if versioning:
            self._call(
                "enable versioning",
                "",
                self._client.put_bucket_versioning,
                Bucket=self.bucket,
                VersioningConfiguration={"Status": "Enabled"},
            )

    def versioning_status(self) -> str | None:
        """`Enabled`, `Suspended`, or None for a bucket that never had versioning."""
        response = self._call("read versioning", "", self._client.get_bucket_versioning, Bucket=self.bucket)
        return response.get("Status")

    def _create_bucket(self) -> None:
        region = self._client.meta.region_name
        if region and region != "us-east-1" and self.endpoint_url is None:
            self._call(
                "create bucket",
                "",
                self._client.create_bucket,
                Bucket=self.bucket,
                CreateBucketConfiguration={"LocationConstraint": region},
            )
        else:
            self._call("create bucket", "", self._client.create_bucket, Bucket=self.bucket)

    # -- writing -----------------------------------------------------------------------------

    def sync(self) -> None:
        """Nothing to do: S3 acknowledges a put only once the object is stored durably."""

    def put(
        self, key: str, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None, durable: bool = True
    ) -> StoredObject:
        full = self._full(key)
        part_bytes = self._part_bytes_for(size)
        hasher = hashlib.sha256()
        with _PartBuffer(part_bytes) as buffer:
            count = fill(stream, buffer.view)
            hasher.update(buffer.view[:count])
            if count < part_bytes:
                digest = hasher.hexdigest()
                check_expectations(key, count, digest, size, sha256)
                return self._put_single(key, full, buffer.view[:count], digest)
            return self._put_multipart(key, full, stream, buffer, hasher, size, sha256)

    def _put_single(self, key: str, full: str, body: memoryview, digest: str) -> StoredObject:
        response = self._call(
            "store",
            key,
            self._client.put_object,
            Bucket=self.bucket,
            Key=full,
            Body=_MemoryReader(body),
            ContentLength=len(body),
            ContentMD5=_md5_base64(body),
            ContentType=CONTENT_TYPE,
            Metadata={META_SHA256: digest},
        )
        return StoredObject(key=key, size=len(body), sha256=digest, version_id=response.get("VersionId"))

    def _put_multipart(
        self,
        key: str,
        full: str,
        stream: BinaryIO,
        buffer: _PartBuffer,
        hasher: Any,
        size: int | None,
        sha256: str | None,
    ) -> StoredObject:
        metadata = {META_SHA256: sha256.lower()} if sha256 else {}
        upload_id = self._start("start upload", key, full, metadata)
        try:
            total, parts = self._upload_parts(key, full, upload_id, stream, buffer, hasher, size)
            digest: str = hasher.hexdigest()
            check_expectations(key, total, digest, size, sha256)
            done = self._complete("finish upload", key, full, upload_id, parts)
        except BaseException:
            self._abort_quietly(full, upload_id)
            raise
        version: str | None = done.get("VersionId")
        if sha256 is None:
            version = self._record_sha256(key, full, version, total, digest)
        return StoredObject(key=key, size=total, sha256=digest, version_id=version)

    def _upload_parts(
        self,
        key: str,
        full: str,
        upload_id: str,
        stream: BinaryIO,
        buffer: _PartBuffer,
        hasher: Any,
        size: int | None,
    ) -> tuple[int, list[CompletedPartTypeDef]]:
        """Send the part already in `buffer`, then the rest of the stream part by part; return the byte count."""
        parts: list[CompletedPartTypeDef] = []
        count = len(buffer.view)
        total = 0
        number = 1
        while count:
            if number > MAX_PARTS:
                raise StorageError(f"{key!r}: more than {MAX_PARTS} parts; pass size= or a larger part_bytes")
            part = buffer.view[:count]
            response = self._call(
                "store part",
                key,
                self._client.upload_part,
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                PartNumber=number,
                Body=_MemoryReader(part),
                ContentLength=count,
                ContentMD5=_md5_base64(part),
            )
            parts.append({"PartNumber": number, "ETag": response["ETag"]})
            total += count
            if size is not None and total > size:
                break  # check_expectations reports it
            count = fill(stream, buffer.view)
            hasher.update(buffer.view[:count])
            number += 1
        return total, parts

    def _record_sha256(self, key: str, full: str, interim: str | None, size: int, digest: str) -> str | None:
        """Copy the finished object onto itself with the SHA-256 metadata; drop the interim version."""
        source: dict[str, str] = {"Bucket": self.bucket, "Key": full}
        if interim:
            source["VersionId"] = interim
        metadata = {META_SHA256: digest}
        made: list[str | None] = [interim]
        try:
            if size <= self.max_copy_bytes:
                copied = self._call(
                    "record checksum",
                    key,
                    self._client.copy_object,
                    Bucket=self.bucket,
                    Key=full,
                    CopySource=source,
                    Metadata=metadata,
                    MetadataDirective="REPLACE",
                    ContentType=CONTENT_TYPE,
                )
                final: str | None = copied.get("VersionId")
            else:
                final = self._copy_by_parts(key, full, source, size, metadata)
            made.append(final)
            if interim and interim not in ("null", final):
                self._call(
                    "drop interim version",
                    key,
                    self._client.delete_object,
                    Bucket=self.bucket,
                    Key=full,
                    VersionId=interim,
                )
        except BaseException:
            for version in made:
                self._delete_version_quietly(full, version)
            raise
        return final

    def _copy_by_parts(
        self, key: str, full: str, source: dict[str, str], size: int, metadata: dict[str, str]
    ) -> str | None:
        upload_id = self._start("start copy", key, full, metadata)
        part_size = max(self.max_copy_bytes, -(-size // MAX_PARTS))
        parts: list[CompletedPartTypeDef] = []
        try:
            for number, start in enumerate(range(0, size, part_size), start=1):
                end = min(start + part_size, size) - 1
                response = self._call(
                    "copy part",
                    key,
                    self._client.upload_part_copy,
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
            done = self._complete("finish copy", key, full, upload_id, parts)
        except BaseException:
            self._abort_quietly(full, upload_id)
            raise
        return done.get("VersionId")

    def _start(self, what: str, key: str, full: str, metadata: dict[str, str]) -> str:
        upload = self._call(
            what,
            key,
            self._client.create_multipart_upload,
            Bucket=self.bucket,
            Key=full,
            ContentType=CONTENT_TYPE,
            Metadata=metadata,
        )
        return upload["UploadId"]

    def _complete(
        self, what: str, key: str, full: str, upload_id: str, parts: list[CompletedPartTypeDef]
    ) -> CompleteMultipartUploadOutputTypeDef:
        return self._call(
            what,
            key,
            self._client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=full,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )

    def _part_bytes_for(self, size: int | None) -> int:
        if size is None:
            return self.part_bytes
        needed = -(-size // MAX_PARTS)
        if needed > MAX_PART_BYTES:
            raise StorageError(f"an object of {size} bytes is larger than S3 allows")
        return max(self.part_bytes, needed)

    # -- deleting ----------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        full = self._full(key)
        for _attempt in range(3):
            versions = [item for item in self._versions(full) if item["Key"] == full]
            uploads = [item for item in self._uploads(full) if item[0] == full]
            if not versions and not uploads:
                return
            self._delete_versions(key, versions)
            for upload_key, upload_id in uploads:
                self._abort(upload_key, upload_id)
        raise StorageError(f"{self.location_id}: versions of {key!r} remain after deleting them three times")

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix, allow_empty=False)
        full = self.prefix + prefix
        removed: set[str] = set()
        while True:
            page = self._version_page(full)
            if not page:
                break
            removed.update(item["Key"] for item in page)
            self._delete_versions(prefix, page)
        for upload_key, upload_id in list(self._uploads(full)):
            self._abort(upload_key, upload_id)
        return len(removed)

    def cleanup_incomplete(self, *, older_than_seconds: float = 0.0) -> int:
        """Abort multipart uploads under the store's prefix started more than this long ago."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        aborted = 0
        for upload_key, upload_id, started in list(self._uploads_with_time(self.prefix)):
            if started <= cutoff:
                self._abort(upload_key, upload_id)
                aborted += 1
        return aborted

    def _versions(self, full_prefix: str) -> Iterator[ObjectIdentifierTypeDef]:
        paginator = self._client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    yield {"Key": item["Key"], "VersionId": item["VersionId"]}
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "list versions", full_prefix) from exc

    def _version_page(self, full_prefix: str) -> list[ObjectIdentifierTypeDef]:
        """The first page of versions under the prefix (deleting as we go makes markers unreliable)."""
        page = self._call(
            "list versions",
            full_prefix,
            self._client.list_object_versions,
            Bucket=self.bucket,
            Prefix=full_prefix,
            MaxKeys=DELETE_BATCH,
        )
        items = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        return [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in items]

    def _delete_versions(self, key: str, versions: list[ObjectIdentifierTypeDef]) -> None:
        for start in range(0, len(versions), DELETE_BATCH):
            batch = versions[start : start + DELETE_BATCH]
            response = self._call(
                "delete",
                key,
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise StorageError(
                    f"{self.location_id}: {len(errors)} version(s) under {key!r} could not be deleted, "
                    f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )

    def _uploads(self, full_prefix: str) -> Iterator[tuple[str, str]]:
        for upload_key, upload_id, _started in self._uploads_with_time(full_prefix):
            yield upload_key, upload_id

    def _uploads_with_time(self, full_prefix: str) -> Iterator[tuple[str, str, datetime]]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for upload in page.get("Uploads", []):
                    yield upload["Key"], upload["UploadId"], upload["Initiated"]
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "list uploads", full_prefix) from exc

    def _abort(self, full: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise self._translate(exc, "abort upload", full) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "abort upload", full) from exc

    def _abort_quietly(self, full: str, upload_id: str) -> None:
        try:
            self._abort(full, upload_id)
        except StorageError as exc:
            log.warning("could not abort the upload of %s (cleanup_incomplete will): %s", full, exc)

    def _delete_version_quietly(self, full: str, version: str | None) -> None:
        try:
            if version:
                self._client.delete_object(Bucket=self.bucket, Key=full, VersionId=version)
            else:
                self._client.delete_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not remove the unfinished object %s (%s): %s", full, version, exc)

    # -- reading -----------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        full = self._full(key)
        response = self._call("read", key, self._client.get_object, Bucket=self.bucket, Key=full)
        raw = _BodyReader(self, key, response["Body"], response["ContentLength"])
        return io.BufferedReader(raw, buffer_size=self._chunk_bytes)

    def stat(self, key: str) -> StoredObject | None:
        full = self._full(key)
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _is_missing(exc) and self._bucket_exists():
                return None
            raise self._translate(exc, "stat", key) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "stat", key) from exc
        recorded = response.get("Metadata", {}).get(META_SHA256)
        return StoredObject(
            key=key,
            size=response["ContentLength"],
            sha256=recorded if _is_sha256(recorded) else None,
            version_id=response.get("VersionId"),
        )

    def sha256(self, key: str) -> str:
        with self.open(key) as reader:
            return stream_sha256(reader, memoryview(bytearray(self._chunk_bytes)))[1]

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        validate_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    if _is_valid_key(key):
                        yield StoredObject(key=key, size=item["Size"], sha256=None)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, "list", prefix) from exc

    def _bucket_exists(self) -> bool:
        """HEAD answers 404 without a body for a missing key and a missing bucket alike."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _status(exc) == 404:
                raise LocationUnavailable(f"{self.location_id}: bucket {self.bucket!r} does not exist") from exc
            raise self._translate(exc, "check bucket") from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "check bucket") from exc
        return True

    def healthy(self) -> bool:
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError):
            return False
        return True

    # -- helpers -----------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _call(self, action: str, key: str, operation: Callable[..., T], **params: Any) -> T:
        try:
            return operation(**params)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, action, key) from exc

    def _translate(self, exc: Exception, action: str, key: str = "") -> StorageError:
        where = f"{self.location_id} (s3://{self.bucket}/{self.prefix})"
        what = f"{action} {key!r}" if key else action
        if isinstance(exc, ClientError):
            code = _code(exc)
            message = exc.response.get("Error", {}).get("Message", "")
            text = f"{where}: {what} failed: {code} {message}".rstrip()
            if action == "read" and _is_missing(exc):
                return ObjectMissing(text)
            if code in _UNAVAILABLE_CODES or _status(exc) >= 500 or _status(exc) == 404:
                return LocationUnavailable(text)  # a 404 on anything but a read: no such bucket or endpoint
            return StorageError(text)
        if isinstance(exc, ConnectionError | HTTPClientError):
            return LocationUnavailable(f"{where}: {what} failed, the endpoint cannot be reached: {exc}")
        return StorageError(f"{where}: {what} failed: {exc}")


class _PartBuffer:
    """One part's worth of anonymous memory; pages are only committed when written."""

    def __init__(self, size: int) -> None:
        self._memory = mmap.mmap(-1, size)
        self.view = memoryview(self._memory)

    def __enter__(self) -> _PartBuffer:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.view.release()
        with contextlib.suppress(BufferError):  # a slice still referenced elsewhere; freed by the GC
            self._memory.close()


class _MemoryReader(io.RawIOBase):
    """A seekable stream over a memoryview without copying it (botocore rewinds bodies to retry)."""

    def __init__(self, data: memoryview) -> None:
        super().__init__()
        self._data = data
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._data)}[whence]
        self._position = min(max(0, base + offset), len(self._data))
        return self._position

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._data) - self._position)
        target[:count] = self._data[self._position : self._position + count]
        self._position += count
        return count

    def __len__(self) -> int:
        return len(self._data) - self._position


class _BodyReader(io.RawIOBase):
    """A GetObject body as a raw stream whose failures are storage errors; detects truncation."""

    def __init__(self, store: S3Store, key: str, body: Any, length: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._body = body
        self._remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._remaining == 0 or not len(target):
            return 0
        try:
            data = self._body.read(min(len(target), self._remaining))
        except (BotoCoreError, ClientError) as exc:
            raise self._store._translate(exc, "read", self._key) from exc
        except OSError as exc:
            raise LocationUnavailable(f"{self._store.location_id}: reading {self._key!r} failed: {exc}") from exc
        if not data:
            raise LocationUnavailable(
                f"{self._store.location_id}: {self._key!r} ended {self._remaining} bytes early (connection lost)"
            )
        target[: len(data)] = data
        self._remaining -= len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


def _add_content_md5(request: AWSRequest, **_: Any) -> None:
    """DeleteObjects: botocore now sends only a CRC32 header; older S3 servers require Content-MD5."""
    body = request.body
    if isinstance(body, bytes | bytearray) and "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = _md5_base64(memoryview(body))


def _md5_base64(data: memoryview) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return validate_prefix(prefix + "/") if prefix else ""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing(exc: ClientError) -> bool:
    return _code(exc) in _MISSING_CODES or (_status(exc) == 404 and _code(exc) != "NoSuchBucket")


def _is_sha256(value: str | None) -> bool:
    return value is not None and len(value) == 64 and all(char in "0123456789abcdef" for char in value)


def _is_valid_key(key: str) -> bool:
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True
