"""Destruction rules that agencies configure: the council's decision rule, whether the Sở Nội vụ
reviews, the execution period (R-DS-1).

Pydantic models, so that `Settings` can carry them (`[destruction]` in the TOML file):

    [destruction.default]
    so_noi_vu_review = true
    execution_days = 15
    council = { min_members = 3, approval = "majority" }

    [destruction.agencies."H49.64.33"]
    so_noi_vu_review = false
    council_members = ["anhnt.snv", "binhlv.snv", "cuongpd.snv"]

A list keeps the rules of its agency as they were when it was proposed.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, Field


class Approval(StrEnum):
    """How many of the N designated council members must agree to destroy a dossier."""

    MAJORITY = "majority"
    """More than half of N."""
    TWO_THIRDS = "two_thirds"
    """At least two thirds of N."""
    UNANIMOUS = "unanimous"
    """All N: any member's disagreement keeps the dossier."""


class CouncilRule(BaseModel):
    min_members: int = Field(default=3, ge=1)
    """A council with fewer designated members cannot be formed."""
    approval: Approval = Approval.MAJORITY

    def required(self, members: int) -> int:
        """Agreements needed, out of `members` designated, to keep a dossier on the list."""
        if self.approval is Approval.UNANIMOUS:
            return members
        if self.approval is Approval.TWO_THIRDS:
            return math.ceil(2 * members / 3)
        return members // 2 + 1


class AgencyPolicy(BaseModel):
    so_noi_vu_review: bool = True
    """The Sở Nội vụ appraises the list before the head decides (agencies whose records go to the
    historical archive); others go straight from the council to the head."""
    execution_days: int = Field(default=15, ge=1)
    """An approved list must be executed within this many days of the decision, or it expires."""
    council: CouncilRule = Field(default_factory=CouncilRule)
    council_members: list[str] = Field(default_factory=list)
    """User names designated by default when a list is sent to the council."""


class DestructionPolicy(BaseModel):
    default: AgencyPolicy = Field(default_factory=AgencyPolicy)
    agencies: dict[str, AgencyPolicy] = Field(default_factory=dict)

    def for_agency(self, agency_code: str) -> AgencyPolicy:
        return self.agencies.get(agency_code, self.default)
