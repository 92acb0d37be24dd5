"""The boundary with `pikepdf.pdfa`: run its object walker on our open document.

pikepdf's public `validate_written` opens the file itself, checks XMP with a
deliberately narrow allowlist, and stops descending into an object as soon as
the object has a key it does not check (so one private key in the catalog
leaves every page unchecked). We need the walker on the `Pdf` we opened (one
parse for all our checks) and need it to keep walking past constructs it merely
does not check, which we judge ourselves. So this module drives pikepdf's
walker directly:

- the schema set reports "unsupported" schema findings but still descends into
  the object's known children (violations still stop the descent);
- XMP is left to `preservation.pdfa.xmp`;
- the PDF version header is not a PDF/A-1 rule (veraPDF has none), so it does
  not stop a part-1 check.

This uses pikepdf internals (`pikepdf.pdfa._*`), pinned by the tests; if they
change, `available()` turns false and the caller falls back to the public API.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pikepdf

log = logging.getLogger(__name__)

try:  # pikepdf internals: see the module docstring
    from pikepdf.pdfa import _engine as _pk_engine
    from pikepdf.pdfa._context import ValidationContext
    from pikepdf.pdfa._flavour import Flavour as PkFlavour
    from pikepdf.pdfa._report import Deny, Finding, Report
    from pikepdf.pdfa._schemas import SchemaSet
    from pikepdf.pdfa._walker import DocumentWalker
    from pikepdf.pdfa._writemodel import WriteModel

    _INTERNALS = True
except ImportError:  # pragma: no cover - depends on the installed pikepdf
    _INTERNALS = False


@dataclass(frozen=True)
class EngineFinding:
    rule: str
    """`ISO_19005_2:6.2.11.4.1-1` or a pikepdf-local id (`pikepdf:pattern`)."""
    where: str
    message: str
    kind: str
    """`violation` or `unsupported`."""


def available() -> bool:
    return _INTERNALS


if _INTERNALS:

    class _LenientSchemas(SchemaSet):
        """Report every schema error, but only violations stop the walk below an object.

        JSON Schema validation is most of pikepdf's cost. Objects that validate
        cleanly are remembered by role and shallow form (references reduced to
        `0 0 R`: the schemas only check that a value is a reference), so the
        many look-alike objects of a document, and of documents from the same
        producer, are judged once.
        """

        def __init__(self, flavour: Any) -> None:
            super().__init__(flavour)
            self._valid: dict[str, None] = {}

        def check(self, role: str, shallow: Any, ctx: Any, where: str) -> bool:
            if isinstance(shallow, dict) and len(shallow) > _MAX_SCHEMA_KEYS:
                ctx.deny(f"pikepdf:schema-{role}", where, f"{len(shallow)} keys: too large to check", "unsupported")
                return True
            key = _cache_key(role, shallow)
            if key is not None and key in self._valid:
                return True
            blocking = False
            errors = 0
            for error in self._validator(role).iter_errors(shallow):
                rule_id, kind, message = self._interpret(role, error)
                location = where
                if error.absolute_path:
                    location = f"{where} {'/'.join(str(p) for p in error.absolute_path)}"
                ctx.deny(rule_id, location, message, kind)
                blocking = blocking or kind == "violation"
                errors += 1
            if errors == 0 and key is not None:
                if len(self._valid) > _MAX_CACHED:
                    self._valid.clear()
                self._valid[key] = None
            return not blocking


_MAX_SCHEMA_KEYS = 4095
_MAX_CACHED = 200_000
_REFERENCE = re.compile(r'"\d+ \d+ R"')


def _cache_key(role: str, shallow: Any) -> str | None:
    try:
        text = json.dumps(shallow, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    if len(text) > 4096:
        return None
    return role + "|" + _REFERENCE.sub('"0 0 R"', text)


@cache
def _schemas(flavour: str) -> Any:
    return _LenientSchemas(PkFlavour(flavour))


def run(pdf: pikepdf.Pdf, flavour: str) -> list[EngineFinding]:
    """pikepdf's findings on the document as it is in memory (`flavour`: 1b, 2b or 3b)."""
    if not _INTERNALS:
        return _run_public(pdf, flavour)
    pk_flavour = PkFlavour(flavour)
    report = Report(pk_flavour)
    ctx = ValidationContext(pk_flavour, pdf, report, WriteModel.identity())
    try:
        # pikepdf's walker expects scalars as pikepdf objects (thread-local mode).
        with pikepdf.explicit_conversion():
            _check_document(ctx)
    except Deny as exc:
        report.findings.append(exc.finding)
    except Exception as exc:
        log.debug("pikepdf walker raised", exc_info=True)
        report.findings.append(Finding("pikepdf:internal", "document", f"{type(exc).__name__}: {exc}", "unsupported"))
    return [EngineFinding(f.rule, f.where, f.message, f.kind) for f in report.findings]


def _check_document(ctx: Any) -> None:
    """`pikepdf.pdfa._engine.check_document` without its XMP check and part-1 version gate."""
    pdf, flavour, model = ctx.pdf, ctx.flavour, ctx.model
    if model.encrypted(pdf):
        raise Deny(Finding(ctx.rule("6.1.3-2", "6.1.3-2"), "trailer", "file is encrypted"))
    if flavour.part == 1 and model.xref_stream(pdf):
        raise Deny(
            Finding(ctx.rule("6.1.4-3", None), "trailer", "cross-reference streams are not permitted in PDF/A-1")
        )
    if flavour.part != 1:
        version = model.version(pdf)
        major, _, minor = version.partition(".")
        if (int(major or 0), int(minor or 0)) > (1, 7):
            ctx.deny("ISO_19005_2:6.1.2-1", "header", f"PDF version {version} exceeds 1.7")
    if len(model.objects(pdf)) > _pk_engine.MAX_INDIRECT_OBJECTS:
        raise Deny(Finding(ctx.rule("6.1.12-7", "6.1.13-7"), "document", "too many indirect objects"))
    DocumentWalker(ctx, _schemas(flavour.value)).walk()


def _run_public(pdf: pikepdf.Pdf, flavour: str) -> list[EngineFinding]:  # pragma: no cover
    """Without the internals nothing below the file structure and XMP is judged: say so."""
    return [EngineFinding("pikepdf:internal", "document", f"pikepdf.pdfa internals unavailable ({flavour})",
                          "unsupported")]
