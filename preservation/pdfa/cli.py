"""Support for `earchive pdfa FILE [--flavour 2b] --json` (the command itself lives in `api.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive_core.settings import Settings
from preservation.pdfa.verapdf import make_validator


def pdfa_json(path: Path, *, flavour: str | None, settings: Settings) -> dict[str, Any]:
    """Validate one file with the configured validator; the report as a JSON-ready dict.

    Keys: `verdict` (pass / fail / unknown), `claimed` (`2B` or None), `flavour`
    checked, `failed_rules` (clause, test, descriptions, count), `validator`
    (name, version), `unchecked`, `notes`, `duration_seconds`, `path`.
    """
    validator = make_validator(settings)
    report = validator.validate(Path(path), flavour)
    return report.to_dict()
