"""build_aip: an accepted submission becomes a self-contained BagIt bag holding the TT 05 AIP tree.

The bag is assembled in `<out_dir>/.<aip_id>.partial` and renamed to
`<out_dir>/<aip_id>` only when complete, so a bag under its final name is
always whole (R-ST-6); a failure removes the partial folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from archive_core.model import FileRole
from archive_core.premis import software_version
from archive_core.settings import Settings
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from ingest.checks.formats import FormatIdentifier
from ingest.gate import GateResult
from ingest.package import ParsedPackage
from ingest.readers.bagit import PROFILE_IDENTIFIER
from ingest.receipt import Verdict
from preservation.aip import metadata as md
from preservation.aip.bag import PAYLOAD, CopyJob, Written, copy_all, write_new, write_tag_files
from preservation.aip.model import AIP_ID_PATTERN, AipBuild, AipError, AipFile, DerivedFile, new_aip_id
from preservation.aip.plan import ORIGINALS, Plan, PlannedFile, make_plan
from preservation.aip.provenance import ProvenanceInput, own_events, representations, write_provenance
from preservation.aip.schemas import aip_schemas


@dataclass
class _Assembly:
    """What has been written so far, by path in the TT 05 tree."""

    root: Path
    written: dict[str, Written]
    roles: dict[str, FileRole]

    def add(self, target: str, data: bytes, role: FileRole = FileRole.METADATA) -> None:
        if target in self.written:
            raise AipError(f"{target} would be written twice")
        self.written[target] = write_new(self.root / target, data)
        self.roles[target] = role

    def lookup(self, target: str) -> Written:
        return self.written[target]

    def files(self) -> list[AipFile]:
        return [
            AipFile(f"{PAYLOAD}/{path}", found.size, found.sha256, self.roles[path])
            for path, found in sorted(self.written.items())
        ]


def build_aip(
    result: GateResult,
    out_dir: Path,
    settings: Settings,
    *,
    aip_id: str | None = None,
    preservation_copies: Sequence[DerivedFile] = (),
    clock: Clock = system_clock,
) -> AipBuild:
    """Build the AIP of an accepted submission as the bag `<out_dir>/<aip_id>`.

    The submission's files are taken from the gate's staging
    (`result.observed[path].staged_path`: run the gate with
    `GateOptions(stage_files=True, keep_staging=True)`) and copied, never
    moved or changed; each copy must hash to what the gate observed.
    """
    package = _accepted_package(result)
    aip_id = aip_id or new_aip_id()
    if AIP_ID_PATTERN.fullmatch(aip_id) is None:
        raise AipError(f"AIP id {aip_id!r} is not a safe folder name")
    final = out_dir / aip_id
    if final.exists():
        raise AipError(f"{final} already exists")
    plan = make_plan(package, result.observed, preservation_copies)
    created = to_vn(clock())  # a naive time is refused: every time in the AIP carries +07:00
    work = out_dir / f".{aip_id}.partial"
    shutil.rmtree(work, ignore_errors=True)
    (work / PAYLOAD).mkdir(parents=True)
    try:
        files = _assemble(result, package, plan, work, aip_id, created, settings, clock)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return AipBuild(
        aip_id=aip_id,
        bag_dir=final,
        objid=aip_id,
        files=tuple(sorted(files, key=lambda f: f.path)),
        created=created,
        package_type=plan.variant.label,
        external_identifier=_external_identifier(plan),
    )


def _accepted_package(result: GateResult) -> ParsedPackage:
    if result.verdict is Verdict.REJECTED:
        raise AipError(f"submission {result.submission_id} was rejected: no AIP is made")
    if result.package is None:
        raise AipError(f"submission {result.submission_id} has no parsed package")
    return result.package


def _arc_file_code(plan: Plan) -> str | None:
    dossier = plan.dossier
    if dossier.arc_file_code:
        return dossier.arc_file_code
    file_code = dossier.file_code or dossier.code
    if file_code and dossier.identifier:
        return f"{dossier.identifier}.{file_code}"
    return None


def _external_identifier(plan: Plan) -> str:
    return _arc_file_code(plan) or plan.dossier.code or ""


def _agency(package: ParsedPackage, plan: Plan) -> tuple[str | None, str | None]:
    fonds = plan.dossier.fonds
    name = package.agency_name or (fonds.fond_name if fonds else None)
    code = package.agency_code or plan.dossier.organ_id or plan.dossier.identifier
    return name, code


def _copy_content(plan: Plan, root: Path, settings: Settings) -> list[tuple[PlannedFile, Written]]:
    items = plan.content
    jobs = [CopyJob(i.source, root / i.target, i.size, i.sha256, i.submitted) for i in items]
    copied = copy_all(jobs, workers=settings.workers, chunk_bytes=settings.chunk_bytes)
    for copy in plan.copies:
        _identify(copy, root / copy.target)
    return list(zip(items, copied, strict=True))


@lru_cache(maxsize=1)
def _identifier() -> FormatIdentifier:
    return FormatIdentifier()


def _identify(item: PlannedFile, path: Path) -> None:
    """Format of a preservation copy the caller did not identify (PRONOM id for PREMIS and METS)."""
    if item.format is None:
        item.format = _identifier().identify_path(path)
        if item.format.mime and item.format.mime != "application/octet-stream":
            item.mimetype = item.format.mime


def _assemble(
    result: GateResult,
    package: ParsedPackage,
    plan: Plan,
    work: Path,
    aip_id: str,
    created: datetime,
    settings: Settings,
    clock: Clock,
) -> list[AipFile]:
    assembly = _Assembly(work / PAYLOAD, {}, {})
    agency_name, agency_code = _agency(package, plan)
    arc_file_code = _arc_file_code(plan)
    schemas = aip_schemas(plan.variant)
    # The content is copied in the background while the descriptions, which need no hash, are written.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aip-content") as background:
        copying = background.submit(_copy_content, plan, assembly.root, settings)
        descriptive = [*md.descriptive_files(plan), *md.circular02_files(plan)]
        for item in (*descriptive, *md.schema_files(schemas)):
            role = FileRole.SCHEMA if item.target.startswith("schemas/") else FileRole.METADATA
            assembly.add(item.target, item.data, role)
        for planned, written in copying.result():
            assembly.written[planned.target] = written
            assembly.roles[planned.target] = planned.role

    provenance_input = ProvenanceInput(
        result, plan, aip_id, arc_file_code, agency_name, agency_code, assembly.written
    )
    provenance = write_provenance(provenance_input, own_events(provenance_input, clock))
    assembly.add(md.PREMIS_PATH, provenance.root)
    for rep, data in provenance.representations.items():
        assembly.add(md.rep_premis_path(rep), data)

    context = md.MetsContext(
        plan, aip_id, iso_vn(created, millis=True), agency_name, agency_code,
        arc_file_code or plan.dossier.code, assembly.lookup,
    )
    reps = representations(plan)
    for rep in reps:
        extra = plan.extra_data if rep == ORIGINALS else ()
        assembly.add(f"{md.rep_dir(rep)}/METS.xml", md.representation_mets(context, rep, schemas, extra))
    assembly.add("METS.xml", md.root_mets(context, descriptive, schemas, reps))

    payload = assembly.files()
    tags = write_tag_files(work, payload, _bag_info(result, package, plan, aip_id, created, agency_name,
                                                    agency_code))
    return [*payload, *tags]


def _bag_info(
    result: GateResult,
    package: ParsedPackage,
    plan: Plan,
    aip_id: str,
    created: datetime,
    agency_name: str | None,
    agency_code: str | None,
) -> list[tuple[str, str]]:
    """The earchive Circular 02 profile labels (docs/bagit-profile.md §4) and the AIP's own."""
    dossier = plan.dossier
    return [
        ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
        ("Source-Organization", agency_name or agency_code or ""),
        ("Organization-Identifier", agency_code or ""),
        ("External-Identifier", _external_identifier(plan)),
        ("External-Description", dossier.title or ""),
        ("Bagging-Date", created.date().isoformat()),
        ("Bag-Software-Agent", f"earchive {software_version()} (preservation.aip)"),
        ("Bag-Group-Identifier", aip_id),
        ("Internal-Sender-Identifier", result.submission_id),
        ("Internal-Sender-Description",
         f"{plan.variant.label} {aip_id} lập từ gói nộp lưu {Path(result.package_path).name}"
         f" ({package.kind.value}); bản gốc: {len(plan.originals)}, bản bảo quản: {len(plan.copies)}"),
        ("Earchive-Package-Type", plan.variant.label),
        ("Earchive-Representations", ", ".join(
            f"{rep} ({'original' if rep == ORIGINALS else 'normalized'})"
            for rep in representations(plan)
        )),
    ]
