"""A throw-away PostgreSQL cluster for tests (see /work/shared/notes/environment.md).

The cluster lives in a private folder under /tmp (the pytest temporary folder is
private to its user, and the server runs as `postgres`), listens on a free
127.0.0.1 port and a private socket folder, runs with `fsync=off`, and is
stopped with `pg_ctl stop` (then by the PID it wrote), never by name.
Nothing is skipped: if the server cannot start, the caller gets an error that
says why and how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tests.services import free_port, stop_pid_file

PG_BIN = Path(os.environ.get("EARCHIVE_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be started for the tests."""


@dataclass
class Postgres:
    port: int
    folder: Path
    superuser: str = SERVER_USER

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    def url(self, database: str = "postgres", *, schema: str | None = None) -> str:
        """SQLAlchemy URL; with `schema`, every connection works in that schema (libpq `search_path`)."""
        url = f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.superuser, dbname="postgres", autocommit=True
        )

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        with self._admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return name

    def create_schema(self, prefix: str = "t") -> str:
        """A new empty schema in the `postgres` database: much cheaper than a database (ms, not 0.5 s)."""
        name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        with self._admin() as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        return name

    def drop_schema(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: root runs it as `postgres`, anyone else as themselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return argv


def _server_user_name() -> str:
    return SERVER_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def _run(argv: list[str], what: str, log: Path | None = None) -> None:
    completed = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
    )
    if completed.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise PostgresUnavailable(
            f"{what} failed (exit {completed.returncode}): {completed.stderr.strip() or completed.stdout.strip()}"
            + (f"\n--- server log ---\n{tail}" if tail else "")
        )


def _check_installed() -> None:
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if missing:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries {missing} are not in {PG_BIN}: install the Debian package "
            "`postgresql` (deploy/install.sh --test does) or set EARCHIVE_PG_BIN"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise PostgresUnavailable("running as root but there is no `postgres` user to run the server") from exc


def _private_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="earchive-pg-"))
    (folder / "run").mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        for path in (folder, folder / "run"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return folder


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Start a fresh cluster, yield it, stop it and delete its folder."""
    _check_installed()
    folder = _private_folder()
    data, log = folder / "data", folder / "server.log"
    port = free_port()
    started = False
    try:
        _run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", _server_user_name(), "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            "initdb",
        )
        options = f"-p {port} -k {folder / 'run'} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(START_TIMEOUT_S),
             "-o", options, "start"],
            "pg_ctl start",
            log,
        )
        started = True
        yield Postgres(port=port, folder=folder, superuser=_server_user_name())
    finally:
        if started:
            _stop(data)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(data: Path) -> None:
    try:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "pg_ctl stop")
    except (PostgresUnavailable, subprocess.TimeoutExpired):
        # postmaster.pid holds the server's PID on its first line: stop that process only.
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            first_line = pid_file.read_text().splitlines()[0]
            only_pid = data.parent / "postmaster.only-pid"
            only_pid.write_text(first_line)
            stop_pid_file(only_pid)
