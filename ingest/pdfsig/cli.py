"""Support for `earchive signatures FILE [--at TIME] [--trust DIR] --json` (the lead wires the command)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from archive_core.settings import Settings
from ingest.pdfsig.trust import TrustStore
from ingest.pdfsig.validator import SignatureValidator


def signatures_json(path: Path, *, at: datetime | None, trust_dir: Path | None, settings: Settings) -> dict[str, Any]:
    """Validate one PDF and return a JSON-ready report.

    `trust_dir` overrides `settings.trust_dir`; `at` (time-zone aware) is the validation
    time, default now. The top level has `file`, `sha256`, `signed`, `status`, `message_vi`,
    `trust_anchors`, `trust_problems` and `signatures`: one entry per signature with
    `status`, `intact`, `trusted`, `coverage`, `modification`, `signer`, `organisation`,
    `position`, `signing_time`, `reasons` (codes), `message_vi`, and `details` (everything
    `SignatureResult.to_dict()` has).
    """
    trust = TrustStore.from_folder(trust_dir if trust_dir is not None else settings.trust_dir)
    result = SignatureValidator(settings, trust=trust).validate_file(path, at=at)
    full = result.to_dict()
    signatures = []
    for sig, details in zip(result.signatures, full["signatures"], strict=True):
        signer = sig.signer
        signatures.append({
            "field": sig.field_name,
            "kind": sig.kind.value,
            "status": sig.status.value,
            "intact": sig.intact,
            "trusted": sig.trusted,
            "coverage": sig.coverage.value,
            "modification": sig.modification.value,
            "signer": signer.common_name if signer else None,
            "organisation": signer.organisation if signer else None,
            "position": signer.position if signer else None,
            "signing_time": sig.signing_time,
            "signing_time_source": sig.signing_time_source,
            "revocation": sig.revocation.value,
            "reasons": [r.code for r in sig.reasons],
            "message_vi": sig.message_vi,
            "message_en": sig.message_en,
            "details": details,
        })
    return {
        "file": full["file"],
        "sha256": full["sha256"],
        "size": full["size"],
        "validation_time": full["validation_time"],
        "readable": full["readable"],
        "error": full["error"],
        "signed": full["signed"],
        "status": full["status"],
        "revisions": full["revisions"],
        "trailing_bytes": full["trailing_bytes"],
        "message_vi": full["message_vi"],
        "message_en": full["message_en"],
        "trust_anchors": [a["subject"] for a in trust.describe() if a["role"] == "anchor"],
        "trust_problems": list(trust.problems),
        "software": full["software"],
        "signatures": signatures,
    }
