"""Circular 02 ↔ internal ↔ TT 05 (+ earchive extension) loses nothing; writers meet the schemas."""

from __future__ import annotations

import copy
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from archive_core.findings import CheckContext
from archive_core.model import Document, DocumentKind, Dossier, DossierKind, FileRef, Fonds, value_fields
from archive_core.profiles import circular02 as c02
from archive_core.profiles import tt05
from archive_core.profiles.tt05 import Tt05Variant
from archive_core.settings import Limits
from archive_core.xmlsafe import parse_xml
from tests.conftest import REPO, corpus_dir, shared_root

EXAMPLES = REPO / "docs" / "examples" / "circular02"
LIMITS = Limits()


def _parse(data: bytes, path: str = "x.xml") -> etree._Element:
    return parse_xml(data, path=path, limits=LIMITS)


def _c02_read(data: bytes) -> tuple[Dossier, CheckContext]:
    ctx = CheckContext()
    return c02.dossier_from_xml(_parse(data, "dossier.xml"), "dossier.xml", ctx), ctx


def _through_tt05(dossier: Dossier, variant: Tt05Variant) -> tuple[Dossier, CheckContext]:
    """internal → TT 05 files → internal, as a TT 05 reader sees them; files come from METS (copied here)."""
    meta = tt05.to_tt05(dossier, variant)
    ctx = CheckContext()
    extension = _parse(meta.extension) if meta.extension is not None else None
    back = tt05.from_tt05(_parse(meta.ead), [_parse(data) for _, data in meta.documents], extension, ctx)
    for original, read in zip(dossier.documents, back.documents, strict=True):
        read.files = copy.deepcopy(original.files)
    return back, ctx


def _strip_paths(dossier: Dossier) -> Dossier:
    clone = copy.deepcopy(dossier)
    clone.metadata_path = None
    for doc in clone.documents:
        doc.metadata_path = None
    return clone


# ---------------------------------------------------------------- strategies

XML_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
        st.sampled_from(list("\n\tăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĐ&<>\"'")),
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s == s.strip(" \t\r\n") and bool(s))

CODE_LIKE = st.sampled_from(
    ["01", "02", "03", "07", "1", "0", "Vĩnh viễn", "70 năm", "15 năm", "Công khai", "Hạn chế", "Tiếng Việt",
     "Tiếng Việt, Tiếng Anh", "Tốt", "Số hóa", "Quyết định", "Tờ khai", "Có", "12/03/2024", "2024",
     "000.06.16.G09", "2010", "01.TH", "000.06.16.G09.2010.01.TH", "000.06.16.G09.2010.01.TH.0000001"]
)

def _seed_sample() -> list[str]:
    """Real Vietnamese lines from the shared seed texts, when present (hypothesis draws from them)."""
    folder = shared_root() / "samples" / "seed-texts"
    lines: list[str] = []
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        lines += [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if len(s.strip()) > 10]
    return lines[::7]


SEED_SAMPLE = _seed_sample()
VALUE = st.one_of(st.none(), XML_TEXT, CODE_LIKE, *([st.sampled_from(SEED_SAMPLE)] if SEED_SAMPLE else []))


T = TypeVar("T")


def _objects(cls: type[T], **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[T]:
    strategies: dict[str, st.SearchStrategy[Any]] = {name: VALUE for name in value_fields(cls)}
    return st.builds(cls, **strategies, **fixed)


FILE_REFS = st.lists(
    st.builds(FileRef, path=st.from_regex(r"files/[A-Za-z0-9._-]{1,20}\.pdf", fullmatch=True)), max_size=2
)
DOCUMENTS = _objects(Document, kind=st.sampled_from(list(DocumentKind)), files=FILE_REFS)
DOSSIERS = _objects(
    Dossier,
    kind=st.sampled_from(list(DossierKind)),
    fonds=st.one_of(st.none(), _objects(Fonds)),
    documents=st.lists(DOCUMENTS, max_size=4),
)


# ---------------------------------------------------------------- property


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dossier=DOSSIERS, variant=st.sampled_from(list(Tt05Variant)))
def test_circular02_to_tt05_and_back_is_lossless(dossier: Dossier, variant: Tt05Variant) -> None:
    c02_bytes = c02.dossier_to_xml(dossier, include_documents=True)
    model, ctx = _c02_read(c02_bytes)
    assert ctx.findings == []
    assert _strip_paths(model) == _strip_paths(dossier)
    back, ctx = _through_tt05(model, variant)
    assert ctx.findings == []
    assert _strip_paths(back) == _strip_paths(model)
    assert c02.dossier_to_xml(back, include_documents=True) == c02_bytes


@settings(max_examples=60, deadline=None)
@given(dossier=DOSSIERS)
def test_writer_output_always_validates_against_our_xsd(dossier: Dossier) -> None:
    root = _parse(c02.dossier_to_xml(dossier, include_documents=True))
    assert c02.validate_xsd(root, "dossier") == []
    for doc in dossier.documents:
        assert c02.validate_xsd(_parse(c02.document_to_xml(doc)), "document") == []


# ---------------------------------------------------------------- real Vietnamese text


def _seed_lines(seed_texts: Path) -> list[str]:
    lines = []
    for path in sorted(seed_texts.glob("*.txt")):
        lines += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    return lines


def test_real_vietnamese_text_survives_both_profiles(seed_texts: Path) -> None:
    lines = _seed_lines(seed_texts)
    assert len(lines) > 100
    text_fields = value_fields(Dossier)
    doc_fields = value_fields(Document)
    dossier = Dossier(fonds=Fonds(fond_name=lines[-1], fond_history=" ".join(lines[:40])))
    for i, name in enumerate(text_fields):
        setattr(dossier, name, lines[i % len(lines)])
    for j in range(3):
        doc = Document()
        for i, name in enumerate(doc_fields):
            setattr(doc, name, lines[(7 * j + i) % len(lines)])
        dossier.documents.append(doc)
    data = c02.dossier_to_xml(dossier, include_documents=True)
    model, _ = _c02_read(data)
    for variant in Tt05Variant:
        back, ctx = _through_tt05(model, variant)
        assert ctx.findings == []
        assert c02.dossier_to_xml(back, include_documents=True) == data, variant


# ---------------------------------------------------------------- extension behaviour


def test_no_extension_when_tt05_holds_everything() -> None:
    dossier = Dossier(file_code="H49.64.33.2001.160", title="Tập tờ khai", maintenance="01", mode="01",
                      language="01", start_date="02/01/2001", end_date="28/12/2001", total_doc="1")
    dossier.documents = [Document(doc_id="H49.64.33.2001.160.1", doc_code="H49.64.33.2001.160.0000001",
                                  maintenance="01", type_name="32", subject="Tờ khai")]
    assert tt05.extension_to_xml(dossier, Tt05Variant.SIP_HOSO) is None
    assert tt05.to_tt05(dossier, Tt05Variant.SIP_HOSO).extension is None


def test_extension_holds_only_what_ead_lacks() -> None:
    dossier = Dossier(file_code="H49.64.33.2001.160", title="Tập tờ khai", maintenance="15 năm", mode="01")
    data = tt05.extension_to_xml(dossier, Tt05Variant.SIP_HOSO)
    assert data is not None
    root = etree.fromstring(data)
    assert root.tag == f"{{{tt05.EXTENSION_NS}}}earchiveExtension"
    values = {v.get("field"): v.text for v in root.iter(f"{{{tt05.EXTENSION_NS}}}value")}
    assert values == {"maintenance": "15 năm"}, "TT 05 writes 07; the real period lives in the extension"


def test_extension_follows_documents_by_key_when_their_order_changes() -> None:
    dossier = Dossier(file_code="H49.64.33.2001.160", title="T")
    dossier.documents = [
        Document(doc_code=f"H49.64.33.2001.160.000000{i}", type_name=label, subject=f"Văn bản {i}")
        for i, label in ((1, "Tờ khai"), (2, "Giấy chứng nhận"))
    ]
    meta = tt05.to_tt05(dossier, Tt05Variant.SIP_HOSO)
    assert meta.extension is not None
    roots = [_parse(data) for _, data in reversed(meta.documents)]
    back = tt05.from_tt05(_parse(meta.ead), roots, _parse(meta.extension), CheckContext())
    assert [d.type_name for d in back.documents] == ["Giấy chứng nhận", "Tờ khai"]


def test_apply_extension_reports_what_it_cannot_place() -> None:
    ctx = CheckContext()
    ext = (
        f'<earchiveExtension xmlns="{tt05.EXTENSION_NS}" version="1">'
        '<dossier><value field="no_such_field">x</value></dossier>'
        '<document index="5" key="nope"><value field="subject">y</value></document>'
        "</earchiveExtension>"
    ).encode()
    dossier = Dossier()
    tt05.apply_extension(dossier, _parse(ext), ctx=ctx)
    assert ctx.count("CK-META-EXTENSION") == 2


# ---------------------------------------------------------------- examples and schemas


def test_examples_read_cleanly_and_validate() -> None:
    dossier_xml = (EXAMPLES / "dossier-with-documents.xml").read_bytes()
    model, ctx = _c02_read(dossier_xml)
    assert ctx.findings == []
    assert c02.validate_xsd(_parse(dossier_xml), "dossier") == []
    assert len(model.documents) == 2 and model.fonds is not None
    assert c02.dossier_to_xml(model, include_documents=True) == dossier_xml
    single = (EXAMPLES / "dossier.xml").read_bytes()
    assert c02.validate_xsd(_parse(single), "dossier") == []
    assert c02.dossier_to_xml(_c02_read(single)[0]) == single
    document_path = next(EXAMPLES.glob("document-*.xml"))
    document_root = _parse(document_path.read_bytes())
    assert c02.validate_xsd(document_root, "document") == []
    doc = c02.document_from_xml(document_root, "data/metadata/documents/x.xml", CheckContext())
    assert doc.files == [FileRef(path="files/000.00.31.H30.2024.01.TCCB.2.pdf")]
    assert doc == model.documents[1].__class__(**{
        f.name: getattr(model.documents[1], f.name) for f in fields(Document)
    } | {"metadata_path": "data/metadata/documents/x.xml"})


def test_docs_schema_copy_is_identical() -> None:
    shipped = REPO / "archive_core" / "profiles" / "schemas" / "circular02.xsd"
    assert (REPO / "docs" / "schemas" / "circular02.xsd").read_bytes() == shipped.read_bytes()


def test_xsd_order_matches_the_field_specs() -> None:
    from archive_core import codes

    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    tree = etree.parse(str(c02.SCHEMA_PATH))

    def names(type_name: str) -> list[str]:
        node = tree.find(f"xs:complexType[@name='{type_name}']", ns)
        assert node is not None
        return [e.get("name", "") for e in node.iterfind("xs:sequence/xs:element", ns)]

    assert names("PhongLuuTruType") == [s.tag for s in codes.C02_FONDS]
    assert names("HoSoType") == ["PhongLuuTru", *[s.tag for s in codes.C02_DOSSIER], "Additional", "VanBan"]
    assert names("VanBanType") == [*[s.tag for s in codes.C02_DOCUMENT], "Additional", "Files"]
    assert names("HoSoAdditionalType") == [s.tag for s in codes.C02_DOSSIER_ADDITIONAL]
    assert names("VanBanAdditionalType") == [s.tag for s in codes.C02_DOCUMENT_ADDITIONAL]


def test_validate_xsd_reports_structure_errors() -> None:
    wrong_order = _parse(
        f'<HoSo xmlns="{c02.NS}"><Title>T</Title><FileCode>X</FileCode><Bogus/></HoSo>'.encode()
    )
    assert c02.validate_xsd(wrong_order, "dossier")
    assert c02.validate_xsd(_parse(f'<VanBan xmlns="{c02.NS}"/>'.encode()), "dossier")


def test_circular02_reader_tolerates_order_and_missing_namespace_with_findings() -> None:
    data = (
        "<HoSo><Title>Hồ sơ A</Title><FileNotation>01</FileNotation><Ghichu>x</Ghichu>"
        "<Title>Hồ sơ B</Title><VanBan><Subject>S</Subject><Files><File>files/a.pdf</File></Files></VanBan></HoSo>"
    ).encode()
    ctx = CheckContext()
    dossier = c02.dossier_from_xml(_parse(data), "dossier.xml", ctx)
    assert dossier.title == "Hồ sơ A" and dossier.file_notation == "01"
    assert dossier.documents[0].subject == "S"
    assert dossier.documents[0].files == [FileRef("files/a.pdf")]
    assert sorted(f.code for f in ctx.findings) == [
        "CK-META-DUPLICATE-ELEMENT", "CK-META-NAMESPACE", "CK-META-UNKNOWN-ELEMENT",
    ]
    wrong = CheckContext()
    c02.document_from_xml(_parse(data), "x.xml", wrong)
    assert [f.code for f in wrong.findings] == ["CK-META-WRONG-ROOT"]


# ---------------------------------------------------------------- TT 05 schemas from the corpus

XML_XSD = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="space" type="xs:NCName"/>
  <xs:attribute name="base" type="xs:anyURI"/>
  <xs:attribute name="id" type="xs:ID"/>
</xs:schema>"""


class _XmlXsdResolver(etree.Resolver):
    """tiencd's ead.xsd imports xml.xsd, which is not shipped: supply the W3C declarations locally."""

    def resolve(self, system_url: str, public_id: str, context: object) -> object:  # type: ignore[override]
        if system_url.endswith("xml.xsd"):
            return self.resolve_string(XML_XSD, context)  # type: ignore[call-arg]  # lxml-stubs lag lxml
        return None


def _schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_XmlXsdResolver())
    return etree.XMLSchema(etree.parse(str(path), parser))


def _rich_dossier() -> Dossier:
    model, _ = _c02_read((EXAMPLES / "dossier-with-documents.xml").read_bytes())
    model.documents.append(Document(kind=DocumentKind.PIC, doc_ordinal="3", image_title="Ảnh lễ công bố quy chế"))
    model.documents.append(Document(kind=DocumentKind.MEDIA, doc_ordinal="4", movie_title="Ghi âm hội nghị"))
    return model


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("variant", "ead", "doc", "pic", "media"),
    [
        (Tt05Variant.SIP_HOSO, "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/SIP/ead.xsd",
         "Ynap9_ksts.web/kssm.be/kssm.be.api/Templates/schemas/ead_doc.xsd",
         "Ynap9_ksts.web/kssm.be/kssm.be.api/Templates/schemas/ead_pic.xsd",
         "Ynap9_ksts.web/kssm.be/kssm.be.api/Templates/schemas/ead_media.xsd"),
        (Tt05Variant.AIP_HOSO, "tiencd_ChuyenDoi_AIP_HoSo_TT05/ead.xsd", "tiencd_ChuyenDoi_AIP_HoSo_TT05/EAD_doc.xsd",
         "tiencd_ChuyenDoi_AIP_HoSo_TT05/EAD_pic.xsd", "tiencd_ChuyenDoi_AIP_HoSo_TT05/EAD_media.xsd"),
        (Tt05Variant.AIP_TAILIEU, "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/AIP_tailieu/ead.xsd", None,
         "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/AIP_tailieu/ead_pic.xsd",
         "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/AIP_tailieu/ead_media.xsd"),
    ],
)
def test_tt05_writers_validate_against_published_schemas(
    variant: Tt05Variant, ead: str, doc: str | None, pic: str, media: str
) -> None:
    schemas = corpus_dir("tt05") / "schemas"
    meta = tt05.to_tt05(_rich_dossier(), variant)
    checks = [(ead, meta.ead)]
    for document, data in meta.documents:
        path = {DocumentKind.DOC: doc, DocumentKind.PIC: pic, DocumentKind.MEDIA: media}[document.kind]
        if path is not None:
            checks.append((path, data))
    assert len(checks) >= 3
    for path, data in checks:
        schema = _schema(schemas / path)
        assert schema.validate(etree.fromstring(data)), (path, str(schema.error_log))


@pytest.mark.corpus
def test_sip_pic_schema_of_the_shared_set_expects_arc_doc_code() -> None:
    """The deviation the corpus documents: kssm.be.shared SIP ead_pic.xsd names arcDocCode, our SIP writer docCode."""
    schemas = corpus_dir("tt05") / "schemas"
    shared = _schema(schemas / "Ynap9_ksts.web/kssm.be/kssm.be.shared/Templates/schemas/SIP/ead_pic.xsd")
    data = tt05.document_to_ead(Document(kind=DocumentKind.PIC, doc_code="X.2020.1.0000001"), Tt05Variant.SIP_HOSO)
    assert not shared.validate(etree.fromstring(data))
    read = tt05.document_from_ead(etree.fromstring(data.replace(b"docCode", b"arcDocCode")), "p.xml", CheckContext())
    assert read.arc_doc_code == "X.2020.1.0000001"
