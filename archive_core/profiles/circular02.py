"""Circular 02/2019/TT-BNV metadata as earchive XML (namespace `urn:earchive:circular02:2019`).

Two documents, element names taken from the circular's tags:

- the dossier file, root `HoSo`: an optional `PhongLuuTru` (fonds), the hồ sơ
  fields in the circular's order, an optional `Additional` block holding the
  TT 05 / QLVB fields the circular lacks (under their TT 05 names), and
  optionally the documents as nested `VanBan` elements;
- one document file, root `VanBan`: the văn bản fields in the circular's order,
  `Additional`, and `<Files><File>files/x.pdf</File></Files>` listing the
  document's files relative to the bag's `data/` folder.

Reading is lenient: any element order, missing namespace (warning), unknown
and duplicate elements reported as findings. Values are stripped of
surrounding white space; an empty element is an absent value. The XSD
(`schemas/circular02.xsd`) fixes structure and order; required fields,
lengths and code lists are judged by `ingest.checks.metadata` so that they
become coded findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from lxml import etree

from archive_core.codes import (
    C02_DOCUMENT,
    C02_DOCUMENT_ADDITIONAL,
    C02_DOSSIER,
    C02_DOSSIER_ADDITIONAL,
    C02_FONDS,
    FieldSpec,
)
from archive_core.findings import CheckContext, Severity, declare
from archive_core.model import Document, DocumentKind, Dossier, DossierKind, FileRef, Fonds
from archive_core.profiles.xmlutil import element_text, field_children, local_name

NS = "urn:earchive:circular02:2019"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "circular02.xsd"

ROOT_DOSSIER = "HoSo"
ROOT_DOCUMENT = "VanBan"
FONDS_ELEMENT = "PhongLuuTru"
ADDITIONAL = "Additional"
FILES = "Files"
FILE = "File"

UNKNOWN_ELEMENT = declare(
    "CK-META-UNKNOWN-ELEMENT", "R-CK-5", Severity.WARNING,
    "Phần tử <{element}> trong {path} không thuộc hồ sơ siêu dữ liệu {profile}; giá trị bị bỏ qua",
    "Element <{element}> in {path} is not part of the {profile} metadata profile; its value is ignored",
)
DUPLICATE_ELEMENT = declare(
    "CK-META-DUPLICATE-ELEMENT", "R-CK-5", Severity.ERROR,
    "Phần tử <{element}> xuất hiện nhiều lần trong {path}; chỉ lấy giá trị đầu tiên, bỏ '{ignored}'",
    "Element <{element}> appears more than once in {path}; the first value is kept, '{ignored}' ignored",
)
WRONG_ROOT = declare(
    "CK-META-WRONG-ROOT", "R-CK-5", Severity.ERROR,
    "Phần tử gốc của {path} là <{found}>, cần <{expected}>",
    "The root element of {path} is <{found}>, expected <{expected}>",
)
NO_NAMESPACE = declare(
    "CK-META-NAMESPACE", "R-CK-5", Severity.WARNING,
    "Các phần tử trong {path} không dùng không gian tên {expected} (đọc theo tên phần tử)",
    "Elements in {path} do not use the namespace {expected} (read by local name)",
)
NESTED_CONTENT = declare(
    "CK-META-NESTED-CONTENT", "R-CK-5", Severity.WARNING,
    "Phần tử <{element}> trong {path} chứa phần tử con; chỉ lấy phần văn bản",
    "Element <{element}> in {path} contains child elements; only its text is read",
)

PROFILE_LABEL = "Thông tư 02/2019/TT-BNV"

class FieldCollector:
    """Collects field values from XML children, reporting duplicates and nested content."""

    def __init__(self, path: str, ctx: CheckContext, document: str | None = None) -> None:
        self.path = path
        self.ctx = ctx
        self.document = document
        self.values: dict[str, str | None] = {}

    def take(self, name: str, element: etree._Element, tag: str | None = None) -> None:
        if len(element):
            if any(isinstance(c.tag, str) for c in element):
                shown = tag or local_name(element)
                self.ctx.report(NESTED_CONTENT, path=self.path, field=shown, element=shown, document=self.document)
            value = element_text(element)
        else:  # the usual leaf: `element_text` without the call
            text = element.text
            value = (text.strip(" \t\r\n") or None) if text else None
        if name in self.values:
            tag = tag or local_name(element)
            first = self.values[name]
            severity = Severity.WARNING if first == value else Severity.ERROR
            if first is None and value is not None:
                self.values[name] = value
                severity = Severity.WARNING
            self.ctx.report(
                DUPLICATE_ELEMENT, path=self.path, field=tag, element=tag, ignored=value or "",
                document=self.document, severity=severity,
            )
            return
        self.values[name] = value


def set_values(target: object, values: dict[str, str | None]) -> None:
    for name, value in values.items():
        setattr(target, name, value)


def serialize(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


# ---------------------------------------------------------------- writing


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _new_root(tag: str) -> etree._Element:
    return etree.Element(_q(tag), nsmap={None: NS})  # type: ignore[dict-item]


def _append_fields(parent: etree._Element, specs: Sequence[FieldSpec], source: object) -> None:
    for spec in specs:
        value = getattr(source, spec.name)
        if value is not None:
            etree.SubElement(parent, _q(spec.tag)).text = value


def _append_additional(parent: etree._Element, specs: Sequence[FieldSpec], source: object) -> None:
    if any(getattr(source, s.name) is not None for s in specs):
        block = etree.SubElement(parent, _q(ADDITIONAL))
        _append_fields(block, specs, source)


def _fonds_element(parent: etree._Element, fonds: Fonds) -> None:
    element = etree.SubElement(parent, _q(FONDS_ELEMENT))
    _append_fields(element, C02_FONDS, fonds)


def _document_element(doc: Document, parent: etree._Element | None = None) -> etree._Element:
    element = _new_root(ROOT_DOCUMENT) if parent is None else etree.SubElement(parent, _q(ROOT_DOCUMENT))
    if doc.kind is not DocumentKind.DOC:
        element.set("kind", doc.kind.value)
    _append_fields(element, C02_DOCUMENT, doc)
    _append_additional(element, C02_DOCUMENT_ADDITIONAL, doc)
    if doc.files:
        files = etree.SubElement(element, _q(FILES))
        for ref in doc.files:
            etree.SubElement(files, _q(FILE)).text = ref.path
    return element


def dossier_to_xml(dossier: Dossier, *, include_documents: bool = False) -> bytes:
    """The dossier file (root `HoSo`), optionally with its documents nested."""
    root = _new_root(ROOT_DOSSIER)
    if dossier.kind is not DossierKind.HOSO:
        root.set("kind", dossier.kind.value)
    if dossier.fonds is not None:
        _fonds_element(root, dossier.fonds)
    _append_fields(root, C02_DOSSIER, dossier)
    _append_additional(root, C02_DOSSIER_ADDITIONAL, dossier)
    if include_documents:
        for doc in dossier.documents:
            _document_element(doc, root)
    return serialize(root)


def document_to_xml(doc: Document) -> bytes:
    """One document file (root `VanBan`) listing its files relative to the bag's `data/`."""
    return serialize(_document_element(doc))


# ---------------------------------------------------------------- reading


class _Reader:
    def __init__(self, path: str, ctx: CheckContext) -> None:
        self.path = path
        self.ctx = ctx
        self.namespace_reported = False

    def check_namespace(self, element: etree._Element) -> None:
        namespace = etree.QName(element).namespace
        if namespace != NS and not self.namespace_reported:
            self.namespace_reported = True
            self.ctx.report(NO_NAMESPACE, path=self.path, expected=NS)

    def unknown(self, element: etree._Element, document: str | None = None) -> None:
        tag = local_name(element)
        self.ctx.report(
            UNKNOWN_ELEMENT, path=self.path, field=tag, element=tag, profile=PROFILE_LABEL, document=document
        )

    def root_ok(self, root: etree._Element, expected: str) -> bool:
        found = local_name(root)
        if found != expected:
            self.ctx.report(WRONG_ROOT, path=self.path, found=found, expected=expected)
            return False
        self.check_namespace(root)
        return True

    def read_fields(
        self,
        element: etree._Element,
        specs: Sequence[FieldSpec],
        target: object,
        *,
        extra: dict[str, object] | None = None,
        document: str | None = None,
    ) -> None:
        """Read `specs` from the children of `element` into `target`.

        `extra` maps other child names to handlers (callables taking the child).
        """
        by_tag = {s.tag: s.name for s in specs}
        collector = FieldCollector(self.path, self.ctx, document)
        for child in field_children(element):
            self.check_namespace(child)
            tag = local_name(child)
            if tag in by_tag:
                collector.take(by_tag[tag], child)
            elif extra is not None and tag in extra:
                handler = extra[tag]
                assert callable(handler)
                handler(child)
            else:
                self.unknown(child, document)
        set_values(target, collector.values)

    def read_document(self, element: etree._Element) -> Document:
        doc = Document(kind=_document_kind(element.get("kind")), metadata_path=self.path)
        seen: set[str] = set()

        def once(tag: str, child: etree._Element) -> bool:
            if tag in seen:
                self.ctx.report(DUPLICATE_ELEMENT, path=self.path, field=tag, element=tag, ignored="…")
                return False
            seen.add(tag)
            return True

        def additional(child: etree._Element) -> None:
            if once(ADDITIONAL, child):
                self.read_fields(child, C02_DOCUMENT_ADDITIONAL, doc)

        def files(child: etree._Element) -> None:
            for item in field_children(child):
                self.check_namespace(item)
                if local_name(item) != FILE:
                    self.unknown(item)
                    continue
                path = element_text(item)
                if path is not None:
                    doc.files.append(FileRef(path=path))

        self.read_fields(element, C02_DOCUMENT, doc, extra={ADDITIONAL: additional, FILES: files})
        return doc


def _document_kind(raw: str | None) -> DocumentKind:
    try:
        return DocumentKind(raw or "doc")
    except ValueError:
        return DocumentKind.DOC


def _dossier_kind(raw: str | None) -> DossierKind:
    try:
        return DossierKind(raw or "hoso")
    except ValueError:
        return DossierKind.HOSO


def dossier_from_xml(root: etree._Element, path: str, ctx: CheckContext) -> Dossier:
    """Read the dossier file (root `HoSo`); nested `VanBan` become its documents."""
    reader = _Reader(path, ctx)
    dossier = Dossier(kind=_dossier_kind(root.get("kind")), metadata_path=path)
    if not reader.root_ok(root, ROOT_DOSSIER):
        return dossier
    blocks: set[str] = set()

    def fonds(child: etree._Element) -> None:
        if FONDS_ELEMENT in blocks:
            ctx.report(DUPLICATE_ELEMENT, path=path, field=FONDS_ELEMENT, element=FONDS_ELEMENT, ignored="…")
            return
        blocks.add(FONDS_ELEMENT)
        dossier.fonds = Fonds()
        reader.read_fields(child, C02_FONDS, dossier.fonds)

    def additional(child: etree._Element) -> None:
        if ADDITIONAL in blocks:
            ctx.report(DUPLICATE_ELEMENT, path=path, field=ADDITIONAL, element=ADDITIONAL, ignored="…")
            return
        blocks.add(ADDITIONAL)
        reader.read_fields(child, C02_DOSSIER_ADDITIONAL, dossier)

    def document(child: etree._Element) -> None:
        dossier.documents.append(reader.read_document(child))

    reader.read_fields(
        root, C02_DOSSIER, dossier,
        extra={FONDS_ELEMENT: fonds, ADDITIONAL: additional, ROOT_DOCUMENT: document},
    )
    return dossier


def document_from_xml(root: etree._Element, path: str, ctx: CheckContext) -> Document:
    """Read one document file (root `VanBan`); `doc.files` keep the paths as written."""
    reader = _Reader(path, ctx)
    if not reader.root_ok(root, ROOT_DOCUMENT):
        return Document(metadata_path=path)
    return reader.read_document(root)


# ---------------------------------------------------------------- schema


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate_xsd(root: etree._Element, kind: Literal["dossier", "document"]) -> list[str]:
    """Messages of XSD validation against `schemas/circular02.xsd` (empty when valid)."""
    expected = ROOT_DOSSIER if kind == "dossier" else ROOT_DOCUMENT
    messages: list[str] = []
    if etree.QName(root).text != _q(expected):
        messages.append(f"root element is {etree.QName(root).text}, expected {{{NS}}}{expected}")
        return messages
    schema = _schema()
    if not schema.validate(root):
        messages.extend(line for line in str(schema.error_log).splitlines() if line.strip())
    return messages
