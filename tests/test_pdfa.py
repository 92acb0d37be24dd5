"""R-CK-3 / R-ST-5: PDF/A validation rules, veraPDF report parsing, text layer and scan
resolution, the ingest check, and PDF/A preservation copies."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from fpdf import FPDF
from fpdf.enums import TextMode
from PIL import Image, ImageDraw, ImageFont

from archive_core.findings import CheckContext, Severity
from archive_core.model import Document, Dossier, FileRef
from archive_core.premis import EventType, Outcome
from archive_core.settings import PdfaPolicy, Settings
from ingest.checks.pdfa import check_pdfa
from ingest.package import FormatId, ObservedFile, PackageKind, ParsedPackage
from preservation import migration
from preservation.migration import make_preservation_copy, sha256_of
from preservation.pdfa import textlayer, verapdf, xmp
from preservation.pdfa.base import Flavour, PdfaReport
from preservation.pdfa.builtin import BuiltinPdfaValidator
from preservation.pdfa.cli import pdfa_json
from tests.conftest import corpus_dir

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FIXTURES = Path(__file__).parent / "fixtures" / "verapdf"
VIETNAMESE = "Cộng hòa xã hội chủ nghĩa Việt Nam – Độc lập, Tự do, Hạnh phúc. Quyết định số 12/QĐ-UBND."

needs_font = pytest.mark.skipif(not FONT.is_file(), reason="DejaVu Sans (fonts-dejavu-core) is not installed")


@pytest.fixture(scope="module")
def validator() -> BuiltinPdfaValidator:
    return BuiltinPdfaValidator()


def _born_digital(path: Path, text: str = VIETNAMESE) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def _pdfa(path: Path, flavour: str = "2b") -> Path:
    from pikepdf import pdfa

    source = _born_digital(path.with_suffix(".src.pdf"))
    with pikepdf.open(source) as pdf:
        del pdf.Root["/OpenAction"]
        pdfa.save(pdf, path, flavour)
    return path


def _rules(report: PdfaReport) -> set[str]:
    return set(report.clauses())


# --- the report and flavours -------------------------------------------------------------------


def test_flavour_parsing() -> None:
    assert Flavour.parse("2b") == Flavour(2, "b")
    assert Flavour.parse("PDF/A-3U").code == "3u"
    assert Flavour.parse("pdfa-1a").label == "PDF/A-1A"
    assert Flavour.parse("4").code == "4"
    assert Flavour.parse("2a").at_level_b() == Flavour(2, "b")
    for wrong in ("1u", "5b", "2x", "", "4b"):
        with pytest.raises(ValueError):
            Flavour.parse(wrong)


@needs_font
def test_a_valid_pdfa_passes_and_reports_its_claim(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    report = validator.validate(_pdfa(tmp_path / "a.pdf"))
    assert report.verdict == "pass", report.to_dict()
    assert (report.claimed, report.flavour) == ("2B", "2b")
    data = report.to_dict()
    assert data["validator"]["name"] == "earchive-pdfa" and "pikepdf" in data["validator"]["version"]
    assert {"verdict", "claimed", "failed_rules", "validator", "duration_seconds"} <= data.keys()


@needs_font
def test_level_a_claim_is_judged_at_level_b(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        stream = pdf.Root.Metadata
        stream.write(stream.read_bytes().replace(b'pdfaid:conformance="B"', b'pdfaid:conformance="A"')
                     .replace(b"<pdfaid:conformance>B<", b"<pdfaid:conformance>A<"))
        pdf.save(path)
    report = validator.validate(path)
    assert report.claimed == "2A" and report.flavour == "2b"
    assert any("level B" in note for note in report.notes)
    assert "6.6.4-3" not in _rules(report)


@needs_font
def test_a_plain_pdf_is_not_pdfa(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _born_digital(tmp_path / "plain.pdf")
    unclaimed = validator.validate(path)
    assert unclaimed.verdict == "fail" and unclaimed.flavour is None and not unclaimed.claims_pdfa
    checked = validator.validate(path, "2b")
    # no XMP, and text painted in the initial DeviceGray without an OutputIntent
    assert {"6.6.2.1-1", "6.2.4.3-4"} <= _rules(checked)


def test_unreadable_and_part4_files(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a PDF at all")
    report = validator.validate(junk, "2b")
    assert report.verdict == "fail" and report.failed_rules[0].clause == "6.1"
    assert validator.validate(junk, "4").verdict == "fail"


@needs_font
def test_part4_is_unknown_not_passed(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    report = validator.validate(_pdfa(tmp_path / "a.pdf"), "4")
    assert report.verdict == "unknown" and report.unchecked


@needs_font
def test_encryption_fails(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = tmp_path / "enc.pdf"
    with pikepdf.open(_pdfa(tmp_path / "a.pdf")) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="owner", user=""))
    assert "6.1.3-2" in _rules(validator.validate(path, "2b"))


# --- file syntax, on bytes pikepdf would hide ----------------------------------------------------


@needs_font
def test_data_after_eof(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf")
    path.write_bytes(path.read_bytes() + b"trailing garbage\n")
    assert "6.1.3-3" in _rules(validator.validate(path))


@needs_font
def test_header_without_binary_comment(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf")
    data = bytearray(path.read_bytes())
    comment = data.index(b"\n%") + 2
    data[comment : comment + 4] = b"abcd"
    path.write_bytes(bytes(data))
    assert "6.1.2-2" in _rules(validator.validate(path))


@needs_font
def test_wrong_stream_length(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf")
    data = path.read_bytes()
    match = next(m for m in re.finditer(rb"/Length (\d+)", data) if not m.group(1).endswith(b"0"))
    shorter = str(int(match.group(1)) - 1).encode()
    path.write_bytes(data[: match.start(1)] + shorter + data[match.end(1) :])
    assert "6.1.7.1-1" in _rules(validator.validate(path))


@needs_font
def test_xref_keyword_needs_a_single_eol(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf", "1b")  # PDF/A-1 uses a cross-reference table
    data = path.read_bytes()
    assert validator.validate(path).verdict == "pass"
    start = data.rindex(b"\nxref\n") + 1
    path.write_bytes(data[:start] + b"xref \n" + data[start + 5 :])
    assert "6.1.4-2" in _rules(validator.validate(path))


# --- XMP ----------------------------------------------------------------------------------------


def _packet(body: str, extra_ns: str = "") -> bytes:
    return textwrap.dedent(f"""\
        <?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
        <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
        <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
           xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" {extra_ns}
           pdfaid:part="2" pdfaid:conformance="B">
        {body}
        </rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>""").encode()


def _xmp_rules(raw: bytes, part: int = 2) -> set[str]:
    return {v.rule_id for v in xmp.check_packet(raw, part, main=True).violations}


def test_xmp_predefined_properties_and_types() -> None:
    good = _packet('<xmp:CreateDate>2024-05-01T10:00:00+07:00</xmp:CreateDate>'
                   '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Tờ trình</rdf:li></rdf:Alt></dc:title>')
    assert _xmp_rules(good) == set()
    assert _xmp_rules(_packet("<xmp:CreateDate>hôm qua</xmp:CreateDate>")) == {"6.6.2.3.1-2"}
    assert _xmp_rules(_packet("<dc:title>not a Lang Alt</dc:title>")) == {"6.6.2.3.1-2"}
    unknown = _packet("<vn:SoHieu>12/QĐ</vn:SoHieu>", 'xmlns:vn="http://example.gov.vn/ns/"')
    assert _xmp_rules(unknown) == {"6.6.2.3.1-1"}
    assert _xmp_rules(unknown, part=1) >= {"6.7.9-2"}


def test_xmp_extension_schema_describes_a_property() -> None:
    extension = """
      <pdfaExtension:schemas xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
          xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
        <rdf:Bag><rdf:li rdf:parseType="Resource">
          <pdfaSchema:schema>Số hiệu văn bản</pdfaSchema:schema>
          <pdfaSchema:namespaceURI>http://example.gov.vn/ns/</pdfaSchema:namespaceURI>
          <pdfaSchema:prefix>vn</pdfaSchema:prefix>
          <pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
            <pdfaProperty:name>SoHieu</pdfaProperty:name>
            <pdfaProperty:valueType>Text</pdfaProperty:valueType>
            <pdfaProperty:category>external</pdfaProperty:category>
            <pdfaProperty:description>Số, ký hiệu</pdfaProperty:description>
          </rdf:li></rdf:Seq></pdfaSchema:property>
        </rdf:li></rdf:Bag>
      </pdfaExtension:schemas>"""
    described = _packet("<vn:SoHieu>12/QĐ</vn:SoHieu>" + extension, 'xmlns:vn="http://example.gov.vn/ns/"')
    assert _xmp_rules(described) == set()
    broken = described.replace(b"<pdfaSchema:prefix>vn</pdfaSchema:prefix>", b"")
    assert "6.6.2.3.3-4" in _xmp_rules(broken)
    bad_category = described.replace(b">external<", b">sometimes<")
    assert "6.6.2.3.3-9" in _xmp_rules(bad_category)


def test_xmp_identification_and_serialization() -> None:
    assert "6.6.4-1" in _xmp_rules(_packet("").replace(b'pdfaid:part="2"', b""))
    assert "6.6.4-2" in _xmp_rules(_packet(""), part=3)
    assert "6.6.4-3" in _xmp_rules(_packet("").replace(b'conformance="B"', b'conformance="b"'))
    assert "6.6.2.1-4" in _xmp_rules(b"<x:xmpmeta><unclosed>")
    assert "6.6.2.1-3" in _xmp_rules(_packet("").replace(b'id="W5M', b'encoding="UTF-8" id="W5M'))
    assert xmp.read_identification(_packet("")) == (2, "B")


def test_xmp_info_dictionary_agreement_in_part1() -> None:
    packet = xmp.parse_packet(_packet(
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Báo cáo</rdf:li></rdf:Alt></dc:title>'
        "<xmp:CreateDate>2024-05-01T10:00:00+07:00</xmp:CreateDate>"))
    assert xmp.check_info_agreement(packet, {"/Title": "Báo cáo", "/CreationDate": "D:20240501100000+07'00'"}) == []
    rules = {v.rule_id for v in xmp.check_info_agreement(packet, {"/Title": "Khác", "/Author": "A"})}
    assert rules == {"6.7.3-2", "6.7.3-3"}


# --- veraPDF ---------------------------------------------------------------------------------------


def _fixture(name: str, *files: Path) -> bytes:
    text = (FIXTURES / name).read_text("utf-8")
    for number, path in enumerate(files, start=1):
        text = text.replace(f"@FILE{number}@", str(path))
    return text.encode()


def test_verapdf_mrr_report_parsing(tmp_path: Path) -> None:
    parsed = verapdf.parse_report(_fixture("mrr-batch.xml", tmp_path / "good.pdf", tmp_path / "bad.pdf"))
    assert parsed.version == "1.26.2"
    good, bad = parsed.jobs
    assert (good.verdict, good.failed_rules) == ("pass", [])
    assert bad.verdict == "fail" and [r.rule_id for r in bad.failed_rules] == ["6.2.11.4.1-1", "6.6.4-1"]
    font = bad.failed_rules[0]
    assert font.count == 3 and font.specification == "ISO 19005-2" and "embedded" in font.description_en
    assert font.description_vi and "nhúng" in font.description_vi
    assert "Times-Roman" in font.example


def test_verapdf_exception_and_single_report() -> None:
    (job,) = verapdf.parse_report(_fixture("mrr-exception.xml", Path("/x/enc.pdf"))).jobs
    assert job.verdict == "fail" and "encrypted" in (job.problem or "")
    (single,) = verapdf.parse_report((FIXTURES / "validation-report.xml").read_bytes()).jobs
    assert single.verdict == "fail" and [r.rule_id for r in single.failed_rules] == ["6.1.3-1"]
    assert single.failed_rules[0].specification == "ISO 19005-1"
    with pytest.raises(ValueError):
        verapdf.parse_report(b"<not-closed")


def _fake_verapdf(tmp_path: Path) -> Path:
    """A stand-in `verapdf` CLI: answers in MRR from our fixture, logs each invocation."""
    template = (FIXTURES / "mrr-batch.xml").read_text("utf-8")
    script = tmp_path / "verapdf"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, re
        args = sys.argv[1:]
        with open({str(tmp_path / 'calls.log')!r}, 'a') as log:
            log.write(' '.join(args) + '\\n')
        if args == ['--version']:
            print('veraPDF 1.26.2 (fake)'); sys.exit(0)
        template = {template!r}
        jobs = re.findall(r'<job>.*?</job>', template, re.S)
        files = [a for a in args if a.endswith('.pdf')]
        out = [(jobs[0] if 'good' in f else jobs[1]).replace('@FILE1@', f).replace('@FILE2@', f) for f in files]
        head, tail = template.split('<jobs>')[0], template.split('</jobs>')[1]
        sys.stdout.write(head + '<jobs>' + ''.join(out) + '</jobs>' + tail)
        """))
    script.chmod(0o755)
    return script


@needs_font
def test_verapdf_cli_batches_many_files_per_jvm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _fake_verapdf(tmp_path)
    files = [_pdfa(tmp_path / "good1.pdf"), _born_digital(tmp_path / "bad.pdf"), _pdfa(tmp_path / "good2.pdf")]
    validator = verapdf.VeraPdfValidator(cli=str(script))
    reports = validator.validate_many(files)
    calls = [c for c in (tmp_path / "calls.log").read_text().splitlines() if c != "--version"]
    assert len(calls) == 1 and "--format mrr" in calls[0]
    assert [reports[f].verdict for f in files] == ["pass", "fail", "pass"]
    assert reports[files[0]].claimed == "2B" and reports[files[1]].claimed is None
    assert reports[files[1]].validator == "veraPDF" and "1.26.2" in reports[files[1]].validator_version
    monkeypatch.setattr(verapdf, "BATCH_SIZE", 2)
    validator.validate_many(files, "2b")
    calls = [c for c in (tmp_path / "calls.log").read_text().splitlines() if c != "--version"]
    assert len(calls) == 3 and "--flavour 2b" in calls[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def verapdf_server() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    answer = (FIXTURES / "validation-report.xml").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path.encode() + b"\n" + self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@needs_font
def test_verapdf_rest_server(tmp_path: Path, verapdf_server: tuple[str, list[bytes]]) -> None:
    url, received = verapdf_server
    path = _pdfa(tmp_path / "a.pdf")
    settings = Settings(home=tmp_path, pdfa=PdfaPolicy(validator="auto", verapdf_url=url))
    chosen = verapdf.make_validator(settings)
    assert isinstance(chosen, verapdf.VeraPdfValidator)
    report = chosen.validate(path, "1b")
    assert report.verdict == "fail" and report.clauses() == ["6.1.3-1"]
    assert received[0].startswith(b"/api/validate/1b\n") and path.read_bytes() in received[0]


def test_validator_selection(tmp_path: Path) -> None:
    absent = str(tmp_path / "no-verapdf-here")
    assert isinstance(verapdf.make_validator(Settings(pdfa=PdfaPolicy(verapdf_cli=absent))), BuiltinPdfaValidator)
    with pytest.raises(verapdf.VeraPdfUnavailable):
        verapdf.make_validator(Settings(pdfa=PdfaPolicy(validator="verapdf", verapdf_cli=absent)))
    script = _fake_verapdf(tmp_path)
    auto = verapdf.make_validator(Settings(pdfa=PdfaPolicy(verapdf_cli=str(script))))
    assert isinstance(auto, verapdf.VeraPdfValidator)
    forced = verapdf.make_validator(Settings(pdfa=PdfaPolicy(validator="builtin", verapdf_cli=str(script))))
    assert isinstance(forced, BuiltinPdfaValidator)


@needs_font
def test_pdfa_json_for_the_cli(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, pdfa=PdfaPolicy(validator="builtin"))
    data = pdfa_json(_born_digital(tmp_path / "plain.pdf"), flavour="2b", settings=settings)
    assert data["verdict"] == "fail" and data["claimed"] is None and data["validator"]["name"] == "earchive-pdfa"
    assert any(rule["rule_id"] == "6.6.2.1-1" for rule in data["failed_rules"])


# --- signatures and forms ----------------------------------------------------------------------------


def test_signature_byte_range_must_cover_the_file(validator: BuiltinPdfaValidator) -> None:
    root = corpus_dir("pyhanko-test-data") / "pdf"
    assert "6.4.3-1" in _rules(validator.validate(root / "coverage-anomalies" / "tail-uncovered.pdf", "2b"))
    signed = validator.validate(root / "certified-with-indirect-refs-in-dir.pdf", "2b")
    assert not any(rule.startswith("6.4.3") for rule in _rules(signed))
    assert signed.verdict in ("fail", "unknown")  # not PDF/A for other reasons, but judged, not crashed


# --- text layer and scan resolution ----------------------------------------------------------------


def _scan(path: Path, dpi: int, *, text: bool, size_mm: float = 100.0) -> Path:
    pixels = round(size_mm / 25.4 * dpi)
    image = Image.new("L", (pixels, pixels), 255)
    ImageDraw.Draw(image).rectangle((pixels // 4, pixels // 4, pixels // 2, pixels // 2), fill=0)
    png = path.with_suffix(".png")
    image.save(png)
    pdf = FPDF(format=(size_mm, size_mm))
    pdf.add_page()
    pdf.image(str(png), x=0, y=0, w=size_mm, h=size_mm)
    if text:
        pdf.add_font("DejaVu", "", str(FONT))
        pdf.set_font("DejaVu", size=10)
        pdf.text_mode = TextMode.INVISIBLE
        pdf.text(10, 20, "Văn bản nhận dạng")
    pdf.output(str(path))
    return path


@needs_font
def test_text_layer_and_dpi_estimation(tmp_path: Path) -> None:
    image_only = textlayer.analyse_file(_scan(tmp_path / "a.pdf", 150, text=False))
    assert image_only.pages_without_text == [1]
    assert image_only.min_dpi == pytest.approx(150, rel=0.02)
    assert image_only.low_dpi_pages(200) == [1]
    two_layers = textlayer.analyse_file(_scan(tmp_path / "b.pdf", 300, text=True))
    assert two_layers.pages_without_text == [] and two_layers.low_dpi_pages(300) == []
    assert two_layers.min_dpi == pytest.approx(300, rel=0.02)
    born_digital = textlayer.analyse_file(_born_digital(tmp_path / "c.pdf"))
    assert born_digital.scanned_pages == [] and born_digital.min_dpi is None


# --- the ingest check -------------------------------------------------------------------------------


def _package(files: dict[str, tuple[Path, Document]]) -> tuple[ParsedPackage, dict[str, ObservedFile]]:
    documents = [doc for _, doc in files.values()]
    pkg = ParsedPackage(PackageKind.BAGIT_C02, "goi", dossiers=[Dossier(documents=documents)])
    pdf = FormatId(mime="application/pdf", name="PDF")
    observed = {
        name: ObservedFile(name, path.stat().st_size, {"sha256": sha256_of(path)}, pdf, str(path))
        for name, (path, _) in files.items()
    }
    return pkg, observed


@needs_font
def test_check_pdfa_findings_and_events(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    scan = _scan(tmp_path / "map.pdf", 200, text=False)
    plain = _born_digital(tmp_path / "letter.pdf")
    archival = _pdfa(tmp_path / "decision.pdf")
    files = {
        "data/files/map.pdf": (scan, Document(doc_id="D1", confidence_level="02", type_name="30",
                                              files=[FileRef("data/files/map.pdf")])),
        "data/files/letter.pdf": (plain, Document(doc_id="D2", confidence_level="01",
                                                  files=[FileRef("data/files/letter.pdf")])),
        "data/files/decision.pdf": (archival, Document(doc_id="D3", confidence_level="01",
                                                       files=[FileRef("data/files/decision.pdf")])),
    }
    pkg, observed = _package(files)
    ctx = CheckContext()
    settings = Settings(home=tmp_path, workers=2, pdfa=PdfaPolicy(non_pdfa_severity="error"))
    reports = check_pdfa(pkg, observed, ctx, settings, validator)
    assert set(reports) == set(files) and reports["data/files/decision.pdf"].verdict == "pass"
    by_code = {(f.code, f.path): f for f in ctx.findings}
    assert by_code[("CK-PDFA-NOT-PDFA", "data/files/letter.pdf")].severity is Severity.ERROR
    assert ("CK-PDFA-CONFORMS", "data/files/decision.pdf") in by_code
    assert "earchive-pdfa" in by_code[("CK-PDFA-CONFORMS", "data/files/decision.pdf")].message_en
    assert ("CK-PDFA-NO-TEXT-LAYER", "data/files/map.pdf") in by_code
    low = by_code[("CK-PDFA-LOW-DPI", "data/files/map.pdf")]
    assert "300" in low.message_vi and low.document == "D1"  # maps need 300 dpi
    assert ("CK-PDFA-NO-TEXT-LAYER", "data/files/letter.pdf") not in by_code  # born digital
    events = [e for e in ctx.events if e.event_type is EventType.VALIDATION]
    assert len(events) == 3 and {e.agent.name for e in events} == {"earchive-pdfa"}
    outcomes = {e.objects[0]: e.outcome for e in events}
    assert outcomes["data/files/decision.pdf"] is Outcome.SUCCESS
    assert outcomes["data/files/letter.pdf"] is Outcome.FAILURE


@needs_font
def test_check_pdfa_claimed_but_failing(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    path = _pdfa(tmp_path / "a.pdf")
    path.write_bytes(path.read_bytes() + b"junk after the end")
    pkg, observed = _package({"x.pdf": (path, Document(doc_id="D", files=[FileRef("x.pdf")]))})
    ctx = CheckContext()
    check_pdfa(pkg, observed, ctx, Settings(home=tmp_path, workers=1), validator)
    (finding,) = [f for f in ctx.findings if f.code == "CK-PDFA-NONCONFORMING"]
    assert finding.severity is Severity.WARNING and "6.1.3-3" in finding.message_en
    assert "PDF/A-2B" in finding.message_vi and "earchive-pdfa" in finding.message_vi


# --- preservation copies ----------------------------------------------------------------------------


def _text_of(path: Path) -> str:
    done = subprocess.run(["gs", "-q", "-sDEVICE=txtwrite", "-o", "-", str(path)], capture_output=True, check=True)
    return " ".join(done.stdout.decode("utf-8").split())


needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) is not installed")
needs_office = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")


@needs_font
@needs_gs
def test_copy_of_an_unsigned_pdf(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    source = _born_digital(tmp_path / "letter.pdf")
    before = sha256_of(source)
    result = make_preservation_copy(source, tmp_path / "copies", settings=Settings(home=tmp_path),
                                    validator=validator, package_path="data/files/letter.pdf")
    assert result is not None and result.status == "created" and result.copy is not None
    assert sha256_of(source) == before and result.source_sha256 == before
    assert result.copy.parent == tmp_path / "copies" and result.copy.name != source.name
    assert validator.validate(result.copy).verdict == "pass"
    assert validator.validate(result.copy).claimed == "2B"
    assert result.copy_sha256 == sha256_of(result.copy)
    assert "Việt Nam" in _text_of(result.copy) and "Quyết định" in _text_of(result.copy)
    assert result.event is not None and result.event.event_type is EventType.MIGRATION
    assert before in result.event.outcome_detail and result.copy_sha256 in result.event.outcome_detail
    assert result.event.agent.name == "pikepdf" and result.findings[0].code == "CK-PDFA-COPY-CREATED"
    # an archival PDF/A needs no copy
    assert make_preservation_copy(result.copy, tmp_path / "again", settings=Settings(home=tmp_path),
                                  validator=validator) is None


@needs_gs
def test_a_signed_pdf_is_never_converted(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    signed = corpus_dir("pyhanko-test-data") / "pdf" / "certified-with-indirect-refs-in-dir.pdf"
    source = tmp_path / "signed.pdf"
    shutil.copyfile(signed, source)
    before = sha256_of(source)
    result = make_preservation_copy(source, tmp_path / "copies", settings=Settings(home=tmp_path),
                                    validator=validator)
    assert result is not None and result.status == "skipped" and result.copy is None
    assert result.findings[0].code == "CK-PDFA-COPY-SIGNED" and result.findings[0].severity is Severity.INFO
    assert sha256_of(source) == before
    assert not (tmp_path / "copies").exists() or not any((tmp_path / "copies").iterdir())


def test_formats_without_a_converter_get_no_copy(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    assert make_preservation_copy(photo, tmp_path / "c", settings=Settings(home=tmp_path), validator=validator) is None


@pytest.fixture(scope="module")
def office_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("office")
    text = folder / "to-trinh.txt"
    text.write_text(VIETNAMESE + "\n", "utf-8")
    sources = {"txt": text}
    soffice = shutil.which("soffice")
    if soffice is None:
        return sources
    profile = (folder / "profile").as_uri()
    for target in ("docx", "odt"):
        subprocess.run(
            [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
             "--outdir", str(folder / target), str(text)],
            capture_output=True, timeout=180, check=True,
        )
        sources[target] = folder / target / f"to-trinh.{target}"
    return sources


@needs_office
@needs_gs
@pytest.mark.parametrize("kind", ["txt", "docx", "odt"])
def test_copy_of_office_documents_keeps_vietnamese_text(
    kind: str, office_sources: dict[str, Path], tmp_path: Path, validator: BuiltinPdfaValidator
) -> None:
    source = office_sources[kind]
    before = sha256_of(source)
    result = make_preservation_copy(source, tmp_path, settings=Settings(home=tmp_path), validator=validator)
    assert result is not None and result.status == "created", result and result.reason
    assert result.copy is not None and result.tool.startswith("LibreOffice")
    assert sha256_of(source) == before
    assert validator.validate(result.copy).verdict == "pass"
    text = _text_of(result.copy)
    assert "Cộng hòa xã hội chủ nghĩa Việt Nam" in text and "Hạnh phúc" in text
    with pikepdf.open(result.copy) as pdf:
        fonts = {str(f.get("/BaseFont")) for page in pdf.pages for f in page.resources.get("/Font", {}).values()}
    assert fonts and all("DejaVu" in name for name in fonts), fonts


@needs_font
@pytest.mark.skipif(shutil.which("ocrmypdf") is None or shutil.which("tesseract") is None,
                    reason="OCRmyPDF / Tesseract (tesseract-ocr-vie) are not installed")
def test_ocr_gives_a_digitised_document_its_text_layer(tmp_path: Path, validator: BuiltinPdfaValidator) -> None:
    image = Image.new("L", (1654, 500), 255)
    font = ImageFont.truetype(str(FONT), 56)
    ImageDraw.Draw(image).text((60, 100), "Cộng hòa xã hội chủ nghĩa Việt Nam", font=font, fill=0)
    image.save(tmp_path / "scan.png", dpi=(200, 200))
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(tmp_path / "scan.png"), x=0, y=0, w=210)
    pdf.output(str(tmp_path / "scan.pdf"))
    settings = Settings(home=tmp_path, pdfa=PdfaPolicy(ocr=True))
    result = make_preservation_copy(tmp_path / "scan.pdf", tmp_path / "out", settings=settings,
                                    validator=validator, digitised=True)
    assert result is not None and result.status == "created" and result.copy is not None
    assert result.tool.startswith("OCRmyPDF")
    assert textlayer.analyse_file(result.copy).pages_without_text == []
    assert "Việt Nam" in _text_of(result.copy)


def test_source_change_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "note.txt"
    source.write_text("x", "utf-8")
    digests = iter(["a" * 64, "b" * 64])
    monkeypatch.setattr(migration, "sha256_of", lambda path: next(digests))
    monkeypatch.setattr(migration, "_attempt", lambda *args: migration.MigrationResult("failed", source, "a" * 64))
    with pytest.raises(migration.SourceChanged):
        make_preservation_copy(source, tmp_path / "c", settings=Settings(home=tmp_path),
                               validator=BuiltinPdfaValidator())
