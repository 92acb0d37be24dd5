"""The whole gate, end to end, on generated dossiers: clean packages, every injectable fault, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive_core.findings import Severity, registry
from archive_core.premis import EventType
from archive_core.settings import Settings
from ingest.checks import load_all_checks
from ingest.gate import STRUCTURAL_ONLY, GateOptions, check_package
from ingest.generator import (
    Fault,
    FaultOptions,
    GeneratedDossier,
    generate_dossier,
    sign_dossier,
    write_bagit,
    write_tt05_sip,
)
from ingest.generator.bag import write_bag
from ingest.generator.model import file_ref
from ingest.generator.sip import write_sip
from ingest.receipt import Verdict
from tests.services import Clamd

SMALL_LIMIT = 150_000


@pytest.fixture(scope="module")
def dossier() -> GeneratedDossier:
    return generate_dossier(seed=3, documents=3, doc_bytes=40_000)


def _settings(tmp_path: Path, **policy: object) -> Settings:
    settings = Settings(home=tmp_path / "home", workers=2)
    for key, value in policy.items():
        setattr(settings.policy, key, value)
    return settings


@pytest.mark.parametrize("form", ["sip-zip", "sip-folder", "bag-zip", "bag-tar.gz", "bag-folder"])
def test_clean_packages_are_accepted(dossier: GeneratedDossier, tmp_path: Path, form: str) -> None:
    if form.startswith("sip"):
        package = write_tt05_sip(dossier, tmp_path / "out", as_zip=form == "sip-zip")
    else:
        package = write_bagit(dossier, tmp_path / "out", form=form.removeprefix("bag-"))  # type: ignore[arg-type]
    result = check_package(package, _settings(tmp_path), options=STRUCTURAL_ONLY)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert errors == []
    assert result.verdict in {Verdict.ACCEPTED, Verdict.ACCEPTED_WITH_WARNINGS}
    receipt = result.receipt
    assert receipt.documents == 3 and receipt.dossiers == 1
    assert receipt.agency_code == "000.00.00.H12"
    assert receipt.total_bytes == sum(o.size for o in result.observed.values()) > 100_000
    assert receipt.received_at.utcoffset() is not None
    assert receipt.received_at.utcoffset().total_seconds() == 7 * 3600  # type: ignore[union-attr]
    event_types = {e.event_type for e in result.events}
    assert {EventType.RECEIPT, EventType.FIXITY_CHECK, EventType.FORMAT_IDENTIFICATION, EventType.VALIDATION} <= (
        event_types
    )
    assert not (tmp_path / "home" / "staging" / result.submission_id).exists(), "staging is cleaned up"


def _fault_cases() -> list[tuple[Fault, str]]:
    return [(fault, fmt) for fault in Fault for fmt in sorted(fault.formats) if fault is not Fault.BIG_FILE]


@pytest.mark.parametrize(("fault", "fmt"), _fault_cases(), ids=lambda v: getattr(v, "value", v))
def test_each_fault_is_reported_with_its_code(
    dossier: GeneratedDossier, tmp_path: Path, fault: Fault, fmt: str
) -> None:
    out = tmp_path / "out"
    if fmt == "tt05":
        package = write_tt05_sip(dossier, out, faults=[fault])
    else:
        package = write_bagit(dossier, out, faults=[fault])
    result = check_package(package, _settings(tmp_path), options=STRUCTURAL_ONLY)
    expected = set(fault.codes_for(fmt))  # type: ignore[arg-type]
    assert expected <= result.codes(), f"{fault.value} in {fmt}: got {sorted(result.codes())}"
    # The fault's own findings decide the verdict; nothing else in the package may be wrong.
    own = [f for f in result.findings if f.code in expected]
    others = [f for f in result.findings if f.code not in expected and f.severity is Severity.ERROR]
    assert others == [], f"{fault.value} in {fmt}: unexpected errors {[f.code for f in others]}"
    if any(f.severity is Severity.ERROR for f in own):
        assert result.verdict is Verdict.REJECTED
    else:
        assert result.verdict is Verdict.ACCEPTED_WITH_WARNINGS, sorted(result.codes())


def test_big_file_is_flagged_by_policy(tmp_path: Path) -> None:
    small = generate_dossier(seed=4, documents=2, doc_bytes=30_000)
    options = FaultOptions(big_file_bytes=SMALL_LIMIT + 1)
    package = write_sip(small, tmp_path / "out", faults=[Fault.BIG_FILE], options=options)
    result = check_package(package, _settings(tmp_path, max_file_bytes=SMALL_LIMIT), options=STRUCTURAL_ONLY)
    assert "CK-POL-FILE-SIZE" in result.codes()
    bag = write_bag(small, tmp_path / "bag", faults=[Fault.BIG_FILE], options=options)
    result = check_package(bag, _settings(tmp_path, max_file_bytes=SMALL_LIMIT), options=STRUCTURAL_ONLY)
    assert "CK-POL-FILE-SIZE" in result.codes()


def test_same_package_twice_gives_same_fingerprint_and_new_submission(
    dossier: GeneratedDossier, tmp_path: Path
) -> None:
    package = write_tt05_sip(dossier, tmp_path / "out")
    first = check_package(package, _settings(tmp_path), options=STRUCTURAL_ONLY)
    second = check_package(package, _settings(tmp_path), options=STRUCTURAL_ONLY)
    assert first.receipt.fingerprint == second.receipt.fingerprint
    assert first.submission_id != second.submission_id
    other = write_tt05_sip(generate_dossier(seed=5, documents=3, doc_bytes=40_000), tmp_path / "other")
    assert check_package(other, _settings(tmp_path), options=STRUCTURAL_ONLY).receipt.fingerprint != (
        first.receipt.fingerprint
    )


def test_full_gate_with_a_real_virus_scanner(dossier: GeneratedDossier, tmp_path: Path, clamd: Clamd) -> None:
    package = write_tt05_sip(dossier, tmp_path / "out")
    settings = _settings(tmp_path)
    settings.virus.clamd_port = clamd.port
    result = check_package(package, settings, options=GateOptions(pdf_evidence=False))
    assert not [f for f in result.findings if f.severity is Severity.ERROR]
    scan = next(e for e in result.events if e.event_type is EventType.VIRUS_CHECK)
    assert f"scanned={len(result.observed)} infected=0" in scan.outcome_detail


def test_every_finding_code_has_both_messages_and_a_rule() -> None:
    load_all_checks()
    kinds = registry()
    assert len(kinds) > 120
    for code, kind in kinds.items():
        assert code.startswith("CK-"), code
        assert kind.rule and kind.message_vi and kind.message_en, code
        assert kind.message_vi != kind.message_en, code


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "EARCHIVE_VIRUS__ENABLED": "false", "EARCHIVE_VIRUS__WHEN_UNAVAILABLE": "skip"},
    )


def test_cli_json_and_exit_codes(dossier: GeneratedDossier, tmp_path: Path) -> None:
    clean = write_tt05_sip(dossier, tmp_path / "clean")
    rejected = write_tt05_sip(dossier, tmp_path / "bad", faults=[Fault.SECRET_MODE])
    warned = write_tt05_sip(dossier, tmp_path / "warn", faults=[Fault.NOT_NFC])
    outputs = {}
    for name, package in (("clean", clean), ("rejected", rejected), ("warned", warned)):
        run = _cli("check", str(package), "--json", home=tmp_path / "home")
        outputs[name] = (run.returncode, json.loads(run.stdout))
    assert outputs["rejected"][0] == 20 and outputs["rejected"][1]["verdict"] == "rejected"
    assert outputs["warned"][0] == 10 and outputs["warned"][1]["verdict"] == "accepted_with_warnings"
    assert outputs["clean"][0] in {0, 10}
    body = outputs["rejected"][1]
    for key in ("verdict", "findings", "events", "receipt"):
        assert key in body
    secret = next(f for f in body["findings"] if f["code"] == "CK-POL-SECRET-MODE")
    assert set(secret) >= {"code", "severity", "path", "rule", "message_vi", "message_en"}
    assert secret["rule"] == "R-CK-6" and "Mật" in secret["message_vi"]
    assert body["receipt"]["received_at"].endswith("+07:00")
    assert {"submission_id", "agency_code", "agency_name", "dossiers", "documents", "files", "total_bytes",
            "status"} <= set(body["receipt"])


def test_cli_report_is_vietnamese_and_grouped_by_document(dossier: GeneratedDossier, tmp_path: Path) -> None:
    package = write_tt05_sip(dossier, tmp_path / "bad", faults=[Fault.BAD_DATE])
    run = _cli("check", str(package), home=tmp_path / "home")
    assert run.returncode == 20
    assert "BIÊN NHẬN" in run.stdout and "KẾT QUẢ THEO TỪNG TÀI LIỆU" in run.stdout
    assert "KHÔNG ĐẠT" in run.stdout and "CK-META-BAD-DATE" in run.stdout


def test_cli_usage_error_is_exit_2(tmp_path: Path) -> None:
    assert _cli("check", str(tmp_path / "nope.zip"), home=tmp_path / "home").returncode == 2


def _signed_dossier(tmp_path: Path) -> tuple[GeneratedDossier, Path]:
    generated = sign_dossier(generate_dossier(seed=8, documents=3, doc_bytes=40_000), tmp_path / "pki", tmp_path / "c")
    return generated, tmp_path / "pki" / "anchors"


def test_full_gate_reports_signatures_and_pdfa_per_document(tmp_path: Path) -> None:
    generated, anchors = _signed_dossier(tmp_path)
    package = write_tt05_sip(generated, tmp_path / "out")
    settings = _settings(tmp_path)
    settings.signatures.trust_dir = anchors
    result = check_package(package, settings, options=GateOptions(virus_scan=False))
    assert result.verdict is Verdict.ACCEPTED_WITH_WARNINGS
    for doc in result.package.documents if result.package else []:
        own = {f.code for f in result.findings if f.document == doc.key}
        assert {"CK-SIG-VALID", "CK-PDFA-NOT-PDFA"} <= own, (doc.key, own)
    body = result.to_dict()
    statuses = [s["status"] for report in body["signatures"].values() for s in report["signatures"]]
    assert statuses == ["valid"] * 3
    assert {r["verdict"] for r in body["pdfa"].values()} == {"fail"}
    assert sum(1 for e in result.events if e.event_type is EventType.DIGITAL_SIGNATURE_VALIDATION) == 3


def test_document_changed_after_signing_is_rejected(tmp_path: Path) -> None:
    generated, anchors = _signed_dossier(tmp_path)
    victim = generated.documents[1].files[0]
    assert victim.path is not None
    with victim.path.open("ab") as stream:
        stream.write(b"\n% a line added after signing\n")
    data = victim.path.read_bytes()
    victim.size, victim.sha256 = len(data), hashlib.sha256(data).hexdigest()
    generated.documents[1].document.files = [file_ref(victim)]
    package = write_tt05_sip(generated, tmp_path / "out")
    settings = _settings(tmp_path)
    settings.signatures.trust_dir = anchors
    result = check_package(package, settings, options=GateOptions(virus_scan=False))
    assert result.verdict is Verdict.REJECTED
    modified = [f for f in result.findings if f.code == "CK-SIG-MODIFIED"]
    assert len(modified) == 1 and modified[0].document == generated.documents[1].document.key
    assert "CK-FIXITY-MISMATCH" not in result.codes(), "the package itself is consistent"


def test_untrusted_signer_is_a_warning(tmp_path: Path) -> None:
    generated, _ = _signed_dossier(tmp_path)
    package = write_tt05_sip(generated, tmp_path / "out")
    settings = _settings(tmp_path)
    settings.signatures.trust_dir = tmp_path / "empty-trust"
    settings.signatures.trust_dir.mkdir()
    result = check_package(package, settings, options=GateOptions(virus_scan=False))
    assert "CK-SIG-VALID" not in result.codes()
    assert result.verdict is Verdict.ACCEPTED_WITH_WARNINGS


def test_no_automatic_preservation_copy_above_the_size_limit(dossier: GeneratedDossier, tmp_path: Path) -> None:
    package = write_tt05_sip(dossier, tmp_path / "out")
    settings = _settings(tmp_path)
    options = GateOptions(virus_scan=False, preservation_copies=True, stage_files=True)
    made = check_package(package, settings, options=options)
    assert made.evidence.copies, "small unsigned non-PDF/A originals get a preservation copy"
    settings.pdfa.max_copy_bytes = 1000
    skipped = check_package(package, settings, options=options)
    assert skipped.evidence.copies == {}
    assert sum(1 for f in skipped.findings if f.code == "CK-PDFA-COPY-TOO-LARGE") == 3
