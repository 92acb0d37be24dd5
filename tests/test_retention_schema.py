"""Revision 0002_retention against the retention models, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from archive_core.catalog import Base, Catalog, DossierRow, repo
from archive_core.catalog.database import alembic_config
from archive_core.catalog.retention_models import RetentionStateRow

pytest_plugins = ["tests.catalog_fixtures"]

RETENTION_TABLES = {
    "retention_states", "retention_changes", "legal_holds", "legal_hold_dossiers", "due_lists", "due_list_items",
}


def _mentions_retention(difference: object) -> bool:
    return any(table in repr(difference) for table in RETENTION_TABLES)


def test_revision_sits_on_the_initial_schema() -> None:
    script = ScriptDirectory.from_config(alembic_config()).get_revision("0002_retention")
    assert script is not None and script.down_revision == "0001_initial"


def test_migration_matches_the_models(catalog_url: str) -> None:
    assert RetentionStateRow.metadata is Base.metadata
    with Catalog(catalog_url) as catalog:
        catalog.migrate("0002_retention")
        with catalog.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert tables >= RETENTION_TABLES
    assert [d for d in differences if _mentions_retention(d)] == []
    # Up to this revision the whole catalog matches; what is allowed is the tables (and their indexes)
    # of another branch (0003_workflow …) whose models happen to be imported in this process.
    assert [d for d in differences if _table_of(d) in tables] == []


def _table_of(difference: Any) -> str:
    """The table an Alembic autogenerate difference is about."""
    first = difference[0] if isinstance(difference, list) else difference
    operation, subject = first[0], first[1]
    if operation.endswith("_table"):
        return str(subject.name)
    if operation.endswith(("_index", "_constraint", "_fk")):
        return str(subject.table.name)
    return str(first[2])  # add_column / remove_column / modify_*: (operation, schema, table, …)


def test_downgrade_removes_only_the_retention_tables(catalog_url: str) -> None:
    with Catalog(catalog_url) as catalog:
        catalog.migrate("0002_retention")
        with catalog.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0001_initial")
        with catalog.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        assert not tables & RETENTION_TABLES
        assert "dossiers" in tables
        catalog.migrate("0002_retention")  # and back up again
        assert catalog.current_revision() == "0002_retention"


def test_retention_history_refuses_update(catalog: Catalog) -> None:
    with catalog.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO dossiers (id, kind, state, created_at, metadata) "
            "VALUES (1, 'hoso', 'archived', '2026-11-21 03:00:00', '{}')"
        ))
        connection.execute(text(
            "INSERT INTO retention_changes (dossier_id, kind, at, actor, new_period) "
            "VALUES (1, 'assigned', '2026-11-21 03:00:00', 'system', '10')"
        ))
    with pytest.raises(DBAPIError, match="history"), catalog.engine.begin() as connection:
        connection.execute(text("UPDATE retention_changes SET new_period = '70'"))


def test_due_query_used_by_the_due_list_stays_on_its_index(catalog: Catalog) -> None:
    query = repo.due_dossiers_query(date(2030, 1, 1), notice_days=30).with_only_columns(
        DossierRow.id, DossierRow.code, DossierRow.title, DossierRow.retention_due
    )
    with catalog.session(readonly=True) as session:
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if catalog.dialect == "sqlite":
            plan = " ".join(str(row) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row) for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_dossiers_due" in plan
    assert "TEMP B-TREE" not in plan.upper()  # SQLite: the order comes from the index, no sort
