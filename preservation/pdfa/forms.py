"""Interactive forms, widget annotations, permissions and signatures (ISO 19005-1 6.5, 6.6, 6.9;
ISO 19005-2/-3 6.1.12, 6.3, 6.4).

pikepdf does not check these (the catalog's /AcroForm and /Perms, and Widget
annotations, are "unsupported"). Signed PDFs, the normal case for Vietnamese
state documents, always carry them, so we check them here and then take them
out of the in-memory document before pikepdf's walk, registering each widget's
appearance streams as forms so that pikepdf still checks their content, fonts
and colours. The file on disk is never touched.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

ANNOT_INVISIBLE, ANNOT_HIDDEN, ANNOT_PRINT, ANNOT_NOVIEW, ANNOT_TOGGLE_NOVIEW = 1, 2, 4, 32, 256
_MAX_FIELDS = 100_000
_SIGNATURE_TYPES = (pikepdf.Name.Sig, pikepdf.Name.DocTimeStamp)


@dataclass(frozen=True)
class FormViolation:
    rule_id: str
    where: str
    message: str


@dataclass
class Prepared:
    """What `prepare` found and changed in memory."""

    violations: list[FormViolation]
    doubts: list[str]
    appearance_forms: set[tuple[int, int]]
    """Appearance streams of the widgets taken out of /Annots (drawn by the viewer, not by content)."""


def _where(obj: Any) -> str:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return f"obj {obj.objgen[0]} {obj.objgen[1]}"
    return "direct"


def _rule(part: int, part1: str, part23: str) -> str:
    return part1 if part == 1 else part23


def _inherited(field: pikepdf.Dictionary, key: str) -> Any:
    node: Any = field
    for _ in range(64):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if key in node:
            return node.get(key)
        node = node.get("/Parent")
    return None


def has_interactive_parts(pdf: pikepdf.Pdf) -> bool:
    root = pdf.Root
    if "/AcroForm" in root or "/Perms" in root:
        return True
    return any(_widgets(page.obj) for page in pdf.pages)


def _widgets(page: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    annots = page.get("/Annots")
    if not isinstance(annots, pikepdf.Array):
        return []
    return [a for a in annots if isinstance(a, pikepdf.Dictionary) and a.get("/Subtype") == pikepdf.Name.Widget]


class _Checker:
    def __init__(self, pdf: pikepdf.Pdf, path: Path, part: int) -> None:
        self.pdf = pdf
        self.path = path
        self.part = part
        self.violations: list[FormViolation] = []
        self.doubts: list[str] = []

    def deny(self, part1: str | None, part23: str | None, where: str, message: str) -> None:
        rule = part1 if self.part == 1 else part23
        if rule is not None:
            self.violations.append(FormViolation(rule, where, message))

    # --- the AcroForm dictionary and the field tree --------------------------------

    def acroform(self) -> None:
        form = self.pdf.Root.get("/AcroForm")
        if not isinstance(form, pikepdf.Dictionary):
            return
        where = _where(form)
        if _is_true(form.get("/NeedAppearances")):
            self.deny("6.9-1", "6.4.1-3", where, "the interactive form sets NeedAppearances to true")
        if "/XFA" in form and self.part != 1:
            self.deny(None, "6.4.2-1", where, "the interactive form contains XFA")
        fields = form.get("/Fields")
        if isinstance(fields, pikepdf.Array):
            self._fields(list(fields))

    def _fields(self, roots: list[Any]) -> None:
        pending = list(roots)
        seen: set[tuple[int, int]] = set()
        while pending and len(seen) < _MAX_FIELDS:
            node = pending.pop()
            if not isinstance(node, pikepdf.Dictionary):
                continue
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            where = _where(node)
            if "/AA" in node:
                self.deny("6.6.2-2", "6.4.1-2", where, "a form field has additional actions (/AA)")
            if _inherited(node, "/FT") == pikepdf.Name.Sig and "/V" in node and self.part != 1:
                self._signature(node.get("/V"), where)
            kids = node.get("/Kids")
            if isinstance(kids, pikepdf.Array):
                pending.extend(kids)

    # --- widget annotations ------------------------------------------------------------

    def widget(self, annot: pikepdf.Dictionary) -> list[pikepdf.Stream]:
        """Check one Widget annotation; return its appearance streams."""
        where = _where(annot)
        if "/A" in annot:
            self.deny("6.6.1-3", "6.4.1-1", where, "a widget annotation has an action (/A)")
        if "/AA" in annot:
            self.deny("6.6.2-1", "6.4.1-1", where, "a widget annotation has additional actions (/AA)")
        self._flags(annot, where)
        if self.part == 1:
            opacity = annot.get("/CA")
            if opacity is not None and float(opacity) != 1.0:
                self.deny("6.5.3-1", None, where, "the annotation's /CA is not 1.0")
            if ("/C" in annot or "/IC" in annot) and not _rgb_output_intent(self.pdf):
                self.deny("6.5.3-3", None, where, "/C or /IC without an RGB PDF/A OutputIntent")
        return self._appearance(annot, where)

    def _flags(self, annot: pikepdf.Dictionary, where: str) -> None:
        flags = annot.get("/F")
        if flags is None:
            self.deny("6.5.3-2", "6.3.2-1", where, "the annotation has no /F flags")
            return
        value = int(flags)
        forbidden = ANNOT_INVISIBLE | ANNOT_HIDDEN | ANNOT_NOVIEW
        if self.part != 1:
            forbidden |= ANNOT_TOGGLE_NOVIEW
        if not value & ANNOT_PRINT or value & forbidden:
            self.deny("6.5.3-2", "6.3.2-2", where, f"annotation flags {value}: Print must be set, Hidden/NoView clear")

    def _appearance(self, annot: pikepdf.Dictionary, where: str) -> list[pikepdf.Stream]:
        appearance = annot.get("/AP")
        if not isinstance(appearance, pikepdf.Dictionary):
            if self.part == 1:
                self.deny("6.9-2", None, where, "a form field has no appearance dictionary")
            elif _has_area(annot.get("/Rect")):
                self.deny(None, "6.3.3-1", where, "the widget annotation has no appearance dictionary")
            return []
        if set(appearance.keys()) != {"/N"}:
            self.deny("6.5.3-4", "6.3.3-2", where, "the appearance dictionary holds keys other than /N")
        normal = appearance.get("/N")
        button = _inherited(annot, "/FT") == pikepdf.Name.Btn
        streams: list[pikepdf.Stream] = []
        if button:
            states = [v for v in normal.values() if isinstance(v, pikepdf.Stream)] \
                if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream) else []
            if not states:
                self.deny("6.5.3-5", "6.3.3-3", where, "a button's normal appearance is not a subdictionary of states")
            streams.extend(states)
        elif not isinstance(normal, pikepdf.Stream):
            self.deny("6.5.3-6", "6.3.3-4", where, "the normal appearance (/N) is not a stream")
        else:
            streams.append(normal)
        for key in ("/R", "/D"):
            value = appearance.get(key)
            if isinstance(value, pikepdf.Stream):
                streams.append(value)
            elif isinstance(value, pikepdf.Dictionary):
                streams.extend(v for v in value.values() if isinstance(v, pikepdf.Stream))
        return streams

    # --- permissions and signatures --------------------------------------------------

    def permissions(self) -> None:
        perms = self.pdf.Root.get("/Perms")
        if not isinstance(perms, pikepdf.Dictionary):
            return
        if self.part == 1:
            self.doubts.append("a permissions dictionary (/Perms) in a PDF/A-1 file is not checked")
            return
        where = _where(perms)
        extra = sorted(set(perms.keys()) - {"/UR3", "/DocMDP"})
        if extra:
            self.deny(None, "6.1.12-1", where, f"the permissions dictionary holds {', '.join(extra)}")
        doc_mdp = perms.get("/DocMDP")
        if isinstance(doc_mdp, pikepdf.Dictionary):
            for reference in doc_mdp.get("/Reference") or []:
                if isinstance(reference, pikepdf.Dictionary) and any(
                    key in reference for key in ("/DigestLocation", "/DigestMethod", "/DigestValue")
                ):
                    self.deny(None, "6.1.12-2", _where(reference), "a DocMDP signature reference holds digest keys")

    def _signature(self, signature: Any, where: str) -> None:
        if not isinstance(signature, pikepdf.Dictionary) or signature.get("/Type") not in (None, *_SIGNATURE_TYPES):
            return
        contents = signature.get("/Contents")
        byte_range = signature.get("/ByteRange")
        if not isinstance(contents, pikepdf.String) or not isinstance(byte_range, pikepdf.Array):
            self.deny(None, "6.4.3-1", where, "the signature has no /Contents or /ByteRange")
            return
        if not _byte_range_covers(self.path, [int(x) for x in byte_range]):
            self.deny(None, "6.4.3-1", where, "the signature's /ByteRange does not cover the whole file but /Contents")
        if signature.get("/SubFilter") == pikepdf.Name("/ETSI.RFC3161"):
            return  # a document time stamp holds a time-stamp token, not a signer's certificate
        signers, certificate_present = _pkcs7_facts(bytes(contents))
        if signers is None:
            self.deny(None, "6.4.3-2", where, "the signature /Contents is not a DER-encoded PKCS#7 SignedData")
            return
        if not certificate_present:
            self.deny(None, "6.4.3-2", where, "the PKCS#7 object does not include the signer's certificate")
        if signers != 1:
            self.deny(None, "6.4.3-3", where, f"the PKCS#7 object has {signers} SignerInfo entries, not one")


def _is_true(value: object) -> bool:
    """A PDF boolean true (pikepdf's default, implicit conversion gives Python booleans)."""
    return isinstance(value, bool) and value


def _has_area(rect: Any) -> bool:
    if not isinstance(rect, pikepdf.Array) or len(rect) != 4:
        return True
    try:
        x1, y1, x2, y2 = (float(v) for v in rect)
    except (TypeError, ValueError):
        return True
    return not (x1 == x2 and y1 == y2)


def _rgb_output_intent(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return False
    for intent in intents:
        profile = intent.get("/DestOutputProfile") if isinstance(intent, pikepdf.Dictionary) else None
        if isinstance(profile, pikepdf.Stream):
            try:
                return profile.read_bytes()[16:20] == b"RGB "
            except pikepdf.PdfError:
                return False
    return False


def _byte_range_covers(path: Path, byte_range: list[int]) -> bool:
    """[0, a, b, c]: the gap a..b is exactly the /Contents hex string and b + c ends a revision."""
    if len(byte_range) != 4 or byte_range[0] != 0:
        return False
    _, first, second, length = byte_range
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = second + length
        if not (0 < first < second <= end <= len(data)):
            return False
        if data[first : first + 1] != b"<" or data[second - 1 : second] != b">":
            return False
        tail = bytes(data[max(0, end - 8) : end + 2])
        return end == len(data) or b"%%EOF" in tail


def _pkcs7_facts(der: bytes) -> tuple[int | None, bool]:
    """(number of SignerInfos, whether the first signer's certificate is included).

    A small DER reader of its own: asn1crypto caches its OID name tables on first
    use, and using it before pyHanko has registered its own types breaks pyHanko."""
    try:
        return _signed_data_facts(der)
    except (IndexError, ValueError):
        return None, False


_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
_OID_SUBJECT_KEY_ID = bytes.fromhex("551d0e")


def _tlv(data: bytes, position: int) -> tuple[int, int, int, int]:
    """(tag, start of value, end of value, start of the element) at `position`."""
    tag = data[position]
    length = data[position + 1]
    start = position + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end, position


def _items(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    items = []
    position = start
    while position < end:
        item = _tlv(data, position)
        items.append(item)
        position = item[2]
    return items


def _signed_data_facts(der: bytes) -> tuple[int | None, bool]:
    tag, start, end, _ = _tlv(der, 0)
    content_type, content = _items(der, start, end)[:2]
    if tag != 0x30 or der[content_type[1] : content_type[2]] != _OID_SIGNED_DATA or content[0] != 0xA0:
        return None, False
    (signed,) = _items(der, content[1], content[2])[:1]
    fields = _items(der, signed[1], signed[2])
    certificates = [f for f in fields if f[0] == 0xA0]
    signer_sets = [f for f in fields if f[0] == 0x31][1:]  # the first SET is digestAlgorithms
    if not signer_sets:
        return None, False
    signers = _items(der, signer_sets[-1][1], signer_sets[-1][2])
    if not signers:
        return 0, False
    sid = _items(der, signers[0][1], signers[0][2])[1]
    certs = _items(der, certificates[0][1], certificates[0][2]) if certificates else []
    present = any(_certificate_matches(der, cert, sid) for cert in certs if cert[0] == 0x30)
    return len(signers), present


def _certificate_matches(der: bytes, certificate: tuple[int, int, int, int], sid: tuple[int, int, int, int]) -> bool:
    tbs = _items(der, certificate[1], certificate[2])[0]
    parts = _items(der, tbs[1], tbs[2])
    if parts and parts[0][0] == 0xA0:
        parts = parts[1:]  # explicit version
    serial, issuer = parts[0], parts[2]
    if sid[0] == 0x30:  # issuerAndSerialNumber
        wanted_issuer, wanted_serial = _items(der, sid[1], sid[2])[:2]
        return bool(
            der[wanted_issuer[3] : wanted_issuer[2]] == der[issuer[3] : issuer[2]]
            and der[wanted_serial[1] : wanted_serial[2]] == der[serial[1] : serial[2]]
        )
    if sid[0] == 0x80:  # subjectKeyIdentifier
        return der[sid[1] : sid[2]] in _key_identifiers(der, parts)
    return False


def _key_identifiers(der: bytes, parts: list[tuple[int, int, int, int]]) -> list[bytes]:
    found = []
    for part in parts:
        if part[0] != 0xA3:
            continue
        (extensions,) = _items(der, part[1], part[2])[:1]
        for extension in _items(der, extensions[1], extensions[2]):
            values = _items(der, extension[1], extension[2])
            if der[values[0][1] : values[0][2]] == _OID_SUBJECT_KEY_ID:
                inner = _tlv(der, values[-1][1])
                found.append(der[inner[1] : inner[2]])
    return found


def prepare(pdf: pikepdf.Pdf, path: Path, part: int) -> Prepared:
    """Check the interactive parts, then take them out of the in-memory document."""
    checker = _Checker(pdf, path, part)
    checker.acroform()
    checker.permissions()
    appearance_forms: set[tuple[int, int]] = set()
    for index, page in enumerate(pdf.pages):
        widgets = _widgets(page.obj)
        if not widgets:
            continue
        streams: list[pikepdf.Stream] = []
        for widget in widgets:
            streams.extend(checker.widget(widget))
        _take_out_widgets(pdf, page.obj, streams, index)
        appearance_forms.update(s.objgen for s in streams if s.is_indirect)
    for key in ("/AcroForm", "/Perms"):
        if key in pdf.Root:
            del pdf.Root[key]
    return Prepared(checker.violations, checker.doubts, appearance_forms)


def _take_out_widgets(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, streams: list[pikepdf.Stream], index: int) -> None:
    annots = page.get("/Annots")
    if isinstance(annots, pikepdf.Array):
        kept = [
            a for a in annots
            if not (isinstance(a, pikepdf.Dictionary) and a.get("/Subtype") == pikepdf.Name.Widget)
        ]
        page["/Annots"] = pikepdf.Array(kept)
    if not streams:
        return
    xobjects = page_xobjects(page)
    for number, stream in enumerate(streams):
        if stream.get("/Subtype") == pikepdf.Name.Form:
            xobjects[pikepdf.Name(f"/EarchiveAppearance{index}x{number}")] = stream


def page_xobjects(page: pikepdf.Dictionary) -> pikepdf.Dictionary:
    """The page's own /Resources /XObject dictionary, created when missing (stand-ins for pikepdf go there)."""
    resources = page.get("/Resources")
    if not isinstance(resources, pikepdf.Dictionary):
        resources = pikepdf.Dictionary()
        page["/Resources"] = resources
    xobjects = resources.get("/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        xobjects = pikepdf.Dictionary()
        resources["/XObject"] = xobjects
    return xobjects
