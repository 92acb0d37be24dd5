"""Helpers shared by the BagIt tests (this module holds no tests of its own).

`bagit_check` runs the BagIt reader and the generic fixity check on a package
the way the gate does: open the package through `ingest.source.open_source`,
let `BagItReader` parse it, hash every file once (`ContentPass`) and compare
(`check_fixity`). `FolderSource` is a plain stand-in source for the few reader
tests whose file names the real source refuses before any reader runs
(control characters such as LF in names, which BagIt 1.0 percent-encodes).
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive_core.findings import CheckContext, Finding, PackageRejected, Severity
from archive_core.settings import Settings
from ingest.checks.fixity import check_fixity
from ingest.content import ContentPass
from ingest.package import ParsedPackage
from ingest.readers.bagit import BagItReader, is_bagit_level
from ingest.source import Entry, PackageSource, open_source

POLICY_ONLY = frozenset({"CK-FIXITY-NO-SHA256"})
"""Archive policy (we want SHA-256), not a BagIt rule: left out of BagIt verdicts."""


class FolderSource(PackageSource):
    """A permissive folder source: lists every file, refuses nothing."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.root = ""
        self._files: dict[str, Path] = {}
        self._entries: list[Entry] = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                raw = full.relative_to(path).as_posix()
                entry = Entry(unicodedata.normalize("NFC", raw), full.stat().st_size, raw_name=raw)
                self._entries.append(entry)
                self._files[entry.path] = full

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def open(self, path: str) -> BinaryIO:
        return self._files[path].open("rb")

    def read_bounded(self, path: str, limit: int) -> bytes:
        with self.open(path) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"{path} is larger than {limit} bytes")
        return data

    def local_path(self, path: str) -> Path | None:
        return self._files[path]


@dataclass
class BagCheck:
    accepted: bool
    package: ParsedPackage | None
    findings: list[Finding]

    def codes(self, severity: Severity | None = None) -> list[str]:
        return [f.code for f in self.findings if severity is None or f.severity is severity]

    def bagit_findings(self) -> list[Finding]:
        return [f for f in self.findings if _counts_for_bagit(f.code)]

    @property
    def verdict(self) -> str:
        """`valid`, `warning` or `invalid` from the BagIt-level findings only."""
        if not self.accepted:
            return "invalid"
        levels = {f.severity for f in self.bagit_findings()}
        if Severity.ERROR in levels:
            return "invalid"
        return "warning" if Severity.WARNING in levels else "valid"


def _counts_for_bagit(code: str) -> bool:
    return (is_bagit_level(code) or code.startswith("CK-PKG-")) and code not in POLICY_ONLY


def bagit_check(
    path: Path, settings: Settings, staging: Path, *, fixity: bool = True, permissive: bool = False
) -> BagCheck:
    """Read `path` as the gate would; `permissive` uses `FolderSource` instead of `open_source`."""
    ctx = CheckContext()
    try:
        with FolderSource(path) if permissive else open_source(path, settings.limits, staging) as source:
            reader = BagItReader()
            if not reader.accepts(source):
                return BagCheck(False, None, [])
            package = reader.read(source, ctx, settings)
            if fixity:
                observed = ContentPass(source, frozenset(package.algorithms()), workers=1).run()
                check_fixity(package, observed, ctx)
    except PackageRejected as rejected:
        return BagCheck(True, None, [*ctx.findings, rejected.finding])
    return BagCheck(True, package, list(ctx.findings))


# --- building test bags ------------------------------------------------------------------------
def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def manifest_text(algorithm: str, files: Mapping[str, bytes], names: Iterable[str] | None = None) -> str:
    """Manifest lines for `files` (name → bytes); `names` overrides how paths are written."""
    paths = list(files)
    written = list(names) if names is not None else paths
    return "".join(f"{digest(algorithm, files[p])}  {w}\n" for p, w in zip(paths, written, strict=True))


def write_bag(
    root: Path,
    payload: Mapping[str, bytes],
    *,
    version: str = "1.0",
    encoding: str = "UTF-8",
    info: Iterable[tuple[str, str]] | None = None,
    algorithms: Iterable[str] = ("sha256",),
    tag_algorithms: Iterable[str] = ("sha256",),
    manifests: Mapping[str, str] | None = None,
    tag_files: Mapping[str, bytes] | None = None,
    oxum: bool = True,
) -> Path:
    """Write a bag: payload paths are relative to data/; `manifests` replaces generated ones."""
    root.mkdir(parents=True, exist_ok=True)
    files = {f"data/{name}": data for name, data in payload.items()}
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    (root / "bagit.txt").write_bytes(f"BagIt-Version: {version}\nTag-File-Character-Encoding: {encoding}\n".encode())
    lines = list(info or [])
    if oxum:
        lines.append(("Payload-Oxum", f"{sum(len(d) for d in files.values())}.{len(files)}"))
    if lines:
        text = "".join(f"{label}: {value}\n" for label, value in lines)
        (root / "bag-info.txt").write_bytes(text.encode(encoding))
    for name, data in (tag_files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    if manifests is None:
        manifests = {f"manifest-{alg}.txt": manifest_text(alg, files) for alg in algorithms}
    for name, text in manifests.items():
        (root / name).write_bytes(text.encode(encoding))
    tags = {
        p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file() and not p.name.startswith("tagmanifest-")
    }
    for alg in tag_algorithms:
        (root / f"tagmanifest-{alg}.txt").write_bytes(manifest_text(alg, tags).encode(encoding))
    return root
