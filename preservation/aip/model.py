"""What the AIP builder takes and gives: preservation copies in, the built bag out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archive_core.model import FileRole
from archive_core.premis import PremisEvent
from ingest.package import FormatId

if TYPE_CHECKING:
    from preservation.migration import MigrationResult

AIP_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""An AIP id names a folder and storage keys: letters, digits, `._-`, no leading dot."""


class AipError(Exception):
    """The AIP cannot be built from this gate result (nothing is left under the final name)."""


def new_aip_id() -> str:
    """`aip-<UUID upper>` (storage-design.md)."""
    return f"aip-{str(uuid.uuid4()).upper()}"


@dataclass(frozen=True)
class DerivedFile:
    """A preservation copy made from one original (R-ST-5), to be stored in representation rep2."""

    path: Path
    """The copy on the local disk (copied into the bag, never moved)."""
    source: str
    """Package path of the original in the submission (a key of `GateResult.observed`)."""
    tool: str
    """Tool and version that made the copy (`Ghostscript 10.00.0`)."""
    event: PremisEvent
    """The PREMIS migration event."""
    sha256: str | None = None
    """SHA-256 of the copy when known: the bytes copied into the bag must match it."""
    format: FormatId | None = None
    """Format of the copy; identified from its bytes when None."""

    @classmethod
    def from_migration(cls, migration: MigrationResult, source: str) -> DerivedFile | None:
        """The copy a `preservation.migration` result made, or None when it made none."""
        if migration.status != "created" or migration.copy is None or migration.event is None:
            return None
        return cls(migration.copy, source, migration.tool, migration.event, migration.copy_sha256)


@dataclass(frozen=True)
class AipFile:
    """One file of the bag."""

    path: str
    """Bag-relative POSIX path: `data/representations/rep1/data/x.pdf`, `bag-info.txt`."""
    size: int
    sha256: str
    role: FileRole


@dataclass(frozen=True)
class AipBuild:
    aip_id: str
    bag_dir: Path
    objid: str
    """OBJID of the root METS (= the AIP id)."""
    files: tuple[AipFile, ...]
    """Every file of the bag (payload and tag files), sorted by path."""
    created: datetime
    package_type: str
    """`AIP_hoso` or `AIP_tailieu`."""
    external_identifier: str
    """bag-info External-Identifier: the arcFileCode (or the dossier code when no arcFileCode can be formed)."""

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def payload(self) -> tuple[AipFile, ...]:
        return tuple(f for f in self.files if f.path.startswith("data/"))

    def file(self, path: str) -> AipFile:
        for found in self.files:
            if found.path == path:
                return found
        raise KeyError(path)
