"""R-CK-3: PDF/A conformance of each PDF document file, and the text layer and scan
resolution of digitised documents ("PDF/A hai lớp").

Every PDF that a document declares is validated (the flavour it claims, or
"not PDF/A"), with the validator and its version named in each finding and in
one PREMIS validation event per file. For digitised documents (confidence level
02 số hóa or 03 hỗn hợp, on the document or its dossier) the pages that carry a
scanned image must also carry text, and the scan resolution, estimated from the
image's pixels against its drawn size, must reach `settings.pdfa.min_scan_dpi`
(`min_scan_dpi_maps` for maps and technical drawings, typeName 30 and 31).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import Document, FileRole
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Settings
from ingest.package import ObservedFile, ParsedPackage
from preservation.pdfa import textlayer
from preservation.pdfa.base import PdfaReport, PdfaValidator

log = logging.getLogger(__name__)

NOT_PDFA = declare(
    "CK-PDFA-NOT-PDFA", "R-CK-3", Severity.WARNING,
    "Tệp {path} không phải PDF/A: không có định danh PDF/A (pdfaid) trong siêu dữ liệu XMP ({validator})",
    "{path} is not PDF/A: its XMP metadata carries no PDF/A identification (pdfaid) ({validator})",
)
NONCONFORMING = declare(
    "CK-PDFA-NONCONFORMING", "R-CK-3", Severity.WARNING,
    "Tệp {path} khai báo {claimed} nhưng không đạt {flavour}: vi phạm {clauses} ({validator})",
    "{path} claims {claimed} but does not conform to {flavour}: fails {clauses} ({validator})",
)
UNVERIFIED = declare(
    "CK-PDFA-UNVERIFIED", "R-CK-3", Severity.INFO,
    "Tệp {path} khai báo {claimed}; chưa kiểm chứng được đầy đủ sự phù hợp {flavour}: {reason} ({validator})",
    "{path} claims {claimed}; conformance to {flavour} could not be fully verified: {reason} ({validator})",
)
CONFORMS = declare(
    "CK-PDFA-CONFORMS", "R-CK-3", Severity.INFO,
    "Tệp {path} phù hợp {flavour} ({validator})",
    "{path} conforms to {flavour} ({validator})",
)
NOT_CHECKED = declare(
    "CK-PDFA-NOT-CHECKED", "R-CK-3", Severity.WARNING,
    "Không kiểm tra được PDF/A của tệp {path}: {reason}",
    "PDF/A of {path} could not be checked: {reason}",
)
NO_TEXT_LAYER = declare(
    "CK-PDFA-NO-TEXT-LAYER", "R-CK-3", Severity.WARNING,
    "Tài liệu số hóa {path}: {count} trang ảnh quét không có lớp văn bản (trang {pages}); "
    "yêu cầu PDF/A hai lớp (ảnh và văn bản)",
    "Digitised document {path}: {count} scanned pages have no text layer (pages {pages}); "
    "a two-layer PDF/A (image and text) is required",
)
LOW_DPI = declare(
    "CK-PDFA-LOW-DPI", "R-CK-3", Severity.WARNING,
    "Tài liệu số hóa {path}: độ phân giải quét ước tính {dpi} dpi, thấp hơn mức tối thiểu {minimum} dpi "
    "(trang {pages})",
    "Digitised document {path}: estimated scan resolution {dpi} dpi is below the minimum {minimum} dpi (pages {pages})",
)

DIGITISED_LEVELS = frozenset({"02", "03"})
MAP_TYPES = frozenset({"30", "31"})
_MAX_LISTED_PAGES = 10


@dataclass(frozen=True)
class _Target:
    path: str
    local: Path
    document: Document | None
    digitised: bool
    min_dpi: int


def _is_pdf(observed: ObservedFile) -> bool:
    if observed.format is not None:
        return observed.format.mime == "application/pdf"
    return observed.path.lower().endswith(".pdf")


def _targets(pkg: ParsedPackage, observed: dict[str, ObservedFile], settings: Settings) -> list[_Target]:
    targets: list[_Target] = []
    seen: set[str] = set()
    for dossier in pkg.dossiers:
        for doc in dossier.documents:
            level = (doc.confidence_level or dossier.confidence_level or "").strip()
            digitised = level in DIGITISED_LEVELS
            threshold = settings.pdfa.min_scan_dpi_maps if (doc.type_name or "").strip() in MAP_TYPES \
                else settings.pdfa.min_scan_dpi
            for ref in doc.files:
                seen_file = observed.get(ref.path)
                if ref.path in seen or seen_file is None or not _is_pdf(seen_file):
                    continue
                if ref.role not in (FileRole.ORIGINAL, FileRole.PRESERVATION):
                    continue
                seen.add(ref.path)
                local = Path(seen_file.staged_path) if seen_file.staged_path else Path()
                targets.append(_Target(ref.path, local, doc, digitised, threshold))
    if not pkg.documents:
        for path, seen_file in sorted(observed.items()):
            if _is_pdf(seen_file) and path not in seen:
                local = Path(seen_file.staged_path) if seen_file.staged_path else Path()
                targets.append(_Target(path, local, None, False, settings.pdfa.min_scan_dpi))
    return targets


def check_pdfa(
    pkg: ParsedPackage,
    observed: dict[str, ObservedFile],
    ctx: CheckContext,
    settings: Settings,
    validator: PdfaValidator,
) -> dict[str, PdfaReport]:
    """Validate every PDF document file; returns the report of each, by package path."""
    targets = _targets(pkg, observed, settings)
    runnable = [t for t in targets if t.local != Path() and t.local.is_file()]
    for target in targets:
        if target not in runnable:
            ctx.report(NOT_CHECKED, path=target.path, reason="no local copy of the file was staged",
                       document=_key(target))
    reports = _validate_all(runnable, validator, settings)
    agent = Agent(validator.name, validator.version)
    for target in runnable:
        report = reports[target.path]
        _report_conformance(target, report, ctx, settings)
        ctx.record(_event(target, report, agent))
    with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
        analyses = list(pool.map(_analyse, [t for t in runnable if t.digitised]))
    for target, analysis in zip([t for t in runnable if t.digitised], analyses, strict=True):
        _report_scan(target, analysis, ctx)
    return reports


def _validate_all(targets: list[_Target], validator: PdfaValidator, settings: Settings) -> dict[str, PdfaReport]:
    many = getattr(validator, "validate_many", None)
    if callable(many) and targets:
        by_local = many([t.local for t in targets], None)
        return {t.path: by_local[t.local] for t in targets}
    with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
        results = list(pool.map(lambda t: validator.validate(t.local, None), targets))
    return {t.path: report for t, report in zip(targets, results, strict=True)}


def _key(target: _Target) -> str | None:
    return target.document.key if target.document is not None else None


def _validator_label(report: PdfaReport) -> str:
    return f"{report.validator} {report.validator_version}"


def _report_conformance(target: _Target, report: PdfaReport, ctx: CheckContext, settings: Settings) -> None:
    label = _validator_label(report)
    document = _key(target)
    if not report.claims_pdfa and report.flavour is None:
        ctx.report(NOT_PDFA, path=target.path, validator=label, document=document,
                   severity=Severity(settings.pdfa.non_pdfa_severity))
        return
    claimed = f"PDF/A-{report.claimed}" if report.claimed else "PDF/A"
    flavour = f"PDF/A-{(report.flavour or '').upper()}"
    if report.verdict == "fail":
        ctx.report(NONCONFORMING, path=target.path, claimed=claimed, flavour=flavour,
                   clauses=", ".join(report.clauses()[:12]), validator=label, document=document)
    elif report.verdict == "unknown":
        reason = "; ".join(report.unchecked[:3]) or "the validator did not judge every construct"
        ctx.report(UNVERIFIED, path=target.path, claimed=claimed, flavour=flavour, reason=reason[:500],
                   validator=label, document=document)
    else:
        ctx.report(CONFORMS, path=target.path, flavour=flavour, validator=label, document=document)


def _event(target: _Target, report: PdfaReport, agent: Agent) -> PremisEvent:
    outcome = {"pass": Outcome.SUCCESS, "fail": Outcome.FAILURE, "unknown": Outcome.WARNING}[report.verdict]
    flavour = f"PDF/A-{report.flavour.upper()}" if report.flavour else "PDF/A (no identification)"
    detail = f"PDF/A validation of {target.path} against {flavour} (claimed: {report.claimed or 'none'})"
    outcome_detail: str = report.verdict
    if report.failed_rules:
        outcome_detail += ": " + ", ".join(f"{r.specification} {r.rule_id}" for r in report.failed_rules[:20])
    elif report.unchecked:
        outcome_detail += ": " + "; ".join(report.unchecked[:3])
    return event(
        EventType.VALIDATION, agent, outcome, detail, outcome_detail=outcome_detail[:2000], objects=(target.path,)
    )


def _analyse(target: _Target) -> textlayer.ScanAnalysis | None:
    try:
        return textlayer.analyse_file(target.local)
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        log.info("text layer analysis of %s failed: %s", target.path, exc)
        return None


def _pages(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_MAX_LISTED_PAGES])
    return shown + (" …" if len(numbers) > _MAX_LISTED_PAGES else "")


def _report_scan(target: _Target, analysis: textlayer.ScanAnalysis | None, ctx: CheckContext) -> None:
    if analysis is None:
        return
    missing = analysis.pages_without_text
    if missing:
        ctx.report(NO_TEXT_LAYER, path=target.path, count=len(missing), pages=_pages(missing),
                   document=_key(target))
    low = analysis.low_dpi_pages(target.min_dpi)
    if low:
        dpi = min(p.dpi for p in analysis.scanned_pages if p.dpi is not None and p.index + 1 in low)
        ctx.report(LOW_DPI, path=target.path, dpi=round(dpi), minimum=target.min_dpi, pages=_pages(low),
                   document=_key(target))
