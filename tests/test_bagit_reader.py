"""BagIt reader: the earchive Circular 02 profile, encodings, Payload-Oxum,
percent-encoding and every CK-BAG finding code."""

from __future__ import annotations

import codecs
import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Protocol

import bagit
import pytest

from archive_core.findings import Code, Severity
from archive_core.model import FileRole
from archive_core.settings import Settings
from ingest.package import PackageKind
from ingest.readers import bagit as bagit_reader
from ingest.readers.bagit import PROFILE_IDENTIFIER, BagItReader
from tests.conftest import REPO
from tests.test_bagit_support import BagCheck, FolderSource, bagit_check, digest, manifest_text, write_bag

EXAMPLE = REPO / "docs" / "examples" / "bagit-c02"
PROFILE_JSON = REPO / "docs" / "schemas" / "earchive-bagit-profile.json"
PROFILE_DOC = REPO / "docs" / "bagit-profile.md"

HELLO = b"hello\n"


class Checker(Protocol):
    def __call__(self, path: Path, *, fixity: bool = True) -> BagCheck: ...


@pytest.fixture
def check(settings: Settings, tmp_path: Path) -> Checker:
    counter = iter(range(1_000_000))

    def run(path: Path, *, fixity: bool = True) -> BagCheck:
        return bagit_check(path, settings, tmp_path / f"staging-{next(counter)}", fixity=fixity)

    return run


def codes(result: BagCheck, severity: Severity | None = None) -> list[str]:
    return result.codes(severity)


def only_bagit_errors(result: BagCheck) -> list[str]:
    return [f.code for f in result.bagit_findings() if f.severity is Severity.ERROR]


# --- the profile and its example -------------------------------------------------------------
def test_example_bag_reads_into_the_model(check: Checker) -> None:
    result = check(EXAMPLE)
    pkg = result.package
    assert pkg is not None
    assert result.findings == [], [f.message_en for f in result.findings]
    assert pkg.kind is PackageKind.BAGIT_C02
    assert pkg.agency_code == "000.00.12.H49"
    assert pkg.agency_name == "Sở Nội vụ tỉnh Quảng Nam"
    assert pkg.objid == "000.00.12.H49.2024.05.VTLT"
    assert pkg.created == "2025-03-14"
    assert pkg.profile_info["BagIt-Version"] == "1.0"
    assert pkg.profile_info["Manifest-Algorithms"] == "sha256,sha512"
    assert pkg.profile_info["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    [dossier] = pkg.dossiers
    assert dossier.code == "000.00.12.H49.2024.05.VTLT"
    assert dossier.title == "Hồ sơ Hội nghị tổng kết công tác văn thư, lưu trữ năm 2023"
    assert dossier.total_doc == "2"
    assert dossier.fonds is not None and dossier.fonds.fond_name == "Sở Nội vụ tỉnh Quảng Nam"
    assert dossier.metadata_path == "data/metadata/dossier.xml"
    assert [d.doc_ordinal for d in dossier.documents] == ["1", "2"]
    plan, report = dossier.documents
    assert plan.type_name == "Kế hoạch" and plan.code_notation == "KH-SNV"
    assert plan.metadata_path == "data/metadata/documents/KH-15-SNV-2024.xml"
    assert [f.path for f in plan.files] == ["data/files/KH-15-SNV-2024.pdf"]
    assert [f.path for f in report.files] == ["data/files/BC-27-SNV-2024.pdf"]
    pdf = EXAMPLE / "data/files/KH-15-SNV-2024.pdf"
    assert plan.files[0].sha256 == digest("sha256", pdf.read_bytes())
    assert pkg.document_of("data/files/BC-27-SNV-2024.pdf") is report


def test_example_bag_declarations(check: Checker) -> None:
    pkg = check(EXAMPLE, fixity=False).package
    assert pkg is not None
    payload = sorted(p.relative_to(EXAMPLE).as_posix() for p in (EXAMPLE / "data").rglob("*") if p.is_file())
    by_manifest: dict[str, list[str]] = {}
    for decl in pkg.declared:
        by_manifest.setdefault(decl.declared_by, []).append(decl.path)
        assert len(decl.checksums) == 1
    assert sorted(by_manifest["manifest-sha256.txt"]) == payload
    assert sorted(by_manifest["manifest-sha512.txt"]) == payload
    assert sorted(by_manifest["tagmanifest-sha256.txt"]) == [
        "bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt",
    ]
    roles = {d.path: d.role for d in pkg.declared}
    assert roles["data/files/KH-15-SNV-2024.pdf"] is FileRole.ORIGINAL
    assert roles["data/metadata/dossier.xml"] is FileRole.METADATA
    assert roles["bag-info.txt"] is FileRole.TAG
    assert pkg.must_be_declared("data/files/KH-15-SNV-2024.pdf")
    assert not pkg.must_be_declared("bag-info.txt")
    assert sorted(pkg.files) == sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*") if p.is_file())


def test_example_bag_is_valid_for_bagit_python() -> None:
    bag = bagit.Bag(str(EXAMPLE))
    bag.validate()
    assert bag.info["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER


def test_profile_json_matches_the_reader_and_the_example() -> None:
    profile = json.loads(PROFILE_JSON.read_text(encoding="utf-8"))
    assert profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    info = profile["Bag-Info"]
    assert info["BagIt-Profile-Identifier"]["values"] == [PROFILE_IDENTIFIER]
    required = {label for label, rule in info.items() if rule.get("required")}
    assert required == set(bagit_reader.PROFILE_REQUIRED_INFO)
    assert set(profile["Manifests-Required"]) <= set(profile["Manifests-Allowed"])
    assert set(profile["Manifests-Allowed"]) <= set(bagit_reader.SUPPORTED_ALGORITHMS)
    assert profile["Allow-Fetch.txt"] is False
    assert set(profile["Accept-BagIt-Version"]) == set(bagit_reader.PROFILE_VERSIONS)
    example = bagit.Bag(str(EXAMPLE))
    for label in required:
        assert example.info.get(label), label
    payload = [p.relative_to(EXAMPLE).as_posix() for p in (EXAMPLE / "data").rglob("*") if p.is_file()]
    for path in payload:
        # fnmatch's * also crosses "/", so check the flat layout separately.
        assert any(fnmatch.fnmatchcase(path, pattern) for pattern in profile["Payload-Files-Allowed"]), path
        assert bagit_reader._in_profile_layout(path), path
    for path in profile["Payload-Files-Required"]:
        assert (EXAMPLE / path).is_file()


def test_every_code_is_documented_in_the_profile() -> None:
    declared = {
        value.code for value in vars(bagit_reader).values() if isinstance(value, Code)
    }
    assert len(declared) > 30
    documented = set(re.findall(r"CK-BAG-[A-Z0-9-]+[A-Z0-9]", PROFILE_DOC.read_text(encoding="utf-8")))
    assert declared <= documented, sorted(declared - documented)
    assert documented <= declared, sorted(documented - declared)


# --- a minimal profile bag, to break one rule at a time -----------------------------------------
DOSSIER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<HoSo xmlns="urn:earchive:circular02:2019">
  <FileCode>000.00.12.H49.2024.05.VTLT</FileCode>
  <OrganId>000.00.12.H49</OrganId>
  <FileCatalog>2024</FileCatalog>
  <FileNotation>05.VTLT</FileNotation>
  <Title>Hồ sơ thử</Title>
  <TotalDoc>1</TotalDoc>
</HoSo>
"""


def document_xml(*files: str, ordinal: str = "1") -> str:
    listed = "".join(f"<File>{name}</File>" for name in files)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VanBan xmlns="urn:earchive:circular02:2019">
  <DocCode>000.00.12.H49-2024.{ordinal}</DocCode>
  <DocOrdinal>{ordinal}</DocOrdinal>
  <TypeName>Công văn</TypeName>
  <Subject>Văn bản thử số {ordinal}</Subject>
  <Files>{listed}</Files>
</VanBan>
"""


PROFILE_INFO = [
    ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
    ("Source-Organization", "Sở Nội vụ tỉnh Quảng Nam"),
    ("Organization-Identifier", "000.00.12.H49"),
    ("External-Identifier", "000.00.12.H49.2024.05.VTLT"),
    ("Bagging-Date", "2025-03-14"),
]


def profile_payload(**changes: bytes | None) -> dict[str, bytes]:
    payload: dict[str, bytes | None] = {
        "metadata/dossier.xml": DOSSIER_XML.encode(),
        "metadata/documents/CV-1.xml": document_xml("files/CV-1.pdf").encode(),
        "files/CV-1.pdf": b"%PDF-1.4\n%%EOF\n",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def profile_bag(
    root: Path, *, info: list[tuple[str, str]] | None = None, payload: dict[str, bytes] | None = None, **kwargs: Any
) -> Path:
    return write_bag(root, payload or profile_payload(), info=PROFILE_INFO if info is None else info, **kwargs)


def test_minimal_profile_bag_is_clean(check: Checker, tmp_path: Path) -> None:
    result = check(profile_bag(tmp_path / "bag"))
    assert result.findings == [], [f.message_en for f in result.findings]
    pkg = result.package
    assert pkg is not None and pkg.kind is PackageKind.BAGIT_C02
    assert [f.path for f in pkg.documents[0].files] == ["data/files/CV-1.pdf"]


def test_plain_bag_is_read_but_has_no_metadata(check: Checker, tmp_path: Path) -> None:
    result = check(write_bag(tmp_path / "bag", {"hello.txt": HELLO}))
    assert result.package is not None and result.package.kind is PackageKind.BAGIT
    assert codes(result) == ["CK-BAG-NO-METADATA"]
    assert result.verdict == "valid"  # the metadata rule is ours, not BagIt's
    [finding] = result.findings
    assert finding.rule == "R-CK-5" and finding.severity is Severity.ERROR
    assert "Thông tư 02" in finding.message_vi


def test_profile_without_dossier(check: Checker, tmp_path: Path) -> None:
    payload = profile_payload(**{"metadata/dossier.xml": None})
    result = check(profile_bag(tmp_path / "bag", payload=payload))
    assert result.package is not None and result.package.kind is PackageKind.BAGIT_C02
    assert "CK-BAG-C02-DOSSIER-MISSING" in codes(result, Severity.ERROR)
    assert result.package.dossiers == []


def test_dossier_without_profile_identifier(check: Checker, tmp_path: Path) -> None:
    info = [item for item in PROFILE_INFO if item[0] != "BagIt-Profile-Identifier"]
    result = check(profile_bag(tmp_path / "bag", info=info))
    assert codes(result) == ["CK-BAG-C02-PROFILE-UNDECLARED"]
    assert result.package is not None and len(result.package.documents) == 1


def test_profile_required_labels(check: Checker, tmp_path: Path) -> None:
    info = [item for item in PROFILE_INFO if item[0] not in ("Organization-Identifier", "Bagging-Date")]
    result = check(profile_bag(tmp_path / "bag", info=info, oxum=False))
    missing = sorted(f.field or "" for f in result.findings if f.code == "CK-BAG-C02-INFO-MISSING")
    assert missing == ["Bagging-Date", "Organization-Identifier", "Payload-Oxum"]


def test_profile_label_forms_and_repeats(check: Checker, tmp_path: Path) -> None:
    info = [*PROFILE_INFO[:2], ("Organization-Identifier", "H49"), *PROFILE_INFO[3:4],
            ("Bagging-Date", "14/03/2025"), ("External-Identifier", "000.00.12.H49.2024.05.VTLT")]
    result = check(profile_bag(tmp_path / "bag", info=info))
    invalid = sorted(f.field or "" for f in result.findings if f.code == "CK-BAG-C02-INFO-INVALID")
    assert invalid == ["Bagging-Date", "Organization-Identifier"]
    assert [f.field for f in result.findings if f.code == "CK-BAG-INFO-REPEATED"] == ["External-Identifier"]
    assert only_bagit_errors(result) == []


def test_external_identifier_must_be_the_dossier_code(check: Checker, tmp_path: Path) -> None:
    info = [(k, "000.00.12.H49.2024.99.XX" if k == "External-Identifier" else v) for k, v in PROFILE_INFO]
    result = check(profile_bag(tmp_path / "bag", info=info))
    assert codes(result) == ["CK-BAG-C02-IDENTIFIER-MISMATCH"]


def test_profile_manifest_rules(check: Checker, tmp_path: Path) -> None:
    result = check(profile_bag(tmp_path / "bag", algorithms=("sha512",), tag_algorithms=("md5",), version="0.96"))
    rules = sorted(f.path or "" for f in result.findings if f.code == "CK-BAG-C02-BAG-RULE")
    assert rules == ["manifest-sha256.txt", "tagmanifest-sha256.txt"]
    assert codes(result, Severity.WARNING).count("CK-BAG-C02-BAG-ADVICE") == 1
    assert only_bagit_errors(result) == []


def test_profile_forbids_fetch(check: Checker, tmp_path: Path) -> None:
    fetch = {"fetch.txt": b"https://example.org/CV-1.pdf 15 data/files/CV-1.pdf\n"}
    result = check(profile_bag(tmp_path / "bag", tag_files=fetch))
    assert [f.path for f in result.findings if f.code == "CK-BAG-C02-BAG-RULE"] == ["fetch.txt"]
    assert "CK-BAG-FETCH-INCOMPLETE" not in codes(result)  # the file is there


def test_profile_utf16_is_advice(check: Checker, tmp_path: Path) -> None:
    result = check(profile_bag(tmp_path / "bag", encoding="UTF-16"))
    assert "CK-BAG-C02-BAG-ADVICE" in codes(result, Severity.WARNING)
    assert "CK-BAG-ENCODING-NOT-UTF8" in codes(result, Severity.INFO)
    assert only_bagit_errors(result) == []


def test_profile_document_files(check: Checker, tmp_path: Path) -> None:
    payload = profile_payload(**{
        "metadata/documents/CV-1.xml": document_xml("files/CV-1.pdf", "files/absent.pdf", "../bagit.txt").encode(),
        "metadata/documents/CV-2.xml": document_xml("files/CV-1.pdf", ordinal="2").encode(),
        "files/orphan.pdf": b"%PDF-1.4\n",
        "files/sub/nested.pdf": b"%PDF-1.4\n",
        "notes.txt": b"x",
    })
    result = check(profile_bag(tmp_path / "bag", payload=payload))
    found = {(f.code, f.path) for f in result.findings}
    assert ("CK-BAG-C02-FILE-MISSING", "data/files/absent.pdf") in found
    assert ("CK-BAG-C02-FILE-PATH-UNSAFE", "data/metadata/documents/CV-1.xml") in found
    assert ("CK-BAG-C02-FILE-SHARED", "data/files/CV-1.pdf") in found
    assert ("CK-BAG-C02-FILE-UNREFERENCED", "data/files/orphan.pdf") in found
    assert ("CK-BAG-C02-FILE-UNREFERENCED", "data/files/sub/nested.pdf") in found
    assert ("CK-BAG-C02-UNEXPECTED-PAYLOAD", "data/files/sub/nested.pdf") in found
    assert ("CK-BAG-C02-UNEXPECTED-PAYLOAD", "data/notes.txt") in found
    missing = next(f for f in result.findings if f.code == "CK-BAG-C02-FILE-MISSING")
    assert missing.document == "000.00.12.H49-2024.1"
    pkg = result.package
    assert pkg is not None
    assert [f.path for f in pkg.documents[0].files] == ["data/files/CV-1.pdf", "data/files/absent.pdf"]


def test_profile_xml_is_parsed_safely(check: Checker, tmp_path: Path) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><HoSo>&a;</HoSo>'
    payload = profile_payload(**{"metadata/dossier.xml": hostile})
    result = check(profile_bag(tmp_path / "bag", payload=payload))
    assert "CK-XML-DOCTYPE" in codes(result, Severity.ERROR)
    assert result.package is not None and result.package.dossiers == []


# --- encodings --------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["UTF-16", "UTF-16BE", "ISO-8859-1", "windows-1252"])
def test_tag_files_in_other_encodings(check: Checker, tmp_path: Path, encoding: str) -> None:
    bag = write_bag(tmp_path / "bag", {"café.txt": HELLO}, encoding=encoding,
                    info=[("Source-Organization", "Café Société")], version="0.97")
    if encoding == "UTF-16BE":  # no BOM in the codec: add one, as producers do
        for name in ("bag-info.txt", "manifest-sha256.txt"):
            (bag / name).write_bytes(codecs.BOM_UTF16_BE + (bag / name).read_bytes())
        write_bag_tagmanifest(bag, encoding)
    result = check(bag)
    assert result.verdict == "valid", [f.message_en for f in result.findings]
    assert "CK-BAG-ENCODING-NOT-UTF8" in codes(result, Severity.INFO)
    pkg = result.package
    assert pkg is not None and pkg.agency_name == "Café Société"
    assert "data/café.txt" in {d.path for d in pkg.declared}


def write_bag_tagmanifest(bag: Path, encoding: str) -> None:
    tags = {p.name: p.read_bytes() for p in sorted(bag.iterdir()) if p.is_file() and "tagmanifest" not in p.name}
    (bag / "tagmanifest-sha256.txt").write_bytes(manifest_text("sha256", tags).encode(encoding))


def test_utf8_bom_in_bag_info_is_a_warning(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bag-info.txt").write_bytes(codecs.BOM_UTF8 + (bag / "bag-info.txt").read_bytes())
    result = check(bag)
    assert codes(result) == ["CK-BAG-TAG-BOM", "CK-BAG-NO-METADATA"]
    assert result.package is not None and result.package.profile_info["Payload-Oxum"] == "6.1"


def test_bom_in_bagit_txt_is_an_error(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bagit.txt").write_bytes(codecs.BOM_UTF8 + (bag / "bagit.txt").read_bytes())
    result = check(bag)
    assert "CK-BAG-DECLARATION-BOM" in codes(result, Severity.ERROR)
    assert result.package is not None and result.package.profile_info["BagIt-Version"] == "1.0"


def test_undecodable_tag_file(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bag-info.txt").write_bytes(b"Source-Organization: S\xe1\xbb\n\xff\xfe\n")
    result = check(bag)
    assert [f.path for f in result.findings if f.code == "CK-BAG-TAG-UNDECODABLE"] == ["bag-info.txt"]


def test_unknown_encoding(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: TCVN3\n")
    assert "CK-BAG-ENCODING-UNKNOWN" in codes(check(bag), Severity.ERROR)


# --- bagit.txt --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n", "CK-BAG-DECLARATION-INVALID"),
        ("BagIt-Version 1.0\nTag-File-Character-Encoding: UTF-8\n", "CK-BAG-DECLARATION-INVALID"),
        ("BagIt-Version: 1.0\n", "CK-BAG-DECLARATION-FIELD-MISSING"),
        ("Tag-File-Character-Encoding: UTF-8\n", "CK-BAG-DECLARATION-FIELD-MISSING"),
        ("BagIt-Version: .97\nTag-File-Character-Encoding: UTF-8\n", "CK-BAG-VERSION-INVALID"),
        ("BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", "CK-BAG-VERSION-INVALID"),
        ("BagIt-Version: 0.92\nTag-File-Character-Encoding: UTF-8\n", "CK-BAG-VERSION-INVALID"),
    ],
)
def test_bad_declarations(check: Checker, tmp_path: Path, text: str, code: str) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bagit.txt").write_text(text)
    assert code in codes(check(bag), Severity.ERROR)


def test_extra_declaration_line_is_a_warning(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\nFoo: bar\r\n")
    result = check(bag)
    assert result.verdict == "warning"
    assert "CK-BAG-DECLARATION-EXTRA" in codes(result, Severity.WARNING)


def test_bag_without_bagit_txt_is_still_recognised(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bagit.txt").unlink()
    result = check(bag)
    assert result.accepted
    assert "CK-BAG-DECLARATION-MISSING" in codes(result, Severity.ERROR)


def test_accepts(tmp_path: Path) -> None:
    reader = BagItReader()
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO})
    assert reader.accepts(FolderSource(bag))
    sip = tmp_path / "sip"
    (sip / "representations/rep1/data").mkdir(parents=True)
    (sip / "METS.xml").write_text("<mets/>")
    (sip / "representations/rep1/data/a.pdf").write_bytes(b"%PDF")
    assert not reader.accepts(FolderSource(sip))
    (sip / "manifest-sha256.txt").write_text("")
    (sip / "data").mkdir()
    (sip / "data/x").write_text("x")
    assert not reader.accepts(FolderSource(sip))  # METS.xml: a TT 05 package, not a broken bag


# --- bag-info.txt and Payload-Oxum -------------------------------------------------------------
def test_bag_info_labels_repeats_and_folding(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=(), oxum=False)
    (bag / "bag-info.txt").write_text(
        "source-organization: Sở Nội vụ\n"
        "Contact-Name: A\nCONTACT-NAME: B\n"
        "External-Description: Dòng một\n   dòng hai\n\tdòng ba\n"
        "Payload-Oxum: 6.1\n",
        encoding="utf-8",
    )
    result = check(bag)
    assert codes(result) == ["CK-BAG-NO-METADATA"]
    reader_info = result.package
    assert reader_info is not None and reader_info.agency_name == "Sở Nội vụ"
    parsed = _bag_info(bag)
    assert parsed.all("contact-name") == ["A", "B"]
    assert parsed.first("External-Description") == "Dòng một dòng hai dòng ba"


def _bag_info(bag: Path) -> bagit_reader.BagInfo:
    from archive_core.findings import CheckContext

    source = FolderSource(bag)
    state = bagit_reader._Bag(source, CheckContext(), Settings(), {e.path: e for e in source.entries()})
    bagit_reader._read_bag_info(state)
    return state.info


def test_bag_info_line_without_colon(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "bag-info.txt").write_text("Payload-Oxum: 6.1\nthis is not a label\n")
    result = check(bag)
    [finding] = [f for f in result.findings if f.code == "CK-BAG-INFO-LINE-INVALID"]
    assert finding.severity is Severity.ERROR and "line 2" in finding.message_en


@pytest.mark.parametrize(("version", "expected"), [("1.0", ["CK-BAG-INFO-LABEL-SPACE"]), ("0.97", [])])
def test_label_whitespace_only_matters_from_1_0(
    check: Checker, tmp_path: Path, version: str, expected: list[str]
) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, version=version, tag_algorithms=(),
                    info=[("Test-Tag ", "3")])
    assert [c for c in codes(check(bag)) if c != "CK-BAG-NO-METADATA"] == expected


def test_payload_oxum(check: Checker, tmp_path: Path) -> None:
    good = write_bag(tmp_path / "good", {"a.txt": HELLO, "b/c.txt": b"12345"})
    assert check(good).verdict == "valid"
    wrong = write_bag(tmp_path / "wrong", {"a.txt": HELLO}, info=[("Payload-Oxum", "7.1")], oxum=False)
    [finding] = [f for f in check(wrong).findings if f.code == "CK-BAG-OXUM-MISMATCH"]
    assert finding.severity is Severity.ERROR and finding.rule == "R-CK-1"
    assert "7 bytes in 1 files" in finding.message_en and "6 bytes in 1 files" in finding.message_en
    bad = write_bag(tmp_path / "bad", {"a.txt": HELLO}, info=[("Payload-Oxum", "6 bytes")], oxum=False)
    assert "CK-BAG-OXUM-INVALID" in codes(check(bad), Severity.ERROR)
    twice = write_bag(tmp_path / "twice", {"a.txt": HELLO}, info=[("Payload-Oxum", "6.1")])
    result = check(twice)
    assert [f.field for f in result.findings if f.code == "CK-BAG-INFO-REPEATED"] == ["Payload-Oxum"]
    assert result.verdict == "warning"


def test_old_bags_use_package_info(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, version="0.95", info=[("Payload-Oxum", "99.9")], oxum=False)
    (bag / "bag-info.txt").rename(bag / "package-info.txt")
    write_bag_tagmanifest(bag, "utf-8")
    assert "CK-BAG-OXUM-MISMATCH" in codes(check(bag))


# --- manifests: paths -------------------------------------------------------------------------
def bag_with_manifest(root: Path, lines: str, *, version: str = "1.0", payload: dict[str, bytes] | None = None) -> Path:
    return write_bag(root, payload or {"a.txt": HELLO}, version=version, manifests={"manifest-sha256.txt": lines},
                     tag_algorithms=())


SHA_HELLO = digest("sha256", HELLO)


@pytest.mark.parametrize(
    "path",
    ["../a.txt", "data/../../a.txt", "/etc/passwd", "~/a.txt", "~root/a.txt", "C:\\Windows\\a.txt",
     "\\\\?\\UNC\\server\\a.txt", "data\\..\\..\\a.txt"],
)
def test_unsafe_paths(check: Checker, tmp_path: Path, path: str) -> None:
    bag = bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO}  data/a.txt\n{SHA_HELLO}  {path}\n")
    result = check(bag)
    [finding] = [f for f in result.findings if f.code == "CK-BAG-PATH-UNSAFE"]
    assert finding.severity is Severity.ERROR
    assert result.package is not None
    assert [d.path for d in result.package.declared] == ["data/a.txt"]  # the unsafe line is not used


def test_tilde_inside_a_name_is_fine(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"~a.txt": HELLO, "dir/~b.txt": HELLO})
    assert check(bag).verdict == "valid"


@pytest.mark.parametrize("written", ["./data/a.txt", "data//a.txt", "data/x/../a.txt", "data/./a.txt"])
def test_paths_not_in_normal_form(check: Checker, tmp_path: Path, written: str) -> None:
    result = check(bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO}  {written}\n"))
    assert result.verdict == "warning"
    assert "CK-BAG-PATH-NOT-NORMAL" in codes(result, Severity.WARNING)
    assert result.package is not None and result.package.declared[0].path == "data/a.txt"
    assert result.package.declared[0].raw_path == written


def test_payload_manifest_outside_data(check: Checker, tmp_path: Path) -> None:
    bag = bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO}  data/a.txt\n{SHA_HELLO}  bagit.txt\n")
    assert "CK-BAG-PATH-OUTSIDE-PAYLOAD" in codes(check(bag), Severity.ERROR)


def test_tag_manifest_listing_payload(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_algorithms=())
    (bag / "tagmanifest-sha256.txt").write_text(f"{SHA_HELLO}  data/a.txt\n")
    result = check(bag)
    assert "CK-BAG-TAGMANIFEST-PAYLOAD" in codes(result, Severity.WARNING)
    assert result.verdict == "warning"


def test_backslash_separators(check: Checker, tmp_path: Path) -> None:
    bag = bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO}  data\\sub\\a.txt\n", payload={"sub/a.txt": HELLO})
    result = check(bag)
    assert result.verdict == "warning"
    assert result.package is not None and result.package.declared[0].path == "data/sub/a.txt"


# --- percent-encoding ------------------------------------------------------------------------------
def test_percent_encoding_v1(check: Checker, tmp_path: Path) -> None:
    payload = {"100%.txt": b"a", "%7Etilde.txt": b"c", "%test.txt": b"d"}
    files = {f"data/{k}": v for k, v in payload.items()}
    lines = manifest_text("sha256", files, ["data/100%25.txt", "data/%7Etilde.txt", "data/%test.txt"])
    result = check(bag_with_manifest(tmp_path / "bag", lines, payload=payload))
    assert result.verdict == "valid", [f.message_en for f in result.findings]


def test_percent_encoded_line_breaks(settings: Settings, tmp_path: Path) -> None:
    # The package source refuses control characters in names before any reader runs;
    # the reader's own decoding is checked through a permissive source.
    payload = {"line\nbreak.txt": b"b", "cr\rname.txt": b"c"}
    files = {f"data/{k}": v for k, v in payload.items()}
    lines = manifest_text("sha256", files, ["data/line%0Abreak.txt", "data/cr%0dname.txt"])
    bag = bag_with_manifest(tmp_path / "bag", lines, payload=payload)
    result = bagit_check(bag, settings, tmp_path / "staging", permissive=True)
    assert result.verdict == "valid", [f.message_en for f in result.findings]
    assert result.package is not None
    assert sorted(d.path for d in result.package.declared) == sorted(files)
    refused = bagit_check(bag, settings, tmp_path / "staging2")
    assert refused.verdict == "invalid"
    assert any(code.startswith("CK-PKG-") for code in refused.codes(Severity.ERROR))


def test_unencoded_percent_in_v1_bag_is_a_warning(check: Checker, tmp_path: Path) -> None:
    payload = {"100%25.txt": b"a"}  # a file really named with "%25", listed literally
    lines = manifest_text("sha256", {"data/100%25.txt": b"a"})
    result = check(bag_with_manifest(tmp_path / "bag", lines, payload=payload))
    assert codes(result, Severity.WARNING) == ["CK-BAG-PATH-ENCODING"]
    assert result.verdict == "warning"


def test_pre_1_0_names_are_literal(check: Checker, tmp_path: Path) -> None:
    payload = {"%7Etest.txt": b"a", "%test.txt": b"b", "100%25.txt": b"c"}
    files = {f"data/{k}": v for k, v in payload.items()}
    result = check(bag_with_manifest(tmp_path / "bag", manifest_text("sha256", files), version="0.97", payload=payload))
    assert result.verdict == "valid", [f.message_en for f in result.findings]


def test_pre_1_0_encoded_newline_falls_back(settings: Settings, tmp_path: Path) -> None:
    payload = {"a\nb.txt": b"a"}
    lines = manifest_text("sha256", {"data/a\nb.txt": b"a"}, ["data/a%0Ab.txt"])
    bag = bag_with_manifest(tmp_path / "bag", lines, version="0.97", payload=payload)
    result = bagit_check(bag, settings, tmp_path / "staging", permissive=True)
    assert codes(result, Severity.WARNING) == ["CK-BAG-PATH-ENCODING"]


# --- manifests: lines, duplicates, completeness ---------------------------------------------
def test_md5sum_marker(check: Checker, tmp_path: Path) -> None:
    result = check(bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO} *data/a.txt\n"))
    assert codes(result, Severity.WARNING) == ["CK-BAG-MD5SUM-MARKER"]
    assert result.package is not None and result.package.declared[0].path == "data/a.txt"


@pytest.mark.parametrize(
    "line",
    [
        f"{SHA_HELLO}", f"{SHA_HELLO}   ", f"{SHA_HELLO} *", f"{SHA_HELLO[:-1]}  data/a.txt",
        f"{SHA_HELLO[:-1]}x  data/a.txt", f"{SHA_HELLO}0  data/a.txt",
    ],
)
def test_invalid_manifest_lines(check: Checker, tmp_path: Path, line: str) -> None:
    result = check(bag_with_manifest(tmp_path / "bag", f"{line}\n"))
    assert "CK-BAG-MANIFEST-LINE-INVALID" in codes(result, Severity.ERROR)
    assert "CK-FIXITY-UNDECLARED" in codes(result, Severity.ERROR)


def test_upper_case_checksums_are_fine(check: Checker, tmp_path: Path) -> None:
    result = check(bag_with_manifest(tmp_path / "bag", f"{SHA_HELLO.upper()}  data/a.txt\n"))
    assert result.verdict == "valid"


@pytest.mark.parametrize(("version", "code", "severity"), [
    ("0.97", "CK-BAG-MANIFEST-REPEATED", Severity.WARNING),
    ("1.0", "CK-BAG-MANIFEST-REPEATED-V1", Severity.ERROR),
])
def test_same_path_twice_same_checksum(
    check: Checker, tmp_path: Path, version: str, code: str, severity: Severity
) -> None:
    lines = f"{SHA_HELLO}  data/a.txt\n{SHA_HELLO}  data/a.txt\n"
    result = check(bag_with_manifest(tmp_path / "bag", lines, version=version))
    assert code in codes(result, severity)
    assert result.package is not None and len(result.package.declared) == 1


def test_same_path_twice_different_checksums(check: Checker, tmp_path: Path) -> None:
    lines = f"{SHA_HELLO}  data/a.txt\n{'0' * 64}  data/a.txt\n"
    result = check(bag_with_manifest(tmp_path / "bag", lines, version="0.97"))
    assert "CK-BAG-MANIFEST-CONFLICT" in codes(result, Severity.ERROR)
    assert "CK-FIXITY-MISMATCH" in codes(result, Severity.ERROR)


def test_case_only_twin_in_manifest(check: Checker, tmp_path: Path) -> None:
    lines = f"{SHA_HELLO}  data/a.txt\n{SHA_HELLO}  data/A.txt\n"
    result = check(bag_with_manifest(tmp_path / "bag", lines, version="0.97"))
    assert result.verdict == "warning"
    assert codes(result, Severity.WARNING) == ["CK-BAG-NAME-CASE"]
    conflicting = f"{SHA_HELLO}  data/a.txt\n{'0' * 64}  data/A.txt\n"
    result = check(bag_with_manifest(tmp_path / "bag2", conflicting, version="0.97"))
    assert "CK-FIXITY-MISSING" in codes(result, Severity.ERROR)  # a different file that is not there


def test_case_only_twins_on_disk_are_left_to_the_policy_check(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO, "A.txt": b"other\n"})
    if len(list((bag / "data").iterdir())) < 2:
        pytest.skip("case-insensitive file system")
    result = check(bag)
    assert result.verdict == "valid"  # both files are declared and intact: BagIt has nothing to say
    assert result.package is not None and {"data/a.txt", "data/A.txt"} <= set(result.package.files)


def test_nfc_and_nfd_spellings(check: Checker, tmp_path: Path) -> None:
    nfc, nfd = "data/Nguy\u1ec5n.txt", "data/Nguye\u0302\u0303n.txt"
    lines = f"{SHA_HELLO}  {nfd}\n{SHA_HELLO}  {nfc}\n"
    result = check(bag_with_manifest(tmp_path / "bag", lines, version="0.97", payload={"Nguy\u1ec5n.txt": HELLO}))
    assert result.verdict == "warning"
    assert set(codes(result, Severity.WARNING)) == {"CK-BAG-NAME-NORMALIZATION"}
    assert result.package is not None and [d.path for d in result.package.declared] == [nfc]


def test_every_manifest_lists_every_payload_file(check: Checker, tmp_path: Path) -> None:
    files = {"data/a.txt": HELLO, "data/b.txt": b"b"}
    manifests = {
        "manifest-sha256.txt": manifest_text("sha256", files),
        "manifest-sha512.txt": manifest_text("sha512", {"data/a.txt": HELLO}),
    }
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO, "b.txt": b"b"}, manifests=manifests)
    result = check(bag)
    [finding] = [f for f in result.findings if f.code == "CK-BAG-MANIFEST-INCOMPLETE"]
    assert (finding.path, finding.severity) == ("data/b.txt", Severity.ERROR)
    assert "manifest-sha512.txt" in finding.message_en


def test_no_manifest_and_unsupported_algorithms(check: Checker, tmp_path: Path) -> None:
    files = {"data/a.txt": HELLO}
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, manifests={"manifest-blake3.txt": "x  data/a.txt\n"})
    result = check(bag)
    assert "CK-BAG-ALGORITHM-UNSUPPORTED" in codes(result, Severity.WARNING)
    assert "CK-BAG-NO-MANIFEST" in codes(result, Severity.ERROR)
    both = {"manifest-blake3.txt": "x  data/a.txt\n", "manifest-sha384.txt": manifest_text("sha384", files)}
    result = check(write_bag(tmp_path / "bag2", {"a.txt": HELLO}, manifests=both))
    assert result.verdict == "warning"


@pytest.mark.parametrize("algorithm", sorted(bagit_reader.SUPPORTED_ALGORITHMS))
def test_each_supported_algorithm(check: Checker, tmp_path: Path, algorithm: str) -> None:
    good = write_bag(tmp_path / "good", {"a.txt": HELLO}, algorithms=(algorithm,), tag_algorithms=(algorithm,))
    assert check(good).verdict == "valid"
    (good / "data/a.txt").write_bytes(b"changed")
    assert "CK-FIXITY-MISMATCH" in codes(check(good), Severity.ERROR)


def test_missing_and_undeclared_files_come_from_fixity(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO, "b.txt": b"b"})
    (bag / "data/b.txt").unlink()
    (bag / "data/c.txt").write_bytes(b"c")
    result = check(bag)
    found = {(f.code, f.path) for f in result.findings if f.severity is Severity.ERROR}
    assert ("CK-FIXITY-MISSING", "data/b.txt") in found
    assert ("CK-FIXITY-UNDECLARED", "data/c.txt") in found


def test_empty_payload(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {}, manifests={"manifest-sha256.txt": ""})
    result = check(bag)
    assert "CK-BAG-EMPTY-PAYLOAD" in codes(result, Severity.WARNING)


def test_tag_file_too_large(settings: Settings, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO})
    small = settings.model_copy(update={"limits": settings.limits.model_copy(update={"max_tag_file_bytes": 50})})
    result = bagit_check(bag, small, tmp_path / "staging")
    assert "CK-BAG-TAG-TOO-LARGE" in codes(result, Severity.ERROR)


# --- fetch.txt --------------------------------------------------------------------------------
def test_holey_bag_is_rejected(check: Checker, tmp_path: Path) -> None:
    files = {"data/a.txt": HELLO, "data/far.txt": b"far away\n"}
    manifests = {"manifest-sha256.txt": manifest_text("sha256", files)}
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, manifests=manifests,
                    info=[("Payload-Oxum", "15.2")], oxum=False,
                    tag_files={"fetch.txt": b"https://example.org/far.txt 9 data/far.txt\n"})
    result = check(bag)
    assert only_bagit_errors(result) == ["CK-BAG-FETCH-INCOMPLETE"]  # no missing/Oxum noise
    assert result.package is not None and result.package.profile_info["Fetch-Items-Missing"] == "1"


def test_complete_bag_with_fetch_txt_is_valid(check: Checker, tmp_path: Path) -> None:
    fetch = {"fetch.txt": b"https://example.org/a.txt - data/a.txt\n"}
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_files=fetch)
    assert check(bag).verdict == "valid"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("https://example.org/x - ../../x", "CK-BAG-PATH-UNSAFE"),
        ("https://example.org/x - bagit.txt", "CK-BAG-PATH-OUTSIDE-PAYLOAD"),
        ("https://example.org/x data/x", "CK-BAG-FETCH-LINE-INVALID"),
        ("https://example.org/x big data/a.txt", "CK-BAG-FETCH-LINE-INVALID"),
        ("not-a-url - data/a.txt", "CK-BAG-FETCH-LINE-INVALID"),
    ],
)
def test_bad_fetch_lines(check: Checker, tmp_path: Path, line: str, code: str) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, tag_files={"fetch.txt": f"{line}\n".encode()})
    assert code in codes(check(bag), Severity.ERROR)


# --- events and messages ------------------------------------------------------------------------
def test_reader_records_a_premis_event(settings: Settings, tmp_path: Path) -> None:
    from archive_core.findings import CheckContext
    from archive_core.premis import EventType, Outcome

    ctx = CheckContext()
    BagItReader().read(FolderSource(EXAMPLE), ctx, settings)
    [event] = ctx.events
    assert event.event_type is EventType.VALIDATION and event.outcome is Outcome.SUCCESS
    assert "bagit_version=1.0" in event.outcome_detail
    ctx = CheckContext()
    BagItReader().read(FolderSource(write_bag(tmp_path / "b", {"a.txt": HELLO})), ctx, settings)
    assert ctx.events[0].outcome is Outcome.FAILURE  # CK-BAG-NO-METADATA


def test_messages_are_filled_in_both_languages(check: Checker, tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", {"a.txt": HELLO}, info=[("Payload-Oxum", "1.1")], oxum=False)
    result = check(bag)
    for finding in result.findings:
        assert "{" not in finding.message_vi and "{" not in finding.message_en, finding
        assert finding.message_vi != finding.message_en


def test_helper_bags_are_valid_for_bagit_python(tmp_path: Path) -> None:
    payload = {"a.txt": HELLO, "dir/b.txt": b"b"}
    bag = write_bag(tmp_path / "bag", payload, algorithms=("sha256", "sha512"), version="0.97")
    bagit.Bag(str(bag)).validate()


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("data/METS.xml", "metadata"),
        ("data/schemas/mets.xsd", "schema"),
        ("data/representations/rep1/metadata/preservation/PREMIS_rep1.xml", "metadata"),
        ("data/schemas/virus.exe", "original"),
        ("data/representations/rep1/data/METS.xml", "original"),
        ("data/files/a.pdf", "original"),
    ],
)
def test_aip_tree_xml_is_metadata_but_anything_else_stays_content(path: str, role: str) -> None:
    from ingest.readers.bagit import _role

    assert _role(path, is_tag=False).value == role
