"""Verdict and receipt of a submission (R-IN-2)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from archive_core.findings import Finding, Severity
from archive_core.timeutil import iso_vn


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"

    @property
    def exit_code(self) -> int:
        return {"accepted": 0, "accepted_with_warnings": 10, "rejected": 20}[self.value]

    @property
    def label_vi(self) -> str:
        return {
            "accepted": "Đạt — đủ điều kiện tiếp nhận",
            "accepted_with_warnings": "Đạt, có cảnh báo — đủ điều kiện tiếp nhận",
            "rejected": "Không đạt — từ chối tiếp nhận",
        }[self.value]


def verdict_of(findings: list[Finding]) -> Verdict:
    worst = max((f.severity.rank for f in findings), default=Severity.INFO.rank)
    if worst >= Severity.ERROR.rank:
        return Verdict.REJECTED
    if worst >= Severity.WARNING.rank:
        return Verdict.ACCEPTED_WITH_WARNINGS
    return Verdict.ACCEPTED


def new_submission_id(received_at: datetime) -> str:
    """`NL-20261121-7F3A9C21`: readable over the phone, unique in practice (32 random bits a day)."""
    return f"NL-{received_at:%Y%m%d}-{secrets.token_hex(4).upper()}"


@dataclass(frozen=True)
class Receipt:
    """Biên nhận: what R-IN-2 requires, given at once for every submission."""

    submission_id: str
    package_name: str
    package_kind: str
    agency_code: str | None
    agency_name: str | None
    dossier_codes: tuple[str, ...]
    dossiers: int
    documents: int
    files: int
    total_bytes: int
    received_at: datetime
    status: Verdict
    fingerprint: str | None
    """SHA-256 over (path, SHA-256) of every file: the same package gives the same value."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "package_name": self.package_name,
            "package_kind": self.package_kind,
            "agency_code": self.agency_code,
            "agency_name": self.agency_name,
            "dossier_codes": list(self.dossier_codes),
            "dossiers": self.dossiers,
            "documents": self.documents,
            "files": self.files,
            "total_bytes": self.total_bytes,
            "received_at": iso_vn(self.received_at),
            "status": self.status.value,
            "status_vi": self.status.label_vi,
            "fingerprint": self.fingerprint,
        }
