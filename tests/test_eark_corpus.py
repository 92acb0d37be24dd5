"""E-ARK CSIP / SIP conformance against the DILCIS Board test corpus (`../shared/corpus/eark-ip`).

Every `MANIFEST.tsv` row with `present=yes` names a package and the expected
outcome for one requirement. Each package is read the way the gate reads it:
`Tt05Reader` (METS parsing + `check_csip`), then one content pass and the
generic fixity check (R-CK-1). Fixity findings on a METS declaration are
attributed to the CSIP requirement of the declaring element
(`ingest.checks.csip.fixity_requirement`: a wrong `mdRef/@SIZE` in a dmdSec is
CSIP27 …).

A row agrees when, for findings whose `rule` is the row's requirement:
reject → an error; accept-with-warning → a warning and no error;
accept-with-info → information and no error or warning; accept → no error.

`test_implemented_requirements_agree` asserts agreement on every row of an
implemented requirement, except `KNOWN_EXCEPTIONS` (each with its reason; the
corpus artefacts among them are verified, not just asserted).
`test_agreement_figure_is_documented` keeps `docs/conformance.md` honest.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from archive_core.findings import CheckContext, Finding, PackageRejected, Severity
from archive_core.settings import Settings
from archive_core.xmlsafe import XmlError, parse_xml
from ingest.checks.csip import (
    FIXITY_REQUIREMENTS,
    IMPLEMENTED,
    REQUIREMENTS,
    SCHEMA_DIR,
    declaring_sections,
    fixity_requirement,
)
from ingest.checks.fixity import check_fixity
from ingest.content import ContentPass
from ingest.readers.mets import MetsDocument, PathIndex, parse_mets
from ingest.readers.tt05 import Tt05Reader
from ingest.source import PackageSource
from tests.conftest import REPO, corpus_dir
from tests.test_tt05_reader import open_package

pytestmark = pytest.mark.corpus

IMPLEMENTED_REQUIREMENTS: frozenset[str] = frozenset(IMPLEMENTED) | frozenset(FIXITY_REQUIREMENTS.values())
"""Every requirement id we check: by `check_csip`, or through fixity (R-CK-1) on its declaration."""

EXPECTED_SEVERITY = {
    "reject": Severity.ERROR,
    "accept-with-warning": Severity.WARNING,
    "accept-with-info": Severity.INFO,
}
FIXITY_ASPECT = {"CK-FIXITY-MISMATCH": "checksum", "CK-FIXITY-SIZE-MISMATCH": "size", "CK-FIXITY-MISSING": "exists"}

CRLF_ARTEFACT = (
    "corpus artefact: the 'valid' package declares SIZE/CHECKSUM of a file with CRLF line ends, but the "
    "file in the corpus has LF line ends (upstream git normalised them), so our fixity check rightly "
    "reports a mismatch; the test verifies that the declared values match the CRLF form of the bytes"
)
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("CSIP40/invalid/mdRef_MIMETYPE_too_much_content", "CSIP40"): (
        "the 293-character MIMETYPE is also not a media type at all, so rule 2 of CSIP40 (value from the IANA "
        "list, ERROR) rejects the package while the row is about rule 3 (length, WARNING); we report both"
    ),
    ("CSIP61/invalid/fileGrp_ADMID_incorrect_ref2", "CSIP61"): (
        "the package's fileGrp/@ADMID is correct; the wrong reference (a fileGrp ID) is in "
        "structMap/div[@LABEL='Metadata']/@ADMID, which we report under CSIP91 (warning)"
    ),
    ("CSIP41/valid/valid_IP_with_SHOULD_MAY_1_rep", "CSIP41"): CRLF_ARTEFACT,
    ("CSIP43/valid/valid_IP_with_SHOULD_MAY_1_rep", "CSIP43"): CRLF_ARTEFACT,
    ("CSIP54/valid/valid_IP_with_SHOULD_MAY_1_rep", "CSIP54"): CRLF_ARTEFACT,
    ("CSIP69/valid/minimal_IP_with_1_representation", "CSIP69"): CRLF_ARTEFACT,
    ("CSIP71/valid/minimal_IP_with_1_representation", "CSIP71"): CRLF_ARTEFACT,
}

DOC_SECTION = "## E-ARK CSIP / SIP test corpus"


# ---------------------------------------------------------------- corpus access


@dataclass(frozen=True)
class Row:
    member: str
    requirement: str
    rule_id: str
    expected: str
    level: str


@dataclass
class Outcome:
    findings: list[Finding]
    rejected: bool
    mismatches: list[tuple[str, str]]
    """(path, declared-by METS) of fixity mismatches, for the CRLF verification."""
    package_dir: Path | None


def _rows(base: Path) -> list[Row]:
    with (base / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return [
            Row(r["member"], r["requirement"], r["rule_id"], r["expected_ingest"], r["error_level"])
            for r in reader
            if r["present"] == "yes"
        ]


def _extract(base: Path, target: Path) -> None:
    for archive in sorted((base / "cases").glob("*/*.tar.xz")):
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Row], dict[str, Outcome]]:
    base = corpus_dir("eark-ip")
    cases = tmp_path_factory.mktemp("eark-cases")
    _extract(base, cases)
    work = tmp_path_factory.mktemp("eark-work")
    rows = _rows(base)
    outcomes = {member: _run(cases / member, work) for member in sorted({r.member for r in rows})}
    return rows, outcomes


def _package_path(path: Path) -> Path:
    """The IP root: some cases wrap the package in one more folder (`…/package/`)."""
    if path.is_dir() and not (path / "METS.xml").exists():
        children = list(path.iterdir())
        if len(children) == 1 and children[0].is_dir():
            return children[0]
    return path


def _run(member: Path, work: Path) -> Outcome:
    path = _package_path(member)
    settings = Settings(home=work / "home")
    ctx = CheckContext()
    with open_package(path, work) as source:
        try:
            package = Tt05Reader().read(source, ctx, settings)
        except PackageRejected as rejected:
            ctx.add(rejected.finding)
            return Outcome(list(ctx.findings), True, [], path if path.is_dir() else None)
        observed = ContentPass(source=source, algorithms=frozenset(package.algorithms()), workers=1).run()
        fixity = CheckContext()
        check_fixity(package, observed, fixity)
        attributed, mismatches = _attribute(source, fixity.findings, settings)
    return Outcome(list(ctx.findings) + attributed, False, mismatches, path if path.is_dir() else None)


def _mets_documents(source: PackageSource, settings: Settings) -> list[MetsDocument]:
    paths = [e.path for e in source.entries()]
    mets = ["METS.xml"] + [p for p in paths if re.fullmatch(r"representations/[^/]+/METS\.xml", p)]
    docs = []
    for path in mets:
        try:
            data = source.read_bounded(path, settings.limits.max_xml_bytes)
            docs.append(parse_mets(parse_xml(data, path=path, limits=settings.limits), path))
        except XmlError:
            continue
    return docs


def _attribute(
    source: PackageSource, fixity: list[Finding], settings: Settings
) -> tuple[list[Finding], list[tuple[str, str]]]:
    """Fixity findings re-labelled with the CSIP requirement of the declaring METS element."""
    sections = declaring_sections(_mets_documents(source, settings), PathIndex(e.path for e in source.entries()))
    attributed: list[Finding] = []
    mismatches: list[tuple[str, str]] = []
    for finding in fixity:
        aspect = FIXITY_ASPECT.get(finding.code)
        section = sections.get(finding.path or "")
        requirement = fixity_requirement(section, aspect) if aspect and section else None
        if requirement is None:
            continue
        attributed.append(
            Finding(finding.code, finding.severity, requirement, finding.message_vi, finding.message_en,
                    finding.path, finding.field, finding.document)
        )
        if aspect != "exists" and finding.path:
            mismatches.append((finding.path, requirement))
    return attributed, mismatches


def agrees(row: Row, outcome: Outcome) -> bool:
    severities = {f.severity for f in outcome.findings if f.rule == row.requirement}
    if row.expected == "accept":
        return Severity.ERROR not in severities
    wanted = EXPECTED_SEVERITY[row.expected]
    worst = max(severities, key=lambda s: s.rank) if severities else None
    return worst is wanted


def _figures(rows: list[Row], outcomes: dict[str, Outcome]) -> tuple[int, int, Counter[str], Counter[str]]:
    agree = sum(1 for r in rows if agrees(r, outcomes[r.member]))
    per_total: Counter[str] = Counter(r.requirement for r in rows)
    per_agree: Counter[str] = Counter(r.requirement for r in rows if agrees(r, outcomes[r.member]))
    return agree, len(rows), per_agree, per_total


# ---------------------------------------------------------------- tests


def test_implemented_requirements_agree(corpus: tuple[list[Row], dict[str, Outcome]]) -> None:
    rows, outcomes = corpus
    failures = []
    for row in rows:
        if row.requirement not in IMPLEMENTED_REQUIREMENTS or (row.member, row.requirement) in KNOWN_EXCEPTIONS:
            continue
        if not agrees(row, outcomes[row.member]):
            mine = [(f.code, f.severity.value) for f in outcomes[row.member].findings if f.rule == row.requirement]
            failures.append(f"{row.member} {row.requirement}#{row.rule_id} expected {row.expected}, got {mine}")
    assert not failures, "\n".join(failures)


def test_known_exceptions_still_disagree_for_the_stated_reason(
    corpus: tuple[list[Row], dict[str, Outcome]],
) -> None:
    rows, outcomes = corpus
    listed = {(r.member, r.requirement) for r in rows}
    assert set(KNOWN_EXCEPTIONS) <= listed
    for (member, requirement), reason in KNOWN_EXCEPTIONS.items():
        outcome = outcomes[member]
        row_list = [r for r in rows if r.member == member and r.requirement == requirement]
        assert any(not agrees(r, outcome) for r in row_list), f"{member} {requirement} agrees now: drop it"
        if reason is CRLF_ARTEFACT:
            _assert_crlf_artefact(outcome, requirement)


def _assert_crlf_artefact(outcome: Outcome, requirement: str) -> None:
    """Every fixity mismatch of this requirement vanishes when the file is read with CRLF line ends."""
    assert outcome.package_dir is not None
    own = [path for path, req in outcome.mismatches if req == requirement]
    assert own, f"no fixity mismatch attributed to {requirement}"
    declared = _declared_values(outcome.package_dir)
    for path in own:
        size, algorithm, checksum = declared[path]
        crlf = (outcome.package_dir / path).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert len(crlf) == size
        assert hashlib.new(algorithm, crlf).hexdigest() == checksum


def _declared_values(package: Path) -> dict[str, tuple[int, str, str]]:
    doc = parse_mets(etree.parse(str(package / "METS.xml")).getroot(), "METS.xml")
    index = PathIndex(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    values: dict[str, tuple[int, str, str]] = {}
    refs = [(r.href.path, r.size_bytes, r.algorithm, r.checksum_hex) for s in doc.md_sections() for r in s.mdrefs]
    refs += [(f.path, f.size_bytes, f.algorithm, f.checksum_hex) for f in doc.files()]
    for path, size, algorithm, checksum in refs:
        actual = index.lookup(path)[0] if path else None
        if actual and size is not None and algorithm and checksum:
            values[actual] = (size, algorithm, checksum)
    return values


def test_every_row_requirement_is_implemented(corpus: tuple[list[Row], dict[str, Outcome]]) -> None:
    rows, _outcomes = corpus
    missing = sorted({r.requirement for r in rows} - IMPLEMENTED_REQUIREMENTS)
    assert missing == [], f"corpus requirements not implemented: {missing}"


def test_structure_cases_are_really_checked(corpus: tuple[list[Row], dict[str, Outcome]]) -> None:
    """Folder-rule cases carry an empty METS.xml: the folder rules must run before the refusal."""
    rows, outcomes = corpus
    for row in rows:
        outcome = outcomes[row.member]
        has_representation = outcome.package_dir is not None and (outcome.package_dir / "representations").is_dir()
        if row.requirement == "CSIPSTR11" and "CSIPSTR11_" in row.member and has_representation:
            assert outcome.rejected
            assert any(f.rule == "CSIPSTR11" and f.severity is Severity.WARNING for f in outcome.findings), row


def test_requirement_levels_follow_the_profiles() -> None:
    base = corpus_dir("eark-ip") / "reference"
    levels: dict[str, str] = {}
    for profile in ("E-ARK-CSIP-v2.0.4/profile/E-ARK-CSIP.xml", "E-ARK-SIP-v2.0.4/profile/E-ARK-SIP.xml"):
        tree = etree.parse(str(base / profile))
        for requirement in tree.iter("{http://www.loc.gov/METS_Profile/v2}requirement"):
            if requirement.get("ID") and requirement.get("REQLEVEL"):
                levels[str(requirement.get("ID"))] = str(requirement.get("REQLEVEL"))
    checked = {req: r.level for req, r in REQUIREMENTS.items() if req in levels}
    assert len(checked) > 100
    assert {req: lvl for req, lvl in checked.items() if levels[req] != lvl} == {}


def test_shipped_schemas_are_unmodified_copies() -> None:
    reference = corpus_dir("eark-ip") / "reference"
    for shipped in sorted(SCHEMA_DIR.glob("*Vocabulary*.xml")) + sorted(SCHEMA_DIR.glob("DILCIS*.xsd")):
        candidates = list(reference.rglob(shipped.name))
        assert candidates, shipped.name
        assert shipped.read_bytes() == candidates[0].read_bytes(), shipped.name
    assert (SCHEMA_DIR / "mets.xsd").read_bytes() == (
        reference / "E-ARK-CSIP-v2.0.4/schema/mets.xsd").read_bytes()


def test_official_examples(tmp_path: Path) -> None:
    examples = corpus_dir("eark-ip") / "reference/E-ARK-CSIP-v2.0.4/examples"
    codes: dict[str, set[str]] = {}
    for name in ("with_schemas", "invmets", "nomtshdr", "noflscid"):
        ctx = CheckContext()
        with open_package(examples / f"minimal_IP_{name}.zip", tmp_path) as source:
            Tt05Reader().read(source, ctx, Settings(home=tmp_path / "home"))
        codes[name] = {f.code for f in ctx.findings if f.severity is Severity.ERROR}
    assert "CK-METS-SCHEMA-INVALID" in codes["invmets"]
    assert "CK-CSIP117-MISSING" in codes["nomtshdr"]
    assert "CK-CSIP59-MISSING" in codes["noflscid"]
    discriminating = {"CK-METS-SCHEMA-INVALID", "CK-CSIP117-MISSING", "CK-CSIP59-MISSING"}
    assert not codes["with_schemas"] & discriminating


def test_agreement_figure_is_documented(corpus: tuple[list[Row], dict[str, Outcome]]) -> None:
    rows, outcomes = corpus
    agree, total, per_agree, per_total = _figures(rows, outcomes)
    text = (REPO / "docs" / "conformance.md").read_text(encoding="utf-8")
    section = text.split(DOC_SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"Agreement: \*\*(\d+) of (\d+)\*\* rows", section)
    assert match, "the E-ARK section of docs/conformance.md states no agreement figure"
    assert (int(match.group(1)), int(match.group(2))) == (agree, total)
    for requirement, count in per_total.items():
        row = re.search(rf"^\| {requirement} \| (\d+)/(\d+) \|", section, re.MULTILINE)
        assert row, f"{requirement} is missing from the per-requirement table"
        assert (int(row.group(1)), int(row.group(2))) == (per_agree[requirement], count)
