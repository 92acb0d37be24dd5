"""The destruction record (biên bản hủy tài liệu hết giá trị, R-DS-1, R-DS-3): PDF, XML, and archived.

`make_record(archive, order, report, decisions)` writes, for one execution of a
destruction list:

- a PDF/A-2b in Vietnamese with the administrative layout (quốc hiệu, tiêu ngữ,
  number and date, title, legal grounds), the list, every decision with who took
  it, in which capacity and when (+07:00), the execution (executor, times,
  method, storage locations), the table of dossiers (codes, titles, dates,
  sizes, outcome) and, in an annex, the SHA-256 of every destroyed file;
- the same as XML (`urn:earchive:destruction-record:1`,
  `docs/schemas/destruction-record.xsd`), validated before it is kept;
- and archives both like any other dossier: a Circular 02 BagIt bag (one
  dossier "Vĩnh viễn", one document, the PDF and the XML as its files) goes
  through `ingest_package`, so the record has its own AIP on every location.

Everything about a destroyed dossier comes from its metadata stub
(`execution.destruction_stub`), which the executor wrote before the content went.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import bagit
import pikepdf
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from lxml import etree
from sqlalchemy import func, select

from archive_core import codes
from archive_core.accounts import UserRow, find_user
from archive_core.catalog import DossierRow
from archive_core.catalog.database import Catalog
from archive_core.model import Document, Dossier, FileRef, Fonds
from archive_core.premis import software_version
from archive_core.profiles.circular02 import document_to_xml, dossier_to_xml
from archive_core.storage.base import file_sha256
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from ingest.archive import Archive, IngestResult, ingest_package
from preservation.destruction.execution import DestroyedFile, destruction_stub
from preservation.destruction.models import CAPACITY_LABELS_VI, Capacity, DestructionListRow, TransitionRow
from preservation.destruction.workflow import ACTION_LABELS_VI, Action, ExecutionOrder, ExecutionReport, ItemOutcome

log = logging.getLogger(__name__)

NS = "urn:earchive:destruction-record:1"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "destruction-record.xsd"
PROFILE_IDENTIFIER = "urn:earchive:bagit-profile:circular02:1.0"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
         "BI": "DejaVuSans-BoldOblique.ttf"}
MONO_FONT = "DejaVuSansMono.ttf"
METHOD_VI = (
    "Xóa vĩnh viễn mọi bản sao (mọi phiên bản) trên mọi vị trí lưu trữ, xóa khỏi chỉ mục tìm kiếm và bộ nhớ "
    "đệm, xóa nội dung mô tả khỏi cơ sở dữ liệu (chỉ giữ bản ghi tóm tắt), hủy khóa mã hóa dữ liệu của từng "
    "hồ sơ (crypto-shredding) để mọi bản sao không truy cập được cũng không thể đọc"
)
OUTCOME_VI = {ItemOutcome.DESTROYED: "Đã hủy", ItemOutcome.FAILED: "Chưa hoàn tất", ItemOutcome.HELD: "Tạm giữ"}
LOCATION_STATE_VI = {"deleted": "đã xóa", "failed": "chưa xóa được", "not_configured": "không còn cấu hình"}


class RecordError(Exception):
    """The record could not be made or archived."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


# ---------------------------------------------------------------- what the record says


@dataclass(frozen=True)
class Decision:
    """One recorded step of the list: who took it, for whom, in which capacity, when."""

    step: str
    """The workflow action (`decide_approve`, …)."""
    label_vi: str
    actor: str
    capacity_vi: str
    at: datetime
    full_name: str | None = None
    on_behalf_of: str | None = None
    comment: str | None = None
    reference: str | None = None
    """Where it is recorded: `<list code>#<step seq> / audit <seq>`."""


@dataclass(frozen=True)
class RecordDossier:
    dossier_id: int
    outcome: ItemOutcome
    code: str | None
    title: str | None
    start_date: str | None = None
    end_date: str | None = None
    maintenance: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    document_count: int | None = None
    total_bytes: int | None = None
    aip_ids: tuple[str, ...] = ()
    detail: str = ""
    key: Mapping[str, Any] | None = None
    locations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    files: tuple[DestroyedFile, ...] = ()
    manifest_sha256: str | None = None


@dataclass(frozen=True)
class RecordLocation:
    id: str
    kind: str
    where: str


@dataclass(frozen=True)
class RecordData:
    record_id: str
    sequence: int
    created_at: datetime
    agency_code: str
    agency_name: str
    list_code: str
    list_title: str | None
    decided_by: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    execution_deadline: datetime | None
    decisions: tuple[Decision, ...]
    executor: str
    executor_name: str | None
    started_at: datetime
    finished_at: datetime | None
    retry: bool
    locations: tuple[RecordLocation, ...]
    dossiers: tuple[RecordDossier, ...]
    crypto_shredded_on: str | None
    place: str | None = None

    def with_outcome(self, outcome: ItemOutcome) -> list[RecordDossier]:
        return [dossier for dossier in self.dossiers if dossier.outcome == outcome]

    @property
    def destroyed_files(self) -> int:
        return sum(len(dossier.files) for dossier in self.with_outcome(ItemOutcome.DESTROYED))

    @property
    def destroyed_bytes(self) -> int:
        return sum(dossier.total_bytes or 0 for dossier in self.with_outcome(ItemOutcome.DESTROYED))


@dataclass(frozen=True)
class DestructionRecord:
    record_id: str
    pdf_path: Path
    xml_path: Path
    aip_id: str | None
    """The AIP of the archived record (None only if archiving was not asked for)."""
    dossier_code: str | None
    pages: int
    pdf_sha256: str
    xml_sha256: str
    data: RecordData


# ---------------------------------------------------------------- gathering


def decisions_from_workflow(catalog: Catalog, list_code: str) -> list[Decision]:
    """Every recorded step of the list, in order, with the full names of the people who took them."""
    with catalog.session(readonly=True) as session:
        lst = session.scalars(select(DestructionListRow).where(DestructionListRow.code == list_code)).first()
        if lst is None:
            raise RecordError(f"Không có danh mục {list_code}", f"No destruction list {list_code}")
        rows = session.scalars(select(TransitionRow).where(TransitionRow.list_id == lst.id)
                               .order_by(TransitionRow.seq))
        decisions = []
        for row in rows:
            user = session.get(UserRow, row.actor_id) if row.actor_id is not None else None
            try:
                label = ACTION_LABELS_VI[Action(row.action)]
            except ValueError:
                label = row.action
            decisions.append(Decision(
                step=row.action, label_vi=label, actor=row.actor,
                capacity_vi=CAPACITY_LABELS_VI.get(Capacity(row.capacity), str(row.capacity)), at=row.at,
                full_name=user.full_name if user else None, on_behalf_of=row.on_behalf_of, comment=row.comment,
                reference=f"{list_code}#{row.seq} / audit {row.audit_seq}",
            ))
        return decisions


def collect_record(
    archive: Archive,
    order: ExecutionOrder,
    report: ExecutionReport,
    decisions: Sequence[Decision],
    *,
    clock: Clock = system_clock,
    place: str | None = None,
) -> RecordData:
    """What the record states, read from the catalog (the destroyed dossiers' stubs) and the report."""
    now = clock()
    with archive.catalog.session(readonly=True) as session:
        dossiers = []
        for result in report.results:
            row = session.get(DossierRow, result.dossier_id)
            dossiers.append(_record_dossier(result.dossier_id, result.outcome, result.detail, row))
        lst = session.scalars(select(DestructionListRow).where(DestructionListRow.code == order.list_code)).first()
        sequence = 1 + int(session.scalar(
            select(func.count()).select_from(DossierRow).where(
                DossierRow.file_code.like(f"%.{_notation_prefix(order.list_code)}%")
            )
        ) or 0)
        decided_name = _full_name(session, order.decided_by)
        executor_name = _full_name(session, order.executor)
    agency_name = next((d.agency_name for d in dossiers if d.agency_name), None) or order.agency_code
    shredded = max((str(d.key.get("crypto_shredded_everywhere_on") or "") for d in dossiers if d.key), default="")
    return RecordData(
        record_id=f"BBH-{order.list_code}-{sequence}", sequence=sequence, created_at=now,
        agency_code=order.agency_code, agency_name=agency_name, list_code=order.list_code,
        list_title=lst.title if lst is not None else None, decided_by=order.decided_by,
        decided_by_name=decided_name, decided_at=order.decided_at, execution_deadline=order.execution_deadline,
        decisions=tuple(decisions), executor=order.executor, executor_name=executor_name,
        started_at=report.started_at or order.started_at, finished_at=report.finished_at, retry=order.retry,
        locations=tuple(_locations(archive)), dossiers=tuple(dossiers), crypto_shredded_on=shredded or None,
        place=place,
    )


def _record_dossier(dossier_id: int, outcome: ItemOutcome, detail: str, row: DossierRow | None) -> RecordDossier:
    if row is None:
        return RecordDossier(dossier_id, outcome, None, None, detail=detail)
    stub = destruction_stub(row)
    if stub is None:  # held (or failed before anything was recorded): the row itself is intact
        return RecordDossier(dossier_id, outcome, row.code, row.title, row.start_date, row.end_date,
                             row.maintenance, row.agency_code, row.agency_name,
                             aip_ids=(row.aip_id,) if row.aip_id else (), detail=detail)
    part = stub.get("destruction", {})
    key = dict(part.get("key") or {})
    if key:
        key["crypto_shredded_everywhere_on"] = part.get("crypto_shredded_everywhere_on")
    return RecordDossier(
        dossier_id, outcome, stub.get("code"), stub.get("title"), stub.get("start_date"), stub.get("end_date"),
        stub.get("maintenance"), stub.get("agency_code"), stub.get("agency_name"), stub.get("document_count"),
        stub.get("total_bytes"), tuple(stub.get("aip_ids", [])), detail, key or None,
        dict(part.get("locations", {})), tuple(DestroyedFile(**item) for item in stub.get("files", [])),
        stub.get("manifest_sha256"),
    )


def _full_name(session: Any, username: str | None) -> str | None:
    if not username:
        return None
    user = find_user(session, username)
    return user.full_name if user is not None else None


def _locations(archive: Archive) -> Iterable[RecordLocation]:
    for location in archive.settings.storage.locations:
        if location.kind == "s3":
            where = f"s3://{location.bucket}/{location.prefix}" + (
                f" ({location.endpoint_url})" if location.endpoint_url else "")
        else:
            where = str(archive.settings.location_path(location))
        yield RecordLocation(location.id, location.kind, where)


def _notation_prefix(list_code: str) -> str:
    return f"BBH-{re.sub(r'[^A-Za-z0-9]', '', list_code)[-8:]}-"


# ---------------------------------------------------------------- XML


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: object | None = None, **attributes: object) -> etree._Element:
    element = etree.SubElement(parent, _q(tag))
    for name, value in attributes.items():
        if value is not None:
            element.set(name, str(value))
    if text is not None:
        element.text = str(text)
    return element


def _opt(parent: etree._Element, tag: str, text: object | None) -> None:
    if text is not None and str(text).strip():
        _sub(parent, tag, _clean(str(text)))


def render_xml(data: RecordData) -> bytes:
    root = etree.Element(_q("DestructionRecord"), nsmap={None: NS})  # type: ignore[dict-item]
    root.set("version", "1")
    _sub(root, "RecordId", data.record_id)
    _sub(root, "CreatedAt", iso_vn(data.created_at))
    _sub(root, "Agency", _clean(data.agency_name), code=data.agency_code)
    lst = _sub(root, "List")
    _sub(lst, "Code", data.list_code)
    _opt(lst, "Title", data.list_title)
    _opt(lst, "DecidedBy", data.decided_by)
    _opt(lst, "DecidedAt", iso_vn(data.decided_at) if data.decided_at else None)
    _opt(lst, "ExecutionDeadline", iso_vn(data.execution_deadline) if data.execution_deadline else None)
    decisions = _sub(root, "Decisions")
    for decision in data.decisions:
        item = _sub(decisions, "Decision", step=decision.step, at=iso_vn(decision.at))
        _sub(item, "Label", _clean(decision.label_vi))
        _sub(item, "Actor", decision.actor)
        _opt(item, "FullName", decision.full_name)
        _opt(item, "OnBehalfOf", decision.on_behalf_of)
        _sub(item, "Capacity", _clean(decision.capacity_vi))
        _opt(item, "Comment", decision.comment)
        _opt(item, "Reference", decision.reference)
    execution = _sub(root, "Execution")
    _sub(execution, "Executor", data.executor)
    _opt(execution, "ExecutorName", data.executor_name)
    _sub(execution, "StartedAt", iso_vn(data.started_at))
    _opt(execution, "FinishedAt", iso_vn(data.finished_at) if data.finished_at else None)
    _sub(execution, "Retry", "true" if data.retry else "false")
    _sub(execution, "Method", METHOD_VI)
    places = _sub(execution, "Locations")
    for location in data.locations:
        _sub(places, "Location", id=location.id, kind=location.kind, where=location.where)
    _opt(execution, "CryptoShreddedEverywhereOn", data.crypto_shredded_on)
    dossiers = _sub(root, "Dossiers")
    for dossier in data.dossiers:
        _xml_dossier(dossiers, dossier)
    _sub(root, "Summary", dossiers=len(data.dossiers), destroyed=len(data.with_outcome(ItemOutcome.DESTROYED)),
         failed=len(data.with_outcome(ItemOutcome.FAILED)), held=len(data.with_outcome(ItemOutcome.HELD)),
         files=data.destroyed_files, bytes=data.destroyed_bytes)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _xml_dossier(parent: etree._Element, dossier: RecordDossier) -> None:
    element = _sub(parent, "Dossier", id=dossier.dossier_id, outcome=dossier.outcome.value)
    for tag, value in (("Code", dossier.code), ("Title", dossier.title), ("StartDate", dossier.start_date),
                       ("EndDate", dossier.end_date), ("Maintenance", dossier.maintenance),
                       ("AgencyCode", dossier.agency_code), ("DocumentCount", dossier.document_count),
                       ("TotalBytes", dossier.total_bytes)):
        _opt(element, tag, value)
    for aip_id in dossier.aip_ids:
        _sub(element, "AipId", aip_id)
    _opt(element, "Detail", dossier.detail)
    if dossier.key and dossier.key.get("destroyed_at"):
        _sub(element, "Key", destroyedAt=dossier.key["destroyed_at"], masterKeyId=dossier.key.get("master_key_id"),
             wrappedKeySha256=dossier.key.get("wrapped_key_sha256"))
    if dossier.locations:
        places = _sub(element, "Locations")
        for location_id, entry in sorted(dossier.locations.items()):
            _sub(places, "Location", id=location_id, state=entry.get("state"), objects=int(entry.get("removed", 0)),
                 detail=_clean(str(entry.get("detail") or "")) or None)
    if dossier.files and dossier.manifest_sha256:
        files = _sub(element, "Files", manifestSha256=dossier.manifest_sha256)
        for item in dossier.files:
            _sub(files, "File", path=item.path, role=item.role, size=item.size, sha256=item.sha256)


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate_record_xml(data: bytes) -> list[str]:
    """XSD validation messages (empty: valid). Parsed without DTDs, entities or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    root = etree.fromstring(data, parser)
    schema = _schema()
    if schema.validate(root):
        return []
    return [line for line in str(schema.error_log).splitlines() if line.strip()]


# ---------------------------------------------------------------- PDF


class _RecordPdf(FPDF):
    def __init__(self, record_id: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.record_id = record_id
        for style, name in FONTS.items():
            self.add_font("DejaVu", style, str(FONT_DIR / name))
        self.add_font("DejaVuMono", "", str(FONT_DIR / MONO_FONT))
        # NĐ 30/2020 Phụ lục I margins: left 30 mm, right 18 mm, top and bottom 20 mm.
        self.set_margins(30, 20, 18)
        self.set_auto_page_break(True, margin=20)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("DejaVu", "I", 8)
        self.cell(0, 5, f"{self.record_id} — Trang {self.page_no()}/{{nb}}", align="C")


def render_pdf(data: RecordData, path: Path, *, attachment: tuple[str, bytes] | None = None) -> int:
    """Write the record as PDF/A at `path`; returns the number of pages.

    With `attachment` (file name, XML bytes) the XML record is embedded as the PDF's associated
    file (relationship Alternative, as e-invoices carry their XML) and the file is PDF/A-3b: the
    archived PDF then holds the machine-readable record too. Without it, PDF/A-2b.
    """
    pdf = _RecordPdf(data.record_id)
    pdf.set_lang("vi-VN")
    pdf.set_title(f"Biên bản hủy tài liệu hết giá trị {data.record_id}")
    pdf.set_author(_clean(data.agency_name))
    pdf.set_subject(f"Danh mục {data.list_code}")
    pdf.set_creator(f"earchive {software_version()}")
    pdf.set_creation_date(data.created_at)
    pdf.add_page()
    _heading(pdf, data)
    _grounds(pdf, data)
    _decisions_table(pdf, data)
    _execution_part(pdf, data)
    _dossier_table(pdf, data)
    _not_destroyed(pdf, data)
    _signatures(pdf, data)
    _hash_annex(pdf, data)
    raw = bytes(pdf.output())
    pages = int(pdf.pages_count)
    _save_pdfa(raw, path, attachment, data.created_at)
    return pages


def _save_pdfa(raw: bytes, path: Path, attachment: tuple[str, bytes] | None, created: datetime) -> None:
    from pikepdf import pdfa

    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with pikepdf.open(io.BytesIO(raw)) as document:
            # pikepdf's PDF/A writer refuses an opening action (fpdf2 writes one for the zoom).
            if "/OpenAction" in document.Root:
                del document.Root["/OpenAction"]
            if attachment is not None:
                name, content = attachment
                stamp = _pdf_date(created)
                spec = pikepdf.AttachedFileSpec(
                    document, content, filename=name, mime_type="application/xml",
                    description="Biên bản hủy tài liệu, bản XML (urn:earchive:destruction-record:1)",
                    creation_date=stamp, mod_date=stamp,
                )
                spec.obj.AFRelationship = pikepdf.Name.Alternative
                document.attachments[name] = spec
                document.Root.AF = pikepdf.Array([spec.obj])
            pdfa.save(document, temp, "3b" if attachment is not None else "2b")
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def _text(pdf: FPDF, text: str, *, size: float = 11, style: str = "", align: str = "J", height: float = 5.6,
          indent: float = 0) -> None:
    pdf.set_font("DejaVu", style, size)
    if indent:
        pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(0, height, _clean(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, data: RecordData) -> None:
    left_w, right_w = 68.0, pdf.epw - 68.0
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.multi_cell(left_w, 5, _clean(data.agency_name).upper(), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    pdf.line(pdf.l_margin + left_w / 2 - 12, left_end + 0.8, pdf.l_margin + left_w / 2 + 12, left_end + 0.8)
    pdf.set_xy(pdf.l_margin + left_w, top)
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.cell(right_w, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 11.5)
    pdf.cell(right_w, 5.6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    middle = pdf.l_margin + left_w + right_w / 2
    motto_end = pdf.get_y()
    pdf.line(middle - 27, motto_end + 0.5, middle + 27, motto_end + 0.5)
    row = max(left_end, motto_end) + 3
    pdf.set_xy(pdf.l_margin, row)
    pdf.set_font("DejaVu", "", 10.5)
    pdf.cell(left_w, 6, f"Số: {data.record_id}", align="C")
    pdf.set_font("DejaVu", "I", 11)
    pdf.cell(right_w, 6, _date_line(data.created_at, data.place), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(7)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 7, "BIÊN BẢN", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 12.5)
    pdf.cell(0, 6.5, "Về việc hủy tài liệu hết giá trị", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(pdf.w / 2 - 20, pdf.get_y() + 1, pdf.w / 2 + 20, pdf.get_y() + 1)
    pdf.ln(6)


def _grounds(pdf: FPDF, data: RecordData) -> None:
    listed = f"Danh mục tài liệu hết giá trị số {data.list_code}"
    if data.list_title:
        listed += f" ({data.list_title})"
    lines = [
        "Căn cứ Luật Lưu trữ ngày 21 tháng 6 năm 2024 và các văn bản hướng dẫn thi hành;",
        f"Căn cứ {listed};",
    ]
    if data.decided_at:
        who = _person(data.decided_by, data.decided_by_name)
        lines.append(f"Căn cứ quyết định hủy tài liệu của Thủ trưởng cơ quan ({who}) lúc {_vn_time(data.decided_at)};")
    for line in lines:
        _text(pdf, line, indent=8)
    executed = _vn_time(data.finished_at or data.started_at)
    _text(pdf, (
        f"Hôm nay, lúc {executed}, {_person(data.executor, data.executor_name)} đã thực hiện hủy tài liệu hết "
        f"giá trị của {_clean(data.agency_name)} trong hệ thống lưu trữ điện tử. Phương pháp hủy: {METHOD_VI}."
    ), indent=8)
    pdf.ln(2)


def _section(pdf: FPDF, title: str) -> None:
    if pdf.get_y() > pdf.h - 45:
        pdf.add_page()
    pdf.ln(2)
    _text(pdf, title, style="B", size=11.5, align="L")
    pdf.ln(1)


def _table(pdf: FPDF, widths: Sequence[float], header: Sequence[str], rows: Iterable[Sequence[str]],
           *, size: float = 8.5) -> None:
    pdf.set_font("DejaVu", "", size)
    with pdf.table(col_widths=tuple(widths), width=pdf.epw, line_height=size * 0.5,
                   text_align="LEFT", first_row_as_headings=True, repeat_headings=1) as table:
        heading = table.row()
        for title in header:
            heading.cell(title)
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(_clean(value))


def _decisions_table(pdf: FPDF, data: RecordData) -> None:
    _section(pdf, "I. Các bước xét duyệt và quyết định")
    rows = [
        (str(number), decision.label_vi, _person(decision.actor, decision.full_name)
         + (f" (thay mặt {decision.on_behalf_of})" if decision.on_behalf_of else ""),
         decision.capacity_vi, _short_time(decision.at), decision.comment or "")
        for number, decision in enumerate(data.decisions, 1)
    ]
    if not rows:
        _text(pdf, "(Không có bước nào được ghi nhận.)", style="I")
        return
    _table(pdf, (8, 34, 36, 28, 30, 26), ("TT", "Bước", "Người thực hiện", "Tư cách",
                                           "Thời gian (+07:00)", "Ý kiến"), rows)


def _execution_part(pdf: FPDF, data: RecordData) -> None:
    _section(pdf, "II. Thực hiện hủy")
    destroyed, failed, held = (data.with_outcome(outcome) for outcome in ItemOutcome)
    lines = [
        f"Người thực hiện: {_person(data.executor, data.executor_name)}.",
        f"Bắt đầu: {iso_vn(data.started_at)}; kết thúc: {iso_vn(data.finished_at) if data.finished_at else '-'}"
        + ("; lần thực hiện lại." if data.retry else "."),
        f"Kết quả: {len(destroyed)} hồ sơ đã hủy ({data.destroyed_files} tệp, {_size(data.destroyed_bytes)}); "
        f"{len(failed)} hồ sơ chưa hoàn tất; {len(held)} hồ sơ bị tạm giữ, không hủy.",
        "Vị trí lưu trữ: " + "; ".join(f"{place.id} ({place.kind}: {place.where})" for place in data.locations) + ".",
    ]
    if data.crypto_shredded_on:
        lines.append(
            f"Khóa dữ liệu của các hồ sơ đã bị hủy; các bản sao lưu khóa lập trước thời điểm hủy hết hạn và bị xóa "
            f"chậm nhất vào ngày {_vn_date_text(data.crypto_shredded_on)}: từ ngày đó việc hủy hoàn tất trên mọi "
            "bản sao (docs/keys.md)."
        )
    for line in lines:
        _text(pdf, line, indent=4)


def _dossier_table(pdf: FPDF, data: RecordData) -> None:
    _section(pdf, "III. Danh sách hồ sơ đã hủy")
    destroyed = data.with_outcome(ItemOutcome.DESTROYED)
    if not destroyed:
        _text(pdf, "(Không có hồ sơ nào được hủy xong trong lần thực hiện này.)", style="I")
        return
    rows = [
        (str(number), dossier.code or str(dossier.dossier_id), dossier.title or "",
         f"{dossier.start_date or '?'} - {dossier.end_date or '?'}", _maintenance(dossier.maintenance),
         str(dossier.document_count if dossier.document_count is not None else ""),
         f"{len(dossier.files)} tệp, {_size(dossier.total_bytes or 0)}")
        for number, dossier in enumerate(destroyed, 1)
    ]
    _table(pdf, (7, 38, 44, 22, 15, 10, 26), ("TT", "Mã hồ sơ", "Tiêu đề hồ sơ", "Thời gian", "Thời hạn",
                                              "Số VB", "Dung lượng"), rows, size=8)


def _not_destroyed(pdf: FPDF, data: RecordData) -> None:
    others = [dossier for dossier in data.dossiers if dossier.outcome != ItemOutcome.DESTROYED]
    if not others:
        return
    _section(pdf, "IV. Hồ sơ chưa hủy xong hoặc bị tạm giữ")
    rows = []
    for number, dossier in enumerate(others, 1):
        where = ", ".join(f"{location}: {LOCATION_STATE_VI.get(str(entry.get('state')), entry.get('state'))}"
                          for location, entry in sorted(dossier.locations.items()))
        rows.append((str(number), dossier.code or str(dossier.dossier_id), dossier.title or "",
                     OUTCOME_VI[dossier.outcome], "; ".join(part for part in (where, dossier.detail) if part)))
    _table(pdf, (8, 30, 40, 22, 62), ("TT", "Mã hồ sơ", "Tiêu đề hồ sơ", "Kết quả", "Chi tiết"), rows, size=8)


def _signatures(pdf: FPDF, data: RecordData) -> None:
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    pdf.ln(6)
    half = pdf.epw / 2
    top = pdf.get_y()
    for column, (title, name) in enumerate((
        ("NGƯỜI THỰC HIỆN HỦY", _person(data.executor, data.executor_name)),
        ("THỦ TRƯỞNG CƠ QUAN", _person(data.decided_by, data.decided_by_name) if data.decided_by else "-"),
    )):
        pdf.set_xy(pdf.l_margin + column * half, top)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.cell(half, 5.5, title, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "I", 8.5)
        pdf.cell(half, 5, "(xác nhận điện tử trong hệ thống)", align="C",
                 new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.ln(8)
        pdf.set_x(pdf.l_margin + column * half)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.cell(half, 5.5, _clean(name), align="C")
    pdf.set_xy(pdf.l_margin, top + 30)


def _hash_annex(pdf: FPDF, data: RecordData) -> None:
    destroyed = data.with_outcome(ItemOutcome.DESTROYED)
    if not destroyed:
        return
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 6.5, "PHỤ LỤC", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(0, 5.6, "Mã băm SHA-256 của các tệp đã hủy", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _text(pdf, (
        "Mỗi dòng: mã băm SHA-256 của tệp (bản rõ), kích thước (byte), đường dẫn trong gói AIP. "
        "“Mã băm danh sách” là SHA-256 của các dòng “<mã băm>  <đường dẫn>” theo thứ tự đường dẫn."
    ), size=9, height=4.6)
    pdf.set_font("DejaVuMono", "", 6)
    hash_width = pdf.get_string_width("0" * 64) + 2
    size_width = 14.0
    for dossier in destroyed:
        if pdf.get_y() > pdf.h - 35:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 9)
        head = f"{dossier.code or dossier.dossier_id} — {dossier.title or ''}"
        pdf.multi_cell(0, 4.6, _clean(head), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 7.5)
        pdf.multi_cell(0, 3.8, f"AIP: {', '.join(dossier.aip_ids)}", align="L", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
        pdf.multi_cell(0, 3.8, f"Mã băm danh sách: {dossier.manifest_sha256}", align="L", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
        for item in dossier.files:
            if pdf.get_y() > pdf.h - 24:
                pdf.add_page()
            pdf.set_font("DejaVuMono", "", 6)
            pdf.cell(hash_width, 3.3, item.sha256)
            pdf.set_font("DejaVu", "", 6)
            pdf.cell(size_width, 3.3, str(item.size), align="R")
            pdf.set_x(pdf.get_x() + 2)
            pdf.multi_cell(0, 3.3, _clean(item.path), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


# ---------------------------------------------------------------- small helpers


def _pdf_date(moment: datetime) -> str:
    local = to_vn(moment)
    return local.strftime("D:%Y%m%d%H%M%S+07'00'")


def embedded_xml(pdf_path: Path) -> bytes | None:
    """The XML record embedded in a record PDF (None when it has none)."""
    with pikepdf.open(pdf_path) as document:
        for name, spec in document.attachments.items():
            if name.endswith(".xml"):
                data: bytes = spec.get_file().read_bytes()
                return data
    return None


def _clean(text: str) -> str:
    """NFC, and no control characters (a PDF text run and an XML text node both refuse them)."""
    normal = unicodedata.normalize("NFC", text)
    return "".join(char for char in normal if char in "\n\t" or unicodedata.category(char)[0] != "C")


def _person(username: str | None, full_name: str | None) -> str:
    if not username:
        return "-"
    return f"{full_name} ({username})" if full_name and full_name != username else username


def _short_time(moment: datetime) -> str:
    local = to_vn(moment)
    return f"{local:%d/%m/%Y %H:%M:%S} +07:00"


def _maintenance(value: str | None) -> str:
    """A TT 05 code ("05") as its label ("20 năm"); free text as written."""
    return codes.MAINTENANCE.get(value or "", value or "")


def _vn_time(moment: datetime) -> str:
    local = to_vn(moment)
    return f"{local:%H} giờ {local:%M} phút ngày {local.day:02d}/{local.month:02d}/{local.year} (+07:00)"


def _date_line(moment: datetime, place: str | None) -> str:
    local = to_vn(moment)
    text = f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"
    return f"{place}, {text}" if place else text[0].upper() + text[1:]


def _vn_date_text(iso_date: str) -> str:
    year, month, day = iso_date[:10].split("-")
    return f"{day}/{month}/{year}"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}".replace(".", ",")
        value /= 1024
    return f"{count} B"


# ---------------------------------------------------------------- archiving


def _record_dossier_model(data: RecordData, pdf_name: str, pages: int) -> Dossier:
    local = to_vn(data.created_at)
    year = str(local.year)
    notation = f"{_notation_prefix(data.list_code)}{data.sequence}"
    organ = data.agency_code
    file_code = f"{organ}.{year}.{notation}"
    first = min((decision.at for decision in data.decisions), default=data.started_at)
    title = f"Biên bản hủy tài liệu hết giá trị theo danh mục {data.list_code}"
    subject = (f"Biên bản hủy tài liệu hết giá trị theo danh mục {data.list_code}: "
               f"{len(data.with_outcome(ItemOutcome.DESTROYED))} hồ sơ đã hủy")
    issued = f"{local.day:02d}/{local.month:02d}/{local.year}"
    document = Document(
        doc_identifier=f"{organ}-{year}.{data.sequence}"[:30], file_code=file_code, organ_id=organ,
        file_catalog=year, file_notation=notation, doc_ordinal="1", type_name="Biên bản",
        code_number=str(data.sequence), code_notation="BB-HTL", issued_date=issued,
        organ_name=_clean(data.agency_name)[:200], subject=subject[:500], language="Tiếng Việt",
        number_of_page=str(pages),
        description="PDF/A-3b, kèm bản XML đọc bằng máy (urn:earchive:destruction-record:1) đính kèm trong tệp",
        mode="Sử dụng có điều kiện", confidence_level="Gốc điện tử", format="Tốt", maintenance="Vĩnh viễn",
        process="1",
        files=[FileRef(path=f"files/{pdf_name}")],
    )
    return Dossier(
        organ_id=organ, file_catalog=year, file_notation=notation, file_code=file_code, title=title,
        maintenance="Vĩnh viễn", mode="Sử dụng có điều kiện", language="Tiếng Việt",
        start_date=f"{to_vn(first).day:02d}/{to_vn(first).month:02d}/{to_vn(first).year}", end_date=issued,
        total_doc="1", number_of_page=str(pages), format="Tốt",
        description=f"Biên bản {data.record_id}: hủy tài liệu hết giá trị (R-DS-3), lưu trữ vĩnh viễn",
        keyword="hủy tài liệu; biên bản hủy; tài liệu hết giá trị",
        fonds=Fonds(organ_id=organ, fond_name=_clean(data.agency_name)[:200], language="Tiếng Việt"),
        documents=[document],
    )


def _write_bag(folder: Path, data: RecordData, pdf: Path, pages: int) -> Path:
    """The bag: dossier.xml, the document's XML, and the PDF (which carries the XML record inside)."""
    dossier = _record_dossier_model(data, pdf.name, pages)
    bag = folder / f"bag-{data.record_id}"
    for folder_name in ("metadata/documents", "files"):
        (bag / folder_name).mkdir(parents=True)
    (bag / "metadata" / "dossier.xml").write_bytes(dossier_to_xml(dossier))
    (bag / "metadata" / "documents" / f"{data.record_id}.xml").write_bytes(document_to_xml(dossier.documents[0]))
    shutil.copyfile(pdf, bag / "files" / pdf.name)
    bagit.make_bag(str(bag), {
        "BagIt-Profile-Identifier": PROFILE_IDENTIFIER,
        "Source-Organization": _clean(data.agency_name),
        "Organization-Identifier": data.agency_code,
        "External-Identifier": dossier.file_code or "",
        "External-Description": dossier.title or "",
        "Bag-Software-Agent": f"earchive {software_version()} (destruction record)",
    }, checksums=["sha256"])
    return bag


def make_record(
    archive: Archive,
    order: ExecutionOrder,
    report: ExecutionReport,
    decisions: Sequence[Decision],
    *,
    out_dir: Path | None = None,
    actor: str | None = None,
    place: str | None = None,
    clock: Clock = system_clock,
) -> DestructionRecord:
    """Write the record's PDF and XML under `out_dir` (default `<home>/records/destruction`) and archive them."""
    data = collect_record(archive, order, report, decisions, clock=clock, place=place)
    folder = out_dir or archive.settings.home / "records" / "destruction"
    folder.mkdir(parents=True, exist_ok=True)
    xml_bytes = render_xml(data)
    problems = validate_record_xml(xml_bytes)
    if problems:
        raise RecordError("Biên bản XML không hợp lệ: " + "; ".join(problems[:3]),
                          "The record XML does not validate: " + "; ".join(problems[:3]))
    xml_path = folder / f"{data.record_id}.xml"
    xml_path.write_bytes(xml_bytes)
    pdf_path = folder / f"{data.record_id}.pdf"
    pages = render_pdf(data, pdf_path, attachment=(xml_path.name, xml_bytes))
    result = _archive(archive, data, pdf_path, pages, actor or order.executor, clock)
    record = DestructionRecord(data.record_id, pdf_path, xml_path, result.aip_id, result.dossier_code, pages,
                               file_sha256(pdf_path)[1], hashlib.sha256(xml_bytes).hexdigest(), data)
    _link_stubs(archive, record, actor or order.executor)
    return record


def _archive(archive: Archive, data: RecordData, pdf: Path, pages: int, actor: str, clock: Clock) -> IngestResult:
    work = archive.settings.staging_dir / f"record-{uuid.uuid4().hex}"
    try:
        bag = _write_bag(work, data, pdf, pages)
        result = ingest_package(bag, archive, actor=actor, clock=clock)
        for finding in result.gate.findings:
            log.info("destruction record %s: %s %s", data.record_id, finding.code, finding.message_en)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if result.state not in ("archived", "duplicate") or result.aip_id is None:
        problems = "; ".join(f"{finding.code}: {finding.message_en}" for finding in result.gate.findings
                             if finding.severity.value == "error")
        raise RecordError(f"Không lưu trữ được biên bản hủy: {problems}",
                          f"The destruction record could not be archived: {problems}")
    return result


def _link_stubs(archive: Archive, record: DestructionRecord, actor: str) -> None:
    """Each destroyed dossier's stub names the record that lists it; the audit log names both files' hashes."""
    reference = {"id": record.record_id, "aip_id": record.aip_id, "pdf_sha256": record.pdf_sha256,
                 "xml_sha256": record.xml_sha256}
    with archive.catalog.session() as session:
        for dossier in record.data.dossiers:
            row = session.get(DossierRow, dossier.dossier_id)
            stub = destruction_stub(row) if row is not None else None
            if row is None or stub is None:
                continue
            part = dict(stub.get("destruction", {}))
            part["records"] = [*part.get("records", []), reference]
            row.metadata_json = {**stub, "destruction": part}
        archive.audit.append_in(session, actor, "destruction.record", "destruction_list", record.data.list_code, {
            **reference, "dossier_code": record.dossier_code, "pages": record.pages,
            "destroyed": [d.dossier_id for d in record.data.with_outcome(ItemOutcome.DESTROYED)],
            "failed": [d.dossier_id for d in record.data.with_outcome(ItemOutcome.FAILED)],
            "held": [d.dossier_id for d in record.data.with_outcome(ItemOutcome.HELD)],
        })


__all__ = [
    "NS",
    "SCHEMA_PATH",
    "Decision",
    "DestructionRecord",
    "RecordData",
    "RecordDossier",
    "RecordError",
    "collect_record",
    "decisions_from_workflow",
    "embedded_xml",
    "make_record",
    "render_pdf",
    "render_xml",
    "validate_record_xml",
]
