"""Our own walk of what a PDF actually paints: pages, the forms they draw, annotation
appearances, tiling patterns and Type 3 glyphs, with the graphics state that matters
to PDF/A's colour rules.

It answers the questions pikepdf's walker leaves open and that veraPDF answers
from the painting operators:

- which Form XObjects, fonts and images are really used (veraPDF judges only
  those; pikepdf also judges resources nothing draws);
- whether something is painted with the implicit initial DeviceGray colour
  space (no `g`/`cs` before painting), which needs a PDF/A OutputIntent or a
  DefaultGray colour space (ISO 19005-1 6.2.3.3, -2 6.2.4.3);
- whether an ICCBased CMYK colour is painted with overprinting on and overprint
  mode 1 (ISO 19005-2 6.2.4.2);
- the depth of q/Q nesting within each content stream (ISO 19005-1 6.1.12,
  -2 6.1.13: at most 28).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pikepdf

MAX_Q_DEPTH = 28
MAX_FORM_DEPTH = 32
MAX_OPERATORS = 5_000_000

FILL_PAINT = frozenset({"f", "F", "f*", "B", "B*", "b", "b*"})
STROKE_PAINT = frozenset({"S", "s", "B", "B*", "b", "b*"})
TEXT_SHOW = frozenset({"Tj", "TJ", "'", '"'})
_FILL_MODES = frozenset({0, 2, 4, 6})
_STROKE_MODES = frozenset({1, 2, 5, 6})
_DEVICE = {
    "/DeviceGray": "gray", "/DeviceRGB": "rgb", "/DeviceCMYK": "cmyk", "/G": "gray", "/RGB": "rgb", "/CMYK": "cmyk",
}
_DEFAULTS = {"gray": "/DefaultGray", "rgb": "/DefaultRGB", "cmyk": "/DefaultCMYK"}


@dataclass(frozen=True)
class Colour:
    """A colour space as far as the PDF/A colour rules care."""

    kind: str
    """`implicit-gray`, `gray`, `rgb`, `cmyk` (device), `icc`, `pattern`, `other`."""
    components: int = 1
    base: Colour | None = None
    """Underlying colour space of an uncoloured pattern space."""


IMPLICIT_GRAY = Colour("implicit-gray")


@dataclass(frozen=True)
class State:
    fill: Colour = IMPLICIT_GRAY
    stroke: Colour = IMPLICIT_GRAY
    fill_overprint: bool = False
    stroke_overprint: bool = False
    overprint_mode: int = 0
    text_mode: int = 0
    font: tuple[tuple[int, int], ...] = ()
    """The current font and its descendant fonts (object numbers)."""


@dataclass(frozen=True)
class Event:
    rule: str
    """`implicit-gray`, `overprint`, `q-depth` or `unsure`."""
    where: str
    message: str


@dataclass(frozen=True)
class SpecialSpace:
    array: pikepdf.Array
    resources: pikepdf.Dictionary | None
    where: str


@dataclass(frozen=True)
class DeviceUse:
    kind: str
    """`gray`, `rgb` or `cmyk`."""
    has_default: bool
    """The resources in force define the matching Default colour space."""
    where: str


@dataclass
class Usage:
    transparent_pages: set[int] = field(default_factory=set)
    """Indexes of the pages whose painting uses transparency (soft masks, opacity, blend modes, groups)."""
    drawn_forms: set[tuple[int, int]] = field(default_factory=set)
    used_fonts: set[tuple[int, int]] = field(default_factory=set)
    visible_fonts: set[tuple[int, int]] = field(default_factory=set)
    """Fonts used to show text in a rendering mode other than 3 (invisible)."""
    painted_images: set[tuple[int, int]] = field(default_factory=set)
    tiling_patterns: dict[tuple[int, int], pikepdf.Stream] = field(default_factory=dict)
    """Coloured tiling patterns painted (their content is a content stream of its own)."""
    special_spaces: list[SpecialSpace] = field(default_factory=list)
    """Separation and DeviceN colour spaces met while painting."""
    device_uses: list[DeviceUse] = field(default_factory=list)
    """Device colour spaces used by shadings and uncoloured patterns (pikepdf does not see those)."""
    events: list[Event] = field(default_factory=list)

    def of(self, rule: str) -> list[Event]:
        return [event for event in self.events if event.rule == rule]


def _name(value: Any) -> str | None:
    if isinstance(value, pikepdf.Name):
        try:
            return str(value)
        except UnicodeDecodeError:
            return None
    return None


def _objgen(obj: Any) -> tuple[int, int] | None:
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        key: tuple[int, int] = obj.objgen
        return key
    return None


def _describe(obj: Any) -> str:
    key = _objgen(obj)
    return f"obj {key[0]} {key[1]}" if key else "direct"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class Walker:
    """Walk everything painted in a document once (see the module docstring)."""

    def __init__(self, pdf: pikepdf.Pdf, *, has_output_intent: bool, part: int) -> None:
        self.pdf = pdf
        self.has_output_intent = has_output_intent
        self.part = part
        self.usage = Usage()
        self._operators = 0
        self._walked: set[tuple[tuple[int, int], State]] = set()
        self._type3_walked: set[tuple[int, int]] = set()
        self._transparent = False
        self._form_transparency: dict[tuple[int, int], bool] = {}

    # --- entry points --------------------------------------------------------

    def walk(self) -> Usage:
        for index, page in enumerate(self.pdf.pages):
            where = f"page {index + 1}"
            self._transparent = False
            resources = _page_resources(page.obj)
            streams = _content_streams(page.obj)
            if streams:
                self._run_streams(streams, resources, State(), 0, f"{where} content")
            for annot in _annotations(page.obj):
                self._annotation(annot, where)
            if self._transparent:
                self.usage.transparent_pages.add(index)
        return self.usage

    def _annotation(self, annot: pikepdf.Dictionary, where: str) -> None:
        appearance = annot.get("/AP")
        if not isinstance(appearance, pikepdf.Dictionary):
            return
        for key in ("/N", "/R", "/D"):
            value = appearance.get(key)
            candidates: Iterable[Any]
            if isinstance(value, pikepdf.Stream):
                candidates = [value]
            elif isinstance(value, pikepdf.Dictionary):
                candidates = [v for v in value.values() if isinstance(v, pikepdf.Stream)]
            else:
                continue
            for stream in candidates:
                self._form(stream, None, State(), 1, f"{where} annotation {_describe(annot)} {key}")

    # --- content streams -------------------------------------------------------

    def _run_streams(
        self, streams: list[pikepdf.Stream], resources: pikepdf.Dictionary | None, state: State, depth: int,
        where: str,
    ) -> None:
        instructions: list[Any] = []
        for stream in streams:
            try:
                instructions.extend(pikepdf.parse_content_stream(stream))
            except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
                self._event("unsure", where, f"content stream cannot be parsed: {exc}")
                return
        self._run(instructions, resources, state, depth, where)

    def _run(
        self, instructions: list[Any], resources: pikepdf.Dictionary | None, state: State, depth: int, where: str,
    ) -> None:
        stack: list[State] = []
        q_depth = 0
        reported_depth = False
        for instruction in instructions:
            self._operators += 1
            if self._operators > MAX_OPERATORS:
                self._event("unsure", where, "too many content operators to check")
                return
            op = str(instruction.operator)
            if op == "INLINE IMAGE":
                self._inline_image(instruction, state, resources, where)
                continue
            operands = list(instruction.operands)
            if op == "q":
                stack.append(state)
                q_depth += 1
                if q_depth > MAX_Q_DEPTH and not reported_depth:
                    reported_depth = True
                    self._event("q-depth", where, f"q/Q nesting exceeds {MAX_Q_DEPTH} within one content stream")
            elif op == "Q":
                if stack:
                    state = stack.pop()
                    q_depth -= 1
            else:
                state = self._operator(op, operands, state, resources, depth, where)

    def _operator(
        self, op: str, operands: list[Any], state: State, resources: pikepdf.Dictionary | None, depth: int,
        where: str,
    ) -> State:
        if op in ("g", "G", "rg", "RG", "k", "K"):
            colour = Colour({"g": "gray", "rg": "rgb", "k": "cmyk"}[op.lower()])
            return replace(state, fill=colour) if op.islower() else replace(state, stroke=colour)
        if op in ("cs", "CS") and operands:
            colour = self._colour_space(operands[0], resources, where)
            return replace(state, fill=colour) if op == "cs" else replace(state, stroke=colour)
        if op in ("scn", "SCN") and operands and isinstance(operands[-1], pikepdf.Name):
            current = state.fill if op == "scn" else state.stroke
            self._pattern(operands[-1], current, resources, state, depth, where)
            return state
        if op == "gs" and operands:
            return self._ext_gstate(operands[0], state, resources)
        if op == "Tr" and operands:
            return replace(state, text_mode=_int(operands[0]))
        if op == "Tf" and operands:
            return replace(state, font=self._font(operands[0], state, resources, depth, where))
        if op in FILL_PAINT:
            self._paint(state.fill, "fill", state, resources, where)
        if op in STROKE_PAINT:
            self._paint(state.stroke, "stroke", state, resources, where)
        if op in TEXT_SHOW:
            if state.text_mode != 3:
                self.usage.visible_fonts.update(state.font)
            if state.text_mode in _FILL_MODES:
                self._paint(state.fill, "fill", state, resources, where)
            if state.text_mode in _STROKE_MODES:
                self._paint(state.stroke, "stroke", state, resources, where)
        elif op == "Do" and operands:
            self._xobject(operands[0], state, resources, depth, where)
        elif op == "sh" and operands:
            self._shading(operands[0], resources, where)
        return state

    # --- painting ------------------------------------------------------------------

    def _paint(
        self, colour: Colour, which: str, state: State, resources: pikepdf.Dictionary | None, where: str
    ) -> None:
        if colour.kind == "implicit-gray" and not self.has_output_intent and not _has_default(resources, "gray"):
            self._event(
                "implicit-gray", where,
                f"painted ({which}) with the initial DeviceGray colour space, without a PDF/A OutputIntent "
                "or DefaultGray",
            )
        overprint = state.fill_overprint if which == "fill" else state.stroke_overprint
        if colour.kind == "icc" and colour.components == 4 and overprint and state.overprint_mode == 1:
            self._event(
                "overprint", where,
                f"ICCBased CMYK colour painted ({which}) with overprinting on and overprint mode 1",
            )

    def _inline_image(self, instruction: Any, state: State, resources: pikepdf.Dictionary | None, where: str) -> None:
        try:
            image = instruction.iimage
            mask = bool(image.image_mask)
        except (pikepdf.PdfError, AttributeError, ValueError):
            self._event("unsure", where, "inline image cannot be read")
            return
        if mask:
            self._paint(state.fill, "fill", state, resources, where)

    def _xobject(
        self, name: Any, state: State, resources: pikepdf.Dictionary | None, depth: int, where: str
    ) -> None:
        xobject = _resource(resources, "/XObject", name)
        if not isinstance(xobject, pikepdf.Stream):
            return
        subtype = xobject.get("/Subtype")
        if subtype == pikepdf.Name.Form:
            self._form(xobject, resources, state, depth + 1, f"{where} Do {name}")
        elif subtype == pikepdf.Name.Image:
            key = _objgen(xobject)
            if key:
                self.usage.painted_images.add(key)
            if isinstance(xobject.get("/SMask"), pikepdf.Stream) or _int(xobject.get("/SMaskInData"), 0) > 0:
                self._transparent = True
            mask = xobject.get("/ImageMask")
            if isinstance(mask, bool) and mask:
                self._paint(state.fill, "fill", state, resources, where)
            else:
                colour = self._colour_space(xobject.get("/ColorSpace"), resources, where) if "/ColorSpace" in xobject \
                    else Colour("other")
                self._paint(colour, "fill", state, resources, where)

    def _form(
        self, form: pikepdf.Stream, parent: pikepdf.Dictionary | None, state: State, depth: int, where: str
    ) -> None:
        key = _objgen(form)
        group = form.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and group.get("/S") == pikepdf.Name.Transparency:
            self._transparent = True
        if key is not None:
            self.usage.drawn_forms.add(key)
            if (key, state) in self._walked:
                self._transparent = self._transparent or self._form_transparency.get(key, False)
                return
            self._walked.add((key, state))
        if depth > MAX_FORM_DEPTH:
            self._event("unsure", where, "Form XObjects nested too deeply")
            return
        own = form.get("/Resources")
        # A form without resources uses those of the stream that draws it (PDF 1.2 and later).
        resources = own if isinstance(own, pikepdf.Dictionary) else parent
        outer, self._transparent = self._transparent, False
        self._run_streams([form], resources, state, depth, f"{_describe(form)} (Form)")
        if key is not None:
            self._form_transparency[key] = self._form_transparency.get(key, False) or self._transparent
        self._transparent = outer or self._transparent

    def _font(
        self, name: Any, state: State, resources: pikepdf.Dictionary | None, depth: int, where: str
    ) -> tuple[tuple[int, int], ...]:
        font = _resource(resources, "/Font", name)
        if not isinstance(font, pikepdf.Dictionary):
            return ()
        key = _objgen(font)
        keys = [key] if key else []
        descendants = font.get("/DescendantFonts")
        for descendant in descendants if isinstance(descendants, pikepdf.Array) else []:
            sub = _objgen(descendant)
            if sub:
                keys.append(sub)
        self.usage.used_fonts.update(keys)
        if font.get("/Subtype") == pikepdf.Name.Type3 and key not in self._type3_walked:
            if key:
                self._type3_walked.add(key)
            procs = font.get("/CharProcs")
            own = font.get("/Resources")
            glyph_resources = own if isinstance(own, pikepdf.Dictionary) else resources
            if isinstance(procs, pikepdf.Dictionary):
                for glyph in procs.values():
                    if isinstance(glyph, pikepdf.Stream):
                        self._run_streams([glyph], glyph_resources, state, depth + 1, f"{_describe(font)} glyph")
        return tuple(keys)

    def _pattern(
        self, name: Any, current: Colour, resources: pikepdf.Dictionary | None, state: State, depth: int,
        where: str,
    ) -> None:
        pattern = _resource(resources, "/Pattern", name)
        if not isinstance(pattern, (pikepdf.Dictionary, pikepdf.Stream)):
            return
        if _int(pattern.get("/PatternType")) == 2:
            shading = pattern.get("/Shading")
            if isinstance(shading, pikepdf.Dictionary):
                self._device_use(self._colour_space(shading.get("/ColorSpace"), resources, where), resources, where)
            return
        if not isinstance(pattern, pikepdf.Stream):
            return
        if _int(pattern.get("/PaintType"), 1) == 2:
            if current.base is not None:
                self._device_use(current.base, resources, where)
                self._paint(current.base, "fill", state, resources, where)
            return
        own = pattern.get("/Resources")
        key = _objgen(pattern)
        if key is not None:
            self.usage.tiling_patterns[key] = pattern
        if key is not None and (key, State()) in self._walked:
            return
        if key is not None:
            self._walked.add((key, State()))
        self._run_streams(
            [pattern], own if isinstance(own, pikepdf.Dictionary) else None, State(), depth + 1,
            f"{_describe(pattern)} (Pattern)",
        )

    def _shading(self, name: Any, resources: pikepdf.Dictionary | None, where: str) -> None:
        shading = _resource(resources, "/Shading", name)
        if isinstance(shading, pikepdf.Dictionary):
            self._device_use(self._colour_space(shading.get("/ColorSpace"), resources, where), resources, where)

    def _ext_gstate(self, name: Any, state: State, resources: pikepdf.Dictionary | None) -> State:
        gs = _resource(resources, "/ExtGState", name)
        if not isinstance(gs, pikepdf.Dictionary):
            return state
        if _is_transparent(gs):
            self._transparent = True
        changes: dict[str, Any] = {}
        if "/OP" in gs:
            stroke = bool(gs.get("/OP"))
            changes["stroke_overprint"] = stroke
            if "/op" not in gs:
                changes["fill_overprint"] = stroke
        if "/op" in gs:
            changes["fill_overprint"] = bool(gs.get("/op"))
        if "/OPM" in gs:
            changes["overprint_mode"] = _int(gs.get("/OPM"))
        return replace(state, **changes) if changes else state

    # --- colour spaces ---------------------------------------------------------------

    def _colour_space(self, value: Any, resources: pikepdf.Dictionary | None, where: str, nesting: int = 0) -> Colour:
        if nesting > 4:
            return Colour("other")
        name = _name(value)
        if name is not None:
            if name in _DEVICE:
                return Colour(_DEVICE[name])
            if name == "/Pattern":
                return Colour("pattern")
            named = _resource(resources, "/ColorSpace", value)
            if named is not None:
                return self._colour_space(named, resources, where, nesting + 1)
            return Colour("other")
        if isinstance(value, pikepdf.Array) and len(value) > 0:
            family = _name(value[0])
            if family == "/ICCBased" and len(value) > 1 and isinstance(value[1], pikepdf.Stream):
                return Colour("icc", _int(value[1].get("/N"), 0))
            if family == "/Pattern":
                base = self._colour_space(value[1], resources, where, nesting + 1) if len(value) > 1 else None
                return Colour("pattern", base=base)
            if family in _DEVICE and len(value) == 1:
                return Colour(_DEVICE[family])
            if family in ("/Separation", "/DeviceN") and len(self.usage.special_spaces) < 10_000:
                self.usage.special_spaces.append(SpecialSpace(value, resources, where))
            if family == "/Indexed" and len(value) > 1:
                base = self._colour_space(value[1], resources, where, nesting + 1)
                return Colour("indexed", base=base)
        return Colour("other")

    def _device_use(self, colour: Colour, resources: pikepdf.Dictionary | None, where: str) -> None:
        if colour.kind == "indexed" and colour.base is not None:
            colour = colour.base
        if colour.kind in _DEFAULTS:
            self.usage.device_uses.append(DeviceUse(colour.kind, _has_default(resources, colour.kind), where))

    def _event(self, rule: str, where: str, message: str) -> None:
        if len(self.usage.events) < 1000:
            self.usage.events.append(Event(rule, where, message))


def _is_transparent(gs: pikepdf.Dictionary) -> bool:
    soft_mask = gs.get("/SMask")
    if isinstance(soft_mask, pikepdf.Dictionary):
        return True
    for key in ("/CA", "/ca"):
        value = gs.get(key)
        if value is not None:
            try:
                if float(value) < 1.0:
                    return True
            except (TypeError, ValueError):
                return True
    blend = gs.get("/BM")
    names = list(blend) if isinstance(blend, pikepdf.Array) else [blend]
    return any(name is not None and name not in (pikepdf.Name.Normal, pikepdf.Name.Compatible) for name in names)


def _resource(resources: pikepdf.Dictionary | None, category: str, name: Any) -> Any:
    if not isinstance(resources, pikepdf.Dictionary) or not isinstance(name, pikepdf.Name):
        return None
    table = resources.get(category)
    if not isinstance(table, pikepdf.Dictionary):
        return None
    return table.get(name)


def _has_default(resources: pikepdf.Dictionary | None, kind: str) -> bool:
    if not isinstance(resources, pikepdf.Dictionary):
        return False
    table = resources.get("/ColorSpace")
    return isinstance(table, pikepdf.Dictionary) and _DEFAULTS[kind] in table


def _page_resources(page: pikepdf.Dictionary) -> pikepdf.Dictionary | None:
    node: Any = page
    for _ in range(64):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        resources = node.get("/Resources")
        if isinstance(resources, pikepdf.Dictionary):
            return resources
        node = node.get("/Parent")
    return None


def _content_streams(page: pikepdf.Dictionary) -> list[pikepdf.Stream]:
    contents = page.get("/Contents")
    items: list[Any] = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    return [item for item in items if isinstance(item, pikepdf.Stream)]


def _annotations(page: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    annots = page.get("/Annots")
    if not isinstance(annots, pikepdf.Array):
        return []
    return [a for a in annots if isinstance(a, pikepdf.Dictionary)]


def walk(pdf: pikepdf.Pdf, *, has_output_intent: bool, part: int) -> Usage:
    return Walker(pdf, has_output_intent=has_output_intent, part=part).walk()
