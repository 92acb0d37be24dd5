"""Retention (R-RT-1…5): periods and the schedule, appraisal, legal holds, due lists.

- `period`: `RetentionPeriod` (years, permanent, event-based) and its due date;
- `schedule`: the editable retention schedule (`archive_core/data/retention_schedule.csv`);
- `assign`: a dossier's period at ingest, record type, extension, event trigger, history;
- `holds`: legal holds and the maintained `dossiers.legal_hold` flag;
- `due`: the due list, the advance list, stored lists and the scheduled job;
- `cli`: what the command line shows.

Tables: `archive_core.catalog.retention_models` (Alembic revision `0002_retention`).
"""

from archive_core.catalog.retention_models import (
    DueListItemRow,
    DueListKind,
    DueListRow,
    HoldScope,
    LegalHoldDossierRow,
    LegalHoldRow,
    PeriodKind,
    RetentionChangeKind,
    RetentionChangeRow,
    RetentionSource,
    RetentionStateRow,
)
from preservation.retention.assign import (
    DossierRetention,
    RetentionChange,
    assign_at_ingest,
    current_retention,
    extend_retention,
    find_dossier,
    record_trigger,
    retention_history,
    set_record_type,
)
from preservation.retention.due import (
    ADVANCE_NOTICE_DAYS,
    STATUS_ADVANCE,
    STATUS_DUE,
    Blocker,
    DueItem,
    DueJobResult,
    DueList,
    StoredDueList,
    build_due_list,
    destruction_blockers,
    due_list_in,
    latest_due_list,
    load_due_list,
    run_due_job,
    store_due_list,
)
from preservation.retention.errors import RetentionError
from preservation.retention.holds import (
    Hold,
    active_holds_for,
    covered_count,
    get_hold,
    list_holds,
    place_hold,
    refresh_hold_flags,
    release_hold,
)
from preservation.retention.period import PeriodError, RetentionPeriod
from preservation.retention.schedule import (
    NEEDS_VERIFICATION,
    SHIPPED_SCHEDULE,
    RetentionSchedule,
    ScheduleEntry,
    ScheduleError,
    load_schedule,
    schedule_path,
)

__all__ = [
    "ADVANCE_NOTICE_DAYS",
    "NEEDS_VERIFICATION",
    "SHIPPED_SCHEDULE",
    "STATUS_ADVANCE",
    "STATUS_DUE",
    "Blocker",
    "DossierRetention",
    "DueItem",
    "DueJobResult",
    "DueList",
    "DueListItemRow",
    "DueListKind",
    "DueListRow",
    "Hold",
    "HoldScope",
    "LegalHoldDossierRow",
    "LegalHoldRow",
    "PeriodError",
    "PeriodKind",
    "RetentionChange",
    "RetentionChangeKind",
    "RetentionChangeRow",
    "RetentionError",
    "RetentionPeriod",
    "RetentionSchedule",
    "RetentionSource",
    "RetentionStateRow",
    "ScheduleEntry",
    "ScheduleError",
    "StoredDueList",
    "active_holds_for",
    "assign_at_ingest",
    "build_due_list",
    "covered_count",
    "current_retention",
    "destruction_blockers",
    "due_list_in",
    "extend_retention",
    "find_dossier",
    "get_hold",
    "latest_due_list",
    "list_holds",
    "load_due_list",
    "load_schedule",
    "place_hold",
    "record_trigger",
    "refresh_hold_flags",
    "release_hold",
    "retention_history",
    "run_due_job",
    "schedule_path",
    "set_record_type",
    "store_due_list",
]
