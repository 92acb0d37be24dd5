"""Accounts, roles per agency and delegation (R-AU-2, R-AU-3).

- A *user* is a personal account (`dungnv.stttt`: given name + initials of the
  other names + "." + unit, Ninh Bình 2022 Điều 7) or a *system* account of a
  submitting system (văn thư / QLVB, API key). Passwords and keys come with the
  web/API issue; the account state R-AU-3 needs is here: must change the password
  at first login, locked (with a reason) after 30 days unused since issue or 60
  days without login, and when staff leave.
- A *role assignment* gives a user a role for one agency (or for every agency,
  `ALL_AGENCIES`, only for the Sở Nội vụ inspector and the administrator), for a
  period, until revoked.
- A *delegation* ("xử lý ủy quyền", Ninh Bình 2016 Điều 13.3) lets the delegate
  act for the delegator in one role for one agency during a period, for a
  stated reason. The delegated authority lasts only while the delegator holds
  the role directly and the account of either is usable; a delegation cannot
  be passed on. Every grant carries the delegator (`Grant.on_behalf_of`), so that
  separation-of-duties checks see who really acts.

Every change is written to the audit log in the caller's transaction. Account
administration is done by an administrator or by `SYSTEM_ACTOR` (the local
command line and scheduled jobs; it is how the first administrator is created).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, false, or_, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from archive_core.catalog.models import CODE_CHARS, Base
from archive_core.catalog.types import BIG_ID, UtcDateTime, str_enum
from archive_core.timeutil import Clock, iso_vn, system_clock

if TYPE_CHECKING:
    # Only for annotations: the catalog may import this module to register its tables.
    from archive_core.audit import AuditLog

ALL_AGENCIES = "*"
"""Agency scope of an assignment that covers every agency (Sở Nội vụ inspector, administrator)."""
SYSTEM_ACTOR = "system"
"""Actor name of the local command line and of scheduled jobs; no account may take this name."""
USERNAME_CHARS = 64
USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*")
UNUSED_LOCK_DAYS = 30
INACTIVE_LOCK_DAYS = 60


# ---------------------------------------------------------------- vocabulary


class Role(StrEnum):
    """R-AU-2 roles."""

    VAN_THU = "van_thu"
    ARCHIVIST = "archivist"
    OFFICER = "officer"
    AGENCY_HEAD = "agency_head"
    COUNCIL_MEMBER = "council_member"
    SO_NOI_VU = "so_noi_vu"
    ADMINISTRATOR = "administrator"

    @property
    def label_vi(self) -> str:
        return ROLE_LABELS_VI[self]


ROLE_LABELS_VI: dict[Role, str] = {
    Role.VAN_THU: "Văn thư / hệ thống nộp lưu",
    Role.ARCHIVIST: "Lưu trữ viên",
    Role.OFFICER: "Cán bộ tra cứu",
    Role.AGENCY_HEAD: "Thủ trưởng cơ quan",
    Role.COUNCIL_MEMBER: "Thành viên Hội đồng xét hủy",
    Role.SO_NOI_VU: "Cán bộ Sở Nội vụ",
    Role.ADMINISTRATOR: "Quản trị hệ thống",
}

WIDE_SCOPE_ROLES = frozenset({Role.SO_NOI_VU, Role.ADMINISTRATOR})
"""Roles that may be assigned for every agency at once."""
DELEGABLE_ROLES = frozenset(
    {Role.ARCHIVIST, Role.OFFICER, Role.AGENCY_HEAD, Role.COUNCIL_MEMBER, Role.SO_NOI_VU}
)
"""Administration is never delegated (it would let a delegate grant roles); a system account has nothing to delegate."""
SYSTEM_ACCOUNT_ROLES = frozenset({Role.VAN_THU})
"""A system account submits packages; every decision needs a named person."""


class AccountKind(StrEnum):
    PERSON = "person"
    SYSTEM = "system"


class LockReason(StrEnum):
    UNUSED_SINCE_ISSUE = "unused_since_issue"
    """R-AU-3: no login within 30 days of the account being issued."""
    INACTIVE = "inactive"
    """R-AU-3: 60 days without login."""
    STAFF_LEFT = "staff_left"
    """R-AU-3: the person left the agency; the account stays for the record but is never usable again."""
    ADMINISTRATIVE = "administrative"

    @property
    def label_vi(self) -> str:
        return LOCK_LABELS_VI[self]


LOCK_LABELS_VI: dict[LockReason, str] = {
    LockReason.UNUSED_SINCE_ISSUE: "Không sử dụng trong 30 ngày kể từ khi cấp",
    LockReason.INACTIVE: "Không đăng nhập trong 60 ngày",
    LockReason.STAFF_LEFT: "Cán bộ đã nghỉ việc / chuyển công tác",
    LockReason.ADMINISTRATIVE: "Khóa theo quyết định của quản trị",
}


class AccountError(Exception):
    """A refused account operation, with a stable code and messages in Vietnamese and English."""

    def __init__(self, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_vi": self.message_vi, "message_en": self.message_en}


_ERRORS: dict[str, tuple[str, str]] = {
    "AU-USERNAME": (
        "Tên tài khoản không hợp lệ: {username!r} (chữ thường không dấu, số, dấu chấm, ví dụ dungnv.stttt).",
        "Invalid user name {username!r}: lower-case ASCII letters, digits and dots, e.g. dungnv.stttt.",
    ),
    "AU-USER-EXISTS": ("Tài khoản {username} đã tồn tại.", "User {username} already exists."),
    "AU-NO-USER": ("Không có tài khoản {username}.", "No user {username}."),
    "AU-FIELD": ("Thiếu hoặc sai thông tin: {field}.", "Missing or invalid value: {field}."),
    "AU-NOT-ADMIN": (
        "Tài khoản {actor} không có quyền quản trị tài khoản.",
        "{actor} is not allowed to administer accounts.",
    ),
    "AU-SELF-GRANT": (
        "Không được tự cấp vai trò cho chính mình ({username}).",
        "Nobody may grant a role to themselves ({username}).",
    ),
    "AU-SCOPE": (
        "Vai trò {role} không thể cấp cho mọi cơ quan; hãy chỉ rõ mã cơ quan.",
        "Role {role} cannot be assigned for every agency; name the agency.",
    ),
    "AU-SYSTEM-ROLE": (
        "Tài khoản hệ thống {username} chỉ được giữ vai trò văn thư / hệ thống nộp lưu.",
        "System account {username} may only hold the submitter (van_thu) role.",
    ),
    "AU-NO-ASSIGNMENT": ("Không có phân quyền số {id}.", "No role assignment {id}."),
    "AU-PERIOD": (
        "Thời hạn không hợp lệ: thời điểm kết thúc phải sau thời điểm bắt đầu.",
        "Invalid period: the end must come after the start.",
    ),
    "AU-DELEGATE-SELF": ("Không thể ủy quyền cho chính mình.", "A user cannot delegate to themselves."),
    "AU-NOT-DELEGABLE": ("Vai trò {role} không được ủy quyền.", "Role {role} cannot be delegated."),
    "AU-DELEGATOR-LACKS-ROLE": (
        "{delegator} không giữ vai trò {role} tại cơ quan {agency} trong suốt thời gian ủy quyền.",
        "{delegator} does not hold role {role} for agency {agency} over the delegation period.",
    ),
    "AU-NOT-PERSON": (
        "{username} là tài khoản hệ thống: không thể ủy quyền hay nhận ủy quyền.",
        "{username} is a system account: it cannot delegate or be delegated to.",
    ),
    "AU-UNUSABLE": (
        "Tài khoản {username} đang bị khóa hoặc đã ngừng hoạt động.",
        "Account {username} is locked or no longer active.",
    ),
    "AU-NO-DELEGATION": ("Không có ủy quyền số {id}.", "No delegation {id}."),
    "AU-LEFT": (
        "Tài khoản {username} đã ngừng hoạt động (cán bộ nghỉ việc): không thể mở khóa.",
        "Account {username} belongs to staff who left: it cannot be unlocked.",
    ),
}


def account_error(code: str, **params: Any) -> AccountError:
    vi, en = _ERRORS[code]
    return AccountError(code, vi.format(**params), en.format(**params))


# ---------------------------------------------------------------- tables


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_CHARS), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(Text, nullable=False)
    agency_code: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False, index=True)
    """The agency the person works for (for the Sở Nội vụ inspector: the Sở Nội vụ itself)."""
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind"), nullable=False)
    email: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    """False once the person has left; the row stays so that every past decision keeps its author."""
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False)
    lock_reason: Mapped[LockReason | None] = mapped_column(str_enum(LockReason, "lock_reason"))
    lock_note: Mapped[str | None] = mapped_column(Text)
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(USERNAME_CHARS), nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @property
    def usable(self) -> bool:
        return self.active and not self.locked


class RoleAssignmentRow(Base):
    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), nullable=False)
    agency_code: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    granted_by: Mapped[str] = mapped_column(String(USERNAME_CHARS), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_CHARS))
    note: Mapped[str | None] = mapped_column(Text)

    user: Mapped[UserRow] = relationship()

    __table_args__ = (
        Index(None, "user_id", "role"),
        Index(None, "role", "agency_code"),
    )


class DelegationRow(Base):
    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "delegated_role"), nullable=False)
    agency_code: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(USERNAME_CHARS), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_CHARS))

    delegator: Mapped[UserRow] = relationship(foreign_keys=[delegator_id])
    delegate: Mapped[UserRow] = relationship(foreign_keys=[delegate_id])

    __table_args__ = (
        CheckConstraint("delegator_id <> delegate_id", name="not_self"),
        CheckConstraint("valid_until > valid_from", name="period"),
    )


# ---------------------------------------------------------------- text helpers


def _text(value: str | None, field: str, *, required: bool = True) -> str | None:
    cleaned = unicodedata.normalize("NFC", value).strip() if value is not None else ""
    if not cleaned:
        if required:
            raise account_error("AU-FIELD", field=field)
        return None
    return cleaned


def _required(value: str | None, field: str) -> str:
    cleaned = _text(value, field)
    assert cleaned is not None
    return cleaned


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if len(name) > USERNAME_CHARS or not USERNAME_PATTERN.fullmatch(name) or name == SYSTEM_ACTOR:
        raise account_error("AU-USERNAME", username=username)
    return name


# ---------------------------------------------------------------- look-ups


def find_user(session: Session, username: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()


def get_user(session: Session, username: str) -> UserRow:
    row = find_user(session, username)
    if row is None:
        raise account_error("AU-NO-USER", username=username)
    return row


def _user(session: Session, user: UserRow | str) -> UserRow:
    return user if isinstance(user, UserRow) else get_user(session, user)


def list_users(session: Session, *, agency_code: str | None = None) -> list[UserRow]:
    query = select(UserRow).order_by(UserRow.agency_code, UserRow.username)
    if agency_code is not None:
        query = query.where(UserRow.agency_code == agency_code)
    return list(session.scalars(query))


# ---------------------------------------------------------------- effective roles


@dataclass(frozen=True)
class Grant:
    """One way in which a user holds a role for an agency at some moment."""

    role: Role
    agency_code: str
    """The scope that matched: the agency asked about, or `ALL_AGENCIES`."""
    user: str
    """The user who acts."""
    user_id: int
    assignment_id: int
    """The assignment behind the grant (the delegator's when delegated)."""
    on_behalf_of: str | None = None
    """The delegator, when the role is held through a delegation."""
    on_behalf_of_id: int | None = None
    delegation_id: int | None = None

    @property
    def delegated(self) -> bool:
        return self.delegation_id is not None

    @property
    def principal_id(self) -> int:
        """Whose authority is exercised: the delegator when delegated, else the user."""
        return self.on_behalf_of_id if self.on_behalf_of_id is not None else self.user_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "role_vi": self.role.label_vi,
            "agency_code": self.agency_code,
            "user": self.user,
            "on_behalf_of": self.on_behalf_of,
            "delegation_id": self.delegation_id,
        }


def _in_force(valid_from: Any, valid_until: Any, revoked_at: Any, at: datetime) -> Any:
    return (
        (valid_from <= at)
        & or_(valid_until.is_(None), valid_until > at)
        & or_(revoked_at.is_(None), revoked_at > at)
    )


def _scope(column: Any, agency_code: str) -> Any:
    return column.in_([agency_code, ALL_AGENCIES])


def _direct_assignments(
    session: Session, user: UserRow, agency_code: str, at: datetime, roles: Iterable[Role] | None = None
) -> list[RoleAssignmentRow]:
    query = select(RoleAssignmentRow).where(
        RoleAssignmentRow.user_id == user.id,
        _scope(RoleAssignmentRow.agency_code, agency_code),
        _in_force(RoleAssignmentRow.valid_from, RoleAssignmentRow.valid_until, RoleAssignmentRow.revoked_at, at),
    )
    if roles is not None:
        query = query.where(RoleAssignmentRow.role.in_(list(roles)))
    return list(session.scalars(query.order_by(RoleAssignmentRow.id)))


def effective_grants(session: Session, user: UserRow | str, agency_code: str, at: datetime) -> list[Grant]:
    """Every way `user` holds a role for `agency_code` at `at`: direct assignments first, then delegations.

    An account that is locked or inactive holds nothing. A delegation counts only
    while it is in force, the delegator's own account is usable and the delegator
    holds the role directly (so a delegate cannot pass the role on).
    """
    row = _user(session, user)
    if not row.usable:
        return []
    grants = [
        Grant(role=item.role, agency_code=item.agency_code, user=row.username, user_id=row.id, assignment_id=item.id)
        for item in _direct_assignments(session, row, agency_code, at)
    ]
    if row.kind != AccountKind.PERSON:
        return grants
    delegations = session.scalars(
        select(DelegationRow)
        .where(
            DelegationRow.delegate_id == row.id,
            _scope(DelegationRow.agency_code, agency_code),
            _in_force(DelegationRow.valid_from, DelegationRow.valid_until, DelegationRow.revoked_at, at),
        )
        .order_by(DelegationRow.id)
    )
    for delegation in delegations:
        delegator = delegation.delegator
        if not delegator.usable or delegator.kind != AccountKind.PERSON:
            continue
        behind = _direct_assignments(session, delegator, agency_code, at, roles=[delegation.role])
        if behind:
            grants.append(
                Grant(
                    role=delegation.role, agency_code=delegation.agency_code, user=row.username, user_id=row.id,
                    assignment_id=behind[0].id, on_behalf_of=delegator.username, on_behalf_of_id=delegator.id,
                    delegation_id=delegation.id,
                )
            )
    return grants


def effective_roles(session: Session, user: UserRow | str, agency_code: str, at: datetime) -> set[Role]:
    """The roles `user` may exercise for `agency_code` at `at`, delegated ones included."""
    return {grant.role for grant in effective_grants(session, user, agency_code, at)}


def delegators_of(session: Session, user: UserRow, agency_code: str, at: datetime) -> set[int]:
    """Ids of everyone who has a delegation in force to `user` for `agency_code` at `at`, whatever the role.

    Separation-of-duties checks treat a delegate as the delegator's hand: B
    acting for A in one matter may not check A's work in another.
    """
    query = select(DelegationRow.delegator_id).where(
        DelegationRow.delegate_id == user.id,
        _scope(DelegationRow.agency_code, agency_code),
        _in_force(DelegationRow.valid_from, DelegationRow.valid_until, DelegationRow.revoked_at, at),
    )
    return set(session.scalars(query))


def delegates_of(session: Session, user: UserRow, agency_code: str, at: datetime) -> set[int]:
    """Ids of everyone `user` has delegated to for `agency_code`, in force at `at`."""
    query = select(DelegationRow.delegate_id).where(
        DelegationRow.delegator_id == user.id,
        _scope(DelegationRow.agency_code, agency_code),
        _in_force(DelegationRow.valid_from, DelegationRow.valid_until, DelegationRow.revoked_at, at),
    )
    return set(session.scalars(query))


def is_administrator(session: Session, actor: str, at: datetime) -> bool:
    if actor == SYSTEM_ACTOR:
        return True
    row = find_user(session, actor)
    if row is None or not row.usable:
        return False
    # Administration is held directly (never delegated), for one agency or all: either administers accounts.
    query = select(RoleAssignmentRow.id).where(
        RoleAssignmentRow.user_id == row.id,
        RoleAssignmentRow.role == Role.ADMINISTRATOR,
        _in_force(RoleAssignmentRow.valid_from, RoleAssignmentRow.valid_until, RoleAssignmentRow.revoked_at, at),
    )
    return session.scalars(query.limit(1)).first() is not None


# ---------------------------------------------------------------- administration


class Accounts:
    """Account administration inside the caller's transaction; every change is audited."""

    def __init__(self, audit: AuditLog, *, clock: Clock = system_clock) -> None:
        self.audit = audit
        self.clock = clock

    def _require_admin(self, session: Session, actor: str) -> None:
        if not is_administrator(session, actor, self.clock()):
            raise account_error("AU-NOT-ADMIN", actor=actor)

    def _audit(self, session: Session, actor: str, action: str, object_type: str, object_id: str,
               details: dict[str, Any]) -> None:
        self.audit.append_in(session, actor, action, object_type, object_id, details)

    # ------------------------------------------------------------ users

    def create_user(
        self,
        session: Session,
        *,
        actor: str,
        username: str,
        full_name: str,
        agency_code: str,
        kind: AccountKind = AccountKind.PERSON,
        email: str | None = None,
    ) -> UserRow:
        """A new account; a person must change the password at first login (R-AU-3)."""
        self._require_admin(session, actor)
        name = normalise_username(username)
        if find_user(session, name) is not None:
            raise account_error("AU-USER-EXISTS", username=name)
        now = self.clock()
        row = UserRow(
            username=name, full_name=_required(full_name, "full_name"),
            agency_code=_required(agency_code, "agency_code"), kind=kind, email=_text(email, "email", required=False),
            active=True, must_change_password=kind == AccountKind.PERSON, locked=False, created_at=now,
            created_by=actor,
        )
        session.add(row)
        session.flush()
        self._audit(session, actor, "user.create", "user", name, {
            "full_name": row.full_name, "agency_code": row.agency_code, "kind": kind.value,
        })
        return row

    def record_login(self, session: Session, username: str) -> UserRow:
        """A successful login (the authentication itself comes with the web/API layer)."""
        row = get_user(session, username)
        if not row.usable:
            raise account_error("AU-UNUSABLE", username=row.username)
        row.last_login_at = self.clock()
        session.flush()
        self._audit(session, row.username, "user.login", "user", row.username, {})
        return row

    def password_changed(self, session: Session, username: str) -> UserRow:
        row = get_user(session, username)
        row.must_change_password = False
        row.password_changed_at = self.clock()
        session.flush()
        self._audit(session, row.username, "user.password_changed", "user", row.username, {})
        return row

    def lock(self, session: Session, *, actor: str, username: str, reason: LockReason,
             note: str | None = None) -> UserRow:
        if reason == LockReason.STAFF_LEFT:
            return self.staff_left(session, actor=actor, username=username, note=note)
        self._require_admin(session, actor)
        row = get_user(session, username)
        self._lock(session, actor, row, reason, note)
        return row

    def _lock(self, session: Session, actor: str, row: UserRow, reason: LockReason, note: str | None) -> None:
        row.locked, row.lock_reason, row.lock_note = True, reason, _text(note, "note", required=False)
        row.locked_at = self.clock()
        session.flush()
        self._audit(session, actor, "user.lock", "user", row.username, {"reason": reason.value, "note": row.lock_note})

    def unlock(self, session: Session, *, actor: str, username: str, note: str | None = None) -> UserRow:
        """Unlock an account; the person must then set a new password. Staff who left stay locked."""
        self._require_admin(session, actor)
        row = get_user(session, username)
        if not row.active:
            raise account_error("AU-LEFT", username=row.username)
        row.locked, row.lock_reason, row.lock_note, row.locked_at = False, None, None, None
        row.must_change_password = row.kind == AccountKind.PERSON
        session.flush()
        self._audit(session, actor, "user.unlock", "user", row.username, {"note": _text(note, "note", required=False)})
        return row

    def staff_left(self, session: Session, *, actor: str, username: str, note: str | None = None) -> UserRow:
        """R-AU-3: lock the account for good and end every delegation from or to it."""
        self._require_admin(session, actor)
        row = get_user(session, username)
        now = self.clock()
        row.active = False
        row.left_at = now
        self._lock(session, actor, row, LockReason.STAFF_LEFT, note)
        open_delegations = session.scalars(
            select(DelegationRow).where(
                or_(DelegationRow.delegator_id == row.id, DelegationRow.delegate_id == row.id),
                DelegationRow.revoked_at.is_(None),
                DelegationRow.valid_until > now,
            )
        )
        for delegation in open_delegations:
            self._revoke_delegation(session, actor, delegation, note="staff left")
        return row

    def apply_inactivity_locks(
        self, session: Session, *, unused_days: int = UNUSED_LOCK_DAYS, inactive_days: int = INACTIVE_LOCK_DAYS
    ) -> list[UserRow]:
        """R-AU-3, run daily: lock personal accounts never used within `unused_days` of issue,
        and those without a login for `inactive_days`. Returns the accounts locked now."""
        now = self.clock()
        candidates = session.scalars(
            select(UserRow).where(
                UserRow.active == true(), UserRow.locked == false(), UserRow.kind == AccountKind.PERSON
            ).order_by(UserRow.id)
        )
        locked = []
        for row in candidates:
            reason = None
            if row.last_login_at is None and row.created_at <= now - timedelta(days=unused_days):
                reason = LockReason.UNUSED_SINCE_ISSUE
            elif row.last_login_at is not None and row.last_login_at <= now - timedelta(days=inactive_days):
                reason = LockReason.INACTIVE
            if reason is not None:
                self._lock(session, SYSTEM_ACTOR, row, reason, None)
                locked.append(row)
        return locked

    # ------------------------------------------------------------ roles

    def grant_role(
        self,
        session: Session,
        *,
        actor: str,
        username: str,
        role: Role,
        agency_code: str,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        note: str | None = None,
    ) -> RoleAssignmentRow:
        self._require_admin(session, actor)
        row = get_user(session, username)
        if actor == row.username:
            raise account_error("AU-SELF-GRANT", username=row.username)
        agency = _required(agency_code, "agency_code")
        if agency == ALL_AGENCIES and role not in WIDE_SCOPE_ROLES:
            raise account_error("AU-SCOPE", role=role.value)
        if row.kind == AccountKind.SYSTEM and role not in SYSTEM_ACCOUNT_ROLES:
            raise account_error("AU-SYSTEM-ROLE", username=row.username)
        now = self.clock()
        start = valid_from or now
        if valid_until is not None and valid_until <= start:
            raise account_error("AU-PERIOD")
        assignment = RoleAssignmentRow(
            user=row, role=role, agency_code=agency, valid_from=start, valid_until=valid_until,
            granted_by=actor, granted_at=now, note=_text(note, "note", required=False),
        )
        session.add(assignment)
        session.flush()
        self._audit(session, actor, "role.grant", "user", row.username, {
            "assignment_id": assignment.id, "role": role.value, "agency_code": agency,
            "valid_from": iso_vn(start), "valid_until": iso_vn(valid_until) if valid_until else None,
        })
        return assignment

    def revoke_role(self, session: Session, *, actor: str, assignment_id: int) -> RoleAssignmentRow:
        self._require_admin(session, actor)
        assignment = session.get(RoleAssignmentRow, assignment_id)
        if assignment is None:
            raise account_error("AU-NO-ASSIGNMENT", id=assignment_id)
        if assignment.revoked_at is None:
            assignment.revoked_at, assignment.revoked_by = self.clock(), actor
            session.flush()
            self._audit(session, actor, "role.revoke", "user", assignment.user.username, {
                "assignment_id": assignment.id, "role": assignment.role.value, "agency_code": assignment.agency_code,
            })
        return assignment

    # ------------------------------------------------------------ delegation

    def delegate(
        self,
        session: Session,
        *,
        actor: str,
        delegator: str,
        delegate: str,
        role: Role,
        agency_code: str,
        valid_from: datetime,
        valid_until: datetime,
        reason: str,
    ) -> DelegationRow:
        """`delegate` may act for `delegator` in `role` for `agency_code` during [valid_from, valid_until).

        Made by the delegator or an administrator. The delegator must hold the
        role directly for the whole period as known now; it is checked again at
        every use.
        """
        giver, taker = get_user(session, delegator), get_user(session, delegate)
        if actor != giver.username:
            self._require_admin(session, actor)
        if giver.id == taker.id:
            raise account_error("AU-DELEGATE-SELF")
        if role not in DELEGABLE_ROLES:
            raise account_error("AU-NOT-DELEGABLE", role=role.value)
        for person in (giver, taker):
            if person.kind != AccountKind.PERSON:
                raise account_error("AU-NOT-PERSON", username=person.username)
            if not person.usable:
                raise account_error("AU-UNUSABLE", username=person.username)
        if valid_until <= valid_from:
            raise account_error("AU-PERIOD")
        agency = _required(agency_code, "agency_code")
        if not self._holds_throughout(session, giver, role, agency, valid_from, valid_until):
            raise account_error("AU-DELEGATOR-LACKS-ROLE", delegator=giver.username, role=role.value, agency=agency)
        row = DelegationRow(
            delegator=giver, delegate=taker, role=role, agency_code=agency, valid_from=valid_from,
            valid_until=valid_until, reason=_required(reason, "reason"), created_by=actor, created_at=self.clock(),
        )
        session.add(row)
        session.flush()
        self._audit(session, actor, "delegation.create", "delegation", str(row.id), {
            "delegator": giver.username, "delegate": taker.username, "role": role.value, "agency_code": agency,
            "valid_from": iso_vn(valid_from), "valid_until": iso_vn(valid_until), "reason": row.reason,
        })
        return row

    @staticmethod
    def _holds_throughout(
        session: Session, user: UserRow, role: Role, agency: str, start: datetime, end: datetime
    ) -> bool:
        scopes = [agency, ALL_AGENCIES] if agency != ALL_AGENCIES else [ALL_AGENCIES]
        assignments = session.scalars(
            select(RoleAssignmentRow).where(
                RoleAssignmentRow.user_id == user.id,
                RoleAssignmentRow.role == role,
                RoleAssignmentRow.agency_code.in_(scopes),
            )
        )
        for item in assignments:
            ends = [moment for moment in (item.valid_until, item.revoked_at) if moment is not None]
            if item.valid_from <= start and all(moment >= end for moment in ends):
                return True
        return False

    def revoke_delegation(self, session: Session, *, actor: str, delegation_id: int,
                          note: str | None = None) -> DelegationRow:
        row = session.get(DelegationRow, delegation_id)
        if row is None:
            raise account_error("AU-NO-DELEGATION", id=delegation_id)
        if actor != row.delegator.username:
            self._require_admin(session, actor)
        if row.revoked_at is None:
            self._revoke_delegation(session, actor, row, note=note)
        return row

    def _revoke_delegation(self, session: Session, actor: str, row: DelegationRow, *, note: str | None) -> None:
        row.revoked_at, row.revoked_by = self.clock(), actor
        session.flush()
        self._audit(session, actor, "delegation.revoke", "delegation", str(row.id), {
            "delegator": row.delegator.username, "delegate": row.delegate.username, "role": row.role.value,
            "agency_code": row.agency_code, "note": _text(note, "note", required=False),
        })


# ---------------------------------------------------------------- presentation (CLI `earchive users …`)


def user_to_dict(session: Session, user: UserRow, *, at: datetime | None = None) -> dict[str, Any]:
    """JSON-ready description of an account with its assignments and delegations (in force at `at` or any)."""
    assignments = session.scalars(
        select(RoleAssignmentRow).where(RoleAssignmentRow.user_id == user.id).order_by(RoleAssignmentRow.id)
    )
    delegations = session.scalars(
        select(DelegationRow)
        .where(or_(DelegationRow.delegator_id == user.id, DelegationRow.delegate_id == user.id))
        .order_by(DelegationRow.id)
    )
    return {
        "username": user.username,
        "full_name": user.full_name,
        "agency_code": user.agency_code,
        "kind": user.kind.value,
        "email": user.email,
        "active": user.active,
        "locked": user.locked,
        "lock_reason": user.lock_reason.value if user.lock_reason else None,
        "lock_reason_vi": user.lock_reason.label_vi if user.lock_reason else None,
        "must_change_password": user.must_change_password,
        "created_at": iso_vn(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "left_at": _iso(user.left_at),
        "roles": [
            {
                "id": item.id, "role": item.role.value, "role_vi": item.role.label_vi,
                "agency_code": item.agency_code, "valid_from": iso_vn(item.valid_from),
                "valid_until": _iso(item.valid_until), "revoked_at": _iso(item.revoked_at),
                "in_force": at is not None and _assignment_in_force(item, at),
            }
            for item in assignments
        ],
        "delegations": [
            {
                "id": item.id, "delegator": item.delegator.username, "delegate": item.delegate.username,
                "role": item.role.value, "role_vi": item.role.label_vi, "agency_code": item.agency_code,
                "valid_from": iso_vn(item.valid_from), "valid_until": iso_vn(item.valid_until),
                "reason": item.reason, "revoked_at": _iso(item.revoked_at),
            }
            for item in delegations
        ],
    }


def _assignment_in_force(item: RoleAssignmentRow, at: datetime) -> bool:
    return (
        item.valid_from <= at
        and (item.valid_until is None or item.valid_until > at)
        and (item.revoked_at is None or item.revoked_at > at)
    )


def _iso(moment: datetime | None) -> str | None:
    return iso_vn(moment) if moment is not None else None


def user_text_vi(data: dict[str, Any]) -> str:
    """Vietnamese text of `user_to_dict` for the terminal."""
    state = "Đang hoạt động" if data["active"] and not data["locked"] else (
        f"Bị khóa ({data['lock_reason_vi']})" if data["locked"] else "Ngừng hoạt động"
    )
    lines = [
        f"Tài khoản: {data['username']} — {data['full_name']}",
        f"Cơ quan: {data['agency_code']}   Loại: {'cá nhân' if data['kind'] == 'person' else 'hệ thống'}",
        f"Trạng thái: {state}" + ("; phải đổi mật khẩu ở lần đăng nhập tới" if data["must_change_password"] else ""),
        f"Cấp ngày: {data['created_at']}   Đăng nhập gần nhất: {data['last_login_at'] or 'chưa đăng nhập'}",
    ]
    if data["roles"]:
        lines.append("Vai trò:")
        for item in data["roles"]:
            until = ""
            if item["revoked_at"]:
                until = f", thu hồi {item['revoked_at']}"
            elif item["valid_until"]:
                until = f" đến {item['valid_until']}"
            scope = "mọi cơ quan" if item["agency_code"] == ALL_AGENCIES else item["agency_code"]
            lines.append(f"  - {item['role_vi']} ({scope}) từ {item['valid_from']}{until}")
    for item in data["delegations"]:
        revoked = f", đã thu hồi {item['revoked_at']}" if item["revoked_at"] else ""
        lines.append(
            f"Ủy quyền #{item['id']}: {item['delegator']} → {item['delegate']}, {item['role_vi']} "
            f"({item['agency_code']}), {item['valid_from']} – {item['valid_until']}: {item['reason']}{revoked}"
        )
    return "\n".join(lines)
