"""Catalog fixtures on both backends. Load in a test module with

    pytest_plugins = ["tests.catalog_fixtures"]

`catalog_url` is parametrised over SQLite (a file in the test's tmp folder) and
PostgreSQL (a fresh schema in a throw-away cluster started once per session and
per xdist worker). PostgreSQL tests are never skipped: when the server cannot
start, they fail and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archive_core.catalog import Catalog
from tests.services_pg import Postgres, PostgresUnavailable, postgres_server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster for the whole session (one per xdist worker)."""
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required for the catalog tests and could not start: {exc}", pytrace=False)


@pytest.fixture(params=BACKENDS)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    schema = server.create_schema()
    try:
        yield server.url(schema=schema)
    finally:
        server.drop_schema(schema)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A migrated catalog on each backend."""
    with Catalog(catalog_url) as opened:
        opened.migrate()
        yield opened
