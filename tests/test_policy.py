"""R-CK-6: secrets, names, sizes."""

from __future__ import annotations

import unicodedata

import pytest

from archive_core.findings import CheckContext, Severity
from archive_core.model import Document, Dossier, FileRef
from archive_core.settings import Policy
from ingest.checks.policy import check_policy, secrecy_mark
from ingest.package import ObservedFile, PackageKind, ParsedPackage


def _package(*docs: Document, mode: str = "01", **dossier: str) -> ParsedPackage:
    return ParsedPackage(
        kind=PackageKind.TT05_SIP_HOSO,
        name="p",
        dossiers=[Dossier(file_code="000.00.00.H12.2024.01", mode=mode, documents=list(docs), **dossier)],
        files=[f.path for d in docs for f in d.files],
    )


def _doc(name: str = "van-ban-1.pdf", **fields: str) -> Document:
    return Document(doc_id="H12.2024.01.1", files=[FileRef(path=f"representations/rep1/data/{name}")], **fields)


def _run(pkg: ParsedPackage, observed: dict[str, ObservedFile] | None = None, **policy: object) -> CheckContext:
    ctx = CheckContext()
    check_policy(pkg, observed or {}, ctx, Policy(**policy))  # type: ignore[arg-type]
    return ctx


def test_clean_package_has_no_findings() -> None:
    assert _run(_package(_doc(mode="01"))).findings == []


@pytest.mark.parametrize("where", ["dossier", "document"])
def test_mode_03_is_rejected(where: str) -> None:
    pkg = _package(_doc(mode="03" if where == "document" else "01"), mode="03" if where == "dossier" else "01")
    ctx = _run(pkg)
    assert [f.code for f in ctx.findings] == ["CK-POL-SECRET-MODE"]
    assert ctx.findings[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("MẬT", "MẬT"),
        ("Tài liệu TUYỆT MẬT - không phổ biến", "TUYỆT MẬT"),
        ("TỐI MẬT", "TỐI MẬT"),
        ("Độ mật: Mật", "MẬT"),
        (unicodedata.normalize("NFD", "TỐI MẬT"), "TỐI MẬT"),
    ],
)
def test_secrecy_marks_are_found(text: str, mark: str) -> None:
    assert secrecy_mark(text) == mark


@pytest.mark.parametrize(
    "text",
    [
        "Quy chế bảo vệ bí mật nhà nước",
        "QUY CHẾ BẢO VỆ BÍ MẬT NHÀ NƯỚC",
        "Ban Cơ yếu Chính phủ: MẬT MÃ dân sự",
        "Đổi MẬT KHẨU khi đăng nhập lần đầu",
        "mật độ dân số",
    ],
)
def test_prose_is_not_a_secrecy_mark(text: str) -> None:
    assert secrecy_mark(text) is None


def test_secret_mark_in_document_metadata_rejects() -> None:
    ctx = _run(_package(_doc(infor_sign="MẬT")))
    assert [(f.code, f.field) for f in ctx.findings] == [("CK-POL-SECRET-MARK", "infor_sign")]


def test_file_name_rules_follow_policy_severity() -> None:
    pkg = _package(_doc(name="Quyết định số 1.pdf"), _doc(name="a" * 51 + ".pdf"))
    ctx = _run(pkg)
    assert [f.code for f in ctx.findings] == ["CK-POL-FILE-NAME", "CK-POL-FILE-NAME"]
    assert {f.severity for f in ctx.findings} == {Severity.WARNING}
    strict = _run(pkg, file_name_severity="error")
    assert {f.severity for f in strict.findings} == {Severity.ERROR}


def test_big_file_is_flagged() -> None:
    doc = _doc()
    path = doc.files[0].path
    observed = {path: ObservedFile(path=path, size=60 * 1024**2, checksums={})}
    ctx = _run(_package(doc), observed)
    assert [f.code for f in ctx.findings] == ["CK-POL-FILE-SIZE"]
    assert "60.0 MB" in ctx.findings[0].message_vi


def test_nfd_name_and_case_twins_are_warnings() -> None:
    nfd = unicodedata.normalize("NFD", "tờ-trình.pdf")
    pkg = _package(_doc(name=nfd))
    pkg.files += ["data/A.pdf", "data/a.pdf"]
    codes = [f.code for f in _run(pkg).findings]
    assert "CK-POL-NAME-NOT-NFC" in codes and "CK-POL-CASE-TWINS" in codes
