"""The METS writer (archive_core.profiles.mets): CSIP 2.0.4 structure, TT 05 conventions, METS 1.12 validity."""

from __future__ import annotations

import re
from typing import Any

import pytest
from lxml import etree

from archive_core.profiles.mets import (
    CSIP_NS,
    CSIP_PROFILE,
    METS_NS,
    PDF_1_7,
    SIP_NS,
    XLINK_NS,
    Agent,
    DocumentEntry,
    IdFactory,
    MetsFile,
    MetsHeader,
    MetsStyle,
    RepresentationMets,
    RepresentationRef,
    RootMets,
    write_representation_mets,
    write_root_mets,
)
from tests.conftest import REPO, corpus_dir

NS = {"m": METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS, "sip": SIP_NS}
CREATED = "2025-03-01T09:15:30.123+07:00"
UUID = r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}"

# xlink.xsd imports nothing; xml.xsd is only needed by other xlink.xsd versions.
_XML_XSD = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/><xs:attribute name="space" type="xs:NCName"/>
  <xs:attribute name="base" type="xs:anyURI"/><xs:attribute name="id" type="xs:ID"/>
</xs:schema>"""


class _LocalSchemas(etree.Resolver):
    """Serves the XLink schema that mets.xsd imports from a local file: never the network."""

    def __init__(self, xlink: bytes) -> None:
        super().__init__()
        self.xlink = xlink

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        if system_url.endswith("xlink.xsd"):
            return self.resolve_string(self.xlink, context, base_url=None)
        if system_url.endswith("xml.xsd"):
            return self.resolve_string(_XML_XSD, context, base_url=None)
        return None


def mets_schema() -> etree.XMLSchema:
    """METS 1.12 with the CSIP and SIP extension attributes, from ../shared (skips when absent)."""
    schema_dir = corpus_dir("eark-ip") / "reference" / "E-ARK-CSIP-v2.0.4" / "schema"
    sip_dir = corpus_dir("eark-ip") / "reference" / "E-ARK-SIP-v2.0.4" / "schema"
    xlink = REPO / "ingest" / "schemas" / "xlink.xsd"
    if not xlink.is_file():
        pytest.skip("no local xlink.xsd (ingest/schemas/xlink.xsd)")
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:wrapper">
      <xs:import namespace="{METS_NS}" schemaLocation="{(schema_dir / 'mets.xsd').as_uri()}"/>
      <xs:import namespace="{CSIP_NS}" schemaLocation="{(schema_dir / 'DILCISExtensionMETS.xsd').as_uri()}"/>
      <xs:import namespace="{SIP_NS}" schemaLocation="{(sip_dir / 'DILCISExtensionSIPMETS.xsd').as_uri()}"/>
    </xs:schema>""".encode()
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalSchemas(xlink.read_bytes()))
    return etree.XMLSchema(etree.fromstring(wrapper, parser))


def assert_valid(schema: etree.XMLSchema, data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    assert schema.validate(root), schema.error_log
    return root


def _file(href: str, size: int = 1234, digest: str = "ab" * 32, mime: str = "application/pdf") -> MetsFile:
    return MetsFile(href, size, digest, mime, CREATED)


def _header(package_type: str = "SIP") -> MetsHeader:
    return MetsHeader(
        created=CREATED,
        agents=(Agent.software("earchive", "1.2.3"), Agent.organisation("Ủy ban nhân dân tỉnh Bến Tre", "H56.01")),
        package_type=package_type,
        submission_agreement="NL-000.00.00.H56-2025-001",
        reference_code="000.00.00.H56.2024.12",
    )


def _root(package_type: str = "SIP", premis: bool = False, reps: int = 1) -> RootMets:
    return RootMets(
        objid="uuid-" + "0F203B84-6641-4CDA-9F52-DAAE55FEF6B1",
        header=_header(package_type),
        descriptive=(_file("metadata/descriptive/EAD.xml", 800, "cd" * 32, "text/xml"),),
        schemas=(_file("schemas/EAD.xsd", 1452, "ef" * 32, "application/xml"),),
        representations=tuple(
            RepresentationRef(f"rep{n}", _file(f"representations/rep{n}/METS.xml", 5000, "01" * 32, "application/xml"))
            for n in range(1, reps + 1)
        ),
        preservation=(_file("metadata/preservation/PREMIS.xml", 900, "23" * 32, "text/xml"),) if premis else (),
        label="Hồ sơ về tiếp nhận văn bản điện tử năm 2024",
    )


def _rep(div_type: str = "ORIGINAL", premis: bool = False) -> RepresentationMets:
    docs = tuple(
        DocumentEntry(
            _file(f"metadata/descriptive/EAD_doc_H.{n}.xml", 700 + n, f"{n:02x}" * 32, "text/xml"),
            (
                MetsFile(
                    f"data/H.{n}.pdf", 60_000 + n, f"{n + 16:02x}" * 32, "application/pdf", CREATED, format=PDF_1_7
                ),
            ),
        )
        for n in range(1, 4)
    )
    return RepresentationMets(
        objid="rep1",
        header=_header(),
        documents=docs,
        div_type=div_type,
        preservation=(_file("metadata/preservation/PREMIS_rep1.xml", 400, "45" * 32, "text/xml"),) if premis else (),
    )


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return mets_schema()


def test_root_mets_is_valid_csip(schema: etree.XMLSchema) -> None:
    root = assert_valid(schema, write_root_mets(_root(), ids=IdFactory(1)))
    assert root.get("OBJID") == "uuid-0F203B84-6641-4CDA-9F52-DAAE55FEF6B1"
    assert root.get("PROFILE") == CSIP_PROFILE
    assert root.get("TYPE") == "Mixed"
    assert root.get(f"{{{CSIP_NS}}}CONTENTINFORMATIONTYPE") == "MIXED"
    hdr = root.find("m:metsHdr", NS)
    assert hdr is not None
    assert hdr.get("CREATEDATE") == CREATED
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00", hdr.get("CREATEDATE", ""))
    assert hdr.get("RECORDSTATUS") == "NEW"
    assert hdr.get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") == "SIP"
    software, org = hdr.findall("m:agent", NS)
    assert (software.get("TYPE"), software.get("OTHERTYPE")) == ("OTHER", "SOFTWARE")
    assert software.findtext("m:name", namespaces=NS) == "earchive"
    assert software.find("m:note", NS).get(f"{{{CSIP_NS}}}NOTETYPE") == "SOFTWARE VERSION"  # type: ignore[union-attr]
    assert org.get("TYPE") == "ORGANIZATION"
    assert org.find("m:note", NS).get(f"{{{CSIP_NS}}}NOTETYPE") == "IDENTIFICATIONCODE"  # type: ignore[union-attr]
    assert org.findtext("m:note", namespaces=NS) == "H56.01"
    alt = {a.get("TYPE"): a.text for a in hdr.findall("m:altRecordID", NS)}
    assert alt == {"SUBMISSIONAGREEMENT": "NL-000.00.00.H56-2025-001", "REFERENCECODE": "000.00.00.H56.2024.12"}
    assert root.find("m:amdSec", NS) is None, "a SIP without PREMIS has no amdSec by default"


def test_md_ref_and_file_attributes(schema: etree.XMLSchema) -> None:
    root = assert_valid(schema, write_root_mets(_root(), ids=IdFactory(1)))
    ref = root.find("m:dmdSec/m:mdRef", NS)
    assert ref is not None
    assert ref.get(f"{{{XLINK_NS}}}href") == "metadata/descriptive/EAD.xml"
    assert (ref.get("SIZE"), ref.get("MIMETYPE"), ref.get("CREATED")) == ("800", "text/xml", CREATED)
    assert (ref.get("CHECKSUMTYPE"), ref.get("CHECKSUM")) == ("SHA-256", "cd" * 32)
    assert (ref.get("MDTYPE"), ref.get("OTHERMDTYPE"), ref.get("LOCTYPE")) == ("OTHER", "EAD", "URL")
    xsd = root.find("m:fileSec/m:fileGrp[@USE='Schemas']/m:file", NS)
    assert xsd is not None
    assert (xsd.get("SIZE"), xsd.get("CHECKSUM"), xsd.get("CHECKSUMTYPE")) == ("1452", "ef" * 32, "SHA-256")
    assert xsd.find("m:FLocat", NS).get(f"{{{XLINK_NS}}}href") == "schemas/EAD.xsd"  # type: ignore[union-attr]


def test_identifiers_are_upper_case_uuids_and_reproducible() -> None:
    first = write_root_mets(_root(), ids=IdFactory(7))
    assert first == write_root_mets(_root(), ids=IdFactory(7))
    assert first != write_root_mets(_root(), ids=IdFactory(8))
    root = etree.fromstring(first)
    ids = [e.get("ID") for e in root.iter() if e.get("ID")]
    files = [e.get("ID") for e in root.iter(f"{{{METS_NS}}}file")]
    assert files and all(re.fullmatch(f"ID-{UUID}", i or "") for i in files)
    others = [i for i in ids if i not in files]
    assert others and all(re.fullmatch(f"uuid-{UUID}", i or "") for i in others)
    assert len(set(ids)) == len(ids)


def test_root_struct_map_links_groups_and_representations(schema: etree.XMLSchema) -> None:
    root = assert_valid(schema, write_root_mets(_root(reps=2), ids=IdFactory(3)))
    struct = root.find("m:structMap", NS)
    assert struct is not None
    assert (struct.get("TYPE"), struct.get("LABEL")) == ("PHYSICAL", "CSIP")
    top = struct.find("m:div", NS)
    assert top is not None and top.get("LABEL") == root.get("OBJID")
    groups = {g.get("USE"): g for g in root.iterfind("m:fileSec/m:fileGrp", NS)}
    assert set(groups) == {"Schemas", "Representations/rep1", "Representations/rep2"}
    divs = {d.get("LABEL"): d for d in top.findall("m:div", NS)}
    dmd_ids = [d.get("ID") for d in root.findall("m:dmdSec", NS)]
    assert divs["Metadata"].get("DMDID") == " ".join(i for i in dmd_ids if i)
    assert divs["Schemas"].find("m:fptr", NS).get("FILEID") == groups["Schemas"].get("ID")  # type: ignore[union-attr]
    for name in ("rep1", "rep2"):
        div = divs[f"Representations/{name}"]
        group = groups[f"Representations/{name}"]
        assert group.get(f"{{{CSIP_NS}}}CONTENTINFORMATIONTYPE") == "MIXED"
        mptr = div.find("m:mptr", NS)
        assert mptr is not None
        assert mptr.get(f"{{{XLINK_NS}}}href") == f"representations/{name}/METS.xml"
        assert mptr.get(f"{{{XLINK_NS}}}title") == group.get("ID")
        assert div.find("m:fptr", NS).get("FILEID") == group.get("ID")  # type: ignore[union-attr]


def test_aip_has_amd_sec_with_premis(schema: etree.XMLSchema) -> None:
    root = assert_valid(schema, write_root_mets(_root("AIP", premis=True), ids=IdFactory(2)))
    assert root.find("m:metsHdr", NS).get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") == "AIP"  # type: ignore[union-attr]
    digiprov = root.find("m:amdSec/m:digiprovMD", NS)
    assert digiprov is not None
    ref = digiprov.find("m:mdRef", NS)
    assert ref is not None
    assert (ref.get("MDTYPE"), ref.get("MDTYPEVERSION")) == ("PREMIS", "3.0")
    assert ref.get(f"{{{XLINK_NS}}}href") == "metadata/preservation/PREMIS.xml"
    metadata_div = root.find("m:structMap/m:div/m:div[@LABEL='Metadata']", NS)
    assert metadata_div is not None and metadata_div.get("ADMID") == digiprov.get("ID")


def test_representation_pairs_metadata_with_files(schema: etree.XMLSchema) -> None:
    rep = _rep()
    root = assert_valid(schema, write_representation_mets(rep, ids=IdFactory(4)))
    assert root.get("OBJID") == "rep1"
    dmd_href = {
        d.get("ID"): d.find("m:mdRef", NS).get(f"{{{XLINK_NS}}}href")  # type: ignore[union-attr]
        for d in root.findall("m:dmdSec", NS)
    }
    file_href = {
        f.get("ID"): f.find("m:FLocat", NS).get(f"{{{XLINK_NS}}}href")  # type: ignore[union-attr]
        for f in root.iterfind("m:fileSec/m:fileGrp[@USE='Data']/m:file", NS)
    }
    top = root.find("m:structMap/m:div", NS)
    assert top is not None and (top.get("LABEL"), top.get("TYPE")) == ("rep1", "ORIGINAL")
    pairs = top.findall("m:div[@LABEL='MetadataLink']/m:div[@LABEL='MetadataLink/File']", NS)
    linked = {
        dmd_href[p.get("DMDID")]: [file_href[f.get("FILEID")] for f in p.findall("m:fptr", NS)] for p in pairs
    }
    assert linked == {
        f"metadata/descriptive/EAD_doc_H.{n}.xml": [f"data/H.{n}.pdf"] for n in range(1, 4)
    }
    data_div = top.find("m:div[@LABEL='Data']/m:fptr", NS)
    assert data_div is not None
    assert data_div.get("FILEID") == root.find("m:fileSec/m:fileGrp", NS).get("ID")  # type: ignore[union-attr]
    pdf = root.find("m:fileSec/m:fileGrp/m:file", NS)
    assert pdf is not None
    assert pdf.get(f"{{{SIP_NS}}}FILEFORMATKEY") == "fmt/276"
    assert pdf.get(f"{{{SIP_NS}}}FILEFORMATREGISTRY") == "PRONOM"


def test_normalised_representation_and_preservation(schema: etree.XMLSchema) -> None:
    root = assert_valid(schema, write_representation_mets(_rep("NORMALIZED", premis=True), ids=IdFactory(5)))
    top = root.find("m:structMap/m:div", NS)
    assert top is not None and top.get("TYPE") == "NORMALIZED"
    assert root.find("m:amdSec/m:digiprovMD/m:mdRef", NS) is not None


def test_real_world_style(schema: etree.XMLSchema) -> None:
    style = MetsStyle.real_world()
    root = assert_valid(schema, write_root_mets(_root(), style=style, ids=IdFactory(6)))
    amd = root.find("m:amdSec", NS)
    assert amd is not None and len(amd) == 0 and amd.get("ID")
    ref = root.find("m:dmdSec/m:mdRef", NS)
    assert ref is not None
    assert (ref.get("MDTYPE"), ref.get("MDTYPEVERSION"), ref.get("OTHERMDTYPE")) == ("DC", "1.0.0", None)
    assert ref.get("CHECKSUM") == "CD" * 32
    rep = _rep()
    rep_root = assert_valid(schema, write_representation_mets(
        RepresentationMets("uuid-X", rep.header, rep.documents), style=style, ids=IdFactory(6)
    ))
    assert rep_root.get("OBJID") == "rep1"


def test_output_is_utf8_with_declaration() -> None:
    data = write_root_mets(_root(), ids=IdFactory(1))
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert "Hồ sơ về tiếp nhận văn bản điện tử năm 2024".encode() in data
