"""What the `earchive fixity | export | locations | backup | restore` commands print: JSON-ready data,
a Vietnamese summary and an exit status. The command-line layer only parses options and prints.

Exit status: 0 done and everything good; 3 done, but problems remain (a copy
left bad, an unreachable location, a restore that does not verify); 1 refused or
failed (unknown dossier, non-empty home, tampered backup ...).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from archive_core.backup import BackupError, backup, restore
from archive_core.commands import CommandOutput
from archive_core.settings import Settings
from ingest.archive import Archive, open_archive
from preservation.export import ExportError, export_aip, locations_report
from preservation.fixity import FixityError, audit_fixity

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PROBLEMS = 3
CLI_ACTOR = "cli"

T = TypeVar("T")


def _failure(exc: FixityError | ExportError | BackupError) -> CommandOutput:
    return CommandOutput(
        {"ok": False, "error": {"message_vi": exc.message_vi, "message_en": exc.message_en}},
        f"Lỗi: {exc.message_vi}",
        EXIT_FAILED,
    )


def _with_archive(settings: Settings, action: Callable[[Archive], T]) -> T:
    archive = open_archive(settings)
    try:
        return action(archive)
    finally:
        archive.close()


def fixity_command(
    settings: Settings,
    *,
    dossier: str | None = None,
    location: str | None = None,
    budget_seconds: float | None = None,
    repair: bool = True,
    actor: str = CLI_ACTOR,
) -> CommandOutput:
    """`earchive fixity [--dossier ID] [--location L] [--budget SECONDS] [--no-repair] [--json]`."""
    try:
        report = _with_archive(settings, lambda archive: audit_fixity(
            archive, budget_seconds=budget_seconds, dossier=dossier, location=location, repair=repair,
            actor=actor, include_ok=dossier is not None,
        ))
    except FixityError as exc:
        return _failure(exc)
    code = EXIT_OK if report.all_good else EXIT_PROBLEMS
    return CommandOutput({"ok": report.all_good, **report.to_dict()}, report.summary_vi(), code)


def export_command(
    settings: Settings, dossier: str, out: Path, *, location: str | None = None, actor: str = CLI_ACTOR
) -> CommandOutput:
    """`earchive export DOSSIER --out FILE.zip [--location L]`."""
    try:
        result = _with_archive(settings, lambda archive: export_aip(
            archive, dossier, out, location=location, actor=actor
        ))
    except ExportError as exc:
        return _failure(exc)
    code = EXIT_PROBLEMS if result.fallbacks else EXIT_OK
    return CommandOutput({"ok": True, **result.to_dict()}, result.summary_vi(), code)


def locations_command(settings: Settings) -> CommandOutput:
    """`earchive locations [--json]`."""
    report = _with_archive(settings, locations_report)
    lines = []
    for item in report:
        state = "hoạt động" if item["healthy"] else "KHÔNG TRUY CẬP ĐƯỢC"
        lines.append(
            f"{item['id']} ({item['kind']}, {item['where']}): {state}; {item['objects']} đối tượng, "
            f"{item['bytes'] / 1e6:.1f} MB; đủ bản sao của {item['complete_dossiers']}/{item['dossiers']} hồ sơ"
        )
    code = EXIT_OK if all(item["healthy"] for item in report) else EXIT_PROBLEMS
    return CommandOutput({"locations": report}, "\n".join(lines) or "Chưa cấu hình vị trí lưu trữ nào.", code)


def backup_command(settings: Settings, out: Path, *, full: bool = False, actor: str = CLI_ACTOR) -> CommandOutput:
    """`earchive backup --out DIR [--full]` (daily: catalog + metadata + keys; monthly: `--full` adds objects)."""
    try:
        manifest = backup(settings, out, include_objects=full, actor=actor)
    except BackupError as exc:
        return _failure(exc)
    problem = manifest.data["audit"]["problem"]
    summary = manifest.summary_vi()
    if problem:
        summary += f" Cảnh báo: nhật ký kiểm toán trong bản sao lưu có vấn đề ({problem})."
    return CommandOutput({"ok": not problem, **manifest.to_dict()}, summary, EXIT_PROBLEMS if problem else EXIT_OK)


def restore_command(
    settings: Settings,
    backup_dir: Path,
    *,
    key_backup: Path | None = None,
    destruction_log: Path | None = None,
    actor: str = CLI_ACTOR,
) -> CommandOutput:
    """`earchive restore DIR [--keys KEYDIR] [--destruction-log FILE]` into an empty data home."""
    try:
        report = restore(backup_dir, settings, key_backup=key_backup, destruction_log=destruction_log, actor=actor)
    except BackupError as exc:
        return _failure(exc)
    return CommandOutput(report.to_dict(), report.summary_vi(), EXIT_OK if report.ok else EXIT_PROBLEMS)
