"""Package readers: each turns one kind of package into a `ParsedPackage`.

A reader parses the package's own declarations (METS, BagIt manifests,
metadata XML) into the internal model and reports structural findings
(missing required files, profile deviations) into the `CheckContext`. It never
hashes payload bytes: the gate's content pass does that once for all checks.
"""

from __future__ import annotations

from typing import Protocol

from archive_core.findings import CheckContext
from archive_core.settings import Settings
from ingest.package import ParsedPackage
from ingest.source import PackageSource


class Reader(Protocol):
    name: str
    """Short label used in events (`tt05`, `bagit`)."""

    def accepts(self, source: PackageSource) -> bool:
        """True when the package looks like this reader's kind (cheap: names only)."""

    def read(self, source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
        """Parse declarations and metadata. Raise `PackageRejected` only when nothing more can be read."""
