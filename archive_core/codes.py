"""Code lists and field specifications of the metadata profiles.

Code lists (TT 05/2025 Phụ lục, metadata.md §4) map a code to its Vietnamese
label. `to_code` turns what a submitter wrote (a code or a label, any case or
normalisation) into the code. Field specifications say, per profile and entity,
which model attribute is written under which tag, its type, maximum length,
whether it is required, its code list and the date forms allowed. The TT 05 and
Circular 02 writers take their element order from these tuples, and
`ingest.checks.metadata` enforces them.

Lengths come from metadata.md; those marked (impl.) there are practical limits
from public implementations. `with_lengths` lets a deployment override them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

# ---------------------------------------------------------------- code lists

MAINTENANCE: dict[str, str] = {
    "01": "Vĩnh viễn",
    "02": "70 năm",
    "03": "50 năm",
    "04": "30 năm",
    "05": "20 năm",
    "06": "10 năm",
    "07": "Khác",
}

TYPE_NAME: dict[str, str] = {
    "01": "Nghị quyết",
    "02": "Quyết định",
    "03": "Chỉ thị",
    "04": "Quy chế",
    "05": "Quy định",
    "06": "Thông cáo",
    "07": "Thông báo",
    "08": "Hướng dẫn",
    "09": "Chương trình",
    "10": "Kế hoạch",
    "11": "Phương án",
    "12": "Đề án",
    "13": "Dự án",
    "14": "Báo cáo",
    "15": "Tờ trình",
    "16": "Giấy ủy quyền",
    "17": "Phiếu gửi",
    "18": "Phiếu chuyển",
    "19": "Phiếu báo",
    "20": "Biên bản",
    "21": "Hợp đồng",
    "22": "Công văn",
    "23": "Công điện",
    "24": "Bản ghi nhớ",
    "25": "Bản thỏa thuận",
    "26": "Giấy mời",
    "27": "Giấy giới thiệu",
    "28": "Giấy nghỉ phép",
    "29": "Thư công",
    "30": "Bản đồ",
    "31": "Bản vẽ kỹ thuật",
    "32": "Khác",
}

LANGUAGE: dict[str, str] = {
    "01": "Tiếng Việt",
    "02": "Tiếng Anh",
    "03": "Tiếng Pháp",
    "04": "Tiếng Nga",
    "05": "Tiếng Trung",
    "06": "Tiếng Việt - Tiếng Anh",
    "07": "Tiếng Việt - Tiếng Nga",
    "08": "Tiếng Việt - Tiếng Pháp",
    "09": "Hán Nôm",
    "10": "Tiếng Việt - Tiếng Trung",
    "11": "Khác",
}

MODE: dict[str, str] = {
    "01": "Công khai",
    "02": "Sử dụng có điều kiện",
    "03": "Mật",
}

CONFIDENCE_LEVEL: dict[str, str] = {
    "01": "Gốc điện tử",
    "02": "Số hóa",
    "03": "Hỗn hợp",
}

FORMAT: dict[str, str] = {
    "01": "Tốt",
    "02": "Bình thường",
    "03": "Hỏng",
}
"""Tình trạng vật lý (physical condition), not a file format."""

RISK_RECOVERY: dict[str, str] = {
    "1": "Có",
    "0": "Không",
}

RISK_RECOVERY_STATUS: dict[str, str] = {
    "01": "Đã dự phòng",
    "02": "Chưa dự phòng",
}

SOURCE: dict[str, str] = {
    "0": "Văn bản đi",
    "1": "Văn bản đến",
}

BOOLEAN: dict[str, str] = {
    "1": "Có",
    "0": "Không",
}

CODE_LISTS: dict[str, dict[str, str]] = {
    "maintenance": MAINTENANCE,
    "typeName": TYPE_NAME,
    "language": LANGUAGE,
    "mode": MODE,
    "confidenceLevel": CONFIDENCE_LEVEL,
    "format": FORMAT,
    "riskRecovery": RISK_RECOVERY,
    "riskRecoveryStatus": RISK_RECOVERY_STATUS,
    "source": SOURCE,
    "boolean": BOOLEAN,
}
"""Code lists by name (the TT 05 tag that uses them)."""

# Labels seen in practice that are not the list's own wording.
_ALIASES: dict[str, dict[str, str]] = {
    "language": {
        "viet": "01", "tieng viet": "01", "vi": "01", "vie": "01",
        "anh": "02", "en": "02", "eng": "02",
        "phap": "03", "fr": "03", "fra": "03",
        "nga": "04", "ru": "04", "rus": "04",
        "trung": "05", "trung quoc": "05", "tieng trung quoc": "05", "zh": "05", "zho": "05",
        "viet anh": "06", "viet - anh": "06", "viet nga": "07", "viet phap": "08",
        "han nom": "09", "viet trung": "10",
    },
    "mode": {
        "cong khai": "01", "su dung rong rai": "01", "rong rai": "01",
        "han che": "02", "co dieu kien": "02", "su dung han che": "02",
        "mat": "03", "toi mat": "03", "tuyet mat": "03",
    },
    "format": {"binh thuong": "02", "hong": "03", "tot": "01"},
    "confidenceLevel": {"goc dien tu": "01", "so hoa": "02", "hon hop": "03"},
    "riskRecovery": {"co": "1", "khong": "0", "true": "1", "false": "0", "yes": "1", "no": "0"},
    "boolean": {"co": "1", "khong": "0", "true": "1", "false": "0", "yes": "1", "no": "0"},
    "source": {"di": "0", "den": "1", "van ban di": "0", "van ban den": "1"},
    "riskRecoveryStatus": {"da du phong": "01", "chua du phong": "02"},
}


def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive key (đ → d) for matching labels."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = re.sub(r"[–—-]", " - ", stripped.lower())
    return re.sub(r"\s+", " ", stripped).strip()


def to_code(list_name: str, raw: str | None) -> str | None:
    """The code for `raw` (a code such as "1"/"01", or a label), None when unknown."""
    if raw is None:
        return None
    codes = CODE_LISTS[list_name]
    value = raw.strip()
    if value in codes:
        return value
    width = len(next(iter(codes)))
    if value.isdigit() and len(value) < width and value.zfill(width) in codes:
        return value.zfill(width)
    key = fold(value)
    for code, label in codes.items():
        if fold(label) == key:
            return code
    alias = _ALIASES.get(list_name, {}).get(key)
    if alias is None:
        alias = _ALIASES.get(list_name, {}).get(key.replace(" - ", " "))
    return alias


def split_codes(raw: str) -> list[str]:
    """Items of a multi-valued field ("01, 02", "01;02", "Tiếng Việt, Tiếng Anh")."""
    return [part.strip() for part in re.split(r"[,;|]", raw) if part.strip()]


def label(list_name: str, code: str | None) -> str | None:
    if code is None:
        return None
    return CODE_LISTS[list_name].get(code)


# ---------------------------------------------------------------- retention

Permanent = Literal["permanent"]
PERMANENT: Permanent = "permanent"

_YEARS_BY_CODE: dict[str, int | Permanent] = {
    "01": PERMANENT, "02": 70, "03": 50, "04": 30, "05": 20, "06": 10,
}
_CODE_BY_YEARS: dict[int, str] = {70: "02", 50: "03", 30: "04", 20: "05", 10: "06"}
_PERMANENT_WORDS = ("vinh vien", "permanent", "lau dai")


def maintenance_years(raw: str | None) -> int | Permanent | None:
    """Retention of a maintenance value: a number of years, `"permanent"`, or None.

    Accepts the TT 05 codes ("01" … "06"), "Vĩnh viễn", "70", "70 năm", "5 năm".
    "07" (Khác) and event-based periods ("đến khi văn bản hết hiệu lực") give None:
    the real period is not in the value.
    """
    if raw is None:
        return None
    value = raw.strip()
    if value in MAINTENANCE:
        # A code: "07" (Khác) says nothing about the period, it does not mean seven years.
        return _YEARS_BY_CODE.get(value)
    key = fold(value)
    if any(word in key for word in _PERMANENT_WORDS):
        return PERMANENT
    match = re.fullmatch(r"(\d{1,3})\s*(nam|years?|y)?", key)
    if match:
        years = int(match.group(1))
        # A bare two-digit "01".."07" is a code, handled above; "0" years is meaningless.
        return years if years > 0 else None
    return None


def maintenance_code_for(raw: str | None) -> str | None:
    """TT 05 maintenance code for a Circular 02 / free-text value.

    "Vĩnh viễn"/"01" → "01", "70"/"70 năm" → "02", 50 → "03", 30 → "04", 20 → "05",
    10 → "06"; any other number of years or an event-based period → "07" (Khác).
    None for an empty value.
    """
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if value in MAINTENANCE:
        return value
    # "1" as a sloppy code for "01"; but "5" means five years, a real retention period.
    if value.isdigit() and len(value) == 1 and ("0" + value) in MAINTENANCE and value != "5":
        return "0" + value
    years = maintenance_years(value)
    if years == PERMANENT:
        return "01"
    if isinstance(years, int):
        return _CODE_BY_YEARS.get(years, "07")
    return "07"


# ---------------------------------------------------------------- field specs


class FieldKind(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CODE = "code"


class Profile(StrEnum):
    """Metadata profile variants (TT 05 values equal `Tt05Variant`'s)."""

    C02 = "c02"
    SIP_HOSO = "sip-hoso"
    SIP_TAILIEU = "sip-tailieu"
    AIP_HOSO = "aip-hoso"
    AIP_TAILIEU = "aip-tailieu"

    @property
    def is_aip(self) -> bool:
        return self in (Profile.AIP_HOSO, Profile.AIP_TAILIEU)

    @property
    def is_tailieu(self) -> bool:
        return self in (Profile.SIP_TAILIEU, Profile.AIP_TAILIEU)


class Entity(StrEnum):
    FONDS = "fonds"
    DOSSIER = "dossier"
    DOC = "doc"
    PIC = "pic"
    MEDIA = "media"


DMY = "DD/MM/YYYY"
MY = "MM/YYYY"
Y = "YYYY"
ISO_DATE = "YYYY-MM-DD"
"""Not a metadata form: what the catalog also understands (dates written by other systems)."""
SIP_DATES: tuple[str, ...] = (DMY,)
AIP_DATES: tuple[str, ...] = (DMY, MY, Y)

_DATE_PATTERNS = {
    DMY: re.compile(r"(\d{2})/(\d{2})/(\d{4})"),
    MY: re.compile(r"(\d{2})/(\d{4})"),
    Y: re.compile(r"(\d{4})"),
    ISO_DATE: re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
}
MIN_DATE_YEAR = 1000


@functools.lru_cache(maxsize=4096)
def parse_date_span(value: str, forms: tuple[str, ...] = AIP_DATES) -> tuple[date, date] | None:
    """First and last day denoted by `value` in one of `forms`; None when it is not such a date.

    Cached: the documents of a dossier repeat the same dates.
    """
    text = value.strip()
    for form in forms:
        match = _DATE_PATTERNS[form].fullmatch(text)
        if match:
            try:
                return _date_span(form, [int(group) for group in match.groups()])
            except ValueError:  # 31/02, month 13 …
                return None
    return None


def _date_span(form: str, numbers: list[int]) -> tuple[date, date] | None:
    if form == DMY:
        day, month, year = numbers
        first = last = date(year, month, day)
    elif form == ISO_DATE:
        year, month, day = numbers
        first = last = date(year, month, day)
    elif form == MY:
        month, year = numbers
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    else:
        (year,) = numbers
        first, last = date(year, 1, 1), date(year, 12, 31)
    return (first, last) if first.year >= MIN_DATE_YEAR else None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    """Model attribute (`Dossier.title`)."""
    tag: str
    """XML element name in the profile."""
    kind: FieldKind = FieldKind.STRING
    max_len: int | None = None
    required: bool = False
    code_list: str | None = None
    date_forms: tuple[str, ...] = ()
    multi: bool = False
    """Several codes allowed (language)."""

    @property
    def label_vi(self) -> str:
        return FIELD_LABELS.get(self.name, (self.tag, self.tag))[0]

    @property
    def label_en(self) -> str:
        return FIELD_LABELS.get(self.name, (self.tag, self.tag))[1]

    @property
    def codes(self) -> dict[str, str] | None:
        return CODE_LISTS[self.code_list] if self.code_list else None


FIELD_LABELS: dict[str, tuple[str, str]] = {
    # dossier / shared
    "identifier": ("Mã cơ quan lưu trữ", "archive agency code"),
    "organ_id": ("Mã phông", "fonds code"),
    "file_catalog": ("Mục lục số hoặc năm hình thành hồ sơ", "catalogue number or year"),
    "file_notation": ("Số và ký hiệu hồ sơ", "file number and notation"),
    "file_code": ("Mã hồ sơ", "file code"),
    "arc_file_code": ("Mã hồ sơ lưu trữ", "archival file code"),
    "title": ("Tiêu đề hồ sơ", "file title"),
    "maintenance": ("Thời hạn bảo quản", "retention period"),
    "mode": ("Chế độ sử dụng", "access mode"),
    "language": ("Ngôn ngữ", "language"),
    "start_date": ("Thời gian bắt đầu", "start date"),
    "end_date": ("Thời gian kết thúc", "end date"),
    "keyword": ("Từ khóa", "keywords"),
    "total_doc": ("Tổng số tài liệu trong hồ sơ", "number of documents"),
    "number_of_paper": ("Số lượng tờ", "number of sheets"),
    "number_of_page": ("Số lượng trang", "number of pages"),
    "format": ("Tình trạng vật lý", "physical condition"),
    "infor_sign": ("Ký hiệu thông tin", "information sign"),
    "confidence_level": ("Mức độ tin cậy", "confidence level"),
    "paper_file_code": ("Mã hồ sơ gốc giấy", "paper original file code"),
    "risk_recovery": ("Chế độ dự phòng", "backup regime"),
    "risk_recovery_status": ("Tình trạng dự phòng", "backup status"),
    "description": ("Ghi chú", "notes"),
    "source": ("Nguồn văn bản (đi/đến)", "document source (outgoing/incoming)"),
    "creator": ("Người lập hồ sơ", "file compiler"),
    # fonds
    "fond_name": ("Tên phông", "fonds name"),
    "fond_history": ("Lịch sử đơn vị hình thành phông", "fonds history"),
    "archives_time": ("Thời gian tài liệu", "time span of records"),
    "paper_total": ("Tổng số tài liệu giấy", "paper records total"),
    "paper_digital": ("Số lượng tài liệu giấy đã số hóa", "paper records digitised"),
    "key_groups": ("Các nhóm tài liệu chủ yếu", "main record groups"),
    "other_types": ("Các loại hình tài liệu khác", "other record types"),
    "lookup_tools": ("Công cụ tra cứu", "finding aids"),
    "copy_number": ("Số lượng trang đã lập bản sao bảo hiểm", "pages with security copies"),
    # document
    "doc_id": ("Mã định danh tài liệu", "document id"),
    "doc_code": ("Mã lưu trữ của tài liệu", "document archival code"),
    "arc_doc_code": ("Mã lưu trữ tài liệu (arcDocCode)", "archival document code"),
    "doc_identifier": ("Mã định danh văn bản", "document identifier"),
    "doc_ordinal": ("Số thứ tự văn bản trong hồ sơ", "document ordinal"),
    "type_name": ("Tên loại văn bản", "document type"),
    "code_number": ("Số của văn bản", "document number"),
    "code_notation": ("Ký hiệu của văn bản", "document notation"),
    "issued_date": ("Ngày tháng năm văn bản", "issue date"),
    "organ_name": ("Tên cơ quan, tổ chức ban hành", "issuing organisation"),
    "subject": ("Trích yếu nội dung", "subject"),
    "autograph": ("Bút tích", "annotations"),
    "process": ("Quy trình xử lý", "processed in a system"),
    "signer_position": ("Chức vụ người ký", "signer position"),
    "signer_name": ("Họ tên người ký", "signer name"),
    "type_pic": ("Loại hình ảnh", "picture type"),
    "type_media": ("Loại phim, âm thanh", "media type"),
    "archives_number": ("Số lưu trữ", "archive number"),
    "event_name": ("Tên sự kiện", "event name"),
    "image_title": ("Tiêu đề ảnh", "picture title"),
    "photographer": ("Tác giả (người chụp)", "photographer"),
    "photo_place": ("Địa điểm chụp", "place photographed"),
    "photo_time": ("Thời gian chụp", "time photographed"),
    "colour": ("Màu sắc", "colour"),
    "film_size": ("Cỡ phim, ảnh", "film size"),
    "movie_title": ("Tiêu đề phim, âm thanh", "media title"),
    "recorder": ("Tác giả (người ghi)", "recorded by"),
    "record_place": ("Địa điểm ghi", "recording place"),
    "record_date": ("Thời gian ghi", "recording date"),
    "play_time": ("Thời lượng", "duration"),
    "quality": ("Chất lượng", "quality"),
    "doc_attached": ("Tài liệu kèm theo", "attached documents"),
}


def _s(name: str, tag: str, max_len: int | None = None, *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, tag, FieldKind.STRING, max_len, required)


def _n(name: str, tag: str, max_len: int | None = 10, *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, tag, FieldKind.NUMBER, max_len, required)


def _d(name: str, tag: str, forms: tuple[str, ...], *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, tag, FieldKind.DATE, 10, required, date_forms=forms)


def _c(
    name: str, tag: str, code_list: str, max_len: int | None, *, required: bool = False, multi: bool = False
) -> FieldSpec:
    return FieldSpec(name, tag, FieldKind.CODE, max_len, required, code_list, multi=multi)


def _b(name: str, tag: str, *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, tag, FieldKind.BOOLEAN, 1, required, "boolean")


# Circular 02: the circular's values are free text ("Vĩnh viễn", "Công khai"), so
# they are STRING fields; the TT 05 writer converts them to codes.
C02_FONDS: tuple[FieldSpec, ...] = (
    _s("identifier", "Identifier", 13),
    _s("organ_id", "OrganId", 13),
    _s("fond_name", "FondName", 200, required=True),
    _s("fond_history", "FondHistory"),
    _s("archives_time", "ArchivesTime", 30),
    _n("paper_total", "PaperTotal"),
    _n("paper_digital", "PaperDigital"),
    _s("key_groups", "KeyGroups", 300),
    _s("other_types", "OtherTypes", 300),
    _s("language", "Language", 100),
    _s("lookup_tools", "LookupTools", 50),
    _n("copy_number", "CopyNumber"),
    _s("description", "Description", 1000),
)

C02_DOSSIER: tuple[FieldSpec, ...] = (
    _s("file_code", "FileCode", 100),
    _s("identifier", "Identifier", 13),
    _s("organ_id", "OrganId", 13, required=True),
    _n("file_catalog", "FileCatalog", 4, required=True),
    _s("file_notation", "FileNotation", 20, required=True),
    _s("title", "Title", 1000, required=True),
    _s("maintenance", "Maintenance", 30, required=True),
    _s("mode", "Rights", 30, required=True),
    _s("language", "Language", 100, required=True),
    _d("start_date", "StartDate", SIP_DATES, required=True),
    _d("end_date", "EndDate", SIP_DATES, required=True),
    _n("total_doc", "TotalDoc", required=True),
    _s("description", "Description", 2000),
    _s("infor_sign", "InforSign", 30),
    _s("keyword", "Keyword", 100),
    _n("number_of_paper", "SheetNumber"),
    _n("number_of_page", "PageNumber"),
    _s("format", "Format", 50),
)
"""Circular 02 hồ sơ in the circular's order (FileCode first, then its parts)."""

C02_DOSSIER_ADDITIONAL: tuple[FieldSpec, ...] = (
    _s("arc_file_code", "arcFileCode", 100),
    _c("confidence_level", "confidenceLevel", "confidenceLevel", 40),
    _s("paper_file_code", "paperFileCode", 100),
    FieldSpec("risk_recovery", "riskRecovery", FieldKind.CODE, 1, False, "riskRecovery"),
    _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    _c("source", "source", "source", 100),
    _s("creator", "creator", 100),
)
"""TT 05 / QLVB dossier fields that Circular 02 lacks, under their TT 05 names."""

C02_DOCUMENT: tuple[FieldSpec, ...] = (
    _s("doc_identifier", "DocCode", 30),
    _s("file_code", "FileCode", 100),
    _s("identifier", "Identifier", 13),
    _s("organ_id", "OrganId", 13),
    _n("file_catalog", "FileCatalog", 4),
    _s("file_notation", "FileNotation", 20),
    _n("doc_ordinal", "DocOrdinal", 10, required=True),
    _s("type_name", "TypeName", 100, required=True),
    _s("code_number", "CodeNumber", 11),
    _s("code_notation", "CodeNotation", 30),
    _d("issued_date", "IssuedDate", SIP_DATES, required=True),
    _s("organ_name", "OrganName", 200, required=True),
    _s("subject", "Subject", 500, required=True),
    _s("language", "Language", 100, required=True),
    _n("number_of_page", "PageAmount", 4),
    _s("description", "Description", 500),
    _s("infor_sign", "InforSign", 30),
    _s("keyword", "Keyword", 100),
    _s("mode", "Mode", 20, required=True),
    _s("confidence_level", "ConfidenceLevel", 30),
    _s("autograph", "Autograph", 2000),
    _s("format", "Format", 50),
)
"""Circular 02 văn bản in the circular's order."""

C02_DOCUMENT_ADDITIONAL: tuple[FieldSpec, ...] = (
    _s("doc_id", "docId", 25),
    _s("doc_code", "docCode", 100),
    _s("arc_doc_code", "arcDocCode", 200),
    _s("arc_file_code", "arcFileCode", 100),
    _s("maintenance", "maintenance", 100),
    _c("risk_recovery", "riskRecovery", "riskRecovery", 1),
    _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    _b("process", "process"),
    _s("signer_position", "signerPosition", 100),
    _s("signer_name", "signerName", 50),
    _s("type_pic", "typePic", 100),
    _s("type_media", "typeMedia", 100),
    _s("archives_number", "archivesNumber", 30),
    _s("event_name", "eventName", 500),
    _s("image_title", "imageTitle", 500),
    _s("photographer", "photographer", 100),
    _s("photo_place", "photoPlace", 200),
    _s("photo_time", "photoTime", 30),
    _s("colour", "colour", 30),
    _s("film_size", "filmSize", 30),
    _s("movie_title", "movieTitle", 500),
    _s("recorder", "recorder", 100),
    _s("record_place", "recordPlace", 200),
    _s("record_date", "recordDate", 30),
    _s("play_time", "playTime", 30),
    _s("quality", "quality", 50),
    _s("doc_attached", "docAttached", 500),
)
"""TT 05 / QLVB document fields that Circular 02 lacks, under their TT 05 names."""


def _tt05_dossier(code_tag: str, code_name: str, dates: tuple[str, ...], aip: bool) -> tuple[FieldSpec, ...]:
    head = (
        _s(code_name, code_tag, 100, required=True),
        _s("title", "title", 1000, required=True),
        _c("maintenance", "maintenance", "maintenance", 100, required=True),
        _c("mode", "mode", "mode", 30, required=True),
        _c("language", "language", "language", 100, required=True, multi=True),
        _d("start_date", "startDate", dates, required=True),
        _d("end_date", "endDate", dates, required=True),
        _s("keyword", "keyword", 100),
        _n("total_doc", "totalDoc", required=True),
        _n("number_of_paper", "numberOfPaper"),
        _n("number_of_page", "numberOfPage"),
        _c("format", "format", "format", 50),
        _s("infor_sign", "inforSign", 30),
        _c("confidence_level", "confidenceLevel", "confidenceLevel", 40, required=True),
        _s("paper_file_code", "paperFileCode", 100),
    )
    risk = (
        _c("risk_recovery", "riskRecovery", "riskRecovery", 1),
        _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    )
    description = (_s("description", "description", 2000),)
    # The AIP schemas (sequence) put description before riskRecovery*, the SIP list after.
    return head + description + risk if aip else head + risk + description


SIP_HOSO: tuple[FieldSpec, ...] = _tt05_dossier("fileCode", "file_code", SIP_DATES, aip=False)
AIP_HOSO: tuple[FieldSpec, ...] = _tt05_dossier("arcFileCode", "arc_file_code", AIP_DATES, aip=True)
SIP_TAILIEU: tuple[FieldSpec, ...] = (
    _s("file_code", "fileCode", 100, required=True),
    _s("title", "title", 1000, required=True),
    _c("source", "source", "source", 1, required=True),
    _n("total_doc", "totalDoc", required=True),
    _s("description", "description", 2000),
)
AIP_TAILIEU: tuple[FieldSpec, ...] = (
    _s("arc_file_code", "arcFileCode", 100, required=True),
    _s("title", "title", 1000, required=True),
    _s("source", "source", 100),
    _s("description", "description", 2000),
)

SIP_DOC: tuple[FieldSpec, ...] = (
    _s("doc_id", "docId", 25),
    _s("doc_code", "docCode", 100, required=True),
    _c("maintenance", "maintenance", "maintenance", 100),
    _c("type_name", "typeName", "typeName", 10, required=True),
    _s("code_number", "codeNumber", 11),
    _s("code_notation", "codeNotation", 30),
    _d("issued_date", "issuedDate", SIP_DATES, required=True),
    _s("organ_name", "organName", 200, required=True),
    _s("subject", "subject", 500, required=True),
    _c("language", "language", "language", 100, required=True, multi=True),
    _n("number_of_page", "numberOfPage", 4),
    _s("infor_sign", "inforSign", 30),
    _s("keyword", "keyword", 100),
    _c("mode", "mode", "mode", 20, required=True),
    _c("confidence_level", "confidenceLevel", "confidenceLevel", 30, required=True),
    _s("autograph", "autograph", 2000),
    _c("format", "format", "format", 50),
    _c("risk_recovery", "riskRecovery", "riskRecovery", 1),
    _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    _b("process", "process"),
    _s("description", "description", 500),
)
"""SIP EAD_doc, 21 fields (metadata.md §2.2 order)."""

AIP_DOC: tuple[FieldSpec, ...] = (
    _s("arc_file_code", "arcFileCode", 100, required=True),
    _c("mode", "mode", "mode", 20, required=True),
    _c("language", "language", "language", 100, required=True, multi=True),
    _s("keyword", "keyword", 100),
    _n("number_of_page", "numberOfPage", 4),
    _c("format", "format", "format", 50),
    _s("infor_sign", "inforSign", 30),
    _c("confidence_level", "confidenceLevel", "confidenceLevel", 30, required=True),
    _s("description", "description", 500),
    _s("doc_code", "docCode", 100, required=True),
    _n("doc_ordinal", "docOrdinal", 10),
    _c("type_name", "typeName", "typeName", 10, required=True),
    _s("code_number", "codeNumber", 11),
    _s("code_notation", "codeNotation", 30),
    _d("issued_date", "issuedDate", AIP_DATES, required=True),
    _s("organ_name", "organName", 200, required=True),
    _s("subject", "subject", 500, required=True),
    _s("autograph", "autograph", 2000),
    _b("process", "process"),
)
"""AIP_hoso EAD_doc, 19 fields in the schema's sequence."""


def _with_code_tag(specs: tuple[FieldSpec, ...], old: str, name: str, tag: str) -> tuple[FieldSpec, ...]:
    return tuple(replace(s, name=name, tag=tag) if s.tag == old else s for s in specs)


AIP_TAILIEU_DOC: tuple[FieldSpec, ...] = _with_code_tag(
    tuple(replace(s, date_forms=AIP_DATES) if s.kind is FieldKind.DATE else s for s in SIP_DOC),
    "docCode", "arc_doc_code", "arcDocCode",
)
"""AIP_tailieu EAD_doc: no schema published; SIP's 21 fields with arcDocCode (as its pic/media)."""

_PIC_BODY: tuple[FieldSpec, ...] = (
    _s("type_pic", "typePic", 100),
    _s("archives_number", "archivesNumber", 30),
    _s("infor_sign", "inforSign", 30),
    _s("event_name", "eventName", 500),
    _s("image_title", "imageTitle", 500, required=True),
    _s("photographer", "photographer", 100),
    _s("photo_place", "photoPlace", 200),
    _s("photo_time", "photoTime", 30),
    _s("colour", "colour", 30),
    _s("film_size", "filmSize", 30),
    _s("doc_attached", "docAttached", 500),
)
_MEDIA_BODY: tuple[FieldSpec, ...] = (
    _s("type_media", "typeMedia", 100),
    _s("archives_number", "archivesNumber", 30),
    _s("infor_sign", "inforSign", 30),
    _s("event_name", "eventName", 500),
    _s("movie_title", "movieTitle", 500, required=True),
    _s("recorder", "recorder", 100),
    _s("record_place", "recordPlace", 200),
    _s("record_date", "recordDate", 30),
    _c("language", "language", "language", 100, multi=True),
    _s("play_time", "playTime", 30),
    _s("doc_attached", "docAttached", 500),
)


def _pick(body: tuple[FieldSpec, ...], tag: str) -> FieldSpec:
    return next(s for s in body if s.tag == tag)


SIP_PIC: tuple[FieldSpec, ...] = (
    _s("doc_code", "docCode", 100, required=True),
    _c("maintenance", "maintenance", "maintenance", 100),
    *_PIC_BODY,
    _c("mode", "mode", "mode", 20, required=True),
    _c("format", "format", "format", 50),
    _c("risk_recovery", "riskRecovery", "riskRecovery", 1),
    _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    _s("description", "description", 500),
)
"""SIP EAD_pic, 18 fields (kssm.be.api ead_pic.xsd order, docCode)."""

SIP_MEDIA: tuple[FieldSpec, ...] = (
    _s("doc_code", "docCode", 100, required=True),
    _c("maintenance", "maintenance", "maintenance", 100),
    *_MEDIA_BODY,
    _c("mode", "mode", "mode", 20, required=True),
    _s("quality", "quality", 50),
    _c("format", "format", "format", 50),
    _c("risk_recovery", "riskRecovery", "riskRecovery", 1),
    _c("risk_recovery_status", "riskRecoveryStatus", "riskRecoveryStatus", 2),
    _s("description", "description", 500),
)
"""SIP EAD_media, 19 fields (kssm.be.api ead_media.xsd order, docCode)."""

AIP_PIC: tuple[FieldSpec, ...] = (
    _s("arc_file_code", "arcFileCode", 100, required=True),
    _c("mode", "mode", "mode", 20, required=True),
    _c("format", "format", "format", 50),
    _s("infor_sign", "inforSign", 30),
    _s("description", "description", 500),
    _n("doc_ordinal", "docOrdinal", 10),
    _pick(_PIC_BODY, "typePic"),
    _pick(_PIC_BODY, "archivesNumber"),
    _pick(_PIC_BODY, "eventName"),
    _pick(_PIC_BODY, "imageTitle"),
    _pick(_PIC_BODY, "photographer"),
    _pick(_PIC_BODY, "photoPlace"),
    _pick(_PIC_BODY, "photoTime"),
    _pick(_PIC_BODY, "colour"),
    _pick(_PIC_BODY, "filmSize"),
    _pick(_PIC_BODY, "docAttached"),
)
"""AIP_hoso EAD_pic, 16 fields in the schema's sequence."""

AIP_MEDIA: tuple[FieldSpec, ...] = (
    _s("arc_file_code", "arcFileCode", 100, required=True),
    _c("mode", "mode", "mode", 20, required=True),
    _c("language", "language", "language", 100, multi=True),
    _c("format", "format", "format", 50),
    _s("infor_sign", "inforSign", 30),
    _s("description", "description", 500),
    _n("doc_ordinal", "docOrdinal", 10),
    _pick(_MEDIA_BODY, "archivesNumber"),
    _pick(_MEDIA_BODY, "eventName"),
    _pick(_MEDIA_BODY, "docAttached"),
    _pick(_MEDIA_BODY, "typeMedia"),
    _pick(_MEDIA_BODY, "movieTitle"),
    _pick(_MEDIA_BODY, "recorder"),
    _pick(_MEDIA_BODY, "recordPlace"),
    _pick(_MEDIA_BODY, "recordDate"),
    _pick(_MEDIA_BODY, "playTime"),
    _s("quality", "quality", 50),
)
"""AIP_hoso EAD_media, 17 fields in the schema's sequence."""

AIP_TAILIEU_PIC = _with_code_tag(SIP_PIC, "docCode", "arc_doc_code", "arcDocCode")
AIP_TAILIEU_MEDIA = _with_code_tag(SIP_MEDIA, "docCode", "arc_doc_code", "arcDocCode")

_SPECS: dict[tuple[Profile, Entity], tuple[FieldSpec, ...]] = {
    (Profile.C02, Entity.FONDS): C02_FONDS,
    (Profile.C02, Entity.DOSSIER): C02_DOSSIER,
    (Profile.C02, Entity.DOC): C02_DOCUMENT,
    (Profile.C02, Entity.PIC): C02_DOCUMENT,
    (Profile.C02, Entity.MEDIA): C02_DOCUMENT,
    (Profile.SIP_HOSO, Entity.DOSSIER): SIP_HOSO,
    (Profile.SIP_TAILIEU, Entity.DOSSIER): SIP_TAILIEU,
    (Profile.AIP_HOSO, Entity.DOSSIER): AIP_HOSO,
    (Profile.AIP_TAILIEU, Entity.DOSSIER): AIP_TAILIEU,
    (Profile.SIP_HOSO, Entity.DOC): SIP_DOC,
    (Profile.SIP_TAILIEU, Entity.DOC): SIP_DOC,
    (Profile.AIP_HOSO, Entity.DOC): AIP_DOC,
    (Profile.AIP_TAILIEU, Entity.DOC): AIP_TAILIEU_DOC,
    (Profile.SIP_HOSO, Entity.PIC): SIP_PIC,
    (Profile.SIP_TAILIEU, Entity.PIC): SIP_PIC,
    (Profile.AIP_HOSO, Entity.PIC): AIP_PIC,
    (Profile.AIP_TAILIEU, Entity.PIC): AIP_TAILIEU_PIC,
    (Profile.SIP_HOSO, Entity.MEDIA): SIP_MEDIA,
    (Profile.SIP_TAILIEU, Entity.MEDIA): SIP_MEDIA,
    (Profile.AIP_HOSO, Entity.MEDIA): AIP_MEDIA,
    (Profile.AIP_TAILIEU, Entity.MEDIA): AIP_TAILIEU_MEDIA,
}

_LENGTH_OVERRIDES: dict[str, int | None] = {}


def field_specs(profile: str, entity: str) -> tuple[FieldSpec, ...]:
    """The fields of `entity` ("dossier", "doc", "pic", "media", "fonds") in `profile`, in order.

    `profile` is a `Profile` value; a `Tt05Variant` works too (same values).
    """
    specs = _SPECS[(Profile(profile), Entity(entity))]
    if not _LENGTH_OVERRIDES:
        return specs
    return tuple(
        replace(s, max_len=_LENGTH_OVERRIDES[s.name]) if s.name in _LENGTH_OVERRIDES else s for s in specs
    )


def with_lengths(overrides: Mapping[str, int | None]) -> None:
    """Override maximum lengths by model field name (configuration; None lifts the limit)."""
    _LENGTH_OVERRIDES.clear()
    _LENGTH_OVERRIDES.update(overrides)


def spec_for(profile: str, entity: str, name: str) -> FieldSpec | None:
    return next((s for s in field_specs(profile, entity) if s.name == name), None)
