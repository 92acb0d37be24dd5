"""Retention periods, due-date rules and the retention schedule file (no database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from archive_core.settings import Settings
from preservation.retention import (
    NEEDS_VERIFICATION,
    SHIPPED_SCHEDULE,
    PeriodError,
    PeriodKind,
    RetentionPeriod,
    ScheduleError,
    load_schedule,
    schedule_path,
)

HEADER = "code,record_type,period,type_names,legal_basis,verified\n"


def test_years_fall_due_on_first_january_after_n_full_years() -> None:
    period = RetentionPeriod.parse("10")
    assert period.kind is PeriodKind.YEARS and period.years == 10
    assert period.due_date(end_year=2015) == date(2026, 1, 1)
    assert period.due_date(end_year=None) is None
    assert RetentionPeriod.parse("5 năm").due_date(end_year=2020) == date(2026, 1, 1)


def test_permanent_never_falls_due() -> None:
    for notation in ("Vĩnh viễn", "vinh vien", "01"):
        period = RetentionPeriod.parse(notation)
        assert period.kind is PeriodKind.PERMANENT
        assert period.due_date(end_year=1990) is None
        assert period.maintenance_code == "01"


def test_event_period_waits_for_its_trigger() -> None:
    until = RetentionPeriod.parse("event:Đến khi văn bản hết hiệu lực thi hành:0")
    assert until.kind is PeriodKind.EVENT and until.years == 0
    assert until.due_date(end_year=2015) is None
    assert until.due_date(end_year=2015, trigger_on=date(2027, 7, 1)) == date(2027, 7, 1)
    after = RetentionPeriod.parse("event:sau khi thanh lý hợp đồng:10")
    assert after.due_date(end_year=2015) is None
    assert after.due_date(end_year=2015, trigger_on=date(2027, 7, 1)) == date(2038, 1, 1)
    assert after.label_vi == "10 năm sau khi thanh lý hợp đồng"
    assert RetentionPeriod.parse(after.notation) == after
    assert after.maintenance_code == "07"


def test_maintenance_values_as_submitters_write_them() -> None:
    assert RetentionPeriod.from_maintenance("06") == RetentionPeriod.of_years(10)
    assert RetentionPeriod.from_maintenance("70 năm") == RetentionPeriod.of_years(70)
    assert RetentionPeriod.from_maintenance("07") is None
    assert RetentionPeriod.from_maintenance("") is None
    assert RetentionPeriod.from_maintenance(None) is None
    until = RetentionPeriod.from_maintenance("Đến khi văn bản hết hiệu lực")
    assert until is not None and until.kind is PeriodKind.EVENT and until.years == 0
    after = RetentionPeriod.from_maintenance("5 năm kể từ khi thanh lý tài sản")
    assert after == RetentionPeriod.after_event("kể từ khi thanh lý tài sản", 5)
    assert RetentionPeriod.of_years(5).maintenance_code == "07"  # TT 05 has no code for 5 years
    assert RetentionPeriod.of_years(20).maintenance_code == "05"


@pytest.mark.parametrize("bad", ["", "mười năm", "event:không có số năm", "event::3", "0", "Khác"])
def test_unreadable_periods_are_refused(bad: str) -> None:
    with pytest.raises(PeriodError):
        RetentionPeriod.parse(bad)


def test_event_ranks_above_years_and_below_permanent() -> None:
    ranked = sorted(
        [RetentionPeriod.of_years(70), RetentionPeriod.permanent(), RetentionPeriod.after_event("x", 0)],
        key=RetentionPeriod.rank,
    )
    assert [p.kind for p in ranked] == [PeriodKind.YEARS, PeriodKind.EVENT, PeriodKind.PERMANENT]


def test_shipped_schedule_is_complete_and_marked_for_verification() -> None:
    schedule = load_schedule()
    assert schedule.source == str(SHIPPED_SCHEDULE)
    assert len(schedule) >= 20
    assert all(entry.verified == NEEDS_VERIFICATION for entry in schedule)
    assert len(schedule.unverified) == len(schedule)
    kinds = {entry.period.kind for entry in schedule}
    assert kinds == {PeriodKind.YEARS, PeriodKind.PERMANENT, PeriodKind.EVENT}
    names = " ".join(entry.record_type.lower() for entry in schedule)
    for wanted in ("nghị quyết", "quyết định", "báo cáo", "kế hoạch", "công văn trao đổi", "hội nghị"):
        assert wanted in names
    assert all(entry.legal_basis for entry in schedule)


def test_schedule_match_picks_the_longest_candidate() -> None:
    schedule = load_schedule()
    # Reports match yearly (permanent), half-yearly (20) and monthly (5) rows: a guess never shortens.
    report = schedule.match(["14"])
    assert report is not None and report.period.kind is PeriodKind.PERMANENT
    invitation = schedule.match(["26", None])
    assert invitation is not None and invitation.period == RetentionPeriod.of_years(5)
    assert schedule.match(["32"]) is None
    assert schedule.match([]) is None


def test_schedule_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "A,Loại A,10,,x,cần đối chiếu\nB,Loại B,mười,,x,cần đối chiếu\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"s\.csv:3"):
        load_schedule(path)
    path.write_text(HEADER + "A,Loại A,10,,x,cần đối chiếu\nA,Loại A2,5,,x,cần đối chiếu\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match="duplicate"):
        load_schedule(path)
    path.write_text("code,record_type,period\nA,B,10\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match="missing columns"):
        load_schedule(path)


def test_a_deployment_copy_in_home_replaces_the_shipped_schedule(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert schedule_path(settings) == SHIPPED_SCHEDULE
    local = tmp_path / "retention_schedule.csv"
    local.write_text("\ufeff" + HEADER + "X.1,Loại riêng,7,32,quyết định của cơ quan,đã đối chiếu\n", encoding="utf-8")
    assert schedule_path(settings) == local
    schedule = load_schedule(schedule_path(settings))
    entry = schedule.get("X.1")
    assert entry is not None and entry.is_verified and entry.period.years == 7
    assert schedule.unverified == []
