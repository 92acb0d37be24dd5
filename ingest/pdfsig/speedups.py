"""Two speed-ups installed into pyHanko and asn1crypto (imports both); behaviour is unchanged.

1. PDF hex strings. pyHanko reads a hex string one byte at a time; a signature's /Contents is a hex string
of 8–30 kB, read several times per validation, which made up half of the validation
time (about 3 ms per read). This reader takes the same bytes in chunks: digits and
PDF whitespace only, up to the closing `>`, an odd digit count padded with 0, the stream
left just after `>`. Anything else (a comment inside the string, a bad character, the
end of the stream) is handed back to pyHanko's own reader from the same position, so
errors and edge cases behave exactly as before.

2. Name comparison. asn1crypto compares certificate names (RFC 5280 §7.1) after RFC 4518
string preparation, a pure function of the string that pyHanko triggers a few dozen
times per signature on freshly parsed names (Vietnamese names make it costly). It is
memoised by string value.

And one repair: asn1crypto builds each OID class's name→OID table on first use and never
updates it. Code that names an OID (say `ContentType("signed_data")`) before pyHanko or
`asn1crypto.tsp` registered theirs leaves the table stale, and pyHanko then fails on
`"tst_info"`. `refresh_oid_tables()` rebuilds stale tables from the current OID registrations.
"""

from __future__ import annotations

import binascii
import functools
import re
import threading
from typing import Any

from asn1crypto import core, x509  # type: ignore[import-untyped]
from pyhanko.pdf_utils import generic, misc

CHUNK = 64 * 1024
_WHITESPACE = bytes(misc.PDF_WHITESPACE)
_BODY = re.compile(rb"[0-9A-Fa-f" + re.escape(_WHITESPACE) + rb"]*")
_lock = threading.Lock()


def install() -> None:
    """Install both speed-ups and refresh the OID tables (idempotent, thread-safe)."""
    refresh_oid_tables()
    with _lock:
        current = generic.read_hex_string_from_stream
        if not getattr(current, "earchive_fast", False):
            generic.read_hex_string_from_stream = _make_fast(current)
        prep = x509.NameTypeAndValue._ldap_string_prep
        if not getattr(prep, "earchive_cached", False):
            x509.NameTypeAndValue._ldap_string_prep = _memoised_prep(prep)


def _memoised_prep(original: Any) -> Any:
    @functools.lru_cache(maxsize=8192)
    def prepare(string: str) -> str:
        return str(original(None, string))  # `self` is unused by asn1crypto's implementation

    def _ldap_string_prep(self: Any, string: str) -> str:
        return prepare(string)

    _ldap_string_prep.earchive_cached = True  # type: ignore[attr-defined]
    return _ldap_string_prep


def _make_fast(original: Any) -> Any:
    def read_hex_string_from_stream(stream: Any) -> Any:
        start = stream.tell()
        stream.read(1)  # the opening "<"
        parts: list[bytes] = []
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            end = chunk.find(b">")
            body = chunk if end < 0 else chunk[:end]
            if not _BODY.fullmatch(body):
                break
            parts.append(body)
            if end >= 0:
                stream.seek(stream.tell() - len(chunk) + end + 1)
                digits = b"".join(parts).translate(None, _WHITESPACE)
                if len(digits) % 2:
                    digits += b"0"
                return generic.pdf_string(binascii.unhexlify(digits))
        stream.seek(start)
        return original(stream)

    read_hex_string_from_stream.earchive_fast = True  # type: ignore[attr-defined]
    return read_hex_string_from_stream


def refresh_oid_tables() -> int:
    """Rebuild every asn1crypto name→value table that misses names registered since; returns how many."""
    stale = 0
    pending = [core.Asn1Value]
    seen: set[type] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        reverse = cls.__dict__.get("_reverse_map")
        forward = getattr(cls, "_map", None)
        if reverse is not None and isinstance(forward, dict) and any(v not in reverse for v in forward.values()):
            cls._reverse_map = {value: key for key, value in forward.items()}  # as asn1crypto's ValueMap._setup
            stale += 1
    return stale
