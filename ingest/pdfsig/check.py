"""R-CK-4 check of the ingest gate: every PDF of every document, findings and PREMIS events.

Signed PDFs are the legal substance of a dossier (TT 41/2017 Điều 8, TT 15/2025): for
each one the archivist learns whether its signatures are intact and trusted; an unsigned
one is for reference only (Đắk Lắk Điều 3). Severities come from `SignaturePolicy`.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from archive_core.findings import CheckContext, Code, Finding, Severity, declare
from archive_core.model import Document
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Settings
from ingest.package import ObservedFile, ParsedPackage
from ingest.pdfsig.results import Effect, FileSignatures, Modification, Reason, SignatureResult, Status
from ingest.pdfsig.validator import SignatureValidator

log = logging.getLogger(__name__)
AGENT = Agent("earchive.signatures")
RULE = "R-CK-4"

UNSIGNED = declare(
    "CK-SIG-UNSIGNED", RULE, Severity.INFO,
    "Tệp {path} không có chữ ký số: văn bản điện tử chưa ký số chỉ có giá trị tham khảo",
    "{path} carries no digital signature: an unsigned electronic document is for reference only",
)
VALID = declare(
    "CK-SIG-VALID", RULE, Severity.INFO,
    "Tệp {path}: {summary}",
    "{path}: {summary}",
)
INVALID = declare(
    "CK-SIG-INVALID", RULE, Severity.ERROR,
    "Chữ ký số {field} trên tệp {path} không hợp lệ ({signer}): {detail}",
    "Signature {field} on {path} is invalid ({signer}): {detail}",
)
MODIFIED = declare(
    "CK-SIG-MODIFIED", RULE, Severity.ERROR,
    "Tệp {path} đã bị thay đổi sau khi {signer} ký (trường {field}): {detail}",
    "{path} was changed after {signer} signed it (field {field}): {detail}",
)
UNTRUSTED = declare(
    "CK-SIG-UNTRUSTED", RULE, Severity.WARNING,
    "Chữ ký số {field} của {signer} trên tệp {path} không dẫn tới chứng thư gốc được tin cậy: {detail}",
    "Signature {field} by {signer} on {path} does not chain to a trusted root: {detail}",
)
INDETERMINATE = declare(
    "CK-SIG-INDETERMINATE", RULE, Severity.WARNING,
    "Chưa xác định được tính hợp lệ của chữ ký số {field} của {signer} trên tệp {path}: {detail}",
    "Signature {field} by {signer} on {path} is indeterminate: {detail}",
)
REVOCATION_UNKNOWN = declare(
    "CK-SIG-REVOCATION-UNKNOWN", RULE, Severity.INFO,
    "Chưa kiểm tra được tình trạng thu hồi chứng thư số của {signer} trên tệp {path}: {detail}",
    "Revocation status of {signer}'s certificate on {path} is unknown: {detail}",
)
UNREADABLE = declare(
    "CK-SIG-UNREADABLE", RULE, Severity.WARNING,
    "Không kiểm tra được chữ ký số của tệp {path}: {detail}",
    "Signatures of {path} cannot be checked: {detail}",
)
NOT_STAGED = declare(
    "CK-SIG-NOT-STAGED", RULE, Severity.WARNING,
    "Tệp PDF {path} không có bản sao cục bộ nên chưa kiểm tra chữ ký số",
    "{path} has no local staged copy, so its signatures were not checked",
)

MODIFICATION_CODES = {
    "modified_after_signing", "non_signature_update", "metadata_changed", "form_field_changed", "appended_bytes",
    "docmdp_violation", "nonstandard_coverage",
}


def is_pdf(path: str, observed: ObservedFile | None) -> bool:
    if observed is not None and observed.format is not None and observed.format.mime == "application/pdf":
        return True
    return path.lower().endswith(".pdf")


def check_signatures(
    pkg: ParsedPackage,
    observed: dict[str, ObservedFile],
    ctx: CheckContext,
    settings: Settings,
    validator: SignatureValidator,
    *,
    at: datetime | None = None,
) -> dict[str, FileSignatures]:
    """Validate the signatures of every PDF document file; returns results by package path."""
    documents = [(doc, _pdf_paths(doc, observed)) for doc in pkg.documents]
    paths = sorted({path for _doc, doc_paths in documents for path in doc_paths})
    staged: dict[str, Path] = {}
    for path in paths:
        local = observed[path].staged_path
        if local:
            staged[path] = Path(local)
    results = _validate_all(staged, validator, settings.workers, at)
    for doc, doc_paths in documents:
        if not doc_paths:
            continue
        before = len(ctx.findings)
        for path in doc_paths:
            _report_file(path, results.get(path), path in staged, ctx, settings, doc.key)
        ctx.record(_document_event(doc, doc_paths, results, ctx, before))
    return {path: found for path in paths if isinstance(found := results.get(path), FileSignatures)}


def _pdf_paths(doc: Document, observed: dict[str, ObservedFile]) -> list[str]:
    seen: list[str] = []
    for ref in doc.files:
        found = observed.get(ref.path)
        if found is not None and is_pdf(ref.path, found) and ref.path not in seen:
            seen.append(ref.path)
    return seen


def _validate_all(
    staged: dict[str, Path], validator: SignatureValidator, workers: int, at: datetime | None
) -> dict[str, FileSignatures | BaseException]:
    if not staged:
        return {}
    validator.warm_up()  # import pyHanko once, outside the pool
    results: dict[str, FileSignatures | BaseException] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pdfsig") as pool:
        futures = {path: pool.submit(validator.validate_file, local, at=at) for path, local in staged.items()}
        for path, future in futures.items():
            try:
                results[path] = future.result()
            except Exception as exc:  # OSError on the staged copy, or a validator bug
                log.warning("signature validation of %s failed: %s", path, exc)
                results[path] = exc
    return results


def _severity(value: str) -> Severity:
    return Severity(value)


def _report_file(
    path: str,
    outcome: FileSignatures | BaseException | None,
    was_staged: bool,
    ctx: CheckContext,
    settings: Settings,
    document: str,
) -> None:
    policy = settings.signatures
    if not was_staged:
        ctx.report(NOT_STAGED, path=path, document=document)
        return
    if outcome is None or isinstance(outcome, BaseException):
        ctx.report(UNREADABLE, path=path, document=document, detail=str(outcome))
        return
    if not outcome.readable:
        error = outcome.error
        common = {"path": path, "document": document}
        ctx.add(_bilingual(UNREADABLE, UNREADABLE.severity, common,
                           error.message_vi if error else "—", error.message_en if error else "—"))
        return
    if not outcome.signed:
        ctx.report(UNSIGNED, path=path, document=document, severity=_severity(policy.unsigned_severity))
    for signature in outcome.signatures:
        _report_signature(path, signature, ctx, settings, document)


def _report_signature(path: str, sig: SignatureResult, ctx: CheckContext, settings: Settings, document: str) -> None:
    policy = settings.signatures
    signer = sig.signer.display_vi if sig.signer else sig.field_name
    common = {"path": path, "document": document, "field": sig.field_name, "signer": signer}
    modification = [r for r in sig.reasons if r.code in MODIFICATION_CODES]
    invalid = [r for r in sig.reasons if r.effect is Effect.INVALID and r.code not in MODIFICATION_CODES]
    untrusted = [r for r in sig.reasons if r.code == "untrusted_chain"]
    indeterminate = [r for r in sig.reasons if r.effect is Effect.INDETERMINATE and r.code != "untrusted_chain"]
    revocation = [r for r in sig.reasons if r.code == "revocation_unknown" and r.effect is Effect.NOTICE]
    if sig.modification is Modification.MODIFIED or modification:
        _report(ctx, MODIFIED, policy.modified_severity, modification, common)
    if invalid:
        _report(ctx, INVALID, policy.invalid_severity, invalid, common)
    if untrusted:
        _report(ctx, UNTRUSTED, policy.untrusted_severity, untrusted, common)
    if indeterminate:
        _report(ctx, INDETERMINATE, policy.untrusted_severity, indeterminate, common)
    if revocation:
        _report(ctx, REVOCATION_UNKNOWN, "info", revocation, common)
    if sig.status is Status.VALID:
        ctx.add(_bilingual(VALID, Severity.INFO, common, sig.message_vi, sig.message_en, key="summary"))


def _report(ctx: CheckContext, kind: Code, severity: str, reasons: list[Reason], common: dict[str, str]) -> None:
    detail_vi = "; ".join(r.message_vi for r in reasons) or "—"
    detail_en = "; ".join(r.message_en for r in reasons) or "—"
    ctx.add(_bilingual(kind, _severity(severity), common, detail_vi, detail_en))


def _bilingual(kind: Code, severity: Severity, common: dict[str, str], text_vi: str, text_en: str,
               *, key: str = "detail") -> Finding:
    """A finding whose Vietnamese and English texts each get the detail in their own language."""
    params = {k: v for k, v in common.items() if k not in ("path", "document")}
    vi = kind.at(path=common["path"], document=common["document"], severity=severity, **params, **{key: text_vi})
    en = kind.at(path=common["path"], document=common["document"], severity=severity, **params, **{key: text_en})
    return replace(vi, message_en=en.message_en)


def _document_event(
    doc: Document,
    paths: list[str],
    results: dict[str, FileSignatures | BaseException],
    ctx: CheckContext,
    before: int,
) -> PremisEvent:
    findings = [f for f in ctx.findings[before:] if f.document == doc.key]
    worst = max((f.severity.rank for f in findings), default=0)
    outcome = {2: Outcome.FAILURE, 1: Outcome.WARNING}.get(worst, Outcome.SUCCESS)
    files = []
    for path in paths:
        result = results.get(path)
        if isinstance(result, FileSignatures):
            files.append({
                "path": path,
                "sha256": result.sha256,
                "signed": result.signed,
                "status": result.status.value if result.status else None,
                "readable": result.readable,
                "signatureInformation": [s.signature_information for s in result.signatures],
            })
        else:
            files.append({"path": path, "error": str(result) if result is not None else "not staged"})
    signed = sum(1 for f in files if f.get("signed"))
    signatures = sum(len(r.signatures) for r in results.values() if isinstance(r, FileSignatures))
    return event(
        EventType.DIGITAL_SIGNATURE_VALIDATION,
        AGENT,
        outcome,
        f"Kiểm tra chữ ký số của tài liệu {doc.key} (R-CK-4): {signed}/{len(files)} tệp PDF có chữ ký, "
        f"{signatures} chữ ký",
        outcome_detail=json.dumps({"document": doc.key, "files": files}, ensure_ascii=False, separators=(",", ":")),
        objects=tuple(paths),
    )


__all__ = [
    "INDETERMINATE", "INVALID", "MODIFIED", "NOT_STAGED", "REVOCATION_UNKNOWN", "UNREADABLE", "UNSIGNED",
    "UNTRUSTED", "VALID", "check_signatures", "is_pdf",
]
