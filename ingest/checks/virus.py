"""R-CK-7: every file is scanned by ClamAV's daemon while the content pass reads it.

The scanner plugs into the content pass as a stream consumer: the bytes read
for hashing are sent on to clamd with the INSTREAM command, so a file is read
once for fixity, format and virus checks together. Each worker thread keeps
one long-lived clamd session (`IDSESSION`), so no connection is made per file.

An infected file is copied to the quarantine folder (outside staging, mode
0400, with a JSON note) and the package is rejected. When clamd cannot be
reached, `VirusPolicy.when_unavailable` decides: reject, hold (rejected now,
to be scanned again) or skip (accepted with a warning).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from archive_core.findings import CheckContext, Severity, declare
from archive_core.premis import Agent, EventType, Outcome, event
from archive_core.settings import VirusPolicy
from ingest.package import ParsedPackage
from ingest.source import Entry, PackageSource

INFECTED = declare(
    "CK-VIRUS-FOUND", "R-CK-7", Severity.ERROR,
    "Tệp {path} nhiễm mã độc \u201c{signature}\u201d; tệp đã được cách ly, gói bị từ chối",
    "{path} is infected with \u201c{signature}\u201d; the file was quarantined and the package rejected",
)
UNAVAILABLE = declare(
    "CK-VIRUS-UNAVAILABLE", "R-CK-7", Severity.ERROR,
    "Không kết nối được dịch vụ quét mã độc ({reason}); gói bị từ chối vì chưa được quét",
    "The virus scanner is unreachable ({reason}); the package is rejected because it was not scanned",
)
HELD = declare(
    "CK-VIRUS-HELD", "R-CK-7", Severity.ERROR,
    "Không kết nối được dịch vụ quét mã độc ({reason}); gói được tạm giữ, chờ quét lại trước khi tiếp nhận",
    "The virus scanner is unreachable ({reason}); the package is held until it can be scanned",
)
SKIPPED = declare(
    "CK-VIRUS-SKIPPED", "R-CK-7", Severity.WARNING,
    "Gói chưa được quét mã độc: {reason}; chính sách hiện hành cho phép tiếp nhận khi không quét được",
    "The package was not scanned for viruses: {reason}; the policy in force accepts unscanned packages",
)
NOT_SCANNED = declare(
    "CK-VIRUS-NOT-SCANNED", "R-CK-7", Severity.WARNING,
    "Tệp {path} chưa được quét mã độc: {reason}",
    "{path} was not scanned for viruses: {reason}",
)

AGENT_NAME = "ClamAV clamd"


class ClamdError(Exception):
    pass


@dataclass(frozen=True)
class ScanResult:
    path: str
    clean: bool
    signature: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ScanReport:
    """What the scanning during one content pass found (that pass may have run in the content worker)."""

    policy: VirusPolicy
    available: bool
    version: str
    unavailable_reason: str
    results: dict[str, ScanResult]

    @property
    def infected(self) -> bool:
        return any(result.signature for result in self.results.values())

    def joined(self, other: ScanReport) -> ScanReport:
        """One report for a pass two processes shared (each scanned its own files)."""
        return ScanReport(
            policy=self.policy,
            available=self.available and other.available,
            version=self.version or other.version,
            unavailable_reason=self.unavailable_reason or other.unavailable_reason,
            results={**self.results, **other.results},
        )


class _Session:
    """One clamd IDSESSION connection: requests are answered in order."""

    def __init__(self, policy: VirusPolicy) -> None:
        self._sock = _connect(policy)
        self._sock.sendall(b"zIDSESSION\0")
        self._buffer = b""

    def instream_start(self) -> None:
        self._sock.sendall(b"zINSTREAM\0")

    def send(self, chunk: memoryview | bytes) -> None:
        if chunk:
            self._sock.sendall(struct.pack("!L", len(chunk)))
            self._sock.sendall(chunk)

    def instream_end(self) -> str:
        self._sock.sendall(struct.pack("!L", 0))
        return self._reply()

    def version(self) -> str:
        self._sock.sendall(b"zVERSION\0")
        return self._reply()

    def _reply(self) -> str:
        while b"\0" not in self._buffer:
            data = self._sock.recv(4096)
            if not data:
                raise ClamdError("clamd closed the connection")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\0")
        text = line.decode("utf-8", "replace")
        # Session replies are prefixed with the request number: "3: stream: OK".
        number, sep, rest = text.partition(": ")
        return rest if sep and number.isdigit() else text

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"zEND\0")
        self._sock.close()


def _connect(policy: VirusPolicy) -> socket.socket:
    try:
        if policy.clamd_socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(policy.timeout_seconds)
            sock.connect(policy.clamd_socket)
        else:
            sock = socket.create_connection((policy.clamd_host, policy.clamd_port), timeout=policy.timeout_seconds)
    except OSError as exc:
        raise ClamdError(str(exc)) from exc
    return sock


class _StreamScan:
    """Consumer of one file's bytes for the content pass."""

    def __init__(self, scanner: VirusScanner, entry: Entry, session: _Session) -> None:
        self._scanner = scanner
        self._entry = entry
        self._session = session
        self._failed: str | None = None
        try:
            session.instream_start()
        except OSError as exc:
            self._failed = str(exc)

    def update(self, chunk: memoryview) -> None:
        if self._failed is None:
            try:
                self._session.send(chunk)
            except OSError as exc:
                self._failed = str(exc)

    def finish(self) -> None:
        path = self._entry.path
        if self._failed is not None:
            self._scanner.drop_session()
            self._scanner.store(ScanResult(path, clean=False, error=self._failed))
            return
        try:
            reply = self._session.instream_end()
        except (OSError, ClamdError) as exc:
            self._scanner.drop_session()
            self._scanner.store(ScanResult(path, clean=False, error=str(exc)))
            return
        self._scanner.store(_parse_reply(path, reply))


def _parse_reply(path: str, reply: str) -> ScanResult:
    body = reply.removeprefix("stream: ").strip()
    if body == "OK":
        return ScanResult(path, clean=True)
    if body.endswith(" FOUND"):
        return ScanResult(path, clean=False, signature=body.removesuffix(" FOUND"))
    return ScanResult(path, clean=False, error=body)


@dataclass
class VirusScanner:
    """Scans streams through clamd; create one per gate run and `close()` it."""

    policy: VirusPolicy
    results: dict[str, ScanResult] = field(default_factory=dict)
    available: bool = False
    version: str = ""
    unavailable_reason: str = ""
    _local: threading.local = field(default_factory=threading.local)
    _sessions: list[_Session] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.policy.enabled:
            self.unavailable_reason = "chức năng quét mã độc đang tắt (virus scanning disabled)"
            return
        try:
            self.version = self._session().version()
            self.available = True
        except (OSError, ClamdError) as exc:
            self.unavailable_reason = str(exc)

    def consumer(self, entry: Entry) -> _StreamScan | None:
        if not self.available:
            return None
        try:
            return _StreamScan(self, entry, self._session())
        except (OSError, ClamdError) as exc:
            self.store(ScanResult(entry.path, clean=False, error=str(exc)))
            return None

    def report(self) -> ScanReport:
        with self._lock:
            results = dict(self.results)
        return ScanReport(self.policy, self.available, self.version, self.unavailable_reason, results)

    def store(self, result: ScanResult) -> None:
        with self._lock:
            self.results[result.path] = result

    def drop_session(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _session(self) -> _Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = _Session(self.policy)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def check_viruses(
    pkg: ParsedPackage,
    source: PackageSource,
    scan: ScanReport,
    ctx: CheckContext,
    quarantine: Path,
) -> None:
    agent = Agent(AGENT_NAME, version=scan.version or "unavailable")
    if not scan.available:
        _report_unavailable(scan, ctx, agent)
        return
    infected = 0
    for path in sorted(scan.results):
        result = scan.results[path]
        document = _document(pkg, path)
        if result.signature:
            infected += 1
            _quarantine(source, path, result, quarantine)
            ctx.report(INFECTED, path=path, document=document, signature=result.signature)
        elif result.error:
            ctx.report(NOT_SCANNED, path=path, document=document, reason=result.error)
    missing = [e.path for e in source.entries() if e.path not in scan.results]
    for path in missing:
        ctx.report(NOT_SCANNED, path=path, document=_document(pkg, path), reason="không có kết quả quét")
    ctx.record(
        event(
            EventType.VIRUS_CHECK,
            agent,
            Outcome.FAILURE if infected else Outcome.SUCCESS,
            "Quét mã độc toàn bộ tệp trong gói bằng ClamAV (R-CK-7)",
            outcome_detail=f"scanned={len(scan.results)} infected={infected} not_scanned={len(missing)}",
        )
    )


def _report_unavailable(scan: ScanReport, ctx: CheckContext, agent: Agent) -> None:
    mode = scan.policy.when_unavailable if scan.policy.enabled else "skip"
    reason = scan.unavailable_reason
    if mode == "reject":
        ctx.report(UNAVAILABLE, reason=reason)
    elif mode == "hold":
        ctx.report(HELD, reason=reason)
    else:
        ctx.report(SKIPPED, reason=reason)
    ctx.record(
        event(
            EventType.VIRUS_CHECK,
            agent,
            Outcome.FAILURE if mode != "skip" else Outcome.WARNING,
            "Không quét được mã độc: dịch vụ ClamAV không sẵn sàng",
            outcome_detail=f"policy={mode} reason={reason}",
        )
    )


def _quarantine(source: PackageSource, path: str, result: ScanResult, quarantine: Path) -> None:
    """Keep the infected bytes for the security officer, unreadable to others, outside staging."""
    quarantine.mkdir(parents=True, exist_ok=True, mode=0o700)
    safe_name = path.replace("/", "__")
    target = quarantine / f"{safe_name}.quarantined"
    with source.open(path) as stream, open(target, "xb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    os.chmod(target, 0o400)
    note = {"path": path, "signature": result.signature, "package": source.name}
    (quarantine / f"{safe_name}.json").write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")


def _document(pkg: ParsedPackage, path: str) -> str | None:
    doc = pkg.document_of(path)
    return doc.key if doc else None
