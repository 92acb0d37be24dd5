"""Times for people and records: ISO 8601 in Vietnam time (+07:00)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(VN_TZ)


def to_vn(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return moment.astimezone(VN_TZ)


def iso_vn(moment: datetime, *, millis: bool = False) -> str:
    """`2026-11-21T15:03:45+07:00` (TT 05 METS dates use milliseconds)."""
    spec = "milliseconds" if millis else "seconds"
    return to_vn(moment).isoformat(timespec=spec)


def now_iso(clock: Clock = system_clock, *, millis: bool = False) -> str:
    return iso_vn(clock(), millis=millis)
