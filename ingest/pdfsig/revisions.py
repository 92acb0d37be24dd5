"""Our strict reading of what happened to a PDF after each signature (imports pyHanko).

pyHanko's default difference policy accepts, after a signature, an XMP/Info metadata
change and bytes appended after the last %%EOF. An archive must not: a signed document
may afterwards receive only further signatures (with their fields and appearances),
document timestamps and DSS/VRI validation data. So for every revision after a signed one:

* document metadata (/Info values, XMP properties) must stay the same, except the
  bookkeeping every PDF writer updates on save (ModDate, Producer, xmp:ModifyDate,
  xmp:MetadataDate, xmpMM:InstanceID, xmpMM:History) — pyHanko itself rewrites those
  when it appends a DSS;
* a revision that itself carries an intact signature or document timestamp is judged by
  pyHanko's default policy (the new signer vouches for the revision) — anything pyHanko
  classes as OTHER, or a changed non-signature form field, is a modification;
* any other revision must pass a strict policy, compared with the revision just before
  it: only DSS/VRI, object/xref streams, catalog /Extensions, bookkeeping metadata and new
  empty signature fields without appearance (level LTA_UPDATES; unreachable orphan objects
  are ignored, as pyHanko's own DSS updates leave some);
* bytes after the last revision's %%EOF (other than one line end) and bytes between
  revisions that do not start a new revision are modifications of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    DiffResult,
    ModificationLevel,
    StandardDiffPolicy,
    SuspiciousModification,
)
from pyhanko.sign.diff_analysis.form_rules_api import FormUpdatingRule
from pyhanko.sign.diff_analysis.rules.file_structure_rules import (
    CatalogModificationRule,
    ObjectStreamRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.rules.form_field_rules import DSSCompareRule, SigFieldCreationRule
from pyhanko.sign.diff_analysis.rules.metadata_rules import DocInfoRule, MetadataUpdateRule

from archive_core.settings import Limits
from archive_core.xmlsafe import XmlError, parse_xml

MAX_EOL_BYTES = 2
"""After %%EOF only a line end (CR, LF or CRLF) is part of the revision."""
TRAILER_SEARCH_BYTES = 256 * 1024
REVISION_START = re.compile(rb"[\x00\t\n\x0c\r ]*(?:\d+\s+\d+\s+obj\b|xref\b)")

STRICT_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),  # type: ignore[no-untyped-call]
        DocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),  # values are compared by `metadata_change`
        MetadataUpdateRule().as_qualified(  # type: ignore[no-untyped-call]
            ModificationLevel.LTA_UPDATES  # likewise
        ),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule()]),  # type: ignore[no-untyped-call]
    ignore_orphaned_objects=True,  # pyHanko's own DSS updates leave unused VRI objects; /Info is compared apart
)


@dataclass
class FileLayout:
    """Where each revision ends, and bytes that belong to no revision.

    Positions, not revision numbers, decide what lies "after" a revision: in a linearized
    file the first-page section is a later revision near the start of the file.
    """

    size: int
    revisions: int
    revision_ends: list[int | None]
    trailing_bytes: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    """(offset, length) of stray bytes found right after the end of a revision."""

    def stray_after(self, revision: int) -> list[str]:
        """Descriptions of stray bytes anywhere after `revision` ended."""
        end = self.revision_ends[revision] if 0 <= revision < len(self.revision_ends) else None
        notes = [f"{count} byte tại vị trí {offset} / at offset {offset}"
                 for offset, count in self.gaps if end is None or offset >= end]
        if self.trailing_bytes:
            notes.append(f"{self.trailing_bytes} byte sau %%EOF cuối / after the last %%EOF")
        return notes


def measure_layout(reader: Any, stream: BinaryIO, size: int) -> FileLayout:
    xrefs = reader.xrefs
    total = int(xrefs.total_revisions)
    ends: list[int | None] = [_revision_end(xrefs, stream, rev, size) for rev in range(total)]
    layout = FileLayout(size=size, revisions=total, revision_ends=ends)
    known = sorted({end for end in ends if end is not None})
    if not known:
        return layout
    final_end = known[-1]
    stream.seek(final_end)
    tail_length = size - final_end
    layout.trailing_bytes = tail_length - _eol_length(stream.read(min(tail_length, MAX_EOL_BYTES)))
    for end in known[:-1]:
        stream.seek(end)
        head = stream.read(4096)
        if not REVISION_START.match(head):
            next_start = _next_revision_start(head)
            layout.gaps.append((end, next_start if next_start is not None else len(head)))
    return layout


def _eol_length(data: bytes) -> int:
    if data.startswith(b"\r\n"):
        return 2
    if data[:1] in (b"\r", b"\n"):
        return 1
    return 0


def _next_revision_start(head: bytes) -> int | None:
    match = re.search(rb"\d+\s+\d+\s+obj\b|xref\b", head)
    return match.start() if match else None


def _revision_end(xrefs: Any, stream: BinaryIO, revision: int, size: int) -> int | None:
    """Offset just after the %%EOF that closes `revision` (None when it cannot be found)."""
    try:
        start = int(xrefs.get_xref_container_info(revision).end_location)
    except (KeyError, IndexError, AttributeError, ValueError):
        return None
    stream.seek(start)
    chunk = stream.read(min(TRAILER_SEARCH_BYTES, max(0, size - start)))
    index = chunk.find(b"%%EOF")
    if index < 0:
        return None
    return start + index + 5


@dataclass(frozen=True)
class ReviewOutcome:
    """Verdict on the revisions after one signature."""

    level: str
    """`none`, `allowed_updates` or `modified`."""
    problems: tuple[tuple[str, str], ...] = ()
    """(reason code, detail) pairs explaining a modification."""
    pyhanko_level: str | None = None


class RevisionReviewer:
    """Reviews the revisions of one open file; caches per-revision strict verdicts."""

    def __init__(self, reader: Any, layout: FileLayout, signing_revisions: set[int]) -> None:
        self.reader = reader
        self.layout = layout
        self.signing_revisions = signing_revisions
        self._strict: dict[int, str | None] = {}
        self._metadata: dict[int, str | None] = {}
        self._signature_fields = _signature_field_names(reader)

    def review(self, signed_revision: int, field_mdp: Any, doc_mdp: Any) -> ReviewOutcome:
        last = self.layout.revisions - 1
        problems: list[tuple[str, str]] = []
        stray = self.layout.stray_after(signed_revision)
        if stray:
            problems.append(("appended_bytes", "; ".join(stray)))
        if signed_revision >= last:
            return ReviewOutcome("modified" if problems else "none", tuple(problems))
        default = DEFAULT_DIFF_POLICY.review_file(
            self.reader, signed_revision, field_mdp_spec=field_mdp, doc_mdp=doc_mdp
        )
        pyhanko_level = None
        if isinstance(default, DiffResult):
            pyhanko_level = default.modification_level.name
            if default.modification_level is ModificationLevel.OTHER:
                problems.append(("modified_after_signing", "pyHanko: OTHER"))
            elif doc_mdp is not None and default.modification_level.value > doc_mdp.value:
                problems.append(("docmdp_violation", f"{default.modification_level.name} > {doc_mdp.name}"))
            foreign = sorted(set(default.changed_form_fields) - self._signature_fields)
            if foreign:
                problems.append(("form_field_changed", ", ".join(foreign)))
        else:
            pyhanko_level = "OTHER"
            problems.append(("modified_after_signing", _short(str(default))))
        for revision in range(signed_revision + 1, last + 1):
            label = f"phiên bản {revision} / revision {revision}"
            metadata = self._metadata_verdict(revision)
            if metadata is not None:
                problems.append(("metadata_changed", f"{label}: {metadata}"))
            if revision in self.signing_revisions:
                continue
            verdict = self._strict_verdict(revision)
            if verdict is not None:
                problems.append(("non_signature_update", f"{label}: {verdict}"))
        return ReviewOutcome("modified" if problems else "allowed_updates", tuple(problems), pyhanko_level)

    def _metadata_verdict(self, revision: int) -> str | None:
        if revision not in self._metadata:
            old = self.reader.get_historical_resolver(revision - 1)
            new = self.reader.get_historical_resolver(revision)
            self._metadata[revision] = metadata_change(old, new)
        return self._metadata[revision]

    def _strict_verdict(self, revision: int) -> str | None:
        if revision not in self._strict:
            self._strict[revision] = self._judge_strictly(revision)
        return self._strict[revision]

    def _judge_strictly(self, revision: int) -> str | None:
        old = self.reader.get_historical_resolver(revision - 1)
        new = self.reader.get_historical_resolver(revision)
        try:
            result = STRICT_POLICY.apply(old, new)
        except SuspiciousModification as exc:
            return _short(str(exc))
        if result.modification_level.value > ModificationLevel.LTA_UPDATES.value:
            return f"mức thay đổi {result.modification_level.name} / change level {result.modification_level.name}"
        return None


INFO_BOOKKEEPING = {"/ModDate", "/Producer"}
XMP_BOOKKEEPING = {
    "{http://ns.adobe.com/xap/1.0/}ModifyDate",
    "{http://ns.adobe.com/xap/1.0/}MetadataDate",
    "{http://ns.adobe.com/pdf/1.3/}Producer",
    "{http://ns.adobe.com/xap/1.0/mm/}InstanceID",
    "{http://ns.adobe.com/xap/1.0/mm/}History",
}
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XMP_LIMITS = Limits(max_xml_bytes=8 * 1024 * 1024)


def metadata_change(old: Any, new: Any) -> str | None:
    """What changed in the document description between two revisions, ignoring save bookkeeping."""
    notes = []
    info_old, info_new = _info_values(old), _info_values(new)
    changed = sorted(k for k in info_old.keys() | info_new.keys() if info_old.get(k) != info_new.get(k))
    if changed:
        notes.append("/Info " + ", ".join(changed))
    # an absent packet says as much as one holding only bookkeeping (writers add one on save)
    xmp_old, xmp_new = _xmp_properties(old) or [], _xmp_properties(new) or []
    if xmp_old != xmp_new:
        notes.append("XMP " + _describe_xmp_difference(xmp_old, xmp_new))
    return "; ".join(notes) if notes else None


def _at_revision(resolver: Any, value: Any) -> Any:
    """Dereference within the historical revision (a plain `get_object` would give today's object)."""
    if isinstance(value, generic.IndirectObject):
        return resolver(value.reference)
    return value


def _info_values(resolver: Any) -> dict[str, str]:
    try:
        info = _at_revision(resolver, resolver.trailer_view.raw_get("/Info"))
    except (KeyError, AttributeError):
        return {}
    except Exception as exc:
        return {"<unreadable>": type(exc).__name__}
    if not isinstance(info, generic.DictionaryObject):
        return {"<non-dictionary>": repr(info)}
    values = {}
    for key in info:
        if key in INFO_BOOKKEEPING:
            continue
        try:
            values[str(key)] = repr(_at_revision(resolver, info.raw_get(key)))
        except Exception:  # a dangling reference is a value of its own
            values[str(key)] = "<unreadable>"
    return values


def _xmp_properties(resolver: Any) -> list[tuple[str, str]] | str | None:
    """Sorted (property, canonical value) pairs of the XMP packet; a string when unreadable."""
    try:
        stream = _at_revision(resolver, resolver.root.raw_get("/Metadata"))
    except KeyError:
        return None
    except Exception as exc:
        return f"unreadable: {exc}"
    if not isinstance(stream, generic.StreamObject):
        return "not a stream"
    try:
        root = parse_xml(stream.data, path="/Metadata", limits=XMP_LIMITS)
    except (XmlError, Exception) as exc:
        return f"unreadable: {type(exc).__name__}"
    pairs: list[tuple[str, str]] = []
    for description in root.iter(f"{RDF}Description"):
        for raw_name, raw_value in description.attrib.items():
            name, value = str(raw_name), str(raw_value)
            if name != f"{RDF}about" and name not in XMP_BOOKKEEPING:
                pairs.append((name, value))
        for child in description:
            if isinstance(child.tag, str) and child.tag not in XMP_BOOKKEEPING:
                pairs.append((child.tag, _canonical(child)))
    return sorted(pairs)


def _canonical(element: Any) -> str:
    """A value that ignores layout: pretty-printing, namespace placement, attribute vs element form."""
    children = [c for c in element if isinstance(c.tag, str)]
    attributes = sorted((str(k), str(v)) for k, v in element.attrib.items())
    text = (element.text or "").strip()
    if not children and not attributes:
        return text
    return repr((attributes, text, [(c.tag, _canonical(c)) for c in children]))


def _describe_xmp_difference(old: Any, new: Any) -> str:
    if not isinstance(old, list) or not isinstance(new, list):
        return f"{old if isinstance(old, str) else 'readable'} → {new if isinstance(new, str) else 'readable'}"
    changed = sorted({name for name, _ in set(old) ^ set(new)})
    return ", ".join(_short_name(n) for n in changed[:8]) + (" …" if len(changed) > 8 else "")


def _short_name(qualified: str) -> str:
    return qualified.rsplit("}", 1)[-1] if "}" in qualified else qualified


def _signature_field_names(reader: Any) -> set[str]:
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        return {name for name, _value, _ref in enumerate_sig_fields(reader)}
    except Exception:  # a broken form tree: no field counts as a signature field
        return set()


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
