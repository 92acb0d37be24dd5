"""Honest packages read correctly through `ingest.source`: folder, ZIP, tar (plain, gz, bz2, xz)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import tarfile
import threading
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest

import ingest.source as source_module
from archive_core.findings import PackageRejected
from archive_core.settings import Limits
from ingest.source import (
    Entry,
    FolderSource,
    PackageSource,
    TarSource,
    ZipSource,
    case_twins,
    is_archive_magic,
    open_source,
)
from tests.hostile import (
    HOST_UNIX,
    UNIX_FILE,
    RawMember,
    build_zip,
    many_entries_zip,
    zero_deflate,
)

VIET = "Hồ sơ Việt Nam.txt"
FILES: dict[str, bytes] = {
    "METS.xml": b"<mets/>",
    "metadata/descriptive/EAD.xml": "<ead>Hồ sơ lưu trữ</ead>".encode(),
    "representations/rep1/data/big.bin": os.urandom(700_000) + bytes(300_000),
    f"representations/rep1/data/{VIET}": b"noi dung",
    "representations/rep1/data/empty.txt": b"",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_all(source: PackageSource, path: str, chunk: int = 4096) -> bytes:
    out = bytearray()
    with source.open(path) as stream:
        while True:
            block = stream.read(chunk)
            if not block:
                break
            assert len(block) <= chunk
            out += block
    return bytes(out)


def assert_reads_back(source: PackageSource, files: dict[str, bytes]) -> None:
    entries = {e.path: e for e in source.entries()}
    assert set(entries) == set(files)
    for path, data in files.items():
        assert entries[path].size == len(data)
        assert read_all(source, path) == data
        assert source.exists(path)
        assert source.get(path) == entries[path]


def make_folder(where: Path, files: dict[str, bytes], top: str = "uuid-PKG") -> Path:
    for name, data in files.items():
        target = where / top / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return where / top


def make_zip(
    where: Path, files: dict[str, bytes], *, top: str = "uuid-PKG", method: int = zipfile.ZIP_DEFLATED
) -> Path:
    path = where / "package.zip"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr(f"{top}/", b"")
        for name, data in files.items():
            archive.writestr(f"{top}/{name}", data)
    return path


def make_tar(where: Path, files: dict[str, bytes], compression: str, *, top: str = "bag", dot: bool = False) -> Path:
    path = where / f"package.tar{'.' + compression if compression else ''}"
    mode = f"w:{compression}" if compression else "w"
    prefix = "./" if dot else ""
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        if dot:
            archive.addfile(_dir("."))
        archive.addfile(_dir(f"{prefix}{top}"))
        for name, data in files.items():
            info = tarfile.TarInfo(f"{prefix}{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


# --------------------------------------------------------------------------- folders


def test_folder_is_its_own_root(tmp_path: Path) -> None:
    root = make_folder(tmp_path, FILES, top="uuid-PKG")
    with open_source(tmp_path, Limits()) as source:  # a single top subfolder is NOT stripped for folders
        assert isinstance(source, FolderSource)
        assert source.root == ""
        assert {e.path for e in source.entries()} == {f"uuid-PKG/{name}" for name in FILES}
    with open_source(root, Limits()) as source:
        assert source.name == "uuid-PKG"
        assert source.root == ""
        assert_reads_back(source, FILES)
        assert [e.path for e in source.entries()] == sorted(FILES)
        assert source.local_path("METS.xml") == root / "METS.xml"
        assert source.local_path("nope") is None


def test_folder_nfd_names_are_listed_in_nfc_and_open(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", VIET)
    root = make_folder(tmp_path, {nfd: b"nfd on disk"})
    with open_source(root, Limits()) as source:
        (entry,) = source.entries()
        assert entry.path == unicodedata.normalize("NFC", VIET)
        assert entry.raw_name == nfd
        assert read_all(source, entry.path) == b"nfd on disk"
        local = source.local_path(entry.path)
        assert local is not None and local.read_bytes() == b"nfd on disk"


def test_folder_file_replaced_by_symlink_after_listing_is_refused(tmp_path: Path) -> None:
    root = make_folder(tmp_path, {"a.txt": b"aaa", "sub/b.txt": b"bbb"})
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"top secret")
    with open_source(root, Limits()) as source:
        (root / "a.txt").unlink()
        (root / "a.txt").symlink_to(secret)
        shutil.rmtree(root / "sub")
        (root / "sub").symlink_to(tmp_path)
        (tmp_path / "b.txt").write_bytes(b"outside")
        for path in ("a.txt", "sub/b.txt"):
            with pytest.raises(PackageRejected) as caught:
                source.open(path)
            assert caught.value.finding.code == "CK-PKG-LINK"


def test_folder_file_that_grew_after_listing_is_refused(tmp_path: Path) -> None:
    root = make_folder(tmp_path, {"a.txt": b"aaa"})
    with open_source(root, Limits()) as source:
        (root / "a.txt").write_bytes(b"aaaa more")
        with pytest.raises(PackageRejected) as caught:
            read_all(source, "a.txt")
        assert caught.value.finding.code == "CK-PKG-SIZE-MISMATCH"


@pytest.mark.parametrize("changed", [b"aaaa more", b"a", b""])
def test_folder_read_bounded_refuses_a_file_whose_size_changed_after_listing(tmp_path: Path, changed: bytes) -> None:
    root = make_folder(tmp_path, {"a.txt": b"aaa", "empty.txt": b"", "sub/b.xml": b"<b/>"})
    with open_source(root, Limits()) as source:
        assert source.read_bounded("empty.txt", 10) == b""
        assert source.read_bounded("sub/b.xml", 4) == b"<b/>"
        (root / "a.txt").write_bytes(changed)
        with pytest.raises(PackageRejected) as caught:
            source.read_bounded("a.txt", 100)
        assert caught.value.finding.code == "CK-PKG-SIZE-MISMATCH"
        (root / "sub" / "b.xml").unlink()
        (root / "sub" / "b.xml").symlink_to(root / "a.txt")
        with pytest.raises(PackageRejected) as caught:
            source.read_bounded("sub/b.xml", 100)
        assert caught.value.finding.code == "CK-PKG-LINK"


# --------------------------------------------------------------------------- ZIP


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_zip_strips_the_top_folder_and_reads_back(tmp_path: Path, method: int) -> None:
    path = make_zip(tmp_path, FILES, method=method)
    with open_source(path, Limits()) as source:
        assert isinstance(source, ZipSource)
        assert source.name == "package.zip"
        assert source.root == "uuid-PKG"
        assert_reads_back(source, FILES)
        entry = source.get("METS.xml")
        assert entry == Entry("METS.xml", 7, "uuid-PKG/METS.xml", entry.compressed_size if entry else None)
        assert source.local_path("METS.xml") is None
        with zipfile.ZipFile(path) as reference:
            sizes = {i.filename: i.compress_size for i in reference.infolist()}
        assert all(e.compressed_size == sizes[e.raw_name] for e in source.entries())


def test_zip_without_top_folder_keeps_paths(tmp_path: Path) -> None:
    path = tmp_path / "flat.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bagit.txt", b"BagIt-Version: 1.0\n")
        archive.writestr("data/a.txt", b"a")
    with open_source(path, Limits()) as source:
        assert source.root == ""
        assert [e.path for e in source.entries()] == ["bagit.txt", "data/a.txt"]


def test_zip64_and_data_descriptors_from_zipfile(tmp_path: Path) -> None:
    path = tmp_path / "z64.zip"
    payload = os.urandom(100_000)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("pkg/forced.bin", "w", force_zip64=True) as out,
    ):
        out.write(payload)
    # written to an unseekable stream: sizes in data descriptors after the data (flag bit 3)
    unseekable = tmp_path / "stream.zip"
    with open(unseekable, "wb") as raw:
        class NoSeek(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, b: bytes) -> int:  # type: ignore[override]
                return raw.write(b)

        with zipfile.ZipFile(NoSeek(), "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("pkg/a.bin", payload)
            archive.writestr("pkg/b.txt", b"b")
    with open_source(path, Limits()) as source:
        assert read_all(source, "forced.bin") == payload
    with open_source(unseekable, Limits()) as source:
        assert read_all(source, "a.bin") == payload
        assert read_all(source, "b.txt") == b"b"


def test_zip_with_more_than_65535_entries_uses_zip64_end_records(tmp_path: Path) -> None:
    path = many_entries_zip(tmp_path, 70_000)
    started = time.perf_counter()
    with open_source(path, Limits()) as source:
        elapsed = time.perf_counter() - started
        entries = source.entries()
        assert len(entries) == 70_000
        assert source.root == "d"
        assert entries[12_345].path == "0012345"
        assert read_all(source, "0069999") == b""
    assert elapsed < 10


def test_zip_names_nfc_and_utf8_without_flag(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", f"pkg/{VIET}")
    path = tmp_path / "names.zip"
    path.write_bytes(build_zip([
        RawMember(name=nfd.encode(), plain=b"nfd", flags=0x800),
        RawMember(name="pkg/không cờ.txt".encode(), plain=b"utf8 without the flag"),
    ]))
    with open_source(path, Limits()) as source:
        first, second = source.entries()
        assert first.path == unicodedata.normalize("NFC", VIET)
        assert first.raw_name == nfd
        assert second.path == "không cờ.txt"
        assert read_all(source, first.path) == b"nfd"


def test_zip_info_zip_unicode_path_field_is_used_when_its_crc_matches(tmp_path: Path) -> None:
    legacy = "pkg/Báo cáo.txt".encode("cp1252")
    unicode_name = "pkg/Báo cáo.txt".encode()
    extra = struct.pack("<2HB", 0x7075, 5 + len(unicode_name), 1)
    extra += struct.pack("<L", zlib.crc32(legacy)) + unicode_name
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, zlib.crc32(b"x"), 1, 1, len(legacy), 0)
    local += legacy + b"x"
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", HOST_UNIX, 20, 0, 0, 0, 0x21, zlib.crc32(b"x"), 1, 1,
                          len(legacy), len(extra), 0, 0, 0, UNIX_FILE, 0) + legacy + extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    path = tmp_path / "infozip.zip"
    path.write_bytes(local + central + end)
    with open_source(path, Limits()) as source:
        assert [e.path for e in source.entries()] == ["Báo cáo.txt"]
        assert read_all(source, "Báo cáo.txt") == b"x"


def test_zip_from_the_zip_command_line_tool(tmp_path: Path) -> None:
    zip_tool = shutil.which("zip")
    if zip_tool is None:
        pytest.fail("the `zip` command is expected on the build machines (Debian package zip)")
    make_folder(tmp_path / "src", FILES, top="OBJ")
    subprocess.run([zip_tool, "-qr", str(tmp_path / "cli.zip"), "OBJ"], cwd=tmp_path / "src", check=True)
    with open_source(tmp_path / "cli.zip", Limits()) as source:
        assert source.root == "OBJ"
        assert_reads_back(source, FILES)


def test_zip_open_decompresses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stream, crc = zero_deflate(64 * 1024 * 1024)
    path = tmp_path / "zeros.zip"
    path.write_bytes(build_zip([RawMember(name=b"z.bin", method=8, stored=stream, crc=crc, size=64 * 1024**2)]))
    calls: list[int] = []
    real = source_module._decoder

    def counting(method: int) -> source_module._Decoder:
        calls.append(method)
        return real(method)

    monkeypatch.setattr(source_module, "_decoder", counting)
    limits = Limits(max_compression_ratio=1e9)
    with open_source(path, limits) as source:
        assert calls == []
        with source.open("z.bin") as stream_in:
            assert stream_in.read(10) == bytes(10)
        assert calls == [8]


def test_zip_entry_never_yields_more_than_its_size(tmp_path: Path) -> None:
    path = make_zip(tmp_path, FILES)
    with open_source(path, Limits()) as source:
        for entry in source.entries():
            with source.open(entry.path) as stream:
                data = stream.read()
                assert len(data) == entry.size
                assert stream.read() == b""


def test_concurrent_reads_from_several_threads_give_correct_bytes(tmp_path: Path) -> None:
    files = {f"part{i}.bin": os.urandom(200_000 + i) + bytes(100_000) for i in range(6)}
    path = make_zip(tmp_path, files)
    expected = {name: sha(data) for name, data in files.items()}
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    with open_source(path, Limits()) as source:
        barrier = threading.Barrier(len(files))
        streams = {name: source.open(name) for name in files}  # all open at once

        def worker(name: str) -> None:
            try:
                barrier.wait()
                digest = hashlib.sha256()
                while block := streams[name].read(1000):  # small reads interleave the threads
                    digest.update(block)
                results[name] = digest.hexdigest()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                streams[name].close()

        threads = [threading.Thread(target=worker, args=(name,)) for name in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert results == expected


def test_stream_survives_closing_the_source(tmp_path: Path) -> None:
    path = make_zip(tmp_path, FILES)
    source = open_source(path, Limits())
    stream = source.open("METS.xml")
    source.close()
    assert stream.read() == b"<mets/>"
    stream.close()


def test_read_bounded(tmp_path: Path) -> None:
    path = make_zip(tmp_path, FILES)
    with open_source(path, Limits()) as source:
        assert source.read_bounded("METS.xml", 7) == b"<mets/>"
        with pytest.raises(PackageRejected) as caught:
            source.read_bounded("METS.xml", 6)
        assert caught.value.finding.code == "CK-PKG-FILE-TOO-LARGE"
        with pytest.raises(FileNotFoundError):
            source.read_bounded("missing.xml", 100)
        with pytest.raises(FileNotFoundError):
            source.open("metadata")  # a folder is not a file


def _damaged_members() -> dict[str, RawMember]:
    text = "<ead>Hồ sơ lưu trữ điện tử</ead>".encode() * 20
    deflated = RawMember(name=b"", plain=text, method=zipfile.ZIP_DEFLATED).data()
    return {
        "wrong-crc": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED, crc=1),
        "wrong-crc-stored": RawMember(name=b"a.xml", plain=text, crc=1),
        "longer-than-declared": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED,
                                          size=len(text) - 5),
        "shorter-than-declared": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED,
                                           size=len(text) + 5),
        "truncated-deflate": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED,
                                       stored=deflated[: len(deflated) // 2]),
        "garbage-deflate": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED,
                                     stored=bytes(range(256)) * 2),
        "trailing-compressed-bytes": RawMember(name=b"a.xml", plain=text, method=zipfile.ZIP_DEFLATED,
                                               stored=deflated + b"extra"),
    }


@pytest.mark.parametrize("damage", sorted(_damaged_members()))
def test_zip_read_bounded_refuses_damage_as_a_stream_does(tmp_path: Path, damage: str) -> None:
    """Small entries are read in one go (`read_bounded`); they must fail exactly as streaming them does."""
    member = _damaged_members()[damage]
    path = tmp_path / "damaged.zip"
    path.write_bytes(build_zip([member, RawMember(name=b"METS.xml", plain=b"<mets/>")]))
    with open_source(path, Limits()) as source:
        with pytest.raises(PackageRejected) as streamed:
            read_all(source, "a.xml")
        with pytest.raises(PackageRejected) as whole:
            source.read_bounded("a.xml", 1 << 20)
        assert source.read_bounded("METS.xml", 100) == b"<mets/>"
    assert whole.value.finding.code == streamed.value.finding.code
    assert whole.value.finding.code in {"CK-PKG-CRC", "CK-PKG-SIZE-MISMATCH", "CK-PKG-CORRUPT"}


# --------------------------------------------------------------------------- tar


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_tar_is_unpacked_into_staging_only(tmp_path: Path, compression: str) -> None:
    path = make_tar(tmp_path, FILES, compression)
    staging = tmp_path / "staging"
    before = sorted(p for p in tmp_path.rglob("*"))
    with open_source(path, Limits(), staging) as source:
        assert isinstance(source, TarSource)
        assert source.root == "bag"
        assert_reads_back(source, FILES)
        local = source.local_path("METS.xml")
        assert local is not None and staging in local.parents
        assert local.read_bytes() == b"<mets/>"
    after = sorted(p for p in tmp_path.rglob("*") if staging not in p.parents and p != staging)
    assert after == before


def test_tar_kind_is_detected_from_content_not_name(tmp_path: Path) -> None:
    path = make_tar(tmp_path, FILES, "xz")
    disguised = path.rename(tmp_path / "package.zip")
    with open_source(disguised, Limits(), tmp_path / "staging") as source:
        assert isinstance(source, TarSource)
        assert read_all(source, "METS.xml") == b"<mets/>"


def test_tar_made_with_dot_prefix_and_long_names(tmp_path: Path) -> None:
    long_name = "thư mục rất dài/" * 8 + "tệp.txt"
    files = {long_name: b"long", "a.txt": b"a"}
    path = make_tar(tmp_path, files, "gz", dot=True)
    with open_source(path, Limits(), tmp_path / "staging") as source:
        assert source.root == "bag"
        assert {e.path for e in source.entries()} == set(files)
        assert read_all(source, long_name) == b"long"


def test_tar_gnu_tool(tmp_path: Path) -> None:
    tar_tool = shutil.which("tar")
    if tar_tool is None:
        pytest.fail("GNU tar is expected on the build machines")
    make_folder(tmp_path / "src", FILES, top="bag")
    subprocess.run([tar_tool, "-C", str(tmp_path / "src"), "-czf", str(tmp_path / "gnu.tgz"), "."], check=True)
    with open_source(tmp_path / "gnu.tgz", Limits(), tmp_path / "staging") as source:
        assert source.root == "bag"
        assert_reads_back(source, FILES)


def test_tar_without_staging_uses_a_private_folder_removed_on_close(tmp_path: Path) -> None:
    path = make_tar(tmp_path, FILES, "gz")
    with open_source(path, Limits()) as source:
        local = source.local_path("METS.xml")
        assert local is not None and local.exists()
    assert not local.exists()


def test_refused_tar_leaves_no_partial_unpack(tmp_path: Path) -> None:
    path = tmp_path / "late.tar"
    with tarfile.open(path, "w") as archive:
        for name, data in [("bag/a.bin", os.urandom(10_000)), ("bag/../evil", b"x")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    staging = tmp_path / "staging"
    with pytest.raises(PackageRejected) as caught:
        open_source(path, Limits(), staging)
    assert caught.value.finding.code == "CK-PKG-PATH-TRAVERSAL"
    assert [p for p in staging.rglob("*")] == []


# --------------------------------------------------------------------------- helpers


def test_is_archive_magic() -> None:
    tar_head = tarfile.TarInfo("a").tobuf()
    archives: list[bytes] = [
        b"PK\x03\x04rest", b"PK\x05\x06" + bytes(18), b"\x1f\x8b\x08\x00", b"BZh91AY&SY", b"\xfd7zXZ\x00\x00",
        b"7z\xbc\xaf\x27\x1c\x00\x04", b"Rar!\x1a\x07\x01\x00", b"Rar!\x1a\x07\x00", b"\x28\xb5\x2f\xfd",
        b"MSCF\x00\x00", tar_head,
    ]
    for head in archives:
        assert is_archive_magic(head), head[:8]
    for head in [b"%PDF-1.7", b"\x89PNG\r\n\x1a\n", b"<?xml version='1.0'?>", b"BZh0", b"", b"PK"]:
        assert not is_archive_magic(head), head


def test_docx_is_a_zip_for_is_archive_magic(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<w:document/>")
    assert is_archive_magic(buffer.getvalue()[:512])


def test_case_twins_are_listed_not_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path, {"Data/A.pdf": b"1", "data/a.pdf": b"2", "Đơn.txt": b"3", "đơn.TXT": b"4", "x": b""})
    with open_source(path, Limits()) as source:
        assert source.case_twins() == [["Data/A.pdf", "data/a.pdf"], ["Đơn.txt", "đơn.TXT"]]
    assert case_twins(["a", "b"]) == []


def test_open_source_of_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_source(tmp_path / "nothing.zip", Limits())


def test_entries_are_copies(tmp_path: Path) -> None:
    path = make_zip(tmp_path, FILES)
    with open_source(path, Limits()) as source:
        source.entries().clear()
        assert len(source.entries()) == len(FILES)
