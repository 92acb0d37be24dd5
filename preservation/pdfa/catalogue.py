"""Descriptions of ISO 19005 rules: English from the veraPDF rule catalogue, Vietnamese per clause.

English texts are the rule descriptions of the veraPDF validation profiles (CC BY
4.0, veraPDF Consortium) as shipped in `pikepdf.pdfa`'s data; rules we number
ourselves carry their own text. Vietnamese is given per clause (the requirement
in one sentence), which is what an archivist reads in the report.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from preservation.pdfa.base import FailedRule, parse_rule_id

# ISO 19005 clause (parts 1 and 2/3 share most numbers, see `_VI_PART1` for part 1) → Vietnamese.
_VI: dict[str, str] = {
    "6.1": "Cấu trúc tệp PDF không đúng quy định",
    "6.1.2": "Tiêu đề tệp (%PDF-1.n và dòng chú thích nhị phân) không đúng quy định",
    "6.1.3": "Phần trailer của tệp không đúng quy định (thiếu ID, có mã hóa hoặc có dữ liệu sau %%EOF)",
    "6.1.4": "Bảng tham chiếu chéo (xref) không đúng cú pháp",
    "6.1.5": "Từ điển thông tin tài liệu (Info) không đúng quy định",
    "6.1.6": "Chuỗi ký tự (string) không đúng cú pháp",
    "6.1.7": "Luồng dữ liệu (stream) không đúng cú pháp hoặc dùng bộ lọc/tệp ngoài bị cấm",
    "6.1.7.1": "Luồng dữ liệu (stream) không đúng cú pháp (từ khóa stream/endstream, độ dài /Length)",
    "6.1.7.2": "Luồng dữ liệu dùng bộ lọc bị cấm (LZW, Crypt)",
    "6.1.8": "Tên (name) hoặc đối tượng gián tiếp không đúng cú pháp",
    "6.1.9": "Đối tượng gián tiếp không đúng cú pháp (obj/endobj)",
    "6.1.10": "Ảnh nội tuyến dùng bộ lọc bị cấm",
    "6.1.11": "Tệp đính kèm (EmbeddedFiles) không được phép",
    "6.1.12": "Vượt giới hạn kỹ thuật của PDF/A hoặc từ điển quyền (Perms) không hợp lệ",
    "6.1.13": "Vượt giới hạn kỹ thuật của PDF/A hoặc dùng nội dung tùy chọn (OCProperties)",
    "6.2": "Đồ họa không đúng quy định",
    "6.2.2": "Luồng nội dung hoặc Output Intent không đúng quy định",
    "6.2.3": "Output Intent (hồ sơ màu đầu ra) không đúng quy định",
    "6.2.4": "Không gian màu hoặc ảnh không đúng quy định",
    "6.2.4.2": "Không gian màu ICCBased hoặc chế độ in chồng (overprint) không đúng quy định",
    "6.2.4.3": "Dùng màu phụ thuộc thiết bị (DeviceGray/RGB/CMYK) khi không có Output Intent phù hợp",
    "6.2.4.4": "Không gian màu Separation/DeviceN không đúng quy định",
    "6.2.5": "Trạng thái đồ họa (ExtGState) dùng khóa bị cấm (TR, HTP, HT …)",
    "6.2.6": "Ảnh không đúng quy định hoặc dùng ý định hiển thị không chuẩn",
    "6.2.7": "XObject không đúng quy định",
    "6.2.8": "Ảnh (Image XObject) không đúng quy định",
    "6.2.8.3": "Ảnh JPEG 2000 không đúng quy định (số kênh màu, hộp màu, độ sâu bit)",
    "6.2.9": "Form XObject không đúng quy định",
    "6.2.10": "Độ trong suốt (transparency) hoặc luồng nội dung không đúng quy định",
    "6.2.11": "Phông chữ không đúng quy định (chưa nhúng, độ rộng ký tự không khớp, bảng mã …)",
    "6.2.11.2": "Từ điển phông chữ thiếu khóa bắt buộc hoặc sai kiểu",
    "6.2.11.3": "Phông chữ tổng hợp (Type 0, CIDFont, CMap) không đúng quy định",
    "6.2.11.4": "Phông chữ chưa được nhúng đầy đủ vào tệp",
    "6.2.11.5": "Độ rộng ký tự trong từ điển phông không khớp với chương trình phông nhúng",
    "6.2.11.6": "Bảng mã ký tự (encoding) của phông TrueType không đúng quy định",
    "6.2.11.7": "Thiếu ánh xạ Unicode (ToUnicode) cho ký tự",
    "6.2.11.8": "Văn bản tham chiếu glyph .notdef",
    "6.3": "Phông chữ hoặc chú thích không đúng quy định",
    "6.3.1": "Loại chú thích (annotation) không được phép",
    "6.3.2": "Cờ hiển thị/in của chú thích không đúng quy định",
    "6.3.3": "Chú thích thiếu hoặc sai dạng hiển thị (appearance)",
    "6.4": "Độ trong suốt hoặc biểu mẫu tương tác không đúng quy định",
    "6.4.1": "Biểu mẫu tương tác có hành động hoặc NeedAppearances không được phép",
    "6.4.2": "Biểu mẫu dùng XFA hoặc NeedsRendering không được phép",
    "6.4.3": "Chữ ký số không đúng quy định PDF/A (ByteRange, PKCS#7)",
    "6.5": "Chú thích hoặc hành động không đúng quy định",
    "6.5.1": "Hành động (action) không được phép (JavaScript, Launch …)",
    "6.5.2": "Hành động bổ sung (AA) không được phép",
    "6.6": "Siêu dữ liệu XMP hoặc hành động không đúng quy định",
    "6.6.2": "Luồng siêu dữ liệu XMP không đúng quy định",
    "6.6.2.1": "Luồng siêu dữ liệu XMP không đúng quy định (thiếu, sai mã hóa, sai cú pháp)",
    "6.6.2.3": "Thuộc tính XMP không thuộc lược đồ được định nghĩa trước hoặc lược đồ mở rộng hợp lệ",
    "6.6.4": "Định danh PDF/A trong XMP (pdfaid:part, pdfaid:conformance) không đúng",
    "6.7": "Siêu dữ liệu hoặc cấu trúc logic không đúng quy định",
    "6.8": "Tệp nhúng không đúng quy định",
    "6.9": "Nội dung tùy chọn (optional content) không đúng quy định",
    "6.10": "Trình chiếu thay thế (AlternatePresentations, PresSteps) không được phép",
    "6.11": "Khóa Requirements không được phép",
}

# Part 1 numbers its clauses differently from parts 2 and 3 above 6.2.
_VI_PART1: dict[str, str] = {
    "6.2.2": "Output Intent (hồ sơ màu đầu ra) không đúng quy định",
    "6.2.3": "Không gian màu không đúng quy định (dùng màu phụ thuộc thiết bị khi không có Output Intent phù hợp)",
    "6.2.4": "Ảnh (Image XObject) không đúng quy định",
    "6.2.5": "Form XObject không đúng quy định",
    "6.2.6": "Ý định hiển thị màu (rendering intent) không đúng quy định",
    "6.2.7": "XObject PostScript không được phép",
    "6.2.8": "Trạng thái đồ họa (ExtGState) dùng khóa bị cấm",
    "6.2.9": "Toán tử không thuộc PDF 1.4",
    "6.2.10": "Luồng nội dung dùng toán tử không được định nghĩa",
    "6.3": "Phông chữ không đúng quy định (chưa nhúng, độ rộng ký tự không khớp, bảng mã …)",
    "6.4": "Độ trong suốt không được phép trong PDF/A-1",
    "6.5": "Chú thích không đúng quy định",
    "6.6": "Hành động (action) hoặc JavaScript không được phép",
    "6.7": "Siêu dữ liệu XMP không đúng quy định",
    "6.7.2": "Thiếu luồng siêu dữ liệu XMP hoặc luồng dùng bộ lọc",
    "6.7.3": "Từ điển thông tin tài liệu (Info) không khớp với siêu dữ liệu XMP",
    "6.7.5": "Phần đầu gói XMP dùng thuộc tính bytes/encoding",
    "6.7.8": "Lược đồ mở rộng XMP không được mô tả đúng quy định",
    "6.7.9": "Siêu dữ liệu XMP không đúng đặc tả XMP hoặc dùng thuộc tính không được định nghĩa",
    "6.7.11": "Định danh PDF/A trong XMP (pdfaid:part, pdfaid:conformance) không đúng",
    "6.9": "Biểu mẫu tương tác không đúng quy định",
    "6.3.4": "Phông chữ chưa được nhúng vào tệp",
    "6.3.5": "Phông chữ nhúng thiếu glyph hoặc danh sách CharSet/CIDSet không đúng",
    "6.3.6": "Độ rộng ký tự trong từ điển phông không khớp với chương trình phông nhúng",
    "6.3.7": "Bảng mã ký tự của phông TrueType không đúng quy định",
    "6.3.8": "Thiếu ánh xạ Unicode (ToUnicode) cho ký tự",
    "6.6.1": "Hành động (action) không được phép (JavaScript, Launch …)",
    "6.6.2": "Hành động bổ sung (AA) không được phép",
}


@cache
def _verapdf_rules() -> dict[str, dict[str, str]]:
    try:
        text = resources.files("pikepdf.pdfa").joinpath("data", "verapdf_rules.json").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    rules: dict[str, dict[str, str]] = json.loads(text).get("rules", {})
    return rules


def description_en(part: int, rule_id: str) -> str | None:
    entry = _verapdf_rules().get(f"ISO_19005_{part}:{rule_id}")
    return entry.get("description") if entry else None


def rule_test(part: int, rule_id: str) -> str | None:
    """The veraPDF test expression of a rule (data such as the predefined CMap names live there)."""
    entry = _verapdf_rules().get(f"ISO_19005_{part}:{rule_id}")
    return entry.get("test") if entry else None


def description_vi(part: int, clause: str) -> str | None:
    tables = (_VI_PART1, _VI) if part == 1 else (_VI,)
    parts = clause.split(".")
    while parts:
        key = ".".join(parts)
        for table in tables:
            if key in table:
                return table[key]
        parts.pop()
    return None


def failed_rule(part: int, rule_id: str, message: str, *, count: int = 1, example: str = "") -> FailedRule:
    """A FailedRule for `rule_id` (`6.1.7-1`, or a bare clause `6.1`) of ISO 19005-`part`."""
    parsed = parse_rule_id(rule_id)
    clause, test = parsed if parsed is not None else (rule_id, 0)
    return FailedRule(
        clause=clause,
        test=test,
        description_en=description_en(part, rule_id) or message,
        description_vi=description_vi(part, clause),
        count=count,
        specification=f"ISO 19005-{part}",
        example=f"{example}: {message}" if example else message,
    )
