"""What a command returns to the command line (and later the API): data for `--json`, a text for people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CommandOutput:
    data: dict[str, Any]
    """Printed as JSON with `--json`."""
    text: str
    """Printed otherwise: Vietnamese, NFC."""
    exit_code: int = 0
