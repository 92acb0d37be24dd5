"""Accounts, roles and delegation (R-AU-2, R-AU-3) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from archive_core.accounts import (
    ALL_AGENCIES,
    SYSTEM_ACTOR,
    AccountError,
    AccountKind,
    Accounts,
    LockReason,
    Role,
    effective_grants,
    effective_roles,
    get_user,
    normalise_username,
    user_text_vi,
    user_to_dict,
)
from archive_core.audit import AuditLog
from archive_core.catalog import Catalog
from archive_core.timeutil import VN_TZ

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=VN_TZ)
AGENCY = "H49.01"
OTHER = "H49.02"
SNV = "H49.SNV"


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def audit(catalog: Catalog, tmp_path: Path, clock: ManualClock) -> AuditLog:
    return AuditLog(catalog, tmp_path / "audit-anchors", clock=clock)


@pytest.fixture
def accounts(audit: AuditLog, clock: ManualClock) -> Accounts:
    return Accounts(audit, clock=clock)


def add_user(catalog: Catalog, accounts: Accounts, username: str, agency: str = AGENCY, *roles: Role,
             kind: AccountKind = AccountKind.PERSON) -> None:
    with catalog.session() as session:
        accounts.create_user(session, actor=SYSTEM_ACTOR, username=username, full_name=f"Cán bộ {username}",
                             agency_code=agency, kind=kind)
        for role in roles:
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username=username, role=role, agency_code=agency)


def roles_of(catalog: Catalog, username: str, agency: str, at: datetime) -> set[Role]:
    with catalog.session(readonly=True) as session:
        return effective_roles(session, username, agency, at)


def refused(code: str) -> pytest.RaisesExc[AccountError]:
    return pytest.raises(AccountError, match=f"^{code}:")


# ---------------------------------------------------------------- users


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("dungnv.stttt", "dungnv.stttt"), ("  DungNV.STTTT ", "dungnv.stttt"), ("an_b-c.snv", "an_b-c.snv"),
     ("qlvb.stttt", "qlvb.stttt")],
)
def test_usernames_are_normalised(raw: str, expected: str) -> None:
    assert normalise_username(raw) == expected


@pytest.mark.parametrize("raw", ["dũngnv.stttt", "system", "", "dung nv", "1dung.stttt", "dung..stttt",
                                 "dung.", "x" * 65])
def test_bad_usernames_are_refused(raw: str) -> None:
    with refused("AU-USERNAME"):
        normalise_username(raw)


def test_a_new_person_must_change_the_password_and_names_are_unique(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "dungnv.stttt")
    add_user(catalog, accounts, "qlvb.stttt", AGENCY, Role.VAN_THU, kind=AccountKind.SYSTEM)
    with catalog.session() as session:
        person, system = get_user(session, "dungnv.stttt"), get_user(session, "qlvb.stttt")
        assert person.must_change_password and not system.must_change_password
        assert person.usable and person.full_name == "Cán bộ dungnv.stttt"
        with refused("AU-USER-EXISTS"):
            accounts.create_user(session, actor=SYSTEM_ACTOR, username="DungNV.stttt", full_name="X",
                                 agency_code=AGENCY)
        with refused("AU-FIELD"):
            accounts.create_user(session, actor=SYSTEM_ACTOR, username="new.stttt", full_name="  ",
                                 agency_code=AGENCY)


def test_only_administrators_administer_and_nobody_grants_themselves(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "admin.stttt", AGENCY, Role.ADMINISTRATOR)
    add_user(catalog, accounts, "lanpt.vp", AGENCY, Role.ARCHIVIST)
    with catalog.session() as session, refused("AU-NOT-ADMIN"):
        accounts.create_user(session, actor="lanpt.vp", username="x.vp", full_name="X", agency_code=AGENCY)
    with catalog.session() as session, refused("AU-NOT-ADMIN"):
        accounts.grant_role(session, actor="lanpt.vp", username="lanpt.vp", role=Role.AGENCY_HEAD,
                            agency_code=AGENCY)
    with catalog.session() as session, refused("AU-SELF-GRANT"):
        accounts.grant_role(session, actor="admin.stttt", username="admin.stttt", role=Role.AGENCY_HEAD,
                            agency_code=AGENCY)
    with catalog.session() as session:
        accounts.create_user(session, actor="admin.stttt", username="x.vp", full_name="X", agency_code=AGENCY)
        accounts.grant_role(session, actor="admin.stttt", username="x.vp", role=Role.OFFICER, agency_code=AGENCY)
    assert roles_of(catalog, "x.vp", AGENCY, T0) == {Role.OFFICER}


def test_role_scopes_and_system_accounts(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "minhlq.snv", SNV)
    add_user(catalog, accounts, "qlvb.vp", AGENCY, kind=AccountKind.SYSTEM)
    with catalog.session() as session:
        with refused("AU-SCOPE"):
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username="minhlq.snv", role=Role.AGENCY_HEAD,
                                agency_code=ALL_AGENCIES)
        accounts.grant_role(session, actor=SYSTEM_ACTOR, username="minhlq.snv", role=Role.SO_NOI_VU,
                            agency_code=ALL_AGENCIES)
        with refused("AU-SYSTEM-ROLE"):
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username="qlvb.vp", role=Role.ARCHIVIST,
                                agency_code=AGENCY)
        accounts.grant_role(session, actor=SYSTEM_ACTOR, username="qlvb.vp", role=Role.VAN_THU, agency_code=AGENCY)
    assert roles_of(catalog, "minhlq.snv", AGENCY, T0) == {Role.SO_NOI_VU}
    assert roles_of(catalog, "minhlq.snv", OTHER, T0) == {Role.SO_NOI_VU}
    assert roles_of(catalog, "qlvb.vp", AGENCY, T0) == {Role.VAN_THU}
    assert roles_of(catalog, "qlvb.vp", OTHER, T0) == set()


def test_roles_follow_their_period_and_revocation(catalog: Catalog, accounts: Accounts, clock: ManualClock) -> None:
    add_user(catalog, accounts, "hungtv.vp")
    with catalog.session() as session:
        assignment = accounts.grant_role(
            session, actor=SYSTEM_ACTOR, username="hungtv.vp", role=Role.AGENCY_HEAD, agency_code=AGENCY,
            valid_from=T0 + timedelta(days=1), valid_until=T0 + timedelta(days=10),
        ).id
        with refused("AU-PERIOD"):
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username="hungtv.vp", role=Role.OFFICER,
                                agency_code=AGENCY, valid_from=T0, valid_until=T0)
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0) == set()
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0 + timedelta(days=1)) == {Role.AGENCY_HEAD}
    assert roles_of(catalog, "hungtv.vp", OTHER, T0 + timedelta(days=1)) == set()
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0 + timedelta(days=10)) == set()
    clock.advance(days=5)
    with catalog.session() as session:
        accounts.revoke_role(session, actor=SYSTEM_ACTOR, assignment_id=assignment)
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0 + timedelta(days=4)) == {Role.AGENCY_HEAD}
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0 + timedelta(days=5)) == set()


def test_locked_and_departed_accounts_hold_no_role(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "lanpt.vp", AGENCY, Role.ARCHIVIST)
    with catalog.session() as session:
        accounts.lock(session, actor=SYSTEM_ACTOR, username="hungtv.vp", reason=LockReason.ADMINISTRATIVE,
                      note="kiểm tra")
        accounts.staff_left(session, actor=SYSTEM_ACTOR, username="lanpt.vp")
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0) == set()
    assert roles_of(catalog, "lanpt.vp", AGENCY, T0) == set()
    with catalog.session() as session:
        accounts.unlock(session, actor=SYSTEM_ACTOR, username="hungtv.vp")
        with refused("AU-LEFT"):
            accounts.unlock(session, actor=SYSTEM_ACTOR, username="lanpt.vp")
        assert get_user(session, "hungtv.vp").must_change_password
    assert roles_of(catalog, "hungtv.vp", AGENCY, T0) == {Role.AGENCY_HEAD}


# ---------------------------------------------------------------- delegation


def delegate(catalog: Catalog, accounts: Accounts, delegator: str, delegate_to: str, role: Role, *,
             days: float = 7, start: datetime = T0, actor: str | None = None, agency: str = AGENCY) -> int:
    with catalog.session() as session:
        return accounts.delegate(
            session, actor=actor or delegator, delegator=delegator, delegate=delegate_to, role=role,
            agency_code=agency, valid_from=start, valid_until=start + timedelta(days=days), reason="Đi công tác",
        ).id


def test_a_delegate_holds_the_role_for_the_period_on_behalf_of_the_delegator(
    catalog: Catalog, accounts: Accounts, clock: ManualClock
) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "phocp.vp", AGENCY, Role.OFFICER)
    delegation = delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD,
                          start=T0 + timedelta(days=1), days=3)
    assert roles_of(catalog, "phocp.vp", AGENCY, T0) == {Role.OFFICER}
    inside = T0 + timedelta(days=2)
    assert roles_of(catalog, "phocp.vp", AGENCY, inside) == {Role.OFFICER, Role.AGENCY_HEAD}
    assert roles_of(catalog, "phocp.vp", OTHER, inside) == set()
    assert roles_of(catalog, "phocp.vp", AGENCY, T0 + timedelta(days=4)) == {Role.OFFICER}
    with catalog.session(readonly=True) as session:
        grants = [grant for grant in effective_grants(session, "phocp.vp", AGENCY, inside)
                  if grant.role == Role.AGENCY_HEAD]
        head = get_user(session, "hungtv.vp")
    assert len(grants) == 1
    assert grants[0].on_behalf_of == "hungtv.vp" and grants[0].delegation_id == delegation
    assert grants[0].principal_id == head.id and grants[0].delegated
    clock.advance(days=2, hours=12)
    with catalog.session() as session:
        accounts.revoke_delegation(session, actor="hungtv.vp", delegation_id=delegation, note="Đã về")
    assert roles_of(catalog, "phocp.vp", AGENCY, T0 + timedelta(days=2)) == {Role.OFFICER, Role.AGENCY_HEAD}
    assert roles_of(catalog, "phocp.vp", AGENCY, T0 + timedelta(days=3)) == {Role.OFFICER}


def test_a_delegation_lapses_with_the_delegators_authority(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY)
    add_user(catalog, accounts, "phocp.vp", AGENCY)
    with catalog.session() as session:
        head = accounts.grant_role(session, actor=SYSTEM_ACTOR, username="hungtv.vp", role=Role.AGENCY_HEAD,
                                   agency_code=AGENCY).id
    delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=30)
    day = T0 + timedelta(days=1)
    assert Role.AGENCY_HEAD in roles_of(catalog, "phocp.vp", AGENCY, day)
    with catalog.session() as session:
        accounts.lock(session, actor=SYSTEM_ACTOR, username="hungtv.vp", reason=LockReason.ADMINISTRATIVE)
    assert roles_of(catalog, "phocp.vp", AGENCY, day) == set()
    with catalog.session() as session:
        accounts.unlock(session, actor=SYSTEM_ACTOR, username="hungtv.vp")
        accounts.revoke_role(session, actor=SYSTEM_ACTOR, assignment_id=head)
    assert roles_of(catalog, "phocp.vp", AGENCY, day) == set()


def test_delegation_rules(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD, Role.ADMINISTRATOR)
    add_user(catalog, accounts, "phocp.vp", AGENCY, Role.OFFICER)
    add_user(catalog, accounts, "lanpt.vp", AGENCY, Role.ARCHIVIST)
    add_user(catalog, accounts, "qlvb.vp", AGENCY, kind=AccountKind.SYSTEM)
    with refused("AU-DELEGATE-SELF"):
        delegate(catalog, accounts, "hungtv.vp", "hungtv.vp", Role.AGENCY_HEAD)
    with refused("AU-NOT-DELEGABLE"):
        delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.ADMINISTRATOR)
    with refused("AU-NOT-PERSON"):
        delegate(catalog, accounts, "hungtv.vp", "qlvb.vp", Role.AGENCY_HEAD)
    with refused("AU-NOT-ADMIN"):
        delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, actor="lanpt.vp")
    with refused("AU-DELEGATOR-LACKS-ROLE"):
        delegate(catalog, accounts, "phocp.vp", "lanpt.vp", Role.AGENCY_HEAD)
    with refused("AU-PERIOD"):
        delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=0)
    # An administrator may record a delegation for someone else.
    add_user(catalog, accounts, "admin.stttt", "H49.STTTT", Role.ADMINISTRATOR)
    delegate(catalog, accounts, "lanpt.vp", "phocp.vp", Role.ARCHIVIST, actor="admin.stttt")
    assert Role.ARCHIVIST in roles_of(catalog, "phocp.vp", AGENCY, T0 + timedelta(days=1))


def test_a_delegation_must_be_covered_by_the_delegators_assignment(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp")
    add_user(catalog, accounts, "phocp.vp")
    with catalog.session() as session:
        accounts.grant_role(session, actor=SYSTEM_ACTOR, username="hungtv.vp", role=Role.AGENCY_HEAD,
                            agency_code=AGENCY, valid_until=T0 + timedelta(days=5))
    with refused("AU-DELEGATOR-LACKS-ROLE"):
        delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=10)
    with refused("AU-DELEGATOR-LACKS-ROLE"):
        delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=3, agency=OTHER)
    delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=5)


def test_delegations_cannot_be_passed_on(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "phocp.vp", AGENCY, Role.OFFICER)
    add_user(catalog, accounts, "lanpt.vp", AGENCY, Role.ARCHIVIST)
    delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=10)
    with refused("AU-DELEGATOR-LACKS-ROLE"):
        delegate(catalog, accounts, "phocp.vp", "lanpt.vp", Role.AGENCY_HEAD, days=5)
    assert Role.AGENCY_HEAD not in roles_of(catalog, "lanpt.vp", AGENCY, T0 + timedelta(days=1))


# ---------------------------------------------------------------- R-AU-3


def test_unused_and_inactive_accounts_are_locked(catalog: Catalog, accounts: Accounts, clock: ManualClock) -> None:
    add_user(catalog, accounts, "never.vp", AGENCY, Role.OFFICER)
    add_user(catalog, accounts, "used.vp", AGENCY, Role.OFFICER)
    add_user(catalog, accounts, "qlvb.vp", AGENCY, Role.VAN_THU, kind=AccountKind.SYSTEM)
    clock.advance(days=1)
    with catalog.session() as session:
        accounts.record_login(session, "used.vp")
        accounts.password_changed(session, "used.vp")
        assert not get_user(session, "used.vp").must_change_password
    clock.now = T0 + timedelta(days=29, hours=23)
    with catalog.session() as session:
        assert accounts.apply_inactivity_locks(session) == []
    clock.now = T0 + timedelta(days=30)
    with catalog.session() as session:
        assert [row.username for row in accounts.apply_inactivity_locks(session)] == ["never.vp"]
        assert get_user(session, "never.vp").lock_reason == LockReason.UNUSED_SINCE_ISSUE
        with refused("AU-UNUSABLE"):
            accounts.record_login(session, "never.vp")
    clock.now = T0 + timedelta(days=1 + 59)
    with catalog.session() as session:
        assert accounts.apply_inactivity_locks(session) == []
    clock.now = T0 + timedelta(days=1 + 60)
    with catalog.session() as session:
        assert [row.username for row in accounts.apply_inactivity_locks(session)] == ["used.vp"]
        assert get_user(session, "used.vp").lock_reason == LockReason.INACTIVE
        assert get_user(session, "qlvb.vp").usable
    assert roles_of(catalog, "used.vp", AGENCY, clock.now) == set()


def test_staff_leaving_ends_their_delegations(catalog: Catalog, accounts: Accounts, clock: ManualClock) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "phocp.vp", AGENCY, Role.OFFICER)
    delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD, days=30)
    clock.advance(days=2)
    with catalog.session() as session:
        accounts.staff_left(session, actor=SYSTEM_ACTOR, username="hungtv.vp", note="Nghỉ hưu")
        left = get_user(session, "hungtv.vp")
        assert not left.active and left.locked and left.lock_reason == LockReason.STAFF_LEFT
        data = user_to_dict(session, left, at=clock.now)
    assert data["delegations"][0]["revoked_at"] is not None
    assert roles_of(catalog, "phocp.vp", AGENCY, clock.now) == {Role.OFFICER}


def test_every_account_change_is_audited(catalog: Catalog, accounts: Accounts, audit: AuditLog) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "phocp.vp", AGENCY)
    delegation = delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD)
    with catalog.session() as session:
        accounts.revoke_delegation(session, actor="hungtv.vp", delegation_id=delegation)
        accounts.lock(session, actor=SYSTEM_ACTOR, username="phocp.vp", reason=LockReason.ADMINISTRATIVE)
    entries = audit.entries()
    assert [entry.action for entry in entries] == [
        "user.create", "role.grant", "user.create", "delegation.create", "delegation.revoke", "user.lock",
    ]
    created = entries[3]
    assert created.actor == "hungtv.vp" and created.object_id == str(delegation)
    assert created.details["delegate"] == "phocp.vp" and created.details["reason"] == "Đi công tác"
    # A refused change leaves no trace.
    with catalog.session() as session, refused("AU-NOT-ADMIN"):
        accounts.grant_role(session, actor="hungtv.vp", username="phocp.vp", role=Role.OFFICER, agency_code=AGENCY)
    assert len(audit.entries()) == len(entries)
    assert audit.verify().ok


def test_user_description_for_the_command_line(catalog: Catalog, accounts: Accounts) -> None:
    add_user(catalog, accounts, "hungtv.vp", AGENCY, Role.AGENCY_HEAD)
    add_user(catalog, accounts, "phocp.vp", AGENCY, Role.OFFICER)
    delegate(catalog, accounts, "hungtv.vp", "phocp.vp", Role.AGENCY_HEAD)
    with catalog.session(readonly=True) as session:
        data = user_to_dict(session, get_user(session, "phocp.vp"), at=T0)
    assert data["username"] == "phocp.vp" and data["must_change_password"]
    assert [(role["role"], role["in_force"]) for role in data["roles"]] == [("officer", True)]
    assert data["delegations"][0]["delegator"] == "hungtv.vp"
    text = user_text_vi(data)
    assert "Cán bộ tra cứu" in text and "Ủy quyền" in text and "hungtv.vp → phocp.vp" in text
