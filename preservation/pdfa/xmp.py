"""XMP metadata rules of PDF/A: ISO 19005-1 6.7, ISO 19005-2/-3 6.6.

The packet is read into the XMP data model (simple values, structures, Bag /
Seq / Alt arrays, language alternatives) following the RDF/XML serialization
rules of the XMP Specification, without normalization, so that a value is
judged in the form it was written. Then:

- serialization: well-formed XML, RDF the XMP way, no `bytes`/`encoding` in the
  packet header, UTF-8 (part 2/3);
- every property belongs to a predefined schema (`xmp_schemas`) or to an
  extension schema described in the packet with the PDF/A extension schema
  description schemas, and has a value of its declared type;
- the extension schema descriptions themselves (6.7.8 / 6.6.2.3.2-3);
- PDF/A identification (pdfaid part, conformance, prefixes: 6.7.11 / 6.6.4);
- PDF/A-1 only: the document information dictionary agrees with the XMP (6.7.3).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from lxml import etree

from archive_core.settings import Limits
from archive_core.xmlsafe import XmlError, parse_xml
from preservation.pdfa import xmp_schemas as S

Kind = Literal["simple", "struct", "bag", "seq", "alt"]

_RDF = f"{{{S.NS_RDF}}}"
_XML_LANG = f"{{{S.NS_XML}}}lang"
_ARRAY_KINDS: dict[str, Kind] = {f"{_RDF}Bag": "bag", f"{_RDF}Seq": "seq", f"{_RDF}Alt": "alt"}
_IGNORED_ATTRIBUTES = frozenset({f"{_RDF}ID", f"{_RDF}nodeID", f"{_RDF}datatype", _XML_LANG})
_CLARK = re.compile(r"^\{([^}]*)\}(.*)$")
_HEADER = re.compile(rb"<\?xpacket\s+(?!end\s*=)(.*?)\?>", re.DOTALL)
_XMP_DATE = re.compile(
    r"^(?P<y>-?\d{4})(-(?P<mo>\d{2})(-(?P<d>\d{2})(T(?P<h>\d{2}):(?P<mi>\d{2})(:(?P<s>\d{2})(\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_PDF_DATE = re.compile(
    r"^D:(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?P<tz>Z|[+-]\d{2}'?(\d{2}'?)?)?\s*$"
)
_Deny = Callable[[str, str, str], None]
_XML_LIMITS = Limits(max_xml_bytes=64 * 1024**2, max_xml_depth=200, max_field_chars=16 * 1024**2)


class XmpSyntaxError(Exception):
    """The packet is not XMP (not well-formed XML, or RDF that the XMP data model refuses)."""


@dataclass
class XNode:
    """A node of the XMP data model: a property, a structure field or an array item."""

    namespace: str
    name: str
    prefix: str | None
    kind: Kind = "simple"
    value: str = ""
    children: list[XNode] = field(default_factory=list)
    lang: str | None = None
    qualified: bool = False
    """The value was written in the general qualifier form (rdf:value)."""

    @property
    def alt_text(self) -> bool:
        return self.kind == "alt" and any(child.lang is not None for child in self.children)

    def field(self, namespace: str, name: str) -> XNode | None:
        for child in self.children:
            if child.namespace == namespace and child.name == name:
                return child
        return None

    def x_default(self) -> str | None:
        """The `x-default` item of a language alternative (else its first item)."""
        if self.kind == "simple":
            return self.value
        if not self.children:
            return None
        for child in self.children:
            if child.lang == "x-default":
                return child.value
        return self.children[0].value


@dataclass
class Packet:
    properties: list[XNode]
    about: str | None


@dataclass(frozen=True)
class XmpViolation:
    rule_id: str
    """veraPDF notation for the part checked (`6.6.2.3.1-1`)."""
    message: str


@dataclass
class Definitions:
    """Extension schemas described in a packet: properties and value types."""

    properties: dict[tuple[str, str], str] = field(default_factory=dict)
    structs: dict[str, S.StructType] = field(default_factory=dict)


# --- reading the packet -------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    match = _CLARK.match(tag)
    if match is None:
        raise XmpSyntaxError(f"XML namespace required for {tag!r}")
    return match.group(1), match.group(2)


def _prefix_of(element: etree._Element, namespace: str, own: str | None = None) -> str | None:
    if own is not None:
        return own
    prefixes = [p for p, uri in element.nsmap.items() if uri == namespace and p is not None]
    return prefixes[0] if len(prefixes) == 1 else ("/".join(sorted(prefixes)) or None)


def _element_children(element: etree._Element) -> list[etree._Element]:
    """Child elements; non-blank text next to child elements is an RDF error."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        return children
    texts = [element.text, *(child.tail for child in element)]
    if any(text and text.strip() for text in texts):
        raise XmpSyntaxError(f"text mixed with elements in {element.tag}")
    return children


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xef\xbb\xbf", "utf-8"),
)


def _as_utf8(raw: bytes) -> bytes:
    """XMP may be UTF-8, -16 or -32 (XMP Specification 2004); the XML parser gets UTF-8."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            text = raw[len(bom) :].decode(codec)
            # The packet header's own BOM (begin="\ufeff") is re-encoded with the rest.
            return re.sub(r"^<\?xml[^>]*\?>", "", text).encode("utf-8")
    return raw


def parse_packet(raw: bytes) -> Packet:
    """Read an XMP packet; XmpSyntaxError when it is not valid XMP."""
    try:
        root = parse_xml(_as_utf8(raw), path="XMP", limits=_XML_LIMITS)
    except XmlError as exc:
        raise XmpSyntaxError(exc.finding.message_en) from exc
    rdf = root if root.tag == f"{_RDF}RDF" else next(iter(root.iter(f"{_RDF}RDF")), None)
    if rdf is None:
        return Packet([], None)
    properties: list[XNode] = []
    seen: set[tuple[str, str]] = set()
    about: str | None = None
    for description in _element_children(rdf):
        if description.tag != f"{_RDF}Description":
            raise XmpSyntaxError(f"top-level {description.tag} is not rdf:Description")
        value = description.get(f"{_RDF}about")
        if value:
            if about and value != about:
                raise XmpSyntaxError("mismatched top-level rdf:about values")
            about = value
        for node in _description_fields(description):
            if node.namespace == S.NS_RDF:
                raise XmpSyntaxError(f"rdf:{node.name} used as a top-level property")
            key = (node.namespace, node.name)
            if key in seen:
                raise XmpSyntaxError(f"duplicate property {node.prefix}:{node.name}")
            seen.add(key)
            properties.append(node)
    return Packet(properties, about)


def _description_fields(description: etree._Element) -> Iterator[XNode]:
    for name, value in description.attrib.items():
        if name in (f"{_RDF}about", *_IGNORED_ATTRIBUTES):
            continue
        namespace, local = _split(str(name))
        if namespace == S.NS_RDF:
            raise XmpSyntaxError(f"rdf:{local} attribute on rdf:Description")
        yield XNode(namespace, local, _prefix_of(description, namespace), value=str(value))
    for child in _element_children(description):
        yield _property_element(child)


def _property_element(element: etree._Element) -> XNode:
    namespace, local = _split(str(element.tag))
    if namespace == S.NS_RDF and local not in ("li", "value"):
        raise XmpSyntaxError(f"rdf:{local} used as a property")
    node = XNode(namespace, local, element.prefix, lang=element.get(_XML_LANG))
    children = _element_children(element)
    parse_type = element.get(f"{_RDF}parseType")
    other = {k: v for k, v in element.attrib.items() if k not in _IGNORED_ATTRIBUTES and k != f"{_RDF}parseType"}
    if parse_type is not None:
        if parse_type != "Resource":
            raise XmpSyntaxError(f"rdf:parseType={parse_type!r} is not supported by XMP")
        if other:
            raise XmpSyntaxError("attributes on a parseType=Resource property element")
        node.kind = "struct"
        node.children = [_property_element(child) for child in children]
        return _fix_value_form(node)
    if children:
        if other:
            raise XmpSyntaxError(f"invalid attribute on resource property element {element.tag}")
        if len(children) != 1:
            raise XmpSyntaxError(f"more than one child of property element {element.tag}")
        return _resource_value(node, children[0])
    text = element.text or ""
    if not other:
        node.value = text
        return node
    if text.strip():
        raise XmpSyntaxError(f"invalid attribute on literal property element {element.tag}")
    return _empty_property(node, element, other)


def _resource_value(node: XNode, child: etree._Element) -> XNode:
    kind = _ARRAY_KINDS.get(str(child.tag))
    if kind is not None:
        node.kind = kind
        for item in _element_children(child):
            if item.tag != f"{_RDF}li":
                raise XmpSyntaxError(f"{item.tag} inside an array (rdf:li expected)")
            node.children.append(_property_element(item))
        return node
    if child.tag != f"{_RDF}Description":
        _split(str(child.tag))
    node.kind = "struct"
    node.children = list(_description_fields(child))
    return _fix_value_form(node)


def _empty_property(node: XNode, element: etree._Element, attributes: Mapping[Any, Any]) -> XNode:
    resource = attributes.get(f"{_RDF}resource")
    value = attributes.get(f"{_RDF}value")
    rest = {k: v for k, v in attributes.items() if k not in (f"{_RDF}resource", f"{_RDF}value")}
    if resource is not None and value is not None:
        raise XmpSyntaxError("rdf:resource and rdf:value on one property element")
    if resource is not None or value is not None:
        node.value = str(resource if resource is not None else value)
        node.qualified = bool(rest)
        return node
    node.kind = "struct"
    for name, text in rest.items():
        namespace, local = _split(str(name))
        node.children.append(XNode(namespace, local, _prefix_of(element, namespace), value=str(text)))
    return node


def _fix_value_form(node: XNode) -> XNode:
    """A structure with an rdf:value field is a qualified simple value (XMP general qualifier form)."""
    value = node.field(S.NS_RDF, "value")
    if value is None:
        return node
    node.kind = value.kind
    node.value = value.value
    node.children = value.children
    node.qualified = True
    return node


def read_identification(raw: bytes) -> tuple[int | None, str | None]:
    """(pdfaid:part, pdfaid:conformance) of a packet, tolerant of anything else being wrong."""
    try:
        packet = parse_packet(raw)
    except XmpSyntaxError:
        return _identification_by_regex(raw)
    part = conformance = None
    for node in packet.properties:
        if node.namespace == S.NS_PDFAID and node.kind == "simple":
            if node.name == "part":
                part = node.value.strip()
            elif node.name == "conformance":
                conformance = node.value.strip()
    return (int(part) if part and part.isdecimal() else None), conformance


def _identification_by_regex(raw: bytes) -> tuple[int | None, str | None]:
    text = raw.decode("utf-8", "replace")
    part = re.search(r"pdfaid:part\s*(?:=\s*[\"']|>)\s*(\d)", text)
    conformance = re.search(r"pdfaid:conformance\s*(?:=\s*[\"']|>)\s*([A-Za-z])", text)
    return (int(part.group(1)) if part else None), (conformance.group(1) if conformance else None)


# --- value types --------------------------------------------------------------


def simplify_type(value_type: str) -> str:
    """`Closed Choice of Integer` → `integer`, `bag` → `bag text`, `Lang Alt` → `lang alt`."""
    result = re.sub(r"(open |closed )?(choice |choice$)(of )?", "", value_type.lower()).strip()
    if not result:
        return "text"
    if result.endswith("lang alt"):
        return result
    if result.endswith(("bag", "seq", "alt")):
        return result + " text"
    return result


def valid_xmp_date(text: str) -> bool:
    match = _XMP_DATE.match(text)
    if match is None:
        return False
    month, day, hour, minute, second = (match.group(k) for k in ("mo", "d", "h", "mi", "s"))
    try:
        if month is not None and not 1 <= int(month) <= 12:
            return False
        if day is not None and not 1 <= int(day) <= 31:
            return False
        if hour is not None and (int(hour) > 23 or int(minute) > 59 or (second and int(second) > 59)):
            return False
        tz = match.group("tz")
        if tz and tz != "Z" and (int(tz[1:3]) > 23 or int(tz[4:6]) > 59):
            return False
    except ValueError:
        return False
    return True


@dataclass
class TypeChecker:
    """Judges XMP nodes against value types (veraPDF's `isValueTypeCorrect`)."""

    predefined: S.Predefined
    structs: dict[str, S.StructType]
    closed_choices: bool = False

    def known(self, value_type: str) -> bool:
        simple = simplify_type(value_type)
        while True:
            for array in ("bag ", "seq ", "alt "):
                if simple.startswith(array):
                    simple = simple[len(array) :]
                    break
            else:
                break
        return simple in self.structs or simple in self.predefined.simple_patterns or simple in (
            S.FREE_TEXT_TYPES | {"date", "lang alt", "any"}
        )

    def matches(self, node: XNode, value_type: str) -> bool:
        simple = simplify_type(value_type)
        if simple == "any":
            return True
        for array, kinds in (("bag ", ("bag",)), ("seq ", ("seq",)), ("alt ", ("alt",))):
            if simple.startswith(array):
                return node.kind in kinds and all(self.matches(item, simple[len(array) :]) for item in node.children)
        if simple == "lang alt":
            return node.alt_text or (node.kind == "alt" and not node.children)
        if simple == "date":
            return node.kind == "simple" and valid_xmp_date(node.value)
        if simple in S.FREE_TEXT_TYPES:
            return node.kind == "simple"
        pattern = self.predefined.simple_patterns.get(simple)
        if pattern is not None:
            return node.kind == "simple" and re.fullmatch(pattern, node.value) is not None
        struct = self.structs.get(simple)
        if struct is not None:
            return self._matches_struct(node, struct)
        return False

    def _matches_struct(self, node: XNode, struct: S.StructType) -> bool:
        if node.kind != "struct":
            return False
        for child in node.children:
            child_type = struct.fields.get(child.name)
            if child_type is None or child.namespace != struct.namespace:
                return False
            closed = struct.closed.get(child.name) if self.closed_choices else None
            if closed is not None:
                if child.kind != "simple" or re.fullmatch(closed, child.value) is None:
                    return False
            elif not self.matches(child, child_type):
                return False
        return True

    def matches_property(self, node: XNode, value_type: str, predefined: bool) -> bool:
        key = (node.namespace, node.name)
        if predefined and self.closed_choices:
            pattern = self.predefined.closed.get(key)
            if pattern is not None:
                return node.kind == "simple" and re.fullmatch(pattern, node.value) is not None
            choices = S.SEQ_CHOICES.get(key)
            if choices is not None:
                return node.kind == "seq" and tuple(item.value for item in node.children) in choices and all(
                    item.kind == "simple" for item in node.children
                )
            item_pattern = S.SEQ_ITEM_PATTERNS.get(key)
            if item_pattern is not None:
                return node.kind == "seq" and all(
                    item.kind == "simple" and re.fullmatch(item_pattern, item.value) for item in node.children
                )
        return self.matches(node, value_type)


# --- the rules -----------------------------------------------------------------


def rule(part: int, part1: str, part23: str) -> str:
    return part1 if part == 1 else part23


@dataclass
class XmpResult:
    violations: list[XmpViolation]
    definitions: Definitions
    packet: Packet | None


def check_packet(
    raw: bytes,
    part: int,
    *,
    main: bool,
    main_definitions: Definitions | None = None,
    closed_choices: bool = False,
) -> XmpResult:
    """Check one metadata stream's packet (the catalog's when `main`)."""
    violations: list[XmpViolation] = []

    def deny(p1: str, p23: str, message: str) -> None:
        violations.append(XmpViolation(rule(part, p1, p23), message))

    _check_header(raw, deny)
    if part != 1 and not _is_utf8(raw):
        deny("6.7.9-1", "6.6.2.1-5", "the XMP packet is not encoded as UTF-8")
    try:
        packet = parse_packet(raw)
    except XmpSyntaxError as exc:
        deny("6.7.9-1", "6.6.2.1-4", f"the metadata stream is not valid XMP: {exc}")
        return XmpResult(violations, Definitions(), None)
    predefined = S.predefined(part)
    definitions = _read_extension_schemas(packet, part, predefined, deny)
    structs = {**predefined.structs, **definitions.structs}
    if main_definitions is not None:
        structs = {**main_definitions.structs, **structs}
    checker = TypeChecker(predefined, structs, closed_choices)
    for node in packet.properties:
        if node.namespace in S.EXTENSION_NAMESPACES:
            continue
        key = (node.namespace, node.name)
        value_type = definitions.properties.get(key)
        is_predefined = False
        if value_type is None and main_definitions is not None and part != 1:
            value_type = main_definitions.properties.get(key)
        if value_type is None:
            value_type = predefined.properties.get(key)
            is_predefined = value_type is not None
        label = f"{node.prefix}:{node.name}"
        if value_type is None:
            deny(
                "6.7.9-2", "6.6.2.3.1-1", f"XMP property {label} ({node.namespace}) is neither predefined nor described"
            )
            continue
        if not checker.matches_property(node, value_type, is_predefined):
            deny("6.7.9-3", "6.6.2.3.1-2", f"XMP property {label} does not have the value type {value_type}")
    if main:
        _check_identification(packet, part, deny)
    return XmpResult(violations, definitions, packet)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not raw.startswith((b"\xff\xfe", b"\xfe\xff"))


def _check_header(raw: bytes, deny: _Deny) -> None:
    match = _HEADER.search(raw[:4096]) or _HEADER.search(raw.decode("utf-16", "ignore").encode("utf-8")[:4096])
    if match is None:
        return
    attributes = match.group(1)
    if re.search(rb"\bbytes\s*=", attributes):
        deny("6.7.5-1", "6.6.2.1-2", "the XMP packet header uses the bytes attribute")
    if re.search(rb"\bencoding\s*=", attributes):
        deny("6.7.5-2", "6.6.2.1-3", "the XMP packet header uses the encoding attribute")


def _check_identification(packet: Packet, part: int, deny: _Deny) -> None:
    nodes = {node.name: node for node in packet.properties if node.namespace == S.NS_PDFAID}
    part_node = nodes.get("part")
    if part_node is None:
        deny("6.7.11-1", "6.6.4-1", "the XMP has no PDF/A identification (pdfaid:part)")
        return
    if part_node.value.strip() != str(part):
        deny("6.7.11-2", "6.6.4-2", f"pdfaid:part is {part_node.value!r}, the file is checked against part {part}")
    conformance = nodes.get("conformance")
    allowed = ("A", "B") if part == 1 else ("A", "B", "U")
    if conformance is None or conformance.value not in allowed:
        value = conformance.value if conformance else None
        deny("6.7.11-3", "6.6.4-3", f"pdfaid:conformance is {value!r}, expected one of {', '.join(allowed)}")
    tests = {"part": ("6.7.11-4", "6.6.4-4"), "conformance": ("6.7.11-5", "6.6.4-5"), "amd": ("6.7.11-6", "6.6.4-6")}
    if part != 1:
        tests["corr"] = ("6.6.4-7", "6.6.4-7")
    for name, (p1, p23) in tests.items():
        node = nodes.get(name)
        if node is not None and node.prefix != "pdfaid":
            deny(p1, p23, f"pdfaid:{name} is written with the prefix {node.prefix!r}")


# --- extension schemas -----------------------------------------------------------


_SCHEMA_FIELDS = {"schema", "namespaceURI", "prefix", "property", "valueType"}
_PROPERTY_FIELDS = {"name", "valueType", "category", "description"}
_TYPE_FIELDS = {"type", "namespaceURI", "prefix", "description", "field"}
_FIELD_FIELDS = {"name", "valueType", "description"}


def _read_extension_schemas(packet: Packet, part: int, predefined: S.Predefined, deny: _Deny) -> Definitions:
    definitions = Definitions()
    container = next(
        (n for n in packet.properties if n.namespace == S.NS_PDFA_EXTENSION and n.name == "schemas"), None
    )
    for node in packet.properties:
        if node.namespace in S.EXTENSION_NAMESPACES and node is not container:
            deny("6.7.8-1", "6.6.2.3.2-1", f"{node.prefix}:{node.name} outside the extension schema container")
    if container is None:
        return definitions
    if container.kind != "bag" or container.prefix != "pdfaExtension":
        deny("6.7.8-2", "6.6.2.3.3-1", "pdfaExtension:schemas is not a Bag written with the prefix pdfaExtension")
    schemas = [item for item in container.children if item.kind == "struct"]
    # Value types first: a property may use a type described by any schema of the packet.
    for schema in schemas:
        for value_type in _seq_items(schema, S.NS_PDFA_SCHEMA, "valueType"):
            _register_value_type(value_type, definitions)
    checker = TypeChecker(predefined, {**predefined.structs, **definitions.structs})
    for item in container.children:
        _check_schema(item, part, checker, definitions, deny)
    return definitions


def _seq_items(node: XNode, namespace: str, name: str) -> list[XNode]:
    holder = node.field(namespace, name)
    if holder is None or holder.kind not in ("seq", "bag", "alt"):
        return []
    return [item for item in holder.children if item.kind == "struct"]


def _text_field(node: XNode, namespace: str, name: str) -> str | None:
    holder = node.field(namespace, name)
    return holder.value if holder is not None and holder.kind == "simple" else None


def _register_value_type(node: XNode, definitions: Definitions) -> None:
    name = _text_field(node, S.NS_PDFA_TYPE, "type")
    namespace = _text_field(node, S.NS_PDFA_TYPE, "namespaceURI")
    fields: dict[str, str] = {}
    for item in _seq_items(node, S.NS_PDFA_TYPE, "field"):
        field_name = _text_field(item, S.NS_PDFA_FIELD, "name")
        field_type = _text_field(item, S.NS_PDFA_FIELD, "valueType")
        if field_name and field_type:
            fields[field_name] = field_type
    if name and namespace and fields:
        definitions.structs[simplify_type(name)] = S.StructType(namespace, fields)


def _check_fields(
    node: XNode, namespace: str, prefix: str, allowed: set[str], tests: dict[str, tuple[str, str, str]],
    part: int, deny: _Deny,
) -> None:
    """`tests`: field → (form `text`/`uri`/`seq`/`optional-seq`, rule part 1, rule part 2/3)."""
    if node.kind != "struct":
        deny("6.7.8-1", "6.6.2.3.2-1", f"extension schema entry {node.prefix}:{node.name} is not a structure")
        return
    for child in node.children:
        if child.namespace != namespace or child.name not in allowed:
            deny("6.7.8-1", "6.6.2.3.2-1", f"undefined field {child.prefix}:{child.name} in an extension schema entry")
    for name, (form, p1, p23) in tests.items():
        value = node.field(namespace, name)
        optional = form.startswith("optional")
        if value is None:
            if not optional:
                deny(p1, p23, f"{prefix}:{name} is missing from an extension schema entry")
            continue
        good_form = value.kind == "seq" if form.endswith("seq") else value.kind == "simple"
        if not good_form or value.prefix != prefix:
            deny(p1, p23, f"{prefix}:{name} has the wrong form or is not written with the prefix {prefix}")


def _check_schema(node: XNode, part: int, checker: TypeChecker, definitions: Definitions, deny: _Deny) -> None:
    _check_fields(
        node, S.NS_PDFA_SCHEMA, "pdfaSchema", _SCHEMA_FIELDS,
        {
            "schema": ("text", "6.7.8-3", "6.6.2.3.3-2"),
            "namespaceURI": ("text", "6.7.8-4", "6.6.2.3.3-3"),
            "prefix": ("text", "6.7.8-5", "6.6.2.3.3-4"),
            "property": ("optional-seq", "6.7.8-6", "6.6.2.3.3-5"),
            "valueType": ("optional-seq", "6.7.8-7", "6.6.2.3.3-6"),
        },
        part, deny,
    )
    if node.kind != "struct":
        return
    namespace = _text_field(node, S.NS_PDFA_SCHEMA, "namespaceURI")
    for prop in _seq_items(node, S.NS_PDFA_SCHEMA, "property"):
        _check_fields(
            prop, S.NS_PDFA_PROPERTY, "pdfaProperty", _PROPERTY_FIELDS,
            {
                "name": ("text", "6.7.8-8", "6.6.2.3.3-7"),
                "valueType": ("text", "6.7.8-9", "6.6.2.3.3-8"),
                "category": ("text", "6.7.8-10", "6.6.2.3.3-9"),
                "description": ("text", "6.7.8-11", "6.6.2.3.3-10"),
            },
            part, deny,
        )
        value_type = _text_field(prop, S.NS_PDFA_PROPERTY, "valueType")
        if value_type is not None and not checker.known(value_type):
            deny("6.7.8-9", "6.6.2.3.3-8", f"extension property value type {value_type!r} is not defined")
        category = _text_field(prop, S.NS_PDFA_PROPERTY, "category")
        if category is not None and category not in ("external", "internal"):
            deny(
                "6.7.8-10", "6.6.2.3.3-9", f"extension property category {category!r} is neither external nor internal"
            )
        name = _text_field(prop, S.NS_PDFA_PROPERTY, "name")
        if namespace and name and value_type:
            definitions.properties[namespace, name] = value_type
    for value_type_node in _seq_items(node, S.NS_PDFA_SCHEMA, "valueType"):
        _check_fields(
            value_type_node, S.NS_PDFA_TYPE, "pdfaType", _TYPE_FIELDS,
            {
                "type": ("text", "6.7.8-12", "6.6.2.3.3-11"),
                "namespaceURI": ("text", "6.7.8-13", "6.6.2.3.3-12"),
                "prefix": ("text", "6.7.8-14", "6.6.2.3.3-13"),
                "description": ("text", "6.7.8-15", "6.6.2.3.3-14"),
                "field": ("optional-seq", "6.7.8-16", "6.6.2.3.3-15"),
            },
            part, deny,
        )
        for field_node in _seq_items(value_type_node, S.NS_PDFA_TYPE, "field"):
            _check_fields(
                field_node, S.NS_PDFA_FIELD, "pdfaField", _FIELD_FIELDS,
                {
                    "name": ("text", "6.7.8-17", "6.6.2.3.3-16"),
                    "valueType": ("text", "6.7.8-18", "6.6.2.3.3-17"),
                    "description": ("text", "6.7.8-19", "6.6.2.3.3-18"),
                },
                part, deny,
            )
            field_type = _text_field(field_node, S.NS_PDFA_FIELD, "valueType")
            if field_type is not None and not checker.known(field_type):
                deny("6.7.8-18", "6.6.2.3.3-17", f"extension field value type {field_type!r} is not defined")


# --- PDF/A-1: document information dictionary ---------------------------------


_INFO_RULES = (
    ("/CreationDate", S.NS_XMP, "CreateDate", "6.7.3-1", "date"),
    ("/Title", S.NS_DC, "title", "6.7.3-2", "langalt"),
    ("/Author", S.NS_DC, "creator", "6.7.3-3", "creator"),
    ("/Subject", S.NS_DC, "description", "6.7.3-4", "langalt"),
    ("/Keywords", S.NS_PDF, "Keywords", "6.7.3-5", "text"),
    ("/Creator", S.NS_XMP, "CreatorTool", "6.7.3-6", "text"),
    ("/Producer", S.NS_PDF, "Producer", "6.7.3-7", "text"),
    ("/ModDate", S.NS_XMP, "ModifyDate", "6.7.3-8", "date"),
)


def check_info_agreement(packet: Packet | None, info: Mapping[str, str | None]) -> list[XmpViolation]:
    """ISO 19005-1 6.7.3: each Info entry present must equal its XMP twin.

    `info` maps Info keys (`/Title`) to their text, or None when the value is not a string.
    """
    violations = []
    properties = {(n.namespace, n.name): n for n in packet.properties} if packet else {}
    for key, namespace, name, rule_id, how in _INFO_RULES:
        if key not in info:
            continue
        text = info[key]
        node = properties.get((namespace, name))
        if text is None:
            violations.append(XmpViolation(rule_id, f"Info {key} is not a text string"))
            continue
        if not _agrees(text, node, how):
            shown = node.x_default() if node is not None else None
            violations.append(XmpViolation(rule_id, f"Info {key} {text!r} does not match XMP {name} {shown!r}"))
    return violations


def _agrees(text: str, node: XNode | None, how: str) -> bool:
    if node is None:
        return False
    if how == "date":
        return node.kind == "simple" and _same_instant(text, node.value)
    if how == "langalt":
        return node.kind in ("alt", "simple") and node.x_default() == text
    if how == "creator":
        return node.kind == "seq" and len(node.children) == 1 and node.children[0].value == text
    return node.kind == "simple" and node.value == text


def _same_instant(pdf_date: str, xmp_date: str) -> bool:
    """Equal dates; a missing time zone only agrees with another missing one (else the answer
    depends on the machine's time zone, as it does in veraPDF)."""
    a, a_zoned = _pdf_datetime(pdf_date)
    b, b_zoned = _xmp_datetime(xmp_date)
    if a is None or b is None:
        return False
    if a_zoned != b_zoned:
        return False
    return a == b


def _pdf_datetime(text: str) -> tuple[datetime | None, bool]:
    match = _PDF_DATE.match(text.strip())
    if match is None:
        return None, False
    tz = match.group("tz")
    return _build(match, tz.replace("'", "") if tz else None)


def _xmp_datetime(text: str) -> tuple[datetime | None, bool]:
    match = _XMP_DATE.match(text.strip())
    if match is None:
        return None, False
    tz = match.group("tz")
    return _build(match, tz.replace(":", "") if tz else None)


def _build(match: re.Match[str], tz: str | None) -> tuple[datetime | None, bool]:
    def number(key: str, default: int) -> int:
        value = match.group(key)
        return int(value) if value else default

    try:
        zone: timezone | None = None
        if tz == "Z":
            zone = UTC
        elif tz:
            sign = -1 if tz[0] == "-" else 1
            hours = int(tz[1:3])
            minutes = int(tz[3:5]) if len(tz) >= 5 else 0
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        moment = datetime(
            number("y", 1), number("mo", 1), number("d", 1), number("h", 0), number("mi", 0), number("s", 0),
            tzinfo=zone or UTC,
        )
    except ValueError:
        return None, False
    return moment, zone is not None
