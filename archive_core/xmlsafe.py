"""Parse untrusted XML: no DTD, no entities, no file or network access, bounded everything.

Every XML file a submitter sends goes through `parse_xml` (bytes already read
with a bound) or `parse_xml_stream` (reads at most `Limits.max_xml_bytes` from a
stream). Both refuse, with an `XmlError` carrying a coded finding:

- any DOCTYPE (internal or external DTD, entity declarations: XXE, parameter
  entities, billion laughs, quadratic blowup), checked as soon as the root
  element starts; entity expansion is off and libxml2's amplification guard
  stays on, so nothing is ever expanded before the refusal;
- documents above `max_xml_bytes`, nesting deeper than `max_xml_depth`, more
  than `max_xml_nodes` elements/comments/PIs (a flood of tiny elements costs far
  more memory than its bytes), any text, attribute value, comment or PI longer
  than `max_field_chars` characters;
- bytes that are not valid in the document's encoding (UTF-8 unless a BOM or
  the XML declaration says otherwise; UTF-16 with a BOM is fine).

The parser never touches the network or the file system: external DTDs and
entities are not loaded (`load_dtd=False`, `no_network=True`,
`resolve_entities=False`), and a resolver that answers every request with an
empty document is installed in case anything asks anyway. XInclude is never
processed. libxml2's own non-huge limits (10 MB per text node, depth 256) stay in
force underneath ours and are reported with the same codes.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from typing import Any, Final, Protocol, TypedDict, cast

from lxml import etree

from archive_core.findings import Finding, Severity, declare
from archive_core.settings import Limits

XML_MALFORMED = declare(
    "CK-XML-MALFORMED", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} không đúng cú pháp: {reason}",
    "XML file {path} is not well-formed: {reason}",
)
XML_DOCTYPE = declare(
    "CK-XML-DOCTYPE", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} khai báo DOCTYPE/thực thể (ENTITY); không được phép vì lý do an toàn",
    "XML file {path} declares a DOCTYPE or entities, which are refused for safety",
)
XML_TOO_LARGE = declare(
    "CK-XML-TOO-LARGE", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} quá lớn ({size} byte, tối đa {limit})",
    "XML file {path} is too large ({size} bytes, limit {limit})",
)
XML_TOO_DEEP = declare(
    "CK-XML-TOO-DEEP", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} lồng quá sâu (hơn {limit} cấp)",
    "XML file {path} nests deeper than {limit} levels",
)
XML_FIELD_TOO_LONG = declare(
    "CK-XML-FIELD-TOO-LONG", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} có giá trị quá dài ở {field} (hơn {limit} ký tự)",
    "XML file {path} has a value longer than {limit} characters at {field}",
)
XML_ENCODING = declare(
    "CK-XML-ENCODING", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} chứa byte không hợp lệ theo bảng mã của tệp (UTF-8 nếu không khai báo): {reason}",
    "XML file {path} holds bytes that are invalid in its encoding (UTF-8 unless declared): {reason}",
)
XML_TOO_MANY_NODES = declare(
    "CK-XML-TOO-MANY-NODES", "R-CK-5", Severity.ERROR,
    "Tệp XML {path} có quá nhiều phần tử (hơn {limit})",
    "XML file {path} has too many elements, comments or processing instructions (more than {limit})",
)


_CHUNK: Final = 64 * 1024
_EVENTS: Final = ("start", "end", "comment", "pi")
_ENCODING_ERRORS: Final = frozenset({
    etree.ErrorTypes.ERR_INVALID_ENCODING,
    etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
    etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
})


class XmlError(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message_en)
        self.finding = finding


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def parse_xml(data: bytes, *, path: str, limits: Limits) -> etree._Element:
    """Parse a whole XML document held in memory (read with a size bound)."""
    if len(data) > limits.max_xml_bytes:
        raise XmlError(XML_TOO_LARGE.at(path=path, size=len(data), limit=limits.max_xml_bytes))
    if len(data) <= _SMALL_DOCUMENT_BYTES:
        return _parse_small(data, path, limits)
    guard = _GuardedParser(path, limits)
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        guard.feed(bytes(view[start : start + _CHUNK]))
    return guard.close()


_SMALL_DOCUMENT_BYTES: Final = 256 * 1024
"""Below this size a document cannot build a large tree: parse in one call, then verify the
limits with XPath (in C). Typical metadata files (EAD, EAD_doc, Circular 02) take this path."""

# Separate counts and tests joined with `+` / `or`: a union (`|`) would make libxml2 merge and sort
# node sets, which costs more than the rest of the check on a large METS file.
_COUNT_NODES = etree.XPath("count(//*) + count(//comment()) + count(//processing-instruction())")
_TOO_LONG = etree.XPath(
    "//text()[string-length(.) > $n] or //@*[string-length(.) > $n]"
    " or //comment()[string-length(.) > $n] or //processing-instruction()[string-length(.) > $n]"
)


class _ParserOptions(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    attribute_defaults: bool
    huge_tree: bool
    remove_comments: bool


_SAFE_PARSER_OPTIONS: Final[_ParserOptions] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_comments": False,
}
"""No entities, no DTD, no network, libxml2's own size limits on: every parser of untrusted XML."""


def _parse_small(data: bytes, path: str, limits: Limits) -> etree._Element:
    parser, resolver = _small_parser()
    resolver.requests.clear()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, path, limits) from exc
    _check_doctype(root, path)
    if resolver.requests:
        raise XmlError(XML_DOCTYPE.at(path=path))
    _check_small_tree(root.getroottree(), data, path, limits)
    return root


def _check_small_tree(tree: etree._ElementTree, data: bytes, path: str, limits: Limits) -> None:
    """Verify the limits on a parsed tree, skipping what the byte count already rules out.

    With no DOCTYPE nothing expands: every element, comment or PI costs at least 4 bytes
    (`<a/>`, `<?a?>`), `d` nested elements at least 7d - 3 bytes (`<a>` … `</a>`, the innermost
    `<a/>`), and a value never has more characters than the document has bytes.
    """
    size = len(data)
    max_nodes = limits.max_xml_nodes
    if size // 4 > max_nodes and int(_COUNT_NODES(tree)) > max_nodes:  # type: ignore[arg-type]
        raise XmlError(XML_TOO_MANY_NODES.at(path=path, limit=max_nodes))
    depth = limits.max_xml_depth
    if 7 * (depth + 1) - 3 <= size and _deeper_than(depth)(tree):
        raise XmlError(XML_TOO_DEEP.at(path=path, limit=depth))
    limit = limits.max_field_chars
    if not _values_cannot_exceed(data, limit) and _TOO_LONG(tree, n=limit):
        raise XmlError(XML_FIELD_TOO_LONG.at(path=path, field="text/attribute", limit=limit))


_FREE_TEXT_MARKUP: Final = re.compile(rb"<[!?]")
"""Comments, CDATA sections and PIs: the markup whose content may hold `<`."""


def _values_cannot_exceed(data: bytes, limit: int) -> bool:
    """True when the bytes alone prove that no value is longer than `limit` characters.

    In an ASCII-compatible encoding (no BOM, `<` first) byte 0x3C is always `<`, and a text node
    or attribute value lies between two of them with no more characters than bytes — unless
    comments, CDATA or PIs (which may contain `<`) are present. Then the XPath check decides.
    """
    if len(data) <= limit:
        return True
    if not data.startswith(b"<") or data[1:2] == b"\0":
        return False
    body = 0
    if data.startswith(b"<?xml"):
        body = data.find(b"?>") + 2
        if body < 2:
            return False
    if _FREE_TEXT_MARKUP.search(data, body):
        return False
    return max(map(len, data.split(b"<"))) <= limit


@functools.lru_cache(maxsize=8)
def _deeper_than(depth: int) -> etree.XPath:
    """True when an element sits below `depth` levels: one path step per level, linear in the tree."""
    return etree.XPath("boolean(/*" + "/*" * depth + ")")


_PARSERS = threading.local()


def _small_parser() -> tuple[etree.XMLParser, _NoAccessResolver]:
    """One safe parser per thread (lxml parsers must not be shared between threads)."""
    cached: tuple[etree.XMLParser, _NoAccessResolver] | None = getattr(_PARSERS, "parser", None)
    if cached is None:
        resolver = _NoAccessResolver()
        parser = etree.XMLParser(**_SAFE_PARSER_OPTIONS)
        parser.resolvers.add(resolver)
        cached = _PARSERS.parser = (parser, resolver)
    return cached


def parse_xml_stream(
    stream: Readable, *, path: str, limits: Limits, size: int | None = None
) -> etree._Element:
    """Parse XML from a stream, reading at most `limits.max_xml_bytes` (+1 to detect more).

    `size`, when the caller knows it (an archive entry's declared size), lets an
    oversized document be refused without reading a byte. Errors raised by the
    stream itself (a corrupt archive entry) propagate unchanged.
    """
    limit = limits.max_xml_bytes
    if size is not None and size > limit:
        raise XmlError(XML_TOO_LARGE.at(path=path, size=size, limit=limit))
    guard = _GuardedParser(path, limits)
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise XmlError(XML_TOO_LARGE.at(path=path, size=f"> {limit}", limit=limit))
        guard.feed(chunk)
    return guard.close()


class _NoAccessResolver(etree.Resolver):
    """Answers every external request with an empty document and remembers that it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        self.requests.append(system_url or public_id or "")
        return self.resolve_string("", context, base_url=None)


class _GuardedParser:
    """An lxml pull parser whose events are checked against the limits after every chunk."""

    def __init__(self, path: str, limits: Limits) -> None:
        self._path = path
        self._limits = limits
        self._max_nodes = limits.max_xml_nodes
        self._resolver = _NoAccessResolver()
        self._parser = etree.XMLPullParser(events=_EVENTS, **_SAFE_PARSER_OPTIONS)
        self._parser.resolvers.add(self._resolver)
        self._depth = 0
        self._nodes = 0
        self._root_seen = False

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            self._drain_quietly()
            raise self.syntax_error(exc) from exc
        self._drain()

    def close(self) -> etree._Element:
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            self._drain_quietly()
            raise self.syntax_error(exc) from exc
        self._drain()
        self.check_doctype(root)
        if self._resolver.requests:
            raise XmlError(XML_DOCTYPE.at(path=self._path))
        return root

    def _drain_quietly(self) -> None:
        """Check the events parsed before a syntax error: a DOCTYPE or depth refusal is more precise."""
        with contextlib.suppress(etree.XMLSyntaxError):
            self._drain()

    def _drain(self) -> None:
        for kind, node in self._parser.read_events():
            element = cast(etree._Element, node)  # only element, comment and PI events are asked for
            if kind == "start":
                self._on_start(element)
            elif kind == "end":
                self._on_end(element)
            else:
                self._count_node()
                self._check_length(element.text, element, "comment/PI")

    def _on_start(self, element: etree._Element) -> None:
        if not self._root_seen:
            self._root_seen = True
            self.check_doctype(element)
        self._count_node()
        self._depth += 1
        if self._depth > self._limits.max_xml_depth:
            raise XmlError(XML_TOO_DEEP.at(path=self._path, limit=self._limits.max_xml_depth))
        for name, value in element.attrib.items():
            self._check_length(value, element, f"@{name!s}")
        previous = element.getprevious()
        if previous is not None:
            self._check_length(previous.tail, previous, "tail")

    def _on_end(self, element: etree._Element) -> None:
        self._depth -= 1
        self._check_length(element.text, element, "text()")
        if len(element):
            last = element[-1]
            self._check_length(last.tail, last, "tail")

    def _count_node(self) -> None:
        self._nodes += 1
        if self._nodes > self._max_nodes:
            raise XmlError(XML_TOO_MANY_NODES.at(path=self._path, limit=self._max_nodes))

    def _check_length(self, value: str | bytes | None, node: etree._Element, what: str) -> None:
        limit = self._limits.max_field_chars
        if value is not None and len(value) > limit:
            tag = node.tag if isinstance(node.tag, str) else "comment/PI"
            raise XmlError(XML_FIELD_TOO_LONG.at(path=self._path, field=f"{tag} {what}", limit=limit))

    def check_doctype(self, element: etree._Element) -> None:
        _check_doctype(element, self._path)

    def syntax_error(self, exc: etree.XMLSyntaxError) -> XmlError:
        return _syntax_error(exc, self._path, self._limits)


def _check_doctype(element: etree._Element, path: str) -> None:
    docinfo = element.getroottree().docinfo
    if (
        getattr(docinfo, "doctype", None)
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise XmlError(XML_DOCTYPE.at(path=path))


def _syntax_error(exc: etree.XMLSyntaxError, path: str, limits: Limits) -> XmlError:
    message = str(exc.msg or exc)
    reason = message[:300]
    code = getattr(exc, "code", None)
    if code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        lowered = message.lower()
        if "amplification" in lowered or "entity" in lowered:
            return XmlError(XML_DOCTYPE.at(path=path))
        if "depth" in lowered:
            return XmlError(XML_TOO_DEEP.at(path=path, limit=limits.max_xml_depth))
        return XmlError(XML_FIELD_TOO_LONG.at(path=path, field="libxml2", limit=limits.max_field_chars))
    if code == etree.ErrorTypes.ERR_ENTITY_LOOP:
        return XmlError(XML_DOCTYPE.at(path=path))
    if code in _ENCODING_ERRORS:
        return XmlError(XML_ENCODING.at(path=path, reason=reason))
    return XmlError(XML_MALFORMED.at(path=path, reason=reason))
