"""The human report of a gate run, in Vietnamese, grouped by document (R-IN-4)."""

from __future__ import annotations

from collections import defaultdict

from archive_core.findings import Finding, Severity
from archive_core.timeutil import iso_vn
from ingest.gate import GateResult

KIND_LABELS = {
    "tt05-sip-hoso": "Gói SIP hồ sơ theo TT 05/2025/TT-BNV",
    "tt05-sip-tailieu": "Gói SIP tài liệu theo TT 05/2025/TT-BNV",
    "csip": "Gói thông tin E-ARK CSIP (không có đặc tả TT 05)",
    "bagit-c02": "Túi BagIt kèm đặc tả Thông tư 02/2019/TT-BNV",
    "bagit": "Túi BagIt (không có đặc tả hồ sơ)",
    "unknown": "Không xác định",
}


def render_report(result: GateResult) -> str:
    lines = _header(result)
    by_document: dict[str | None, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_document[finding.document].append(finding)
    lines.append("")
    lines.append("I. KẾT QUẢ KIỂM TRA CHUNG CỦA GÓI")
    general = by_document.pop(None, [])
    lines.extend(_finding_lines(general) or ["   Không có lỗi hay cảnh báo."])
    lines.append("")
    lines.append("II. KẾT QUẢ THEO TỪNG TÀI LIỆU")
    documents = result.package.documents if result.package else []
    if not documents:
        lines.append("   (Không đọc được tài liệu nào.)")
    for number, doc in enumerate(documents, start=1):
        own = by_document.pop(doc.key, [])
        failed = any(f.severity is Severity.ERROR for f in own)
        status = "KHÔNG ĐẠT" if failed else "Đạt"
        title = f" — {_shorten(doc.subject, 90)}" if doc.subject else ""
        lines.append(f"{number:>4}. {doc.key}{title}: {status}")
        lines.extend(_finding_lines(own, indent="        "))
    for key, rest in by_document.items():
        lines.append(f"      {key}:")
        lines.extend(_finding_lines(rest, indent="        "))
    lines.append("")
    lines.append(_totals(result.findings))
    return "\n".join(lines) + "\n"


def _header(result: GateResult) -> list[str]:
    receipt = result.receipt
    agency = receipt.agency_name or "(không rõ)"
    if receipt.agency_code:
        agency += f" (mã {receipt.agency_code})"
    return [
        "BIÊN NHẬN VÀ KẾT QUẢ KIỂM TRA GÓI HỒ SƠ NỘP LƯU",
        f"Mã tiếp nhận:        {receipt.submission_id}",
        f"Gói:                 {receipt.package_name}",
        f"Loại gói:            {KIND_LABELS.get(receipt.package_kind, receipt.package_kind)}",
        f"Cơ quan nộp:         {agency}",
        f"Mã hồ sơ:            {', '.join(c for c in receipt.dossier_codes if c) or '(không có)'}",
        f"Số hồ sơ/tài liệu/tệp: {receipt.dossiers} / {receipt.documents} / {receipt.files}",
        f"Tổng dung lượng:     {_size(receipt.total_bytes)}",
        f"Thời gian tiếp nhận: {iso_vn(receipt.received_at)}",
        f"Kết luận:            {result.verdict.label_vi}",
    ]


def _finding_lines(findings: list[Finding], indent: str = "   ") -> list[str]:
    lines = []
    for finding in findings:
        where = f" [{finding.path}]" if finding.path and finding.path not in finding.message_vi else ""
        lines.append(
            f"{indent}- {finding.severity.label_vi} {finding.code} ({finding.rule}){where}: {finding.message_vi}"
        )
    return lines


def _totals(findings: list[Finding]) -> str:
    counts = {severity: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity] += 1
    return (
        f"Tổng hợp: {counts[Severity.ERROR]} lỗi, {counts[Severity.WARNING]} cảnh báo, "
        f"{counts[Severity.INFO]} thông tin."
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("byte", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "byte" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} byte"


def _shorten(text: str | None, width: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
