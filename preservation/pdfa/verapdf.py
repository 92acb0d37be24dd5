"""veraPDF, the PDF Association's reference PDF/A validator, when an operator installs it.

Two ways to reach it, both kept warm (a JVM start costs seconds, so never one per file):

- the command line (`settings.pdfa.verapdf_cli`, default `verapdf` on PATH): many
  files per invocation (`validate_many`, in batches), `--format mrr`;
- a long-running veraPDF REST server (`settings.pdfa.verapdf_url`, e.g.
  `http://127.0.0.1:8080`): `POST /api/validate/{flavour}` per file, the
  server's JVM stays warm.

Reports are parsed from veraPDF's machine-readable report (MRR) XML:
`report/jobs/job/item/name`, `validationReport[@isCompliant]/details/rule[@clause,
@testNumber, @status, @failedChecks]/description`, `taskException` for files
veraPDF could not parse, `buildInformation/releaseDetails[@id='core']/@version`.
veraPDF cannot be installed on our build machines (no Maven repository), so the
parser is tested on report fixtures written by hand after that format
(`tests/fixtures/verapdf/`), not on live veraPDF output.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree

from archive_core.settings import Limits, Settings
from archive_core.xmlsafe import XmlError, parse_xml
from preservation.pdfa import catalogue, xmp
from preservation.pdfa.base import FailedRule, Flavour, PdfaReport, PdfaValidator, Verdict
from preservation.pdfa.builtin import BuiltinPdfaValidator

log = logging.getLogger(__name__)

NAME = "veraPDF"
BATCH_SIZE = 50
_REPORT_LIMITS = Limits(max_xml_bytes=512 * 1024**2, max_field_chars=16 * 1024**2)
_CHUNK = 1024 * 1024


class VeraPdfUnavailable(RuntimeError):
    """veraPDF is configured but cannot be reached."""


# --- report parsing ---------------------------------------------------------------


@dataclass(frozen=True)
class JobResult:
    """One file of a veraPDF report."""

    name: str
    verdict: Verdict
    profile: str | None
    failed_rules: list[FailedRule]
    problem: str | None = None
    """Why veraPDF gave no verdict (parse failure, encryption, exception)."""


@dataclass(frozen=True)
class ParsedReport:
    version: str
    jobs: list[JobResult]


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            yield child


def _first(element: etree._Element, name: str) -> etree._Element | None:
    for node in element.iter():
        if isinstance(node.tag, str) and _local(node.tag) == name:
            return node
    return None


def _part_of(specification: str | None, profile: str | None) -> int:
    for text in (specification or "", profile or ""):
        for part in ("1", "2", "3", "4"):
            if f"19005-{part}" in text or f"19005_{part}" in text or f"PDF/A-{part}" in text:
                return int(part)
    return 2


def _rules(report: etree._Element, profile: str | None) -> list[FailedRule]:
    failed: list[FailedRule] = []
    for rule in report.iter():
        if not isinstance(rule.tag, str):
            continue
        name = _local(rule.tag)
        if name == "rule" and (rule.get("status") or "").lower() == "failed":
            failed.append(_failed_rule(rule, profile))
        elif name == "assertion" and (rule.get("status") or "").upper() == "FAILED":
            failed.append(_failed_assertion(rule, profile))
    return _merge(failed)


def _failed_rule(rule: etree._Element, profile: str | None) -> FailedRule:
    part = _part_of(rule.get("specification"), profile)
    clause = rule.get("clause") or "6"
    test = int(rule.get("testNumber") or 0)
    description = _text(_first(rule, "description")) or catalogue.description_en(part, f"{clause}-{test}") or ""
    context = _text(_first(rule, "context"))
    message = _text(_first(rule, "errorMessage"))
    return FailedRule(
        clause=clause,
        test=test,
        description_en=description,
        description_vi=catalogue.description_vi(part, clause),
        count=int(rule.get("failedChecks") or 1),
        specification=f"ISO 19005-{part}",
        example=": ".join(x for x in (context, message) if x),
    )


def _failed_assertion(assertion: etree._Element, profile: str | None) -> FailedRule:
    rule_id = _first(assertion, "ruleId")
    spec = rule_id.get("specification") if rule_id is not None else None
    part = _part_of(spec, profile)
    clause = (rule_id.get("clause") if rule_id is not None else None) or "6"
    test = int((rule_id.get("testNumber") if rule_id is not None else None) or 0)
    return FailedRule(
        clause=clause,
        test=test,
        description_en=catalogue.description_en(part, f"{clause}-{test}") or _text(_first(assertion, "message")) or "",
        description_vi=catalogue.description_vi(part, clause),
        count=1,
        specification=f"ISO 19005-{part}",
        example=_text(_first(assertion, "context")) or _text(_first(assertion, "location")) or "",
    )


def _merge(rules: list[FailedRule]) -> list[FailedRule]:
    merged: dict[str, FailedRule] = {}
    for rule in rules:
        key = f"{rule.specification} {rule.rule_id}"
        previous = merged.get(key)
        if previous is None:
            merged[key] = rule
        else:
            merged[key] = FailedRule(
                previous.clause, previous.test, previous.description_en, previous.description_vi,
                previous.count + rule.count, previous.specification, previous.example,
            )
    return list(merged.values())


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _job(job: etree._Element) -> JobResult:
    item = _first(job, "item")
    name = _text(_first(item, "name")) if item is not None else ""
    exception = _first(job, "taskException")
    report = next(
        (n for n in job.iter() if isinstance(n.tag, str) and _local(n.tag) in ("validationReport", "validationResult")),
        None,
    )
    if report is None:
        problem = _text(_first(exception, "exceptionMessage")) if exception is not None else "no validation report"
        return JobResult(name, "fail" if exception is not None else "unknown", None, [], problem or "veraPDF failed")
    profile = report.get("profileName")
    compliant = (report.get("isCompliant") or "").lower()
    end_status = (report.get("jobEndStatus") or "normal").lower()
    failed = _rules(report, profile)
    verdict: Verdict
    if compliant == "true" and end_status == "normal" and not failed:
        verdict = "pass"
    elif failed or compliant == "false":
        verdict = "fail"
    else:
        verdict = "unknown"
    ended = None if end_status == "normal" else f"veraPDF job ended with status {end_status}"
    return JobResult(name, verdict, profile, failed, ended)


def parse_report(data: bytes) -> ParsedReport:
    """Parse a veraPDF MRR report (or a single validation report as the REST server returns)."""
    try:
        root = parse_xml(data, path="veraPDF report", limits=_REPORT_LIMITS)
    except XmlError as exc:
        raise ValueError(f"not a veraPDF report: {exc.finding.message_en}") from exc
    version = "unknown"
    for details in root.iter():
        tag = details.tag
        if isinstance(tag, str) and _local(tag) == "releaseDetails" and details.get("version") \
                and details.get("id") in ("core", "gui", "cli"):
            version = details.get("version") or version
            if details.get("id") == "core":
                break
    if _local(root.tag) in ("validationReport", "validationResult"):
        wrapper = etree.Element("job")
        wrapper.append(root)
        return ParsedReport(version, [_job(wrapper)])
    jobs = [_job(job) for job in root.iter() if isinstance(job.tag, str) and _local(job.tag) == "job"]
    return ParsedReport(version, jobs)


# --- the validator -----------------------------------------------------------------------


def _claim(path: Path) -> tuple[int | None, str | None]:
    try:
        with pikepdf.open(path) as pdf:
            stream = pdf.Root.get("/Metadata")
            if isinstance(stream, pikepdf.Stream):
                return xmp.read_identification(stream.read_bytes())
    except (pikepdf.PdfError, OSError, ValueError):
        pass
    return None, None


def _flavour_argument(flavour: str | None) -> str:
    """veraPDF's --flavour values: 1a 1b 2a 2b 2u 3a 3b 3u 4 4e 4f, or 0 (from the file's metadata)."""
    return Flavour.parse(flavour).code if flavour else "0"


class VeraPdfValidator:
    """veraPDF through its CLI (batched) or REST server (warm JVM)."""

    name = NAME

    def __init__(self, *, cli: str | None = None, url: str | None = None, timeout_seconds: float = 600.0) -> None:
        if not cli and not url:
            raise ValueError("veraPDF needs a command line or a REST server URL")
        self.cli = cli
        self.url = url.rstrip("/") if url else None
        self.timeout_seconds = timeout_seconds
        self._version: str | None = None

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self._ask_version()
        return self._version

    def _ask_version(self) -> str:
        if self.cli:
            try:
                done = subprocess.run(
                    [self.cli, "--version"], capture_output=True, text=True, timeout=120, check=False
                )
                for line in done.stdout.splitlines():
                    if "veraPDF" in line or line.strip()[:1].isdigit():
                        return line.strip()
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.url:
            try:
                with urllib.request.urlopen(f"{self.url}/api/info", timeout=10) as answer:
                    text: str = answer.read(4096).decode("utf-8", "replace")
                    return text.strip()[:200]
            except (urllib.error.URLError, OSError, ValueError):
                pass
        return "unknown"

    def validate(self, path: Path, flavour: str | None = None) -> PdfaReport:
        return self.validate_many([Path(path)], flavour)[Path(path)]

    def validate_many(self, paths: list[Path], flavour: str | None = None) -> dict[Path, PdfaReport]:
        """Validate many files: one JVM per batch of BATCH_SIZE files (CLI) or the warm server."""
        results: dict[Path, PdfaReport] = {}
        for batch in _batches([Path(p) for p in paths], BATCH_SIZE):
            started = time.perf_counter()
            jobs = self._run_cli(batch, flavour) if self.cli else self._run_rest(batch, flavour)
            share = (time.perf_counter() - started) / max(1, len(batch))
            for path in batch:
                results[path] = self._report(path, flavour, jobs.get(str(path)), share)
        return results

    def _report(self, path: Path, flavour: str | None, job: JobResult | None, duration: float) -> PdfaReport:
        claimed_part, claimed_conformance = _claim(path)
        checked = flavour or (f"{claimed_part}{(claimed_conformance or 'b').lower()}" if claimed_part else None)
        report = PdfaReport(
            path=str(path),
            claimed_part=claimed_part,
            claimed_conformance=claimed_conformance,
            flavour=Flavour.parse(checked).code if checked else None,
            verdict="unknown",
            validator=self.name,
            validator_version=self.version,
            duration_seconds=duration,
        )
        if job is None:
            report.unchecked.append("veraPDF returned no result for this file")
            return report
        report.verdict = job.verdict
        report.failed_rules = list(job.failed_rules)
        if job.problem:
            if job.verdict == "fail" and not job.failed_rules:
                part = Flavour.parse(checked).part if checked else 2
                report.failed_rules.append(catalogue.failed_rule(part, "6.1", f"veraPDF: {job.problem}"))
            else:
                report.unchecked.append(job.problem)
        if job.profile:
            report.notes.append(f"veraPDF profile: {job.profile}")
        return report

    # --- command line -------------------------------------------------------------------

    def _run_cli(self, batch: list[Path], flavour: str | None) -> dict[str, JobResult]:
        assert self.cli is not None
        command = [
            self.cli, "--format", "mrr", "--flavour", _flavour_argument(flavour),
            "--maxfailuresdisplayed", "1", "--nonpdfext", *[str(p) for p in batch],
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=self.timeout_seconds, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VeraPdfUnavailable(f"veraPDF command failed: {exc}") from exc
        if not done.stdout.strip():
            raise VeraPdfUnavailable(f"veraPDF wrote no report (exit {done.returncode}): {done.stderr[:500]!r}")
        parsed = parse_report(done.stdout)
        self._version = self._version or parsed.version
        return _by_path(parsed.jobs, batch)

    # --- REST server -------------------------------------------------------------------

    def _run_rest(self, batch: list[Path], flavour: str | None) -> dict[str, JobResult]:
        results: dict[str, JobResult] = {}
        profile = Flavour.parse(flavour).code if flavour else "auto"
        for path in batch:
            body, boundary, length = _multipart(path)
            request = urllib.request.Request(
                f"{self.url}/api/validate/{profile}",
                data=body,
                method="POST",
                headers={
                    "Accept": "application/xml",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(length),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                    data = answer.read()
            except (urllib.error.URLError, OSError) as exc:
                raise VeraPdfUnavailable(f"veraPDF server {self.url} failed: {exc}") from exc
            parsed = parse_report(data)
            self._version = self._version or parsed.version
            if parsed.jobs:
                results[str(path)] = parsed.jobs[0]
        return results


def _by_path(jobs: list[JobResult], batch: list[Path]) -> dict[str, JobResult]:
    """Match report jobs to the files asked for (veraPDF may print absolute or relative names)."""
    results: dict[str, JobResult] = {}
    by_resolved = {str(p.resolve()): str(p) for p in batch}
    for job in jobs:
        key = by_resolved.get(str(Path(job.name).resolve())) if job.name else None
        if key is None and job.name in {str(p) for p in batch}:
            key = job.name
        if key is not None:
            results[key] = job
    if len(jobs) == len(batch) and len(results) < len(batch):
        # Same order as asked when names cannot be matched.
        for path, job in zip(batch, jobs, strict=True):
            results.setdefault(str(path), job)
    return results


def _batches(paths: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


def _multipart(path: Path) -> tuple[Iterable[bytes], str, int]:
    """A streamed multipart/form-data body with the file as field `file`."""
    boundary = f"earchive-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
        yield tail

    return chunks(), boundary, len(head) + size + len(tail)


# --- selection ---------------------------------------------------------------------------


def verapdf_available(settings: Settings) -> bool:
    return bool(settings.pdfa.verapdf_url) or shutil.which(settings.pdfa.verapdf_cli or "verapdf") is not None


def make_validator(settings: Settings) -> PdfaValidator:
    """The validator the settings ask for: `auto` takes veraPDF when it is installed, else the built-in one."""
    choice = settings.pdfa.validator
    if choice == "builtin" or (choice == "auto" and not verapdf_available(settings)):
        return BuiltinPdfaValidator()
    if not verapdf_available(settings):
        raise VeraPdfUnavailable("settings.pdfa.validator is 'verapdf' but neither verapdf_cli nor verapdf_url works")
    if settings.pdfa.verapdf_url:
        return VeraPdfValidator(url=settings.pdfa.verapdf_url)
    cli = shutil.which(settings.pdfa.verapdf_cli or "verapdf")
    return VeraPdfValidator(cli=cli)

