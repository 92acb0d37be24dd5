"""PREMIS of the AIP (R-CK-8, R-ST-5).

`metadata/preservation/PREMIS.xml` holds the intellectual entity (the
dossier), the representations, every event (each of the gate, each
migration, the copy's fixity check, "information package creation" — the
type TT 05 fixes for SIP → AIP — and "ingestion") and their agents.
`representations/<rep>/metadata/preservation/PREMIS_<rep>.xml` holds that
representation and its files: SHA-256 fixity, size, PRONOM format, original
name, location in the bag, structural relationships, and for preservation
copies the derivation from their original tied to the migration event.

Object identifiers are of type `local`: the AIP id for the dossier, and the
path in the TT 05 tree for representations and files (unique, and the same
string METS uses in its hrefs, relative to the AIP root).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive_core.premis import Agent, EventType, Outcome, PremisEvent
from archive_core.profiles import premis as px
from archive_core.timeutil import Clock
from ingest.gate import GateResult
from preservation.aip.bag import PAYLOAD, Written
from preservation.aip.plan import COPIES, ORIGINALS, REPRESENTATIONS, Plan, PlannedFile

AGENT = Agent("earchive.aip")
LOCAL = "local"
SUBMISSION_PATH = "submission path"
AGENCY_ID_TYPE = "QCVN 102:2016"
"""Identifier type of an agency (mã định danh cơ quan)."""


@dataclass(frozen=True)
class ProvenanceInput:
    result: GateResult
    plan: Plan
    aip_id: str
    arc_file_code: str | None
    agency_name: str | None
    agency_code: str | None
    written: Mapping[str, Written]
    """Path in the TT 05 tree → what was written there (content files)."""


@dataclass(frozen=True)
class Provenance:
    root: bytes
    representations: dict[str, bytes]
    """Representation name → its PREMIS_<rep>.xml."""
    events: tuple[PremisEvent, ...]
    """Every event the AIP records, in document order."""


def _local(value: str) -> px.Identifier:
    return px.Identifier(LOCAL, value)


def _rep_id(rep: str) -> px.Identifier:
    return _local(f"{REPRESENTATIONS}/{rep}")


def builder_event(aip_id: str, name: str, event_type: EventType, when: datetime, detail: str,
                  outcome_detail: str = "") -> PremisEvent:
    """An event of the builder; its identifier derives from the AIP id, so a rebuild gives the same one."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:earchive:aip:{aip_id}:{name}")
    return PremisEvent(
        event_type=event_type, date_time=when, agent=AGENT, outcome=Outcome.SUCCESS, detail=detail,
        outcome_detail=outcome_detail, identifier=f"uuid-{str(raw).upper()}",
    )


def own_events(data: ProvenanceInput, clock: Clock) -> list[PremisEvent]:
    """Fixity check of the copies, information package creation, ingestion (in that order)."""
    plan, aip_id = data.plan, data.aip_id
    content = plan.content
    octets = sum(data.written[f.target].size for f in content)
    package_name = Path(data.result.package_path).name
    label = plan.variant.label
    code = data.arc_file_code or plan.dossier.code or "?"
    fixity = builder_event(
        aip_id, "fixity", EventType.FIXITY_CHECK, clock(),
        f"Sao chép {len(content)} tệp nội dung vào gói {aip_id} và đối chiếu SHA-256 của bản chép với "
        "giá trị đo khi tiếp nhận: khớp toàn bộ",
        f"files={len(content)} bytes={octets} algorithm=SHA-256 source=gate staging",
    )
    creation = builder_event(
        aip_id, "information-package-creation", EventType.INFORMATION_PACKAGE_CREATION, clock(),
        f"Lập gói {label} {aip_id} (hồ sơ {code}) từ gói nộp lưu {package_name}",
        f"submission={data.result.submission_id} kind={data.result.package.kind.value if data.result.package else '?'}"
        f" documents={len(plan.documents)} originals={len(plan.originals)} copies={len(plan.copies)}"
        f" fingerprint={data.result.receipt.fingerprint or '-'}",
    )
    ingestion = builder_event(
        aip_id, "ingestion", EventType.INGESTION, clock(),
        f"Tiếp nhận hồ sơ {code} vào lưu trữ dưới mã gói {aip_id}",
        f"verdict={data.result.verdict.value} findings={len(data.result.findings)}",
    )
    return [fixity, creation, ingestion]


# ---------------------------------------------------------------- objects


def _file_object(item: PlannedFile, written: Written, relationships: Sequence[px.Relationship]) -> px.PremisObject:
    fmt = item.format
    original = item.derived.path.name if item.derived is not None else item.submitted
    return px.PremisObject(
        category="file",
        identifiers=(_local(item.target),),
        size=written.size,
        fixity=(px.Fixity("sha256", written.sha256),),
        format=px.FormatInfo(fmt.name if fmt else None, fmt.version if fmt else None, fmt.puid if fmt else None),
        original_name=original,
        storage=px.Identifier("bag path", f"{PAYLOAD}/{item.target}"),
        relationships=tuple(relationships),
    )


def _migration_of(item: PlannedFile) -> PremisEvent:
    assert item.derived is not None
    return item.derived.event


def _file_objects(data: ProvenanceInput, rep: str) -> list[px.PremisObject]:
    plan = data.plan
    included = px.Relationship("structural", "is included in", (_rep_id(rep),))
    copies_of: dict[str, list[PlannedFile]] = {}
    for copy in plan.copies:
        copies_of.setdefault(copy.submitted, []).append(copy)
    objects = []
    if rep == ORIGINALS:
        for item in plan.originals:
            relationships = [included]
            for copy in copies_of.get(item.submitted, []):
                relationships.append(px.Relationship(
                    "derivation", "is source of", (_local(copy.target),),
                    (px.event_identifier(_migration_of(copy)),),
                ))
            objects.append(_file_object(item, data.written[item.target], relationships))
    else:
        for copy in plan.copies:
            source = _local(plan.by_submitted[copy.submitted])
            derivation = px.Relationship(
                "derivation", "has source", (source,), (px.event_identifier(_migration_of(copy)),)
            )
            objects.append(_file_object(copy, data.written[copy.target], [included, derivation]))
    return objects


def _representation(data: ProvenanceInput, rep: str) -> px.PremisObject:
    files = data.plan.originals if rep == ORIGINALS else data.plan.copies
    relationships = [
        px.Relationship("structural", "represents", (_local(data.aip_id),)),
        px.Relationship("structural", "includes", tuple(_local(f.target) for f in files)),
    ] if files else [px.Relationship("structural", "represents", (_local(data.aip_id),))]
    if rep == COPIES:
        relationships.append(px.Relationship("derivation", "has source", (_rep_id(ORIGINALS),)))
    return px.PremisObject("representation", (_rep_id(rep),), relationships=tuple(relationships))


def representations(plan: Plan) -> list[str]:
    return [ORIGINALS, COPIES] if plan.copies else [ORIGINALS]


def _entity(data: ProvenanceInput) -> px.PremisObject:
    identifiers = [_local(data.aip_id)]
    if data.arc_file_code:
        identifiers.append(px.Identifier("arcFileCode", data.arc_file_code))
    file_code = data.plan.dossier.file_code or data.plan.dossier.code
    if file_code and file_code != data.arc_file_code:
        identifiers.append(px.Identifier("fileCode", file_code))
    reps = tuple(_rep_id(rep) for rep in representations(data.plan))
    relationships = [px.Relationship("structural", "is represented by", reps)]
    if data.plan.documentation:
        relationships.append(px.Relationship(
            "structural", "includes", tuple(_local(f.target) for f in data.plan.documentation)
        ))
    return px.PremisObject(
        "intellectualEntity", tuple(identifiers), original_name=Path(data.result.package_path).name,
        relationships=tuple(relationships),
    )


def _documentation_objects(data: ProvenanceInput) -> list[px.PremisObject]:
    part_of = px.Relationship("structural", "is included in", (_local(data.aip_id),))
    return [_file_object(f, data.written[f.target], [part_of]) for f in data.plan.documentation]


# ---------------------------------------------------------------- events


def _linked(data: ProvenanceInput, event: PremisEvent) -> tuple[px.LinkedObject, ...]:
    if not event.objects:
        return (px.LinkedObject(_local(data.aip_id)),)
    linked = []
    for path in event.objects:
        target = data.plan.by_submitted.get(path)
        identifier = _local(target) if target else px.Identifier(SUBMISSION_PATH, path)
        linked.append(px.LinkedObject(identifier))
    return tuple(linked)


def _agency(data: ProvenanceInput) -> px.AgentEntry | None:
    if not data.agency_name and not data.agency_code:
        return None
    identifier = px.Identifier(AGENCY_ID_TYPE, data.agency_code) if data.agency_code else _local(
        data.agency_name or "")
    return px.AgentEntry(identifier, data.agency_name or data.agency_code or "", "organization")


def _event_entries(data: ProvenanceInput, own: Sequence[PremisEvent]) -> list[px.EventEntry]:
    agency = _agency(data)
    entries = []
    for event in data.result.events:
        extra: tuple[px.LinkedAgent, ...] = ()
        if agency is not None and event.event_type is EventType.RECEIPT:
            extra = (px.LinkedAgent(agency.identifier, "submitter"),)
        entries.append(px.EventEntry(event, _linked(data, event), extra))
    for copy in data.plan.copies:
        source = _local(data.plan.by_submitted[copy.submitted])
        entries.append(px.EventEntry(_migration_of(copy), (
            px.LinkedObject(source, "source"), px.LinkedObject(_local(copy.target), "outcome"),
        )))
    fixity, creation, ingestion = own
    reps = tuple(px.LinkedObject(_rep_id(rep), "outcome") for rep in representations(data.plan))
    package = px.Identifier(SUBMISSION_PATH, Path(data.result.package_path).name)
    entries.append(px.EventEntry(fixity, reps))
    entries.append(px.EventEntry(creation, (px.LinkedObject(package, "source"),
                                            px.LinkedObject(_local(data.aip_id), "outcome"))))
    entries.append(px.EventEntry(ingestion, (px.LinkedObject(_local(data.aip_id), "outcome"),)))
    return entries


def write_provenance(data: ProvenanceInput, own: Sequence[PremisEvent]) -> Provenance:
    reps = representations(data.plan)
    entries = _event_entries(data, own)
    agency = _agency(data)
    root = px.collect(
        [_entity(data), *(_representation(data, rep) for rep in reps), *_documentation_objects(data)],
        entries,
        extra_agents=[agency] if agency is not None else [],
        schema_location="../../schemas/premis.xsd",
    )
    per_rep = {
        rep: px.write_premis(px.PremisDocument(
            (_representation(data, rep), *_file_objects(data, rep)),
            schema_location="../../../../schemas/premis.xsd",
        ))
        for rep in reps
    }
    return Provenance(px.write_premis(root), per_rep, tuple(e.event for e in entries))


__all__ = ["AGENT", "Provenance", "ProvenanceInput", "own_events", "write_provenance"]
