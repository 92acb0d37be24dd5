"""R-CK-1: the generic fixity check over declarations and observed bytes."""

from __future__ import annotations

import hashlib

from archive_core.findings import CheckContext, Severity
from archive_core.model import FileRole
from archive_core.premis import EventType
from ingest.checks.fixity import check_fixity
from ingest.package import DeclaredFile, ObservedFile, PackageKind, ParsedPackage


def _observed(path: str, data: bytes) -> ObservedFile:
    return ObservedFile(
        path=path,
        size=len(data),
        checksums={"sha256": hashlib.sha256(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()},
    )


def _declared(path: str, data: bytes, **changes: object) -> DeclaredFile:
    decl = DeclaredFile(
        path=path,
        declared_by="METS.xml",
        role=FileRole.ORIGINAL,
        size=len(data),
        checksums={"sha256": hashlib.sha256(data).hexdigest().upper()},
    )
    for key, value in changes.items():
        setattr(decl, key, value)
    return decl


def _run(declared: list[DeclaredFile], observed: list[ObservedFile], **pkg: object) -> CheckContext:
    package = ParsedPackage(kind=PackageKind.TT05_SIP_HOSO, name="p", declared=declared, **pkg)  # type: ignore[arg-type]
    ctx = CheckContext()
    check_fixity(package, {o.path: o for o in observed}, ctx)
    return ctx


def test_matching_declarations_pass_and_upper_case_hex_is_accepted() -> None:
    ctx = _run([_declared("a.pdf", b"abc")], [_observed("a.pdf", b"abc")])
    assert ctx.findings == []
    assert ctx.events[0].event_type is EventType.FIXITY_CHECK
    assert "verified=1" in ctx.events[0].outcome_detail


def test_checksum_and_size_mismatch_are_errors() -> None:
    declared = _declared("a.pdf", b"abc", size=4, checksums={"sha256": "00" * 32})
    ctx = _run([declared], [_observed("a.pdf", b"abc")])
    assert {f.code for f in ctx.findings} == {"CK-FIXITY-MISMATCH", "CK-FIXITY-SIZE-MISMATCH"}
    assert all(f.severity is Severity.ERROR for f in ctx.findings)
    mismatch = next(f for f in ctx.findings if f.code == "CK-FIXITY-MISMATCH")
    assert "00" * 32 in mismatch.message_vi and hashlib.sha256(b"abc").hexdigest() in mismatch.message_en


def test_missing_and_undeclared_files() -> None:
    ctx = _run([_declared("gone.pdf", b"x")], [_observed("extra.pdf", b"y")])
    assert {(f.code, f.path) for f in ctx.findings} == {
        ("CK-FIXITY-MISSING", "gone.pdf"),
        ("CK-FIXITY-UNDECLARED", "extra.pdf"),
    }


def test_declaration_scope_exempts_tag_files() -> None:
    ctx = _run(
        [_declared("data/a.txt", b"a")],
        [_observed("data/a.txt", b"a"), _observed("bag-info.txt", b"x"), _observed("data/b.txt", b"b")],
        declaration_prefixes=("data/",),
    )
    assert [(f.code, f.path) for f in ctx.findings] == [("CK-FIXITY-UNDECLARED", "data/b.txt")]


def test_md5_only_declarations_are_checked_and_flagged_once() -> None:
    files = [(f"data/{i}.txt", str(i).encode()) for i in range(3)]
    declared = [
        _declared(p, d, checksums={"md5": hashlib.md5(d).hexdigest()}, declared_by="manifest-md5.txt")
        for p, d in files
    ]
    declared[0].checksums["md5"] = "0" * 32
    ctx = _run(declared, [_observed(p, d) for p, d in files])
    codes = [f.code for f in ctx.findings]
    assert codes.count("CK-FIXITY-MISMATCH") == 1
    assert codes.count("CK-FIXITY-NO-SHA256") == 1


def test_unsupported_algorithm_and_missing_checksum() -> None:
    ctx = _run(
        [_declared("a", b"a", checksums={"crc32": "1234"}), _declared("b", b"b", checksums={})],
        [_observed("a", b"a"), _observed("b", b"b")],
    )
    assert {f.code for f in ctx.findings} == {
        "CK-FIXITY-UNSUPPORTED-ALGORITHM",
        "CK-FIXITY-NO-CHECKSUM",
        "CK-FIXITY-NO-SHA256",
    }
