"""Identifier parsers (metadata.md §3): agency codes, file and document codes, consistency."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from archive_core import identifiers as ids
from archive_core.identifiers import AgencyForm, IdentifierError

TODAY = date(2026, 11, 21)


# ---------------------------------------------------------------- agency codes


@pytest.mark.parametrize(
    ("code", "level1", "lower", "qcvn"),
    [
        ("000.00.00.H12", "H12", (), "000.00.00.H12"),
        ("000.06.16.G09", "G09", ("16", "06"), "000.06.16.G09"),
        ("001.02.03.H30", "H30", ("03", "02", "001"), "001.02.03.H30"),
    ],
)
def test_qcvn_agency_codes_parse_into_levels(code: str, level1: str, lower: tuple[str, ...], qcvn: str) -> None:
    parsed = ids.parse_agency_code(code)
    assert parsed.form is AgencyForm.QCVN102
    assert parsed.level1 == level1
    assert parsed.lower == lower
    assert parsed.qcvn == qcvn
    assert parsed.warnings == ()


def test_short_agency_code_is_accepted_with_a_warning_and_its_qcvn_equivalent() -> None:
    parsed = ids.parse_agency_code("H49.64.33")
    assert parsed.form is AgencyForm.SHORT
    assert parsed.level1 == "H49"
    assert parsed.lower == ("64", "33")
    assert parsed.qcvn == "000.33.64.H49"
    assert len(parsed.warnings) == 1
    assert "QCVN 102" in parsed.warnings[0].vi and "QCVN 102" in parsed.warnings[0].en


def test_level_gap_in_qcvn_code_is_a_warning() -> None:
    parsed = ids.parse_agency_code("001.00.05.H30")
    assert parsed.warnings, "a level-4 unit under a zero level-3 block is implausible"


@pytest.mark.parametrize(
    "code",
    ["", "000.00.00.h12", "00.00.00.H12", "000.00.00.H1", "000.00.00.12", "000-00-00-H12", " 000.00.00.H12",
     "000.00.00.H12.", "ABC", "H49.6.33", "H49.64.33.12.34"],
)
def test_malformed_agency_codes_raise_with_both_languages(code: str) -> None:
    with pytest.raises(IdentifierError) as info:
        ids.parse_agency_code(code)
    assert info.value.reason_vi and info.value.reason_en
    assert info.value.reason_vi != info.value.reason_en


# ---------------------------------------------------------------- file codes


def test_file_code_examples_from_the_regulations() -> None:
    qcvn = ids.parse_file_code("000.06.16.G09.2010.01.TH", TODAY)
    assert (qcvn.prefix, qcvn.year, qcvn.notation) == ("000.06.16.G09", 2010, "01.TH")
    assert qcvn.warnings == ()
    short = ids.parse_file_code("H49.64.33.2001.160", TODAY)
    assert (short.prefix, short.year, short.notation) == ("H49.64.33", 2001, "160")
    assert short.agency.form is AgencyForm.SHORT
    assert short.warnings  # the short agency form is reported


def test_file_code_with_a_fonds_code_prefix_parses_with_a_warning() -> None:
    parsed = ids.parse_file_code("P_KHCN.2019.05", TODAY)
    assert parsed.agency.form is AgencyForm.FONDS
    assert parsed.year == 2019
    assert any("fonds" in w.en for w in parsed.warnings)


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("000.06.16.G09.1899.01.TH", "1900"),
        ("000.06.16.G09.2028.01.TH", "2027"),
        ("000.06.16.G09.2010", "file number"),
        ("000.06.16.G09.TH.01", "year"),
        ("000.06.16.G09..2010.01", "empty block"),
        ("000.06.16.G09.2010.01 TH", "white space"),
        ("000.06.16.G09.2010.01#", "invalid characters"),
    ],
)
def test_bad_file_codes_say_why(code: str, needle: str) -> None:
    with pytest.raises(IdentifierError) as info:
        ids.parse_file_code(code, TODAY)
    assert needle in info.value.reason_en


def test_year_sanity_follows_the_clock() -> None:
    assert ids.parse_file_code("000.00.00.H12.2027.01", TODAY).year == 2027  # next year is allowed
    with pytest.raises(IdentifierError):
        ids.parse_file_code("000.00.00.H12.2027.01", date(2025, 6, 1))


# ---------------------------------------------------------------- document codes


def test_doc_code_needs_exactly_seven_digits_from_one() -> None:
    parsed = ids.parse_doc_code("H49.64.33.2001.160.0000137", TODAY)
    assert parsed.sequence == 137
    assert parsed.file_code.raw == "H49.64.33.2001.160"
    for bad, needle in (
        ("H49.64.33.2001.160.000001", "7 digits"),
        ("H49.64.33.2001.160.00000001", "7 digits"),
        ("H49.64.33.2001.160.1", "7 digits"),
        ("H49.64.33.2001.160.0000000", "starts at 0000001"),
        ("H49.64.33.2001.160.000000A", "7 digits"),
    ):
        with pytest.raises(IdentifierError) as info:
            ids.parse_doc_code(bad, TODAY)
        assert needle in info.value.reason_en, bad


def test_doc_code_whose_file_code_is_broken_reports_the_inner_reason() -> None:
    with pytest.raises(IdentifierError) as info:
        ids.parse_doc_code("000.06.16.G09.1850.01.0000001", TODAY)
    assert "1850" in info.value.reason_en


def test_doc_id_is_file_code_plus_ordinal() -> None:
    parsed = ids.parse_doc_id("H49.64.33.2001.160.1", TODAY)
    assert parsed.ordinal == 1
    assert parsed.file_code.year == 2001
    with pytest.raises(IdentifierError):
        ids.parse_doc_id("H49.64.33.2001.160.0", TODAY)
    with pytest.raises(IdentifierError):
        ids.parse_doc_id("H49.64.33.2001.160.x", TODAY)


def test_arc_file_code_splits_archive_agency_and_file_code() -> None:
    parsed = ids.parse_arc_file_code("000.00.00.H49.000.06.16.G09.2010.01.TH", TODAY)
    assert parsed.archive.raw == "000.00.00.H49"
    assert parsed.file_code.raw == "000.06.16.G09.2010.01.TH"
    short = ids.parse_arc_file_code("000.00.00.H49.H49.64.33.2001.160", TODAY)
    assert short.archive.raw == "000.00.00.H49"
    assert short.file_code.prefix == "H49.64.33"
    with pytest.raises(IdentifierError):
        ids.parse_arc_file_code("000.06.16.G09.2010.01.TH", TODAY)  # no archive agency in front


def test_arc_doc_code() -> None:
    parsed = ids.parse_arc_doc_code("000.00.00.H49.000.06.16.G09.2010.01.TH.0000002", TODAY)
    assert parsed.sequence == 2
    assert parsed.arc_file_code.file_code.notation == "01.TH"
    with pytest.raises(IdentifierError):
        ids.parse_arc_doc_code("000.00.00.H49.000.06.16.G09.2010.01.TH.2", TODAY)


def test_doc_identifier_agency_year_number() -> None:
    parsed = ids.parse_doc_identifier("000.00.31.H30-2024.15", TODAY)
    assert (parsed.agency.level1, parsed.year, parsed.number) == ("H30", 2024, 15)
    for bad in ("000.00.31.H30-2024.0", "000.00.31.H30-2024.015", "000.00.31.H30.2024.15", "000.00.31.H30-24.1",
                "000.00.31.X-2024.1", "000.00.31.H30-1800.1"):
        with pytest.raises(IdentifierError):
            ids.parse_doc_identifier(bad, TODAY)


def test_paper_file_code() -> None:
    parsed = ids.parse_paper_file_code("000.00.00.H49.K01.G02.H03.125")
    assert parsed.archive.raw == "000.00.00.H49"
    assert parsed.location == "K01.G02.H03"
    assert parsed.number == "125"
    slashed = ids.parse_paper_file_code("000.00.00.H49.K1/G2/H3.7")
    assert slashed.location == "K1/G2/H3"
    for bad in ("125", "000.00.00.H49.125", "KHO1.G02.125", "000.00.00.H49..125"):
        with pytest.raises(IdentifierError):
            ids.parse_paper_file_code(bad)


def test_tailieu_file_code() -> None:
    parsed = ids.parse_tailieu_file_code("000.00.00.H12.2025.01.0000003", TODAY)
    assert (parsed.year, parsed.submission, parsed.sequence) == (2025, 1, 3)
    with pytest.raises(IdentifierError):
        ids.parse_tailieu_file_code("000.00.00.H12.2025.1.0000003", TODAY)


# ---------------------------------------------------------------- consistency


def test_doc_code_consistency_names_the_constant_wrong_year_of_the_real_sample() -> None:
    reasons = ids.doc_code_mismatches("H49.64.33.1994.160.0000001", "H49.64.33.2001.160")
    assert len(reasons) == 1
    assert "1994" in reasons[0].en and "2001" in reasons[0].en
    assert "1994" in reasons[0].vi


def test_doc_code_consistency_other_cases() -> None:
    assert ids.doc_code_mismatches("H49.64.33.2001.160.0000001", "H49.64.33.2001.160") == []
    assert ids.doc_code_mismatches("H49.64.33.2001.160.1", "H49.64.33.2001.160") == []  # docId form
    other = ids.doc_code_mismatches("H49.64.33.2001.161.0000001", "H49.64.33.2001.160")
    assert other and "does not start with" in other[0].en
    # Prefix of the text but not of the code: ".1600" must not count as ".160".
    assert ids.doc_code_mismatches("H49.64.33.2001.1600.0000001", "H49.64.33.2001.160")


# ---------------------------------------------------------------- registry


def test_agency_registry_lookup_by_either_form(tmp_path: Path) -> None:
    assert ids.lookup_agency("000.00.00.G09") is not None
    assert ids.lookup_agency("000.00.00.Z99") is None
    registry = tmp_path / "agencies.csv"
    with registry.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent", "note"])
        writer.writerow(["000.33.64.H49", "Đơn vị thử nghiệm", "3", "000.00.64.H49", "test"])
    found = ids.lookup_agency("H49.64.33", registry)
    assert found is not None and found.name == "Đơn vị thử nghiệm" and found.level == 3


def test_shipped_registry_rows_are_valid_agency_codes() -> None:
    for code, agency in ids.load_agencies().items():
        parsed = ids.parse_agency_code(code)
        assert parsed.form is AgencyForm.QCVN102
        assert agency.name
