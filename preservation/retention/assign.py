"""A dossier's retention: assigned at ingest, corrected, extended by appraisal, triggered (R-RT-1, -2, -5).

The effective period lives in `retention_states` (one row per dossier); every
change adds a row to `retention_changes` (never updated) and an audit entry in
the same transaction. The dossier row's `retention_years`,
`retention_permanent`, `retention_due` and `maintenance_code` are kept in step
so that the due list reads one index. `maintenance` keeps what the submitter
wrote.

Every function works in the caller's session (`Catalog.session()`), like
`archive_core.catalog.repo`, so the change and its audit entry commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_core.audit import AuditLog
from archive_core.catalog import DossierRow, DossierState, repo
from archive_core.catalog.retention_models import (
    PeriodKind,
    RetentionChangeKind,
    RetentionChangeRow,
    RetentionSource,
    RetentionStateRow,
)
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from preservation.retention.errors import RetentionError, require_text
from preservation.retention.holds import refresh_hold_flags
from preservation.retention.period import RetentionPeriod
from preservation.retention.schedule import RetentionSchedule

SYSTEM_ACTOR = "system"
TYPE_SOURCE_ARCHIVIST = "archivist"
TYPE_SOURCE_INGEST = "ingest"
TYPE_SOURCE_DOCUMENTS = "typeName"
CHANGEABLE_STATES = (DossierState.PENDING, DossierState.ARCHIVED)


@dataclass(frozen=True)
class DossierRetention:
    """The effective retention of one dossier."""

    dossier_id: int
    code: str | None
    period: RetentionPeriod | None
    source: RetentionSource | None
    record_type: str | None
    record_type_source: str | None
    schedule_code: str | None
    trigger_on: date | None
    end_year: int | None
    due: date | None
    legal_hold: bool

    @property
    def waiting_for_trigger(self) -> bool:
        return self.period is not None and self.period.kind is PeriodKind.EVENT and self.trigger_on is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "code": self.code,
            "period": self.period.notation if self.period else None,
            "period_label": self.period.label_vi if self.period else None,
            "source": self.source.value if self.source else None,
            "record_type": self.record_type,
            "record_type_source": self.record_type_source,
            "schedule_code": self.schedule_code,
            "trigger_on": self.trigger_on.isoformat() if self.trigger_on else None,
            "end_year": self.end_year,
            "due": self.due.isoformat() if self.due else None,
            "legal_hold": self.legal_hold,
        }


@dataclass(frozen=True)
class RetentionChange:
    """One row of a dossier's retention history."""

    id: int
    kind: RetentionChangeKind
    at: datetime
    actor: str
    old_period: str | None
    new_period: str | None
    old_due: date | None
    new_due: date | None
    trigger_on: date | None
    record_type: str | None
    source: RetentionSource | None
    reason: str | None

    @classmethod
    def from_row(cls, row: RetentionChangeRow) -> RetentionChange:
        return cls(
            id=row.id, kind=row.kind, at=row.at, actor=row.actor, old_period=row.old_period,
            new_period=row.new_period, old_due=row.old_due, new_due=row.new_due, trigger_on=row.trigger_on,
            record_type=row.record_type, source=row.source, reason=row.reason,
        )

    def to_dict(self) -> dict[str, Any]:
        def day(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id, "kind": self.kind.value, "at": iso_vn(self.at), "actor": self.actor,
            "old_period": self.old_period, "new_period": self.new_period, "old_due": day(self.old_due),
            "new_due": day(self.new_due), "trigger_on": day(self.trigger_on), "record_type": self.record_type,
            "source": self.source.value if self.source else None, "reason": self.reason,
        }


# ---------------------------------------------------------------- reading


def find_dossier(session: Session, ref: str) -> DossierRow:
    """The dossier named by `#<id>`, its AIP id, or one of its codes (code, fileCode, arcFileCode)."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdecimal():
        row = session.get(DossierRow, int(ref[1:]))
        if row is None:
            raise RetentionError(f"Không có hồ sơ {ref}.", f"No dossier {ref}.")
        return row
    found = {row.id: row for row in repo.dossiers_by_code(session, ref)}
    by_aip = repo.get_dossier_by_aip(session, ref)
    if by_aip is not None and by_aip.state != DossierState.PENDING:
        found[by_aip.id] = by_aip
    if not found:
        raise RetentionError(f"Không tìm thấy hồ sơ có mã {ref}.", f"No dossier has the code {ref}.")
    if len(found) > 1:
        ids = ", ".join(f"#{key}" for key in sorted(found))
        raise RetentionError(
            f"Mã {ref} thuộc nhiều hồ sơ ({ids}): hãy chỉ rõ bằng #<số>.",
            f"The code {ref} belongs to several dossiers ({ids}): name one as #<id>.",
        )
    return next(iter(found.values()))


def current_retention(session: Session, row: DossierRow) -> DossierRetention:
    """The effective period; a dossier without a state row (catalogued before 0002) is read from its columns."""
    state = session.get(RetentionStateRow, row.id)
    period: RetentionPeriod | None
    if state is not None and state.period_kind is not None:
        period = _period_of(state)
        source = state.source
    else:
        period = _period_of_columns(row)
        source = RetentionSource.METADATA if period is not None else None
    return DossierRetention(
        dossier_id=row.id,
        code=row.code,
        period=period,
        source=source,
        record_type=state.record_type if state else None,
        record_type_source=state.record_type_source if state else None,
        schedule_code=state.schedule_code if state else None,
        trigger_on=state.trigger_on if state else None,
        end_year=row.end_year,
        due=row.retention_due,
        legal_hold=row.legal_hold,
    )


def retention_history(session: Session, row: DossierRow) -> list[RetentionChange]:
    query = select(RetentionChangeRow).where(RetentionChangeRow.dossier_id == row.id).order_by(RetentionChangeRow.id)
    return [RetentionChange.from_row(change) for change in session.scalars(query)]


def _period_of(state: RetentionStateRow) -> RetentionPeriod:
    if state.period_kind is PeriodKind.PERMANENT:
        return RetentionPeriod.permanent()
    if state.period_kind is PeriodKind.EVENT:
        return RetentionPeriod.after_event(state.event_description or "", state.period_years or 0)
    return RetentionPeriod.of_years(state.period_years or 0)


def _period_of_columns(row: DossierRow) -> RetentionPeriod | None:
    if row.retention_permanent:
        return RetentionPeriod.permanent()
    if row.retention_years:
        return RetentionPeriod.of_years(row.retention_years)
    return RetentionPeriod.from_maintenance(row.maintenance)


# ---------------------------------------------------------------- changing


def assign_at_ingest(
    session: Session,
    row: DossierRow,
    *,
    schedule: RetentionSchedule,
    audit: AuditLog,
    actor: str = SYSTEM_ACTOR,
    record_type: str | None = None,
    clock: Clock = system_clock,
) -> DossierRetention:
    """Give a newly catalogued dossier its period (R-RT-1, R-RT-2) and its legal-hold flag.

    The dossier's own maintenance value wins; when it states no period, the
    schedule row of `record_type` (given at ingest), else the row matched from
    its documents' typeName codes, applies. Without either the period stays
    unknown and the dossier never falls due until someone sets one. Calling it
    again for the same dossier changes nothing.
    """
    entry = schedule.get(record_type) if record_type else None
    if record_type and entry is None:
        raise RetentionError(
            f"Loại hồ sơ {record_type} không có trong bảng thời hạn bảo quản.",
            f"Record type {record_type} is not in the retention schedule.",
        )
    if session.get(RetentionStateRow, row.id) is not None:
        return current_retention(session, row)
    type_source = TYPE_SOURCE_INGEST if entry else None
    if entry is None:
        entry = schedule.match(_document_types(row))
        type_source = TYPE_SOURCE_DOCUMENTS if entry else None
    stated = RetentionPeriod.from_maintenance(row.maintenance)
    before = DossierRetention(row.id, row.code, None, None, None, None, None, None, row.end_year, None, False)
    state = _new_state(session, row, clock)
    state.record_type, state.record_type_source = (entry.code, type_source) if entry else (None, None)
    if stated is not None:
        _apply(row, state, stated, RetentionSource.METADATA, trigger_on=None, clock=clock)
    elif entry is not None:
        _apply(
            row, state, entry.period, RetentionSource.SCHEDULE, trigger_on=None, clock=clock, schedule_code=entry.code
        )
    session.flush()
    refresh_hold_flags(session, dossier_ids=[row.id])
    after = current_retention(session, row)
    _record(session, row, RetentionChangeKind.ASSIGNED, actor, before, after, reason=None, clock=clock)
    details = after.to_dict() | {
        "schedule_verified": entry.is_verified if entry is not None and after.source is RetentionSource.SCHEDULE
        else None,
    }
    audit.append_in(session, actor, "retention.assigned", "dossier", row.code or f"#{row.id}", details)
    return after


def set_record_type(
    session: Session,
    row: DossierRow,
    record_type: str,
    *,
    schedule: RetentionSchedule,
    by: str,
    audit: AuditLog,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> DossierRetention:
    """The archivist classifies the dossier. A period that came from the schedule (or none) follows the new
    type; one stated by the dossier or set by an appraisal stays."""
    by = require_text(by, "người thực hiện", "the acting user")
    entry = schedule.get(record_type)
    if entry is None:
        raise RetentionError(
            f"Loại hồ sơ {record_type} không có trong bảng thời hạn bảo quản.",
            f"Record type {record_type} is not in the retention schedule.",
        )
    _require_changeable(row)
    before = current_retention(session, row)
    state = _state(session, row, clock)
    state.record_type, state.record_type_source = entry.code, TYPE_SOURCE_ARCHIVIST
    state.updated_at = clock()
    if before.source in (None, RetentionSource.SCHEDULE):
        keep_trigger = before.period == entry.period
        _apply(row, state, entry.period, RetentionSource.SCHEDULE,
               trigger_on=before.trigger_on if keep_trigger else None, clock=clock, schedule_code=entry.code)
    session.flush()
    after = current_retention(session, row)
    _record(session, row, RetentionChangeKind.RECORD_TYPE, by, before, after, reason=reason, clock=clock)
    audit.append_in(
        session, by, "retention.record_type_set", "dossier", row.code or f"#{row.id}",
        {"record_type": entry.code, "before": before.to_dict(), "after": after.to_dict(), "reason": reason,
         "schedule_verified": entry.is_verified},
    )
    return after


def extend_retention(
    session: Session,
    row: DossierRow,
    *,
    reason: str,
    by: str,
    audit: AuditLog,
    years: int | None = None,
    permanent: bool = False,
    clock: Clock = system_clock,
) -> DossierRetention:
    """R-RT-5: an appraisal sets a longer period (N years from the end year, or permanent).

    The new period must keep the dossier past the appraisal day (so it leaves
    the due list) and never falls due earlier than the current one.
    """
    reason = require_text(reason, "lý do gia hạn", "the reason for the extension")
    by = require_text(by, "người quyết định gia hạn", "who decided the extension")
    if permanent == (years is not None):
        raise RetentionError("Chọn hoặc số năm, hoặc vĩnh viễn.", "Give either a number of years or permanent.")
    _require_changeable(row)
    before = current_retention(session, row)
    if before.period is not None and before.period.kind is PeriodKind.PERMANENT:
        raise RetentionError(
            "Hồ sơ đã có thời hạn bảo quản vĩnh viễn.", "The dossier is already kept permanently."
        )
    new = RetentionPeriod.permanent() if permanent else _years(years)
    _check_extension(row, before, new, on=to_vn(clock()).date())
    state = _state(session, row, clock)
    _apply(row, state, new, RetentionSource.APPRAISAL, trigger_on=None, clock=clock)
    session.flush()
    after = current_retention(session, row)
    _record(session, row, RetentionChangeKind.EXTENDED, by, before, after, reason=reason, clock=clock)
    audit.append_in(
        session, by, "retention.extended", "dossier", row.code or f"#{row.id}",
        {"before": before.to_dict(), "after": after.to_dict(), "reason": reason},
    )
    return after


def record_trigger(
    session: Session,
    row: DossierRow,
    *,
    trigger_on: date,
    by: str,
    audit: AuditLog,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> DossierRetention:
    """Enter the date of the event of an event-based period; the dossier's due date follows from it.

    Entering it again corrects it (the history keeps both).
    """
    by = require_text(by, "người ghi nhận", "who recorded the event")
    _require_changeable(row)
    before = current_retention(session, row)
    if before.period is None or before.period.kind is not PeriodKind.EVENT:
        label = before.period.label_vi if before.period else "chưa xác định"
        raise RetentionError(
            f"Hồ sơ {row.code} không có thời hạn theo sự kiện (thời hạn: {label}).",
            f"Dossier {row.code} has no event-based period.",
        )
    state = _state(session, row, clock)
    _apply(row, state, before.period, before.source or RetentionSource.METADATA, trigger_on=trigger_on,
           clock=clock, schedule_code=state.schedule_code)
    session.flush()
    after = current_retention(session, row)
    _record(session, row, RetentionChangeKind.TRIGGERED, by, before, after, reason=reason, clock=clock)
    audit.append_in(
        session, by, "retention.triggered", "dossier", row.code or f"#{row.id}",
        {"trigger_on": trigger_on.isoformat(), "before": before.to_dict(), "after": after.to_dict(),
         "reason": reason},
    )
    return after


def _years(years: int | None) -> RetentionPeriod:
    if years is None or years < 1:
        raise RetentionError("Số năm phải lớn hơn 0.", "The number of years must be positive.")
    return RetentionPeriod.of_years(years)


def _check_extension(row: DossierRow, before: DossierRetention, new: RetentionPeriod, *, on: date) -> None:
    if new.kind is PeriodKind.PERMANENT:
        return
    due = new.due_date(end_year=row.end_year)
    if due is None:
        raise RetentionError(
            f"Không tính được ngày hết hạn của hồ sơ {row.code}: thiếu năm kết thúc (endDate).",
            f"No due date can be computed for dossier {row.code}: its end year is unknown.",
        )
    if due <= on:
        shortest = on.year - (row.end_year or on.year)
        raise RetentionError(
            f"Thời hạn {new.label_vi} vẫn hết vào {due:%d/%m/%Y}, không sau ngày thẩm định {on:%d/%m/%Y}: "
            f"cần ít nhất {shortest} năm.",
            f"A period of {new.years} years still ends on {due.isoformat()}, not after the appraisal day "
            f"{on.isoformat()}: at least {shortest} years are needed.",
        )
    if before.due is not None and due < before.due:
        raise RetentionError(
            f"Thời hạn mới ({new.label_vi}, hết hạn {due:%d/%m/%Y}) ngắn hơn thời hạn hiện tại "
            f"(hết hạn {before.due:%d/%m/%Y}): gia hạn không được rút ngắn.",
            f"The new period ends on {due.isoformat()}, before the current one ({before.due.isoformat()}): "
            "an extension cannot shorten it.",
        )


def _require_changeable(row: DossierRow) -> None:
    if row.state not in CHANGEABLE_STATES:
        raise RetentionError(
            f"Hồ sơ {row.code} đang ở trạng thái {row.state.value}: không thay đổi được thời hạn.",
            f"Dossier {row.code} is {row.state.value}: its retention cannot change.",
        )


def _document_types(row: DossierRow) -> Iterable[str | None]:
    return (document.type_name for document in row.documents)


def _new_state(session: Session, row: DossierRow, clock: Clock) -> RetentionStateRow:
    state = RetentionStateRow(dossier_id=row.id, updated_at=clock())
    session.add(state)
    return state


def _state(session: Session, row: DossierRow, clock: Clock) -> RetentionStateRow:
    """The state row, created from the dossier's columns for a dossier catalogued before it existed."""
    state = session.get(RetentionStateRow, row.id)
    if state is not None:
        return state
    state = _new_state(session, row, clock)
    period = _period_of_columns(row)
    if period is not None:
        _set_state_period(state, period, RetentionSource.METADATA)
    return state


def _set_state_period(state: RetentionStateRow, period: RetentionPeriod, source: RetentionSource) -> None:
    state.period_kind = period.kind
    state.period_years = period.years
    state.event_description = period.event
    state.source = source


def _apply(
    row: DossierRow,
    state: RetentionStateRow,
    period: RetentionPeriod,
    source: RetentionSource,
    *,
    trigger_on: date | None,
    clock: Clock,
    schedule_code: str | None = None,
) -> None:
    _set_state_period(state, period, source)
    state.trigger_on = trigger_on if period.kind is PeriodKind.EVENT else None
    state.schedule_code = schedule_code if source is RetentionSource.SCHEDULE else None
    state.updated_at = clock()
    row.retention_permanent = period.kind is PeriodKind.PERMANENT
    row.retention_years = period.years if period.kind is PeriodKind.YEARS else None
    row.retention_due = period.due_date(end_year=row.end_year, trigger_on=state.trigger_on)
    row.maintenance_code = period.maintenance_code


def _record(
    session: Session,
    row: DossierRow,
    kind: RetentionChangeKind,
    actor: str,
    before: DossierRetention,
    after: DossierRetention,
    *,
    reason: str | None,
    clock: Clock,
) -> None:
    session.add(
        RetentionChangeRow(
            dossier_id=row.id,
            kind=kind,
            at=clock(),
            actor=actor,
            old_period=before.period.notation if before.period else None,
            new_period=after.period.notation if after.period else None,
            old_due=before.due,
            new_due=after.due,
            trigger_on=after.trigger_on,
            record_type=after.record_type,
            source=after.source,
            reason=reason,
        )
    )
    session.flush()
