"""R-CK-4 signature validation against a test PKI shaped like the government PKI."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from archive_core.findings import CheckContext, Severity
from archive_core.model import Document, Dossier, FileRef
from archive_core.premis import EventType
from archive_core.settings import Settings, SignaturePolicy
from archive_core.timeutil import VN_TZ
from ingest.package import FormatId, ObservedFile, PackageKind, ParsedPackage
from ingest.pdfsig import SignatureValidator, TrustStore
from ingest.pdfsig.check import check_signatures
from ingest.pdfsig.cli import signatures_json
from ingest.pdfsig.results import FileSignatures, SignatureResult
from ingest.pdfsig.testpki import (
    DEFAULT_SIGNING_TIME,
    TestPki,
    build_test_pki,
    embed_revocation_data,
    make_sample_pdf,
    sign_pdf,
)

AT = datetime(2026, 6, 1, 9, 0, tzinfo=VN_TZ)
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">'
    b"Quyet dinh da sua</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return build_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def pki_urls(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return build_test_pki(tmp_path_factory.mktemp("pki-urls"), revocation_urls=True)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(scope="module")
def sample(work: Path) -> Path:
    return make_sample_pdf(work / "quyet-dinh.pdf")


@pytest.fixture(scope="module")
def signed(pki: TestPki, sample: Path, work: Path) -> Path:
    out = work / "signed-person.pdf"
    sign_pdf(sample, out, pki.signer("person"), reason="Phê duyệt quyết định", location="Buôn Ma Thuột, Đắk Lắk")
    return out


def make_validator(tmp: Path, trust_dir: Path, **policy: Any) -> SignatureValidator:
    options: dict[str, Any] = {"fetch_revocation": False, **policy}
    settings = Settings(home=tmp / "home", workers=2, signatures=SignaturePolicy(trust_dir=trust_dir, **options))
    return SignatureValidator(settings)


@pytest.fixture(scope="module")
def validator(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> SignatureValidator:
    return make_validator(tmp_path_factory.mktemp("v"), pki.anchors_dir)


def only(result: FileSignatures) -> SignatureResult:
    assert len(result.signatures) == 1, result.to_dict()
    return result.signatures[0]


def codes(sig: SignatureResult) -> set[str]:
    return {r.code for r in sig.reasons}


def incremental(src: Path, dst: Path, change: Callable[[Any], None]) -> Path:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    shutil.copy(src, dst)
    with dst.open("r+b") as stream:
        writer = IncrementalPdfFileWriter(stream, strict=False)
        change(writer)
        writer.write_in_place()  # type: ignore[no-untyped-call]
    return dst


def replace_xmp(writer: Any) -> None:
    """Point /Metadata at a new XMP packet (a MetadataStream, so pyHanko's writer keeps its content)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream

    stream = MetadataStream(
        {generic.NameObject("/Type"): generic.NameObject("/Metadata"),
         generic.NameObject("/Subtype"): generic.NameObject("/XML")},
        stream_data=XMP,
    )
    writer.root[generic.NameObject("/Metadata")] = writer.add_object(stream)
    writer.update_root()


def retitle(writer: Any) -> None:
    writer.document_meta.title = "Quyết định đã sửa"  # pyHanko writes it to /Info (and XMP when present)


def replace_page_content(writer: Any) -> None:
    from pyhanko.pdf_utils import generic

    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.NameObject("/Contents")] = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    writer.update_container(page)


# ---------------------------------------------------------------- valid signatures


def test_signed_vietnamese_pdf_is_valid_and_trusted(validator: SignatureValidator, signed: Path) -> None:
    result = validator.validate_file(signed, at=AT)
    sig = only(result)
    assert result.readable and result.signed
    assert result.sha256 == hashlib.sha256(signed.read_bytes()).hexdigest()
    assert result.size == signed.stat().st_size
    assert (sig.status.value, sig.intact, sig.valid, sig.trusted) == ("valid", True, True, True)
    assert (sig.coverage.value, sig.modification.value) == ("entire_file", "none")
    assert sig.signer is not None
    assert sig.signer.common_name == "Nguyễn Văn A"
    assert sig.signer.position == "Chánh Văn phòng"
    assert sig.signer.organisation == "UBND tỉnh Đắk Lắk"
    assert sig.signing_time == "2026-03-16T16:30:00+07:00"
    assert sig.signing_time_source == "claimed" and "signing_time_claimed" in codes(sig)
    assert [c.trust_anchor for c in sig.chain] == [False, False, True]
    assert sig.chain[2].subject.startswith("CN=RootCA chuyên dùng Chính phủ G2 (TEST)")
    assert sig.chain[1].subject.startswith("CN=CA phục vụ các cơ quan Nhà nước (TEST)")
    assert all(len(c.sha256) == 64 for c in sig.chain)
    assert (sig.key_algorithm, sig.key_bits, sig.digest_algorithm) == ("rsa", 2048, "sha256")
    assert sig.message_vi.startswith("Chữ ký số của Nguyễn Văn A (Chánh Văn phòng, UBND tỉnh Đắk Lắk)")
    info = sig.signature_information["signature"]
    assert info["signatureMethod"] and info["signatureValue"].startswith("sha256:")
    assert info["keyInformation"]["keyBits"] == 2048
    json.dumps(result.to_dict(), ensure_ascii=False)


def test_vietnamese_text_round_trips_in_nfc(validator: SignatureValidator, signed: Path) -> None:
    sig = only(validator.validate_file(signed, at=AT))
    assert sig.signer is not None
    texts = [sig.signer.common_name, sig.signer.position, sig.signer.organisation, sig.signer.province,
             sig.reason_text, sig.location, sig.message_vi, sig.signer.subject]
    for text in texts:
        assert text is not None and unicodedata.is_normalized("NFC", text)
    assert sig.reason_text == "Phê duyệt quyết định"
    assert sig.location == "Buôn Ma Thuột, Đắk Lắk"
    assert sig.signer.province == "Đắk Lắk"
    dumped = json.dumps(sig.to_dict(), ensure_ascii=False)
    assert "Nguyễn Văn A" in dumped and "Chánh Văn phòng" in dumped


def test_unsigned_pdf_is_reported_as_reference_only(validator: SignatureValidator, sample: Path) -> None:
    result = validator.validate_file(sample, at=AT)
    assert result.readable and not result.signed and result.signatures == []
    assert "chỉ có giá trị tham khảo" in result.message_vi
    assert result.to_dict()["status"] is None


def test_second_signature_keeps_the_first_valid(validator: SignatureValidator, pki: TestPki, signed: Path,
                                                 work: Path) -> None:
    twice = work / "signed-twice.pdf"
    sign_pdf(signed, twice, pki.signer("org"), reason="Đóng dấu cơ quan", location="Đắk Lắk")
    result = validator.validate_file(twice, at=AT)
    first, second = result.signatures
    assert first.signer is not None and first.signer.common_name == "Nguyễn Văn A"
    assert (first.status.value, first.coverage.value, first.modification.value) == (
        "valid", "entire_revision", "allowed_updates")
    assert second.signer is not None and second.signer.common_name == "UBND tỉnh Đắk Lắk"
    assert (second.status.value, second.coverage.value, second.modification.value) == (
        "valid", "entire_file", "none")


def test_dss_update_is_allowed_and_gives_revocation_status(validator: SignatureValidator, pki: TestPki,
                                                           signed: Path, work: Path) -> None:
    with_dss = work / "signed-dss.pdf"
    embed_revocation_data(signed, with_dss, crls=[pki.crl_path])
    sig = only(validator.validate_file(with_dss, at=AT))
    assert (sig.status.value, sig.modification.value) == ("valid", "allowed_updates")
    assert (sig.revocation.value, sig.revocation_source) == ("good", "embedded")


def test_ecdsa_p256_signer(pki: TestPki, sample: Path, work: Path, tmp_path: Path) -> None:
    out = work / "signed-ecdsa.pdf"
    sign_pdf(sample, out, pki.signer("ecdsa"), reason="Ký duyệt", location="Đắk Lắk")
    sig = only(make_validator(tmp_path, pki.anchors_dir).validate_file(out, at=AT))
    assert (sig.status.value, sig.key_algorithm, sig.key_bits) == ("valid", "ec", 256)
    stricter = only(make_validator(tmp_path, pki.anchors_dir, min_ec_bits=384).validate_file(out, at=AT))
    assert stricter.status.value == "invalid" and "weak_key" in codes(stricter)


# ---------------------------------------------------------------- changes after signing


@pytest.mark.parametrize("tail", [b"% hidden\n", b"X" * 5000, b"garbage\n%%EOF\n"], ids=["short", "long", "fake-eof"])
def test_bytes_appended_after_signing_are_a_modification(validator: SignatureValidator, signed: Path,
                                                         tmp_path: Path, tail: bytes) -> None:
    tampered = tmp_path / "appended.pdf"
    tampered.write_bytes(signed.read_bytes() + tail)
    result = validator.validate_file(tampered, at=AT)
    sig = only(result)
    assert result.trailing_bytes >= len(tail) - 1
    assert sig.intact  # the signed bytes themselves are untouched
    assert (sig.status.value, sig.modification.value) == ("invalid", "modified")
    assert sig.coverage.value != "entire_file"
    assert "appended_bytes" in codes(sig)


def test_metadata_update_after_signing_is_modified_although_pyhanko_accepts_it(
    validator: SignatureValidator, signed: Path, tmp_path: Path
) -> None:
    tampered = incremental(signed, tmp_path / "xmp.pdf", replace_xmp)
    assert b"Quyet dinh da sua" in tampered.read_bytes()  # the new description really is in the file
    sig = only(validator.validate_file(tampered, at=AT))
    assert (sig.status.value, sig.modification.value) == ("invalid", "modified")
    assert "metadata_changed" in codes(sig)
    assert pyhanko_default_accepts(tampered)


def pyhanko_default_accepts(path: Path) -> bool:
    """pyHanko's own default policy: the strictness above is ours, not the library's."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel

    with path.open("rb") as stream:
        reader = PdfFileReader(stream, strict=False)
        embedded = reader.embedded_signatures[0]
        outcome = DEFAULT_DIFF_POLICY.review_file(reader, embedded.signed_revision)
    return isinstance(outcome, DiffResult) and outcome.modification_level <= ModificationLevel.LTA_UPDATES


def test_info_dictionary_update_after_signing_is_modified(validator: SignatureValidator, signed: Path,
                                                          tmp_path: Path) -> None:
    tampered = incremental(signed, tmp_path / "info.pdf", retitle)
    sig = only(validator.validate_file(tampered, at=AT))
    assert (sig.status.value, sig.modification.value) == ("invalid", "modified")
    changed = [r for r in sig.reasons if r.code == "metadata_changed"]
    assert changed and "/Title" in changed[0].detail
    assert pyhanko_default_accepts(tampered)


def test_xmp_bookkeeping_is_allowed_but_xmp_description_is_not(validator: SignatureValidator, pki: TestPki,
                                                               sample: Path, tmp_path: Path) -> None:
    import pikepdf

    with_xmp = tmp_path / "xmp-base.pdf"
    with pikepdf.open(sample) as pdf:
        with pdf.open_metadata() as meta:
            meta["dc:title"] = "Quyết định phê duyệt"
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
        pdf.save(with_xmp)
    signed_xmp = tmp_path / "xmp-signed.pdf"
    sign_pdf(with_xmp, signed_xmp, pki.signer("person"), reason="Ký", location="Đắk Lắk")
    with_dss = tmp_path / "xmp-dss.pdf"
    embed_revocation_data(signed_xmp, with_dss, crls=[pki.crl_path])  # pyHanko also bumps ModDate/ModifyDate
    sig = only(validator.validate_file(with_dss, at=AT))
    assert (sig.status.value, sig.modification.value) == ("valid", "allowed_updates")
    retitled = incremental(signed_xmp, tmp_path / "xmp-retitled.pdf", retitle)
    changed = only(validator.validate_file(retitled, at=AT))
    assert changed.modification.value == "modified" and "metadata_changed" in codes(changed)


def test_content_change_after_signing_is_modified(validator: SignatureValidator, signed: Path,
                                                  tmp_path: Path) -> None:
    tampered = incremental(signed, tmp_path / "content.pdf", replace_page_content)
    sig = only(validator.validate_file(tampered, at=AT))
    assert (sig.status.value, sig.modification.value) == ("invalid", "modified")
    assert codes(sig) & {"modified_after_signing", "non_signature_update"}


def test_stray_bytes_between_revisions_are_reported(validator: SignatureValidator, pki: TestPki, signed: Path,
                                                    tmp_path: Path) -> None:
    padded = tmp_path / "padded.pdf"
    padded.write_bytes(signed.read_bytes() + b"junk between revisions\n")
    resigned = tmp_path / "resigned.pdf"
    sign_pdf(padded, resigned, pki.signer("org"), reason="Đóng dấu", location="Đắk Lắk")
    first, second = validator.validate_file(resigned, at=AT).signatures
    assert first.modification.value == "modified" and "appended_bytes" in codes(first)
    assert second.status.value == "valid"


def test_flipped_signed_byte_breaks_integrity(validator: SignatureValidator, signed: Path, tmp_path: Path) -> None:
    data = bytearray(signed.read_bytes())
    position = data.find(b"stream\n") + 40  # inside the first (compressed) stream of the signed revision
    assert 40 < position < len(data) // 2
    data[position] ^= 0x01
    broken = tmp_path / "flipped.pdf"
    broken.write_bytes(bytes(data))
    sig = only(validator.validate_file(broken, at=AT))
    assert not sig.intact and sig.status.value == "invalid" and "digest_mismatch" in codes(sig)


# ---------------------------------------------------------------- certificates and keys


def test_weak_rsa_1024_key_is_invalid(pki: TestPki, sample: Path, work: Path, tmp_path: Path) -> None:
    out = work / "signed-weak.pdf"
    sign_pdf(sample, out, pki.signer("weak"), reason="Ký thử", location="Đắk Lắk")
    sig = only(make_validator(tmp_path, pki.anchors_dir).validate_file(out, at=AT))
    assert sig.intact and sig.status.value == "invalid"
    weak = [r for r in sig.reasons if r.code == "weak_key"]
    assert weak and "1024" in weak[0].detail and "RSA ≥ 2048" in weak[0].message_vi
    lenient = only(make_validator(tmp_path, pki.anchors_dir, min_rsa_bits=1024).validate_file(out, at=AT))
    assert lenient.status.value == "valid"


def test_impostor_root_with_the_same_names_is_untrusted(pki: TestPki, sample: Path, work: Path,
                                                        validator: SignatureValidator, tmp_path: Path) -> None:
    out = work / "signed-impostor.pdf"
    sign_pdf(sample, out, pki.signer("untrusted"), reason="Giả mạo", location="?")
    sig = only(validator.validate_file(out, at=AT))
    assert sig.intact and sig.valid and not sig.trusted
    assert sig.status.value == "indeterminate" and "untrusted_chain" in codes(sig)
    # and the genuine signature is untrusted when only the impostor root is configured
    genuine = only(make_validator(tmp_path, pki.untrusted_anchors_dir).validate_file(work / "signed-person.pdf", at=AT))
    assert not genuine.trusted and "untrusted_chain" in codes(genuine)


def test_no_trust_anchors_configured(signed: Path, tmp_path: Path) -> None:
    sig = only(make_validator(tmp_path, tmp_path / "missing").validate_file(signed, at=AT))
    assert sig.status.value == "indeterminate" and sig.intact
    assert "untrusted_chain" in codes(sig)


def test_claimed_signing_time_inside_validity_survives_expiry(validator: SignatureValidator, signed: Path) -> None:
    later = datetime(2040, 1, 1, tzinfo=VN_TZ)  # the signer's certificate ended 2034-12-31
    sig = only(validator.validate_file(signed, at=later))
    assert sig.status.value == "valid" and sig.reference_time == "2026-03-16T16:30:00+07:00"
    assert "signing_time_claimed" in codes(sig)


def test_signing_after_certificate_expiry_is_indeterminate(validator: SignatureValidator, pki: TestPki,
                                                           sample: Path, tmp_path: Path) -> None:
    late = tmp_path / "late.pdf"
    sign_pdf(sample, late, pki.signer("expired"), reason="Ký muộn", location="Đắk Lắk")
    sig = only(validator.validate_file(late, at=AT))
    assert sig.status.value == "indeterminate" and "cert_expired" in codes(sig)
    in_time = tmp_path / "in-time.pdf"
    sign_pdf(sample, in_time, pki.signer("expired"), reason="Ký đúng hạn", location="Đắk Lắk",
             signing_time=datetime(2021, 6, 1, tzinfo=UTC))
    assert only(validator.validate_file(in_time, at=AT)).status.value == "valid"


def test_trusted_timestamp_fixes_the_signing_time(validator: SignatureValidator, pki: TestPki, sample: Path,
                                                  tmp_path: Path) -> None:
    stamped = tmp_path / "stamped.pdf"
    sign_pdf(sample, stamped, pki.signer("person"), reason="Ký có dấu thời gian", location="Đắk Lắk",
             timestamp=True)
    sig = only(validator.validate_file(stamped, at=datetime(2040, 1, 1, tzinfo=VN_TZ)))
    assert sig.status.value == "valid"
    assert sig.signing_time_source == "timestamp" and "signing_time_claimed" not in codes(sig)
    assert sig.timestamp is not None and sig.timestamp.trusted and sig.timestamp.time == "2026-03-16T16:30:00+07:00"


def test_revoked_certificate_from_embedded_crl(validator: SignatureValidator, pki: TestPki, sample: Path,
                                               tmp_path: Path) -> None:
    signed_revoked = tmp_path / "revoked.pdf"
    sign_pdf(sample, signed_revoked, pki.signer("revoked"), reason="Ký", location="Đắk Lắk")
    with_crl = tmp_path / "revoked-crl.pdf"
    embed_revocation_data(signed_revoked, with_crl, crls=[pki.crl_path])
    sig = only(validator.validate_file(with_crl, at=AT))
    assert sig.status.value == "invalid" and sig.revocation.value == "revoked" and "cert_revoked" in codes(sig)
    before_revocation = tmp_path / "revoked-early.pdf"
    sign_pdf(sample, before_revocation, pki.signer("revoked"), reason="Ký", location="Đắk Lắk",
             signing_time=datetime(2025, 1, 10, tzinfo=UTC))
    early = tmp_path / "revoked-early-crl.pdf"
    embed_revocation_data(before_revocation, early, crls=[pki.crl_path])
    assert only(validator.validate_file(early, at=AT)).revocation.value == "good"


def test_unreachable_revocation_service_is_unknown_and_fast(pki_urls: TestPki, sample: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "urls.pdf"
    sign_pdf(sample, out, pki_urls.signer("person"), reason="Ký", location="Đắk Lắk")
    soft = make_validator(tmp_path, pki_urls.anchors_dir, fetch_revocation=True, revocation_timeout_seconds=0.5)
    soft.warm_up()
    started = time.perf_counter()
    sig = only(soft.validate_file(out, at=AT))
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    assert sig.revocation.value == "unknown" and "revocation_unknown" in codes(sig)
    assert sig.status.value == "valid"  # soft mode: recorded, not fatal
    hard = make_validator(tmp_path, pki_urls.anchors_dir, fetch_revocation=True, revocation_timeout_seconds=0.5,
                          revocation_mode="hard")
    assert only(hard.validate_file(out, at=AT)).status.value == "indeterminate"


def test_validation_time_must_be_aware(validator: SignatureValidator, signed: Path) -> None:
    with pytest.raises(ValueError):
        validator.validate_file(signed, at=datetime(2026, 1, 1))


def test_garbage_is_a_coded_unreadable_result(validator: SignatureValidator, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\nthis is not a pdf at all\n")
    result = validator.validate_file(junk, at=AT)
    assert not result.readable and result.error is not None and result.error.code == "file_unreadable"
    assert result.status is not None and result.status.value == "indeterminate"


def test_threads_give_the_same_results(
    validator: SignatureValidator, work: Path, signed: Path, pki: TestPki, tmp_path: Path
) -> None:
    twice = tmp_path / "twice-signed.pdf"
    sign_pdf(signed, twice, pki.signer("org"), reason="Phê duyệt", location="Hà Nội")
    files = sorted({*work.glob("*.pdf"), twice})
    assert len(files) >= 3
    sequential = [validator.validate_file(f, at=AT).to_dict() for f in files]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda f: validator.validate_file(f, at=AT).to_dict(), files * 2))
    assert parallel == sequential * 2


def test_threads_on_a_fresh_validator_share_the_trust_anchors_safely(pki: TestPki, signed: Path,
                                                                      tmp_path: Path) -> None:
    """The first validations of a new validator run side by side on the same anchor objects.

    asn1crypto parses lazily; unparsed shared anchors made one of these threads fail now and
    then ("No field numbered 2 is present"). A tiny switch interval makes the race likely.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for round_ in range(60):
            validator = make_validator(tmp_path / str(round_), pki.anchors_dir)
            with ThreadPoolExecutor(max_workers=6) as pool:
                outcomes = list(pool.map(partial(validator.validate_file, at=AT), [signed] * 6))
            assert all(only(outcome).trusted for outcome in outcomes), round_
    finally:
        sys.setswitchinterval(interval)


# ---------------------------------------------------------------- trust store


def test_trust_store_reads_pem_der_bundles_and_skips_non_ca(pki: TestPki, tmp_path: Path) -> None:
    folder = tmp_path / "trust"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(pki.anchors_dir / "root-ca-test.pem", folder / "root.crt")
    shutil.copy(pki.anchors_dir / "ca-nha-nuoc-test.cer", folder / "sub" / "intermediate.cer")
    (folder / "bundle.pem").write_bytes((pki.anchors_dir / "root-ca-test.pem").read_bytes()
                                        + pki.signer("person").cert_path.read_bytes())
    (folder / "notes.txt").write_text("bỏ qua", encoding="utf-8")
    store = TrustStore.from_folder(folder)
    assert len(store.anchors) == 1 and len(store.intermediates) == 1
    assert store.anchors[0].subject.startswith("CN=RootCA chuyên dùng Chính phủ G2 (TEST),O=Ban Cơ yếu")
    assert len(store.anchors[0].sha256) == 64 and store.anchors[0].sha256.isupper()
    assert len(store.problems) == 1 and "Nguyễn Văn A" in store.problems[0]
    assert store.fingerprint == TrustStore.from_folder(pki.anchors_dir).fingerprint
    assert TrustStore.from_folder(tmp_path / "absent").is_empty


# ---------------------------------------------------------------- gate check and CLI


def observed_pdf(path: str, staged: Path) -> ObservedFile:
    data = staged.read_bytes()
    return ObservedFile(
        path=path, size=len(data), checksums={"sha256": hashlib.sha256(data).hexdigest()},
        format=FormatId(mime="application/pdf", name="PDF"), staged_path=str(staged),
    )


def test_check_signatures_reports_findings_and_premis_events(pki: TestPki, signed: Path, sample: Path,
                                                             tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(signed.read_bytes() + b"% appended\n")
    files = {"data/files/signed.pdf": signed, "data/files/unsigned.pdf": sample, "data/files/tampered.pdf": tampered}
    keys = {"data/files/signed.pdf": "DOC-SIGNED", "data/files/unsigned.pdf": "DOC-UNSIGNED",
            "data/files/tampered.pdf": "DOC-TAMPERED"}
    documents = [Document(doc_id=keys[path], files=[FileRef(path=path)]) for path in files]
    documents.append(Document(doc_id="DOC-TXT", files=[FileRef(path="data/files/note.txt")]))
    pkg = ParsedPackage(kind=PackageKind.BAGIT_C02, name="bag", dossiers=[Dossier(documents=documents)])
    observed = {path: observed_pdf(path, local) for path, local in files.items()}
    observed["data/files/note.txt"] = ObservedFile(path="data/files/note.txt", size=1, checksums={})
    settings = Settings(home=tmp_path / "home", workers=2,
                        signatures=SignaturePolicy(trust_dir=pki.anchors_dir, fetch_revocation=False))
    ctx = CheckContext()
    results = check_signatures(pkg, observed, ctx, settings, SignatureValidator(settings), at=AT)

    assert sorted(results) == sorted(files)
    by_code = {(f.code, f.path): f for f in ctx.findings}
    assert by_code[("CK-SIG-VALID", "data/files/signed.pdf")].severity is Severity.INFO
    unsigned = by_code[("CK-SIG-UNSIGNED", "data/files/unsigned.pdf")]
    assert unsigned.severity is Severity.INFO and "chỉ có giá trị tham khảo" in unsigned.message_vi
    modified = by_code[("CK-SIG-MODIFIED", "data/files/tampered.pdf")]
    assert modified.severity is Severity.ERROR and modified.rule == "R-CK-4"
    assert "Nguyễn Văn A" in modified.message_vi and "appended" in modified.message_en
    assert modified.document == "DOC-TAMPERED"
    assert all("{" not in f.message_vi and "{" not in f.message_en for f in ctx.findings)

    events = [e for e in ctx.events if e.event_type is EventType.DIGITAL_SIGNATURE_VALIDATION]
    assert len(events) == 3  # one per document that has a PDF
    detail = json.loads(next(e for e in events if e.objects == ("data/files/signed.pdf",)).outcome_detail)
    info = detail["files"][0]["signatureInformation"][0]["signature"]
    assert info["signer"].startswith("CN=Nguyễn Văn A") or "Nguyễn Văn A" in info["signer"]
    assert {e.outcome.value for e in events} == {"success", "failure"}


def test_check_signatures_uses_policy_severities(pki: TestPki, sample: Path, tmp_path: Path) -> None:
    pkg = ParsedPackage(kind=PackageKind.BAGIT_C02, name="bag",
                        dossiers=[Dossier(documents=[Document(doc_id="D1", files=[FileRef(path="a.pdf")])])])
    settings = Settings(home=tmp_path / "home", workers=1,
                        signatures=SignaturePolicy(trust_dir=pki.anchors_dir, unsigned_severity="error"))
    ctx = CheckContext()
    check_signatures(pkg, {"a.pdf": observed_pdf("a.pdf", sample)}, ctx, settings, SignatureValidator(settings))
    assert [(f.code, f.severity) for f in ctx.findings] == [("CK-SIG-UNSIGNED", Severity.ERROR)]
    assert ctx.events[0].outcome.value == "failure"


def test_signatures_json_for_the_cli(pki: TestPki, signed: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", signatures=SignaturePolicy(fetch_revocation=False))
    report = signatures_json(signed, at=AT, trust_dir=pki.anchors_dir, settings=settings)
    json.dumps(report, ensure_ascii=False)
    assert report["file"] == str(signed) and len(report["sha256"]) == 64
    (entry,) = report["signatures"]
    assert {k: entry[k] for k in ("status", "intact", "trusted", "coverage", "modification")} == {
        "status": "valid", "intact": True, "trusted": True, "coverage": "entire_file", "modification": "none"}
    assert (entry["signer"], entry["organisation"], entry["position"]) == (
        "Nguyễn Văn A", "UBND tỉnh Đắk Lắk", "Chánh Văn phòng")
    assert entry["signing_time"] == "2026-03-16T16:30:00+07:00" and "signing_time_claimed" in entry["reasons"]
    assert entry["message_vi"].startswith("Chữ ký số của Nguyễn Văn A")
    untrusted = signatures_json(signed, at=AT, trust_dir=tmp_path / "none", settings=settings)
    assert untrusted["signatures"][0]["trusted"] is False


def test_default_signing_time_is_inside_signer_validity() -> None:
    assert datetime(2024, 1, 1, tzinfo=UTC) < DEFAULT_SIGNING_TIME < datetime(2034, 12, 31, tzinfo=UTC)


def test_process_pool_validator_matches_in_process_results(validator: SignatureValidator, pki: TestPki,
                                                           signed: Path, sample: Path, tmp_path: Path) -> None:
    from ingest.pdfsig.pool import ProcessPoolValidator

    files = [signed, sample]
    expected = [validator.validate_file(f, at=AT).to_dict() for f in files]
    settings = Settings(home=tmp_path / "home", workers=2,
                        signatures=SignaturePolicy(trust_dir=pki.anchors_dir, fetch_revocation=False))
    with ProcessPoolValidator(settings) as pool, ThreadPoolExecutor(max_workers=2) as threads:
        got = list(threads.map(lambda f: pool.validate_file(f, at=AT).to_dict(), files))
    assert got == expected


def test_every_code_and_reason_has_both_languages_in_nfc() -> None:
    from archive_core.findings import registry
    from ingest.pdfsig.results import REASONS, Effect, Status

    kinds = {code: kind for code, kind in registry().items() if code.startswith("CK-SIG-")}
    assert len(kinds) == 9
    for kind in kinds.values():
        assert kind.rule == "R-CK-4" and kind.message_vi and kind.message_en
        assert unicodedata.is_normalized("NFC", kind.message_vi)
        assert {"path"} <= kind.placeholders
    assert len(REASONS) >= 30
    for reason_kind in REASONS.values():
        reason = reason_kind("chi tiết")
        assert reason.message_vi and reason.message_en and "{" not in reason.message_vi + reason.message_en
        assert unicodedata.is_normalized("NFC", reason.message_vi)
        assert reason.effect in set(Effect)
    assert {s.label_vi for s in Status} == {"hợp lệ", "không hợp lệ", "chưa xác định được tính hợp lệ"}


def test_signing_survives_a_stale_asn1crypto_oid_table(pki: TestPki, sample: Path, tmp_path: Path,
                                                       validator: SignatureValidator) -> None:
    """Another module may name an OID before pyHanko registered its own (seen in the full suite)."""
    from asn1crypto import cms  # type: ignore[import-untyped]

    cms.ContentType("data")  # make sure the name table exists, then make it stale
    assert cms.ContentType._reverse_map is not None
    cms.ContentType._reverse_map.pop("tst_info", None)
    out = tmp_path / "stale.pdf"
    sign_pdf(sample, out, pki.signer("person"), reason="Ký", location="Đắk Lắk", timestamp=True)
    assert only(validator.validate_file(out, at=AT)).signing_time_source == "timestamp"


def test_position_comes_from_title_or_a_position_like_ou() -> None:
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from ingest.pdfsig.engine import _signer

    def certificate(*attributes: tuple[x509.ObjectIdentifier, str]) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
                .not_valid_after(datetime(2026, 1, 1, tzinfo=UTC)).sign(key, hashes.SHA256()))
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    in_ou = _signer(certificate((NameOID.COMMON_NAME, "Lê Thị Cúc"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "Giám đốc"),
                                (NameOID.ORGANIZATION_NAME, "Sở Tư pháp")))
    assert (in_ou.position, in_ou.position_source) == ("Giám đốc", "organisational_unit")
    department = _signer(certificate((NameOID.COMMON_NAME, "Lê Thị Cúc"),
                                     (NameOID.ORGANIZATIONAL_UNIT_NAME, "Phòng Tổ chức")))
    assert department.position is None and department.organisational_unit == "Phòng Tổ chức"
    titled = _signer(certificate((NameOID.COMMON_NAME, "Lê Thị Cúc"), (NameOID.TITLE, "Phó Chánh Văn phòng"),
                                 (NameOID.ORGANIZATIONAL_UNIT_NAME, "Giám đốc")))
    assert (titled.position, titled.position_source) == ("Phó Chánh Văn phòng", "title")
