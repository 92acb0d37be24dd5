"""E-ARK CSIP 2.0.4 (and E-ARK SIP 2.0.4) requirements as coded findings.

Public API:

    check_csip(source, root_mets, rep_mets, ctx, *, tt05=False) -> None
    validate_mets_schema(doc, ctx) -> bool
    root_mets_missing(source) -> Finding            (CSIPSTR4; the reader raises it)
    fixity_requirement(section, aspect) -> str | None
    declaring_sections(docs) -> dict[str, str]

`check_csip` reports every deviation as a finding whose `rule` is the
requirement id (`CSIP27`, `CSIPSTR11`, `SIP4`) and whose code is
`CK-<requirement>-<WHAT>` (`CK-CSIP27-MISSING`). Severity follows the
requirement level (MUST → error, SHOULD → warning, MAY → info) unless the
DILCIS Board test corpus fixes another one for a case (it is the reference we
measure against, `docs/conformance.md`). Many occurrences of one finding in one
METS file are reported once, with “(+N)” after the first location.

`root_mets` may be `None` (no `METS.xml` at the package root): then only the
folder rules run; the reader raises `PackageRejected(root_mets_missing(...))`.
`rep_mets` maps a representation folder name (`rep1`) to its parsed METS.

With `tt05=True` the TT 05/2025 practice is applied: a SIP carries no PREMIS
(CSIP31/32 absence is information), producers put the mã phông in the creator
agent's note instead of a software version (CSIP15/16 warning), the
representation METS header and structural map are often minimal (warnings),
its OBJID is a uuid rather than the folder name (information),
and the CSIP profile URL is the one the circular prescribes (SIP2 information).

Sizes, checksums and the existence of referenced files are not checked here:
the gate's fixity check (R-CK-1) compares every declaration with the bytes;
`fixity_requirement` names the CSIP requirement such a fixity finding
corresponds to.

METS files are validated against METS 1.12 + the LoC XLink schema shipped in
`ingest/schemas/` (never fetched: a local resolver serves the import, the
parser has no network access).
"""

from __future__ import annotations

import posixpath
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from archive_core.findings import CheckContext, Code, Finding, Severity, declare
from archive_core.premis import Agent as PremisAgent
from archive_core.premis import EventType, Outcome, event
from ingest.readers.mets import (
    Agent,
    Div,
    FileGroup,
    Locator,
    MdRef,
    MdSection,
    MetsDocument,
    MetsFile,
    PathIndex,
    StructMap,
    checksum_algorithm,
    line_of,
    normalise_checksum,
)
from ingest.source import PackageSource

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
AGENT = PremisAgent("earchive.csip")

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
LEVELS = {"MUST": ERROR, "SHOULD": WARNING, "MAY": INFO}

CSIP_PROFILE = "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
SIP_PROFILE = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
_PROFILE = re.compile(
    r"^(?:https?://)?eark(csip|sip|aip|dip)\.dilcis\.eu/profile/E-ARK-(CSIP|SIP|AIP|DIP)(?:-v[0-9-]+)?\.xml$",
    re.IGNORECASE,
)
MDTYPES = frozenset(
    [
        "MARC", "MODS", "EAD", "DC", "NISOIMG", "LC-AV", "VRA", "TEIHDR", "DDI", "FGDC", "LOM", "PREMIS",
        "PREMIS:OBJECT", "PREMIS:AGENT", "PREMIS:RIGHTS", "PREMIS:EVENT", "TEXTMD", "METSRIGHTS",
        "ISO 19115:2003 NAP", "EAC-CPF", "LIDO", "OTHER",
    ]
)
CHECKSUM_TYPES = frozenset(
    ["Adler-32", "CRC32", "HAVAL", "MD5", "MNP", "SHA-1", "SHA-256", "SHA-384", "SHA-512", "TIGER", "WHIRLPOOL"]
)
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}
_MIME = re.compile(
    r"^(application|audio|example|font|haptics|image|message|model|multipart|text|video)/"
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;.*)?$",
    re.IGNORECASE,
)
_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
STANDARD_ROOT_FOLDERS = {"metadata", "representations", "schemas", "documentation"}
STANDARD_REP_FOLDERS = {"data", "metadata", "schemas", "documentation"}
MAX_MIMETYPE_CHARS = 256


# ---------------------------------------------------------------- requirements


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    item: str
    """What the requirement is about, in METS XPath notation (language-neutral)."""

    @property
    def severity(self) -> Severity:
        return LEVELS[self.level]


def _mdref_reqs(section: str, first: int) -> list[Requirement]:
    names = ["@LOCTYPE", "@xlink:type", "@xlink:href", "@MDTYPE", "@MIMETYPE", "@SIZE", "@CREATED",
             "@CHECKSUM", "@CHECKSUMTYPE"]
    return [Requirement(f"CSIP{first + i}", "MUST", f"{section}/mdRef/{name}") for i, name in enumerate(names)]


REQUIREMENTS: dict[str, Requirement] = {
    r.id: r
    for r in [
        Requirement("CSIP1", "MUST", "mets/@OBJID"),
        Requirement("CSIP2", "MUST", "mets/@TYPE"),
        Requirement("CSIP3", "SHOULD", "mets[@TYPE='OTHER']/@csip:OTHERTYPE"),
        Requirement("CSIP4", "SHOULD", "mets/@csip:CONTENTINFORMATIONTYPE"),
        Requirement("CSIP5", "MAY", "mets[@csip:CONTENTINFORMATIONTYPE='OTHER']/@csip:OTHERCONTENTINFORMATIONTYPE"),
        Requirement("CSIP6", "MUST", "mets/@PROFILE"),
        Requirement("CSIP117", "MUST", "mets/metsHdr"),
        Requirement("CSIP7", "MUST", "metsHdr/@CREATEDATE"),
        Requirement("CSIP8", "SHOULD", "metsHdr/@LASTMODDATE"),
        Requirement("CSIP9", "MUST", "metsHdr/@csip:OAISPACKAGETYPE"),
        Requirement("CSIP10", "MUST", "metsHdr/agent"),
        Requirement("CSIP11", "MUST", "metsHdr/agent[@ROLE='CREATOR']"),
        Requirement("CSIP12", "MUST", "metsHdr/agent[@ROLE='CREATOR']/@TYPE"),
        Requirement("CSIP13", "MUST", "metsHdr/agent[@ROLE='CREATOR']/@OTHERTYPE"),
        Requirement("CSIP14", "MUST", "metsHdr/agent[@ROLE='CREATOR']/name"),
        Requirement("CSIP15", "MUST", "metsHdr/agent[@ROLE='CREATOR']/note"),
        Requirement("CSIP16", "MUST", "metsHdr/agent[@ROLE='CREATOR']/note/@csip:NOTETYPE"),
        Requirement("CSIP17", "SHOULD", "mets/dmdSec"),
        Requirement("CSIP18", "MUST", "dmdSec/@ID"),
        Requirement("CSIP19", "MUST", "dmdSec/@CREATED"),
        Requirement("CSIP20", "SHOULD", "dmdSec/@STATUS"),
        Requirement("CSIP21", "SHOULD", "dmdSec/mdRef"),
        *_mdref_reqs("dmdSec", 22),
        Requirement("CSIP31", "SHOULD", "mets/amdSec"),
        Requirement("CSIP32", "SHOULD", "amdSec/digiprovMD"),
        Requirement("CSIP33", "MUST", "digiprovMD/@ID"),
        Requirement("CSIP34", "SHOULD", "digiprovMD/@STATUS"),
        Requirement("CSIP35", "SHOULD", "digiprovMD/mdRef"),
        *_mdref_reqs("digiprovMD", 36),
        Requirement("CSIP46", "MUST", "rightsMD/@ID"),
        Requirement("CSIP47", "SHOULD", "rightsMD/@STATUS"),
        Requirement("CSIP48", "SHOULD", "rightsMD/mdRef"),
        *_mdref_reqs("rightsMD", 49),
        Requirement("CSIP58", "SHOULD", "mets/fileSec"),
        Requirement("CSIP59", "MUST", "fileSec/@ID"),
        Requirement("CSIP60", "MUST", "fileSec/fileGrp[@USE='Documentation']"),
        Requirement("CSIP113", "MUST", "fileSec/fileGrp[@USE='Schemas']"),
        Requirement("CSIP114", "MUST", "fileSec/fileGrp[@USE='Representations']"),
        Requirement("CSIP61", "MAY", "fileGrp/@ADMID"),
        Requirement("CSIP62", "SHOULD", "fileGrp[@USE='Representations…']/@csip:CONTENTINFORMATIONTYPE"),
        Requirement("CSIP63", "MAY", "fileGrp/@csip:OTHERCONTENTINFORMATIONTYPE"),
        Requirement("CSIP64", "MUST", "fileGrp/@USE"),
        Requirement("CSIP65", "MUST", "fileGrp/@ID"),
        Requirement("CSIP66", "MUST", "fileGrp/file"),
        Requirement("CSIP67", "MUST", "file/@ID"),
        Requirement("CSIP68", "MUST", "file/@MIMETYPE"),
        Requirement("CSIP69", "MUST", "file/@SIZE"),
        Requirement("CSIP70", "MUST", "file/@CREATED"),
        Requirement("CSIP71", "MUST", "file/@CHECKSUM"),
        Requirement("CSIP72", "MUST", "file/@CHECKSUMTYPE"),
        Requirement("CSIP74", "MAY", "file/@ADMID"),
        Requirement("CSIP75", "MAY", "file/@DMDID"),
        Requirement("CSIP76", "MUST", "file/FLocat"),
        Requirement("CSIP77", "MUST", "file/FLocat/@LOCTYPE"),
        Requirement("CSIP78", "MUST", "file/FLocat/@xlink:type"),
        Requirement("CSIP79", "MUST", "file/FLocat/@xlink:href"),
        Requirement("CSIP80", "MUST", "mets/structMap[@LABEL='CSIP']"),
        Requirement("CSIP81", "MUST", "structMap/@TYPE"),
        Requirement("CSIP82", "MUST", "structMap/@LABEL"),
        Requirement("CSIP83", "MUST", "structMap[@LABEL='CSIP']/@ID"),
        Requirement("CSIP84", "MUST", "structMap[@LABEL='CSIP']/div"),
        Requirement("CSIP85", "MUST", "structMap[@LABEL='CSIP']/div/@ID"),
        Requirement("CSIP86", "MUST", "structMap[@LABEL='CSIP']/div/@LABEL"),
        Requirement("CSIP88", "MUST", "div/div[@LABEL='Metadata']"),
        Requirement("CSIP89", "MUST", "div/div[@LABEL='Metadata']/@ID"),
        Requirement("CSIP91", "SHOULD", "div/div[@LABEL='Metadata']/@ADMID"),
        Requirement("CSIP92", "SHOULD", "div/div[@LABEL='Metadata']/@DMDID"),
        Requirement("CSIP93", "SHOULD", "div/div[@LABEL='Documentation']"),
        Requirement("CSIP94", "MUST", "div/div[@LABEL='Documentation']/@ID"),
        Requirement("CSIP96", "MUST", "div/div[@LABEL='Documentation']/fptr"),
        Requirement("CSIP116", "MUST", "div/div[@LABEL='Documentation']/fptr/@FILEID"),
        Requirement("CSIP97", "SHOULD", "div/div[@LABEL='Schemas']"),
        Requirement("CSIP98", "MUST", "div/div[@LABEL='Schemas']/@ID"),
        Requirement("CSIP100", "MUST", "div/div[@LABEL='Schemas']/fptr"),
        Requirement("CSIP118", "MUST", "div/div[@LABEL='Schemas']/fptr/@FILEID"),
        Requirement("CSIP101", "SHOULD", "div/div[@LABEL='Representations']"),
        Requirement("CSIP102", "MUST", "div/div[@LABEL='Representations']/@ID"),
        Requirement("CSIP104", "MUST", "div/div[@LABEL='Representations']/fptr"),
        Requirement("CSIP119", "MUST", "div/div[@LABEL='Representations']/fptr/@FILEID"),
        Requirement("CSIP105", "SHOULD", "div/div[@LABEL='Representations/…']"),
        Requirement("CSIP106", "MUST", "div/div[@LABEL='Representations/…']/@ID"),
        Requirement("CSIP108", "MUST", "div/div[@LABEL='Representations/…']/fptr"),
        Requirement("CSIP109", "MUST", "div/div[@LABEL='Representations/…']/mptr"),
        Requirement("CSIP110", "MUST", "div/div/mptr/@xlink:href"),
        Requirement("CSIP111", "MUST", "div/div/mptr/@xlink:type"),
        Requirement("CSIP112", "MUST", "div/div/mptr/@LOCTYPE"),
        Requirement("CSIPSTR1", "MUST", "single package root folder"),
        Requirement("CSIPSTR4", "MUST", "METS.xml"),
        Requirement("CSIPSTR5", "SHOULD", "metadata/"),
        Requirement("CSIPSTR6", "SHOULD", "metadata/preservation/"),
        Requirement("CSIPSTR7", "SHOULD", "metadata/descriptive/"),
        Requirement("CSIPSTR9", "SHOULD", "representations/"),
        Requirement("CSIPSTR10", "SHOULD", "representations/<representation>/"),
        Requirement("CSIPSTR11", "SHOULD", "representations/<representation>/data/"),
        Requirement("CSIPSTR12", "SHOULD", "representations/<representation>/METS.xml"),
        Requirement("CSIPSTR13", "SHOULD", "representations/<representation>/metadata/"),
        Requirement("CSIPSTR14", "MAY", "additional folders"),
        Requirement("CSIPSTR15", "SHOULD", "schemas/"),
        Requirement("SIP1", "MAY", "mets/@LABEL"),
        Requirement("SIP2", "MUST", "mets/@PROFILE"),
        Requirement("SIP3", "MAY", "metsHdr/@RECORDSTATUS"),
        Requirement("SIP4", "MUST", "metsHdr/@csip:OAISPACKAGETYPE"),
        Requirement("SIP5", "MAY", "metsHdr/altRecordID[@TYPE='SUBMISSIONAGREEMENT']"),
        Requirement("SIP6", "MAY", "metsHdr/altRecordID[@TYPE='PREVIOUSSUBMISSIONAGREEMENT']"),
        Requirement("SIP7", "MAY", "metsHdr/altRecordID[@TYPE='REFERENCECODE']"),
        Requirement("SIP8", "MAY", "metsHdr/altRecordID[@TYPE='PREVIOUSREFERENCECODE']"),
        Requirement("SIP14", "MUST", "metsHdr/agent[@TYPE='ORGANIZATION']/note/@csip:NOTETYPE"),
        Requirement("SIP28", "MUST", "metsHdr/agent[@ROLE='PRESERVATION']/@TYPE"),
        Requirement("SIP32", "MAY", "file/@sip:FILEFORMATNAME"),
        Requirement("SIP33", "MAY", "file/@sip:FILEFORMATVERSION"),
        Requirement("SIP34", "MAY", "file/@sip:FILEFORMATREGISTRY"),
        Requirement("SIP35", "MAY", "file/@sip:FILEFORMATKEY"),
    ]
}

_TAIL_VI = " ({where}, dòng {line})"
_TAIL_EN = " ({where}, line {line})"
_GENERIC: dict[str, tuple[str, str]] = {
    "MISSING": ("{path}: thiếu {item}", "{path}: {item} is missing"),
    "EMPTY": ("{path}: {item} để trống", "{path}: {item} is empty"),
    "VALUE": (
        "{path}: {item} có giá trị “{value}” không được phép; cần {expected}",
        "{path}: {item} has the value “{value}”, which is not allowed; expected {expected}",
    ),
    "FORMAT": (
        "{path}: {item} = “{value}” sai định dạng; cần {expected}",
        "{path}: {item} = “{value}” is malformed; expected {expected}",
    ),
    "MANY": (
        "{path}: {item} xuất hiện {count} lần, chỉ được {limit}",
        "{path}: {item} occurs {count} times; at most {limit} allowed",
    ),
    "REF": (
        "{path}: {item} tham chiếu “{value}”, không phải {target} có trong gói",
        "{path}: {item} refers to “{value}”, which is not a {target} of the package",
    ),
    "LONG": (
        "{path}: {item} dài {length} ký tự, không nên quá 256",
        "{path}: {item} is {length} characters long; it should not exceed 256",
    ),
    "ABSENT": (
        "{path}: {count} tệp dữ liệu không có {item} (không bắt buộc)",
        "{path}: {count} data files have no {item} (optional)",
    ),
}
_SPECIAL: dict[tuple[str, str], tuple[str, str]] = {
    ("CSIP1", "PACKAGE-ID"): (
        "{path}: mets/@OBJID “{value}” khác mã gói (tên thư mục gốc) “{expected}”",
        "{path}: mets/@OBJID “{value}” differs from the package ID (root folder name) “{expected}”",
    ),
    ("CSIP1", "REP-ID"): (
        "{path}: mets/@OBJID “{value}” khác tên thư mục biểu diễn “{expected}”",
        "{path}: mets/@OBJID “{value}” differs from the representation folder name “{expected}”",
    ),
    ("CSIP8", "ORDER"): (
        "{path}: metsHdr/@LASTMODDATE “{value}” sớm hơn CREATEDATE “{expected}”",
        "{path}: metsHdr/@LASTMODDATE “{value}” is earlier than CREATEDATE “{expected}”",
    ),
    ("CSIP21", "UNREFERENCED"): (
        "{path}: {count} tệp siêu dữ liệu mô tả không được dmdSec/mdRef nào tham chiếu (ví dụ {example})",
        "{path}: {count} descriptive metadata files are not referenced by any dmdSec/mdRef (e.g. {example})",
    ),
    ("CSIP31", "NO-FILES"): (
        "{path}: có amdSec nhưng thư mục metadata/preservation không có tệp nào",
        "{path}: an amdSec is present but metadata/preservation holds no files",
    ),
    ("CSIP31", "UNDESCRIBED"): (
        "{path}: có {count} tệp siêu dữ liệu bảo quản (ví dụ {example}) nhưng METS không có amdSec",
        "{path}: {count} preservation metadata files exist (e.g. {example}) but the METS has no amdSec",
    ),
    ("CSIP32", "NO-FILES"): (
        "{path}: có digiprovMD nhưng thư mục metadata/preservation không có tệp nào",
        "{path}: a digiprovMD is present but metadata/preservation holds no files",
    ),
    ("CSIP32", "UNDESCRIBED"): (
        "{path}: {count} tệp siêu dữ liệu bảo quản không được amdSec nào tham chiếu (ví dụ {example})",
        "{path}: {count} preservation metadata files are not referenced by any amdSec section (e.g. {example})",
    ),
    ("CSIP63", "UNEXPECTED"): (
        "{path}: có @csip:OTHERCONTENTINFORMATIONTYPE “{value}” trong khi CONTENTINFORMATIONTYPE là “{expected}”"
        " (chỉ dùng khi là OTHER)",
        "{path}: @csip:OTHERCONTENTINFORMATIONTYPE “{value}” is present while CONTENTINFORMATIONTYPE is"
        " “{expected}” (only allowed with OTHER)",
    ),
    ("CSIP64", "FOLDER"): (
        "{path}: fileGrp/@USE “{value}” không khớp thư mục nào trong gói",
        "{path}: fileGrp/@USE “{value}” does not match any folder of the package",
    ),
    ("CSIP116", "UNREFERENCED"): (
        "{path}: nhóm tệp Documentation “{value}” không được fptr nào trong structMap CSIP tham chiếu",
        "{path}: the Documentation file group “{value}” is not referenced by any fptr of the CSIP structMap",
    ),
    ("CSIP118", "UNREFERENCED"): (
        "{path}: nhóm tệp Schemas “{value}” không được fptr nào trong structMap CSIP tham chiếu",
        "{path}: the Schemas file group “{value}” is not referenced by any fptr of the CSIP structMap",
    ),
    ("CSIP119", "UNREFERENCED"): (
        "{path}: nhóm tệp Representations “{value}” không được fptr hay mptr nào trong structMap CSIP tham chiếu",
        "{path}: the Representations file group “{value}” is referenced by no fptr or mptr of the CSIP structMap",
    ),
    ("CSIPSTR1", "ROOT"): (
        "{path}: tệp nén không có một thư mục gốc duy nhất chứa cả gói",
        "{path}: the archive does not unpack to a single package root folder",
    ),
    ("CSIPSTR4", "MISSING"): (
        "Không có tệp METS.xml ở thư mục gốc của gói (tìm thấy: {found})",
        "There is no METS.xml file in the package root folder (found: {found})",
    ),
    ("CSIPSTR6", "PLACE"): (
        "{path}: {count} tệp siêu dữ liệu bảo quản nằm ngoài thư mục metadata/preservation (ví dụ {example})",
        "{path}: {count} preservation metadata files are outside a metadata/preservation folder (e.g. {example})",
    ),
    ("CSIPSTR7", "PLACE"): (
        "{path}: {count} tệp siêu dữ liệu mô tả nằm ngoài thư mục metadata/descriptive (ví dụ {example})",
        "{path}: {count} descriptive metadata files are outside a metadata/descriptive folder (e.g. {example})",
    ),
    ("CSIPSTR10", "LOOSE"): (
        "{count} tệp nằm trực tiếp trong representations/ thay vì trong thư mục của một biểu diễn (ví dụ {example})",
        "{count} files lie directly in representations/ instead of a representation folder (e.g. {example})",
    ),
    ("CSIPSTR14", "EXTRA"): (
        "{path}: có thư mục ngoài cấu trúc CSIP: {value} (được phép)",
        "{path}: folders beyond the CSIP structure: {value} (allowed)",
    ),
    **{
        (req, "MISSING"): (
            "Không có {path} (E-ARK CSIP khuyến nghị {item})",
            "{path} is absent (E-ARK CSIP recommends {item})",
        )
        for req in ("CSIPSTR5", "CSIPSTR9", "CSIPSTR11", "CSIPSTR12", "CSIPSTR13", "CSIPSTR15")
    },
    ("SIP2", "CSIP-PROFILE"): (
        "{path}: mets/@PROFILE là hồ sơ CSIP “{value}” chứ không phải hồ sơ E-ARK SIP; TT 05/2025 dùng hồ sơ CSIP",
        "{path}: mets/@PROFILE is the CSIP profile “{value}”, not the E-ARK SIP profile; TT 05/2025 uses the CSIP"
        " profile",
    ),
}
_PLAIN = {"CSIP21", "CSIP31", "CSIP32"} | {f"CSIPSTR{n}" for n in range(1, 17)}
"""Special kinds whose message names no METS location (no “where/line” tail)."""

_KIND_TABLE: list[tuple[str, str, Severity | None]] = []


def _kinds(req: str, *kinds: str, **severities: Severity) -> None:
    for kind in kinds:
        _KIND_TABLE.append((req, kind, severities.get(kind.replace("-", "_"))))


_kinds("CSIP1", "MISSING", "EMPTY", "PACKAGE-ID", "REP-ID", PACKAGE_ID=WARNING, REP_ID=WARNING)
_kinds("CSIP2", "MISSING", "EMPTY", "VALUE")
_kinds("CSIP3", "MISSING")
_kinds("CSIP4", "MISSING", "VALUE")
_kinds("CSIP5", "MISSING")
_kinds("CSIP6", "MISSING", "EMPTY", "VALUE", VALUE=WARNING)
_kinds("CSIP117", "MISSING", "MANY")
_kinds("CSIP7", "MISSING", "FORMAT")
_kinds("CSIP8", "FORMAT", "ORDER")
_kinds("CSIP9", "MISSING", "VALUE")
_kinds("CSIP10", "MISSING")
_kinds("CSIP11", "MISSING")
for _req in ("CSIP12", "CSIP13", "CSIP16"):
    _kinds(_req, "MISSING", "VALUE")
_kinds("CSIP14", "MISSING", "EMPTY")
_kinds("CSIP15", "MISSING")
_kinds("CSIP17", "MISSING")
_kinds("CSIP18", "MISSING")
_kinds("CSIP19", "MISSING", "FORMAT")
_kinds("CSIP20", "MISSING", "VALUE", VALUE=ERROR)
_kinds("CSIP21", "MISSING", "UNREFERENCED", UNREFERENCED=ERROR)
for _first in (22, 36, 49):
    _kinds(f"CSIP{_first}", "MISSING", "VALUE")
    _kinds(f"CSIP{_first + 1}", "MISSING", "VALUE")
    _kinds(f"CSIP{_first + 2}", "MISSING", "EMPTY", EMPTY=WARNING)
    _kinds(f"CSIP{_first + 3}", "MISSING", "VALUE")
    _kinds(f"CSIP{_first + 4}", "MISSING", "VALUE", "LONG", LONG=WARNING)
    _kinds(f"CSIP{_first + 5}", "MISSING", "FORMAT")
    _kinds(f"CSIP{_first + 6}", "MISSING", "FORMAT")
    _kinds(f"CSIP{_first + 7}", "MISSING", "FORMAT")
    _kinds(f"CSIP{_first + 8}", "MISSING", "VALUE")
_kinds("CSIP31", "MISSING", "NO-FILES", "UNDESCRIBED", UNDESCRIBED=ERROR)
_kinds("CSIP32", "MISSING", "NO-FILES", "UNDESCRIBED", UNDESCRIBED=ERROR)
for _req in ("CSIP33", "CSIP46"):
    _kinds(_req, "MISSING")
for _req in ("CSIP34", "CSIP47"):
    _kinds(_req, "MISSING", "VALUE", VALUE=ERROR)
for _req in ("CSIP35", "CSIP48"):
    _kinds(_req, "MISSING")
_kinds("CSIP58", "MISSING", "MANY")
_kinds("CSIP59", "MISSING")
_kinds("CSIP60", "MISSING")
_kinds("CSIP113", "MISSING", MISSING=WARNING)
_kinds("CSIP114", "MISSING", MISSING=WARNING)
_kinds("CSIP61", "REF", REF=WARNING)
_kinds("CSIP62", "MISSING", "VALUE")
_kinds("CSIP63", "MISSING", "EMPTY", "VALUE", "UNEXPECTED", MISSING=ERROR, EMPTY=ERROR, VALUE=ERROR,
       UNEXPECTED=ERROR)
_kinds("CSIP64", "MISSING", "VALUE", "FOLDER")
_kinds("CSIP65", "MISSING")
_kinds("CSIP66", "MISSING")
_kinds("CSIP67", "MISSING")
_kinds("CSIP68", "MISSING", "VALUE", "LONG", LONG=WARNING)
for _req in ("CSIP69", "CSIP70", "CSIP71"):
    _kinds(_req, "MISSING", "FORMAT")
_kinds("CSIP72", "MISSING", "VALUE")
_kinds("CSIP74", "REF", REF=WARNING)
_kinds("CSIP75", "REF", REF=WARNING)
_kinds("CSIP76", "MISSING", "MANY")
_kinds("CSIP77", "MISSING", "VALUE")
_kinds("CSIP78", "MISSING", "VALUE")
_kinds("CSIP79", "MISSING", "EMPTY", EMPTY=WARNING)
_kinds("CSIP80", "MISSING", "MANY")
_kinds("CSIP81", "MISSING", "VALUE")
_kinds("CSIP82", "MISSING", "VALUE")
_kinds("CSIP83", "MISSING")
_kinds("CSIP84", "MISSING", "MANY")
_kinds("CSIP85", "MISSING")
_kinds("CSIP86", "MISSING", "VALUE")
_kinds("CSIP88", "MISSING")
_kinds("CSIP89", "MISSING")
_kinds("CSIP91", "MISSING", "REF")
_kinds("CSIP92", "MISSING", "REF")
for _req in ("CSIP93", "CSIP97", "CSIP101", "CSIP105"):
    _kinds(_req, "MISSING")
for _req in ("CSIP94", "CSIP98", "CSIP102", "CSIP106"):
    _kinds(_req, "MISSING")
for _req in ("CSIP96", "CSIP100", "CSIP104", "CSIP108"):
    _kinds(_req, "MISSING", "REF")
for _req in ("CSIP116", "CSIP118", "CSIP119"):
    _kinds(_req, "MISSING", "REF", "UNREFERENCED")
_kinds("CSIP109", "MISSING", "MANY")
_kinds("CSIP110", "MISSING", "REF")
_kinds("CSIP111", "MISSING", "VALUE")
_kinds("CSIP112", "MISSING", "VALUE")
_kinds("CSIPSTR1", "ROOT")
_kinds("CSIPSTR4", "MISSING")
_kinds("CSIPSTR5", "MISSING")
_kinds("CSIPSTR6", "PLACE")
_kinds("CSIPSTR7", "PLACE")
_kinds("CSIPSTR9", "MISSING")
_kinds("CSIPSTR10", "LOOSE")
for _req in ("CSIPSTR11", "CSIPSTR12", "CSIPSTR13"):
    _kinds(_req, "MISSING")
_kinds("CSIPSTR14", "EXTRA")
_kinds("CSIPSTR15", "MISSING")
_kinds("SIP1", "MISSING", "EMPTY", EMPTY=INFO)
_kinds("SIP2", "MISSING", "EMPTY", "VALUE", "CSIP-PROFILE", CSIP_PROFILE=WARNING)
_kinds("SIP3", "MISSING", "EMPTY", "VALUE", EMPTY=INFO, VALUE=INFO)
_kinds("SIP4", "MISSING", "VALUE")
for _req in ("SIP5", "SIP7"):
    _kinds(_req, "MISSING", "EMPTY", "MANY", EMPTY=INFO, MANY=INFO)
for _req in ("SIP6", "SIP8"):
    _kinds(_req, "EMPTY", EMPTY=INFO)
_kinds("SIP14", "MISSING", "VALUE")
_kinds("SIP28", "VALUE")
for _req in ("SIP32", "SIP34"):
    _kinds(_req, "ABSENT", "EMPTY", EMPTY=WARNING)
for _req in ("SIP33", "SIP35"):
    _kinds(_req, "EMPTY", EMPTY=WARNING)


def _declare_kind(req: str, kind: str, severity: Severity | None) -> Code:
    requirement = REQUIREMENTS[req]
    vi, en = _SPECIAL.get((req, kind)) or _GENERIC[kind]
    if req not in _PLAIN and kind != "ABSENT":
        vi, en = vi + _TAIL_VI, en + _TAIL_EN
    vi = vi.replace("{item}", requirement.item)
    en = en.replace("{item}", requirement.item)
    return declare(f"CK-{req}-{kind}", req, severity or requirement.severity, vi, en)


CODES: dict[tuple[str, str], Code] = {
    (req, kind): _declare_kind(req, kind, severity) for req, kind, severity in _KIND_TABLE
}
"""Every finding kind of this module, by (requirement id, kind)."""

IMPLEMENTED: tuple[str, ...] = tuple(sorted({req for req, _kind, _sev in _KIND_TABLE}))
"""Requirement ids this module checks (fixity-based ones are listed in `FIXITY_REQUIREMENTS`)."""

METS_SCHEMA_INVALID = declare(
    "CK-METS-SCHEMA-INVALID", "R-IN-1", Severity.ERROR,
    "{path}: không hợp lệ theo lược đồ METS 1.12 ({count} lỗi), lỗi đầu tiên ở dòng {line}: {message}",
    "{path}: not valid against the METS 1.12 schema ({count} errors); first at line {line}: {message}",
)

FIXITY_REQUIREMENTS: dict[tuple[str, str], str] = {
    ("dmdSec", "size"): "CSIP27",
    ("dmdSec", "checksum"): "CSIP29",
    ("dmdSec", "exists"): "CSIP24",
    ("digiprovMD", "size"): "CSIP41",
    ("digiprovMD", "checksum"): "CSIP43",
    ("digiprovMD", "exists"): "CSIP38",
    ("rightsMD", "size"): "CSIP54",
    ("rightsMD", "checksum"): "CSIP56",
    ("rightsMD", "exists"): "CSIP51",
    ("file", "size"): "CSIP69",
    ("file", "checksum"): "CSIP71",
    ("file", "exists"): "CSIP79",
}
"""Which CSIP requirement a fixity finding (R-CK-1) on a declaration corresponds to."""


def fixity_requirement(section: str, aspect: str) -> str | None:
    """`section`: dmdSec, digiprovMD, rightsMD, file; `aspect`: size, checksum, exists."""
    return FIXITY_REQUIREMENTS.get((section, aspect))


def declaring_sections(docs: Iterable[MetsDocument], index: PathIndex | None = None) -> dict[str, str]:
    """Package path → the kind of METS element declaring it (`dmdSec`, `digiprovMD`, `file` …).

    With `index`, a reference that matches a file only when case is ignored is keyed by
    the file's actual path (as the reader declares it).
    """
    result: dict[str, str] = {}

    def add(path: str | None, kind: str) -> None:
        if path is None:
            return
        actual = index.lookup(path)[0] if index is not None else None
        result.setdefault(actual or path, kind)

    for doc in docs:
        for section in doc.md_sections():
            for ref in section.mdrefs:
                add(ref.href.path, section.kind)
        for mets_file in doc.files():
            for flocat in mets_file.flocats:
                add(flocat.href.path, "file")
    return result


# TT 05 practice: (requirement, kind or "*", scope "root"/"rep"/"*") → severity cap.
_TT05_CAPS: dict[tuple[str, str, str], Severity] = {
    ("CSIPSTR1", "*", "*"): WARNING,
    ("CSIP15", "*", "*"): WARNING,
    ("CSIP16", "*", "*"): WARNING,
    ("CSIP31", "MISSING", "*"): INFO,
    ("CSIP32", "MISSING", "*"): INFO,
    ("SIP2", "CSIP-PROFILE", "*"): INFO,
    ("CSIP108", "*", "*"): WARNING,
    ("CSIP1", "REP-ID", "rep"): INFO,
    **{(f"CSIP{n}", "*", "rep"): WARNING for n in (4, 10, 11, 12, 13, 14, 88, 89, 91, 92)},
}


# ---------------------------------------------------------------- vocabularies and schema

_VOCAB_FILES = {
    "content_category": "CSIPVocabularyContentCategory.xml",
    "content_information_type": "CSIPVocabularyContentInformationType.xml",
    "oais_package_type": "CSIPVocabularyOAISPackageType.xml",
    "note_type": "CSIPVocabularyNoteType.xml",
    "agent_other_type": "CSIPVocabularyAgentOtherType.xml",
    "status": "CSIPVocabularyStatus.xml",
    "file_grp_label": "CSIPVocabularyFileGrpAndStructMapDivisionLabel.xml",
    "struct_map_type": "CSIPVocabularyStructMapType.xml",
    "struct_map_label": "CSIPVocabularyStructMapLabel.xml",
    "record_status": "SIPVocabularyRecordStatus.xml",
    "alt_record_id_type": "SIPVocabularyRecordIDType.xml",
}


@lru_cache(maxsize=1)
def vocabularies() -> dict[str, tuple[str, ...]]:
    """The DILCIS vocabularies shipped in `ingest/schemas/` (trusted files)."""
    result: dict[str, tuple[str, ...]] = {}
    for key, name in _VOCAB_FILES.items():
        tree = etree.parse(str(SCHEMA_DIR / name), etree.XMLParser(no_network=True, resolve_entities=False))
        terms = tree.getroot().iterfind(".//{https://DILCIS.eu/XML/Vocabularies/IP}Term")
        result[key] = tuple((term.text or "").strip() for term in terms)
    # TT 05 and the METS world spell it REPLACEMENT; the SIP vocabulary file has a typo.
    result["record_status"] = (*result["record_status"], "REPLACEMENT")
    return result


def _fold(value: str) -> str:
    return " ".join(value.replace("–", "-").replace("—", "-").casefold().split())


def _in_vocab(value: str, key: str, *, ignore_case: bool = False) -> bool:
    terms = vocabularies()[key]
    if value in terms:
        return True
    return ignore_case and _fold(value) in {_fold(t) for t in terms}


class _LocalSchemas(etree.Resolver):
    """Serve the XLink schema import of mets.xsd from disk; nothing is ever fetched."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> Any:
        name = system_url.rsplit("/", 1)[-1]
        local = SCHEMA_DIR / name
        if name.endswith(".xsd") and local.is_file():
            resolver: Any = self
            return resolver.resolve_filename(str(local), context)
        return None


_SCHEMA_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def mets_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "mets.xsd"), parser))


def validate_mets_schema(doc: MetsDocument, ctx: CheckContext) -> bool:
    """Validate one METS file against METS 1.12 (+ XLink); reports one finding when invalid."""
    with _SCHEMA_LOCK:
        schema = mets_schema()
        valid = bool(schema.validate(doc.element))
        log: Any = schema.error_log
        errors = list(log)
    if valid:
        return True
    first = errors[0] if errors else None
    ctx.report(
        METS_SCHEMA_INVALID,
        path=doc.path,
        count=len(errors),
        line=first.line if first else "?",
        message=(first.message if first else "")[:300],
    )
    return False


def root_mets_missing(source: PackageSource) -> Finding:
    """The CSIPSTR4 finding for a package without `METS.xml` at its root."""
    names = sorted(e.path for e in source.entries() if "/" not in e.path)
    found = ", ".join(names[:10]) + (" …" if len(names) > 10 else "") if names else "—"
    return CODES[("CSIPSTR4", "MISSING")].at(path="METS.xml", found=found)


# ---------------------------------------------------------------- the run


@dataclass
class _Pending:
    code: Code
    severity: Severity
    params: dict[str, Any]
    wheres: list[str] = field(default_factory=list)


@dataclass
class _Run:
    source: PackageSource
    index: PathIndex
    ctx: CheckContext
    tt05: bool
    root: MetsDocument | None
    reps: dict[str, MetsDocument]
    pending: dict[tuple[str, str, str], _Pending] = field(default_factory=dict)

    @property
    def docs(self) -> list[MetsDocument]:
        return ([self.root] if self.root else []) + list(self.reps.values())

    def is_rep(self, doc: MetsDocument) -> bool:
        return doc is not self.root

    def report(
        self,
        req: str,
        kind: str,
        doc: MetsDocument | None = None,
        *,
        where: str = "mets",
        line: int | None = None,
        path: str | None = None,
        severity: Severity | None = None,
        **params: Any,
    ) -> None:
        code = CODES[(req, kind)]
        computed = self.severity(code, req, kind, doc)
        if severity is not None and severity.rank < computed.rank:
            computed = severity
        severity = computed
        target = path if path is not None else (doc.path if doc else "")
        key = (code.code, target, severity.value)
        if line is None and doc is not None and where == "mets":
            line = line_of(doc.element)
        location = where if line is None else f"{where}:{line}"
        if key in self.pending:
            self.pending[key].wheres.append(location)
            return
        values = {"path": target, "where": where, "line": line if line is not None else "?", **params}
        self.pending[key] = _Pending(code, severity, values, [location])

    def severity(self, code: Code, req: str, kind: str, doc: MetsDocument | None) -> Severity:
        if not self.tt05:
            return code.severity
        scope = "rep" if doc is not None and self.is_rep(doc) else "root"
        caps = [
            cap
            for (r, k, s), cap in _TT05_CAPS.items()
            if r == req and k in ("*", kind) and s in ("*", scope)
        ]
        if not caps:
            return code.severity
        cap = min(caps, key=lambda c: c.rank)
        return cap if cap.rank < code.severity.rank else code.severity

    def flush(self) -> None:
        for pending in self.pending.values():
            params = dict(pending.params)
            if len(pending.wheres) > 1:
                params["where"] = f"{params['where']} (+{len(pending.wheres) - 1})"
            self.ctx.report(pending.code, severity=pending.severity, **params)
        self.pending.clear()


def check_csip(
    source: PackageSource,
    root_mets: MetsDocument | None,
    rep_mets: dict[str, MetsDocument],
    ctx: CheckContext,
    *,
    tt05: bool = False,
    index: PathIndex | None = None,
) -> None:
    """Check a package against E-ARK CSIP 2.0.4 / SIP 2.0.4; see the module docstring.

    `index` is the package's path index when the caller has one already.
    """
    run = _Run(
        source=source,
        index=index if index is not None else PathIndex(e.path for e in source.entries()),
        ctx=ctx,
        tt05=tt05,
        root=root_mets,
        reps=dict(rep_mets),
    )
    before = len(ctx.findings)
    _check_folders(run)
    for doc in run.docs:
        _check_document(run, doc)
    if run.docs:
        _check_metadata_files(run)
    run.flush()
    invalid = sum(1 for doc in run.docs if not validate_mets_schema(doc, ctx))
    _record_event(ctx, before, len(run.docs), invalid)


def _record_event(ctx: CheckContext, before: int, documents: int, invalid: int) -> None:
    own = ctx.findings[before:]
    errors = sum(1 for f in own if f.severity is ERROR)
    warnings = sum(1 for f in own if f.severity is WARNING)
    outcome = Outcome.FAILURE if errors else Outcome.WARNING if warnings else Outcome.SUCCESS
    ctx.record(
        event(
            EventType.VALIDATION,
            AGENT,
            outcome,
            "Kiểm tra cấu trúc gói và METS theo E-ARK CSIP 2.0.4 / E-ARK SIP 2.0.4",
            outcome_detail=f"mets={documents} schema_invalid={invalid} errors={errors} warnings={warnings}",
        )
    )


# ---------------------------------------------------------------- folder structure (CSIPSTR)


def _check_folders(run: _Run) -> None:
    index, source = run.index, run.source
    top = index.children("")
    root_folders = {name for name in top if index.folder(name)}
    is_archive = source.name.lower().endswith(ARCHIVE_SUFFIXES)
    if is_archive and not source.root:
        run.report("CSIPSTR1", "ROOT", path=source.name)
    if "metadata" not in root_folders:
        run.report("CSIPSTR5", "MISSING", path="metadata/", where="/")
    if "representations" not in root_folders:
        run.report("CSIPSTR9", "MISSING", path="representations/", where="/")
    _check_representation_folders(run)
    schema_folders = [f for f in index.folders if f == "schemas" or re.fullmatch(r"representations/[^/]+/schemas", f)]
    if not schema_folders:
        run.report("CSIPSTR15", "MISSING", path="schemas/", where="/")
    extra = sorted(root_folders - STANDARD_ROOT_FOLDERS)
    if extra:
        run.report("CSIPSTR14", "EXTRA", path="/", value=", ".join(extra))


def representation_folders(index: PathIndex) -> list[str]:
    """Names of the folders under `representations/`."""
    return sorted(name for name in index.children("representations") if index.folder(f"representations/{name}"))


def _check_representation_folders(run: _Run) -> None:
    index = run.index
    loose = [p for p in index.under("representations") if p.count("/") == 1]
    if loose:
        run.report("CSIPSTR10", "LOOSE", path="representations/", count=len(loose), example=loose[0])
    for rep in representation_folders(index):
        folder = f"representations/{rep}"
        names = index.children(folder)
        folders = {n for n in names if index.folder(f"{folder}/{n}")}
        if "data" not in folders:
            run.report("CSIPSTR11", "MISSING", path=f"{folder}/data/", where=folder)
        if "METS.xml" not in names:
            run.report("CSIPSTR12", "MISSING", path=f"{folder}/METS.xml", where=folder)
        if "metadata" not in folders:
            run.report("CSIPSTR13", "MISSING", path=f"{folder}/metadata/", where=folder)
        extra = sorted(folders - STANDARD_REP_FOLDERS)
        if extra:
            run.report("CSIPSTR14", "EXTRA", path=f"{folder}/", value=", ".join(extra))


def _metadata_folder_files(index: PathIndex, leaf: str) -> list[str]:
    """Files under `metadata/<leaf>/` of the package or of any representation."""
    pattern = re.compile(rf"^(?:representations/[^/]+/)?metadata/{leaf}/")
    return sorted(p for p in index.paths if pattern.match(p))


def _check_metadata_files(run: _Run) -> None:
    """CSIP21/31/32 and CSIPSTR6/7: metadata files on disk against their METS references."""
    index = run.index
    root = run.root
    target = root.path if root else "METS.xml"
    dmd_refs = {_actual(index, ref) for doc in run.docs for s in doc.dmd_secs for ref in s.mdrefs}
    amd_refs = {_actual(index, ref) for doc in run.docs for s in doc.amd_sections() for ref in s.mdrefs}
    descriptive = _metadata_folder_files(index, "descriptive")
    unreferenced = [p for p in descriptive if p not in dmd_refs and not _is_placeholder(p)]
    if unreferenced:
        run.report("CSIP21", "UNREFERENCED", path=target, count=len(unreferenced), example=unreferenced[0])
    preservation = [p for p in _metadata_folder_files(index, "preservation") if not _is_placeholder(p)]
    any_amd = any(doc.amd_secs for doc in run.docs)
    if preservation and not any_amd:
        run.report("CSIP31", "UNDESCRIBED", path=target, count=len(preservation), example=preservation[0])
    undescribed = [p for p in preservation if p not in amd_refs]
    if undescribed:
        run.report("CSIP32", "UNDESCRIBED", path=target, count=len(undescribed), example=undescribed[0])
    for doc in run.docs:
        _check_metadata_placement(run, doc)


def _is_placeholder(path: str) -> bool:
    return posixpath.basename(path) in (".gitkeep", ".keep", ".DS_Store", "Thumbs.db")


def _actual(index: PathIndex, ref: MdRef) -> str | None:
    if ref.href.path is None:
        return None
    return index.lookup(ref.href.path)[0]


def _check_metadata_placement(run: _Run, doc: MetsDocument) -> None:
    outside_dmd = [
        ref.href.path
        for s in doc.dmd_secs
        for ref in s.mdrefs
        if ref.href.path and "metadata/descriptive/" not in ref.href.path
    ]
    if outside_dmd:
        run.report("CSIPSTR7", "PLACE", doc, count=len(outside_dmd), example=outside_dmd[0])
    outside_prov = [
        ref.href.path
        for s in doc.amd_sections()
        if s.kind == "digiprovMD"
        for ref in s.mdrefs
        if ref.href.path and "metadata/preservation/" not in ref.href.path
    ]
    if outside_prov:
        run.report("CSIPSTR6", "PLACE", doc, count=len(outside_prov), example=outside_prov[0])


# ---------------------------------------------------------------- one METS document


def _check_document(run: _Run, doc: MetsDocument) -> None:
    is_root = doc is run.root
    _check_mets_element(run, doc, is_root)
    _check_header(run, doc, is_root)
    _check_dmd_secs(run, doc)
    _check_amd_secs(run, doc)
    _check_file_secs(run, doc, is_root)
    _check_struct_map(run, doc, is_root)


def _rep_name(doc: MetsDocument) -> str | None:
    match = re.fullmatch(r"representations/([^/]+)", doc.folder)
    return match.group(1) if match else None


def _package_id(source: PackageSource) -> str:
    if source.root:
        return source.root
    name = source.name.rstrip("/")
    lowered = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_mets_element(run: _Run, doc: MetsDocument, is_root: bool) -> None:
    line = line_of(doc.element)
    if doc.objid is None:
        run.report("CSIP1", "MISSING", doc, line=line)
    elif not doc.objid.strip():
        run.report("CSIP1", "EMPTY", doc, line=line)
    elif is_root:
        package_id = _package_id(run.source)
        if package_id and doc.objid != package_id:
            run.report("CSIP1", "PACKAGE-ID", doc, line=line, value=doc.objid, expected=package_id)
    else:
        rep = _rep_name(doc)
        if rep and doc.objid != rep:
            run.report("CSIP1", "REP-ID", doc, line=line, value=doc.objid, expected=rep)
    if is_root and doc.label is None:
        run.report("SIP1", "MISSING", doc, line=line)
    elif is_root and doc.label is not None and not doc.label.strip():
        run.report("SIP1", "EMPTY", doc, line=line)
    _check_content_category(run, doc, line)
    _check_content_information_type(run, doc, is_root, line)
    _check_profile(run, doc, is_root, line)


def _check_content_category(run: _Run, doc: MetsDocument, line: int | None) -> None:
    if doc.type is None:
        run.report("CSIP2", "MISSING", doc, line=line)
    elif not doc.type.strip():
        run.report("CSIP2", "EMPTY", doc, line=line)
    elif not _in_vocab(doc.type, "content_category", ignore_case=True):
        run.report("CSIP2", "VALUE", doc, line=line, value=doc.type, expected="VocabularyContentCategory")
    elif doc.type.upper() == "OTHER" and not (doc.other_type or "").strip():
        run.report("CSIP3", "MISSING", doc, line=line)


def _check_content_information_type(run: _Run, doc: MetsDocument, is_root: bool, line: int | None) -> None:
    cit = doc.content_information_type
    if cit is None:
        if not is_root:
            run.report("CSIP4", "MISSING", doc, line=line)
        return
    if not _in_vocab(cit, "content_information_type", ignore_case=True):
        run.report("CSIP4", "VALUE", doc, line=line, value=cit, expected="VocabularyContentInformationType")
    elif cit.upper() == "OTHER" and not (doc.other_content_information_type or "").strip():
        run.report("CSIP5", "MISSING", doc, line=line)


def _check_profile(run: _Run, doc: MetsDocument, is_root: bool, line: int | None) -> None:
    profile = doc.profile
    if profile is None:
        run.report("CSIP6", "MISSING", doc, line=line)
        if is_root:
            run.report("SIP2", "MISSING", doc, line=line)
        return
    if not profile.strip():
        run.report("CSIP6", "EMPTY", doc, line=line)
        if is_root:
            run.report("SIP2", "EMPTY", doc, line=line)
        return
    match = _PROFILE.match(profile.strip())
    if match is None:
        run.report("CSIP6", "VALUE", doc, line=line, value=profile, expected="an E-ARK profile URL")
    if not is_root:
        return
    if match is not None and match.group(2).upper() == "SIP":
        pass
    elif match is not None and match.group(2).upper() == "CSIP":
        run.report("SIP2", "CSIP-PROFILE", doc, line=line, value=profile)
    else:
        run.report("SIP2", "VALUE", doc, line=line, value=profile, expected=SIP_PROFILE)


# ---------------------------------------------------------------- metsHdr


_DATETIME_PARTS = re.compile(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$")
_REP_DATA = re.compile(r"^representations/[^/]+/data/")


@lru_cache(maxsize=4096)
def _is_datetime(value: str) -> bool:
    """Cached: a package states the same creation times on file after file."""
    if not _DATETIME.match(value.strip()):
        return False
    return _to_datetime(value) is not None


def _to_datetime(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00")
    match = _DATETIME_PARTS.match(text)
    if match:
        fraction = (match.group(2) or "")[:7]
        text = match.group(1) + fraction + match.group(3)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _check_header(run: _Run, doc: MetsDocument, is_root: bool) -> None:
    if not doc.headers:
        run.report("CSIP117", "MISSING", doc)
        return
    if len(doc.headers) > 1:
        run.report("CSIP117", "MANY", doc, count=len(doc.headers), limit=1)
    header = doc.headers[0]
    where, line = "metsHdr", header.line
    if header.create_date is None:
        run.report("CSIP7", "MISSING", doc, where=where, line=line)
    elif not _is_datetime(header.create_date):
        run.report("CSIP7", "FORMAT", doc, where=where, line=line, value=header.create_date, expected="xs:dateTime")
    _check_last_modified(run, doc, where, line)
    package_type = header.oais_package_type
    if package_type is None:
        run.report("CSIP9", "MISSING", doc, where=where, line=line)
    elif not _in_vocab(package_type, "oais_package_type"):
        run.report("CSIP9", "VALUE", doc, where=where, line=line, value=package_type,
                   expected="SIP, AIP, DIP, AIU, AIC")
    if is_root:
        if package_type is None:
            run.report("SIP4", "MISSING", doc, where=where, line=line)
        elif package_type != "SIP":
            run.report("SIP4", "VALUE", doc, where=where, line=line, value=package_type, expected="SIP")
        _check_record_status(run, doc, header.record_status, line)
        _check_alt_record_ids(run, doc)
        _check_sip_agents(run, doc)
    _check_creator_agent(run, doc)


def _check_last_modified(run: _Run, doc: MetsDocument, where: str, line: int | None) -> None:
    header = doc.headers[0]
    if header.last_mod_date is None:
        return
    if not _is_datetime(header.last_mod_date):
        run.report("CSIP8", "FORMAT", doc, where=where, line=line, value=header.last_mod_date, expected="xs:dateTime")
        return
    created = _to_datetime(header.create_date or "")
    modified = _to_datetime(header.last_mod_date)
    if created and modified and (created.tzinfo is None) == (modified.tzinfo is None) and modified < created:
        run.report("CSIP8", "ORDER", doc, where=where, line=line, value=header.last_mod_date,
                   expected=header.create_date)


def _check_record_status(run: _Run, doc: MetsDocument, status: str | None, line: int | None) -> None:
    if status is None:
        run.report("SIP3", "MISSING", doc, where="metsHdr", line=line)
    elif not status.strip():
        run.report("SIP3", "EMPTY", doc, where="metsHdr", line=line)
    elif not _in_vocab(status, "record_status"):
        run.report("SIP3", "VALUE", doc, where="metsHdr", line=line, value=status,
                   expected="NEW, SUPPLEMENT, REPLACEMENT, TEST, VERSION, DELETE, OTHER")


def _check_alt_record_ids(run: _Run, doc: MetsDocument) -> None:
    header = doc.headers[0]
    for req, alt_type, optional_once in (
        ("SIP5", "SUBMISSIONAGREEMENT", True),
        ("SIP6", "PREVIOUSSUBMISSIONAGREEMENT", False),
        ("SIP7", "REFERENCECODE", True),
        ("SIP8", "PREVIOUSREFERENCECODE", False),
    ):
        found = [alt for alt in header.alt_record_ids if alt.type == alt_type]
        where = f"metsHdr/altRecordID[@TYPE='{alt_type}']"
        if optional_once and not found:
            run.report(req, "MISSING", doc, where="metsHdr", line=header.line)
        if optional_once and len(found) > 1:
            run.report(req, "MANY", doc, where=where, line=found[1].line, count=len(found), limit=1)
        for alt in found:
            if not alt.value:
                run.report(req, "EMPTY", doc, where=where, line=alt.line)


def _software_agent(agents: list[Agent]) -> Agent | None:
    """The agent CSIP10-16 are about: the creating software (best candidate)."""
    tests: tuple[Callable[[Agent], bool], ...] = (
        lambda a: a.other_type == "SOFTWARE",
        lambda a: a.role == "CREATOR" and a.type == "OTHER",
        lambda a: a.role == "CREATOR" and a.type is None,
        lambda a: a.role == "CREATOR" and a.type not in ("ORGANIZATION", "INDIVIDUAL"),
    )
    for test in tests:
        for agent in agents:
            if test(agent):
                return agent
    creators = [a for a in agents if a.role == "CREATOR"]
    if len(creators) == 1 and len(agents) == 1:
        return creators[0]
    return None


def _check_creator_agent(run: _Run, doc: MetsDocument) -> None:
    header = doc.headers[0]
    if not header.agents:
        run.report("CSIP10", "MISSING", doc, where="metsHdr", line=header.line)
        return
    agent = _software_agent(header.agents)
    if agent is None:
        run.report("CSIP11", "MISSING", doc, where="metsHdr", line=header.line)
        return
    where, line = "metsHdr/agent", agent.line
    if agent.role != "CREATOR":
        run.report("CSIP11", "MISSING", doc, where=where, line=line)
    if agent.type is None:
        run.report("CSIP12", "MISSING", doc, where=where, line=line)
    elif agent.type != "OTHER":
        run.report("CSIP12", "VALUE", doc, where=where, line=line, value=agent.type, expected="OTHER")
    if agent.other_type is None:
        run.report("CSIP13", "MISSING", doc, where=where, line=line)
    elif agent.other_type != "SOFTWARE":
        run.report("CSIP13", "VALUE", doc, where=where, line=line, value=agent.other_type, expected="SOFTWARE")
    if not agent.names:
        run.report("CSIP14", "MISSING", doc, where=where, line=line)
    elif not agent.names[0]:
        run.report("CSIP14", "EMPTY", doc, where=where, line=line)
    if not agent.notes:
        run.report("CSIP15", "MISSING", doc, where=where, line=line)
    elif not any(n.note_type == "SOFTWARE VERSION" for n in agent.notes):
        note = agent.notes[0]
        if note.note_type is None:
            run.report("CSIP16", "MISSING", doc, where=f"{where}/note", line=line)
        else:
            run.report("CSIP16", "VALUE", doc, where=f"{where}/note", line=line, value=note.note_type,
                       expected="SOFTWARE VERSION")


def _check_sip_agents(run: _Run, doc: MetsDocument) -> None:
    for agent in doc.headers[0].agents:
        where = "metsHdr/agent"
        if agent.role == "PRESERVATION" and agent.type != "ORGANIZATION":
            run.report("SIP28", "VALUE", doc, where=where, line=agent.line, value=agent.type or "",
                       expected="ORGANIZATION")
        if agent.type != "ORGANIZATION":
            continue
        for note in agent.notes:
            if note.note_type is None:
                run.report("SIP14", "MISSING", doc, where=f"{where}/note", line=agent.line)
            elif note.note_type != "IDENTIFICATIONCODE":
                run.report("SIP14", "VALUE", doc, where=f"{where}/note", line=agent.line, value=note.note_type,
                           expected="IDENTIFICATIONCODE")


# ---------------------------------------------------------------- dmdSec / amdSec

_MDREF_FIRST = {"dmdSec": 22, "digiprovMD": 36, "rightsMD": 49}
_SECTION_REQS = {
    "dmdSec": ("CSIP18", "CSIP20", "CSIP21"),
    "digiprovMD": ("CSIP33", "CSIP34", "CSIP35"),
    "rightsMD": ("CSIP46", "CSIP47", "CSIP48"),
}


def _check_dmd_secs(run: _Run, doc: MetsDocument) -> None:
    if not doc.dmd_secs:
        run.report("CSIP17", "MISSING", doc)
    for section in doc.dmd_secs:
        _check_section(run, doc, section)
        where = f"dmdSec[@ID='{section.id or ''}']"
        if section.created is None:
            run.report("CSIP19", "MISSING", doc, where=where, line=section.line)
        elif not _is_datetime(section.created):
            run.report("CSIP19", "FORMAT", doc, where=where, line=section.line, value=section.created,
                       expected="xs:dateTime")


def _check_amd_secs(run: _Run, doc: MetsDocument) -> None:
    index = run.index
    own_preservation = index.under(posixpath.join(doc.folder, "metadata/preservation"))
    own_preservation = [p for p in own_preservation if not _is_placeholder(p)]
    if not doc.amd_secs:
        run.report("CSIP31", "MISSING", doc)
    elif not own_preservation:
        run.report("CSIP31", "NO-FILES", doc, where="amdSec", line=doc.amd_secs[0].line)
    provenance = [s for s in doc.amd_sections() if s.kind == "digiprovMD"]
    if not provenance:
        run.report("CSIP32", "MISSING", doc)
    elif not own_preservation:
        run.report("CSIP32", "NO-FILES", doc, where="amdSec/digiprovMD", line=provenance[0].line)
    for section in doc.amd_sections():
        if section.kind in _SECTION_REQS:
            _check_section(run, doc, section)


def _check_section(run: _Run, doc: MetsDocument, section: MdSection) -> None:
    id_req, status_req, mdref_req = _SECTION_REQS[section.kind]
    where = f"{section.kind}[@ID='{section.id or ''}']"
    if section.id is None:
        run.report(id_req, "MISSING", doc, where=section.kind, line=section.line)
    if section.status is None:
        run.report(status_req, "MISSING", doc, where=where, line=section.line)
    elif not _in_vocab(section.status, "status"):
        run.report(status_req, "VALUE", doc, where=where, line=section.line, value=section.status,
                   expected="CURRENT, SUPERSEDED")
    if not section.mdrefs and not section.mdwraps:
        run.report(mdref_req, "MISSING", doc, where=where, line=section.line)
    for ref in section.mdrefs:
        _check_mdref(run, doc, section.kind, ref, f"{where}/mdRef")


def _check_mdref(run: _Run, doc: MetsDocument, kind: str, ref: MdRef, where: str) -> None:
    first = _MDREF_FIRST[kind]
    req = [f"CSIP{first + i}" for i in range(9)]
    line = ref.line
    _check_locator(run, doc, ref, where, loctype_req=req[0], xlink_req=req[1], href_req=req[2])
    if ref.mdtype is None:
        run.report(req[3], "MISSING", doc, where=where, line=line)
    elif ref.mdtype not in MDTYPES:
        run.report(req[3], "VALUE", doc, where=where, line=line, value=ref.mdtype, expected="a METS MDTYPE")
    _check_mimetype(run, doc, ref.mimetype, req[4], where, line)
    _check_size(run, doc, ref.size, req[5], where, line)
    _check_created(run, doc, ref.created, req[6], where, line)
    _check_checksum(run, doc, ref.checksum, ref.checksum_type, req[7], req[8], where, line)


def _check_locator(
    run: _Run, doc: MetsDocument, loc: Locator, where: str, *, loctype_req: str, xlink_req: str, href_req: str
) -> None:
    line = loc.line
    if loc.loctype is None:
        run.report(loctype_req, "MISSING", doc, where=where, line=line)
    elif loc.loctype != "URL":
        run.report(loctype_req, "VALUE", doc, where=where, line=line, value=loc.loctype, expected="URL")
    if loc.xlink_type is None:
        run.report(xlink_req, "MISSING", doc, where=where, line=line)
    elif loc.xlink_type != "simple":
        run.report(xlink_req, "VALUE", doc, where=where, line=line, value=loc.xlink_type, expected="simple")
    if loc.href.raw is None:
        run.report(href_req, "MISSING", doc, where=where, line=line)
    elif loc.href.problem == "empty":
        run.report(href_req, "EMPTY", doc, where=where, line=line)


def _check_mimetype(run: _Run, doc: MetsDocument, value: str | None, req: str, where: str, line: int | None) -> None:
    if value is None:
        run.report(req, "MISSING", doc, where=where, line=line)
        return
    if len(value) > MAX_MIMETYPE_CHARS:
        run.report(req, "LONG", doc, where=where, line=line, length=len(value))
    if not _MIME.match(value.strip()):
        shown = value if len(value) <= 60 else value[:57] + "…"
        run.report(req, "VALUE", doc, where=where, line=line, value=shown, expected="an IANA media type")


def _check_size(run: _Run, doc: MetsDocument, value: str | None, req: str, where: str, line: int | None) -> None:
    if value is None:
        run.report(req, "MISSING", doc, where=where, line=line)
    elif not value.strip().isdecimal():
        run.report(req, "FORMAT", doc, where=where, line=line, value=value, expected="a number of bytes")


def _check_created(run: _Run, doc: MetsDocument, value: str | None, req: str, where: str, line: int | None) -> None:
    if value is None:
        run.report(req, "MISSING", doc, where=where, line=line)
    elif not _is_datetime(value):
        run.report(req, "FORMAT", doc, where=where, line=line, value=value, expected="xs:dateTime")


def _check_checksum(
    run: _Run,
    doc: MetsDocument,
    checksum: str | None,
    checksum_type: str | None,
    req: str,
    type_req: str,
    where: str,
    line: int | None,
) -> None:
    if checksum_type is None:
        run.report(type_req, "MISSING", doc, where=where, line=line)
    elif checksum_type not in CHECKSUM_TYPES:
        run.report(type_req, "VALUE", doc, where=where, line=line, value=checksum_type,
                   expected=", ".join(sorted(CHECKSUM_TYPES)))
    if checksum is None:
        run.report(req, "MISSING", doc, where=where, line=line)
        return
    hexed = normalise_checksum(checksum)
    algorithm = checksum_algorithm(checksum_type)
    expected_length = HEX_LENGTHS.get(algorithm or "")
    if hexed is None:
        run.report(req, "FORMAT", doc, where=where, line=line, value=checksum, expected="hexadecimal digits")
    elif expected_length and len(hexed) != expected_length:
        run.report(req, "FORMAT", doc, where=where, line=line, value=checksum,
                   expected=f"{expected_length} hex digits for {checksum_type}")


# ---------------------------------------------------------------- fileSec


def _check_file_secs(run: _Run, doc: MetsDocument, is_root: bool) -> None:
    if not doc.file_secs:
        run.report("CSIP58", "MISSING", doc)
        return
    if len(doc.file_secs) > 1:
        run.report("CSIP58", "MANY", doc, where="fileSec", line=doc.file_secs[1].line, count=len(doc.file_secs),
                   limit=1)
    for file_sec in doc.file_secs:
        if file_sec.id is None:
            run.report("CSIP59", "MISSING", doc, where="fileSec", line=file_sec.line)
    uses = [g.use or "" for g in doc.top_groups()]
    line = doc.file_secs[0].line
    if is_root:
        if not any(u.startswith("Representations") for u in uses):
            run.report("CSIP114", "MISSING", doc, where="fileSec", line=line)
        if "Schemas" not in uses:
            run.report("CSIP113", "MISSING", doc, where="fileSec", line=line)
    documentation = [p for p in run.index.under(posixpath.join(doc.folder, "documentation")) if not _is_placeholder(p)]
    if documentation and "Documentation" not in uses:
        run.report("CSIP60", "MISSING", doc, where="fileSec", line=line)
    ids = set(doc.ids)
    admin_ids = _admin_ids(doc)
    dmd_ids = {s.id for s in doc.dmd_secs if s.id}
    for group in doc.groups():
        _check_group(run, doc, group, is_root, admin_ids)
    absent: dict[str, int] = {"SIP32": 0, "SIP34": 0}
    for mets_file in doc.files():
        _check_file(run, doc, mets_file, admin_ids, dmd_ids, ids)
        if _is_data_file(doc, mets_file):
            for req, names in (("SIP32", ("FILEFORMATNAME",)), ("SIP34", ("FILEFORMATREGISTRY", "FORMATREGISTRY"))):
                if not any(n in mets_file.sip_attributes for n in names):
                    absent[req] += 1
    for req, count in absent.items():
        if count:
            run.report(req, "ABSENT", doc, count=count)


def _admin_ids(doc: MetsDocument) -> set[str]:
    result = {s.id for s in doc.amd_sections() if s.id}
    result |= {amd.id for amd in doc.amd_secs if amd.id}
    return result


def _is_data_file(doc: MetsDocument, mets_file: MetsFile) -> bool:
    path = mets_file.path or ""
    return bool(_REP_DATA.match(path))


def _check_group(run: _Run, doc: MetsDocument, group: FileGroup, is_root: bool, admin_ids: set[str]) -> None:
    where, line = f"fileGrp[@ID='{group.id or ''}']", group.line
    if group.id is None:
        run.report("CSIP65", "MISSING", doc, where="fileGrp", line=line)
    if group.use is None:
        if any(group is top for top in doc.top_groups()):
            run.report("CSIP64", "MISSING", doc, where=where, line=line)
    else:
        _check_group_use(run, doc, group, where)
    bad_admin = [i for i in group.admid if i not in admin_ids]
    if bad_admin:
        run.report("CSIP61", "REF", doc, where=where, line=line, value=" ".join(bad_admin),
                   target="amdSec/*/@ID")
    if (group.use or "").startswith("Representations"):
        cit = group.content_information_type
        if cit is None:
            run.report("CSIP62", "MISSING", doc, where=where, line=line)
        elif not _in_vocab(cit, "content_information_type", ignore_case=True):
            run.report("CSIP62", "VALUE", doc, where=where, line=line, value=cit,
                       expected="VocabularyContentInformationType")
    _check_other_content_information_type(run, doc, group, where)
    if not group.files and not group.groups:
        run.report("CSIP66", "MISSING", doc, where=where, line=line)


def _check_other_content_information_type(run: _Run, doc: MetsDocument, group: FileGroup, where: str) -> None:
    cit, other = group.content_information_type, group.other_content_information_type
    line = group.line
    if cit == "OTHER":
        if other is None:
            run.report("CSIP63", "MISSING", doc, where=where, line=line)
        elif not other.strip():
            run.report("CSIP63", "EMPTY", doc, where=where, line=line)
        elif _in_vocab(other, "content_information_type"):
            run.report("CSIP63", "VALUE", doc, where=where, line=line, value=other,
                       expected="a type outside VocabularyContentInformationType")
    elif other is not None:
        run.report("CSIP63", "UNEXPECTED", doc, where=where, line=line, value=other, expected=cit or "")


def _check_group_use(run: _Run, doc: MetsDocument, group: FileGroup, where: str) -> None:
    use = group.use or ""
    labels = vocabularies()["file_grp_label"]
    is_vocab = any(use == label or use.startswith(label + "/") for label in labels)
    in_rep_folder = bool(doc.folder) and run.index.folder(posixpath.join(doc.folder, use), ignore_case=True)
    if not is_vocab and not in_rep_folder:
        run.report("CSIP64", "VALUE", doc, where=where, line=group.line, value=use,
                   expected="a value beginning with Documentation, Schemas, Representations or Metadata")
        return
    if not _use_folder_exists(run, doc, group):
        run.report("CSIP64", "FOLDER", doc, where=where, line=group.line, value=use)


def _use_folder_exists(run: _Run, doc: MetsDocument, group: FileGroup) -> bool:
    use = (group.use or "").strip("/")
    candidates = [use]
    if doc.folder:
        candidates.append(posixpath.join(doc.folder, use))
    if any(run.index.folder(c, ignore_case=True) for c in candidates):
        return True
    tail = use.casefold()
    for mets_file in group.all_files():
        folder = posixpath.dirname(mets_file.path or "").casefold()
        if folder == tail or folder.endswith("/" + tail):
            return True
    return False


def _check_file(
    run: _Run,
    doc: MetsDocument,
    mets_file: MetsFile,
    admin_ids: set[str],
    dmd_ids: set[str],
    ids: set[str],
) -> None:
    where, line = f"file[@ID='{mets_file.id or ''}']", mets_file.line
    if mets_file.id is None:
        run.report("CSIP67", "MISSING", doc, where="file", line=line)
    _check_mimetype(run, doc, mets_file.mimetype, "CSIP68", where, line)
    _check_size(run, doc, mets_file.size, "CSIP69", where, line)
    _check_created(run, doc, mets_file.created, "CSIP70", where, line)
    _check_checksum(run, doc, mets_file.checksum, mets_file.checksum_type, "CSIP71", "CSIP72", where, line)
    bad_admin = [i for i in mets_file.admid if i not in admin_ids]
    if bad_admin:
        run.report("CSIP74", "REF", doc, where=where, line=line, value=" ".join(bad_admin),
                   target="amdSec/*/@ID")
    bad_dmd = [i for i in mets_file.dmdid if i not in dmd_ids]
    if bad_dmd:
        run.report("CSIP75", "REF", doc, where=where, line=line, value=" ".join(bad_dmd),
                   target="dmdSec/@ID")
    if not mets_file.flocats:
        if not mets_file.has_fcontent:
            run.report("CSIP76", "MISSING", doc, where=where, line=line)
    elif len(mets_file.flocats) > 1:
        run.report("CSIP76", "MANY", doc, where=where, line=line, count=len(mets_file.flocats), limit=1)
    for flocat in mets_file.flocats:
        _check_locator(run, doc, flocat, f"{where}/FLocat", loctype_req="CSIP77", xlink_req="CSIP78",
                       href_req="CSIP79")
    for req, names in (
        ("SIP32", ("FILEFORMATNAME",)),
        ("SIP33", ("FILEFORMATVERSION",)),
        ("SIP34", ("FILEFORMATREGISTRY", "FORMATREGISTRY")),
        ("SIP35", ("FILEFORMATKEY", "FORMATREGISTRYKEY")),
    ):
        for name in names:
            value = mets_file.sip_attributes.get(name)
            if value is not None and not value.strip():
                run.report(req, "EMPTY", doc, where=where, line=line)


# ---------------------------------------------------------------- structMap


_ROLE_REQS = {
    # role: (division SHOULD, division ID, division fptr, fptr FILEID)
    "Documentation": ("CSIP93", "CSIP94", "CSIP96", "CSIP116"),
    "Schemas": ("CSIP97", "CSIP98", "CSIP100", "CSIP118"),
    "Representations": ("CSIP101", "CSIP102", "CSIP104", "CSIP119"),
}


def _role(use: str | None) -> str | None:
    if use is None:
        return None
    if use == "Documentation":
        return "Documentation"
    if use == "Schemas":
        return "Schemas"
    if use == "Representations" or use.startswith("Representations/"):
        return "Representations"
    return None


def _check_struct_map(run: _Run, doc: MetsDocument, is_root: bool) -> None:
    if not doc.struct_maps:
        run.report("CSIP80", "MISSING", doc)
        return
    labelled = [s for s in doc.struct_maps if s.label == "CSIP"]
    if len(labelled) > 1:
        run.report("CSIP80", "MANY", doc, where="structMap", line=labelled[1].line, count=len(labelled), limit=1)
    struct_map = doc.csip_struct_map()
    assert struct_map is not None
    where, line = f"structMap[@ID='{struct_map.id or ''}']", struct_map.line
    if struct_map.type is None:
        run.report("CSIP81", "MISSING", doc, where=where, line=line)
    elif struct_map.type != "PHYSICAL":
        run.report("CSIP81", "VALUE", doc, where=where, line=line, value=struct_map.type, expected="PHYSICAL")
    if struct_map.label is None:
        run.report("CSIP82", "MISSING", doc, where=where, line=line)
    elif struct_map.label != "CSIP":
        run.report("CSIP82", "VALUE", doc, where=where, line=line, value=struct_map.label, expected="CSIP")
    if struct_map.id is None:
        run.report("CSIP83", "MISSING", doc, where="structMap", line=line)
    if not struct_map.divs:
        run.report("CSIP84", "MISSING", doc, where=where, line=line)
        return
    if len(struct_map.divs) > 1:
        run.report("CSIP84", "MANY", doc, where=where, line=struct_map.divs[1].line, count=len(struct_map.divs),
                   limit=1)
    top = struct_map.divs[0]
    if top.id is None:
        run.report("CSIP85", "MISSING", doc, where=f"{where}/div", line=top.line)
    if top.label is None:
        run.report("CSIP86", "MISSING", doc, where=f"{where}/div", line=top.line)
    elif doc.objid and top.label != doc.objid:
        run.report("CSIP86", "VALUE", doc, where=f"{where}/div", line=top.line, value=top.label, expected=doc.objid)
    _check_metadata_division(run, doc, top)
    targets = _fptr_targets(doc, struct_map)
    for role in ("Documentation", "Schemas"):
        _check_role_division(run, doc, top, role, targets)
    _check_representation_divisions(run, doc, top, targets, is_root)


def _fptr_targets(doc: MetsDocument, struct_map: StructMap) -> dict[str, FileGroup]:
    """fptr/@FILEID → the top-level file group it points at (directly or through a file)."""
    top_of: dict[str, FileGroup] = {}
    for top in doc.top_groups():
        for group in top.all_groups():
            if group.id:
                top_of[group.id] = top
            for mets_file in group.files:
                if mets_file.id:
                    top_of[mets_file.id] = top
    result: dict[str, FileGroup] = {}
    for div in struct_map.walk():
        for fptr in div.fptrs:
            if fptr.file_id and fptr.file_id in top_of:
                result[fptr.file_id] = top_of[fptr.file_id]
    return result


def _check_metadata_division(run: _Run, doc: MetsDocument, top: Div) -> None:
    divs = [d for d in top.divs if d.label == "Metadata"]
    has_metadata = bool(doc.dmd_secs) or any(amd.sections for amd in doc.amd_secs)
    if not divs:
        run.report("CSIP88", "MISSING", doc, where="structMap/div", line=top.line,
                   severity=None if has_metadata else WARNING)
        return
    div = divs[0]
    where = "div[@LABEL='Metadata']"
    if div.id is None:
        run.report("CSIP89", "MISSING", doc, where=where, line=div.line)
    admin_ids = _admin_ids(doc)
    section_admin = {s.id for s in doc.amd_sections() if s.id}
    listed_admin = set(div.admid)
    if section_admin and not (section_admin <= listed_admin or {a.id for a in doc.amd_secs if a.id} <= listed_admin):
        run.report("CSIP91", "MISSING", doc, where=where, line=div.line)
    bad_admin = sorted(listed_admin - admin_ids)
    if bad_admin:
        run.report("CSIP91", "REF", doc, where=where, line=div.line, value=" ".join(bad_admin),
                   target="amdSec/*/@ID")
    dmd_ids = {s.id for s in doc.dmd_secs if s.id}
    listed_dmd = set(div.dmdid)
    if dmd_ids - listed_dmd - _linked_dmd_ids(doc):
        run.report("CSIP92", "MISSING", doc, where=where, line=div.line)
    bad_dmd = sorted(listed_dmd - dmd_ids)
    if bad_dmd:
        run.report("CSIP92", "REF", doc, where=where, line=div.line, value=" ".join(bad_dmd),
                   target="dmdSec/@ID")


def _linked_dmd_ids(doc: MetsDocument) -> set[str]:
    """dmdSec IDs that other divisions reference (TT 05 MetadataLink/File divisions)."""
    struct_map = doc.csip_struct_map()
    if struct_map is None:
        return set()
    return {i for div in struct_map.walk() if div.label != "Metadata" for i in div.dmdid}


def _check_role_division(run: _Run, doc: MetsDocument, top: Div, role: str, targets: dict[str, FileGroup]) -> None:
    division_req, id_req, fptr_req, fileid_req = _ROLE_REQS[role]
    groups = [g for g in doc.top_groups() if _role(g.use) == role]
    divs = [d for d in top.divs if d.label == role]
    if groups and not divs:
        run.report(division_req, "MISSING", doc, where="structMap/div", line=top.line)
    for div in divs:
        where = f"div[@LABEL='{role}']"
        if div.id is None:
            run.report(id_req, "MISSING", doc, where=where, line=div.line)
        _check_division_fptrs(run, doc, div, role, groups, targets, fptr_req, fileid_req, where)
    referenced = {id(g) for g in targets.values()}
    for group in groups:
        if id(group) not in referenced:
            run.report(fileid_req, "UNREFERENCED", doc, where=f"fileGrp[@ID='{group.id or ''}']", line=group.line,
                       value=group.id or group.use or "")


def _check_division_fptrs(
    run: _Run,
    doc: MetsDocument,
    div: Div,
    role: str,
    groups: list[FileGroup],
    targets: dict[str, FileGroup],
    fptr_req: str,
    fileid_req: str,
    where: str,
) -> None:
    good = 0
    for fptr in div.fptrs:
        if not fptr.file_id:
            run.report(fileid_req, "MISSING", doc, where=f"{where}/fptr", line=fptr.line)
            continue
        target = targets.get(fptr.file_id)
        if target is None or _role(target.use) != role:
            for req in (fptr_req, fileid_req):
                run.report(req, "REF", doc, where=f"{where}/fptr", line=fptr.line, value=fptr.file_id,
                           target=f"fileGrp[@USE='{role}']/@ID")
        else:
            good += 1
    if groups and not good and not (role == "Representations" and div.mptrs):
        run.report(fptr_req, "MISSING", doc, where=where, line=div.line)


def _check_representation_divisions(
    run: _Run, doc: MetsDocument, top: Div, targets: dict[str, FileGroup], is_root: bool
) -> None:
    groups = [g for g in doc.top_groups() if _role(g.use) == "Representations"]
    plain = [d for d in top.divs if d.label == "Representations"]
    reps = [d for d in top.divs if (d.label or "").startswith("Representations/")]
    if groups and not plain and not reps:
        run.report("CSIP101", "MISSING", doc, where="structMap/div", line=top.line)
    for div in plain:
        where = "div[@LABEL='Representations']"
        if div.id is None:
            run.report("CSIP102", "MISSING", doc, where=where, line=div.line)
        _check_division_fptrs(run, doc, div, "Representations", groups, targets, "CSIP104", "CSIP119", where)
    covered = {id(g) for g in targets.values()}
    for div in reps:
        covered |= _check_representation_division(run, doc, div, groups)
    for group in groups:
        if id(group) not in covered:
            run.report("CSIP119", "UNREFERENCED", doc, where=f"fileGrp[@ID='{group.id or ''}']", line=group.line,
                       value=group.id or group.use or "")
    if is_root:
        labels = {d.label for d in reps}
        for rep in run.reps:
            if f"Representations/{rep}" not in labels and not any(d.mptrs for d in plain):
                run.report("CSIP105", "MISSING", doc, where="structMap/div", line=top.line)


def _check_representation_division(run: _Run, doc: MetsDocument, div: Div, groups: list[FileGroup]) -> set[int]:
    """CSIP106-112 for one `Representations/<name>` division; returns the groups it covers."""
    label = div.label or ""
    where = f"div[@LABEL='{label}']"
    if div.id is None:
        run.report("CSIP106", "MISSING", doc, where=where, line=div.line)
    own = [g for g in groups if g.use == label]
    group_ids = {g.id for g in own if g.id}
    file_ids = {f.id for g in own for f in g.all_files() if f.id}
    pointed = [fp.file_id for d in div.walk() for fp in d.fptrs if fp.file_id]
    if own and not any(p in group_ids or p in file_ids for p in pointed):
        run.report("CSIP108", "MISSING", doc, where=where, line=div.line)
    rep_folder = label.split("/", 1)[1].strip("/").lower() if "/" in label else ""
    rep_mets = next((p for p in run.index.paths if p.lower() == f"representations/{rep_folder}/mets.xml"), None)
    covered = {id(g) for g in own} if div.mptrs else set()
    if rep_mets is None:
        return covered
    if not div.mptrs:
        run.report("CSIP109", "MISSING", doc, where=where, line=div.line)
    elif len(div.mptrs) > 1:
        run.report("CSIP109", "MANY", doc, where=where, line=div.line, count=len(div.mptrs), limit=1)
    for mptr in div.mptrs:
        _check_locator(run, doc, mptr, f"{where}/mptr", loctype_req="CSIP112", xlink_req="CSIP111",
                       href_req="CSIP110")
        path = mptr.href.path
        if path is not None and run.index.lookup(path)[0] != rep_mets:
            run.report("CSIP110", "REF", doc, where=f"{where}/mptr", line=mptr.line, value=mptr.href.raw or "",
                       target=rep_mets)
    return covered


def iter_requirements() -> Iterator[Requirement]:
    for req in IMPLEMENTED:
        yield REQUIREMENTS[req]
