"""Storage locations that hold the copies of every AIP (R-ST-2): local folders and S3 buckets.

`S3Store` is imported from `archive_core.storage.s3` (it loads boto3, which local-only setups skip).
"""

from archive_core.storage.base import (
    IntegrityError,
    InvalidKey,
    LocationUnavailable,
    ObjectMissing,
    ObjectStore,
    StorageError,
    StoredObject,
    make_stores,
    validate_key,
    validate_prefix,
)
from archive_core.storage.local import LocalStore

__all__ = [
    "IntegrityError",
    "InvalidKey",
    "LocalStore",
    "LocationUnavailable",
    "ObjectMissing",
    "ObjectStore",
    "StorageError",
    "StoredObject",
    "make_stores",
    "validate_key",
    "validate_prefix",
]
