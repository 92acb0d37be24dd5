"""Due lists (R-RT-3): "Danh mục tài liệu hết giá trị" and the advance notice, built and stored.

A dossier is due on `on` when it is archived, no active legal hold covers it
and its due date is on or before `on`. The list is one range scan of the index
`ix_dossiers_due (state, legal_hold, retention_due, id)` (the query of
`repo.due_dossiers_query`), earliest first; the holds themselves are checked
again on the rows it returns, so a stale `legal_hold` flag cannot let a held
dossier through.

`run_due_job` is the scheduled job: it refreshes the hold flags, builds both
lists, stores them in `due_lists` / `due_list_items` (the input of the
destruction workflow) and writes an audit entry, all in one transaction, at
the time of its injectable clock.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from archive_core.audit import AuditLog, anchors_dir_for
from archive_core.catalog import Base, Catalog, DossierRow, DossierState, repo
from archive_core.catalog.retention_models import (
    DueListItemRow,
    DueListKind,
    DueListRow,
    PeriodKind,
    RetentionStateRow,
)
from archive_core.settings import Settings
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from preservation.retention.errors import RetentionError
from preservation.retention.holds import ActiveScopes, active_holds_for, refresh_hold_flags
from preservation.retention.period import RetentionPeriod

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
ADVANCE_NOTICE_DAYS = 30
STATUS_DUE = "Xem xét hủy"
STATUS_ADVANCE = "Sắp đến hạn xem xét hủy"
DUE_LIST_TITLE = "Danh mục tài liệu hết giá trị"
ADVANCE_LIST_TITLE = "Danh mục hồ sơ sắp hết thời hạn bảo quản"
INSERT_BATCH = 10_000
_ITEMS_TABLE = Base.metadata.tables[DueListItemRow.__tablename__]
_IN_CHUNK = 500


class DueItem(NamedTuple):
    """One dossier of a due list (a tuple: lists run to hundreds of thousands of items)."""

    dossier_id: int
    code: str | None
    title: str | None
    agency_code: str | None
    end_year: int | None
    period: str | None
    """In the schedule file's notation (`10`, `event:<description>:<years>`)."""
    period_label: str | None
    retention_due: date
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "code": self.code,
            "title": self.title,
            "agency_code": self.agency_code,
            "end_year": self.end_year,
            "period": self.period,
            "period_label": self.period_label,
            "retention_due": self.retention_due.isoformat(),
            "status": self.status,
        }


@dataclass(frozen=True)
class DueList:
    """What is due on `on` (`due`) and what falls due within the notice period after it (`upcoming`)."""

    on: date
    notice_days: int
    generated_at: datetime
    due: list[DueItem]
    upcoming: list[DueItem]

    @property
    def horizon(self) -> date:
        return self.on + timedelta(days=self.notice_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": DUE_LIST_TITLE,
            "on": self.on.isoformat(),
            "notice_days": self.notice_days,
            "horizon": self.horizon.isoformat(),
            "generated_at": iso_vn(self.generated_at),
            "due_count": len(self.due),
            "upcoming_count": len(self.upcoming),
            "due": [item.to_dict() for item in self.due],
            "upcoming": [item.to_dict() for item in self.upcoming],
        }


# ---------------------------------------------------------------- building


def build_due_list(
    catalog: Catalog, on: date, *, notice_days: int = 0, clock: Clock = system_clock
) -> DueList:
    """The due list on `on` and, with `notice_days`, the dossiers falling due in the days after it."""
    with catalog.session(readonly=True) as session:
        return due_list_in(session, on, notice_days=notice_days, generated_at=clock())


_LISTED = (
    DossierRow.id, DossierRow.code, DossierRow.title, DossierRow.agency_code, DossierRow.organ_id,
    DossierRow.fonds_id, DossierRow.end_year, DossierRow.retention_years, DossierRow.retention_due,
)


def due_list_in(session: Session, on: date, *, notice_days: int = 0, generated_at: datetime) -> DueList:
    """`build_due_list` inside the caller's transaction."""
    if notice_days < 0:
        raise RetentionError("Số ngày báo trước không được âm.", "The notice period cannot be negative.")
    rows = _due_rows(session, on, notice_days)
    scopes = ActiveScopes.load(session)
    if scopes:
        before = len(rows)
        rows = [row for row in rows if not scopes.covers(row[0], row[3], row[4], row[5])]
        if len(rows) != before:
            log.warning("%d held dossiers had no legal_hold flag; run refresh_hold_flags", before - len(rows))
    events = _event_periods(session, [row[0] for row in rows if row[7] is None])
    years_labels: dict[int, tuple[str, str]] = {}
    days: dict[Any, date] = {}
    due: list[DueItem] = []
    upcoming: list[DueItem] = []
    notation: str | None
    label: str | None
    for dossier_id, code, title, agency_code, _organ, _fonds, end_year, years, raw_due in rows:
        if years is not None:
            notation, label = years_labels.get(years) or years_labels.setdefault(years, (str(years), f"{years} năm"))
        elif (event := events.get(dossier_id)) is not None:
            notation, label = event.notation, event.label_vi
        else:
            notation = label = None
        retention_due = days.get(raw_due) or days.setdefault(raw_due, _as_date(raw_due))
        is_due = retention_due <= on
        (due if is_due else upcoming).append(DueItem(
            dossier_id, code, title, agency_code, end_year, notation, label, retention_due,
            STATUS_DUE if is_due else STATUS_ADVANCE,
        ))
    return DueList(on=on, notice_days=notice_days, generated_at=generated_at, due=due, upcoming=upcoming)


def _due_rows(session: Session, on: date, notice_days: int) -> list[tuple[Any, ...]]:
    """The due query's rows as plain driver tuples, in its order.

    It is `repo.due_dossiers_query` (one range scan of `ix_dossiers_due`),
    executed on the DBAPI cursor of the session's connection: with a few
    hundred thousand rows, SQLAlchemy's per-row result processing would cost as
    much as the scan itself. The values bound are ours (a day, a state, a
    flag), rendered as literals.
    """
    query = repo.due_dossiers_query(on, notice_days=notice_days).with_only_columns(*_LISTED)
    connection = session.connection()
    sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _as_date(value: Any) -> date:
    """SQLite gives a DATE column back as its ISO text, PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _event_periods(session: Session, dossier_ids: list[int]) -> dict[int, RetentionPeriod]:
    """Periods of the listed dossiers that are not a number of years (event-based ones)."""
    periods: dict[int, RetentionPeriod] = {}
    for chunk in _chunks(dossier_ids, _IN_CHUNK):
        query = select(
            RetentionStateRow.dossier_id, RetentionStateRow.period_years, RetentionStateRow.event_description
        ).where(RetentionStateRow.dossier_id.in_(chunk), RetentionStateRow.period_kind == PeriodKind.EVENT)
        for dossier_id, years, event in session.execute(query):
            periods[dossier_id] = RetentionPeriod.after_event(event or "", years or 0)
    return periods


def _chunks(values: Sequence[int], size: int) -> Iterator[list[int]]:
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------- storing


@dataclass(frozen=True)
class StoredDueList:
    id: int
    kind: DueListKind
    as_of: date
    horizon: date
    notice_days: int
    created_at: datetime
    created_by: str
    item_count: int
    digest: str
    items: list[DueItem] | None = None
    """Loaded by `load_due_list`; None in a summary."""

    @property
    def title(self) -> str:
        return DUE_LIST_TITLE if self.kind is DueListKind.DUE else ADVANCE_LIST_TITLE

    @classmethod
    def from_row(cls, row: DueListRow, items: list[DueItem] | None = None) -> StoredDueList:
        return cls(
            id=row.id, kind=row.kind, as_of=row.as_of, horizon=row.horizon, notice_days=row.notice_days,
            created_at=row.created_at, created_by=row.created_by, item_count=row.item_count, digest=row.digest,
            items=items,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "kind": self.kind.value, "title": self.title, "as_of": self.as_of.isoformat(),
            "horizon": self.horizon.isoformat(), "notice_days": self.notice_days,
            "created_at": iso_vn(self.created_at), "created_by": self.created_by, "item_count": self.item_count,
            "digest": self.digest,
        }
        if self.items is not None:
            data["items"] = [item.to_dict() for item in self.items]
        return data


def items_digest(items: Sequence[DueItem]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.dossier_id}:{item.retention_due.isoformat()}\n".encode())
    return digest.hexdigest()


def store_due_list(
    session: Session,
    items: Sequence[DueItem],
    *,
    kind: DueListKind,
    as_of: date,
    horizon: date,
    notice_days: int,
    created_by: str,
    clock: Clock = system_clock,
    reuse_unchanged: bool = True,
) -> tuple[StoredDueList, bool]:
    """Store a list with its items; (the list, True) when the latest list of that kind was identical and is reused."""
    digest = items_digest(items)
    if reuse_unchanged:
        latest = latest_due_list(session, kind)
        if latest is not None and latest.digest == digest:
            return latest, True
    row = DueListRow(
        kind=kind, as_of=as_of, horizon=horizon, notice_days=notice_days, created_at=clock(),
        created_by=created_by, item_count=len(items), digest=digest,
    )
    session.add(row)
    session.flush()
    values = (
        {"list_id": row.id, "position": position, "dossier_id": item.dossier_id, "code": item.code,
         "title": item.title, "agency_code": item.agency_code, "end_year": item.end_year, "period": item.period,
         "retention_due": item.retention_due, "status": item.status}
        for position, item in enumerate(items, start=1)
    )
    while batch := list(itertools.islice(values, INSERT_BATCH)):
        session.execute(insert(_ITEMS_TABLE), batch)  # Core executemany: no ORM bookkeeping per row
    return StoredDueList.from_row(row), False


def latest_due_list(session: Session, kind: DueListKind = DueListKind.DUE) -> StoredDueList | None:
    row = session.scalars(
        select(DueListRow).where(DueListRow.kind == kind).order_by(DueListRow.id.desc()).limit(1)
    ).first()
    return StoredDueList.from_row(row) if row is not None else None


def load_due_list(session: Session, list_id: int) -> StoredDueList:
    """A stored list with its items in order: what the destruction workflow starts from."""
    row = session.get(DueListRow, list_id)
    if row is None:
        raise RetentionError(f"Không có danh mục số {list_id}.", f"No due list {list_id}.")
    query = select(DueListItemRow).where(DueListItemRow.list_id == list_id).order_by(DueListItemRow.position)
    items = [
        DueItem(
            dossier_id=item.dossier_id, code=item.code, title=item.title, agency_code=item.agency_code,
            end_year=item.end_year, period=item.period,
            period_label=_label_of(item.period) if item.period else None,
            retention_due=item.retention_due, status=item.status,
        )
        for item in session.scalars(query)
    ]
    return StoredDueList.from_row(row, items)


@functools.lru_cache(maxsize=256)
def _label_of(notation: str) -> str:
    return RetentionPeriod.parse(notation).label_vi


# ---------------------------------------------------------------- the scheduled job


@dataclass(frozen=True)
class DueJobResult:
    on: date
    due_list: StoredDueList
    advance_list: StoredDueList
    due_reused: bool
    advance_reused: bool
    flags_set: int
    flags_cleared: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "due_list": self.due_list.to_dict(),
            "advance_list": self.advance_list.to_dict(),
            "due_reused": self.due_reused,
            "advance_reused": self.advance_reused,
            "hold_flags_set": self.flags_set,
            "hold_flags_cleared": self.flags_cleared,
        }


def run_due_job(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    notice_days: int = ADVANCE_NOTICE_DAYS,
    actor: str = SYSTEM_ACTOR,
    reuse_unchanged: bool = True,
    catalog: Catalog | None = None,
) -> DueJobResult:
    """Build and store today's due list and advance list (today = the clock's date in Vietnam), audited.

    The catalog (`settings.catalog_url`, or `catalog`) must be migrated. An
    unchanged list is not stored again: the job then names the stored list
    that is still current (`reuse_unchanged`).
    """
    owned = catalog is None
    catalog = catalog or Catalog(settings.catalog_url)
    try:
        audit = AuditLog(catalog, anchors_dir_for(settings), clock=clock)
        now = clock()
        on = to_vn(now).date()
        with catalog.session() as session:
            flags_set, flags_cleared = refresh_hold_flags(session)
            listing = due_list_in(session, on, notice_days=notice_days, generated_at=now)

            def store(items: list[DueItem], kind: DueListKind, horizon: date) -> tuple[StoredDueList, bool]:
                return store_due_list(
                    session, items, kind=kind, as_of=on, horizon=horizon, notice_days=notice_days,
                    created_by=actor, clock=clock, reuse_unchanged=reuse_unchanged,
                )

            due, due_reused = store(listing.due, DueListKind.DUE, on)
            advance, advance_reused = store(listing.upcoming, DueListKind.ADVANCE, listing.horizon)
            result = DueJobResult(on, due, advance, due_reused, advance_reused, flags_set, flags_cleared)
            audit.append_in(
                session, actor, "retention.due_job", "due_list", str(due.id),
                {"on": on.isoformat(), "due_list_id": due.id, "due_count": due.item_count, "due_reused": due_reused,
                 "advance_list_id": advance.id, "advance_count": advance.item_count,
                 "advance_reused": advance_reused, "notice_days": notice_days,
                 "hold_flags_set": flags_set, "hold_flags_cleared": flags_cleared},
            )
        return result
    finally:
        if owned:
            catalog.dispose()


# ---------------------------------------------------------------- at the moment of destruction


@dataclass(frozen=True)
class Blocker:
    """Why a dossier may not be destroyed now."""

    code: str
    message_vi: str
    message_en: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_vi": self.message_vi, "message_en": self.message_en}


def destruction_blockers(session: Session, dossier_row: DossierRow, *, on: date) -> list[Blocker]:
    """Re-check, at execution time, everything retention says about destroying the dossier; empty = allowed."""
    label = dossier_row.code or f"#{dossier_row.id}"
    blockers: list[Blocker] = []
    if dossier_row.state != DossierState.ARCHIVED:
        blockers.append(Blocker(
            "RT-NOT-ARCHIVED", f"Hồ sơ {label} đang ở trạng thái {dossier_row.state.value}, không phải đã lưu trữ.",
            f"Dossier {label} is {dossier_row.state.value}, not archived.",
        ))
    due = dossier_row.retention_due
    if due is None or due > on:
        when = f"hết hạn ngày {due:%d/%m/%Y}" if due else "không có ngày hết hạn"
        blockers.append(Blocker(
            "RT-NOT-DUE", f"Hồ sơ {label} chưa hết thời hạn bảo quản ({when}).",
            f"Dossier {label} is not due ({due.isoformat() if due else 'no due date'}).",
        ))
    for hold in active_holds_for(session, dossier_row):
        blockers.append(Blocker(
            "RT-LEGAL-HOLD", f"Hồ sơ {label} đang bị tạm giữ (lệnh số {hold.id}: {hold.reason}; {hold.owner}).",
            f"Dossier {label} is under legal hold {hold.id} ({hold.reason}; {hold.owner}).",
        ))
    return blockers
