"""The built-in PDF/A validator: pikepdf's allowlist validator plus our own ISO 19005 checks.

`pikepdf.pdfa` approves a file only when every construct it meets is known to
conform, and trusts file syntax because it expects files qpdf just wrote. On
files from the outside world that leaves three gaps, which this module fills:

1. File syntax (header, trailer, cross-reference sections, object and stream
   keywords, stream lengths): `syntax.check_file_structure` on the raw bytes.
2. XMP metadata: pikepdf accepts only a narrow set of properties; `xmp` checks
   every predefined schema of the XMP Specification, extension schemas and the
   identification the way ISO 19005 states them. pikepdf's own metadata
   findings are replaced by ours.
3. Constructs pikepdf does not check (it reports them as `unsupported`, and stops
   walking below them): `constructs` checks them against their ISO 19005 rules
   and then removes them from the in-memory document (never from the file), so
   pikepdf judges everything else. Whatever is still unsupported afterwards makes
   the verdict `unknown`: we never approve what nobody checked.

Levels A and U are checked at level B (every level-B rule applies to them too);
the report says so.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pikepdf

from preservation.pdfa import catalogue, constructs, syntax, xmp
from preservation.pdfa.base import FailedRule, Flavour, PdfaReport, Verdict

log = logging.getLogger(__name__)

NAME = "earchive-pdfa"


def _version() -> str:
    try:
        own = metadata.version("earchive")
    except metadata.PackageNotFoundError:
        own = "0.0.0+unknown"
    return f"{own} (pikepdf {pikepdf.__version__})"


@dataclass
class _Findings:
    """Violations by rule id (keeping order and a count) and reasons for `unknown`."""

    part: int
    violations: OrderedDict[str, tuple[str, str, int]] = field(default_factory=OrderedDict)
    unchecked: list[str] = field(default_factory=list)

    def deny(self, rule_id: str, where: str, message: str) -> None:
        first_where, first_message, count = self.violations.get(rule_id, (where, message, 0))
        self.violations[rule_id] = (first_where, first_message, count + 1)

    def unsure(self, reason: str) -> None:
        if reason not in self.unchecked:
            self.unchecked.append(reason)

    def failed_rules(self) -> list[FailedRule]:
        return [
            catalogue.failed_rule(self.part, rule_id, message, count=count, example=where)
            for rule_id, (where, message, count) in self.violations.items()
        ]


class BuiltinPdfaValidator:
    """PDF/A-1b, -2b and -3b (and levels A and U judged at level B) without Java."""

    name = NAME

    def __init__(self) -> None:
        self.version = _version()

    def validate(self, path: Path, flavour: str | None = None) -> PdfaReport:
        started = time.perf_counter()
        # Our checks read PDF scalars as Python values; pin the (thread-local) conversion mode.
        with pikepdf.implicit_conversion():
            report = self._validate(Path(path), flavour)
        report.duration_seconds = time.perf_counter() - started
        return report

    # --- one file -------------------------------------------------------------

    def _report(
        self, path: Path, claim: tuple[int | None, str | None], flavour: str | None, verdict: Verdict
    ) -> PdfaReport:
        return PdfaReport(
            path=str(path),
            claimed_part=claim[0],
            claimed_conformance=claim[1],
            flavour=flavour,
            verdict=verdict,
            validator=self.name,
            validator_version=self.version,
        )

    def _validate(self, path: Path, flavour: str | None) -> PdfaReport:
        try:
            pdf = pikepdf.open(path, inherit_page_attributes=False)
        except pikepdf.PasswordError:
            report = self._report(path, (None, None), flavour, "fail")
            part = Flavour.parse(flavour).part if flavour else 2
            report.failed_rules.append(catalogue.failed_rule(part, "6.1.3-2", "the file is encrypted"))
            return report
        except (pikepdf.PdfError, OSError, ValueError) as exc:
            report = self._report(path, (None, None), flavour, "fail")
            part = Flavour.parse(flavour).part if flavour else 2
            report.failed_rules.append(catalogue.failed_rule(part, "6.1", f"not a readable PDF: {exc}"))
            return report
        with pdf:
            claim = _claim(pdf)
            target = _target(flavour, claim)
            if target is None:
                report = self._report(path, claim, None, "fail")
                report.notes.append("the file carries no PDF/A identification (XMP pdfaid) and no flavour was asked")
                report.failed_rules.append(
                    catalogue.failed_rule(2, "6.6.4-1", "the XMP has no PDF/A identification (pdfaid:part)")
                )
                return report
            if target.part not in (1, 2, 3):
                report = self._report(path, claim, target.code, "unknown")
                report.unchecked.append(f"{target.label} is not checked by the built-in validator (only parts 1-3)")
                return report
            checked = target.at_level_b()
            report = self._report(path, claim, checked.code, "unknown")
            if checked != target:
                report.notes.append(f"{target.label} judged at level B: the level-{target.level.upper()} "
                                    "requirements (tagged structure, Unicode mapping) are not checked")
            findings = _Findings(checked.part)
            try:
                _check(path, pdf, checked, findings)
            except Exception as exc:
                log.warning("PDF/A check of %s raised %s", path, exc, exc_info=True)
                findings.unsure(f"the validator could not finish: {type(exc).__name__}: {exc}")
        report.failed_rules = findings.failed_rules()
        report.unchecked = list(findings.unchecked)
        if report.failed_rules:
            report.verdict = "fail"
        elif report.unchecked:
            report.verdict = "unknown"
        else:
            report.verdict = "pass"
        return report


def _claim(pdf: pikepdf.Pdf) -> tuple[int | None, str | None]:
    metadata_stream = pdf.Root.get("/Metadata")
    if not isinstance(metadata_stream, pikepdf.Stream):
        return None, None
    try:
        return xmp.read_identification(metadata_stream.read_bytes())
    except pikepdf.PdfError:
        return None, None


def _target(flavour: str | None, claim: tuple[int | None, str | None]) -> Flavour | None:
    if flavour:
        return Flavour.parse(flavour)
    part, conformance = claim
    if part is None:
        return None
    level = (conformance or "b").lower()
    try:
        return Flavour.parse(f"{part}{level}")
    except ValueError:
        return Flavour(part, "b") if part in (1, 2, 3) else Flavour(part, "")


def _check(path: Path, pdf: pikepdf.Pdf, flavour: Flavour, findings: _Findings) -> None:
    for violation in syntax.check_file_structure(path, pdf, flavour.part):
        findings.deny(violation.rule_id, violation.where, violation.message)
    definitions = _check_metadata(pdf, flavour.part, findings)
    constructs.check_and_run_engine(pdf, path, flavour, findings, definitions)


def _check_metadata(pdf: pikepdf.Pdf, part: int, findings: _Findings) -> xmp.Definitions | None:
    stream = pdf.Root.get("/Metadata")
    missing_rule = "6.7.2-1" if part == 1 else "6.6.2.1-1"
    if not isinstance(stream, pikepdf.Stream):
        findings.deny(missing_rule, "catalog", "the catalog has no /Metadata stream")
        return None
    if stream.get("/Type") != pikepdf.Name.Metadata or stream.get("/Subtype") != pikepdf.Name.XML:
        findings.deny(missing_rule, _where(stream), "the metadata stream lacks /Type /Metadata or /Subtype /XML")
    try:
        raw = stream.read_bytes()
    except pikepdf.PdfError as exc:
        findings.deny("6.7.9-1" if part == 1 else "6.6.2.1-4", _where(stream), f"unreadable metadata stream: {exc}")
        return None
    result = xmp.check_packet(raw, part, main=True)
    for violation in result.violations:
        findings.deny(violation.rule_id, _where(stream), violation.message)
    if part == 1:
        for violation in xmp.check_info_agreement(result.packet, _info_texts(pdf)):
            findings.deny(violation.rule_id, "Info", violation.message)
    return result.definitions


def _info_texts(pdf: pikepdf.Pdf) -> dict[str, str | None]:
    info = pdf.trailer.get("/Info")
    texts: dict[str, str | None] = {}
    if not isinstance(info, pikepdf.Dictionary):
        return texts
    for key, value in info.items():
        if value is None:
            continue  # a null value is an absent entry
        texts[str(key)] = str(value) if isinstance(value, pikepdf.String) else None
    return texts


def _where(obj: Any) -> str:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return f"obj {obj.objgen[0]} {obj.objgen[1]}"
    return "direct"


_NESTING = threading.local()
_MAX_NESTED_BYTES = 64 * 1024**2


def validate_embedded(stream: pikepdf.Stream) -> Verdict:
    """Verdict on an embedded file as PDF/A-1 or PDF/A-2 (ISO 19005-2 6.8), one level deep."""
    if getattr(_NESTING, "depth", 0) >= 1:
        return "unknown"
    try:
        length = int(stream.get("/Length", 0))
        if length > _MAX_NESTED_BYTES:
            return "unknown"
        data = stream.read_bytes()
    except (pikepdf.PdfError, ValueError, TypeError):
        return "fail"
    if not data.startswith(b"%PDF-"):
        return "fail"
    _NESTING.depth = 1
    try:
        with tempfile.TemporaryDirectory() as folder:
            nested = Path(folder) / "embedded.pdf"
            nested.write_bytes(data)
            report = BuiltinPdfaValidator().validate(nested)
    finally:
        _NESTING.depth = 0
    if report.claimed_part not in (1, 2):
        return "fail"
    return report.verdict
