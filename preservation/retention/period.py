"""Retention periods and the due dates they give (R-RT-1).

A period is one of

- `N` years: due on 1 January of year(endDate) + N + 1;
- Vĩnh viễn (permanent): never due;
- event-based, `event:<description>:<N>`: the period runs from an event whose
  date is entered later (the trigger), e.g. "đến khi văn bản hết hiệu lực".
  Until the trigger is recorded the dossier is never due. Once it is:
  N = 0 ("until the event") → due on the trigger date itself;
  N > 0 ("N years after the event") → due on 1 January of year(trigger) + N + 1,
  the same counting as R-RT-1 with the event's year in place of the end year.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from archive_core import codes
from archive_core.catalog.repo import retention_due_date
from archive_core.catalog.retention_models import PeriodKind

PERMANENT_LABEL = "Vĩnh viễn"
EVENT_PREFIX = "event:"
MAX_YEARS = 999

_UNTIL = re.compile(r"den khi .+")
_YEARS_AFTER = re.compile(r"(\d{1,3}) nam (sau khi|ke tu khi|ke tu) .+")


class PeriodError(ValueError):
    """A period that cannot be read; the message is Vietnamese and English."""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


@dataclass(frozen=True)
class RetentionPeriod:
    kind: PeriodKind
    years: int | None = None
    """YEARS: N (≥ 1). EVENT: N years after the event (0 = on the event). PERMANENT: None."""
    event: str | None = None
    """EVENT: what the trigger is, in Vietnamese ("Đến khi văn bản hết hiệu lực thi hành")."""

    def __post_init__(self) -> None:
        if self.kind is PeriodKind.YEARS and (self.years is None or not 1 <= self.years <= MAX_YEARS):
            raise PeriodError(f"thời hạn phải từ 1 đến {MAX_YEARS} năm / a period must be 1–{MAX_YEARS} years")
        if self.kind is PeriodKind.EVENT and (not self.event or self.years is None or not 0 <= self.years <= MAX_YEARS):
            raise PeriodError("thời hạn theo sự kiện cần mô tả và số năm / an event period needs a description "
                                  "and a number of years")
        if self.kind is PeriodKind.PERMANENT and (self.years is not None or self.event is not None):
            raise PeriodError("thời hạn vĩnh viễn không có số năm / a permanent period has no years")

    # ------------------------------------------------------------ constructors

    @classmethod
    def of_years(cls, years: int) -> RetentionPeriod:
        return cls(PeriodKind.YEARS, years)

    @classmethod
    def permanent(cls) -> RetentionPeriod:
        return cls(PeriodKind.PERMANENT)

    @classmethod
    def after_event(cls, event: str, years: int = 0) -> RetentionPeriod:
        return cls(PeriodKind.EVENT, years, nfc(event))

    @classmethod
    def parse(cls, notation: str) -> RetentionPeriod:
        """The schedule file's notation: `10`, `Vĩnh viễn`, `event:<description>:<years>`."""
        text = nfc(notation)
        if text.lower().startswith(EVENT_PREFIX):
            body = text[len(EVENT_PREFIX):]
            description, separator, years = body.rpartition(":")
            if not separator or not years.strip().isdecimal() or not description.strip():
                raise PeriodError(
                    f"thời hạn theo sự kiện phải có dạng event:<mô tả>:<số năm>, nhận được {notation!r} / "
                    f"an event period is written event:<description>:<years>, got {notation!r}"
                )
            return cls.after_event(description, int(years))
        period = cls.from_maintenance(text)
        if period is None or period.kind is PeriodKind.EVENT:
            raise PeriodError(
                f"không đọc được thời hạn {notation!r}: cần số năm, \"Vĩnh viễn\" hoặc event:<mô tả>:<số năm> / "
                f"unreadable period {notation!r}: expected years, \"Vĩnh viễn\" or event:<description>:<years>"
            )
        return period

    @classmethod
    def from_maintenance(cls, raw: str | None) -> RetentionPeriod | None:
        """The period a dossier states in its maintenance value, or None when it states none.

        TT 05 codes "01"–"06", "Vĩnh viễn", "10", "10 năm"; free text "Đến khi …"
        (event, 0 years) and "N năm sau khi …" / "N năm kể từ …" (event, N years).
        "07" (Khác) alone does not say the period: None.
        """
        if raw is None or not raw.strip():
            return None
        years = codes.maintenance_years(raw)
        if years == codes.PERMANENT:
            return cls.permanent()
        if isinstance(years, int):
            return cls.of_years(years) if years <= MAX_YEARS else None
        text = nfc(raw)
        key = codes.fold(text)
        if _UNTIL.fullmatch(key):
            return cls.after_event(text, 0)
        if match := _YEARS_AFTER.fullmatch(key):
            words = text.split(maxsplit=2)
            return cls.after_event(words[2] if len(words) == 3 else text, int(match.group(1)))
        return None

    # ------------------------------------------------------------ views

    @property
    def notation(self) -> str:
        if self.kind is PeriodKind.PERMANENT:
            return PERMANENT_LABEL
        if self.kind is PeriodKind.YEARS:
            return str(self.years)
        return f"{EVENT_PREFIX}{self.event}:{self.years}"

    @property
    def label_vi(self) -> str:
        """`10 năm`, `Vĩnh viễn`, `Đến khi văn bản hết hiệu lực thi hành`, `10 năm sau khi thanh lý hợp đồng`."""
        if self.kind is PeriodKind.PERMANENT:
            return PERMANENT_LABEL
        if self.kind is PeriodKind.YEARS:
            return f"{self.years} năm"
        assert self.event is not None
        return self.event if self.years == 0 else f"{self.years} năm {self.event}"

    @property
    def maintenance_code(self) -> str:
        """The TT 05 maintenance code ("01" … "06", "07" Khác for 5 years, 15 years, events …)."""
        if self.kind is PeriodKind.PERMANENT:
            return "01"
        if self.kind is PeriodKind.EVENT:
            return "07"
        return codes.maintenance_code_for(f"{self.years} năm") or "07"

    def due_date(self, *, end_year: int | None, trigger_on: date | None = None) -> date | None:
        """When a dossier with this period falls due; None: never, or not yet known."""
        if self.kind is PeriodKind.PERMANENT:
            return None
        if self.kind is PeriodKind.YEARS:
            return retention_due_date(end_year, self.years)
        if trigger_on is None:
            return None
        if self.years == 0:
            return trigger_on
        return retention_due_date(trigger_on.year, self.years)

    def rank(self) -> tuple[int, int]:
        """Orders periods by how long they keep a dossier, for picking the safest of several."""
        if self.kind is PeriodKind.PERMANENT:
            return (2, 0)
        if self.kind is PeriodKind.EVENT:
            # Unknown until the event: at least as long as its years after it.
            return (1, self.years or 0)
        return (0, self.years or 0)

    def __str__(self) -> str:
        return self.label_vi
