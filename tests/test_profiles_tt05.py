"""TT 05 EAD simpledc reading: free element order, real-world deviations, variant detection."""

from __future__ import annotations

import random

from lxml import etree

from archive_core.codes import Entity, field_specs
from archive_core.findings import CheckContext, Severity
from archive_core.model import Document, DocumentKind, Dossier, DossierKind
from archive_core.profiles import tt05
from archive_core.profiles.tt05 import Tt05Variant
from archive_core.settings import Limits
from archive_core.xmlsafe import parse_xml

# The real ArchiveNex SIP_hoso as described in the corpus notes (values reconstructed, structure as reported).
SAMPLE_EAD = {
    "fileCode": "H49.64.33.2001.160",
    "title": "Tập tờ khai đăng ký kết hôn của UBND phường Hà Tu năm 2001",
    "maintenance": "01",
    "mode": "01",
    "language": "01",
    "startDate": "02/01/2001",
    "endDate": "28/12/2001",
    "keyword": "",
    "totalDoc": "137",
    "numberOfPaper": "137",
    "numberOfPage": "274",
    "format": "02",
    "inforSign": "",
    "confidenceLevel": "02",
    "paperFileCode": "",
    "riskRecovery": "0",
    "riskRecoveryStatus": "",
    "description": "Hồ sơ số hóa",
}
SAMPLE_DOC = {
    "docId": "H49.64.33.2001.160.1",
    "docCode": "H49.64.33.1994.160.0000001",
    "maintenance": "01",
    "typeName": "32",
    "codeNumber": "",
    "codeNotation": "",
    "issuedDate": "03/01/2001",
    "organName": "Ủy ban nhân dân phường Hà Tu",
    "subject": "Tờ khai đăng ký kết hôn",
    "language": "01",
    "numberOfPage": "2",
    "inforSign": "",
    "keyword": "",
    "mode": "01",
    "confidenceLevel": "02",
    "autograph": "",
    "format": "02",
    "riskRecovery": "0",
    "riskRecoveryStatus": "",
    "process": "",
    "description": "",
}


def _simpledc(values: dict[str, str], *, shuffle_seed: int | None = None, extra: str = "") -> etree._Element:
    items = list(values.items())
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(items)
    body = "".join(f"<{tag}>{value}</{tag}>" for tag, value in items)
    data = f"<?xml version='1.0' encoding='UTF-8'?><simpledc>{body}{extra}</simpledc>".encode()
    return parse_xml(data, path="EAD.xml", limits=Limits())


def test_shuffled_sip_hoso_reads_the_same_as_ordered() -> None:
    ordered_ctx, shuffled_ctx = CheckContext(), CheckContext()
    ordered = tt05.dossier_from_ead(_simpledc(SAMPLE_EAD), "EAD.xml", ordered_ctx)
    for seed in range(5):
        shuffled = tt05.dossier_from_ead(_simpledc(SAMPLE_EAD, shuffle_seed=seed), "EAD.xml", shuffled_ctx)
        assert shuffled == ordered
    assert ordered.kind is DossierKind.HOSO
    assert ordered.file_code == "H49.64.33.2001.160"
    assert ordered.total_doc == "137"
    assert ordered.paper_file_code is None, "an empty element is an absent value"
    assert ordered_ctx.findings == [] and shuffled_ctx.findings == []


def test_shuffled_document_reads_every_field() -> None:
    ctx = CheckContext()
    doc = tt05.document_from_ead(_simpledc(SAMPLE_DOC, shuffle_seed=3), "EAD_DOC_1.xml", ctx)
    assert doc.kind is DocumentKind.DOC
    assert doc.doc_id == "H49.64.33.2001.160.1"
    assert doc.doc_code == "H49.64.33.1994.160.0000001"
    assert doc.organ_name == "Ủy ban nhân dân phường Hà Tu"
    assert doc.metadata_path == "EAD_DOC_1.xml"
    assert ctx.findings == []


def test_variant_detection() -> None:
    assert tt05.detect_dossier_variant(_simpledc(SAMPLE_EAD)) is Tt05Variant.SIP_HOSO
    aip = {("arcFileCode" if k == "fileCode" else k): v for k, v in SAMPLE_EAD.items()}
    assert tt05.detect_dossier_variant(_simpledc(aip)) is Tt05Variant.AIP_HOSO
    sip_tailieu = {"fileCode": "000.00.00.H12.2025.01.0000001", "title": "T", "source": "0", "totalDoc": "1",
                   "description": ""}
    assert tt05.detect_dossier_variant(_simpledc(sip_tailieu)) is Tt05Variant.SIP_TAILIEU
    aip_tailieu = {"arcFileCode": "x", "title": "T", "source": "Văn bản đi", "description": ""}
    assert tt05.detect_dossier_variant(_simpledc(aip_tailieu)) is Tt05Variant.AIP_TAILIEU
    read = tt05.dossier_from_ead(_simpledc(aip_tailieu), "EAD.xml", CheckContext())
    assert read.kind is DossierKind.TAILIEU and read.arc_file_code == "x" and read.source == "Văn bản đi"


def test_unknown_element_is_a_warning_and_the_rest_is_read() -> None:
    ctx = CheckContext()
    dossier = tt05.dossier_from_ead(_simpledc(SAMPLE_EAD, extra="<nguoiLap>Trần Văn B</nguoiLap>"), "EAD.xml", ctx)
    assert dossier.title == SAMPLE_EAD["title"]
    assert [f.code for f in ctx.findings] == ["CK-META-UNKNOWN-ELEMENT"]
    assert ctx.findings[0].severity is Severity.WARNING
    assert "nguoiLap" in ctx.findings[0].message_vi


def test_element_of_another_variant_is_read_with_a_warning() -> None:
    ctx = CheckContext()
    values = dict(SAMPLE_EAD, arcFileCode="000.00.00.H49.H49.64.33.2001.160")
    dossier = tt05.dossier_from_ead(_simpledc(values), "EAD.xml", ctx, Tt05Variant.SIP_HOSO)
    assert dossier.arc_file_code == "000.00.00.H49.H49.64.33.2001.160"
    assert [f.code for f in ctx.findings] == ["CK-META-TAG-DEVIATION"]
    assert "AIP_hoso" in ctx.findings[0].message_en


def test_arc_doc_code_in_a_sip_document_is_kept_and_reported_when_the_variant_is_known() -> None:
    values = {("arcDocCode" if k == "docCode" else k): v for k, v in SAMPLE_DOC.items()}
    silent = CheckContext()
    doc = tt05.document_from_ead(_simpledc(values), "d.xml", silent)
    assert doc.arc_doc_code == "H49.64.33.1994.160.0000001" and doc.doc_code is None
    assert silent.findings == []
    told = CheckContext()
    tt05.document_from_ead(_simpledc(values), "d.xml", told, variant=Tt05Variant.SIP_HOSO)
    assert [f.code for f in told.findings] == ["CK-META-TAG-DEVIATION"]


def test_duplicate_elements() -> None:
    same, different = CheckContext(), CheckContext()
    tt05.dossier_from_ead(_simpledc(SAMPLE_EAD, extra="<totalDoc>137</totalDoc>"), "EAD.xml", same)
    dossier = tt05.dossier_from_ead(_simpledc(SAMPLE_EAD, extra="<totalDoc>138</totalDoc>"), "EAD.xml", different)
    assert [(f.code, f.severity) for f in same.findings] == [("CK-META-DUPLICATE-ELEMENT", Severity.WARNING)]
    assert [(f.code, f.severity) for f in different.findings] == [("CK-META-DUPLICATE-ELEMENT", Severity.ERROR)]
    assert dossier.total_doc == "137", "the first value is kept"


def test_wrong_root_and_namespace() -> None:
    ctx = CheckContext()
    root = parse_xml(b"<ead><title>x</title></ead>", path="EAD.xml", limits=Limits())
    dossier = tt05.dossier_from_ead(root, "EAD.xml", ctx)
    assert dossier.title is None
    assert [f.code for f in ctx.findings] == ["CK-META-WRONG-ROOT"]
    ctx = CheckContext()
    root = parse_xml(b'<simpledc xmlns="http://purl.org/dc/elements/1.1/"><title>x</title></simpledc>',
                     path="EAD.xml", limits=Limits())
    dossier = tt05.dossier_from_ead(root, "EAD.xml", ctx, Tt05Variant.SIP_HOSO)
    assert dossier.title == "x"
    assert "CK-META-EAD-NAMESPACE" in [f.code for f in ctx.findings]


def test_whitespace_and_comments_do_not_leak_into_values() -> None:
    data = "<simpledc>\n  <!-- produced by X -->\n  <title>\n    Hồ sơ A\n  </title>\n  <mode> 01 </mode>\n</simpledc>"
    dossier = tt05.dossier_from_ead(parse_xml(data.encode(), path="e", limits=Limits()), "e", CheckContext())
    assert dossier.title == "Hồ sơ A"
    assert dossier.mode == "01"


def test_picture_and_media_documents_are_detected() -> None:
    pic = Document(kind=DocumentKind.PIC, doc_code="X.2020.1.0000001", image_title="Lễ khánh thành", colour="Màu")
    media = Document(kind=DocumentKind.MEDIA, doc_code="X.2020.1.0000002", movie_title="Phóng sự", play_time="00:12:30")
    for variant in Tt05Variant:
        for doc in (pic, media):
            root = parse_xml(tt05.document_to_ead(doc, variant), path="d", limits=Limits())
            read = tt05.document_from_ead(root, "d", CheckContext())
            assert read.kind is doc.kind, (variant, doc.kind)
            if doc.kind is DocumentKind.PIC:
                assert read.image_title == "Lễ khánh thành"
            else:
                assert read.movie_title == "Phóng sự"


def test_writer_emits_every_element_in_documented_order_and_converts_labels() -> None:
    dossier = Dossier(file_code="000.06.16.G09.2010.01.TH", title="Hồ sơ", maintenance="70 năm", mode="Công khai",
                      language="Tiếng Việt, Tiếng Anh", format="Bình thường", confidence_level="Số hóa",
                      risk_recovery="Có", identifier="000.00.00.H49")
    for variant in Tt05Variant:
        root = etree.fromstring(tt05.dossier_to_ead(dossier, variant))
        assert root.tag == "simpledc" and root.nsmap == {}
        assert [c.tag for c in root] == [s.tag for s in field_specs(variant, Entity.DOSSIER)]
    sip = etree.fromstring(tt05.dossier_to_ead(dossier, Tt05Variant.SIP_HOSO))
    values = {c.tag: c.text for c in sip}
    assert values["maintenance"] == "02"
    assert values["mode"] == "01"
    assert values["language"] == "01,02"
    assert values["format"] == "02"
    assert values["confidenceLevel"] == "02"
    assert values["riskRecovery"] == "1"
    aip = {c.tag: c.text for c in etree.fromstring(tt05.dossier_to_ead(dossier, Tt05Variant.AIP_HOSO))}
    assert aip["arcFileCode"] == "000.00.00.H49.000.06.16.G09.2010.01.TH"


def test_document_codes_are_derived_from_the_dossier_when_missing() -> None:
    dossier = Dossier(file_code="H49.64.33.2001.160", identifier="000.00.00.H49", maintenance="Vĩnh viễn")
    doc = Document(doc_ordinal="7", subject="Tờ khai")
    sip = {c.tag: c.text for c in etree.fromstring(tt05.document_to_ead(doc, Tt05Variant.SIP_HOSO, dossier=dossier))}
    assert sip["docCode"] == "H49.64.33.2001.160.0000007"
    assert sip["docId"] == "H49.64.33.2001.160.7"
    assert sip["maintenance"] == "01"
    aip = {c.tag: c.text for c in etree.fromstring(tt05.document_to_ead(doc, Tt05Variant.AIP_HOSO, dossier=dossier))}
    assert aip["arcFileCode"] == "000.00.00.H49.H49.64.33.2001.160"
    assert aip["docOrdinal"] == "7"
    long_code = Dossier(file_code="000.00.31.H30.2024.01.TCCB")
    sip = {c.tag: c.text for c in etree.fromstring(tt05.document_to_ead(doc, Tt05Variant.SIP_HOSO, dossier=long_code))}
    assert sip["docId"] is None, "a derived docId longer than 25 characters is not written"


def test_document_file_stem_follows_the_document_kind_and_id() -> None:
    doc = Document(doc_id="H49.64.33.2001.160.1")
    assert tt05.document_file_stem(doc, Tt05Variant.SIP_HOSO) == "EAD_doc_H49.64.33.2001.160.1"
    pic = Document(kind=DocumentKind.PIC, doc_ordinal="2")
    stem = tt05.document_file_stem(pic, Tt05Variant.SIP_HOSO, Dossier(file_code="H49.64.33.2001.160"))
    assert stem == "EAD_pic_H49.64.33.2001.160.2"


def test_numbers_written_with_digits_int_refuses_are_not_numbers() -> None:
    """'²' is a digit to `str.isdigit` but not to `int`: such values are kept as text, never a crash."""
    from ingest.readers.mets import parse_size

    assert parse_size("²") is None and parse_size(" 12 ") == 12
    dossier = Dossier(file_code="H49.64.33.2001.160")
    doc = Document(doc_ordinal="²", subject="Tờ khai")
    aip = {c.tag: c.text for c in etree.fromstring(tt05.document_to_ead(doc, Tt05Variant.AIP_HOSO, dossier=dossier))}
    assert aip["docOrdinal"] == "²" and aip.get("arcDocCode") is None and aip.get("docCode") is None
