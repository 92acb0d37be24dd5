"""ISO 19005 checks of constructs pikepdf reports as "not supported".

Each function checks one kind of construct against its PDF/A rules and returns
violations; `constructs` then drops pikepdf's "unsupported" finding for it.
Some also change the in-memory document before pikepdf's walk (never the file)
so that pikepdf checks what lies inside the construct: the content of tiling
patterns (given to pikepdf as stand-in Form XObjects) and the OutputIntents
that are not PDF/A ones.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pikepdf

from preservation.pdfa import content, xmp
from preservation.pdfa.forms import page_xobjects

_PROCESS_COLOURANTS = frozenset({"/Cyan", "/Magenta", "/Yellow", "/Black"})
_ALLOWED_ACTIONS_1 = frozenset({"/GoTo", "/GoToR", "/Thread", "/URI", "/Named", "/SubmitForm"})
_ALLOWED_ACTIONS_23 = _ALLOWED_ACTIONS_1 | {"/GoToE"}
_ALLOWED_NAMED = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
_PRIMARY_COLOURANTS = frozenset({"/Cyan", "/Magenta", "/Yellow", "/Black"})
"""The colourants whose halftone must not carry a TransferFunction (others, except Default, must)."""
_MIME = re.compile(r"^[-\w+.]+/[-\w+.]+$")
_OBJ = re.compile(r"^obj (\d+) (\d+)")


@dataclass(frozen=True)
class Violation:
    rule_id: str
    where: str
    message: str


def _rule(part: int, part1: str | None, part23: str | None) -> str | None:
    return part1 if part == 1 else part23


def _where(obj: Any) -> str:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return f"obj {obj.objgen[0]} {obj.objgen[1]}"
    return "direct"


def object_at(pdf: pikepdf.Pdf, where: str) -> Any:
    """The indirect object a pikepdf location string starts with (`obj 12 0 (Role) …`)."""
    match = _OBJ.match(where)
    if match is None:
        return None
    try:
        return pdf.get_object(int(match.group(1)), int(match.group(2)))
    except (pikepdf.PdfError, ValueError):
        return None


@cache
def predefined_cmaps() -> frozenset[str]:
    """The CMaps of ISO 32000-1 Table 118 (by name), from the rule catalogue."""
    from preservation.pdfa import catalogue

    text = catalogue.rule_test(2, "6.2.11.3.3-1") or ""
    return frozenset(re.findall(r'CMapName == "([^"]+)"', text))


# --- output intents -------------------------------------------------------------------


def output_intent_colour(pdf: pikepdf.Pdf) -> str | None:
    """Colour space of the PDF/A OutputIntent's profile (`RGB `, `CMYK`, `GRAY`), None without one."""
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return None
    for intent in intents:
        if isinstance(intent, pikepdf.Dictionary) and intent.get("/S") == pikepdf.Name.GTS_PDFA1:
            profile = intent.get("/DestOutputProfile")
            if isinstance(profile, pikepdf.Stream):
                try:
                    return bytes(profile.read_bytes()[16:20]).decode("latin-1")
                except pikepdf.PdfError:
                    return None
    return None


def keep_only_pdfa_output_intents(pdf: pikepdf.Pdf, part: int) -> list[Violation]:
    """Other OutputIntents (PDF/X, PDF/E) are allowed if they share the PDF/A one's profile.

    They are then removed from memory, so that pikepdf never takes one of them for
    the PDF/A OutputIntent.
    """
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return []
    profiles: set[tuple[int, int]] = set()
    for intent in intents:
        profile = intent.get("/DestOutputProfile") if isinstance(intent, pikepdf.Dictionary) else None
        if isinstance(profile, pikepdf.Stream) and profile.is_indirect:
            profiles.add(profile.objgen)
    others = [i for i in intents if isinstance(i, pikepdf.Dictionary) and i.get("/S") != pikepdf.Name.GTS_PDFA1]
    if not others:
        return []
    violations = []
    if len(profiles) > 1:
        rule = _rule(part, "6.2.2-2", "6.2.3-2")
        assert rule is not None
        violations.append(Violation(rule, _where(intents), "the OutputIntents use different destination profiles"))
    pdf.Root["/OutputIntents"] = pikepdf.Array(
        [i for i in intents if isinstance(i, pikepdf.Dictionary) and i.get("/S") == pikepdf.Name.GTS_PDFA1]
    )
    return violations


# --- colour ------------------------------------------------------------------------------


def device_uses(usage: content.Usage, part: int, intent: str | None) -> list[Violation]:
    """Device colour in shadings and uncoloured patterns (6.2.3.3 / 6.2.4.3)."""
    violations = []
    for use in usage.device_uses:
        if use.has_default:
            continue
        if use.kind == "gray" and intent is None:
            rule = _rule(part, "6.2.3.3-3", "6.2.4.3-4")
        elif use.kind == "rgb" and intent != "RGB ":
            rule = _rule(part, "6.2.3.3-1", "6.2.4.3-2")
        elif use.kind == "cmyk" and intent != "CMYK":
            rule = _rule(part, "6.2.3.3-2", "6.2.4.3-3")
        else:
            continue
        assert rule is not None
        violations.append(Violation(rule, use.where, f"Device{use.kind.upper()} used with OutputIntent {intent!r}"))
    return violations


def special_spaces(usage: content.Usage, part: int, intent: str | None) -> list[Violation]:
    """Separation and DeviceN colour spaces (ISO 19005-1 6.1.12, 6.2.3.4; -2 6.1.13, 6.2.4.4, 6.1.8)."""
    violations: list[Violation] = []
    by_name: dict[str, tuple[Any, Any, str]] = {}
    seen: set[int] = set()
    for space in usage.special_spaces:
        array = space.array
        if id(array) in seen:
            continue
        seen.add(id(array))
        family = array[0]
        where = space.where
        if family == pikepdf.Name.Separation and len(array) >= 4:
            name = array[1]
            alternate, tint = array[2], array[3]
            _check_alternate(alternate, space.resources, part, intent, where, violations)
            _check_utf8_name(name, part, where, violations)
            key = _name_key(name)
            if part != 1 and key in by_name:
                alt0, tint0, _ = by_name[key]
                if not (_same(alt0, alternate) and _same(tint0, tint)):
                    violations.append(Violation(
                        "6.2.4.4-2", where,
                        f"Separation colour spaces named {key} have different tint transforms or alternate spaces",
                    ))
            else:
                by_name[key] = (alternate, tint, where)
        elif family == pikepdf.Name.DeviceN and len(array) >= 4:
            names = array[1] if isinstance(array[1], pikepdf.Array) else pikepdf.Array()
            _check_alternate(array[2], space.resources, part, intent, where, violations)
            limit, rule = (8, "6.1.12-9") if part == 1 else (32, "6.1.13-9")
            if len(names) > limit:
                violations.append(Violation(rule, where, f"DeviceN colour space with {len(names)} colourants"))
            for name in names:
                _check_utf8_name(name, part, where, violations)
            if part != 1:
                _check_colorants(array, names, where, violations, by_name)
    return violations


def _check_colorants(
    array: pikepdf.Array, names: pikepdf.Array, where: str, violations: list[Violation],
    by_name: dict[str, tuple[Any, Any, str]],
) -> None:
    attributes = array[4] if len(array) > 4 and isinstance(array[4], pikepdf.Dictionary) else None
    colorants = attributes.get("/Colorants") if attributes is not None else None
    colorants = colorants if isinstance(colorants, pikepdf.Dictionary) else pikepdf.Dictionary()
    spot = [
        n for n in names
        if isinstance(n, pikepdf.Name) and n not in _PROCESS_COLOURANTS and n != pikepdf.Name("/None")
    ]
    missing = [_name_key(n) for n in spot if n not in colorants]
    if missing:
        violations.append(Violation(
            "6.2.4.4-1", where, f"DeviceN spot colourants {', '.join(missing)} have no entry in /Colorants"
        ))
    for key, value in colorants.items():
        if isinstance(value, pikepdf.Array) and len(value) >= 4 and value[0] == pikepdf.Name.Separation:
            name = _name_key(value[1])
            if name in by_name:
                alt0, tint0, _ = by_name[name]
                if not (_same(alt0, value[2]) and _same(tint0, value[3])):
                    violations.append(Violation(
                        "6.2.4.4-2", where, f"Separation colour spaces named {name} differ ({key} in /Colorants)"
                    ))
            else:
                by_name[name] = (value[2], value[3], where)


def _name_key(name: Any) -> str:
    """A name as text even when its bytes are not UTF-8 (that is its own finding, 6.1.8)."""
    if isinstance(name, pikepdf.Object):
        try:
            return bytes(name.unparse()).decode("utf-8", "backslashreplace")
        except (pikepdf.PdfError, TypeError):
            return repr(name)
    return repr(name)


def _same(a: Any, b: Any, depth: int = 0) -> bool:
    """PDF objects compared as objects: direct or indirect and compression do not matter (6.2.4.4)."""
    if depth > 16:
        return False
    if isinstance(a, pikepdf.Object) and isinstance(b, pikepdf.Object) and a.is_indirect and b.is_indirect \
            and a.objgen == b.objgen:
        return True
    if isinstance(a, pikepdf.Stream) or isinstance(b, pikepdf.Stream):
        if not (isinstance(a, pikepdf.Stream) and isinstance(b, pikepdf.Stream)):
            return False
        try:
            if a.read_bytes() != b.read_bytes():
                return False
        except pikepdf.PdfError:
            return False
        return _same_dict(a, b, depth, ignore=("/Length", "/Filter", "/DecodeParms"))
    if isinstance(a, pikepdf.Dictionary) and isinstance(b, pikepdf.Dictionary):
        return _same_dict(a, b, depth)
    if isinstance(a, pikepdf.Array) and isinstance(b, pikepdf.Array):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _same_dict(a: Any, b: Any, depth: int, ignore: tuple[str, ...] = ()) -> bool:
    keys_a = {k for k in a if k not in ignore}
    keys_b = {k for k in b if k not in ignore}
    return keys_a == keys_b and all(_same(a.get(k), b.get(k), depth + 1) for k in keys_a)


def _check_utf8_name(name: Any, part: int, where: str, violations: list[Violation]) -> None:
    if part == 1 or not isinstance(name, pikepdf.Name):
        return
    try:
        str(name)
    except UnicodeDecodeError:
        violations.append(Violation("6.1.8-1", where, "a colourant name is not valid UTF-8"))


def _check_alternate(
    alternate: Any, resources: pikepdf.Dictionary | None, part: int, intent: str | None, where: str,
    violations: list[Violation],
) -> None:
    kind = {"/DeviceGray": "gray", "/DeviceRGB": "rgb", "/DeviceCMYK": "cmyk"}.get(
        str(alternate) if isinstance(alternate, pikepdf.Name) else ""
    )
    if kind is None:
        return
    use = content.DeviceUse(kind, content._has_default(resources, kind), where)
    usage = content.Usage(device_uses=[use])
    for violation in device_uses(usage, part, intent):
        rule = violation.rule_id if part != 1 else "6.2.3.4-1"
        violations.append(Violation(rule, where, f"the alternate space of a Separation/DeviceN: {violation.message}"))


# --- tiling patterns ----------------------------------------------------------------------


def proxy_tiling_patterns(pdf: pikepdf.Pdf, usage: content.Usage) -> set[tuple[int, int]]:
    """Give pikepdf each painted coloured tiling pattern as a Form XObject to check its content.

    Returns the stand-in forms (to be counted as drawn)."""
    if not usage.tiling_patterns or len(pdf.pages) == 0:
        return set()
    resources = page_xobjects(pdf.pages[0].obj)
    proxies: set[tuple[int, int]] = set()
    for number, (key, pattern) in enumerate(sorted(usage.tiling_patterns.items())):
        try:
            data = pattern.read_bytes()
        except pikepdf.PdfError:
            continue
        proxy = pdf.make_stream(data)
        proxy["/Type"] = pikepdf.Name.XObject
        proxy["/Subtype"] = pikepdf.Name.Form
        proxy["/BBox"] = pattern.get("/BBox", pikepdf.Array([0, 0, 1, 1]))
        if "/Resources" in pattern:
            proxy["/Resources"] = pattern.get("/Resources")
        indirect = pdf.make_indirect(proxy)
        resources[pikepdf.Name(f"/EarchivePattern{number}x{key[0]}")] = indirect
        proxies.add(indirect.objgen)
    return proxies


# --- metadata streams of objects ----------------------------------------------------------


def object_metadata(
    stream: Any, part: int, main_definitions: xmp.Definitions | None
) -> list[Violation]:
    if not isinstance(stream, pikepdf.Stream):
        return []
    where = _where(stream)
    try:
        raw = stream.read_bytes() if "/Filter" in stream else stream.read_raw_bytes()
    except pikepdf.PdfError as exc:
        rule = _rule(part, "6.7.9-1", "6.6.2.1-4")
        assert rule is not None
        return [Violation(rule, where, f"unreadable metadata stream: {exc}")]
    result = xmp.check_packet(raw, part, main=False, main_definitions=main_definitions)
    return [Violation(v.rule_id, where, v.message) for v in result.violations]


# --- actions ---------------------------------------------------------------------------------


def actions(action: Any, part: int) -> list[Violation]:
    """An action dictionary and its /Next chain (ISO 19005-1 6.6.1, -2 6.5.1)."""
    violations: list[Violation] = []
    if not isinstance(action, pikepdf.Dictionary):
        return violations  # an /OpenAction array is a destination, not an action
    pending: list[Any] = [action]
    seen: set[tuple[int, int]] = set()
    allowed = _ALLOWED_ACTIONS_1 if part == 1 else _ALLOWED_ACTIONS_23
    while pending and len(seen) < 1000:
        current = pending.pop()
        if not isinstance(current, pikepdf.Dictionary):
            continue
        if current.is_indirect:
            if current.objgen in seen:
                continue
            seen.add(current.objgen)
        kind = current.get("/S")
        where = _where(current)
        if kind not in allowed:
            rule = _rule(part, "6.6.1-1", "6.5.1-1")
            assert rule is not None
            violations.append(Violation(rule, where, f"action {kind} is not permitted"))
        elif kind == pikepdf.Name.Named and current.get("/N") not in _ALLOWED_NAMED:
            rule = _rule(part, "6.6.1-2", "6.5.1-2")
            assert rule is not None
            violations.append(Violation(rule, where, f"named action {current.get('/N')} is not permitted"))
        following = current.get("/Next")
        if isinstance(following, pikepdf.Array):
            pending.extend(following)
        elif following is not None:
            pending.append(following)
    return violations


# --- halftones -------------------------------------------------------------------------------


def halftone(value: Any, where: str) -> list[Violation]:
    """ISO 19005-2 6.2.5: halftone types 1 or 5, no HalftoneName, TransferFunction only where required."""
    if isinstance(value, pikepdf.Name):
        return []  # /Default
    if not isinstance(value, (pikepdf.Dictionary, pikepdf.Stream)):
        return [Violation("6.2.5-4", where, "the halftone is neither /Default nor a dictionary or stream")]
    violations = []
    kind = value.get("/HalftoneType")
    if kind not in (1, 5):
        violations.append(Violation("6.2.5-4", where, f"HalftoneType {kind} (only 1 and 5 are allowed)"))
    if "/HalftoneName" in value:
        violations.append(Violation("6.2.5-5", where, "the halftone has a /HalftoneName"))
    if kind == 5:
        for key, component in value.items():
            if isinstance(component, (pikepdf.Dictionary, pikepdf.Stream)) and key not in (
                "/Type", "/HalftoneType", "/HalftoneName", "/Default"
            ):
                primary = key in _PRIMARY_COLOURANTS
                if primary == ("/TransferFunction" in component):
                    violations.append(Violation(
                        "6.2.5-6", where, f"the halftone for {key} {'has' if primary else 'lacks'} a TransferFunction"
                    ))
    elif "/TransferFunction" in value:
        violations.append(Violation("6.2.5-6", where, "a type 1 halftone has a TransferFunction"))
    return violations


# --- JPEG 2000 ----------------------------------------------------------------------------------


def jpeg2000(image: Any, where: str) -> list[Violation] | None:
    """ISO 19005-2 6.2.8.3 on the JP2 boxes; None when the data cannot be read."""
    if not isinstance(image, pikepdf.Stream):
        return None
    try:
        data = image.read_raw_bytes()
    except pikepdf.PdfError:
        return None
    facts = _jp2_facts(bytes(data))
    if facts is None:
        return None
    channels, depths, colr, bpcc = facts
    violations = []
    if channels not in (1, 3, 4):
        violations.append(Violation("6.2.8.3-1", where, f"the JPEG 2000 data has {channels} colour channels"))
    has_colour_space = "/ColorSpace" in image
    if not has_colour_space and colr:
        if len(colr) > 1 and sum(1 for c in colr if c[2] == 1) != 1:
            violations.append(Violation("6.2.8.3-2", where, "several colr boxes, not exactly one with APPROX 1"))
        method, enum = colr[0][0], colr[0][3]
        if method not in (1, 2, 3):
            violations.append(Violation("6.2.8.3-3", where, f"colr METH is {method}"))
        if method == 1 and enum == 19:
            violations.append(Violation("6.2.8.3-4", where, "JPEG 2000 enumerated colour space 19 (CIEJab)"))
    if bpcc or not depths or len(set(depths)) != 1 or not all(1 <= d <= 38 for d in depths):
        violations.append(Violation("6.2.8.3-5", where, "JPEG 2000 channels of different or invalid bit depths"))
    return violations


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    position = start
    while position + 8 <= end:
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if length == 1 and position + 16 <= end:
            length = struct.unpack(">Q", data[position + 8 : position + 16])[0]
            header = 16
        elif length == 0:
            length = end - position
        if length < header or position + length > end:
            return
        yield kind, position + header, position + length
        position += length


def _jp2_facts(data: bytes) -> tuple[int, list[int], list[tuple[int, int, int, int | None]], bool] | None:
    """(channels, bit depths, colr boxes (METH, PREC, APPROX, EnumCS), bpcc box present)."""
    if data.startswith(b"\xff\x4f\xff\x51"):
        return _codestream_facts(data)
    channels, depths, colr, bpcc = 0, [], [], False
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"jp2h":
            continue
        for sub, s_start, s_end in _boxes(data, start, end):
            if sub == b"ihdr" and s_end - s_start >= 14:
                channels = struct.unpack(">H", data[s_start + 8 : s_start + 10])[0]
                bpc = data[s_start + 10]
                depths = [] if bpc == 255 else [(bpc & 0x7F) + 1] * channels
            elif sub == b"bpcc":
                bpcc = True
            elif sub == b"colr" and s_end - s_start >= 3:
                method, precedence, approx = data[s_start], data[s_start + 1], data[s_start + 2]
                enum = None
                if method == 1 and s_end - s_start >= 7:
                    enum = struct.unpack(">I", data[s_start + 3 : s_start + 7])[0]
                colr.append((method, precedence, approx, enum))
    if channels == 0:
        return None
    return channels, depths, colr, bpcc


def _codestream_facts(data: bytes) -> tuple[int, list[int], list[tuple[int, int, int, int | None]], bool] | None:
    if len(data) < 42:
        return None
    channels = struct.unpack(">H", data[40:42])[0]
    depths = [(data[42 + 3 * i] & 0x7F) + 1 for i in range(channels) if 42 + 3 * i < len(data)]
    return channels, depths, [], False


# --- embedded files --------------------------------------------------------------------------


def embedded_files(pdf: pikepdf.Pdf, part: int) -> tuple[list[Violation], list[pikepdf.Stream]]:
    """ISO 19005-3 6.8 (and -2 6.8-2): every file specification with /EF.

    Returns the violations and, for part 2, the embedded file streams that must be
    PDF/A-1 or PDF/A-2 files themselves (checked by the caller)."""
    violations: list[Violation] = []
    nested: list[pikepdf.Stream] = []
    filespecs: list[pikepdf.Dictionary] = []
    associated: set[tuple[int, int]] = set()
    for obj in _dictionaries(pdf):
        af = obj.get("/AF")
        if isinstance(af, pikepdf.Array):
            associated.update(x.objgen for x in af if isinstance(x, pikepdf.Dictionary) and x.is_indirect)
        elif isinstance(af, pikepdf.Dictionary) and af.is_indirect:
            associated.add(af.objgen)
        if "/EF" in obj and isinstance(obj, pikepdf.Dictionary):
            filespecs.append(obj)
    for spec in filespecs:
        where = _where(spec)
        if "/F" not in spec or "/UF" not in spec:
            violations.append(Violation("6.8-2", where, "the file specification of an embedded file lacks /F or /UF"))
        ef = spec.get("/EF")
        streams = [s for s in ef.values() if isinstance(s, pikepdf.Stream)] \
            if isinstance(ef, pikepdf.Dictionary) else []
        if part == 2:
            nested.extend(streams)
            continue
        for stream in streams:
            subtype = stream.get("/Subtype")
            text = str(subtype)[1:] if isinstance(subtype, pikepdf.Name) else ""
            if not _MIME.match(text.replace("#2F", "/").replace("#2f", "/")):
                violations.append(Violation("6.8-1", _where(stream), "the embedded file has no MIME type (/Subtype)"))
        if "/AFRelationship" not in spec:
            violations.append(Violation("6.8-3", where, "the file specification has no /AFRelationship"))
        if not spec.is_indirect or spec.objgen not in associated:
            violations.append(Violation("6.8-4", where, "the embedded file is not associated (no /AF array lists it)"))
    return violations, nested


def _dictionaries(pdf: pikepdf.Pdf) -> Iterator[Any]:
    """Every dictionary and stream of the file, direct ones included (bounded)."""
    budget = 2_000_000
    for obj in pdf.objects:
        pending = [obj]
        while pending and budget > 0:
            budget -= 1
            node = pending.pop()
            if isinstance(node, (pikepdf.Dictionary, pikepdf.Stream)):
                yield node
                pending.extend(v for v in node.values() if isinstance(v, (pikepdf.Dictionary, pikepdf.Array))
                               and not v.is_indirect)
            elif isinstance(node, pikepdf.Array):
                pending.extend(v for v in node if isinstance(v, (pikepdf.Dictionary, pikepdf.Array))
                               and not v.is_indirect)


# --- optional content ----------------------------------------------------------------------


def optional_content(pdf: pikepdf.Pdf, part: int) -> list[Violation]:
    """ISO 19005-1 6.1.13 forbids optional content; ISO 19005-2 6.9 restricts its configurations."""
    properties = pdf.Root.get("/OCProperties")
    if not isinstance(properties, pikepdf.Dictionary):
        return []
    where = _where(properties)
    if part == 1:
        return [Violation("6.1.13-1", where, "optional content (/OCProperties) is not permitted in PDF/A-1")]
    violations = []
    configs = [properties.get("/D"), *(properties.get("/Configs") or [])]
    groups = properties.get("/OCGs")
    all_groups = {g.objgen for g in groups if isinstance(g, pikepdf.Dictionary) and g.is_indirect} \
        if isinstance(groups, pikepdf.Array) else set()
    names: list[str] = []
    for config in configs:
        if not isinstance(config, pikepdf.Dictionary):
            continue
        name = config.get("/Name")
        if not isinstance(name, pikepdf.String) or not str(name):
            violations.append(Violation("6.9-1", _where(config), "an optional content configuration has no /Name"))
        else:
            names.append(str(name))
        order = config.get("/Order")
        if isinstance(order, pikepdf.Array):
            listed = set(_flatten_groups(order))
            if all_groups - listed:
                violations.append(
                    Violation("6.9-3", _where(config), "/Order does not list every optional content group")
                )
        if "/AS" in config:
            violations.append(Violation("6.9-4", _where(config), "an optional content configuration has /AS"))
    if len(names) != len(set(names)):
        violations.append(Violation("6.9-2", where, "optional content configuration names are not unique"))
    return violations


def _flatten_groups(order: pikepdf.Array, depth: int = 0) -> Iterator[tuple[int, int]]:
    if depth > 32:
        return
    for item in order:
        if isinstance(item, pikepdf.Array):
            yield from _flatten_groups(item, depth + 1)
        elif isinstance(item, pikepdf.Dictionary) and item.is_indirect:
            yield item.objgen
