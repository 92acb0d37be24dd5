"""TT 05/2025/TT-BNV descriptive metadata: `<simpledc>` (no namespace).

Package level `EAD.xml` (SIP_hoso 18 fields with fileCode, SIP_tailieu 5,
AIP_hoso 18 with arcFileCode, AIP_tailieu 4) and one `EAD_doc` / `EAD_pic` /
`EAD_media` per document. Field lists, tags and order come from
`archive_core.codes` (`field_specs`). Writers emit every element of the variant
in the documented order (the AIP schemas are sequences of required elements;
an absent value is an empty element) and convert Circular 02 wording to TT 05
codes ("Vĩnh viễn" → "01", "Công khai" → "01" …). Readers accept any element
order and the deviations seen in practice (an element of another variant,
`arcDocCode` where `docCode` is expected), reporting them as warnings.

TT 05 cannot hold every value of the internal model (fonds, Circular 02 wording,
a retention of 15 years, the parts of a composite file code …). `extension_to_xml`
writes the EAD, reads it back and records every value that reading alone would
not reconstruct in an earchive extension (`urn:earchive:tt05-extension:1`,
stored at `metadata/descriptive/earchive-extension.xml`); `apply_extension`
restores them. So model → TT 05 (+ extension) → model is the identity on every
metadata value (files are carried by METS, not by EAD).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum

from lxml import etree

from archive_core.codes import (
    Entity,
    FieldSpec,
    Profile,
    field_specs,
    maintenance_code_for,
    split_codes,
    to_code,
)
from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import (
    Document,
    DocumentKind,
    Dossier,
    DossierKind,
    Fonds,
    composite_file_code,
    value_fields,
)
from archive_core.profiles.circular02 import (
    UNKNOWN_ELEMENT,
    WRONG_ROOT,
    FieldCollector,
    serialize,
    set_values,
)
from archive_core.profiles.xmlutil import field_children, local_name, tagged_children
from archive_core.settings import Limits
from archive_core.xmlsafe import parse_xml

ROOT = "simpledc"
DOC_ID_MAX = 25
"""TT 05 docId length: a derived docId longer than this is not written."""
EXTENSION_NS = "urn:earchive:tt05-extension:1"
EXTENSION_PATH = "metadata/descriptive/earchive-extension.xml"


class Tt05Variant(StrEnum):
    SIP_HOSO = "sip-hoso"
    SIP_TAILIEU = "sip-tailieu"
    AIP_HOSO = "aip-hoso"
    AIP_TAILIEU = "aip-tailieu"

    @property
    def profile(self) -> Profile:
        return Profile(self.value)

    @property
    def dossier_kind(self) -> DossierKind:
        return DossierKind.TAILIEU if self.profile.is_tailieu else DossierKind.HOSO

    @property
    def label(self) -> str:
        return {
            "sip-hoso": "SIP_hoso", "sip-tailieu": "SIP_tailieu",
            "aip-hoso": "AIP_hoso", "aip-tailieu": "AIP_tailieu",
        }[self.value]


TAG_DEVIATION = declare(
    "CK-META-TAG-DEVIATION", "R-CK-5", Severity.WARNING,
    "Phần tử <{element}> trong {path} thuộc {other}, không thuộc {variant}; vẫn đọc giá trị",
    "Element <{element}> in {path} belongs to {other}, not to {variant}; its value is read anyway",
)
EAD_NAMESPACE = declare(
    "CK-META-EAD-NAMESPACE", "R-CK-5", Severity.WARNING,
    "Phần tử <simpledc> trong {path} có không gian tên {namespace}; TT 05 không dùng không gian tên",
    "<simpledc> in {path} has the namespace {namespace}; TT 05 uses none",
)
EXTENSION_UNKNOWN = declare(
    "CK-META-EXTENSION", "R-CK-5", Severity.WARNING,
    "Tệp mở rộng earchive {path}: {reason}",
    "earchive extension {path}: {reason}",
)

_ENTITY_OF_KIND = {DocumentKind.DOC: Entity.DOC, DocumentKind.PIC: Entity.PIC, DocumentKind.MEDIA: Entity.MEDIA}
_PIC_TAGS = {"typePic", "imageTitle", "photographer", "photoPlace", "photoTime", "colour", "filmSize"}
_MEDIA_TAGS = {"typeMedia", "movieTitle", "recorder", "recordPlace", "recordDate", "playTime", "quality"}


# ---------------------------------------------------------------- value conversion


_OTHER_CODE = {"typeName": "32", "language": "11"}
"""Lists with a "Khác" code: a value outside the list is written as Khác (the extension keeps the words)."""


def _convert(spec: FieldSpec, value: str | None) -> str | None:
    """The TT 05 form of a model value for `spec`: codes for labels, Khác for the unlisted where it exists."""
    if value is None:
        return None
    if spec.code_list == "maintenance":
        return maintenance_code_for(value) or value
    if spec.code_list is None or not value.strip():
        return value
    other = _OTHER_CODE.get(spec.code_list)
    whole = to_code(spec.code_list, value)
    if whole is not None:
        return whole
    if spec.multi:
        items = [to_code(spec.code_list, item) or other for item in split_codes(value)]
        if items and all(items):
            return ",".join(dict.fromkeys(c for c in items if c))
    return other or value


# ---------------------------------------------------------------- writing


def _simpledc(specs: Sequence[FieldSpec], values: dict[str, str | None]) -> bytes:
    root = etree.Element(ROOT)
    for spec in specs:
        etree.SubElement(root, spec.tag).text = _convert(spec, values.get(spec.name)) or ""
    return serialize(root)


def _dossier_file_code(dossier: Dossier) -> str | None:
    return dossier.file_code or composite_file_code(dossier)


def _dossier_arc_file_code(dossier: Dossier) -> str | None:
    if dossier.arc_file_code:
        return dossier.arc_file_code
    file_code = _dossier_file_code(dossier)
    if file_code and dossier.identifier:
        return f"{dossier.identifier}.{file_code}"
    return None


def _dossier_values(dossier: Dossier) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: getattr(dossier, name) for name in value_fields(Dossier)}
    values["file_code"] = _dossier_file_code(dossier)
    values["arc_file_code"] = _dossier_arc_file_code(dossier)
    return values


def dossier_to_ead(dossier: Dossier, variant: Tt05Variant) -> bytes:
    """Package-level `EAD.xml` for `variant`, every element in the documented order."""
    variant = Tt05Variant(variant)
    return _simpledc(field_specs(variant, Entity.DOSSIER), _dossier_values(dossier))


def _ordinal_number(doc: Document) -> int | None:
    if doc.doc_ordinal and doc.doc_ordinal.strip().isdecimal():
        number = int(doc.doc_ordinal.strip())
        return number if number > 0 else None
    return None


def _document_values(doc: Document, dossier: Dossier | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: getattr(doc, name) for name in value_fields(Document)}
    file_code = doc.file_code or composite_file_code_of_document(doc)
    arc_file_code = doc.arc_file_code
    if dossier is not None:
        file_code = file_code or _dossier_file_code(dossier)
        arc_file_code = arc_file_code or _dossier_arc_file_code(dossier)
        values["maintenance"] = doc.maintenance or dossier.maintenance
    if arc_file_code is None and file_code and doc.identifier:
        arc_file_code = f"{doc.identifier}.{file_code}"
    ordinal = _ordinal_number(doc)
    if values["doc_code"] is None and file_code and ordinal:
        values["doc_code"] = f"{file_code}.{ordinal:07d}"
    if values["doc_id"] is None and file_code and ordinal and len(f"{file_code}.{ordinal}") <= DOC_ID_MAX:
        values["doc_id"] = f"{file_code}.{ordinal}"
    if values["arc_doc_code"] is None and arc_file_code and ordinal:
        values["arc_doc_code"] = f"{arc_file_code}.{ordinal:07d}"
    values["arc_file_code"] = arc_file_code
    return values


def composite_file_code_of_document(doc: Document) -> str | None:
    """Circular 02 FileCode of a document built from its parts."""
    parts = [doc.organ_id, doc.file_catalog, doc.file_notation]
    if not all(parts):
        return None
    return ".".join(p for p in parts if p)


def document_to_ead(doc: Document, variant: Tt05Variant, *, dossier: Dossier | None = None) -> bytes:
    """`EAD_doc` / `EAD_pic` / `EAD_media` (by `doc.kind`) for `variant`.

    With `dossier`, missing codes are derived from the dossier's (docCode =
    fileCode + 7-digit ordinal, arcFileCode, maintenance defaulting to the dossier's).
    """
    variant = Tt05Variant(variant)
    specs = field_specs(variant, _ENTITY_OF_KIND[doc.kind])
    return _simpledc(specs, _document_values(doc, dossier))


def document_file_stem(doc: Document, variant: Tt05Variant, dossier: Dossier | None = None) -> str:
    """`EAD_doc_<name>` style prefix for a document's metadata file name."""
    prefix = {DocumentKind.DOC: "EAD_doc", DocumentKind.PIC: "EAD_pic", DocumentKind.MEDIA: "EAD_media"}[doc.kind]
    values = _document_values(doc, dossier)
    name = values.get("doc_id") or values.get("doc_code") or values.get("arc_doc_code") or doc.key
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"


# ---------------------------------------------------------------- reading


def _variants_with(tag: str, entity: Entity) -> list[Tt05Variant]:
    return [v for v in Tt05Variant if any(s.tag == tag for s in field_specs(v, entity))]


def _check_root(root: etree._Element, path: str, ctx: CheckContext) -> bool:
    if local_name(root) != ROOT:
        ctx.report(WRONG_ROOT, path=path, found=local_name(root), expected=ROOT)
        return False
    namespace = etree.QName(root).namespace
    if namespace:
        ctx.report(EAD_NAMESPACE, path=path, namespace=namespace)
    return True


def detect_dossier_variant(root: etree._Element) -> Tt05Variant:
    """Guess the package-level variant from the element names present."""
    return _dossier_variant_of({tag for tag, _ in tagged_children(root)})


def _dossier_variant_of(tags: set[str]) -> Tt05Variant:
    aip = "arcFileCode" in tags and "fileCode" not in tags
    hoso_only = {"maintenance", "startDate", "endDate", "mode", "language", "confidenceLevel"}
    tailieu = "source" in tags and not (tags & hoso_only)
    if tailieu:
        return Tt05Variant.AIP_TAILIEU if aip else Tt05Variant.SIP_TAILIEU
    return Tt05Variant.AIP_HOSO if aip else Tt05Variant.SIP_HOSO


@dataclass(frozen=True)
class _ReadingPlan:
    """How to read one entity's simpledc: own tags, tags of other variants (read with a warning)."""

    own: dict[str, str]
    """tag → model field name"""
    foreign: dict[str, tuple[str, str]]
    """tag → (model field name, the variants that own it)"""
    label: str


@functools.lru_cache(maxsize=64)
def _reading_plan(entity: Entity, variant: Tt05Variant | None) -> _ReadingPlan:
    """Tags and names only (never lengths), so configured length overrides cannot make it stale."""
    if variant is None:
        own: Sequence[FieldSpec] = _union_specs(entity)
        label = f"EAD_{entity.value}"
    else:
        own = field_specs(variant, entity)
        label = variant.label if entity is Entity.DOSSIER else f"{variant.label} EAD_{entity.value}"
    own_tags = frozenset(s.tag for s in own)
    return _ReadingPlan({s.tag: s.name for s in own}, _foreign_tags_cached((entity,), own_tags), label)


def _read_simpledc(
    children: list[tuple[str, etree._Element]],
    path: str,
    ctx: CheckContext,
    plan: _ReadingPlan,
    target: object,
    document: str | None = None,
) -> None:
    """Read the plan's own tags; tags of other variants are read with a warning."""
    collector = FieldCollector(path, ctx, document)
    own, foreign = plan.own, plan.foreign
    for tag, child in children:
        name = own.get(tag)
        if name is not None:
            collector.take(name, child, tag)
        elif tag in foreign:
            name, owner = foreign[tag]
            ctx.report(
                TAG_DEVIATION, path=path, field=tag, element=tag, other=owner, variant=plan.label,
                document=document,
            )
            collector.take(name, child, tag)
        else:
            ctx.report(
                UNKNOWN_ELEMENT, path=path, field=tag, element=tag, profile=f"TT 05/2025 {plan.label}",
                document=document,
            )
    set_values(target, collector.values)


@functools.lru_cache(maxsize=64)
def _foreign_tags_cached(entities: tuple[Entity, ...], own_tags: frozenset[str]) -> dict[str, tuple[str, str]]:
    foreign: dict[str, tuple[str, str]] = {}
    for entity in entities:
        for variant in Tt05Variant:
            for spec in field_specs(variant, entity):
                if spec.tag not in own_tags and spec.tag not in foreign:
                    owners = ", ".join(
                        f"{v.label} {entity.value}" for v in _variants_with(spec.tag, entity)
                    )
                    foreign[spec.tag] = (spec.name, owners)
    return foreign


def dossier_from_ead(
    root: etree._Element, path: str, ctx: CheckContext, variant: Tt05Variant | None = None
) -> Dossier:
    """Read package-level `EAD.xml`; the variant is detected from the elements when None."""
    children = tagged_children(root)
    detected = Tt05Variant(variant) if variant is not None else _dossier_variant_of({t for t, _ in children})
    dossier = Dossier(kind=detected.dossier_kind, metadata_path=path)
    if not _check_root(root, path, ctx):
        return dossier
    _read_simpledc(children, path, ctx, _reading_plan(Entity.DOSSIER, detected), dossier)
    return dossier


def detect_document_kind(root: etree._Element) -> DocumentKind:
    return _document_kind_of({tag for tag, _ in tagged_children(root)})


def _document_kind_of(tags: set[str]) -> DocumentKind:
    if tags & _PIC_TAGS:
        return DocumentKind.PIC
    if tags & _MEDIA_TAGS:
        return DocumentKind.MEDIA
    return DocumentKind.DOC


def _union_specs(entity: Entity) -> tuple[FieldSpec, ...]:
    seen: dict[str, FieldSpec] = {}
    for variant in Tt05Variant:
        for spec in field_specs(variant, entity):
            seen.setdefault(spec.tag, spec)
    return tuple(seen.values())


def document_from_ead(
    root: etree._Element,
    path: str,
    ctx: CheckContext,
    *,
    variant: Tt05Variant | None = None,
    children: list[tuple[str, etree._Element]] | None = None,
) -> Document:
    """Read one `EAD_doc` / `EAD_pic` / `EAD_media`; the kind is detected from the elements.

    Without `variant` every element of any variant of that kind is read silently;
    with it, elements of other variants are read with a CK-META-TAG-DEVIATION warning.
    `children` is `tagged_children(root)` when the caller has it already.
    """
    if children is None:
        children = tagged_children(root)
    kind = _document_kind_of({tag for tag, _ in children})
    doc = Document(kind=kind, metadata_path=path)
    if not _check_root(root, path, ctx):
        return doc
    plan = _reading_plan(_ENTITY_OF_KIND[kind], None if variant is None else Tt05Variant(variant))
    _read_simpledc(children, path, ctx, plan, doc, document=path)
    return doc


# ---------------------------------------------------------------- extension (lossless round trip)

_SKIPPED = {"files", "metadata_path", "documents", "fonds"}


def _differences(expected: object, actual: object) -> dict[str, str | None]:
    """Fields whose value in `expected` differs from `actual` (plain values and `kind`)."""
    diff: dict[str, str | None] = {}
    for f in fields(expected):  # type: ignore[arg-type]
        if f.name in _SKIPPED:
            continue
        want, got = getattr(expected, f.name), getattr(actual, f.name)
        if want != got:
            diff[f.name] = None if want is None else str(want)
    return diff


def _read_back(dossier: Dossier, variant: Tt05Variant) -> Dossier:
    """What a reader of the EAD files alone makes of `dossier` written for `variant`."""
    limits = Limits()
    scratch = CheckContext()
    ead = parse_xml(dossier_to_ead(dossier, variant), path="EAD.xml", limits=limits)
    back = dossier_from_ead(ead, "EAD.xml", scratch)
    for index, doc in enumerate(dossier.documents):
        root = parse_xml(document_to_ead(doc, variant, dossier=dossier), path=f"doc{index}", limits=limits)
        back.documents.append(document_from_ead(root, f"doc{index}", scratch))
    return back


def _document_match_key(doc: Document) -> str | None:
    return doc.doc_id or doc.doc_code or doc.arc_doc_code


def _q(tag: str) -> str:
    return f"{{{EXTENSION_NS}}}{tag}"


def _value_elements(parent: etree._Element, diff: dict[str, str | None]) -> None:
    for name, value in diff.items():
        element = etree.SubElement(parent, _q("value"), field=name)
        if value is None:
            element.set("absent", "true")
        else:
            element.text = value


def extension_to_xml(dossier: Dossier, variant: Tt05Variant) -> bytes | None:
    """The earchive extension for `dossier` written as `variant`, None when nothing is lost.

    Computed generally: write the EAD files, read them back, and keep every model
    value the read-back lacks or holds differently (None is recorded as `absent`).
    """
    variant = Tt05Variant(variant)
    back = _read_back(dossier, variant)
    root = etree.Element(_q("earchiveExtension"), nsmap={None: EXTENSION_NS})  # type: ignore[dict-item]
    root.set("version", "1")
    root.set("variant", variant.value)
    changed = False
    dossier_diff = _differences(dossier, back)
    if dossier_diff:
        _value_elements(etree.SubElement(root, _q("dossier")), dossier_diff)
        changed = True
    if dossier.fonds is not None:
        fonds_element = etree.SubElement(root, _q("fonds"))
        _value_elements(fonds_element, _differences(dossier.fonds, Fonds()))
        changed = True
    for index, (doc, read) in enumerate(zip(dossier.documents, back.documents, strict=True)):
        diff = _differences(doc, read)
        if diff:
            element = etree.SubElement(root, _q("document"), index=str(index))
            key = _document_match_key(read)
            if key:
                element.set("key", key)
            _value_elements(element, diff)
            changed = True
    return serialize(root) if changed else None


def _read_values(element: etree._Element) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for tag, item in tagged_children(element):
        name = item.get("field")
        if tag != "value" or not name:
            continue
        values[name] = None if item.get("absent") == "true" else (item.text or "")
    return values


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names


def _apply(target: object, values: dict[str, str | None], path: str, ctx: CheckContext | None) -> None:
    names = _field_names(type(target))
    for name, value in values.items():
        if name not in names or name in _SKIPPED:
            if ctx is not None:
                ctx.report(EXTENSION_UNKNOWN, path=path, reason=f"unknown field '{name}'")
            continue
        if name == "kind":
            current = getattr(target, name)
            setattr(target, name, type(current)(value))
        else:
            setattr(target, name, value)


def _find_document(dossier: Dossier, element: etree._Element) -> Document | None:
    """The document an extension entry is for: by index when its key agrees, else by key."""
    key = element.get("key")
    raw_index = element.get("index") or ""
    at_index = (
        dossier.documents[int(raw_index)]
        if raw_index.isdecimal() and int(raw_index) < len(dossier.documents)
        else None
    )
    if at_index is not None and (key is None or _document_match_key(at_index) == key):
        return at_index
    if key:
        for doc in dossier.documents:
            if _document_match_key(doc) == key:
                return doc
    return at_index


def apply_extension(
    dossier: Dossier, root: etree._Element, *, path: str = EXTENSION_PATH, ctx: CheckContext | None = None
) -> None:
    """Restore the values an earchive extension holds into a dossier read from EAD files."""
    if etree.QName(root).text != _q("earchiveExtension"):
        if ctx is not None:
            ctx.report(EXTENSION_UNKNOWN, path=path, reason=f"root element {etree.QName(root).text}")
        return
    pending: list[tuple[Document, dict[str, str | None]]] = []
    for element in field_children(root):
        name = local_name(element)
        if name == "dossier":
            _apply(dossier, _read_values(element), path, ctx)
        elif name == "fonds":
            dossier.fonds = dossier.fonds or Fonds()
            _apply(dossier.fonds, _read_values(element), path, ctx)
        elif name == "document":
            doc = _find_document(dossier, element)
            if doc is None:
                if ctx is not None:
                    where = f"{element.get('index')} {element.get('key')}"
                    ctx.report(EXTENSION_UNKNOWN, path=path, reason=f"no document {where}")
                continue
            # Apply after matching every element: restoring a key must not disturb later matches.
            pending.append((doc, _read_values(element)))
        elif ctx is not None:
            ctx.report(EXTENSION_UNKNOWN, path=path, reason=f"unknown element {name}")
    for doc, values in pending:
        _apply(doc, values, path, ctx)


# ---------------------------------------------------------------- convenience


@dataclass
class Tt05Metadata:
    ead: bytes
    documents: list[tuple[Document, bytes]] = field(default_factory=list)
    extension: bytes | None = None


def to_tt05(dossier: Dossier, variant: Tt05Variant) -> Tt05Metadata:
    """EAD.xml, one EAD per document (dossier order) and the extension (None when not needed)."""
    variant = Tt05Variant(variant)
    return Tt05Metadata(
        ead=dossier_to_ead(dossier, variant),
        documents=[(doc, document_to_ead(doc, variant, dossier=dossier)) for doc in dossier.documents],
        extension=extension_to_xml(dossier, variant),
    )


def from_tt05(
    ead_root: etree._Element,
    doc_roots: Sequence[etree._Element],
    extension_root: etree._Element | None,
    ctx: CheckContext,
    *,
    ead_path: str = "metadata/descriptive/EAD.xml",
    doc_paths: Sequence[str] | None = None,
) -> Dossier:
    """The dossier from EAD.xml, its documents' EAD (in order) and the optional extension."""
    dossier = dossier_from_ead(ead_root, ead_path, ctx)
    for index, root in enumerate(doc_roots):
        fallback = root.getroottree().docinfo.URL or f"document {index + 1}"
        path = doc_paths[index] if doc_paths is not None else fallback
        dossier.documents.append(document_from_ead(root, path, ctx))
    if extension_root is not None:
        apply_extension(dossier, extension_root, ctx=ctx)
    return dossier


def simpledc_xsd(tags: Sequence[str], *, ordered: bool) -> bytes:
    """A `<simpledc>` schema for these tags: `ordered` (AIP) makes each required once in this order,
    otherwise (SIP, the circular's xs:all) each is optional and the order free."""
    if ordered:
        elements = "\n".join(f'      <xs:element name="{tag}" type="xs:string"/>' for tag in tags)
        group = "sequence"
    else:
        elements = "\n".join(f'      <xs:element name="{tag}" type="xs:string" minOccurs="0"/>' for tag in tags)
        group = "all"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- TT 05/2025/TT-BNV simpledc, generated by earchive from its field list (archive_core.codes). -->\n"
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">\n'
        '  <xs:complexType name="elementContainer">\n'
        f"    <xs:{group}>\n"
        f"{elements}\n"
        f"    </xs:{group}>\n"
        "  </xs:complexType>\n"
        '  <xs:element name="simpledc" type="elementContainer"/>\n'
        "</xs:schema>\n"
    ).encode()
