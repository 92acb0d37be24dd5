"""R-ST-5: PDF/A-2b preservation copies, made beside the original and never over it.

- A signed PDF is never converted: any rewrite breaks its signatures, so the
  original stays the preservation master (an info finding says so).
- A PDF that already passes PDF/A validation needs no copy (returns None).
- Any other PDF becomes PDF/A-2b with `pikepdf.pdfa.save` (born-digital files
  with embedded fonts: it validates what it writes), else with Ghostscript
  `-dPDFA=2` (a patched PDFA_def.ps given by absolute path: Ghostscript
  silently writes non-PDF/A when it cannot find its definition file).
- Office documents (.doc, .docx, .odt, .rtf, .txt) go through LibreOffice
  headless (private user profile, `SelectPdfVersion` 2) with DejaVu Sans as the
  only font it can see: substitutes such as Liberation scramble the text
  extracted from Vietnamese documents.
- Digitised PDFs without a text layer can get one with OCRmyPDF (`-l vie`) when
  `settings.pdfa.ocr` is on (about 2.5 s a page, off by default).

Every copy is validated after it is written; only a copy our validator passes
is kept, under a new name in `dst_dir`, with a PREMIS migration event (source
and copy SHA-256, tool and version). The source is read, never written: its
hash is taken before and after, and a change aborts the migration.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import pikepdf

from archive_core.findings import Finding, Severity, declare
from archive_core.premis import Agent, EventType, Outcome, PremisEvent, event
from archive_core.settings import Settings
from archive_core.storage.base import file_sha256
from preservation.pdfa.base import PdfaReport, PdfaValidator

log = logging.getLogger(__name__)

OFFICE_EXTENSIONS = frozenset({".doc", ".docx", ".odt", ".rtf", ".txt"})
TARGET_FLAVOUR = "2b"
_CHUNK = 1024 * 1024
_TIMEOUT_SECONDS = 600
_FONT = "DejaVu Sans"

COPY_SIGNED = declare(
    "CK-PDFA-COPY-SIGNED", "R-ST-5", Severity.INFO,
    "Tệp {path} có chữ ký số: không tạo bản PDF/A bảo quản (chuyển đổi sẽ làm mất hiệu lực chữ ký); "
    "bản gốc được giữ làm bản bảo quản",
    "{path} is digitally signed: no PDF/A preservation copy is made (converting would invalidate the "
    "signature); the original is kept as the preservation master",
)
COPY_CREATED = declare(
    "CK-PDFA-COPY-CREATED", "R-ST-5", Severity.INFO,
    "Đã tạo bản bảo quản PDF/A-2b {copy} từ {path} bằng {tool}; bản gốc không thay đổi",
    "PDF/A-2b preservation copy {copy} made from {path} with {tool}; the original is unchanged",
)
COPY_FAILED = declare(
    "CK-PDFA-COPY-FAILED", "R-ST-5", Severity.WARNING,
    "Không tạo được bản bảo quản PDF/A-2b hợp lệ cho {path}: {reason}",
    "No valid PDF/A-2b preservation copy could be made of {path}: {reason}",
)

Status = Literal["created", "skipped", "failed"]


@dataclass
class MigrationResult:
    status: Status
    source: Path
    source_sha256: str
    copy: Path | None = None
    copy_sha256: str | None = None
    tool: str = ""
    """Tool and version that wrote the copy (`Ghostscript 10.00.0`)."""
    report: PdfaReport | None = None
    """Validation of the copy (of the last attempt when none passed)."""
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    event: PremisEvent | None = None


class SourceChanged(RuntimeError):
    """The original changed while a copy was made: nothing is kept."""


def sha256_of(path: Path) -> str:
    return file_sha256(path)[1]


# --- what needs a copy --------------------------------------------------------------


def is_signed(path: Path) -> bool:
    """True when the PDF holds a signature (signature field value, /ByteRange, DocMDP/UR3)."""
    try:
        with pikepdf.open(path) as pdf:
            root = pdf.Root
            if "/Perms" in root:
                return True
            form = root.get("/AcroForm")
            if isinstance(form, pikepdf.Dictionary) and _signature_fields(form.get("/Fields")):
                return True
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary) and (
                    "/ByteRange" in obj or obj.get("/Type") == pikepdf.Name.Sig
                ):
                    return True
    except pikepdf.PasswordError:
        return True  # cannot be read, so it cannot be rewritten safely either
    except (pikepdf.PdfError, OSError):
        return _byte_range_in_bytes(path)
    return False


def _signature_fields(fields: object, depth: int = 0) -> bool:
    if not isinstance(fields, pikepdf.Array) or depth > 32:
        return False
    for field_dict in fields:
        if not isinstance(field_dict, pikepdf.Dictionary):
            continue
        if field_dict.get("/FT") == pikepdf.Name.Sig and "/V" in field_dict:
            return True
        if _signature_fields(field_dict.get("/Kids"), depth + 1):
            return True
    return False


def _byte_range_in_bytes(path: Path) -> bool:
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if b"/ByteRange" in tail + chunk:
                return True
            tail = chunk[-16:]
    return False


# --- tools -----------------------------------------------------------------------------


@cache
def _tool_version(command: str, *arguments: str) -> str:
    try:
        done = subprocess.run([command, *arguments], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _srgb_profile() -> Path:
    return Path(str(resources.files("pikepdf.pdfa").joinpath("data", "sRGB.icc")))


def _ghostscript_definition(work: Path) -> Path:
    """Ghostscript's PDFA_def.ps with the ICC profile given by absolute path."""
    gs_lib = Path("/usr/share/ghostscript")
    candidates = sorted(gs_lib.glob("*/lib/PDFA_def.ps")) if gs_lib.is_dir() else []
    template = candidates[-1].read_text("latin-1") if candidates else _PDFA_DEF_FALLBACK
    icc = str(_srgb_profile()).replace("\\", "/").replace("(", "\\(").replace(")", "\\)")
    patched = template.replace("/ICCProfile (srgb.icc)", f"/ICCProfile ({icc})")
    if f"({icc})" not in patched:
        patched = _PDFA_DEF_FALLBACK.replace("ICC_PATH", icc)
    definition = work / "PDFA_def.ps"
    definition.write_text(patched, "latin-1")
    return definition.resolve()


_PDFA_DEF_FALLBACK = """%!
/ICCProfile (ICC_PATH) def
[/Title (Document) /DOCINFO pdfmark
[/_objdef {icc_PDFA} /type /stream /OBJ pdfmark
[{icc_PDFA} << /N 3 >> /PUT pdfmark
[{icc_PDFA} ICCProfile (r) file /PUT pdfmark
[/_objdef {OutputIntent_PDFA} /type /dict /OBJ pdfmark
[{OutputIntent_PDFA} <<
  /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc_PDFA}
  /OutputConditionIdentifier (sRGB)
>> /PUT pdfmark
[{Catalog} << /OutputIntents [ {OutputIntent_PDFA} ] >> /PUT pdfmark
"""


def _with_pikepdf(src: Path, out: Path) -> str:
    from pikepdf import pdfa

    with pikepdf.open(src) as pdf:
        # pikepdf's writer checks what it writes and does not accept these; a preservation copy
        # needs neither an opening view nor a checksum of the (rewritten) file.
        for key in ("/OpenAction", "/DocChecksum"):
            if key in pdf.Root:
                del pdf.Root[key]
        pdfa.save(pdf, out, TARGET_FLAVOUR)
    return f"pikepdf {pikepdf.__version__}"


def _with_ghostscript(src: Path, out: Path, work: Path) -> str:
    gs = shutil.which("gs")
    if gs is None:
        raise FileNotFoundError("Ghostscript (gs) is not installed")
    definition = _ghostscript_definition(work)
    icc = _srgb_profile()
    command = [
        gs, "-dPDFA=2", "-dBATCH", "-dNOPAUSE", "-dNOOUTERSAVE", "-dQUIET", "-dSAFER",
        f"--permit-file-read={definition}", f"--permit-file-read={icc}",
        "-sColorConversionStrategy=RGB", "-sProcessColorModel=DeviceRGB", "-dPDFACompatibilityPolicy=1",
        "-sDEVICE=pdfwrite", f"-sOutputFile={out}", str(definition), str(src),
    ]
    _run(command, work)
    return f"Ghostscript {_tool_version(gs, '--version')}"


def _fontconfig(work: Path) -> Path:
    """A fontconfig file that shows LibreOffice one family only, DejaVu Sans.

    DejaVu Sans has every precomposed Vietnamese letter; its Mono and Serif
    siblings do not, and LibreOffice then builds letters from combining marks
    whose extracted text is garbage. So whatever font a document asks for, it
    gets DejaVu Sans (regular, bold, oblique)."""
    fonts = work / "fonts"
    fonts.mkdir(exist_ok=True)
    for font in _dejavu_files():
        (fonts / Path(font).name).symlink_to(font)
    config = work / "fonts.conf"
    config.write_text(
        "<?xml version='1.0'?><!DOCTYPE fontconfig SYSTEM 'fonts.dtd'><fontconfig>"
        f"<dir>{fonts}</dir><cachedir>{work / 'fccache'}</cachedir>"
        "<match target='pattern'><edit name='family' mode='prepend' binding='strong'>"
        f"<string>{_FONT}</string></edit></match></fontconfig>",
        "utf-8",
    )
    return config


_DEJAVU_SANS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")


@cache
def _dejavu_files() -> tuple[str, ...]:
    found: dict[str, str] = {}
    for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
        for path in Path(root).rglob("DejaVuSans*.ttf") if Path(root).is_dir() else []:
            if path.name in _DEJAVU_SANS:
                found.setdefault(path.name, str(path))
    if "DejaVuSans.ttf" not in found:
        raise FileNotFoundError("DejaVu Sans (Debian fonts-dejavu-core) is needed for Vietnamese text")
    return tuple(found.values())


def _with_libreoffice(src: Path, out: Path, work: Path) -> str:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise FileNotFoundError("LibreOffice (soffice) is not installed")
    staged = work / "input" / f"document{src.suffix.lower()}"
    staged.parent.mkdir()
    shutil.copyfile(src, staged)  # LibreOffice may leave lock files next to what it opens
    profile = work / "profile"
    export = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
    command = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
               "--nolockcheck"]
    if src.suffix.lower() == ".txt":
        command.append(f"--infilter=Text (encoded):{_text_charset(src)},LF,{_FONT},vi-VN")
    command += ["--convert-to", export, "--outdir", str(work / "output"), str(staged)]
    environment = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig(work)), "HOME": str(work)}
    _run(command, work, environment)
    produced = work / "output" / f"{staged.stem}.pdf"
    if not produced.is_file():
        raise RuntimeError("LibreOffice produced no PDF")
    shutil.move(str(produced), out)
    return f"LibreOffice {_tool_version(soffice, '--version').removeprefix('LibreOffice ').split(' ')[0]}"


def _text_charset(path: Path) -> str:
    with path.open("rb") as handle:
        sample = handle.read(4 * _CHUNK)
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            return "MS_1258"  # Windows Vietnamese
    return "UTF8"


def _with_ocr(src: Path, out: Path, work: Path) -> str:
    ocrmypdf = shutil.which("ocrmypdf")
    if ocrmypdf is None:
        raise FileNotFoundError("OCRmyPDF is not installed")
    intermediate = work / "ocr.pdf"
    # Plain PDF output, then our PDF/A writer: Debian's Ghostscript 10.0.0 trips OCRmyPDF's PDF/A path.
    _run([ocrmypdf, "--force-ocr", "-l", "vie", "--output-type", "pdf", "-q", str(src), str(intermediate)], work)
    _with_pikepdf(intermediate, out)
    return f"OCRmyPDF {_tool_version(ocrmypdf, '--version')} + pikepdf {pikepdf.__version__}"


def _run(command: list[str], work: Path, environment: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, cwd=work, capture_output=True, timeout=_TIMEOUT_SECONDS, check=False, env=environment
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-500:]
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {message}")


# --- the copy ------------------------------------------------------------------------------


def _destination(src: Path, dst_dir: Path) -> Path:
    base = f"{src.stem}.pdfa-{TARGET_FLAVOUR}"
    candidate = dst_dir / f"{base}.pdf"
    number = 1
    while candidate.exists():
        number += 1
        candidate = dst_dir / f"{base}-{number}.pdf"
    return candidate


def _strategies(src: Path, settings: Settings, digitised: bool) -> list[str]:
    suffix = src.suffix.lower()
    if suffix in OFFICE_EXTENSIONS:
        return ["libreoffice"]
    plan = []
    if digitised and settings.pdfa.ocr and _lacks_text_layer(src):
        plan.append("ocr")
    plan += ["pikepdf", "ghostscript"]
    return plan


def _lacks_text_layer(src: Path) -> bool:
    from preservation.pdfa import textlayer

    try:
        return bool(textlayer.analyse_file(src).pages_without_text)
    except (pikepdf.PdfError, OSError, ValueError):
        return False


def _convert(strategy: str, src: Path, out: Path, work: Path) -> str:
    if strategy == "pikepdf":
        return _with_pikepdf(src, out)
    if strategy == "ghostscript":
        return _with_ghostscript(src, out, work)
    if strategy == "libreoffice":
        return _with_libreoffice(src, out, work)
    return _with_ocr(src, out, work)


def make_preservation_copy(
    src: Path,
    dst_dir: Path,
    *,
    settings: Settings,
    validator: PdfaValidator,
    digitised: bool = False,
    package_path: str | None = None,
) -> MigrationResult | None:
    """Make a validated PDF/A-2b copy of `src` in `dst_dir`; None when no copy is needed or possible.

    `package_path` names the file in findings and the PREMIS event (default: the file name).
    """
    src = Path(src)
    label = package_path or src.name
    suffix = src.suffix.lower()
    if suffix != ".pdf" and suffix not in OFFICE_EXTENSIONS:
        return None
    before = sha256_of(src)
    if suffix == ".pdf":
        if is_signed(src):
            return MigrationResult("skipped", src, before, reason="digitally signed",
                                   findings=[COPY_SIGNED.at(path=label)])
        current = validator.validate(src, None)
        if current.claims_pdfa and current.verdict == "pass":
            return None
    dst_dir.mkdir(parents=True, exist_ok=True)
    result = _attempt(src, dst_dir, label, before, settings, validator, digitised)
    if sha256_of(src) != before:
        if result.copy is not None:
            result.copy.unlink(missing_ok=True)
        raise SourceChanged(f"{src} changed while its preservation copy was made")
    return result


def _attempt(
    src: Path, dst_dir: Path, label: str, before: str, settings: Settings, validator: PdfaValidator,
    digitised: bool,
) -> MigrationResult:
    problems: list[str] = []
    last_report: PdfaReport | None = None
    for strategy in _strategies(src, settings, digitised):
        with tempfile.TemporaryDirectory(prefix="earchive-pdfa-", dir=dst_dir) as folder:
            work = Path(folder)
            candidate = work / "copy.pdf"
            try:
                tool = _convert(strategy, src, candidate, work)
            except Exception as exc:
                problems.append(f"{strategy}: {exc}")
                continue
            report = validator.validate(candidate, TARGET_FLAVOUR)
            last_report = report
            if report.verdict != "pass":
                problems.append(f"{strategy}: the copy is {report.verdict} ({', '.join(report.clauses()[:5])})")
                continue
            destination = _destination(src, dst_dir)
            os.replace(candidate, destination)
        return _created(src, label, before, destination, tool, report, validator)
    reason = "; ".join(problems) or "no conversion tool applies"
    failed = MigrationResult("failed", src, before, report=last_report, reason=reason,
                             findings=[COPY_FAILED.at(path=label, reason=reason[:800])])
    failed.event = event(
        EventType.MIGRATION, Agent("earchive.migration"), Outcome.FAILURE,
        f"PDF/A-{TARGET_FLAVOUR.upper()} preservation copy of {label}",
        outcome_detail=f"source sha256 {before}; {reason}"[:2000], objects=(label,),
    )
    return failed


def _created(
    src: Path, label: str, before: str, copy: Path, tool: str, report: PdfaReport, validator: PdfaValidator
) -> MigrationResult:
    digest = sha256_of(copy)
    name, _, version = tool.partition(" ")
    migration = event(
        EventType.MIGRATION, Agent(name, version or "unknown"), Outcome.SUCCESS,
        f"PDF/A-{TARGET_FLAVOUR.upper()} preservation copy of {label} made with {tool}",
        outcome_detail=(
            f"source sha256 {before}; copy {copy.name} sha256 {digest}; "
            f"validated by {validator.name} {validator.version}: {report.verdict}"
        ),
        objects=(label, copy.name),
    )
    return MigrationResult(
        "created", src, before, copy=copy, copy_sha256=digest, tool=tool, report=report,
        findings=[COPY_CREATED.at(path=label, copy=copy.name, tool=tool)], event=migration,
    )
