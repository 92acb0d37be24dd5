"""`Catalog`: the engine, transactional sessions and schema migrations.

SQLite (the default, one file under the data home) and PostgreSQL (production)
behave the same way for callers:

- `session()` is a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`,
  so a writer takes the database lock before its first read and never fails
  half-way with "database is locked" when another writer got there first; other
  writers wait (busy timeout). WAL mode lets readers go on meanwhile.
- `session(readonly=True)` is a read transaction (deferred on SQLite,
  `READ ONLY` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS = "archive_core.catalog:migrations"
READONLY_OPTION = "earchive_readonly"
SQLITE_BUSY_TIMEOUT_MS = 60_000


class CatalogError(Exception):
    """A catalog operation that would break an invariant (not a database failure)."""


def normalise_url(url: str) -> URL:
    """`postgresql://` means psycopg 3 here; a SQLite file's folder is created when missing."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Catalog:
    """The catalog database at `url` (an SQLAlchemy URL: `sqlite:///…` or `postgresql+psycopg://…`)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{READONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends normally, rolled back on any exception."""
        factory = self._read_sessions if readonly else self._sessions
        with factory() as session:
            session.info[READONLY_OPTION] = readonly
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def migrate(self, revision: str = "heads") -> None:
        """Bring the schema to `revision` (Alembic, run in one transaction); default: every head."""
        with self.engine.begin() as connection:
            config = alembic_config(connection)
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        heads = ScriptDirectory.from_config(alembic_config()).get_heads()
        return heads[0] if len(heads) == 1 else None

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Catalog({self.url.render_as_string(hide_password=True)!r})"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration without an alembic.ini: the scripts ship inside this package."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def _make_engine(url: URL, *, echo: bool) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    engine = create_engine(url, echo=echo, pool_pre_ping=True)
    event.listen(engine, "begin", _postgresql_begin)
    return engine


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    database = url.database
    options: dict[str, Any] = {"echo": echo}
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        options |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that `_sqlite_begin` decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted content is overwritten, not left in free pages (destruction, R-DS-2).
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # Archived means durable (R-ST-6): FULL syncs the WAL at every commit.
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    readonly = connection.get_execution_options().get(READONLY_OPTION, False)
    # query_only is a connection setting: set it for every transaction, pooled connections are reused.
    connection.exec_driver_sql(f"PRAGMA query_only = {int(bool(readonly))}")
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _postgresql_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READONLY_OPTION, False):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def session_is_readonly(session: Session) -> bool:
    return bool(session.info.get(READONLY_OPTION, False))
