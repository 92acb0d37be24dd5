"""Streaming authenticated encryption of stored objects (format `EAR1`, byte layout in docs/keys.md).

An object is a 36-byte header followed by chunks. Each chunk holds at most
`chunk_size` plaintext bytes sealed with AES-256-GCM under a key derived for this
object alone (HKDF-SHA256 of the dossier's data key and the header's random salt).
Every chunk but the last holds exactly `chunk_size` bytes; the last holds fewer
(possibly none), so a plaintext whose length is a multiple of the chunk size ends
with an empty final chunk. A chunk's nonce is `nonce prefix ‖ counter` and its
associated data is `header ‖ aad ‖ counter ‖ final flag`, so bit flips, truncation,
reordering, duplication and splicing between objects all fail authentication.

Plaintext handed out before the end of the stream is authentic but may be only a
prefix of the object: treat the object as valid once the stream has ended without
`DecryptionError` (write to a temporary file, rename afterwards).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAGIC: Final = b"EAR1"
VERSION: Final = 1
SUITE_AES256GCM_HKDF_SHA256: Final = 1
CHUNK_SIZE: Final = 1024 * 1024
"""Default and largest plaintext bytes per chunk (bounds the memory a hostile header can demand)."""
MIN_CHUNK_SIZE: Final = 1024
MAX_CHUNK_SIZE: Final = CHUNK_SIZE
DATA_KEY_BYTES: Final = 32
SALT_BYTES: Final = 16
NONCE_PREFIX_BYTES: Final = 8
TAG_BYTES: Final = 16
MAX_CHUNKS: Final = 2**32
"""The chunk counter is 32 bits: at most 2^32 chunks (4 PiB at 1 MiB) per object."""

_HEADER = struct.Struct(f">4sBBHI{SALT_BYTES}s{NONCE_PREFIX_BYTES}s")
HEADER_BYTES: Final = _HEADER.size
_CHUNK_SUFFIX = struct.Struct(">IB")
_KDF_INFO = b"earchive/EAR1/object-key"
_AAD_LABEL = b"earchive/aip-object/v1"


class DecryptionError(Exception):
    """The object is not authentic: tampered, truncated, reordered, spliced, or the key or aad is wrong."""


class ByteSource(Protocol):
    """Anything with `read(n)`: open files, BinaryIO, io.RawIOBase, S3 bodies. `readinto` is used when present."""

    def read(self, size: int = ..., /) -> bytes | None: ...


def object_aad(aip_id: str, path: str) -> bytes:
    """Associated data binding a stored object to its AIP and bag-relative path (length-prefixed, unambiguous)."""
    parts = (_AAD_LABEL, aip_id.encode("utf-8"), path.encode("utf-8"))
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def encrypted_size(plain_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """Size of the stored object for `plain_size` bytes of plaintext."""
    _check_chunk_size(chunk_size)
    if plain_size < 0:
        raise ValueError("plain_size must not be negative")
    chunks = plain_size // chunk_size + 1
    return HEADER_BYTES + plain_size + chunks * TAG_BYTES


def plain_size(encrypted_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """Plaintext size of a stored object of `encrypted_size` bytes; ValueError if no plaintext has that size."""
    _check_chunk_size(chunk_size)
    body = encrypted_size - HEADER_BYTES
    full_chunks, last_sealed = divmod(body, chunk_size + TAG_BYTES)
    if body < TAG_BYTES or last_sealed < TAG_BYTES:
        raise ValueError(f"{encrypted_size} bytes is not the size of an EAR1 object with {chunk_size}-byte chunks")
    return full_chunks * chunk_size + last_sealed - TAG_BYTES


def encrypt_stream(src: ByteSource, data_key: bytes, *, aad: bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the header, then one sealed chunk at a time (at most `chunk_size + 16` bytes each)."""
    sealer = _Sealer(data_key, aad, chunk_size)
    yield sealer.header
    plain = bytearray(chunk_size)
    while not sealer.finished:
        filled = _read_full(src, plain)
        yield sealer.seal(memoryview(plain)[:filled])


def decrypt_stream(src: ByteSource, data_key: bytes, *, aad: bytes) -> Iterator[bytes]:
    """Yield authentic plaintext chunk by chunk; raise DecryptionError on any fault (truncation: at the end)."""
    opener = _Opener(data_key, aad, _read_header(src))
    sealed = bytearray(opener.sealed_chunk_bytes)
    while not opener.finished:
        filled = _read_full(src, sealed)
        yield opener.open(memoryview(sealed)[:filled])
    _expect_end(src)


class _ReaderBase(io.RawIOBase, BinaryIO):
    """A readable, non-seekable binary stream whose `readinto` fills the buffer unless the stream ends.

    It is also a `typing.BinaryIO`, so it can be passed where one is expected
    (`ObjectStore.put`, boto3 `upload_fileobj`, `shutil.copyfileobj`).
    """

    _broken_error: type[Exception] = OSError

    def __init__(self) -> None:
        super().__init__()
        self._pending = memoryview(b"")
        self._failure: Exception | None = None

    @property
    def mode(self) -> str:
        return "rb"

    @property
    def name(self) -> str:
        return f"<{type(self).__name__}>"

    def readable(self) -> bool:
        return True

    def __enter__(self) -> Self:
        return self

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed stream")
        if self._failure is not None:
            raise self._broken_error("the stream failed earlier and cannot continue") from self._failure
        try:
            return self._fill(memoryview(buffer).cast("B"))
        except Exception as error:
            self._failure = error
            raise

    def _fill(self, out: memoryview) -> int:
        written = 0
        while written < len(out):
            if self._pending:
                count = min(len(self._pending), len(out) - written)
                out[written : written + count] = self._pending[:count]
                self._pending = self._pending[count:]
                written += count
            elif self._at_end():
                break
            else:
                written += self._next_chunk(out[written:])
        return written

    def readall(self) -> bytes:
        parts = []
        while part := self.read(CHUNK_SIZE):
            parts.append(part)
        return b"".join(parts)

    def _at_end(self) -> bool:
        raise NotImplementedError

    def _next_chunk(self, out: memoryview) -> int:
        """Produce the next chunk into `out` (returning its length) or into `self._pending` (returning 0)."""
        raise NotImplementedError


class EncryptingReader(_ReaderBase):
    """The encrypted object as a readable stream; `read(n)` returns exactly `n` bytes until the last read."""

    def __init__(self, src: ByteSource, data_key: bytes, *, aad: bytes, chunk_size: int = CHUNK_SIZE) -> None:
        super().__init__()
        self._src = src
        self._sealer = _Sealer(data_key, aad, chunk_size)
        self._plain = bytearray(chunk_size)
        self._sealed = bytearray(chunk_size + TAG_BYTES)
        self._pending = memoryview(self._sealer.header)

    def _at_end(self) -> bool:
        return self._sealer.finished

    def _next_chunk(self, out: memoryview) -> int:
        filled = _read_full(self._src, self._plain)
        plain = memoryview(self._plain)[:filled]
        if len(out) >= filled + TAG_BYTES:
            return self._sealer.seal_into(plain, out)
        count = self._sealer.seal_into(plain, memoryview(self._sealed))
        self._pending = memoryview(self._sealed)[:count]
        return 0


class DecryptingReader(_ReaderBase):
    """The plaintext of an `EAR1` object as a readable stream.

    `read`/`readinto` raise DecryptionError as soon as a fault is seen; a truncated
    object is reported when its end is reached. Unverified plaintext is never left
    in the caller's buffer. After a failure every further read fails too.
    """

    _broken_error = DecryptionError

    def __init__(self, src: ByteSource, data_key: bytes, *, aad: bytes) -> None:
        super().__init__()
        _check_data_key(data_key)
        self._src = src
        self._data_key = data_key
        self._aad = aad
        self._opener: _Opener | None = None
        self._sealed = bytearray()
        self._plain = bytearray()
        self._ended = False

    def _at_end(self) -> bool:
        if self._opener is None or not self._opener.finished:
            return False
        if not self._ended:
            _expect_end(self._src)
            self._ended = True
        return True

    def _next_chunk(self, out: memoryview) -> int:
        opener = self._opener or self._start()
        filled = _read_full(self._src, self._sealed)
        sealed = memoryview(self._sealed)[:filled]
        size = max(filled - TAG_BYTES, 0)
        if len(out) >= size:
            return opener.open_into(sealed, out[:size])
        count = opener.open_into(sealed, memoryview(self._plain)[:size])
        self._pending = memoryview(self._plain)[:count]
        return 0

    def _start(self) -> _Opener:
        self._opener = _Opener(self._data_key, self._aad, _read_header(self._src))
        self._sealed = bytearray(self._opener.sealed_chunk_bytes)
        self._plain = bytearray(self._opener.chunk_size)
        return self._opener


class _Sealer:
    """Seals the chunks of one object in order; a chunk shorter than `chunk_size` is the final one."""

    def __init__(self, data_key: bytes, aad: bytes, chunk_size: int) -> None:
        _check_data_key(data_key)
        _check_chunk_size(chunk_size)
        salt = os.urandom(SALT_BYTES)
        self._nonce_prefix = os.urandom(NONCE_PREFIX_BYTES)
        self.header = _HEADER.pack(MAGIC, VERSION, SUITE_AES256GCM_HKDF_SHA256, 0, chunk_size, salt, self._nonce_prefix)
        self._aead = AESGCM(_object_key(data_key, salt))
        self._aad_prefix = self.header + bytes(aad)
        self._chunk_size = chunk_size
        self._counter = 0
        self.finished = False

    def seal(self, plain: memoryview) -> bytes:
        nonce, aad = self._next(len(plain))
        return self._aead.encrypt(nonce, plain, aad)

    def seal_into(self, plain: memoryview, out: memoryview) -> int:
        nonce, aad = self._next(len(plain))
        return self._aead.encrypt_into(nonce, plain, aad, out[: len(plain) + TAG_BYTES])

    def _next(self, size: int) -> tuple[bytes, bytes]:
        if self.finished:
            raise RuntimeError("the final chunk has already been sealed")
        final = size < self._chunk_size
        if self._counter == MAX_CHUNKS - 1 and not final:
            raise ValueError("object too large for the 32-bit chunk counter")
        nonce_aad = _nonce_and_aad(self._nonce_prefix, self._aad_prefix, self._counter, final)
        self._counter += 1
        self.finished = final
        return nonce_aad


class _Opener:
    """Opens the chunks of one object in order; a block shorter than a full sealed chunk is the final one."""

    def __init__(self, data_key: bytes, aad: bytes, header: bytes) -> None:
        _check_data_key(data_key)
        _, _, _, _, chunk_size, salt, nonce_prefix = _HEADER.unpack(header)
        self.chunk_size: int = chunk_size
        self.sealed_chunk_bytes = chunk_size + TAG_BYTES
        self._nonce_prefix: bytes = nonce_prefix
        self._aead = AESGCM(_object_key(data_key, salt))
        self._aad_prefix = header + bytes(aad)
        self._counter = 0
        self.finished = False

    def open(self, sealed: memoryview) -> bytes:
        nonce, aad = self._next(sealed)
        try:
            return self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise self._explain() from None

    def open_into(self, sealed: memoryview, out: memoryview) -> int:
        nonce, aad = self._next(sealed)
        try:
            return self._aead.decrypt_into(nonce, sealed, aad, out)
        except InvalidTag:
            out[:] = bytes(len(out))  # OpenSSL wrote unverified plaintext there
            raise self._explain() from None

    def _next(self, sealed: memoryview) -> tuple[bytes, bytes]:
        final = len(sealed) < self.sealed_chunk_bytes
        if final and len(sealed) < TAG_BYTES:
            raise DecryptionError(self._short_block_message(len(sealed)))
        if self._counter >= MAX_CHUNKS:
            raise DecryptionError("more chunks than the 32-bit counter allows")
        nonce_aad = _nonce_and_aad(self._nonce_prefix, self._aad_prefix, self._counter, final)
        self._counter += 1
        self.finished = final
        return nonce_aad

    def _short_block_message(self, got: int) -> str:
        if got:
            return f"object truncated inside chunk {self._counter} ({got} bytes, shorter than a tag)"
        if self._counter == 0:
            return "object truncated: no chunk after the header"
        return f"object truncated: the final chunk is missing after chunk {self._counter - 1}"

    def _explain(self) -> DecryptionError:
        where = "the last chunk" if self.finished else "chunk"
        return DecryptionError(
            f"{where} {self._counter - 1} failed authentication: "
            "corrupted, truncated, reordered, spliced, wrong key or wrong aad"
        )


def _nonce_and_aad(nonce_prefix: bytes, aad_prefix: bytes, counter: int, final: bool) -> tuple[bytes, bytes]:
    suffix = _CHUNK_SUFFIX.pack(counter, 1 if final else 0)
    return nonce_prefix + suffix[:4], aad_prefix + suffix


def _object_key(data_key: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_KDF_INFO).derive(data_key)


def _read_header(src: ByteSource) -> bytes:
    header = bytearray(HEADER_BYTES)
    filled = _read_full(src, header)
    if filled < len(MAGIC) or header[: len(MAGIC)] != MAGIC:
        raise DecryptionError("not an earchive encrypted object (magic EAR1 missing)")
    if filled < HEADER_BYTES:
        raise DecryptionError(f"object truncated inside the header ({filled} of {HEADER_BYTES} bytes)")
    _, version, suite, reserved, chunk_size, _, _ = _HEADER.unpack(header)
    if version != VERSION or suite != SUITE_AES256GCM_HKDF_SHA256 or reserved != 0:
        raise DecryptionError(f"unsupported EAR1 header (version {version}, suite {suite}, reserved {reserved})")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError(f"invalid chunk size {chunk_size} in the header")
    return bytes(header)


def _expect_end(src: ByteSource) -> None:
    if src.read(1):
        raise DecryptionError("data after the final chunk")


def _read_full(src: ByteSource, buffer: bytearray) -> int:
    """Fill `buffer` from `src`; fewer bytes only at the end of the stream."""
    view = memoryview(buffer)
    readinto = getattr(src, "readinto", None)
    filled = 0
    while filled < len(view):
        count: int | None
        if readinto is not None:
            count = readinto(view[filled:])
        else:
            data = src.read(len(view) - filled)
            count = None if data is None else len(data)
            view[filled : filled + len(data or b"")] = data or b""
        if count is None:
            raise BlockingIOError("a non-blocking source has no data now; use a blocking stream")
        if count == 0:
            break
        filled += count
    return filled


def _check_data_key(data_key: bytes) -> None:
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes, got {len(data_key)}")


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes")
