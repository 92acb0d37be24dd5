"""The Library of Congress BagIt conformance suite, read by our BagIt reader.

Every case of `../shared/corpus/bagit-conformance-suite` (MANIFEST.tsv) is read as
a folder, as a ZIP (with a top folder) and as a tar.gz (without one), and its
verdict compared with the suite's expectation:

- valid → no error-level BagIt finding (warnings allowed);
- warning → no error, at least one BagIt warning;
- invalid, linux-only, windows-only → at least one error.

Only BagIt-level findings count (`CK-BAG-*` except our Circular 02 profile codes,
`CK-FIXITY-*`, and `CK-PKG-*` refusals of the package source): suite bags carry no
Circular 02 metadata. `CK-FIXITY-NO-SHA256` is archive policy, not BagIt, and is
left out too. Cases where we depart from the suite on purpose are listed in
`DEVIATIONS` with the reason (also in docs/conformance.md, BagIt section); they are
asserted to keep departing, so the documentation cannot go stale.

The verdict comes from the real gate (`ingest.gate.check_package`) when every
part of it can run, otherwise from the reader plus the gate's own content pass
and fixity check (`tests/test_bagit_support.bagit_check`).
"""

from __future__ import annotations

import csv
import logging
import tarfile
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import bagit
import pytest

from archive_core.findings import Severity
from archive_core.settings import Settings
from ingest.readers.bagit import is_bagit_level
from tests.conftest import REPO, corpus_dir, shared_root
from tests.test_bagit_support import POLICY_ONLY, bagit_check

SUITE = "bagit-conformance-suite"
CONFORMANCE_DOC = REPO / "docs" / "conformance.md"

DEVIATIONS: dict[str, tuple[str, str]] = {
    "holey-bag": (
        "invalid",
        "fetch.txt names files that are not in the bag; RFC 8493 §3 calls only a complete bag valid and "
        "the archive never downloads, so the bag is rejected (CK-BAG-FETCH-INCOMPLETE)",
    ),
    "local-fetch": (
        "invalid",
        "fetch.txt names a file on the producer's own disk (file:///home/…) that is not in the bag, "
        "under a path outside data/ (RFC 8493 §2.2.3: fetch.txt lists payload files only)",
    ),
}
"""Case directory name → (our verdict, why we depart from the suite)."""

BAGIT_PYTHON_DIFFERENCES: dict[str, str] = {
    "duplicate-file-with-different-case": (
        "bagit-python reports data/HELLO.txt missing; we take it as data/hello.txt listed twice "
        "(same checksum, case-insensitive origin) and warn (CK-BAG-NAME-CASE)"
    ),
    "made-with-md5sum-tools": "bagit-python drops the '*' silently; we warn (CK-BAG-MD5SUM-MARKER)",
    "same-filename-listed-twice-with-different-normalization": (
        "bagit-python fails the checksum of the NFD spelling; we compare names in NFC and warn "
        "(CK-BAG-NAME-NORMALIZATION)"
    ),
    "out-of-scope-file-paths-using-absolute-path-for-fetch": (
        "on POSIX bagit-python does not see C:\\ as absolute in fetch.txt; we refuse drive paths "
        "everywhere (CK-BAG-PATH-UNSAFE)"
    ),
    "out-of-scope-file-paths-using-unc-for-fetch": (
        "on POSIX bagit-python accepts a \\\\?\\UNC path in fetch.txt; we refuse it (CK-BAG-PATH-UNSAFE)"
    ),
    "bagit-with-invalid-whitespace": (
        "bagit-python strips the space before ':' in bagit.txt; RFC 8493 forbids it "
        "(CK-BAG-DECLARATION-INVALID)"
    ),
}
"""Case directory name → why bagit-python 1.9 and we reach different verdicts (we agree with the suite)."""


@dataclass(frozen=True)
class Case:
    path: str
    category: str
    version_dir: str
    declared_version: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def expected(self) -> str:
        """The suite's verdict: `valid`, `warning` or `invalid`."""
        return "invalid" if self.category.endswith("-only") else self.category

    @property
    def target(self) -> str:
        """What we must answer: the suite's verdict unless we depart from it on purpose."""
        return DEVIATIONS[self.name][0] if self.name in DEVIATIONS else self.expected


def _manifest_cases() -> list[Case]:
    """Cases listed in MANIFEST.tsv (empty when the corpus is absent: the tests then skip)."""
    manifest = shared_root() / "corpus" / SUITE / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Case(row["path"], row["suite_category"], row["suite_version_dir"], row["declared_bagit_version"])
        for row in rows
    ]


CASES = _manifest_cases()


def agrees(expected: str, verdict: str) -> bool:
    if expected == "valid":
        return verdict in ("valid", "warning")
    return verdict == expected


# --- running a case -------------------------------------------------------------------------------
@cache
def gate_runs() -> bool:
    """True when every stage of the real gate can be imported and run."""
    try:
        from ingest import content_worker, metadata_pass
        from ingest.checks import formats, metadata, policy  # noqa: F401

        metadata_pass.readers()
        content_worker.format_identifier()
    except (ImportError, AttributeError, NotImplementedError):
        return False
    return True


def verdict_of(path: Path, settings: Settings, staging: Path) -> str:
    if gate_runs():
        from ingest.gate import check_package

        result = check_package(path, settings)
        levels = {f.severity for f in result.findings if _bagit_level(f.code)}
        if "CK-PKG-UNKNOWN-KIND" in result.codes():
            return "invalid"
    else:
        check = bagit_check(path, settings, staging)
        if not check.accepted:
            return "invalid"
        levels = {f.severity for f in check.bagit_findings()}
    if Severity.ERROR in levels:
        return "invalid"
    return "warning" if Severity.WARNING in levels else "valid"


def _bagit_level(code: str) -> bool:
    return (is_bagit_level(code) or code.startswith("CK-PKG-")) and code not in POLICY_ONLY


def case_dir(case: Case) -> Path:
    return corpus_dir(SUITE) / case.path


def zip_case(case: Case, target: Path) -> Path:
    """The bag as a ZIP whose members live under one top folder (the usual way bags travel)."""
    source = case_dir(case)
    archive = target / f"{case.name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, f"{case.name}/{path.relative_to(source).as_posix()}")
    return archive


def tar_case(case: Case, target: Path) -> Path:
    """The bag as a tar.gz with its files at the top level (no top folder)."""
    source = case_dir(case)
    archive = target / f"{case.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                tf.add(path, path.relative_to(source).as_posix(), recursive=False)
    return archive


def bagit_python_verdict(path: Path) -> str:
    """bagit-python 1.9: an exception is invalid; a logged warning is a warning."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("bagit")
    handler = Collect(level=logging.WARNING)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        bagit.Bag(str(path)).validate()
    except bagit.BagError:
        return "invalid"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return "warning" if records else "valid"


# --- the tests ------------------------------------------------------------------------------------
def test_suite_is_present_and_complete() -> None:
    root = corpus_dir(SUITE)
    assert CASES, "MANIFEST.tsv lists no case"
    listed = {case.path for case in CASES}
    on_disk = {p.parent.relative_to(root).as_posix() for p in root.glob("v*/*/*/*") if p.is_file()}
    assert listed == on_disk
    assert {case.category for case in CASES} <= {"valid", "invalid", "warning", "linux-only", "windows-only"}


@pytest.mark.corpus
@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_folder_verdict(case: Case, settings: Settings, tmp_path: Path) -> None:
    verdict = verdict_of(case_dir(case), settings, tmp_path / "staging")
    assert agrees(case.target, verdict), f"{case.path}: suite {case.expected}, target {case.target}, got {verdict}"
    if case.name in DEVIATIONS:
        assert not agrees(case.expected, verdict), f"{case.path} no longer departs from the suite: update DEVIATIONS"


@pytest.mark.corpus
@pytest.mark.parametrize("packing", ["zip", "tar.gz"])
@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_archive_verdict(case: Case, packing: str, settings: Settings, tmp_path: Path) -> None:
    folder = verdict_of(case_dir(case), settings, tmp_path / "staging-folder")
    archive = zip_case(case, tmp_path) if packing == "zip" else tar_case(case, tmp_path)
    verdict = verdict_of(archive, settings, tmp_path / "staging-archive")
    assert verdict == folder, f"{case.path} as {packing}: {verdict}, as a folder: {folder}"
    assert agrees(case.target, verdict)


@pytest.mark.corpus
@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_differential_bagit_python(case: Case, settings: Settings, tmp_path: Path) -> None:
    """Where bagit-python and we reach different verdicts, the suite must side with us
    (or the case is one of our documented departures), and each documented difference must hold."""
    ours = verdict_of(case_dir(case), settings, tmp_path / "staging")
    theirs = bagit_python_verdict(case_dir(case))
    ours_right, theirs_right = agrees(case.expected, ours), agrees(case.expected, theirs)
    if case.name in BAGIT_PYTHON_DIFFERENCES:
        assert ours_right and not theirs_right, f"{case.path}: documented difference no longer holds"
        return
    if ours_right == theirs_right:
        return
    assert ours_right or case.name in DEVIATIONS, f"{case.path}: bagit-python ({theirs}) is right, we ({ours}) are not"
    warnings.warn(f"{case.path}: ours {ours}, bagit-python {theirs}: add to BAGIT_PYTHON_DIFFERENCES", stacklevel=1)


@pytest.mark.corpus
def test_agreement_figures(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Per (version group, category): cases, agreement with the suite, agreement of bagit-python."""
    corpus_dir(SUITE)
    totals: Counter[tuple[str, str]] = Counter()
    ours_ok: Counter[tuple[str, str]] = Counter()
    clean: Counter[tuple[str, str]] = Counter()
    theirs_ok: Counter[tuple[str, str]] = Counter()
    for number, case in enumerate(CASES):
        key = (case.version_dir, case.category)
        verdict = verdict_of(case_dir(case), settings, tmp_path / f"staging-{number}")
        totals[key] += 1
        ours_ok[key] += agrees(case.expected, verdict)
        clean[key] += verdict == case.expected
        theirs_ok[key] += agrees(case.expected, bagit_python_verdict(case_dir(case)))
    departures = sum(1 for case in CASES if case.name in DEVIATIONS)
    assert sum(ours_ok.values()) == len(CASES) - departures
    lines = ["| version | category | cases | earchive agrees | of which exact | bagit-python 1.9 agrees |",
             "|---|---|---|---|---|---|"]
    for key in sorted(totals):
        lines.append(f"| {key[0]} | {key[1]} | {totals[key]} | {ours_ok[key]} | {clean[key]} | {theirs_ok[key]} |")
    lines.append(
        f"| all | all | {len(CASES)} | {sum(ours_ok.values())} | {sum(clean.values())} | {sum(theirs_ok.values())} |"
    )
    with capsys.disabled():
        print("\nBagIt conformance (" + ("gate" if gate_runs() else "reader + fixity") + "):")
        print("\n".join(lines))


def test_conformance_doc_names_every_departure() -> None:
    text = CONFORMANCE_DOC.read_text(encoding="utf-8")
    section = text.split("## BagIt", 1)[1].split("\n## ", 1)[0]
    for name in [*DEVIATIONS, *BAGIT_PYTHON_DIFFERENCES]:
        assert name in section, f"docs/conformance.md (BagIt section) does not mention {name}"
