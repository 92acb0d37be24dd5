"""Realistic dossiers (hồ sơ) and documents for tests, benchmarks and the demo.

Everything is drawn from `random.Random(seed)`, so one seed gives one model,
byte for byte. Codes follow metadata.md §3: agency codes in the QCVN 102 form
(`000.00.00.H12`), fileCode `<agency>.<year>.<số hồ sơ>`, docId
`<fileCode>.<n>` (at most 25 characters), docCode `<fileCode>.<7-digit n>`.
Values are TT 05 codes (maintenance "01", mode "01", language "01" …), text is
NFC, dates are DD/MM/YYYY inside the dossier's span, documents are in issue
order. Each document's PDF is described by a `PdfSpec`; its bytes are rendered
when a package is written (and once here, to learn size, pages and SHA-256).
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from archive_core.codes import TYPE_NAME
from archive_core.identifiers import lookup_agency
from archive_core.model import Document, DocumentKind, Dossier, DossierKind, FileRef, FileRole, Fonds
from archive_core.timeutil import VN_TZ, iso_vn
from ingest.generator.pdf import AdminDocument, PdfSpec, render_pdf
from ingest.generator.texts import SeedText, default_seed_dir, load_seeds, nfc

DOC_ID_MAX = 25

# typeName code → (weight, notation prefix, how its subject starts)
_TYPES: dict[str, tuple[int, str, str]] = {
    "02": (4, "QĐ", "Về việc "),
    "22": (4, "", "V/v "),
    "07": (2, "TB", "Về "),
    "14": (2, "BC", "Tình hình "),
    "10": (2, "KH", "Triển khai "),
    "15": (1, "TTr", "Về việc đề nghị "),
    "20": (1, "BB", "Họp về "),
    "26": (1, "GM", "Dự họp về "),
}
_UNITS = ("VP", "NV", "TH", "KT", "HC", "TCCB")
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thị Thu", "Hoàng", "Xuân")
_GIVEN = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương", "Lan", "Long", "Mai",
    "Nam", "Nga", "Phong", "Phúc", "Quang", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Tuấn", "Việt", "Yến",
)
_KEYWORDS = (
    "văn bản điện tử", "chữ ký số", "hồ sơ điện tử", "lưu trữ", "phần mềm", "quản lý văn bản",
    "điều hành", "cơ sở dữ liệu", "công nghệ thông tin", "thủ tục hành chính", "an toàn thông tin",
    "liên thông", "văn thư", "tài liệu", "dịch vụ công",
)


@dataclass(frozen=True)
class Agency:
    """The agency whose records are packaged (cơ quan nộp lưu)."""

    code: str
    """Mã định danh cơ quan (QCVN 102), also used as mã phông."""
    name: str
    """"Ủy ban nhân dân tỉnh Bến Tre"."""
    header_parent: str
    header_name: str
    abbreviation: str
    place: str


@dataclass
class GeneratedFile:
    """One file of a document: what the package declares and how to produce its bytes."""

    name: str
    size: int
    sha256: str
    mimetype: str
    created: str
    spec: PdfSpec | None = None
    data: bytes | None = None
    """Literal bytes (small fault payloads); otherwise the PDF is rendered from `spec`."""
    path: Path | None = None
    """Bytes already on disk (a signed PDF in a cache folder); wins over `spec`."""

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
        elif self.path is not None:
            with self.path.open("rb") as stream:
                while block := stream.read(1024 * 1024):
                    yield block
        elif self.spec is not None:
            yield from render_pdf(self.spec).chunks()

    def read_bytes(self) -> bytes:
        return b"".join(self.chunks())


@dataclass
class GeneratedDocument:
    document: Document
    stem: str
    """Name of the document's files: `EAD_doc_<stem>.xml`, `<stem>.pdf`, `<stem>.xml` in a bag."""
    files: list[GeneratedFile]
    pages: int = 1
    ead_overrides: dict[str, str] = field(default_factory=dict)
    """TT 05 element → raw text written into this document's EAD after serialisation (faults whose
    value a profile writer would otherwise normalise, such as an unlisted code)."""


@dataclass
class GeneratedDossier:
    """A dossier ready to be packaged.

    `dossier.documents[i]` is `documents[i].document`. File references in the
    model name the bare file (`FileRef.path` = file name); `tt05_model()` and
    `bag_model()` give copies with the paths a reader of each package sees.
    """

    dossier: Dossier
    documents: list[GeneratedDocument]
    agency: Agency
    seed: int
    created: datetime
    """When the package is made (deterministic)."""

    @property
    def kind(self) -> DossierKind:
        return self.dossier.kind

    @property
    def created_iso(self) -> str:
        return iso_vn(self.created, millis=True)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for doc in self.documents for f in doc.files)

    def tt05_model(self) -> Dossier:
        return self._placed("representations/rep1/data/", "representations/rep1/metadata/descriptive/EAD_doc_", "")

    def bag_model(self) -> Dossier:
        return self._placed("data/files/", "data/metadata/documents/", "data/metadata/dossier.xml")

    def _placed(self, data_prefix: str, metadata_prefix: str, dossier_path: str) -> Dossier:
        dossier = copy.deepcopy(self.dossier)
        dossier.metadata_path = dossier_path or "metadata/descriptive/EAD.xml"
        for doc, generated in zip(dossier.documents, self.documents, strict=True):
            doc.metadata_path = f"{metadata_prefix}{generated.stem}.xml"
            for ref in doc.files:
                ref.path = data_prefix + ref.path
        return dossier


_PROVINCE_PREFIX = "Ủy ban nhân dân tỉnh "


def agency_for(code: str, seed: SeedText) -> Agency:
    """The agency named by the registry (archive_core/data/agencies.csv), else the seed text's province."""
    registered = lookup_agency(code)
    if registered is not None and not registered.name.startswith(_PROVINCE_PREFIX):
        return Agency(
            code=code,
            name=registered.name,
            header_parent="",
            header_name=registered.name.upper(),
            abbreviation="".join(word[0] for word in registered.name.split()).upper(),
            place="Hà Nội",
        )
    province = registered.name[len(_PROVINCE_PREFIX):] if registered is not None else seed.province
    return Agency(
        code=code,
        name=f"Ủy ban nhân dân tỉnh {province}",
        header_parent="ỦY BAN NHÂN DÂN",
        header_name=f"TỈNH {province.upper()}",
        abbreviation="UBND",
        place=province,
    )


def vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def vn_long_date(place: str, day: date) -> str:
    return f"{place}, ngày {day.day:02d} tháng {day.month} năm {day.year}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _keywords(text: str) -> str | None:
    found = [k for k in _KEYWORDS if k in text.lower()]
    return "; ".join(found[:3]) or None


def _signature(org: Agency, *, deputy: bool) -> tuple[str, str]:
    """Thẩm quyền ký (NĐ 30/2020): "TM. ỦY BAN NHÂN DÂN" / "KT. CHỦ TỊCH", and the signer's position."""
    if org.header_parent:  # a people's committee signs collectively
        return ("KT. CHỦ TỊCH", "Phó Chủ tịch") if deputy else (f"TM. {org.header_parent}", "Chủ tịch")
    return ("KT. BỘ TRƯỞNG", "Thứ trưởng") if deputy else ("", "Bộ trưởng")


def _pick_type(rng: random.Random) -> str:
    codes = list(_TYPES)
    return rng.choices(codes, weights=[_TYPES[c][0] for c in codes])[0]


def _notation(type_code: str, agency: Agency, unit: str) -> str:
    prefix = _TYPES[type_code][1]
    return f"{agency.abbreviation}-{unit}" if not prefix else f"{prefix}-{agency.abbreviation}"


def _body(seed: SeedText, rng: random.Random, chars: int) -> tuple[str, ...]:
    paras = seed.paragraphs
    start = rng.randrange(len(paras))
    picked: list[str] = []
    total = 0
    index = start
    while total < chars and len(picked) < len(paras):
        para = paras[index % len(paras)]
        picked.append(para)
        total += len(para)
        index += 1
    return tuple(picked)


def _dossier_notation(rng: random.Random, agency: str, year: int, documents: int) -> str:
    """Số hồ sơ: as many digits as docId's 25 characters leave room for."""
    room = DOC_ID_MAX - len(f"{agency}.{year}..") - len(str(max(documents, 1)))
    digits = max(1, min(3, room))
    return str(rng.randint(1, 10**digits - 1)).zfill(min(digits, 2))


def _dates(rng: random.Random, year: int, count: int) -> list[date]:
    start = date(year, 1, 1) + timedelta(days=rng.randrange(0, 120))
    end = date(year, 12, 31) - timedelta(days=rng.randrange(0, 90))
    span = (end - start).days
    days = sorted(rng.randrange(span + 1) for _ in range(count))
    if count:
        days[0], days[-1] = 0, span if count > 1 else 0
    return [start + timedelta(days=d) for d in days]


def build_dossier(
    *,
    seed: int = 0,
    documents: int = 5,
    doc_bytes: int = 60_000,
    kind: DossierKind = DossierKind.HOSO,
    agency: str = "000.00.00.H12",
    year: int = 2024,
    seed_texts: Path | None = None,
    digitised: bool | None = None,
) -> GeneratedDossier:
    """A dossier with `documents` PDF documents of about `doc_bytes` each.

    `digitised` forces confidenceLevel 02 (scanned paper: layered PDFs, paper
    file code, sheet count) or 01 (born digital); None lets the seed decide
    (about one dossier in four is digitised).
    """
    rng = random.Random(seed)
    seeds = load_seeds(seed_texts if seed_texts is not None else default_seed_dir())
    text = seeds[rng.randrange(len(seeds))]
    org = agency_for(agency, text)
    is_digitised = rng.random() < 0.25 if digitised is None else digitised
    confidence = "02" if is_digitised else "01"
    unit = rng.choice(_UNITS)
    topic = rng.choice(text.clauses)
    days = _dates(rng, year, documents)
    created = datetime(year + 1, 2, 1, 8, 0, tzinfo=VN_TZ) + timedelta(
        days=rng.randrange(60), minutes=rng.randrange(600), milliseconds=rng.randrange(1000)
    )

    if kind is DossierKind.TAILIEU:
        file_code = f"{agency}.{year}.{rng.randint(1, 20):02d}.{rng.randint(1, 9999):07d}"
        notation = file_code[len(f"{agency}.{year}.") :]
        title = f"Tài liệu {topic} của {org.name} năm {year}"
    else:
        notation = _dossier_notation(rng, agency, year, documents)
        file_code = f"{agency}.{year}.{notation}"
        title = f"Hồ sơ về {topic} năm {year}"
    maintenance = rng.choice(("01", "01", "02", "04", "05", "06"))
    mode = rng.choice(("01", "01", "01", "02"))
    dossier = Dossier(
        kind=kind,
        identifier=agency,
        organ_id=agency,
        file_catalog=str(year),
        file_notation=notation,
        file_code=file_code,
        title=nfc(_capitalise(title)),
        maintenance=maintenance,
        mode=mode,
        language="01",
        start_date=vn_date(days[0]) if days else None,
        end_date=vn_date(days[-1]) if days else None,
        keyword=_keywords(title),
        total_doc=str(documents),
        format="01",
        confidence_level=confidence,
        risk_recovery=rng.choice(("0", "1")),
        creator=person(rng),
        fonds=Fonds(
            identifier=agency,
            organ_id=agency,
            fond_name=nfc(org.name),
            archives_time=f"{year - 10}-{year}",
            language="Tiếng Việt",
            lookup_tools="Mục lục hồ sơ",
        ),
    )
    if dossier.risk_recovery == "1":
        dossier.risk_recovery_status = "01"
    if kind is DossierKind.TAILIEU:
        dossier.source = rng.choice(("0", "1"))
    dossier.description = nfc(f"Hồ sơ do {dossier.creator} lập.")

    generated = [
        _document(rng, seed, index, day, dossier, org, text, unit, doc_bytes, is_digitised)
        for index, day in enumerate(days, start=1)
    ]
    dossier.documents = [g.document for g in generated]
    pages = sum(g.pages for g in generated)
    dossier.number_of_page = str(pages)
    if is_digitised:
        dossier.number_of_paper = str(sum((g.pages + 1) // 2 for g in generated))
        dossier.paper_file_code = f"{agency}.K{rng.randint(1, 5)}G{rng.randint(1, 20)}H{rng.randint(1, 300)}.{notation}"
    return GeneratedDossier(dossier=dossier, documents=generated, agency=org, seed=seed, created=created)


def _document(
    rng: random.Random,
    seed: int,
    index: int,
    day: date,
    dossier: Dossier,
    org: Agency,
    text: SeedText,
    unit: str,
    doc_bytes: int,
    digitised: bool,
) -> GeneratedDocument:
    file_code = dossier.file_code or ""
    type_code = _pick_type(rng)
    subject = nfc(_capitalise(_TYPES[type_code][2] + rng.choice(text.clauses)))
    number = str(rng.randint(1, 3000))
    notation = _notation(type_code, org, unit)
    signer = person(rng)
    authority, position = _signature(org, deputy=rng.random() < 0.5)
    # docId is at most 25 characters; loose-document codes are longer, so those documents go without.
    doc_id: str | None = f"{file_code}.{index}"
    if doc_id and len(doc_id) > DOC_ID_MAX:
        doc_id = None
    doc_code = f"{file_code}.{index:07d}"
    doc = Document(
        kind=DocumentKind.DOC,
        doc_id=doc_id,
        doc_code=doc_code,
        doc_identifier=f"{org.code}-{day.year}.{rng.randint(1, 9000)}",
        file_code=file_code,
        identifier=dossier.identifier,
        organ_id=dossier.organ_id,
        file_catalog=dossier.file_catalog,
        file_notation=dossier.file_notation,
        doc_ordinal=str(index),
        type_name=type_code,
        code_number=number,
        code_notation=notation,
        issued_date=vn_date(day),
        organ_name=nfc(org.name),
        subject=subject,
        language="01",
        keyword=_keywords(subject),
        mode=dossier.mode,
        confidence_level=dossier.confidence_level,
        format="01",
        maintenance=dossier.maintenance,
        risk_recovery=dossier.risk_recovery,
        risk_recovery_status=dossier.risk_recovery_status,
        process=None if digitised else "0",
        signer_position=position,
        signer_name=signer,
    )
    content = AdminDocument(
        organ_parent=org.header_parent,
        organ_name=org.header_name,
        number_notation=f"Số: {number}/{notation}",
        place_date=vn_long_date(org.place, day),
        type_name=TYPE_NAME[type_code].upper(),
        subject=subject,
        body=_body(text, rng, 1600 + rng.randrange(1200)),
        signer_authority=authority,
        signer_position=position.upper(),
        signer_name=signer,
        recipients=("Như trên;", f"Lưu: VT, {unit}."),
    )
    created = datetime(day.year, day.month, day.day, 9, 0, tzinfo=VN_TZ) + timedelta(
        minutes=rng.randrange(480), milliseconds=rng.randrange(1000)
    )
    spec = PdfSpec(
        content=content,
        created=created,
        target_bytes=doc_bytes,
        seed=_file_seed(seed, index),
        layered=digitised,
        title=subject,
    )
    stem = doc_id or doc_code
    main, pages = pdf_file(f"{stem}.pdf", spec)
    generated = GeneratedDocument(doc, stem, [main], pages)
    doc.number_of_page = str(generated.pages)
    doc.files = [file_ref(f) for f in generated.files]
    return generated


def _file_seed(seed: int, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:6], "big")


def pdf_file(name: str, spec: PdfSpec) -> tuple[GeneratedFile, int]:
    """The file for a PDF and its page count."""
    rendered = render_pdf(spec)
    size, digest = rendered.digest()
    return GeneratedFile(
        name=name,
        size=size,
        sha256=digest,
        mimetype="application/pdf",
        created=iso_vn(spec.created, millis=True),
        spec=spec,
    ), rendered.pages


def bytes_file(name: str, data: bytes, mimetype: str, created: str) -> GeneratedFile:
    return GeneratedFile(
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mimetype=mimetype,
        created=created,
        data=data,
    )


def file_ref(generated: GeneratedFile) -> FileRef:
    return FileRef(
        path=generated.name,
        role=FileRole.ORIGINAL,
        size=generated.size,
        sha256=generated.sha256,
        mimetype=generated.mimetype,
        created=generated.created,
    )
