"""Turn pikepdf's findings into ISO 19005 verdicts, closing the gaps it leaves.

pikepdf reports `violation` findings (a rule is broken) and `unsupported` ones
(it does not check that construct). Against the veraPDF corpus some of each are
wrong for files from the outside world; this module decides, finding by finding,
with our own checks where needed (`content`, `forms`, `special`):

- kept: violations we have no reason to doubt, mapped to their ISO clause;
- re-judged: constructs pikepdf does not check but we do (painting without an
  OutputIntent, overprint mode, q/Q depth, interactive forms, …): its finding is
  dropped and ours, if any, reported instead;
- dropped: findings about things veraPDF and the standard ignore (keys PDF/A
  does not mention, Form XObjects nothing draws);
- otherwise `unsure`, which makes the verdict `unknown`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pikepdf

from preservation.pdfa import catalogue, content, engine, forms, special, xmp
from preservation.pdfa.base import Flavour
from preservation.pdfa.engine import EngineFinding

_RULE = re.compile(r"^ISO_19005_\d:(.+)$")
_FORM_WHERE = re.compile(r"^obj (\d+) (\d+) \(FormXObject\)")

# Rules of the catalog's XMP that `xmp` judges instead of pikepdf (see `builtin._check_metadata`).
_XMP_RULES_1 = re.compile(r"^(6\.7\.2-1|6\.7\.3-\d+|6\.7\.5-\d+|6\.7\.9-\d+|6\.7\.11-\d+)$")
_XMP_RULES_23 = re.compile(r"^(6\.6\.2\.1-[1-5]|6\.6\.2\.3\.1-\d+|6\.6\.4-\d+)$")
_IGNORED_UNSUPPORTED = re.compile(r"^unrecognized key\(s\) .* are not checked$|is not part of PDF 1\.4$", re.DOTALL)

# pikepdf's own rule ids for violations, mapped to the ISO 19005 clause they break (part 1, parts 2-3).
_LOCAL_CLAUSES: dict[str, tuple[str, str]] = {
    "pikepdf:resource-missing": ("6.2.10", "6.2.2"),
    "pikepdf:content-syntax": ("6.2.10", "6.2.2"),
    "pikepdf:content-operands": ("6.2.10", "6.2.2"),
    "pikepdf:content-parse": ("6.2.10", "6.2.2"),
    "pikepdf:page-tree": ("6.1", "6.1"),
    "pikepdf:filter": ("6.1.10", "6.1.7.2"),
    "pikepdf:inline-image": ("6.2.4", "6.2.8"),
    "pikepdf:icc": ("6.2.2", "6.2.3"),
    "pikepdf:icc-components": ("6.2.2", "6.2.3"),
    "pikepdf:d0-d1": ("6.2.10", "6.2.2"),
}


class Sink(Protocol):
    part: int

    def deny(self, rule_id: str, where: str, message: str) -> None: ...

    def unsure(self, reason: str) -> None: ...


@dataclass
class _Triage:
    """What the engine said, sorted, plus the facts our re-judging needs."""

    pdf: pikepdf.Pdf
    path: Path
    flavour: Flavour
    findings: list[EngineFinding]
    _usage: content.Usage | None = None
    main_definitions: xmp.Definitions | None = None
    handled: set[int] = field(default_factory=set)

    @property
    def part(self) -> int:
        return self.flavour.part

    def rule(self, part1: str, part23: str) -> str:
        return part1 if self.part == 1 else part23

    def usage(self) -> content.Usage:
        if self._usage is None:
            self._usage = content.walk(self.pdf, has_output_intent=_has_output_intent(self.pdf), part=self.part)
        return self._usage

    def take(self, predicate: Callable[[EngineFinding], bool]) -> list[EngineFinding]:
        """The findings not yet handled that match, now marked handled."""
        taken = []
        for index, finding in enumerate(self.findings):
            if index not in self.handled and predicate(finding):
                self.handled.add(index)
                taken.append(finding)
        return taken


def check_and_run_engine(
    pdf: pikepdf.Pdf, path: Path, flavour: Flavour, sink: Sink, main_definitions: xmp.Definitions | None = None,
) -> None:
    """Run pikepdf's walker, re-judge its findings with our own checks, report to `sink`."""
    part = flavour.part
    for violation in special.keep_only_pdfa_output_intents(pdf, part):
        sink.deny(violation.rule_id, violation.where, violation.message)
    # Walk what is painted before anything is taken out of the in-memory document.
    usage = content.walk(pdf, has_output_intent=_has_output_intent(pdf), part=part)
    if forms.has_interactive_parts(pdf):
        prepared = forms.prepare(pdf, path, part)
        for form_violation in prepared.violations:
            sink.deny(form_violation.rule_id, form_violation.where, form_violation.message)
        for doubt in prepared.doubts:
            sink.unsure(doubt)
    usage.drawn_forms |= special.proxy_tiling_patterns(pdf, usage)
    triage = _Triage(pdf, path, flavour, engine.run(pdf, flavour.code), usage, main_definitions)
    for step in _STEPS:
        step(triage, sink)
    _report_rest(triage, sink)


# --- steps -----------------------------------------------------------------------------


def _drop_owned_and_ignored(t: _Triage, sink: Sink) -> None:
    owned = _XMP_RULES_1 if t.part == 1 else _XMP_RULES_23

    def ignorable(f: EngineFinding) -> bool:
        match = _RULE.match(f.rule)
        if match is not None and owned.match(match.group(1)):
            return True
        return f.kind == "unsupported" and _IGNORED_UNSUPPORTED.search(f.message) is not None

    t.take(ignorable)


def _undrawn_forms(t: _Triage, sink: Sink) -> None:
    """veraPDF judges a Form XObject only when something draws it; pikepdf judges every one."""
    located = [f for f in t.findings if _FORM_WHERE.match(f.where)]
    if not located:
        return
    drawn = t.usage().drawn_forms

    def undrawn(f: EngineFinding) -> bool:
        match = _FORM_WHERE.match(f.where)
        if match is None or (int(match.group(1)), int(match.group(2))) in drawn:
            return False
        # File-level (COS) rules of clause 6.1 apply to every object, drawn or not.
        return not re.match(r"^ISO_19005_\d:6\.1\.", f.rule) and f.rule not in ("pikepdf:filter",)

    t.take(undrawn)


_FONT_WHERE = re.compile(r"^obj (\d+) (\d+) \(Font\)")


def _unused_fonts(t: _Triage, sink: Sink) -> None:
    """veraPDF judges the fonts that text operators use; pikepdf also judges fonts nothing uses."""
    if not any(_FONT_WHERE.match(f.where) for f in t.findings):
        return
    used = t.usage().used_fonts

    def unused(f: EngineFinding) -> bool:
        match = _FONT_WHERE.match(f.where)
        if match is None or (int(match.group(1)), int(match.group(2))) in used:
            return False
        return not re.match(r"^ISO_19005_\d:6\.1\.", f.rule)

    t.take(unused)


def _invisible_text(t: _Triage, sink: Sink) -> None:
    """Fonts used only in rendering mode 3 (invisible, e.g. an OCR text layer) need not be embedded."""
    if not any(_FONT_WHERE.match(f.where) for f in t.findings):
        return
    visible = t.usage().visible_fonts

    def font_of(f: EngineFinding) -> tuple[int, int] | None:
        match = _FONT_WHERE.match(f.where)
        return (int(match.group(1)), int(match.group(2))) if match else None

    for finding in t.take(lambda f: font_of(f) is not None and "is not embedded" in f.message):
        if font_of(finding) in visible:
            sink.deny(t.rule("6.3.4-1", "6.2.11.4.1-1"), finding.where, finding.message)

    def exempt(f: EngineFinding) -> bool:
        match = _RULE.match(f.rule)
        return (
            match is not None and font_of(f) is not None and font_of(f) not in visible
            and "renderingMode == 3" in (catalogue.rule_test(t.part, match.group(1)) or "")
        )

    t.take(exempt)


def _referenced_cmaps(t: _Triage, sink: Sink) -> None:
    """A CMap may use (/UseCMap) a predefined CMap, named or embedded under its predefined name."""
    rule = t.rule("6.3.3.3-3", "6.2.11.3.3-3")
    for finding in t.take(lambda f: "/UseCMap" in f.message and (f.rule.endswith("6.2.11.3.3-3")
                                                                    or f.rule == "pikepdf:font-cmap")):
        font = special.object_at(t.pdf, finding.where)
        encoding = font.get("/Encoding") if isinstance(font, pikepdf.Dictionary) else None
        used = encoding.get("/UseCMap") if isinstance(encoding, pikepdf.Stream) else None
        name = used.get("/CMapName") if isinstance(used, pikepdf.Stream) else used
        if not isinstance(name, pikepdf.Name):
            sink.unsure(f"{finding.where}: {finding.message}")
        elif str(name)[1:] not in special.predefined_cmaps():
            sink.deny(rule, finding.where, f"the CMap uses {name}, which is not a predefined CMap")


def _q_depth(t: _Triage, sink: Sink) -> None:
    """Nesting is counted within each content stream (a form's own q/Q), as veraPDF does."""
    rule = t.rule("6.1.12-8", "6.1.13-8")
    if not t.take(lambda f: f.rule.endswith(":" + rule)):
        return
    for event in t.usage().of("q-depth"):
        sink.deny(rule, event.where, event.message)


def _device_gray_without_output_intent(t: _Triage, sink: Sink) -> None:
    """Painting before any colour is set uses DeviceGray, which needs an OutputIntent or DefaultGray."""
    empty = t.take(lambda f: f.rule == "pikepdf:schema-OutputIntents" and "should be non-empty" in f.message)
    missing = t.take(lambda f: f.rule == "pikepdf:output-intent")
    if not (empty or missing):
        return
    rule = t.rule("6.2.3.3-3", "6.2.4.3-4")
    usage = t.usage()
    for event in usage.of("implicit-gray"):
        sink.deny(rule, event.where, event.message)
    if t.part == 1:
        return
    # Without an OutputIntent a page that uses transparency needs a group colour space (6.2.10).
    for index in sorted(usage.transparent_pages):
        group = t.pdf.pages[index].obj.get("/Group")
        if not (isinstance(group, pikepdf.Dictionary) and "/CS" in group):
            sink.deny("6.2.10-2", f"page {index + 1}", "the page uses transparency but has no group colour space "
                      "(/Group /CS) and the file has no PDF/A OutputIntent")


def _overprint(t: _Triage, sink: Sink) -> None:
    if t.part == 1 or not t.take(lambda f: f.rule.endswith(":6.2.4.2-2") and f.kind == "unsupported"):
        return
    for event in t.usage().of("overprint"):
        sink.deny("6.2.4.2-2", event.where, event.message)


def _deny_all(sink: Sink, violations: list[special.Violation]) -> None:
    for violation in violations:
        sink.deny(violation.rule_id, violation.where, violation.message)


def _patterns_and_shadings(t: _Triage, sink: Sink) -> None:
    """Tiling patterns are handed to pikepdf as forms; shading and pattern colour spaces are ours."""

    def about_patterns(f: EngineFinding) -> bool:
        if f.rule in ("pikepdf:pattern", "pikepdf:shading"):
            return True
        if f.rule == "pikepdf:colour-space" and ("pattern colour" in f.message or "/Pattern colour" in f.message):
            return True
        return f.rule == "pikepdf:schema-Resources" and f.message in (
            "patterns are not supported", "shadings are not supported"
        )

    if t.take(about_patterns):
        _deny_all(sink, special.device_uses(t.usage(), t.part, special.output_intent_colour(t.pdf)))


def _separation_and_devicen(t: _Triage, sink: Sink) -> None:
    special_colour = re.compile(r"/(Separation|DeviceN) colour spaces")
    if t.take(lambda f: f.rule == "pikepdf:colour-space" and special_colour.search(f.message) is not None):
        _deny_all(sink, special.special_spaces(t.usage(), t.part, special.output_intent_colour(t.pdf)))


def _object_metadata(t: _Triage, sink: Sink) -> None:
    for finding in t.take(lambda f: f.rule == "pikepdf:schema-ObjectMetadata"
                          or (f.rule == "pikepdf:schema-ImageXObject" and "metadata streams" in f.message)):
        obj = special.object_at(t.pdf, finding.where)
        holder = isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)) and obj.get("/Type") != pikepdf.Name.Metadata
        stream = obj.get("/Metadata") if holder and "/Metadata" in obj else obj
        _deny_all(sink, special.object_metadata(stream, t.part, t.main_definitions))


def _open_action(t: _Triage, sink: Sink) -> None:
    if t.take(lambda f: f.rule == "pikepdf:schema-Catalog" and "/OpenAction" in f.message):
        _deny_all(sink, special.actions(t.pdf.Root.get("/OpenAction"), t.part))


def _halftones(t: _Triage, sink: Sink) -> None:
    for finding in t.take(lambda f: f.rule == "pikepdf:schema-ExtGState" and "halftones" in f.message):
        if t.part == 1:
            continue  # ISO 19005-1 does not restrict halftones
        gs = special.object_at(t.pdf, finding.where)
        if isinstance(gs, pikepdf.Dictionary):
            _deny_all(sink, special.halftone(gs.get("/HT"), finding.where))
        else:
            sink.unsure(f"{finding.where}: {finding.message}")


def _jpeg2000(t: _Triage, sink: Sink) -> None:
    for finding in t.take(lambda f: f.rule == "pikepdf:schema-ImageXObject" and "JPEG 2000" in f.message):
        if t.part == 1:
            sink.deny("6.1.10-1", finding.where, "JPEG 2000 (JPXDecode) is not permitted in PDF/A-1")
            continue
        result = special.jpeg2000(special.object_at(t.pdf, finding.where), finding.where)
        if result is None:
            sink.unsure(f"{finding.where}: the JPEG 2000 data cannot be read")
        else:
            _deny_all(sink, result)


def _optional_content(t: _Triage, sink: Sink) -> None:
    catalog = t.take(lambda f: f.rule == "pikepdf:schema-Catalog" and "/OCProperties" in f.message)
    marked = t.take(lambda f: f.rule == "pikepdf:optional-content"
                    or (f.kind == "unsupported" and "optional content is not supported" in f.message))
    if catalog or marked:
        _deny_all(sink, special.optional_content(t.pdf, t.part))


def _embedded_files(t: _Triage, sink: Sink) -> None:
    if t.part == 1:
        return  # ISO 19005-1 forbids them; pikepdf reports that as a violation

    def about_files(f: EngineFinding) -> bool:
        if f.rule in ("pikepdf:embedded-file", "pikepdf:associated-files"):
            return True
        return f.kind == "unsupported" and ("/AF" in f.message or "/AFRelationship values" in f.message)

    if not t.take(about_files):
        return
    violations, nested = special.embedded_files(t.pdf, t.part)
    _deny_all(sink, violations)
    for stream in nested:
        _nested_pdfa(stream, sink)


def _nested_pdfa(stream: pikepdf.Stream, sink: Sink) -> None:
    """ISO 19005-2 6.8: an embedded file must itself be PDF/A-1 or PDF/A-2."""
    from preservation.pdfa import builtin  # the validator validates the nested file

    where = special._where(stream)
    verdict = builtin.validate_embedded(stream)
    if verdict == "pass":
        return
    if verdict == "unknown":
        sink.unsure(f"{where}: the embedded file could not be confirmed as PDF/A-1 or PDF/A-2")
    else:
        sink.deny("6.8-5", where, "the embedded file is not a conforming PDF/A-1 or PDF/A-2 file")


def _usage_doubts(t: _Triage, sink: Sink) -> None:
    if t._usage is None:
        return
    for event in t._usage.of("unsure"):
        sink.unsure(f"{event.where}: {event.message}")


def _false_alarms(t: _Triage, sink: Sink) -> None:
    """pikepdf violations that ISO 19005 (and veraPDF) do not support, each checked on the object."""
    t.take(_is_false_alarm)
    for finding in t.take(lambda f: f.rule == "pikepdf:text-no-font"):
        # pikepdf does not follow a font set by an ExtGState /Font entry; it cannot tell.
        sink.unsure(f"{finding.where}: {finding.message}")


def _is_false_alarm(f: EngineFinding) -> bool:
    if f.rule == "pikepdf:schema-Info" and re.search(r"'\d+ \d+ R' does not match", f.message):
        return True  # an Info entry given by reference to a string is still a string
    if re.search(r"/CharSet does not list exactly the glyphs of the program; not in program: [^;]*$", f.message):
        return True  # CharSet must list every glyph of the subset; naming more is not forbidden
    return _opacity_rounding(f)


def _opacity_rounding(f: EngineFinding) -> bool:
    """`/CA 1.0000001`: one within float precision (veraPDF reads reals as floats)."""
    match = re.search(r"(\d+\.\d+) is greater than the maximum of 1|/(CA|ca) shall be 1\.0", f.message)
    if match is None:
        return False
    value = re.search(r"(\d+\.\d+)", f.message)
    return value is not None and abs(float(value.group(1)) - 1.0) < 1e-6


def _jpx_images(t: _Triage, sink: Sink) -> None:
    """A JPEG 2000 image may take its colour space from the JPX data (ISO 32000-1 8.9.5)."""
    for finding in t.take(lambda f: f.rule == "pikepdf:schema-ImageXObject" and "has no /ColorSpace" in f.message):
        if not _is_jpx_without_colour_space(t.pdf, finding.where):
            sink.deny("6.1" if t.part != 1 else "6.2.4", finding.where, finding.message)


def _is_jpx_without_colour_space(pdf: pikepdf.Pdf, where: str) -> bool:
    match = re.search(r"Do (/\S+)", where)
    page_match = re.match(r"^obj (\d+) (\d+)", where)
    if match is None or page_match is None:
        return False
    try:
        holder = pdf.get_object(int(page_match.group(1)), int(page_match.group(2)))
    except (pikepdf.PdfError, ValueError):
        return False
    resources = content._page_resources(holder) if isinstance(holder, pikepdf.Dictionary) else None
    image = content._resource(resources, "/XObject", pikepdf.Name(match.group(1)))
    if not isinstance(image, pikepdf.Stream):
        return False
    filters = image.get("/Filter")
    names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
    return pikepdf.Name.JPXDecode in names


_STEPS: tuple[Callable[[_Triage, Sink], None], ...] = (
    _drop_owned_and_ignored,
    _undrawn_forms,
    _unused_fonts,
    _invisible_text,
    _referenced_cmaps,
    _q_depth,
    _device_gray_without_output_intent,
    _overprint,
    _false_alarms,
    _jpx_images,
    _patterns_and_shadings,
    _separation_and_devicen,
    _object_metadata,
    _open_action,
    _halftones,
    _jpeg2000,
    _optional_content,
    _embedded_files,
    _usage_doubts,
)


def _report_rest(t: _Triage, sink: Sink) -> None:
    for index, finding in enumerate(t.findings):
        if index in t.handled:
            continue
        match = _RULE.match(finding.rule)
        if finding.kind == "unsupported":
            sink.unsure(f"{finding.rule} at {finding.where}: {finding.message}")
        elif match is not None:
            sink.deny(match.group(1), finding.where, finding.message)
        else:
            clauses = _LOCAL_CLAUSES.get(finding.rule)
            if clauses is None and finding.rule.startswith("pikepdf:schema-"):
                clauses = ("6.1", "6.1")
            clause = clauses[0 if t.part == 1 else 1] if clauses else "6"
            sink.deny(clause, finding.where, f"{finding.message} [{finding.rule}]")


def _has_output_intent(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return False
    return any(
        isinstance(intent, pikepdf.Dictionary) and intent.get("/S") == pikepdf.Name.GTS_PDFA1
        and isinstance(intent.get("/DestOutputProfile"), pikepdf.Stream)
        for intent in intents
    )
