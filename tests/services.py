"""Throw-away servers for tests: started on free loopback ports, stopped by PID.

Each server lives in a private folder under the test's temporary directory and
is stopped by the PID it wrote, never by name, so nothing else on the machine is
touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EICAR = (
    b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
)
EICAR_SIGNATURE = "Earchive.Test.EICAR"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_pid_file(pid_file: Path, timeout: float = 10.0) -> None:
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().strip())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class Clamd:
    port: int
    folder: Path


@contextlib.contextmanager
def clamd_server(folder: Path) -> Iterator[Clamd]:
    """A real clamd whose only signature is the EICAR test string (no download possible here)."""
    binary = shutil.which("clamd") or "/usr/sbin/clamd"
    if not Path(binary).exists():
        raise RuntimeError("clamd is not installed: deploy/install.sh --test installs clamav-daemon")
    database = folder / "db"
    database.mkdir(parents=True)
    digest = hashlib.md5(EICAR).hexdigest()
    (database / "earchive-test.hdb").write_text(f"{digest}:{len(EICAR)}:{EICAR_SIGNATURE}\n")
    port = free_port()
    pid_file = folder / "clamd.pid"
    config = folder / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"DatabaseDirectory {database}",
                f"TCPSocket {port}",
                "TCPAddr 127.0.0.1",
                f"PidFile {pid_file}",
                f"LogFile {folder / 'clamd.log'}",
                "Foreground no",
                "StreamMaxLength 200M",
                "MaxThreads 4",
                "",
            ]
        )
    )
    subprocess.run([binary, "-c", str(config)], check=True, timeout=60)
    try:
        wait_for_port(port)
        yield Clamd(port=port, folder=folder)
    finally:
        stop_pid_file(pid_file)
