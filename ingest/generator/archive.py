"""Write a package tree as a folder, a ZIP or a tar.gz, streaming large files.

Every writer takes package-relative POSIX paths. Small files (XML, tag files)
are given as bytes; large ones as an iterator of chunks with a known size, so
no document is ever held whole in memory. ZIP entries of documents are stored
(PDFs do not compress), XML is deflated. Entry times come from the caller, so a
given package is the same bytes every time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

Form = Literal["folder", "zip", "tar.gz"]
_ZIP64_AT = 2**31 - 1


class PackageWriter(Protocol):
    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> None: ...

    def add_stream(self, path: str, chunks: Iterable[bytes], size: int, *, compress: bool = False) -> str:
        """Write `size` bytes; returns their SHA-256 (hex)."""
        ...

    def close(self) -> None: ...


def open_writer(target: Path, form: Form, root: str, moment: datetime) -> PackageWriter:
    """A writer for `target` (replaced if it exists); archives hold everything under `root/`."""
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if form == "folder":
        return FolderWriter(target)
    if form == "zip":
        return ZipWriter(target, root, moment)
    return TarWriter(target, root, moment)


class FolderWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)

    def _path(self, path: str) -> Path:
        full = self.root.joinpath(*path.split("/"))
        full.parent.mkdir(parents=True, exist_ok=True)
        return full

    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> None:
        self._path(path).write_bytes(data)

    def add_stream(self, path: str, chunks: Iterable[bytes], size: int, *, compress: bool = False) -> str:
        digest = hashlib.sha256()
        with self._path(path).open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        pass


class ZipWriter:
    def __init__(self, target: Path, root: str, moment: datetime) -> None:
        self.zip = zipfile.ZipFile(target, "w", allowZip64=True)
        self.root = root
        self.date_time = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)

    def _info(self, path: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{self.root}/{path}" if self.root else path, self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        return info

    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> None:
        self.zip.writestr(self._info(path, compress), data)

    def add_stream(self, path: str, chunks: Iterable[bytes], size: int, *, compress: bool = False) -> str:
        digest = hashlib.sha256()
        info = self._info(path, compress)
        info.file_size = size
        with self.zip.open(info, "w", force_zip64=size > _ZIP64_AT) as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        self.zip.close()


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of chunks (tarfile reads from it), hashing as it goes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
            self.digest.update(self._buffer)
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class TarWriter:
    def __init__(self, target: Path, root: str, moment: datetime) -> None:
        # A fixed gzip header time keeps the archive reproducible.
        self._raw = target.open("wb")
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=int(moment.timestamp()))
        self.tar = tarfile.open(fileobj=self._gzip, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed in close()
        self.root = root
        self.mtime = int(moment.timestamp())
        self._dirs: set[str] = set()

    def _info(self, path: str, size: int) -> tarfile.TarInfo:
        full = f"{self.root}/{path}" if self.root else path
        self._add_dirs(full)
        info = tarfile.TarInfo(full)
        info.size = size
        info.mtime = self.mtime
        info.mode = 0o644
        info.uname = info.gname = "earchive"
        return info

    def _add_dirs(self, full: str) -> None:
        parts = full.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder in self._dirs:
                continue
            self._dirs.add(folder)
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = self.mtime
            info.uname = info.gname = "earchive"
            self.tar.addfile(info)

    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> None:
        self.tar.addfile(self._info(path, len(data)), io.BytesIO(data))

    def add_stream(self, path: str, chunks: Iterable[bytes], size: int, *, compress: bool = False) -> str:
        reader = _ChunkReader(chunks)
        self.tar.addfile(self._info(path, size), io.BufferedReader(reader, buffer_size=1 << 20))
        return reader.digest.hexdigest()

    def close(self) -> None:
        self.tar.close()
        self._gzip.close()
        self._raw.close()
