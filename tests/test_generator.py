"""The test-data generator (ingest.generator): realistic dossiers, PDFs, TT 05 SIPs, BagIt bags, faults."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import time
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import bagit
import pikepdf
import pytest
from lxml import etree

from archive_core import identifiers
from archive_core.model import Document, Dossier, DossierKind, to_dict
from archive_core.settings import Policy, Settings
from ingest.generator import (
    Fault,
    FaultOptions,
    GeneratedDossier,
    UnsupportedFaultError,
    build_demo_set,
    generate_dossier,
    write_bagit,
    write_tt05_sip,
)
from ingest.generator import pdf as pdfgen
from ingest.generator.bag import write_bag
from ingest.generator.faults import tcvn3_mojibake
from ingest.generator.model import build_dossier
from ingest.generator.sip import write_sip
from ingest.generator.texts import load_seeds
from tests.test_mets_writer import mets_schema

M = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
NS = {"m": M, "xlink": XLINK}
HREF = f"{{{XLINK}}}href"
OBJID = re.compile(r"uuid-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


# ---------------------------------------------------------------- reading packages back


@dataclass
class Sip:
    """A TT 05 SIP read back: files by package-relative path and the METS declarations."""

    name: str
    root: str
    files: dict[str, bytes]
    stored: dict[str, int] = field(default_factory=dict)
    """ZIP compression type by path (empty for folders)."""

    @property
    def mets(self) -> etree._Element:
        return etree.fromstring(self.files["METS.xml"])

    @property
    def rep_mets(self) -> etree._Element:
        return etree.fromstring(self.files["representations/rep1/METS.xml"])

    def declared(self) -> dict[str, dict[str, str]]:
        """Every file and mdRef of both METS documents: package path → attributes."""
        result: dict[str, dict[str, str]] = {}
        for base, doc in (("", self.mets), ("representations/rep1/", self.rep_mets)):
            for element in doc.iter(f"{{{M}}}file", f"{{{M}}}mdRef"):
                locator = element if element.tag.endswith("mdRef") else element.find("m:FLocat", NS)
                assert locator is not None
                result[base + locator.get(HREF, "")] = {
                    str(k): str(v) for k, v in element.attrib.items() if "}" not in str(k)
                }
        return result

    def ead(self, path: str = "metadata/descriptive/EAD.xml") -> dict[str, str]:
        return {child.tag: child.text or "" for child in etree.fromstring(self.files[path])}

    def ead_docs(self) -> dict[str, dict[str, str]]:
        prefix = "representations/rep1/metadata/descriptive/"
        return {p[len(prefix):]: self.ead(p) for p in self.files if p.startswith(prefix)}

    def data(self) -> dict[str, bytes]:
        prefix = "representations/rep1/data/"
        return {p[len(prefix):]: b for p, b in self.files.items() if p.startswith(prefix)}


def read_sip(path: Path) -> Sip:
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
        return Sip(path.name, path.name, files)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        roots = {i.filename.split("/", 1)[0] for i in infos}
        assert len(roots) == 1, f"one root folder expected, found {roots}"
        root = roots.pop()
        files = {i.filename[len(root) + 1:]: archive.read(i) for i in infos if not i.is_dir()}
        stored = {i.filename[len(root) + 1:]: i.compress_type for i in infos}
    return Sip(path.name, root, files, stored)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unpack_bag(path: Path, into: Path) -> Path:
    if path.is_dir():
        return path
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            archive.extractall(into)
    else:
        with tarfile.open(path) as archive:
            archive.extractall(into, filter="data")
    (folder,) = list(into.iterdir())
    return folder


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dossier() -> GeneratedDossier:
    return generate_dossier(seed=11, documents=4, doc_bytes=70_000)


@pytest.fixture(scope="module")
def clean_sip(dossier: GeneratedDossier, tmp_path_factory: pytest.TempPathFactory) -> Sip:
    return read_sip(write_tt05_sip(dossier, tmp_path_factory.mktemp("sip"), sequence=3))


# ---------------------------------------------------------------- the model


def _strings(obj: Dossier | Document) -> list[str]:
    return [v for f in fields(obj) if isinstance(v := getattr(obj, f.name), str)]


def test_model_is_realistic(dossier: GeneratedDossier) -> None:
    d = dossier.dossier
    assert d.kind is DossierKind.HOSO
    assert identifiers.parse_agency_code(d.organ_id or "").form.value == "qcvn102"
    file_code = identifiers.parse_file_code(d.file_code or "")
    assert d.file_code == f"{d.organ_id}.{d.file_catalog}.{d.file_notation}"
    assert file_code.year == 2024
    assert d.total_doc == str(len(d.documents)) == "4"
    assert d.language == "01" and d.mode in {"01", "02"} and d.maintenance in {"01", "02", "04", "05", "06"}
    assert d.title and d.title.startswith("Hồ sơ về ")
    span = [identifiers_date(d.start_date), identifiers_date(d.end_date)]
    assert span[0] <= span[1]
    issued = [identifiers_date(doc.issued_date) for doc in d.documents]
    assert issued == sorted(issued) and span[0] <= issued[0] and issued[-1] <= span[1]
    pages = 0
    for ordinal, doc in enumerate(d.documents, start=1):
        assert doc.doc_ordinal == str(ordinal)
        assert doc.doc_code == f"{d.file_code}.{ordinal:07d}"
        identifiers.parse_doc_code(doc.doc_code or "")
        assert doc.doc_id == f"{d.file_code}.{ordinal}" and len(doc.doc_id) <= 25
        identifiers.parse_doc_identifier(doc.doc_identifier or "")
        assert doc.type_name in {"02", "22", "07", "14", "10", "15", "20", "26"}
        assert doc.subject and doc.organ_name and doc.code_notation
        assert doc.files and doc.files[0].path.endswith(".pdf") and doc.files[0].size
        pages += int(doc.number_of_page or 0)
    assert d.number_of_page == str(pages)
    records: list[Dossier | Document] = [d, *d.documents]
    for obj in records:
        for value in _strings(obj):
            assert unicodedata.is_normalized("NFC", value), value


def identifiers_date(value: str | None) -> tuple[int, int, int]:
    day, month, year = (value or "").split("/")
    return int(year), int(month), int(day)


def test_same_seed_same_model_and_bytes(tmp_path: Path) -> None:
    first = generate_dossier(seed=3, documents=3)
    second = generate_dossier(seed=3, documents=3)
    other = generate_dossier(seed=4, documents=3)
    assert to_dict(first.dossier) == to_dict(second.dossier)
    assert to_dict(first.dossier) != to_dict(other.dossier)
    a = write_tt05_sip(first, tmp_path / "a")
    b = write_tt05_sip(second, tmp_path / "b")
    assert a.name == b.name and sha256(a.read_bytes()) == sha256(b.read_bytes())
    bag_a = write_bagit(first, tmp_path / "a", form="tar.gz")
    bag_b = write_bagit(second, tmp_path / "b", form="tar.gz")
    assert sha256(bag_a.read_bytes()) == sha256(bag_b.read_bytes())


def test_digitised_and_tailieu_variants() -> None:
    digitised = build_dossier(seed=8, documents=3, digitised=True)
    d = digitised.dossier
    assert d.confidence_level == "02" and d.paper_file_code and d.number_of_paper
    identifiers.parse_paper_file_code(d.paper_file_code)
    assert all(g.files[0].spec is not None and g.files[0].spec.layered for g in digitised.documents)
    loose = generate_dossier(seed=8, documents=3, kind=DossierKind.TAILIEU)
    t = loose.dossier
    assert t.kind is DossierKind.TAILIEU and t.source in {"0", "1"}
    identifiers.parse_tailieu_file_code(t.file_code or "")
    assert t.file_code == f"{t.organ_id}.{t.file_catalog}.{t.file_notation}"
    assert all(doc.doc_id is None and doc.doc_code for doc in t.documents)


def test_seed_texts_are_used_and_builtin_fallback(seed_texts: Path, tmp_path: Path) -> None:
    seeds = load_seeds(seed_texts)
    assert len(seeds) >= 3 and all(s.clauses for s in seeds)
    g = generate_dossier(seed=1, documents=2, seed_texts=seed_texts)
    provinces = {s.province for s in seeds}
    assert any(p in (g.dossier.documents[0].organ_name or "") for p in provinces)
    fallback = generate_dossier(seed=1, documents=2, seed_texts=tmp_path / "absent")
    assert fallback.dossier.documents[0].organ_name == "Ủy ban nhân dân tỉnh Ninh Bình"
    text = pdfgen.extract_text(fallback.documents[0].files[0].read_bytes())
    assert "văn bản điện tử" in flat(text)


# ---------------------------------------------------------------- PDFs


def test_pdf_has_correct_vietnamese_text(dossier: GeneratedDossier) -> None:
    generated = dossier.documents[0]
    data = generated.files[0].read_bytes()
    assert len(data) == generated.files[0].size == 70_000
    assert sha256(data) == generated.files[0].sha256
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert pdf.check_pdf_syntax() == []
        assert len(pdf.pages) == int(generated.document.number_of_page or 0)
    text = pdfgen.extract_text(data)
    assert unicodedata.is_normalized("NFC", text)
    page = flat(text)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        f"Số: {generated.document.code_number}/{generated.document.code_notation}",
        flat(generated.document.subject or ""),
        generated.document.signer_name or "",
    ):
        assert expected in page
    spec = generated.files[0].spec
    assert spec is not None
    body = flat(spec.content.body[0])
    assert body[:60] in page
    if shutil.which("pdftotext"):
        # An independent extractor (poppler) must read the same Vietnamese.
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True)
        poppler = flat(out.stdout.decode("utf-8"))
        assert flat(generated.document.subject or "") in poppler
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in poppler


def test_pdf_size_knob_and_layered_scan() -> None:
    g = build_dossier(seed=2, documents=2, doc_bytes=250_000, digitised=True)
    for generated in g.documents:
        data = generated.files[0].read_bytes()
        assert len(data) == 250_000
        with pikepdf.open(io.BytesIO(data)) as pdf:
            assert pdf.check_pdf_syntax() == []
            for page in pdf.pages:
                images = list(page.get_images())
                assert len(images) == 1, "every page of a digitised document is a scan image"
        assert flat(generated.document.subject or "") in flat(pdfgen.extract_text(data))
    small = generate_dossier(seed=2, documents=1, doc_bytes=1_000)
    assert small.documents[0].files[0].size > 1_000, "text alone is larger: no padding, no truncation"
    spec = small.documents[0].files[0].spec
    assert spec is not None
    base = pdfgen.render_pdf(replace(spec, target_bytes=0)).size
    for extra in (1, 2, 3000, 4096, 70_000):
        for layered in (False, True):
            rendered = pdfgen.render_pdf(replace(spec, target_bytes=base + extra, layered=layered))
            data = rendered.to_bytes()
            assert len(data) == rendered.size == base + extra
            with pikepdf.open(io.BytesIO(data)) as pdf:
                assert pdf.check_pdf_syntax() == []


def test_missing_font_fails_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(pdfgen.FONT_FILES, "regular", tmp_path / "DejaVuSans.ttf")
    pdfgen._template.cache_clear()
    try:
        with pytest.raises(pdfgen.FontMissingError, match="fonts-dejavu-core"):
            generate_dossier(seed=1, documents=1)
    finally:
        monkeypatch.undo()
        pdfgen._template.cache_clear()


@pytest.mark.slow
def test_200_documents_of_300_kb_in_seconds(tmp_path: Path) -> None:
    pdfgen._template()  # the one-off font template is not part of the figure
    start = time.perf_counter()
    g = generate_dossier(seed=42, documents=200, doc_bytes=300_000)
    modelled = time.perf_counter() - start
    package = write_tt05_sip(g, tmp_path)
    total = time.perf_counter() - start
    print(
        f"\n200 × 300 KB: model + PDF hashing {modelled:.2f} s, "
        f"+ SIP ZIP written {total:.2f} s ({package.stat().st_size / 1e6:.1f} MB)"
    )
    assert g.total_bytes == 200 * 300_000
    assert package.stat().st_size > 60_000_000
    assert total < 60, "generation must stay fast enough for benchmarks"


# ---------------------------------------------------------------- TT 05 SIP


def test_sip_structure(dossier: GeneratedDossier, clean_sip: Sip) -> None:
    assert OBJID.fullmatch(clean_sip.root)
    assert clean_sip.name == f"3{clean_sip.root}.zip"
    mets = clean_sip.mets
    assert mets.get("OBJID") == clean_sip.root and mets.get("TYPE") == "Mixed"
    stems = [g.stem for g in dossier.documents]
    expected = {
        "METS.xml",
        "metadata/descriptive/EAD.xml",
        "representations/rep1/METS.xml",
        *(f"representations/rep1/metadata/descriptive/EAD_doc_{s}.xml" for s in stems),
        *(f"representations/rep1/data/{s}.pdf" for s in stems),
    }
    assert expected <= set(clean_sip.files)
    schemas = {p for p in clean_sip.files if p.startswith("schemas/")}
    assert {"schemas/EAD.xsd", "schemas/EAD_doc.xsd", "schemas/EAD_pic.xsd", "schemas/EAD_media.xsd"} <= schemas
    for path, kind in clean_sip.stored.items():
        assert kind == (zipfile.ZIP_STORED if path.endswith(".pdf") else zipfile.ZIP_DEFLATED), path
    ead = clean_sip.ead()
    assert ead["fileCode"] == dossier.dossier.file_code and ead["totalDoc"] == "4"
    assert len(ead) == 18
    docs = clean_sip.ead_docs()
    assert len(docs) == 4 and all(len(d) == 21 for d in docs.values())
    assert [d["docCode"] for d in docs.values()] == [doc.doc_code for doc in dossier.dossier.documents]


def test_sip_declares_every_file_correctly(clean_sip: Sip) -> None:
    declared = clean_sip.declared()
    present = set(clean_sip.files) - {"METS.xml"}
    assert set(declared) == present, "no undeclared file, no declaration without a file"
    for path, attrs in declared.items():
        data = clean_sip.files[path]
        assert attrs["SIZE"] == str(len(data)), path
        assert attrs["CHECKSUM"] == sha256(data), path
        assert attrs["CHECKSUMTYPE"] == "SHA-256"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00", attrs["CREATED"]), attrs
    assert declared["representations/rep1/data/" + next(iter(clean_sip.data()))]["MIMETYPE"] == "application/pdf"


def test_sip_pairs_metadata_and_files(clean_sip: Sip) -> None:
    rep = clean_sip.rep_mets
    dmd = {d.get("ID"): d.find("m:mdRef", NS).get(HREF) for d in rep.iter(f"{{{M}}}dmdSec")}  # type: ignore[union-attr]
    files = {f.get("ID"): f.find("m:FLocat", NS).get(HREF) for f in rep.iter(f"{{{M}}}file")}  # type: ignore[union-attr]
    pairs = rep.findall(".//m:div[@LABEL='MetadataLink/File']", NS)
    assert len(pairs) == 4
    for pair in pairs:
        meta = dmd[pair.get("DMDID")] or ""
        (data,) = [files[f.get("FILEID")] for f in pair.findall("m:fptr", NS)]
        assert meta == f"metadata/descriptive/EAD_doc_{Path(data or '').stem}.xml"


def test_sip_mets_validates_against_mets_xsd(clean_sip: Sip) -> None:
    schema = mets_schema()
    for doc in (clean_sip.mets, clean_sip.rep_mets):
        assert schema.validate(doc), schema.error_log


def test_sip_folder_and_tailieu(tmp_path: Path, clean_sip: Sip, dossier: GeneratedDossier) -> None:
    folder = write_tt05_sip(dossier, tmp_path, as_zip=False, sequence=3)
    assert folder.is_dir() and folder.name == clean_sip.root
    assert read_sip(folder).files == clean_sip.files
    loose = generate_dossier(seed=5, documents=3, kind=DossierKind.TAILIEU)
    sip = read_sip(write_tt05_sip(loose, tmp_path))
    assert sip.mets.get("TYPE") == "Collection"
    ead = sip.ead()
    assert set(ead) == {"fileCode", "title", "source", "totalDoc", "description"}
    assert set(sip.declared()) == set(sip.files) - {"METS.xml"}


def _validate_with_bundled_schemas(sip: Sip) -> None:
    package_xsd = etree.XMLSchema(etree.fromstring(sip.files["schemas/EAD.xsd"]))
    assert package_xsd.validate(etree.fromstring(sip.files["metadata/descriptive/EAD.xml"])), package_xsd.error_log
    doc_xsd = etree.XMLSchema(etree.fromstring(sip.files["schemas/EAD_doc.xsd"]))
    prefix = "representations/rep1/metadata/descriptive/"
    for path in (p for p in sip.files if p.startswith(prefix)):
        assert doc_xsd.validate(etree.fromstring(sip.files[path])), (path, doc_xsd.error_log)


def test_ead_validates_against_the_bundled_schemas(clean_sip: Sip) -> None:
    _validate_with_bundled_schemas(clean_sip)


def test_without_shared_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ../shared: built-in texts, schemas made from the field lists, no METS schema bundled."""
    monkeypatch.setenv("EARCHIVE_SHARED", str(tmp_path / "no-shared"))
    g = generate_dossier(seed=9, documents=2)
    assert g.dossier.documents[0].organ_name == "Ủy ban nhân dân tỉnh Ninh Bình"
    sip = read_sip(write_tt05_sip(g, tmp_path))
    schemas = sorted(p for p in sip.files if p.startswith("schemas/"))
    assert schemas == ["schemas/EAD.xsd", "schemas/EAD_doc.xsd", "schemas/EAD_media.xsd", "schemas/EAD_pic.xsd"]
    assert "schemaLocation" not in sip.files["METS.xml"].decode()
    _validate_with_bundled_schemas(sip)
    loose = read_sip(write_tt05_sip(generate_dossier(seed=9, documents=2, kind=DossierKind.TAILIEU), tmp_path))
    _validate_with_bundled_schemas(loose)


# ---------------------------------------------------------------- BagIt


@pytest.mark.parametrize("form", ["folder", "zip", "tar.gz"])
def test_bag_is_valid(form: str, dossier: GeneratedDossier, tmp_path: Path) -> None:
    path = write_bagit(dossier, tmp_path / "out", form=form)  # type: ignore[arg-type]
    folder = unpack_bag(path, tmp_path / "unpacked")
    bag = bagit.Bag(str(folder))
    bag.validate()
    info = bag.info
    assert info["BagIt-Profile-Identifier"] == "urn:earchive:bagit-profile:circular02:1.0"
    assert info["Organization-Identifier"] == dossier.agency.code
    assert info["Source-Organization"] == dossier.agency.name
    assert info["External-Identifier"] == dossier.dossier.file_code
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", info["Bagging-Date"])
    assert (folder / "tagmanifest-sha256.txt").is_file()
    payload = sorted(p.relative_to(folder).as_posix() for p in (folder / "data").rglob("*") if p.is_file())
    assert "data/metadata/dossier.xml" in payload
    assert len([p for p in payload if p.startswith("data/files/")]) == 4
    assert len([p for p in payload if p.startswith("data/metadata/documents/")]) == 4
    doc_xml = etree.parse(str(folder / "data/metadata/documents" / f"{dossier.documents[0].stem}.xml")).getroot()
    listed = [e.text for e in doc_xml.iter("{urn:earchive:circular02:2019}File")]
    assert listed == [f"files/{dossier.documents[0].files[0].name}"]


# ---------------------------------------------------------------- faults


@pytest.fixture(scope="module")
def small() -> GeneratedDossier:
    return generate_dossier(seed=21, documents=3, doc_bytes=20_000)


def _victim_path(g: GeneratedDossier) -> str:
    return f"representations/rep1/data/{g.documents[0].files[0].name}"


def _first_doc(sip: Sip) -> dict[str, str]:
    return next(iter(sip.ead_docs().values()))


# Each check receives the clean and the faulty package of the same dossier and
# proves the fault changed what it says it changes (and the clean one did not have it).
SipCheck = Callable[[Sip, Sip, GeneratedDossier], None]


def _wrong_checksum(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert bad.declared()[path]["CHECKSUM"] != sha256(bad.files[path])
    assert clean.declared()[path]["CHECKSUM"] == sha256(clean.files[path])


def _wrong_size(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert bad.declared()[path]["SIZE"] == str(len(bad.files[path]) + 1)


def _missing_file(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert path in bad.declared() and path not in bad.files and path in clean.files


def _undeclared(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    extra = set(bad.files) - {"METS.xml"} - set(bad.declared())
    assert extra == {"ghi-chu-bo-sung.txt"}


def _wrong_mimetype(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert bad.declared()[path]["MIMETYPE"] == "image/jpeg" and bad.files[path].startswith(b"%PDF")


def _wrong_extension(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert path.endswith(".pdf") and bad.files[path].startswith(b"\x89PNG\r\n\x1a\n")
    assert bad.declared()[path]["MIMETYPE"] == "application/pdf"


def _disallowed(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    exe = [p for p in bad.files if p.endswith(".exe")]
    assert len(exe) == 1 and bad.files[exe[0]].startswith(b"MZ") and b"PE\x00\x00" in bad.files[exe[0]]
    assert exe[0] in bad.declared()


def _secret_mode(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert bad.ead()["mode"] == "03" and clean.ead()["mode"] != "03"
    assert _first_doc(bad)["mode"] == "03"


def _secret_mark(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert _first_doc(bad)["inforSign"] == "MẬT"
    assert "MẬT" in pdfgen.extract_text(bad.files[_victim_path(g)]).split()


def _missing_required(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert bad.ead()["title"] == "" and clean.ead()["title"]


def _too_long(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert len(_first_doc(bad)["subject"]) == 600 > 500 >= len(_first_doc(clean)["subject"])


def _bad_date(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert _first_doc(bad)["issuedDate"].startswith("31/02/")


def _bad_code(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert _first_doc(bad)["typeName"] == "99" and _first_doc(bad)["format"] == "09"


def _total_doc(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert bad.ead()["totalDoc"] == str(len(bad.ead_docs()) + 1)


def _date_order(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    ead = bad.ead()
    assert identifiers_date(ead["startDate"]) > identifiers_date(ead["endDate"])


def _not_nfc(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    title = bad.ead()["title"]
    assert not unicodedata.is_normalized("NFC", title)
    assert unicodedata.normalize("NFC", title) == clean.ead()["title"]


def _tcvn3(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    subject = _first_doc(bad)["subject"]
    assert subject == tcvn3_mojibake(_first_doc(clean)["subject"]) != _first_doc(clean)["subject"]


def _bad_name(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    names = list(bad.data())
    odd = [n for n in names if not re.fullmatch(r"[A-Za-z0-9._-]+", n)]
    assert len(odd) == 1 and " " in odd[0] and not odd[0].isascii()
    assert unicodedata.is_normalized("NFC", odd[0])


def _big_file(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    path = _victim_path(g)
    assert len(bad.files[path]) == 2_000_000 and bad.declared()[path]["SIZE"] == "2000000"
    with pikepdf.open(io.BytesIO(bad.files[path])) as pdf:
        assert _first_doc(bad)["numberOfPage"] == str(len(pdf.pages))


def _doccode_year(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    file_code = bad.ead()["fileCode"]
    assert all(not d["docCode"].startswith(file_code + ".") for d in bad.ead_docs().values())
    assert all(d["docCode"].startswith(file_code + ".") for d in clean.ead_docs().values())


def _paper_missing(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    ead = bad.ead()
    assert ead["confidenceLevel"] == "02" and ead["paperFileCode"] == "" and ead["numberOfPaper"]


def _real_world(clean: Sip, bad: Sip, g: GeneratedDossier) -> None:
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.zip", bad.name)
    assert bad.name[:-4] != bad.root.removeprefix("uuid-").lower()
    assert all(name.startswith("EAD_DOC_") for name in bad.ead_docs())
    assert {"schemas/ead.xsd", "schemas/ead_doc.xsd", "schemas/ead_pic.xsd", "schemas/ead_media.xsd"} <= set(bad.files)
    assert b'name="arcDocCode"' in bad.files["schemas/ead_doc.xsd"]
    assert bad.rep_mets.get("OBJID") == "rep1"
    for doc in (bad.mets, bad.rep_mets):
        amd = doc.find("m:amdSec", NS)
        assert amd is not None and len(amd) == 0
        refs = list(doc.iter(f"{{{M}}}mdRef"))
        assert refs and all((r.get("MDTYPE"), r.get("MDTYPEVERSION")) == ("DC", "1.0.0") for r in refs)
    checksums = [a["CHECKSUM"] for a in bad.declared().values()]
    assert all(c == c.upper() and c != c.lower() for c in checksums)
    assert all(a["MIMETYPE"] == "application/octet-stream" for p, a in bad.declared().items() if p.endswith(".xsd"))
    order = list(bad.ead())
    assert sorted(order) == sorted(clean.ead()) and order != list(clean.ead())
    assert "metadata/descriptive/earchive-extension.xml" not in bad.files


SIP_CHECKS: dict[Fault, SipCheck] = {
    Fault.WRONG_CHECKSUM: _wrong_checksum,
    Fault.WRONG_SIZE: _wrong_size,
    Fault.MISSING_FILE: _missing_file,
    Fault.UNDECLARED_FILE: _undeclared,
    Fault.WRONG_MIMETYPE: _wrong_mimetype,
    Fault.WRONG_EXTENSION: _wrong_extension,
    Fault.DISALLOWED_FORMAT: _disallowed,
    Fault.SECRET_MODE: _secret_mode,
    Fault.SECRET_MARK: _secret_mark,
    Fault.MISSING_REQUIRED_FIELD: _missing_required,
    Fault.FIELD_TOO_LONG: _too_long,
    Fault.BAD_DATE: _bad_date,
    Fault.BAD_CODE_LIST: _bad_code,
    Fault.TOTAL_DOC_MISMATCH: _total_doc,
    Fault.DATE_ORDER: _date_order,
    Fault.NOT_NFC: _not_nfc,
    Fault.LEGACY_TCVN3: _tcvn3,
    Fault.BAD_FILE_NAME: _bad_name,
    Fault.BIG_FILE: _big_file,
    Fault.DOCCODE_WRONG_YEAR: _doccode_year,
    Fault.PAPER_FILE_CODE_MISSING: _paper_missing,
    Fault.REAL_WORLD_DEVIATIONS: _real_world,
}
OPTIONS = FaultOptions(big_file_bytes=2_000_000)


def test_every_fault_has_a_check_and_a_description() -> None:
    assert set(SIP_CHECKS) == set(Fault)
    for fault in Fault:
        assert fault.description and fault.expected_codes, fault
        assert all(re.fullmatch(r"CK-[A-Z0-9-]+", c) for c in (*fault.expected_codes, *fault.codes_for("bagit")))


@pytest.mark.parametrize("fault", list(Fault), ids=lambda f: f.value)
def test_fault_changes_what_it_says(fault: Fault, small: GeneratedDossier, tmp_path: Path) -> None:
    clean = read_sip(write_sip(small, tmp_path / "clean", options=OPTIONS))
    bad = read_sip(write_sip(small, tmp_path / "bad", faults=[fault], options=OPTIONS))
    SIP_CHECKS[fault](clean, bad, small)
    untouched = to_dict(small.dossier)
    assert to_dict(generate_dossier(seed=21, documents=3, doc_bytes=20_000).dossier) == untouched, (
        "faults work on a copy"
    )


def test_bag_faults(small: GeneratedDossier, tmp_path: Path) -> None:
    def bag(*faults: Fault) -> Path:
        folder = "-".join(f.value for f in faults) or "clean"
        return write_bag(small, tmp_path / folder, form="folder", faults=faults, options=OPTIONS)

    bagit.Bag(str(bag())).validate()
    victim = f"data/files/{small.documents[0].files[0].name}"
    messages = {
        Fault.WRONG_CHECKSUM: victim,
        Fault.MISSING_FILE: victim,
        Fault.UNDECLARED_FILE: "ghi-chu-bo-sung.txt",
        Fault.WRONG_SIZE: "Payload-Oxum",
    }
    for fault, needle in messages.items():
        with pytest.raises(bagit.BagValidationError) as failure:
            bagit.Bag(str(bag(fault))).validate()
        assert needle in str(failure.value), (fault, str(failure.value))
    for unsupported in (Fault.WRONG_MIMETYPE, Fault.REAL_WORLD_DEVIATIONS):
        assert "bagit" not in unsupported.formats
        with pytest.raises(UnsupportedFaultError):
            write_bag(small, tmp_path / "x", faults=[unsupported])
    secret = bag(Fault.SECRET_MARK)
    doc_xml = (secret / "data/metadata/documents" / f"{small.documents[0].stem}.xml").read_text(encoding="utf-8")
    assert "<InforSign>MẬT</InforSign>" in doc_xml


def test_tcvn3_mojibake() -> None:
    assert tcvn3_mojibake("Quyết định") == "QuyÕt ®Þnh"
    assert tcvn3_mojibake("Ủy ban nhân dân") == "ñy ban nh©n d©n"


# ---------------------------------------------------------------- through the ingest gate


def _gate_codes(path: Path, settings: Settings) -> tuple[str, set[str]]:
    from ingest.gate import STRUCTURAL_ONLY, check_package

    result = check_package(path, settings, options=STRUCTURAL_ONLY)
    return result.verdict.value, {f.code for f in result.findings}


def test_clean_packages_pass_the_gate(small: GeneratedDossier, settings: Settings, tmp_path: Path) -> None:
    for path in (write_tt05_sip(small, tmp_path), write_bagit(small, tmp_path)):
        verdict, codes = _gate_codes(path, settings)
        assert verdict == "accepted", (path.name, codes)


def test_reader_sees_the_generated_model(small: GeneratedDossier, settings: Settings, tmp_path: Path) -> None:
    """What a reader makes of a generated package is the model `tt05_model()` / `bag_model()` describe."""
    from ingest.gate import STRUCTURAL_ONLY, check_package

    for path, expected in (
        (write_tt05_sip(small, tmp_path), small.tt05_model()),
        (write_bagit(small, tmp_path), small.bag_model()),
    ):
        result = check_package(path, settings, options=STRUCTURAL_ONLY)
        assert result.package is not None
        (read,) = result.package.dossiers
        want, got = to_dict(expected), to_dict(read)
        want_docs, got_docs = want.pop("documents"), got.pop("documents")
        assert got == want, path.name
        assert len(got_docs) == len(want_docs)
        for want_doc, got_doc in zip(want_docs, got_docs, strict=True):
            want_files, got_files = want_doc.pop("files"), got_doc.pop("files")
            assert got_doc == want_doc, path.name
            assert [(f["path"], f["sha256"]) for f in got_files] == [(f["path"], f["sha256"]) for f in want_files]


@pytest.mark.parametrize(
    ("fault", "package"),
    [(f, p) for f in Fault for p in ("tt05", "bagit") if p in f.formats],
    ids=lambda v: v.value if isinstance(v, Fault) else v,
)
def test_fault_triggers_its_expected_codes(
    fault: Fault, package: str, small: GeneratedDossier, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", workers=2, policy=Policy(max_file_bytes=1_500_000))
    if package == "tt05":
        path = write_sip(small, tmp_path, faults=[fault], options=OPTIONS)
    else:
        path = write_bag(small, tmp_path, faults=[fault], options=OPTIONS)
    _, codes = _gate_codes(path, settings)
    missing = set(fault.codes_for(package)) - codes  # type: ignore[arg-type]
    assert not missing, f"{fault.value} in {package}: missing {missing}, got {sorted(codes)}"


def test_demo_set(tmp_path: Path, settings: Settings) -> None:
    start = time.perf_counter()
    paths = build_demo_set(tmp_path / "demo")
    elapsed = time.perf_counter() - start
    print(f"\ndemo set: {len(paths)} packages in {elapsed:.2f} s")
    assert len(paths) == 5 and all(p.exists() for p in paths)
    assert sum(p.stat().st_size for p in paths) < 5_000_000
    verdicts = [_gate_codes(p, settings)[0] for p in paths]
    assert verdicts == ["accepted", "accepted", "accepted", "accepted_with_warnings", "rejected"]
