"""Benchmark EAR1 streaming encryption against raw SHA-256 over the same bytes.

    .venv/bin/python bench/bench_crypto.py [--mib 512] [--repeat 3] [--json OUT.json]

Every case streams the same in-memory random bytes in 1 MiB pieces, one thread,
warm, best of `--repeat`:
- sha256: hashlib over the bytes (the least any fixity check costs);
- aesgcm: `cryptography` AESGCM.encrypt on 1 MiB chunks (the library's ceiling);
- encrypt_stream / decrypt_stream: the generators;
- EncryptingReader / DecryptingReader: `shutil.copyfileobj` into a sink, and `readinto` of 1 MiB;
- put path: EncryptingReader read + SHA-256 of the sealed bytes, what `ObjectStore.put` does;
- threads: encrypt_stream in two threads at once (does the cipher release the GIL?).
Ratio = sha256 seconds / case seconds (above 1.0: faster than hashing the same bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from archive_core.crypto import (
    CHUNK_SIZE,
    DecryptingReader,
    EncryptingReader,
    decrypt_stream,
    encrypt_stream,
    object_aad,
)

KEY = os.urandom(32)
AAD = object_aad("aip-BENCH", "data/representations/rep1/data/big.bin")


class Sink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def sha256_pass(data: bytes) -> None:
    view = memoryview(data)
    digest = hashlib.sha256()
    for start in range(0, len(view), CHUNK_SIZE):
        digest.update(view[start : start + CHUNK_SIZE])


def aesgcm_pass(data: bytes) -> None:
    aead = AESGCM(KEY)
    view = memoryview(data)
    for counter, start in enumerate(range(0, len(view), CHUNK_SIZE)):
        aead.encrypt(counter.to_bytes(12, "big"), view[start : start + CHUNK_SIZE], AAD)


def drain(chunks: object) -> None:
    for _ in chunks:  # type: ignore[attr-defined]
        pass


def readinto_all(reader: io.RawIOBase) -> None:
    buffer = bytearray(CHUNK_SIZE)
    while reader.readinto(buffer):
        pass


def put_path(data: bytes) -> None:
    reader = EncryptingReader(io.BytesIO(data), KEY, aad=AAD)
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    while count := reader.readinto(buffer):
        digest.update(view[:count])


def two_threads(data: bytes) -> None:
    threads = [threading.Thread(target=drain, args=(encrypt_stream(io.BytesIO(data), KEY, aad=AAD),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def best_seconds(run: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    data = os.urandom(args.mib * 1024 * 1024)
    sealed = b"".join(encrypt_stream(io.BytesIO(data), KEY, aad=AAD))
    cases: dict[str, tuple[Callable[[], None], int]] = {
        "sha256": (lambda: sha256_pass(data), 1),
        "aesgcm (library, 1 MiB calls)": (lambda: aesgcm_pass(data), 1),
        "encrypt_stream": (lambda: drain(encrypt_stream(io.BytesIO(data), KEY, aad=AAD)), 1),
        "decrypt_stream": (lambda: drain(decrypt_stream(io.BytesIO(sealed), KEY, aad=AAD)), 1),
        "EncryptingReader copyfileobj": (
            lambda: shutil.copyfileobj(EncryptingReader(io.BytesIO(data), KEY, aad=AAD), Sink()),
            1,
        ),
        "EncryptingReader readinto 1 MiB": (lambda: readinto_all(EncryptingReader(io.BytesIO(data), KEY, aad=AAD)), 1),
        "DecryptingReader copyfileobj": (
            lambda: shutil.copyfileobj(DecryptingReader(io.BytesIO(sealed), KEY, aad=AAD), Sink()),
            1,
        ),
        "DecryptingReader readinto 1 MiB": (
            lambda: readinto_all(DecryptingReader(io.BytesIO(sealed), KEY, aad=AAD)),
            1,
        ),
        "put path: encrypt + sha256": (lambda: put_path(data), 1),
        "encrypt_stream, 2 threads (aggregate)": (lambda: two_threads(data), 2),
    }
    sha_seconds = best_seconds(cases["sha256"][0], args.repeat)
    results = []
    print(f"{args.mib} MiB, best of {args.repeat}, cpus={os.cpu_count()}, loadavg={os.getloadavg()[0]:.2f}")
    print(f"{'case':42} {'GB/s':>7} {'vs sha256':>10}")
    for name, (run, copies) in cases.items():
        seconds = sha_seconds if name == "sha256" else best_seconds(run, args.repeat)
        gb_per_s = copies * len(data) / seconds / 1e9
        ratio = sha_seconds / seconds * copies
        results.append(
            {"case": name, "seconds": round(seconds, 4), "gb_per_s": round(gb_per_s, 2), "ratio": round(ratio, 2)}
        )
        print(f"{name:42} {gb_per_s:7.2f} {ratio:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"mib": args.mib, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
