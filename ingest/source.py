"""Bounded, read-only access to a submitted package: folder, ZIP or tar.

A `PackageSource` lists the package's regular files under normalised,
package-relative POSIX paths and streams their bytes. Everything hostile is
refused when the source is opened, before any reader or check sees a byte, by
raising `PackageRejected` with a coded finding (codes `CK-PKG-*`, rule R-IN-1):
path traversal, absolute paths, backslashes, control characters, names that are
not UTF-8, links, device files, duplicate names (also NFC/NFD twins), too many
entries, too long or too deep paths, too large, compression bombs (ratio and
overlapping ZIP entries), encrypted ZIP entries, truncated or corrupt archives.
Nested archives are *not* refused here (a .docx is a ZIP); `is_archive_magic`
lets the format check decide.

Kinds, detected from the bytes, never the file name:

- folder: the given folder is the package root (`root == ""`). Walked without
  following links; files are opened component by component with `O_NOFOLLOW`,
  so a link swapped in after listing is refused, not followed.
- ZIP: the central directory is read with our own strict parser (bounded before
  anything is allocated per entry); every local header is checked against it,
  which also finds overlapping entries. Nothing is decompressed at open. Each
  `open()` gets its own duplicate file descriptor and reads with `pread`, so any
  number of threads can stream different entries at once without a shared file
  position or lock. A stream never yields more than the entry's declared size;
  it verifies at the end that the compressed data ends exactly there (a lying
  size header is `CK-PKG-SIZE-MISMATCH`) and that the CRC-32 matches (`CK-PKG-CRC`).
  Stored, deflate and bzip2 are supported (decompression output is always
  bounded by the caller's read size).
- tar, optionally gzip/bzip2/xz: a compressed tar cannot be read randomly, so it
  is unpacked once, streaming, into a fresh folder inside `staging`, with every
  limit checked from the headers before writing and again while writing; links
  and special members are refused, files are created with `O_EXCL|O_NOFOLLOW`
  below directories opened with `O_NOFOLLOW`. On refusal the partial unpack is
  removed. Then it is served like a folder.

Root folder: when every member of an archive lives under one top folder
(`<OBJID>/…`, `<bagname>/…`), that folder is stripped and exposed as `root`.

Names: a ZIP name is UTF-8 when the UTF-8 flag is set, or, without the flag,
when its bytes are valid UTF-8 (all ASCII names are); otherwise the Info-ZIP
Unicode Path extra field is used when its CRC matches the raw name. A name that
is none of these (legacy code page bytes: cp437 per the ZIP spec, in practice
an unknown OEM page) is refused with `CK-PKG-NAME-ENCODING`: guessing would store
the document under a garbled name that no metadata refers to.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import functools
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import threading
import unicodedata
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Protocol, cast

from archive_core.findings import Code, PackageRejected, Severity, declare
from archive_core.settings import Limits

_RULE: Final = "R-IN-1"

PKG_UNSUPPORTED = declare(
    "CK-PKG-UNSUPPORTED", _RULE, Severity.ERROR,
    "Gói {path} không phải thư mục, tệp ZIP hay tar được hỗ trợ: {reason}",
    "Package {path} is not a supported folder, ZIP or tar: {reason}",
)
PKG_CORRUPT = declare(
    "CK-PKG-CORRUPT", _RULE, Severity.ERROR,
    "Gói {path} bị hỏng hoặc bị cắt cụt: {reason}",
    "Package {path} is corrupt or truncated: {reason}",
)
PKG_EMPTY = declare(
    "CK-PKG-EMPTY", _RULE, Severity.ERROR,
    "Gói {path} không chứa tệp nào",
    "Package {path} holds no files",
)
PKG_PATH_ABSOLUTE = declare(
    "CK-PKG-PATH-ABSOLUTE", _RULE, Severity.ERROR,
    "Gói chứa đường dẫn tuyệt đối hoặc có tên ổ đĩa: {path}",
    "The package holds an absolute path or a drive letter: {path}",
)
PKG_PATH_TRAVERSAL = declare(
    "CK-PKG-PATH-TRAVERSAL", _RULE, Severity.ERROR,
    "Gói chứa đường dẫn có '..' (thoát ra ngoài gói): {path}",
    "The package holds a path with '..' (escapes the package): {path}",
)
PKG_PATH_BACKSLASH = declare(
    "CK-PKG-PATH-BACKSLASH", _RULE, Severity.ERROR,
    "Tên trong gói có dấu gạch chéo ngược (dấu phân cách của Windows): {path}",
    "A name in the package contains a backslash (a Windows separator): {path}",
)
PKG_PATH_EMPTY_COMPONENT = declare(
    "CK-PKG-PATH-EMPTY-COMPONENT", _RULE, Severity.ERROR,
    "Đường dẫn trong gói có thành phần rỗng ('//'): {path}",
    "A path in the package has an empty component ('//'): {path}",
)
PKG_PATH_CONTROL = declare(
    "CK-PKG-PATH-CONTROL-CHAR", _RULE, Severity.ERROR,
    "Tên trong gói chứa ký tự điều khiển (NUL, xuống dòng, đảo chiều hiển thị…): {path}",
    "A name in the package contains a control character (NUL, newline, bidi override…): {path}",
)
PKG_NAME_ENCODING = declare(
    "CK-PKG-NAME-ENCODING", _RULE, Severity.ERROR,
    "Tên trong gói không phải UTF-8 hợp lệ: {path}",
    "A name in the package is not valid UTF-8: {path}",
)
PKG_PATH_TOO_LONG = declare(
    "CK-PKG-PATH-TOO-LONG", _RULE, Severity.ERROR,
    "Đường dẫn dài {length} ký tự, tối đa {limit}: {path}",
    "Path is {length} characters long, limit {limit}: {path}",
)
PKG_PATH_TOO_DEEP = declare(
    "CK-PKG-PATH-TOO-DEEP", _RULE, Severity.ERROR,
    "Đường dẫn lồng {depth} cấp, tối đa {limit}: {path}",
    "Path is {depth} levels deep, limit {limit}: {path}",
)
PKG_NAME_TOO_LONG = declare(
    "CK-PKG-NAME-TOO-LONG", _RULE, Severity.ERROR,
    "Tên tệp hoặc thư mục quá dài ({length}, tối đa {limit}): {path}",
    "File or folder name is too long ({length}, limit {limit}): {path}",
)
PKG_LINK = declare(
    "CK-PKG-LINK", _RULE, Severity.ERROR,
    "Gói chứa liên kết ({kind}), không được phép: {path}",
    "The package holds a link ({kind}), which is not allowed: {path}",
)
PKG_SPECIAL_FILE = declare(
    "CK-PKG-SPECIAL-FILE", _RULE, Severity.ERROR,
    "Gói chứa tệp đặc biệt ({kind}), không được phép: {path}",
    "The package holds a special file ({kind}), which is not allowed: {path}",
)
PKG_DUPLICATE = declare(
    "CK-PKG-DUPLICATE", _RULE, Severity.ERROR,
    "Tên xuất hiện hai lần trong gói: {path}",
    "A name appears twice in the package: {path}",
)
PKG_NFC_TWIN = declare(
    "CK-PKG-NFC-TWIN", _RULE, Severity.ERROR,
    "Hai tên trong gói chỉ khác nhau về chuẩn hoá Unicode (NFC/NFD): {path} và {other}",
    "Two names in the package differ only by Unicode normalisation (NFC/NFD): {path} and {other}",
)
PKG_PATH_CONFLICT = declare(
    "CK-PKG-PATH-CONFLICT", _RULE, Severity.ERROR,
    "Tên {path} vừa là tệp vừa là thư mục trong gói",
    "Name {path} is both a file and a folder in the package",
)
PKG_TOO_MANY_ENTRIES = declare(
    "CK-PKG-TOO-MANY-ENTRIES", _RULE, Severity.ERROR,
    "Gói {path} có hơn {limit} mục",
    "Package {path} has more than {limit} entries",
)
PKG_ENTRY_TOO_LARGE = declare(
    "CK-PKG-ENTRY-TOO-LARGE", _RULE, Severity.ERROR,
    "Tệp {path} có kích thước {size} byte, tối đa {limit}",
    "File {path} is {size} bytes, limit {limit}",
)
PKG_TOO_LARGE = declare(
    "CK-PKG-TOO-LARGE", _RULE, Severity.ERROR,
    "Gói {path} có tổng dung lượng hơn {limit} byte",
    "Package {path} holds more than {limit} bytes in total",
)
PKG_COMPRESSION_RATIO = declare(
    "CK-PKG-COMPRESSION-RATIO", _RULE, Severity.ERROR,
    "Tỉ lệ nén của {path} là {ratio}, vượt quá {limit} (nghi là bom nén)",
    "Compression ratio of {path} is {ratio}, above {limit} (suspected compression bomb)",
)
PKG_OVERLAP = declare(
    "CK-PKG-OVERLAP", _RULE, Severity.ERROR,
    "Các mục trong ZIP chồng lên nhau (bom nén kiểu chồng lấn): {path} và {other}",
    "ZIP entries overlap (overlapping-entry compression bomb): {path} and {other}",
)
PKG_ENCRYPTED = declare(
    "CK-PKG-ENCRYPTED", _RULE, Severity.ERROR,
    "Tệp {path} trong ZIP được mã hoá; không thể kiểm tra",
    "File {path} in the ZIP is encrypted and cannot be checked",
)
PKG_COMPRESSION_UNSUPPORTED = declare(
    "CK-PKG-COMPRESSION-UNSUPPORTED", _RULE, Severity.ERROR,
    "Tệp {path} trong ZIP dùng phương pháp nén {method} không được hỗ trợ (chỉ store, deflate, bzip2)",
    "File {path} in the ZIP uses unsupported compression method {method} (only store, deflate, bzip2)",
)
PKG_SIZE_MISMATCH = declare(
    "CK-PKG-SIZE-MISMATCH", _RULE, Severity.ERROR,
    "Dữ liệu của {path} không khớp kích thước khai báo: {reason}",
    "Data of {path} does not match its declared size: {reason}",
)
PKG_CRC = declare(
    "CK-PKG-CRC", _RULE, Severity.ERROR,
    "Mã kiểm tra CRC-32 của {path} không khớp (dữ liệu hỏng hoặc bị sửa)",
    "CRC-32 of {path} does not match (damaged or altered data)",
)
PKG_FILE_TOO_LARGE = declare(
    "CK-PKG-FILE-TOO-LARGE", _RULE, Severity.ERROR,
    "Tệp {path} có {size} byte, vượt giới hạn {limit} byte cho loại tệp này",
    "File {path} is {size} bytes, above the {limit} byte limit for this kind of file",
)
PKG_CASE_TWIN = declare(
    "CK-PKG-CASE-TWIN", _RULE, Severity.WARNING,
    "Các tên chỉ khác nhau về chữ hoa/thường, sẽ trùng trên hệ thống không phân biệt: {path} và {other}",
    "Names differ only by letter case and collide on case-insensitive systems: {path} and {other}",
)

_READ_CHUNK: Final = 64 * 1024
_MAX_EXTENDED_TAR_HEADER: Final = 64 * 1024
"""A pax/GNU long-name header is read whole by tarfile; long names plus attributes fit easily."""
_FS_NAME_MAX_BYTES: Final = 255
_CONTROL_CHARS: Final = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_SUSPECT: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\\\\]|^/|^[A-Za-z]:"
)
"""Anything `_refuse_suspect` refuses; one search keeps the common case fast."""
_NOFOLLOW_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# --------------------------------------------------------------------------- interface


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    """Package-relative POSIX path, NFC-normalised, root folder stripped."""
    size: int
    raw_name: str = ""
    """The name exactly as stored in the archive (before NFC and root stripping)."""
    compressed_size: int | None = None

    def __reduce__(self) -> tuple[type[Entry], tuple[str, int, str, int | None]]:
        """Pickled as its four values (listings travel to the content worker; ~3× faster than slots state)."""
        return (Entry, (self.path, self.size, self.raw_name, self.compressed_size))


class PackageSource(ABC):
    """Read-only view of a package. Use as a context manager."""

    name: str
    """Submitted name: the archive file name or folder name."""
    root: str
    """Single top folder that was stripped from every path ("" if none)."""

    @abstractmethod
    def entries(self) -> list[Entry]:
        """Every regular file, in a stable order (archive order, or sorted for folders)."""

    @abstractmethod
    def open(self, path: str) -> BinaryIO:
        """Stream one file. Reading it yields at most `Entry.size` bytes.

        Reading raises `PackageRejected` when the bytes do not match the
        listing (`CK-PKG-SIZE-MISMATCH`, `CK-PKG-CRC`, `CK-PKG-CORRUPT`);
        `FileNotFoundError` for a path that is not a listed file.
        """

    def get(self, path: str) -> Entry | None:
        """The entry for a package-relative path, or None."""
        return next((e for e in self.entries() if e.path == path), None)

    def read_bounded(self, path: str, limit: int) -> bytes:
        """Read a small file whole (metadata, tag files).

        Refuses more than `limit` bytes with `PackageRejected` (`CK-PKG-FILE-TOO-LARGE`)
        before reading a byte.
        """
        self._bounded_entry(path, limit)
        with self.open(path) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:  # the stream itself refuses this; kept as a second bound
            raise PackageRejected(PKG_FILE_TOO_LARGE.at(path=path, size=len(data), limit=limit))
        return data

    def _bounded_entry(self, path: str, limit: int) -> Entry:
        """The entry `read_bounded` may read: FileNotFoundError, or CK-PKG-FILE-TOO-LARGE over `limit`."""
        entry = self.get(path)
        if entry is None:
            raise FileNotFoundError(path)
        if entry.size > limit:
            raise PackageRejected(PKG_FILE_TOO_LARGE.at(path=path, size=entry.size, limit=limit))
        return entry

    def local_path(self, path: str) -> Path | None:
        """A file on local disk holding the bytes, when there is one (folders, staged tar)."""
        return None

    def local_file(self, path: str) -> str | None:
        """`local_path` as a string (cheaper when asked for every file)."""
        return None

    def exists(self, path: str) -> bool:
        return self.get(path) is not None

    def iter_entries(self) -> Iterator[Entry]:
        yield from self.entries()

    def case_twins(self) -> list[list[str]]:
        """Groups of file paths that differ only by letter case (a warning matter, never refused here)."""
        return case_twins(e.path for e in self.entries())

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> PackageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: Path, limits: Limits, staging: Path | None = None) -> PackageSource:
    """Open a folder, ZIP or tar (optionally gz/bz2/xz) package safely.

    `staging` is a private folder the source may use (a tar is unpacked in a new
    folder inside it, created if needed; the caller removes `staging` when done).
    Nothing is ever written anywhere else. Without `staging`, a tar is unpacked
    into a private temporary folder that `close()` removes.

    Raises `PackageRejected` for anything hostile or unreadable, and
    `FileNotFoundError` when `path` does not exist.
    """
    path = Path(path)
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return FolderSource(path, limits)
    if not stat.S_ISREG(st.st_mode):
        raise _rejected(PKG_UNSUPPORTED, path=path.name, reason="neither a regular file nor a folder")
    kind = _sniff(path)
    if kind == "zip":
        return ZipSource(path, limits)
    return TarSource(path, limits, staging, compression=kind)


# --------------------------------------------------------------------------- helpers for others


_ARCHIVE_MAGICS: Final = (
    b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08",  # ZIP (and OOXML/ODF, JAR, EPUB …)
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",  # xz
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"Rar!\x1a\x07",  # RAR 4 and 5
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # Microsoft cabinet
    b"\x1f\x9d",  # compress (.Z)
)


def is_archive_magic(head: bytes) -> bool:
    """True when `head` (the first bytes of a file, 512 or more for tar) starts an archive or
    compressed stream: ZIP (so also .docx/.xlsx/.odt), tar, gzip, bzip2, xz, 7z, RAR, zstd, cab, .Z.
    """
    if head.startswith(_ARCHIVE_MAGICS):
        return True
    if len(head) >= 4 and head[:3] == b"BZh" and head[3:4] in b"123456789":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def case_twins(paths: Iterable[str]) -> list[list[str]]:
    """Groups (sorted) of paths equal after NFC and case folding; each group has two or more paths."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(unicodedata.normalize("NFC", path).casefold(), []).append(path)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


# --------------------------------------------------------------------------- names and limits


def _printable(text: str, limit: int = 300) -> str:
    """A name made safe for messages: control characters and undecodable bytes escaped, length capped."""
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        code = ord(char)
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    shown = _SURROGATES.sub(escape, _CONTROL_CHARS.sub(escape, text))
    return shown if len(shown) <= limit else shown[:limit] + "…"


def _rejected(finding_kind: Code, /, **params: Any) -> PackageRejected:
    for key in ("path", "other"):
        if isinstance(params.get(key), str):
            params[key] = _printable(params[key])
    return PackageRejected(finding_kind.at(**params))


def _normalise(raw: str, limits: Limits, *, is_dir: bool = False) -> list[str]:
    """Validate a member name and return its NFC components ([] for the archive root itself)."""
    if _SUSPECT.search(raw):
        _refuse_suspect(raw)
    parts = raw.split("/")
    if is_dir and len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if ".." in parts:
        raise _rejected(PKG_PATH_TRAVERSAL, path=raw)
    if "" in parts:
        raise _rejected(PKG_PATH_EMPTY_COMPONENT, path=raw)
    if "." in parts:
        parts = [part for part in parts if part != "."]
        if not parts and not is_dir:
            raise _rejected(PKG_PATH_EMPTY_COMPONENT, path=raw)
    if not unicodedata.is_normalized("NFC", raw):
        # "/" is a starter that composes with nothing, so normalising per component is the same
        parts = [unicodedata.normalize("NFC", part) for part in parts]
    if parts and max(map(len, parts)) > limits.max_name_chars:
        longest = max(map(len, parts))
        raise _rejected(PKG_NAME_TOO_LONG, path=raw, length=longest, limit=limits.max_name_chars)
    if len(parts) > limits.max_path_depth:
        raise _rejected(PKG_PATH_TOO_DEEP, path=raw, depth=len(parts), limit=limits.max_path_depth)
    length = sum(map(len, parts)) + len(parts) - 1
    if length > limits.max_path_chars:
        raise _rejected(PKG_PATH_TOO_LONG, path=raw, length=length, limit=limits.max_path_chars)
    return parts


def _refuse_suspect(raw: str) -> None:
    if _SURROGATES.search(raw):
        raise _rejected(PKG_NAME_ENCODING, path=raw)
    if _CONTROL_CHARS.search(raw):
        raise _rejected(PKG_PATH_CONTROL, path=raw)
    if "\\" in raw:
        raise _rejected(PKG_PATH_BACKSLASH, path=raw)
    raise _rejected(PKG_PATH_ABSOLUTE, path=raw)


@dataclass
class _Catalogue:
    """Validates members one by one: names, duplicates and twins, entry count, sizes, payload ratio."""

    limits: Limits
    package: str
    compressed_bytes: int | None = None
    """Size of the compressed archive, for the overall ratio; None when not compressed."""
    count: int = 0
    total: int = 0
    files: dict[str, str] = field(default_factory=dict)
    """NFC path → raw path (dot components removed) of every file."""
    dirs: dict[str, str] = field(default_factory=dict)
    """NFC path → raw path of every folder, listed or implied."""
    order: list[tuple[str, int, str]] = field(default_factory=list)
    """(NFC path, size, raw name) of files in archive order (when `keep_order`)."""
    keep_order: bool = True

    def count_member(self) -> None:
        self.count += 1
        if self.count > self.limits.max_entries:
            raise _rejected(PKG_TOO_MANY_ENTRIES, path=self.package, limit=self.limits.max_entries)

    def add_dir(self, raw: str) -> str:
        """Register a folder member (`raw` may end with "/"); returns its NFC path ("" for the root)."""
        names = _normalise(raw, self.limits, is_dir=True)
        if not names:
            return ""
        path = "/".join(names)
        if path in self.files:
            raise _rejected(PKG_PATH_CONFLICT, path=raw)
        self._add_parents(names, _raw_parts(raw.rstrip("/")), len(names), raw)
        return path

    def add_file(self, raw: str, size: int) -> str:
        """Register a file member; returns its NFC path."""
        names = _normalise(raw, self.limits)
        path = "/".join(names)
        split = raw.split("/")
        raw_parts = [part for part in split if part != "."]
        raw_clean = raw if len(raw_parts) == len(split) else "/".join(raw_parts)
        previous = self.files.get(path)
        if previous is not None:
            kind = PKG_DUPLICATE if previous == raw_clean else PKG_NFC_TWIN
            raise _rejected(kind, path=raw, other=previous)
        if path in self.dirs:
            raise _rejected(PKG_PATH_CONFLICT, path=raw)
        self._add_parents(names, raw_parts, len(names) - 1, raw)
        self._add_size(raw, size)
        self.files[path] = raw_clean
        if self.keep_order:
            self.order.append((path, size, raw))
        return path

    def _add_parents(self, names: list[str], raw_parts: list[str], upto: int, raw: str) -> None:
        same = names == raw_parts
        for depth in range(upto, 0, -1):
            prefix = "/".join(names[:depth])
            raw_prefix = prefix if same else "/".join(raw_parts[:depth])
            known = self.dirs.get(prefix)
            if known is None:
                if prefix in self.files:
                    raise _rejected(PKG_PATH_CONFLICT, path=raw)
                self.dirs[prefix] = raw_prefix
                continue
            if known != raw_prefix:
                raise _rejected(PKG_NFC_TWIN, path=raw_prefix, other=known)
            break  # the shorter prefixes were recorded with this one

    def _add_size(self, raw: str, size: int) -> None:
        if size > self.limits.max_entry_bytes:
            raise _rejected(PKG_ENTRY_TOO_LARGE, path=raw, size=size, limit=self.limits.max_entry_bytes)
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise _rejected(PKG_TOO_LARGE, path=self.package, limit=self.limits.max_total_bytes)
        self.check_overall_ratio()

    def check_overall_ratio(self) -> None:
        if self.compressed_bytes is None or self.total < self.limits.min_ratio_check_bytes:
            return
        ratio = self.total / max(self.compressed_bytes, 1)
        if ratio > self.limits.max_compression_ratio:
            raise _rejected(PKG_COMPRESSION_RATIO, path=self.package, ratio=f"{ratio:.0f}",
                            limit=f"{self.limits.max_compression_ratio:g}")

    def root(self) -> str:
        """The single top folder holding every member, or ""."""
        tops = {path.split("/", 1)[0] for path in self.files} | {path.split("/", 1)[0] for path in self.dirs}
        if len(tops) != 1 or any("/" not in path for path in self.files):
            return ""
        return tops.pop()

    def require_files(self) -> None:
        if not self.files:
            raise _rejected(PKG_EMPTY, path=self.package)


def _raw_parts(raw: str) -> list[str]:
    return [part for part in raw.split("/") if part != "."]


def _strip(path: str, root: str) -> str:
    return path[len(root) + 1 :] if root else path


# --------------------------------------------------------------------------- checked streams


class _CheckedReader(io.RawIOBase):
    """A raw stream of exactly `size` bytes; the end is verified before the last bytes are handed out."""

    def __init__(self, path: str, size: int) -> None:
        super().__init__()
        self._path = path
        self._left = size
        self._size = size
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from a closed stream")
        if self._left == 0:
            if not self._verified:
                self._verify_end()
                self._verified = True
            return 0
        view = memoryview(buffer).cast("B")
        count = self._fill(view[: min(len(view), self._left)])
        if count == 0:
            self._short()
        self._left -= count
        if self._left == 0:
            self._verify_end()
            self._verified = True
        return count

    def _short(self) -> None:
        done = self._size - self._left
        raise _rejected(PKG_SIZE_MISMATCH, path=self._path,
                        reason=f"data ends after {done} bytes, declared {self._size}")

    def _too_long(self) -> None:
        raise _rejected(PKG_SIZE_MISMATCH, path=self._path, reason=f"more than the declared {self._size} bytes")

    @abstractmethod
    def _fill(self, view: memoryview) -> int:
        """Put up to len(view) (> 0) bytes into view; 0 only at the end of the data."""

    @abstractmethod
    def _verify_end(self) -> None:
        """Called once after `size` bytes: raise if there is more, or the data is damaged."""


class _LocalFileReader(_CheckedReader):
    def __init__(self, fd: int, path: str, size: int) -> None:
        super().__init__(path, size)
        self._file = io.FileIO(fd, "rb", closefd=True)

    def _fill(self, view: memoryview) -> int:
        return self._file.readinto(view) or 0

    def _verify_end(self) -> None:
        if self._file.read(1):
            self._too_long()

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def _open_file_nofollow(dir_fd: int, name: str, shown: str) -> int:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        raise _link_error(exc, shown) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _rejected(PKG_SPECIAL_FILE, path=shown, kind=_kind_of_mode(mode))
    return fd


class ChangedSourceError(OSError):
    """A package file reopened elsewhere (the content worker) is not the file that was listed."""


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _read_exactly(fd: int, size: int, shown: str) -> bytes:
    """All `size` bytes of a file, refusing a file that has grown or shrunk since it was listed."""
    chunks: list[bytes] = []
    left = size + 1
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    if len(data) < size:
        raise _rejected(PKG_SIZE_MISMATCH, path=shown, reason=f"data ends after {len(data)} bytes, declared {size}")
    if len(data) > size:
        raise _rejected(PKG_SIZE_MISMATCH, path=shown, reason=f"more than the declared {size} bytes")
    return data


def _link_error(exc: OSError, shown: str) -> Exception:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return _rejected(PKG_LINK, path=shown, kind="symlink")
    if exc.errno == errno.ENOENT:
        return FileNotFoundError(shown)
    return exc


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "directory"
    return f"mode {mode:o}"


# --------------------------------------------------------------------------- folders


class _LocalTreeSource(PackageSource):
    """Files on local disk under `self._base`, listed in `self._entries`."""

    _base: Path
    _entries: list[Entry]
    _by_path: dict[str, Entry]
    _disk_parts: dict[str, list[str]]

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def get(self, path: str) -> Entry | None:
        return self._by_path.get(path)

    def open(self, path: str) -> BinaryIO:
        entry = self._by_path.get(path)
        if entry is None:
            raise FileNotFoundError(path)
        parts = self._disk_parts[path]
        dir_fd = self._folder_fd(tuple(parts[:-1]), path)
        fd = _open_file_nofollow(dir_fd, parts[-1], path)
        return io.BufferedReader(_LocalFileReader(fd, path, entry.size), buffer_size=_READ_CHUNK)

    def read_bounded(self, path: str, limit: int) -> bytes:
        """Small files are read with one system call (metadata files are read this way by the hundred)."""
        entry = self._bounded_entry(path, limit)
        parts = self._disk_parts[path]
        fd = _open_file_nofollow(self._folder_fd(tuple(parts[:-1]), path), parts[-1], path)
        try:
            return _read_exactly(fd, entry.size, path)
        finally:
            os.close(fd)

    def _folder_fd(self, parts: tuple[str, ...], shown: str) -> int:
        """The folder's descriptor, opened once without following links (a folder swapped for a
        link later does not matter: the descriptor still names the folder that was listed)."""
        if not hasattr(self, "_folder_fds"):
            self._folder_fds: dict[tuple[str, ...], int] = {}
            self._folder_lock = threading.Lock()
        with self._folder_lock:
            return self._folder_fd_locked(self._folder_fds, parts, shown)

    def _folder_fd_locked(self, cache: dict[tuple[str, ...], int], parts: tuple[str, ...], shown: str) -> int:
        found = cache.get(parts)
        if found is not None:
            return found
        if parts:
            parent = self._folder_fd_locked(cache, parts[:-1], shown)
            try:
                fd = os.open(parts[-1], _NOFOLLOW_DIR, dir_fd=parent)
            except OSError as exc:
                raise _link_error(exc, shown) from exc
        else:
            fd = os.open(self._base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        cache[parts] = fd
        return fd

    def close(self) -> None:
        cache: dict[tuple[str, ...], int] = getattr(self, "_folder_fds", {})
        for fd in cache.values():
            os.close(fd)
        cache.clear()

    def __getstate__(self) -> dict[str, Any]:
        """For the content worker: the listing travels, descriptors are reopened there (no-follow)."""
        state = dict(self.__dict__)
        state.pop("_folder_fds", None)
        state.pop("_folder_lock", None)
        return state

    def local_path(self, path: str) -> Path | None:
        local = self.local_file(path)
        return Path(local) if local is not None else None

    def local_file(self, path: str) -> str | None:
        parts = self._disk_parts.get(path)
        if parts is None:
            return None
        return self._base_text + "/".join(parts)

    @functools.cached_property
    def _base_text(self) -> str:
        return os.path.join(self._base, "")


class FolderSource(_LocalTreeSource):
    """A package delivered as a folder; the folder itself is the package root."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.name = path.name
        self.root = ""
        self._base = path
        self._limits = limits
        catalogue = _Catalogue(limits, path.name)
        disk: dict[str, list[str]] = {}
        base_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._walk(base_fd, [], catalogue, disk)
        finally:
            os.close(base_fd)
        catalogue.require_files()
        self._entries = sorted(
            (Entry(path=p, size=size, raw_name=raw) for p, size, raw in catalogue.order), key=lambda e: e.path
        )
        self._by_path = {e.path: e for e in self._entries}
        self._disk_parts = disk

    def _walk(self, dir_fd: int, parents: list[str], catalogue: _Catalogue, disk: dict[str, list[str]]) -> None:
        children: list[os.DirEntry[str]] = []
        with os.scandir(dir_fd) as listing:
            for child in listing:
                catalogue.count_member()  # before keeping it: a folder of millions stops at the limit
                children.append(child)
        children.sort(key=lambda item: item.name)
        for child in children:
            raw_parts = [*parents, child.name]
            raw = "/".join(raw_parts)
            st = child.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise _rejected(PKG_LINK, path=raw, kind="symlink")
            if stat.S_ISDIR(st.st_mode):
                catalogue.add_dir(raw + "/")
                sub_fd = os.open(child.name, _NOFOLLOW_DIR, dir_fd=dir_fd)
                try:
                    self._walk(sub_fd, raw_parts, catalogue, disk)
                finally:
                    os.close(sub_fd)
                continue
            if not stat.S_ISREG(st.st_mode):
                _normalise(raw, self._limits)
                raise _rejected(PKG_SPECIAL_FILE, path=raw, kind=_kind_of_mode(st.st_mode))
            if st.st_nlink > 1:
                raise _rejected(PKG_LINK, path=raw, kind=f"hard link ×{st.st_nlink}")
            path = catalogue.add_file(raw, st.st_size)
            disk[path] = raw_parts


# --------------------------------------------------------------------------- ZIP

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_STORED, _DEFLATED, _BZIP2 = 0, 8, 12
_SUPPORTED_METHODS: Final = frozenset({_STORED, _DEFLATED, _BZIP2})
_FLAG_ENCRYPTED, _FLAG_STRONG_ENCRYPTION, _FLAG_UTF8, _FLAG_MASKED_HEADERS = 0x1, 0x40, 0x800, 0x2000
_METHOD_AES: Final = 99
_UNIX_HOSTS: Final = frozenset({3, 19})  # Unix, OS X
_DOS_HOSTS: Final = frozenset({0, 11, 14})  # MS-DOS/FAT, NTFS, VFAT
_DOS_REPARSE_POINT: Final = 0x400
_U32: Final = 0xFFFFFFFF


@dataclass(slots=True)
class _ZipMember:
    raw_name: bytes
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    size: int
    offset: int
    host: int
    external_attr: int
    is_dir: bool = False
    path: str = ""
    data_start: int = 0

    def __reduce__(self) -> tuple[type[_ZipMember], tuple[Any, ...]]:
        """Pickled as its values, in field order (the listing travels to the content worker)."""
        return (_ZipMember, tuple(getattr(self, name) for name in self.__slots__))


class _PreadWindow:
    """A sliding window over a byte range of a file descriptor, for parsing records in place."""

    def __init__(self, fd: int, start: int, length: int, package: str) -> None:
        self._fd = fd
        self._next = start
        self._end = start + length
        self.buffer = b""
        self.at = 0
        self._package = package

    @property
    def remaining(self) -> int:
        return self._end - self._next + len(self.buffer) - self.at

    def need(self, count: int) -> None:
        """Make sure `count` bytes are available at `self.at`."""
        if len(self.buffer) - self.at >= count:
            return
        if count > self.remaining:
            raise _rejected(PKG_CORRUPT, path=self._package, reason="central directory ends inside a record")
        want = max(count - (len(self.buffer) - self.at), 1024 * 1024)
        chunk = os.pread(self._fd, min(want, self._end - self._next), self._next)
        self._next += len(chunk)
        self.buffer = self.buffer[self.at :] + chunk
        self.at = 0
        if len(self.buffer) < count:
            raise _rejected(PKG_CORRUPT, path=self._package, reason="file ends inside the central directory")


class ZipSource(PackageSource):
    """A ZIP package, validated whole at open, streamed entry by entry with `pread`."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.name = path.name
        self._limits = limits
        self._path = path
        self._needs_reopen = False
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._identity = _identity(os.fstat(self._fd))
            self._load()
        except BaseException:
            os.close(self._fd)
            raise

    def __getstate__(self) -> dict[str, Any]:
        """For the content worker: the validated listing travels; the file is reopened there."""
        state = dict(self.__dict__)
        state["_fd"] = -1
        state["_needs_reopen"] = True
        return state

    def _reopen(self) -> None:
        """Open the same file again (in the content worker), refusing a file changed meanwhile."""
        fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        if _identity(os.fstat(fd)) != self._identity:
            os.close(fd)
            raise ChangedSourceError(f"{self._path} changed after it was listed")
        self._fd = fd
        self._needs_reopen = False

    def _load(self) -> None:
        file_size = os.fstat(self._fd).st_size
        cd_offset, cd_size, count = self._locate_central_directory(file_size)
        members = self._read_central_directory(cd_offset, cd_size, count)
        catalogue = _Catalogue(self._limits, self.name, compressed_bytes=file_size, keep_order=False)
        for member in members:
            self._classify(member, catalogue)
        self._check_local_headers(members, cd_offset)
        for member in members:
            self._check_sizes(member, catalogue)
        catalogue.check_overall_ratio()
        catalogue.require_files()
        self.root = catalogue.root()
        self._members: dict[str, _ZipMember] = {}
        entries: list[Entry] = []
        for member in members:
            if member.is_dir:
                continue
            path = _strip(member.path, self.root)
            self._members[path] = member
            entries.append(Entry(path=path, size=member.size, raw_name=member.name,
                                 compressed_size=member.csize))
        self._entries = entries
        self._by_path = {e.path: e for e in entries}

    def _corrupt(self, reason: str) -> PackageRejected:
        return _rejected(PKG_CORRUPT, path=self.name, reason=reason)

    def _locate_central_directory(self, file_size: int) -> tuple[int, int, int]:
        tail_size = min(file_size, _EOCD.size + 0xFFFF)
        tail = os.pread(self._fd, tail_size, file_size - tail_size)
        at = tail.rfind(b"PK\x05\x06")
        while at >= 0:
            if len(tail) - at >= _EOCD.size:
                comment = int.from_bytes(tail[at + 20 : at + 22], "little")
                if at + _EOCD.size + comment == len(tail):
                    break
            at = tail.rfind(b"PK\x05\x06", 0, at)
        if at < 0:
            raise self._corrupt("no end-of-central-directory record (truncated or not a ZIP)")
        eocd_pos = file_size - tail_size + at
        _, disk, cd_disk, on_disk, total, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
        cd_end = eocd_pos
        locator = os.pread(self._fd, _ZIP64_LOCATOR.size, eocd_pos - _ZIP64_LOCATOR.size) if eocd_pos >= 20 else b""
        if len(locator) == _ZIP64_LOCATOR.size and locator.startswith(b"PK\x06\x07"):
            _, _, z64_offset, disks = _ZIP64_LOCATOR.unpack(locator)
            record = os.pread(self._fd, _ZIP64_EOCD.size, z64_offset)
            if len(record) != _ZIP64_EOCD.size or not record.startswith(b"PK\x06\x06"):
                raise self._corrupt("bad zip64 end-of-central-directory record")
            _, record_size, _, _, disk, cd_disk, on_disk, total, cd_size, cd_offset = _ZIP64_EOCD.unpack(record)
            if z64_offset + 12 + record_size != eocd_pos - _ZIP64_LOCATOR.size or disks != 1:
                raise self._corrupt("zip64 end record is not where its locator says")
            cd_end = z64_offset
        if disk != 0 or cd_disk != 0 or on_disk != total:
            raise _rejected(PKG_UNSUPPORTED, path=self.name, reason="split or multi-volume ZIP")
        if cd_offset + cd_size != cd_end:
            raise self._corrupt("central directory is not where the end record says")
        if total > self._limits.max_entries:
            raise _rejected(PKG_TOO_MANY_ENTRIES, path=self.name, limit=self._limits.max_entries)
        return cd_offset, cd_size, total

    def _read_central_directory(self, cd_offset: int, cd_size: int, count: int) -> list[_ZipMember]:
        window = _PreadWindow(self._fd, cd_offset, cd_size, self.name)
        members: list[_ZipMember] = []
        record = _CENTRAL.size
        for _ in range(count):
            window.need(record)
            (sig, made_by, _, flags, method, _, _, crc, csize, size, name_len, extra_len, comment_len,
             disk, _, external_attr, offset) = _CENTRAL.unpack_from(window.buffer, window.at)
            if sig != b"PK\x01\x02":
                raise self._corrupt("bad central directory record signature")
            window.need(record + name_len + extra_len + comment_len)
            at = window.at + record
            raw_name = window.buffer[at : at + name_len]
            extra = window.buffer[at + name_len : at + name_len + extra_len]
            window.at = at + name_len + extra_len + comment_len
            if size == _U32 or csize == _U32 or offset == _U32 or disk == 0xFFFF:
                size, csize, offset, disk = _apply_zip64(extra, size, csize, offset, disk, self._corrupt)
            if disk != 0:
                raise _rejected(PKG_UNSUPPORTED, path=self.name, reason="split or multi-volume ZIP")
            members.append(_ZipMember(
                raw_name=raw_name, name=_decode_zip_name(raw_name, flags, extra), flags=flags, method=method,
                crc=crc, csize=csize, size=size, offset=offset, host=made_by >> 8,
                external_attr=external_attr,
            ))
        if window.remaining:
            raise self._corrupt("central directory holds more than its declared entries")
        return members

    def _classify(self, member: _ZipMember, catalogue: _Catalogue) -> None:
        """Name, type and encryption checks, in archive order."""
        catalogue.count_member()
        name = member.name
        unix_type = stat.S_IFMT(member.external_attr >> 16) if member.host in _UNIX_HOSTS else 0
        member.is_dir = name.endswith("/") or unix_type == stat.S_IFDIR
        if member.is_dir:
            member.path = catalogue.add_dir(name)
        else:
            member.path = catalogue.add_file(name, 0)
        if unix_type == stat.S_IFLNK or (
            member.host in _DOS_HOSTS and member.external_attr & _DOS_REPARSE_POINT
        ):
            raise _rejected(PKG_LINK, path=name, kind="symlink")
        if unix_type not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise _rejected(PKG_SPECIAL_FILE, path=name, kind=_kind_of_mode(unix_type))
        if (
            member.flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADERS)
            or member.method == _METHOD_AES
        ):
            raise _rejected(PKG_ENCRYPTED, path=name)
        if member.method not in _SUPPORTED_METHODS:
            raise _rejected(PKG_COMPRESSION_UNSUPPORTED, path=name, method=member.method)
        if member.is_dir and member.size != 0:
            raise self._corrupt(f"folder entry {_printable(name)} has content")

    def _check_local_headers(self, members: list[_ZipMember], cd_offset: int) -> None:
        """Every local header must match the central directory; entry data must not overlap."""
        previous: _ZipMember | None = None
        previous_end = 0
        for member in sorted(members, key=lambda m: m.offset):
            if previous is not None and member.offset < previous_end:
                raise _rejected(PKG_OVERLAP, path=previous.name, other=member.name)
            header = os.pread(self._fd, _LOCAL.size + len(member.raw_name), member.offset)
            if len(header) < _LOCAL.size or not header.startswith(b"PK\x03\x04"):
                raise self._corrupt(f"no local header for {_printable(member.name)}")
            _, _, flags, method, _, _, _, _, _, name_len, extra_len = _LOCAL.unpack_from(header)
            if name_len != len(member.raw_name) or header[_LOCAL.size :] != member.raw_name:
                raise self._corrupt(f"local header name differs from the central directory: "
                                    f"{_printable(member.name)}")
            if method != member.method or (flags ^ member.flags) & _FLAG_ENCRYPTED:
                raise self._corrupt(f"local header of {_printable(member.name)} differs from the central directory")
            member.data_start = member.offset + _LOCAL.size + name_len + extra_len
            end = member.data_start + member.csize
            if end > cd_offset:
                raise self._corrupt(f"data of {_printable(member.name)} runs past the central directory")
            previous, previous_end = member, end
            member.raw_name = b""  # checked; not needed any more

    def _check_sizes(self, member: _ZipMember, catalogue: _Catalogue) -> None:
        if member.is_dir:
            return
        limits = self._limits
        if member.size > limits.max_entry_bytes:
            raise _rejected(PKG_ENTRY_TOO_LARGE, path=member.name, size=member.size,
                            limit=limits.max_entry_bytes)
        if member.method == _STORED and member.size != member.csize:
            raise _rejected(PKG_SIZE_MISMATCH, path=member.name,
                            reason=f"stored entry declares {member.size} bytes but holds {member.csize}")
        if member.size >= limits.min_ratio_check_bytes:
            ratio = member.size / max(member.csize, 1)
            if ratio > limits.max_compression_ratio:
                raise _rejected(PKG_COMPRESSION_RATIO, path=member.name, ratio=f"{ratio:.0f}",
                                limit=f"{limits.max_compression_ratio:g}")
        catalogue.total += member.size
        if catalogue.total > limits.max_total_bytes:
            raise _rejected(PKG_TOO_LARGE, path=self.name, limit=limits.max_total_bytes)

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def get(self, path: str) -> Entry | None:
        return self._by_path.get(path)

    def open(self, path: str) -> BinaryIO:
        member = self._members.get(path)
        if member is None:
            raise FileNotFoundError(path)
        if self._needs_reopen:
            self._reopen()
        reader = _ZipEntryReader(os.dup(self._fd), member, path)
        return io.BufferedReader(reader, buffer_size=_READ_CHUNK)

    def read_bounded(self, path: str, limit: int) -> bytes:
        """A small entry with one `pread` and one decompression, checked as a stream read to its end."""
        self._bounded_entry(path, limit)
        member = self._members[path]
        if self._needs_reopen:
            self._reopen()
        return _ZipEntryReader(self._fd, member, path, owns_fd=False).read_whole()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _apply_zip64(
    extra: bytes, size: int, csize: int, offset: int, disk: int, corrupt: Callable[[str], PackageRejected]
) -> tuple[int, int, int, int]:
    """Replace the saturated 32-bit fields by their values from the zip64 extra field."""
    wanted = [size == _U32, csize == _U32, offset == _U32, disk == 0xFFFF]
    data = _extra_field(extra, 0x0001)
    if data is None:
        raise corrupt("zip64 sizes announced but no zip64 extra field")
    values = [size, csize, offset, disk]
    pos = 0
    for index, needed in enumerate(wanted):
        if not needed:
            continue
        width = 4 if index == 3 else 8
        if pos + width > len(data):
            raise corrupt("zip64 extra field too short")
        values[index] = int.from_bytes(data[pos : pos + width], "little")
        pos += width
    return values[0], values[1], values[2], values[3]


def _extra_field(extra: bytes, wanted: int) -> bytes | None:
    pos = 0
    while pos + 4 <= len(extra):
        header_id, length = struct.unpack_from("<2H", extra, pos)
        if header_id == wanted:
            return extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return None


def _decode_zip_name(raw: bytes, flags: int, extra: bytes) -> str:
    """UTF-8 (flagged or valid), else the Info-ZIP Unicode Path field when it matches; else refused."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not flags & _FLAG_UTF8:
        unicode_path = _extra_field(extra, 0x7075)
        if (
            unicode_path
            and len(unicode_path) > 5
            and unicode_path[0] == 1
            and int.from_bytes(unicode_path[1:5], "little") == zlib.crc32(raw)
        ):
            try:
                return unicode_path[5:].decode("utf-8")
            except UnicodeDecodeError:
                pass
    raise _rejected(PKG_NAME_ENCODING, path=raw.decode("utf-8", "surrogateescape"))


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused(self) -> bytes: ...

    @property
    def wants_input(self) -> bool: ...

    def step(self, data: bytes, max_out: int) -> bytes: ...


class _StoredDecoder:
    eof = False
    unused = b""

    def __init__(self) -> None:
        self._pending = b""

    @property
    def wants_input(self) -> bool:
        return not self._pending

    def step(self, data: bytes, max_out: int) -> bytes:
        buffer = self._pending + data if self._pending else data
        self._pending = buffer[max_out:]
        return buffer[:max_out]


class _DeflateDecoder:
    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._inflate.eof

    @property
    def unused(self) -> bytes:
        return self._inflate.unused_data

    @property
    def wants_input(self) -> bool:
        return not self._tail

    def step(self, data: bytes, max_out: int) -> bytes:
        buffer = self._tail + data if self._tail else data
        out = self._inflate.decompress(buffer, max_out)
        self._tail = self._inflate.unconsumed_tail
        return out


class _Bzip2Decoder:
    def __init__(self) -> None:
        self._bz = bz2.BZ2Decompressor()

    @property
    def eof(self) -> bool:
        return self._bz.eof

    @property
    def unused(self) -> bytes:
        return self._bz.unused_data

    @property
    def wants_input(self) -> bool:
        return self._bz.needs_input

    def step(self, data: bytes, max_out: int) -> bytes:
        return self._bz.decompress(data, max_out)


def _decoder(method: int) -> _Decoder:
    if method == _DEFLATED:
        return _DeflateDecoder()
    if method == _BZIP2:
        return _Bzip2Decoder()
    return _StoredDecoder()


class _ZipEntryReader(_CheckedReader):
    """Decompresses one entry with `pread` on its own descriptor; output bounded by each read."""

    def __init__(self, fd: int, member: _ZipMember, path: str, *, owns_fd: bool = True) -> None:
        super().__init__(path, member.size)
        self._fd = fd
        self._owns_fd = owns_fd
        self._member = member
        self._pos = member.data_start
        self._end = member.data_start + member.csize
        self._decoder = _decoder(member.method)
        self._crc = 0

    def _fill(self, view: memoryview) -> int:
        out = self._produce(len(view))
        view[: len(out)] = out
        self._crc = zlib.crc32(out, self._crc)
        return len(out)

    def read_whole(self) -> bytes:
        """Every byte of the entry at once (small entries), with the checks `readinto` makes."""
        pieces: list[bytes] = []
        while self._left > 0:
            out = self._produce(self._left)
            if not out:
                self._short()
            pieces.append(out)
            self._crc = zlib.crc32(out, self._crc)
            self._left -= len(out)
        self._verify_end()
        self._verified = True
        return b"".join(pieces)

    def _produce(self, max_out: int) -> bytes:
        try:
            while not self._decoder.eof:
                if self._decoder.wants_input and self._pos < self._end:
                    chunk = os.pread(self._fd, min(_READ_CHUNK, self._end - self._pos), self._pos)
                    if not chunk:
                        raise _rejected(PKG_CORRUPT, path=self._path, reason="archive file ends inside the entry")
                    self._pos += len(chunk)
                    out = self._decoder.step(chunk, max_out)
                else:
                    out = self._decoder.step(b"", max_out)
                    if not out and self._pos >= self._end:
                        return b""
                if out:
                    return out
            return b""
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            raise _rejected(PKG_CORRUPT, path=self._path, reason=f"compressed data is damaged: {exc}") from exc

    def _short(self) -> None:
        if self._member.method != _STORED and not self._decoder.eof:
            raise _rejected(PKG_CORRUPT, path=self._path, reason="compressed data ends too early")
        super()._short()

    def _verify_end(self) -> None:
        if self._produce(1):
            self._too_long()
        if self._member.method != _STORED and not self._decoder.eof:
            raise _rejected(PKG_CORRUPT, path=self._path, reason="compressed data ends too early")
        if self._decoder.unused or self._pos < self._end:
            raise _rejected(PKG_SIZE_MISMATCH, path=self._path,
                            reason="compressed size is larger than the compressed data")
        if self._crc != self._member.crc:
            raise _rejected(PKG_CRC, path=self._path)

    def close(self) -> None:
        if not self.closed and self._owns_fd:
            os.close(self._fd)
        super().close()


# --------------------------------------------------------------------------- tar


def _sniff(path: Path) -> str:
    """`zip`, `tar`, `gz`, `bz2` or `xz` from the first bytes; PackageRejected otherwise."""
    with open(path, "rb") as raw:
        head = raw.read(512)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return "zip"
        kind = "tar"
        if head.startswith(b"\x1f\x8b\x08"):
            kind = "gz"
        elif head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
            kind = "bz2"
        elif head.startswith(b"\xfd7zXZ\x00"):
            kind = "xz"
        if kind != "tar":
            raw.seek(0)
            try:
                with _decompressing(raw, kind) as inner:
                    head = inner.read(512)
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise _rejected(PKG_CORRUPT, path=path.name, reason=f"{kind} data is damaged: {exc}") from exc
    if len(head) == 512 and head == bytes(512):
        raise _rejected(PKG_EMPTY, path=path.name)
    if len(head) == 512:
        try:
            tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
            return kind
        except tarfile.HeaderError:
            pass
    what = "an arbitrary file" if kind == "tar" else f"{kind} data that is not a tar"
    raise _rejected(PKG_UNSUPPORTED, path=path.name, reason=what)


def _decompressing(raw: IO[bytes], kind: str) -> IO[bytes]:
    """A bounded decompressing reader: every read(n) returns at most n bytes."""
    if kind == "gz":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bz2":
        return cast(IO[bytes], bz2.BZ2File(raw, "rb"))
    if kind == "xz":
        return cast(IO[bytes], lzma.LZMAFile(raw, "rb"))
    return raw


class _CappedStream:
    """What tarfile reads: the decompressed archive, with decoder errors coded and a hard byte cap."""

    def __init__(self, inner: IO[bytes], cap: int, package: str) -> None:
        self._inner = inner
        self._cap = cap
        self._package = package
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size if size >= 0 else _READ_CHUNK)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise _rejected(PKG_CORRUPT, path=self._package, reason=f"compressed data is damaged: {exc}") from exc
        self.total += len(data)
        if self.total > self._cap:
            raise _rejected(PKG_TOO_LARGE, path=self._package, limit=self._cap)
        return data


_EXTENDED_TYPES: Final = frozenset({
    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
})


_TAR_END_OF_ARCHIVE: Final[type[Exception]] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
"""A zero block: the normal end of a tar (not in typeshed)."""


class _GuardedTarInfo(tarfile.TarInfo):
    """TarInfo that refuses what tarfile would otherwise read without a bound or silently skip."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> _GuardedTarInfo:
        package = str(getattr(tarfile_, "name", "") or "")
        buf = tarfile_.fileobj.read(tarfile.BLOCKSIZE)
        try:
            obj = cls.frombuf(buf, tarfile_.encoding, tarfile_.errors)
        except _TAR_END_OF_ARCHIVE:
            raise
        except tarfile.HeaderError as exc:
            # tarfile takes a bad or missing header after the first one as the end of the archive.
            raise _rejected(PKG_CORRUPT, path=Path(package).name, reason=f"bad tar header: {exc}") from exc
        obj.offset = tarfile_.fileobj.tell() - tarfile.BLOCKSIZE
        if obj.type in _EXTENDED_TYPES and obj.size > _MAX_EXTENDED_TAR_HEADER:
            raise _rejected(PKG_CORRUPT, path=Path(package).name,
                            reason=f"extended header of {obj.size} bytes")
        if obj.type == tarfile.GNUTYPE_SPARSE:
            raise _rejected(PKG_SPECIAL_FILE, path=obj.name, kind="sparse file")
        result: _GuardedTarInfo = obj._proc_member(tarfile_)  # type: ignore[attr-defined]
        return result

    def _proc_gnusparse_10(self, next: Any, pax_headers: Any, tarfile_: Any) -> None:
        raise _rejected(PKG_SPECIAL_FILE, path=next.name, kind="sparse file")


class TarSource(_LocalTreeSource):
    """A tar package (plain, gz, bz2, xz), unpacked once into staging, then served like a folder."""

    def __init__(self, path: Path, limits: Limits, staging: Path | None, *, compression: str = "tar") -> None:
        self.name = path.name
        self._limits = limits
        self._own_staging: Path | None = None
        if staging is None:
            staging = self._own_staging = Path(tempfile.mkdtemp(prefix="earchive-tar-"))
        staging.mkdir(parents=True, exist_ok=True)
        self._unpacked = Path(tempfile.mkdtemp(prefix="tar-", dir=staging))
        try:
            catalogue = self._unpack(path, compression)
        except BaseException:
            shutil.rmtree(self._unpacked, ignore_errors=True)
            self._remove_own_staging()
            raise
        self.root = catalogue.root()
        self._base = self._unpacked / self.root if self.root else self._unpacked
        self._entries = [
            Entry(path=_strip(p, self.root), size=size, raw_name=raw) for p, size, raw in catalogue.order
        ]
        self._by_path = {e.path: e for e in self._entries}
        self._disk_parts = {e.path: e.path.split("/") for e in self._entries}

    def _unpack(self, path: Path, compression: str) -> _Catalogue:
        limits = self._limits
        archive_size = path.stat().st_size
        catalogue = _Catalogue(limits, self.name, compressed_bytes=archive_size if compression != "tar" else None)
        stream_cap = limits.max_total_bytes + (limits.max_entries + 2) * (2 * _MAX_EXTENDED_TAR_HEADER + 1024)
        with open(path, "rb") as raw, _decompressing(raw, compression) as inner:
            capped = _CappedStream(inner, stream_cap, self.name)
            try:
                archive = tarfile.open(  # noqa: SIM115 - closed by the `with archive` right below
                    name=self.name, fileobj=cast(IO[bytes], capped), mode="r|", tarinfo=_GuardedTarInfo,
                    encoding="utf-8", errors="surrogateescape",
                )
                with archive:
                    self._unpack_members(archive, catalogue, archive_size, compression)
            except (tarfile.TarError, RecursionError, ValueError, EOFError, zlib.error) as exc:
                raise _rejected(PKG_CORRUPT, path=self.name, reason=f"tar: {exc}") from exc
        catalogue.require_files()
        return catalogue

    def _unpack_members(
        self, archive: tarfile.TarFile, catalogue: _Catalogue, archive_size: int, compression: str
    ) -> None:
        members: list[Any] = getattr(archive, "members")  # noqa: B009 - not in typeshed
        while True:
            member = archive.next()
            members.clear()  # tarfile keeps every member; we need none of them
            if member is None:
                return
            catalogue.count_member()
            self._check_member_type(member)
            if member.isdir():
                if member.size:
                    raise _rejected(PKG_CORRUPT, path=self.name, reason=f"folder {_printable(member.name)} has data")
                catalogue.add_dir(member.name + "/")
                continue
            if compression == "tar" and catalogue.total + member.size > archive_size:
                raise _rejected(PKG_CORRUPT, path=self.name,
                                reason=f"{_printable(member.name)} declares more bytes than the archive holds")
            path = catalogue.add_file(member.name, member.size)
            self._write(archive, member, path)

    def _check_member_type(self, member: tarfile.TarInfo) -> None:
        name = member.name
        _normalise(name, self._limits, is_dir=member.isdir())
        if member.issym():
            raise _rejected(PKG_LINK, path=name, kind="symlink")
        if member.islnk():
            raise _rejected(PKG_LINK, path=name, kind="hard link")
        if member.ischr() or member.isblk():
            raise _rejected(PKG_SPECIAL_FILE, path=name, kind="device")
        if member.isfifo():
            raise _rejected(PKG_SPECIAL_FILE, path=name, kind="FIFO")
        if member.issparse():
            raise _rejected(PKG_SPECIAL_FILE, path=name, kind="sparse file")
        if not (member.isreg() or member.isdir()) or member.type not in tarfile.SUPPORTED_TYPES:
            raise _rejected(PKG_SPECIAL_FILE, path=name, kind=f"tar type {member.type!r}")

    def _write(self, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        parts = path.split("/")
        for part in parts:
            if len(part.encode("utf-8")) > _FS_NAME_MAX_BYTES:
                raise _rejected(PKG_NAME_TOO_LONG, path=member.name, length=f"{len(part.encode('utf-8'))} B",
                                limit=f"{_FS_NAME_MAX_BYTES} B UTF-8")
        source = archive.extractfile(member)
        if source is None:
            raise _rejected(PKG_CORRUPT, path=self.name, reason=f"no data for {_printable(member.name)}")
        fd = self._create(parts)
        written = 0
        with source, io.FileIO(fd, "wb", closefd=True) as out:
            while True:
                chunk = source.read(min(_READ_CHUNK * 16, member.size - written + 1))
                if not chunk:
                    break
                written += len(chunk)
                if written > member.size:
                    raise _rejected(PKG_SIZE_MISMATCH, path=member.name, reason="more data than the header says")
                out.write(chunk)
        if written != member.size:
            raise _rejected(PKG_SIZE_MISMATCH, path=member.name,
                            reason=f"{written} bytes of the declared {member.size}")

    def _create(self, parts: list[str]) -> int:
        """Create staging/parts… exclusively, never following a link; returns a write descriptor."""
        dir_fd = os.open(self._unpacked, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=dir_fd)
                next_fd = os.open(part, _NOFOLLOW_DIR, dir_fd=dir_fd)
                os.close(dir_fd)
                dir_fd = next_fd
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            return os.open(parts[-1], flags, 0o600, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def __getstate__(self) -> dict[str, Any]:
        """A copy in the content worker reads the unpacked files but never removes them."""
        state = super().__getstate__()
        state["_own_staging"] = None
        return state

    def _remove_own_staging(self) -> None:
        if self._own_staging is not None:
            shutil.rmtree(self._own_staging, ignore_errors=True)
            self._own_staging = None

    def close(self) -> None:
        """Removes the unpacked files only when the source made its own staging folder."""
        super().close()
        self._remove_own_staging()
