"""PREMIS 3.0 XML writer (namespace `http://www.loc.gov/premis/v3`).

The AIP builder describes what it preserves with plain dataclasses and this
module turns them into a PREMIS document:

- objects: the intellectual entity (the dossier), representations (`rep1`
  originals, `rep2` preservation copies) and files, with SHA-256 fixity,
  size, format (PRONOM registry key), original name, storage location and
  relationships (structural: includes / is included in; derivation: has
  source / is source of, tied to the migration event);
- events: every `archive_core.premis.PremisEvent` with its LoC event-type URI,
  date and time in +07:00, detail, outcome with its detail, the executing agent
  and the objects it concerns;
- agents: software with its version, organisations, people.

Element order follows the PREMIS 3.0 schema (objects, then events, then
agents; inside each entity the schema's sequence). Controlled values carry the
Library of Congress vocabulary URIs (id.loc.gov/vocabulary/preservation/…)
where the vocabulary has the term. `validate` checks a document against the
PREMIS 3.0 XSD shipped in `schemas/premis-v3-0.xsd`, offline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from archive_core.premis import Agent, Outcome, PremisEvent
from archive_core.timeutil import iso_vn

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
VERSION = "3.0"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "premis-v3-0.xsd"

LOC = "http://id.loc.gov/vocabulary/preservation"

EVENT_TYPE_CODES: dict[str, str] = {
    "accession": "acc", "appraisal": "app", "capture": "cap", "compression": "com", "compiling": "cop",
    "creation": "cre", "deaccession": "dea", "decompression": "dec", "deletion": "del", "decryption": "der",
    "digital signature validation": "dig", "dissemination": "dis", "digital signature generation": "dsg",
    "displaying": "dsp", "encryption": "enc", "execution": "exe", "exporting": "exp", "extraction": "ext",
    "forensic feature analysis": "ffa", "filename change": "fil", "fixity check": "fix",
    "format identification": "for", "imaging": "ima", "ingestion end": "ine", "ingestion": "ing",
    "ingestion start": "ins", "interpreting": "int", "information package creation": "ipc",
    "information package merging": "ipm", "information package splitting": "ips",
    "metadata extraction": "mee", "metadata modification": "mem", "message digest calculation": "mes",
    "migration": "mig", "modification": "mod", "normalization": "nor", "packing": "pac",
    "policy assignment": "poa", "printing": "prt", "quarantine": "qua", "recovery": "rec", "redaction": "red",
    "refreshment": "ref", "rendering": "ren", "replication": "rep", "transfer": "tra", "unpacking": "unp",
    "unquarantine": "unq", "validation": "val", "virus check": "vir",
}
"""LoC eventType vocabulary: label → code (`…/eventType/<code>`). "destruction" is not in it."""

HASH_LABELS: dict[str, str] = {
    "md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512",
}
"""hashlib name → LoC cryptographicHashFunctions label (the code is the hashlib name)."""

OUTCOME_CODES = {Outcome.SUCCESS.value: "suc", Outcome.WARNING.value: "war", Outcome.FAILURE.value: "fai"}
AGENT_TYPE_CODES = {"software": "sof", "organization": "org", "person": "per", "hardware": "har"}
RELATIONSHIP_TYPE_CODES = {
    "dependency": "dep", "derivation": "der", "logical": "log", "reference": "ref", "replacement": "rep",
    "structural": "str",
}
RELATIONSHIP_SUBTYPE_CODES = {
    "includes": "inc", "is included in": "isi", "represents": "rep", "is represented by": "isr",
    "has source": "hss", "is source of": "iso", "has part": "hsp", "is part of": "isp", "requires": "req",
    "is required by": "irq", "documents": "doc", "is documented in": "idc",
}
AGENT_ROLE_CODES = {"executing program": "exe", "implementer": "imp", "authorizer": "aut", "validator": "val"}
OBJECT_ROLE_CODES = {"source": "sou", "outcome": "out"}

ObjectCategory = Literal["file", "representation", "intellectualEntity"]


@dataclass(frozen=True)
class Identifier:
    """`…IdentifierType` + `…IdentifierValue` of an object, event or agent."""

    type: str
    value: str


@dataclass(frozen=True)
class Fixity:
    algorithm: str
    """hashlib name (`sha256`); written as its LoC label with the vocabulary URI."""
    digest: str
    originator: str | None = None


@dataclass(frozen=True)
class FormatInfo:
    name: str | None
    version: str | None = None
    registry_key: str | None = None
    """PRONOM unique identifier (`fmt/276`)."""
    registry: str = "PRONOM"


@dataclass(frozen=True)
class Relationship:
    type: str
    """`structural`, `derivation` … (LoC relationshipType)."""
    sub_type: str
    """`includes`, `has source`, `is source of` … (LoC relationshipSubType)."""
    related: tuple[Identifier, ...]
    related_events: tuple[Identifier, ...] = ()


@dataclass(frozen=True)
class PremisObject:
    """A file, representation or intellectual entity.

    Files need `size`, `fixity` and `format`; the other categories ignore them
    (the schema allows object characteristics on files and bitstreams only).
    """

    category: ObjectCategory
    identifiers: tuple[Identifier, ...]
    size: int | None = None
    fixity: tuple[Fixity, ...] = ()
    format: FormatInfo | None = None
    original_name: str | None = None
    storage: Identifier | None = None
    """contentLocation (type, value), e.g. ("bag path", "data/representations/rep1/data/x.pdf")."""
    relationships: tuple[Relationship, ...] = ()
    linking_events: tuple[Identifier, ...] = ()


@dataclass(frozen=True)
class LinkedObject:
    identifier: Identifier
    role: str | None = None
    """`source`, `outcome` (LoC eventRelatedObjectRole) or free text."""


@dataclass(frozen=True)
class LinkedAgent:
    identifier: Identifier
    role: str = "executing program"


@dataclass(frozen=True)
class EventEntry:
    """A `PremisEvent` with the objects and agents it is linked to in this document."""

    event: PremisEvent
    objects: tuple[LinkedObject, ...] = ()
    extra_agents: tuple[LinkedAgent, ...] = ()
    """Agents besides the event's own software agent (e.g. the submitting agency)."""


@dataclass(frozen=True)
class AgentEntry:
    identifier: Identifier
    name: str
    type: str = "software"
    """`software`, `organization`, `person`, `hardware` (LoC agentType)."""
    version: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PremisDocument:
    objects: tuple[PremisObject, ...]
    events: tuple[EventEntry, ...] = ()
    agents: tuple[AgentEntry, ...] = ()
    schema_location: str | None = None
    """Where the PREMIS XSD lies relative to the document (`../../schemas/premis.xsd`)."""

    def __post_init__(self) -> None:
        if not self.objects:
            raise ValueError("a PREMIS document holds at least one object")


# ---------------------------------------------------------------- identifiers for events and agents


def event_identifier(event: PremisEvent) -> Identifier:
    return Identifier("local", event.identifier)


def agent_identifier(agent: Agent) -> Identifier:
    """Software agents are told apart by name and version (`earchive.gate/0.1.0`)."""
    return Identifier("local", f"{agent.name}/{agent.version}" if agent.version else agent.name)


def agent_entry(agent: Agent) -> AgentEntry:
    return AgentEntry(agent_identifier(agent), agent.name, agent.type, agent.version or None)


def agents_of(events: Iterable[EventEntry]) -> list[AgentEntry]:
    """One entry per distinct software agent of `events`, in order of first use."""
    seen: dict[Identifier, AgentEntry] = {}
    for entry in events:
        found = agent_entry(entry.event.agent)
        seen.setdefault(found.identifier, found)
    return list(seen.values())


def event_type_uri(event_type: str) -> str | None:
    code = EVENT_TYPE_CODES.get(str(event_type))
    return f"{LOC}/eventType/{code}" if code else None


# ---------------------------------------------------------------- writing


def _p(tag: str) -> str:
    return f"{{{PREMIS_NS}}}{tag}"


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, _p(tag))
    element.text = value
    return element


def _authority(
    parent: etree._Element, tag: str, value: str, vocabulary: str | None, codes: dict[str, str]
) -> etree._Element:
    """A stringPlusAuthority element; carries the LoC URIs when the vocabulary knows `value`."""
    element = _text(parent, tag, value)
    code = codes.get(value)
    if vocabulary is not None and code is not None:
        element.set("authority", vocabulary)
        element.set("authorityURI", f"{LOC}/{vocabulary}")
        element.set("valueURI", f"{LOC}/{vocabulary}/{code}")
    return element


def _identifier(parent: etree._Element, prefix: str, identifier: Identifier) -> etree._Element:
    element = etree.SubElement(parent, _p(prefix))
    _text(element, f"{prefix}Type", identifier.type)
    _text(element, f"{prefix}Value", identifier.value)
    return element


def _fixity(parent: etree._Element, fixity: Fixity) -> None:
    element = etree.SubElement(parent, _p("fixity"))
    label = HASH_LABELS.get(fixity.algorithm, fixity.algorithm)
    algorithm = _text(element, "messageDigestAlgorithm", label)
    if fixity.algorithm in HASH_LABELS:
        algorithm.set("authority", "cryptographicHashFunctions")
        algorithm.set("authorityURI", f"{LOC}/cryptographicHashFunctions")
        algorithm.set("valueURI", f"{LOC}/cryptographicHashFunctions/{fixity.algorithm}")
    _text(element, "messageDigest", fixity.digest.lower())
    if fixity.originator:
        _text(element, "messageDigestOriginator", fixity.originator)


def _format(parent: etree._Element, info: FormatInfo | None) -> None:
    element = etree.SubElement(parent, _p("format"))
    name = (info.name if info else None) or "unknown"
    if info is None or info.name or not info.registry_key:
        designation = etree.SubElement(element, _p("formatDesignation"))
        _text(designation, "formatName", name)
        if info is not None and info.version:
            _text(designation, "formatVersion", info.version)
    if info is not None and info.registry_key:
        registry = etree.SubElement(element, _p("formatRegistry"))
        _text(registry, "formatRegistryName", info.registry)
        _text(registry, "formatRegistryKey", info.registry_key)


def _relationship(parent: etree._Element, relationship: Relationship) -> None:
    element = etree.SubElement(parent, _p("relationship"))
    _authority(element, "relationshipType", relationship.type, "relationshipType", RELATIONSHIP_TYPE_CODES)
    _authority(
        element, "relationshipSubType", relationship.sub_type, "relationshipSubType", RELATIONSHIP_SUBTYPE_CODES
    )
    for related in relationship.related:
        _identifier(element, "relatedObjectIdentifier", related)
    for related_event in relationship.related_events:
        _identifier(element, "relatedEventIdentifier", related_event)


def _object(root: etree._Element, obj: PremisObject) -> None:
    element = etree.SubElement(root, _p("object"))
    element.set(f"{{{XSI_NS}}}type", obj.category)
    for identifier in obj.identifiers:
        _identifier(element, "objectIdentifier", identifier)
    if obj.category == "file":
        characteristics = etree.SubElement(element, _p("objectCharacteristics"))
        _text(characteristics, "compositionLevel", "0")
        for fixity in obj.fixity:
            _fixity(characteristics, fixity)
        if obj.size is not None:
            _text(characteristics, "size", str(obj.size))
        _format(characteristics, obj.format)
    if obj.original_name:
        _text(element, "originalName", obj.original_name)
    if obj.storage is not None and obj.category != "intellectualEntity":
        storage = etree.SubElement(element, _p("storage"))
        location = etree.SubElement(storage, _p("contentLocation"))
        _text(location, "contentLocationType", obj.storage.type)
        _text(location, "contentLocationValue", obj.storage.value)
    for relationship in obj.relationships:
        _relationship(element, relationship)
    for linked in obj.linking_events:
        _identifier(element, "linkingEventIdentifier", linked)


def _event(root: etree._Element, entry: EventEntry) -> None:
    event = entry.event
    element = etree.SubElement(root, _p("event"))
    _identifier(element, "eventIdentifier", event_identifier(event))
    _authority(element, "eventType", str(event.event_type), "eventType", EVENT_TYPE_CODES)
    _text(element, "eventDateTime", iso_vn(event.date_time, millis=True))
    if event.detail:
        detail = etree.SubElement(element, _p("eventDetailInformation"))
        _text(detail, "eventDetail", event.detail)
    outcome = etree.SubElement(element, _p("eventOutcomeInformation"))
    _authority(outcome, "eventOutcome", event.outcome.value, "eventOutcome", OUTCOME_CODES)
    if event.outcome_detail:
        outcome_detail = etree.SubElement(outcome, _p("eventOutcomeDetail"))
        _text(outcome_detail, "eventOutcomeDetailNote", event.outcome_detail)
    agents = (LinkedAgent(agent_identifier(event.agent)), *entry.extra_agents)
    for agent in agents:
        linked = _identifier(element, "linkingAgentIdentifier", agent.identifier)
        _authority(linked, "linkingAgentRole", agent.role, "eventRelatedAgentRole", AGENT_ROLE_CODES)
    for obj in entry.objects:
        linked = _identifier(element, "linkingObjectIdentifier", obj.identifier)
        if obj.role:
            _authority(linked, "linkingObjectRole", obj.role, "eventRelatedObjectRole", OBJECT_ROLE_CODES)


def _agent(root: etree._Element, agent: AgentEntry) -> None:
    element = etree.SubElement(root, _p("agent"))
    _identifier(element, "agentIdentifier", agent.identifier)
    _text(element, "agentName", agent.name)
    _authority(element, "agentType", agent.type, "agentType", AGENT_TYPE_CODES)
    if agent.version:
        _text(element, "agentVersion", agent.version)
    for note in agent.notes:
        _text(element, "agentNote", note)


def to_element(document: PremisDocument) -> etree._Element:
    nsmap: dict[str | None, str] = {None: PREMIS_NS, "xsi": XSI_NS}
    root = etree.Element(_p("premis"), nsmap=nsmap)  # type: ignore[arg-type]  # None = default namespace
    root.set("version", VERSION)
    if document.schema_location:
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{PREMIS_NS} {document.schema_location}")
    for obj in document.objects:
        _object(root, obj)
    for entry in document.events:
        _event(root, entry)
    for agent in document.agents:
        _agent(root, agent)
    return root


def write_premis(document: PremisDocument) -> bytes:
    """The PREMIS document as UTF-8 XML (deterministic for the same input)."""
    body: bytes = etree.tostring(to_element(document), encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# ---------------------------------------------------------------- validation

_SCHEMA_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def premis_schema() -> etree.XMLSchema:
    """The PREMIS 3.0 XSD shipped with earchive (self-contained: it imports nothing)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


def validate(document: bytes | etree._Element) -> list[str]:
    """Messages of validation against PREMIS 3.0 (empty when valid)."""
    if isinstance(document, bytes):
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        root = etree.fromstring(document, parser)
    else:
        root = document
    with _SCHEMA_LOCK:  # an lxml schema object is not safe to share between threads
        schema = premis_schema()
        if schema.validate(root):
            return []
        log: Any = schema.error_log  # iterable at run time; lxml-stubs do not say so
        return [f"line {e.line}: {e.message}" for e in log]


def collect(objects: Sequence[PremisObject], events: Sequence[EventEntry], *,
            extra_agents: Sequence[AgentEntry] = (), schema_location: str | None = None) -> PremisDocument:
    """A document whose agents are those of `events` followed by `extra_agents` (deduplicated)."""
    agents = {a.identifier: a for a in agents_of(events)}
    for agent in extra_agents:
        agents.setdefault(agent.identifier, agent)
    return PremisDocument(tuple(objects), tuple(events), tuple(agents.values()), schema_location)


__all__ = [
    "EVENT_TYPE_CODES",
    "PREMIS_NS",
    "SCHEMA_PATH",
    "AgentEntry",
    "EventEntry",
    "Fixity",
    "FormatInfo",
    "Identifier",
    "LinkedAgent",
    "LinkedObject",
    "PremisDocument",
    "PremisObject",
    "Relationship",
    "agent_entry",
    "agent_identifier",
    "agents_of",
    "collect",
    "event_identifier",
    "event_type_uri",
    "premis_schema",
    "validate",
    "write_premis",
]
