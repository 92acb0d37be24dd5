"""PDF evidence: signatures (R-CK-4), PDF/A and text layer (R-CK-3), preservation copies (R-ST-5).

Runs after the content pass, on local copies of the PDFs (the folder package
itself, or the files staged during the content pass). The heavy tools —
pyHanko and the PDF/A validator — are built once per process and kept warm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import Document
from archive_core.settings import Settings
from ingest.package import ObservedFile, ParsedPackage

if TYPE_CHECKING:
    from ingest.pdfsig.results import FileSignatures
    from ingest.pdfsig.validator import SignatureValidator
    from preservation.migration import MigrationResult
    from preservation.pdfa.base import PdfaReport, PdfaValidator

DIGITISED_LEVELS = {"02", "03"}

COPY_TOO_LARGE = declare(
    "CK-PDFA-COPY-TOO-LARGE", "R-ST-5", Severity.WARNING,
    "Tệp {path} ({size_mb} MB) lớn hơn mức {limit_mb} MB để tự động tạo bản sao bảo quản PDF/A; "
    "bản gốc được lưu nguyên vẹn, bản sao bảo quản cần được tạo riêng",
    "{path} ({size_mb} MB) is above the {limit_mb} MB limit for automatic PDF/A preservation copies; "
    "the original is kept unchanged, a preservation copy must be made separately",
)


@dataclass
class Evidence:
    signatures: dict[str, FileSignatures] = field(default_factory=dict)
    pdfa: dict[str, PdfaReport] = field(default_factory=dict)
    copies: dict[str, MigrationResult] = field(default_factory=dict)
    """Package path of the original → its preservation copy (created, skipped or failed)."""


def check_pdf_evidence(
    package: ParsedPackage,
    observed: dict[str, ObservedFile],
    ctx: CheckContext,
    settings: Settings,
    *,
    at: datetime | None = None,
    copies_dir: Path | None = None,
) -> Evidence:
    """Signatures and PDF/A for every document file; preservation copies when `copies_dir` is given."""
    from ingest.checks.pdfa import check_pdfa
    from ingest.pdfsig.check import check_signatures

    evidence = Evidence()
    evidence.signatures = check_signatures(package, observed, ctx, settings, signature_validator(settings), at=at)
    validator = pdfa_validator(settings)
    evidence.pdfa = check_pdfa(package, observed, ctx, settings, validator)
    if copies_dir is not None and settings.pdfa.make_preservation_copy:
        evidence.copies = _preservation_copies(package, observed, ctx, settings, validator, copies_dir)
    return evidence


def _preservation_copies(
    package: ParsedPackage,
    observed: dict[str, ObservedFile],
    ctx: CheckContext,
    settings: Settings,
    validator: PdfaValidator,
    copies_dir: Path,
) -> dict[str, MigrationResult]:
    from preservation.migration import make_preservation_copy

    results: dict[str, MigrationResult] = {}
    for document in package.documents:
        for ref in document.files:
            found = observed.get(ref.path)
            if found is None or found.staged_path is None:
                continue
            if found.size > settings.pdfa.max_copy_bytes:
                ctx.report(COPY_TOO_LARGE, path=ref.path, document=document.key,
                           size_mb=f"{found.size / 1024**2:.0f}",
                           limit_mb=f"{settings.pdfa.max_copy_bytes / 1024**2:.0f}")
                continue
            result = make_preservation_copy(
                Path(found.staged_path),
                copies_dir / ref.path.rsplit("/", 1)[0],
                settings=settings,
                validator=validator,
                digitised=_is_digitised(package, document),
                package_path=ref.path,
            )
            if result is None:
                continue
            results[ref.path] = result
            for finding in result.findings:
                ctx.add(finding)
            if result.event is not None:
                ctx.record(result.event)
    return results


def _is_digitised(package: ParsedPackage, document: Document) -> bool:
    levels = {document.confidence_level} | {d.confidence_level for d in package.dossiers}
    return bool(levels & DIGITISED_LEVELS)


_SIGNATURE_VALIDATORS: dict[str, SignatureValidator] = {}
_PDFA_VALIDATORS: dict[str, PdfaValidator] = {}


def signature_validator(settings: Settings) -> SignatureValidator:
    """One warm pyHanko validator per process and signature policy."""
    key = f"{settings.trust_dir}|{settings.signatures.model_dump_json()}"
    validator = _SIGNATURE_VALIDATORS.get(key)
    if validator is None:
        from ingest.pdfsig.validator import SignatureValidator

        validator = SignatureValidator(settings)
        validator.warm_up()
        _SIGNATURE_VALIDATORS[key] = validator
    return validator


def pdfa_validator(settings: Settings) -> PdfaValidator:
    """One PDF/A validator per process and PDF/A policy (veraPDF kept warm, or the built-in one)."""
    key = settings.pdfa.model_dump_json()
    validator = _PDFA_VALIDATORS.get(key)
    if validator is None:
        from preservation.pdfa import make_validator

        validator = _PDFA_VALIDATORS[key] = make_validator(settings)
    return validator
