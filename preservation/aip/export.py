"""export_zip: a standalone ZIP of an AIP bag that any BagIt tool can read without earchive.

The bag folder sits at the ZIP root (`<aip_id>/bagit.txt`, `<aip_id>/data/…`,
as RFC 8493 §4 describes serialised bags). XML, XSD and text files are
deflated; everything else (PDF, images, office files, media: mostly
compressed already) is stored, which costs no CPU and keeps the bytes
addressable. Files are streamed in chunks; ZIP64 is used where sizes need it.
The ZIP is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

DEFLATED_SUFFIXES = frozenset({".xml", ".xsd", ".txt", ".csv", ".json", ".md", ".html", ".htm", ".tsv"})
_CHUNK = 1024 * 1024


def _compression(path: Path) -> int:
    return zipfile.ZIP_DEFLATED if path.suffix.lower() in DEFLATED_SUFFIXES else zipfile.ZIP_STORED


def _members(bag_dir: Path) -> list[Path]:
    found: list[Path] = []
    for root, folders, files in os.walk(bag_dir):
        folders.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                raise ValueError(f"{path}: only regular files belong in a bag")
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(bag_dir).as_posix())


def _info(path: Path, arcname: str) -> zipfile.ZipInfo:
    stat = path.stat()
    info = zipfile.ZipInfo.from_file(path, arcname, strict_timestamps=False)  # clamps to 1980..2107
    info.compress_type = _compression(path)
    info.file_size = stat.st_size
    info.external_attr = (0o100644 & 0xFFFF) << 16
    return info


def export_zip(bag_dir: Path, out_zip: Path) -> Path:
    """Write `bag_dir` (a bag folder) into `out_zip`, the folder at the ZIP root; returns `out_zip`."""
    bag_dir = Path(bag_dir)
    if not (bag_dir / "bagit.txt").is_file():
        raise ValueError(f"{bag_dir} is not a bag (no bagit.txt)")
    out_zip = Path(out_zip)
    if out_zip.resolve().is_relative_to(bag_dir.resolve()):
        raise ValueError(f"{out_zip} lies inside the bag {bag_dir}")
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = out_zip.with_name(f".{out_zip.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            for path in _members(bag_dir):
                arcname = f"{bag_dir.name}/{path.relative_to(bag_dir).as_posix()}"
                info = _info(path, arcname)
                with path.open("rb") as src, archive.open(info, "w") as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
        os.replace(partial, out_zip)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out_zip
