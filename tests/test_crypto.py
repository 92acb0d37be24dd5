"""Streaming AES-256-GCM objects (EAR1): round trips, every kind of tampering, readers, bounded memory."""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive_core.crypto import (
    CHUNK_SIZE,
    HEADER_BYTES,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    TAG_BYTES,
    DecryptingReader,
    DecryptionError,
    EncryptingReader,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    object_aad,
    plain_size,
)

REPO = Path(__file__).resolve().parent.parent
KEY = bytes(range(32))
AAD = object_aad("aip-6F1C2D4E-0000-4000-8000-000000000001", "data/representations/rep1/data/a.pdf")
SMALL = MIN_CHUNK_SIZE  # many chunks from little data


def encrypt(data: bytes, *, key: bytes = KEY, aad: bytes = AAD, chunk_size: int = CHUNK_SIZE) -> bytes:
    return b"".join(encrypt_stream(io.BytesIO(data), key, aad=aad, chunk_size=chunk_size))


def decrypt_with_stream(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(blob), key, aad=aad))


def decrypt_with_reader(blob: bytes, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    shutil.copyfileobj(DecryptingReader(io.BytesIO(blob), key, aad=aad), out)
    return out.getvalue()


DECRYPTORS = [decrypt_with_stream, decrypt_with_reader]


def split(blob: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    """Header and sealed chunks of an object."""
    body = blob[HEADER_BYTES:]
    step = chunk_size + TAG_BYTES
    return blob[:HEADER_BYTES], [body[i : i + step] for i in range(0, len(body), step)]


def sample(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


class Trickle(io.RawIOBase):
    """A source that hands out at most `step` bytes per read (short reads, like sockets and pipes)."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(self._step, len(buffer), len(self._data))
        buffer[:count] = self._data[:count]
        self._data = self._data[count:]
        return count


class ReadOnly:
    """A source with `read` only (no `readinto`)."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(min(size, 777))


# --- round trips -------------------------------------------------------------------------

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE + 7]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_stream_and_readers(size: int) -> None:
    data = sample(size, seed=size)
    blob = encrypt(data)
    assert len(blob) == encrypted_size(size)
    assert plain_size(len(blob)) == size
    assert decrypt_with_stream(blob) == data
    assert decrypt_with_reader(blob) == data
    via_reader = EncryptingReader(io.BytesIO(data), KEY, aad=AAD).read()
    assert len(via_reader) == len(blob)
    assert via_reader != blob  # fresh salt and nonce prefix every time
    assert decrypt_with_reader(via_reader) == data


def test_ciphertext_hides_plaintext_and_differs_per_encryption() -> None:
    marker = "Hồ sơ mật ".encode()
    data = marker * 20_000
    first, second = encrypt(data), encrypt(data)
    assert first != second
    assert marker not in first
    assert first[:4] == b"EAR1"


@pytest.mark.parametrize("chunk_size", [MIN_CHUNK_SIZE, 4096, MAX_CHUNK_SIZE])
def test_empty_object_is_one_empty_final_chunk(chunk_size: int) -> None:
    blob = encrypt(b"", chunk_size=chunk_size)
    assert len(blob) == HEADER_BYTES + TAG_BYTES == encrypted_size(0, chunk_size)
    assert decrypt_with_stream(blob) == b"" == decrypt_with_reader(blob)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=12 * SMALL),
    chunk_size=st.sampled_from([SMALL, SMALL + 1, 3000]),
    read_sizes=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8),
    aad=st.binary(max_size=64),
)
def test_property_round_trip_with_any_read_pattern(
    data: bytes, chunk_size: int, read_sizes: list[int], aad: bytes
) -> None:
    blob = encrypt(data, aad=aad, chunk_size=chunk_size)
    assert len(blob) == encrypted_size(len(data), chunk_size)
    assert plain_size(len(blob), chunk_size) == len(data)
    encrypting = EncryptingReader(Trickle(data, 333), KEY, aad=aad, chunk_size=chunk_size)
    assert len(read_in_pieces(encrypting, read_sizes)) == len(blob)
    decrypting = DecryptingReader(Trickle(blob, 500), KEY, aad=aad)
    assert read_in_pieces(decrypting, read_sizes) == data


def read_in_pieces(reader: io.RawIOBase, sizes: list[int]) -> bytes:
    parts: list[bytes] = []
    for index in range(10_000):
        part = reader.read(sizes[index % len(sizes)])
        if not part:
            return b"".join(parts)
        parts.append(part)
    raise AssertionError("reader never ended")


def test_sources_with_short_reads_and_without_readinto() -> None:
    data = sample(3 * SMALL + 5)
    blob = b"".join(encrypt_stream(Trickle(data, 10), KEY, aad=AAD, chunk_size=SMALL))
    assert b"".join(decrypt_stream(ReadOnly(blob), KEY, aad=AAD)) == data
    assert EncryptingReader(ReadOnly(data), KEY, aad=AAD, chunk_size=SMALL).read() != b""
    assert DecryptingReader(Trickle(blob, 3), KEY, aad=AAD).read() == data


# --- sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [SMALL, CHUNK_SIZE])
def test_size_functions_are_inverse(chunk_size: int) -> None:
    for size in [0, 1, chunk_size - 1, chunk_size, chunk_size + 1, 7 * chunk_size, 10**12 + 3]:
        assert plain_size(encrypted_size(size, chunk_size), chunk_size) == size
    assert encrypted_size(chunk_size, chunk_size) == HEADER_BYTES + chunk_size + 2 * TAG_BYTES


@pytest.mark.parametrize("size", [0, HEADER_BYTES, HEADER_BYTES + TAG_BYTES - 1, HEADER_BYTES + CHUNK_SIZE + 20])
def test_plain_size_refuses_impossible_sizes(size: int) -> None:
    with pytest.raises(ValueError):
        plain_size(size)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        encrypt(b"x", key=b"short")
    with pytest.raises(ValueError):
        encrypt(b"x", chunk_size=MAX_CHUNK_SIZE + 1)
    with pytest.raises(ValueError):
        encrypt(b"x", chunk_size=MIN_CHUNK_SIZE - 1)
    with pytest.raises(ValueError):
        encrypted_size(-1)


def test_object_aad_is_unambiguous() -> None:
    assert object_aad("aip-1", "ab/c") != object_aad("aip-1a", "b/c")
    assert object_aad("aip-1", "data/x") == object_aad("aip-1", "data/x")


# --- tampering ------------------------------------------------------------------------

DATA = sample(3 * SMALL + 100, seed=7)  # three full chunks and a short final one
BLOB = encrypt(DATA, chunk_size=SMALL)
HEADER, CHUNKS = split(BLOB, SMALL)


def flip(blob: bytes, position: int) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= 0x01
    return bytes(changed)


def join(chunks: list[bytes], header: bytes = HEADER) -> bytes:
    return header + b"".join(chunks)


def other_object(aad: bytes = AAD, key: bytes = KEY) -> list[bytes]:
    return split(encrypt(DATA, chunk_size=SMALL, aad=aad, key=key), SMALL)[1]


TAMPERED: dict[str, Callable[[], bytes]] = {
    "magic": lambda: flip(BLOB, 0),
    "version": lambda: flip(BLOB, 4),
    "suite": lambda: flip(BLOB, 5),
    "reserved": lambda: flip(BLOB, 7),
    "chunk size": lambda: flip(BLOB, 11),
    "chunk size huge": lambda: flip(BLOB, 8),
    "salt": lambda: flip(BLOB, 12),
    "nonce prefix": lambda: flip(BLOB, HEADER_BYTES - 1),
    "first chunk body": lambda: flip(BLOB, HEADER_BYTES + 5),
    "middle chunk body": lambda: flip(BLOB, HEADER_BYTES + (SMALL + TAG_BYTES) + 100),
    "first chunk tag": lambda: flip(BLOB, HEADER_BYTES + SMALL + 3),
    "final chunk tag": lambda: flip(BLOB, len(BLOB) - 1),
    "header only": lambda: HEADER,
    "truncated in header": lambda: BLOB[:20],
    "truncated at chunk boundary": lambda: join(CHUNKS[:2]),
    "dropped final chunk": lambda: join(CHUNKS[:-1]),
    "truncated mid chunk": lambda: BLOB[: HEADER_BYTES + SMALL + TAG_BYTES + 500],
    "truncated inside final tag": lambda: BLOB[:-5],
    "final chunk shorter than a tag": lambda: BLOB[: -(len(CHUNKS[-1]) - 9)],
    "reordered chunks": lambda: join([CHUNKS[1], CHUNKS[0], *CHUNKS[2:]]),
    "duplicated chunk": lambda: join([CHUNKS[0], CHUNKS[0], CHUNKS[1], CHUNKS[2], CHUNKS[3]]),
    "duplicated chunk replacing one": lambda: join([CHUNKS[0], CHUNKS[0], *CHUNKS[2:]]),
    "chunk removed from the middle": lambda: join([CHUNKS[0], *CHUNKS[2:]]),
    "final chunk moved forward": lambda: join([CHUNKS[0], CHUNKS[3]]),
    "chunk spliced from object with other aad": lambda: join(
        [CHUNKS[0], other_object(object_aad("aip-OTHER", "data/x.pdf"))[1], *CHUNKS[2:]]
    ),
    "chunk spliced from another encryption of the same object": lambda: join(
        [CHUNKS[0], other_object()[1], *CHUNKS[2:]]
    ),
    "header from another encryption of the same object": lambda: join(
        CHUNKS, header=split(encrypt(DATA, chunk_size=SMALL), SMALL)[0]
    ),
    "data appended after final chunk": lambda: BLOB + b"\x00",
    "another object's final chunk appended": lambda: BLOB + other_object()[-1],
    "empty input": lambda: b"",
}


@pytest.mark.parametrize("decrypt", DECRYPTORS, ids=["stream", "reader"])
@pytest.mark.parametrize("kind", list(TAMPERED))
def test_every_tampering_is_detected(kind: str, decrypt: Callable[[bytes], bytes]) -> None:
    tampered = TAMPERED[kind]()
    assert tampered != BLOB
    with pytest.raises(DecryptionError):
        decrypt(tampered)


@pytest.mark.parametrize("decrypt", DECRYPTORS, ids=["stream", "reader"])
def test_untampered_control_decrypts(decrypt: Callable[[bytes], bytes]) -> None:
    assert decrypt(BLOB) == DATA
    assert len(CHUNKS) == 4 and len(CHUNKS[-1]) == 100 + TAG_BYTES


@pytest.mark.parametrize("decrypt", DECRYPTORS, ids=["stream", "reader"])
def test_wrong_key_and_wrong_aad(decrypt: Callable[..., bytes]) -> None:
    with pytest.raises(DecryptionError):
        decrypt(BLOB, bytes(32))
    with pytest.raises(DecryptionError):
        decrypt(BLOB, KEY, object_aad("aip-6F1C2D4E-0000-4000-8000-000000000001", "data/b.pdf"))
    with pytest.raises(DecryptionError):
        decrypt(BLOB, KEY, AAD + b"\x00")


def test_truncation_messages_are_clear() -> None:
    with pytest.raises(DecryptionError, match="final chunk is missing"):
        decrypt_with_stream(join(CHUNKS[:-1]))
    with pytest.raises(DecryptionError, match="last chunk 1 failed authentication"):
        decrypt_with_stream(join(CHUNKS[:1]) + CHUNKS[1][:-1])
    with pytest.raises(DecryptionError, match="no chunk after the header"):
        decrypt_with_stream(HEADER)
    with pytest.raises(DecryptionError, match="not an earchive encrypted object"):
        decrypt_with_stream(b"%PDF-1.7\n" + bytes(100))
    with pytest.raises(DecryptionError, match="last chunk 3 failed authentication"):
        decrypt_with_stream(BLOB + b"x")


def test_exact_multiple_of_chunk_size_needs_its_empty_final_chunk() -> None:
    blob = encrypt(sample(2 * SMALL), chunk_size=SMALL)
    header, chunks = split(blob, SMALL)
    assert [len(chunk) for chunk in chunks] == [SMALL + TAG_BYTES, SMALL + TAG_BYTES, TAG_BYTES]
    with pytest.raises(DecryptionError, match="final chunk is missing"):
        decrypt_with_reader(join(chunks[:-1], header))


def test_stream_yields_only_authentic_chunks_before_failing() -> None:
    tampered = flip(BLOB, HEADER_BYTES + 2 * (SMALL + TAG_BYTES) + 1)
    received = []
    with pytest.raises(DecryptionError, match="chunk 2"):
        for part in decrypt_stream(io.BytesIO(tampered), KEY, aad=AAD):
            received.append(part)
    assert b"".join(received) == DATA[: 2 * SMALL]


def test_reader_leaves_no_unverified_plaintext_in_the_callers_buffer() -> None:
    secret = b"S" * (2 * SMALL)
    tampered = flip(encrypt(secret, chunk_size=SMALL), HEADER_BYTES + 20)
    reader = DecryptingReader(io.BytesIO(tampered), KEY, aad=AAD)
    buffer = bytearray(b"\xaa" * (4 * SMALL))
    with pytest.raises(DecryptionError):
        reader.readinto(buffer)
    assert b"SSSS" not in buffer
    small_reader = DecryptingReader(io.BytesIO(tampered), KEY, aad=AAD)
    with pytest.raises(DecryptionError):
        small_reader.read(10)


def test_reader_cannot_continue_past_a_failed_chunk() -> None:
    tampered = flip(BLOB, HEADER_BYTES + 3)  # chunk 0 broken, chunks 1..3 intact
    reader = DecryptingReader(io.BytesIO(tampered), KEY, aad=AAD)
    with pytest.raises(DecryptionError):
        reader.read(SMALL)
    with pytest.raises(DecryptionError, match="failed earlier"):
        reader.read(SMALL)


# --- readers as files ----------------------------------------------------------------


def test_readers_work_with_copyfileobj_and_files(tmp_path: Path) -> None:
    data = sample(3 * CHUNK_SIZE + 12345)
    (tmp_path / "plain").write_bytes(data)
    with (tmp_path / "plain").open("rb") as src, (tmp_path / "sealed").open("wb") as out:
        shutil.copyfileobj(EncryptingReader(src, KEY, aad=AAD), out)
    assert (tmp_path / "sealed").stat().st_size == encrypted_size(len(data))
    with (tmp_path / "sealed").open("rb") as src, (tmp_path / "back").open("wb") as out:
        shutil.copyfileobj(DecryptingReader(src, KEY, aad=AAD), out, length=4096)
    assert (tmp_path / "back").read_bytes() == data


def test_encrypting_reader_returns_full_reads_until_the_end() -> None:
    """S3 multipart uploads need every part but the last at full size."""
    data = sample(2 * CHUNK_SIZE + 3)
    reader = EncryptingReader(Trickle(data, 65536), KEY, aad=AAD)
    part = 5 * 1024 * 1024 // 4
    sizes = []
    while chunk := reader.read(part):
        sizes.append(len(chunk))
    assert all(size == part for size in sizes[:-1])
    assert sum(sizes) == encrypted_size(len(data))


def test_readers_are_binary_io_and_close() -> None:
    reader = EncryptingReader(io.BytesIO(b"abc"), KEY, aad=AAD)
    assert reader.readable() and not reader.seekable() and not reader.writable()
    assert reader.mode == "rb"
    assert reader.read(0) == b""
    first = reader.read(1)
    with reader:
        pass
    assert reader.closed
    with pytest.raises(ValueError):
        reader.read(1)
    assert first == b"E"


def test_readinto_with_memoryview_and_partial_reads() -> None:
    data = sample(SMALL * 5 + 1)
    blob = encrypt(data, chunk_size=SMALL)
    reader = DecryptingReader(io.BytesIO(blob), KEY, aad=AAD)
    out = bytearray(len(data) + 10)
    view = memoryview(out)
    position = 0
    for size in [1, 2, 3, SMALL - 6, 5000, 3 * SMALL]:
        position += reader.readinto(view[position : position + size])
    position += reader.readinto(view[position:])
    assert position == len(data)
    assert reader.readinto(view[position:]) == 0
    assert bytes(out[:position]) == data


# --- bounded memory ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import io, sys
    from archive_core.crypto import DecryptingReader, EncryptingReader, encrypted_size, object_aad

    TOTAL = int(sys.argv[1])
    BLOCK = 1 << 20

    def block(index):
        data = bytearray(index.to_bytes(8, "big") * (BLOCK // 8))
        return data

    class Pattern(io.RawIOBase):
        def __init__(self):
            self.position = 0
        def readable(self):
            return True
        def readinto(self, buffer):
            count = min(len(buffer), TOTAL - self.position)
            index, offset = divmod(self.position, BLOCK)
            count = min(count, BLOCK - offset)
            buffer[:count] = block(index)[offset:offset + count]
            self.position += count
            return count

    class Counting(io.RawIOBase):
        def __init__(self, inner):
            self.inner, self.count = inner, 0
        def readable(self):
            return True
        def readinto(self, buffer):
            count = self.inner.readinto(buffer)
            self.count += count
            return count

    key = bytes(32)
    aad = object_aad("aip-memory", "data/big.bin")
    sealed = Counting(EncryptingReader(Pattern(), key, aad=aad))
    plain = DecryptingReader(sealed, key, aad=aad)
    out = bytearray(BLOCK)
    index = 0
    while count := plain.readinto(out):
        assert count == BLOCK or index == TOTAL // BLOCK, count
        assert out[:count] == block(index)[:count], index
        index += 1
    assert index * BLOCK >= TOTAL
    assert sealed.count == encrypted_size(TOTAL), sealed.count
    status = open("/proc/self/status").read()
    print([line for line in status.splitlines() if line.startswith("VmHWM")][0])
    """
)


@pytest.mark.slow
def test_one_gigabyte_stream_in_bounded_memory() -> None:
    total = 1024**3 + 12345
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(total)], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"VmHWM:\s+(\d+) kB", result.stdout)
    assert match, result.stdout
    peak_mb = int(match.group(1)) / 1024
    assert peak_mb < 100, f"peak RSS {peak_mb:.1f} MB"


# --- the documented format ---------------------------------------------------------------


def independent_decrypt(blob: bytes, data_key: bytes, aad: bytes) -> bytes:
    """Decrypt using only docs/keys.md and the standard primitives, not archive_core.crypto."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    header = blob[:36]
    magic, version, suite, reserved, chunk_size = struct.unpack(">4sBBHI", header[:12])
    assert (magic, version, suite, reserved) == (b"EAR1", 1, 1, 0)
    salt, nonce_prefix = header[12:28], header[28:36]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"earchive/EAR1/object-key").derive(data_key)
    aead = AESGCM(key)
    body = blob[36:]
    step = chunk_size + 16
    blocks = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    if len(blocks[-1]) == step:
        blocks.append(b"")
    plain = []
    for counter, block in enumerate(blocks):
        final = counter == len(blocks) - 1
        nonce = nonce_prefix + struct.pack(">I", counter)
        plain.append(aead.decrypt(nonce, block, header + aad + struct.pack(">IB", counter, int(final))))
    return b"".join(plain)


@pytest.mark.parametrize("size", [0, SMALL - 1, SMALL, 3 * SMALL + 17])
def test_independent_reader_following_this_document(size: int) -> None:
    data = sample(size, seed=size + 3)
    blob = encrypt(data, chunk_size=SMALL)
    assert independent_decrypt(blob, KEY, AAD) == data
    aad = object_aad("aip-1", "data/tệp.pdf")
    expected_aad = b"".join(
        struct.pack(">I", len(part)) + part for part in (b"earchive/aip-object/v1", b"aip-1", "data/tệp.pdf".encode())
    )
    assert aad == expected_aad
