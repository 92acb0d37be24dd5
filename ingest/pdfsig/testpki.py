"""A throw-away PKI shaped like the Vietnamese government PKI, and a PDF signer for tests.

The hierarchy mirrors Ban Cơ yếu Chính phủ's: a self-signed root ("RootCA chuyên dùng
Chính phủ G2 (TEST)") → one intermediate ("CA phục vụ các cơ quan Nhà nước (TEST)") →
end-entity certificates for an organisation and for people (with their position in the
`title` attribute, as Vietnamese certificates carry it). Every name is marked "(TEST)":
nothing here is, or imitates the key of, a real authority.

Usage (tests and the test-data generator)::

    pki = ensure_test_pki(folder)                 # builds once, reloads afterwards
    sign_pdf(src, dst, pki.signer("person"), reason="Phê duyệt", location="Đắk Lắk")
    settings.signatures.trust_dir = pki.anchors_dir

Signers (labels): `org` (UBND tỉnh Đắk Lắk), `person` (Nguyễn Văn A, Chánh Văn phòng),
`ecdsa` (P-256), `weak` (RSA-1024, for negative tests), `expired` (valid 2020–2021),
`revoked` (listed on the intermediate's CRL in `crl_path`), `untrusted` (same names as the
real chain but issued by an impostor root that is not among the anchors).

Validity windows are fixed (not relative to today) so a test can judge a signature at a
chosen time; keys are random. Private keys are unencrypted PKCS#8 PEM and PKCS#12 files
without a password: test material only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

ROOT_CN = "RootCA chuyên dùng Chính phủ G2 (TEST)"
INTERMEDIATE_CN = "CA phục vụ các cơ quan Nhà nước (TEST)"
CA_ORGANISATION = "Ban Cơ yếu Chính phủ (TEST)"
TSA_CN = "Dịch vụ cấp dấu thời gian (TEST)"

CA_VALIDITY = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2045, 12, 31, 23, 59, 59, tzinfo=UTC))
SIGNER_VALIDITY = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2034, 12, 31, 23, 59, 59, tzinfo=UTC))
EXPIRED_VALIDITY = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC))
REVOKED_AT = datetime(2025, 6, 1, tzinfo=UTC)
CRL_WINDOW = (datetime(2025, 6, 2, tzinfo=UTC), datetime(2044, 1, 1, tzinfo=UTC))

DEFAULT_SIGNING_TIME = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
"""A signing time inside every live signer's validity (16/3/2026 16:30 giờ Việt Nam)."""

MANIFEST = "pki.json"
FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class TestSigner:
    """Key material of one test signer, as files in the PKI folder."""

    __test__ = False  # not a pytest test class

    label: str
    common_name: str
    cert_path: Path
    key_path: Path
    p12_path: Path
    chain_paths: tuple[Path, ...]
    """Issuer certificates, nearest first (intermediate, then root)."""
    tsa_cert_path: Path
    tsa_key_path: Path


@dataclass(frozen=True)
class TestPki:
    __test__ = False

    folder: Path
    anchors_dir: Path
    """Trust anchors folder (root + intermediate) for `SignaturePolicy.trust_dir`."""
    untrusted_anchors_dir: Path
    """The impostor root and intermediate (for tests that trust the wrong root)."""
    crl_path: Path
    """DER CRL of the intermediate, listing the `revoked` signer."""
    revocation_urls: bool
    signers: dict[str, TestSigner]

    def signer(self, label: str) -> TestSigner:
        try:
            return self.signers[label]
        except KeyError:
            raise KeyError(f"no test signer {label!r}; have {sorted(self.signers)}") from None


@dataclass
class _Issued:
    cert: x509.Certificate
    key: Any


def _name(attributes: Iterable[tuple[x509.ObjectIdentifier, str]]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _ca_name(common_name: str) -> x509.Name:
    return _name(
        [
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, CA_ORGANISATION),
            (NameOID.COMMON_NAME, common_name),
        ]
    )


def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _issue(
    subject: x509.Name,
    key: Any,
    issuer: _Issued | None,
    serial: int,
    validity: tuple[datetime, datetime],
    *,
    ca: bool,
    path_length: int | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    urls: tuple[str, str] | None = None,
) -> _Issued:
    issuer_name = issuer.cert.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=eku is None, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False,
        )
    builder = builder.add_extension(usage, critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if urls is not None:
        ocsp_url, crl_url = urls
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                        x509.UniformResourceIdentifier(ocsp_url))]
            ),
            critical=False,
        ).add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    return _Issued(cert, key)


def _signer_names() -> dict[str, x509.Name]:
    province = "Đắk Lắk"
    ubnd = "UBND tỉnh Đắk Lắk"
    return {
        "org": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.STATE_OR_PROVINCE_NAME, province),
            (NameOID.LOCALITY_NAME, "Buôn Ma Thuột"), (NameOID.ORGANIZATION_NAME, ubnd),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Văn phòng UBND tỉnh"), (NameOID.COMMON_NAME, ubnd),
        ]),
        "person": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.STATE_OR_PROVINCE_NAME, province),
            (NameOID.ORGANIZATION_NAME, ubnd), (NameOID.ORGANIZATIONAL_UNIT_NAME, "Văn phòng UBND tỉnh"),
            (NameOID.TITLE, "Chánh Văn phòng"), (NameOID.COMMON_NAME, "Nguyễn Văn A"),
        ]),
        "ecdsa": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.STATE_OR_PROVINCE_NAME, province),
            (NameOID.ORGANIZATION_NAME, "Sở Nội vụ tỉnh Đắk Lắk"), (NameOID.TITLE, "Phó Giám đốc"),
            (NameOID.COMMON_NAME, "Trần Thị Bình"),
        ]),
        "weak": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, ubnd),
            (NameOID.COMMON_NAME, "Lê Văn Yếu"),
        ]),
        "expired": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, ubnd),
            (NameOID.TITLE, "Chuyên viên"), (NameOID.COMMON_NAME, "Phạm Thị Hết Hạn"),
        ]),
        "revoked": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, ubnd),
            (NameOID.TITLE, "Chuyên viên"), (NameOID.COMMON_NAME, "Hoàng Văn Thu Hồi"),
        ]),
        "untrusted": _name([
            (NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, ubnd),
            (NameOID.TITLE, "Chánh Văn phòng"), (NameOID.COMMON_NAME, "Nguyễn Văn A"),
        ]),
    }


def build_test_pki(folder: Path, *, revocation_urls: bool = False, closed_port: int = 9) -> TestPki:
    """Create the PKI under `folder` (overwriting earlier material) and return it.

    With `revocation_urls`, the intermediate and every end-entity certificate carry an OCSP
    URL and a CRL distribution point on `127.0.0.1:closed_port` (nothing listens there, so a
    fetch fails at once with "connection refused").
    """
    folder.mkdir(parents=True, exist_ok=True)
    urls = (
        (f"http://127.0.0.1:{closed_port}/ocsp", f"http://127.0.0.1:{closed_port}/crl/ca-test.crl")
        if revocation_urls
        else None
    )
    root = _issue(_ca_name(ROOT_CN), _rsa(), None, 0x1001, CA_VALIDITY, ca=True)
    inter = _issue(_ca_name(INTERMEDIATE_CN), _rsa(), root, 0x2001, CA_VALIDITY, ca=True, path_length=0)
    fake_root = _issue(_ca_name(ROOT_CN), _rsa(), None, 0x1001, CA_VALIDITY, ca=True)
    fake_inter = _issue(_ca_name(INTERMEDIATE_CN), _rsa(), fake_root, 0x2001, CA_VALIDITY, ca=True, path_length=0)
    tsa = _issue(_ca_name(TSA_CN), _rsa(), inter, 0x3001, CA_VALIDITY, ca=False,
                 eku=[ExtendedKeyUsageOID.TIME_STAMPING])

    names = _signer_names()
    specs: dict[str, tuple[Any, _Issued, tuple[datetime, datetime]]] = {
        "org": (_rsa(), inter, SIGNER_VALIDITY),
        "person": (_rsa(), inter, SIGNER_VALIDITY),
        "ecdsa": (ec.generate_private_key(ec.SECP256R1()), inter, SIGNER_VALIDITY),
        "weak": (_rsa(1024), inter, SIGNER_VALIDITY),
        "expired": (_rsa(), inter, EXPIRED_VALIDITY),
        "revoked": (_rsa(), inter, SIGNER_VALIDITY),
        "untrusted": (_rsa(), fake_inter, SIGNER_VALIDITY),
    }
    anchors_dir = folder / "anchors"
    untrusted_dir = folder / "untrusted-anchors"
    _write_cert(anchors_dir / "root-ca-test.pem", root.cert)
    _write_cert(anchors_dir / "ca-nha-nuoc-test.cer", inter.cert, der=True)
    _write_cert(untrusted_dir / "root-ca-impostor.pem", fake_root.cert)
    _write_cert(untrusted_dir / "ca-impostor.pem", fake_inter.cert)
    tsa_cert, tsa_key = _write_credential(folder / "tsa", "tsa", tsa, [inter, root])

    signers: dict[str, TestSigner] = {}
    for serial, (label, (key, issuer, validity)) in enumerate(specs.items(), start=0x4001):
        issued = _issue(names[label], key, issuer, serial, validity, ca=False, urls=urls)
        chain = [fake_inter, fake_root] if issuer is fake_inter else [inter, root]
        cert_path, key_path = _write_credential(folder / "signers", label, issued, chain)
        chain_paths = []
        for index, ca in enumerate(chain):
            path = folder / "signers" / f"{label}.chain{index}.pem"
            _write_cert(path, ca.cert)
            chain_paths.append(path)
        common_name = names[label].get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        signers[label] = TestSigner(
            label=label,
            common_name=str(common_name),
            cert_path=cert_path,
            key_path=key_path,
            p12_path=folder / "signers" / f"{label}.p12",
            chain_paths=tuple(chain_paths),
            tsa_cert_path=tsa_cert,
            tsa_key_path=tsa_key,
        )

    crl_path = folder / "crl" / "ca-test.crl"
    _write_crl(crl_path, inter, [(specs["revoked"], signers["revoked"])])
    pki = TestPki(folder, anchors_dir, untrusted_dir, crl_path, revocation_urls, signers)
    _write_manifest(pki)
    return pki


def ensure_test_pki(folder: Path, *, revocation_urls: bool = False, closed_port: int = 9) -> TestPki:
    """Load the PKI in `folder` if it was built with the same options, else build it."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        pki = load_test_pki(folder)
        if pki.revocation_urls == revocation_urls and all(s.cert_path.is_file() for s in pki.signers.values()):
            return pki
    return build_test_pki(folder, revocation_urls=revocation_urls, closed_port=closed_port)


def load_test_pki(folder: Path) -> TestPki:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    signers = {
        label: TestSigner(
            label=label,
            common_name=entry["common_name"],
            cert_path=folder / entry["cert"],
            key_path=folder / entry["key"],
            p12_path=folder / entry["p12"],
            chain_paths=tuple(folder / p for p in entry["chain"]),
            tsa_cert_path=folder / entry["tsa_cert"],
            tsa_key_path=folder / entry["tsa_key"],
        )
        for label, entry in data["signers"].items()
    }
    return TestPki(
        folder=folder,
        anchors_dir=folder / data["anchors"],
        untrusted_anchors_dir=folder / data["untrusted_anchors"],
        crl_path=folder / data["crl"],
        revocation_urls=bool(data["revocation_urls"]),
        signers=signers,
    )


def _write_manifest(pki: TestPki) -> None:
    def rel(path: Path) -> str:
        return path.relative_to(pki.folder).as_posix()

    data = {
        "anchors": rel(pki.anchors_dir),
        "untrusted_anchors": rel(pki.untrusted_anchors_dir),
        "crl": rel(pki.crl_path),
        "revocation_urls": pki.revocation_urls,
        "signers": {
            label: {
                "common_name": s.common_name,
                "cert": rel(s.cert_path),
                "key": rel(s.key_path),
                "p12": rel(s.p12_path),
                "chain": [rel(p) for p in s.chain_paths],
                "tsa_cert": rel(s.tsa_cert_path),
                "tsa_key": rel(s.tsa_key_path),
            }
            for label, s in pki.signers.items()
        },
    }
    (pki.folder / MANIFEST).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_cert(path: Path, cert: x509.Certificate, *, der: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    path.write_bytes(cert.public_bytes(encoding))


def _write_credential(folder: Path, label: str, issued: _Issued, chain: list[_Issued]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path = folder / f"{label}.cert.pem"
    key_path = folder / f"{label}.key.pem"
    _write_cert(cert_path, issued.cert)
    key_path.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    p12 = pkcs12.serialize_key_and_certificates(
        label.encode(), issued.key, issued.cert, [c.cert for c in chain], serialization.NoEncryption()
    )
    (folder / f"{label}.p12").write_bytes(p12)
    return cert_path, key_path


def _write_crl(path: Path, issuer: _Issued, revoked: list[tuple[Any, TestSigner]]) -> None:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(CRL_WINDOW[0])
        .next_update(CRL_WINDOW[1])
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    )
    for _spec, signer in revoked:
        cert = x509.load_pem_x509_certificate(signer.cert_path.read_bytes())
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(REVOKED_AT)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    crl = builder.sign(issuer.key, hashes.SHA256())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crl.public_bytes(serialization.Encoding.DER))


# --------------------------------------------------------------------------- signing


def sign_pdf(
    src: Path,
    dst: Path,
    signer: TestSigner,
    *,
    reason: str,
    location: str,
    timestamp: bool = False,
    field_name: str | None = None,
    signing_time: datetime | None = None,
) -> None:
    """Sign `src` into `dst` as an incremental update (earlier signatures stay valid).

    `signer` comes from `TestPki.signer(label)`. `timestamp=True` adds a signature
    timestamp token from the PKI's test TSA. `field_name` defaults to a fresh
    `Signature<n>`. `signing_time` (default: `DEFAULT_SIGNING_TIME`, a fixed moment inside
    every live signer's validity) is the claimed signing time and the timestamp's time.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from ingest.pdfsig.speedups import refresh_oid_tables

    refresh_oid_tables()  # another module may have frozen asn1crypto's OID tables too early
    moment = signing_time or DEFAULT_SIGNING_TIME
    if moment.tzinfo is None:
        raise ValueError("signing_time must carry a time zone")
    cert, key = _load_pyhanko_credential(signer.cert_path, signer.key_path)
    chain = [_load_asn1_cert(p) for p in signer.chain_paths]
    signer_obj = signers.SimpleSigner(
        signing_cert=cert, signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
    )
    stamper = None
    if timestamp:
        tsa_cert, tsa_key = _load_pyhanko_credential(signer.tsa_cert_path, signer.tsa_key_path)
        stamper = timestamps.DummyTimeStamper(
            tsa_cert=tsa_cert, tsa_key=tsa_key,
            certs_to_embed=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
            fixed_dt=moment,
        )
    with src.open("rb") as inp:
        writer = IncrementalPdfFileWriter(inp, strict=False)
        name = field_name or _fresh_field_name(writer)
        meta = signers.PdfSignatureMetadata(
            field_name=name, reason=reason, location=location, md_algorithm="sha256",
            name=signer.common_name,
        )
        pdf_signer = _FixedTimePdfSigner(meta, signer_obj, timestamper=stamper,
                                         new_field_spec=fields.SigFieldSpec(sig_field_name=name))
        pdf_signer.fixed_time = moment
        dst.parent.mkdir(parents=True, exist_ok=True)
        with dst.open("wb") as out:
            pdf_signer.sign_pdf(writer, output=out)


def embed_revocation_data(src: Path, dst: Path, *, crls: Iterable[Path] = (), certs: Iterable[Path] = ()) -> None:
    """Append a DSS-only incremental update with the given DER CRLs and certificates."""
    from asn1crypto import crl as asn1_crl  # type: ignore[import-untyped]
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    crl_objs = [asn1_crl.CertificateList.load(p.read_bytes()) for p in crls]
    cert_objs = [_load_asn1_cert(p) for p in certs]
    data = src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as out:
        out.write(data)
    with dst.open("r+b") as out:
        writer = IncrementalPdfFileWriter(out, strict=False)
        DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=cert_objs, crls=crl_objs)
        writer.write_in_place()  # type: ignore[no-untyped-call]


def make_sample_pdf(path: Path, *, title: str = "QUYẾT ĐỊNH", lines: Iterable[str] = ()) -> Path:
    """Write a small one-page Vietnamese PDF (DejaVu Sans embedded) to sign in tests."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creator("earchive testpki")
    pdf.add_page()
    pdf.add_font("DejaVu", "", FONT_PATH)
    pdf.set_font("DejaVu", size=14)
    pdf.cell(0, 10, "ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK (TEST)", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("DejaVu", size=16)
    pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("DejaVu", size=11)
    body = list(lines) or [
        "Về việc phê duyệt danh mục hồ sơ lưu trữ điện tử năm 2026.",
        "Điều 1. Phê duyệt kèm theo Quyết định này danh mục hồ sơ.",
        "Điều 2. Quyết định có hiệu lực kể từ ngày ký.",
    ]
    for line in body:
        pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _fresh_field_name(writer: Any) -> str:
    from pyhanko.sign.fields import enumerate_sig_fields

    taken = {name for name, _value, _ref in enumerate_sig_fields(writer)}
    index = 1
    while f"Signature{index}" in taken:
        index += 1
    return f"Signature{index}"


def _load_asn1_cert(path: Path) -> Any:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def _load_pyhanko_credential(cert_path: Path, key_path: Path) -> tuple[Any, Any]:
    from asn1crypto import keys, pem

    key_data = key_path.read_bytes()
    _, _, der = pem.unarmor(key_data)
    return _load_asn1_cert(cert_path), keys.PrivateKeyInfo.load(der)


def _fixed_time_signer_class() -> Any:
    from pyhanko.sign.signers import PdfSigner

    class FixedTimePdfSigner(PdfSigner):
        """PdfSigner whose claimed signing time is fixed (pyHanko takes the clock's)."""

        fixed_time: datetime | None = None

        def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
            session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
            if self.fixed_time is not None:
                session.system_time = self.fixed_time
            return session

    return FixedTimePdfSigner


class _LazySignerClass:
    """Builds the PdfSigner subclass on first use so importing this module stays cheap."""

    _cls: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _LazySignerClass._cls is None:
            _LazySignerClass._cls = _fixed_time_signer_class()
        return _LazySignerClass._cls(*args, **kwargs)


_FixedTimePdfSigner = _LazySignerClass()
