"""The metadata pass: read a package's declarations and metadata into the model and check them.

It runs in the gate's calling thread, beside the content pass (`ingest/content.py`), which reads
every byte in the content worker or in threads of this process (`ingest/content_worker.py` says
why that way round). It needs only the metadata files, read whole through the package source.
"""

from __future__ import annotations

from archive_core.findings import CheckContext, PackageRejected, Severity, declare
from archive_core.settings import Settings
from ingest.package import PackageKind, ParsedPackage
from ingest.readers import Reader
from ingest.source import PackageSource

UNKNOWN_PACKAGE = declare(
    "CK-PKG-UNKNOWN-KIND", "R-IN-1", Severity.ERROR,
    "Không nhận dạng được loại gói: cần gói SIP theo TT 05/2025 (có METS.xml) hoặc túi BagIt (có bagit.txt)",
    "Unknown package kind: expected a TT 05/2025 SIP (with METS.xml) or a BagIt bag (with bagit.txt)",
)
NO_DOSSIER_METADATA = declare(
    "CK-PKG-NO-DOSSIER-METADATA", "R-CK-5", Severity.ERROR,
    "Gói E-ARK không có đặc tả hồ sơ theo TT 05/2025 (metadata/descriptive/EAD.xml dạng simpledc): "
    "không xác định được hồ sơ để lưu trữ",
    "The E-ARK package has no TT 05/2025 dossier description (metadata/descriptive/EAD.xml as simpledc): "
    "there is no dossier to archive",
)
EMPTY_PACKAGE = declare(
    "CK-PKG-NO-DOCUMENTS", "R-IN-1", Severity.ERROR,
    "Gói không có tài liệu nào",
    "The package holds no documents",
)

_NEEDS_DOCUMENTS = {PackageKind.TT05_SIP_HOSO, PackageKind.TT05_SIP_TAILIEU, PackageKind.BAGIT_C02}


def readers() -> list[Reader]:
    """Readers in the order they are tried: BagIt first (a bag may carry METS in its payload)."""
    from ingest.readers.bagit import BagItReader
    from ingest.readers.tt05 import Tt05Reader

    return [BagItReader(), Tt05Reader()]


def read_metadata(source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
    """Read the package into the model and run the checks that need only the metadata.

    Findings and events go to `ctx`; raises `PackageRejected` when the package cannot be read further.
    """
    package = _read(source, ctx, settings)
    _check_model(package, ctx, settings)
    return package


def _read(source: PackageSource, ctx: CheckContext, settings: Settings) -> ParsedPackage:
    for reader in readers():
        if reader.accepts(source):
            package = reader.read(source, ctx, settings)
            package.files = package.files or [e.path for e in source.entries()]
            return package
    raise PackageRejected(UNKNOWN_PACKAGE.at())


def _check_model(package: ParsedPackage, ctx: CheckContext, settings: Settings) -> None:
    from ingest.checks.metadata import check_metadata
    from ingest.checks.policy import check_policy_metadata

    if package.kind is PackageKind.CSIP:
        ctx.report(NO_DOSSIER_METADATA)
    elif package.kind in _NEEDS_DOCUMENTS and not package.documents:
        ctx.report(EMPTY_PACKAGE)
    check_metadata(package, ctx, settings)
    check_policy_metadata(package, ctx, settings.policy)
