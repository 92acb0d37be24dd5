"""Hostile packages (tests/hostile.py) are refused with their code, write nothing outside staging,
and cost bounded memory.

Every case is built under a fresh temporary folder `T`: the package in `T/pkgs`, the
process working directory moved to `T/cwd`, the source's private folder at
`T/staging`. Before and after, every path under `T` except `T/staging` is
snapshotted (type, size, modification time): a single byte written next to the
package, in the working directory or by a path escaping staging shows up.
Refusals at open must also leave `T/staging` without files (a partial tar unpack is
removed). The worst cases run in a child process whose peak RSS (VmHWM) is asserted.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from archive_core.findings import PackageRejected
from archive_core.settings import Limits, Settings
from archive_core.xmlsafe import XmlError, parse_xml_stream
from ingest.source import is_archive_magic, open_source
from tests.conftest import REPO
from tests.hostile import (
    BY_NAME,
    CASES,
    GiB,
    Hostile,
    MiB,
    RawMember,
    billion_laughs,
    build_zip,
    deflate_raw,
    huge_field_xml,
    many_entries_zip,
    tar_gz_bomb,
    zip_bomb,
)

ESCAPE_TARGETS = [Path("/tmp/earchive-hostile-absolute.txt"), Path("/evil.txt"), Path("/tmp/evil.txt")]
REQUIRED = {
    "zip-bomb-ratio", "zip-bomb-overlapping-entries", "zip-size-header-lies-small", "zip-crc-mismatch",
    "zip-slip-dotdot", "zip-absolute-path", "zip-backslash-traversal", "zip-drive-letter", "zip-symlink",
    "tar-symlink", "tar-hardlink", "tar-device-file", "tar-fifo", "folder-symlink-to-file",
    "zip-duplicate-entries", "zip-nfc-nfd-twins", "zip-nul-in-name", "zip-control-char-in-name",
    "zip-invalid-utf8-name-flagged", "zip-too-many-entries", "zip-path-too-long", "zip-path-too-deep",
    "zip-truncated", "tar-gz-truncated", "zip-corrupt-central-directory", "zip-encrypted-entry",
    "not-an-archive", "empty-zip", "tar-gz-bomb-zero-file", "zip64-absurd-size",
    "xml-xxe-file", "xml-xxe-http", "xml-billion-laughs", "xml-quadratic-blowup", "xml-external-dtd",
    "xml-doctype-only", "xml-too-deep", "xml-too-large", "xml-100mb-field", "xml-invalid-utf8",
}
RSS_LIMIT_MB = 150


def snapshot(root: Path, skip: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under `root` except `skip`'s subtree: (type, size, mtime_ns), links not followed."""
    seen: dict[str, tuple[str, int, int]] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d != skip]
        for name in [*dirs, *files]:
            path = here / name
            info = os.lstat(path)
            kind = "dir" if stat.S_ISDIR(info.st_mode) else "link" if stat.S_ISLNK(info.st_mode) else "other"
            seen[os.fsdecode(path.relative_to(root))] = (kind, info.st_size, info.st_mtime_ns)
    return seen


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()] if folder.exists() else []


def run_case(case: Hostile, package: Path, staging: Path) -> str:
    """The code of the refusal at the case's stage; fails when the refusal comes at another stage or never."""
    limits = Limits(**case.limits)
    if case.stage == "open":
        with pytest.raises(PackageRejected) as refused:
            open_source(package, limits, staging)
        return refused.value.finding.code
    with open_source(package, limits, staging) as source:
        if case.stage == "xml":
            entry = source.get("meta.xml")
            assert entry is not None
            with source.open("meta.xml") as stream, pytest.raises(XmlError) as bad_xml:
                parse_xml_stream(stream, path="meta.xml", limits=limits)
            return bad_xml.value.finding.code
        with pytest.raises(PackageRejected) as refused:
            for entry in source.entries():
                with source.open(entry.path) as stream:
                    while stream.read(MiB):
                        pass
        return refused.value.finding.code


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_package_is_refused_with_its_code(
    case: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages, cwd, staging = tmp_path / "pkgs", tmp_path / "cwd", tmp_path / "staging"
    packages.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    package = case.build(packages)
    escapes_before = {target: target.exists() for target in ESCAPE_TARGETS}
    before = snapshot(tmp_path, staging)

    code = run_case(case, package, staging)

    assert code == case.code
    assert snapshot(tmp_path, staging) == before, "something was written outside staging"
    assert {target: target.exists() for target in ESCAPE_TARGETS} == escapes_before
    if case.stage == "open":
        assert files_under(staging) == [], "a refused package left files in staging"


def test_the_catalogue_covers_every_required_kind() -> None:
    assert len(CASES) >= 35
    assert set(BY_NAME) >= REQUIRED, sorted(REQUIRED - set(BY_NAME))
    assert len(BY_NAME) == len(CASES), "case names must be unique"
    codes = {case.code for case in CASES}
    assert len(codes) >= 25


def test_snapshot_sees_a_write_next_to_the_package(tmp_path: Path) -> None:
    """Guards the main test: the snapshot does notice a stray file or a changed one."""
    (tmp_path / "pkgs").mkdir()
    (tmp_path / "pkgs" / "a.zip").write_bytes(b"x")
    before = snapshot(tmp_path, tmp_path / "staging")
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "ignored").write_bytes(b"inside staging is fine")
    assert snapshot(tmp_path, tmp_path / "staging") == before
    (tmp_path / "pkgs" / "evil.txt").write_bytes(b"")
    assert snapshot(tmp_path, tmp_path / "staging") != before


def test_nested_archive_is_accepted_and_recognised(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("inner/secret.txt", b"hidden")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("pkg/METS.xml", b"<mets/>")
        archive.writestr("pkg/representations/rep1/data/attachment.zip", inner.getvalue())
    with open_source(outer, Limits()) as source:
        assert {e.path for e in source.entries()} == {"METS.xml", "representations/rep1/data/attachment.zip"}
        with source.open("representations/rep1/data/attachment.zip") as stream:
            head = stream.read(512)
        assert is_archive_magic(head)
        with source.open("METS.xml") as stream:
            assert not is_archive_magic(stream.read(512))


# --------------------------------------------------------------------------- bounded memory

CHILD = r"""
import json, sys
from pathlib import Path
from archive_core.findings import PackageRejected
from archive_core.settings import Limits, Settings
from archive_core.xmlsafe import XmlError, parse_xml_stream
from ingest.source import open_source

mode, package, staging, limits = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4])
limits = Limits(**limits)
code, read = None, 0
try:
    if mode == "xml":
        with open(package, "rb") as stream:
            parse_xml_stream(stream, path=package.name, limits=limits)
    else:
        with open_source(package, limits, staging) as source:
            for entry in source.entries():
                with source.open(entry.path) as stream:
                    while chunk := stream.read(1 << 20):
                        read += len(chunk)
except (PackageRejected, XmlError) as exc:
    code = exc.finding.code
# VmHWM is the peak RSS of this process image; ru_maxrss would include the parent's RSS at fork time
status = Path("/proc/self/status").read_text()
peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "read": read, "rss_mb": peak_kb / 1024}))
"""


def run_child(mode: str, package: Path, staging: Path, **limits: Any) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(package), str(staging), json.dumps(limits)],
        capture_output=True, text=True, env=env, cwd=package.parent, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["rss_mb"] < RSS_LIMIT_MB, result
    return result


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("bombs")
    made: dict[str, Path] = {}
    builders: dict[str, Callable[[Path], Path]] = {
        "zip": zip_bomb,
        "zip-lying": partial(zip_bomb, declared=MiB - 1),
        "tar.gz": tar_gz_bomb,
    }
    for name, build in builders.items():
        folder = where / name
        folder.mkdir()
        made[name] = build(folder)
    return made


@pytest.mark.slow
def test_memory_zip_bomb_of_1_gib(bombs: dict[str, Path], tmp_path: Path) -> None:
    refused = run_child("source", bombs["zip"], tmp_path / "s1")
    assert refused["code"] == "CK-PKG-COMPRESSION-RATIO"
    assert refused["read"] == 0
    # even with the ratio check off, streaming the whole gibibyte stays small and ends clean (CRC checked)
    streamed = run_child("source", bombs["zip"], tmp_path / "s2", max_compression_ratio=1e9)
    assert streamed["code"] is None
    assert streamed["read"] == GiB


@pytest.mark.slow
def test_memory_zip_bomb_behind_a_lying_size_header(bombs: dict[str, Path], tmp_path: Path) -> None:
    result = run_child("source", bombs["zip-lying"], tmp_path / "s")
    assert result["code"] == "CK-PKG-SIZE-MISMATCH"
    assert result["read"] < MiB


@pytest.mark.slow
def test_memory_tar_gz_bomb_writes_nothing(bombs: dict[str, Path], tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    result = run_child("source", bombs["tar.gz"], staging)
    assert result["code"] == "CK-PKG-COMPRESSION-RATIO"
    assert files_under(staging) == []
    capped = run_child("source", bombs["tar.gz"], staging, max_compression_ratio=1e9, max_entry_bytes=GiB - 1)
    assert capped["code"] == "CK-PKG-ENTRY-TOO-LARGE"
    assert files_under(staging) == []


@pytest.mark.slow
def test_memory_100_mb_metadata_field(tmp_path: Path) -> None:
    xml = tmp_path / "dossier.xml"
    huge_field_xml(xml)
    assert xml.stat().st_size > 100 * MiB
    assert run_child("xml", xml, tmp_path)["code"] == "CK-XML-FIELD-TOO-LONG"


def test_memory_billion_laughs(tmp_path: Path) -> None:
    xml = tmp_path / "lol.xml"
    xml.write_bytes(billion_laughs())
    assert run_child("xml", xml, tmp_path)["code"] == "CK-XML-DOCTYPE"


@pytest.mark.slow
def test_memory_huge_entry_count(tmp_path: Path) -> None:
    limits = Limits()
    package = many_entries_zip(tmp_path, limits.max_entries + 50_000)
    assert run_child("source", package, tmp_path / "s")["code"] == "CK-PKG-TOO-MANY-ENTRIES"
    # the end record may lie about the count: the directory walk stops at the declared count
    data = bytearray(package.read_bytes())
    record = data.rindex(b"PK\x06\x06")
    data[record + 24 : record + 40] = (10).to_bytes(8, "little") * 2
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data))
    assert run_child("source", liar, tmp_path / "s")["code"] == "CK-PKG-CORRUPT"


# --------------------------------------------------------------------------- end to end through the gate
#
# The same hostile inputs through `ingest.gate.check_package`. A missing gate fails these tests
# (importlib raises); it never skips them. Packages refused by the source are given to the gate
# as they are. Entries refused while streaming and hostile XML are planted in an otherwise clean
# Circular 02 bag, whose manifests are refreshed so that the planted fault is the only cause.

E2E_CODE: dict[str, str] = {
    # The BagIt reader bounds a metadata file with read_bounded(max_xml_bytes) and reports an
    # oversized one with its own code before any parsing, so the XML size code never comes up there.
    "xml-too-large": "CK-BAG-TAG-TOO-LARGE",
    "xml-100mb-field": "CK-BAG-TAG-TOO-LARGE",
}
E2E_CONSEQUENCES = {"CK-PKG-NO-DOCUMENTS"}
"""Errors that follow from an unreadable dossier.xml (no documents can be listed)."""

READ_FAULTS: dict[str, Callable[[bytes], dict[str, Any]]] = {
    "zip-size-header-lies-small": lambda data: {
        "stored": deflate_raw(data), "size": len(data) // 2, "crc": zlib.crc32(data[: len(data) // 2]),
    },
    "zip-size-header-lies-large": lambda data: {"size": len(data) + 1000},
    "zip-crc-mismatch": lambda data: {"crc": zlib.crc32(data) ^ 1},
    "zip-damaged-deflate-data": lambda data: {"stored": b"\xff" * 50},
}
"""How each `read` case is planted in the bag's PDF entry."""


def gate_check(package: Path, home: Path, limits: Limits) -> Any:
    gate = importlib.import_module("ingest.gate")
    assert hasattr(gate, "check_package"), "ingest.gate.check_package is missing"
    structural = getattr(gate, "STRUCTURAL_ONLY", None)  # no clamd on build machines
    extra = {"options": structural} if structural is not None else {}
    return gate.check_package(package, Settings(home=home, limits=limits, workers=2), **extra)


def error_codes(result: Any) -> set[str]:
    return {f.code for f in result.findings if f.severity.value == "error"}


@pytest.fixture(scope="module")
def clean_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest.generator import generate_dossier, write_bagit

    return write_bagit(generate_dossier(documents=1, doc_bytes=20_000), tmp_path_factory.mktemp("bag"),
                       form="folder")


def refresh_manifests(bag: Path) -> None:
    """Recompute manifest-sha256.txt, Payload-Oxum and tagmanifest-sha256.txt after a planted change."""
    def rehash(manifest: Path) -> None:
        lines = []
        for line in manifest.read_text().splitlines():
            _, name = line.split("  ", 1)
            lines.append(f"{hashlib.sha256((bag / name).read_bytes()).hexdigest()}  {name}\n")
        manifest.write_text("".join(lines))

    rehash(bag / "manifest-sha256.txt")
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    oxum = f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}"
    info = bag / "bag-info.txt"
    info.write_text(re.sub(r"Payload-Oxum: \S+", oxum, info.read_text()))
    rehash(bag / "tagmanifest-sha256.txt")


def assert_gate_rejects(result: Any, code: str) -> None:
    assert result.verdict.value == "rejected", sorted(result.codes())
    assert code in result.codes(), sorted(result.codes())
    assert error_codes(result) - {code} <= E2E_CONSEQUENCES, sorted(error_codes(result))


def test_e2e_clean_bag_is_accepted(clean_bag: Path, tmp_path: Path) -> None:
    """The control: without a planted fault the same bag passes, so a rejection below is the fault's."""
    bag = tmp_path / "bag"
    shutil.copytree(clean_bag, bag)
    refresh_manifests(bag)
    result = gate_check(bag, tmp_path / "home", Limits())
    assert result.verdict.value != "rejected", sorted(result.codes())
    assert error_codes(result) == set()


@pytest.mark.parametrize("case", [c for c in CASES if c.stage == "open"], ids=lambda c: c.name)
def test_e2e_gate_rejects_refused_packages(case: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packages, cwd, home = tmp_path / "pkgs", tmp_path / "cwd", tmp_path / "home"
    packages.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    package = case.build(packages)
    before = snapshot(tmp_path, home)
    result = gate_check(package, home, Limits(**case.limits))
    assert result.verdict.value == "rejected"
    assert case.code in result.codes(), sorted(result.codes())
    assert snapshot(tmp_path, home) == before
    assert files_under(home / "staging") == []


@pytest.mark.parametrize("case", [c for c in CASES if c.stage == "read"], ids=lambda c: c.name)
def test_e2e_gate_rejects_entries_that_lie_when_streamed(case: Hostile, clean_bag: Path, tmp_path: Path) -> None:
    assert set(READ_FAULTS) == {c.name for c in CASES if c.stage == "read"}, "plant every read case"
    members: list[RawMember] = []
    for path in sorted(p for p in clean_bag.rglob("*") if p.is_file()):
        name = f"{clean_bag.name}/{path.relative_to(clean_bag).as_posix()}"
        data = path.read_bytes()
        fault = READ_FAULTS[case.name](data) if path.suffix == ".pdf" else {}
        members.append(RawMember(name=name.encode(), plain=data, method=zipfile.ZIP_DEFLATED, **fault))
    assert sum(1 for p in clean_bag.rglob("*.pdf")) == 1
    package = tmp_path / "bag.zip"
    package.write_bytes(build_zip(members))
    result = gate_check(package, tmp_path / "home", Limits(**case.limits))
    assert result.verdict.value == "rejected"
    assert case.code in result.codes(), sorted(result.codes())


@pytest.mark.parametrize("case", [c for c in CASES if c.stage == "xml"], ids=lambda c: c.name)
def test_e2e_gate_rejects_hostile_metadata_xml(case: Hostile, clean_bag: Path, tmp_path: Path) -> None:
    made = case.build(tmp_path)
    bag = tmp_path / "bag"
    shutil.copytree(clean_bag, bag)
    shutil.copyfile(made / "meta.xml", bag / "data" / "metadata" / "dossier.xml")
    refresh_manifests(bag)
    home = tmp_path / "home"
    before = snapshot(tmp_path, home)
    result = gate_check(bag, home, Limits(**case.limits))
    assert_gate_rejects(result, E2E_CODE.get(case.name, case.code))
    assert snapshot(tmp_path, home) == before
