"""R-CK-5 metadata checks: each rule positive and negative, legacy-encoding detection."""

from __future__ import annotations

import copy
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from archive_core.codes import Profile
from archive_core.findings import CheckContext, Severity, registry
from archive_core.model import Document, DocumentKind, Dossier, Fonds
from archive_core.premis import EventType, Outcome
from archive_core.profiles import circular02 as c02
from archive_core.settings import Settings
from archive_core.xmlsafe import parse_xml
from ingest.checks import metadata as meta
from ingest.package import PackageKind, ParsedPackage
from tests.conftest import REPO

TODAY = date(2026, 11, 21)


def _sip_dossier() -> Dossier:
    """A clean SIP_hoso as a TT 05 reader produces it."""
    docs = [
        Document(
            doc_id=f"000.00.00.H12.2024.01.{i}", doc_code=f"000.00.00.H12.2024.01.000000{i}", maintenance="01",
            type_name="02", code_number=str(10 + i), code_notation="QĐ-UBND", issued_date=f"1{i}/03/2024",
            organ_name="Ủy ban nhân dân tỉnh", subject=f"Về việc phê duyệt kế hoạch số {i}", language="01",
            number_of_page="4", mode="01", confidence_level="02", format="01", risk_recovery="0",
            metadata_path=f"representations/rep1/metadata/descriptive/EAD_doc_{i}.xml",
        )
        for i in (1, 2)
    ]
    return Dossier(
        file_code="000.00.00.H12.2024.01", title="Hồ sơ kế hoạch cải cách hành chính năm 2024", maintenance="01",
        mode="01", language="01", start_date="11/03/2024", end_date="12/03/2024", total_doc="2",
        number_of_paper="4", number_of_page="8", format="01", confidence_level="02",
        paper_file_code="000.00.00.H12.K01.G02.15", risk_recovery="0", description="Văn thư cơ quan lập",
        documents=docs, metadata_path="metadata/descriptive/EAD.xml",
    )


def _c02_dossier() -> Dossier:
    data = (REPO / "docs/examples/circular02/dossier-with-documents.xml").read_bytes()
    root = parse_xml(data, path="data/metadata/dossier.xml", limits=Settings().limits)
    dossier = c02.dossier_from_xml(root, "data/metadata/dossier.xml", CheckContext())
    for doc in dossier.documents:
        doc.process = "1"
    return dossier


def _run(dossier: Dossier, profile: Profile | None = Profile.SIP_HOSO) -> CheckContext:
    ctx = CheckContext()
    meta.check_dossier(dossier, profile, ctx, Settings(), today=TODAY)
    return ctx


def _codes(ctx: CheckContext) -> list[str]:
    return sorted(f.code for f in ctx.findings)


def test_clean_packages_have_no_findings() -> None:
    assert _codes(_run(_sip_dossier())) == []
    assert _codes(_run(_c02_dossier(), Profile.C02)) == []


def test_every_declared_code_has_both_messages_and_the_rule() -> None:
    mine = {code: kind for code, kind in registry().items() if code.startswith("CK-META-")}
    assert len(mine) >= 20
    for code, kind in mine.items():
        assert kind.rule == "R-CK-5", code
        assert kind.message_vi and kind.message_en and kind.message_vi != kind.message_en
        assert unicodedata.is_normalized("NFC", kind.message_vi)


# ---------------------------------------------------------------- required, length, numbers


def test_required_field_missing_names_the_vietnamese_label() -> None:
    dossier = _sip_dossier()
    dossier.title = None
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-REQUIRED"]
    finding = ctx.findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.field == "title"
    assert "Tiêu đề hồ sơ" in finding.message_vi
    assert finding.path == "metadata/descriptive/EAD.xml"


def test_required_whitespace_only_counts_as_missing() -> None:
    dossier = _sip_dossier()
    dossier.documents[0].subject = "   "
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-REQUIRED"]
    assert ctx.findings[0].document == dossier.documents[0].key


def test_c02_composite_parts_are_optional_when_file_code_is_given() -> None:
    dossier = _c02_dossier()
    dossier.organ_id = dossier.file_catalog = dossier.file_notation = None
    assert _codes(_run(dossier, Profile.C02)) == []
    dossier.file_code = None
    assert _codes(_run(dossier, Profile.C02)).count("CK-META-REQUIRED") == 3


def test_too_long() -> None:
    dossier = _sip_dossier()
    dossier.keyword = "k" * 100
    assert _codes(_run(dossier)) == []
    dossier.keyword = "k" * 101
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-TOO-LONG"]
    assert "101" in ctx.findings[0].message_en and "100" in ctx.findings[0].message_en


def test_field_limit_from_settings_applies_to_every_value() -> None:
    dossier = _sip_dossier()
    dossier.creator = "x" * 150
    ctx = CheckContext()
    settings = Settings()
    settings.limits.max_field_chars = 100
    meta.check_dossier(dossier, Profile.SIP_HOSO, ctx, settings, today=TODAY)
    assert _codes(ctx) == ["CK-META-TOO-LONG"]


@pytest.mark.parametrize("value", ["12a", "-3", "1.5", "mười"])
def test_not_a_number(value: str) -> None:
    dossier = _sip_dossier()
    dossier.number_of_page = value
    assert "CK-META-NOT-A-NUMBER" in _codes(_run(dossier))


def test_number_ok_with_leading_zeros() -> None:
    dossier = _sip_dossier()
    dossier.number_of_paper = "0004"
    assert _codes(_run(dossier)) == []


# ---------------------------------------------------------------- code lists


@pytest.mark.parametrize(("field", "value"), [("mode", "04"), ("format", "Rách"), ("confidence_level", "4"),
                                              ("language", "01,99"), ("risk_recovery", "2")])
def test_value_outside_the_code_list_is_an_error_in_tt05(field: str, value: str) -> None:
    dossier = _sip_dossier()
    setattr(dossier, field, value)
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-CODE-LIST"]
    assert ctx.findings[0].severity is Severity.ERROR


def test_several_language_codes_are_accepted() -> None:
    dossier = _sip_dossier()
    dossier.language = "01, 02"
    assert _codes(_run(dossier)) == []


def test_label_instead_of_code_is_a_warning_in_tt05() -> None:
    dossier = _sip_dossier()
    dossier.maintenance = "Vĩnh viễn"
    dossier.documents[0].type_name = "Quyết định"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-CODE-FORM", "CK-META-CODE-FORM"]
    assert all(f.severity is Severity.WARNING for f in ctx.findings)
    assert "01" in ctx.findings[0].message_vi


def test_mode_03_is_left_to_the_policy_check() -> None:
    dossier = _sip_dossier()
    dossier.mode = "03"
    dossier.documents[0].mode = "03"
    assert _codes(_run(dossier)) == []


def test_c02_words_must_be_recognisable_but_only_warn() -> None:
    dossier = _c02_dossier()
    dossier.maintenance = "Lâu dài"
    dossier.mode = "Công khai"
    assert _codes(_run(dossier, Profile.C02)) == []  # "lâu dài" is a permanent period
    dossier.maintenance = "tùy"
    dossier.mode = "Nội bộ"
    dossier.language = "Tiếng Việt; Tiếng Lào"
    ctx = _run(dossier, Profile.C02)
    assert _codes(ctx) == ["CK-META-CODE-LIST"] * 3
    assert all(f.severity is Severity.WARNING for f in ctx.findings)


# ---------------------------------------------------------------- conditional requirements


def test_risk_recovery_status_required_when_risk_recovery_is_one() -> None:
    dossier = _sip_dossier()
    dossier.risk_recovery = "1"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-REQUIRED-IF"]
    assert "riskRecovery = 1" in ctx.findings[0].message_en
    dossier.risk_recovery_status = "01"
    assert _codes(_run(dossier)) == []
    dossier.risk_recovery_status = "03"
    assert _codes(_run(dossier)) == ["CK-META-CODE-LIST"]


def test_paper_file_code_required_when_digitised_as_a_warning() -> None:
    dossier = _sip_dossier()
    dossier.paper_file_code = None
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-PAPER-CODE-MISSING"]
    assert ctx.findings[0].severity is Severity.WARNING
    dossier.confidence_level = "01"
    assert _codes(_run(dossier)) == []


def test_process_expected_for_born_digital_documents() -> None:
    dossier = _sip_dossier()
    dossier.documents[0].confidence_level = "01"
    assert _codes(_run(dossier)) == ["CK-META-PROCESS-MISSING"]
    dossier.documents[0].process = "1"
    assert _codes(_run(dossier)) == []


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("value", ["31/02/2024", "2024-03-11", "1/3/2024", "11/13/2024", "11/03/24", "ngày 11"])
def test_bad_sip_dates(value: str) -> None:
    dossier = _sip_dossier()
    dossier.start_date = value
    assert "CK-META-BAD-DATE" in _codes(_run(dossier))


def test_aip_allows_month_and_year_forms_sip_does_not() -> None:
    dossier = _sip_dossier()
    dossier.start_date, dossier.end_date = "03/2024", "2024"
    dossier.arc_file_code = "000.00.00.H49.000.00.00.H12.2024.01"
    for doc in dossier.documents:
        doc.arc_file_code = dossier.arc_file_code
    assert _codes(_run(dossier, Profile.AIP_HOSO)) == []
    assert _codes(_run(dossier, Profile.SIP_HOSO)) == ["CK-META-BAD-DATE", "CK-META-BAD-DATE"]


def test_future_date_is_a_warning() -> None:
    dossier = _sip_dossier()
    dossier.end_date = "01/01/2027"
    assert "CK-META-FUTURE-DATE" in _codes(_run(dossier))


def test_start_after_end() -> None:
    dossier = _sip_dossier()
    dossier.start_date, dossier.end_date = "13/03/2024", "12/03/2024"
    codes = _codes(_run(dossier))
    assert "CK-META-DATE-ORDER" in codes
    dossier.start_date = dossier.end_date
    assert "CK-META-DATE-ORDER" not in _codes(_run(dossier))


def test_document_date_outside_the_span_is_a_warning() -> None:
    dossier = _sip_dossier()
    dossier.documents[1].issued_date = "20/03/2024"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-DATE-OUTSIDE"]
    assert ctx.findings[0].severity is Severity.WARNING


def test_partial_dates_compare_as_spans() -> None:
    assert meta.parse_date_span("02/2024") == (date(2024, 2, 1), date(2024, 2, 29))
    assert meta.parse_date_span("2023") == (date(2023, 1, 1), date(2023, 12, 31))
    assert meta.parse_date_span("30/02/2024") is None


# ---------------------------------------------------------------- identifiers and consistency


def test_identifier_structure_errors_and_form_warnings() -> None:
    dossier = _sip_dossier()
    dossier.file_code = "UBND-2024-01"
    assert "CK-META-IDENTIFIER" in _codes(_run(dossier))
    dossier = _sip_dossier()
    dossier.documents[0].doc_code = "000.00.00.H12.2024.01.1"
    assert "CK-META-IDENTIFIER" in _codes(_run(dossier))
    dossier = _sip_dossier()
    dossier.paper_file_code = "hộp 15"
    assert _codes(_run(dossier)) == ["CK-META-IDENTIFIER"]


def test_real_sample_wrong_docode_year_is_a_warning_per_document() -> None:
    dossier = _sip_dossier()
    dossier.file_code = "H49.64.33.2001.160"
    dossier.start_date, dossier.end_date = "01/01/2001", "31/12/2001"
    dossier.paper_file_code = None
    for i, doc in enumerate(dossier.documents, start=1):
        doc.doc_id = f"H49.64.33.2001.160.{i}"
        doc.doc_code = f"H49.64.33.1994.160.{i:07d}"
        doc.issued_date = "05/05/2001"
    ctx = _run(dossier)
    assert _codes(ctx).count("CK-META-DOCCODE-MISMATCH") == 2
    mismatch = [f for f in ctx.findings if f.code == "CK-META-DOCCODE-MISMATCH"]
    assert all(f.severity is Severity.WARNING and "1994" in f.message_en for f in mismatch)
    assert "CK-META-PAPER-CODE-MISSING" in _codes(ctx)
    assert all(f.severity is Severity.WARNING for f in ctx.findings), "the real sample must not be rejected"


def test_sequence_numbers_must_agree() -> None:
    dossier = _sip_dossier()
    dossier.documents[0].doc_id = "000.00.00.H12.2024.01.2"
    assert _codes(_run(dossier)) == ["CK-META-SEQUENCE-MISMATCH"]


def test_arc_doc_code_in_place_of_doc_code_in_a_sip() -> None:
    dossier = _sip_dossier()
    doc = dossier.documents[0]
    doc.arc_doc_code, doc.doc_code = doc.doc_code, None
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-CODE-SUBSTITUTE"]
    assert ctx.findings[0].severity is Severity.WARNING


def test_c02_file_code_must_agree_with_its_parts() -> None:
    dossier = _c02_dossier()
    dossier.file_notation = "02.TCCB"
    assert "CK-META-FILECODE-PARTS" in _codes(_run(dossier, Profile.C02))


# ---------------------------------------------------------------- totals


def test_total_doc_must_equal_the_documents_present() -> None:
    dossier = _sip_dossier()
    dossier.total_doc = "3"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-TOTAL-MISMATCH"]
    assert ctx.findings[0].severity is Severity.ERROR


def test_page_counts_when_all_are_known() -> None:
    dossier = _sip_dossier()
    dossier.number_of_page = "9"
    assert _codes(_run(dossier)) == ["CK-META-PAGE-MISMATCH"]
    dossier.documents[0].number_of_page = None
    assert _codes(_run(dossier)) == []


def test_fonds_digitised_cannot_exceed_total() -> None:
    dossier = _c02_dossier()
    assert dossier.fonds is not None
    dossier.fonds.paper_digital = "2000"
    assert _codes(_run(dossier, Profile.C02)) == ["CK-META-COUNT-ORDER"]


# ---------------------------------------------------------------- text quality


def test_not_nfc_is_a_warning_naming_the_field() -> None:
    dossier = _sip_dossier()
    dossier.title = unicodedata.normalize("NFD", dossier.title or "")
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-NOT-NFC"]
    assert ctx.findings[0].field == "title" and "Tiêu đề hồ sơ" in ctx.findings[0].message_vi


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x85", "\ud800", "\ufffe", "\ufdd0"])
def test_invalid_characters_are_errors(char: str) -> None:
    dossier = _sip_dossier()
    dossier.documents[0].subject = f"Về việc{char} phê duyệt"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-INVALID-CHAR"]
    assert f"U+{ord(char):04X}" in ctx.findings[0].message_en


def test_tab_and_newline_are_fine_replacement_char_warns() -> None:
    dossier = _sip_dossier()
    dossier.description = "Dòng 1\nDòng 2\tcột"
    assert _codes(_run(dossier)) == []
    dossier.description = "Qu\ufffdn lý"
    assert _codes(_run(dossier)) == ["CK-META-REPLACEMENT-CHAR"]


@pytest.mark.parametrize(
    ("text", "encoding", "repaired"),
    [
        ("Qu¶n lý", "TCVN3", "Quản lý"),
        ("V¨n b¶n", "TCVN3", "Văn bản"),
        ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "TCVN3", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
        ("§éc lËp - Tù do - H¹nh phóc", "TCVN3", "Độc lập - Tự do - Hạnh phúc"),
        ("Quaûn lyù", "VNI", "Quản lý"),
        ("vaên baûn", "VNI", "văn bản"),
        ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "VNI", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
        ("Ñoäc laäp - Töï do - Haïnh phuùc", "VNI", "Độc lập - Tự do - Hạnh phúc"),
        ("Quáº£n lÃ½ vÄƒn báº£n", "UTF-8", "Quản lý văn bản"),
    ],
)
def test_legacy_encodings_are_detected_and_repaired(text: str, encoding: str, repaired: str) -> None:
    assert meta.detect_legacy_encoding(text) == (encoding, repaired)


@pytest.mark.parametrize(
    "text",
    [
        "Quản lý văn bản", "Tôi là ai", "Lê Văn Tám", "Microsoft® Word © 2020", "Café crème brûlée à la carte",
        "Société Générale, naïve Noël, München, España, São Paulo, Zürich, Ærø", "Ångström Øresund Ça va",
        "ISO 9001:2015 ±5% ½ ¼", "§ 5 Điều 3", "Giá 100.000đ", "Nguyễn Thị Bé", "H49.64.33.2001.160",
    ],
)
def test_no_false_alarm_on_normal_text(text: str) -> None:
    assert meta.detect_legacy_encoding(text) is None


def test_legacy_encoding_finding_is_reported_on_the_field() -> None:
    dossier = _sip_dossier()
    dossier.title = "Hå s¬ qu¶n lý v¨n b¶n"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-LEGACY-ENCODING"]
    finding = ctx.findings[0]
    assert finding.severity is Severity.WARNING and finding.field == "title"
    assert "TCVN3" in finding.message_vi and "Hồ sơ quản lý văn bản" in finding.message_vi


def _seed_lines(seed_texts: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(seed_texts.glob("*.txt")):
        lines += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines


def test_no_false_positive_on_any_seed_text_line(seed_texts: Path) -> None:
    lines = _seed_lines(seed_texts)
    assert len(lines) > 1000
    flagged = [line for line in lines if meta.detect_legacy_encoding(line) is not None]
    assert flagged == []


def test_seed_texts_encoded_in_tcvn3_and_vni_are_detected(seed_texts: Path) -> None:
    lines = [line for line in _seed_lines(seed_texts) if len(line.split()) >= 4 and not line.isascii()]
    assert len(lines) > 500
    for encoding, encode in (("TCVN3", meta.encode_tcvn3), ("VNI", meta.encode_vni)):
        hits = 0
        for line in lines:
            found = meta.detect_legacy_encoding(encode(line))
            hits += found is not None and found[0] == encoding
        assert hits / len(lines) >= 0.97, (encoding, hits, len(lines))


def test_vni_encoder_and_decoder_are_inverse_on_seed_text(seed_texts: Path) -> None:
    lines = [line for line in _seed_lines(seed_texts) if not line.isascii()][:300]
    for line in lines:
        assert meta.decode_vni(meta.encode_vni(line)) == unicodedata.normalize("NFC", line)


# ---------------------------------------------------------------- entry point and event


def test_check_metadata_uses_the_package_kind_and_records_one_event() -> None:
    dossier = _sip_dossier()
    dossier.total_doc = "5"
    pkg = ParsedPackage(kind=PackageKind.TT05_SIP_HOSO, name="x.zip", dossiers=[dossier])
    ctx = CheckContext()
    meta.check_metadata(pkg, ctx, Settings())
    assert _codes(ctx) == ["CK-META-TOTAL-MISMATCH"]
    assert len(ctx.events) == 1
    event = ctx.events[0]
    assert event.event_type is EventType.VALIDATION
    assert event.detail == "metadata validation"
    assert event.outcome is Outcome.FAILURE
    assert "1 error(s)" in event.outcome_detail and "2 document(s)" in event.outcome_detail


def test_check_metadata_success_event_and_unknown_profile() -> None:
    ctx = CheckContext()
    meta.check_metadata(ParsedPackage(kind=PackageKind.TT05_SIP_HOSO, name="x", dossiers=[_sip_dossier()]),
                        ctx, Settings())
    assert ctx.events[0].outcome is Outcome.SUCCESS
    # Without a profile only profile-free checks run: totals still do, required fields do not.
    dossier = _sip_dossier()
    dossier.title = None
    dossier.total_doc = "7"
    ctx = CheckContext()
    meta.check_metadata(ParsedPackage(kind=PackageKind.CSIP, name="x", dossiers=[dossier]), ctx, Settings())
    assert _codes(ctx) == ["CK-META-TOTAL-MISMATCH"]


def test_pictures_are_checked_with_their_own_fields() -> None:
    dossier = _sip_dossier()
    pic = Document(kind=DocumentKind.PIC, doc_code="000.00.00.H12.2024.01.0000003", mode="01")
    dossier.documents.append(pic)
    dossier.total_doc = "3"
    ctx = _run(dossier)
    assert _codes(ctx) == ["CK-META-REQUIRED"]
    assert ctx.findings[0].field == "imageTitle"
    pic.image_title = "Lễ ký kết"
    assert _codes(_run(dossier)) == []


def test_c02_fonds_fields_are_checked() -> None:
    dossier = _c02_dossier()
    dossier.fonds = Fonds(fond_name=None, paper_total="nhiều")
    assert _codes(_run(copy.deepcopy(dossier), Profile.C02)) == ["CK-META-NOT-A-NUMBER", "CK-META-REQUIRED"]


def test_oversized_value_is_reported_once_and_c02_findings_use_c02_tags() -> None:
    dossier = _c02_dossier()
    dossier.title = "x" * 200
    ctx = CheckContext()
    settings = Settings()
    settings.limits.max_field_chars = 150
    meta.check_dossier(dossier, Profile.C02, ctx, settings, today=TODAY)
    assert _codes(ctx) == ["CK-META-TOO-LONG"]
    dossier = _c02_dossier()
    dossier.title = unicodedata.normalize("NFD", dossier.title or "")
    ctx = _run(dossier, Profile.C02)
    assert [(f.code, f.field) for f in ctx.findings] == [("CK-META-NOT-NFC", "Title")]


def test_values_repeated_across_documents_are_judged_for_each_document() -> None:
    """Clean values are remembered within a run; a bad value is reported for every document holding it."""
    dossier = _sip_dossier()
    for doc in dossier.documents:
        doc.language = "xx"
        doc.issued_date = "31/02/2024"
    dossier.documents.append(copy.deepcopy(dossier.documents[0]))
    third = dossier.documents[-1]
    third.doc_id, third.doc_code = "000.00.00.H12.2024.01.3", "000.00.00.H12.2024.01.0000003"
    third.metadata_path = "representations/rep1/metadata/descriptive/EAD_doc_3.xml"
    third.language, third.issued_date = "01", "11/03/2024"
    dossier.total_doc = "3"
    ctx = _run(dossier)
    per_document = [
        sorted(f.code for f in ctx.findings if f.document == doc.key and f.field in ("language", "issuedDate"))
        for doc in dossier.documents
    ]
    bad = ["CK-META-BAD-DATE", "CK-META-CODE-LIST"]
    assert per_document == [bad, bad, []]
