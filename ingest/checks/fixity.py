"""R-CK-1 fixity: declared sizes and checksums against the bytes, both directions."""

from __future__ import annotations

from collections import defaultdict

from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import FileRole
from archive_core.premis import Agent, EventType, Outcome, event
from ingest.package import DeclaredFile, ObservedFile, ParsedPackage

AGENT = Agent("earchive.fixity")

MISMATCH = declare(
    "CK-FIXITY-MISMATCH", "R-CK-1", Severity.ERROR,
    "Mã băm {algorithm} của tệp {path} không khớp: khai báo {declared}, thực tế {actual} (khai báo tại {declared_by})",
    "{algorithm} of {path} does not match: declared {declared}, actual {actual} (declared in {declared_by})",
)
SIZE_MISMATCH = declare(
    "CK-FIXITY-SIZE-MISMATCH", "R-CK-1", Severity.ERROR,
    "Kích thước tệp {path} không khớp: khai báo {declared} byte, thực tế {actual} byte",
    "Size of {path} does not match: declared {declared} bytes, actual {actual} bytes",
)
MISSING = declare(
    "CK-FIXITY-MISSING", "R-CK-1", Severity.ERROR,
    "Tệp {path} được khai báo trong {declared_by} nhưng không có trong gói",
    "{path} is declared in {declared_by} but absent from the package",
)
UNDECLARED = declare(
    "CK-FIXITY-UNDECLARED", "R-CK-1", Severity.ERROR,
    "Tệp {path} có trong gói nhưng không được khai báo",
    "{path} is in the package but not declared",
)
NO_CHECKSUM = declare(
    "CK-FIXITY-NO-CHECKSUM", "R-CK-1", Severity.WARNING,
    "Tệp {path} được khai báo trong {declared_by} mà không có mã băm",
    "{path} is declared in {declared_by} without a checksum",
)
NO_SHA256 = declare(
    "CK-FIXITY-NO-SHA256", "R-CK-1", Severity.WARNING,
    "{count} tệp chỉ được khai báo mã băm {algorithms}, không có SHA-256 (ví dụ: {example})",
    "{count} files are declared only with {algorithms}, not SHA-256 (e.g. {example})",
)
UNSUPPORTED_ALGORITHM = declare(
    "CK-FIXITY-UNSUPPORTED-ALGORITHM", "R-CK-1", Severity.ERROR,
    "Thuật toán băm {algorithm} khai báo cho {path} không được hỗ trợ",
    "Checksum algorithm {algorithm} declared for {path} is not supported",
)

SUPPORTED = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}


def check_fixity(pkg: ParsedPackage, observed: dict[str, ObservedFile], ctx: CheckContext) -> None:
    by_path: dict[str, list[DeclaredFile]] = defaultdict(list)
    for declaration in pkg.declared:
        by_path[declaration.path].append(declaration)
    failures_before = len(ctx.findings)
    verified = 0
    without_sha256: dict[str, set[str]] = {}
    for path, declarations in sorted(by_path.items()):
        actual = observed.get(path)
        if actual is None:
            for decl in declarations:
                ctx.report(MISSING, path=path, declared_by=decl.declared_by, document=_doc(pkg, path))
            continue
        verified += _compare(pkg, actual, declarations, ctx)
        algorithms = {alg for decl in declarations for alg in decl.checksums}
        payload = any(decl.role is not FileRole.TAG for decl in declarations)
        if payload and algorithms and "sha256" not in algorithms:
            without_sha256[path] = algorithms
    if without_sha256:
        example = next(iter(without_sha256))
        names = sorted({alg.upper() for algs in without_sha256.values() for alg in algs})
        ctx.report(NO_SHA256, count=len(without_sha256), algorithms=", ".join(names), example=example)
    for path in sorted(observed):
        if path not in by_path and pkg.must_be_declared(path):
            ctx.report(UNDECLARED, path=path, document=_doc(pkg, path))
    errors = sum(1 for f in ctx.findings[failures_before:] if f.severity is Severity.ERROR)
    ctx.record(
        event(
            EventType.FIXITY_CHECK,
            AGENT,
            Outcome.FAILURE if errors else Outcome.SUCCESS,
            "So sánh kích thước và mã băm khai báo với nội dung tệp (R-CK-1)",
            outcome_detail=f"declared={len(by_path)} present={len(observed)} verified={verified} errors={errors}",
        )
    )


def _compare(
    pkg: ParsedPackage, actual: ObservedFile, declarations: list[DeclaredFile], ctx: CheckContext
) -> int:
    """Compare one file with each of its declarations; returns 1 when fully verified."""
    ok = True
    document = _doc(pkg, actual.path)
    for decl in declarations:
        if decl.size is not None and decl.size != actual.size:
            ok = False
            ctx.report(SIZE_MISMATCH, path=actual.path, declared=decl.size, actual=actual.size, document=document)
        if not decl.checksums:
            ctx.report(NO_CHECKSUM, path=actual.path, declared_by=decl.declared_by, document=document)
            ok = False
        for algorithm, declared in decl.checksums.items():
            if algorithm not in SUPPORTED:
                ok = False
                ctx.report(UNSUPPORTED_ALGORITHM, path=actual.path, algorithm=algorithm, document=document)
                continue
            computed = actual.checksums.get(algorithm)
            if computed is not None and computed != declared.lower():
                ok = False
                ctx.report(
                    MISMATCH,
                    path=actual.path,
                    algorithm=algorithm.upper(),
                    declared=declared.lower(),
                    actual=computed,
                    declared_by=decl.declared_by,
                    document=document,
                )
    return 1 if ok else 0


def _doc(pkg: ParsedPackage, path: str) -> str | None:
    doc = pkg.document_of(path)
    return doc.key if doc else None
