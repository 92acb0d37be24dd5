"""The `earchive` command line.

Exit status of `check`: 0 accepted, 10 accepted with warnings, 20 rejected,
1 internal error, 2 usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from archive_core.logging import configure_logging
from archive_core.settings import Settings, load_settings
from archive_core.timeutil import VN_TZ

PROGRESS_MIN_BYTES = 20 * 1024 * 1024


class RichProgress:
    """Progress bar on stderr for long packages; silent for small ones or when not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, total_bytes: int, files: int) -> None:
        if not self.enabled or total_bytes < PROGRESS_MIN_BYTES:
            return
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(f"Kiểm tra {files} tệp", total=total_bytes)

    def advance(self, count: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, count)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TOML settings file.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), help="Data home (EARCHIVE_HOME).")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, home: Path | None) -> None:
    """earchive — kho lưu trữ tài liệu điện tử."""
    overrides: dict[str, Any] = {"home": home} if home else {}
    settings = load_settings(config, **overrides)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    ctx.obj = settings


@cli.command()
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the report.")
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
@click.pass_context
def check(ctx: click.Context, package: Path, as_json: bool, no_progress: bool) -> None:
    """Check a submission package (TT 05 SIP or BagIt; ZIP, tar or folder)."""
    from ingest.gate import check_package
    from ingest.report import render_report

    settings = _settings(ctx)
    progress = RichProgress(enabled=not no_progress and not as_json and sys.stderr.isatty())
    result = check_package(package, settings, progress=progress)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_report(result))
    ctx.exit(result.exit_code)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "at", help="Validation time, ISO 8601 (default: now; +07:00 when no zone is given).")
@click.option("--trust", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Trust anchors folder.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output is a Vietnamese summary).")
@click.pass_context
def signatures(ctx: click.Context, file: Path, at: str | None, trust: Path | None, as_json: bool) -> None:
    """Validate the digital signatures of one PDF (R-CK-4)."""
    from ingest.pdfsig.cli import signatures_json

    report = signatures_json(file, at=_parse_time(at), trust_dir=trust, settings=_settings(ctx))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"Tệp: {report['file']}  (SHA-256 {report['sha256']})")
    if not report["signatures"]:
        click.echo("Không có chữ ký số: văn bản chỉ có giá trị tham khảo.")
    for number, sig in enumerate(report["signatures"], start=1):
        click.echo(f"  Chữ ký {number}: {sig['message_vi']}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--flavour", help="PDF/A flavour to check (1b, 2b, 3b); default: the one the file claims.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output is a Vietnamese summary).")
@click.pass_context
def pdfa(ctx: click.Context, file: Path, flavour: str | None, as_json: bool) -> None:
    """Check the PDF/A conformance of one PDF (R-CK-3)."""
    from preservation.pdfa.cli import pdfa_json

    report = pdfa_json(file, flavour=flavour, settings=_settings(ctx))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    verdicts = {"pass": "Đạt", "fail": "Không đạt", "unknown": "Chưa xác định"}
    click.echo(f"Tệp: {file}  —  khai báo PDF/A: {report['claimed'] or 'không'}")
    tool = report["validator"]
    tool_label = f"{tool['name']} {tool['version']}" if isinstance(tool, dict) else str(tool)
    click.echo(f"Kết quả: {verdicts.get(report['verdict'], report['verdict'])} ({tool_label})")
    for rule in report["failed_rules"]:
        click.echo(f"  - Điều {rule.get('clause')}: {rule.get('description_vi') or rule.get('description')}")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Where to write the packages.")
@click.pass_context
def demo(ctx: click.Context, out: Path | None) -> None:
    """Build the demo dossiers (TT 05 SIPs and BagIt bags made from real regulation texts)."""
    from ingest.generator import build_demo_set

    target = out or _settings(ctx).home / "demo"
    target.mkdir(parents=True, exist_ok=True)
    for path in build_demo_set(target):
        click.echo(str(path))


STATE_LABELS = {
    "archived": "Đã lưu trữ",
    "duplicate": "Trùng với hồ sơ đã lưu trữ (không lưu thêm)",
    "rejected": "Từ chối tiếp nhận",
}


@cli.command()
@click.argument("packages", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per package, one per line.")
@click.option("--actor", default="system", show_default=True, help="Who ingests (user name, for the audit log).")
@click.option("--no-progress", is_flag=True)
@click.pass_context
def ingest(ctx: click.Context, packages: Sequence[Path], as_json: bool, actor: str, no_progress: bool) -> None:
    """Check and archive packages: gate, AIP, encrypted copies on every location, catalog."""
    from ingest.archive import IngestError, ingest_package, open_archive, recover
    from ingest.content_worker import warm_up_for_batch
    from ingest.report import render_report

    archive = open_archive(_settings(ctx))
    recover(archive, actor=actor)
    warm_up_for_batch(archive.settings, len(packages))
    worst = 0
    for package in packages:
        progress = RichProgress(enabled=not no_progress and not as_json and sys.stderr.isatty())
        try:
            outcome = ingest_package(package, archive, actor=actor, progress=progress)
        except IngestError as exc:
            click.echo(f"{package}: {exc.message_vi}", err=True)
            worst = max(worst, 30)
            continue
        worst = max(worst, outcome.gate.exit_code if outcome.state == "rejected" else 0)
        if as_json:
            click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))
            continue
        click.echo(render_report(outcome.gate))
        click.echo(f"=> {STATE_LABELS[outcome.state]}: hồ sơ {outcome.dossier_code or '-'}, AIP {outcome.aip_id or '-'}"
                   f", bản sao tại: {', '.join(outcome.locations) or '-'}")
    ctx.exit(worst)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def recover(ctx: click.Context, as_json: bool) -> None:
    """Finish or roll back work a crash interrupted (run when no ingest is running)."""
    from ingest.archive import open_archive
    from ingest.archive import recover as run_recovery

    report = run_recovery(open_archive(_settings(ctx)))
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"Đã hoàn tác {len(report.rolled_back)} hồ sơ dở dang, đánh dấu lỗi {len(report.failed_submissions)} "
               f"lượt nộp bị gián đoạn, hủy {report.incomplete_uploads} tệp tải lên dở, dọn {report.staging_removed} "
               "thư mục tạm.")


@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log (R-AU-1)."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    """Verify the whole audit log: exit 0 intact, 20 tampered."""
    from archive_core.audit import verify_audit

    report = verify_audit(_settings(ctx.find_root()))
    click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else report.message_vi)
    ctx.exit(0 if report.ok else 20)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per package, one per line.")
@click.pass_context
def run(ctx: click.Context, as_json: bool) -> None:
    """Main job: build the demo dossiers and ingest each (gate, AIP, two copies, catalog)."""
    from ingest.archive import IngestError, ingest_package, open_archive
    from ingest.archive import recover as run_recovery
    from ingest.generator import build_demo_set
    from ingest.report import render_report

    settings = _settings(ctx)
    target = settings.home / "demo"
    target.mkdir(parents=True, exist_ok=True)
    pki = target / "test-pki"
    packages = build_demo_set(target, pki_dir=pki)
    if settings.signatures.trust_dir is None and not settings.trust_dir.exists():
        settings.signatures.trust_dir = pki / "anchors"
        click.echo("Chú ý: dữ liệu mẫu được ký bằng hệ thống chứng thư THỬ NGHIỆM; chứng thư gốc thử nghiệm "
                   f"được dùng làm gốc tin cậy cho lần chạy này ({pki / 'anchors'}).", err=True)
    archive = open_archive(settings)
    run_recovery(archive)
    summary = []
    for package in packages:
        try:
            outcome = ingest_package(package, archive)
        except IngestError as exc:
            summary.append((package.name, exc.message_vi, "-"))
            continue
        summary.append((package.name, outcome.gate.verdict.label_vi, STATE_LABELS[outcome.state]))
        if as_json:
            click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))
        else:
            click.echo(render_report(outcome.gate))
            click.echo("=" * 78)
    if not as_json:
        click.echo("TÓM TẮT")
        for name, label, state in summary:
            click.echo(f"  {name}: {label} → {state}")
        report = archive.audit.verify()
        click.echo(f"Nhật ký kiểm toán: {report.message_vi}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def codes(as_json: bool) -> None:
    """List every finding code with its rule, severity and messages."""
    from archive_core.findings import registry
    from ingest.checks import load_all_checks

    load_all_checks()
    kinds = sorted(registry().values(), key=lambda k: k.code)
    if as_json:
        click.echo(json.dumps([vars(k) for k in kinds], ensure_ascii=False, indent=2, default=str))
        return
    for kind in kinds:
        click.echo(f"{kind.code}\t{kind.rule}\t{kind.severity.value}\t{kind.message_vi}")


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--form", type=click.Choice(["sip-zip", "sip-folder", "bag-zip", "bag-folder", "bag-tar.gz"]),
              default="sip-zip", show_default=True)
@click.option("--documents", default=5, show_default=True, help="Number of documents.")
@click.option("--doc-bytes", default=60_000, show_default=True, help="Approximate size of each PDF.")
@click.option("--seed", default=0, show_default=True)
@click.option("--fault", "faults", multiple=True, help="Fault to inject (see `earchive faults`).")
def generate(out: Path, form: str, documents: int, doc_bytes: int, seed: int, faults: Sequence[str]) -> None:
    """Generate a realistic test dossier package from the regulation texts."""
    from ingest.generator import Fault, generate_dossier, write_bagit, write_tt05_sip

    chosen = [Fault[name.upper()] for name in faults]
    dossier = generate_dossier(seed=seed, documents=documents, doc_bytes=doc_bytes)
    out.mkdir(parents=True, exist_ok=True)
    if form.startswith("sip"):
        path = write_tt05_sip(dossier, out, as_zip=form == "sip-zip", faults=chosen)
    else:
        bag_form = form.removeprefix("bag-")
        path = write_bagit(dossier, out, form=bag_form, faults=chosen)  # type: ignore[arg-type]
    click.echo(str(path))


@cli.command()
def faults() -> None:
    """List the faults the generator can inject, with the finding codes they trigger."""
    from ingest.generator import Fault

    for fault in Fault:
        click.echo(f"{fault.name.lower()}\t{', '.join(fault.expected_codes)}")


def _register_groups() -> None:
    from api.cli_records import STORAGE_COMMANDS, destruction, holds, retention, users

    for command in (destruction, users, retention, holds, *STORAGE_COMMANDS):
        cli.add_command(command)


_register_groups()


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="earchive", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # an internal error is a bug: say so, exit 1
        click.echo(f"Lỗi nội bộ: {exc}", err=True)
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
