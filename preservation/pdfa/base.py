"""One interface for PDF/A validators (R-CK-3) and the report they all return.

A validator judges one file against one PDF/A flavour and says `pass`, `fail`
or `unknown`. `unknown` is the honest answer when the validator met something
it does not check: an approval must be right (a false `pass` lets a
non-conforming file into the archive as PDF/A), a denial may be a false alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Verdict = Literal["pass", "fail", "unknown"]

_FLAVOUR = re.compile(r"^(?:pdf/?a-?)?([1-4])([abuef]?)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^(\d+(?:\.\d+)*)-(\d+)$")


@dataclass(frozen=True)
class Flavour:
    """A PDF/A part and conformance level, e.g. part 2 level B (`2b`)."""

    part: int
    level: str
    """`a`, `b`, `u` (parts 1-3), `e`/`f` or empty (part 4)."""

    @classmethod
    def parse(cls, text: str) -> Flavour:
        """`2b`, `2B`, `PDF/A-2b`, `pdfa-3u`, `4` → Flavour; ValueError otherwise."""
        match = _FLAVOUR.match(text.strip())
        if match is None:
            raise ValueError(f"not a PDF/A flavour: {text!r}")
        part, level = int(match.group(1)), match.group(2).lower()
        if (part in (1, 2, 3) and level not in ("a", "b", "u")) or (part == 1 and level == "u"):
            raise ValueError(f"not a PDF/A flavour: {text!r}")
        if part == 4 and level not in ("", "e", "f"):
            raise ValueError(f"not a PDF/A flavour: {text!r}")
        return cls(part, level)

    @property
    def code(self) -> str:
        """`2b`, `4e`, `4`."""
        return f"{self.part}{self.level}"

    @property
    def label(self) -> str:
        """`PDF/A-2B` (the way the standard writes it)."""
        return f"PDF/A-{self.part}{self.level.upper()}"

    @property
    def spec(self) -> str:
        """`ISO 19005-2`."""
        return f"ISO 19005-{self.part}"

    def at_level_b(self) -> Flavour:
        """The level-B flavour of the same part (A and U include every level-B requirement)."""
        return Flavour(self.part, "b") if self.part in (1, 2, 3) else self


@dataclass(frozen=True)
class FailedRule:
    """One ISO 19005 requirement the file does not meet."""

    clause: str
    """ISO 19005 clause, e.g. `6.2.11.4.1`."""
    test: int
    """veraPDF test number within the clause (0 when the validator has none)."""
    description_en: str
    description_vi: str | None = None
    count: int = 1
    """How many objects / places break the rule."""
    specification: str = ""
    """`ISO 19005-2`."""
    example: str = ""
    """Where the first failure was seen (object number, page …)."""

    @property
    def rule_id(self) -> str:
        """veraPDF notation: `6.2.11.4.1-1`."""
        return f"{self.clause}-{self.test}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "specification": self.specification,
            "clause": self.clause,
            "test": self.test,
            "rule_id": self.rule_id,
            "description_en": self.description_en,
            "description_vi": self.description_vi,
            "count": self.count,
            "example": self.example,
        }


def parse_rule_id(rule_id: str) -> tuple[str, int] | None:
    """`6.2.11.4.1-1` → (`6.2.11.4.1`, 1)."""
    match = _RULE_ID.match(rule_id.strip())
    if match is None:
        return None
    return match.group(1), int(match.group(2))


@dataclass
class PdfaReport:
    """What a validator says about one file."""

    path: str
    claimed_part: int | None
    """`pdfaid:part` from the document XMP, None when the file claims nothing."""
    claimed_conformance: str | None
    """`pdfaid:conformance` as written (normally A, B or U)."""
    flavour: str | None
    """Flavour checked (`2b`); None when nothing was checked (no claim and no flavour asked)."""
    verdict: Verdict
    validator: str
    validator_version: str
    failed_rules: list[FailedRule] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """Why the verdict is `unknown`: constructs the validator did not judge."""
    duration_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> str | None:
        """`2B`, `1A`; None when the file carries no PDF/A identification."""
        if self.claimed_part is None:
            return None
        return f"{self.claimed_part}{(self.claimed_conformance or '').upper()}"

    @property
    def claims_pdfa(self) -> bool:
        return self.claimed_part is not None

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def clauses(self) -> list[str]:
        """Failed rule ids in report order, without repeats (`6.1.3-1`, …)."""
        seen: dict[str, None] = {}
        for rule in self.failed_rules:
            seen.setdefault(rule.rule_id, None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "claimed": self.claimed,
            "claimed_part": self.claimed_part,
            "claimed_conformance": self.claimed_conformance,
            "flavour": self.flavour,
            "verdict": self.verdict,
            "failed_rules": [rule.to_dict() for rule in self.failed_rules],
            "unchecked": list(self.unchecked),
            "notes": list(self.notes),
            "validator": {"name": self.validator, "version": self.validator_version},
            "duration_seconds": round(self.duration_seconds, 6),
        }


@runtime_checkable
class PdfaValidator(Protocol):
    """Judges PDF files against ISO 19005 (PDF/A)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def validate(self, path: Path, flavour: str | None = None) -> PdfaReport:
        """Validate one file.

        `flavour` (`1b`, `2b`, `3b`, `2u` …) is what to check against; None means
        "what the file claims" (its XMP pdfaid). A file that claims nothing and
        is given no flavour is reported with verdict `fail` and flavour None.
        """
        ...


class BatchPdfaValidator(PdfaValidator, Protocol):
    """A validator that is cheaper per file when given many files at once (veraPDF)."""

    def validate_many(self, paths: list[Path], flavour: str | None = None) -> dict[Path, PdfaReport]: ...
