"""Factory of hostile submission packages, built programmatically under a temporary folder.

Each `Hostile` case knows how to build its package (`build(where) -> path`), the
coded finding it must produce and the stage that must produce it:

- `open`: `open_source` refuses the package (`PackageRejected`);
- `read`: the package opens (its listing is plausible) but streaming an entry
  refuses it (lying size header, CRC mismatch);
- `xml`: the package is a harmless folder holding `meta.xml`; parsing that file
  with `archive_core.xmlsafe.parse_xml_stream` refuses it (`XmlError`).

ZIPs that no honest tool writes are assembled byte by byte with `RawZip`; tars
with `tarfile`; the big bombs are assembled from one repeated deflate block so
building a 1 GiB bomb costs milliseconds.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MiB = 1024 * 1024
GiB = 1024 * MiB

Stage = Literal["open", "read", "xml"]


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    build: Callable[[Path], Path]
    stage: Stage = "open"
    limits: Mapping[str, Any] = field(default_factory=dict)
    """Overrides of `Limits` fields that make the case cheap to build (e.g. max_entries=50)."""


# --------------------------------------------------------------------------- raw ZIP assembly

UNIX_FILE = (stat.S_IFREG | 0o644) << 16
UNIX_SYMLINK = (stat.S_IFLNK | 0o777) << 16
HOST_UNIX = 3 << 8 | 20


@dataclass
class RawMember:
    """One ZIP member exactly as it will be written; None fields take honest defaults."""

    name: bytes
    plain: bytes = b""
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    stored: bytes | None = None
    """The bytes in the archive; default: `plain`, deflated when method is 8."""
    crc: int | None = None
    size: int | None = None
    external_attr: int = UNIX_FILE
    made_by: int = HOST_UNIX
    local_name: bytes | None = None
    zip64_sizes: tuple[int, int] | None = None
    """(uncompressed, compressed) written in a zip64 extra field instead of the 32-bit fields."""

    def data(self) -> bytes:
        if self.stored is not None:
            return self.stored
        if self.method == zipfile.ZIP_DEFLATED:
            return deflate_raw(self.plain)
        return self.plain


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def build_zip(
    members: list[RawMember], *, count: int | None = None, cd_mutate: Callable[[bytes], bytes] | None = None
) -> bytes:
    """Local headers, central directory and end record; `count` may lie, `cd_mutate` may damage."""
    out = bytearray()
    central = bytearray()
    for member in members:
        data = member.data()
        crc = zlib.crc32(member.plain) if member.crc is None else member.crc
        size = len(member.plain) if member.size is None else member.size
        local_name = member.name if member.local_name is None else member.local_name
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, member.flags, member.method, 0, 0x21,
                           crc, len(data), size, len(local_name), 0)
        out += local_name + data
        size32, csize32, extra = size, len(data), b""
        if member.zip64_sizes is not None:
            size32 = csize32 = 0xFFFFFFFF
            extra = struct.pack("<2H2Q", 1, 16, *member.zip64_sizes)
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", member.made_by, 20, member.flags, member.method,
                               0, 0x21, crc, csize32, size32, len(member.name), len(extra), 0, 0, 0,
                               member.external_attr, offset)
        central += member.name + extra
    cd_bytes = bytes(central) if cd_mutate is None else cd_mutate(bytes(central))
    cd_offset = len(out)
    entries = len(members) if count is None else count
    out += cd_bytes
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(cd_bytes), cd_offset, 0)
    return bytes(out)


def write(where: Path, name: str, data: bytes) -> Path:
    path = where / name
    path.write_bytes(data)
    return path


def zip_of(where: Path, name: str, members: list[RawMember], **kwargs: Any) -> Path:
    return write(where, name, build_zip(members, **kwargs))


def ok(name: str, text: bytes = b"hello\n", **kwargs: Any) -> RawMember:
    return RawMember(name=name.encode("utf-8"), plain=text, **kwargs)


# --------------------------------------------------------------------------- big bombs in milliseconds


def zero_deflate(total: int, prefix: bytes = b"") -> tuple[bytes, int]:
    """A raw deflate stream of `prefix` + `total` zero bytes, built from one repeated 1 MiB block; and its CRC."""
    block = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(prefix + block) + compressor.flush(zlib.Z_SYNC_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH) == repeat
    blocks, rest = divmod(total, MiB)
    assert blocks >= 2
    stream = first + repeat * (blocks - 2) + compressor.compress(block)
    stream += compressor.compress(bytes(rest)) + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    return stream, zlib.crc32(bytes(rest), crc)


def zip_bomb(where: Path, *, expands_to: int = GiB, declared: int | None = None) -> Path:
    """One deflated entry of `expands_to` zero bytes (ratio about 1000); `declared` may lie."""
    stream, crc = zero_deflate(expands_to)
    member = RawMember(name=b"bomb.bin", method=zipfile.ZIP_DEFLATED, stored=stream, crc=crc,
                       size=expands_to if declared is None else declared)
    return zip_of(where, "bomb.zip", [member])


def tar_gz_bomb(where: Path, expands_to: int = GiB) -> Path:
    """A real .tar.gz holding one file of `expands_to` zero bytes (about 1 MB on disk)."""
    info = tarfile.TarInfo("bomb/zeros.bin")
    info.size = expands_to
    header = info.tobuf(tarfile.GNU_FORMAT)
    # member data, padding and the end-of-archive blocks are all zeros
    zeros = expands_to + (-expands_to % 512) + 2 * 512
    stream, crc = zero_deflate(zeros, prefix=header)
    total = len(header) + zeros
    gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + stream + struct.pack("<2L", crc, total & 0xFFFFFFFF)
    return write(where, "bomb.tar.gz", gz)


def overlapping_zip(where: Path, entries: int = 64) -> Path:
    """Fifield's non-recursive bomb shape: every entry's data runs over all later headers to one kernel."""
    kernel_plain = os.urandom(64 * 1024) * 2 + bytes(8 * MiB)
    kernel = deflate_raw(kernel_plain)
    names = [f"f{i:04d}.bin".encode() for i in range(entries)]
    header_len = [30 + len(n) for n in names]
    offsets = [sum(header_len[:i]) for i in range(entries)]
    kernel_end = sum(header_len) + len(kernel)
    out = bytearray()
    central = bytearray()
    crc = zlib.crc32(kernel_plain)
    for name, offset in zip(names, offsets, strict=True):
        csize = kernel_end - (offset + 30 + len(name))
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, csize, len(kernel_plain),
                           len(name), 0) + name
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", HOST_UNIX, 20, 0, 8, 0, 0x21, crc, csize,
                               len(kernel_plain), len(name), 0, 0, 0, 0, UNIX_FILE, offset) + name
    out += kernel
    cd_offset = len(out)
    out += central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), cd_offset, 0)
    return write(where, "overlap.zip", bytes(out))


def shared_header_zip(where: Path) -> Path:
    """Many central-directory entries pointing at one local header (another overlap shape)."""
    data = build_zip([ok("a.txt", b"x" * 1000)])
    cd_at = data.index(b"PK\x01\x02")
    record = data[cd_at : data.index(b"PK\x05\x06")]
    copies = [record.replace(b"a.txt", f"{c}.txt".encode()) for c in "abcdefgh"]
    central = b"".join(copies)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(copies), len(copies), len(central), cd_at, 0)
    return write(where, "shared.zip", data[:cd_at] + central + end)


def many_entries_zip(where: Path, count: int) -> Path:
    """`count` empty stored files, written raw (fast even for 250 000 entries)."""
    local = bytearray()
    central = bytearray()
    crc = 0
    for i in range(count):
        name = b"d/%07d" % i
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, 0, 0, len(name), 0) + name
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", HOST_UNIX, 45, 0, 0, 0, 0x21, crc, 0, 0,
                               len(name), 0, 0, 0, 0, UNIX_FILE, offset) + name
    cd_offset = len(local)
    z64_offset = cd_offset + len(central)
    tail = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), cd_offset)
    tail += struct.pack("<4sLQL", b"PK\x06\x07", 0, z64_offset, 1)
    tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return write(where, "many.zip", bytes(local + central + tail))


# --------------------------------------------------------------------------- tar assembly


def tar_of(
    where: Path, name: str, members: list[tuple[tarfile.TarInfo, bytes | None]], *,
    compression: str = "", fmt: int = tarfile.PAX_FORMAT,
) -> Path:
    path = where / name
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(path, mode, format=fmt, encoding="utf-8", errors="surrogateescape") as archive:  # type: ignore[call-overload]
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, **attrs: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def plain_tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def truncated_tar_gz(where: Path) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        data = os.urandom(300_000)
        info = tarfile.TarInfo("pkg/data.bin")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    whole = raw.getvalue()
    return write(where, "cut.tar.gz", whole[: len(whole) // 2])


def tar_without_end(where: Path) -> Path:
    data = plain_tar_bytes([("pkg/a.txt", b"a" * 600), ("pkg/b.txt", b"b" * 10)])
    end = 512 + 1024 + 512  # header, two data blocks of a.txt
    return write(where, "noend.tar", data[:end])


def tar_header_claims_more(where: Path) -> Path:
    info = tarfile.TarInfo("pkg/huge.bin")
    info.size = 10 * GiB
    return write(where, "claims.tar", info.tobuf(tarfile.GNU_FORMAT) + bytes(4096))


def sparse_tar(where: Path) -> Path:
    info = tarfile.TarInfo("pkg/sparse.bin")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 0
    return write(where, "sparse.tar", info.tobuf(tarfile.GNU_FORMAT) + bytes(1024))


# --------------------------------------------------------------------------- folders


def folder(where: Path, files: Mapping[str | bytes, bytes]) -> Path:
    root = where / "pkg"
    root.mkdir()
    for name, data in files.items():
        raw = os.fsencode(root) + b"/" + (name if isinstance(name, bytes) else os.fsencode(name))
        os.makedirs(os.path.dirname(raw), exist_ok=True)
        with open(raw, "wb") as handle:
            handle.write(data)
    return root


def folder_with(where: Path, make: Callable[[Path], None]) -> Path:
    root = folder(where, {"ok.txt": b"ok"})
    make(root)
    return root


def unix_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(path))
    finally:
        sock.close()


# --------------------------------------------------------------------------- hostile XML


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()


def quadratic_blowup() -> bytes:
    big = "A" * 200_000
    return (f'<!DOCTYPE q [<!ENTITY a "{big}">]><q>' + "&a;" * 20_000 + "</q>").encode()


def xml_folder(xml: bytes | Callable[[Path], None]) -> Callable[[Path], Path]:
    def build(where: Path) -> Path:
        root = folder(where, {"ok.txt": b"ok"})
        if callable(xml):
            xml(root / "meta.xml")
        else:
            (root / "meta.xml").write_bytes(xml)
        return root

    return build


def huge_field_xml(path: Path, chars: int = 100 * MiB) -> None:
    with open(path, "wb") as out:
        out.write(b"<Dossier><Title>")
        chunk = "Hồ sơ ".encode() * (MiB // 8)
        written = 0
        while written < chars:
            out.write(chunk)
            written += len(chunk)
        out.write(b"</Title></Dossier>")


def large_xml(path: Path, size: int) -> None:
    """`size` bytes of XML that stays under every other limit (few nodes, values below the field limit)."""
    with open(path, "wb") as out:
        out.write(b"<Dossier>")
        row = b'<Document note="' + b"x" * 60_000 + b'"/>'
        written = 0
        while written < size:
            out.write(row)
            written += len(row)
        out.write(b"</Dossier>")


# --------------------------------------------------------------------------- the catalogue


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _cases() -> list[Hostile]:
    deflate = zipfile.ZIP_DEFLATED
    small_zeros = bytes(MiB - 1)
    two_mb = bytes(2 * MiB)
    lying_stream = deflate_raw(two_mb)
    return [
        # -- compression bombs
        Hostile("zip-bomb-ratio", "CK-PKG-COMPRESSION-RATIO", lambda w: zip_bomb(w)),
        Hostile("zip-bomb-overlapping-entries", "CK-PKG-OVERLAP", overlapping_zip),
        Hostile("zip-entries-share-one-header", "CK-PKG-OVERLAP", shared_header_zip),
        # each entry is below min_ratio_check_bytes, so only the whole-archive ratio can catch it
        Hostile("zip-overall-ratio", "CK-PKG-COMPRESSION-RATIO", lambda w: zip_of(w, "overall.zip", [
            RawMember(name=f"p{i}.bin".encode(), plain=small_zeros, method=deflate) for i in range(20)
        ])),
        Hostile("tar-gz-bomb-zero-file", "CK-PKG-COMPRESSION-RATIO", lambda w: tar_gz_bomb(w)),
        Hostile("tar-sparse-member", "CK-PKG-SPECIAL-FILE", sparse_tar),
        Hostile("tar-pax-header-bomb", "CK-PKG-CORRUPT", lambda w: tar_of(w, "pax.tar", [
            (member("pkg/a.txt", pax_headers={"comment": "x" * 200_000}), b"a"),
        ])),
        # -- lying headers, damaged data
        Hostile("zip-size-header-lies-small", "CK-PKG-SIZE-MISMATCH", lambda w: zip_of(w, "lie.zip", [
            RawMember(name=b"a.bin", method=deflate, stored=lying_stream, size=1000,
                      crc=zlib.crc32(two_mb[:1000])),
        ]), stage="read"),
        Hostile("zip-size-header-lies-large", "CK-PKG-SIZE-MISMATCH", lambda w: zip_of(w, "lie2.zip", [
            RawMember(name=b"a.bin", plain=b"x" * 1000, method=deflate, size=5000),
        ]), stage="read"),
        Hostile("zip-stored-size-differs", "CK-PKG-SIZE-MISMATCH", lambda w: zip_of(w, "stored.zip", [
            RawMember(name=b"a.bin", plain=b"x" * 1000, size=900),
        ])),
        Hostile("zip-crc-mismatch", "CK-PKG-CRC", lambda w: zip_of(w, "crc.zip", [
            RawMember(name=b"a.txt", plain=b"payload" * 100, method=deflate, crc=0xDEADBEEF),
        ]), stage="read"),
        Hostile("zip-damaged-deflate-data", "CK-PKG-CORRUPT", lambda w: zip_of(w, "damaged.zip", [
            RawMember(name=b"a.txt", plain=b"payload" * 100, method=deflate, stored=b"\xff" * 50),
        ]), stage="read"),
        Hostile("zip64-absurd-size", "CK-PKG-ENTRY-TOO-LARGE", lambda w: zip_of(w, "z64.zip", [
            RawMember(name=b"a.bin", plain=b"x" * 10, zip64_sizes=(2**63, 10)),
        ])),
        Hostile("zip64-compressed-size-beyond-file", "CK-PKG-CORRUPT", lambda w: zip_of(w, "z64c.zip", [
            RawMember(name=b"a.bin", plain=b"x" * 10, method=deflate, zip64_sizes=(10, 2**40)),
        ])),
        # -- names that escape or deceive
        Hostile("zip-slip-dotdot", "CK-PKG-PATH-TRAVERSAL", lambda w: zip_of(w, "slip.zip", [
            ok("pkg/ok.txt"), ok("pkg/../../evil.txt"),
        ])),
        Hostile("tar-slip-dotdot", "CK-PKG-PATH-TRAVERSAL", lambda w: tar_of(w, "slip.tar", [
            (member("pkg/ok.txt"), b"ok"), (member("../evil.txt"), b"evil"),
        ])),
        Hostile("zip-absolute-path", "CK-PKG-PATH-ABSOLUTE", lambda w: zip_of(w, "abs.zip", [
            ok("/tmp/earchive-hostile-absolute.txt"),
        ])),
        Hostile("tar-absolute-path", "CK-PKG-PATH-ABSOLUTE", lambda w: tar_of(w, "abs.tar", [
            (member("/tmp/earchive-hostile-absolute.txt"), b"evil"),
        ])),
        Hostile("zip-backslash-traversal", "CK-PKG-PATH-BACKSLASH", lambda w: zip_of(w, "bs.zip", [
            ok("pkg\\..\\..\\evil.txt"),
        ])),
        Hostile("zip-drive-letter", "CK-PKG-PATH-ABSOLUTE", lambda w: zip_of(w, "drive.zip", [
            ok("C:/Windows/evil.txt"),
        ])),
        Hostile("zip-empty-component", "CK-PKG-PATH-EMPTY-COMPONENT", lambda w: zip_of(w, "empty.zip", [
            ok("pkg//a.txt"),
        ])),
        Hostile("zip-nul-in-name", "CK-PKG-PATH-CONTROL-CHAR", lambda w: zip_of(w, "nul.zip", [
            RawMember(name=b"pkg/a.pdf\x00.txt", plain=b"x"),
        ])),
        Hostile("zip-control-char-in-name", "CK-PKG-PATH-CONTROL-CHAR", lambda w: zip_of(w, "ctl.zip", [
            ok("pkg/a\nb.txt"),
        ])),
        Hostile("zip-bidi-override-in-name", "CK-PKG-PATH-CONTROL-CHAR", lambda w: zip_of(w, "rlo.zip", [
            ok("pkg/hoadon\u202efdp.exe"),
        ])),
        Hostile("zip-invalid-utf8-name-flagged", "CK-PKG-NAME-ENCODING", lambda w: zip_of(w, "utf8.zip", [
            RawMember(name=b"pkg/\xff\xfe.txt", plain=b"x", flags=0x800),
        ])),
        Hostile("zip-legacy-codepage-name", "CK-PKG-NAME-ENCODING", lambda w: zip_of(w, "cp.zip", [
            RawMember(name="pkg/Báo cáo.txt".encode("cp1252"), plain=b"x"),
        ])),
        Hostile("tar-invalid-utf8-name", "CK-PKG-NAME-ENCODING", lambda w: tar_of(w, "utf8.tar", [
            (member("pkg/\udcff\udcfe.txt"), b"x"),
        ], fmt=tarfile.GNU_FORMAT)),
        Hostile("folder-invalid-utf8-name", "CK-PKG-NAME-ENCODING", lambda w: folder(w, {b"\xff\xfe.txt": b"x"})),
        Hostile("zip-duplicate-entries", "CK-PKG-DUPLICATE", lambda w: zip_of(w, "dup.zip", [
            ok("pkg/a.txt", b"first"), ok("pkg/a.txt", b"second"),
        ])),
        Hostile("tar-duplicate-entries", "CK-PKG-DUPLICATE", lambda w: tar_of(w, "dup.tar", [
            (member("pkg/a.txt"), b"first"), (member("./pkg/a.txt"), b"second"),
        ])),
        Hostile("zip-nfc-nfd-twins", "CK-PKG-NFC-TWIN", lambda w: zip_of(w, "nfd.zip", [
            ok("pkg/Việt Nam.txt", b"nfc", flags=0x800), ok(_nfd("pkg/Việt Nam.txt"), b"nfd", flags=0x800),
        ])),
        Hostile("folder-nfc-nfd-twins", "CK-PKG-NFC-TWIN", lambda w: folder(w, {
            "Hồ sơ.txt": b"nfc", _nfd("Hồ sơ.txt"): b"nfd",
        })),
        Hostile("zip-nfd-twin-folders", "CK-PKG-NFC-TWIN", lambda w: zip_of(w, "nfddir.zip", [
            ok("pkg/Tài liệu/a.txt"), ok(_nfd("pkg/Tài liệu") + "/b.txt"),
        ])),
        Hostile("zip-file-and-folder-same-name", "CK-PKG-PATH-CONFLICT", lambda w: zip_of(w, "conflict.zip", [
            ok("pkg/a"), ok("pkg/a/b.txt"),
        ])),
        # -- links and special files
        Hostile("zip-symlink", "CK-PKG-LINK", lambda w: zip_of(w, "link.zip", [
            ok("pkg/ok.txt"), RawMember(name=b"pkg/passwd", plain=b"/etc/passwd", external_attr=UNIX_SYMLINK),
        ])),
        Hostile("zip-windows-reparse-point", "CK-PKG-LINK", lambda w: zip_of(w, "reparse.zip", [
            RawMember(name=b"pkg/junction", plain=b"", external_attr=0x400 | 0x20, made_by=11 << 8 | 20),
        ])),
        Hostile("tar-symlink", "CK-PKG-LINK", lambda w: tar_of(w, "sym.tar", [
            (member("pkg/ok.txt"), b"ok"), (member("pkg/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"), None),
        ])),
        Hostile("tar-hardlink", "CK-PKG-LINK", lambda w: tar_of(w, "hard.tar", [
            (member("pkg/ok.txt"), b"ok"), (member("pkg/shadow", tarfile.LNKTYPE, linkname="/etc/shadow"), None),
        ])),
        Hostile("tar-device-file", "CK-PKG-SPECIAL-FILE", lambda w: tar_of(w, "dev.tar", [
            (member("pkg/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), None),
        ])),
        Hostile("tar-char-device", "CK-PKG-SPECIAL-FILE", lambda w: tar_of(w, "chr.tar", [
            (member("pkg/zero", tarfile.CHRTYPE, devmajor=1, devminor=5), None),
        ])),
        Hostile("tar-fifo", "CK-PKG-SPECIAL-FILE", lambda w: tar_of(w, "fifo.tar", [
            (member("pkg/ok.txt"), b"ok"), (member("pkg/pipe", tarfile.FIFOTYPE), None),
        ])),
        Hostile("folder-symlink-to-file", "CK-PKG-LINK",
                lambda w: folder_with(w, lambda r: os.symlink("/etc/passwd", r / "passwd"))),
        Hostile("folder-symlink-to-folder", "CK-PKG-LINK",
                lambda w: folder_with(w, lambda r: os.symlink("/etc", r / "etc"))),
        Hostile("folder-hardlink", "CK-PKG-LINK",
                lambda w: folder_with(w, lambda r: os.link(r / "ok.txt", r / "twin.txt"))),
        Hostile("folder-fifo", "CK-PKG-SPECIAL-FILE", lambda w: folder_with(w, lambda r: os.mkfifo(r / "pipe"))),
        Hostile("folder-socket", "CK-PKG-SPECIAL-FILE", lambda w: folder_with(w, lambda r: unix_socket(r / "s"))),
        # -- sizes and counts
        Hostile("zip-too-many-entries", "CK-PKG-TOO-MANY-ENTRIES", lambda w: zip_of(w, "many.zip", [
            ok(f"pkg/{i}.txt") for i in range(51)
        ]), limits={"max_entries": 50}),
        Hostile("tar-too-many-entries", "CK-PKG-TOO-MANY-ENTRIES", lambda w: tar_of(w, "many.tar.gz", [
            (member(f"pkg/{i}.txt"), b"") for i in range(51)
        ], compression="gz"), limits={"max_entries": 50}),
        Hostile("folder-too-many-entries", "CK-PKG-TOO-MANY-ENTRIES",
                lambda w: folder(w, {f"{i}.txt": b"" for i in range(51)}), limits={"max_entries": 50}),
        Hostile("zip-path-too-long", "CK-PKG-PATH-TOO-LONG", lambda w: zip_of(w, "long.zip", [
            ok("/".join(["d" * 200] * 6) + "/a.txt"),
        ])),
        Hostile("zip-path-too-deep", "CK-PKG-PATH-TOO-DEEP", lambda w: zip_of(w, "deep.zip", [
            ok("d/" * 40 + "a.txt"),
        ])),
        Hostile("folder-path-too-deep", "CK-PKG-PATH-TOO-DEEP",
                lambda w: folder(w, {"d/" * 40 + "a.txt": b"x"})),
        Hostile("zip-name-too-long", "CK-PKG-NAME-TOO-LONG", lambda w: zip_of(w, "name.zip", [
            ok("pkg/" + "n" * 300 + ".txt"),
        ])),
        Hostile("tar-name-too-long-for-disk", "CK-PKG-NAME-TOO-LONG", lambda w: tar_of(w, "bytes.tar", [
            (member("pkg/" + "ệ" * 100 + ".txt"), b"x"),
        ])),
        Hostile("zip-entry-too-large", "CK-PKG-ENTRY-TOO-LARGE", lambda w: zip_of(w, "big.zip", [
            RawMember(name=b"a.bin", plain=os.urandom(5000)),
        ]), limits={"max_entry_bytes": 4096}),
        Hostile("tar-entry-too-large", "CK-PKG-ENTRY-TOO-LARGE", lambda w: tar_of(w, "big.tar", [
            (member("pkg/a.bin"), os.urandom(5000)),
        ]), limits={"max_entry_bytes": 4096}),
        Hostile("tar-total-too-large", "CK-PKG-TOO-LARGE", lambda w: tar_of(w, "total.tar.xz", [
            (member(f"pkg/{i}.bin"), os.urandom(3000)) for i in range(4)
        ], compression="xz"), limits={"max_total_bytes": 10_000}),
        Hostile("tar-header-claims-more-than-file", "CK-PKG-CORRUPT", tar_header_claims_more),
        # -- damaged containers
        Hostile("zip-truncated", "CK-PKG-CORRUPT", lambda w: write(w, "cut.zip", build_zip([
            ok("pkg/a.txt", os.urandom(5000)), ok("pkg/b.txt", b"b"),
        ])[:3000])),
        Hostile("tar-gz-truncated", "CK-PKG-CORRUPT", truncated_tar_gz),
        Hostile("tar-without-end-marker", "CK-PKG-CORRUPT", tar_without_end),
        Hostile("zip-corrupt-central-directory", "CK-PKG-CORRUPT", lambda w: zip_of(w, "cd.zip", [
            ok("pkg/a.txt"), ok("pkg/b.txt"),
        ], cd_mutate=lambda cd: cd.replace(b"PK\x01\x02", b"PK\x01\x09", 1))),
        Hostile("zip-entry-count-lies", "CK-PKG-CORRUPT", lambda w: zip_of(w, "count.zip", [
            ok("pkg/a.txt"), ok("pkg/b.txt"),
        ], count=1)),
        Hostile("zip-local-name-differs", "CK-PKG-CORRUPT", lambda w: zip_of(w, "local.zip", [
            RawMember(name=b"pkg/a.txt", plain=b"x", local_name=b"../a.txt"),
        ])),
        Hostile("zip-trailing-garbage", "CK-PKG-CORRUPT",
                lambda w: write(w, "trail.zip", build_zip([ok("pkg/a.txt")]) + os.urandom(100))),
        Hostile("zip-encrypted-entry", "CK-PKG-ENCRYPTED", lambda w: zip_of(w, "enc.zip", [
            RawMember(name=b"pkg/secret.pdf", plain=b"\x00" * 12 + b"cipher", flags=0x1),
        ])),
        Hostile("zip-aes-entry", "CK-PKG-ENCRYPTED", lambda w: zip_of(w, "aes.zip", [
            RawMember(name=b"pkg/secret.pdf", plain=b"cipher", method=99),
        ])),
        Hostile("zip-lzma-method", "CK-PKG-COMPRESSION-UNSUPPORTED", lambda w: zip_of(w, "lzma.zip", [
            RawMember(name=b"pkg/a.txt", plain=b"x", method=14),
        ])),
        Hostile("not-an-archive", "CK-PKG-UNSUPPORTED", lambda w: write(w, "doc.pdf", b"%PDF-1.7\n" + os.urandom(900))),
        Hostile("gzip-of-non-tar", "CK-PKG-UNSUPPORTED",
                lambda w: write(w, "notes.gz", gzip.compress(b"just some text\n" * 100))),
        Hostile("zip-behind-exe-stub", "CK-PKG-UNSUPPORTED",
                lambda w: write(w, "sfx.zip", b"MZ" + bytes(510) + build_zip([ok("pkg/a.txt")]))),
        Hostile("empty-zip", "CK-PKG-EMPTY", lambda w: zip_of(w, "empty.zip", [])),
        Hostile("zip-only-folders", "CK-PKG-EMPTY", lambda w: zip_of(w, "dirs.zip", [
            RawMember(name=b"pkg/", external_attr=(stat.S_IFDIR | 0o755) << 16),
        ])),
        Hostile("empty-tar", "CK-PKG-EMPTY", lambda w: tar_of(w, "empty.tar", [])),
        Hostile("empty-folder", "CK-PKG-EMPTY", lambda w: folder(w, {})),
        # -- hostile XML inside an otherwise harmless package
        Hostile("xml-xxe-file", "CK-XML-DOCTYPE", xml_folder(
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'), stage="xml"),
        Hostile("xml-xxe-http", "CK-XML-DOCTYPE", xml_folder(
            b'<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><d>&x;</d>'), stage="xml"),
        Hostile("xml-parameter-entity", "CK-XML-DOCTYPE", xml_folder(
            b'<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><d/>'), stage="xml"),
        Hostile("xml-external-dtd", "CK-XML-DOCTYPE", xml_folder(
            b'<!DOCTYPE d SYSTEM "http://10.255.255.1/unreachable.dtd"><d/>'), stage="xml"),
        Hostile("xml-doctype-only", "CK-XML-DOCTYPE", xml_folder(b"<!DOCTYPE d><d/>"), stage="xml"),
        Hostile("xml-billion-laughs", "CK-XML-DOCTYPE", xml_folder(billion_laughs()), stage="xml"),
        Hostile("xml-quadratic-blowup", "CK-XML-DOCTYPE", xml_folder(quadratic_blowup()), stage="xml"),
        Hostile("xml-too-deep", "CK-XML-TOO-DEEP", xml_folder(b"<a>" * 5000 + b"</a>" * 5000), stage="xml"),
        Hostile("xml-too-large", "CK-XML-TOO-LARGE",
                xml_folder(lambda p: large_xml(p, 70 * MiB)), stage="xml"),
        Hostile("xml-field-too-long", "CK-XML-FIELD-TOO-LONG",
                xml_folder(b"<d><Title>" + b"x" * 100_001 + b"</Title></d>"), stage="xml"),
        Hostile("xml-attribute-too-long", "CK-XML-FIELD-TOO-LONG",
                xml_folder(b'<d code="' + b"x" * 100_001 + b'"/>'), stage="xml"),
        Hostile("xml-100mb-field", "CK-XML-FIELD-TOO-LONG", xml_folder(huge_field_xml), stage="xml"),
        Hostile("xml-invalid-utf8", "CK-XML-ENCODING",
                xml_folder("<d><Title>Hồ sơ ".encode() + b"\xc3\x28</Title></d>"), stage="xml"),
        Hostile("xml-not-well-formed", "CK-XML-MALFORMED", xml_folder(b"<d><Title>x</d>"), stage="xml"),
    ]


CASES: list[Hostile] = _cases()
BY_NAME: dict[str, Hostile] = {case.name: case for case in CASES}
