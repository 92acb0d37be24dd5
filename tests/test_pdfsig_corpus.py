"""R-CK-4 against pyHanko's own test vectors (../shared/corpus/pyhanko-test-data).

Every `signed-pdf` row of MANIFEST.tsv is validated with the row's trust anchor and
validation time and compared with the expected category; every malformed, encrypted and
plain PDF must give a coded result instead of an exception. Revocation URLs in the corpus
point to pyHanko's mock services, so online checking is off here.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from archive_core.settings import Settings, SignaturePolicy
from ingest.pdfsig import FileSignatures, SignatureResult, SignatureValidator, TrustStore
from ingest.pdfsig.results import Effect
from tests.conftest import corpus_dir, shared_root

pytestmark = pytest.mark.corpus
CORPUS = "pyhanko-test-data"
TIME_AND_TRUST = {"cert_expired", "cert_not_yet_valid", "untrusted_chain"}
MODIFICATION = {"modified_after_signing", "non_signature_update", "metadata_changed", "form_field_changed",
                "appended_bytes", "docmdp_violation", "nonstandard_coverage"}


def manifest_rows(case_types: set[str]) -> list[dict[str, str]]:
    """Rows of the manifest, read at collection time (empty when the corpus is absent)."""
    manifest = shared_root() / "corpus" / CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as stream:
        return [row for row in csv.DictReader(stream, delimiter="\t") if row["case_type"] in case_types]


SIGNED = manifest_rows({"signed-pdf"})
OTHER = manifest_rows({"malformed-pdf", "encrypted-pdf", "plain-pdf"})


def anchors_of(row: dict[str, str]) -> tuple[str, ...]:
    """Certificate files named in the row's trust_anchor column (key files are not anchors)."""
    found = re.findall(r"((?:crypto|pki-extracted)/[\w./-]+\.pem)", row["trust_anchor"])
    return tuple(path for path in found if ".cert." in path or path.startswith("pki-extracted/"))


def validation_time(row: dict[str, str]) -> datetime | None:
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", row["validation_time"])
    if not match:
        return None  # "(not frozen)": pyHanko's test ran at its own time; we judge now
    year, month, day = (int(part) for part in match.groups())
    return datetime(year, month, day, tzinfo=UTC)


@cache
def validator_for(anchors: tuple[str, ...]) -> SignatureValidator:
    root = corpus_dir(CORPUS)
    settings = Settings(home=Path("/nonexistent-earchive-home"), signatures=SignaturePolicy(fetch_revocation=False))
    return SignatureValidator(settings, trust=TrustStore.from_files([root / a for a in anchors]))


def validate(row: dict[str, str], anchors: tuple[str, ...] | None = None) -> FileSignatures:
    chosen = anchors_of(row) if anchors is None else anchors
    result = validator_for(chosen).validate_file(corpus_dir(CORPUS) / row["path"], at=validation_time(row))
    json.dumps(result.to_dict(), ensure_ascii=False)  # always serialisable
    return result


def first_signature(result: FileSignatures) -> SignatureResult:
    signatures = [s for s in result.signatures if s.kind.value == "signature"]
    assert signatures, result.to_dict()
    return min(signatures, key=lambda s: s.signed_revision if s.signed_revision is not None else -1)


def codes(sig: SignatureResult) -> set[str]:
    return {r.code for r in sig.reasons}


def blocking(sig: SignatureResult) -> set[str]:
    return {r.code for r in sig.reasons if r.effect is not Effect.NOTICE}


def agrees(row: dict[str, str]) -> tuple[bool, str]:
    """Does our verdict match the row's expected category? (verdict, explanation)."""
    expected = row["expected"]
    result = validate(row, anchors=()) if expected == "valid-untrusted" else validate(row)
    if expected == "not-asserted":
        return (result.error is not None or bool(result.signatures)), "coded result"
    if not result.readable:
        return False, f"unreadable: {result.error}"
    sig = first_signature(result) if result.signed else None
    summary = json.dumps([(s.field_name, s.status.value, s.modification.value, sorted(codes(s)))
                          for s in result.signatures], ensure_ascii=False)
    if expected == "valid":
        ok = all(s.status.value == "valid" and s.intact and s.trusted and s.modification.value != "modified"
                 for s in result.signatures) and bool(result.signatures)
    elif expected == "valid-untrusted":
        ok = sig is not None and sig.intact and sig.valid and not sig.trusted \
            and sig.status.value == "indeterminate" and blocking(sig) == {"untrusted_chain"}
    elif expected == "valid-with-allowed-updates":
        # (not frozen) rows were signed after the test certificate expired, and one row has no stored
        # anchor: those may be indeterminate for time/trust, never invalid
        ok = sig is not None and sig.intact and sig.valid and sig.modification.value == "allowed_updates" \
            and sig.coverage.value == "entire_revision" and blocking(sig) <= TIME_AND_TRUST
    elif expected == "modified-illegally":
        ok = sig is not None and sig.intact and sig.status.value == "invalid" \
            and sig.modification.value == "modified" and bool(codes(sig) & MODIFICATION)
    elif expected == "nonstandard-coverage":
        ok = sig is not None and sig.status.value == "invalid" and sig.coverage.value == "partial" \
            and "nonstandard_coverage" in codes(sig)
    elif expected == "invalid":
        ok = sig is not None and sig.status.value == "invalid"
    elif expected == "indeterminate":
        ok = sig is not None and sig.status.value == "indeterminate" and not any(
            r.effect is Effect.INVALID for r in sig.reasons)
    elif expected == "not-signed":
        ok = all(s.status.value != "valid" for s in result.signatures) and any(
            "not_signed_placeholder" in codes(s) for s in result.signatures)
    else:
        return False, f"unknown category {expected}"
    return ok, summary


@pytest.mark.parametrize("row", SIGNED, ids=[r["path"] for r in SIGNED])
def test_signed_vector_matches_expected_outcome(row: dict[str, str]) -> None:
    ok, explanation = agrees(row)
    assert ok, f"{row['path']}: expected {row['expected']} ({row['expected_detail']}); got {explanation}"


@pytest.mark.parametrize(
    "row", [r for r in SIGNED if r["expected"] == "valid-with-allowed-updates" and validation_time(r)],
    ids=lambda r: r["path"],
)
def test_frozen_allowed_update_vectors_are_fully_valid(row: dict[str, str]) -> None:
    """Where the row gives both an anchor and the frozen time, the first signature is plainly valid."""
    if not anchors_of(row):
        pytest.skip("row has no stored trust anchor")
    sig = first_signature(validate(row))
    assert sig.status.value == "valid" and sig.trusted, sig.to_dict()


@pytest.mark.parametrize("row", [r for r in SIGNED if r["expected"] == "modified-illegally"], ids=lambda r: r["path"])
def test_illegal_modification_is_never_reported_unchanged(row: dict[str, str]) -> None:
    for anchors in ((), anchors_of(row)):
        sig = first_signature(validate(row, anchors=anchors))
        assert sig.modification.value == "modified" and sig.coverage.value != "entire_file"
        assert sig.status.value == "invalid"


@pytest.mark.parametrize("row", OTHER, ids=[r["path"] for r in OTHER])
def test_other_pdfs_never_crash(row: dict[str, str]) -> None:
    result = validate(row, anchors=())
    if not result.readable:
        assert result.error is not None and result.error.code in {"file_unreadable", "file_encrypted"}
        assert result.error.message_vi and result.error.message_en
    assert not any(s.status.value == "valid" for s in result.signatures)
    assert len(result.sha256) == 64


def test_corpus_is_present() -> None:
    root = corpus_dir(CORPUS)
    assert (root / "MANIFEST.tsv").is_file()
    assert len(SIGNED) >= 20 and len(OTHER) >= 40


def test_agreement_over_every_signed_row() -> None:
    corpus_dir(CORPUS)
    outcomes = [agrees(row)[0] for row in SIGNED]
    assert sum(outcomes) == len(outcomes), f"agreement {sum(outcomes)}/{len(outcomes)}"
