"""`archive_core.xmlsafe`: untrusted XML is parsed without DTDs, entities, I/O or unbounded cost."""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import ClassVar

import pytest
from lxml import etree

import ingest.source  # noqa: F401 - declares the CK-PKG codes checked below
from archive_core.findings import registry
from archive_core.settings import Limits
from archive_core.xmlsafe import XmlError, parse_xml, parse_xml_stream
from tests.hostile import billion_laughs, quadratic_blowup

LIMITS = Limits()
SMALL = Limits(max_xml_bytes=10_000, max_xml_depth=5, max_field_chars=10)


def code_of(data: bytes, limits: Limits = LIMITS) -> str:
    with pytest.raises(XmlError) as caught:
        parse_xml(data, path="meta.xml", limits=limits)
    stream_code = stream_code_of(data, limits)
    assert stream_code == caught.value.finding.code, "bytes and stream parsing must agree"
    return caught.value.finding.code


def stream_code_of(data: bytes, limits: Limits = LIMITS) -> str:
    with pytest.raises(XmlError) as caught:
        parse_xml_stream(io.BytesIO(data), path="meta.xml", limits=limits)
    return caught.value.finding.code


# --------------------------------------------------------------------------- what is accepted


def test_ordinary_document_keeps_namespaces_comments_and_text() -> None:
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!-- ghi chú --><Dossier xmlns="urn:c02" xmlns:x="urn:x" x:id="1">'
        "<Title>Hồ sơ Việt Nam</Title><?app hint?><x:Empty/>tail</Dossier>"
    ).encode()
    for root in (parse_xml(data, path="d.xml", limits=LIMITS),
                 parse_xml_stream(io.BytesIO(data), path="d.xml", limits=LIMITS)):
        assert root.tag == "{urn:c02}Dossier"
        assert root.get("{urn:x}id") == "1"
        assert root.findtext("{urn:c02}Title") == "Hồ sơ Việt Nam"
        assert root[-1].tail == "tail"
        assert root.getprevious() is not None  # the comment before the root is kept


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_encodings_are_fine(encoding: str) -> None:
    text = "<d><Title>Hồ sơ</Title></d>"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = "\ufeff".encode(encoding) + data
    assert parse_xml(data, path="d.xml", limits=LIMITS).findtext("Title") == "Hồ sơ"


def test_declared_legacy_encoding_is_decoded() -> None:
    data = "<?xml version='1.0' encoding='ISO-8859-1'?><d>café</d>".encode("latin-1")
    assert parse_xml(data, path="d.xml", limits=LIMITS).text == "café"


def test_limits_are_inclusive() -> None:
    depth5 = b"<a>" * 5 + b"</a>" * 5
    parse_xml(depth5, path="d.xml", limits=SMALL)
    ten = b'<a b="0123456789">0123456789<!--0123456789--><c/>0123456789</a>'
    parse_xml(ten, path="d.xml", limits=SMALL)
    exact = b"<a>" + b"x" * (SMALL.max_xml_bytes - 7) + b"</a>"
    assert len(exact) == SMALL.max_xml_bytes
    with pytest.raises(XmlError) as caught:  # the text is too long, but the size itself passed
        parse_xml(exact, path="d.xml", limits=SMALL)
    assert caught.value.finding.code == "CK-XML-FIELD-TOO-LONG"


# --------------------------------------------------------------------------- DTD, entities, external access


@pytest.mark.parametrize("data", [
    b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    b'<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><d>&x;</d>',
    b'<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><d/>',
    b'<!DOCTYPE d SYSTEM "http://10.255.255.1/unreachable.dtd"><d/>',
    b'<!DOCTYPE d PUBLIC "-//X//DTD X//EN" "x.dtd"><d/>',
    b'<!DOCTYPE d [<!ENTITY a "internal">]><d>&a;</d>',
    b'<!DOCTYPE d [<!ATTLIST d a CDATA "default">]><d/>',
    b"<!DOCTYPE d><d/>",
    billion_laughs(),
    quadratic_blowup(),
], ids=["xxe-file", "xxe-http", "parameter-entity", "external-dtd", "public-id", "internal-entity",
        "attlist-default", "doctype-only", "billion-laughs", "quadratic-blowup"])
def test_any_doctype_is_refused(data: bytes) -> None:
    started = time.perf_counter()
    assert code_of(data) == "CK-XML-DOCTYPE"
    assert time.perf_counter() - started < 5


def test_undeclared_entity_is_malformed_not_resolved() -> None:
    assert code_of(b"<d>&xxe;</d>") == "CK-XML-MALFORMED"


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = b'<!ENTITY leak "LEAKED-OVER-HTTP">' if self.path.endswith(".dtd") else b"LEAKED-OVER-HTTP"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_no_network_access(http_server: str) -> None:
    documents = [
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "{http_server}/entity">]><d>&x;</d>',
        f'<!DOCTYPE d SYSTEM "{http_server}/external.dtd"><d>&leak;</d>',
        f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{http_server}/param.dtd"> %p;]><d>&leak;</d>',
        f'<d xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{http_server}/inc" parse="text"/></d>',
    ]
    for text in documents[:3]:
        assert code_of(text.encode()) == "CK-XML-DOCTYPE"
    root = parse_xml(documents[3].encode(), path="d.xml", limits=LIMITS)
    assert "LEAKED" not in etree.tostring(root).decode()
    # the server really answers: the parser simply never asked
    import urllib.request

    with urllib.request.urlopen(f"{http_server}/probe") as answer:
        assert answer.read() == b"LEAKED-OVER-HTTP"
    assert _Recorder.requests == ["/probe"]


def _finishes(action: Callable[[], object], fifo: Path, seconds: float = 5.0) -> bool:
    """Run `action` in a thread; opening `fifo` for reading would block it, so a hang means file access."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except XmlError:
            pass
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        # unblock the reader so the thread can end, then report the access
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(seconds)
        return False
    assert errors == []
    return True


def test_no_file_system_access(tmp_path: Path) -> None:
    fifo = tmp_path / "trap"
    os.mkfifo(fifo)
    url = fifo.as_uri()
    documents = [
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}">]><d>&x;</d>',
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "{fifo}">]><d>&x;</d>',
        f'<!DOCTYPE d SYSTEM "{url}"><d/>',
        f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}"> %p;]><d/>',
        f'<d xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}" parse="text"/></d>',
        f'<?xml-stylesheet href="{url}"?><d/>',
    ]
    for text in documents:
        data = text.encode()
        assert _finishes(partial(parse_xml, data, path="d.xml", limits=LIMITS), fifo), text
        stream = io.BytesIO(data)
        assert _finishes(partial(parse_xml_stream, stream, path="d.xml", limits=LIMITS), fifo), text


def test_the_trap_really_catches_file_access(tmp_path: Path) -> None:
    """Guards the test above: an unsafe parser opening the FIFO is detected."""
    fifo = tmp_path / "trap"
    os.mkfifo(fifo)
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    data = f'<!DOCTYPE d [<!ENTITY x SYSTEM "{fifo.as_uri()}">]><d>&x;</d>'.encode()

    def parse_unsafely() -> None:
        with contextlib.suppress(etree.XMLSyntaxError):
            etree.fromstring(data, unsafe)

    assert not _finishes(parse_unsafely, fifo, seconds=2)


def test_xinclude_is_not_processed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        '<d xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="{secret.as_uri()}" parse="text"/></d>'
    ).encode()
    root = parse_xml(data, path="d.xml", limits=LIMITS)
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"
    assert "TOP-SECRET" not in etree.tostring(root).decode()


def test_unreachable_dtd_costs_nothing() -> None:
    started = time.perf_counter()
    assert code_of(b'<!DOCTYPE d SYSTEM "http://10.255.255.1/x.dtd"><d/>') == "CK-XML-DOCTYPE"
    assert time.perf_counter() - started < 1


# --------------------------------------------------------------------------- sizes and shapes


def test_too_deep() -> None:
    assert code_of(b"<a>" * 6 + b"</a>" * 6, SMALL) == "CK-XML-TOO-DEEP"
    assert code_of(b"<a>" * 201 + b"</a>" * 201) == "CK-XML-TOO-DEEP"
    assert code_of(b"<a>" * 100_000 + b"</a>" * 100_000) == "CK-XML-TOO-DEEP"  # libxml2's own cap, same code


@pytest.mark.parametrize("data", [
    b"<a>01234567890</a>",
    b'<a b="01234567890"/>',
    b"<a><b/>01234567890</a>",
    b"<a><b/>01234567890<c/></a>",
    b"<a><!--01234567890--></a>",
    b"<a><?pi 01234567890?></a>",
    b"<a><![CDATA[01234567890]]></a>",
], ids=["text", "attribute", "last-tail", "middle-tail", "comment", "pi", "cdata"])
def test_field_too_long(data: bytes) -> None:
    assert code_of(data, SMALL) == "CK-XML-FIELD-TOO-LONG"


@pytest.mark.parametrize("data", [
    b"<a>" + b"<![CDATA[0123]]>" * 4 + b"</a>",
    b"<a>0123<![CDATA[<<<<]]>4567</a>",
    b"<a><!--01<3<5<7<9<--></a>",
    b"<a><?pi 01<3<5<7<9<?></a>",
    b"<?xml version='1.0'?><a>" + b"&#x41;" * 11 + b"</a>",
    "<a>0123456789x</a>".encode("utf-16"),
    ('<?xml version="1.0" encoding="UTF-16"?><a>' + "\u3c00" * 11 + "</a>").encode("utf-16-le"),
], ids=["cdata-pieces", "cdata-with-lt", "comment-with-lt", "pi-with-lt", "char-refs", "utf-16", "utf-16-0x3c"])
def test_field_too_long_when_the_bytes_hide_it(data: bytes) -> None:
    """Values built from pieces shorter than the limit, or in encodings where 0x3C is not '<'."""
    limits = SMALL.model_copy(update={"max_xml_depth": 50})
    assert code_of(data, limits) == "CK-XML-FIELD-TOO-LONG"


def test_limits_hold_exactly_at_the_byte_bounds() -> None:
    """The parser skips checks the byte count rules out; right at the bound it must still check."""
    depth = 5
    deepest = b"<a>" * depth + b"<a/>" + b"</a>" * depth  # depth + 1 levels in 7(depth + 1) - 3 bytes
    assert len(deepest) == 7 * (depth + 1) - 3
    assert code_of(deepest, SMALL) == "CK-XML-TOO-DEEP"
    parse_xml(b"<a>" * (depth - 1) + b"<a/>" + b"</a>" * (depth - 1), path="ok.xml", limits=SMALL)
    exactly = b"<a>0123456789</a>"
    parse_xml(exactly, path="ok.xml", limits=SMALL)
    parse_xml(b"<?xml version='1.0'?><a><b>0123456789</b><b x='0123456789'/></a>", path="ok.xml", limits=SMALL)


def test_field_above_libxml2_text_cap_has_the_same_code() -> None:
    assert code_of(b"<a>" + b"x" * 11_000_000 + b"</a>") == "CK-XML-FIELD-TOO-LONG"


def test_too_large_bytes_and_declared_size() -> None:
    data = b"<a>" + b"<b/>" * 3000 + b"</a>"
    assert code_of(data, SMALL) == "CK-XML-TOO-LARGE"
    with pytest.raises(XmlError) as caught:
        parse_xml_stream(io.BytesIO(b"<a/>"), path="d.xml", limits=SMALL, size=SMALL.max_xml_bytes + 1)
    assert caught.value.finding.code == "CK-XML-TOO-LARGE"


class EndlessXml(io.RawIOBase):
    """An XML document that never ends (elements with 50 000-character attributes); counts what was read."""

    PATTERN = b'<b c="' + b"x" * 50_000 + b'"/>'

    def __init__(self) -> None:
        self.served = 0
        self._pending = b"<a>"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert 0 <= size <= 1024 * 1024, "the parser must ask for bounded chunks"
        while len(self._pending) < size:
            self._pending += self.PATTERN
        chunk, self._pending = self._pending[:size], self._pending[size:]
        self.served += len(chunk)
        return chunk


def test_stream_reads_at_most_the_limit_plus_one() -> None:
    limits = Limits(max_xml_bytes=2 * 1024 * 1024)
    stream = EndlessXml()
    with pytest.raises(XmlError) as caught:
        parse_xml_stream(stream, path="endless.xml", limits=limits)
    assert caught.value.finding.code == "CK-XML-TOO-LARGE"
    assert stream.served == limits.max_xml_bytes + 1


@pytest.mark.parametrize("padding", [0, 320_000], ids=["small-document-path", "streaming-path"])
def test_too_many_nodes(padding: int) -> None:
    limits = LIMITS.model_copy(update={"max_xml_nodes": 1000})
    pad = (b"<!--" + b" " * (padding // 4) + b"-->") * 4 if padding else b""
    parse_xml(b"<a>" + pad + b"<b/>" * (995 if padding else 999) + b"</a>", path="d.xml", limits=limits)
    for body in (b"<b/>" * 1000, b"<!---->" * 1000):
        with pytest.raises(XmlError) as caught:
            parse_xml(b"<a>" + pad + body + b"</a>", path="d.xml", limits=limits)
        assert caught.value.finding.code == "CK-XML-TOO-MANY-NODES"


# --------------------------------------------------------------------------- encodings and syntax


@pytest.mark.parametrize("data", [
    b"<d>\xff</d>",
    "<d>Hồ sơ ".encode() + b"\xc3\x28</d>",
    b"<d a='\xe9'/>",
    b"<d>\xed\xa0\x80</d>",  # an encoded surrogate
    b"<?xml version='1.0' encoding='UTF-8'?><d>caf\xe9</d>",
], ids=["ff", "broken-sequence", "in-attribute", "surrogate", "declared-utf8"])
def test_invalid_utf8(data: bytes) -> None:
    assert code_of(data) in ("CK-XML-ENCODING",)


def test_malformed() -> None:
    for data in (b"", b"not xml", b"<d><e></d>", b"<d/><d/>", b"<d>\x01</d>"):
        assert code_of(data) == "CK-XML-MALFORMED", data


def test_messages_are_nfc_and_bilingual() -> None:
    kinds = [kind for code, kind in registry().items() if code.startswith(("CK-XML-", "CK-PKG-"))]
    assert len(kinds) >= 30
    for kind in kinds:
        assert unicodedata.is_normalized("NFC", kind.message_vi), kind.code
        assert kind.message_vi and kind.message_en and kind.message_vi != kind.message_en
        assert kind.rule.startswith("R-")
