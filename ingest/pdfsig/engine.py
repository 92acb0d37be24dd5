"""The pyHanko-backed validation engine. Imported lazily by `SignatureValidator`.

One `Engine` per process holds the parsed trust anchors and policies; `validate_file`
is thread-safe (every call opens its own reader, validation contexts and event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import threading
import time
import unicodedata
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import ParsableOctetBitString  # type: ignore[import-untyped]
from cryptography import x509 as pyca_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathValidationError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import OwnedFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.validate import async_validate_path

from archive_core.storage.base import file_sha256
from archive_core.timeutil import iso_vn
from ingest.pdfsig import results as R
from ingest.pdfsig import speedups
from ingest.pdfsig.results import (
    CertificateSummary,
    Coverage,
    FileSignatures,
    Kind,
    Modification,
    Revocation,
    SignatureResult,
    Signer,
    TimestampInfo,
)
from ingest.pdfsig.revisions import FileLayout, RevisionReviewer, measure_layout
from ingest.pdfsig.trust import TrustStore

log = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX_SEARCH_BYTES = 16 * 1024 * 1024
PREFIX_ATTEMPTS = 8
SIGNATURE_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"}
TIMESTAMP_SUBFILTERS = {"/ETSI.RFC3161"}
WEAK_DIGESTS = {"md2", "md5", "sha1"}
CLOCK_SKEW = timedelta(minutes=5)
"""A claimed signing time up to this much after the validation time is tolerated."""
FAILED_URL_TTL = 60.0
"""Seconds during which a revocation URL that failed is not asked again (offline hosts)."""
QUIET_LOGGERS = ("pyhanko", "pyhanko_certvalidator")
SIGNER_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False)
ALGORITHMS = DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
    weak_hash_algos=frozenset(WEAK_DIGESTS), rsa_key_size_threshold=0, dsa_key_size_threshold=0
)
"""pyHanko rejects MD5/SHA-1; key sizes are judged by our own settings instead."""
NO_REVOCATION_CHECK = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK),
    retroactive_revinfo=True,
)
REQUIRE_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.CRL_OR_OCSP_REQUIRED, RevocationCheckingRule.CHECK_IF_DECLARED),
    retroactive_revinfo=True,
)
MDP_NAMES = {MDPPerm.NO_CHANGES: "no_changes", MDPPerm.FILL_FORMS: "fill_forms", MDPPerm.ANNOTATE: "annotate"}
VALIDATION_RULES = (
    "earchive R-CK-4 (strict modification policy: only signatures, document timestamps and DSS/VRI may follow); "
    "TT 41/2017/TT-BTTTT Điều 8; TT 15/2025/TT-BKHCN; ISO 32000-2 §12.8; RFC 5652; RFC 5280; RFC 3161"
)


@dataclass(frozen=True)
class EngineConfig:
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    fetch_revocation: bool = True
    revocation_timeout_seconds: float = 3.0
    revocation_mode: str = "soft"


@dataclass
class _Revinfo:
    certs: list[Any] = field(default_factory=list)
    ocsps: list[Any] = field(default_factory=list)
    crls: list[Any] = field(default_factory=list)


@dataclass
class _Work:
    """One signature being validated, with what later phases need."""

    result: SignatureResult
    embedded: Any = None


def shareable_certificate(der: bytes) -> asn1_x509.Certificate:
    """A certificate parsed to the last leaf, so that validation threads sharing it only read it.

    asn1crypto parses lazily and fills a structure's child list one child at a time: a second
    thread reading a half-filled list fails ("No field numbered 2 is present"). The extension
    values are parsed first so that the recursive parse of ``native`` reaches into them too.
    """
    cert = asn1_x509.Certificate.load(der)
    _ = cert.key_identifier_value  # parses and caches every extension value
    public_key = cert.public_key["public_key"]
    if isinstance(public_key, ParsableOctetBitString):
        _ = public_key.parsed
    _ = cert.native, cert.sha256, cert.sha1, cert.issuer_serial, cert.self_signed
    _ = cert.subject.hashable, cert.issuer.hashable, cert.public_key.sha256
    return cert


def software_label() -> str:
    try:
        hanko, certvalidator = metadata.version("pyHanko"), metadata.version("pyhanko-certvalidator")
        return f"pyHanko {hanko}, pyhanko-certvalidator {certvalidator}"
    except metadata.PackageNotFoundError:
        return "pyHanko"


class Engine:
    def __init__(self, trust: TrustStore, config: EngineConfig) -> None:
        self.trust = trust
        self.config = config
        self.anchors = [shareable_certificate(a.der) for a in trust.anchors]
        self.intermediates = [shareable_certificate(i.der) for i in trust.intermediates]
        self.anchor_fingerprints = {a.sha256 for a in trust.anchors}
        self.software = software_label()
        speedups.install()
        self._failed_urls: dict[str, float] = {}
        self._failed_lock = threading.Lock()
        for name in QUIET_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.CRITICAL)  # pyHanko logs expected failures with tracebacks

    # ------------------------------------------------------------------ files

    def validate_file(self, path: Path, at: datetime) -> FileSignatures:
        size, sha256 = file_sha256(path)
        outcome = FileSignatures(
            path=str(path), sha256=sha256, size=size, validation_time=iso_vn(at),
            trust_store=self.trust.fingerprint, software=self.software,
        )
        try:
            return self._validate_into(path, outcome, at)
        except Exception as exc:  # hostile PDFs reach pyHanko paths that raise anything
            log.info("%s: unreadable for signature validation: %s", path, exc)
            outcome.signatures = []
            return _unreadable(outcome, R.FILE_UNREADABLE, f"{type(exc).__name__}: {_short(exc)}")

    def _validate_into(self, path: Path, outcome: FileSignatures, at: datetime) -> FileSignatures:
        size = outcome.size
        with path.open("rb") as stream:
            reader = self._open_reader(stream, outcome)
            if reader is None:
                return outcome
            try:
                fields = list(enumerate_sig_fields(reader, filled_status=True))
            except Exception as exc:
                return _unreadable(outcome, R.FILE_UNREADABLE, f"cây trường biểu mẫu lỗi / broken form tree: {exc}")
            try:
                layout = measure_layout(reader, stream, size)
            except Exception as exc:
                return _unreadable(outcome, R.FILE_UNREADABLE, f"cấu trúc phiên bản lỗi / broken revisions: {exc}")
            outcome.revisions = layout.revisions
            outcome.trailing_bytes = layout.trailing_bytes
            if not fields:
                return outcome
            work = [self._open_signature(reader, index, name, value, ref, layout)
                    for index, (name, value, ref) in enumerate(fields, start=1)]
            revinfo = _read_dss(reader)
            _run(self._validate_all(work, revinfo, at))
            self._review_modifications(reader, layout, work)
        for item in work:
            _finish(item.result)
            outcome.signatures.append(item.result)
        outcome.signatures.sort(key=lambda s: (s.signed_revision if s.signed_revision is not None else -1, s.index))
        return outcome

    def _open_reader(self, stream: Any, outcome: FileSignatures) -> Any:
        try:
            reader = PdfFileReader(stream, strict=False)
        except Exception as exc:
            reader = _open_prefix(stream, outcome.size)
            if reader is None:
                _unreadable(outcome, R.FILE_UNREADABLE, _short(exc))
                return None
        if reader.encrypted:
            if "PubKey" in type(reader.security_handler).__name__:
                _unreadable(outcome, R.FILE_ENCRYPTED,
                            "mã hóa cho người nhận có chứng thư số (khóa công khai) / public-key encrypted")
                return None
            try:
                result = reader.decrypt("")
                ok = getattr(result, "status", None) is not None and result.status.name != "FAILED"
            except Exception as exc:
                _unreadable(outcome, R.FILE_ENCRYPTED, _short(exc))
                return None
            if not ok:
                _unreadable(outcome, R.FILE_ENCRYPTED, "cần mật khẩu / a password is required")
                return None
        return reader

    def _open_signature(self, reader: Any, index: int, name: str, value: Any, ref: Any, layout: FileLayout) -> _Work:
        try:
            return self._read_signature(reader, index, name, value, ref, layout)
        except Exception as exc:  # a signature dictionary that is not one
            result = SignatureResult(index=index, field_name=str(name), kind=Kind.SIGNATURE)
            result.add(R.SIGNATURE_UNREADABLE(f"{type(exc).__name__}: {_short(exc)}"))
            return _Work(result)

    def _read_signature(self, reader: Any, index: int, name: str, value: Any, ref: Any, layout: FileLayout) -> _Work:
        sig_obj = value.get_object()
        kind = Kind.DOCUMENT_TIMESTAMP if str(sig_obj.get("/Type", "/Sig")) == "/DocTimeStamp" else Kind.SIGNATURE
        result = SignatureResult(index=index, field_name=str(name), kind=kind)
        result.total_revisions = layout.revisions
        subfilter = sig_obj.get("/SubFilter")
        result.subfilter = str(subfilter)[1:] if subfilter is not None else None
        result.reason_text = _text(sig_obj.get("/Reason"))
        result.location = _text(sig_obj.get("/Location"))
        try:
            result.byte_range = [int(x) for x in sig_obj.get("/ByteRange", [])]
        except (TypeError, ValueError):
            result.byte_range = []
        if len(result.byte_range) % 2 == 0 and result.byte_range:
            result.signed_bytes = sum(result.byte_range[1::2])
        allowed = TIMESTAMP_SUBFILTERS if kind is Kind.DOCUMENT_TIMESTAMP else SIGNATURE_SUBFILTERS
        if subfilter is None or str(subfilter) not in allowed:
            result.add(R.UNSUPPORTED_SUBFILTER(str(subfilter)))
            return _Work(result)
        contents = sig_obj.get("/Contents")
        if contents is None or not bytes(contents).rstrip(b"\x00"):
            result.add(R.PLACEHOLDER())
            return _Work(result)
        try:
            embedded = EmbeddedPdfSignature(reader, ref, name)
            result.signed_revision = int(embedded.signed_revision)
        except ValueError as exc:  # asn1crypto's parse errors
            result.add(R.CMS_MALFORMED(_short(exc)))
            return _Work(result)
        except Exception as exc:
            result.add(R.SIGNATURE_UNREADABLE(f"{type(exc).__name__}: {_short(exc)}"))
            return _Work(result)
        return _Work(result, embedded)

    async def _validate_all(self, work: list[_Work], revinfo: _Revinfo, at: datetime) -> None:
        for item in work:
            if item.embedded is None:
                continue
            try:
                if item.result.kind is Kind.SIGNATURE:
                    await self._validate_signature(item, revinfo, at)
                else:
                    await self._validate_document_timestamp(item, revinfo, at)
            except SignatureValidationError as exc:
                item.result.add(R.CMS_MALFORMED(_short(exc)))
                self._describe_signer_anyway(item)
            except Exception as exc:
                log.exception("signature %s: unexpected validation failure", item.result.field_name)
                item.result.add(R.VALIDATION_ERROR(f"{type(exc).__name__}: {_short(exc)}"))

    def _describe_signer_anyway(self, item: _Work) -> None:
        """Name the signer of a signature that failed structurally, when its certificate is readable."""
        try:
            cert = item.embedded.signer_cert
            item.result.signer = _signer(cert)
            item.result.key_algorithm, item.result.key_bits = _key_facts(cert)
            item.result.chain = [self._summary(c) for c in _chain(cert, None, item.embedded.other_embedded_certs)]
        except Exception:  # nothing more to say about it
            return

    # ------------------------------------------------------------- signatures

    async def _validate_signature(self, item: _Work, revinfo: _Revinfo, at: datetime) -> None:
        emb, result = item.embedded, item.result
        emb.compute_integrity_info(skip_diff=True)
        result.coverage = _coverage(emb.coverage)
        signer_info = emb.signer_info
        local = _with_adobe_revinfo(revinfo, signer_info)
        claimed = emb.self_reported_timestamp
        result.claimed_signing_time = iso_vn(claimed) if claimed else None
        tst_status = await self._signature_timestamp(signer_info, local, at)
        reference = self._reference_time(result, tst_status, claimed, at)
        context = self._context(reference, local)
        status_kwargs: dict[str, Any] = emb.summarise_integrity_info()
        kwargs = await generic_cms.cms_basic_validation(
            emb.signed_data, raw_digest=emb.compute_digest(), validation_context=context,
            status_kwargs=status_kwargs, key_usage_settings=SIGNER_KEY_USAGE,
        )
        certification = emb.docmdp_level
        result.certification = MDP_NAMES.get(certification) if certification is not None else None
        self._judge_cms(result, kwargs, signer_info, _embedded_certs(emb.signed_data) + local.certs, reference)
        await self._judge_revocation(result, kwargs, local, reference)

    async def _validate_document_timestamp(self, item: _Work, revinfo: _Revinfo, at: datetime) -> None:
        emb, result = item.embedded, item.result
        emb.compute_integrity_info(skip_diff=True)
        result.coverage = _coverage(emb.coverage)
        gen_time = _tst_time(emb.signed_data)
        reference = gen_time or at
        context = self._context(reference, revinfo)
        kwargs = await generic_cms.validate_tst_signed_data(emb.signed_data, context, emb.compute_digest)
        result.signing_time = iso_vn(reference)
        result.signing_time_source = "timestamp" if gen_time else "none"
        result.reference_time = iso_vn(reference)
        signer_info = emb.signer_info
        self._judge_cms(result, kwargs, signer_info, _embedded_certs(emb.signed_data) + revinfo.certs, reference)
        status = TimestampSignatureStatus(**kwargs)
        result.timestamp = _timestamp_info(status, signer_info)

    async def _signature_timestamp(self, signer_info: Any, revinfo: _Revinfo, at: datetime) -> Any:
        """Validate the first signature timestamp token, at its own time."""
        for tst_data in generic_cms.extract_tst_data_iter(signer_info, signed=False):
            gen_time = _tst_time(tst_data) or at
            context = self._context(gen_time, revinfo)
            try:
                kwargs = await generic_cms.validate_tst_signed_data(
                    tst_data, context, generic_cms.message_imprint_checker(signer_info)
                )
            except (SignatureValidationError, ValueError) as exc:
                return exc
            return TimestampSignatureStatus(**kwargs)
        return None

    def _reference_time(self, result: SignatureResult, tst: Any, claimed: datetime | None, at: datetime) -> datetime:
        if isinstance(tst, TimestampSignatureStatus):
            result.timestamp = _timestamp_info(tst, None)
            if tst.intact and tst.valid and tst.trusted:
                result.signing_time = iso_vn(tst.timestamp)
                result.signing_time_source = "timestamp"
                result.reference_time = result.signing_time
                return tst.timestamp
            authority = _subject_cn(tst.signing_cert) or "?"
            if tst.intact and tst.valid:
                result.add(R.TIMESTAMP_UNTRUSTED(authority))
            else:
                result.add(R.TIMESTAMP_INVALID(authority))
        elif isinstance(tst, Exception):
            result.add(R.TIMESTAMP_INVALID(_short(tst)))
        if claimed is None:
            result.add(R.NO_SIGNING_TIME(iso_vn(at)))
            result.reference_time = iso_vn(at)
            return at
        result.signing_time = iso_vn(claimed)
        result.signing_time_source = "claimed"
        if claimed > at + CLOCK_SKEW:
            result.add(R.SIGNING_TIME_IN_FUTURE(iso_vn(claimed)))
            result.reference_time = iso_vn(at)
            return at
        result.add(R.SIGNING_TIME_CLAIMED())
        result.reference_time = iso_vn(claimed)
        return claimed

    def _context(self, moment: datetime, revinfo: _Revinfo, *, policy: CertRevTrustPolicy = NO_REVOCATION_CHECK,
                 fetch: bool = False) -> ValidationContext:
        backend = None
        if fetch:
            backend = OwnedFetcherBackend(
                AIOHttpFetcherBackend(per_request_timeout=self.config.revocation_timeout_seconds)
            )
        return ValidationContext(
            trust_roots=self.anchors,
            other_certs=self.intermediates + revinfo.certs,
            moment=moment,
            allow_fetching=fetch,
            fetcher_backend=backend,
            crls=list(revinfo.crls),
            ocsps=list(revinfo.ocsps),
            revinfo_policy=policy,
            algorithm_usage_policy=ALGORITHMS,
        )

    def _judge_cms(self, result: SignatureResult, kwargs: dict[str, Any], signer_info: Any,
                   extra_certs: list[Any], reference: datetime) -> None:
        cert = kwargs["signing_cert"]
        path = kwargs.get("validation_path")
        indic = kwargs.get("trust_problem_indic")
        result.intact = bool(kwargs.get("intact"))
        result.valid = bool(kwargs.get("valid"))
        result.trusted = result.intact and result.valid and indic is None and path is not None
        result.digest_algorithm = str(kwargs.get("md_algorithm") or signer_info["digest_algorithm"]["algorithm"].native)
        result.signature_algorithm = str(kwargs.get("pkcs7_signature_mechanism") or "")
        result.signer = _signer(cert)
        result.key_algorithm, result.key_bits = _key_facts(cert)
        result.signature_value_sha256 = hashlib.sha256(signer_info["signature"].native).hexdigest()
        chain = _chain(cert, path, extra_certs)
        result.chain = [self._summary(c) for c in chain]
        if not result.intact:
            result.add(R.DIGEST_MISMATCH())
        elif not result.valid:
            result.add(R.SIGNATURE_INVALID())
        weak_digest = result.digest_algorithm.lower() in WEAK_DIGESTS or any(
            weak in result.signature_algorithm.lower() for weak in ("md5", "sha1_")
        )
        if weak_digest:
            result.add(R.WEAK_DIGEST(result.digest_algorithm.upper()))
        for summary in result.chain:
            problem = self._weak_key(summary)
            if problem:
                result.add(R.WEAK_KEY(problem))
        if indic is not None:
            self._explain_indication(result, indic, cert, reference, weak_digest)

    def _explain_indication(self, result: SignatureResult, indic: Any, cert: Any, reference: datetime,
                            weak_digest: bool) -> None:
        name = getattr(indic, "name", str(indic))
        if name == "NO_CERTIFICATE_CHAIN_FOUND":
            detail = "" if self.anchors else " — chưa cấu hình chứng thư gốc tin cậy / no trust anchors configured"
            result.add(R.UNTRUSTED_CHAIN(detail))
        elif name in ("EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "NOT_YET_VALID") or (
            name == "CERTIFICATE_CHAIN_GENERAL_FAILURE" and _outside_validity(cert, reference)
        ):
            self._explain_validity(result, cert, reference)
        elif name in ("CRYPTO_CONSTRAINTS_FAILURE", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"):
            if not weak_digest and not result.has("weak_key"):
                result.add(R.ALGORITHM_NOT_ALLOWED(name))
        elif name == "SIG_CONSTRAINTS_FAILURE":
            result.add(R.KEY_USAGE(_key_usage_text(cert)))
        elif name in ("REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"):
            result.add(R.CERT_REVOKED(name))
        elif name in ("TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"):
            result.add(R.REVOCATION_UNKNOWN(name))
        else:
            result.add(R.CHAIN_INVALID(name))

    def _explain_validity(self, result: SignatureResult, cert: Any, reference: datetime) -> None:
        validity = cert["tbs_certificate"]["validity"]
        not_before = validity["not_before"].native
        not_after = validity["not_after"].native
        window = f"{iso_vn(not_before)} – {iso_vn(not_after)}; thời điểm kiểm tra / checked at {iso_vn(reference)}"
        if reference < not_before:
            result.add(R.CERT_NOT_YET_VALID(window))
        elif reference > not_after:
            result.add(R.CERT_EXPIRED(window))
        else:
            result.add(R.CERT_EXPIRED(f"một chứng thư CA trong chuỗi / a CA certificate in the chain; {window}"))

    def _weak_key(self, summary: CertificateSummary) -> str | None:
        algorithm, bits = summary.key_algorithm, summary.key_bits
        if algorithm in ("rsa", "rsassa_pss", "dsa") and bits < self.config.min_rsa_bits:
            return f"{algorithm.upper()} {bits} bit ({summary.subject})"
        if algorithm == "ec" and bits < self.config.min_ec_bits:
            return f"ECDSA {bits} bit ({summary.subject})"
        return None

    def _summary(self, cert: Any) -> CertificateSummary:
        der = cert.dump()
        parsed = pyca_x509.load_der_x509_certificate(der)
        algorithm, bits = _key_facts(cert)
        fingerprint = hashlib.sha256(der).hexdigest().upper()
        try:
            is_ca = bool(parsed.extensions.get_extension_for_class(pyca_x509.BasicConstraints).value.ca)
        except pyca_x509.ExtensionNotFound:
            is_ca = False
        return CertificateSummary(
            subject=_nfc(parsed.subject.rfc4514_string()),
            issuer=_nfc(parsed.issuer.rfc4514_string()),
            serial=format(parsed.serial_number, "X"),
            not_before=iso_vn(parsed.not_valid_before_utc),
            not_after=iso_vn(parsed.not_valid_after_utc),
            sha256=fingerprint,
            key_algorithm=algorithm,
            key_bits=bits,
            is_ca=is_ca,
            trust_anchor=fingerprint in self.anchor_fingerprints or self._matches_anchor(cert),
        )

    def _matches_anchor(self, cert: Any) -> bool:
        """Anchors match by name and key (the same root may be re-issued with another serial)."""
        key = cert.public_key.dump()
        return any(a.public_key.dump() == key and a.subject == cert.subject for a in self.anchors)

    # ------------------------------------------------------------- revocation

    async def _judge_revocation(self, result: SignatureResult, kwargs: dict[str, Any], revinfo: _Revinfo,
                                reference: datetime) -> None:
        path = kwargs.get("validation_path")
        if not result.trusted or path is None:
            result.revocation = Revocation.NOT_CHECKED
            return
        embedded_outcome, embedded_detail = "none", ""
        if revinfo.crls or revinfo.ocsps:
            embedded_outcome, embedded_detail = await self._check_path(path, revinfo, reference, fetch=False)
        if embedded_outcome in ("good", "revoked"):
            result.revocation_source = "embedded"
            self._record_revocation(result, embedded_outcome, embedded_detail)
            return
        if embedded_outcome == "none":
            detail = "tài liệu không kèm dữ liệu thu hồi (OCSP/CRL) / no embedded OCSP/CRL data"
        else:
            detail = (f"dữ liệu thu hồi kèm theo không đủ / embedded OCSP/CRL data insufficient "
                      f"({embedded_outcome}: {embedded_detail})")
        if self.config.fetch_revocation:
            urls = _revocation_urls(path)
            if not urls:
                detail += "; chứng thư không có địa chỉ OCSP/CRL / the certificates name no OCSP/CRL URL"
            elif self._recently_failed(urls):
                detail += "; máy chủ OCSP/CRL vừa không truy cập được / revocation servers were unreachable moments ago"
            else:
                started = time.monotonic()
                online_outcome, online_detail = await self._check_path(path, revinfo, reference, fetch=True)
                if online_outcome in ("good", "revoked"):
                    result.revocation_source = "online"
                    self._record_revocation(result, online_outcome, online_detail)
                    return
                self._remember_failure(urls)
                detail += (f"; không truy vấn được OCSP/CRL sau {time.monotonic() - started:.1f} s / "
                           f"online OCSP/CRL query failed ({online_outcome})")
        else:
            detail += "; không truy vấn trực tuyến (cấu hình) / online checking disabled by configuration"
        result.revocation = Revocation.UNKNOWN
        hard = self.config.revocation_mode == "hard"
        result.add(R.REVOCATION_UNKNOWN(detail, effect=R.Effect.INDETERMINATE if hard else None))

    def _record_revocation(self, result: SignatureResult, outcome: str, detail: str) -> None:
        if outcome == "good":
            result.revocation = Revocation.GOOD
        else:
            result.revocation = Revocation.REVOKED
            result.trusted = False
            result.add(R.CERT_REVOKED(detail))

    async def _check_path(self, path: Any, revinfo: _Revinfo, reference: datetime, *, fetch: bool) -> tuple[str, str]:
        """Revocation verdict for a trusted path: ("good" | "revoked" | error name, detail)."""
        context = self._context(reference, revinfo, policy=REQUIRE_REVOCATION, fetch=fetch)
        timeout = self.config.revocation_timeout_seconds * 2 + 0.5
        try:
            await asyncio.wait_for(async_validate_path(context, path), timeout=timeout)
            return "good", ""
        except RevokedError as exc:
            return "revoked", _short(exc)
        except (InsufficientRevinfoError, ExpiredError, NotYetValidError, PathValidationError) as exc:
            return type(exc).__name__, _short(exc)
        except TimeoutError:
            return "timeout", f"quá {timeout:.1f} s / over {timeout:.1f} s"
        except Exception as exc:  # fetch layer errors must not abort validation
            return type(exc).__name__, _short(exc)
        finally:
            await context.aclose()  # type: ignore[no-untyped-call]

    def _recently_failed(self, urls: set[str]) -> bool:
        now = time.monotonic()
        with self._failed_lock:
            return all(now - self._failed_urls.get(url, -FAILED_URL_TTL * 2) < FAILED_URL_TTL for url in urls)

    def _remember_failure(self, urls: set[str]) -> None:
        now = time.monotonic()
        with self._failed_lock:
            for url in urls:
                self._failed_urls[url] = now

    # ---------------------------------------------------------- modifications

    def _review_modifications(self, reader: Any, layout: FileLayout, work: list[_Work]) -> None:
        signing = {
            w.result.signed_revision
            for w in work
            if w.embedded is not None and w.result.intact and w.result.valid and w.result.signed_revision is not None
        }
        reviewer = RevisionReviewer(reader, layout, {r for r in signing if r is not None})
        for item in work:
            result = item.result
            if item.embedded is None:
                continue
            if result.coverage is Coverage.PARTIAL:
                result.modification = Modification.MODIFIED
                result.add(R.NONSTANDARD_COVERAGE(_coverage_detail(item.embedded)))
                continue
            stray = layout.stray_after(result.signed_revision or 0)
            if result.coverage is Coverage.ENTIRE_FILE and not stray:
                result.modification = Modification.NONE
                continue
            if result.coverage is Coverage.ENTIRE_FILE:  # entire readable prefix; junk follows it
                result.coverage = Coverage.ENTIRE_REVISION
            try:
                outcome = reviewer.review(result.signed_revision or 0, item.embedded.fieldmdp,
                                          item.embedded.docmdp_level)
            except Exception as exc:
                result.modification = Modification.MODIFIED
                result.add(R.MODIFIED_AFTER_SIGNING(f"không phân tích được các thay đổi / diff analysis failed: "
                                                    f"{_short(exc)}"))
                continue
            result.modification = Modification(outcome.level)
            for code, detail in outcome.problems:
                result.add(R.REASONS[code](detail))


# ------------------------------------------------------------------ helpers


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also from a thread that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="pdfsig-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class _Prefix(io.RawIOBase):
    """Read-only view of the first `limit` bytes of a file (to read a PDF that has junk appended)."""

    def __init__(self, raw: Any, limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._limit}[whence]
        self._pos = max(0, min(self._limit, base + offset))
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._limit - self._pos
        count = remaining if size is None or size < 0 else min(size, remaining)
        self._raw.seek(self._pos)
        data: bytes = self._raw.read(count)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _open_prefix(stream: Any, size: int) -> Any:
    """pyHanko cannot open a file with over 1 KiB (or a fake %%EOF) appended; find the real end.

    Tries the last few %%EOF markers of the final 16 MiB, newest first; the bytes after the
    one that opens are then reported as appended by the layout check.
    """
    window = min(size, PREFIX_SEARCH_BYTES)
    stream.seek(size - window)
    tail = stream.read(window)
    position = len(tail)
    for _ in range(PREFIX_ATTEMPTS):
        position = tail.rfind(b"%%EOF", 0, position)
        if position < 0:
            return None
        limit = size - window + position + 5
        limit += _eol_after(tail, position + 5)
        try:
            return PdfFileReader(_Prefix(stream, limit), strict=False)
        except Exception:
            continue
    return None


def _eol_after(data: bytes, index: int) -> int:
    if data[index:index + 2] == b"\r\n":
        return 2
    return 1 if data[index:index + 1] in (b"\r", b"\n") else 0


def _unreadable(outcome: FileSignatures, kind: R.ReasonKind, detail: str) -> FileSignatures:
    outcome.readable = False
    outcome.error = kind(detail)
    return outcome


def _read_dss(reader: Any) -> _Revinfo:
    from pyhanko.sign.validation.errors import NoDSSFoundError

    revinfo = _Revinfo()
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return revinfo
    except Exception as exc:
        log.info("unreadable DSS ignored: %s", exc)
        return revinfo
    try:
        revinfo.certs = list(dss.load_certs())
        revinfo.ocsps = _dss_ocsps(dss)
        revinfo.crls = _dss_crls(dss)
    except Exception as exc:
        log.info("DSS content partly unreadable: %s", exc)
    return revinfo


def _dss_ocsps(dss: Any) -> list[Any]:
    from asn1crypto import ocsp
    from pyhanko.pdf_utils.decode_limits import DecodePurpose

    return [ocsp.OCSPResponse.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE)) for ref in dss.ocsps]


def _dss_crls(dss: Any) -> list[Any]:
    from asn1crypto import crl
    from pyhanko.pdf_utils.decode_limits import DecodePurpose

    return [crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)) for ref in dss.crls]


def _with_adobe_revinfo(revinfo: _Revinfo, signer_info: Any) -> _Revinfo:
    try:
        archival = find_unique_cms_attribute(signer_info["signed_attrs"], "adobe_revocation_info_archival")
    except Exception:  # absent or multi-valued: nothing usable
        return revinfo
    crls = _items(archival["crl"])
    ocsps = _items(archival["ocsp"])
    return _Revinfo(certs=revinfo.certs, ocsps=revinfo.ocsps + ocsps, crls=revinfo.crls + crls)


def _embedded_certs(signed_data: Any) -> list[Any]:
    """The X.509 certificates carried in a CMS SignedData (no matching: that is costly)."""
    try:
        return [choice.chosen for choice in signed_data["certificates"] if choice.name == "certificate"]
    except TypeError:  # no certificates: asn1crypto's Void is not iterable
        return []


def _items(value: Any) -> list[Any]:
    try:
        return list(value)
    except TypeError:  # an absent optional field (Void)
        return []


def _tst_time(signed_data: Any) -> datetime | None:
    try:
        content = signed_data["encap_content_info"]["content"]
        info = content.parsed
        if isinstance(info, tsp.TSTInfo):
            value = info["gen_time"].native
            return value if isinstance(value, datetime) else None
    except Exception:
        return None
    return None


def _timestamp_info(status: Any, signer_info: Any) -> TimestampInfo:
    del signer_info
    return TimestampInfo(
        time=iso_vn(status.timestamp),
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        authority=_subject_cn(status.signing_cert),
        hash_algorithm=str(status.md_algorithm) if status.md_algorithm else None,
    )


def _coverage(level: Any) -> Coverage:
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return Coverage.ENTIRE_FILE
    if level == SignatureCoverageLevel.ENTIRE_REVISION:
        return Coverage.ENTIRE_REVISION
    return Coverage.PARTIAL


def _coverage_detail(embedded: Any) -> str:
    level = getattr(embedded.coverage, "name", str(embedded.coverage))
    return f"/ByteRange {list(embedded.byte_range)}; pyHanko {level}"


def _signer(cert: Any) -> Signer:
    names = cert.subject.native

    def first(*keys: str) -> str | None:
        for key in keys:
            value = names.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            if value:
                return _nfc(str(value))
        return None

    unit = first("organizational_unit_name")
    title = first("title")
    position, source = (title, "title") if title else (None, None)
    if position is None and unit and _looks_like_position(unit):
        position, source = unit, "organisational_unit"
    return Signer(
        common_name=first("common_name"),
        organisation=first("organization_name"),
        organisational_unit=unit,
        position=position,
        position_source=source,
        locality=first("locality_name"),
        province=first("state_or_province_name"),
        country=first("country_name"),
        email=first("email_address"),
        subject=_nfc(pyca_x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()),
    )


POSITION_PREFIXES = tuple(p.casefold() for p in (
    "Chủ tịch", "Phó Chủ tịch", "Bí thư", "Phó Bí thư", "Bộ trưởng", "Thứ trưởng", "Tổng Giám đốc", "Giám đốc",
    "Phó Giám đốc", "Chánh", "Phó Chánh", "Trưởng", "Phó Trưởng", "Cục trưởng", "Phó Cục trưởng", "Vụ trưởng",
    "Phó Vụ trưởng", "Viện trưởng", "Hiệu trưởng", "Chi cục trưởng", "Thủ trưởng", "Chuyên viên", "Văn thư",
    "Kế toán trưởng", "Thư ký",
))
"""Vietnamese positions (chức vụ) some CAs put in OU when the certificate has no title."""


def _looks_like_position(unit: str) -> bool:
    return unit.casefold().startswith(POSITION_PREFIXES)


def _subject_cn(cert: Any) -> str | None:
    if cert is None:
        return None
    names = cert.subject.native
    value = names.get("common_name") or cert.subject.human_friendly
    return _nfc(str(value[0] if isinstance(value, list) else value))


def _key_facts(cert: Any) -> tuple[str, int]:
    public_key = cert.public_key
    algorithm = str(public_key.algorithm)
    if algorithm == "ed25519":
        return algorithm, 256
    if algorithm == "ed448":
        return algorithm, 456
    try:
        return algorithm, int(public_key.bit_size)
    except Exception:
        return algorithm, 0


def _key_usage_text(cert: Any) -> str:
    usage = cert.key_usage_value
    return ", ".join(sorted(usage.native)) if usage is not None else "không có / none"


def _outside_validity(cert: Any, reference: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return bool(reference < validity["not_before"].native or reference > validity["not_after"].native)


def _chain(cert: Any, path: Any, extra: Iterable[Any]) -> list[Any]:
    """Signer first, then issuers up to the root: the validation path, else by name from embedded certs."""
    if path is not None:
        certs = list(path.iter_certs(include_root=True))
        if certs:
            return list(reversed(certs))
    pool = {c.subject.dump(): c for c in extra}
    chain = [cert]
    seen = {cert.dump()}
    current = cert
    while len(chain) < 10:
        issuer = pool.get(current.issuer.dump())
        if issuer is None or issuer.dump() in seen:
            break
        chain.append(issuer)
        seen.add(issuer.dump())
        current = issuer
    return chain


def _revocation_urls(path: Any) -> set[str]:
    urls: set[str] = set()
    for cert in path.iter_certs(include_root=False):
        urls.update(cert.ocsp_urls or ())
        for point in cert.crl_distribution_points or ():
            url = point.url
            if url:
                urls.add(url)
    return urls


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return _nfc(str(value))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _short(exc: object, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finish(result: SignatureResult) -> None:
    """Decide the status and write the people-facing summary and the PREMIS block."""
    status = result.decide_status()
    who = result.signer.display_vi if result.signer else result.field_name
    when = f", ký lúc {result.signing_time}" if result.signing_time else ""
    when_en = f", signed at {result.signing_time}" if result.signing_time else ""
    what_vi = "Dấu thời gian tài liệu" if result.kind is Kind.DOCUMENT_TIMESTAMP else "Chữ ký số"
    what_en = "Document timestamp" if result.kind is Kind.DOCUMENT_TIMESTAMP else "Digital signature"
    problems = [r for r in result.reasons if r.effect is not R.Effect.NOTICE]
    notices = [r for r in result.reasons if r.effect is R.Effect.NOTICE]
    head_vi = f"{what_vi} của {who}{when}: {status.label_vi}"
    head_en = f"{what_en} by {who}{when_en}: {status.label_en}"
    if status is R.Status.VALID:
        head_vi += ", " + _coverage_vi(result)
        head_en += ", " + _coverage_en(result)
    detail_vi = "; ".join(r.message_vi for r in problems + notices)
    detail_en = "; ".join(r.message_en for r in problems + notices)
    result.message_vi = f"{head_vi}. {detail_vi}".strip() if detail_vi else head_vi
    result.message_en = f"{head_en}. {detail_en}".strip() if detail_en else head_en
    result.signature_information = premis_signature_information(result)


def _coverage_vi(result: SignatureResult) -> str:
    if result.modification is Modification.NONE:
        return "chữ ký bao trùm toàn bộ tệp, không có thay đổi sau khi ký"
    return "sau khi ký chỉ có thêm chữ ký số, dấu thời gian hoặc dữ liệu kiểm tra chữ ký"


def _coverage_en(result: SignatureResult) -> str:
    if result.modification is Modification.NONE:
        return "it covers the whole file, unchanged since signing"
    return "only further signatures, timestamps or validation data were added after it"


def premis_signature_information(result: SignatureResult) -> dict[str, Any]:
    """PREMIS 3 `signatureInformation` for one signature (semantic units as keys)."""
    signer = result.signer
    leaf = result.chain[0] if result.chain else None
    return {
        "signature": {
            "signatureEncoding": f"PDF {result.subfilter or '?'} (DER CMS SignedData)",
            "signer": signer.subject if signer else None,
            "signatureMethod": _signature_method(result),
            "signatureValue": f"sha256:{result.signature_value_sha256}" if result.signature_value_sha256 else None,
            "signatureValidationRules": VALIDATION_RULES,
            "signatureProperties": {
                "field": result.field_name,
                "kind": result.kind.value,
                "signingTime": result.signing_time,
                "signingTimeSource": result.signing_time_source,
                "reason": result.reason_text,
                "location": result.location,
                "coverage": result.coverage.value,
                "modification": result.modification.value,
                "status": result.status.value,
                "revocation": result.revocation.value,
            },
            "keyInformation": {
                "keyAlgorithm": result.key_algorithm,
                "keyBits": result.key_bits,
                "certificateSha256": leaf.sha256 if leaf else None,
                "certificateSerial": leaf.serial if leaf else None,
                "issuer": leaf.issuer if leaf else None,
                "certificateChain": [c.subject for c in result.chain],
            },
        }
    }


def _signature_method(result: SignatureResult) -> str | None:
    if not result.signature_algorithm and not result.digest_algorithm:
        return None
    return f"{result.signature_algorithm or result.key_algorithm} / {result.digest_algorithm}"

