"""Legal holds (R-RT-4): while any active hold covers a dossier, it is never listed for or put to destruction.

A hold names one dossier, a list of dossiers, an agency (every dossier whose
submitting agency code is the code) or a fonds (every dossier whose mã phông,
its own `organ_id` or its fonds row's, is the code). Agency and fonds holds
also cover dossiers catalogued after the hold was placed.

`dossiers.legal_hold` is a maintained flag, so that the due list stays a
single index range scan: placing and releasing a hold update it in the same
transaction, `refresh_hold_flags` recomputes it (the due job runs it first),
and the due list and `active_holds_for` look at the holds themselves as well,
so a stale flag can never let a held dossier through.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, text, true, update
from sqlalchemy.orm import Session

from archive_core.audit import AuditLog
from archive_core.catalog import DossierRow, DossierState, FondsRow
from archive_core.catalog.retention_models import HoldScope, LegalHoldDossierRow, LegalHoldRow
from archive_core.timeutil import Clock, iso_vn, system_clock
from preservation.retention.errors import RetentionError, require_text

HOLDS_LOCK_KEY = 0x65617263686C6468
"""PostgreSQL advisory lock ("earchldh") that serialises hold changes, so two never race on the flags."""
SCOPE_LABELS_VI = {
    HoldScope.DOSSIER: "một hồ sơ",
    HoldScope.LIST: "danh sách hồ sơ",
    HoldScope.AGENCY: "toàn bộ hồ sơ của cơ quan",
    HoldScope.FONDS: "toàn bộ hồ sơ của phông",
}


@dataclass(frozen=True)
class Hold:
    id: int
    reason: str
    owner: str
    scope: HoldScope
    scope_code: str | None
    dossier_ids: tuple[int, ...]
    """The dossiers named by a `dossier` or `list` hold (empty for agency and fonds holds)."""
    placed_at: datetime
    placed_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def scope_label_vi(self) -> str:
        label = SCOPE_LABELS_VI[self.scope]
        if self.scope_code:
            return f"{label} {self.scope_code}"
        if self.scope is HoldScope.LIST:
            return f"{label} ({len(self.dossier_ids)} hồ sơ)"
        return label

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "active": self.active,
            "reason": self.reason,
            "owner": self.owner,
            "scope": self.scope.value,
            "scope_code": self.scope_code,
            "scope_label": self.scope_label_vi,
            "dossier_ids": list(self.dossier_ids),
            "placed_at": iso_vn(self.placed_at),
            "placed_by": self.placed_by,
            "released_at": iso_vn(self.released_at) if self.released_at else None,
            "released_by": self.released_by,
            "release_reason": self.release_reason,
        }


# ---------------------------------------------------------------- which dossiers a hold covers


@dataclass
class ActiveScopes:
    """What every active hold covers, loaded once (holds are few)."""

    dossier_ids: set[int] = field(default_factory=set)
    agency_codes: set[str] = field(default_factory=set)
    fonds_codes: set[str] = field(default_factory=set)
    fonds_ids: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session) -> ActiveScopes:
        scopes = cls()
        active = LegalHoldRow.released_at.is_(None)
        for scope, code in session.execute(select(LegalHoldRow.scope, LegalHoldRow.scope_code).where(active)):
            if scope is HoldScope.AGENCY and code:
                scopes.agency_codes.add(code)
            elif scope is HoldScope.FONDS and code:
                scopes.fonds_codes.add(code)
        linked = select(LegalHoldDossierRow.dossier_id).join(
            LegalHoldRow, LegalHoldRow.id == LegalHoldDossierRow.hold_id
        ).where(active)
        scopes.dossier_ids.update(session.scalars(linked))
        if scopes.fonds_codes:
            fonds = select(FondsRow.id).where(FondsRow.organ_id.in_(sorted(scopes.fonds_codes)))
            scopes.fonds_ids.update(session.scalars(fonds))
        return scopes

    def __bool__(self) -> bool:
        return bool(self.dossier_ids or self.agency_codes or self.fonds_codes)

    def covers(self, dossier_id: int, agency_code: str | None, organ_id: str | None, fonds_id: int | None) -> bool:
        return (
            dossier_id in self.dossier_ids
            or (agency_code is not None and agency_code in self.agency_codes)
            or (organ_id is not None and organ_id in self.fonds_codes)
            or (fonds_id is not None and fonds_id in self.fonds_ids)
        )


def _linked_to(hold_filter: ColumnElement[bool]) -> ColumnElement[bool]:
    linked = (
        select(LegalHoldDossierRow.dossier_id)
        .join(LegalHoldRow, LegalHoldRow.id == LegalHoldDossierRow.hold_id)
        .where(hold_filter)
    )
    return DossierRow.id.in_(linked)


def _of_agencies(codes: Collection[str]) -> ColumnElement[bool]:
    # `IS NOT NULL AND IN`: never NULL, so that NOT (…) holds for dossiers without a code.
    return and_(DossierRow.agency_code.is_not(None), DossierRow.agency_code.in_(sorted(codes)))


def _of_fonds(codes: Collection[str]) -> ColumnElement[bool]:
    fonds = select(FondsRow.id).where(FondsRow.organ_id.in_(sorted(codes)))
    return or_(
        and_(DossierRow.organ_id.is_not(None), DossierRow.organ_id.in_(sorted(codes))),
        and_(DossierRow.fonds_id.is_not(None), DossierRow.fonds_id.in_(fonds)),
    )


def _terms(scopes: ActiveScopes) -> list[ColumnElement[bool]]:
    """One condition per kind of active scope, each never NULL."""
    terms: list[ColumnElement[bool]] = []
    if scopes.dossier_ids:
        terms.append(_linked_to(LegalHoldRow.released_at.is_(None)))
    if scopes.agency_codes:
        terms.append(_of_agencies(scopes.agency_codes))
    if scopes.fonds_codes:
        terms.append(_of_fonds(scopes.fonds_codes))
    return terms


def _hold_term(hold: LegalHoldRow) -> ColumnElement[bool]:
    """The dossiers one hold covers."""
    if hold.scope is HoldScope.AGENCY:
        return _of_agencies([hold.scope_code or ""])
    if hold.scope is HoldScope.FONDS:
        return _of_fonds([hold.scope_code or ""])
    return _linked_to(LegalHoldRow.id == hold.id)


def covered_query(hold: LegalHoldRow) -> Select[int]:
    """Ids of the dossiers (not destroyed) a hold covers."""
    return select(DossierRow.id).where(_hold_term(hold), DossierRow.state != DossierState.DESTROYED)


# ---------------------------------------------------------------- the maintained flag


def refresh_hold_flags(session: Session, *, dossier_ids: Collection[int] | None = None) -> tuple[int, int]:
    """Make `dossiers.legal_hold` true exactly for dossiers an active hold covers; (set, cleared).

    With `dossier_ids`, only those dossiers are looked at (a new dossier at ingest).
    """
    session.flush()
    scopes = ActiveScopes.load(session)
    restrict = _only(dossier_ids)
    set_count = 0
    # One statement per kind of scope keeps each one on an index (agency code, fonds id, primary key).
    for term in _terms(scopes):
        set_count += _set_flag(session, True, DossierRow.legal_hold == false(), term, restrict)
    covered = or_(*_terms(scopes)) if scopes else false()
    cleared = _set_flag(session, False, DossierRow.legal_hold == true(), not_(covered), restrict)
    return set_count, cleared


def _only(dossier_ids: Collection[int] | None) -> ColumnElement[bool] | None:
    if dossier_ids is None:
        return None
    return DossierRow.id.in_(sorted(dossier_ids)) if dossier_ids else false()


def _set_flag(session: Session, value: bool, *conditions: ColumnElement[bool] | None) -> int:
    statement = (
        update(DossierRow)
        .where(*(condition for condition in conditions if condition is not None))
        .values(legal_hold=value)
        .execution_options(synchronize_session=False)
    )
    changed = int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, DossierRow):
                session.expire(loaded, ["legal_hold"])
    return changed


def _lock_holds(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HOLDS_LOCK_KEY})
    # SQLite: `Catalog.session()` began with BEGIN IMMEDIATE, so this transaction is the only writer.


# ---------------------------------------------------------------- placing and releasing


def place_hold(
    session: Session,
    *,
    scope: HoldScope,
    reason: str,
    owner: str,
    audit: AuditLog,
    dossiers: Sequence[DossierRow] = (),
    code: str | None = None,
    by: str | None = None,
    clock: Clock = system_clock,
) -> Hold:
    """Place a hold; `dossiers` for scopes dossier (exactly one) and list, `code` for agency and fonds.

    `by` (default: the owner) is who placed it, recorded with the time and in the audit log.
    """
    reason = require_text(reason, "lý do tạm giữ", "the reason for the hold")
    owner = require_text(owner, "người chịu trách nhiệm (owner)", "the hold's owner")
    placed_by = require_text(by or owner, "người đặt lệnh tạm giữ", "who placed the hold")
    _check_scope(scope, dossiers, code)
    _lock_holds(session)
    row = LegalHoldRow(
        reason=reason, owner=owner, scope=scope, scope_code=code.strip() if code else None,
        placed_at=clock(), placed_by=placed_by,
    )
    session.add(row)
    session.flush()
    session.add_all(LegalHoldDossierRow(hold_id=row.id, dossier_id=dossier.id) for dossier in dossiers)
    session.flush()
    flagged = _set_flag(session, True, DossierRow.legal_hold == false(), _hold_term(row))
    covered = int(session.scalar(select(func.count()).select_from(covered_query(row).subquery())) or 0)
    hold = _snapshot(session, row)
    audit.append_in(
        session, placed_by, "legal_hold.placed", "legal_hold", str(row.id),
        hold.to_dict() | {"dossier_codes": [dossier.code for dossier in dossiers][:1000], "covered": covered,
                          "flagged": flagged},
    )
    return hold


def _check_scope(scope: HoldScope, dossiers: Sequence[DossierRow], code: str | None) -> None:
    if scope in (HoldScope.AGENCY, HoldScope.FONDS):
        if not code or not code.strip() or dossiers:
            raise RetentionError(
                "Lệnh tạm giữ theo cơ quan hoặc phông cần đúng một mã (và không kèm hồ sơ).",
                "An agency or fonds hold needs exactly one code (and no dossiers).",
            )
        return
    if code or not dossiers or (scope is HoldScope.DOSSIER and len(dossiers) != 1):
        raise RetentionError(
            "Lệnh tạm giữ một hồ sơ cần đúng một hồ sơ; theo danh sách cần ít nhất một hồ sơ.",
            "A dossier hold names exactly one dossier; a list hold at least one.",
        )
    if len({dossier.id for dossier in dossiers}) != len(dossiers):
        raise RetentionError("Danh sách có hồ sơ lặp lại.", "The list names a dossier twice.")
    destroyed = [dossier.code or f"#{dossier.id}" for dossier in dossiers if dossier.state == DossierState.DESTROYED]
    if destroyed:
        raise RetentionError(
            f"Không thể tạm giữ hồ sơ đã hủy: {', '.join(destroyed)}.",
            f"Destroyed dossiers cannot be held: {', '.join(destroyed)}.",
        )


def release_hold(
    session: Session,
    hold_id: int,
    *,
    by: str,
    audit: AuditLog,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> Hold:
    """Release an active hold; the dossiers it covered are free unless another active hold covers them."""
    released_by = require_text(by, "người giải tỏa lệnh tạm giữ", "who released the hold")
    _lock_holds(session)
    row = session.get(LegalHoldRow, hold_id)
    if row is None:
        raise RetentionError(f"Không có lệnh tạm giữ số {hold_id}.", f"No legal hold {hold_id}.")
    if row.released_at is not None:
        raise RetentionError(
            f"Lệnh tạm giữ số {hold_id} đã được giải tỏa lúc {iso_vn(row.released_at)}.",
            f"Legal hold {hold_id} was already released at {iso_vn(row.released_at)}.",
        )
    row.released_at, row.released_by, row.release_reason = clock(), released_by, reason
    session.flush()
    scopes = ActiveScopes.load(session)
    still_covered = or_(*_terms(scopes)) if scopes else false()
    freed = _set_flag(session, False, DossierRow.legal_hold == true(), _hold_term(row), not_(still_covered))
    hold = _snapshot(session, row)
    audit.append_in(
        session, released_by, "legal_hold.released", "legal_hold", str(row.id), hold.to_dict() | {"freed": freed}
    )
    return hold


# ---------------------------------------------------------------- reading


def get_hold(session: Session, hold_id: int) -> Hold:
    row = session.get(LegalHoldRow, hold_id)
    if row is None:
        raise RetentionError(f"Không có lệnh tạm giữ số {hold_id}.", f"No legal hold {hold_id}.")
    return _snapshot(session, row)


def list_holds(session: Session, *, include_released: bool = False) -> list[Hold]:
    query = select(LegalHoldRow).order_by(LegalHoldRow.id)
    if not include_released:
        query = query.where(LegalHoldRow.released_at.is_(None))
    return [_snapshot(session, row) for row in session.scalars(query)]


def covered_count(session: Session, hold: Hold) -> int:
    """How many dossiers (not destroyed) the hold covers now."""
    row = session.get_one(LegalHoldRow, hold.id)
    return int(session.scalar(select(func.count()).select_from(covered_query(row).subquery())) or 0)


def active_holds_for(session: Session, dossier_row: DossierRow) -> list[Hold]:
    """Every active hold covering the dossier, read from the holds themselves (not the flag).

    Destruction calls this again at the moment of execution (R-RT-4).
    """
    fonds_codes = {code for code in (dossier_row.organ_id, _fonds_code(session, dossier_row)) if code}
    linked = select(LegalHoldDossierRow.hold_id).where(LegalHoldDossierRow.dossier_id == dossier_row.id)
    covering: list[ColumnElement[bool]] = [LegalHoldRow.id.in_(linked)]
    if dossier_row.agency_code:
        agency = LegalHoldRow.scope_code == dossier_row.agency_code
        covering.append(and_(LegalHoldRow.scope == HoldScope.AGENCY, agency))
    if fonds_codes:
        fonds = LegalHoldRow.scope_code.in_(sorted(fonds_codes))
        covering.append(and_(LegalHoldRow.scope == HoldScope.FONDS, fonds))
    query = select(LegalHoldRow).where(LegalHoldRow.released_at.is_(None), or_(*covering)).order_by(LegalHoldRow.id)
    return [_snapshot(session, row) for row in session.scalars(query)]


def _fonds_code(session: Session, dossier_row: DossierRow) -> str | None:
    if dossier_row.fonds_id is None:
        return None
    return session.scalar(select(FondsRow.organ_id).where(FondsRow.id == dossier_row.fonds_id))


def _snapshot(session: Session, row: LegalHoldRow) -> Hold:
    dossier_ids: tuple[int, ...] = ()
    if row.scope in (HoldScope.DOSSIER, HoldScope.LIST):
        query = select(LegalHoldDossierRow.dossier_id).where(LegalHoldDossierRow.hold_id == row.id)
        dossier_ids = tuple(sorted(session.scalars(query)))
    return Hold(
        id=row.id, reason=row.reason, owner=row.owner, scope=row.scope, scope_code=row.scope_code,
        dossier_ids=dossier_ids, placed_at=row.placed_at, placed_by=row.placed_by, released_at=row.released_at,
        released_by=row.released_by, release_reason=row.release_reason,
    )
