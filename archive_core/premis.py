"""PREMIS 3 style events (R-CK-8): every check leaves one, kept with the AIP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import metadata
from typing import Any

from archive_core.timeutil import Clock, iso_vn, system_clock


class EventType(StrEnum):
    """Library of Congress event-type vocabulary (id.loc.gov/vocabulary/preservation/eventType)."""

    CAPTURE = "capture"
    FIXITY_CHECK = "fixity check"
    FORMAT_IDENTIFICATION = "format identification"
    INGESTION = "ingestion"
    INFORMATION_PACKAGE_CREATION = "information package creation"
    METADATA_EXTRACTION = "metadata extraction"
    METADATA_MODIFICATION = "metadata modification"
    MIGRATION = "migration"
    NORMALIZATION = "normalization"
    POLICY_ASSIGNMENT = "policy assignment"
    RECEIPT = "ingestion start"
    REPLICATION = "replication"
    DELETION = "deletion"
    DESTRUCTION = "destruction"
    TRANSFER = "transfer"
    UNPACKING = "unpacking"
    VALIDATION = "validation"
    VIRUS_CHECK = "virus check"
    DIGITAL_SIGNATURE_VALIDATION = "digital signature validation"


class Outcome(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


def software_version() -> str:
    try:
        return metadata.version("earchive")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@dataclass(frozen=True)
class Agent:
    """The software (or person) that performed an event."""

    name: str
    version: str = field(default_factory=software_version)
    type: str = "software"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class PremisEvent:
    event_type: EventType
    date_time: datetime
    agent: Agent
    outcome: Outcome
    detail: str
    outcome_detail: str = ""
    objects: tuple[str, ...] = ()
    """Package-relative paths of the objects the event concerns (empty: the package)."""
    identifier: str = field(default_factory=lambda: f"uuid-{str(uuid.uuid4()).upper()}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "type": self.event_type.value,
            "date_time": iso_vn(self.date_time, millis=True),
            "agent": self.agent.name,
            "agent_version": self.agent.version,
            "agent_type": self.agent.type,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "outcome_detail": self.outcome_detail,
            "objects": list(self.objects),
        }


def event(
    event_type: EventType,
    agent: Agent,
    outcome: Outcome,
    detail: str,
    *,
    outcome_detail: str = "",
    objects: tuple[str, ...] = (),
    clock: Clock = system_clock,
) -> PremisEvent:
    return PremisEvent(
        event_type=event_type,
        date_time=clock(),
        agent=agent,
        outcome=outcome,
        detail=detail,
        outcome_detail=outcome_detail,
        objects=objects,
    )
