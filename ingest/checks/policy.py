"""R-CK-6 policy: no state secrets, file-name and file-size rules.

State secrets are out of scope of the archive (every provincial regulation):
mode 03 (mật) or a secrecy mark ("MẬT", "TỐI MẬT", "TUYỆT MẬT", "Độ mật: …")
rejects the package. Name and size limits come from Ninh Bình 2022 Điều 8.4
and are configurable (`Policy`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import Document, Dossier
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.settings import Policy
from ingest.package import ObservedFile, ParsedPackage

AGENT = Agent("earchive.policy")
RULE = "R-CK-6"

SECRET_MODE = declare(
    "CK-POL-SECRET-MODE", RULE, Severity.ERROR,
    "{subject} có chế độ sử dụng 03 (Mật): tài liệu mật không được nộp vào hệ thống",
    "{subject} has access mode 03 (secret): secret records must not enter this system",
)
SECRET_MARK = declare(
    "CK-POL-SECRET-MARK", RULE, Severity.ERROR,
    "{subject} mang dấu chỉ độ mật \u201c{mark}\u201d ở trường {field}: tài liệu mật không được nộp vào hệ thống",
    "{subject} carries the secrecy mark \u201c{mark}\u201d in {field}: secret records must not enter this system",
)
FILE_NAME = declare(
    "CK-POL-FILE-NAME", RULE, Severity.WARNING,
    "Tên tệp \u201c{name}\u201d không đúng quy định: {reason}",
    "File name \u201c{name}\u201d breaks the naming rule: {reason_en}",
)
FILE_SIZE = declare(
    "CK-POL-FILE-SIZE", RULE, Severity.WARNING,
    "Tệp {path} dung lượng {size_mb} MB, vượt mức tối đa {limit_mb} MB",
    "{path} is {size_mb} MB, above the {limit_mb} MB limit",
)
NAME_NOT_NFC = declare(
    "CK-POL-NAME-NOT-NFC", RULE, Severity.WARNING,
    "Tên tệp {path} không ở dạng chuẩn Unicode NFC (TCVN 6909:2001)",
    "File name {path} is not in Unicode NFC (TCVN 6909:2001)",
)
CASE_TWINS = declare(
    "CK-POL-CASE-TWINS", RULE, Severity.WARNING,
    "Các tệp {paths} chỉ khác nhau ở chữ hoa/chữ thường; có thể ghi đè nhau trên một số hệ thống",
    "Files {paths} differ only by letter case and may overwrite each other on some systems",
)

_SECRET_MARK = re.compile(r"(?<![\w])(TUYỆT MẬT|TỐI MẬT|MẬT)(?![\w])")
_SECRET_LABEL = re.compile(r"độ\s+mật\s*[:：]\s*(tuyệt mật|tối mật|mật)\b", re.IGNORECASE)
_MARK_FIELDS = ("infor_sign", "keyword", "description", "title", "subject", "code_notation", "mode")


def check_policy(
    pkg: ParsedPackage, observed: dict[str, ObservedFile], ctx: CheckContext, policy: Policy
) -> None:
    """All of R-CK-6 at once. The gate runs the two halves apart (metadata first, in its metadata pass)."""
    check_policy_metadata(pkg, ctx, policy)
    check_policy_content(pkg, observed, ctx, policy)


def check_policy_metadata(pkg: ParsedPackage, ctx: CheckContext, policy: Policy) -> None:
    """The rules that need only the metadata: secrecy, file names, case twins."""
    for dossier in pkg.dossiers:
        _check_secrecy_dossier(dossier, ctx, policy)
        for document in dossier.documents:
            _check_secrecy_document(document, ctx, policy)
    for path, doc in sorted(_document_paths(pkg).items()):
        _check_file_name(path, doc.key, ctx, policy)
    _check_case_twins(pkg.files, ctx)


def check_policy_content(
    pkg: ParsedPackage, observed: dict[str, ObservedFile], ctx: CheckContext, policy: Policy
) -> None:
    """File sizes as read, then the PREMIS event for the whole of R-CK-6 (both halves)."""
    document_paths = _document_paths(pkg)
    for path, found in sorted(observed.items()):
        owner = document_paths.get(path)
        if owner is not None and found.size > policy.max_file_bytes:
            ctx.report(
                FILE_SIZE,
                path=path,
                document=owner.key,
                severity=Severity(policy.file_size_severity),
                size_mb=f"{found.size / 1024**2:.1f}",
                limit_mb=f"{policy.max_file_bytes / 1024**2:.0f}",
            )
    found_now = [f for f in ctx.findings if f.rule == RULE]
    errors = sum(1 for f in found_now if f.severity is Severity.ERROR)
    ctx.record(
        event(
            EventType.VALIDATION,
            AGENT,
            Outcome.FAILURE if errors else Outcome.WARNING if found_now else Outcome.SUCCESS,
            "Kiểm tra quy định nghiệp vụ: không có tài liệu mật, tên và dung lượng tệp (R-CK-6)",
            outcome_detail=f"findings={len(found_now)} errors={errors}",
        )
    )


def _document_paths(pkg: ParsedPackage) -> dict[str, Document]:
    return {f.path: doc for doc in pkg.documents for f in doc.files}


def _check_secrecy_dossier(dossier: Dossier, ctx: CheckContext, policy: Policy) -> None:
    subject = f"Hồ sơ {dossier.code or dossier.title or ''}".strip()
    _check_secrecy(dossier, subject, None, ctx, policy)


def _check_secrecy_document(doc: Document, ctx: CheckContext, policy: Policy) -> None:
    _check_secrecy(doc, f"Tài liệu {doc.key}", doc.key, ctx, policy)


def _check_secrecy(
    record: Dossier | Document, subject: str, document: str | None, ctx: CheckContext, policy: Policy
) -> None:
    mode = (record.mode or "").strip()
    if mode == "03" or mode.casefold() in {"mật", "mat"}:
        ctx.report(SECRET_MODE, field="mode", document=document, subject=subject)
    if not policy.reject_secret_marks:
        return
    for field_name in _MARK_FIELDS:
        value = getattr(record, field_name, None)
        if not value:
            continue
        mark = secrecy_mark(value)
        if mark:
            ctx.report(SECRET_MARK, field=field_name, document=document, subject=subject, mark=mark)


def secrecy_mark(text: str) -> str | None:
    """The secrecy mark in `text`, if any.

    A mark is the stamp in capitals ("MẬT", "TỐI MẬT", "TUYỆT MẬT") or a label
    "Độ mật: …". Ordinary prose such as "bảo vệ bí mật nhà nước" is not a mark.
    """
    normalized = unicodedata.normalize("NFC", text)
    label = _SECRET_LABEL.search(normalized)
    if label:
        return label.group(1).upper()
    stamp = _SECRET_MARK.search(normalized)
    if stamp and not _inside_uppercase_prose(normalized, stamp.start(), stamp.end()):
        return stamp.group(1)
    return None


_PROSE_BEFORE = {"BÍ", "Bí", "bí"}
_PROSE_AFTER = {"MÃ", "KHẨU", "THƯ", "ĐỘ"}


def _inside_uppercase_prose(text: str, start: int, end: int) -> bool:
    """'BẢO VỆ BÍ MẬT NHÀ NƯỚC', 'MẬT MÃ', 'MẬT KHẨU' in capitals are words, not stamps."""
    before = text[:start].split()
    after = text[end:].split()
    return bool(before and before[-1] in _PROSE_BEFORE) or bool(after and after[0].strip(".,;:") in _PROSE_AFTER)


def _check_file_name(path: str, document: str, ctx: CheckContext, policy: Policy) -> None:
    name = path.rsplit("/", 1)[-1]
    severity = Severity(policy.file_name_severity)
    if unicodedata.normalize("NFC", name) != name:
        ctx.report(NAME_NOT_NFC, path=path, document=document)
    if len(name) > policy.max_file_name_chars:
        ctx.report(
            FILE_NAME, path=path, document=document, severity=severity, name=name,
            reason=f"dài {len(name)} ký tự, tối đa {policy.max_file_name_chars}",
            reason_en=f"{len(name)} characters, at most {policy.max_file_name_chars}",
        )
    if not re.fullmatch(policy.file_name_pattern, name):
        ctx.report(
            FILE_NAME, path=path, document=document, severity=severity, name=name,
            reason="chỉ được dùng chữ cái không dấu, chữ số và các ký tự . _ -",
            reason_en="only unaccented letters, digits and . _ - are allowed",
        )


def _check_case_twins(paths: list[str], ctx: CheckContext) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        groups[path.casefold()].append(path)
    for twins in groups.values():
        if len(twins) > 1:
            ctx.report(CASE_TWINS, path=twins[0], paths=", ".join(sorted(twins)))
