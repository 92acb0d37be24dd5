"""Checks run by the gate on a parsed package and its observed content."""

from __future__ import annotations

import importlib

CHECK_MODULES = (
    "archive_core.xmlsafe",
    "ingest.source",
    "ingest.gate",
    "ingest.metadata_pass",
    "ingest.readers.bagit",
    "ingest.readers.tt05",
    "ingest.checks.csip",
    "ingest.checks.fixity",
    "ingest.checks.formats",
    "ingest.checks.metadata",
    "ingest.checks.policy",
    "ingest.checks.virus",
    "ingest.checks.pdfa",
    "ingest.evidence",
    "ingest.pdfsig.check",
    "preservation.migration",
)


def load_all_checks() -> None:
    """Import every module that declares finding codes, so the registry is complete."""
    for name in CHECK_MODULES:
        importlib.import_module(name)
