"""Trust anchors for signature validation, loaded from a folder (`settings.trust_dir`).

Put the roots (e.g. Ban Cơ yếu Chính phủ "RootCA chuyên dùng Chính phủ G2", the Vietnam
National Root CA) and, optionally, their intermediate CAs in the folder, as PEM or DER
files named `*.crt`, `*.cer`, `*.pem` or `*.der` (a PEM file may hold several). Sub-folders
are read too. See docs/signatures.md for where to obtain them and how to check fingerprints.

Only self-signed CA certificates become trust anchors. Intermediate CA certificates are
offered to path building (many signatures omit them) but never end a path on their own:
trusting an intermediate requires its root in the folder. Certificates that are not CAs
are ignored and listed in `problems`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from archive_core.timeutil import iso_vn

log = logging.getLogger(__name__)

SUFFIXES = {".crt", ".cer", ".pem", ".der"}
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class TrustCertificate:
    subject: str
    issuer: str
    sha256: str
    """SHA-256 fingerprint of the DER certificate, upper-case hex (as browsers show it)."""
    not_before: str
    not_after: str
    self_signed: bool
    der: bytes = field(repr=False)
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "sha256": self.sha256,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "self_signed": self.self_signed,
            "source": self.source,
        }


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[TrustCertificate, ...] = ()
    intermediates: tuple[TrustCertificate, ...] = ()
    problems: tuple[str, ...] = ()
    """Files that were skipped, and why (shown by the CLI and logged)."""
    folder: str | None = None

    @classmethod
    def empty(cls) -> TrustStore:
        return cls()

    @classmethod
    def from_folder(cls, folder: Path) -> TrustStore:
        """Load every certificate file under `folder`; a missing folder gives an empty store."""
        if not folder.is_dir():
            log.warning("trust folder %s does not exist: no signature can be trusted", folder)
            return cls(problems=(f"{folder}: thư mục không tồn tại / folder does not exist",), folder=str(folder))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        return cls.from_files(files, folder=str(folder))

    @classmethod
    def from_files(cls, files: Iterable[Path], *, folder: str | None = None) -> TrustStore:
        anchors: dict[str, TrustCertificate] = {}
        intermediates: dict[str, TrustCertificate] = {}
        problems: list[str] = []
        for path in files:
            try:
                certs = _read_certificates(path)
            except (OSError, ValueError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            for cert in certs:
                entry, problem = _classify(cert, str(path))
                if problem:
                    problems.append(f"{path}: {problem}")
                elif entry is not None:
                    (anchors if entry.self_signed else intermediates).setdefault(entry.sha256, entry)
        for problem in problems:
            log.warning("trust store: %s", problem)
        return cls(tuple(anchors.values()), tuple(intermediates.values()), tuple(problems), folder)

    @classmethod
    def from_der(cls, certificates: Sequence[bytes]) -> TrustStore:
        """Build a store from DER certificates held in memory (tests, API uploads)."""
        anchors: dict[str, TrustCertificate] = {}
        intermediates: dict[str, TrustCertificate] = {}
        problems: list[str] = []
        for der in certificates:
            entry, problem = _classify(x509.load_der_x509_certificate(der), "memory")
            if problem:
                problems.append(problem)
            elif entry is not None:
                (anchors if entry.self_signed else intermediates).setdefault(entry.sha256, entry)
        return cls(tuple(anchors.values()), tuple(intermediates.values()), tuple(problems))

    @property
    def is_empty(self) -> bool:
        return not self.anchors

    @property
    def fingerprint(self) -> str:
        """SHA-256 over the sorted anchor fingerprints: names the trust configuration in records."""
        joined = "\n".join(sorted(a.sha256 for a in self.anchors))
        return hashlib.sha256(joined.encode("ascii")).hexdigest()

    def describe(self) -> list[dict[str, object]]:
        return [a.to_dict() | {"role": "anchor"} for a in self.anchors] + [
            i.to_dict() | {"role": "intermediate"} for i in self.intermediates
        ]


def _read_certificates(path: Path) -> list[x509.Certificate]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("tệp quá lớn / file too large for a certificate")
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _classify(cert: x509.Certificate, source: str) -> tuple[TrustCertificate | None, str | None]:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    self_signed = _is_self_signed(cert)
    if not is_ca and not self_signed:
        subject = cert.subject.rfc4514_string()
        return None, f"không phải chứng thư CA, bỏ qua / not a CA certificate, ignored ({subject})"
    der = cert.public_bytes(Encoding.DER)
    return (
        TrustCertificate(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            sha256=hashlib.sha256(der).hexdigest().upper(),
            not_before=iso_vn(cert.not_valid_before_utc),
            not_after=iso_vn(cert.not_valid_after_utc),
            self_signed=self_signed,
            der=der,
            source=source,
        ),
        None,
    )


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # InvalidSignature, unsupported key types: not self-signed for us
        return False
    return True
