"""R-CK-5: metadata of every dossier and document.

Per profile (from the package kind) and entity, using `archive_core.codes`
field specifications: required fields, numbers, lengths, code lists, date
forms and real calendar dates, identifier structures (`archive_core.identifiers`),
totals and page counts that agree with the content, dates that agree, codes
that agree (docCode starts with fileCode), and text quality: valid Unicode,
NFC, and Vietnamese text in a legacy 8-bit encoding (TCVN3/ABC, VNI) shown as
mojibake. Mode 03 (mật) is the policy check's business, not reported here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Final

from archive_core import codes, identifiers
from archive_core.codes import Entity, FieldKind, FieldSpec, Profile, parse_date_span
from archive_core.findings import CheckContext, Severity, declare
from archive_core.identifiers import IdentifierError, Reason
from archive_core.model import Document, DocumentKind, Dossier, Fonds, composite_file_code
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.profiles import circular02, tt05  # noqa: F401  (their CK-META-* reader codes join the registry)
from archive_core.settings import Settings
from ingest.package import PackageKind, ParsedPackage

RULE = "R-CK-5"
AGENT = Agent("earchive metadata check")

REQUIRED = declare(
    "CK-META-REQUIRED", RULE, Severity.ERROR,
    "Thiếu {label} (<{field}>) trong {path}",
    "Required field {label_en} (<{field}>) is missing in {path}",
)
REQUIRED_IF = declare(
    "CK-META-REQUIRED-IF", RULE, Severity.ERROR,
    "Thiếu {label} (<{field}>) trong {path}, bắt buộc khi {condition}",
    "{label_en} (<{field}>) is missing in {path}; it is required when {condition_en}",
)
PAPER_CODE_MISSING = declare(
    "CK-META-PAPER-CODE-MISSING", RULE, Severity.WARNING,
    "Hồ sơ số hóa (mức độ tin cậy {level}) nhưng thiếu Mã hồ sơ gốc giấy (<paperFileCode>) trong {path}",
    "Digitised file (confidence level {level}) but the paper original code (<paperFileCode>) is missing in {path}",
)
PROCESS_MISSING = declare(
    "CK-META-PROCESS-MISSING", RULE, Severity.WARNING,
    "Tài liệu gốc điện tử (mức độ tin cậy {level}) chưa ghi Quy trình xử lý (<process>) trong {path}",
    "Born-digital document (confidence level {level}) lacks <process> in {path}",
)
TOO_LONG = declare(
    "CK-META-TOO-LONG", RULE, Severity.ERROR,
    "{label} (<{field}>) dài {length} ký tự, tối đa {limit}, trong {path}",
    "{label_en} (<{field}>) has {length} characters, at most {limit} allowed, in {path}",
)
NOT_A_NUMBER = declare(
    "CK-META-NOT-A-NUMBER", RULE, Severity.ERROR,
    "{label} (<{field}>) phải là số nguyên không âm, có giá trị '{value}', trong {path}",
    "{label_en} (<{field}>) must be a non-negative whole number, found '{value}', in {path}",
)
BAD_DATE = declare(
    "CK-META-BAD-DATE", RULE, Severity.ERROR,
    "{label} (<{field}>) '{value}' không phải ngày hợp lệ theo dạng {forms} trong {path}",
    "{label_en} (<{field}>) '{value}' is not a valid date of the form {forms} in {path}",
)
FUTURE_DATE = declare(
    "CK-META-FUTURE-DATE", RULE, Severity.WARNING,
    "{label} (<{field}>) '{value}' là ngày trong tương lai, trong {path}",
    "{label_en} (<{field}>) '{value}' lies in the future, in {path}",
)
CODE_LIST = declare(
    "CK-META-CODE-LIST", RULE, Severity.ERROR,
    "{label} (<{field}>) có giá trị '{value}' không thuộc danh mục ({allowed}) trong {path}",
    "{label_en} (<{field}>) value '{value}' is not in the code list ({allowed}) in {path}",
)
CODE_AS_LABEL = declare(
    "CK-META-CODE-FORM", RULE, Severity.WARNING,
    "{label} (<{field}>) ghi '{value}' thay vì mã '{code}' trong {path}",
    "{label_en} (<{field}>) states '{value}' instead of the code '{code}' in {path}",
)
IDENTIFIER = declare(
    "CK-META-IDENTIFIER", RULE, Severity.ERROR,
    "{label} (<{field}>) không đúng cấu trúc: {reason} ({path})",
    "{label_en} (<{field}>) is malformed: {reason_en} ({path})",
)
IDENTIFIER_FORM = declare(
    "CK-META-IDENTIFIER-FORM", RULE, Severity.WARNING,
    "{label} (<{field}>): {reason} ({path})",
    "{label_en} (<{field}>): {reason_en} ({path})",
)
CODE_SUBSTITUTE = declare(
    "CK-META-CODE-SUBSTITUTE", RULE, Severity.WARNING,
    "{path} ghi <{used}> thay cho <{field}> của {profile}; dùng giá trị này làm {label}",
    "{path} has <{used}> instead of the {profile} element <{field}>; its value is used as {label_en}",
)
TOTAL_MISMATCH = declare(
    "CK-META-TOTAL-MISMATCH", RULE, Severity.ERROR,
    "Tổng số tài liệu (<{field}>) ghi {declared} nhưng gói có {actual} tài liệu ({path})",
    "Number of documents (<{field}>) states {declared} but the package holds {actual} ({path})",
)
PAGE_MISMATCH = declare(
    "CK-META-PAGE-MISMATCH", RULE, Severity.WARNING,
    "Số lượng trang của hồ sơ ghi {declared} nhưng tổng số trang các tài liệu là {actual} ({path})",
    "The file states {declared} pages but its documents add up to {actual} ({path})",
)
COUNT_ORDER = declare(
    "CK-META-COUNT-ORDER", RULE, Severity.WARNING,
    "{label} ({value}) lớn hơn {other_label} ({other}) trong {path}",
    "{label_en} ({value}) exceeds {other_label_en} ({other}) in {path}",
)
DATE_ORDER = declare(
    "CK-META-DATE-ORDER", RULE, Severity.ERROR,
    "Thời gian bắt đầu {start} sau thời gian kết thúc {end} ({path})",
    "Start date {start} is after end date {end} ({path})",
)
DATE_OUTSIDE = declare(
    "CK-META-DATE-OUTSIDE", RULE, Severity.WARNING,
    "Ngày văn bản {value} nằm ngoài thời gian của hồ sơ ({start} – {end}) ({path})",
    "Document date {value} is outside the file's time span ({start} – {end}) ({path})",
)
DOCCODE_MISMATCH = declare(
    "CK-META-DOCCODE-MISMATCH", RULE, Severity.WARNING,
    "{label} (<{field}>) không khớp mã hồ sơ: {reason} ({path})",
    "{label_en} (<{field}>) does not match the file code: {reason_en} ({path})",
)
SEQUENCE_MISMATCH = declare(
    "CK-META-SEQUENCE-MISMATCH", RULE, Severity.WARNING,
    "Số thứ tự tài liệu không thống nhất: {detail} ({path})",
    "Document sequence numbers disagree: {detail_en} ({path})",
)
FILECODE_PARTS = declare(
    "CK-META-FILECODE-PARTS", RULE, Severity.WARNING,
    "Mã hồ sơ '{value}' khác mã ghép từ các thành phần '{composite}' ({path})",
    "File code '{value}' differs from the code built from its parts '{composite}' ({path})",
)
NOT_NFC = declare(
    "CK-META-NOT-NFC", RULE, Severity.WARNING,
    "{label} (<{field}>) chưa chuẩn hóa Unicode dựng sẵn (NFC) trong {path}",
    "{label_en} (<{field}>) is not in Unicode NFC in {path}",
)
INVALID_CHAR = declare(
    "CK-META-INVALID-CHAR", RULE, Severity.ERROR,
    "{label} (<{field}>) chứa ký tự không hợp lệ {char} tại vị trí {position} trong {path}",
    "{label_en} (<{field}>) contains the invalid character {char} at position {position} in {path}",
)
REPLACEMENT_CHAR = declare(
    "CK-META-REPLACEMENT-CHAR", RULE, Severity.WARNING,
    "{label} (<{field}>) chứa ký tự thay thế U+FFFD (mất dữ liệu khi chuyển mã) trong {path}",
    "{label_en} (<{field}>) contains U+FFFD (characters lost in a conversion) in {path}",
)
LEGACY_ENCODING = declare(
    "CK-META-LEGACY-ENCODING", RULE, Severity.WARNING,
    "{label} (<{field}>) có vẻ là văn bản mã {encoding} hiển thị sai ('{value}'; có thể là '{suggestion}') "
    "trong {path}",
    "{label_en} (<{field}>) looks like {encoding}-encoded Vietnamese shown as Unicode ('{value}'; probably "
    "'{suggestion}') in {path}",
)
DOUBLE_ENCODED = declare(
    "CK-META-DOUBLE-ENCODED", RULE, Severity.WARNING,
    "{label} (<{field}>) có vẻ là UTF-8 bị giải mã hai lần ('{value}'; có thể là '{suggestion}') trong {path}",
    "{label_en} (<{field}>) looks like double-decoded UTF-8 ('{value}'; probably '{suggestion}') in {path}",
)

PROFILE_OF_KIND: dict[PackageKind, Profile] = {
    PackageKind.TT05_SIP_HOSO: Profile.SIP_HOSO,
    PackageKind.TT05_SIP_TAILIEU: Profile.SIP_TAILIEU,
    PackageKind.BAGIT_C02: Profile.C02,
}
PROFILE_LABEL = {
    Profile.C02: "Thông tư 02/2019",
    Profile.SIP_HOSO: "SIP_hoso",
    Profile.SIP_TAILIEU: "SIP_tailieu",
    Profile.AIP_HOSO: "AIP_hoso",
    Profile.AIP_TAILIEU: "AIP_tailieu",
}
_ENTITY_OF_KIND = {DocumentKind.DOC: Entity.DOC, DocumentKind.PIC: Entity.PIC, DocumentKind.MEDIA: Entity.MEDIA}

# Circular 02 states these values in words; they must be recognisable.
_C02_WORDED_LISTS = {
    "maintenance": "maintenance",
    "mode": "mode",
    "language": "language",
    "format": "format",
    "confidence_level": "confidenceLevel",
}
# When the first is missing, the second stands in (real packages mix SIP and AIP names).
_SUBSTITUTES: dict[Profile, dict[str, str]] = {
    Profile.SIP_HOSO: {"file_code": "arc_file_code", "doc_code": "arc_doc_code"},
    Profile.SIP_TAILIEU: {"file_code": "arc_file_code", "doc_code": "arc_doc_code"},
    Profile.AIP_HOSO: {"arc_file_code": "file_code"},
    Profile.AIP_TAILIEU: {"arc_file_code": "file_code", "arc_doc_code": "doc_code"},
}
_TAG_OF_FIELD = {
    "file_code": "fileCode", "arc_file_code": "arcFileCode", "doc_code": "docCode", "arc_doc_code": "arcDocCode",
}
# Circular 02 hồ sơ: the composite code's parts are required unless FileCode itself is given.
_C02_PARTS = ("organ_id", "file_catalog", "file_notation")


@dataclass(frozen=True)
class _Run:
    ctx: CheckContext
    today: date
    max_chars: int
    """`Limits.max_field_chars`: longer values are reported once, by the text check, and not parsed."""
    passed: dict[tuple[int, Profile], tuple[FieldSpec, set[str]]] = field(default_factory=dict)
    """Per field spec (by identity) and profile: values already checked without a finding. Documents of
    one dossier repeat most values (language, mode, format, organisation, dates), and the checks are pure."""
    plans: dict[tuple[int, Profile], tuple[Sequence[FieldSpec], list[tuple[FieldSpec, set[str]]]]] = field(
        default_factory=dict
    )
    """Per spec list (by identity) and profile: its specs paired with their `passed` sets."""
    clean_texts: set[str] = field(default_factory=set)
    """Values `_check_text_of` found plainly clean (text checks depend on the value alone)."""

    def specs_with_passed(self, specs: Sequence[FieldSpec], profile: Profile) -> list[tuple[FieldSpec, set[str]]]:
        key = (id(specs), profile)
        plan = self.plans.get(key)
        if plan is None or plan[0] is not specs:
            # holding `specs` keeps its id from being reused while the entry lives
            plan = self.plans[key] = (specs, [(spec, self._passed(spec, profile)) for spec in specs])
        return plan[1]

    def _passed(self, spec: FieldSpec, profile: Profile) -> set[str]:
        key = (id(spec), profile)
        found = self.passed.get(key)
        if found is None or found[0] is not spec:
            found = self.passed[key] = (spec, set())
        return found[1]


@dataclass
class _Target:
    """The object being checked and where its findings go."""

    obj: Any
    path: str
    document: str | None = None


# ---------------------------------------------------------------- entry point


def check_metadata(pkg: ParsedPackage, ctx: CheckContext, settings: Settings) -> None:
    """Check every dossier and document of `pkg` (R-CK-5) and record one PREMIS event."""
    before = len(ctx.findings)
    profile = PROFILE_OF_KIND.get(pkg.kind)
    for dossier in pkg.dossiers:
        check_dossier(dossier, profile, ctx, settings)
    mine = [f for f in ctx.findings[before:] if f.rule == RULE and f.code.startswith("CK-META-")]
    errors = sum(1 for f in mine if f.severity is Severity.ERROR)
    warnings = sum(1 for f in mine if f.severity is Severity.WARNING)
    outcome = Outcome.FAILURE if errors else Outcome.WARNING if warnings else Outcome.SUCCESS
    ctx.record(
        event(
            EventType.VALIDATION,
            AGENT,
            outcome,
            "metadata validation",
            outcome_detail=(
                f"profile {profile.value if profile else 'none'}; {len(pkg.dossiers)} dossier(s), "
                f"{len(pkg.documents)} document(s); {errors} error(s), {warnings} warning(s)"
            ),
        )
    )


def check_dossier(
    dossier: Dossier, profile: Profile | None, ctx: CheckContext, settings: Settings, *, today: date | None = None
) -> None:
    """All R-CK-5 checks of one dossier and its documents; `profile` None checks only what needs none."""
    run = _Run(ctx, today or date.today(), settings.limits.max_field_chars)
    path = dossier.metadata_path or "?"
    target = _Target(dossier, path)
    dossier_specs = _dossier_specs(dossier, profile) if profile is not None else ()
    if profile is not None:
        _check_fields(target, dossier_specs, profile, run)
        if profile is Profile.C02 and dossier.fonds is not None:
            _check_fields(_Target(dossier.fonds, path), codes.C02_FONDS, profile, run)
        _check_dossier_rules(dossier, profile, ctx, path)
    _check_text_of(target, Dossier, dossier_specs, run)
    if dossier.fonds is not None:
        fonds_specs = codes.C02_FONDS if profile is Profile.C02 else ()
        _check_text_of(_Target(dossier.fonds, path), Fonds, fonds_specs, run)
        _check_count_order(_Target(dossier.fonds, path), "paper_digital", "paper_total", ctx)
    _check_dossier_consistency(dossier, ctx, path)
    facts = _DossierFacts.of(dossier)
    for doc in dossier.documents:
        doc_target = _Target(doc, doc.metadata_path or path, doc.key)
        doc_specs = _document_specs(doc, profile) if profile is not None else ()
        if profile is not None:
            _check_fields(doc_target, doc_specs, profile, run)
            _check_document_rules(doc_target, profile, ctx)
        _check_text_of(doc_target, Document, doc_specs, run)
        _check_document_consistency(facts, doc_target, ctx)


# ---------------------------------------------------------------- specs


def _dossier_specs(dossier: Dossier, profile: Profile) -> tuple[FieldSpec, ...]:
    specs = codes.field_specs(profile, Entity.DOSSIER)
    if profile is Profile.C02:
        parts_optional = bool(dossier.file_code)
        specs = tuple(
            FieldSpec(s.name, s.tag, s.kind, s.max_len, False, s.code_list, s.date_forms, s.multi)
            if parts_optional and s.name in _C02_PARTS
            else s
            for s in specs
        )
        specs = specs + codes.C02_DOSSIER_ADDITIONAL
    return specs


def _document_specs(doc: Document, profile: Profile) -> tuple[FieldSpec, ...]:
    if profile is Profile.C02:
        base = codes.C02_DOCUMENT
        if doc.kind is not DocumentKind.DOC:
            base = tuple(
                FieldSpec(s.name, s.tag, s.kind, s.max_len, False, s.code_list, s.date_forms, s.multi)
                for s in base
            )
        return base + codes.C02_DOCUMENT_ADDITIONAL
    return codes.field_specs(profile, _ENTITY_OF_KIND[doc.kind])


# ---------------------------------------------------------------- per field


def _params(spec: FieldSpec, target: _Target) -> dict[str, Any]:
    return {
        "path": target.path,
        "field": spec.tag,
        "document": target.document,
        "label": spec.label_vi,
        "label_en": spec.label_en,
    }


def _check_fields(target: _Target, specs: Sequence[FieldSpec], profile: Profile, run: _Run) -> None:
    findings = run.ctx.findings
    obj = target.obj
    for spec, passed in run.specs_with_passed(specs, profile):
        value = getattr(obj, spec.name, None)
        if value in passed:
            continue
        if value is None or not value.strip():
            _check_missing(target, spec, profile, run.ctx)
            continue
        if len(value) > run.max_chars:
            continue
        before = len(findings)
        _check_value(target, spec, value, profile, run.ctx, run.today)
        if len(findings) == before and not _depends_on_target(spec):
            passed.add(value)


def _check_missing(target: _Target, spec: FieldSpec, profile: Profile, ctx: CheckContext) -> None:
    substitute = _SUBSTITUTES.get(profile, {}).get(spec.name)
    if substitute is not None and getattr(target.obj, substitute, None):
        ctx.report(
            CODE_SUBSTITUTE, **_params(spec, target), used=_TAG_OF_FIELD.get(substitute, substitute),
            profile=PROFILE_LABEL[profile],
        )
        return
    if spec.required:
        ctx.report(REQUIRED, **_params(spec, target))


def _check_value(
    target: _Target, spec: FieldSpec, value: str, profile: Profile, ctx: CheckContext, today: date
) -> None:
    if spec.max_len is not None and len(value) > spec.max_len:
        ctx.report(TOO_LONG, **_params(spec, target), length=len(value), limit=spec.max_len)
    if spec.kind is FieldKind.NUMBER:
        if not _DIGITS.fullmatch(value.strip()):
            ctx.report(NOT_A_NUMBER, **_params(spec, target), value=_short(value))
    elif spec.kind is FieldKind.DATE:
        _check_date(target, spec, value, ctx, today)
    elif spec.kind in (FieldKind.CODE, FieldKind.BOOLEAN) and spec.code_list:
        _check_code(target, spec, value, profile, ctx)
    elif profile is Profile.C02 and spec.name in _C02_WORDED_LISTS:
        _check_worded(target, spec, value, ctx)
    _check_identifier(target, spec, value, profile, ctx, today)


_DIGITS: Final = re.compile(r"\d+")


def _depends_on_target(spec: FieldSpec) -> bool:
    """`identifier` is parsed differently for a fonds than for a dossier or document."""
    return spec.name == "identifier"


def _check_code(target: _Target, spec: FieldSpec, value: str, profile: Profile, ctx: CheckContext) -> None:
    assert spec.code_list is not None
    allowed = codes.CODE_LISTS[spec.code_list]
    items = codes.split_codes(value) if spec.multi else [value.strip()]
    for item in items or [value]:
        if item in allowed:
            continue
        code = (
            codes.maintenance_code_for(item) if spec.code_list == "maintenance" else codes.to_code(spec.code_list, item)
        )
        lenient = profile is Profile.C02
        if code is not None and (spec.code_list != "maintenance" or codes.maintenance_years(item) is not None):
            if not lenient:
                ctx.report(CODE_AS_LABEL, **_params(spec, target), value=_short(item), code=code)
            continue
        ctx.report(
            CODE_LIST, **_params(spec, target), value=_short(item), allowed=_allowed(allowed),
            severity=Severity.WARNING if lenient else None,
        )


def _check_worded(target: _Target, spec: FieldSpec, value: str, ctx: CheckContext) -> None:
    """Circular 02 states maintenance, rights, language … in words: they must be recognisable."""
    list_name = _C02_WORDED_LISTS[spec.name]
    if list_name == "maintenance":
        if codes.maintenance_years(value) is not None or value.strip() in codes.MAINTENANCE:
            return
        ctx.report(
            CODE_LIST, **_params(spec, target), value=_short(value),
            allowed="Vĩnh viễn / số năm", severity=Severity.WARNING,
        )
        return
    items = codes.split_codes(value) if list_name == "language" else [value]
    for item in items:
        if codes.to_code(list_name, item) is None:
            ctx.report(
                CODE_LIST, **_params(spec, target), value=_short(item),
                allowed=_allowed(codes.CODE_LISTS[list_name]), severity=Severity.WARNING,
            )


def _allowed(allowed: dict[str, str]) -> str:
    return ", ".join(f"{code} {label}" for code, label in allowed.items())


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# ---------------------------------------------------------------- dates

def _check_date(target: _Target, spec: FieldSpec, value: str, ctx: CheckContext, today: date) -> None:
    forms = spec.date_forms or (codes.DMY,)
    span = parse_date_span(value, forms)
    if span is None:
        ctx.report(BAD_DATE, **_params(spec, target), value=_short(value), forms=", ".join(forms))
        return
    if span[0] > today:
        ctx.report(FUTURE_DATE, **_params(spec, target), value=value)


# ---------------------------------------------------------------- identifiers

_PARSERS: dict[str, Callable[[str, date], object]] = {
    "file_code": identifiers.parse_file_code,
    "arc_file_code": identifiers.parse_arc_file_code,
    "doc_code": identifiers.parse_doc_code,
    "arc_doc_code": identifiers.parse_arc_doc_code,
    "doc_id": identifiers.parse_doc_id,
    "doc_identifier": identifiers.parse_doc_identifier,
    "paper_file_code": lambda s, _today: identifiers.parse_paper_file_code(s),
    "identifier": lambda s, _today: identifiers.parse_agency_code(s),
}


def _check_identifier(
    target: _Target, spec: FieldSpec, value: str, profile: Profile, ctx: CheckContext, today: date
) -> None:
    parser = _PARSERS.get(spec.name)
    if spec.name == "file_code" and profile is Profile.SIP_TAILIEU:
        parser = identifiers.parse_tailieu_file_code
    if spec.name == "identifier" and isinstance(target.obj, Fonds):
        parser = _PARSERS["identifier"]
    if parser is None:
        return
    try:
        parsed = parser(value.strip(), today)
    except IdentifierError as exc:
        ctx.report(IDENTIFIER, **_params(spec, target), reason=exc.reason_vi, reason_en=exc.reason_en)
        return
    for reason in getattr(parsed, "warnings", ()):
        ctx.report(IDENTIFIER_FORM, **_params(spec, target), reason=reason.vi, reason_en=reason.en)


# ---------------------------------------------------------------- rules across fields


def _check_dossier_rules(dossier: Dossier, profile: Profile, ctx: CheckContext, path: str) -> None:
    target = _Target(dossier, path)
    _check_risk_recovery(target, profile, ctx)
    level = codes.to_code("confidenceLevel", dossier.confidence_level)
    if level == "02" and not dossier.paper_file_code and not profile.is_tailieu:
        ctx.report(PAPER_CODE_MISSING, path=path, field="paperFileCode", level=level)


def _check_document_rules(target: _Target, profile: Profile, ctx: CheckContext) -> None:
    doc: Document = target.obj
    _check_risk_recovery(target, profile, ctx)
    level = codes.to_code("confidenceLevel", doc.confidence_level)
    specs = {s.name for s in _document_specs(doc, profile)}
    if "process" in specs and level in ("01", "03") and not doc.process:
        ctx.report(PROCESS_MISSING, path=target.path, field="process", document=target.document, level=level)


def _check_risk_recovery(target: _Target, profile: Profile, ctx: CheckContext) -> None:
    obj = target.obj
    if codes.to_code("riskRecovery", getattr(obj, "risk_recovery", None)) != "1":
        return
    if getattr(obj, "risk_recovery_status", None):
        return
    spec = codes.spec_for(profile, Entity.DOSSIER, "risk_recovery_status") or FieldSpec(
        "risk_recovery_status", "riskRecoveryStatus"
    )
    ctx.report(
        REQUIRED_IF, **_params(spec, target), condition="Chế độ dự phòng = 1", condition_en="riskRecovery = 1"
    )


def _number(value: str | None) -> int | None:
    if value is None or not _DIGITS.fullmatch(value.strip()):
        return None
    return int(value.strip())


def _check_count_order(target: _Target, smaller: str, larger: str, ctx: CheckContext) -> None:
    low, high = _number(getattr(target.obj, smaller)), _number(getattr(target.obj, larger))
    if low is not None and high is not None and low > high:
        small_label, large_label = codes.FIELD_LABELS[smaller], codes.FIELD_LABELS[larger]
        ctx.report(
            COUNT_ORDER, path=target.path, field=smaller, label=small_label[0], label_en=small_label[1],
            value=low, other_label=large_label[0], other_label_en=large_label[1], other=high,
        )


def dossier_file_code(dossier: Dossier) -> str | None:
    return dossier.file_code or composite_file_code(dossier)


def _check_dossier_consistency(dossier: Dossier, ctx: CheckContext, path: str) -> None:
    declared = _number(dossier.total_doc)
    if declared is not None and declared != len(dossier.documents):
        ctx.report(TOTAL_MISMATCH, path=path, field="totalDoc", declared=declared, actual=len(dossier.documents))
    pages = [_number(d.number_of_page) for d in dossier.documents]
    declared_pages = _number(dossier.number_of_page)
    if declared_pages is not None and pages and all(p is not None for p in pages):
        actual = sum(p for p in pages if p is not None)
        if actual != declared_pages:
            ctx.report(PAGE_MISMATCH, path=path, field="numberOfPage", declared=declared_pages, actual=actual)
    start, end = _span(dossier.start_date), _span(dossier.end_date)
    if start and end and start[0] > end[1]:
        ctx.report(DATE_ORDER, path=path, field="startDate", start=dossier.start_date, end=dossier.end_date)
    composite = composite_file_code(dossier)
    if dossier.file_code and composite and dossier.file_code != composite:
        ctx.report(FILECODE_PARTS, path=path, field="FileCode", value=dossier.file_code, composite=composite)
    file_code = dossier_file_code(dossier)
    if dossier.arc_file_code and file_code and not dossier.arc_file_code.endswith("." + file_code):
        spec = FieldSpec("arc_file_code", "arcFileCode")
        _report_mismatch(
            _Target(dossier, path), spec,
            Reason(
                f"'{dossier.arc_file_code}' không kết thúc bằng mã hồ sơ '{file_code}'",
                f"'{dossier.arc_file_code}' does not end with the file code '{file_code}'",
            ),
            ctx,
        )


def _span(value: str | None) -> tuple[date, date] | None:
    return parse_date_span(value) if value else None


def _report_mismatch(target: _Target, spec: FieldSpec, reason: Reason, ctx: CheckContext) -> None:
    ctx.report(DOCCODE_MISMATCH, **_params(spec, target), reason=reason.vi, reason_en=reason.en)


@dataclass(frozen=True)
class _DossierFacts:
    """What every document of a dossier is compared with, worked out once per dossier."""

    file_code: str | None
    arc_file_code: str | None
    start_date: str | None
    end_date: str | None
    start: tuple[date, date] | None
    end: tuple[date, date] | None

    @classmethod
    def of(cls, dossier: Dossier) -> _DossierFacts:
        return cls(
            dossier_file_code(dossier), dossier.arc_file_code, dossier.start_date, dossier.end_date,
            _span(dossier.start_date), _span(dossier.end_date),
        )


def _check_document_consistency(dossier: _DossierFacts, target: _Target, ctx: CheckContext) -> None:
    doc: Document = target.obj
    file_code = dossier.file_code
    if file_code:
        for name, tag in (("doc_code", "docCode"), ("doc_id", "docId"), ("file_code", "FileCode")):
            value = getattr(doc, name)
            if not value:
                continue
            if name == "file_code":
                reasons = [] if value == file_code else [
                    Reason(
                        f"'{value}' khác mã hồ sơ '{file_code}'", f"'{value}' differs from the file code '{file_code}'"
                    )
                ]
            else:
                reasons = identifiers.doc_code_mismatches(value, file_code)
            for reason in reasons:
                _report_mismatch(target, FieldSpec(name, tag), reason, ctx)
    arc_file_code = dossier.arc_file_code
    if arc_file_code:
        if doc.arc_doc_code and not doc.arc_doc_code.startswith(arc_file_code + "."):
            _report_mismatch(
                target, FieldSpec("arc_doc_code", "arcDocCode"),
                Reason(
                    f"'{doc.arc_doc_code}' không bắt đầu bằng mã hồ sơ lưu trữ '{arc_file_code}'",
                    f"'{doc.arc_doc_code}' does not start with the archival file code '{arc_file_code}'",
                ),
                ctx,
            )
        if doc.arc_file_code and doc.arc_file_code != arc_file_code:
            _report_mismatch(
                target, FieldSpec("arc_file_code", "arcFileCode"),
                Reason(
                    f"'{doc.arc_file_code}' khác mã hồ sơ lưu trữ của hồ sơ '{arc_file_code}'",
                    f"'{doc.arc_file_code}' differs from the dossier's archival file code '{arc_file_code}'",
                ),
                ctx,
            )
    _check_sequences(target, ctx)
    start, end = dossier.start, dossier.end
    issued = _span(doc.issued_date) if start and end else None
    if issued and start and end and (issued[1] < start[0] or issued[0] > end[1]):
        ctx.report(
            DATE_OUTSIDE, path=target.path, field="issuedDate", document=target.document,
            value=doc.issued_date, start=dossier.start_date, end=dossier.end_date,
        )


def _check_sequences(target: _Target, ctx: CheckContext) -> None:
    """docOrdinal, the docCode sequence and the docId ordinal must agree when present."""
    doc: Document = target.obj
    numbers: dict[str, int] = {}
    ordinal = _number(doc.doc_ordinal)
    if ordinal is not None:
        numbers["docOrdinal"] = ordinal
    try:
        if doc.doc_code:
            numbers["docCode"] = identifiers.parse_doc_code(doc.doc_code).sequence
    except IdentifierError:
        pass
    try:
        if doc.doc_id:
            numbers["docId"] = identifiers.parse_doc_id(doc.doc_id).ordinal
    except IdentifierError:
        pass
    if len(set(numbers.values())) > 1:
        detail = ", ".join(f"{tag} {number}" for tag, number in numbers.items())
        ctx.report(
            SEQUENCE_MISMATCH, path=target.path, field="docOrdinal", document=target.document,
            detail=detail, detail_en=detail,
        )


# ---------------------------------------------------------------- text quality


_TEXT_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _text_fields(cls: type[Any]) -> tuple[str, ...]:
    names = _TEXT_FIELDS.get(cls)
    if names is None:
        names = _TEXT_FIELDS[cls] = tuple(f.name for f in fields(cls) if f.type in ("str | None", str | None))
    return names


_TextField = tuple[str, str, str, str]
"""(model field name, element name, Vietnamese label, English label)"""
_TEXT_PLANS: dict[tuple[type[Any], int], tuple[Sequence[FieldSpec], tuple[_TextField, ...]]] = {}


def _text_plan(cls: type[Any], specs: Sequence[FieldSpec]) -> tuple[_TextField, ...]:
    """The text fields of `cls` with their element names and labels, worked out once per spec list."""
    key = (cls, id(specs))
    cached = _TEXT_PLANS.get(key)
    if cached is not None and cached[0] is specs:
        return cached[1]
    tags = {s.name: s.tag for s in specs}
    plan = tuple(
        (name, tags.get(name) or _tag_for(name), *codes.FIELD_LABELS.get(name, (name, name)))
        for name in _text_fields(cls)
    )
    _TEXT_PLANS[key] = (specs, plan)  # keeps `specs` alive, so its id is not reused meanwhile
    return plan


def _check_text_of(target: _Target, cls: type[Any], specs: Sequence[FieldSpec], run: _Run) -> None:
    clean = run.clean_texts
    values = vars(target.obj)
    for name, tag, label_vi, label_en in _text_plan(cls, specs):
        value = values[name]
        if not value or value in clean:
            continue
        if len(value) <= run.max_chars and _plainly_clean(value):
            clean.add(value)
            continue
        params = {
            "path": target.path, "field": tag, "document": target.document, "label": label_vi, "label_en": label_en,
        }
        if len(value) > run.max_chars:
            run.ctx.report(TOO_LONG, **params, length=len(value), limit=run.max_chars)
            continue
        check_text(value, params, run.ctx)


def _plainly_clean(value: str) -> bool:
    """True for the usual value that `check_text` would pass: ASCII, or valid NFC text with no mojibake."""
    if value.isascii():
        return _MAYBE_INVALID.search(value) is None
    return (
        _MAYBE_INVALID.search(value) is None
        and "\ufffd" not in value
        and unicodedata.is_normalized("NFC", value)
        and detect_legacy_encoding(value) is None
    )


def _tag_for(name: str) -> str:
    """An element name for a model field outside the profile's specs (TT 05 camelCase)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Characters that may be invalid: C0/C1 controls except tab/newlines, surrogates, U+FDD0–U+FDEF and
# anything from U+FFFE up (the exact noncharacter test runs only when one of these is present).
_MAYBE_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe-\U0010ffff]")


def invalid_characters(value: str) -> list[tuple[int, str]]:
    """Positions and characters that are not valid text: controls, surrogates, noncharacters."""
    if _MAYBE_INVALID.search(value) is None:
        return []
    bad: list[tuple[int, str]] = []
    for index, ch in enumerate(value):
        point = ord(ch)
        category = unicodedata.category(ch)
        if ch in "\t\n\r":
            continue
        if (
            category == "Cc"
            or category == "Cs"
            or 0xFDD0 <= point <= 0xFDEF
            or (point & 0xFFFE) == 0xFFFE
        ):
            bad.append((index, ch))
    return bad


def check_text(value: str, params: dict[str, Any], ctx: CheckContext) -> None:
    """Unicode validity, NFC and legacy-encoding findings for one value."""
    bad = invalid_characters(value)
    if bad:
        index, ch = bad[0]
        ctx.report(INVALID_CHAR, **params, char=f"U+{ord(ch):04X}", position=index + 1)
        return
    if "\ufffd" in value:
        ctx.report(REPLACEMENT_CHAR, **params)
    if not unicodedata.is_normalized("NFC", value):
        ctx.report(NOT_NFC, **params)
    detected = detect_legacy_encoding(value)
    if detected is not None:
        encoding, suggestion = detected
        kind = DOUBLE_ENCODED if encoding == "UTF-8" else LEGACY_ENCODING
        ctx.report(kind, **params, encoding=encoding, value=_short(value, 60), suggestion=_short(suggestion, 60))


# ---------------------------------------------------------------- legacy Vietnamese encodings
#
# Text typed with the TCVN3 (ABC) or VNI fonts is 8-bit; read as Windows-1252 it
# becomes "Qu¶n lý" / "Quaûn lyù". Detection decodes each word that could be
# such mojibake and counts the words that are not Vietnamese syllables as
# written but become one after decoding. Normal Vietnamese is already made of
# syllables, and English or other European words do not turn into Vietnamese
# syllables, so neither is flagged.

TCVN3_LOWER = {
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
TCVN3_UPPER = {0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
TCVN3_TABLE = {**TCVN3_LOWER, **TCVN3_UPPER}

_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TONES = (_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT)

# VNI (VNI-Windows fonts): a base letter followed by mark bytes; lower and upper case.
_VNI_MARKS: dict[int, tuple[str, ...]] = {
    0xF9: (_ACUTE,), 0xF8: (_GRAVE,), 0xFB: (_HOOK,), 0xF5: (_TILDE,), 0xEF: (_DOT,),
    0xE2: (_CIRCUMFLEX,), 0xE1: (_CIRCUMFLEX, _ACUTE), 0xE0: (_CIRCUMFLEX, _GRAVE),
    0xE5: (_CIRCUMFLEX, _HOOK), 0xE3: (_CIRCUMFLEX, _TILDE), 0xE4: (_CIRCUMFLEX, _DOT),
    0xEA: (_BREVE,), 0xE9: (_BREVE, _ACUTE), 0xE8: (_BREVE, _GRAVE),
    0xFA: (_BREVE, _HOOK), 0xFC: (_BREVE, _TILDE), 0xEB: (_BREVE, _DOT),
}
_VNI_MARKS.update({code - 0x20: marks for code, marks in list(_VNI_MARKS.items())})
_VNI_LETTERS = {
    0xF1: "đ", 0xD1: "Đ", 0xF4: "ơ", 0xD4: "Ơ", 0xF6: "ư", 0xD6: "Ư",
    0xEC: "ì", 0xED: "í", 0xE6: "ỉ", 0xF3: "ĩ", 0xF2: "ị",
    0xCC: "Ì", 0xCD: "Í", 0xC6: "Ỉ", 0xD3: "Ĩ", 0xD2: "Ị",
}
_MARK_TAKERS = {_CIRCUMFLEX: "aeoAEO", _BREVE: "aA"}


def _byte_of(ch: str) -> int | None:
    """The Windows-1252 byte a character came from, None for characters outside it."""
    try:
        data = ch.encode("cp1252")
    except UnicodeEncodeError:
        return None
    return data[0] if len(data) == 1 else None


def decode_tcvn3(text: str) -> str:
    """Vietnamese from TCVN3 (ABC) text that was read as Windows-1252 / Latin-1."""
    out = []
    for ch in text:
        byte = _byte_of(ch)
        out.append(TCVN3_TABLE.get(byte, ch) if byte is not None else ch)
    return "".join(out)


def decode_vni(text: str) -> str:
    """Vietnamese from VNI text that was read as Windows-1252."""
    out: list[str] = []
    for ch in text:
        byte = _byte_of(ch)
        if byte is not None and byte in _VNI_LETTERS:
            out.append(_VNI_LETTERS[byte])
            continue
        marks = _VNI_MARKS.get(byte) if byte is not None else None
        if marks and out:
            combined = _apply_marks(out[-1], marks)
            if combined is not None:
                out[-1] = combined
                continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _apply_marks(previous: str, marks: tuple[str, ...]) -> str | None:
    decomposed = unicodedata.normalize("NFD", previous)
    base, existing = decomposed[0], decomposed[1:]
    if not base.isascii() or base.lower() not in "aeiouy":
        return None
    for mark in marks:
        takers = _MARK_TAKERS.get(mark)
        if takers is not None and base not in takers:
            return None
        if mark in _TONES and any(m in _TONES for m in existing):
            return None
        if mark in existing:
            return None
    return unicodedata.normalize("NFC", base + existing + "".join(marks))


def encode_tcvn3(text: str) -> str:
    """Unicode Vietnamese → TCVN3 bytes shown as Windows-1252 (test data for the detector)."""
    reverse = {v: k for k, v in TCVN3_TABLE.items()}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in reverse:
            out.append(bytes([reverse[ch]]).decode("cp1252", errors="replace"))
        elif ch.isupper() and ch.lower() in reverse:
            # TCVN3 has no upper-case toned letters: ABC fonts show them with a separate font.
            out.append(bytes([reverse[ch.lower()]]).decode("cp1252", errors="replace"))
        else:
            out.append(ch)
    return "".join(out)


def encode_vni(text: str) -> str:
    """Unicode Vietnamese → VNI bytes shown as Windows-1252 (test data for the detector)."""
    letters = {v: k for k, v in _VNI_LETTERS.items()}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in letters:
            out.append(bytes([letters[ch]]).decode("cp1252"))
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], tuple(decomposed[1:])
        if _HORN in marks:
            horned = unicodedata.normalize("NFC", base + _HORN)
            if horned in letters:
                base = bytes([letters[horned]]).decode("cp1252")
                marks = tuple(m for m in marks if m != _HORN)
        if not marks or not (base.isascii() or base in "ơưƠƯôöÔÖ"):
            out.append(ch)
            continue
        upper = base.isupper()
        shape = tuple(m for m in marks if m not in _TONES)
        tone = tuple(m for m in marks if m in _TONES)
        wanted = shape + tone
        codes_found = [
            code for code, m in _VNI_MARKS.items() if m == wanted and (code < 0xE0) == upper
        ]
        if codes_found:
            out.append(base + bytes([codes_found[0]]).decode("cp1252"))
            continue
        shape_code = [c for c, m in _VNI_MARKS.items() if m == shape and (c < 0xE0) == upper]
        tone_code = [c for c, m in _VNI_MARKS.items() if m == tone and (c < 0xE0) == upper]
        if shape_code and tone_code:
            out.append(base + bytes([shape_code[0], tone_code[0]]).decode("cp1252"))
        else:
            out.append(ch)
    return "".join(out)


_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
# Vowel groups ending in a glide take no final consonant; ă, â, iê, uô, ươ … need one.
_OPEN_NUCLEUS = (
    r"(?:iêu|yêu|oai|oay|oao|oeo|uây|uôi|ươi|ươu|uya|uyu|uêu|"
    r"ai|ao|au|ay|âu|ây|eo|êu|ia|iu|oi|ôi|ơi|ua|ui|ưa|ưi|ưu)"
)
_CLOSED_NUCLEUS = r"(?:uyê|iê|yê|uô|ươ|oă|uâ|ă|â)"
_EITHER_NUCLEUS = r"(?:oa|oe|uê|uy|uơ|oo|ôô|a|e|ê|i|o|ô|ơ|u|ư|y)"
_CODA = r"(?:ch|ng|nh|c|m|n|p|t)"
_SYLLABLE = re.compile(
    _ONSET + rf"(?:{_OPEN_NUCLEUS}|{_CLOSED_NUCLEUS}{_CODA}|{_EITHER_NUCLEUS}{_CODA}?)"
)


def is_vietnamese_syllable(word: str) -> bool:
    """Whether `word` is spelled like one Vietnamese syllable (onset, vowels, coda, one tone)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [ch for ch in decomposed if ch in _TONES]
    if len(tones) > 1:
        return False
    toneless = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    if not _SYLLABLE.fullmatch(toneless):
        return False
    # The codas nh and ch follow only a, ê, i, y (anh, ênh, inh, uynh).
    if re.search(r"(?:nh|ch)$", toneless) and not re.search(r"[aêiy](?:nh|ch)$", toneless):
        return False
    # Syllables closed by p, t, c, ch take only the sắc or nặng tone.
    return not (tones and re.search(r"(?:p|t|c|ch)$", toneless) and tones[0] not in (_ACUTE, _DOT))


_WORD = re.compile(r"[^\s\d,.;:!?()\[\]{}\"'/\\\-–—_=+*&%$#@<>|~`]+")


def _candidate_words(text: str) -> list[str]:
    """Words that could be 8-bit mojibake: with a non-ASCII character, all from Windows-1252."""
    words = []
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        if all(_byte_of(ch) is not None for ch in word):
            words.append(word)
    return words


def _fixed_words(words: Sequence[str], decode: Callable[[str], str]) -> list[tuple[str, str]]:
    """(word, decoded) for the words that only decoding turns into Vietnamese syllables."""
    fixed = []
    for word in words:
        decoded = decode(word)
        if decoded != word and not is_vietnamese_syllable(word) and is_vietnamese_syllable(decoded):
            fixed.append((word, decoded))
    return fixed


def _convincing(fixed: Sequence[tuple[str, str]]) -> bool:
    """Two repaired words, or one that gains a letter outside Latin-1 (ư, ạ) or had a symbol for a letter."""
    if len(fixed) >= 2:
        return True
    return any(
        any(ord(ch) > 0xFF for ch in decoded) or any(not ch.isalpha() for ch in word) for word, decoded in fixed
    )


def _double_decoded(text: str) -> str | None:
    """UTF-8 bytes read as Windows-1252 ("Quáº£n lÃ½"): the repaired text, else None."""
    if text.isascii():
        return None
    try:
        repaired = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return repaired if repaired != text and any(ord(ch) > 0x7F for ch in repaired) else None


@functools.lru_cache(maxsize=16384)
def detect_legacy_encoding(text: str) -> tuple[str, str] | None:
    """("TCVN3" | "VNI" | "UTF-8", repaired text) when `text` looks like mis-decoded Vietnamese.

    Cached: a dossier repeats the same organisation names, languages and codes in every document.
    """
    if text.isascii():
        return None
    words = _candidate_words(text)
    if not words:
        return None
    repaired = _double_decoded(text)
    if repaired is not None:
        return "UTF-8", repaired
    suspicious = [w for w in words if not is_vietnamese_syllable(w)]
    if not suspicious:
        return None
    best: tuple[str, str] | None = None
    best_score = (0, 0)
    after_vowel = _marks_after_vowels(suspicious)
    for name, decode in (("TCVN3", decode_tcvn3), ("VNI", decode_vni)):
        fixed = _fixed_words(suspicious, decode)
        convincing = _convincing(fixed)
        # Ties: VNI puts its marks after a vowel ("Quaûn"), TCVN3 replaces the vowel ("Qu¶n").
        shape = after_vowel if name == "VNI" else -after_vowel
        score = (len(fixed), shape)
        if convincing and score > best_score and len(fixed) * 2 >= len(suspicious):
            best, best_score = (name, decode(text)), score
    return best


def _marks_after_vowels(words: Sequence[str]) -> int:
    """Non-ASCII characters right after an ASCII vowel, minus those after anything else."""
    balance = 0
    for word in words:
        for previous, ch in zip(" " + word, word, strict=False):
            if not ch.isascii():
                balance += 1 if previous in "aeiouyAEIOUY" else -1
    return balance
