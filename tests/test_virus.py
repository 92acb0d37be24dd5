"""R-CK-7 against a real clamd: streaming scan in the content pass, quarantine, unavailability policy."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from archive_core.findings import CheckContext
from archive_core.premis import EventType
from archive_core.settings import Limits, Settings, VirusPolicy
from ingest.checks.virus import ScanReport, ScanResult, check_viruses
from ingest.content_worker import ContentJob, run_content_pass
from ingest.package import PackageKind, ParsedPackage
from ingest.source import open_source
from tests.services import EICAR, EICAR_SIGNATURE, Clamd, free_port


def _folder_package(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "pkg"
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def _scan(
    clamd_policy: VirusPolicy, package: Path, tmp_path: Path, *, in_worker: bool = False
) -> tuple[CheckContext, Path]:
    """Scan during a content pass (here or in the content worker) and check the scanner's report."""
    ctx = CheckContext()
    quarantine = tmp_path / "quarantine"
    job = ContentJob(algorithms=frozenset({"sha256"}), threads=2, virus=clamd_policy)
    with open_source(package, Limits(), tmp_path / "staging") as source:
        outcome = run_content_pass(source, job, in_worker=in_worker)
        assert outcome.in_worker is in_worker and outcome.scan is not None
        pkg = ParsedPackage(kind=PackageKind.BAGIT, name=package.name)
        check_viruses(pkg, source, outcome.scan, ctx, quarantine)
    return ctx, quarantine


def _policy(clamd: Clamd, **changes: object) -> VirusPolicy:
    return VirusPolicy(clamd_port=clamd.port, **changes)  # type: ignore[arg-type]


def test_clean_files_pass_over_one_session_per_worker(clamd: Clamd, tmp_path: Path) -> None:
    files = {f"data/{i}.txt": f"Văn bản số {i}\n".encode() * (i * 1000 + 1) for i in range(12)}
    ctx, _ = _scan(_policy(clamd), _folder_package(tmp_path, files), tmp_path)
    assert ctx.findings == []
    scan_event = next(e for e in ctx.events if e.event_type is EventType.VIRUS_CHECK)
    assert "scanned=12 infected=0" in scan_event.outcome_detail
    assert scan_event.agent.version.startswith("ClamAV")


@pytest.mark.parametrize("in_worker", [False, True], ids=["here", "content-worker"])
def test_infected_file_is_quarantined_outside_staging_and_rejects(
    clamd: Clamd, tmp_path: Path, in_worker: bool
) -> None:
    package = _folder_package(tmp_path, {"data/ok.txt": b"hello", "data/eicar.com": EICAR})
    ctx, quarantine = _scan(_policy(clamd), package, tmp_path, in_worker=in_worker)
    assert [(f.code, f.path) for f in ctx.findings] == [("CK-VIRUS-FOUND", "data/eicar.com")]
    assert EICAR_SIGNATURE in ctx.findings[0].message_vi
    kept = quarantine / "data__eicar.com.quarantined"
    assert kept.read_bytes() == EICAR
    assert stat.S_IMODE(kept.stat().st_mode) == 0o400
    assert (package / "data/eicar.com").read_bytes() == EICAR, "the submitted package is never modified"


def test_infected_file_inside_a_zip_is_found(clamd: Clamd, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bag/data/a.txt", "sạch")
        zf.writestr("bag/data/virus.txt", EICAR)
    ctx, _ = _scan(_policy(clamd), archive, tmp_path)
    assert [f.code for f in ctx.findings] == ["CK-VIRUS-FOUND"]


@pytest.mark.parametrize(
    ("mode", "code", "severity"),
    [("reject", "CK-VIRUS-UNAVAILABLE", "error"), ("hold", "CK-VIRUS-HELD", "error"),
     ("skip", "CK-VIRUS-SKIPPED", "warning")],
)
@pytest.mark.parametrize("in_worker", [False, True], ids=["here", "content-worker"])
def test_unreachable_scanner_follows_policy(
    tmp_path: Path, mode: str, code: str, severity: str, in_worker: bool
) -> None:
    policy = VirusPolicy(clamd_port=free_port(), when_unavailable=mode, timeout_seconds=1)  # type: ignore[arg-type]
    ctx, _ = _scan(policy, _folder_package(tmp_path, {"data/a.txt": b"x"}), tmp_path, in_worker=in_worker)
    assert [(f.code, f.severity.value) for f in ctx.findings] == [(code, severity)]


def test_the_gate_scans_the_same_in_the_content_worker(clamd: Clamd, tmp_path: Path) -> None:
    from ingest.gate import GateOptions, check_package
    from ingest.generator import generate_dossier, write_tt05_sip

    package = write_tt05_sip(generate_dossier(seed=8, documents=3, doc_bytes=3_000), tmp_path / "p", as_zip=False)
    victim = sorted(package.rglob("*.pdf"))[0]
    victim.write_bytes(EICAR)
    options = GateOptions(pdf_evidence=False)
    found = {}
    for mode in ("never", "always"):
        settings = Settings(home=tmp_path / mode, content_worker=mode, virus=_policy(clamd))  # type: ignore[arg-type]
        result = check_package(package, settings, options=options)
        found[mode] = [(f.code, f.path) for f in result.findings if f.code.startswith("CK-VIRUS")]
        kept = list((settings.quarantine_dir / result.submission_id).glob("*.quarantined"))
        assert [k.read_bytes() for k in kept] == [EICAR], (mode, [f.to_dict() for f in result.findings])
    assert found["always"] == found["never"] == [("CK-VIRUS-FOUND", victim.relative_to(package).as_posix())]


def test_reports_of_a_shared_pass_join_into_one() -> None:
    """The content worker and this process each scan their share of a package."""
    policy = VirusPolicy()
    there = ScanReport(policy, True, "ClamAV 1.0", "", {"a.pdf": ScanResult("a.pdf", clean=True)})
    here = ScanReport(policy, True, "ClamAV 1.0", "", {"b.pdf": ScanResult("b.pdf", False, EICAR_SIGNATURE)})
    joined = there.joined(here)
    assert set(joined.results) == {"a.pdf", "b.pdf"} and joined.infected and joined.available
    down = ScanReport(policy, False, "", "clamd unreachable", {})
    assert not there.joined(down).available and there.joined(down).unavailable_reason == "clamd unreachable"
    assert not down.joined(there).available
