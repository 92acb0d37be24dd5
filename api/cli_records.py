"""Command line for accounts and the destruction workflow (R-AU-2, R-DS-1).

Every step names the person taking it (`--as`); the workflow checks that person's
roles for the list's agency, separation of duties and delegation, and writes the
audit log. A refused step exits with status 20 and a Vietnamese reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from archive_core.settings import Settings
from archive_core.timeutil import VN_TZ

REFUSED = 20


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _emit(data: dict[str, Any], text: str, as_json: bool) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else text)


@contextmanager
def _refusals(ctx: click.Context) -> Iterator[None]:
    """Workflow and account refusals become a Vietnamese message and exit status 20."""
    from archive_core.accounts import AccountError
    from preservation.destruction.errors import WorkflowError

    try:
        yield
    except (WorkflowError, AccountError) as refused:
        click.echo(f"Từ chối: {refused.message_vi}", err=True)
        ctx.exit(REFUSED)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _commands(ctx: click.Context) -> Any:
    from ingest.archive import open_archive
    from preservation.destruction.commands import DestructionCommands
    from preservation.destruction.workflow import Workflow

    settings = _settings(ctx)
    archive = open_archive(settings)
    return DestructionCommands(archive.catalog, Workflow(archive.audit, settings.destruction)), archive


def _refs(values: Sequence[str]) -> list[str]:
    return list(values)


actor_option = click.option("--as", "actor", required=True, help="User name of the person taking this step.")
behalf_option = click.option("--on-behalf-of", help="The person whose role is exercised by delegation.")
json_option = click.option("--json", "as_json", is_flag=True)


@click.group()
def destruction() -> None:
    """Destruction of expired records: list → council → Sở Nội vụ → head → execution (R-DS-1)."""


def _run(ctx: click.Context, as_json: bool, step: Callable[[Any], Any]) -> None:
    with _refusals(ctx):
        commands, _ = _commands(ctx)
        result = step(commands)
        _emit(result.data, result.text, as_json)


@destruction.command()
@actor_option
@behalf_option
@click.option("--agency", "agency_code", required=True)
@click.option("--dossier", "dossiers", multiple=True, help="Dossier code (repeatable).")
@click.option("--latest-due", is_flag=True, help="Take the newest due list (Danh mục tài liệu hết giá trị).")
@click.option("--title")
@click.option("--comment")
@json_option
@click.pass_context
def propose(ctx: click.Context, actor: str, on_behalf_of: str | None, agency_code: str, dossiers: Sequence[str],
            latest_due: bool, title: str | None, comment: str | None, as_json: bool) -> None:
    """An archivist proposes a destruction list."""
    _run(ctx, as_json, lambda c: c.propose(actor, agency_code=agency_code, dossiers=_refs(dossiers),
                                           latest_due=latest_due, title=title, comment=comment,
                                           on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@click.option("--member", "members", multiple=True, help="Council member (repeatable; default: the policy's).")
@click.option("--comment")
@json_option
@click.pass_context
def submit(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, members: Sequence[str],
           comment: str | None, as_json: bool) -> None:
    """Send a proposed list to the council (Hội đồng xét hủy)."""
    _run(ctx, as_json, lambda c: c.submit(code, actor, members=list(members) or None, comment=comment,
                                          on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@click.option("--opinion", type=click.Choice(["agree", "disagree"]), required=True)
@click.option("--dossier", "dossiers", multiple=True, help="Only these dossiers (default: the whole list).")
@click.option("--comment")
@json_option
@click.pass_context
def appraise(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, opinion: str,
             dossiers: Sequence[str], comment: str | None, as_json: bool) -> None:
    """A council member's opinion."""
    _run(ctx, as_json, lambda c: c.appraise(code, actor, opinion, dossiers=_refs(dossiers), comment=comment,
                                            on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@click.option("--verdict", type=click.Choice(["approve", "return", "reject"]), required=True)
@click.option("--exclude", "excluded", multiple=True, help="Dossiers the Sở Nội vụ keeps.")
@click.option("--comment")
@json_option
@click.pass_context
def review(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, verdict: str,
           excluded: Sequence[str], comment: str | None, as_json: bool) -> None:
    """The Sở Nội vụ's review, where the agency's policy requires it."""
    _run(ctx, as_json, lambda c: c.review(code, actor, verdict, comment=comment, excluded=_refs(excluded),
                                          on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@click.option("--approve/--reject", required=True)
@click.option("--reject-dossier", "rejected", multiple=True, help="Approve the list but keep these dossiers.")
@click.option("--comment")
@json_option
@click.pass_context
def decide(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, approve: bool,
           rejected: Sequence[str], comment: str | None, as_json: bool) -> None:
    """The agency head's decision; execution must follow within the policy's days (15)."""
    _run(ctx, as_json, lambda c: c.decide(code, actor, approve=approve, rejected=_refs(rejected), comment=comment,
                                          on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@json_option
@click.pass_context
def execute(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, as_json: bool) -> None:
    """Destroy every copy and key of the approved dossiers, then write the destruction record."""
    from preservation.destruction.execution import StorageExecutor
    from preservation.destruction.record import decisions_from_workflow, make_record
    from preservation.destruction.workflow import run_execution

    with _refusals(ctx):
        commands, archive = _commands(ctx)
        order, report = run_execution(archive.catalog, commands.workflow, code, actor, StorageExecutor(archive),
                                      on_behalf_of=on_behalf_of)
        shown = commands.show(code)
        data = {**shown.data, "execution": report.to_dict()}
        text = shown.text
        if any(item.outcome.value == "destroyed" for item in report.results):
            record = make_record(archive, order, report, decisions_from_workflow(archive.catalog, code), actor=actor)
            data["record"] = {"record_id": record.record_id, "pdf": str(record.pdf_path),
                              "aip_id": record.aip_id, "dossier_code": record.dossier_code}
            text += (f"\n\nBiên bản hủy {record.record_id}: {record.pdf_path} "
                     f"(đã lưu trữ vĩnh viễn, AIP {record.aip_id}).")
        _emit(data, text, as_json)


@destruction.command()
@click.argument("code")
@actor_option
@behalf_option
@click.option("--comment", required=True)
@json_option
@click.pass_context
def cancel(ctx: click.Context, code: str, actor: str, on_behalf_of: str | None, comment: str, as_json: bool) -> None:
    """Cancel a list that has not been executed."""
    _run(ctx, as_json, lambda c: c.cancel(code, actor, comment=comment, on_behalf_of=on_behalf_of))


@destruction.command()
@click.argument("code")
@json_option
@click.pass_context
def show(ctx: click.Context, code: str, as_json: bool) -> None:
    """A list: its dossiers, every decision and its state."""
    _run(ctx, as_json, lambda c: c.show(code))


@destruction.command("lists")
@click.option("--agency", "agency_code")
@click.option("--state")
@json_option
@click.pass_context
def lists(ctx: click.Context, agency_code: str | None, state: str | None, as_json: bool) -> None:
    """All destruction lists, newest first (⚠ marks those that need attention)."""
    _run(ctx, as_json, lambda c: c.lists(agency_code=agency_code, state=state))


@destruction.command()
@json_option
@click.pass_context
def expire(ctx: click.Context, as_json: bool) -> None:
    """Send approved lists past their execution deadline back to the head (scheduled job)."""
    _run(ctx, as_json, lambda c: c.expire())


@click.group()
def users() -> None:
    """Personal accounts, roles per agency and delegation (R-AU-2, R-AU-3)."""


def _accounts(ctx: click.Context) -> tuple[Any, Any]:
    from archive_core.accounts import Accounts
    from ingest.archive import open_archive

    archive = open_archive(_settings(ctx))
    return Accounts(archive.audit), archive


admin_option = click.option("--as", "actor", default="system", show_default=True,
                            help="Administrator taking the step (`system`: the local operator).")


@users.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--agency", "agency_code", required=True)
@click.option("--system-account", is_flag=True, help="A QLVB system account (API key), not a person.")
@admin_option
@json_option
@click.pass_context
def users_add(ctx: click.Context, username: str, full_name: str, agency_code: str, system_account: bool,
              actor: str, as_json: bool) -> None:
    """Create a personal account (the password must be changed at first login)."""
    from archive_core.accounts import AccountKind, user_text_vi, user_to_dict

    with _refusals(ctx):
        accounts, archive = _accounts(ctx)
        with archive.catalog.session() as session:
            row = accounts.create_user(session, actor=actor, username=username, full_name=full_name,
                                       agency_code=agency_code,
                                       kind=AccountKind.SYSTEM if system_account else AccountKind.PERSON)
            data = user_to_dict(session, row)
        _emit(data, user_text_vi(data), as_json)


@users.command("grant")
@click.argument("username")
@click.argument("role")
@click.option("--agency", "agency_code", required=True, help="Agency code, or * for every agency.")
@click.option("--until", "valid_until")
@admin_option
@json_option
@click.pass_context
def users_grant(ctx: click.Context, username: str, role: str, agency_code: str, valid_until: str | None,
                actor: str, as_json: bool) -> None:
    """Give a role for an agency: van_thu, archivist, officer, agency_head, council_member, so_noi_vu, administrator."""
    from archive_core.accounts import Role

    with _refusals(ctx):
        accounts, archive = _accounts(ctx)
        with archive.catalog.session() as session:
            row = accounts.grant_role(session, actor=actor, username=username, role=Role(role),
                                      agency_code=agency_code, valid_until=_date(valid_until))
            data = {"assignment_id": row.id, "username": username, "role": role, "agency_code": agency_code}
        _emit(data, f"Đã giao vai trò {Role(role).label_vi} cho {username} tại {agency_code}.", as_json)


@users.command("delegate")
@click.argument("delegator")
@click.argument("delegate")
@click.argument("role")
@click.option("--agency", "agency_code", required=True)
@click.option("--from", "valid_from", help="Start (ISO 8601; default now).")
@click.option("--until", "valid_until", required=True, help="End (ISO 8601).")
@click.option("--reason", required=True)
@json_option
@click.pass_context
def users_delegate(ctx: click.Context, delegator: str, delegate: str, role: str, agency_code: str,
                   valid_from: str | None, valid_until: str, reason: str, as_json: bool) -> None:
    """DELEGATOR lets DELEGATE act for them in ROLE (xử lý ủy quyền); logged."""
    from archive_core.accounts import Role
    from archive_core.timeutil import system_clock

    start = _date(valid_from) or system_clock()
    end = _date(valid_until)
    assert end is not None
    with _refusals(ctx):
        accounts, archive = _accounts(ctx)
        with archive.catalog.session() as session:
            row = accounts.delegate(session, actor=delegator, delegator=delegator, delegate=delegate, role=Role(role),
                                    agency_code=agency_code, valid_from=start, valid_until=end, reason=reason)
            data = {"delegation_id": row.id, "delegator": delegator, "delegate": delegate, "role": role}
        _emit(data, f"{delegator} ủy quyền cho {delegate} vai trò {Role(role).label_vi} tại {agency_code}.", as_json)


@users.command("list")
@click.option("--agency", "agency_code")
@json_option
@click.pass_context
def users_list(ctx: click.Context, agency_code: str | None, as_json: bool) -> None:
    """Accounts with their roles in force."""
    from archive_core.accounts import list_users, user_text_vi, user_to_dict

    _, archive = _accounts(ctx)
    with archive.catalog.session(readonly=True) as session:
        data = [user_to_dict(session, row) for row in list_users(session, agency_code=agency_code)]
    _emit({"users": data}, "\n\n".join(user_text_vi(item) for item in data) or "Chưa có tài khoản nào.", as_json)


def _migrated(ctx: click.Context) -> Settings:
    """The settings, with the catalog brought to the current schema first."""
    from archive_core.catalog import Catalog

    settings = _settings(ctx)
    with Catalog(settings.catalog_url) as catalog:
        catalog.migrate()
    return settings


def _output(ctx: click.Context, output: Any, as_json: bool) -> None:
    _emit(output.data, output.text, as_json)
    if output.exit_code:
        ctx.exit(REFUSED)


def _day(value: str | None) -> Any:
    from datetime import date

    return date.fromisoformat(value) if value else None


@click.group()
def retention() -> None:
    """Retention periods, the schedule and the due lists (R-RT-1…5)."""


@retention.command("due")
@click.option("--on", "on", help="Day (YYYY-MM-DD; default today).")
@click.option("--notice-days", default=30, show_default=True)
@click.option("--limit", type=int)
@click.option("--store", "by", help="Store the lists as this user (the scheduled job uses `system`).")
@json_option
@click.pass_context
def retention_due(ctx: click.Context, on: str | None, notice_days: int, limit: int | None, by: str | None,
                  as_json: bool) -> None:
    """Danh mục tài liệu hết giá trị (status "Xem xét hủy") and the 30-day advance list."""
    from preservation.retention.cli import due_command

    _output(ctx, due_command(_migrated(ctx), on=_day(on), notice_days=notice_days, limit=limit, by=by), as_json)


@retention.command("extend")
@click.argument("dossier")
@actor_option
@click.option("--years", type=int)
@click.option("--permanent", is_flag=True)
@click.option("--reason", required=True)
@json_option
@click.pass_context
def retention_extend(ctx: click.Context, dossier: str, actor: str, years: int | None, permanent: bool, reason: str,
                     as_json: bool) -> None:
    """Appraisal extends a dossier's period (R-RT-5); the history is kept."""
    from preservation.retention.cli import extend_command

    _output(ctx, extend_command(_migrated(ctx), dossier, reason=reason, by=actor, years=years,
                                permanent=permanent), as_json)


@retention.command("trigger")
@click.argument("dossier")
@actor_option
@click.option("--date", "trigger_on", required=True, help="When the event happened (YYYY-MM-DD).")
@click.option("--reason")
@json_option
@click.pass_context
def retention_trigger(ctx: click.Context, dossier: str, actor: str, trigger_on: str, reason: str | None,
                      as_json: bool) -> None:
    """Record the trigger date of an event-based period ("đến khi văn bản hết hiệu lực")."""
    from preservation.retention.cli import trigger_command

    _output(ctx, trigger_command(_migrated(ctx), dossier, trigger_on=_day(trigger_on), by=actor, reason=reason),
            as_json)


@retention.command("history")
@click.argument("dossier")
@json_option
@click.pass_context
def retention_history(ctx: click.Context, dossier: str, as_json: bool) -> None:
    """A dossier's retention period and every change to it."""
    from preservation.retention.cli import history_command

    _output(ctx, history_command(_migrated(ctx), dossier), as_json)


@retention.command("schedule")
@json_option
@click.pass_context
def retention_schedule(ctx: click.Context, as_json: bool) -> None:
    """The retention schedule in force (every row to be checked against TT 10/2022's appendix)."""
    from preservation.retention.cli import schedule_command

    _output(ctx, schedule_command(_migrated(ctx)), as_json)


@click.group()
def holds() -> None:
    """Legal holds: no destruction while a hold covers a dossier (R-RT-4)."""


@holds.command("add")
@click.option("--dossier", "dossiers", multiple=True)
@click.option("--agency")
@click.option("--fonds")
@click.option("--reason", required=True)
@click.option("--owner", required=True, help="Who answers for the hold.")
@click.option("--as", "actor", help="User placing the hold (default: the owner).")
@json_option
@click.pass_context
def holds_add(ctx: click.Context, dossiers: Sequence[str], agency: str | None, fonds: str | None, reason: str,
              owner: str, actor: str | None, as_json: bool) -> None:
    """Place a hold on dossiers, an agency's dossiers or a fonds."""
    from preservation.retention.cli import holds_add_command

    _output(ctx, holds_add_command(_migrated(ctx), reason=reason, owner=owner, dossiers=list(dossiers),
                                   agency=agency, fonds=fonds, by=actor), as_json)


@holds.command("release")
@click.argument("hold_id", type=int)
@actor_option
@click.option("--reason")
@json_option
@click.pass_context
def holds_release(ctx: click.Context, hold_id: int, actor: str, reason: str | None, as_json: bool) -> None:
    """Release a hold."""
    from preservation.retention.cli import holds_release_command

    _output(ctx, holds_release_command(_migrated(ctx), hold_id, by=actor, reason=reason), as_json)


@holds.command("list")
@click.option("--all", "include_released", is_flag=True)
@json_option
@click.pass_context
def holds_list(ctx: click.Context, include_released: bool, as_json: bool) -> None:
    """Holds in force (with --all: released ones too)."""
    from preservation.retention.cli import holds_list_command

    _output(ctx, holds_list_command(_migrated(ctx), include_released=include_released), as_json)


@click.command()
@click.option("--dossier", help="Only this dossier (AIP id or code).")
@click.option("--location", help="Only this location.")
@click.option("--budget", "budget_seconds", type=float, help="Stop after this many seconds (oldest checks first).")
@click.option("--no-repair", is_flag=True, help="Report only; do not repair bad copies.")
@json_option
@click.pass_context
def fixity(ctx: click.Context, dossier: str | None, location: str | None, budget_seconds: float | None,
           no_repair: bool, as_json: bool) -> None:
    """Audit the fixity of stored copies and repair bad ones from a good copy (R-ST-3)."""
    from preservation.cli_support import fixity_command

    output = fixity_command(_migrated(ctx), dossier=dossier, location=location, budget_seconds=budget_seconds,
                            repair=not no_repair)
    _emit(output.data, output.text, as_json)
    ctx.exit(output.exit_code)


@click.command()
@click.argument("dossier")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--location", help="Read from this location first.")
@json_option
@click.pass_context
def export(ctx: click.Context, dossier: str, out: Path, location: str | None, as_json: bool) -> None:
    """Export a dossier's AIP as a standalone ZIP (decrypted, verified) that another system reads."""
    from preservation.cli_support import export_command

    output = export_command(_migrated(ctx), dossier, out, location=location)
    _emit(output.data, output.text, as_json)
    ctx.exit(output.exit_code)


@click.command()
@json_option
@click.pass_context
def locations(ctx: click.Context, as_json: bool) -> None:
    """Where every copy lives: each location's health, objects and complete dossiers."""
    from preservation.cli_support import locations_command

    output = locations_command(_migrated(ctx))
    _emit(output.data, output.text, as_json)
    ctx.exit(output.exit_code)


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Also copy every stored object (monthly full backup, R-ST-4).")
@json_option
@click.pass_context
def backup(ctx: click.Context, out: Path, full: bool, as_json: bool) -> None:
    """Back up the catalog, wrapped keys (kept apart, 35 days), metadata XML and audit anchors (R-ST-4)."""
    from preservation.cli_support import backup_command

    output = backup_command(_migrated(ctx), out, full=full)
    _emit(output.data, output.text, as_json)
    ctx.exit(output.exit_code)


@click.command()
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--keys", "key_backup", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--destruction-log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def restore(ctx: click.Context, backup_dir: Path, key_backup: Path | None, destruction_log: Path | None,
            as_json: bool) -> None:
    """Restore a backup into an empty data home, then verify every AIP."""
    from preservation.cli_support import restore_command

    output = restore_command(_settings(ctx), backup_dir, key_backup=key_backup, destruction_log=destruction_log)
    _emit(output.data, output.text, as_json)
    ctx.exit(output.exit_code)


STORAGE_COMMANDS = (fixity, export, locations, backup, restore)
