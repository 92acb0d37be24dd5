"""What the `earchive retention …` and `earchive holds …` commands do; the lead wires them to click.

Each function opens the configured catalog, does one thing in one transaction
(with its audit entry, actor = the named user) and returns a `CommandOutput`:
a JSON-ready dict (`--json`), Vietnamese text for people, and an exit code (1
when the request was refused; nothing was changed then).

    retention due [--on DATE] [--notice-days 30] [--limit N] [--json]   → due_command
    retention extend DOSSIER (--years N | --permanent) --reason … --by …  → extend_command
    retention trigger DOSSIER --date DATE --by … [--reason …]            → trigger_command
    retention set-type DOSSIER CODE --by … [--reason …]                  → set_type_command
    retention history DOSSIER                                            → history_command
    retention schedule                                                   → schedule_command
    holds add (--dossier CODE… | --agency CODE | --fonds CODE) --reason … --owner … [--by …] → holds_add_command
    holds release ID --by … [--reason …]                                 → holds_release_command
    holds list [--all]                                                   → holds_list_command

DOSSIER is a dossier code (code, fileCode or arcFileCode), its AIP id, or `#<id>`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from archive_core.audit import AuditLog, anchors_dir_for
from archive_core.catalog import Catalog
from archive_core.catalog.retention_models import HoldScope
from archive_core.commands import CommandOutput
from archive_core.settings import Settings
from archive_core.timeutil import Clock, iso_vn, system_clock, to_vn
from preservation.retention.assign import (
    DossierRetention,
    current_retention,
    extend_retention,
    find_dossier,
    record_trigger,
    retention_history,
    set_record_type,
)
from preservation.retention.due import ADVANCE_NOTICE_DAYS, DUE_LIST_TITLE, DueItem, DueList, due_list_in
from preservation.retention.errors import RetentionError
from preservation.retention.holds import Hold, covered_count, list_holds, place_hold, release_hold
from preservation.retention.schedule import NEEDS_VERIFICATION, load_schedule, schedule_path

T = TypeVar("T")


def _vn_date(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "—"


@dataclass(frozen=True)
class _Context:
    session: Session
    audit: AuditLog


def _run(
    settings: Settings,
    action: Callable[[_Context], T],
    render: Callable[[T], CommandOutput],
    *,
    clock: Clock,
    readonly: bool = False,
) -> CommandOutput:
    try:
        with Catalog(settings.catalog_url) as catalog:
            audit = AuditLog(catalog, anchors_dir_for(settings), clock=clock)
            with catalog.session(readonly=readonly) as session:
                result = action(_Context(session, audit))
    except RetentionError as exc:
        return CommandOutput({"ok": False, "error": exc.to_dict()}, f"Lỗi: {exc.message_vi}", 1)
    return render(result)


# ---------------------------------------------------------------- retention due


def due_command(
    settings: Settings,
    *,
    on: date | None = None,
    notice_days: int = ADVANCE_NOTICE_DAYS,
    limit: int | None = None,
    by: str | None = None,
    clock: Clock = system_clock,
) -> CommandOutput:
    """The due list on `on` (default: today) and the dossiers due within `notice_days` after it.

    With `by`, the viewing is written to the audit log under that name.
    """
    now = clock()
    day = on or to_vn(now).date()

    def action(context: _Context) -> DueList:
        listing = due_list_in(context.session, day, notice_days=notice_days, generated_at=now)
        if by:
            context.audit.append_in(
                context.session, by, "retention.due_list_viewed", "due_list", None,
                {"on": day.isoformat(), "notice_days": notice_days, "due_count": len(listing.due),
                 "upcoming_count": len(listing.upcoming)},
            )
        return listing

    return _run(settings, action, lambda listing: _render_due(listing, limit), clock=clock, readonly=not by)


def _render_due(listing: DueList, limit: int | None) -> CommandOutput:
    data = listing.to_dict() | {"ok": True}
    lines = [
        f"{DUE_LIST_TITLE} tính đến ngày {_vn_date(listing.on)}: {len(listing.due)} hồ sơ "
        f"(trạng thái «Xem xét hủy»).",
    ]
    lines += _item_lines(listing.due, limit)
    if listing.notice_days:
        lines.append(
            f"Sắp đến hạn trong {listing.notice_days} ngày tới (đến {_vn_date(listing.horizon)}): "
            f"{len(listing.upcoming)} hồ sơ."
        )
        lines += _item_lines(listing.upcoming, limit)
    return CommandOutput(data, "\n".join(lines))


def _item_lines(items: Sequence[DueItem], limit: int | None) -> list[str]:
    shown = items if limit is None else items[:limit]
    lines = [
        f"  {position}. {item.code or '#' + str(item.dossier_id)} | {item.title or ''} | "
        f"thời hạn: {item.period_label or 'không rõ'} | hết hạn: {_vn_date(item.retention_due)} | {item.status}"
        for position, item in enumerate(shown, start=1)
    ]
    if len(shown) < len(items):
        lines.append(f"  … và {len(items) - len(shown)} hồ sơ khác.")
    return lines


# ---------------------------------------------------------------- retention changes


def _render_retention(action_vi: str) -> Callable[[DossierRetention], CommandOutput]:
    def render(retention: DossierRetention) -> CommandOutput:
        period = retention.period.label_vi if retention.period else "chưa xác định"
        text = (
            f"{action_vi} hồ sơ {retention.code or '#' + str(retention.dossier_id)}: thời hạn bảo quản {period}; "
            f"ngày hết hạn: {_vn_date(retention.due) if retention.due else 'không có'}"
            + (" (chờ ghi nhận ngày sự kiện)" if retention.waiting_for_trigger else "")
            + (" — đang bị tạm giữ" if retention.legal_hold else "")
            + "."
        )
        return CommandOutput({"ok": True, "retention": retention.to_dict()}, text)

    return render


def extend_command(
    settings: Settings,
    dossier: str,
    *,
    reason: str,
    by: str,
    years: int | None = None,
    permanent: bool = False,
    clock: Clock = system_clock,
) -> CommandOutput:
    def action(context: _Context) -> DossierRetention:
        row = find_dossier(context.session, dossier)
        return extend_retention(context.session, row, years=years, permanent=permanent, reason=reason, by=by,
                                audit=context.audit, clock=clock)

    return _run(settings, action, _render_retention("Đã gia hạn"), clock=clock)


def trigger_command(
    settings: Settings,
    dossier: str,
    *,
    trigger_on: date,
    by: str,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> CommandOutput:
    def action(context: _Context) -> DossierRetention:
        row = find_dossier(context.session, dossier)
        return record_trigger(context.session, row, trigger_on=trigger_on, by=by, reason=reason,
                              audit=context.audit, clock=clock)

    return _run(settings, action, _render_retention(f"Đã ghi nhận ngày sự kiện {_vn_date(trigger_on)} cho"),
                clock=clock)


def set_type_command(
    settings: Settings,
    dossier: str,
    record_type: str,
    *,
    by: str,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> CommandOutput:
    schedule = load_schedule(schedule_path(settings))

    def action(context: _Context) -> DossierRetention:
        row = find_dossier(context.session, dossier)
        return set_record_type(context.session, row, record_type, schedule=schedule, by=by, reason=reason,
                               audit=context.audit, clock=clock)

    return _run(settings, action, _render_retention(f"Đã xếp loại {record_type} cho"), clock=clock)


def history_command(settings: Settings, dossier: str, *, clock: Clock = system_clock) -> CommandOutput:
    def action(context: _Context) -> dict[str, Any]:
        row = find_dossier(context.session, dossier)
        return {
            "ok": True,
            "retention": current_retention(context.session, row).to_dict(),
            "history": [change.to_dict() for change in retention_history(context.session, row)],
        }

    def render(data: dict[str, Any]) -> CommandOutput:
        current = data["retention"]
        lines = [f"Hồ sơ {current['code']}: thời hạn {current['period_label'] or 'chưa xác định'}, "
                 f"hết hạn {current['due'] or 'không có'}."]
        lines += [
            f"  {change['at']} {change['actor']}: {change['kind']} {change['old_period'] or '—'} → "
            f"{change['new_period'] or '—'} (hết hạn {change['old_due'] or '—'} → {change['new_due'] or '—'})"
            + (f"; lý do: {change['reason']}" if change["reason"] else "")
            for change in data["history"]
        ]
        return CommandOutput(data, "\n".join(lines))

    return _run(settings, action, render, clock=clock, readonly=True)


def schedule_command(settings: Settings) -> CommandOutput:
    path = schedule_path(settings)
    schedule = load_schedule(path)
    entries = [entry.to_dict() for entry in schedule]
    unverified = len(schedule.unverified)
    lines = [f"Bảng thời hạn bảo quản ({path}): {len(entries)} loại hồ sơ; {unverified} dòng «{NEEDS_VERIFICATION}» "
             "với Phụ lục TT 10/2022/TT-BNV."]
    lines += [f"  {entry['code']}: {entry['record_type']} — {entry['period_label']} [{entry['verified']}]"
              for entry in entries]
    return CommandOutput({"ok": True, "path": str(path), "entries": entries, "unverified": unverified},
                         "\n".join(lines))


# ---------------------------------------------------------------- holds


def holds_add_command(
    settings: Settings,
    *,
    reason: str,
    owner: str,
    dossiers: Sequence[str] = (),
    agency: str | None = None,
    fonds: str | None = None,
    by: str | None = None,
    clock: Clock = system_clock,
) -> CommandOutput:
    """One `--dossier` gives a dossier hold, several a list hold; or `--agency` / `--fonds`."""
    chosen = sum(bool(value) for value in (dossiers, agency, fonds))

    def action(context: _Context) -> tuple[Hold, int]:
        if chosen != 1:
            raise RetentionError(
                "Chỉ rõ phạm vi tạm giữ: --dossier (một hoặc nhiều), hoặc --agency, hoặc --fonds.",
                "Name the hold's scope: --dossier (one or more), or --agency, or --fonds.",
            )
        rows = [find_dossier(context.session, ref) for ref in dossiers]
        if agency:
            scope, code = HoldScope.AGENCY, agency
        elif fonds:
            scope, code = HoldScope.FONDS, fonds
        else:
            scope, code = (HoldScope.DOSSIER if len(rows) == 1 else HoldScope.LIST), None
        hold = place_hold(context.session, scope=scope, reason=reason, owner=owner, dossiers=rows, code=code,
                          by=by, audit=context.audit, clock=clock)
        return hold, covered_count(context.session, hold)

    def render(result: tuple[Hold, int]) -> CommandOutput:
        hold, covered = result
        text = (f"Đã đặt lệnh tạm giữ số {hold.id} ({hold.scope_label_vi}), đang áp dụng cho {covered} hồ sơ; "
                f"lý do: {hold.reason}; người chịu trách nhiệm: {hold.owner}.")
        return CommandOutput({"ok": True, "hold": hold.to_dict(), "covered": covered}, text)

    return _run(settings, action, render, clock=clock)


def holds_release_command(
    settings: Settings, hold_id: int, *, by: str, reason: str | None = None, clock: Clock = system_clock
) -> CommandOutput:
    def action(context: _Context) -> Hold:
        return release_hold(context.session, hold_id, by=by, reason=reason, audit=context.audit, clock=clock)

    def render(hold: Hold) -> CommandOutput:
        released = iso_vn(hold.released_at or clock())
        text = f"Đã giải tỏa lệnh tạm giữ số {hold.id} ({hold.scope_label_vi}) lúc {released}."
        return CommandOutput({"ok": True, "hold": hold.to_dict()}, text)

    return _run(settings, action, render, clock=clock)


def holds_list_command(
    settings: Settings, *, include_released: bool = False, clock: Clock = system_clock
) -> CommandOutput:
    def action(context: _Context) -> list[tuple[Hold, int]]:
        holds = list_holds(context.session, include_released=include_released)
        return [(hold, covered_count(context.session, hold)) for hold in holds]

    def render(result: list[tuple[Hold, int]]) -> CommandOutput:
        data = {"ok": True, "holds": [hold.to_dict() | {"covered": covered} for hold, covered in result]}
        if not result:
            return CommandOutput(data, "Không có lệnh tạm giữ nào đang có hiệu lực.")
        lines = [f"{len(result)} lệnh tạm giữ:"]
        for hold, covered in result:
            status = "đang có hiệu lực" if hold.active else f"đã giải tỏa lúc {iso_vn(hold.released_at or clock())}"
            lines.append(
                f"  Số {hold.id}: {hold.scope_label_vi}, {covered} hồ sơ; lý do: {hold.reason}; "
                f"người chịu trách nhiệm: {hold.owner}; đặt lúc {iso_vn(hold.placed_at)} bởi {hold.placed_by}; "
                f"{status}."
            )
        return CommandOutput(data, "\n".join(lines))

    return _run(settings, action, render, clock=clock, readonly=True)
