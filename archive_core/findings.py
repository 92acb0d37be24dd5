"""Coded findings: what a check found, with a stable code, severity and rule.

Every kind of finding is declared once with `declare(...)` in the module that
produces it; the registry lets tests prove that every code has both messages and
lets `earchive codes` list them. Messages are `str.format` templates whose
placeholders are filled from the keyword arguments of `Code.at(...)`.
"""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from archive_core.premis import PremisEvent


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]

    @property
    def label_vi(self) -> str:
        return {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}[self.value]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    rule: str
    message_vi: str
    message_en: str
    path: str | None = None
    field: str | None = None
    document: str | None = None
    """Key of the document concerned (its docId / file name), for grouping reports."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "rule": self.rule,
            "path": self.path,
            "field": self.field,
            "document": self.document,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class Code:
    """A kind of finding. Create with `declare`, report with `at`."""

    code: str
    rule: str
    severity: Severity
    message_vi: str
    message_en: str

    def at(
        self,
        *,
        path: str | None = None,
        field: str | None = None,
        document: str | None = None,
        severity: Severity | None = None,
        **params: Any,
    ) -> Finding:
        values = {"path": path or "", "field": field or "", **params}
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            rule=self.rule,
            message_vi=_fill(self.message_vi, values),
            message_en=_fill(self.message_en, values),
            path=path,
            field=field,
            document=document,
        )

    @property
    def placeholders(self) -> set[str]:
        names = set()
        for template in (self.message_vi, self.message_en):
            names |= {name for _, name, _, _ in string.Formatter().parse(template) if name}
        return names


_REGISTRY: dict[str, Code] = {}
_LOCK = threading.Lock()


def declare(code: str, rule: str, severity: Severity, message_vi: str, message_en: str) -> Code:
    """Declare a finding kind. Re-declaring the same code with other text is a bug."""
    kind = Code(code, rule, severity, message_vi, message_en)
    with _LOCK:
        existing = _REGISTRY.get(code)
        if existing is not None and existing != kind:
            raise ValueError(f"finding code {code} declared twice with different content")
        _REGISTRY[code] = kind
    return kind


def registry() -> dict[str, Code]:
    return dict(_REGISTRY)


def _fill(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format_map(_Defaulting(values))
    except (ValueError, IndexError):
        return template


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class PackageRejected(Exception):
    """Raised when a package cannot be read further (hostile or broken input).

    The gate turns it into a rejected verdict carrying the finding; nothing of
    the package is kept outside staging.
    """

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.code}: {finding.message_en}")
        self.finding = finding

    def __reduce__(self) -> tuple[type[PackageRejected], tuple[Finding]]:
        return (type(self), (self.finding,))  # the content worker sends it back to the gate


@dataclass
class CheckContext:
    """Collects findings and PREMIS events from every check of one submission.

    Thread-safe: checks running in the file pool append concurrently.
    """

    findings: list[Finding] = field(default_factory=list)
    events: list[PremisEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, finding: Finding) -> Finding:
        with self._lock:
            self.findings.append(finding)
        return finding

    def report(self, kind: Code, **kwargs: Any) -> Finding:
        return self.add(kind.at(**kwargs))

    def record(self, event: PremisEvent) -> PremisEvent:
        with self._lock:
            self.events.append(event)
        return event

    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def count(self, code: str) -> int:
        return sum(1 for f in self.findings if f.code == code)
