"""Vietnamese text for generated documents, mined from real regulation texts.

The seed texts (`shared/samples/seed-texts/*.txt`) are provincial regulations
copied from the web: hard-wrapped lines, table bars, markdown bold. They are
turned into paragraphs (PDF bodies) and short clauses (subjects, titles,
keywords). Without them a small built-in set of paragraphs keeps the demo
running.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PARAGRAPH_START = re.compile(
    r"^(Điều \d+|Chương [IVXLC]+|Mục \d+|\d+\.|[a-zđ]\)|[-–•] |Căn cứ|Xét đề nghị|Theo đề nghị|QUYẾT ĐỊNH|Nơi nhận)"
)
_NOISE_LINE = re.compile(r"^[|\-_=*\s]*$")
_PROVINCE = re.compile(r"\b[Tt]ỉnh ((?:[A-ZĐÂĂÊÔƠƯ][\wÀ-ỹ]*)(?: [A-ZĐÂĂÊÔƠƯ][\wÀ-ỹ]*)?)")
_BAD_CLAUSE = re.compile(r"\d|Điều|khoản|điểm|Quyết định|Thông tư|Nghị định|Luật|Chương|/|\"|“|”|…")

BUILTIN_PARAGRAPHS: tuple[str, ...] = (
    "Căn cứ Luật Lưu trữ ngày 21 tháng 6 năm 2024; Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023.",
    "Điều 1. Phạm vi điều chỉnh. Quy chế này quy định về tiếp nhận, xử lý, phát hành và quản lý văn bản "
    "điện tử giữa các cơ quan hành chính nhà nước trên địa bàn tỉnh.",
    "Văn bản điện tử được ký số theo quy định của pháp luật có giá trị pháp lý như văn bản giấy; văn bản "
    "điện tử không được ký số chỉ có giá trị tham khảo.",
    "Cơ quan, đơn vị có trách nhiệm lập hồ sơ điện tử, cập nhật đầy đủ thông tin đầu vào của văn bản và "
    "nộp lưu hồ sơ vào lưu trữ cơ quan theo đúng thời hạn quy định.",
    "Văn thư cơ quan kiểm tra tính xác thực, toàn vẹn của văn bản điện tử đến, đăng ký văn bản và trình "
    "người có thẩm quyền cho ý kiến phân phối, chỉ đạo giải quyết.",
    "Việc gửi, nhận văn bản điện tử giữa các cơ quan được thực hiện qua trục liên thông văn bản quốc gia, "
    "bảo đảm an toàn, bảo mật thông tin và thời gian gửi, nhận văn bản.",
    "Tài liệu lưu trữ điện tử phải được bảo quản an toàn, sao lưu định kỳ và kiểm tra tính toàn vẹn bằng "
    "mã băm trong suốt thời hạn bảo quản.",
    "Thủ trưởng các cơ quan, đơn vị chịu trách nhiệm tổ chức thực hiện; trong quá trình thực hiện nếu có "
    "vướng mắc, phản ánh kịp thời về Sở Nội vụ để tổng hợp, báo cáo Ủy ban nhân dân tỉnh xem xét.",
)
BUILTIN_PROVINCE = "Ninh Bình"


@dataclass(frozen=True)
class SeedText:
    name: str
    province: str
    paragraphs: tuple[str, ...]
    """Body paragraphs (after the document header), NFC."""
    clauses: tuple[str, ...]
    """Short lower-case clauses fit for subjects and titles."""


def shared_root() -> Path:
    return Path(os.environ.get("EARCHIVE_SHARED", REPO.parent / "shared")).resolve()


def default_seed_dir() -> Path | None:
    path = shared_root() / "samples" / "seed-texts"
    return path if path.is_dir() else None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def paragraphs(raw: str) -> list[str]:
    """Join hard-wrapped lines into paragraphs; drop table bars, rules and markdown bold."""
    result: list[str] = []
    current: list[str] = []
    for line in nfc(raw).replace("**", "").splitlines():
        line = line.strip().strip("|").strip()
        if _NOISE_LINE.match(line):
            if current and not line:
                result.append(" ".join(current))
                current = []
            continue
        starts = bool(_PARAGRAPH_START.match(line))
        after_stop = bool(current) and current[-1].endswith((".", ";", ":", "!", "?")) and (
            line[:1].isupper() or line[:1].isdigit()
        )
        if current and (starts or after_stop):
            result.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        result.append(" ".join(current))
    return [re.sub(r"\s+", " ", p).strip() for p in result if len(p.strip()) > 1]


_GOOD_START = (
    "quản lý", "sử dụng", "tiếp nhận", "triển khai", "bảo đảm", "xử lý", "gửi", "kiểm tra", "cập nhật",
    "lập", "ứng dụng", "tổ chức", "hướng dẫn", "thực hiện", "phát hành", "lưu trữ", "bảo quản", "ký số",
    "số hóa", "công tác", "việc", "hệ thống", "phần mềm", "văn bản", "hồ sơ", "tài liệu", "chữ ký số",
    "dữ liệu", "trách nhiệm", "quy trình", "trao đổi", "vận hành", "đăng ký", "nâng cao", "tăng cường",
    "cung cấp", "xây dựng", "quy định", "giải quyết", "theo dõi", "an toàn", "kết nối", "chuyển",
)


def clauses(paras: list[str]) -> list[str]:
    """Clauses fit for subjects: 30-110 characters, no numbers or legal references.

    Clauses that open with an activity or a records noun ("quản lý …", "hồ sơ …")
    read like real subjects; the rest are kept only when too few of those exist.
    """
    found = _all_clauses(paras)
    good = [c for c in found if c.startswith(_GOOD_START)]
    return good if len(good) >= 5 else found


def _all_clauses(paras: list[str]) -> list[str]:
    found: dict[str, None] = {}
    for para in paras:
        for part in re.split(r"[.;:,()]| và | hoặc ", para):
            part = part.strip()
            if not 30 <= len(part) <= 110 or _BAD_CLAUSE.search(part):
                continue
            if not part[:1].islower() or len(part.split()) < 6:
                continue
            found[part] = None
    return list(found)


def _province(text: str) -> str:
    counts: dict[str, int] = {}
    for match in _PROVINCE.finditer(text):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    if not counts:
        return BUILTIN_PROVINCE
    return max(sorted(counts), key=lambda name: counts[name])


def parse_seed(name: str, raw: str) -> SeedText:
    paras = paragraphs(raw)
    start = next(
        (i for i, p in enumerate(paras) if p.startswith(("Căn cứ", "Chương", "Điều 1"))),
        0,
    )
    body = paras[start:] or paras
    return SeedText(name, _province(nfc(raw)), tuple(body), tuple(clauses(body)))


def builtin_seed() -> SeedText:
    paras = list(BUILTIN_PARAGRAPHS)
    return SeedText("builtin", BUILTIN_PROVINCE, tuple(paras), tuple(clauses(paras)))


@lru_cache(maxsize=8)
def load_seeds(directory: Path | None) -> tuple[SeedText, ...]:
    """Seed texts from `directory` (sorted by name), or the built-in set when absent or empty."""
    if directory is None or not directory.is_dir():
        return (builtin_seed(),)
    seeds = []
    for path in sorted(directory.glob("*.txt")):
        seed = parse_seed(path.stem, path.read_text(encoding="utf-8", errors="replace"))
        if seed.paragraphs and seed.clauses:
            seeds.append(seed)
    return tuple(seeds) or (builtin_seed(),)
