"""Retention: effective periods and their history, legal holds, stored due lists (R-RT-1…5).

Revision ID: 0002_retention
Revises: 0001_initial
Create Date: 2026-11-21

Written out (not derived from `archive_core.catalog.retention_models`) so that
this revision stays what it was when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_retention"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = 255
RECORD_TYPE = 64
PERIOD_KINDS = ("years", "permanent", "event")
SOURCES = ("metadata", "schedule", "appraisal")


def big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def dossier_fk(*, cascade: bool) -> sa.ForeignKey:
    return sa.ForeignKey("dossiers.id", ondelete="CASCADE" if cascade else None)


def upgrade() -> None:
    create_retention_states()
    create_retention_changes()
    create_legal_holds()
    create_due_lists()
    protect_retention_changes()


def create_retention_states() -> None:
    op.create_table(
        "retention_states",
        sa.Column("dossier_id", big_id(), dossier_fk(cascade=True), primary_key=True, autoincrement=False),
        sa.Column("record_type", sa.String(RECORD_TYPE)),
        sa.Column("record_type_source", sa.String(32)),
        sa.Column("period_kind", choice("retention_period_kind", *PERIOD_KINDS)),
        sa.Column("period_years", sa.Integer()),
        sa.Column("event_description", sa.Text()),
        sa.Column("trigger_on", sa.Date()),
        sa.Column("source", choice("retention_source", *SOURCES)),
        sa.Column("schedule_code", sa.String(RECORD_TYPE)),
        sa.Column("updated_at", moment(), nullable=False),
    )
    op.create_index("ix_retention_states_record_type", "retention_states", ["record_type"])


def create_retention_changes() -> None:
    op.create_table(
        "retention_changes",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("dossier_id", big_id(), dossier_fk(cascade=True), nullable=False),
        sa.Column(
            "kind", choice("retention_change_kind", "assigned", "record_type", "extended", "triggered"),
            nullable=False,
        ),
        sa.Column("at", moment(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("old_period", sa.String(CODE)),
        sa.Column("new_period", sa.String(CODE)),
        sa.Column("old_due", sa.Date()),
        sa.Column("new_due", sa.Date()),
        sa.Column("trigger_on", sa.Date()),
        sa.Column("record_type", sa.String(RECORD_TYPE)),
        sa.Column("source", choice("retention_change_source", *SOURCES)),
        sa.Column("reason", sa.Text()),
    )
    op.create_index("ix_retention_changes_dossier_id_id", "retention_changes", ["dossier_id", "id"])


def create_legal_holds() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("scope", choice("legal_hold_scope", "dossier", "list", "agency", "fonds"), nullable=False),
        sa.Column("scope_code", sa.String(CODE)),
        sa.Column("placed_at", moment(), nullable=False),
        sa.Column("placed_by", sa.Text(), nullable=False),
        sa.Column("released_at", moment()),
        sa.Column("released_by", sa.Text()),
        sa.Column("release_reason", sa.Text()),
    )
    op.create_index("ix_legal_holds_released_at", "legal_holds", ["released_at"])
    op.create_index("ix_legal_holds_scope_scope_code", "legal_holds", ["scope", "scope_code"])
    op.create_table(
        "legal_hold_dossiers",
        sa.Column("hold_id", big_id(), sa.ForeignKey("legal_holds.id"), primary_key=True),
        sa.Column("dossier_id", big_id(), dossier_fk(cascade=True), primary_key=True),
    )
    op.create_index("ix_legal_hold_dossiers_dossier_id", "legal_hold_dossiers", ["dossier_id"])


def create_due_lists() -> None:
    op.create_table(
        "due_lists",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("kind", choice("due_list_kind", "due", "advance"), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Date(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_index("ix_due_lists_kind_id", "due_lists", ["kind", "id"])
    op.create_table(
        "due_list_items",
        sa.Column("list_id", big_id(), sa.ForeignKey("due_lists.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("dossier_id", big_id(), dossier_fk(cascade=False), nullable=False),
        sa.Column("code", sa.String(CODE)),
        sa.Column("title", sa.Text()),
        sa.Column("agency_code", sa.String(CODE)),
        sa.Column("end_year", sa.Integer()),
        sa.Column("period", sa.String(CODE)),
        sa.Column("retention_due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
    )
    op.create_index("ix_due_list_items_dossier_id", "due_list_items", ["dossier_id"])


# History is never overwritten (R-RT-5): the database refuses UPDATE. Rows go
# away only with their dossier (a pending dossier rolled back at recovery).
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER retention_changes_no_update BEFORE UPDATE ON retention_changes
    BEGIN SELECT RAISE(ABORT, 'retention_changes is history: UPDATE refused'); END
    """,
)
POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION retention_changes_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'retention_changes is history: UPDATE refused'
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER retention_changes_no_update BEFORE UPDATE ON retention_changes
    FOR EACH ROW EXECUTE FUNCTION retention_changes_refuse_update()
    """,
)


def protect_retention_changes() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"retention history protection is not written for {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in ("due_list_items", "due_lists", "legal_hold_dossiers", "legal_holds", "retention_changes",
                  "retention_states"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS retention_changes_refuse_update()")
