"""Alembic environment: migrations run on the connection `Catalog.migrate` passes in.

For a developer's `alembic` command line, `sqlalchemy.url` in the config is used instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from archive_core.catalog.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as owned:
        run_on(owned)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the catalog migrations run online only (Catalog.migrate)")
run_migrations_online()
