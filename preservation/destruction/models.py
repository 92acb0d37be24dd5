"""Catalog tables of the destruction workflow (R-DS-1, R-DS-3): lists, their dossiers, the council,
opinions and every transition.

Created by the Alembic revision `0003_workflow`, which must stay identical to
these models (tests/test_destruction_workflow.py compares them). Rows are never
deleted: the list, every decision and who made it are kept forever (R-DS-3).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_core.accounts import UserRow
from archive_core.catalog.models import CODE_CHARS, Base, DossierRow
from archive_core.catalog.types import BIG_ID, JSON_DOCUMENT, UtcDateTime, str_enum

LIST_CODE_CHARS = 64
ACTOR_CHARS = 64


class ListState(StrEnum):
    PROPOSED = "proposed"
    COUNCIL_REVIEW = "council_review"
    SO_NOI_VU_REVIEW = "so_noi_vu_review"
    HEAD_DECISION = "head_decision"
    APPROVED = "approved"
    EXECUTING = "executing"
    EXECUTED = "executed"
    PARTIALLY_DESTROYED = "partially_destroyed"
    """Some dossiers could not be destroyed completely: flagged until a retry succeeds (R-DS-4)."""
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label_vi(self) -> str:
        return LIST_STATE_LABELS_VI[self]

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


LIST_STATE_LABELS_VI: dict[ListState, str] = {
    ListState.PROPOSED: "Đã lập danh mục (chờ trình Hội đồng)",
    ListState.COUNCIL_REVIEW: "Hội đồng xét hủy đang thẩm tra",
    ListState.SO_NOI_VU_REVIEW: "Chờ Sở Nội vụ thẩm định",
    ListState.HEAD_DECISION: "Chờ Thủ trưởng quyết định",
    ListState.APPROVED: "Đã quyết định hủy (chờ thực hiện)",
    ListState.EXECUTING: "Đang hủy",
    ListState.EXECUTED: "Đã hủy xong",
    ListState.PARTIALLY_DESTROYED: "HỦY CHƯA HOÀN TẤT (cần thực hiện lại)",
    ListState.REJECTED: "Không được duyệt",
    ListState.CANCELLED: "Đã hủy bỏ danh mục",
}
TERMINAL_STATES = frozenset({ListState.EXECUTED, ListState.REJECTED, ListState.CANCELLED})


class ItemState(StrEnum):
    INCLUDED = "included"
    """On the list, waiting for the next decision."""
    WITHDRAWN = "withdrawn"
    """Taken off by the archivist before the council."""
    EXCLUDED = "excluded"
    """The council kept it (or the Sở Nội vụ did): back to normal retention."""
    HELD = "held"
    """A legal hold appeared: taken off the list, back to normal retention (R-RT-4)."""
    REJECTED = "rejected"
    """The head (or the Sở Nội vụ) refused it, or the whole list was rejected."""
    CANCELLED = "cancelled"
    APPROVED = "approved"
    EXECUTING = "executing"
    FAILED = "failed"
    """Execution did not complete for this dossier: retried (R-DS-4)."""
    DESTROYED = "destroyed"

    @property
    def label_vi(self) -> str:
        return ITEM_STATE_LABELS_VI[self]


ITEM_STATE_LABELS_VI: dict[ItemState, str] = {
    ItemState.INCLUDED: "Trong danh mục",
    ItemState.WITHDRAWN: "Rút khỏi danh mục",
    ItemState.EXCLUDED: "Hội đồng / Sở Nội vụ đề nghị giữ lại",
    ItemState.HELD: "Bị phong tỏa (legal hold): giữ lại",
    ItemState.REJECTED: "Không được duyệt hủy",
    ItemState.CANCELLED: "Danh mục bị hủy bỏ",
    ItemState.APPROVED: "Được duyệt hủy",
    ItemState.EXECUTING: "Đang hủy",
    ItemState.FAILED: "HỦY CHƯA HOÀN TẤT",
    ItemState.DESTROYED: "Đã hủy",
}
OPEN_ITEM_STATES = (ItemState.INCLUDED, ItemState.APPROVED, ItemState.EXECUTING, ItemState.FAILED)
"""A dossier is on at most one list in these states (a partial unique index enforces it)."""
_OPEN_ITEMS_SQL = "state IN ('included', 'approved', 'executing', 'failed')"


class Opinion(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"

    @property
    def label_vi(self) -> str:
        return "Đồng ý hủy" if self is Opinion.AGREE else "Không đồng ý hủy"


class Capacity(StrEnum):
    """In which capacity a person takes part in one list (separation of duties)."""

    PROPOSER = "proposer"
    COUNCIL = "council"
    REVIEWER = "reviewer"
    HEAD = "head"
    EXECUTOR = "executor"
    SYSTEM = "system"

    @property
    def label_vi(self) -> str:
        return CAPACITY_LABELS_VI[self]


CAPACITY_LABELS_VI: dict[Capacity, str] = {
    Capacity.PROPOSER: "người lập danh mục",
    Capacity.COUNCIL: "thành viên Hội đồng xét hủy",
    Capacity.REVIEWER: "người thẩm định của Sở Nội vụ",
    Capacity.HEAD: "Thủ trưởng quyết định",
    Capacity.EXECUTOR: "người thực hiện hủy",
    Capacity.SYSTEM: "hệ thống",
}


class DestructionListRow(Base):
    """Danh mục tài liệu hết giá trị đề nghị hủy: one agency's list and where it stands."""

    __tablename__ = "destruction_lists"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(LIST_CODE_CHARS), nullable=False, unique=True)
    """`HUY-20261121-7F3A9C21`."""
    agency_code: Mapped[str] = mapped_column(String(CODE_CHARS), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[ListState] = mapped_column(str_enum(ListState, "destruction_list_state"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    """Council round: a list returned by the Sở Nội vụ goes before the council again."""
    due_list_id: Mapped[int | None] = mapped_column(BIG_ID)
    """The stored due list (`due_lists.id`) it was made from; not a foreign key: that table is on another branch."""
    policy: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT, nullable=False)
    """The agency's rules when the list was proposed; later configuration changes do not apply to it."""
    so_noi_vu_required: Mapped[bool] = mapped_column(Boolean, nullable=False)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    execution_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    proposed_by: Mapped[UserRow] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[UserRow | None] = relationship(foreign_keys=[decided_by_id])
    items: Mapped[list[DestructionItemRow]] = relationship(
        back_populates="destruction_list", order_by="DestructionItemRow.position"
    )

    __table_args__ = (
        Index(None, "state", "agency_code"),
        Index(None, "agency_code", "proposed_at"),
    )


class DestructionItemRow(Base):
    """One dossier of a list, with what it was when proposed (the list outlives the dossier's content)."""

    __tablename__ = "destruction_items"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_lists.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), nullable=False)
    state: Mapped[ItemState] = mapped_column(str_enum(ItemState, "destruction_item_state"), nullable=False)
    dossier_code: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    title: Mapped[str | None] = mapped_column(Text)
    retention_due: Mapped[date | None] = mapped_column(Date)
    maintenance: Mapped[str | None] = mapped_column(Text)
    aip_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    """Why the dossier left the list, or the executor's report for it."""
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    destruction_list: Mapped[DestructionListRow] = relationship(back_populates="items")
    dossier: Mapped[DossierRow] = relationship()

    __table_args__ = (
        UniqueConstraint("list_id", "dossier_id"),
        UniqueConstraint("list_id", "position"),
        Index(
            "uq_destruction_items_open_dossier",
            "dossier_id",
            unique=True,
            sqlite_where=text(_OPEN_ITEMS_SQL),
            postgresql_where=text(_OPEN_ITEMS_SQL),
        ),
    )


class CouncilMemberRow(Base):
    """A member designated to appraise a list in one council round."""

    __tablename__ = "destruction_council_members"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_lists.id"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    designated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("list_id", "round", "member_id"),)


class TransitionRow(Base):
    """One recorded step of a list: who (and for whom), in which role and capacity, when, why."""

    __tablename__ = "destruction_transitions"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_lists.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    from_state: Mapped[ListState | None] = mapped_column(str_enum(ListState, "transition_from_state"))
    to_state: Mapped[ListState] = mapped_column(str_enum(ListState, "transition_to_state"), nullable=False)
    actor: Mapped[str] = mapped_column(String(ACTOR_CHARS), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of: Mapped[str | None] = mapped_column(String(ACTOR_CHARS))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delegation_id: Mapped[int | None] = mapped_column(BIG_ID)
    role: Mapped[str | None] = mapped_column(String(32))
    capacity: Mapped[Capacity] = mapped_column(str_enum(Capacity, "destruction_capacity"), nullable=False)
    slot_id: Mapped[int | None] = mapped_column(BIG_ID)
    """For a council opinion: the designated member whose vote this is."""
    persons: Mapped[list[int]] = mapped_column(JSON_DOCUMENT, nullable=False)
    """Ids of everyone behind this step (actor, delegator, delegation partners): separation of duties."""
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT, nullable=False)
    audit_seq: Mapped[int] = mapped_column(BIG_ID, nullable=False)
    """The audit log entry written in the same transaction."""

    __table_args__ = (UniqueConstraint("list_id", "seq"),)


class OpinionRow(Base):
    """A council member's opinion on one dossier of a list in one round; the latest one counts."""

    __tablename__ = "destruction_opinions"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_lists.id"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("destruction_items.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    opinion: Mapped[Opinion] = mapped_column(str_enum(Opinion, "destruction_opinion"), nullable=False)
    whole_list: Mapped[bool] = mapped_column(Boolean, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    transition_id: Mapped[int] = mapped_column(ForeignKey("destruction_transitions.id"), nullable=False)

    __table_args__ = (Index(None, "list_id", "round", "member_id"),)
