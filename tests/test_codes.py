"""Code lists, retention helpers and field specifications (archive_core.codes)."""

from __future__ import annotations

import unicodedata
from dataclasses import fields
from pathlib import Path

import pytest
from lxml import etree

from archive_core import codes
from archive_core.codes import PERMANENT, Entity, FieldKind, Profile
from archive_core.model import Document, Dossier, Fonds
from tests.conftest import corpus_dir


def test_code_lists_have_the_documented_sizes_and_nfc_labels() -> None:
    sizes = {"maintenance": 7, "typeName": 32, "language": 11, "mode": 3, "confidenceLevel": 3, "format": 3,
             "riskRecovery": 2, "riskRecoveryStatus": 2, "source": 2, "boolean": 2}
    for name, size in sizes.items():
        assert len(codes.CODE_LISTS[name]) == size, name
        for code, label in codes.CODE_LISTS[name].items():
            assert unicodedata.is_normalized("NFC", label), (name, code)
    assert codes.TYPE_NAME["22"] == "Công văn"
    assert codes.SOURCE == {"0": "Văn bản đi", "1": "Văn bản đến"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Vĩnh viễn", "01"), ("vĩnh viễn", "01"), ("VĨNH VIỄN", "01"), ("01", "01"),
        ("70", "02"), ("70 năm", "02"), ("50 năm", "03"), ("30", "04"), ("20 năm", "05"), ("10 năm", "06"),
        ("5 năm", "07"), ("15", "07"), ("5", "07"), ("Đến khi văn bản hết hiệu lực", "07"), ("07", "07"),
        ("1", "01"), ("  70 năm ", "02"),
    ],
)
def test_maintenance_code_for(raw: str, code: str) -> None:
    assert codes.maintenance_code_for(raw) == code


def test_maintenance_code_for_nothing() -> None:
    assert codes.maintenance_code_for(None) is None
    assert codes.maintenance_code_for("  ") is None


@pytest.mark.parametrize(
    ("raw", "years"),
    [
        ("01", PERMANENT), ("Vĩnh viễn", PERMANENT), (unicodedata.normalize("NFD", "Vĩnh viễn"), PERMANENT),
        ("02", 70), ("06", 10), ("70 năm", 70), ("5 năm", 5), ("15", 15), ("25 years", 25),
        ("07", None), ("Khác", None), ("Đến khi văn bản hết hiệu lực", None), ("0", None), (None, None),
    ],
)
def test_maintenance_years(raw: str | None, years: object) -> None:
    assert codes.maintenance_years(raw) == years


def test_maintenance_years_and_code_agree_on_every_coded_period() -> None:
    for code in ("01", "02", "03", "04", "05", "06"):
        years = codes.maintenance_years(code)
        label = "Vĩnh viễn" if years == PERMANENT else f"{years} năm"
        assert codes.maintenance_code_for(label) == code


@pytest.mark.parametrize(
    ("list_name", "raw", "code"),
    [
        ("mode", "Công khai", "01"), ("mode", "công khai", "01"), ("mode", "Hạn chế", "02"), ("mode", "2", "02"),
        ("language", "Tiếng Việt", "01"), ("language", "tiếng Anh", "02"), ("language", "vi", "01"),
        ("language", "Tiếng Việt – Tiếng Anh", "06"), ("language", "Hán Nôm", "09"),
        ("format", "Bình thường", "02"), ("confidenceLevel", "Số hóa", "02"),
        ("confidenceLevel", unicodedata.normalize("NFD", "Số hóa"), "02"),
        ("typeName", "Quyết định", "02"), ("typeName", "Tờ trình", "15"), ("riskRecovery", "Có", "1"),
        ("source", "Văn bản đến", "1"),
    ],
)
def test_to_code_understands_codes_and_labels(list_name: str, raw: str, code: str) -> None:
    assert codes.to_code(list_name, raw) == code


@pytest.mark.parametrize(("list_name", "raw"), [("mode", "Bí mật nội bộ"), ("typeName", "Tờ khai"), ("format", "99")])
def test_to_code_unknown_is_none(list_name: str, raw: str) -> None:
    assert codes.to_code(list_name, raw) is None


def test_split_codes() -> None:
    assert codes.split_codes("01, 02;03") == ["01", "02", "03"]
    assert codes.split_codes("Tiếng Việt") == ["Tiếng Việt"]


EXPECTED_COUNTS = {
    (Profile.SIP_HOSO, Entity.DOSSIER): 18, (Profile.AIP_HOSO, Entity.DOSSIER): 18,
    (Profile.SIP_TAILIEU, Entity.DOSSIER): 5, (Profile.AIP_TAILIEU, Entity.DOSSIER): 4,
    (Profile.SIP_HOSO, Entity.DOC): 21, (Profile.AIP_HOSO, Entity.DOC): 19,
    (Profile.SIP_HOSO, Entity.PIC): 18, (Profile.AIP_HOSO, Entity.PIC): 16,
    (Profile.SIP_HOSO, Entity.MEDIA): 19, (Profile.AIP_HOSO, Entity.MEDIA): 17,
}


def test_field_counts_per_variant() -> None:
    for (profile, entity), count in EXPECTED_COUNTS.items():
        specs = codes.field_specs(profile, entity)
        assert len(specs) == count, (profile, entity)
        assert len({s.tag for s in specs}) == count, "tags are unique"


def test_aip_document_order_is_the_documented_one() -> None:
    tags = [s.tag for s in codes.field_specs(Profile.AIP_HOSO, Entity.DOC)]
    assert tags == ["arcFileCode", "mode", "language", "keyword", "numberOfPage", "format", "inforSign",
                    "confidenceLevel", "description", "docCode", "docOrdinal", "typeName", "codeNumber",
                    "codeNotation", "issuedDate", "organName", "subject", "autograph", "process"]


def test_every_spec_names_a_model_field_with_a_label() -> None:
    model_fields = {
        Entity.FONDS: {f.name for f in fields(Fonds)},
        Entity.DOSSIER: {f.name for f in fields(Dossier)},
        Entity.DOC: {f.name for f in fields(Document)},
        Entity.PIC: {f.name for f in fields(Document)},
        Entity.MEDIA: {f.name for f in fields(Document)},
    }
    extra = [(codes.C02_DOSSIER_ADDITIONAL, Entity.DOSSIER), (codes.C02_DOCUMENT_ADDITIONAL, Entity.DOC)]
    groups = [(codes.field_specs(p, e), e) for (p, e) in codes._SPECS] + extra
    for specs, entity in groups:
        for spec in specs:
            assert spec.name in model_fields[entity], spec
            assert spec.name in codes.FIELD_LABELS, spec.name
            if spec.kind is FieldKind.CODE:
                assert spec.code_list in codes.CODE_LISTS
            if spec.kind is FieldKind.DATE:
                assert spec.date_forms


def test_date_forms_per_variant() -> None:
    assert codes.spec_for(Profile.SIP_HOSO, Entity.DOSSIER, "start_date").date_forms == (codes.DMY,)  # type: ignore[union-attr]
    assert codes.spec_for(Profile.AIP_HOSO, Entity.DOSSIER, "end_date").date_forms == (  # type: ignore[union-attr]
        codes.DMY, codes.MY, codes.Y,
    )
    assert codes.spec_for(Profile.C02, Entity.DOSSIER, "start_date").date_forms == (codes.DMY,)  # type: ignore[union-attr]


def test_length_overrides_apply_and_reset() -> None:
    try:
        codes.with_lengths({"title": 2000})
        assert codes.spec_for(Profile.SIP_HOSO, Entity.DOSSIER, "title").max_len == 2000  # type: ignore[union-attr]
    finally:
        codes.with_lengths({})
    assert codes.spec_for(Profile.SIP_HOSO, Entity.DOSSIER, "title").max_len == 1000  # type: ignore[union-attr]


def _xsd_elements(path: Path) -> list[str]:
    tree = etree.parse(str(path))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    return [e.get("name", "") for e in tree.iterfind(".//xs:complexType//xs:element", ns)] + [
        e.get("name", "") for e in tree.iterfind(".//xs:group//xs:element", ns)
    ]


def test_specs_match_the_published_tt05_schemas() -> None:
    root = corpus_dir("tt05") / "schemas"
    shared = root / "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas"
    api = root / "Ynap9_ksts.web/kssm.be/kssm.be.api/Templates/schemas"
    tiencd = root / "tiencd_ChuyenDoi_AIP_HoSo_TT05"
    unordered = {
        (Profile.SIP_HOSO, Entity.DOSSIER): shared / "SIP/ead.xsd",
        (Profile.SIP_HOSO, Entity.DOC): api / "ead_doc.xsd",
        (Profile.SIP_HOSO, Entity.PIC): api / "ead_pic.xsd",
        (Profile.SIP_HOSO, Entity.MEDIA): api / "ead_media.xsd",
        (Profile.AIP_TAILIEU, Entity.PIC): shared / "AIP_tailieu/ead_pic.xsd",
        (Profile.AIP_TAILIEU, Entity.MEDIA): shared / "AIP_tailieu/ead_media.xsd",
    }
    ordered = {
        (Profile.AIP_HOSO, Entity.DOSSIER): tiencd / "ead.xsd",
        (Profile.AIP_HOSO, Entity.DOC): tiencd / "EAD_doc.xsd",
        (Profile.AIP_HOSO, Entity.PIC): tiencd / "EAD_pic.xsd",
        (Profile.AIP_HOSO, Entity.MEDIA): tiencd / "EAD_media.xsd",
        (Profile.AIP_TAILIEU, Entity.DOSSIER): shared / "AIP_tailieu/ead.xsd",
    }
    for (profile, entity), path in unordered.items():
        tags = [s.tag for s in codes.field_specs(profile, entity)]
        assert sorted(tags) == sorted(_xsd_elements(path)), path
        if (profile, entity) != (Profile.SIP_HOSO, Entity.DOC):
            # Writers follow the listed order; SIP EAD_doc follows metadata.md §2.2 (xs:all: order is free).
            assert tags == _xsd_elements(path), path
    for (profile, entity), path in ordered.items():
        assert [s.tag for s in codes.field_specs(profile, entity)] == _xsd_elements(path), path
