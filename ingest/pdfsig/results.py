"""What signature validation found, per signature and per file (R-CK-4), JSON-ready.

Every status and every reason carries a Vietnamese explanation for the archivist and an
English twin. Reason codes are stable identifiers (reports, tests and the API use them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"

    @property
    def label_vi(self) -> str:
        return _STATUS_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _STATUS_LABELS[self][1]


_STATUS_LABELS = {
    Status.VALID: ("hợp lệ", "valid"),
    Status.INVALID: ("không hợp lệ", "invalid"),
    Status.INDETERMINATE: ("chưa xác định được tính hợp lệ", "indeterminate"),
}


class Coverage(StrEnum):
    ENTIRE_FILE = "entire_file"
    """The signature covers every byte of the file."""
    ENTIRE_REVISION = "entire_revision"
    """It covers its whole revision; later incremental updates follow."""
    PARTIAL = "partial"
    """Non-standard byte ranges: part of its own revision is not covered."""


class Modification(StrEnum):
    NONE = "none"
    ALLOWED_UPDATES = "allowed_updates"
    """Only further signatures, document timestamps and DSS/VRI updates came after it."""
    MODIFIED = "modified"


class Effect(StrEnum):
    """What a reason does to the status of a signature."""

    INVALID = "invalid"
    INDETERMINATE = "indeterminate"
    NOTICE = "notice"
    """Worth knowing; does not change the status."""


class Revocation(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not_checked"
    """No trusted chain, so revocation was not asked about."""


class Kind(StrEnum):
    SIGNATURE = "signature"
    DOCUMENT_TIMESTAMP = "document_timestamp"


@dataclass(frozen=True)
class ReasonKind:
    code: str
    effect: Effect
    message_vi: str
    message_en: str

    def __call__(self, detail: str = "", *, effect: Effect | None = None) -> Reason:
        return Reason(
            code=self.code,
            effect=effect or self.effect,
            message_vi=self.message_vi.format_map({"detail": _in_language(detail, english=False)}),
            message_en=self.message_en.format_map({"detail": _in_language(detail, english=True)}),
            detail=detail,
        )


def _in_language(detail: str, *, english: bool) -> str:
    """Details are written "tiếng Việt / English" per segment ("; "-separated): keep one language."""
    segments = []
    for segment in detail.split("; "):
        stripped = segment.lstrip(" —-:")
        prefix = segment[: len(segment) - len(stripped)]
        vi, separator, en = stripped.partition(" / ")
        segments.append(prefix + ((en if english else vi) if separator else stripped))
    return "; ".join(segments)


@dataclass(frozen=True)
class Reason:
    code: str
    effect: Effect
    message_vi: str
    message_en: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "effect": self.effect.value,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "detail": self.detail,
        }


REASONS: dict[str, ReasonKind] = {}


def _reason(code: str, effect: Effect, message_vi: str, message_en: str) -> ReasonKind:
    kind = ReasonKind(code, effect, message_vi, message_en)
    REASONS[code] = kind
    return kind


# integrity of the signature itself
DIGEST_MISMATCH = _reason(
    "digest_mismatch", Effect.INVALID,
    "Nội dung được ký đã bị thay đổi: mã băm của các đoạn byte được ký không khớp với chữ ký",
    "The signed byte ranges no longer match the digest in the signature",
)
SIGNATURE_INVALID = _reason(
    "signature_invalid", Effect.INVALID,
    "Giá trị chữ ký không khớp với khóa công khai trong chứng thư số của người ký",
    "The signature value does not verify with the signer's public key",
)
CMS_MALFORMED = _reason(
    "cms_malformed", Effect.INVALID,
    "Cấu trúc chữ ký (CMS/PKCS#7) bị lỗi: {detail}",
    "The signature's CMS/PKCS#7 structure is broken: {detail}",
)
PLACEHOLDER = _reason(
    "not_signed_placeholder", Effect.INVALID,
    "Trường chữ ký có vùng dành sẵn nhưng chưa có giá trị chữ ký (chưa được ký)",
    "The signature field reserves space but holds no signature value (never signed)",
)
UNSUPPORTED_SUBFILTER = _reason(
    "unsupported_subfilter", Effect.INDETERMINATE,
    "Định dạng chữ ký {detail} không được hỗ trợ",
    "Signature format {detail} is not supported",
)
# coverage and later changes
NONSTANDARD_COVERAGE = _reason(
    "nonstandard_coverage", Effect.INVALID,
    "Phạm vi ký (/ByteRange) bất thường: chữ ký không bao trùm trọn vẹn phiên bản tệp đã ký ({detail})",
    "Non-standard /ByteRange: the signature does not cover its whole revision ({detail})",
)
MODIFIED_AFTER_SIGNING = _reason(
    "modified_after_signing", Effect.INVALID,
    "Tài liệu đã bị sửa đổi sau khi ký: {detail}",
    "The document was modified after signing: {detail}",
)
NON_SIGNATURE_UPDATE = _reason(
    "non_signature_update", Effect.INVALID,
    "Sau khi ký, tệp có bản cập nhật không phải chữ ký số, dấu thời gian hay dữ liệu kiểm tra chữ ký (DSS): {detail}",
    "After signing, the file received an update that is not a signature, timestamp or DSS update: {detail}",
)
METADATA_CHANGED = _reason(
    "metadata_changed", Effect.INVALID,
    "Sau khi ký, siêu dữ liệu mô tả tài liệu (Info/XMP) đã bị thay đổi: {detail}",
    "After signing, the document's descriptive metadata (Info/XMP) was changed: {detail}",
)
FORM_FIELD_CHANGED = _reason(
    "form_field_changed", Effect.INVALID,
    "Sau khi ký, trường biểu mẫu không phải chữ ký đã bị thay đổi: {detail}",
    "After signing, a non-signature form field was changed: {detail}",
)
APPENDED_BYTES = _reason(
    "appended_bytes", Effect.INVALID,
    "Có dữ liệu được nối thêm vào tệp sau khi ký, nằm ngoài mọi phiên bản hợp lệ của tệp ({detail})",
    "Bytes were appended to the file after signing, outside every valid revision ({detail})",
)
DOCMDP_VIOLATION = _reason(
    "docmdp_violation", Effect.INVALID,
    "Chữ ký chứng thực (certification) không cho phép loại thay đổi đã thực hiện sau khi ký ({detail})",
    "The certification signature's DocMDP permissions forbid the changes made after signing ({detail})",
)
# certificate and algorithms
WEAK_KEY = _reason(
    "weak_key", Effect.INVALID,
    "Khóa của chứng thư số quá yếu: {detail} (TT 15/2025/TT-BKHCN yêu cầu RSA ≥ 2048 bit, ECDSA ≥ 256 bit)",
    "Certificate key too weak: {detail} (TT 15/2025 requires RSA ≥ 2048 bits, ECDSA ≥ 256 bits)",
)
WEAK_DIGEST = _reason(
    "weak_digest", Effect.INVALID,
    "Thuật toán băm {detail} không còn an toàn để ký số",
    "Digest algorithm {detail} is no longer safe for signatures",
)
ALGORITHM_NOT_ALLOWED = _reason(
    "algorithm_not_allowed", Effect.INDETERMINATE,
    "Thuật toán của chữ ký không được chấp nhận: {detail}",
    "The signature's algorithms are not acceptable: {detail}",
)
KEY_USAGE = _reason(
    "key_usage_not_allowed", Effect.INVALID,
    "Chứng thư số không được phép dùng để ký số (thuộc tính Key Usage): {detail}",
    "The certificate's key usage does not allow signing: {detail}",
)
UNTRUSTED_CHAIN = _reason(
    "untrusted_chain", Effect.INDETERMINATE,
    "Không xây dựng được đường dẫn tin cậy từ chứng thư số của người ký tới một chứng thư gốc được tin cậy "
    "(Ban Cơ yếu Chính phủ, Vietnam National Root CA){detail}",
    "No path from the signer's certificate to a trusted root (Government CA, Vietnam National Root CA){detail}",
)
CERT_EXPIRED = _reason(
    "cert_expired", Effect.INDETERMINATE,
    "Chứng thư số không còn hiệu lực tại thời điểm ký ({detail})",
    "The certificate was no longer valid at signing time ({detail})",
)
CERT_NOT_YET_VALID = _reason(
    "cert_not_yet_valid", Effect.INDETERMINATE,
    "Chứng thư số chưa có hiệu lực tại thời điểm ký ({detail})",
    "The certificate was not yet valid at signing time ({detail})",
)
CERT_REVOKED = _reason(
    "cert_revoked", Effect.INVALID,
    "Chứng thư số đã bị thu hồi trước thời điểm ký: {detail}",
    "The certificate was revoked before signing time: {detail}",
)
CHAIN_INVALID = _reason(
    "chain_invalid", Effect.INDETERMINATE,
    "Đường dẫn chứng thư số không hợp lệ: {detail}",
    "The certificate path is not valid: {detail}",
)
REVOCATION_UNKNOWN = _reason(
    "revocation_unknown", Effect.NOTICE,
    "Chưa kiểm tra được tình trạng thu hồi của chứng thư số: {detail}",
    "Revocation status of the certificate could not be established: {detail}",
)
# time
SIGNING_TIME_CLAIMED = _reason(
    "signing_time_claimed", Effect.NOTICE,
    "Thời điểm ký do phần mềm ký tự ghi, không có dấu thời gian tin cậy xác nhận",
    "The signing time is only claimed by the signing software; no trusted timestamp confirms it",
)
NO_SIGNING_TIME = _reason(
    "no_signing_time", Effect.NOTICE,
    "Chữ ký không ghi thời điểm ký; chứng thư số được kiểm tra tại thời điểm {detail}",
    "The signature records no signing time; the certificate was checked at {detail}",
)
SIGNING_TIME_IN_FUTURE = _reason(
    "signing_time_in_future", Effect.NOTICE,
    "Thời điểm ký ghi trong chữ ký ({detail}) muộn hơn thời điểm kiểm tra; "
    "chứng thư số được kiểm tra tại thời điểm kiểm tra",
    "The claimed signing time ({detail}) is later than the validation time; the certificate was checked at the latter",
)
TIMESTAMP_INVALID = _reason(
    "timestamp_invalid", Effect.NOTICE,
    "Dấu thời gian kèm chữ ký không hợp lệ nên không được dùng làm thời điểm ký: {detail}",
    "The signature timestamp is not valid and was not used as signing time: {detail}",
)
TIMESTAMP_UNTRUSTED = _reason(
    "timestamp_untrusted", Effect.NOTICE,
    "Dấu thời gian kèm chữ ký không do đơn vị cấp dấu thời gian được tin cậy cấp: {detail}",
    "The signature timestamp does not come from a trusted timestamp authority: {detail}",
)
SIGNATURE_UNREADABLE = _reason(
    "signature_unreadable", Effect.INVALID,
    "Không đọc được chữ ký: {detail}",
    "The signature cannot be read: {detail}",
)
VALIDATION_ERROR = _reason(
    "validation_error", Effect.INDETERMINATE,
    "Lỗi khi kiểm tra chữ ký: {detail}",
    "Validation failed with an internal error: {detail}",
)
# file level
FILE_UNREADABLE = _reason(
    "file_unreadable", Effect.INDETERMINATE,
    "Không đọc được tệp PDF để kiểm tra chữ ký số: {detail}",
    "The PDF cannot be read to check signatures: {detail}",
)
FILE_ENCRYPTED = _reason(
    "file_encrypted", Effect.INDETERMINATE,
    "Tệp PDF được mã hóa, không đọc được các trường chữ ký số: {detail}",
    "The PDF is encrypted; its signature fields cannot be read: {detail}",
)


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    serial: str
    """Serial number in upper-case hex."""
    not_before: str
    not_after: str
    sha256: str
    """Fingerprint: SHA-256 of the DER certificate, upper-case hex."""
    key_algorithm: str
    key_bits: int
    is_ca: bool
    trust_anchor: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Signer:
    common_name: str | None
    organisation: str | None
    organisational_unit: str | None
    position: str | None
    """Chức vụ: the certificate's `title`; else an OU that names a position ("Giám đốc", "Chánh Văn phòng" …)."""
    locality: str | None
    province: str | None
    country: str | None
    email: str | None
    subject: str
    position_source: str | None = None
    """`title` or `organisational_unit`: where `position` was read."""

    @property
    def display_vi(self) -> str:
        name = self.common_name or self.subject
        extra = ", ".join(v for v in (self.position, self.organisation) if v and v != name)
        return f"{name} ({extra})" if extra else name

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TimestampInfo:
    time: str
    intact: bool
    valid: bool
    trusted: bool
    authority: str | None
    hash_algorithm: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SignatureResult:
    index: int
    field_name: str
    kind: Kind
    status: Status = Status.INDETERMINATE
    reasons: list[Reason] = field(default_factory=list)
    intact: bool = False
    """The signed byte ranges still hash to the digest the signer signed."""
    valid: bool = False
    """The signature value verifies with the certificate's public key."""
    trusted: bool = False
    """The certificate chains to a trust anchor and was valid at the reference time."""
    coverage: Coverage = Coverage.PARTIAL
    modification: Modification = Modification.MODIFIED
    subfilter: str | None = None
    signed_revision: int | None = None
    total_revisions: int | None = None
    byte_range: list[int] = field(default_factory=list)
    signed_bytes: int | None = None
    signer: Signer | None = None
    signing_time: str | None = None
    signing_time_source: str = "none"
    """`timestamp` (trusted timestamp token), `claimed` (signer's software), `none`."""
    claimed_signing_time: str | None = None
    reference_time: str | None = None
    """The moment the certificate was judged at (ISO, +07:00)."""
    timestamp: TimestampInfo | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    key_algorithm: str | None = None
    key_bits: int | None = None
    revocation: Revocation = Revocation.NOT_CHECKED
    revocation_source: str | None = None
    """`embedded` (DSS / adbe-revocationInfoArchival), `online`, or None."""
    certification: str | None = None
    """DocMDP permission of a certification signature (`no_changes`, `fill_forms`, `annotate`)."""
    reason_text: str | None = None
    location: str | None = None
    chain: list[CertificateSummary] = field(default_factory=list)
    signature_value_sha256: str | None = None
    message_vi: str = ""
    message_en: str = ""
    signature_information: dict[str, Any] = field(default_factory=dict)

    def add(self, reason: Reason) -> None:
        if all(r.code != reason.code or r.detail != reason.detail for r in self.reasons):
            self.reasons.append(reason)

    def has(self, code: str) -> bool:
        return any(r.code == code for r in self.reasons)

    def decide_status(self) -> Status:
        effects = {r.effect for r in self.reasons}
        if Effect.INVALID in effects:
            self.status = Status.INVALID
        elif Effect.INDETERMINATE in effects:
            self.status = Status.INDETERMINATE
        else:
            self.status = Status.VALID
        return self.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field_name": self.field_name,
            "kind": self.kind.value,
            "status": self.status.value,
            "status_vi": self.status.label_vi,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "coverage": self.coverage.value,
            "modification": self.modification.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "subfilter": self.subfilter,
            "signed_revision": self.signed_revision,
            "total_revisions": self.total_revisions,
            "byte_range": list(self.byte_range),
            "signed_bytes": self.signed_bytes,
            "signer": self.signer.to_dict() if self.signer else None,
            "signing_time": self.signing_time,
            "signing_time_source": self.signing_time_source,
            "claimed_signing_time": self.claimed_signing_time,
            "reference_time": self.reference_time,
            "timestamp": self.timestamp.to_dict() if self.timestamp else None,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "key_algorithm": self.key_algorithm,
            "key_bits": self.key_bits,
            "revocation": self.revocation.value,
            "revocation_source": self.revocation_source,
            "certification": self.certification,
            "reason": self.reason_text,
            "location": self.location,
            "chain": [c.to_dict() for c in self.chain],
            "signature_value_sha256": self.signature_value_sha256,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "signature_information": self.signature_information,
        }


@dataclass
class FileSignatures:
    path: str
    sha256: str
    """Our own SHA-256 of the whole file, computed while validating."""
    size: int
    validation_time: str
    readable: bool = True
    error: Reason | None = None
    revisions: int | None = None
    trailing_bytes: int = 0
    """Bytes after the end of the last revision (after its %%EOF), other than a line end."""
    signatures: list[SignatureResult] = field(default_factory=list)
    trust_store: str = ""
    """Fingerprint of the trust-anchor set used (see `TrustStore.fingerprint`)."""
    software: str = ""

    @property
    def signed(self) -> bool:
        """At least one signature (document timestamps alone do not make a document signed)."""
        return any(s.kind is Kind.SIGNATURE for s in self.signatures)

    @property
    def status(self) -> Status | None:
        """Worst status over every signature; None when there is none."""
        statuses = {s.status for s in self.signatures}
        if not self.readable:
            return Status.INDETERMINATE
        for candidate in (Status.INVALID, Status.INDETERMINATE, Status.VALID):
            if candidate in statuses:
                return candidate
        return None

    @property
    def message_vi(self) -> str:
        if not self.readable and self.error is not None:
            return self.error.message_vi
        if not self.signed:
            return "Tài liệu không có chữ ký số: chỉ có giá trị tham khảo"
        return "; ".join(s.message_vi for s in self.signatures)

    @property
    def message_en(self) -> str:
        if not self.readable and self.error is not None:
            return self.error.message_en
        if not self.signed:
            return "The document carries no digital signature: for reference only"
        return "; ".join(s.message_en for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        status = self.status
        return {
            "file": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "validation_time": self.validation_time,
            "readable": self.readable,
            "error": self.error.to_dict() if self.error else None,
            "signed": self.signed,
            "status": status.value if status else None,
            "revisions": self.revisions,
            "trailing_bytes": self.trailing_bytes,
            "trust_store": self.trust_store,
            "software": self.software,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "signatures": [s.to_dict() for s in self.signatures],
        }
