"""The destruction workflow (R-DS-1, R-RT-4, R-AU-1/2) on SQLite and PostgreSQL.

Every path of the state machine, separation of duties through delegation, holds
found mid-way, the 15-day execution deadline, and the audit trail of each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from archive_core.accounts import SYSTEM_ACTOR, AccountKind, Accounts, LockReason, Role
from archive_core.audit import AuditLog
from archive_core.catalog import Base, Catalog, DossierRow, DossierState, repo
from archive_core.catalog.retention_models import DueListKind, HoldScope
from archive_core.destruction_policy import AgencyPolicy, Approval, CouncilRule, DestructionPolicy
from archive_core.model import Dossier, DossierKind
from archive_core.timeutil import VN_TZ
from preservation.destruction.commands import DestructionCommands, error_result
from preservation.destruction.errors import WorkflowError
from preservation.destruction.models import (
    Capacity,
    DestructionItemRow,
    DestructionListRow,
    ItemState,
    ListState,
    Opinion,
    TransitionRow,
)
from preservation.destruction.workflow import (
    MACHINE,
    Action,
    ExecutionOrder,
    ExecutionReport,
    ItemOutcome,
    ItemResult,
    ReviewVerdict,
    Workflow,
    hold_reasons,
    run_execution,
)
from preservation.retention.due import due_list_in, store_due_list
from preservation.retention.holds import place_hold, release_hold

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=VN_TZ)
AGENCY = "H49.01"
OTHER = "H49.02"
SNV = "H49.SNV"
CODES = [f"{AGENCY}.2010.0{n}" for n in range(1, 5)]
MEMBERS = ["an.hd", "binh.hd", "cuong.hd"]
MY_TABLES = {
    "users", "role_assignments", "delegations", "destruction_lists", "destruction_items",
    "destruction_council_members", "destruction_transitions", "destruction_opinions",
}


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    catalog: Catalog
    audit: AuditLog
    clock: ManualClock
    accounts: Accounts
    workflow: Workflow

    def step(self, name: str, *args: Any, **kwargs: Any) -> DestructionListRow:
        with self.catalog.session() as session:
            result: DestructionListRow = getattr(self.workflow, name)(session, *args, **kwargs)
            return result

    def refused(self, code: str, name: str, *args: Any, **kwargs: Any) -> WorkflowError:
        """The step is refused with `code` and leaves no transition and no audit entry behind."""
        before = (self.count(TransitionRow), len(self.audit.entries(limit=100_000)))
        with pytest.raises(WorkflowError) as caught:
            self.step(name, *args, **kwargs)
        assert caught.value.code == code, caught.value.message_en
        assert caught.value.message_vi and caught.value.message_en
        assert (self.count(TransitionRow), len(self.audit.entries(limit=100_000))) == before
        return caught.value

    def count(self, table: type[Any]) -> int:
        with self.catalog.session(readonly=True) as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)

    def state(self, code: str) -> ListState:
        with self.catalog.session(readonly=True) as session:
            return self.workflow.get(session, code).state

    def items(self, code: str) -> dict[str, ItemState]:
        with self.catalog.session(readonly=True) as session:
            return {item.dossier_code or "": item.state for item in self.workflow.get(session, code).items}

    def history(self, code: str) -> list[TransitionRow]:
        with self.catalog.session(readonly=True) as session:
            lst = self.workflow.get(session, code)
            return list(session.scalars(
                select(TransitionRow).where(TransitionRow.list_id == lst.id).order_by(TransitionRow.seq)
            ))

    def actions(self, code: str) -> list[str]:
        return [row.action for row in self.history(code)]

    def dossier(self, code: str) -> DossierRow:
        with self.catalog.session(readonly=True) as session:
            rows = repo.dossiers_by_code(session, code)
            assert len(rows) == 1
            return rows[0]

    def hold(self, code: str) -> int:
        """A legal hold on one dossier, placed through the retention module (R-RT-4)."""
        with self.catalog.session() as session:
            dossier = repo.dossiers_by_code(session, code)[0]
            return place_hold(session, scope=HoldScope.DOSSIER, reason="Thanh tra đang xác minh",
                              owner="Thanh tra tỉnh", audit=self.audit, dossiers=[dossier], clock=self.clock).id

    def release(self, hold_id: int) -> None:
        with self.catalog.session() as session:
            release_hold(session, hold_id, by="thanhtra.tinh", audit=self.audit, reason="Kết thúc xác minh",
                         clock=self.clock)

    def user(self, username: str, agency: str, *roles: Role, role_agency: str | None = None,
             kind: AccountKind = AccountKind.PERSON) -> None:
        with self.catalog.session() as session:
            self.accounts.create_user(session, actor=SYSTEM_ACTOR, username=username, full_name=username,
                                      agency_code=agency, kind=kind)
            for role in roles:
                self.accounts.grant_role(session, actor=SYSTEM_ACTOR, username=username, role=role,
                                         agency_code=role_agency or agency)

    def grant(self, username: str, role: Role, agency: str = AGENCY) -> None:
        with self.catalog.session() as session:
            self.accounts.grant_role(session, actor=SYSTEM_ACTOR, username=username, role=role, agency_code=agency)

    def delegate(self, delegator: str, delegate: str, role: Role, *, days: float = 10,
                 start: datetime | None = None, agency: str = AGENCY) -> int:
        begin = start or self.clock.now
        with self.catalog.session() as session:
            return self.accounts.delegate(
                session, actor=delegator, delegator=delegator, delegate=delegate, role=role, agency_code=agency,
                valid_from=begin, valid_until=begin + timedelta(days=days), reason="Đi công tác",
            ).id

    def with_policy(self, policy: DestructionPolicy) -> World:
        workflow = Workflow(self.audit, policy, clock=self.clock)
        return World(self.catalog, self.audit, self.clock, self.accounts, workflow)


def add_dossier(
    catalog: Catalog, code: str, *, agency: str = AGENCY, end: str = "31/12/2010", maintenance: str = "10 năm",
    state: DossierState = DossierState.ARCHIVED, aip: str | None = None,
) -> int:
    dossier = Dossier(kind=DossierKind.HOSO, file_code=code, title=f"Hồ sơ {code}", maintenance=maintenance,
                      start_date="01/01/2010", end_date=end)
    with catalog.session() as session:
        row = repo.add_dossier(session, dossier, aip_id=aip or f"aip-{code}", agency_code=agency,
                               agency_name="Văn phòng UBND tỉnh", clock=lambda: T0)
        row.state = state
        row.archived_at = T0 if state == DossierState.ARCHIVED else None
        return row.id


@pytest.fixture
def world(catalog: Catalog, tmp_path: Path) -> World:
    clock = ManualClock(T0)
    audit = AuditLog(catalog, tmp_path / "audit-anchors", clock=clock)
    policy = DestructionPolicy(default=AgencyPolicy(so_noi_vu_review=True, council=CouncilRule(min_members=3)))
    accounts = Accounts(audit, clock=clock)
    people = [
        ("lanpt.vp", AGENCY, Role.ARCHIVIST, AGENCY), ("hoangnv.vp", AGENCY, Role.ARCHIVIST, AGENCY),
        *((member, AGENCY, Role.COUNCIL_MEMBER, AGENCY) for member in [*MEMBERS, "dung.hd"]),
        ("hungtv.vp", AGENCY, Role.AGENCY_HEAD, AGENCY), ("phocp.vp", AGENCY, Role.AGENCY_HEAD, AGENCY),
        ("thu.vp", AGENCY, Role.OFFICER, AGENCY), ("minhlq.snv", SNV, Role.SO_NOI_VU, "*"),
    ]
    with catalog.session() as session:  # one transaction: the fixture stays fast
        for username, agency, role, scope in people:
            accounts.create_user(session, actor=SYSTEM_ACTOR, username=username, full_name=username,
                                 agency_code=agency)
            accounts.grant_role(session, actor=SYSTEM_ACTOR, username=username, role=role, agency_code=scope)
    for code in CODES:
        add_dossier(catalog, code)
    return World(catalog, audit, clock, accounts, Workflow(audit, policy, clock=clock))


# ---------------------------------------------------------------- paths through the machine


def propose(w: World, dossiers: Sequence[str | int] = tuple(CODES), actor: str = "lanpt.vp") -> str:
    return w.step("propose", actor, agency_code=AGENCY, dossiers=list(dossiers), comment="Hết thời hạn bảo quản").code


def to_council(w: World, dossiers: Sequence[str] = tuple(CODES), members: Sequence[str] = tuple(MEMBERS)) -> str:
    code = propose(w, dossiers)
    w.step("submit", code, "lanpt.vp", members=list(members))
    return code


def council_agrees(w: World, code: str, members: Sequence[str] = tuple(MEMBERS)) -> None:
    for member in members:
        if w.state(code) != ListState.COUNCIL_REVIEW:
            break
        w.step("give_opinion", code, member, Opinion.AGREE)


def to_head(w: World, dossiers: Sequence[str] = tuple(CODES)) -> str:
    code = to_council(w, dossiers)
    council_agrees(w, code)
    w.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE, comment="Đồng ý")
    assert w.state(code) == ListState.HEAD_DECISION
    return code


def to_approved(w: World, dossiers: Sequence[str] = tuple(CODES)) -> str:
    code = to_head(w, dossiers)
    w.step("decide", code, "hungtv.vp", approve=True)
    return code


class FakeExecutor:
    """Destroys nothing real; re-checks holds like a real executor must and can fail on demand."""

    def __init__(self, catalog: Catalog, *, fail: Sequence[str] = (), error: bool = False,
                 before: Callable[[], object] | None = None) -> None:
        self.catalog, self.fail, self.error, self.before = catalog, set(fail), error, before
        self.orders: list[ExecutionOrder] = []

    def execute(self, order: ExecutionOrder) -> ExecutionReport:
        self.orders.append(order)
        if self.before is not None:
            self.before()
        if self.error:
            raise OSError("storage unreachable")
        results = []
        with self.catalog.session(readonly=True) as session:
            for item in order.items:
                dossier = session.get(DossierRow, item.dossier_id)
                assert dossier is not None and dossier.state == DossierState.DESTROYING
                if hold_reasons(session, dossier):
                    results.append(ItemResult(item.dossier_id, ItemOutcome.HELD, "legal hold"))
                elif item.dossier_code in self.fail:
                    results.append(ItemResult(item.dossier_id, ItemOutcome.FAILED, "copy-2 unreachable"))
                else:
                    results.append(ItemResult(item.dossier_id, ItemOutcome.DESTROYED, "", {"copies": 2}))
        return ExecutionReport(tuple(results), started_at=order.started_at, finished_at=order.started_at)


def execute(w: World, code: str, executor: FakeExecutor | None = None, actor: str = "lanpt.vp") -> ExecutionReport:
    _, report = run_execution(w.catalog, w.workflow, code, actor, executor or FakeExecutor(w.catalog))
    return report


def assert_audited(w: World, code: str) -> None:
    """Every stored step has its audit entry (same seq, actor, action), and the log verifies."""
    steps = w.history(code)
    entries = w.audit.entries(object_type="destruction_list", object_id=code, limit=100_000)
    assert [(entry.seq, entry.actor, entry.action) for entry in entries] == [
        (row.audit_seq, row.actor, f"destruction.{row.action}") for row in steps
    ]
    for entry, row in zip(entries, steps, strict=True):
        assert entry.details["to"] == row.to_state.value
        assert entry.details["on_behalf_of"] == row.on_behalf_of
    report = w.audit.verify()
    assert report.ok, report.message_en


# ---------------------------------------------------------------- schema


def test_migration_matches_the_models(catalog_url: str) -> None:
    # The imports at the top (accounts, retention and destruction models) registered every table in Base.metadata.
    with Catalog(catalog_url) as catalog:
        catalog.migrate("0003_workflow")  # this branch alone, without the retention branch
        with catalog.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) >= MY_TABLES
        catalog.migrate()
        with catalog.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [diff for diff in differences if _touches(diff, MY_TABLES)]
    assert mine == []


def _touches(diff: Any, tables: set[str]) -> bool:
    text = repr(diff)
    return any(f"'{table}'" in text or f"Table('{table}'" in text for table in tables)


def test_the_database_keeps_a_dossier_on_one_open_list(world: World) -> None:
    code = propose(world, CODES[:1])
    dossier_id = world.dossier(CODES[0]).id
    with pytest.raises(IntegrityError), world.catalog.session() as session:
        other = DestructionListRow(
            code="HUY-X", agency_code=AGENCY, title="x", state=ListState.PROPOSED, round=1, policy={},
            so_noi_vu_required=True, proposed_by_id=world.workflow.get(session, code).proposed_by_id,
            proposed_at=T0, updated_at=T0,
        )
        session.add(other)
        session.flush()
        session.add(DestructionItemRow(list_id=other.id, position=0, dossier_id=dossier_id,
                                       state=ItemState.INCLUDED, changed_at=T0))
        session.flush()


def test_the_machine_is_closed() -> None:
    """Every target of every transition is a state, and terminal states have no way out but none."""
    for action, moves in MACHINE.items():
        for source, targets in moves.items():
            assert source is None or isinstance(source, ListState)
            assert targets, action
            assert not (source is not None and source.terminal), (action, source)


# ---------------------------------------------------------------- approval paths


def test_approval_with_so_noi_vu_review_and_execution(world: World) -> None:
    code = propose(world)
    assert world.state(code) == ListState.PROPOSED
    world.step("submit", code, "lanpt.vp", members=MEMBERS)
    assert world.state(code) == ListState.COUNCIL_REVIEW
    world.step("give_opinion", code, "an.hd", Opinion.AGREE)
    assert world.state(code) == ListState.COUNCIL_REVIEW
    world.clock.advance(hours=2)
    world.step("give_opinion", code, "binh.hd", Opinion.AGREE, comment="Đúng danh mục")
    # Two of three agree on every dossier: the majority is reached and the council concludes.
    assert world.state(code) == ListState.SO_NOI_VU_REVIEW
    world.refused("DS-STATE", "give_opinion", code, "cuong.hd", Opinion.AGREE)
    world.clock.advance(days=3)
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    assert world.state(code) == ListState.HEAD_DECISION
    world.clock.advance(days=2)
    lst = world.step("decide", code, "hungtv.vp", approve=True, comment="Đồng ý hủy")
    assert lst.state == ListState.APPROVED
    assert lst.decided_at == world.clock.now
    assert lst.execution_deadline == world.clock.now + timedelta(days=15)
    assert set(world.items(code).values()) == {ItemState.APPROVED}

    world.clock.advance(days=1)
    executor = FakeExecutor(world.catalog)
    report = execute(world, code, executor)
    assert [result.outcome for result in report.results] == [ItemOutcome.DESTROYED] * 4
    order = executor.orders[0]
    assert order.decided_by == "hungtv.vp" and order.executor == "lanpt.vp" and not order.retry
    assert [item.dossier_code for item in order.items] == CODES
    assert world.state(code) == ListState.EXECUTED
    assert set(world.items(code).values()) == {ItemState.DESTROYED}
    assert all(world.dossier(dossier).state == DossierState.DESTROYED for dossier in CODES)
    assert world.actions(code) == [
        "propose", "submit", "opinion", "opinion", "council_conclude", "review_approve", "decide_approve",
        "start_execution", "finish_execution",
    ]
    _assert_capacities_disjoint(world, code)
    assert_audited(world, code)


def _assert_capacities_disjoint(world: World, code: str) -> None:
    """No person appears in two capacities (proposer and executor excepted)."""
    seen: dict[Capacity, set[int]] = {}
    for row in world.history(code):
        key = Capacity.PROPOSER if row.capacity == Capacity.EXECUTOR else row.capacity
        seen.setdefault(key, set()).update(row.persons)
    seen.pop(Capacity.SYSTEM, None)
    capacities = list(seen)
    for index, first in enumerate(capacities):
        for second in capacities[index + 1:]:
            assert not seen[first] & seen[second], (first, second)
    assert len(seen) >= 3


def test_approval_without_so_noi_vu_review(world: World) -> None:
    direct = world.with_policy(DestructionPolicy(default=AgencyPolicy(so_noi_vu_review=False)))
    code = to_council(direct)
    council_agrees(direct, code)
    assert direct.state(code) == ListState.HEAD_DECISION
    direct.refused("DS-STATE", "review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    direct.step("decide", code, "hungtv.vp", approve=True)
    execute(direct, code)
    assert direct.state(code) == ListState.EXECUTED
    assert "review_approve" not in direct.actions(code)
    assert_audited(direct, code)
    # The code lives on in the destroyed dossier's stub; a new holding with the same code can be listed.
    reused = add_dossier(direct.catalog, CODES[0], aip="aip-reused")
    again = propose(direct, [CODES[0]])
    with direct.catalog.session(readonly=True) as session:
        assert [item.dossier_id for item in direct.workflow.get(session, again).items] == [reused]


def test_the_rules_of_a_list_are_those_it_was_proposed_under(world: World) -> None:
    code = to_council(world)
    later = world.with_policy(DestructionPolicy(default=AgencyPolicy(so_noi_vu_review=False)))
    council_agrees(later, code)
    assert later.state(code) == ListState.SO_NOI_VU_REVIEW


# ---------------------------------------------------------------- the council


def test_the_council_excludes_a_dossier_which_returns_to_normal_retention(world: World) -> None:
    code = to_council(world)
    world.refused("DS-COMMENT", "give_opinion", code, "binh.hd", Opinion.DISAGREE, dossiers=[CODES[0]])
    world.step("give_opinion", code, "an.hd", Opinion.AGREE)
    world.step("give_opinion", code, "binh.hd", Opinion.DISAGREE, dossiers=[CODES[0]],
               comment="Còn giá trị tra cứu")
    world.step("give_opinion", code, "binh.hd", Opinion.AGREE, dossiers=CODES[1:])
    assert world.state(code) == ListState.COUNCIL_REVIEW
    world.step("give_opinion", code, "cuong.hd", Opinion.DISAGREE, dossiers=[CODES[0]], comment="Giữ lại")
    assert world.state(code) == ListState.SO_NOI_VU_REVIEW
    items = world.items(code)
    assert items[CODES[0]] == ItemState.EXCLUDED
    assert {items[dossier] for dossier in CODES[1:]} == {ItemState.INCLUDED}
    conclusion = world.history(code)[-1]
    assert conclusion.action == "council_conclude" and conclusion.actor == "cuong.hd"
    assert conclusion.details["excluded"][0]["code"] == CODES[0]
    # Back to normal retention: still archived, and it may go on another list.
    assert world.dossier(CODES[0]).state == DossierState.ARCHIVED
    again = propose(world, [CODES[0]], actor="hoangnv.vp")
    assert world.items(again) == {CODES[0]: ItemState.INCLUDED}
    world.refused("DS-ON-OTHER-LIST", "propose", "hoangnv.vp", agency_code=AGENCY, dossiers=[CODES[1]])
    assert_audited(world, code)


def test_a_unanimous_council_lets_one_member_keep_a_dossier(world: World) -> None:
    strict = world.with_policy(DestructionPolicy(default=AgencyPolicy(
        so_noi_vu_review=False, council=CouncilRule(approval=Approval.UNANIMOUS))))
    code = to_council(strict)
    strict.step("give_opinion", code, "an.hd", Opinion.DISAGREE, dossiers=[CODES[2]], comment="Cần giữ")
    strict.step("give_opinion", code, "binh.hd", Opinion.AGREE)
    assert strict.state(code) == ListState.COUNCIL_REVIEW
    strict.step("give_opinion", code, "cuong.hd", Opinion.AGREE)
    # an.hd never gave an opinion on the other dossiers: unanimity needs it.
    assert strict.state(code) == ListState.COUNCIL_REVIEW
    strict.step("give_opinion", code, "an.hd", Opinion.AGREE, dossiers=[CODES[0], CODES[1], CODES[3]])
    assert strict.state(code) == ListState.HEAD_DECISION
    assert strict.items(code)[CODES[2]] == ItemState.EXCLUDED


def test_a_member_may_change_their_opinion_before_the_council_concludes(world: World) -> None:
    code = to_council(world)
    world.step("give_opinion", code, "an.hd", Opinion.DISAGREE, comment="Chưa rõ")
    world.step("give_opinion", code, "an.hd", Opinion.AGREE)
    world.step("give_opinion", code, "binh.hd", Opinion.AGREE)
    assert world.state(code) == ListState.SO_NOI_VU_REVIEW
    assert set(world.items(code).values()) == {ItemState.INCLUDED}


def test_a_council_that_agrees_to_nothing_rejects_the_list(world: World) -> None:
    code = to_council(world)
    world.step("give_opinion", code, "an.hd", Opinion.DISAGREE, comment="Còn giá trị")
    world.step("give_opinion", code, "cuong.hd", Opinion.DISAGREE, comment="Còn giá trị")
    assert world.state(code) == ListState.REJECTED
    assert set(world.items(code).values()) == {ItemState.EXCLUDED}
    assert all(world.dossier(dossier).state == DossierState.ARCHIVED for dossier in CODES)
    world.refused("DS-STATE", "cancel", code, "lanpt.vp", comment="x")
    assert_audited(world, code)


def test_council_designation_rules(world: World) -> None:
    code = propose(world, CODES[1:])
    world.refused("DS-COUNCIL-SIZE", "submit", code, "lanpt.vp", members=["an.hd", "binh.hd", "an.hd"])
    world.refused("DS-MEMBER-ROLE", "submit", code, "lanpt.vp", members=["an.hd", "binh.hd", "thu.vp"])
    world.refused("DS-MEMBER-ROLE", "submit", code, "lanpt.vp", members=["an.hd", "binh.hd", "nobody.vp"])
    world.refused("DS-COUNCIL-SIZE", "submit", code, "lanpt.vp")  # no default members configured
    # Two members tied by a delegation would be one will with two votes.
    world.delegate("binh.hd", "an.hd", Role.COUNCIL_MEMBER)
    world.refused("DS-SEPARATION", "submit", code, "lanpt.vp", members=MEMBERS)
    # The agency's configured members are designated by default (for lists proposed under that rule).
    configured = world.with_policy(DestructionPolicy(default=AgencyPolicy(
        council_members=["cuong.hd", "dung.hd", "an.hd"])))
    other = propose(configured, CODES[:1], actor="hoangnv.vp")
    configured.refused("DS-COUNCIL-SIZE", "submit", code, "lanpt.vp")
    lst = configured.step("submit", other, "hoangnv.vp")
    assert lst.state == ListState.COUNCIL_REVIEW
    shown = DestructionCommands(configured.catalog, configured.workflow).show(other).data
    assert shown["council"] == [{"round": 1, "members": ["cuong.hd", "dung.hd", "an.hd"]}]
    configured.refused("DS-NOT-DESIGNATED", "give_opinion", other, "binh.hd", Opinion.AGREE)


# ---------------------------------------------------------------- Sở Nội vụ and head


def test_so_noi_vu_returns_the_list_for_a_new_council_round(world: World) -> None:
    code = to_council(world)
    council_agrees(world, code)
    world.refused("DS-COMMENT", "review", code, "minhlq.snv", ReviewVerdict.RETURN)
    world.step("review", code, "minhlq.snv", ReviewVerdict.RETURN, comment="Bổ sung thuyết minh")
    lst = world.step("withdraw", code, "lanpt.vp", [CODES[3]], comment="Theo ý kiến Sở Nội vụ")
    assert lst.state == ListState.PROPOSED and lst.round == 2
    world.refused("DS-EMPTY", "withdraw", code, "lanpt.vp", CODES[:3], comment="x")
    world.step("submit", code, "lanpt.vp", members=["an.hd", "binh.hd", "dung.hd"])
    # Opinions of round 1 do not count in round 2.
    with world.catalog.session(readonly=True) as session:
        lst = world.workflow.get(session, code)
        assert set(world.workflow.council_tally(session, lst).values()) == {(0, 0)}
    world.step("give_opinion", code, "dung.hd", Opinion.AGREE)
    world.step("give_opinion", code, "binh.hd", Opinion.AGREE)
    assert world.state(code) == ListState.SO_NOI_VU_REVIEW
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE, excluded=[CODES[2]], comment="Giữ hồ sơ 3")
    world.step("decide", code, "hungtv.vp", approve=True)
    assert world.items(code) == {
        CODES[0]: ItemState.APPROVED, CODES[1]: ItemState.APPROVED, CODES[2]: ItemState.EXCLUDED,
        CODES[3]: ItemState.WITHDRAWN,
    }
    data = DestructionCommands(world.catalog, world.workflow).show(code).data
    assert data["council"] == [{"round": 1, "members": MEMBERS}, {"round": 2, "members": ["an.hd", "binh.hd",
                                                                                        "dung.hd"]}]
    assert_audited(world, code)


def test_so_noi_vu_rejects_the_list(world: World) -> None:
    code = to_council(world)
    council_agrees(world, code)
    world.step("review", code, "minhlq.snv", ReviewVerdict.REJECT, comment="Chưa đủ căn cứ")
    assert world.state(code) == ListState.REJECTED
    assert set(world.items(code).values()) == {ItemState.REJECTED}
    assert_audited(world, code)


def test_the_head_rejects_the_whole_list(world: World) -> None:
    code = to_head(world)
    world.refused("DS-COMMENT", "decide", code, "hungtv.vp", approve=False)
    world.step("decide", code, "hungtv.vp", approve=False, comment="Chưa hủy năm nay")
    assert world.state(code) == ListState.REJECTED
    assert set(world.items(code).values()) == {ItemState.REJECTED}
    world.refused("DS-STATE", "start_execution", code, "lanpt.vp")
    assert all(world.dossier(dossier).state == DossierState.ARCHIVED for dossier in CODES)
    assert propose(world, CODES, actor="hoangnv.vp")  # back to normal retention
    assert_audited(world, code)


def test_the_head_rejects_one_dossier(world: World) -> None:
    code = to_head(world)
    world.refused("DS-COMMENT", "decide", code, "hungtv.vp", approve=True, rejected=[CODES[1]])
    world.refused("DS-DECISION", "decide", code, "hungtv.vp", approve=True, rejected=CODES, comment="x")
    world.refused("DS-NOT-ON-LIST", "decide", code, "hungtv.vp", approve=True, rejected=["H49.99.1"], comment="x")
    world.step("decide", code, "hungtv.vp", approve=True, rejected=[CODES[1]], comment="Còn vụ việc liên quan")
    items = world.items(code)
    assert items[CODES[1]] == ItemState.REJECTED
    executor = FakeExecutor(world.catalog)
    execute(world, code, executor)
    assert [item.dossier_code for item in executor.orders[0].items] == [CODES[0], CODES[2], CODES[3]]
    assert world.dossier(CODES[1]).state == DossierState.ARCHIVED
    assert world.state(code) == ListState.EXECUTED
    assert_audited(world, code)


# ---------------------------------------------------------------- holds (R-RT-4)


def test_a_hold_placed_mid_way_takes_the_dossier_off_at_the_next_step(world: World) -> None:
    code = to_council(world)
    world.step("give_opinion", code, "an.hd", Opinion.AGREE)
    hold = world.hold(CODES[1])
    world.step("give_opinion", code, "binh.hd", Opinion.AGREE)
    steps = world.history(code)
    assert [row.action for row in steps[-3:]] == ["hold_removed", "opinion", "council_conclude"]
    removal = steps[-3]
    assert removal.actor == SYSTEM_ACTOR and removal.details["triggered_by"] == "binh.hd"
    assert removal.details["dossiers"][0]["code"] == CODES[1]
    assert world.items(code)[CODES[1]] == ItemState.HELD
    review = world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    assert review.state == ListState.HEAD_DECISION
    world.release(hold)
    # Released, it is in normal retention again and can be listed anew.
    assert propose(world, [CODES[1]], actor="hoangnv.vp")
    assert_audited(world, code)


def test_a_hold_after_approval_is_found_when_execution_starts(world: World) -> None:
    code = to_approved(world)
    world.hold(CODES[0])
    executor = FakeExecutor(world.catalog)
    execute(world, code, executor)
    assert [item.dossier_code for item in executor.orders[0].items] == CODES[1:]
    assert world.items(code)[CODES[0]] == ItemState.HELD
    assert world.dossier(CODES[0]).state == DossierState.ARCHIVED
    assert world.state(code) == ListState.EXECUTED
    assert world.actions(code)[-3:] == ["hold_removed", "start_execution", "finish_execution"]
    assert_audited(world, code)


def test_the_executor_checks_holds_again_at_the_moment_of_execution(world: World) -> None:
    code = to_approved(world)
    executor = FakeExecutor(world.catalog, before=lambda: world.hold(CODES[2]))
    execute(world, code, executor)
    assert CODES[2] in [item.dossier_code for item in executor.orders[0].items]
    assert world.items(code)[CODES[2]] == ItemState.HELD
    assert world.dossier(CODES[2]).state == DossierState.ARCHIVED
    assert world.dossier(CODES[0]).state == DossierState.DESTROYED
    assert world.state(code) == ListState.EXECUTED
    assert_audited(world, code)


def test_holds_on_every_dossier_cancel_the_list(world: World) -> None:
    code = to_head(world, CODES[:2])
    world.hold(CODES[0])
    world.hold(CODES[1])
    lst = world.step("decide", code, "hungtv.vp", approve=True)
    assert lst.state == ListState.CANCELLED
    assert world.actions(code)[-2:] == ["hold_removed", "emptied"]
    assert "decide_approve" not in world.actions(code)
    assert set(world.items(code).values()) == {ItemState.HELD}
    assert_audited(world, code)


def test_an_agency_hold_or_a_stale_flag_stops_destruction(world: World) -> None:
    code = to_approved(world, CODES[:2])
    with world.catalog.session() as session:
        place_hold(session, scope=HoldScope.AGENCY, code=AGENCY, reason="Kiểm toán nhà nước", owner="KTNN",
                   audit=world.audit, clock=world.clock)
    order = world.step("start_execution", code, "lanpt.vp")
    assert isinstance(order, ExecutionOrder) and order.items == ()
    assert world.state(code) == ListState.CANCELLED
    assert "Kiểm toán nhà nước" in (_notes(world, code)[CODES[0]] or "")
    # A flag left set without any hold still blocks: when in doubt, nothing is destroyed.
    other = add_dossier(world.catalog, "H49.02.2010.01", agency=OTHER)
    with world.catalog.session() as session:
        row = session.get_one(DossierRow, other)
        assert hold_reasons(session, row) == []
        repo.set_legal_hold(session, row, True)
        assert hold_reasons(session, row) == ["dossiers.legal_hold"]


def _notes(world: World, code: str) -> dict[str, str | None]:
    with world.catalog.session(readonly=True) as session:
        return {item.dossier_code or "": item.note for item in world.workflow.get(session, code).items}


# ---------------------------------------------------------------- execution deadline


def test_an_approval_expires_after_15_days_and_must_be_decided_again(world: World) -> None:
    code = to_approved(world)
    decided = world.clock.now
    world.clock.now = decided + timedelta(days=15, seconds=1)
    world.refused("DS-EXPIRED", "start_execution", code, "lanpt.vp")
    data = DestructionCommands(world.catalog, world.workflow).show(code).data
    assert data["overdue"] and data["attention"]
    with world.catalog.session() as session:
        assert [lst.code for lst in world.workflow.expire_overdue(session)] == [code]
    assert world.state(code) == ListState.HEAD_DECISION
    assert set(world.items(code).values()) == {ItemState.INCLUDED}
    expiry = world.history(code)[-1]
    assert expiry.action == "expire" and expiry.actor == SYSTEM_ACTOR
    assert expiry.details["decided_by"] == "hungtv.vp"
    with world.catalog.session() as session:
        assert world.workflow.expire_overdue(session) == []
    lst = world.step("decide", code, "hungtv.vp", approve=True, comment="Quyết định lại")
    assert lst.execution_deadline == world.clock.now + timedelta(days=15)
    world.clock.advance(days=15)  # the last moment still counts
    execute(world, code)
    assert world.state(code) == ListState.EXECUTED
    assert_audited(world, code)


def test_an_overdue_list_is_expired_by_the_next_decision(world: World) -> None:
    code = to_approved(world)
    world.clock.advance(days=20)
    lst = world.step("decide", code, "phocp.vp", approve=True, comment="Quyết định lại")
    assert lst.state == ListState.APPROVED
    assert world.actions(code)[-2:] == ["expire", "decide_approve"]
    assert_audited(world, code)


# ---------------------------------------------------------------- cancellation and failures


def test_cancellation(world: World) -> None:
    code = to_council(world)
    world.refused("DS-COMMENT", "cancel", code, "lanpt.vp", comment="  ")
    world.refused("DS-ROLE", "cancel", code, "thu.vp", comment="x")
    world.step("cancel", code, "hoangnv.vp", comment="Lập lại danh mục")
    assert world.state(code) == ListState.CANCELLED
    assert set(world.items(code).values()) == {ItemState.CANCELLED}
    world.refused("DS-STATE", "give_opinion", code, "an.hd", Opinion.AGREE)
    approved = to_approved(world)
    world.step("cancel", approved, "phocp.vp", comment="Thủ trưởng thu hồi quyết định")
    assert world.state(approved) == ListState.CANCELLED
    assert_audited(world, code)
    assert_audited(world, approved)


def test_a_list_being_executed_cannot_be_cancelled(world: World) -> None:
    code = to_approved(world)
    with world.catalog.session() as session:
        world.workflow.start_execution(session, code, "lanpt.vp")
    world.refused("DS-STATE", "cancel", code, "hungtv.vp", comment="x")
    world.refused("DS-STATE", "start_execution", code, "lanpt.vp")
    world.refused("DS-REPORT", "finish_execution", code, "lanpt.vp",
                  ExecutionReport((ItemResult(999_999, ItemOutcome.DESTROYED),)))
    # An interrupted run is closed by recording an empty report: every item failed, visibly.
    world.step("finish_execution", code, "lanpt.vp", ExecutionReport(results=()))
    assert world.state(code) == ListState.PARTIALLY_DESTROYED
    assert_audited(world, code)


def test_a_partial_destruction_is_flagged_and_retried(world: World) -> None:
    code = to_approved(world)
    execute(world, code, FakeExecutor(world.catalog, fail=[CODES[1]]))
    assert world.state(code) == ListState.PARTIALLY_DESTROYED
    assert world.items(code)[CODES[1]] == ItemState.FAILED
    assert world.dossier(CODES[1]).state == DossierState.DESTROYING
    commands = DestructionCommands(world.catalog, world.workflow)
    shown = commands.show(code)
    assert shown.data["partially_destroyed"] and shown.data["attention"]
    assert "HỦY CHƯA HOÀN TẤT" in shown.text
    assert [row["code"] for row in commands.lists(agency_code=AGENCY).data["lists"] if row["attention"]] == [code]
    world.refused("DS-STATE", "cancel", code, "lanpt.vp", comment="x")
    world.clock.advance(days=30)  # retries are not bound by the deadline
    retry = FakeExecutor(world.catalog)
    execute(world, code, retry)
    assert retry.orders[0].retry and [item.dossier_code for item in retry.orders[0].items] == [CODES[1]]
    assert world.state(code) == ListState.EXECUTED
    assert world.dossier(CODES[1]).state == DossierState.DESTROYED
    assert_audited(world, code)


def test_an_executor_error_leaves_every_dossier_failed_and_visible(world: World) -> None:
    code = to_approved(world, CODES[:2])
    report = execute(world, code, FakeExecutor(world.catalog, error=True))
    assert {result.outcome for result in report.results} == {ItemOutcome.FAILED}
    assert world.state(code) == ListState.PARTIALLY_DESTROYED
    assert set(world.items(code).values()) == {ItemState.FAILED}
    world.hold(CODES[0])
    world.hold(CODES[1])
    world.refused("DS-RETRY-HELD", "start_execution", code, "lanpt.vp")
    assert_audited(world, code)


# ---------------------------------------------------------------- proposals


def test_only_destroyable_dossiers_can_be_proposed(world: World) -> None:
    add_dossier(world.catalog, "H49.01.2025.01", end="31/12/2025")
    add_dossier(world.catalog, "H49.01.2010.VV", maintenance="Vĩnh viễn")
    add_dossier(world.catalog, "H49.02.2010.01", agency=OTHER)
    add_dossier(world.catalog, "H49.01.2010.PD", state=DossierState.PENDING)
    world.hold(CODES[3])
    cases = {
        "H49.01.2025.01": "DS-NOT-DUE", "H49.01.2010.VV": "DS-PERMANENT", "H49.02.2010.01": "DS-DOSSIER-AGENCY",
        CODES[3]: "DS-HELD", "H49.99.0000": "DS-DOSSIER-UNKNOWN",
    }
    for dossier, error in cases.items():
        world.refused(error, "propose", "lanpt.vp", agency_code=AGENCY, dossiers=[CODES[0], dossier])
    with world.catalog.session(readonly=True) as session:
        pending_id = session.scalar(select(DossierRow.id).where(DossierRow.file_code == "H49.01.2010.PD"))
    world.refused("DS-DOSSIER-STATE", "propose", "lanpt.vp", agency_code=AGENCY, dossiers=[pending_id])
    world.refused("DS-NO-DOSSIERS", "propose", "lanpt.vp", agency_code=AGENCY, dossiers=[])
    code = propose(world, [CODES[0], world.dossier(CODES[1]).id, CODES[0]])
    assert list(world.items(code)) == CODES[:2]
    world.refused("DS-ON-OTHER-LIST", "propose", "hoangnv.vp", agency_code=AGENCY, dossiers=[CODES[1]])


def test_a_proposal_from_a_stored_due_list(world: World) -> None:
    add_dossier(world.catalog, "H49.02.2010.01", agency=OTHER)
    today = date(2026, 11, 21)
    with world.catalog.session() as session:
        listing = due_list_in(session, today, generated_at=T0)
        due_id = store_due_list(session, listing.due, kind=DueListKind.DUE, as_of=today, horizon=today,
                                notice_days=0, created_by=SYSTEM_ACTOR, clock=world.clock)[0].id
    assert len(listing.due) == 5
    not_listed = add_dossier(world.catalog, "H49.01.2010.05")
    world.hold(CODES[2])  # placed after the due list was made
    commands = DestructionCommands(world.catalog, world.workflow)
    result = commands.propose("lanpt.vp", agency_code=AGENCY, latest_due=True)
    code = result.data["code"]
    assert result.data["due_list_id"] == due_id
    assert list(world.items(code)) == [CODES[0], CODES[1], CODES[3]]
    skipped = world.history(code)[0].details["skipped"]
    assert [(row["code"], row["reason"]) for row in skipped] == [(CODES[2], "DS-HELD")]
    world.refused("DS-NOT-IN-DUE-LIST", "propose", "hoangnv.vp", agency_code=AGENCY, due_list_id=due_id,
                  dossiers=[not_listed])
    world.refused("DS-DUE-LIST", "propose", "hoangnv.vp", agency_code=AGENCY, due_list_id=due_id + 1)
    world.refused("DS-ON-OTHER-LIST", "propose", "hoangnv.vp", agency_code=AGENCY, due_list_id=due_id,
                  dossiers=[CODES[0]])


# ---------------------------------------------------------------- roles and separation of duties


def test_roles_are_checked_for_the_step_and_the_lists_agency(world: World) -> None:
    world.user("qlvb.vp", AGENCY, Role.VAN_THU, kind=AccountKind.SYSTEM)
    world.user("head.other", OTHER, Role.AGENCY_HEAD)
    world.refused("DS-ROLE", "propose", "thu.vp", agency_code=AGENCY, dossiers=CODES)
    world.refused("DS-ROLE", "propose", "head.other", agency_code=AGENCY, dossiers=CODES)
    world.refused("DS-NOT-PERSON", "propose", "qlvb.vp", agency_code=AGENCY, dossiers=CODES)
    world.refused("DS-ROLE", "propose", "nobody.vp", agency_code=AGENCY, dossiers=CODES)
    code = to_council(world)
    world.refused("DS-STATE", "decide", code, "hungtv.vp", approve=True)
    world.refused("DS-ROLE", "give_opinion", code, "hungtv.vp", Opinion.AGREE)
    world.refused("DS-NOT-DESIGNATED", "give_opinion", code, "dung.hd", Opinion.AGREE)
    world.refused("DS-NO-LIST", "give_opinion", "HUY-00000000-NONE", "an.hd", Opinion.AGREE)
    council_agrees(world, code)
    world.refused("DS-ROLE", "review", code, "hungtv.vp", ReviewVerdict.APPROVE)
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    for actor in ("thu.vp", "lanpt.vp", "head.other", "an.hd"):
        error = world.refused("DS-ROLE", "decide", code, actor, approve=True)
        assert actor in error.message_vi


def test_the_proposer_cannot_sit_on_the_council(world: World) -> None:
    world.grant("lanpt.vp", Role.COUNCIL_MEMBER)
    code = propose(world)
    error = world.refused("DS-SEPARATION", "submit", code, "lanpt.vp", members=["lanpt.vp", "an.hd", "binh.hd"])
    assert error.params["prior"] == "proposer" and error.params["capacity"] == "council"
    # Not when another archivist sends the list either.
    world.refused("DS-SEPARATION", "submit", code, "hoangnv.vp", members=["lanpt.vp", "an.hd", "binh.hd"])
    # A council member who sends the list to the council cannot then sit on it.
    world.grant("an.hd", Role.ARCHIVIST)
    world.refused("DS-SEPARATION", "submit", code, "an.hd", members=MEMBERS)


def test_the_proposer_cannot_decide_even_through_a_delegation(world: World) -> None:
    code = to_head(world)
    # The head delegates to the proposer: the proposer may not decide on their own list.
    world.delegate("hungtv.vp", "lanpt.vp", Role.AGENCY_HEAD)
    error = world.refused("DS-SEPARATION", "decide", code, "lanpt.vp", approve=True)
    assert error.params["prior"] == "proposer" and error.params["capacity"] == "head"
    world.refused("DS-SEPARATION", "decide", code, "lanpt.vp", approve=True, on_behalf_of="hungtv.vp")


def test_a_delegate_of_the_proposer_cannot_decide(world: World) -> None:
    code = to_head(world)
    # A (the proposer) delegated to B: B, a head in their own right, is A's hand on this list.
    world.delegate("lanpt.vp", "phocp.vp", Role.ARCHIVIST)
    error = world.refused("DS-SEPARATION", "decide", code, "phocp.vp", approve=True)
    assert "lanpt.vp" in error.message_vi and "lanpt.vp" in error.message_en
    # Once the delegation is over, B may decide.
    world.clock.advance(days=11)
    assert world.step("decide", code, "phocp.vp", approve=True).state == ListState.APPROVED
    assert_audited(world, code)


def test_a_council_member_cannot_be_the_deciding_head(world: World) -> None:
    world.grant("an.hd", Role.AGENCY_HEAD)
    world.grant("dung.hd", Role.AGENCY_HEAD)
    code = propose(world)
    world.step("submit", code, "lanpt.vp", members=[*MEMBERS, "dung.hd"])
    council_agrees(world, code)  # three of four: dung.hd never spoke
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    world.refused("DS-SEPARATION", "decide", code, "an.hd", approve=True)
    # Designated is enough, even without an opinion.
    world.refused("DS-SEPARATION", "decide", code, "dung.hd", approve=True)
    # Nor through a delegation from a member who is a head.
    world.delegate("an.hd", "thu.vp", Role.AGENCY_HEAD)
    world.refused("DS-SEPARATION", "decide", code, "thu.vp", approve=True)
    assert world.step("decide", code, "hungtv.vp", approve=True).state == ListState.APPROVED


def test_one_person_cannot_take_two_seats_through_two_delegations(world: World) -> None:
    code = to_council(world)
    world.delegate("an.hd", "thu.vp", Role.COUNCIL_MEMBER)
    world.step("give_opinion", code, "thu.vp", Opinion.AGREE)  # the only seat thu.vp may act for
    step = world.history(code)[-1]
    assert (step.actor, step.on_behalf_of, step.role) == ("thu.vp", "an.hd", "council_member")
    world.delegate("binh.hd", "thu.vp", Role.COUNCIL_MEMBER)
    world.refused("DS-AMBIGUOUS", "give_opinion", code, "thu.vp", Opinion.AGREE)
    error = world.refused("DS-SEPARATION", "give_opinion", code, "thu.vp", Opinion.AGREE, on_behalf_of="binh.hd")
    assert error.params["prior"] == "council" and error.params["capacity"] == "council"
    # binh.hd's hand already voted for an.hd's seat: binh.hd cannot vote in person either.
    world.refused("DS-SEPARATION", "give_opinion", code, "binh.hd", Opinion.AGREE)
    world.refused("DS-NO-DELEGATION", "give_opinion", code, "thu.vp", Opinion.AGREE, on_behalf_of="cuong.hd")
    world.step("give_opinion", code, "cuong.hd", Opinion.AGREE)
    assert world.state(code) == ListState.SO_NOI_VU_REVIEW
    data = DestructionCommands(world.catalog, world.workflow).show(code).data
    assert {(row["member"], row["actor"]) for row in data["opinions"]} == {("an.hd", "thu.vp"),
                                                                           ("cuong.hd", "cuong.hd")}
    assert_audited(world, code)


def test_the_so_noi_vu_reviewer_comes_from_outside_the_agency(world: World) -> None:
    world.user("tuan.vp", AGENCY, Role.SO_NOI_VU)
    world.user("hoa.snv", SNV, Role.SO_NOI_VU, role_agency=AGENCY)
    world.grant("hoa.snv", Role.COUNCIL_MEMBER)
    code = propose(world)
    world.step("submit", code, "lanpt.vp", members=["an.hd", "binh.hd", "hoa.snv"])
    council_agrees(world, code)
    error = world.refused("DS-REVIEWER-AGENCY", "review", code, "tuan.vp", ReviewVerdict.APPROVE)
    assert error.params["agency"] == AGENCY
    # Through a delegation to someone of the agency: refused too.
    world.delegate("minhlq.snv", "thu.vp", Role.SO_NOI_VU)
    world.refused("DS-REVIEWER-AGENCY", "review", code, "thu.vp", ReviewVerdict.APPROVE)
    # A Sở Nội vụ officer designated to the council cannot review the same list.
    world.refused("DS-SEPARATION", "review", code, "hoa.snv", ReviewVerdict.APPROVE)
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    assert_audited(world, code)


def test_expired_and_revoked_delegations_give_no_authority(world: World) -> None:
    code = to_head(world)
    world.delegate("hungtv.vp", "thu.vp", Role.AGENCY_HEAD, days=2, start=T0)
    world.clock.now = T0 + timedelta(days=2)
    world.refused("DS-ROLE", "decide", code, "thu.vp", approve=True)
    world.refused("DS-NO-DELEGATION", "decide", code, "thu.vp", approve=True, on_behalf_of="hungtv.vp")
    delegation = world.delegate("hungtv.vp", "thu.vp", Role.AGENCY_HEAD, days=5)
    with world.catalog.session() as session:
        world.accounts.revoke_delegation(session, actor="hungtv.vp", delegation_id=delegation)
    world.refused("DS-ROLE", "decide", code, "thu.vp", approve=True)
    world.delegate("hungtv.vp", "thu.vp", Role.AGENCY_HEAD, days=5)
    lst = world.step("decide", code, "thu.vp", approve=True)
    assert lst.state == ListState.APPROVED
    decision = world.history(code)[-1]
    assert (decision.actor, decision.on_behalf_of, decision.role) == ("thu.vp", "hungtv.vp", "agency_head")
    assert_audited(world, code)


def test_locked_accounts_cannot_act(world: World) -> None:
    code = to_head(world)
    world.delegate("hungtv.vp", "thu.vp", Role.AGENCY_HEAD)
    with world.catalog.session() as session:
        world.accounts.lock(session, actor=SYSTEM_ACTOR, username="phocp.vp", reason=LockReason.INACTIVE)
        world.accounts.lock(session, actor=SYSTEM_ACTOR, username="hungtv.vp", reason=LockReason.ADMINISTRATIVE)
    world.refused("DS-ACCOUNT", "decide", code, "phocp.vp", approve=True)
    world.refused("DS-ACCOUNT", "decide", code, "hungtv.vp", approve=True)
    # The delegate of a locked head holds nothing either.
    world.refused("DS-ROLE", "decide", code, "thu.vp", approve=True)
    with world.catalog.session() as session:
        world.accounts.staff_left(session, actor=SYSTEM_ACTOR, username="hoangnv.vp")
    world.refused("DS-ACCOUNT", "propose", "hoangnv.vp", agency_code=AGENCY, dossiers=CODES)


def test_no_single_person_can_take_a_list_from_proposal_to_execution(world: World) -> None:
    """Someone holding every role of the agency still needs other people at every step."""
    world.user("super.vp", AGENCY, Role.ARCHIVIST, Role.COUNCIL_MEMBER, Role.AGENCY_HEAD, Role.SO_NOI_VU)
    code = propose(world, actor="super.vp")
    world.refused("DS-SEPARATION", "submit", code, "super.vp", members=["super.vp", "an.hd", "binh.hd"])
    world.step("submit", code, "super.vp", members=MEMBERS)
    world.refused("DS-NOT-DESIGNATED", "give_opinion", code, "super.vp", Opinion.AGREE)
    council_agrees(world, code)
    world.refused("DS-SEPARATION", "review", code, "super.vp", ReviewVerdict.APPROVE)
    world.step("review", code, "minhlq.snv", ReviewVerdict.APPROVE)
    world.refused("DS-SEPARATION", "decide", code, "super.vp", approve=True)
    world.step("decide", code, "hungtv.vp", approve=True)
    execute(world, code, actor="super.vp")  # proposer and executor may be the same person
    assert world.state(code) == ListState.EXECUTED
    _assert_capacities_disjoint(world, code)
    assert_audited(world, code)


# ---------------------------------------------------------------- command-line support


def test_commands_give_json_and_vietnamese_text(world: World) -> None:
    commands = DestructionCommands(world.catalog, world.workflow)
    proposed = commands.propose("lanpt.vp", agency_code=AGENCY, dossiers=CODES[:2], title="Danh mục hủy 2026")
    code = proposed.data["code"]
    assert proposed.data["state"] == "proposed" and proposed.data["title"] == "Danh mục hủy 2026"
    commands.submit(code, "lanpt.vp", members=MEMBERS)
    appraised = commands.appraise(code, "an.hd", "agree")
    assert [row["tally"] for row in appraised.data["dossiers"]] == [[1, 0], [1, 0]]
    commands.appraise(code, "binh.hd", "agree")
    commands.review(code, "minhlq.snv", "approve", comment="Đồng ý")
    decided = commands.decide(code, "hungtv.vp", approve=True)
    assert decided.data["execution_deadline"] is not None
    executed = commands.execute(code, "lanpt.vp", FakeExecutor(world.catalog))
    assert executed.data["state"] == "executed" and len(executed.data["execution"]["results"]) == 2
    shown = commands.show(code)
    history = shown.data["history"]
    assert [row["action"] for row in history][-2:] == ["start_execution", "finish_execution"]
    assert all(row["audit_seq"] for row in history)
    assert {row["action_vi"] for row in history} >= {Action.DECIDE_APPROVE.label_vi, Action.PROPOSE.label_vi}
    assert "Thủ trưởng quyết định hủy" in shown.text and "Đã hủy xong" in shown.text
    assert code in commands.lists().text
    assert commands.expire().data == {"expired": []}
    try:
        commands.decide(code, "hungtv.vp", approve=True)
    except WorkflowError as error:
        result = error_result(error)
    assert result.data["error"]["code"] == "DS-STATE" and result.text.startswith("Lỗi DS-STATE")

