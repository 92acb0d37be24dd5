"""Accounts, roles, delegation and the destruction workflow (R-AU-2, R-AU-3, R-DS-1).

Revision ID: 0003_workflow
Revises: 0001_initial
Create Date: 2026-11-21

Written out (not derived from `archive_core.accounts` and
`preservation.destruction.models`) so that this revision stays what it was when
the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_workflow"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = 255
USERNAME = 64
LIST_CODE = 64
ROLES = ("van_thu", "archivist", "officer", "agency_head", "council_member", "so_noi_vu", "administrator")
LIST_STATES = (
    "proposed", "council_review", "so_noi_vu_review", "head_decision", "approved", "executing", "executed",
    "partially_destroyed", "rejected", "cancelled",
)
ITEM_STATES = (
    "included", "withdrawn", "excluded", "held", "rejected", "cancelled", "approved", "executing", "failed",
    "destroyed",
)
OPEN_ITEMS = "state IN ('included', 'approved', 'executing', 'failed')"


def big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_document() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.id")


def upgrade() -> None:
    create_users()
    create_role_assignments()
    create_delegations()
    create_destruction_lists()
    create_destruction_items()
    create_council_members()
    create_transitions()
    create_opinions()


def create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("username", sa.String(USERNAME), nullable=False, unique=True),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("agency_code", sa.String(CODE), nullable=False),
        sa.Column("kind", choice("account_kind", "person", "system"), nullable=False),
        sa.Column("email", sa.Text()),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column(
            "lock_reason", choice("lock_reason", "unused_since_issue", "inactive", "staff_left", "administrative")
        ),
        sa.Column("lock_note", sa.Text()),
        sa.Column("locked_at", moment()),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("created_by", sa.String(USERNAME), nullable=False),
        sa.Column("last_login_at", moment()),
        sa.Column("password_changed_at", moment()),
        sa.Column("left_at", moment()),
    )
    op.create_index("ix_users_agency_code", "users", ["agency_code"])


def create_role_assignments() -> None:
    op.create_table(
        "role_assignments",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("user_id", big_id(), user_fk(), nullable=False),
        sa.Column("role", choice("role", *ROLES), nullable=False),
        sa.Column("agency_code", sa.String(CODE), nullable=False),
        sa.Column("valid_from", moment(), nullable=False),
        sa.Column("valid_until", moment()),
        sa.Column("granted_by", sa.String(USERNAME), nullable=False),
        sa.Column("granted_at", moment(), nullable=False),
        sa.Column("revoked_at", moment()),
        sa.Column("revoked_by", sa.String(USERNAME)),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_role_assignments_user_id_role", "role_assignments", ["user_id", "role"])
    op.create_index("ix_role_assignments_role_agency_code", "role_assignments", ["role", "agency_code"])


def create_delegations() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("delegator_id", big_id(), user_fk(), nullable=False),
        sa.Column("delegate_id", big_id(), user_fk(), nullable=False),
        sa.Column("role", choice("delegated_role", *ROLES), nullable=False),
        sa.Column("agency_code", sa.String(CODE), nullable=False),
        sa.Column("valid_from", moment(), nullable=False),
        sa.Column("valid_until", moment(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(USERNAME), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("revoked_at", moment()),
        sa.Column("revoked_by", sa.String(USERNAME)),
        sa.CheckConstraint("delegator_id <> delegate_id", name=op.f("ck_delegations_not_self")),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_delegations_period")),
    )
    op.create_index("ix_delegations_delegator_id", "delegations", ["delegator_id"])
    op.create_index("ix_delegations_delegate_id", "delegations", ["delegate_id"])


def create_destruction_lists() -> None:
    op.create_table(
        "destruction_lists",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("code", sa.String(LIST_CODE), nullable=False, unique=True),
        sa.Column("agency_code", sa.String(CODE), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", choice("destruction_list_state", *LIST_STATES), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("due_list_id", big_id()),
        sa.Column("policy", json_document(), nullable=False),
        sa.Column("so_noi_vu_required", sa.Boolean(), nullable=False),
        sa.Column("proposed_by_id", big_id(), user_fk(), nullable=False),
        sa.Column("proposed_at", moment(), nullable=False),
        sa.Column("updated_at", moment(), nullable=False),
        sa.Column("decided_by_id", big_id(), user_fk()),
        sa.Column("decided_at", moment()),
        sa.Column("execution_deadline", moment()),
        sa.Column("executed_at", moment()),
    )
    op.create_index("ix_destruction_lists_state_agency_code", "destruction_lists", ["state", "agency_code"])
    op.create_index("ix_destruction_lists_agency_code_proposed_at", "destruction_lists", ["agency_code", "proposed_at"])


def create_destruction_items() -> None:
    op.create_table(
        "destruction_items",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("list_id", big_id(), sa.ForeignKey("destruction_lists.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("dossier_id", big_id(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("state", choice("destruction_item_state", *ITEM_STATES), nullable=False),
        sa.Column("dossier_code", sa.String(CODE)),
        sa.Column("title", sa.Text()),
        sa.Column("retention_due", sa.Date()),
        sa.Column("maintenance", sa.Text()),
        sa.Column("aip_id", sa.String(64)),
        sa.Column("note", sa.Text()),
        sa.Column("changed_at", moment(), nullable=False),
        sa.UniqueConstraint("list_id", "dossier_id", name="uq_destruction_items_list_id_dossier_id"),
        sa.UniqueConstraint("list_id", "position", name="uq_destruction_items_list_id_position"),
    )
    # A dossier is on at most one list that is still going on (R-DS-1): the database enforces it.
    open_items = sa.text(OPEN_ITEMS)
    op.create_index(
        "uq_destruction_items_open_dossier", "destruction_items", ["dossier_id"], unique=True,
        sqlite_where=open_items, postgresql_where=open_items,
    )


def create_council_members() -> None:
    op.create_table(
        "destruction_council_members",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("list_id", big_id(), sa.ForeignKey("destruction_lists.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("member_id", big_id(), user_fk(), nullable=False),
        sa.Column("designated_at", moment(), nullable=False),
        sa.UniqueConstraint(
            "list_id", "round", "member_id", name="uq_destruction_council_members_list_id_round_member_id"
        ),
    )


def create_transitions() -> None:
    op.create_table(
        "destruction_transitions",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("list_id", big_id(), sa.ForeignKey("destruction_lists.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", choice("transition_from_state", *LIST_STATES)),
        sa.Column("to_state", choice("transition_to_state", *LIST_STATES), nullable=False),
        sa.Column("actor", sa.String(USERNAME), nullable=False),
        sa.Column("actor_id", big_id(), user_fk()),
        sa.Column("on_behalf_of", sa.String(USERNAME)),
        sa.Column("on_behalf_of_id", big_id(), user_fk()),
        sa.Column("delegation_id", big_id()),
        sa.Column("role", sa.String(32)),
        sa.Column(
            "capacity",
            choice("destruction_capacity", "proposer", "council", "reviewer", "head", "executor", "system"),
            nullable=False,
        ),
        sa.Column("slot_id", big_id()),
        sa.Column("persons", json_document(), nullable=False),
        sa.Column("at", moment(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("details", json_document(), nullable=False),
        sa.Column("audit_seq", big_id(), nullable=False),
        sa.UniqueConstraint("list_id", "seq", name="uq_destruction_transitions_list_id_seq"),
    )


def create_opinions() -> None:
    op.create_table(
        "destruction_opinions",
        sa.Column("id", big_id(), primary_key=True),
        sa.Column("list_id", big_id(), sa.ForeignKey("destruction_lists.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("item_id", big_id(), sa.ForeignKey("destruction_items.id"), nullable=False),
        sa.Column("member_id", big_id(), user_fk(), nullable=False),
        sa.Column("actor_id", big_id(), user_fk(), nullable=False),
        sa.Column("opinion", choice("destruction_opinion", "agree", "disagree"), nullable=False),
        sa.Column("whole_list", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("at", moment(), nullable=False),
        sa.Column("transition_id", big_id(), sa.ForeignKey("destruction_transitions.id"), nullable=False),
    )
    op.create_index(
        "ix_destruction_opinions_list_id_round_member_id", "destruction_opinions", ["list_id", "round", "member_id"]
    )


def downgrade() -> None:
    for table in ("destruction_opinions", "destruction_transitions", "destruction_council_members",
                  "destruction_items", "destruction_lists", "delegations", "role_assignments", "users"):
        op.drop_table(table)
