"""The retention schedule (R-RT-2): record type → period, shipped as editable CSV.

`archive_core/data/retention_schedule.csv` has the columns

    code, record_type, period, type_names, legal_basis, verified

- `code`: the record type's identifier (what `retention_states.record_type` holds);
- `record_type`: its name in Vietnamese;
- `period`: `10` (years), `Vĩnh viễn`, or `event:<description>:<years>`;
- `type_names`: typeName codes (metadata.md §4, "01" Nghị quyết …) separated
  by spaces; a dossier whose documents carry one of them matches the row when
  no record type was set for it (see `match`);
- `legal_basis`: where the period comes from;
- `verified`: `cần đối chiếu` until someone has checked the row against the
  official appendix of TT 10/2022/TT-BNV, then `đã đối chiếu`.

A deployment edits a copy at `<home>/retention_schedule.csv`, which then takes
the place of the shipped file (`schedule_path`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import archive_core
from archive_core.settings import Settings
from preservation.retention.period import PeriodError, RetentionPeriod, nfc

SHIPPED_SCHEDULE = Path(archive_core.__file__).resolve().parent / "data" / "retention_schedule.csv"
SCHEDULE_FILE_NAME = "retention_schedule.csv"
COLUMNS = ("code", "record_type", "period", "type_names", "legal_basis", "verified")
NEEDS_VERIFICATION = "cần đối chiếu"
VERIFIED = "đã đối chiếu"
MAX_SCHEDULE_BYTES = 4 * 1024 * 1024


class ScheduleError(ValueError):
    """The schedule file cannot be used."""


@dataclass(frozen=True)
class ScheduleEntry:
    code: str
    record_type: str
    period: RetentionPeriod
    type_names: tuple[str, ...]
    legal_basis: str
    verified: str

    @property
    def is_verified(self) -> bool:
        return self.verified == VERIFIED

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "record_type": self.record_type,
            "period": self.period.notation,
            "period_label": self.period.label_vi,
            "type_names": list(self.type_names),
            "legal_basis": self.legal_basis,
            "verified": self.verified,
        }


class RetentionSchedule:
    """The rows of a schedule file, by code, in file order."""

    def __init__(self, entries: Iterable[ScheduleEntry], *, source: str = "") -> None:
        self.entries: tuple[ScheduleEntry, ...] = tuple(entries)
        self.source = source
        self._by_code: dict[str, ScheduleEntry] = {}
        for entry in self.entries:
            if entry.code in self._by_code:
                raise ScheduleError(f"{source}: mã loại hồ sơ {entry.code!r} lặp lại / duplicate code {entry.code!r}")
            self._by_code[entry.code] = entry

    def __iter__(self) -> Iterator[ScheduleEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, code: str | None) -> ScheduleEntry | None:
        return self._by_code.get(nfc(code)) if code else None

    def match(self, type_codes: Iterable[str | None]) -> ScheduleEntry | None:
        """The row for a dossier without a record type, from its documents' typeName codes.

        Every row listing one of the codes is a candidate; the one that keeps
        the dossier longest wins (permanent, then event-based, then the most
        years; file order breaks ties), so that a guess never shortens what the
        dossier's most valuable document needs.
        """
        wanted = {code for code in type_codes if code}
        candidates = [entry for entry in self.entries if wanted.intersection(entry.type_names)]
        if not candidates:
            return None
        best = max(entry.period.rank() for entry in candidates)
        return next(entry for entry in candidates if entry.period.rank() == best)

    @property
    def unverified(self) -> list[ScheduleEntry]:
        return [entry for entry in self.entries if not entry.is_verified]


def schedule_path(settings: Settings | None = None) -> Path:
    """`<home>/retention_schedule.csv` when the deployment has one, else the shipped file."""
    if settings is not None:
        local = settings.home / SCHEDULE_FILE_NAME
        if local.is_file():
            return local
    return SHIPPED_SCHEDULE


def load_schedule(path: Path | None = None) -> RetentionSchedule:
    """Read and check a schedule file (UTF-8, with or without BOM); every problem names its line."""
    path = path or SHIPPED_SCHEDULE
    if path.stat().st_size > MAX_SCHEDULE_BYTES:
        raise ScheduleError(f"{path}: tệp lịch thời hạn quá lớn / schedule file too large")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ScheduleError(f"{path}: thiếu cột {missing} / missing columns {missing}")
        entries = [_entry(path, reader.line_num, row) for row in reader if any((v or "").strip() for v in row.values())]
    return RetentionSchedule(entries, source=str(path))


def _entry(path: Path, line: int, row: dict[str, str | None]) -> ScheduleEntry:
    values = {column: nfc(row.get(column) or "") for column in COLUMNS}
    for required in ("code", "record_type", "period", "verified"):
        if not values[required]:
            raise ScheduleError(f"{path}:{line}: cột {required} trống / column {required} is empty")
    try:
        period = RetentionPeriod.parse(values["period"])
    except PeriodError as exc:
        raise ScheduleError(f"{path}:{line}: {exc}") from exc
    return ScheduleEntry(
        code=values["code"],
        record_type=values["record_type"],
        period=period,
        type_names=tuple(values["type_names"].split()),
        legal_basis=values["legal_basis"],
        verified=values["verified"],
    )
