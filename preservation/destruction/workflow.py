"""The destruction workflow (R-DS-1): an explicit state machine over a list of whole dossiers.

```
            propose                submit (designate council)
   (none) ──────────► proposed ─────────────────────────────► council_review ◄─┐ opinion
                        ▲  │ withdraw                           │ council_conclude (automatic, by the
                        │  └──────┘                             │ opinion that settles every dossier)
                        │                    ┌──────────────────┼──────────────────────┐
         review_return  │                    ▼ (Sở Nội vụ        ▼ (not required)        ▼ (no dossier agreed)
                        └──────────── so_noi_vu_review ───► head_decision            rejected
                              review_reject │   review_approve  │  ▲  │ decide_reject
                                            ▼                   │  │  └────────► rejected
                                         rejected  decide_approve│  │ expire (15 days passed)
                                                                ▼  │
                                                             approved ── start_execution ──► executing
                                                                                              │ finish_execution
                                     start_execution (retry)   ┌──────────────────────────────┤
                              partially_destroyed ◄────────────┘ (a dossier failed)           ▼
                                                                                         executed
   cancel: proposed | council_review | so_noi_vu_review | head_decision | approved ──► cancelled
   hold_removed: a dossier under a legal hold leaves the list at the next step; emptied ──► cancelled
```

Every step is taken by a named person holding the step's role for the list's
agency at that moment (`archive_core.accounts.effective_grants`, delegation
included), is stored as a `TransitionRow` (actor, on-behalf-of, role, capacity,
time, comment, details) and is written to the audit log in the same transaction.

Separation of duties: each person takes part in a list in one capacity only
(proposer, one council seat, Sở Nội vụ reviewer, head); proposer and executor may
coincide. "Person" sees through delegation: the persons behind a step are the
actor, the delegator it acts for, and everyone tied to the actor by a delegation
in force for the agency. The Sở Nội vụ reviewer (and the delegator behind them)
must not belong to the list's agency.

Legal holds are checked at every step: a dossier under a hold leaves the list
(back to normal retention); the executor checks again at the moment of execution.

Execution plugs in through `Executor`: `start_execution` (approved → executing)
hands an `ExecutionOrder` to the executor, `finish_execution` records its
`ExecutionReport` (executing → executed | partially_destroyed); `run_execution`
does the three steps.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_core.accounts import (
    SYSTEM_ACTOR,
    AccountKind,
    Grant,
    Role,
    UserRow,
    delegates_of,
    delegators_of,
    effective_grants,
    find_user,
)
from archive_core.audit import AuditLog
from archive_core.catalog.database import Catalog
from archive_core.catalog.models import DossierRow, DossierState
from archive_core.catalog.repo import dossiers_by_code
from archive_core.catalog.retention_models import DueListRow
from archive_core.destruction_policy import AgencyPolicy, DestructionPolicy
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from preservation.destruction.errors import WorkflowError, workflow_error
from preservation.destruction.models import (
    OPEN_ITEM_STATES,
    Capacity,
    CouncilMemberRow,
    DestructionItemRow,
    DestructionListRow,
    ItemState,
    ListState,
    Opinion,
    OpinionRow,
    TransitionRow,
)
from preservation.retention.due import load_due_list
from preservation.retention.holds import active_holds_for

log = logging.getLogger(__name__)

AUDIT_OBJECT = "destruction_list"
DossierRef = int | str
"""A dossier named by its catalog id (int) or by its code (str)."""


class Action(StrEnum):
    PROPOSE = "propose"
    WITHDRAW = "withdraw"
    SUBMIT = "submit"
    OPINION = "opinion"
    COUNCIL_CONCLUDE = "council_conclude"
    REVIEW_APPROVE = "review_approve"
    REVIEW_RETURN = "review_return"
    REVIEW_REJECT = "review_reject"
    DECIDE_APPROVE = "decide_approve"
    DECIDE_REJECT = "decide_reject"
    CANCEL = "cancel"
    EXPIRE = "expire"
    HOLD_REMOVED = "hold_removed"
    EMPTIED = "emptied"
    START_EXECUTION = "start_execution"
    FINISH_EXECUTION = "finish_execution"

    @property
    def label_vi(self) -> str:
        return ACTION_LABELS_VI[self]


ACTION_LABELS_VI: dict[Action, str] = {
    Action.PROPOSE: "lập danh mục tài liệu hết giá trị đề nghị hủy",
    Action.WITHDRAW: "rút hồ sơ khỏi danh mục",
    Action.SUBMIT: "trình Hội đồng xét hủy",
    Action.OPINION: "ghi ý kiến thành viên Hội đồng",
    Action.COUNCIL_CONCLUDE: "kết luận của Hội đồng xét hủy",
    Action.REVIEW_APPROVE: "Sở Nội vụ thẩm định đồng ý",
    Action.REVIEW_RETURN: "Sở Nội vụ trả lại để hoàn thiện",
    Action.REVIEW_REJECT: "Sở Nội vụ không đồng ý",
    Action.DECIDE_APPROVE: "Thủ trưởng quyết định hủy",
    Action.DECIDE_REJECT: "Thủ trưởng không duyệt hủy",
    Action.CANCEL: "hủy bỏ danh mục",
    Action.EXPIRE: "quyết định hết hiệu lực (quá hạn thực hiện)",
    Action.HOLD_REMOVED: "đưa hồ sơ bị phong tỏa ra khỏi danh mục",
    Action.EMPTIED: "danh mục không còn hồ sơ",
    Action.START_EXECUTION: "bắt đầu thực hiện hủy",
    Action.FINISH_EXECUTION: "ghi nhận kết quả thực hiện hủy",
}


class ReviewVerdict(StrEnum):
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"


S = ListState
PRE_EXECUTION = frozenset({S.PROPOSED, S.COUNCIL_REVIEW, S.SO_NOI_VU_REVIEW, S.HEAD_DECISION, S.APPROVED})

MACHINE: dict[Action, dict[ListState | None, frozenset[ListState]]] = {
    Action.PROPOSE: {None: frozenset({S.PROPOSED})},
    Action.WITHDRAW: {S.PROPOSED: frozenset({S.PROPOSED})},
    Action.SUBMIT: {S.PROPOSED: frozenset({S.COUNCIL_REVIEW})},
    Action.OPINION: {S.COUNCIL_REVIEW: frozenset({S.COUNCIL_REVIEW})},
    Action.COUNCIL_CONCLUDE: {S.COUNCIL_REVIEW: frozenset({S.SO_NOI_VU_REVIEW, S.HEAD_DECISION, S.REJECTED})},
    Action.REVIEW_APPROVE: {S.SO_NOI_VU_REVIEW: frozenset({S.HEAD_DECISION})},
    Action.REVIEW_RETURN: {S.SO_NOI_VU_REVIEW: frozenset({S.PROPOSED})},
    Action.REVIEW_REJECT: {S.SO_NOI_VU_REVIEW: frozenset({S.REJECTED})},
    Action.DECIDE_APPROVE: {S.HEAD_DECISION: frozenset({S.APPROVED})},
    Action.DECIDE_REJECT: {S.HEAD_DECISION: frozenset({S.REJECTED})},
    Action.CANCEL: {state: frozenset({S.CANCELLED}) for state in PRE_EXECUTION},
    Action.EXPIRE: {S.APPROVED: frozenset({S.HEAD_DECISION})},
    Action.HOLD_REMOVED: {state: frozenset({state}) for state in PRE_EXECUTION},
    Action.EMPTIED: {state: frozenset({S.CANCELLED}) for state in PRE_EXECUTION},
    Action.START_EXECUTION: {
        S.APPROVED: frozenset({S.EXECUTING}),
        S.PARTIALLY_DESTROYED: frozenset({S.EXECUTING}),
    },
    Action.FINISH_EXECUTION: {
        S.EXECUTING: frozenset({S.EXECUTED, S.PARTIALLY_DESTROYED, S.CANCELLED}),
    },
}
"""Every allowed transition: action → state before → possible states after (None: a new list)."""

ROLES: dict[Action, dict[Role, Capacity]] = {
    Action.PROPOSE: {Role.ARCHIVIST: Capacity.PROPOSER},
    Action.WITHDRAW: {Role.ARCHIVIST: Capacity.PROPOSER},
    Action.SUBMIT: {Role.ARCHIVIST: Capacity.PROPOSER},
    Action.OPINION: {Role.COUNCIL_MEMBER: Capacity.COUNCIL},
    Action.REVIEW_APPROVE: {Role.SO_NOI_VU: Capacity.REVIEWER},
    Action.REVIEW_RETURN: {Role.SO_NOI_VU: Capacity.REVIEWER},
    Action.REVIEW_REJECT: {Role.SO_NOI_VU: Capacity.REVIEWER},
    Action.DECIDE_APPROVE: {Role.AGENCY_HEAD: Capacity.HEAD},
    Action.DECIDE_REJECT: {Role.AGENCY_HEAD: Capacity.HEAD},
    Action.CANCEL: {Role.ARCHIVIST: Capacity.PROPOSER, Role.AGENCY_HEAD: Capacity.HEAD},
    Action.START_EXECUTION: {Role.ARCHIVIST: Capacity.EXECUTOR, Role.ADMINISTRATOR: Capacity.EXECUTOR},
    Action.FINISH_EXECUTION: {Role.ARCHIVIST: Capacity.EXECUTOR, Role.ADMINISTRATOR: Capacity.EXECUTOR},
}
"""Who may take each step a person takes (in preference order), and in which capacity.
`council_conclude` is taken by the member whose opinion settles the council; `expire`,
`hold_removed` and `emptied` by the system."""

COMPATIBLE_CAPACITIES = frozenset({frozenset({Capacity.PROPOSER, Capacity.EXECUTOR})})
"""Different capacities one person may hold on the same list."""


# ---------------------------------------------------------------- holds


HoldCheck = Callable[[Session, DossierRow], list[str]]


def hold_reasons(session: Session, dossier: DossierRow) -> list[str]:
    """The legal holds covering `dossier` now (empty: none), read from the holds themselves.

    The executor calls this again for every dossier at the moment of execution
    (R-RT-4). A set `legal_hold` flag without an active hold (a stale flag) also
    counts: when in doubt, nothing is destroyed.
    """
    holds = active_holds_for(session, dossier)
    reasons = [f"lệnh tạm giữ số {hold.id}: {hold.reason} ({hold.owner})" for hold in holds]
    if not reasons and dossier.legal_hold:
        reasons.append("dossiers.legal_hold")
    return reasons


# ---------------------------------------------------------------- execution interface


@dataclass(frozen=True)
class ExecutionItem:
    dossier_id: int
    dossier_code: str | None
    aip_id: str | None
    title: str | None


@dataclass(frozen=True)
class ExecutionOrder:
    """What an executor is asked to destroy: the approved dossiers of one list, and the decision behind it."""

    list_code: str
    agency_code: str
    decided_by: str | None
    decided_at: datetime | None
    execution_deadline: datetime | None
    executor: str
    started_at: datetime
    items: tuple[ExecutionItem, ...]
    retry: bool = False


class ItemOutcome(StrEnum):
    DESTROYED = "destroyed"
    """Every copy deleted and the key destroyed."""
    FAILED = "failed"
    """Not completed (a copy unreachable, …): retried later (R-DS-4)."""
    HELD = "held"
    """A hold found at the moment of execution, before anything of the dossier was deleted."""


@dataclass(frozen=True)
class ItemResult:
    dossier_id: int
    outcome: ItemOutcome
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Whatever the executor wants kept with the transition (hashes, locations…)."""


@dataclass(frozen=True)
class ExecutionReport:
    results: tuple[ItemResult, ...]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": iso_vn(self.started_at) if self.started_at else None,
            "finished_at": iso_vn(self.finished_at) if self.finished_at else None,
            "results": [
                {"dossier_id": item.dossier_id, "outcome": item.outcome.value, "detail": item.detail,
                 "data": dict(item.data)}
                for item in self.results
            ],
            "data": dict(self.data),
        }


class Executor(Protocol):
    """Deletes every copy of each dossier of the order and destroys its key (R-DS-2).

    Must call `hold_reasons` for each dossier right before touching it and report
    `HELD` (having deleted nothing) when it is not empty; must report every item.
    """

    def execute(self, order: ExecutionOrder) -> ExecutionReport: ...


# ---------------------------------------------------------------- who acts


@dataclass(frozen=True)
class Acting:
    """The person taking a step, the grant used, and everyone behind it."""

    name: str
    user: UserRow | None
    grant: Grant | None
    capacity: Capacity
    slot_id: int | None
    persons: frozenset[int]

    @classmethod
    def system(cls) -> Acting:
        return cls(SYSTEM_ACTOR, None, None, Capacity.SYSTEM, None, frozenset())


@dataclass(frozen=True)
class _Seats:
    """The designated council of the current round."""

    list_code: str
    round: int
    members: frozenset[int]


@dataclass(frozen=True)
class _Participation:
    capacity: Capacity
    slot_id: int | None
    persons: frozenset[int]


def _compatible(before: _Participation, capacity: Capacity, slot_id: int | None) -> bool:
    if before.capacity == capacity:
        return capacity != Capacity.COUNCIL or before.slot_id == slot_id
    return frozenset({before.capacity, capacity}) in COMPATIBLE_CAPACITIES


def _nfc(text: str | None) -> str | None:
    cleaned = unicodedata.normalize("NFC", text).strip() if text is not None else ""
    return cleaned or None


# ---------------------------------------------------------------- the workflow


@dataclass
class _Step:
    """A step under way: the locked list, who acts, when, and the list's rules."""

    lst: DestructionListRow
    acting: Acting
    now: datetime
    policy: AgencyPolicy
    emptied: bool = False


class Workflow:
    """The destruction workflow inside the caller's transaction (`Catalog.session()`).

    Each method takes one step, or raises `WorkflowError` having changed nothing.
    """

    def __init__(
        self,
        audit: AuditLog,
        policy: DestructionPolicy | None = None,
        *,
        clock: Clock = system_clock,
        holds: HoldCheck = hold_reasons,
    ) -> None:
        self.audit = audit
        self.policy = policy or DestructionPolicy()
        self.clock = clock
        self.holds = holds

    # ------------------------------------------------------------ proposal

    def propose(
        self,
        session: Session,
        actor: str,
        *,
        agency_code: str,
        dossiers: Sequence[DossierRef] = (),
        due_list_id: int | None = None,
        title: str | None = None,
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """A new list of whole dossiers of one agency, in state `proposed`.

        From a stored due list (`due_list_id`): its dossiers of this agency, or the
        ones named in `dossiers`; a dossier of the due list that can no longer be
        destroyed (held, already on a list, …) is skipped and the reason kept in the
        step's details. Dossiers named explicitly must each be destroyable, or the
        proposal is refused.
        """
        now = self.clock()
        acting = self._authorise(session, None, Action.PROPOSE, actor, on_behalf_of, agency_code, now)
        chosen, skipped = self._proposal_dossiers(session, agency_code, dossiers, due_list_id, now)
        if not chosen:
            raise workflow_error("DS-NO-DOSSIERS")
        policy = self.policy.for_agency(agency_code)
        assert acting.user is not None
        lst = DestructionListRow(
            code=f"HUY-{to_vn(now):%Y%m%d}-{uuid.uuid4().hex[:8].upper()}",
            agency_code=agency_code,
            title=_nfc(title) or f"Danh mục tài liệu hết giá trị đề nghị hủy — {agency_code} — {to_vn(now):%d/%m/%Y}",
            state=S.PROPOSED, round=1, due_list_id=due_list_id, policy=policy.model_dump(mode="json"),
            so_noi_vu_required=policy.so_noi_vu_review, proposed_by_id=acting.user.id, proposed_at=now,
            updated_at=now,
        )
        session.add(lst)
        for position, dossier in enumerate(chosen):
            lst.items.append(
                DestructionItemRow(
                    position=position, dossier_id=dossier.id, state=ItemState.INCLUDED, dossier_code=dossier.code,
                    title=dossier.title, retention_due=dossier.retention_due, maintenance=dossier.maintenance,
                    aip_id=dossier.aip_id, changed_at=now,
                )
            )
        session.flush()
        self._record(session, lst, Action.PROPOSE, S.PROPOSED, acting, now, comment, {
            "due_list_id": due_list_id, "dossiers": _dossier_refs(lst.items), "skipped": skipped,
        }, new=True)
        return lst

    def _proposal_dossiers(
        self, session: Session, agency: str, refs: Sequence[DossierRef], due_list_id: int | None, now: datetime
    ) -> tuple[list[DossierRow], list[dict[str, Any]]]:
        today = to_vn(now).date()
        if due_list_id is None:
            dossiers = _lock_dossiers(session, [self._dossier(session, ref).id for ref in refs])
            for dossier in dossiers:
                refusal = self._refusal(session, dossier, agency, today)
                if refusal is not None:
                    raise refusal
            return _unique(dossiers), []
        if session.get(DueListRow, due_list_id) is None:
            raise workflow_error("DS-DUE-LIST", due_list=due_list_id)
        items = load_due_list(session, due_list_id).items or []
        wanted = {self._dossier(session, ref).id for ref in refs}
        candidates = [item.dossier_id for item in items if not wanted or item.dossier_id in wanted]
        for dossier_id in wanted - set(candidates):
            raise workflow_error("DS-NOT-IN-DUE-LIST", dossier=dossier_id, due_list=due_list_id)
        chosen, skipped = [], []
        for dossier in _lock_dossiers(session, candidates):
            if dossier.agency_code != agency and not wanted:
                continue
            refusal = self._refusal(session, dossier, agency, today)
            if refusal is None:
                chosen.append(dossier)
            elif wanted:
                raise refusal
            else:
                skipped.append({"dossier_id": dossier.id, "code": dossier.code, "reason": refusal.code,
                                "message_vi": refusal.message_vi})
        return _unique(chosen), skipped

    def _dossier(self, session: Session, ref: DossierRef) -> DossierRow:
        if isinstance(ref, int):
            row = session.get(DossierRow, ref)
            if row is None:
                raise workflow_error("DS-DOSSIER-UNKNOWN", dossier=ref)
            return row
        rows = dossiers_by_code(session, ref.strip())
        if not rows:
            raise workflow_error("DS-DOSSIER-UNKNOWN", dossier=ref)
        # A code may survive in the stub of a destroyed dossier and be reused by a live one.
        rows = [row for row in rows if row.state != DossierState.DESTROYED] or rows[:1]
        if len(rows) > 1:
            raise workflow_error("DS-DOSSIER-AMBIGUOUS", dossier=ref)
        return rows[0]

    def _refusal(self, session: Session, dossier: DossierRow, agency: str, today: date) -> WorkflowError | None:
        """Why `dossier` cannot be put on a list of `agency` today (None: it can)."""
        name = dossier.code or str(dossier.id)
        if dossier.agency_code != agency:
            return workflow_error("DS-DOSSIER-AGENCY", dossier=name, other=dossier.agency_code, agency=agency)
        if dossier.state != DossierState.ARCHIVED:
            return workflow_error("DS-DOSSIER-STATE", dossier=name, state=dossier.state.value)
        if dossier.retention_permanent:
            return workflow_error("DS-PERMANENT", dossier=name)
        if dossier.retention_due is None or dossier.retention_due > today:
            due = dossier.retention_due.isoformat() if dossier.retention_due else "không xác định / unknown"
            return workflow_error("DS-NOT-DUE", dossier=name, due=due)
        if self.holds(session, dossier):
            return workflow_error("DS-HELD", dossier=name)
        other = session.scalars(
            select(DestructionListRow.code)
            .join(DestructionItemRow, DestructionItemRow.list_id == DestructionListRow.id)
            .where(DestructionItemRow.dossier_id == dossier.id, DestructionItemRow.state.in_(OPEN_ITEM_STATES))
        ).first()
        if other is not None:
            return workflow_error("DS-ON-OTHER-LIST", dossier=name, other=other)
        return None

    def withdraw(
        self,
        session: Session,
        code: str,
        actor: str,
        dossiers: Sequence[DossierRef],
        *,
        comment: str,
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """Take dossiers off a list that is not yet before the council (they return to normal retention)."""
        step = self._begin(session, code, Action.WITHDRAW, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        reason = self._comment(comment, Action.WITHDRAW)
        items = self._items(step.lst, dossiers, (ItemState.INCLUDED,))
        if len(items) >= len(_open_items(step.lst)):
            raise workflow_error("DS-EMPTY")
        _close(items, ItemState.WITHDRAWN, reason, step.now)
        self._record(session, step.lst, Action.WITHDRAW, S.PROPOSED, step.acting, step.now, reason,
                     {"dossiers": _dossier_refs(items)})
        return step.lst

    # ------------------------------------------------------------ council

    def submit(
        self,
        session: Session,
        code: str,
        actor: str,
        *,
        members: Sequence[str] | None = None,
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """Send the list to the council, designating its members for this round
        (default: the agency's configured members)."""
        step = self._begin(session, code, Action.SUBMIT, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        lst = step.lst
        names = list(members) if members is not None else list(step.policy.council_members)
        users = self._council(session, lst, names, step)
        for user in users:
            session.add(CouncilMemberRow(list_id=lst.id, round=lst.round, member_id=user.id, designated_at=step.now))
        session.flush()
        self._record(session, lst, Action.SUBMIT, S.COUNCIL_REVIEW, step.acting, step.now, _nfc(comment), {
            "round": lst.round, "members": [user.username for user in users],
            "rule": step.policy.council.model_dump(mode="json"),
            "required": step.policy.council.required(len(users)),
        })
        return lst

    def _council(self, session: Session, lst: DestructionListRow, names: Sequence[str], step: _Step) -> list[UserRow]:
        users: list[UserRow] = []
        for name in names:
            user = find_user(session, name)
            if user is None or user.kind != AccountKind.PERSON or not self._holds_directly(
                session, user, Role.COUNCIL_MEMBER, lst.agency_code, step.now
            ):
                raise workflow_error("DS-MEMBER-ROLE", member=name, agency=lst.agency_code)
            if all(user.id != other.id for other in users):
                users.append(user)
        rule = step.policy.council
        if len(users) < rule.min_members:
            raise workflow_error("DS-COUNCIL-SIZE", min=rule.min_members, count=len(users))
        before = [*self._participations(session, lst), _Participation(
            step.acting.capacity, step.acting.slot_id, step.acting.persons
        )]
        for user in users:
            persons = self._closure(session, user, lst.agency_code, step.now)
            seats = [_Participation(Capacity.COUNCIL, other.id, frozenset({other.id}))
                     for other in users if other.id != user.id]
            self._separate(lst, user.username, persons, Capacity.COUNCIL, user.id, [*before, *seats], session)
        return users

    @staticmethod
    def _holds_directly(session: Session, user: UserRow, role: Role, agency: str, at: datetime) -> bool:
        return any(
            grant.role == role and not grant.delegated for grant in effective_grants(session, user, agency, at)
        )

    def give_opinion(
        self,
        session: Session,
        code: str,
        actor: str,
        opinion: Opinion,
        *,
        dossiers: Sequence[DossierRef] = (),
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """A council member's opinion on the named dossiers, or on every dossier of the list.

        A later opinion of the same member on the same dossier replaces the earlier
        one. When the votes settle every dossier under the council's rule, the
        council concludes in the same step: dossiers it did not agree to destroy
        go back to normal retention, and the list moves on.
        """
        step = self._begin(session, code, Action.OPINION, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        lst = step.lst
        text = _nfc(comment)
        if opinion == Opinion.DISAGREE and text is None:
            raise workflow_error("DS-COMMENT", action="disagree", action_vi="không đồng ý hủy")
        whole = not dossiers
        items = _open_items(lst) if whole else self._items(lst, dossiers, (ItemState.INCLUDED,))
        transition = self._record(session, lst, Action.OPINION, S.COUNCIL_REVIEW, step.acting, step.now, text, {
            "round": lst.round, "opinion": opinion.value, "whole_list": whole,
            "member": self._username(session, step.acting.slot_id), "dossiers": _dossier_refs(items),
        })
        assert step.acting.user is not None and step.acting.slot_id is not None
        for item in items:
            session.add(OpinionRow(
                list_id=lst.id, round=lst.round, item_id=item.id, member_id=step.acting.slot_id,
                actor_id=step.acting.user.id, opinion=opinion, whole_list=whole, comment=text, at=step.now,
                transition_id=transition.id,
            ))
        session.flush()
        self._conclude_if_settled(session, step)
        return lst

    @staticmethod
    def council_tally(session: Session, lst: DestructionListRow) -> dict[int, tuple[int, int]]:
        """Item id → (agreements, disagreements) among the designated members of the current round."""
        members = set(Workflow._members(session, lst))
        latest: dict[tuple[int, int], Opinion] = {}
        opinions = session.scalars(
            select(OpinionRow)
            .where(OpinionRow.list_id == lst.id, OpinionRow.round == lst.round)
            .order_by(OpinionRow.id)
        )
        for row in opinions:
            if row.member_id in members:
                latest[(row.member_id, row.item_id)] = row.opinion
        tally = {item.id: (0, 0) for item in _open_items(lst)}
        for (_, item_id), value in latest.items():
            if item_id in tally:
                agree, disagree = tally[item_id]
                tally[item_id] = (agree + 1, disagree) if value == Opinion.AGREE else (agree, disagree + 1)
        return tally

    def _conclude_if_settled(self, session: Session, step: _Step) -> None:
        lst = step.lst
        members = len(self._members(session, lst))
        required = step.policy.council.required(members)
        tally = self.council_tally(session, lst)
        kept, excluded = [], []
        for item in _open_items(lst):
            agree, disagree = tally[item.id]
            if agree >= required:
                kept.append(item)
            elif disagree > members - required:
                excluded.append(item)
            else:
                return
        note = f"Hội đồng không đồng ý hủy (cần {required}/{members} ý kiến đồng ý)"
        _close(excluded, ItemState.EXCLUDED, note, step.now)
        onward = S.SO_NOI_VU_REVIEW if lst.so_noi_vu_required else S.HEAD_DECISION
        target = onward if kept else S.REJECTED
        self._record(session, lst, Action.COUNCIL_CONCLUDE, target, step.acting, step.now, None, {
            "round": lst.round, "members": members, "required": required,
            "tally": {str(item.dossier_id): list(tally[item.id]) for item in [*kept, *excluded]},
            "kept": _dossier_refs(kept), "excluded": _dossier_refs(excluded),
        })

    # ------------------------------------------------------------ Sở Nội vụ and head

    def review(
        self,
        session: Session,
        code: str,
        actor: str,
        verdict: ReviewVerdict,
        *,
        comment: str | None = None,
        excluded: Sequence[DossierRef] = (),
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """The Sở Nội vụ's appraisal: approve (optionally keeping some dossiers), return for rework
        (back to `proposed`, a new council round follows), or reject."""
        action = {ReviewVerdict.APPROVE: Action.REVIEW_APPROVE, ReviewVerdict.RETURN: Action.REVIEW_RETURN,
                  ReviewVerdict.REJECT: Action.REVIEW_REJECT}[verdict]
        step = self._begin(session, code, action, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        lst, text = step.lst, _nfc(comment)
        if (verdict != ReviewVerdict.APPROVE or excluded) and text is None:
            raise workflow_error("DS-COMMENT", action=action.value, action_vi=action.label_vi)
        if verdict == ReviewVerdict.APPROVE:
            items = self._items(lst, excluded, (ItemState.INCLUDED,))
            if items and len(items) >= len(_open_items(lst)):
                raise workflow_error("DS-DECISION", detail_vi="giữ lại mọi hồ sơ là không đồng ý danh mục",
                                     detail="keeping every dossier is a rejection of the list")
            _close(items, ItemState.EXCLUDED, f"Sở Nội vụ đề nghị giữ lại: {text}", step.now)
            self._record(session, lst, action, S.HEAD_DECISION, step.acting, step.now, text,
                         {"excluded": _dossier_refs(items)})
        elif verdict == ReviewVerdict.RETURN:
            lst.round += 1
            self._record(session, lst, action, S.PROPOSED, step.acting, step.now, text, {"next_round": lst.round})
        else:
            rejected = _open_items(lst)
            _close(rejected, ItemState.REJECTED, f"Sở Nội vụ không đồng ý: {text}", step.now)
            self._record(session, lst, action, S.REJECTED, step.acting, step.now, text,
                         {"dossiers": _dossier_refs(rejected)})
        return lst

    def decide(
        self,
        session: Session,
        code: str,
        actor: str,
        *,
        approve: bool,
        rejected: Sequence[DossierRef] = (),
        comment: str | None = None,
        on_behalf_of: str | None = None,
    ) -> DestructionListRow:
        """The head's decision: approve the list (except the `rejected` dossiers), or reject it whole.

        Approval fixes the execution deadline (`execution_days` after the decision).
        """
        action = Action.DECIDE_APPROVE if approve else Action.DECIDE_REJECT
        step = self._begin(session, code, action, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        lst, text = step.lst, _nfc(comment)
        if (not approve or rejected) and text is None:
            raise workflow_error("DS-COMMENT", action=action.value, action_vi=action.label_vi)
        if not approve:
            items = _open_items(lst)
            _close(items, ItemState.REJECTED, f"Thủ trưởng không duyệt: {text}", step.now)
            self._record(session, lst, action, S.REJECTED, step.acting, step.now, text,
                         {"dossiers": _dossier_refs(items)})
            return lst
        refused = self._items(lst, rejected, (ItemState.INCLUDED,))
        if len(refused) >= len(_open_items(lst)):
            raise workflow_error("DS-DECISION", detail_vi="không duyệt mọi hồ sơ là không duyệt danh mục",
                                 detail="refusing every dossier is a rejection of the list")
        _close(refused, ItemState.REJECTED, f"Thủ trưởng không duyệt hủy: {text}", step.now)
        approved = _open_items(lst)
        for item in approved:
            item.state, item.changed_at = ItemState.APPROVED, step.now
        assert step.acting.user is not None
        lst.decided_by_id, lst.decided_at = step.acting.user.id, step.now
        lst.execution_deadline = step.now + timedelta(days=step.policy.execution_days)
        self._record(session, lst, action, S.APPROVED, step.acting, step.now, text, {
            "approved": _dossier_refs(approved), "rejected": _dossier_refs(refused),
            "execution_deadline": iso_vn(lst.execution_deadline),
        })
        return lst

    def cancel(
        self, session: Session, code: str, actor: str, *, comment: str, on_behalf_of: str | None = None
    ) -> DestructionListRow:
        """Abandon a list before execution starts; its dossiers return to normal retention."""
        step = self._begin(session, code, Action.CANCEL, actor, on_behalf_of)
        if step.emptied:
            return step.lst
        text = self._comment(comment, Action.CANCEL)
        items = _open_items(step.lst)
        _close(items, ItemState.CANCELLED, text, step.now)
        step.lst.execution_deadline = None
        self._record(session, step.lst, Action.CANCEL, S.CANCELLED, step.acting, step.now, text,
                     {"dossiers": _dossier_refs(items)})
        return step.lst

    def expire_overdue(self, session: Session) -> list[DestructionListRow]:
        """Approved lists whose execution deadline has passed go back to the head (run daily)."""
        now = self.clock()
        overdue = session.scalars(
            select(DestructionListRow)
            .where(DestructionListRow.state == S.APPROVED, DestructionListRow.execution_deadline < now)
            .order_by(DestructionListRow.id)
            .with_for_update()
        )
        expired = []
        for lst in overdue:
            self._expire(session, lst, now)
            expired.append(lst)
        return expired

    def _expire(self, session: Session, lst: DestructionListRow, now: datetime) -> None:
        items = [item for item in lst.items if item.state == ItemState.APPROVED]
        for item in items:
            item.state, item.changed_at = ItemState.INCLUDED, now
        details = {
            "decided_at": iso_vn(lst.decided_at) if lst.decided_at else None,
            "decided_by": self._username(session, lst.decided_by_id),
            "execution_deadline": iso_vn(lst.execution_deadline) if lst.execution_deadline else None,
            "dossiers": _dossier_refs(items),
        }
        lst.decided_at = lst.decided_by_id = lst.execution_deadline = None
        self._record(session, lst, Action.EXPIRE, S.HEAD_DECISION, Acting.system(), now, None, details)

    # ------------------------------------------------------------ execution

    def start_execution(
        self, session: Session, code: str, actor: str, *, on_behalf_of: str | None = None
    ) -> ExecutionOrder:
        """approved (or partially_destroyed, to retry) → executing: the order for the executor.

        Holds are checked once more; dossiers become `destroying`. An order without
        items means the list was emptied by holds (and is now cancelled).
        """
        step = self._begin(session, code, Action.START_EXECUTION, actor, on_behalf_of)
        lst = step.lst
        if step.emptied:
            return self._order(session, lst, step, [], retry=False)
        retry = lst.state == S.PARTIALLY_DESTROYED
        if retry:
            failed = [item for item in lst.items if item.state == ItemState.FAILED]
            items = [item for item in failed if not self.holds(session, item.dossier)]
            if not items:
                raise workflow_error("DS-RETRY-HELD", dossiers=", ".join(_name(item) for item in failed))
        else:
            items = [item for item in lst.items if item.state == ItemState.APPROVED]
        for dossier in _lock_dossiers(session, [item.dossier_id for item in items]):
            dossier.state = DossierState.DESTROYING
        for item in items:
            item.state, item.changed_at = ItemState.EXECUTING, step.now
        self._record(session, lst, Action.START_EXECUTION, S.EXECUTING, step.acting, step.now, None,
                     {"retry": retry, "dossiers": _dossier_refs(items)})
        return self._order(session, lst, step, items, retry=retry)

    def _order(
        self, session: Session, lst: DestructionListRow, step: _Step, items: Iterable[DestructionItemRow], *,
        retry: bool,
    ) -> ExecutionOrder:
        return ExecutionOrder(
            list_code=lst.code, agency_code=lst.agency_code, decided_by=self._username(session, lst.decided_by_id),
            decided_at=lst.decided_at, execution_deadline=lst.execution_deadline, executor=step.acting.name,
            started_at=step.now, retry=retry,
            items=tuple(ExecutionItem(item.dossier_id, item.dossier_code, item.aip_id, item.title) for item in items),
        )

    def finish_execution(
        self, session: Session, code: str, actor: str, report: ExecutionReport, *, on_behalf_of: str | None = None
    ) -> DestructionListRow:
        """Record the executor's report: executing → executed, or partially_destroyed when any dossier
        was not destroyed completely (an item without a result counts as failed), or cancelled when
        holds stopped every dossier."""
        step = self._begin(session, code, Action.FINISH_EXECUTION, actor, on_behalf_of)
        lst = step.lst
        running = {item.dossier_id: item for item in lst.items if item.state == ItemState.EXECUTING}
        results = {result.dossier_id: result for result in report.results}
        for dossier_id in results.keys() - running.keys():
            raise workflow_error("DS-REPORT", dossier=dossier_id, list=lst.code)
        outcomes: dict[str, list[dict[str, Any]]] = {outcome.value: [] for outcome in ItemOutcome}
        for dossier_id, item in running.items():
            result = results.get(dossier_id, ItemResult(dossier_id, ItemOutcome.FAILED, "no result reported"))
            self._apply(item, result, step.now)
            outcomes[result.outcome.value].append({**_dossier_ref(item), "detail": result.detail,
                                                   "data": dict(result.data)})
        if any(item.state == ItemState.FAILED for item in lst.items):
            target = S.PARTIALLY_DESTROYED
        elif any(item.state == ItemState.DESTROYED for item in lst.items):
            target = S.EXECUTED
            lst.executed_at = step.now
        else:
            target = S.CANCELLED
        self._record(session, lst, Action.FINISH_EXECUTION, target, step.acting, step.now, None, {
            **outcomes, "report": {key: value for key, value in report.to_dict().items() if key != "results"},
        })
        return lst

    @staticmethod
    def _apply(item: DestructionItemRow, result: ItemResult, now: datetime) -> None:
        item.changed_at, item.note = now, result.detail or None
        dossier = item.dossier
        if result.outcome == ItemOutcome.DESTROYED:
            item.state = ItemState.DESTROYED
            dossier.state = DossierState.DESTROYED
            dossier.destroyed_at = dossier.destroyed_at or now
        elif result.outcome == ItemOutcome.HELD:
            item.state = ItemState.HELD
            dossier.state = DossierState.ARCHIVED
        else:
            item.state = ItemState.FAILED

    # ------------------------------------------------------------ the common prologue

    def _begin(
        self, session: Session, code: str, action: Action, actor: str, on_behalf_of: str | None
    ) -> _Step:
        """Lock the list, expire an overdue approval, check the state, who acts and separation of
        duties, then take dossiers under a hold off the list."""
        now = self.clock()
        lst = self.get(session, code, lock=True)
        if lst.state == S.APPROVED and lst.execution_deadline is not None and now > lst.execution_deadline:
            if action == Action.START_EXECUTION:
                raise workflow_error("DS-EXPIRED", deadline=iso_vn(lst.execution_deadline))
            self._expire(session, lst, now)
        if lst.state not in MACHINE[action]:
            raise workflow_error("DS-STATE", action=action.value, action_vi=action.label_vi, list=lst.code,
                                 state=lst.state.value, state_vi=lst.state.label_vi)
        acting = self._authorise(session, lst, action, actor, on_behalf_of, lst.agency_code, now)
        step = _Step(lst, acting, now, AgencyPolicy.model_validate(lst.policy))
        step.emptied = self._remove_held(session, lst, now, triggered_by=acting.name)
        return step

    def _remove_held(self, session: Session, lst: DestructionListRow, now: datetime, *, triggered_by: str) -> bool:
        """R-RT-4: dossiers under a hold leave the list; True when that left the list empty (now cancelled)."""
        if lst.state not in PRE_EXECUTION:
            return False
        held = []
        for item in _open_items(lst):
            reasons = self.holds(session, item.dossier)
            if reasons:
                item.state, item.changed_at, item.note = ItemState.HELD, now, "; ".join(reasons)
                held.append(item)
        if not held:
            return False
        self._record(session, lst, Action.HOLD_REMOVED, lst.state, Acting.system(), now, None,
                     {"dossiers": _dossier_refs(held), "triggered_by": triggered_by})
        if _open_items(lst):
            return False
        lst.execution_deadline = None
        self._record(session, lst, Action.EMPTIED, S.CANCELLED, Acting.system(), now, None,
                     {"triggered_by": triggered_by})
        return True

    def _authorise(
        self,
        session: Session,
        lst: DestructionListRow | None,
        action: Action,
        actor: str,
        on_behalf_of: str | None,
        agency: str,
        now: datetime,
    ) -> Acting:
        user = find_user(session, actor)
        if user is None:
            raise workflow_error("DS-ROLE", user=actor, role=_roles_text(action), role_vi=_roles_text(action, vi=True),
                                 agency=agency)
        if user.kind != AccountKind.PERSON:
            raise workflow_error("DS-NOT-PERSON", user=user.username)
        if not user.usable:
            raise workflow_error("DS-ACCOUNT", user=user.username)
        seats = None
        if lst is not None and action == Action.OPINION:
            seats = _Seats(lst.code, lst.round, frozenset(self._members(session, lst)))
        grant = self._grant(session, user, action, on_behalf_of, agency, now, seats)
        capacity = ROLES[action][grant.role]
        slot = grant.principal_id if capacity == Capacity.COUNCIL else None
        persons = self._closure(session, user, agency, now) | {grant.principal_id}
        acting = Acting(user.username, user, grant, capacity, slot, frozenset(persons))
        if lst is not None:
            self._separate(lst, user.username, acting.persons, capacity, slot, self._participations(session, lst),
                           session)
            if capacity == Capacity.REVIEWER:
                self._outside_agency(session, lst, user, grant)
        return acting

    def _grant(
        self,
        session: Session,
        user: UserRow,
        action: Action,
        on_behalf_of: str | None,
        agency: str,
        now: datetime,
        seats: _Seats | None,
    ) -> Grant:
        roles = ROLES[action]
        grants = [grant for grant in effective_grants(session, user, agency, now) if grant.role in roles]
        grants.sort(key=lambda grant: list(roles).index(grant.role))
        if on_behalf_of is not None:
            principal = on_behalf_of.strip().lower()
            grants = [grant for grant in grants if grant.on_behalf_of == principal]
            if not grants:
                raise workflow_error("DS-NO-DELEGATION", user=user.username, principal=principal,
                                     role=_roles_text(action), role_vi=_roles_text(action, vi=True), agency=agency)
        if not grants:
            raise workflow_error("DS-ROLE", user=user.username, role=_roles_text(action),
                                 role_vi=_roles_text(action, vi=True), agency=agency)
        if seats is not None:
            seated = [grant for grant in grants if grant.principal_id in seats.members]
            if not seated:
                raise workflow_error("DS-NOT-DESIGNATED", member=on_behalf_of or user.username, list=seats.list_code,
                                     round=seats.round)
            grants = seated
        direct = [grant for grant in grants if not grant.delegated]
        if direct:
            return direct[0]
        principals = sorted({grant.on_behalf_of or "" for grant in grants})
        if len(principals) > 1:
            raise workflow_error("DS-AMBIGUOUS", user=user.username, principals=", ".join(principals))
        return grants[0]

    @staticmethod
    def _closure(session: Session, user: UserRow, agency: str, at: datetime) -> set[int]:
        """The user and everyone tied to them by a delegation in force for `agency`."""
        return {user.id} | delegators_of(session, user, agency, at) | delegates_of(session, user, agency, at)

    def _participations(self, session: Session, lst: DestructionListRow) -> list[_Participation]:
        steps = session.scalars(
            select(TransitionRow).where(TransitionRow.list_id == lst.id, TransitionRow.capacity != Capacity.SYSTEM)
        )
        seats = session.scalars(select(CouncilMemberRow.member_id).where(CouncilMemberRow.list_id == lst.id))
        return [
            *(_Participation(row.capacity, row.slot_id, frozenset(row.persons)) for row in steps),
            *(_Participation(Capacity.COUNCIL, member, frozenset({member})) for member in seats),
        ]

    def _separate(
        self,
        lst: DestructionListRow,
        name: str,
        persons: frozenset[int] | set[int],
        capacity: Capacity,
        slot: int | None,
        before: Iterable[_Participation],
        session: Session,
    ) -> None:
        for earlier in before:
            shared = earlier.persons & persons
            if shared and not _compatible(earlier, capacity, slot):
                others = sorted(
                    self._username(session, person) or str(person) for person in shared
                    if person != _user_id(session, name)
                )
                through_en = f" (through {', '.join(others)})" if others else ""
                through_vi = f" (qua quan hệ ủy quyền với {', '.join(others)})" if others else ""
                raise workflow_error(
                    "DS-SEPARATION", user=name, list=lst.code, prior=earlier.capacity.value,
                    prior_vi=earlier.capacity.label_vi, capacity=capacity.value, capacity_vi=capacity.label_vi,
                    through=through_en, through_vi=through_vi,
                )

    @staticmethod
    def _outside_agency(session: Session, lst: DestructionListRow, user: UserRow, grant: Grant) -> None:
        principal = session.get(UserRow, grant.principal_id)
        for person in (user, principal):
            if person is not None and person.agency_code == lst.agency_code:
                raise workflow_error("DS-REVIEWER-AGENCY", user=person.username, agency=lst.agency_code)

    # ------------------------------------------------------------ recording

    def _record(
        self,
        session: Session,
        lst: DestructionListRow,
        action: Action,
        target: ListState,
        acting: Acting,
        now: datetime,
        comment: str | None,
        details: dict[str, Any],
        *,
        new: bool = False,
    ) -> TransitionRow:
        source = None if new else lst.state
        allowed = MACHINE[action].get(source, frozenset())
        if target not in allowed:
            raise AssertionError(f"transition {source} --{action}--> {target} is not in the machine")
        seq = (session.scalar(select(func.max(TransitionRow.seq)).where(TransitionRow.list_id == lst.id)) or 0) + 1
        grant = acting.grant
        entry = self.audit.append_in(session, acting.name, f"destruction.{action.value}", AUDIT_OBJECT, lst.code, {
            "seq": seq, "agency_code": lst.agency_code, "from": source.value if source else None, "to": target.value,
            "role": grant.role.value if grant else None, "capacity": acting.capacity.value,
            "on_behalf_of": grant.on_behalf_of if grant else None,
            "delegation_id": grant.delegation_id if grant else None, "comment": comment, **details,
        })
        row = TransitionRow(
            list_id=lst.id, seq=seq, action=action.value, from_state=source, to_state=target, actor=acting.name,
            actor_id=acting.user.id if acting.user else None, on_behalf_of=grant.on_behalf_of if grant else None,
            on_behalf_of_id=grant.on_behalf_of_id if grant else None,
            delegation_id=grant.delegation_id if grant else None, role=grant.role.value if grant else None,
            capacity=acting.capacity, slot_id=acting.slot_id, persons=sorted(acting.persons), at=now,
            comment=comment, details=details, audit_seq=entry.seq,
        )
        session.add(row)
        lst.state, lst.updated_at = target, now
        session.flush()
        return row

    # ------------------------------------------------------------ look-ups

    @staticmethod
    def get(session: Session, code: str, *, lock: bool = False) -> DestructionListRow:
        query = select(DestructionListRow).where(DestructionListRow.code == code.strip())
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise workflow_error("DS-NO-LIST", list=code)
        return row

    @staticmethod
    def _members(session: Session, lst: DestructionListRow) -> list[int]:
        query = select(CouncilMemberRow.member_id).where(
            CouncilMemberRow.list_id == lst.id, CouncilMemberRow.round == lst.round
        )
        return list(session.scalars(query.order_by(CouncilMemberRow.id)))

    @staticmethod
    def _username(session: Session, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        row = session.get(UserRow, user_id)
        return row.username if row is not None else None

    def _items(
        self, lst: DestructionListRow, refs: Sequence[DossierRef], states: tuple[ItemState, ...]
    ) -> list[DestructionItemRow]:
        chosen: list[DestructionItemRow] = []
        for ref in refs:
            matches = [
                item for item in lst.items
                if (item.dossier_id == ref if isinstance(ref, int) else item.dossier_code == ref.strip())
            ]
            if len(matches) > 1:
                raise workflow_error("DS-DOSSIER-AMBIGUOUS", dossier=ref)
            if not matches or matches[0].state not in states:
                raise workflow_error("DS-NOT-ON-LIST", dossier=ref, list=lst.code)
            if matches[0] not in chosen:
                chosen.append(matches[0])
        return chosen

    @staticmethod
    def _comment(comment: str | None, action: Action) -> str:
        text = _nfc(comment)
        if text is None:
            raise workflow_error("DS-COMMENT", action=action.value, action_vi=action.label_vi)
        return text


# ---------------------------------------------------------------- helpers


def _open_items(lst: DestructionListRow) -> list[DestructionItemRow]:
    return [item for item in lst.items if item.state in (ItemState.INCLUDED, ItemState.APPROVED)]


def _close(items: Iterable[DestructionItemRow], state: ItemState, note: str | None, now: datetime) -> None:
    for item in items:
        item.state, item.note, item.changed_at = state, note, now


def _name(item: DestructionItemRow) -> str:
    return item.dossier_code or str(item.dossier_id)


def _dossier_ref(item: DestructionItemRow) -> dict[str, Any]:
    return {"dossier_id": item.dossier_id, "code": item.dossier_code}


def _dossier_refs(items: Iterable[DestructionItemRow]) -> list[dict[str, Any]]:
    return [_dossier_ref(item) for item in items]


def _unique(dossiers: Iterable[DossierRow]) -> list[DossierRow]:
    seen: dict[int, DossierRow] = {}
    for dossier in dossiers:
        seen.setdefault(dossier.id, dossier)
    return list(seen.values())


def _lock_dossiers(session: Session, ids: Sequence[int]) -> list[DossierRow]:
    """The dossiers in the given order, locked (PostgreSQL) so that two lists cannot take the same one."""
    if not ids:
        return []
    rows = {row.id: row for row in session.scalars(
        select(DossierRow).where(DossierRow.id.in_(list(ids))).order_by(DossierRow.id).with_for_update()
    )}
    return [rows[dossier_id] for dossier_id in dict.fromkeys(ids) if dossier_id in rows]


def _user_id(session: Session, name: str) -> int | None:
    row = find_user(session, name)
    return row.id if row is not None else None


def _roles_text(action: Action, *, vi: bool = False) -> str:
    return " / ".join(role.label_vi if vi else role.value for role in ROLES.get(action, {}))


def run_execution(
    catalog: Catalog, workflow: Workflow, code: str, actor: str, executor: Executor, *, on_behalf_of: str | None = None
) -> tuple[ExecutionOrder, ExecutionReport]:
    """Start, execute and record in three steps: the executor runs outside any catalog transaction
    (it deletes objects on storage). An executor that raises leaves every item failed
    (`partially_destroyed`, visible, retried later)."""
    with catalog.session() as session:
        order = workflow.start_execution(session, code, actor, on_behalf_of=on_behalf_of)
    if not order.items:
        return order, ExecutionReport(results=())
    try:
        report = executor.execute(order)
    except Exception as exc:
        log.exception("destruction of list %s failed", code)
        report = ExecutionReport(
            results=tuple(ItemResult(item.dossier_id, ItemOutcome.FAILED, f"executor error: {exc!r}")
                          for item in order.items)
        )
    with catalog.session() as session:
        workflow.finish_execution(session, code, actor, report, on_behalf_of=on_behalf_of)
    return order, report


__all__ = [
    "ACTION_LABELS_VI",
    "MACHINE",
    "ROLES",
    "Acting",
    "Action",
    "ExecutionItem",
    "ExecutionOrder",
    "ExecutionReport",
    "Executor",
    "ItemOutcome",
    "ItemResult",
    "ReviewVerdict",
    "Workflow",
    "WorkflowError",
    "hold_reasons",
    "run_execution",
]
