"""Catalog tables of retention (R-RT-1…5): periods, their history, legal holds and stored due lists.

The tables are created by the Alembic revision `0002_retention`, which must
stay identical to these models (tests/test_retention_schema.py compares them).
They share `archive_core.catalog.models.Base`, so one `MetaData` describes the
whole catalog once this module is imported.

`dossiers.retention_due` and `dossiers.legal_hold` stay the indexed mirror that
the due list reads (index `ix_dossiers_due`); the rows here are the truth they
are derived from. `preservation.retention` keeps both in step.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archive_core.catalog.models import CODE_CHARS, Base
from archive_core.catalog.types import BIG_ID, UtcDateTime, str_enum

RECORD_TYPE_CHARS = 64


class PeriodKind(StrEnum):
    YEARS = "years"
    """N years from the year the work ended (R-RT-1)."""
    PERMANENT = "permanent"
    """Vĩnh viễn: never falls due."""
    EVENT = "event"
    """Until / N years after an event whose date is entered later ("đến khi văn bản hết hiệu lực")."""


class RetentionSource(StrEnum):
    METADATA = "metadata"
    """The dossier's own maintenance value."""
    SCHEDULE = "schedule"
    """The retention schedule, because the dossier stated no period (R-RT-2)."""
    APPRAISAL = "appraisal"
    """An appraisal set a new period (R-RT-5)."""


class RetentionChangeKind(StrEnum):
    ASSIGNED = "assigned"
    RECORD_TYPE = "record_type"
    EXTENDED = "extended"
    TRIGGERED = "triggered"


class HoldScope(StrEnum):
    DOSSIER = "dossier"
    LIST = "list"
    AGENCY = "agency"
    """Every dossier whose submitting agency (`dossiers.agency_code`) is the code, now and later."""
    FONDS = "fonds"
    """Every dossier of the fonds with this mã phông, now and later."""


class DueListKind(StrEnum):
    DUE = "due"
    """Danh mục tài liệu hết giá trị: due on or before the list's day."""
    ADVANCE = "advance"
    """Advance notice: falls due after the list's day, within the notice period."""


class RetentionStateRow(Base):
    """The effective retention of one dossier and where it came from (one row per dossier, kept current)."""

    __tablename__ = "retention_states"

    dossier_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    record_type: Mapped[str | None] = mapped_column(String(RECORD_TYPE_CHARS), index=True)
    """Code of a row of the retention schedule."""
    record_type_source: Mapped[str | None] = mapped_column(String(32))
    """`archivist` (set by a person), `ingest` (given at ingest) or `typeName` (derived from the documents)."""
    period_kind: Mapped[PeriodKind | None] = mapped_column(str_enum(PeriodKind, "retention_period_kind"))
    """None: no period is known, so the dossier never falls due until one is set."""
    period_years: Mapped[int | None] = mapped_column(Integer)
    event_description: Mapped[str | None] = mapped_column(Text)
    trigger_on: Mapped[date | None] = mapped_column(Date)
    """The date of the event of an event-based period, once recorded."""
    source: Mapped[RetentionSource | None] = mapped_column(str_enum(RetentionSource, "retention_source"))
    schedule_code: Mapped[str | None] = mapped_column(String(RECORD_TYPE_CHARS))
    """The schedule row the period came from (source `schedule`)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class RetentionChangeRow(Base):
    """One change of a dossier's retention: only ever inserted (a trigger refuses UPDATE)."""

    __tablename__ = "retention_changes"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[RetentionChangeKind] = mapped_column(
        str_enum(RetentionChangeKind, "retention_change_kind"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    old_period: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    """Period in the schedule file's notation: `10`, `Vĩnh viễn`, `event:<description>:<years>`."""
    new_period: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    old_due: Mapped[date | None] = mapped_column(Date)
    new_due: Mapped[date | None] = mapped_column(Date)
    trigger_on: Mapped[date | None] = mapped_column(Date)
    record_type: Mapped[str | None] = mapped_column(String(RECORD_TYPE_CHARS))
    source: Mapped[RetentionSource | None] = mapped_column(str_enum(RetentionSource, "retention_change_source"))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "dossier_id", "id"),)


class LegalHoldRow(Base):
    """A legal hold (R-RT-4); active while `released_at` is empty."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(Text, nullable=False)
    scope: Mapped[HoldScope] = mapped_column(str_enum(HoldScope, "legal_hold_scope"), nullable=False)
    scope_code: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    """Agency code (scope `agency`) or mã phông (scope `fonds`)."""
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    placed_by: Mapped[str] = mapped_column(Text, nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    released_by: Mapped[str | None] = mapped_column(Text)
    release_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "scope", "scope_code"),)


class LegalHoldDossierRow(Base):
    """A dossier named by a hold of scope `dossier` or `list`."""

    __tablename__ = "legal_hold_dossiers"

    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True, index=True)


class DueListRow(Base):
    """A stored due list: the input of the destruction workflow (R-RT-3, R-DS-1)."""

    __tablename__ = "due_lists"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    kind: Mapped[DueListKind] = mapped_column(str_enum(DueListKind, "due_list_kind"), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    """The day the list was made for (the job's clock date)."""
    horizon: Mapped[date] = mapped_column(Date, nullable=False)
    """Last due date included: `as_of` for the due list, `as_of` + notice days for the advance list."""
    notice_days: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 over the items (dossier id and due date, in order): an unchanged list is not stored twice."""

    __table_args__ = (Index(None, "kind", "id"),)


class DueListItemRow(Base):
    """One dossier of a stored due list, as it was when the list was made."""

    __tablename__ = "due_list_items"

    list_id: Mapped[int] = mapped_column(ForeignKey("due_lists.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), nullable=False, index=True)
    code: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    title: Mapped[str | None] = mapped_column(Text)
    agency_code: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    end_year: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    retention_due: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(64), nullable=False)
