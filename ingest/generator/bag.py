"""Write a generated dossier as an earchive Circular 02 BagIt bag (docs/bagit-profile.md).

```
bag-<file code>/bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt
bag-<file code>/data/metadata/dossier.xml           <HoSo> with its fonds
bag-<file code>/data/metadata/documents/<stem>.xml  <VanBan>, listing files/<name>
bag-<file code>/data/files/<name>
```

Manifests are written here (not by bagit-python) so that bags stream straight
into a ZIP or tar.gz and faults can be placed in them; the tests validate the
result with bagit-python. Payload-Oxum counts the payload actually written, so
a missing or undeclared file shows only as itself.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from archive_core.premis import software_version
from archive_core.profiles.circular02 import document_to_xml, dossier_to_xml
from ingest.generator.archive import open_writer
from ingest.generator.faults import Fault, FaultOptions, apply_model_faults, check_supported
from ingest.generator.model import GeneratedDossier, GeneratedFile

PROFILE_IDENTIFIER = "urn:earchive:bagit-profile:circular02:1.0"
UNDECLARED_NAME = "ghi-chu-bo-sung.txt"
UNDECLARED_TEXT = "Ghi chú bổ sung của văn thư: tệp này không có trong manifest.\n".encode()
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

BagForm = Literal["folder", "zip", "tar.gz"]


@dataclass
class _Payload:
    path: str
    """Bag-relative (`data/...`)."""
    size: int
    sha256: str
    data: bytes | None = None
    source: GeneratedFile | None = None
    listed: bool = True
    """In manifest-sha256.txt."""
    present: bool = True
    """Written into the bag."""


def write_bag(
    generated: GeneratedDossier,
    out_dir: Path,
    *,
    form: BagForm = "zip",
    faults: Iterable[Fault] = (),
    options: FaultOptions | None = None,
) -> Path:
    """Write the bag; returns the folder, `.zip` or `.tar.gz` (replaced when it exists)."""
    chosen = check_supported(faults, "bagit")
    options = options or FaultOptions()
    g = apply_model_faults(generated, chosen, options)
    payload = _payload(g, chosen, options)
    present = [p for p in payload if p.present]
    oxum_bytes = sum(p.size for p in present) + (1 if Fault.WRONG_SIZE in chosen else 0)
    manifest = "".join(
        f"{_flip(p.sha256) if _is_victim_entry(p, g, options) and Fault.WRONG_CHECKSUM in chosen else p.sha256}"
        f"  {_escape(p.path)}\n"
        for p in sorted(payload, key=lambda p: p.path)
        if p.listed
    ).encode()
    info = _bag_info(g, oxum_bytes, len(present)).encode()
    tags = {"bagit.txt": BAGIT_TXT, "bag-info.txt": info, "manifest-sha256.txt": manifest}
    tagmanifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in tags.items()).encode()

    name = f"bag-{g.dossier.file_code or g.agency.code}"
    suffix = {"folder": "", "zip": ".zip", "tar.gz": ".tar.gz"}[form]
    target = out_dir / f"{name}{suffix}"
    writer = open_writer(target, form, name, g.created)
    try:
        for tag_name, data in tags.items():
            writer.add_bytes(tag_name, data)
        writer.add_bytes("tagmanifest-sha256.txt", tagmanifest)
        for item in present:
            if item.data is not None:
                writer.add_bytes(item.path, item.data, compress=True)
                continue
            assert item.source is not None
            digest = writer.add_stream(item.path, item.source.chunks(), item.size)
            if digest != item.sha256:
                raise RuntimeError(f"{item.path}: rendered bytes changed between hashing and writing")
    finally:
        writer.close()
    return target


def _victim_name(g: GeneratedDossier, options: FaultOptions) -> str | None:
    if not g.documents:
        return None
    victim = g.documents[min(options.victim, len(g.documents) - 1)]
    return f"data/files/{victim.files[0].name}" if victim.files else None


def _is_victim_entry(item: _Payload, g: GeneratedDossier, options: FaultOptions) -> bool:
    return item.path == _victim_name(g, options)


def _payload(g: GeneratedDossier, faults: list[Fault], options: FaultOptions) -> list[_Payload]:
    dossier = copy.deepcopy(g.dossier)
    for doc in dossier.documents:
        for ref in doc.files:
            ref.path = f"files/{ref.path}"
    items: list[_Payload] = [_xml("data/metadata/dossier.xml", dossier_to_xml(dossier))]
    victim = _victim_name(g, options)
    for generated_doc, doc in zip(g.documents, dossier.documents, strict=True):
        items.append(_xml(f"data/metadata/documents/{generated_doc.stem}.xml", document_to_xml(doc)))
        for file in generated_doc.files:
            path = f"data/files/{file.name}"
            missing = path == victim and Fault.MISSING_FILE in faults
            items.append(_Payload(path, file.size, file.sha256, source=file, present=not missing))
    if Fault.UNDECLARED_FILE in faults:
        extra = _xml(f"data/files/{UNDECLARED_NAME}", UNDECLARED_TEXT)
        extra.listed = False
        items.append(extra)
    return items


def _xml(path: str, data: bytes) -> _Payload:
    return _Payload(path, len(data), hashlib.sha256(data).hexdigest(), data=data)


def _bag_info(g: GeneratedDossier, octets: int, streams: int) -> str:
    dossier = g.dossier
    lines = [
        ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
        ("Source-Organization", g.agency.name),
        ("Organization-Identifier", g.agency.code),
        ("External-Identifier", dossier.file_code or ""),
        ("External-Description", " ".join((dossier.title or "").split())),
        ("Bagging-Date", g.created.date().isoformat()),
        ("Payload-Oxum", f"{octets}.{streams}"),
        ("Bag-Software-Agent", f"earchive {software_version()} (test-data generator)"),
        ("Bag-Group-Identifier", f"{g.agency.code}-NL-{g.created.year}-01"),
        ("Bag-Count", "1 of 1"),
        ("Contact-Name", dossier.creator or ""),
    ]
    return "".join(f"{label}: {value}\n" for label, value in lines if value)


def _escape(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in manifest paths are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _flip(hex_digest: str) -> str:
    last = hex_digest[-1]
    return hex_digest[:-1] + ("0" if last != "0" else "1")
