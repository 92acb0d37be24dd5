"""The ingest gate: read a package, check everything, give a verdict and a receipt.

                  ┌► metadata pass ───┐   (model, declarations, metadata and policy rules)
    open source ──┤  (this thread)     ├─► checks ─► verdict + receipt
    (bounded)     └► content pass ─────┘   (fixity, formats, sizes)
                     (hash + format, once: content worker process or threads here)

Nothing is written outside the submission's staging folder, and the staging
folder is removed afterwards unless the caller keeps it for ingest.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from archive_core.findings import CheckContext, Finding, PackageRejected, Severity
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Settings
from archive_core.timeutil import Clock, iso_vn, system_clock
from ingest.checks.virus import check_viruses
from ingest.content import SUPPORTED_ALGORITHMS, ContentPass, likely_algorithms, package_fingerprint
from ingest.content_worker import ContentJob, ContentOutcome, start_content_pass, use_worker
from ingest.evidence import Evidence, check_pdf_evidence
from ingest.metadata_pass import read_metadata
from ingest.package import ObservedFile, PackageKind, ParsedPackage
from ingest.receipt import Receipt, Verdict, new_submission_id, verdict_of
from ingest.source import PackageSource, open_source

log = logging.getLogger(__name__)
AGENT = Agent("earchive.gate")

@dataclass(frozen=True)
class GateOptions:
    """Which stages run. The defaults are the full gate."""

    virus_scan: bool = True
    pdf_evidence: bool = True
    """Signatures, PDF/A, text layer: needs each PDF as a local file (staged for ZIP/tar)."""
    keep_staging: bool = False
    stage_files: bool = False
    """Copy every file into staging during the content pass (ingest keeps them for the AIP)."""
    preservation_copies: bool = False
    """Make PDF/A-2b preservation copies (ingest); a plain check only reports."""
    signatures_at: datetime | None = None
    """Judge signatures at this time instead of now (`earchive signatures --at`)."""


STRUCTURAL_ONLY = GateOptions(virus_scan=False, pdf_evidence=False)


class ProgressHook(Protocol):
    def start(self, total_bytes: int, files: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


@dataclass
class GateResult:
    submission_id: str
    received_at: datetime
    finished_at: datetime
    package_path: str
    package: ParsedPackage | None
    observed: dict[str, ObservedFile]
    findings: list[Finding]
    events: list[PremisEvent]
    verdict: Verdict
    receipt: Receipt
    evidence: Evidence = field(default_factory=Evidence)
    """Signatures, PDF/A reports and preservation copies (when the PDF evidence stage ran)."""
    staging: Path | None = None

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "verdict": self.verdict.value,
            "verdict_vi": self.verdict.label_vi,
            "received_at": iso_vn(self.received_at),
            "finished_at": iso_vn(self.finished_at),
            "package": self.package_path,
            "receipt": self.receipt.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "events": [e.to_dict() for e in self.events],
            "documents": _documents_summary(self),
            "signatures": {path: sig.to_dict() for path, sig in self.evidence.signatures.items()},
            "pdfa": {path: report.to_dict() for path, report in self.evidence.pdfa.items()},
        }


def check_package(
    path: Path,
    settings: Settings,
    *,
    progress: ProgressHook | None = None,
    clock: Clock = system_clock,
    options: GateOptions = GateOptions(),
) -> GateResult:
    """Run the whole gate on one package. Never raises for bad input: it reports."""
    received_at = clock()
    submission_id = new_submission_id(received_at)
    staging = settings.staging_dir / submission_id
    staging.mkdir(parents=True, exist_ok=False)
    ctx = CheckContext()
    ctx.record(_receipt_event(path, clock))
    package: ParsedPackage | None = None
    observed: dict[str, ObservedFile] = {}
    evidence = Evidence()
    try:
        with open_source(path, settings.limits, staging / "unpacked") as source:
            needs_local = options.stage_files or (options.pdf_evidence and not _is_local(source))
            job = ContentJob(
                algorithms=likely_algorithms(source),
                threads=settings.workers,
                chunk_bytes=settings.chunk_bytes,
                sink=staging / "files" if needs_local else None,
                virus=settings.virus if options.virus_scan else None,
            )
            in_worker = use_worker(len(source.entries()), settings)
            package, content = _read_while_hashing(source, job, ctx, settings, progress, in_worker=in_worker)
            observed = content.observed
            _check_content(package, observed, ctx, settings)
            infected = False
            if content.scan is not None:
                check_viruses(package, source, content.scan, ctx, settings.quarantine_dir / submission_id)
                infected = content.scan.infected
            if options.pdf_evidence and not infected:
                copies = staging / "copies" if options.preservation_copies else None
                evidence = check_pdf_evidence(
                    package, observed, ctx, settings, at=options.signatures_at, copies_dir=copies
                )
    except PackageRejected as rejected:
        ctx.add(rejected.finding)
        ctx.record(event(EventType.VALIDATION, AGENT, Outcome.FAILURE, rejected.finding.message_vi, clock=clock))
    finally:
        if not options.keep_staging:
            shutil.rmtree(staging, ignore_errors=True)
    verdict = verdict_of(ctx.findings)
    finished_at = clock()
    ctx.record(
        event(
            EventType.VALIDATION,
            AGENT,
            _outcome(verdict),
            f"Kết luận kiểm tra gói: {verdict.label_vi}",
            outcome_detail=f"verdict={verdict.value} findings={len(ctx.findings)}",
            clock=clock,
        )
    )
    receipt = _receipt(submission_id, path, package, observed, received_at, verdict)
    log.info(
        "package checked",
        extra={"submission_id": submission_id, "verdict": verdict.value, "findings": len(ctx.findings)},
    )
    return GateResult(
        submission_id=submission_id,
        received_at=received_at,
        finished_at=finished_at,
        package_path=str(path),
        package=package,
        observed=observed,
        findings=sorted(ctx.findings, key=_finding_order),
        events=list(ctx.events),
        verdict=verdict,
        receipt=receipt,
        evidence=evidence,
        staging=staging if options.keep_staging else None,
    )


def _read_while_hashing(
    source: PackageSource,
    job: ContentJob,
    ctx: CheckContext,
    settings: Settings,
    progress: ProgressHook | None,
    *,
    in_worker: bool,
) -> tuple[ParsedPackage, ContentOutcome]:
    """Run the metadata pass here while the content pass reads the bytes (content worker or threads).

    A package refused by the metadata pass stops the content pass early. Algorithms only a METS
    declares (rare: METS uses SHA-256) are computed afterwards for the files that need them.
    """
    if progress is not None:
        entries = source.entries()
        progress.start(sum(e.size for e in entries), len(entries))
    try:
        pending = start_content_pass(source, job, in_worker=in_worker, progress=progress.advance if progress else None)
        try:
            try:
                package = read_metadata(source, ctx, settings)
            except PackageRejected:
                pending.cancel()
                raise
            pending.more()  # the metadata pass's core is free for a part of the content pass
            content = pending.result()
        finally:
            pending.abandon()
    finally:
        if progress is not None:
            progress.finish()
    _add_missing_algorithms(source, job, package, content.observed)
    return package, content


def _add_missing_algorithms(
    source: PackageSource, job: ContentJob, package: ParsedPackage, observed: dict[str, ObservedFile]
) -> None:
    missing = (package.algorithms() & SUPPORTED_ALGORITHMS) - job.algorithms
    if not missing:
        return
    paths = {d.path for d in package.declared if set(d.checksums) & missing}
    entries = [e for e in source.entries() if e.path in paths]
    extra = ContentPass(source=source, algorithms=frozenset(missing), workers=job.threads).run(entries)
    for path, found in extra.items():
        if path in observed:
            observed[path].checksums.update(found.checksums)


def _check_content(
    package: ParsedPackage, observed: dict[str, ObservedFile], ctx: CheckContext, settings: Settings
) -> None:
    """Checks that compare the declarations with what the content pass observed."""
    from ingest.checks.fixity import check_fixity
    from ingest.checks.formats import check_formats
    from ingest.checks.policy import check_policy_content

    check_fixity(package, observed, ctx)
    check_formats(package, observed, ctx, settings.policy)
    check_policy_content(package, observed, ctx, settings.policy)


def _is_local(source: PackageSource) -> bool:
    entries = source.entries()
    return not entries or source.local_path(entries[0].path) is not None


def _receipt_event(path: Path, clock: Clock) -> PremisEvent:
    return event(
        EventType.RECEIPT,
        AGENT,
        Outcome.SUCCESS,
        f"Tiếp nhận gói {path.name}",
        objects=(path.name,),
        clock=clock,
    )


def _receipt(
    submission_id: str,
    path: Path,
    package: ParsedPackage | None,
    observed: dict[str, ObservedFile],
    received_at: datetime,
    verdict: Verdict,
) -> Receipt:
    dossiers = package.dossiers if package else []
    return Receipt(
        submission_id=submission_id,
        package_name=path.name,
        package_kind=package.kind.value if package else PackageKind.UNKNOWN.value,
        agency_code=package.agency_code if package else None,
        agency_name=package.agency_name if package else None,
        dossier_codes=tuple(d.code or "" for d in dossiers),
        dossiers=len(dossiers),
        documents=sum(len(d.documents) for d in dossiers),
        files=len(observed),
        total_bytes=sum(o.size for o in observed.values()),
        received_at=received_at,
        status=verdict,
        fingerprint=package_fingerprint(observed) if observed else None,
    )


def _outcome(verdict: Verdict) -> Outcome:
    return {
        Verdict.ACCEPTED: Outcome.SUCCESS,
        Verdict.ACCEPTED_WITH_WARNINGS: Outcome.WARNING,
        Verdict.REJECTED: Outcome.FAILURE,
    }[verdict]


def _finding_order(finding: Finding) -> tuple[int, str, str, str]:
    return (-finding.severity.rank, finding.document or "", finding.path or "", finding.code)


def _documents_summary(result: GateResult) -> list[dict[str, Any]]:
    """Per document: passed or failed, with its findings' codes (R-IN-4)."""
    if result.package is None:
        return []
    summary = []
    for doc in result.package.documents:
        own = [f for f in result.findings if f.document == doc.key]
        errors = [f for f in own if f.severity is Severity.ERROR]
        summary.append(
            {
                "key": doc.key,
                "subject": doc.subject,
                "files": [f.path for f in doc.files],
                "status": "failed" if errors else "passed",
                "codes": sorted({f.code for f in own}),
            }
        )
    return summary
