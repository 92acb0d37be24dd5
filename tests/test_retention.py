"""Retention on SQLite and PostgreSQL: periods, schedule, appraisal, legal holds, due lists, the job, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive_core.audit import AuditLog, anchors_dir_for
from archive_core.catalog import Catalog, DossierRow, DossierState, repo
from archive_core.model import Document, DocumentKind, Dossier, DossierKind, Fonds
from archive_core.settings import Settings, Storage
from archive_core.timeutil import VN_TZ
from preservation.retention import (
    STATUS_ADVANCE,
    STATUS_DUE,
    DueListItemRow,
    DueListKind,
    DueListRow,
    HoldScope,
    PeriodKind,
    RetentionChangeKind,
    RetentionError,
    RetentionPeriod,
    RetentionSchedule,
    RetentionSource,
    active_holds_for,
    assign_at_ingest,
    build_due_list,
    current_retention,
    destruction_blockers,
    extend_retention,
    find_dossier,
    list_holds,
    load_due_list,
    load_schedule,
    place_hold,
    record_trigger,
    refresh_hold_flags,
    release_hold,
    retention_history,
    run_due_job,
    set_record_type,
)

pytest_plugins = ["tests.catalog_fixtures"]

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=VN_TZ)
TODAY = T0.date()
AGENCY = "000.00.00.H49"
OTHER_AGENCY = "000.00.00.H30"


class Ticking:
    """A clock one second further on at every call, starting at `start`."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def jump_to(self, moment: datetime) -> None:
        self.now = moment


@dataclass
class Env:
    catalog: Catalog
    settings: Settings
    audit: AuditLog
    schedule: RetentionSchedule
    clock: Ticking

    def add(
        self,
        code: str,
        *,
        end_year: int | None = 2015,
        maintenance: str | None = "10 năm",
        types: tuple[str, ...] = ("22",),
        agency: str = AGENCY,
        organ_id: str | None = None,
        fonds_code: str | None = None,
        record_type: str | None = None,
        archived: bool = True,
    ) -> int:
        """Catalogue a dossier as ingest does (pending row, retention assigned, then archived)."""
        documents = [
            Document(kind=DocumentKind.DOC, doc_code=f"{code}.{n:07d}", type_name=type_name, subject="Trích yếu")
            for n, type_name in enumerate(types, start=1)
        ]
        dossier = Dossier(
            kind=DossierKind.HOSO, file_code=code, title=f"Hồ sơ {code}", maintenance=maintenance,
            start_date=f"01/01/{end_year}" if end_year else None,
            end_date=f"31/12/{end_year}" if end_year else None, organ_id=organ_id, documents=documents,
            fonds=Fonds(identifier="H49", organ_id=fonds_code, fond_name="Phông thử") if fonds_code else None,
        )
        with self.catalog.session() as session:
            row = repo.add_dossier(session, dossier, aip_id=f"aip-{code}", agency_code=agency, clock=self.clock)
            assign_at_ingest(session, row, schedule=self.schedule, audit=self.audit, record_type=record_type,
                             clock=self.clock)
            if archived:
                row.state = DossierState.ARCHIVED
                row.archived_at = self.clock()
            return row.id

    def row(self, dossier_id: int) -> DossierRow:
        with self.catalog.session(readonly=True) as session:
            return session.get_one(DossierRow, dossier_id)

    def due_ids(self, on: date, *, notice_days: int = 0) -> tuple[list[int], list[int]]:
        listing = build_due_list(self.catalog, on, notice_days=notice_days, clock=self.clock)
        return [item.dossier_id for item in listing.due], [item.dossier_id for item in listing.upcoming]

    def hold(self, scope: HoldScope, *, dossiers: tuple[int, ...] = (), code: str | None = None) -> int:
        with self.catalog.session() as session:
            rows = [session.get_one(DossierRow, dossier_id) for dossier_id in dossiers]
            return place_hold(session, scope=scope, reason="Thanh tra vụ việc số 12/TTr", owner="lananh.ttr",
                              dossiers=rows, code=code, audit=self.audit, clock=self.clock).id

    def release(self, hold_id: int) -> None:
        with self.catalog.session() as session:
            release_hold(session, hold_id, by="minhtq.vp", reason="Kết thúc thanh tra", audit=self.audit,
                         clock=self.clock)

    def actions(self) -> list[tuple[str, str]]:
        return [(entry.action, entry.actor) for entry in self.audit.entries(limit=10_000)]


@pytest.fixture
def env(catalog: Catalog, catalog_url: str, tmp_path: Path) -> Env:
    settings = Settings(home=tmp_path / "home", storage=Storage(catalog_url=catalog_url))
    clock = Ticking()
    audit = AuditLog(catalog, anchors_dir_for(settings), clock=clock)
    return Env(catalog, settings, audit, load_schedule(), clock)


# ---------------------------------------------------------------- periods and due dates


def test_due_dates_for_permanent_years_and_events(env: Env) -> None:
    permanent = env.add("P", maintenance="Vĩnh viễn")
    ten = env.add("Y10", maintenance="10 năm", end_year=2015)
    event = env.add("EV", maintenance="Đến khi văn bản hết hiệu lực thi hành")
    assert env.row(permanent).retention_due is None and env.row(permanent).retention_permanent
    assert env.row(ten).retention_due == date(2026, 1, 1)
    assert env.row(event).retention_due is None
    with env.catalog.session(readonly=True) as session:
        waiting = current_retention(session, env.row(event))
    assert waiting.period is not None and waiting.period.kind is PeriodKind.EVENT and waiting.waiting_for_trigger
    assert waiting.source is RetentionSource.METADATA and env.row(event).maintenance_code == "07"

    assert env.due_ids(date(2025, 12, 31))[0] == []
    assert env.due_ids(date(2026, 1, 1))[0] == [ten]
    assert env.due_ids(date(2200, 1, 1))[0] == [ten]  # permanent and untriggered never

    with env.catalog.session() as session:
        row = session.get_one(DossierRow, event)
        after = record_trigger(session, row, trigger_on=date(2027, 3, 15), by="hoa.lt", reason="QĐ bãi bỏ",
                               audit=env.audit, clock=env.clock)
    assert after.due == date(2027, 3, 15) and not after.waiting_for_trigger
    assert env.due_ids(date(2027, 3, 14))[0] == [ten]
    assert env.due_ids(date(2027, 3, 15))[0] == [ten, event]


def test_event_with_years_after_the_trigger(env: Env) -> None:
    contract = env.add("HD", maintenance=None, types=("21",))  # the schedule: 10 years after liquidation
    with env.catalog.session() as session:
        row = session.get_one(DossierRow, contract)
        assert current_retention(session, row).period == RetentionPeriod.after_event("sau khi thanh lý hợp đồng", 10)
        record_trigger(session, row, trigger_on=date(2027, 6, 30), by="hoa.lt", audit=env.audit, clock=env.clock)
    assert env.row(contract).retention_due == date(2038, 1, 1)


def test_trigger_refused_for_a_period_in_years(env: Env) -> None:
    ten = env.add("Y10")
    with env.catalog.session() as session, pytest.raises(RetentionError, match="event-based"):
        record_trigger(session, session.get_one(DossierRow, ten), trigger_on=TODAY, by="hoa.lt", audit=env.audit)


# ---------------------------------------------------------------- the schedule


def test_schedule_applies_when_the_dossier_states_no_period(env: Env) -> None:
    invitations = env.add("GM", maintenance=None, types=("26", "27"))
    coded_other = env.add("KHAC", maintenance="07", types=("14",))
    stated = env.add("ST", maintenance="20 năm", types=("26",))
    unknown = env.add("UNK", maintenance=None, types=("32",))
    chosen = env.add("TC", maintenance=None, types=("26",), record_type="TC.01")
    with env.catalog.session(readonly=True) as session:
        got = {key: current_retention(session, session.get_one(DossierRow, key))
               for key in (invitations, coded_other, stated, unknown, chosen)}
    assert got[invitations].period == RetentionPeriod.of_years(5)
    assert (got[invitations].source, got[invitations].schedule_code) == (RetentionSource.SCHEDULE, "VT.03")
    assert got[invitations].record_type_source == "typeName"
    assert got[invitations].due == date(2021, 1, 1)
    assert got[coded_other].period == RetentionPeriod.permanent()
    assert got[stated].period == RetentionPeriod.of_years(20) and got[stated].source is RetentionSource.METADATA
    assert got[unknown].period is None and got[unknown].due is None
    assert got[chosen].period == RetentionPeriod.of_years(70) and got[chosen].record_type == "TC.01"
    assert env.row(invitations).maintenance_code == "07" and env.row(chosen).maintenance_code == "02"
    assert env.due_ids(TODAY)[0] == [invitations]
    assigned = [entry for entry in env.audit.entries() if entry.action == "retention.assigned"]
    assert len(assigned) == 5
    assert {entry.details["schedule_verified"] for entry in assigned} == {False, None}


def test_record_type_set_by_the_archivist_follows_the_schedule_but_not_a_stated_period(env: Env) -> None:
    guessed = env.add("BC", maintenance=None, types=("14",))  # guessed: yearly report, permanent
    stated = env.add("ST", maintenance="20 năm")
    with env.catalog.session() as session:
        monthly = set_record_type(session, session.get_one(DossierRow, guessed), "TH.08", schedule=env.schedule,
                                  by="thu.nv", reason="Báo cáo tháng", audit=env.audit, clock=env.clock)
        kept = set_record_type(session, session.get_one(DossierRow, stated), "TH.08", schedule=env.schedule,
                               by="thu.nv", audit=env.audit, clock=env.clock)
        with pytest.raises(RetentionError, match="not in the retention schedule"):
            set_record_type(session, session.get_one(DossierRow, stated), "NO.SUCH", schedule=env.schedule,
                            by="thu.nv", audit=env.audit)
    assert monthly.period == RetentionPeriod.of_years(5) and monthly.record_type_source == "archivist"
    assert monthly.due == date(2021, 1, 1)
    assert kept.period == RetentionPeriod.of_years(20) and kept.record_type == "TH.08"
    assert env.due_ids(TODAY)[0] == [guessed]


def test_assignment_is_done_once(env: Env) -> None:
    dossier_id = env.add("Y10")
    with env.catalog.session() as session:
        row = session.get_one(DossierRow, dossier_id)
        again = assign_at_ingest(session, row, schedule=env.schedule, audit=env.audit, clock=env.clock)
        assert again.period == RetentionPeriod.of_years(10)
        assert len(retention_history(session, row)) == 1
        with pytest.raises(RetentionError):
            assign_at_ingest(session, row, schedule=env.schedule, audit=env.audit, record_type="NO.SUCH")


# ---------------------------------------------------------------- appraisal extends


def test_extension_removes_the_dossier_from_the_list_and_keeps_history(env: Env) -> None:
    due = env.add("Y10", end_year=2015)
    other = env.add("Y5", maintenance="5 năm", end_year=2015)
    assert env.due_ids(TODAY)[0] == [other, due]  # earliest due first (2021, then 2026)
    with env.catalog.session() as session:
        row = session.get_one(DossierRow, due)
        with pytest.raises(RetentionError, match="at least 11 years"):
            extend_retention(session, row, years=10, reason="Còn giá trị tra cứu", by="hdxh.chu-tich",
                             audit=env.audit, clock=env.clock)
        extended = extend_retention(session, row, years=20, reason="Còn giá trị tra cứu", by="hdxh.chu-tich",
                                    audit=env.audit, clock=env.clock)
    assert extended.period == RetentionPeriod.of_years(20) and extended.source is RetentionSource.APPRAISAL
    assert extended.due == date(2036, 1, 1)
    assert env.due_ids(TODAY)[0] == [other]
    assert env.row(due).maintenance == "10 năm"  # what the submitter wrote stays
    assert env.row(due).maintenance_code == "05"

    with env.catalog.session() as session:
        row = session.get_one(DossierRow, due)
        with pytest.raises(RetentionError, match="cannot shorten"):
            extend_retention(session, row, years=15, reason="x", by="hdxh.chu-tich", audit=env.audit,
                             clock=env.clock)
        forever = extend_retention(session, row, permanent=True, reason="Giá trị lịch sử", by="hdxh.chu-tich",
                                   audit=env.audit, clock=env.clock)
        with pytest.raises(RetentionError, match="already kept permanently"):
            extend_retention(session, row, years=90, reason="x", by="y", audit=env.audit)
        history = retention_history(session, row)
    assert forever.due is None
    assert [change.kind for change in history] == [
        RetentionChangeKind.ASSIGNED, RetentionChangeKind.EXTENDED, RetentionChangeKind.EXTENDED,
    ]
    assert [(change.old_period, change.new_period) for change in history] == [
        (None, "10"), ("10", "20"), ("20", "Vĩnh viễn"),
    ]
    assert [(change.old_due, change.new_due) for change in history][1:] == [
        (date(2026, 1, 1), date(2036, 1, 1)), (date(2036, 1, 1), None),
    ]
    assert history[1].reason == "Còn giá trị tra cứu" and history[1].actor == "hdxh.chu-tich"
    extended_entries = [e for e in env.audit.entries() if e.action == "retention.extended"]
    assert [e.actor for e in extended_entries] == ["hdxh.chu-tich", "hdxh.chu-tich"]  # refused ones left no trace


def test_extension_needs_a_reason_an_actor_and_a_live_dossier(env: Env) -> None:
    dossier_id = env.add("Y10")
    with env.catalog.session() as session:
        row = session.get_one(DossierRow, dossier_id)
        with pytest.raises(RetentionError, match="reason"):
            extend_retention(session, row, years=30, reason=" ", by="a", audit=env.audit)
        with pytest.raises(RetentionError, match="either"):
            extend_retention(session, row, reason="r", by="a", audit=env.audit)
        row.state = DossierState.DESTROYED
        with pytest.raises(RetentionError, match="destroyed"):
            extend_retention(session, row, years=30, reason="r", by="a", audit=env.audit)
        row.state = DossierState.ARCHIVED


# ---------------------------------------------------------------- legal holds


def test_holds_of_every_scope_freeze_and_release(env: Env) -> None:
    one = env.add("A1")
    listed = [env.add("L1"), env.add("L2")]
    agency = env.add("AG", agency=OTHER_AGENCY)
    by_fonds_row = env.add("F1", fonds_code="PH-07")
    by_organ_id = env.add("F2", organ_id="PH-07")
    free = env.add("FREE")
    everything = sorted([one, *listed, agency, by_fonds_row, by_organ_id, free])
    assert env.due_ids(TODAY)[0] == everything

    holds = {
        HoldScope.DOSSIER: (env.hold(HoldScope.DOSSIER, dossiers=(one,)), [one]),
        HoldScope.LIST: (env.hold(HoldScope.LIST, dossiers=tuple(listed)), listed),
        HoldScope.AGENCY: (env.hold(HoldScope.AGENCY, code=OTHER_AGENCY), [agency]),
        HoldScope.FONDS: (env.hold(HoldScope.FONDS, code="PH-07"), [by_fonds_row, by_organ_id]),
    }
    assert env.due_ids(TODAY)[0] == [free]
    with env.catalog.session(readonly=True) as session:
        for scope, (hold_id, frozen) in holds.items():
            for dossier_id in frozen:
                row = session.get_one(DossierRow, dossier_id)
                assert row.legal_hold, scope
                assert [hold.id for hold in active_holds_for(session, row)] == [hold_id]
                assert [b.code for b in destruction_blockers(session, row, on=TODAY)] == ["RT-LEGAL-HOLD"]
        free_row = session.get_one(DossierRow, free)
        assert active_holds_for(session, free_row) == [] and destruction_blockers(session, free_row, on=TODAY) == []
        assert len(list_holds(session)) == 4

    for scope, (hold_id, frozen) in holds.items():
        env.release(hold_id)
        assert set(frozen) <= set(env.due_ids(TODAY)[0]), scope
    assert env.due_ids(TODAY)[0] == everything
    with env.catalog.session(readonly=True) as session:
        assert list_holds(session) == []
        released = list_holds(session, include_released=True)
        assert [hold.released_by for hold in released] == ["minhtq.vp"] * 4
        assert session.scalar(select(func.count()).where(DossierRow.legal_hold)) == 0


def test_overlapping_holds_keep_the_dossier_frozen_until_the_last_is_released(env: Env) -> None:
    dossier_id = env.add("A1")
    first = env.hold(HoldScope.DOSSIER, dossiers=(dossier_id,))
    second = env.hold(HoldScope.AGENCY, code=AGENCY)
    env.release(first)
    assert dossier_id not in env.due_ids(TODAY)[0] and env.row(dossier_id).legal_hold
    with env.catalog.session() as session, pytest.raises(RetentionError, match="already released"):
        release_hold(session, first, by="x", audit=env.audit)
    env.release(second)
    assert env.due_ids(TODAY)[0] == [dossier_id] and not env.row(dossier_id).legal_hold


def test_agency_hold_covers_dossiers_catalogued_later_even_with_a_stale_flag(env: Env) -> None:
    hold_id = env.hold(HoldScope.AGENCY, code=AGENCY)
    later = env.add("LATER")  # assign_at_ingest sets the flag
    assert env.row(later).legal_hold
    with env.catalog.session() as session:  # simulate a dossier catalogued without the retention hook
        session.get_one(DossierRow, later).legal_hold = False
    assert env.due_ids(TODAY)[0] == []  # the due list looks at the holds too
    with env.catalog.session(readonly=True) as session:
        row = session.get_one(DossierRow, later)
        assert [hold.id for hold in active_holds_for(session, row)] == [hold_id]
    with env.catalog.session() as session:
        assert refresh_hold_flags(session) == (1, 0)
        assert refresh_hold_flags(session) == (0, 0)
    assert env.row(later).legal_hold


def test_hold_requests_that_make_no_sense_are_refused(env: Env) -> None:
    dossier_id = env.add("A1")
    with env.catalog.session() as session:
        row = session.get_one(DossierRow, dossier_id)
        with pytest.raises(RetentionError, match="exactly one code"):
            place_hold(session, scope=HoldScope.AGENCY, reason="r", owner="o", audit=env.audit)
        with pytest.raises(RetentionError, match="exactly one dossier"):
            place_hold(session, scope=HoldScope.DOSSIER, reason="r", owner="o", dossiers=[row, row], audit=env.audit)
        with pytest.raises(RetentionError, match="reason"):
            place_hold(session, scope=HoldScope.DOSSIER, reason="", owner="o", dossiers=[row], audit=env.audit)
        with pytest.raises(RetentionError, match="No legal hold"):
            release_hold(session, 999, by="x", audit=env.audit)
    assert not any(action.startswith("legal_hold") for action, _ in env.actions())


# ---------------------------------------------------------------- due lists and the job


def test_advance_list_gives_thirty_days_notice(env: Env) -> None:
    soon = env.add("S", maintenance="5 năm", end_year=2024)  # due 1 January 2030
    assert env.row(soon).retention_due == date(2030, 1, 1)
    assert env.due_ids(date(2029, 12, 5), notice_days=30) == ([], [soon])
    assert env.due_ids(date(2029, 12, 5)) == ([], [])
    assert env.due_ids(date(2029, 12, 1), notice_days=30) == ([], [])  # horizon 31/12
    assert env.due_ids(date(2029, 12, 2), notice_days=30) == ([], [soon])
    assert env.due_ids(date(2030, 1, 1), notice_days=30) == ([soon], [])
    listing = build_due_list(env.catalog, date(2029, 12, 5), notice_days=30)
    assert [(item.status, item.period, item.period_label) for item in listing.upcoming] == [
        (STATUS_ADVANCE, "5", "5 năm"),
    ]
    with pytest.raises(RetentionError):
        build_due_list(env.catalog, TODAY, notice_days=-1)


def test_pending_and_destroyed_dossiers_are_never_listed(env: Env) -> None:
    pending = env.add("PEND", archived=False)
    destroyed = env.add("GONE")
    with env.catalog.session() as session:
        session.get_one(DossierRow, destroyed).state = DossierState.DESTROYED
    assert env.row(pending).retention_due == date(2026, 1, 1)
    assert env.due_ids(TODAY) == ([], [])


def test_job_run_years_ahead_stores_lists_and_audits(env: Env) -> None:
    now_due = env.add("NOW", maintenance="10 năm", end_year=2015)  # due 2026
    later = env.add("LATER", maintenance="20 năm", end_year=2019)  # due 2040-01-01
    event = env.add("EV", maintenance="Đến khi văn bản hết hiệu lực")
    env.add("P", maintenance="Vĩnh viễn")

    first = run_due_job(env.settings, clock=env.clock)
    assert first.on == TODAY
    assert first.due_list.item_count == 1 and not first.due_reused
    assert first.advance_list.item_count == 0
    again = run_due_job(env.settings, clock=env.clock)
    assert again.due_reused and again.due_list.id == first.due_list.id

    env.clock.jump_to(datetime(2039, 12, 10, 2, 0, tzinfo=VN_TZ))  # the job's day, years ahead
    with env.catalog.session() as session:
        record_trigger(session, session.get_one(DossierRow, event), trigger_on=date(2039, 12, 1), by="hoa.lt",
                       audit=env.audit, clock=env.clock)
    ahead = run_due_job(env.settings, clock=env.clock)
    assert ahead.on == date(2039, 12, 10) and not ahead.due_reused
    with env.catalog.session(readonly=True) as session:
        stored = load_due_list(session, ahead.due_list.id)
        advance = load_due_list(session, ahead.advance_list.id)
        kinds = session.execute(select(DueListRow.kind, func.count()).group_by(DueListRow.kind)).all()
        item_rows = session.scalar(select(func.count()).select_from(DueListItemRow))
    assert [(i.dossier_id, i.retention_due, i.status) for i in stored.items or []] == [
        (now_due, date(2026, 1, 1), STATUS_DUE), (event, date(2039, 12, 1), STATUS_DUE),
    ]
    assert [i.period_label for i in stored.items or []] == ["10 năm", "Đến khi văn bản hết hiệu lực"]
    assert stored.kind is DueListKind.DUE and stored.as_of == date(2039, 12, 10)
    assert stored.created_at.year == 2039 and stored.created_by == "system"
    assert [(i.dossier_id, i.status) for i in advance.items or []] == [(later, STATUS_ADVANCE)]
    assert advance.horizon == date(2040, 1, 9)
    assert dict((kind, count) for kind, count in kinds) == {DueListKind.DUE: 2, DueListKind.ADVANCE: 2}
    assert item_rows == 1 + 2 + 1

    jobs = [entry for entry in env.audit.entries() if entry.action == "retention.due_job"]
    assert [(e.details["due_count"], e.details["due_reused"]) for e in jobs] == [(1, False), (1, True), (2, False)]
    assert jobs[-1].time.year == 2039
    with pytest.raises(RetentionError), env.catalog.session(readonly=True) as session:
        load_due_list(session, 9999)


def test_job_repairs_stale_hold_flags_before_listing(env: Env) -> None:
    held = env.add("H")
    env.hold(HoldScope.DOSSIER, dossiers=(held,))
    stray = env.add("X")
    with env.catalog.session() as session:  # flags out of step both ways
        session.get_one(DossierRow, held).legal_hold = False
        session.get_one(DossierRow, stray).legal_hold = True
    result = run_due_job(env.settings, clock=env.clock)
    assert (result.flags_set, result.flags_cleared) == (1, 1)
    with env.catalog.session(readonly=True) as session:
        assert [item.dossier_id for item in load_due_list(session, result.due_list.id).items or []] == [stray]


# ---------------------------------------------------------------- audit


def test_every_action_is_audited_under_the_named_user_and_the_log_verifies(env: Env) -> None:
    dossier_id = env.add("Y10")
    event = env.add("EV", maintenance="Đến khi văn bản hết hiệu lực")
    hold_id = env.hold(HoldScope.AGENCY, code=AGENCY)
    env.release(hold_id)
    with env.catalog.session() as session:
        extend_retention(session, session.get_one(DossierRow, dossier_id), years=30, reason="r", by="chu-tich",
                         audit=env.audit, clock=env.clock)
        record_trigger(session, session.get_one(DossierRow, event), trigger_on=TODAY, by="hoa.lt", audit=env.audit,
                       clock=env.clock)
        set_record_type(session, session.get_one(DossierRow, event), "TH.01", schedule=env.schedule, by="thu.nv",
                        audit=env.audit, clock=env.clock)
    run_due_job(env.settings, clock=env.clock)
    assert env.actions() == [
        ("retention.assigned", "system"),
        ("retention.assigned", "system"),
        ("legal_hold.placed", "lananh.ttr"),
        ("legal_hold.released", "minhtq.vp"),
        ("retention.extended", "chu-tich"),
        ("retention.triggered", "hoa.lt"),
        ("retention.record_type_set", "thu.nv"),
        ("retention.due_job", "system"),
    ]
    report = env.audit.verify()
    assert report.ok, report.message_en
    assert report.head_seq == 8


def test_find_dossier_by_code_aip_or_id(env: Env) -> None:
    first = env.add("H49.1")
    with env.catalog.session(readonly=True) as session:
        assert find_dossier(session, "H49.1").id == first
        assert find_dossier(session, "aip-H49.1").id == first
        assert find_dossier(session, f"#{first}").id == first
        with pytest.raises(RetentionError, match="No dossier"):
            find_dossier(session, "H49.404")
