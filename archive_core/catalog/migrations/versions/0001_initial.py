"""Initial catalog: submissions, findings, fonds, dossiers, documents, files, copies, events, audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21

The schema is written out here (not derived from the models at run time) so
that this revision stays what it was when later revisions change the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
CODE = 255


def big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_document() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def id_column() -> sa.Column[int]:
    return sa.Column("id", big_id(), primary_key=True)


def upgrade() -> None:
    create_submissions()
    create_findings()
    create_fonds()
    create_dossiers()
    create_documents()
    create_files()
    create_copies()
    create_events()
    create_audit_log()
    protect_audit_log()


def create_submissions() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("package_name", sa.Text(), nullable=False),
        sa.Column("package_kind", sa.String(64)),
        sa.Column("agency_code", sa.String(CODE)),
        sa.Column("agency_name", sa.Text()),
        sa.Column("received_at", moment(), nullable=False),
        sa.Column("finished_at", moment()),
        sa.Column("updated_at", moment(), nullable=False),
        sa.Column("verdict", sa.String(32)),
        sa.Column(
            "state",
            choice("submission_state", "received", "checked", "archiving", "archived", "rejected", "failed"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("receipt", json_document(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_submissions_agency_code", "submissions", ["agency_code"])
    op.create_index("ix_submissions_received_at", "submissions", ["received_at"])
    op.create_index("ix_submissions_fingerprint", "submissions", ["fingerprint"])
    op.create_index("ix_submissions_state_received_at", "submissions", ["state", "received_at"])


def create_findings() -> None:
    op.create_table(
        "findings",
        id_column(),
        sa.Column("submission_id", sa.String(64), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", choice("severity", "error", "warning", "info"), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("path", sa.Text()),
        sa.Column("field", sa.String(CODE)),
        sa.Column("document", sa.Text()),
        sa.Column("message_vi", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
    )
    op.create_index("ix_findings_submission_id", "findings", ["submission_id"])
    op.create_index("ix_findings_code", "findings", ["code"])


def create_fonds() -> None:
    op.create_table(
        "fonds",
        id_column(),
        sa.Column("identifier", sa.String(CODE)),
        sa.Column("organ_id", sa.String(CODE)),
        sa.Column("name", sa.Text()),
        sa.Column("metadata", json_document(), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("updated_at", moment(), nullable=False),
    )
    op.create_index("ix_fonds_organ_id_identifier", "fonds", ["organ_id", "identifier"])


def create_dossiers() -> None:
    op.create_table(
        "dossiers",
        id_column(),
        sa.Column("submission_id", sa.String(64), sa.ForeignKey("submissions.id")),
        sa.Column("fonds_id", big_id(), sa.ForeignKey("fonds.id")),
        sa.Column("kind", choice("dossier_kind", "hoso", "tailieu"), nullable=False),
        sa.Column("code", sa.String(CODE)),
        sa.Column("file_code", sa.String(CODE)),
        sa.Column("arc_file_code", sa.String(CODE)),
        sa.Column("organ_id", sa.String(CODE)),
        sa.Column("title", sa.Text()),
        sa.Column("start_date", sa.String(64)),
        sa.Column("end_date", sa.String(64)),
        sa.Column("start_on", sa.Date()),
        sa.Column("end_on", sa.Date()),
        sa.Column("end_year", sa.Integer()),
        sa.Column("maintenance", sa.Text()),
        sa.Column("maintenance_code", sa.String(8)),
        sa.Column("retention_years", sa.Integer()),
        sa.Column("retention_permanent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("retention_due", sa.Date()),
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("mode", sa.String(64)),
        sa.Column("agency_code", sa.String(CODE)),
        sa.Column("agency_name", sa.Text()),
        sa.Column(
            "state", choice("dossier_state", "pending", "archived", "destroying", "destroyed"), nullable=False
        ),
        sa.Column("aip_id", sa.String(64), unique=True),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("master_key_id", sa.String(CODE)),
        sa.Column("key_destroyed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("archived_at", moment()),
        sa.Column("destroyed_at", moment()),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("metadata", json_document(), nullable=False),
    )
    for column in ("submission_id", "fonds_id", "code", "file_code", "arc_file_code", "end_year",
                   "legal_hold", "agency_code"):
        op.create_index(f"ix_dossiers_{column}", "dossiers", [column])
    op.create_index("ix_dossiers_due", "dossiers", ["state", "legal_hold", "retention_due", "id"])
    live = sa.text("state <> 'destroyed'")
    op.create_index(
        "uq_dossiers_fingerprint_live", "dossiers", ["fingerprint"], unique=True,
        sqlite_where=live, postgresql_where=live,
    )


def create_documents() -> None:
    op.create_table(
        "documents",
        id_column(),
        sa.Column("dossier_id", big_id(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", choice("document_kind", "doc", "pic", "media"), nullable=False),
        sa.Column("doc_id", sa.String(CODE)),
        sa.Column("doc_code", sa.String(CODE)),
        sa.Column("arc_doc_code", sa.String(CODE)),
        sa.Column("doc_identifier", sa.String(CODE)),
        sa.Column("code_number", sa.String(CODE)),
        sa.Column("code_notation", sa.String(CODE)),
        sa.Column("type_name", sa.String(CODE)),
        sa.Column("subject", sa.Text()),
        sa.Column("organ_name", sa.Text()),
        sa.Column("issued_date", sa.String(64)),
        sa.Column("issued_on", sa.Date()),
        sa.Column("mode", sa.String(64)),
        sa.Column("confidence_level", sa.String(64)),
        sa.Column("page_count", sa.Integer()),
        sa.Column("language", sa.String(CODE)),
        sa.Column("metadata", json_document(), nullable=False),
        sa.UniqueConstraint("dossier_id", "position", name="uq_documents_dossier_id_position"),
    )
    op.create_index("ix_documents_doc_id", "documents", ["doc_id"])
    op.create_index("ix_documents_doc_code", "documents", ["doc_code"])


def create_files() -> None:
    op.create_table(
        "files",
        id_column(),
        sa.Column("dossier_id", big_id(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("document_id", big_id(), sa.ForeignKey("documents.id")),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source_path", sa.Text()),
        sa.Column(
            "role",
            choice("file_role", "original", "preservation", "metadata", "schema", "documentation", "tag", "other"),
            nullable=False,
        ),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("mime", sa.String(CODE)),
        sa.Column("puid", sa.String(64)),
        sa.UniqueConstraint("dossier_id", "path", name="uq_files_dossier_id_path"),
    )
    op.create_index("ix_files_document_id", "files", ["document_id"])
    op.create_index("ix_files_sha256", "files", ["sha256"])


def create_copies() -> None:
    op.create_table(
        "copies",
        id_column(),
        sa.Column("dossier_id", big_id(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("aip_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("plain_size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("stored_sha256", sa.String(64), nullable=False),
        sa.Column(
            "state", choice("copy_state", "written", "verified", "missing", "corrupt", "deleted"), nullable=False
        ),
        sa.Column("written_at", moment(), nullable=False),
        sa.Column("last_fixity_at", moment()),
        sa.Column("last_fixity_outcome", choice("fixity_outcome", "success", "warning", "failure")),
        sa.UniqueConstraint("location_id", "object_key", name="uq_copies_location_id_object_key"),
    )
    op.create_index("ix_copies_dossier_id", "copies", ["dossier_id"])
    op.create_index("ix_copies_aip_id", "copies", ["aip_id"])
    op.create_index("ix_copies_fixity_order", "copies", ["last_fixity_at", "id"])


def create_events() -> None:
    op.create_table(
        "events",
        id_column(),
        sa.Column("identifier", sa.String(CODE), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", moment(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("agent_version", sa.String(64), nullable=False),
        sa.Column("agent_type", sa.String(32), nullable=False),
        sa.Column("outcome", choice("event_outcome", "success", "warning", "failure"), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("outcome_detail", sa.Text(), nullable=False),
        sa.Column("objects", json_document(), nullable=False),
        sa.Column("submission_id", sa.String(64), sa.ForeignKey("submissions.id")),
        sa.Column("dossier_id", big_id(), sa.ForeignKey("dossiers.id")),
    )
    op.create_index("ix_events_submission_id", "events", ["submission_id"])
    op.create_index("ix_events_dossier_id", "events", ["dossier_id"])


def create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=False),
        sa.Column("time", moment(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(CODE), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(CODE)),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_log_time", "audit_log", ["time"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_index("ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"])


# R-AU-1: the database itself refuses to rewrite history, and an INSERT must
# extend the chain by exactly one entry. Someone who can drop triggers can
# still tamper: `archive_core.audit.AuditLog.verify` detects that.
SQLITE_AUDIT_TRIGGERS = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_log_extend_chain BEFORE INSERT ON audit_log
    WHEN NEW.seq IS NOT COALESCE((SELECT max(seq) FROM audit_log), 0) + 1
      OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '{GENESIS}')
    BEGIN SELECT RAISE(ABORT, 'audit_log: an entry must extend the chain (seq = head + 1, prev_hash = head hash)'); END
    """,
)

POSTGRESQL_AUDIT_TRIGGERS = (
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
    f"""
    CREATE FUNCTION audit_log_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash text;
    BEGIN
        SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
        IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1
           OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '{GENESIS}') THEN
            RAISE EXCEPTION 'audit_log: entry % must extend the chain (head is %)', NEW.seq, COALESCE(head_seq, 0)
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_extend_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_extend_chain()
    """,
)


def protect_audit_log() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_AUDIT_TRIGGERS, "postgresql": POSTGRESQL_AUDIT_TRIGGERS}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"audit log protection is not written for {dialect}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in ("audit_log", "events", "copies", "files", "documents", "dossiers", "fonds", "findings",
                  "submissions"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_extend_chain()")
