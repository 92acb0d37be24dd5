"""The key hierarchy: one master key wraps a random data key per dossier (docs/keys.md).

The catalog stores only wrapped data keys (`MasterKeyProvider.wrap`) and the
master key id. The master key lives in a file (or `EARCHIVE_MASTER_KEY`), or in a
KMS/HSM that implements `MasterKeyProvider`. Destroying a dossier's wrapped key
everywhere makes every copy of its objects unreadable (crypto-shredding, R-DS-2).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import secrets
import stat
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TypeVar, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from archive_core.settings import Settings

log = logging.getLogger(__name__)

MASTER_KEY_ENV: Final = "EARCHIVE_MASTER_KEY"
MASTER_KEY_BYTES: Final = 32
DATA_KEY_BYTES: Final = 32
KEY_ID_HEX: Final = 16
WRAP_MAGIC: Final = b"EDK1"
_WRAP_HEADER = struct.Struct(f">4s{KEY_ID_HEX // 2}s12s")
WRAPPED_KEY_BYTES: Final = _WRAP_HEADER.size + DATA_KEY_BYTES + 16
"""72 bytes: magic, master key id, nonce, encrypted data key, tag."""
KEY_BACKUP_RETENTION_DAYS: Final = 35
"""Longest life of any copy holding wrapped data keys (key backups, PostgreSQL WAL archives): docs/keys.md."""
_SHARE_PREFIX = "earchive-mk1"
_MAX_KEY_FILE_BYTES = 1024

K = TypeVar("K")


class MasterKeyError(Exception):
    """The master key cannot be loaded or created (missing, malformed, unsafe permissions)."""


class UnwrapError(Exception):
    """A wrapped data key cannot be opened: corrupted, forged, or not wrapped by this master key."""


class WrongMasterKeyError(UnwrapError):
    """The wrapped key names another master key (restore with the right key, or finish a rotation)."""

    def __init__(self, wrapped_by: str, loaded: str) -> None:
        super().__init__(f"data key is wrapped by master key {wrapped_by}, the loaded master key is {loaded}")
        self.wrapped_by = wrapped_by
        self.loaded = loaded


@runtime_checkable
class MasterKeyProvider(Protocol):
    """Wraps and unwraps data keys; the key itself may never leave a KMS/HSM.

    `unwrap` must raise `UnwrapError` (`WrongMasterKeyError` when the blob names
    another key) for anything it did not wrap itself, and `key_id` must be stable
    and must not reveal the key.
    """

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


def new_data_key() -> bytes:
    """A fresh random 256-bit data key for one dossier."""
    return secrets.token_bytes(DATA_KEY_BYTES)


def key_id_of(key: bytes) -> str:
    """First 16 hex digits of the SHA-256 of a key: names the key, reveals nothing usable."""
    return hashlib.sha256(key).hexdigest()[:KEY_ID_HEX]


def wrapped_key_id(wrapped: bytes) -> str:
    """The master key id recorded in a wrapped key made by `FileMasterKey.wrap`."""
    return _parse_wrapped(wrapped)[1]


class FileMasterKey:
    """A 256-bit master key from `EARCHIVE_MASTER_KEY` (base64) or from a key file.

    The environment variable takes precedence and the file is then left alone.
    Otherwise the file is read, or created (0600, in a 0700 folder, atomically,
    never replacing a key another process wrote first) when absent and `create`
    is true. A key file readable by group or others is refused.
    Data keys are wrapped with AES-256-GCM; see `wrap`.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        create: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        encoded = env.get(MASTER_KEY_ENV, "").strip()
        if encoded:
            key, self.source = _decode_key(encoded, MASTER_KEY_ENV), MASTER_KEY_ENV
        elif path is None:
            raise MasterKeyError(f"no master key: set {MASTER_KEY_ENV} or give a key file")
        else:
            key, self.source = _load_or_create_key_file(path, create=create), str(path)
        self._init_key(key)

    @classmethod
    def from_key(cls, key: bytes, *, source: str = "memory") -> FileMasterKey:
        """A provider over key bytes already at hand (a restored escrow, tests)."""
        provider = cls.__new__(cls)
        if len(key) != MASTER_KEY_BYTES:
            raise MasterKeyError(f"a master key is {MASTER_KEY_BYTES} bytes, got {len(key)}")
        provider.source = source
        provider._init_key(bytes(key))
        return provider

    def _init_key(self, key: bytes) -> None:
        self.__key = key
        self._key_id = key_id_of(key)
        self._aead = AESGCM(key)

    @property
    def key_id(self) -> str:
        return self._key_id

    def __repr__(self) -> str:
        return f"FileMasterKey(key_id={self._key_id!r}, source={self.source!r})"

    def wrap(self, data_key: bytes) -> bytes:
        """`EDK1 ‖ key id (8) ‖ random nonce (12) ‖ AES-256-GCM(data key) (32) ‖ tag (16)`, AAD = first 12 bytes."""
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes, got {len(data_key)}")
        nonce = secrets.token_bytes(12)
        header = _WRAP_HEADER.pack(WRAP_MAGIC, bytes.fromhex(self._key_id), nonce)
        return header + self._aead.encrypt(nonce, data_key, header[:-12])

    def unwrap(self, wrapped: bytes) -> bytes:
        _, key_id, nonce = _parse_wrapped(wrapped)
        if key_id != self._key_id:
            raise WrongMasterKeyError(key_id, self._key_id)
        header = bytes(wrapped[: _WRAP_HEADER.size])
        try:
            return self._aead.decrypt(nonce, bytes(wrapped[_WRAP_HEADER.size :]), header[:-12])
        except InvalidTag:
            raise UnwrapError(f"wrapped data key failed authentication (master key {key_id})") from None

    def backup_shares(self, count: int = 2) -> list[str]:
        """Split this master key into `count` shares for offline escrow; see `split_key`."""
        return split_key(self.__key, count)


def load_master_key(settings: Settings) -> MasterKeyProvider:
    """The master key named by settings: `EARCHIVE_MASTER_KEY`, else `settings.master_key_file`."""
    return FileMasterKey(settings.master_key_file)


def rotate_master(old: MasterKeyProvider, new: MasterKeyProvider, wrapped_keys: Mapping[K, bytes]) -> dict[K, bytes]:
    """Re-wrap data keys (by any name, e.g. dossier id) from `old` to `new`; stored objects stay as they are.

    A key already wrapped by `new` is checked and kept, so an interrupted rotation
    can simply be run again. Any key that neither master opens raises UnwrapError.
    """
    return {name: _rewrap(old, new, wrapped) for name, wrapped in wrapped_keys.items()}


def _rewrap(old: MasterKeyProvider, new: MasterKeyProvider, wrapped: bytes) -> bytes:
    try:
        return new.wrap(old.unwrap(wrapped))
    except WrongMasterKeyError:
        new.unwrap(wrapped)  # raises unless it is already wrapped by the new master key
        return wrapped


def split_key(key: bytes, count: int = 2) -> list[str]:
    """Split a master key into `count` text shares, ALL of which are needed to rebuild it (XOR, n-of-n).

    Each share reads `earchive-mk1:<key id>:<i>/<n>:<base64>`, short enough to print
    as a QR code or type in. One share reveals nothing about the key.
    """
    if count < 2:
        raise ValueError("a split needs at least two shares")
    randoms = [secrets.token_bytes(len(key)) for _ in range(count - 1)]
    last = _xor([key, *randoms])
    key_id = key_id_of(key)
    return [
        f"{_SHARE_PREFIX}:{key_id}:{index}/{count}:{base64.b64encode(share).decode('ascii')}"
        for index, share in enumerate([*randoms, last], start=1)
    ]


def join_key(shares: Sequence[str]) -> bytes:
    """Rebuild a master key from all of its shares; MasterKeyError if one is missing, wrong or mistyped."""
    parsed = [_parse_share(share.strip()) for share in shares]
    key_ids = {key_id for key_id, _, _, _ in parsed}
    counts = {count for _, _, count, _ in parsed}
    indexes = sorted(index for _, index, _, _ in parsed)
    if len(key_ids) != 1 or len(counts) != 1 or indexes != list(range(1, counts.pop() + 1)):
        raise MasterKeyError("shares do not form one complete set (same key id, every index 1..n once)")
    key = _xor([data for _, _, _, data in parsed])
    if key_id_of(key) != key_ids.pop():
        raise MasterKeyError("shares do not rebuild the key they name (a share is mistyped or from another split)")
    return key


def _parse_share(share: str) -> tuple[str, int, int, bytes]:
    try:
        prefix, key_id, position, encoded = share.split(":")
        index, count = (int(part) for part in position.split("/"))
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise MasterKeyError("malformed master key share") from None
    if prefix != _SHARE_PREFIX or len(data) != MASTER_KEY_BYTES:
        raise MasterKeyError("not an earchive master key share")
    return key_id, index, count, data


def _xor(parts: Sequence[bytes]) -> bytes:
    result = bytearray(len(parts[0]))
    for part in parts:
        if len(part) != len(result):
            raise ValueError("shares differ in length")
        for position, byte in enumerate(part):
            result[position] ^= byte
    return bytes(result)


def _parse_wrapped(wrapped: bytes) -> tuple[bytes, str, bytes]:
    if len(wrapped) != WRAPPED_KEY_BYTES or wrapped[:4] != WRAP_MAGIC:
        raise UnwrapError("not a wrapped earchive data key (EDK1, 72 bytes)")
    magic, key_id, nonce = _WRAP_HEADER.unpack_from(wrapped)
    return magic, key_id.hex(), nonce


def _decode_key(text: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise MasterKeyError(f"{origin}: the master key is not valid base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"{origin}: a master key is {MASTER_KEY_BYTES} bytes, got {len(key)}")
    return key


def _load_or_create_key_file(path: Path, *, create: bool) -> bytes:
    if not path.exists():
        if not create:
            raise MasterKeyError(f"master key file {path} is absent")
        _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    """Raw 32 bytes, or the same in base64 text (a key restored by hand)."""
    info = path.stat()
    if info.st_mode & 0o077:
        raise MasterKeyError(
            f"master key file {path} is readable by others (mode {stat.filemode(info.st_mode)}); chmod 600"
        )
    if info.st_size > _MAX_KEY_FILE_BYTES:
        raise MasterKeyError(f"master key file {path} is too large to be a key")
    content = path.read_bytes()
    if len(content) == MASTER_KEY_BYTES:
        return content
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        raise MasterKeyError(f"master key file {path} is neither 32 raw bytes nor base64") from None
    return _decode_key(text, str(path))


def _create_key_file(path: Path) -> None:
    """Write a new key through a private temporary file and a hard link, which never replaces an existing key."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    temporary = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        _write_private(temporary, secrets.token_bytes(MASTER_KEY_BYTES))
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process created the key first: use theirs
        _fsync_folder(folder)
        log.warning("created a new master key at %s; back it up offline now (docs/keys.md)", path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        if os.write(descriptor, content) != len(content):
            raise OSError(f"short write to {path}")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
